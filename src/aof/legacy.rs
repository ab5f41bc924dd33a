//! The Redis 6.2 AOF (`lab-aof-mode 6.2`): one `appendonly.aof` in `dir`, and a rewrite that
//! needs a **rewrite buffer** because the file being rewritten is the one still being written.
//!
//! ```text
//!           feed ──► aof_buf ──► flush ──► appendonly.aof            (the old file, as usual)
//!             └────► rewrite buffer (10 MB blocks) ──pipe──► child's diff
//! child     snapshot ─► temp-rewriteaof-<pid>.aof; fsync; reads the pipe a little longer;
//!           "!" (stop sending) ─► parent "!" ─► appends the diff; fsync;
//!           rename ─► temp-rewriteaof-bg-<pid>.aof; exit 0
//! parent    (next cron) appends the *residual* buffer (what came after the "!"), fsyncs,
//!           renames the temp file over appendonly.aof, swaps the fd, clears aof_buf
//! ```
//!
//! Every write made while the child runs is held twice in memory (in `aof_buf` for the old file,
//! in the rewrite buffer for the new one): the cost 7.0's multi-part design removed. INFO shows
//! the second copy as `aof_rewrite_buffer_length`.
//!
//! Start-up: the file is created empty if missing (`initServer` opens it with `O_CREAT` before
//! loading), then loaded (an RDB preamble + RESP tail, or RESP only); `aof_base_size` is the
//! **whole file** (7.0 counts only the base). No `appendonlydir`, no manifest.
//!
//! Compared with Redis 6.2:
//! * the engine around it is 7.0.15: commands are propagated as 7.0 propagates them (no
//!   AOF-specific EXPIRE → PEXPIREAT translation, single-write MULTI unwrapped), the preamble is
//!   7.0's RDB (`REDIS0010`, `aof-base`), `#TS` annotations follow `aof-timestamp-enabled`, the
//!   loader's messages are 7.0's, and CONFIG SET appendonly inside a transaction is scheduled;
//! * the fork is a snapshot of the dataset; the child is stepped by cron: each tick it writes
//!   `lab-rewrite-keys-per-tick` keys of the snapshot (all of them when 0) with the same
//!   streaming writer as the 7.0 child ([`super::child`]), the tick after the
//!   snapshot it does the stop-sending handshake and the concatenation, and the parent notices its
//!   exit at the following tick. The three pipes are one move: at each child step the parent
//!   hands the child the whole rewrite buffer (no 64 KB pipe limit);
//! * as in 6.2, a failure in the parent's part (writing the residual diff, the rename) leaves
//!   `aof_last_bgrewrite_status` as it was, there is no failure counter and no back-off, and the
//!   directory is not fsynced after the rename (a power loss can bring the old file back);
//! * the child's incremental fsync comes every 4 MB (7.0's `REDIS_AUTOSYNC_BYTES`; 6.2 used 32 MB).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::collections::VecDeque;

use super::bgrewrite::Start;
use super::load::{self, AofStatus};
use crate::child::{ChildType, Format};
use crate::config::AppendFsync;
use crate::server::{AofState, LogLevel, Server};
use crate::storage::{Error, ErrorKind, OpenMode};

/// `AOF_RW_BUF_BLOCK_SIZE`: the rewrite buffer grows by blocks of 10 MB.
pub const AOF_RW_BUF_BLOCK_SIZE: usize = 1024 * 1024 * 10;
const MB: f64 = 1024.0 * 1024.0;

/// `server.aof_rewrite_buf_blocks`: the parent's copy of every write made during a rewrite, not
/// yet sent to the child.
#[derive(Clone, Debug, Default)]
pub struct RewriteBuffer {
    /// Each block holds its `used` bytes; `free` is what is left of its 10 MB.
    blocks: VecDeque<Vec<u8>>,
}

