//! The mirror: a storage that keeps a real backend's files (OPFS, IndexedDB, a directory) in RAM
//! as well, so that the lab's timeline can copy the present as cheaply as it copies the past.
//!
//! The timeline ([`crate::lab::timeline`]) keeps checkpoints: copies of the whole lab, files
//! included. A file in RAM copies in a pointer per 64 KB chunk ([`RamDisk`]); a file in OPFS or
//! IndexedDB cannot be copied at all. So the lab's present runs over a [`Tee`]:
//!
//! * **reads** come from the RAM side, which always holds the same bytes as the real side;
//! * **every change** (open, write, truncate, rename, remove, create_dir) goes to the real
//!   backend first and, once it succeeded, to RAM (a short write copies only what the real
//!   backend took), so a failure of the real backend (a quota, a lock) changes neither side;
//! * `sync`, `sync_dir` and the end of a turn (`flush_page_cache`: IndexedDB's transaction) are
//!   the real backend's business: RAM has nothing to make durable;
//! * a copy ([`Storage::boxed_clone`]) is the RAM side alone: every checkpoint, and every lab of
//!   the past, is a lab over RAM.
//!
//! The real backend is held through a [`Shared`] (`Rc<RefCell<…>>`) that its host keeps too:
//! dropping a lab (a checkpoint restored over it, a branch discarded) never closes the browser's
//! handles, and the present can move to another lab. That move is [`Tee::adopt`]: when the
//! learner acts in the past, the lab at that point (over RAM) becomes the present: the real
//! backend's files are rewritten to its files (what it did not have is deleted), and the mirror is
//! attached to it, so it goes on from there; a page reload then loads that new present.
//!
//! At [`Tee::open`], the real backend's directories and files are copied into RAM: the lab's files
//! are small (a few MB at most in a tab: `maxmemory` caps the dataset at 64 MB), and the copy is
//! what the timeline's start is.
//!
//! The simulated machine ([`super::Machine`]) sits above the Tee as above any backend: the page
//! cache and disk it models are the same, and its crashes are applied to both sides.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Error, ErrorKind, OpenMode, RamDisk, Result, Storage, parent};

/// A real backend shared by its host and the labs over it.
pub type Shared = Rc<RefCell<Box<dyn Storage>>>;

/// Wraps a backend for sharing.
pub fn shared(storage: Box<dyn Storage>) -> Shared {
    Rc::new(RefCell::new(storage))
}

/// RAM in front of a real backend (see the module docs).
pub struct Tee {
    ram: RamDisk,
    real: Shared,
}

impl Tee {
    /// Mirrors `real`: its directories and files are copied into RAM.
    pub fn open(real: Shared) -> Result<Tee> {
        let ram = {
            let mut r = real.borrow_mut();
            let mut ram = RamDisk::new();
            for dir in r.dirs()? {
                ram.create_dir(&dir)?;
            }
            for name in r.list(None)? {
                let bytes = r.read_all(&name)?;
                if let Some(dir) = parent(&name) {
                    ram.create_dir(dir)?;
                }
                ram.open(&name, OpenMode::Create)?;
                ram.write_at(&name, 0, &bytes)?;
            }
            ram
        };
        Ok(Tee { ram, real })
    }

    /// Makes `real` hold exactly `ram`'s directories and files (deleting the files it does not
    /// have, rewriting those that differ, syncing what it wrote), then mirrors it: the lab that
    /// owns `ram` becomes the present. A file whose bytes are already there is left alone, so
    /// adopting the state the real backend holds costs a comparison.
    pub fn adopt(ram: RamDisk, real: Shared) -> Result<Tee> {
        {
            let mut r = real.borrow_mut();
            let mut ram = ram.clone();
            let keep: Vec<String> = ram.list(None)?;
            for name in r.list(None)? {
                if !keep.contains(&name) {
                    r.remove(&name)?;
                }
            }
            let mut dirs: Vec<String> = Storage::dirs(&ram)?;
            for dir in &dirs {
                r.create_dir(dir)?;
            }
            for name in &keep {
                let bytes = ram.read_all(name)?;
                if r.exists(name) && r.len(name)? == bytes.len() as u64 && r.read_all(name)? == bytes {
                    continue;
                }
                r.open(name, OpenMode::Truncate)?;
                let mut done = 0;
                while done < bytes.len() {
                    let n = r.write_at(name, done as u64, &bytes[done..])?;
                    if n == 0 {
                        return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
                    }
                    done += n;
                }
                r.sync(name)?;
            }
            dirs.push(String::new());
            for dir in &dirs {
                r.sync_dir(dir)?;
            }
            r.flush_page_cache();
        }
        Ok(Tee { ram, real })
    }

    /// The RAM side (what a copy of this storage holds).
    pub fn ram(&self) -> &RamDisk {
        &self.ram
    }

    /// The real backend.
    pub fn real(&self) -> &Shared {
        &self.real
    }

    /// The RAM side's answer to a change the real backend accepted; if RAM refuses what the
    /// real backend took, the two have parted, which must never happen.
    fn mirrored<T>(result: Result<T>) -> Result<T> {
        result.map_err(|e| Error::new(ErrorKind::Io, format!("the RAM mirror refused a change the real backend made: {e}")))
    }
}

