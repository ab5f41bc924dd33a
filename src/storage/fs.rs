//! The native filesystem backend, used by `aof-lab serve` and the CLI: what redis-server does
//! with its `dir`. `sync` is `fdatasync` (`File::sync_data`), `rename` is `rename(2)`, and
//! `sync_dir` opens the directory and fsyncs it, as `writeAofManifestFile` does after renaming
//! the manifest into place.
//!
//! Under `appendfsync everysec` the once-a-second fsync runs on a thread of its own, Redis's
//! `bio` thread for `BIO_AOF_FSYNC`: `sync_in_background` gives it a duplicate of the file's
//! descriptor (the main thread keeps appending to the file meanwhile, as Redis's does), and
//! `background_sync_done` collects the outcome without waiting. An `fdatasync` takes from under a
//! millisecond to tens of milliseconds when the disk is busy: in the event loop that was a stall
//! of every client once a second.
//!
//! Open files are kept in a map by name (like Redis keeping `aof_fd` open), and reads and writes
//! are positioned (`pread` / `pwrite`), so an append per event-loop turn costs one system call, as
//! Redis's `write` to its `O_APPEND` descriptor does (a `lseek` before each `write` was one more
//! per turn).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use super::{Error, ErrorKind, OpenMode, Result, Storage};

pub struct FsStorage {
    root: PathBuf,
    open: HashMap<String, File>,
    /// The background fsync thread, started with the first job.
    bio: Option<Bio>,
}

/// `bio.c`'s AOF fsync worker: jobs in, outcomes out, in order.
struct Bio {
    jobs: Sender<(File, String)>,
    done: Receiver<Result<()>>,
}

impl Bio {
    fn spawn() -> io::Result<Bio> {
        let (jobs, job_rx) = mpsc::channel::<(File, String)>();
        let (done_tx, done) = mpsc::channel();
        std::thread::Builder::new().name("bio_aof".into()).spawn(move || {
            for (file, name) in job_rx {
                // The duplicate descriptor is closed here, off the main thread too.
                if done_tx.send(file.sync_data().map_err(|e| convert(e, &name))).is_err() {
                    return;
                }
            }
        })?;
        Ok(Bio { jobs, done })
    }
}

impl FsStorage {
    /// A storage rooted at `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>) -> Result<FsStorage> {
        let root = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| convert(e, &root.display().to_string()))?;
        Ok(FsStorage { root, open: HashMap::new(), bio: None })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn file(&mut self, name: &str) -> Result<&mut File> {
        if !self.open.contains_key(name) {
            let f = OpenOptions::new().read(true).write(true).open(self.path(name)).map_err(|e| convert(e, name))?;
            self.open.insert(name.to_string(), f);
        }
        self.open.get_mut(name).ok_or_else(|| Error::not_found(name))
    }
}

fn convert(e: io::Error, name: &str) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
        io::ErrorKind::StorageFull => ErrorKind::NoSpace,
        io::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        _ if e.raw_os_error() == Some(28) => ErrorKind::NoSpace,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{name}: {e}"))
}

impl Storage for FsStorage {
    fn kind(&self) -> &'static str {
        "fs"
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(true);
        match mode {
            OpenMode::Existing => {}
            OpenMode::Create => {
                opts.create(true);
            }
            OpenMode::Truncate => {
                opts.create(true).truncate(true);
            }
        }
        let f = opts.open(self.path(name)).map_err(|e| convert(e, name))?;
        self.open.insert(name.to_string(), f);
        Ok(())
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    fn len(&self, name: &str) -> Result<u64> {
        std::fs::metadata(self.path(name)).map(|m| m.len()).map_err(|e| convert(e, name))
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let f = self.file(name)?;
        let mut done = 0;
        while done < buf.len() {
            match f.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(convert(e, name)),
            }
        }
        Ok(done)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let f = self.file(name)?;
        let mut done = 0;
        while done < bytes.len() {
            match f.write_at(&bytes[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A short write followed by an error reports the short count, like write(2).
                Err(_) if done > 0 => break,
                Err(e) => return Err(convert(e, name)),
            }
        }
        Ok(done)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        self.file(name)?.set_len(len).map_err(|e| convert(e, name))
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        self.file(name)?.sync_data().map_err(|e| convert(e, name))
    }

