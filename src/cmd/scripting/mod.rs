//! Scripting: EVAL / EVALSHA / EVAL_RO / EVALSHA_RO, SCRIPT LOAD / EXISTS / FLUSH / HELP
//! (`eval.c`, `script.c`), and functions (`function.rs`: FUNCTION …, FCALL, FCALL_RO).
//!
//! **Effects replication** (the only mode of 7.0): a script is never written to the AOF. Each
//! write command it runs goes through the ordinary [`crate::cmd::call`] one level down, so it
//! queues its own propagated argv (`EXPIRE` → `PEXPIREAT` …); when the script's EVAL returns,
//! the queue is fed to the AOF wrapped in `MULTI` … `EXEC` if it holds more than one op, with a
//! `SELECT` inside the transaction when the script switched databases. A script that wrote
//! nothing leaves no trace. SCRIPT LOAD / FLUSH are not propagated either; FUNCTION LOAD /
//! DELETE / FLUSH / RESTORE are, verbatim.
//!
//! **The script cache** maps the SHA1 of a body (40 lowercase hex digits) to the body and its
//! shebang flags (`#!lua flags=no-writes,allow-oom`). EVAL adds to it, EVALSHA reads it.
//!
//! **Busy scripts**: past `busy-reply-threshold` a script lets the host serve other clients,
//! who may SCRIPT KILL it (`lua.rs`).
//!
//! Compared with Redis: see `lua.rs` (what the VM does not have); there is no SCRIPT DEBUG.

pub mod function;
pub mod libs;
pub mod lua;

use indexmap::IndexMap;

use super::{ALLOW_BUSY, Command, Group, LOADING, MAY_REPLICATE, NOSCRIPT, READONLY, SKIP_MONITOR, STALE};
use crate::reply::Reply;
use crate::server::{Client, Ctx};

/// `lctx.lua_scripts` and the functions' libraries: what a server keeps between scripts.
#[derive(Clone, Debug, Default)]
pub struct ScriptingState {
    /// SHA1 (lowercase hex) → (body, flags).
    pub scripts: IndexMap<String, (Vec<u8>, u32)>,
    pub functions: function::Functions,
    /// `math.random`'s generator (`rand.c`), which lives as long as the server.
    pub rand48: lua::Rand48,
    /// `cjson`'s settings in the EVAL VM (reset by SCRIPT FLUSH) and in the functions' VM.
    pub cjson_eval: libs::cjson::Settings,
    pub cjson_functions: libs::cjson::Settings,
}

/// The flags of every script command; EVAL, EVALSHA and FCALL are also `may-replicate` (what
/// `CLIENT PAUSE WRITE` holds back), their `_RO` forms `readonly` instead.
const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | STALE;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.6.0",
        summary: "Execute a Lua script server side",
        ..Command::new("eval", -3, EVAL_FLAGS | MAY_REPLICATE, (0, 0, 0), Group::Scripting, eval)
    },
    Command {
        since: "2.6.0",
        summary: "Execute a Lua script server side",
        ..Command::new("evalsha", -3, EVAL_FLAGS | MAY_REPLICATE, (0, 0, 0), Group::Scripting, evalsha)
    },
    Command {
        since: "7.0.0",
        summary: "Execute a read-only Lua script server side",
        ..Command::new("eval_ro", -3, EVAL_FLAGS | READONLY, (0, 0, 0), Group::Scripting, eval)
    },
    Command {
        since: "7.0.0",
        summary: "Execute a read-only Lua script server side",
        ..Command::new("evalsha_ro", -3, EVAL_FLAGS | READONLY, (0, 0, 0), Group::Scripting, evalsha)
    },
    Command {
        since: "2.6.0",
        summary: "A container for Lua scripts management commands",
        subcommands: SCRIPT_SUBCOMMANDS,
        ..Command::new("script", -2, 0, (0, 0, 0), Group::Scripting, script_help)
    },
    Command {
        since: "7.0.0",
        summary: "Invoke a function",
        ..Command::new("fcall", -3, EVAL_FLAGS | MAY_REPLICATE, (0, 0, 0), Group::Scripting, function::fcall)
    },
    Command {
        since: "7.0.0",
        summary: "Invoke a read-only function",
        ..Command::new("fcall_ro", -3, EVAL_FLAGS | READONLY, (0, 0, 0), Group::Scripting, function::fcall)
    },
    Command {
        since: "7.0.0",
        summary: "A container for function commands",
        subcommands: function::SUBCOMMANDS,
        ..Command::new("function", -2, 0, (0, 0, 0), Group::Scripting, function::help)
    },
];

