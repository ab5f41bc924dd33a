//! The five value types and what of Redis's encodings shows through to a user.
//!
//! | type   | here                                   | Redis 7.0 encodings                      |
//! |--------|----------------------------------------|------------------------------------------|
//! | string | `Vec<u8>`                              | int / embstr / raw                       |
//! | list   | `VecDeque<Vec<u8>>`                    | quicklist of listpacks                   |
//! | hash   | insertion-ordered map                  | listpack (≤128 fields, ≤64 B) / hashtable|
//! | set    | insertion-ordered set + intset flag    | intset (integers, ≤512) / hashtable      |
//! | zset   | member→score map + ordered tree        | listpack (≤128, ≤64 B) / skiplist        |
//!
//! The intset flag matters because an intset replies in numeric order (`SADD s 3 1 2;
//! SMEMBERS s` gives `1 2 3`), and a set stays a hashtable once converted, as in Redis.

use std::cmp::Ordering;
use std::collections::{BTreeSet, VecDeque};

use super::{Map, Set};
use crate::util::string2ll;

/// `set-max-intset-entries` default.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// `hash-max-listpack-entries` / `zset-max-listpack-entries` defaults.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// `hash-max-listpack-value` / `zset-max-listpack-value` defaults.
pub const MAX_LISTPACK_VALUE: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(Map<Vec<u8>, Vec<u8>>),
    Set(SetValue),
    ZSet(ZSet),
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
        }
    }
    /// OBJECT ENCODING's answer, following the default thresholds of Redis 7.0.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) if s.len() <= 20 && string2ll(s).is_some() => "int",
            Value::String(s) if s.len() <= 44 => "embstr",
            Value::String(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Hash(h)
                if h.len() <= MAX_LISTPACK_ENTRIES
                    && h.iter().all(|(f, v)| f.len() <= MAX_LISTPACK_VALUE && v.len() <= MAX_LISTPACK_VALUE) =>
            {
                "listpack"
            }
            Value::Hash(_) => "hashtable",
            Value::Set(s) if s.intset => "intset",
            Value::Set(_) => "hashtable",
            Value::ZSet(z) if !z.skiplist => "listpack",
            Value::ZSet(_) => "skiplist",
        }
    }
    /// An approximation of the bytes Redis would use, for INFO memory and the OOM cap.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::String(s) => 16 + s.len(),
            Value::List(l) => 32 + l.iter().map(|e| 11 + e.len()).sum::<usize>(),
            Value::Hash(h) => 64 + h.iter().map(|(f, v)| 24 + f.len() + v.len()).sum::<usize>(),
            Value::Set(s) => 64 + s.members.iter().map(|m| 16 + m.len()).sum::<usize>(),
            Value::ZSet(z) => 96 + z.dict.keys().map(|m| 48 + m.len()).sum::<usize>(),
        }
    }
}

/// A set. `intset` is true while every member is a canonical integer and there are at most
/// `set-max-intset-entries` of them; once false it stays false (Redis never converts back).
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue {
    pub members: Set<Vec<u8>>,
    pub intset: bool,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue { members: Set::default(), intset: true }
    }
}

impl SetValue {
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
    pub fn insert(&mut self, m: Vec<u8>) -> bool {
        if self.intset && (string2ll(&m).is_none() || self.members.len() >= SET_MAX_INTSET_ENTRIES && !self.members.contains(&m)) {
            self.intset = false;
        }
        self.members.insert(m)
    }
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.swap_remove(m)
    }
    /// Members in the order Redis replies with them: numeric order for an intset.
    pub fn ordered(&self) -> Vec<&Vec<u8>> {
        let mut v: Vec<&Vec<u8>> = self.members.iter().collect();
        if self.intset {
            v.sort_by_key(|m| string2ll(m).unwrap_or(0));
        }
        v
    }
}

