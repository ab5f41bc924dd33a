//! The listpack a stream node lives in, writable and walkable by position, as `listpack.c` does
//! it: a stream keeps its entries in these bytes exactly as Redis 7.0 does, so that an RDB
//! holds the same node bytes on both sides and an RDB from Redis keeps its layout here.
//!
//! ```text
//! <total bytes u32 LE> <count u16 LE> <entry>* FF
//! entry = <encoding + data> <backlen: 1-5 bytes, the size of encoding + data, read backwards>
//! ```
//!
//! Encodings (`lpEncodeIntegerGetType`, `lpEncodeString`): `0xxxxxxx` 7-bit uint, `10xxxxxx`
//! then up to 63 bytes, `110xxxxx y` 13-bit int, `1110xxxx y` then up to 4095 bytes, `F0` u32 LE
//! length then the bytes, `F1`..`F4` 16/24/32/64-bit LE ints. A string that reads as an integer
//! (`lpStringToInt64`: no sign but `-`, no leading zero, at most 20 bytes, fits in 64 bits) is
//! stored as an integer, and read back as its decimal text. The count saturates at 65535
//! ("unknown"), as `lpInsert` leaves it.
//!
//! A position is a byte offset of an entry. Every read is checked: on bytes that are not a
//! listpack the walk ends (`None`) or reads 0, it never panics; the RDB loader validates a
//! loaded node ([`validate`]) before a stream uses it.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

/// `LP_HDR_SIZE`.
pub const HDR_SIZE: usize = 6;
const EOF: u8 = 0xFF;
const NUMELE_UNKNOWN: u16 = u16::MAX;

/// One element as `lpGet` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ele<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Ele<'_> {
    /// The element's bytes as a client sees them (an integer as its decimal text).
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Ele::Int(v) => v.to_string().into_bytes(),
            Ele::Str(s) => s.to_vec(),
        }
    }
    /// Compares with a client's bytes without allocating for strings.
    pub fn eq_bytes(self, b: &[u8]) -> bool {
        match self {
            Ele::Str(s) => s == b,
            Ele::Int(v) => lp_string_to_i64(b) == Some(v),
        }
    }
}

/// `lpNew`: an empty listpack.
pub fn new() -> Vec<u8> {
    let mut lp = Vec::with_capacity(64);
    lp.extend_from_slice(&7u32.to_le_bytes());
    lp.extend_from_slice(&0u16.to_le_bytes());
    lp.push(EOF);
    lp
}

/// `lpBytes`: the total size the header records.
pub fn total_bytes(lp: &[u8]) -> usize {
    lp.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, |b| u32::from_le_bytes(b) as usize)
}

/// `lpStringToInt64`: what a string is stored as when it reads as an integer.
pub fn lp_string_to_i64(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE is 21: at most 20 bytes.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) if !rest.is_empty() => (true, rest),
        Some((b'-', _)) => return None,
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > 1u64 << 63 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// `lpEncodeIntegerGetType`.
fn encode_int(v: i64, out: &mut Vec<u8>) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = if v < 0 { (1i64 << 13) + v } else { v } as u64;
        out.extend_from_slice(&[((u >> 8) as u8) | 0xC0, u as u8]);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (-2_147_483_648..=2_147_483_647).contains(&v) {
        out.push(0xF3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// `lpEncodeString`.
fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// `lpEncodeBacklen`: the size of encoding + data in 7-bit groups, the most significant first;
/// every byte but the first has its high bit set, so that it reads backwards.
fn encode_backlen(l: usize, out: &mut Vec<u8>) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..16383 => 2,
        16383..2097151 => 3,
        2097151..268435455 => 4,
        _ => 5,
    }
}

/// One encoded element with its backlen, as `lpInsert` writes it.
fn encoded(ele: Ele) -> Vec<u8> {
    let mut e = Vec::with_capacity(16);
    encode_entry(ele, &mut e);
    e
}

