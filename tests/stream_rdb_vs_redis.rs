//! Streams in RDB files, against a real redis-server 7.0.15: the same commands leave the same
//! node bytes on both sides, so the engine's `STREAM_LISTPACKS_2` record of a key is Redis's own
//! byte for byte (times excepted: a consumer's seen time and a delivery time come from each
//! side's clock); Redis's dump.rdb and AOF base load in the engine with the same digest and the
//! same XINFO STREAM FULL; the engine's RDB loads in Redis likewise; a 5.0–6.2 `STREAM_LISTPACKS`
//! record (type 15) loads in both alike; damaged files are errors, never panics.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::keyspace::{Db, Value};
use aof_lab::rdb::read::RdbItem;
use aof_lab::rdb::{read_rdb, write_rdb};
use aof_lab::resp::split_args;
use aof_lab::{Config, Engine};
use common::redis::{RedisServer, RespConn};
use common::runner::now_ms;
use common::script::{Clock, times_match};

/// Stream commands whose results do not depend on the clock: explicit IDs, XDEL, exact and
/// approximate trimming, XSETID, small and large nodes, integers and long strings in fields,
/// groups without consumers, an empty stream.
fn entries_workload() -> Vec<String> {
    let mut w: Vec<String> = vec![
        "XADD s 1-1 name alice n 1".into(),
        "XADD s 1-2 name bob n -70000".into(),
        "XADD s 2-0 other 5000000000 x 007".into(),
        "XADD s 3-* name carol n 127".into(),
        "XDEL s 1-2".into(),
        "XGROUP CREATE s g 1-1".into(),
        "XGROUP CREATE s h $ ENTRIESREAD 3".into(),
        "XGROUP CREATE empty g 0 MKSTREAM".into(),
        "XSETID empty 5-5 ENTRIESADDED 9 MAXDELETEDID 4-0".into(),
        format!("XADD long 1-0 f {}", "v".repeat(300)),
        format!("XADD long 2-0 f {}", "w".repeat(5000)),
        format!("XADD long 3-0 {} x", "k".repeat(70)),
    ];
    // Many nodes; tombstones inside nodes; trimmed heads.
    for i in 1..=450 {
        w.push(format!("XADD many {i}-0 field {} other x{}", i * 3, i % 7));
    }
    w.extend(["XDEL many 150-0 151-0 300-0".into(), "XTRIM many MAXLEN ~ 400".into(), "XTRIM many MINID 120".into()]);
    // One node past 127 live entries (the master count grows to two bytes), past 4096 bytes.
    w.push("CONFIG SET stream-node-max-entries 1000".into());
    w.push("CONFIG SET stream-node-max-bytes 100000".into());
    for i in 1..=300 {
        w.push(format!("XADD wide {i}-{i} a {i} b {}", i * i));
    }
    w.push("XDEL wide 2-2 290-290".into());
    w.push("CONFIG SET stream-node-max-entries 100".into());
    w.push("CONFIG SET stream-node-max-bytes 4096".into());
    w.push("XADD wide 1000-0 a tail".into());
    // An emptied stream keeps its IDs; a stream with a TTL; another db.
    w.extend(["XADD gone 1-0 a b".into(), "XDEL gone 1-0".into(), "XADD ttl 1-0 a b".into(), "PEXPIRE ttl 100000000".into()]);
    w.extend(["SELECT 4".into(), "XADD db4 9-9 k v".into(), "SELECT 0".into()]);
    w
}

/// Groups with consumers and pending entries (their times come from the clock).
fn groups_workload() -> Vec<String> {
    let mut w = entries_workload();
    w.extend(
        [
            "XGROUP CREATE many readers 0",
            "XREADGROUP GROUP readers alice COUNT 5 STREAMS many >",
            "XREADGROUP GROUP readers bob COUNT 3 STREAMS many >",
            "XREADGROUP GROUP readers carol NOACK COUNT 2 STREAMS many >",
            "XACK many readers 122-0",
            "XCLAIM many readers dave 0 123-0 TIME 1700000000000 RETRYCOUNT 9",
            "XGROUP CREATECONSUMER many readers idle",
            "XGROUP CREATE many other $",
            "XREADGROUP GROUP g zed STREAMS s >",
        ]
        .map(String::from),
    );
    w
}

