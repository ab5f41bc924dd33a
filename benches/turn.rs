//! What one event-loop turn of the browser's engine costs natively, and where it goes
//! (`cargo bench --bench turn`; scripts/bench.sh section `browser` prints it beside the browser
//! figures). A turn is what `www/worker.js` runs for the lines that arrived together: the
//! engine's commands, `beforeSleep`'s write (and fsync under `always`), and the lab's own work
//! for the views (events, the write-path trace, the plots' sample, the timeline's bookkeeping).
//! With the page's defaults (`appendonly yes`, `maxmemory` 64 MB), `SET key:<i> <32 bytes>` over
//! `KEYS` keys (new ones first, then overwritten), one line or 50 per turn. The reference, in the same run: the engine alone on the
//! same RAM files without the machine model (no page cache / disk bookkeeping, no lab). Then the
//! views the worker publishes (at most every 150 ms): snapshot, events and plot samples as JSON.

use std::time::Instant;

use aof_lab::lab::session::Session;
use aof_lab::lab::{Host, Lab};
use aof_lab::storage::{Machine, RamDisk};
use aof_lab::{Config, Engine};

const T0: i64 = 1_700_000_000_000;
const TURNS: usize = 20_000;
const KEYS: usize = 100_000;

fn config(policy: &str) -> Config {
    let mut c = Config { maxmemory: 64 * 1024 * 1024, ..Config::default() };
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", policy, true).unwrap();
    c
}

fn value() -> String {
    "v".repeat(32)
}

/// µs per turn of the engine alone on `storage`.
fn engine_alone(policy: &str, per: usize, storage: Box<dyn aof_lab::storage::Storage>) -> f64 {
    let Ok(mut e) = Engine::open(config(policy), storage, T0) else { panic!("the engine did not start") };
    let c = e.connect();
    let v = value();
    let start = Instant::now();
    let mut n = 0;
    for t in 0..TURNS {
        let now = T0 + t as i64;
        for _ in 0..per {
            let key = format!("key:{}", n % KEYS);
            n += 1;
            e.execute(c, &[b"SET".as_slice(), key.as_bytes(), v.as_bytes()], now);
        }
        e.before_sleep(now);
    }
    start.elapsed().as_secs_f64() * 1e6 / TURNS as f64
}

/// µs per turn of the lab on the machine over RAM, as the worker runs it (lines in, replies out).
fn lab(policy: &str, per: usize) -> (f64, Lab) {
    let mut lab = Lab::start(config(policy), Box::new(Machine::over(RamDisk::new()).unwrap()), T0);
    let v = value();
    let mut n = 0;
    let start = Instant::now();
    for t in 0..TURNS {
        let lines: Vec<String> = (0..per)
            .map(|_| {
                n += 1;
                format!("SET key:{} {v}", n % KEYS)
            })
            .collect();
        let out = lab.execute_batch(&lines, T0 + t as i64);
        assert_eq!(out[0].0, ["OK"]);
    }
    (start.elapsed().as_secs_f64() * 1e6 / TURNS as f64, lab)
}

/// µs per turn of the session as the worker holds it (`src/wasm.rs`): the lab on the memory
/// machine, every turn an input recorded on the timeline (checkpoints every K inputs).
fn session(policy: &str, per: usize) -> f64 {
    let settings: Vec<(String, String)> =
        [("maxmemory", "67108864"), ("appendonly", "yes"), ("appendfsync", policy)].map(|(k, v)| (k.to_string(), v.to_string())).to_vec();
    let Ok(mut s) = Session::memory(&settings, 1, T0, Host::default()) else { panic!("the session did not start") };
    let v = value();
    let mut n = 0;
    let start = Instant::now();
    for t in 0..TURNS {
        let lines: Vec<String> = (0..per)
            .map(|_| {
                n += 1;
                format!("SET key:{} {v}", n % KEYS)
            })
            .collect();
        let out = s.execute_batch(&lines, T0 + t as i64);
        assert_eq!(out[0].0, ["OK"]);
    }
    start.elapsed().as_secs_f64() * 1e6 / TURNS as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--session-only") {
        // For a profiler: the worker's session alone (`--session-only LINES [POLICY]`).
        let per = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(1);
        let policy = args.get(i + 2).map_or("everysec", String::as_str);
        println!("session, {policy}, {per} lines per turn: {:.2} µs per turn", session(policy, per));
        return;
    }
    println!(
        "| one turn, natively ({TURNS} turns, SET of 32 bytes over {KEYS} keys, maxmemory 64 MB) | µs per turn | ratio to the engine alone on RAM |"
    );
    println!("|---|---:|---:|");
    engine_alone("always", 50, Box::new(RamDisk::new())); // warm-up
    for policy in ["always", "everysec"] {
        for per in [1, 50] {
            let reference = engine_alone(policy, per, Box::new(RamDisk::new()));
            let machine = engine_alone(policy, per, Box::new(Machine::over(RamDisk::new()).unwrap()));
            let (lab_us, mut lab) = lab(policy, per);
            let label = format!("{policy}, {per} line{} per turn", if per == 1 { "" } else { "s" });
            println!("| {label}: the engine alone on RAM files (reference) | {reference:.2} | 1.00 |");
            println!("| {label}: the engine alone on the machine model over RAM | {machine:.2} | {:.2} |", machine / reference);
            println!("| {label}: the lab (worker.js's turn) on the machine model over RAM | {lab_us:.2} | {:.2} |", lab_us / reference);
            let session_us = session(policy, per);
            println!(
                "| {label}: the worker's session (the lab, each turn an input on the timeline) | {session_us:.2} | {:.2} |",
                session_us / reference
            );
            if per == 50 && policy == "everysec" {
                // The worker's publish: the snapshot, then the events and plot samples since
                // the last one; here one turn after the previous publish.
                lab.snapshot();
                let lines: Vec<String> = (0..per).map(|i| format!("SET key:{i} {v}", v = value())).collect();
                lab.execute_batch(&lines, T0 + TURNS as i64);
                let (_, events_from) = lab.events_since(u64::MAX);
                let series_from = lab.series.len().saturating_sub(1);
                let start = Instant::now();
                let snapshot = lab.snapshot();
                let events = lab.events_json(events_from.saturating_sub(60));
                let series = lab.series_json(series_from);
                let us = start.elapsed().as_secs_f64() * 1e6;
                println!(
                    "| then one publish, a turn after the previous one, with {} keys (snapshot {} KB, the last turn's events and plot sample {} KB, as JSON) | {us:.0} | – |",
                    KEYS.min(TURNS * per),
                    snapshot.len() / 1000,
                    (events.len() + series.len()) / 1000
                );
            }
        }
    }
}
