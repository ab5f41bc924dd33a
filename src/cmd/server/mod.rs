//! Server and connection commands: PING, ECHO, SELECT, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TIME,
//! QUIT, HELLO, AUTH, RESET, CLIENT, INFO, CONFIG, COMMAND, ACL and DEBUG.
//!
//! Most of them never touch a key. The ones that matter for the AOF are the three that change a
//! whole database at once: FLUSHDB and FLUSHALL are always propagated, even on an empty dataset
//! (Redis forces it, so that a replica or a reloaded AOF also ends up empty), and SWAPDB is
//! propagated verbatim like any write. All three count as touching every WATCHed key that
//! exists in the databases involved.
//!
//! Files: [`client`] (HELLO, AUTH, RESET, CLIENT), [`info`], [`config`] (CONFIG), [`command`] (COMMAND with
//! the recorded metadata of [`meta`]), [`acl`] (ACL, and the permission check of every command),
//! [`debug`] (DEBUG, DIGEST).

pub mod acl;
pub mod client;
pub mod command;
pub mod config;
pub mod debug;
pub mod diag;
pub mod info;
pub mod meta;
pub mod persist;
pub mod shapes;
pub mod stats;

use super::{ADMIN, ALLOW_BUSY, Command, FAST, Group, LOADING, NO_AUTH, NO_MULTI, NO_QUEUE, NOSCRIPT, READONLY, STALE, WRITE, args};
use crate::reply::{DB_INDEX, Reply};
use crate::server::{Ctx, Server};

const LS: u32 = LOADING | STALE;
/// Flags of CONFIG GET/SET/RESETSTAT/REWRITE, CLIENT LIST, DEBUG.
const ADMIN_LS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    Command { summary: "Ping the server", ..Command::new("ping", -1, FAST, (0, 0, 0), Group::Connection, ping) },
    Command { summary: "Echo the given string", ..Command::new("echo", 2, LS | FAST, (0, 0, 0), Group::Connection, echo) },
    Command {
        summary: "Change the selected database for the current connection",
        ..Command::new("select", 2, LS | FAST, (0, 0, 0), Group::Connection, select)
    },
    Command {
        since: "4.0.0",
        summary: "Swaps two Redis databases",
        ..Command::new("swapdb", 3, WRITE | FAST, (0, 0, 0), Group::Server, swapdb)
    },
    Command {
        summary: "Return the number of keys in the selected database",
        ..Command::new("dbsize", 1, READONLY | FAST, (0, 0, 0), Group::Server, dbsize)
    },
    Command {
        summary: "Remove all keys from the current database",
        ..Command::new("flushdb", -1, WRITE, (0, 0, 0), Group::Server, flushdb)
    },
    Command { summary: "Remove all keys from all databases", ..Command::new("flushall", -1, WRITE, (0, 0, 0), Group::Server, flushall) },
    Command {
        summary: "Asynchronously rewrite the append-only file",
        ..Command::new("bgrewriteaof", 1, crate::cmd::ADMIN | crate::cmd::NOSCRIPT, (0, 0, 0), Group::Server, bgrewriteaof)
    },
    Command {
        summary: "Synchronously save the dataset to disk",
        ..Command::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), Group::Server, persist::save)
    },
    Command {
        summary: "Asynchronously save the dataset to disk",
        ..Command::new("bgsave", -1, ADMIN | NOSCRIPT, (0, 0, 0), Group::Server, persist::bgsave)
    },
    Command {
        summary: "Get the UNIX time stamp of the last successful save to disk",
        ..Command::new("lastsave", 1, LS | FAST, (0, 0, 0), Group::Server, persist::lastsave)
    },
    Command {
        since: "2.6.0",
        summary: "Return the current server time",
        ..Command::new("time", 1, LS | FAST, (0, 0, 0), Group::Server, time)
    },
    Command {
        summary: "Close the connection",
        ..Command::new("quit", -1, NOSCRIPT | LS | FAST | NO_AUTH | ALLOW_BUSY | NO_QUEUE, (0, 0, 0), Group::Connection, quit)
    },
    Command {
        since: "6.0.0",
        summary: "Handshake with Redis",
        ..Command::new("hello", -1, NOSCRIPT | LS | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), Group::Connection, client::hello)
    },
    Command {
        summary: "Authenticate to the server",
        ..Command::new("auth", -2, NOSCRIPT | LS | FAST | NO_AUTH | ALLOW_BUSY, (0, 0, 0), Group::Connection, client::auth)
    },
    Command {
        since: "6.2.0",
        summary: "Reset the connection",
        ..Command::new("reset", 1, NOSCRIPT | LS | FAST | NO_AUTH | ALLOW_BUSY | NO_QUEUE, (0, 0, 0), Group::Connection, client::reset)
    },
    Command {
        summary: "Get information and statistics about the server",
        ..Command::new("info", -1, LS, (0, 0, 0), Group::Server, info::info)
    },
    Command {
        since: "2.4.0",
        summary: "A container for client connection commands",
        subcommands: client::SUBCOMMANDS,
        ..Command::new("client", -2, 0, (0, 0, 0), Group::Connection, client::help)
    },
    Command {
        since: "2.0.0",
        summary: "A container for server configuration commands",
        subcommands: config::SUBCOMMANDS,
        ..Command::new("config", -2, 0, (0, 0, 0), Group::Server, config::help)
    },
    Command {
        since: "2.8.13",
        summary: "Get array of Redis command details",
        subcommands: command::SUBCOMMANDS,
        ..Command::new("command", -1, LS, (0, 0, 0), Group::Server, command::command)
    },
    Command {
        since: "6.0.0",
        summary: "A container for Access List Control commands ",
        subcommands: acl::SUBCOMMANDS,
        ..Command::new("acl", -2, 0, (0, 0, 0), Group::Server, acl::help_container)
    },
    Command {
        summary: "A container for debugging commands",
        ..Command::new("debug", -2, ADMIN_LS, (0, 0, 0), Group::Server, debug::debug)
    },
];

