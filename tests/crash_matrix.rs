//! The crash matrix: seeded workloads × a crash between every two storage operations × every
//! crash kind × every `appendfsync` policy, on the simulated machine (the memory backend).
//!
//! A workload is a seeded list of event-loop turns (`cron`, a few commands, `before_sleep`) over
//! every value type (streams, HyperLogLogs, geo sets, SORT … STORE and RESTORE included; each
//! configuration draws its own workloads), TTLs that expire while it runs,
//! MULTI/EXEC, SELECT, BGREWRITEAOF (manual and automatic) and `CONFIG SET appendonly no|yes`, in each base format
//! (`aof-use-rdb-preamble yes|no`), with and without `aof-timestamp-enabled`, in 7.0 multi-part
//! mode and in `lab-aof-mode 6.2`. The run records a fingerprint of the keyspace after every
//! command and every expiry (the reference states), and [`RecordingStorage`] keeps the machine
//! before every storage operation that changes it (the crash points). Fault runs start a full
//! disk or a failing fsync at one operation and let the workload go on. Each crash kind (process
//! kill, power loss, torn writes) is applied to each point, the engine restarts on what
//! survived, and:
//!
//! * with `aof-load-truncated yes` it starts without repair, and with `no` it refuses exactly
//!   when a file ends inside a command or a MULTI (with Redis's message), else loads the same;
//! * the keyspace equals a reference state: some prefix of the run, never a reordering or a
//!   partial MULTI;
//! * that prefix holds every command written to the kernel before a process kill (any policy),
//!   every acknowledged command under `always`; under `everysec` what is lost spans ≤ 2 s of
//!   simulated time (more on a disk whose fsync itself is slow), under `no` ≤ the kernel's
//!   writeback window (plus one turn);
//! * the manifest found is one that was installed (old or new, never a mix);
//! * the restarted engine can go on: a write, a process kill, and the next restart has it.
//!
//! Four Redis behaviours are reproduced on purpose and counted apart, each pinned by a test
//! below: a cut inside a MULTI leaves a dangling MULTI (7.0.15), a cut right after an RDB
//! preamble truncates the file to nothing (7.0.15), 6.2 never fsyncs the directory, and an AOF
//! replay loses a consumer group's `entries_read` (7.0.15; the keyspace is then a state of the
//! run but for that counter).
//!
//! `AOF_LAB_SOAK_CRASH_SEEDS=<n>` runs n seeds per configuration instead of the default;
//! `AOF_LAB_CRASH_ONLY=<config>#<seed>` (as printed in a reproducer) runs one workload and prints
//! every violation in full, with the files the restart found (`AOF_LAB_CRASH_TRACE=1` also lists
//! the run's reference states and crash points). Both print `SOAK crash-matrix:
//! <points> crash points, <violations> violations`; `AOF_LAB_CRASH_VIOLATIONS=<file>` keeps them
//! all.

// Native only: it runs its workloads on threads.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aof_lab::aof::AofManifest;
use aof_lab::crashlab::{Crash, CrashPoint, Fault, Recorder, RecordingStorage};
use aof_lab::keyspace::stream::INVALID_ENTRIES_READ;
use aof_lab::keyspace::{Db, Value};
use aof_lab::rdb::read_rdb;
use aof_lab::server::{AofState, Server};
use aof_lab::storage::{FsStorage, MemoryStorage, OpenMode, Storage};
use aof_lab::{AppendFsync, Config, Engine, Reply};

const T0: i64 = 1_700_000_000_000;
/// The simulated kernel's `dirty_expire`: short, so that writeback happens inside a workload.
const WRITEBACK_MS: i64 = 1_500;
/// Turns are 10..=MAX_GAP_MS apart.
const MAX_GAP_MS: i64 = 250;
const EVERYSEC_LOSS_MS: i64 = 2_000;
const TURNS: usize = 45;
const DEFAULT_SEEDS: u64 = 3;
/// Fault runs (disk full, fsync error at one storage operation, then the workload goes on) for
/// the first FAULT_SEEDS seeds (a tenth of the seeds in a soak), one every FAULT_STRIDE operations; their crash points are
/// checked from the faulty operation on, for FAULT_WINDOW operations, and at the end.
const FAULT_SEEDS: u64 = 1;
const FAULT_STRIDE: u64 = 13;
const FAULT_WINDOW: u64 = 8;
/// Turns a full disk stays full.
const DISK_FULL_TURNS: usize = 6;
const FSYNC_LATENCIES_MS: [i64; 3] = [0, 200, 1_200];
const DIR: &str = "appendonlydir";
const MANIFEST: &str = "appendonlydir/appendonly.aof.manifest";
const LEGACY_FILE: &str = "appendonly.aof";

#[derive(Clone, Copy, Debug)]
struct Variant {
    policy: AppendFsync,
    preamble: bool,
    timestamps: bool,
    /// `lab-aof-mode 6.2`: one `appendonly.aof`, rewritten with Redis 6.2's rewrite buffer.
    legacy: bool,
    /// Per-seed knobs (see [`Variant::for_seed`]): `aof-disable-auto-gc yes` (history files
    /// stay in the manifest), and automatic rewrites from 512 bytes of growth.
    no_auto_gc: bool,
    auto_rewrite: bool,
}

impl Variant {
    fn new(policy: AppendFsync, preamble: bool, timestamps: bool, legacy: bool) -> Variant {
        Variant { policy, preamble, timestamps, legacy, no_auto_gc: false, auto_rewrite: false }
    }
    /// The knobs that vary with the seed: seed 1 keeps history files, seed 2 rewrites on growth.
    fn for_seed(self, seed: u64) -> Variant {
        Variant { no_auto_gc: seed % 4 == 1, auto_rewrite: seed % 4 == 2, ..self }
    }
    fn all() -> Vec<Variant> {
        let mut out = Vec::new();
        for policy in [AppendFsync::Always, AppendFsync::EverySec, AppendFsync::No] {
            for preamble in [true, false] {
                for timestamps in [false, true] {
                    out.push(Variant::new(policy, preamble, timestamps, false));
                }
                out.push(Variant::new(policy, preamble, false, true));
            }
        }
        out
    }
    /// Each configuration (policy and format) has its own workloads: the default run's 54 are
    /// all different.
    fn workload_seed(&self, seed: u64) -> u64 {
        let policy = match self.policy {
            AppendFsync::Always => 0,
            AppendFsync::EverySec => 1,
            AppendFsync::No => 2,
        };
        seed * 32 + policy * 8 + u64::from(self.legacy) * 4 + u64::from(self.preamble) * 2 + u64::from(self.timestamps)
    }
    fn label(&self) -> String {
        let mode = if self.legacy { "/6.2" } else { "" };
        format!(
            "{}/{}/{}{mode}",
            self.policy.name(),
            if self.preamble { "rdb" } else { "resp" },
            if self.timestamps { "ts" } else { "nots" }
        )
    }
    fn config(&self, load_truncated: bool) -> Config {
        Config {
            appendonly: true,
            appendfsync: self.policy,
            aof_use_rdb_preamble: self.preamble,
            aof_timestamp_enabled: self.timestamps,
            aof_load_truncated: load_truncated,
            aof_legacy: self.legacy,
            aof_disable_auto_gc: self.no_auto_gc,
            auto_aof_rewrite_min_size: if self.auto_rewrite { 512 } else { Config::default().auto_aof_rewrite_min_size },
            ..Config::default()
        }
    }
}

/// What the run had done when the machine was in a given state (the latest such moment).
#[derive(Clone, Debug, Default)]
struct Tag {
    /// The latest reference state the storage may hold.
    upto: usize,
    /// Every reference state up to this one had been written to the kernel (process kill).
    kill_req: usize,
    /// Every reference state up to this one had been acknowledged under `always`.
    ack_req: usize,
    now: i64,
    /// The event-loop step (for reproducers).
    step: usize,
}

/// A keyspace fingerprint, exact and without the consumer groups' `entries_read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fp {
    exact: (u64, u64),
    /// Redis 7.0.15 does not keep a group's `entries_read` through an AOF replay: XREADGROUP
    /// (without NOACK) propagates only `XCLAIM … LASTID`, which moves `last_id` but leaves the
    /// counter as the replayed `XGROUP CREATE` set it (invalid, `entries-read` nil), where the
    /// live server had estimated it. The restart is a state of the run up to that counter.
    lax: (u64, u64),
}

