//! HyperLogLogs, geo sets and bitmaps moving between a real redis-server 7.0.15 and the engine.
//! Redis's `dump.rdb`, its AOF directory (before a rewrite: the commands; after: an RDB-preamble
//! base; with `aof-use-rdb-preamble no`: a RESP base) all load in the engine with Redis's
//! `DEBUG DIGEST`, the same HLL bytes (GET) and the same PFCOUNT / GEO* answers; the engine's
//! RDB loads in Redis likewise, and its records of the HLL strings are byte for byte Redis's.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::keyspace::Db;
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::rdb::{read_rdb, write_rdb};
use aof_lab::{Config, Engine};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// HLLs sparse and dense (promoted by size, by a register above 32, by PFDEBUG, by PFMERGE),
/// with and without a valid cached cardinality; geo sets as listpack and skiplist, and their
/// STORE results; bitmaps from BITFIELD and BITOP; a second database.
fn workload() -> Vec<Vec<String>> {
    let mut w: Vec<Vec<String>> = [
        "PFADD hs a b c",
        "PFADD hcached x y z",
        "PFCOUNT hcached",
        "PFADD h35 e2119568080",
        "PFADD hd2 p q r",
        "PFDEBUG TODENSE hd2",
        "GEOADD sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 14.5 37.5 Messina",
        "BITFIELD bf SET i8 0 -100 SET u5 13 17 INCRBY i64 64 -5",
        "SET b1 abcdefgh",
        "BITOP XOR bx b1 bf",
        "SELECT 2",
        "PFADD hdb2 one two",
        "SELECT 0",
    ]
    .iter()
    .map(|l| words(l))
    .collect();
    let mut big = words("PFADD hdense");
    big.extend((0..3000).map(|i| format!("el{i}")));
    w.push(big);
    let mut mid = words("PFADD hmid");
    mid.extend((0..400).map(|i| format!("m{i}")));
    w.push(mid);
    w.push(words("PFMERGE hm hs hmid"));
    w.push(words("PFMERGE hmd hs hdense"));
    let mut geo = words("GEOADD europe");
    for i in 0..200 {
        let (lon, lat) = (-10.0 + f64::from(i * 37 % 200) / 10.0, 40.0 + f64::from(i * 53 % 150) / 10.0);
        geo.extend([format!("{lon:.4}"), format!("{lat:.4}"), format!("city{i}")]);
    }
    w.push(geo);
    w.push(words("GEORADIUS europe 2 48 500 km STORE near COUNT 20"));
    w.push(words("GEOSEARCHSTORE neardist europe FROMLONLAT 2 48 BYBOX 900 900 km STOREDIST"));
    w
}

const HLL_KEYS: [&str; 8] = ["hs", "hcached", "h35", "hd2", "hdense", "hmid", "hm", "hmd"];

fn run_on_redis(conn: &mut RespConn) {
    for argv in workload() {
        let r = conn.command(&argv).unwrap();
        assert!(!r.starts_with(b"-"), "{argv:?}: {}", String::from_utf8_lossy(&r));
    }
}

fn engine_with_workload() -> Engine {
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    for argv in workload() {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let r = e.execute(c, &refs, now_ms()).map(|r| r.to_resp()).unwrap_or_default();
        assert!(!r.starts_with(b"-"), "{argv:?}: {}", String::from_utf8_lossy(&r));
    }
    e
}

fn digest_of(dbs: &[Db]) -> String {
    format!("+{}\r\n", hex(&dataset_digest(dbs)))
}

fn fresh_dbs() -> Vec<Db> {
    (0..16).map(Db::new).collect()
}

/// The questions both sides must answer alike (PFCOUNT of one key writes its cache back: the
/// values must still be equal after).
fn questions() -> Vec<String> {
    let mut q: Vec<String> = HLL_KEYS.iter().flat_map(|k| [format!("GET {k}"), format!("PFCOUNT {k}"), format!("GET {k}")]).collect();
    q.extend(
        [
            "PFCOUNT hs hdense hmid h35",
            "PFDEBUG ENCODING hs",
            "PFDEBUG ENCODING hdense",
            "PFDEBUG DECODE hmid",
            "GEOPOS sicily Palermo Catania Messina",
            "GEODIST sicily Palermo Catania km",
            "GEOHASH sicily Palermo Catania",
            "GEORADIUS europe 2 48 700 km WITHDIST WITHCOORD WITHHASH ASC",
            "GEOSEARCH europe FROMMEMBER city7 BYBOX 400 300 km WITHDIST COUNT 5",
            "ZRANGE near 0 -1 WITHSCORES",
            "ZRANGE neardist 0 -1 WITHSCORES",
            "BITFIELD_RO bf GET i8 0 GET u5 13 GET i64 64",
            "GET bx",
        ]
        .map(String::from),
    );
    q
}

