//! The write path, traced: what each event-loop turn did to a write, for the page's diagram.
//!
//! A write travels through four places, and the lab watches it cross each border:
//!
//! ```text
//! client ─► execute (the command as typed) ─► propagate (as the AOF records it) ─► aof_buf
//!   (process memory) ─► write() in beforeSleep ─► page cache (per file) ─► fsync ─► disk
//! ```
//!
//! The trace is recorded by *observing* the engine, never by changing it: the lab's turn
//! functions call a hook after the cron part of a turn, after every command and after
//! `beforeSleep`, and each hook compares a handful of figures (`aof_buf`'s length, the incr
//! file and its size, the fsynced offset, the bio job, the postponed write, `aof_delayed_fsync`)
//! with the previous look:
//!
//! * bytes that entered `aof_buf` belong to what ran since (a command, or serverCron's expiry);
//!   they are parsed into records ([`crate::aof::inspect::dump_bytes`]), with their keys;
//! * the incr file grew: that many bytes left the front of `aof_buf` for the file (a `write()`),
//!   at the offset the file had; a new incr file (a rewrite started) got the rest;
//! * the fsynced offset moved under `always`: an fsync now, in the main thread; a bio job
//!   appeared: a background fsync, done `lab-fsync-latency-ms` later; the postponed-write clock
//!   started, or `aof_delayed_fsync` grew (the write went out after 2 s without waiting).
//!
//! Each command with propagated bytes is kept (the last [`RECENT_MAX`]) with *where its bytes
//! are*: an offset in `aof_buf`, then a file and an offset once written. That is how the lab
//! names the acknowledged writes a crash would lose, and the prediction asks about them.

use std::collections::VecDeque;

use super::Lab;
use super::view::Json;
use crate::aof::inspect::{RecordKind, dump_bytes};
use crate::config::AppendFsync;
use crate::reply::Reply;

/// See [`Lab::trace_index`].
pub(super) type TraceIndex = std::collections::HashMap<(Option<String>, u64), (u64, String, Option<u32>)>;

/// Commands kept with the location of their bytes.
pub(super) const RECENT_MAX: usize = 256;
/// Characters of a reply kept for the diagram.
const REPLY_MAX: usize = 80;

/// Where a traced command's bytes are now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// At this offset of `aof_buf` (process memory).
    Buf(u64),
    /// Written into this file at this offset.
    File(String, u64),
    /// Redis 6.2: written into `appendonly.aof`, which a rewrite then replaced (the new file holds
    /// the same data, elsewhere).
    Rewritten,
    /// Dropped from `aof_buf` without a write (the AOF was turned off), or lost in a crash.
    Dropped,
}

/// One propagated record of a traced command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedRecord {
    /// Offset in the command's bytes.
    pub rel: u64,
    pub len: u64,
    /// The record as text (`SET k v PXAT 1795…`).
    pub text: String,
    /// A change to the dataset (not `SELECT`, `MULTI`, `EXEC` or a `#TS:` annotation).
    pub write: bool,
    pub db: Option<u32>,
    pub keys: Vec<String>,
}

/// A command and what it propagated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traced {
    pub seq: u64,
    /// `console`, `wire` or `cron` (serverCron's active expiry).
    pub source: &'static str,
    /// As typed (or as sent on the wire).
    pub typed: String,
    pub reply: String,
    pub time_ms: i64,
    /// What it propagated, parsed into records when a view first asks ([`Traced::records`]).
    /// Shared: a command is kept both in the turn being built and in the recent ones, and a
    /// turn of 50 commands must neither copy nor describe 50 records that no view may read
    /// (BENCHMARKS.md, "One turn").
    pub propagated: std::sync::Arc<Propagated>,
    pub len: u64,
    pub loc: Loc,
}

impl Traced {
    pub fn is_write(&self) -> bool {
        self.records().iter().any(|r| r.write)
    }

    /// The propagated records, with their text and keys (parsed once, on the first call).
    pub fn records(&self) -> &[TracedRecord] {
        self.propagated.records()
    }
}

