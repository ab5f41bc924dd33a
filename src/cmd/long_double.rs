//! C's `long double` as Redis 7.0 gets it on x86-64 Linux: the x87 80-bit extended format
//! (1 sign bit, 15 exponent bits, a 64-bit significand), done in software so that the native
//! build and wasm32 (which has no `long double`) agree bit for bit. Three command families use
//! it, each as Redis does:
//!
//! - INCRBYFLOAT and HINCRBYFLOAT parse both operands with `strtold` (`string2ld`: correctly
//!   rounded, the whole string or nothing), add them in extended precision
//!   ([`LongDouble::add`]), and print the sum with `"%.17Lf"` before trimming trailing zeros
//!   (`ld2string(..., LD_STR_HUMAN)`, [`LongDouble::to_human_string`]). The extra 11 bits of
//!   precision are why `0.1 + 0.2` gives `0.3` there and not `0.30000000000000004`;
//! - the blocking commands' timeouts in seconds (`getTimeoutFromObjectOrReply`) are
//!   `(long long)ceill(strtold(s) * 1000.0)` ([`seconds_to_ms`]): `16.3` is 16299.99… in
//!   `long double`, hence 16300 ms, while `0.1 × 1000` rounds back to exactly 100.
//!
//! Method: every step is first done exactly with a small arbitrary-precision integer ([`Big`])
//! and rounded once, to nearest with ties to even — which is what the x87 FPU, glibc's
//! `strtold` and glibc's `printf` each do. Values are `mant * 2^exp`; the x87 range gives
//! normal numbers a leading bit in 2^-16382 ..= 2^16383 and subnormals a last bit of 2^-16445.
#![deny(clippy::indexing_slicing)]

use std::cmp::Ordering;

use big::Big;

mod big;

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

    /// A `double` widened to `long double` (exact: every double is an extended value). NaN,
    /// which no caller passes, becomes `inf`.
    pub fn from_f64(x: f64) -> LongDouble {
        let neg = x.is_sign_negative();
        if !x.is_finite() {
            return LongDouble::Inf { neg };
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1 << 52) - 1);
        let (mant, exp) = if biased == 0 { (frac, -1074) } else { (frac | (1 << 52), biased - 1075) };
        LongDouble::Finite { neg, mant, exp }
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

    /// The x87 `FMUL`: the exact product, rounded once. Infinity times zero is NaN, returned
    /// as `None`.
    pub fn mul(self, other: LongDouble) -> Option<LongDouble> {
        match (self, other) {
            (LongDouble::Finite { neg: an, mant: am, exp: ae }, LongDouble::Finite { neg: bn, mant: bm, exp: be }) => {
                let neg = an != bn;
                if am == 0 || bm == 0 {
                    return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
                }
                let p = u128::from(am) * u128::from(bm);
                let big = Big::from_u64(p as u64).add(&Big::from_u64((p >> 64) as u64).shl(64));
                Some(round(neg, &big, ae + be, false))
            }
            (LongDouble::Finite { mant: 0, .. }, LongDouble::Inf { .. }) | (LongDouble::Inf { .. }, LongDouble::Finite { mant: 0, .. }) => {
                None
            }
            (a, b) => Some(LongDouble::Inf { neg: a.is_negative() != b.is_negative() }),
        }
    }

    fn is_negative(self) -> bool {
        match self {
            LongDouble::Finite { neg, .. } | LongDouble::Inf { neg } => neg,
        }
    }

    /// `(long long)ceill(x)` as x86-64 converts it (`fistp`): the value rounded up, or
    /// `i64::MIN` ("integer indefinite") when it does not fit or is infinite.
    pub fn ceil_to_i64(self) -> i64 {
        let LongDouble::Finite { neg, mant, exp } = self else { return i64::MIN };
        // |x| = mant × 2^exp, split into an integer part and whether a fraction is left.
        let (int, fraction) = if exp >= 0 {
            match u32::try_from(exp).ok().filter(|&e| e < 64 && mant.leading_zeros() >= e) {
                Some(e) => (mant << e, false),
                None => return if mant == 0 { 0 } else { i64::MIN },
            }
        } else if exp <= -64 {
            (0, mant != 0)
        } else {
            let r = exp.unsigned_abs() as u32;
            (mant >> r, mant & ((1u64 << r) - 1) != 0)
        };
        if neg {
            // ceil(-x) = -floor(x); -2^63 is the one negative magnitude that still fits.
            if int <= 1u64 << 63 { (int as i64).wrapping_neg() } else { i64::MIN }
        } else {
            int.checked_add(u64::from(fraction)).and_then(|m| i64::try_from(m).ok()).unwrap_or(i64::MIN)
        }
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

/// `getTimeoutFromObjectOrReply(…, UNIT_SECONDS)`'s arithmetic: `(long long)ceill(strtold(s) *
/// 1000.0)`, the timeout in whole milliseconds (`0.0001` waits 1 ms, `-0.0001` forever). `None`
/// where `string2ld` refuses the string; `i64::MIN` for a product that does not fit (`1e300`,
/// `inf`), which the caller reports as negative, as the real server does.
pub fn seconds_to_ms(arg: &[u8]) -> Option<i64> {
    let v = LongDouble::parse(arg)?;
    Some(v.mul(LongDouble::from_i64(1000))?.ceil_to_i64())
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

#[cfg(test)]
mod tests {
    use super::{LongDouble, seconds_to_ms};

    /// Values checked against `(long long)ceill(strtold(s) * 1000.0)` compiled with gcc on
    /// x86-64, and on the real server (0.0001 times out at once; a NUL byte anywhere refuses
    /// the timeout, as `string2ld` demands the whole string).
    #[test]
    fn timeouts_match_x87_long_double() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("1", Some(1000)),
            ("0.01", Some(10)),
            ("0.1", Some(100)),
            ("16.3", Some(16300)),
            ("32.1", Some(32100)),
            ("0.001", Some(1)),
            ("0.0001", Some(1)),
            ("-0.0001", Some(0)),
            ("-0.5", Some(-500)),
            ("-1", Some(-1000)),
            ("1e300", Some(i64::MIN)),
            ("1e400", Some(i64::MIN)),
            ("inf", Some(i64::MIN)),
            ("-inf", Some(i64::MIN)),
            ("nan", None),
            ("1e5000", None),
            ("1e-5000", None),
            ("1e-400", Some(1)),
            ("1e-4950", Some(1)),
            ("-1e-4950", Some(0)),
            ("1e-4951", None),
            ("1.18973149535723176502e4932", Some(i64::MIN)),
            ("1.18973149535723176508e4932", None),
            ("0x10", Some(16000)),
            ("0x1.8p1", Some(3000)),
            (" 1", None),
            ("1 ", None),
            ("1e", None),
            ("", None),
            (".", None),
            ("-", None),
            (".5", Some(500)),
            ("5.", Some(5000)),
            ("+1", Some(1000)),
            ("9223372036854775", Some(9223372036854775000)),
            ("9223372036854775.807", Some(i64::MAX)),
            ("9223372036854775.808", Some(i64::MIN)),
            ("9223372036854776", Some(i64::MIN)),
            ("1\0garbage", None),
            ("\0", None),
        ];
        for &(s, want) in cases {
            assert_eq!(seconds_to_ms(s.as_bytes()), want, "{s:?}");
        }
    }

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
