//! Bytes kept inline when short, on the heap when long: the one representation behind a key
//! ([`super::MapKey`]) and a string value ([`super::value::StringValue`]).
//!
//! A `SmallBytes<N, H>` holds up to `N` bytes in itself (a length byte, the bytes, and the enum's
//! tag) and a longer run in `H`, a heap buffer. What it saves is an allocation and a dependent
//! cache miss: the bytes sit in the memory that holds the value already (a map's entry for a
//! key, the `Rc` block for a string value), so reading them reads the line just fetched, and
//! creating or freeing them creates or frees nothing more. Redis does the same for its string
//! objects: an `embstr` (up to 44 bytes) is the `robj` header and the `sds` in one allocation, a
//! `raw` string is two.
//!
//! The two uses differ only in their heap buffer and `N`:
//! - a key, hash field, set or zset member never changes once made, so its heap form is a
//!   `Box<[u8]>` (16 bytes, no capacity to keep): 22 bytes inline make 24 in all;
//! - a string value changes in place (APPEND, SETRANGE, SETBIT, BITFIELD, PFADD), so its heap form
//!   is a `Vec<u8>`, whose spare capacity keeps a run of APPENDs linear, as `sds`'s free space
//!   does in Redis; only this form has the methods that change the bytes.
//!
//! Whatever the form, a `SmallBytes` borrows, hashes and compares as the `[u8]` it holds (so a map
//! keyed by it is looked up with a plain `&[u8]`), and the form follows the length: a run of at
//! most `N` bytes is always inline, a longer one always on the heap.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

#[derive(Clone)]
pub struct SmallBytes<const N: usize, H>(Repr<N, H>);

#[derive(Clone)]
enum Repr<const N: usize, H> {
    Inline { len: u8, buf: [u8; N] },
    Heap(H),
}

impl<const N: usize, H: Deref<Target = [u8]>> SmallBytes<N, H> {
    /// The length is one byte: `N` must fit in it (checked where a `SmallBytes` is made).
    const N_FITS_A_BYTE: () = assert!(N <= u8::MAX as usize);

    /// A copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Self
    where
        H: for<'a> From<&'a [u8]>,
    {
        match inline(bytes) {
            Some(r) => SmallBytes(r),
            None => SmallBytes(Repr::Heap(bytes.into())),
        }
    }
    /// The bytes (as `Vec::as_slice` names it, for the code that held `Vec<u8>`s).
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
    /// Whether the bytes are held inline (for the tests of the boundary).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

/// The inline form of `bytes`, if it is short enough.
#[inline(always)]
fn inline<const N: usize, H: Deref<Target = [u8]>>(bytes: &[u8]) -> Option<Repr<N, H>> {
    let () = SmallBytes::<N, H>::N_FITS_A_BYTE;
    let len = u8::try_from(bytes.len()).ok().filter(|&l| usize::from(l) <= N)?;
    let buf = if N <= 24 {
        short_bytes(bytes)
    } else {
        let mut buf = [0; N];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        buf
    };
    Some(Repr::Inline { len, buf })
}

/// The 8 bytes of `b` from `at`, as a little-endian word (0 if there are not 8).
#[inline(always)]
fn le8(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| <[u8; 8]>::try_from(s).ok()).map_or(0, u64::from_le_bytes)
}

