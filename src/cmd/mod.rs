//! The command table and the path of a command through the server: `processCommand` (lookup,
//! arity, MULTI queueing) and `call` (run, then propagate).
//!
//! Each family lives in its own file and exports `COMMANDS`, a table of [`Command`]s with Redis
//! 7.0's name, arity, flags and key positions. Lookup is a hash of the lowercase name, never a
//! chain of string comparisons.
//!
//! **Propagation.** After a command runs, if it changed the dataset (`server.dirty` moved) its
//! *current* argv is queued for the AOF. A handler may first rewrite that argv (`EXPIRE` →
//! `PEXPIREAT`), prevent it (`SPOP` queues its own `SREM`s), or force it (`FLUSHALL` on an empty
//! server). When the outermost call returns, the queue is fed to the AOF; more than one op is
//! wrapped in `MULTI`/`EXEC` (the 7.0 rule that also wraps a lazy-expire `DEL` together with the
//! write that triggered it).

pub mod bitops;
pub mod csort;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub(crate) mod long_double;
pub mod multi;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

use std::sync::OnceLock;

use crate::keyspace::HashMap;
use crate::reply::Reply;
use crate::server::{Client, Ctx, Server};

pub type CommandProc = fn(&mut Ctx, &[&[u8]]) -> Reply;

// Command flags, as in Redis 7.0's `CMD_*` (the names COMMAND INFO prints).
pub const WRITE: u32 = 1 << 0;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 4;
pub const PUBSUB: u32 = 1 << 5;
pub const NOSCRIPT: u32 = 1 << 6;
pub const BLOCKING: u32 = 1 << 8;
pub const LOADING: u32 = 1 << 9;
pub const STALE: u32 = 1 << 10;
pub const SKIP_MONITOR: u32 = 1 << 11;
pub const SKIP_SLOWLOG: u32 = 1 << 12;
pub const FAST: u32 = 1 << 14;
pub const NO_AUTH: u32 = 1 << 15;
pub const MAY_REPLICATE: u32 = 1 << 16;
pub const NO_MULTI: u32 = 1 << 24;
pub const ALLOW_BUSY: u32 = 1 << 26;
/// `CMD_PROTECTED` (not shown by COMMAND INFO): refused unless its `enable-*-command` setting
/// allows it (`allowProtectedAction`): MODULE LOAD / LOADEX / UNLOAD.
pub const PROTECTED: u32 = 1 << 27;
/// Not a Redis flag: marks MULTI/EXEC/DISCARD/WATCH/QUIT/RESET, which are never queued.
pub const NO_QUEUE: u32 = 1 << 30;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MULTI, "no_multi"),
    (ALLOW_BUSY, "allow_busy"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Generic,
    String,
    Bitmap,
    List,
    Set,
    SortedSet,
    Hash,
    Stream,
    HyperLogLog,
    Geo,
    Pubsub,
    Connection,
    Server,
    Transactions,
    Scripting,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::Bitmap => "bitmap",
            Group::List => "list",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::Hash => "hash",
            Group::Stream => "stream",
            Group::HyperLogLog => "hyperloglog",
            Group::Geo => "geo",
            Group::Pubsub => "pubsub",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Transactions => "transactions",
            Group::Scripting => "scripting",
        }
    }
}

/// One entry of the command table (`struct redisCommand`).
#[derive(Debug)]
pub struct Command {
    /// Lowercase name; a subcommand's is just its own part (`get` for CONFIG GET).
    pub name: &'static str,
    /// Positive: exact argc. Negative: at least -arity.
    pub arity: i32,
    pub flags: u32,
    /// Legacy key range: first key index, last (-1 = last argument), step. 0,0,0 = no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub group: Group,
    pub summary: &'static str,
    pub since: &'static str,
    pub proc_: CommandProc,
    pub subcommands: &'static [Command],
}

