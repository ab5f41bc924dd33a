//! The simulated machine: a Linux-like kernel (page cache, fsync, writeback, power loss) as a
//! decorator over any real [`Storage`]: RAM, the native file system, OPFS or IndexedDB.
//!
//! The backend underneath holds what processes read: for this model it is the **page cache**.
//! The decorator records, per file (an inode), which of those bytes are on the **disk**, and per
//! directory entry whether the entry itself is on disk:
//!
//! * a `write` lands in the backend at once (the page cache) and marks the bytes dirty;
//! * `sync` (fsync) makes the file's bytes durable (and asks the backend to flush, so that on a
//!   real backend the model never claims more than the browser or the OS keeps);
//! * the simulated kernel writes dirty data back once it has been dirty for `writeback_ms`
//!   (Linux's `dirty_expire_centisecs`, 30 s by default);
//! * creating, renaming and removing a file change the namespace at once and the on-disk
//!   namespace at `sync_dir` (fsync of the directory) or at writeback.
//!
//! A crash then keeps exactly what a real machine would, and it is applied **to the backend's
//! real files**, so a restart (or, in the browser, a reload) finds the survivors:
//!
//! | crash ([`Crash`])   | what survives                                                          |
//! |---------------------|------------------------------------------------------------------------|
//! | process kill        | everything written (the page cache is the kernel's, not the process's) |
//! | power loss          | only synced bytes and synced directory entries ("lose the unsynced")   |
//! | torn op             | a power loss, but the unsynced writes of the last file written reached |
//! |                     | the disk in order and only a prefix of the last one did                |
//! | torn sequence       | a power loss, but only *some* of that file's unsynced writes reached   |
//! |                     | the disk, not in order: a hole of zeros can sit before valid bytes     |
//! | disk full           | writes are short, then fail with ENOSPC (`capacity`)                   |
//! | fsync error         | `sync` fails with EIO and the data stays unsynced (`failing_syncs`)    |
//!
//! The crash kinds are the vocabulary of LazyFS, the fault-injecting file system used by Jepsen
//! ("lose unsynced", "torn-op", "torn-seq").
//!
//! How the disk is known without a second copy of every file: for each inode the model keeps its
//! length on disk, the lowest offset where the page cache may differ from the disk
//! (`dirty_from`), and the disk's own bytes from there (`disk_tail`), captured from the backend
//! just before a write or truncation changes them. An append-only file appended to and synced
//! keeps nothing but two numbers. A file replaced or removed while the disk's directory still
//! names it keeps its disk image in memory (an *orphan*) until the directory is synced.
//!
//! Compared with a real kernel: pages are bytes (a torn write can end anywhere); a directory
//! sync makes every pending entry durable, in every directory (the lab's files live in at most
//! two); directories themselves are always durable; after the host process itself dies (a page
//! reload), the model starts again with everything the backend holds on disk.

use std::any::Any;
use std::collections::BTreeMap;

use super::{Error, ErrorKind, OpenMode, Result, Storage, parent};

type Ino = u64;

/// Names of the model's own temporary files in the backend (during a crash's restore). They are
/// never listed, and leftovers (the host died during a restore) are deleted at start.
const HIDDEN_PREFIX: &str = ".aof-lab-machine-";

/// Unsynced writes remembered per file for the torn kinds; older ones are merged.
const MAX_WRITES: usize = 64;

fn hidden(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|base| base.starts_with(HIDDEN_PREFIX))
}

/// A crash of the machine (see the module table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Crash {
    ProcessKill,
    /// "Lose the unsynced".
    PowerLoss,
    /// `keep` bytes of `file`'s unsynced tail (from the first byte the disk lacks) reached the
    /// disk, the rest did not. The crash matrix tries several cuts of every tail.
    TornWrite {
        file: String,
        keep: usize,
    },
    /// The last file written: its unsynced writes reached the disk in order, except the second
    /// half of the last one.
    TornOp,
    /// The last file written: some of its unsynced writes reached the disk and some did not,
    /// chosen by `seed`; at least one that did comes after one that did not.
    TornSequence {
        seed: u64,
    },
}

impl Crash {
    /// The lab's names: `kill`, `power`, `torn` (a torn op), `torn-seq`.
    pub fn parse(kind: &str, seed: u64) -> Option<Crash> {
        Some(match kind {
            "kill" => Crash::ProcessKill,
            "power" => Crash::PowerLoss,
            "torn" => Crash::TornOp,
            "torn-seq" => Crash::TornSequence { seed },
            _ => return None,
        })
    }

    /// `kill`, `power`, `torn`, `torn-seq`, `torn:<file>:<keep>` (for reproducers).
    pub fn label(&self) -> String {
        match self {
            Crash::ProcessKill => "kill".into(),
            Crash::PowerLoss => "power".into(),
            Crash::TornWrite { file, keep } => format!("torn:{file}:{keep}"),
            Crash::TornOp => "torn".into(),
            Crash::TornSequence { .. } => "torn-seq".into(),
        }
    }

    /// Every crash kind that makes a difference on `machine`: a process kill, a power loss, and
    /// torn writes of each unsynced tail (1 byte, half of it, all but 1 byte).
    pub fn kinds<S: Storage>(machine: &Machine<S>) -> Vec<Crash> {
        let mut out = vec![Crash::ProcessKill, Crash::PowerLoss];
        for (file, tail) in machine.unsynced_tails() {
            let mut keeps = vec![1, tail / 2, tail.saturating_sub(1)];
            keeps.sort_unstable();
            keeps.dedup();
            for keep in keeps.into_iter().filter(|&k| k > 0 && k < tail) {
                out.push(Crash::TornWrite { file: file.clone(), keep });
            }
        }
        out
    }