/// Appends an element's encoding and its backlen to `out`.
fn encode_entry(ele: Ele, out: &mut Vec<u8>) {
    // The common case in one go: a short string that is not an integer (the encoding byte,
    // the bytes, a one-byte backlen).
    if let Ele::Str(s) = ele
        && s.len() < 64
        && lp_string_to_i64(s).is_none()
    {
        out.reserve(s.len() + 2);
        out.push(0x80 | s.len() as u8);
        out.extend_from_slice(s);
        out.push(s.len() as u8 + 1);
        return;
    }
    let start = out.len();
    match ele {
        Ele::Int(v) => encode_int(v, out),
        Ele::Str(s) => match lp_string_to_i64(s) {
            Some(v) => encode_int(v, out),
            None => encode_str(s, out),
        },
    }
    let len = out.len() - start;
    encode_backlen(len, out);
}

fn set_total(lp: &mut [u8], n: usize) {
    if let Some(h) = lp.get_mut(..4) {
        h.copy_from_slice(&(n as u32).to_le_bytes());
    }
}

fn count(lp: &[u8]) -> u16 {
    lp.get(4..6).and_then(|b| <[u8; 2]>::try_from(b).ok()).map_or(0, u16::from_le_bytes)
}

fn set_count(lp: &mut [u8], n: u16) {
    if let Some(h) = lp.get_mut(4..6) {
        h.copy_from_slice(&n.to_le_bytes());
    }
}

/// `lpAppend` / `lpAppendInteger`: a string that reads as an integer is stored as one.
pub fn append(lp: &mut Vec<u8>, ele: Ele) {
    // Written in place of the EOF byte, which then follows it: no element is built apart (a
    // rewrite appends every element of every list, hash and sorted set).
    let eof = lp.pop().unwrap_or(EOF);
    encode_entry(ele, lp);
    lp.push(eof);
    let total = lp.len();
    set_total(lp, total);
    let c = count(lp);
    if c != NUMELE_UNKNOWN {
        set_count(lp, c + 1);
    }
}

/// A listpack written front to back in one pass, as a run of [`append`]s on [`new`] would
/// leave it: the elements go one after the other into a buffer sized once, and the header
/// (total bytes, count) and the EOF byte are written at the end, not per element. What a
/// snapshot writes for every small hash, sorted set and list node (Redis writes the listpack it
/// holds; the engine builds it value by value).
pub struct Builder {
    lp: Vec<u8>,
    count: usize,
}

impl Builder {
    /// An empty listpack with room for `bytes` bytes (the header included).
    pub fn with_capacity(bytes: usize) -> Builder {
        let mut lp = Vec::with_capacity(bytes.max(HDR_SIZE + 1));
        lp.extend_from_slice(&[0; HDR_SIZE]);
        Builder { lp, count: 0 }
    }
    /// [`append`].
    pub fn push(&mut self, ele: Ele) {
        encode_entry(ele, &mut self.lp);
        self.count += 1;
    }
    /// `lpBytes` of the listpack so far (its EOF byte counted).
    pub fn bytes(&self) -> usize {
        self.lp.len() + 1
    }
    /// The listpack: EOF, the total and the count (saturated at 65535, "unknown", as
    /// `lpInsert` leaves it).
    pub fn finish(mut self) -> Vec<u8> {
        self.lp.push(EOF);
        let total = self.lp.len();
        set_total(&mut self.lp, total);
        set_count(&mut self.lp, u16::try_from(self.count).unwrap_or(NUMELE_UNKNOWN));
        self.lp
    }
}

/// `lpReplaceInteger`: the element at `p` becomes `v` (the listpack may grow or shrink).
pub fn replace_int(lp: &mut Vec<u8>, p: usize, v: i64) {
    let Some(old) = entry_size(lp, p) else { return };
    let e = encoded(Ele::Int(v));
    lp.splice(p..p + old, e);
    let total = lp.len();
    set_total(lp, total);
}

/// The size of the element at `p` (encoding, data and backlen), or `None` at EOF or on
/// malformed bytes.
fn entry_size(lp: &[u8], p: usize) -> Option<usize> {
    let b = *lp.get(p)?;
    let at = |i: usize| lp.get(p + i).copied().map(usize::from);
    let size = if b & 0x80 == 0 {
        1
    } else if b & 0xC0 == 0x80 {
        1 + usize::from(b & 0x3F)
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        2 + ((usize::from(b & 0x0F) << 8) | at(1)?)
    } else {
        match b {
            0xF0 => 5 + (at(1)? | at(2)? << 8 | at(3)? << 16 | at(4)? << 24),
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            _ => return None, // EOF or an invalid encoding byte
        }
    };
    let total = size + backlen_size(size);
    (p + total < lp.len()).then_some(total)
}

