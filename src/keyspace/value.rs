//! The six value types and what of Redis's encodings shows through to a user.
//!
//! | type   | here                                   | Redis 7.0 encodings                      |
//! |--------|----------------------------------------|------------------------------------------|
//! | string | [`StringValue`]: inline up to [`STRING_INLINE`] bytes | int / embstr / raw          |
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

use super::Map;
use super::key::MapKey;
use super::small::SmallBytes;
pub use super::zset::{Score, ZSet};
use crate::util::string2ll;

/// `set-max-intset-entries` default.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// `zset-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// `hash-max-listpack-entries` default (512 in Redis 7.0, unlike zsets).
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
/// `hash-max-listpack-value` / `zset-max-listpack-value` defaults.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// A string value: its bytes inside the value itself up to [`STRING_INLINE`] bytes, so that a
/// short string is one allocation (the keyspace's `Rc` block), as Redis's `embstr` is one (the
/// `robj` and its `sds`); a longer one in a `Vec` of its own ([`SmallBytes`]).
pub type StringValue = SmallBytes<STRING_INLINE, Vec<u8>>;

/// The longest string kept inline. Natively, as many bytes as leave the `Value` no larger than
/// its largest variant, the zset, already makes it (64 bytes: the collections keep their indexes
/// boxed, so that a key's block is small); the string's form takes two of those bytes (its tag
/// and length) and a word goes to the enum's tag: 54 bytes. In wasm32 the zset is 32 bytes, and
/// 26 inline bytes put a third of the load benchmark's mix b values on the heap: loading mix b
/// took 0.486–0.518 s against 0.472–0.477 s with 54 (alternated runs), so the wasm keeps 54 and
/// a 60-byte `Value`. Every INCR counter is inline. Redis's own `embstr` stops at 44 bytes;
/// OBJECT ENCODING still answers as Redis does (`cmd::keys::object::encoding` decides by the
/// length).
pub const STRING_INLINE: usize = if size_of::<usize>() == 8 { size_of::<ZSet>() - size_of::<usize>() - 2 } else { 54 };

// Natively the inline string must not make every value larger (each key's `Rc` block holds a
// `Value`); in wasm32 the value is the size it had with the unboxed zset.
const _: () = assert!(if size_of::<usize>() == 8 { size_of::<Value>() == size_of::<ZSet>() } else { size_of::<Value>() <= 60 });

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(StringValue),
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
            Value::Set(s) => 64 + s.iter().map(|m| 16 + m.len()).sum::<usize>(),
            Value::ZSet(z) => 96 + z.iter().map(|(m, _)| 48 + m.len()).sum::<usize>(),
            Value::Stream(s) => s.approx_size_walk(),
        }
    }
}

/// The most fields a hash, or members a set, holds without an index.
pub const SMALL_MAX: usize = 32;

/// Room for one more element in a small collection's vector, grown by a quarter (at least 4)
/// rather than doubled: most collections are small and many (the load benchmark's mix b: 45 000
/// of ~10 elements), and a doubled vector leaves a quarter of its memory unused on average, an
/// eighth this way; Redis's listpacks grow by the allocator's size classes, a quarter apart.
/// The extra copies are of a few hundred bytes, at most a dozen times per collection.
#[inline]
pub(crate) fn grow_gently<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(4));
    }
}

/// A hash's fields or a set's members (`V = ()`), in insertion order, the API of an `IndexMap`
/// (a removal either shifts the later ones down or moves the last into its place).
///
/// **A small collection keeps no index.** Up to [`SMALL_MAX`] entries are a plain vector, an
/// entry found by a walk that compares inline keys ([`MapKey`]), as Redis walks a listpack
/// (`hashTypeGetFromListpack`, `setTypeIsMember` on a small set); a larger one gets its index,
/// boxed so that a small collection stays small (every key's value is the size of the largest
/// type). Most collections are small (the load benchmark's mix b: ~10 each): one allocation and
/// no hashing instead of a table and an index. The form is invisible: the order, the removals
/// and OBJECT ENCODING (decided by Redis's own limits) are the same in both.
#[derive(Clone, Debug)]
enum Entries<V> {
    Small(Vec<(MapKey, V)>),
    Indexed(Box<Map<MapKey, V>>),
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries::Small(Vec::new())
    }
}