    /// What a restart finds after this crash of a copy of `machine`.
    pub fn apply<S: Storage + Clone>(&self, machine: &Machine<S>) -> Machine<S> {
        let mut m = machine.clone();
        // A backend in RAM cannot fail to restore.
        let _ = m.crash(self);
        m
    }
}

/// What a crash let through of the torn file: its name, and the byte ranges `(offset, len)` of
/// its page cache that reached the disk beyond what was already there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashOutcome {
    pub torn: Option<(String, Vec<(u64, u64)>)>,
}

/// What a view of one file shows: how many bytes are only in the page cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLayers {
    pub name: String,
    /// Bytes a process reads.
    pub len: u64,
    /// Bytes that would survive a power loss now.
    pub durable_len: u64,
    /// The file's directory entry would survive a power loss.
    pub durable_name: bool,
}

/// Counters shown by the lab and used by benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    pub writes: u64,
    pub bytes_written: u64,
    pub syncs: u64,
    pub dir_syncs: u64,
    pub writebacks: u64,
}

/// The model of one inode (its bytes are in the backend, under its current name).
#[derive(Clone, Debug, Default)]
struct Inode {
    /// Length in the page cache (the backend's length).
    len: u64,
    disk_len: u64,
    /// The page cache and the disk agree on `[0, dirty_from)`; `None`: on every byte. Never
    /// above `disk_len`.
    dirty_from: Option<u64>,
    /// The disk's bytes `[dirty_from, disk_len)`, which the page cache no longer holds.
    disk_tail: Vec<u8>,
    /// Simulated time of the first change since the file was last clean (for writeback).
    dirty_since: i64,
    /// The writes since the file was last clean, oldest first: `(offset, len)`.
    writes: Vec<(u64, u64)>,
}

impl Inode {
    fn clean(len: u64) -> Inode {
        Inode { len, disk_len: len, ..Inode::default() }
    }

    fn unsynced(&self) -> u64 {
        self.dirty_from.map_or(0, |from| self.len.saturating_sub(from))
    }

    /// The disk now holds what the page cache does.
    fn write_back(&mut self) {
        *self = Inode::clean(self.len);
    }

    fn note_write(&mut self, offset: u64, len: u64) {
        if self.writes.len() == MAX_WRITES {
            let (o1, l1) = self.writes.remove(0);
            let (o2, l2) = self.writes[0];
            let start = o1.min(o2);
            self.writes[0] = (start, (o1 + l1).max(o2 + l2) - start);
        }
        self.writes.push((offset, len));
    }
}

/// The kernel model over `S` (see the module docs).
#[derive(Clone, Debug)]
pub struct Machine<S> {
    inner: S,
    inodes: BTreeMap<Ino, Inode>,
    next_ino: Ino,
    /// The namespace processes see (the backend's names).
    names: BTreeMap<String, Ino>,
    /// The namespace on disk.
    disk_names: BTreeMap<String, Ino>,
    names_dirty_since: Option<i64>,
    /// Disk images of inodes only the on-disk namespace still names.
    orphans: BTreeMap<Ino, Vec<u8>>,
    now_ms: i64,
    /// The inode of the latest write not yet on disk (the file a torn op or sequence tears).
    last_write: Option<Ino>,
    /// Delay after which the simulated kernel writes dirty data back (ms). `None`: never.
    pub writeback_ms: Option<i64>,
    /// Total bytes the disk holds; writes beyond are short, then fail with ENOSPC.
    pub capacity: Option<u64>,
    /// The next `n` fsyncs fail with EIO.
    pub failing_syncs: u32,
    pub stats: MemoryStats,
}

impl<S: Storage> Machine<S> {
    /// The model over an empty backend (nothing to read).
    pub(super) fn over_empty(inner: S) -> Machine<S> {
        Machine {
            inner,
            inodes: BTreeMap::new(),
            next_ino: 1,
            names: BTreeMap::new(),
            disk_names: BTreeMap::new(),
            names_dirty_since: None,
            orphans: BTreeMap::new(),
            now_ms: 0,
            last_write: None,
            writeback_ms: Some(30_000),
            capacity: None,
            failing_syncs: 0,
            stats: MemoryStats::default(),
        }
    }

    /// The model over a backend that may hold files already: they are taken as they are, on
    /// disk (a host that starts knows nothing older), and the model's leftovers are deleted.
    pub fn over(mut inner: S) -> Result<Machine<S>> {
        let mut names = BTreeMap::new();
        let mut inodes = BTreeMap::new();
        for name in inner.list(None)? {
            if hidden(&name) {
                inner.remove(&name)?;
                continue;
            }
            let ino = inodes.len() as Ino + 1;
            inodes.insert(ino, Inode::clean(inner.len(&name)?));
            names.insert(name, ino);
        }
        let mut m = Machine::over_empty(inner);
        m.next_ino = inodes.len() as Ino + 1;
        m.inodes = inodes;
        m.disk_names = names.clone();
        m.names = names;
        Ok(m)
    }

