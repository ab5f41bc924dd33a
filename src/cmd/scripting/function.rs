//! Functions (`functions.c`, `function_lua.c`): libraries of named Lua functions, loaded with
//! FUNCTION LOAD and called with FCALL / FCALL_RO.
//!
//! A library's code starts with its metadata, `#!lua name=<library>`; running the rest
//! registers its functions with `redis.register_function`. Unlike EVAL scripts, libraries are
//! part of the dataset: FUNCTION LOAD / DELETE / FLUSH move `dirty` and are propagated to the
//! AOF verbatim.
//!
//! Libraries persist: an RDB holds one `RDB_OPCODE_FUNCTION2` per library, a RESP rewrite one
//! `FUNCTION LOAD` (both before the keys, [`crate::child::SnapshotWriter`]), and FUNCTION DUMP
//! is those opcodes with a DUMP footer.
//!
//! Libraries share one VM that lives with the server ([`FunctionsVm`]): a library's functions
//! keep their upvalues between calls, as in Redis. A function that runs past `busy-reply-threshold` can be killed with FUNCTION KILL (see
//! `lua.rs`).

use indexmap::IndexMap;

use super::lua;
use crate::cmd::{ALLOW_BUSY, Command, DENYOOM, Group, NOSCRIPT, READONLY, WRITE};
use crate::reply::Reply;
use crate::server::{Ctx, RunningScript};

#[derive(Clone, Debug)]
pub struct Library {
    /// The whole FUNCTION LOAD payload, shebang included (FUNCTION LIST WITHCODE, the AOF).
    pub code: Vec<u8>,
    pub functions: Vec<lua::Registered>,
    /// Which load this is: a library loaded again (REPLACE, RESTORE, a restart) is another one,
    /// whose functions are new closures with fresh upvalues.
    pub id: u64,
}

impl Library {
    fn new(code: Vec<u8>, functions: Vec<lua::Registered>) -> Library {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Library { code, functions, id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed) }
    }
}

/// The functions' Lua VM (`function_lua.c`'s one `lua_State`): every library's top level runs
/// in it once, so its functions keep their upvalues from one FCALL to the next (a counter in a
/// library's `local` counts on), as long as the library is not loaded again. A library runs
/// here at its first FCALL (FUNCTION LOAD checked it in a VM of its own; its top level cannot
/// touch the data). Not copied with the server: a copy (a timeline checkpoint) starts a VM of
/// its own, its libraries' state fresh, as after a restart.
#[derive(Default)]
pub struct FunctionsVm {
    lua: Option<rilua::Lua>,
    /// The libraries that ran in `lua`: (name, [`Library::id`]).
    loaded: Vec<(Vec<u8>, u64)>,
}

impl Clone for FunctionsVm {
    fn clone(&self) -> Self {
        FunctionsVm::default()
    }
}

impl std::fmt::Debug for FunctionsVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FunctionsVm({} libraries loaded)", self.loaded.len())
    }
}

impl FunctionsVm {
    /// The VM with `lib` (named `name`) loaded, for calling one of its functions.
    fn with_library(&mut self, functions: &Functions, name: &[u8], lib: &Library) -> Result<&mut rilua::Lua, String> {
        let lua = match &mut self.lua {
            Some(lua) => lua,
            slot => slot.insert(lua::new_vm()?),
        };
        if !self.loaded.iter().any(|(n, id)| n == name && *id == lib.id) {
            let (_, _, body) = extract_metadata(&lib.code)?;
            lua::load_library(lua, body, None)?;
            self.loaded.retain(|(n, id)| n != name && functions.libraries.get(n).is_some_and(|l| l.id == *id));
            self.loaded.push((name.to_vec(), lib.id));
        }
        Ok(lua)
    }
}

/// `curr_functions_lib_ctx`: libraries by name.
#[derive(Clone, Debug, Default)]
pub struct Functions {
    pub libraries: IndexMap<Vec<u8>, Library>,
    pub vm: FunctionsVm,
}

impl Functions {
    /// A function by name, in any case: Redis's dictionary of functions compares names without
    /// case (`functionDictType`), so `foo` and `FOO` are one function for FCALL and for the
    /// collision checks.
    pub(crate) fn find(&self, name: &[u8]) -> Option<(&Library, &lua::Registered)> {
        self.libraries.values().find_map(|l| l.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| (l, f)))
    }
    /// Every library's code, as FUNCTION LOAD was given it: what an RDB, an AOF rewrite and
    /// FUNCTION DUMP write.
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }
    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }
}