fn run_engine(lines: &[String]) -> Engine {
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for line in lines {
        let r = e.execute_line(c, line, now_ms()).map(|r| r.to_resp()).unwrap_or_default();
        assert!(!r.starts_with(b"-"), "{line}: {}", String::from_utf8_lossy(&r));
    }
    e
}

fn run_redis(server: &RedisServer, lines: &[String]) -> RespConn {
    let mut conn = server.connect();
    for line in lines {
        let argv = split_args(line.as_bytes()).unwrap();
        let r = conn.command(&argv).unwrap();
        assert!(!r.starts_with(b"-"), "{line}: {}", String::from_utf8_lossy(&r));
    }
    conn
}

fn fresh_dbs() -> Vec<Db> {
    (0..16).map(Db::new).collect()
}

fn digest(dbs: &[Db]) -> Vec<u8> {
    format!("+{}\r\n", hex(&dataset_digest(dbs))).into_bytes()
}

/// Each stream key's whole record (expiry, type byte, key, value) in an RDB, by (db, key).
fn stream_records(rdb: &[u8]) -> Vec<((u64, Vec<u8>), Vec<u8>)> {
    let mut out = Vec::new();
    let mut db = 0;
    aof_lab::rdb::read::read_rdb_traced(rdb, &mut fresh_dbs(), &mut |start, end, item| match item {
        RdbItem::SelectDb { id } => db = *id,
        RdbItem::Key { type_byte: 19, key, .. } => out.push(((db, key.to_vec()), rdb[start..end].to_vec())),
        _ => {}
    })
    .unwrap();
    out.sort();
    out
}

/// `SAVE` on the real server, and its dump.rdb.
fn save(server: &RedisServer, conn: &mut RespConn) -> Vec<u8> {
    assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
    std::fs::read(server.dir.join("dump.rdb")).unwrap()
}

#[test]
fn the_same_commands_write_the_same_stream_records() {
    let lines = entries_workload();
    let e = run_engine(&lines);
    let server = RedisServer::start();
    let mut conn = run_redis(&server, &lines);
    let theirs = stream_records(&save(&server, &mut conn));
    let ours = stream_records(&write_rdb(&e.srv.dbs, 1_800_000_000, 1, false));
    assert_eq!(theirs.len(), 8);
    assert_eq!(ours.len(), theirs.len());
    for ((key, t), (_, o)) in theirs.iter().zip(&ours) {
        // The TTL's absolute time is each side's clock; the rest is byte for byte.
        let (t, o) = if t[0] == 0xFC { (&t[9..], &o[9..]) } else { (&t[..], &o[..]) };
        assert!(t == o, "{key:?}: Redis writes\n{t:02x?}\nthe engine\n{o:02x?}");
    }
    assert_eq!(conn.command(&["DEBUG", "DIGEST"]).unwrap(), digest(&e.srv.dbs));
}

/// XINFO STREAM FULL of every stream key, on a real connection or an engine.
const KEYS: [&str; 7] = ["s", "empty", "long", "many", "wide", "gone", "ttl"];

fn xinfo_redis(conn: &mut RespConn) -> Vec<Vec<u8>> {
    KEYS.iter().map(|k| conn.command(&["XINFO", "STREAM", k, "FULL", "COUNT", "0"]).unwrap()).collect()
}

fn xinfo_engine(e: &mut Engine) -> Vec<Vec<u8>> {
    let c = e.connect();
    KEYS.iter().map(|k| e.execute_line(c, &format!("XINFO STREAM {k} FULL COUNT 0"), now_ms()).unwrap().to_resp()).collect()
}

fn same_xinfo(theirs: &[Vec<u8>], ours: &[Vec<u8>], clock: Clock) {
    for (k, (t, o)) in KEYS.iter().zip(theirs.iter().zip(ours)) {
        assert!(
            times_match(t, o, clock),
            "XINFO STREAM {k} FULL:\nredis  {}\nengine {}",
            String::from_utf8_lossy(t),
            String::from_utf8_lossy(o)
        );
    }
}

