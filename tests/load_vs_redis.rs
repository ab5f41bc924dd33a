//! AOF directories moved between the engine and a real `redis-server` 7.0.15, in both
//! directions, and loading of damaged directories compared with what the real server does.
//! Datasets are compared with `DEBUG DIGEST`.

// Native only (real processes and files): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};

use aof_lab::storage::FsStorage;
use aof_lab::{Config, Engine};
use common::copy_dir;
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Every value type, TTLs, several dbs, MULTI, and commands that propagate rewritten.
const WORKLOAD: &[&str] = &[
    "SET s v",
    "SET n 41",
    "INCR n",
    "INCRBYFLOAT f 1.5",
    "SET ttl v EX 100000",
    "APPEND s more",
    "RPUSH l a b c d",
    "LPOP l",
    "HSET h f1 v1 f2 v2",
    "HINCRBYFLOAT h f3 2.5",
    "SADD s1 a b c",
    "SADD si 3 1 2",
    "ZADD z 1 a 2.5 b 0.1 c",
    "ZINCRBY z 2 a",
    "EXPIRE l 100000",
    "MULTI",
    "SET m1 1",
    "INCR m1",
    "EXEC",
    "SELECT 3",
    "SET db3 x",
    "HSET h3 a 1",
    "SELECT 15",
    "RPUSH q x",
    "SELECT 0",
    "GETDEL s",
    "DEL nokey",
    "XADD st 1-1 a b",
    "XADD st MAXLEN ~ 10 * c d",
    "XGROUP CREATE st g 0",
    "XREADGROUP GROUP g c COUNT 1 STREAMS st >",
    "XGROUP CREATE empty g $ MKSTREAM",
];

fn send_real(conn: &mut RespConn, line: &str) -> Vec<u8> {
    let argv = aof_lab::resp::split_args(line.as_bytes()).unwrap();
    conn.command(&argv).unwrap()
}

fn real_digest(conn: &mut RespConn) -> Vec<u8> {
    send_real(conn, "DEBUG DIGEST")
}

fn engine_digest(e: &mut Engine) -> Vec<u8> {
    let c = e.connect();
    e.execute_line(c, "DEBUG DIGEST", now_ms()).unwrap().to_resp()
}

fn engine_config(extra: &[(&str, &str)]) -> Config {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    for (k, v) in extra {
        c.set(k, v, true).unwrap();
    }
    c
}

#[test]
fn redis_written_directory_loads_in_the_engine() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    for line in WORKLOAD {
        send_real(&mut conn, line);
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    let digest = real_digest(&mut conn);
    let copy = RedisServer::new_dir();
    copy_dir(&server.dir, &copy);
    let mut e = Engine::open(engine_config(&[]), Box::new(FsStorage::new(&copy).unwrap()), now_ms())
        .map_err(|e| e.lines)
        .expect("the engine loads what Redis wrote");
    assert_eq!(String::from_utf8_lossy(&engine_digest(&mut e)), String::from_utf8_lossy(&digest));
    std::fs::remove_dir_all(&copy).ok();
}

#[test]
fn engine_written_directory_loads_in_redis() {
    for preamble in ["yes", "no"] {
        let dir = RedisServer::new_dir();
        let cfg = engine_config(&[("appendfsync", "always"), ("aof-use-rdb-preamble", preamble)]);
        let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        let c = e.connect();
        for line in WORKLOAD {
            let now = now_ms();
            e.execute_line(c, line, now);
            e.before_sleep(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        let digest = engine_digest(&mut e);
        drop(e);
        let server = RedisServer::start_in(dir, &["--appendonly", "yes"]).expect("Redis loads what the engine wrote");
        let mut conn = server.connect();
        assert_eq!(String::from_utf8_lossy(&real_digest(&mut conn)), String::from_utf8_lossy(&digest), "preamble {preamble}");
    }
}

/// What a start on `files` (name → bytes, inside appendonlydir) gives: None if it refused to
/// start, else (digest, size of each file afterwards).
type Outcome = Option<(Vec<u8>, Vec<u64>)>;

fn make_dir(files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = RedisServer::new_dir();
    std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join("appendonlydir").join(name), bytes).unwrap();
    }
    dir
}

fn sizes(dir: &Path, files: &[(&str, Vec<u8>)]) -> Vec<u64> {
    files.iter().map(|(n, _)| std::fs::metadata(dir.join("appendonlydir").join(n)).map(|m| m.len()).unwrap_or(0)).collect()
}

fn start_real(files: &[(&str, Vec<u8>)], truncated: &str) -> Outcome {
    let dir = make_dir(files);
    match RedisServer::start_in(dir.clone(), &["--appendonly", "yes", "--aof-load-truncated", truncated, "--aof-use-rdb-preamble", "no"]) {
        Ok(server) => {
            let mut conn = server.connect();
            Some((real_digest(&mut conn), sizes(&server.dir, files)))
        }
        Err(_) => {
            let s = sizes(&dir, files);
            std::fs::remove_dir_all(&dir).ok();
            let _ = s;
            None
        }
    }
}

