//! HELLO, AUTH, RESET and the CLIENT subcommands: ID, GETNAME, SETNAME, LIST, INFO, KILL, PAUSE,
//! UNPAUSE, REPLY, NO-EVICT, UNBLOCK, TRACKING, TRACKINGINFO, CACHING, GETREDIR.
//!
//! Every connection of the engine is a [`crate::server::Client`]: while a command runs, its own
//! is [`Ctx::client`] and the others are in `srv.clients`, so CLIENT LIST lists them all (in id
//! order, as Redis's list of clients is in connection order), KILL and UNBLOCK reach another.
//! What only the host knows (`addr`, `laddr`, `fd`: `serve` sets them from its sockets) is
//! shown as the host gave it; the buffer sizes (`qbuf`, `obl`, `omem` …) are not modelled (0).
//! A killed connection is flagged and listed in `srv.killed`: the host closes it.
//!
//! A connection runs as an ACL user ([`crate::acl`]), `default` until AUTH (or HELLO … AUTH)
//! names another. While the default user has a password (`requirepass`) or is off, a new
//! connection must authenticate before any other command (`-NOAUTH`, checked in
//! `processCommand`, [`crate::cmd::process_command`]).

use super::{ADMIN_LS, LS, help_reply};
use crate::cmd::{Command, Group, NOSCRIPT, args};
use crate::reply::Reply;
use crate::server::{Client, ClientId, Ctx, ReplyMode};

pub static SUBCOMMANDS: &[Command] = &[
    Command {
        since: "5.0.0",
        summary: "Returns the client ID for the current connection",
        ..Command::new("id", 2, NOSCRIPT | LS, (0, 0, 0), Group::Connection, client_id)
    },
    Command {
        since: "2.6.9",
        summary: "Get the current connection name",
        ..Command::new("getname", 2, NOSCRIPT | LS, (0, 0, 0), Group::Connection, getname)
    },
    Command {
        since: "2.6.9",
        summary: "Set the current connection name",
        ..Command::new("setname", 3, NOSCRIPT | LS, (0, 0, 0), Group::Connection, setname)
    },
    Command {
        since: "2.4.0",
        summary: "Get the list of client connections",
        ..Command::new("list", -2, ADMIN_LS, (0, 0, 0), Group::Connection, list)
    },
    Command {
        since: "6.2.0",
        summary: "Returns information about the current client connection.",
        ..Command::new("info", 2, NOSCRIPT | LS, (0, 0, 0), Group::Connection, info)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LS, (0, 0, 0), Group::Connection, help)
    },
    Command {
        since: "2.4.0",
        summary: "Kill the connection of a client",
        ..Command::new("kill", -3, ADMIN_LS, (0, 0, 0), Group::Connection, kill)
    },
    Command {
        since: "2.9.50",
        summary: "Stop processing commands from clients for some time",
        ..Command::new("pause", -3, ADMIN_LS, (0, 0, 0), Group::Connection, pause)
    },
    Command {
        since: "6.2.0",
        summary: "Resume processing of clients that were paused",
        ..Command::new("unpause", 2, ADMIN_LS, (0, 0, 0), Group::Connection, unpause)
    },
    Command {
        since: "3.2.0",
        summary: "Instruct the server whether to reply to commands",
        ..Command::new("reply", 3, NOSCRIPT | LS, (0, 0, 0), Group::Connection, reply)
    },
    Command {
        since: "7.0.0",
        summary: "Set client eviction mode for the current connection",
        ..Command::new("no-evict", 3, ADMIN_LS, (0, 0, 0), Group::Connection, no_evict)
    },
    Command {
        since: "5.0.0",
        summary: "Unblock a client blocked in a blocking command from a different connection",
        ..Command::new("unblock", -3, ADMIN_LS, (0, 0, 0), Group::Connection, unblock)
    },
    Command {
        since: "6.0.0",
        summary: "Enable or disable server assisted client side caching support",
        ..Command::new("tracking", -3, NOSCRIPT | LS, (0, 0, 0), Group::Connection, tracking)
    },
    Command {
        since: "6.2.0",
        summary: "Return information about server assisted client side caching for the current connection",
        ..Command::new("trackinginfo", 2, NOSCRIPT | LS, (0, 0, 0), Group::Connection, trackinginfo)
    },
    Command {
        since: "6.0.0",
        summary: "Instruct the server about tracking or not keys in the next request",
        ..Command::new("caching", 3, NOSCRIPT | LS, (0, 0, 0), Group::Connection, caching)
    },
    Command {
        since: "6.0.0",
        summary: "Get tracking notifications redirection client ID if any",
        ..Command::new("getredir", 2, NOSCRIPT | LS, (0, 0, 0), Group::Connection, getredir)
    },
];

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

