//! A byte-level dump of AOF files: every record with its offset, length and meaning, and the
//! manifest entry its file belongs to. One format serves `aof-lab inspect`, the tests and the
//! lab's log view (`src/lab/log.rs` pages through the same records).
//!
//! ```text
//! appendonly.aof.1.base.rdb  seq 1 type b  134 bytes
//!     offset  length  record
//!          0       9  REDIS0010: RDB version 10
//!          9      18  AUX redis-ver = "7.0.15"
//!        …
//!        111      13  KEY "k" string (raw) = "v"
//!        124       1  EOF
//!        125       8  CRC-64 0x1f8c6e43ab97d2a1 (matches)
//! appendonly.aof.1.incr.aof  seq 1 type i  463 bytes
//!     offset  length  record
//!          0      16  #TS:1795461091
//!         16      23  SELECT 0
//!         39      29  SET k v
//!         68      12  !! Expected to read 5 bytes, got 3 bytes
//!     redis-check-aof would cut here: ok_up_to=68, diff=12
//! ```
//!
//! A file is walked the way `redis-check-aof` walks it, with its own code: an RDB part (a base,
//! or a 6.2 preamble) by the RDB reader ([`crate::rdb::read::Walker`]: header, each AUX field,
//! SELECTDB / RESIZEDB, each key with its type, encoding and expiry, EOF, CRC-64), then the RESP
//! part by [`RespScan`] (annotations, commands, MULTI/EXEC nesting). So a bad tail is marked
//! exactly where `redis-check-aof --fix` would truncate (`ok_up_to`), with the tool's reason;
//! records after that point are flagged `cut`.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use super::check::{RespScan, Scanned};
use super::manifest::{AofFileType, AofInfo, AofManifest};
use crate::rdb::RdbError;
use crate::rdb::read::{RdbItem, Walker};
use crate::resp::repr;
use crate::storage::{Storage, join};

#[derive(Clone, Debug, PartialEq)]
pub enum RecordKind {
    Command(Vec<Vec<u8>>),
    /// A `#…` line (timestamps).
    Annotation(String),
    /// The header of an RDB image (a base, or a 6.2 preamble): `REDIS` and its version.
    Rdb {
        version: u32,
    },
    /// One item of an RDB image after its header.
    RdbItem(RdbItem),
    /// Bytes that are not a complete record, with the reason: the rest of the file from
    /// `offset`.
    Invalid(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub offset: u64,
    pub len: u64,
    pub kind: RecordKind,
    /// At or after the point where `redis-check-aof --fix` would truncate the file.
    pub cut: bool,
}

/// One file of a dump: its name, its manifest entry (for a file inside a multi-part AOF) and
/// its size. Its records are walked one at a time ([`each_record`]), so that a dump of a large
/// AOF holds one record at a time, not the whole file's.
#[derive(Clone, Debug, PartialEq)]
pub struct FileHead {
    pub name: String,
    pub entry: Option<AofInfo>,
    pub size: u64,
}

/// `redis-check-aof`'s verdict on a file that is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// `ok_up_to`: `--fix` truncates the file to this length.
    pub offset: u64,
    /// The tool's reason (its error line without the offset), or what the bytes are.
    pub reason: String,
    /// False for a damaged RDB part: the tool aborts there, `--fix` cannot repair it.
    pub fixable: bool,
}

/// What a walk of a file found: where each record starts, the RDB part, the verdict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outline {
    /// Record starts, in order; a record ends where the next one starts, the last one at `end`.
    pub starts: Vec<u64>,
    /// The end of the last complete record; bytes after it (up to the file's length) are a
    /// truncated or damaged tail.
    pub end: u64,
    pub rdb: Option<RdbPart>,
    pub cut: Option<Cut>,
    /// The RDB part is incomplete (it ends early): a file still being written, or truncated.
    pub rdb_incomplete: bool,
}

