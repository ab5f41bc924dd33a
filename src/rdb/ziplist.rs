//! Ziplist and zipmap (the compact encodings before 7.0), read-only: the payload of ziplist-era
//! lists (10), zsets (12), hashes (13), quicklist-v1 nodes (14) and zipmap hashes (9).
//!
//! ```text
//! ziplist: <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>* FF
//! entry  = <prevlen: 1 byte, or FE + u32 LE> <encoding> <data>
//! ```
//!
//! Encodings: `00pppppp` / `01pppppp q` (14-bit BE) / `80` + u32 BE string lengths; `C0` int16,
//! `D0` int32, `E0` int64, `F0` int24, `FE` int8, `F1`..`FD` an immediate 0..12.

use super::Elem;
use super::listpack::{le_signed, slice, u32_le};

pub fn entries(zl: &[u8]) -> Result<Vec<Elem>, String> {
    let total = usize::try_from(u32_le(zl, 0)?).unwrap_or(usize::MAX);
    if total != zl.len() || total < 11 {
        return Err(format!("ziplist size {total} does not match its blob of {} bytes", zl.len()));
    }
    let c = slice(zl, 8, 2)?;
    let count = u16::from_le_bytes(<[u8; 2]>::try_from(c).unwrap_or([0; 2]));
    let mut out = Vec::new();
    let mut p = 10usize;
    loop {
        let first = *zl.get(p).ok_or("ziplist entry out of range")?;
        if first == 0xFF {
            if p + 1 != zl.len() {
                return Err("ziplist terminator before its end".into());
            }
            break;
        }
        p += if first == 0xFE { 5 } else { 1 };
        let b = *zl.get(p).ok_or("ziplist entry out of range")?;
        let (elem, size) = match b >> 6 {
            0 => {
                let n = usize::from(b & 0x3F);
                (Elem::Str(slice(zl, p + 1, n)?.to_vec()), 1 + n)
            }
            1 => {
                let n = (usize::from(b & 0x3F) << 8) | usize::from(*zl.get(p + 1).ok_or("ziplist entry out of range")?);
                (Elem::Str(slice(zl, p + 2, n)?.to_vec()), 2 + n)
            }
            2 => {
                let l = slice(zl, p + 1, 4)?;
                let n = usize::try_from(u32::from_be_bytes(<[u8; 4]>::try_from(l).unwrap_or([0; 4]))).unwrap_or(usize::MAX);
                (Elem::Str(slice(zl, p + 5, n)?.to_vec()), 5 + n)
            }
            _ => match b {
                0xC0 => (Elem::Int(le_signed(slice(zl, p + 1, 2)?)), 3),
                0xD0 => (Elem::Int(le_signed(slice(zl, p + 1, 4)?)), 5),
                0xE0 => (Elem::Int(le_signed(slice(zl, p + 1, 8)?)), 9),
                0xF0 => (Elem::Int(le_signed(slice(zl, p + 1, 3)?)), 4),
                0xFE => (Elem::Int(le_signed(slice(zl, p + 1, 1)?)), 2),
                0xF1..=0xFD => (Elem::Int(i64::from(b & 0x0F) - 1), 1),
                _ => return Err(format!("invalid ziplist encoding byte {b:#04x}")),
            },
        };
        p += size;
        out.push(elem);
    }
    if count != u16::MAX && usize::from(count) != out.len() {
        return Err(format!("ziplist header says {count} entries, found {}", out.len()));
    }
    Ok(out)
}

/// A zipmap (hashes before 2.6): `<zmlen> (<len> key <len> <free> value <free bytes>)* FF`,
/// lengths one byte below 254, else `FE` + u32 little-endian.
pub fn zipmap_pairs(zm: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
    let mut p = 1usize;
    let mut out = Vec::new();
    let len = |p: &mut usize| -> Result<Option<usize>, String> {
        let b = *zm.get(*p).ok_or("zipmap out of range")?;
        match b {
            0xFF => Ok(None),
            254 => {
                let l = slice(zm, *p + 1, 4)?;
                *p += 5;
                Ok(Some(usize::try_from(u32::from_le_bytes(<[u8; 4]>::try_from(l).unwrap_or([0; 4]))).unwrap_or(usize::MAX)))
            }
            253 => Err("invalid zipmap length byte 253".into()),
            n => {
                *p += 1;
                Ok(Some(usize::from(n)))
            }
        }
    };
    while let Some(klen) = len(&mut p)? {
        let key = slice(zm, p, klen)?.to_vec();
        p += klen;
        let vlen = len(&mut p)?.ok_or("zipmap ends after a key")?;
        let free = usize::from(*zm.get(p).ok_or("zipmap out of range")?);
        p += 1;
        let value = slice(zm, p, vlen)?.to_vec();
        p += vlen + free;
        out.push((key, value));
    }
    if p + 1 != zm.len() {
        return Err("zipmap terminator before its end".into());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_of_ziplist_c_and_zipmap_c() {
        // ziplist.c: a ziplist of "2" and "5", then with "Hello World" appended.
        let zl = b"\x0f\x00\x00\x00\x0c\x00\x00\x00\x02\x00\x00\xf3\x02\xf6\xff";
        assert_eq!(entries(zl).unwrap(), vec![Elem::Int(2), Elem::Int(5)]);
        let zl = b"\x1c\x00\x00\x00\x0e\x00\x00\x00\x03\x00\x00\xf3\x02\xf6\x02\x0bHello World\xff";
        assert_eq!(entries(zl).unwrap(), vec![Elem::Int(2), Elem::Int(5), Elem::Str(b"Hello World".to_vec())]);
        // zipmap.c: foo => bar, hello => world.
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(zipmap_pairs(zm).unwrap(), vec![(b"foo".to_vec(), b"bar".to_vec()), (b"hello".to_vec(), b"world".to_vec())]);
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = fastrand::Rng::with_seed(3);
        let base = b"\x1c\x00\x00\x00\x0e\x00\x00\x00\x03\x00\x00\xf3\x02\xf6\x02\x0bHello World\xff".to_vec();
        for _ in 0..50_000 {
            let mut b = base.clone();
            let i = rng.usize(..b.len());
            b[i] = rng.u8(..);
            let n = rng.usize(..=b.len());
            let _ = entries(&b[..n]);
            let _ = zipmap_pairs(&b[..n]);
            let _ = super::super::listpack::entries(&b[..n]);
            let _ = super::super::intset::members(&b[..n]);
        }
    }
}