/// `lpFirst`.
pub fn first(lp: &[u8]) -> Option<usize> {
    (lp.get(HDR_SIZE).is_some_and(|&b| b != EOF)).then_some(HDR_SIZE)
}

/// `lpNext`: `None` past the last element.
pub fn next(lp: &[u8], p: usize) -> Option<usize> {
    let n = p + entry_size(lp, p)?;
    (lp.get(n).is_some_and(|&b| b != EOF)).then_some(n)
}

/// `lpPrev`: `None` before the first element.
pub fn prev(lp: &[u8], p: usize) -> Option<usize> {
    if p <= HDR_SIZE {
        return None;
    }
    // The backlen of the previous element ends right before `p`; read it backwards.
    let mut q = p - 1;
    let mut val: usize = 0;
    let mut shift = 0;
    loop {
        let b = *lp.get(q)?;
        val |= usize::from(b & 127) << shift;
        if b & 128 == 0 {
            break;
        }
        shift += 7;
        if shift > 28 || q == 0 {
            return None;
        }
        q -= 1;
    }
    let start = p.checked_sub(val + backlen_size(val))?;
    (start >= HDR_SIZE).then_some(start)
}

/// `lpLast`.
pub fn last(lp: &[u8]) -> Option<usize> {
    prev(lp, lp.len().checked_sub(1)?)
}

/// `lpGet`: the element at `p` (a malformed one reads as integer 0).
pub fn get(lp: &[u8], p: usize) -> Ele<'_> {
    get_checked(lp, p).unwrap_or(Ele::Int(0))
}

