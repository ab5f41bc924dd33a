//! A byte-level dump of AOF files: every record with its offset, length and meaning, and the
//! manifest entry its file belongs to. One format serves `aof-lab inspect`, the tests and the
//! lab's log view.
//!
//! ```text
//! appendonly.aof.1.incr.aof  seq 1 type i  463 bytes
//!     offset  length  record
//!          0      16  #TS:1795461091
//!         16      23  SELECT 0
//!         39      29  SET k v
//! ```

use super::manifest::{AofInfo, AofManifest};
use crate::resp::repr;
use crate::storage::{Storage, join};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Command(Vec<Vec<u8>>),
    /// A `#…` line (timestamps).
    Annotation(String),
    /// An RDB image (a base, or a 6.2 preamble).
    Rdb {
        version: u32,
    },
    /// Bytes that do not parse: the rest of the file from `offset`.
    Invalid(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub len: u64,
    pub kind: RecordKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDump {
    pub name: String,
    /// The manifest entry, for a file inside a multi-part AOF.
    pub entry: Option<AofInfo>,
    pub size: u64,
    pub records: Vec<Record>,
}

impl Record {
    /// The record as one line of text: the command in redis-cli quoting.
    pub fn describe(&self) -> String {
        match &self.kind {
            RecordKind::Command(argv) => argv
                .iter()
                .map(|a| {
                    let r = repr(a);
                    if r.is_empty() || r.contains(' ') || r.len() != a.len() { format!("\"{r}\"") } else { r }
                })
                .collect::<Vec<_>>()
                .join(" "),
            RecordKind::Annotation(a) => a.clone(),
            RecordKind::Rdb { version } => format!("RDB v{version} snapshot"),
            RecordKind::Invalid(why) => format!("!! {why}"),
        }
    }
}

/// Splits one file's bytes into records.
pub fn dump_bytes(data: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    if data.starts_with(b"REDIS") {
        let mut scratch: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
        match crate::rdb::read_rdb(data, &mut scratch) {
            Ok(info) => {
                out.push(Record { offset: 0, len: info.len as u64, kind: RecordKind::Rdb { version: info.version } });
                pos = info.len;
            }
            Err(e) => {
                out.push(Record { offset: 0, len: data.len() as u64, kind: RecordKind::Invalid(format!("RDB: {e}")) });
                return out;
            }
        }
    }
    let mut args = Vec::new();
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.first() == Some(&b'#') {
            let end = rest.iter().position(|&c| c == b'\n').map_or(rest.len(), |i| i + 1);
            let text = String::from_utf8_lossy(&rest[..end]).trim_end().to_string();
            out.push(Record { offset: pos as u64, len: end as u64, kind: RecordKind::Annotation(text) });
            pos += end;
            continue;
        }
        if rest.first() != Some(&b'*') {
            out.push(Record { offset: pos as u64, len: rest.len() as u64, kind: RecordKind::Invalid("not a RESP command".into()) });
            break;
        }
        match crate::resp::parse_command(rest, &mut args, crate::resp::Limits::default()) {
            Ok(Some(n)) => {
                let argv = args.iter().map(|a| a.to_vec()).collect();
                out.push(Record { offset: pos as u64, len: n as u64, kind: RecordKind::Command(argv) });
                pos += n;
            }
            Ok(None) => {
                out.push(Record { offset: pos as u64, len: rest.len() as u64, kind: RecordKind::Invalid("truncated command".into()) });
                break;
            }
            Err(e) => {
                out.push(Record { offset: pos as u64, len: rest.len() as u64, kind: RecordKind::Invalid(e.0.to_string()) });
                break;
            }
        }
    }
    out
}

/// Dumps a manifest's files (base, history, incr) or a single file.
pub fn dump(storage: &mut dyn Storage, path: &str) -> Result<Vec<FileDump>, String> {
    let data = storage.read_all(path).map_err(|e| format!("Cannot open file {path}: {}", e.strerror()))?;
    if !super::check::is_manifest(&data) {
        let name = path.to_string();
        return Ok(vec![FileDump { name, entry: None, size: data.len() as u64, records: dump_bytes(&data) }]);
    }
    let am = AofManifest::parse(&data).map_err(|e| e.to_string())?;
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let mut out = Vec::new();
    for ai in am.base.iter().chain(&am.history).chain(&am.incr) {
        let p = join(&dir, &ai.file_name);
        let (size, records) = match storage.read_all(&p) {
            Ok(d) => (d.len() as u64, dump_bytes(&d)),
            Err(e) => (0, vec![Record { offset: 0, len: 0, kind: RecordKind::Invalid(format!("missing: {}", e.strerror())) }]),
        };
        out.push(FileDump { name: ai.file_name.clone(), entry: Some(ai.clone()), size, records });
    }
    Ok(out)
}

/// The text form used by `aof-lab inspect`.
pub fn to_text(files: &[FileDump]) -> String {
    let mut s = String::new();
    for f in files {
        match &f.entry {
            Some(e) => s.push_str(&format!("{}  seq {} type {}  {} bytes\n", f.name, e.file_seq, e.file_type.as_char(), f.size)),
            None => s.push_str(&format!("{}  {} bytes\n", f.name, f.size)),
        }
        s.push_str("    offset  length  record\n");
        for r in &f.records {
            s.push_str(&format!("{:>10}  {:>6}  {}\n", r.offset, r.len, r.describe()));
        }
    }
    s
}

fn json_str(s: &str) -> String {
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

/// The JSON form (`aof-lab inspect --json`): an array of files, each with its records.
/// Arguments are given as strings when they are UTF-8 and as `{"hex": …}` otherwise.
pub fn to_json(files: &[FileDump]) -> String {
    let arg = |a: &[u8]| match std::str::from_utf8(a) {
        Ok(s) => json_str(s),
        Err(_) => format!("{{\"hex\":\"{}\"}}", a.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    };
    let mut parts = Vec::new();
    for f in files {
        let entry = match &f.entry {
            Some(e) => format!("{{\"seq\":{},\"type\":\"{}\"}}", e.file_seq, e.file_type.as_char()),
            None => "null".into(),
        };
        let records: Vec<String> = f
            .records
            .iter()
            .map(|r| {
                let (kind, extra) = match &r.kind {
                    RecordKind::Command(argv) => {
                        ("command", format!(",\"argv\":[{}]", argv.iter().map(|a| arg(a)).collect::<Vec<_>>().join(",")))
                    }
                    RecordKind::Annotation(t) => ("annotation", format!(",\"text\":{}", json_str(t))),
                    RecordKind::Rdb { version } => ("rdb", format!(",\"version\":{version}")),
                    RecordKind::Invalid(why) => ("invalid", format!(",\"error\":{}", json_str(why))),
                };
                format!("{{\"offset\":{},\"length\":{},\"kind\":\"{kind}\"{extra}}}", r.offset, r.len)
            })
            .collect();
        parts.push(format!(
            "{{\"file\":{},\"manifest\":{entry},\"size\":{},\"records\":[{}]}}",
            json_str(&f.name),
            f.size,
            records.join(",")
        ));
    }
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
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
        assert_eq!(recs[3].kind, RecordKind::Invalid("truncated command".into()));
        let json = to_json(&[FileDump { name: "f".into(), entry: None, size: data.len() as u64, records: recs }]);
        assert!(json.starts_with("[{\"file\":\"f\",\"manifest\":null"), "{json}");
        assert!(json.contains("\"argv\":[\"SET\",\"k\",\"a b\"]"), "{json}");
    }
}
