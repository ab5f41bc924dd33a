//! The lab host: one engine as the browser page drives it, without anything browser-specific,
//! so that it runs (and is tested) natively too. `src/wasm.rs` only translates it for JavaScript.
//!
//! It plays the part of redis-server's event loop around [`Engine`]:
//!
//! * three connections, as three clients on a real server: the **console** (command lines in,
//!   redis-cli's rendering out), the **second console** (the same, for a second client: one
//!   that SUBSCRIBEs and hears what the first PUBLISHes) and the **wire** (RESP bytes in and
//!   out, like a socket); pub/sub messages go to the connection that listens, rendered or
//!   encoded in its protocol;
//! * one **turn** per call: run the queued input, then `beforeSleep` (write `aof_buf`, fsync as
//!   the policy says); the host releases the turn's replies after it;
//! * an **event stream** with a cursor: log lines, commands, AOF writes and fsyncs, rewrites,
//!   crashes; the page reads what is new since the last sequence number it saw;
//! * **views** as JSON: the files with their layers (process memory → page cache → disk), the
//!   manifest, `INFO persistence`, the start-up log;
//! * the **crash lab** on the simulated machine ([`crate::storage::Machine`], over RAM, OPFS or
//!   IndexedDB): kill, power loss, torn op, torn sequence, disk full, fsync error; then a restart
//!   on what survived (the crash cuts the backend's real files back), and a report of what was
//!   lost and why;
//! * **export / import** of the AOF directory as a ustar archive ([`crate::archive`]).
//!
//! This file holds the connections, the turns and the event stream; `crash.rs` the crash lab
//! and export / import; `view.rs` the JSON views; `log.rs` the log view's record index (the
//! files as records, by range), `placement.rs` where each command's bytes went, `dropped.rs`
//! dropped files inspected apart from the lab; `backend.rs` where the files live in a browser
//! (the ladder, what each backend promises, what the host lends); `input.rs` every act on the lab as data,
//! `timeline.rs` its past (checkpoints, seek, branches) and `recording.rs` a recording's bytes;
//! `machine_trace.rs` / `machine_view.rs` the write path as the diagram draws it and what a
//! crash would lose, `predict.rs` predict-then-reveal; `series.rs` the plots' figures and
//! `traffic.rs` the traffic generator.
//!
//! Compared with Redis: the fork, the bio thread and the kernel are simulated (see
//! [`crate::aof`] and [`crate::storage::memory`]); a "crash" here restarts the engine on the
//! same storage, which is exactly what redis-server does after `kill -9` or a power cut.

pub mod backend;
mod crash;
mod dropped;
pub mod input;
pub mod log;
#[cfg(test)]
mod machine_tests;
mod machine_trace;
mod machine_view;
mod placement;
mod predict;
pub mod recording;
pub mod scenario;
pub mod series;
pub mod session;
pub mod timeline;
pub mod traffic;
mod view;

pub use backend::{Host, MEMORY_DURABILITY};
pub use dropped::Dropped;
pub use machine_trace::{Loc, Propagated, Traced, TurnTrace};
pub use machine_view::{LostIf, LostWrite};
pub use placement::LineAt;
pub use predict::{Prediction, Reveal};

pub use view::json_string;

use std::collections::VecDeque;

use crate::config::AppendFsync;
use crate::reply::Reply;
use crate::resp::{Limits, parse_command};
use crate::server::ClientId;
use crate::storage::{MemoryStorage, Storage};
use crate::{Config, Engine};

/// Events kept for readers that fall behind (older ones are dropped; the cursor says so).
const MAX_EVENTS: usize = 5000;

/// One entry of the event stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub time_ms: i64,
    /// `log`, `command`, `write`, `fsync`, `rewrite`, `rdb`, `crash`, `restart`, `import`,
    /// `config` (a setting for the next start, given while the server is down).
    pub kind: &'static str,
    pub text: String,
    /// A byte count where one applies (bytes appended, written, synced up to).
    pub bytes: u64,
    /// Where a `write` event's bytes went: (file, offset of its first byte).
    pub at: Option<(String, u64)>,
}

/// Figures compared before and after a turn to tell what happened in it.
#[derive(Clone, Debug, Default)]
struct Watch {
    current_size: u64,
    fsync_offset: u64,
    child_pid: Option<u32>,
    /// The AOF child's temp file (named in the "done" event).
    child_tmp: String,
    rewrites: u64,
    bgrewrite_failed: bool,
    rdb_pid: Option<u32>,
    rdb_saves: u64,
    lastsave: i64,
    lastbgsave_ok: bool,
}

/// What a crash cost: the figures the crash lab shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrashReport {
    pub kind: String,
    pub policy: &'static str,
    /// Bytes still in `aof_buf` (process memory) at the crash.
    pub lost_aof_buf: u64,
    /// Bytes written but not on disk at the crash (page cache), lost if the machine went down.
    pub lost_page_cache: u64,
    pub keys_before: u64,
    pub keys_after: u64,
    /// Why, in sentences.
    pub why: Vec<String>,
    /// The restarted server's log, or the fatal lines when it refused to start.
    pub log: Vec<String>,
    pub started: bool,
    /// The "AOF vs RDB" comparison: the keys an RDB-only server would have restarted with (those
    /// in the dump.rdb that survived; `None`: no dump.rdb, it would start empty), the changes
    /// made since that file was saved, its age at the crash, and the sentence saying so.
    pub rdb_keys: Option<u64>,
    pub rdb_changes: u64,
    pub rdb_age_s: u64,
    pub rdb_text: String,
}

pub struct Lab {
    pub engine: Engine,
    config: Config,
    /// Redis exited (or refused to start): commands get redis-cli's "Could not connect".
    down: Option<Vec<String>>,
    console: ClientId,
    /// Lines typed while the console client is blocked.
    console_queue: VecDeque<String>,
    /// Console replies not handed out yet.
    console_out: Vec<String>,
    /// The second console: lines typed there wait here while its client is blocked.
    second: ClientId,
    second_queue: VecDeque<String>,
    /// Its replies and the messages it received, not handed out yet.
    second_out: Vec<String>,
    wire: ClientId,
    /// The wire client's query buffer: bytes not yet executed.
    wire_qbuf: Vec<u8>,
    wire_out: Vec<u8>,
    /// Bytes that entered `aof_buf` since the page last took them.
    appended: Vec<u8>,
    /// The log view's record index, and where each command's bytes went (`log.rs`).
    log: log::LabLog,
    events: VecDeque<Event>,
    next_seq: u64,
    watch: Watch,
    /// The current process's start-up log (what redis-server printed while loading).
    load_log: Vec<String>,
    /// Which backend holds the files, and why the ones above it in the ladder were not used.
    pub backend: String,
    pub backend_notes: Vec<String>,
    /// What the backend promises, said plainly (shown next to the policy).
    pub durability: String,
    pub last_crash: Option<CrashReport>,
    /// The figures of every turn, for the plots.
    pub series: series::Series,
    /// When the lab started (simulated ms): the plots' time 0.
    pub started_ms: i64,
    /// The traffic generator, when it runs.
    pub traffic: Option<traffic::Traffic>,
    /// The write path as the diagram draws it (`machine_trace.rs`).
    machine: machine_trace::Machine,
    /// A crash prediction given as an input, for the next crash to reveal (`input.rs`).
    prediction: Option<Prediction>,
}

