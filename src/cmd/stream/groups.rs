//! Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK,
//! XPENDING, XCLAIM and XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM never reach the AOF as typed: each entry claimed, and each pending
//! entry cleared because its entry was deleted, is propagated as the idempotent XCLAIM of
//! [`super::read::xclaim_argv_raw`] (FORCE, JUSTID, the delivery time and count, LASTID); an
//! XCLAIM that only moved the group's last ID forward is propagated as XGROUP SETID.

use super::read::{setid_argv, xclaim_argv_raw};
use super::stream_mut;
use super::{
    HELP_FLAGS, c_text, entry_reply, id_reply, int_or, lookup_read, lookup_write, parse_end, parse_id, parse_start, parse_strict_id,
};
use crate::cmd::args::{int, is};
use crate::cmd::server::help_reply;
use crate::cmd::subcommand_syntax;
use crate::cmd::{Command, DENYOOM, Group, WRITE};
use crate::keyspace::Value;
use crate::keyspace::stream::{ConsumerGroup, INVALID_ENTRIES_READ, Nack, StreamId};
use crate::reply::Reply;
use crate::server::Ctx;

pub static XGROUP_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "5.0.0",
        summary: "Create a consumer group.",
        ..Command::new("create", -5, WRITE | DENYOOM, (2, 2, 1), Group::Stream, xgroup)
    },
    Command {
        since: "6.2.0",
        summary: "Create a consumer in a consumer group.",
        ..Command::new("createconsumer", 5, WRITE | DENYOOM, (2, 2, 1), Group::Stream, xgroup)
    },
    Command {
        since: "5.0.0",
        summary: "Delete a consumer from a consumer group.",
        ..Command::new("delconsumer", 5, WRITE, (2, 2, 1), Group::Stream, xgroup)
    },
    Command { since: "5.0.0", summary: "Destroy a consumer group.", ..Command::new("destroy", 4, WRITE, (2, 2, 1), Group::Stream, xgroup) },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, HELP_FLAGS, (0, 0, 0), Group::Stream, xgroup)
    },
    Command {
        since: "5.0.0",
        summary: "Set a consumer group to an arbitrary last delivered ID value.",
        ..Command::new("setid", -5, WRITE, (2, 2, 1), Group::Stream, xgroup)
    },
];

const HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// XGROUP alone (arity refuses it first).
pub fn xgroup_help(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    subcommand_syntax(argv)
}

