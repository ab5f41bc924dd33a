//! The main dictionary of a [`super::Db`]: its entries in insertion order, found through an
//! open-addressing index whose slot for a key can be fetched ahead of the lookup.
//!
//! **Order.** Exactly `IndexMap`'s (which this replaces): a new key goes at the end, and a removal
//! moves the *last* entry into the hole (`swap_remove`). SCAN's cursor, RANDOMKEY's index, the
//! rewrite's and the RDB's key order all read it, so it must not change (the tests compare
//! with `IndexMap` step by step).
//!
//! **Index.** `slots` is a power-of-two table probed linearly, at most 5/8 full. A slot is one
//! `u64`: the key hash's low 32 bits above, the entry's position + 1 below (0 = empty). The
//! home slot of a key is its hash's low bits; the stored hash bits tell most other keys apart
//! without reading their entries, and let the table grow without hashing a key again. A removal
//! shifts the following slots back (no tombstones).
//!
//! **Ahead of time.** Finding a key in a keyspace larger than the caches costs dependent misses:
//! the slot, then the entry, then the value. [`Dict::slot_addr`] and [`Dict::entry_addr`] give
//! the addresses a loader can ask the CPU to fetch a few commands early (the host lends the
//! prefetch instruction, [`crate::Config::prefetch`]: the engine has no `unsafe`).

use std::hash::BuildHasher;

use super::FixedState;
use super::key::MapKey;

#[derive(Clone, Debug)]
pub struct Dict<V> {
    entries: Vec<(MapKey, V)>,
    slots: Vec<u64>,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict { entries: Vec::new(), slots: Vec::new() }
    }
}

/// The hash of a key (the keyspace's fixed hasher, as for every map here).
pub fn hash(key: &[u8]) -> u64 {
    FixedState.hash_one(key)
}

/// The hash bits a slot keeps.
#[inline(always)]
fn tag(h: u64) -> u32 {
    (h & 0xFFFF_FFFF) as u32
}

#[inline(always)]
fn slot(tag: u32, index: usize) -> u64 {
    // Positions fit in 32 bits: 2^32 keys would be hundreds of GB.
    (u64::from(tag) << 32) | u64::from(u32::try_from(index + 1).unwrap_or(u32::MAX))
}

#[inline(always)]
fn slot_tag(s: u64) -> u32 {
    (s >> 32) as u32
}

#[inline(always)]
fn slot_index(s: u64) -> usize {
    usize::try_from(s & 0xFFFF_FFFF).unwrap_or(0).wrapping_sub(1)
}

