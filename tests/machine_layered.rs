//! The simulated machine over a backend whose files are real: the native file system in a
//! temporary directory. Power losses and torn writes must leave the real files exactly as the
//! machine over RAM leaves its own (the same survivors), for a fixed history
//! (`conformance::run_machine_crashes`, which the browser backends run too), for random
//! histories of storage operations (proptest), and for the lab itself: the same workload and
//! crash on the machine over RAM and over the file system give the same report, keys and files.

// Native only: real files, proptest.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aof_lab::Config;
use aof_lab::lab::Lab;
use aof_lab::storage::conformance::{self, AsyncHost, files};
use aof_lab::storage::{Crash, FsStorage, Machine, MemoryStorage, OpenMode, Storage};
use proptest::prelude::*;

fn tmp(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!("aof-lab-layered-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&p, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The file system under a directory, kept across close/open (a process restart).
struct FsHost(PathBuf);

impl AsyncHost for FsHost {
    async fn open(&mut self) -> Box<dyn Storage> {
        Box::new(FsStorage::new(&self.0).unwrap())
    }
    async fn close(&mut self, s: Box<dyn Storage>) {
        drop(s);
    }
    async fn wipe(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        std::fs::create_dir_all(&self.0).unwrap();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the file system host never waits"),
    }
}

#[test]
fn each_crash_leaves_the_real_files_as_the_machine_over_ram_does() {
    let dir = tmp("fixed");
    block_on(conformance::run_machine_crashes(&mut FsHost(dir.clone())));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_machine_over_the_file_system_passes_the_storage_suite() {
    conformance::run_all(&mut || Box::new(Machine::over(FsStorage::new(tmp("suite")).unwrap()).unwrap()));
}

// ----- random histories -----

const NAMES: &[&str] = &["d/a", "d/b", "d/c", "top"];

#[derive(Clone, Debug)]
enum Op {
    Open(usize, u8),
    Append(usize, u8, u8),
    WriteAt(usize, u8, u8),
    Truncate(usize, u8),
    Sync(usize),
    Rename(usize, usize),
    Remove(usize),
    SyncDir,
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        (n.clone(), 0..3u8).prop_map(|(f, m)| Op::Open(f, m)),
        (n.clone(), 1..40u8, any::<u8>()).prop_map(|(f, l, b)| Op::Append(f, l, b)),
        (n.clone(), any::<u8>(), any::<u8>()).prop_map(|(f, o, b)| Op::WriteAt(f, o, b)),
        (n.clone(), any::<u8>()).prop_map(|(f, l)| Op::Truncate(f, l)),
        n.clone().prop_map(Op::Sync),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        n.prop_map(Op::Remove),
        Just(Op::SyncDir),
        (0..20_000u16).prop_map(Op::Tick),
    ]
}

/// Applies `op`; the outcome as text (an error kind, or "ok").
fn apply(s: &mut dyn Storage, op: &Op, now: &mut i64) -> String {
    let r = match op {
        Op::Open(f, m) => s.open(NAMES[*f], [OpenMode::Existing, OpenMode::Create, OpenMode::Truncate][*m as usize]).map(|_| ()),
        Op::Append(f, l, b) => s.append(NAMES[*f], &vec![*b; *l as usize]).map(|_| ()),
        Op::WriteAt(f, o, b) => s.write_at(NAMES[*f], u64::from(*o), &[*b, b.wrapping_add(1), b.wrapping_add(2)]).map(|_| ()),
        Op::Truncate(f, l) => s.truncate(NAMES[*f], u64::from(*l)),
        Op::Sync(f) => s.sync(NAMES[*f]),
        Op::Rename(a, b) => s.rename(NAMES[*a], NAMES[*b]),
        Op::Remove(f) => s.remove(NAMES[*f]),
        Op::SyncDir => s.sync_dir("d").and_then(|_| s.sync_dir("")),
        Op::Tick(ms) => {
            *now += i64::from(*ms);
            s.tick(*now);
            Ok(())
        }
    };
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{:?}", e.kind),
    }
}

fn crashes(ram: &MemoryStorage) -> Vec<Crash> {
    let mut out = Crash::kinds(ram);
    out.extend([Crash::TornOp, Crash::TornSequence { seed: 3 }, Crash::TornSequence { seed: 11 }]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every operation answers the same over RAM and over the file system, and every crash of
    /// the final state leaves the same files in both (the file system's after a real restore).
    #[test]
    fn random_histories_crash_alike(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tmp("prop");
        let mut ram = MemoryStorage::new();
        let mut fs = Machine::over(FsStorage::new(&dir).unwrap()).unwrap();
        for s in [&mut ram as &mut dyn Storage, &mut fs] {
            s.create_dir("d").unwrap();
        }
        let (mut t1, mut t2) = (0, 0);
        for op in &ops {
            let a = apply(&mut ram, op, &mut t1);
            let b = apply(&mut fs, op, &mut t2);
            prop_assert_eq!(&a, &b, "{:?}", op);
        }
        prop_assert_eq!(files(&mut ram), files(&mut fs));
        prop_assert_eq!(ram.layers(), fs.layers());
        for crash in crashes(&ram) {
            let want = files(&mut Crash::apply(&crash, &ram));
            let copy = tmp("prop-crash");
            copy_dir(&dir, &copy);
            let mut crashed = fs.with_inner(FsStorage::new(&copy).unwrap());
            crashed.crash(&crash).unwrap();
            prop_assert_eq!(&files(&mut crashed), &want, "{:?}", crash);
            // What a restart of the process finds on the real disk.
            let mut reopened = Machine::over(FsStorage::new(&copy).unwrap()).unwrap();
            prop_assert_eq!(&files(&mut reopened), &want, "{:?} after a reopen", crash);
            std::fs::remove_dir_all(copy).ok();
        }
        std::fs::remove_dir_all(dir).ok();
    }
}

// ----- the lab over the file system -----

const T0: i64 = 1_700_000_000_000;

fn lab_over(storage: Box<dyn Storage>, policy: &str) -> Lab {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", policy, true).unwrap();
    c.set("lab-rewrite-keys-per-tick", "2", true).unwrap();
    Lab::start(c, storage, T0)
}

/// A workload with writes over several seconds, a stepped rewrite, and writes during it.
fn workload(l: &mut Lab) -> i64 {
    let mut t = T0;
    for i in 0..12 {
        l.execute_batch(&[format!("SET k{i} {i}"), format!("RPUSH list{} x{i}", i % 3)], t);
        t += 350;
        l.tick(t);
        if i == 5 {
            l.execute_line("BGREWRITEAOF", t);
        }
    }
    l.execute_line("EXPIRE k1 100", t);
    l.execute_line("INCR counter", t + 10);
    t + 20
}

fn lab_files(l: &mut Lab) -> BTreeMap<String, Vec<u8>> {
    files(l.engine.srv.storage.as_mut())
}

#[test]
fn the_lab_crashes_alike_over_ram_and_over_the_file_system() {
    for policy in ["always", "everysec", "no"] {
        for kind in ["kill", "power", "torn", "torn-seq"] {
            let dir = tmp("lab");
            let mut ram = lab_over(Box::new(MemoryStorage::new()), policy);
            let mut fs = lab_over(Box::new(Machine::over(FsStorage::new(&dir).unwrap()).unwrap()), policy);
            let t = workload(&mut ram);
            workload(&mut fs);
            assert_eq!(lab_files(&mut ram), lab_files(&mut fs), "{policy}: the same files before the crash");
            let a = ram.crash(kind, t).unwrap().clone();
            let b = fs.crash(kind, t).unwrap().clone();
            assert_eq!(a, b, "{policy}/{kind}: the same report");
            assert_eq!(lab_files(&mut ram), lab_files(&mut fs), "{policy}/{kind}: the same survivors");
            // The real directory holds them: a new process on it starts the same way.
            drop(fs);
            let mut again = lab_over(Box::new(Machine::over(FsStorage::new(&dir).unwrap()).unwrap()), policy);
            assert_eq!(again.is_down().is_some(), !a.started, "{policy}/{kind}");
            if a.started {
                assert!(again.snapshot().contains(&format!("\"keys\":{}", a.keys_after)), "{policy}/{kind}: {a:?}");
            }
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

// ----- the RAM mirror of a real backend (`src/storage/tee.rs`), the timeline's present -----

/// The mirror over the file system passes the conformance suite, persists across a reopen, and
/// under the simulated machine crashes as RAM does (the real files cut back, a reopen finds them).
#[test]
fn the_ram_mirror_over_fs_passes_the_suites_and_crashes_as_ram_does() {
    let dir = tmp("tee");
    block_on(conformance::run_all_async(&mut conformance::TeeHost::new(FsHost(dir.clone()))));
    block_on(conformance::run_persistence(&mut conformance::TeeHost::new(FsHost(dir.clone()))));
    block_on(conformance::run_machine_crashes(&mut conformance::TeeHost::new(FsHost(dir.clone()))));
    let _ = std::fs::remove_dir_all(&dir);
}
