//! Active expiry against a real redis-server 7.0.15, where its behaviour is deterministic
//! (`src/keyspace/expire.rs` explains the cycle and how its time is modelled).
//!
//! - A few expired keys: one slow cycle deletes them all, and `expired_stale_perc` then follows
//!   Redis's running average cycle after cycle (with live keys sampled too, in a db of fewer
//!   than 20, which both sample whole). Redis runs the cycles on its own timer (`hz 2` here), so
//!   the test polls INFO and compares the *sequence* of values, not their timing. The DELs in
//!   the AOF are the same per db (their order within a db is Redis's hash order).
//! - A large expired batch: neither deletes it in one cycle; both report the time cap
//!   (`expired_time_cap_reached_count`) and end with every key gone and one DEL per key.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aof_lab::resp::encode_command;
use aof_lab::{Config, Engine, Reply};
use common::redis::{AofCursor, RedisServer, RespConn};
use common::runner::now_ms;
use common::script::split_aof;

fn info_field(raw: &[u8], field: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_default().trim().to_string()
}

fn redis_stats(conn: &mut RespConn) -> (u64, String, u64) {
    let raw = conn.command(&["INFO", "stats"]).unwrap();
    (
        info_field(&raw, "expired_keys").parse().unwrap(),
        info_field(&raw, "expired_stale_perc"),
        info_field(&raw, "expired_time_cap_reached_count").parse().unwrap(),
    )
}

fn engine_stats(e: &mut Engine, c: u64, now: i64) -> (u64, String, u64) {
    let Some(Reply::Verbatim(_, raw)) = e.execute(c, &[b"INFO", b"stats"], now) else { panic!("INFO") };
    (
        info_field(&raw, "expired_keys").parse().unwrap(),
        info_field(&raw, "expired_stale_perc"),
        info_field(&raw, "expired_time_cap_reached_count").parse().unwrap(),
    )
}

/// The commands of the setup, each `SET key v PX|EX ttl` in its db (SELECT first).
fn setup(spec: &[(usize, &str, usize, &str)]) -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<Vec<u8>>> = vec![vec![b"DEBUG".to_vec(), b"SET-ACTIVE-EXPIRE".to_vec(), b"0".to_vec()]];
    for &(db, prefix, n, ttl) in spec {
        cmds.push(vec![b"SELECT".to_vec(), db.to_string().into_bytes()]);
        for i in 0..n {
            let (unit, value) = ttl.split_once(' ').unwrap();
            cmds.push(vec![b"SET".to_vec(), format!("{prefix}{i}").into_bytes(), b"v".to_vec(), unit.into(), value.into()]);
        }
    }
    cmds.push(vec![b"SELECT".to_vec(), b"0".to_vec()]);
    cmds
}

fn run_on_redis(conn: &mut RespConn, cmds: &[Vec<Vec<u8>>]) {
    for chunk in cmds.chunks(5_000) {
        let mut out = Vec::new();
        for argv in chunk {
            encode_command(&mut out, argv);
        }
        conn.send(&out).unwrap();
        for argv in chunk {
            let r = conn.read_reply().unwrap();
            assert!(!r.starts_with(b"-"), "{argv:?}: {}", String::from_utf8_lossy(&r));
        }
    }
}

fn run_on_engine(e: &mut Engine, c: u64, cmds: &[Vec<Vec<u8>>], now: i64) {
    for argv in cmds {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let r = e.execute(c, &refs, now).unwrap();
        assert!(!r.is_error(), "{argv:?}: {r:?}");
    }
}

/// The DELs of an AOF stream, per db, as sets.
fn dels_per_db(aof: &[u8]) -> Vec<(usize, BTreeSet<Vec<u8>>)> {
    let mut out: Vec<(usize, BTreeSet<Vec<u8>>)> = Vec::new();
    let mut db = 0;
    for (_, unit, _) in split_aof(aof) {
        let argv = unit.expect("a well-formed AOF");
        match argv.first().map(|a| a.to_ascii_uppercase()).as_deref() {
            Some(b"SELECT") => db = String::from_utf8_lossy(&argv[1]).parse().unwrap(),
            Some(b"DEL") => match out.last_mut() {
                Some((d, keys)) if *d == db => {
                    keys.insert(argv[1].clone());
                }
                _ => out.push((db, BTreeSet::from([argv[1].clone()]))),
            },
            other => panic!("unexpected {other:?} in the expiry's AOF"),
        }
    }
    out
}

