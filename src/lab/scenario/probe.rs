//! The lab's probes: what a check (`expect`, `wait`) may read besides a Redis command's reply —
//! INFO fields, the bytes appended to `aof_buf`, the files and their layers (page cache vs
//! disk), the manifest, the last crash report, the server log and the auto-rewrite trigger.
//! Each gives lines of text that the script compares exactly.

use super::play::Play;
use crate::aof::inspect::dump_bytes;
use crate::lab::Lab;
use crate::storage::join;

/// Each probe with the number of arguments it takes (`None`: one or more words of text).
const PROBES: &[(&str, Option<usize>)] = &[
    ("@info", Some(1)),
    ("@aof", Some(0)),
    ("@layers", Some(1)),
    ("@size", Some(1)),
    ("@head", Some(2)),
    ("@records", Some(1)),
    ("@files", Some(0)),
    ("@manifest", Some(0)),
    ("@crash", Some(1)),
    ("@log", None),
    ("@auto-rewrite", Some(0)),
    ("@rewrite-diff", Some(0)),
];

/// Why a probe line is malformed, if it is.
pub(super) fn syntax_error(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let probe = words.next().unwrap_or_default();
    let args = words.count();
    let names = || PROBES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    match PROBES.iter().find(|(n, _)| *n == probe) {
        None => Some(format!("unknown probe '{probe}' ({})", names())),
        Some((_, None)) if args == 0 => Some(format!("{probe} takes a text to look for")),
        Some((_, Some(n))) if args != *n => Some(match n {
            0 => format!("{probe} takes no argument"),
            1 => format!("{probe} takes one argument"),
            n => format!("{probe} takes {n} arguments"),
        }),
        Some(_) if probe == "@head" && line.split_whitespace().nth(2).and_then(|n| n.parse::<usize>().ok()).is_none() => {
            Some("@head takes a file and a number of bytes".into())
        }
        Some(_) => None,
    }
}