/// The RDB part of a file: its first `records` records are RDB items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RdbPart {
    pub version: u32,
    /// Its length when whole (the RESP part starts here), else where the failing item starts.
    pub end: u64,
    pub records: usize,
    /// The CRC-64 record's offset and the checksum computed over the bytes before it.
    pub crc: Option<(u64, u64)>,
    pub error: Option<RdbError>,
}

/// Whether a file may start with an RDB part, as `redis-check-aof` decides: a manifest's base
/// and an old-style single file may (when they start with `REDIS`); incr and history files may
/// not.
pub fn may_have_preamble(data: &[u8]) -> bool {
    data.len() >= 8 && data.starts_with(b"REDIS")
}

/// Walks the RDB part of `data` (which starts with `REDIS`) with the RDB reader, loading into
/// 16 scratch databases as `redis-check-aof` does (so duplicated keys are refused the same way).
pub fn outline_rdb(data: &[u8]) -> (Vec<u64>, RdbPart) {
    let mut starts = Vec::new();
    let mut part = RdbPart::default();
    let mut last_end = 0u64;
    let result = crate::rdb::read::read_rdb_keys_traced(data, &mut |start, end, item| {
        starts.push(start as u64);
        last_end = end as u64;
        match item {
            RdbItem::Header { version } => part.version = *version,
            RdbItem::Checksum { computed, .. } => part.crc = Some((start as u64, *computed)),
            _ => {}
        }
    });
    match result {
        Ok(info) => part.end = info.len as u64,
        Err(e) => {
            // A reading error leaves the failing item untraced; a loading error (a duplicated
            // key, a wrong checksum) comes after its item was traced. Either way the part's
            // records end where the last traced item ended.
            part.end = last_end;
            part.error = Some(e);
        }
    }
    part.records = starts.len();
    (starts, part)
}

/// The RESP part of a walk: where the check would cut, why (the records' starts go to the
/// caller's vector).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RespOutline {
    pub ok_up_to: u64,
    /// The end of the last accepted record.
    pub end: u64,
    /// Why the scan stopped before the data's end, or why it cuts (None: all valid).
    pub reason: Option<String>,
}

/// Walks RESP records in `data` (bytes of a file from offset `base`, where no MULTI is open)
/// with `redis-check-aof`'s scanner; the start of every accepted record is pushed on `starts`.
pub fn outline_resp(data: &[u8], base: u64, starts: &mut Vec<u64>) -> RespOutline {
    let mut scan = RespScan::default();
    let mut out = RespOutline { end: base, ..Default::default() };
    let end = scan
        .scan::<()>(
            &mut { data },
            0,
            "",
            &mut |r: Scanned| {
                starts.push(base + r.start as u64);
                out.end = base + r.end as u64;
            },
            &mut |_, _| Ok(true),
        )
        .unwrap_or(super::check::ScanEnd { ok_up_to: 0, stopped_at: 0, format_error: false, annotation_stop: false });
    out.ok_up_to = base + end.ok_up_to as u64;
    out.reason = if let Some((_, msg)) = scan.error {
        Some(msg)
    } else if end.format_error {
        Some("not a RESP command (redis-check-aof: \"AOF format error\")".into())
    } else if end.ok_up_to < data.len() {
        Some("the file ends inside a command".into())
    } else {
        None
    };
    out
}

