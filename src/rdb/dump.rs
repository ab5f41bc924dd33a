//! The DUMP payload (`createDumpPayload` / `verifyDumpPayload` in Redis's `cluster.c`): one value
//! as an RDB file would hold it, without its key, followed by a footer.
//!
//! ```text
//! <type byte> <object as rdbSaveObject writes it>  <RDB version: 2 bytes LE (10)>  <CRC-64: 8 bytes LE>
//! ```
//!
//! The CRC-64 (Jones, the RDB's own) covers everything before it, version included. RESTORE
//! refuses a payload shorter than 10 bytes, of a newer RDB version than 10, or with a wrong
//! CRC ("DUMP payload version or checksum are wrong"), then one it cannot load ("Bad data
//! format"; an empty collection is one).
//!
//! **The encodings are Redis 7.0's own**, the same as in every RDB file the engine writes
//! ([`super::write`]: `dump.rdb`, an AOF base): a DUMP reply is seen byte for byte by the client,
//! and those bytes are what Redis would send for the same value:
//!
//! | value | type | object |
//! |---|---|---|
//! | string | 0 | `rdbSaveRawString` (INT-encoded up to 32 bits, LZF past 20 bytes) |
//! | list | 18 `QUICKLIST_2` | node count, then per node: container 2 (packed) and its listpack as a string; nodes filled as RPUSH fills them (`list-max-listpack-size`) |
//! | set, intset | 11 `SET_INTSET` | the intset (smallest width of 2/4/8 bytes, sorted) as a string |
//! | set | 2 | count, members |
//! | hash, small | 16 `HASH_LISTPACK` | the listpack of field, value, … as a string |
//! | hash | 4 | count, field, value … |
//! | zset, listpack | 17 `ZSET_LISTPACK` | listpack of member, score (an integral score as an integer, else `%.17g`) |
//! | zset, skiplist | 5 `ZSET_2` | count, then from the highest: member, binary double |
//! | stream | 19 | as in the RDB ([`super::stream`]) |
//!
//! Compared with Redis: a hash-table set or hash is written in the engine's order, not Redis's
//! hash order (any order loads the same value), and a list whose nodes were split or merged by
//! pushes at the head or by removals has its nodes cut as RPUSH would cut them.

use super::push_len;
use super::write::push_string_lzf;
use crate::keyspace::stream::listpack::{Builder, Ele};
use crate::keyspace::value::{HASH_MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE};
use crate::keyspace::{EncodingHint, Value};
use crate::util::fmt_g17;

/// `SIZE_ESTIMATE_OVERHEAD` of quicklist.c: bytes a node is assumed to grow by, past the element.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// `SIZE_SAFETY_LIMIT`: a count-limited node never grows past this.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// `optimization_level`: the node size limits of `list-max-listpack-size` -1 … -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// The limits that decide a value's compact encoding, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The value is a hash already converted to a hash table ([`crate::keyspace::EncodingHint`]).
    pub hash_is_hashtable: bool,
    pub list_max_listpack_size: i32,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_is_hashtable: false,
            list_max_listpack_size: -2,
            hash_max_listpack_entries: HASH_MAX_LISTPACK_ENTRIES,
            hash_max_listpack_value: MAX_LISTPACK_VALUE,
        }
    }
}

impl Limits {
    /// The limits a key's value is written by: `list-max-listpack-size` as configured, and
    /// whether its hash was converted to a hash table (its [`EncodingHint`]). Any other hash
    /// is judged by the default limits (see `cmd::keys::dump::limits`).
    pub fn of_key(list_max_listpack_size: i32, hint: EncodingHint) -> Limits {
        Limits { list_max_listpack_size, hash_is_hashtable: hint == EncodingHint::Hashtable, ..Limits::default() }
    }
}

/// Would Redis keep this hash in a listpack under `limits`?
pub fn hash_is_listpack(h: &crate::keyspace::Hash, limits: &Limits) -> bool {
    h.len() <= limits.hash_max_listpack_entries
        && h.iter().all(|(f, v)| f.len() <= limits.hash_max_listpack_value && v.len() <= limits.hash_max_listpack_value)
}

