//! The RESP rewrite (`aof-use-rdb-preamble no`) against what a real redis-server 7.0.15's
//! BGREWRITEAOF writes: byte for byte where Redis's order is defined (one key per db, encodings
//! whose iteration order is fixed), and by digest after a reload for everything.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::child::{Format, SnapshotWriter};
use aof_lab::keyspace::digest::dataset_digest;
use aof_lab::{Config, Engine};
use common::redis::RedisServer;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One key per db, so that key order cannot differ; types whose element order Redis fixes.
fn script() -> Vec<String> {
    // A function library: rewriteFunctions writes a FUNCTION LOAD before the first SELECT.
    let mut s = vec![
        "FUNCTION LOAD \"#!lua name=lib\\nredis.register_function('f', function(keys) return redis.call('GET', keys[1]) end)\"".to_string(),
    ];
    s.extend(["SELECT 0".to_string(), "SET str hello".into()]);
    s.push("SELECT 1".into());
    s.push(format!("RPUSH list {}", (0..150).map(|i| format!("e{i}")).collect::<Vec<_>>().join(" ")));
    s.push("SELECT 2".into());
    s.push(format!("SADD ints {}", (0..100).rev().map(|i| i.to_string()).collect::<Vec<_>>().join(" ")));
    s.push("SELECT 3".into());
    // At most 128 members: a listpack, iterated in order (a skiplist is iterated through its dict).
    s.push(format!("ZADD z {}", (0..120).map(|i| format!("{} m{i}", f64::from(i) / 10.0)).collect::<Vec<_>>().join(" ")));
    s.push("ZADD z inf top -inf bottom 0.1 tenth".into());
    s.push("SELECT 4".into());
    s.push(format!("HSET h {}", (0..80).map(|i| format!("f{i} v{i}")).collect::<Vec<_>>().join(" ")));
    s.push("SELECT 5".into());
    // Absolute expiry times, so that the rewritten PEXPIREATs are compared exactly.
    s.push("SET ttl v PXAT 4102444800123".into());
    s.push("SELECT 6".into());
    s.push("INCRBYFLOAT f 0.1".into());
    s.push("SELECT 15".into());
    s.push("RPUSH l x".into());
    s.push("PEXPIREAT l 4102444812345".into());
    s
}

#[test]
fn resp_rewrite_matches_redis_bytes() {
    let server = RedisServer::start_in(RedisServer::new_dir(), &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]).unwrap();
    let mut conn = server.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for line in script() {
        let argv = aof_lab::resp::split_args(line.as_bytes()).unwrap();
        let real = conn.command(&argv).unwrap();
        assert_eq!(e.execute_line(c, &line, now_ms()).unwrap().to_resp(), real, "{line}");
    }
    assert_eq!(conn.command(&["BGREWRITEAOF"]).unwrap(), b"+Background append only file rewriting started\r\n");
    conn.wait_rewrite();
    let base = std::fs::read(server.aof_dir().join("appendonly.aof.2.base.aof")).expect("the new RESP base");
    let mut ours = Vec::new();
    SnapshotWriter::new(Format::Resp { timestamps: false }, now_ms() / 1000, 0)
        .with_functions(e.srv.scripting.functions.codes())
        .step(&e.srv.dbs, 0, &mut ours);
    assert!(base.starts_with(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), "{}", String::from_utf8_lossy(&base));
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&base));
}

#[test]
fn resp_rewrite_reloads_to_the_same_dataset() {
    // Many keys, hash tables, non-integer sets: order may differ from Redis, content may not.
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for i in 0..300 {
        e.execute_line(c, &format!("SADD s{} a{i} b c", i % 7), now_ms());
        e.execute_line(c, &format!("HSET h{} f{i} {}", i % 5, "x".repeat(i % 90)), now_ms());
        e.execute_line(c, &format!("ZADD z{} {i}.5 m{i}", i % 3), now_ms());
        e.execute_line(c, &format!("SET k{i} {i} PX {}", 100_000 + i), now_ms());
    }
    e.execute_line(c, "SELECT 9", now_ms());
    e.execute_line(c, "RPUSH big a b c", now_ms());
    e.execute_line(c, "FUNCTION LOAD \"#!lua name=one\\nredis.register_function('one', function() return 1 end)\"", now_ms());
    e.execute_line(c, "FUNCTION LOAD \"#!lua name=two\\nredis.register_function('two', function() return 2 end)\"", now_ms());
    let before = dataset_digest(&e.srv.dbs);
    let mut base = Vec::new();
    SnapshotWriter::new(Format::Resp { timestamps: true }, now_ms() / 1000, 0)
        .with_functions(e.srv.scripting.functions.codes())
        .step(&e.srv.dbs, 0, &mut base);
    let mut fresh = aof_lab::server::Server::new(Config::default(), now_ms());
    let (status, _) = aof_lab::aof::load::load_single_append_only_file(&mut fresh, "base", &base);
    assert_eq!(status, aof_lab::aof::load::AofStatus::Ok);
    assert_eq!(dataset_digest(&fresh.dbs), before);
    assert_eq!(fresh.scripting.functions.codes(), e.srv.scripting.functions.codes());
}