    fn sync_in_background(&mut self, name: &str) -> bool {
        // Any failure here (no descriptor, no thread) leaves the fsync to the caller, in line.
        let Ok(file) = self.file(name).and_then(|f| f.try_clone().map_err(|e| convert(e, name))) else {
            return false;
        };
        if self.bio.is_none() {
            self.bio = Bio::spawn().ok();
        }
        self.bio.as_ref().is_some_and(|bio| bio.jobs.send((file, name.to_string())).is_ok())
    }

    fn background_sync_done(&mut self) -> Option<Result<()>> {
        // No thread, no job of its own outstanding.
        let Some(bio) = self.bio.as_ref() else { return Some(Ok(())) };
        match bio.done.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(Error::new(ErrorKind::Io, "the background fsync thread is gone"))),
        }
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        std::fs::rename(self.path(from), self.path(to)).map_err(|e| convert(e, from))?;
        self.open.remove(to);
        if let Some(f) = self.open.remove(from) {
            self.open.insert(to.to_string(), f);
        }
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        self.open.remove(name);
        std::fs::remove_file(self.path(name)).map_err(|e| convert(e, name))
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut visit = |sub: &str| -> Result<()> {
            let path = self.path(sub);
            let entries = match std::fs::read_dir(&path) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(convert(e, sub)),
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    out.push(super::join(sub, &name));
                }
            }
            Ok(())
        };
        match dir {
            Some(d) => visit(d)?,
            None => {
                visit("")?;
                let dirs: Vec<String> = std::fs::read_dir(&self.root)
                    .map_err(|e| convert(e, "."))?
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                for d in dirs {
                    visit(&d)?;
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        File::open(self.path(dir)).and_then(|d| d.sync_all()).map_err(|e| convert(e, dir))
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        match std::fs::create_dir(self.path(dir)) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(convert(e, dir)),
            _ => Ok(()),
        }
    }

    fn dir_exists(&self, dir: &str) -> bool {
        self.path(dir).is_dir()
    }

    fn dirs(&self) -> Result<Vec<String>> {
        let mut dirs: Vec<String> = std::fs::read_dir(&self.root)
            .map_err(|e| convert(e, "."))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        Ok(dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        let base = std::env::temp_dir().join(format!("aof-lab-fs-conformance-{}", std::process::id()));
        let mut n = 0;
        super::super::conformance::run_all(&mut || {
            n += 1;
            let dir = base.join(n.to_string());
            let _ = std::fs::remove_dir_all(&dir);
            Box::new(FsStorage::new(&dir).unwrap())
        });
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn background_sync_reports_once_done() {
        let dir = std::env::temp_dir().join(format!("aof-lab-fs-bio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = FsStorage::new(&dir).unwrap();
        assert_eq!(s.background_sync_done(), Some(Ok(())), "no thread, nothing outstanding");
        assert!(!s.sync_in_background("missing.aof"), "no such file: the caller syncs in line");
        s.open("a.aof", OpenMode::Create).unwrap();
        s.write_at("a.aof", 0, b"*1\r\n$4\r\nPING\r\n").unwrap();
        assert!(s.sync_in_background("a.aof"));
        let outcome = loop {
            if let Some(outcome) = s.background_sync_done() {
                break outcome;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(outcome, Ok(()));
        // Appends go on while the thread holds its own descriptor.
        assert!(s.sync_in_background("a.aof"));
        assert_eq!(s.write_at("a.aof", 14, b"x").unwrap(), 1);
        while s.background_sync_done().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(s.read_all("a.aof").unwrap().len(), 15);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
