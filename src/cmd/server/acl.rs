//! The ACL command (`aclCommand`) and the permission check of `processCommand`, EXEC and
//! `redis.call` (`ACLCheckAllPerm`, `addACLLogEntry`). The users and their rules live in
//! [`crate::acl`].
//!
//! ACL commands change no data: nothing is propagated to the AOF (7.0 keeps users in memory,
//! or in an ACL file that this engine does not have: `ACL LOAD` / `SAVE` answer Redis's
//! "not configured" error).

use super::{LS, help_reply};
use crate::acl::{self, Denied, LogContext, LogEntry, SetError, User};
use crate::cmd::{ADMIN, Command, Group, NOSCRIPT, args};
use crate::reply::Reply;
use crate::server::{Client, Ctx, Server};

const A: u32 = ADMIN | NOSCRIPT | LS;

pub static SUBCOMMANDS: &[Command] = &[
    Command {
        since: "6.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LS, (0, 0, 0), Group::Server, help)
    },
    Command {
        since: "6.0.0",
        summary: "List the ACL categories or the commands inside a category",
        ..Command::new("cat", -2, NOSCRIPT | LS, (0, 0, 0), Group::Server, cat)
    },
    Command {
        since: "6.0.0",
        summary: "Remove the specified ACL users and the associated rules",
        ..Command::new("deluser", -3, A, (0, 0, 0), Group::Server, deluser)
    },
    Command {
        since: "7.0.0",
        summary: "Returns whether the user can execute the given command without executing the command.",
        ..Command::new("dryrun", -4, A, (0, 0, 0), Group::Server, dryrun)
    },
    Command {
        since: "6.0.0",
        summary: "Generate a pseudorandom secure password to use for ACL users",
        ..Command::new("genpass", -2, NOSCRIPT | LS, (0, 0, 0), Group::Server, genpass)
    },
    Command {
        since: "6.0.0",
        summary: "Get the rules for a specific ACL user",
        ..Command::new("getuser", 3, A, (0, 0, 0), Group::Server, getuser)
    },
    Command {
        since: "6.0.0",
        summary: "List the current ACL rules in ACL config file format",
        ..Command::new("list", 2, A, (0, 0, 0), Group::Server, list)
    },
    Command {
        since: "6.0.0",
        summary: "Reload the ACLs from the configured ACL file",
        ..Command::new("load", 2, A, (0, 0, 0), Group::Server, load_save)
    },
    Command {
        since: "6.0.0",
        summary: "List latest events denied because of ACLs in place",
        ..Command::new("log", -2, A, (0, 0, 0), Group::Server, log)
    },
    Command {
        since: "6.0.0",
        summary: "Save the current ACL rules in the configured ACL file",
        ..Command::new("save", 2, A, (0, 0, 0), Group::Server, load_save)
    },
    Command {
        since: "6.0.0",
        summary: "Modify or create the rules for a specific ACL user",
        ..Command::new("setuser", -3, A, (0, 0, 0), Group::Server, setuser)
    },
    Command {
        since: "6.0.0",
        summary: "List the username of all the configured ACL rules",
        ..Command::new("users", 2, A, (0, 0, 0), Group::Server, users)
    },
    Command {
        since: "6.0.0",
        summary: "Return the name of the user associated to the current connection",
        ..Command::new("whoami", 2, NOSCRIPT | LS, (0, 0, 0), Group::Server, whoami)
    },
];

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

fn help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("ACL", HELP)
}

/// The container itself (`ACL` alone is an arity error before this runs).
pub(super) fn help_container(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    help(ctx, argv)
}

/// `acl-pubsub-default allchannels`: new users and selectors may use every channel.
fn pubsub_all(srv: &Server) -> bool {
    srv.config.get("acl-pubsub-default").as_deref() == Some("allchannels")
}

