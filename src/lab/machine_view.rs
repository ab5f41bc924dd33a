//! The machine, for the write-path diagram: the snapshot's `machine` section, and what a crash
//! would lose at this instant ("lost if it crashed now"), per crash kind.
//!
//! ## What a crash loses, computed from the layers
//!
//! Each file has three layers: bytes still in `aof_buf` (process memory, the current incr
//! file's future tail), bytes in the kernel's page cache, and bytes on disk (its durable
//! prefix: what an fsync or the kernel's writeback copied, under a directory entry that is on
//! disk too). A crash keeps:
//!
//! | kind    | survives                                                                   |
//! |---------|----------------------------------------------------------------------------|
//! | `kill`  | every byte written (the page cache is the kernel's); `aof_buf` is lost      |
//! | `power` | each file's durable prefix, under a durable name                           |
//! | `torn`  | as `power`, plus what a torn op lets through (`torn_op_keep` of the machine) |
//!
//! A file of the AOF grows by whole flushes and is fsynced whole, so its durable prefix ends
//! on a record boundary: every record past it is lost, and so is everything in `aof_buf`.
//! Those bytes are read back and split into records by [`crate::aof::inspect::dump_bytes`];
//! a record cut by a torn write, or a `MULTI` left without its `EXEC`, is what the loader drops
//! (`aof-load-truncated yes`) or refuses to start on (`no`). When directory entries decide
//! more than byte counts do (a file of the manifest, or the manifest itself, not durable under
//! its name; Redis 6.2's rename that is never followed by a directory fsync; the AOF being
//! turned on), the figures are bytes only and `exact` is false.
//!
//! The native tests (`tests/machine_lost_if.rs`) prove the figures: over seeded workloads,
//! every policy and every kind, the restarted keyspace is the replay of every acknowledged
//! write but exactly the predicted ones, and the byte counts are the crash report's.

use super::Lab;
use super::machine_trace::{Loc, TraceIndex, Traced, TracedRecord, records_of_parsed, traced_json, turn_json};
use super::view::Json;
use crate::server::AofState;
use crate::storage::join;
use crate::storage::memory::FileLayers;

/// Lost writes listed in the snapshot (the count is always complete).
const WRITES_SHOWN: usize = 50;
/// Recent acknowledged writes shown on the diagram (and asked about by a prediction).
pub(super) const RECENT_SHOWN: usize = 5;

/// An acknowledged write a crash would lose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostWrite {
    /// The record as the AOF holds it (`SET k v PXAT 1795…`).
    pub text: String,
    pub keys: Vec<String>,
    pub db: Option<u32>,
    /// `aof_buf`, `page_cache` or `torn_tail` (its bytes reached the disk, but cut or in a
    /// `MULTI` whose `EXEC` did not).
    pub place: &'static str,
    /// The file and offset of its bytes; `None` and an offset in `aof_buf` for `aof_buf`.
    pub file: Option<String>,
    pub offset: u64,
    pub len: u64,
    /// The command that propagated it, when the trace still has it: its number and as typed.
    pub seq: Option<u64>,
    pub typed: Option<String>,
}

/// One file's part in a crash: bytes `[from, len)` lost, of which `[from, torn_to)` reached the
/// disk torn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostFile {
    pub name: String,
    pub from: u64,
    pub torn_to: u64,
    pub len: u64,
}

/// What a crash of one kind would lose now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostIf {
    pub kind: String,
    /// The writes are exactly those a restart would miss (else bytes only, and `why_inexact`).
    pub exact: bool,
    pub why_inexact: Option<String>,
    pub aof_buf_bytes: u64,
    pub page_cache_bytes: u64,
    pub writes: Vec<LostWrite>,
    /// How many writes are lost: `writes.len()`, unless only the last ones were described
    /// ([`Lab::lost_if_last`]).
    pub writes_total: usize,
    /// Why redis-server would refuse to start on what survived.
    pub refused: Option<String>,
    pub files: Vec<LostFile>,
}

impl LostIf {
    pub fn bytes(&self) -> u64 {
        self.aof_buf_bytes + self.page_cache_bytes
    }