#[test]
fn groups_consumers_and_pel_round_trip_both_ways() {
    let lines = groups_workload();
    let start = now_ms();
    let server = RedisServer::start();
    let mut conn = run_redis(&server, &lines);
    let mut e = run_engine(&lines);
    // Seen and delivery times: within the time both runs took.
    let clock = Clock::between(start, now_ms());
    let want = conn.command(&["DEBUG", "DIGEST"]).unwrap();
    assert_eq!(want, digest(&e.srv.dbs));
    let theirs = xinfo_redis(&mut conn);
    same_xinfo(&theirs, &xinfo_engine(&mut e), clock);
    // Redis's dump.rdb in the engine: the same digest, and exactly the same XINFO (the same
    // times now, as they were read from the file).
    let dump = save(&server, &mut conn);
    let mut dbs = fresh_dbs();
    let info = read_rdb(&dump, &mut dbs).unwrap();
    assert!(info.types[19] >= 8, "{:?}", info.types);
    assert_eq!(digest(&dbs), want);
    let mut loaded = Engine::new(Config::default(), now_ms());
    loaded.srv.dbs = dbs;
    same_xinfo(&theirs, &xinfo_engine(&mut loaded), Clock::exact(now_ms()));
    // Re-written by the engine, Redis's file comes out byte for byte (times included now).
    let again = write_rdb(&loaded.srv.dbs, 1, 1, false);
    assert_eq!(stream_records(&again), stream_records(&dump));
    // The engine's RDB in a fresh real server, as dump.rdb.
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("dump.rdb"), write_rdb(&e.srv.dbs, 1_800_000_000, 1, false)).unwrap();
    let other = RedisServer::start_in(dir, &[]).expect("Redis loads the engine's dump.rdb");
    let mut oc = other.connect();
    assert_eq!(oc.command(&["DEBUG", "DIGEST"]).unwrap(), want);
    same_xinfo(&xinfo_engine(&mut e), &xinfo_redis(&mut oc), Clock::exact(now_ms()));
    // And as an AOF base loaded by the engine from Redis's own rewrite (aof-use-rdb-preamble).
    oc.command(&["CONFIG", "SET", "appendonly", "yes"]).unwrap();
    oc.wait_rewrite();
    let mut cfg = Config::default();
    cfg.set("appendonly", "yes", true).unwrap();
    let copy = RedisServer::new_dir();
    common::copy_dir(&other.dir, &copy);
    let mut from_base =
        Engine::open(cfg, Box::new(aof_lab::storage::FsStorage::new(&copy).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    assert_eq!(digest(&from_base.srv.dbs), want);
    same_xinfo(&xinfo_engine(&mut e), &xinfo_engine(&mut from_base), Clock::exact(now_ms()));
    drop(from_base);
    std::fs::remove_dir_all(&copy).ok();
}

/// A 7.0 record turned into the 5.0–6.2 form: type 15, without the first ID, the tombstone ID,
/// the added count and each group's read counter.
fn downgrade(s: &aof_lab::keyspace::stream::Stream) -> Vec<u8> {
    use aof_lab::rdb::write::push_string_lzf;
    let mut out = Vec::new();
    // `rdbSaveLen`.
    let len = |out: &mut Vec<u8>, n: u64| {
        if n < 64 {
            out.push(n as u8);
        } else if n < 16384 {
            out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else if n <= u64::from(u32::MAX) {
            out.push(0x80);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0x81);
            out.extend_from_slice(&n.to_be_bytes());
        }
    };
    len(&mut out, s.rax.len() as u64);
    for (id, node) in &s.rax {
        push_string_lzf(&mut out, &id.encode());
        push_string_lzf(&mut out, node);
    }
    for n in [s.length, s.last_id.ms, s.last_id.seq] {
        len(&mut out, n);
    }
    len(&mut out, s.cgroups.len() as u64);
    for (name, g) in &s.cgroups {
        push_string_lzf(&mut out, name);
        len(&mut out, g.last_id.ms);
        len(&mut out, g.last_id.seq);
        len(&mut out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id.encode());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            len(&mut out, nack.delivery_count);
        }
        len(&mut out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            push_string_lzf(&mut out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            len(&mut out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.encode());
            }
        }
    }
    out
}