impl Command {
    /// A table entry with the common defaults; tables override fields with struct update syntax.
    pub const fn new(name: &'static str, arity: i32, flags: u32, keys: (i32, i32, i32), group: Group, proc_: CommandProc) -> Command {
        Command {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            key_step: keys.2,
            group,
            summary: "",
            since: "1.0.0",
            proc_,
            subcommands: &[],
        }
    }
    pub fn is_write(&self) -> bool {
        self.flags & WRITE != 0
    }
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity > 0 { self.arity == argc } else { argc >= -self.arity }
    }
    /// Key argument positions for this argv, from the legacy key range.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i32;
        let last = if self.last_key < 0 { argc + self.last_key } else { self.last_key.min(argc - 1) };
        let (first, step) = (self.first_key, self.key_step.max(1));
        (0..).map(move |i| first + i * step).take_while(move |&p| first > 0 && p <= last).map(|p| p as usize)
    }
}

/// Every family's table, in COMMAND's order.
pub fn tables() -> [&'static [Command]; 15] {
    [
        server::COMMANDS,
        server::diag::COMMANDS,
        keys::COMMANDS,
        string::COMMANDS,
        bitops::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        stream::COMMANDS,
        hll::COMMANDS,
        geo::COMMANDS,
        pubsub::COMMANDS,
        multi::COMMANDS,
        scripting::COMMANDS,
    ]
}

pub fn all_commands() -> impl Iterator<Item = &'static Command> {
    tables().into_iter().flatten()
}

fn table() -> &'static HashMap<&'static [u8], &'static Command> {
    static TABLE: OnceLock<HashMap<&'static [u8], &'static Command>> = OnceLock::new();
    TABLE.get_or_init(|| all_commands().map(|c| (c.name.as_bytes(), c)).collect())
}

/// Case-insensitive lookup without allocating for names up to 32 bytes.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    let lower: &[u8] = match buf.get_mut(..name.len()) {
        Some(dst) => {
            for (d, s) in dst.iter_mut().zip(name) {
                *d = s.to_ascii_lowercase();
            }
            dst
        }
        None => return None,
    };
    table().get(lower).copied()
}

/// `lookupCommand(argv)`: the command or subcommand, without arity checks.
pub fn lookup_command(argv: &[&[u8]]) -> Option<&'static Command> {
    let cmd = lookup(argv.first()?)?;
    if cmd.subcommands.is_empty() || argv.len() < 2 { Some(cmd) } else { lookup_sub(cmd, argv[1]) }
}

pub fn lookup_sub(container: &'static Command, sub: &[u8]) -> Option<&'static Command> {
    container.subcommands.iter().find(|c| c.name.as_bytes().eq_ignore_ascii_case(sub))
}

/// The name errors use: `config|get` for a subcommand.
pub fn full_name(cmd: &Command, parent: Option<&Command>) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, cmd.name),
        None => cmd.name.to_string(),
    }
}

/// `shared.noautherr`.
pub const NOAUTH_ERR: &str = "NOAUTH Authentication required.";

/// What `process_command` decided.
pub enum Outcome {
    Reply(Reply),
    /// The client blocked (BLPOP on an empty list); the reply comes later.
    Blocked,
}

