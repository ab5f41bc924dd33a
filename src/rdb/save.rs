//! RDB snapshots (`dump.rdb`): SAVE, BGSAVE, the `save` points of `serverCron`, and loading the
//! file at start when the AOF is off.
//!
//! ```text
//! SAVE     rdbSave in the foreground: temp-<pid>.rdb, fsync, rename to dbfilename, dir fsync
//! BGSAVE   the same file written by a stepped child (crate::child), one child at a time
//! cron     "<changes> changes in <seconds> seconds. Saving..." when a save point is reached
//!          (after a failed BGSAVE, not before 5 s: CONFIG_BGSAVE_RETRY_DELAY)
//! start    AOF off: dump.rdb is loaded ("DB loaded from disk"). AOF on: dump.rdb is IGNORED,
//!          even when the AOF is empty or missing (the trap of turning the AOF on in redis.conf
//!          of a server whose data lives only in dump.rdb).
//! ```
//!
//! `server.dirty` is both "changes since the last save" (`rdb_changes_since_last_save`, the save
//! points) and the propagation trigger: a save resets it, the dispatcher only looks at whether
//! a command moved it up.

use crate::child::{ChildType, Format, SnapshotChild};
use crate::keyspace::Db;
use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, ErrorKind, OpenMode};

/// `CONFIG_BGSAVE_RETRY_DELAY`: seconds between automatic tries after a failed BGSAVE.
pub const BGSAVE_RETRY_DELAY: i64 = 5;

