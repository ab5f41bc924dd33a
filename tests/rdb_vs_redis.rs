//! The RDB reader and writer against a real `redis-server` 7.0.15, compared with `DEBUG DIGEST`:
//! engine → RDB → engine, Redis's own RDBs (AOF base and SAVE) → engine, engine's RDB → Redis,
//! and damaged RDBs (errors, never panics).

// Native only (real processes and files): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::{Duration, Instant};

use aof_lab::child::{Format, SnapshotWriter};
use aof_lab::keyspace::Db;
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::rdb::{read_rdb, write_rdb};
use aof_lab::{Config, Engine};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn cmd_with(head: &[&str], tail: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    let mut v = cmd(head);
    v.extend(tail.into_iter().map(String::into_bytes));
    v
}

/// Strings that LZF compresses (the first is built in `workload`).
const LZF_VALUES: [&str; 4] = [
    "",
    "The quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog again.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "x1y2z3-",
];

/// 30 KB of pseudo-random words: long-distance matches, hash collisions, offsets past 8 KB.
fn words() -> String {
    let dict = ["redis", "aof", "rewrite", "fsync", "base", "incr", "manifest", "listpack", "quicklist", "x", "0123", "zz"];
    let mut x: u32 = 12345;
    let mut out = String::new();
    while out.len() < 30_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.push_str(dict[(x >> 16) as usize % dict.len()]);
        out.push(if x & 0x100 == 0 { ' ' } else { char::from(b'a' + (x >> 9) as u8 % 26) });
    }
    out
}

/// Every type in its small and large encodings, TTLs and several dbs.
fn workload() -> Vec<Vec<Vec<u8>>> {
    let mut w = vec![
        cmd(&["SET", "str", "hello"]),
        cmd(&["SET", "int", "12345"]),
        cmd(&["SET", "neg", "-7"]),
        cmd(&["SET", "bigint", "1234567890123"]),
        cmd(&["SET", "empty", ""]),
        cmd(&["SET", "notint", "007"]),
        cmd_with(&["SET", "lzf"], [format!("{}tail", "abcabcabc".repeat(40))]),
        cmd(&["SET", "short21", "qwertyuiopasdfghjklzx"]),
        cmd_with(&["SET", "lzf2"], [LZF_VALUES[1].to_string()]),
        cmd_with(&["SET", "lzf3"], [LZF_VALUES[2].to_string()]),
        cmd_with(&["SET", "lzf4"], [LZF_VALUES[3].repeat(30)]),
        cmd_with(&["SET", "lzf5"], [words()]),
        cmd(&["SET", "ttl", "v", "PX", "100000000"]),
        cmd(&[
            "RPUSH",
            "ls",
            "a",
            "b",
            "1",
            "-5",
            "300",
            "70000",
            "-70000",
            "5000000000",
            "-1",
            "127",
            "128",
            "4095",
            "-4096",
            "10000000",
            "-10000000",
        ]),
        cmd_with(&["RPUSH", "ll"], (0..300).map(|i| if i % 3 == 0 { i.to_string() } else { format!("elem-{i}-{}", "z".repeat(i % 70)) })),
        cmd_with(&["RPUSH", "lp", "small"], [("p".repeat(10_000)), "tiny".into(), "q".repeat(9000), "end".into()]),
        cmd(&["HSET", "hs", "f1", "v1", "f2", "2", "f3", "-100000"]),
        cmd_with(&["HSET", "hbig"], (0..600).flat_map(|i| [format!("field:{i}"), format!("{}", i * 7)])),
        cmd_with(&["HSET", "hlong", "a", "1"], ["b".to_string(), "v".repeat(100)]),
        cmd(&["PEXPIRE", "hs", "200000000"]),
        cmd(&["SADD", "si", "3", "1", "2", "-5", "100000", "5000000000"]),
        cmd(&["SADD", "ss", "a", "b", "c", "10"]),
        cmd_with(&["SADD", "sbig"], (0..600).map(|i| (i * 3).to_string())),
        cmd(&["ZADD", "zs", "1", "a", "2.5", "b", "-3", "c", "1e300", "d", "inf", "e", "-inf", "f", "0.1", "g", "5", "10"]),
        cmd_with(&["ZADD", "zbig"], (0..200).flat_map(|i| [format!("{}", f64::from(i) / 3.0), format!("member-{i}")])),
        cmd_with(&["ZADD", "zlong", "1", "x"], ["2".to_string(), "m".repeat(80)]),
        cmd(&["SELECT", "3"]),
        cmd(&["SET", "db3key", "v"]),
        cmd(&["RPUSH", "db3list", "x", "y"]),
        cmd(&["EXPIRE", "db3list", "100000"]),
        cmd(&["SELECT", "15"]),
        cmd(&["HSET", "h15", "a", "b"]),
        cmd(&["SELECT", "0"]),
    ];
    // A list spread over many quicklist nodes.
    w.push(cmd_with(&["RPUSH", "lnodes"], (0..2000).map(|i| format!("{i:0>40}"))));
    // Function libraries are part of the dataset: RDB_OPCODE_FUNCTION2 before the dbs.
    for code in LIBRARIES {
        w.push(cmd(&["FUNCTION", "LOAD", code]));
    }
    w
}