/// `xgroupCommand`, shared by every subcommand: options, key and group checks, then the work.
fn xgroup(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let argc = argv.len();
    let opt = argv[1];
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut has_stream = false;
    let mut has_group = false;
    if argc >= 4 {
        let create = is(opt, "CREATE");
        let setid = is(opt, "SETID");
        let mut i = 5;
        while i < argc {
            if create && is(argv[i], "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && is(argv[i], "ENTRIESREAD") && i + 1 < argc {
                entries_read = match int(argv[i + 1]) {
                    Ok(n) if n < 0 && n != INVALID_ENTRIES_READ => return Reply::err("ERR value for ENTRIESREAD must be positive or -1"),
                    Ok(n) => n,
                    Err(e) => return e,
                };
                i += 2;
            } else {
                return subcommand_syntax(argv);
            }
        }
        match lookup_write(ctx, argv[2]) {
            Err(e) => return e,
            Ok(Some(s)) => {
                has_stream = true;
                has_group = s.cgroups.contains_key(argv[3]);
            }
            Ok(None) => {}
        }
    }
    if argc >= 4 && !mkstream {
        if !has_stream {
            return Reply::err(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            );
        }
        if !has_group && (is(opt, "SETID") || is(opt, "CREATECONSUMER") || is(opt, "DELCONSUMER")) {
            return Reply::error(format!("NOGROUP No such consumer group '{}' for key name '{}'", c_text(argv[3]), c_text(argv[2])));
        }
    }
    let now = ctx.now_ms();
    if argc == 2 && is(opt, "HELP") {
        help_reply("XGROUP", HELP)
    } else if is(opt, "CREATE") && (5..=8).contains(&argc) {
        let current_last = match lookup_write(ctx, argv[2]) {
            Ok(Some(s)) => s.last_id,
            _ => StreamId::MIN,
        };
        let id = if argv[4] == b"$" {
            current_last
        } else {
            match parse_strict_id(argv[4]) {
                Ok(id) => id,
                Err(e) => return e,
            }
        };
        if !has_stream {
            ctx.db_add(argv[2].to_vec(), Value::Stream(Box::default()));
            ctx.signal_modified(argv[2]);
        }
        let Ok(Some(s)) = lookup_write(ctx, argv[2]) else { return Reply::NilArray };
        if s.cgroups.contains_key(argv[3]) {
            return Reply::err("BUSYGROUP Consumer Group name already exists");
        }
        s.cgroups.insert(argv[3].to_vec(), ConsumerGroup::new(id, entries_read));
        ctx.dirty(1);
        Reply::ok()
    } else if is(opt, "SETID") && (argc == 5 || argc == 7) {
        let Ok(Some(s)) = lookup_write(ctx, argv[2]) else { return Reply::NilArray };
        let id = if argv[4] == b"$" {
            s.last_id
        } else {
            match parse_id(argv[4], 0) {
                Ok(id) => id,
                Err(e) => return e,
            }
        };
        if let Some(g) = s.cgroups.get_mut(argv[3]) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
        ctx.dirty(1);
        Reply::ok()
    } else if is(opt, "DESTROY") && argc == 4 {
        if !has_group {
            return Reply::Int(0);
        }
        if let Ok(Some(s)) = lookup_write(ctx, argv[2]) {
            s.cgroups.remove(argv[3]);
        }
        ctx.dirty(1);
        // XREADGROUP clients blocked on it get -NOGROUP.
        let db = ctx.db_id();
        ctx.srv.signal_key_as_ready(db, argv[2]);
        Reply::Int(1)
    } else if is(opt, "CREATECONSUMER") && argc == 5 {
        let created = match lookup_write(ctx, argv[2]) {
            Ok(Some(s)) => s.cgroups.get_mut(argv[3]).is_some_and(|g| g.create_consumer(argv[4], now)),
            _ => false,
        };
        if created {
            ctx.dirty(1);
        }
        Reply::Int(i64::from(created))
    } else if is(opt, "DELCONSUMER") && argc == 5 {
        let pending = match lookup_write(ctx, argv[2]) {
            Ok(Some(s)) => s.cgroups.get_mut(argv[3]).and_then(|g| g.delete_consumer(argv[4])),
            _ => None,
        };
        if pending.is_some() {
            ctx.dirty(1);
        }
        Reply::Int(pending.unwrap_or(0) as i64)
    } else {
        subcommand_syntax(argv)
    }
}

