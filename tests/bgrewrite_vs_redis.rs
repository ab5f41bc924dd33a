//! BGREWRITEAOF (Redis 7.0, multi-part) against a real redis-server 7.0.15: the same manifest and
//! files after a rewrite, the same dataset after DEBUG LOADAOF, and Redis loads what the engine
//! rewrote. Writes made while the rewrite runs land in the new incr file and are not lost.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::storage::FsStorage;
use aof_lab::{Config, Engine, Reply};
use common::redis::RedisServer;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

const BEFORE: &[&str] = &[
    "SET s v",
    "RPUSH l a b c",
    "HSET h f v",
    "SADD set 1 2 3",
    "ZADD z 1 a 2 b",
    "SET t v EX 10000",
    "XADD st 1-1 a b",
    "XGROUP CREATE st g 0",
    "XREADGROUP GROUP g c STREAMS st >",
    "SELECT 3",
    "SET x y",
    "SELECT 0",
    // In the child's snapshot: the new base starts with it (RDB_OPCODE_FUNCTION2 or FUNCTION LOAD).
    "FUNCTION LOAD \"#!lua name=before\\nredis.register_function('getter', function(keys) return redis.call('GET', keys[1]) end)\"",
];
const DURING: &[&str] = &[
    "INCR counter",
    "INCR counter",
    "SET during rewrite",
    "XADD st 2-2 c d",
    // After the fork: logged in the new incr file.
    "FUNCTION LOAD \"#!lua name=during\\nredis.register_function('three', function() return 3 end)\"",
    "SELECT 5",
    "SET late 1",
];