/// Runs a probe (already checked by [`syntax_error`]) on `lab`.
pub(super) fn run(play: &Play, lab: &mut Lab, line: &str) -> Vec<String> {
    let mut words = line.split_whitespace();
    let probe = words.next().unwrap_or_default();
    let arg = words.next().unwrap_or_default();
    let dir = lab.config().appenddirname.clone();
    match probe {
        "@info" => vec![info_field(lab, arg).unwrap_or_else(|| "(no such field)".to_string())],
        "@aof" => vec![escape(&play.last_aof)],
        "@files" => {
            let legacy = lab.engine.srv.config.aof_legacy;
            let names = if legacy {
                // 6.2: one file in `dir` (and its temp files), no directory of its own.
                lab.engine.srv.storage.list(None).unwrap_or_default().into_iter().filter(|n| !n.contains('/')).collect()
            } else {
                let prefix = format!("{dir}/");
                let names = lab.engine.srv.storage.list(Some(&dir)).unwrap_or_default();
                names.into_iter().map(|n| n.strip_prefix(&prefix).map(str::to_string).unwrap_or(n)).collect::<Vec<_>>()
            };
            if names.is_empty() { vec!["(no files)".into()] } else { names }
        }
        "@manifest" => {
            let path = join(&dir, &format!("{}.manifest", lab.config().appendfilename));
            match lab.engine.srv.storage.read_all(&path) {
                Ok(b) => String::from_utf8_lossy(&b).lines().map(str::to_string).collect(),
                Err(e) => vec![format!("{path}: {e}")],
            }
        }
        "@layers" => {
            let path = resolve(lab, arg);
            match lab.file_layers().unwrap_or_default().iter().find(|f| f.name == path) {
                Some(f) => vec![format!("written {}, on disk {}", f.len, f.durable_len)],
                None => vec![format!("{arg}: no such file")],
            }
        }
        "@size" => {
            let path = resolve(lab, arg);
            match lab.engine.srv.storage.len(&path) {
                Ok(n) => vec![n.to_string()],
                Err(_) => vec![format!("{arg}: no such file")],
            }
        }
        "@head" => {
            let path = resolve(lab, arg);
            let n = words.next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
            match lab.engine.srv.storage.read_all(&path) {
                Ok(b) => vec![escape(&b[..n.min(b.len())])],
                Err(_) => vec![format!("{arg}: no such file")],
            }
        }
        "@records" => {
            let path = resolve(lab, arg);
            match lab.engine.srv.storage.read_all(&path) {
                Ok(b) if b.is_empty() => vec!["(empty file)".into()],
                // The RDB part as one line (the log view shows its structure item by item).
                Ok(b) => {
                    let mut out: Vec<String> = Vec::new();
                    for r in dump_bytes(&b) {
                        match &r.kind {
                            crate::aof::inspect::RecordKind::Rdb { version }
                            | crate::aof::inspect::RecordKind::RdbItem(crate::rdb::read::RdbItem::Header { version }) => {
                                if !out.last().is_some_and(|l| l.starts_with("RDB v")) {
                                    out.push(format!("RDB v{version} snapshot"));
                                }
                            }
                            crate::aof::inspect::RecordKind::RdbItem(_) => {}
                            _ => out.push(r.describe()),
                        }
                    }
                    out
                }
                Err(_) => vec![format!("{arg}: no such file")],
            }
        }
        "@crash" => {
            let Some(c) = lab.last_crash.as_ref() else { return vec!["no crash yet".into()] };
            let v = match arg {
                "lost_aof_buf" => c.lost_aof_buf.to_string(),
                "lost_page_cache" => c.lost_page_cache.to_string(),
                "keys_before" => c.keys_before.to_string(),
                "keys_after" => c.keys_after.to_string(),
                "rdb_keys" => c.rdb_keys.map_or("none".to_string(), |k| k.to_string()),
                other => format!("unknown crash field '{other}'"),
            };
            vec![v]
        }
        "@log" => {
            let text = line.split_once(char::is_whitespace).map_or("", |(_, t)| t.trim());
            let (events, _) = lab.events_since(0);
            let hit = events.iter().rev().find(|e| e.kind == "log" && e.text.contains(text));
            vec![hit.map_or_else(|| format!("(nothing logged with '{text}')"), |e| e.text.clone())]
        }
        "@auto-rewrite" => vec![lab.engine.srv.auto_rewrite_status().to_string()],
        // 6.2: the bytes of the rewrite buffer the parent already sent down the pipe to the child.
        "@rewrite-diff" => vec![lab.engine.srv.aof.legacy.child.as_ref().map_or(0, |c| c.diff.len()).to_string()],
        other => vec![format!("unknown probe '{other}'")],
    }
}

/// A file named in a probe: a path as given (`dir/name`), a name inside `appendonlydir`, or a
/// name in `dir` (the 6.2 file, `dump.rdb`).
fn resolve(lab: &mut Lab, name: &str) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let inside = join(&lab.config().appenddirname, name);
    if lab.engine.srv.storage.exists(&inside) { inside } else { name.to_string() }
}

/// A field of INFO (`persistence` first; any section).
pub(super) fn info_field(lab: &Lab, name: &str) -> Option<String> {
    let srv = &lab.engine.srv;
    let persistence = crate::cmd::server::info::gen_info_string(srv, &[b"persistence"]);
    if let Some(v) = field(&persistence, name) {
        return Some(v.to_string());
    }
    let all = crate::cmd::server::info::gen_info_string(srv, &[b"all"]);
    field(&all, name).map(str::to_string)
}

/// A `field:value` line of an INFO text.
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim_end)
}

/// Bytes as one printable line: `\r`, `\n`, `\t`, `\\`, and `\xHH` for the rest.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            32..=126 => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// The bytes of an [`escape`]d line (what `@aof` and `@head` compare), for the sentences.
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let (byte, used) = match b[i + 1] {
                b'r' => (b'\r', 2),
                b'n' => (b'\n', 2),
                b't' => (b'\t', 2),
                b'\\' => (b'\\', 2),
                b'x' => match s.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => (v, 4),
                    None => (b'\\', 1),
                },
                _ => (b'\\', 1),
            };
            out.push(byte);
            i += used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
