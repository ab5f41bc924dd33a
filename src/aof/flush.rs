//! `flushAppendOnlyFile`: writing `aof_buf` into the incr file, and the fsync policy.
//!
//! It runs once per event-loop turn, **before** the turn's replies are released (Redis's
//! `beforeSleep`): a client never sees an acknowledgement for a write that is not at least in
//! the page cache. What happens next depends on `appendfsync`:
//!
//! * `always`: fsync now, in the main thread; one write + one fsync covers every command of the
//!   turn (group commit). A write or fsync error makes Redis exit.
//! * `everysec`: a background fsync at most once per second. If the previous one is still
//!   running, the write itself is postponed (the bytes stay in `aof_buf`, the reply still goes
//!   out) for up to 2 s; then it is written anyway and `aof_delayed_fsync` counts it.
//! * `no`: never fsync; the kernel writes back when it wants.
//!
//! A failed write (disk full) under everysec/no keeps the bytes in `aof_buf`, sets
//! `aof_last_write_status:err` and makes write commands fail with `-MISCONF` until a retry from
//! cron succeeds.

use super::BioFsync;
use crate::config::AppendFsync;
use crate::server::{AofState, LogLevel, Server};

/// One `write()` of `aof_buf` into the AOF: its first `len` bytes went to `file` at `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofWrite {
    pub file: String,
    pub offset: u64,
    pub len: u64,
}

/// `AOF_WRITE_LOG_ERROR_RATE`: at most one write-error log line per 30 s.
const AOF_WRITE_LOG_ERROR_RATE: i64 = 30;

impl Server {
    fn aof_active(&self) -> bool {
        matches!(self.aof_state, AofState::On | AofState::WaitRewrite) && self.aof.incr_path.is_some() && self.aof.exited.is_none()
    }

    /// Completes the simulated bio fsync if its time has come.
    pub fn aof_bio_tick(&mut self) {
        let Some(job) = self.aof.bio_job.as_ref() else { return };
        if job.done_at_ms > self.now_ms {
            return;
        }
        let outcome = if job.on_host {
            match self.storage.background_sync_done() {
                Some(outcome) => outcome,
                None => return, // still running: `aofFsyncInProgress()` stays true
            }
        } else {
            let file = job.file.clone();
            self.storage.sync(&file)
        };
        self.aof.bio_job = None;
        match outcome {
            Ok(()) => self.aof.bio_fsync_error = None,
            Err(e) => {
                self.log(LogLevel::Warning, format!("Fail to fsync the AOF file: {}", e.strerror()));
                self.aof.bio_fsync_error = Some(e);
            }
        }
    }

    /// `aof_background_fsync`: queues the fsync of `file` to the bio thread. The storage's own
    /// thread runs it where there is one (a real disk: the event loop goes on meanwhile);
    /// otherwise, or when the lab simulates a slow disk (`lab-fsync-latency-ms`), the engine
    /// completes it `fsync_latency_ms` later (at once for 0).
    pub(crate) fn aof_background_fsync(&mut self, file: String) {
        let on_host = self.aof.fsync_latency_ms == 0 && self.storage.sync_in_background(&file);
        self.aof.bio_job = Some(BioFsync { file, done_at_ms: self.now_ms + self.aof.fsync_latency_ms, on_host });
        self.aof_bio_tick();
    }

    pub fn aof_fsync_in_progress(&self) -> bool {
        self.aof.bio_job.is_some()
    }

