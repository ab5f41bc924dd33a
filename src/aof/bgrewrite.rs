//! BGREWRITEAOF, Redis 7.0 (multi-part): compaction without a rewrite buffer.
//!
//! ```text
//! start    flush aof_buf into the old incr file; open incr N+1 and persist the manifest
//!          (both incr files are type i now); "fork": snapshot the dataset
//! child    writes the snapshot (RDB, or RESP with aof-use-rdb-preamble no) to
//!          temp-rewriteaof-<pid>.aof in dir, fsyncs, renames it temp-rewriteaof-bg-<pid>.aof
//! done     rename it into appendonlydir as base M+1; the old base and the old incr files become
//!          history; persist the manifest (temp + fsync + rename + dir fsync); delete history
//! ```
//!
//! New writes go only to the new incr file from the moment the rewrite starts: the snapshot
//! holds everything before, the new incr file everything after.
//!
//! Compared with Redis: the "fork" is a copy of the dataset taken at start and the child is
//! simulated inside the engine; it completes at the next `cron` tick. (The stepped child that can
//! be watched key by key, CoW figures, the 6.2 rewrite buffer and `CONFIG SET appendonly` are the
//! rest of this work.)

use super::manifest::AofManifest;
use crate::keyspace::Db;
use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, OpenMode, join};

/// The simulated rewrite child.
#[derive(Clone, Debug)]
pub struct RewriteChild {
    pub pid: u32,
    pub snapshot: Vec<Db>,
    pub started_ms: i64,
    /// Keys the parent changed while the child ran: with fork, their pages would have been
    /// copied (copy-on-write). Their size in the snapshot is the CoW figure.
    pub touched: std::collections::HashSet<(usize, Vec<u8>)>,
}

impl RewriteChild {
    /// Bytes "copied on write" so far: the snapshot's size of every value changed since.
    pub fn cow_bytes(&self) -> u64 {
        self.touched.iter().filter_map(|(db, key)| self.snapshot.get(*db)?.get(key).map(|v| (key.len() + v.approx_size()) as u64)).sum()
    }
}

/// What BGREWRITEAOF answers.
pub enum Start {
    Started,
    AlreadyInProgress,
    Failed,
}

impl Server {
    /// `rewriteAppendOnlyFileBackground`.
    pub fn rewrite_append_only_file_background(&mut self) -> Start {
        if self.config.aof_legacy {
            return self.legacy_rewrite_background();
        }
        if self.aof.child.is_some() {
            return Start::AlreadyInProgress;
        }
        let dir = self.config.appenddirname.clone();
        if let Err(e) = self.storage.create_dir(&dir) {
            self.log(LogLevel::Warning, format!("Can't open or create append-only dir {dir}: {}", e.strerror()));
            self.aof.last_bgrewrite_failed = true;
            return Start::Failed;
        }
        // The next incr file must start with a SELECT, and what was fed goes to the old file.
        self.feed.selected_db = -1;
        self.flush_append_only_file(true);
        if let Err(e) = self.open_new_incr_aof_for_append() {
            self.log(LogLevel::Warning, format!("Can't open new incr AOF: {}", e.strerror()));
            self.aof.last_bgrewrite_failed = true;
            return Start::Failed;
        }
        self.aof.rewrites += 1;
        self.aof.next_pid += 1;
        let pid = 1000 + self.aof.next_pid;
        self.aof.child = Some(RewriteChild { pid, snapshot: self.dbs.clone(), started_ms: self.now_ms, touched: Default::default() });
        self.log(LogLevel::Notice, format!("Background append only file rewriting started by pid {pid}"));
        Start::Started
    }

    /// `openNewIncrAofForAppend`: with the AOF on, a new incr file, in the manifest before it
    /// is used; while turning the AOF on, `temp-appendonly.aof.incr`, in no manifest yet; with the
    /// AOF off, nothing (a one-off rewrite).
    fn open_new_incr_aof_for_append(&mut self) -> Result<(), Error> {
        let dir = self.config.appenddirname.clone();
        if self.aof_state == AofState::WaitRewrite {
            let path = join(&dir, &self.temp_incr_name());
            self.storage.open(&path, OpenMode::Truncate)?;
            self.aof.incr_path = Some(path);
            self.aof.last_incr_size = 0;
            self.aof.last_incr_fsync_offset = 0;
            return Ok(());
        }
        if self.aof_state != AofState::On {
            return Ok(());
        }
        let mut am: AofManifest = self.aof.manifest.clone();
        let name = am.new_incr(&self.config.appendfilename);
        let path = join(&dir, &name);
        // Redis fsyncs the old file in a bio job, after the new manifest is persisted. In between,
        // a power loss that tears its unsynced tail leaves a cut file that is no longer the last
        // one, which no restart loads (found by the crash matrix). Here it is durable first, and
        // if it cannot be (EIO), it stays the last file: the rewrite does not start.
        if let Some(old) = &self.aof.incr_path {
            self.storage.sync(old)?;
        }
        self.storage.open(&path, OpenMode::Truncate)?;
        self.persist_aof_manifest(&mut am)?;
        self.aof.manifest = am;
        self.aof.incr_path = Some(path);
        self.aof.last_incr_size = 0;
        self.aof.last_incr_fsync_offset = 0;
        self.log(LogLevel::Notice, format!("Creating AOF incr file {name} on background rewrite"));
        Ok(())
    }

