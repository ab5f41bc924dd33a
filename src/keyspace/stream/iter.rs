//! `streamIterator`: the entries of a stream in ID order (or reversed), read straight from the
//! node listpacks, a port of `t_stream.c`'s `streamIteratorGetID` / `streamIteratorGetField`.
//!
//! A node's listpack holds a *master entry* (`count`, `deleted`, the master field names, a
//! `0` terminator) and then the entries, each `flags ms-delta seq-delta [num-fields fields…]
//! values… lp-count`; `lp-count` (the number of elements before it in the entry) lets a
//! reverse walk jump from one entry's end to its start. An entry flagged `SAMEFIELDS` takes its
//! field names from the master entry; one flagged `DELETED` is a tombstone, skipped unless
//! `skip_tombstones` is off.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::StreamId;
use super::listpack::{self as lp, Ele};

/// `STREAM_ITEM_FLAG_DELETED`.
pub const FLAG_DELETED: i64 = 1;
/// `STREAM_ITEM_FLAG_SAMEFIELDS`.
pub const FLAG_SAMEFIELDS: i64 = 2;

/// One entry: its ID and its fields and values, alternating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub fields: Vec<Ele<'a>>,
}

pub struct StreamIter<'a> {
    rax: &'a BTreeMap<StreamId, Vec<u8>>,
    /// The node the next `raxNext` / `raxPrev` yields.
    next_node: Option<StreamId>,
    pub(super) node: StreamId,
    master_id: StreamId,
    master_fields_count: u64,
    master_fields_start: Option<usize>,
    master_fields_ptr: Option<usize>,
    lp: Option<&'a [u8]>,
    lp_ele: Option<usize>,
    /// Where the flags of the entry last returned are (for a deletion).
    pub(super) lp_flags: usize,
    entry_flags: i64,
    rev: bool,
    pub skip_tombstones: bool,
    start: StreamId,
    end: StreamId,
}

fn nx(lp: &[u8], p: Option<usize>) -> Option<usize> {
    p.and_then(|p| lp::next(lp, p))
}
fn pv(lp: &[u8], p: Option<usize>) -> Option<usize> {
    p.and_then(|p| lp::prev(lp, p))
}
fn gi(lp: &[u8], p: Option<usize>) -> i64 {
    p.map_or(0, |p| lp::get_int(lp, p))
}

