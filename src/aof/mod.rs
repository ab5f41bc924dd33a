//! The append-only file, Redis 7.0 style: `aof_buf`, the incr file it is written to, the
//! fsync policy, the multi-part manifest, loading at start.
//!
//! ```text
//! command ─► feed (aof_buf) ─► flush: write() into the incr file ─► fsync (policy) ─► disk
//!            process memory     kernel page cache                                    durable
//! ```
//!
//! * [`feed`]: what bytes a propagated command becomes.
//! * [`flush`]: `flushAppendOnlyFile`, once per event-loop turn before replies go out, and the
//!   simulated `bio` thread that runs everysec's background fsync.
//! * [`manifest`]: the manifest format.
//! * [`load`]: loading base + incr files, truncated tails.
//! * this module: the AOF's state (`server.aof_*`) and the start-up sequence.
//!
//! Compared with Redis: the bio thread is simulated (a background fsync "takes" a configurable
//! number of milliseconds of the engine's clock), so that postponed writes can be watched.

pub mod bgrewrite;
pub mod check;
pub mod feed;
pub mod flush;
pub mod inspect;
pub mod legacy;
pub mod load;
pub mod manifest;
pub mod rewrite;
pub mod rewrite_stream;

pub use feed::Feed;
pub use manifest::{AofFileType, AofInfo, AofManifest};

use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, OpenMode, join};

/// A background fsync queued to the simulated bio thread.
#[derive(Clone, Debug)]
pub struct BioFsync {
    pub file: String,
    /// When the fsync completes (engine ms); for a job on the host's thread, the earliest
    /// moment to ask it.
    pub done_at_ms: i64,
    /// The storage runs it on a thread of its own ([`crate::storage::Storage::sync_in_background`],
    /// `aof-lab serve`): done when that thread says so, not at `done_at_ms`.
    pub on_host: bool,
}

/// `server.aof_*` state.
#[derive(Clone, Debug, Default)]
pub struct Aof {
    pub manifest: AofManifest,
    /// The incr file being appended to (`aof_fd`), relative to `dir`.
    pub incr_path: Option<String>,
    pub current_size: u64,
    pub rewrite_base_size: u64,
    pub last_incr_size: u64,
    pub last_incr_fsync_offset: u64,
    /// `aof_last_fsync`, unix seconds.
    pub last_fsync: i64,
    /// `aof_flush_postponed_start`, unix seconds; 0 = no postponed write.
    pub flush_postponed_start: i64,
    pub delayed_fsync: u64,
    /// `aof_last_write_status == C_ERR`, with the error (`aof_last_write_errno`).
    pub last_write_error: Option<Error>,
    /// `aof_bio_fsync_status == C_ERR`, with its error.
    pub bio_fsync_error: Option<Error>,
    pub bio_job: Option<BioFsync>,
    /// How long a simulated background fsync takes.
    pub fsync_latency_ms: i64,
    last_write_error_log: i64,
    pub(crate) last_cron_write_retry: i64,
    /// Under `appendfsync always` a write or fsync error makes Redis `exit(1)`: the engine stops
    /// here, with the reason, until the host restarts it.
    pub exited: Option<String>,
    pub loading_total_bytes: u64,
    pub loading_loaded_bytes: u64,
    /// The running rewrite child, if any (one child at a time).
    pub child: Option<crate::child::SnapshotChild>,
    /// BGREWRITEAOF asked for while it could not start (inside EXEC): cron starts it.
    pub rewrite_scheduled: bool,
    /// `stat_aof_rewrites`.
    pub rewrites: u64,
    pub(crate) next_pid: u32,
    /// `aof_lastbgrewrite_status == C_ERR`.
    pub last_bgrewrite_failed: bool,
    /// `stat_aofrw_consecutive_failures`.
    pub consecutive_failures: u64,
    /// `aof_rewrite_time_last` in seconds; None before the first rewrite.
    pub last_rewrite_time_sec: Option<i64>,
    /// `aof_last_cow_size`: bytes the last rewrite's simulated fork would have copied.
    pub last_cow_size: u64,
    /// `aofRewriteLimited`'s state: the current delay and when the next try is allowed.
    pub(crate) limit_delay_minutes: i64,
    pub(crate) limit_next_time: i64,
    /// The 6.2 design's own state (`lab-aof-mode 6.2`): the rewrite buffer and the child's side.
    pub legacy: legacy::Legacy,
    /// Every `write()` of `aof_buf` since the host last took them, when a host asked for them
    /// (`Some`): the lab tells the page where each command's bytes went. `None`: not recorded.
    pub writes: Option<Vec<flush::AofWrite>>,
}

