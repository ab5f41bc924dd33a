//! INCRBYFLOAT's arithmetic: C's `long double` as Redis 7.0 gets it on x86-64 Linux, the
//! x87 80-bit extended format (1 sign bit, 15 exponent bits, a 64-bit significand), done in
//! software so that the native build and wasm32 (which has no `long double`) agree bit for bit.
//!
//! Redis parses both operands with `strtold` (correctly rounded), adds them in extended
//! precision, and prints the sum with `"%.17Lf"` before trimming trailing zeros
//! (`ld2string(..., LD_STR_HUMAN)`). The extra 11 bits of precision are why `0.1 + 0.2` gives
//! `0.3` there and not `0.30000000000000004`.
//!
//! Method: every step is first done exactly with a small arbitrary-precision integer ([`Big`])
//! and rounded once, to nearest with ties to even — which is what the x87 FPU, glibc's
//! `strtold` and glibc's `printf` each do. Values are `mant * 2^exp`; the x87 range gives
//! normal numbers a leading bit in 2^-16382 ..= 2^16383 and subnormals a last bit of 2^-16445.
#![deny(clippy::indexing_slicing)]

use std::cmp::Ordering;

/// Weight of the last significand bit of the smallest subnormal: 2^-16445.
const MIN_LSB_EXP: i64 = -16445;
/// The largest finite value has its leading bit at 2^16383.
const MAX_EXP: i64 = 16383;
/// `MAX_LONG_DOUBLE_CHARS`: string2ld refuses strings this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// An extended-precision value. A finite value is `(-1)^neg * mant * 2^exp`, not necessarily
/// normalised; zero is `mant == 0` (with its sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    Finite { neg: bool, mant: u64, exp: i64 },
    Inf { neg: bool },
}

impl LongDouble {
    pub fn from_i64(v: i64) -> LongDouble {
        LongDouble::Finite { neg: v < 0, mant: v.unsigned_abs(), exp: 0 }
    }

