//! Sets: a key holding unordered, unique members (`t_set.c`).
//!
//! Redis 7.0 keeps a set of at most `set-max-intset-entries` (512) canonical integers in an
//! *intset*, a sorted array, so it replies in numeric order; anything else is a hash table, for
//! good. [`SetValue`] models exactly that flag; the members live in an insertion-ordered set whose
//! order stands in for Redis's hash-table order.
//!
//! Propagation: SADD, SREM, SMOVE and the *STORE commands go to the AOF verbatim. SPOP is random,
//! so it is replaced by what it did: `SREM key member` for each popped member (several ops are
//! wrapped in MULTI/EXEC by the dispatcher), or `DEL key` when it popped the whole set.
//!
//! This file also holds the helpers HSCAN/SSCAN share (cursor, MATCH, COUNT) and the count
//! parsing that HRANDFIELD/SRANDMEMBER share.

use super::{Command, DENYOOM, FAST, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::keyspace::{MapKey, SetValue, Value};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string_match;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "1.0.0",
        summary: "Add one or more members to a set",
        ..Command::new("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::Set, sadd)
    },
    Command {
        since: "1.0.0",
        summary: "Remove one or more members from a set",
        ..Command::new("srem", -3, WRITE | FAST, (1, 1, 1), Group::Set, srem)
    },
    Command {
        since: "1.0.0",
        summary: "Get all the members in a set",
        ..Command::new("smembers", 2, READONLY, (1, 1, 1), Group::Set, smembers)
    },
    Command {
        since: "1.0.0",
        summary: "Determine if a given value is a member of a set",
        ..Command::new("sismember", 3, READONLY | FAST, (1, 1, 1), Group::Set, sismember)
    },
    Command {
        since: "6.2.0",
        summary: "Returns the membership associated with the given elements for a set",
        ..Command::new("smismember", -3, READONLY | FAST, (1, 1, 1), Group::Set, smismember)
    },
    Command {
        since: "1.0.0",
        summary: "Get the number of members in a set",
        ..Command::new("scard", 2, READONLY | FAST, (1, 1, 1), Group::Set, scard)
    },
    Command {
        since: "1.0.0",
        summary: "Remove and return one or multiple random members from a set",
        ..Command::new("spop", -2, WRITE | FAST, (1, 1, 1), Group::Set, spop)
    },
    Command {
        since: "1.0.0",
        summary: "Get one or multiple random members from a set",
        ..Command::new("srandmember", -2, READONLY, (1, 1, 1), Group::Set, srandmember)
    },
    Command {
        since: "1.0.0",
        summary: "Move a member from one set to another",
        ..Command::new("smove", 4, WRITE | FAST, (1, 2, 1), Group::Set, smove)
    },
    Command { since: "1.0.0", summary: "Intersect multiple sets", ..Command::new("sinter", -2, READONLY, (1, -1, 1), Group::Set, sinter) },
    Command { since: "1.0.0", summary: "Add multiple sets", ..Command::new("sunion", -2, READONLY, (1, -1, 1), Group::Set, sunion) },
    Command { since: "1.0.0", summary: "Subtract multiple sets", ..Command::new("sdiff", -2, READONLY, (1, -1, 1), Group::Set, sdiff) },
    Command {
        since: "1.0.0",
        summary: "Intersect multiple sets and store the resulting set in a key",
        ..Command::new("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), Group::Set, sinterstore)
    },
    Command {
        since: "1.0.0",
        summary: "Add multiple sets and store the resulting set in a key",
        ..Command::new("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), Group::Set, sunionstore)
    },
    Command {
        since: "1.0.0",
        summary: "Subtract multiple sets and store the resulting set in a key",
        ..Command::new("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), Group::Set, sdiffstore)
    },
    Command {
        since: "7.0.0",
        summary: "Intersect multiple sets and return the cardinality of the result",
        // Keys are movable (numkeys): the legacy range is empty, as in Redis.
        ..Command::new("sintercard", -3, READONLY, (0, 0, 0), Group::Set, sintercard)
    },
    Command {
        since: "2.8.0",
        summary: "Incrementally iterate Set elements",
        ..Command::new("sscan", -3, READONLY, (1, 1, 1), Group::Set, sscan)
    },
];

/// `lookupKeyRead` + `checkType(OBJ_SET)`.
fn read_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a SetValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `lookupKeyWrite` + `checkType(OBJ_SET)`.
fn write_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut SetValue>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// The set at `key` in the current db, without expiry checks (the caller looked it up first).
fn raw_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut SetValue> {
    match ctx.db().get_mut(key) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// An array of members (SRANDMEMBER with a count).
fn members_reply<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Reply {
    Reply::Array(members.into_iter().map(Reply::bulk).collect())
}

/// A set of members (`addReplySetLen`: SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count).
fn set_reply<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::bulk).collect())
}

fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    match write_set(ctx, key) {
        Ok(Some(_)) => {}
        Ok(None) => ctx.db_add(key, Value::Set(SetValue::default())),
        Err(e) => return e,
    }
    let max = ctx.srv.config.set_max_intset_entries;
    let Some(s) = raw_set(ctx, key) else {
        return Reply::wrongtype();
    };
    let added = argv[2..].iter().filter(|m| s.insert_limited(**m, max)).count() as u64;
    if added > 0 {
        ctx.signal_modified(key);
    }
    ctx.dirty(added);
    Reply::Int(added as i64)
}