/// `createDumpPayload`: the object, the RDB version and the CRC-64.
/// Strings LZF-compressed when `compress` (`rdbcompression`, as `rdbSaveRawString` reads it).
pub fn dump_payload(value: &Value, limits: &Limits, compress: bool) -> Vec<u8> {
    let mut out = vec![object_type(value, limits)];
    write_object_value(&mut out, value, limits, if compress { push_string_lzf } else { super::push_string });
    super::push_dump_footer(&mut out);
    out
}

/// A list's quicklist as the RDB writer splits it: each node's listpack bytes (DEBUG OBJECT's
/// `ql_*` fields).
pub fn list_nodes(value: &Value, limits: &Limits) -> Vec<Vec<u8>> {
    match value {
        Value::List(l) => quicklist_nodes(l.iter().map(Vec::as_slice), limits.list_max_listpack_size, listpack_room(value)),
        _ => Vec::new(),
    }
}

/// `rdbSaveObjectType`: the type byte 7.0 writes for this value (see the module table).
pub fn object_type(value: &Value, limits: &Limits) -> u8 {
    match value {
        Value::String(_) => 0,
        Value::List(_) => 18,
        Value::Set(s) if s.intset => 11,
        Value::Set(_) => 2,
        Value::Hash(h) if !limits.hash_is_hashtable && hash_is_listpack(h, limits) => 16,
        Value::Hash(_) => 4,
        Value::ZSet(z) if !z.is_skiplist() => 17,
        Value::ZSet(_) => 5,
        Value::Stream(_) => super::stream::RDB_TYPE_STREAM_LISTPACKS_2,
    }
}

