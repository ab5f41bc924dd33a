//! The string commands (Redis's `t_string.c`). Submodule: `lcs` (LCS); INCRBYFLOAT's arithmetic
//! is [`crate::cmd::long_double`]. The bitmap commands, which work on a string bit by bit, are
//! [`crate::cmd::bitops`].
//!
//! A string value is a byte array up to `proto-max-bulk-len` (512 MB) long. Redis stores small
//! integers specially (the `int` encoding), but every command sees the same bytes, so here a
//! string is always its bytes and numbers are parsed when needed.
//!
//! **What reaches the AOF.** A command that depends on *when* or *how* it ran is rewritten into
//! one that replays to the same state:
//!
//! | command                                 | propagated as                      |
//! |-----------------------------------------|------------------------------------|
//! | `SET k v EX/PX/EXAT/PXAT t [GET]`, `SETEX`, `PSETEX` | `SET k v PXAT <abs ms>` |
//! | `SET k v GET` (no expire)               | `SET k v` (every `GET` removed)    |
//! | `GETSET k v`                            | `SET k v`                          |
//! | `GETDEL k`                              | `DEL k` (`UNLINK` with `lazyfree-lazy-user-del`) |
//! | `GETEX k EX/PX/EXAT/PXAT t`             | `PEXPIREAT k <abs ms>` (or `DEL` if already past) |
//! | `GETEX k PERSIST`                       | `PERSIST k`                        |
//! | `INCRBYFLOAT k d`                       | `SET k <result> KEEPTTL`           |
//!
//! INCRBYFLOAT logs its *result* because the sum is computed in C's `long double`; replaying
//! the increment on another machine could round differently. The arithmetic itself lives in
//! [`crate::cmd::long_double`], which reproduces x87 extended precision in software.
//!
//! Everything else propagates verbatim when it changed the dataset, and nothing when it did
//! not (`SET k v NX` on an existing key, `SETBIT` that leaves the bit as it was).

mod lcs;

use super::keys::{already_expired, invalid_expire_time, opt_is};
use super::long_double::LongDouble;
use super::{Command, DENYOOM, FAST, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::keyspace::{StringValue, Value};
use crate::reply::{self, Reply};
use crate::server::Ctx;
use crate::util::{ll2string, string2ll};
use lcs::lcs;

pub static COMMANDS: &[Command] = &[
    Command { summary: "Get the value of a key", ..Command::new("get", 2, READONLY | FAST, (1, 1, 1), Group::String, get) },
    Command { summary: "Set the string value of a key", ..Command::new("set", -3, WRITE | DENYOOM, (1, 1, 1), Group::String, set) },
    Command {
        summary: "Set the value of a key, only if the key does not exist",
        ..Command::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, setnx)
    },
    Command {
        summary: "Set the value and expiration of a key",
        since: "2.0.0",
        ..Command::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), Group::String, setex)
    },
    Command {
        summary: "Set the value and expiration in milliseconds of a key",
        since: "2.6.0",
        ..Command::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), Group::String, psetex)
    },
    Command {
        summary: "Set the string value of a key and return its old value",
        ..Command::new("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, getset)
    },
    Command {
        summary: "Get the value of a key and delete the key",
        since: "6.2.0",
        ..Command::new("getdel", 2, WRITE | FAST, (1, 1, 1), Group::String, getdel)
    },
    Command {
        summary: "Get the value of a key and optionally set its expiration",
        since: "6.2.0",
        ..Command::new("getex", -2, WRITE | FAST, (1, 1, 1), Group::String, getex)
    },
    Command {
        summary: "Get the values of all the given keys",
        ..Command::new("mget", -2, READONLY | FAST, (1, -1, 1), Group::String, mget)
    },
    Command {
        summary: "Set multiple keys to multiple values",
        since: "1.0.1",
        ..Command::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), Group::String, mset)
    },
    Command {
        summary: "Set multiple keys to multiple values, only if none of the keys exist",
        since: "1.0.1",
        ..Command::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), Group::String, msetnx)
    },
    Command {
        summary: "Append a value to a key",
        since: "2.0.0",
        ..Command::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, append)
    },
    Command {
        summary: "Get the length of the value stored in a key",
        since: "2.2.0",
        ..Command::new("strlen", 2, READONLY | FAST, (1, 1, 1), Group::String, strlen)
    },
    Command {
        summary: "Increment the integer value of a key by one",
        ..Command::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, incr)
    },
    Command {
        summary: "Decrement the integer value of a key by one",
        ..Command::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, decr)
    },
    Command {
        summary: "Increment the integer value of a key by the given amount",
        ..Command::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, incrby)
    },
    Command {
        summary: "Decrement the integer value of a key by the given number",
        ..Command::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, decrby)
    },
    Command {
        summary: "Increment the float value of a key by the given amount",
        since: "2.6.0",
        ..Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::String, incrbyfloat)
    },
    Command {
        summary: "Get a substring of the string stored at a key",
        since: "2.4.0",
        ..Command::new("getrange", 4, READONLY, (1, 1, 1), Group::String, getrange)
    },
    Command {
        summary: "Get a substring of the string stored at a key",
        ..Command::new("substr", 4, READONLY, (1, 1, 1), Group::String, getrange)
    },
    Command {
        summary: "Overwrite part of a string at key starting at the specified offset",
        since: "2.2.0",
        ..Command::new("setrange", 4, WRITE | DENYOOM, (1, 1, 1), Group::String, setrange)
    },
    Command {
        summary: "Find longest common substring",
        since: "7.0.0",
        ..Command::new("lcs", -3, READONLY, (1, 2, 1), Group::String, lcs)
    },
];

