//! SORT and SORT_RO (Redis's `sort.c`): the elements of a list, set or sorted set, ordered
//! numerically or as strings, by themselves or by the values of other keys, optionally replaced
//! by other keys' values (`GET`) and stored as a list (`STORE`).
//!
//! ```text
//! SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dest]
//! pattern  the first '*' is replaced by the element: "w_*" reads the string key w_<element>,
//!          "h_*->f" the field f of the hash h_<element>; GET "#" is the element itself
//! BY k     a pattern without '*' means "do not sort" (`nosort` is the usual spelling): lists and
//!          sorted sets keep their own order (DESC reverses it, LIMIT takes a range of it)
//! ```
//!
//! **Numbers.** Without ALPHA each weight goes through C's `strtod`: the whole C string must be
//! consumed, NaN and an out-of-range number (`errno == ERANGE`) are refused with "One or more
//! scores can't be converted into double", after the sort (nothing is stored). A missing weight
//! key counts as 0; equal weights are ordered by the elements' bytes, so the result is
//! deterministic. With ALPHA, a missing weight sorts first, and equal weights keep the order the
//! elements were read in (glibc's `qsort` is a merge sort: stable).
//!
//! **Propagation.** `SORT … STORE` changes the dataset and reaches the AOF verbatim, BY and GET
//! patterns included: replaying it sorts again against the keys of that moment, which are the
//! same because every write before it is in the file too. A set sorted with `BY nosort` and
//! STORE, or from a script, is sorted ALPHA instead (a set's order is not stable across
//! servers). A STORE of an
//! empty result deletes the destination (propagated only if it existed).
//!
//! Compared with Redis: the strings are compared byte by byte where Redis calls `strcoll`, which
//! is the same in the C and C.UTF-8 locales the tests run in; a set's or a big sorted set's
//! "read order" (the ALPHA ties above) is the engine's insertion order, not a hash-table order.

use std::cmp::Ordering;

use crate::cmd::args;
use crate::cmd::csort::pqsort;
use crate::cmd::keys::opt_is;
use crate::cmd::zset::spec::strtod_whole;
use crate::keyspace::{List, Value};
use crate::reply::Reply;
use crate::server::Ctx;

pub(super) fn sort(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sort_generic(ctx, argv, false)
}

pub(super) fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sort_generic(ctx, argv, true)
}

/// One element being sorted, with its weight.
struct Item {
    obj: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the weight's bytes (`None`: missing weight key).
    cmp: Option<Vec<u8>>,
}

