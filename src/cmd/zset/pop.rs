//! Pops: ZPOPMIN, ZPOPMAX, ZMPOP, and their blocking forms BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! All of them go through `genericZpopCommand`: take the first existing key, pop up to `count`
//! members from one end, delete the key if it emptied. What reaches the AOF is always a plain
//! `ZPOPMIN`/`ZPOPMAX` of that key, so that a replay pops exactly the same members.
//!
//! **Blocking.** When no key has data, the client blocks until one gets some (the engine then
//! runs the command again) or the timeout passes (`*-1`). Inside MULTI/EXEC nothing may block:
//! the timeout reply comes at once.

use super::{tri, write};
use crate::cmd::args;
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;

pub fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zpop_min_max(ctx, argv, false)
}

pub fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zpop_min_max(ctx, argv, true)
}

/// ZPOPMIN/ZPOPMAX key [count].
fn zpop_min_max(ctx: &mut Ctx, argv: &[&[u8]], max: bool) -> Reply {
    if argv.len() > 3 {
        return Reply::syntax();
    }
    let count = match argv.get(2) {
        Some(a) => Some(tri!(args::positive(a, "ERR value is out of range, must be positive"))),
        None => None,
    };
    // `use_nested_array`: over RESP3, a pop with a count answers `[member, score]` pairs.
    let shape = if ctx.resp3() && count.is_some() { Shape::Pairs } else { Shape::Flat };
    generic_zpop(ctx, &argv[1..2], max, shape, count).0
}

/// How the popped members are laid out in the reply.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// ZPOPMIN: `member score member score …`
    Flat,
    /// ZPOPMIN with a count over RESP3: `[member score] …`
    Pairs,
    /// BZPOPMIN: `key member score`
    WithKey,
    /// ZMPOP/BZMPOP: `key [[member score] …]`, and a null array when nothing was found.
    Nested,
}

/// `genericZpopCommand`. `count` None is Redis's -1 (one member, the single-pop reply shape).
/// Returns the reply and, when something was popped, the key and how many members.
fn generic_zpop(ctx: &mut Ctx, keys: &[&[u8]], max: bool, shape: Shape, count: Option<i64>) -> (Reply, Option<(Vec<u8>, usize)>) {
    let mut found = None;
    for &key in keys {
        match write(ctx, key) {
            Err(e) => return (e, None),
            Ok(None) => continue,
            Ok(Some(_)) => {
                found = Some(key);
                break;
            }
        }
    }
    let Some(key) = found else {
        return (if shape == Shape::Nested { Reply::NilArray } else { Reply::Array(Vec::new()) }, None);
    };
    if count == Some(0) {
        return (Reply::Array(Vec::new()), None);
    }
    let want = count.unwrap_or(1).max(1) as u64;
    let Ok(Some(z)) = write(ctx, key) else {
        return (Reply::Array(Vec::new()), None);
    };
    let n = want.min(z.len() as u64) as usize;
    let mut popped = Vec::with_capacity(n);
    for _ in 0..n {
        if let Some(p) = z.pop(max) {
            popped.push(p);
        }
    }
    let emptied = z.is_empty();
    ctx.dirty(popped.len() as u64);
    ctx.signal_modified(key);
    if emptied {
        ctx.delete_key(key);
    }
    let mut out = Vec::with_capacity(2 * popped.len() + 1);
    let reply = match shape {
        Shape::Flat | Shape::WithKey => {
            if shape == Shape::WithKey {
                out.push(Reply::bulk(key));
            }
            for (m, s) in &popped {
                out.push(Reply::bulk(m.as_slice()));
                out.push(Reply::double(*s));
            }
            Reply::Array(out)
        }
        Shape::Pairs => {
            Reply::Array(popped.iter().map(|(m, s)| Reply::Array(vec![Reply::bulk(m.as_slice()), Reply::double(*s)])).collect())
        }
        Shape::Nested => {
            let pairs = popped.iter().map(|(m, s)| Reply::Array(vec![Reply::bulk(m.as_slice()), Reply::double(*s)])).collect();
            Reply::Array(vec![Reply::bulk(key), Reply::Array(pairs)])
        }
    };
    (reply, Some((key.to_vec(), popped.len())))
}

/// The propagated form of a pop: `ZPOPMIN key` or, with a count, `ZPOPMIN key <n popped>`.
fn rewrite_as_zpop(ctx: &mut Ctx, max: bool, key: &[u8], popped: Option<usize>) {
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    match popped {
        Some(n) => ctx.rewrite_argv(&[name, key, n.to_string().as_bytes()]),
        None => ctx.rewrite_argv(&[name, key]),
    }
}

pub fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    blocking_zpop(ctx, &argv[1..argv.len() - 1], argv[argv.len() - 1], false, Shape::WithKey, None)
}