/// A score usable as a tree key: ordered like Redis's skiplist (numeric, `-0 == 0`), never NaN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// A sorted set: members ordered by (score, member bytes), like the skiplist.
///
/// `skiplist` records Redis's encoding, because one detail of it shows through: a listpack stores
/// an integral score as an integer, so `-0` becomes `0` there, while a skiplist keeps `-0.0`
/// (`ZADD z -0 a; ZSCORE z a` gives `0`, but `-0` once `z` has grown into a skiplist). A zset
/// starts as a listpack and converts when it would exceed `zset-max-listpack-entries` members or
/// get a member longer than `zset-max-listpack-value`; it never converts back on removal (only
/// the *STORE commands build a result as a skiplist and shrink it, see
/// [`ZSet::convert_to_listpack_if_needed`]).
#[derive(Clone, Debug, Default)]
pub struct ZSet {
    pub dict: Map<Vec<u8>, f64>,
    pub tree: BTreeSet<(Score, Vec<u8>)>,
    /// Encoding: false = listpack, true = skiplist.
    pub skiplist: bool,
}

/// Equality is logical content (the encoding does not count), like `DEBUG DIGEST`.
impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.dict.len() == other.dict.len() && self.dict.iter().all(|(m, s)| other.dict.get(m).is_some_and(|o| o.to_bits() == s.to_bits()))
    }
}

/// A listpack stores integral scores as integers (`zzlInsertAt` → `double2ll`), which turns
/// `-0.0` into `0`.
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 { 0.0 } else { score }
}

impl ZSet {
    /// An empty zset that is already a skiplist (`createZsetObject`), as the *STORE commands make
    /// for a large result.
    pub fn new_skiplist() -> ZSet {
        ZSet { skiplist: true, ..ZSet::default() }
    }
    pub fn len(&self) -> usize {
        self.dict.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }
    /// Sets a member's score (adding it if new); returns the previous score. Like `zsetAdd`, a
    /// score equal to the current one (`0 == -0`) changes nothing, and a new member that would
    /// overflow the listpack limits converts the zset to a skiplist first.
    pub fn insert(&mut self, member: Vec<u8>, score: f64) -> Option<f64> {
        if let Some(&old) = self.dict.get(&member) {
            if old == score {
                return Some(old);
            }
        } else if !self.skiplist && (self.dict.len() >= MAX_LISTPACK_ENTRIES || member.len() > MAX_LISTPACK_VALUE) {
            self.skiplist = true;
        }
        let score = if self.skiplist { score } else { listpack_score(score) };
        let old = self.dict.insert(member.clone(), score);
        if let Some(o) = old {
            self.tree.remove(&(Score(o), member.clone()));
        }
        self.tree.insert((Score(score), member));
        old
    }
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let old = self.dict.swap_remove(member)?;
        self.tree.remove(&(Score(old), member.to_vec()));
        Some(old)
    }
    /// Ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        self.tree.iter().map(|(s, m)| (m.as_slice(), s.0))
    }
    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.tree.range(..(Score(score), member.to_vec())).count())
    }
    /// The lowest (`max == false`) or highest member, removed (ZPOPMIN / ZPOPMAX).
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let (score, member) = if max { self.tree.pop_last()? } else { self.tree.pop_first()? };
        self.dict.swap_remove(&member);
        Some((member, score.0))
    }
    /// `zsetConvertToListpackIfNeeded`: a skiplist small enough becomes a listpack again (and
    /// its `-0` scores become `0`).
    pub fn convert_to_listpack_if_needed(&mut self) {
        if !self.skiplist || self.len() > MAX_LISTPACK_ENTRIES || self.dict.keys().any(|m| m.len() > MAX_LISTPACK_VALUE) {
            return;
        }
        self.skiplist = false;
        let negative_zeros: Vec<Vec<u8>> =
            self.dict.iter().filter(|(_, s)| **s == 0.0 && s.is_sign_negative()).map(|(m, _)| m.clone()).collect();
        for m in negative_zeros {
            self.tree.remove(&(Score(0.0), m.clone()));
            self.tree.insert((Score(0.0), m.clone()));
            self.dict.insert(m, 0.0);
        }
    }
}
