//! The simulated machine's disk: the reference storage backend.
//!
//! Each file (an inode) has two versions of its bytes:
//!
//! * `cache`: the kernel page cache, what every `read` sees. A `write` lands here.
//! * `disk`: what survives a power loss. `sync` (fsync) copies the cache to the disk; so does the
//!   simulated kernel's writeback once bytes have been dirty for `writeback_ms` (Linux's
//!   `dirty_expire_centisecs`, 30 s by default).
//!
//! Directory entries work the same way: creating, renaming or removing a file changes the cached
//! namespace at once and the on-disk namespace at `sync_dir` (fsync of the directory) or at
//! writeback. A crash then keeps exactly what a real machine would:
//!
//! | crash          | what survives                                                         |
//! |----------------|-----------------------------------------------------------------------|
//! | process kill   | everything written (page cache is the kernel's, not the process's)    |
//! | power loss     | only synced bytes and synced directory entries                        |
//! | torn write     | power loss, but a prefix of one file's unsynced tail reached the disk |
//! | disk full      | writes are short, then fail with ENOSPC                               |
//! | fsync error    | `sync` fails with EIO (and the data stays unsynced)                   |
//!
//! Syncs are incremental (only bytes past the lowest offset changed since the last sync are
//! copied), so an append-only file synced on every write costs O(bytes appended).

use std::collections::BTreeMap;

use super::{Error, ErrorKind, OpenMode, Result, Storage};

type InodeId = u64;

#[derive(Clone, Debug, Default)]
struct Inode {
    cache: Vec<u8>,
    disk: Vec<u8>,
    /// Lowest offset where `cache` may differ from `disk`; None when they are equal.
    dirty_from: Option<usize>,
    /// Simulated time of the first write since the last sync (for writeback).
    dirty_since: i64,
}