/// Walks a whole file. `preamble`: the file may start with an RDB part (see
/// [`may_have_preamble`]; incr files may not).
pub fn outline(data: &[u8], preamble: bool) -> Outline {
    let mut o = Outline::default();
    let mut resp_from = 0u64;
    if preamble && may_have_preamble(data) {
        let (starts, part) = outline_rdb(data);
        o.starts = starts;
        o.end = part.end;
        if let Some(e) = &part.error {
            o.rdb_incomplete = e.message == "Unexpected EOF reading RDB file";
            // The record the error is in (a loading error), or the tail after the last item.
            let at = if (e.offset as u64) < part.end { o.starts.iter().rev().find(|&&s| s <= e.offset as u64).copied() } else { None };
            let reason = format!("RDB: {} (at offset {})", e.message, e.offset);
            o.cut = Some(Cut { offset: at.unwrap_or(part.end), reason, fixable: false });
            o.rdb = Some(part);
            return o;
        }
        resp_from = part.end;
        o.rdb = Some(part);
    }
    let resp = usize::try_from(resp_from).ok().and_then(|from| data.get(from..)).unwrap_or_default();
    let r = outline_resp(resp, resp_from, &mut o.starts);
    o.end = r.end.max(resp_from);
    if r.ok_up_to < data.len() as u64 {
        o.cut = Some(Cut { offset: r.ok_up_to, reason: r.reason.unwrap_or_default(), fixable: true });
    }
    o
}

/// The reason shown on the record that holds a file's tail (the bytes after its last whole
/// record), from the check's verdict.
pub fn tail_reason(cut: Option<&Cut>, rdb_incomplete: bool) -> String {
    match cut {
        Some(c) if rdb_incomplete => format!("{} (an RDB that ends early: still being written, or truncated)", c.reason),
        Some(c) => c.reason.clone(),
        None => "unexpected bytes".into(),
    }
}

/// Decodes one record's bytes. `rdb`: the record lies in the file's RDB part (of `version`);
/// `crc`: it is the CRC-64 record, whose computed checksum is given.
pub fn decode(bytes: &[u8], rdb: Option<u32>, crc: Option<u64>) -> RecordKind {
    if let Some(version) = rdb {
        if let Some(computed) = crc {
            let stored = bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
            return RecordKind::RdbItem(RdbItem::Checksum { stored, computed });
        }
        if bytes.starts_with(b"REDIS") && bytes.len() == 9 {
            return RecordKind::Rdb { version };
        }
        return match Walker::at(bytes, version).next_item() {
            Ok(Some((_, _, item))) => RecordKind::RdbItem(item),
            Ok(None) => RecordKind::Invalid("empty RDB item".into()),
            Err(e) => RecordKind::Invalid(format!("RDB: {}", e.message)),
        };
    }
    if bytes.first() == Some(&b'#') {
        return RecordKind::Annotation(String::from_utf8_lossy(bytes).trim_end().to_string());
    }
    let mut args = Vec::new();
    match crate::resp::parse_command(bytes, &mut args, crate::resp::Limits { max_bulk_len: i64::MAX / 4, ..Default::default() }) {
        Ok(Some(_)) => RecordKind::Command(args.iter().map(|a| a.to_vec()).collect()),
        _ => RecordKind::Invalid("not a complete RESP command".into()),
    }
}

/// Splits one file's bytes into records (an RDB part only when the file starts with `REDIS`).
pub fn dump_bytes(data: &[u8]) -> Vec<Record> {
    dump_file(data, true).0
}

/// Splits one file's bytes into records; `preamble`: it may start with an RDB part.
pub fn dump_file(data: &[u8], preamble: bool) -> (Vec<Record>, Option<Cut>) {
    let mut out = Vec::new();
    let cut = each_record(data, preamble, |r| out.push(r));
    (out, cut)
}

/// [`dump_file`] one record at a time: `each` gets the records in order, each decoded when it
/// is its turn; returns where and why `redis-check-aof` would cut the file (None: valid).
pub fn each_record(data: &[u8], preamble: bool, mut each: impl FnMut(Record)) -> Option<Cut> {
    let o = outline(data, preamble);
    let cut_at = o.cut.as_ref().map(|c| c.offset);
    for (i, &start) in o.starts.iter().enumerate() {
        let end = o.starts.get(i + 1).copied().unwrap_or(o.end);
        let bytes = match (usize::try_from(start), usize::try_from(end)) {
            (Ok(start), Ok(end)) => data.get(start..end).unwrap_or_default(),
            _ => &[],
        };
        let rdb = o.rdb.as_ref().filter(|_| i < o.rdb.as_ref().map_or(0, |p| p.records));
        let crc = rdb.and_then(|p| p.crc).filter(|c| c.0 == start).map(|c| c.1);
        let kind = decode(bytes, rdb.map(|p| p.version), crc);
        each(Record { offset: start, len: end - start, kind, cut: cut_at.is_some_and(|c| start >= c) });
    }
    if o.end < data.len() as u64 {
        let reason = tail_reason(o.cut.as_ref(), o.rdb_incomplete);
        each(Record { offset: o.end, len: data.len() as u64 - o.end, kind: RecordKind::Invalid(reason), cut: true });
    }
    o.cut
}