/// A command's propagated bytes and the db selected before them; the records are parsed from
/// them on demand ([`records_of`]).
#[derive(Debug, Default)]
pub struct Propagated {
    bytes: Box<[u8]>,
    db: Option<u32>,
    parsed: std::sync::OnceLock<Vec<TracedRecord>>,
}

impl Propagated {
    pub fn new(bytes: &[u8], db: Option<u32>) -> Propagated {
        Propagated { bytes: bytes.into(), db, parsed: std::sync::OnceLock::new() }
    }

    pub fn records(&self) -> &[TracedRecord] {
        self.parsed.get_or_init(|| records_of(&self.bytes, self.db))
    }
}

/// Equal when they hold the same bytes after the same db (whether parsed yet or not).
impl PartialEq for Propagated {
    fn eq(&self, other: &Propagated) -> bool {
        self.bytes == other.bytes && self.db == other.db
    }
}
impl Eq for Propagated {}

/// A `write()` seen during a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteStep {
    pub file: String,
    pub offset: u64,
    pub bytes: u64,
    /// `beforeSleep` (the turn's flush), `command` (a flush forced inside a command, e.g.
    /// BGREWRITEAOF) or `cron` (serverCron retrying a postponed or failed write).
    pub at: &'static str,
}

/// What happened about fsync during a turn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsyncStep {
    /// `always` (now, in the main thread, before the replies), `bio` (queued to the background
    /// thread), `postponed` (everysec: the write itself waits for the running fsync),
    /// `delayed` (everysec: written after 2 s without waiting, `aof_delayed_fsync`), or `none`.
    pub kind: &'static str,
    pub file: String,
    pub start_ms: i64,
    pub done_ms: i64,
}

/// One event-loop turn, as the diagram plays it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TurnTrace {
    pub seq: u64,
    pub time_ms: i64,
    pub cron: bool,
    /// The commands run, with what each propagated.
    pub commands: Vec<Traced>,
    pub writes: Vec<WriteStep>,
    pub fsync: FsyncStep,
    /// A background fsync that completed during the turn: (file, when).
    pub bio_done: Option<(String, i64)>,
    /// When the replies left: `fsync` (always), `write` (everysec, no), `aof_buf` (everysec
    /// with the write postponed: the reply leaves while the bytes are in process memory), `none`
    /// (the server exited: no reply of the turn was sent), `` (nothing propagated).
    pub released: &'static str,
}

/// The figures compared from one look to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Obs {
    incr: Option<String>,
    size: u64,
    buf: u64,
    fsync_offset: u64,
    bio: Option<(String, i64)>,
    postponed: i64,
    delayed: u64,
    rewrites: u64,
    selected_db: i64,
}

/// The lab's trace of the write path (a field of [`Lab`]).
#[derive(Clone, Debug, Default)]
pub struct Machine {
    obs: Obs,
    next_seq: u64,
    pub recent: VecDeque<Traced>,
    /// The turn being recorded, and the last one that ran a command or moved bytes.
    building: Option<TurnTrace>,
    pub last: Option<std::sync::Arc<TurnTrace>>,
    /// The last turn that ran a client's command (what the client box shows); usually the
    /// same turn as `last`, shared rather than copied at every turn.
    pub last_command: Option<std::sync::Arc<TurnTrace>>,
    /// The last "Asynchronous AOF fsync is taking too long" line: (time, text).
    pub slow_log: Option<(i64, String)>,
    pub(super) crash: Option<super::predict::CrashCapture>,
    /// The crash previews' parsed file tail (`machine_view.rs`).
    pub(super) tail: super::machine_view::TailCache,
}

impl Lab {
    fn obs_now(&self) -> Obs {
        let aof = &self.engine.srv.aof;
        Obs {
            incr: aof.incr_path.clone(),
            size: aof.last_incr_size,
            buf: self.engine.aof_buf().len() as u64,
            fsync_offset: aof.last_incr_fsync_offset,
            bio: aof.bio_job.as_ref().map(|j| (j.file.clone(), j.done_at_ms)),
            postponed: aof.flush_postponed_start,
            delayed: aof.delayed_fsync,
            rewrites: aof.rewrites,
            selected_db: self.engine.srv.feed.selected_db,
        }
    }

