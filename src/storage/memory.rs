//! RAM as a storage backend: a directory of byte files that lives in process memory.
//!
//! [`RamDisk`] is a plain backend like the native file system or OPFS: it has no page cache and
//! no notion of "synced"; every write is simply there. The simulated machine's kernel (the page
//! cache, fsync, writeback, power loss) is the [`Machine`] decorator, which sits above RAM here
//! just as it sits above OPFS, IndexedDB or the file system in the other hosts. The lab's
//! "memory" backend, [`MemoryStorage`], is that decorator over this disk.
//!
//! Files are kept in 64 KB chunks shared copy-on-write (`Arc`), so a clone of a whole disk (a
//! crash-matrix point, a timeline checkpoint) costs a pointer per chunk and an append copies at
//! most the last chunk.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::machine::Machine;
use super::{Error, ErrorKind, OpenMode, Result, Storage, parent};

pub use super::machine::{FileLayers, MemoryStats};

/// The simulated machine over RAM: the lab's "memory" backend and the crash matrix's disk.
pub type MemoryStorage = Machine<RamDisk>;

impl Default for MemoryStorage {
    fn default() -> Self {
        Machine::over_empty(RamDisk::default())
    }
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }
}

/// Bytes per chunk of a file.
const CHUNK: usize = 64 * 1024;

/// A file's bytes in copy-on-write chunks of [`CHUNK`] bytes (the last one may be shorter).
#[derive(Clone, Debug, Default)]
struct Chunked {
    chunks: Vec<Arc<Vec<u8>>>,
    len: usize,
}

impl Chunked {
    fn read(&self, offset: usize, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.len.saturating_sub(offset));
        let mut done = 0;
        while done < n {
            let at = offset + done;
            let chunk = &self.chunks[at / CHUNK];
            let from = at % CHUNK;
            let take = (n - done).min(chunk.len() - from);
            buf[done..done + take].copy_from_slice(&chunk[from..from + take]);
            done += take;
        }
        n
    }

    /// Sets the length, cutting or zero-filling.
    fn resize(&mut self, len: usize) {
        if len < self.len {
            let count = len.div_ceil(CHUNK);
            self.chunks.truncate(count);
            if let Some(last) = self.chunks.last_mut() {
                Arc::make_mut(last).truncate(len - (count - 1) * CHUNK);
            }
        } else {
            let mut missing = len - self.len;
            while missing > 0 {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    self.chunks.push(Arc::new(Vec::with_capacity(CHUNK.min(missing))));
                }
                let Some(last) = self.chunks.last_mut() else { break };
                let last = Arc::make_mut(last);
                let add = missing.min(CHUNK - last.len());
                last.resize(last.len() + add, 0);
                missing -= add;
            }
        }
        self.len = len;
    }

    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset + bytes.len();
        if end > self.len {
            self.resize(end);
        }
        let mut done = 0;
        while done < bytes.len() {
            let at = offset + done;
            let chunk = Arc::make_mut(&mut self.chunks[at / CHUNK]);
            let from = at % CHUNK;
            let take = (bytes.len() - done).min(chunk.len() - from);
            chunk[from..from + take].copy_from_slice(&bytes[done..done + take]);
            done += take;
        }
    }
}

/// A flat directory of files in RAM (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct RamDisk {
    files: BTreeMap<String, Chunked>,
    dirs: Vec<String>,
}

impl RamDisk {
    pub fn new() -> RamDisk {
        RamDisk::default()
    }

    /// The directories created (besides the root).
    pub fn dirs(&self) -> &[String] {
        &self.dirs
    }

    fn file(&self, name: &str) -> Result<&Chunked> {
        self.files.get(name).ok_or_else(|| Error::not_found(name))
    }

    fn file_mut(&mut self, name: &str) -> Result<&mut Chunked> {
        self.files.get_mut(name).ok_or_else(|| Error::not_found(name))
    }
}