    /// The backend underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The same machine (every byte's layer, the namespaces) over another backend that holds
    /// a copy of this one's files, hidden ones included: a fork of the whole machine.
    pub fn with_inner<T>(&self, inner: T) -> Machine<T> {
        Machine {
            inner,
            inodes: self.inodes.clone(),
            next_ino: self.next_ino,
            names: self.names.clone(),
            disk_names: self.disk_names.clone(),
            names_dirty_since: self.names_dirty_since,
            orphans: self.orphans.clone(),
            now_ms: self.now_ms,
            last_write: self.last_write,
            writeback_ms: self.writeback_ms,
            capacity: self.capacity,
            failing_syncs: self.failing_syncs,
            stats: self.stats,
        }
    }

    /// Advances the simulated clock and runs the kernel's writeback of old dirty data.
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        let Some(delay) = self.writeback_ms else { return };
        let mut wrote = false;
        for (ino, inode) in &mut self.inodes {
            if inode.dirty_from.is_some() && now_ms - inode.dirty_since >= delay {
                inode.write_back();
                self.stats.writebacks += 1;
                wrote |= self.last_write == Some(*ino);
            }
        }
        if wrote {
            self.last_write = None;
        }
        if self.names_dirty_since.is_some_and(|t| now_ms - t >= delay) {
            self.persist_names();
        }
    }

    /// Would [`Machine::set_now`] write anything back at `now_ms`? The crash matrix keeps the
    /// machine as it was just before a writeback as a crash point of its own.
    pub fn writeback_due(&self, now_ms: i64) -> bool {
        let Some(delay) = self.writeback_ms else { return false };
        self.inodes.values().any(|i| i.dirty_from.is_some() && now_ms - i.dirty_since >= delay)
            || self.names_dirty_since.is_some_and(|t| now_ms - t >= delay)
    }

    /// When the kernel will next write something back (simulated ms), if anything is dirty.
    pub fn next_writeback_ms(&self) -> Option<i64> {
        let delay = self.writeback_ms?;
        self.inodes
            .values()
            .filter(|i| i.dirty_from.is_some())
            .map(|i| i.dirty_since)
            .chain(self.names_dirty_since)
            .min()
            .map(|t| t + delay)
    }

    fn persist_names(&mut self) {
        self.disk_names = self.names.clone();
        self.names_dirty_since = None;
        // Nothing on disk names an orphan any more: it is freed.
        self.orphans.clear();
    }

    fn names_changed(&mut self) {
        if self.names_dirty_since.is_none() {
            self.names_dirty_since = Some(self.now_ms);
        }
    }

    fn ino(&self, name: &str) -> Result<Ino> {
        self.names.get(name).copied().ok_or_else(|| Error::not_found(name))
    }

    fn inode_mut(&mut self, ino: Ino, name: &str) -> Result<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or_else(|| Error::not_found(name))
    }

    fn on_disk(&self, ino: Ino) -> bool {
        self.disk_names.values().any(|&d| d == ino)
    }

    /// Bytes the disk holds (what `capacity` is compared with): every file at the larger of
    /// its two versions, and the orphans.
    pub fn bytes_used(&self) -> u64 {
        self.inodes.values().map(|i| i.len.max(i.disk_len)).sum::<u64>() + self.orphans.values().map(|o| o.len() as u64).sum::<u64>()
    }

    /// Per-file layers, for the lab's views.
    pub fn layers(&self) -> Vec<FileLayers> {
        self.names
            .iter()
            .filter_map(|(name, ino)| {
                let inode = self.inodes.get(ino)?;
                let durable_name = self.disk_names.get(name) == Some(ino);
                let durable_len = if durable_name { inode.dirty_from.unwrap_or(inode.len).min(inode.len) } else { 0 };
                Some(FileLayers { name: name.clone(), len: inode.len, durable_len, durable_name })
            })
            .collect()
    }

    /// Bytes of `name` that only the page cache holds.
    pub fn unsynced_bytes(&self, name: &str) -> u64 {
        self.names.get(name).and_then(|i| self.inodes.get(i)).map_or(0, Inode::unsynced)
    }

    /// The file's page cache and disk hold the same bytes (a `sync` would change nothing).
    pub fn is_synced(&self, name: &str) -> bool {
        self.names.get(name).and_then(|i| self.inodes.get(i)).is_some_and(|i| i.dirty_from.is_none())
    }

    /// The directory entries on disk are the ones processes see (a `sync_dir` would change
    /// nothing).
    pub fn names_synced(&self) -> bool {
        self.names == self.disk_names
    }

    /// Where a torn write can happen: files whose directory entry is on disk and whose page
    /// cache holds a tail the disk does not, with the length of that tail.
    pub fn unsynced_tails(&self) -> Vec<(String, usize)> {
        self.disk_names
            .iter()
            .filter(|(name, ino)| self.names.get(*name) == Some(ino))
            .filter_map(|(name, ino)| Some((name.clone(), usize::try_from(self.inodes.get(ino)?.unsynced()).ok()?)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The file a torn op or torn sequence would tear now: the latest one written and not yet
    /// on disk, if its name is.
    pub fn torn_target(&self) -> Option<String> {
        let ino = self.last_write?;
        let name = self.names.iter().find(|(_, i)| **i == ino).map(|(n, _)| n.clone())?;
        (self.disk_names.get(&name) == Some(&ino) && self.inodes.get(&ino).is_some_and(|i| i.unsynced() > 0)).then_some(name)
    }

    /// What a torn op would keep now: the file it tears and how many bytes of that file's
    /// unsynced tail (from the first byte the disk lacks) reach the disk.
    pub fn torn_op_keep(&self) -> Option<(String, u64)> {
        let name = self.torn_target()?;
        let inode = self.inodes.get(self.names.get(&name)?)?;
        let from = inode.dirty_from?;
        let end = match inode.writes.last() {
            Some(&(offset, len)) => (offset + len / 2).clamp(from, inode.len),
            None => from,
        };
        Some((name, end - from))
    }

    /// Power loss: everything not on disk is gone.
    pub fn power_loss(&mut self) {
        let _ = self.crash(&Crash::PowerLoss);
    }

    /// A torn write: `keep` bytes of `name`'s unsynced tail reached the disk before the power
    /// went out (the rest did not).
    pub fn torn_write(&mut self, name: &str, keep: usize) {
        let _ = self.crash(&Crash::TornWrite { file: name.to_string(), keep });
    }

    /// A process kill leaves the storage untouched; it exists for symmetry in crash tables.
    pub fn process_kill(&mut self) {}

    /// Reads `[from, to)` of a file from the backend.
    fn read_range(&mut self, name: &str, from: u64, to: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(to.saturating_sub(from)).map_err(|_| Error::new(ErrorKind::NoSpace, "range too large"))?;
        let mut buf = vec![0; len];
        let mut done = 0;
        while done < len {
            let n = self.inner.read_at(name, from + done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }

    /// Before bytes from `changed_from` on change in the page cache: keep the disk's version of
    /// those that are still only in the page cache's copy, and lower `dirty_from`.
    fn capture(&mut self, name: &str, ino: Ino, changed_from: u64) -> Result<()> {
        let inode = self.inode_mut(ino, name)?;
        let bound = inode.dirty_from.unwrap_or(inode.disk_len);
        if changed_from < bound {
            let mut head = self.read_range(name, changed_from, bound)?;
            let inode = self.inode_mut(ino, name)?;
            head.resize((bound - changed_from) as usize, 0);
            head.extend_from_slice(&inode.disk_tail);
            inode.disk_tail = head;
        }
        let now = self.now_ms;
        let inode = self.inode_mut(ino, name)?;
        if inode.dirty_from.is_none() {
            inode.dirty_since = now;
        }
        inode.dirty_from = Some(bound.min(changed_from));
        Ok(())
    }

    /// The file's bytes on disk now, read from the backend and the model.
    fn disk_image(&mut self, name: &str, ino: Ino) -> Result<Vec<u8>> {
        let inode = self.inodes.get(&ino).ok_or_else(|| Error::not_found(name))?;
        let (from, tail) = match inode.dirty_from {
            Some(from) => (from, inode.disk_tail.clone()),
            None => (inode.len, Vec::new()),
        };
        let mut image = self.read_range(name, 0, from)?;
        image.extend_from_slice(&tail);
        Ok(image)
    }

    /// Applies a crash to the backend's files: afterwards they hold exactly what the disk held
    /// (plus what a torn write let through), under the names the disk knew. A process kill
    /// changes nothing. Errors come from the backend (the restore is then incomplete: the host
    /// should say so; the model is left as if the crash had completed).
    pub fn crash(&mut self, crash: &Crash) -> Result<CrashOutcome> {
        let (target, plan) = match crash {
            Crash::ProcessKill => return Ok(CrashOutcome::default()),
            Crash::PowerLoss => (None, Torn::Nothing),
            Crash::TornWrite { file, keep } => (self.names.get(file).copied(), Torn::Keep(*keep as u64)),
            Crash::TornOp => (self.torn_target().and_then(|n| self.names.get(&n).copied()), Torn::HalfLast),
            Crash::TornSequence { seed } => (self.torn_target().and_then(|n| self.names.get(&n).copied()), Torn::Sequence(*seed)),
        };
        let torn_name = target.and_then(|t| self.names.iter().find(|(_, i)| **i == t).map(|(n, _)| n.clone()));
        let result = self.restore(target, plan);
        // Whatever the backend managed, the model now is the disk.
        self.names = self.disk_names.clone();
        self.names_dirty_since = None;
        self.last_write = None;
        let through = result?;
        Ok(CrashOutcome { torn: torn_name.map(|n| (n, through)) })
    }

    /// Returns the ranges of the torn file that reached the disk.
    fn restore(&mut self, target: Option<Ino>, plan: Torn) -> Result<Vec<(u64, u64)>> {
        let mut through = Vec::new();
        // The disk's names by inode. A directory holds a handful of files: a linear search is
        // as fast here as a map, and one B-tree type less in the wasm (BENCHMARKS.md, "The
        // wasm's size": each K, V pair of BTreeMap is ~10 KB of code).
        let disk: Vec<(Ino, String)> = self.disk_names.iter().map(|(n, i)| (*i, n.clone())).collect();
        let survivor = |ino: &Ino| disk.iter().find(|(i, _)| i == ino).map(|(_, n)| n);
        let live: Vec<(String, Ino)> = self.names.iter().map(|(n, i)| (n.clone(), *i)).collect();
        // 1. Contents, under the current names.
        for (name, ino) in &live {
            if survivor(ino).is_none() {
                continue;
            }
            if Some(*ino) == target {
                through = self.restore_content(name, *ino, plan)?;
            } else {
                self.restore_content(name, *ino, Torn::Nothing)?;
            }
        }
        // 2. Names: move what survives under another name aside, drop what does not survive,
        //    then put each aside file in its place and write the orphans back.
        let mut aside = Vec::new();
        for (name, ino) in &live {
            match survivor(ino) {
                Some(disk_name) if disk_name == name => {}
                Some(disk_name) => {
                    let tmp = super::join(parent(disk_name).unwrap_or(""), &format!("{HIDDEN_PREFIX}{ino}"));
                    self.inner.rename(name, &tmp)?;
                    aside.push((tmp, disk_name.clone()));
                }
                None => {
                    self.inner.remove(name)?;
                    self.inodes.remove(ino);
                }
            }
        }
        for (tmp, disk_name) in aside {
            self.inner.rename(&tmp, &disk_name)?;
        }
        let orphans = std::mem::take(&mut self.orphans);
        for (ino, image) in orphans {
            let Some(name) = survivor(&ino) else { continue };
            self.inner.open(name, OpenMode::Truncate)?;
            self.inner.write_at(name, 0, &image)?;
            self.inodes.insert(ino, Inode::clean(image.len() as u64));
        }
        // 3. On a real backend, make the result stick.
        let mut dirs = Vec::new();
        for (name, ino) in &self.disk_names {
            if self.inodes.contains_key(ino) {
                self.inner.sync(name)?;
            }
            dirs.push(parent(name).unwrap_or("").to_string());
        }
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            self.inner.sync_dir(&dir)?;
        }
        Ok(through)
    }

    /// Puts a surviving file's disk version (with what a torn write let through) in the backend;
    /// returns the ranges of its page cache that the torn write let through.
    fn restore_content(&mut self, name: &str, ino: Ino, torn: Torn) -> Result<Vec<(u64, u64)>> {
        let Some(inode) = self.inodes.get(&ino).cloned() else { return Ok(vec![]) };
        let Some(from) = inode.dirty_from else { return Ok(vec![]) };
        // The pieces of the page cache that reach the disk anyway: (offset, bytes).
        let mut through: Vec<(u64, Vec<u8>)> = Vec::new();
        match torn {
            Torn::Nothing => {}
            Torn::Keep(keep) => {
                // The disk is cut at `from` and gets the next `keep` bytes of the page cache.
                let end = (from + keep).min(inode.len);
                self.inner.truncate(name, end)?;
                self.inodes.insert(ino, Inode::clean(end));
                return Ok(vec![(from, end - from)]);
            }
            Torn::HalfLast => {
                // The same cut as `torn_op_keep` announces.
                let end = match inode.writes.last() {
                    Some(&(offset, len)) => (offset + len / 2).clamp(from, inode.len),
                    None => from,
                };
                self.inner.truncate(name, end)?;
                self.inodes.insert(ino, Inode::clean(end));
                return Ok(vec![(from, end - from)]);
            }
            Torn::Sequence(seed) => {
                for (offset, len) in torn_sequence(&inode.writes, seed) {
                    let end = (offset + len).min(inode.len);
                    if end > offset {
                        through.push((offset, self.read_range(name, offset, end)?));
                    }
                }
            }
        }
        self.inner.truncate(name, from)?;
        self.inner.write_at(name, from, &inode.disk_tail)?;
        let mut len = inode.disk_len;
        let mut ranges = Vec::new();
        for (offset, bytes) in through {
            if offset > len {
                self.inner.write_at(name, len, &vec![0; (offset - len) as usize])?;
            }
            self.inner.write_at(name, offset, &bytes)?;
            len = len.max(offset + bytes.len() as u64);
            ranges.push((offset, bytes.len() as u64));
        }
        self.inodes.insert(ino, Inode::clean(len));
        Ok(ranges)
    }
}

/// What a crash lets through of the torn file's page cache.
#[derive(Clone, Copy, Debug)]
enum Torn {
    Nothing,
    Keep(u64),
    HalfLast,
    Sequence(u64),
}

/// The extents of a torn sequence: each unsynced write reaches the disk or not (by `seed`), the
/// last one always does and at least one before it does not; a single write is torn in two and
/// only its second half arrives. The result always has a hole before valid bytes, which is what
/// a real power cut can leave (delayed allocation: the size is on disk, the earlier data not).
fn torn_sequence(writes: &[(u64, u64)], seed: u64) -> Vec<(u64, u64)> {
    match writes {
        [] => vec![],
        [(offset, len)] => {
            let half = len / 2;
            vec![(offset + half, len - half)]
        }
        [earlier @ .., last] => {
            let mut kept: Vec<bool> = (0..earlier.len()).map(|i| mix(seed, i as u64) & 1 == 1).collect();
            if kept.iter().all(|&k| k) {
                let drop = (mix(seed, u64::MAX) % earlier.len() as u64) as usize;
                kept[drop] = false;
            }
            earlier.iter().zip(kept).filter(|(_, k)| *k).map(|(w, _)| *w).chain([*last]).collect()
        }
    }
}

/// A 64-bit mix (SplitMix64's finaliser) of a seed and an index: reproducible choices.
pub(crate) fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<S: Storage + 'static> Storage for Machine<S> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn tick(&mut self, now_ms: i64) {
        self.set_now(now_ms);
        self.inner.tick(now_ms);
    }

    fn as_memory(&mut self) -> Option<&mut super::MemoryStorage> {
        (self as &mut dyn Any).downcast_mut::<super::MemoryStorage>()
    }

    fn as_machine(&mut self) -> Option<&mut dyn SimulatedMachine> {
        Some(self)
    }

    fn machine_layers(&self) -> Option<Vec<FileLayers>> {
        Some(self.layers())
    }

    fn flush_page_cache(&mut self) {
        self.inner.flush_page_cache();
    }

    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        // Over RAM the copy keeps its type (tests and the crash lab reach it as `as_memory`).
        if let Some(m) = (self as &dyn Any).downcast_ref::<super::MemoryStorage>() {
            return Some(Box::new(m.clone()));
        }
        // Over the mirror of a real backend, the copy is the machine over its RAM side: a
        // timeline's checkpoint of the present is a lab over RAM like every other.
        if let Some(m) = (self as &dyn Any).downcast_ref::<Machine<super::Tee>>() {
            return Some(Box::new(m.with_inner(m.inner().ram().clone())));
        }
        let inner = self.inner.boxed_clone()?;
        Some(Box::new(self.with_inner(inner)))
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        if hidden(name) {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{name}: reserved name")));
        }
        match (self.names.get(name).copied(), mode) {
            (None, OpenMode::Existing) => Err(Error::not_found(name)),
            (Some(_), OpenMode::Existing | OpenMode::Create) => Ok(()),
            (Some(_), OpenMode::Truncate) => self.truncate(name, 0),
            (None, _) => {
                self.inner.open(name, mode)?;
                let ino = self.next_ino;
                self.next_ino += 1;
                self.inodes.insert(ino, Inode::clean(0));
                // A new inode has nothing on disk: its (empty) content is "synced"; only its
                // name is not.
                self.names.insert(name.to_string(), ino);
                self.names_changed();
                Ok(())
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        let ino = self.ino(name)?;
        self.inodes.get(&ino).map(|i| i.len).ok_or_else(|| Error::not_found(name))
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.ino(name)?;
        self.inner.read_at(name, offset, buf)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let ino = self.ino(name)?;
        let old_len = self.inode_mut(ino, name)?.len;
        let end = offset.checked_add(bytes.len() as u64).ok_or_else(|| Error::new(ErrorKind::NoSpace, "file too large"))?;
        let growth = end.saturating_sub(old_len.max(self.inodes[&ino].disk_len));
        let mut n = bytes.len();
        if let Some(cap) = self.capacity {
            let free = cap.saturating_sub(self.bytes_used());
            if growth > free {
                n = n.saturating_sub(usize::try_from(growth - free).unwrap_or(usize::MAX));
                if n == 0 {
                    return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
                }
            }
        }
        if n == 0 {
            return Ok(0);
        }
        self.capture(name, ino, offset.min(old_len))?;
        let written = self.inner.write_at(name, offset, &bytes[..n])?;
        let inode = self.inode_mut(ino, name)?;
        inode.len = inode.len.max(offset + written as u64);
        inode.note_write(offset, written as u64);
        self.last_write = Some(ino);
        self.stats.writes += 1;
        self.stats.bytes_written += written as u64;
        Ok(written)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let ino = self.ino(name)?;
        let old_len = self.inode_mut(ino, name)?.len;
        if len == old_len {
            return Ok(());
        }
        self.capture(name, ino, len.min(old_len))?;
        self.inner.truncate(name, len)?;
        let inode = self.inode_mut(ino, name)?;
        inode.len = len;
        for w in &mut inode.writes {
            w.1 = (w.0 + w.1).min(len).saturating_sub(w.0);
        }
        inode.writes.retain(|w| w.1 > 0);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        let ino = self.ino(name)?;
        if self.failing_syncs > 0 {
            self.failing_syncs -= 1;
            return Err(Error::new(ErrorKind::Io, format!("{name}: Input/output error")));
        }
        self.inner.sync(name)?;
        self.inode_mut(ino, name)?.write_back();
        if self.last_write == Some(ino) {
            self.last_write = None;
        }
        self.stats.syncs += 1;
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        if hidden(to) {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{to}: reserved name")));
        }
        let ino = self.ino(from)?;
        if from == to {
            return Ok(());
        }
        // The file replaced: if the disk still names it, its disk image must outlive it.
        let replaced = self.names.get(to).copied();
        let keep = match replaced {
            Some(old) if self.on_disk(old) => Some((old, self.disk_image(to, old)?)),
            _ => None,
        };
        self.inner.rename(from, to)?;
        if let Some(old) = replaced {
            self.inodes.remove(&old);
        }
        if let Some((old, image)) = keep {
            self.orphans.insert(old, image);
        }
        self.names.remove(from);
        self.names.insert(to.to_string(), ino);
        self.names_changed();
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        let ino = self.ino(name)?;
        let keep = if self.on_disk(ino) { Some(self.disk_image(name, ino)?) } else { None };
        self.inner.remove(name)?;
        self.names.remove(name);
        self.inodes.remove(&ino);
        if let Some(image) = keep {
            self.orphans.insert(ino, image);
        }
        if self.last_write == Some(ino) {
            self.last_write = None;
        }
        self.names_changed();
        Ok(())
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names.keys().filter(|n| dir.is_none_or(|d| parent(n) == Some(d))).cloned().collect())
    }

    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        self.inner.sync_dir(dir)?;
        self.persist_names();
        self.stats.dir_syncs += 1;
        Ok(())
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        self.inner.create_dir(dir)
    }

    fn dir_exists(&self, dir: &str) -> bool {
        self.inner.dir_exists(dir)
    }
}