/// `addReplyHelp`: the title line, the subcommand lines, then HELP's own entry.
pub(crate) fn help_reply(cmd: &str, lines: &[&'static str]) -> Reply {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Reply::Status(format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into()));
    out.extend(lines.iter().map(|l| Reply::status(l)));
    out.push(Reply::status("HELP"));
    out.push(Reply::status("    Prints this help."));
    Reply::Array(out)
}

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // A RESP2 subscriber reads frames only: PING answers like one (`["pong", arg]`).
    let subscribed = ctx.client.subs.total() > 0 && !ctx.resp3();
    match argv {
        [_] if subscribed => Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("")]),
        [_, msg] if subscribed => Reply::Array(vec![Reply::bulk("pong"), Reply::bulk(*msg)]),
        [_] => Reply::status("PONG"),
        [_, msg] => Reply::bulk(*msg),
        _ => Reply::wrong_arity("ping"),
    }
}

fn echo(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    Reply::bulk(argv[1])
}

/// `getIntFromObjectOrReply`: an `int`; `msg` replaces both errors when given.
fn get_int(a: &[u8], msg: Option<&'static str>) -> Result<i32, Reply> {
    let v = args::int(a).map_err(|e| msg.map_or(e, Reply::err))?;
    i32::try_from(v)
        .map_err(|_| msg.map_or_else(|| Reply::err("ERR value is out of range, value must between -2147483648 and 2147483647"), Reply::err))
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let id = match get_int(argv[1], None) {
        Ok(id) => id,
        Err(e) => return e,
    };
    match usize::try_from(id) {
        Ok(id) if id < ctx.srv.dbs.len() => {
            ctx.client.db = id;
            Reply::ok()
        }
        _ => Reply::err(DB_INDEX),
    }
}

fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let id1 = match get_int(argv[1], Some("ERR invalid first DB index")) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let id2 = match get_int(argv[2], Some("ERR invalid second DB index")) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let n = ctx.srv.dbs.len();
    let (Ok(id1), Ok(id2)) = (usize::try_from(id1), usize::try_from(id2)) else {
        return Reply::err(DB_INDEX);
    };
    if id1 >= n || id2 >= n {
        return Reply::err(DB_INDEX);
    }
    swap_databases(ctx.srv, id1, id2);
    // Even SWAPDB 0 0 counts as a change, and is propagated.
    ctx.dirty(1);
    Reply::ok()
}

