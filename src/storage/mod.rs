//! Storage: a flat directory of byte files, the only way the engine touches persistence.
//!
//! Names are relative paths with at most one directory level (`appendonlydir/appendonly.aof.1.
//! incr.aof`, `temp-rewriteaof-bg-1.aof`), as in Redis's `dir`. Every backend passes the same
//! conformance suite ([`conformance`]):
//!
//! * [`memory::RamDisk`]: files in RAM, the reference backend.
//! * `fs::FsStorage` (native only): `std::fs`, `sync_data`, real rename and directory fsync.
//! * [`opfs`] (browser, dedicated worker): a pool of OPFS files with sync access handles, the
//!   logical name in each file's header (SQLite's `opfs-sahpool` design).
//! * [`idb`] (browser): an in-memory mirror persisted to IndexedDB at each sync point.
//!
//!
//! [`tee::Tee`] mirrors one of them in RAM (reads from RAM, every change to both), so that the
//! lab's timeline can copy the present as it copies the past.
//!
//! Above any of them, [`machine::Machine`] is the simulated machine: a kernel model (page cache
//! vs disk per file, fsync, writeback after a delay, directory entries durable at a directory
//! sync) whose crashes (process kill, power loss, torn writes) are applied to the backend's real
//! files. [`MemoryStorage`] is that machine over RAM; the lab runs it over OPFS and IndexedDB
//! too, and the tests over the native file system.
//!
//! Handles are by name rather than by object: it keeps every backend simple (an OPFS pool of
//! sync access handles, an IndexedDB mirror, a map of open `std::fs::File`s) and lets a crash be
//! injected between any two operations.

#[cfg(target_arch = "wasm32")]
pub mod browser;
pub mod conformance;
#[cfg(not(target_arch = "wasm32"))]
pub mod fs;
#[cfg(target_arch = "wasm32")]
pub mod idb;
pub mod machine;
pub mod memory;
#[cfg(target_arch = "wasm32")]
pub mod opfs;
pub mod tee;

#[cfg(not(target_arch = "wasm32"))]
pub use fs::FsStorage;
pub use machine::{Crash, CrashOutcome, Machine, SimulatedMachine};
pub use memory::{MemoryStorage, RamDisk};
pub use tee::{Shared, Tee};

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    /// ENOSPC (or a browser quota error, which the engine treats the same way).
    NoSpace,
    /// EIO, e.g. a failed fsync.
    Io,
    /// The backend cannot be used (locked by another tab, not supported …).
    Unavailable,
    InvalidInput,
    /// EOVERFLOW: a file longer than this host can hold in memory (past 4 GB on wasm32, where
    /// `usize` is 32 bits), read whole.
    TooLarge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }
    pub fn not_found(name: &str) -> Error {
        Error::new(ErrorKind::NotFound, format!("{name}: No such file or directory"))
    }
    /// The C `strerror` text Redis puts in its messages (`-MISCONF Errors writing to the AOF
    /// file: No space left on device`).
    pub fn strerror(&self) -> &'static str {
        match self.kind {
            ErrorKind::NotFound => "No such file or directory",
            ErrorKind::AlreadyExists => "File exists",
            ErrorKind::NoSpace => "No space left on device",
            ErrorKind::Io => "Input/output error",
            ErrorKind::Unavailable => "Resource temporarily unavailable",
            ErrorKind::InvalidInput => "Invalid argument",
            ErrorKind::TooLarge => "Value too large for defined data type",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Open an existing file (error if missing).
    Existing,
    /// Create if missing, keep the content (`O_CREAT|O_APPEND`).
    Create,
    /// Create or empty it (`O_CREAT|O_TRUNC`).
    Truncate,
}

/// A flat directory of byte files. All offsets are in bytes.
pub trait Storage {
    /// A short name for the UI and logs ("memory", "fs", "opfs", "indexeddb").
    fn kind(&self) -> &'static str;
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()>;
    fn exists(&self, name: &str) -> bool;
    fn len(&self, name: &str) -> Result<u64>;
    /// Reads up to `buf.len()` bytes at `offset`; 0 at or past the end.
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Writes at `offset`, extending the file. May write fewer bytes than given (disk full),
    /// in which case it returns the count written; an error means nothing was written.
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize>;
    fn truncate(&mut self, name: &str, len: u64) -> Result<()>;
    /// `fsync`/`fdatasync`: the file's bytes are on disk when this returns Ok.
    fn sync(&mut self, name: &str) -> Result<()>;
    /// `aof_background_fsync`: hands an fsync of `name` to a thread of the host's (Redis's bio
    /// thread) and returns true, so that the event loop never waits for the disk under
    /// `everysec`. False where the backend has no such thread: the engine then simulates the bio
    /// job and calls [`Storage::sync`] when it completes.
    fn sync_in_background(&mut self, _name: &str) -> bool {
        false
    }
    /// The outcome of the fsync [`Storage::sync_in_background`] started last, once it has
    /// finished; `None` while it runs.
    fn background_sync_done(&mut self) -> Option<Result<()>> {
        Some(Ok(()))
    }
    /// Atomic under a crash: after a crash, `to` holds either its old content or `from`'s.
    fn rename(&mut self, from: &str, to: &str) -> Result<()>;
    fn remove(&mut self, name: &str) -> Result<()>;
    /// File names (full relative paths), sorted, optionally those under `dir/` only.
    fn list(&self, dir: Option<&str>) -> Result<Vec<String>>;
    /// Makes directory entries (creations, renames, removals) durable: `fsync` of the directory.
    fn sync_dir(&mut self, dir: &str) -> Result<()>;
    /// Creates a directory (no-op where directories are implicit).
    fn create_dir(&mut self, dir: &str) -> Result<()>;
    fn dir_exists(&self, dir: &str) -> bool;
    /// The directories there are (besides the root), sorted: those of the files, and empty ones
    /// where the backend keeps them. A copy of a storage ([`tee::Tee`]) recreates them.
    fn dirs(&self) -> Result<Vec<String>> {
        let mut dirs: Vec<String> = self.list(None)?.iter().filter_map(|n| parent(n)).map(str::to_string).collect();
        dirs.sort();
        dirs.dedup();
        Ok(dirs)
    }

