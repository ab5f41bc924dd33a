//! Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS
//! LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
//!
//! A list is a `VecDeque` of elements, head (LEFT) first. Redis never keeps an empty list: the
//! command that removes the last element deletes the key.
//!
//! **Blocking.** A blocking pop that finds data is served at once and propagated as its
//! non-blocking form (`BLPOP` → `LPOP key`, `BLMPOP` → `LPOP key <popped>`, `BLMOVE` → `LMOVE`,
//! `BRPOPLPUSH` → `RPOPLPUSH`), so the AOF never holds a command that could block on replay.
//! Without data the client blocks ([`Ctx::block`]), except inside EXEC (and while loading),
//! where it gets its timeout reply at once. When a key gets data, the engine re-runs the command
//! with [`Client::ready_key`](crate::server::Client::ready_key) set: it then serves that key
//! only (as Redis serves one ready key at a time) and its pop reaches the AOF right after the
//! push that fed it.
//!
//! Timeouts are seconds parsed like Redis's `getTimeoutFromObjectOrReply`: `strtold`, a
//! multiplication in x87 `long double`, then `ceill` to whole milliseconds (so `0.0001` waits
//! 1 ms and `-0.0001` waits forever). [`timeout_ms`] reproduces that arithmetic exactly, see
//! [`ld`].

use std::collections::VecDeque;

use super::args::{int, positive};
use super::{BLOCKING, Command, DENYOOM, FAST, Group, NOSCRIPT, READONLY, WRITE};
use crate::keyspace::{Key, Value};
use crate::reply::{self, Reply};
use crate::server::Ctx;
use crate::util::string2ll;

pub static COMMANDS: &[Command] = &[
    Command {
        summary: "Prepend one or multiple elements to a list",
        ..Command::new("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::List, lpush)
    },
    Command {
        summary: "Append one or multiple elements to a list",
        ..Command::new("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::List, rpush)
    },
    Command {
        since: "2.2.0",
        summary: "Prepend an element to a list, only if the list exists",
        ..Command::new("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::List, lpushx)
    },
    Command {
        since: "2.2.0",
        summary: "Append an element to a list, only if the list exists",
        ..Command::new("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::List, rpushx)
    },
    Command {
        summary: "Remove and get the first elements in a list",
        ..Command::new("lpop", -2, WRITE | FAST, (1, 1, 1), Group::List, lpop)
    },
    Command {
        summary: "Remove and get the last elements in a list",
        ..Command::new("rpop", -2, WRITE | FAST, (1, 1, 1), Group::List, rpop)
    },
    Command { summary: "Get the length of a list", ..Command::new("llen", 2, READONLY | FAST, (1, 1, 1), Group::List, llen) },
    Command { summary: "Get a range of elements from a list", ..Command::new("lrange", 4, READONLY, (1, 1, 1), Group::List, lrange) },
    Command { summary: "Get an element from a list by its index", ..Command::new("lindex", 3, READONLY, (1, 1, 1), Group::List, lindex) },
    Command {
        summary: "Set the value of an element in a list by its index",
        ..Command::new("lset", 4, WRITE | DENYOOM, (1, 1, 1), Group::List, lset)
    },
    Command { summary: "Remove elements from a list", ..Command::new("lrem", 4, WRITE, (1, 1, 1), Group::List, lrem) },
    Command { summary: "Trim a list to the specified range", ..Command::new("ltrim", 4, WRITE, (1, 1, 1), Group::List, ltrim) },
    Command {
        since: "2.2.0",
        summary: "Insert an element before or after another element in a list",
        ..Command::new("linsert", 5, WRITE | DENYOOM, (1, 1, 1), Group::List, linsert)
    },
    Command {
        since: "6.0.6",
        summary: "Return the index of matching elements on a list",
        ..Command::new("lpos", -3, READONLY, (1, 1, 1), Group::List, lpos)
    },
    Command {
        since: "6.2.0",
        summary: "Pop an element from a list, push it to another list and return it",
        ..Command::new("lmove", 5, WRITE | DENYOOM, (1, 2, 1), Group::List, lmove)
    },
    Command {
        since: "1.2.0",
        summary: "Remove the last element in a list, prepend it to another list and return it",
        ..Command::new("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), Group::List, rpoplpush)
    },
    // LMPOP and BLMPOP have movable keys (after `numkeys`): no legacy key range.
    Command { since: "7.0.0", summary: "Pop elements from a list", ..Command::new("lmpop", -4, WRITE, (0, 0, 0), Group::List, lmpop) },
    Command {
        since: "2.0.0",
        summary: "Remove and get the first element in a list, or block until one is available",
        ..Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Group::List, blpop)
    },
    Command {
        since: "2.0.0",
        summary: "Remove and get the last element in a list, or block until one is available",
        ..Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), Group::List, brpop)
    },
    Command {
        since: "6.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
        ..Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Group::List, blmove)
    },
    Command {
        since: "2.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
        ..Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), Group::List, brpoplpush)
    },
    Command {
        since: "7.0.0",
        summary: "Pop elements from a list, or block until one is available",
        ..Command::new("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), Group::List, blmpop)
    },
];