impl Storage for Tee {
    fn kind(&self) -> &'static str {
        self.real.borrow().kind()
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        self.real.borrow_mut().open(name, mode)?;
        Self::mirrored(self.ram.open(name, mode))
    }

    fn exists(&self, name: &str) -> bool {
        self.ram.exists(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        self.ram.len(name)
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.ram.read_at(name, offset, buf)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let n = self.real.borrow_mut().write_at(name, offset, bytes)?;
        Self::mirrored(self.ram.write_at(name, offset, bytes.get(..n).unwrap_or(bytes)))?;
        Ok(n)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        self.real.borrow_mut().truncate(name, len)?;
        Self::mirrored(self.ram.truncate(name, len))
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        self.ram.sync(name)?;
        self.real.borrow_mut().sync(name)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.real.borrow_mut().rename(from, to)?;
        Self::mirrored(self.ram.rename(from, to))
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        self.real.borrow_mut().remove(name)?;
        Self::mirrored(self.ram.remove(name))
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        self.ram.list(dir)
    }

    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        self.real.borrow_mut().sync_dir(dir)
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        self.real.borrow_mut().create_dir(dir)?;
        Self::mirrored(self.ram.create_dir(dir))
    }

    fn dir_exists(&self, dir: &str) -> bool {
        self.ram.dir_exists(dir)
    }

    fn dirs(&self) -> Result<Vec<String>> {
        Storage::dirs(&self.ram)
    }

    fn tick(&mut self, now_ms: i64) {
        self.real.borrow_mut().tick(now_ms);
    }

    fn flush_page_cache(&mut self) {
        self.real.borrow_mut().flush_page_cache();
    }

    fn boxed_clone(&self) -> Option<Box<dyn Storage>> {
        Some(Box::new(self.ram.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use crate::storage::conformance;

    fn over_ram() -> (Tee, Shared) {
        let real = shared(Box::new(RamDisk::new()));
        (Tee::open(real.clone()).unwrap(), real)
    }

    #[test]
    fn conformance_over_ram() {
        conformance::run_all(&mut || Box::new(over_ram().0));
    }

    #[test]
    fn the_machine_over_a_tee_passes_the_suite_too() {
        conformance::run_all(&mut || Box::new(crate::storage::Machine::over(over_ram().0).unwrap()));
    }

    #[test]
    fn both_sides_hold_the_same_files_and_a_copy_is_the_ram_side() {
        let (mut t, real) = over_ram();
        t.create_dir("d").unwrap();
        t.open("d/f", OpenMode::Create).unwrap();
        t.append("d/f", b"hello").unwrap();
        t.rename("d/f", "d/g").unwrap();
        assert_eq!(real.borrow_mut().read_all("d/g").unwrap(), b"hello");
        assert!(!real.borrow().exists("d/f"));
        let mut copy = t.boxed_clone().unwrap();
        assert_eq!(copy.kind(), "memory");
        t.append("d/g", b" world").unwrap();
        assert_eq!(copy.read_all("d/g").unwrap(), b"hello", "the copy is its own");
        assert_eq!(real.borrow_mut().read_all("d/g").unwrap(), b"hello world");
        // A reopen finds what the real side holds, empty directories included.
        t.create_dir("empty").unwrap();
        drop(t);
        let t = Tee::open(real).unwrap();
        assert_eq!(t.ram().dirs(), ["d", "empty"]);
    }

    /// A write the real backend cut short (its disk is full) is as short in RAM.
    #[test]
    fn a_short_write_is_as_short_on_both_sides() {
        let mut m = MemoryStorage::new();
        m.capacity = Some(4);
        let real = shared(Box::new(m));
        let mut t = Tee::open(real.clone()).unwrap();
        t.open("f", OpenMode::Create).unwrap();
        assert_eq!(t.append("f", b"abcdef").unwrap(), 4);
        assert_eq!(t.read_all("f").unwrap(), b"abcd");
        assert_eq!(t.append("f", b"x").unwrap_err().kind, ErrorKind::NoSpace);
        assert_eq!(t.len("f").unwrap(), 4, "a refused write changes neither side");
    }

    /// Adopting another lab's RAM rewrites the real files to it: deleted, rewritten, created.
    #[test]
    fn adopt_makes_the_real_backend_hold_the_ram_files() {
        let (mut t, real) = over_ram();
        for (n, b) in [("a", &b"same"[..]), ("b", b"old"), ("gone", b"x")] {
            t.open(n, OpenMode::Create).unwrap();
            t.append(n, b).unwrap();
        }
        let mut past = t.ram().clone();
        past.remove("gone").unwrap();
        past.truncate("b", 0).unwrap();
        past.append("b", b"new").unwrap();
        past.create_dir("d").unwrap();
        past.open("d/c", OpenMode::Create).unwrap();
        past.append("d/c", b"created").unwrap();
        drop(t);
        let t = Tee::adopt(past, real.clone()).unwrap();
        let files = conformance::files(&mut **real.borrow_mut());
        let want: Vec<(&str, &[u8])> = vec![("a", b"same"), ("b", b"new"), ("d/c", b"created")];
        assert_eq!(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect::<Vec<_>>(), want);
        assert_eq!(t.list(None).unwrap(), ["a", "b", "d/c"]);
    }
}