#[test]
fn a_stream_of_redis_6_loads_alike_in_both() {
    let e = run_engine(&groups_workload());
    let mut rdb = Vec::new();
    aof_lab::rdb::write::write_header_aux(&mut rdb, 1_800_000_000, 1, false);
    rdb.extend_from_slice(b"\xfe\x00\xfb");
    rdb.extend_from_slice(&[KEYS.len() as u8, 0]);
    for k in KEYS.iter().filter(|k| **k != "ttl") {
        let Some(Value::Stream(s)) = e.srv.dbs[0].get(k.as_bytes()) else { panic!("{k}") };
        rdb.push(15);
        rdb.push(k.len() as u8);
        rdb.extend_from_slice(k.as_bytes());
        rdb.extend_from_slice(&downgrade(s));
    }
    aof_lab::rdb::write_footer(&mut rdb);
    let mut dbs = fresh_dbs();
    let info = read_rdb(&rdb, &mut dbs).unwrap();
    assert_eq!(info.types[15], 6);
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("dump.rdb"), &rdb).unwrap();
    let server = RedisServer::start_in(dir, &[]).expect("Redis loads type-15 streams");
    let mut conn = server.connect();
    assert_eq!(conn.command(&["DEBUG", "DIGEST"]).unwrap(), digest(&dbs));
    let mut loaded = Engine::new(Config::default(), now_ms());
    loaded.srv.dbs = dbs;
    let c = loaded.connect();
    for k in KEYS.iter().filter(|k| **k != "ttl") {
        let theirs = conn.command(&["XINFO", "STREAM", k, "FULL", "COUNT", "0"]).unwrap();
        let ours = loaded.execute_line(c, &format!("XINFO STREAM {k} FULL COUNT 0"), now_ms()).unwrap().to_resp();
        assert!(theirs == ours, "{k}:\nredis  {}\nengine {}", String::from_utf8_lossy(&theirs), String::from_utf8_lossy(&ours));
    }
}

#[test]
fn damaged_stream_records_are_errors_not_panics() {
    let e = run_engine(&groups_workload());
    let rdb = write_rdb(&e.srv.dbs, 1_800_000_000, 1, false);
    assert!(read_rdb(&rdb, &mut fresh_dbs()).is_ok());
    for n in (0..rdb.len()).step_by(7) {
        assert!(read_rdb(&rdb[..n], &mut fresh_dbs()).is_err(), "truncated at {n}");
    }
    // Without the CRC, random damage reaches the stream reader and the listpack checks.
    let mut unchecked = rdb.clone();
    let n = unchecked.len();
    unchecked[n - 8..].fill(0);
    let mut rng = fastrand::Rng::with_seed(19);
    for _ in 0..3000 {
        let mut bad = unchecked.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(9..n - 8);
            bad[i] = rng.u8(..);
        }
        let mut dbs = fresh_dbs();
        if read_rdb(&bad, &mut dbs).is_ok() {
            // Whatever loaded can be read through, written and digested.
            let _ = dataset_digest(&dbs);
            let _ = write_rdb(&dbs, 1, 1, true);
            let mut e = Engine::new(Config::default(), now_ms());
            e.srv.dbs = dbs;
            let c = e.connect();
            for k in KEYS {
                for cmd in [
                    "XRANGE {k} - +",
                    "XREVRANGE {k} + -",
                    "XINFO STREAM {k} FULL",
                    "XADD {k} * f v",
                    "XTRIM {k} MAXLEN 3",
                    "XDEL {k} 200-0",
                ] {
                    e.execute_line(c, &cmd.replace("{k}", k), now_ms());
                }
            }
        }
    }
}
