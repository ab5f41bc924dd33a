//! The bytes of a HyperLogLog (`hyperloglog.c`), which is an ordinary string value: GET shows
//! them, the RDB and the AOF rewrite store them, DEBUG DIGEST hashes them. Every byte follows
//! Redis 7.0.15, so a value moves between Redis and the engine unchanged.
//!
//! ```text
//! +------+---+-----+----------+---------------------------------+
//! | HYLL | E | 0 0 0 | card (8, little endian) | registers ... |
//! +------+---+-----+----------+---------------------------------+
//! ```
//! `E` is 0 (dense) or 1 (sparse). `card` caches the last cardinality PFCOUNT computed; its
//! most significant bit set means "stale" (any change sets it).
//!
//! - **Dense**: 16384 registers of 6 bits, packed from the least significant bit of each byte
//!   up (register 0 is the low 6 bits of byte 0): 12288 bytes, 12304 with the header.
//! - **Sparse**: run-length opcodes. `00xxxxxx` ZERO: 1..64 registers at 0; `01xxxxxx yyyyyyyy`
//!   XZERO: 1..16384 registers at 0; `1vvvvvxx` VAL: 1..4 registers at value 1..32. A new HLL
//!   is `XZERO:16384` (two bytes, `7f ff`). A register above 32, or a string that would grow
//!   past `hll-sparse-max-bytes`, turns it dense for good.
//!
//! An element goes to register `h & 16383` and counts the zeros before the first one in the
//! remaining 50 bits of `h` = MurmurHash64A(element, seed 0xadc83b19) (plus one). The count is
//! Ertl's estimator over the histogram of register values ([`count`]).
//!
//! **Corrupt sparse strings.** Redis 7.0.15 as shipped by Debian 12 (the reference server of the
//! tests) carries the fix for CVE-2025-32023: reading the runs (conversion to dense, merge,
//! count) stops with "invalid" as soon as a run would go past register 16383, whatever its
//! opcode; the original 7.0.15 only checked VAL runs. This follows the fixed server.
//!
//! Redis reads these buffers as C strings: one byte past the end is the `sds` terminator, a zero.
//! A corrupt sparse string can make Redis read it (an XZERO as the last byte), so reads here go
//! through [`at`], which returns 0 past the end. Corrupt input is answered with an error where
//! Redis answers one, and never panics; `tests/hll_geo_vs_redis.rs` damages HLLs at random and
//! compares every reply with Redis's. One case is not reproduced: when PFADD splits such a cut
//! XZERO, Redis writes the last byte of the new opcodes *over its terminator*, past the string,
//! and later reads it back; the engine keeps no byte past a string and reads a zero there (the
//! HLL is corrupt either way; a count over it can differ).
#![deny(clippy::indexing_slicing)]

pub const HDR_SIZE: usize = 16;
pub const REGISTERS: usize = 16384;
const P: u32 = 14;
const Q: u32 = 64 - P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
pub(super) const REGISTER_MAX: u8 = 63;
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const ENCODING_AT: usize = 4;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// `0.5 / ln(2)`, spelled as Redis spells it.
#[allow(clippy::excessive_precision)]
const ALPHA_INF: f64 = 0.721347520444481703680;

/// A sparse HLL whose opcodes do not add up to 16384 registers (`-INVALIDOBJ`).
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid;

/// The byte at `i`, or the C string terminator past the end.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn set_at(s: &mut [u8], i: usize, v: u8) {
    if let Some(b) = s.get_mut(i) {
        *b = v;
    }
}

/// `MurmurHash64A`, Redis's endian-neutral version (words read little endian).
pub fn murmurhash64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register an element goes to, and the length of the `000…1` run.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(ele, 0xadc83b19);
    let index = (hash & P_MASK) as usize;
    let hash = (hash >> P) | (1u64 << Q); // the loop always ends, at most Q + 1
    (index, hash.trailing_zeros() as u8 + 1)
}

/// `HLL_DENSE_GET_REGISTER` on the register bytes (the header excluded).
pub fn dense_get(regs: &[u8], regnum: usize) -> u8 {
    let byte = regnum * BITS / 8;
    let fb = (regnum * BITS) & 7;
    let (b0, b1) = (u32::from(at(regs, byte)), u32::from(at(regs, byte + 1)));
    (((b0 >> fb) | (b1 << (8 - fb))) & u32::from(REGISTER_MAX)) as u8
}

