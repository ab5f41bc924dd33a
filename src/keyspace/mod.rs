//! The keyspace: 16 databases of binary-safe keys, each holding one of six value types, and
//! an optional absolute expiry time per key.
//!
//! A [`Db`] is Redis's `redisDb`: a main dictionary (`dict`) and a second one for TTLs
//! (`expires`, unix time in milliseconds). Keys live in insertion-ordered maps ([`dict`], whose
//! index a loader can fetch ahead; keys inline when short, [`key`], as short string values are
//! inside their value, [`small`]) so that SCAN's cursor can be
//! a position and RANDOMKEY an index; the SCAN guarantee (every key present for the
//! whole scan is returned at least once) holds because the cursor walks positions downwards and
//! a removal moves the *last* entry into the hole (see [`Db::scan`]).
//!
//! Expiry is lazy (a key is deleted when a command touches it after its time) and active
//! (Redis's `activeExpireCycle`, slow in `cron(now)` and fast in `before_sleep`): both live in
//! [`expire`], as methods of the server, because a deletion must be propagated to the AOF.
//!
//! **Memory.** Each `Db` keeps its share of the memory estimate (INFO's `used_memory`, the RDB's
//! `used-mem`, the `maxmemory` check) up to date as keys and values change, as Redis's allocator
//! counts its allocations: per key [`KEY_OVERHEAD`] + the key's length + the value's
//! [`Value::approx_size`], per TTL [`EXPIRE_OVERHEAD`]. Every change goes through a `Db` method,
//! which adjusts the figure by the difference; a value lent out by [`Db::get_mut`] is measured
//! when lent and again at the next call that changes or reads the figure (a command changes at
//! most one lent value at a time: the borrow ends before the next `Db` call). All of it is O(1)
//! per change ([`Value::approx_size`] is; a stream's walks its consumer groups), so no command walks the dataset;
//! [`Db::mem_walk`] computes the same figure by a walk, for the tests.
//!
//! Compared with Redis: values have one in-memory representation per type instead of Redis's
//! small/large encodings (listpack, intset, quicklist …). Where an encoding shows through to a
//! user, it is modelled: a set of integers keeps Redis's intset order, a small hash keeps the
//! listpack's insertion order.

pub mod dict;
pub mod digest;
pub mod expire;
pub mod key;
pub mod small;
pub mod stream;
pub mod value;
pub mod zset;

use std::hash::BuildHasher;
use std::rc::Rc;

pub use dict::Dict;
pub use key::MapKey;
pub use value::{Hash, List, STRING_INLINE, SetValue, StringValue, Value, ZSet};

/// A fixed hasher: the same commands give the same iteration order on every run and every host,
/// which keeps the core deterministic (golden tests, crash matrices, identical rewrites).
#[derive(Clone, Copy, Default, Debug)]
pub struct FixedState;

impl BuildHasher for FixedState {
    type Hasher = foldhash::fast::FoldHasher<'static>;
    fn build_hasher(&self) -> Self::Hasher {
        foldhash::fast::FixedState::with_seed(0x5EED_A0F1_AB00_0007).build_hasher()
    }
}

pub type Map<K, V> = indexmap::IndexMap<K, V, FixedState>;
pub type Set<K> = indexmap::IndexSet<K, FixedState>;
pub type HashMap<K, V> = std::collections::HashMap<K, V, FixedState>;

pub type Key = Vec<u8>;

/// One key's value and its `lru` field, Redis's `robj.lru` (24 bits): under an LRU (or no)
/// maxmemory policy the LRU clock (unix seconds, modulo 2^24) of the last access; under an LFU
/// policy the minutes clock (16 bits) of the last decrement and the logarithmic access counter
/// (8 bits). OBJECT IDLETIME and FREQ read it; nothing here evicts by it.
#[derive(Clone, Debug)]
struct Slot {
    /// Behind `Rc`: cloning a Db (the rewrite or BGSAVE child's snapshot) shares the values, and
    /// the first change after the clone copies the one value changed (copy-on-write). Not
    /// `Arc`: the snapshot is read on the server's own thread, and an atomic count cost every
    /// change (`make_mut`) and every overwrite (the old value's release) a locked instruction.
    value: Rc<Value>,
    meta: KeyMeta,
}

