//! The six value types and what of Redis's encodings shows through to a user.
//!
//! | type   | here                                   | Redis 7.0 encodings                      |
//! |--------|----------------------------------------|------------------------------------------|
//! | string | `Vec<u8>`                              | int / embstr / raw                       |
//! | list   | [`List`]: a `VecDeque<Vec<u8>>`        | quicklist of listpacks                   |
//! | hash   | [`Hash`]: an insertion-ordered map     | listpack (≤512 fields, ≤64 B) / hashtable|
//! | set    | insertion-ordered set + intset flag    | intset (integers, ≤512) / hashtable      |
//! | zset   | member→score map + sorted blocks       | listpack (≤128, ≤64 B) / skiplist        |
//! | stream | Redis's own listpack nodes ([`super::stream`]) | stream (rax of listpacks)        |
//!
//! The intset flag matters because an intset replies in numeric order (`SADD s 3 1 2;
//! SMEMBERS s` gives `1 2 3`), and a set stays a hashtable once converted, as in Redis. The zset
//! (its own module, [`super::zset`]) records its encoding for the same reason: `-0` scores.
//!
//! **Size.** [`Value::approx_size`] is the memory estimate's per-value figure (INFO's
//! `used_memory`, the RDB's `used-mem`, the `maxmemory` check; see [`super::Db`]). It must cost
//! O(1), since the keyspace's total is kept up to date on every write: each collection keeps the
//! sum of its elements' lengths as it changes ([`List`] and [`Hash`] are read through `Deref`
//! and changed only through their methods, which keep that sum; [`SetValue`] and [`ZSet`] keep it
//! in their insert/remove; a stream keeps its nodes' share, and walks only its consumer groups).

use std::collections::VecDeque;
use std::ops::{Deref, RangeBounds};

use indexmap::map::{RawEntryApiV1, raw_entry_v1::RawEntryMut};

use super::key::MapKey;
pub use super::zset::{Score, ZSet};
use super::{Map, Set};
use crate::util::string2ll;

/// `set-max-intset-entries` default.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// `zset-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// `hash-max-listpack-entries` default (512 in Redis 7.0, unlike zsets).
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
/// `hash-max-listpack-value` / `zset-max-listpack-value` defaults.
pub const MAX_LISTPACK_VALUE: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(List),
    Hash(Hash),
    Set(SetValue),
    ZSet(ZSet),
    Stream(Box<super::stream::Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }
    /// OBJECT ENCODING's answer for a value built by commands (no encoding hint) under Redis
    /// 7.0's default thresholds: see `cmd::keys::object::encoding`, which decides it.
    pub fn encoding(&self) -> &'static str {
        crate::cmd::keys::object::encoding(self, super::EncodingHint::Auto, &crate::rdb::dump::Limits::default())
    }
    /// An approximation of the bytes Redis would use, for INFO memory and the OOM cap: a fixed
    /// header, a per-element overhead and the elements' bytes. O(1) (a stream's: O(its consumer
    /// groups and consumers)); [`Value::approx_size_walk`] is the same figure by a walk.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::String(s) => 16 + s.len(),
            Value::List(l) => 32 + 11 * l.len() + l.bytes,
            Value::Hash(h) => 64 + 24 * h.len() + h.bytes,
            Value::Set(s) => 64 + 16 * s.len() + s.bytes,
            Value::ZSet(z) => 96 + 48 * z.len() + z.member_bytes(),
            Value::Stream(s) => s.approx_size(),
        }
    }
    /// [`Value::approx_size`] computed from the elements themselves, ignoring the kept sums: what
    /// the tests compare the kept figure with.
    pub fn approx_size_walk(&self) -> usize {
        match self {
            Value::String(s) => 16 + s.len(),
            Value::List(l) => 32 + l.iter().map(|e| 11 + e.len()).sum::<usize>(),
            Value::Hash(h) => 64 + h.iter().map(|(f, v)| 24 + f.len() + v.len()).sum::<usize>(),
            Value::Set(s) => 64 + s.members.iter().map(|m| 16 + m.len()).sum::<usize>(),
            Value::ZSet(z) => 96 + z.dict().keys().map(|m| 48 + m.len()).sum::<usize>(),
            Value::Stream(s) => s.approx_size_walk(),
        }
    }
}