    /// The child's work and the parent's `backgroundRewriteDoneHandler`, run from cron.
    pub fn rewrite_cron(&mut self) {
        if self.aof.rewrite_scheduled && self.aof.child.is_none() && !self.aof_rewrite_limited() {
            self.aof.rewrite_scheduled = false;
            self.rewrite_append_only_file_background();
        }
        self.auto_rewrite_check();
        if self.config.aof_legacy {
            return self.legacy_rewrite_cron();
        }
        let Some(child) = self.aof.child.take() else { return };
        let pid = child.pid;
        let cow = child.cow_bytes();
        self.aof.last_cow_size = cow;
        let mb = cow / (1024 * 1024);
        self.log(LogLevel::Notice, format!("Fork CoW for AOF rewrite: current {mb} MB, peak {mb} MB, average {mb} MB"));
        let result = self.run_rewrite_child(&child).and_then(|tmp| self.background_rewrite_done(&tmp));
        self.aof.last_rewrite_time_sec = Some((self.now_ms - child.started_ms) / 1000);
        match result {
            Ok(()) => {
                self.aof.last_bgrewrite_failed = false;
                self.aof.consecutive_failures = 0;
                self.log(LogLevel::Notice, "Background AOF rewrite finished successfully".into());
            }
            Err(e) => {
                self.aof.last_bgrewrite_failed = true;
                self.aof.consecutive_failures += 1;
                self.log(LogLevel::Warning, format!("Background AOF rewrite failed: {}", e.strerror()));
                for tmp in [format!("temp-rewriteaof-{pid}.aof"), format!("temp-rewriteaof-bg-{pid}.aof")] {
                    self.storage.remove(&tmp).ok();
                }
                if self.aof_state == AofState::WaitRewrite {
                    // Turning the AOF on failed: drop what was recorded, try again from cron.
                    let temp_incr = join(&self.config.appenddirname, &self.temp_incr_name());
                    self.log(LogLevel::Notice, format!("Removing the temp incr aof file {} in the background", self.temp_incr_name()));
                    self.storage.remove(&temp_incr).ok();
                    self.aof.incr_path = None;
                    self.feed.aof_buf.clear();
                    self.aof.rewrite_scheduled = true;
                }
            }
        }
    }

    /// `rewriteAppendOnlyFile` in the child: the temp file, fsynced, renamed for the parent.
    fn run_rewrite_child(&mut self, child: &RewriteChild) -> Result<String, Error> {
        let tmp = format!("temp-rewriteaof-{}.aof", child.pid);
        let bytes = if self.config.aof_use_rdb_preamble {
            crate::rdb::write_rdb(&child.snapshot, self.unixtime(), self.used_memory(), true)
        } else {
            super::rewrite::rewrite_resp(&child.snapshot, self.unixtime(), self.config.aof_timestamp_enabled)
        };
        self.storage.open(&tmp, OpenMode::Truncate)?;
        if self.storage.write_at(&tmp, 0, &bytes)? != bytes.len() {
            return Err(Error::new(crate::storage::ErrorKind::NoSpace, "short write of the rewritten base"));
        }
        self.storage.sync(&tmp)?;
        let done = format!("temp-rewriteaof-bg-{}.aof", child.pid);
        self.storage.rename(&tmp, &done)?;
        self.log(LogLevel::Notice, format!("Successfully created the temporary AOF base file {done}"));
        self.log(LogLevel::Notice, "Background AOF rewrite terminated with success".into());
        Ok(done)
    }

    fn temp_incr_name(&self) -> String {
        format!("temp-{}.incr", self.config.appendfilename)
    }

    fn background_rewrite_done(&mut self, tmp: &str) -> Result<(), Error> {
        let dir = self.config.appenddirname.clone();
        let mut am = self.aof.manifest.clone();
        let base = am.new_base(&self.config.appendfilename, self.config.aof_use_rdb_preamble);
        self.storage.rename(tmp, &join(&dir, &base))?;
        self.log(LogLevel::Notice, format!("Successfully renamed the temporary AOF base file {tmp} into {base}"));
        if self.aof_state == AofState::WaitRewrite {
            // What was written while the AOF was being turned on becomes the first incr file.
            let temp_incr = join(&dir, &self.temp_incr_name());
            let incr = am.new_incr(&self.config.appendfilename);
            self.storage.rename(&temp_incr, &join(&dir, &incr))?;
            self.aof.incr_path = Some(join(&dir, &incr));
            self.log(LogLevel::Notice, format!("Successfully renamed the temporary AOF incr file {} into {incr}", self.temp_incr_name()));
        }
        am.mark_rewritten_incr_as_history(self.aof.incr_path.is_some());
        self.persist_aof_manifest(&mut am)?;
        self.aof.manifest = am;
        if self.aof_state != AofState::Off {
            let base_size = self.storage.len(&join(&dir, &base)).unwrap_or(0);
            self.aof.current_size = base_size + self.aof.last_incr_size;
            self.aof.rewrite_base_size = self.aof.current_size;
        }
        self.aof_del_history_files();
        if self.aof_state == AofState::WaitRewrite {
            self.aof_state = AofState::On;
        }
        Ok(())
    }

