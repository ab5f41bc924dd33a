//! HELLO, AUTH, RESET and the CLIENT subcommands clients and tools actually send on connect: ID,
//! GETNAME, SETNAME, LIST, INFO.
//!
//! The engine speaks RESP2 only: `HELLO 2` answers like Redis (the map as a flat array) and
//! `HELLO 3` is refused with `-NOPROTO`, which every RESP3-capable client treats as "stay on
//! RESP2".
//!
//! Compared with Redis: a handler only sees its own connection, so CLIENT LIST shows the calling
//! client alone, with the fields the engine knows (no address, no buffers). The only user is
//! `default`: with `requirepass` set, a connection must AUTH (or HELLO … AUTH) before any other
//! command (`-NOAUTH`, checked in `processCommand`, [`crate::cmd::process_command`]).

use super::{ADMIN_LS, LS, help_reply};
use crate::cmd::{Command, Group, NOSCRIPT, args};
use crate::reply::Reply;
use crate::server::Ctx;

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

/// `catClientInfoString`, with what the engine knows about a connection.
fn client_info_string(ctx: &Ctx, cmd: &str) -> String {
    let c = &*ctx.client;
    let mut flags = String::new();
    if c.subs.total() > 0 {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.blocked.is_some() {
        flags.push('b');
    }
    if c.multi.as_ref().is_some_and(|m| m.dirty_exec) || ctx.srv.dirty_cas.contains(&c.id) {
        flags.push('d');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let multi = c.multi.as_ref().map_or(-1, |m| m.commands.len() as i64);
    let name = c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let age = (ctx.now_ms() - c.created_ms).max(0) / 1000;
    format!(
        "id={} addr= laddr= fd=-1 name={name} age={age} idle=0 flags={flags} db={} sub={} psub={} ssub={} multi={multi} qbuf=0 qbuf-free=0 \
         argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={cmd} user=default redir=-1 resp={}\n",
        c.id,
        c.db,
        c.subs.channels.len(),
        c.subs.patterns.len(),
        c.subs.shard_channels.len(),
        c.protocol()
    )
}

fn list(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let me = client_info_string(ctx, "client|list");
    match argv {
        [_, _] => txt(me),
        [_, _, opt, kind] if args::is(opt, "type") => match kind.to_ascii_lowercase().as_slice() {
            b"normal" => txt(me),
            b"master" | b"slave" | b"replica" | b"pubsub" => txt(""),
            _ => Reply::error(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(kind))),
        },
        [_, _, opt, ids @ ..] if argv.len() > 3 && args::is(opt, "id") => {
            let mut out = String::new();
            for id in ids {
                match crate::util::string2ll(id) {
                    Some(id) if id == ctx.client.id as i64 => out.push_str(&me),
                    Some(_) => {}
                    None => return Reply::err("ERR Invalid client ID"),
                }
            }
            txt(out)
        }
        _ => Reply::syntax(),
    }
}

fn info(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    txt(client_info_string(ctx, "client|info"))
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
            if let Err(e) = authenticate(ctx, argv[j + 1], argv[j + 2]) {
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

/// The password of the `default` user, if `requirepass` set one.
fn default_password<'a>(ctx: &'a Ctx) -> Option<&'a str> {
    Some(ctx.srv.config.requirepass.as_str()).filter(|p| !p.is_empty())
}

/// `ACLAuthenticateUser` with the only user there is: a `default` user without a password
/// (`nopass`) accepts any password. A failure leaves the connection as it was (an
/// authenticated one stays authenticated).
fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8]) -> Result<(), Reply> {
    let ok = user == b"default" && default_password(ctx).is_none_or(|p| p.as_bytes() == pass);
    if !ok {
        return Err(Reply::err("WRONGPASS invalid username-password pair or user is disabled."));
    }
    ctx.client.authenticated = true;
    Ok(())
}

/// `AUTH [username] password`.
pub(super) fn auth(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (user, pass): (&[u8], &[u8]) = match argv {
        [_, pass] => {
            if default_password(ctx).is_none() {
                return Reply::err(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                );
            }
            (b"default", pass)
        }
        [_, user, pass] => (user, pass),
        _ => return Reply::syntax(),
    };
    match authenticate(ctx, user, pass) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// `RESET` (`clearClientConnectionState`): out of MULTI, no WATCH, db 0, no name, and back to
/// the default authentication (`clientSetDefaultAuth`: logged out when there is a password).
pub(super) fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    ctx.client.authenticated = default_password(ctx).is_none();
    ctx.client.multi = None;
    crate::cmd::multi::unwatch_all_keys(ctx.srv, ctx.client);
    crate::cmd::pubsub::unsubscribe_everything(ctx.srv, ctx.client);
    ctx.client.db = 0;
    ctx.client.resp = crate::reply::RESP2;
    ctx.client.name = None;
    Reply::status("RESET")
}
