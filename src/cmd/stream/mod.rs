//! Streams: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID ([`basic`]), XREAD and XREADGROUP
//! with BLOCK ([`read`]), consumer groups: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM
//! ([`groups`]), and XINFO ([`info`]). The value itself is [`crate::keyspace::stream`].
//!
//! **Propagation (7.0.15).** What reaches the AOF is what makes a replay deterministic:
//! * XADD with `*` or `<ms>-*` is logged with the ID it generated; a `MAXLEN ~ n` / `MINID ~ id`
//!   becomes `= <length after trimming>` / `= <first ID left>` (XTRIM likewise), because
//!   approximate trimming depends on node boundaries.
//! * XREADGROUP is never logged as such: each entry it delivers becomes `XCLAIM key group
//!   consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last ID>`; with NOACK
//!   the group's progress is `XGROUP SETID key group id ENTRIESREAD n` (and a consumer it
//!   created is `XGROUP CREATECONSUMER`). XCLAIM and XAUTOCLAIM log one such XCLAIM per
//!   claimed (or cleared) entry. Several ops of one command are wrapped in MULTI/EXEC.
//! * XREAD, and XREADGROUP reading a consumer's history, log nothing.
//!
//! IDs parse as `streamGenericParseIDOrReply` does, quirks included: at most 127 bytes, `-` and
//! `+` for the smallest and largest IDs where allowed, each part read by `string2ull` (which
//! falls back on C's `strtoull`).

pub mod basic;
pub mod groups;
pub mod info;
pub mod read;

use super::{BLOCKING, Command, DENYOOM, FAST, Group, LOADING, READONLY, STALE, WRITE};
use crate::keyspace::Value;
use crate::keyspace::stream::{Entry, NodeLimits, Stream, StreamId};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ull;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "5.0.0",
        summary: "Appends a new entry to a stream",
        ..Command::new("xadd", -5, WRITE | DENYOOM | FAST, (1, 1, 1), Group::Stream, basic::xadd)
    },
    Command {
        since: "5.0.0",
        summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval",
        ..Command::new("xrange", -4, READONLY, (1, 1, 1), Group::Stream, basic::xrange)
    },
    Command {
        since: "5.0.0",
        summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
        ..Command::new("xrevrange", -4, READONLY, (1, 1, 1), Group::Stream, basic::xrevrange)
    },
    Command {
        since: "5.0.0",
        summary: "Return the number of entries in a stream",
        ..Command::new("xlen", 2, READONLY | FAST, (1, 1, 1), Group::Stream, basic::xlen)
    },
    Command {
        since: "5.0.0",
        summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
        ..Command::new("xdel", -3, WRITE | FAST, (1, 1, 1), Group::Stream, basic::xdel)
    },
    Command {
        since: "5.0.0",
        summary: "Trims the stream to (approximately if '~' is passed) a certain size",
        ..Command::new("xtrim", -4, WRITE, (1, 1, 1), Group::Stream, basic::xtrim)
    },
    Command {
        since: "5.0.0",
        summary: "An internal command for replicating stream values",
        ..Command::new("xsetid", -3, WRITE | DENYOOM | FAST, (1, 1, 1), Group::Stream, basic::xsetid)
    },
    Command {
        since: "5.0.0",
        summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
        ..Command::new("xread", -4, READONLY | BLOCKING, (0, 0, 0), Group::Stream, read::xread)
    },
    Command {
        since: "5.0.0",
        summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
        ..Command::new("xreadgroup", -7, WRITE | BLOCKING, (0, 0, 0), Group::Stream, read::xreadgroup)
    },
    Command {
        since: "5.0.0",
        summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
        ..Command::new("xack", -4, WRITE | FAST, (1, 1, 1), Group::Stream, groups::xack)
    },
    Command {
        since: "5.0.0",
        summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
        ..Command::new("xpending", -3, READONLY, (1, 1, 1), Group::Stream, groups::xpending)
    },
    Command {
        since: "5.0.0",
        summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
        ..Command::new("xclaim", -6, WRITE | FAST, (1, 1, 1), Group::Stream, groups::xclaim)
    },
    Command {
        since: "6.2.0",
        summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
        ..Command::new("xautoclaim", -6, WRITE | FAST, (1, 1, 1), Group::Stream, groups::xautoclaim)
    },
    Command {
        since: "5.0.0",
        summary: "A container for consumer groups commands",
        subcommands: groups::XGROUP_SUBCOMMANDS,
        ..Command::new("xgroup", -2, 0, (0, 0, 0), Group::Stream, groups::xgroup_help)
    },
    Command {
        since: "5.0.0",
        summary: "A container for stream introspection commands",
        subcommands: info::XINFO_SUBCOMMANDS,
        ..Command::new("xinfo", -2, 0, (0, 0, 0), Group::Stream, info::xinfo_help)
    },
];

/// Flags of the HELP subcommands.
const HELP_FLAGS: u32 = LOADING | STALE;

/// `"Invalid stream ID specified as stream command argument"`.
pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The part of an argument a C string function sees: up to the first NUL byte.
fn c_str(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |n| &a[..n])
}

