//! The exact integers behind every rounding of [`super::LongDouble`]: a minimal unsigned big
//! integer, enough for correctly rounded parsing, sums, products and printing.

use std::cmp::Ordering;

/// A minimal unsigned big integer (little-endian 32-bit limbs, no trailing zero limbs): just
/// what exact parsing, addition and printing need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Big(Vec<u32>);

impl Big {
    pub(super) fn zero() -> Big {
        Big(Vec::new())
    }
    pub(super) fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    pub(super) fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    pub(super) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    pub(super) fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }
    pub(super) fn bit(&self, i: u64) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|&l| (l >> (i % 32)) & 1 == 1)
    }
    /// Is any bit below position `i` set?
    pub(super) fn any_below(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        if self.0.iter().take(limb).any(|&l| l != 0) {
            return true;
        }
        let bits = i % 32;
        bits > 0 && self.0.get(limb).is_some_and(|&l| l & ((1u32 << bits) - 1) != 0)
    }
    /// `self >> shift`, known to fit in 64 bits.
    pub(super) fn shr_u64(&self, shift: u64) -> u64 {
        let mut v = 0u64;
        for k in 0..64 {
            if self.bit(shift + k) {
                v |= 1 << k;
            }
        }
        v
    }
    /// `self << shift`, known to fit in 64 bits.
    pub(super) fn low_u64_shl(&self, shift: usize) -> u64 {
        let v = u64::from(self.0.first().copied().unwrap_or(0)) | (u64::from(self.0.get(1).copied().unwrap_or(0)) << 32);
        if shift >= 64 { 0 } else { v << shift }
    }
    pub(super) fn shl(&self, shift: usize) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = (shift / 32, shift % 32);
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }
    /// `self >> shift` and whether any dropped bit was set.
    pub(super) fn shr_sticky(&self, shift: u64) -> (Big, bool) {
        let sticky = self.any_below(shift);
        let nbits = self.bit_len().saturating_sub(shift);
        let mut out = Big(vec![0u32; nbits.div_ceil(32) as usize]);
        for k in 0..nbits {
            if self.bit(shift + k)
                && let Some(l) = out.0.get_mut((k / 32) as usize)
            {
                *l |= 1 << (k % 32);
            }
        }
        out.trim();
        (out, sticky)
    }
    pub(super) fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for l in &mut self.0 {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }
    pub(super) fn mul_pow5(&mut self, mut k: u64) {
        const P13: u32 = 1_220_703_125; // 5^13, the largest power of 5 below 2^32
        while k >= 13 {
            self.mul_add_small(P13, 0);
            k -= 13;
        }
        if k > 0 {
            self.mul_add_small(5u32.pow(k as u32), 0);
        }
    }
    pub(super) fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0)) + u64::from(other.0.get(i).copied().unwrap_or(0)) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        out.push(carry as u32);
        let mut b = Big(out);
        b.trim();
        b
    }
    /// `self - other`, with `self >= other`.
    pub(super) fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for (i, &l) in self.0.iter().enumerate() {
            let mut v = i64::from(l) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }
    pub(super) fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
    /// Binary long division: the quotient and whether the remainder is nonzero. Only used with
    /// quotients of about 70 bits, so the bit-by-bit loop is short.
    pub(super) fn div_rem_nonzero(&self, den: &Big) -> (Big, bool) {
        let (nl, dl) = (self.bit_len(), den.bit_len());
        if den.is_zero() || nl < dl {
            return (Big::zero(), !self.is_zero());
        }
        let mut rem = self.clone();
        let mut q = Big(vec![0u32; ((nl - dl) / 32 + 1) as usize]);
        for i in (0..=(nl - dl)).rev() {
            let d = den.shl(i as usize);
            if rem.cmp(&d) != Ordering::Less {
                rem = rem.sub(&d);
                if let Some(l) = q.0.get_mut((i / 32) as usize) {
                    *l |= 1 << (i % 32);
                }
            }
        }
        q.trim();
        (q, !rem.is_zero())
    }
    pub(super) fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        const CHUNK: u64 = 1_000_000_000;
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for l in limbs.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*l);
                *l = (v / CHUNK) as u32;
                rem = v % CHUNK;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem);
        }
        let mut s = String::with_capacity(chunks.len() * 9);
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&c.to_string());
            } else {
                s.push_str(&format!("{c:09}"));
            }
        }
        s
    }
}