/// Entries in order: (key, value).
pub enum EntriesIter<'a, V> {
    Small(std::slice::Iter<'a, (MapKey, V)>),
    Indexed(indexmap::map::Iter<'a, MapKey, V>),
}

impl<'a, V> Iterator for EntriesIter<'a, V> {
    type Item = (&'a MapKey, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            EntriesIter::Small(i) => i.next().map(|(k, v)| (k, v)),
            EntriesIter::Indexed(i) => i.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            EntriesIter::Small(i) => i.size_hint(),
            EntriesIter::Indexed(i) => i.size_hint(),
        }
    }
}

impl<V> DoubleEndedIterator for EntriesIter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            EntriesIter::Small(i) => i.next_back().map(|(k, v)| (k, v)),
            EntriesIter::Indexed(i) => i.next_back(),
        }
    }
}

impl<V> ExactSizeIterator for EntriesIter<'_, V> {}

impl<V> Entries<V> {
    fn with_capacity(n: usize) -> Self {
        if n <= SMALL_MAX {
            Entries::Small(Vec::with_capacity(n))
        } else {
            Entries::Indexed(Box::new(Map::with_capacity_and_hasher(n, Default::default())))
        }
    }
    fn len(&self) -> usize {
        match self {
            Entries::Small(v) => v.len(),
            Entries::Indexed(m) => m.len(),
        }
    }
    fn iter(&self) -> EntriesIter<'_, V> {
        match self {
            Entries::Small(v) => EntriesIter::Small(v.iter()),
            Entries::Indexed(m) => EntriesIter::Indexed(m.iter()),
        }
    }
    /// A small collection's position of `key`, by a walk.
    fn position(v: &[(MapKey, V)], key: &[u8]) -> Option<usize> {
        v.iter().position(|(k, _)| k.as_bytes() == key)
    }
    fn get(&self, key: &[u8]) -> Option<&V> {
        match self {
            Entries::Small(v) => Self::position(v, key).and_then(|i| v.get(i)).map(|(_, val)| val),
            Entries::Indexed(m) => m.get(key),
        }
    }
    fn get_index(&self, i: usize) -> Option<(&MapKey, &V)> {
        match self {
            Entries::Small(v) => v.get(i).map(|(k, val)| (k, val)),
            Entries::Indexed(m) => m.get_index(i),
        }
    }
    /// Sets `key`'s value, keeping its position if it was there; returns the previous value.
    /// One lookup; the key is copied (`K: Into<MapKey>`) only when it is new. The collection
    /// gets its index when it outgrows the walk.
    fn insert<K: AsRef<[u8]> + Into<MapKey>>(&mut self, key: K, value: V) -> Option<V> {
        match self {
            Entries::Small(v) => {
                if let Some(slot) = Self::position(v, key.as_ref()).and_then(|i| v.get_mut(i)) {
                    return Some(std::mem::replace(&mut slot.1, value));
                }
                if v.len() < SMALL_MAX {
                    grow_gently(v);
                    v.push((key.into(), value));
                    return None;
                }
                let mut m = Map::with_capacity_and_hasher(v.len() + 1, Default::default());
                m.extend(std::mem::take(v));
                m.insert(key.into(), value);
                *self = Entries::Indexed(Box::new(m));
                None
            }
            Entries::Indexed(m) => match m.raw_entry_mut_v1().from_key(key.as_ref()) {
                RawEntryMut::Occupied(mut o) => Some(std::mem::replace(o.get_mut(), value)),
                RawEntryMut::Vacant(e) => {
                    e.insert(key.into(), value);
                    None
                }
            },
        }
    }
    /// Removes `key`, moving the last entry into its place (hash table order).
    fn swap_remove(&mut self, key: &[u8]) -> Option<V> {
        match self {
            Entries::Small(v) => Some(v.swap_remove(Self::position(v, key)?).1),
            Entries::Indexed(m) => m.swap_remove(key),
        }
    }
    /// Removes `key`, keeping the others' order (listpack order).
    fn shift_remove(&mut self, key: &[u8]) -> Option<V> {
        match self {
            Entries::Small(v) => Some(v.remove(Self::position(v, key)?).1),
            Entries::Indexed(m) => m.shift_remove(key),
        }
    }
}