impl Aof {
    pub fn write_status_ok(&self) -> bool {
        self.last_write_error.is_none() && self.bio_fsync_error.is_none()
    }
    /// The error behind `-MISCONF`, if any.
    pub fn write_error(&self) -> Option<&Error> {
        self.last_write_error.as_ref().or(self.bio_fsync_error.as_ref())
    }
}

impl Server {
    fn aof_dir(&self) -> String {
        self.config.appenddirname.clone()
    }

    /// Sum of the base and incr file sizes the manifest names.
    pub fn aof_files_size(&self, am: &AofManifest) -> u64 {
        let dir = self.aof_dir();
        am.load_order().map(|ai| self.storage.len(&join(&dir, &ai.file_name)).unwrap_or(0)).sum()
    }

    /// `aofLoadManifestFromDisk`. A missing dir or manifest is not an error (it makes upgrades
    /// and fresh starts possible).
    pub fn aof_load_manifest_from_disk(&mut self) -> Result<AofManifest, Vec<String>> {
        let dir = self.aof_dir();
        if !self.storage.dir_exists(&dir) {
            self.log(LogLevel::Debug, format!("The AOF directory {dir} doesn't exist"));
            return Ok(AofManifest::default());
        }
        let name = format!("{}.manifest", self.config.appendfilename);
        let path = join(&dir, &name);
        if !self.storage.exists(&path) {
            self.log(LogLevel::Debug, format!("The AOF manifest file {name} doesn't exist"));
            return Ok(AofManifest::default());
        }
        let bytes =
            self.storage.read_all(&path).map_err(|e| vec![format!("Can't open the AOF manifest {name} for reading: {}", e.strerror())])?;
        AofManifest::parse(&bytes).map_err(|e| e.log_lines())
    }

    /// `aofUpgradePrepare`: moves a legacy `appendonly.aof` into the AOF directory as its base.
    pub fn aof_upgrade_if_needed(&mut self, am: &mut AofManifest) -> Result<(), String> {
        let legacy = self.config.appendfilename.clone();
        let dir = self.aof_dir();
        if !self.storage.exists(&legacy) {
            return Ok(());
        }
        let needs = !self.storage.dir_exists(&dir)
            || am.is_empty()
            || (am.incr.is_empty()
                && am.base.as_ref().is_some_and(|b| b.file_name == legacy)
                && !self.storage.exists(&join(&dir, &legacy)));
        if !needs {
            return Ok(());
        }
        self.storage.create_dir(&dir).map_err(|e| format!("Can't create AOF directory {dir}: {}", e.strerror()))?;
        *am = AofManifest::default();
        am.base = Some(AofInfo { file_name: legacy.clone(), file_seq: 1, file_type: AofFileType::Base });
        am.curr_base_file_seq = 1;
        am.dirty = true;
        self.persist_aof_manifest(am).map_err(|e| format!("Can't persist the AOF manifest: {}", e.strerror()))?;
        self.storage
            .rename(&legacy, &join(&dir, &legacy))
            .map_err(|e| format!("Error trying to rename the existing AOF to {legacy}: {}", e.strerror()))?;
        self.storage.sync_dir(&dir).ok();
        self.log(LogLevel::Notice, format!("Successfully migrated an old-style AOF file ({legacy}) into the AOF directory ({dir})."));
        Ok(())
    }

