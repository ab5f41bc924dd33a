//! The timeline's present on a real backend (OPFS, IndexedDB, a directory), and where a
//! timeline starts.
//!
//! The head lab runs over a RAM mirror of the real files ([`Tee`]): its checkpoints are copies in
//! RAM, and every lab of the past runs over RAM. While the position is elsewhere, the lab the real
//! files hold is *parked*; coming back to it costs nothing. An input applied anywhere else first
//! makes that lab the present ([`Tee::adopt`]: the real files are rewritten to its files).

use std::rc::Rc;

use super::{Recorded, State, Timeline};
use crate::Config;
use crate::lab::{Host, Lab, MEMORY_DURABILITY};
use crate::storage::{Machine, OpenMode, RamDisk, Shared, Storage, Tee};

/// Where a timeline starts: the settings (redis.conf names and values), the seed of every random
/// choice, the simulated clock, and the files the lab started on (all on disk; a name ending in
/// `/` is a directory).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Start {
    pub settings: Vec<(String, String)>,
    pub seed: u64,
    pub t0: i64,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Start {
    /// The configuration the settings give (a bad one says which and why).
    pub fn config(&self) -> Result<Config, String> {
        let mut config = Config::default();
        for (k, v) in &self.settings {
            config.set(k, v, true).map_err(|e| format!("{k}: {e}"))?;
        }
        Ok(config)
    }

    /// redis-server started on a simulated machine over RAM holding the start's files, with
    /// what the host lends (a clock to time loads and scripts with; none in a replay: its
    /// loads take 0.000 seconds).
    pub fn memory_lab(&self, host: &Host) -> Result<Lab, String> {
        let config = host.lend_to(self.config()?);
        let mut ram = RamDisk::new();
        for (name, data) in &self.files {
            let fail = |e: crate::storage::Error| format!("start file {name}: {e}");
            if let Some(dir) = name.strip_suffix('/') {
                ram.create_dir(dir).map_err(fail)?;
                continue;
            }
            if let Some((dir, _)) = name.rsplit_once('/') {
                ram.create_dir(dir).map_err(fail)?;
            }
            ram.open(name, OpenMode::Create).map_err(fail)?;
            ram.write_at(name, 0, data).map_err(fail)?;
        }
        let machine = Machine::over(ram).map_err(|e| e.to_string())?;
        let mut lab = Lab::start(config, Box::new(machine), self.t0);
        lab.durability = MEMORY_DURABILITY.into();
        Ok(lab)
    }

    /// The files a storage holds, as a start's files (directories first).
    pub fn files_of(storage: &mut dyn Storage) -> crate::storage::Result<Vec<(String, Vec<u8>)>> {
        let mut files: Vec<(String, Vec<u8>)> = storage.dirs()?.into_iter().map(|d| (format!("{d}/"), Vec::new())).collect();
        for name in storage.list(None)? {
            let data = storage.read_all(&name)?;
            files.push((name, data));
        }
        Ok(files)
    }
}

/// The lab the real backend's files hold, kept aside while the position is elsewhere.
pub(super) struct Parked {
    pub(super) pos: usize,
    pub(super) after: Option<Rc<Recorded>>,
    pub(super) state: State,
}

impl Timeline {
    /// redis-server started on the files of a real backend, mirrored in RAM: the lab is the
    /// present, and the start's files are what the backend held. `host` lends the lab what is
    /// not an input (the backend's notes and durability, a clock to time loads with) before the
    /// first checkpoint.
    pub fn on_backend(real: Shared, settings: &[(String, String)], seed: u64, t0: i64, host: Host) -> Result<Timeline, String> {
        let mut tee = Tee::open(real.clone()).map_err(|e| e.to_string())?;
        let files = Start::files_of(&mut tee).map_err(|e| e.to_string())?;
        let start = Start { settings: settings.to_vec(), seed, t0, files };
        let config = host.lend_to(start.config()?);
        let machine = Machine::over(tee).map_err(|e| e.to_string())?;
        let mut lab = Lab::start(config, Box::new(machine), t0);
        host.lend(&mut lab);
        Ok(Timeline::over(lab, start, Some(real)))
    }

    /// Before an input: the lab at the position becomes the present (see the module docs). If
    /// the real backend fails meanwhile, the mirror is given up ([`Timeline::mirror_error`]) and
    /// the lab goes on over RAM.
    pub(super) fn attach(&mut self) {
        if self.attached {
            return;
        }
        let Some(real) = self.mirror.clone() else { return };
        self.parked = None;
        let Some(m) = self.state.lab.engine.srv.storage.as_memory() else {
            self.give_up_mirror("the lab's files are not in RAM".into());
            return;
        };
        match Tee::adopt(m.inner().clone(), real) {
            Ok(tee) => {
                let machine = m.with_inner(tee);
                self.state.lab.engine.srv.storage = Box::new(machine);
                self.attached = true;
            }
            Err(e) => self.give_up_mirror(e.to_string()),
        }
    }

    fn give_up_mirror(&mut self, why: String) {
        let kind = self.mirror.as_ref().map_or("backend", |m| m.borrow().kind());
        self.mirror = None;
        self.parked = None;
        self.mirror_error = Some(format!("the {kind} files could not be rewritten to this point ({why}): the lab goes on in memory only"));
    }

    /// Keeps `state` aside if it is the present (the lab the real files hold).
    pub(super) fn park(&mut self, state: State) {
        if !self.attached {
            return;
        }
        let after = self.pos.checked_sub(1).map(|i| Rc::clone(&self.line[i]));
        self.parked = Some(Parked { pos: self.pos, after, state });
        self.attached = false;
    }

    /// Takes the parked present back if it is the state at `target` on the current line.
    pub(super) fn unpark(&mut self, target: usize) -> bool {
        let Some(p) = &self.parked else { return false };
        if p.pos != target || !self.holds(p.pos, &p.after) {
            return false;
        }
        let Some(p) = self.parked.take() else { return false };
        let left = std::mem::replace(&mut self.state, p.state);
        self.pos = p.pos;
        self.attached = true;
        // What was at the position is a copy over RAM: nothing to keep.
        drop(left);
        self.last_checkpoint = self.checkpoint_before(self.pos).map_or(0, |(p, _)| p);
        true
    }

    /// Whether the current line holds the state after `after` at `pos`.
    fn holds(&self, pos: usize, after: &Option<Rc<Recorded>>) -> bool {
        match after {
            None => pos == 0,
            Some(r) => pos.checked_sub(1).and_then(|i| self.line.get(i)).is_some_and(|x| Rc::ptr_eq(x, r)),
        }
    }

    /// The position on the current line whose lab the real backend's files hold (`None`: no real
    /// backend, or its files hold a state of another branch).
    pub fn present(&self) -> Option<u64> {
        self.mirror.as_ref()?;
        if self.attached {
            return Some(self.pos as u64);
        }
        self.parked.as_ref().filter(|p| self.holds(p.pos, &p.after)).map(|p| p.pos as u64)
    }

    /// Whether the lab runs over a real backend's files (and they have not failed it).
    pub fn has_mirror(&self) -> bool {
        self.mirror.is_some()
    }

    /// Why the real backend was given up, if it was.
    pub fn mirror_error(&self) -> Option<&str> {
        self.mirror_error.as_deref()
    }

    /// The files the lab started on.
    pub fn start_files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }
}