impl Inode {
    fn mark_dirty(&mut self, from: usize, now: i64) {
        if self.dirty_from.is_none() {
            self.dirty_since = now;
        }
        self.dirty_from = Some(self.dirty_from.map_or(from, |d| d.min(from)));
    }
    fn write_back(&mut self) {
        if let Some(from) = self.dirty_from.take() {
            let from = from.min(self.disk.len()).min(self.cache.len());
            self.disk.truncate(from);
            self.disk.extend_from_slice(&self.cache[from..]);
        }
    }
    fn unsynced(&self) -> usize {
        self.dirty_from.map_or(0, |from| self.cache.len().saturating_sub(from))
    }
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

#[derive(Clone, Debug)]
pub struct MemoryStorage {
    inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// The namespace processes see.
    names: BTreeMap<String, InodeId>,
    /// The namespace on disk.
    disk_names: BTreeMap<String, InodeId>,
    dirs: Vec<String>,
    names_dirty_since: Option<i64>,
    now_ms: i64,
    /// Delay after which the simulated kernel writes dirty data back (ms). `None`: never.
    pub writeback_ms: Option<i64>,
    /// Total bytes the disk holds; writes beyond are short, then fail with ENOSPC.
    pub capacity: Option<u64>,
    /// The next `n` fsyncs fail with EIO.
    pub failing_syncs: u32,
    pub stats: MemoryStats,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        MemoryStorage {
            inodes: BTreeMap::new(),
            next_inode: 1,
            names: BTreeMap::new(),
            disk_names: BTreeMap::new(),
            dirs: Vec::new(),
            names_dirty_since: None,
            now_ms: 0,
            writeback_ms: Some(30_000),
            capacity: None,
            failing_syncs: 0,
            stats: MemoryStats::default(),
        }
    }
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

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Advances the simulated clock and runs the kernel's writeback of old dirty data.
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        let Some(delay) = self.writeback_ms else { return };
        for inode in self.inodes.values_mut() {
            if inode.dirty_from.is_some() && now_ms - inode.dirty_since >= delay {
                inode.write_back();
                self.stats.writebacks += 1;
            }
        }
        if self.names_dirty_since.is_some_and(|t| now_ms - t >= delay) {
            self.persist_names();
        }
    }

    fn persist_names(&mut self) {
        self.disk_names = self.names.clone();
        self.names_dirty_since = None;
        // Unlinked files whose directory entry is now gone from the disk too are freed.
        let live: std::collections::BTreeSet<InodeId> = self.names.values().copied().collect();
        self.inodes.retain(|id, _| live.contains(id));
    }

    fn names_changed(&mut self) {
        if self.names_dirty_since.is_none() {
            self.names_dirty_since = Some(self.now_ms);
        }
    }

    fn inode(&self, name: &str) -> Result<&Inode> {
        self.names.get(name).and_then(|id| self.inodes.get(id)).ok_or_else(|| Error::not_found(name))
    }
    fn inode_mut(&mut self, name: &str) -> Result<&mut Inode> {
        let id = *self.names.get(name).ok_or_else(|| Error::not_found(name))?;
        self.inodes.get_mut(&id).ok_or_else(|| Error::not_found(name))
    }

    fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|i| i.cache.len().max(i.disk.len()) as u64).sum()
    }

    /// Per-file layers for the lab's view.
    pub fn layers(&self) -> Vec<FileLayers> {
        self.names
            .iter()
            .filter_map(|(name, id)| {
                let inode = self.inodes.get(id)?;
                let durable_name = self.disk_names.get(name) == Some(id);
                let durable_len = if durable_name { common_prefix(&inode.cache, &inode.disk) as u64 } else { 0 };
                Some(FileLayers { name: name.clone(), len: inode.cache.len() as u64, durable_len, durable_name })
            })
            .collect()
    }

    /// Bytes of `name` that only the page cache holds.
    pub fn unsynced_bytes(&self, name: &str) -> u64 {
        self.inode(name).map_or(0, |i| i.unsynced() as u64)
    }

    /// Power loss: everything not on disk is gone.
    pub fn power_loss(&mut self) {
        self.names = self.disk_names.clone();
        self.names_dirty_since = None;
        let live: std::collections::BTreeSet<InodeId> = self.names.values().copied().collect();
        self.inodes.retain(|id, _| live.contains(id));
        for inode in self.inodes.values_mut() {
            inode.cache = inode.disk.clone();
            inode.dirty_from = None;
        }
    }

    /// A torn write: `keep` bytes of `name`'s unsynced tail reached the disk before the power
    /// went out (the rest did not).
    pub fn torn_write(&mut self, name: &str, keep: usize) {
        if let Ok(inode) = self.inode_mut(name)
            && let Some(from) = inode.dirty_from
        {
            let from = from.min(inode.disk.len()).min(inode.cache.len());
            let end = (from + keep).min(inode.cache.len());
            inode.disk.truncate(from);
            inode.disk.extend_from_slice(&inode.cache[from..end]);
        }
        self.power_loss();
    }

    /// A process kill leaves the storage untouched; it exists for symmetry in crash tables.
    pub fn process_kill(&mut self) {}

    /// Would [`MemoryStorage::set_now`] write anything back at `now_ms`? The crash lab keeps the
    /// machine as it was just before a writeback as a crash point of its own.
    pub fn writeback_due(&self, now_ms: i64) -> bool {
        let Some(delay) = self.writeback_ms else { return false };
        self.inodes.values().any(|i| i.dirty_from.is_some() && now_ms - i.dirty_since >= delay)
            || self.names_dirty_since.is_some_and(|t| now_ms - t >= delay)
    }

    /// Bytes the disk holds (what `capacity` is compared with).
    pub fn bytes_used(&self) -> u64 {
        self.used_bytes()
    }

    /// The file's cache and disk hold the same bytes (a `sync` would change nothing).
    pub fn is_synced(&self, name: &str) -> bool {
        self.inode(name).is_ok_and(|i| i.dirty_from.is_none())
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
            .filter(|(name, id)| self.names.get(*name) == Some(id))
            .filter_map(|(name, id)| Some((name.clone(), self.inodes.get(id)?.unsynced())))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn parent(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(d, _)| d)
}