/// `processCommand`: lookup, arity, queueing inside MULTI, then `call`.
pub fn process_command(srv: &mut Server, client: &mut Client, argv: &[&[u8]]) -> Outcome {
    let Some(&name) = argv.first() else {
        return Outcome::Reply(Reply::error("ERR empty command".into()));
    };
    let resolved = resolve(name, argv);
    // `c->lastcmd = lookupCommand(…)` before any check: an unknown command (or subcommand)
    // leaves none (CLIENT LIST's `cmd=NULL`), a wrong arity the command it named.
    let (cmd, parent) = match resolved {
        Ok(c) => c,
        Err((found, e)) => {
            client.last_cmd = found;
            if let Some((c, _)) = found {
                server::stats::rejected(srv, c);
            }
            return Outcome::Reply(reject_command(srv, client, None, name, e));
        }
    };
    client.last_cmd = Some((cmd, parent));
    if cmd.flags & PROTECTED != 0 && !srv.allow_protected_action("enable-module-command", client) {
        let refused = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, Reply::err(refused)));
    }
    // After lookup and arity, before anything else: an unknown command or a wrong argument
    // count is reported to a client that has not authenticated, nothing more.
    if srv.auth_required(client) && cmd.flags & NO_AUTH == 0 {
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, Reply::err(NOAUTH_ERR)));
    }
    // ACLCheckAllPerm, after the NO_MULTI refusal (which the queueing below makes).
    if !(client.multi.is_some() && cmd.flags & NO_MULTI != 0 && cmd.flags & NO_QUEUE == 0)
        && let Err(denied) = server::acl::check(srv, client, cmd, parent, argv)
    {
        let context = if client.multi.is_some() { crate::acl::LogContext::Multi } else { crate::acl::LogContext::Toplevel };
        server::acl::log_denial(srv, client, cmd, parent, argv, denied, context);
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, server::acl::noperm_reply(denied.0, cmd, parent)));
    }
    // `getCommandFlags`: a script's declared flags stand for EVAL's / FCALL's; EXEC has those
    // of the commands it queued (`mstate.cmd_flags`).
    let flags = if cmd.name == "exec" { queued_flags(srv, client) | cmd.flags } else { scripting::command_flags(srv, cmd, argv) };
    if let Some(reply) = srv.deny_oom(cmd, flags, client) {
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, reply));
    }
    if let Some(reply) = srv.deny_command(cmd, flags) {
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, reply));
    }
    if client.subs.total() > 0
        && let Some(reply) = pubsub::subscribed_context_error(client, cmd, &full_name(cmd, parent))
    {
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, reply));
    }
    // A script past `busy-reply-threshold` (`isInsideYieldingLongCommand`): only the
    // `allow-busy` commands run, the others are refused (and flag an open transaction).
    if let Some(script) = srv.script.as_ref().filter(|s| s.timed_out)
        && cmd.flags & ALLOW_BUSY == 0
    {
        let busy = script.busy_error();
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, busy));
    }
    // A monitor (`CLIENT_SLAVE`) may not touch the keyspace.
    if flags & (WRITE | MAY_REPLICATE | READONLY) != 0 && srv.monitors.contains(&client.id) {
        return Outcome::Reply(reject_command(srv, client, Some(cmd), name, Reply::err("ERR Replica can't interact with the keyspace")));
    }
    // CLIENT PAUSE: the command waits for the end of the pause (`blockPostponeClient`).
    if let Some((end, all)) = srv.pause {
        if end <= srv.now_ms {
            srv.pause = None;
        } else if all || flags & (WRITE | MAY_REPLICATE) != 0 {
            client.blocked = Some(crate::server::Blocked {
                argv: argv.iter().map(|a| a.to_vec()).collect(),
                db: client.db,
                keys: Vec::new(),
                deadline_ms: 0,
                timeout_reply: Reply::NilArray,
                wake_on_delete: false,
                postponed: true,
            });
            srv.postponed.push_back(client.id);
            return Outcome::Blocked;
        }
    }
    if let Some(m) = client.multi.as_mut()
        && cmd.flags & NO_QUEUE == 0
    {
        if cmd.flags & NO_MULTI != 0 {
            // rejectCommandFormat: the transaction is flagged, EXEC will abort.
            m.dirty_exec = true;
            server::stats::rejected(srv, cmd);
            let refused = "ERR Command not allowed inside a transaction";
            srv.count_error_reply(refused);
            return Outcome::Reply(Reply::err(refused));
        }
        m.commands.push(argv.iter().map(|a| a.to_vec()).collect());
        return Outcome::Reply(Reply::status("QUEUED"));
    }
    call(srv, client, cmd, argv)
}

/// `rejectCommand`: flags an open transaction so that EXEC aborts; a rejected EXEC itself
/// discards the transaction with `-EXECABORT … because of: <reason>`.
/// The refused command (`c->cmd`) counts it in `rejected_calls`.
fn reject_command(srv: &mut Server, client: &mut Client, cmd: Option<&'static Command>, name: &[u8], error: Reply) -> Reply {
    if let Some(cmd) = cmd {
        server::stats::rejected(srv, cmd);
    }
    let error = if name.eq_ignore_ascii_case(b"exec") {
        client.multi = None;
        multi::unwatch_all_keys(srv, client);
        let text = match &error {
            Reply::Error(t) => t.strip_prefix("ERR ").unwrap_or(t).to_string(),
            _ => String::new(),
        };
        Reply::error(format!("EXECABORT Transaction discarded because of: {text}"))
    } else {
        if let Some(m) = client.multi.as_mut() {
            m.dirty_exec = true;
        }
        error
    };
    if let Reply::Error(text) = &error {
        srv.count_error_reply(text);
    }
    error
}

