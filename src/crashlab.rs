//! The crash lab: every state the simulated machine passes through, kept as a crash point.
//!
//! [`RecordingStorage`] wraps the simulated machine ([`MemoryStorage`]). Before every storage
//! operation that changes it (and before every kernel writeback), it keeps a copy of the machine
//! as it is: a crash right there leaves exactly that copy behind. [`Crash`] turns a copy into what
//! a restart finds, for each crash kind:
//!
//! | crash        | what the restart finds                                                  |
//! |--------------|-------------------------------------------------------------------------|
//! | process kill | the page cache (the kernel survives the process)                        |
//! | power loss   | the disk: synced bytes, synced directory entries                        |
//! | torn write   | the disk, plus a prefix of one file's unsynced tail                     |
//!
//! Each copy carries a tag `T`, set by the host between its own steps (what had been executed,
//! acknowledged, written, and when). A storage state lasts until the next operation that changes
//! it, so a point's tag is the last one set before that operation: the most demanding moment to
//! crash in that state. Operations that change nothing (opening an existing file, syncing a clean
//! one) add no point of their own.
//!
//! One run records every crash point, so no workload is re-run per point; the cost is one copy of
//! the (small) machine per operation. The manifests installed along the way (by a rename onto
//! `*.manifest`) are kept too, so that a restart can be checked to find the old or the new one,
//! never a mix.

use std::cell::RefCell;
use std::rc::Rc;

pub use crate::storage::Crash;
use crate::storage::{MemoryStorage, OpenMode, Result, Storage};

/// A fault the machine starts showing at a given storage operation. Not a crash: the process
/// lives on and must cope (`-MISCONF`, retries, or Redis's `exit(1)` under `always`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The disk fills up (7 bytes left) until the host frees it: a short write, then ENOSPC.
    DiskFull,
    /// The next fsync fails with EIO.
    FsyncError,
}

impl Fault {
    pub fn label(self) -> &'static str {
        match self {
            Fault::DiskFull => "disk-full",
            Fault::FsyncError => "fsync-error",
        }
    }
}

/// One state of the machine: a crash anywhere between the operation that made it and the next
/// one that changes it leaves this behind.
#[derive(Clone, Debug)]
pub struct CrashPoint<T> {
    /// Storage operations done before this state (the state is "after op `ops`").
    pub ops: u64,
    /// The operation that made this state ("write appendonlydir/… @0 +23").
    pub after: String,
    pub machine: MemoryStorage,
    pub tag: T,
}

/// The shared record of a run: the host keeps one handle, the storage the other.
#[derive(Debug)]
pub struct Recorder<T> {
    /// What the host says about "now"; copied into each point.
    pub tag: T,
    pub points: Vec<CrashPoint<T>>,
    /// Every manifest that was installed (renamed into place), in order.
    pub manifests: Vec<Vec<u8>>,
    /// Storage operations seen (reads excluded).
    pub ops: u64,
    /// Keep points only for states made by operations in this range (and the final one, at
    /// [`Recorder::finish`]): a run that is only checked around one operation copies less.
    pub window: Option<(u64, u64)>,
    /// The machine changed since the last point.
    dirty: bool,
    /// The current state has a point (the last one).
    recorded: bool,
    last_op: String,
}

impl<T: Clone> Recorder<T> {
    pub fn new(tag: T) -> Recorder<T> {
        Recorder {
            tag,
            points: Vec::new(),
            manifests: Vec::new(),
            ops: 0,
            window: None,
            dirty: true,
            recorded: false,
            last_op: "start".into(),
        }
    }

    pub fn shared(tag: T) -> Rc<RefCell<Recorder<T>>> {
        Rc::new(RefCell::new(Recorder::new(tag)))
    }

    /// Makes sure the machine's current state has a point carrying the current tag.
    pub fn touch(&mut self, machine: &MemoryStorage) {
        self.touch_if(machine, self.window.is_none_or(|(from, to)| (from..=to).contains(&self.ops)));
    }

    /// The final state always gets its point.
    pub fn finish(&mut self, machine: &MemoryStorage) {
        self.touch_if(machine, true);
    }

    fn touch_if(&mut self, machine: &MemoryStorage, keep: bool) {
        if self.dirty || (keep && !self.recorded) {
            self.recorded = keep;
            if keep {
                self.points.push(CrashPoint {
                    ops: self.ops,
                    after: self.last_op.clone(),
                    machine: machine.clone(),
                    tag: self.tag.clone(),
                });
            }
            self.dirty = false;
        } else if self.recorded
            && let Some(p) = self.points.last_mut()
        {
            p.tag = self.tag.clone();
        }
    }