/// A set. `intset` is true while every member is a canonical integer and there are at most
/// `set-max-intset-entries` of them; once false it stays false (Redis never converts back).
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue {
    /// Members inline when short ([`MapKey`]).
    members: Set<MapKey>,
    pub intset: bool,
    /// The members' total length (for [`Value::approx_size`]).
    bytes: usize,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue { members: Set::default(), intset: true, bytes: 0 }
    }
}

impl SetValue {
    /// An empty set (an intset until a member says otherwise) with room for `n` members.
    pub fn with_capacity(n: usize) -> SetValue {
        SetValue { members: Set::with_capacity_and_hasher(n, Default::default()), ..SetValue::default() }
    }
    /// The members in insertion order (read only: changes go through insert / remove).
    pub fn members(&self) -> &Set<MapKey> {
        &self.members
    }
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }
    /// Adds a member; true if it was new. Keeps the intset flag as Redis's encoding would.
    pub fn insert<M: AsRef<[u8]> + Into<MapKey>>(&mut self, m: M) -> bool {
        self.insert_limited(m, SET_MAX_INTSET_ENTRIES)
    }
    /// [`SetValue::insert`] under `set-max-intset-entries` as it is now (`setTypeAdd` reads it
    /// on every add).
    /// One lookup (two while the set is an intset at its limit); the member is copied
    /// (`M: Into<MapKey>`) only when it is new.
    pub fn insert_limited<M: AsRef<[u8]> + Into<MapKey>>(&mut self, m: M, max_intset_entries: usize) -> bool {
        let b = m.as_ref();
        if self.intset && (string2ll(b).is_none() || self.members.len() >= max_intset_entries && !self.members.contains(b)) {
            self.intset = false;
        }
        let len = b.len();
        if self.members.contains(b) {
            return false;
        }
        self.members.insert(m.into());
        self.bytes += len;
        true
    }
    /// [`SetValue::insert`] for a loader (`rdbLoadObject`'s `setTypeAdd`): one lookup, which
    /// also finds a duplicate (false, nothing changed), where `insert` looks first so as to copy
    /// only a new member; a loaded member is new but in a damaged file.
    pub fn insert_loaded(&mut self, m: &[u8]) -> bool {
        if self.intset && (string2ll(m).is_none() || self.members.len() >= SET_MAX_INTSET_ENTRIES) {
            self.intset = false;
        }
        let new = self.members.insert(MapKey::new(m));
        if new {
            self.bytes += m.len();
        }
        new
    }
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let removed = self.members.swap_remove(m);
        if removed {
            self.bytes -= m.len();
        }
        removed
    }
    /// Members in the order Redis replies with them: numeric order for an intset.
    pub fn ordered(&self) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = self.members.iter().map(MapKey::as_bytes).collect();
        if self.intset {
            v.sort_by_key(|m| string2ll(m).unwrap_or(0));
        }
        v
    }
}

/// A list value: the elements head (LEFT) first, read as a `VecDeque` through `Deref`, changed
/// only through the methods below, which keep the elements' total length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    items: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl Deref for List {
    type Target = VecDeque<Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl<'a> IntoIterator for &'a List {
    type Item = &'a Vec<u8>;
    type IntoIter = std::collections::vec_deque::Iter<'a, Vec<u8>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl FromIterator<Vec<u8>> for List {
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(iter: I) -> Self {
        let items: VecDeque<Vec<u8>> = iter.into_iter().collect();
        let bytes = items.iter().map(Vec::len).sum();
        List { items, bytes }
    }
}