fn get_checked(lp: &[u8], p: usize) -> Option<Ele<'_>> {
    let b = *lp.get(p)?;
    let bytes = |from: usize, n: usize| lp.get(p + from..p + from + n);
    let sign_extend = |raw: u64, bits: u32| -> i64 { ((raw << (64 - bits)) as i64) >> (64 - bits) };
    let le = |from: usize, n: usize| -> Option<u64> {
        let s = bytes(from, n)?;
        Some(s.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    Some(if b & 0x80 == 0 {
        Ele::Int(i64::from(b & 0x7F))
    } else if b & 0xC0 == 0x80 {
        Ele::Str(bytes(1, usize::from(b & 0x3F))?)
    } else if b & 0xE0 == 0xC0 {
        let raw = (u64::from(b & 0x1F) << 8) | u64::from(*lp.get(p + 1)?);
        Ele::Int(sign_extend(raw, 13))
    } else if b & 0xF0 == 0xE0 {
        let n = (usize::from(b & 0x0F) << 8) | usize::from(*lp.get(p + 1)?);
        Ele::Str(bytes(2, n)?)
    } else {
        match b {
            0xF0 => Ele::Str(bytes(5, le(1, 4)? as usize)?),
            0xF1 => Ele::Int(sign_extend(le(1, 2)?, 16)),
            0xF2 => Ele::Int(sign_extend(le(1, 3)?, 24)),
            0xF3 => Ele::Int(sign_extend(le(1, 4)?, 32)),
            0xF4 => Ele::Int(le(1, 8)? as i64),
            _ => return None,
        }
    })
}

/// `lpGetInteger` (stream.c's `lpGetIntegerIfValid`): an integer element, or a string parsed
/// as one; `None` for a string that is not a number.
pub fn get_int_checked(lp: &[u8], p: usize) -> Option<i64> {
    match get_checked(lp, p)? {
        Ele::Int(v) => Some(v),
        Ele::Str(s) => crate::util::string2ll(s),
    }
}

/// [`get_int_checked`] where the stream's invariants guarantee a number.
pub fn get_int(lp: &[u8], p: usize) -> i64 {
    get_int_checked(lp, p).unwrap_or(0)
}

/// `lpValidateIntegrity` in deep mode: the header's size and count match the entries, every
/// entry's backlen reads back to its start, and EOF ends it. Returns the number of entries.
pub fn validate(lp: &[u8]) -> Option<usize> {
    if lp.len() < HDR_SIZE + 1 || total_bytes(lp) != lp.len() || lp.last() != Some(&EOF) {
        return None;
    }
    let mut n = 0usize;
    let mut p = HDR_SIZE;
    while lp.get(p) != Some(&EOF) {
        let size = entry_size(lp, p)?;
        if prev(lp, p + size) != Some(p) {
            return None;
        }
        get_checked(lp, p)?;
        p += size;
        n += 1;
    }
    if p + 1 != lp.len() {
        return None;
    }
    let c = count(lp);
    (c == NUMELE_UNKNOWN || usize::from(c) == n).then_some(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The one-pass builder writes what `lpNew` and a run of `lpAppend`s write, the count
    /// saturating at 65535 included.
    #[test]
    fn builder_is_appends() {
        let mut rng = fastrand::Rng::with_seed(3);
        for n in [0, 1, 2, 100, 65534, 65535, 65536, 70000] {
            let elems: Vec<Vec<u8>> = (0..n)
                .map(|_| match rng.u8(..6) {
                    0 => rng.i64(..).to_string().into_bytes(),
                    1 => rng.i64(-5000..5000).to_string().into_bytes(),
                    2 => vec![b'x'; rng.usize(60..5000)],
                    _ => (0..rng.usize(..70)).map(|_| rng.alphanumeric() as u8).collect(),
                })
                .collect();
            let mut lp = new();
            let mut b = Builder::with_capacity(rng.usize(..100));
            for (i, e) in elems.iter().enumerate() {
                let ele = if i % 7 == 3 { Ele::Int(rng.i64(..)) } else { Ele::Str(e) };
                append(&mut lp, ele);
                b.push(ele);
                assert_eq!(b.bytes(), lp.len());
            }
            assert_eq!(b.finish(), lp, "{n} elements");
        }
    }

    #[test]
    fn integers_and_strings_encode_as_listpack_c() {
        let mut lp = new();
        for s in [
            &b"1"[..],
            b"-1",
            b"127",
            b"128",
            b"4095",
            b"-4096",
            b"32767",
            b"8388607",
            b"2147483647",
            b"9223372036854775807",
            b"007",
            b"-0",
            b"x",
        ] {
            append(&mut lp, Ele::Str(s));
        }
        assert_eq!(validate(&lp), Some(13));
        let mut p = first(&lp);
        let mut got = Vec::new();
        while let Some(q) = p {
            got.push(get(&lp, q).to_vec());
            p = next(&lp, q);
        }
        let want: Vec<&[u8]> = vec![
            b"1",
            b"-1",
            b"127",
            b"128",
            b"4095",
            b"-4096",
            b"32767",
            b"8388607",
            b"2147483647",
            b"9223372036854775807",
            b"007",
            b"-0",
            b"x",
        ];
        assert_eq!(got, want);
        // Backwards too.
        let mut p = last(&lp);
        let mut back = 0;
        while let Some(q) = p {
            back += 1;
            p = prev(&lp, q);
        }
        assert_eq!(back, 13);
        // 1 as a 7-bit uint with a 1-byte backlen; -1 as a 13-bit int.
        assert_eq!(&lp[6..8], &[1, 1]);
        assert_eq!(&lp[8..11], &[0xDF, 0xFF, 2]);
    }

    #[test]
    fn long_strings_have_multi_byte_backlens() {
        let mut lp = new();
        let big = vec![b'a'; 5000];
        append(&mut lp, Ele::Str(&big));
        append(&mut lp, Ele::Str(&[b'b'; 200]));
        assert_eq!(validate(&lp), Some(2));
        let l = last(&lp).unwrap();
        assert_eq!(get(&lp, l), Ele::Str(&[b'b'; 200]));
        assert_eq!(prev(&lp, l), Some(HDR_SIZE));
        // 5005 bytes of entry: backlen 0x27 0x8D (5005 = 39 * 128 + 13).
        assert_eq!(&lp[HDR_SIZE + 5005..HDR_SIZE + 5007], &[39, 13 | 128]);
    }

    #[test]
    fn replace_grows_and_shrinks() {
        let mut lp = new();
        append(&mut lp, Ele::Int(127));
        append(&mut lp, Ele::Int(5));
        replace_int(&mut lp, HDR_SIZE, 128);
        assert_eq!(validate(&lp), Some(2));
        assert_eq!(get(&lp, HDR_SIZE), Ele::Int(128));
        replace_int(&mut lp, HDR_SIZE, 0);
        assert_eq!(lp, {
            let mut l = new();
            append(&mut l, Ele::Int(0));
            append(&mut l, Ele::Int(5));
            l
        });
    }
}
