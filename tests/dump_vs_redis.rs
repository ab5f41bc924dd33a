//! DUMP payloads moving between a real redis-server 7.0.15 and the engine, for every type: each
//! key Redis DUMPs is RESTOREd into the engine, each key the engine DUMPs is RESTOREd into a
//! second, empty redis-server; all three hold the same dataset (`DEBUG DIGEST`, and per key
//! `DEBUG DIGEST-VALUE`). The payloads of an engine that ran the same commands are Redis's byte
//! for byte, except for hash-table sets and hashes (Redis writes them in its hash order) and a PEL's
//! delivery times.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::Reply;
use aof_lab::resp::parse_reply;
use aof_lab::{Config, Engine};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn words(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace().map(|w| w.as_bytes().to_vec()).collect()
}

/// Every type and encoding: strings (int, short, LZF), lists of one and of several nodes,
/// intsets and hash-table sets, listpack and hash-table hashes, listpack and skiplist zsets
/// (with -0, inf and non-integral scores), streams with groups and a PEL, HLLs sparse and
/// dense, a geo set.
fn workload() -> Vec<Vec<Vec<u8>>> {
    let mut w: Vec<Vec<Vec<u8>>> = [
        "SET s hello",
        "SET n 12345",
        "SET big 12345678901234567",
        "SET lz aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbb",
        "APPEND ap 1234",
        "INCRBYFLOAT fl 2.5",
        "RPUSH l a b 1 -2 300 70000 9223372036854775807 -9223372036854775808",
        "SADD si 5 -3 100 70000",
        "SADD si64 1 5000000000",
        "SADD sm only two three",
        "HSET h f1 v1 f2 22 f3 x",
        "ZADD z 1 a 2.5 b -3 c 1e20 d inf e -inf f 0.1 g",
        "ZADD zneg -0 m",
        "XADD st 1-1 a 1 b 2",
        "XADD st 2-0 c 3",
        "XADD st 3-0 d 4",
        "XGROUP CREATE st g2 $",
        "XADD stp 1-1 a 1",
        "XADD stp 2-1 b 2",
        "XGROUP CREATE stp g 0",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS stp >",
        "XADD empty_st MAXLEN 0 1-1 a 1",
        "PFADD hll a b c",
        "GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    ]
    .iter()
    .map(|l| words(l))
    .collect();
    let mut biglist = words("RPUSH biglist");
    biglist.extend((0..3000).map(|i| format!("element-{i}").into_bytes()));
    w.push(biglist);
    let mut bigset = words("SADD bigset");
    bigset.extend((0..600).map(|i| format!("m{i}").into_bytes()));
    w.push(bigset);
    let mut bigints = words("SADD bigints");
    bigints.extend((0..600).map(|i| (i * 7).to_string().into_bytes()));
    w.push(bigints);
    let mut bighash = words("HSET bighash");
    bighash.extend((0..600).flat_map(|i| [format!("f{i}").into_bytes(), format!("v{i}").into_bytes()]));
    w.push(bighash);
    let mut bigzset = words("ZADD bigzset");
    bigzset.extend((0..300).flat_map(|i| [format!("{}", f64::from(i) / 4.0).into_bytes(), format!("z{i}").into_bytes()]));
    w.push(bigzset);
    let mut dense = words("PFADD hdense");
    dense.extend((0..3000).map(|i| format!("el{i}").into_bytes()));
    w.push(dense);
    let mut bigstream = words("XADD bigst 5-1");
    bigstream.extend((0..50).flat_map(|i| [format!("f{i}").into_bytes(), vec![b'v'; 40]]));
    w.push(bigstream);
    w
}

/// Keys whose payload bytes cannot be the same: Redis writes a hash table in its hash order, and
/// a PEL holds delivery times (each side's own clock).
const NOT_COMPARED: [&str; 5] = ["bigset", "bighash", "bigints", "sm", "stp"];

fn engine_command(e: &mut Engine, c: aof_lab::server::ClientId, argv: &[Vec<u8>]) -> Reply {
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    e.execute(c, &refs, now_ms()).unwrap()
}

fn redis_command(conn: &mut RespConn, argv: &[Vec<u8>]) -> Reply {
    let raw = conn.command(argv).unwrap();
    parse_reply(&raw).unwrap().unwrap().0
}

fn bulk(r: Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(b) => b,
        other => panic!("not a bulk: {other:?}"),
    }
}