/// The inline buffer of a short form (`N` ≤ 24: a key, a field, a member) holding `bytes` (at
/// most `N` of them), zeros after them. Read as at most three words (the last one overlapping
/// the ones before, shifted down) and written as three. A copy of the bytes' length into a
/// buffer on the stack, read back whole into the entry, made the processor wait for the bytes
/// it had just written (a store it cannot forward to a wider load), for every field and member
/// a loader makes (~5 % of loading an RDB preamble in the wasm's opt-level z build).
#[inline(always)]
fn short_bytes<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let n = bytes.len();
    let shift = |w: u64, keep: usize| w.checked_shr(u32::try_from(64 - 8 * keep).unwrap_or(64)).unwrap_or(0);
    let words = if n >= 16 {
        [le8(bytes, 0), le8(bytes, 8), shift(le8(bytes, n - 8), n - 16)]
    } else if n >= 8 {
        [le8(bytes, 0), shift(le8(bytes, n - 8), n - 8), 0]
    } else {
        let mut w = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            w |= u64::from(b) << (8 * i);
        }
        [w, 0, 0]
    };
    let mut buf = [0; N];
    // Fixed ranges (N is a constant): plain stores, even at opt-level z.
    for (i, w) in words.iter().enumerate() {
        let (start, end) = (8 * i, (8 * i + 8).min(N));
        if let (Some(x), Some(w)) = (buf.get_mut(start..end), w.to_le_bytes().get(..end.saturating_sub(start))) {
            x.copy_from_slice(w);
        }
    }
    buf
}

/// The form that changes in place: a string value's. Each method keeps the rule that the form
/// follows the length (a string that grows past `N` moves to the heap; one that shrinks to `N`
/// or less comes back).
impl<const N: usize> SmallBytes<N, Vec<u8>> {
    /// Appends `tail` (APPEND).
    pub fn extend_from_slice(&mut self, tail: &[u8]) {
        match &mut self.0 {
            Repr::Heap(v) => v.extend_from_slice(tail),
            Repr::Inline { len, buf } => {
                let (old, new) = (usize::from(*len), usize::from(*len) + tail.len());
                match (buf.get_mut(old..new), u8::try_from(new)) {
                    (Some(room), Ok(new)) => {
                        room.copy_from_slice(tail);
                        *len = new;
                    }
                    _ => {
                        let mut v = Vec::with_capacity(new);
                        v.extend_from_slice(buf.get(..old).unwrap_or_default());
                        v.extend_from_slice(tail);
                        self.0 = Repr::Heap(v);
                    }
                }
            }
        }
    }
    /// Grows with `fill` bytes or truncates to `new_len` bytes (SETRANGE, SETBIT and BITFIELD past
    /// the end).
    pub fn resize(&mut self, new_len: usize, fill: u8) {
        match &mut self.0 {
            Repr::Heap(v) => {
                v.resize(new_len, fill);
                if let Some(r) = inline(v) {
                    self.0 = r;
                }
            }
            Repr::Inline { len, buf } => {
                let old = usize::from(*len);
                match (buf.get_mut(..new_len), u8::try_from(new_len)) {
                    (Some(b), Ok(new)) => {
                        // Past the old end the buffer holds whatever a longer string left there.
                        b.get_mut(old..).unwrap_or_default().fill(fill);
                        *len = new;
                    }
                    _ => {
                        let mut v = Vec::with_capacity(new_len);
                        v.extend_from_slice(buf.get(..old).unwrap_or_default());
                        v.resize(new_len, fill);
                        self.0 = Repr::Heap(v);
                    }
                }
            }
        }
    }
}

/// A string value's bytes lent as a `Vec<u8>`, for code written for one (the HyperLogLog's sparse
/// form splices runs in and out); put back in the form its length asks for when the loan ends,
/// whichever way the borrower leaves (an early return included).
pub struct VecMut<'a, const N: usize> {
    owner: &'a mut SmallBytes<N, Vec<u8>>,
    vec: Vec<u8>,
}

impl<const N: usize> SmallBytes<N, Vec<u8>> {
    /// Lends the bytes as a `Vec` (the heap form's own, or a copy of the inline bytes).
    pub fn vec_mut(&mut self) -> VecMut<'_, N> {
        let vec = match std::mem::replace(&mut self.0, Repr::Inline { len: 0, buf: [0; N] }) {
            Repr::Inline { len, buf } => buf.get(..usize::from(len)).unwrap_or_default().to_vec(),
            Repr::Heap(v) => v,
        };
        VecMut { owner: self, vec }
    }
}