/// `rdbSaveObject`: the value in the encoding [`object_type`] names; `push` writes each string
/// (`rdbSaveRawString` with or without LZF, as `rdbcompression` says).
pub fn write_object_value(out: &mut Vec<u8>, value: &Value, limits: &Limits, push: fn(&mut Vec<u8>, &[u8])) {
    match value {
        Value::String(s) => push(out, s),
        Value::List(l) => {
            let nodes = quicklist_nodes(l.iter().map(Vec::as_slice), limits.list_max_listpack_size, listpack_room(value));
            push_len(out, nodes.len() as u64);
            for node in nodes {
                push_len(out, 2); // QUICKLIST_NODE_CONTAINER_PACKED
                push(out, &node);
            }
        }
        Value::Set(s) if s.intset => {
            let ints: Vec<i64> = s.ordered().iter().filter_map(|m| crate::util::string2ll(m)).collect();
            push(out, &intset_bytes(&ints));
        }
        Value::Set(s) => {
            push_len(out, s.len() as u64);
            for m in s.ordered() {
                push(out, m);
            }
        }
        Value::Hash(h) if object_type(value, limits) == 16 => {
            let mut lp = Builder::with_capacity(listpack_room(value));
            for (f, v) in h {
                lp.push(Ele::Str(f));
                lp.push(Ele::Str(v));
            }
            push(out, &lp.finish());
        }
        Value::Hash(h) => {
            push_len(out, h.len() as u64);
            for (f, v) in h {
                push(out, f);
                push(out, v);
            }
        }
        Value::ZSet(z) if !z.is_skiplist() => {
            let mut lp = Builder::with_capacity(listpack_room(value));
            for (m, s) in z.iter() {
                lp.push(Ele::Str(m));
                // zzlInsertAt: an integral score is an integer, anything else its %.17g text.
                match crate::util::double2ll(s) {
                    Some(i) => lp.push(Ele::Int(i)),
                    None => lp.push(Ele::Str(fmt_g17(s).as_bytes())),
                }
            }
            push(out, &lp.finish());
        }
        Value::ZSet(z) => {
            // A skiplist from the tail, so that loading inserts at the head.
            push_len(out, z.len() as u64);
            for (m, s) in z.iter().rev() {
                push(out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Value::Stream(s) => super::stream::write(out, s, push),
    }
}

/// The listpacks of a quicklist filled by RPUSH (`_quicklistNodeAllowInsert`): a node takes
/// an element while its size plus the element plus 8 stays within the limit of a negative
/// `fill`, or, for a positive one, while it has fewer than `fill` elements and stays within 8 KB.
fn quicklist_nodes<'a>(elems: impl Iterator<Item = &'a [u8]>, fill: i32, room: usize) -> Vec<Vec<u8>> {
    let limit = usize::try_from(fill.unsigned_abs()).ok().and_then(|f| f.checked_sub(1)).and_then(|i| OPTIMIZATION_LEVEL.get(i)).copied();
    let room = room.min(limit.unwrap_or(SIZE_SAFETY_LIMIT) + 64);
    let mut nodes: Vec<Vec<u8>> = Vec::new();
    let mut node: Option<Builder> = None;
    let mut count = 0usize;
    for e in elems {
        let allow = node.as_ref().is_some_and(|node| {
            let new_sz = node.bytes() + e.len() + SIZE_ESTIMATE_OVERHEAD;
            match limit {
                Some(limit) if fill < 0 => new_sz <= limit,
                _ if fill < 0 || new_sz > SIZE_SAFETY_LIMIT => false,
                _ => usize::try_from(fill).is_ok_and(|f| count < f),
            }
        });
        if !allow {
            nodes.extend(node.take().map(Builder::finish));
            count = 0;
        }
        node.get_or_insert_with(|| Builder::with_capacity(room)).push(Ele::Str(e));
        count += 1;
    }
    nodes.extend(node.map(Builder::finish));
    nodes
}

/// Room for a value's listpack, from its size estimate (an element of under 64 bytes takes 2
/// bytes besides its own, the estimate counts more per element): one allocation, no regrowth.
fn listpack_room(value: &Value) -> usize {
    value.approx_size()
}

/// An intset: `encoding` (bytes per integer: 2, 4 or 8) and `length` as u32 LE, then the
/// integers sorted, little endian, all at the width of the widest.
fn intset_bytes(ints: &[i64]) -> Vec<u8> {
    let width: usize = if ints.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if ints.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut sorted = ints.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&u32::try_from(width).unwrap_or(8).to_le_bytes());
    out.extend_from_slice(&u32::try_from(sorted.len()).unwrap_or(u32::MAX).to_le_bytes());
    for v in sorted {
        out.extend_from_slice(v.to_le_bytes().get(..width).unwrap_or_default());
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn payload_footer_and_checks() {
        let p = dump_payload(&Value::String(b"hello".to_vec().into()), &Limits::default(), true);
        assert_eq!(&p[..8], b"\x00\x05hello\x0a");
        assert!(super::super::verify_dump_payload(&p));
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert!(!super::super::verify_dump_payload(&bad));
        assert!(!super::super::verify_dump_payload(&p[..9]));
        let mut newer = p[..p.len() - 10].to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = super::super::crc64(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert!(!super::super::verify_dump_payload(&newer));
    }

    #[test]
    fn intset_widths() {
        assert_eq!(intset_bytes(&[3, 1]), b"\x02\0\0\0\x02\0\0\0\x01\0\x03\0");
        assert_eq!(intset_bytes(&[70000])[..4], [4, 0, 0, 0]);
        assert_eq!(intset_bytes(&[1 << 40])[..4], [8, 0, 0, 0]);
    }

    #[test]
    fn quicklist_nodes_split_like_rpush() {
        let big = vec![b'x'; 1000];
        let elems: Vec<&[u8]> = (0..20).map(|_| big.as_slice()).collect();
        let nodes = quicklist_nodes(elems.iter().copied(), -2, 100);
        assert_eq!(nodes.len(), 3);
        assert!(nodes.iter().all(|n| n.len() <= 8192));
        let nodes = quicklist_nodes([&b"a"[..]; 5].into_iter(), 2, 100);
        assert_eq!(nodes.len(), 3);
    }
}
