//! A rewrite that takes a while on both sides (the real child slowed by `rdb-key-save-delay`, the
//! engine's stepped by `lab-rewrite-keys-per-tick`) with writes going on meanwhile: the same
//! replies and INFO progress fields, the same manifest afterwards, the same dataset after
//! DEBUG LOADAOF, and Redis loads the engine's directory with the same digest. Both base formats.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::storage::FsStorage;
use aof_lab::{Engine, Reply};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn info_field(raw: &[u8], field: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_else(|| panic!("no {field} in {text}")).trim().to_string()
}

fn run(e: &mut Engine, conn: &mut RespConn, line: &str) -> Reply {
    let now = now_ms();
    let ours = e.execute_line(1, line, now).unwrap();
    e.before_sleep(now);
    let theirs = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
    assert_eq!(String::from_utf8_lossy(&ours.to_resp()), String::from_utf8_lossy(&theirs), "{line}");
    ours
}

#[test]
fn stepped_rewrite_with_concurrent_writes_like_redis() {
    for preamble in ["yes", "no"] {
        let args = ["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble];
        let real = RedisServer::start_in(RedisServer::new_dir(), &args).unwrap();
        let mut conn = real.connect();
        let dir = RedisServer::new_dir();
        let mut cfg = common::config_from_args(&[&["--save", ""][..], &args].concat());
        cfg.set("lab-rewrite-keys-per-tick", "2", true).unwrap();
        let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        e.connect();
        for i in 0..40 {
            let line = match i % 4 {
                0 => format!("SET k{i} {}", "v".repeat(i)),
                1 => format!("RPUSH l{i} a b {i}"),
                2 => format!("HSET h{i} f {i}"),
                _ => format!("ZADD z{i} {i} m"),
            };
            run(&mut e, &mut conn, &line);
        }
        run(&mut e, &mut conn, "CONFIG SET rdb-key-save-delay 50000");
        run(&mut e, &mut conn, "BGREWRITEAOF");
        let (Reply::Verbatim(_, ours), theirs) =
            (e.execute_line(1, "INFO persistence", now_ms()).unwrap(), conn.command(&["INFO", "persistence"]).unwrap())
        else {
            panic!()
        };
        for f in ["aof_rewrite_in_progress", "current_save_keys_total", "aof_rewrites", "aof_current_rewrite_time_sec"] {
            assert_eq!(info_field(&ours, f), info_field(&theirs, f), "{f}");
        }
        // 40 keys, 2 per tick: the engine's child needs 20 ticks; writes between every tick.
        let mut incrs = 0;
        for tick in 0..25 {
            run(&mut e, &mut conn, "INCR counter");
            incrs += 1;
            run(&mut e, &mut conn, &format!("SET k{} changed", (tick * 4) % 40));
            run(&mut e, &mut conn, &format!("DEL l{}", (tick * 4 + 1) % 40));
            run(&mut e, &mut conn, &format!("HSET h{} g new", (tick * 4 + 2) % 40));
            if e.srv.aof.child.is_some() {
                // The real child sleeps 50 ms per key (2 s in all): it is still running too.
                run(&mut e, &mut conn, "BGREWRITEAOF");
            }
            e.cron(now_ms());
        }
        assert!(e.srv.aof.child.is_none(), "the engine's child is done after 20 ticks");
        run(&mut e, &mut conn, "CONFIG SET rdb-key-save-delay 0");
        for _ in 0..500 {
            let i = conn.command(&["INFO", "persistence"]).unwrap();
            if info_field(&i, "aof_rewrite_in_progress") == "0" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let manifest = |d: &std::path::Path| std::fs::read_to_string(d.join("appendonlydir/appendonly.aof.manifest")).unwrap();
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(manifest(&dir), format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"));
        assert_eq!(manifest(&dir), manifest(&real.dir));
        let digest = run(&mut e, &mut conn, "DEBUG DIGEST");
        run(&mut e, &mut conn, "DEBUG LOADAOF");
        assert_eq!(run(&mut e, &mut conn, "DEBUG DIGEST"), digest);
        assert_eq!(run(&mut e, &mut conn, "GET counter"), Reply::bulk(incrs.to_string()));
        drop(e);
        let loaded = RedisServer::start_in(dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]).unwrap();
        assert_eq!(loaded.connect().command(&["DEBUG", "DIGEST"]).unwrap(), digest.to_resp(), "preamble {preamble}");
    }
}