static SCRIPT_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.6.0",
        summary: "Load the specified Lua script into the script cache",
        ..Command::new("load", 3, NOSCRIPT | STALE, (0, 0, 0), Group::Scripting, script_load)
    },
    Command {
        since: "2.6.0",
        summary: "Check existence of scripts in the script cache",
        ..Command::new("exists", -3, NOSCRIPT, (0, 0, 0), Group::Scripting, script_exists)
    },
    Command {
        since: "3.2.0",
        summary: "Set the debug mode for executed scripts.",
        ..Command::new("debug", 3, NOSCRIPT, (0, 0, 0), Group::Scripting, script_debug)
    },
    Command {
        since: "2.6.0",
        summary: "Remove all the scripts from the script cache",
        ..Command::new("flush", -2, NOSCRIPT, (0, 0, 0), Group::Scripting, script_flush)
    },
    Command {
        since: "2.6.0",
        summary: "Kill the script currently in execution.",
        ..Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), Group::Scripting, script_kill)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Scripting, script_help)
    },
];

/// `scriptKill` when no script runs.
pub const NOTBUSY_ERR: &str = "NOTBUSY No scripts in execution right now.";

fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    script_kill_generic(ctx, true)
}

/// `scriptKill`: SCRIPT KILL (`eval`) or FUNCTION KILL, sent by a client served while a script
/// is busy. The script ends at its next hook, unless it already wrote.
pub(crate) fn script_kill_generic(ctx: &mut Ctx, eval: bool) -> Reply {
    let Some(script) = ctx.srv.script.as_mut() else {
        return Reply::err(NOTBUSY_ERR);
    };
    if script.write_dirty {
        return Reply::err(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        );
    }
    if eval != script.eval {
        // SCRIPT KILL of a function, FUNCTION KILL of an EVAL: the other one's `-BUSY`.
        return script.busy_error();
    }
    script.killed = true;
    Reply::ok()
}

/// `sha1hex`: the lowercase hex SHA1 of a script body.
pub fn sha1hex(body: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest: [u8; 20] = Sha1::digest(body).into();
    let mut out = String::with_capacity(40);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `evalExtractShebangFlags`: `(flags, shebang length)`, or Redis's error text.
pub fn extract_shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((lua::FLAG_EVAL_COMPAT_MODE, 0));
    }
    // `strchr(body, '\n')`: a C string, so a NUL before the line's end ends the search too.
    let Some(end) = body.iter().position(|&c| c == b'\n' || c == 0).filter(|&e| body[e] == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let parts = crate::resp::split_args(&body[..end]).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine.as_slice() != b"#!lua" {
        return Err(format!("Unexpected engine in script shebang: {}", String::from_utf8_lossy(engine)));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!("Unknown lua shebang option: {}", String::from_utf8_lossy(part)));
        };
        // `sdssplitlen` of an empty string gives no parts: `flags=` declares none.
        for f in list.split(|&c| c == b',').filter(|_| !list.is_empty()) {
            match lua::SCRIPT_FLAGS.iter().find(|(_, n)| n.as_bytes() == f) {
                Some((bit, _)) => flags |= bit,
                None => return Err(format!("Unexpected flag in script shebang: {}", String::from_utf8_lossy(f))),
            }
        }
    }
    Ok((flags, end))
}

