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
//! 1 ms and `-0.0001` waits forever). [`timeout_ms`] reproduces that arithmetic exactly, with
//! [`long_double`](super::long_double).

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

use crate::keyspace::List;

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
        End::Head => l.take_range(..n),
        End::Tail => l.take_range(l.len() - n..).into_iter().rev().collect(),
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
            ctx.db_add(key, Value::List(l));
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
        l.set(i, argv[3].to_vec());
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
    l.take_range(..ltrim);
    let keep = l.len() - rtrim;
    l.take_range(keep..);
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
        ctx.db_add(dst.to_vec(), Value::List(List::from_iter([value.clone()])));
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
/// 7.0.15 binary; see [`super::long_double::seconds_to_ms`]). Infinite or out-of-range products convert to `i64::MIN` (x86's "integer
/// indefinite"), so they are reported as negative, as on the real server (`BLPOP k 1e300`).
pub fn timeout_ms(arg: &[u8]) -> Result<i64, Reply> {
    let ms = super::long_double::seconds_to_ms(arg).ok_or(Reply::err(reply::TIMEOUT_NOT_FLOAT))?;
    if ms < 0 {
        return Err(Reply::err(reply::TIMEOUT_NEGATIVE));
    }
    Ok(ms)
}