impl Lab {
    /// Starts redis-server on `storage` with `config`. A refusal to start (a damaged AOF) is not
    /// an error here: the lab is then "down" and shows the fatal lines.
    pub fn start(config: Config, storage: Box<dyn Storage>, now: i64) -> Lab {
        let (engine, down, load_log) = boot(config.clone(), storage, now);
        let mut lab = Lab {
            engine,
            config,
            down,
            console: 0,
            console_queue: VecDeque::new(),
            console_out: Vec::new(),
            second: 0,
            second_queue: VecDeque::new(),
            second_out: Vec::new(),
            wire: 0,
            wire_qbuf: Vec::new(),
            wire_out: Vec::new(),
            appended: Vec::new(),
            log: log::LabLog::default(),
            events: VecDeque::new(),
            next_seq: 1,
            watch: Watch::default(),
            load_log: Vec::new(),
            backend: String::new(),
            backend_notes: Vec::new(),
            durability: String::new(),
            last_crash: None,
            series: series::Series::default(),
            started_ms: now,
            traffic: None,
            machine: machine_trace::Machine::default(),
            prediction: None,
        };
        lab.attach(load_log, now);
        lab
    }

    /// After a (re)start: fresh connections, and the start-up log as events.
    fn attach(&mut self, load_log: Vec<String>, now: i64) {
        // A start may have written (a new incr file, a truncated tail): as after any turn.
        self.engine.srv.storage.flush_page_cache();
        // The backend is the one the lab opened on: a copy of it in the timeline's past runs
        // over RAM but shows the same files.
        if self.backend.is_empty() {
            self.backend = self.engine.srv.storage.kind().to_string();
        }
        self.console = self.engine.connect();
        self.wire = self.engine.connect();
        self.second = self.engine.connect();
        self.second_queue.clear();
        self.console_queue.clear();
        self.wire_qbuf.clear();
        self.log.attach(&mut self.engine);
        for line in &load_log {
            self.push(now, "log", line.clone(), 0);
        }
        self.load_log = load_log;
        self.watch = self.observe();
        self.trace_reset();
    }

    pub fn is_down(&self) -> Option<&[String]> {
        self.down.as_deref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `lab-rewrite-keys-per-tick`: how many keys the simulated rewrite / BGSAVE child writes per
    /// cron tick (0: all at once), so that a learner can watch a rewrite. Takes effect at the
    /// child's next step, and is kept across restarts.
    pub fn set_rewrite_speed(&mut self, keys_per_tick: u64, now: i64) {
        let n = usize::try_from(keys_per_tick).unwrap_or(usize::MAX);
        self.engine.srv.config.lab_rewrite_keys_per_tick = n;
        self.config.lab_rewrite_keys_per_tick = n;
        let text = if n == 0 {
            "the child writes its whole snapshot in one tick".to_string()
        } else {
            format!("the child writes {n} key(s) per tick")
        };
        self.push(now, "rewrite", format!("rewrite speed: {text} (lab-rewrite-keys-per-tick {n})"), 0);
    }

    /// The lab restarts with the settings in force (CONFIG SET included), as if `CONFIG REWRITE`
    /// had saved them to redis.conf: a learner who switched the policy expects to keep it.
    fn keep_runtime_config(&mut self) {
        if self.down.is_none() {
            self.config = self.engine.srv.config.clone();
        }
    }

    /// Runs one console line; returns the replies ready (the line's own, unless it blocked, and
    /// those of earlier blocked commands it served); redis-cli's [`CLOSED`] when the server
    /// exited during the turn (its replies never left).
    pub fn execute_line(&mut self, line: &str, now: i64) -> Vec<String> {
        if self.down.is_some() {
            return cli_says(line, REFUSED);
        }
        if !line.trim().is_empty() {
            self.push(now, "command", line.to_string(), 0);
        }
        self.console_queue.push_back(line.to_string());
        self.turn(now, false);
        if self.down.is_some() {
            return cli_says(line, CLOSED);
        }
        std::mem::take(&mut self.console_out)
    }

    /// Runs several console lines in ONE turn (one write and, under `always`, one fsync for all
    /// of them: Redis's group commit when many clients write in the same event-loop iteration).
    /// For each line: the replies ready after it, and the bytes it appended to `aof_buf`.
    pub fn execute_batch(&mut self, lines: &[String], now: i64) -> Vec<(Vec<String>, Vec<u8>)> {
        if self.down.is_some() {
            return lines.iter().map(|l| (cli_says(l, REFUSED), vec![])).collect();
        }
        self.trace_turn_start(now, false);
        let mut out = Vec::with_capacity(lines.len());
        let mut places = Vec::with_capacity(lines.len());
        self.collect_appended();
        for line in lines {
            if !line.trim().is_empty() {
                self.push(now, "command", line.clone(), 0);
            }
            self.console_queue.push_back(line.clone());
            let from = self.log.placements.fed();
            self.settle(now);
            self.collect_appended();
            let bytes = std::mem::take(&mut self.appended);
            places.push(LineAt { stream: from, len: self.log.placements.fed() - from, at: None });
            out.push((std::mem::take(&mut self.console_out), bytes));
        }
        self.before_sleep(now);
        self.after_turn(now);
        self.log.place(places);
        if self.down.is_some() {
            // The group commit failed under `always`: no reply of the batch ever left.
            for ((replies, _), line) in out.iter_mut().zip(lines) {
                *replies = cli_says(line, CLOSED);
            }
        }
        out
    }

    /// Runs lines typed in the second console, in one turn; returns what that console shows
    /// now: the lines' replies, and the messages it received since it was last asked.
    pub fn execute_second(&mut self, lines: &[String], now: i64) -> Vec<String> {
        if self.down.is_some() {
            return lines.iter().filter(|l| !l.trim().is_empty()).map(|_| REFUSED.to_string()).collect();
        }
        for line in lines {
            if !line.trim().is_empty() {
                self.push(now, "command", format!("(second console) {line}"), 0);
            }
            self.second_queue.push_back(line.clone());
        }
        self.turn(now, false);
        std::mem::take(&mut self.second_out)
    }

    /// What reached the second console through other connections' commands (a PUBLISH on the
    /// first console) since it was last asked.
    pub fn take_second_out(&mut self) -> Vec<String> {
        std::mem::take(&mut self.second_out)
    }

    /// Feeds RESP bytes to the wire connection; returns the RESP replies ready.
    pub fn execute_resp(&mut self, bytes: &[u8], now: i64) -> Vec<u8> {
        if self.down.is_some() {
            return b"-ERR Connection refused (the server is down)\r\n".to_vec();
        }
        self.wire_qbuf.extend_from_slice(bytes);
        self.turn(now, false);
        std::mem::take(&mut self.wire_out)
    }

    /// `serverCron` plus a turn: returns console replies that became ready.
    pub fn tick(&mut self, now: i64) -> Vec<String> {
        if self.down.is_some() {
            return vec![];
        }
        self.turn(now, true);
        std::mem::take(&mut self.console_out)
    }

    fn turn(&mut self, now: i64, cron: bool) {
        self.trace_turn_start(now, cron);
        if cron {
            self.engine.cron(now);
            self.trace_cron(now);
            self.run_traffic(now);
        }
        self.settle(now);
        self.before_sleep(now);
        self.after_turn(now);
    }

    /// Bytes propagated into `aof_buf` since the last take.
    pub fn take_appended(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.appended)
    }
    pub fn appended(&self) -> &[u8] {
        &self.appended
    }

    /// The policy's promise about a reply released now: under `always` every acknowledged
    /// write was fsynced (the host must also wait for a backend's own commit).
    pub fn policy(&self) -> AppendFsync {
        self.engine.srv.config.appendfsync
    }

    // ----- events -----

    fn push(&mut self, time_ms: i64, kind: &'static str, text: String, bytes: u64) {
        self.events.push_back(Event { seq: self.next_seq, time_ms, kind, text, bytes, at: None });
        self.next_seq += 1;
        while self.events.len() > MAX_EVENTS {
            self.events.pop_front();
        }
    }

