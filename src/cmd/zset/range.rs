//! Ranges: `zrangeGenericCommand` behind ZRANGE, ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
//! ZRANGEBYLEX, ZREVRANGEBYLEX and ZREVRANGE; then ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* family.
//!
//! A range is by rank (the default, negative indexes count from the end), by score or by lex.
//! With REV the bounds swap places (`ZRANGE z 5 1 BYSCORE REV`). LIMIT offset count only works
//! with BYSCORE/BYLEX; a negative offset gives nothing and a negative count means "all".

use super::spec::{LexRange, ScoreRange};
use super::{push_member, read, tri, write};
use crate::cmd::args;
use crate::keyspace::{Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

pub fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Auto, Direction::Auto)
}

pub fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 2, Some(argv[1]), RangeType::Auto, Direction::Auto)
}

pub fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Rank, Direction::Reverse)
}

pub fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Direction::Forward)
}

pub fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Score, Direction::Reverse)
}

pub fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Direction::Forward)
}

pub fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zrange_generic(ctx, argv, 1, None, RangeType::Lex, Direction::Reverse)
}

/// A parsed range, ready to run against a zset.
enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// `zrangeGenericCommand`. `start` is the index of the source key; `dst` is set for ZRANGESTORE.
fn zrange_generic(ctx: &mut Ctx, argv: &[&[u8]], start: usize, dst: Option<&[u8]>, mut rangetype: RangeType, mut dir: Direction) -> Reply {
    let key = argv[start];
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit): (i64, i64) = (0, -1);
    let mut j = start + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if dst.is_none() && args::is(a, "withscores") {
            withscores = true;
        } else if args::is(a, "limit") && left >= 2 {
            offset = tri!(args::int(argv[j + 1]));
            limit = tri!(args::int(argv[j + 2]));
            j += 2;
        } else if dir == Direction::Auto && args::is(a, "rev") {
            dir = Direction::Reverse;
        } else if rangetype == RangeType::Auto && args::is(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && args::is(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    let reverse = dir == Direction::Reverse;
    if limit != -1 && rangetype == RangeType::Rank {
        return Reply::err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && rangetype == RangeType::Lex {
        return Reply::err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    if reverse && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let spec = match rangetype {
        RangeType::Score => match ScoreRange::parse(argv[minidx], argv[maxidx]) {
            Some(r) => Spec::Score(r),
            None => return Reply::err("ERR min or max is not a float"),
        },
        RangeType::Lex => match LexRange::parse(argv[minidx], argv[maxidx]) {
            Some(r) => Spec::Lex(r),
            None => return Reply::err("ERR min or max not valid string range item"),
        },
        _ => Spec::Rank(tri!(args::int(argv[minidx])), tri!(args::int(argv[maxidx]))),
    };

    let limits = super::listpack_limits(ctx);
    let resp3 = ctx.resp3();
    let Some(z) = tri!(read(ctx, key)) else {
        return match dst {
            Some(dst) => store_result(ctx, dst, None),
            None => Reply::Array(Vec::new()),
        };
    };
    let items = collect_range(z, &spec, reverse, offset, limit);
    match dst {
        None => {
            let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
            for (m, s) in items {
                push_member(&mut out, m, s, withscores, resp3);
            }
            Reply::Array(out)
        }
        Some(dst) => {
            // zrangeResultBeginStore: a rank range longer than the listpack limit starts as a
            // skiplist; anything else starts as a listpack and converts while filling.
            let mut result = match spec {
                Spec::Rank(..) if items.len() > limits.0 => ZSet::new_skiplist(),
                _ => ZSet::default(),
            };
            for (m, s) in items {
                result.insert_limited(m.to_vec(), s, limits);
            }
            let result = (!result.is_empty()).then_some(result);
            store_result(ctx, dst, result)
        }
    }
}

/// The members a range selects, in reply order.
fn collect_range<'a>(z: &'a ZSet, spec: &Spec, reverse: bool, offset: i64, limit: i64) -> Vec<(&'a [u8], f64)> {
    // `while (ln && offset--)` walks off the end for a negative offset; `limit--` never reaches
    // 0 for a negative limit. A rank range has no offset at all: `LIMIT <any> -1` passes the
    // syntax check and is ignored (genericZrangebyrankCommand never sees it).
    if offset < 0 && !matches!(spec, Spec::Rank(..)) {
        return Vec::new();
    }
    let offset = args::count(offset.max(0));
    let limit = if limit < 0 { usize::MAX } else { args::count(limit) };
    match spec {
        Spec::Rank(start, end) => match rank_bounds(z.len(), *start, *end) {
            None => Vec::new(),
            Some((s, e)) if reverse => z.iter_rev_to(z.len() - s).take(e - s + 1).collect(),
            Some((s, e)) => z.iter_from(s).take(e - s + 1).collect(),
        },
        Spec::Score(r) if reverse => r.reverse(z).skip(offset).take_while(|(_, s)| r.gte_min(*s)).take(limit).collect(),
        Spec::Score(r) => r.forward(z).skip(offset).take_while(|(_, s)| r.lte_max(*s)).take(limit).collect(),
        Spec::Lex(r) if reverse => r.reverse(z).skip(offset).take_while(|(m, _)| r.gte_min(m)).take(limit).collect(),
        Spec::Lex(r) => r.forward(z).skip(offset).take_while(|(m, _)| r.lte_max(m)).take(limit).collect(),
    }
}

/// Rank range normalisation shared by ZRANGE and ZREMRANGEBYRANK: negative indexes count from
/// the end; `None` when the range is empty.
fn rank_bounds(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen.saturating_add(start) } else { start };
    let mut end = if end < 0 { llen.saturating_add(end) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// The end of every *STORE (`zrangeResultFinalizeStore`, and the same steps in ZUNIONSTORE & co.):
/// a non-empty result replaces the destination (clearing its TTL); an empty one deletes it.
pub(super) fn store_result(ctx: &mut Ctx, dst: &[u8], result: Option<ZSet>) -> Reply {
    match result {
        Some(z) => {
            let n = z.len() as i64;
            // setKey looks the destination up for writing, which may expire it first.
            ctx.lookup_write(dst);
            ctx.set_key(dst, Value::ZSet(z), false);
            ctx.dirty(1);
            Reply::Int(n)
        }
        None => {
            if ctx.delete_key(dst) {
                ctx.dirty(1);
            }
            Reply::Int(0)
        }
    }
}

pub fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(r) = ScoreRange::parse(argv[2], argv[3]) else {
        return Reply::err("ERR min or max is not a float");
    };
    let Some(z) = tri!(read(ctx, argv[1])) else {
        return Reply::Int(0);
    };
    Reply::Int(r.count(z) as i64)
}

pub fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(r) = LexRange::parse(argv[2], argv[3]) else {
        return Reply::err("ERR min or max not valid string range item");
    };
    let Some(z) = tri!(read(ctx, argv[1])) else {
        return Reply::Int(0);
    };
    Reply::Int(r.count(z) as i64)
}

pub fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let start = tri!(args::int(argv[2]));
    let end = tri!(args::int(argv[3]));
    zremrange_generic(ctx, argv[1], Spec::Rank(start, end))
}