fn srem(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let s = match write_set(ctx, key) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let mut deleted = 0u64;
    let mut emptied = false;
    for m in &argv[2..] {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    ctx.removed_members(key, deleted, emptied)
}

/// What a key holds, as far as a set command cares.
#[derive(PartialEq)]
enum Kind {
    Missing,
    Set,
    Other,
}

fn kind(v: Option<&mut Value>) -> Kind {
    match v {
        None => Kind::Missing,
        Some(Value::Set(_)) => Kind::Set,
        Some(_) => Kind::Other,
    }
}

fn smove(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    // Both keys are looked up (and lazily expired) before anything is checked.
    let src_kind = kind(ctx.lookup_write(src));
    let dst_kind = kind(ctx.lookup_write(dst));
    if src_kind == Kind::Missing {
        return Reply::Int(0);
    }
    if src_kind == Kind::Other || dst_kind == Kind::Other {
        return Reply::wrongtype();
    }
    if src == dst {
        return Reply::Int(i64::from(raw_set(ctx, src).is_some_and(|s| s.contains(member))));
    }
    let Some(s) = raw_set(ctx, src) else {
        return Reply::Int(0);
    };
    if !s.remove(member) {
        return Reply::Int(0);
    }
    if s.is_empty() {
        ctx.delete_key(src);
    }
    if dst_kind == Kind::Missing {
        ctx.db_add(dst.to_vec(), Value::Set(SetValue::default()));
    }
    ctx.signal_modified(src);
    ctx.dirty(1);
    // The destination counts as modified (WATCH) only when the member was new there.
    let max = ctx.srv.config.set_max_intset_entries;
    if raw_set(ctx, dst).is_some_and(|d| d.insert_limited(member.to_vec(), max)) {
        ctx.dirty(1);
        ctx.signal_modified(dst);
    }
    Reply::Int(1)
}

fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_set(ctx, argv[1]) {
        Ok(s) => Reply::Int(i64::from(s.is_some_and(|s| s.contains(argv[2])))),
        Err(e) => e,
    }
}

fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_set(ctx, argv[1]) {
        Ok(s) => Reply::Array(argv[2..].iter().map(|m| Reply::Int(i64::from(s.is_some_and(|s| s.contains(m))))).collect()),
        Err(e) => e,
    }
}

fn scard(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_set(ctx, argv[1]) {
        Ok(s) => Reply::Int(s.map_or(0, |s| s.len() as i64)),
        Err(e) => e,
    }
}

fn spop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match argv.len() {
        2 => {}
        3 => return spop_with_count(ctx, argv),
        _ => return Reply::syntax(),
    }
    let key = argv[1];
    let len = match write_set(ctx, key) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    let i = ctx.srv.rng.usize(0..len.max(1));
    let Some(s) = raw_set(ctx, key) else {
        return Reply::Nil;
    };
    let Some(member) = s.get_index(i).map(|m| m.to_vec()) else {
        return Reply::Nil;
    };
    s.remove(&member);
    let emptied = s.is_empty();
    // Replicated as the SREM it amounts to: a replica must pop the same member.
    ctx.rewrite_argv(&[b"SREM", key, &member]);
    if emptied {
        ctx.delete_key(key);
    }
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Bulk(member)
}