impl RewriteBuffer {
    /// `aofRewriteBufferSize`: INFO's `aof_rewrite_buffer_length`.
    pub fn len(&self) -> u64 {
        self.blocks.iter().map(|b| b.len() as u64).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.blocks.iter().all(Vec::is_empty)
    }
    /// Blocks allocated now.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// `aofRewriteBufferAppend`: fills the last block, then allocates new ones. Returns the log
    /// line Redis writes when the block count crosses a multiple of 10 (a warning at 100).
    fn append(&mut self, mut bytes: &[u8]) -> Option<(LogLevel, String)> {
        let mut log = None;
        while !bytes.is_empty() {
            if let Some(block) = self.blocks.back_mut() {
                let n = AOF_RW_BUF_BLOCK_SIZE.saturating_sub(block.len()).min(bytes.len());
                let (head, tail) = bytes.split_at(n);
                block.extend_from_slice(head);
                bytes = tail;
            }
            if !bytes.is_empty() {
                self.blocks.push_back(Vec::new());
                let numblocks = self.blocks.len();
                if (numblocks + 1).is_multiple_of(10) {
                    let level = if (numblocks + 1).is_multiple_of(100) { LogLevel::Warning } else { LogLevel::Notice };
                    log = Some((level, format!("Background AOF buffer size: {} MB", self.len() / (1024 * 1024))));
                }
            }
        }
        log
    }

    /// `aofChildWriteDiffData`: everything goes down the pipe; emptied blocks are freed.
    fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        for block in self.blocks.drain(..) {
            out.extend_from_slice(&block);
        }
        out
    }

    /// `aofRewriteBufferReset`.
    fn reset(&mut self) {
        self.blocks.clear();
    }
}

/// How the child ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildExit {
    Code(i32),
    Signal(i32),
}

/// Where the child is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildPhase {
    /// `rdbSaveRio` / `rewriteAppendOnlyFileRio` into the temp file, reading the pipe as it goes.
    WritingSnapshot,
    /// Snapshot written and fsynced; the child reads the last diffs, asks the parent to stop,
    /// appends what it received, renames the file and exits.
    Finishing,
    /// Exited; the parent's `checkChildrenDone` sees it at the next cron.
    Exited(ChildExit),
}

/// The 6.2 child's own state (the fork itself, its snapshot and pid, is the shared
/// [`RewriteChild`]).
#[derive(Clone, Debug)]
pub struct LegacyChild {
    pub phase: ChildPhase,
    /// `server.aof_child_diff`: what the child read from the pipe.
    pub diff: Vec<u8>,
}

/// `server.aof_*` state that only the 6.2 design has.
#[derive(Clone, Debug, Default)]
pub struct Legacy {
    pub rewrite_buf: RewriteBuffer,
    pub child: Option<LegacyChild>,
    /// `aof_stop_sending_diff`: the child asked for no more diff; writes now pile up in the
    /// rewrite buffer until the parent appends them itself.
    pub stop_sending_diff: bool,
}

fn short_write() -> Error {
    Error::new(ErrorKind::NoSpace, "short write")
}

impl Server {
    /// INFO's `aof_rewrite_buffer_length` (shown only in legacy mode).
    pub fn aof_rewrite_buffer_length(&self) -> u64 {
        self.aof.legacy.rewrite_buf.len()
    }

    /// `feedAppendOnlyFile`, 6.2: the same bytes (SELECT, command) go to `aof_buf` when the AOF
    /// is on, and to the rewrite buffer whenever a rewrite child runs (also while the AOF is
    /// being turned on, when `aof_buf` gets nothing).
    pub(crate) fn legacy_feed_append_only_file(&mut self, db: usize, command: &[u8]) {
        if self.aof_state == AofState::Off {
            return; // `propagate` does not call the feed at all with the AOF off
        }
        let start = self.feed.aof_buf.len();
        let unixtime = self.unixtime();
        self.feed.feed(db, command, unixtime, self.config.aof_timestamp_enabled);
        let mut log = None;
        if self.aof.child.is_some() {
            log = self.aof.legacy.rewrite_buf.append(self.feed.aof_buf.get(start..).unwrap_or_default());
        }
        if self.aof_state != AofState::On {
            self.feed.aof_buf.truncate(start);
        }
        if let Some((level, line)) = log {
            self.log(level, line);
        }
    }

