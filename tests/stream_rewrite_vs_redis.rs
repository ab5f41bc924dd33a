//! Streams in the RESP rewrite (`aof-use-rdb-preamble no`) against a real redis-server 7.0.15:
//! the base its BGREWRITEAOF writes (`rewriteStreamObject`: XADD per entry or the `MAXLEN 0`
//! trick, XSETID, XGROUP CREATE … ENTRIESREAD, XCLAIM … JUSTID FORCE, XGROUP CREATECONSUMER) is
//! the engine's byte for byte (delivery times within the run's window), and each side's base
//! loads in the other with the same digest.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::aof::rewrite::rewrite_resp;
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::{Config, Engine};
use common::redis::RedisServer;
use common::runner::now_ms;
use common::script::{Clock, times_match};

/// One stream per db, so that key order cannot differ.
fn script() -> Vec<String> {
    let mut s: Vec<String> = vec!["SELECT 0".into()];
    for i in 1..=30 {
        s.push(format!("XADD s {i}-{} f {i} g x{}", i % 3, i % 4));
    }
    s.extend(
        [
            "XADD s 31-0 other 1",
            "XDEL s 2-2 31-0",
            "XGROUP CREATE s g 0",
            "XREADGROUP GROUP g alice COUNT 3 STREAMS s >",
            "XREADGROUP GROUP g bob COUNT 2 STREAMS s >",
            "XCLAIM s g carol 0 4-1 TIME 1700000000000 RETRYCOUNT 7",
            "XACK s g 1-1",
            "XGROUP CREATECONSUMER s g dave",
            "XGROUP CREATE s later $ ENTRIESREAD 29",
            "XGROUP CREATE s unknown 5-0",
            "XDEL s 3-0",
            "SELECT 1",
            "XGROUP CREATE empty g 0 MKSTREAM",
            "SELECT 2",
            "XADD gone 5-5 a b",
            "XDEL gone 5-5",
            "XSETID gone 9-9 ENTRIESADDED 20 MAXDELETEDID 7-0",
            "SELECT 3",
            "XADD ttl 1-1 a b",
            "PEXPIREAT ttl 4102444800123",
        ]
        .map(String::from),
    );
    s
}

fn digest(e: &Engine) -> Vec<u8> {
    format!("+{}\r\n", hex(&dataset_digest(&e.srv.dbs))).into_bytes()
}

#[test]
fn stream_rewrite_matches_redis_bytes_and_reloads_both_ways() {
    let start = now_ms();
    let server = RedisServer::start_in(RedisServer::new_dir(), &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]).unwrap();
    let mut conn = server.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for line in script() {
        let argv = aof_lab::resp::split_args(line.as_bytes()).unwrap();
        let real = conn.command(&argv).unwrap();
        assert_eq!(e.execute_line(c, &line, now_ms()).unwrap().to_resp(), real, "{line}");
    }
    let clock = Clock::between(start, now_ms());
    assert_eq!(conn.command(&["BGREWRITEAOF"]).unwrap(), b"+Background append only file rewriting started\r\n");
    conn.wait_rewrite();
    let base = std::fs::read(server.aof_dir().join("appendonly.aof.2.base.aof")).expect("the new RESP base");
    let ours = rewrite_resp(&e.srv.dbs, now_ms() / 1000, false);
    assert!(times_match(&base, &ours, clock), "redis:\n{}\nengine:\n{}", String::from_utf8_lossy(&base), String::from_utf8_lossy(&ours));
    for needle in ["XSETID", "ENTRIESREAD", "JUSTID", "CREATECONSUMER", "MAXLEN"] {
        assert!(String::from_utf8_lossy(&ours).contains(needle), "{needle}");
    }
    let want = conn.command(&["DEBUG", "DIGEST"]).unwrap();
    assert_eq!(digest(&e), want);
    // The engine loads Redis's base, and Redis loads the engine's.
    let mut fresh = aof_lab::server::Server::new(Config::default(), now_ms());
    let (status, _) = aof_lab::aof::load::load_single_append_only_file(&mut fresh, "base", &base);
    assert_eq!(status, aof_lab::aof::load::AofStatus::Ok);
    assert_eq!(format!("+{}\r\n", hex(&dataset_digest(&fresh.dbs))).into_bytes(), want);
    let dir = RedisServer::new_dir();
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.base.aof"), &ours).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), b"").unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let other = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis loads the engine's RESP base");
    let mut oc = other.connect();
    assert_eq!(oc.command(&["DEBUG", "DIGEST"]).unwrap(), want);
    // The groups came back alike on both sides. (Not as they were: a pending entry whose entry
    // was deleted is dropped by the replayed XCLAIM, and so is a consumer that owned only that,
    // in Redis too.)
    let mut loaded = Engine::new(Config::default(), now_ms());
    loaded.srv.dbs = fresh.dbs;
    let lc = loaded.connect();
    for (db, key) in [("0", "s"), ("1", "empty"), ("2", "gone")] {
        oc.command(&["SELECT", db]).unwrap();
        loaded.execute_line(lc, &format!("SELECT {db}"), now_ms());
        for cmd in [format!("XINFO GROUPS {key}"), format!("XPENDING {key} g"), format!("XINFO STREAM {key}")] {
            let argv = aof_lab::resp::split_args(cmd.as_bytes()).unwrap();
            let theirs = oc.command(&argv).unwrap();
            let ours = loaded.execute_line(lc, &cmd, now_ms()).unwrap().to_resp();
            assert!(theirs == ours, "{cmd}:\nredis  {}\nengine {}", String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours));
        }
    }
}