/// `SPOP key count`: how many are left decides the strategy, as in Redis (which shows in the
/// reply order and in the encoding of what remains).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_with_count(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let count = match args::positive(argv[2], "ERR value is out of range, must be positive") {
        Ok(n) => n as u64,
        Err(e) => return e,
    };
    let size = match write_set(ctx, key) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return Reply::Set(Vec::new()),
        Err(e) => return e,
    };
    if count == 0 {
        return Reply::Set(Vec::new());
    }
    if count >= size as u64 {
        // CASE 1: the whole set, deleted and replicated as DEL. (Redis adds `count` to dirty;
        // the size is added here so that a huge count cannot overflow the counter.)
        let reply = match raw_set(ctx, key) {
            Some(s) => set_reply(s.ordered()),
            None => Reply::Set(Vec::new()),
        };
        ctx.delete_key(key);
        ctx.rewrite_argv(&[b"DEL", key]);
        ctx.signal_modified(key);
        ctx.dirty(size as u64 + 1);
        return reply;
    }
    let count = count as usize;
    let remaining = size - count;
    ctx.dirty(count as u64);
    let mut popped: Vec<Vec<u8>> = Vec::with_capacity(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: pop random members one by one.
        for _ in 0..count {
            let Some(len) = raw_set(ctx, key).map(|s| s.len()) else { break };
            let i = ctx.srv.rng.usize(0..len.max(1));
            let Some(s) = raw_set(ctx, key) else { break };
            if let Some(m) = s.get_index(i).map(|m| m.to_vec()) {
                s.remove(&m);
                popped.push(m);
            }
        }
    } else {
        // CASE 3: pick the few members that stay into a new set; the old set's members are the
        // reply, in its own order (numeric for an intset). The new set gets its own encoding.
        let keep = random_distinct_positions(&mut ctx.srv.rng, size, remaining);
        let Some(s) = raw_set(ctx, key) else {
            return Reply::Set(Vec::new());
        };
        let mut kept = SetValue::default();
        for &i in &keep {
            if let Some(m) = s.get_index(i) {
                kept.insert(m.clone());
            }
        }
        popped = s.ordered().into_iter().filter(|m| !kept.contains(m)).map(<[u8]>::to_vec).collect();
        *s = kept;
    }
    // Replicated as one SREM per member; the dispatcher wraps them in MULTI/EXEC.
    ctx.prevent_propagation();
    for m in &popped {
        ctx.propagate(&[b"SREM", key, m]);
    }
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Set(popped.into_iter().map(Reply::Bulk).collect())
}

/// The largest negative count HRANDFIELD / SRANDMEMBER serve. Redis has no limit (a huge count
/// fills memory with the reply); the lab refuses instead of freezing the tab.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 20;

pub(crate) fn random_reply_too_large() -> Reply {
    Reply::error(format!("ERR count is too large for AOF Lab (at most {MAX_RANDOM_REPLY} repeated random elements)"))
}

