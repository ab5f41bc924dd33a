//! The Lua side of scripting: one fresh rilua VM per EVAL / FCALL / FUNCTION LOAD, Redis's `redis`
//! API inside it, and the conversions between Lua values and replies (`script_lua.c`).
//!
//! **The VM.** rilua (Lua 5.1.1 in Rust, see docs/architecture.md for why) with the `base`
//! (and `coroutine`), `string`, `table` and `math` libraries, as Redis opens them, the globals
//! a 7.0.15 script sees (no `getfenv` / `setfenv` / `newproxy`), and Redis's own `math.random`
//! ([`Rand48`]); `debug` only long enough to
//! build the error handler (then `debug = nil`, as `scriptingInit` does); `print`, `dofile`,
//! `loadfile` removed. The globals are then protected as 7.0 protects them: reading a global
//! that does not exist raises `Script attempted to access nonexistent global variable 'x'`, and
//! every table reachable from the globals (`_G`, `redis`, the libraries, their metatables) and
//! the strings' metatable is *read-only*: writing to one (`x = 1`, `redis = nil`,
//! `string.len = nil`, `rawset(_G, …)`, `setmetatable(_G, nil)`, `table.insert(string, 1)`)
//! raises `Attempt to modify a readonly table`. The flag is Redis's patch of its Lua
//! (`Table.readonly`, checked by `luaV_settable`, `lua_rawset`, `lua_rawseti`,
//! `lua_setmetatable`), carried by our vendored rilua (`vendor/rilua/README.md`). Tables a
//! script makes (KEYS and ARGV too) stay its own.
//!
//! **redis.call.** rilua's native functions are plain `fn` pointers and the engine has no
//! `unsafe`, so the server cannot be reached through a pointer: while a script runs, the server
//! and the script's own client live in the thread-local [`RUN`] slot, and `redis.call` takes
//! them out, runs the command through the ordinary [`crate::cmd::call`], and puts them back.
//!
//! **Conversions** (Redis's rules). Reply → Lua: integer → number, bulk → string, nil bulk and
//! nil array → `false`, status → `{ok=…}`, error → `{err=…}`, array → table; over RESP3
//! (`redis.setresp(3)`) map → `{map={…}}`, set → `{set={k=true}}`, double → `{double=n}`,
//! true/false → booleans, null → nil, big number → `{big_number=…}`. Lua → reply: number →
//! integer (truncated), string → bulk, `true` → `:1`, `false` → nil, a table with `err` / `ok`
//! → error / status, any other table → array up to the first nil.
//!
//! **Busy scripts** (`luaMaskCountHook`, `scriptInterrupt`). Every 100 000 instructions a hook
//! looks at the host's clock ([`crate::Config::busy_clock`]; a host without one never times a
//! script out). Past `busy-reply-threshold` (5 s) the script is *timed out*: the warning
//! `Slow script detected …` is logged, and from then on each hook lends the whole engine to
//! the host's [`crate::config::WhileBlocked`] (`processEventsWhileBlocked`), which serves
//! other clients: they are answered `-BUSY …` but for the `allow-busy` commands, among them
//! SCRIPT KILL / FUNCTION KILL, which mark the script killed unless it already wrote
//! (`-UNKILLABLE`). The next hook then raises `Script killed by user with SCRIPT KILL...`, and
//! from there on raises it at every line, so a `pcall` cannot catch it for good. A library's
//! top level (FUNCTION LOAD) gets 500 ms, then `FUNCTION LOAD timeout`.
//!
//! Compared with Redis: there is no debugger (SCRIPT DEBUG).

use std::cell::RefCell;

use rilua::vm::state::LuaState;
use rilua::{Function, Lua, LuaApiMut, LuaError, RuntimeError, StdLib, Table, Val};

use crate::cmd::{MAY_REPLICATE, NOSCRIPT, Outcome, WRITE, call, lookup_command};
use crate::reply::{RESP2, RESP3, Reply};
use crate::server::{Client, LogLevel, Server};
use crate::util::fmt_g17;

/// The source name Redis compiles scripts under (`user_script:1: …` in messages).
pub const EVAL_CHUNK: &str = "@user_script";
/// … and libraries (`user_function:1: …`).
pub const FUNCTION_CHUNK: &str = "@user_function";
/// Our own helpers' chunk: the error handler skips its frames as it skips C frames.
const INTERNAL_CHUNK: &str = "=redis_internal";

/// A script being run: the server and the script's client, moved here for the duration.
pub struct ScriptRun {
    pub srv: Server,
    pub client: Client,
    /// `SCRIPT_READ_ONLY`: EVAL_RO / FCALL_RO, or a `no-writes` script.
    pub read_only: bool,
    /// `SCRIPT_ALLOW_OOM`.
    pub allow_oom: bool,
    /// `SCRIPT_WRITE_DIRTY`: a write already ran, later ones can no longer be refused.
    pub write_dirty: bool,
    /// `server.pre_command_oom_state` when the script started.
    pub oom_at_start: bool,
}

/// What `redis.register_function` collects while FUNCTION LOAD runs a library.
#[derive(Clone, Debug, Default)]
pub struct Registered {
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    pub flags: u32,
}

thread_local! {
    static RUN: RefCell<Option<ScriptRun>> = const { RefCell::new(None) };
    static LOADING: RefCell<Option<Vec<Registered>>> = const { RefCell::new(None) };
    /// While a library's top level runs with a time limit: the clock and when to give up (µs).
    static LOAD_DEADLINE: std::cell::Cell<Option<(crate::load_time::LoadClock, u64)>> = const { std::cell::Cell::new(None) };
}

/// How often the hook runs (`lua_sethook(…, LUA_MASKCOUNT, 100000)`).
const HOOK_EVERY: i32 = 100_000;
/// `LOAD_TIMEOUT_MS`: how long FUNCTION LOAD lets a library's top level run.
const LOAD_TIMEOUT_US: u64 = 500_000;

/// `lua_sethook`: `f` every `count` instructions, or at every new line with `count` 0.
fn set_hook(state: &mut LuaState, f: Val, count: i32) {
    use rilua::vm::state::{MASK_COUNT, MASK_LINE};
    state.hook.hook_func = f;
    state.hook.hook_mask = if count > 0 { MASK_COUNT } else { MASK_LINE };
    state.hook.base_hook_count = count;
    state.hook.hook_count = count;
}

/// The function value of a hook (a native function, as `lua_sethook` takes a C one).
fn hook_value(lua: &mut Lua, name: &str, f: rilua::RustFn) -> Val {
    if lua.register_function(name, f).is_err() {
        return Val::Nil;
    }
    let v = get_global_raw(lua, name);
    set_global_raw(lua, name, Val::Nil);
    v
}

/// `luaMaskCountHook`.
fn script_hook(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let killed = RUN.with(|r| r.borrow_mut().as_mut().is_some_and(script_interrupt));
    if killed {
        // From now on at every line: a pcall that caught it cannot go on for long.
        let f = state.hook.hook_func;
        set_hook(state, f, 0);
        // Not in the prelude's own Lua code (the `pcall` wrapper, the error handler), which
        // Redis does not have: the error strikes the script's next line, and names it.
        if !interrupted_internal_code(state) {
            return Err(raise(state, b"Script killed by user with SCRIPT KILL..."));
        }
    }
    Ok(0)
}