/// `ACLMergeSelectorArguments`: a selector spread over several arguments (`(+get` `~k)`) is
/// joined with spaces; `None` names the argument of an unmatched `(`.
fn merge_selector_arguments<'a>(argv: &[&'a [u8]]) -> Result<Vec<std::borrow::Cow<'a, [u8]>>, &'a [u8]> {
    let mut out = Vec::new();
    let mut open: Option<(&[u8], Vec<u8>)> = None;
    for &op in argv {
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((op, op.to_vec()));
            continue;
        }
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')')
                && let Some((_, sel)) = open.take()
            {
                out.push(std::borrow::Cow::Owned(sel));
            }
            continue;
        }
        out.push(std::borrow::Cow::Borrowed(op));
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// `ACLStringSetUser`: every modifier applied to a copy, kept only if all are valid.
fn setuser(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // Nothing of it may leak to SLOWLOG or MONITOR, not even the name.
    for j in 2..argv.len() {
        ctx.redact_argument(j);
    }
    let name = argv[2];
    if acl::has_spaces(name) {
        return Reply::err("ERR Usernames can't contain spaces or null characters");
    }
    let ops = match merge_selector_arguments(&argv[3..]) {
        Ok(ops) => ops,
        Err(start) => {
            return Reply::error(format!("ERR Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(start)));
        }
    };
    let all = pubsub_all(ctx.srv);
    let existing = ctx.srv.acl.users.get(name);
    let mut user = existing.cloned().unwrap_or_else(|| User::new(name, all));
    for op in &ops {
        if let Err(e) = user.set(op, all) {
            return Reply::error(error_line(op, e));
        }
    }
    if existing.is_some() {
        kill_pubsub_clients_if_needed(ctx, &user);
    }
    ctx.srv.acl.users.insert(name.to_vec(), user);
    Reply::ok()
}

fn error_line(op: &[u8], e: SetError) -> String {
    // addReplyErrorSdsSafe: newlines would break the protocol.
    let op = String::from_utf8_lossy(op).replace(['\r', '\n'], " ");
    format!("ERR Error in ACL SETUSER modifier '{op}': {}", e.message())
}

/// `ACLKillPubsubClientsIfNeeded`: the user's subscribed connections whose channels the new
/// rules no longer allow are disconnected.
fn kill_pubsub_clients_if_needed(ctx: &mut Ctx, new: &User) {
    if new.selectors.iter().any(|s| s.allchannels) {
        return;
    }
    let Some(original) = ctx.srv.acl.users.get(&new.name) else { return };
    let upcoming: Vec<Vec<u8>> = new.selectors.iter().flat_map(|s| s.channels.iter().cloned()).collect();
    let superset = original.selectors.iter().all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
    if superset {
        return;
    }
    let violates = |c: &Client| {
        c.user_name() == new.name.as_slice()
            && c.subs.total() > 0
            && (c.subs.patterns.iter().any(|p| !acl::check_channel(&upcoming, p, true))
                || c.subs.channels.iter().chain(c.subs.shard_channels.iter()).any(|ch| !acl::check_channel(&upcoming, ch, false)))
    };
    let victims: Vec<u64> = ctx.srv.clients.values().filter(|c| !c.killed && violates(c)).map(|c| c.id).collect();
    for id in victims {
        super::client::kill_client(ctx.srv, id);
    }
    if violates(ctx.client) {
        ctx.client.close_after_reply = true;
    }
}

fn deluser(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv[2..].contains(&acl::DEFAULT_USER) {
        return Reply::err("ERR The 'default' user cannot be removed");
    }
    let mut deleted = 0;
    for &name in &argv[2..] {
        if ctx.srv.acl.users.remove(name).is_some() {
            deleted += 1;
            // ACLFreeUserAndKillClients: its connections are closed (the caller's after the reply).
            let victims: Vec<u64> = ctx.srv.clients.values().filter(|c| !c.killed && c.user_name() == name).map(|c| c.id).collect();
            for id in victims {
                super::client::kill_client(ctx.srv, id);
            }
            if ctx.client.user_name() == name {
                ctx.client.user = None;
                ctx.client.authenticated = false;
                ctx.client.close_after_reply = true;
            }
        }
    }
    Reply::Int(deleted)
}

/// `aclAddReplySelectorDescription`: commands, keys, channels.
fn selector_fields(s: &acl::Selector) -> Vec<(Reply, Reply)> {
    let keys = if s.allkeys { "~*".to_string() } else { s.describe_keys().join(" ") };
    let channels = if s.allchannels {
        "&*".to_string()
    } else {
        s.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
    };
    vec![
        (Reply::bulk("commands"), Reply::bulk(s.describe_commands())),
        (Reply::bulk("keys"), Reply::bulk(keys)),
        (Reply::bulk("channels"), Reply::bulk(channels)),
    ]
}

fn getuser(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(u) = ctx.srv.acl.users.get(argv[2]) else {
        return Reply::Nil;
    };
    let mut fields = vec![
        (Reply::bulk("flags"), Reply::Set(u.flag_names().into_iter().map(Reply::bulk).collect())),
        (Reply::bulk("passwords"), Reply::Array(u.passwords.iter().map(|p| Reply::bulk(p.as_str())).collect())),
    ];
    fields.extend(selector_fields(&u.selectors[0]));
    let selectors = u.selectors[1..].iter().map(|s| Reply::Map(selector_fields(s))).collect();
    fields.push((Reply::bulk("selectors"), Reply::Array(selectors)));
    Reply::Map(fields)
}

fn list(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(
        ctx.srv
            .acl
            .users
            .values()
            .map(|u| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.name);
                line.push(b' ');
                line.extend_from_slice(u.describe().as_bytes());
                Reply::Bulk(line)
            })
            .collect(),
    )
}

