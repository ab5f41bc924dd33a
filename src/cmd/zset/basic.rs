//! Single-member commands (ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK) and the
//! two that walk the set without an order: ZRANDMEMBER and ZSCAN.

use super::{push_member, read, tri, write};
use crate::cmd::args;
use crate::keyspace::{Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::{fmt_g17, string_match};

/// ZADD's options (`ZADD_IN_*`).
#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

/// What `zsetAdd` did to one member (`ZADD_OUT_*`).
#[derive(Clone, Copy, Default)]
struct AddOut {
    added: bool,
    updated: bool,
    nop: bool,
    newscore: f64,
}

/// `zsetAdd`. `Err(())` = the increment made the score NaN (`inf + -inf`).
fn zset_add(z: &mut ZSet, score: f64, member: &[u8], f: AddFlags, limits: (usize, usize)) -> Result<AddOut, ()> {
    let mut out = Ok(AddOut { nop: true, ..AddOut::default() });
    // One lookup of the member: the decision is made on the score found there.
    z.add_limited(member, limits, |cur| match cur {
        Some(cur) => {
            if f.nx {
                return None;
            }
            let score = if f.incr { score + cur } else { score };
            if score.is_nan() {
                out = Err(());
                return None;
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return None;
            }
            let updated = score != cur;
            out = Ok(AddOut { updated, newscore: score, ..AddOut::default() });
            updated.then_some(score)
        }
        None if !f.xx => {
            // The reply shows the score as given, even a -0 that the listpack stored as 0.
            out = Ok(AddOut { added: true, newscore: score, ..AddOut::default() });
            Some(score)
        }
        None => None,
    });
    out
}

pub fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zadd_generic(ctx, argv, false)
}

pub fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zadd_generic(ctx, argv, true)
}

/// `zaddGenericCommand`: ZINCRBY is ZADD with INCR set (and goes through the same option loop).
fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], incr_cmd: bool) -> Reply {
    let key = argv[1];
    let mut f = AddFlags { incr: incr_cmd, ..AddFlags::default() };
    let mut ch = false;
    let mut idx = 2;
    while let Some(opt) = argv.get(idx) {
        if args::is(opt, "nx") {
            f.nx = true;
        } else if args::is(opt, "xx") {
            f.xx = true;
        } else if args::is(opt, "ch") {
            ch = true;
        } else if args::is(opt, "incr") {
            f.incr = true;
        } else if args::is(opt, "gt") {
            f.gt = true;
        } else if args::is(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Reply::syntax();
    }
    let pairs = elements / 2;
    if f.nx && f.xx {
        return Reply::err("ERR XX and NX options at the same time are not compatible");
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Reply::err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && pairs > 1 {
        return Reply::err("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(pairs);
    for j in 0..pairs {
        scores.push(tri!(args::float(argv[idx + 2 * j])));
    }

    let limits = super::listpack_limits(ctx);
    let exists = tri!(write(ctx, key)).is_some();
    if !exists {
        if f.xx {
            return if f.incr { Reply::Nil } else { Reply::Int(0) };
        }
        // zaddGenericCommand (7.0): a skiplist from the start when listpacks are off or the
        // first member is already too long for one.
        let first_len = argv.get(idx + 1).map_or(0, |m| m.len());
        let z = if limits.0 == 0 || limits.1 < first_len { ZSet::new_skiplist() } else { ZSet::default() };
        ctx.db_add(key, Value::ZSet(z));
    }
    let Ok(Some(z)) = write(ctx, key) else {
        return Reply::wrongtype();
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut score = 0.0;
    let mut nan = false;
    for (j, &s) in scores.iter().enumerate() {
        match zset_add(z, s, argv[idx + 2 * j + 1], f, limits) {
            Ok(out) => {
                added += u64::from(out.added);
                updated += u64::from(out.updated);
                processed += u64::from(!out.nop);
                score = out.newscore;
            }
            Err(()) => {
                nan = true;
                break;
            }
        }
    }
    if added + updated > 0 {
        ctx.signal_modified(key);
    }
    if nan {
        return Reply::err("ERR resulting score is not a number (NaN)");
    }
    ctx.dirty(added + updated);
    if f.incr {
        if processed > 0 { Reply::double(score) } else { Reply::Nil }
    } else {
        Reply::Int((if ch { added + updated } else { added }) as i64)
    }
}

pub fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let Some(z) = tri!(write(ctx, key)) else {
        return Reply::Int(0);
    };
    let mut deleted = 0u64;
    let mut emptied = false;
    for m in &argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            emptied = true;
            break;
        }
    }
    ctx.removed_members(key, deleted, emptied)
}

pub fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    Reply::Int(tri!(read(ctx, argv[1])).map_or(0, |z| z.len() as i64))
}

pub fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match tri!(read(ctx, argv[1])).and_then(|z| z.score(argv[2])) {
        Some(s) => Reply::double(s),
        None => Reply::Nil,
    }
}

pub fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let z = tri!(read(ctx, argv[1]));
    Reply::Array(argv[2..].iter().map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::double)).collect())
}

pub fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    rank_generic(ctx, argv, false)
}

pub fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    rank_generic(ctx, argv, true)
}