/// Whether the Lua function a hook interrupted (the frame below the hook's own) is the
/// prelude's ([`INTERNAL_CHUNK`]).
fn interrupted_internal_code(state: &LuaState) -> bool {
    let Some(ci) = state.ci.checked_sub(1).and_then(|i| state.call_stack.get(i)) else {
        return false;
    };
    match state.stack_get(ci.func) {
        Val::Function(r) => {
            matches!(state.gc.closures.get(r), Some(rilua::vm::closure::Closure::Lua(l)) if l.proto.source == INTERNAL_CHUNK)
        }
        _ => false,
    }
}

/// `scriptInterrupt`: whether the script must end (killed). Past the threshold, lends the
/// engine to the host (`processEventsWhileBlocked`) for it to serve the other clients.
fn script_interrupt(run: &mut ScriptRun) -> bool {
    let srv = &mut run.srv;
    let Some(script) = srv.script.as_mut() else { return false };
    if script.killed {
        return true;
    }
    if !script.timed_out {
        let Some(clock) = srv.config.busy_clock() else { return false };
        let elapsed_ms = clock().saturating_sub(script.started_us) / 1000;
        if script.threshold_ms == 0 || elapsed_ms < script.threshold_ms {
            return false;
        }
        script.timed_out = true;
        let (kill, name) = (if script.eval { "SCRIPT KILL" } else { "FUNCTION KILL" }, script.name.clone());
        srv.log(
            LogLevel::Warning,
            format!(
                "Slow script detected: still in execution after {elapsed_ms} milliseconds. You can try killing the script using the {kill} command. Script name is: {name}."
            ),
        );
    }
    if let Some(s) = srv.script.as_mut() {
        s.write_dirty = run.write_dirty;
    }
    if let Some(host) = srv.config.while_blocked.clone() {
        let frozen_ms = srv.now_ms;
        let lent = std::mem::replace(srv, Server::new(crate::config::Config::default(), srv.now_ms));
        let mut engine = crate::Engine { srv: lent };
        if let Ok(mut host) = host.0.try_borrow_mut() {
            (*host)(&mut engine);
        }
        *srv = engine.srv;
        // The script's time stays where it started (`scriptTimeSnapshot`), whatever the host
        // ran meanwhile.
        srv.now_ms = frozen_ms;
    }
    let killed = srv.script.as_ref().is_some_and(|s| s.killed);
    if killed {
        srv.log(LogLevel::Warning, "Lua script killed by user with SCRIPT KILL.".into());
    }
    killed
}

/// `luaEngineLoadHook`: a library's top level past its time.
fn load_hook(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let Some((clock, deadline)) = LOAD_DEADLINE.with(std::cell::Cell::get) else { return Ok(0) };
    if clock() > deadline {
        let f = state.hook.hook_func;
        set_hook(state, f, 0);
        return Err(raise(state, b"FUNCTION LOAD timeout"));
    }
    Ok(0)
}

// Script flags (`SCRIPT_FLAG_*`), as shebangs and `register_function` spell them.
pub const FLAG_NO_WRITES: u32 = 1 << 0;
pub const FLAG_ALLOW_OOM: u32 = 1 << 1;
pub const FLAG_ALLOW_STALE: u32 = 1 << 2;
pub const FLAG_NO_CLUSTER: u32 = 1 << 3;
pub const FLAG_ALLOW_CROSS_SLOT: u32 = 1 << 4;
/// `SCRIPT_FLAG_EVAL_COMPAT_MODE`: an EVAL script without a shebang.
pub const FLAG_EVAL_COMPAT_MODE: u32 = 1 << 5;