    /// The engine's clock, for backends that simulate time (the memory backend's kernel
    /// writeback). Real backends ignore it.
    fn tick(&mut self, _now_ms: i64) {}

    /// The simulated machine over RAM, when this is one (tests reach its knobs through it).
    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        None
    }

    /// The simulated machine, over whatever backend: the crash lab injects its crashes and
    /// faults through it.
    fn as_machine(&mut self) -> Option<&mut dyn SimulatedMachine> {
        None
    }

    /// Per-file layers (page cache vs disk) when this is a simulated machine.
    fn machine_layers(&self) -> Option<Vec<machine::FileLayers>> {
        None
    }

    /// The end of an event-loop turn: makes what processes see survive the death of the host
    /// process itself (what a kernel's page cache does across a `kill -9`). IndexedDB keeps its
    /// files in the worker's memory and stores the ones changed since; every other backend's
    /// writes are in its files already. A failure shows at the next `sync`, as a failed
    /// writeback does at the next fsync.
    fn flush_page_cache(&mut self) {}

    /// A copy of the whole storage, when it can be copied (files in RAM): checkpoints and crash
    /// points are such copies.
    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        None
    }

    /// Appends at the end; returns the bytes written (may be short).
    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        let len = self.len(name)?;
        self.write_at(name, len, bytes)
    }
    /// Reads a whole file; one this host cannot hold in memory is an error (`TooLarge`), never
    /// a shorter read.
    fn read_all(&mut self, name: &str) -> Result<Vec<u8>> {
        let len = self.len(name)?;
        let len = usize::try_from(len).map_err(|_| Error::new(ErrorKind::TooLarge, format!("{name}: {len} bytes")))?;
        let mut buf = vec![0; len];
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let n = self.read_at(name, done as u64, rest)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}

/// A boxed storage is a storage (the lab runs the simulated machine over a backend chosen at
/// run time).
impl Storage for Box<dyn Storage> {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        (**self).open(name, mode)
    }
    fn exists(&self, name: &str) -> bool {
        (**self).exists(name)
    }
    fn len(&self, name: &str) -> Result<u64> {
        (**self).len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        (**self).read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        (**self).write_at(name, offset, bytes)
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        (**self).truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> Result<()> {
        (**self).sync(name)
    }
    fn sync_in_background(&mut self, name: &str) -> bool {
        (**self).sync_in_background(name)
    }
    fn background_sync_done(&mut self) -> Option<Result<()>> {
        (**self).background_sync_done()
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        (**self).rename(from, to)
    }
    fn remove(&mut self, name: &str) -> Result<()> {
        (**self).remove(name)
    }
    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        (**self).list(dir)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        (**self).sync_dir(dir)
    }
    fn create_dir(&mut self, dir: &str) -> Result<()> {
        (**self).create_dir(dir)
    }
    fn dir_exists(&self, dir: &str) -> bool {
        (**self).dir_exists(dir)
    }
    fn dirs(&self) -> Result<Vec<String>> {
        (**self).dirs()
    }
    fn tick(&mut self, now_ms: i64) {
        (**self).tick(now_ms)
    }
    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        (**self).as_memory()
    }
    fn as_machine(&mut self) -> Option<&mut dyn SimulatedMachine> {
        (**self).as_machine()
    }
    fn machine_layers(&self) -> Option<Vec<machine::FileLayers>> {
        (**self).machine_layers()
    }
    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        (**self).boxed_clone()
    }
    fn flush_page_cache(&mut self) {
        (**self).flush_page_cache()
    }
    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        (**self).append(name, bytes)
    }
    fn read_all(&mut self, name: &str) -> Result<Vec<u8>> {
        (**self).read_all(name)
    }
}

/// The directory part of `dir/name`.
pub(crate) fn parent(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(d, _)| d)
}

/// `dir/name`, or `name` when `dir` is empty.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}