fn rank_generic(ctx: &mut Ctx, argv: &[&[u8]], reverse: bool) -> Reply {
    let Some(z) = tri!(read(ctx, argv[1])) else {
        return Reply::Nil;
    };
    match z.rank(argv[2]) {
        Some(r) if reverse => Reply::Int((z.len() - 1 - r) as i64),
        Some(r) => Reply::Int(r as i64),
        None => Reply::Nil,
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() >= 3 {
        // `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`, as for SRANDMEMBER / HRANDFIELD.
        let l = tri!(crate::cmd::set::parse_random_count(argv[2]));
        if argv.len() > 4 || (argv.len() == 4 && !args::is(argv[3], "withscores")) {
            return Reply::syntax();
        }
        let withscores = argv.len() == 4;
        if withscores && !(i64::MIN / 2..=i64::MAX / 2).contains(&l) {
            return Reply::err("ERR value is out of range");
        }
        return zrandmember_count(ctx, argv[1], l, withscores);
    }
    if tri!(read(ctx, argv[1])).is_none() {
        return Reply::Nil;
    }
    let db = ctx.db_id();
    let Some(Value::ZSet(z)) = ctx.srv.dbs[db].get(argv[1]) else {
        return Reply::Nil;
    };
    let i = ctx.srv.rng.usize(..z.len());
    Reply::bulk_opt(z.pick(i).map(|(m, _)| m.to_vec()))
}

/// `zrandmemberWithCountCommand`. A negative count may repeat members; a positive one never does.
/// A count covering the whole set returns it from the highest to the lowest member, as Redis's
/// iterator walks from the tail.
fn zrandmember_count(ctx: &mut Ctx, key: &[u8], l: i64, withscores: bool) -> Reply {
    if tri!(read(ctx, key)).is_none() {
        return Reply::Array(Vec::new());
    }
    let db = ctx.db_id();
    let resp3 = ctx.resp3();
    let srv = &mut *ctx.srv;
    let Some(Value::ZSet(z)) = srv.dbs[db].get(key) else {
        return Reply::Array(Vec::new());
    };
    let rng = &mut srv.rng;
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let size = z.len();
    let mut out = Vec::new();
    if count == 0 {
        return Reply::Array(out);
    }
    if !uniq || count == 1 {
        // Redis would stream such a reply until memory runs out: the lab refuses it, as it does
        // for SRANDMEMBER / HRANDFIELD, and says so.
        if count > crate::cmd::set::MAX_RANDOM_REPLY {
            return crate::cmd::set::random_reply_too_large();
        }
        for _ in 0..count {
            if let Some((m, s)) = z.pick(rng.usize(..size)) {
                push_member(&mut out, m, s, withscores, resp3);
            }
        }
        return Reply::Array(out);
    }
    if count >= size as u64 {
        for (m, s) in z.iter().rev() {
            push_member(&mut out, m, s, withscores, resp3);
        }
        return Reply::Array(out);
    }
    // A random subset of `count` distinct positions, in set order for a listpack (as
    // lpRandomPairsUnique) and in pick order otherwise. Few picks from a big set draw until
    // distinct (Redis's "case 4"); many picks shuffle a list of every position.
    let count = count as usize;
    let idx: Vec<usize> = if count * 3 <= size {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut picks = Vec::with_capacity(count);
        while picks.len() < count {
            let i = rng.usize(..size);
            if seen.insert(i) {
                picks.push(i);
            }
        }
        picks
    } else {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = rng.usize(i..size);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    };
    let mut chosen: Vec<(&[u8], f64)> = idx.iter().filter_map(|&i| z.pick(i)).collect();
    if !z.is_skiplist() {
        chosen.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    }
    for (m, s) in chosen {
        push_member(&mut out, m, s, withscores, resp3);
    }
    Reply::Array(out)
}

/// `parseScanCursorOrReply`: `strtoul` on the C string, refusing a leading space and overflow.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = arg.split(|&c| c == 0).next().unwrap_or(&[]);
    if s.first().is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
        return None;
    }
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        // No conversion: valid only for the empty string (eptr at its end).
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The text a listpack holds for a score: integral values in ±2^62 as integers (`double2ll`),
/// the rest with `%.17g`. ZSCAN of a small zset shows it, so `1e17` scans as
/// `100000000000000000` while ZSCORE prints `1e+17`.
fn listpack_score_text(score: f64) -> String {
    crate::util::double2ll(score).map_or_else(|| fmt_g17(score), |i| i.to_string())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]. A listpack zset is returned whole with cursor
/// 0; a skiplist is walked by position from the end, like the keyspace SCAN (see `Db::scan`).
pub fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(cursor) = parse_cursor(argv[2]) else {
        return Reply::err("ERR invalid cursor");
    };
    let Some(z) = tri!(read(ctx, argv[1])) else {
        return Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - i;
        if args::is(argv[i], "count") && more >= 2 {
            count = tri!(args::int(argv[i + 1]));
            if count < 1 {
                return Reply::syntax();
            }
            i += 2;
        } else if args::is(argv[i], "match") && more >= 2 {
            pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
            i += 2;
        } else {
            return Reply::syntax();
        }
    }
    let keep = |m: &[u8]| pattern.is_none_or(|p| string_match(p, m, false));
    let mut items = Vec::new();
    let next = if !z.is_skiplist() {
        for (m, s) in z.iter().filter(|(m, _)| keep(m)) {
            items.push(Reply::bulk(m));
            items.push(Reply::bulk(listpack_score_text(s)));
        }
        0
    } else {
        let len = z.len() as u64;
        let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
        let mut seen = 0;
        while pos > 0 && seen < count {
            pos -= 1;
            seen += 1;
            if let Some((m, s)) = z.pick(pos as usize)
                && keep(m)
            {
                items.push(Reply::bulk(m));
                items.push(Reply::double(s));
            }
        }
        pos
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(items)])
}