pub(super) fn help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("CLIENT", HELP)
}

/// The reply of a client unblocked with CLIENT UNBLOCK … ERROR.
const UNBLOCKED_ERR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(ctx.client.id as i64)
}

fn getname(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::bulk_opt(ctx.client.name.clone())
}

/// `clientSetName`: printable ASCII without spaces (CLIENT LIST splits on spaces); empty clears.
fn set_client_name(ctx: &mut Ctx, name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Reply::err("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    ctx.client.name = if name.is_empty() { None } else { Some(name.to_vec()) };
    Ok(())
}

fn setname(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match set_client_name(ctx, argv[2]) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// `getClientType`: `pubsub` for a subscribed client, `normal` otherwise (no replicas here).
fn client_type(c: &Client) -> &'static str {
    if c.subs.total() > 0 { "pubsub" } else { "normal" }
}

/// `getClientTypeByName`.
fn type_by_name(name: &[u8]) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some("normal"),
        b"slave" | b"replica" => Some("replica"),
        b"pubsub" => Some("pubsub"),
        b"master" => Some("master"),
        _ => None,
    }
}

/// `catClientInfoString`, with what the engine knows about a connection.
pub fn client_info_string(srv: &crate::server::Server, c: &Client, now_ms: i64) -> String {
    let mut flags = String::new();
    if srv.monitors.contains(&c.id) {
        flags.push('O');
    }
    if c.subs.total() > 0 {
        flags.push('P');
    }
    // EXEC runs the queue with the client still in MULTI (`CLIENT_MULTI` until it ends).
    if c.multi.is_some() || c.in_exec {
        flags.push('x');
    }
    if c.blocked.is_some() {
        flags.push('b');
    }
    if let Some(t) = &c.tracking {
        flags.push('t');
        if t.broken {
            flags.push('R');
        }
        if t.bcast {
            flags.push('B');
        }
    }
    if c.multi.as_ref().is_some_and(|m| m.dirty_exec) || srv.dirty_cas.contains(&c.id) {
        flags.push('d');
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let multi = match &c.multi {
        Some(m) => m.commands.len() as i64,
        None if c.in_exec => c.exec_len as i64,
        None => -1,
    };
    let name = c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let age = (now_ms - c.created_ms).max(0) / 1000;
    let idle = (now_ms - c.last_interaction_ms.max(c.created_ms)).max(0) / 1000;
    let cmd = c.last_cmd.map_or_else(|| "NULL".to_string(), |(cmd, parent)| crate::cmd::full_name(cmd, parent));
    let redir = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    format!(
        "id={} addr={} laddr={} fd={} name={name} age={age} idle={idle} flags={flags} db={} sub={} psub={} ssub={} multi={multi} \
         qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={cmd} user={} redir={redir} resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        c.db,
        c.subs.channels.len(),
        c.subs.patterns.len(),
        c.subs.shard_channels.len(),
        String::from_utf8_lossy(c.user_name()),
        c.protocol()
    )
}

/// Every client, the caller included, in id order (Redis's list of clients: connection order).
fn all_clients<'a>(ctx: &'a Ctx) -> Vec<&'a Client> {
    let mut v: Vec<&Client> = ctx.srv.clients.values().filter(|c| !c.killed).chain(std::iter::once(&*ctx.client)).collect();
    v.sort_by_key(|c| c.id);
    v
}

fn list(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let now = ctx.now_ms();
    let line = |c: &Client| {
        let mut s = client_info_string(ctx.srv, c, now);
        s.push('\n');
        s
    };
    let out: String = match argv {
        [_, _] => all_clients(ctx).into_iter().map(line).collect(),
        [_, _, opt, kind] if args::is(opt, "type") => match type_by_name(kind) {
            Some(t) => all_clients(ctx).into_iter().filter(|c| client_type(c) == t).map(line).collect(),
            None => return Reply::error(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(kind))),
        },
        [_, _, opt, ids @ ..] if argv.len() > 3 && args::is(opt, "id") => {
            let mut out = String::new();
            for id in ids {
                let Some(id) = crate::util::string2ll(id) else {
                    return Reply::err("ERR Invalid client ID");
                };
                if let Some(c) = all_clients(ctx).into_iter().find(|c| c.id as i64 == id) {
                    out.push_str(&line(c));
                }
            }
            out
        }
        _ => return Reply::syntax(),
    };
    txt(out)
}