/// `LIST_HEAD` (LEFT) or `LIST_TAIL` (RIGHT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

impl End {
    /// `getStringObjectBySide`: the lowercase words Redis itself writes (`shared.left`).
    fn side_word(self) -> &'static [u8] {
        match self {
            End::Head => b"left",
            End::Tail => b"right",
        }
    }
    fn pop_command(self) -> &'static [u8] {
        match self {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        }
    }
}

type List = VecDeque<Vec<u8>>;

/// `getListPositionFromObjectOrReply`.
fn end_arg(a: &[u8]) -> Result<End, Reply> {
    if a.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if a.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(Reply::syntax())
    }
}

fn push_end(l: &mut List, end: End, e: Vec<u8>) {
    match end {
        End::Head => l.push_front(e),
        End::Tail => l.push_back(e),
    }
}

fn pop_end(l: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Head => l.pop_front(),
        End::Tail => l.pop_back(),
    }
}

/// Pops up to `n` elements in pop order (an RPOP range comes tail first, like Redis's reversed
/// range reply).
fn pop_n(l: &mut List, end: End, n: usize) -> Vec<Vec<u8>> {
    let n = n.min(l.len());
    match end {
        End::Head => l.drain(..n).collect(),
        End::Tail => l.drain(l.len() - n..).rev().collect(),
    }
}

/// Resolves a negative index from the tail (`quicklistIndex`); `None` when out of range.
fn list_index(len: usize, index: i64) -> Option<usize> {
    let len = len as i128;
    let i = i128::from(index);
    let i = if i < 0 { len + i } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

/// The list at `key` for a write (`lookupKeyWrite` + `checkType`): `Ok(None)` when missing.
fn write_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut List>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// The list at `key` for a read (`lookupKeyRead` + `checkType`).
fn read_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a List>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `listElementsRemoved`: deletes the key once empty, touches it, counts `n` changes.
fn elements_removed(ctx: &mut Ctx, key: &[u8], n: usize) {
    if matches!(ctx.db().get(key), Some(Value::List(l)) if l.is_empty()) {
        ctx.db().remove(key);
    }
    ctx.signal_modified(key);
    ctx.dirty(n as u64);
}

fn unwrap_reply(r: Result<Reply, Reply>) -> Reply {
    r.unwrap_or_else(|e| e)
}

// ---------------------------------------------------------------------------------------------
// Push

fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    push_generic(ctx, argv, End::Head, false)
}
fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    push_generic(ctx, argv, End::Tail, false)
}
fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    push_generic(ctx, argv, End::Head, true)
}
fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    push_generic(ctx, argv, End::Tail, true)
}

/// `pushGenericCommand`; `xx` for LPUSHX/RPUSHX (only an existing list).
fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End, xx: bool) -> Reply {
    let key = argv[1];
    let elements = &argv[2..];
    let len = match write_list(ctx, key) {
        Err(e) => return e,
        Ok(Some(l)) => {
            for e in elements {
                push_end(l, end, e.to_vec());
            }
            l.len()
        }
        Ok(None) if xx => return Reply::Int(0),
        Ok(None) => {
            let mut l = List::with_capacity(elements.len());
            for e in elements {
                push_end(&mut l, end, e.to_vec());
            }
            let len = l.len();
            // dbAdd: wakes the clients blocked on this key.
            ctx.db_add(key.to_vec(), Value::List(l));
            len
        }
    };
    ctx.signal_modified(key);
    ctx.dirty(elements.len() as u64);
    Reply::Int(len as i64)
}

// ---------------------------------------------------------------------------------------------
// Pop and read

fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    pop_generic(ctx, argv, End::Head)
}
fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    pop_generic(ctx, argv, End::Tail)
}

/// `popGenericCommand`: one element as a bulk, or with a count an array (a missing key is then
/// a null array, and a count of 0 an empty array).
fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End) -> Reply {
    if argv.len() > 3 {
        return Reply::wrong_arity(ctx.cmd.name);
    }
    let count = match argv.get(2) {
        Some(a) => match positive(a, "ERR value is out of range, must be positive") {
            Ok(n) => Some(n),
            Err(e) => return e,
        },
        None => None,
    };
    let key = argv[1];
    let l = match write_list(ctx, key) {
        Err(e) => return e,
        Ok(None) => return if count.is_some() { Reply::NilArray } else { Reply::Nil },
        Ok(Some(l)) => l,
    };
    match count {
        Some(0) => Reply::Array(Vec::new()),
        None => {
            let Some(value) = pop_end(l, end) else {
                return Reply::Nil; // an empty list never stays in the keyspace
            };
            elements_removed(ctx, key, 1);
            Reply::Bulk(value)
        }
        Some(n) => {
            let popped = pop_n(l, end, usize::try_from(n).unwrap_or(usize::MAX));
            let n = popped.len();
            elements_removed(ctx, key, n);
            Reply::array_of_bulks(popped)
        }
    }
}

fn llen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_list(ctx, argv[1]) {
        Err(e) => e,
        Ok(l) => Reply::Int(l.map_or(0, |l| l.len() as i64)),
    }
}