fn aof_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir.join("appendonlydir")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn bgrewriteaof_like_redis() {
    for preamble in ["yes", "no"] {
        let args = ["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble];
        let real = RedisServer::start_in(RedisServer::new_dir(), &args).unwrap();
        let mut conn = real.connect();
        let dir = RedisServer::new_dir();
        let cfg = common::config_from_args(&args);
        let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        let c = e.connect();
        let run = |e: &mut Engine, conn: &mut common::redis::RespConn, line: &str| {
            let now = now_ms();
            let ours = e.execute_line(c, line, now).unwrap();
            e.before_sleep(now);
            let theirs = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
            assert_eq!(ours.to_resp(), theirs, "{line}");
        };
        for line in BEFORE {
            run(&mut e, &mut conn, line);
        }
        run(&mut e, &mut conn, "BGREWRITEAOF");
        // Still running on our side (the child finishes at the next cron): writes go on.
        for line in DURING {
            run(&mut e, &mut conn, line);
        }
        e.cron(now_ms());
        conn.wait_rewrite();
        run(&mut e, &mut conn, "BGREWRITEAOF");
        e.cron(now_ms());
        conn.wait_rewrite();
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        let manifest = format!("file appendonly.aof.3.base.{ext} seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n");
        assert_eq!(std::fs::read_to_string(real.aof_dir().join("appendonly.aof.manifest")).unwrap(), manifest);
        assert_eq!(std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap(), manifest);
        assert_eq!(aof_files(&dir), aof_files(&real.dir).into_iter().filter(|f| !f.starts_with("temp")).collect::<Vec<_>>());
        run(&mut e, &mut conn, "SET after rewrite");
        run(&mut e, &mut conn, "DEBUG DIGEST");
        run(&mut e, &mut conn, "DEBUG LOADAOF");
        run(&mut e, &mut conn, "DEBUG DIGEST");
        run(&mut e, &mut conn, "GET counter");
        for line in ["FUNCTION LIST LIBRARYNAME before WITHCODE", "FUNCTION LIST LIBRARYNAME during WITHCODE", "FCALL three 0"] {
            run(&mut e, &mut conn, line);
        }
        run(&mut e, &mut conn, "SELECT 0");
        run(&mut e, &mut conn, "FCALL getter 1 s");
        let Reply::Verbatim(_, info) = e.execute_line(c, "INFO persistence", now_ms()).unwrap() else { panic!() };
        let info = String::from_utf8(info).unwrap();
        assert!(info.contains("aof_rewrites:2\r\n") && info.contains("aof_last_bgrewrite_status:ok\r\n"), "{info}");
        // Redis loads what the engine rewrote.
        let digest = e.execute_line(c, "DEBUG DIGEST", now_ms()).unwrap().to_resp();
        drop(e);
        let loaded = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis loads the engine's rewritten directory");
        let mut lconn = loaded.connect();
        assert_eq!(lconn.command(&["DEBUG", "DIGEST"]).unwrap(), digest, "preamble {preamble}");
        for lib in ["before", "during"] {
            let argv = ["FUNCTION", "LIST", "LIBRARYNAME", lib];
            assert_eq!(lconn.command(&argv).unwrap(), conn.command(&argv).unwrap(), "preamble {preamble}: {lib}");
        }
    }
}

#[test]
fn increments_during_a_rewrite_are_kept() {
    // The Redis test suite's aof-race idea: N increments while the rewrite runs, N after reload.
    let cfg = Config { appendonly: true, ..Config::default() };
    let mut e = Engine::open(cfg, Box::new(aof_lab::storage::MemoryStorage::new()), now_ms()).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    let mut now = now_ms();
    for round in 0..5 {
        assert_eq!(e.execute_line(c, "BGREWRITEAOF", now), Some(Reply::status("Background append only file rewriting started")));
        assert_eq!(
            e.execute_line(c, "BGREWRITEAOF", now),
            Some(Reply::err("ERR Background append only file rewriting already in progress"))
        );
        for _ in 0..100 {
            e.execute_line(c, "INCR n", now);
            e.before_sleep(now);
        }
        now += 100;
        e.cron(now);
        // The simulated copy-on-write: `n` changed while the child ran, so its snapshot value
        // (absent in the first round) counts: key (1) + string overhead (16) + "100" etc.
        let cow = if round == 0 { 0 } else { 1 + 16 + (round * 100).to_string().len() as u64 };
        assert_eq!(e.srv.aof.last_cow_size, cow, "round {round}");
        assert_eq!(e.execute_line(c, "DEBUG LOADAOF", now), Some(Reply::ok()));
        assert_eq!(e.execute_line(c, "GET n", now), Some(Reply::bulk(((round + 1) * 100).to_string())));
    }
    // Inside MULTI it is scheduled, and cron starts it.
    e.execute_line(c, "MULTI", now);
    e.execute_line(c, "BGREWRITEAOF", now);
    assert_eq!(e.execute_line(c, "EXEC", now), Some(Reply::Array(vec![Reply::status("Background append only file rewriting scheduled")])));
    e.cron(now + 100);
    e.cron(now + 200);
    assert_eq!(e.srv.aof.rewrites, 6);
    assert_eq!(e.execute_line(c, "GET n", now), Some(Reply::bulk("500")));
}

#[test]
fn automatic_rewrite_failures_and_back_off() {
    let mut cfg = Config { appendonly: true, ..Config::default() };
    cfg.set("auto-aof-rewrite-min-size", "1kb", true).unwrap();
    let mut e = Engine::open(cfg, Box::new(aof_lab::storage::MemoryStorage::new()), now_ms()).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    let mut now = now_ms();
    let turn = |e: &mut Engine, line: &str, now: i64| {
        let r = e.execute_line(c, line, now).unwrap();
        e.before_sleep(now);
        r
    };
    for i in 0..40 {
        turn(&mut e, &format!("SET key{i} {}", "v".repeat(40)), now);
    }
    now += 100;
    e.cron(now); // fresh start: base size 0 counts as 1, so any size above 1kb triggers
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.iter().any(|l| l.starts_with("Starting automatic rewriting of AOF on ") && l.ends_with("% growth")), "{log:?}");
    now += 100;
    e.cron(now);
    assert_eq!(e.srv.aof.rewrites, 1);
    assert_eq!(e.srv.aof.rewrite_base_size, e.srv.aof.current_size);

    // A disk too small for a new base: three failed rewrites, incr files pile up.
    let used: u64 = e.srv.storage.list(None).unwrap().iter().map(|f| e.srv.storage.len(f).unwrap()).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 600);
    for _ in 0..3 {
        assert_eq!(turn(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting started"));
        now += 100;
        e.cron(now);
    }
    assert_eq!(e.srv.aof.consecutive_failures, 3);
    let Reply::Verbatim(_, info) = turn(&mut e, "INFO persistence", now) else { panic!() };
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("aof_last_bgrewrite_status:err\r\n") && info.contains("aof_rewrites_consecutive_failures:3\r\n"), "{info}");
    let manifest = String::from_utf8(e.srv.storage.read_all("appendonlydir/appendonly.aof.manifest").unwrap()).unwrap();
    assert_eq!(manifest.matches("type i").count(), 4, "failed rewrites leave their incr files: {manifest}");
    // Growth now triggers the limit instead of a fourth automatic try.
    e.srv.storage.as_memory().unwrap().capacity = None;
    for i in 0..20 {
        assert_eq!(turn(&mut e, &format!("SET more{i} x"), now), Reply::ok());
    }
    e.srv.aof.rewrite_base_size = 1; // as if the last successful base were tiny: growth is large
    e.take_log();
    now += 100;
    e.cron(now);
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(
        log.contains(&"Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes".to_string()),
        "{log:?}"
    );
    assert_eq!(e.srv.aof.rewrites, 4);
    // A manual BGREWRITEAOF is never limited; its success resets the failures.
    assert_eq!(turn(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting started"));
    now += 100;
    e.cron(now);
    assert_eq!(e.srv.aof.consecutive_failures, 0);
    let manifest = String::from_utf8(e.srv.storage.read_all("appendonlydir/appendonly.aof.manifest").unwrap()).unwrap();
    assert_eq!(manifest.matches("type i").count(), 1, "{manifest}");
    assert_eq!(turn(&mut e, "DBSIZE", now), Reply::Int(60));
}

#[test]
fn turning_the_aof_on_and_off_at_runtime_like_redis() {
    let args = ["--appendonly", "no", "--appendfsync", "always"];
    let real = RedisServer::start_in(RedisServer::new_dir(), &args).unwrap();
    let mut conn = real.connect();
    let dir = RedisServer::new_dir();
    let mut e = Engine::open(Config::default(), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    let run = |e: &mut Engine, conn: &mut common::redis::RespConn, line: &str| {
        let now = now_ms();
        let ours = e.execute_line(c, line, now).unwrap();
        e.before_sleep(now);
        let theirs = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
        assert_eq!(ours.to_resp(), theirs, "{line}");
    };
    let settle = |e: &mut Engine, conn: &mut common::redis::RespConn| {
        e.cron(now_ms());
        conn.wait_rewrite();
    };
    let manifest = |d: &std::path::Path| std::fs::read_to_string(d.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default();
    let files_of = |d: &std::path::Path| aof_files(d).into_iter().filter(|f| !f.starts_with("temp")).collect::<Vec<_>>();
    for line in ["SET a 1", "RPUSH l x y"] {
        run(&mut e, &mut conn, line);
    }
    run(&mut e, &mut conn, "CONFIG SET appendonly yes");
    run(&mut e, &mut conn, "SET during wait");
    settle(&mut e, &mut conn);
    assert_eq!(manifest(&dir), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert_eq!(manifest(&dir), manifest(&real.dir));
    assert_eq!(files_of(&dir), files_of(&real.dir));
    run(&mut e, &mut conn, "SET on 1");
    run(&mut e, &mut conn, "DEBUG LOADAOF");
    run(&mut e, &mut conn, "DEBUG DIGEST");
    // Off: the files stay; a later on makes a new base and incr, the old ones go.
    run(&mut e, &mut conn, "CONFIG SET appendonly no");
    assert_eq!(files_of(&dir), files_of(&real.dir));
    run(&mut e, &mut conn, "SET off 1");
    run(&mut e, &mut conn, "CONFIG SET appendonly yes");
    settle(&mut e, &mut conn);
    assert_eq!(manifest(&dir), "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    assert_eq!(manifest(&dir), manifest(&real.dir));
    assert_eq!(files_of(&dir), files_of(&real.dir));
    // BGREWRITEAOF with the AOF off: a new base and no incr file at all.
    run(&mut e, &mut conn, "CONFIG SET appendonly no");
    run(&mut e, &mut conn, "BGREWRITEAOF");
    settle(&mut e, &mut conn);
    assert_eq!(manifest(&dir), "file appendonly.aof.3.base.rdb seq 3 type b\n");
    assert_eq!(manifest(&dir), manifest(&real.dir));
    assert_eq!(files_of(&dir), files_of(&real.dir));
    run(&mut e, &mut conn, "DEBUG DIGEST");
}

/// `aof-disable-auto-gc yes` keeps the replaced base and incr files as history (`type h` in the
/// manifest, files still in the directory); turning it back off deletes them, as in Redis.
#[test]
fn history_files_with_auto_gc_off_then_on_like_redis() {
    let args = ["--appendonly", "yes", "--appendfsync", "always", "--aof-disable-auto-gc", "yes"];
    let real = RedisServer::start_in(RedisServer::new_dir(), &args).unwrap();
    let mut conn = real.connect();
    let dir = RedisServer::new_dir();
    let cfg = common::config_from_args(&args);
    let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    let mut run = |line: &str| {
        let now = now_ms();
        let ours = e.execute_line(c, line, now).unwrap();
        e.before_sleep(now);
        let theirs = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
        assert_eq!(ours.to_resp(), theirs, "{line}");
        if line == "BGREWRITEAOF" {
            e.cron(now_ms());
            conn.wait_rewrite();
        }
    };
    let manifest = |dir: &std::path::Path| std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    for line in ["SET a 1", "BGREWRITEAOF", "SET b 2", "BGREWRITEAOF", "SET c 3"] {
        run(line);
    }
    let kept = manifest(&real.dir);
    assert!(kept.contains(" type h\n"), "Redis keeps history with auto-gc off: {kept}");
    assert_eq!(manifest(&dir), kept);
    assert_eq!(aof_files(&dir), aof_files(&real.dir));
    run("CONFIG SET aof-disable-auto-gc no");
    // Redis deletes the history at once (bio) when auto-gc comes back; give its thread a moment.
    for _ in 0..100 {
        if !manifest(&real.dir).contains(" type h\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let after = manifest(&real.dir);
    assert_eq!(manifest(&dir), after);
    assert_eq!(aof_files(&dir), aof_files(&real.dir));
    run("BGREWRITEAOF");
    assert_eq!(manifest(&dir), manifest(&real.dir));
    assert_eq!(aof_files(&dir), aof_files(&real.dir));
    run("DEBUG DIGEST");
}

/// A manifest may carry any sequence number: at `LLONG_MAX`, the rewrite's `++seq` wraps in
/// redis-server 7.0.15 (to `LLONG_MIN`, in the base and the new incr file's names), and the
/// engine writes the same manifest and files (it panicked on the overflow before).
#[test]
fn sequence_numbers_wrap_past_llong_max_like_redis() {
    let max = i64::MAX;
    let manifest = format!("file appendonly.aof.{max}.base.aof seq {max} type b\nfile appendonly.aof.{max}.incr.aof seq {max} type i\n");
    let files = [
        ("appendonly.aof.manifest".to_string(), manifest.into_bytes()),
        (format!("appendonly.aof.{max}.base.aof"), b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec()),
        (format!("appendonly.aof.{max}.incr.aof"), b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\nd\r\n".to_vec()),
    ];
    let dir_with_files = || {
        let dir = RedisServer::new_dir();
        std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join("appendonlydir").join(name), bytes).unwrap();
        }
        dir
    };
    let args = ["--appendonly", "yes"];
    let real = RedisServer::start_in(dir_with_files(), &args).unwrap();
    let mut conn = real.connect();
    let dir = dir_with_files();
    let mut e =
        Engine::open(common::config_from_args(&args), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    for line in ["BGREWRITEAOF", "SET e f"] {
        let ours = e.execute_line(c, line, now_ms()).unwrap();
        e.before_sleep(now_ms());
        assert_eq!(ours.to_resp(), conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap(), "{line}");
    }
    e.cron(now_ms());
    conn.wait_rewrite();
    let min = i64::MIN;
    let wrapped = format!("file appendonly.aof.{min}.base.rdb seq {min} type b\nfile appendonly.aof.{min}.incr.aof seq {min} type i\n");
    assert_eq!(std::fs::read_to_string(real.aof_dir().join("appendonly.aof.manifest")).unwrap(), wrapped);
    assert_eq!(std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap(), wrapped);
    assert_eq!(aof_files(&dir), aof_files(&real.dir).into_iter().filter(|f| !f.starts_with("temp")).collect::<Vec<_>>());
    assert_eq!(e.execute_line(c, "DEBUG DIGEST", now_ms()).unwrap().to_resp(), conn.command(&["DEBUG", "DIGEST"]).unwrap());
    // Neither reads that manifest back: an incr seq must be above 0.
    drop(real);
    drop(e);
    let refused = "Found a non-monotonic sequence number";
    let ours = Engine::open(common::config_from_args(&args), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).err().expect("refused");
    assert!(ours.lines.iter().any(|l| l == refused), "{:?}", ours.lines);
    // (start_in owns the directory from here: it is removed when the server is gone.)
    let theirs = RedisServer::start_in(dir, &args).err().expect("redis-server refuses its own wrapped manifest");
    assert!(theirs.contains(refused), "{theirs}");
}