    /// `rewriteAppendOnlyFileBackground`, 6.2: no flush and no new file, just the fork. The
    /// next write starts with a SELECT so that the diff can be appended to any snapshot.
    pub(crate) fn legacy_rewrite_background(&mut self) -> Start {
        // One child at a time (a BGSAVE child included): the caller schedules or refuses.
        if self.has_active_child() {
            return Start::AlreadyInProgress;
        }
        self.aof.rewrites += 1;
        let format = if self.config.aof_use_rdb_preamble {
            Format::Rdb { aof_base: true }
        } else {
            Format::Resp { timestamps: self.config.aof_timestamp_enabled }
        };
        let child = self.fork_child(ChildType::Aof, format, |pid| format!("temp-rewriteaof-{pid}.aof"));
        let pid = child.pid;
        self.aof.child = Some(child);
        self.aof.legacy.rewrite_buf.reset();
        self.aof.legacy.stop_sending_diff = false;
        self.aof.legacy.child = Some(LegacyChild { phase: ChildPhase::WritingSnapshot, diff: Vec::new() });
        self.log(LogLevel::Notice, format!("Background append only file rewriting started by pid {pid}"));
        self.aof.rewrite_scheduled = false;
        self.feed.selected_db = -1;
        Start::Started
    }

    /// The rewrite part of `serverCron` once the scheduled and automatic checks ran: one step of
    /// the child, or the parent's done handler when the child has exited.
    pub(crate) fn legacy_rewrite_cron(&mut self) {
        let Some(phase) = self.aof.legacy.child.as_ref().map(|c| c.phase) else { return };
        if self.aof.child.is_none() {
            self.aof.legacy.child = None;
            return;
        }
        match phase {
            ChildPhase::WritingSnapshot => {
                if let Err(e) = self.legacy_child_write_snapshot() {
                    self.legacy_child_werr(&e);
                }
            }
            ChildPhase::Finishing => {
                if let Err(e) = self.legacy_child_finish() {
                    self.legacy_child_werr(&e);
                }
            }
            ChildPhase::Exited(status) => self.legacy_rewrite_done(status),
        }
    }

    /// The lab's "kill -9 the child": the parent sees it at the next cron.
    pub fn legacy_child_killed(&mut self, signal: i32) {
        if let Some(c) = self.aof.legacy.child.as_mut() {
            c.phase = ChildPhase::Exited(ChildExit::Signal(signal));
        }
    }

    fn child_pid(&self) -> u32 {
        self.aof.child.as_ref().map_or(0, |c| c.pid)
    }

    /// The parent's writable-pipe handler: the whole buffer goes to the child, unless the child
    /// asked to stop.
    fn legacy_send_diff(&mut self) {
        if self.aof.legacy.stop_sending_diff {
            return;
        }
        let bytes = self.aof.legacy.rewrite_buf.drain();
        if let Some(c) = self.aof.legacy.child.as_mut() {
            c.diff.extend_from_slice(&bytes);
        }
    }

    /// The child's snapshot phase (`rewriteAppendOnlyFile` up to the first fsync).
    fn legacy_child_write_snapshot(&mut self) -> Result<(), Error> {
        self.legacy_send_diff();
        let Some(mut child) = self.aof.child.take() else { return Ok(()) };
        let incremental = self.config.aof_rewrite_incremental_fsync;
        // The temp file is opened by the first step, fsynced by the last ("do an initial slow
        // fsync here while the parent is still sending data").
        let done = self.child_step(&mut child, incremental);
        self.aof.child = Some(child);
        if done? && let Some(c) = self.aof.legacy.child.as_mut() {
            c.phase = ChildPhase::Finishing;
        }
        Ok(())
    }

    /// The child's end: last reads of the pipe, the stop handshake, the diff appended, fsync,
    /// rename for the parent, exit 0.
    fn legacy_child_finish(&mut self) -> Result<(), Error> {
        let pid = self.child_pid();
        let tmp = format!("temp-rewriteaof-{pid}.aof");
        self.legacy_send_diff();
        self.log(LogLevel::Notice, "AOF rewrite child asks to stop sending diffs.".into());
        self.aof.legacy.stop_sending_diff = true;
        self.log(LogLevel::Notice, "Parent agreed to stop sending diffs. Finalizing AOF...".into());
        let Some(child) = self.aof.legacy.child.as_mut() else { return Ok(()) };
        let diff = std::mem::take(&mut child.diff);
        let offset = self.aof.child.as_ref().map_or(0, |c| c.written);
        self.log(LogLevel::Notice, format!("Concatenating {:.2} MB of AOF diff received from parent.", diff.len() as f64 / MB));
        // Written in one go where Redis writes 8 MB chunks (to report CoW in between).
        if !diff.is_empty() && self.storage.write_at(&tmp, offset, &diff)? != diff.len() {
            return Err(short_write());
        }
        self.storage.sync(&tmp)?;
        let done = format!("temp-rewriteaof-bg-{pid}.aof");
        if let Err(e) = self.storage.rename(&tmp, &done) {
            self.log(LogLevel::Warning, format!("Error moving temp append only file on the final destination: {}", e.strerror()));
            self.storage.remove(&tmp).ok();
            self.legacy_child_exit(ChildExit::Code(1));
            return Ok(());
        }
        self.log(LogLevel::Notice, "SYNC append only file rewrite performed".into());
        let cow = self.aof.child.as_ref().map_or(0, |c| c.cow_bytes());
        self.aof.last_cow_size = cow;
        self.log(LogLevel::Notice, format!("AOF rewrite: {} MB of memory used by copy-on-write", cow / (1024 * 1024)));
        self.legacy_child_exit(ChildExit::Code(0));
        Ok(())
    }