/// `start`/`end` (inclusive, negative from the tail) clamped to the list, or `None` when empty.
fn clamp_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    unwrap_reply((|| {
        // The indexes are parsed before the key is looked up.
        let start = int(argv[2])?;
        let end = int(argv[3])?;
        let Some(l) = read_list(ctx, argv[1])? else {
            return Ok(Reply::Array(Vec::new()));
        };
        Ok(match clamp_range(l.len(), start, end) {
            None => Reply::Array(Vec::new()),
            Some((s, e)) => Reply::array_of_bulks(l.range(s..=e).cloned()),
        })
    })())
}

fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    unwrap_reply((|| {
        // The key comes first here: LINDEX nokey abc is a nil, not an error.
        let Some(l) = read_list(ctx, argv[1])? else {
            return Ok(Reply::Nil);
        };
        let index = int(argv[2])?;
        Ok(match list_index(l.len(), index) {
            Some(i) => Reply::bulk(l[i].clone()),
            None => Reply::Nil,
        })
    })())
}

fn lset(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let r = (|| {
        let Some(l) = write_list(ctx, key)? else {
            return Err(Reply::err(reply::NO_SUCH_KEY));
        };
        let index = int(argv[2])?;
        let i = list_index(l.len(), index).ok_or(Reply::err(reply::OUT_OF_RANGE))?;
        l[i] = argv[3].to_vec();
        Ok(())
    })();
    match r {
        Err(e) => e,
        Ok(()) => {
            ctx.signal_modified(key);
            ctx.dirty(1);
            Reply::ok()
        }
    }
}

fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let toremove = match int(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let element = argv[3];
    let l = match write_list(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(l)) => l,
    };
    // A negative count removes from the tail. C negates in place: i64::MIN stays negative and
    // so never equals the removed count, which removes them all.
    let from_tail = toremove < 0;
    let limit = if from_tail { toremove.wrapping_neg() } else { toremove };
    let mut removed: i64 = 0;
    if from_tail {
        let mut i = l.len();
        while i > 0 {
            i -= 1;
            if l[i] == element {
                l.remove(i);
                removed += 1;
                if limit != 0 && removed == limit {
                    break;
                }
            }
        }
    } else {
        let mut i = 0;
        while i < l.len() {
            if l[i] == element {
                l.remove(i);
                removed += 1;
                if limit != 0 && removed == limit {
                    break;
                }
            } else {
                i += 1;
            }
        }
    }
    if l.is_empty() {
        ctx.db().remove(key);
    }
    if removed > 0 {
        ctx.signal_modified(key);
    }
    ctx.dirty(removed as u64);
    Reply::Int(removed)
}

fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let (start, end) = match (int(argv[2]), int(argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let l = match write_list(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::ok(),
        Ok(Some(l)) => l,
    };
    let len = l.len();
    let (ltrim, rtrim) = match clamp_range(len, start, end) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    l.drain(..ltrim);
    let keep = l.len() - rtrim;
    l.truncate(keep);
    if l.is_empty() {
        ctx.db().remove(key);
    }
    // LTRIM touches the key even when it removed nothing (but only propagates a change).
    ctx.signal_modified(key);
    ctx.dirty((ltrim + rtrim) as u64);
    Reply::ok()
}

fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    // BEFORE/AFTER is checked before the key is looked up.
    let after = if argv[2].eq_ignore_ascii_case(b"after") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Reply::syntax();
    };
    let l = match write_list(ctx, key) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(l)) => l,
    };
    let Some(pos) = l.iter().position(|e| e == argv[3]) else {
        return Reply::Int(-1);
    };
    l.insert(if after { pos + 1 } else { pos }, argv[4].to_vec());
    let len = l.len();
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(len as i64)
}

fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let element = argv[2];
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = argv[j];
        let more = j + 1 < argv.len();
        if opt.eq_ignore_ascii_case(b"RANK") && more {
            j += 1;
            rank = match int(argv[j]) {
                Ok(r) => r,
                Err(e) => return e,
            };
            if rank == 0 {
                return Reply::err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                );
            }
        } else if opt.eq_ignore_ascii_case(b"COUNT") && more {
            j += 1;
            count = match positive(argv[j], "ERR COUNT can't be negative") {
                Ok(c) => Some(c),
                Err(e) => return e,
            };
        } else if opt.eq_ignore_ascii_case(b"MAXLEN") && more {
            j += 1;
            maxlen = match positive(argv[j], "ERR MAXLEN can't be negative") {
                Ok(m) => m,
                Err(e) => return e,
            };
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    // A negative rank scans from the tail. C negates in place, so i64::MIN stays negative:
    // every match then satisfies `matches >= rank` (the real server agrees).
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let l = match read_list(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil },
        Ok(Some(l)) => l,
    };
    let len = l.len();
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    for index in 0..len {
        if maxlen != 0 && index as i64 >= maxlen {
            break;
        }
        let pos = if from_tail { len - index - 1 } else { index };
        if l[pos] != element {
            continue;
        }
        matches += 1;
        if matches >= rank {
            found.push(Reply::Int(pos as i64));
            match count {
                None => break,
                Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => break,
                Some(_) => {}
            }
        }
    }
    match count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Nil),
    }
}