    /// An event from the host (a fault it injected into its own backend).
    pub fn note(&mut self, now: i64, text: String) {
        self.push(now, "crash", text, 0);
    }

    /// Events with `seq > since`, and the cursor to pass next time. The kept events have
    /// consecutive seqs, so the first one wanted is found by a search, not a walk of all 5 000
    /// (this runs at every input: BENCHMARKS.md, "One turn").
    pub fn events_since(&self, since: u64) -> (Vec<&Event>, u64) {
        let from = self.events.partition_point(|e| e.seq <= since);
        (self.events.range(from..).collect(), self.next_seq - 1)
    }

    fn observe(&self) -> Watch {
        let aof = &self.engine.srv.aof;
        let rdb = &self.engine.srv.rdb;
        Watch {
            current_size: aof.current_size,
            fsync_offset: aof.last_incr_fsync_offset,
            child_pid: aof.child.as_ref().map(|c| c.pid),
            child_tmp: aof.child.as_ref().map(|c| c.tmp.clone()).unwrap_or_default(),
            rewrites: aof.rewrites,
            bgrewrite_failed: aof.last_bgrewrite_failed,
            rdb_pid: rdb.child.as_ref().map(|c| c.pid),
            rdb_saves: rdb.saves,
            lastsave: rdb.lastsave,
            lastbgsave_ok: rdb.lastbgsave_ok,
        }
    }

    /// Turns what changed during the turn into events.
    fn after_turn(&mut self, now: i64) {
        // What the turn wrote outlives this process (IndexedDB stores it; see the trait).
        self.engine.srv.storage.flush_page_cache();
        for line in self.engine.take_log() {
            self.push(line.time_ms, "log", format!("{} {}", line.level.mark(), line.text), 0);
        }
        let w = self.observe();
        let file = self.engine.srv.aof.incr_path.clone().unwrap_or_default();
        let writes = self.log.placements.take_recent();
        if w.current_size > self.watch.current_size {
            self.push(
                now,
                "write",
                format!("write() {} bytes to {file}", w.current_size - self.watch.current_size),
                w.current_size - self.watch.current_size,
            );
            if let (Some(e), Some(first)) = (self.events.back_mut(), writes.first()) {
                e.at = Some((first.file.clone(), first.offset));
            }
        }
        if w.fsync_offset != self.watch.fsync_offset {
            self.push(now, "fsync", format!("fsync {file}: durable up to byte {}", w.fsync_offset), w.fsync_offset);
            // Under everysec the bio thread takes the disk's latency; always syncs in the turn.
            let latency = if self.policy() == AppendFsync::EverySec { self.engine.srv.aof.fsync_latency_ms } else { 0 };
            self.series.count_fsync(now + latency, latency);
        }
        self.child_events(&w, now);
        self.trace_turn_end();
        if let Some(reason) = self.engine.exited().map(str::to_string)
            && self.down.is_none()
        {
            // Redis exit(1)s here (a write or fsync error under appendfsync always), in
            // flushAppendOnlyFile, before any reply of the turn is written to a socket: the
            // replies collected during the turn are never sent.
            self.push(now, "crash", format!("redis-server exited: {reason}"), 0);
            self.down = Some(vec![reason]);
            self.console_out.clear();
            self.wire_out.clear();
        }
        self.watch = w;
        self.sample(now);
    }

    /// The rewrite and BGSAVE children: started, done or failed (what the fork and its
    /// `checkChildrenDone` would show). A child may start and end within one turn (an instant
    /// rewrite started by cron): the counters tell.
    fn child_events(&mut self, w: &Watch, now: i64) {
        let legacy = self.engine.srv.config.aof_legacy;
        let prev = self.watch.clone();
        let aof_started = w.child_pid.is_some() && w.child_pid != prev.child_pid;
        let aof_ended = prev.child_pid.is_some() && w.child_pid != prev.child_pid;
        // Started and ended inside this turn: the counter moved, no pid was seen.
        let aof_flash = w.rewrites > prev.rewrites && !aof_started && !aof_ended;
        if aof_ended || aof_flash {
            if aof_flash {
                self.push(now, "rewrite", "rewrite child started and finished within one turn".into(), 0);
            }
            let text = if w.bgrewrite_failed {
                "rewrite failed: the temp files are removed; the new incr file stays (see the log)".to_string()
            } else if legacy {
                format!(
                    "rewrite done: the parent appended the rest of the rewrite buffer to temp-rewriteaof-bg-{}.aof and renamed it over {}",
                    prev.child_pid.unwrap_or(0),
                    self.engine.srv.config.appendfilename
                )
            } else {
                let gc = if self.engine.srv.config.get("aof-disable-auto-gc").is_some_and(|v| v == "yes") {
                    "history kept (aof-disable-auto-gc yes)"
                } else {
                    "history files deleted"
                };
                format!(
                    "rewrite done: {} renamed to the new base, manifest swapped, {gc}",
                    if prev.child_tmp.is_empty() { "the temp file" } else { &prev.child_tmp }
                )
            };
            self.push(now, "rewrite", text, 0);
        }
        if aof_started && let Some(pid) = w.child_pid {
            let how = if legacy {
                "writes go to aof_buf and to the rewrite buffer until it ends"
            } else {
                "writes go to the new incr file meanwhile"
            };
            self.push(
                now,
                "rewrite",
                format!("rewrite child {pid} started (simulated fork: a copy-on-write snapshot of the dataset); {how}"),
                0,
            );
        }
        let rdb_started = w.rdb_pid.is_some() && w.rdb_pid != prev.rdb_pid;
        let rdb_ended = prev.rdb_pid.is_some() && w.rdb_pid != prev.rdb_pid;
        let dbfilename = self.engine.srv.config.dbfilename.clone();
        if rdb_ended {
            let text = if w.lastbgsave_ok && w.lastsave >= prev.lastsave {
                format!("BGSAVE done: temp-{}.rdb renamed to {dbfilename}", prev.rdb_pid.unwrap_or(0))
            } else {
                "BGSAVE failed or was killed: the temp file is removed".to_string()
            };
            self.push(now, "rdb", text, 0);
        } else if w.rdb_saves > prev.rdb_saves && !rdb_started {
            // SAVE (in the foreground), or a BGSAVE that started and ended within the turn.
            self.push(now, "rdb", format!("{dbfilename} written (SAVE: the whole dataset, in the foreground)"), 0);
        }
        if rdb_started && let Some(pid) = w.rdb_pid {
            self.push(now, "rdb", format!("BGSAVE child {pid} started (simulated fork): writes temp-{pid}.rdb"), 0);
        }
    }

    // ----- connections (the event loop's clients) -----

    /// Copies what entered `aof_buf` since the last look into `appended` (for the page's view).
    /// (And accounts for the buffer's writes: where each byte went, `placement.rs`.)
    fn collect_appended(&mut self) {
        let before = self.appended.len();
        self.log.placements.collect(&mut self.engine, &mut self.appended);
        let new = self.appended.get(before..).unwrap_or_default();
        let writes = count_writes(new);
        self.series.count_writes(writes, new.len() as u64);
    }

    fn before_sleep(&mut self, now: i64) {
        // beforeSleep's fast expire cycle comes before the write: its DELs are collected with
        // the turn's bytes (the engine's before_sleep then finds it ran this millisecond).
        self.engine.active_expire_fast(now);
        crate::cmd::server::diag::broadcast_invalidations(&mut self.engine.srv);
        self.route_messages();
        self.collect_appended();
        if self.engine.srv.aof.incr_path.is_some() {
            self.engine.before_sleep(now);
        } else {
            // No incr file: nothing would ever write the buffer; the page has its copy.
            self.engine.take_aof_buf();
        }
        self.collect_appended();
        self.trace_flush(now);
    }

