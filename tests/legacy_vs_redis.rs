//! `lab-aof-mode 6.2` against a real redis-server 7.0.15, files moved both ways:
//! * the single `appendonly.aof` the engine rewrote (RDB preamble + tail, or RESP only) is a
//!   legacy file that Redis 7.0 migrates into `appendonlydir` and loads, to the same digest;
//! * a 6.2-style file built from what Redis itself wrote (its RDB base followed by its incr file,
//!   i.e. a preamble + RESP tail, with every encoding) loads in the engine in both modes, and in
//!   Redis, to the same digest.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::storage::FsStorage;
use aof_lab::{Config, Engine, Reply};
use common::redis::RedisServer;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn legacy_cfg(preamble: bool) -> Config {
    let mut c = Config { appendonly: true, aof_use_rdb_preamble: preamble, ..Config::default() };
    c.set("lab-aof-mode", "6.2", true).unwrap();
    c
}

/// Small and large encodings of every type, TTLs, several dbs.
fn dataset() -> Vec<String> {
    let mut v: Vec<String> = [
        "SET s v",
        "SET int 12345",
        "RPUSH l a b c",
        "HSET h f v g 7",
        "SADD iset 3 1 2",
        "SADD sset x y z",
        "ZADD z 1 a 2.5 b -inf c",
        "SET ttl v PX 100000000",
        "HSET httl f v",
        "PEXPIRE httl 90000000",
        "SELECT 3",
        "SET db3 y",
        "SELECT 0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..600 {
        v.push(format!("HSET bighash f{i} {}", "v".repeat(i % 70 + 1)));
        v.push(format!("SADD bigset m{i}"));
        v.push(format!("SADD bigiset {}", i * 7));
    }
    for i in 0..200 {
        v.push(format!("ZADD bigzset {}.5 member{i}", i));
        v.push(format!("RPUSH biglist {}", "e".repeat(i + 1)));
    }
    v
}

fn run(e: &mut Engine, line: &str) -> Reply {
    let now = now_ms();
    let r = e.execute_line(1, line, now).unwrap();
    e.before_sleep(now);
    r
}

#[test]
fn redis_7_migrates_and_loads_what_the_engine_rewrote() {
    for preamble in [true, false] {
        let dir = RedisServer::new_dir();
        let mut e = Engine::open(legacy_cfg(preamble), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        e.connect();
        for line in dataset() {
            assert!(!run(&mut e, &line).is_error(), "{line}");
        }
        e.srv.config.lab_rewrite_keys_per_tick = 1; // was 2000 bytes
        assert_eq!(run(&mut e, "BGREWRITEAOF"), Reply::status("Background append only file rewriting started"));
        let mut n = 0;
        while e.srv.aof.child.is_some() {
            for _ in 0..5 {
                run(&mut e, "INCR counter");
                n += 1;
            }
            run(&mut e, "SELECT 7");
            run(&mut e, "HINCRBY h7 f 1");
            run(&mut e, "SELECT 0");
            e.cron(now_ms());
        }
        assert!(n > 20, "the rewrite spanned several ticks");
        run(&mut e, "SET after rewrite");
        let digest = run(&mut e, "DEBUG DIGEST").to_resp();
        // A clean shutdown: under everysec the last write may be postponed behind the storage's
        // background fsync (a real one on FsStorage's thread), and a drop alone would lose it.
        e.flush_for_shutdown(now_ms()).unwrap();
        drop(e);
        let names: Vec<String> = std::fs::read_dir(&dir).unwrap().flatten().map(|f| f.file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["appendonly.aof".to_string()], "a single file, no appendonlydir");
        let bytes = std::fs::read(dir.join("appendonly.aof")).unwrap();
        assert_eq!(bytes.starts_with(b"REDIS0010"), preamble);

        let real = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis 7.0 loads the engine's legacy file");
        let mut conn = real.connect();
        assert_eq!(conn.command(&["DEBUG", "DIGEST"]).unwrap(), digest, "preamble {preamble}");
        assert_eq!(conn.command(&["GET", "counter"]).unwrap(), format!("${}\r\n{n}\r\n", n.to_string().len()).into_bytes());
        let log = std::fs::read_to_string(real.dir.join("redis.log")).unwrap();
        assert!(
            log.contains("Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."),
            "{log}"
        );
        assert_eq!(
            std::fs::read_to_string(real.aof_dir().join("appendonly.aof.manifest")).unwrap(),
            "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
    }
}

#[test]
fn a_6_2_style_file_made_by_redis_loads_in_both_modes() {
    let real = RedisServer::start_in(RedisServer::new_dir(), &["--appendonly", "yes", "--appendfsync", "always"]).unwrap();
    let mut conn = real.connect();
    for line in dataset() {
        let reply = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
        assert!(!reply.starts_with(b"-"), "{line}");
    }
    assert_eq!(conn.command(&["BGREWRITEAOF"]).unwrap(), b"+Background append only file rewriting started\r\n");
    conn.wait_rewrite();
    // The tail: what a 6.2 server would have appended after its rewrite.
    for line in
        ["SET tail 1", "HSET bighash f1 changed", "SADD iset 99", "EXPIRE s 100000", "SELECT 2", "RPUSH l2 x", "SELECT 0", "DEL sset"]
    {
        conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
    }
    let digest = conn.command(&["DEBUG", "DIGEST"]).unwrap();
    let manifest = std::fs::read_to_string(real.aof_dir().join("appendonly.aof.manifest")).unwrap();
    let file_of =
        |kind: &str| manifest.lines().find(|l| l.ends_with(kind)).and_then(|l| l.split(' ').nth(1)).map(str::to_string).unwrap_or_default();
    let (base, incr) = (file_of("type b"), file_of("type i"));
    assert!(base.ends_with(".base.rdb"), "{manifest}");
    let mut legacy = std::fs::read(real.aof_dir().join(&base)).unwrap();
    legacy.extend(std::fs::read(real.aof_dir().join(&incr)).unwrap());
    assert!(legacy.starts_with(b"REDIS0010") && legacy.ends_with(b"$4\r\nsset\r\n"));

    for legacy_mode in [true, false] {
        let dir = RedisServer::new_dir();
        std::fs::write(dir.join("appendonly.aof"), &legacy).unwrap();
        let config = if legacy_mode { legacy_cfg(true) } else { Config { appendonly: true, ..Config::default() } };
        let mut e = Engine::open(config, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        e.connect();
        assert_eq!(run(&mut e, "DEBUG DIGEST").to_resp(), digest, "legacy mode {legacy_mode}");
        assert_eq!(dir.join("appendonlydir").is_dir(), !legacy_mode);
        let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
        assert!(log.contains(&"Reading RDB preamble from AOF file...".to_string()), "{log:?}");
        assert!(log.contains(&"Reading the remaining AOF tail...".to_string()), "{log:?}");
        drop(e);
        std::fs::remove_dir_all(&dir).ok();
    }
    // Redis itself reads the same file as a legacy AOF.
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("appendonly.aof"), &legacy).unwrap();
    let again = RedisServer::start_in(dir, &["--appendonly", "yes"]).unwrap();
    assert_eq!(again.connect().command(&["DEBUG", "DIGEST"]).unwrap(), digest);
}
