//! Listpack (Redis 7.0's compact list encoding), read-only: the payload of hash (16), zset (17)
//! and quicklist-v2 (18) values.
//!
//! ```text
//! <total bytes u32 LE> <count u16 LE> <entry>* FF
//! entry = <encoding + data> <backlen: 1-5 bytes, the size of encoding + data>
//! ```
//!
//! Encodings: `0xxxxxxx` 7-bit uint, `10xxxxxx` 6-bit string length, `110xxxxx y` 13-bit int,
//! `1110xxxx y` 12-bit string length, `F0` + u32 LE string length, `F1`..`F4` int16/24/32/64 LE.

use super::Elem;
use crate::keyspace::stream::listpack::Ele;

/// Every element of a listpack, or why it is malformed.
pub fn entries(lp: &[u8]) -> Result<Vec<Elem>, String> {
    let mut out = Vec::new();
    each(lp, |e| {
        out.push(match e {
            Ele::Int(i) => Elem::Int(i),
            Ele::Str(s) => Elem::Str(s.to_vec()),
        });
        Ok(())
    })?;
    Ok(out)
}

/// The number of elements the header records (65535: unknown), for a reservation; no more than
/// the blob can hold (an element takes two bytes at least), whatever a damaged header says.
pub fn count_hint(lp: &[u8]) -> usize {
    let n = lp.get(4..6).map_or(0, |c| usize::from(u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)])));
    n.min(lp.len() / 2)
}

