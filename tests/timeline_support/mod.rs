//! What the timeline's tests share: random workloads over every kind of input, and what a
//! learner can see of a lab (hashed), to compare a lab reached by seeking with the lab that
//! lived the inputs.
#![allow(dead_code)]

use aof_lab::cmd::server::info::gen_info_string;
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::lab::Prediction;
use aof_lab::lab::input::{Action, Origin, crash_prediction_payload};
use aof_lab::lab::recording::state_digest;
use aof_lab::lab::timeline::Timeline;
use aof_lab::lab::traffic::TrafficSpec;
use sha1::{Digest, Sha1};

pub const T0: i64 = 1_700_000_000_000;

pub fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What a learner can see of the lab at the position, and every byte it holds, each part hashed
/// (so that thousands of positions can be kept) and named (so that a failure says which part).
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub snapshot: String,
    pub events: String,
    pub info: String,
    pub debug_digest: String,
    pub files: String,
    pub state: String,
    pub console: String,
    pub now: i64,
}

pub fn sha(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes).into())
}

pub fn seen(tl: &mut Timeline) -> Seen {
    let console = tl.console_json(30);
    let now = tl.now();
    let lab = tl.lab_mut();
    let snapshot = sha(lab.snapshot().as_bytes());
    let events = sha(lab.events_json(0).as_bytes());
    let info = sha(gen_info_string(&lab.engine.srv, &[b"everything"]).as_bytes());
    let debug_digest = hex(&dataset_digest(&lab.engine.srv.dbs));
    let files = sha(&files_of(lab).concat());
    let state = hex(&state_digest(lab));
    Seen { snapshot, events, info, debug_digest, files, state, console: sha(console.as_bytes()), now }
}

/// Every file's name and bytes.
pub fn files_of(lab: &mut aof_lab::lab::Lab) -> Vec<Vec<u8>> {
    let storage = lab.engine.srv.storage.as_mut();
    let mut out = Vec::new();
    for name in storage.list(None).unwrap() {
        out.push(name.clone().into_bytes());
        out.push(storage.read_all(&name).unwrap());
    }
    out
}

/// A random command line over a few keys of every type, random commands and children included.
pub fn command(rng: &mut fastrand::Rng) -> String {
    let k = rng.usize(..8);
    let v = rng.usize(..1000);
    match rng.usize(..40) {
        0..=5 => format!("SET k{k} v{v}"),
        6 => format!("APPEND k{k} x{v}"),
        7 => "INCR n".into(),
        8 => format!("DEL k{k}"),
        9 => format!("EXPIRE k{k} 1"),
        10 => format!("SET k{k} t PX {}", 50 + rng.usize(..300)),
        11 => format!("RPUSH l a{v} b"),
        12 => "LPOP l".into(),
        13 => format!("SADD s m{} m{} m{}", rng.usize(..20), rng.usize(..20), rng.usize(..20)),
        14 => "SPOP s".into(),
        15 => "SRANDMEMBER s -3".into(),
        16 => "RANDOMKEY".into(),
        17 => format!("HSET h f{k} {v}"),
        18 => "HRANDFIELD h 2 WITHVALUES".into(),
        19 => format!("ZADD z {v} m{k}"),
        20 => "ZRANDMEMBER z 2 WITHSCORES".into(),
        21 => "SPOP s 2".into(),
        22 => "BLPOP q 1".into(),
        23 => "RPUSH q x".into(),
        24 => "BGREWRITEAOF".into(),
        25 => "BGSAVE".into(),
        26 => "SAVE".into(),
        27 => "DEBUG DIGEST".into(),
        28 => "INFO persistence".into(),
        29 => format!("GET k{k}"),
        30 => "SWAPDB 0 1".into(),
        31 => "SELECT 1".into(),
        32 => "SELECT 0".into(),
        33 => format!("CONFIG SET appendfsync {}", ["always", "everysec", "no"][rng.usize(..3)]),
        34 => "MULTI".into(),
        35 => "EXEC".into(),
        36 if rng.usize(..4) == 0 => "FLUSHALL".into(),
        37 => format!("PEXPIRE s {}", 100 + rng.usize(..500)),
        38 => format!("SET big{k} {}", "x".repeat(rng.usize(..200))),
        _ => "DBSIZE".into(),
    }
}