/// A reference state: the keyspace after a command or an expiry.
struct Checkpoint {
    fp: Fp,
    t: i64,
    /// Propagated while the AOF was on: it counts when lost.
    protected: bool,
    /// Made while the AOF was being turned on (WAIT_REWRITE): it is in no AOF until that
    /// rewrite completes, and counts from then on.
    waiting: bool,
    what: String,
}

/// A dump of the keyspace, hashed: every key of every db with its type, its value (sets and
/// hashes in sorted order, lists in order, zsets by rank with exact scores) and its exact TTL.
/// What `DEBUG DIGEST` covers and more (the digest only says "has a TTL"), and much cheaper in a
/// debug build than its SHA-1 per element.
fn fingerprint(srv: &Server) -> Fp {
    // Order-independent over keys: two sums of per-key hashes.
    let sum = |(a, b): (u64, u64), x: u64| (a.wrapping_add(x), b.wrapping_add(x.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15));
    let mut fp = Fp { exact: (0, 0), lax: (0, 0) };
    for db in &srv.dbs {
        for (k, v) in db.iter() {
            let mut h = DefaultHasher::new();
            (db.id, k, db.expire_of(k)).hash(&mut h);
            match v {
                Value::String(s) => (0u8, s).hash(&mut h),
                Value::List(l) => (1u8, &**l).hash(&mut h),
                Value::Set(s) => {
                    let mut m: Vec<&[u8]> = s.iter().map(|m| m.as_bytes()).collect();
                    m.sort();
                    (2u8, m).hash(&mut h);
                }
                Value::Hash(map) => {
                    let mut m: Vec<(&[u8], &Vec<u8>)> = map.iter().map(|(f, v)| (f.as_bytes(), v)).collect();
                    m.sort();
                    (3u8, m).hash(&mut h);
                }
                Value::ZSet(z) => {
                    4u8.hash(&mut h);
                    z.iter().for_each(|(m, score)| (m, score.to_bits()).hash(&mut h));
                }
                // The entries, IDs and counters, groups and PELs; not the node layout (a RESP
                // rewrite drops tombstones) nor a consumer's seen time (a replayed XCLAIM or
                // XGROUP CREATECONSUMER sets it anew, in Redis too).
                Value::Stream(st) => {
                    5u8.hash(&mut h);
                    let mut it = st.iter(None, None, false);
                    while let Some(e) = it.next_entry() {
                        (e.id, e.fields.iter().map(|f| f.to_vec()).collect::<Vec<_>>()).hash(&mut h);
                    }
                    (st.length, st.last_id, st.max_deleted_entry_id, st.entries_added).hash(&mut h);
                    for (name, g) in &st.cgroups {
                        (name, g.last_id, &g.pel).hash(&mut h);
                        g.consumers.iter().for_each(|(c, cons)| (c, &cons.pel).hash(&mut h));
                    }
                }
            }
            let lax = h.finish();
            let mut exact = lax;
            if let Value::Stream(st) = v
                && !st.cgroups.is_empty()
            {
                let mut h = DefaultHasher::new();
                (lax, st.cgroups.values().map(|g| g.entries_read).collect::<Vec<_>>()).hash(&mut h);
                exact = h.finish();
            }
            fp.exact = sum(fp.exact, exact);
            fp.lax = sum(fp.lax, lax);
        }
    }
    fp
}

/// Does the keyspace have a consumer group whose `entries_read` is invalid (what a replayed
/// `XGROUP CREATE` leaves when nothing after it carried the counter)?
fn has_invalid_entries_read(srv: &Server) -> bool {
    srv.dbs.iter().any(|db| {
        db.iter().any(|(_, v)| matches!(v, Value::Stream(st) if st.cgroups.values().any(|g| g.entries_read == INVALID_ENTRIES_READ)))
    })
}

// ---------------------------------------------------------------------------------------------
// Workloads

struct Turn {
    gap: i64,
    cmds: Vec<String>,
}

fn pick<'a>(rng: &mut fastrand::Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.usize(..xs.len())]
}

/// Any key of the workload (for the generic key commands, which also cross types).
fn any_key(rng: &mut fastrand::Rng) -> String {
    pick(rng, &["s0", "s1", "s2", "n0", "f0", "l0", "l1", "t0", "t1", "h0", "h1", "z0", "z1", "x0", "x1", "cp"]).to_string()
}

/// One data command (no MULTI, no AOF control).
fn data_command(rng: &mut fastrand::Rng) -> String {
    let i = rng.usize(0..2);
    let r = rng.u32(0..6);
    match rng.u32(0..73) {
        0..=5 => {
            let opt = match rng.u32(0..10) {
                0 => " EX 100".to_string(),
                1..=3 => format!(" PX {}", rng.u32(100..2000)),
                4 => " KEEPTTL".into(),
                5 => " NX".into(),
                6 => " XX".into(),
                7 => " GET".into(),
                _ => String::new(),
            };
            format!("SET s{} v{r}{opt}", rng.usize(0..3))
        }
        6 => "INCR n0".into(),
        7 => format!("INCRBY n0 {}", rng.i32(-5..50)),
        8 => "INCRBYFLOAT f0 1.25".into(),
        9 => format!("APPEND s{i} xy{r}"),
        10 => format!("GETDEL s{i}"),
        11 => format!("SETRANGE s{i} 3 zz"),
        12 => format!("GETEX s{i} PX {}", rng.u32(200..2000)),
        13 => format!("SETEX s2 {} tmp", rng.u32(1..3)),
        14..=17 => format!("{} l{i} a{r} b{}", pick(rng, &["RPUSH", "LPUSH"]), rng.u32(0..9)),
        18 => format!("{} l{i}", pick(rng, &["LPOP", "RPOP"])),
        19 => "LMOVE l0 l1 LEFT RIGHT".into(),
        20 => format!("LTRIM l{i} 0 3"),
        21 => format!("LINSERT l{i} BEFORE a{r} ins"),
        22..=25 => {
            if rng.bool() {
                format!("SADD t{i} {} {}", rng.u32(0..20), rng.u32(0..20))
            } else {
                format!("SADD t{i} m{r} m{}", rng.u32(0..9))
            }
        }
        26 => format!("SREM t{i} m{r} {r}"),
        27 => format!("SPOP t{i}"),
        28 => format!("SMOVE t0 t1 m{r}"),
        29 => pick(rng, &["SUNIONSTORE t1 t0 t1", "SINTERSTORE t0 t0 t1", "SDIFFSTORE t1 t1 t0"]).into(),
        30..=33 => format!("HSET h{i} f{r} v{} f{} {}", rng.u32(0..9), rng.u32(0..9), rng.u32(0..100)),
        34 => format!("HDEL h{i} f{r}"),
        35 => format!("HINCRBY h{i} c {}", rng.i32(-3..9)),
        36 => format!("HINCRBYFLOAT h{i} d 0.25"),
        37..=40 => format!("ZADD z{i} {} m{r} {} m{}", rng.i32(-5..20), rng.u32(0..7), rng.u32(0..9)),
        41 => format!("ZINCRBY z{i} 1.5 m{r}"),
        42 => format!("ZREM z{i} m{r}"),
        43 => format!("ZPOPMIN z{i}"),
        44 => "ZUNIONSTORE z1 2 z0 z1 WEIGHTS 1 2".into(),
        45 => format!("ZREMRANGEBYSCORE z{i} 0 3"),
        46 => format!("EXPIRE {} 100", any_key(rng)),
        47 | 48 => format!("PEXPIRE {} {}", any_key(rng), rng.u32(100..2500)),
        49 => format!("PERSIST {}", any_key(rng)),
        50 => format!("DEL {} {}", any_key(rng), any_key(rng)),
        51 => format!("RENAME {} {}", any_key(rng), any_key(rng)),
        52 => format!("COPY {} cp REPLACE", any_key(rng)),
        53 => format!("MOVE {} {}", any_key(rng), rng.usize(0..3)),
        54 => {
            if rng.u32(0..4) == 0 {
                "FLUSHDB".into()
            } else {
                "SWAPDB 0 1".into()
            }
        }
        55..=57 => format!("SELECT {}", rng.usize(0..3)),
        // Streams: generated IDs, approximate trimming and group reads, whose propagated forms
        // (the ID, `MAXLEN = n`, XCLAIM …) must replay to the same stream.
        62 | 63 => format!("XADD x{i} {}* f{r} v{}", if rng.bool() { "MAXLEN ~ 3 " } else { "" }, rng.u32(0..9)),
        64 => format!("XGROUP CREATE x{i} g 0 MKSTREAM"),
        65 => format!("XREADGROUP GROUP g c{r} COUNT 2 {}STREAMS x{i} >", if rng.bool() { "NOACK " } else { "" }),
        66 => pick(rng, &["XAUTOCLAIM x0 g c1 0 0 COUNT 1", "XACK x1 g 0-1 1-0", "XTRIM x0 MAXLEN 2", "XDEL x1 0-1"]).into(),
        // HyperLogLogs, geo sets, SORT … STORE, RESTORE.
        67..=72 => newer_type_command(rng),
        // Reads: lazy expiry of what they touch.
        _ => format!("{} {}", pick(rng, &["GET", "EXISTS", "TTL", "TYPE", "STRLEN"]), any_key(rng)),
    }
}