impl List {
    pub fn with_capacity(n: usize) -> List {
        List { items: VecDeque::with_capacity(n), bytes: 0 }
    }
    /// Room for `n` more elements (a loader that knows how many come).
    pub fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
    }
    pub fn push_back(&mut self, e: Vec<u8>) {
        self.bytes += e.len();
        self.items.push_back(e);
    }
    pub fn push_front(&mut self, e: Vec<u8>) {
        self.bytes += e.len();
        self.items.push_front(e);
    }
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let e = self.items.pop_back()?;
        self.bytes -= e.len();
        Some(e)
    }
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let e = self.items.pop_front()?;
        self.bytes -= e.len();
        Some(e)
    }
    /// Inserts before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, e: Vec<u8>) {
        self.bytes += e.len();
        self.items.insert(i, e);
    }
    pub fn remove(&mut self, i: usize) -> Option<Vec<u8>> {
        let e = self.items.remove(i)?;
        self.bytes -= e.len();
        Some(e)
    }
    /// Replaces the element at `i` (which must exist; nothing happens otherwise).
    pub fn set(&mut self, i: usize, e: Vec<u8>) {
        if let Some(old) = self.items.get_mut(i) {
            self.bytes = self.bytes - old.len() + e.len();
            *old = e;
        }
    }
    /// Removes the elements in `range` and returns them in order.
    pub fn take_range(&mut self, range: impl RangeBounds<usize>) -> Vec<Vec<u8>> {
        let taken: Vec<Vec<u8>> = self.items.drain(range).collect();
        self.bytes -= taken.iter().map(Vec::len).sum::<usize>();
        taken
    }
}

/// A hash value: fields in insertion order (the listpack's order while small), read as an
/// `IndexMap` through `Deref`, changed only through the methods below, which keep the fields'
/// and values' total length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {
    /// Fields inline when short ([`MapKey`]): a lookup compares in the entry it reads.
    fields: Map<MapKey, Vec<u8>>,
    bytes: usize,
}

impl Deref for Hash {
    type Target = Map<MapKey, Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.fields
    }
}

impl<'a> IntoIterator for &'a Hash {
    type Item = (&'a MapKey, &'a Vec<u8>);
    type IntoIter = indexmap::map::Iter<'a, MapKey, Vec<u8>>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

impl Hash {
    pub fn with_capacity(n: usize) -> Hash {
        Hash { fields: Map::with_capacity_and_hasher(n, Default::default()), bytes: 0 }
    }
    /// Sets a field, keeping its position if it existed; returns the previous value.
    /// One lookup; the field is copied (`F: Into<MapKey>`) only when it is new.
    pub fn insert<F: AsRef<[u8]> + Into<MapKey>>(&mut self, field: F, value: Vec<u8>) -> Option<Vec<u8>> {
        let (flen, vlen) = (field.as_ref().len(), value.len());
        match self.fields.raw_entry_mut_v1().from_key(field.as_ref()) {
            RawEntryMut::Occupied(mut o) => {
                let old = std::mem::replace(o.get_mut(), value);
                self.bytes = self.bytes - old.len() + vlen;
                Some(old)
            }
            RawEntryMut::Vacant(v) => {
                v.insert(field.into(), value);
                self.bytes += flen + vlen;
                None
            }
        }
    }
    /// Removes a field, moving the last one into its place (hash table order).
    pub fn swap_remove(&mut self, field: &[u8]) -> Option<Vec<u8>> {
        let v = self.fields.swap_remove(field)?;
        self.bytes -= field.len() + v.len();
        Some(v)
    }
    /// Removes a field, keeping the others' order (listpack order).
    pub fn shift_remove(&mut self, field: &[u8]) -> Option<Vec<u8>> {
        let v = self.fields.shift_remove(field)?;
        self.bytes -= field.len() + v.len();
        Some(v)
    }
}
