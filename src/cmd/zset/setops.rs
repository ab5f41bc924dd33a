//! `zunionInterDiffGenericCommand`: ZUNION, ZINTER, ZDIFF, their *STORE forms and ZINTERCARD.
//!
//! Inputs may be sorted sets or plain sets (every set member scores 1). Each input's scores are
//! multiplied by its WEIGHTS entry; a member found in several inputs gets the SUM (default), MIN
//! or MAX of its weighted scores. A NaN from `0 * inf` or `inf + -inf` becomes 0. Inputs are taken
//! in order of cardinality, smallest first (as Redis sorts them), which fixes the order in which
//! floating-point sums are made.

use super::range::store_result;
use super::tri;
use crate::cmd::args;
use crate::keyspace::{HashMap, SetValue, Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

pub fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, Some(argv[1]), 2, Op::Union, false)
}

pub fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, Some(argv[1]), 2, Op::Inter, false)
}

pub fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, Some(argv[1]), 2, Op::Diff, false)
}

pub fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, None, 1, Op::Union, false)
}

pub fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, None, 1, Op::Inter, false)
}

pub fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, None, 1, Op::Inter, true)
}

pub fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    generic(ctx, argv, None, 1, Op::Diff, false)
}

/// One input (`zsetopsrc`).
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Set(&'a SetValue),
    ZSet(&'a ZSet),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Set(s) => s.len(),
            Src::ZSet(z) => z.len(),
        }
    }
    /// `zuiFind`: the member's score in this input.
    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Set(s) => s.contains(m).then_some(1.0),
            Src::ZSet(z) => z.score(m),
        }
    }
    /// Every (member, score) of the input.
    fn each(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            Src::Missing => Box::new(std::iter::empty()),
            Src::Set(s) => Box::new(s.iter().map(|m| (m.as_slice(), 1.0))),
            Src::ZSet(z) => Box::new(z.iter().rev()),
        }
    }
}

/// `zunionInterAggregate`.
fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => *target = if val < *target { val } else { *target },
        Aggregate::Max => *target = if val > *target { val } else { *target },
    }
}

fn generic(ctx: &mut Ctx, argv: &[&[u8]], dst: Option<&[u8]>, numkeys_idx: usize, op: Op, card_only: bool) -> Reply {
    let setnum = tri!(args::int(argv[numkeys_idx]));
    if setnum < 1 {
        return Reply::error(format!("ERR at least 1 input key is needed for '{}' command", ctx.cmd.name));
    }
    let first = numkeys_idx + 1;
    if setnum as u64 > (argv.len() - first) as u64 {
        return Reply::syntax();
    }
    let setnum = setnum as usize;
    let keys = &argv[first..first + setnum];
    for &k in keys {
        match ctx.lookup_read(k) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Reply::wrongtype(),
        }
    }

    let mut weights = vec![1.0f64; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = first + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = argv[j];
        if op != Op::Diff && !card_only && remaining > setnum && args::is(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = match crate::util::string2d(argv[j]) {
                    Some(v) => v,
                    None => return Reply::err("ERR weight value is not a float"),
                };
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && args::is(a, "aggregate") {
            let v = argv[j + 1];
            how = if args::is(v, "sum") {
                Aggregate::Sum
            } else if args::is(v, "min") {
                Aggregate::Min
            } else if args::is(v, "max") {
                Aggregate::Max
            } else {
                return Reply::syntax();
            };
            j += 2;
        } else if dst.is_none() && !card_only && args::is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && args::is(a, "limit") {
            limit = tri!(args::positive(argv[j + 1], "ERR LIMIT can't be negative"));
            j += 2;
        } else {
            return Reply::syntax();
        }
    }

    let db = ctx.db_id();
    let dbref = &ctx.srv.dbs[db];
    let mut srcs: Vec<(Src, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(k, &w)| {
            let src = match dbref.get(k) {
                Some(Value::ZSet(z)) => Src::ZSet(z),
                Some(Value::Set(s)) => Src::Set(s),
                _ => Src::Missing,
            };
            (src, w)
        })
        .collect();
    if op != Op::Diff {
        // A stable sort, smallest input first, like glibc's qsort (a merge sort).
        srcs.sort_by_key(|(s, _)| s.len());
    }

    if card_only {
        let n = inter_card(&srcs, args::count(limit));
        return Reply::Int(n as i64);
    }
    let mut result = ZSet::new_skiplist();
    match op {
        Op::Inter => {
            if let Some(&(first_src, w0)) = srcs.first() {
                'members: for (m, s) in first_src.each() {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &(src, w) in &srcs[1..] {
                        match src.find(m) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => continue 'members,
                        }
                    }
                    result.insert(m.to_vec(), score);
                }
            }
        }
        Op::Union => {
            let mut acc: HashMap<&[u8], f64> = HashMap::default();
            let mut order: Vec<&[u8]> = Vec::new();
            for &(src, w) in &srcs {
                for (m, s) in src.each() {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m, score);
                            order.push(m);
                        }
                    }
                }
            }
            for m in order {
                if let Some(&s) = acc.get(m) {
                    result.insert(m.to_vec(), s);
                }
            }
        }
        Op::Diff => {
            if let Some(&(first_src, _)) = srcs.first() {
                for (m, s) in first_src.each() {
                    if srcs[1..].iter().all(|(src, _)| src.find(m).is_none()) {
                        result.insert(m.to_vec(), s);
                    }
                }
            }
        }
    }

    match dst {
        Some(dst) => {
            if result.is_empty() {
                store_result(ctx, dst, None)
            } else {
                result.convert_to_listpack_if_needed_limited(super::listpack_limits(ctx));
                store_result(ctx, dst, Some(result))
            }
        }
        None => {
            let resp3 = ctx.resp3();
            let mut out = Vec::with_capacity(result.len() * if withscores { 2 } else { 1 });
            for (m, s) in result.iter() {
                super::push_member(&mut out, m, s, withscores, resp3);
            }
            Reply::Array(out)
        }
    }
}

/// ZINTERCARD: how many members of the smallest input are in all the others (stopping at
/// `limit` when it is not 0).
fn inter_card(srcs: &[(Src, f64)], limit: usize) -> usize {
    let Some(&(first, _)) = srcs.first() else {
        return 0;
    };
    let mut n = 0;
    for (m, _) in first.each() {
        if srcs[1..].iter().all(|(src, _)| src.find(m).is_some()) {
            n += 1;
            if limit != 0 && n >= limit {
                break;
            }
        }
    }
    n
}
