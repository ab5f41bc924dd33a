//! The lab's export and import (`src/archive.rs`) against a real `redis-server` 7.0.15 and the
//! system's `tar`: an exported archive, extracted by `tar -xf`, loads in Redis with the same
//! `DEBUG DIGEST`; a directory Redis wrote, archived by `tar -cf`, imports into the simulated
//! disk and loads in the engine with the same digest.

// Native only (real processes and files): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use aof_lab::archive;
use aof_lab::storage::MemoryStorage;
use aof_lab::{Config, Engine};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

const WORKLOAD: &[&str] = &[
    "SET s v",
    "INCRBYFLOAT f 1.5",
    "SET ttl v EX 100000",
    "RPUSH l a b c d",
    "HSET h f1 v1 f2 v2",
    "SADD s1 a b c",
    "ZADD z 1 a 2.5 b",
    "MULTI",
    "SET m1 1",
    "INCR m1",
    "EXEC",
    "SELECT 3",
    "SET db3 x",
    "SELECT 0",
];

/// Written after a rewrite, so that the directory has a base, an incr and a manifest.
const AFTER_REWRITE: &[&str] = &["SET after rewrite", "LPUSH l z", "DEL s"];

fn send_real(conn: &mut RespConn, line: &str) -> Vec<u8> {
    let argv = aof_lab::resp::split_args(line.as_bytes()).unwrap();
    conn.command(&argv).unwrap()
}

fn engine_digest(e: &mut Engine) -> String {
    let c = e.connect();
    String::from_utf8_lossy(&e.execute_line(c, "DEBUG DIGEST", now_ms()).unwrap().to_resp()).into_owned()
}

fn config(preamble: &str) -> Config {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", "always", true).unwrap();
    c.set("aof-use-rdb-preamble", preamble, true).unwrap();
    c
}

fn run_tar(args: &[&str], dir: &std::path::Path) {
    let status = Command::new("tar").args(args).current_dir(dir).status().expect("run tar");
    assert!(status.success(), "tar {args:?} failed");
}

fn rewrite_until_done(e: &mut Engine, c: u64) {
    let mut now = now_ms();
    assert_eq!(e.execute_line(c, "BGREWRITEAOF", now).unwrap().to_string(), "Background append only file rewriting started");
    for _ in 0..10_000 {
        now += 100;
        e.cron(now);
        e.before_sleep(now);
        if e.srv.aof.child.is_none() && !e.srv.aof.rewrite_scheduled {
            return;
        }
    }
    panic!("the rewrite did not finish");
}

#[test]
fn exported_archive_loads_in_redis_with_the_same_digest() {
    for preamble in ["yes", "no"] {
        let mut e = Engine::open(config(preamble), Box::new(MemoryStorage::new()), now_ms()).map_err(|e| e.lines).unwrap();
        let c = e.connect();
        for line in WORKLOAD {
            e.execute_line(c, line, now_ms());
            e.before_sleep(now_ms());
        }
        rewrite_until_done(&mut e, c);
        for line in AFTER_REWRITE {
            e.execute_line(c, line, now_ms());
            e.before_sleep(now_ms());
        }
        let digest = engine_digest(&mut e);
        let tar = archive::export_aof_dir(e.srv.storage.as_mut(), "appendonlydir", (now_ms() / 1000) as u64).unwrap();
        let names: Vec<String> = archive::read(&tar).unwrap().into_iter().map(|x| x.path).collect();
        assert!(names.iter().any(|n| n.contains(".base.")), "{names:?}");

        let dir = RedisServer::new_dir();
        std::fs::write(dir.join("export.tar"), &tar).unwrap();
        run_tar(&["-xf", "export.tar"], &dir);
        std::fs::remove_file(dir.join("export.tar")).unwrap();
        let server = RedisServer::start_in(dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble])
            .expect("redis-server loads the extracted archive");
        let mut conn = server.connect();
        let real = String::from_utf8_lossy(&send_real(&mut conn, "DEBUG DIGEST")).into_owned();
        assert_eq!(real, digest, "preamble {preamble}");
        assert_eq!(send_real(&mut conn, "GET after"), b"$7\r\nrewrite\r\n");
    }
}

#[test]
fn redis_directory_archived_by_tar_imports_with_the_same_digest() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    for line in WORKLOAD {
        send_real(&mut conn, line);
    }
    send_real(&mut conn, "BGREWRITEAOF");
    // Wait for the rewrite: INFO persistence says aof_rewrite_in_progress:0 and the base exists.
    for _ in 0..500 {
        let info = String::from_utf8_lossy(&send_real(&mut conn, "INFO persistence")).into_owned();
        if info.contains("aof_rewrite_in_progress:0")
            && info.contains("aof_rewrite_scheduled:0")
            && info.contains("aof_last_bgrewrite_status:ok")
        {
            let has_base =
                std::fs::read_dir(server.aof_dir()).unwrap().flatten().any(|f| f.file_name().to_string_lossy().contains(".base."));
            if has_base {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for line in AFTER_REWRITE {
        send_real(&mut conn, line);
    }
    let digest = String::from_utf8_lossy(&send_real(&mut conn, "DEBUG DIGEST")).into_owned();
    let out = RedisServer::new_dir();
    let tar_path = out.join("redis.tar");
    run_tar(&["-cf", tar_path.to_str().unwrap(), "appendonlydir"], &server.dir);
    let tar = std::fs::read(&tar_path).unwrap();
    std::fs::remove_dir_all(&out).ok();

    let mut storage = MemoryStorage::new();
    let written = archive::import_archive(&mut storage, &tar, "appendonlydir").unwrap();
    assert!(written.iter().any(|n| n.ends_with(".manifest")), "{written:?}");
    // What was imported is on the simulated disk: a power loss right after keeps it.
    storage.power_loss();
    let mut e = Engine::open(config("yes"), Box::new(storage), now_ms()).map_err(|e| e.lines).expect("the engine loads the import");
    assert_eq!(engine_digest(&mut e), digest);
}

#[test]
fn old_single_appendonly_aof_imports_and_is_upgraded() {
    let aof = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec();
    let mut storage = MemoryStorage::new();
    let written = archive::import_files(&mut storage, &[("appendonly.aof".into(), aof)], "appendonlydir").unwrap();
    assert_eq!(written, ["appendonly.aof"]);
    let mut e = Engine::open(config("yes"), Box::new(storage), now_ms()).map_err(|e| e.lines).unwrap();
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.iter().any(|l| l.contains("Successfully migrated an old-style AOF")), "{log:?}");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "GET k", now_ms()).unwrap().to_resp(), b"$1\r\nv\r\n");
    assert!(e.srv.storage.list(Some("appendonlydir")).unwrap().iter().any(|n| n.ends_with(".manifest")));
}