impl<const N: usize> Drop for VecMut<'_, N> {
    fn drop(&mut self) {
        *self.owner = SmallBytes::from(std::mem::take(&mut self.vec));
    }
}

impl<const N: usize> Deref for VecMut<'_, N> {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.vec
    }
}

impl<const N: usize> DerefMut for VecMut<'_, N> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.vec
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Deref for SmallBytes<N, H> {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Only a string value's bytes change in place (a key's would leave its map's hash stale).
impl<const N: usize> DerefMut for SmallBytes<N, Vec<u8>> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, buf } => buf.get_mut(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(v) => v,
        }
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> AsRef<[u8]> for SmallBytes<N, H> {
    #[inline(always)]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Borrow<[u8]> for SmallBytes<N, H> {
    #[inline(always)]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// As `[u8]` hashes (required by `Borrow<[u8]>`: a lookup by slice finds the key).
impl<const N: usize, H: Deref<Target = [u8]>> Hash for SmallBytes<N, H> {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.as_bytes().hash(state);
    }
}

/// Equal bytes are equal, whatever the form.
impl<const N: usize, H: Deref<Target = [u8]>> PartialEq for SmallBytes<N, H> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> Eq for SmallBytes<N, H> {}

impl<const N: usize, H: Deref<Target = [u8]>> PartialEq<[u8]> for SmallBytes<N, H> {
    #[inline(always)]
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize, H: Deref<Target = [u8]>> std::fmt::Debug for SmallBytes<N, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl<const N: usize, H: Deref<Target = [u8]> + for<'a> From<&'a [u8]>> From<&[u8]> for SmallBytes<N, H> {
    fn from(bytes: &[u8]) -> Self {
        SmallBytes::new(bytes)
    }
}

impl<const N: usize, H: Deref<Target = [u8]> + for<'a> From<&'a [u8]>> From<&Vec<u8>> for SmallBytes<N, H> {
    fn from(bytes: &Vec<u8>) -> Self {
        SmallBytes::new(bytes)
    }
}

/// A long run keeps the vector's allocation (a `Box<[u8]>` shrinks it to fit if it has spare
/// capacity); a short one is copied inline and the vector freed.
impl<const N: usize, H: Deref<Target = [u8]> + From<Vec<u8>>> From<Vec<u8>> for SmallBytes<N, H> {
    fn from(bytes: Vec<u8>) -> Self {
        match inline(&bytes) {
            Some(r) => SmallBytes(r),
            None => SmallBytes(Repr::Heap(bytes.into())),
        }
    }
}

/// The bytes as a vector (a reply's bulk string): the heap form's allocation moves, the inline
/// form is copied.
impl<const N: usize, H: Deref<Target = [u8]> + Into<Vec<u8>>> From<SmallBytes<N, H>> for Vec<u8> {
    fn from(b: SmallBytes<N, H>) -> Vec<u8> {
        match b.0 {
            Repr::Inline { len, buf } => buf.get(..usize::from(len)).unwrap_or_default().to_vec(),
            Repr::Heap(h) => h.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small `N` so that the tests walk both sides of the boundary cheaply.
    type S = SmallBytes<8, Vec<u8>>;

    fn bytes(len: usize, from: u8) -> Vec<u8> {
        (0..len).map(|i| from.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn the_form_follows_the_length_when_made() {
        for len in [0, 1, 7, 8, 9, 100] {
            let b = bytes(len, 1);
            for s in [S::new(&b), S::from(b.clone()), S::from(&b)] {
                assert_eq!(s.as_bytes(), b.as_slice());
                assert_eq!(s.is_inline(), len <= 8, "{len} bytes");
                assert_eq!(Vec::from(s), b);
            }
        }
    }

    /// The short forms' word copy (`short_bytes`): every length up to `N`, zeros after it.
    fn short_form_holds<const N: usize>() {
        for len in 0..=N + 2 {
            let b = bytes(len, 1);
            let s = SmallBytes::<N, Box<[u8]>>::new(&b);
            assert_eq!(s.as_bytes(), b.as_slice(), "N {N}, {len} bytes");
            assert_eq!(s.is_inline(), len <= N);
            if let Repr::Inline { buf, .. } = &s.0 {
                assert!(buf.iter().skip(len).all(|&x| x == 0), "zeros after {len} bytes, N {N}");
            }
        }
    }

    #[test]
    fn short_forms_copy_every_length() {
        short_form_holds::<8>();
        short_form_holds::<13>();
        short_form_holds::<22>();
        short_form_holds::<24>();
    }

    #[test]
    fn append_grows_past_the_inline_bytes_and_keeps_every_byte() {
        let mut s = S::new(b"abc");
        let mut model = b"abc".to_vec();
        for tail in [&b"de"[..], b"", b"fgh", b"i", b"jklmnopqrstuvwxyz", b"0123"] {
            s.extend_from_slice(tail);
            model.extend_from_slice(tail);
            assert_eq!(s.as_bytes(), model.as_slice());
            assert_eq!(s.is_inline(), model.len() <= 8, "{} bytes", model.len());
        }
        // Exactly 8 by appending: still inline; one more: on the heap.
        let mut s = S::new(b"1234567");
        s.extend_from_slice(b"8");
        assert!(s.is_inline());
        assert_eq!(&*s, b"12345678");
        s.extend_from_slice(b"9");
        assert!(!s.is_inline());
        assert_eq!(&*s, b"123456789");
    }

    #[test]
    fn resize_grows_with_the_fill_and_shrinks_back_inline() {
        let mut s = S::new(b"abcdefgh");
        // Shrinking leaves "fgh" behind in the buffer: growing again must not bring it back.
        s.resize(5, 0);
        assert_eq!(&*s, b"abcde");
        s.resize(8, 0);
        assert!(s.is_inline());
        assert_eq!(&*s, b"abcde\0\0\0");
        s.resize(20, 7);
        assert!(!s.is_inline());
        assert_eq!(&*s, [&b"abcde\0\0\0"[..], &[7; 12]].concat().as_slice());
        s.resize(9, 0);
        assert!(!s.is_inline());
        s.resize(8, 0);
        assert!(s.is_inline(), "back to 8 bytes: inline again");
        assert_eq!(&*s, b"abcde\0\0\0");
        s.resize(0, 0);
        assert!(s.is_inline() && s.is_empty());
    }

    #[test]
    fn changes_through_deref_mut_stay_in_the_value() {
        for len in [3, 30] {
            let mut s = S::from(bytes(len, 0));
            if let Some(b) = s.get_mut(2) {
                *b = 0xff;
            }
            let mut model = bytes(len, 0);
            model[2] = 0xff;
            assert_eq!(&*s, model.as_slice());
        }
    }

    #[test]
    fn a_lent_vec_comes_back_in_the_form_its_length_asks_for() {
        let mut s = S::new(b"abc");
        s.vec_mut().extend_from_slice(b"defghij");
        assert!(!s.is_inline());
        assert_eq!(&*s, b"abcdefghij");
        {
            let mut v = s.vec_mut();
            v.truncate(8);
            v[0] = b'A';
        }
        assert!(s.is_inline());
        assert_eq!(&*s, b"Abcdefgh");
        // A loan that changes nothing leaves the bytes as they were.
        drop(s.vec_mut());
        assert_eq!(&*s, b"Abcdefgh");
        assert!(s.is_inline());
    }

    #[test]
    fn both_forms_hash_and_compare_as_their_bytes() {
        use std::hash::BuildHasher;
        let state = super::super::FixedState;
        let mut grown = S::new(b"12345678");
        grown.extend_from_slice(b"9");
        grown.resize(8, 0);
        let made = S::new(b"12345678");
        assert_eq!(grown, made);
        assert_eq!(state.hash_one(&grown), state.hash_one(b"12345678".as_slice()));
        assert_ne!(S::new(b"ab"), S::new(b"abc"));
    }
}