/// `getCommandFlags` for the script commands (`evalGetCommandFlags`, `fcallGetCommandFlags`):
/// a script that declares its flags (a shebang; every function) is admitted by them rather
/// than by the command's (`scriptFlagsToCmdFlags`): `write` unless `no-writes`, `denyoom`
/// unless `allow-oom` or `no-writes`, `stale` with `allow-stale`, never `may-replicate`. What
/// processCommand checks: OOM, CLIENT PAUSE WRITE, the disk-error refusal.
pub(crate) fn command_flags(srv: &crate::server::Server, cmd: &Command, argv: &[&[u8]]) -> u32 {
    if !runs_a_script(cmd) {
        return cmd.flags;
    }
    let Some(&arg) = argv.get(1) else { return cmd.flags };
    let script_flags = if cmd.name.starts_with("fcall") {
        match srv.scripting.functions.find(arg) {
            Some((_, f)) => f.flags,
            None => return cmd.flags,
        }
    } else {
        let evalsha = cmd.name.starts_with("evalsha");
        if evalsha && arg.len() != 40 {
            return cmd.flags;
        }
        let sha = if evalsha { String::from_utf8_lossy(arg).to_ascii_lowercase() } else { sha1hex(arg) };
        match srv.scripting.scripts.get(&sha) {
            Some((_, flags)) => *flags,
            None if evalsha => return cmd.flags,
            None => match extract_shebang_flags(arg) {
                Ok((flags, _)) => flags,
                Err(_) => return cmd.flags,
            },
        }
    };
    if script_flags & lua::FLAG_EVAL_COMPAT_MODE != 0 {
        return cmd.flags;
    }
    let mut flags = cmd.flags & !(crate::cmd::STALE | crate::cmd::DENYOOM | crate::cmd::WRITE | crate::cmd::MAY_REPLICATE);
    if script_flags & (lua::FLAG_ALLOW_OOM | lua::FLAG_NO_WRITES) == 0 {
        flags |= crate::cmd::DENYOOM;
    }
    if script_flags & lua::FLAG_NO_WRITES == 0 {
        flags |= crate::cmd::WRITE;
    }
    if script_flags & lua::FLAG_ALLOW_STALE != 0 {
        flags |= crate::cmd::STALE;
    }
    flags
}

/// `luaCreateFunction`: compiles (to check it) and caches the body; its SHA1.
fn create_function(ctx: &mut Ctx, body: &[u8]) -> Result<String, Reply> {
    let sha = sha1hex(body);
    if ctx.srv.scripting.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, shebang_len) = extract_shebang_flags(body).map_err(|e| Reply::error(format!("ERR {e}")))?;
    let mut vm = lua::new_eval_vm().map_err(|e| Reply::error(format!("ERR {e}")))?;
    // The shebang line is skipped but its line feed kept, so that line numbers stay the user's.
    lua::compile(&mut vm, &body[shebang_len..], lua::EVAL_CHUNK)
        .map_err(|e| Reply::error(format!("ERR Error compiling script (new function): {e}")))?;
    ctx.srv.scripting.scripts.insert(sha.clone(), (body.to_vec(), flags));
    Ok(sha)
}

/// The checks of `scriptPrepareForRun`; `Ok((read_only, allow_oom, oom_at_start))`.
pub(crate) fn prepare_for_run(ctx: &mut Ctx, flags: u32, ro: bool) -> Result<(bool, bool, bool), Reply> {
    let compat = flags & lua::FLAG_EVAL_COMPAT_MODE != 0;
    let oom = ctx.srv.config.maxmemory > 0 && ctx.srv.over_maxmemory();
    if !compat {
        if flags & lua::FLAG_NO_WRITES == 0 && ro {
            return Err(Reply::err("ERR Can not execute a script with write flag using *_ro command."));
        }
        if oom && flags & (lua::FLAG_ALLOW_OOM | lua::FLAG_NO_WRITES) == 0 {
            return Err(Reply::err("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"));
        }
    }
    let read_only = ro || (!compat && flags & lua::FLAG_NO_WRITES != 0);
    let allow_oom = !compat && flags & lua::FLAG_ALLOW_OOM != 0;
    Ok((read_only, allow_oom, oom))
}

