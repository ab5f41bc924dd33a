//! Score and lexicographical ranges (`zrangespec`, `zlexrangespec`) and how they are walked.
//!
//! A score bound is a C `strtod` number, optionally prefixed by `(` for an open interval:
//! `(1.5`, `-inf`, `+inf`. Unlike the score of ZADD it goes through a bare `strtod` call, so
//! leading spaces, an empty string (`0`) and an overflowing `1e400` (infinity) are accepted.
//! A lex bound is `[member` (closed), `(member` (open), `-` or `+` (the extremes).
//!
//! Lex ranges only make sense when all scores are equal; with mixed scores Redis still walks
//! the (score-ordered) set comparing members, and so do we, exactly like its listpack code:
//! scan from one end to the first member inside the bound, then stop at the first one outside.

use std::cmp::Ordering;

use crate::keyspace::ZSet;

/// `zrangespec`.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    /// `zslParseRange`; `None` means "ERR min or max is not a float".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = parse_score_bound(min)?;
        let (max, maxex) = parse_score_bound(max)?;
        Some(ScoreRange { min, max, minex, maxex })
    }
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex { v > self.min } else { v >= self.min }
    }
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex { v < self.max } else { v <= self.max }
    }
    /// Rank of the first member inside the range (a binary search, like `zslFirstInRange`).
    fn start(&self, z: &ZSet) -> usize {
        z.partition_point(|s, _| !self.gte_min(s))
    }
    /// Rank just past the last member inside the range.
    fn end(&self, z: &ZSet) -> usize {
        z.partition_point(|s, _| self.lte_max(s))
    }
    /// From the first member inside the range upwards (the caller stops at `lte_max`).
    pub fn forward<'a>(&self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        z.iter_from(self.start(z))
    }
    /// From the last member inside the range downwards (the caller stops at `gte_min`).
    pub fn reverse<'a>(&self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        z.iter_rev_to(self.end(z))
    }
    /// How many members are in range (ZCOUNT): a difference of two ranks.
    pub fn count(&self, z: &ZSet) -> usize {
        self.end(z).saturating_sub(self.start(z))
    }
    /// The members in range, ascending (ZREMRANGEBYSCORE).
    pub fn members<'a>(&self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        self.forward(z).take(self.count(z))
    }
}

/// One side of a score range: `(` prefix = exclusive.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.first() {
        Some(b'(') => Some((strtod_whole(&arg[1..])?, true)),
        _ => Some((strtod_whole(arg)?, false)),
    }
}

/// `strtod(s, &eptr)` followed by Redis's `eptr[0] != '\0' || isnan(v)` check: the C string (up to
/// the first NUL) must be consumed entirely. No ERANGE check: `1e400` is infinity, `1e-400` is 0.
pub fn strtod_whole(arg: &[u8]) -> Option<f64> {
    let s = match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    let c_str = s;
    let s = trim_c_space(s);
    if s.is_empty() {
        // No conversion: eptr stays at the start, which is the end only for an empty string.
        return c_str.is_empty().then_some(0.0);
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if lower.starts_with(b"nan") {
        return None; // NaN is refused, and so is anything after it
    }
    let v = if lower.starts_with(b"0x") { hex_float(&lower[2..])? } else { decimal_float(&lower)? };
    Some(if neg { -v } else { v })
}

fn trim_c_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).count();
    &s[n..]
}