    /// A (re)started server: a new process, a new `aof_buf`; what was traced before is history.
    pub(super) fn trace_reset(&mut self) {
        let storage = self.engine.srv.storage.as_ref();
        for t in &mut self.machine.recent {
            let gone = match &t.loc {
                Loc::Buf(_) => true,
                // Cut off by the crash (or by the loader's truncation): later writes may reuse
                // the offsets.
                Loc::File(name, offset) => storage.len(name).map_or(true, |len| len < offset + t.len),
                _ => false,
            };
            if gone {
                t.loc = Loc::Dropped;
            }
        }
        self.machine.building = None;
        self.machine.obs = self.obs_now();
    }

    /// The start of a turn (console lines, wire bytes or serverCron).
    pub(super) fn trace_turn_start(&mut self, now: i64, cron: bool) {
        // Anything that changed between turns (an action) is not part of this turn.
        self.trace_look("between", "", None, now);
        self.machine.building = None;
        self.machine.next_seq += 1;
        self.machine.building = Some(TurnTrace { seq: self.machine.next_seq, time_ms: now, cron, ..TurnTrace::default() });
    }

    /// After serverCron: a finished background fsync, a retried write, expiry records.
    pub(super) fn trace_cron(&mut self, now: i64) {
        self.trace_look("cron", "serverCron (active expiry)", None, now);
    }

    /// After one command of a connection.
    pub(super) fn trace_command(&mut self, source: &'static str, typed: &str, reply: Option<&Reply>) {
        let now = self.engine.srv.now_ms;
        self.trace_look(source, typed, Some(reply), now);
    }

    /// After `beforeSleep`: the turn's write and fsync.
    pub(super) fn trace_flush(&mut self, now: i64) {
        self.trace_look("beforeSleep", "", None, now);
    }

    /// The end of the turn: when the replies were released.
    pub(super) fn trace_turn_end(&mut self) {
        let Some(mut turn) = self.machine.building.take() else { return };
        let propagated = turn.commands.iter().any(|c| c.len > 0);
        let policy = self.engine.srv.config.appendfsync;
        turn.released = if self.engine.exited().is_some() {
            "none"
        } else if !propagated && turn.writes.is_empty() {
            ""
        } else if turn.fsync.kind == "postponed" || (turn.writes.is_empty() && propagated) {
            "aof_buf"
        } else if policy == AppendFsync::Always && turn.fsync.kind == "always" {
            "fsync"
        } else {
            "write"
        };
        let moved = !turn.commands.is_empty() || !turn.writes.is_empty() || !turn.fsync.kind.is_empty() || turn.bio_done.is_some();
        let turn = std::sync::Arc::new(turn);
        if turn.commands.iter().any(|c| c.source != "cron") {
            self.machine.last_command = Some(turn.clone());
        }
        if moved {
            self.machine.last = Some(turn);
        }
    }