    fn inexact(&mut self, why: String) {
        if self.exact {
            self.exact = false;
            self.why_inexact = Some(why);
        }
    }
}

impl Lab {
    /// The files' layers (page cache vs disk, and whether each name is on disk), from the
    /// simulated machine (over whatever backend); `None` where there is none.
    pub fn file_layers(&self) -> Option<Vec<FileLayers>> {
        self.engine.srv.storage.machine_layers()
    }

    /// The simulated kernel's writeback delay (ms).
    pub(super) fn writeback_ms(&mut self) -> Option<i64> {
        self.engine.srv.storage.as_machine().and_then(|m| *m.writeback_ms())
    }

    /// `lab-fsync-latency-ms`: how long the simulated bio thread's fsync takes (a slow disk);
    /// kept across restarts. Under everysec a write that finds the previous fsync still running
    /// is postponed, and after 2 s written anyway (`aof_delayed_fsync`).
    pub fn set_fsync_latency(&mut self, ms: u64, now: i64) {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX).min(60_000);
        self.engine.srv.config.lab_fsync_latency_ms = ms;
        self.engine.srv.aof.fsync_latency_ms = ms;
        self.config.lab_fsync_latency_ms = ms;
        self.push(now, "fsync", format!("fsync latency: a background fsync now takes {ms} ms (lab-fsync-latency-ms {ms})"), 0);
    }

    /// The files a restart would load, in order (base, incr files; 6.2's one file).
    fn loaded_files(&self) -> Vec<String> {
        let srv = &self.engine.srv;
        if srv.config.aof_legacy {
            return vec![srv.config.appendfilename.clone()];
        }
        srv.aof.manifest.load_order().map(|f| join(&srv.config.appenddirname, &f.file_name)).collect()
    }

    /// What a crash of `kind` (`kill`, `power`, `torn`) would lose if it happened now: bytes,
    /// and the acknowledged writes with where their bytes are.
    pub fn lost_if(&mut self, kind: &str) -> LostIf {
        self.lost_if_last(kind, usize::MAX)
    }

    /// [`Lab::lost_if`] with only the last `shown` writes described (`writes_total` counts them
    /// all): what the diagram shows after every turn. Describing every unsynced record (tens of
    /// thousands under `appendfsync no`) made each view cost O(unsynced bytes).
    pub fn lost_if_last(&mut self, kind: &str, shown: usize) -> LostIf {
        let mut out = self.lost_if_limited(kind, shown);
        out.writes_total = out.writes_total.max(out.writes.len());
        let skip = out.writes.len().saturating_sub(shown);
        out.writes.drain(..skip);
        out
    }

    fn lost_if_limited(&mut self, kind: &str, shown: usize) -> LostIf {
        let mut out = LostIf {
            kind: kind.to_string(),
            exact: true,
            why_inexact: None,
            aof_buf_bytes: 0,
            page_cache_bytes: 0,
            writes: vec![],
            writes_total: 0,
            refused: None,
            files: vec![],
        };
        if let Some(lines) = &self.down {
            out.refused = Some(format!("redis-server is not running: {}", lines.first().cloned().unwrap_or_default()));
            out.inexact("redis-server is down: there is nothing in memory to lose".into());
            return out;
        }
        let index = self.trace_index();
        let buf = self.engine.aof_buf().to_vec();
        out.aof_buf_bytes = buf.len() as u64;
        out.writes = self.buf_writes(&buf, &index);
        match self.engine.srv.aof_state {
            AofState::On => {}
            AofState::WaitRewrite => out.inexact(
                "the AOF is being turned on: until its first rewrite ends, a restart loads the files of the manifest in place (or none)"
                    .into(),
            ),
            AofState::Off => out.inexact("appendonly no: a restart loads dump.rdb, not the AOF".into()),
        }
        if kind == "kill" {
            return out;
        }
        let Some(layers) = self.file_layers() else {
            out.inexact("this storage does not tell which bytes are on disk".into());
            return out;
        };
        out.page_cache_bytes = layers.iter().map(|f| f.len.saturating_sub(f.durable_len)).sum();
        // A torn sequence leaves zeros before bytes that did arrive: no truncation rule
        // forgives that, so the start is refused and the keys are gone until --fix.
        if kind == "torn-seq"
            && let Some(file) = self.engine.srv.storage.as_machine().and_then(|m| m.torn_target())
        {
            let base = file.rsplit('/').next().unwrap_or(&file).to_string();
            out.refused = Some(format!(
                "Bad file format reading the append only file {base}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
            ));
            out.inexact(format!(
                "a torn sequence leaves a hole in {base}: Redis refuses the file whatever aof-load-truncated says, and what --fix keeps depends on where the hole falls"
            ));
            return out;
        }
        // A torn op: the machine says which file it tears and how much of its tail arrives.
        let torn = if kind == "torn" { self.engine.srv.storage.as_machine().and_then(|m| m.torn_op_keep()) } else { None };
        let (torn_file, keep) = torn.unwrap_or_default();
        out.page_cache_bytes -= keep.min(out.page_cache_bytes);
        let layer = |name: &str| layers.iter().find(|f| f.name == name);
        if !self.engine.srv.config.aof_legacy {
            let manifest = join(&self.config.appenddirname, &format!("{}.manifest", self.config.appendfilename));
            if !layer(&manifest).is_some_and(|m| m.durable_name && m.durable_len == m.len) {
                out.inexact(format!("{manifest} is not on disk as it is now: which files a restart reads depends on the directory"));
            }
        }
        let files = self.loaded_files();
        let last = files.len().saturating_sub(1);
        let mut aof_writes = std::mem::take(&mut out.writes);
        for (i, name) in files.iter().enumerate() {
            let Some(l) = layer(name) else {
                out.inexact(format!("{name} is named by the manifest but missing"));
                continue;
            };
            if !l.durable_name {
                out.inexact(format!(
                    "the directory entry of {name} is not on disk (never fsynced{}): a power loss takes the name, whatever the bytes",
                    if self.engine.srv.config.aof_legacy { ": Redis 6.2 never fsyncs its directory" } else { "" }
                ));
                continue;
            }
            if l.durable_len >= l.len {
                continue;
            }
            let cut = l.durable_len + if *name == torn_file { keep } else { 0 };
            out.files.push(LostFile { name: name.clone(), from: l.durable_len, torn_to: cut, len: l.len });
            // Only the last `shown` writes overall are described: aof_buf's come after the
            // files', and a later file's after an earlier one's.
            let later: usize = aof_writes.len();
            match self.file_loss(name, l, cut, kind == "torn", i == last, &index, shown.saturating_sub(later)) {
                Ok((writes, total, refused)) => {
                    out.writes_total += total;
                    out.writes.extend(writes);
                    if out.refused.is_none() {
                        out.refused = refused;
                    }
                }
                Err(why) => out.inexact(why),
            }
        }
        out.writes_total += aof_writes.len();
        out.writes.append(&mut aof_writes);
        out
    }

    /// The records of one file the crash loses: those not whole before `cut` (the disk's end
    /// of the file), and a `MULTI` left open at `cut`; with the start refused, why.
    #[allow(clippy::too_many_arguments)] // one file's part of lost_if: its inputs, spelled out
    fn file_loss(
        &mut self,
        name: &str,
        l: &FileLayers,
        cut: u64,
        torn: bool,
        last: bool,
        index: &TraceIndex,
        shown: usize,
    ) -> Result<(Vec<LostWrite>, usize, Option<String>), String> {
        let storage = self.engine.srv.storage.as_mut();
        let mut at_boundary = vec![0u8; 1];
        let n = storage.read_at(name, l.durable_len, &mut at_boundary).unwrap_or(0);
        // The durable prefix ends on a record (whole flushes); parse from there, or from the
        // start of the file if it does not.
        let start = if n == 1 && matches!(at_boundary[0], b'*' | b'#') { l.durable_len } else { 0 };
        let records = self.machine.tail.records(storage, name, start, l.len)?;
        if let Some(bad) = records.iter().find(|r| matches!(r.kind, crate::aof::inspect::RecordKind::Invalid(_))) {
            return Err(format!("{name} holds bytes that do not parse at offset {}", start + bad.offset));
        }
        let cut_rel = cut - start;
        // Where the loader stops: the last record whole before the cut, outside an open MULTI.
        let mut open_multi: Option<u64> = None;
        let mut partial = false;
        for r in records.iter() {
            let end = r.offset + r.len;
            if end <= cut_rel {
                if let crate::aof::inspect::RecordKind::Command(argv) = &r.kind {
                    match argv.first().map(|a| a.to_ascii_lowercase()).as_deref() {
                        Some(b"multi") => open_multi = Some(r.offset),
                        Some(b"exec") => open_multi = None,
                        _ => {}
                    }
                }
            } else if r.offset < cut_rel && matches!(r.kind, crate::aof::inspect::RecordKind::Command(_)) {
                partial = true;
            }
        }
        let keep_to = open_multi.unwrap_or(cut_rel);
        let mut refused = None;
        if partial || open_multi.is_some() {
            let file = name.rsplit('/').next().unwrap_or(name);
            if !last {
                refused = Some(format!(
                    "{file} would end inside a command, and it is not the last file: \"Fatal error: the truncated file is not the last file\""
                ));
            } else if !self.engine.srv.config.aof_load_truncated {
                refused = Some(format!(
                    "{file} would end inside a {}, and aof-load-truncated is no: \"Unexpected end of file reading the append only file {file}\"",
                    if partial { "command" } else { "MULTI/EXEC transaction" }
                ));
            }
        }
        // The lost records (writes the loader would not reach): all counted, the last `shown`
        // described (each record's db follows the SELECTs before it, so all are walked).
        let db = index.get(&(Some(name.to_string()), start)).and_then(|t| t.2);
        let lost_at: Vec<usize> =
            records.iter().enumerate().filter(|(_, r)| r.offset + r.len > keep_to && is_write_record(r)).map(|(i, _)| i).collect();
        let total = lost_at.len();
        let first_shown = lost_at.get(total.saturating_sub(shown)).copied().unwrap_or(records.len());
        let db = db_before(&records[..first_shown], db);
        let mut lost = Vec::new();
        for (rec, parsed) in records_of_parsed(&records[first_shown..], db).into_iter().zip(records[first_shown..].iter()) {
            if !rec.write || parsed.offset + parsed.len <= keep_to {
                continue;
            }
            // Bytes that reached the disk yet are dropped by the loader: the torn tail.
            let place = if torn && parsed.offset < cut_rel { "torn_tail" } else { "page_cache" };
            lost.push(lost_write(rec, Some(name), start + parsed.offset, place, index));
        }
        Ok((lost, total, refused))
    }

    /// The write records of `aof_buf`. Their db: the traced command's, else (no `SELECT` in
    /// the buffer) the feed's current one.
    fn buf_writes(&self, buf: &[u8], index: &TraceIndex) -> Vec<LostWrite> {
        let parsed = crate::aof::inspect::dump_bytes(buf);
        let is_select = |r: &crate::aof::inspect::Record| matches!(&r.kind, crate::aof::inspect::RecordKind::Command(argv) if argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"select")));
        let db = match index.get(&(None, 0)) {
            Some(t) => t.2,
            None if !parsed.iter().any(is_select) => u32::try_from(self.engine.srv.feed.selected_db).ok(),
            None => None,
        };
        records_of_parsed(&parsed, db)
            .into_iter()
            .filter(|r| r.write)
            .map(|r| {
                let offset = r.rel;
                lost_write(r, None, offset, "aof_buf", index)
            })
            .collect()
    }

    /// Where a traced command's bytes are now: `aof_buf`, `page_cache`, `disk`, `rewritten`
    /// (6.2: in the rewritten file), `base` (its file left the manifest: the rewrite's base
    /// holds it) or `dropped`.
    pub(super) fn place_of(&self, t: &Traced, layers: Option<&[FileLayers]>) -> &'static str {
        match &t.loc {
            Loc::Buf(_) => "aof_buf",
            Loc::Rewritten => "rewritten",
            Loc::Dropped => "dropped",
            Loc::File(name, offset) => match layers.and_then(|ls| ls.iter().find(|f| f.name == *name)) {
                None => "base",
                Some(_) if !self.loaded_files().contains(name) => "base",
                Some(f) if f.durable_name && f.durable_len >= offset + t.len => "disk",
                Some(_) => "page_cache",
            },
        }
    }

    /// The snapshot's `machine` section: the live state of the write path (`policy`,
    /// `fsync_latency_ms`, `aof_buf`, `incr`, `bio` in flight, `postponed_since`,
    /// `delayed_fsync`, `slow_log`, `writeback_ms`, `files`), `turn` (the last turn that moved
    /// bytes or ran a command: its commands as typed and propagated, its writes, its fsync,
    /// when the replies left) and `command_turn` (the last one with a client's command), the
    /// `recent` writes and where their bytes are, and `lost_if` per crash kind.
    pub(super) fn machine_json(&mut self) -> String {
        let layers = self.file_layers();
        let srv = &self.engine.srv;
        let aof = &srv.aof;
        let mut j = Json::object();
        j.num("now", srv.now_ms.max(0) as u64);
        j.str("policy", srv.config.appendfsync.name());
        j.num("fsync_latency_ms", aof.fsync_latency_ms.max(0) as u64);
        j.bool("no_appendfsync_on_rewrite", srv.config.no_appendfsync_on_rewrite);
        j.bool("child", srv.child_active());
        j.num("aof_buf", self.engine.aof_buf().len() as u64);
        j.str("incr", aof.incr_path.as_deref().unwrap_or(""));
        j.num("incr_size", aof.last_incr_size);
        j.num("fsynced_offset", aof.last_incr_fsync_offset);
        match &aof.bio_job {
            Some(b) => {
                let mut o = Json::object();
                o.str("file", &b.file);
                o.num("done_ms", b.done_at_ms.max(0) as u64);
                o.num("start_ms", (b.done_at_ms - aof.fsync_latency_ms).max(0) as u64);
                j.raw("bio", &o.end());
            }
            None => j.raw("bio", "null"),
        }
        j.num("postponed_since", (aof.flush_postponed_start * 1000).max(0) as u64);
        j.num("delayed_fsync", aof.delayed_fsync);
        match &self.machine.slow_log {
            Some((t, line)) => j.raw("slow_log", &format!("{{\"t\":{},\"text\":{}}}", t.max(&0), super::json_string(line))),
            None => j.raw("slow_log", "null"),
        }
        let files = self.machine_files(layers.as_deref());
        match self.writeback_ms() {
            Some(w) => j.num("writeback_ms", w.max(0) as u64),
            None => j.raw("writeback_ms", "null"),
        }
        j.raw("files", &files);
        j.raw("turn", &self.machine.last.as_deref().map_or("null".to_string(), turn_json));
        j.raw("command_turn", &self.machine.last_command.as_deref().map_or("null".to_string(), turn_json));
        let recent: Vec<String> = self
            .machine
            .recent
            .iter()
            .rev()
            .filter(|t| t.is_write())
            .take(RECENT_SHOWN)
            .map(|t| {
                let mut o = traced_json(t);
                o.str("at", self.place_of(t, layers.as_deref()));
                o.end()
            })
            .collect();
        j.raw("recent", &format!("[{}]", recent.join(",")));
        let kinds: Vec<LostIf> = ["kill", "power", "torn", "torn-seq"].iter().map(|k| self.lost_if_last(k, WRITES_SHOWN)).collect();
        let mut lost = Json::object();
        // A torn sequence is never exact (where its hole falls decides what --fix keeps).
        lost.bool("exact", kinds.iter().filter(|k| k.kind != "torn-seq").all(|k| k.exact));
        for k in &kinds {
            lost.raw(&k.kind, &lost_json(k, WRITES_SHOWN));
        }
        j.raw("lost_if", &lost.end());
        j.end()
    }

    /// The AOF's files as the diagram draws them: `[{name, role, len, durable_len, durable_name}]`,
    /// `role` one of `base`, `incr`, `current` (the incr file written now), `temp` (the
    /// rewrite's), `aof` (6.2's one file); `durable_len` null where nothing tells.
    fn machine_files(&self, layers: Option<&[FileLayers]>) -> String {
        let srv = &self.engine.srv;
        let mut names: Vec<(String, &str)> = Vec::new();
        let dir = &srv.config.appenddirname;
        if srv.config.aof_legacy {
            names.push((srv.config.appendfilename.clone(), "aof"));
        } else {
            let m = &srv.aof.manifest;
            names.extend(m.base.iter().map(|b| (join(dir, &b.file_name), "base")));
            names.extend(m.incr.iter().map(|i| (join(dir, &i.file_name), "incr")));
            if let Some(incr) = &srv.aof.incr_path
                && !names.iter().any(|(n, _)| n == incr)
            {
                names.push((incr.clone(), "incr"));
            }
        }
        if let Some(c) = &srv.aof.child {
            names.push((c.tmp.clone(), "temp"));
        }
        let items: Vec<String> = names
            .iter()
            .map(|(name, role)| {
                let role = if Some(name) == srv.aof.incr_path.as_ref() { "current" } else { role };
                let mut o = Json::object();
                o.str("name", name);
                o.str("role", role);
                match layers.and_then(|ls| ls.iter().find(|f| f.name == *name)) {
                    Some(f) => {
                        o.num("len", f.len);
                        o.num("durable_len", f.durable_len);
                        o.bool("durable_name", f.durable_name);
                    }
                    None => {
                        o.num("len", srv.storage.len(name).unwrap_or(0));
                        o.raw("durable_len", "null");
                        o.raw("durable_name", "null");
                    }
                }
                o.end()
            })
            .collect();
        format!("[{}]", items.join(","))
    }
}

