//! The stream in an RDB: `RDB_TYPE_STREAM_LISTPACKS_2` (19, Redis 7.0) written and read, and
//! `RDB_TYPE_STREAM_LISTPACKS` (15, Redis 5.0 – 6.2) read.
//!
//! ```text
//! <len nodes> (<str 16-byte master ID> <str listpack>)*      the nodes, as they are in memory
//! <len length> <len last_id.ms> <len last_id.seq>
//! <len first_id.ms> <len first_id.seq>                          } 19 only
//! <len max_deleted.ms> <len max_deleted.seq> <len entries_added> }
//! <len groups> per group:
//!   <str name> <len last_id.ms> <len last_id.seq> [<len entries_read> (19 only; -1 as 2^64-1)]
//!   <len pel> (<16-byte ID> <8-byte LE delivery time> <len delivery count>)*
//!   <len consumers> per consumer: <str name> <8-byte LE seen time> <len pel> (<16-byte ID>)*
//! ```
//!
//! A type-15 stream has no first ID, tombstone ID or added count: they are derived as
//! `rdbLoadObject` does (the first live entry, none, the length), and each group's read counter
//! is estimated from its last ID. Strings go through `rdbSaveRawString` (the node keys are 16
//! bytes: never compressed; a listpack over 20 bytes is LZF-compressed when that saves space).
//!
//! Compared with Redis: every node listpack is checked in depth on load (Redis does that only
//! with `sanitize-dump-payload yes`), and a PEL entry without a consumer is refused, so that a
//! corrupt file is an error here rather than a crash later.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use super::{RdbError, push_len};
use crate::keyspace::stream::listpack as lp;
use crate::keyspace::stream::{ConsumerGroup, FLAG_SAMEFIELDS, Nack, Stream, StreamId};

/// `RDB_TYPE_STREAM_LISTPACKS`.
pub const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
/// `RDB_TYPE_STREAM_LISTPACKS_2`.
pub const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// What the stream reader needs from the RDB reader.
#[allow(clippy::len_without_is_empty)] // `len` reads a length, as `rdbLoadLen`
pub trait Source {
    /// `rdbLoadLen`.
    fn len(&mut self) -> Result<u64, RdbError>;
    /// `rdbGenericLoadStringObject`.
    fn string(&mut self) -> Result<Vec<u8>, RdbError>;
    /// `rioRead` of 16 bytes: a raw ID.
    fn raw_id(&mut self) -> Result<[u8; 16], RdbError>;
    /// `rdbLoadMillisecondTime`: 8 bytes, little-endian.
    fn millis(&mut self) -> Result<i64, RdbError>;
    /// The offset errors name.
    fn pos(&self) -> usize;
}

/// The value part of a stream (`rdbSaveObject`); `push` is `rdbSaveRawString` with or without
/// compression.
pub fn write(out: &mut Vec<u8>, s: &Stream, push: fn(&mut Vec<u8>, &[u8])) {
    push_len(out, s.rax.len() as u64);
    for (id, node) in &s.rax {
        push(out, &id.encode());
        push(out, node);
    }
    for n in [
        s.length,
        s.last_id.ms,
        s.last_id.seq,
        s.first_id.ms,
        s.first_id.seq,
        s.max_deleted_entry_id.ms,
        s.max_deleted_entry_id.seq,
        s.entries_added,
    ] {
        push_len(out, n);
    }
    push_len(out, s.cgroups.len() as u64);
    for (name, g) in &s.cgroups {
        push(out, name);
        push_len(out, g.last_id.ms);
        push_len(out, g.last_id.seq);
        // -1 (unknown) is saved as a 64-bit length, as Redis does.
        push_len(out, g.entries_read.cast_unsigned());
        push_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id.encode());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            push_len(out, nack.delivery_count);
        }
        push_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            push(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            push_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.encode());
            }
        }
    }
}

fn corrupt<T>(at: usize, message: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError { offset: at, message: message.into() })
}