fn info(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let mut s = client_info_string(ctx.srv, ctx.client, ctx.now_ms());
    s.push('\n');
    txt(s)
}

/// `CLIENT KILL addr` (old form: `+OK` or `-ERR No such client`, may kill the caller) or
/// `CLIENT KILL <filter> <value> …` (the number killed; SKIPME yes by default).
fn kill(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (mut addr, mut laddr, mut kind, mut id, mut user) = (None, None, None, 0u64, None);
    let mut skipme = true;
    if argv.len() == 3 {
        addr = Some(argv[2]);
        skipme = false;
    } else {
        let mut i = 2;
        while i < argv.len() {
            let Some(&value) = argv.get(i + 1) else {
                return Reply::syntax();
            };
            let opt = argv[i];
            if args::is(opt, "id") {
                match crate::util::string2ll(value) {
                    Some(n) if n >= 1 => id = n as u64,
                    Some(_) => return Reply::err("ERR client-id should be greater than 0"),
                    None => return Reply::err("ERR client-id should be greater than 0"),
                }
            } else if args::is(opt, "type") {
                match type_by_name(value) {
                    Some(t) => kind = Some(t),
                    None => return Reply::error(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(value))),
                }
            } else if args::is(opt, "addr") {
                addr = Some(value);
            } else if args::is(opt, "laddr") {
                laddr = Some(value);
            } else if args::is(opt, "user") {
                if !ctx.srv.acl.users.contains_key(value) {
                    return Reply::error(format!("ERR No such user '{}'", String::from_utf8_lossy(value)));
                }
                user = Some(value);
            } else if args::is(opt, "skipme") {
                if args::is(value, "yes") {
                    skipme = true;
                } else if args::is(value, "no") {
                    skipme = false;
                } else {
                    return Reply::syntax();
                }
            } else {
                return Reply::syntax();
            }
            i += 2;
        }
    }
    let me = ctx.client.id;
    let matching: Vec<ClientId> = all_clients(ctx)
        .into_iter()
        .filter(|c| addr.is_none_or(|a| c.addr.as_bytes() == a))
        .filter(|c| laddr.is_none_or(|a| c.laddr.as_bytes() == a))
        .filter(|c| kind.is_none_or(|k| client_type(c) == k))
        .filter(|c| id == 0 || c.id == id)
        .filter(|c| user.is_none_or(|u| c.user_name() == u))
        .filter(|c| !(skipme && c.id == me))
        .map(|c| c.id)
        .collect();
    let mut close_me = false;
    for &victim in &matching {
        if victim == me {
            close_me = true;
        } else {
            kill_client(ctx.srv, victim);
        }
    }
    let reply = if argv.len() == 3 {
        if matching.is_empty() { Reply::err("ERR No such client") } else { Reply::ok() }
    } else {
        Reply::Int(matching.len() as i64)
    };
    // Flagged only once the reply is queued: it is still sent.
    if close_me {
        ctx.client.close_after_reply = true;
    }
    reply
}