/// `HLL_DENSE_SET_REGISTER`.
pub fn dense_set(regs: &mut [u8], regnum: usize, val: u8) {
    let byte = regnum * BITS / 8;
    let fb = (regnum * BITS) & 7;
    let fb8 = 8 - fb;
    let v = u32::from(val);
    let max = u32::from(REGISTER_MAX);
    let b0 = (u32::from(at(regs, byte)) & !(max << fb)) | (v << fb);
    set_at(regs, byte, b0 as u8);
    // The last register's high byte is the sds terminator, and gets no bits (63 >> 6 == 0).
    if byte + 1 < regs.len() {
        let b1 = (u32::from(at(regs, byte + 1)) & !(max >> fb8)) | (v >> fb8);
        set_at(regs, byte + 1, b1 as u8);
    }
}

/// `hllDenseSet`: raises the register to `count`; true if it changed.
pub(super) fn dense_set_if_greater(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
        true
    } else {
        false
    }
}

/// `createHLLObject`: an empty sparse HLL, `XZERO:16384`.
pub fn create() -> Vec<u8> {
    let mut s = vec![0u8; HDR_SIZE];
    s.get_mut(..4).into_iter().for_each(|m| m.copy_from_slice(b"HYLL"));
    set_at(&mut s, ENCODING_AT, SPARSE);
    let mut left = REGISTERS;
    while left > 0 {
        let xzero = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut s, xzero);
        left -= xzero;
    }
    s
}

/// The checks of `isHLLObjectOrReply` after the type: header, encoding, dense length.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE && s.starts_with(b"HYLL") && at(s, ENCODING_AT) <= SPARSE && (at(s, ENCODING_AT) != DENSE || s.len() == DENSE_SIZE)
}

pub fn encoding(s: &[u8]) -> u8 {
    at(s, ENCODING_AT)
}

/// `HLL_INVALIDATE_CACHE`.
pub fn invalidate_cache(s: &mut [u8]) {
    set_at(s, 15, at(s, 15) | 0x80);
}

/// The cached cardinality, if valid.
pub fn cached_card(s: &[u8]) -> Option<u64> {
    let card = (8..16).rev().fold(0u64, |acc, i| (acc << 8) | u64::from(at(s, i)));
    (at(s, 15) & 0x80 == 0).then_some(card)
}

pub fn set_cached_card(s: &mut [u8], card: u64) {
    for (i, b) in card.to_le_bytes().into_iter().enumerate() {
        set_at(s, 8 + i, b);
    }
}

/// One sparse opcode: `(registers, value, bytes)`, value 0 for ZERO and XZERO.
fn opcode(s: &[u8], p: usize) -> (usize, u8, usize) {
    let op = at(s, p);
    if op & 0xc0 == 0 {
        (usize::from(op & 0x3f) + 1, 0, 1)
    } else if op & 0x80 == 0 {
        ((usize::from(op & 0x3f) << 8 | usize::from(at(s, p + 1))) + 1, 0, 2)
    } else {
        (usize::from(op & 0x3) + 1, ((op >> 2) & 0x1f) + 1, 1)
    }
}

fn val_op(value: u8, len: usize) -> u8 {
    ((value - 1) << 2 | (len as u8 - 1)) | 0x80
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push((l >> 8) as u8 | 0x40);
    out.push((l & 0xff) as u8);
}

fn push_zero_run(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

/// `hllSparseToDense`: the same header (cached cardinality included) over dense registers.
pub fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Invalid> {
    if encoding(s) == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    for (d, &b) in dense.iter_mut().zip(s.iter().take(HDR_SIZE)) {
        *d = b;
    }
    set_at(&mut dense, ENCODING_AT, DENSE);
    let (hdr, regs) = dense.split_at_mut(HDR_SIZE);
    let _ = hdr;
    let mut idx = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (runlen, value, oplen) = opcode(s, p);
        if runlen + idx > REGISTERS {
            return Err(Invalid); // overflow (CVE-2025-32023's check)
        }
        if value > 0 {
            for _ in 0..runlen {
                dense_set(regs, idx, value);
                idx += 1;
            }
        } else {
            idx += runlen;
        }
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Invalid);
    }
    *s = dense;
    Ok(())
}