fn users(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(ctx.srv.acl.users.keys().map(|n| Reply::Bulk(n.clone())).collect())
}

fn whoami(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::bulk(ctx.client.user_name())
}

fn load_save(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::err(
        "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
    )
}

fn cat(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _] => Reply::Array(acl::CATEGORIES.iter().map(|c| Reply::bulk(*c)).collect()),
        [_, _, name] => {
            let flag = acl::category_flag(name);
            if flag == 0 {
                let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
                return Reply::error(format!("ERR Unknown category '{name}'"));
            }
            Reply::Array(
                acl::universe().commands.iter().filter(|c| c.categories & flag != 0).map(|c| Reply::bulk(c.fullname.as_str())).collect(),
            )
        }
        _ => crate::cmd::subcommand_syntax(argv),
    }
}

/// `GENPASS_MAX_BITS`.
const GENPASS_MAX_BITS: i64 = 4096;

fn genpass(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let bits = match argv {
        [_, _] => 256,
        [_, _, n] => match crate::util::string2ll(n) {
            Some(n) => n,
            None => return Reply::err("ERR value is not an integer or out of range"),
        },
        _ => return crate::cmd::subcommand_syntax(argv),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Reply::error(format!(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"
        ));
    }
    // The engine's seeded generator stands for /dev/urandom: the same on every host.
    let chars = usize::try_from((bits + 3) / 4).unwrap_or(0);
    let pass: String = (0..chars).map(|_| char::from(b"0123456789abcdef"[ctx.srv.rng.usize(0..16)])).collect();
    Reply::bulk(pass)
}

fn log(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut count: i64 = 10;
    match argv {
        [_, _] => {}
        [_, _, arg] => {
            if args::is(arg, "reset") {
                ctx.srv.acl.log.clear();
                return Reply::ok();
            }
            count = match crate::util::string2ll(arg) {
                Some(n) => n.max(0),
                None => return Reply::err("ERR value is not an integer or out of range"),
            };
        }
        _ => return crate::cmd::subcommand_syntax(argv),
    }
    let now = ctx.now_ms();
    let entries = ctx.srv.acl.log.iter().take(usize::try_from(count).unwrap_or(usize::MAX));
    Reply::Array(
        entries
            .map(|e| {
                let age = (now - e.ctime_ms) as f64 / 1000.0;
                Reply::Map(vec![
                    (Reply::bulk("count"), Reply::Int(e.count as i64)),
                    (Reply::bulk("reason"), Reply::bulk(e.reason())),
                    (Reply::bulk("context"), Reply::bulk(e.context())),
                    (Reply::bulk("object"), Reply::bulk(e.object.as_slice())),
                    (Reply::bulk("username"), Reply::bulk(e.username.as_slice())),
                    (Reply::bulk("age-seconds"), Reply::Double(age)),
                    (Reply::bulk("client-info"), Reply::bulk(e.client_info.as_str())),
                ])
            })
            .collect(),
    )
}

fn dryrun(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(user) = ctx.srv.acl.users.get(argv[2]) else {
        return Reply::error(format!("ERR User '{}' not found", String::from_utf8_lossy(argv[2])));
    };
    let cargv = &argv[3..];
    let not_found = || Reply::error(format!("ERR Command '{}' not found", String::from_utf8_lossy(cargv[0])));
    // `lookupCommand` in the real server's whole table (the universe), so that a command the
    // engine does not implement (CLUSTER, MIGRATE …) is judged as Redis judges it.
    let u = acl::universe();
    let Some(base) = u.lookup(cargv[0]).filter(|_| !cargv[0].contains(&b'|')) else {
        return not_found();
    };
    let id = if !u.commands[base].subcommands.is_empty() && cargv.len() >= 2 {
        let mut name = cargv[0].to_vec();
        name.push(b'|');
        name.extend_from_slice(cargv[1]);
        match u.lookup(&name) {
            Some(sub) => sub,
            None => return not_found(),
        }
    } else {
        base
    };
    let fullname = u.commands[id].fullname.clone();
    let arity = super::meta::lookup(&fullname).map_or(0, super::meta::Meta::arity);
    let argc = i64::try_from(cargv.len()).unwrap_or(i64::MAX);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Reply::error(format!("ERR wrong number of arguments for '{fullname}' command"));
    }
    match user.check_command(id, cargv, &|| super::command::acl_key_access(&fullname, cargv)) {
        Ok(()) => Reply::ok(),
        Err((Denied::Cmd, _)) => Reply::bulk(format!("This user has no permissions to run the '{fullname}' command")),
        Err((Denied::Channel, pos)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(cargv.get(pos).copied().unwrap_or_default())
        )),
        Err((_, pos)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(cargv.get(pos).copied().unwrap_or_default())
        )),
    }
}

