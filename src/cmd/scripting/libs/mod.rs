//! The C libraries Redis 7.0.15 links into its Lua (`deps/lua/src/`), ported to rilua's native
//! functions: `bit` (LuaBitOp, `lua_bit.c`), `cjson` (lua-cjson 2.1.0, `lua_cjson.c` +
//! `fpconv.c`), `cmsgpack` (lua-cmsgpack 0.4.0, `lua_cmsgpack.c`) and `struct`
//! (`lua_struct.c`). Each is a line-by-line port: the same bytes out, the same error texts
//! (`luaL_error`'s, to which rilua prepends the calling line as PUC-Rio's `luaL_where` does).
//!
//! Redis opens them as globals (`luaLoadLib`), before the globals are protected.
//!
//! cjson's settings outlive a script in Redis (its VM does); here each EVAL / FCALL runs in a
//! fresh VM, so the host carries them over ([`cjson::Settings`]).

mod bit;
pub mod cjson;
mod cmsgpack;
mod structlib;

use rilua::vm::gc::arena::GcRef;
use rilua::vm::state::LuaState;
use rilua::{Lua, LuaApiMut, LuaError, RuntimeError, Table, Val};

/// Opens the four libraries as globals of `lua` (`luaLoadLibraries`' last four lines).
pub fn open(lua: &mut Lua) -> Result<(), String> {
    cjson::open(lua)?;
    open_lib(lua, "struct", structlib::FUNCS, &[])?;
    open_lib(
        lua,
        "cmsgpack",
        cmsgpack::FUNCS,
        &[
            ("_NAME", "cmsgpack"),
            ("_VERSION", "lua-cmsgpack 0.4.0"),
            ("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"),
            ("_DESCRIPTION", "MessagePack C implementation for Lua"),
        ],
    )?;
    open_lib(lua, "bit", bit::FUNCS, &[])?;
    Ok(())
}

type Funcs = &'static [(&'static str, rilua::RustFn)];

fn open_lib(lua: &mut Lua, name: &str, funcs: Funcs, strings: &[(&str, &str)]) -> Result<(), String> {
    let t = lua.create_table();
    for (n, f) in funcs {
        lua.table_set_function(&t, n, *f).map_err(|e| e.to_string())?;
    }
    for (k, v) in strings {
        let k = lua.create_string(k.as_bytes());
        let v = lua.create_string(v.as_bytes());
        lua.table_raw_set(&t, k, v).map_err(|e| e.to_string())?;
    }
    lua.set_global(name, t).map_err(|e| e.to_string())
}

/// `lua_gettop`.
fn nargs(state: &LuaState) -> usize {
    state.top.saturating_sub(state.base)
}

/// Argument `n` (1-based), `nil` when absent (`lua_isnone` is `n > nargs`).
fn arg(state: &LuaState, n: usize) -> Val {
    if n >= 1 && n <= nargs(state) { state.stack_get(state.base + n - 1) } else { Val::Nil }
}

/// `luaL_error`: a message that rilua prefixes with the caller's `source:line:`.
fn error(msg: impl Into<String>) -> LuaError {
    LuaError::Runtime(RuntimeError::new(msg.into()))
}

/// `lua_tonumber`: a number, a string that converts, or `None`.
fn to_number(state: &LuaState, v: Val) -> Option<f64> {
    match v {
        Val::Num(n) => Some(n),
        Val::Str(_) => {
            let s = bytes(state, v)?;
            lua_str2number(&s)
        }
        _ => None,
    }
}

/// The bytes of a string (numbers are not converted: callers that want `lua_tolstring`'s
/// conversion use [`to_bytes`]).
fn bytes(state: &LuaState, v: Val) -> Option<Vec<u8>> {
    match v {
        Val::Str(r) => state.gc.string_arena.get(r).map(|s| s.data().to_vec()),
        _ => None,
    }
}

/// `lua_tolstring`: strings, and numbers printed with `%.14g`.
fn to_bytes(state: &LuaState, v: Val) -> Option<Vec<u8>> {
    match v {
        Val::Num(n) => Some(super::lua::lua_number_string(n).into_bytes()),
        _ => bytes(state, v),
    }
}

fn string(state: &mut LuaState, b: &[u8]) -> Val {
    Val::Str(state.gc.intern_string(b))
}

fn new_table(state: &mut LuaState) -> GcRef<rilua::vm::table::Table> {
    state.gc.alloc_table(rilua::vm::table::Table::new())
}

