//! The timeline's seek cost: going back 10 000 turns, against replaying the same 10 000 turns
//! from the start in the same run. `cargo bench --bench timeline` (scripts/bench.sh section
//! `timeline`) prints markdown rows for BENCHMARKS.md.
//!
//! A session of 20 000 inputs: console turns of 1 to 3 writes over 2 000 keys (`appendfsync
//! everysec`), a serverCron tick every 100 ms of simulated time, a stepped BGREWRITEAOF every
//! 2 000 inputs. K (inputs between checkpoints) is set as the worker will: a seek budget of 30 ms
//! divided by the replay cost of one input, measured first.

use std::time::Instant;

use aof_lab::lab::input::{Action, Origin};
use aof_lab::lab::timeline::Timeline;

const T0: i64 = 1_700_000_000_000;
const INPUTS: usize = 20_000;
const BACK: u64 = 10_000;
const BUDGET_MS: f64 = 30.0;

fn settings() -> Vec<(String, String)> {
    [("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "500")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The session's inputs (time, action).
fn session() -> Vec<(i64, Action)> {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut t = T0;
    let mut out = Vec::with_capacity(INPUTS);
    for i in 0..INPUTS {
        t += 20 + rng.i64(..30);
        let action = if i % 4 == 3 {
            Action::Tick
        } else if i % 2000 == 1999 {
            Action::Lines(vec!["BGREWRITEAOF".into()])
        } else {
            let n = 1 + rng.usize(..3);
            Action::Lines((0..n).map(|_| format!("SET key:{} {}", rng.usize(..2000), "v".repeat(8 + rng.usize(..40)))).collect())
        };
        out.push((t, action));
    }
    out
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let inputs = session();

    // The reference: the first 10 000 turns replayed from the start (no checkpoint but the
    // start's), as a fresh lab would.
    let mut reference = Vec::new();
    for _ in 0..5 {
        let mut tl = Timeline::new(&settings(), 1, T0).unwrap();
        tl.set_checkpoint_every(usize::MAX);
        for (t, a) in &inputs[..BACK as usize] {
            tl.apply(*t, a.clone(), Origin::User);
        }
        tl.seek(0);
        let start = Instant::now();
        tl.seek(BACK);
        reference.push(ms(start));
    }
    let reference = median(reference);
    let per_input = reference / BACK as f64;
    let every = ((BUDGET_MS / per_input) as usize).max(1);

    // The session recorded live with checkpoints every K (each measure below starts on a fresh
    // recording: no checkpoint left by an earlier seek).
    let record = |every: usize| {
        let mut tl = Timeline::new(&settings(), 1, T0).unwrap();
        tl.set_checkpoint_every(every);
        let start = Instant::now();
        for (t, a) in &inputs {
            tl.apply(*t, a.clone(), Origin::User);
        }
        (tl, ms(start))
    };
    let (mut tl, record_ms) = record(every);
    let (cps, bytes) = tl.checkpoints();
    let head = tl.head().0;

    // Going back 10 000 turns from the head (and 10 000 + 777, … to 15 000).
    let mut back = Vec::new();
    for extra in [0, 777, 1999, 3333, 4999] {
        let (mut tl, _) = record(every);
        let start = Instant::now();
        tl.seek(head - BACK - extra);
        back.push(ms(start));
    }
    let worst = back.iter().copied().fold(0.0, f64::max);
    let back_median = median(back.clone());
    // One step back from the head, then 1 000 more, then a scrub back over the session.
    let start = Instant::now();
    tl.step_back();
    let step = ms(start);
    let start = Instant::now();
    for _ in 0..1000 {
        tl.step_back();
    }
    let steps = ms(start) / 1000.0;
    tl.seek(head);
    let start = Instant::now();
    let mut p = head;
    while p >= 500 {
        p -= 500;
        tl.seek(p);
    }
    let scrub = ms(start) / (head / 500) as f64;

    let aof = tl.lab_mut().snapshot().matches("\"len\":").count();
    eprintln!(
        "per input {per_input:.4} ms, K = {every}, {} checkpoints ({:.1} MB), {aof} files, head {head}",
        cps.len(),
        bytes as f64 / 1e6
    );
    println!(
        "| timeline: {INPUTS} inputs (writes over 2 000 keys, everysec, ticks, stepped rewrites), K = {every}, {} checkpoints, {:.1} MB | time (ms) | ratio (time) |",
        cps.len(),
        bytes as f64 / 1e6
    );
    println!("|---|---|---|");
    println!("| replay {BACK} turns from the start (reference) | {reference:.1} | 1.00 |");
    println!(
        "| go back {BACK} to {} turns from the head (median of 5) | {back_median:.2} | {:.3} |",
        BACK + BACK / 2,
        back_median / reference
    );
    println!("| go back {BACK} to {} turns from the head (worst of 5) | {worst:.2} | {:.3} |", BACK + BACK / 2, worst / reference);
    println!("| step back one turn from the head | {step:.3} | {:.4} |", step / reference);
    println!("| then 1 000 more steps back (mean per step) | {steps:.3} | {:.4} |", steps / reference);
    println!("| scrub back by 500 turns (mean per seek) | {scrub:.2} | {:.3} |", scrub / reference);
    println!(
        "| record {INPUTS} turns live, checkpoints included (per turn: {:.4}) | {record_ms:.1} | {:.2} |",
        record_ms / INPUTS as f64,
        record_ms / reference
    );
}