pub fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    blocking_zpop(ctx, &argv[1..argv.len() - 1], argv[argv.len() - 1], true, Shape::WithKey, None)
}

pub fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zmpop_generic(ctx, argv, 1, false)
}

pub fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    zmpop_generic(ctx, argv, 2, true)
}

/// `zmpopGenericCommand`: [timeout] numkeys key [key …] MIN|MAX [COUNT count].
fn zmpop_generic(ctx: &mut Ctx, argv: &[&[u8]], numkeys_idx: usize, blocking: bool) -> Reply {
    let numkeys = match string2ll(argv[numkeys_idx]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Reply::err("ERR numkeys should be greater than 0"),
    };
    let where_idx = match usize::try_from(numkeys).ok().and_then(|n| n.checked_add(numkeys_idx + 1)) {
        Some(i) if i < argv.len() => i,
        _ => return Reply::syntax(),
    };
    let max = if args::is(argv[where_idx], "min") {
        false
    } else if args::is(argv[where_idx], "max") {
        true
    } else {
        return Reply::syntax();
    };
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && args::is(argv[j], "count") && more > 0 {
            j += 1;
            match string2ll(argv[j]) {
                Some(n) if n >= 1 => count = Some(n),
                _ => return Reply::err("ERR count should be greater than 0"),
            }
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    let count = count.unwrap_or(1);
    let keys = &argv[numkeys_idx + 1..where_idx];
    if blocking {
        return blocking_zpop(ctx, keys, argv[1], max, Shape::Nested, Some(count));
    }
    let (reply, popped) = generic_zpop(ctx, keys, max, Shape::Nested, Some(count));
    if let Some((key, n)) = popped {
        rewrite_as_zpop(ctx, max, &key, Some(n));
    }
    reply
}

/// `blockingGenericZpopCommand`: pop from the first non-empty key, else block.
fn blocking_zpop(ctx: &mut Ctx, keys: &[&[u8]], timeout: &[u8], max: bool, shape: Shape, count: Option<i64>) -> Reply {
    let deadline = tri!(parse_timeout(timeout, ctx.now_ms()));
    for &key in keys {
        match write(ctx, key) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(_)) => {
                let (reply, popped) = generic_zpop(ctx, &[key], max, shape, count);
                if let Some((key, n)) = popped {
                    rewrite_as_zpop(ctx, max, &key, count.map(|_| n));
                }
                return reply;
            }
        }
    }
    if ctx.client.in_exec {
        return Reply::NilArray;
    }
    ctx.block(keys.iter().map(|k| k.to_vec()).collect(), deadline, Reply::NilArray);
    Reply::NilArray
}

/// `getTimeoutFromObjectOrReply` in seconds: the absolute deadline in ms, 0 = wait forever.
/// Shared with the list commands, which compute it in x87 long double as Redis does.
fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<i64, Reply> {
    let ms = crate::cmd::list::timeout_ms(arg)?;
    Ok(if ms > 0 { now_ms.wrapping_add(ms) } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{TIMEOUT_NEGATIVE, TIMEOUT_NOT_FLOAT};

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(0));
        assert_eq!(parse_timeout(b"1.5", 1000), Ok(2500));
        assert_eq!(parse_timeout(b"0.0001", 1000), Ok(1001));
        assert_eq!(parse_timeout(b"-0.0001", 1000), Ok(0));
        assert_eq!(parse_timeout(b"-0", 1000), Ok(0));
        assert_eq!(parse_timeout(b"-1", 0), Err(Reply::err(TIMEOUT_NEGATIVE)));
        assert_eq!(parse_timeout(b"inf", 0), Err(Reply::err(TIMEOUT_NEGATIVE)));
        assert_eq!(parse_timeout(b"1e400", 0), Err(Reply::err(TIMEOUT_NEGATIVE)));
        assert_eq!(parse_timeout(b"9.3e15", 0), Err(Reply::err(TIMEOUT_NEGATIVE)));
        assert_eq!(parse_timeout(b"1e5000", 0), Err(Reply::err(TIMEOUT_NOT_FLOAT)));
        assert_eq!(parse_timeout(b"nan", 0), Err(Reply::err(TIMEOUT_NOT_FLOAT)));
        assert_eq!(parse_timeout(b"", 0), Err(Reply::err(TIMEOUT_NOT_FLOAT)));
        assert_eq!(parse_timeout(b" 1", 0), Err(Reply::err(TIMEOUT_NOT_FLOAT)));
        assert_eq!(parse_timeout(b"x", 0), Err(Reply::err(TIMEOUT_NOT_FLOAT)));
        assert_eq!(parse_timeout(b"1e-400", 5), Ok(6));
        assert!(parse_timeout(b"9.2e15", 5).is_ok_and(|d| d > 0));
    }
}