/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`: the count of HRANDFIELD / SRANDMEMBER.
pub(crate) fn parse_random_count(a: &[u8]) -> Result<i64, Reply> {
    let n = args::int(a)?;
    if n == i64::MIN {
        return Err(Reply::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    Ok(n)
}

/// `count` distinct random positions out of `0..len` (count <= len), in random order.
pub(crate) fn random_distinct_positions(rng: &mut crate::server::Rng, len: usize, count: usize) -> Vec<usize> {
    // A partial Fisher-Yates shuffle.
    let mut pos: Vec<usize> = (0..len).collect();
    for i in 0..count.min(len) {
        let j = rng.usize(i..len);
        pos.swap(i, j);
    }
    pos.truncate(count);
    pos
}

fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match argv.len() {
        2 => {}
        3 => return srandmember_with_count(ctx, argv),
        _ => return Reply::syntax(),
    }
    let len = match read_set(ctx, argv[1]) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    let i = ctx.srv.rng.usize(0..len.max(1));
    Reply::bulk_opt(raw_set(ctx, argv[1]).and_then(|s| s.get_index(i).cloned()))
}

fn srandmember_with_count(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let l = match parse_random_count(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let size = match read_set(ctx, key) {
        Ok(Some(s)) => s.len(),
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let count = l.unsigned_abs();
    if count == 0 {
        return Reply::Array(Vec::new());
    }
    let positions: Vec<usize> = if l < 0 {
        // CASE 1: repetitions allowed.
        if count > MAX_RANDOM_REPLY {
            return random_reply_too_large();
        }
        (0..count).map(|_| ctx.srv.rng.usize(0..size.max(1))).collect()
    } else if count >= size as u64 {
        // CASE 2: the whole set (Redis unions it with nothing: same order).
        let Some(s) = raw_set(ctx, key) else {
            return Reply::Array(Vec::new());
        };
        return members_reply(s.ordered());
    } else {
        // CASE 3/4: distinct members, in the order of a temporary dict (random).
        random_distinct_positions(&mut ctx.srv.rng, size, count as usize)
    };
    let Some(s) = raw_set(ctx, key) else {
        return Reply::Array(Vec::new());
    };
    members_reply(positions.into_iter().filter_map(|i| s.get_index(i).map(MapKey::as_bytes)))
}

/// Looks up every source key (`lookupKeyRead`: lazy expiry, hit/miss stats) and checks its type.
/// Ok(number of missing keys).
fn lookup_sources(ctx: &mut Ctx, keys: &[&[u8]]) -> Result<usize, Reply> {
    let mut missing = 0;
    for key in keys {
        match read_set(ctx, key)? {
            Some(_) => {}
            None => missing += 1,
        }
    }
    Ok(missing)
}

/// The sets at `keys` (already looked up), `None` for a missing key.
fn sources<'a>(ctx: &'a Ctx, keys: &[&[u8]]) -> Vec<Option<&'a SetValue>> {
    let db = &ctx.srv.dbs[ctx.client.db];
    keys.iter()
        .map(|k| match db.get(k) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect()
}

/// The end of every *STORE command: a non-empty result replaces `dst` whatever it held (and
/// drops its TTL, `setKey`); an empty one deletes it. Dirty (so propagated verbatim) unless
/// nothing existed and nothing was stored.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: SetValue) -> Reply {
    if result.is_empty() {
        if ctx.delete_key(dst) {
            ctx.dirty(1);
        }
        return Reply::Int(0);
    }
    let n = result.len() as i64;
    // `setKey` looks the destination up for writing first: an expired one is deleted (and that
    // DEL propagated) before the new value goes in.
    ctx.lookup_write(dst);
    ctx.set_key(dst, Value::Set(result), false);
    ctx.dirty(1);
    Reply::Int(n)
}

/// `sinterGenericCommand`: SINTER, SMEMBERS, SINTERSTORE (`dst`), SINTERCARD (`card_only`,
/// `limit`, 0 = none).
fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, card_only: bool, limit: u64) -> Reply {
    let missing = match lookup_sources(ctx, keys) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if missing > 0 {
        // The intersection with an empty set is empty.
        return match dst {
            Some(dst) => store_result(ctx, dst, SetValue::default()),
            None if card_only => Reply::Int(0),
            None => Reply::Set(Vec::new()),
        };
    }
    let mut sets: Vec<&SetValue> = sources(ctx, keys).into_iter().flatten().collect();
    // Smallest first: it is the one iterated.
    sets.sort_by_key(|s| s.len());
    let Some((&first, others)) = sets.split_first() else {
        return Reply::Set(Vec::new());
    };
    let mut result: Vec<&[u8]> = Vec::new();
    let mut cardinality = 0u64;
    for m in first.ordered() {
        if others.iter().all(|o| std::ptr::eq(*o, first) || o.contains(m)) {
            if card_only {
                cardinality += 1;
                if limit != 0 && cardinality >= limit {
                    break;
                }
            } else {
                result.push(m);
            }
        }
    }
    if card_only {
        return Reply::Int(cardinality as i64);
    }
    match dst {
        None => set_reply(result),
        Some(dst) => {
            let max = ctx.srv.config.set_max_intset_entries;
            let mut out = SetValue::default();
            for m in result {
                out.insert_limited(m, max);
            }
            store_result(ctx, dst, out)
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// `sunionDiffGenericCommand`: SUNION, SDIFF and their STORE forms. Missing keys are empty sets.
fn sunion_diff_generic(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, op: SetOp) -> Reply {
    if let Err(e) = lookup_sources(ctx, keys) {
        return e;
    }
    let sets = sources(ctx, keys);
    // The result starts as an intset, like `createIntsetObject()`, and converts as members come.
    let max = ctx.srv.config.set_max_intset_entries;
    let mut out = SetValue::default();
    match op {
        SetOp::Union => {
            for s in sets.iter().flatten() {
                for m in s.ordered() {
                    out.insert_limited(m, max);
                }
            }
        }
        SetOp::Diff => {
            if let Some(first) = sets.first().copied().flatten() {
                // Redis picks between two algorithms by estimated work; the choice shows in the
                // encoding of the result (algorithm 2 adds members that it removes later).
                let others = sets.iter().flatten().skip(1);
                let algo_one_work = sets.iter().flatten().count() * first.len() / 2;
                let algo_two_work: usize = sets.iter().flatten().map(|s| s.len()).sum();
                if algo_one_work <= algo_two_work {
                    for m in first.ordered() {
                        let excluded = others.clone().any(|o| std::ptr::eq(*o, first) || o.contains(m));
                        if !excluded {
                            out.insert_limited(m, max);
                        }
                    }
                } else {
                    for m in first.ordered() {
                        out.insert_limited(m, max);
                    }
                    for s in sets.iter().skip(1).flatten() {
                        if out.is_empty() {
                            break;
                        }
                        for m in s.ordered() {
                            out.remove(m);
                        }
                    }
                }
            }
        }
    }
    match dst {
        None => set_reply(out.ordered()),
        Some(dst) => store_result(ctx, dst, out),
    }
}

fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sinter_generic(ctx, &argv[1..2], None, false, 0)
}

fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sinter_generic(ctx, &argv[1..], None, false, 0)
}

fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sinter_generic(ctx, &argv[2..], Some(argv[1]), false, 0)
}

fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Union)
}

fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Union)
}

fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Diff)
}

fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    let numkeys = match args::int(argv[1]) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Reply::err(NUMKEYS),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return Reply::err("ERR Number of keys can't be greater than number of args");
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if args::is(argv[j], "limit") && more > 0 {
            j += 1;
            limit = match args::positive(argv[j], "ERR LIMIT can't be negative") {
                Ok(n) => n as u64,
                Err(e) => return e,
            };
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    sinter_generic(ctx, &argv[2..2 + numkeys], None, true, limit)
}

fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let cursor = match parse_scan_cursor(argv[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let s = match read_set(ctx, argv[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return empty_scan(),
        Err(e) => return e,
    };
    let opts = match ScanOptions::parse(&argv[3..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let next = if s.intset {
        // An intset is returned whole, in one call, with cursor 0 (and in numeric order).
        out.extend(s.ordered().into_iter().filter(|m| opts.matches(m)).map(Reply::bulk));
        0
    } else {
        scan_positions(s.len(), cursor, opts.count, 1, |i| {
            if let Some(m) = s.get_index(i).filter(|m| opts.matches(m)) {
                out.push(Reply::bulk(m.clone()));
            }
        })
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)])
}

// ---- SCAN-family helpers shared with HSCAN (`scanGenericCommand`) ----

/// `parseScanCursorOrReply`: C `strtoul(s, &end, 10)` over the whole string. Like it, accepts an
/// empty string (0), a sign (`-1` wraps to 2^64-1) and leading zeros; refuses a leading space,
/// trailing bytes and overflow.
pub(crate) fn parse_scan_cursor(a: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::err("ERR invalid cursor");
    let (neg, digits) = match a.first() {
        None => return Ok(0),
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        Some(_) => (false, a),
    };
    if digits.is_empty() {
        return Err(invalid()); // "+" alone: no conversion, the end pointer stays at the sign
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(invalid());
        }
        v = v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))).ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// `shared.emptyscan`: what scanning a missing key replies.
pub(crate) fn empty_scan() -> Reply {
    Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())])
}

/// The MATCH / COUNT options of HSCAN, SSCAN (TYPE is SCAN's only).
pub(crate) struct ScanOptions<'a> {
    pub count: usize,
    pattern: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    pub(crate) fn parse(opts: &[&'a [u8]]) -> Result<ScanOptions<'a>, Reply> {
        let mut o = ScanOptions { count: 10, pattern: None };
        let mut i = 0;
        while i < opts.len() {
            let has_value = i + 1 < opts.len();
            if args::is(opts[i], "count") && has_value {
                let n = args::int(opts[i + 1])?;
                if n < 1 {
                    return Err(Reply::syntax());
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if args::is(opts[i], "match") && has_value {
                let p = opts[i + 1];
                // "*" matches everything: same as no pattern.
                o.pattern = if p == b"*" { None } else { Some(p) };
            } else {
                return Err(Reply::syntax());
            }
            i += 2;
        }
        Ok(o)
    }

    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| string_match(p, item, false))
    }
}

/// A positional scan over an insertion-ordered collection of `len` items, the way `Db::scan`
/// walks the keyspace: from `cursor` (0 = start) downwards, visiting positions until `count`
/// items were collected (`per_visit` per position: 2 for a hash's field and value). Returns the
/// next cursor, 0 when done. Removals move entries from behind the cursor, insertions append
/// behind it, so an element present for the whole scan is returned at least once.
pub(crate) fn scan_positions(len: usize, cursor: u64, count: usize, per_visit: usize, mut visit: impl FnMut(usize)) -> u64 {
    let len = len as u64;
    let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
    let mut collected = 0usize;
    while pos > 0 && collected < count {
        pos -= 1;
        visit(pos as usize);
        collected = collected.saturating_add(per_visit);
    }
    pos
}