// ---------------------------------------------------------------------------------------------
// LMOVE and RPOPLPUSH

fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (from, to) = match (end_arg(argv[3]), end_arg(argv[4])) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    lmove_generic(ctx, argv[1], argv[2], from, to).unwrap_or_else(|e| e)
}

fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    lmove_generic(ctx, argv[1], argv[2], End::Tail, End::Head).unwrap_or_else(|e| e)
}

/// `lmoveGenericCommand`: `Ok(Nil)` when the source is missing; the destination's type is
/// checked before anything is popped. Source and destination may be the same list (rotation).
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> Result<Reply, Reply> {
    match write_list(ctx, src)? {
        None => return Ok(Reply::Nil),
        Some(l) if l.is_empty() => return Ok(Reply::Nil),
        Some(_) => {}
    }
    let dst_exists = write_list(ctx, dst)?.is_some();
    let Some(Value::List(l)) = ctx.db().get_mut(src) else {
        return Ok(Reply::Nil);
    };
    let Some(value) = pop_end(l, from) else {
        return Ok(Reply::Nil);
    };
    // lmoveHandlePush: the source is still in place (possibly empty) when src == dst.
    if dst_exists {
        if let Some(Value::List(d)) = ctx.db().get_mut(dst) {
            push_end(d, to, value.clone());
        }
    } else {
        ctx.db_add(dst.to_vec(), Value::List(List::from([value.clone()])));
    }
    ctx.signal_modified(dst);
    if matches!(ctx.db().get(src), Some(Value::List(l)) if l.is_empty()) {
        ctx.db().remove(src);
    }
    ctx.signal_modified(src);
    ctx.dirty(1);
    Ok(Reply::Bulk(value))
}

// ---------------------------------------------------------------------------------------------
// LMPOP and the blocking commands

/// What a pop over several keys pops: one element (`BLPOP`, reply `[key, value]`) or up to
/// `count` (`LMPOP`/`BLMPOP`, reply `[key, [values…]]`).
#[derive(Clone, Copy)]
enum PopKind {
    One,
    Count(i64),
}

fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match parse_mpop(argv, 1) {
        Err(e) => e,
        Ok((keys, end, count)) => match mpop_first(ctx, &keys, end, PopKind::Count(count)) {
            Err(e) => e,
            Ok(Some(r)) => r,
            Ok(None) => Reply::NilArray,
        },
    }
}

/// `lmpopGenericCommand`'s parsing: `numkeys key… LEFT|RIGHT [COUNT n]`, numkeys at `numkeys_idx`.
fn parse_mpop<'a>(argv: &[&'a [u8]], numkeys_idx: usize) -> Result<(Vec<&'a [u8]>, End, i64), Reply> {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    let numkeys = match string2ll(argv[numkeys_idx]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Reply::err(NUMKEYS)),
    };
    let where_idx = (numkeys_idx as u64).checked_add(numkeys).and_then(|i| i.checked_add(1));
    let where_idx = match where_idx.and_then(|i| usize::try_from(i).ok()) {
        Some(i) if i < argv.len() => i,
        _ => return Err(Reply::syntax()),
    };
    let end = end_arg(argv[where_idx])?;
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && argv[j].eq_ignore_ascii_case(b"COUNT") && j + 1 < argv.len() {
            j += 1;
            count = match string2ll(argv[j]) {
                Some(n) if n >= 1 => Some(n),
                _ => return Err(Reply::err("ERR count should be greater than 0")),
            };
        } else {
            return Err(Reply::syntax());
        }
        j += 1;
    }
    Ok((argv[numkeys_idx + 1..where_idx].to_vec(), end, count.unwrap_or(1)))
}

/// Pops from the first key holding a non-empty list (or only from the ready key when the
/// engine re-runs a blocked command) and rewrites the command for propagation. `Ok(None)`:
/// nothing to pop. A non-list key met before data is a WRONGTYPE error, except for a ready key
/// that changed type, which is just not served (Redis keeps that client blocked).
fn mpop_first(ctx: &mut Ctx, keys: &[&[u8]], end: End, kind: PopKind) -> Result<Option<Reply>, Reply> {
    let ready = ctx.client.ready_key.clone();
    let candidates: Vec<&[u8]> = match &ready {
        Some(k) => vec![k.as_slice()],
        None => keys.to_vec(),
    };
    for key in candidates {
        let l = match ctx.lookup_write(key) {
            None => continue,
            Some(Value::List(l)) if l.is_empty() => continue,
            Some(Value::List(l)) => l,
            Some(_) if ready.is_some() => return Ok(None),
            Some(_) => return Err(Reply::wrongtype()),
        };
        let reply = match kind {
            PopKind::One => {
                let Some(value) = pop_end(l, end) else { continue };
                elements_removed(ctx, key, 1);
                ctx.rewrite_argv(&[end.pop_command(), key]);
                Reply::Array(vec![Reply::bulk(key), Reply::Bulk(value)])
            }
            PopKind::Count(count) => {
                let popped = pop_n(l, end, usize::try_from(count).unwrap_or(usize::MAX));
                let n = popped.len();
                elements_removed(ctx, key, n);
                // Propagated as [LR]POP key <n>, n clamped to what was really popped.
                ctx.rewrite_argv(&[end.pop_command(), key, n.to_string().as_bytes()]);
                Reply::Array(vec![Reply::bulk(key), Reply::array_of_bulks(popped)])
            }
        };
        return Ok(Some(reply));
    }
    Ok(None)
}