fn answers_of_redis(conn: &mut RespConn) -> Vec<String> {
    questions().iter().map(|q| String::from_utf8_lossy(&conn.command(&words(q)).unwrap()).into_owned()).collect()
}

fn answers_of_engine(e: &mut Engine) -> Vec<String> {
    let c = e.connect();
    questions().iter().map(|q| String::from_utf8_lossy(&e.execute_line(c, q, now_ms()).unwrap().to_resp()).into_owned()).collect()
}

/// Loads a copy of a server's AOF directory in an engine.
fn engine_from_aof_dir(server: &RedisServer) -> Engine {
    let copy = RedisServer::new_dir();
    std::fs::create_dir_all(copy.join("appendonlydir")).unwrap();
    for entry in std::fs::read_dir(server.aof_dir()).unwrap().flatten() {
        let _ = std::fs::copy(entry.path(), copy.join("appendonlydir").join(entry.file_name()));
    }
    let mut cfg = Config::default();
    cfg.set("appendonly", "yes", true).unwrap();
    let e = Engine::open(cfg, Box::new(aof_lab::storage::FsStorage::new(&copy).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    std::fs::remove_dir_all(&copy).ok();
    e
}

fn assert_same_answers(redis: &[String], engine: &[String], what: &str) {
    for ((q, r), e) in questions().iter().zip(redis).zip(engine) {
        assert_eq!(r, e, "{what}: {q}");
    }
}

#[test]
fn redis_files_load_in_the_engine() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    run_on_redis(&mut conn);
    let want = String::from_utf8_lossy(&conn.command(&["DEBUG", "DIGEST"]).unwrap()).into_owned();

    // 1. The AOF as written command by command: PFADD, PFCOUNT, PFDEBUG, PFMERGE, the ZADDs of
    //    GEOADD, the STOREs, BITFIELD, BITOP replayed by the engine.
    let mut e = engine_from_aof_dir(&server);
    assert_eq!(digest_of(&e.srv.dbs), want, "AOF of commands");

    // 2. dump.rdb.
    assert_eq!(conn.command(&["SAVE"]).unwrap(), b"+OK\r\n");
    let dump = std::fs::read(server.dir.join("dump.rdb")).unwrap();
    let mut dbs = fresh_dbs();
    read_rdb(&dump, &mut dbs).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(digest_of(&dbs), want, "dump.rdb");
    // The engine writes the same records for these strings, LZF included. (Its sorted sets are
    // written as plain ZSET_2, which Redis turns back into listpacks on load: see rdb/write.rs.)
    let ours = write_rdb(&dbs, 1_800_000_000, 1_000_000, true);
    for key in HLL_KEYS.iter().chain(&["bf", "bx"]) {
        let mut record = vec![];
        let value = dbs[0].get(key.as_bytes()).unwrap();
        let mut one = fresh_dbs();
        one[0].insert(key.as_bytes().to_vec(), value.clone());
        let single = write_rdb(&one, 1_800_000_000, 1_000_000, true);
        // The record is what lies between the db selector and the EOF opcode.
        let start = single.windows(2).position(|w| w == [0xFE, 0x00]).unwrap() + 2;
        let start = start + if single[start] == 0xFB { 3 } else { 0 };
        record.extend_from_slice(&single[start..single.len() - 9]);
        assert!(dump.windows(record.len()).any(|w| w == record.as_slice()), "{key}: the engine's RDB record differs from Redis's");
        assert!(ours.windows(record.len()).any(|w| w == record.as_slice()));
    }

    // 3. After BGREWRITEAOF: an RDB-preamble base.
    conn.command(&["BGREWRITEAOF"]).unwrap();
    conn.wait_rewrite();
    let mut e2 = engine_from_aof_dir(&server);
    assert_eq!(digest_of(&e2.srv.dbs), want, "RDB-preamble AOF");

    // 4. A RESP base (rewriteAppendOnlyFile's SETs and ZADDs).
    conn.command(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]).unwrap();
    conn.command(&["BGREWRITEAOF"]).unwrap();
    conn.wait_rewrite();
    let mut e3 = engine_from_aof_dir(&server);
    assert_eq!(digest_of(&e3.srv.dbs), want, "RESP AOF");

    // The same answers everywhere, including PFCOUNT writing its cache back.
    let redis = answers_of_redis(&mut conn);
    assert_same_answers(&redis, &answers_of_engine(&mut e), "from the AOF of commands");
    assert_same_answers(&redis, &answers_of_engine(&mut e2), "from the RDB-preamble AOF");
    assert_same_answers(&redis, &answers_of_engine(&mut e3), "from the RESP AOF");
    let after = String::from_utf8_lossy(&conn.command(&["DEBUG", "DIGEST"]).unwrap()).into_owned();
    assert_ne!(after, want, "PFCOUNT wrote caches back");
    assert_eq!(digest_of(&e.srv.dbs), after);
}