/// EVAL, EVALSHA, FCALL and their `_RO` forms: the commands whose reply may be made from a
/// script's value.
pub(crate) fn runs_a_script(cmd: &Command) -> bool {
    cmd.name.starts_with("eval") || cmd.name.starts_with("fcall")
}

/// The caller of a script about to run, if its tracking remembers keys for this command (not
/// BCAST; OPTIN after CACHING yes, OPTOUT unless CACHING no): when the script reads, the caller
/// tracks the keys the script declared (`trackingRememberKeys(server.script_caller)`).
pub(crate) fn tracking_caller(caller: &Client) -> Option<crate::server::ClientId> {
    let t = caller.tracking.as_ref()?;
    let remembers = !t.bcast && if t.optin { t.caching } else { !(t.optout && t.caching) };
    remembers.then_some(caller.id)
}

/// Is this the client a script's `redis.call` runs as (`CLIENT_SCRIPT`)?
pub(crate) fn is_script_client(c: &Client) -> bool {
    c.id == SCRIPT_CLIENT_ID
}

const SCRIPT_CLIENT_ID: u64 = u64::MAX;

pub(crate) fn script_client(srv: &mut crate::server::Server, caller: &Client) -> Client {
    // An ACL LOG entry for a command the script may not run shows the caller
    // (`server.script_caller`); only a restricted user's scripts can make one.
    srv.acl.script_caller_info = srv
        .acl
        .users
        .get(caller.user_name())
        .filter(|u| !u.unrestricted())
        .map(|_| crate::cmd::server::client::client_info_string(srv, caller, srv.now_ms));
    // `addr` "lua": what MONITOR shows for a script's commands (`[0 lua] "SET" …`).
    Client {
        id: SCRIPT_CLIENT_ID,
        db: caller.db,
        in_exec: true,
        authenticated: true,
        resp: crate::reply::RESP2,
        addr: "lua".into(),
        fd: -1,
        user: caller.user.clone(),
        ..Default::default()
    }
}

/// The `numkeys` argument, checked as `evalGenericCommand` / `fcallCommandGeneric` do.
pub(crate) fn numkeys(argv: &[&[u8]]) -> Result<usize, Reply> {
    let n = super::args::int(argv[2])?;
    let room = argv.len() - 3;
    if n > i64::try_from(room).unwrap_or(i64::MAX) {
        return Err(Reply::err("ERR Number of keys can't be greater than number of args"));
    }
    usize::try_from(n).map_err(|_| Reply::err("ERR Number of keys can't be negative"))
}

fn eval(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    feed_monitors(ctx, argv);
    eval_generic(ctx, argv, false)
}

fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    feed_monitors(ctx, argv);
    if argv[1].len() != 40 {
        return Reply::err(NOSCRIPT_ERR);
    }
    eval_generic(ctx, argv, true)
}

/// EVAL, EVALSHA and FCALL feed the monitors themselves (they are `skip_monitor`), first:
/// MONITOR shows the script's call before the commands it runs (`evalCommand`).
pub(crate) fn feed_monitors(ctx: &mut Ctx, argv: &[&[u8]]) {
    let now_us = ctx.srv.now_ms.saturating_mul(1000);
    crate::cmd::server::diag::feed_monitors_now(ctx.srv, ctx.client, argv, now_us);
}

