//! The stream value (`stream.h`, `t_stream.c`): an append-only log of entries, each an ID
//! (`<ms>-<seq>`, two 64-bit numbers, strictly increasing) and field/value pairs, plus the
//! consumer groups that read it.
//!
//! **Layout, as in Redis 7.0.** Entries live in *nodes*: listpacks ([`listpack`]) keyed by the
//! ID of their first entry (the *master ID*) in a radix tree, here a `BTreeMap` in the same
//! order (the 16-byte big-endian key order is numeric ID order). A node starts with a master
//! entry (live count, deleted count, the master field names, `0`); each entry stores its ID as
//! deltas from the master ID and, when its field names are the master's, only its values. A new
//! node starts when the last one reaches `stream-node-max-bytes` (4096) or
//! `stream-node-max-entries` (100). XDEL and exact trimming only *flag* an entry as deleted
//! (a tombstone) and adjust the counts; a node goes when its last live entry does.
//!
//! The bytes are Redis's own because the same operations write them: a node here and the node a
//! real server holds after the same commands are equal byte for byte, so an RDB written here
//! loads there with the same digest and an RDB from there keeps its layout here.
//!
//! Besides the nodes a stream keeps `length`, `last_id` (the top ID ever generated, which XSETID
//! may raise), `first_id`, `max_deleted_entry_id`, `entries_added` (all-time count), and its
//! groups ([`group`]), from which the lag of a group is computed
//! ([`Stream::estimate_distance_from_first_ever_entry`]).
//!
//! Compared with Redis: no preallocation or shrinking of listpack memory (it never shows in the
//! bytes); the radix tree's node count (XINFO's `radix-tree-nodes`) is computed from the keys
//! ([`Stream::rax_nodes`]) rather than kept by a real radix tree.

pub mod group;
pub mod iter;
pub mod listpack;

use std::collections::BTreeMap;
use std::fmt;

pub use group::{Consumer, ConsumerGroup, INVALID_ENTRIES_READ, Nack};
pub use iter::{Entry, FLAG_DELETED, FLAG_SAMEFIELDS, StreamIter};
use listpack::{self as lp, Ele};

/// `streamID`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }
    /// `streamIncrID`: false (and 0-0) past the largest ID.
    pub fn incr(&mut self) -> bool {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                *self = StreamId::MIN;
                return false;
            }
            self.ms += 1;
            self.seq = 0;
        } else {
            self.seq += 1;
        }
        true
    }
    /// `streamDecrID`: false (and the largest ID) before 0-0.
    pub fn decr(&mut self) -> bool {
        if self.seq == 0 {
            if self.ms == 0 {
                *self = StreamId::MAX;
                return false;
            }
            self.ms -= 1;
            self.seq = u64::MAX;
        } else {
            self.seq -= 1;
        }
        true
    }
    /// `streamEncodeID`: 128 bits, big-endian (the radix tree key and the RDB's raw IDs).
    pub fn encode(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }
    /// `streamDecodeID`.
    pub fn decode(b: &[u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        StreamId { ms: u64::from_be_bytes(ms.try_into().unwrap_or_default()), seq: u64::from_be_bytes(seq.try_into().unwrap_or_default()) }
    }
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }
}

impl fmt::Display for StreamId {
    /// `createStreamIDString`: `<ms>-<seq>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Why `streamAppendItem` refused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// `EDOM`: the ID is not above the top item.
    NotGreater,
    /// `ERANGE`: the elements are too large for a listpack.
    TooLarge,
}

/// `STREAM_LISTPACK_MAX_SIZE`.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// The node limits of the configuration (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: i64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// `TRIM_STRATEGY_*` with its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimStrategy {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

/// The trimming part of `streamAddTrimArgs`.
#[derive(Clone, Copy, Debug)]
pub struct TrimArgs {
    pub strategy: TrimStrategy,
    /// `~`: only whole nodes are removed.
    pub approx: bool,
    /// At most this many entries removed; 0 = no limit.
    pub limit: i64,
}