    /// `werr:` in the child: the temp file goes, exit 1.
    fn legacy_child_werr(&mut self, e: &Error) {
        self.log(LogLevel::Warning, format!("Write error writing append only file on disk: {}", e.strerror()));
        self.storage.remove(&format!("temp-rewriteaof-{}.aof", self.child_pid())).ok();
        self.legacy_child_exit(ChildExit::Code(1));
    }

    fn legacy_child_exit(&mut self, status: ChildExit) {
        if let Some(c) = self.aof.legacy.child.as_mut() {
            c.phase = ChildPhase::Exited(status);
        }
    }

    /// `backgroundRewriteDoneHandler`, 6.2.
    fn legacy_rewrite_done(&mut self, status: ChildExit) {
        let Some(child) = self.aof.child.take() else { return };
        self.aof.legacy.child = None;
        match status {
            ChildExit::Code(0) => {
                self.log(LogLevel::Notice, "Background AOF rewrite terminated with success".into());
                if self.legacy_install_rewritten_file(child.pid) {
                    self.aof.last_bgrewrite_failed = false;
                    self.log(LogLevel::Notice, "Background AOF rewrite finished successfully".into());
                    if self.aof_state == AofState::WaitRewrite {
                        self.aof_state = AofState::On;
                    }
                }
            }
            ChildExit::Code(_) => {
                self.aof.last_bgrewrite_failed = true;
                self.log(LogLevel::Warning, "Background AOF rewrite terminated with error".into());
            }
            ChildExit::Signal(sig) => {
                // SIGUSR1 is how Redis kills its own child: not an error.
                if sig != 10 {
                    self.aof.last_bgrewrite_failed = true;
                }
                self.log(LogLevel::Warning, format!("Background AOF rewrite terminated by signal {sig}"));
            }
        }
        // cleanup:
        self.aof.legacy.rewrite_buf.reset();
        self.aof.legacy.stop_sending_diff = false;
        self.legacy_remove_temp_files(child.pid);
        self.aof.last_rewrite_time_sec = Some(self.unixtime() - child.started_ms.div_euclid(1000));
        if self.aof_state == AofState::WaitRewrite {
            self.aof.rewrite_scheduled = true;
        }
    }

    /// `aofRemoveTempFile`.
    fn legacy_remove_temp_files(&mut self, pid: u32) {
        for tmp in [format!("temp-rewriteaof-bg-{pid}.aof"), format!("temp-rewriteaof-{pid}.aof")] {
            self.storage.remove(&tmp).ok();
        }
    }