    /// Compares the engine with the last look and records what moved.
    fn trace_look(&mut self, cause: &'static str, typed: &str, reply: Option<Option<&Reply>>, now: i64) {
        let cur = self.obs_now();
        let prev = std::mem::replace(&mut self.machine.obs, cur.clone());
        let at: &'static str = match cause {
            "beforeSleep" => "beforeSleep",
            "cron" | "between" => "cron",
            _ => "command",
        };
        // 1. Bytes that left aof_buf for a file.
        let mut written = 0u64;
        let legacy_swap = self.engine.srv.config.aof_legacy && cur.rewrites != prev.rewrites;
        if legacy_swap {
            // 6.2's rewrite end: aof_buf was flushed into the old appendonly.aof, which the
            // rewritten file then replaced.
            written = prev.buf;
            for t in &mut self.machine.recent {
                if matches!(t.loc, Loc::File(..)) || matches!(t.loc, Loc::Buf(o) if o < written) {
                    t.loc = Loc::Rewritten;
                }
            }
            self.shift_buffer(written, None);
        } else if cur.incr != prev.incr {
            if let Some(old) = prev.incr.clone() {
                let grown = self.engine.srv.storage.len(&old).unwrap_or(prev.size).saturating_sub(prev.size);
                if grown > 0 {
                    written += self.trace_write(&old, prev.size, grown, at);
                }
            }
            if let Some(new) = cur.incr.clone().filter(|_| cur.size > 0) {
                written += self.trace_write(&new, 0, cur.size, at);
            }
        } else if cur.size > prev.size
            && let Some(file) = cur.incr.clone()
        {
            written += self.trace_write(&file, prev.size, cur.size - prev.size, at);
        } else if cur.size < prev.size
            && let Some(file) = cur.incr.clone()
        {
            // Truncated (a short write undone): what was past the end is gone from the file.
            for t in &mut self.machine.recent {
                if matches!(&t.loc, Loc::File(f, o) if *f == file && *o >= cur.size) {
                    t.loc = Loc::Dropped;
                }
            }
        }
        // 2. Bytes that entered aof_buf since.
        let kept = prev.buf.saturating_sub(written);
        if cur.buf < kept {
            // The buffer was emptied without a write (no incr file: the AOF is off).
            for t in &mut self.machine.recent {
                if matches!(t.loc, Loc::Buf(_)) {
                    t.loc = Loc::Dropped;
                }
            }
        }
        let appended = cur.buf.saturating_sub(kept.min(cur.buf));
        let mut traced = None;
        if appended > 0 || reply.is_some() {
            let start = cur.buf - appended;
            let bytes = self.engine.aof_buf().get(start as usize..).unwrap_or_default();
            let db = u32::try_from(prev.selected_db).ok();
            self.machine.next_seq += 1;
            // As the connection that sent it sees it (RESP3 marks after its HELLO 3).
            let resp = match cause {
                "console" => self.engine.protocol(self.console),
                "wire" => self.engine.protocol(self.wire),
                _ => crate::reply::RESP2,
            };
            let reply_text = reply.flatten().map(|r| reply_head(r, resp)).unwrap_or_default();
            let t = Traced {
                seq: self.machine.next_seq,
                source: if cause == "between" { "cron" } else { cause_source(cause) },
                typed: if typed.is_empty() { "serverCron".into() } else { typed.to_string() },
                reply: reply_text,
                time_ms: now,
                propagated: std::sync::Arc::new(Propagated::new(bytes, db)),
                len: appended,
                loc: Loc::Buf(start),
            };
            traced = Some(t);
        }
        if let Some(t) = traced {
            if t.len > 0 {
                self.machine.recent.push_back(t.clone());
                while self.machine.recent.len() > RECENT_MAX {
                    self.machine.recent.pop_front();
                }
            }
            if let Some(turn) = self.machine.building.as_mut()
                && (reply.is_some() || t.len > 0)
            {
                turn.commands.push(t);
            }
        }
        // 3. fsync, the bio thread, the postponed write.
        let policy = self.engine.srv.config.appendfsync;
        let mut step: Option<FsyncStep> = None;
        let mut bio_done = None;
        if let Some((file, done)) = &cur.bio
            && cur.bio != prev.bio
        {
            step = Some(FsyncStep { kind: "bio", file: file.clone(), start_ms: now, done_ms: *done });
        }
        if let Some((file, _)) = &prev.bio
            && cur.bio.is_none()
        {
            bio_done = Some((file.clone(), now));
        }
        if step.is_none() && cur.fsync_offset != prev.fsync_offset && cur.incr == prev.incr && cur.fsync_offset > prev.fsync_offset {
            let file = cur.incr.clone().unwrap_or_default();
            step = Some(match policy {
                AppendFsync::Always => FsyncStep { kind: "always", file, start_ms: now, done_ms: now },
                // A zero-latency background fsync is queued and done within the flush.
                _ => {
                    bio_done = Some((file.clone(), now));
                    FsyncStep { kind: "bio", file, start_ms: now, done_ms: now }
                }
            });
        }
        if cur.delayed > prev.delayed {
            let file = cur.incr.clone().unwrap_or_default();
            step = Some(FsyncStep { kind: "delayed", file, start_ms: cur.postponed.max(prev.postponed) * 1000, done_ms: now });
            let line = self.engine.srv.log_lines().filter(|l| l.text.starts_with("Asynchronous AOF fsync is taking too long")).last();
            if let Some(l) = line {
                self.machine.slow_log = Some((l.time_ms, format!("{} {}", l.level.mark(), l.text)));
            }
        } else if cur.postponed != 0 && prev.postponed == 0 {
            let file = cur.incr.clone().unwrap_or_default();
            step = Some(FsyncStep { kind: "postponed", file, start_ms: cur.postponed * 1000, done_ms: 0 });
        }
        if let Some(turn) = self.machine.building.as_mut() {
            if let Some(s) = step {
                // The turn's main fsync step wins over a bio job queued by a write in cron.
                if turn.fsync.kind.is_empty() || at == "beforeSleep" {
                    turn.fsync = s;
                }
            }
            if bio_done.is_some() {
                turn.bio_done = bio_done;
            }
        }
    }

    /// `bytes` left the front of aof_buf for `file` at `offset`: the traced commands there now
    /// live in the file. Returns `bytes`.
    fn trace_write(&mut self, file: &str, offset: u64, bytes: u64, at: &'static str) -> u64 {
        self.shift_buffer(bytes, Some((file, offset)));
        if let Some(turn) = self.machine.building.as_mut() {
            turn.writes.push(WriteStep { file: file.to_string(), offset, bytes, at });
        }
        bytes
    }

    fn shift_buffer(&mut self, bytes: u64, to: Option<(&str, u64)>) {
        // Bytes leave aof_buf from its front in the order they entered it, so the commands
        // still there are the last ones traced: walk back from the newest and stop at the first
        // that left (the walk costs the commands in the buffer, not all RECENT_MAX).
        for t in self.machine.recent.iter_mut().rev() {
            let Loc::Buf(o) = t.loc else { break };
            t.loc = if o < bytes {
                match to {
                    Some((file, offset)) => Loc::File(file.to_string(), offset + o),
                    None => Loc::Rewritten,
                }
            } else {
                Loc::Buf(o - bytes)
            };
        }
    }

    /// Where each traced record's bytes start (a file and offset, or `None` and an offset in
    /// aof_buf) → (the command's number, as typed, the record's db): built once per look-up
    /// pass, so that naming thousands of lost writes stays linear.
    pub(super) fn trace_index(&self) -> TraceIndex {
        let mut index = TraceIndex::new();
        for t in &self.machine.recent {
            let (file, base) = match &t.loc {
                Loc::Buf(o) => (None, *o),
                Loc::File(f, o) => (Some(f.clone()), *o),
                _ => continue,
            };
            for r in t.records() {
                index.insert((file.clone(), base + r.rel), (t.seq, t.typed.clone(), r.db));
            }
        }
        index
    }
}