/// A seeded workload: `turns` event-loop turns of 1..=3 commands (a MULTI block counts as one).
fn workload(seed: u64, turns: usize) -> Vec<Turn> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut aof_on = true;
    let mut out = Vec::new();
    for _ in 0..turns {
        let mut cmds = Vec::new();
        for _ in 0..rng.usize(1..=3) {
            let roll = rng.u32(0..100);
            if !aof_on && roll < 30 {
                aof_on = true;
                if rng.u32(0..4) == 0 {
                    // Turned on inside a transaction: the rewrite is scheduled for cron.
                    cmds.extend(["MULTI".to_string(), data_command(&mut rng), "CONFIG SET appendonly yes".into(), "EXEC".into()]);
                } else {
                    cmds.push("CONFIG SET appendonly yes".into());
                }
            } else if aof_on && roll < 2 {
                aof_on = false;
                cmds.push("CONFIG SET appendonly no".into());
            } else if roll < 7 {
                cmds.push("BGREWRITEAOF".into());
            } else if roll < 17 {
                cmds.push("MULTI".into());
                for _ in 0..rng.usize(1..=4) {
                    cmds.push(data_command(&mut rng));
                }
                cmds.push(if rng.u32(0..8) == 0 { "DISCARD".into() } else { "EXEC".into() });
            } else {
                cmds.push(data_command(&mut rng));
            }
        }
        out.push(Turn { gap: rng.i64(10..=MAX_GAP_MS), cmds });
    }
    out
}

