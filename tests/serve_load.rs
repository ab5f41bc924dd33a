//! `aof-lab serve` under load, and `kill -9` in the middle of it.
//!
//! **Acknowledged writes survive** (`acknowledged_writes_survive_kill_9_under_load`): many client
//! threads, each on its own connection, pipeline batches of `RPUSH list:<c> <seq>` and
//! `INCR counter:<c>` under `appendfsync always`, and record every reply they receive. The server
//! is killed with SIGKILL mid-load, restarted on the same directory, and for every client:
//! - `list:<c>` is exactly `0, 1, …, k-1` (in order, no gap, no duplicate: the AOF is a prefix of
//!   what was executed), with `k` ≥ the highest acknowledged RPUSH reply (nothing acknowledged is
//!   lost) and `k` ≤ what was sent (nothing invented); only the in-flight window may be missing;
//! - `counter:<c>` lies between the highest acknowledged INCR reply and the number sent.
//!
//! Then the clients continue where the restarted data ends, and the cycle repeats; every third
//! cycle runs under `everysec` or `no` instead, where a process kill must not lose anything
//! acknowledged either (the data is in the kernel before the reply leaves). Short mode: 3 kills
//! (always, always, everysec). Long mode: `AOF_LAB_SOAK_LOAD_SECS=<s> cargo test --release --test serve_load -- --nocapture`
//! repeats load+kill cycles for `s` seconds and prints
//! `SOAK load: <ops> acknowledged writes over <s> s, <n> kills, <v> lost`.
//!
//! **redis-benchmark smoke** (`redis_benchmark_50_clients_pipelined`): `-c 50 -P 16` against
//! serve under `appendfsync always`; the counters it leaves must equal the request counts, before
//! and after a `kill -9` + restart.
#![cfg(unix)]

mod common;
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aof_lab::Reply;
use aof_lab::resp::{encode_command, parse_reply};
use common::redis::RespConn;
use serve_support::{Serve, temp_dir};

const CLIENTS: usize = 12;
/// Commands per pipelined batch (half RPUSH, half INCR).
const PIPELINE: usize = 16;

/// One load client's progress, carried across kills.
#[derive(Clone, Debug, Default)]
struct Progress {
    /// Next RPUSH value (= elements the list holds before this cycle's pushes).
    next_seq: u64,
    /// RPUSHes sent / acknowledged in total, counted as list lengths.
    sent_len: u64,
    acked_len: u64,
    /// INCRs: the counter's value at the start of the cycle, sent and highest acknowledged.
    sent_incr: u64,
    acked_incr: u64,
    /// Replies received in this run (all cycles).
    acked_ops: u64,
}