pub const SCRIPT_FLAGS: &[(u32, &str)] = &[
    (FLAG_NO_WRITES, "no-writes"),
    (FLAG_ALLOW_OOM, "allow-oom"),
    (FLAG_ALLOW_STALE, "allow-stale"),
    (FLAG_NO_CLUSTER, "no-cluster"),
    (FLAG_ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

/// Lua code run at VM creation: the error handler of `scriptingInit` (which also skips our own
/// helper frames), the functions' library environment, and the globals' error metatable (`luaSetErrorMetatable`).
/// The read-only flags are set afterwards, by [`protect_recursively`].
const PRELUDE: &str = r#"
local dbg = debug
debug = nil
local getinfo = dbg.getinfo
function __redis__err__handler(err)
  local l = 2
  local i = getinfo(l, 'nSl')
  while i and (i.what == 'C' or i.source == '=redis_internal') do
    l = l + 1
    i = getinfo(l, 'nSl')
  end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
local xpcall, handler = xpcall, __redis__err__handler
function __redis__run(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
local error, tostring = error, tostring
-- `luaSetErrorMetatable`: reading a missing key is an error.
local function protect(t)
  return setmetatable(t, {
    __index = function(_, k)
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end,
  })
end
-- FUNCTION LOAD's globals (`luaEngineInitEngine`'s LIBRARY_API): while a library's top level
-- runs, only `redis` with register_function, log, the LOG_* levels and the version; after it
-- (the library's functions, run by FCALL), the ordinary globals.
local G, is_loading, rawget, setmetatable = _G, __redis__is_loading, rawget, setmetatable
__redis__is_loading = nil
local r = redis
__redis__lib_api = protect({redis = protect({
  register_function = r.register_function, log = r.log,
  LOG_DEBUG = r.LOG_DEBUG, LOG_VERBOSE = r.LOG_VERBOSE, LOG_NOTICE = r.LOG_NOTICE,
  LOG_WARNING = r.LOG_WARNING, REDIS_VERSION = r.REDIS_VERSION, REDIS_VERSION_NUM = r.REDIS_VERSION_NUM,
})})
local lib_api = __redis__lib_api
__redis__lib_env = setmetatable({}, {
  __index = function(_, k)
    local v
    if is_loading() then v = rawget(lib_api, k) else v = rawget(G, k) end
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
})
protect(_G)
"#;

fn rt_error(state: &mut LuaState, val: Val, text: &str) -> LuaError {
    state.error_object = Some(val);
    LuaError::Runtime(RuntimeError::new(text.to_string()))
}

/// `luaPushErrorBuff`: the `{err="CODE msg"}` table, the code taken from a leading `-CODE`.
fn error_table(state: &mut LuaState, text: &[u8]) -> Val {
    let full = error_text(text);
    let t = single_field_table(state, "err", &full);
    Val::Table(t)
}

/// The `err` field `luaPushErrorBuff` makes of `-CODE msg` (or of `msg`: `ERR msg`).
fn error_text(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut msg = msg;
    while let [rest @ .., b'\r' | b'\n'] = msg {
        msg = rest;
    }
    while let [b'\r' | b'\n', rest @ ..] = msg {
        msg = rest;
    }
    let mut full = code.to_vec();
    full.push(b' ');
    full.extend_from_slice(msg);
    full
}

/// The field that marks an error table whose error was counted when it was replied
/// (`afterErrorReply`): the script's reply does not count it again.
const COUNTED: &str = "ignore_error_stats_update";

/// redis.call's error (raised) or redis.pcall's (returned): one that was already counted.
fn counted_error(state: &mut LuaState, text: &[u8], raise_error: bool) -> rilua::LuaResult<u32> {
    let t = error_table(state, text);
    if let Val::Table(r) = t {
        set_field(state, r, COUNTED, Val::Bool(true));
    }
    if raise_error {
        return Err(rt_error(state, t, &String::from_utf8_lossy(text)));
    }
    state.push(t);
    Ok(1)
}

fn new_table(state: &mut LuaState) -> rilua::vm::gc::arena::GcRef<rilua::vm::table::Table> {
    state.gc.alloc_table(rilua::vm::table::Table::new())
}

fn set_field(state: &mut LuaState, t: rilua::vm::gc::arena::GcRef<rilua::vm::table::Table>, key: &str, val: Val) {
    let k = Val::Str(state.gc.intern_string(key.as_bytes()));
    let _ = Table::from_gc_ref(t).raw_set(state, k, val);
}

fn single_field_table(state: &mut LuaState, key: &str, value: &[u8]) -> rilua::vm::gc::arena::GcRef<rilua::vm::table::Table> {
    let t = new_table(state);
    let v = Val::Str(state.gc.intern_string(value));
    set_field(state, t, key, v);
    t
}

/// Raises `{err=…}` (redis.call's way of failing).
fn raise(state: &mut LuaState, text: &[u8]) -> LuaError {
    let t = error_table(state, text);
    rt_error(state, t, &String::from_utf8_lossy(text))
}

/// `scriptIsRunning`'s check of the `redis.*` helpers that need a running script: the error
/// `redis.<name> can only be called inside a script invocation` when none runs.
fn in_script(state: &mut LuaState, name: &str) -> Result<(), LuaError> {
    if RUN.with(|r| r.borrow().is_none()) {
        return Err(raise(state, format!("redis.{name} can only be called inside a script invocation").as_bytes()));
    }
    Ok(())
}

fn args(state: &LuaState) -> Vec<Val> {
    (state.base..state.top).map(|i| state.stack_get(i)).collect()
}

fn bytes_of(state: &LuaState, v: Val) -> Option<Vec<u8>> {
    match v {
        Val::Str(r) => state.gc.string_arena.get(r).map(|s| s.data().to_vec()),
        Val::Num(n) => Some(lua_number_string(n).into_bytes()),
        _ => None,
    }
}

/// Lua 5.1's `tostring` of a number (`LUA_NUMBER_FMT`, `%.14g`).
pub fn lua_number_string(n: f64) -> String {
    crate::util::fmt_g(n, 14)
}

fn push_str(state: &mut LuaState, b: &[u8]) {
    let v = Val::Str(state.gc.intern_string(b));
    state.push(v);
}

/// `rand.c`: Redis's copy of `lrand48` (a 48-bit linear congruential generator, `x = a·x + c mod
/// 2^48`, whose top 31 bits are drawn), so that `math.random` gives Redis's numbers on every
/// platform. One state per server, never reseeded between scripts in 7.0 (6.x reseeded it with
/// 0 before each script): the numbers go on from one script to the next, and
/// `math.randomseed(n)` in a script moves every later script's numbers too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rand48(u64);

impl Default for Rand48 {
    /// `X0`, `X1`, `X2`: the state at process start.
    fn default() -> Rand48 {
        Rand48(0x1234_ABCD_330E)
    }
}

impl Rand48 {
    const A: u64 = 0x5_DEEC_E66D;
    const C: u64 = 0xB;
    const MASK: u64 = (1 << 48) - 1;
    /// `redisSrand48`: the seed's 32 bits above `X0`.
    pub fn seed(seed: i32) -> Rand48 {
        Rand48((u64::from(u32::from_le_bytes(seed.to_le_bytes())) << 16) | 0x330E)
    }
    /// `redisLrand48`: 0 ..= 2^31 - 1.
    pub fn lrand48(&mut self) -> u32 {
        self.0 = (self.0.wrapping_mul(Self::A).wrapping_add(Self::C)) & Self::MASK;
        u32::try_from(self.0 >> 17).unwrap_or(0)
    }
}

/// C's `(int)` of a `lua_Integer` (`luaL_checkint`): the low 32 bits.
fn c_int(n: i64) -> i32 {
    let b = n.to_le_bytes();
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The server's generator while a script runs (a library's top level, run by FUNCTION LOAD,
/// draws from a throwaway one).
fn with_rand<T>(f: impl FnOnce(&mut Rand48) -> T) -> T {
    RUN.with(|r| match r.borrow_mut().as_mut() {
        Some(run) => f(&mut run.srv.scripting.rand48),
        None => f(&mut Rand48::default()),
    })
}

/// `redis_math_random` (script_lua.c).
fn math_random(state: &mut LuaState) -> rilua::LuaResult<u32> {
    const MAX: u32 = 0x7FFF_FFFF; // REDIS_LRAND48_MAX (INT32_MAX)
    let r = f64::from(with_rand(Rand48::lrand48) % MAX) / f64::from(MAX);
    let n = match state.top - state.base {
        0 => r,
        1 => {
            let u = c_int(state.check_integer(1)?);
            if u < 1 {
                return Err(state.arg_error(1, "interval is empty"));
            }
            (r * f64::from(u)).floor() + 1.0
        }
        2 => {
            let l = c_int(state.check_integer(1)?);
            let u = c_int(state.check_integer(2)?);
            if l > u {
                return Err(state.arg_error(2, "interval is empty"));
            }
            (r * (f64::from(u) - f64::from(l) + 1.0)).floor() + f64::from(l)
        }
        _ => return Err(LuaError::Runtime(RuntimeError::new("wrong number of arguments".to_string()))),
    };
    state.top = state.base;
    state.push(Val::Num(n));
    Ok(1)
}

/// `redis_math_randomseed`.
fn math_randomseed(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let seed = c_int(state.check_integer(1)?);
    with_rand(|r| *r = Rand48::seed(seed));
    state.top = state.base;
    Ok(0)
}

/// `redis.call` / `redis.pcall` (`luaRedisGenericCommand`).
fn redis_call(state: &mut LuaState) -> rilua::LuaResult<u32> {
    generic_call(state, true)
}
fn redis_pcall(state: &mut LuaState) -> rilua::LuaResult<u32> {
    generic_call(state, false)
}

fn generic_call(state: &mut LuaState, raise_error: bool) -> rilua::LuaResult<u32> {
    let vals = args(state);
    let fail = |state: &mut LuaState, text: &[u8]| -> rilua::LuaResult<u32> {
        if raise_error {
            Err(raise(state, text))
        } else {
            let t = error_table(state, text);
            state.push(t);
            Ok(1)
        }
    };
    let Some(mut run) = RUN.with(|r| r.borrow_mut().take()) else {
        return fail(state, b"redis.call/pcall can only be called inside a script invocation");
    };
    let result = (|| {
        let argv = lua_argv(state, &vals)?;
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let cmd = match lookup_command(&refs) {
            Some(c) => c,
            None => return Err(b"Unknown Redis command called from script".to_vec()),
        };
        // scriptCall's `error:` counts the refused command in `rejected_calls`.
        let refuse = |run: &mut ScriptRun, text: &[u8]| -> Result<Reply, Vec<u8>> {
            crate::cmd::server::stats::rejected(&mut run.srv, cmd);
            Err(text.to_vec())
        };
        if !cmd.arity_ok(refs.len()) {
            return refuse(&mut run, b"Wrong number of args calling Redis command from script");
        }
        if cmd.flags & NOSCRIPT != 0 {
            return refuse(&mut run, b"This Redis command is not allowed from script");
        }
        // scriptVerifyACL (before the read-only and OOM checks): the script runs as its caller's user.
        let parent = crate::cmd::lookup(refs[0]).filter(|p| !std::ptr::eq(*p, cmd));
        if let Err(denied) = crate::cmd::server::acl::check(&run.srv, &run.client, cmd, parent, &refs) {
            let ScriptRun { srv, client, .. } = &mut run;
            crate::cmd::server::acl::log_denial(srv, client, cmd, parent, &refs, denied, crate::acl::LogContext::Lua);
            return refuse(&mut run, crate::cmd::server::acl::script_error(denied.0).as_bytes());
        }
        if run.read_only && cmd.flags & (WRITE | MAY_REPLICATE) != 0 {
            return refuse(&mut run, b"Write commands are not allowed from read-only scripts.");
        }
        if !run.allow_oom && !run.write_dirty && run.oom_at_start && cmd.flags & crate::cmd::DENYOOM != 0 {
            // `shared.oomerr`, its `-OOM` code kept (errorstats count OOM, not ERR).
            return refuse(&mut run, b"-OOM command not allowed when used memory > 'maxmemory'.");
        }
        if cmd.flags & WRITE != 0 {
            run.write_dirty = true;
        }
        let ScriptRun { srv, client, .. } = &mut run;
        let reply = match call(srv, client, cmd, &refs) {
            Outcome::Reply(r) => r,
            // The script client cannot block (`CLIENT_DENY_BLOCKING`, in_exec): never reached.
            Outcome::Blocked => Reply::NilArray,
        };
        client.blocked = None;
        Ok(reply)
    })();
    // `scriptCall`'s refusals are error replies of the script's client (`afterErrorReply`);
    // a command's own error was counted by its call.
    if let Err(text) = &result {
        run.srv.count_error_reply(&String::from_utf8_lossy(&error_text(text)));
    }
    let resp = run.client.protocol();
    RUN.with(|r| *r.borrow_mut() = Some(run));
    match result {
        Err(text) => counted_error(state, &text, raise_error),
        Ok(reply) => {
            // The reply as the script client's protocol sees it (RESP2 flattens maps, …).
            let bytes = reply.to_resp_proto(resp);
            let parsed = crate::resp::parse_reply(&bytes).ok().flatten().map(|(r, _)| r).unwrap_or(Reply::Nil);
            if let Reply::Error(e) = &parsed {
                return counted_error(state, format!("-{e}").as_bytes(), raise_error);
            }
            let v = reply_to_lua(state, &parsed, resp);
            state.push(v);
            Ok(1)
        }
    }
}

/// `luaArgsToRedisArgv`: the arguments of `redis.call` & co. as a command's argv.
fn lua_argv(state: &LuaState, vals: &[Val]) -> Result<Vec<Vec<u8>>, Vec<u8>> {
    if vals.is_empty() {
        return Err(b"Please specify at least one argument for this redis lib call".to_vec());
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(vals.len());
    for v in vals {
        match *v {
            // Not lua_tolstring: Lua's %.14g would lose precision.
            Val::Num(n) => argv.push(fmt_g17(n).into_bytes()),
            Val::Str(_) => argv.push(bytes_of(state, *v).unwrap_or_default()),
            _ => return Err(b"Lua redis lib command arguments must be strings or integers".to_vec()),
        }
    }
    Ok(argv)
}

/// `redis.acl_check_cmd` (`luaRedisAclCheckCmdPermissionsCommand`): whether the caller's user may
/// run the command (with these arguments: keys and channels too).
fn redis_acl_check_cmd(state: &mut LuaState) -> rilua::LuaResult<u32> {
    in_script(state, "acl_check_cmd")?;
    let vals = args(state);
    let argv = match lua_argv(state, &vals) {
        Ok(a) => a,
        Err(text) => return Err(raise(state, &text)),
    };
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let Some(cmd) = lookup_command(&refs) else {
        return Err(raise(state, b"Invalid command passed to redis.acl_check_cmd()"));
    };
    let parent = crate::cmd::lookup(refs[0]).filter(|p| !std::ptr::eq(*p, cmd));
    let allowed = RUN
        .with(|r| r.borrow().as_ref().is_none_or(|run| crate::cmd::server::acl::check(&run.srv, &run.client, cmd, parent, &refs).is_ok()));
    state.top = state.base;
    state.push(Val::Bool(allowed));
    Ok(1)
}

/// `redisProtocolToLuaType`.
fn reply_to_lua(state: &mut LuaState, r: &Reply, resp: u8) -> Val {
    match r {
        Reply::Int(n) => Val::Num(*n as f64),
        Reply::Bulk(b) => Val::Str(state.gc.intern_string(b)),
        // `$-1` / `*-1` are false; RESP3's `_` (the only null a RESP3 script client sees) is nil.
        Reply::Nil | Reply::NilArray if resp >= RESP3 => Val::Nil,
        Reply::Nil | Reply::NilArray => Val::Bool(false),
        Reply::Status(s) => Val::Table(single_field_table(state, "ok", s.as_bytes())),
        Reply::Error(e) => error_table(state, format!("-{e}").as_bytes()),
        Reply::Array(items) | Reply::Push(items) => {
            let t = new_table(state);
            for (i, item) in items.iter().enumerate() {
                let v = reply_to_lua(state, item, resp);
                let _ = Table::from_gc_ref(t).raw_set(state, Val::Num((i + 1) as f64), v);
            }
            Val::Table(t)
        }
        Reply::Map(pairs) | Reply::Attribute(pairs, _) => {
            let inner = new_table(state);
            for (k, v) in pairs {
                let k = reply_to_lua(state, k, resp);
                let v = reply_to_lua(state, v, resp);
                let _ = Table::from_gc_ref(inner).raw_set(state, k, v);
            }
            let t = new_table(state);
            set_field(state, t, "map", Val::Table(inner));
            Val::Table(t)
        }
        Reply::Set(items) => {
            let inner = new_table(state);
            for k in items {
                let k = reply_to_lua(state, k, resp);
                let _ = Table::from_gc_ref(inner).raw_set(state, k, Val::Bool(true));
            }
            let t = new_table(state);
            set_field(state, t, "set", Val::Table(inner));
            Val::Table(t)
        }
        Reply::Double(d) | Reply::HumanDouble(d) => {
            let t = new_table(state);
            set_field(state, t, "double", Val::Num(*d));
            Val::Table(t)
        }
        Reply::BigNumber(s) => Val::Table(single_field_table(state, "big_number", s.as_bytes())),
        Reply::Verbatim(fmt, text) => {
            let inner = new_table(state);
            let f = Val::Str(state.gc.intern_string(fmt.as_bytes()));
            set_field(state, inner, "format", f);
            let s = Val::Str(state.gc.intern_string(text));
            set_field(state, inner, "string", s);
            let t = new_table(state);
            set_field(state, t, "verbatim_string", Val::Table(inner));
            Val::Table(t)
        }
        Reply::Bool(b) => Val::Bool(*b),
        Reply::WithPushes(_, inner) => reply_to_lua(state, inner, resp),
        // Several frames (a message a subscriber published to itself, then the count): the
        // command's own reply is the last.
        Reply::Many(replies) => match replies.last() {
            Some(last) => reply_to_lua(state, last, resp),
            None => Val::Nil,
        },
    }
}

/// `luaReplyToRedisReply`: the script's return value as the caller's reply. `script_resp` is
/// the script client's protocol (booleans depend on it).
/// `errors` collects the error replies made here that count (`afterErrorReply`): not those
/// of redis.call, counted when their command replied.
pub fn lua_to_reply(state: &LuaState, v: Val, script_resp: u8, depth: usize, errors: &mut Vec<String>) -> Reply {
    let str_of = |v: Val| match v {
        Val::Str(r) => state.gc.string_arena.get(r).map(|s| s.data().to_vec()),
        _ => None,
    };
    match v {
        Val::Str(_) => Reply::Bulk(str_of(v).unwrap_or_default()),
        Val::Bool(b) if script_resp == RESP2 => {
            if b {
                Reply::Int(1)
            } else {
                Reply::Nil
            }
        }
        Val::Bool(b) => Reply::Bool(b),
        Val::Num(n) => Reply::Int(n as i64),
        Val::Table(t) if depth < 1000 => {
            let Some(table) = state.gc.tables.get(t) else { return Reply::Nil };
            let strings = &state.gc.string_arena;
            let field_of = |t, name: &str| -> Val {
                let Some(table) = state.gc.tables.get(t) else { return Val::Nil };
                // Keys are interned strings: find the one with these bytes.
                let mut key = Val::Nil;
                loop {
                    match table.next(key, strings) {
                        Ok(Some((k, v))) => {
                            if let Val::Str(r) = k
                                && strings.get(r).is_some_and(|s| s.data() == name.as_bytes())
                            {
                                return v;
                            }
                            key = k;
                        }
                        _ => return Val::Nil,
                    }
                }
            };
            let field = |name: &str| field_of(t, name);
            if let Val::Str(_) = field("err") {
                let msg = str_of(field("err")).unwrap_or_default();
                let text = String::from_utf8_lossy(&sanitize(&msg)).into_owned();
                if field(COUNTED) != Val::Bool(true) {
                    errors.push(text.clone());
                }
                return Reply::error(text);
            }
            if let Val::Str(_) = field("ok") {
                let msg = str_of(field("ok")).unwrap_or_default();
                return Reply::Status(String::from_utf8_lossy(&sanitize(&msg)).into_owned().into());
            }
            if let Val::Num(d) = field("double") {
                return Reply::Double(d);
            }
            if let Val::Str(_) = field("big_number") {
                let s = str_of(field("big_number")).unwrap_or_default();
                return Reply::BigNumber(String::from_utf8_lossy(&sanitize(&s)).into_owned());
            }
            // addReplyVerbatim: a format of three bytes (padded with spaces, cut at a NUL, as
            // C reads it) and the text; a bulk string in RESP2.
            if let Val::Table(v) = field("verbatim_string")
                && let (Some(format), Some(text)) = (str_of(field_of(v, "format")), str_of(field_of(v, "string")))
            {
                let format: Vec<u8> = format.into_iter().take_while(|&c| c != 0).take(3).collect();
                return Reply::Verbatim(String::from_utf8_lossy(&format).into_owned().into(), text);
            }
            if let Val::Table(m) = field("map") {
                let mut pairs = Vec::new();
                if let Some(mt) = state.gc.tables.get(m) {
                    let mut key = Val::Nil;
                    while let Ok(Some((k, v))) = mt.next(key, strings) {
                        pairs.push((
                            lua_to_reply(state, k, script_resp, depth + 1, errors),
                            lua_to_reply(state, v, script_resp, depth + 1, errors),
                        ));
                        key = k;
                    }
                }
                return Reply::Map(pairs);
            }
            if let Val::Table(s) = field("set") {
                let mut items = Vec::new();
                if let Some(st) = state.gc.tables.get(s) {
                    let mut key = Val::Nil;
                    while let Ok(Some((k, _))) = st.next(key, strings) {
                        items.push(lua_to_reply(state, k, script_resp, depth + 1, errors));
                        key = k;
                    }
                }
                return Reply::Set(items);
            }
            let mut items = Vec::new();
            let mut j = 1i64;
            loop {
                let v = table.get_int(j);
                if matches!(v, Val::Nil) {
                    break;
                }
                items.push(lua_to_reply(state, v, script_resp, depth + 1, errors));
                j += 1;
            }
            Reply::Array(items)
        }
        _ => Reply::Nil,
    }
}

/// `\r` and `\n` become spaces in status and error replies.
fn sanitize(b: &[u8]) -> Vec<u8> {
    b.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect()
}

fn redis_sha1hex(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    if a.len() != 1 {
        return Err(raise(state, b"wrong number of arguments"));
    }
    let s = bytes_of(state, a[0]).unwrap_or_default();
    push_str(state, super::sha1hex(&s).as_bytes());
    Ok(1)
}

fn redis_error_reply(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    let t = match a.as_slice() {
        [v @ Val::Str(_)] => {
            let s = bytes_of(state, *v).unwrap_or_default();
            let buf = if s.first() == Some(&b'-') { s } else { [b"-".as_slice(), &s].concat() };
            error_table(state, &buf)
        }
        _ => error_table(state, b"wrong number or type of arguments"),
    };
    state.push(t);
    Ok(1)
}

fn redis_status_reply(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    let t = match a.as_slice() {
        [v @ Val::Str(_)] => {
            let s = bytes_of(state, *v).unwrap_or_default();
            Val::Table(single_field_table(state, "ok", &s))
        }
        _ => error_table(state, b"wrong number or type of arguments"),
    };
    state.push(t);
    Ok(1)
}

fn redis_log(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    if a.len() < 2 {
        return Err(raise(state, b"redis.log() requires two arguments or more."));
    }
    let Val::Num(level) = a[0] else {
        return Err(raise(state, b"First argument must be a number (log level)."));
    };
    let level = match level as i64 {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        3 => LogLevel::Warning,
        _ => return Err(raise(state, b"Invalid debug level.")),
    };
    let text: Vec<Vec<u8>> = a[1..].iter().filter_map(|v| bytes_of(state, *v)).collect();
    let line = String::from_utf8_lossy(&text.join(&b' ')).into_owned();
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut() {
            run.srv.log(level, line);
        }
    });
    Ok(0)
}

fn redis_setresp(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    in_script(state, "setresp")?;
    if a.len() != 1 {
        return Err(raise(state, b"redis.setresp() requires one argument."));
    }
    let resp = match a[0] {
        Val::Num(n) => n as i64,
        _ => 0,
    };
    if resp != 2 && resp != 3 {
        return Err(raise(state, b"RESP version must be 2 or 3."));
    }
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut() {
            run.client.resp = if resp == 3 { RESP3 } else { RESP2 };
        }
    });
    Ok(0)
}

/// `redis.set_repl(flags)`: where the script's next commands are propagated (`REPL_AOF` = 1,
/// `REPL_REPLICA` = 2). The flags are `lua_tonumber` of the argument cast to a C int (a string
/// of digits counts, anything else is 0, i.e. `REPL_NONE`).
fn redis_set_repl(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let a = args(state);
    in_script(state, "set_repl")?;
    if a.len() != 1 {
        return Err(raise(state, b"redis.set_repl() requires two arguments."));
    }
    let flags = state.check_number(1).unwrap_or(0.0) as i32;
    if flags & !3 != 0 {
        return Err(raise(state, b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."));
    }
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut() {
            run.srv.prop.script_no_aof = flags & 1 == 0;
        }
    });
    Ok(0)
}

fn redis_replicate_commands(state: &mut LuaState) -> rilua::LuaResult<u32> {
    state.push(Val::Bool(true));
    Ok(1)
}

/// Redis's `pcall` (`luaRedisPcall`): Lua's, then an error that is a table (`redis.call`'s
/// `{err=…}`) is replaced by its `err` field when that is a string or a number. A C function,
/// as in Redis, so that `error(msg, 2)` under it names the script's line, not a helper's.
fn redis_lua_pcall(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let n = rilua::stdlib::base::lua_pcall(state)?;
    let at = state.top.saturating_sub(n as usize);
    if n >= 2
        && state.stack_get(at) == Val::Bool(false)
        && let Val::Table(t) = state.stack_get(at + 1)
    {
        let key = state.gc.intern_string(b"err");
        let m = state.gc.tables.get(t).map_or(Val::Nil, |t| t.get_str(key, &state.gc.string_arena));
        if matches!(m, Val::Str(_) | Val::Num(_)) {
            state.stack_set(at + 1, m);
        }
    }
    Ok(n)
}

/// `redis.breakpoint()` outside a debugging session (`luaRedisBreakpointCommand`): false.
fn redis_breakpoint(state: &mut LuaState) -> rilua::LuaResult<u32> {
    state.push(Val::Bool(false));
    Ok(1)
}

fn redis_noop(_state: &mut LuaState) -> rilua::LuaResult<u32> {
    Ok(0)
}

/// `redis.register_function(name, callback)` or `({function_name=…, callback=…, flags=…,
/// description=…})`: records the function (FUNCTION LOAD) and keeps its callback in the
/// registry table `__redis__functions` (FCALL).
fn redis_register_function(state: &mut LuaState) -> rilua::LuaResult<u32> {
    if LOADING.with(|l| l.borrow().is_none()) {
        return Err(raise(state, b"redis.register_function can only be called on FUNCTION LOAD command"));
    }
    let a = args(state);
    let (name, desc, callback, flags) = match a.as_slice() {
        [Val::Table(t)] => {
            let mut name = None;
            let mut desc = None;
            let mut cb = None;
            let mut flags = 0;
            let mut key = Val::Nil;
            loop {
                let next = state.gc.tables.get(*t).and_then(|tb| tb.next(key, &state.gc.string_arena).ok().flatten());
                let Some((k, v)) = next else { break };
                key = k;
                let Some(kname) = (match k {
                    Val::Str(_) | Val::Num(_) => bytes_of(state, k),
                    _ => None,
                }) else {
                    return Err(raise(state, b"named argument key given to redis.register_function is not a string"));
                };
                match kname.to_ascii_lowercase().as_slice() {
                    b"function_name" => match v {
                        Val::Str(_) | Val::Num(_) => name = bytes_of(state, v),
                        _ => return Err(raise(state, b"function_name argument given to redis.register_function must be a string")),
                    },
                    b"description" => match v {
                        Val::Str(_) | Val::Num(_) => desc = bytes_of(state, v),
                        _ => return Err(raise(state, b"description argument given to redis.register_function must be a string")),
                    },
                    b"callback" => match v {
                        Val::Function(_) => cb = Some(v),
                        _ => return Err(raise(state, b"callback argument given to redis.register_function must be a function")),
                    },
                    b"flags" => {
                        let Val::Table(ft) = v else {
                            return Err(raise(
                                state,
                                b"flags argument to redis.register_function must be a table representing function flags",
                            ));
                        };
                        let mut j = 1i64;
                        loop {
                            let fv = state.gc.tables.get(ft).map(|tb| tb.get_int(j)).unwrap_or(Val::Nil);
                            if matches!(fv, Val::Nil) {
                                break;
                            }
                            let Some(fname) = (match fv {
                                Val::Str(_) => bytes_of(state, fv),
                                _ => None,
                            }) else {
                                return Err(raise(state, b"unknown flag given"));
                            };
                            match SCRIPT_FLAGS.iter().find(|(_, n)| n.as_bytes() == fname.as_slice()) {
                                Some((f, _)) => flags |= f,
                                None => return Err(raise(state, b"unknown flag given")),
                            }
                            j += 1;
                        }
                    }
                    _ => return Err(raise(state, b"unknown argument given to redis.register_function")),
                }
            }
            let Some(name) = name else {
                return Err(raise(state, b"redis.register_function must get a function name argument"));
            };
            let Some(cb) = cb else {
                return Err(raise(state, b"redis.register_function must get a callback argument"));
            };
            (name, desc, cb, flags)
        }
        [_] => {
            return Err(raise(
                state,
                b"calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            ));
        }
        [n, f] => {
            let Some(name) = (match n {
                Val::Str(_) | Val::Num(_) => bytes_of(state, *n),
                _ => None,
            }) else {
                return Err(raise(state, b"first argument to redis.register_function must be a string"));
            };
            if !matches!(f, Val::Function(_)) {
                return Err(raise(state, b"second argument to redis.register_function must be a function"));
            }
            (name, None, *f, 0)
        }
        _ => return Err(raise(state, b"wrong number of arguments to redis.register_function")),
    };
    if let Err(e) = super::function::check_function_name(&name) {
        return Err(raise(state, e.as_bytes()));
    }
    let dup = LOADING.with(|l| l.borrow().as_ref().is_some_and(|v| v.iter().any(|r| r.name == name)));
    if dup {
        return Err(raise(state, b"Function already exists in the library"));
    }
    let registry = state.registry;
    let key = Val::Str(state.gc.intern_string(b"__redis__functions"));
    let fns = match Table::from_gc_ref(registry).raw_get(state, key) {
        Ok(Val::Table(t)) => t,
        _ => {
            let t = new_table(state);
            let _ = Table::from_gc_ref(registry).raw_set(state, key, Val::Table(t));
            t
        }
    };
    let k = Val::Str(state.gc.intern_string(&name));
    let _ = Table::from_gc_ref(fns).raw_set(state, k, callback);
    LOADING.with(|l| {
        if let Some(v) = l.borrow_mut().as_mut() {
            v.push(Registered { name, description: desc, flags });
        }
    });
    Ok(0)
}

/// The functions' VM (`luaEngineInitEngine`): see [`new_vm_of`].
pub fn new_vm() -> Result<Lua, String> {
    new_vm_of(false)
}

/// The VM of an EVAL script (`scriptingInit`): see [`new_vm_of`].
pub fn new_eval_vm() -> Result<Lua, String> {
    new_vm_of(true)
}

/// A new VM with Redis's globals, all of them read-only. EVAL's `redis` has what
/// `scriptingInit` adds (`breakpoint`, `debug`, `replicate_commands`); the functions' has not,
/// and neither has `register_function`, which only a library's top level sees.
fn new_vm_of(eval: bool) -> Result<Lua, String> {
    let mut lua = Lua::new_with(StdLib::BASE | StdLib::COROUTINE | StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::DEBUG)
        .map_err(|e| e.to_string())?;
    // The deny list, and what 7.0.15 does not have either (observed: `getfenv`, `setfenv` and
    // `newproxy` are "nonexistent global variable"s there).
    for name in ["print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy"] {
        lua.set_global_val(name, Val::Nil).map_err(|e| e.to_string())?;
    }
    let redis = lua.create_table();
    let fns: &[(&str, rilua::RustFn)] = &[
        ("call", redis_call),
        ("pcall", redis_pcall),
        ("sha1hex", redis_sha1hex),
        ("error_reply", redis_error_reply),
        ("status_reply", redis_status_reply),
        ("log", redis_log),
        ("setresp", redis_setresp),
        ("set_repl", redis_set_repl),
        ("register_function", redis_register_function),
        ("acl_check_cmd", redis_acl_check_cmd),
    ];
    for (name, f) in fns {
        lua.table_set_function(&redis, name, *f).map_err(|e| e.to_string())?;
    }
    if eval {
        let fns: &[(&str, rilua::RustFn)] =
            &[("replicate_commands", redis_replicate_commands), ("breakpoint", redis_breakpoint), ("debug", redis_noop)];
        for (name, f) in fns {
            lua.table_set_function(&redis, name, *f).map_err(|e| e.to_string())?;
        }
    }
    let nums: &[(&str, f64)] = &[
        ("LOG_DEBUG", 0.0),
        ("LOG_VERBOSE", 1.0),
        ("LOG_NOTICE", 2.0),
        ("LOG_WARNING", 3.0),
        ("REPL_NONE", 0.0),
        ("REPL_SLAVE", 2.0),
        ("REPL_REPLICA", 2.0),
        ("REPL_AOF", 1.0),
        ("REPL_ALL", 3.0),
        ("REDIS_VERSION_NUM", f64::from(0x0007_000f)),
    ];
    for (name, n) in nums {
        let k = lua.create_string(name.as_bytes());
        lua.table_raw_set(&redis, k, Val::Num(*n)).map_err(|e| e.to_string())?;
    }
    let k = lua.create_string(b"REDIS_VERSION");
    let v = lua.create_string(b"7.0.15");
    lua.table_raw_set(&redis, k, v).map_err(|e| e.to_string())?;
    lua.set_global("redis", redis).map_err(|e| e.to_string())?;
    // Redis's own math.random / math.randomseed (`redisLrand48`, one state per server).
    if let Val::Table(math) = get_global_raw(&mut lua, "math") {
        let math = Table::from_gc_ref(math);
        lua.table_set_function(&math, "random", math_random).map_err(|e| e.to_string())?;
        lua.table_set_function(&math, "randomseed", math_randomseed).map_err(|e| e.to_string())?;
    }
    // `cjson`, `struct`, `cmsgpack`, `bit` (`luaLoadLibraries`).
    super::libs::open(&mut lua)?;
    lua.register_function("__redis__is_loading", is_loading).map_err(|e| e.to_string())?;
    lua.register_function("pcall", redis_lua_pcall).map_err(|e| e.to_string())?;
    let prelude = lua.load_bytes(PRELUDE.as_bytes(), INTERNAL_CHUNK).map_err(|e| e.to_string())?;
    lua.call_function(&prelude, &[]).map_err(|e| e.to_string())?;
    // `register_function` is the library API's (the prelude took it for that table).
    if let Val::Table(redis) = get_global_raw(&mut lua, "redis") {
        let state = lua.state_mut();
        let k = Val::Str(state.gc.intern_string(b"register_function"));
        let _ = Table::from_gc_ref(redis).raw_set(state, k, Val::Nil);
    }
    // The library environment and its API are kept in the registry, out of the script's sight.
    let env = get_global_raw(&mut lua, LIB_ENV);
    let api = get_global_raw(&mut lua, "__redis__lib_api");
    set_global_raw(&mut lua, LIB_ENV, Val::Nil);
    set_global_raw(&mut lua, "__redis__lib_api", Val::Nil);
    let state = lua.state_mut();
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(LIB_ENV.as_bytes()));
    let _ = Table::from_gc_ref(registry).raw_set(state, k, env);
    // Lock everything (`luaSetTableProtectionRecursively` of the globals, of LIBRARY_API, and
    // the library environment and its metatable, as `luaEngineInitEngine` does).
    let global = state.global;
    let roots = [Val::Table(global), api, env];
    for root in roots {
        if let Val::Table(t) = root {
            protect_recursively(state, t);
        }
    }
    // `luaSetTableProtectionForBasicTypes`, the fix of CVE-2025-46818 that the reference
    // server carries (Debian's 7.0.15-1~deb12u6 and later; observed: `getmetatable('').x = 1`
    // fails there): the metatables of the basic types, of which only the strings have one.
    for mt in state.gc.type_metatables.into_iter().flatten() {
        protect_recursively(state, mt);
    }
    Ok(lua)
}

/// `luaSetTableProtectionRecursively`: sets the read-only flag of a table, of every table among
/// its values, and of their metatables, each once (`_G._G` is `_G`). An explicit stack rather
/// than Redis's recursion: nothing here depends on the order.
fn protect_recursively(state: &mut LuaState, root: rilua::vm::gc::arena::GcRef<rilua::vm::table::Table>) {
    let mut todo = vec![root];
    while let Some(t) = todo.pop() {
        let Some(table) = state.gc.tables.get_mut(t) else { continue };
        if table.is_readonly() {
            continue;
        }
        table.set_readonly(true);
        let values = table.array_slice().iter().copied().chain(table.hash_entries().into_iter().map(|(_, v)| v));
        todo.extend(values.filter_map(|v| if let Val::Table(r) = v { Some(r) } else { None }));
        todo.extend(table.metatable());
    }
}

/// Sets a global past the read-only flag (KEYS, ARGV: `luaCreateArray` with the globals'
/// protection lifted for the moment, as `luaCallFunction` does).
pub fn set_global_raw(lua: &mut Lua, name: &str, v: Val) {
    let state = lua.state_mut();
    let g = state.global;
    let k = Val::Str(state.gc.intern_string(name.as_bytes()));
    let _ = Table::from_gc_ref(g).raw_set(state, k, v);
}

fn registry_get(lua: &mut Lua, name: &str) -> Val {
    let state = lua.state_mut();
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(name.as_bytes()));
    Table::from_gc_ref(registry).raw_get(state, k).unwrap_or(Val::Nil)
}

fn registry_set(lua: &mut Lua, name: &str, v: Val) {
    let state = lua.state_mut();
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(name.as_bytes()));
    let _ = Table::from_gc_ref(registry).raw_set(state, k, v);
}