/// `freeClient` of another connection: everything it held is released now; the host closes
/// its socket (its unsent replies are lost, as in Redis).
pub fn kill_client(srv: &mut crate::server::Server, id: ClientId) {
    let Some(mut c) = srv.clients.remove(&id) else {
        return;
    };
    crate::cmd::multi::unwatch_all_keys(srv, &mut c);
    crate::cmd::pubsub::unsubscribe_everything(srv, &mut c);
    super::diag::disable_tracking(srv, &mut c);
    srv.unblock_registration(&c);
    c.blocked = None;
    srv.monitors.retain(|&m| m != id);
    c.killed = true;
    srv.killed.push(id);
    srv.clients.insert(id, c);
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`.
fn pause(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() > 4 {
        return crate::cmd::subcommand_syntax(argv);
    }
    let mut all = true;
    if let Some(mode) = argv.get(3) {
        if args::is(mode, "write") {
            all = false;
        } else if !args::is(mode, "all") {
            return Reply::err("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    }
    // getTimeoutFromObjectOrReply(UNIT_MILLISECONDS); 0 ends at once.
    let Some(timeout) = crate::util::string2ll(argv[2]) else {
        return Reply::err("ERR timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return Reply::err("ERR timeout is negative");
    }
    let end = if timeout > 0 { ctx.now_ms().saturating_add(timeout) } else { 0 };
    // pauseClients: a pause never shortens one already in force, and ALL wins over WRITE.
    let (end, all) = match ctx.srv.pause {
        Some((e, a)) => (e.max(end), a || all),
        None => (end, all),
    };
    ctx.srv.pause = Some((end, all));
    Reply::ok()
}

fn unpause(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    ctx.srv.pause = None;
    Reply::ok()
}

/// `CLIENT REPLY ON|OFF|SKIP`: OFF and SKIP are not answered.
fn reply(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mode = argv[2];
    if args::is(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        Reply::ok()
    } else if args::is(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
        Reply::Many(vec![])
    } else if args::is(mode, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
        Reply::Many(vec![])
    } else {
        Reply::syntax()
    }
}

fn no_evict(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if args::is(argv[2], "on") {
        ctx.client.no_evict = true;
    } else if args::is(argv[2], "off") {
        ctx.client.no_evict = false;
    } else {
        return Reply::syntax();
    }
    Reply::ok()
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: a client blocked on keys answers as if it timed out,
/// or with `-UNBLOCKED`; one held by CLIENT PAUSE cannot be unblocked.
fn unblock(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() > 4 {
        return crate::cmd::subcommand_syntax(argv);
    }
    let mut error = false;
    if let Some(how) = argv.get(3) {
        if args::is(how, "error") {
            error = true;
        } else if !args::is(how, "timeout") {
            return Reply::err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    }
    let Some(id) = crate::util::string2ll(argv[2]) else {
        return Reply::not_integer();
    };
    let Ok(id) = ClientId::try_from(id) else {
        return Reply::Int(0);
    };
    let Some(mut c) = ctx.srv.clients.remove(&id) else {
        return Reply::Int(0);
    };
    let blocked_on_keys = c.blocked.as_ref().is_some_and(|b| !b.postponed);
    if blocked_on_keys {
        ctx.srv.unblock_registration(&c);
        if let Some(b) = c.blocked.take() {
            if error {
                if let Some((cmd, _)) = c.last_cmd {
                    super::stats::unblocked_with_error(ctx.srv, cmd);
                }
                // The error reply it gives the other client counts on CLIENT UNBLOCK too
                // (`stat_total_error_replies` moved during its call).
                ctx.mark_failed();
                ctx.srv.count_error_reply(UNBLOCKED_ERR);
            }
            let r = if error { Reply::err(UNBLOCKED_ERR) } else { b.timeout_reply };
            ctx.srv.unblocked.push((id, r));
        }
    }
    ctx.srv.clients.insert(id, c);
    Reply::Int(i64::from(blocked_on_keys))
}

/// `CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]… [OPTIN] [OPTOUT] [NOLOOP]`.
fn tracking(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    use super::diag::Tracking;
    let mut t = Tracking::default();
    let mut j = 3;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if args::is(opt, "redirect") && more > 0 {
            j += 1;
            if t.redirect != 0 {
                return Reply::err("ERR A client can only redirect to a single other client");
            }
            let Some(id) = crate::util::string2ll(argv[j]) else {
                return Reply::not_integer();
            };
            let exists = ClientId::try_from(id).is_ok_and(|id| id == ctx.client.id || ctx.srv.clients.contains_key(&id));
            if !exists {
                return Reply::err("ERR The client ID you want redirect to does not exist");
            }
            t.redirect = id as ClientId;
        } else if args::is(opt, "bcast") {
            t.bcast = true;
        } else if args::is(opt, "optin") {
            t.optin = true;
        } else if args::is(opt, "optout") {
            t.optout = true;
        } else if args::is(opt, "noloop") {
            t.noloop = true;
        } else if args::is(opt, "prefix") && more > 0 {
            j += 1;
            t.prefixes.push(argv[j].to_vec());
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    if args::is(argv[2], "on") {
        if !t.bcast && !t.prefixes.is_empty() {
            return Reply::err("ERR PREFIX option requires BCAST mode to be enabled");
        }
        if let Some(old) = &ctx.client.tracking
            && old.bcast != t.bcast
        {
            return Reply::err(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
        }
        if t.bcast && (t.optin || t.optout) {
            return Reply::err("ERR OPTIN and OPTOUT are not compatible with BCAST");
        }
        if t.optin && t.optout {
            return Reply::err("ERR You can't specify both OPTIN mode and OPTOUT mode");
        }
        if let Some(old) = &ctx.client.tracking
            && ((t.optin && old.optout) || (t.optout && old.optin))
        {
            return Reply::err(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            );
        }
        if t.bcast
            && let Some(e) = prefix_collision(ctx.client.tracking.as_ref().map_or(&[][..], |old| &old.prefixes[..]), &t.prefixes)
        {
            return e;
        }
        // BCAST without a prefix: the empty prefix, which every key has (`enableTracking`, on a
        // tracking client too: added to the prefixes it had).
        if t.bcast && t.prefixes.is_empty() {
            t.prefixes.push(Vec::new());
        }
        match ctx.client.tracking.as_mut() {
            // enableTracking on a tracking client: the mode flags are replaced, the BCAST
            // prefixes added.
            Some(old) => {
                old.redirect = t.redirect;
                old.broken = false;
                old.bcast = t.bcast;
                old.noloop = t.noloop;
                old.optin = t.optin;
                old.optout = t.optout;
                for p in t.prefixes {
                    if !old.prefixes.contains(&p) {
                        old.prefixes.push(p);
                    }
                }
                old.prefixes.sort();
            }
            None => {
                ctx.srv.diag.tracking_clients += 1;
                ctx.client.tracking = Some(t);
            }
        }
    } else if args::is(argv[2], "off") {
        super::diag::disable_tracking(ctx.srv, ctx.client);
    } else {
        return Reply::syntax();
    }
    Reply::ok()
}

/// `checkPrefixCollisionsOrReply`: a new prefix may not overlap (one a prefix of the other, the
/// empty prefix of BCAST without PREFIX overlapping every one) a prefix the client tracks already
/// (found in their sorted order, the rax's) nor another new one.
fn prefix_collision(existing: &[Vec<u8>], new: &[Vec<u8>]) -> Option<Reply> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let mut sorted: Vec<&Vec<u8>> = existing.iter().collect();
    sorted.sort();
    for (i, a) in new.iter().enumerate() {
        if let Some(old) = sorted.iter().find(|old| overlap(old, a)) {
            return Some(Reply::error(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(old)
            )));
        }
        for b in new.iter().skip(i + 1) {
            if overlap(a, b) {
                return Some(Reply::error(format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                )));
            }
        }
    }
    None
}

fn caching(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(t) = ctx.client.tracking.as_mut() else {
        return Reply::err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    if args::is(argv[2], "yes") {
        if !t.optin {
            return Reply::err("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if args::is(argv[2], "no") {
        if !t.optout {
            return Reply::err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return Reply::syntax();
    }
    t.caching = true;
    Reply::ok()
}

fn getredir(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(ctx.client.tracking.as_ref().map_or(-1, |t| t.redirect as i64))
}

/// `CLIENT TRACKINGINFO`: flags, redirect, prefixes.
fn trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let t = ctx.client.tracking.as_ref();
    let mut flags = vec![Reply::bulk(if t.is_some() { "on" } else { "off" })];
    if let Some(t) = t {
        if t.bcast {
            flags.push(Reply::bulk("bcast"));
        }
        if t.optin {
            flags.push(Reply::bulk("optin"));
            if t.caching {
                flags.push(Reply::bulk("caching-yes"));
            }
        }
        if t.optout {
            flags.push(Reply::bulk("optout"));
            if t.caching {
                flags.push(Reply::bulk("caching-no"));
            }
        }
        if t.noloop {
            flags.push(Reply::bulk("noloop"));
        }
        if t.broken {
            flags.push(Reply::bulk("broken_redirect"));
        }
    }
    let redirect = match t {
        None => -1,
        Some(t) => t.redirect as i64,
    };
    // A radix tree in Redis: in byte order.
    let mut sorted: Vec<&Vec<u8>> = t.map(|t| t.prefixes.iter().collect()).unwrap_or_default();
    sorted.sort();
    let prefixes = sorted.into_iter().map(|p| Reply::bulk(p.as_slice())).collect();
    Reply::Map(vec![
        (Reply::bulk("flags"), Reply::Set(flags)),
        (Reply::bulk("redirect"), Reply::Int(redirect)),
        (Reply::bulk("prefixes"), Reply::Array(prefixes)),
    ])
}

/// `addReplyVerbatim(…, "txt")`: CLIENT LIST and CLIENT INFO (a bulk string over RESP2).
fn txt(text: impl Into<Vec<u8>>) -> Reply {
    Reply::Verbatim("txt".into(), text.into())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
pub(super) fn hello(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut next = 1;
    // 0: no version given, the protocol stays as it is.
    let mut protocol = 0;
    if let Some(v) = argv.get(1) {
        next = 2;
        let Some(ver) = crate::util::string2ll(v) else {
            return Reply::err("ERR Protocol version is not an integer or out of range");
        };
        if !(2..=3).contains(&ver) {
            return Reply::err("NOPROTO unsupported protocol version");
        }
        protocol = ver as u8;
    }
    // Options take effect in order, as Redis applies them: a SETNAME before a bad option or a
    // wrong password stays set.
    let mut j = next;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if args::is(opt, "auth") && more >= 2 {
            ctx.redact_argument(j + 1);
            ctx.redact_argument(j + 2);
            if let Err(e) = super::acl::authenticate(ctx, argv[0], argv[j + 1], argv[j + 2]) {
                return e;
            }
            j += 2;
        } else if args::is(opt, "setname") && more >= 1 {
            if let Err(e) = set_client_name(ctx, argv[j + 1]) {
                return e;
            }
            j += 1;
        } else {
            return Reply::error(format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(opt)));
        }
        j += 1;
    }
    // HELLO is `no_auth` so that it can authenticate; without AUTH it needs a client that
    // already is.
    if !ctx.client.authenticated {
        return Reply::err(HELLO_NOAUTH);
    }
    // The switch comes before the reply: HELLO 3 answers in RESP3 already.
    if protocol != 0 {
        ctx.client.resp = protocol;
    }
    let bulk = |s: &str| Reply::bulk(s);
    Reply::Map(vec![
        (bulk("server"), bulk("redis")),
        (bulk("version"), bulk("7.0.15")),
        (bulk("proto"), Reply::Int(i64::from(ctx.client.protocol()))),
        (bulk("id"), Reply::Int(ctx.client.id as i64)),
        (bulk("mode"), bulk("standalone")),
        (bulk("role"), bulk("master")),
        (bulk("modules"), Reply::Array(vec![])),
    ])
}

const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

/// The `default` user accepts any password (`nopass`: no `requirepass`).
fn default_nopass(ctx: &Ctx) -> bool {
    ctx.srv.acl.default_nopass()
}

/// `AUTH [username] password`.
pub(super) fn auth(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() <= 3 {
        ctx.redact_argument(1);
        if argv.len() == 3 {
            ctx.redact_argument(2);
        }
    }
    let (user, pass): (&[u8], &[u8]) = match argv {
        [_, pass] => {
            if default_nopass(ctx) {
                return Reply::err(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                );
            }
            (b"default", pass)
        }
        [_, user, pass] => (user, pass),
        _ => return Reply::syntax(),
    };
    match super::acl::authenticate(ctx, argv[0], user, pass) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// `RESET` (`clearClientConnectionState`): out of MULTI, no WATCH, db 0, no name, and back to
/// the default authentication (`clientSetDefaultAuth`: logged out when there is a password).
pub(super) fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    // clientSetDefaultAuth: back to the default user.
    ctx.client.user = None;
    ctx.client.authenticated = ctx.srv.acl.default_open();
    ctx.client.multi = None;
    crate::cmd::multi::unwatch_all_keys(ctx.srv, ctx.client);
    crate::cmd::pubsub::unsubscribe_everything(ctx.srv, ctx.client);
    super::diag::disable_tracking(ctx.srv, ctx.client);
    ctx.srv.monitors.retain(|&m| m != ctx.client.id);
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    ctx.client.db = 0;
    ctx.client.resp = crate::reply::RESP2;
    ctx.client.name = None;
    Reply::status("RESET")
}