    fn before(&mut self, machine: &MemoryStorage) {
        self.touch(machine);
        self.ops += 1;
    }

    fn after(&mut self, changed: bool, op: impl FnOnce() -> String) {
        if changed {
            self.dirty = true;
            self.last_op = op();
        }
    }

    /// Hands the recorded points over (the last one stays, its tag may still move on).
    pub fn take_points(&mut self) -> Vec<CrashPoint<T>> {
        let keep = self.points.pop();
        let out = std::mem::take(&mut self.points);
        self.points.extend(keep);
        out
    }
}

/// A [`MemoryStorage`] that records a crash point before every operation that changes it.
pub struct RecordingStorage<T> {
    inner: MemoryStorage,
    rec: Rc<RefCell<Recorder<T>>>,
    /// A fault to start at the given operation (1-based, as [`Recorder::ops`] counts).
    fault: Option<(u64, Fault)>,
}

impl<T: Clone> RecordingStorage<T> {
    pub fn new(inner: MemoryStorage, rec: Rc<RefCell<Recorder<T>>>) -> RecordingStorage<T> {
        RecordingStorage { inner, rec, fault: None }
    }

    /// Makes operation `op` (and what follows) meet `fault`.
    pub fn with_fault(mut self, op: u64, fault: Fault) -> RecordingStorage<T> {
        self.fault = Some((op, fault));
        self
    }

    /// Runs one operation between the two records: a point for the state before it, and a
    /// note whether it changed the machine.
    fn op<R>(&mut self, changes: bool, what: impl FnOnce() -> String, run: impl FnOnce(&mut MemoryStorage) -> Result<R>) -> Result<R> {
        let n = {
            let mut rec = self.rec.borrow_mut();
            rec.before(&self.inner);
            rec.ops
        };
        if let Some((at, fault)) = self.fault
            && at == n
        {
            self.fault = None;
            match fault {
                Fault::DiskFull => self.inner.capacity = Some(self.inner.bytes_used() + 7),
                Fault::FsyncError => self.inner.failing_syncs += 1,
            }
        }
        let r = run(&mut self.inner);
        self.rec.borrow_mut().after(changes && r.is_ok(), what);
        r
    }
}

