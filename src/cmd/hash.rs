//! Hashes: a key holding a map of fields to values (`t_hash.c`).
//!
//! Redis 7.0 keeps a small hash (at most `hash-max-listpack-entries` = 512 fields, every field and
//! value at most `hash-max-listpack-value` = 64 bytes) in a *listpack*: a flat array that keeps
//! insertion order and deletes in place. A bigger one becomes a hash table, for good. The order
//! shows through HGETALL, HKEYS, HVALS, HSCAN and HRANDFIELD, so the map here is insertion-ordered
//! and a delete from a listpack-sized hash shifts the following fields down (`shift_remove`), as
//! the listpack does; a hash-table-sized one may use the O(1) `swap_remove` (its order is Redis's
//! hash order anyway, which nobody can rely on).
//!
//! Propagation: every write goes to the AOF verbatim, except HINCRBYFLOAT, which is rewritten to
//! `HSET key field <new value>` so that a replay never depends on float arithmetic.

use super::{Command, DENYOOM, FAST, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::cmd::long_double::LongDouble;
use crate::cmd::set::{
    MAX_RANDOM_REPLY, ScanOptions, empty_scan, parse_random_count, parse_scan_cursor, random_distinct_positions, random_reply_too_large,
    scan_positions,
};
use crate::keyspace::EncodingHint;
use crate::keyspace::Value;
use crate::keyspace::value::{HASH_MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;

const W: u32 = WRITE | DENYOOM | FAST;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.0.0",
        summary: "Set the string value of a hash field",
        ..Command::new("hset", -4, W, (1, 1, 1), Group::Hash, hset)
    },
    Command {
        since: "2.0.0",
        summary: "Set the value of a hash field, only if the field does not exist",
        ..Command::new("hsetnx", 4, W, (1, 1, 1), Group::Hash, hsetnx)
    },
    Command {
        since: "2.0.0",
        summary: "Set multiple hash fields to multiple values",
        ..Command::new("hmset", -4, W, (1, 1, 1), Group::Hash, hset)
    },
    Command {
        since: "2.0.0",
        summary: "Get the value of a hash field",
        ..Command::new("hget", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hget)
    },
    Command {
        since: "2.0.0",
        summary: "Get the values of all the given hash fields",
        ..Command::new("hmget", -3, READONLY | FAST, (1, 1, 1), Group::Hash, hmget)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the fields and values in a hash",
        ..Command::new("hgetall", 2, READONLY, (1, 1, 1), Group::Hash, hgetall)
    },
    Command {
        since: "2.0.0",
        summary: "Delete one or more hash fields",
        ..Command::new("hdel", -3, WRITE | FAST, (1, 1, 1), Group::Hash, hdel)
    },
    Command {
        since: "2.0.0",
        summary: "Get the number of fields in a hash",
        ..Command::new("hlen", 2, READONLY | FAST, (1, 1, 1), Group::Hash, hlen)
    },
    Command {
        since: "2.0.0",
        summary: "Determine if a hash field exists",
        ..Command::new("hexists", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hexists)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the fields in a hash",
        ..Command::new("hkeys", 2, READONLY, (1, 1, 1), Group::Hash, hkeys)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the values in a hash",
        ..Command::new("hvals", 2, READONLY, (1, 1, 1), Group::Hash, hvals)
    },
    Command {
        since: "2.0.0",
        summary: "Increment the integer value of a hash field by the given number",
        ..Command::new("hincrby", 4, W, (1, 1, 1), Group::Hash, hincrby)
    },
    Command {
        since: "2.6.0",
        summary: "Increment the float value of a hash field by the given amount",
        ..Command::new("hincrbyfloat", 4, W, (1, 1, 1), Group::Hash, hincrbyfloat)
    },
    Command {
        since: "3.2.0",
        summary: "Get the length of the value of a hash field",
        ..Command::new("hstrlen", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hstrlen)
    },
    Command {
        since: "6.2.0",
        summary: "Get one or multiple random fields from a hash",
        ..Command::new("hrandfield", -2, READONLY, (1, 1, 1), Group::Hash, hrandfield)
    },
    Command {
        since: "2.8.0",
        summary: "Incrementally iterate hash fields and associated values",
        ..Command::new("hscan", -3, READONLY, (1, 1, 1), Group::Hash, hscan)
    },
];

use crate::keyspace::Hash;

/// Is the hash at `key` a listpack in Redis? Not once converted to a hash table (Redis never
/// converts back: [`EncodingHint::Hashtable`]); otherwise while it fits the default limits (a
/// safety net: every write records a conversion under the configured limits).
fn is_listpack(ctx: &mut Ctx, key: &[u8]) -> bool {
    let db = ctx.db();
    db.encoding_hint(key) != EncodingHint::Hashtable
        && matches!(db.get(key), Some(Value::Hash(h)) if h.len() <= HASH_MAX_LISTPACK_ENTRIES
            && h.iter().all(|(f, v)| f.len() <= MAX_LISTPACK_VALUE && v.len() <= MAX_LISTPACK_VALUE))
}