    /// `persistAofManifest` / `writeAofManifestFile`: temp file, fsync, rename, dir fsync. A
    /// failure is logged here with Redis's line.
    pub fn persist_aof_manifest(&mut self, am: &mut AofManifest) -> Result<(), Error> {
        if !am.dirty {
            return Ok(());
        }
        let dir = self.aof_dir();
        let name = format!("{}.manifest", self.config.appendfilename);
        let tmp_name = format!("temp-{name}");
        let tmp = join(&dir, &tmp_name);
        let bytes = am.to_bytes();
        if let Err(e) = self.storage.open(&tmp, OpenMode::Truncate) {
            self.log(LogLevel::Warning, format!("Can't open the AOF manifest file {tmp_name}: {}", e.strerror()));
            return Err(e);
        }
        // write(2) in a loop: a short write is retried, and the retry fails with the reason.
        let written = match self.storage.write_at(&tmp, 0, &bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(_) => Err(Error::new(crate::storage::ErrorKind::NoSpace, "short write of the manifest")),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            self.log(LogLevel::Warning, format!("Error trying to write the temporary AOF manifest file {tmp_name}: {}", e.strerror()));
            return Err(e);
        }
        if let Err(e) = self.storage.sync(&tmp) {
            self.log(LogLevel::Warning, format!("Fail to fsync the temp AOF file {tmp_name}: {}.", e.strerror()));
            return Err(e);
        }
        let path = join(&dir, &name);
        if let Err(e) = self.storage.rename(&tmp, &path) {
            self.log(
                LogLevel::Warning,
                format!("Error trying to rename the temporary AOF manifest file {tmp_name} into {name}: {}", e.strerror()),
            );
            return Err(e);
        }
        if let Err(e) = self.storage.sync_dir(&dir) {
            self.log(LogLevel::Warning, format!("Fail to fsync AOF directory {path}: {}.", e.strerror()));
            return Err(e);
        }
        am.dirty = false;
        Ok(())
    }

    /// `aofOpenIfNeededOnServerStart`: creates the first base if there is nothing, opens (or
    /// creates) the last incr file, persists the manifest.
    pub fn aof_open_if_needed_on_server_start(&mut self) -> Result<(), String> {
        if self.aof_state != AofState::On {
            return Ok(());
        }
        let dir = self.aof_dir();
        self.storage.create_dir(&dir).map_err(|e| format!("Can't create AOF directory {dir}: {}", e.strerror()))?;
        let mut am = std::mem::take(&mut self.aof.manifest);
        let had_incr = !am.incr.is_empty();
        if am.base.is_none() && am.incr.is_empty() {
            let rdb = self.config.aof_use_rdb_preamble;
            let base = am.new_base(&self.config.appendfilename, rdb);
            let bytes = if rdb { crate::rdb::empty_base(self.unixtime(), self.used_memory()) } else { Vec::new() };
            let path = join(&dir, &base);
            let write = (|| {
                self.storage.open(&path, OpenMode::Truncate)?;
                self.storage.write_at(&path, 0, &bytes)?;
                self.storage.sync(&path)
            })();
            write.map_err(|e| format!("Can't create the AOF base file {base}: {}", e.strerror()))?;
            self.log(LogLevel::Notice, format!("Creating AOF base file {base} on server start"));
        }
        let incr = match am.incr.last() {
            Some(ai) => ai.file_name.clone(),
            None => am.new_incr(&self.config.appendfilename),
        };
        let path = join(&dir, &incr);
        self.storage.open(&path, OpenMode::Create).map_err(|e| format!("Can't open the append-only file {incr}: {}", e.strerror()))?;
        let persisted = self.persist_aof_manifest(&mut am);
        self.aof.manifest = am;
        persisted.map_err(|e| format!("Can't persist the AOF manifest: {}", e.strerror()))?;
        self.aof.last_incr_size = self.storage.len(&path).unwrap_or(0);
        self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
        self.aof.incr_path = Some(path);
        self.feed.selected_db = -1;
        self.log(LogLevel::Notice, format!("{} AOF incr file {incr} on server start", if had_incr { "Opening" } else { "Creating" }));
        Ok(())
    }

    /// `aofDelHistoryFiles`: history files are removed, then the manifest is persisted again.
    pub fn aof_del_history_files(&mut self) {
        if self.config.aof_disable_auto_gc || self.aof.manifest.history.is_empty() {
            return;
        }
        let dir = self.aof_dir();
        for ai in std::mem::take(&mut self.aof.manifest.history) {
            self.log(LogLevel::Notice, format!("Removing the history file {} in the background", ai.file_name));
            self.storage.remove(&join(&dir, &ai.file_name)).ok();
        }
        self.aof.manifest.dirty = true;
        let mut am = std::mem::take(&mut self.aof.manifest);
        // persistAofManifest logs a failure; the history is gone either way.
        self.persist_aof_manifest(&mut am).ok();
        self.aof.manifest = am;
    }

