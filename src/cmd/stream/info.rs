//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP.
//!
//! Every record is a map (`addReplyMapLen`): a RESP3 client gets `%` maps, a RESP2 client the
//! flat arrays Redis downgrades them to.

use super::{HELP_FLAGS, c_text, entry_reply, id_reply, lookup_read, range_reply};
use crate::cmd::args::is;
use crate::cmd::server::help_reply;
use crate::cmd::subcommand_syntax;
use crate::cmd::{Command, Group, READONLY};
use crate::keyspace::stream::{ConsumerGroup, INVALID_ENTRIES_READ, Stream};
use crate::reply::{self, Reply};
use crate::server::Ctx;

pub static XINFO_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "5.0.0",
        summary: "List the consumers in a consumer group",
        ..Command::new("consumers", 4, READONLY, (2, 2, 1), Group::Stream, xinfo)
    },
    Command {
        since: "5.0.0",
        summary: "List the consumer groups of a stream",
        ..Command::new("groups", 3, READONLY, (2, 2, 1), Group::Stream, xinfo)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, HELP_FLAGS, (0, 0, 0), Group::Stream, xinfo)
    },
    Command {
        since: "5.0.0",
        summary: "Get information about a stream",
        ..Command::new("stream", -3, READONLY, (2, 2, 1), Group::Stream, xinfo)
    },
];

const HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

/// XINFO alone (arity refuses it first).
pub fn xinfo_help(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    subcommand_syntax(argv)
}

fn field(name: &'static str, value: Reply) -> (Reply, Reply) {
    (Reply::Bulk(name.as_bytes().to_vec()), value)
}

fn opt_int(v: Option<i64>) -> Reply {
    v.map_or(Reply::Nil, Reply::Int)
}

fn entries_read(g: &ConsumerGroup) -> Reply {
    opt_int((g.entries_read != INVALID_ENTRIES_READ).then_some(g.entries_read))
}

/// `xinfoCommand`.
fn xinfo(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if is(argv[1], "HELP") {
        return if argv.len() != 2 { subcommand_syntax(argv) } else { help_reply("XINFO", HELP) };
    } else if argv.len() < 3 {
        return subcommand_syntax(argv);
    }
    let now = ctx.now_ms();
    let s = match lookup_read(ctx, argv[2]) {
        Err(e) => return e,
        Ok(None) => return Reply::err(reply::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    let opt = argv[1];
    if is(opt, "CONSUMERS") && argv.len() == 4 {
        let Some(g) = s.cgroups.get(argv[3]) else {
            return Reply::error(format!("NOGROUP No such consumer group '{}' for key name '{}'", c_text(argv[3]), c_text(argv[2])));
        };
        let consumers = g.consumers.iter().map(|(name, c)| {
            Reply::Map(vec![
                field("name", Reply::Bulk(name.clone())),
                field("pending", Reply::Int(c.pel.len() as i64)),
                field("idle", Reply::Int(now.wrapping_sub(c.seen_time).max(0))),
            ])
        });
        Reply::Array(consumers.collect())
    } else if is(opt, "GROUPS") && argv.len() == 3 {
        let groups = s.cgroups.iter().map(|(name, g)| {
            Reply::Map(vec![
                field("name", Reply::Bulk(name.clone())),
                field("consumers", Reply::Int(g.consumers.len() as i64)),
                field("pending", Reply::Int(g.pel.len() as i64)),
                field("last-delivered-id", id_reply(g.last_id)),
                field("entries-read", entries_read(g)),
                field("lag", opt_int(s.cg_lag(g))),
            ])
        });
        Reply::Array(groups.collect())
    } else if is(opt, "STREAM") {
        stream_info(s, &argv[3..], argv)
    } else {
        subcommand_syntax(argv)
    }
}

/// `xinfoReplyWithStreamInfo`.
fn stream_info(s: &Stream, opts: &[&[u8]], argv: &[&[u8]]) -> Reply {
    let mut count: i64 = 10; // FULL's default, not to block the server
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !is(opts[0], "full") {
            return subcommand_syntax(argv);
        }
        if opts.len() == 3 {
            if !is(opts[1], "count") {
                return subcommand_syntax(argv);
            }
            count = match crate::cmd::args::int(opts[2]) {
                Ok(n) if n < 0 => 10,
                Ok(n) => n,
                Err(e) => return e,
            };
        }
    }
    let mut m = vec![
        field("length", Reply::Int(s.length as i64)),
        field("radix-tree-keys", Reply::Int(s.rax.len() as i64)),
        field("radix-tree-nodes", Reply::Int(s.rax_nodes() as i64)),
        field("last-generated-id", id_reply(s.last_id)),
        field("max-deleted-entry-id", id_reply(s.max_deleted_entry_id)),
        field("entries-added", Reply::Int(s.entries_added as i64)),
        field("recorded-first-entry-id", id_reply(s.first_id)),
    ];
    if !full {
        m.push(field("groups", Reply::Int(s.cgroups.len() as i64)));
        let edge = |rev: bool| s.iter(None, None, rev).next_entry().map_or(Reply::Nil, |e| entry_reply(&e));
        m.push(field("first-entry", edge(false)));
        m.push(field("last-entry", edge(true)));
        return Reply::Map(m);
    }
    let count = super::count_arg(count);
    let limit = |n: usize| if count == 0 { n } else { n.min(count) };
    m.push(field("entries", Reply::Array(range_reply(s, None, None, count, false))));
    let groups = s.cgroups.iter().map(|(name, g)| {
        let pending = g.pel.iter().take(limit(g.pel.len())).map(|(id, nack)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(nack.consumer.clone().unwrap_or_default()),
                Reply::Int(nack.delivery_time),
                Reply::Int(nack.delivery_count as i64),
            ])
        });
        let consumers = g.consumers.iter().map(|(cname, c)| {
            let pel = c.pel.iter().take(limit(c.pel.len())).map(|id| {
                let nack = g.pel.get(id);
                Reply::Array(vec![
                    id_reply(*id),
                    Reply::Int(nack.map_or(0, |n| n.delivery_time)),
                    Reply::Int(nack.map_or(0, |n| n.delivery_count as i64)),
                ])
            });
            Reply::Map(vec![
                field("name", Reply::Bulk(cname.clone())),
                field("seen-time", Reply::Int(c.seen_time)),
                field("pel-count", Reply::Int(c.pel.len() as i64)),
                field("pending", Reply::Array(pel.collect())),
            ])
        });
        Reply::Map(vec![
            field("name", Reply::Bulk(name.clone())),
            field("last-delivered-id", id_reply(g.last_id)),
            field("entries-read", entries_read(g)),
            field("lag", opt_int(s.cg_lag(g))),
            field("pel-count", Reply::Int(g.pel.len() as i64)),
            field("pending", Reply::Array(pending.collect())),
            field("consumers", Reply::Array(consumers.collect())),
        ])
    });
    m.push(field("groups", Reply::Array(groups.collect())));
    Reply::Map(m)
}
