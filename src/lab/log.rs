//! The log view's index: every file of the AOF directory as records, by pages.
//!
//! The page shows a file record by record (offset, length, the RESP framing, the command, the
//! `SELECT` / `MULTI` / `EXEC` / `#TS:` marks, an RDB part as its structure, a bad tail where
//! `redis-check-aof` cuts it) but never receives a whole file: a 1 000 000-command AOF is 60 MB.
//! So each file has a **record index** here, the start offset of every record, and the page asks
//! for `rows(file, first, count)`; each row is decoded from the file's bytes when asked
//! ([`crate::aof::inspect`], the formatter of `aof-lab inspect`).
//!
//! The index is built by the same walk as `inspect` (the RDB reader, then redis-check-aof's
//! RESP scanner), and kept up to date **incrementally**: the lab appends to its incr file every
//! turn, so a refresh reads only the bytes after the last point where the scan was sound
//! (`safe`: `ok_up_to`, outside any MULTI) and walks them. Records before `safe` never change
//! while the file only grows. A file that shrank, or whose first bytes or the bytes just before
//! `safe` changed (replaced, renamed over), or any file after a restart or a rewrite (`epoch`),
//! is walked again from scratch, and its `gen` changes so that the page drops its cached rows.
//!
//! ```text
//! starts: [0, 9, 27, …]   committed records (the RDB part's items, RESP records before safe)
//! pending: […]            whole records after safe: inside a MULTI with no EXEC yet
//! tail:   end..len        bytes that are not a whole record (truncated, damaged)
//! ```

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::collections::BTreeMap;

use super::Lab;
use super::placement::{LineAt, Placements};
use super::view::file_kind;
use crate::aof::inspect::{self, Cut, RdbPart, RecordKind, json_str};
use crate::storage::Storage;

/// Bytes of a record read to describe it in a row; longer records are described from this
/// much of their start.
const ROW_READ: u64 = 64 * 1024;
/// Bytes of a record the detail pane shows.
const DETAIL_READ: u64 = 1024 * 1024;
/// Bytes compared to tell a grown file from a replaced one.
const PRINT: u64 = 64;
/// Characters of framing in a row.
const ROW_FRAMING: usize = 240;

