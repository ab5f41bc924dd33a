//! XREAD and XREADGROUP (`xreadCommand`), with BLOCK.
//!
//! Both read, for each stream, the entries after an ID: XREAD after the given ID (`$`: the
//! stream's last ID now), XREADGROUP after the group's last delivered ID (`>`), which it
//! advances, adding the entries to the group's and the consumer's pending lists (unless
//! NOACK). XREADGROUP with an explicit ID re-reads the consumer's own pending entries instead
//! (its *history*). Each delivery is propagated as an XCLAIM (see [`super`]).
//!
//! **Blocking.** With BLOCK and nothing to serve, the client blocks on its keys through the
//! engine's machinery ([`Ctx::block_with_argv`]); the IDs `$` resolved to are written into the
//! command kept for the re-run. When a key gets data the engine re-runs the command with
//! [`Client::ready_key`](crate::server::Client::ready_key) set, and that run does what 7.0's
//! `serveClientsBlockedOnStreamKey` does for that one key: serve if the stream's last ID is now
//! above the one waited for (for a group, the group's last ID), with at most COUNT (1000 by
//! default) entries, else stay blocked. A group destroyed meanwhile answers `-NOGROUP`; a key
//! deleted or overwritten answers XREADGROUP clients `-UNBLOCKED` and keeps XREAD clients
//! waiting. A timeout answers `*-1`.

use super::{c_text, entry_reply, id_reply, int_or, lookup_read, parse_strict_id, range_reply, resp3, stream_mut};
use crate::cmd::args::{int, is};
use crate::keyspace::Value;
use crate::keyspace::stream::{INVALID_ENTRIES_READ, Nack, Stream, StreamId};
use crate::reply::Reply;
use crate::server::Ctx;

/// `XREAD_BLOCKED_DEFAULT_COUNT`: a blocked client with no COUNT gets at most this many.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

struct ReadArgs<'a> {
    /// BLOCK's absolute deadline (0: forever), `None` without BLOCK.
    deadline: Option<i64>,
    count: i64,
    streams_arg: usize,
    n: usize,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

impl ReadArgs<'_> {
    fn key<'b>(&self, argv: &[&'b [u8]], i: usize) -> &'b [u8] {
        argv[self.streams_arg + i]
    }
    fn id_arg<'b>(&self, argv: &[&'b [u8]], i: usize) -> &'b [u8] {
        argv[self.streams_arg + self.n + i]
    }
}

