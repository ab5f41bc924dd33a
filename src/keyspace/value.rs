//! The six value types and what of Redis's encodings shows through to a user.
//!
//! | type   | here                                   | Redis 7.0 encodings                      |
//! |--------|----------------------------------------|------------------------------------------|
//! | string | `Vec<u8>`                              | int / embstr / raw                       |
//! | list   | `VecDeque<Vec<u8>>`                    | quicklist of listpacks                   |
//! | hash   | insertion-ordered map                  | listpack (≤512 fields, ≤64 B) / hashtable|
//! | set    | insertion-ordered set + intset flag    | intset (integers, ≤512) / hashtable      |
//! | zset   | member→score map + sorted blocks       | listpack (≤128, ≤64 B) / skiplist        |
//! | stream | Redis's own listpack nodes ([`super::stream`]) | stream (rax of listpacks)        |
//!
//! The intset flag matters because an intset replies in numeric order (`SADD s 3 1 2;
//! SMEMBERS s` gives `1 2 3`), and a set stays a hashtable once converted, as in Redis. The zset
//! (its own module, [`super::zset`]) records its encoding for the same reason: `-0` scores.

use std::collections::VecDeque;

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
    List(VecDeque<Vec<u8>>),
    Hash(Map<Vec<u8>, Vec<u8>>),
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
    /// OBJECT ENCODING's answer, following the default thresholds of Redis 7.0.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) if s.len() <= 20 && string2ll(s).is_some() => "int",
            Value::String(s) if s.len() <= 44 => "embstr",
            Value::String(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Hash(h)
                if h.len() <= HASH_MAX_LISTPACK_ENTRIES
                    && h.iter().all(|(f, v)| f.len() <= MAX_LISTPACK_VALUE && v.len() <= MAX_LISTPACK_VALUE) =>
            {
                "listpack"
            }
            Value::Hash(_) => "hashtable",
            Value::Set(s) if s.intset => "intset",
            Value::Set(_) => "hashtable",
            Value::ZSet(z) if !z.skiplist => "listpack",
            Value::ZSet(_) => "skiplist",
            Value::Stream(_) => "stream",
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
            Value::Stream(s) => s.approx_size(),
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
        self.insert_limited(m, SET_MAX_INTSET_ENTRIES)
    }
    /// [`SetValue::insert`] under `set-max-intset-entries` as it is now (`setTypeAdd` reads it
    /// on every add).
    pub fn insert_limited(&mut self, m: Vec<u8>, max_intset_entries: usize) -> bool {
        if self.intset && (string2ll(&m).is_none() || self.members.len() >= max_intset_entries && !self.members.contains(&m)) {
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
