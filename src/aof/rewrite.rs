//! The RESP form of an AOF rewrite (`rewriteAppendOnlyFileRio`, `aof-use-rdb-preamble no`):
//! the dataset as the shortest commands that rebuild it.
//!
//! ```text
//! #TS:<now>                      only with aof-timestamp-enabled
//! FUNCTION LOAD <code>           one per function library (`rewriteFunctions`), before any db
//! SELECT <db>                    for every db that has keys
//! SET k v | RPUSH k e1..e64 | SADD k m1..m64 | ZADD k s1 m1..s64 m64 | HMSET k f1 v1..f64 v64
//! XADD k id f v … | XSETID … | XGROUP CREATE … | XCLAIM …   a stream: see [`super::rewrite_stream`]
//! PEXPIREAT k <ms>               after a key that has a TTL
//! ```
//!
//! At most 64 elements per command (`AOF_REWRITE_ITEMS_PER_CMD`); scores are printed with
//! `%.17g`; a key whose TTL has already passed is still written (with its past PEXPIREAT), as the
//! 7.0 child does: it never checks expiry. Element order follows what Redis iterates: head to tail
//! for lists, numeric order for an intset, insertion order for a listpack hash, ascending for a
//! listpack zset. (Redis walks a skiplist zset, a hash table set or hash through its dict, in
//! hash order; here they come in score or insertion order: the same content.)

use crate::keyspace::{Db, Value};
use crate::resp::encode_command;
use crate::util::fmt_g17;

/// `AOF_REWRITE_ITEMS_PER_CMD`.
pub const ITEMS_PER_CMD: usize = 64;

/// `rewriteFunctions`: a `FUNCTION LOAD <code>` per library, the code as it was loaded.
pub fn rewrite_functions(out: &mut Vec<u8>, codes: &[Vec<u8>]) {
    for code in codes {
        encode_command(out, &[b"FUNCTION".as_slice(), b"LOAD", code]);
    }
}

/// Appends the RESP rewrite of one key (and its TTL) to `out`.
pub fn rewrite_key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire: Option<i64>) {
    match value {
        Value::String(s) => encode_command(out, &[b"SET".as_slice(), key, s]),
        Value::List(l) => {
            let items: Vec<&[u8]> = l.iter().map(Vec::as_slice).collect();
            batched(out, b"RPUSH", key, &items);
        }
        Value::Set(s) => {
            let items: Vec<&[u8]> = s.ordered();
            batched(out, b"SADD", key, &items);
        }
        Value::ZSet(z) => {
            let scores: Vec<(String, &[u8])> = z.iter().map(|(m, s)| (fmt_g17(s), m)).collect();
            let items: Vec<&[u8]> = scores.iter().flat_map(|(s, m)| [s.as_bytes(), *m]).collect();
            batched_pairs(out, b"ZADD", key, &items);
        }
        Value::Hash(h) => {
            let items: Vec<&[u8]> = h.iter().flat_map(|(f, v)| [f.as_slice(), v.as_slice()]).collect();
            batched_pairs(out, b"HMSET", key, &items);
        }
        Value::Stream(s) => super::rewrite_stream::rewrite_stream(out, key, s),
    }
    if let Some(when) = expire {
        encode_command(out, &[b"PEXPIREAT".as_slice(), key, when.to_string().as_bytes()]);
    }
}

fn batched(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], items: &[&[u8]]) {
    for chunk in items.chunks(ITEMS_PER_CMD) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        argv.push(cmd);
        argv.push(key);
        argv.extend_from_slice(chunk);
        encode_command(out, &argv);
    }
}

/// Pairs (score+member, field+value): 64 pairs per command.
fn batched_pairs(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], items: &[&[u8]]) {
    for chunk in items.chunks(ITEMS_PER_CMD * 2) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        argv.push(cmd);
        argv.push(key);
        argv.extend_from_slice(chunk);
        encode_command(out, &argv);
    }
}

/// The whole RESP base for `dbs`: the `#TS` line if asked, then for each non-empty db its
/// SELECT and its keys. The stepped child ([`crate::child::SnapshotWriter`]) writes the same
/// bytes a few keys at a time.
pub fn rewrite_resp(dbs: &[Db], unixtime: i64, timestamps: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if timestamps {
        out.extend_from_slice(format!("#TS:{unixtime}\r\n").as_bytes());
    }
    for db in dbs.iter().filter(|db| !db.is_empty()) {
        encode_command(&mut out, &[b"SELECT".as_slice(), db.id.to_string().as_bytes()]);
        for (key, value) in db.iter() {
            rewrite_key(&mut out, key, value, db.expire_of(key));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::SetValue;

    #[test]
    fn batches_of_64() {
        let mut out = Vec::new();
        let list = Value::List((0..70).map(|i| i.to_string().into_bytes()).collect());
        rewrite_key(&mut out, b"l", &list, Some(1_700_000_000_000));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"), "{text}");
        assert!(text.contains("*8\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$2\r\n64\r\n"));
        assert!(text.ends_with("*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nl\r\n$13\r\n1700000000000\r\n"));
    }

    #[test]
    fn intset_in_numeric_order() {
        let mut s = SetValue::default();
        for m in ["3", "1", "2"] {
            s.insert(m.as_bytes().to_vec());
        }
        let mut out = Vec::new();
        rewrite_key(&mut out, b"s", &Value::Set(s), None);
        assert_eq!(out, b"*5\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    }
}