fn lost_write(r: TracedRecord, file: Option<&str>, offset: u64, place: &'static str, index: &TraceIndex) -> LostWrite {
    let traced = index.get(&(file.map(str::to_string), offset));
    LostWrite {
        text: r.text,
        keys: r.keys,
        db: traced.and_then(|t| t.2).or(r.db),
        place,
        file: file.map(str::to_string),
        offset,
        len: r.len,
        seq: traced.map(|t| t.0),
        typed: traced.map(|t| t.1.clone()),
    }
}

/// `{exact, why_inexact, bytes, aof_buf_bytes, page_cache_bytes, writes: [{text, keys, db,
/// where, file, offset, len, seq, typed}], writes_total, refused, files: [{name, from, torn_to,
/// len}]}`; `writes` holds the last `shown` of them.
pub(super) fn lost_json(l: &LostIf, shown: usize) -> String {
    let mut o = Json::object();
    o.bool("exact", l.exact);
    match &l.why_inexact {
        Some(w) => o.str("why_inexact", w),
        None => o.raw("why_inexact", "null"),
    }
    o.num("bytes", l.bytes());
    o.num("aof_buf_bytes", l.aof_buf_bytes);
    o.num("page_cache_bytes", l.page_cache_bytes);
    let skip = l.writes.len().saturating_sub(shown);
    let writes: Vec<String> = l.writes[skip..].iter().map(lost_write_json).collect();
    o.raw("writes", &format!("[{}]", writes.join(",")));
    o.num("writes_total", l.writes_total.max(l.writes.len()) as u64);
    match &l.refused {
        Some(r) => o.str("refused", r),
        None => o.raw("refused", "null"),
    }
    let files: Vec<String> = l
        .files
        .iter()
        .map(|f| {
            let mut x = Json::object();
            x.str("name", &f.name);
            x.num("from", f.from);
            x.num("torn_to", f.torn_to);
            x.num("len", f.len);
            x.end()
        })
        .collect();
    o.raw("files", &format!("[{}]", files.join(",")));
    o.end()
}

