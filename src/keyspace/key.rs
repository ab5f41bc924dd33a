//! A key as a [`super::Db`] stores it: the bytes of a short key inline, a long key's on the heap.
//!
//! Finding a key in a large keyspace costs a few cache misses: the hash table's control bytes,
//! the entry, then the key's bytes to compare. With the key's bytes inside the entry (24 bytes:
//! up to [`INLINE`] bytes of key, its length and a tag), the compare reads the line the entry
//! is already in: one dependent miss fewer per lookup, and one allocation fewer per key. Redis's
//! own keys are `sds` strings behind the `dictEntry`; most keys are short (`user:1000`,
//! `key:000000012345`), so most live inline here.
//!
//! A `MapKey` hashes, compares and borrows as the `[u8]` it holds, so the maps keyed by it are
//! looked up with a plain `&[u8]`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest key kept inline (24 bytes in all with the length and the tag).
pub const INLINE: usize = 22;

#[derive(Clone)]
pub struct MapKey(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl MapKey {
    pub fn new(key: &[u8]) -> MapKey {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE => MapKey(Repr::Inline { len, buf: inline_bytes(key) }),
            _ => MapKey(Repr::Heap(key.into())),
        }
    }
    /// The bytes (as `Vec::as_slice` names it, for the code that held `Vec<u8>` keys).
    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        self.as_bytes()
    }
    /// Always inlined, as the other borrows here and the dictionary's slot helpers: the wasm is
    /// built for size (opt-level z), which otherwise keeps each as a call inside every hash probe
    /// and binary search (~5 % of a load in that build).
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(b) => b,
        }
    }
}

/// The 8 bytes of `b` from `at`, as a little-endian word (0 if there are not 8).
#[inline(always)]
fn le8(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| <[u8; 8]>::try_from(s).ok()).map_or(0, u64::from_le_bytes)
}

/// A short key's bytes (at most [`INLINE`]) in the inline buffer, zeros after them. Read as at
/// most three words (the last ones overlapping the ones before, shifted down) and written as
/// three: a copy of the key's length into a buffer on the stack, then read back whole into the
/// entry, made the processor wait for the bytes it had just written (a store it cannot forward
/// to a wider load), for every field and member a loader makes (~5 % of loading an RDB preamble
/// in the wasm's opt-level z build).
#[inline(always)]
fn inline_bytes(key: &[u8]) -> [u8; INLINE] {
    let n = key.len();
    let shift = |w: u64, keep: usize| w.checked_shr(u32::try_from(64 - 8 * keep).unwrap_or(64)).unwrap_or(0);
    let words = if n >= 16 {
        [le8(key, 0), le8(key, 8), shift(le8(key, n - 8), n - 16)]
    } else if n >= 8 {
        [le8(key, 0), shift(le8(key, n - 8), n - 8), 0]
    } else {
        let mut w = 0u64;
        for (i, &b) in key.iter().enumerate() {
            w |= u64::from(b) << (8 * i);
        }
        [w, 0, 0]
    };
    let [a, b, c] = words;
    let (a, b, c) = (a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes());
    let mut buf = [0; INLINE];
    // Fixed ranges: plain stores, even at opt-level z.
    if let Some(x) = buf.get_mut(0..8) {
        x.copy_from_slice(&a);
    }
    if let Some(x) = buf.get_mut(8..16) {
        x.copy_from_slice(&b);
    }
    if let (Some(x), Some(c)) = (buf.get_mut(16..22), c.get(..6)) {
        x.copy_from_slice(c);
    }
    buf
}

impl Deref for MapKey {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for MapKey {
    #[inline(always)]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for MapKey {
    #[inline(always)]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// As `[u8]` hashes (required by `Borrow<[u8]>`: a lookup by slice finds the key).
impl Hash for MapKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for MapKey {
    #[inline(always)]
    fn eq(&self, other: &MapKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for MapKey {}

impl PartialEq<[u8]> for MapKey {
    #[inline(always)]
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl std::fmt::Debug for MapKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl From<&[u8]> for MapKey {
    fn from(key: &[u8]) -> MapKey {
        MapKey::new(key)
    }
}

impl From<&Vec<u8>> for MapKey {
    fn from(key: &Vec<u8>) -> MapKey {
        MapKey::new(key)
    }
}

/// A long key keeps the vector's allocation (shrunk to fit if it has spare capacity).
impl From<Vec<u8>> for MapKey {
    fn from(key: Vec<u8>) -> MapKey {
        if key.len() <= INLINE { MapKey::new(&key) } else { MapKey(Repr::Heap(key.into_boxed_slice())) }
    }
}

/// The bytes as a vector (a reply's bulk string).
impl From<MapKey> for Vec<u8> {
    fn from(key: MapKey) -> Vec<u8> {
        key.as_bytes().to_vec()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn inline_and_heap_keys_read_hash_and_compare_as_their_bytes() {
        let state = super::super::FixedState;
        for len in (0..=INLINE + 2).chain([100]) {
            let bytes: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251 + 1).unwrap()).collect();
            for k in [MapKey::new(&bytes), MapKey::from(bytes.clone()), MapKey::from(&bytes)] {
                if let Repr::Inline { buf, .. } = &k.0 {
                    assert!(buf[len..].iter().all(|&b| b == 0), "zeros after {len} bytes");
                }
                assert_eq!(k.as_bytes(), bytes.as_slice());
                assert_eq!(matches!(k.0, Repr::Inline { .. }), len <= INLINE);
                assert_eq!(state.hash_one(&k), state.hash_one(bytes.as_slice()));
                assert_eq!(k, MapKey::new(&bytes));
            }
        }
        assert_eq!(std::mem::size_of::<MapKey>(), 24);
        assert_ne!(MapKey::new(b"ab"), MapKey::new(b"abc"));
    }
}
