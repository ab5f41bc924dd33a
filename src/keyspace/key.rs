//! A key as a [`super::Db`] stores it: the bytes of a short key inline, a long key's on the heap
//! (a [`SmallBytes`], whose module says how).
//!
//! Finding a key in a large keyspace costs a few cache misses: the hash table's control bytes,
//! the entry, then the key's bytes to compare. With the key's bytes inside the entry (24 bytes:
//! up to [`INLINE`] bytes of key, its length and a tag), the compare reads the line the entry
//! is already in: one dependent miss fewer per lookup, and one allocation fewer per key. Redis's
//! own keys are `sds` strings behind the `dictEntry`; most keys are short (`user:1000`,
//! `key:000000012345`), so most live inline here. Hash fields and set and zset members are kept
//! the same way.
//!
//! A `MapKey` hashes, compares and borrows as the `[u8]` it holds, so the maps keyed by it are
//! looked up with a plain `&[u8]`. It never changes once made (its map's hash would go stale),
//! so a long key is a `Box<[u8]>`: no capacity to keep, and 24 bytes in all.

use super::small::SmallBytes;

/// The longest key kept inline (24 bytes in all with the length and the tag).
pub const INLINE: usize = 22;

pub type MapKey = SmallBytes<INLINE, Box<[u8]>>;

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
                assert_eq!(k.as_bytes(), bytes.as_slice());
                assert_eq!(k.is_inline(), len <= INLINE);
                assert_eq!(state.hash_one(&k), state.hash_one(bytes.as_slice()));
                assert_eq!(k, MapKey::new(&bytes));
                assert_eq!(Vec::from(k), bytes);
            }
        }
        assert_eq!(std::mem::size_of::<MapKey>(), 24);
        assert_ne!(MapKey::new(b"ab"), MapKey::new(b"abc"));
    }
}