/// May this client block? Not inside EXEC (`CLIENT_DENY_BLOCKING`), nor while the AOF loads
/// (the loading client may not block either).
fn may_block(ctx: &Ctx) -> bool {
    !ctx.client.in_exec && !ctx.srv.loading
}

/// Blocks on `keys` (each once) with every list command's timeout reply, `*-1`.
fn block_on(ctx: &mut Ctx, keys: &[&[u8]], deadline: i64) {
    let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
    for k in keys {
        if !unique.iter().any(|u| u == k) {
            unique.push(k.to_vec());
        }
    }
    ctx.block(unique, deadline, Reply::NilArray);
}

fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    blocking_pop(ctx, &argv[1..argv.len() - 1], argv[argv.len() - 1], End::Head, PopKind::One)
}
fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    blocking_pop(ctx, &argv[1..argv.len() - 1], argv[argv.len() - 1], End::Tail, PopKind::One)
}

fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match parse_mpop(argv, 2) {
        Err(e) => e,
        Ok((keys, end, count)) => blocking_pop(ctx, &keys, argv[1], end, PopKind::Count(count)),
    }
}

/// `blockingPopGenericCommand`: the timeout is checked first, then the keys in order.
fn blocking_pop(ctx: &mut Ctx, keys: &[&[u8]], timeout: &[u8], end: End, kind: PopKind) -> Reply {
    let deadline = match deadline_from_timeout(ctx, timeout) {
        Ok(d) => d,
        Err(e) => return e,
    };
    match mpop_first(ctx, keys, end, kind) {
        Err(e) => e,
        Ok(Some(r)) => r,
        Ok(None) if !may_block(ctx) => Reply::NilArray,
        Ok(None) => {
            block_on(ctx, keys, deadline);
            Reply::NilArray
        }
    }
}

fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (from, to) = match (end_arg(argv[3]), end_arg(argv[4])) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    blocking_move(ctx, argv, argv[5], from, to, false)
}

fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    blocking_move(ctx, argv, argv[3], End::Tail, End::Head, true)
}

/// `blmoveGenericCommand`: LMOVE at once if the source has data (propagated as LMOVE, or
/// RPOPLPUSH for BRPOPLPUSH), otherwise block on the source alone.
fn blocking_move(ctx: &mut Ctx, argv: &[&[u8]], timeout: &[u8], from: End, to: End, brpoplpush: bool) -> Reply {
    let deadline = match deadline_from_timeout(ctx, timeout) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let (src, dst) = (argv[1], argv[2]);
    let rerun = ctx.client.ready_key.is_some();
    let has_data = match ctx.lookup_write(src) {
        Some(Value::List(l)) => !l.is_empty(),
        Some(_) if rerun => false, // the ready key changed type: not served, still blocked
        Some(_) => return Reply::wrongtype(),
        None => false,
    };
    if !has_data {
        if !may_block(ctx) {
            return Reply::Nil;
        }
        block_on(ctx, &[src], deadline);
        return Reply::Nil;
    }
    let reply = match lmove_generic(ctx, src, dst, from, to) {
        Ok(r) => r,
        // A wrong-typed destination fails the command (and unblocks a served client).
        Err(e) => return e,
    };
    if brpoplpush {
        ctx.rewrite_argv(&[&b"RPOPLPUSH"[..], src, dst]);
    } else if rerun {
        // Served after blocking: Redis writes its own lowercase side words.
        ctx.rewrite_argv(&[&b"LMOVE"[..], src, dst, from.side_word(), to.side_word()]);
    } else {
        ctx.rewrite_argv(&[&b"LMOVE"[..], src, dst, argv[3], argv[4]]);
    }
    reply
}

/// The absolute deadline in unix ms for a timeout argument in seconds (0 = block forever).
fn deadline_from_timeout(ctx: &Ctx, arg: &[u8]) -> Result<i64, Reply> {
    let ms = timeout_ms(arg)?;
    // Redis adds the time without an overflow check; a wrapped (negative) deadline simply
    // times out at the next check.
    Ok(if ms > 0 { ms.wrapping_add(ctx.now_ms()) } else { 0 })
}