    /// The start-up sequence with the AOF on: manifest, upgrade, load, open, history GC.
    /// `Err` holds the fatal lines Redis would log before `exit(1)`.
    pub fn aof_start(&mut self) -> Result<load::AofStatus, Vec<String>> {
        if self.config.aof_legacy {
            return self.legacy_aof_start();
        }
        let mut am = self.aof_load_manifest_from_disk()?;
        let mut status = load::AofStatus::NotExist;
        if self.aof_state == AofState::On {
            // loadDataFromDisk's `start = ustime()`: the upgrade (inside loadAppendOnlyFiles in
            // Redis) and every file.
            let started = crate::load_time::started(self.config.load_clock);
            self.aof_upgrade_if_needed(&mut am).map_err(|e| vec![e])?;
            status = load::load_append_only_files(self, &am);
            if matches!(status, load::AofStatus::Failed | load::AofStatus::OpenErr) {
                return Err(Vec::new());
            }
            if status != load::AofStatus::NotExist {
                let line = crate::load_time::line("DB loaded from append only file", self.config.load_clock, started);
                self.log(LogLevel::Notice, line);
            }
        }
        self.aof.manifest = am;
        self.aof_open_if_needed_on_server_start().map_err(|e| vec![e])?;
        self.aof_del_history_files();
        Ok(status)
    }

    /// Loads without starting: the manifest (or the single file `single`, relative to the AOF
    /// directory) and its files, nothing opened for writing. For `aof-lab load`.
    pub fn aof_load_only(&mut self, single: Option<String>) -> Result<load::AofStatus, Vec<String>> {
        let am = match single {
            Some(name) => AofManifest {
                base: Some(AofInfo { file_name: name, file_seq: 1, file_type: AofFileType::Base }),
                curr_base_file_seq: 1,
                ..AofManifest::default()
            },
            None => self.aof_load_manifest_from_disk()?,
        };
        let status = load::load_append_only_files(self, &am);
        match status {
            load::AofStatus::Failed | load::AofStatus::OpenErr => Err(Vec::new()),
            s => Ok(s),
        }
    }

    /// `DEBUG LOADAOF`. `Err` means the engine exited (as Redis does with `exit(1)`).
    pub fn debug_loadaof(&mut self) -> Result<(), String> {
        if self.config.aof_legacy {
            return self.legacy_debug_loadaof();
        }
        if self.aof_state == AofState::On {
            self.flush_append_only_file(true);
        }
        self.empty_data();
        let am = match self.aof_load_manifest_from_disk() {
            Ok(am) => am,
            Err(lines) => {
                for l in lines {
                    self.log(LogLevel::Warning, l);
                }
                self.aof.exited = Some("fatal AOF manifest error in DEBUG LOADAOF".into());
                return Err("the AOF manifest is not valid: the server exited".into());
            }
        };
        self.aof.manifest = am;
        self.aof_del_history_files();
        let manifest = self.aof.manifest.clone();
        let ret = load::load_append_only_files(self, &manifest);
        if !matches!(ret, load::AofStatus::Ok | load::AofStatus::Empty) {
            self.aof.exited = Some(format!("DEBUG LOADAOF could not load the AOF ({ret:?})"));
            return Err(format!("DEBUG LOADAOF could not load the AOF ({ret:?}): the server exited"));
        }
        self.dirty = 0;
        self.log(LogLevel::Notice, "Append Only File loaded by DEBUG LOADAOF".into());
        Ok(())
    }
}

/// C's `fgets(buf, size, fp)` over a file's bytes from `pos`: the next line up to and including
/// its `\n`, but at most `size - 1` bytes (a longer line comes back in pieces); `None` at the
/// end of the data. The AOF loader reads with 1024-byte buffers, `redis-check-aof` with 128 for
/// length lines and 1024 for annotations.
pub(crate) fn fgets(data: &[u8], pos: usize, size: usize) -> Option<&[u8]> {
    let rest = data.get(pos..).filter(|r| !r.is_empty())?;
    let lim = rest.len().min(size.saturating_sub(1));
    let head = rest.get(..lim)?;
    let end = head.iter().position(|&c| c == b'\n').map_or(lim, |i| i + 1);
    rest.get(..end)
}