    fn is_blocked(&self, id: ClientId) -> bool {
        self.engine.client(id).is_some_and(|c| c.blocked.is_some())
    }

    /// After QUIT (or a protocol error) the connection is gone; a new one takes its place.
    fn reconnect_if_closed(&mut self, id: ClientId, force: bool) -> ClientId {
        if force || self.engine.client(id).is_none_or(|c| c.close_after_reply) {
            self.engine.disconnect(id);
            return self.engine.connect();
        }
        id
    }

    /// Runs queued input until both connections are idle or blocked.
    fn settle(&mut self, now: i64) {
        loop {
            self.run_console(now);
            self.run_second(now);
            self.run_wire(now);
            if !self.route_unblocked() {
                break;
            }
        }
    }

    /// Hands the replies of served (or timed-out) blocked commands to their connections, before
    /// a connection resumes its queued input, so that replies keep their order.
    fn route_unblocked(&mut self) -> bool {
        let unblocked = self.engine.take_unblocked();
        let any = !unblocked.is_empty();
        for (id, reply) in unblocked {
            self.deliver(id, &reply);
        }
        any
    }

    /// A reply or a message for a connection, as that connection receives it.
    fn deliver(&mut self, id: ClientId, reply: &Reply) {
        if id == self.console {
            self.console_out.push(reply.render(self.engine.protocol(id)));
        } else if id == self.second {
            self.second_out.push(reply.render(self.engine.protocol(id)));
        } else if id == self.wire {
            reply.encode_proto(&mut self.wire_out, self.engine.protocol(id));
        }
    }

    /// A command's reply, written by `write`, between what the command pushed to its own
    /// connection ([`crate::cmd::pubsub::OwnMessages`]), as serve writes them.
    fn around_own_messages(&mut self, id: ClientId, write: impl FnOnce(&mut Self)) {
        let own = self.engine.take_own_messages(id);
        own.before.iter().for_each(|m| self.deliver(id, m));
        write(self);
        own.after.iter().for_each(|m| self.deliver(id, m));
    }

    /// Pub/sub messages (monitor lines, invalidations) a command sent to the other
    /// connections; a connection CLIENT KILL closed is replaced by a new one.
    fn route_messages(&mut self) {
        if self.engine.srv.pubsub.has_messages() {
            for (id, msg) in self.engine.take_messages() {
                self.deliver(id, &msg);
            }
        }
        if !self.engine.srv.killed.is_empty() {
            for id in self.engine.take_killed() {
                let fresh = self.reconnect_if_closed(id, true);
                if id == self.console {
                    self.console = fresh;
                    self.console_queue.clear();
                } else if id == self.second {
                    self.second = fresh;
                    self.second_queue.clear();
                } else if id == self.wire {
                    self.wire = fresh;
                    self.wire_qbuf.clear();
                }
            }
        }
    }

    fn run_second(&mut self, now: i64) {
        self.route_unblocked();
        while !self.is_blocked(self.second) {
            let Some(line) = self.second_queue.pop_front() else { break };
            let reply = self.engine.execute_line(self.second, &line, now);
            self.trace_command("second", &line, reply.as_ref());
            if let Some(reply) = reply {
                let id = self.second;
                self.around_own_messages(id, |lab| lab.second_out.push(reply.render_line(&line, lab.engine.protocol(id))));
            }
            self.route_messages();
            self.second = self.reconnect_if_closed(self.second, false);
        }
    }

    fn run_console(&mut self, now: i64) {
        self.route_unblocked();
        while !self.is_blocked(self.console) {
            let Some(line) = self.console_queue.pop_front() else { break };
            let reply = self.engine.execute_line(self.console, &line, now);
            self.trace_command("console", &line, reply.as_ref());
            if let Some(reply) = reply {
                // As redis-cli shows it: RESP3 marks once the console sent HELLO 3.
                let id = self.console;
                self.around_own_messages(id, |lab| lab.console_out.push(reply.render_line(&line, lab.engine.protocol(id))));
            }
            self.route_messages();
            self.console = self.reconnect_if_closed(self.console, false);
        }
    }

    fn run_wire(&mut self, now: i64) {
        self.route_unblocked();
        // Taken out of `self` so that the parsed arguments can borrow it while the engine runs.
        let mut qbuf = std::mem::take(&mut self.wire_qbuf);
        let mut args = Vec::new();
        let mut pos = 0;
        while !self.is_blocked(self.wire) {
            // Per command: an AUTH lifts the limits of an unauthenticated connection.
            let limits =
                Limits { max_bulk_len: self.engine.srv.config.proto_max_bulk_len, unauthenticated: self.engine.auth_required(self.wire) };
            match parse_command(qbuf.get(pos..).unwrap_or_default(), &mut args, limits) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    pos += n;
                    if args.is_empty() {
                        continue;
                    }
                    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
                    let reply = self.engine.execute(self.wire, &argv, now);
                    self.trace_command("wire", &machine_trace::argv_text(&argv), reply.as_ref());
                    if let Some(reply) = reply {
                        let id = self.wire;
                        self.around_own_messages(id, |lab| reply.encode_proto(&mut lab.wire_out, lab.engine.protocol(id)));
                    }
                    self.route_messages();
                    let id = self.reconnect_if_closed(self.wire, false);
                    if id != self.wire {
                        // QUIT: whatever followed it was never read by the old connection.
                        self.wire = id;
                        pos = qbuf.len();
                        break;
                    }
                }
                Err(e) => {
                    // Redis replies, then closes the connection: the rest of the buffer is lost.
                    e.reply().encode(&mut self.wire_out);
                    self.wire = self.reconnect_if_closed(self.wire, true);
                    pos = qbuf.len();
                    break;
                }
            }
        }
        drop(args);
        qbuf.drain(..pos);
        self.wire_qbuf = qbuf;
    }

    /// Whether the wire connection still owes a reply: a command blocked (`BLPOP` on an empty
    /// list) or queued behind one. A program that sent one command (`Engine.call`) then knows
    /// that the replies it got belong to earlier commands, and its own comes later.
    pub fn wire_waiting(&self) -> bool {
        self.is_blocked(self.wire) || !self.wire_qbuf.is_empty()
    }
}

/// The write commands in bytes propagated to `aof_buf` (not SELECT, MULTI, EXEC, nor a `#TS:`
/// annotation): those a turn acknowledges. The arguments are borrowed, not copied: this runs
/// for every command (BENCHMARKS.md, "One turn").
fn count_writes(mut bytes: &[u8]) -> u64 {
    let mut args = Vec::new();
    let mut n = 0;
    let limits = Limits { max_bulk_len: i64::MAX / 4, ..Limits::default() };
    while let Some(&first) = bytes.first() {
        if first == b'#' {
            // An annotation line (`#TS:<unix time>`): not a command.
            let end = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
            bytes = bytes.get(end..).unwrap_or_default();
            continue;
        }
        let Ok(Some(used)) = parse_command(bytes, &mut args, limits) else { break };
        if args.first().is_some_and(|c| ![&b"SELECT"[..], b"MULTI", b"EXEC"].iter().any(|f| c.eq_ignore_ascii_case(f))) {
            n += 1;
        }
        bytes = bytes.get(used..).unwrap_or_default();
    }
    n
}

/// What redis-cli prints when nothing listens on the port.
pub const REFUSED: &str = "Could not connect to Redis at 127.0.0.1:6379: Connection refused";
/// What redis-cli prints when the server goes away before it replies (hiredis's EOF error).
pub const CLOSED: &str = "Error: Server closed the connection";

/// redis-cli's line `text` for a typed `line` the server cannot answer; nothing for an empty one.
fn cli_says(line: &str, text: &str) -> Vec<String> {
    if line.trim().is_empty() { vec![] } else { vec![text.to_string()] }
}