/// The bytes of a C string: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// `sortCommandGeneric`.
fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) -> Reply {
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count): (i64, i64) = (0, -1);
    let mut dontsort = false;
    let mut sortby: Option<&[u8]> = None;
    let mut storekey: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let fullname = if readonly { "sort_ro" } else { "sort" };
    let full_key_access = crate::cmd::server::acl::reads_every_key(ctx.srv, ctx.client, fullname, argv);
    let mut j = 2;
    while j < argv.len() {
        let leftargs = argv.len() - j - 1;
        let a = argv[j];
        if opt_is(a, "asc") {
            desc = false;
        } else if opt_is(a, "desc") {
            desc = true;
        } else if opt_is(a, "alpha") {
            alpha = true;
        } else if opt_is(a, "limit") && leftargs >= 2 {
            limit_start = match args::int(argv[j + 1]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            limit_count = match args::int(argv[j + 2]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            j += 2;
        } else if !readonly && opt_is(a, "store") && leftargs >= 1 {
            storekey = Some(argv[j + 1]);
            j += 1;
        } else if opt_is(a, "by") && leftargs >= 1 {
            sortby = Some(argv[j + 1]);
            // A constant pattern: nothing to sort by (`strchr`: a C string). Never undone by a
            // later BY with a pattern, which only becomes the one weights would be read by.
            if !c_str(argv[j + 1]).contains(&b'*') {
                dontsort = true;
            } else if !full_key_access {
                return Reply::err("ERR BY option of SORT denied due to insufficient ACL permissions.");
            }
            j += 1;
        } else if opt_is(a, "get") && leftargs >= 1 {
            if !full_key_access {
                return Reply::err("ERR GET option of SORT denied due to insufficient ACL permissions.");
            }
            gets.push(argv[j + 1]);
            j += 1;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }

    let key = argv[1];
    let (mut elems, vectorlen_full, kind) = match ctx.lookup_read(key) {
        None => (Source::Empty, 0, Kind::List),
        Some(Value::List(l)) => (Source::List, l.len(), Kind::List),
        Some(Value::Set(s)) => (Source::Set, s.len(), Kind::Set),
        Some(Value::ZSet(z)) => (Source::ZSet(z.is_skiplist()), z.len(), Kind::ZSet),
        Some(_) => return Reply::wrongtype(),
    };
    if dontsort && kind == Kind::Set && (storekey.is_some() || crate::cmd::scripting::is_script_client(ctx.client)) {
        // A set's order is not the same on a replica or in the AOF (nor, for a script, in what
        // the script then writes): force an ALPHA sort.
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    // `zsetConvert(sortval, OBJ_ENCODING_SKIPLIST)`: destructive, and never undone.
    if let Source::ZSet(false) = elems
        && let Some(Value::ZSet(z)) = ctx.db().get_mut(key)
    {
        z.convert_to_skiplist();
        elems = Source::ZSet(true);
    }

    let vlen = i64::try_from(vectorlen_full).unwrap_or(i64::MAX);
    let mut start = limit_start.max(0).min(vlen);
    let limit_count = limit_count.max(-1).min(vlen);
    let mut end = if limit_count < 0 { vlen - 1 } else { start + limit_count - 1 };
    if start >= vlen {
        start = vlen - 1;
        end = vlen - 2;
    }
    if end >= vlen {
        end = vlen - 1;
    }

    // Load the vector: lists and sorted sets not sorted are read as the range asked for.
    let direct = dontsort && kind != Kind::Set;
    let mut vector: Vec<Item> = Vec::new();
    if !matches!(elems, Source::Empty) {
        let item = |obj: &[u8]| Item { obj: obj.to_vec(), score: 0.0, cmp: None };
        let value = ctx.db().get(key);
        match value {
            // An empty range (LIMIT past the end): nothing read, start and end left as they are.
            Some(Value::List(_)) if direct && end < start => {}
            Some(Value::List(l)) if direct => {
                let (s, e) = (to_usize(start), to_usize(end));
                if desc {
                    vector.extend(l.iter().rev().skip(s).take(e - s + 1).map(|o| item(o)));
                } else {
                    vector.extend(l.iter().skip(s).take(e - s + 1).map(|o| item(o)));
                }
                end -= start;
                start = 0;
            }
            Some(Value::ZSet(z)) if direct => {
                let (s, e) = (to_usize(start.max(0)), end);
                let n = if e >= start { to_usize(e - start + 1) } else { 0 };
                if desc {
                    vector.extend(z.iter().rev().skip(s).take(n).map(|(m, _)| item(m)));
                } else {
                    vector.extend(z.iter().skip(s).take(n).map(|(m, _)| item(m)));
                }
                end -= start;
                start = 0;
            }
            Some(Value::List(l)) => vector.extend(l.iter().map(|o| item(o))),
            Some(Value::Set(s)) => vector.extend(s.ordered().into_iter().map(&item)),
            // The skiplist's dict: read in its own (hash) order, then sorted.
            Some(Value::ZSet(z)) => vector.extend((0..z.len()).filter_map(|i| z.pick(i)).map(|(m, _)| item(m))),
            _ => {}
        }
    }

    // Weights, then the sort.
    let mut conversion_error = false;
    if !dontsort {
        for it in &mut vector {
            let byval: Vec<u8> = match sortby {
                Some(pattern) => match lookup_key_by_pattern(ctx, pattern, &it.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.obj.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = Some(byval);
                }
            } else {
                match sort_score(&byval) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        if !conversion_error {
            let (bypattern, store) = (sortby.is_some(), storekey.is_some());
            let cmp = |a: &Item, b: &Item| {
                let cmp = compare(a, b, alpha, bypattern, store);
                if desc { cmp.reverse() } else { cmp }
            };
            // Redis's choice: `pqsort` (unstable: equal weights come out in its order) when BY
            // and LIMIT narrow the range, glibc's stable `qsort` otherwise.
            if bypattern && (start != 0 || end != vlen - 1) {
                if !vector.is_empty() && end >= start {
                    pqsort(&mut vector, &|a, b| cmp(a, b) as i32, to_usize(start), to_usize(end));
                }
            } else {
                vector.sort_by(cmp);
            }
        }
    }

    let getop = i64::try_from(gets.len()).unwrap_or(i64::MAX);
    let span = end - start + 1;
    let outputlen = if getop > 0 { getop * span } else { span };
    if conversion_error {
        return Reply::err("ERR One or more scores can't be converted into double");
    }
    let range: Vec<Vec<u8>> =
        if span > 0 { vector.iter().skip(to_usize(start)).take(to_usize(span)).map(|it| it.obj.clone()).collect() } else { Vec::new() };
    let Some(storekey) = storekey else {
        let mut out = Vec::new();
        for obj in &range {
            if gets.is_empty() {
                out.push(Reply::Bulk(obj.clone()));
            }
            for pattern in &gets {
                out.push(match lookup_key_by_pattern(ctx, pattern, obj) {
                    Some(v) => Reply::Bulk(v),
                    None => Reply::Nil,
                });
            }
        }
        return Reply::Array(out);
    };
    let mut stored = List::default();
    for obj in &range {
        if gets.is_empty() {
            stored.push_back(obj.clone());
        }
        for pattern in &gets {
            stored.push_back(lookup_key_by_pattern(ctx, pattern, obj).unwrap_or_default());
        }
    }
    if outputlen > 0 {
        // `setKey`: its `lookupKeyWrite` expires a stale destination first.
        ctx.lookup_write(storekey);
        ctx.set_key(storekey, Value::List(stored), false);
        ctx.dirty(u64::try_from(outputlen).unwrap_or(0));
    } else if ctx.delete_key(storekey) {
        ctx.dirty(1);
    }
    Reply::Int(outputlen.max(0))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// What the sorted key holds (`ZSet(skiplist)`).
enum Source {
    Empty,
    List,
    Set,
    ZSet(bool),
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// `sortCompare`, before DESC.
fn compare(a: &Item, b: &Item, alpha: bool, bypattern: bool, store: bool) -> Ordering {
    if !alpha {
        return a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.obj.cmp(&b.obj));
    }
    let (x, y) = if bypattern {
        match (&a.cmp, &b.cmp) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x.as_slice(), y.as_slice()),
        }
    } else {
        (a.obj.as_slice(), b.obj.as_slice())
    };
    // STORE compares binary strings (`compareStringObjects`); a reply is collated with
    // `strcoll`, on C strings.
    if store { x.cmp(y) } else { c_str(x).cmp(c_str(y)) }
}

/// A weight as SORT reads it: `strtod` must consume the whole C string; NaN and ERANGE (an
/// overflow to infinity, an underflow to zero or a subnormal) are refused.
fn sort_score(b: &[u8]) -> Option<f64> {
    let v = strtod_whole(b)?;
    let text = c_str(b).trim_ascii_start().to_ascii_lowercase();
    let unsigned = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+")).unwrap_or(&text);
    if v.is_infinite() && !unsigned.starts_with(b"inf") {
        return None;
    }
    if v == 0.0 || v.is_subnormal() {
        // Nonzero digits in the mantissa that came out as zero or subnormal: an underflow.
        // A hex number is exact unless it underflowed to zero (`0x1p-1074` is fine, observed).
        let (digits, stop): (&[u8], u8) = match unsigned.strip_prefix(b"0x") {
            Some(_) if v != 0.0 => return Some(v),
            Some(hex) => (hex, b'p'),
            None => (unsigned, b'e'),
        };
        let mantissa = digits.split(|&c| c == stop).next().unwrap_or_default();
        if mantissa.iter().any(|&c| c.is_ascii_alphanumeric() && c != b'0') {
            return None;
        }
    }
    Some(v)
}

/// `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` of the pattern is
/// replaced by the element and the key read, as a string, or, after `->`, as a hash field.
fn lookup_key_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    let cpat = c_str(pattern);
    if cpat == b"#" {
        return Some(subst.to_vec());
    }
    let star = cpat.iter().position(|&c| c == b'*')?;
    // `strstr(p+1, "->")` on the C string, with something after the arrow; the field itself is
    // the rest of the whole (binary) pattern.
    let after = &cpat[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->").filter(|&i| i + 2 < after.len()).map(|i| star + 1 + i);
    let (key_tail, field) = match arrow {
        Some(a) => (&pattern[star + 1..a], Some(&pattern[a + 2..])),
        None => (&pattern[star + 1..], None),
    };
    let mut keyname = Vec::with_capacity(pattern.len() + subst.len());
    keyname.extend_from_slice(&pattern[..star]);
    keyname.extend_from_slice(subst);
    keyname.extend_from_slice(key_tail);
    match (ctx.lookup_read(&keyname)?, field) {
        (Value::Hash(h), Some(f)) => h.get(f).cloned(),
        (Value::String(s), None) => Some(s.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::sort_score;

    #[test]
    fn scores_like_strtod_with_erange() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b" 2"), Some(2.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"0.000"), Some(0.0));
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"1e-400"), None);
        assert_eq!(sort_score(b"4.9e-324"), None);
        assert_eq!(sort_score(b"0x1p-2000"), None);
        assert_eq!(sort_score(b" 0x"), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1x"), None);
    }
}
