//! The generic key commands (Redis's `db.c` and `expire.c`): commands that work on a key whatever
//! its type — existence, deletion, renaming, moving between databases, iteration and TTLs.
//!
//! **Expiry is stored absolute.** A key's TTL is a unix time in milliseconds. Every relative
//! form (`EXPIRE k 100`) is turned into that absolute time when the command runs, and that is
//! also what reaches the AOF: the whole EXPIRE family propagates as `PEXPIREAT key <ms>`
//! (options such as `GT` kept), so replaying the file later sets the same deadline instead of
//! a fresh one. A deadline already in the past deletes the key at once and propagates `DEL`
//! (`UNLINK` with `lazyfree-lazy-expire yes`) — except while loading the AOF, where the key is
//! kept with its past deadline and left to the normal expiry (`checkAlreadyExpired`).
//!
//! **Lookups expire.** Every command looks its keys up through `lookup_read` / `lookup_write`,
//! which delete a logically expired key first and propagate that `DEL`; a write command whose
//! lookup expired a key therefore reaches the AOF as `MULTI / DEL / <command> / EXEC`.
//!
//! Compared with Redis: SCAN's cursor is a position in an insertion-ordered table rather than a
//! reversed-bits hash bucket index, so cursors other than 0 mean something else and KEYS, SCAN
//! and RANDOMKEY return keys in a different (but deterministic) order. The guarantees are the
//! same: a full SCAN returns every key present for its whole duration.

mod dump;
pub(crate) mod object;
mod sort;

use super::{Command, DENYOOM, FAST, Group, LOADING, READONLY, STALE, WRITE};
use crate::cmd::args;
use crate::keyspace::Value;
use crate::reply::{self, Reply};
use crate::server::Ctx;
use crate::util::string_match;

pub static COMMANDS: &[Command] = &[
    Command { summary: "Delete a key", ..Command::new("del", -2, WRITE, (1, -1, 1), Group::Generic, del) },
    Command {
        summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        since: "4.0.0",
        ..Command::new("unlink", -2, WRITE | FAST, (1, -1, 1), Group::Generic, unlink)
    },
    Command { summary: "Determine if a key exists", ..Command::new("exists", -2, READONLY | FAST, (1, -1, 1), Group::Generic, exists) },
    Command { summary: "Determine the type stored at key", ..Command::new("type", 2, READONLY | FAST, (1, 1, 1), Group::Generic, type_) },
    Command { summary: "Find all keys matching the given pattern", ..Command::new("keys", 2, READONLY, (0, 0, 0), Group::Generic, keys) },
    Command {
        summary: "Incrementally iterate the keys space",
        since: "2.8.0",
        ..Command::new("scan", -2, READONLY, (0, 0, 0), Group::Generic, scan)
    },
    Command { summary: "Rename a key", ..Command::new("rename", 3, WRITE, (1, 2, 1), Group::Generic, rename) },
    Command {
        summary: "Rename a key, only if the new key does not exist",
        ..Command::new("renamenx", 3, WRITE | FAST, (1, 2, 1), Group::Generic, renamenx)
    },
    Command { summary: "Move a key to another database", ..Command::new("move", 3, WRITE | FAST, (1, 1, 1), Group::Generic, move_) },
    Command { summary: "Copy a key", since: "6.2.0", ..Command::new("copy", -3, WRITE | DENYOOM, (1, 2, 1), Group::Generic, copy) },
    Command {
        summary: "Return a random key from the keyspace",
        ..Command::new("randomkey", 1, READONLY, (0, 0, 0), Group::Generic, randomkey)
    },
    Command {
        summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        since: "3.2.1",
        ..Command::new("touch", -2, READONLY | FAST, (1, -1, 1), Group::Generic, touch)
    },
    Command {
        summary: "Set a key's time to live in seconds",
        ..Command::new("expire", -3, WRITE | FAST, (1, 1, 1), Group::Generic, expire)
    },
    Command {
        summary: "Set a key's time to live in milliseconds",
        since: "2.6.0",
        ..Command::new("pexpire", -3, WRITE | FAST, (1, 1, 1), Group::Generic, pexpire)
    },
    Command {
        summary: "Set the expiration for a key as a UNIX timestamp",
        since: "1.2.0",
        ..Command::new("expireat", -3, WRITE | FAST, (1, 1, 1), Group::Generic, expireat)
    },
    Command {
        summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        since: "2.6.0",
        ..Command::new("pexpireat", -3, WRITE | FAST, (1, 1, 1), Group::Generic, pexpireat)
    },
    Command {
        summary: "Get the time to live for a key in seconds",
        ..Command::new("ttl", 2, READONLY | FAST, (1, 1, 1), Group::Generic, ttl)
    },
    Command {
        summary: "Get the time to live for a key in milliseconds",
        since: "2.6.0",
        ..Command::new("pttl", 2, READONLY | FAST, (1, 1, 1), Group::Generic, pttl)
    },
    Command {
        summary: "Get the expiration Unix timestamp for a key",
        since: "7.0.0",
        ..Command::new("expiretime", 2, READONLY | FAST, (1, 1, 1), Group::Generic, expiretime)
    },
    Command {
        summary: "Get the expiration Unix timestamp for a key in milliseconds",
        since: "7.0.0",
        ..Command::new("pexpiretime", 2, READONLY | FAST, (1, 1, 1), Group::Generic, pexpiretime)
    },
    Command {
        summary: "Remove the expiration from a key",
        since: "2.2.0",
        ..Command::new("persist", 2, WRITE | FAST, (1, 1, 1), Group::Generic, persist)
    },
    Command {
        summary: "Sort the elements in a list, set or sorted set",
        ..Command::new("sort", -2, WRITE | DENYOOM, (1, 1, 1), Group::Generic, sort::sort)
    },
    Command {
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        since: "7.0.0",
        ..Command::new("sort_ro", -2, READONLY, (1, 1, 1), Group::Generic, sort::sort_ro)
    },
    Command {
        summary: "Return a serialized version of the value stored at the specified key.",
        since: "2.6.0",
        ..Command::new("dump", 2, READONLY, (1, 1, 1), Group::Generic, dump::dump)
    },
    Command {
        summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
        since: "2.6.0",
        ..Command::new("restore", -4, WRITE | DENYOOM, (1, 1, 1), Group::Generic, dump::restore)
    },
    Command {
        summary: "A container for object introspection commands",
        since: "2.2.3",
        subcommands: OBJECT_SUBCOMMANDS,
        ..Command::new("object", -2, 0, (0, 0, 0), Group::Generic, object::object_help)
    },
];