/// `stream`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Stream {
    /// The nodes by master ID (Redis's `rax`).
    pub rax: BTreeMap<StreamId, Vec<u8>>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    /// Groups by name (Redis creates the tree on demand; an empty one behaves the same).
    pub cgroups: BTreeMap<Vec<u8>, ConsumerGroup>,
    /// The nodes' share of [`Stream::approx_size`] (Σ [`node_mem`]), kept by the methods that
    /// add, change or remove nodes, so that the memory estimate does not walk them per XADD.
    nodes_mem: usize,
}

/// A node's share of the memory estimate: its listpack in its allocator size class plus its
/// radix-tree share.
fn node_mem(node: &[u8]) -> usize {
    malloc_size(node.len()) + 56
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Adds a node (the RDB loader); true if one with that key was there (and is replaced).
    pub fn insert_node(&mut self, id: StreamId, node: Vec<u8>) -> bool {
        self.nodes_mem += node_mem(&node);
        let old = self.rax.insert(id, node);
        if let Some(o) = &old {
            self.nodes_mem = self.nodes_mem.saturating_sub(node_mem(o));
        }
        old.is_some()
    }
    /// A node's [`node_mem`] (0 when absent).
    fn node_size(&self, id: &StreamId) -> usize {
        self.rax.get(id).map_or(0, |n| node_mem(n))
    }
    /// Counts the change of node `id` (absent now: removed), whose size was `before`.
    fn node_changed(&mut self, id: &StreamId, before: usize) {
        self.nodes_mem = (self.nodes_mem + self.node_size(id)).saturating_sub(before);
    }

    /// An iterator over `[start, end]` (`None`: unbounded), tombstones skipped.
    pub fn iter(&self, start: Option<StreamId>, end: Option<StreamId>, rev: bool) -> StreamIter<'_> {
        StreamIter::new(&self.rax, start, end, rev)
    }

    /// `streamNextID` with the command's time.
    fn next_id(&self, now_ms: i64) -> StreamId {
        let ms = now_ms as u64;
        if ms > self.last_id.ms {
            StreamId { ms, seq: 0 }
        } else {
            let mut id = self.last_id;
            id.incr();
            id
        }
    }

    /// `streamAppendItem`: `pairs` alternate fields and values. `use_id` is the ID given by the
    /// client; without `seq_given` (`<ms>-*`) its sequence is generated.
    pub fn append_item(
        &mut self,
        pairs: &[&[u8]],
        use_id: Option<StreamId>,
        seq_given: bool,
        now_ms: i64,
        limits: NodeLimits,
    ) -> Result<StreamId, AppendError> {
        let id = match use_id {
            Some(u) if seq_given => u,
            Some(u) if self.last_id.ms == u.ms => {
                if self.last_id.seq == u64::MAX {
                    // 7.0.15 returns here without setting `errno` to EDOM, so XADD answers
                    // its other error ("Elements are too large to be stored").
                    return Err(AppendError::TooLarge);
                }
                StreamId { ms: u.ms, seq: self.last_id.seq + 1 }
            }
            Some(u) => u,
            None => self.next_id(now_ms),
        };
        if id <= self.last_id {
            return Err(AppendError::NotGreater);
        }
        let totelelen: u64 = pairs.iter().map(|e| e.len() as u64).sum();
        if totelelen > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let numfields = pairs.len() / 2;
        // Can the tail node take it?
        let mut tail = self.rax.last_key_value().map(|(k, _)| *k);
        if let Some(k) = tail
            && let Some(node) = self.rax.get(&k)
        {
            let max_bytes =
                if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE { LISTPACK_MAX_SIZE } else { limits.max_bytes };
            let full = if node.len() as u64 + totelelen >= max_bytes {
                true
            } else if limits.max_entries != 0 {
                let p = lp::first(node);
                let live = p.map_or(0, |p| lp::get_int(node, p));
                let deleted = p.and_then(|p| lp::next(node, p)).map_or(0, |p| lp::get_int(node, p));
                live + deleted >= limits.max_entries
            } else {
                false
            };
            if full {
                tail = None;
            }
        }
        // The node appended to, as it was (0: a new node, counted whole below).
        let before = tail.map_or(0, |k| self.node_size(&k));
        let mut flags = 0;
        let master_id = match tail {
            None => {
                let mut node = lp::new();
                lp::append(&mut node, Ele::Int(1)); // one item, the one being added
                lp::append(&mut node, Ele::Int(0)); // none deleted so far
                lp::append(&mut node, Ele::Int(numfields as i64));
                for f in pairs.iter().step_by(2) {
                    lp::append(&mut node, Ele::Str(f));
                }
                lp::append(&mut node, Ele::Int(0)); // the master entry's terminator
                self.rax.insert(id, node);
                flags |= FLAG_SAMEFIELDS;
                id
            }
            Some(k) => {
                let Some(node) = self.rax.get_mut(&k) else { return Err(AppendError::NotGreater) };
                let mut p = lp::first(node).unwrap_or(lp::HDR_SIZE);
                let count = lp::get_int(node, p);
                lp::replace_int(node, p, count + 1);
                p = lp::next(node, p).unwrap_or(p); // deleted
                let mut q = lp::next(node, p); // master num fields
                let master_fields = q.map_or(0, |q| lp::get_int(node, q));
                q = q.and_then(|q| lp::next(node, q));
                if numfields as i64 == master_fields {
                    let same = pairs.iter().step_by(2).all(|f| {
                        let ok = q.is_some_and(|at| lp::get(node, at).eq_bytes(f));
                        q = q.and_then(|at| lp::next(node, at));
                        ok
                    });
                    if same {
                        flags |= FLAG_SAMEFIELDS;
                    }
                }
                k
            }
        };
        let Some(node) = self.rax.get_mut(&master_id) else { return Err(AppendError::NotGreater) };
        lp::append(node, Ele::Int(flags));
        lp::append(node, Ele::Int(id.ms.wrapping_sub(master_id.ms) as i64));
        lp::append(node, Ele::Int(id.seq.wrapping_sub(master_id.seq) as i64));
        let samefields = flags & FLAG_SAMEFIELDS != 0;
        if !samefields {
            lp::append(node, Ele::Int(numfields as i64));
        }
        for pair in pairs.chunks(2) {
            if let [f, v] = pair {
                if !samefields {
                    lp::append(node, Ele::Str(f));
                }
                lp::append(node, Ele::Str(v));
            }
        }
        let lp_count = 3 + numfields as i64 + if samefields { 0 } else { numfields as i64 + 1 };
        lp::append(node, Ele::Int(lp_count));
        self.node_changed(&master_id, before);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// `streamDeleteItem` (through `streamIteratorRemoveEntry`): flags the entry as deleted
    /// and updates its node's counts, or removes the node with its last live entry.
    pub fn delete_item(&mut self, id: StreamId) -> bool {
        let (node_key, flags_at) = {
            let mut it = self.iter(Some(id), Some(id), false);
            if it.next_entry().is_none() {
                return false;
            }
            (it.node, it.lp_flags)
        };
        let before = self.node_size(&node_key);
        let Some(node) = self.rax.get_mut(&node_key) else { return false };
        let flags = lp::get_int(node, flags_at) | FLAG_DELETED;
        lp::replace_int(node, flags_at, flags);
        let p = lp::first(node).unwrap_or(lp::HDR_SIZE);
        let live = lp::get_int(node, p);
        if live == 1 {
            self.rax.remove(&node_key);
        } else {
            lp::replace_int(node, p, live - 1);
            if let Some(d) = lp::next(node, p) {
                let deleted = lp::get_int(node, d);
                lp::replace_int(node, d, deleted + 1);
            }
        }
        self.node_changed(&node_key, before);
        self.length -= 1;
        true
    }

    /// `streamEntryExists`: a live entry with this ID.
    pub fn entry_exists(&self, id: StreamId) -> bool {
        self.iter(Some(id), Some(id), false).next_entry().is_some()
    }

    /// `streamGetEdgeID`: the first or last entry's ID (tombstones included unless skipped);
    /// the largest ID for the first of an empty stream, 0-0 for its last.
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut it = self.iter(None, None, !first);
        it.skip_tombstones = skip_tombstones;
        match it.next_entry() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::MIN,
        }
    }

    /// `streamLastValidID`: the last live entry's ID (0-0 for an empty stream).
    pub fn last_valid_id(&self) -> StreamId {
        self.iter(None, None, true).next_entry().map_or(StreamId::MIN, |e| e.id)
    }

    /// `streamTrim`: removes entries from the head; returns how many.
    pub fn trim(&mut self, args: &TrimArgs) -> i64 {
        if args.strategy == TrimStrategy::None {
            return 0;
        }
        let mut deleted: i64 = 0;
        // From the head, one node at a time (never a walk over every node: XADD … MAXLEN on a
        // long stream touches only the first ones).
        let mut next = self.rax.keys().next().copied();
        while let Some(key) = next {
            next = self.rax.range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded)).next().map(|(k, _)| *k);
            if let TrimStrategy::MaxLen(maxlen) = args.strategy
                && self.length <= maxlen
            {
                break;
            }
            let Some(node) = self.rax.get(&key) else { continue };
            let first = lp::first(node).unwrap_or(lp::HDR_SIZE);
            let entries = lp::get_int(node, first);
            if args.limit != 0 && deleted + entries > args.limit {
                break;
            }
            let remove_node = match args.strategy {
                TrimStrategy::MaxLen(maxlen) => self.length.wrapping_sub(entries as u64) >= maxlen,
                TrimStrategy::MinId(min) => node_last_id(node, key).is_some_and(|last| last < min),
                TrimStrategy::None => false,
            };
            if remove_node {
                if let Some(n) = self.rax.remove(&key) {
                    self.nodes_mem = self.nodes_mem.saturating_sub(node_mem(&n));
                }
                self.length = self.length.wrapping_sub(entries as u64);
                deleted += entries;
                continue;
            }
            if args.approx {
                break;
            }
            // Mark entries deleted from within this node, then stop.
            let before = self.node_size(&key);
            let Some(node) = self.rax.get_mut(&key) else { break };
            let mut deleted_from_lp = 0i64;
            let mut p = lp::next(node, first); // deleted
            p = p.and_then(|p| lp::next(node, p)); // master num fields
            let master_fields = p.map_or(0, |p| lp::get_int(node, p));
            p = p.and_then(|p| lp::next(node, p));
            for _ in 0..master_fields {
                p = p.and_then(|p| lp::next(node, p));
            }
            p = p.and_then(|p| lp::next(node, p)); // past the master terminator
            while let Some(at) = p {
                let flags_at = at;
                let flags = lp::get_int(node, at);
                let mut q = lp::next(node, at);
                let ms_delta = q.map_or(0, |q| lp::get_int(node, q));
                q = q.and_then(|q| lp::next(node, q));
                let seq_delta = q.map_or(0, |q| lp::get_int(node, q));
                q = q.and_then(|q| lp::next(node, q));
                let stop = match args.strategy {
                    TrimStrategy::MaxLen(maxlen) => self.length <= maxlen,
                    TrimStrategy::MinId(min) => {
                        StreamId { ms: key.ms.wrapping_add(ms_delta as u64), seq: key.seq.wrapping_add(seq_delta as u64) } >= min
                    }
                    TrimStrategy::None => true,
                };
                if stop {
                    break;
                }
                let to_skip = if flags & FLAG_SAMEFIELDS != 0 {
                    master_fields
                } else {
                    let n = q.map_or(0, |q| lp::get_int(node, q));
                    q = q.and_then(|q| lp::next(node, q));
                    n.saturating_mul(2)
                };
                for _ in 0..to_skip {
                    q = q.and_then(|q| lp::next(node, q));
                }
                q = q.and_then(|q| lp::next(node, q)); // past lp-count
                if flags & FLAG_DELETED == 0 {
                    // The flags stay one byte, so positions after them do not move.
                    lp::replace_int(node, flags_at, flags | FLAG_DELETED);
                    deleted_from_lp += 1;
                    self.length -= 1;
                }
                p = q;
            }
            deleted += deleted_from_lp;
            lp::replace_int(node, first, entries - deleted_from_lp);
            if let Some(d) = lp::next(node, first) {
                let marked = lp::get_int(node, d);
                lp::replace_int(node, d, marked + deleted_from_lp);
            }
            self.node_changed(&key, before);
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted != 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// `streamRangeHasTombstones`: whether `[start, end]` may hold a deleted entry.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() || self.first_id > self.max_deleted_entry_id {
            return false;
        }
        let (s, e) = (start.unwrap_or(StreamId::MIN), end.unwrap_or(StreamId::MAX));
        s <= self.max_deleted_entry_id && self.max_deleted_entry_id <= e
    }

    /// `streamEstimateDistanceFromFirstEverEntry`: the read counter of `id`, when it can be
    /// known (else [`INVALID_ENTRIES_READ`]).
    pub fn estimate_distance_from_first_ever_entry(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return self.entries_added as i64,
            std::cmp::Ordering::Greater => return INVALID_ENTRIES_READ,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// `streamReplyWithCGLag`: the number of entries the group has yet to read, if known.
    pub fn cg_lag(&self, cg: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if cg.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(cg.last_id), None) {
            return Some((self.entries_added as i64).wrapping_sub(cg.entries_read));
        }
        let read = self.estimate_distance_from_first_ever_entry(cg.last_id);
        (read != INVALID_ENTRIES_READ).then(|| (self.entries_added as i64).wrapping_sub(read))
    }

    /// `s->rax->numnodes`: how many nodes Redis's radix tree of these keys has. Its keys all have
    /// 16 bytes, and insertion and removal (with its recompression) leave a compressed tree:
    /// one node for the head, one per compressed run of single-child bytes, one per branching
    /// point and one per key.
    pub fn rax_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.rax.keys().map(|k| k.encode()).collect();
        if keys.is_empty() {
            return 1;
        }
        fn nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
            if depth == 16 {
                return 1;
            }
            let (Some(a), Some(b)) = (keys.first(), keys.last()) else { return 0 };
            let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if common > depth {
                return 1 + nodes(keys, common);
            }
            let mut n = 1;
            let mut rest = keys;
            while let Some(k) = rest.first() {
                let split = rest.iter().position(|x| x[depth] != k[depth]).unwrap_or(rest.len());
                let (group, tail) = rest.split_at(split);
                n += nodes(group, depth + 1);
                rest = tail;
            }
            n
        }
        nodes(&keys, 0)
    }

    /// An estimate of the bytes Redis allocates for this stream, for INFO memory and the
    /// maxmemory check: each node's listpack in its allocator size class plus its radix-tree
    /// share, and the groups ([`ConsumerGroup::approx_size`]). Within about 10 % of `MEMORY
    /// USAGE` on 7.0.15 for entries of tens to hundreds of bytes.
    /// O(groups + consumers): the nodes' share is kept as they change.
    pub fn approx_size(&self) -> usize {
        let groups: usize = self.cgroups.iter().map(|(n, g)| g.approx_size(n.len())).sum();
        128 + self.nodes_mem + groups
    }
    /// [`Stream::approx_size`] with the nodes walked (what the kept share must equal).
    pub fn approx_size_walk(&self) -> usize {
        let nodes: usize = self.rax.values().map(|lp| node_mem(lp)).sum();
        let groups: usize = self.cgroups.iter().map(|(n, g)| g.approx_size(n.len())).sum();
        128 + nodes + groups
    }
}

/// jemalloc's size class for an allocation of `n` bytes (16-byte steps to 128, then four
/// classes per doubling): what a listpack of `n` bytes really occupies.
pub(crate) fn malloc_size(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let step = (n.next_power_of_two() / 2 / 4).max(1);
    n.div_ceil(step) * step
}

/// `lpGetEdgeStreamID(lp, 0, …)`: the ID of the node's last entry, tombstone or not.
fn node_last_id(node: &[u8], master: StreamId) -> Option<StreamId> {
    let mut p = lp::last(node)?;
    let mut count = lp::get_int(node, p);
    if count == 0 {
        return None;
    }
    while count > 0 {
        p = lp::prev(node, p)?;
        count -= 1;
    }
    let ms = lp::next(node, p)?;
    let seq = lp::next(node, ms)?;
    Some(StreamId { ms: master.ms.wrapping_add(lp::get_int(node, ms) as u64), seq: master.seq.wrapping_add(lp::get_int(node, seq) as u64) })
}

#[cfg(test)]
mod tests;