pub static SUBCOMMANDS: &[Command] = &[
    Command {
        since: "7.0.0",
        summary: "Create a function with the given arguments (name, code, description)",
        ..Command::new("load", -3, WRITE | DENYOOM | NOSCRIPT, (0, 0, 0), Group::Scripting, function_load)
    },
    Command {
        since: "7.0.0",
        summary: "List information about all the functions",
        ..Command::new("list", -2, NOSCRIPT, (0, 0, 0), Group::Scripting, function_list)
    },
    Command {
        since: "7.0.0",
        summary: "Delete a function by name",
        ..Command::new("delete", 3, WRITE | NOSCRIPT, (0, 0, 0), Group::Scripting, function_delete)
    },
    Command {
        since: "7.0.0",
        summary: "Deleting all functions",
        ..Command::new("flush", -2, WRITE | NOSCRIPT, (0, 0, 0), Group::Scripting, function_flush)
    },
    Command {
        since: "7.0.0",
        summary: "Return information about the function currently running (name, description, duration)",
        ..Command::new("stats", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), Group::Scripting, function_stats)
    },
    Command {
        since: "7.0.0",
        summary: "Dump all functions into a serialized binary payload",
        ..Command::new("dump", 2, NOSCRIPT, (0, 0, 0), Group::Scripting, function_dump)
    },
    Command {
        since: "7.0.0",
        summary: "Restore all the functions on the given payload",
        ..Command::new("restore", -3, WRITE | DENYOOM | NOSCRIPT, (0, 0, 0), Group::Scripting, function_restore)
    },
    Command {
        since: "7.0.0",
        summary: "Kill the function currently in execution.",
        ..Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), Group::Scripting, function_kill)
    },
    Command {
        since: "7.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, crate::cmd::LOADING | crate::cmd::STALE, (0, 0, 0), Group::Scripting, help)
    },
];

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

pub(crate) fn help(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"help") {
        return crate::cmd::server::help_reply("FUNCTION", HELP);
    }
    Reply::wrong_arity("function")
}

/// `functionsVerifyName`: letters, digits, `_`, at least one.
pub fn check_function_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() || !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    Ok(())
}

/// `functionExtractLibMetaData`: (engine, name, the code after the shebang, its `\n` kept).
fn extract_metadata(payload: &[u8]) -> Result<(Vec<u8>, Vec<u8>, &[u8]), String> {
    if !payload.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    // `strchr(code, '\n')` on a C string: a NUL first means no line end.
    let Some(end) = payload.iter().position(|&c| c == b'\n' || c == 0).filter(|&e| payload[e] == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = crate::resp::split_args(&payload[..end]).unwrap_or_default();
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first.get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(part)));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, &payload[end..]))
}

/// `functionsCreateWithLibraryCtx`: checks and adds a library; its name.
/// With a `clock`, its top level may run 500 ms (FUNCTION LOAD; not a restore or a load).
pub fn create_library(
    functions: &mut Functions,
    payload: &[u8],
    replace: bool,
    clock: Option<crate::load_time::LoadClock>,
) -> Result<Vec<u8>, String> {
    let (engine, name, code) = extract_metadata(payload)?;
    check_function_name(&name).map_err(str::to_string)?;
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("Engine '{}' not found", String::from_utf8_lossy(&engine)));
    }
    if functions.libraries.contains_key(&name) && !replace {
        return Err(format!("Library '{}' already exists", String::from_utf8_lossy(&name)));
    }
    let mut vm = lua::new_vm()?;
    let registered = lua::load_library(&mut vm, code, clock)?;
    if registered.is_empty() {
        return Err("No functions registered".into());
    }
    for f in &registered {
        let clash =
            functions.libraries.iter().any(|(lib, l)| *lib != name && l.functions.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)));
        if clash {
            return Err(format!("Function {} already exists", String::from_utf8_lossy(&f.name)));
        }
    }
    let lib = Library::new(payload.to_vec(), registered);
    match functions.libraries.get_mut(&name) {
        Some(old) => *old = lib,
        None => {
            functions.libraries.insert(name.clone(), lib);
        }
    }
    Ok(name)
}

fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut replace = false;
    let mut pos = 2;
    while pos < argv.len() - 1 {
        let a = argv[pos];
        pos += 1;
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        return Reply::error(format!("ERR Unknown option given: {}", String::from_utf8_lossy(a)));
    }
    if pos >= argv.len() {
        return Reply::err("ERR Function code is missing");
    }
    match create_library(&mut ctx.srv.scripting.functions, argv[pos], replace, ctx.srv.config.busy_clock()) {
        Ok(name) => {
            ctx.dirty(1);
            Reply::Bulk(name)
        }
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i >= argv.len() - 1 {
                return Reply::err("ERR library name argument was not given");
            }
            i += 1;
            pattern = Some(argv[i]);
        } else {
            return Reply::error(format!("ERR Unknown argument {}", String::from_utf8_lossy(a)));
        }
        i += 1;
    }
    let mut out = Vec::new();
    for (name, lib) in &ctx.srv.scripting.functions.libraries {
        if let Some(p) = pattern
            && !crate::util::string_match(p, name, true)
        {
            continue;
        }
        let functions = lib
            .functions
            .iter()
            .map(|f| {
                let flags = lua::SCRIPT_FLAGS.iter().filter(|(bit, _)| f.flags & bit != 0).map(|(_, n)| Reply::status(n)).collect();
                Reply::Map(vec![
                    (Reply::bulk("name"), Reply::Bulk(f.name.clone())),
                    (Reply::bulk("description"), f.description.clone().map_or(Reply::Nil, Reply::Bulk)),
                    (Reply::bulk("flags"), Reply::Set(flags)),
                ])
            })
            .collect();
        let mut map = vec![
            (Reply::bulk("library_name"), Reply::Bulk(name.clone())),
            (Reply::bulk("engine"), Reply::bulk("LUA")),
            (Reply::bulk("functions"), Reply::Array(functions)),
        ];
        if with_code {
            map.push((Reply::bulk("library_code"), Reply::Bulk(lib.code.clone())));
        }
        out.push(Reply::Map(map));
    }
    Reply::Array(out)
}

fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if ctx.srv.scripting.functions.libraries.shift_remove(argv[2]).is_none() {
        return Reply::err("ERR Library not found");
    }
    ctx.dirty(1);
    Reply::ok()
}

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match argv {
        [_, _] => {}
        [_, _, mode] if mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async") => {}
        [_, _, _] => return Reply::err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        _ => return crate::cmd::subcommand_syntax(argv),
    }
    ctx.srv.scripting.functions.libraries.clear();
    ctx.dirty(1);
    Reply::ok()
}

fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    // The running script, as a client served while it is busy sees it.
    let running = match &ctx.srv.script {
        Some(s) if s.eval => return s.busy_error(),
        Some(s) => {
            let clock = ctx.srv.config.busy_clock();
            let duration_ms = clock.map_or(0, |c| c().saturating_sub(s.started_us) / 1000);
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::bulk(s.name.clone())),
                (Reply::bulk("command"), Reply::Array(s.argv.iter().map(|a| Reply::Bulk(a.clone())).collect())),
                (Reply::bulk("duration_ms"), Reply::Int(i64::try_from(duration_ms).unwrap_or(i64::MAX))),
            ])
        }
        None => Reply::Nil,
    };
    let f = &ctx.srv.scripting.functions;
    Reply::Map(vec![
        (Reply::bulk("running_script"), running),
        (
            Reply::bulk("engines"),
            Reply::Map(vec![(
                Reply::bulk("LUA"),
                Reply::Map(vec![
                    (Reply::bulk("libraries_count"), Reply::Int(i64::try_from(f.libraries.len()).unwrap_or(i64::MAX))),
                    (Reply::bulk("functions_count"), Reply::Int(i64::try_from(f.function_count()).unwrap_or(i64::MAX))),
                ]),
            )]),
        ),
    ])
}

/// FUNCTION DUMP: every library as `rdbSaveFunctions` writes it (LZF under `rdbcompression`),
/// then the RDB version and the CRC-64 ([`crate::rdb::push_dump_footer`]).
fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let mut payload = Vec::new();
    crate::rdb::write::write_functions(&mut payload, &ctx.srv.scripting.functions.codes(), ctx.srv.rdb_compression());
    crate::rdb::push_dump_footer(&mut payload);
    Reply::Bulk(payload)
}

/// FUNCTION RESTORE <payload> [FLUSH|APPEND|REPLACE] (`functionRestoreCommand`): the payload's
/// libraries are created apart, then swapped in (FLUSH) or joined to the current ones
/// (`libraryJoin`: APPEND refuses an existing library, REPLACE replaces it; a function name
/// used by another library refuses the whole payload). Nothing changes on an error.
fn function_restore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() > 4 {
        return crate::cmd::subcommand_syntax(argv);
    }
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match argv.get(3) {
        None => Policy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"append") => Policy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => Policy::Replace,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => Policy::Flush,
        Some(_) => return Reply::err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."),
    };
    let data = argv[2];
    if !crate::rdb::verify_dump_payload(data) {
        return Reply::err("ERR DUMP payload version or checksum are wrong");
    }
    let mut restored = Functions::default();
    let created = crate::rdb::read::read_function_payload(data)
        .and_then(|codes| codes.iter().try_for_each(|code| create_library(&mut restored, code, false, None).map(drop)));
    if let Err(e) = created {
        return Reply::error(format!("ERR {e}"));
    }
    let current = &mut ctx.srv.scripting.functions;
    if policy == Policy::Flush {
        *current = restored;
    } else if let Err(e) = library_join(current, restored, policy == Policy::Replace) {
        return Reply::error(format!("ERR {e}"));
    }
    ctx.dirty(1);
    Reply::ok()
}