/// The simulated machine's controls, whatever its backend (what the lab's crash lab and views
/// use through [`Storage::as_machine`]).
pub trait SimulatedMachine {
    fn layers(&self) -> Vec<FileLayers>;
    /// Applies a crash to the real files (see [`Machine::crash`]).
    fn crash(&mut self, crash: &Crash) -> Result<CrashOutcome>;
    fn torn_target(&self) -> Option<String>;
    fn torn_op_keep(&self) -> Option<(String, u64)>;
    fn unsynced_bytes(&self, name: &str) -> u64;
    fn bytes_used(&self) -> u64;
    fn next_writeback_ms(&self) -> Option<i64>;
    fn capacity(&mut self) -> &mut Option<u64>;
    fn failing_syncs(&mut self) -> &mut u32;
    fn writeback_ms(&mut self) -> &mut Option<i64>;
}

impl<S: Storage> SimulatedMachine for Machine<S> {
    fn layers(&self) -> Vec<FileLayers> {
        Machine::layers(self)
    }
    fn crash(&mut self, crash: &Crash) -> Result<CrashOutcome> {
        Machine::crash(self, crash)
    }
    fn torn_target(&self) -> Option<String> {
        Machine::torn_target(self)
    }
    fn torn_op_keep(&self) -> Option<(String, u64)> {
        Machine::torn_op_keep(self)
    }
    fn unsynced_bytes(&self, name: &str) -> u64 {
        Machine::unsynced_bytes(self, name)
    }
    fn bytes_used(&self) -> u64 {
        Machine::bytes_used(self)
    }
    fn next_writeback_ms(&self) -> Option<i64> {
        Machine::next_writeback_ms(self)
    }
    fn capacity(&mut self) -> &mut Option<u64> {
        &mut self.capacity
    }
    fn failing_syncs(&mut self) -> &mut u32 {
        &mut self.failing_syncs
    }
    fn writeback_ms(&mut self) -> &mut Option<i64> {
        &mut self.writeback_ms
    }
}