/// `shared.noscripterr`.
pub const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn eval_generic(ctx: &mut Ctx, argv: &[&[u8]], evalsha: bool) -> Reply {
    // The script's own writes are propagated, never EVAL itself.
    ctx.prevent_propagation();
    let nkeys = match numkeys(argv) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let sha = if evalsha {
        let sha = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
        if !ctx.srv.scripting.scripts.contains_key(&sha) {
            return Reply::err(NOSCRIPT_ERR);
        }
        sha
    } else {
        match create_function(ctx, argv[1]) {
            Ok(sha) => sha,
            Err(r) => return r,
        }
    };
    let Some((body, flags)) = ctx.srv.scripting.scripts.get(&sha).cloned() else {
        return Reply::err(NOSCRIPT_ERR);
    };
    let ro = ctx.cmd.flags & READONLY != 0;
    let run_flags = match prepare_for_run(ctx, flags, ro) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let shebang_len = extract_shebang_flags(&body).map(|(_, n)| n).unwrap_or(0);
    let mut vm = match lua::new_eval_vm() {
        Ok(vm) => vm,
        Err(e) => return Reply::error(format!("ERR {e}")),
    };
    let f = match lua::compile(&mut vm, &body[shebang_len..], lua::EVAL_CHUNK) {
        Ok(f) => f,
        Err(e) => return Reply::error(format!("ERR Error compiling script (new function): {e}")),
    };
    let keys = lua::string_array(&mut vm, &argv[3..3 + nkeys]);
    let args = lua::string_array(&mut vm, &argv[3 + nkeys..]);
    // On eval, KEYS and ARGV are globals (the chunk is called with no arguments).
    lua::set_global_raw(&mut vm, "KEYS", keys);
    lua::set_global_raw(&mut vm, "ARGV", args);
    let client = script_client(ctx.srv, ctx.client);
    let f = rilua::Val::Function(f.gc_ref());
    ctx.srv.scripting.cjson_eval.install(&mut vm);
    let argv = argv.iter().map(|a| a.to_vec()).collect();
    let tracked_by = tracking_caller(ctx.client);
    ctx.srv.script = Some(crate::server::RunningScript { name: sha.clone(), argv, eval: true, tracked_by, ..Default::default() });
    let reply = lua::run_function(&mut vm, ctx.srv, client, f, (rilua::Val::Nil, rilua::Val::Nil), &sha, run_flags);
    ctx.srv.script = None;
    ctx.mark_errors_counted();
    ctx.srv.scripting.cjson_eval = libs::cjson::Settings::of(&mut vm);
    reply
}

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match create_function(ctx, argv[2]) {
        Ok(sha) => Reply::bulk(sha.into_bytes()),
        Err(r) => r,
    }
}

fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // The lookup is by the exact bytes given (Redis's dict is case-sensitive here).
    Reply::Array(
        argv[2..]
            .iter()
            .map(|a| Reply::Int(i64::from(std::str::from_utf8(a).is_ok_and(|s| ctx.srv.scripting.scripts.contains_key(s)))))
            .collect(),
    )
}

fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _] => {}
        [_, _, mode] if mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async") => {}
        _ => return Reply::err("ERR SCRIPT FLUSH only support SYNC|ASYNC option"),
    }
    ctx.srv.scripting.scripts.clear();
    // `scriptingReset`: a new VM, with cjson's default settings.
    ctx.srv.scripting.cjson_eval = libs::cjson::Settings::default();
    Reply::ok()
}

/// SCRIPT DEBUG YES|SYNC|NO. The lab has no Lua debugger (Redis's LDB, driven by
/// `redis-cli --ldb`): NO (its default) is accepted, YES and SYNC are refused with a reason.
fn script_debug(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mode = argv[2];
    if mode.eq_ignore_ascii_case(b"no") {
        Reply::ok()
    } else if mode.eq_ignore_ascii_case(b"yes") || mode.eq_ignore_ascii_case(b"sync") {
        Reply::err("ERR SCRIPT DEBUG YES/SYNC: AOF Lab has no Lua debugger (redis-cli --ldb)")
    } else {
        Reply::err("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    }
}

const SCRIPT_HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

fn script_help(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"help") {
        return super::server::help_reply("SCRIPT", SCRIPT_HELP);
    }
    Reply::wrong_arity("script")
}