fn get_global_raw(lua: &mut Lua, name: &str) -> Val {
    let state = lua.state_mut();
    let g = state.global;
    let k = Val::Str(state.gc.intern_string(name.as_bytes()));
    Table::from_gc_ref(g).raw_get(state, k).unwrap_or(Val::Nil)
}

/// `luaCreateArray`: a Lua array of strings.
pub fn string_array(lua: &mut Lua, items: &[&[u8]]) -> Val {
    let t = lua.create_table();
    for (i, item) in items.iter().enumerate() {
        let v = lua.create_string(item);
        let _ = lua.table_raw_set(&t, Val::Num((i + 1) as f64), v);
    }
    Val::Table(t.gc_ref())
}

/// A compile error's message (`user_script:1: unexpected symbol near '+'`).
pub fn compile(lua: &mut Lua, body: &[u8], chunk: &str) -> Result<Function, String> {
    lua.load_bytes(body, chunk).map_err(|e| match e {
        LuaError::Syntax(s) => s.to_string(),
        other => other.to_string(),
    })
}

/// How the script ended: its return value as a reply, or `luaCallFunction`'s error reply.
pub fn run_function(
    lua: &mut Lua,
    srv: &mut Server,
    client: Client,
    f: Val,
    (keys, args): (Val, Val),
    funcname: &str,
    flags: (bool, bool, bool),
) -> Reply {
    let (read_only, allow_oom, oom_at_start) = flags;
    // `luaCallFunction`: the hook, when scripts may time out.
    let threshold_ms = srv.config.get("busy-reply-threshold").and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    let clock = srv.config.busy_clock();
    if threshold_ms > 0 && clock.is_some() {
        let hook = hook_value(lua, "__redis__hook", script_hook);
        set_hook(lua.state_mut(), hook, HOOK_EVERY);
    }
    if let Some(script) = srv.script.as_mut() {
        script.threshold_ms = threshold_ms;
        script.started_us = clock.map_or(0, |c| c());
    }
    let placeholder = Server::new(crate::config::Config::default(), srv.now_ms);
    let moved = std::mem::replace(srv, placeholder);
    RUN.with(|r| *r.borrow_mut() = Some(ScriptRun { srv: moved, client, read_only, allow_oom, write_dirty: false, oom_at_start }));
    // Our helper is not one of Redis's globals: the script must not see it (`pairs(_G)`). The
    // first run moves it into the registry, where later runs in the same VM (FCALL's) find it.
    let runner = match registry_get(lua, "__redis__run") {
        Val::Nil => {
            let r = get_global_raw(lua, "__redis__run");
            set_global_raw(lua, "__redis__run", Val::Nil);
            registry_set(lua, "__redis__run", r);
            r
        }
        r => r,
    };
    let result = match runner {
        Val::Function(r) => lua.call_function(&Function::from_gc_ref(r), &[f, keys, args]),
        _ => Err(LuaError::Runtime(RuntimeError::new("no runner"))),
    };
    // The functions' VM lives on: the next run sets its own hook (or none).
    let state = lua.state_mut();
    (state.hook.hook_func, state.hook.hook_mask) = (Val::Nil, 0);
    let run = RUN.with(|r| r.borrow_mut().take());
    let script_resp = run.as_ref().map_or(RESP2, |r| r.client.protocol());
    if let Some(run) = run {
        *srv = run.srv;
    }
    srv.prop.script_no_aof = false;
    let mut errors = Vec::new();
    let reply = match result {
        Ok(vals) => {
            let state = lua.state_mut();
            match vals.as_slice() {
                [Val::Bool(true), rest @ ..] => lua_to_reply(state, rest.first().copied().unwrap_or(Val::Nil), script_resp, 0, &mut errors),
                [_, err, ..] => error_reply_of(state, *err, funcname, &mut errors),
                _ => Reply::Nil,
            }
        }
        Err(e) => {
            let text = format!("ERR Error running script {funcname}, {:.100}", e.to_string());
            errors.push(text.clone());
            Reply::error(text)
        }
    };
    for e in &errors {
        srv.count_error_reply(e);
    }
    reply
}