    /// The success branch of the done handler: the residual diff, fsync, rename over
    /// `appendonly.aof`, the fd swap. False when it stopped (the old file stays authoritative).
    fn legacy_install_rewritten_file(&mut self, pid: u32) -> bool {
        let tmp = format!("temp-rewriteaof-bg-{pid}.aof");
        let Ok(mut offset) = self.storage.len(&tmp) else {
            self.log(LogLevel::Warning, "Unable to open the temporary AOF produced by the child: No such file or directory".into());
            return false;
        };
        // aofRewriteBufferWrite: block by block; a short write is an error.
        let residual = self.aof.legacy.rewrite_buf.len();
        let blocks: Vec<Vec<u8>> = self.aof.legacy.rewrite_buf.blocks.iter().filter(|b| !b.is_empty()).cloned().collect();
        for block in blocks {
            let written = match self.storage.write_at(&tmp, offset, &block) {
                Ok(n) if n == block.len() => Ok(()),
                Ok(_) => Err(short_write()),
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                self.log(LogLevel::Warning, format!("Error trying to flush the parent diff to the rewritten AOF: {}", e.strerror()));
                return false;
            }
            offset += block.len() as u64;
        }
        let target = self.config.appendfilename.clone();
        let everysec = self.config.appendfsync == AppendFsync::EverySec;
        if self.config.appendfsync == AppendFsync::Always
            && let Err(e) = self.storage.sync(&tmp)
        {
            self.log(LogLevel::Warning, format!("Error trying to fsync the parent diff to the rewritten AOF: {}", e.strerror()));
            return false;
        }
        self.log(
            LogLevel::Notice,
            format!("Residual parent diff successfully flushed to the rewritten AOF ({:.2} MB)", residual as f64 / MB),
        );
        // rename(2) replaces the old file atomically; the old fd (still open) goes to a bio close.
        if let Err(e) = self.storage.rename(&tmp, &target) {
            self.log(LogLevel::Warning, format!("Error trying to rename the temporary AOF file {tmp} into {target}: {}", e.strerror()));
            return false;
        }
        if everysec {
            // aof_background_fsync(newfd): the bio thread (by name, now the new file's).
            if self.aof.bio_job.is_none() {
                self.aof_background_fsync(target.clone());
            } else {
                self.storage.sync(&target).ok();
            }
        }
        if self.aof.incr_path.is_some() {
            // The AOF is on (or being turned on): appends continue in the new file, whose content
            // already holds everything aof_buf had.
            self.aof.incr_path = Some(target.clone());
            self.feed.selected_db = -1;
            let size = self.storage.len(&target).unwrap_or(0);
            self.aof.current_size = size;
            self.aof.rewrite_base_size = size;
            self.aof.last_incr_size = size;
            self.aof.last_incr_fsync_offset = size;
            self.aof.last_fsync = self.unixtime();
            self.feed.aof_buf.clear();
        }
        true
    }

    /// `killAppendOnlyChild`, 6.2: SIGUSR1, the buffer reset, the temp files removed.
    pub(crate) fn legacy_kill_child(&mut self) {
        let Some(child) = self.aof.child.take() else { return };
        self.log(LogLevel::Notice, format!("Killing running AOF rewrite child: {}", child.pid));
        self.aof.legacy.child = None;
        self.aof.legacy.rewrite_buf.reset();
        self.aof.legacy.stop_sending_diff = false;
        self.legacy_remove_temp_files(child.pid);
    }

    /// `startAppendOnly`, 6.2: opens (creates) `appendonly.aof` at once, then the rewrite that
    /// will replace it; `WAIT_REWRITE` until then, with writes kept in the rewrite buffer only.
    pub(crate) fn legacy_start_append_only(&mut self, in_exec: bool) -> bool {
        let name = self.config.appendfilename.clone();
        if let Err(e) = self.storage.open(&name, OpenMode::Create) {
            self.log(
                LogLevel::Warning,
                format!(
                    "Redis needs to enable the AOF but can't open the append only file {name} (in server root dir {}): {}",
                    self.config.dir,
                    e.strerror()
                ),
            );
            return false;
        }
        if !self.schedule_aof_start_if_busy(in_exec) && !matches!(self.legacy_rewrite_background(), Start::Started) {
            self.log(
                LogLevel::Warning,
                "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.".into(),
            );
            return false;
        }
        self.aof_state = AofState::WaitRewrite;
        self.aof.last_fsync = self.unixtime();
        let size = self.storage.len(&name).unwrap_or(0);
        self.aof.incr_path = Some(name);
        self.aof.last_incr_size = size;
        self.aof.last_incr_fsync_offset = size;
        if self.aof.bio_fsync_error.take().is_some() {
            self.log(LogLevel::Warning, "AOF reopen, just ignore the AOF fsync error in bio job".into());
        }
        if self.aof.last_write_error.take().is_some() {
            self.log(LogLevel::Warning, "AOF reopen, just ignore the last error.".into());
        }
        true
    }

    /// `stopAppendOnly`, 6.2: flush, fsync, close, kill the child; the file stays.
    pub(crate) fn legacy_stop_append_only(&mut self) {
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
        self.feed.selected_db = -1;
        self.aof_state = AofState::Off;
        self.aof.rewrite_scheduled = false;
        self.legacy_kill_child();
        self.feed.aof_buf.clear();
    }

