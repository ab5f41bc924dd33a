//! Torn writes as a real redis-server 7.0.15 meets them. The lab runs over the simulated machine
//! on the native file system, writes under `appendfsync no`, and crashes with a torn op (the
//! last write only half on disk: a truncated tail) or a torn sequence (some unsynced writes on
//! disk and some not: zeros before valid bytes). Then, on copies of the very files the crash
//! left, the real server and the engine must agree: both start (same `DEBUG DIGEST`) or both
//! refuse with the same message, under `aof-load-truncated yes` and `no`; `redis-check-aof
//! --fix` and `aof-lab check --fix` print the same lines and leave the same bytes; and both
//! servers load the fixed directory to the same digest.

// Native only (real processes and files): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aof_lab::aof::check::{Mode, check};
use aof_lab::lab::Lab;
use aof_lab::storage::{FsStorage, Machine};
use aof_lab::{Config, Engine};
use common::copy_dir;
use common::redis::RedisServer;

const T0: i64 = 1_700_000_000_000;
const MANIFEST: &str = "appendonlydir/appendonly.aof.manifest";

fn config(truncated: &str) -> Config {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", "no", true).unwrap();
    c.set("aof-load-truncated", truncated, true).unwrap();
    c
}

/// A directory holding what `kind` (`torn`, `torn-seq`) left after writes under `no`: the lab
/// over the simulated machine over the real files of the directory.
fn torn_dir(kind: &str, preamble: &str) -> PathBuf {
    let dir = RedisServer::new_dir();
    let mut c = config("no");
    c.set("aof-use-rdb-preamble", preamble, true).unwrap();
    let mut lab = Lab::start(c, Box::new(Machine::over(FsStorage::new(&dir).unwrap()).unwrap()), T0);
    // Some writes made durable by a rewrite (a base), then several turns of unsynced writes.
    lab.execute_line("RPUSH base a b c", T0);
    lab.execute_line("BGREWRITEAOF", T0);
    lab.tick(T0 + 100);
    for (i, line) in ["SET a 1", "HSET h f v", "INCR n", "SADD s x y", "SET b 2"].iter().enumerate() {
        assert!(!lab.execute_line(line, T0 + 200 + i as i64).is_empty());
    }
    // The lab's own restart refuses (aof-load-truncated no), so it leaves the files as the
    // crash left them (with yes, it would truncate the cut tail).
    assert!(!lab.crash(kind, T0 + 1_000).unwrap().started);
    dir
}

/// What a start on a copy of `dir` gives: Ok(digest) or Err(the fatal message).
type Outcome = Result<Vec<u8>, String>;

fn start_real(dir: &Path, truncated: &str) -> Outcome {
    let copy = RedisServer::new_dir();
    copy_dir(dir, &copy);
    match RedisServer::start_in(copy, &["--appendonly", "yes", "--aof-load-truncated", truncated]) {
        Ok(server) => Ok(server.connect().command(&["DEBUG", "DIGEST"]).unwrap()),
        // The fatal line: the last warning of the log, without its pid / time prefix.
        Err(log) => Err(log.lines().filter_map(|l| l.split_once(" # ").map(|(_, m)| m.to_string())).next_back().unwrap_or(log)),
    }
}

fn start_engine(dir: &Path, truncated: &str) -> Outcome {
    let copy = RedisServer::new_dir();
    copy_dir(dir, &copy);
    let out = match Engine::open(config(truncated), Box::new(FsStorage::new(&copy).unwrap()), T0 + 5_000) {
        Ok(mut e) => {
            let c = e.connect();
            Ok(e.execute_line(c, "DEBUG DIGEST", T0 + 5_000).unwrap().to_resp())
        }
        Err(err) => {
            let mut e = *err.engine;
            let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
            Err(err.lines.last().cloned().or_else(|| log.last().cloned()).unwrap_or_default())
        }
    };
    std::fs::remove_dir_all(&copy).ok();
    out
}

/// `redis-check-aof --fix` (answering yes) on a copy; returns (lines, exit code, the incr
/// files' bytes afterwards, the copy).
fn check_real(dir: &Path) -> (Vec<String>, i32, Vec<(String, Vec<u8>)>, PathBuf) {
    let copy = RedisServer::new_dir();
    copy_dir(dir, &copy);
    let mut child = Command::new("redis-check-aof")
        .args(["--fix", MANIFEST])
        .current_dir(&copy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(b"y\n");
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match l.split_once(" # ") {
            Some((prefix, rest)) if prefix.contains(":C ") => rest.to_string(),
            _ => l.to_string(),
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    (lines, out.status.code().unwrap_or(-1), aof_files(&copy), copy)
}

fn check_ours(dir: &Path) -> (Vec<String>, i32, Vec<(String, Vec<u8>)>, PathBuf) {
    let copy = RedisServer::new_dir();
    copy_dir(dir, &copy);
    let mut st = FsStorage::new(&copy).unwrap();
    let r = check(&mut st, MANIFEST, Mode::Fix, &mut |_| true);
    let lines = r.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    (lines, r.exit_code, aof_files(&copy), copy)
}

fn aof_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

fn compare(kind: &str, preamble: &str) {
    let dir = torn_dir(kind, preamble);
    for truncated in ["yes", "no"] {
        let real = start_real(&dir, truncated);
        let ours = start_engine(&dir, truncated);
        assert_eq!(ours, real, "{kind} (preamble {preamble}), aof-load-truncated {truncated}");
        match kind {
            // A hole is never forgiven.
            "torn-seq" => {
                let why = real.unwrap_err();
                assert!(why.starts_with("Bad file format reading the append only file appendonly.aof.2.incr.aof"), "{why}")
            }
            // A cut tail is, with aof-load-truncated yes.
            _ => assert_eq!(real.is_ok(), truncated == "yes", "{kind}: {real:?}"),
        }
    }
    let (r_lines, r_code, r_files, r_dir) = check_real(&dir);
    let (o_lines, o_code, o_files, o_dir) = check_ours(&dir);
    assert_eq!((&o_lines, o_code), (&r_lines, r_code), "{kind}: check --fix output");
    assert_eq!(o_files, r_files, "{kind}: the bytes after --fix");
    // Both servers load the fixed directory to the same dataset.
    let fixed_real = start_real(&r_dir, "no");
    assert!(fixed_real.is_ok(), "{kind}: the fixed directory loads: {fixed_real:?}");
    assert_eq!(start_engine(&o_dir, "no"), fixed_real, "{kind}: the fixed directory");
    for d in [dir, r_dir, o_dir] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn a_torn_sequence_is_refused_by_both_and_fixed_alike() {
    compare("torn-seq", "yes");
    compare("torn-seq", "no");
}

#[test]
fn a_torn_op_is_a_truncated_tail_for_both() {
    compare("torn", "yes");
    compare("torn", "no");
}