/// A reader of pipelined replies.
struct Replies {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Replies {
    fn next(&mut self) -> Option<Reply> {
        let mut chunk = [0u8; 16384];
        loop {
            if let Ok(Some((r, used))) = parse_reply(&self.buf) {
                self.buf.drain(..used);
                return Some(r);
            }
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// Pipelines batches until the connection breaks (the kill) or `stop` is set.
fn load_client(port: u16, c: usize, mut p: Progress, stop: Arc<AtomicBool>) -> Progress {
    let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else { return p };
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(reader) = s.try_clone() else { return p };
    let mut writer = s;
    let mut replies = Replies { s: reader, buf: Vec::new() };
    let (list, counter) = (format!("list:{c}"), format!("counter:{c}"));
    while !stop.load(Ordering::Relaxed) {
        let mut out = Vec::new();
        for i in 0..PIPELINE {
            if i % 2 == 0 {
                encode_command(&mut out, &["RPUSH", &list, &(p.next_seq + i as u64 / 2).to_string()]);
            } else {
                encode_command(&mut out, &["INCR", &counter]);
            }
        }
        // Counted as sent before the write: a command may be executed even if the write fails.
        p.sent_len += PIPELINE as u64 / 2;
        p.sent_incr += PIPELINE as u64 / 2;
        p.next_seq += PIPELINE as u64 / 2;
        if writer.write_all(&out).is_err() {
            return p;
        }
        for i in 0..PIPELINE {
            let Some(r) = replies.next() else { return p };
            let Reply::Int(n) = r else {
                panic!("client {c}: unexpected reply {r:?}");
            };
            let n = n as u64;
            if i % 2 == 0 {
                p.acked_len = p.acked_len.max(n);
            } else {
                p.acked_incr = p.acked_incr.max(n);
            }
            p.acked_ops += 1;
        }
    }
    p
}

/// Checks one client's data after a restart; returns a description of what was lost or wrong,
/// and updates the progress to continue from the restarted data.
fn verify(conn: &mut RespConn, c: usize, p: &mut Progress) -> Option<String> {
    let raw = conn.command(&["LRANGE", &format!("list:{c}"), "0", "-1"]).expect("LRANGE");
    let Ok(Some((Reply::Array(items), _))) = parse_reply(&raw) else { return Some(format!("client {c}: LRANGE reply {raw:?}")) };
    let k = items.len() as u64;
    for (i, item) in items.iter().enumerate() {
        if *item != Reply::Bulk(i.to_string().into_bytes()) {
            return Some(format!("client {c}: list:{c}[{i}] is {item:?}, not {i} (not a prefix of the executed pushes)"));
        }
    }
    let raw = conn.command(&["GET", &format!("counter:{c}")]).expect("GET");
    let value: u64 = match parse_reply(&raw) {
        Ok(Some((Reply::Bulk(b), _))) => String::from_utf8_lossy(&b).parse().unwrap_or(u64::MAX),
        Ok(Some((Reply::Nil, _))) => 0,
        _ => u64::MAX,
    };
    let mut problems = Vec::new();
    if k < p.acked_len {
        problems.push(format!("list:{c} has {k} elements but RPUSH acknowledged {} (lost {})", p.acked_len, p.acked_len - k));
    }
    if k > p.sent_len {
        problems.push(format!("list:{c} has {k} elements, more than the {} sent", p.sent_len));
    }
    if value < p.acked_incr || value > p.sent_incr {
        problems.push(format!("counter:{c} is {value}, outside [{} acknowledged, {} sent]", p.acked_incr, p.sent_incr));
    }
    // Continue from what the restarted server holds.
    p.next_seq = k;
    p.sent_len = k;
    p.acked_len = k;
    p.sent_incr = value;
    p.acked_incr = value;
    if problems.is_empty() { None } else { Some(format!("client {c}: {}", problems.join("; "))) }
}

struct LoadResult {
    acked_ops: u64,
    kills: usize,
    violations: Vec<String>,
}

/// Load+kill cycles until `duration` has passed (at least `min_kills` kills).
/// The fsync policy of the n-th cycle: mostly `always`, and every third cycle `everysec` or
/// `no`, which a *process* kill must not make lose anything acknowledged either (the write to the
/// kernel happens in beforeSleep, before any reply of the turn is sent).
fn policy(cycle: usize) -> &'static str {
    match cycle % 6 {
        2 => "everysec",
        5 => "no",
        _ => "always",
    }
}

fn serve_args(cycle: usize) -> [&'static str; 4] {
    ["--appendonly", "yes", "--appendfsync", policy(cycle)]
}

fn load_and_kill(duration: Duration, min_kills: usize, cycle_ms: std::ops::Range<u64>) -> LoadResult {
    let dir = temp_dir("load");
    let mut progress: Vec<Progress> = vec![Progress::default(); CLIENTS];
    let mut rng = fastrand::Rng::with_seed(6);
    let (mut kills, mut violations) = (0, Vec::new());
    let started = Instant::now();
    let mut srv = Serve::start_in(dir.clone(), &serve_args(0));
    srv.keep_dir = true;
    while kills < min_kills || started.elapsed() < duration {
        let stop = Arc::new(AtomicBool::new(false));
        let port = srv.port;
        let handles: Vec<_> = progress
            .iter()
            .cloned()
            .enumerate()
            .map(|(c, p)| {
                let stop = stop.clone();
                std::thread::spawn(move || load_client(port, c, p, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.u64(cycle_ms.clone())));
        srv.kill9();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for (c, h) in handles.into_iter().enumerate() {
            progress[c] = h.join().unwrap_or_else(|_| panic!("load client {c} panicked"));
        }
        // Restart on the same directory (the old value must not remove it).
        let killed_policy = policy(kills - 1);
        let next = Serve::start_in(dir.clone(), &serve_args(kills));
        drop(std::mem::replace(&mut srv, next));
        srv.keep_dir = true;
        let mut conn = srv.connect();
        for (c, p) in progress.iter_mut().enumerate() {
            if let Some(v) = verify(&mut conn, c, p) {
                violations.push(format!("kill #{kills} (appendfsync {killed_policy}): {v}"));
            }
        }
    }
    srv.keep_dir = false;
    LoadResult { acked_ops: progress.iter().map(|p| p.acked_ops).sum(), kills, violations }
}

#[test]
fn acknowledged_writes_survive_kill_9_under_load() {
    let long: Option<u64> = std::env::var("AOF_LAB_SOAK_LOAD_SECS").ok().and_then(|s| s.parse().ok()).filter(|&s| s > 0);
    let (duration, min_kills, cycle) = match long {
        Some(s) => (Duration::from_secs(s), 1, 1000..4000),
        None => (Duration::ZERO, 3, 300..700),
    };
    let started = Instant::now();
    let r = load_and_kill(duration, min_kills, cycle);
    for v in &r.violations {
        println!("{v}");
    }
    let secs = started.elapsed().as_secs();
    if long.is_some() {
        println!("SOAK load: {} acknowledged writes over {secs} s, {} kills, {} lost", r.acked_ops, r.kills, r.violations.len());
    } else {
        println!("load: {} acknowledged writes, {} kills, {} lost", r.acked_ops, r.kills, r.violations.len());
    }
    assert!(r.acked_ops > 1000, "the load barely ran: {} acknowledged writes", r.acked_ops);
    assert!(r.violations.is_empty(), "{} violations (listed above)", r.violations.len());
}

fn benchmark(port: u16, tests: &str, requests: usize) -> String {
    let port = port.to_string();
    let n = requests.to_string();
    let out = Command::new("redis-benchmark")
        .args(["-p", &port, "-q", "-c", "50", "-P", "16", "-n", &n, "-t", tests])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("`redis-benchmark` is required for this test (install redis-tools): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "redis-benchmark failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("rror"), "errors in redis-benchmark: {text}");
    text
}

#[test]
fn redis_benchmark_50_clients_pipelined() {
    const N: usize = 20_000;
    let dir = temp_dir("bench");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut srv = Serve::start_in(dir.clone(), &args);
    srv.keep_dir = true;
    let text = benchmark(srv.port, "set,get,incr,lpush,rpush,sadd,hset,zadd", N);
    for name in ["SET", "GET", "INCR", "LPUSH", "RPUSH", "SADD", "HSET", "ZADD"] {
        assert!(text.contains(&format!("{name}: ")), "no {name} result: {text}");
    }
    // Without -r every INCR hits one key and every push one list: the totals are exact.
    let expect = |conn: &mut RespConn| {
        assert_eq!(
            conn.command(&["GET", "counter:__rand_int__"]).expect("GET"),
            format!("${}\r\n{N}\r\n", N.to_string().len()).into_bytes()
        );
        assert_eq!(conn.command(&["LLEN", "mylist"]).expect("LLEN"), format!(":{}\r\n", 2 * N).into_bytes());
        assert_eq!(conn.command(&["DBSIZE"]).expect("DBSIZE"), b":6\r\n");
    };
    let mut conn = srv.connect();
    expect(&mut conn);
    srv.kill9();
    let next = Serve::start_in(dir.clone(), &args);
    drop(std::mem::replace(&mut srv, next));
    let mut conn = srv.connect();
    expect(&mut conn);
}

/// The checker itself: a lost acknowledged push, a gap, an invented element and a counter out of
/// range are each reported.
#[test]
fn verify_reports_losses_gaps_and_inventions() {
    let srv = Serve::start_in(temp_dir("verify"), &[]);
    let mut conn = srv.connect();
    conn.command(&["RPUSH", "list:0", "0", "1", "2"]).expect("RPUSH");
    conn.command(&["RPUSH", "list:1", "0", "2"]).expect("RPUSH");
    conn.command(&["SET", "counter:0", "7"]).expect("SET");
    let base = Progress { sent_len: 3, acked_len: 3, sent_incr: 7, acked_incr: 7, ..Default::default() };
    let mut ok = base.clone();
    assert_eq!(verify(&mut conn, 0, &mut ok), None);
    assert_eq!((ok.next_seq, ok.acked_incr), (3, 7));
    let lost = verify(&mut conn, 0, &mut Progress { acked_len: 4, sent_len: 5, ..base.clone() });
    assert!(lost.as_deref().is_some_and(|m| m.contains("lost 1")), "{lost:?}");
    let invented = verify(&mut conn, 0, &mut Progress { sent_len: 2, acked_len: 2, ..base.clone() });
    assert!(invented.as_deref().is_some_and(|m| m.contains("more than the 2 sent")), "{invented:?}");
    let counter = verify(&mut conn, 0, &mut Progress { acked_incr: 8, sent_incr: 9, ..base.clone() });
    assert!(counter.as_deref().is_some_and(|m| m.contains("counter:0 is 7")), "{counter:?}");
    let gap = verify(&mut conn, 1, &mut Progress { sent_len: 2, acked_len: 2, ..Default::default() });
    assert!(gap.as_deref().is_some_and(|m| m.contains("not a prefix")), "{gap:?}");
}