/// The end of `luaCallFunction` on error: `-<err> script: <name>, on <source>:<line>.`
/// Counts it in `errors` unless redis.call's error, counted already.
fn error_reply_of(state: &mut LuaState, err: Val, funcname: &str, errors: &mut Vec<String>) -> Reply {
    let Val::Table(t) = err else {
        let msg = match err {
            Val::Str(_) | Val::Num(_) => bytes_of(state, err).map(|b| String::from_utf8_lossy(&b).into_owned()),
            _ => None,
        };
        let text = format!("ERR Error running script {funcname}, {:.100}\n", msg.unwrap_or_else(|| "execution failure".into()));
        errors.push(text.clone());
        return Reply::error(text);
    };
    let get = |state: &mut LuaState, name: &str| -> Option<Vec<u8>> {
        let k = Val::Str(state.gc.intern_string(name.as_bytes()));
        let v = Table::from_gc_ref(t).raw_get(state, k).ok()?;
        match v {
            Val::Str(_) | Val::Num(_) => bytes_of(state, v),
            _ => None,
        }
    };
    let msg = get(state, "err").unwrap_or_default();
    let mut text = String::from_utf8_lossy(&sanitize(&msg)).into_owned();
    if let (Some(source), Some(line)) = (get(state, "source"), get(state, "line")) {
        text.push_str(&format!(" script: {funcname}, on {}:{}.", String::from_utf8_lossy(&source), String::from_utf8_lossy(&line)));
    }
    let k = Val::Str(state.gc.intern_string(COUNTED.as_bytes()));
    if Table::from_gc_ref(t).raw_get(state, k).ok() != Some(Val::Bool(true)) {
        errors.push(text.clone());
    }
    Reply::error(text)
}