/// `getTimeoutFromObjectOrReply(…, UNIT_SECONDS)` without the clock: the timeout in ms,
/// `(long long)ceill(strtold(arg) * 1000.0)` computed in x87 extended precision (read from the
/// 7.0.15 binary). Infinite or out-of-range products convert to `i64::MIN` (x86's "integer
/// indefinite"), so they are reported as negative, as on the real server (`BLPOP k 1e300`).
pub fn timeout_ms(arg: &[u8]) -> Result<i64, Reply> {
    let ms = ld::seconds_to_ms(arg).ok_or(Reply::err(reply::TIMEOUT_NOT_FLOAT))?;
    if ms < 0 {
        return Err(Reply::err(reply::TIMEOUT_NEGATIVE));
    }
    Ok(ms)
}

/// Just enough of x87 80-bit `long double` (64-bit significand, round to nearest even) to
/// reproduce `(long long)ceill(strtold(s) * 1000.0)` bit for bit, with `string2ld`'s
/// acceptance rules: at most 5119 bytes, the C string ends at the first NUL, no leading space,
/// no NaN, no overflow, no underflow to zero.
///
/// The decimal (or C99 hex) value is rounded once to 64 significant bits (`strtold`), the
/// product by 1000 is rounded again (`fmuls`), then rounded up to an integer (`ceill`) and
/// converted (`fistp`). Exact big-integer arithmetic makes both roundings correct for any
/// input length (`16.3` is 16299.99… in `long double`, hence 16300 ms, while `0.1` × 1000
/// rounds back to exactly 100). Values outside the range where the result can be a valid
/// millisecond count are classified by magnitude.
pub mod ld {
    use std::cmp::Ordering;

    /// `MAX_LONG_DOUBLE_CHARS` in Redis: longer strings are refused.
    const MAX_CHARS: usize = 5 * 1024;
    /// Largest binary exponent of a finite long double (`LDBL_MAX_EXP - 1`).
    const MAX_EXP: i64 = 16383;
    /// A value below 2^-16446 (half the smallest subnormal) rounds to zero: ERANGE, refused.
    const ZERO_EXP: i64 = -16446;

    /// `None` where `string2ld` refuses the string; otherwise the product rounded up, with
    /// `i64::MIN` for anything that does not fit (as the x87 conversion gives).
    pub fn seconds_to_ms(arg: &[u8]) -> Option<i64> {
        if arg.is_empty() || arg.len() >= MAX_CHARS {
            return None;
        }
        let s = &arg[..arg.iter().position(|&c| c == 0).unwrap_or(arg.len())];
        if s.first().is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')) {
            return None;
        }
        if s.is_empty() {
            return Some(0); // strtold("") converts nothing and ends on the NUL: 0, accepted.
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num = parse(body)?;
        let (mant, exp) = match num {
            Number::Infinite => return Some(i64::MIN),
            Number::Zero => return Some(0),
            Number::Finite(m, e) => (m, e),
        };
        Some(match to_ms_magnitude(mant, exp)? {
            None => i64::MIN,
            // ceil(-x) = -floor(x); -2^63 is the one negative magnitude that still fits.
            Some((floor, _)) if neg && floor <= 1u64 << 63 => (floor as i64).wrapping_neg(),
            Some(_) if neg => i64::MIN,
            Some((floor, fraction)) => floor.checked_add(u64::from(fraction)).and_then(|m| i64::try_from(m).ok()).unwrap_or(i64::MIN),
        })
    }