fn lost_write_json(w: &LostWrite) -> String {
    let mut x = Json::object();
    x.str("text", &w.text);
    x.strs("keys", &w.keys);
    match w.db {
        Some(d) => x.num("db", u64::from(d)),
        None => x.raw("db", "null"),
    }
    x.str("where", w.place);
    match &w.file {
        Some(f) => x.str("file", f),
        None => x.raw("file", "null"),
    }
    x.num("offset", w.offset);
    x.num("len", w.len);
    match w.seq {
        Some(s) => x.num("seq", s),
        None => x.raw("seq", "null"),
    }
    match &w.typed {
        Some(t) => x.str("typed", t),
        None => x.raw("typed", "null"),
    }
    x.end()
}

/// A record that changes the dataset (what [`records_of_parsed`] marks `write`): a command
/// other than `SELECT`, `MULTI` and `EXEC`.
fn is_write_record(r: &crate::aof::inspect::Record) -> bool {
    match &r.kind {
        crate::aof::inspect::RecordKind::Command(argv) => {
            let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
            !matches!(name.as_slice(), b"select" | b"multi" | b"exec")
        }
        _ => false,
    }
}

/// The db after `records` (their `SELECT`s), starting from `db`.
fn db_before(records: &[crate::aof::inspect::Record], mut db: Option<u32>) -> Option<u32> {
    for r in records {
        if let crate::aof::inspect::RecordKind::Command(argv) = &r.kind
            && argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"select"))
        {
            db = argv.get(1).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse().ok());
        }
    }
    db
}