/// Reads a stream of type `t` (15 or 19), with `rdbLoadObject`'s checks and messages.
pub fn read(r: &mut dyn Source, t: u8) -> Result<Stream, RdbError> {
    let v2 = t == RDB_TYPE_STREAM_LISTPACKS_2;
    let mut s = Stream::new();
    let nodes = r.len()?;
    for _ in 0..nodes {
        let at = r.pos();
        let key = r.string()?;
        let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) else {
            return corrupt(at, "Stream node key entry is not the size of a stream ID");
        };
        let at = r.pos();
        let node = r.string()?;
        if !valid_node(&node) {
            return corrupt(at, "Stream listpack integrity check failed.");
        }
        if lp::first(&node).is_none() {
            return corrupt(at, "Empty listpack inside stream");
        }
        if s.insert_node(StreamId::decode(&key), node) {
            return corrupt(at, "Listpack re-added with existing key");
        }
    }
    s.length = r.len()?;
    s.last_id = StreamId::new(r.len()?, r.len()?);
    if v2 {
        s.first_id = StreamId::new(r.len()?, r.len()?);
        s.max_deleted_entry_id = StreamId::new(r.len()?, r.len()?);
        s.entries_added = r.len()?;
    } else {
        s.entries_added = s.length;
        s.first_id = s.edge_id(true, true);
    }
    if s.length != 0 && s.rax.is_empty() {
        return corrupt(r.pos(), "Stream length inconsistent with rax entries");
    }
    let groups = r.len()?;
    for _ in 0..groups {
        let at = r.pos();
        let name = r.string()?;
        let last_id = StreamId::new(r.len()?, r.len()?);
        let entries_read = if v2 { r.len()?.cast_signed() } else { s.estimate_distance_from_first_ever_entry(last_id) };
        if s.cgroups.contains_key(&name) {
            return corrupt(at, format!("Duplicated consumer group name {}", String::from_utf8_lossy(&name)));
        }
        let mut g = ConsumerGroup::new(last_id, entries_read);
        let pel = r.len()?;
        for _ in 0..pel {
            let at = r.pos();
            let id = StreamId::decode(&r.raw_id()?);
            let delivery_time = r.millis()?;
            let delivery_count = r.len()?;
            if g.pel.insert(id, Nack { delivery_time, delivery_count, consumer: None }).is_some() {
                return corrupt(at, "Duplicated global PEL entry loading stream consumer group");
            }
        }
        let consumers = r.len()?;
        for _ in 0..consumers {
            let at = r.pos();
            let cname = r.string()?;
            if !g.create_consumer(&cname, 0) {
                return corrupt(at, "Duplicate stream consumer detected.");
            }
            let seen = r.millis()?;
            let pel = r.len()?;
            let mut owned = std::collections::BTreeSet::new();
            for _ in 0..pel {
                let at = r.pos();
                let id = StreamId::decode(&r.raw_id()?);
                let Some(nack) = g.pel.get_mut(&id) else {
                    return corrupt(at, "Consumer entry not found in group global PEL");
                };
                nack.consumer = Some(cname.clone());
                if !owned.insert(id) {
                    return corrupt(at, "Duplicated consumer PEL entry  loading a stream consumer group");
                }
            }
            if let Some(c) = g.consumers.get_mut(&cname) {
                c.seen_time = seen;
                c.pel = owned;
            }
        }
        // A NACK claimed by two consumers keeps the last one, as Redis's pointer would; it
        // must then leave the first one's PEL.
        let owners: Vec<(StreamId, Vec<u8>)> = g.pel.iter().filter_map(|(id, n)| n.consumer.clone().map(|c| (*id, c))).collect();
        for (cname, c) in g.consumers.iter_mut() {
            c.pel.retain(|id| owners.iter().any(|(oid, o)| oid == id && o == cname));
        }
        if g.pel.values().any(|n| n.consumer.is_none()) {
            return corrupt(at, "Stream CG PEL entry without consumer");
        }
        s.cgroups.insert(name, g);
    }
    Ok(s)
}

/// `streamValidateListpackIntegrity` in deep mode: a valid listpack whose elements form a
/// master entry and then `count + deleted` entries of the right shapes.
pub fn valid_node(node: &[u8]) -> bool {
    if lp::validate(node).is_none() {
        return false;
    }
    let mut p = lp::first(node);
    let int = |p: &mut Option<usize>| -> Option<i64> {
        let at = (*p)?;
        let v = lp::get_int_checked(node, at)?;
        *p = lp::next(node, at);
        Some(v)
    };
    let skip = |p: &mut Option<usize>, n: i64| -> bool {
        for _ in 0..n {
            let Some(at) = *p else { return false };
            *p = lp::next(node, at);
        }
        true
    };
    let mut check = || -> Option<()> {
        let count = int(&mut p)?;
        let deleted = int(&mut p)?;
        let master_fields = int(&mut p)?;
        if master_fields < 0 || !skip(&mut p, master_fields) {
            return None;
        }
        if int(&mut p)? != 0 {
            return None;
        }
        let mut entries = count.checked_add(deleted)?;
        if entries < 0 {
            return None;
        }
        while entries > 0 {
            entries -= 1;
            let flags = int(&mut p)?;
            int(&mut p)?; // ms delta
            int(&mut p)?; // seq delta
            let mut fields = master_fields;
            let mut extra = 3;
            if flags & FLAG_SAMEFIELDS == 0 {
                fields = int(&mut p)?;
                if fields < 0 || !skip(&mut p, fields) {
                    return None;
                }
                extra += fields + 1;
            }
            if !skip(&mut p, fields) {
                return None;
            }
            if int(&mut p)? != fields + extra {
                return None;
            }
        }
        // Nothing may follow the last entry.
        p.is_none().then_some(())
    };
    check().is_some()
}
