//! What COMMAND INFO and COMMAND DOCS say about each command, recorded from a real Redis 7.0.15.
//!
//! Redis generates this metadata from its `commands/*.json` files: ACL categories, tips, key
//! specs and the documentation tree (summary, complexity, history, arguments …). redis-cli 7.0
//! builds its hints and `HELP` from `COMMAND DOCS`, so the shapes must be exact. Rather than
//! retyping hundreds of JSON files, `commands.bin` holds the replies of the real server for the
//! command groups the engine implements, and for the cluster group (ACL's command universe is the
//! whole table, see [`crate::acl`]), one entry per command and subcommand:
//! `[fullname, info (the 9 fields of COMMAND INFO before "subcommands"), docs (the flat map
//! before "subcommands")]`. Subcommand lists are rebuilt from the engine's own table, so only
//! what the engine implements is listed.
//!
//! `commands.bin` is checked against a real `redis-server` 7.0.15 by the test
//! `command_meta_matches_the_real_server` in `tests/cmd_server.rs`, which rewrites it when run
//! with `AOF_LAB_REGENERATE=1`.
//!
//! Format: `AOFLABCMD1`, a string table (`varint count`, then `varint len` + bytes each), then one
//! value: tag `0` nil, `1` integer (zigzag varint), `2` bulk and `3` status (varint index into the
//! table), `4` array (varint length, then the items). Strings repeat a lot (`name`, `type`,
//! `key_spec_index` …), which the table folds: about a third of the raw RESP size.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::reply::Reply;

const MAGIC: &[u8] = b"AOFLABCMD1";

static BLOB: &[u8] = include_bytes!("commands.bin");

/// The recorded metadata of one command or subcommand (`config|get`).
#[derive(Debug)]
pub struct Meta {
    pub name: String,
    /// COMMAND INFO's fields 1..=9: name, arity, flags, first key, last key, step, ACL
    /// categories, tips, key specs.
    pub info: Vec<Reply>,
    /// COMMAND DOCS's flat map, without `subcommands`.
    pub docs: Vec<Reply>,
}

impl Meta {
    /// Field `i` of COMMAND INFO.
    pub fn field(&self, i: usize) -> Option<&Reply> {
        self.info.get(i)
    }
    /// COMMAND INFO's flags, as names.
    pub fn flags(&self) -> Vec<&str> {
        statuses(self.field(2))
    }
    /// ACL categories, with their `@`.
    pub fn acl_categories(&self) -> Vec<&str> {
        statuses(self.field(6))
    }
    pub fn arity(&self) -> i64 {
        match self.field(1) {
            Some(Reply::Int(n)) => *n,
            _ => 0,
        }
    }
    pub fn key_specs(&self) -> &[Reply] {
        match self.field(8) {
            Some(Reply::Array(specs)) => specs,
            _ => &[],
        }
    }
}

