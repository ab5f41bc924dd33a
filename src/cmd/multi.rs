//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Commands sent after MULTI are queued (`+QUEUED`); EXEC runs them back to back. A command
//! rejected while queueing (unknown, wrong arity) makes EXEC abort with `-EXECABORT`; a touched
//! WATCHed key makes it return a null array. For the AOF, what EXEC's commands propagate is
//! wrapped in MULTI/EXEC only when there is more than one op (a 7.0 change: 6.2 always wrapped).

use super::{Command, Group, NO_QUEUE, call, lookup, lookup_sub};
use crate::cmd::{ALLOW_BUSY, FAST, LOADING, NO_MULTI, NOSCRIPT, Outcome, SKIP_SLOWLOG, STALE};
use crate::reply::Reply;
use crate::server::{Client, Ctx, Server, WatchedKey, Watcher};

const TX: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "1.2.0",
        summary: "Start a transaction",
        ..Command::new("multi", 1, TX | NO_MULTI | NO_QUEUE, (0, 0, 0), Group::Transactions, multi)
    },
    Command {
        since: "1.2.0",
        summary: "Execute all commands issued after MULTI",
        ..Command::new("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NO_QUEUE, (0, 0, 0), Group::Transactions, exec)
    },
    Command {
        since: "2.0.0",
        summary: "Discard all commands issued after MULTI",
        ..Command::new("discard", 1, TX | NO_MULTI | NO_QUEUE, (0, 0, 0), Group::Transactions, discard)
    },
    Command {
        since: "2.2.0",
        summary: "Monitor changes to keys to determine execution of a MULTI/EXEC block",
        ..Command::new("watch", -2, TX | NO_MULTI | NO_QUEUE, (1, -1, 1), Group::Transactions, watch)
    },
    Command {
        since: "2.2.0",
        summary: "Forget about all watched keys",
        ..Command::new("unwatch", 1, TX, (0, 0, 0), Group::Transactions, unwatch)
    },
];

/// True inside MULTI, and while EXEC runs its commands (Redis keeps `CLIENT_MULTI` set until
/// the end of `execCommand`): a MULTI or WATCH that the AOF loader queued fails there.
fn in_multi(client: &Client) -> bool {
    client.multi.is_some() || client.in_exec
}

fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    if in_multi(ctx.client) {
        return Reply::err("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Default::default());
    Reply::ok()
}

fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    if ctx.client.multi.take().is_none() {
        return Reply::err("ERR DISCARD without MULTI");
    }
    unwatch_all_keys(ctx.srv, ctx.client);
    Reply::ok()
}

fn exec(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    // EXEC itself is never propagated: only what its commands propagate.
    ctx.prevent_propagation();
    let Some(multi) = ctx.client.multi.take() else {
        return Reply::err("ERR EXEC without MULTI");
    };
    let cas_failed = ctx.srv.dirty_cas.contains(&ctx.client.id) || is_watched_key_expired(ctx.srv, ctx.client);
    unwatch_all_keys(ctx.srv, ctx.client);
    if multi.dirty_exec {
        return Reply::err("EXECABORT Transaction discarded because of previous errors.");
    }
    if cas_failed {
        return Reply::NilArray;
    }
    ctx.client.in_exec = true;
    ctx.client.exec_len = multi.commands.len();
    let mut replies = Vec::with_capacity(multi.commands.len());
    // An ACL refusal's error counts on EXEC (`failed_calls`) unless a command runs after it:
    // Redis's `prev_err_count` is reset by every nested call().
    let mut refused_last = false;
    for argv in &multi.commands {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let Some(mut cmd) = lookup(refs[0]) else {
            replies.push(Reply::err("ERR unknown command"));
            continue;
        };
        let mut parent = None;
        if !cmd.subcommands.is_empty() && refs.len() >= 2 {
            match lookup_sub(cmd, refs[1]) {
                Some(sub) => (cmd, parent) = (sub, Some(cmd)),
                None => {
                    replies.push(Reply::err("ERR unknown subcommand"));
                    continue;
                }
            }
        }
        // ACL permissions are checked again: the rules may have changed since queueing.
        if let Err(denied) = super::server::acl::check(ctx.srv, ctx.client, cmd, parent, &refs) {
            // The entry's client-info shows the transaction (flags=x multi=N), as Redis's
            // client still holds it while EXEC runs.
            ctx.client.multi = Some(multi.clone());
            super::server::acl::log_denial(ctx.srv, ctx.client, cmd, parent, &refs, denied, crate::acl::LogContext::Multi);
            ctx.client.multi = None;
            replies.push(super::server::acl::exec_noperm_reply(denied.0));
            refused_last = true;
            continue;
        }
        refused_last = false;
        match call(ctx.srv, ctx.client, cmd, &refs) {
            Outcome::Reply(r) => replies.push(r),
            Outcome::Blocked => replies.push(Reply::NilArray),
        }
    }
    ctx.client.in_exec = false;
    if refused_last {
        ctx.mark_failed();
    }
    Reply::Array(replies)
}

fn watch(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if in_multi(ctx.client) {
        return Reply::err("ERR WATCH inside MULTI is not allowed");
    }
    // A client already marked dirty cannot un-dirty itself: no point watching more.
    if ctx.srv.dirty_cas.contains(&ctx.client.id) {
        return Reply::ok();
    }
    let db = ctx.client.db;
    for key in &argv[1..] {
        if ctx.client.watched.iter().any(|w| w.db == db && w.key == *key) {
            continue;
        }
        let expired = ctx.srv.dbs[db].contains(key) && ctx.srv.key_is_expired(db, key);
        ctx.client.watched.push(WatchedKey { db, key: key.to_vec() });
        ctx.srv.watched_keys.entry((db, key.to_vec())).or_default().push(Watcher { client: ctx.client.id, expired });
    }
    Reply::ok()
}

fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    unwatch_all_keys(ctx.srv, ctx.client);
    Reply::ok()
}

/// 7.0: a WATCHed key that expired after WATCH counts as modified (one still flagged as expired
/// when WATCHed does not: see [`Watcher`]).
fn is_watched_key_expired(srv: &Server, client: &Client) -> bool {
    client.watched.iter().any(|w| {
        let flagged = srv
            .watched_keys
            .get(&(w.db, w.key.clone()))
            .and_then(|ws| ws.iter().find(|x| x.client == client.id))
            .is_some_and(|x| x.expired);
        !flagged && srv.key_is_expired(w.db, &w.key)
    })
}

pub fn unwatch_all_keys(srv: &mut Server, client: &mut Client) {
    for w in client.watched.drain(..) {
        let k = (w.db, w.key);
        if let Some(ids) = srv.watched_keys.get_mut(&k) {
            ids.retain(|w| w.client != client.id);
            if ids.is_empty() {
                srv.watched_keys.remove(&k);
            }
        }
    }
    srv.dirty_cas.remove(&client.id);
}
