//! Storage: a flat directory of byte files, the only way the engine touches persistence.
//!
//! Names are relative paths with at most one directory level (`appendonlydir/appendonly.aof.1.
//! incr.aof`, `temp-rewriteaof-bg-1.aof`), as in Redis's `dir`. Every backend passes the same
//! conformance suite ([`conformance`]):
//!
//! * [`memory::MemoryStorage`]: the reference backend. It models the machine: per file the
//!   bytes in the kernel page cache and the bytes on disk, a simulated kernel that writes dirty
//!   pages back after a delay, and the crash kinds the lab demonstrates (process kill, power loss,
//!   torn write, disk full, fsync error).
//! * `fs::FsStorage` (native only): `std::fs`, `sync_data`, real rename and directory fsync.
//! * [`opfs`] (browser, dedicated worker): a pool of OPFS files with sync access handles, the
//!   logical name in each file's header (SQLite's `opfs-sahpool` design).
//! * [`idb`] (browser): an in-memory mirror persisted to IndexedDB at each sync point.
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
pub mod memory;
#[cfg(target_arch = "wasm32")]
pub mod opfs;

#[cfg(not(target_arch = "wasm32"))]
pub use fs::FsStorage;
pub use memory::MemoryStorage;

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

    /// The engine's clock, for backends that simulate time (the memory backend's kernel
    /// writeback). Real backends ignore it.
    fn tick(&mut self, _now_ms: i64) {}

    /// The simulated machine, when this is one: the crash lab injects its crashes through it.
    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        None
    }

    /// A copy of the whole directory (every file's bytes and layers), for the lab's timeline
    /// checkpoints; `None` for a backend that is a real disk (OPFS, IndexedDB, fs), whose past
    /// cannot be copied.
    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        None
    }

    /// Appends at the end; returns the bytes written (may be short).
    fn append(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        let len = self.len(name)?;
        self.write_at(name, len, bytes)
    }
    /// Reads a whole file.
    fn read_all(&mut self, name: &str) -> Result<Vec<u8>> {
        let len = self.len(name)? as usize;
        let mut buf = vec![0; len];
        let mut done = 0;
        while done < len {
            let n = self.read_at(name, done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}

/// `dir/name`, or `name` when `dir` is empty.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}