    /// Base of a parsed number's exponent.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Radix {
        Ten,
        Two,
    }

    enum Number {
        Infinite,
        Zero,
        /// `digits × radix^exp`, digits non-zero.
        Finite(Big, (Radix, i64)),
    }

    /// The unsigned part of `strtold`'s syntax, which must consume the whole string.
    fn parse(b: &[u8]) -> Option<Number> {
        let lower = b.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Number::Infinite);
        }
        if lower.len() > 2 && lower.starts_with(b"0x") {
            return parse_hex(&lower[2..]);
        }
        let (digits, frac_len, rest) = digits_with_point(&lower, 10)?;
        let exp = exponent(rest, b'e')?;
        let mant = Big::from_digits(&digits, 10);
        if mant.is_zero() {
            return Some(Number::Zero);
        }
        Some(Number::Finite(mant, (Radix::Ten, exp.saturating_sub(frac_len))))
    }

    fn parse_hex(b: &[u8]) -> Option<Number> {
        let (digits, frac_len, rest) = digits_with_point(b, 16)?;
        let exp = exponent(rest, b'p')?;
        let mant = Big::from_digits(&digits, 16);
        if mant.is_zero() {
            return Some(Number::Zero);
        }
        Some(Number::Finite(mant, (Radix::Two, exp.saturating_sub(frac_len.saturating_mul(4)))))
    }

    /// Digits with an optional point: (digit values, digits after the point, the rest).
    /// At least one digit is required.
    fn digits_with_point(b: &[u8], radix: u32) -> Option<(Vec<u8>, i64, &[u8])> {
        let mut digits = Vec::new();
        let mut frac_len = 0i64;
        let mut seen_point = false;
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c == b'.' && !seen_point {
                seen_point = true;
            } else if let Some(d) = (c as char).to_digit(radix) {
                digits.push(d as u8);
                if seen_point {
                    frac_len += 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        if digits.is_empty() {
            return None;
        }
        Some((digits, frac_len, &b[i..]))
    }

    /// An optional exponent (`e`/`p`, sign, decimal digits) ending the string; saturated far
    /// beyond any range that matters.
    fn exponent(rest: &[u8], marker: u8) -> Option<i64> {
        match rest.split_first() {
            None => Some(0),
            Some((&m, tail)) if m == marker => {
                let (neg, digits) = match tail.first() {
                    Some(b'-') => (true, &tail[1..]),
                    Some(b'+') => (false, &tail[1..]),
                    _ => (false, tail),
                };
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return None; // the exponent is not consumed: trailing garbage
                }
                let mut e: i64 = 0;
                for &d in digits {
                    e = (e * 10 + i64::from(d - b'0')).min(1_000_000_000);
                }
                Some(if neg { -e } else { e })
            }
            Some(_) => None,
        }
    }

    /// `|value| × 1000` as `Some(Some((floor, has_fraction)))`, `Some(None)` when it does not fit
    /// in 64 bits, `None` (refused by `string2ld`) on overflow or underflow to zero.
    #[allow(clippy::option_option)]
    fn to_ms_magnitude(mant: Big, (radix, exp): (Radix, i64)) -> Option<Option<(u64, bool)>> {
        // Binary exponent of the leading bit, roughly, to classify extreme magnitudes.
        let bits = mant.bit_len() as i64;
        let top = match radix {
            Radix::Two => bits - 1 + exp,
            // log2(10) ≈ 3.3219; the estimate is within a few units, which the margins cover.
            Radix::Ten => bits - 1 + (exp as f64 * std::f64::consts::LOG2_10).floor() as i64,
        };
        if top > MAX_EXP + 8 {
            return None; // overflow: HUGE_VALL with ERANGE
        }
        if top < ZERO_EXP - 8 {
            return None; // underflow to zero with ERANGE
        }
        if (80..MAX_EXP - 8).contains(&top) {
            return Some(None); // far beyond 2^63 ms
        }
        if (ZERO_EXP + 8..-20).contains(&top) {
            return Some(Some((0, true))); // far below one millisecond
        }
        // Exact: value = num / den.
        let (num, den) = match radix {
            Radix::Two if exp >= 0 => (mant.shl(exp as u64), Big::from_u64(1)),
            Radix::Two => (mant, Big::from_u64(1).shl(exp.unsigned_abs())),
            Radix::Ten if exp >= 0 => (mant.mul_pow10(exp as u64), Big::from_u64(1)),
            Radix::Ten => (mant, Big::from_u64(1).mul_pow10(exp.unsigned_abs())),
        };
        // strtold: round to 64 significant bits.
        let (m, e2, exact) = round64(&num, &den);
        let top = 63 + e2;
        if top > MAX_EXP {
            return None;
        }
        if top < ZERO_EXP || (top == ZERO_EXP && m == 1 << 63 && exact) {
            return None;
        }
        // fmul by 1000.0: the product has at most 74 bits; round it to 64 again.
        let p = u128::from(m) * 1000;
        let shift = (128 - p.leading_zeros()).saturating_sub(64);
        let (mut p, mut e2) = (p, e2);
        if shift > 0 {
            let kept = p >> shift;
            let rem = p & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let mut kept = kept;
            if rem > half || (rem == half && kept & 1 == 1) {
                kept += 1;
            }
            p = kept;
            e2 += i64::from(shift);
        }
        // Split into integer part and fraction; anything ≥ 2^64 cannot fit (nor can ≥ 2^63,
        // checked by the caller with the sign).
        if e2 >= 0 {
            let bits = 128 - i64::from(p.leading_zeros());
            if bits + e2 > 64 {
                return Some(None);
            }
            return Some(Some(((p << e2) as u64, false)));
        }
        let r = e2.unsigned_abs();
        if r >= 128 {
            return Some(Some((0, p != 0)));
        }
        Some(Some(((p >> r) as u64, p & ((1u128 << r) - 1) != 0)))
    }

    /// Rounds `num/den` (> 0) to a 64-bit significand: `(m, e2, exact)` with value ≈ m × 2^e2,
    /// `m` in [2^63, 2^64), ties to even.
    fn round64(num: &Big, den: &Big) -> (u64, i64, bool) {
        // Scale so that the quotient q = floor(num × 2^k / den) lies in [2^64, 2^65): 64 bits
        // plus one rounding bit; the remainder gives the sticky bit.
        let mut k: i64 = 65 - (num.bit_len() as i64 - den.bit_len() as i64);
        loop {
            let (a, b) = if k >= 0 { (num.shl(k as u64), den.clone()) } else { (num.clone(), den.shl(k.unsigned_abs())) };
            let (q, exact) = div_small_quotient(&a, &b);
            if q >= 1u128 << 65 {
                k -= 1;
                continue;
            }
            if q < 1u128 << 64 {
                k += 1;
                continue;
            }
            let round_bit = q & 1 == 1;
            let mut m = (q >> 1) as u64;
            let mut e2 = 1 - k;
            let sticky = !exact;
            if round_bit && (sticky || m & 1 == 1) {
                m = m.wrapping_add(1);
                if m == 0 {
                    m = 1 << 63;
                    e2 += 1;
                }
            }
            return (m, e2, exact && !round_bit);
        }
    }

    /// floor(a / b) for a quotient below 2^67, and whether the division is exact. Binary
    /// search on the quotient: simple, and cheap for the sizes `string2ld` allows.
    fn div_small_quotient(a: &Big, b: &Big) -> (u128, bool) {
        let (mut lo, mut hi) = (0u128, 1u128 << 67);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if b.mul_u128(mid).cmp(a) == Ordering::Greater {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        (lo, b.mul_u128(lo).cmp(a) == Ordering::Equal)
    }

    /// A non-negative big integer, little-endian base-2^32 limbs, no trailing zero limbs.
    #[derive(Clone, Debug, PartialEq)]
    pub(super) struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }
        fn from_digits(digits: &[u8], radix: u32) -> Big {
            let mut b = Big(Vec::new());
            for &d in digits {
                b.mul_add_small(radix, u32::from(d));
            }
            b
        }
        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }
        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }
        fn bit_len(&self) -> u64 {
            match self.0.last() {
                None => 0,
                Some(&top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
            }
        }
        fn mul_add_small(&mut self, m: u32, add: u32) {
            let mut carry = u64::from(add);
            for limb in &mut self.0 {
                let v = u64::from(*limb) * u64::from(m) + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }
        fn mul_pow10(mut self, mut e: u64) -> Big {
            while e > 0 {
                let step = e.min(9);
                self.mul_add_small(10u32.pow(step as u32), 0);
                e -= step;
            }
            self
        }
        fn shl(&self, bits: u64) -> Big {
            let (limbs, bits) = ((bits / 32) as usize, (bits % 32) as u32);
            let mut out = vec![0u32; limbs];
            out.reserve(self.0.len() + 1);
            let mut carry = 0u32;
            for &l in &self.0 {
                if bits == 0 {
                    out.push(l);
                } else {
                    out.push((l << bits) | carry);
                    carry = l >> (32 - bits);
                }
            }
            out.push(carry);
            let mut b = Big(out);
            b.trim();
            b
        }
        fn mul_u128(&self, m: u128) -> Big {
            let ms = [m as u32, (m >> 32) as u32, (m >> 64) as u32, (m >> 96) as u32];
            let mut out = vec![0u32; self.0.len() + ms.len() + 1];
            for (i, &a) in self.0.iter().enumerate() {
                let mut carry = 0u64;
                for (j, &b) in ms.iter().enumerate() {
                    let v = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                    out[i + j] = v as u32;
                    carry = v >> 32;
                }
                let mut k = i + ms.len();
                while carry > 0 {
                    let v = u64::from(out[k]) + carry;
                    out[k] = v as u32;
                    carry = v >> 32;
                    k += 1;
                }
            }
            let mut b = Big(out);
            b.trim();
            b
        }
        fn cmp(&self, other: &Big) -> Ordering {
            self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::seconds_to_ms;

        /// Values checked against `(long long)ceill(strtold(s) * 1000.0)` compiled with gcc on
        /// x86-64 (and 0.0001 timing out at once on the real server).
        #[test]
        fn matches_x87_long_double() {
            let cases: &[(&str, Option<i64>)] = &[
                ("0", Some(0)),
                ("1", Some(1000)),
                ("0.01", Some(10)),
                ("0.1", Some(100)),
                ("16.3", Some(16300)),
                ("32.1", Some(32100)),
                ("0.001", Some(1)),
                ("0.0001", Some(1)),
                ("-0.0001", Some(0)),
                ("-0.5", Some(-500)),
                ("-1", Some(-1000)),
                ("1e300", Some(i64::MIN)),
                ("1e400", Some(i64::MIN)),
                ("inf", Some(i64::MIN)),
                ("-inf", Some(i64::MIN)),
                ("nan", None),
                ("1e5000", None),
                ("1e-5000", None),
                ("1e-400", Some(1)),
                ("1e-4950", Some(1)),
                ("-1e-4950", Some(0)),
                ("1e-4951", None),
                ("1.18973149535723176502e4932", Some(i64::MIN)),
                ("1.18973149535723176508e4932", None),
                ("0x10", Some(16000)),
                ("0x1.8p1", Some(3000)),
                (" 1", None),
                ("1 ", None),
                ("1e", None),
                ("", None),
                (".", None),
                ("-", None),
                (".5", Some(500)),
                ("5.", Some(5000)),
                ("+1", Some(1000)),
                ("9223372036854775", Some(9223372036854775000)),
                ("9223372036854775.807", Some(i64::MAX)),
                ("9223372036854775.808", Some(i64::MIN)),
                ("9223372036854776", Some(i64::MIN)),
                ("1\0garbage", Some(1000)),
                ("\0", Some(0)),
            ];
            for &(s, want) in cases {
                assert_eq!(seconds_to_ms(s.as_bytes()), want, "{s:?}");
            }
        }
    }
}