/// Two function libraries of one function each (Redis lists a library's functions in dict
/// order); the first one's code is LZF-compressed in an RDB, the second's is too short to be.
const LIBRARIES: [&str; 2] = [
    "#!lua name=mylib\nredis.register_function{function_name='getter', callback=function(keys, args) \
     return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='gets a key; gets a key; gets a key'}",
    "#!lua name=lib2\nredis.register_function('two', function() return 2 end)",
];

/// `FUNCTION LIST LIBRARYNAME <name> WITHCODE` for each library, in a fixed order (Redis lists
/// its libraries in dict order, which is not insertion order).
fn function_list(mut run: impl FnMut(&[&str]) -> Vec<u8>) -> Vec<String> {
    ["mylib", "lib2"]
        .iter()
        .map(|lib| String::from_utf8_lossy(&run(&["FUNCTION", "LIST", "LIBRARYNAME", lib, "WITHCODE"])).into_owned())
        .collect()
}

fn engine_function_list(e: &mut Engine) -> Vec<String> {
    let c = e.connect();
    function_list(|argv| {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        e.execute(c, &refs, now_ms()).map(|r| r.to_resp()).unwrap_or_default()
    })
}

fn real_function_list(conn: &mut RespConn) -> Vec<String> {
    function_list(|argv| conn.command(argv).unwrap())
}

fn engine_with_workload() -> Engine {
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for argv in workload() {
        let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let r = e.execute(c, &refs, now_ms()).map(|r| r.to_resp()).unwrap_or_default();
        assert!(!r.starts_with(b"-"), "{:?}: {}", String::from_utf8_lossy(&argv.concat()), String::from_utf8_lossy(&r));
    }
    e
}

fn fresh_dbs() -> Vec<Db> {
    (0..16).map(Db::new).collect()
}

fn digest_reply(dbs: &[Db]) -> String {
    format!("+{}\r\n", hex(&dataset_digest(dbs)))
}

fn real_digest(conn: &mut RespConn) -> String {
    String::from_utf8_lossy(&conn.command(&["DEBUG", "DIGEST"]).unwrap()).into_owned()
}

fn server_with_workload() -> RedisServer {
    let server = RedisServer::start();
    let mut conn = server.connect();
    for argv in workload() {
        let r = conn.command(&argv).unwrap();
        assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
    }
    // Elements of at least 1000 bytes become PLAIN quicklist nodes (7.0's default threshold is
    // 1 GB); the engine has no such knob, so this key exists on the real side only.
    conn.command(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]).unwrap();
    let big = "P".repeat(5000);
    let r = conn.command(&["RPUSH", "lplain", "a", &big, "b", "c", &big]).unwrap();
    assert_eq!(r, b":5\r\n");
    server
}

fn info_field(conn: &mut RespConn, field: &str) -> String {
    let info = String::from_utf8_lossy(&conn.command(&["INFO", "persistence"]).unwrap()).into_owned();
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_default().trim().to_string()
}

#[test]
fn round_trip_keeps_the_digest_and_encodings() {
    let e = engine_with_workload();
    let rdb = write_rdb(&e.srv.dbs, 1_800_000_000, 1_000_000, true);
    let mut dbs = fresh_dbs();
    let info = read_rdb(&rdb, &mut dbs).unwrap();
    assert!(info.checksum_ok);
    assert_eq!(info.len, rdb.len());
    assert_eq!(digest_reply(&dbs), digest_reply(&e.srv.dbs));
    for (a, b) in e.srv.dbs.iter().zip(&dbs) {
        assert_eq!(a.len(), b.len());
        for (k, v) in a.iter() {
            let w = b.get(k).unwrap();
            assert_eq!(v.encoding(), w.encoding(), "{}", String::from_utf8_lossy(k));
            assert_eq!(a.expire_of(k), b.expire_of(k));
        }
    }
    // Compressible strings were compressed.
    assert!(rdb.windows(2).any(|w| w[0] == 0xC3));
    // Writing what was read gives the same bytes.
    assert_eq!(write_rdb(&dbs, 1_800_000_000, 1_000_000, true), rdb);
    // The libraries come back in order, before the keys.
    let with_functions = engine_rdb(&e, true);
    let info = read_rdb(&with_functions, &mut fresh_dbs()).unwrap();
    assert_eq!(info.functions, e.srv.scripting.functions.codes());
    assert_eq!(info.functions.len(), LIBRARIES.len());
}