/// Hands every element of a listpack to `f` as it is read, borrowed from the blob (a loader
/// puts each straight into its structure: no element copied apart, no list of them); the
/// number of elements, or why the blob is malformed (or what `f` refused). `f` may have seen
/// the elements before a malformed one.
pub fn each<'a>(lp: &'a [u8], mut f: impl FnMut(Ele<'a>) -> Result<(), String>) -> Result<usize, String> {
    let total = usize::try_from(u32_le(lp, 0)?).unwrap_or(usize::MAX);
    if total != lp.len() || total < 7 {
        return Err(format!("listpack size {total} does not match its blob of {} bytes", lp.len()));
    }
    let c = slice(lp, 4, 2)?;
    let count = u16::from_le_bytes(<[u8; 2]>::try_from(c).unwrap_or([0; 2]));
    let mut n = 0usize;
    let mut p = 6usize;
    loop {
        let b = *lp.get(p).ok_or("listpack entry out of range")?;
        if b == 0xFF {
            if p + 1 != lp.len() {
                return Err("listpack terminator before its end".into());
            }
            break;
        }
        let at = |i: usize| lp.get(p + i).copied().ok_or_else(|| "listpack entry out of range".to_string());
        let (elem, size) = if b & 0x80 == 0 {
            (Ele::Int(i64::from(b & 0x7F)), 1)
        } else if b & 0xC0 == 0x80 {
            let n = usize::from(b & 0x3F);
            (Ele::Str(slice(lp, p + 1, n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let u = (i64::from(b & 0x1F) << 8) | i64::from(at(1)?);
            (Ele::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2)
        } else if b & 0xF0 == 0xE0 {
            let n = (usize::from(b & 0x0F) << 8) | usize::from(at(1)?);
            (Ele::Str(slice(lp, p + 2, n)?), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let l = slice(lp, p + 1, 4)?;
                    let n = usize::try_from(u32::from_le_bytes(<[u8; 4]>::try_from(l).unwrap_or([0; 4]))).unwrap_or(usize::MAX);
                    (Ele::Str(slice(lp, p + 5, n)?), 5 + n)
                }
                0xF1 => (Ele::Int(le_signed(slice(lp, p + 1, 2)?)), 3),
                0xF2 => (Ele::Int(le_signed(slice(lp, p + 1, 3)?)), 4),
                0xF3 => (Ele::Int(le_signed(slice(lp, p + 1, 4)?)), 5),
                0xF4 => (Ele::Int(le_signed(slice(lp, p + 1, 8)?)), 9),
                _ => return Err(format!("invalid listpack encoding byte {b:#04x}")),
            }
        };
        let back = backlen_size(size);
        slice(lp, p + size, back)?;
        p += size + back;
        f(elem)?;
        n += 1;
    }
    if count != u16::MAX && usize::from(count) != n {
        return Err(format!("listpack header says {count} entries, found {n}"));
    }
    Ok(n)
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

pub(super) fn slice(b: &[u8], start: usize, n: usize) -> Result<&[u8], String> {
    start.checked_add(n).and_then(|end| b.get(start..end)).ok_or_else(|| "entry out of range".to_string())
}

/// A little-endian two's-complement integer of 1 to 8 bytes: the bytes above them are copies of
/// the sign bit.
pub(super) fn le_signed(b: &[u8]) -> i64 {
    // The widths the encodings use, each one load (the byte loop below filled a buffer that
    // was then read back whole: a store the processor cannot forward, at every integer).
    match *b {
        [a] => i64::from(i8::from_le_bytes([a])),
        [a, b] => i64::from(i16::from_le_bytes([a, b])),
        [a, b, c] => i64::from(i32::from_le_bytes([0, a, b, c]) >> 8),
        [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => {
            let negative = b.get(..8).unwrap_or(b).last().is_some_and(|&top| top & 0x80 != 0);
            let mut bytes = [if negative { 0xFF } else { 0 }; 8];
            for (to, &from) in bytes.iter_mut().zip(b) {
                *to = from;
            }
            i64::from_le_bytes(bytes)
        }
    }
}

pub(super) fn u32_le(b: &[u8], at: usize) -> Result<u32, String> {
    let s = slice(b, at, 4)?;
    Ok(u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// A listpack of the given (encoding + data) entries, with their backlens.
    fn lp(raw: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in raw {
            body.extend_from_slice(e);
            assert!(e.len() < 128);
            body.push(e.len() as u8);
        }
        let mut out = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(raw.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    #[test]
    fn every_encoding() {
        let b = lp(&[
            b"\x05",
            b"\x83abc",
            b"\xdf\xff",
            b"\xd0\x00",
            b"\xe0\x03xyz",
            b"\xf1\x00\x80",
            b"\xf2\xff\xff\x7f",
            b"\xf3\x00\x00\x00\x80",
            b"\xf4\xff\xff\xff\xff\xff\xff\xff\xff",
        ]);
        assert_eq!(
            entries(&b).unwrap(),
            vec![
                Elem::Int(5),
                Elem::Str(b"abc".to_vec()),
                Elem::Int(-1),
                Elem::Int(-4096),
                Elem::Str(b"xyz".to_vec()),
                Elem::Int(-32768),
                Elem::Int(8388607),
                Elem::Int(i64::from(i32::MIN)),
                Elem::Int(-1),
            ]
        );
        let mut bad = b.clone();
        bad[4] = 3;
        assert!(entries(&bad).is_err(), "count mismatch");
        assert!(entries(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn intsets() {
        let is = b"\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00";
        assert_eq!(super::super::intset::members(is).unwrap(), vec![1, 2, 3]);
        assert!(super::super::intset::members(b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00").is_err(), "unsorted");
        assert!(super::super::intset::members(b"\x03\x00\x00\x00\x00\x00\x00\x00").is_err());
    }

    /// Each width's one load gives what sign-extending byte by byte gives.
    #[test]
    fn le_signed_at_every_width() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..2000 {
            let bytes: [u8; 8] = rng.u64(..).to_le_bytes();
            for w in 1..=8 {
                let b = &bytes[..w];
                let shift = 64 - 8 * w as u32;
                let want = i64::from_le_bytes(bytes) << shift >> shift;
                assert_eq!(le_signed(b), want, "{b:?}");
            }
        }
    }
}