/// Finds the command (or subcommand) for `argv`, or Redis's exact error.
/// The error of a wrong arity carries the command found (`rejectCommand` counts it).
type Resolved = (&'static Command, Option<&'static Command>);

fn resolve(name: &[u8], argv: &[&[u8]]) -> Result<Resolved, (Option<Resolved>, Reply)> {
    let Some(cmd) = lookup(name) else {
        return Err((None, unknown_command(name, argv)));
    };
    let (cmd, parent) = if !cmd.subcommands.is_empty() && argv.len() >= 2 {
        match lookup_sub(cmd, argv[1]) {
            Some(sub) => (sub, Some(cmd)),
            None => {
                return Err((
                    None,
                    Reply::error(format!("ERR unknown subcommand '{}'. Try {} HELP.", c_str(argv[1], 128), cmd.name.to_ascii_uppercase())),
                ));
            }
        }
    } else {
        (cmd, None)
    };
    if !cmd.arity_ok(argv.len()) {
        return Err((Some((cmd, parent)), Reply::wrong_arity(&full_name(cmd, parent))));
    }
    Ok((cmd, parent))
}

/// `mstate.cmd_flags`: the flags of every command a transaction queued, or-ed (what EXEC is
/// checked by: OOM, `CLIENT PAUSE WRITE`, the disk-error refusal).
fn queued_flags(srv: &Server, client: &Client) -> u32 {
    let Some(m) = client.multi.as_ref() else { return 0 };
    m.commands
        .iter()
        .filter_map(|c| {
            let argv: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            let (cmd, _) = resolve(argv.first()?, &argv).ok()?;
            Some(scripting::command_flags(srv, cmd, &argv))
        })
        .fold(0, |acc, f| acc | f)
}

/// `addReplySubcommandSyntaxError`: a container's subcommand with an argument count (or an
/// option) its branch does not take; the container as typed, upper-cased.
pub(crate) fn subcommand_syntax(argv: &[&[u8]]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        c_str(argv.get(1).copied().unwrap_or_default(), 128),
        String::from_utf8_lossy(argv.first().copied().unwrap_or_default()).to_ascii_uppercase()
    ))
}

/// `%.*s` of a C string: stops at a NUL byte, at most `max` bytes.
fn c_str(b: &[u8], max: usize) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(max);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn unknown_command(name: &[u8], argv: &[&[u8]]) -> Reply {
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&c_str(a, room));
        args.push_str("' ");
    }
    Reply::error(format!("ERR unknown command '{}', with args beginning with: {}", c_str(name, 128), args))
}