/// `dbSwapDatabases`: the data moves, while WATCHes and blocked clients stay with their db
/// index. Watchers of a key present on either side are touched; clients blocked on a key that
/// now exists get a chance to be served.
pub fn swap_databases(srv: &mut Server, id1: usize, id2: usize) {
    if id1 == id2 {
        return;
    }
    srv.touch_all_watched_keys_in_db(id1, Some(id2));
    srv.touch_all_watched_keys_in_db(id2, Some(id1));
    let streams: Vec<(usize, Vec<u8>)> =
        [id1, id2].into_iter().flat_map(|d| srv.blocked_streams_in(d).into_iter().map(move |k| (d, k))).collect();
    let (lo, hi) = (id1.min(id2), id1.max(id2));
    let (left, right) = srv.dbs.split_at_mut(hi);
    if let (Some(a), Some(b)) = (left.get_mut(lo), right.first_mut()) {
        a.swap(b);
    }
    // scanDatabaseForReadyKeys, for both dbs.
    let ready: Vec<(usize, Vec<u8>)> =
        srv.blocking_keys.keys().filter(|(db, key)| (*db == id1 || *db == id2) && srv.dbs[*db].contains(key)).cloned().collect();
    for (db, key) in ready {
        srv.signal_key_as_ready(db, &key);
    }
    // scanDatabaseForDeletedStreams: a stream swapped away (the keys still present were
    // signalled above).
    for (db, key) in streams {
        srv.signal_key_as_ready(db, &key);
    }
}

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(ctx.db().len() as i64)
}

/// `getFlushCommandFlags`: `[ASYNC|SYNC]`. Freeing is synchronous here either way; the option
/// only matters for what is propagated (the argv, verbatim).
fn flush_flags(argv: &[&[u8]]) -> Result<(), Reply> {
    match argv {
        [_] => Ok(()),
        [_, opt] if args::is(opt, "sync") || args::is(opt, "async") => Ok(()),
        _ => Err(Reply::syntax()),
    }
}

/// `emptyData` for one db or all (`None`): WATCHers are touched while the keys still exist.
/// Returns the number of keys removed.
pub fn empty_data(srv: &mut Server, db: Option<usize>) -> u64 {
    let range = match db {
        Some(id) => id..id + 1,
        None => 0..srv.dbs.len(),
    };
    let mut removed = 0;
    diag::invalidate_all(srv);
    for id in range {
        srv.touch_all_watched_keys_in_db(id, None);
        let streams = srv.blocked_streams_in(id);
        removed += srv.dbs[id].clear() as u64;
        // scanDatabaseForDeletedStreams: XREADGROUP clients of a flushed stream are unblocked.
        streams.iter().for_each(|k| srv.signal_key_as_ready(id, k));
    }
    removed
}

fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if let Err(e) = flush_flags(argv) {
        return e;
    }
    let removed = empty_data(ctx.srv, Some(ctx.client.db));
    ctx.dirty(removed);
    // Without forcing it, FLUSHDB of an empty db would not reach the AOF.
    ctx.force_propagation();
    Reply::ok()
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if let Err(e) = flush_flags(argv) {
        return e;
    }
    // flushAllDataAndResetRDB: a running BGSAVE is killed and, with save points, the empty
    // dataset is saved at once, which resets dirty (observed on 7.0.15: FLUSHALL of 3 keys adds
    // 3 to rdb_changes_since_last_save, or leaves 0 with save points). Propagation is forced.
    let removed = empty_data(ctx.srv, None);
    ctx.dirty(removed);
    ctx.srv.kill_rdb_child();
    if !crate::rdb::save::save_params(&ctx.srv.config.save).is_empty() {
        ctx.srv.rdb_save().ok();
    }
    ctx.force_propagation();
    Reply::ok()
}

fn time(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let now = ctx.now_ms();
    let (secs, micros) = (now.div_euclid(1000), now.rem_euclid(1000) * 1000);
    Reply::array_of_bulks([secs.to_string(), micros.to_string()])
}

fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    ctx.client.close_after_reply = true;
    Reply::ok()
}

/// BGREWRITEAOF (see `aof::bgrewrite`). While a BGSAVE runs, or inside EXEC, it is only
/// scheduled, as in Redis.
fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    use crate::aof::bgrewrite::Start;
    if ctx.srv.aof.child.is_some() {
        return Reply::err("ERR Background append only file rewriting already in progress");
    }
    // Another child (a BGSAVE), or inside EXEC: scheduled, and the failure count starts over.
    if ctx.srv.has_active_child() || ctx.client.in_exec {
        ctx.srv.aof.rewrite_scheduled = true;
        ctx.srv.aof.consecutive_failures = 0;
        return Reply::status("Background append only file rewriting scheduled");
    }
    match ctx.srv.rewrite_append_only_file_background() {
        Start::Started => Reply::status("Background append only file rewriting started"),
        Start::AlreadyInProgress => Reply::err("ERR Background append only file rewriting already in progress"),
        Start::Failed => Reply::err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}