    /// `startAppendOnly` (CONFIG SET appendonly yes): WAIT_REWRITE until a rewrite has written
    /// the first base. False when the rewrite cannot start (the AOF stays off).
    pub fn start_append_only(&mut self, in_exec: bool) -> bool {
        if self.config.aof_legacy {
            return self.legacy_start_append_only(in_exec);
        }
        self.aof_state = AofState::WaitRewrite;
        self.aof.last_write_error = None;
        self.aof.bio_fsync_error = None;
        if in_exec {
            self.aof.rewrite_scheduled = true;
            self.log(
                LogLevel::Warning,
                "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.".into(),
            );
            return true;
        }
        self.kill_append_only_child();
        match self.rewrite_append_only_file_background() {
            Start::Started => true,
            _ => {
                self.log(
                    LogLevel::Warning,
                    "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.".into(),
                );
                self.aof_state = AofState::Off;
                false
            }
        }
    }

    /// `stopAppendOnly` (CONFIG SET appendonly no): flush, fsync, close; the files stay.
    pub fn stop_append_only(&mut self) {
        if self.config.aof_legacy {
            return self.legacy_stop_append_only();
        }
        self.flush_append_only_file(true);
        if let Some(path) = self.aof.incr_path.take() {
            self.storage.sync(&path).ok();
        }
        self.aof.last_fsync = self.unixtime();
        self.aof_state = AofState::Off;
        self.aof.rewrite_scheduled = false;
        self.kill_append_only_child();
        self.feed.aof_buf.clear();
        self.feed.selected_db = -1;
    }

    /// `killAppendOnlyChild`: the child's temp files go, a WAIT_REWRITE temp incr file too.
    fn kill_append_only_child(&mut self) {
        let Some(child) = self.aof.child.take() else { return };
        self.log(LogLevel::Notice, format!("Killing running AOF rewrite child: {}", child.pid));
        for tmp in [format!("temp-rewriteaof-{}.aof", child.pid), format!("temp-rewriteaof-bg-{}.aof", child.pid)] {
            self.storage.remove(&tmp).ok();
        }
        let temp_incr = join(&self.config.appenddirname, &self.temp_incr_name());
        if self.aof.incr_path.as_deref() == Some(temp_incr.as_str()) {
            self.storage.remove(&temp_incr).ok();
            self.aof.incr_path = None;
        }
    }

    /// The growth trigger of `serverCron` (auto-aof-rewrite-percentage / -min-size), checked
    /// only when no child runs. `base` is the base size after a restart, or base + incr at the
    /// end of the last rewrite (0 on a fresh start, counted as 1).
    fn auto_rewrite_check(&mut self) {
        let perc = i64::from(self.config.auto_aof_rewrite_percentage);
        if self.aof_state != AofState::On || self.aof.child.is_some() || perc == 0 {
            return;
        }
        if self.aof.current_size <= self.config.auto_aof_rewrite_min_size {
            return;
        }
        let base = self.aof.rewrite_base_size.max(1) as i64;
        let growth = (self.aof.current_size as i64) * 100 / base - 100;
        if growth >= perc && !self.aof_rewrite_limited() {
            self.log(LogLevel::Notice, format!("Starting automatic rewriting of AOF on {growth}% growth"));
            self.rewrite_append_only_file_background();
        }
    }

    /// `aofRewriteLimited`: after 3 consecutive failures, automatic (and scheduled) rewrites wait
    /// 1, 2, 4 … 60 minutes between tries. A manual BGREWRITEAOF is never limited.
    fn aof_rewrite_limited(&mut self) -> bool {
        if self.aof.consecutive_failures < 3 {
            self.aof.limit_delay_minutes = 0;
            self.aof.limit_next_time = 0;
            return false;
        }
        if self.aof.limit_next_time != 0 {
            if self.unixtime() < self.aof.limit_next_time {
                return true;
            }
            self.aof.limit_next_time = 0;
            return false;
        }
        self.aof.limit_delay_minutes = if self.aof.limit_delay_minutes == 0 { 1 } else { (self.aof.limit_delay_minutes * 2).min(60) };
        self.aof.limit_next_time = self.unixtime() + self.aof.limit_delay_minutes * 60;
        self.log(
            LogLevel::Warning,
            format!(
                "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
                self.aof.limit_delay_minutes
            ),
        );
        true
    }
}