/// `ACLCheckAllPerm` for `client` running `argv`: Ok, or the denial and the argument position
/// it is about. The loading client (no user in Redis) and unrestricted users pass at once.
pub fn check(
    srv: &Server,
    client: &Client,
    cmd: &'static Command,
    parent: Option<&'static Command>,
    argv: &[&[u8]],
) -> Result<(), (Denied, usize)> {
    check_named(srv, client, || crate::cmd::full_name(cmd, parent), argv)
}

/// [`check`] by full name (`shutdown`, `config|get`): also for the commands a host answers
/// itself (`serve`'s SHUTDOWN), which the engine's table does not hold.
pub fn check_named(srv: &Server, client: &Client, fullname: impl FnOnce() -> String, argv: &[&[u8]]) -> Result<(), (Denied, usize)> {
    if srv.loading || client.internal {
        return Ok(());
    }
    let Some(user) = srv.acl.users.get(client.user_name()) else {
        return Ok(());
    };
    if user.unrestricted() {
        return Ok(());
    }
    let fullname = fullname();
    let Some(id) = acl::universe().lookup(fullname.as_bytes()) else {
        return Ok(());
    };
    user.check_command(id, argv, &|| super::command::acl_key_access(&fullname, argv))
}

/// Whether `client`'s user may run `fullname` and read every key with it (SORT's BY and GET
/// options: `ACLUserCheckCmdWithUnrestrictedKeyAccess`). No user (loading), an internal client
/// and an unrestricted user may.
pub fn reads_every_key(srv: &Server, client: &Client, fullname: &str, argv: &[&[u8]]) -> bool {
    if srv.loading || client.internal {
        return true;
    }
    let Some(user) = srv.acl.users.get(client.user_name()) else {
        return true;
    };
    if user.unrestricted() {
        return true;
    }
    let Some(id) = acl::universe().lookup(fullname.as_bytes()) else {
        return true;
    };
    user.reads_every_key(id, argv, &|| super::command::acl_key_access(fullname, argv))
}

/// `addACLLogEntry` for a denied command (`object`: the command's full name, or the key or
/// channel at `pos`).
pub fn log_denial(
    srv: &mut Server,
    client: &Client,
    cmd: &Command,
    parent: Option<&Command>,
    argv: &[&[u8]],
    denied: (Denied, usize),
    context: LogContext,
) {
    log_denial_named(srv, client, &crate::cmd::full_name(cmd, parent), argv, denied, context);
}

/// [`log_denial`] by full name.
pub fn log_denial_named(srv: &mut Server, client: &Client, fullname: &str, argv: &[&[u8]], denied: (Denied, usize), context: LogContext) {
    let object = match denied.0 {
        Denied::Cmd => fullname.as_bytes().to_vec(),
        _ => argv.get(denied.1).map(|a| a.to_vec()).unwrap_or_default(),
    };
    let username = client.user_name().to_vec();
    add_log_entry(srv, client, denied.0, context, object, username);
}

/// `addACLLogEntry` itself.
pub fn add_log_entry(srv: &mut Server, client: &Client, reason: Denied, context: LogContext, object: Vec<u8>, username: Vec<u8>) {
    let client_info = match (&srv.acl.script_caller_info, crate::cmd::scripting::is_script_client(client)) {
        (Some(info), true) => info.clone(),
        _ => super::client::client_info_string(srv, client, srv.now_ms),
    };
    let max_len = srv.config.get("acllog-max-len").and_then(|v| v.parse::<usize>().ok()).unwrap_or(128);
    let entry = LogEntry { count: 1, reason, context, object, username, ctime_ms: srv.now_ms, client_info };
    srv.acl.add_log_entry(entry, max_len);
}