/// The records of a file's unsynced tail, kept between views: the diagram asks after every turn
/// what a crash would lose, and re-parsing the whole tail each time (30 s of writes under
/// `appendfsync no`) made a view cost O(unsynced bytes). Only the bytes appended since are
/// parsed, when the cached part still reads the same (its last bytes are compared); anything
/// else (another file, another start, a truncation, a rewritten tail) parses from scratch.
#[derive(Clone, Debug, Default)]
pub struct TailCache {
    name: String,
    start: u64,
    /// Bytes from `start` parsed into `records` (whole records).
    parsed: u64,
    /// The last bytes of the parsed part, as read then.
    check: Vec<u8>,
    records: std::sync::Arc<Vec<crate::aof::inspect::Record>>,
}

impl TailCache {
    const CHECK: u64 = 64;

    fn read(storage: &mut dyn crate::storage::Storage, name: &str, from: u64, to: u64) -> Result<Vec<u8>, String> {
        let mut bytes = vec![0u8; to.saturating_sub(from) as usize];
        let mut done = 0;
        while done < bytes.len() {
            match storage.read_at(name, from + done as u64, &mut bytes[done..]) {
                Ok(0) | Err(_) => return Err(format!("{name} could not be read")),
                Ok(k) => done += k,
            }
        }
        Ok(bytes)
    }