/// Starts an engine as redis-server would on `storage`: (engine, fatal lines if it refused,
/// its start-up log).
fn boot(config: Config, storage: Box<dyn Storage>, now: i64) -> (Engine, Option<Vec<String>>, Vec<String>) {
    let fmt = |l: crate::server::LogLine| format!("{} {}", l.level.mark(), l.text);
    // With the AOF off, redis-server loads dump.rdb if there is one (the "AOF vs RDB" restart).
    match Engine::open(config, storage, now) {
        Ok(mut e) => {
            let log = e.take_log().into_iter().map(fmt).collect();
            (e, None, log)
        }
        Err(err) => {
            let mut e = *err.engine;
            let mut log: Vec<String> = e.take_log().into_iter().map(fmt).collect();
            log.extend(err.lines.iter().map(|l| format!("# {l}")));
            // The reason is in the fatal lines, or (a load error) in the last line logged.
            let fatal = if err.lines.is_empty() { log.last().cloned().into_iter().collect() } else { err.lines };
            (e, Some(fatal), log)
        }
    }
}

/// The lab on a fresh simulated machine.
pub fn memory_lab(config: Config, now: i64) -> Lab {
    let mut lab = Lab::start(config, Box::new(MemoryStorage::new()), now);
    lab.durability = MEMORY_DURABILITY.into();
    lab
}

