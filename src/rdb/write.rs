//! The RDB writer (`rdbSaveRio`): the header and aux fields, then per non-empty db SELECTDB,
//! RESIZEDB and the entries, then EOF and the CRC-64.
//!
//! Each value is written as Redis 7.0 writes it, in its in-memory encoding: `QUICKLIST_2` (18)
//! for a list, `SET_INTSET` (11) or a plain set (2), `HASH_LISTPACK` (16) or a plain hash (4),
//! `ZSET_LISTPACK` (17) or `ZSET_2` (5), `STREAM_LISTPACKS_2` (19); the one writer of
//! [`super::dump`], which a DUMP payload shares (its table says how each is chosen and what is
//! approximate). Every string goes through `rdbSaveRawString`: INT encoding for small integers,
//! then LZF (`rdbcompression yes`) for more than 20 bytes.

use super::dump::{Limits, object_type, write_object_value};
use super::{RDB_OPCODE_AUX, RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_RESIZEDB, RDB_OPCODE_SELECTDB, RDB_VERSION, push_len, push_string};
use crate::keyspace::{Db, Value};

/// `rdbSaveRawString` with `rdbcompression yes`: strings longer than 20 bytes are LZF-compressed
/// when that saves at least 4 bytes (`lzf_compress` into a buffer of `len - 4` bytes).
pub fn push_string_lzf(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() > 20 {
        // The header, with room for the largest compressed length, then the compressed bytes
        // straight after it: no buffer of their own. A shorter length moves them back.
        let start = out.len();
        out.push(0xC3);
        push_len(out, (s.len() - 4) as u64);
        push_len(out, s.len() as u64);
        let room = out.len();
        if let Some(n) = super::lzf::compress_into(s, s.len() - 4, out) {
            let ((clen, cn), (len, ln)) = (len_bytes(n as u64), len_bytes(s.len() as u64));
            let at = start + 1 + cn + ln;
            out.copy_within(room.., at);
            out.truncate(at + n);
            if let (Some(to), Some(c), Some(l)) = (out.get_mut(start + 1..at), clen.get(..cn), len.get(..ln)) {
                let (to_c, to_l) = to.split_at_mut(cn);
                to_c.copy_from_slice(c);
                to_l.copy_from_slice(l);
            }
            return;
        }
        out.truncate(start);
    }
    push_string(out, s);
}

/// [`push_len`]'s bytes, in an array: the encoded length and how many of its bytes count.
fn len_bytes(len: u64) -> ([u8; 9], usize) {
    match (u16::try_from(len), u32::try_from(len)) {
        (Ok(short), _) if short < 1 << 14 => {
            let [hi, lo] = short.to_be_bytes();
            if short < 1 << 6 { ([lo, 0, 0, 0, 0, 0, 0, 0, 0], 1) } else { ([0x40 | hi, lo, 0, 0, 0, 0, 0, 0, 0], 2) }
        }
        (_, Ok(word)) => {
            let [a, b, c, d] = word.to_be_bytes();
            ([0x80, a, b, c, d, 0, 0, 0, 0], 5)
        }
        _ => {
            let [a, b, c, d, e, f, g, h] = len.to_be_bytes();
            ([0x81, a, b, c, d, e, f, g, h], 9)
        }
    }
}

/// Magic and the aux fields of `rdbSaveInfoAuxFields`; `aof-base` is 1 for an AOF base and 0
/// otherwise (a `SAVE` of 7.0.15 writes `aof-base` 0; `repl-*` fields need a replication setup).
pub fn write_header_aux(out: &mut Vec<u8>, unixtime: i64, used_mem: u64, aof_base: bool) {
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    let mut aux = |k: &str, v: &str| {
        out.push(RDB_OPCODE_AUX);
        push_string_lzf(out, k.as_bytes());
        push_string_lzf(out, v.as_bytes());
    };
    aux("redis-ver", "7.0.15");
    aux("redis-bits", "64");
    aux("ctime", &unixtime.to_string());
    aux("used-mem", &used_mem.to_string());
    aux("aof-base", if aof_base { "1" } else { "0" });
}

/// `rdbSaveFunctions`: an `RDB_OPCODE_FUNCTION2` and the code of each library (an RDB string,
/// LZF-compressed under `rdbcompression`), after the aux fields and before the dbs.
pub fn write_functions(out: &mut Vec<u8>, codes: &[Vec<u8>], compress: bool) {
    for code in codes {
        out.push(super::RDB_OPCODE_FUNCTION2);
        if compress { push_string_lzf(out, code) } else { push_string(out, code) }
    }
}