/// `hashTypeTryConversion` + the length check of `hashTypeSet`: after a write of `args`, a
/// listpack hash with an argument longer than `hash-max-listpack-value` or more fields than
/// `hash-max-listpack-entries` becomes a hash table, for good.
fn note_conversion(ctx: &mut Ctx, key: &[u8], args: &[&[u8]]) {
    let (max_entries, max_value) = (ctx.srv.config.hash_max_listpack_entries, ctx.srv.config.hash_max_listpack_value);
    let db = ctx.db();
    if db.encoding_hint(key) == EncodingHint::Hashtable {
        return;
    }
    let len = match db.get(key) {
        Some(Value::Hash(h)) => h.len(),
        _ => return,
    };
    if len > max_entries || args.iter().any(|a| a.len() > max_value) {
        db.set_encoding_hint(key, EncodingHint::Hashtable);
    }
}

/// `lookupKeyRead` + `checkType(OBJ_HASH)`.
fn read_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Hash>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `lookupKeyWrite` + `checkType(OBJ_HASH)`.
fn write_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Hash>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty if missing. Every caller adds a
/// field right after, so an empty hash never stays in the keyspace.
fn hash_or_create<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Hash, Reply> {
    match ctx.lookup_write(key) {
        None => {}
        Some(Value::Hash(_)) => {}
        Some(_) => return Err(Reply::wrongtype()),
    }
    if !ctx.db().contains(key) {
        ctx.db_add(key, Value::Hash(Hash::default()));
    }
    match ctx.db().get_mut(key) {
        Some(Value::Hash(h)) => Ok(h),
        _ => Err(Reply::wrongtype()), // unreachable: checked or created just above
    }
}

/// HSET key field value [field value ...] / HMSET: the count of new fields (HSET) or OK (HMSET).
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() % 2 == 1 {
        return Reply::wrong_arity(ctx.cmd.name);
    }
    let key = argv[1];
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if h.insert(pair[0], pair[1].to_vec()).is_none() {
            created += 1;
        }
    }
    note_conversion(ctx, key, &argv[2..]);
    ctx.signal_modified(key);
    ctx.dirty(((argv.len() - 2) / 2) as u64);
    if ctx.cmd.name == "hmset" { Reply::ok() } else { Reply::Int(created) }
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    if h.contains_key(argv[2]) {
        return Reply::Int(0);
    }
    h.insert(argv[2], argv[3].to_vec());
    note_conversion(ctx, key, &argv[2..4]);
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(1)
}

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::bulk_opt(h.and_then(|h| h.get(argv[2])).cloned()),
        Err(e) => e,
    }
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Array(argv[2..].iter().map(|f| Reply::bulk_opt(h.and_then(|h| h.get(f)).cloned())).collect()),
        Err(e) => e,
    }
}