/// What a lookup of a key that should hold a string found.
pub(crate) enum Lookup {
    Missing,
    Found(Vec<u8>),
    WrongType,
}

/// `lookupKeyRead` + `checkType(OBJ_STRING)`.
pub(crate) fn read_string(ctx: &mut Ctx, key: &[u8]) -> Lookup {
    match ctx.lookup_read(key) {
        None => Lookup::Missing,
        Some(Value::String(s)) => Lookup::Found(s.to_vec()),
        Some(_) => Lookup::WrongType,
    }
}

/// `lookupKeyWrite` + `checkType(OBJ_STRING)`, for in-place updates: the value, if any.
/// A caller that changes the bytes in place calls [`unshare_string`] too.
pub(crate) fn write_string<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut StringValue>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `dbUnshareStringValue` (or a string made with `createObject`): changed in place, the value
/// is a `raw` string from now on, whatever its length ([`crate::keyspace::EncodingHint`]).
pub(crate) fn unshare_string(ctx: &mut Ctx, key: &[u8]) {
    ctx.db().set_encoding_hint(key, crate::keyspace::EncodingHint::Raw);
}

/// `checkStringLength`: no string may grow past `proto-max-bulk-len`.
fn check_string_length(ctx: &Ctx, size: u64) -> Result<(), Reply> {
    if size > u64::try_from(ctx.srv.config.proto_max_bulk_len).unwrap_or(0) {
        return Err(Reply::err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
    }
    if !fits_host(size) {
        return Err(Reply::err(HOST_LIMIT));
    }
    Ok(())
}

/// A string longer than this host can address: with `proto-max-bulk-len` raised past 2 GB, the
/// wasm (32-bit) engine refuses it where a 64-bit server would allocate it.
pub(crate) const HOST_LIMIT: &str = "ERR string exceeds maximum allowed size (what this engine can address)";

/// Whether `size` bytes can be one allocation here (`isize::MAX`: 2 GB in wasm32).
pub(crate) fn fits_host(size: u64) -> bool {
    usize::try_from(size).is_ok_and(|s| s <= isize::MAX as usize)
}

/// `getGenericCommand`: the reply GET would give, or WRONGTYPE.
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> Result<Reply, Reply> {
    match read_string(ctx, key) {
        Lookup::Missing => Ok(Reply::Nil),
        Lookup::Found(s) => Ok(Reply::Bulk(s)),
        Lookup::WrongType => Err(Reply::wrongtype()),
    }
}

fn get(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    get_generic(ctx, argv[1]).unwrap_or_else(|e| e)
}

// ---------------------------------------------------------------------------------------------
// SET and its variants
// ---------------------------------------------------------------------------------------------

const SET_NX: u32 = 1 << 0;
const SET_XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const SET_GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;
const PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

#[derive(Clone, Copy, PartialEq, Eq)]
enum CommandType {
    Get,
    Set,
}

/// The options of SET / GETEX as parsed: flags, and the expire argument with its unit.
struct ExtendedArgs<'a> {
    flags: u32,
    expire: Option<&'a [u8]>,
    unit_seconds: bool,
}