#[test]
fn a_few_expired_keys_and_the_stale_estimate_match_redis() {
    // 15 + 5 keys that expire at once, 8 that do not: the first cycle samples 28, deletes 20.
    let cmds = setup(&[(0, "x", 15, "PX 1"), (3, "y", 5, "PX 1"), (5, "live", 8, "EX 100000")]);
    let real = RedisServer::start();
    let mut conn = real.connect();
    assert_eq!(conn.command(&["CONFIG", "SET", "hz", "2"]).unwrap(), b"+OK\r\n");
    run_on_redis(&mut conn, &cmds);
    let mut aof = AofCursor::new();
    aof.take_new(&real);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(redis_stats(&mut conn), (0, "0.00".to_string(), 0));
    assert_eq!(conn.command(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).unwrap(), b"+OK\r\n");
    // Every distinct (expired_keys, expired_stale_perc) Redis shows, cycle after cycle.
    let mut seen: Vec<(u64, String, u64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 4 && Instant::now() < deadline {
        let s = redis_stats(&mut conn);
        if s.1 != "0.00" && seen.last() != Some(&s) {
            seen.push(s);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let redis_dels = dels_per_db(&aof.take_new(&real));

    let t0 = now_ms();
    let mut e = Engine::new(Config { appendonly: true, ..Config::default() }, t0);
    let c = e.connect();
    run_on_engine(&mut e, c, &cmds, t0);
    run_on_engine(&mut e, c, &[vec![b"DEBUG".to_vec(), b"SET-ACTIVE-EXPIRE".to_vec(), b"1".to_vec()]], t0);
    e.take_aof_buf();
    let mut ours = Vec::new();
    for i in 0..4 {
        e.cron(t0 + 10 + i * 500);
        ours.push(engine_stats(&mut e, c, t0 + 10 + i * 500));
    }
    let s = |v: &[(u64, String, u64)]| v.iter().map(|(k, p, cap)| format!("{k} keys, {p} %, {cap} caps")).collect::<Vec<_>>();
    assert_eq!(s(&ours), s(&seen));
    // 0.05 × 20/28, then × 0.95 per cycle (the 8 live keys sampled again, none expired).
    assert_eq!(s(&ours), ["20 keys, 3.57 %, 0 caps", "20 keys, 3.39 %, 0 caps", "20 keys, 3.22 %, 0 caps", "20 keys, 3.06 %, 0 caps"]);
    let engine_dels = dels_per_db(&e.take_aof_buf());
    assert_eq!(engine_dels, redis_dels);
    assert_eq!(engine_dels.iter().map(|(db, keys)| (*db, keys.len())).collect::<Vec<_>>(), [(0, 15), (3, 5)]);
}

#[test]
fn a_large_expired_batch_runs_into_the_time_cap_like_redis() {
    const N: usize = 200_000;
    let cmds = setup(&[(0, "x", N, "PX 1")]);
    let real = RedisServer::start();
    let mut conn = real.connect();
    run_on_redis(&mut conn, &cmds);
    let mut aof = AofCursor::new();
    aof.take_new(&real);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(conn.command(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]).unwrap(), b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first = None;
    let mut last = (0, String::new(), 0);
    while last.0 < N as u64 && Instant::now() < deadline {
        last = redis_stats(&mut conn);
        if first.is_none() && last.0 > 0 {
            first = Some(last.clone());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let first = first.expect("redis-server expired nothing");
    assert!(first.0 < N as u64 && first.2 >= 1, "Redis's first cycle: {first:?}");
    assert_eq!(last.0, N as u64, "Redis: {last:?}");
    let redis_dels = dels_per_db(&aof.take_new(&real));

    let t0 = now_ms();
    let mut e = Engine::new(Config { appendonly: true, ..Config::default() }, t0);
    let c = e.connect();
    run_on_engine(&mut e, c, &cmds, t0);
    run_on_engine(&mut e, c, &[vec![b"DEBUG".to_vec(), b"SET-ACTIVE-EXPIRE".to_vec(), b"1".to_vec()]], t0);
    e.take_aof_buf();
    let mut now = t0 + 10;
    e.cron(now);
    let ours_first = engine_stats(&mut e, c, now);
    assert!(ours_first.0 < N as u64 && ours_first.2 >= 1, "the engine's first cycle: {ours_first:?}");
    let mut ticks = 1;
    while !e.srv.dbs[0].is_empty() {
        e.before_sleep(now);
        now += 100;
        e.cron(now);
        ticks += 1;
        assert!(ticks < 100);
    }
    assert_eq!(engine_stats(&mut e, c, now).0, N as u64);
    assert_eq!(dels_per_db(&e.take_aof_buf()), redis_dels);
    assert_eq!(redis_dels.iter().map(|(_, k)| k.len()).sum::<usize>(), N);
}