/// `streamGenericParseIDOrReply`: `missing_seq` completes an ID given as `<ms>`; `strict`
/// refuses `-` and `+`; `seq_given` (XADD only) accepts `<ms>-*` and reports whether the
/// sequence was given.
fn parse_id_generic(a: &[u8], missing_seq: u64, strict: bool, seq_given: Option<&mut bool>) -> Result<StreamId, Reply> {
    let invalid = || Reply::err(INVALID_ID);
    if a.len() > 127 {
        return Err(invalid());
    }
    let buf = c_str(a);
    if strict && (buf == b"-" || buf == b"+") {
        return Err(invalid());
    }
    let mut seq_given = seq_given;
    if let Some(g) = seq_given.as_deref_mut() {
        *g = true;
    }
    if buf == b"-" {
        return Ok(StreamId::MIN);
    }
    if buf == b"+" {
        return Ok(StreamId::MAX);
    }
    let (ms_part, seq_part) = match buf.iter().position(|&b| b == b'-') {
        Some(d) => (&buf[..d], Some(&buf[d + 1..])),
        None => (buf, None),
    };
    let ms = string2ull(ms_part).ok_or_else(invalid)?;
    let seq = match seq_part {
        Some(b"*") if seq_given.is_some() => {
            if let Some(g) = seq_given {
                *g = false;
            }
            0
        }
        Some(s) => string2ull(s).ok_or_else(invalid)?,
        None => missing_seq,
    };
    Ok(StreamId::new(ms, seq))
}

/// `streamParseIDOrReply`: `-` and `+` allowed.
pub fn parse_id(a: &[u8], missing_seq: u64) -> Result<StreamId, Reply> {
    parse_id_generic(a, missing_seq, false, None)
}

/// `streamParseStrictIDOrReply` without `<ms>-*`.
pub fn parse_strict_id(a: &[u8]) -> Result<StreamId, Reply> {
    parse_id_generic(a, 0, true, None)
}

/// `streamParseStrictIDOrReply` for XADD: the ID and whether its sequence was given.
pub fn parse_xadd_id(a: &[u8]) -> Result<(StreamId, bool), Reply> {
    let mut seq_given = true;
    let id = parse_id_generic(a, 0, true, Some(&mut seq_given))?;
    Ok((id, seq_given))
}

/// `streamParseIntervalIDOrReply`: an ID, or `(<id>` for an exclusive bound (strict); returns
/// the ID and whether it was exclusive.
pub fn parse_interval(a: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    if a.len() > 1 && a.first() == Some(&b'(') {
        Ok((parse_id_generic(&a[1..], missing_seq, true, None)?, true))
    } else {
        Ok((parse_id(a, missing_seq)?, false))
    }
}

/// A start bound (`XRANGE`, `XPENDING`, `XAUTOCLAIM`): `(` moves it past the ID.
pub fn parse_start(a: &[u8]) -> Result<StreamId, Reply> {
    let (mut id, ex) = parse_interval(a, 0)?;
    if ex && !id.incr() {
        return Err(Reply::err("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

/// An end bound: `(` moves it before the ID.
pub fn parse_end(a: &[u8]) -> Result<StreamId, Reply> {
    let (mut id, ex) = parse_interval(a, u64::MAX)?;
    if ex && !id.decr() {
        return Err(Reply::err("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

/// `getLongLongFromObjectOrReply` with a message of its own.
pub fn int_or(a: &[u8], msg: &'static str) -> Result<i64, Reply> {
    crate::util::string2ll(a).ok_or(Reply::err(msg))
}

/// A COUNT (never negative here) as a `size_t`: on a 32-bit host a count beyond the address
/// space means "all", as no stream could hold that many entries.
pub fn count_arg(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `addReplyStreamID`.
pub fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_string().into_bytes())
}

/// One entry as `streamReplyWithRange` emits it: `[id, [field, value, …]]`.
pub fn entry_reply(e: &Entry) -> Reply {
    Reply::Array(vec![id_reply(e.id), Reply::Array(e.fields.iter().map(|f| Reply::Bulk(f.to_vec())).collect())])
}

/// `[start, end]` in order (or reversed), at most `count` entries (0: all), as replies.
pub fn range_reply(s: &Stream, start: Option<StreamId>, end: Option<StreamId>, count: usize, rev: bool) -> Vec<Reply> {
    let mut it = s.iter(start, end, rev);
    let mut out = Vec::new();
    while let Some(e) = it.next_entry() {
        out.push(entry_reply(&e));
        if count != 0 && out.len() == count {
            break;
        }
    }
    out
}

/// The stream at `key` for reading (`lookupKeyRead` + `checkType`).
pub fn lookup_read<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Stream>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// The stream at `key` for writing (`lookupKeyWrite` + `checkType`).
pub fn lookup_write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Stream>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// The stream at `key` in the client's db, which this command already looked up (no expiry
/// check, no hit counted again).
pub fn stream_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut Stream> {
    match ctx.db().get_mut(key) {
        Some(Value::Stream(s)) => Some(s),
        _ => None,
    }
}

/// `stream-node-max-bytes` and `stream-node-max-entries`.
pub fn node_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits { max_bytes: ctx.srv.config.stream_node_max_bytes, max_entries: ctx.srv.config.stream_node_max_entries }
}

/// `"%s"` of an argument in an error message: a C string, cut at a NUL.
pub fn c_text(a: &[u8]) -> String {
    String::from_utf8_lossy(c_str(a)).into_owned()
}

/// Whether the client speaks RESP3 (XREAD's outer reply is then a map, not pairs).
pub fn resp3(ctx: &Ctx) -> bool {
    ctx.resp3()
}