#[test]
fn engine_rdb_loads_in_redis() {
    let mut e = engine_with_workload();
    let want = digest_of(&e.srv.dbs);
    // The engine computed the same data as Redis does from the same commands.
    let reference = RedisServer::start();
    let mut conn = reference.connect();
    run_on_redis(&mut conn);
    assert_eq!(String::from_utf8_lossy(&conn.command(&["DEBUG", "DIGEST"]).unwrap()), want);

    let dir = RedisServer::new_dir();
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.base.rdb"), write_rdb(&e.srv.dbs, 1_800_000_000, 1_000_000, true)).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), b"").unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let server = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis loads the engine's RDB");
    let mut loaded = server.connect();
    assert_eq!(String::from_utf8_lossy(&loaded.command(&["DEBUG", "DIGEST"]).unwrap()), want);
    for key in ["europe", "sicily", "near", "hdense"] {
        let real = loaded.command(&["OBJECT", "ENCODING", key]).unwrap();
        let v = e.srv.dbs[0].get(key.as_bytes()).unwrap();
        assert_eq!(String::from_utf8_lossy(&real), format!("${}\r\n{}\r\n", v.encoding().len(), v.encoding()), "{key}");
    }
    let redis = answers_of_redis(&mut loaded);
    assert_same_answers(&redis, &answers_of_engine(&mut e), "the engine's RDB in Redis");
}

/// Whether the last opcode of a sparse HLL is an XZERO whose second byte lies past the end.
fn ends_in_a_cut_xzero(hll: &[u8]) -> bool {
    let mut p = 16;
    while p < hll.len() {
        p += if hll[p] & 0xc0 == 0x40 { 2 } else { 1 };
    }
    p > hll.len()
}

/// Damaged sparse HyperLogLogs (Redis's own test "Fuzzing dense/sparse encoding: Redis should
/// always detect errors", made differential): valid sparse strings with bytes replaced, cut or
/// appended go through PFADD, PFCOUNT, GET, PFDEBUG and PFMERGE on both sides; every reply must
/// be the same, and the engine must not panic. Strings cut inside their last XZERO are left out:
/// Redis reads the byte after the string there (see `src/cmd/hll/repr.rs`).
#[test]
fn damaged_sparse_hlls_answer_like_redis() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    let mut rng = fastrand::Rng::with_seed(0x411);
    for round in 0..400 {
        // A valid sparse HLL of a few elements, from Redis.
        conn.command(&["DEL", "src"]).unwrap();
        let mut add = vec!["PFADD".to_string(), "src".into()];
        add.extend((0..rng.usize(0..40)).map(|i| format!("r{round}-{i}")));
        conn.command(&add).unwrap();
        let bulk = conn.command(&["GET", "src"]).unwrap();
        let start = bulk.iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut hll = bulk[start..bulk.len() - 2].to_vec();
        match rng.u32(0..4) {
            0 => {
                for _ in 0..rng.usize(1..4) {
                    let i = rng.usize(16..hll.len());
                    hll[i] = rng.u8(..);
                }
            }
            1 => hll.truncate(rng.usize(16..hll.len())),
            2 => hll.extend((0..rng.usize(1..4)).map(|_| rng.u8(..))),
            _ => {
                let i = rng.usize(16..hll.len());
                hll.insert(i, rng.u8(..));
            }
        }
        if ends_in_a_cut_xzero(&hll) {
            continue; // see `src/cmd/hll/repr.rs`: Redis reads its sds terminator there
        }
        let set: Vec<&[u8]> = vec![b"SET", b"k", &hll];
        conn.command(&set).unwrap();
        e.execute(c, &set, now_ms());
        let lines = [
            "PFADD k a b c d e f g h i j".to_string(),
            format!("PFADD k r{round}-x r{round}-y"),
            "GET k".into(),
            "PFCOUNT k".into(),
            "PFCOUNT k nokey".into(),
            "PFDEBUG DECODE k".into(),
            "PFMERGE d k".into(),
            "GET d".into(),
            "PFDEBUG TODENSE k".into(),
            "GET k".into(),
            "DEL d".into(),
        ];
        for line in &lines {
            let real = conn.command(&words(line)).unwrap();
            let ours = e.execute_line(c, line, now_ms()).unwrap().to_resp();
            assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&real), "round {round}, {line}, after SET k {:02x?}", hll);
        }
    }
}