    /// `flushAppendOnlyFile(force)`.
    pub fn flush_append_only_file(&mut self, force: bool) {
        if !self.aof_active() {
            return;
        }
        self.aof_bio_tick();
        let unixtime = self.unixtime();
        let policy = self.config.appendfsync;
        let sync_in_progress = self.aof_fsync_in_progress();
        let unsynced = self.aof.last_incr_fsync_offset != self.aof.last_incr_size;
        if self.feed.aof_buf.is_empty() {
            // Nothing to write, but an idle server must still fsync its last second of writes
            // (and a switch from everysec to always must sync what everysec left).
            let everysec_due = policy == AppendFsync::EverySec && unsynced && unixtime > self.aof.last_fsync && !sync_in_progress;
            let always_due = policy == AppendFsync::Always && unsynced;
            if everysec_due || always_due {
                self.aof_try_fsync(unixtime);
            }
            return;
        }
        if policy == AppendFsync::EverySec && !force && sync_in_progress {
            if self.aof.flush_postponed_start == 0 {
                self.aof.flush_postponed_start = unixtime;
                return;
            } else if unixtime - self.aof.flush_postponed_start < 2 {
                return;
            }
            self.aof.delayed_fsync += 1;
            self.log(
                LogLevel::Notice,
                "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.".into(),
            );
        }
        let path = self.aof.incr_path.clone().unwrap_or_default();
        let len = self.feed.aof_buf.len();
        let offset = self.aof.last_incr_size;
        let result = self.storage.write_at(&path, offset, &self.feed.aof_buf);
        self.aof.flush_postponed_start = 0;
        let written = match result {
            Ok(n) if n == len => None,
            other => Some(other),
        };
        if let Some(outcome) = written {
            let can_log = unixtime - self.aof.last_write_error_log > AOF_WRITE_LOG_ERROR_RATE;
            if can_log {
                self.aof.last_write_error_log = unixtime;
            }
            let mut kept = 0;
            match outcome {
                Err(e) => {
                    if can_log {
                        self.log(LogLevel::Warning, format!("Error writing to the AOF file: {}", e.strerror()));
                    }
                    self.aof.last_write_error = Some(e);
                }
                Ok(n) => {
                    if can_log {
                        self.log(LogLevel::Warning, format!("Short write while writing to the AOF file: (nwritten={n}, expected={len})"));
                    }
                    // Undo the partial write so the file stays loadable; keep it if that fails.
                    if let Err(e) = self.storage.truncate(&path, offset) {
                        if can_log {
                            self.log(
                                LogLevel::Warning,
                                format!(
                                    "Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}",
                                    e.strerror()
                                ),
                            );
                        }
                        kept = n;
                    }
                    self.aof.last_write_error = Some(crate::storage::Error::new(crate::storage::ErrorKind::NoSpace, "short write"));
                }
            }
            if policy == AppendFsync::Always {
                self.log(LogLevel::Warning, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...".into());
                self.aof.exited = Some("Can't recover from AOF write error when the AOF fsync policy is 'always'".into());
                return;
            }
            if kept > 0 {
                if let Some(w) = &mut self.aof.writes {
                    w.push(AofWrite { file: path.clone(), offset, len: kept as u64 });
                }
                self.aof.current_size += kept as u64;
                self.aof.last_incr_size += kept as u64;
                self.feed.aof_buf.drain(..kept);
            }
            return;
        }
        if self.aof.last_write_error.take().is_some() {
            self.log(LogLevel::Warning, "AOF write error looks solved, Redis can write again.".into());
        }
        if let Some(w) = &mut self.aof.writes {
            w.push(AofWrite { file: path, offset, len: len as u64 });
        }
        self.aof.current_size += len as u64;
        self.aof.last_incr_size += len as u64;
        self.feed.aof_buf.clear();
        self.aof_try_fsync(unixtime);
    }

    fn aof_try_fsync(&mut self, unixtime: i64) {
        // no-appendfsync-on-rewrite: while a child runs, behave like `no`.
        if self.config.no_appendfsync_on_rewrite && self.child_active() {
            return;
        }
        let path = self.aof.incr_path.clone().unwrap_or_default();
        match self.config.appendfsync {
            AppendFsync::Always => {
                if let Err(e) = self.storage.sync(&path) {
                    self.log(
                        LogLevel::Warning,
                        format!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...", e.strerror()),
                    );
                    self.aof.exited =
                        Some(format!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}", e.strerror()));
                    return;
                }
                self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
                self.aof.last_fsync = unixtime;
            }
            AppendFsync::EverySec if unixtime > self.aof.last_fsync => {
                if !self.aof_fsync_in_progress() {
                    self.aof_background_fsync(path);
                    self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
                }
                self.aof.last_fsync = unixtime;
            }
            _ => {}
        }
    }

    /// The AOF part of `serverCron`: finish the background fsync, retry a postponed flush at every
    /// tick and a failed write every second.
    pub fn aof_cron(&mut self) {
        self.aof_bio_tick();
        if !self.aof_active() {
            return;
        }
        if self.aof.flush_postponed_start != 0 {
            self.flush_append_only_file(false);
        }
        if self.aof.last_write_error.is_some() && self.unixtime() > self.aof.last_cron_write_retry {
            self.aof.last_cron_write_retry = self.unixtime();
            self.flush_append_only_file(false);
        }
    }

    /// Is a fork child (rewrite or save) running?
    pub fn child_active(&self) -> bool {
        self.has_active_child()
    }
}