fn parse<'a>(ctx: &Ctx, argv: &[&'a [u8]], xreadgroup: bool) -> Result<ReadArgs<'a>, Reply> {
    let argc = argv.len();
    let mut a = ReadArgs { deadline: None, count: 0, streams_arg: 0, n: 0, group: None, noack: false };
    let mut i = 1;
    while i < argc {
        let moreargs = argc - i - 1;
        let o = argv[i];
        if is(o, "BLOCK") && moreargs > 0 {
            // No BLOCK from a script (`CLIENT_SCRIPT`), whatever the timeout: the command
            // named as the script typed it.
            if ctx.srv.script.is_some() {
                return Err(Reply::error(format!(
                    "ERR {} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(argv[0])
                )));
            }
            i += 1;
            // getTimeoutFromObjectOrReply(…, UNIT_MILLISECONDS)
            let ms = int_or(argv[i], "ERR timeout is not an integer or out of range")?;
            if ms < 0 {
                return Err(Reply::err("ERR timeout is negative"));
            }
            a.deadline = Some(if ms > 0 { ms.wrapping_add(ctx.now_ms()) } else { 0 });
        } else if is(o, "COUNT") && moreargs > 0 {
            i += 1;
            a.count = int(argv[i])?.max(0);
        } else if is(o, "STREAMS") && moreargs > 0 {
            a.streams_arg = i + 1;
            let rest = argc - a.streams_arg;
            if !rest.is_multiple_of(2) {
                return Err(Reply::err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
            }
            a.n = rest / 2;
            break;
        } else if is(o, "GROUP") && moreargs >= 2 {
            if !xreadgroup {
                return Err(Reply::err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
            }
            a.group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is(o, "NOACK") {
            if !xreadgroup {
                return Err(Reply::err("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
            }
            a.noack = true;
        } else {
            return Err(Reply::syntax());
        }
        i += 1;
    }
    if a.streams_arg == 0 {
        return Err(Reply::syntax());
    }
    if xreadgroup && a.group.is_none() {
        return Err(Reply::err("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(a)
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key …] id [id …]
pub fn xread(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    xread_generic(ctx, argv, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key …] id [id …]
pub fn xreadgroup(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    xread_generic(ctx, argv, true)
}

fn xread_generic(ctx: &mut Ctx, argv: &[&[u8]], xreadgroup: bool) -> Reply {
    // Propagated (as XCLAIMs …) by the lower levels, never as itself.
    ctx.prevent_propagation();
    let a = match parse(ctx, argv, xreadgroup) {
        Ok(a) => a,
        Err(e) => return e,
    };
    if let Some(key) = ctx.client.ready_key.clone() {
        return serve_blocked(ctx, argv, &a, &key);
    }
    // Resolve the IDs ($, >) and the groups.
    let mut ids = Vec::with_capacity(a.n);
    for i in 0..a.n {
        let (key, arg) = (a.key(argv, i), a.id_arg(argv, i));
        let s = match lookup_read(ctx, key) {
            Ok(s) => s,
            Err(e) => return e,
        };
        if let Some((group, _)) = a.group
            && s.is_none_or(|s| !s.cgroups.contains_key(group))
        {
            return Reply::error(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                c_text(key),
                c_text(group)
            ));
        }
        let arg_c = arg.split(|&b| b == 0).next().unwrap_or_default();
        let id = if arg_c == b"$" {
            if xreadgroup {
                return Reply::err(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                );
            }
            s.map_or(StreamId::MIN, |s| s.last_id)
        } else if arg_c == b">" {
            if !xreadgroup {
                return Reply::err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            StreamId::MAX // ">": the group's last ID, looked up when serving
        } else {
            match parse_strict_id(arg) {
                Ok(id) => id,
                Err(e) => return e,
            }
        };
        ids.push(id);
    }
    // Serve synchronously what can be served.
    let mut served: Vec<(Vec<u8>, Vec<Reply>)> = Vec::new();
    for (i, &wanted) in ids.iter().enumerate() {
        let key = a.key(argv, i);
        let (serve, history, gt) = match lookup_read(ctx, key) {
            Ok(Some(s)) => serve_decision(s, a.group.map(|g| g.0), wanted),
            _ => continue,
        };
        if !serve {
            continue;
        }
        let mut start = gt;
        start.incr();
        let count = super::count_arg(a.count);
        let entries = match a.group {
            Some((group, consumer)) => {
                lookup_or_create_consumer(ctx, key, group, consumer, a.noack);
                let e = if history {
                    read_history(ctx, key, group, consumer, start, count)
                } else {
                    read_group(ctx, key, group, consumer, start, count, a.noack)
                };
                ctx.dirty(1);
                e
            }
            None => match lookup_read(ctx, key) {
                Ok(Some(s)) => range_reply(s, Some(start), None, count, false),
                _ => Vec::new(),
            },
        };
        served.push((key.to_vec(), entries));
    }
    if !served.is_empty() {
        return streams_reply(ctx, served);
    }
    if let Some(deadline) = a.deadline {
        // CLIENT_DENY_BLOCKING (inside EXEC) answers as a timeout would, even for BLOCK 0.
        if ctx.client.in_exec || ctx.srv.loading {
            return Reply::NilArray;
        }
        let mut keys: Vec<Vec<u8>> = Vec::with_capacity(a.n);
        for i in 0..a.n {
            let k = a.key(argv, i);
            if !keys.iter().any(|x| x == k) {
                keys.push(k.to_vec());
            }
        }
        // The command re-run when a key is ready waits for the IDs resolved now.
        let mut rerun: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
        for (i, id) in ids.iter().enumerate() {
            if a.id_arg(argv, i).split(|&b| b == 0).next() == Some(b"$") {
                rerun[a.streams_arg + a.n + i] = id.to_string().into_bytes();
            }
        }
        ctx.block_with_argv(keys, deadline, Reply::NilArray, rerun, a.group.is_some());
    }
    Reply::NilArray
}

/// Whether a stream can serve a reader now, and from which ID (the part of `xreadCommand`
/// before `streamReplyWithRange`): `(serve, history, after)`.
fn serve_decision(s: &Stream, group: Option<&[u8]>, wanted: StreamId) -> (bool, bool, StreamId) {
    match group {
        // An explicit ID reads the consumer's history, always synchronously.
        Some(_) if wanted != StreamId::MAX => (true, true, wanted),
        Some(g) => {
            let last = s.cgroups.get(g).map_or(StreamId::MAX, |g| g.last_id);
            let serve = s.length > 0 && s.last_valid_id() > last;
            (serve, false, last)
        }
        None => (s.length > 0 && s.last_valid_id() > wanted, false, wanted),
    }
}

/// `[key, entries]` pairs, or a map of them over RESP3.
fn streams_reply(ctx: &Ctx, served: Vec<(Vec<u8>, Vec<Reply>)>) -> Reply {
    if resp3(ctx) {
        Reply::Map(served.into_iter().map(|(k, e)| (Reply::Bulk(k), Reply::Array(e))).collect())
    } else {
        Reply::Array(served.into_iter().map(|(k, e)| Reply::Array(vec![Reply::Bulk(k), Reply::Array(e)])).collect())
    }
}

/// `streamLookupConsumer(SLC_DEFAULT)`, else `streamCreateConsumer` (which dirties), and with
/// NOACK its creation is propagated (no XCLAIM will create it on a replica).
fn lookup_or_create_consumer(ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8], noack: bool) {
    let now = ctx.now_ms();
    let Some(g) = stream_mut(ctx, key).and_then(|s| s.cgroups.get_mut(group)) else { return };
    if g.lookup_consumer(consumer, Some(now)) {
        return;
    }
    g.create_consumer(consumer, now);
    ctx.dirty(1);
    if noack {
        ctx.propagate(&[b"XGROUP".as_slice(), b"CREATECONSUMER", key, group, consumer]);
    }
}

/// `streamReplyWithRange` with a group (`>`): delivers the entries after `start`, advances the
/// group, fills the PELs (unless NOACK) and propagates each delivery as an XCLAIM, or the
/// group's new position as XGROUP SETID with NOACK.
fn read_group(ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8], start: StreamId, count: usize, noack: bool) -> Vec<Reply> {
    let now = ctx.now_ms();
    let Some(s) = stream_mut(ctx, key) else { return Vec::new() };
    // What each entry needs from the stream, before the group changes.
    let mut found = Vec::new();
    {
        let mut it = s.iter(Some(start), None, false);
        while let Some(e) = it.next_entry() {
            found.push((e.id, entry_reply(&e)));
            if count != 0 && found.len() == count {
                break;
            }
        }
    }
    let facts: Vec<(bool, i64)> =
        found.iter().map(|(id, _)| (s.range_has_tombstones(Some(*id), None), s.estimate_distance_from_first_ever_entry(*id))).collect();
    let entries_added = s.entries_added;
    let Some(g) = s.cgroups.get_mut(group) else { return Vec::new() };
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut propagate_last_id = false;
    let mut replies = Vec::with_capacity(found.len());
    for ((id, reply), (tombstones, estimate)) in found.into_iter().zip(facts) {
        if id > g.last_id {
            if g.entries_read != INVALID_ENTRIES_READ && !tombstones {
                g.entries_read += 1;
            } else if entries_added != 0 {
                g.entries_read = estimate;
            }
            g.last_id = id;
            propagate_last_id |= noack;
        }
        replies.push(reply);
        if !noack {
            match g.pel.get_mut(&id) {
                // Already pending (XGROUP SETID moved the group back): it changes hands.
                Some(nack) => {
                    nack.delivery_time = now;
                    nack.delivery_count = 1;
                    g.assign(id, consumer);
                }
                None => {
                    g.pel.insert(id, Nack::new(Some(consumer.to_vec()), now));
                    if let Some(c) = g.consumers.get_mut(consumer) {
                        c.pel.insert(id);
                    }
                }
            }
            if let Some(nack) = g.pel.get(&id) {
                props.push(xclaim_argv(key, group, consumer, id, nack, g.last_id));
            }
        }
    }
    if propagate_last_id {
        props.push(setid_argv(key, group, g.last_id, g.entries_read));
    }
    for p in props {
        ctx.propagate(&p);
    }
    replies
}

/// `streamPropagateXCLAIM`: `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID
/// LASTID last`, `id` as given (XCLAIM propagates the client's own spelling of it).
pub fn xclaim_argv_raw(key: &[u8], group: &[u8], consumer: &[u8], id: &[u8], nack: &Nack, last: StreamId) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_vec(),
        b"TIME".to_vec(),
        nack.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        (nack.delivery_count as i64).to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_string().into_bytes(),
    ]
}

fn xclaim_argv(key: &[u8], group: &[u8], consumer: &[u8], id: StreamId, nack: &Nack, last: StreamId) -> Vec<Vec<u8>> {
    xclaim_argv_raw(key, group, consumer, id.to_string().as_bytes(), nack, last)
}

/// `streamPropagateGroupID`: `XGROUP SETID key group id ENTRIESREAD n`.
pub fn setid_argv(key: &[u8], group: &[u8], last: StreamId, entries_read: i64) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last.to_string().into_bytes(),
        b"ENTRIESREAD".to_vec(),
        entries_read.to_string().into_bytes(),
    ]
}

/// `streamReplyWithRangeFromConsumerPEL`: the consumer's own pending entries from `start`
/// (an entry deleted since is `[id, nil]`); each one served counts as a new delivery. Nothing
/// is propagated.
fn read_history(ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8], start: StreamId, count: usize) -> Vec<Reply> {
    let now = ctx.now_ms();
    let Some(s) = stream_mut(ctx, key) else { return Vec::new() };
    let ids: Vec<StreamId> = match s.cgroups.get(group).and_then(|g| g.consumers.get(consumer)) {
        Some(c) => c.pel.range(start..).take(if count == 0 { usize::MAX } else { count }).copied().collect(),
        None => return Vec::new(),
    };
    let found: Vec<Option<Reply>> =
        ids.iter().map(|id| s.iter(Some(*id), Some(*id), false).next_entry().map(|e| entry_reply(&e))).collect();
    let Some(g) = s.cgroups.get_mut(group) else { return Vec::new() };
    let mut replies = Vec::with_capacity(ids.len());
    for (id, entry) in ids.into_iter().zip(found) {
        match entry {
            None => replies.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
            Some(r) => {
                replies.push(r);
                if let Some(nack) = g.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
        }
    }
    replies
}

/// The re-run of a blocked XREAD / XREADGROUP for the key that got data
/// (`serveClientsBlockedOnStreamKey` and `unblockDeletedStreamReadgroupClients`).
fn serve_blocked(ctx: &mut Ctx, argv: &[&[u8]], a: &ReadArgs, key: &[u8]) -> Reply {
    let stay = |ctx: &mut Ctx| {
        ctx.block(Vec::new(), 0, Reply::NilArray);
        Reply::NilArray
    };
    let Some(i) = (0..a.n).find(|&i| a.key(argv, i) == key) else { return stay(ctx) };
    let s = match ctx.lookup_write(key) {
        Some(Value::Stream(s)) => s,
        _ if a.group.is_some() => return Reply::err("UNBLOCKED the stream key no longer exists"),
        _ => return stay(ctx),
    };
    let gt = match a.group {
        Some((group, _)) => match s.cgroups.get(group) {
            Some(g) => g.last_id,
            None => return Reply::err("NOGROUP the consumer group this client was blocked on no longer exists"),
        },
        None => match parse_strict_id(a.id_arg(argv, i)) {
            Ok(id) => id,
            Err(_) => return stay(ctx),
        },
    };
    if s.last_id <= gt {
        return stay(ctx);
    }
    let mut start = gt;
    start.incr();
    let count = if a.count == 0 { BLOCKED_DEFAULT_COUNT } else { super::count_arg(a.count) };
    let entries = match a.group {
        Some((group, consumer)) => {
            lookup_or_create_consumer(ctx, key, group, consumer, a.noack);
            read_group(ctx, key, group, consumer, start, count, a.noack)
        }
        None => range_reply(s, Some(start), None, count, false),
    };
    streams_reply(ctx, vec![(key.to_vec(), entries)])
}