/// `hllSparseSet`: raises register `index` to `count` in place, splitting the opcode that holds
/// it and merging equal neighbours, or promotes to dense. True if the register changed.
pub fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Invalid> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: the opcode covering `index`.
    let mut end = s.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut span = 0usize;
    while p < end {
        let (sp, _, oplen) = opcode(s, p);
        span = sp;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Invalid);
    }
    let (runlen, curval, oldlen) = opcode(s, p);
    let is_val = curval > 0;
    let is_xzero = !is_val && oldlen == 2;
    let next = if p + oldlen >= end { None } else { Some(p + oldlen) };

    // Step 2: the trivial cases, then the split.
    let mut updated_in_place = false;
    if is_val {
        if curval >= count {
            return Ok(false); // A: already as high
        }
        if runlen == 1 {
            set_at(s, p, val_op(count, 1)); // B: a VAL of one register
            updated_in_place = true;
        }
    } else if runlen == 1 && !is_xzero {
        set_at(s, p, val_op(count, 1)); // C: a ZERO of one register
        updated_in_place = true;
    }
    if !updated_in_place {
        // D: split into up to three opcodes (XZERO-VAL-XZERO is the longest, 5 bytes).
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val {
            if index != first {
                seq.push(val_op(curval, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(curval, last - index));
            }
        } else {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        }
        // Step 3: put the sequence in place of the old opcode.
        let delta = seq.len() as isize - oldlen as isize;
        if delta > 0 && (s.len() as isize + delta) as usize > max_bytes {
            return promote(s, index, count);
        }
        let new_len = (s.len() as isize + delta) as usize;
        match next {
            Some(n) => {
                s.splice(p..n, seq);
            }
            None => {
                // The opcode was the last (a corrupt XZERO may even end past the string).
                s.truncate(p);
                s.extend_from_slice(&seq);
                s.truncate(new_len);
            }
        }
        end = s.len();
    }

    // Step 4: merge adjacent VALs of the same value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scanlen = 5;
    while p < end && scanlen > 0 {
        scanlen -= 1;
        let op = at(s, p);
        if op & 0xc0 == 0x40 {
            p += 2;
            continue;
        } else if op & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < end && at(s, p + 1) & 0x80 != 0 {
            let (l1, v1, _) = opcode(s, p);
            let (l2, v2, _) = opcode(s, p + 1);
            if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                set_at(s, p + 1, val_op(v1, l1 + l2));
                s.remove(p);
                end -= 1;
                continue; // try the merged opcode with the next one
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

/// The `promote:` label of `hllSparseSet`: convert, then set the register densely.
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Invalid> {
    sparse_to_dense(s)?;
    let regs = s.get_mut(HDR_SIZE..).unwrap_or_default();
    // Redis asserts the register changes: a conversion only happens for a higher value.
    dense_set_if_greater(regs, index, count);
    Ok(true)
}

/// `hllAdd`: true if a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Invalid> {
    let (index, count) = pat_len(ele);
    match encoding(s) {
        DENSE => Ok(dense_set_if_greater(s.get_mut(HDR_SIZE..).unwrap_or_default(), index, count)),
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => Err(Invalid),
    }
}

/// `hllMerge`: `max[i] = max(max[i], register i)`.
pub fn merge(max: &mut [u8], s: &[u8]) -> Result<(), Invalid> {
    let regs = s.get(HDR_SIZE..).unwrap_or_default();
    if encoding(s) == DENSE {
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let mut i = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (runlen, value, oplen) = opcode(s, p);
        if runlen + i > REGISTERS {
            return Err(Invalid); // overflow
        }
        if value > 0 {
            for m in max.iter_mut().skip(i).take(runlen) {
                *m = (*m).max(value);
            }
        }
        i += runlen;
        p += oplen;
    }
    if i != REGISTERS { Err(Invalid) } else { Ok(()) }
}

/// `hllCount` of a valid HLL; `Err` for a sparse one whose runs do not add up.
pub fn count(s: &[u8]) -> Result<u64, Invalid> {
    let mut histo = [0i64; 64];
    if encoding(s) == DENSE {
        let regs = s.get(HDR_SIZE..).unwrap_or_default();
        for i in 0..REGISTERS {
            if let Some(h) = histo.get_mut(usize::from(dense_get(regs, i))) {
                *h += 1;
            }
        }
    } else {
        let mut idx = 0;
        let mut p = HDR_SIZE;
        while p < s.len() {
            let (runlen, value, oplen) = opcode(s, p);
            if runlen + idx > REGISTERS {
                return Err(Invalid); // overflow
            }
            idx += runlen;
            if let Some(h) = histo.get_mut(usize::from(value)) {
                *h += runlen as i64;
            }
            p += oplen;
        }
        if idx != REGISTERS {
            return Err(Invalid);
        }
    }
    Ok(estimate(&histo))
}

/// `hllCount` with `HLL_RAW`: one byte per register (PFCOUNT of several keys).
pub fn count_raw(regs: &[u8]) -> u64 {
    let mut histo = [0i64; 64];
    for &r in regs.iter().take(REGISTERS) {
        if let Some(h) = histo.get_mut(usize::from(r)) {
            *h += 1;
        }
    }
    estimate(&histo)
}

/// Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
/// sketches", arXiv:1702.01284), as Redis computes it, double for double.
fn estimate(histo: &[i64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let h = |i: usize| histo.get(i).copied().unwrap_or(0) as f64;
    let mut z = m * tau((m - h(Q as usize + 1)) / m);
    for j in (1..=Q as usize).rev() {
        z += h(j);
        z *= 0.5;
    }
    z += m * sigma(h(0) / m);
    // llroundl: half away from zero, like f64::round.
    (ALPHA_INF * m * m / z).round() as u64
}

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

/// `hllTau`. `pow(1 - x, 2)` is compiled by GCC into a multiplication (exact exponents -1..2
/// are always expanded), so it is one here too.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        let t = 1.0 - x;
        z -= t * t * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE: `z:<len>`, `Z:<len>`, `v:<value>,<len>` separated by spaces.
pub fn decode_sparse(s: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR_SIZE;
    while p < s.len() {
        let op = at(s, p);
        let (runlen, value, oplen) = opcode(s, p);
        out.push(if value > 0 {
            format!("v:{value},{runlen}")
        } else if op & 0xc0 == 0x40 {
            format!("Z:{runlen}")
        } else {
            format!("z:{runlen}")
        });
        p += oplen;
    }
    out.join(" ")
}

/// The dense registers of a dense HLL, one byte each (PFDEBUG GETREG).
pub fn registers(s: &[u8]) -> Vec<u8> {
    let regs = s.get(HDR_SIZE..).unwrap_or_default();
    (0..REGISTERS).map(|i| dense_get(regs, i)).collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn empty_hll_bytes() {
        let s = create();
        assert_eq!(s, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff");
        assert_eq!(count(&s), Ok(0));
        assert_eq!(decode_sparse(&s), "Z:16384");
    }

    /// Redis's own test: registers set at 1000, 1020, 1021 give the documented opcodes.
    #[test]
    fn sparse_splits_and_merges() {
        let mut s = create();
        assert_eq!(sparse_set(&mut s, 1000, 2, 3000), Ok(true));
        assert_eq!(sparse_set(&mut s, 1020, 3, 3000), Ok(true));
        assert_eq!(sparse_set(&mut s, 1021, 3, 3000), Ok(true));
        assert_eq!(decode_sparse(&s), "Z:1000 v:2,1 z:19 v:3,2 Z:15362");
        assert_eq!(sparse_set(&mut s, 1021, 2, 3000), Ok(false));
        let mut d = s.clone();
        sparse_to_dense(&mut d).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        let regs = registers(&d);
        assert_eq!((regs[999], regs[1000], regs[1020], regs[1021], regs[1022]), (0, 2, 3, 3, 0));
        assert_eq!(count(&s), count(&d));
    }

    #[test]
    fn dense_registers_are_independent() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
    }

    /// PFSELFTEST's second check on a smaller scale (PFSELFTEST itself, 10 million elements, runs
    /// in tests/scripts/hyperloglog.redis): the sparse HLL, through its splits, merges and the
    /// promotion to dense, counts exactly as a dense one fed the same elements.
    #[test]
    fn sparse_and_dense_agree() {
        let mut dense = vec![0u8; DENSE_SIZE];
        set_at(&mut dense, ENCODING_AT, DENSE);
        let mut sparse = create();
        for j in 1..=20_000u64 {
            let ele = (j * 7919).to_le_bytes();
            let (index, cnt) = pat_len(&ele);
            dense_set_if_greater(&mut dense[HDR_SIZE..], index, cnt);
            add(&mut sparse, &ele, 3000).unwrap();
            if j % 500 == 0 {
                assert_eq!(count(&sparse), count(&dense), "after {j}");
                let mut max = vec![0u8; REGISTERS];
                merge(&mut max, &sparse).unwrap();
                assert_eq!(max, registers(&dense));
            }
        }
        assert_eq!(encoding(&sparse), DENSE);
        let est = count(&dense).unwrap() as f64;
        assert!((est - 20_000.0).abs() < 20_000.0 * 0.05, "{est}");
    }
}