pub fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match ScoreRange::parse(argv[2], argv[3]) {
        Some(r) => zremrange_generic(ctx, argv[1], Spec::Score(r)),
        None => Reply::err("ERR min or max is not a float"),
    }
}

pub fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match LexRange::parse(argv[2], argv[3]) {
        Some(r) => zremrange_generic(ctx, argv[1], Spec::Lex(r)),
        None => Reply::err("ERR min or max not valid string range item"),
    }
}

/// `zremrangeGenericCommand`.
fn zremrange_generic(ctx: &mut Ctx, key: &[u8], spec: Spec) -> Reply {
    let Some(z) = tri!(write(ctx, key)) else {
        return Reply::Int(0);
    };
    let doomed: Vec<Vec<u8>> = match &spec {
        Spec::Rank(start, end) => match rank_bounds(z.len(), *start, *end) {
            None => return Reply::Int(0),
            Some((s, e)) => z.iter_from(s).take(e - s + 1).map(|(m, _)| m.to_vec()).collect(),
        },
        Spec::Score(r) => r.members(z).map(|(m, _)| m.to_vec()).collect(),
        Spec::Lex(r) => r.members(z).map(|(m, _)| m.to_vec()).collect(),
    };
    for m in &doomed {
        z.remove(m);
    }
    let emptied = z.is_empty();
    if emptied {
        ctx.delete_key(key);
    }
    let deleted = doomed.len() as u64;
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.dirty(deleted);
    }
    Reply::Int(deleted as i64)
}