/// A set. `intset` is true while every member is a canonical integer and there are at most
/// `set-max-intset-entries` of them; once false it stays false (Redis never converts back).
/// Its members are [`Entries`] without values (small: a vector walked).
#[derive(Clone, Debug)]
pub struct SetValue {
    members: Entries<()>,
    pub intset: bool,
    /// The members' total length (for [`Value::approx_size`]).
    bytes: usize,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue { members: Entries::default(), intset: true, bytes: 0 }
    }
}

/// Equality is content (the order and the form do not count), as the `IndexSet`'s was.
impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.intset == other.intset && self.len() == other.len() && self.iter().all(|m| other.contains(m.as_bytes()))
    }
}

impl SetValue {
    /// An empty set (an intset until a member says otherwise) with room for `n` members.
    pub fn with_capacity(n: usize) -> SetValue {
        SetValue { members: Entries::with_capacity(n), ..SetValue::default() }
    }
    /// The members in insertion order (read only: changes go through insert / remove).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &MapKey> + ExactSizeIterator + '_ {
        self.members.iter().map(|(m, ())| m)
    }
    /// The member at position `i` of that order (a random pick, a SSCAN cursor).
    pub fn get_index(&self, i: usize) -> Option<&MapKey> {
        self.members.get_index(i).map(|(m, ())| m)
    }
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.get(m).is_some()
    }
    /// Adds a member; true if it was new. Keeps the intset flag as Redis's encoding would.
    pub fn insert<M: AsRef<[u8]> + Into<MapKey>>(&mut self, m: M) -> bool {
        self.insert_limited(m, SET_MAX_INTSET_ENTRIES)
    }
    /// [`SetValue::insert`] under `set-max-intset-entries` as it is now (`setTypeAdd` reads it
    /// on every add). One lookup; the member is copied (`M: Into<MapKey>`) only when it is new.
    pub fn insert_limited<M: AsRef<[u8]> + Into<MapKey>>(&mut self, m: M, max_intset_entries: usize) -> bool {
        let (len, bytes, integer) = (self.len(), m.as_ref().len(), string2ll(m.as_ref()).is_some());
        let new = self.members.insert(m, ()).is_none();
        if self.intset && (!integer || new && len >= max_intset_entries) {
            self.intset = false;
        }
        if new {
            self.bytes += bytes;
        }
        new
    }
    /// [`SetValue::insert`] for a loader (`rdbLoadObject`'s `setTypeAdd`): false, nothing but
    /// the encoding changed, for a member already there (a damaged file).
    pub fn insert_loaded(&mut self, m: &[u8]) -> bool {
        self.insert_loaded_limited(m, SET_MAX_INTSET_ENTRIES)
    }
    /// [`SetValue::insert_loaded`] under `set-max-intset-entries` = `max_intset`.
    pub fn insert_loaded_limited(&mut self, m: &[u8], max_intset: usize) -> bool {
        if self.intset && (string2ll(m).is_none() || self.len() >= max_intset) {
            self.intset = false;
        }
        let new = self.members.insert(m, ()).is_none();
        if new {
            self.bytes += m.len();
        }
        new
    }
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let removed = self.members.swap_remove(m).is_some();
        if removed {
            self.bytes -= m.len();
        }
        removed
    }
    /// Members in the order Redis replies with them: numeric order for an intset.
    pub fn ordered(&self) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = self.iter().map(MapKey::as_bytes).collect();
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