/// The `-NOPERM` error of `processCommand`.
pub fn noperm_reply(denied: Denied, cmd: &Command, parent: Option<&Command>) -> Reply {
    noperm_reply_named(denied, &crate::cmd::full_name(cmd, parent))
}

/// [`noperm_reply`] by full name.
pub fn noperm_reply_named(denied: Denied, fullname: &str) -> Reply {
    match denied {
        Denied::Cmd => Reply::error(format!("NOPERM this user has no permissions to run the '{fullname}' command")),
        Denied::Key => Reply::err("NOPERM this user has no permissions to access one of the keys used as arguments"),
        Denied::Channel => Reply::err("NOPERM this user has no permissions to access one of the channels used as arguments"),
        Denied::Auth => Reply::err("ERR no permission"),
    }
}

/// The `-NOPERM` of a queued command EXEC may no longer run (the rules changed meanwhile).
pub fn exec_noperm_reply(denied: Denied) -> Reply {
    let reason = match denied {
        Denied::Cmd => "no permission to execute the command or subcommand",
        Denied::Key => "no permission to touch the specified keys",
        Denied::Channel => "no permission to access one of the channels used as arguments",
        Denied::Auth => "no permission",
    };
    Reply::error(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// `getAclErrorMessage`, after "The user executing the script " (redis.call's error).
pub fn script_error(denied: Denied) -> String {
    let what = match denied {
        Denied::Cmd => "can't run this command or subcommand",
        Denied::Key => "can't access at least one of the keys mentioned in the command arguments",
        Denied::Channel => "can't publish to the channel mentioned in the command",
        Denied::Auth => "lacking the permissions for the command",
    };
    format!("The user executing the script {what}")
}

/// `ACLAuthenticateUser`: the user exists, is on, and the password matches (any password for
/// `nopass`). A failure is logged (reason `auth`) and leaves the connection as it was.
pub fn authenticate(ctx: &mut Ctx, argv0: &[u8], user: &[u8], pass: &[u8]) -> Result<(), Reply> {
    if ctx.srv.acl.users.get(user).is_some_and(|u| u.check_password(pass)) {
        ctx.client.authenticated = true;
        ctx.client.user = if user == acl::DEFAULT_USER { None } else { Some(user.to_vec()) };
        return Ok(());
    }
    // `CLIENT_MULTI` is still set while EXEC runs the queue.
    let context = if ctx.client.multi.is_some() || ctx.client.in_exec { LogContext::Multi } else { LogContext::Toplevel };
    add_log_entry(ctx.srv, ctx.client, Denied::Auth, context, argv0.to_vec(), user.to_vec());
    Err(Reply::err("WRONGPASS invalid username-password pair or user is disabled."))
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine};

    fn run(e: &mut Engine, c: u64, line: &str) -> String {
        let r = e.execute_line(c, line, 1_700_000_000_000).expect("a reply");
        String::from_utf8_lossy(&r.to_resp()).into_owned()
    }

    /// Passwords never reach SLOWLOG (as observed on redis-server 7.0.15: `(redacted)`).
    #[test]
    fn passwords_are_redacted_from_the_slowlog() {
        let mut e = Engine::new(Config::default(), 1_700_000_000_000);
        let c = e.connect();
        run(&mut e, c, "CONFIG SET slowlog-log-slower-than 0");
        run(&mut e, c, "CONFIG SET requirepass abc");
        run(&mut e, c, "AUTH default abc");
        run(&mut e, c, "ACL SETUSER bob on >secret");
        let log = run(&mut e, c, "SLOWLOG GET 3");
        assert!(!log.contains("abc") && !log.contains("secret") && !log.contains("bob"), "{log}");
        assert_eq!(log.matches("(redacted)").count(), 1 + 2 + 3, "{log}");
    }

    /// An AUTH that EXEC runs is logged in the `multi` context.
    #[test]
    fn auth_failures_are_logged_with_their_context() {
        let mut e = Engine::new(Config::default(), 1_700_000_000_000);
        let c = e.connect();
        run(&mut e, c, "AUTH nouser x");
        run(&mut e, c, "MULTI");
        run(&mut e, c, "AUTH nouser x");
        run(&mut e, c, "EXEC");
        let log = run(&mut e, c, "ACL LOG");
        assert!(log.starts_with("*2\r\n"), "{log}");
        let contexts: Vec<&str> = log.split("context\r\n").skip(1).map(|s| s.split("\r\n").nth(1).unwrap_or_default()).collect();
        assert_eq!(contexts, ["multi", "toplevel"], "{log}");
    }
}