/// `parseExtendedStringArgumentsOrReply`. The conditions are Redis's exactly, including what
/// they allow: `SET k v EX 1 EX 2` (the last wins), `SET k v GET GET`.
fn parse_extended_args<'a>(argv: &[&'a [u8]], ty: CommandType) -> Result<ExtendedArgs<'a>, Reply> {
    let mut out = ExtendedArgs { flags: 0, expire: None, unit_seconds: true };
    let set = ty == CommandType::Set;
    let mut j = if set { 3 } else { 2 };
    while j < argv.len() {
        let opt = argv[j];
        let next = argv.get(j + 1).copied();
        let f = out.flags;
        let no_ttl_option = f & (KEEPTTL | PERSIST) == 0;
        if opt_is(opt, "nx") && f & SET_XX == 0 && set {
            out.flags |= SET_NX;
        } else if opt_is(opt, "xx") && f & SET_NX == 0 && set {
            out.flags |= SET_XX;
        } else if opt_is(opt, "get") && set {
            out.flags |= SET_GET;
        } else if opt_is(opt, "keepttl") && f & (PERSIST | ANY_EXPIRE) == 0 && set {
            out.flags |= KEEPTTL;
        } else if opt_is(opt, "persist") && !set && f & (ANY_EXPIRE | KEEPTTL) == 0 {
            out.flags |= PERSIST;
        } else if opt_is(opt, "ex") && no_ttl_option && f & (EXAT | PX | PXAT) == 0 && next.is_some() {
            out.flags |= EX;
            out.expire = next;
            j += 1;
        } else if opt_is(opt, "px") && no_ttl_option && f & (EX | EXAT | PXAT) == 0 && next.is_some() {
            out.flags |= PX;
            out.unit_seconds = false;
            out.expire = next;
            j += 1;
        } else if opt_is(opt, "exat") && no_ttl_option && f & (EX | PX | PXAT) == 0 && next.is_some() {
            out.flags |= EXAT;
            out.expire = next;
            j += 1;
        } else if opt_is(opt, "pxat") && no_ttl_option && f & (EX | EXAT | PX) == 0 && next.is_some() {
            out.flags |= PXAT;
            out.unit_seconds = false;
            out.expire = next;
            j += 1;
        } else {
            return Err(Reply::syntax());
        }
        j += 1;
    }
    Ok(out)
}

/// `getExpireMillisecondsOrReply`: the absolute deadline in ms. Zero, negative and overflowing
/// times are refused with "invalid expire time in '<cmd>' command".
fn expire_ms(ctx: &Ctx, expire: &[u8], flags: u32, unit_seconds: bool) -> Result<i64, Reply> {
    let mut ms = args::int(expire)?;
    if ms <= 0 || (unit_seconds && ms > i64::MAX / 1000) {
        return Err(invalid_expire_time(ctx));
    }
    if unit_seconds {
        ms *= 1000;
    }
    if flags & (PX | EX) != 0 {
        ms = ms.checked_add(ctx.now_ms()).ok_or_else(|| invalid_expire_time(ctx))?;
    }
    if ms <= 0 {
        return Err(invalid_expire_time(ctx));
    }
    Ok(ms)
}

/// `setGenericCommand`: SET, SETNX, SETEX, PSETEX. `ok`/`abort` are the replies for "done" and
/// "refused by NX/XX".
fn set_generic(ctx: &mut Ctx, argv: &[&[u8]], a: &ExtendedArgs, value: &[u8], ok: Reply, abort: Reply) -> Reply {
    let key = argv[1];
    let mut when = None;
    if let Some(expire) = a.expire {
        match expire_ms(ctx, expire, a.flags, a.unit_seconds) {
            Ok(ms) => when = Some(ms),
            Err(e) => return e,
        }
    }
    let mut get_reply = None;
    if a.flags & SET_GET != 0 {
        match get_generic(ctx, key) {
            Ok(r) => get_reply = Some(r),
            Err(e) => return e,
        }
    }
    let found = ctx.exists(key);
    if (a.flags & SET_NX != 0 && found) || (a.flags & SET_XX != 0 && !found) {
        return get_reply.unwrap_or(abort);
    }
    ctx.set_key(key, Value::String(value.into()), a.flags & KEEPTTL != 0);
    ctx.dirty(1);
    if let Some(ms) = when {
        ctx.db().set_expire(key, ms);
        let ms = ms.to_string();
        ctx.rewrite_argv(&[b"SET", key, value, b"PXAT", ms.as_bytes()]);
    } else if a.flags & SET_GET != 0 {
        // Propagate without GET (which may appear several times).
        let kept: Vec<&[u8]> = argv.iter().enumerate().filter(|(j, a)| *j < 3 || !opt_is(a, "get")).map(|(_, a)| *a).collect();
        ctx.rewrite_argv(&kept);
    }
    get_reply.unwrap_or(ok)
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = match parse_extended_args(argv, CommandType::Set) {
        Ok(a) => a,
        Err(e) => return e,
    };
    set_generic(ctx, argv, &a, argv[2], Reply::ok(), Reply::Nil)
}

fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = ExtendedArgs { flags: SET_NX, expire: None, unit_seconds: true };
    set_generic(ctx, argv, &a, argv[2], Reply::Int(1), Reply::Int(0))
}

fn setex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = ExtendedArgs { flags: EX, expire: Some(argv[2]), unit_seconds: true };
    set_generic(ctx, argv, &a, argv[3], Reply::ok(), Reply::Nil)
}

fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = ExtendedArgs { flags: PX, expire: Some(argv[2]), unit_seconds: false };
    set_generic(ctx, argv, &a, argv[3], Reply::ok(), Reply::Nil)
}

fn getset(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let old = match get_generic(ctx, argv[1]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    ctx.exists(argv[1]);
    ctx.set_key(argv[1], Value::String(argv[2].into()), false);
    ctx.dirty(1);
    ctx.rewrite_argv(&[b"SET", argv[1], argv[2]]);
    old
}

fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let old = match get_generic(ctx, key) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if ctx.delete_key(key) {
        let del: &[u8] = if ctx.srv.config.lazyfree_lazy_user_del { b"UNLINK" } else { b"DEL" };
        ctx.rewrite_argv(&[del, key]);
        ctx.dirty(1);
    }
    old
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]: GET that may change the TTL.
fn getex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let a = match parse_extended_args(argv, CommandType::Get) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let value = match read_string(ctx, key) {
        Lookup::Missing => return Reply::Nil,
        Lookup::WrongType => return Reply::wrongtype(),
        Lookup::Found(v) => v,
    };
    let mut when = 0;
    if let Some(expire) = a.expire {
        match expire_ms(ctx, expire, a.flags, a.unit_seconds) {
            Ok(ms) => when = ms,
            Err(e) => return e,
        }
    }
    if a.flags & (PXAT | EXAT) != 0 && already_expired(ctx, when) {
        // An absolute deadline already past: the key goes now.
        ctx.delete_key(key);
        let del: &[u8] = if ctx.srv.config.lazyfree_lazy_expire { b"UNLINK" } else { b"DEL" };
        ctx.rewrite_argv(&[del, key]);
        ctx.dirty(1);
    } else if a.expire.is_some() {
        ctx.db().set_expire(key, when);
        let ms = when.to_string();
        ctx.rewrite_argv(&[b"PEXPIREAT", key, ms.as_bytes()]);
        ctx.signal_modified(key);
        ctx.dirty(1);
    } else if a.flags & PERSIST != 0 && ctx.db().remove_expire(key) {
        ctx.signal_modified(key);
        ctx.rewrite_argv(&[b"PERSIST", key]);
        ctx.dirty(1);
    }
    Reply::Bulk(value)
}

// ---------------------------------------------------------------------------------------------
// MGET, MSET, MSETNX, APPEND, STRLEN
// ---------------------------------------------------------------------------------------------

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let replies = argv[1..]
        .iter()
        .map(|k| match read_string(ctx, k) {
            Lookup::Found(s) => Reply::Bulk(s),
            // A key of another type reads as missing, not as an error.
            Lookup::Missing | Lookup::WrongType => Reply::Nil,
        })
        .collect();
    Reply::Array(replies)
}

fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> Reply {
    if argv.len().is_multiple_of(2) {
        return Reply::wrong_arity(ctx.cmd.name);
    }
    if nx {
        for pair in argv[1..].chunks(2) {
            if ctx.exists(pair[0]) {
                return Reply::Int(0);
            }
        }
    }
    for pair in argv[1..].chunks(2) {
        ctx.exists(pair[0]);
        ctx.set_key(pair[0], Value::String(pair[1].into()), false);
    }
    ctx.dirty(((argv.len() - 1) / 2) as u64);
    if nx { Reply::Int(1) } else { Reply::ok() }
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    mset_generic(ctx, argv, false)
}

fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    mset_generic(ctx, argv, true)
}

fn append(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (key, suffix) = (argv[1], argv[2]);
    let max = ctx.srv.config.proto_max_bulk_len;
    let total = match write_string(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) => {
            let total = s.len() as u64 + suffix.len() as u64;
            if total > u64::try_from(max).unwrap_or(0) {
                return Reply::err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            if !fits_host(total) {
                return Reply::err(HOST_LIMIT);
            }
            s.extend_from_slice(suffix);
            unshare_string(ctx, key);
            total
        }
        Ok(None) => {
            // A new key takes the argument as it is: no length check (it came in as one bulk).
            ctx.db_add(key, Value::String(suffix.into()));
            suffix.len() as u64
        }
    };
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(total as i64)
}

fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_string(ctx, argv[1]) {
        Lookup::Missing => Reply::Int(0),
        Lookup::Found(s) => Reply::Int(s.len() as i64),
        Lookup::WrongType => Reply::wrongtype(),
    }
}

// ---------------------------------------------------------------------------------------------
// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT
// ---------------------------------------------------------------------------------------------

/// `incrDecrCommand`. The new value replaces the old one but keeps its TTL (`dbOverwrite`).
fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) -> Reply {
    let current = match write_string(ctx, key) {
        Err(e) => return e,
        Ok(None) => 0,
        Ok(Some(s)) => match string2ll(s) {
            Some(v) => v,
            None => return Reply::not_integer(),
        },
    };
    let Some(value) = current.checked_add(by) else {
        return Reply::err(reply::INCR_OVERFLOW);
    };
    let mut digits = [0; 20];
    ctx.set_key(key, Value::String(ll2string(&mut digits, value).into()), true);
    ctx.dirty(1);
    Reply::Int(value)
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    incr_decr(ctx, argv[1], 1)
}

fn decr(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    incr_decr(ctx, argv[1], -1)
}

fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match args::int(argv[2]) {
        Ok(by) => incr_decr(ctx, argv[1], by),
        Err(e) => e,
    }
}

fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match args::int(argv[2]) {
        // Negating LLONG_MIN would overflow before the addition is even tried.
        Ok(i64::MIN) => Reply::err("ERR decrement would overflow"),
        Ok(by) => incr_decr(ctx, argv[1], -by),
        Err(e) => e,
    }
}

/// INCRBYFLOAT: `long double` arithmetic, the result stored (and logged) as text.
fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let current = match write_string(ctx, key) {
        Err(e) => return e,
        Ok(None) => Some(LongDouble::from_i64(0)),
        Ok(Some(s)) => LongDouble::parse(s),
    };
    let (Some(current), Some(by)) = (current, LongDouble::parse(argv[2])) else {
        return Reply::not_float();
    };
    let sum = match current.add(by) {
        Some(v) if v.is_finite() => v,
        _ => return Reply::err("ERR increment would produce NaN or Infinity"),
    };
    let text = sum.to_human_string().into_bytes();
    ctx.set_key(key, Value::String(text.as_slice().into()), true);
    // `createStringObjectFromLongDouble`: an embstr, never tried as an integer.
    ctx.db().set_encoding_hint(key, crate::keyspace::EncodingHint::Embstr);
    ctx.dirty(1);
    ctx.rewrite_argv(&[b"SET", key, &text, b"KEEPTTL"]);
    Reply::Bulk(text)
}

// ---------------------------------------------------------------------------------------------
// GETRANGE, SETRANGE
// ---------------------------------------------------------------------------------------------

/// Clamps a `start..=end` range with negative indexes counted from the end, as GETRANGE and
/// BITCOUNT do. `None` when the range is empty.
pub(crate) fn clamp_range(mut start: i64, mut end: i64, len: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (start, end) = match (args::int(argv[2]), args::int(argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let s = match read_string(ctx, argv[1]) {
        Lookup::Missing => return Reply::Bulk(Vec::new()),
        Lookup::WrongType => return Reply::wrongtype(),
        Lookup::Found(s) => s,
    };
    match clamp_range(start, end, s.len() as i64) {
        Some((a, b)) => Reply::Bulk(s.get(a..=b).unwrap_or_default().to_vec()),
        None => Reply::Bulk(Vec::new()),
    }
}

fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (key, value) = (argv[1], argv[3]);
    let offset = match args::int(argv[2]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if offset < 0 {
        return Reply::err("ERR offset is out of range");
    }
    let offset = offset as u64;
    let end = offset.saturating_add(value.len() as u64);
    let exists = match write_string(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) if value.is_empty() => return Reply::Int(s.len() as i64),
        Ok(s) => s.is_some(),
    };
    if !exists && value.is_empty() {
        return Reply::Int(0);
    }
    if let Err(e) = check_string_length(ctx, end) {
        return e;
    }
    let (offset, end) = (offset as usize, end as usize);
    if !exists {
        ctx.db_add(key, Value::String(StringValue::from(vec![0; end])));
    }
    let Ok(Some(s)) = write_string(ctx, key) else {
        return Reply::wrongtype();
    };
    if s.len() < end {
        s.resize(end, 0);
    }
    s[offset..end].copy_from_slice(value);
    let len = s.len();
    unshare_string(ctx, key);
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(len as i64)
}