/// A whole RDB of `dbs` (`rdbSaveRio`, `rdbcompression` and `rdbchecksum` on, no functions,
/// `list-max-listpack-size` -2): the stepped child's writer ([`crate::child::SnapshotWriter`])
/// in one step. Keys already past their TTL are written too, as Redis does.
pub fn write_rdb(dbs: &[Db], unixtime: i64, used_mem: u64, aof_base: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    crate::child::SnapshotWriter::new(crate::child::Format::Rdb { aof_base }, unixtime, used_mem).step(dbs, 0, &mut out);
    out
}

/// SELECTDB and RESIZEDB before the first key of a non-empty db.
pub(crate) fn write_db_header(out: &mut Vec<u8>, db: &Db) {
    out.push(RDB_OPCODE_SELECTDB);
    push_len(out, db.id as u64);
    out.push(RDB_OPCODE_RESIZEDB);
    push_len(out, db.len() as u64);
    push_len(out, db.expires_len() as u64);
}

/// One key: its absolute expiry if it has one, then `rdbSaveObjectType`, the key and
/// `rdbSaveObject` ([`super::dump`]'s encodings under `limits`); `compress` is `rdbcompression`.
pub(crate) fn write_key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire: Option<i64>, limits: &Limits, compress: bool) {
    if let Some(ms) = expire {
        out.push(RDB_OPCODE_EXPIRETIME_MS);
        out.extend_from_slice(&ms.to_le_bytes());
    }
    let push: fn(&mut Vec<u8>, &[u8]) = if compress { push_string_lzf } else { push_string };
    out.push(object_type(value, limits));
    push(out, key);
    write_object_value(out, value, limits, push);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn liblzf_refuses_what_would_fit_only_without_its_margins() {
        // Observed with redis-server 7.0.15: these compress to len - 4 bytes, yet Redis stores
        // them raw, because liblzf gave up while writing into a buffer of len - 4 bytes.
        for s in [&b"aaaabbbaaabbaaaaaaabbbb"[..], b"abbbbaabbbabbabbbaababbaab", b"bbbabbbbabaabbbaabbaabbbabb"] {
            assert_eq!(::lzf::compress(s).unwrap().len(), s.len() - 4);
            let mut out = Vec::new();
            push_string_lzf(&mut out, s);
            assert_eq!(out[0] as usize, s.len(), "stored raw");
        }
        let mut out = Vec::new();
        push_string_lzf(&mut out, &[b'x'; 40]);
        assert_eq!(out, b"\xc3\x09\x28\x01xx\xe0\x1b\x00\x01xx");
    }

    #[test]
    fn len_bytes_are_push_len() {
        for len in [0, 1, 63, 64, 16383, 16384, u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX] {
            let mut v = Vec::new();
            push_len(&mut v, len);
            let (b, n) = len_bytes(len);
            assert_eq!(&b[..n], v.as_slice(), "{len}");
        }
    }

    /// The compressed string written after its header in place: the same bytes as the header
    /// of the compressed length followed by [`super::super::lzf::compress`]'s output, whether
    /// the length takes fewer bytes than the room left for it (16 384 → 16 380 does not; 70
    /// bytes of `x` compress to far fewer than 64) or not, after whatever came before in `out`.
    #[test]
    fn compressed_in_place_as_apart() {
        let mut rng = fastrand::Rng::with_seed(9);
        for n in [21, 40, 66, 68, 100, 1000, 16383, 16384, 16390, 70000] {
            for alphabet in [1, 2, 4, 60] {
                let s: Vec<u8> = (0..n).map(|_| b'a' + rng.u8(..alphabet)).collect();
                let mut expect = b"prefix".to_vec();
                match super::super::lzf::compress(&s, s.len() - 4) {
                    Some(c) => {
                        expect.push(0xC3);
                        push_len(&mut expect, c.len() as u64);
                        push_len(&mut expect, s.len() as u64);
                        expect.extend_from_slice(&c);
                    }
                    None => push_string(&mut expect, &s),
                }
                let mut out = b"prefix".to_vec();
                push_string_lzf(&mut out, &s);
                assert_eq!(out, expect, "{n} bytes of {alphabet} letters");
            }
        }
    }
}