fn cause_source(cause: &'static str) -> &'static str {
    match cause {
        "console" | "wire" => cause,
        _ => "cron",
    }
}

/// The start of a reply as redis-cli shows it: formatting stops after [`REPLY_MAX`] characters,
/// so that a huge reply costs nothing more here.
fn reply_head(reply: &Reply, resp: u8) -> String {
    struct Head(String, usize);
    impl std::fmt::Write for Head {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if self.1 >= REPLY_MAX {
                    return Err(std::fmt::Error);
                }
                self.0.push(c);
                self.1 += 1;
            }
            Ok(())
        }
    }
    let mut head = Head(String::new(), 0);
    if reply.write_tty(&mut head, resp).is_err() {
        head.0.pop();
        head.0.push('…');
    }
    head.0
}

/// A RESP command's text, as `inspect` prints it.
pub fn argv_text(argv: &[&[u8]]) -> String {
    let owned: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    crate::aof::inspect::Record { offset: 0, len: 0, kind: RecordKind::Command(owned), cut: false }.describe()
}

/// The keys a propagated command touches (the command table's key positions), with its db.
pub fn keys_of(argv: &[Vec<u8>]) -> Vec<String> {
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let Some(cmd) = crate::cmd::lookup_command(&refs) else { return vec![] };
    cmd.key_positions(refs.len()).filter_map(|p| refs.get(p)).map(|k| crate::resp::repr(k)).collect()
}