/// Walks a manifest's files (base, history, incr) or a single file: `file` gets each one's head
/// and bytes (or why it could not be read), one file at a time, and whether it may start with
/// an RDB part.
pub fn dump_each(
    storage: &mut dyn Storage,
    path: &str,
    mut file: impl FnMut(&FileHead, Result<&[u8], String>, bool),
) -> Result<(), String> {
    let data = storage.read_all(path).map_err(|e| format!("Cannot open file {path}: {}", e.strerror()))?;
    if !super::check::is_manifest(&data) {
        file(&FileHead { name: path.to_string(), entry: None, size: data.len() as u64 }, Ok(&data), true);
        return Ok(());
    }
    let am = AofManifest::parse(&data).map_err(|e| e.to_string())?;
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    for ai in am.base.iter().chain(&am.history).chain(&am.incr) {
        let preamble = ai.file_type == AofFileType::Base;
        let mut head = FileHead { name: ai.file_name.clone(), entry: Some(ai.clone()), size: 0 };
        match storage.read_all(&join(&dir, &ai.file_name)) {
            Ok(d) => {
                head.size = d.len() as u64;
                file(&head, Ok(&d), preamble);
            }
            Err(e) => file(&head, Err(format!("missing: {}", e.strerror())), preamble),
        }
    }
    Ok(())
}

/// A string as redis-cli quotes it when needed.
fn quoted(a: &[u8]) -> String {
    let r = repr(a);
    if r.is_empty() || r.contains(' ') || r.len() != a.len() { format!("\"{r}\"") } else { r }
}