impl Storage for MemoryStorage {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn tick(&mut self, now_ms: i64) {
        self.set_now(now_ms);
    }

    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        Some(self)
    }

    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        Some(Box::new(self.clone()))
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        if let Some(dir) = parent(name)
            && !self.dir_exists(dir)
        {
            return Err(Error::not_found(name));
        }
        match (self.names.contains_key(name), mode) {
            (false, OpenMode::Existing) => Err(Error::not_found(name)),
            (true, OpenMode::Existing | OpenMode::Create) => Ok(()),
            (true, OpenMode::Truncate) => self.truncate(name, 0),
            (false, _) => {
                let id = self.next_inode;
                self.next_inode += 1;
                self.inodes.insert(id, Inode::default());
                self.names.insert(name.to_string(), id);
                self.names_changed();
                Ok(())
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        Ok(self.inode(name)?.cache.len() as u64)
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let data = &self.inode(name)?.cache;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let offset = offset as usize;
        let current = self.inode(name)?.cache.len();
        let growth = (offset + bytes.len()).saturating_sub(current) as u64;
        let mut n = bytes.len();
        if let Some(cap) = self.capacity {
            let free = cap.saturating_sub(self.used_bytes());
            if growth > free {
                n = n.saturating_sub((growth - free) as usize);
                if n == 0 {
                    return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
                }
            }
        }
        let now = self.now_ms;
        let inode = self.inode_mut(name)?;
        if inode.cache.len() < offset {
            inode.cache.resize(offset, 0);
        }
        let end = offset + n;
        let overlap = end.min(inode.cache.len());
        inode.cache[offset.min(overlap)..overlap].copy_from_slice(&bytes[..overlap.saturating_sub(offset)]);
        if end > overlap {
            inode.cache.extend_from_slice(&bytes[overlap - offset..n]);
        }
        inode.mark_dirty(offset, now);
        self.stats.writes += 1;
        self.stats.bytes_written += n as u64;
        Ok(n)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let now = self.now_ms;
        let inode = self.inode_mut(name)?;
        let len = len as usize;
        if len != inode.cache.len() {
            inode.cache.resize(len, 0);
            inode.mark_dirty(len.min(inode.disk.len()), now);
        }
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        if self.failing_syncs > 0 {
            self.failing_syncs -= 1;
            return Err(Error::new(ErrorKind::Io, format!("{name}: Input/output error")));
        }
        self.inode_mut(name)?.write_back();
        self.stats.syncs += 1;
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let id = self.names.remove(from).ok_or_else(|| Error::not_found(from))?;
        if let Some(old) = self.names.insert(to.to_string(), id)
            && !self.disk_names.values().any(|&d| d == old)
        {
            self.inodes.remove(&old);
        }
        self.names_changed();
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        let id = self.names.remove(name).ok_or_else(|| Error::not_found(name))?;
        if !self.disk_names.values().any(|&d| d == id) {
            self.inodes.remove(&id);
        }
        self.names_changed();
        Ok(())
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names.keys().filter(|n| dir.is_none_or(|d| parent(n) == Some(d))).cloned().collect())
    }

    fn sync_dir(&mut self, _dir: &str) -> Result<()> {
        self.persist_names();
        self.stats.dir_syncs += 1;
        Ok(())
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        if !self.dirs.iter().any(|d| d == dir) {
            self.dirs.push(dir.to_string());
        }
        Ok(())
    }

    fn dir_exists(&self, dir: &str) -> bool {
        dir.is_empty() || self.dirs.iter().any(|d| d == dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run_all(&mut || Box::new(MemoryStorage::new()));
    }

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
        s.set_now(30_999);
        assert_eq!(s.unsynced_bytes("f"), 3);
        s.set_now(31_000);
        assert_eq!(s.unsynced_bytes("f"), 0);
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
        s.sync_dir("").unwrap();
        s.power_loss();
        assert_eq!(s.read_all("m").unwrap(), b"new");
        assert!(!s.exists("tmp"));
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
}