/// HyperLogLogs (strings in Redis's sparse / dense layouts, PFCOUNT writing its cache back),
/// geo sets (zsets of geohashes, a STORE of a search), SORT … STORE (propagated verbatim) and
/// RESTORE (a relative TTL propagated as ABSTTL).
fn newer_type_command(rng: &mut fastrand::Rng) -> String {
    let i = rng.usize(0..2);
    match rng.u32(0..6) {
        0 => format!("PFADD p{i} e{} e{} e{}", rng.u32(0..6), rng.u32(0..50), rng.u32(0..5000)),
        1 => pick(rng, &["PFMERGE p1 p0 p1", "PFCOUNT p0", "PFCOUNT p1"]).into(),
        2 => format!("GEOADD g{i} {}.5 {}.25 m{}", rng.i32(-170..170), rng.i32(-80..80), rng.u32(0..6)),
        3 => {
            format!("GEOSEARCHSTORE g1 g0 FROMLONLAT 0 0 BYRADIUS {} km{}", rng.u32(100..20000), if rng.bool() { " STOREDIST" } else { "" })
        }
        4 => format!(
            "SORT {} BY nosort LIMIT 0 {} {}STORE l{i}",
            pick(rng, &["l0", "t0", "z1"]),
            rng.u32(1..5),
            if rng.bool() { "ALPHA " } else { "" }
        ),
        _ => format!(
            "RESTORE s{} {} \"\\x00\\x05hello\\n\\x00\\x9e\\xee\\xfc\\xd2\\x8b\\x9e\\x8e\\xb4\" REPLACE",
            rng.usize(0..3),
            pick(rng, &["0", "1500", "100000"])
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The reference run

struct Run {
    variant: Variant,
    seed: u64,
    fault: Option<(u64, Fault)>,
    checkpoints: Vec<Checkpoint>,
    points: Vec<CrashPoint<Tag>>,
    manifests: Vec<Vec<u8>>,
    stats: RunStats,
    fsync_latency_ms: i64,
    /// The run's rewrites, (start, end, the AOF was on at the end) in simulated ms. A rewrite
    /// that turned the AOF on but was killed by `appendonly no` ends with the AOF off.
    rewrites: Vec<(i64, i64, bool)>,
}

/// What a workload exercised (summed over the matrix, printed with the summary).
#[derive(Clone, Copy, Debug, Default)]
struct RunStats {
    commands: u64,
    errors: u64,
    expired: u64,
    rewrites: u64,
    aof_toggles: u64,
    storage_ops: u64,
    fault_runs: u64,
    /// Storage operations of the start (faults come after it).
    start_ops: u64,
    /// `-MISCONF` replies and `exit(1)`s (always) in fault runs.
    misconf: u64,
    exits: u64,
}

impl std::ops::AddAssign for RunStats {
    fn add_assign(&mut self, o: RunStats) {
        self.commands += o.commands;
        self.errors += o.errors;
        self.expired += o.expired;
        self.rewrites += o.rewrites;
        self.aof_toggles += o.aof_toggles;
        self.storage_ops += o.storage_ops;
        self.fault_runs += o.fault_runs;
        self.misconf += o.misconf;
        self.exits += o.exits;
    }
}

struct Driver {
    e: Engine,
    rec: Rc<RefCell<Recorder<Tag>>>,
    cps: Vec<Checkpoint>,
    tag: Tag,
    policy: AppendFsync,
    /// Rewrites (a child running, or the AOF being turned on): since when, and the finished ones.
    rewrite_since: Option<i64>,
    rewrites: Vec<(i64, i64, bool)>,
}

impl Driver {
    fn set_tag(&mut self, upto: usize) {
        self.tag.upto = upto;
        self.rec.borrow_mut().tag = self.tag.clone();
    }
    fn begin(&mut self, now: i64) {
        self.tag.now = now;
        self.tag.step += 1;
        self.set_tag(self.cps.len());
    }
    fn checkpoint(&mut self, what: String) {
        let protected = self.e.srv.aof_state == AofState::On;
        let waiting = self.e.srv.aof_state == AofState::WaitRewrite;
        self.cps.push(Checkpoint { fp: fingerprint(&self.e.srv), t: self.tag.now, protected, waiting, what });
    }
    /// After a step: what is written (and, after `before_sleep` under `always`, acknowledged).
    fn end(&mut self, turn_end: bool) {
        let last = self.cps.len() - 1;
        let busy = self.e.srv.aof.child.is_some() || self.e.srv.aof_state == AofState::WaitRewrite;
        match (busy, self.rewrite_since) {
            (true, None) => self.rewrite_since = Some(self.tag.now),
            (false, Some(since)) => {
                self.rewrites.push((since, self.tag.now, self.e.srv.aof_state == AofState::On));
                self.rewrite_since = None;
            }
            _ => {}
        }
        let flushed = self.e.srv.aof_state == AofState::On && self.e.aof_buf().is_empty() && self.e.exited().is_none();
        if flushed {
            self.tag.kill_req = last;
            if turn_end && self.policy == AppendFsync::Always {
                self.tag.ack_req = last;
            }
        }
        self.set_tag(last);
    }
}

fn drive(variant: Variant, seed: u64, fault: Option<(u64, Fault)>) -> Run {
    let turns = workload(variant.workload_seed(seed), TURNS);
    drive_turns(variant, seed, fault, turns)
}

/// Runs `turns` (the seed picks the per-seed knobs, see [`Variant::for_seed`], and the disk).
fn drive_turns(variant: Variant, seed: u64, fault: Option<(u64, Fault)>, turns: Vec<Turn>) -> Run {
    let variant = variant.for_seed(seed);
    let rec = Recorder::shared(Tag::default());
    let mut machine = MemoryStorage::new();
    machine.writeback_ms = Some(WRITEBACK_MS);
    let mut storage = RecordingStorage::new(machine, rec.clone());
    if let Some((op, f)) = fault {
        storage = storage.with_fault(op, f);
        rec.borrow_mut().window = Some((op - 1, op + FAULT_WINDOW));
    }
    let e = Engine::open(variant.config(true), Box::new(storage), T0).map_err(|e| e.lines).expect("a fresh start");
    let mut d = Driver {
        e,
        rec,
        cps: Vec::new(),
        tag: Tag { now: T0, ..Tag::default() },
        policy: variant.policy,
        rewrite_since: None,
        rewrites: Vec::new(),
    };
    // A fast disk, a slow one and a very slow one: everysec's background fsync takes that long,
    // and writes are postponed while it runs (up to 2 s).
    d.e.srv.aof.fsync_latency_ms = FSYNC_LATENCIES_MS[(seed % 3) as usize];
    // The rewrite child (both modes) writes its snapshot in one tick, or one key per tick (in
    // 6.2 mode with the diff sent over several ticks, then the stop-sending handshake).
    d.e.srv.config.lab_rewrite_keys_per_tick = if seed.is_multiple_of(2) { 0 } else { 1 };
    // Expiry is driven below, one key per reference state (the engine's cron would delete them
    // all at once, each its own unit in the AOF: a torn write may keep some of them).
    d.e.srv.config.active_expire_enabled = false;
    d.checkpoint("start".into());
    let start_ops = d.rec.borrow().ops;
    let mut stats = RunStats { fault_runs: u64::from(fault.is_some()), start_ops, ..RunStats::default() };
    let c = d.e.connect();
    let mut now = T0;
    let mut full_turns = 0;
    'turns: for turn in turns {
        // Space comes back a while after the disk filled up.
        if let Some(m) = d.e.srv.storage.as_memory()
            && m.capacity.is_some()
        {
            full_turns += 1;
            if full_turns > DISK_FULL_TURNS {
                m.capacity = None;
            }
        }
        now += turn.gap;
        // serverCron: active expiry, then the AOF and rewrite work.
        d.begin(now);
        d.e.srv.now_ms = now;
        let mut expired = Vec::new();
        for db in &d.e.srv.dbs {
            let mut keys: Vec<Vec<u8>> = db.keys().filter(|k| d.e.srv.key_is_expired(db.id, k)).map(<[u8]>::to_vec).collect();
            keys.sort();
            expired.extend(keys.into_iter().map(|k| (db.id, k)));
        }
        stats.expired += expired.len() as u64;
        for (db, key) in expired {
            d.e.srv.expire_if_needed(db, &key);
            d.e.srv.propagate_pending_commands();
            d.checkpoint(format!("expire db{db} {}", String::from_utf8_lossy(&key)));
        }
        d.set_tag(d.cps.len() - 1);
        d.e.cron(now);
        d.end(false);
        if d.e.exited().is_some() {
            break 'turns;
        }
        for cmd in &turn.cmds {
            d.begin(now);
            let reply = d.e.execute_line(c, cmd, now);
            stats.commands += 1;
            stats.errors += u64::from(reply.as_ref().is_some_and(|r| r.is_error()));
            stats.aof_toggles += u64::from(cmd.starts_with("CONFIG SET appendonly"));
            stats.misconf += u64::from(matches!(&reply, Some(Reply::Error(e)) if e.starts_with("MISCONF")));
            d.checkpoint(cmd.clone());
            d.end(false);
        }
        d.begin(now);
        d.set_tag(d.cps.len() - 1);
        d.e.before_sleep(now);
        d.end(true);
        if d.e.exited().is_some() {
            // Redis's exit(1): the turn's replies are never sent, the process is gone.
            break 'turns;
        }
    }
    stats.exits = u64::from(d.e.exited().is_some());
    stats.rewrites = d.e.srv.aof.rewrites;
    let mut storage = d.e.take_storage();
    let mut rec = d.rec.borrow_mut();
    stats.storage_ops = rec.ops;
    if let Some(m) = storage.as_memory() {
        rec.finish(m);
    }
    Run {
        variant,
        seed,
        fault,
        checkpoints: std::mem::take(&mut d.cps),
        points: std::mem::take(&mut rec.points),
        manifests: std::mem::take(&mut rec.manifests),
        stats,
        fsync_latency_ms: FSYNC_LATENCIES_MS[(seed % 3) as usize],
        rewrites: std::mem::take(&mut d.rewrites),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Does a RESP AOF end cleanly (on a command boundary, outside MULTI), as Redis's loader sees
/// it? `Err` for bytes that are no AOF at all. Written apart from the engine's loader on
/// purpose; follows `loadSingleAppendOnlyFile`: a `#` line is an annotation even without its
/// newline, and the two bytes after an argument are not checked.
fn resp_ends_cleanly(data: &[u8]) -> Result<bool, String> {
    let line = |pos: usize| data[pos..].iter().position(|&c| c == b'\n').map(|i| (&data[pos..pos + i], pos + i + 1));
    let num = |l: &[u8]| std::str::from_utf8(&l[1..]).ok().and_then(|s| s.trim_end().parse::<usize>().ok());
    let mut pos = 0;
    let mut in_multi = false;
    while pos < data.len() {
        if data[pos] == b'#' {
            match line(pos) {
                Some((_, next)) => pos = next,
                None => return Ok(!in_multi),
            }
            continue;
        }
        if data[pos] != b'*' {
            return Err(format!("not a command at offset {pos}"));
        }
        let Some((l, next)) = line(pos) else { return Ok(false) };
        let argc = num(l).ok_or(format!("bad count at offset {pos}"))?;
        pos = next;
        let mut name = Vec::new();
        for a in 0..argc {
            if pos >= data.len() {
                return Ok(false);
            }
            let Some((l, next)) = line(pos) else { return Ok(false) };
            if l.first() != Some(&b'$') {
                return Err(format!("bad argument at offset {pos}"));
            }
            let len = num(l).ok_or(format!("bad length at offset {pos}"))?;
            if next + len + 2 > data.len() {
                return Ok(false);
            }
            if a == 0 {
                name = data[next..next + len].to_ascii_lowercase();
            }
            pos = next + len + 2;
        }
        match name.as_slice() {
            b"multi" => in_multi = true,
            b"exec" => in_multi = false,
            _ => {}
        }
    }
    Ok(!in_multi)
}

/// The RESP part of an AOF: after the RDB preamble, if there is one.
fn resp_part(data: &[u8]) -> Result<&[u8], String> {
    if !data.starts_with(b"REDIS") {
        return Ok(data);
    }
    let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
    let info = read_rdb(data, &mut dbs).map_err(|e| format!("unreadable RDB preamble: {e}"))?;
    Ok(&data[info.len.min(data.len())..])
}

/// The length of the RDB preamble of the file the log says was truncated (0: none).
fn resp_part_start(m: &mut MemoryStorage, log: &[String]) -> usize {
    let Some(name) = log.iter().find_map(|l| l.strip_prefix("!!! Truncating the AOF ")?.split(" at offset ").next()) else {
        return 0;
    };
    let data = m.read_all(name).or_else(|_| m.read_all(&format!("{DIR}/{name}"))).unwrap_or_default();
    resp_part(&data).map_or(0, |tail| data.len() - tail.len())
}

/// The first file (in load order) that Redis would find cut off, if any.
fn first_cut_file(m: &mut MemoryStorage, legacy: bool) -> Result<Option<String>, String> {
    if legacy {
        let Ok(data) = m.read_all(LEGACY_FILE) else { return Ok(None) };
        return Ok((!resp_ends_cleanly(resp_part(&data)?)?).then(|| LEGACY_FILE.to_string()));
    }
    let Ok(bytes) = m.read_all(MANIFEST) else { return Ok(None) };
    let am = AofManifest::parse(&bytes).map_err(|e| format!("unreadable manifest: {e}"))?;
    for ai in am.load_order() {
        let data = m.read_all(&format!("{DIR}/{}", ai.file_name)).map_err(|e| format!("missing {}: {e}", ai.file_name))?;
        if data.starts_with(b"REDIS") {
            continue; // an RDB base is synced before it is renamed: never cut
        }
        if !resp_ends_cleanly(&data).map_err(|e| format!("{}: {e}", ai.file_name))? {
            return Ok(Some(ai.file_name.clone()));
        }
    }
    Ok(None)
}

fn start(config: Config, m: MemoryStorage, now: i64) -> Result<Engine, String> {
    Engine::open(config, Box::new(m), now).map_err(|mut se| {
        let log: Vec<String> = se.engine.take_log().into_iter().map(|l| l.text).collect();
        format!("start failed: {:?}; log: {log:?}", se.lines)
    })
}

/// Checks one crash; says what it showed besides passing (a note, and whether a file was cut
/// off, which `aof-load-truncated no` refused).
fn check_point(run: &Run, p: &CrashPoint<Tag>, crash: &Crash) -> Result<(Note, bool), String> {
    let v = run.variant;
    let tag = &p.tag;
    let mut m = crash.apply(&p.machine);
    // The restart finds a freed disk.
    m.capacity = None;
    m.failing_syncs = 0;
    let restart_at = tag.now + 1_000;

    // The manifest is one that was installed, whole.
    if let Ok(bytes) = m.read_all(MANIFEST)
        && !run.manifests.contains(&bytes)
    {
        return Err(format!("the manifest on disk was never installed: {:?}", String::from_utf8_lossy(&bytes)));
    }
    let cut = first_cut_file(&mut m, v.legacy)?;

    // aof-load-truncated yes: starts without repair, on a prefix of the run.
    let mut e = start(v.config(true), m.clone(), restart_at).map_err(|e| format!("aof-load-truncated yes: {e}"))?;
    let fp = fingerprint(&e.srv);
    // Redis 6.2 never fsyncs the directory: until the kernel writes it back, a power loss
    // brings back `appendonly.aof` as it was before its creation or its last rewrite, and the
    // new file's writes are lost whatever the policy. There the recovered state need only be a
    // prefix; the policy's promise is checked on the same crash with the directory synced (so
    // the only extra loss is the directory's).
    let dir_window =
        v.legacy && !matches!(crash, Crash::ProcessKill) && p.machine.layers().iter().any(|f| f.name == LEGACY_FILE && !f.durable_name);
    let ((j, lost_entries_read), note) = if dir_window {
        let (j, lost) = recovered_prefix(run, p, crash, fp, &e.srv, false)?;
        let mut synced = p.machine.clone();
        synced.sync_dir("").ok();
        let mut m2 = crash.apply(&synced);
        m2.capacity = None;
        m2.failing_syncs = 0;
        let e2 = start(v.config(true), m2, restart_at).map_err(|e| format!("with the directory synced: {e}"))?;
        let (j2, _) =
            recovered_prefix(run, p, crash, fingerprint(&e2.srv), &e2.srv, true).map_err(|e| format!("with the directory synced: {e}"))?;
        ((j, lost), if j < j2 { Note::DirNotSynced } else { Note::Plain })
    } else {
        (recovered_prefix(run, p, crash, fp, &e.srv, true)?, Note::Plain)
    };

    // aof-load-truncated no: refuses exactly a cut-off file, else loads the same.
    match (&cut, start(v.config(false), m.clone(), restart_at)) {
        (None, Ok(e2)) if fingerprint(&e2.srv) != fp => return Err("aof-load-truncated no loaded another keyspace".into()),
        (None, Ok(_)) => {}
        (None, Err(err)) => return Err(format!("aof-load-truncated no refused a clean directory: {err}")),
        (Some(f), Ok(_)) => return Err(format!("aof-load-truncated no started although {f} is cut off")),
        (Some(f), Err(err)) => {
            let want = format!("Unexpected end of file reading the append only file {f}. You can:");
            if !err.contains(&want) {
                return Err(format!("aof-load-truncated no failed without Redis's message for {f}: {err}"));
            }
        }
    }

    // Redis 7.0.15 truncates a file cut inside a MULTI block after the MULTI and its queued
    // commands (the "Revert incomplete MULTI" rollback only runs at a clean EOF): the file
    // keeps a dangling MULTI, and whatever is appended after the restart joins that transaction.
    let dangling = match (e.srv.aof.incr_path.clone(), e.srv.storage.as_memory()) {
        (Some(incr), Some(m)) => {
            let data = m.read_all(&incr).unwrap_or_default();
            resp_part(&data).and_then(resp_ends_cleanly) == Ok(false)
        }
        _ => false,
    };

    // Redis 7.0.15 never moves `valid_up_to` past an RDB preamble: a file whose RESP tail is cut
    // before its first complete command is truncated at offset 0, preamble and all. The server
    // runs on what it loaded, but the file is empty: the next restart has only what came after.
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    let wiped = log.iter().any(|l| l.starts_with("!!! Truncating the AOF ") && l.ends_with(" at offset 0 !!!"))
        && resp_part_start(&mut m, &log) > 0;

    // The restarted server goes on: a write, a process kill, a restart that has it (or, after a
    // dangling MULTI or a wiped preamble, loses what Redis 7.0.15 loses).
    let c = e.connect();
    e.execute_line(c, &format!("SET crash-probe {j}"), restart_at);
    e.before_sleep(restart_at);
    let want = if wiped {
        let mut fresh = Engine::new(Config::default(), restart_at);
        let c = fresh.connect();
        fresh.execute_line(c, &format!("SET crash-probe {j}"), restart_at);
        fingerprint(&fresh.srv)
    } else if dangling {
        fp
    } else {
        fingerprint(&e.srv)
    };
    let after = start(v.config(true), take_machine(&mut e), restart_at + 1).map_err(|e| format!("second restart: {e}"))?;
    if fingerprint(&after.srv) != want {
        return Err(if wiped {
            "after a wiped preamble, the next restart must have only what followed (Redis 7.0.15)".into()
        } else if dangling {
            "after a dangling MULTI, the next restart must revert what followed it (Redis 7.0.15)".into()
        } else {
            "the write after the restart was lost by a process kill".into()
        });
    }
    let note = if wiped {
        Note::PreambleWiped
    } else if dangling {
        Note::DanglingMulti
    } else if lost_entries_read && note == Note::Plain {
        Note::EntriesReadLost
    } else {
        note
    };
    Ok((note, cut.is_some()))
}

/// What a crash point showed besides passing.
#[derive(PartialEq)]
enum Note {
    Plain,
    /// Redis 7.0.15's dangling-MULTI truncation: an acknowledged write after the restart is
    /// lost at the next one.
    DanglingMulti,
    /// Redis 7.0.15's truncation at offset 0 of a file whose RDB preamble is followed by a cut
    /// tail: the server runs, the file is empty, the next restart loses the preamble's keys.
    PreambleWiped,
    /// 6.2 mode: a power loss before the kernel wrote the directory back lost more than the
    /// policy promises (and the same crash with the directory synced did not).
    DirNotSynced,
    /// Redis 7.0.15's replay of XREADGROUP's `XCLAIM … LASTID`: a consumer group's
    /// `entries_read` comes back invalid (see [`Fp`]).
    EntriesReadLost,
}

/// The reference state the restarted keyspace `fp` is: the latest equal one the crash allows.
/// `promised`: within what the policy promises (every acknowledged or written command, and a
/// loss bounded in time), else any prefix up to the latest state.
/// Also says whether only the lax fingerprint matched (a group's `entries_read` lost as Redis
/// 7.0.15 loses it).
fn recovered_prefix(run: &Run, p: &CrashPoint<Tag>, crash: &Crash, fp: Fp, srv: &Server, promised: bool) -> Result<(usize, bool), String> {
    let (v, cps, tag) = (run.variant, &run.checkpoints, &p.tag);
    let lo = match crash {
        _ if !promised => 0,
        Crash::ProcessKill => tag.kill_req,
        _ if v.policy == AppendFsync::Always => tag.ack_req,
        _ => 0,
    };
    let hi = tag.upto.min(cps.len() - 1);
    // An exact match, else one that lost only what Redis 7.0.15's replay loses (see [`Fp`]).
    let exact = (lo..=hi).rev().find(|&j| cps[j].fp == fp);
    let lax = || (lo..=hi).rev().find(|&j| cps[j].fp.lax == fp.lax).filter(|_| has_invalid_entries_read(srv));
    let Some((j, lost_entries_read)) = exact.map(|j| (j, false)).or_else(|| lax().map(|j| (j, true))) else {
        let anywhere: Vec<usize> = (0..cps.len()).filter(|&j| cps[j].fp == fp).collect();
        return Err(format!(
            "the keyspace is not a state of the run between #{lo} (required) and #{hi} (latest); equal states: {anywhere:?}; keys: {}",
            keyspace_summary(srv)
        ));
    };
    // (A fault suspends the time bounds: a full disk keeps writes in aof_buf while it is full.)
    if promised && !matches!(crash, Crash::ProcessKill) && v.policy != AppendFsync::Always && run.fault.is_none() {
        let bound = match v.policy {
            // "At most 2 s": true of a fast disk. With a slow one, a write may wait up to 2 s
            // for the running fsync (postponed), then a second for its own, which takes L.
            AppendFsync::EverySec => EVERYSEC_LOSS_MS.max(1_000 + 2 * run.fsync_latency_ms + 2 * MAX_GAP_MS),
            _ => WRITEBACK_MS + MAX_GAP_MS,
        };
        // The end of the rewrite that was running at `t`, if it ended before the crash. (A step
        // that ends one rewrite may start the next: the later one counts.)
        let rewrite_end = |t: i64| {
            run.rewrites.iter().filter(|(from, to, _)| (*from..=*to).contains(&t) && *to <= tag.now).map(|(_, to, on)| (*to, *on)).max()
        };
        // A write made while the AOF was being turned on counts only if that rewrite completed
        // (a rewrite killed by `appendonly no` leaves it in no AOF: nothing was promised).
        let counts = |i: usize| cps[i].protected || (cps[i].waiting && rewrite_end(cps[i].t).is_some_and(|(_, on)| on));
        if let Some(first_lost) = (j + 1..=hi).find(|&i| counts(i)) {
            // A write made while the AOF was being turned on enters the AOF when that rewrite
            // completes; in 6.2, one made during any rewrite reaches the new file only with the
            // residual diff the parent appends at the end (which `no` never fsyncs). That is
            // when it starts to age.
            let t = cps[first_lost].t;
            let reached_file = match rewrite_end(t) {
                Some((to, _)) if cps[first_lost].waiting || (v.legacy && v.policy == AppendFsync::No) => to,
                _ => t,
            };
            let span = tag.now - reached_file;
            if span > bound {
                return Err(format!(
                    "lost {span} ms of writes (bound {bound} ms): recovered #{j}, first lost #{first_lost} `{}`",
                    cps[first_lost].what
                ));
            }
        }
    }
    Ok((j, lost_entries_read))
}

fn take_machine(e: &mut Engine) -> MemoryStorage {
    let mut s = e.take_storage();
    s.as_memory().map(|m| m.clone()).unwrap_or_default()
}

/// The files a restart found (for `AOF_LAB_CRASH_ONLY`).
fn dump_machine(m: &MemoryStorage) {
    let mut m = m.clone();
    for f in m.list(None).unwrap_or_default() {
        let bytes = m.read_all(&f).unwrap_or_default();
        let shown = if bytes.starts_with(b"REDIS") {
            format!("<RDB, {} bytes>", bytes.len())
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        eprintln!("    {f}: {shown:?}");
    }
}

fn keyspace_summary(srv: &Server) -> String {
    let mut out = Vec::new();
    for db in &srv.dbs {
        let mut keys: Vec<String> = db.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
        keys.sort();
        if !keys.is_empty() {
            out.push(format!("db{}: {}", db.id, keys.join(",")));
        }
    }
    out.join("; ")
}

#[derive(Default)]
struct Outcome {
    points: u64,
    dangling_multi: u64,
    entries_read_lost: u64,
    dir_not_synced: u64,
    preamble_wiped: u64,
    cut_refused: u64,
    /// Crash points also crashed over the real file system.
    fs_points: u64,
    /// Points by (policy, 7.0 or 6.2 mode, crash kind), for the summary table.
    by_kind: std::collections::BTreeMap<(String, &'static str, &'static str), u64>,
    violations: Vec<String>,
}

impl Outcome {
    fn add(&mut self, o: Outcome) {
        self.points += o.points;
        self.dangling_multi += o.dangling_multi;
        self.entries_read_lost += o.entries_read_lost;
        self.dir_not_synced += o.dir_not_synced;
        self.preamble_wiped += o.preamble_wiped;
        self.cut_refused += o.cut_refused;
        self.fs_points += o.fs_points;
        for (k, n) in o.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        self.violations.extend(o.violations);
    }
}

/// One crash point in this many is also crashed by the machine over the real file system
/// (fs-under-model), which must leave the very files the machine over RAM leaves.
const FS_EVERY: usize = 7;

/// Crashes the machine of `p` over a copy of its files on the native file system and compares
/// the files left with those of the same crash over RAM (`want`).
fn check_on_fs(p: &CrashPoint<Tag>, crash: &Crash, want: &MemoryStorage) -> Result<(), String> {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("aof-lab-matrix-fs-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    let mut ram = p.machine.inner().clone();
    let mut fs = FsStorage::new(&dir).map_err(|e| e.to_string())?;
    for d in ram.dirs() {
        fs.create_dir(d).map_err(|e| e.to_string())?;
    }
    for name in ram.list(None).map_err(|e| e.to_string())? {
        fs.open(&name, OpenMode::Create).map_err(|e| e.to_string())?;
        fs.append(&name, &ram.read_all(&name).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let mut m = p.machine.with_inner(fs);
    let outcome = m.crash(crash).map_err(|e| format!("fs-under-model: the crash failed on the real files: {e}"));
    let files = |s: &mut dyn Storage| -> Vec<(String, Vec<u8>)> {
        s.list(None).unwrap_or_default().into_iter().map(|n| (n.clone(), s.read_all(&n).unwrap_or_default())).collect()
    };
    let got = files(&mut m);
    let mut want = want.clone();
    let want = files(&mut want);
    drop(m);
    std::fs::remove_dir_all(&dir).ok();
    outcome?;
    if got != want {
        return Err(format!(
            "fs-under-model: the real files differ from the machine over RAM: {:?} vs {:?}",
            got.iter().map(|f| (&f.0, f.1.len())).collect::<Vec<_>>(),
            want.iter().map(|f| (&f.0, f.1.len())).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

fn check_run(run: &Run, verbose: bool) -> Outcome {
    let mut out = Outcome::default();
    if verbose && std::env::var("AOF_LAB_CRASH_TRACE").is_ok() {
        for (i, cp) in run.checkpoints.iter().enumerate() {
            eprintln!(
                "TRACE state #{i} t+{} {}{} {}",
                cp.t - T0,
                if cp.protected { "P" } else { "-" },
                if cp.waiting { "W" } else { "-" },
                cp.what
            );
        }
        for (i, p) in run.points.iter().enumerate() {
            eprintln!(
                "TRACE point {i} op {} step {} upto #{} kill #{} ack #{} `{}`",
                p.ops, p.tag.step, p.tag.upto, p.tag.kill_req, p.tag.ack_req, p.after
            );
        }
    }
    for (i, p) in run.points.iter().enumerate() {
        for crash in Crash::kinds(&p.machine) {
            if i % FS_EVERY == 0 {
                out.fs_points += 1;
                if let Err(why) = check_on_fs(p, &crash, &crash.apply(&p.machine)) {
                    out.violations.push(format!(
                        "{} (crash point {i}, {}): {why}",
                        job_label(run.variant, run.seed, run.fault),
                        crash.label()
                    ));
                }
            }
            out.points += 1;
            let kind = match crash {
                Crash::ProcessKill => "kill",
                Crash::PowerLoss => "power",
                Crash::TornWrite { .. } | Crash::TornOp | Crash::TornSequence { .. } => "torn",
            };
            let mode = if run.variant.legacy { "6.2" } else { "7.0" };
            let fault = if run.fault.is_some() { " (fault)" } else { "" };
            *out.by_kind.entry((format!("{}{fault}", run.variant.policy.name()), mode, kind)).or_default() += 1;
            let result = check_point(run, p, &crash);
            if let Ok((note, cut)) = &result {
                out.dangling_multi += u64::from(*note == Note::DanglingMulti);
                out.entries_read_lost += u64::from(*note == Note::EntriesReadLost);
                out.dir_not_synced += u64::from(*note == Note::DirNotSynced);
                out.preamble_wiped += u64::from(*note == Note::PreambleWiped);
                out.cut_refused += u64::from(*cut);
            }
            if let Err(why) = result {
                let repro = format!(
                    "AOF_LAB_CRASH_ONLY='{}' (crash point {i}: after storage op {} `{}`, step {}, t+{} ms; crash {})",
                    job_label(run.variant, run.seed, run.fault),
                    p.ops,
                    p.after,
                    p.tag.step,
                    p.tag.now - T0,
                    crash.label()
                );
                if verbose {
                    eprintln!("VIOLATION {repro}: {why}");
                    let rewrites: Vec<String> = run.rewrites.iter().map(|(a, b, _)| format!("{}..{}", a - T0, b - T0)).collect();
                    eprintln!("    rewrites (ms): {}", rewrites.join(" "));
                    dump_machine(&crash.apply(&p.machine));
                }
                out.violations.push(format!("{repro}: {why}"));
            }
        }
    }
    out
}

/// `everysec/rdb/ts#3`, `always/resp/nots#0@57:disk-full`.
fn job_label(v: Variant, seed: u64, fault: Option<(u64, Fault)>) -> String {
    match fault {
        Some((op, f)) => format!("{}#{seed}@{op}:{}", v.label(), f.label()),
        None => format!("{}#{seed}", v.label()),
    }
}

fn report(points: u64, violations: usize) {
    // Straight to stdout, past the test harness's capture: the soak script greps this line.
    let line = format!("SOAK crash-matrix: {points} crash points, {violations} violations\n");
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).ok();
    out.flush().ok();
}

#[test]
fn crash_matrix() {
    let only = std::env::var("AOF_LAB_CRASH_ONLY").ok();
    let seeds: u64 = std::env::var("AOF_LAB_SOAK_CRASH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEEDS);
    let mut jobs: Vec<(Variant, u64, Option<(u64, Fault)>)> = Vec::new();
    // A reproducer names its seed: `<config>#<seed>[@<op>:<fault>]`.
    let only_seed = only.as_ref().and_then(|o| o.split_once('#')).and_then(|(_, s)| s.split('@').next()?.parse::<u64>().ok());
    for seed in only_seed.map_or(0..seeds, |s| s..s + 1) {
        for v in Variant::all() {
            jobs.push((v, seed, None));
            if let Some(only) = &only {
                for op in 1..1_000 {
                    for f in [Fault::DiskFull, Fault::FsyncError] {
                        if job_label(v, seed, Some((op, f))) == *only {
                            jobs.push((v, seed, Some((op, f))));
                        }
                    }
                }
            }
        }
    }
    if let Some(only) = &only {
        jobs.retain(|&(v, s, f)| job_label(v, s, f) == *only);
        assert!(
            !jobs.is_empty(),
            "AOF_LAB_CRASH_ONLY={only}: no such workload (form: everysec/rdb/ts#3 or everysec/rdb/ts#3@57:disk-full)"
        );
    }
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let total = Mutex::new((Outcome::default(), RunStats::default()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(jobs.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(&(v, seed, fault)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let run = drive(v, seed, fault);
                    let mut runs = vec![run];
                    if only.is_none() && seed < FAULT_SEEDS.max(seeds / 10) {
                        let (first, ops) = (runs[0].stats.start_ops + 1, runs[0].stats.storage_ops);
                        for op in (first..=ops).step_by(FAULT_STRIDE as usize) {
                            for f in [Fault::DiskFull, Fault::FsyncError] {
                                runs.push(drive(v, seed, Some((op, f))));
                            }
                        }
                    }
                    for run in runs {
                        let out = check_run(&run, only.is_some());
                        let mut t = total.lock().unwrap_or_else(|p| p.into_inner());
                        t.0.add(out);
                        t.1 += run.stats;
                    }
                }
            });
        }
    });
    let (out, stats) = total.into_inner().unwrap_or_else(|p| p.into_inner());
    let (points, violations) = (out.points, &out.violations);
    report(points, violations.len());
    eprintln!(
        "crash matrix: {} workloads ({} configurations x {seeds} seeds), {points} crash points in {:.1} s",
        jobs.len(),
        Variant::all().len(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "crash matrix: {} commands ({} error replies), {} keys expired, {} rewrites, {} CONFIG SET appendonly, {} storage ops",
        stats.commands, stats.errors, stats.expired, stats.rewrites, stats.aof_toggles, stats.storage_ops
    );
    eprintln!("crash matrix: {} fault runs ({} -MISCONF replies, {} exits under always)", stats.fault_runs, stats.misconf, stats.exits);
    eprintln!(
        "crash matrix: {} of them (one point in {FS_EVERY}) also crashed by the machine over the real file system: same files as over RAM",
        out.fs_points
    );
    assert!(out.fs_points > 0 || only.is_some(), "fs-under-model ran");
    eprintln!("crash matrix: {} points found a file cut off (aof-load-truncated no refused each with Redis's message)", out.cut_refused);
    eprintln!(
        "crash matrix: {} points left a dangling MULTI (Redis 7.0.15's truncation; the next restart reverts what followed)",
        out.dangling_multi
    );
    eprintln!(
        "crash matrix: {} points had an RDB preamble truncated away (Redis 7.0.15's offset 0; the next restart loses its keys)",
        out.preamble_wiped
    );
    eprintln!(
        "crash matrix: {} points lost more than the policy promises in 6.2 mode's un-fsynced directory window (the same crash with the directory synced keeps it)",
        out.dir_not_synced
    );
    eprintln!(
        "crash matrix: {} points restarted with a consumer group's entries_read invalid (Redis 7.0.15's XREADGROUP propagates no counter)",
        out.entries_read_lost
    );
    eprintln!("crash matrix: | policy (fault runs) | mode | process kill | power loss | torn write |");
    let rows: std::collections::BTreeSet<(String, &str)> = out.by_kind.keys().map(|(p, m, _)| (p.clone(), *m)).collect();
    for (policy, mode) in rows {
        let n = |k: &'static str| out.by_kind.get(&(policy.clone(), mode, k)).copied().unwrap_or(0);
        eprintln!("crash matrix: | {policy} | {mode} | {} | {} | {} |", n("kill"), n("power"), n("torn"));
    }
    for v in violations.iter().take(10) {
        eprintln!("VIOLATION {v}");
    }
    if let Ok(path) = std::env::var("AOF_LAB_CRASH_VIOLATIONS") {
        std::fs::write(&path, violations.join("\n")).ok();
    }
    assert!(violations.is_empty(), "{} violations; the first: {}", violations.len(), violations[0]);
    if only.is_none() && seeds >= DEFAULT_SEEDS {
        assert!(points >= 10_000, "the default matrix must try at least 10 000 crash points, tried {points}");
    }
}

/// The oracle of `aof-load-truncated no` on hand-made files.
#[test]
fn resp_oracle() {
    let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    assert_eq!(resp_ends_cleanly(b""), Ok(true));
    assert_eq!(resp_ends_cleanly(set), Ok(true));
    for cut in 1..set.len() {
        assert_eq!(resp_ends_cleanly(&set[..cut]), Ok(false), "cut {cut}");
    }
    assert_eq!(resp_ends_cleanly(b"#TS:1700"), Ok(true), "an annotation needs no newline");
    let multi = b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    assert_eq!(resp_ends_cleanly(multi), Ok(false));
    assert_eq!(resp_ends_cleanly(&[&multi[..], b"*1\r\n$4\r\nEXEC\r\n"].concat()), Ok(true));
    assert!(resp_ends_cleanly(b"GARBAGE\r\n").is_err());
}

/// Found by the matrix: BGREWRITEAOF persists a manifest in which the old incr file is no longer
/// the last one. Redis 7.0.15 fsyncs that file only afterwards (a bio job), so a power loss that
/// tears its unsynced tail in between leaves a cut file that is not the last: no restart loads
/// it ("Fatal error: the truncated file is not the last file"). The engine fsyncs it first.
#[test]
fn an_incr_file_is_durable_before_it_stops_being_the_last() {
    let v = Variant::new(AppendFsync::EverySec, true, false, false);
    let rec = Recorder::shared(Tag::default());
    let storage = RecordingStorage::new(MemoryStorage::new(), rec.clone());
    let mut e = Engine::open(v.config(true), Box::new(storage), T0).map_err(|e| e.lines).expect("a fresh start");
    let c = e.connect();
    for (i, cmd) in ["SET a 1", "SET b 2", "BGREWRITEAOF"].iter().enumerate() {
        let now = T0 + 10 * (i as i64 + 1);
        e.execute_line(c, cmd, now);
        e.before_sleep(now);
    }
    e.cron(T0 + 100);
    let mut tried = 0;
    let points = std::mem::take(&mut rec.borrow_mut().points);
    for p in &points {
        for crash in Crash::kinds(&p.machine) {
            tried += 1;
            let m = crash.apply(&p.machine);
            if let Err(err) = start(v.config(true), m, T0 + 1_000) {
                panic!("after `{}`, crash {}: {err}", p.after, crash.label());
            }
        }
    }
    assert!(points.iter().any(|p| Crash::kinds(&p.machine).len() > 2), "some point must have an unsynced tail to tear");
    assert!(tried > 20);
}

/// The same, when that fsync fails (EIO): the old file stays the last one and the rewrite does
/// not start (found by the matrix's fault runs).
#[test]
fn a_failed_fsync_keeps_the_incr_file_last() {
    let v = Variant::new(AppendFsync::EverySec, true, false, false);
    let mut e = Engine::open(v.config(true), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).expect("a fresh start");
    let c = e.connect();
    for (i, cmd) in ["SET a 1", "SET b 2"].iter().enumerate() {
        let now = T0 + 10 * (i as i64 + 1);
        e.execute_line(c, cmd, now);
        e.before_sleep(now);
    }
    let manifest = e.srv.aof.manifest.clone();
    e.srv.storage.as_memory().expect("the memory backend").failing_syncs = 1;
    let reply = e.execute_line(c, "BGREWRITEAOF", T0 + 30);
    assert_eq!(
        reply,
        Some(Reply::err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."))
    );
    assert_eq!(e.srv.aof.manifest, manifest);
    let mut m = take_machine(&mut e);
    assert_eq!(m.list(Some(DIR)).unwrap_or_default().len(), 3, "base, incr, manifest: no stray incr file");
    m.torn_write("appendonlydir/appendonly.aof.1.incr.aof", 5);
    start(v.config(true), m, T0 + 1_000).expect("the torn file is the last one: it loads truncated");
}

/// Found by the matrix (a shifted workload, `always/rdb/nots/6.2#0`, 7 violations "the keyspace is
/// not a state of the run" after CONFIG SET appendonly no/yes had killed and restarted a
/// rewrite): the toggles were a coincidence. XREADGROUP without NOACK on a group whose
/// `entries_read` is invalid (as `XGROUP CREATE … 0` leaves it) estimates the counter, and
/// propagates only `XCLAIM … LASTID`, which does not carry it: every restart that replays that
/// XCLAIM has the counter invalid again, as a real redis-server 7.0.15 has after DEBUG LOADAOF
/// (`tests/aof_loadaof.rs`). The restart is a state of the run but for that counter: the matrix
/// accepts it and counts it apart. Both the minimal sequence and the shape it was found in, in
/// both AOF designs.
#[test]
fn a_replayed_xreadgroup_loses_entries_read_as_redis_does() {
    let minimal: &[&[&str]] =
        &[&["XGROUP CREATE x0 g 0 MKSTREAM", "XADD x0 * f v"], &["XREADGROUP GROUP g c COUNT 2 STREAMS x0 >"], &["SET a 1"]];
    let as_found: &[&[&str]] = &[
        &["XGROUP CREATE x0 g 0 MKSTREAM", "XADD x0 * f v"],
        &["CONFIG SET appendonly no"],
        &["SET s2 v4", "CONFIG SET appendonly yes"],
        &["CONFIG SET appendonly no", "CONFIG SET appendonly yes", "SET s0 v1"],
        &["SADD t0 m1"],
        &["SADD t0 m2"],
        &["XREADGROUP GROUP g c2 COUNT 2 STREAMS x0 >"],
        &["SET a 1"],
    ];
    for legacy in [true, false] {
        for turns in [minimal, as_found] {
            let v = Variant::new(AppendFsync::Always, true, false, legacy);
            let turns = turns.iter().map(|cmds| Turn { gap: 60, cmds: cmds.iter().map(|c| c.to_string()).collect() }).collect();
            let run = drive_turns(v, 0, None, turns);
            assert_eq!(run.stats.errors, 0);
            let out = check_run(&run, false);
            assert!(out.violations.is_empty(), "6.2 mode: {legacy}: {:?}", out.violations);
            assert!(out.entries_read_lost > 0, "6.2 mode: {legacy}: the restarts after the XREADGROUP lost the counter");
        }
    }
}

/// Redis 7.0.15's behaviour that the matrix counts as "dangling MULTI" (checked by hand against
/// a real redis-server 7.0.15: same offsets, same outcome). A file cut inside a command that
/// follows MULTI is truncated after the MULTI and its queued commands, not before the MULTI
/// (the "Revert incomplete MULTI/EXEC" rollback only runs at a clean end of file). What the
/// restarted server appends then joins that transaction, and the next restart reverts it: an
/// acknowledged write (here under `always`) is lost.
#[test]
fn a_cut_inside_multi_leaves_a_dangling_multi_as_redis_does() {
    let v = Variant::new(AppendFsync::Always, false, false, false);
    let mut m = MemoryStorage::new();
    m.create_dir(DIR).ok();
    let files: [(&str, &[u8]); 3] = [
        ("appendonly.aof.manifest", b"file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"),
        ("appendonly.aof.1.base.aof", b""),
        (
            "appendonly.aof.1.incr.aof",
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$",
        ),
    ];
    for (name, bytes) in files {
        let path = format!("{DIR}/{name}");
        m.open(&path, aof_lab::storage::OpenMode::Create).ok();
        m.write_at(&path, 0, bytes).ok();
    }
    let mut e = start(v.config(true), m, T0).expect("loads with aof-load-truncated yes");
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 92 !!!".to_string()), "{log:?}");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "KEYS *", T0), Some(Reply::Array(vec![Reply::bulk("a")])));
    assert_eq!(e.execute_line(c, "SET c 3", T0), Some(Reply::ok()));
    e.before_sleep(T0);
    let mut e = start(v.config(true), take_machine(&mut e), T0 + 1).expect("loads again");
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&"Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof".to_string()), "{log:?}");
    assert!(log.contains(&"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 50 !!!".to_string()), "{log:?}");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "EXISTS c", T0 + 1), Some(Reply::Int(0)), "the acknowledged SET c 3 is gone, as in Redis 7.0.15");
}

/// Redis 7.0.15's behaviour that the matrix counts as "preamble wiped" (checked by hand against
/// a real redis-server 7.0.15: an old-style `appendonly.aof` made of a `SAVE`d RDB and one byte
/// `*` is migrated, loaded with its 3 keys, and truncated "at offset 0"). `valid_up_to` only
/// moves after a RESP command, so a tail cut before its first complete command truncates the
/// file to nothing: the server runs on what it loaded, and the next restart has lost it.
#[test]
fn a_cut_right_after_an_rdb_preamble_truncates_the_file_to_nothing_as_redis_does() {
    let v = Variant::new(AppendFsync::Always, true, false, false);
    let mut src = Engine::new(Config::default(), T0);
    let c = src.connect();
    src.execute_line(c, "MSET a 1 b 2 c 3", T0);
    let mut file = aof_lab::rdb::write_rdb(&src.srv.dbs, T0 / 1000, 900_000, false);
    file.push(b'*');
    let mut m = MemoryStorage::new();
    m.open(LEGACY_FILE, aof_lab::storage::OpenMode::Create).ok();
    m.write_at(LEGACY_FILE, 0, &file).ok();
    let mut e = start(v.config(true), m, T0).expect("loads with aof-load-truncated yes");
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    for line in ["Reading the remaining AOF tail...", "!!! Truncating the AOF appendonly.aof at offset 0 !!!"] {
        assert!(log.contains(&line.to_string()), "{line}: {log:?}");
    }
    let c = e.connect();
    assert_eq!(e.execute_line(c, "DBSIZE", T0), Some(Reply::Int(3)), "the server runs on what it loaded");
    assert_eq!(e.srv.storage.len(&format!("{DIR}/appendonly.aof")), Ok(0), "but the base file is empty, as Redis leaves it");
    e.execute_line(c, "SET d 4", T0);
    e.before_sleep(T0);
    let mut e = start(v.config(true), take_machine(&mut e), T0 + 1).expect("loads again");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "KEYS *", T0 + 1), Some(Reply::Array(vec![Reply::bulk("d")])), "a, b and c are gone");
}