/// (Redis lists them in its hash order, which changes from one server to the next.)
static OBJECT_SUBCOMMANDS: &[Command] = &[
    Command {
        summary: "Inspect the internal encoding of a Redis object",
        since: "2.2.3",
        ..Command::new("encoding", 3, READONLY, (2, 2, 1), Group::Generic, object::object_encoding)
    },
    Command {
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Generic, object::object_help)
    },
    Command {
        summary: "Get the time since a Redis object was last accessed",
        since: "2.2.3",
        ..Command::new("idletime", 3, READONLY, (2, 2, 1), Group::Generic, object::object_idletime)
    },
    Command {
        summary: "Get the number of references to the value of the key",
        since: "2.2.3",
        ..Command::new("refcount", 3, READONLY, (2, 2, 1), Group::Generic, object::object_refcount)
    },
    Command {
        summary: "Get the logarithmic access frequency counter of a Redis object",
        since: "4.0.0",
        ..Command::new("freq", 3, READONLY, (2, 2, 1), Group::Generic, object::object_freq)
    },
];

/// `shared.sameobjecterr`.
const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// `%s` of a C string in an error message: stops at a NUL byte.
fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// An option keyword, compared as Redis does with `strcasecmp`: as a C string, so that bytes
/// after a NUL are ignored (`"EX\0junk"` is `EX`).
pub(crate) fn opt_is(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&c| c == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// `getIntFromObjectOrReply` for a db index, then `selectDb`'s range check.
fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, Reply> {
    let id = args::int(arg)?;
    if i32::try_from(id).is_err() {
        return Err(Reply::err("ERR value is out of range, value must between -2147483648 and 2147483647"));
    }
    usize::try_from(id).ok().filter(|&id| id < ctx.srv.dbs.len()).ok_or_else(|| Reply::err(reply::DB_INDEX))
}

// ---------------------------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TYPE, TOUCH
// ---------------------------------------------------------------------------------------------

/// `delGenericCommand`. UNLINK only differs in freeing the value in the background, which has
/// no visible effect here; both propagate verbatim.
fn del(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let db = ctx.db_id();
    let mut deleted = 0;
    for key in &argv[1..] {
        // An expired key is deleted (and that DEL propagated) by the expiry, not by us: it
        // does not count, and alone it leaves DEL itself unpropagated.
        ctx.srv.expire_if_needed(db, key);
        if ctx.delete_key(key) {
            ctx.dirty(1);
            deleted += 1;
        }
    }
    Reply::Int(deleted)
}

fn unlink(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    del(ctx, argv)
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // A key named twice counts twice, as in Redis.
    let n = argv[1..].iter().filter(|k| ctx.lookup_read_notouch(k).is_some()).count();
    Reply::Int(n as i64)
}

fn type_(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    Reply::status(ctx.lookup_read_notouch(argv[1]).map_or("none", Value::type_name))
}

/// TOUCH looks its keys up like a read, which updates their access time (EXISTS does not).
fn touch(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let n = argv[1..].iter().filter(|k| ctx.lookup_read(k).is_some()).count();
    Reply::Int(n as i64)
}

// ---------------------------------------------------------------------------------------------
// KEYS, SCAN, RANDOMKEY
// ---------------------------------------------------------------------------------------------

/// KEYS skips logically expired keys but, unlike most commands, does not delete them.
fn keys(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let pattern = argv[1];
    let allkeys = pattern == b"*";
    let db = ctx.db_id();
    let srv = &*ctx.srv;
    let found: Vec<Reply> = srv.dbs[db]
        .keys()
        .filter(|k| (allkeys || string_match(pattern, k, false)) && !srv.key_is_expired(db, k))
        .map(|k| Reply::Bulk(k.to_vec()))
        .collect();
    Reply::Array(found)
}

/// `parseScanCursorOrReply`: C's `strtoul` on a C string, so `""`, `+5`, `-1` (which wraps to
/// the largest cursor) and `"0\0junk"` are accepted; leading spaces, trailing garbage and
/// overflow are not.
fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    let arg = &arg[..arg.iter().position(|&c| c == 0).unwrap_or(arg.len())];
    if arg.first().is_some_and(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // strtoul parsed nothing: the end pointer stays at the start, which is the end only
        // for an empty string.
        return if arg.is_empty() { Some(0) } else { None };
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

/// `scanGenericCommand` on the keyspace: options, one step of the iteration, then the filters
/// (pattern, type, expiry).
fn scan(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(cursor) = parse_scan_cursor(argv[1]) else {
        return Reply::err("ERR invalid cursor");
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut typename: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - i >= 2;
        if opt_is(argv[i], "count") && more {
            count = match args::int(argv[i + 1]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if count < 1 {
                return Reply::syntax();
            }
        } else if opt_is(argv[i], "match") && more {
            pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
        } else if opt_is(argv[i], "type") && more {
            typename = Some(argv[i + 1]);
        } else {
            return Reply::syntax();
        }
        i += 2;
    }
    let db = ctx.db_id();
    let mut batch = Vec::new();
    let next = ctx.srv.dbs[db].scan(cursor, usize::try_from(count).unwrap_or(usize::MAX), |k, _| batch.push(k.to_vec()));
    let mut out = Vec::with_capacity(batch.len());
    for key in batch {
        if pattern.is_some_and(|p| !string_match(p, &key, false)) {
            continue;
        }
        if let Some(t) = typename {
            let name = ctx.lookup_read(&key).map_or("none", Value::type_name);
            if !opt_is(t, name) {
                continue;
            }
        }
        if ctx.srv.expire_if_needed(db, &key) {
            continue;
        }
        out.push(Reply::Bulk(key));
    }
    Reply::Array(vec![Reply::Bulk(next.to_string().into_bytes()), Reply::Array(out)])
}

/// `dbRandomKey`: a random key that is not expired (expired ones met on the way are deleted).
fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let db = ctx.db_id();
    loop {
        let len = ctx.srv.dbs[db].len();
        if len == 0 {
            return Reply::Nil;
        }
        let index = ctx.srv.rng.usize(..len);
        let Some(key) = ctx.srv.dbs[db].key_at(index).map(<[u8]>::to_vec) else {
            return Reply::Nil;
        };
        if ctx.srv.expire_if_needed(db, &key) {
            continue;
        }
        return Reply::Bulk(key);
    }
}

// ---------------------------------------------------------------------------------------------
// RENAME, RENAMENX, MOVE, COPY
// ---------------------------------------------------------------------------------------------

fn rename(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    rename_generic(ctx, argv, false)
}

fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    rename_generic(ctx, argv, true)
}

/// `renameGenericCommand`: the value moves to the new name with its TTL; an existing
/// destination is overwritten (RENAME) or left alone (RENAMENX).
fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> Reply {
    let (src, dst) = (argv[1], argv[2]);
    if ctx.lookup_write(src).is_none() {
        return Reply::err(reply::NO_SUCH_KEY);
    }
    // Same name: nothing to do, but only once we know the key exists.
    if src == dst {
        return if nx { Reply::Int(0) } else { Reply::ok() };
    }
    let expire = ctx.db().expire_of(src);
    // The same object moves: its access time and encoding go with it.
    let meta = ctx.db().meta_of(src);
    if ctx.lookup_write(dst).is_some() {
        if nx {
            return Reply::Int(0);
        }
        ctx.db().remove(dst);
    }
    let Some(value) = ctx.db().remove(src) else {
        return Reply::err(reply::NO_SUCH_KEY);
    };
    ctx.db_add(dst.to_vec(), value);
    if let Some(meta) = meta {
        ctx.db().set_meta(dst, meta);
    }
    if let Some(when) = expire {
        ctx.db().set_expire(dst, when);
    }
    ctx.signal_modified(src);
    ctx.signal_modified(dst);
    ctx.dirty(1);
    if nx { Reply::Int(1) } else { Reply::ok() }
}

/// MOVE key db: propagated verbatim (the target db is in the arguments).
fn move_(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let src = ctx.db_id();
    let dst = match parse_db_index(ctx, argv[2]) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if src == dst {
        return Reply::err(SAME_OBJECT);
    }
    if ctx.lookup_write(key).is_none() {
        return Reply::Int(0);
    }
    let expire = ctx.db().expire_of(key);
    ctx.srv.expire_if_needed(dst, key);
    if ctx.srv.dbs[dst].contains(key) {
        return Reply::Int(0);
    }
    let meta = ctx.db().meta_of(key);
    let Some(value) = ctx.db().remove(key) else {
        return Reply::Int(0);
    };
    ctx.db_add_in(dst, key.to_vec(), value);
    if let Some(meta) = meta {
        ctx.srv.dbs[dst].set_meta(key, meta);
    }
    if let Some(when) = expire {
        ctx.srv.dbs[dst].set_expire(key, when);
    }
    ctx.srv.signal_modified_key(src, key);
    ctx.srv.signal_modified_key(dst, key);
    ctx.dirty(1);
    Reply::Int(1)
}

/// COPY source destination [DB n] [REPLACE]: propagated verbatim, in the source's db.
fn copy(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (key, newkey) = (argv[1], argv[2]);
    let src = ctx.db_id();
    let mut dst = src;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if opt_is(argv[j], "replace") {
            replace = true;
        } else if opt_is(argv[j], "db") && j + 1 < argv.len() {
            dst = match parse_db_index(ctx, argv[j + 1]) {
                Ok(d) => d,
                Err(e) => return e,
            };
            j += 1;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    if src == dst && key == newkey {
        return Reply::err(SAME_OBJECT);
    }
    let Some(value) = ctx.lookup_read(key).cloned() else {
        return Reply::Int(0);
    };
    let expire = ctx.db().expire_of(key);
    // A copy is a new object (its own access time) with the source's encoding.
    let hint = ctx.db().encoding_hint(key);
    ctx.srv.expire_if_needed(dst, newkey);
    if ctx.srv.dbs[dst].contains(newkey) {
        if !replace {
            return Reply::Int(0);
        }
        ctx.srv.dbs[dst].remove(newkey);
    }
    ctx.db_add_in(dst, newkey.to_vec(), value);
    ctx.srv.dbs[dst].set_encoding_hint(newkey, hint);
    if let Some(when) = expire {
        ctx.srv.dbs[dst].set_expire(newkey, when);
    }
    ctx.srv.signal_modified_key(dst, newkey);
    ctx.dirty(1);
    Reply::Int(1)
}

// ---------------------------------------------------------------------------------------------
// EXPIRE family, TTL family, PERSIST
// ---------------------------------------------------------------------------------------------

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

fn expire(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let now = ctx.now_ms();
    expire_generic(ctx, argv, now, true)
}

fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let now = ctx.now_ms();
    expire_generic(ctx, argv, now, false)
}

fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    expire_generic(ctx, argv, 0, true)
}

fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    expire_generic(ctx, argv, 0, false)
}

/// `parseExtendedExpireArgumentsOrReply`.
fn parse_expire_flags(argv: &[&[u8]]) -> Result<u8, Reply> {
    let mut flags = 0;
    for opt in argv.iter().skip(3) {
        flags |= if opt_is(opt, "nx") {
            EXPIRE_NX
        } else if opt_is(opt, "xx") {
            EXPIRE_XX
        } else if opt_is(opt, "gt") {
            EXPIRE_GT
        } else if opt_is(opt, "lt") {
            EXPIRE_LT
        } else {
            return Err(Reply::error(format!("ERR Unsupported option {}", c_str(opt))));
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(Reply::err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        return Err(Reply::err("ERR GT and LT options at the same time are not compatible"));
    }
    Ok(flags)
}

/// `addReplyErrorExpireTime`.
pub fn invalid_expire_time(ctx: &Ctx) -> Reply {
    Reply::error(format!("ERR invalid expire time in '{}' command", ctx.cmd.name))
}

/// `checkAlreadyExpired`: a deadline not in the future deletes the key now — but never while
/// loading, where the key is kept and expires the normal way.
pub fn already_expired(ctx: &Ctx, when_ms: i64) -> bool {
    when_ms <= ctx.now_ms() && !ctx.srv.loading
}

/// `expireGenericCommand`: `basetime` is now for EXPIRE/PEXPIRE, 0 for the absolute forms.
fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], basetime: i64, seconds: bool) -> Reply {
    let key = argv[1];
    let flags = match parse_expire_flags(argv) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut when = match args::int(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    // Negative times are allowed (they delete), overflow is not.
    if seconds {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return invalid_expire_time(ctx),
        }
    }
    match when.checked_add(basetime) {
        Some(w) => when = w,
        None => return invalid_expire_time(ctx),
    }
    if ctx.lookup_write(key).is_none() {
        return Reply::Int(0);
    }
    if flags != 0 {
        let current = ctx.db().expire_of(key);
        let refused = (flags & EXPIRE_NX != 0 && current.is_some())
            || (flags & EXPIRE_XX != 0 && current.is_none())
            // No TTL counts as an infinite one: GT always fails, LT always passes.
            || (flags & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c))
            || (flags & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c));
        if refused {
            return Reply::Int(0);
        }
    }
    if already_expired(ctx, when) {
        ctx.delete_key(key);
        ctx.dirty(1);
        let del: &[u8] = if ctx.srv.config.lazyfree_lazy_expire { b"UNLINK" } else { b"DEL" };
        ctx.rewrite_argv(&[del, key]);
        return Reply::Int(1);
    }
    ctx.db().set_expire(key, when);
    // Propagate as PEXPIREAT <absolute ms>, keeping any option; PEXPIREAT itself is verbatim.
    if basetime != 0 || seconds {
        let when_s = when.to_string().into_bytes();
        let mut new_argv: Vec<&[u8]> = Vec::with_capacity(argv.len());
        new_argv.push(b"PEXPIREAT");
        new_argv.push(key);
        new_argv.push(&when_s);
        new_argv.extend_from_slice(&argv[3..]);
        ctx.rewrite_argv(&new_argv);
    }
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(1)
}

