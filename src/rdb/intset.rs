//! Intset (type 11): `<encoding u32 LE: 2, 4 or 8> <length u32 LE> <length integers LE>`,
//! sorted ascending.

use super::listpack::{le_signed, slice};

pub fn members(is: &[u8]) -> Result<Vec<i64>, String> {
    let h = slice(is, 0, 8)?;
    let word = |at: usize| u32::from_le_bytes(<[u8; 4]>::try_from(h.get(at..at + 4).unwrap_or_default()).unwrap_or([0; 4]));
    let (enc, len) = (usize::try_from(word(0)).unwrap_or(usize::MAX), usize::try_from(word(4)).unwrap_or(usize::MAX));
    if !matches!(enc, 2 | 4 | 8) {
        return Err(format!("invalid intset encoding {enc}"));
    }
    if len.checked_mul(enc).and_then(|n| n.checked_add(8)) != Some(is.len()) {
        return Err("intset length does not match its blob".into());
    }
    let body = is.get(8..).unwrap_or_default();
    let v: Vec<i64> = body.chunks_exact(enc).map(le_signed).collect();
    if v.windows(2).any(|w| w.first() >= w.get(1)) {
        return Err("intset is not sorted and unique".into());
    }
    Ok(v)
}