    /// Redis's `string2ld`: `strtold` on the whole string. Refused: empty or too long input,
    /// leading whitespace, trailing garbage, NaN, and results that overflowed to infinity or
    /// underflowed to zero (`ERANGE`). `inf` itself is accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS || is_c_space(s.first().copied()?) {
            return None;
        }
        let (neg, body) = match s.first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Inf { neg });
        }
        let v = if body.len() > 2 && (body.starts_with(b"0x") || body.starts_with(b"0X")) {
            parse_hex(neg, body.get(2..)?)?
        } else {
            parse_decimal(neg, body)?
        };
        match v {
            LongDouble::Inf { .. } => None, // ERANGE overflow
            LongDouble::Finite { .. } => Some(v),
        }
    }

    pub fn is_finite(self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// The x87 `FADD`: the exact sum, rounded once. Infinite operands give infinity or NaN,
    /// which the caller refuses either way, so they are returned as `None`.
    pub fn add(self, other: LongDouble) -> Option<LongDouble> {
        let (LongDouble::Finite { neg: an, mant: am, exp: ae }, LongDouble::Finite { neg: bn, mant: bm, exp: be }) = (self, other) else {
            return None;
        };
        if am == 0 && bm == 0 {
            // Round to nearest: -0 + -0 = -0, any other sum of zeros is +0.
            return Some(LongDouble::Finite { neg: an && bn, mant: 0, exp: 0 });
        }
        if am == 0 {
            return Some(other);
        }
        if bm == 0 {
            return Some(self);
        }
        let e = ae.min(be);
        let a = Big::from_u64(am).shl(usize::try_from(ae - e).ok()?);
        let b = Big::from_u64(bm).shl(usize::try_from(be - e).ok()?);
        let (neg, sum) = if an == bn {
            (an, a.add(&b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Some(LongDouble::Finite { neg: false, mant: 0, exp: 0 }),
                Ordering::Greater => (an, a.sub(&b)),
                Ordering::Less => (bn, b.sub(&a)),
            }
        };
        Some(round(neg, &sum, e, false))
    }

    /// `ld2string(buf, len, value, LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros (and a bare
    /// point) removed, `-0` written `0`.
    pub fn to_human_string(self) -> String {
        let (neg, mant, exp) = match self {
            LongDouble::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        const SCALE: u128 = 100_000_000_000_000_000; // 10^17
        let (int_digits, frac) = if exp >= 0 {
            let shift = usize::try_from(exp).unwrap_or(0);
            (Big::from_u64(mant).shl(shift).to_decimal(), 0u128)
        } else {
            // mant * 10^17 < 2^121: the fractional case never needs more than 128 bits.
            let x = u128::from(mant) * SCALE;
            let shift = exp.unsigned_abs();
            let r = if shift >= 128 {
                0 // below 2^-7 of the last digit: rounds to zero
            } else {
                let q = x >> shift;
                let rem = x & ((1u128 << shift) - 1);
                let half = 1u128 << (shift - 1);
                if rem > half || (rem == half && q & 1 == 1) { q + 1 } else { q }
            };
            ((r / SCALE).to_string(), r % SCALE)
        };
        let mut out = String::with_capacity(int_digits.len() + 20);
        if neg {
            out.push('-');
        }
        out.push_str(&int_digits);
        let frac = format!("{frac:017}");
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Rounds `(n + sticky) * 2^e` (sticky: some nonzero bits below `n`'s last one were dropped) to
/// the extended format, to nearest, ties to even.
fn round(neg: bool, n: &Big, e: i64, sticky: bool) -> LongDouble {
    let len = n.bit_len() as i64;
    if len == 0 {
        return LongDouble::Finite { neg, mant: 0, exp: 0 };
    }
    let top = len - 1 + e;
    let lsb = (top - 63).max(MIN_LSB_EXP);
    let shift = lsb - e;
    let (mut mant, mut lsb) = if shift <= 0 {
        // Exact: at most 64 significant bits.
        (n.low_u64_shl(shift.unsigned_abs() as usize), lsb)
    } else {
        let shift = shift as u64;
        let mant = n.shr_u64(shift);
        let half = shift >= 1 && n.bit(shift - 1);
        let rest = sticky || (shift >= 2 && n.any_below(shift - 1));
        let up = half && (rest || mant & 1 == 1);
        match (up, mant.checked_add(u64::from(up))) {
            (_, Some(m)) => (m, lsb),
            // Carried out of 64 bits: 2^64 * 2^lsb = 2^63 * 2^(lsb+1).
            (_, None) => (1 << 63, lsb + 1),
        }
    };
    if mant == 0 {
        return LongDouble::Finite { neg, mant: 0, exp: 0 };
    }
    // Keep it tidy: strip trailing zero bits (the value is unchanged).
    let tz = mant.trailing_zeros();
    mant >>= tz;
    lsb += i64::from(tz);
    if 63 - i64::from(mant.leading_zeros()) + lsb > MAX_EXP {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite { neg, mant, exp: lsb }
}

/// Digits (with an optional point) then an optional `e[+-]digits`, the whole of `s`.
fn parse_decimal(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut digits = Big::zero();
    let mut ndigits = 0usize; // significant digits kept in `digits`
    let mut frac_digits: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    while let Some(&c) = s.get(i) {
        match c {
            b'0'..=b'9' => {
                seen_digit = true;
                if ndigits > 0 || c != b'0' {
                    digits.mul_add_small(10, u32::from(c - b'0'));
                    ndigits += 1;
                }
                if seen_point {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    let mut exp10: i64 = 0;
    if let Some(b'e' | b'E') = s.get(i) {
        let mut j = i + 1;
        let eneg = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        while let Some(c @ b'0'..=b'9') = s.get(j) {
            // Saturate: anything this large over- or underflows anyway.
            exp10 = (exp10 * 10 + i64::from(c - b'0')).min(1 << 40);
            j += 1;
        }
        if j == start {
            return None; // strtold would stop before the 'e': trailing garbage
        }
        if eneg {
            exp10 = -exp10;
        }
        i = j;
    }
    if i != s.len() {
        return None;
    }
    if ndigits == 0 {
        return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
    }
    let e = exp10 - frac_digits; // value = digits * 10^e
    let magnitude = ndigits as i64 + e; // value < 10^magnitude
    if magnitude - 1 > 4933 {
        return Some(LongDouble::Inf { neg }); // >= 10^4933 > LDBL_MAX
    }
    if magnitude < -4952 {
        return None; // below half the smallest subnormal: ERANGE, zero
    }
    let v = if e >= 0 {
        // digits * 10^e = digits * 5^e * 2^e
        let mut n = digits;
        n.mul_pow5(e as u64);
        round(neg, &n, e, false)
    } else {
        // digits / 10^k = digits / 5^k * 2^-k; keep ~67 quotient bits and a sticky bit.
        let k = e.unsigned_abs();
        let mut den = Big::from_u64(1);
        den.mul_pow5(k);
        let t = den.bit_len() as i64 - digits.bit_len() as i64 + 67;
        let (num, mut sticky) = if t >= 0 { (digits.shl(t as usize), false) } else { digits.shr_sticky(t.unsigned_abs()) };
        let (q, rem_nonzero) = num.div_rem_nonzero(&den);
        sticky |= rem_nonzero;
        round(neg, &q, -t - k as i64, sticky)
    };
    match v {
        LongDouble::Finite { mant: 0, .. } => None, // underflow to zero: ERANGE
        v => Some(v),
    }
}

/// `0x` already consumed: hex digits with an optional point, then an optional `p[+-]digits`.
fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut n = Big::zero();
    let mut frac_digits: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    while let Some(&c) = s.get(i) {
        if let Some(d) = (c as char).to_digit(16) {
            seen_digit = true;
            if !n.is_zero() || d != 0 {
                n.mul_add_small(16, d);
            }
            if seen_point {
                frac_digits += 1;
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit {
        return None; // "0x" alone parses as "0" followed by garbage
    }
    let mut exp2: i64 = 0;
    if let Some(b'p' | b'P') = s.get(i) {
        let mut j = i + 1;
        let eneg = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        while let Some(c @ b'0'..=b'9') = s.get(j) {
            exp2 = (exp2 * 10 + i64::from(c - b'0')).min(1 << 40);
            j += 1;
        }
        if j == start {
            return None;
        }
        if eneg {
            exp2 = -exp2;
        }
        i = j;
    }
    if i != s.len() {
        return None;
    }
    let e = exp2 - 4 * frac_digits;
    if n.is_zero() {
        return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
    }
    match round(neg, &n, e, false) {
        LongDouble::Finite { mant: 0, .. } => None,
        v => Some(v),
    }
}

/// A minimal unsigned big integer (little-endian 32-bit limbs, no trailing zero limbs): just
/// what exact parsing, addition and printing need.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }
    fn bit(&self, i: u64) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|&l| (l >> (i % 32)) & 1 == 1)
    }
    /// Is any bit below position `i` set?
    fn any_below(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        if self.0.iter().take(limb).any(|&l| l != 0) {
            return true;
        }
        let bits = i % 32;
        bits > 0 && self.0.get(limb).is_some_and(|&l| l & ((1u32 << bits) - 1) != 0)
    }
    /// `self >> shift`, known to fit in 64 bits.
    fn shr_u64(&self, shift: u64) -> u64 {
        let mut v = 0u64;
        for k in 0..64 {
            if self.bit(shift + k) {
                v |= 1 << k;
            }
        }
        v
    }
    /// `self << shift`, known to fit in 64 bits.
    fn low_u64_shl(&self, shift: usize) -> u64 {
        let v = u64::from(self.0.first().copied().unwrap_or(0)) | (u64::from(self.0.get(1).copied().unwrap_or(0)) << 32);
        if shift >= 64 { 0 } else { v << shift }
    }
    fn shl(&self, shift: usize) -> Big {
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
    fn shr_sticky(&self, shift: u64) -> (Big, bool) {
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
    fn mul_add_small(&mut self, m: u32, a: u32) {
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
    fn mul_pow5(&mut self, mut k: u64) {
        const P13: u32 = 1_220_703_125; // 5^13, the largest power of 5 below 2^32
        while k >= 13 {
            self.mul_add_small(P13, 0);
            k -= 13;
        }
        if k > 0 {
            self.mul_add_small(5u32.pow(k as u32), 0);
        }
    }
    fn add(&self, other: &Big) -> Big {
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
    fn sub(&self, other: &Big) -> Big {
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
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
    /// Binary long division: the quotient and whether the remainder is nonzero. Only used with
    /// quotients of about 70 bits, so the bit-by-bit loop is short.
    fn div_rem_nonzero(&self, den: &Big) -> (Big, bool) {
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
    fn to_decimal(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn incr(a: &str, b: &str) -> Option<String> {
        let x = LongDouble::parse(a.as_bytes())?;
        let y = LongDouble::parse(b.as_bytes())?;
        let s = x.add(y)?;
        s.is_finite().then(|| s.to_human_string())
    }

    #[test]
    fn extended_precision_sums() {
        assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(incr("0", "1e10").as_deref(), Some("10000000000"));
        assert_eq!(incr("0", "3.0e3").as_deref(), Some("3000"));
        assert_eq!(incr("-0.0", "-0.0").as_deref(), Some("0"));
        assert_eq!(incr("1", "-1").as_deref(), Some("0"));
    }

    #[test]
    fn string2ld_refusals() {
        for bad in ["", " 1", "1 ", "nan", "1e", "1e+", "0x", ".", "-", "1e5000", "1e-5000", "abc", "1..2", "infin"] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(LongDouble::parse(b"inf"), Some(LongDouble::Inf { neg: false }));
        assert_eq!(LongDouble::parse(b"-Infinity"), Some(LongDouble::Inf { neg: true }));
        assert!(LongDouble::parse(b"1e-4940").is_some()); // subnormal: accepted
        assert!(LongDouble::parse(b"0e-99999").is_some()); // exact zero: accepted
        assert_eq!(LongDouble::parse(b"0x1p3").map(LongDouble::to_human_string).as_deref(), Some("8"));
    }

    #[test]
    fn huge_values_print_in_full() {
        let v = LongDouble::parse(b"1e100").map(LongDouble::to_human_string).unwrap_or_default();
        // 10^100 rounded to 64 significant bits, printed exactly (checked against redis-server).
        assert_eq!(v, "9999999999999999999669353532207342619498699019828496079271391541752018669482644324418977840117055488");
    }

    /// HINCRBYFLOAT computes the same way (values checked against redis-server 7.0.15 / gcc).
    #[test]
    fn hincrbyfloat_cases() {
        let incr = |a: &str, b: &str| -> Option<String> {
            let x = LongDouble::parse(a.as_bytes())?.add(LongDouble::parse(b.as_bytes())?)?;
            x.is_finite().then(|| x.to_human_string())
        };
        assert_eq!(incr("0", "1.5").as_deref(), Some("1.5"));
        assert_eq!(incr("1.5", "0.1").as_deref(), Some("1.6"));
        assert_eq!(incr("1.6", "1e30").as_deref(), Some("1000000000000000000024696061952"));
        assert_eq!(incr("0", "-0.0").as_deref(), Some("0"));
        assert_eq!(incr("10.50", "0.1").as_deref(), Some("10.6"));
        assert_eq!(incr("5.0e3", "2.0e2").as_deref(), Some("5200"));
        assert_eq!(incr("1e4932", "1e4932"), None);
        assert!(LongDouble::parse(b"1e5000").is_none());
        assert!(LongDouble::parse(b" 1").is_none());
        assert!(LongDouble::parse(b"1 ").is_none());
        assert!(LongDouble::parse(b"nan").is_none());
        assert!(LongDouble::parse(b"1e").is_none());
        assert!(LongDouble::parse(b".").is_none());
        assert!(LongDouble::parse(b"inf").is_some());
        assert_eq!(incr("0x1p-2", "0").as_deref(), Some("0.25"));
    }
}