/// A lab on a fresh simulated machine with the AOF on under `policy`, at the tests' clock.
#[cfg(test)]
pub(crate) fn test_lab(policy: &str) -> Lab {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", policy, true).unwrap();
    memory_lab(c, tests::T0)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const T0: i64 = 1_700_000_000_000;

    fn lab(policy: &str) -> Lab {
        test_lab(policy)
    }

    fn get(lab: &mut Lab, key: &str) -> String {
        lab.execute_line(&format!("GET {key}"), T0 + 50_000).join("")
    }

    #[test]
    fn the_writes_counted_are_the_commands_propagated_but_select_multi_exec_and_annotations() {
        let mut bytes = Vec::new();
        for argv in
            [&["SELECT", "0"][..], &["MULTI"], &["SET", "k", "v"], &["INCRBY", "n", "2"], &["EXEC"], &["select", "1"], &["DEL", "k"]]
        {
            crate::resp::encode_command(&mut bytes, argv);
        }
        bytes.extend_from_slice(b"#TS:1700000000\r\n");
        crate::resp::encode_command(&mut bytes, &["RPUSH", "l", "a", "b"]);
        assert_eq!(count_writes(&bytes), 4);
        assert_eq!(count_writes(&bytes[..bytes.len() - 3]), 3, "a command cut short is not counted");
        // As the plots see it: each turn's writes, whatever the policy.
        let mut l = lab("always");
        let before = l.series.last().map_or(0, |s| s.writes);
        l.execute_batch(&["SET a 1".into(), "GET a".into(), "MSET b 2 c 3".into(), "EXPIRE a 100".into()], T0);
        assert_eq!(l.series.last().map_or(0, |s| s.writes) - before, 3, "GET propagates nothing; EXPIRE is one PEXPIREAT");
    }

    #[test]
    fn the_wire_says_when_it_still_owes_a_reply() {
        let mut l = lab("everysec");
        let resp = |argv: &[&str]| {
            let mut out = Vec::new();
            crate::resp::encode_command(&mut out, argv);
            out
        };
        assert_eq!(l.execute_resp(&resp(&["BLPOP", "q", "0"]), T0), b"");
        assert!(l.wire_waiting(), "BLPOP on an empty list blocks the connection");
        assert_eq!(l.execute_resp(&resp(&["GET", "k"]), T0), b"", "queued behind the blocked BLPOP");
        assert!(l.wire_waiting());
        assert_eq!(l.execute_line("RPUSH q x", T0), ["(integer) 1"]);
        // The console served the wire's BLPOP; the GET behind it ran too.
        assert_eq!(l.execute_resp(b"", T0), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n$-1\r\n");
        assert!(!l.wire_waiting());
    }

    #[test]
    fn events_follow_a_cursor() {
        let mut l = lab("always");
        let (_, start) = l.events_since(0);
        assert!(start > 0, "the start-up log is in the stream");
        assert_eq!(l.execute_line("SET k v", T0), ["OK"]);
        let json = l.events_json(start);
        assert!(json.contains(r#""kind":"command","text":"SET k v""#), "{json}");
        assert!(json.contains(r#""kind":"write""#) && json.contains(r#""kind":"fsync""#), "always fsyncs in the turn: {json}");
        let (_, next) = l.events_since(start);
        assert_eq!(l.events_since(next).0.len(), 0);
    }

    #[test]
    fn requirepass_holds_for_both_connections_after_a_restart() {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        c.set("requirepass", "pw", true).unwrap();
        let mut l = memory_lab(c, T0);
        assert_eq!(l.execute_line("SET k v", T0), ["(error) NOAUTH Authentication required."]);
        // The wire connection has an unauthenticated client's limits until it authenticates,
        // and the AUTH lifts them for the command after it in the same bytes.
        assert_eq!(l.execute_resp(b"*11\r\n", T0), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
        let mut auth_then_big = b"AUTH pw\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n".to_vec();
        auth_then_big.extend(std::iter::repeat_n(b'x', 20_000));
        auth_then_big.extend_from_slice(b"\r\n");
        let out = l.execute_resp(&auth_then_big, T0);
        assert!(out.starts_with(b"+OK\r\n$20000\r\nxxx"), "{}", String::from_utf8_lossy(&out[..40.min(out.len())]));
        assert_eq!(l.execute_line("AUTH pw", T0), ["OK"]);
        assert_eq!(l.execute_line("SET k v", T0), ["OK"]);
        // A restart opens new connections: each must authenticate again.
        l.crash("kill", T0 + 10).unwrap();
        assert_eq!(l.execute_line("GET k", T0 + 20), ["(error) NOAUTH Authentication required."]);
        assert_eq!(l.execute_line("AUTH pw", T0 + 20), ["OK"]);
        assert_eq!(l.execute_line("GET k", T0 + 20), ["\"v\""]);
    }

    #[test]
    fn each_connection_runs_as_its_own_acl_user() {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        let mut l = memory_lab(c, T0);
        assert_eq!(l.execute_line("ACL SETUSER reader on >r ~k* +get", T0), ["OK"]);
        assert_eq!(
            l.execute_resp(b"AUTH reader r\r\nGET k\r\nSET k v\r\n", T0),
            b"+OK\r\n$-1\r\n-NOPERM this user has no permissions to run the 'set' command\r\n"
        );
        // The console is still the default user.
        assert_eq!(l.execute_line("ACL WHOAMI", T0), ["\"default\""]);
        assert_eq!(l.execute_line("SET k v", T0), ["OK"]);
        // Even WHOAMI is a command the reader may not run.
        assert_eq!(
            l.execute_resp(b"ACL WHOAMI\r\nGET k\r\n", T0),
            b"-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n$1\r\nv\r\n"
        );
        // The page's settings are the operator's: a password or a rule typed in the console
        // does not lock them out (an internal client, as Redis's own have no user).
        assert_eq!(l.execute_line("ACL SETUSER default -config", T0), ["OK"]);
        assert_eq!(
            l.execute_line("CONFIG SET appendfsync always", T0),
            ["(error) NOPERM this user has no permissions to run the 'config|set' command"]
        );
        assert_eq!(
            l.execute_line("CONFIG SET requirepass secret", T0),
            ["(error) NOPERM this user has no permissions to run the 'config|set' command"]
        );
        assert_eq!(l.execute_line("ACL SETUSER default +config >secret", T0), ["OK"]);
        assert_eq!(l.config_set("appendfsync", "always", T0), Ok("OK".to_string()));
        assert_eq!(l.execute_line("CONFIG GET appendfsync", T0), ["1) \"appendfsync\"\n2) \"always\""]);
        // Users live in memory only: a restart has the default user alone.
        l.crash("kill", T0 + 10).unwrap();
        assert_eq!(l.execute_line("ACL USERS", T0 + 20), ["1) \"default\""]);
    }

    #[test]
    fn power_loss_keeps_what_each_policy_promises() {
        // always: every acknowledged write survives.
        let mut l = lab("always");
        l.execute_line("SET a 1", T0);
        let r = l.crash("power", T0 + 10).unwrap().clone();
        assert!(r.started && r.keys_after == 1 && r.lost_page_cache == 0, "{r:?}");
        assert_eq!(get(&mut l, "a"), "\"1\"");
        // no: nothing was fsynced and the kernel had no time to write back: all is lost.
        let mut l = lab("no");
        l.execute_line("SET a 1", T0);
        let r = l.crash("power", T0 + 10).unwrap().clone();
        assert_eq!((r.keys_before, r.keys_after), (1, 0), "{r:?}");
        assert!(r.lost_page_cache > 0 && r.why.iter().any(|w| w.contains("appendfsync no")));
        // A kill loses nothing written, under any policy.
        let mut l = lab("no");
        l.execute_line("SET a 1", T0);
        let r = l.crash("kill", T0 + 10).unwrap().clone();
        assert_eq!(r.keys_after, 1);
    }

    #[test]
    fn torn_write_refuses_to_start_then_loads_truncated() {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        c.set("appendfsync", "no", true).unwrap();
        c.set("aof-load-truncated", "no", true).unwrap();
        let mut l = memory_lab(c, T0);
        // The first turn's bytes reach the disk by a directory + file sync of the start-up.
        l.execute_line("SET a 1", T0);
        if let Some(m) = l.engine.srv.storage.as_memory() {
            m.set_now(T0 + 60_000); // writeback: "SET a 1" is on disk now
        }
        l.execute_line("SET b 2", T0 + 60_000);
        let r = l.crash("torn", T0 + 60_010).unwrap().clone();
        assert!(!r.started, "{r:?}");
        assert!(l.is_down().is_some_and(|lines| lines.iter().any(|x| x.contains("Unexpected end of file"))), "{:?}", l.is_down());
        assert_eq!(l.execute_line("GET a", T0), [REFUSED]);
        let snap = l.snapshot();
        assert!(snap.contains("\"down\":[") && snap.contains("\"kind\":\"incr\""), "the files keep their kinds while down: {snap}");
        assert!(l.restart(&[("aof-load-truncated".into(), "yes".into())], T0 + 60_020).unwrap());
        assert_eq!(get(&mut l, "a"), "\"1\"");
        assert_eq!(get(&mut l, "b"), "(nil)");
    }

    #[test]
    fn disk_full_is_misconf_and_clearing_recovers() {
        let mut l = lab("everysec");
        l.execute_line("SET a 1", T0);
        l.inject("disk-full", 0, T0).unwrap();
        l.execute_line("SET b 2", T0 + 1);
        let reply = l.execute_line("SET c 3", T0 + 2).join("");
        assert!(reply.starts_with("(error) MISCONF Errors writing to the AOF file: No space left on device"), "{reply}");
        assert!(l.snapshot().contains("\"write_error\":\"No space left on device\""));
        l.inject("clear", 0, T0 + 3).unwrap();
        l.tick(T0 + 1200);
        assert_eq!(l.execute_line("SET c 3", T0 + 1300), ["OK"]);
        let r = l.crash("kill", T0 + 1400).unwrap().clone();
        assert_eq!(r.keys_after, 3, "nothing stored was lost: {r:?}");
    }

    /// Under `always` a failed write or fsync makes Redis exit(1) in flushAppendOnlyFile, before
    /// the turn's replies reach a socket: the console must not show OK for a write never
    /// persisted (console, batch, wire and a tick serving a blocked client).
    #[test]
    fn an_exit_under_always_drops_the_replies_of_its_turn() {
        for fault in ["disk-full", "fsync-error"] {
            let mut l = lab("always");
            assert_eq!(l.execute_line("SET a 1", T0), ["OK"]);
            l.inject(fault, 0, T0).unwrap();
            assert_eq!(l.execute_line("SET b 2", T0 + 1), [CLOSED], "{fault}: no reply from the turn that exited");
            assert!(l.is_down().is_some(), "{fault}");
            assert_eq!(l.execute_line("GET a", T0 + 2), [REFUSED]);

            let mut l = lab("always");
            l.inject(fault, 0, T0).unwrap();
            let lines: Vec<String> = ["GET x", "SET b 2", "PING"].iter().map(|s| s.to_string()).collect();
            let out = l.execute_batch(&lines, T0 + 1);
            assert!(out.iter().all(|(replies, _)| replies == &[CLOSED]), "{fault}: {out:?}");
            assert!(!out[1].1.is_empty(), "what entered aof_buf is still shown");
            assert!(l.is_down().is_some());

            let mut l = lab("always");
            l.inject(fault, 0, T0).unwrap();
            assert_eq!(l.execute_resp(b"*3\r\n$3\r\nSET\r\n$1\r\nw\r\n$1\r\nx\r\n", T0 + 1), b"");
            assert!(l.is_down().is_some());

            // A blocked console client served by a write from the wire in the failing turn.
            let mut l = lab("always");
            assert!(l.execute_line("BLPOP q 0", T0).is_empty());
            l.inject(fault, 0, T0).unwrap();
            assert_eq!(l.execute_resp(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n", T0 + 1), b"");
            assert!(l.tick(T0 + 2).is_empty());
            assert!(l.is_down().is_some());
        }
    }

    #[test]
    fn export_import_round_trip_and_snapshot_views() {
        let mut l = lab("always");
        l.execute_line("RPUSH l a b", T0);
        l.execute_line("BGREWRITEAOF", T0);
        l.tick(T0 + 100);
        l.execute_line("SET after 1", T0 + 200);
        let snap = l.snapshot();
        for want in ["\"kind\":\"base\"", "\"kind\":\"incr\"", "\"kind\":\"manifest\"", "aof_rewrites:1", "\"backend\":\"memory\""] {
            assert!(snap.contains(want), "{want} in {snap}");
        }
        let tar = l.export(T0).unwrap();
        let mut other = lab("always");
        assert!(other.import_archive("export.tar", &tar, T0).unwrap());
        assert_eq!(get(&mut other, "after"), "\"1\"");
        assert!(other.snapshot().contains("\"load_log\":[") && other.events_json(0).contains("\"kind\":\"import\""));
        // A single old-style file.
        let mut third = lab("always");
        let aof = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert!(third.import_archive("appendonly.aof", aof, T0).unwrap());
        assert_eq!(get(&mut third, "k"), "\"v\"");
    }

    /// An import that fails part-way (disk full) leaves the running server on its own files:
    /// it keeps serving and persisting, and a crash restarts on the previous dataset.
    #[test]
    fn a_failed_import_keeps_the_running_dataset() {
        let mut l = lab("always");
        assert_eq!(l.execute_line("SET a 1", T0), ["OK"]);
        let m = l.engine.srv.storage.as_memory().unwrap();
        m.capacity = Some(m.bytes_used() + 200);
        let big: Vec<u8> = (0..50).flat_map(|i| format!("*3\r\n$3\r\nSET\r\n$3\r\nk{i:02}\r\n$1\r\nv\r\n").into_bytes()).collect();
        assert!(l.import_archive("appendonly.aof", &big, T0 + 1).is_err());
        assert!(l.is_down().is_none());
        l.engine.srv.storage.as_memory().unwrap().capacity = None;
        assert_eq!(get(&mut l, "a"), "\"1\"");
        assert_eq!(l.execute_line("SET b 2", T0 + 2), ["OK"]);
        let r = l.crash("power", T0 + 3).unwrap().clone();
        assert!(r.started && r.keys_after == 2, "{r:?}");
        assert_eq!(get(&mut l, "b"), "\"2\"");
    }

    #[test]
    fn a_batch_is_one_turn_with_one_fsync() {
        let mut l = lab("always");
        let (_, start) = l.events_since(0);
        let lines: Vec<String> = ["SET a 1", "GET a", "INCR n", "BLPOP q 0", "GET a"].iter().map(|s| s.to_string()).collect();
        let out = l.execute_batch(&lines, T0);
        assert_eq!(out[0].0, ["OK"]);
        assert_eq!(out[1], (vec!["\"1\"".to_string()], vec![]), "a read appends nothing");
        assert!(String::from_utf8_lossy(&out[2].1).ends_with("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"));
        assert!(out[3].0.is_empty() && out[4].0.is_empty(), "blocked, and the line after it waits");
        let (events, _) = l.events_since(start);
        assert_eq!(events.iter().filter(|e| e.kind == "fsync").count(), 1, "group commit: {events:?}");
        assert_eq!(events.iter().filter(|e| e.kind == "write").count(), 1);
        // Another connection serves the pop; the console's replies come with the next turn.
        assert_eq!(l.execute_resp(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n", T0 + 1), b":1\r\n");
        assert_eq!(l.tick(T0 + 2), ["1) \"q\"\n2) \"x\"", "\"1\""]);
    }

    /// A torn op cuts the last write in half (a truncated tail: loaded without it); a torn
    /// sequence leaves a hole that no aof-load-truncated forgives, and redis-check-aof --fix
    /// cuts the file at the hole.
    #[test]
    fn torn_op_and_torn_sequence() {
        let mut l = lab("no");
        for k in ["a", "b", "c"] {
            assert_eq!(l.execute_line(&format!("SET {k} 1"), T0), ["OK"]);
        }
        let r = l.crash("torn", T0 + 10).unwrap().clone();
        assert!(r.started, "{r:?}");
        assert!(
            r.why[0].starts_with("Torn op: the power went out while the kernel was writing appendonlydir/appendonly.aof.1.incr.aof"),
            "{r:?}"
        );
        assert_eq!((r.keys_before, r.keys_after), (3, 2), "the earlier writes arrived in order, the last one only halfway");
        assert!(r.log.iter().any(|line| line.contains("loaded anyway because aof-load-truncated is enabled")), "{:?}", r.log);

        let mut l = lab("no");
        for k in ["a", "b", "c", "d"] {
            l.execute_line(&format!("SET {k} 1"), T0);
        }
        let r = l.crash("torn-seq", T0 + 10).unwrap().clone();
        assert!(!r.started, "{r:?}");
        assert!(r.why[0].starts_with("Torn sequence:"), "{r:?}");
        assert!(r.log.iter().any(|line| line.contains("Bad file format reading the append only file")), "{:?}", r.log);
        assert!(!l.restart(&[("aof-load-truncated".into(), "yes".into())], T0 + 20).unwrap(), "aof-load-truncated does not forgive a hole");
        let (out, code) = l.check_aof(true);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Successfully truncated AOF"), "{out}");
        assert!(l.restart(&[], T0 + 30).unwrap());
        assert!(l.keys() < 4, "what followed the hole is gone");
    }

    #[test]
    fn a_restart_keeps_the_settings_in_force() {
        let mut l = lab("always");
        assert_eq!(l.execute_line("CONFIG SET appendfsync no", T0), ["OK"]);
        l.execute_line("SET a 1", T0);
        let r = l.crash("power", T0 + 10).unwrap().clone();
        assert_eq!((r.policy, r.keys_after), ("no", 0));
        assert_eq!(l.execute_line("CONFIG GET appendfsync", T0 + 20), ["1) \"appendfsync\"\n2) \"no\""]);
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }
}

#[cfg(test)]
mod child_tests {
    //! The stepped rewrite, BGSAVE and the 6.2 mode as the page sees them (snapshot fields and
    //! events).
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn lab(settings: &[(&str, &str)]) -> Lab {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        c.set("appendfsync", "always", true).unwrap();
        for (k, v) in settings {
            c.set(k, v, true).unwrap();
        }
        memory_lab(c, T0)
    }

    /// With the AOF off, a restart loads `dump.rdb` (and only what the last save held).
    #[test]
    fn a_restart_with_the_aof_off_loads_dump_rdb() {
        let mut c = Config::default();
        c.set("appendonly", "no", true).unwrap();
        let mut l = memory_lab(c, T0);
        assert_eq!(l.execute_line("SET a 1", T0), ["OK"]);
        assert_eq!(l.execute_line("SAVE", T0), ["OK"]);
        assert_eq!(l.execute_line("SET b 2", T0), ["OK"]);
        l.crash("kill", T0 + 10).unwrap();
        assert!(l.load_log.iter().any(|line| line.contains("DB loaded from disk")), "{:?}", l.load_log);
        assert_eq!(l.execute_line("MGET a b", T0 + 20), ["1) \"1\"\n2) (nil)"]);
    }

    fn field<'a>(json: &'a str, obj: &str, key: &str) -> &'a str {
        let start = json.find(&format!("\"{obj}\":{{")).unwrap_or_else(|| panic!("{obj} in {json}"));
        let rest = &json[start..];
        let at = rest.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{obj}.{key} in {rest}"));
        let v = &rest[at + key.len() + 3..];
        &v[..v.find([',', '}']).unwrap_or(v.len())]
    }

    fn file_kind(json: &str, name: &str) -> Option<String> {
        let at = json.find(&format!("\"name\":\"{name}\",\"kind\":\""))?;
        let v = &json[at + name.len() + 18..];
        Some(v[..v.find('"')?].to_string())
    }

    #[test]
    fn a_stepped_rewrite_shows_its_progress_and_keeps_the_writes_made_during_it() {
        let mut l = lab(&[]);
        for i in 0..10 {
            l.execute_line(&format!("SET k{i} {i}"), T0);
        }
        l.set_rewrite_speed(3, T0);
        assert!(l.events_json(0).contains("lab-rewrite-keys-per-tick 3"));
        assert_eq!(l.execute_line("BGREWRITEAOF", T0), ["Background append only file rewriting started"]);
        let s = l.snapshot();
        assert_eq!(field(&s, "rewrite", "in_progress"), "true");
        assert_eq!(field(&s, "rewrite", "keys_total"), "10");
        assert_eq!(field(&s, "rewrite", "keys_processed"), "0");
        assert_eq!(field(&s, "rewrite", "keys_per_tick"), "3");
        assert!(s.contains("\"incr\":\"appendonlydir/appendonly.aof.2.incr.aof\""), "the new incr file takes the writes: {s}");
        let mut t = T0;
        let mut seen = vec![];
        while l.engine.srv.aof.child.is_some() && seen.len() < 20 {
            t += 100;
            l.tick(t);
            // A write while the child runs: the new incr file, and a CoW copy of the value.
            l.execute_line(&format!("SET during{} x", seen.len()), t);
            l.execute_line("APPEND k0 y", t);
            let s = l.snapshot();
            if field(&s, "rewrite", "in_progress") == "true" {
                let tmp = field(&s, "rewrite", "tmp").trim_matches('"').to_string();
                assert_eq!(file_kind(&s, &tmp).as_deref(), Some("temp"), "{s}");
                assert!(field(&s, "rewrite", "tmp_len").parse::<u64>().unwrap() > 0);
                assert!(field(&s, "rewrite", "cow_bytes").parse::<u64>().unwrap() > 0, "k0 was copied on write");
                assert!(s.contains("current_save_keys_processed:"));
            }
            seen.push(field(&s, "rewrite", "keys_processed").parse::<u64>().unwrap());
        }
        assert!(seen.len() >= 3, "several ticks: {seen:?}");
        assert_eq!(seen[0], 3, "{seen:?}");
        let s = l.snapshot();
        assert_eq!(field(&s, "rewrite", "in_progress"), "false");
        let manifest = field(&s, "rewrite", "rewrites");
        assert_eq!(manifest, "1");
        assert!(s.contains("file appendonly.aof.2.base.rdb seq 2 type b\\nfile appendonly.aof.2.incr.aof seq 2 type i"), "{s}");
        assert_eq!(file_kind(&s, "appendonlydir/appendonly.aof.1.incr.aof"), None, "history deleted");
        let ev = l.events_json(0);
        assert!(ev.contains("rewrite child 1001 started"), "{ev}");
        assert!(
            ev.contains("rewrite done: temp-rewriteaof-1001.aof renamed to the new base, manifest swapped, history files deleted"),
            "{ev}"
        );
        let before = l.keys();
        let r = l.crash("power", t + 10).unwrap().clone();
        assert_eq!((r.keys_before, r.keys_after), (before, before), "{r:?}");
        assert!(before >= 13);
        assert_eq!(l.execute_line("GET k0", t + 20).join("").matches('y').count(), seen.len());
    }

    #[test]
    fn bgsave_writes_dump_rdb_and_the_crash_report_compares_with_rdb_only() {
        let mut l = lab(&[("lab-rewrite-keys-per-tick", "1")]);
        let s = l.snapshot();
        assert_eq!(field(&s, "rdb", "exists"), "false");
        assert!(s.contains("\"save_points\":[[3600,1],[300,100],[60,10000]]"), "{s}");
        l.execute_line("SET a 1", T0);
        l.execute_line("SET b 2", T0);
        assert_eq!(l.execute_line("BGSAVE", T0), ["Background saving started"]);
        let s = l.snapshot();
        assert_eq!(field(&s, "rdb", "in_progress"), "true");
        assert_eq!(field(&s, "rdb", "keys_total"), "2");
        let mut t = T0;
        while l.engine.srv.rdb.child.is_some() {
            t += 100;
            l.tick(t);
            assert!(t < T0 + 2000);
        }
        let s = l.snapshot();
        assert_eq!(file_kind(&s, "dump.rdb").as_deref(), Some("rdb"), "{s}");
        assert_eq!(field(&s, "rdb", "exists"), "true");
        assert_eq!(field(&s, "rdb", "ignored_at_start"), "true", "the AOF is on: a restart reads the AOF only");
        assert_eq!(field(&s, "rdb", "changes"), "0");
        assert!(l.events_json(0).contains("BGSAVE done: temp-1001.rdb renamed to dump.rdb"));
        l.execute_line("SET c 3", t);
        l.execute_line("DEL a", t);
        let r = l.crash("power", t + 5000).unwrap().clone();
        assert_eq!((r.keys_before, r.keys_after), (2, 2));
        assert_eq!((r.rdb_keys, r.rdb_changes), (Some(2), 2), "{r:?}");
        assert!(r.rdb_text.contains("the 2 change(s) made since that save would be lost"), "{}", r.rdb_text);
        assert!(l.snapshot().contains("\"rdb_keys\":2"));
        // SAVE in the foreground.
        assert_eq!(l.execute_line("SAVE", t + 6000), ["OK"]);
        assert!(l.events_json(0).contains("dump.rdb written (SAVE"));
        // No dump.rdb at all: an RDB-only server restarts empty.
        let mut l = lab(&[]);
        l.execute_line("SET a 1", T0);
        let r = l.crash("kill", T0 + 10).unwrap().clone();
        assert_eq!(r.rdb_keys, None);
        assert!(r.rdb_text.contains("start empty: all 1 keys lost"), "{}", r.rdb_text);
    }

    #[test]
    fn the_6_2_mode_shows_one_file_the_rewrite_buffer_and_the_rename() {
        let mut l = lab(&[("lab-aof-mode", "6.2"), ("lab-rewrite-keys-per-tick", "2")]);
        for i in 0..8 {
            l.execute_line(&format!("RPUSH l{i} a b"), T0);
        }
        let s = l.snapshot();
        assert!(s.contains("\"mode\":\"6.2\""));
        assert_eq!(file_kind(&s, "appendonly.aof").as_deref(), Some("aof"), "{s}");
        assert!(!s.contains("appendonlydir/"), "no directory, no manifest: {s}");
        assert_eq!(l.execute_line("BGREWRITEAOF", T0), ["Background append only file rewriting started"]);
        let mut t = T0;
        let mut buffered = 0;
        let mut diff = 0;
        let mut phases = vec![];
        for n in 0..30 {
            if l.engine.srv.aof.child.is_none() {
                break;
            }
            l.execute_line(&format!("SET w{n} v"), t);
            let s = l.snapshot();
            buffered = buffered.max(field(&s, "rewrite", "rewrite_buffer_length").parse::<u64>().unwrap());
            diff = diff.max(field(&s, "rewrite", "diff_len").parse::<u64>().unwrap());
            phases.push(field(&s, "rewrite", "phase").trim_matches('"').to_string());
            if let Some(tmp) = l.engine.srv.aof.child.as_ref().map(|c| c.tmp.clone())
                && l.engine.srv.storage.exists(&tmp)
            {
                assert_eq!(file_kind(&s, &tmp).as_deref(), Some("temp"));
            }
            t += 100;
            l.tick(t);
        }
        assert!(buffered > 0, "the writes were held in the rewrite buffer too");
        assert!(diff > buffered, "and handed to the child tick after tick: {diff}");
        assert!(phases.contains(&"snapshot".to_string()) && phases.contains(&"exited".to_string()), "{phases:?}");
        let ev = l.events_json(0);
        assert!(ev.contains("writes go to aof_buf and to the rewrite buffer"), "{ev}");
        assert!(ev.contains("rewrite done: the parent appended the rest of the rewrite buffer to temp-rewriteaof-bg-1001.aof and renamed it over appendonly.aof"), "{ev}");
        let keys = l.keys();
        // A kill (a power loss is another story in 6.2: it never fsyncs the directory, and the
        // simulated disk is strict about directory entries).
        let r = l.crash("kill", t + 10).unwrap().clone();
        assert_eq!(r.keys_after, keys, "every write made during the rewrite is in the new file: {r:?}");
        assert!(keys >= 8 + 3);
        assert!(l.snapshot().contains("\"mode\":\"6.2\""), "the mode is kept across a restart");
        // A power loss: the file's directory entry was never synced (6.2 never fsyncs `dir`).
        let r = l.crash("power", t + 15).unwrap().clone();
        assert!(r.why.iter().any(|w| w.contains("Redis 6.2 never fsyncs its directory")), "{r:?}");
        assert_eq!(r.keys_after, 0);
        l.crash("kill", t + 16).unwrap();
        for i in 0..3 {
            l.execute_line(&format!("SET again{i} v"), t + 17);
        }
        let keys = l.keys();
        // The export is the one file; a 7.0 lab imports it as an old appendonly.aof (upgraded).
        let tar = l.export(t + 20).unwrap();
        let entries = crate::archive::read(&tar).unwrap();
        assert_eq!(entries.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["appendonly.aof"]);
        let mut seven = lab(&[]);
        assert!(seven.import_archive("legacy.tar", &tar, t + 30).unwrap());
        assert_eq!(seven.keys(), keys);
        assert!(seven.snapshot().contains("\"kind\":\"base\""), "upgraded to a multi-part AOF");
    }
}