/// `digits [. digits] [e [sign] digits]`, with at least one digit in the mantissa.
fn decimal_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let int_digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = s[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if s.get(i) == Some(&b'e') {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s.get(j..).map_or(0, |t| t.iter().take_while(|c| c.is_ascii_digit()).count());
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    if i != s.len() {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse::<f64>().ok()
}

/// C99 hex float after the `0x`: `hexdigits [. hexdigits] [p [sign] digits]`.
fn hex_float(s: &[u8]) -> Option<f64> {
    let int_len = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let mut i = int_len;
    let mut frac_len = 0;
    if s.get(i) == Some(&b'.') {
        frac_len = s[i + 1..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        i += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None; // "0x" alone: strtod stops after the "0", leaving "x"
    }
    let mut exp: i64 = 0;
    if s.get(i) == Some(&b'p') {
        let mut j = i + 1;
        let neg = match s.get(j) {
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
        let digits = s.get(j..).map_or(0, |t| t.iter().take_while(|c| c.is_ascii_digit()).count());
        if digits > 0 {
            for &c in &s[j..j + digits] {
                exp = (exp * 10 + i64::from(c - b'0')).min(100_000);
            }
            if neg {
                exp = -exp;
            }
            i = j + digits;
        }
    }
    if i != s.len() {
        return None;
    }
    let frac: &[u8] = if frac_len > 0 { &s[int_len + 1..int_len + 1 + frac_len] } else { &[] };
    let mut v = 0f64;
    for &c in s[..int_len].iter().chain(frac) {
        v = v * 16.0 + f64::from((c as char).to_digit(16)?);
    }
    let exp = exp - 4 * frac_len as i64;
    Some(v * 2f64.powi(exp.clamp(-2000, 2000) as i32))
}

/// One end of a lex range.
#[derive(Clone, Debug, PartialEq)]
pub enum LexItem {
    /// `-`
    Min,
    /// `+`
    Max,
    Str(Vec<u8>),
}

/// `zlexrangespec`.
#[derive(Clone, Debug)]
pub struct LexRange {
    pub min: LexItem,
    pub max: LexItem,
    pub minex: bool,
    pub maxex: bool,
}

/// `sdscmplex`: `-` is below every string, `+` above.
fn cmplex(a: &LexItem, b: &LexItem) -> Ordering {
    match (a, b) {
        (LexItem::Min, LexItem::Min) | (LexItem::Max, LexItem::Max) => Ordering::Equal,
        (LexItem::Min, _) | (_, LexItem::Max) => Ordering::Less,
        (LexItem::Max, _) | (_, LexItem::Min) => Ordering::Greater,
        (LexItem::Str(x), LexItem::Str(y)) => x.cmp(y),
    }
}

fn cmp_member(m: &[u8], b: &LexItem) -> Ordering {
    match b {
        LexItem::Min => Ordering::Greater,
        LexItem::Max => Ordering::Less,
        LexItem::Str(y) => m.cmp(y.as_slice()),
    }
}

impl LexRange {
    /// `zslParseLexRange`; `None` means "ERR min or max not valid string range item".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        let (min, minex) = parse_lex_item(min)?;
        let (max, maxex) = parse_lex_item(max)?;
        Some(LexRange { min, max, minex, maxex })
    }
    pub fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.min);
        if self.minex { c == Ordering::Greater } else { c != Ordering::Less }
    }
    pub fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.max);
        if self.maxex { c == Ordering::Less } else { c != Ordering::Greater }
    }
    /// `zzlIsInLexRange`: false when the range is empty or misses the set entirely.
    fn may_intersect(&self, z: &ZSet) -> bool {
        let c = cmplex(&self.min, &self.max);
        if c == Ordering::Greater || (c == Ordering::Equal && (self.minex || self.maxex)) {
            return false;
        }
        match (z.first(), z.last()) {
            (Some(first), Some(last)) => self.gte_min(last.0) && self.lte_max(first.0),
            _ => false,
        }
    }
    /// `zzlFirstInLexRange`: the rank of the first member (in set order) that is >= min, if it
    /// is also <= max.
    fn first_in_range(&self, z: &ZSet) -> Option<usize> {
        if !self.may_intersect(z) {
            return None;
        }
        let rank = if same_scores(z) {
            // All scores equal: members are sorted, so search instead of scanning.
            z.partition_point(|_, m| !self.gte_min(m))
        } else {
            z.iter().position(|(m, _)| self.gte_min(m))?
        };
        z.get_by_rank(rank).filter(|(m, _)| self.lte_max(m)).map(|_| rank)
    }
    /// `zzlLastInLexRange`: the rank of the last member that is <= max, if it is also >= min.
    fn last_in_range(&self, z: &ZSet) -> Option<usize> {
        if !self.may_intersect(z) {
            return None;
        }
        let rank = if same_scores(z) {
            z.partition_point(|_, m| self.lte_max(m)).checked_sub(1)?
        } else {
            z.len() - 1 - z.iter().rev().position(|(m, _)| self.lte_max(m))?
        };
        z.get_by_rank(rank).filter(|(m, _)| self.gte_min(m)).map(|_| rank)
    }
    /// From the first member in range upwards (the caller stops at `lte_max`).
    pub fn forward<'a>(&self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        self.first_in_range(z).into_iter().flat_map(move |r| z.iter_from(r))
    }
    /// From the last member in range downwards (the caller stops at `gte_min`).
    pub fn reverse<'a>(&self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        self.last_in_range(z).into_iter().flat_map(move |r| z.iter_rev_to(r + 1))
    }
    /// How many members are in range (ZLEXCOUNT).
    pub fn count(&self, z: &ZSet) -> usize {
        match self.first_in_range(z) {
            None => 0,
            Some(start) if same_scores(z) => z.partition_point(|_, m| self.lte_max(m)).saturating_sub(start),
            Some(start) => z.iter_from(start).take_while(|(m, _)| self.lte_max(m)).count(),
        }
    }
    /// The members in range, in set order (ZREMRANGEBYLEX).
    pub fn members<'a>(&'a self, z: &'a ZSet) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        self.forward(z).take_while(move |(m, _)| self.lte_max(m))
    }
}