impl<'a> StreamIter<'a> {
    /// `streamIteratorStart`: `None` bounds are the smallest and largest IDs.
    pub fn new(rax: &'a BTreeMap<StreamId, Vec<u8>>, start: Option<StreamId>, end: Option<StreamId>, rev: bool) -> StreamIter<'a> {
        let (s, e) = (start.unwrap_or(StreamId::MIN), end.unwrap_or(StreamId::MAX));
        // raxSeek "<=" the bound (the node that may hold it), or the first / last node.
        let first = || rax.keys().next().copied();
        let last = || rax.keys().next_back().copied();
        let at_or_before = |id: StreamId| rax.range(..=id).next_back().map(|(k, _)| *k);
        let next_node = if !rev {
            if s != StreamId::MIN { at_or_before(s).or_else(first) } else { first() }
        } else if e != StreamId::MIN {
            at_or_before(e).or_else(last)
        } else {
            last()
        };
        StreamIter {
            rax,
            next_node,
            node: StreamId::MIN,
            master_id: StreamId::MIN,
            master_fields_count: 0,
            master_fields_start: None,
            master_fields_ptr: None,
            lp: None,
            lp_ele: None,
            lp_flags: 0,
            entry_flags: 0,
            rev,
            skip_tombstones: true,
            start: s,
            end: e,
        }
    }

    /// `raxNext` / `raxPrev`.
    fn step_node(&mut self) -> Option<(StreamId, &'a [u8])> {
        let k = self.next_node?;
        let rax = self.rax;
        let v = rax.get(&k)?;
        self.next_node = if self.rev {
            rax.range(..k).next_back().map(|(k, _)| *k)
        } else {
            rax.range((Bound::Excluded(k), Bound::Unbounded)).next().map(|(k, _)| *k)
        };
        Some((k, v.as_slice()))
    }

    /// The next entry in range: `streamIteratorGetID` followed by a `streamIteratorGetField`
    /// per field (the fields are always consumed, which is what leaves the cursor on the
    /// entry's `lp-count` for the next step).
    pub fn next_entry(&mut self) -> Option<Entry<'a>> {
        loop {
            let lp: &'a [u8] = match self.lp {
                Some(lp) if self.lp_ele.is_some() => {
                    if self.rev {
                        // Back over the entry just emitted, to the previous entry's lp-count.
                        let mut c = gi(lp, self.lp_ele);
                        while c > 0 && self.lp_ele.is_some() {
                            self.lp_ele = pv(lp, self.lp_ele);
                            c -= 1;
                        }
                        self.lp_ele = pv(lp, self.lp_ele);
                    }
                    lp
                }
                _ => {
                    let (key, lp) = self.step_node()?;
                    self.node = key;
                    self.master_id = key;
                    self.lp = Some(lp);
                    let mut p = lp::first(lp); // count
                    p = nx(lp, p); // deleted
                    p = nx(lp, p); // master num fields
                    self.master_fields_count = u64::try_from(gi(lp, p)).unwrap_or(0);
                    p = nx(lp, p); // first master field
                    self.master_fields_start = p;
                    if !self.rev {
                        for _ in 0..self.master_fields_count {
                            p = nx(lp, p);
                        }
                    } else {
                        p = lp::last(lp);
                    }
                    self.lp_ele = p;
                    lp
                }
            };
            loop {
                if !self.rev {
                    // Skip the previous entry's lp-count (or the master terminator).
                    self.lp_ele = nx(lp, self.lp_ele);
                    if self.lp_ele.is_none() {
                        break;
                    }
                } else {
                    let mut c = gi(lp, self.lp_ele);
                    if c == 0 {
                        // The master entry's terminator: this node is done.
                        self.lp = None;
                        self.lp_ele = None;
                        break;
                    }
                    while c > 0 && self.lp_ele.is_some() {
                        self.lp_ele = pv(lp, self.lp_ele);
                        c -= 1;
                    }
                }
                let Some(flags_at) = self.lp_ele else { break };
                self.lp_flags = flags_at;
                let flags = gi(lp, self.lp_ele);
                self.lp_ele = nx(lp, self.lp_ele);
                let id = StreamId {
                    ms: self.master_id.ms.wrapping_add(gi(lp, self.lp_ele) as u64),
                    seq: {
                        self.lp_ele = nx(lp, self.lp_ele);
                        self.master_id.seq.wrapping_add(gi(lp, self.lp_ele) as u64)
                    },
                };
                self.lp_ele = nx(lp, self.lp_ele);
                let samefields = flags & FLAG_SAMEFIELDS != 0;
                let numfields = if samefields {
                    self.master_fields_count
                } else {
                    let n = u64::try_from(gi(lp, self.lp_ele)).unwrap_or(0);
                    self.lp_ele = nx(lp, self.lp_ele);
                    n
                };
                let visible = !self.skip_tombstones || flags & FLAG_DELETED == 0;
                if !self.rev {
                    if id >= self.start && visible {
                        if id > self.end {
                            return None;
                        }
                        self.entry_flags = flags;
                        return Some(self.read_fields(lp, id, numfields));
                    }
                } else if id <= self.end && visible {
                    if id < self.start {
                        return None;
                    }
                    self.entry_flags = flags;
                    return Some(self.read_fields(lp, id, numfields));
                }
                // Not emitted: skip it forwards, or go back to the previous lp-count.
                if !self.rev {
                    let skip = if samefields { numfields } else { numfields.saturating_mul(2) };
                    for _ in 0..skip {
                        self.lp_ele = nx(lp, self.lp_ele);
                        if self.lp_ele.is_none() {
                            break;
                        }
                    }
                } else {
                    let times = if samefields { 4 } else { 5 };
                    for _ in 0..times {
                        self.lp_ele = pv(lp, self.lp_ele);
                    }
                }
            }
        }
    }

    /// `streamIteratorGetField`, for every field of the entry just found.
    fn read_fields(&mut self, lp: &'a [u8], id: StreamId, numfields: u64) -> Entry<'a> {
        let samefields = self.entry_flags & FLAG_SAMEFIELDS != 0;
        if samefields {
            self.master_fields_ptr = self.master_fields_start;
        }
        let mut fields = Vec::with_capacity(numfields.min(1024) as usize * 2);
        for _ in 0..numfields {
            if self.lp_ele.is_none() {
                break; // only on bytes that are not a stream node
            }
            let field = if samefields {
                let f = self.master_fields_ptr.map_or(Ele::Int(0), |p| lp::get(lp, p));
                self.master_fields_ptr = nx(lp, self.master_fields_ptr);
                f
            } else {
                let f = self.lp_ele.map_or(Ele::Int(0), |p| lp::get(lp, p));
                self.lp_ele = nx(lp, self.lp_ele);
                f
            };
            let value = self.lp_ele.map_or(Ele::Int(0), |p| lp::get(lp, p));
            self.lp_ele = nx(lp, self.lp_ele);
            fields.push(field);
            fields.push(value);
        }
        Entry { id, fields }
    }
}