/// Reads `from..to` of a file (fewer bytes if it is shorter). A range this host cannot address
/// (past 4 GB on wasm32) is an error, never a shorter read.
pub(crate) fn read_range(src: &mut dyn Storage, name: &str, from: u64, to: u64) -> Result<Vec<u8>, String> {
    let want = to.saturating_sub(from);
    let want = usize::try_from(want).map_err(|_| format!("{name}: {want} bytes are more than this host can hold in memory"))?;
    let mut buf = vec![0u8; want];
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        let n = src.read_at(name, from + done as u64, rest).map_err(|e| format!("{name}: {e}"))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Whether a file of this kind may start with an RDB part, as redis-check-aof decides (a base
/// or a single file may, an incr or history file may not).
pub(crate) fn preamble_allowed(name: &str, kind: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    !matches!(kind, "incr" | "history") && !base.contains(".incr")
}

/// One file's index.
#[derive(Clone, Debug, Default)]
struct FileIndex {
    kind: &'static str,
    preamble: bool,
    walked: bool,
    /// Bytes walked so far (the file's length at the last refresh).
    len: u64,
    generation: u64,
    head: Vec<u8>,
    /// The bytes just before `safe`.
    mark: Vec<u8>,
    rdb: Option<RdbPart>,
    rdb_incomplete: bool,
    starts: Vec<u64>,
    safe: u64,
    pending: Vec<u64>,
    end: u64,
    cut: Option<Cut>,
}

/// One row's place in a file.
struct RowAt {
    start: u64,
    end: u64,
    tail: bool,
}

impl FileIndex {
    fn rows(&self) -> usize {
        self.starts.len() + self.pending.len() + usize::from(self.end < self.len)
    }

    fn row(&self, i: usize) -> Option<RowAt> {
        let n = self.starts.len();
        let m = n + self.pending.len();
        let start = if i < n {
            *self.starts.get(i)?
        } else if i < m {
            *self.pending.get(i - n)?
        } else if i == m && self.end < self.len {
            return Some(RowAt { start: self.end, end: self.len, tail: true });
        } else {
            return None;
        };
        let end = self.starts.get(i + 1).or_else(|| self.pending.get((i + 1).wrapping_sub(n))).copied().unwrap_or(self.end);
        Some(RowAt { start, end, tail: false })
    }

    /// The row holding byte `offset` (the last row for the file's end).
    fn find(&self, offset: u64) -> Option<usize> {
        let rows = self.rows();
        if rows == 0 || offset > self.len {
            return None;
        }
        let all = |i: usize| self.row(i).map_or(u64::MAX, |r| r.start);
        // Binary search over the row starts (starts, then pending, then the tail).
        let (mut lo, mut hi) = (0usize, rows);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if all(mid) <= offset { lo = mid } else { hi = mid }
        }
        Some(lo)
    }

    fn set_mark(&mut self, src: &mut dyn Storage, name: &str) -> Result<(), String> {
        self.head = read_range(src, name, 0, PRINT.min(self.len))?;
        self.mark = read_range(src, name, self.safe.saturating_sub(PRINT), self.safe)?;
        Ok(())
    }

    /// Whether the bytes walked are still there (the file grew or stayed as it was).
    fn same_prefix(&self, src: &mut dyn Storage, name: &str, len: u64) -> Result<bool, String> {
        if len < self.len {
            return Ok(false);
        }
        let head = read_range(src, name, 0, PRINT.min(self.len))?;
        let mark = read_range(src, name, self.safe.saturating_sub(PRINT), self.safe)?;
        Ok(head == self.head && mark == self.mark)
    }

    /// Walks the whole file again.
    fn rebuild(&mut self, src: &mut dyn Storage, name: &str, len: u64) -> Result<(), String> {
        let data = read_range(src, name, 0, len)?;
        let len = data.len() as u64;
        let o = inspect::outline(&data, self.preamble);
        let rdb_records = o.rdb.as_ref().map_or(0, |p| p.records);
        self.rdb_incomplete = o.rdb_incomplete;
        let rdb_failed = o.rdb.as_ref().is_some_and(|p| p.error.is_some());
        // Records before ok_up_to are sound for good; an RDB error stops the walk there.
        let ok = match &o.cut {
            Some(c) if c.fixable => c.offset,
            _ => len,
        };
        let mut starts = o.starts;
        let keep = if rdb_failed { starts.len() } else { starts.partition_point(|&s| s < ok).max(rdb_records) };
        self.pending = starts.split_off(keep);
        self.starts = starts;
        self.safe = if rdb_failed { o.end } else { ok };
        self.end = o.end;
        self.hold_open_line(&data, 0);
        self.rdb = o.rdb;
        self.cut = o.cut;
        self.len = len;
        self.set_mark(src, name)
    }

    /// An annotation at the very end with no newline yet is whole for the check (it reads what
    /// is there) but may go on when the file grows: it stays pending, `safe` before it.
    /// `data` holds the file's bytes from offset `base`.
    fn hold_open_line(&mut self, data: &[u8], base: u64) {
        let Some(&last) = self.starts.last() else { return };
        let open = self.pending.is_empty()
            && self.end == base + data.len() as u64
            && usize::try_from(last.saturating_sub(base)).ok().and_then(|at| data.get(at)) == Some(&b'#')
            && data.last() != Some(&b'\n')
            && self.rdb.as_ref().is_none_or(|p| self.starts.len() > p.records);
        if open {
            self.starts.pop();
            self.pending.push(last);
            self.safe = last;
        }
    }

    /// Walks the bytes after `safe` (the file grew).
    fn extend(&mut self, src: &mut dyn Storage, name: &str, len: u64) -> Result<(), String> {
        let bytes = read_range(src, name, self.safe, len)?;
        let len = self.safe + bytes.len() as u64;
        let mut found = Vec::new();
        let r = inspect::outline_resp(&bytes, self.safe, &mut found);
        let keep = found.partition_point(|&s| s < r.ok_up_to);
        self.pending = found.split_off(keep);
        self.starts.append(&mut found);
        self.safe = r.ok_up_to;
        self.end = r.end.max(self.safe);
        let base = len - bytes.len() as u64;
        self.hold_open_line(&bytes, base);
        self.cut = (r.ok_up_to < len).then(|| Cut { offset: r.ok_up_to, reason: r.reason.unwrap_or_default(), fixable: true });
        self.len = len;
        self.set_mark(src, name)
    }

    /// Brings the index up to the file's current bytes; `rebuild`: walk it again regardless.
    fn refresh(&mut self, src: &mut dyn Storage, name: &str, rebuild: bool) -> Result<(), String> {
        let len = src.len(name).map_err(|e| format!("{name}: {e}"))?;
        // Whether a file starts with an RDB part is decided on its first 8 bytes.
        let could_be_rdb = b"REDIS".starts_with(self.head.get(..5).unwrap_or(&self.head)) || self.head.starts_with(b"REDIS");
        let preamble_undecided = self.preamble && self.len < 8 && len >= 8 && could_be_rdb;
        if !rebuild && !preamble_undecided && self.walked && self.same_prefix(src, name, len)? {
            let rdb_stopped = self.rdb.as_ref().is_some_and(|p| p.error.is_some());
            if len == self.len {
                return Ok(());
            }
            if self.rdb_incomplete {
                // The RDB part is still being written (a rewrite's temp file): read it again.
                return self.rebuild(src, name, len);
            }
            if rdb_stopped {
                // redis-check-aof stops at a damaged RDB part: only the tail grows.
                self.len = len;
                return Ok(());
            }
            return self.extend(src, name, len);
        }
        self.generation += 1;
        self.walked = true;
        self.rebuild(src, name, len)
    }

    /// Decodes row `i`: (the row, its record, the bytes read).
    fn decode(&self, src: &mut dyn Storage, name: &str, i: usize, cap: u64) -> Result<Option<(RowAt, RecordKind, Vec<u8>)>, String> {
        let Some(at) = self.row(i) else { return Ok(None) };
        let bytes = read_range(src, name, at.start, at.end.min(at.start + cap))?;
        let whole = (bytes.len() as u64) == at.end - at.start;
        let kind = if at.tail {
            RecordKind::Invalid(inspect::tail_reason(self.cut.as_ref(), self.rdb_incomplete))
        } else {
            let rdb = self.rdb.as_ref().filter(|p| i < p.records);
            let crc = rdb.and_then(|p| p.crc).filter(|c| c.0 == at.start).map(|c| c.1);
            if whole {
                inspect::decode(&bytes, rdb.map(|p| p.version), crc)
            } else {
                RecordKind::Invalid(format!("{} (a record of {} bytes)", head_of(&bytes), at.end - at.start))
            }
        };
        Ok(Some((at, kind, bytes)))
    }

    fn is_rdb_row(&self, i: usize) -> bool {
        self.rdb.as_ref().is_some_and(|p| i < p.records)
    }
}

/// What a long record starts with, for its row: the command name and argument count.
fn head_of(prefix: &[u8]) -> String {
    let text = String::from_utf8_lossy(prefix.get(..64).unwrap_or(prefix)).into_owned();
    let mut lines = text.split("\r\n");
    let argc = lines.next().and_then(|l| l.strip_prefix('*')).unwrap_or("?").to_string();
    let name = lines.nth(1).unwrap_or("?").to_string();
    format!("{name} … ({argc} arguments)")
}

/// The record indexes of a set of files (the lab's directory, or dropped files).
#[derive(Clone, Debug, Default)]
pub struct LogIndex {
    files: BTreeMap<String, FileIndex>,
    epoch: u64,
}

impl LogIndex {
    /// Brings the index to `files` (name and kind): new files are indexed, gone ones dropped,
    /// the others refreshed. A new `epoch` (a restart, a rewrite) walks every file again.
    pub fn sync(&mut self, src: &mut dyn Storage, files: &[(String, &'static str)], epoch: u64) {
        let rebuild = epoch != self.epoch;
        self.epoch = epoch;
        self.files.retain(|name, _| files.iter().any(|(n, _)| n == name));
        for (name, kind) in files {
            let f = self.files.entry(name.clone()).or_default();
            let preamble = preamble_allowed(name, kind);
            let changed = f.kind != *kind || f.preamble != preamble;
            f.kind = kind;
            f.preamble = preamble;
            if f.refresh(src, name, rebuild || changed).is_err() {
                self.files.remove(name);
            }
        }
    }

    /// Refreshes one file (before its rows are read).
    pub fn refresh(&mut self, src: &mut dyn Storage, name: &str) -> Result<(), String> {
        let f = self.files.get_mut(name).ok_or_else(|| format!("{name}: no such file in the log view"))?;
        f.refresh(src, name, false)
    }

    /// `[{name, kind, len, records, stable, generation, rdb_records, cut: {offset, reason,
    /// fixable} | null}]`. Rows below `stable` never change until `generation` does.
    pub fn files_json(&self) -> String {
        let items: Vec<String> = self.files.iter().map(|(name, f)| file_json(name, f)).collect();
        format!("[{}]", items.join(","))
    }

    /// Rows `first..first+count` of a file (refreshed first): `{file, generation, records, stable,
    /// first, rows: [{i, offset, len, kind, text, framing, mark, mark_text, cut}]}`.
    pub fn rows_json(&mut self, src: &mut dyn Storage, name: &str, first: usize, count: usize) -> Result<String, String> {
        self.refresh(src, name)?;
        let f = self.files.get(name).ok_or_else(|| format!("{name}: no such file"))?;
        let mut rows = Vec::with_capacity(count);
        for i in first..first.saturating_add(count).min(f.rows()) {
            let Some((at, kind, bytes)) = f.decode(src, name, i, ROW_READ)? else { break };
            let rec = inspect::Record {
                offset: at.start,
                len: at.end - at.start,
                kind,
                cut: f.cut.as_ref().is_some_and(|c| at.start >= c.offset),
            };
            let rdb = f.is_rdb_row(i) && !at.tail;
            rows.push(row_json(i, &rec, &inspect::framing(&bytes, rdb, ROW_FRAMING)));
        }
        Ok(format!(
            "{{\"file\":{},\"generation\":{},\"records\":{},\"stable\":{},\"first\":{first},\"rows\":[{}]}}",
            json_str(name),
            f.generation,
            f.rows(),
            f.starts.len(),
            rows.join(",")
        ))
    }

    /// Row `i` in full for the detail pane: the row's fields, the record's own fields
    /// (`argv`, an RDB item's fields), `framing` (whole, up to 1 MiB of bytes), `hex` (a dump
    /// of the first 4 KiB) and `shown` (bytes shown, less than `len` for a longer record).
    pub fn record_json(&mut self, src: &mut dyn Storage, name: &str, i: usize) -> Result<String, String> {
        self.refresh(src, name)?;
        let f = self.files.get(name).ok_or_else(|| format!("{name}: no such file"))?;
        let (at, kind, bytes) = f.decode(src, name, i, DETAIL_READ)?.ok_or_else(|| format!("{name}: no record {i}"))?;
        let rdb = f.is_rdb_row(i) && !at.tail;
        let members = inspect::kind_json(&kind);
        let rec =
            inspect::Record { offset: at.start, len: at.end - at.start, kind, cut: f.cut.as_ref().is_some_and(|c| at.start >= c.offset) };
        let (mark, mark_text) = rec.mark().map_or(("null".to_string(), "null".to_string()), |(m, t)| (json_str(m), json_str(&t)));
        Ok(format!(
            "{{\"file\":{},\"i\":{i},\"offset\":{},\"len\":{},\"text\":{},\"mark\":{mark},\"mark_text\":{mark_text},\"cut\":{},{members},\"rdb\":{rdb},\"framing\":{},\"hex\":{},\"shown\":{}}}",
            json_str(name),
            rec.offset,
            rec.len,
            json_str(&rec.describe()),
            rec.cut,
            json_str(&inspect::framing(&bytes, rdb, usize::MAX)),
            json_str(&hex_dump(bytes.get(..4096).unwrap_or(&bytes), at.start)),
            bytes.len()
        ))
    }

    /// The row holding byte `offset` of a file.
    pub fn find(&mut self, src: &mut dyn Storage, name: &str, offset: u64) -> Option<usize> {
        self.refresh(src, name).ok()?;
        self.files.get(name)?.find(offset)
    }

    /// The record a command's bytes (`offset..offset + len`) are about: the first one that is
    /// not a `SELECT` or `#TS:` the feed put in front of the command (or the first one).
    pub fn find_command(&mut self, src: &mut dyn Storage, name: &str, offset: u64, len: u64) -> Option<usize> {
        let first = self.find(src, name, offset)?;
        let f = self.files.get(name)?;
        let mut i = first;
        while let Ok(Some((at, kind, _))) = f.decode(src, name, i, ROW_READ) {
            if at.start >= offset + len.max(1) {
                break;
            }
            let rec = inspect::Record { offset: at.start, len: at.end - at.start, kind, cut: false };
            if !matches!(rec.mark(), Some(("select" | "ts", _))) {
                return Some(i);
            }
            i += 1;
        }
        Some(first)
    }

    /// (records, the check's cut offset) of a file, for tests and callers.
    pub fn summary(&self, name: &str) -> Option<(usize, Option<u64>)> {
        self.files.get(name).map(|f| (f.rows(), f.cut.as_ref().map(|c| c.offset)))
    }

    /// Every record start of a file (rows in order, the tail included).
    pub fn starts(&self, name: &str) -> Vec<u64> {
        let Some(f) = self.files.get(name) else { return vec![] };
        (0..f.rows()).filter_map(|i| f.row(i)).map(|r| r.start).collect()
    }

    pub fn generation(&self, name: &str) -> Option<u64> {
        self.files.get(name).map(|f| f.generation)
    }
}

fn file_json(name: &str, f: &FileIndex) -> String {
    let cut = match &f.cut {
        Some(c) => format!("{{\"offset\":{},\"reason\":{},\"fixable\":{}}}", c.offset, json_str(&c.reason), c.fixable),
        None => "null".into(),
    };
    format!(
        "{{\"name\":{},\"kind\":{},\"len\":{},\"records\":{},\"stable\":{},\"generation\":{},\"rdb_records\":{},\"cut\":{cut}}}",
        json_str(name),
        json_str(f.kind),
        f.len,
        f.rows(),
        f.starts.len(),
        f.generation,
        f.rdb.as_ref().map_or(0, |p| p.records)
    )
}

fn row_json(i: usize, r: &inspect::Record, framing: &str) -> String {
    let kind = match &r.kind {
        RecordKind::Command(_) => "command",
        RecordKind::Annotation(_) => "annotation",
        RecordKind::Rdb { .. } => "rdb",
        RecordKind::RdbItem(_) => "rdb-item",
        RecordKind::Invalid(_) => "invalid",
    };
    let text: String = r.describe().chars().take(400).collect();
    let (mark, mark_text) = r.mark().map_or(("null".to_string(), "null".to_string()), |(m, t)| (json_str(m), json_str(&t)));
    format!(
        "{{\"i\":{i},\"offset\":{},\"len\":{},\"kind\":\"{kind}\",\"text\":{},\"framing\":{},\"mark\":{mark},\"mark_text\":{mark_text},\"cut\":{}}}",
        r.offset,
        r.len,
        json_str(&text),
        json_str(framing),
        r.cut
    )
}

/// `hexdump -C` lines of `bytes`, numbered from `offset`.
fn hex_dump(bytes: &[u8], offset: u64) -> String {
    let mut s = String::new();
    for (n, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
        s.push_str(&format!("{:08x}  {:<47}  |{text}|\n", offset + (n * 16) as u64, hex.join(" ")));
    }
    s
}

/// The lab's side of the log view: the index of its directory, where the commands' bytes went.
#[derive(Clone, Debug, Default)]
pub struct LabLog {
    index: LogIndex,
    pub(super) placements: Placements,
    /// The last batch's lines: where each one's bytes went.
    last_at: Vec<LineAt>,
    restarts: u64,
}

impl LabLog {
    /// A copy for a timeline checkpoint: the record index is a cache of the files (rebuilt on
    /// first use, a 1 000 000-record file holds 8 MB of offsets), the rest is state.
    pub(super) fn without_index(&self) -> LabLog {
        LabLog { index: LogIndex::default(), placements: self.placements.clone(), last_at: self.last_at.clone(), restarts: self.restarts }
    }

    /// A (re)started engine: new files may hide behind old names.
    pub(super) fn attach(&mut self, engine: &mut crate::Engine) {
        self.restarts += 1;
        self.placements.attach(engine);
    }

    /// The batch's lines, placed after its flush.
    pub(super) fn place(&mut self, mut lines: Vec<LineAt>) {
        for l in &mut lines {
            if l.len > 0 {
                l.at = self.placements.locate(l.stream);
            }
        }
        self.last_at = lines;
    }
}

impl Lab {
    /// The files the log view shows (every file of `dir` but the manifest) with their kinds.
    fn log_file_list(&mut self) -> Vec<(String, &'static str)> {
        let (manifest, _) = self.manifest();
        let legacy = self.engine.srv.config.aof_legacy;
        let dbfilename = self.engine.srv.config.dbfilename.clone();
        let appendfilename = self.config.appendfilename.clone();
        let names = self.engine.srv.storage.list(None).unwrap_or_default();
        names
            .into_iter()
            .map(|n| {
                let kind = file_kind(&n, &manifest, legacy, &dbfilename, &appendfilename);
                (n, kind)
            })
            .filter(|(_, k)| *k != "manifest")
            .collect()
    }

    /// Changes whenever files may have been replaced under the same name: a restart, a rewrite
    /// starting or ending (6.2 renames over its file), a BGSAVE (dump.rdb).
    fn log_epoch(&self) -> u64 {
        let aof = &self.engine.srv.aof;
        (self.log.restarts << 40) ^ (aof.rewrites << 2) ^ u64::from(aof.child.is_some()) ^ (self.engine.srv.rdb.saves << 20)
    }

    fn log_sync(&mut self) {
        let files = self.log_file_list();
        let epoch = self.log_epoch();
        self.log.index.sync(self.engine.srv.storage.as_mut(), &files, epoch);
    }

    /// The log view's files: `[{name, kind, len, records, stable, generation, rdb_records,
    /// cut}]` (see [`LogIndex::files_json`]).
    pub fn log_files(&mut self) -> String {
        self.log_sync();
        self.log.index.files_json()
    }

    /// Rows `first..first+count` of a file (see [`LogIndex::rows_json`]).
    pub fn log_rows(&mut self, file: &str, first: usize, count: usize) -> Result<String, String> {
        self.log_sync();
        self.log.index.rows_json(self.engine.srv.storage.as_mut(), file, first, count)
    }

    /// One record in full, for the detail pane (see [`LogIndex::record_json`]).
    pub fn log_record(&mut self, file: &str, index: usize) -> Result<String, String> {
        self.log_sync();
        self.log.index.record_json(self.engine.srv.storage.as_mut(), file, index)
    }

    /// The record holding byte `offset` of `file`; with `len` (a command's bytes), the
    /// command's own record, past the `SELECT` / `#TS:` the feed put before it.
    pub fn log_find(&mut self, file: &str, offset: u64, len: Option<u64>) -> Option<usize> {
        self.log_sync();
        let src = self.engine.srv.storage.as_mut();
        match len {
            Some(len) => self.log.index.find_command(src, file, offset, len),
            None => self.log.index.find(src, file, offset),
        }
    }

    /// Where each line of the last [`Lab::execute_batch`] put its bytes (`at`: none while they
    /// wait in `aof_buf`, or when the line appended nothing).
    pub fn batch_at(&self) -> &[LineAt] {
        &self.log.last_at
    }

    /// Where the bytes at stream position `stream` (a [`LineAt::stream`]) were written, once
    /// they were (a write postponed by everysec comes later).
    pub fn log_locate(&self, stream: u64) -> Option<(String, u64)> {
        self.log.placements.locate(stream)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::aof::check::{Mode, check};
    use crate::storage::{MemoryStorage, OpenMode};

    fn put(s: &mut MemoryStorage, name: &str, data: &[u8]) {
        s.open(name, OpenMode::Truncate).unwrap();
        s.write_at(name, 0, data).unwrap();
    }

    fn sample() -> Vec<u8> {
        let mut d = b"#TS:1795461091\r\n".to_vec();
        for argv in
            [&["SELECT", "0"][..], &["SET", "k", "v"], &["MULTI"], &["INCR", "n"], &["LPUSH", "l", "a\r\nb"], &["EXEC"], &["DEL", "k"]]
        {
            crate::resp::encode_command(&mut d, argv);
        }
        d
    }

    /// The index after growing the file byte by byte, refreshed at each step, equals a walk
    /// from scratch, and its cut point is redis-check-aof's `ok_up_to` at every length.
    #[test]
    fn grows_byte_by_byte_and_cuts_where_the_check_does() {
        let data = sample();
        let mut s = MemoryStorage::new();
        let files = vec![("appendonly.aof".to_string(), "other")];
        let mut grown = LogIndex::default();
        put(&mut s, "appendonly.aof", b"");
        for n in 0..=data.len() {
            put(&mut s, "appendonly.aof", &data[..n]);
            grown.sync(&mut s, &files, 0);
            let mut fresh = LogIndex::default();
            fresh.sync(&mut s, &files, 0);
            assert_eq!(grown.starts("appendonly.aof"), fresh.starts("appendonly.aof"), "at {n}");
            assert_eq!(grown.summary("appendonly.aof"), fresh.summary("appendonly.aof"), "at {n}");
            assert_eq!(grown.generation("appendonly.aof"), Some(1), "growth never rebuilds (at {n})");
            let report = check(&mut s, "appendonly.aof", Mode::Check, &mut |_| false);
            let ok_up_to = report.analyzed.first().map_or(0, |a| a.2);
            let cut = grown.summary("appendonly.aof").unwrap().1;
            if n == 0 {
                assert_eq!(cut, None);
            } else if report.exit_code == 0 {
                assert_eq!(cut, None, "valid at {n}: {}", report.output);
            } else {
                assert_eq!(cut, Some(ok_up_to), "at {n}: {}", report.output);
            }
        }
        // Every record of the whole file, and the marks.
        let rows = grown.rows_json(&mut s, "appendonly.aof", 0, 100).unwrap();
        assert!(rows.contains("\"records\":8,\"stable\":8"), "{rows}");
        assert!(rows.contains("\"mark\":\"ts\""), "{rows}");
        assert!(rows.contains("\"mark\":\"select\",\"mark_text\":\"db 0\""), "{rows}");
        assert!(rows.contains("\"mark\":\"multi\"") && rows.contains("\"mark\":\"exec\""), "{rows}");
        assert!(rows.contains(r#""framing":"*3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n""#), "{rows}");
        assert!(rows.contains(r#""text":"LPUSH l \"a\\r\\nb\"""#), "{rows}");
    }

    /// An open MULTI at the end: its records are shown, after the cut; an EXEC appended later
    /// commits them.
    #[test]
    fn an_open_multi_is_pending_until_its_exec() {
        let mut d = Vec::new();
        crate::resp::encode_command(&mut d, &["SET", "a", "1"]);
        let multi_at = d.len() as u64;
        crate::resp::encode_command(&mut d, &["MULTI"]);
        crate::resp::encode_command(&mut d, &["SET", "b", "2"]);
        let mut s = MemoryStorage::new();
        put(&mut s, "f", &d);
        let files = vec![("f".to_string(), "other")];
        let mut ix = LogIndex::default();
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.summary("f"), Some((3, Some(multi_at))));
        let rows = ix.rows_json(&mut s, "f", 0, 10).unwrap();
        assert!(rows.contains("\"stable\":1"), "{rows}");
        assert!(rows.contains("\"text\":\"MULTI\",") && rows.contains("\"cut\":true"), "{rows}");
        let files_json = ix.files_json();
        assert!(files_json.contains("Reached EOF before reading EXEC for MULTI"), "{files_json}");
        crate::resp::encode_command(&mut d, &["EXEC"]);
        put(&mut s, "f", &d);
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.summary("f"), Some((4, None)));
        assert_eq!(ix.generation("f"), Some(1));
    }

    /// A file truncated, or replaced by other bytes (a rename over it), is walked again.
    #[test]
    fn truncation_and_replacement_rebuild() {
        let data = sample();
        let mut s = MemoryStorage::new();
        let files = vec![("f".to_string(), "other")];
        put(&mut s, "f", &data);
        let mut ix = LogIndex::default();
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.summary("f"), Some((8, None)));
        put(&mut s, "f", &data[..40]);
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.generation("f"), Some(2));
        let mut fresh = LogIndex::default();
        fresh.sync(&mut s, &files, 0);
        assert_eq!(ix.starts("f"), fresh.starts("f"));
        // Same length, other bytes (a rename over it): the fingerprint differs.
        let mut other = Vec::new();
        crate::resp::encode_command(&mut other, &["SET", "key", "x"]);
        other.resize(40, b'#');
        put(&mut s, "f", &other);
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.generation("f"), Some(3));
        assert_eq!(ix.starts("f"), vec![0, other.iter().position(|&c| c == b'#').unwrap() as u64]);
        // A rename: the old name leaves, the new one is indexed.
        s.rename("f", "g").unwrap();
        ix.sync(&mut s, &[("g".to_string(), "other")], 0);
        assert!(ix.summary("f").is_none() && ix.summary("g").is_some());
        // A new epoch (a restart) walks again.
        ix.sync(&mut s, &[("g".to_string(), "other")], 1);
        assert_eq!(ix.generation("g"), Some(2));
    }

    /// A 6.2 file with an RDB preamble: the RDB structure, then the RESP tail, which grows
    /// incrementally; an incr file is never read as RDB.
    #[test]
    fn rdb_preamble_then_commands() {
        let mut dbs: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
        dbs[0].insert(b"k".to_vec(), crate::keyspace::Value::String(b"12".to_vec().into()));
        dbs[0].set_expire(b"k", 1_800_000_000_000);
        let rdb = crate::rdb::write_rdb(&dbs, 1_700_000_000, 1000, true);
        let rdb_len = rdb.len() as u64;
        let mut data = rdb.clone();
        crate::resp::encode_command(&mut data, &["SET", "a", "b"]);
        let mut s = MemoryStorage::new();
        put(&mut s, "appendonly.aof", &data);
        let files = vec![("appendonly.aof".to_string(), "aof")];
        let mut ix = LogIndex::default();
        ix.sync(&mut s, &files, 0);
        let rows = ix.rows_json(&mut s, "appendonly.aof", 0, 100).unwrap();
        for want in [
            "REDIS0010: RDB version 10",
            "AUX redis-ver",
            "SELECTDB 0",
            "RESIZEDB 1 key(s), 1 with an expiry",
            "string k (int) = \\\"12\\\", expires 2027-01-15T08:00:00.000Z",
            "\"text\":\"EOF\"",
            "(matches)",
            "\"text\":\"SET a b\"",
        ] {
            assert!(rows.contains(want), "{want} in {rows}");
        }
        let starts = ix.starts("appendonly.aof");
        assert!(starts.contains(&rdb_len));
        crate::resp::encode_command(&mut data, &["DEL", "a"]);
        put(&mut s, "appendonly.aof", &data);
        ix.sync(&mut s, &files, 0);
        assert_eq!(ix.generation("appendonly.aof"), Some(1), "the RESP tail grew: no new walk of the RDB");
        assert_eq!(ix.starts("appendonly.aof").len(), starts.len() + 1);
        // The same bytes as an incr file: not RDB, a format error at byte 0 (as the check says).
        put(&mut s, "x.incr.aof", &data);
        ix.sync(&mut s, &[files[0].clone(), ("x.incr.aof".to_string(), "incr")], 0);
        assert_eq!(ix.summary("x.incr.aof"), Some((1, Some(0))));
        // The detail of the key: its fields and a hex dump.
        let key_row = rows.split("\"i\":").position(|r| r.contains("string k")).unwrap() - 1;
        let detail = ix.record_json(&mut s, "appendonly.aof", key_row).unwrap();
        assert!(
            detail.contains(
                "\"item\":\"key\",\"key\":\"k\",\"type\":\"string\",\"rdb_type\":0,\"encoding\":\"int\",\"expire_ms\":1800000000000"
            ),
            "{detail}"
        );
        assert!(detail.contains("\"hex\":\"000000"), "{detail}");
    }

    /// A temp base being written (a stepped rewrite): an RDB that ends early, read again as it
    /// grows, its records kept.
    #[test]
    fn an_rdb_being_written() {
        let mut dbs: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
        for i in 0..5 {
            dbs[0].insert(format!("key{i}").into_bytes(), crate::keyspace::Value::String(b"v".to_vec().into()));
        }
        let rdb = crate::rdb::write_rdb(&dbs, 1_700_000_000, 1000, true);
        let mut s = MemoryStorage::new();
        let files = vec![("temp-rewriteaof-1.aof".to_string(), "temp")];
        let mut ix = LogIndex::default();
        put(&mut s, "temp-rewriteaof-1.aof", &rdb[..rdb.len() - 20]);
        ix.sync(&mut s, &files, 0);
        let (rows, cut) = ix.summary("temp-rewriteaof-1.aof").unwrap();
        assert!(cut.is_some());
        let json = ix.files_json();
        assert!(json.contains("Unexpected EOF reading RDB file") && json.contains("\"fixable\":false"), "{json}");
        put(&mut s, "temp-rewriteaof-1.aof", &rdb);
        ix.sync(&mut s, &files, 0);
        let (after, cut) = ix.summary("temp-rewriteaof-1.aof").unwrap();
        assert!(after > rows && cut.is_none());
        assert_eq!(ix.generation("temp-rewriteaof-1.aof"), Some(1), "the rows already shown stay");
    }

    #[test]
    fn find_and_hex() {
        let data = sample();
        let mut s = MemoryStorage::new();
        put(&mut s, "f", &data);
        let mut ix = LogIndex::default();
        ix.sync(&mut s, &[("f".to_string(), "other")], 0);
        assert_eq!(ix.find(&mut s, "f", 0), Some(0));
        assert_eq!(ix.find(&mut s, "f", 16), Some(1));
        assert_eq!(ix.find(&mut s, "f", 17), Some(1));
        assert_eq!(ix.find(&mut s, "f", data.len() as u64 - 1), Some(7));
        assert_eq!(ix.find(&mut s, "f", data.len() as u64 + 1), None);
        assert_eq!(hex_dump(b"*1\r\n", 16), format!("00000010  {:<47}  |*1..|\n", "2a 31 0d 0a"));
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::cast_possible_truncation)]
mod lab_tests {
    use super::*;
    use crate::Config;

    const T0: i64 = 1_700_000_000_000;

    fn lab(settings: &[(&str, &str)]) -> Lab {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        c.set("appendfsync", "always", true).unwrap();
        for (k, v) in settings {
            c.set(k, v, true).unwrap();
        }
        super::super::memory_lab(c, T0)
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn field<'a>(json: &'a str, key: &str) -> &'a str {
        let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {json}"));
        let v = &json[at + key.len() + 3..];
        &v[..v.find([',', '}']).unwrap_or(v.len())]
    }

    /// Each line of a batch says where its bytes went; those bytes are there, the record at
    /// that offset is the command, and the turn's write event names the same file and offset.
    #[test]
    fn a_batch_says_where_each_command_went() {
        let mut l = lab(&[]);
        l.execute_line("SET first 1", T0);
        let out = l.execute_batch(&lines(&["SET a 1", "GET a", "MULTI", "INCR n", "INCR m", "EXEC", "SELECT 2", "RPUSH q x"]), T0 + 1);
        let at = l.batch_at().to_vec();
        assert_eq!(at.len(), 8);
        assert!(at[1].at.is_none() && at[1].len == 0, "a read appends nothing");
        for (i, (_, bytes)) in out.iter().enumerate() {
            let Some((file, offset)) = &at[i].at else { continue };
            // The line's own bytes (the first line's reported bytes also hold what the earlier
            // execute_line appended: nobody took them).
            let own = &bytes[bytes.len() - at[i].len as usize..];
            let on_disk = read_range(l.engine.srv.storage.as_mut(), file, *offset, offset + own.len() as u64).unwrap();
            assert_eq!(on_disk, own, "line {i}");
        }
        let (file, offset) = at[0].at.clone().unwrap();
        assert_eq!(file, "appendonlydir/appendonly.aof.1.incr.aof");
        let row = l.log_find(&file, offset, None).unwrap();
        let rows = l.log_rows(&file, row, 1).unwrap();
        assert!(rows.contains("\"text\":\"SET a 1\""), "{rows}");
        // RPUSH in db 2: its bytes start with a SELECT; its own record comes after it.
        let (_, rpush_at) = at[7].at.clone().unwrap();
        let own = l.log_find(&file, rpush_at, Some(at[7].len)).unwrap();
        assert_eq!(own, l.log_find(&file, rpush_at, None).unwrap() + 1);
        // EXEC's bytes are MULTI … EXEC (propagated at EXEC): its record is the MULTI.
        let (_, exec_at) = at[5].at.clone().unwrap();
        let row = l.log_find(&file, exec_at, None).unwrap();
        let rows = l.log_rows(&file, row, 4).unwrap();
        assert!(rows.contains("\"mark\":\"multi\"") && rows.contains("INCR n") && rows.contains("\"mark\":\"exec\""), "{rows}");
        // RPUSH in db 2: its bytes start with the SELECT the feed put before it.
        let (_, rpush_at) = at[7].at.clone().unwrap();
        let row = l.log_find(&file, rpush_at, None).unwrap();
        let rows = l.log_rows(&file, row, 2).unwrap();
        assert!(rows.contains("\"mark\":\"select\",\"mark_text\":\"db 2\"") && rows.contains("RPUSH q x"), "{rows}");
        let events = l.events_json(0);
        let write = events.rsplit("\"kind\":\"write\"").next().unwrap();
        assert!(write.starts_with(",\"text\":\"write() "), "{write}");
        assert_eq!(field(write, "offset").parse::<u64>().unwrap(), offset, "the write event of the batch's turn: {write}");
        assert!(write.contains("\"file\":\"appendonlydir/appendonly.aof.1.incr.aof\""));
    }

    /// Under everysec with a slow background fsync, the next write is postponed: no place yet;
    /// once written, the place is found from the line's stream position.
    #[test]
    fn a_postponed_write_is_placed_later() {
        let mut l = lab(&[("appendfsync", "everysec")]);
        l.engine.srv.aof.fsync_latency_ms = 5000;
        l.execute_batch(&lines(&["SET a 1"]), T0);
        assert!(l.batch_at()[0].at.is_some());
        l.execute_batch(&lines(&["SET b 2"]), T0 + 10);
        let b = l.batch_at()[0].clone();
        assert!(b.at.is_none() && b.len > 0, "postponed: still in aof_buf");
        assert!(l.log_locate(b.stream).is_none());
        l.tick(T0 + 6000);
        let (file, offset) = l.log_locate(b.stream).expect("written at the next tick");
        let row = l.log_find(&file, offset, None).unwrap();
        let rows = l.log_rows(&file, row, 1).unwrap();
        assert!(rows.contains("\"text\":\"SET b 2\""), "{rows}");
    }

    /// The files of the directory, growing turn by turn; after BGREWRITEAOF the base is an
    /// RDB shown as its structure, the new incr file takes the writes, the index follows.
    #[test]
    fn the_directory_follows_turns_and_rewrites() {
        let mut l = lab(&[]);
        for i in 0..20 {
            l.execute_line(&format!("SET k{i} {i}"), T0);
        }
        let files = l.log_files();
        assert!(!files.contains(".manifest"), "{files}");
        let incr = "appendonlydir/appendonly.aof.1.incr.aof";
        assert!(files.contains(&format!("{{\"name\":\"{incr}\",\"kind\":\"incr\"")), "{files}");
        let before = l.log.index.summary(incr).unwrap().0;
        assert_eq!(before, 21, "SELECT + 20 SETs");
        l.execute_line("SET more x", T0);
        assert_eq!(l.log_rows(incr, 0, 0).map(|r| field(&r, "records").to_string()).unwrap(), "22");
        assert_eq!(l.log.index.generation(incr), Some(1), "appends are indexed incrementally");
        l.execute_line("BGREWRITEAOF", T0);
        l.tick(T0 + 100);
        l.execute_line("SET after rewrite", T0 + 200);
        let files = l.log_files();
        let base = "appendonlydir/appendonly.aof.2.base.rdb";
        assert!(files.contains(&format!("{{\"name\":\"{base}\",\"kind\":\"base\"")), "{files}");
        let rows = l.log_rows(base, 0, 100).unwrap();
        for want in [
            "REDIS0010: RDB version 10",
            "AUX aof-base = \\\"1\\\"",
            "SELECTDB 0",
            "RESIZEDB 21 key(s)",
            "string k7 (int) = \\\"7\\\"",
            "\"text\":\"EOF\"",
            "(matches)",
        ] {
            assert!(rows.contains(want), "{want} in {rows}");
        }
        let rows = l.log_rows("appendonlydir/appendonly.aof.2.incr.aof", 0, 10).unwrap();
        assert!(rows.contains("SET after rewrite"), "{rows}");
    }

    /// The 6.2 design: one appendonly.aof in dir itself; after a rewrite (renamed over it, RDB
    /// preamble) the view shows the new file.
    #[test]
    fn the_6_2_single_file() {
        let mut l = lab(&[("lab-aof-mode", "6.2")]);
        l.execute_line("SET a 1", T0);
        let files = l.log_files();
        assert!(files.contains("{\"name\":\"appendonly.aof\",\"kind\":\"aof\""), "{files}");
        assert_eq!(l.log.index.summary("appendonly.aof").unwrap().0, 2);
        l.execute_line("BGREWRITEAOF", T0);
        let mut t = T0;
        while l.engine.srv.aof.child.is_some() {
            t += 100;
            l.tick(t);
        }
        l.execute_line("SET b 2", t);
        let rows = l.log_rows("appendonly.aof", 0, 100).unwrap();
        assert!(rows.contains("REDIS0010") && rows.contains("string a (int)") && rows.contains("SET b 2"), "{rows}");
    }

    /// A torn write: the tail is marked where redis-check-aof cuts, with its reason.
    #[test]
    fn a_torn_tail_is_marked_at_the_cut() {
        let mut l = lab(&[("appendfsync", "no"), ("aof-load-truncated", "no")]);
        l.execute_line("SET a 1", T0);
        if let Some(m) = l.engine.srv.storage.as_memory() {
            m.set_now(T0 + 60_000);
        }
        l.execute_line("SET b 2", T0 + 60_000);
        l.crash("torn", T0 + 60_010).unwrap();
        let incr = "appendonlydir/appendonly.aof.1.incr.aof";
        let files = l.log_files();
        let (manifest_path, mode) = ("appendonlydir/appendonly.aof.manifest", crate::aof::check::Mode::Check);
        let report = crate::aof::check::check(l.engine.srv.storage.as_mut(), manifest_path, mode, &mut |_| false);
        let ok_up_to = report.analyzed.last().unwrap().2;
        assert_eq!(l.log.index.summary(incr).unwrap().1, Some(ok_up_to), "{files}\n{}", report.output);
        let n = l.log.index.summary(incr).unwrap().0;
        let rows = l.log_rows(incr, n - 1, 1).unwrap();
        assert!(
            rows.contains("\"kind\":\"invalid\"") && rows.contains("\"cut\":true") && rows.contains("the file ends inside a command"),
            "{rows}"
        );
        assert!(!report.output.contains("0x"), "the check prints no error line for this tail either: {}", report.output);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::cast_possible_truncation)]
mod mutation_tests {
    /// The fuzz target's properties (records tile the file, the cut flags what follows it, an
    /// index grown in two steps equals one built at once) on many damaged copies of a preamble
    /// file and of a RESP file: cut short, a byte changed, bytes dropped.
    #[test]
    fn damaged_files_keep_the_index_properties() {
        let mut dbs: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
        dbs[0].insert(b"k".to_vec(), crate::keyspace::Value::String(b"v".to_vec().into()));
        dbs[1].insert(b"l".to_vec(), crate::keyspace::Value::List(["a", "b"].iter().map(|s| s.as_bytes().to_vec()).collect()));
        let mut resp = b"#TS:1700000000\r\n".to_vec();
        for argv in [&["SELECT", "0"][..], &["MULTI"], &["SET", "a", "1"], &["INCR", "a"], &["EXEC"], &["DEL", "k"]] {
            crate::resp::encode_command(&mut resp, argv);
        }
        let mut preamble = crate::rdb::write_rdb(&dbs, 1_700_000_000, 1000, true);
        preamble.extend_from_slice(&resp);
        let mut seed = 12345u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n.max(1)
        };
        for base in [&resp, &preamble] {
            for _ in 0..300 {
                let mut d = base.clone();
                match next(3) {
                    0 => d.truncate(next(d.len() + 1)),
                    1 => {
                        let i = next(d.len());
                        d[i] = next(256) as u8;
                    }
                    _ => {
                        let i = next(d.len());
                        let j = (i + 1 + next(8)).min(d.len());
                        d.drain(i..j);
                    }
                }
                crate::fuzzing::inspect(&d);
            }
        }
    }
}