#[test]
fn dump_payloads_move_both_ways_with_equal_digests() {
    let a = RedisServer::start();
    let mut ra = a.connect();
    for argv in workload() {
        let r = redis_command(&mut ra, &argv);
        assert!(!r.is_error(), "{argv:?}: {r:?}");
    }
    let digest = redis_command(&mut ra, &words("DEBUG DIGEST"));
    let Reply::Array(keys) = redis_command(&mut ra, &words("KEYS *")) else { panic!() };
    let keys: Vec<Vec<u8>> = keys.into_iter().map(bulk).collect();
    assert!(keys.len() >= 24, "{keys:?}");

    // Redis → engine.
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for k in &keys {
        let payload = bulk(redis_command(&mut ra, &[b"DUMP".to_vec(), k.clone()]));
        let r = engine_command(&mut e, c, &[b"RESTORE".to_vec(), k.clone(), b"0".to_vec(), payload]);
        assert_eq!(r, Reply::ok(), "RESTORE {} into the engine", String::from_utf8_lossy(k));
        let dv = [b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec(), k.clone()];
        assert_eq!(engine_command(&mut e, c, &dv), redis_command(&mut ra, &dv), "digest of {}", String::from_utf8_lossy(k));
    }
    assert_eq!(engine_command(&mut e, c, &words("DEBUG DIGEST")), digest);

    // An engine that ran the workload itself → a second redis-server, and the payloads compared
    // (the restored engine above holds hash-table sets in Redis's order: not a fair comparison).
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for argv in workload() {
        let r = engine_command(&mut e, c, &argv);
        assert!(!r.is_error(), "{argv:?}: {r:?}");
    }
    assert_eq!(engine_command(&mut e, c, &words("DEBUG DIGEST")), digest);
    let b = RedisServer::start();
    let mut rb = b.connect();
    let mut same_bytes = 0;
    for k in &keys {
        let name = String::from_utf8_lossy(k).into_owned();
        let ours = bulk(engine_command(&mut e, c, &[b"DUMP".to_vec(), k.clone()]));
        let theirs = bulk(redis_command(&mut ra, &[b"DUMP".to_vec(), k.clone()]));
        if !NOT_COMPARED.contains(&name.as_str()) {
            assert_eq!(aof_lab::resp::repr(&ours), aof_lab::resp::repr(&theirs), "DUMP {name}");
            same_bytes += 1;
        }
        let r = redis_command(&mut rb, &[b"RESTORE".to_vec(), k.clone(), b"0".to_vec(), ours]);
        assert_eq!(r, Reply::ok(), "RESTORE {name} into redis");
    }
    assert_eq!(same_bytes, keys.len() - NOT_COMPARED.len());
    assert_eq!(redis_command(&mut rb, &words("DEBUG DIGEST")), digest);
}

/// The engine refuses what Redis refuses, and a corrupt object inside a good CRC never panics.
#[test]
fn bad_payloads_are_refused_like_redis() {
    let a = RedisServer::start();
    let mut ra = a.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    redis_command(&mut ra, &words("RPUSH l a b c"));
    let good = bulk(redis_command(&mut ra, &words("DUMP l")));
    let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"x".to_vec(), good[..good.len() - 1].to_vec()];
    for i in 0..good.len() {
        let mut p = good.clone();
        p[i] ^= 0x20;
        cases.push(p);
    }
    // Corrupt objects with a valid footer: every truncation of the object, re-checksummed.
    let body = &good[..good.len() - 10];
    for cut in 0..body.len() {
        let mut p = body[..cut].to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = aof_lab::rdb::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        cases.push(p);
    }
    for p in cases {
        let argv = [b"RESTORE".to_vec(), b"k".to_vec(), b"0".to_vec(), p.clone(), b"REPLACE".to_vec()];
        let theirs = redis_command(&mut ra, &argv);
        let ours = engine_command(&mut e, c, &argv);
        assert_eq!(ours, theirs, "payload {}", aof_lab::resp::repr(&p));
    }
}

/// DEBUG OBJECT describes each value of the workload as redis-server does: refcount, encoding,
/// serializedlength (its RDB bytes), a list's quicklist fields; the address and the LRU field,
/// which no two servers share, are masked, and the idle seconds may differ by one (the two
/// clocks tick apart). Also a list made under `list-max-listpack-size 4`, one under
/// `list-compress-depth 1` (each looked at before the settings change again: Redis keeps a
/// list's own, the engine reads the current ones), values under `rdbcompression no`, and a
/// missing key.
#[test]
fn debug_object_describes_values_like_redis() {
    fn masked(r: Reply) -> (String, i64) {
        let Reply::Status(s) = r else { panic!("not a status: {r:?}") };
        let mut idle = 0;
        let text: Vec<String> = s
            .split(' ')
            .filter_map(|f| {
                if f.starts_with("at:") || f.starts_with("lru:") {
                    return None;
                }
                if let Some(v) = f.strip_prefix("lru_seconds_idle:") {
                    idle = v.parse().unwrap();
                    return None;
                }
                Some(f.to_string())
            })
            .collect();
        (text.join(" "), idle)
    }
    let server = RedisServer::start();
    let mut r = server.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    let mut compared = 0;
    let mut run = |setup: Vec<Vec<Vec<u8>>>, keys: Option<&[&str]>| {
        for argv in &setup {
            let (a, b) = (redis_command(&mut r, argv), engine_command(&mut e, c, argv));
            assert!(!a.is_error() && !b.is_error(), "{argv:?}: {a:?} / {b:?}");
        }
        let keys: Vec<Vec<u8>> = match keys {
            Some(k) => k.iter().map(|k| k.as_bytes().to_vec()).collect(),
            None => {
                let Reply::Array(all) = redis_command(&mut r, &words("KEYS *")) else { panic!() };
                all.into_iter().map(bulk).collect()
            }
        };
        for k in keys {
            let argv = [b"DEBUG".to_vec(), b"OBJECT".to_vec(), k.clone()];
            let (want, got) = (masked(redis_command(&mut r, &argv)), masked(engine_command(&mut e, c, &argv)));
            assert_eq!(got.0, want.0, "DEBUG OBJECT {}", String::from_utf8_lossy(&k));
            assert!((got.1 - want.1).abs() <= 1, "{}: idle {} vs {}", String::from_utf8_lossy(&k), got.1, want.1);
            compared += 1;
        }
        let missing = words("DEBUG OBJECT nosuchkey");
        assert_eq!(engine_command(&mut e, c, &missing), redis_command(&mut r, &missing));
    };
    run(workload(), None);
    run(vec![words("CONFIG SET list-max-listpack-size 4"), words("RPUSH l4 a b c d e f g h i j")], Some(&["l4"]));
    run(vec![words("CONFIG SET list-compress-depth 1"), words("RPUSH lc x y z")], Some(&["lc"]));
    run(vec![words("CONFIG SET rdbcompression no")], Some(&["s", "lz", "h", "z", "st", "hll"]));
    assert!(compared >= 32, "{compared}");
}