impl<T: Clone + 'static> Storage for RecordingStorage<T> {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        let changes = !self.inner.exists(name) || (mode == OpenMode::Truncate && self.inner.len(name).unwrap_or(0) > 0);
        self.op(changes, || format!("open {name} {mode:?}"), |m| m.open(name, mode))
    }
    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.inner.len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.inner.read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let changes = !bytes.is_empty();
        self.op(changes, || format!("write {name} @{offset} +{}", bytes.len()), |m| m.write_at(name, offset, bytes))
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let changes = self.inner.len(name).is_ok_and(|l| l != len);
        self.op(changes, || format!("truncate {name} {len}"), |m| m.truncate(name, len))
    }
    fn sync(&mut self, name: &str) -> Result<()> {
        let changes = !self.inner.is_synced(name);
        self.op(changes, || format!("fsync {name}"), |m| m.sync(name))
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        if to.ends_with(".manifest")
            && let Ok(bytes) = self.inner.read_all(from)
        {
            self.rec.borrow_mut().manifests.push(bytes);
        }
        self.op(true, || format!("rename {from} {to}"), |m| m.rename(from, to))
    }
    fn remove(&mut self, name: &str) -> Result<()> {
        self.op(true, || format!("unlink {name}"), |m| m.remove(name))
    }
    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        let changes = !self.inner.names_synced();
        self.op(changes, || format!("fsync dir {dir:?}"), |m| m.sync_dir(dir))
    }
    fn create_dir(&mut self, dir: &str) -> Result<()> {
        let changes = !self.inner.dir_exists(dir);
        self.op(changes, || format!("mkdir {dir}"), |m| m.create_dir(dir))
    }
    fn dir_exists(&self, dir: &str) -> bool {
        self.inner.dir_exists(dir)
    }
    fn tick(&mut self, now_ms: i64) {
        if self.inner.writeback_due(now_ms) {
            let _ = self.op(
                true,
                || format!("kernel writeback at {now_ms}"),
                |m| {
                    m.set_now(now_ms);
                    Ok(())
                },
            );
        } else {
            self.inner.set_now(now_ms);
        }
    }
    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        Some(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_per_changed_state_with_the_latest_tag() {
        let rec = Recorder::shared(0u32);
        let mut s = RecordingStorage::new(MemoryStorage::new(), rec.clone());
        s.open("f", OpenMode::Create).unwrap(); // point: the empty machine, which lasted until here (tag 0)
        rec.borrow_mut().tag = 1;
        s.open("f", OpenMode::Create).unwrap(); // point: "f" exists, empty
        s.append("f", b"abc").unwrap(); // same state still: its point moves on (still tag 1)
        rec.borrow_mut().tag = 2;
        s.sync("f").unwrap(); // point: "abc" in the cache
        s.sync("f").unwrap(); // nothing to sync
        let mut r = rec.borrow_mut();
        r.touch(s.as_memory().unwrap());
        let points: Vec<(u64, u32, String)> = r.points.iter().map(|p| (p.ops, p.tag, p.after.clone())).collect();
        assert_eq!(
            points,
            vec![
                (0, 0, "start".to_string()),
                (1, 1, "open f Create".to_string()),
                (3, 2, "write f @0 +3".to_string()),
                (4, 2, "fsync f".to_string()),
            ]
        );
        let torn = Crash::kinds(&r.points[2].machine);
        assert_eq!(torn, vec![Crash::ProcessKill, Crash::PowerLoss], "the name of f is not on disk: nothing to tear");
    }

    #[test]
    fn a_window_keeps_its_points_and_the_final_one() {
        let rec = Recorder::shared(0u32);
        rec.borrow_mut().window = Some((2, 3));
        let mut s = RecordingStorage::new(MemoryStorage::new(), rec.clone());
        for (i, chunk) in [&b"a"[..], b"b", b"c", b"d", b"e"].iter().enumerate() {
            rec.borrow_mut().tag = i as u32;
            s.open("f", OpenMode::Create).unwrap();
            s.append("f", chunk).unwrap();
        }
        rec.borrow_mut().tag = 9;
        let mut r = rec.borrow_mut();
        r.finish(s.as_memory().unwrap());
        let points: Vec<(u64, u32, String)> = r.points.iter().map(|p| (p.ops, p.tag, p.after.clone())).collect();
        // Op 3 (an open of an existing file) changed nothing: the state made by op 2 lasted
        // until op 4 and is the only one in the window.
        assert_eq!(points, vec![(2, 1, "write f @0 +1".into()), (10, 9, "write f @4 +1".into())]);
    }

    #[test]
    fn torn_writes_of_each_unsynced_tail() {
        let mut m = MemoryStorage::new();
        m.open("f", OpenMode::Create).unwrap();
        m.sync_dir("").unwrap();
        m.append("f", b"0123456789").unwrap();
        let kinds = Crash::kinds(&m);
        let labels: Vec<String> = kinds.iter().map(Crash::label).collect();
        assert_eq!(labels, ["kill", "power", "torn:f:1", "torn:f:5", "torn:f:9"]);
        assert_eq!(kinds[3].apply(&m).read_all("f").unwrap(), b"01234");
        assert_eq!(kinds[1].apply(&m).read_all("f").unwrap(), b"");
        assert_eq!(kinds[0].apply(&m).read_all("f").unwrap(), b"0123456789");
    }

    #[test]
    fn a_fault_starts_at_its_operation() {
        let mut s = RecordingStorage::new(MemoryStorage::new(), Recorder::shared(())).with_fault(3, Fault::DiskFull);
        s.open("f", OpenMode::Create).unwrap();
        assert_eq!(s.append("f", b"0123456789").unwrap(), 10, "op 2 is before the fault");
        assert_eq!(s.append("f", b"0123456789").unwrap(), 7, "op 3: 7 bytes left");
        assert!(s.append("f", b"x").is_err());
        let mut s = RecordingStorage::new(MemoryStorage::new(), Recorder::shared(())).with_fault(2, Fault::FsyncError);
        s.open("f", OpenMode::Create).unwrap();
        assert!(s.sync("f").is_err());
        assert!(s.sync("f").is_ok());
    }

    #[test]
    fn installed_manifests_are_kept() {
        let rec = Recorder::shared(());
        let mut s = RecordingStorage::new(MemoryStorage::new(), rec.clone());
        s.open("tmp", OpenMode::Truncate).unwrap();
        s.write_at("tmp", 0, b"file a seq 1 type b\n").unwrap();
        s.rename("tmp", "x.manifest").unwrap();
        assert_eq!(rec.borrow().manifests, vec![b"file a seq 1 type b\n".to_vec()]);
    }
}