    /// The records of `name` from `start` to `len` (offsets relative to `start`).
    fn records(
        &mut self,
        storage: &mut dyn crate::storage::Storage,
        name: &str,
        start: u64,
        len: u64,
    ) -> Result<std::sync::Arc<Vec<crate::aof::inspect::Record>>, String> {
        let end = start + self.parsed;
        let reusable = self.name == name && self.start == start && len >= end && self.parsed > 0 && {
            let from = end - (self.check.len() as u64);
            Self::read(storage, name, from, end).is_ok_and(|b| b == self.check)
        };
        if !reusable {
            *self = TailCache { name: name.to_string(), start, ..TailCache::default() };
        }
        let from = start + self.parsed;
        if len > from {
            let bytes = Self::read(storage, name, from, len)?;
            let mut more = crate::aof::inspect::dump_bytes(&bytes);
            let whole = more.iter().all(|r| !matches!(r.kind, crate::aof::inspect::RecordKind::Invalid(_)));
            let base = self.parsed;
            for r in &mut more {
                r.offset += base;
            }
            let records = std::sync::Arc::make_mut(&mut self.records);
            records.extend(more);
            if whole {
                self.parsed = len - start;
                let keep = Self::CHECK.min(self.parsed);
                self.check = bytes[bytes.len().saturating_sub(keep as usize)..].to_vec();
                if (self.check.len() as u64) < keep {
                    self.check = Self::read(storage, name, len - keep, len)?;
                }
            } else {
                // A tail that does not parse is reported, never kept: parse it again next time.
                let out = std::sync::Arc::new(std::mem::take(records));
                *self = TailCache::default();
                return Ok(out);
            }
        }
        Ok(self.records.clone())
    }
}