fn statuses(r: Option<&Reply>) -> Vec<&str> {
    match r {
        Some(Reply::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Reply::Status(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every recorded command and subcommand (in no particular order): the whole table of the real
/// server, including commands the engine does not implement (ACL's command universe).
pub fn entries() -> impl Iterator<Item = &'static Meta> {
    all().values()
}

/// The metadata of a command by full name (`get`, `config|get`), lowercase.
pub fn lookup(fullname: &str) -> Option<&'static Meta> {
    all().get(fullname)
}

fn all() -> &'static HashMap<String, Meta> {
    static META: OnceLock<HashMap<String, Meta>> = OnceLock::new();
    META.get_or_init(|| {
        let mut map = HashMap::new();
        if let Some(Reply::Array(entries)) = decode(BLOB) {
            for entry in entries {
                if let Reply::Array(mut parts) = entry
                    && parts.len() == 3
                {
                    let docs = parts.pop();
                    let info = parts.pop();
                    if let (Some(Reply::Bulk(name)), Some(Reply::Array(info)), Some(Reply::Array(docs))) = (parts.pop(), info, docs) {
                        let name = String::from_utf8_lossy(&name).into_owned();
                        map.insert(name.clone(), Meta { name, info, docs });
                    }
                }
            }
        }
        map
    })
}

/// Decodes a blob; `None` if it is not one (never panics).
pub fn decode(blob: &[u8]) -> Option<Reply> {
    let mut r = Reader { buf: blob.strip_prefix(MAGIC)?, pos: 0 };
    let count = r.varint()?;
    let mut strings = Vec::with_capacity((count as usize).min(1 << 16));
    for _ in 0..count {
        let len = r.varint()? as usize;
        let bytes = r.take(len)?;
        strings.push(bytes.to_vec());
    }
    r.value(&strings, 0)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn value(&mut self, strings: &[Vec<u8>], depth: u32) -> Option<Reply> {
        if depth > 32 {
            return None;
        }
        let string = |r: &mut Self| -> Option<Vec<u8>> { strings.get(r.varint()? as usize).cloned() };
        Some(match self.byte()? {
            0 => Reply::Nil,
            1 => {
                let z = self.varint()?;
                Reply::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => Reply::Bulk(string(self)?),
            3 => Reply::Status(Cow::Owned(String::from_utf8(string(self)?).ok()?)),
            4 => {
                let n = self.varint()? as usize;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value(strings, depth + 1)?);
                }
                Reply::Array(items)
            }
            _ => return None,
        })
    }
}

/// Encodes replies (status, bulk, integer, nil, arrays) in the blob format.
pub fn encode(root: &Reply) -> Vec<u8> {
    fn collect(r: &Reply, strings: &mut Vec<Vec<u8>>, index: &mut HashMap<Vec<u8>, u64>) {
        let s: &[u8] = match r {
            Reply::Bulk(b) => b,
            Reply::Status(s) => s.as_bytes(),
            Reply::Array(items) => {
                items.iter().for_each(|i| collect(i, strings, index));
                return;
            }
            _ => return,
        };
        if !index.contains_key(s) {
            index.insert(s.to_vec(), strings.len() as u64);
            strings.push(s.to_vec());
        }
    }
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn value(out: &mut Vec<u8>, r: &Reply, index: &HashMap<Vec<u8>, u64>) {
        match r {
            Reply::Int(n) => {
                out.push(1);
                varint(out, ((n << 1) ^ (n >> 63)) as u64);
            }
            Reply::Bulk(b) => {
                out.push(2);
                varint(out, index.get(b.as_slice()).copied().unwrap_or(0));
            }
            Reply::Status(s) => {
                out.push(3);
                varint(out, index.get(s.as_bytes()).copied().unwrap_or(0));
            }
            Reply::Array(items) => {
                out.push(4);
                varint(out, items.len() as u64);
                items.iter().for_each(|i| value(out, i, index));
            }
            _ => out.push(0),
        }
    }
    let (mut strings, mut index) = (Vec::new(), HashMap::new());
    collect(root, &mut strings, &mut index);
    let mut out = MAGIC.to_vec();
    varint(&mut out, strings.len() as u64);
    for s in &strings {
        varint(&mut out, s.len() as u64);
        out.extend_from_slice(s);
    }
    value(&mut out, root, &index);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = Reply::Array(vec![
            Reply::Bulk(b"get".to_vec()),
            Reply::Int(-3),
            Reply::Int(i64::MIN),
            Reply::Status(Cow::Borrowed("fast")),
            Reply::Array(vec![Reply::Nil, Reply::Bulk(b"get".to_vec())]),
        ]);
        assert_eq!(decode(&encode(&v)), Some(v));
        assert_eq!(decode(b"AOFLABCMD1\x01\x05ab"), None);
        assert_eq!(decode(b"nope"), None);
    }

    #[test]
    fn recorded_metadata_decodes() {
        let get = lookup("get").expect("get is recorded");
        assert_eq!(get.arity(), 2);
        assert_eq!(get.flags(), vec!["readonly", "fast"]);
        assert_eq!(get.acl_categories(), vec!["@read", "@string", "@fast"]);
        assert!(lookup("config|get").is_some());
    }
}