/// Splits propagated bytes into records, following `SELECT` for the db of each.
pub fn records_of(bytes: &[u8], db: Option<u32>) -> Vec<TracedRecord> {
    records_of_parsed(&dump_bytes(bytes), db)
}

/// [`records_of`] for records already parsed (the crash previews parse a file's tail once).
pub fn records_of_parsed(records: &[crate::aof::inspect::Record], mut db: Option<u32>) -> Vec<TracedRecord> {
    records
        .iter()
        .map(|r| {
            let text = r.describe();
            let (write, keys) = match &r.kind {
                RecordKind::Command(argv) => {
                    let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
                    if name == b"select" {
                        db = argv.get(1).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse().ok());
                    }
                    let control = matches!(name.as_slice(), b"select" | b"multi" | b"exec");
                    (!control, if control { vec![] } else { keys_of(argv) })
                }
                _ => (false, vec![]),
            };
            TracedRecord { rel: r.offset, len: r.len, text, write, db, keys }
        })
        .collect()
}

pub(super) fn turn_json(t: &TurnTrace) -> String {
    let mut o = Json::object();
    o.num("seq", t.seq);
    o.num("t", t.time_ms.max(0) as u64);
    o.bool("cron", t.cron);
    let commands: Vec<String> = t.commands.iter().map(|c| traced_json(c).end()).collect();
    o.raw("commands", &format!("[{}]", commands.join(",")));
    let writes: Vec<String> = t
        .writes
        .iter()
        .map(|w| {
            let mut x = Json::object();
            x.str("file", &w.file);
            x.num("offset", w.offset);
            x.num("bytes", w.bytes);
            x.str("at", w.at);
            x.end()
        })
        .collect();
    o.raw("writes", &format!("[{}]", writes.join(",")));
    let mut f = Json::object();
    f.str("kind", if t.fsync.kind.is_empty() { "none" } else { t.fsync.kind });
    f.str("file", &t.fsync.file);
    f.num("start_ms", t.fsync.start_ms.max(0) as u64);
    f.num("done_ms", t.fsync.done_ms.max(0) as u64);
    o.raw("fsync", &f.end());
    match &t.bio_done {
        Some((file, at)) => o.raw("bio_done", &format!("{{\"file\":{},\"t\":{}}}", super::json_string(file), at.max(&0))),
        None => o.raw("bio_done", "null"),
    }
    o.str("released", t.released);
    o.end()
}

/// A traced command: `{seq, source, typed, reply, t, bytes, records: [{text, len, write, db,
/// keys}], file, offset}` (`file` null while in aof_buf). The caller may add fields.
pub(super) fn traced_json(t: &Traced) -> Json {
    let mut o = Json::object();
    o.num("seq", t.seq);
    o.str("source", t.source);
    o.str("typed", &t.typed);
    o.str("reply", &t.reply);
    o.num("t", t.time_ms.max(0) as u64);
    o.num("bytes", t.len);
    let records: Vec<String> = t
        .records()
        .iter()
        .map(|r| {
            let mut x = Json::object();
            x.str("text", &r.text);
            x.num("len", r.len);
            x.bool("write", r.write);
            match r.db {
                Some(d) => x.num("db", u64::from(d)),
                None => x.raw("db", "null"),
            }
            x.strs("keys", &r.keys);
            x.end()
        })
        .collect();
    o.raw("records", &format!("[{}]", records.join(",")));
    match &t.loc {
        Loc::File(f, off) => {
            o.str("file", f);
            o.num("offset", *off);
        }
        Loc::Buf(off) => {
            o.raw("file", "null");
            o.num("offset", *off);
        }
        _ => {
            o.raw("file", "null");
            o.raw("offset", "null");
        }
    }
    o
}
