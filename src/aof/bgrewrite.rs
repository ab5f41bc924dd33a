//! BGREWRITEAOF, Redis 7.0 (multi-part): compaction without a rewrite buffer.
//!
//! ```text
//! start    flush aof_buf into the old incr file; open incr N+1 and persist the manifest
//!          (both incr files are type i now); "fork": snapshot the dataset
//! child    writes the snapshot (RDB, or RESP with aof-use-rdb-preamble no) to
//!          temp-rewriteaof-<pid>.aof in dir, a bounded number of keys per cron tick
//!          (crate::child), fsyncs, renames it temp-rewriteaof-bg-<pid>.aof
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

use super::manifest::AofManifest;
use crate::child::{ChildType, Format};
use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, OpenMode, join};

/// The rewrite child (the same simulated child as BGSAVE's).
pub type RewriteChild = crate::child::SnapshotChild;

/// serverCron's automatic rewrite trigger, as it stands: a rewrite starts when the AOF is on, no
/// child runs, `aof_current_size > auto-aof-rewrite-min-size` and
/// `aof_current_size * 100 / aof_base_size - 100 >= auto-aof-rewrite-percentage` (integer math).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoRewrite {
    /// The AOF is off (or waiting for its first rewrite): no growth to watch.
    NotOn,
    /// `auto-aof-rewrite-percentage 0`.
    Disabled,
    /// A rewrite or BGSAVE child runs: cron does not check.
    ChildActive,
    /// `threshold`: the smallest `aof_current_size` at which a rewrite would start, with the
    /// base size as it is now (the line a plot of the file sizes draws).
    BelowMinSize {
        current: u64,
        min_size: u64,
        threshold: u64,
    },
    BelowGrowth {
        current: u64,
        base: u64,
        growth: i64,
        percentage: i64,
        threshold: u64,
    },
    /// The next cron tick starts a rewrite (unless the failure limit holds it back).
    Due {
        current: u64,
        base: u64,
        growth: i64,
        percentage: i64,
    },
}

