//! BGREWRITEAOF, Redis 7.0 (multi-part): compaction without a rewrite buffer.
//!
//! ```text
//! start    flush aof_buf into the old incr file; open incr N+1 and persist the manifest
//!          (both incr files are type i now); "fork": snapshot the dataset
//! child    writes the snapshot (RDB, or RESP with aof-use-rdb-preamble no) to
//!          temp-rewriteaof-<pid>.aof in dir, a bounded number of keys per cron tick
//!          (aof::child), fsyncs, renames it temp-rewriteaof-bg-<pid>.aof
//! done     rename it into appendonlydir as base M+1; the old base and the old incr files become
//!          history; persist the manifest (temp + fsync + rename + dir fsync); delete history
//! ```
//!
//! New writes go only to the new incr file from the moment the rewrite starts: the snapshot
//! holds everything before, the new incr file everything after.
//!
//! The entry points are [`Server::rewrite_append_only_file_background`] (start) and
//! `background_rewrite_done` (the parent's done handler, run in the cron tick in which the child
//! finished). [`Server::rewrite_cron`] is the child-related part of `serverCron`: scheduled
//! rewrites, the child's steps, the save points, the automatic rewrite, scheduled BGSAVEs.

use super::child::{ChildType, Format};
use super::manifest::AofManifest;
use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, OpenMode, join};

/// The rewrite child (the same simulated child as BGSAVE's).
pub type RewriteChild = super::child::SnapshotChild;

/// What BGREWRITEAOF answers.
pub enum Start {
    Started,
    AlreadyInProgress,
    Failed,
}

impl Server {
    /// `rewriteAppendOnlyFileBackground`.
    pub fn rewrite_append_only_file_background(&mut self) -> Start {
        if self.has_active_child() {
            return Start::AlreadyInProgress;
        }
        if self.config.aof_legacy {
            return self.legacy_rewrite_background();
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
        let format = if self.config.aof_use_rdb_preamble {
            Format::Rdb { aof_base: true }
        } else {
            Format::Resp { timestamps: self.config.aof_timestamp_enabled }
        };
        let child = self.fork_child(ChildType::Aof, format, |pid| format!("temp-rewriteaof-{pid}.aof"));
        self.log(LogLevel::Notice, format!("Background append only file rewriting started by pid {}", child.pid));
        self.aof.child = Some(child);
        self.aof.rewrite_scheduled = false;
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
            // A killed earlier attempt (`appendonly yes`, then `no` before its rewrite finished)
            // leaves this file behind with its writes fsynced. Redis truncates it without an
            // fsync, so a power loss before the kernel writes the truncation back resurrects
            // those stale commands inside the new incr file, on top of a base that already holds
            // or contradicts them (found by the crash matrix). The truncation is made durable
            // here; it costs one fsync of an empty file and changes no byte Redis writes.
            self.storage.sync(&path)?;
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

    /// The child-related part of `serverCron`, in Redis's order: a scheduled rewrite starts
    /// when no child runs; a child that was already running does its next step (and, once done,
    /// the parent's done handler runs); with no child, the save points and the automatic
    /// rewrite are checked; last, a scheduled BGSAVE.
    pub fn rewrite_cron(&mut self) {
        let had_child = self.has_active_child();
        if !self.has_active_child() && self.aof.rewrite_scheduled && !self.aof_rewrite_limited() {
            self.rewrite_append_only_file_background();
        }
        if had_child {
            if self.config.aof_legacy {
                self.legacy_rewrite_cron();
            } else {
                self.aof_child_cron();
            }
            self.rdb_child_cron();
        } else if !self.has_active_child() {
            self.save_points_check();
            self.auto_rewrite_check();
        }
        self.bgsave_scheduled_check();
    }

    /// One step of the rewrite child; when it is done, `backgroundRewriteDoneHandler`.
    fn aof_child_cron(&mut self) {
        let Some(mut child) = self.aof.child.take() else { return };
        let pid = child.pid;
        let incremental = self.config.aof_rewrite_incremental_fsync;
        let result = match self.child_step(&mut child, incremental) {
            Ok(false) => {
                self.aof.child = Some(child);
                return;
            }
            Ok(true) => self.finish_rewrite_child(&child),
            Err(e) => {
                self.log(LogLevel::Warning, format!("Write error writing append only file on disk: {}", e.strerror()));
                Err(e)
            }
        };
        let result = result.and_then(|tmp| self.background_rewrite_done(&tmp));
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

    /// The end of `rewriteAppendOnlyFile` in the child: its complete, fsynced temp file renamed
    /// for the parent, the CoW report, exit 0.
    fn finish_rewrite_child(&mut self, child: &RewriteChild) -> Result<String, Error> {
        let done = format!("temp-rewriteaof-bg-{}.aof", child.pid);
        self.storage.rename(&child.tmp, &done)?;
        self.log(LogLevel::Notice, format!("Successfully created the temporary AOF base file {done}"));
        self.aof.last_cow_size = self.log_child_cow(child, "AOF rewrite");
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
        if self.rdb.child.is_some() {
            self.aof.rewrite_scheduled = true;
            self.log(
                LogLevel::Warning,
                "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
                    .into(),
            );
            return true;
        }
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
    pub(crate) fn kill_append_only_child(&mut self) {
        if self.config.aof_legacy {
            // The 6.2 child also owns the rewrite buffer and the stop-sending handshake.
            return self.legacy_kill_child();
        }
        let Some(child) = self.aof.child.take() else { return };
        self.log(LogLevel::Notice, format!("Killing running AOF rewrite child: {}", child.pid));
        // aofRemoveTempFile: whatever the child had written so far.
        for tmp in [child.tmp.clone(), format!("temp-rewriteaof-bg-{}.aof", child.pid)] {
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
        if self.aof_state != AofState::On || self.has_active_child() || perc == 0 {
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