/// The commands of `tests/fixtures/bitsgeo_golden.txt`: distances, searches and positions over
/// points all around the globe (the trigonometry of `geohashGetDistance` and of the bounding
/// boxes), HLL counts up to the dense encoding (the square roots of Ertl's estimator), bitfields.
fn golden_commands() -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(20_700);
    let mut out = Vec::new();
    let coord = |rng: &mut fastrand::Rng| (rng.f64() * 360.0 - 180.0, rng.f64() * 170.0 - 85.0);
    for chunk in 0..4 {
        let mut line = "GEOADD w".to_string();
        for i in chunk * 50..chunk * 50 + 50 {
            let (lon, lat) = coord(&mut rng);
            line.push_str(&format!(" {lon:.6} {lat:.6} p{i}"));
        }
        out.push(line);
    }
    for _ in 0..150 {
        let (a, b) = (rng.u32(0..200), rng.u32(0..200));
        out.push(format!("GEODIST w p{a} p{b} {}", ["m", "km", "mi", "ft"][rng.usize(0..4)]));
    }
    for _ in 0..40 {
        let (lon, lat) = coord(&mut rng);
        out.push(format!("GEORADIUS w {lon:.4} {lat:.4} {} km WITHDIST WITHCOORD WITHHASH ASC COUNT 8", rng.u32(100..9000)));
    }
    for _ in 0..20 {
        out.push(format!(
            "GEOSEARCH w FROMMEMBER p{} BYBOX {} {} km WITHDIST DESC",
            rng.u32(0..200),
            rng.u32(100..8000),
            rng.u32(100..8000)
        ));
    }
    out.push(format!("GEOPOS w {}", (0..60).map(|i| format!("p{i}")).collect::<Vec<_>>().join(" ")));
    out.push(format!("GEOHASH w {}", (0..60).map(|i| format!("p{i}")).collect::<Vec<_>>().join(" ")));
    for chunk in 0..30 {
        out.push(format!("PFADD h {}", (chunk * 100..chunk * 100 + 100).map(|i| format!("e{i}")).collect::<Vec<_>>().join(" ")));
        out.push("PFCOUNT h".into());
        out.push(format!("PFADD h{} {}", chunk % 3, (0..chunk * 7).map(|i| format!("x{chunk}-{i}")).collect::<Vec<_>>().join(" ")));
        out.push("PFCOUNT h h0 h1 h2".into());
    }
    out.push("GET h".into());
    out.push("PFMERGE hm h h0 h1 h2".into());
    out.push("BITFIELD b SET i13 3 -1000 INCRBY u7 20 300 OVERFLOW SAT INCRBY i9 #5 -999 GET i64 0 GET u63 1".into());
    out.push("BITPOS b 1 2 40 BIT".into());
    out
}

/// `tests/fixtures/bitsgeo_golden.txt` holds what redis-server 7.0.15 answers to
/// [`golden_commands`], one `command<TAB>reply as hex` per line: the browser tests
/// (`tests/wasm_cases/bitsgeo.rs`) replay it in wasm, where `sin`, `cos` and `asin` are not
/// glibc's. Here it is checked against a real server and the native engine;
/// `AOF_LAB_REGENERATE=1` rewrites it.
#[test]
fn golden_fixture_matches_the_real_server() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    let mut e = Engine::new(Config::default(), now_ms());
    let c = e.connect();
    let mut text = String::new();
    for line in golden_commands() {
        let real = conn.command(&words(&line)).unwrap();
        let ours = e.execute_line(c, &line, now_ms()).unwrap().to_resp();
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&real), "{line}");
        let hex: String = real.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("{line}\t{hex}\n"));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bitsgeo_golden.txt");
    if std::env::var_os("AOF_LAB_REGENERATE").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    assert!(std::fs::read_to_string(path).unwrap_or_default() == text, "bitsgeo_golden.txt is stale: AOF_LAB_REGENERATE=1 rewrites it");
}