impl<V> Dict<V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }
    #[inline(always)]
    fn home(&self, tag: u32) -> usize {
        usize::try_from(tag).unwrap_or(0) & self.mask()
    }

    /// (slot, entry position) of `key`, whose hash is `h`.
    fn find_slot(&self, h: u64, key: &[u8]) -> Option<(usize, usize)> {
        if self.slots.is_empty() {
            return None;
        }
        let t = tag(h);
        let mut i = self.home(t);
        loop {
            let s = *self.slots.get(i)?;
            if s == 0 {
                return None;
            }
            if slot_tag(s) == t && self.entries.get(slot_index(s)).is_some_and(|(k, _)| k.as_bytes() == key) {
                return Some((i, slot_index(s)));
            }
            i = (i + 1) & self.mask();
        }
    }

    pub fn get_index_of(&self, key: &[u8]) -> Option<usize> {
        self.find_slot(hash(key), key).map(|(_, e)| e)
    }
    pub fn get_index(&self, i: usize) -> Option<(&MapKey, &V)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&MapKey, &mut V)> {
        self.entries.get_mut(i).map(|(k, v)| (&*k, v))
    }

    /// Adds a key that is not in the dictionary (the caller looked it up); returns its position.
    pub fn push_new(&mut self, key: MapKey, value: V) -> usize {
        let h = hash(key.as_bytes());
        self.push_new_hashed(h, key, value)
    }

    /// [`Dict::get_index_of`] with the key's hash ([`hash`]) computed by the caller, who needs
    /// it again (a loader that read the home slots ahead, then inserts).
    #[inline(always)]
    pub fn get_index_of_hashed(&self, h: u64, key: &[u8]) -> Option<usize> {
        self.find_slot(h, key).map(|(_, e)| e)
    }

    /// [`Dict::push_new`] of a key hashing to `h`.
    pub fn push_new_hashed(&mut self, h: u64, key: MapKey, value: V) -> usize {
        self.reserve(1);
        let t = tag(h);
        let index = self.entries.len();
        self.entries.push((key, value));
        self.place(slot(t, index));
        index
    }

    /// Puts a slot into the first free place from its home.
    fn place(&mut self, s: u64) {
        let mut i = self.home(slot_tag(s));
        while let Some(cur) = self.slots.get_mut(i) {
            if *cur == 0 {
                *cur = s;
                return;
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Room for `more` keys without growing the index.
    pub fn reserve(&mut self, more: usize) {
        let need = self.entries.len().saturating_add(more);
        self.entries.reserve(more);
        // At most 5/8 full.
        if need.saturating_mul(8) <= self.slots.len().saturating_mul(5) {
            return;
        }
        let mut cap = self.slots.len().max(16);
        while need.saturating_mul(8) > cap.saturating_mul(5) {
            cap = cap.saturating_mul(2);
        }
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        for s in old.into_iter().filter(|&s| s != 0) {
            self.place(s);
        }
    }

    /// Removes `key`, moving the last entry into its place; returns its value.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<V> {
        let (i, e) = self.find_slot(hash(key), key)?;
        self.remove_slot(i);
        let last = self.entries.len() - 1;
        if e != last {
            // The last entry moves to `e`: its slot must say so.
            let moved = self.entries.get(last).map(|(k, _)| tag(hash(k.as_bytes())));
            if let Some(t) = moved {
                let mut j = self.home(t);
                while let Some(s) = self.slots.get_mut(j) {
                    if *s != 0 && slot_index(*s) == last {
                        *s = slot(t, e);
                        break;
                    }
                    j = (j + 1) & self.mask();
                }
            }
        }
        Some(self.entries.swap_remove(e).1)
    }

    /// Empties slot `i` and shifts back the slots after it that would no longer be found.
    fn remove_slot(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(&s) = self.slots.get(j) else { break };
            if s == 0 {
                break;
            }
            let home = self.home(slot_tag(s));
            // `s` stays if its home lies cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = s;
                }
                hole = j;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            *h = 0;
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.slots.iter_mut().for_each(|s| *s = 0);
    }
    pub fn iter(&self) -> impl Iterator<Item = (&MapKey, &V)> {
        self.iter_from(0)
    }
    /// From the `start`th entry on, in O(1) (a child writing a few keys per tick resumes here).
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (&MapKey, &V)> {
        self.entries.get(start..).unwrap_or_default().iter().map(|(k, v)| (k, v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &MapKey> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The address of the home slot of a key hashing to `h`, to fetch ahead.
    pub fn slot_addr(&self, h: u64) -> Option<*const u8> {
        self.slots.get(self.home(tag(h))).map(|s| std::ptr::from_ref(s).cast())
    }
    /// The home slot of a key hashing to `h` (0: empty), read.
    pub fn home_slot(&self, h: u64) -> u64 {
        self.slots.get(self.home(tag(h))).copied().unwrap_or(0)
    }
    /// The address of the entry the home slot of `h` names, if it is `h`'s (the slot was fetched
    /// ahead; a collision just fetches another entry).
    pub fn entry_addr(&self, h: u64) -> Option<*const u8> {
        self.home_entry_raw(h).map(|e| std::ptr::from_ref(e).cast())
    }
    /// The entry the home slot of `h` names, if its hash bits are `h`'s (most likely `h`'s key).
    pub fn home_entry(&self, h: u64) -> Option<(&MapKey, &V)> {
        self.home_entry_raw(h).map(|(k, v)| (k, v))
    }
    fn home_entry_raw(&self, h: u64) -> Option<&(MapKey, V)> {
        let s = *self.slots.get(self.home(tag(h)))?;
        if s == 0 || slot_tag(s) != tag(h) {
            return None;
        }
        self.entries.get(slot_index(s))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Random inserts, overwrites and removals (many colliding homes in a small table): the
    /// same order, positions and values as `IndexMap` at every step.
    #[test]
    fn keeps_indexmaps_order_through_inserts_and_swap_removes() {
        let mut rng = fastrand::Rng::with_seed(14);
        for keys in [5usize, 40, 3000] {
            let mut d: Dict<u64> = Dict::default();
            let mut m: indexmap::IndexMap<Vec<u8>, u64> = indexmap::IndexMap::new();
            for step in 0..20_000u64 {
                let k = format!("k{}", rng.usize(..keys)).into_bytes();
                if rng.u8(..3) == 0 {
                    assert_eq!(d.swap_remove(&k), m.swap_remove(&k));
                } else {
                    match d.get_index_of(&k) {
                        Some(i) => *d.get_index_mut(i).unwrap().1 = step,
                        None => {
                            d.push_new(MapKey::new(&k), step);
                        }
                    }
                    m.insert(k.clone(), step);
                }
                assert_eq!(d.len(), m.len());
                assert_eq!(d.get_index_of(&k), m.get_index_of(&k));
                if step % 997 == 0 || keys == 5 {
                    let got: Vec<(Vec<u8>, u64)> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
                    let want: Vec<(Vec<u8>, u64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
                    assert_eq!(got, want, "step {step}");
                    for (i, (k, _)) in m.iter().enumerate() {
                        assert_eq!(d.get_index_of(k), Some(i));
                    }
                }
            }
            d.clear();
            assert!(d.is_empty() && d.get_index_of(b"k1").is_none());
        }
    }
}
