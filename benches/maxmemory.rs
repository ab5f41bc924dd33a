//! What the `maxmemory` check costs per command (`cargo bench --bench maxmemory`; scripts/bench.sh
//! section `maxmemory`). The page's default (`maxmemory` 64 MB, far above the data here) against
//! `maxmemory 0` (no check), in the same run, alternating, on the same dataset: 50 000 keys of 32
//! bytes, then a batch of one kind of command (`denyoom` ones, each checked before it runs). The
//! figure the check reads is kept up to date by every change (`src/keyspace/mod.rs`), so the
//! ratio should be ~1.0 whatever the dataset's size; before that, a command whose growth its
//! arguments do not bound (SETRANGE, the *STORE commands, COPY) made the next check walk every key.

use std::time::Instant;

use aof_lab::{Config, Engine};

const T0: i64 = 1_700_000_000_000;
const KEYS: usize = 50_000;
const BATCH: usize = 20_000;
const ROUNDS: usize = 5;

/// An engine with `KEYS` string keys, a 1 000-element list and two small sets, `maxmemory` as given.
fn engine(maxmemory: u64) -> (Engine, u64) {
    let mut e = Engine::new(Config { maxmemory, ..Config::default() }, T0);
    let c = e.connect();
    let v = "v".repeat(32);
    for i in 0..KEYS {
        e.execute(c, &[b"SET".as_slice(), format!("key:{i}").as_bytes(), v.as_bytes()], T0);
    }
    for i in 0..1000 {
        e.execute(c, &[b"RPUSH".as_slice(), b"list", format!("e{i}").as_bytes()], T0);
    }
    for i in 0..20 {
        e.execute(c, &[b"SADD".as_slice(), b"s1", format!("{i}").as_bytes()], T0);
        e.execute(c, &[b"SADD".as_slice(), b"s2", format!("{}", i + 10).as_bytes()], T0);
    }
    (e, c)
}

/// The command of a row for its `i`-th run.
fn command(kind: &str, i: usize) -> Vec<Vec<u8>> {
    let v = b"v".repeat(32);
    let w = |s: &str| s.as_bytes().to_vec();
    match kind {
        "SET (overwrite)" => vec![w("SET"), w(&format!("key:{}", i % KEYS)), v],
        "SET (new key)" => vec![w("SET"), w(&format!("new:{i}")), v],
        "MSET of 10" => {
            let mut a = vec![w("MSET")];
            for j in 0..10 {
                a.push(w(&format!("key:{}", (i * 10 + j) % KEYS)));
                a.push(v.clone());
            }
            a
        }
        "LPUSH + RPOP (a 1 000-element list)" if i.is_multiple_of(2) => vec![w("LPUSH"), w("list"), v],
        "LPUSH + RPOP (a 1 000-element list)" => vec![w("RPOP"), w("list")],
        "SETRANGE" => vec![w("SETRANGE"), w(&format!("key:{}", i % KEYS)), w("4"), w("xyz")],
        _ => vec![w("SUNIONSTORE"), w("dst"), w("s1"), w("s2")],
    }
}

/// µs per command of a batch of `kind` on `e`.
fn batch(e: &mut Engine, c: u64, kind: &str, round: usize) -> f64 {
    let cmds: Vec<Vec<Vec<u8>>> = (0..BATCH).map(|i| command(kind, round * BATCH + i)).collect();
    let start = Instant::now();
    for (i, argv) in cmds.iter().enumerate() {
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let r = e.execute(c, &argv, T0 + i as i64);
        debug_assert!(!matches!(r, Some(aof_lab::Reply::Error(_))), "{kind}: {r:?}");
    }
    start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let kinds = [
        "SET (overwrite)",
        "SET (new key)",
        "MSET of 10",
        "LPUSH + RPOP (a 1 000-element list)",
        "SETRANGE",
        "SUNIONSTORE of two 20-member sets",
    ];
    println!(
        "| per command, natively ({KEYS} keys of 32 bytes; median of {ROUNDS} alternating batches of {BATCH}) | maxmemory 0 (reference, µs) | maxmemory 64 MB, the page's default (µs) | ratio |"
    );
    println!("|---|---:|---:|---:|");
    for kind in kinds {
        let (mut off, c_off) = engine(0);
        let (mut on, c_on) = engine(64 * 1024 * 1024);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            a.push(batch(&mut off, c_off, kind, round));
            b.push(batch(&mut on, c_on, kind, round));
        }
        let (a, b) = (median(a), median(b));
        println!("| {kind} | {a:.3} | {b:.3} | {:.2} |", b / a);
    }
}