/// `ttlGenericCommand`: -2 no key, -1 no TTL, else the remaining (or absolute) time.
fn ttl_generic(ctx: &mut Ctx, argv: &[&[u8]], output_ms: bool, output_abs: bool) -> Reply {
    let key = argv[1];
    if ctx.lookup_read(key).is_none() {
        return Reply::Int(-2);
    }
    let Some(expire) = ctx.db().expire_of(key) else {
        return Reply::Int(-1);
    };
    let ttl = if output_abs { expire } else { expire.saturating_sub(ctx.now_ms()) }.max(0);
    Reply::Int(if output_ms { ttl } else { (ttl + 500) / 1000 })
}

fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    ttl_generic(ctx, argv, false, false)
}

fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    ttl_generic(ctx, argv, true, false)
}

fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    ttl_generic(ctx, argv, false, true)
}

fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    ttl_generic(ctx, argv, true, true)
}

fn persist(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    if ctx.lookup_write(key).is_none() || !ctx.db().remove_expire(key) {
        return Reply::Int(0);
    }
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(1)
}

#[cfg(test)]
mod tests {
    use super::parse_scan_cursor;

    #[test]
    fn scan_cursor_is_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+7"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 0"), None);
        assert_eq!(parse_scan_cursor(b"0 "), None);
        assert_eq!(parse_scan_cursor(b"+"), None);
        assert_eq!(parse_scan_cursor(b"x"), None);
        assert_eq!(parse_scan_cursor(b"0\0abc"), Some(0));
        assert_eq!(parse_scan_cursor(b"\0"), Some(0));
    }
}