#[cfg(test)]
mod tests {
    use super::super::MemoryStorage;
    use super::*;

    #[test]
    fn power_loss_keeps_only_synced_bytes() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.sync_dir("").unwrap();
        s.append("f", b"hello ").unwrap();
        s.sync("f").unwrap();
        s.append("f", b"world").unwrap();
        assert_eq!(s.unsynced_bytes("f"), 5);
        s.power_loss();
        assert_eq!(s.read_all("f").unwrap(), b"hello ");
    }

    #[test]
    fn kernel_writeback_after_delay() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.set_now(1000);
        s.append("f", b"abc").unwrap();
        assert_eq!(s.next_writeback_ms(), Some(30_000), "the new name has been dirty since 0");
        s.set_now(30_999);
        assert_eq!(s.unsynced_bytes("f"), 3);
        s.set_now(31_000);
        assert_eq!(s.unsynced_bytes("f"), 0);
        assert_eq!(s.next_writeback_ms(), None);
        s.power_loss();
        assert_eq!(s.read_all("f").unwrap(), b"abc");
    }

    #[test]
    fn unsynced_new_file_vanishes_on_power_loss() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.append("f", b"x").unwrap();
        s.sync("f").unwrap();
        s.power_loss();
        assert!(!s.exists("f"), "the directory entry was never synced");
        assert!(s.inner().list(None).unwrap().is_empty());
    }

    #[test]
    fn rename_is_atomic_under_power_loss() {
        let mut s = MemoryStorage::new();
        for (n, b) in [("m", &b"old"[..]), ("tmp", b"new")] {
            s.open(n, OpenMode::Create).unwrap();
            s.append(n, b).unwrap();
            s.sync(n).unwrap();
        }
        s.sync_dir("").unwrap();
        s.rename("tmp", "m").unwrap();
        assert_eq!(s.read_all("m").unwrap(), b"new");
        let mut before_dir_sync = s.clone();
        before_dir_sync.power_loss();
        assert_eq!(before_dir_sync.read_all("m").unwrap(), b"old");
        assert_eq!(before_dir_sync.read_all("tmp").unwrap(), b"new", "the rename is undone whole");
        s.sync_dir("").unwrap();
        s.power_loss();
        assert_eq!(s.read_all("m").unwrap(), b"new");
        assert!(!s.exists("tmp"));
    }

    #[test]
    fn a_removed_file_comes_back_until_the_directory_is_synced() {
        let mut s = MemoryStorage::new();
        s.open("h", OpenMode::Create).unwrap();
        s.append("h", b"history").unwrap();
        s.sync("h").unwrap();
        s.sync_dir("").unwrap();
        s.append("h", b" unsynced").unwrap();
        s.remove("h").unwrap();
        let mut crashed = s.clone();
        crashed.power_loss();
        assert_eq!(crashed.read_all("h").unwrap(), b"history");
        s.sync_dir("").unwrap();
        s.power_loss();
        assert!(!s.exists("h"));
    }

    #[test]
    fn an_overwrite_of_synced_bytes_is_undone_by_a_power_loss() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.sync_dir("").unwrap();
        s.append("f", b"abcdef").unwrap();
        s.sync("f").unwrap();
        s.write_at("f", 2, b"XY").unwrap();
        s.truncate("f", 3).unwrap();
        s.append("f", b"123456").unwrap();
        assert_eq!(s.read_all("f").unwrap(), b"abX123456");
        assert_eq!(s.layers()[0].durable_len, 2);
        s.power_loss();
        assert_eq!(s.read_all("f").unwrap(), b"abcdef");
    }

    #[test]
    fn torn_write_keeps_a_prefix() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.sync_dir("").unwrap();
        s.append("f", b"abc").unwrap();
        s.sync("f").unwrap();
        s.append("f", b"defgh").unwrap();
        s.torn_write("f", 2);
        assert_eq!(s.read_all("f").unwrap(), b"abcde");
    }

    #[test]
    fn a_torn_op_cuts_the_last_write_in_half_and_keeps_the_earlier_ones() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.open("g", OpenMode::Create).unwrap();
        s.sync_dir("").unwrap();
        s.append("f", b"synced|").unwrap();
        s.sync("f").unwrap();
        s.append("g", b"other file, unsynced").unwrap();
        s.append("f", b"one|").unwrap();
        s.append("f", b"twotwo").unwrap();
        assert_eq!(s.torn_target().as_deref(), Some("f"));
        s.crash(&Crash::TornOp).unwrap();
        assert_eq!(s.read_all("f").unwrap(), b"synced|one|two");
        assert_eq!(s.read_all("g").unwrap(), b"", "another file loses its unsynced bytes as in a power loss");
    }

    #[test]
    fn a_torn_sequence_leaves_a_hole_of_zeros_before_valid_bytes() {
        for seed in 0..20 {
            let mut s = MemoryStorage::new();
            s.open("f", OpenMode::Create).unwrap();
            s.sync_dir("").unwrap();
            s.append("f", b"head|").unwrap();
            s.sync("f").unwrap();
            for w in [&b"aaaa|"[..], b"bbbb|", b"cccc|"] {
                s.append("f", w).unwrap();
            }
            s.crash(&Crash::TornSequence { seed }).unwrap();
            let got = s.read_all("f").unwrap();
            assert_eq!(got.len(), 20, "the last write reached the disk: {got:?}");
            assert!(got.ends_with(b"cccc|") && got.starts_with(b"head|"));
            assert!(got[5..15].chunks(5).any(|c| c == [0; 5]), "seed {seed}: a write before it did not: {got:?}");
        }
        // One write: its second half only.
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.sync_dir("").unwrap();
        s.append("f", b"abcdef").unwrap();
        s.crash(&Crash::TornSequence { seed: 1 }).unwrap();
        assert_eq!(s.read_all("f").unwrap(), b"\0\0\0def");
    }

    #[test]
    fn disk_full_short_write_then_enospc() {
        let mut s = MemoryStorage::new();
        s.capacity = Some(10);
        s.open("f", OpenMode::Create).unwrap();
        assert_eq!(s.append("f", b"12345678").unwrap(), 8);
        assert_eq!(s.append("f", b"abcd").unwrap(), 2);
        assert_eq!(s.append("f", b"z").unwrap_err().kind, ErrorKind::NoSpace);
        assert_eq!(s.read_all("f").unwrap(), b"12345678ab");
    }

    #[test]
    fn crash_lab_probes() {
        let mut s = MemoryStorage::new();
        s.writeback_ms = Some(1000);
        s.open("f", OpenMode::Create).unwrap();
        assert!(!s.names_synced());
        assert!(s.unsynced_tails().is_empty(), "the name is not on disk yet");
        s.sync_dir("").unwrap();
        assert!(s.names_synced());
        assert!(s.is_synced("f"));
        s.append("f", b"abc").unwrap();
        assert!(!s.is_synced("f"));
        assert_eq!(s.unsynced_tails(), vec![("f".to_string(), 3)]);
        assert!(!s.writeback_due(999));
        assert!(s.writeback_due(1000));
        s.set_now(1000);
        assert!(s.is_synced("f"));
        assert!(!s.writeback_due(5000));
    }

    #[test]
    fn fsync_error() {
        let mut s = MemoryStorage::new();
        s.open("f", OpenMode::Create).unwrap();
        s.append("f", b"a").unwrap();
        s.failing_syncs = 1;
        assert_eq!(s.sync("f").unwrap_err().kind, ErrorKind::Io);
        assert_eq!(s.unsynced_bytes("f"), 1);
        s.sync("f").unwrap();
        assert_eq!(s.unsynced_bytes("f"), 0);
    }

    #[test]
    fn a_backend_with_files_starts_on_disk_and_loses_the_models_leftovers() {
        let mut ram = super::super::RamDisk::new();
        ram.open("a", OpenMode::Create).unwrap();
        ram.append("a", b"kept").unwrap();
        ram.open(&format!("{HIDDEN_PREFIX}7"), OpenMode::Create).unwrap();
        let mut m = Machine::over(ram).unwrap();
        assert_eq!(m.list(None).unwrap(), ["a"]);
        assert_eq!(m.layers(), vec![FileLayers { name: "a".into(), len: 4, durable_len: 4, durable_name: true }]);
        m.power_loss();
        assert_eq!(m.read_all("a").unwrap(), b"kept");
        assert_eq!(m.inner().list(None).unwrap(), ["a"]);
    }
}