/// `call()`: runs the command, then queues its propagation and, at the outermost level, feeds
/// the AOF.
pub fn call(srv: &mut Server, client: &mut Client, cmd: &'static Command, argv: &[&[u8]]) -> Outcome {
    let dirty_before = srv.dirty;
    srv.prop.depth += 1;
    // A command's duration, when the host lends a clock (SLOWLOG); 0 without one. Not read while
    // loading, where nothing counts it (`aof-lab serve` loads its AOF with the clock lent).
    let clock = srv.config.command_clock.filter(|_| !srv.loading);
    let started_us = clock.map(|c| c());
    let mut ctx = Ctx::new(srv, client, cmd);
    let reply = (cmd.proc_)(&mut ctx, argv);
    let state = ctx.finish();
    let duration = match (clock, started_us) {
        (Some(c), Some(t0)) => c().saturating_sub(t0),
        _ => 0,
    };
    if !srv.loading {
        // A blocked client being served (`ready_key`) was counted when it blocked.
        let serving = client.ready_key.is_some();
        server::stats::after_call(srv, cmd, &reply, serving, state.blocked.is_some(), state.failed, duration);
        // `afterErrorReply` of the command's own error. A script's reply is counted as it is
        // made from the script's value (its errors from `redis.call` were counted there), and
        // EXEC's array holds its commands' replies, counted by their own calls.
        if state.blocked.is_none()
            && !state.errors_counted
            && let Reply::Error(text) = &reply
        {
            srv.count_error_reply(text);
        }
        srv.stats.total_commands_processed += 1;
        // c->original_argv after redactClientCommandArgument: what SLOWLOG and MONITOR see.
        let redacted: Vec<&[u8]>;
        let shown = if state.redacted.is_empty() {
            argv
        } else {
            redacted = argv.iter().enumerate().map(|(j, a)| if state.redacted.contains(&j) { &b"(redacted)"[..] } else { *a }).collect();
            &redacted
        };
        // A blocked command is logged when it is served (`updateStatsOnUnblock`).
        if state.blocked.is_none() && cmd.flags & SKIP_SLOWLOG == 0 {
            server::diag::slowlog_push(srv, client, shown, duration);
        }
        // MONITOR sees a command when it is called, blocked or not (BLPOP before the push that
        // serves it, a BLPOP that times out, XREAD's `$` as typed); serving it later is not
        // another call (7.0 serves a blocked client without `call()`).
        if client.ready_key.is_none() {
            server::diag::feed_monitors(srv, client, cmd, shown, srv.now_ms.saturating_mul(1000));
        }
        // trackingRememberKeys after a read (not of EVAL_RO & co: the reads their script makes
        // count, for the keys the script declared).
        if cmd.flags & READONLY != 0 && !scripting::runs_a_script(cmd) {
            if scripting::is_script_client(client) {
                if let Some(s) = srv.script.as_ref()
                    && let Some(caller) = s.tracked_by
                {
                    let sargv: Vec<&[u8]> = s.argv.iter().map(Vec::as_slice).collect();
                    let n = scripting::numkeys(&sargv).unwrap_or(0);
                    let keys: Vec<Vec<u8>> = s.argv.iter().skip(3).take(n).cloned().collect();
                    srv.diag.remember_keys(caller, keys.into_iter());
                }
            } else if scripting::tracking_caller(client).is_some() {
                let keys: Vec<Vec<u8>> = cmd.key_positions(argv.len()).filter_map(|p| argv.get(p).map(|k| k.to_vec())).collect();
                srv.diag.remember_keys(client.id, keys.into_iter());
            }
        }
    }
    // DEBUG LOADAOF resets the counter: a negative change counts as none, as in Redis.
    let dirty = srv.dirty.saturating_sub(dirty_before);
    let script_no_aof = srv.prop.script_no_aof && scripting::is_script_client(client);
    if state.blocked.is_none() && (dirty > 0 || state.force_propagation) && !state.prevent_propagation && !script_no_aof {
        let db = client.db;
        match &state.rewritten {
            Some(new_argv) => srv.also_propagate(db, new_argv),
            None => srv.also_propagate(db, argv),
        }
    }
    srv.prop.depth -= 1;
    if srv.prop.depth == 0 {
        srv.propagate_pending_commands();
    }
    match state.blocked {
        Some(b) => {
            client.blocked = Some(b.with_argv(argv));
            Outcome::Blocked
        }
        None => Outcome::Reply(reply),
    }
}

/// Shared argument helpers for handlers.
pub mod args {
    use crate::reply::Reply;
    use crate::util::{string2d, string2ll};

    /// `getLongLongFromObjectOrReply`.
    pub fn int(a: &[u8]) -> Result<i64, Reply> {
        string2ll(a).ok_or_else(Reply::not_integer)
    }
    /// `getDoubleFromObjectOrReply`.
    pub fn float(a: &[u8]) -> Result<f64, Reply> {
        string2d(a).ok_or_else(Reply::not_float)
    }
    /// Case-insensitive keyword comparison.
    pub fn is(a: &[u8], word: &str) -> bool {
        a.eq_ignore_ascii_case(word.as_bytes())
    }
    /// `getPositiveLongFromObjectOrReply` with Redis's message.
    pub fn positive(a: &[u8], msg: &'static str) -> Result<i64, Reply> {
        match string2ll(a) {
            Some(n) if n >= 0 => Ok(n),
            _ => Err(Reply::err(msg)),
        }
    }
    /// A count or offset as a `usize`, saturating: on wasm32 (`usize` is 32 bits) a count past
    /// 2^32 must mean "more than there can be", never its low 32 bits. Callers deal with
    /// negative values first (they mean different things to different commands).
    pub fn count(n: impl TryInto<usize>) -> usize {
        n.try_into().unwrap_or(usize::MAX)
    }
}