impl Slot {
    /// `dbSetValue`: a new value in place of the old one (freed here); returns the old one's
    /// [`Value::approx_size`]. The `lru` field restarts at `lru_now`, except under an LFU policy,
    /// where the new value inherits the old one's counter; the encoding hint restarts.
    fn replace(&mut self, value: Value, lru_now: u32, lfu: bool) -> usize {
        let lru = if lfu { self.meta.lru } else { lru_now };
        self.meta = KeyMeta { lru, enc: EncodingHint::Auto };
        let old_size = self.value.approx_size();
        match Rc::get_mut(&mut self.value) {
            // Not shared with a child's snapshot: the new value takes the old one's allocation
            // (an overwrite, SET or INCR on an existing key, frees and allocates one block fewer).
            Some(v) => *v = value,
            None => self.value = Rc::new(value),
        }
        old_size
    }
}

/// What Redis's `robj` header holds besides the value: `lru` (see [`Slot`]) and, where the
/// value's content does not decide it, its encoding. RENAME and MOVE keep both (the same
/// object moves); COPY keeps the encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyMeta {
    pub lru: u32,
    pub enc: EncodingHint,
}

/// A value's encoding where its content does not decide it. A string written in place
/// (APPEND, SETRANGE, SETBIT, BITFIELD, BITOP, PFADD …) is `raw` whatever its length;
/// INCRBYFLOAT's result is `embstr` even when it reads as an integer; a hash converted to a hash
/// table stays one when it shrinks. A new value starts at `Auto`: a string is then `int`,
/// `embstr` up to 44 bytes or `raw` (`tryObjectEncoding`), a hash a listpack while it fits the
/// `hash-max-listpack-*` limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncodingHint {
    #[default]
    Auto,
    Raw,
    Embstr,
    Hashtable,
}

/// Per-key overhead of the main dictionary (entry, key object, sds header) in the estimate.
pub const KEY_OVERHEAD: u64 = 56;
/// Per-key overhead of the expires dictionary.
pub const EXPIRE_OVERHEAD: u64 = 32;

/// What one key holding `v` adds to the estimate (its TTL apart).
fn entry_mem(key: &[u8], v: &Value) -> u64 {
    KEY_OVERHEAD + key.len() as u64 + v.approx_size() as u64
}