const LIB_ENV: &str = "__redis__lib_env";

/// Whether FUNCTION LOAD is running a library's top level (`REGISTRY_LOAD_CTX_NAME` is set).
fn is_loading(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let loading = LOADING.with(|l| l.borrow().is_some());
    state.top = state.base;
    state.push(Val::Bool(loading));
    Ok(1)
}

/// Gives a library's compiled chunk the library environment: its own globals are an empty,
/// read-only table that sees the load-time API while the chunk runs and the ordinary globals
/// afterwards, which is what Redis does by switching its globals' `__index` around the load.
fn set_library_env(lua: &mut Lua, f: &Function) {
    let state = lua.state_mut();
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(LIB_ENV.as_bytes()));
    let Ok(Val::Table(env)) = Table::from_gc_ref(registry).raw_get(state, k) else { return };
    if let Some(rilua::vm::closure::Closure::Lua(lc)) = state.gc.closures.get_mut(f.gc_ref()) {
        lc.env = env;
    }
}

/// Runs a library's body with `redis.register_function` enabled: the functions it registered
/// (FUNCTION LOAD), or `Error registering functions: …`.
/// With a `clock`, the top level gets 500 ms (FUNCTION LOAD; a restore has no limit).
pub fn load_library(lua: &mut Lua, code: &[u8], clock: Option<crate::load_time::LoadClock>) -> Result<Vec<Registered>, String> {
    let f = compile(lua, code, FUNCTION_CHUNK).map_err(|e| format!("Error compiling function: {e}"))?;
    set_library_env(lua, &f);
    if let Some(clock) = clock {
        LOAD_DEADLINE.with(|d| d.set(Some((clock, clock().saturating_add(LOAD_TIMEOUT_US)))));
        let hook = hook_value(lua, "__redis__load_hook", load_hook);
        set_hook(lua.state_mut(), hook, HOOK_EVERY);
    }
    LOADING.with(|l| *l.borrow_mut() = Some(Vec::new()));
    let result = lua.call_function(&f, &[]);
    LOAD_DEADLINE.with(|d| d.set(None));
    let state = lua.state_mut();
    (state.hook.hook_func, state.hook.hook_mask) = (Val::Nil, 0);
    let registered = LOADING.with(|l| l.borrow_mut().take()).unwrap_or_default();
    if let Err(e) = result {
        let state = lua.state_mut();
        let msg = match state.error_object.take() {
            Some(Val::Table(t)) => {
                let k = Val::Str(state.gc.intern_string(b"err"));
                let v = Table::from_gc_ref(t).raw_get(state, k).unwrap_or(Val::Nil);
                bytes_of(state, v).map(|b| String::from_utf8_lossy(&b).into_owned())
            }
            _ => None,
        };
        let msg = msg.unwrap_or_else(|| format!("ERR {e}"));
        return Err(format!("Error registering functions: {msg}"));
    }
    Ok(registered)
}

/// A function registered by [`load_library`] in this VM.
pub fn registered_function(lua: &mut Lua, name: &[u8]) -> Option<Val> {
    let state = lua.state_mut();
    let registry = state.registry;
    let key = Val::Str(state.gc.intern_string(b"__redis__functions"));
    let Ok(Val::Table(t)) = Table::from_gc_ref(registry).raw_get(state, key) else { return None };
    let k = Val::Str(state.gc.intern_string(name));
    match Table::from_gc_ref(t).raw_get(state, k) {
        Ok(v @ Val::Function(_)) => Some(v),
        _ => None,
    }
}