fn start_engine(files: &[(&str, Vec<u8>)], truncated: &str) -> Outcome {
    let dir = make_dir(files);
    let cfg = engine_config(&[("aof-load-truncated", truncated), ("aof-use-rdb-preamble", "no")]);
    let out = match Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()) {
        Ok(mut e) => Some((engine_digest(&mut e), sizes(&dir, files))),
        Err(_) => None,
    };
    std::fs::remove_dir_all(&dir).ok();
    out
}

fn resp(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        aof_lab::resp::encode_command(&mut out, &aof_lab::resp::split_args(l.as_bytes()).unwrap());
    }
    out
}

const MANIFEST: &str = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";

fn dir_with_incr(incr: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("appendonly.aof.manifest", MANIFEST.into()),
        ("appendonly.aof.1.base.aof", resp(&["SELECT 0", "SET base 1"])),
        ("appendonly.aof.1.incr.aof", incr),
    ]
}

fn compare(name: &str, files: &[(&str, Vec<u8>)]) -> usize {
    let mut problems = 0;
    for truncated in ["yes", "no"] {
        let real = start_real(files, truncated);
        let ours = start_engine(files, truncated);
        if real != ours {
            problems += 1;
            eprintln!("MISMATCH {name} (aof-load-truncated {truncated}):\n real: {real:?}\n ours: {ours:?}");
        }
    }
    problems
}

#[test]
fn truncated_incr_at_every_byte() {
    let full = resp(&["SELECT 0", "SET a 1", "MULTI", "SET b 2", "INCR b", "EXEC", "SET c 3"]);
    let mut problems = 0;
    for cut in 0..=full.len() {
        problems += compare(&format!("cut at {cut}"), &dir_with_incr(full[..cut].to_vec()));
    }
    assert_eq!(problems, 0, "{problems} differences with redis-server (see stderr)");
}

#[test]
fn damaged_directories() {
    let ok = resp(&["SELECT 0", "SET a 1"]);
    let cases: Vec<(&str, Vec<(&str, Vec<u8>)>)> = vec![
        ("garbage line", dir_with_incr([ok.clone(), b"GARBAGE\r\n".to_vec(), resp(&["SET z 1"])].concat())),
        ("unknown command", dir_with_incr([ok.clone(), resp(&["FOOBAR x"])].concat())),
        ("annotations", dir_with_incr([b"#TS:1700000000\r\n".to_vec(), ok.clone(), b"# any comment\r\n".to_vec()].concat())),
        ("unfinished multi", dir_with_incr([ok.clone(), resp(&["MULTI", "SET b 2"])].concat())),
        // The loader queues a MULTI or WATCH met inside a transaction; EXEC then runs them as
        // inside MULTI (errors), and the commands after EXEC are not queued.
        ("nested multi", dir_with_incr([ok.clone(), resp(&["MULTI", "MULTI", "SET b 2", "EXEC", "SET z 3"])].concat())),
        // `atoi` of the count: negative as a C int, so a format error rather than a short read.
        ("count of 2^31 at the end", dir_with_incr([ok.clone(), b"*2147483648\r\n$3\r\nGET\r\n".to_vec()].concat())),
        (
            "count past LONG_MAX at the end",
            dir_with_incr([ok.clone(), [b"*".to_vec(), vec![b'1'; 200], b"\r\n".to_vec()].concat()].concat()),
        ),
        ("count of 2^31 - 1 at the end", dir_with_incr([ok.clone(), b"*2147483647\r\n$3\r\nGET\r\n".to_vec()].concat())),
        ("watch in multi", dir_with_incr([ok.clone(), resp(&["MULTI", "WATCH a", "SET b 2", "EXEC", "SET z 3"])].concat())),
        ("missing base", vec![("appendonly.aof.manifest", MANIFEST.into()), ("appendonly.aof.1.incr.aof", ok.clone())]),
        (
            "empty files",
            dir_with_incr(Vec::new()).into_iter().map(|(n, b)| if n.ends_with(".aof") { (n, Vec::new()) } else { (n, b) }).collect(),
        ),
        (
            "truncated non-last file",
            vec![
                (
                    "appendonly.aof.manifest",
                    "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n".into(),
                ),
                ("appendonly.aof.1.incr.aof", [ok.clone(), b"*2\r\n$3\r\nGE".to_vec()].concat()),
                ("appendonly.aof.2.incr.aof", resp(&["SET later 1"])),
            ],
        ),
        ("bad manifest", vec![("appendonly.aof.manifest", "file a seq 1 type x\n".into())]),
    ];
    let mut problems = 0;
    for (name, files) in &cases {
        problems += compare(name, files);
    }
    assert_eq!(problems, 0, "{problems} differences with redis-server (see stderr)");
}