impl std::fmt::Display for AutoRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AutoRewrite::NotOn => write!(f, "off: the AOF is not on"),
            AutoRewrite::Disabled => write!(f, "off: auto-aof-rewrite-percentage is 0"),
            AutoRewrite::ChildActive => write!(f, "waits: a child process is running"),
            AutoRewrite::BelowMinSize { current, min_size, threshold } => write!(
                f,
                "waits: aof_current_size {current} is not above auto-aof-rewrite-min-size {min_size}; a rewrite starts at {threshold} bytes"
            ),
            AutoRewrite::BelowGrowth { current, base, growth, percentage, threshold } => write!(
                f,
                "waits: growth {growth}% < {percentage}% (aof_current_size {current}, aof_base_size {base}); a rewrite starts at {threshold} bytes"
            ),
            AutoRewrite::Due { current, base, growth, percentage } => {
                write!(f, "due: growth {growth}% >= {percentage}% (aof_current_size {current}, aof_base_size {base})")
            }
        }
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
        if self.open_new_incr_aof_for_append().is_err() {
            // openNewIncrAofForAppend logged why.
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
    /// AOF off, nothing (a one-off rewrite). Every failure is logged here, with Redis's lines.
    fn open_new_incr_aof_for_append(&mut self) -> Result<(), Error> {
        let dir = self.config.appenddirname.clone();
        if self.aof_state == AofState::WaitRewrite {
            let name = self.temp_incr_name();
            let path = join(&dir, &name);
            self.open_incr_logged(&path, &name)?;
            // A killed earlier attempt (`appendonly yes`, then `no` before its rewrite finished)
            // leaves this file behind with its writes fsynced. Redis truncates it without an
            // fsync, so a power loss before the kernel writes the truncation back resurrects
            // those stale commands inside the new incr file, on top of a base that already holds
            // or contradicts them (found by the crash matrix). The truncation is made durable
            // here; it costs one fsync of an empty file and changes no byte Redis writes.
            self.sync_aof_logged(&path)?;
            self.log(LogLevel::Notice, format!("Creating AOF incr file {name} on background rewrite"));
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
        if let Some(old) = self.aof.incr_path.clone() {
            self.sync_aof_logged(&old)?;
        }
        self.open_incr_logged(&path, &name)?;
        self.persist_aof_manifest(&mut am)?;
        self.aof.manifest = am;
        self.aof.incr_path = Some(path);
        self.aof.last_incr_size = 0;
        self.aof.last_incr_fsync_offset = 0;
        self.log(LogLevel::Notice, format!("Creating AOF incr file {name} on background rewrite"));
        Ok(())
    }

    /// The `open(O_WRONLY|O_TRUNC|O_CREAT)` of `openNewIncrAofForAppend`, with its log line.
    fn open_incr_logged(&mut self, path: &str, name: &str) -> Result<(), Error> {
        self.storage.open(path, OpenMode::Truncate).inspect_err(|e| {
            self.log(LogLevel::Warning, format!("Can't open the append-only file {name}: {}", e.strerror()));
        })
    }

    /// The engine's own fsyncs around a new incr file (Redis leaves them to the bio thread, whose
    /// failure line this is).
    fn sync_aof_logged(&mut self, path: &str) -> Result<(), Error> {
        self.storage.sync(path).inspect_err(|e| {
            self.log(LogLevel::Warning, format!("Fail to fsync the AOF file: {}", e.strerror()));
        })
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
        // The child's exit status: 0 when its temp file is complete, fsynced and renamed.
        let exit_ok = match self.child_step(&mut child, incremental) {
            Ok(false) => {
                self.aof.child = Some(child);
                return;
            }
            Ok(true) => self.finish_rewrite_child(&child),
            Err(e) => {
                // rewriteAppendOnlyFile's werr: the child unlinks its temp file, exit(1).
                self.log(LogLevel::Warning, format!("Write error writing append only file on disk: {}", e.strerror()));
                self.storage.remove(&child.tmp).ok();
                false
            }
        };
        let ok = if exit_ok {
            self.log(LogLevel::Notice, "Background AOF rewrite terminated with success".into());
            self.background_rewrite_done(&format!("temp-rewriteaof-bg-{pid}.aof"))
        } else {
            self.log(LogLevel::Warning, "Background AOF rewrite terminated with error".into());
            false
        };
        if ok {
            self.aof.last_bgrewrite_failed = false;
            self.aof.consecutive_failures = 0;
            self.log(LogLevel::Notice, "Background AOF rewrite finished successfully".into());
        } else {
            self.aof.last_bgrewrite_failed = true;
            self.aof.consecutive_failures += 1;
        }
        // cleanup: aofRemoveTempFile, and while turning the AOF on, the temp incr file and
        // aof_buf go (a new rewrite is scheduled).
        for tmp in [format!("temp-rewriteaof-bg-{pid}.aof"), format!("temp-rewriteaof-{pid}.aof")] {
            self.storage.remove(&tmp).ok();
        }
        if self.aof_state == AofState::WaitRewrite {
            let temp_incr = join(&self.config.appenddirname, &self.temp_incr_name());
            self.log(LogLevel::Notice, format!("Removing the temp incr aof file {} in the background", self.temp_incr_name()));
            self.storage.remove(&temp_incr).ok();
            self.aof.incr_path = None;
            self.feed.aof_buf.clear();
        }
        self.aof.last_rewrite_time_sec = Some((self.now_ms - child.started_ms) / 1000);
        if self.aof_state == AofState::WaitRewrite {
            self.aof.rewrite_scheduled = true;
        }
    }

    /// The end of `rewriteAppendOnlyFile` in the child: its complete, fsynced temp file renamed
    /// for the parent, the CoW report; true for exit 0.
    fn finish_rewrite_child(&mut self, child: &RewriteChild) -> bool {
        let done = format!("temp-rewriteaof-bg-{}.aof", child.pid);
        if let Err(e) = self.storage.rename(&child.tmp, &done) {
            self.log(LogLevel::Warning, format!("Error moving temp append only file on the final destination: {}", e.strerror()));
            self.storage.remove(&child.tmp).ok();
            return false;
        }
        self.log(LogLevel::Notice, format!("Successfully created the temporary AOF base file {done}"));
        self.aof.last_cow_size = self.log_child_cow(child, "AOF rewrite");
        true
    }

    fn temp_incr_name(&self) -> String {
        format!("temp-{}.incr", self.config.appendfilename)
    }

    /// The success branch of `backgroundRewriteDoneHandler`: the child's file becomes the new
    /// base, the temp incr file (while turning the AOF on) the new incr file, the manifest is
    /// persisted. False on a failure, logged with Redis's line; what was already renamed into
    /// appendonlydir is removed again (`bg_unlink`), so no orphan outlives the failure.
    fn background_rewrite_done(&mut self, tmp: &str) -> bool {
        let dir = self.config.appenddirname.clone();
        let mut am = self.aof.manifest.clone();
        let base = am.new_base(&self.config.appendfilename, self.config.aof_use_rdb_preamble);
        let base_path = join(&dir, &base);
        if let Err(e) = self.storage.rename(tmp, &base_path) {
            self.log(
                LogLevel::Warning,
                format!("Error trying to rename the temporary AOF base file {tmp} into {base_path}: {}", e.strerror()),
            );
            return false;
        }
        self.log(LogLevel::Notice, format!("Successfully renamed the temporary AOF base file {tmp} into {base}"));
        let mut new_incr_path = None;
        if self.aof_state == AofState::WaitRewrite {
            // What was written while the AOF was being turned on becomes the first incr file.
            let temp_incr = join(&dir, &self.temp_incr_name());
            let incr = am.new_incr(&self.config.appendfilename);
            let incr_path = join(&dir, &incr);
            if let Err(e) = self.storage.rename(&temp_incr, &incr_path) {
                self.log(
                    LogLevel::Warning,
                    format!("Error trying to rename the temporary AOF incr file {temp_incr} into {incr_path}: {}", e.strerror()),
                );
                self.storage.remove(&base_path).ok();
                return false;
            }
            self.log(LogLevel::Notice, format!("Successfully renamed the temporary AOF incr file {} into {incr}", self.temp_incr_name()));
            new_incr_path = Some(incr_path);
        }
        am.mark_rewritten_incr_as_history(self.aof.incr_path.is_some());
        if self.persist_aof_manifest(&mut am).is_err() {
            // persistAofManifest logged why.
            self.storage.remove(&base_path).ok();
            if let Some(p) = &new_incr_path {
                self.storage.remove(p).ok();
            }
            return false;
        }
        self.aof.manifest = am;
        if let Some(p) = new_incr_path {
            self.aof.incr_path = Some(p);
        }
        if self.aof_state != AofState::Off {
            let base_size = self.storage.len(&base_path).unwrap_or(0);
            self.aof.current_size = base_size + self.aof.last_incr_size;
            self.aof.rewrite_base_size = self.aof.current_size;
        }
        self.aof_del_history_files();
        if self.aof_state == AofState::WaitRewrite {
            self.aof_state = AofState::On;
        }
        true
    }

    /// The part of `startAppendOnly` both designs share. While another child runs (BGSAVE) or
    /// inside EXEC (the engine propagates a transaction after EXEC, so a snapshot taken in the
    /// middle would hold half of it), the rewrite is only scheduled: true. Otherwise a running
    /// rewrite child is killed (a one-off rewrite accumulates nothing for the new AOF) and the
    /// caller starts one: false.
    pub(crate) fn schedule_aof_start_if_busy(&mut self, in_exec: bool) -> bool {
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
        if self.aof.child.is_some() {
            self.log(
                LogLevel::Warning,
                "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now."
                    .into(),
            );
            self.kill_append_only_child();
        }
        false
    }

    /// `startAppendOnly` (CONFIG SET appendonly yes): WAIT_REWRITE until a rewrite has written
    /// the first base. False when the rewrite cannot start (the AOF stays off).
    pub fn start_append_only(&mut self, in_exec: bool) -> bool {
        if self.config.aof_legacy {
            return self.legacy_start_append_only(in_exec);
        }
        self.aof_state = AofState::WaitRewrite;
        if !self.schedule_aof_start_if_busy(in_exec) && !matches!(self.rewrite_append_only_file_background(), Start::Started) {
            self.aof_state = AofState::Off;
            self.log(
                LogLevel::Warning,
                "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.".into(),
            );
            return false;
        }
        self.aof.last_fsync = self.unixtime();
        // The errors of the previous run of the AOF are forgotten only once this one started.
        if self.aof.bio_fsync_error.take().is_some() {
            self.log(LogLevel::Warning, "AOF reopen, just ignore the AOF fsync error in bio job".into());
        }
        if self.aof.last_write_error.take().is_some() {
            self.log(LogLevel::Warning, "AOF reopen, just ignore the last error.".into());
        }
        true
    }

    /// `stopAppendOnly` (CONFIG SET appendonly no): flush, fsync, close; the files stay.
    pub fn stop_append_only(&mut self) {
        if self.config.aof_legacy {
            return self.legacy_stop_append_only();
        }
        self.flush_append_only_file(true);
        if let Some(path) = self.aof.incr_path.take() {
            match self.storage.sync(&path) {
                Ok(()) => {
                    self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
                    self.aof.last_fsync = self.unixtime();
                }
                Err(e) => self.log(LogLevel::Warning, format!("Fail to fsync the AOF file: {}", e.strerror())),
            }
        }
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

    /// The AOF size from which `serverCron` starts a rewrite by itself, or None when
    /// `auto-aof-rewrite-percentage` is 0: above `auto-aof-rewrite-min-size`, and grown by the
    /// percentage over `base` (Redis: `aof_current_size*100/base - 100 >= perc`, in integers).
    pub fn auto_rewrite_threshold(&self) -> Option<u64> {
        let perc = u64::from(self.config.auto_aof_rewrite_percentage);
        if perc == 0 {
            return None;
        }
        let base = self.aof.rewrite_base_size.max(1);
        Some((self.config.auto_aof_rewrite_min_size.saturating_add(1)).max((perc + 100).saturating_mul(base).div_ceil(100)))
    }

    /// The growth trigger of `serverCron` (auto-aof-rewrite-percentage / -min-size), checked
    /// only when no child runs. `base` is the base size after a restart, or base + incr at the
    /// end of the last rewrite (0 on a fresh start, counted as 1).
    fn auto_rewrite_check(&mut self) {
        let Some(threshold) = self.auto_rewrite_threshold() else { return };
        if self.aof_state != AofState::On || self.has_active_child() || self.aof.current_size < threshold {
            return;
        }
        let base = self.aof.rewrite_base_size.max(1) as i64;
        let growth = (self.aof.current_size as i64) * 100 / base - 100;
        if !self.aof_rewrite_limited() {
            self.log(LogLevel::Notice, format!("Starting automatic rewriting of AOF on {growth}% growth"));
            self.rewrite_append_only_file_background();
        }
    }

    /// Where the growth trigger stands: what `serverCron`'s check sees now (the lab shows it, so
    /// that a learner sees why a rewrite starts or does not). Only the failure limit is left out.
    pub fn auto_rewrite_status(&self) -> AutoRewrite {
        if self.aof_state != AofState::On {
            return AutoRewrite::NotOn;
        }
        let Some(threshold) = self.auto_rewrite_threshold() else { return AutoRewrite::Disabled };
        if self.has_active_child() {
            return AutoRewrite::ChildActive;
        }
        let (current, min_size, base) = (self.aof.current_size, self.config.auto_aof_rewrite_min_size, self.aof.rewrite_base_size);
        let percentage = i64::from(self.config.auto_aof_rewrite_percentage);
        // A fresh start has no base size yet (0): Redis divides by 1, so any size above
        // min-size is a huge growth.
        let growth = (current as i64) * 100 / base.max(1) as i64 - 100;
        if current >= threshold {
            AutoRewrite::Due { current, base, growth, percentage }
        } else if current <= min_size {
            AutoRewrite::BelowMinSize { current, min_size, threshold }
        } else {
            AutoRewrite::BelowGrowth { current, base, growth, percentage, threshold }
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