/// At most `max` characters, with `…` when cut.
fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// A millisecond unix time as ISO 8601 (UTC).
pub fn iso_time(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn describe_rdb(item: &RdbItem) -> String {
    match item {
        RdbItem::Header { version } => format!("REDIS{version:04}: RDB version {version}"),
        RdbItem::Aux { key, value } => format!("AUX {} = {}", quoted(key), clip(format!("\"{}\"", repr(value)), 80)),
        RdbItem::SelectDb { id } => format!("SELECTDB {id}"),
        RdbItem::ResizeDb { size, expires } => format!("RESIZEDB {size} key(s), {expires} with an expiry"),
        RdbItem::Function { code } => format!("FUNCTION library {}", clip(format!("\"{}\"", repr(code)), 80)),
        RdbItem::Key { key, value, expire_ms, encoding: enc, .. } => {
            let what = match value {
                None => "(empty: skipped on load)".to_string(),
                Some(crate::keyspace::Value::String(s)) => clip(format!("= \"{}\"", repr(s)), 60),
                Some(v) => {
                    let n = match v {
                        crate::keyspace::Value::List(l) => l.len(),
                        crate::keyspace::Value::Hash(h) => h.len(),
                        crate::keyspace::Value::Set(s) => s.len(),
                        crate::keyspace::Value::ZSet(z) => z.len(),
                        crate::keyspace::Value::Stream(s) => usize::try_from(s.length).unwrap_or(usize::MAX),
                        crate::keyspace::Value::String(_) => 1,
                    };
                    let unit = match v {
                        crate::keyspace::Value::Hash(_) => "field",
                        crate::keyspace::Value::List(_) => "element",
                        crate::keyspace::Value::Stream(_) if n == 1 => "entry",
                        crate::keyspace::Value::Stream(_) => "entries",
                        _ => "member",
                    };
                    let plural = if n == 1 || unit == "entries" { "" } else { "s" };
                    format!("{n} {unit}{plural}")
                }
            };
            let kind = value.as_ref().map_or("key", |v| v.type_name());
            let exp = expire_ms.map(|ms| format!(", expires {}", iso_time(ms))).unwrap_or_default();
            format!("{kind} {} ({enc}) {what}{exp}", clip(quoted(key), 60))
        }
        RdbItem::Eof => "EOF".into(),
        RdbItem::Checksum { stored, computed } => match (stored, stored == computed) {
            (0, _) => "CRC-64 0 (not checked: rdbchecksum no)".into(),
            (_, true) => format!("CRC-64 {stored:#018x} (matches)"),
            (_, false) => format!("CRC-64 {stored:#018x} (WRONG: the bytes give {computed:#018x})"),
        },
    }
}

impl Record {
    /// The record as one line of text: the command in redis-cli quoting, an RDB item by its
    /// fields.
    pub fn describe(&self) -> String {
        match &self.kind {
            RecordKind::Command(argv) => argv.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(" "),
            RecordKind::Annotation(a) => a.clone(),
            RecordKind::Rdb { version } => describe_rdb(&RdbItem::Header { version: *version }),
            RecordKind::RdbItem(item) => describe_rdb(item),
            RecordKind::Invalid(why) => format!("!! {why}"),
        }
    }

    /// What the record means for the AOF's structure: `select` (db), `multi`, `exec`, `ts`
    /// (the annotation's time), with a short text.
    pub fn mark(&self) -> Option<(&'static str, String)> {
        match &self.kind {
            RecordKind::Command(argv) => {
                let name = argv.first()?;
                if name.eq_ignore_ascii_case(b"select") {
                    Some(("select", format!("db {}", String::from_utf8_lossy(argv.get(1).map_or(&[][..], |v| v)))))
                } else if name.eq_ignore_ascii_case(b"multi") {
                    Some(("multi", "transaction starts".into()))
                } else if name.eq_ignore_ascii_case(b"exec") {
                    Some(("exec", "transaction ends".into()))
                } else {
                    None
                }
            }
            RecordKind::Annotation(a) => {
                let secs: i64 = a.strip_prefix("#TS:")?.trim().parse().ok()?;
                Some(("ts", iso_time(secs.saturating_mul(1000)).replace(".000Z", "Z")))
            }
            _ => None,
        }
    }
}

/// The record's bytes as text with its framing visible: RESP as `*3\r\n$3\r\nSET\r\n…`
/// (printable bytes as they are, `\r`, `\n`, `\\`, others `\xHH`), an RDB item as hex. At most
/// `max` characters, then `…`.
pub fn framing(bytes: &[u8], rdb: bool, max: usize) -> String {
    let mut s = String::with_capacity(max.min(bytes.len() * 3) + 1);
    for (i, &b) in bytes.iter().enumerate() {
        if s.len() >= max {
            s.push('…');
            break;
        }
        if rdb {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&format!("{b:02x}"));
            continue;
        }
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// `aof-lab inspect`'s text for one file, written to `w` a record at a time.
pub fn write_text(w: &mut dyn std::io::Write, head: &FileHead, data: Result<&[u8], String>, preamble: bool) -> std::io::Result<()> {
    match &head.entry {
        Some(e) => writeln!(w, "{}  seq {} type {}  {} bytes", head.name, e.file_seq, e.file_type.as_char(), head.size)?,
        None => writeln!(w, "{}  {} bytes", head.name, head.size)?,
    }
    writeln!(w, "    offset  length  record")?;
    let data = match data {
        Ok(d) => d,
        Err(why) => return writeln!(w, "{:>10}  {:>6}  !! {why}", 0, 0),
    };
    let mut result = Ok(());
    let cut = each_record(data, preamble, |r| {
        if result.is_ok() {
            result = writeln!(w, "{:>10}  {:>6}  {}", r.offset, r.len, r.describe());
        }
    });
    result?;
    match cut {
        Some(c) if c.fixable => writeln!(w, "    redis-check-aof would cut here: ok_up_to={}, diff={}", c.offset, head.size - c.offset),
        Some(c) => writeln!(w, "    redis-check-aof stops here: the RDB part is not sane ({}); --fix cannot repair it", c.reason),
        None => Ok(()),
    }
}

/// The text form of a whole dump, in memory (the tests').
pub fn to_text(storage: &mut dyn Storage, path: &str) -> Result<String, String> {
    let mut out = Vec::new();
    dump_each(storage, path, |head, data, preamble| {
        let _ = write_text(&mut out, head, data, preamble);
    })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A byte string as JSON: a string when it is UTF-8, `{"hex": …}` otherwise.
pub fn json_bytes(a: &[u8]) -> String {
    match std::str::from_utf8(a) {
        Ok(s) => json_str(s),
        Err(_) => format!("{{\"hex\":\"{}\"}}", a.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

/// The kind and the kind's own fields of a record, as JSON members (`"kind":…,…`).
pub fn kind_json(kind: &RecordKind) -> String {
    match kind {
        RecordKind::Command(argv) => {
            format!("\"kind\":\"command\",\"argv\":[{}]", argv.iter().map(|a| json_bytes(a)).collect::<Vec<_>>().join(","))
        }
        RecordKind::Annotation(t) => format!("\"kind\":\"annotation\",\"text\":{}", json_str(t)),
        RecordKind::Rdb { version } => format!("\"kind\":\"rdb\",\"version\":{version}"),
        RecordKind::RdbItem(item) => {
            let fields = match item {
                RdbItem::Header { version } => format!("\"item\":\"header\",\"version\":{version}"),
                RdbItem::Aux { key, value } => format!("\"item\":\"aux\",\"key\":{},\"value\":{}", json_bytes(key), json_bytes(value)),
                RdbItem::SelectDb { id } => format!("\"item\":\"selectdb\",\"db\":{id}"),
                RdbItem::ResizeDb { size, expires } => format!("\"item\":\"resizedb\",\"size\":{size},\"expires\":{expires}"),
                RdbItem::Function { code } => format!("\"item\":\"function\",\"code\":{}", json_bytes(code)),
                RdbItem::Key { type_byte, key, value, expire_ms, encoding } => format!(
                    "\"item\":\"key\",\"key\":{},\"type\":{},\"rdb_type\":{type_byte},\"encoding\":{},\"expire_ms\":{}",
                    json_bytes(key),
                    json_str(value.as_ref().map_or("empty", |v| v.type_name())),
                    json_str(encoding),
                    expire_ms.map_or("null".to_string(), |m| m.to_string())
                ),
                RdbItem::Eof => "\"item\":\"eof\"".into(),
                RdbItem::Checksum { stored, computed } => {
                    format!("\"item\":\"crc64\",\"stored\":\"{stored:#018x}\",\"computed\":\"{computed:#018x}\"")
                }
            };
            format!("\"kind\":\"rdb-item\",{fields}")
        }
        RecordKind::Invalid(why) => format!("\"kind\":\"invalid\",\"error\":{}", json_str(why)),
    }
}

/// The JSON form (`aof-lab inspect --json`): an array of files, each with its records and
/// `cut` (`{ok_up_to, reason, fixable}` or null). Arguments are given as strings when they are
/// UTF-8 and as `{"hex": …}` otherwise. This writes one file, a record at a time; `first` says
/// whether it opens the array (the caller closes it with `]`).
pub fn write_json(
    w: &mut dyn std::io::Write,
    head: &FileHead,
    data: Result<&[u8], String>,
    preamble: bool,
    first: bool,
) -> std::io::Result<()> {
    let entry = match &head.entry {
        Some(e) => format!("{{\"seq\":{},\"type\":\"{}\"}}", e.file_seq, e.file_type.as_char()),
        None => "null".into(),
    };
    write!(
        w,
        "{}{{\"file\":{},\"manifest\":{entry},\"size\":{},\"records\":[",
        if first { "[" } else { "," },
        json_str(&head.name),
        head.size
    )?;
    let record = |r: &Record| {
        let mark = r.mark().map_or("null".to_string(), |(m, _)| json_str(m));
        format!("{{\"offset\":{},\"length\":{},{},\"mark\":{mark},\"cut\":{}}}", r.offset, r.len, kind_json(&r.kind), r.cut)
    };
    let cut = match data {
        Ok(d) => {
            let (mut result, mut n) = (Ok(()), 0usize);
            let cut = each_record(d, preamble, |r| {
                if result.is_ok() {
                    result = write!(w, "{}{}", if n == 0 { "" } else { "," }, record(&r));
                }
                n += 1;
            });
            result?;
            cut
        }
        Err(why) => {
            write!(w, "{}", record(&Record { offset: 0, len: 0, kind: RecordKind::Invalid(why), cut: false }))?;
            None
        }
    };
    let cut = match cut {
        Some(c) => format!("{{\"ok_up_to\":{},\"reason\":{},\"fixable\":{}}}", c.offset, json_str(&c.reason), c.fixable),
        None => "null".into(),
    };
    write!(w, "],\"cut\":{cut}}}")
}

/// The JSON form of a whole dump, in memory (the tests').
pub fn to_json(storage: &mut dyn Storage, path: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let mut first = true;
    dump_each(storage, path, |head, data, preamble| {
        let _ = write_json(&mut out, head, data, preamble, first);
        first = false;
    })?;
    out.extend_from_slice(if first { b"[]" } else { b"]" });
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_with_offsets() {
        let mut data = b"#TS:1795461091\r\n".to_vec();
        crate::resp::encode_command(&mut data, &["SELECT", "0"]);
        crate::resp::encode_command(&mut data, &["SET", "k", "a b"]);
        data.extend_from_slice(b"*3\r\n$3\r\nSET");
        let recs = dump_bytes(&data);
        assert_eq!(recs.len(), 4);
        assert_eq!((recs[1].offset, recs[1].len), (16, 23));
        assert_eq!(recs[2].describe(), "SET k \"a b\"");
        // The truncated tail, with redis-check-aof's own reason, flagged as cut.
        assert_eq!(recs[3].kind, RecordKind::Invalid("Expected to read 5 bytes, got 3 bytes".into()));
        assert!(recs[3].cut && !recs[2].cut);
        assert_eq!(recs[0].mark(), Some(("ts", "2026-11-23T19:11:31Z".to_string())));
        assert_eq!(recs[1].mark(), Some(("select", "db 0".to_string())));
        let (_, cut) = dump_file(&data, true);
        assert_eq!(cut.as_ref().map(|c| c.offset), Some(68));
        use crate::storage::{OpenMode, Storage};
        let mut storage = crate::storage::MemoryStorage::new();
        storage.open("f", OpenMode::Create).unwrap();
        storage.append("f", &data).unwrap();
        let json = to_json(&mut storage, "f").unwrap();
        assert!(json.starts_with("[{\"file\":\"f\",\"manifest\":null"), "{json}");
        assert!(json.contains("\"argv\":[\"SET\",\"k\",\"a b\"]"), "{json}");
        assert!(
            json.ends_with("\"cut\":{\"ok_up_to\":68,\"reason\":\"Expected to read 5 bytes, got 3 bytes\",\"fixable\":true}}]"),
            "{json}"
        );
        let text = to_text(&mut storage, "f").unwrap();
        assert_eq!(text.lines().nth(3), Some("        16      23  SELECT 0"), "{text}");
        assert!(text.ends_with("    redis-check-aof would cut here: ok_up_to=68, diff=11\n"), "{text}");
        assert_eq!(framing(&data[16..39], false, 100), "*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n");
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