/// `shared.bgsaveerr`: writes refused after a failed BGSAVE (`stop-writes-on-bgsave-error`).
pub const BGSAVE_ERR: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. \
     Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB \
     snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The pid the foreground SAVE names its temp file after (the simulated children count from
/// 1001).
pub const SERVER_PID: u32 = 1000;

/// `server.rdb_*`, `server.lastsave` & co.
#[derive(Clone, Debug)]
pub struct RdbState {
    /// The running BGSAVE child.
    pub child: Option<SnapshotChild>,
    /// `rdb_bgsave_scheduled`: BGSAVE SCHEDULE (or inside EXEC) while another child ran.
    pub bgsave_scheduled: bool,
    /// `lastsave`, unix seconds: at start the dataset counts as saved.
    pub lastsave: i64,
    /// `lastbgsave_try`, unix seconds.
    pub lastbgsave_try: i64,
    /// `lastbgsave_status == C_OK`.
    pub lastbgsave_ok: bool,
    /// `rdb_save_time_last`, seconds; -1 before the first BGSAVE.
    pub save_time_last: i64,
    /// `stat_rdb_saves`.
    pub saves: u64,
    /// `stat_rdb_cow_bytes`.
    pub last_cow_size: u64,
    pub(crate) dirty_before_bgsave: u64,
    /// `rdb_last_load_keys_loaded` / `_expired` of the last RDB load (dump.rdb or an AOF base).
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
}

impl RdbState {
    pub fn new(now_ms: i64) -> RdbState {
        RdbState {
            child: None,
            bgsave_scheduled: false,
            lastsave: now_ms.div_euclid(1000),
            lastbgsave_try: 0,
            lastbgsave_ok: true,
            save_time_last: -1,
            saves: 0,
            last_cow_size: 0,
            dirty_before_bgsave: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
        }
    }
}

/// The `save` setting as (seconds, changes) pairs (validated by CONFIG SET already).
pub fn save_params(save: &str) -> Vec<(i64, u64)> {
    let words: Vec<&str> = save.split_whitespace().collect();
    words.chunks(2).filter_map(|p| Some((p.first()?.parse().ok()?, p.get(1)?.parse().ok()?))).collect()
}

impl Server {
    /// `rdbSave`: the whole dataset to `dbfilename` through a temp file, in the foreground.
    pub fn rdb_save(&mut self) -> Result<(), Error> {
        let tmp = format!("temp-{SERVER_PID}.rdb");
        let mut bytes = Vec::new();
        crate::child::SnapshotWriter::new(Format::Rdb { aof_base: false }, self.unixtime(), self.used_memory())
            .with_rdb_options(self.rdb_compression(), self.rdb_checksum(), self.config.list_max_listpack_size)
            .with_functions(self.scripting.functions.codes())
            .step(&self.dbs, 0, &mut bytes);
        if let Err(e) = self.storage.open(&tmp, OpenMode::Truncate) {
            self.log(
                LogLevel::Warning,
                format!("Failed opening the temp RDB file {tmp} (in server root dir {}) for saving: {}", self.config.dir, e.strerror()),
            );
            return Err(e);
        }
        // rdbSave's err_op names the step that failed.
        let written = match self.storage.write_at(&tmp, 0, &bytes) {
            Ok(n) if n == bytes.len() => self.storage.sync(&tmp).map_err(|e| ("fsync", e)),
            Ok(_) => Err(("rdbSaveRio", Error::new(ErrorKind::NoSpace, "short write of the RDB file"))),
            Err(e) => Err(("rdbSaveRio", e)),
        };
        if let Err((op, e)) = written {
            self.log(LogLevel::Warning, format!("Write error saving DB on disk({op}): {}", e.strerror()));
            self.storage.remove(&tmp).ok();
            return Err(e);
        }
        self.rdb_rename_into_place(&tmp)?;
        self.log(LogLevel::Notice, "DB saved on disk".into());
        self.dirty = 0;
        self.rdb.lastsave = self.unixtime();
        self.rdb.lastbgsave_ok = true;
        Ok(())
    }

    /// The end of `rdbSave`: rename over `dbfilename`, then fsync the directory (a failure there
    /// is a `werr` with `err_op` "fsyncFileDir").
    fn rdb_rename_into_place(&mut self, tmp: &str) -> Result<(), Error> {
        let target = self.config.dbfilename.clone();
        if let Err(e) = self.storage.rename(tmp, &target) {
            self.log(
                LogLevel::Warning,
                format!(
                    "Error moving temp DB file {tmp} on the final destination {target} (in server root dir {}): {}",
                    self.config.dir,
                    e.strerror()
                ),
            );
            self.storage.remove(tmp).ok();
            return Err(e);
        }
        if let Err(e) = self.storage.sync_dir("") {
            self.log(LogLevel::Warning, format!("Write error saving DB on disk(fsyncFileDir): {}", e.strerror()));
            return Err(e);
        }
        Ok(())
    }

    /// `rdbSaveBackground`: false when another child runs.
    pub fn rdb_save_background(&mut self) -> bool {
        if self.has_active_child() {
            return false;
        }
        self.rdb.saves += 1;
        self.rdb.dirty_before_bgsave = self.dirty;
        self.rdb.lastbgsave_try = self.unixtime();
        let child = self.fork_child(ChildType::Rdb, Format::Rdb { aof_base: false }, |pid| format!("temp-{pid}.rdb"));
        self.log(LogLevel::Notice, format!("Background saving started by pid {}", child.pid));
        self.rdb.child = Some(child);
        true
    }

    /// One tick of the BGSAVE child; when it is done, `backgroundSaveDoneHandlerDisk`.
    pub(crate) fn rdb_child_cron(&mut self) {
        let Some(mut child) = self.rdb.child.take() else { return };
        let incremental = self.config.get("rdb-save-incremental-fsync").is_none_or(|v| v == "yes");
        let ok = match self.child_step_op(&mut child, incremental) {
            Ok(false) => {
                self.rdb.child = Some(child);
                return;
            }
            Ok(true) => match self.rdb_rename_into_place(&child.tmp) {
                Ok(()) => {
                    self.log(LogLevel::Notice, "DB saved on disk".into());
                    self.rdb.last_cow_size = self.log_child_cow(&child, "RDB");
                    true
                }
                Err(_) => false,
            },
            Err(("open", e)) => {
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
                        child.tmp,
                        self.config.dir,
                        e.strerror()
                    ),
                );
                false
            }
            Err((op, e)) => {
                self.log(LogLevel::Warning, format!("Write error saving DB on disk({op}): {}", e.strerror()));
                self.storage.remove(&child.tmp).ok();
                false
            }
        };
        if ok {
            self.log(LogLevel::Notice, "Background saving terminated with success".into());
            self.dirty = self.dirty.saturating_sub(self.rdb.dirty_before_bgsave);
            self.rdb.lastsave = self.unixtime();
            self.rdb.lastbgsave_ok = true;
        } else {
            self.log(LogLevel::Warning, "Background saving error".into());
            self.rdb.lastbgsave_ok = false;
        }
        self.rdb.save_time_last = (self.now_ms - child.started_ms).div_euclid(1000);
    }

    /// `killRDBChild` (FLUSHALL, SHUTDOWN): its temp file goes; not counted as an error.
    pub fn kill_rdb_child(&mut self) {
        let Some(child) = self.rdb.child.take() else { return };
        self.log(LogLevel::Warning, "Background saving terminated by signal 10".into());
        self.storage.remove(&child.tmp).ok();
        self.rdb.save_time_last = (self.now_ms - child.started_ms).div_euclid(1000);
    }

    /// The `save` points of `serverCron` (only when no child runs).
    pub(crate) fn save_points_check(&mut self) {
        let now = self.unixtime();
        for (seconds, changes) in save_params(&self.config.save) {
            if self.dirty >= changes
                && now - self.rdb.lastsave > seconds
                && (now - self.rdb.lastbgsave_try > BGSAVE_RETRY_DELAY || self.rdb.lastbgsave_ok)
            {
                self.log(LogLevel::Notice, format!("{changes} changes in {seconds} seconds. Saving..."));
                self.rdb_save_background();
                break;
            }
        }
    }

    /// The scheduled BGSAVE of `serverCron`, once no child runs.
    pub(crate) fn bgsave_scheduled_check(&mut self) {
        let now = self.unixtime();
        if !self.has_active_child()
            && self.rdb.bgsave_scheduled
            && (now - self.rdb.lastbgsave_try > BGSAVE_RETRY_DELAY || self.rdb.lastbgsave_ok)
            && self.rdb_save_background()
        {
            self.rdb.bgsave_scheduled = false;
        }
    }

    /// `rdbLoad` of `dbfilename` into the (empty) dbs, as a master: keys already past their TTL
    /// are dropped and counted. `Ok(false)` when there is no file.
    pub fn rdb_load(&mut self) -> Result<bool, String> {
        let name = self.config.dbfilename.clone();
        if !self.storage.exists(&name) {
            return Ok(false);
        }
        let data = self.storage.read_all(&name).map_err(|e| e.strerror().to_string())?;
        self.loading = true;
        let loaded = super::read::read_rdb_limited(&data, &mut self.dbs, super::read::LoadLimits::of(&self.config));
        self.loading = false;
        let info = match loaded {
            Ok(info) => info,
            Err(e) => {
                self.log(LogLevel::Warning, format!("{e}"));
                return Err("Invalid argument".into());
            }
        };
        if let Err(line) = self.load_rdb_functions(&info.functions, false) {
            self.log(LogLevel::Warning, line);
            return Err("Invalid argument".into());
        }
        for (k, v, _) in &info.aux {
            let v = String::from_utf8_lossy(v);
            match k.as_slice() {
                b"redis-ver" => self.log(LogLevel::Notice, format!("Loading RDB produced by version {v}")),
                b"ctime" => {
                    let age = (self.unixtime() - v.parse::<i64>().unwrap_or(0)).max(0);
                    self.log(LogLevel::Notice, format!("RDB age {age} seconds"));
                }
                b"used-mem" => {
                    let mb = v.parse::<f64>().unwrap_or(0.0) / (1024.0 * 1024.0);
                    self.log(LogLevel::Notice, format!("RDB memory usage when created {mb:.2} Mb"));
                }
                b"aof-base" if v != "0" => self.log(LogLevel::Notice, "RDB is base AOF".into()),
                _ => {}
            }
        }
        let expired = drop_expired(&mut self.dbs, self.now_ms);
        self.log_rdb_loaded(&info, info.keys.saturating_sub(expired), expired);
        Ok(true)
    }

    /// `rdbLoadRio`'s last lines: the empty keys it skipped (the first 10, as met), the checksum
    /// it could not check, and its summary (a warning when keys were skipped); the counts INFO
    /// shows.
    pub(crate) fn log_rdb_loaded(&mut self, info: &super::RdbInfo, loaded: u64, expired: u64) {
        for key in &info.empty_keys {
            self.log(LogLevel::Warning, format!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(key)));
        }
        if info.checksum_disabled {
            self.log(LogLevel::Warning, "RDB file was saved with checksum disabled: no check performed.".into());
        }
        let done = format!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}");
        match info.empty_skipped {
            0 => self.log(LogLevel::Notice, format!("{done}.")),
            n => self.log(LogLevel::Warning, format!("{done}, empty keys skipped: {n}.")),
        }
        self.rdb.last_load_keys_loaded = loaded;
        self.rdb.last_load_keys_expired = expired;
    }

    /// `loadDataFromDisk` with the AOF off: dump.rdb if there is one. `Err` holds the fatal lines
    /// Redis logs before `exit(1)`.
    pub fn rdb_load_at_start(&mut self) -> Result<(), Vec<String>> {
        if self.aof_state != AofState::Off {
            return Ok(());
        }
        let started = crate::load_time::started(self.config.load_clock);
        match self.rdb_load() {
            Ok(true) => {
                self.log(LogLevel::Notice, crate::load_time::line("DB loaded from disk", self.config.load_clock, started));
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(why) => Err(vec![format!("Fatal error loading the DB: {why}. Exiting.")]),
        }
    }

    /// `DEBUG RELOAD`: SAVE, empty the dataset, load dump.rdb again.
    pub fn debug_reload(&mut self) -> Result<(), String> {
        if self.rdb_save().is_err() {
            return Err("ERR".into());
        }
        self.empty_data();
        match self.rdb_load() {
            Ok(_) => {
                self.log(LogLevel::Warning, "DB reloaded by DEBUG RELOAD".into());
                Ok(())
            }
            Err(_) => {
                self.aof.exited = Some("Error trying to load the RDB dump in DEBUG RELOAD".into());
                Err("ERR Error trying to load the RDB dump, check server logs.".into())
            }
        }
    }

    /// The children and RDB part of `prepareForShutdown`: a running BGSAVE is killed; a running
    /// rewrite too, unless it writes the first AOF (WAIT_REWRITE), which refuses the shutdown
    /// without FORCE; then, with save points and without NOSAVE (or with SAVE), the dataset is
    /// saved, a failure refusing the shutdown without FORCE. `Err` means "do not exit", with the
    /// reason (also logged).
    pub fn shutdown_save(&mut self, save: bool, nosave: bool, force: bool) -> Result<(), &'static str> {
        if self.rdb.child.is_some() {
            self.log(LogLevel::Warning, "There is a child saving an .rdb. Killing it!".into());
            self.kill_rdb_child();
        }
        if self.aof_state != AofState::Off && self.aof.child.is_some() {
            if self.aof_state == AofState::WaitRewrite {
                if !force {
                    self.log(LogLevel::Warning, "Writing initial AOF, can't exit.".into());
                    return Err("Writing initial AOF, can't exit.");
                }
                self.log(LogLevel::Warning, "Writing initial AOF. Exit anyway.".into());
            }
            self.log(LogLevel::Warning, "There is a child rewriting the AOF. Killing it!".into());
            self.kill_append_only_child();
        }
        if (!save_params(&self.config.save).is_empty() && !nosave) || save {
            self.log(LogLevel::Notice, "Saving the final RDB snapshot before exiting.".into());
            if self.rdb_save().is_err() {
                if !force {
                    self.log(LogLevel::Warning, "Error trying to save the DB, can't exit.".into());
                    return Err("Error trying to save the DB, can't exit.");
                }
                self.log(LogLevel::Warning, "Error trying to save the DB. Exit anyway.".into());
            }
        }
        Ok(())
    }
}

/// The keys whose TTL has passed, removed; returns how many.
fn drop_expired(dbs: &mut [Db], now_ms: i64) -> u64 {
    let mut n = 0;
    for db in dbs {
        let gone: Vec<Vec<u8>> =
            (0..db.expires_len()).filter_map(|i| db.expire_at(i)).filter(|(_, t)| *t < now_ms).map(|(k, _)| k.to_vec()).collect();
        for k in gone {
            db.remove(&k);
            n += 1;
        }
    }
    n
}