/// `libraryJoin`: adds `src`'s libraries to `dst`, all or none.
fn library_join(dst: &mut Functions, src: Functions, replace: bool) -> Result<(), String> {
    let mut kept = dst.clone();
    for name in src.libraries.keys() {
        if kept.libraries.contains_key(name) {
            if !replace {
                return Err(format!("Library {} already exists", String::from_utf8_lossy(name)));
            }
            kept.libraries.shift_remove(name);
        }
    }
    for f in src.libraries.values().flat_map(|l| &l.functions) {
        if kept.find(&f.name).is_some() {
            return Err(format!("Function {} already exists", String::from_utf8_lossy(&f.name)));
        }
    }
    kept.libraries.extend(src.libraries);
    // The libraries kept keep their state (the copy's VM is a new one).
    kept.vm = std::mem::take(&mut dst.vm);
    *dst = kept;
    Ok(())
}

/// FUNCTION KILL (`scriptKill` of a function).
fn function_kill(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    super::script_kill_generic(ctx, false)
}

/// FCALL / FCALL_RO (`fcallCommandGeneric`).
pub(crate) fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    super::feed_monitors(ctx, argv);
    ctx.prevent_propagation();
    let Some((lib, f)) = ctx.srv.scripting.functions.find(argv[1]) else {
        return Reply::err("ERR Function not found");
    };
    let (fname, flags) = (f.name.clone(), f.flags);
    let lib_name = ctx.srv.scripting.functions.libraries.iter().find(|(_, l)| l.id == lib.id).map(|(n, _)| n.clone()).unwrap_or_default();
    let nkeys = match crate::util::string2ll(argv[2]) {
        None => return Reply::err("ERR Bad number of keys provided"),
        Some(n) if n > i64::try_from(argv.len() - 3).unwrap_or(i64::MAX) => {
            return Reply::err("ERR Number of keys can't be greater than number of args");
        }
        Some(n) => match usize::try_from(n) {
            Ok(n) => n,
            Err(_) => return Reply::err("ERR Number of keys can't be negative"),
        },
    };
    let ro = ctx.cmd.flags & READONLY != 0;
    let run_flags = match super::prepare_for_run(ctx, flags, ro) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // The VM is taken out of the server while the function runs (the function gets the server).
    let mut functions_vm = std::mem::take(&mut ctx.srv.scripting.functions.vm);
    let functions = &ctx.srv.scripting.functions;
    let vm = match functions
        .libraries
        .get(&lib_name)
        .ok_or_else(|| "Function not found".to_string())
        .and_then(|lib| functions_vm.with_library(functions, &lib_name, lib))
    {
        Ok(vm) => vm,
        Err(e) => {
            ctx.srv.scripting.functions.vm = functions_vm;
            return Reply::error(format!("ERR {e}"));
        }
    };
    let reply = call_function(ctx, vm, argv, &fname, nkeys, run_flags);
    ctx.srv.scripting.functions.vm = functions_vm;
    reply
}

/// Runs the registered function `fname` of `vm` for FCALL `argv`.
fn call_function(ctx: &mut Ctx, vm: &mut rilua::Lua, argv: &[&[u8]], fname: &[u8], nkeys: usize, run_flags: (bool, bool, bool)) -> Reply {
    let Some(func) = lua::registered_function(vm, fname) else {
        return Reply::err("ERR Function not found");
    };
    let keys = lua::string_array(vm, &argv[3..3 + nkeys]);
    let args = lua::string_array(vm, &argv[3 + nkeys..]);
    let client = super::script_client(ctx.srv, ctx.client);
    let name = String::from_utf8_lossy(fname).into_owned();
    ctx.srv.scripting.cjson_functions.install(vm);
    let tracked_by = super::tracking_caller(ctx.client);
    ctx.srv.script =
        Some(RunningScript { name: name.clone(), argv: argv.iter().map(|a| a.to_vec()).collect(), tracked_by, ..Default::default() });
    let reply = lua::run_function(vm, ctx.srv, client, func, (keys, args), &name, run_flags);
    ctx.srv.script = None;
    ctx.mark_errors_counted();
    ctx.srv.scripting.cjson_functions = super::libs::cjson::Settings::of(vm);
    reply
}