/// Every member has the same score (`0 == -0`): then the set order is the member order.
fn same_scores(z: &ZSet) -> bool {
    matches!((z.first(), z.last()), (Some(a), Some(b)) if a.1 == b.1)
}

/// `zslParseLexRangeItem`.
fn parse_lex_item(arg: &[u8]) -> Option<(LexItem, bool)> {
    match arg.first()? {
        // C compares c[1] with '\0': "+" followed by a NUL byte still counts as "+".
        b'+' if arg.get(1).is_none_or(|&c| c == 0) => Some((LexItem::Max, true)),
        b'-' if arg.get(1).is_none_or(|&c| c == 0) => Some((LexItem::Min, true)),
        b'(' => Some((LexItem::Str(arg[1..].to_vec()), true)),
        b'[' => Some((LexItem::Str(arg[1..].to_vec()), false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        assert_eq!(strtod_whole(b"1.5"), Some(1.5));
        assert_eq!(strtod_whole(b" 2"), Some(2.0));
        assert_eq!(strtod_whole(b""), Some(0.0));
        assert_eq!(strtod_whole(b"  "), None);
        assert_eq!(strtod_whole(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_whole(b"1e-400"), Some(0.0));
        assert_eq!(strtod_whole(b"0x2"), Some(2.0));
        assert_eq!(strtod_whole(b"0x1.8p1"), Some(3.0));
        assert_eq!(strtod_whole(b"0x"), None);
        assert_eq!(strtod_whole(b"+inf"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_whole(b"nan"), None);
        assert_eq!(strtod_whole(b"3 "), None);
        assert_eq!(strtod_whole(b"1e"), None);
        assert_eq!(strtod_whole(b"."), None);
        assert_eq!(strtod_whole(b"5."), Some(5.0));
        assert_eq!(strtod_whole(b".5"), Some(0.5));
        assert_eq!(strtod_whole(b"-"), None);
        assert_eq!(strtod_whole(b"1\x00junk"), Some(1.0));
    }

    #[test]
    fn lex_items() {
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"[a", b"+x").is_none());
        assert!(LexRange::parse(b"", b"+").is_none());
        let r = LexRange::parse(b"(", b"[").expect("valid");
        assert_eq!(r.min, LexItem::Str(Vec::new()));
    }
}