/// The engine's snapshot writer (what SAVE, BGSAVE and a rewrite write): the dbs and the libraries.
fn engine_rdb(e: &Engine, aof_base: bool) -> Vec<u8> {
    let mut out = Vec::new();
    SnapshotWriter::new(Format::Rdb { aof_base }, 1_800_000_000, 1_000_000)
        .with_functions(e.srv.scripting.functions.codes())
        .step(&e.srv.dbs, 0, &mut out);
    out
}

/// Each key of an RDB: its type byte and the bytes from the type byte to the item's end (the
/// expiry opcode before it apart: an absolute time that differs by the moment of each run).
fn key_items(rdb: &[u8]) -> std::collections::BTreeMap<(u64, Vec<u8>), (u8, Vec<u8>)> {
    use aof_lab::rdb::read::{RdbItem, Walker};
    let (mut w, _) = Walker::new(rdb).unwrap();
    let mut db = 0;
    let mut out = std::collections::BTreeMap::new();
    while let Some((_, end, item)) = w.next_item().unwrap() {
        match item {
            RdbItem::SelectDb { id } => db = id,
            RdbItem::Key { type_byte, key, .. } => {
                out.insert((db, key.to_vec()), (type_byte, rdb[w.op_at()..end].to_vec()));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_key_is_written_in_the_bytes_redis_writes() {
    // SAVE on both sides: each key's RDB bytes (type, key, value in its 7.0 encoding) are
    // Redis's own, except the hash-table sets and hashes, whose elements Redis writes in its
    // dict's hash order (any order loads the same value: compared by digest elsewhere).
    let e = engine_with_workload();
    let ours = key_items(&engine_rdb(&e, false));
    let server = server_with_workload();
    let mut conn = server.connect();
    assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
    let theirs = key_items(&std::fs::read(server.dir.join("dump.rdb")).unwrap());
    let mut compared = [0u32; 20];
    for ((db, key), (t, bytes)) in &theirs {
        if key == b"lplain" {
            continue; // the real side only (PLAIN quicklist nodes, see server_with_workload)
        }
        let name = String::from_utf8_lossy(key);
        let (ours_t, ours_bytes) = ours.get(&(*db, key.clone())).unwrap_or_else(|| panic!("{name}: not in the engine's RDB"));
        assert_eq!(ours_t, t, "{name}: the type byte (the encoding)");
        if *t == 2 || *t == 4 {
            continue;
        }
        assert_eq!(ours_bytes, bytes, "{name}: type {t}");
        compared[usize::from(*t)] += 1;
    }
    assert_eq!(ours.len(), theirs.len() - 1, "the same keys");
    for t in [0, 5, 11, 16, 17, 18] {
        assert!(compared[t] > 0, "type {t} compared: {compared:?}");
    }
}

#[test]
fn redis_aof_base_and_save_load_in_the_engine() {
    let server = server_with_workload();
    let mut conn = server.connect();
    let want = real_digest(&mut conn);
    let want_functions = real_function_list(&mut conn);
    assert!(want_functions.iter().all(|l| l.contains("library_code")), "{want_functions:?}");
    // An AOF base (aof-use-rdb-preamble yes by default).
    conn.command(&["BGREWRITEAOF"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut conn, "aof_rewrite_in_progress") != "0" || info_field(&mut conn, "aof_rewrite_scheduled") != "0" {
        assert!(Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let manifest = std::fs::read_to_string(server.aof_dir().join("appendonly.aof.manifest")).unwrap();
    let base = manifest.lines().find(|l| l.ends_with("type b")).and_then(|l| l.split(' ').nth(1)).unwrap().to_string();
    assert!(base.ends_with(".rdb"), "{manifest}");
    let bytes = std::fs::read(server.aof_dir().join(&base)).unwrap();
    let mut dbs = fresh_dbs();
    let info = read_rdb(&bytes, &mut dbs).unwrap_or_else(|e| panic!("{e}"));
    assert!(info.checksum_ok);
    assert!(info.aux.iter().any(|(k, v, _)| k == b"aof-base" && v == b"1"));
    assert_eq!(digest_reply(&dbs), want);
    // What 7.0 writes: string, quicklist 2, intset, plain set, zset/hash listpacks, ZSET_2, hash.
    for t in [0, 2, 4, 5, 11, 16, 17, 18] {
        assert!(info.types[t] > 0, "type {t} not seen: {:?}", info.types);
    }
    // The libraries, each an RDB_OPCODE_FUNCTION2 and its code, LZF-compressed as Redis does.
    let mut codes = info.functions.clone();
    codes.sort();
    let mut sorted: Vec<Vec<u8>> = LIBRARIES.iter().map(|c| c.as_bytes().to_vec()).collect();
    sorted.sort();
    assert_eq!(codes, sorted);
    for (i, code) in LIBRARIES.iter().enumerate() {
        let mut ours = Vec::new();
        aof_lab::rdb::write::write_functions(&mut ours, &[code.as_bytes().to_vec()], true);
        assert_eq!(ours[1] == 0xC3, i == 0, "only the first library's code compresses");
        assert!(bytes.windows(ours.len()).any(|w| w == ours), "Redis wrote {code:?} differently");
    }
    // Our LZF output is byte for byte Redis's.
    let values = [format!("{}tail", "abcabcabc".repeat(40)), LZF_VALUES[1].into(), LZF_VALUES[2].into(), LZF_VALUES[3].repeat(30), words()];
    for (key, value) in ["lzf", "lzf2", "lzf3", "lzf4", "lzf5"].iter().zip(values) {
        let mut ours = vec![0, key.len() as u8];
        ours.extend_from_slice(key.as_bytes());
        aof_lab::rdb::write::push_string_lzf(&mut ours, value.as_bytes());
        assert_eq!(ours[2 + key.len()], 0xC3, "{key}");
        assert!(bytes.windows(ours.len()).any(|w| w == ours), "Redis compressed {key} differently");
    }
    // Encodings as Redis reports them.
    for key in ["str", "int", "lzf", "ls", "ll", "lp", "hs", "hbig", "hlong", "si", "ss", "sbig", "zs", "zbig", "zlong"] {
        let real = conn.command(&["OBJECT", "ENCODING", key]).unwrap();
        let ours =
            format!("${}\r\n{}\r\n", dbs[0].get(key.as_bytes()).unwrap().encoding().len(), dbs[0].get(key.as_bytes()).unwrap().encoding());
        assert_eq!(String::from_utf8_lossy(&real), ours, "{key}");
    }
    // Damaged copies of Redis's own base: every truncation is an error, random damage (with the
    // CRC disabled so the parser sees it) never panics.
    for n in (0..bytes.len()).step_by(bytes.len() / 300 + 1) {
        assert!(read_rdb(&bytes[..n], &mut fresh_dbs()).is_err(), "truncated at {n}");
    }
    let mut unchecked = bytes.clone();
    let len = unchecked.len();
    unchecked[len - 8..].fill(0);
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..300 {
        let mut bad = unchecked.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(9..len - 8);
            bad[i] = rng.u8(..);
        }
        let _ = read_rdb(&bad, &mut fresh_dbs());
    }
    // The same base through the engine's AOF loading (base + incr).
    let copy = RedisServer::new_dir();
    std::fs::create_dir_all(copy.join("appendonlydir")).unwrap();
    for entry in std::fs::read_dir(server.aof_dir()).unwrap().flatten() {
        // History files may vanish meanwhile (Redis deletes them in the background).
        let _ = std::fs::copy(entry.path(), copy.join("appendonlydir").join(entry.file_name()));
    }
    let mut cfg = Config::default();
    cfg.set("appendonly", "yes", true).unwrap();
    let mut e = Engine::open(cfg, Box::new(aof_lab::storage::FsStorage::new(&copy).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    assert_eq!(digest_reply(&e.srv.dbs), want);
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    let keys: usize = dbs.iter().map(Db::len).sum();
    for line in
        ["Loading RDB produced by version 7.0.15", "RDB is base AOF", &format!("Done loading RDB, keys loaded: {keys}, keys expired: 0.")]
    {
        assert!(log.iter().any(|l| l == line), "{line:?} not in {log:?}");
    }
    let c = e.connect();
    assert_eq!(String::from_utf8_lossy(&e.execute_line(c, "DEBUG DIGEST", now_ms()).unwrap().to_resp()), want);
    assert_eq!(engine_function_list(&mut e), want_functions);
    let r = e.execute_line(c, "FCALL getter 1 str", now_ms()).unwrap().to_resp();
    assert_eq!(r, b"$5\r\nhello\r\n", "the loaded library runs");
    drop(e);
    std::fs::remove_dir_all(&copy).ok();

    // A plain SAVE to dump.rdb (aof-base 0; `dbfilename` is a protected config).
    assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
    let bytes = std::fs::read(server.dir.join("dump.rdb")).unwrap_or_else(|e| {
        panic!("{e}: {:?}", std::fs::read_dir(&server.dir).unwrap().flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    });
    let mut dbs = fresh_dbs();
    let info = read_rdb(&bytes, &mut dbs).unwrap_or_else(|e| panic!("{e}"));
    assert!(info.aux.iter().any(|(k, v, _)| k == b"aof-base" && v == b"0"));
    assert_eq!(info.keys as usize, dbs.iter().map(Db::len).sum::<usize>());
    assert_eq!(digest_reply(&dbs), want);
    assert_eq!(info.functions.len(), LIBRARIES.len());
    // The same dump.rdb loaded at start by an engine with the AOF off.
    let copy = RedisServer::new_dir();
    std::fs::copy(server.dir.join("dump.rdb"), copy.join("dump.rdb")).unwrap();
    let mut e =
        Engine::open(Config::default(), Box::new(aof_lab::storage::FsStorage::new(&copy).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    assert_eq!(digest_reply(&e.srv.dbs), want);
    assert_eq!(engine_function_list(&mut e), want_functions);
    // DEBUG RELOAD empties the libraries and loads them back (not twice: no duplicate error).
    let c = e.connect();
    assert_eq!(e.execute_line(c, "DEBUG RELOAD", now_ms()).unwrap().to_resp(), b"+OK\r\n");
    assert_eq!(engine_function_list(&mut e), want_functions);
    drop(e);
    std::fs::remove_dir_all(&copy).ok();
}

#[test]
fn engine_rdb_base_loads_in_redis() {
    let e = engine_with_workload();
    let want = digest_reply(&e.srv.dbs);
    let dir = RedisServer::new_dir();
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.base.rdb"), engine_rdb(&e, true)).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), b"").unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let server = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis loads the engine's RDB base");
    let mut conn = server.connect();
    assert_eq!(real_digest(&mut conn), want);
    let mut e = e;
    assert_eq!(real_function_list(&mut conn), engine_function_list(&mut e));
    // And as a dump.rdb (aof-base 0) loaded with the AOF off.
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("dump.rdb"), engine_rdb(&e, false)).unwrap();
    let dump = RedisServer::start_in(dir, &["--appendonly", "no"]).expect("Redis loads the engine's dump.rdb");
    let mut dconn = dump.connect();
    assert_eq!(real_digest(&mut dconn), want);
    assert_eq!(real_function_list(&mut dconn), engine_function_list(&mut e));
    for key in ["str", "int", "lzf", "ls", "ll", "lp", "hs", "hbig", "hlong", "si", "ss", "sbig", "zs", "zbig", "zlong"] {
        let real = conn.command(&["OBJECT", "ENCODING", key]).unwrap();
        let v = e.srv.dbs[0].get(key.as_bytes()).unwrap();
        assert_eq!(String::from_utf8_lossy(&real), format!("${}\r\n{}\r\n", v.encoding().len(), v.encoding()), "{key}");
    }
}

fn small_rdb() -> Vec<u8> {
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for line in ["SET s hello", "SET n 7", "RPUSH l a b", "SADD st 1 2", "HSET h f v", "ZADD z 1 m", "PEXPIRE s 99999999"] {
        e.execute_line(c, line, now_ms());
    }
    let lzf = format!("SET big {}", "x".repeat(40));
    e.execute_line(c, &lzf, now_ms());
    write_rdb(&e.srv.dbs, 1_800_000_000, 1, true)
}

#[test]
fn truncated_and_flipped_rdbs_are_errors_not_panics() {
    let rdb = small_rdb();
    assert!(read_rdb(&rdb, &mut fresh_dbs()).is_ok());
    for n in 0..rdb.len() {
        assert!(read_rdb(&rdb[..n], &mut fresh_dbs()).is_err(), "truncated at {n}");
    }
    for i in 0..rdb.len() {
        for bit in 0..8 {
            let mut bad = rdb.clone();
            bad[i] ^= 1 << bit;
            assert!(read_rdb(&bad, &mut fresh_dbs()).is_err(), "flip byte {i} bit {bit}");
        }
    }
    // Without a CRC the parser itself must cope with anything: random mutations never panic.
    let mut rng = fastrand::Rng::with_seed(42);
    let mut unchecked = rdb.clone();
    let n = unchecked.len();
    unchecked[n - 8..].fill(0);
    for _ in 0..20_000 {
        let mut bad = unchecked.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(9..n - 8);
            bad[i] = rng.u8(..);
        }
        let _ = read_rdb(&bad, &mut fresh_dbs());
    }
}

#[test]
fn unsupported_types_are_refused_with_type_and_offset() {
    let mut rdb = Vec::new();
    aof_lab::rdb::write::write_header_aux(&mut rdb, 0, 0, true);
    let at = rdb.len() + 2;
    rdb.extend_from_slice(b"\xfe\x00\x07\x01k\x00");
    aof_lab::rdb::write_footer(&mut rdb);
    let e = read_rdb(&rdb, &mut fresh_dbs()).unwrap_err();
    assert_eq!(e.offset, at);
    assert!(e.message.contains('7') && e.message.contains("module"), "{e}");
}

// ---- The pre-7.0 encodings, hand-assembled, loaded by real Redis 7.0.15 as dump.rdb ----

enum E {
    S(&'static str),
    I(i64),
}

/// A ziplist as `ziplist.c` lays it out (prevlen, encoding, data; zltail pointing at the last).
fn ziplist(entries: &[E]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10usize;
    for e in entries {
        let start = body.len();
        tail = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match e {
            E::I(v @ 0..=12) => body.push(0xF1 + *v as u8),
            E::I(v) if i8::try_from(*v).is_ok() => body.extend_from_slice(&[0xFE, *v as i8 as u8]),
            E::I(v) if i16::try_from(*v).is_ok() => {
                body.push(0xC0);
                body.extend_from_slice(&(*v as i16).to_le_bytes());
            }
            E::I(v) if (-(1 << 23)..1 << 23).contains(v) => {
                body.push(0xF0);
                body.extend_from_slice(&(*v as i32).to_le_bytes()[..3]);
            }
            E::I(v) if i32::try_from(*v).is_ok() => {
                body.push(0xD0);
                body.extend_from_slice(&(*v as i32).to_le_bytes());
            }
            E::I(v) => {
                body.push(0xE0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            E::S(s) => {
                let n = s.len();
                if n < 64 {
                    body.push(n as u8);
                } else if n < 16384 {
                    body.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
                } else {
                    body.push(0x80);
                    body.extend_from_slice(&(n as u32).to_be_bytes());
                }
                body.extend_from_slice(s.as_bytes());
            }
        }
        prev = body.len() - start;
    }
    let mut zl = Vec::new();
    zl.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xFF);
    zl
}

fn zipmap(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut zm = vec![pairs.len() as u8];
    for (k, v) in pairs {
        zm.push(k.len() as u8);
        zm.extend_from_slice(k.as_bytes());
        zm.push(v.len() as u8);
        zm.push(0); // free
        zm.extend_from_slice(v.as_bytes());
    }
    zm.push(0xFF);
    zm
}

fn blob(out: &mut Vec<u8>, b: &[u8]) {
    // A raw string (length + bytes), like a pre-7.0 server writes an encoded value.
    assert!(b.len() < 16384);
    if b.len() < 64 {
        out.push(b.len() as u8);
    } else {
        out.extend_from_slice(&[0x40 | (b.len() >> 8) as u8, b.len() as u8]);
    }
    out.extend_from_slice(b);
}

fn old_rdb() -> Vec<u8> {
    let long = "L".repeat(300);
    let long: &'static str = Box::leak(long.into_boxed_str());
    let mut r = b"REDIS0009".to_vec();
    r.extend_from_slice(b"\xfe\x00");
    // 10: list ziplist, every integer width and a long string.
    r.extend_from_slice(b"\x0a\x03lzl");
    blob(
        &mut r,
        &ziplist(&[
            E::S("a"),
            E::I(0),
            E::I(12),
            E::I(13),
            E::I(-128),
            E::I(30000),
            E::I(-8_000_000),
            E::I(2_000_000_000),
            E::I(-9_000_000_000),
            E::S(long),
            E::S("z"),
        ]),
    );
    // 14: quicklist of two ziplists, with an expire in seconds (0xFD, year 2036).
    r.extend_from_slice(b"\xfd");
    r.extend_from_slice(&2_100_000_000i32.to_le_bytes());
    r.extend_from_slice(b"\x0e\x03lql\x02");
    blob(&mut r, &ziplist(&[E::S("x"), E::I(1)]));
    blob(&mut r, &ziplist(&[E::S("y"), E::I(-2), E::S(long)]));
    // 12: zset ziplist (member, score).
    r.extend_from_slice(b"\x0c\x03zzl");
    blob(&mut r, &ziplist(&[E::S("a"), E::I(1), E::S("b"), E::S("2.5"), E::S("c"), E::I(300)]));
    // 13: hash ziplist.
    r.extend_from_slice(b"\x0d\x03hzl");
    blob(&mut r, &ziplist(&[E::S("f"), E::S("v"), E::S("n"), E::I(-77)]));
    // 9: zipmap hash.
    r.extend_from_slice(b"\x09\x03hzm");
    blob(&mut r, &zipmap(&[("foo", "bar"), ("hello", "world")]));
    // 3: zset with string scores (NaN is refused, so only the infinities and a number).
    r.extend_from_slice(b"\x03\x03zs1\x03\x01a\x04-1.5\x01b\xfe\x01c\xff");
    // 1, 2, 4 with an INT-encoded element and a 0xFC expire.
    r.extend_from_slice(b"\xfc");
    r.extend_from_slice(&4_102_444_800_000i64.to_le_bytes());
    r.extend_from_slice(b"\x01\x02l1\x02\x01a\xc1\x39\x30");
    r.extend_from_slice(b"\x02\x02s1\x03\xc0\x05\x01x\xc0\x07");
    r.extend_from_slice(b"\x04\x02h1\x01\x01k\xc2\x15\xcd\x5b\x07");
    // An LRU idle time and an LFU counter before keys (written under maxmemory LRU/LFU policies).
    r.extend_from_slice(b"\xf8\x05\x00\x02s2\x01v");
    r.extend_from_slice(b"\xf9\x07\x00\x02s3\x01w");
    r.extend_from_slice(b"\xfe\x02\xfb\x01\x00\x00\x03db2\x02v2");
    aof_lab::rdb::write_footer(&mut r);
    r
}

#[test]
fn pre_7_0_encodings_load_like_redis_loads_them() {
    let rdb = old_rdb();
    let mut dbs = fresh_dbs();
    let info = read_rdb(&rdb, &mut dbs).unwrap_or_else(|e| panic!("{e}"));
    for t in [0, 1, 2, 3, 4, 9, 10, 12, 13, 14] {
        assert!(info.types[t] > 0, "type {t}: {:?}", info.types);
    }
    assert_eq!(dbs[0].expire_of(b"lql"), Some(2_100_000_000_000));
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("dump.rdb"), &rdb).unwrap();
    let server = RedisServer::start_in(dir, &["--appendonly", "no", "--dbfilename", "dump.rdb"]).expect("Redis loads the hand-made RDB");
    let mut conn = server.connect();
    assert_eq!(conn.command(&["DBSIZE"]).unwrap(), format!(":{}\r\n", dbs[0].len()).into_bytes(), "{}", server.log_tail());
    assert_eq!(real_digest(&mut conn), digest_reply(&dbs));
    for key in ["zzl", "hzl", "hzm", "zs1", "s1", "h1"] {
        let real = conn.command(&["OBJECT", "ENCODING", key]).unwrap();
        let v = dbs[0].get(key.as_bytes()).unwrap();
        assert_eq!(String::from_utf8_lossy(&real), format!("${}\r\n{}\r\n", v.encoding().len(), v.encoding()), "{key}");
    }
}

#[test]
fn redis_check_aof_agrees_on_a_populated_rdb_preamble() {
    use aof_lab::aof::check::{Mode, check};
    let e = engine_with_workload();
    let dir = RedisServer::new_dir();
    let mut file = write_rdb(&e.srv.dbs, 1_800_000_000, 1_000_000, true);
    aof_lab::resp::encode_command(&mut file, &["SET", "tail", "1"]);
    std::fs::write(dir.join("pre.aof"), &file).unwrap();
    let out = std::process::Command::new("redis-check-aof").arg("pre.aof").current_dir(&dir).output().unwrap();
    let real: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    let mut st = aof_lab::storage::FsStorage::new(&dir).unwrap();
    let r = check(&mut st, "pre.aof", Mode::Check, &mut |_| false);
    let ours: Vec<String> = r.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(ours, real);
    assert_eq!(r.exit_code, out.status.code().unwrap());
}

/// A random dataset: binary strings, integers of every width, `-0` and infinite scores, big
/// and small collections, TTLs, four dbs.
fn random_engine(seed: u64) -> Engine {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    let value = |rng: &mut fastrand::Rng| -> Vec<u8> {
        match rng.u8(..6) {
            0 => rng.i64(..).to_string().into_bytes(),
            1 => rng.i32(-70_000..70_000).to_string().into_bytes(),
            2 => (0..rng.usize(..40)).map(|_| rng.u8(..)).collect(),
            3 => b"abcd".repeat(rng.usize(5..300)),
            4 => format!("m{}", rng.u16(..2000)).into_bytes(),
            _ => Vec::new(),
        }
    };
    let scores =
        [b"-0".to_vec(), b"0".to_vec(), b"1.5".to_vec(), b"-inf".to_vec(), b"inf".to_vec(), b"1e-300".to_vec(), b"123456789".to_vec()];
    for _ in 0..3000 {
        let key = format!("k{}", rng.u8(..40)).into_bytes();
        let mut argv: Vec<Vec<u8>> = match rng.u8(..9) {
            0 => vec![b"SET".to_vec(), key, value(&mut rng)],
            1 => vec![b"RPUSH".to_vec(), key, value(&mut rng), value(&mut rng)],
            2 => vec![b"SADD".to_vec(), key, rng.i64(..).to_string().into_bytes(), rng.u16(..).to_string().into_bytes()],
            3 => vec![b"SADD".to_vec(), key, value(&mut rng)],
            4 => vec![b"HSET".to_vec(), key, value(&mut rng), value(&mut rng)],
            5 => {
                let s =
                    if rng.bool() { scores[rng.usize(..scores.len())].clone() } else { (rng.f64() * 1e6 - 5e5).to_string().into_bytes() };
                vec![b"ZADD".to_vec(), key, s, value(&mut rng)]
            }
            6 => vec![b"PEXPIRE".to_vec(), key, rng.u32(1_000_000..100_000_000).to_string().into_bytes()],
            7 => vec![b"SELECT".to_vec(), rng.u8(..4).to_string().into_bytes()],
            _ => vec![b"DEL".to_vec(), key],
        };
        if argv[0] == b"RPUSH" && argv.iter().skip(2).any(Vec::is_empty) {
            argv.truncate(3);
        }
        let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        e.execute(c, &refs, now_ms());
    }
    e
}

#[test]
fn random_datasets_round_trip_and_load_in_redis() {
    for seed in 1..=3 {
        let e = random_engine(seed);
        let want = digest_reply(&e.srv.dbs);
        let rdb = write_rdb(&e.srv.dbs, 1_800_000_000, 1_000_000, true);
        let mut dbs = fresh_dbs();
        let info = read_rdb(&rdb, &mut dbs).unwrap();
        assert!(info.keys > 50 && info.expires > 5, "{info:?}");
        // 7.0's own type bytes, each family in both its encodings over the three seeds' sizes;
        // never the plain list (1), which 7.0 no longer writes.
        let t = |i: usize| info.types[i] > 0;
        assert!(t(0) && t(18) && !t(1) && (t(2) || t(11)) && (t(4) || t(16)) && (t(5) || t(17)), "{info:?}");
        assert_eq!(digest_reply(&dbs), want, "seed {seed}");
        let dir = RedisServer::new_dir();
        std::fs::write(dir.join("dump.rdb"), &rdb).unwrap();
        let server = RedisServer::start_in(dir, &["--appendonly", "no", "--dbfilename", "dump.rdb"]).unwrap();
        let mut conn = server.connect();
        assert_eq!(real_digest(&mut conn), want, "seed {seed}");
        // And back: what Redis saves of it loads to the same digest.
        assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
        let saved = std::fs::read(server.dir.join("dump.rdb")).unwrap();
        let mut dbs = fresh_dbs();
        read_rdb(&saved, &mut dbs).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(digest_reply(&dbs), want, "seed {seed}");
    }
}

#[test]
fn lzf_decisions_match_redis_byte_for_byte() {
    // Short two-letter strings sit right at the "saves at least 4 bytes" margin, where liblzf's
    // conservative bounds checks decide; the longer ones exercise long matches.
    let mut rng = fastrand::Rng::with_seed(9);
    let values: Vec<Vec<u8>> = (0..400)
        .map(|i| {
            let n = if i % 4 == 0 { rng.usize(60..3000) } else { rng.usize(21..64) };
            let alphabet: &[u8] = if i % 3 == 0 { b"abc" } else { b"ab" };
            (0..n).map(|_| alphabet[rng.usize(..alphabet.len())]).collect()
        })
        .collect();
    // A repeat ending 19 or 20 bytes before the end: liblzf's unrolled comparison runs past
    // its length cap there.
    let mut values = values;
    let x = b"0123456789abcdefghi";
    for tail in [&b""[..], b"W", b"WV", b"WVU"] {
        for gap in [&b"QRSTUVWXYZ"[..], b"Q"] {
            values.push([&x[..], gap, x, tail].concat());
            values.push([&x[..], gap, &x[..18], tail].concat());
        }
    }
    let server = RedisServer::start();
    let mut conn = server.connect();
    for (i, v) in values.iter().enumerate() {
        conn.command(&[b"SET".to_vec(), format!("v{i}").into_bytes(), v.clone()]).unwrap();
    }
    assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
    let dump = std::fs::read(server.dir.join("dump.rdb")).unwrap();
    let (mut compressed, mut raw) = (0, 0);
    for (i, v) in values.iter().enumerate() {
        let key = format!("v{i}");
        let mut ours = vec![0, key.len() as u8];
        ours.extend_from_slice(key.as_bytes());
        aof_lab::rdb::write::push_string_lzf(&mut ours, v);
        if ours[2 + key.len()] == 0xC3 {
            compressed += 1;
        } else {
            raw += 1;
        }
        if !dump.windows(ours.len()).any(|w| w == ours) {
            let at = dump.windows(ours.len().min(4)).position(|w| w == &ours[..4]).unwrap();
            let theirs = &dump[at..(at + ours.len() + 10).min(dump.len())];
            let d = ours.iter().zip(theirs).skip(8).position(|(a, b)| a != b).map(|d| d + 8);
            if let Some(d) = d {
                eprintln!(
                    "ours   {:?}\ntheirs {:?}",
                    &ours[d.saturating_sub(12)..(d + 12).min(ours.len())],
                    &theirs[d.saturating_sub(12)..d + 12]
                );
            }
            panic!(
                "{key} (len {}) differs at {d:?}: ours {} bytes {:?}\ntheirs {:?}",
                v.len(),
                ours.len(),
                &ours[..24.min(ours.len())],
                &theirs[..24]
            );
        }
    }
    assert!(compressed > 50 && raw > 50, "{compressed} compressed, {raw} raw");
}
