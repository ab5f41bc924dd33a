//! Number parsing and formatting, and glob matching, the way Redis does them.
//!
//! Redis is strict about what counts as an integer (`string2ll`: no spaces, no `+`, no leading
//! zeros) and prints doubles with C's `%.17g` in 7.0 (7.2 switched to shortest round-trip).
//! These small functions are shared by every command family so that every reply agrees with
//! `redis-server` 7.0.15 byte for byte.

/// Redis's `string2ll`: the decimal form that Redis would itself print, and nothing else.
/// `"0123"`, `"+1"`, `"-0"`, `" 1"`, `""` and anything outside the i64 range are refused.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [] => return None,
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    if digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg { if v > (i64::MAX as u64) + 1 { None } else { Some((v as i64).wrapping_neg()) } } else { i64::try_from(v).ok() }
}

/// Redis's `ll2string`: `v` in decimal, written at the end of `buf` (the 20 bytes that hold any
/// i64, sign included), the digits returned. No `String` is made: INCR's new value goes from here
/// into the value's inline bytes without an allocation.
pub fn ll2string(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut start = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        start -= 1;
        // In range: 20 bytes hold u64::MAX's 20 digits, and an i64's 19 and a sign.
        if let Some(b) = buf.get_mut(start) {
            *b = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        start -= 1;
        if let Some(b) = buf.get_mut(start) {
            *b = b'-';
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// Redis's `string2ull` (stream IDs): `string2ll` when that parses (refusing negatives), else
/// C's `strtoull` on the whole string, which takes leading spaces, a `+`, leading zeros, values
/// above `i64::MAX` and even a `-` whose magnitude it negates modulo 2^64 (`-01` is
/// 18446744073709551615), as the 7.0.15 server does. `s` is a C string: callers cut it at a NUL.
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = string2ll(s) {
        return u64::try_from(v).ok();
    }
    // strtoull: spaces, a sign, then at least one digit; the whole string must be used.
    // C's isspace: Rust's trim_ascii_start would keep a vertical tab.
    let skip = s.iter().take_while(|c| b" \t\n\x0b\x0c\r".contains(c)).count();
    let rest = s.get(skip..).unwrap_or_default();
    let (neg, digits) = match rest.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?; // ERANGE
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `strtod` as Redis calls it in `getDoubleFromObject` / `string2d`: the whole string must be a
/// number, no leading space, NaN refused, overflow refused.
pub fn string2d(s: &[u8]) -> Option<f64> {
    let first = *s.first()?;
    if first.is_ascii_whitespace() {
        return None;
    }
    // The common case (a ZADD score such as `42`) without the general parser's lowercased copy:
    // an integer in Redis's own form converts exactly below 2^53, as strtod converts it.
    if let Some(v) = string2ll(s).filter(|v| v.unsigned_abs() <= 1 << 53) {
        return Some(v as f64);
    }
    let text = std::str::from_utf8(s).ok()?;
    let v = parse_c_double(text)?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// Parses the subset of C `strtod` syntax that matters: decimal with optional exponent, `inf`,
/// `infinity` (any case), optional sign. Rust's parser is close but also accepts "nan" and
/// "infinity" spelled with a sign, which C does too, so only overflow needs care.
fn parse_c_double(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    if unsigned == "inf" || unsigned == "infinity" {
        return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if unsigned.starts_with("0x") {
        return parse_hex_double(&lower);
    }
    // Rust accepts things C does not ("1_0" no, but "inf"/"nan" words handled above); reject any
    // letter other than the exponent marker so "nan" and "1.5x" fail like strtod's end check.
    if unsigned.bytes().any(|c| !(c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'-' || c == b'+')) {
        return None;
    }
    let v: f64 = lower.parse().ok()?;
    if v.is_infinite() {
        return None; // ERANGE: strtod overflowed to HUGE_VAL
    }
    // ERANGE with a zero result: the number underflowed ("1e-400"), which Redis refuses too.
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        return None;
    }
    Some(v)
}

/// C99 hex floats (`0x1.8p1`), which `strtod` accepts and so Redis does too.
fn parse_hex_double(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let rest = rest.strip_prefix("0x")?;
    let (mant, exp) = match rest.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// C's `printf("%.17g", x)` (glibc), which Redis 7.0 uses for doubles in replies, in the AOF
/// rewrite and in `DEBUG DIGEST`.
pub fn fmt_g17(x: f64) -> String {
    fmt_g(x, 17)
}

/// C's `printf("%.<precision>g", x)` (glibc), for `precision` in 1..=17: `%.17g` above, and
/// Lua 5.1's `%.14g` (`LUA_NUMBER_FMT`, what `tostring(n)` prints).
pub fn fmt_g(x: f64, precision: usize) -> String {
    let precision = precision.clamp(1, 17);
    if x.is_nan() {
        // glibc prints the sign bit (a script's 0/0 is -nan on x86: `SET k -nan` in Redis's AOF).
        return if x.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let neg = x.is_sign_negative();
    let sci = format!("{:.*e}", precision - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if (-4..precision as i32).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits.trim_end_matches('0'));
        } else {
            let point = (exp + 1) as usize;
            let (int, frac) = digits.split_at(point.min(digits.len()));
            out.push_str(int);
            let frac = frac.trim_end_matches('0');
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
        }
        if out == "-" || out.is_empty() {
            out.push('0');
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    }
    out
}

/// Redis's `stringmatchlen`: glob-style matching with `*`, `?`, `[...]` (ranges, `^` negation)
/// and `\` escapes, as used by KEYS, SCAN MATCH, CONFIG GET.
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    string_match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn string_match_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    // Same protection as Redis 7.0.15 against pathological patterns.
    if nesting > 1000 {
        return false;
    }
    let fold = |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
    while let Some(&pc) = p.first() {
        if s.is_empty() && pc != b'*' {
            break;
        }
        match pc {
            b'*' => {
                while p.get(1) == Some(&b'*') {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if string_match_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                let c = fold(s[0]);
                loop {
                    match p.first() {
                        None => break,
                        Some(b'\\') if p.len() >= 2 => {
                            p = &p[1..];
                            if p[0] == s[0] {
                                matched = true;
                            }
                        }
                        Some(b']') => break,
                        Some(_) if p.len() >= 3 && p[1] == b'-' => {
                            let (mut start, mut end) = (fold(p[0]), fold(p[2]));
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            p = &p[2..];
                            if c >= start && c <= end {
                                matched = true;
                            }
                        }
                        Some(&x) => {
                            if fold(x) == c {
                                matched = true;
                            }
                        }
                    }
                    p = &p[1..];
                }
                // Redis: an unterminated class is treated as if it ended at the pattern's end.
                if p.is_empty() {
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    s = &s[1..];
                    // The pattern is exhausted: fall through to the end check.
                    return s.is_empty();
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0]) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            _ => {
                if fold(pc) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// `double2ll` (util.c): `d` as an integer when it is one exactly and within ±`LLONG_MAX / 2`
/// (±2^62: Redis keeps clear of the range where a cast could overflow), `-0` as 0. A listpack
/// stores such a zset score as an integer entry, anything else as `%.17g` text.
pub fn double2ll(d: f64) -> Option<i64> {
    let lim = (i64::MAX / 2) as f64;
    #[allow(clippy::cast_possible_truncation)]
    ((-lim..=lim).contains(&d) && (d as i64) as f64 == d).then_some(d as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ll2string_writes_what_to_string_does() {
        let mut buf = [0; 20];
        for v in [0, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN, i64::MIN + 1, 1 << 53] {
            assert_eq!(ll2string(&mut buf, v), v.to_string().as_bytes());
            assert_eq!(string2ll(ll2string(&mut buf, v)), Some(v));
        }
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"9223372036854775808"[..], b"-0", b"+1", b"01", b" 1", b"1 ", b"", b"-", b"1.0"] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn g17_matches_glibc() {
        for (x, s) in [
            (0.1, "0.10000000000000001"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e300, "1.0000000000000001e+300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e-300, "1e-300"),
            (5e-324, "4.9406564584124654e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (123456789012345678.0, "1.2345678901234568e+17"),
        ] {
            assert_eq!(fmt_g17(x), s, "{x}");
        }
    }

    #[test]
    fn string2d_like_strtod() {
        // The integer fast path gives what the general parser gives.
        for n in ["0", "42", "-7", "9007199254740992", "-9007199254740992", "9007199254740993", "9223372036854775807"] {
            assert_eq!(string2d(n.as_bytes()).map(f64::to_bits), parse_c_double(n).map(f64::to_bits), "{n}");
        }
        assert!(string2d(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
        assert_eq!(string2d(b"007"), Some(7.0));
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"+inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"0e-400"), Some(0.0));
        assert_eq!(string2d(b"1e-320"), Some(1e-320));
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"1.5x"), None);
        assert_eq!(string2d(b""), None);
    }

    #[test]
    fn glob() {
        assert!(string_match(b"*", b"anything", false));
        assert!(string_match(b"h?llo", b"hello", false));
        assert!(string_match(b"h[ae]llo", b"hallo", false));
        assert!(!string_match(b"h[^e]llo", b"hello", false));
        assert!(string_match(b"h[a-b]llo", b"hbllo", false));
        assert!(string_match(b"h\\*llo", b"h*llo", false));
        assert!(!string_match(b"h\\*llo", b"hello", false));
        assert!(string_match(b"user:*:name", b"user:12:name", false));
        assert!(!string_match(b"a*b", b"ac", false));
        assert!(string_match(b"A*", b"abc", true));
        assert!(string_match(b"", b"", false));
        assert!(!string_match(b"", b"a", false));
    }
}