/// HGETALL / HKEYS / HVALS share `genericHgetallCommand`: fields and values together are a
/// map (an empty map for a missing key), fields or values alone an array.
fn hgetall_generic(ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) -> Reply {
    let h = match read_hash(ctx, key) {
        Ok(Some(h)) => h,
        Ok(None) if fields && values => return Reply::Map(Vec::new()),
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    if fields && values {
        return Reply::Map(h.iter().map(|(f, v)| (Reply::bulk(f.clone()), Reply::bulk(v.clone()))).collect());
    }
    let mut out = Vec::with_capacity(h.len() * (usize::from(fields) + usize::from(values)));
    for (f, v) in h {
        if fields {
            out.push(Reply::bulk(f.clone()));
        }
        if values {
            out.push(Reply::bulk(v.clone()));
        }
    }
    Reply::Array(out)
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], true, true)
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], true, false)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], false, true)
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    match write_hash(ctx, key) {
        Ok(Some(_)) => {}
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    }
    let listpack = is_listpack(ctx, key);
    let Ok(Some(h)) = write_hash(ctx, key) else {
        return Reply::Int(0);
    };
    let mut deleted = 0;
    let mut emptied = false;
    for f in &argv[2..] {
        // A listpack deletes in place (the rest keeps its order); a hash table does not care.
        let removed = if listpack { h.shift_remove(f) } else { h.swap_remove(f) };
        if removed.is_some() {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    ctx.removed_members(key, deleted, emptied)
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(h.map_or(0, |h| h.len() as i64)),
        Err(e) => e,
    }
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(i64::from(h.is_some_and(|h| h.contains_key(argv[2])))),
        Err(e) => e,
    }
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(h.and_then(|h| h.get(argv[2])).map_or(0, |v| v.len() as i64)),
        Err(e) => e,
    }
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    // The increment is parsed before the key is even looked up.
    let incr = match args::int(argv[3]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let old = match h.get(argv[2]) {
        Some(v) => match string2ll(v) {
            Some(n) => n,
            None => return Reply::err("ERR hash value is not an integer"),
        },
        None => 0,
    };
    let Some(new) = old.checked_add(incr) else {
        return Reply::err(crate::reply::INCR_OVERFLOW);
    };
    h.insert(argv[2], new.to_string().into_bytes());
    note_conversion(ctx, key, &[]);
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(new)
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let Some(incr) = LongDouble::parse(argv[3]) else {
        return Reply::not_float();
    };
    if !incr.is_finite() {
        return Reply::err("ERR value is NaN or Infinity");
    }
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let old = match h.get(argv[2]) {
        Some(v) => match LongDouble::parse(v) {
            Some(x) => x,
            None => return Reply::err("ERR hash value is not a float"),
        },
        None => LongDouble::from_i64(0),
    };
    let Some(value) = old.add(incr).filter(|v| v.is_finite()) else {
        return Reply::err("ERR increment would produce NaN or Infinity");
    };
    let text = value.to_human_string().into_bytes();
    h.insert(argv[2], text.clone());
    note_conversion(ctx, key, &[]);
    ctx.signal_modified(key);
    ctx.dirty(1);
    // Always replicated as HSET with the final value: float formatting or precision differences
    // must never make a replica or a reloaded AOF diverge.
    ctx.rewrite_argv(&[b"HSET", key, argv[2], &text]);
    Reply::Bulk(text)
}

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    if argv.len() == 2 {
        let h = match read_hash(ctx, key) {
            Ok(Some(h)) => h.len(),
            Ok(None) => return Reply::Nil,
            Err(e) => return e,
        };
        let i = ctx.srv.rng.usize(0..h.max(1));
        return match ctx.db().get(key) {
            Some(Value::Hash(h)) => Reply::bulk_opt(h.get_index(i).map(|(f, _)| f.clone())),
            _ => Reply::Nil,
        };
    }
    let l = match parse_random_count(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let withvalues = match argv.len() {
        3 => false,
        4 if args::is(argv[3], "withvalues") => true,
        _ => return Reply::syntax(),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Reply::err("ERR value is out of range");
    }
    let size = match read_hash(ctx, key) {
        Ok(Some(h)) => h.len(),
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let listpack = is_listpack(ctx, key);
    let count = l.unsigned_abs();
    if count == 0 {
        return Reply::Array(Vec::new());
    }
    // CASE 1: negative count (repetitions allowed, any order), or a count of one.
    let positions: Vec<usize> = if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return random_reply_too_large();
        }
        (0..count).map(|_| ctx.srv.rng.usize(0..size.max(1))).collect()
    } else if args::count(count) >= size {
        // CASE 2: the whole hash, in its order.
        (0..size).collect()
    } else {
        let mut p = random_distinct_positions(&mut ctx.srv.rng, size, count as usize);
        // A listpack samples in place and replies in listpack order; a hash table replies in
        // the order of its temporary dict.
        if listpack {
            p.sort_unstable();
        }
        p
    };
    let resp3 = ctx.resp3();
    let Some(Value::Hash(h)) = ctx.db().get(key) else {
        return Reply::Array(Vec::new());
    };
    let mut out = Vec::with_capacity(positions.len() * if withvalues { 2 } else { 1 });
    for i in positions {
        if let Some((f, v)) = h.get_index(i) {
            // `if (withvalues && c->resp > 2) addReplyArrayLen(c,2)`: pairs over RESP3.
            if withvalues && resp3 {
                out.push(Reply::Array(vec![Reply::bulk(f.clone()), Reply::bulk(v.clone())]));
                continue;
            }
            out.push(Reply::bulk(f.clone()));
            if withvalues {
                out.push(Reply::bulk(v.clone()));
            }
        }
    }
    Reply::Array(out)
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let cursor = match parse_scan_cursor(argv[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match read_hash(ctx, argv[1]) {
        Ok(Some(_)) => {}
        Ok(None) => return empty_scan(),
        Err(e) => return e,
    }
    let listpack = is_listpack(ctx, argv[1]);
    let Some(Value::Hash(h)) = ctx.db().get(argv[1]) else {
        return empty_scan();
    };
    let opts = match ScanOptions::parse(&argv[3..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let mut emit = |f: &[u8], v: &Vec<u8>| {
        if opts.matches(f) {
            out.push(Reply::bulk(f));
            out.push(Reply::bulk(v.clone()));
        }
    };
    let next = if listpack {
        // A listpack is returned whole, in one call, with cursor 0.
        h.iter().for_each(|(f, v)| emit(f, v));
        0
    } else {
        // Redis counts the items collected, two per field.
        scan_positions(h.len(), cursor, opts.count, 2, |i| {
            if let Some((f, v)) = h.get_index(i) {
                emit(f, v);
            }
        })
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)])
}