/// A byte offset as an index into memory (a file in RAM cannot be larger than the address space).
fn index(offset: u64) -> Result<usize> {
    usize::try_from(offset).map_err(|_| Error::new(ErrorKind::NoSpace, "offset beyond the address space"))
}

impl Storage for RamDisk {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        if let Some(dir) = parent(name)
            && !self.dir_exists(dir)
        {
            return Err(Error::not_found(name));
        }
        match (self.files.get_mut(name), mode) {
            (None, OpenMode::Existing) => Err(Error::not_found(name)),
            (Some(f), OpenMode::Truncate) => {
                f.resize(0);
                Ok(())
            }
            (Some(_), _) => Ok(()),
            (None, _) => {
                self.files.insert(name.to_string(), Chunked::default());
                Ok(())
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        Ok(self.file(name)?.len as u64)
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let f = self.file(name)?;
        Ok(usize::try_from(offset).map_or(0, |o| f.read(o, buf)))
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let offset = index(offset)?;
        offset.checked_add(bytes.len()).ok_or_else(|| Error::new(ErrorKind::NoSpace, "file too large"))?;
        self.file_mut(name)?.write(offset, bytes);
        Ok(bytes.len())
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let len = index(len)?;
        self.file_mut(name)?.resize(len);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        self.file(name).map(|_| ())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let f = self.files.remove(from).ok_or_else(|| Error::not_found(from))?;
        self.files.insert(to.to_string(), f);
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        self.files.remove(name).map(|_| ()).ok_or_else(|| Error::not_found(name))
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        Ok(self.files.keys().filter(|n| dir.is_none_or(|d| parent(n) == Some(d))).cloned().collect())
    }

    fn sync_dir(&mut self, _dir: &str) -> Result<()> {
        Ok(())
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        if !self.dir_exists(dir) {
            self.dirs.push(dir.to_string());
        }
        Ok(())
    }

    fn dir_exists(&self, dir: &str) -> bool {
        dir.is_empty() || self.dirs.iter().any(|d| d == dir)
    }

    fn dirs(&self) -> Result<Vec<String>> {
        let mut dirs = self.dirs.clone();
        dirs.sort();
        Ok(dirs)
    }

    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        Some(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run_all(&mut || Box::new(RamDisk::new()));
    }

    #[test]
    fn the_simulated_machine_over_ram_passes_the_suite_too() {
        super::super::conformance::run_all(&mut || Box::new(MemoryStorage::new()));
    }

    #[test]
    fn chunks_are_shared_until_written() {
        let mut a = RamDisk::new();
        a.open("f", OpenMode::Create).unwrap();
        let big: Vec<u8> = (0..3 * CHUNK + 10).map(|i| (i % 251) as u8).collect();
        a.append("f", &big).unwrap();
        let b = a.clone();
        a.append("f", b"tail").unwrap();
        let (fa, fb) = (&a.files["f"], &b.files["f"]);
        assert!(Arc::ptr_eq(&fa.chunks[0], &fb.chunks[0]), "an append leaves the full chunks shared");
        assert!(!Arc::ptr_eq(&fa.chunks[3], &fb.chunks[3]), "the last chunk was copied on write");
        let mut b = b;
        assert_eq!(b.read_all("f").unwrap(), big);
        let mut all = big.clone();
        all.extend_from_slice(b"tail");
        assert_eq!(a.read_all("f").unwrap(), all);
        a.truncate("f", CHUNK as u64 + 1).unwrap();
        a.write_at("f", CHUNK as u64 * 2, b"z").unwrap();
        let got = a.read_all("f").unwrap();
        assert_eq!(got.len(), 2 * CHUNK + 1);
        assert_eq!(&got[..=CHUNK], &big[..=CHUNK]);
        assert!(got[CHUNK + 1..2 * CHUNK].iter().all(|&b| b == 0), "the gap reads as zeros");
        assert_eq!(got[2 * CHUNK], b'z');
    }
}