fn raw_set(state: &mut LuaState, t: GcRef<rilua::vm::table::Table>, k: Val, v: Val) -> Result<(), LuaError> {
    Table::from_gc_ref(t).raw_set(state, k, v)
}

/// `lua_next`.
fn next(state: &LuaState, t: GcRef<rilua::vm::table::Table>, key: Val) -> Result<Option<(Val, Val)>, LuaError> {
    match state.gc.tables.get(t) {
        Some(tb) => tb.next(key, &state.gc.string_arena),
        None => Ok(None),
    }
}

/// Replaces the function's arguments with its results.
fn ret(state: &mut LuaState, vals: &[Val]) -> rilua::LuaResult<u32> {
    state.top = state.base;
    state.ensure_stack(vals.len() + 1);
    for v in vals {
        state.push(*v);
    }
    u32::try_from(vals.len()).map_err(|_| error("too many results"))
}

/// `luaL_checkstack`'s limit (`LUAI_MAXCSTACK`): how deep the C libraries can nest before
/// "stack overflow", which also bounds our recursion.
const MAXCSTACK: usize = 8000;

/// Lua 5.1's `luaO_str2d`: `strtod` over the whole string (trailing white space allowed).
fn lua_str2number(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&c| c == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    let (v, used) = strtod(s);
    if used == 0 {
        return None;
    }
    s[used..].iter().all(|c| is_c_space(*c)).then_some(v)
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// glibc's `strtod(s, &end)`: the value and how many bytes it used (0: no conversion).
/// Leading white space, a sign, `inf` / `infinity`, `nan` / `nan(chars)`, hexadecimal
/// (`0x1.8p3`) and decimal forms; out-of-range values become ±inf or 0 as strtod returns them.
fn strtod(s: &[u8]) -> (f64, usize) {
    let mut i = s.iter().take_while(|c| is_c_space(**c)).count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    let starts = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if starts(b"infinity") {
        return (sign(f64::INFINITY), i + 8);
    }
    if starts(b"inf") {
        return (sign(f64::INFINITY), i + 3);
    }
    if starts(b"nan") {
        let mut j = i + 3;
        if s.get(j) == Some(&b'(') {
            let n = s[j + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
            if s.get(j + 1 + n) == Some(&b')') {
                j += n + 2;
            }
        }
        return (sign(f64::NAN), j);
    }
    if (starts(b"0x"))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit() || (*c == b'.' && s.get(i + 3).is_some_and(u8::is_ascii_hexdigit)))
    {
        let (v, n) = hex_prefix(&s[i + 2..]);
        return (sign(v), i + 2 + n);
    }
    let int = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut j = int;
    let mut frac = 0;
    if rest.get(j) == Some(&b'.') {
        frac = rest[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        j += 1 + frac;
    }
    if int + frac == 0 {
        return (0.0, 0);
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let d = rest.get(k..).map_or(0, |t| t.iter().take_while(|c| c.is_ascii_digit()).count());
        if d > 0 {
            j = k + d;
        }
    }
    // Rust's parser rounds correctly, as glibc's does; it wants a digit before a '.'.
    let text = String::from_utf8_lossy(&rest[..j]);
    let text = if text.starts_with('.') { format!("0{text}") } else { text.into_owned() };
    (sign(text.parse::<f64>().unwrap_or(0.0)), i + j)
}

/// The digits of a hexadecimal float after `0x`: `h[.h][p[±]d]`.
fn hex_prefix(s: &[u8]) -> (f64, usize) {
    let mut v = 0f64;
    let mut i = 0;
    while let Some(d) = s.get(i).and_then(|c| char::from(*c).to_digit(16)) {
        v = v * 16.0 + f64::from(d);
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 1.0 / 16.0;
        while let Some(d) = s.get(i).and_then(|c| char::from(*c).to_digit(16)) {
            v += f64::from(d) * scale;
            scale /= 16.0;
            i += 1;
        }
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut k = i + 1;
        let neg = match s.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let d = s.get(k..).map_or(0, |t| t.iter().take_while(|c| c.is_ascii_digit()).count());
        if d > 0 {
            let mut e: i32 = 0;
            for c in &s[k..k + d] {
                e = (e * 10 + i32::from(c - b'0')).min(100_000);
            }
            v *= 2f64.powi(if neg { -e } else { e });
            i = k + d;
        }
    }
    (v, i)
}

/// `luaG_runerror` from the C API (`lua_settable` with a nil key): the message has no
/// position, as the running function is a C one.
fn error_no_position(state: &mut LuaState, msg: &str) -> LuaError {
    let v = string(state, msg.as_bytes());
    state.error_object = Some(v);
    error(msg)
}