/// The group at `key` for XACK / XCLAIM / XAUTOCLAIM (`lookupKeyRead`, `checkType`,
/// `streamLookupCG`): `Ok(false)` when the key or the group is missing.
fn has_group(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> Result<bool, Reply> {
    Ok(lookup_read(ctx, key)?.is_some_and(|s| s.cgroups.contains_key(group)))
}

/// XACK key group id [id …]
pub fn xack(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match has_group(ctx, argv[1], argv[2]) {
        Err(e) => return e,
        Ok(false) => return Reply::Int(0),
        Ok(true) => {}
    }
    // All IDs are checked first: the reply cannot be an error once something was acked.
    let mut ids = Vec::with_capacity(argv.len() - 3);
    for a in &argv[3..] {
        match parse_strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    let Some(g) = stream_mut(ctx, argv[1]).and_then(|s| s.cgroups.get_mut(argv[2])) else { return Reply::Int(0) };
    let acked = ids.into_iter().filter(|id| g.remove_pending(*id).is_some()).count();
    ctx.dirty(acked as u64);
    Reply::Int(acked as i64)
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub fn xpending(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let argc = argv.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Reply::syntax();
    }
    let (mut start, mut end, mut count, mut minidle) = (StreamId::MIN, StreamId::MAX, 0i64, 0i64);
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut startidx = 3;
        if is(argv[3], "IDLE") {
            minidle = match int(argv[4]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if argc < 8 {
                return Reply::syntax();
            }
            startidx += 2;
        }
        count = match int(argv[startidx + 2]) {
            Ok(n) => n.max(0),
            Err(e) => return e,
        };
        start = match parse_start(argv[startidx]) {
            Ok(id) => id,
            Err(e) => return e,
        };
        end = match parse_end(argv[startidx + 1]) {
            Ok(id) => id,
            Err(e) => return e,
        };
        if startidx + 3 < argc {
            consumer = Some(argv[startidx + 3]);
        }
    }
    let now = ctx.now_ms();
    let s = match lookup_read(ctx, argv[1]) {
        Err(e) => return e,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.cgroups.get(argv[2])) else {
        return Reply::error(format!("NOGROUP No such key '{}' or consumer group '{}'", c_text(argv[1]), c_text(argv[2])));
    };
    if justinfo {
        let (Some(first), Some(last)) = (g.pel.keys().next(), g.pel.keys().next_back()) else {
            return Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]);
        };
        let consumers = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| Reply::Array(vec![Reply::Bulk(n.clone()), Reply::Bulk(c.pel.len().to_string().into_bytes())]))
            .collect();
        return Reply::Array(vec![Reply::Int(g.pel.len() as i64), id_reply(*first), id_reply(*last), Reply::Array(consumers)]);
    }
    let ids: Box<dyn Iterator<Item = (&StreamId, &Nack)>> = match consumer {
        Some(name) => match g.consumers.get(name) {
            None => return Reply::Array(vec![]),
            Some(c) => Box::new(c.pel.range(start..).filter_map(|id| g.pel.get(id).map(|n| (id, n)))),
        },
        None => Box::new(g.pel.range(start..)),
    };
    let mut out = Vec::new();
    for (id, nack) in ids {
        if count == 0 || *id > end {
            break;
        }
        if minidle != 0 && now.wrapping_sub(nack.delivery_time) < minidle {
            continue;
        }
        count -= 1;
        let elapsed = now.wrapping_sub(nack.delivery_time).max(0);
        out.push(Reply::Array(vec![
            id_reply(*id),
            Reply::Bulk(nack.consumer.clone().unwrap_or_default()),
            Reply::Int(elapsed),
            Reply::Int(nack.delivery_count as i64),
        ]));
    }
    Reply::Array(out)
}