#[derive(Clone, Default, Debug)]
pub struct Db {
    pub id: usize,
    dict: Dict<Slot>,
    /// The position in `dict` of the key the last change looked up: a command finds its key a
    /// few times over (the lookup, the type check, the change), and a compare with the key
    /// there (inline, in the entry) replaces hashing and probing again. Only a hint: it is
    /// checked against the key, so a removal that moved entries cannot mislead it.
    hint: usize,
    /// What a value stored now gets as its `lru` field (see [`Slot`]): the LRU clock, or in an
    /// LFU policy the minutes clock with the initial counter. The server sets it before every
    /// command ([`Db::set_lru_now`]).
    lru_now: u32,
    /// The maxmemory policy is an LFU one: an overwrite keeps the old value's counter.
    lfu: bool,
    expires: Map<MapKey, i64>,
    /// `expires_cursor`: where the active expire cycle samples next (a position in `expires`;
    /// Redis's is a hash-table bucket). Kept across cycles, so that successive cycles cover the
    /// whole table.
    expires_cursor: usize,
    /// This database's share of the memory estimate (see the module documentation), without
    /// the change to the value lent by `get_mut`, if any.
    mem: u64,
    /// The value lent by the last `get_mut`: its position in `dict` and its size then.
    lent: Option<(usize, usize)>,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db { id, ..Default::default() }
    }
    pub fn len(&self) -> usize {
        self.dict.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }
    /// The value, ignoring expiry: callers that must honour TTLs go through `Ctx::lookup_*`.
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.slot(key).map(|s| &*s.value)
    }
    /// The position of `key` in `dict`: the hint's if it holds that key, else by hashing.
    fn find(&self, key: &[u8]) -> Option<usize> {
        match self.dict.get_index(self.hint) {
            Some((k, _)) if k.as_bytes() == key => Some(self.hint),
            _ => self.dict.get_index_of(key),
        }
    }
    fn slot(&self, key: &[u8]) -> Option<&Slot> {
        self.dict.get_index(self.find(key)?).map(|(_, s)| s)
    }
    /// The slot of `key` for a change, remembering its position as the hint.
    fn slot_mut(&mut self, key: &[u8]) -> Option<(usize, &mut Slot)> {
        let i = self.find(key)?;
        self.hint = i;
        self.dict.get_index_mut(i).map(|(_, s)| (i, s))
    }
    /// The value for a change in place; its size is measured again at the next `Db` call.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.get_mut_touch(key, None)
    }
    /// [`Db::get_mut`] that also sets the value's `lru` field to `lru` (`lookupKey`'s touch) in
    /// the same lookup.
    pub fn get_mut_touch(&mut self, key: &[u8], lru: Option<u32>) -> Option<&mut Value> {
        self.settle();
        let (i, s) = self.slot_mut(key)?;
        if let Some(lru) = lru {
            s.meta.lru = lru;
        }
        let size = s.value.approx_size();
        self.lent = Some((i, size));
        self.dict.get_index_mut(i).map(|(_, s)| Rc::make_mut(&mut s.value))
    }
    /// Sets the `lru` field of `key` if it exists (`lookupKey`'s touch); true if it does.
    pub fn touch(&mut self, key: &[u8], lru: u32) -> bool {
        self.slot_mut(key).map(|(_, s)| s.meta.lru = lru).is_some()
    }
    /// The size change of the value lent by `get_mut`, if it is still there.
    fn lent_delta(&self) -> (u64, u64) {
        let Some((i, before)) = self.lent else { return (0, 0) };
        let now = self.dict.get_index(i).map_or(before, |(_, s)| s.value.approx_size());
        (now as u64, before as u64)
    }
    /// Counts the change to the lent value into `mem`.
    fn settle(&mut self) {
        let (now, before) = self.lent_delta();
        self.mem = (self.mem + now).saturating_sub(before);
        self.lent = None;
    }
    /// This database's share of the memory estimate: O(1).
    pub fn mem(&self) -> u64 {
        let (now, before) = self.lent_delta();
        (self.mem + now).saturating_sub(before)
    }
    /// [`Db::mem`] computed by walking every key and value (what the kept figure must equal).
    pub fn mem_walk(&self) -> u64 {
        let keys: u64 = self.dict.iter().map(|(k, s)| KEY_OVERHEAD + k.len() as u64 + s.value.approx_size_walk() as u64).sum();
        keys + self.expires.len() as u64 * EXPIRE_OVERHEAD
    }
    /// The value's `lru` field (`robj.lru`): see [`Slot`].
    pub fn lru_of(&self, key: &[u8]) -> Option<u32> {
        self.slot(key).map(|s| s.meta.lru)
    }
    pub fn set_lru(&mut self, key: &[u8], lru: u32) {
        self.touch(key, lru);
    }
    pub fn meta_of(&self, key: &[u8]) -> Option<KeyMeta> {
        self.slot(key).map(|s| s.meta)
    }
    pub fn set_meta(&mut self, key: &[u8], meta: KeyMeta) {
        if let Some((_, s)) = self.slot_mut(key) {
            s.meta = meta;
        }
    }
    pub fn encoding_hint(&self, key: &[u8]) -> EncodingHint {
        self.slot(key).map_or(EncodingHint::Auto, |s| s.meta.enc)
    }
    /// Records how the value at `key` is now held (see [`EncodingHint`]).
    pub fn set_encoding_hint(&mut self, key: &[u8], enc: EncodingHint) {
        if let Some((_, s)) = self.slot_mut(key) {
            s.meta.enc = enc;
        }
    }
    /// The clock a value stored from now on records, and whether it is an LFU one.
    pub fn set_lru_now(&mut self, lru_now: u32, lfu: bool) {
        self.lru_now = lru_now;
        self.lfu = lfu;
    }
    pub fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }
    /// `dbAdd` / `dbOverwrite`: sets the value and keeps any TTL (callers that must clear it,
    /// like SET without KEEPTTL, call [`Db::remove_expire`]). True if the key existed. One
    /// lookup: the key is copied (`K: Into<MapKey>`) only when it is new.
    pub fn insert<K: AsRef<[u8]> + Into<MapKey>>(&mut self, key: K, value: Value) -> bool {
        self.settle();
        let k = key.as_ref();
        let add = entry_mem(k, &value);
        let key_len = k.len() as u64;
        let (lru_now, lfu) = (self.lru_now, self.lfu);
        let old = match self.find(k) {
            Some(i) => {
                self.hint = i;
                self.dict.get_index_mut(i).map(|(_, s)| s.replace(value, lru_now, lfu))
            }
            None => {
                let value = Rc::new(value);
                self.hint = self.dict.push_new(key.into(), Slot { value, meta: KeyMeta { lru: lru_now, enc: EncodingHint::Auto } });
                None
            }
        };
        let sub = old.map_or(0, |size| KEY_OVERHEAD + key_len + size as u64);
        self.mem = (self.mem + add).saturating_sub(sub);
        old.is_some()
    }
    /// `dbAddRDBLoad`: adds a key that must be new, hashing to `h` ([`dict::hash`]: the loader
    /// hashed it to read its index slot ahead), with its encoding hint and its TTL if it has one,
    /// in one lookup. The key is new, so its TTL entry is too: it is added without looking for
    /// one first. `Err(key)`, nothing changed, when the key exists.
    pub fn insert_new_hashed(
        &mut self,
        h: u64,
        key: MapKey,
        value: Rc<Value>,
        enc: EncodingHint,
        expire_ms: Option<i64>,
    ) -> Result<(), MapKey> {
        self.settle();
        if self.dict.get_index_of_hashed(h, &key).is_some() {
            return Err(key);
        }
        self.mem += entry_mem(&key, &value);
        if let Some(ms) = expire_ms {
            // A TTL without its key cannot be there (every removal takes both): one insert.
            if self.expires.insert(key.clone(), ms).is_none() {
                self.mem += EXPIRE_OVERHEAD;
            }
        }
        let meta = KeyMeta { lru: self.lru_now, enc };
        self.hint = self.dict.push_new_hashed(h, key, Slot { value, meta });
        Ok(())
    }
    /// `dbDelete`: removes the key and its TTL.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        self.settle();
        let v = self.dict.swap_remove(key)?.value;
        self.mem = self.mem.saturating_sub(entry_mem(key, &v));
        if self.remove_expire_entry(key) {
            self.mem = self.mem.saturating_sub(EXPIRE_OVERHEAD);
        }
        // Shared with a child's snapshot: the caller gets its own copy.
        Some(Rc::try_unwrap(v).unwrap_or_else(|shared| (*shared).clone()))
    }
    pub fn expire_of(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }
    /// `setExpire`; the key must exist.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        if let Some(k) = self.expires.get_mut(key) {
            *k = when_ms;
        } else if self.contains(key) {
            self.expires.insert(MapKey::new(key), when_ms);
            self.mem += EXPIRE_OVERHEAD;
        }
    }
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        let removed = self.remove_expire_entry(key);
        if removed {
            self.mem = self.mem.saturating_sub(EXPIRE_OVERHEAD);
        }
        removed
    }
    /// Removes `key`'s TTL entry (no lookup at all when no key has one).
    fn remove_expire_entry(&mut self, key: &[u8]) -> bool {
        !self.expires.is_empty() && self.expires.swap_remove(key).is_some()
    }
    /// Room for `keys` more keys and `expires` more TTLs (an RDB's `RESIZEDB`), capped: the
    /// sizes come from a file.
    pub fn reserve(&mut self, keys: usize, expires: usize) {
        const CAP: usize = 1 << 24;
        self.dict.reserve(keys.min(CAP));
        self.expires.reserve(expires.min(CAP));
    }
    /// Fetches ahead what a lookup of the key hashing to `h` ([`dict::hash`]) will read:
    /// `stage` 0 its index slot, 1 its entry (the slot must be there by then), 2 its value. Only
    /// a hint to the CPU, through the host's `fetch`: a wrong guess costs a useless fetch.
    pub fn prefetch(&self, h: u64, stage: u8, fetch: fn(*const u8)) {
        let addr = match stage {
            0 => self.dict.slot_addr(h),
            1 => self.dict.entry_addr(h),
            _ => self.dict.home_entry(h).map(|(_, s)| Rc::as_ptr(&s.value).cast::<u8>()),
        };
        if let Some(a) = addr {
            fetch(a);
        }
    }
    /// Reads now what [`Db::prefetch`] would fetch, for a host without a prefetch instruction
    /// (wasm): the loader reads a batch's slots, then their entries, then their values, so that
    /// the misses of one stage overlap (none waits for another) and each command then finds its
    /// key in the caches. What it returns means nothing: it keeps the reads from being dropped.
    pub fn read_ahead(&self, h: u64, stage: u8) -> u64 {
        match stage {
            0 => self.dict.home_slot(h),
            1 => self.dict.home_entry(h).map_or(0, |(k, _)| k.len() as u64),
            _ => self.dict.home_entry(h).map_or(0, |(_, s)| s.value.approx_size() as u64),
        }
    }
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict.clear();
        self.expires.clear();
        self.expires_cursor = 0;
        self.mem = 0;
        self.lent = None;
        n
    }
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Value)> {
        self.iter_from(0)
    }
    /// The keys from the `start`th on, in the table's order ([`Dict::iter_from`]).
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (&[u8], &Value)> {
        self.dict.iter_from(start).map(|(k, v)| (k.as_bytes(), &*v.value))
    }
    /// [`Db::iter_from`] with each key's [`EncodingHint`]: what a snapshot writer needs of
    /// every key, without looking each up again.
    pub fn iter_from_hinted(&self, start: usize) -> impl Iterator<Item = (&[u8], &Value, EncodingHint)> {
        self.dict.iter_from(start).map(|(k, v)| (k.as_bytes(), &*v.value, v.meta.enc))
    }
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.dict.keys().map(MapKey::as_bytes)
    }
    pub fn key_at(&self, index: usize) -> Option<&[u8]> {
        self.dict.get_index(index).map(|(k, _)| k.as_bytes())
    }
    pub fn expire_at(&self, index: usize) -> Option<(&[u8], i64)> {
        self.expires.get_index(index).map(|(k, t)| (k.as_bytes(), *t))
    }
    /// The entry with a TTL at the expire cursor (see [`expire`]), if any key has one.
    pub fn expire_at_cursor(&mut self) -> Option<(&[u8], i64)> {
        let n = self.expires.len();
        if n == 0 {
            return None;
        }
        self.expires_cursor %= n;
        self.expire_at(self.expires_cursor)
    }
    /// Moves the expire cursor past the entry it points at. After that entry was deleted the
    /// cursor stays: the last entry moved into the hole and is sampled next.
    pub fn advance_expires_cursor(&mut self) {
        self.expires_cursor = self.expires_cursor.wrapping_add(1);
    }
    /// Walks positions downwards from `cursor` (0 = start) visiting about `count` keys; returns
    /// the next cursor (0 = done). A key present for the whole scan is seen at least once:
    /// removals move the last entry (already visited) into the freed slot, insertions append at
    /// the end (behind the cursor).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &Value)) -> u64 {
        let len = self.dict.len() as u64;
        let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
        let mut seen = 0;
        while pos > 0 && seen < count.max(1) {
            pos -= 1;
            if let Some((k, v)) = self.dict.get_index(pos as usize) {
                visit(k, &v.value);
            }
            seen += 1;
        }
        pos
    }
    pub fn swap(&mut self, other: &mut Db) {
        self.settle();
        other.settle();
        std::mem::swap(&mut self.mem, &mut other.mem);
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.expires_cursor, &mut other.expires_cursor);
    }
}