/// A hash value: fields in insertion order (the listpack's order while small), read through the
/// methods below (an `IndexMap`'s), changed only through the ones that keep the fields' and
/// values' total length. Its fields are [`Entries`] (small: a vector walked).
#[derive(Clone, Debug, Default)]
pub struct Hash {
    fields: Entries<Vec<u8>>,
    bytes: usize,
}

/// Equality is content (the fields' order and the form do not count), as the `IndexMap`'s was.
impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f.as_bytes()) == Some(v))
    }
}

/// A hash's (field, value) pairs in order.
pub type HashIter<'a> = EntriesIter<'a, Vec<u8>>;

impl<'a> IntoIterator for &'a Hash {
    type Item = (&'a MapKey, &'a Vec<u8>);
    type IntoIter = HashIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Hash {
    pub fn with_capacity(n: usize) -> Hash {
        Hash { fields: Entries::with_capacity(n), bytes: 0 }
    }
    pub fn len(&self) -> usize {
        self.fields.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The (field, value) pairs in insertion order (after removals: see the removals below).
    pub fn iter(&self) -> HashIter<'_> {
        self.fields.iter()
    }
    pub fn get(&self, field: &[u8]) -> Option<&Vec<u8>> {
        self.fields.get(field)
    }
    pub fn contains_key(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }
    /// The pair at position `i` in order (a random pick).
    pub fn get_index(&self, i: usize) -> Option<(&MapKey, &Vec<u8>)> {
        self.fields.get_index(i)
    }
    /// Sets a field, keeping its position if it existed; returns the previous value.
    /// One lookup; the field is copied (`F: Into<MapKey>`) only when it is new.
    pub fn insert<F: AsRef<[u8]> + Into<MapKey>>(&mut self, field: F, value: Vec<u8>) -> Option<Vec<u8>> {
        let (flen, vlen) = (field.as_ref().len(), value.len());
        let old = self.fields.insert(field, value);
        self.bytes = self.bytes + vlen - old.as_ref().map_or(0, Vec::len) + if old.is_none() { flen } else { 0 };
        old
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keyspace::Set;
    use crate::{Config, Engine, Reply};

    /// The hash without an index answers as the indexed one (an `IndexMap`, the model) through
    /// random inserts, updates and both removals, across [`SMALL_MAX`] both ways: the same
    /// values, the same order, the same positions, the same byte count.
    #[test]
    fn a_small_hash_answers_as_an_indexed_one() {
        let mut rng = fastrand::Rng::with_seed(3);
        for distinct in [5, SMALL_MAX, SMALL_MAX + 1, 200] {
            let mut h = Hash::default();
            let mut model: Map<MapKey, Vec<u8>> = Map::default();
            for step in 0..5_000 {
                let f = format!("f{}", rng.usize(..distinct)).into_bytes();
                match rng.u8(..10) {
                    0..=5 => {
                        let v = vec![b'v'; rng.usize(..40)];
                        assert_eq!(h.insert(f.as_slice(), v.clone()), model.insert(MapKey::from(f.as_slice()), v));
                    }
                    6..=7 => assert_eq!(h.shift_remove(&f), model.shift_remove(f.as_slice())),
                    _ => assert_eq!(h.swap_remove(&f), model.swap_remove(f.as_slice())),
                }
                if step % 7 == 0 {
                    let got: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.clone())).collect();
                    let want: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(f, v)| (f.to_vec(), v.clone())).collect();
                    assert_eq!(got, want, "{distinct} fields, step {step}");
                    assert_eq!((h.len(), h.iter().len()), (model.len(), model.len()));
                    for i in [0, model.len() / 2, model.len()] {
                        assert_eq!(h.get_index(i), model.get_index(i));
                    }
                    assert_eq!(h.get(&f), model.get(f.as_slice()));
                    assert_eq!(h.contains_key(&f), model.contains_key(f.as_slice()));
                    assert_eq!(h.bytes, model.iter().map(|(f, v)| f.len() + v.len()).sum::<usize>());
                }
            }
            // Equality is content: the same fields in another order, or in the other form.
            let mut other = Hash::with_capacity(1000);
            for (f, v) in model.iter().rev() {
                other.insert(f.as_bytes(), v.clone());
            }
            assert_eq!(other, h);
        }
    }

    /// The same for a set against an `IndexSet`, with the intset flag as Redis's encoding.
    #[test]
    fn a_small_set_answers_as_an_indexed_one() {
        let mut rng = fastrand::Rng::with_seed(4);
        for distinct in [5, SMALL_MAX, SMALL_MAX + 1, 200] {
            let (mut s, mut loaded) = (SetValue::default(), SetValue::default());
            let mut model: Set<MapKey> = Set::default();
            for step in 0..5_000 {
                let m = if rng.bool() { format!("{}", rng.usize(..distinct)) } else { format!("m{}", rng.usize(..distinct)) }.into_bytes();
                if rng.u8(..10) < 6 {
                    let new = model.insert(MapKey::from(m.as_slice()));
                    assert_eq!(s.insert(m.as_slice()), new);
                    assert_eq!(loaded.insert_loaded(&m), new);
                } else {
                    let gone = model.swap_remove(m.as_slice());
                    assert_eq!(s.remove(&m), gone);
                    assert_eq!(loaded.remove(&m), gone);
                }
                if step % 7 == 0 {
                    for set in [&s, &loaded] {
                        assert!(set.iter().eq(model.iter()), "{distinct} members, step {step}");
                        assert_eq!(set.len(), model.len());
                        for i in [0, model.len() / 2, model.len()] {
                            assert_eq!(set.get_index(i), model.get_index(i));
                        }
                        assert_eq!(set.contains(&m), model.contains(m.as_slice()));
                        assert_eq!(set.bytes, model.iter().map(|k| k.as_bytes().len()).sum::<usize>());
                    }
                }
            }
            assert!(!s.intset, "a member that is not an integer ended the intset");
            assert_eq!(s, loaded);
        }
        // All integers, at most 512: an intset, replied in numeric order.
        let mut s = SetValue::default();
        for m in ["3", "1", "2"] {
            s.insert(m.as_bytes());
        }
        assert!(s.intset);
        assert_eq!(s.ordered(), [b"1", b"2", b"3"]);
    }

    #[test]
    fn an_inline_string_leaves_the_value_its_size() {
        // The zset's size: its blocks, their last scores, its count, its boxed dictionary.
        #[cfg(target_pointer_width = "64")]
        {
            assert_eq!(size_of::<Value>(), 64);
            assert_eq!(STRING_INLINE, 54);
        }
    }

    /// Each command's reply, then the value's bytes and form, at the inline boundary.
    #[test]
    fn strings_cross_the_inline_boundary_through_the_commands() {
        let n = STRING_INLINE;
        let mut e = Engine::new(Config::default(), 0);
        let c = e.connect();
        let run = |e: &mut Engine, line: &str| e.execute_line(c, line, 0).unwrap();
        let value = |e: &Engine| match e.srv.dbs[0].get(b"k") {
            Some(Value::String(s)) => (s.to_vec(), s.is_inline()),
            v => panic!("not a string: {v:?}"),
        };
        let a = |len: usize| "a".repeat(len);

        // Exactly N bytes is inline; an APPEND of one byte moves it to the heap.
        assert_eq!(run(&mut e, &format!("SET k {}", a(n))), Reply::ok());
        assert_eq!(value(&e), (a(n).into_bytes(), true));
        assert_eq!(run(&mut e, "APPEND k b"), Reply::Int(n as i64 + 1));
        assert_eq!(value(&e), (format!("{}b", a(n)).into_bytes(), false));
        assert_eq!(run(&mut e, "STRLEN k"), Reply::Int(n as i64 + 1));
        assert_eq!(run(&mut e, "GET k"), Reply::Bulk(format!("{}b", a(n)).into_bytes()));
        // A SET of a shorter value: inline again.
        assert_eq!(run(&mut e, "SET k xyz"), Reply::ok());
        assert_eq!(value(&e), (b"xyz".to_vec(), true));

        // SETRANGE to exactly N (zeros in between), then one past it.
        assert_eq!(run(&mut e, &format!("SETRANGE k {} z", n - 1)), Reply::Int(n as i64));
        let mut want = b"xyz".to_vec();
        want.resize(n - 1, 0);
        want.push(b'z');
        assert_eq!(value(&e), (want.clone(), true));
        assert_eq!(run(&mut e, &format!("SETRANGE k {n} !")), Reply::Int(n as i64 + 1));
        want.push(b'!');
        assert_eq!(value(&e), (want.clone(), false));
        assert_eq!(run(&mut e, "GETRANGE k 0 3"), Reply::Bulk(b"xyz\0".to_vec()));

        // SETBIT past the end of an inline string: the zeros it adds are zeros.
        run(&mut e, "DEL k");
        assert_eq!(run(&mut e, "SETBIT k 7 1"), Reply::Int(0));
        assert_eq!(value(&e), (vec![1], true));
        let last_inline_bit = n * 8 - 1;
        assert_eq!(run(&mut e, &format!("SETBIT k {last_inline_bit} 1")), Reply::Int(0));
        let (bytes, inline) = value(&e);
        assert_eq!((bytes.len(), inline), (n, true));
        assert_eq!(run(&mut e, "BITCOUNT k"), Reply::Int(2));
        assert_eq!(run(&mut e, &format!("SETBIT k {} 1", last_inline_bit + 1)), Reply::Int(0));
        assert!(!value(&e).1, "one bit past: on the heap");
        assert_eq!(run(&mut e, "BITCOUNT k"), Reply::Int(3));

        // INCR's counter, and the encodings Redis reports whatever the form.
        assert_eq!(run(&mut e, "SET k 41"), Reply::ok());
        assert_eq!(run(&mut e, "INCR k"), Reply::Int(42));
        assert_eq!(value(&e), (b"42".to_vec(), true));
        assert_eq!(run(&mut e, "OBJECT ENCODING k"), Reply::bulk("int"));
        assert_eq!(run(&mut e, "INCRBY k -9223372036854775000"), Reply::Int(42 - 9223372036854775000));
        run(&mut e, &format!("SET k {}", a(45)));
        assert_eq!(run(&mut e, "OBJECT ENCODING k"), Reply::bulk("raw"));
        run(&mut e, &format!("SET k {}", a(44)));
        assert_eq!(run(&mut e, "OBJECT ENCODING k"), Reply::bulk("embstr"));
        assert_eq!(run(&mut e, "APPEND k b"), Reply::Int(45));
        assert_eq!(run(&mut e, "OBJECT ENCODING k"), Reply::bulk("raw"));

        // GETSET and GETDEL hand back the bytes, inline or not.
        run(&mut e, &format!("SET k {}", a(n + 5)));
        assert_eq!(run(&mut e, "GETSET k short"), Reply::Bulk(a(n + 5).into_bytes()));
        assert_eq!(run(&mut e, "GETDEL k"), Reply::Bulk(b"short".to_vec()));

        // The memory estimate models Redis's allocator, not the form: 16 + length either way.
        for len in [n, n + 1] {
            run(&mut e, &format!("SET k {}", a(len)));
            assert_eq!(e.srv.dbs[0].get(b"k").unwrap().approx_size(), 16 + len);
        }
    }
}