    /// Start-up with `appendonly yes` (`initServer` + `loadDataFromDisk`): open or create the
    /// file, load it. `Err` holds the fatal lines of an `exit(1)`.
    pub(crate) fn legacy_aof_start(&mut self) -> Result<AofStatus, Vec<String>> {
        if self.aof_state != AofState::On {
            return Ok(AofStatus::NotExist);
        }
        let name = self.config.appendfilename.clone();
        self.storage.open(&name, OpenMode::Create).map_err(|e| vec![format!("Can't open the append-only file: {}", e.strerror())])?;
        self.aof.incr_path = Some(name);
        self.feed.selected_db = -1;
        let started = crate::load_time::started(self.config.load_clock);
        let status = self.legacy_load_append_only_file();
        match status {
            AofStatus::Failed | AofStatus::OpenErr => Err(Vec::new()),
            AofStatus::Ok | AofStatus::Truncated => {
                let line = crate::load_time::line("DB loaded from append only file", self.config.load_clock, started);
                self.log(LogLevel::Notice, line);
                Ok(status)
            }
            s => Ok(s),
        }
    }

    /// `loadAppendOnlyFile`, 6.2: the single file, a cut-off tail truncated on disk (with
    /// `aof-load-truncated yes`); the sizes are the whole file's.
    pub(crate) fn legacy_load_append_only_file(&mut self) -> AofStatus {
        let name = self.config.appendfilename.clone();
        let data = match self.storage.read_all(&name) {
            Ok(d) => d,
            Err(e) => {
                self.log(LogLevel::Warning, format!("Fatal error: can't open the append log file for reading: {}", e.strerror()));
                return AofStatus::OpenErr;
            }
        };
        let mut ret = if data.is_empty() {
            AofStatus::Empty
        } else {
            self.loading = true;
            self.aof.loading_total_bytes = data.len() as u64;
            self.aof.loading_loaded_bytes = 0;
            let (ret, valid_up_to) = load::load_single_append_only_file(self, &name, &data);
            self.aof.loading_loaded_bytes = data.len() as u64;
            self.loading = false;
            if ret == AofStatus::Truncated
                && let Err(e) = self.storage.truncate(&name, valid_up_to)
            {
                self.log(LogLevel::Warning, format!("Error truncating the AOF file: {}", e.strerror()));
                return AofStatus::Failed;
            }
            ret
        };
        if matches!(ret, AofStatus::Ok | AofStatus::Truncated | AofStatus::Empty) {
            let size = self.storage.len(&name).unwrap_or(0);
            self.aof.current_size = size;
            self.aof.last_incr_size = size;
            self.aof.last_incr_fsync_offset = size;
            if ret != AofStatus::Empty {
                self.aof.rewrite_base_size = size;
            }
        } else {
            ret = AofStatus::Failed;
        }
        ret
    }

    /// `DEBUG LOADAOF` in legacy mode: flush, empty, reload the single file. A load that fails
    /// makes the engine exit, as Redis does.
    pub(crate) fn legacy_debug_loadaof(&mut self) -> Result<(), String> {
        if self.aof_state == AofState::On {
            self.flush_append_only_file(true);
        }
        self.empty_data();
        let ret = self.legacy_load_append_only_file();
        if !matches!(ret, AofStatus::Ok | AofStatus::Empty | AofStatus::Truncated) {
            self.aof.exited = Some(format!("DEBUG LOADAOF could not load the AOF ({ret:?})"));
            return Err(format!("DEBUG LOADAOF could not load the AOF ({ret:?}): the server exited"));
        }
        self.dirty = 0;
        self.log(LogLevel::Notice, "Append Only File loaded by DEBUG LOADAOF".into());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_buffer_blocks_and_log() {
        let mut b = RewriteBuffer::default();
        assert!(b.append(b"abc").is_none());
        assert_eq!((b.len(), b.blocks()), (3, 1));
        // Eight more blocks: the ninth allocated makes numblocks + 1 == 10.
        let big = vec![b'x'; AOF_RW_BUF_BLOCK_SIZE * 8];
        let log = b.append(&big);
        assert_eq!(b.blocks(), 9);
        assert_eq!(log, Some((LogLevel::Notice, "Background AOF buffer size: 80 MB".to_string())));
        assert_eq!(b.drain().len(), 3 + AOF_RW_BUF_BLOCK_SIZE * 8);
        assert_eq!((b.len(), b.blocks()), (0, 0));
    }
}