pub fn resp(line: &str) -> Vec<u8> {
    let args: Vec<&str> = line.split(' ').collect();
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// A random input (and how much simulated time passes before it).
pub fn input(rng: &mut fastrand::Rng) -> (i64, Action) {
    let dt = [0, 0, 1, 5, 100][rng.usize(..5)];
    let action = match rng.usize(..100) {
        0..=39 => Action::Lines((0..1 + rng.usize(..4)).map(|_| command(rng)).collect()),
        40..=64 => return (100, Action::Tick),
        65..=69 => {
            let mut bytes: Vec<u8> = (0..1 + rng.usize(..3)).flat_map(|_| resp(&command(rng))).collect();
            if rng.bool() {
                // A partial command: the rest comes with a later input.
                bytes.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
            }
            Action::Resp(bytes)
        }
        70..=72 => Action::Crash(["kill", "power", "torn", "torn"][rng.usize(..4)].into()),
        73..=74 => Action::Restart(if rng.bool() { settings(&[("aof-load-truncated", "yes")]) } else { vec![] }),
        75..=77 => Action::RewriteSpeed([0, 1, 2, 5][rng.usize(..4)]),
        78..=82 => {
            let (name, values): (&str, &[&str]) = match rng.usize(..6) {
                0 => ("appendfsync", &["always", "everysec", "no"]),
                1 | 5 => ("aof-load-truncated", &["yes", "no", "no"]),
                2 => ("auto-aof-rewrite-min-size", &["200", "64mb"]),
                3 => ("aof-use-rdb-preamble", &["yes", "no"]),
                _ => ("lab-rewrite-keys-per-tick", &["0", "3"]),
            };
            Action::Config { name: name.into(), value: values[rng.usize(..values.len())].into() }
        }
        83..=85 => match rng.usize(..3) {
            0 => Action::Fault { fault: "fsync-error".into(), n: 1 + rng.u32(..3) },
            1 => Action::Fault { fault: "disk-full".into(), n: 0 },
            _ => Action::Fault { fault: "clear".into(), n: 0 },
        },
        86 => Action::CheckAof { fix: rng.bool() },
        87..=88 => Action::Mark(format!("m{}", rng.usize(..100))),
        89 => Action::Predict(vec![rng.u8(..); 3]),
        // A crash prediction: the next crash reveals it (the report's `reveal`).
        94 => Action::Predict(crash_prediction_payload(&Prediction {
            writes: vec![],
            survive: Some(["all", "some", "none"][rng.usize(..3)].into()),
            keys: Some(["all", "fewer", "none"][rng.usize(..3)].into()),
            refused: Some(rng.bool()),
        })),
        // The traffic generator, started at a rate a tick's turn runs a few commands of, or stopped.
        95 => Action::Traffic(if rng.bool() {
            Some(TrafficSpec::new(20 + rng.u32(..200), rng.u8(..=100), 1 + rng.u32(..50), 1 + rng.u32(..64), rng.u64(..)).unwrap())
        } else {
            None
        }),
        90..=93 => {
            let step = ["tick 300", "rewrite", "config appendfsync everysec", "expect DBSIZE => (integer) 3", "say hello", "crash kill"]
                [rng.usize(..6)];
            Action::Scenario { index: rng.u32(..20), step: step.into() }
        }
        _ => Action::Lines(vec!["BGREWRITEAOF".into()]),
    };
    (dt, action)
}

/// Plays `n` random inputs live on `tl` (from its clock) and keeps what was seen before the first
/// and after each.
pub fn play_on(tl: &mut Timeline, rng: &mut fastrand::Rng, n: usize) -> Vec<Seen> {
    let mut lived = vec![seen(tl)];
    let mut t = tl.now();
    for _ in 0..n {
        let (dt, action) = input(rng);
        t += dt;
        tl.apply(t, action, Origin::User);
        lived.push(seen(tl));
    }
    lived
}

pub fn assert_seen(tl: &mut Timeline, lived: &[Seen], pos: u64, why: &str) {
    assert_eq!(tl.position(), pos);
    assert_eq!(seen(tl), lived[pos as usize], "{why}: the lab at input {pos} differs from the lab that lived it");
}

/// Replay from every checkpoint (to the input before the next one), then seeks in random
/// order, forwards and backwards, then step by step back from the head.
pub fn check_every_seek(tl: &mut Timeline, lived: &[Seen], rng: &mut fastrand::Rng) {
    let head = tl.head().0;
    let (cps, _) = tl.checkpoints();
    assert!(cps.len() > 3, "several checkpoints: {cps:?}");
    for w in cps.windows(2) {
        tl.seek(head);
        tl.seek(w[0]);
        assert_seen(tl, lived, w[0], "restored checkpoint");
        tl.seek(head);
        tl.seek(w[1] - 1);
        assert_eq!(tl.last_replayed() as u64, w[1] - 1 - w[0], "replayed from the checkpoint at {}", w[0]);
        assert_seen(tl, lived, w[1] - 1, "replayed from a checkpoint");
    }
    for _ in 0..150 {
        let p = rng.u64(..=head);
        tl.seek(p);
        assert_seen(tl, lived, p, "random seek");
    }
    tl.seek(head);
    for p in (head.saturating_sub(30)..head).rev() {
        assert!(tl.step_back());
        assert_seen(tl, lived, p, "step back");
    }
    tl.seek(0);
    assert!(!tl.step_back());
    assert_seen(tl, lived, 0, "the start");
}