/// XCLAIM key group consumer min-idle-time id [id …] [IDLE ms] [TIME unix-time-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
pub fn xclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (key, group, name) = (argv[1], argv[2], argv[3]);
    match has_group(ctx, key, group) {
        Err(e) => return e,
        Ok(false) => return Reply::error(format!("NOGROUP No such key '{}' or consumer group '{}'", c_text(key), c_text(group))),
        Ok(true) => {}
    }
    let minidle = match int_or(argv[4], "ERR Invalid min-idle-time argument for XCLAIM") {
        Ok(n) => n.max(0),
        Err(e) => return e,
    };
    // IDs first (all or nothing); the first argument that is not an ID starts the options.
    let mut j = 5;
    let mut ids: Vec<(StreamId, &[u8])> = Vec::new();
    while j < argv.len() {
        match parse_strict_id(argv[j]) {
            Ok(id) => ids.push((id, argv[j])),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms();
    let (mut force, mut justid) = (false, false);
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let moreargs = argv.len() - 1 - j;
        let opt = argv[j];
        if is(opt, "FORCE") {
            force = true;
        } else if is(opt, "JUSTID") {
            justid = true;
        } else if is(opt, "IDLE") && moreargs > 0 {
            j += 1;
            deliverytime = match int_or(argv[j], "ERR Invalid IDLE option argument for XCLAIM") {
                Ok(n) => now.wrapping_sub(n),
                Err(e) => return e,
            };
        } else if is(opt, "TIME") && moreargs > 0 {
            j += 1;
            deliverytime = match int_or(argv[j], "ERR Invalid TIME option argument for XCLAIM") {
                Ok(n) => n,
                Err(e) => return e,
            };
        } else if is(opt, "RETRYCOUNT") && moreargs > 0 {
            j += 1;
            retrycount = match int_or(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM") {
                Ok(n) => n,
                Err(e) => return e,
            };
        } else if is(opt, "LASTID") && moreargs > 0 {
            j += 1;
            last_id = match parse_strict_id(argv[j]) {
                Ok(id) => id,
                Err(e) => return e,
            };
        } else {
            return Reply::error(format!("ERR Unrecognized XCLAIM option '{}'", c_text(opt)));
        }
        j += 1;
    }
    // A bogus delivery time (negative, in the future) is taken as now.
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
        deliverytime = now;
    }
    ctx.prevent_propagation();
    let Some(s) = stream_mut(ctx, key) else { return Reply::Array(vec![]) };
    let exists: Vec<Option<Reply>> = ids
        .iter()
        .map(|(id, _)| s.iter(Some(*id), Some(*id), false).next_entry().map(|e| if justid { id_reply(e.id) } else { entry_reply(&e) }))
        .collect();
    let Some(g) = s.cgroups.get_mut(group) else { return Reply::Array(vec![]) };
    let mut propagate_last_id = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last_id = true;
    }
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut replies = Vec::new();
    let mut dirty = 0u64;
    let mut consumer_ready = false;
    let mut created = false;
    for ((id, raw), entry) in ids.iter().zip(exists) {
        let Some(entry) = entry else {
            // The entry is gone: its pending entry is cleared, and that is propagated.
            if let Some(nack) = g.pel.get(id) {
                let owner = nack.consumer.clone().unwrap_or_default();
                props.push(xclaim_argv_raw(key, group, &owner, raw, nack, g.last_id));
                propagate_last_id = false;
                dirty += 1;
                g.remove_pending(*id);
            }
            continue;
        };
        if force && !g.pel.contains_key(id) {
            g.pel.insert(*id, Nack { delivery_time: now, delivery_count: 1, consumer: None });
        }
        let Some(nack) = g.pel.get(id) else { continue };
        // A NACK FORCE just created has no owner and no idle time to respect.
        if nack.consumer.is_some() && minidle != 0 && now.wrapping_sub(nack.delivery_time) < minidle {
            continue;
        }
        if !consumer_ready {
            consumer_ready = true;
            if !g.lookup_consumer(name, Some(now)) {
                created = g.create_consumer(name, now);
            }
        }
        g.assign(*id, name);
        let Some(nack) = g.pel.get_mut(id) else { continue };
        nack.delivery_time = deliverytime;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        replies.push(entry);
        props.push(xclaim_argv_raw(key, group, name, raw, nack, g.last_id));
        propagate_last_id = false;
        dirty += 1;
    }
    if propagate_last_id {
        props.push(setid_argv(key, group, g.last_id, g.entries_read));
        dirty += 1;
    }
    if created {
        dirty += 1;
    }
    ctx.dirty(dirty);
    for p in props {
        ctx.propagate(&p);
    }
    Reply::Array(replies)
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (key, group, name) = (argv[1], argv[2], argv[3]);
    let minidle = match int_or(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM") {
        Ok(n) => n.max(0),
        Err(e) => return e,
    };
    let start = match parse_start(argv[5]) {
        Ok(id) => id,
        Err(e) => return e,
    };
    const ATTEMPTS_FACTOR: i64 = 10;
    let max_count = i64::MAX / 16; // LONG_MAX / max(sizeof(streamID), attempts_factor)
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let moreargs = argv.len() - 1 - j;
        if is(argv[j], "COUNT") && moreargs > 0 {
            count = match int_or(argv[j + 1], "ERR COUNT must be > 0") {
                Ok(n) if (1..=max_count).contains(&n) => n,
                _ => return Reply::err("ERR COUNT must be > 0"),
            };
            j += 1;
        } else if is(argv[j], "JUSTID") {
            justid = true;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    match has_group(ctx, key, group) {
        Err(e) => return e,
        Ok(false) => return Reply::error(format!("NOGROUP No such key '{}' or consumer group '{}'", c_text(key), c_text(group))),
        Ok(true) => {}
    }
    if count > MAX_AUTOCLAIM_COUNT {
        return Reply::err("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    }
    ctx.prevent_propagation();
    let now = ctx.now_ms();
    let Some(s) = stream_mut(ctx, key) else { return Reply::Array(vec![]) };
    let Some(pending) = s.cgroups.get(group).map(|g| g.pel.range(start..).map(|(id, _)| *id).collect::<Vec<_>>()) else {
        return Reply::Array(vec![]);
    };
    // Which of them still exist, as the reply would show them; looked up lazily.
    let mut attempts = count * ATTEMPTS_FACTOR;
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut dirty = 0u64;
    let mut consumer_ready = false;
    let mut last_examined: Option<StreamId> = None;
    let mut exhausted = false;
    let mut it = pending.into_iter();
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some(id) = it.next() else {
            exhausted = true;
            break;
        };
        last_examined = Some(id);
        let entry = s.iter(Some(id), Some(id), false).next_entry().map(|e| if justid { id_reply(e.id) } else { entry_reply(&e) });
        let Some(g) = s.cgroups.get_mut(group) else { break };
        let Some(entry) = entry else {
            if let Some(nack) = g.pel.get(&id) {
                let owner = nack.consumer.clone().unwrap_or_default();
                props.push(xclaim_argv_raw(key, group, &owner, id.to_string().as_bytes(), nack, g.last_id));
            }
            dirty += 1;
            g.remove_pending(id);
            deleted.push(id);
            count -= 1;
            continue;
        };
        let Some(nack) = g.pel.get(&id) else { continue };
        if minidle != 0 && now.wrapping_sub(nack.delivery_time) < minidle {
            continue;
        }
        if !consumer_ready {
            consumer_ready = true;
            if !g.lookup_consumer(name, Some(now)) && g.create_consumer(name, now) {
                dirty += 1;
            }
        }
        g.assign(id, name);
        let Some(nack) = g.pel.get_mut(&id) else { continue };
        nack.delivery_time = now;
        if !justid {
            nack.delivery_count += 1;
        }
        claimed.push(entry);
        count -= 1;
        props.push(xclaim_argv_raw(key, group, name, id.to_string().as_bytes(), nack, g.last_id));
        dirty += 1;
    }
    // The cursor: the next pending entry after the last one examined.
    let next = match (exhausted, last_examined, s.cgroups.get(group)) {
        (false, Some(last), Some(g)) => {
            g.pel.range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded)).next().map_or(StreamId::MIN, |(id, _)| *id)
        }
        _ => StreamId::MIN,
    };
    ctx.dirty(dirty);
    for p in props {
        ctx.propagate(&p);
    }
    Reply::Array(vec![id_reply(next), Reply::Array(claimed), Reply::Array(deleted.into_iter().map(id_reply).collect())])
}

/// The largest COUNT for which a real server's `ztrymalloc` of the deleted-IDs array (16 bytes
/// each) succeeds: on x86-64 Linux an allocation fails once it exceeds the 128 TiB user address
/// space (observed on 7.0.15: COUNT 10^12 works, 10^13 fails). A model of the machine: the
/// exact edge depends on what else is mapped.
const MAX_AUTOCLAIM_COUNT: i64 = (1 << 47) / 16;
