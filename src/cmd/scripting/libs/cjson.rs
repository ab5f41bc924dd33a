//! lua-cjson 2.1.0 as Redis 7.0.15 ships it (`lua_cjson.c`, `fpconv.c`, `strbuf.c`):
//! `cjson.encode`, `cjson.decode`, the settings functions, `cjson.new`, `cjson.null`.
//!
//! Encoding: numbers with `%.14g` (`encode_number_precision`), strings with lua-cjson's escape
//! table (control characters as `\uXXXX` except `\b \t \n \f \r`, and `/` as `\/`, DEL as
//! `\u007f`; other bytes verbatim, no UTF-8 check), a table whose keys are all positive
//! integers is an array (up to its largest key, holes as `null`) unless "excessively sparse",
//! anything else an object in `lua_next` order, the empty table `{}`. Decoding: `null` is
//! `cjson.null` (a light userdata NULL), numbers go through `strtod` (so `0x10`, `inf`, `nan`
//! are accepted while `decode_invalid_numbers` is on, the default).
//!
//! The settings (`json_config_t`) are a private table held as the first upvalue of each
//! function, as lua-cjson holds its userdata: `cjson.new()` makes a module with its own.

use rilua::vm::closure::{Closure, RustClosure};
use rilua::vm::gc::arena::GcRef;
use rilua::vm::state::LuaState;
use rilua::vm::table::Table as RawTable;
use rilua::{Lua, LuaApiMut, Table, Val};

use super::{arg, error, nargs, next, raw_set, ret, to_bytes};

/// `cjson.null`: `lua_pushlightuserdata(l, NULL)`.
const NULL: Val = Val::LightUserdata(0);

// Setting slots in the config table (`json_config_t`).
const SPARSE_CONVERT: i64 = 1;
const SPARSE_RATIO: i64 = 2;
const SPARSE_SAFE: i64 = 3;
const ENCODE_MAX_DEPTH: i64 = 4;
const DECODE_MAX_DEPTH: i64 = 5;
const ENCODE_INVALID_NUMBERS: i64 = 6;
const DECODE_INVALID_NUMBERS: i64 = 7;
const KEEP_BUFFER: i64 = 8;
const PRECISION: i64 = 9;

const DEFAULTS: [(i64, f64); 9] = [
    (SPARSE_CONVERT, 0.0),
    (SPARSE_RATIO, 2.0),
    (SPARSE_SAFE, 10.0),
    (ENCODE_MAX_DEPTH, 1000.0),
    (DECODE_MAX_DEPTH, 1000.0),
    (ENCODE_INVALID_NUMBERS, 0.0),
    (DECODE_INVALID_NUMBERS, 1.0),
    (KEEP_BUFFER, 1.0),
    (PRECISION, 14.0),
];

const FUNCS: &[(&str, rilua::RustFn)] = &[
    ("encode", encode),
    ("decode", decode),
    ("encode_sparse_array", cfg_encode_sparse_array),
    ("encode_max_depth", cfg_encode_max_depth),
    ("decode_max_depth", cfg_decode_max_depth),
    ("encode_number_precision", cfg_encode_number_precision),
    ("encode_keep_buffer", cfg_encode_keep_buffer),
    ("encode_invalid_numbers", cfg_encode_invalid_numbers),
    ("decode_invalid_numbers", cfg_decode_invalid_numbers),
    ("new", new),
];

pub(super) fn open(lua: &mut Lua) -> Result<(), String> {
    let state = lua.state_mut();
    let t = module(state).map_err(|e| e.to_string())?;
    // The global module's settings, reachable from the host (see [`Settings`]).
    let k = Val::Str(state.gc.intern_string(b"encode"));
    let cfg = state.gc.tables.get(t).map_or(Val::Nil, |tb| tb.get(k, &state.gc.string_arena));
    let cfg = match cfg {
        Val::Function(r) => match state.gc.closures.get(r) {
            Some(Closure::Rust(rc)) => rc.upvalues.first().copied().unwrap_or(Val::Nil),
            _ => Val::Nil,
        },
        _ => Val::Nil,
    };
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(REGISTRY_KEY));
    raw_set(state, registry, k, cfg).map_err(|e| e.to_string())?;
    lua.set_global("cjson", Table::from_gc_ref(t)).map_err(|e| e.to_string())
}

const REGISTRY_KEY: &[u8] = b"__cjson_config";

/// The settings of the global `cjson` module. Redis keeps them in its long-lived VM (one for
/// EVAL, reset by SCRIPT FLUSH, one for functions), so `cjson.encode_max_depth(2)` in one
/// script holds for the next: the host carries them from one fresh VM to the next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings([f64; 9]);

impl Default for Settings {
    fn default() -> Settings {
        Settings(DEFAULTS.map(|(_, v)| v))
    }
}

fn global_config(state: &mut LuaState) -> Option<GcRef<RawTable>> {
    let registry = state.registry;
    let k = Val::Str(state.gc.intern_string(REGISTRY_KEY));
    match state.gc.tables.get(registry).map(|t| t.get(k, &state.gc.string_arena)) {
        Some(Val::Table(t)) => Some(t),
        _ => None,
    }
}

impl Settings {
    /// Puts these settings into `lua`'s global `cjson`.
    pub fn install(&self, lua: &mut Lua) {
        let state = lua.state_mut();
        if let Some(cfg) = global_config(state) {
            for ((slot, _), v) in DEFAULTS.iter().zip(self.0) {
                let _ = raw_set(state, cfg, Val::Num(*slot as f64), Val::Num(v));
            }
        }
    }
    /// The settings `lua`'s global `cjson` has now.
    pub fn of(lua: &mut Lua) -> Settings {
        let state = lua.state_mut();
        let mut out = Settings::default();
        if let Some(cfg) = global_config(state) {
            for ((slot, _), v) in DEFAULTS.iter().zip(out.0.iter_mut()) {
                if let Some(Val::Num(n)) = state.gc.tables.get(cfg).map(|t| t.get_int(*slot)) {
                    *v = n;
                }
            }
        }
        out
    }
}

/// `lua_cjson_new`: a module table whose functions share one new config.
fn module(state: &mut LuaState) -> rilua::LuaResult<GcRef<RawTable>> {
    let cfg = super::new_table(state);
    for (k, v) in DEFAULTS {
        raw_set(state, cfg, Val::Num(k as f64), Val::Num(v))?;
    }
    let t = super::new_table(state);
    for (name, f) in FUNCS {
        let cl = state.gc.alloc_closure(Closure::Rust(RustClosure {
            func: *f,
            upvalues: vec![Val::Table(cfg)],
            name: (*name).to_string(),
            env: None,
        }));
        let k = super::string(state, name.as_bytes());
        raw_set(state, t, k, Val::Function(cl))?;
    }
    let k = super::string(state, b"null");
    raw_set(state, t, k, NULL)?;
    for (k, v) in [("_NAME", "cjson"), ("_VERSION", "2.1.0")] {
        let k = super::string(state, k.as_bytes());
        let v = super::string(state, v.as_bytes());
        raw_set(state, t, k, v)?;
    }
    Ok(t)
}

fn new(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let t = module(state)?;
    ret(state, &[Val::Table(t)])
}

/// `json_fetch_config`: the running closure's first upvalue.
fn config(state: &LuaState) -> rilua::LuaResult<GcRef<RawTable>> {
    let func = state.stack_get(state.call_stack[state.ci].func);
    if let Val::Function(r) = func
        && let Some(Closure::Rust(rc)) = state.gc.closures.get(r)
        && let Some(Val::Table(t)) = rc.upvalues.first()
    {
        return Ok(*t);
    }
    Err(error("BUG: Unable to fetch CJSON configuration"))
}

#[allow(clippy::cast_possible_truncation)]
fn get(state: &LuaState, cfg: GcRef<RawTable>, slot: i64) -> i64 {
    match state.gc.tables.get(cfg).map(|t| t.get_int(slot)) {
        Some(Val::Num(n)) => n as i64,
        _ => 0,
    }
}

fn set(state: &mut LuaState, cfg: GcRef<RawTable>, slot: i64, v: i64) -> rilua::LuaResult<()> {
    raw_set(state, cfg, Val::Num(slot as f64), Val::Num(v as f64))
}

/// `json_arg_init`: at most `args` arguments.
fn arg_init(state: &LuaState, args: usize) -> rilua::LuaResult<GcRef<RawTable>> {
    if nargs(state) > args {
        return Err(state.arg_error(args + 1, "found too many arguments"));
    }
    config(state)
}

/// `json_integer_option`: sets the slot from argument `n` when given; its value.
fn integer_option(state: &mut LuaState, n: usize, cfg: GcRef<RawTable>, slot: i64, min: i64, max: i64) -> rilua::LuaResult<Val> {
    if !matches!(arg(state, n), Val::Nil) {
        // `int value = luaL_checkinteger(…)`: the low 32 bits.
        let v = i64::from(c_int(state.check_integer(n)?));
        if !(min <= v && v <= max) {
            return Err(state.arg_error(1, &format!("expected integer between {min} and {max}")));
        }
        set(state, cfg, slot, v)?;
    }
    Ok(Val::Num(get(state, cfg, slot) as f64))
}

fn c_int(n: i64) -> i32 {
    let b = n.to_le_bytes();
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// `json_enum_option` with `bool_true` 1: a boolean, or one of `options` by name.
fn enum_option(state: &mut LuaState, n: usize, cfg: GcRef<RawTable>, slot: i64, options: &[&str]) -> rilua::LuaResult<Val> {
    match arg(state, n) {
        Val::Nil => {}
        Val::Bool(b) => set(state, cfg, slot, i64::from(b))?,
        _ => {
            let name = state.check_string(n)?;
            let Some(i) = options.iter().position(|o| o.as_bytes() == name.as_slice()) else {
                return Err(state.arg_error(n, &format!("invalid option '{}'", String::from_utf8_lossy(&name))));
            };
            set(state, cfg, slot, i as i64)?;
        }
    }
    let v = get(state, cfg, slot);
    Ok(if v == 0 || v == 1 { Val::Bool(v == 1) } else { super::string(state, options[usize::try_from(v).unwrap_or(0)].as_bytes()) })
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

fn cfg_encode_sparse_array(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 3)?;
    let a = enum_option(state, 1, cfg, SPARSE_CONVERT, BOOL_OPTIONS)?;
    let b = integer_option(state, 2, cfg, SPARSE_RATIO, 0, i64::from(i32::MAX))?;
    let c = integer_option(state, 3, cfg, SPARSE_SAFE, 0, i64::from(i32::MAX))?;
    ret(state, &[a, b, c])
}

fn cfg_encode_max_depth(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = integer_option(state, 1, cfg, ENCODE_MAX_DEPTH, 1, i64::from(i32::MAX))?;
    ret(state, &[v])
}

fn cfg_decode_max_depth(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = integer_option(state, 1, cfg, DECODE_MAX_DEPTH, 1, i64::from(i32::MAX))?;
    ret(state, &[v])
}

fn cfg_encode_number_precision(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = integer_option(state, 1, cfg, PRECISION, 1, 14)?;
    ret(state, &[v])
}

/// The buffer is an allocation strategy in C; here only the setting is kept.
fn cfg_encode_keep_buffer(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = enum_option(state, 1, cfg, KEEP_BUFFER, BOOL_OPTIONS)?;
    ret(state, &[v])
}

fn cfg_encode_invalid_numbers(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = enum_option(state, 1, cfg, ENCODE_INVALID_NUMBERS, &["off", "on", "null"])?;
    ret(state, &[v])
}

fn cfg_decode_invalid_numbers(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let cfg = arg_init(state, 1)?;
    let v = enum_option(state, 1, cfg, DECODE_INVALID_NUMBERS, BOOL_OPTIONS)?;
    ret(state, &[v])
}

struct Enc {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    max_depth: i64,
    invalid_numbers: i64,
    precision: usize,
}

fn exception(v: Val, reason: &str) -> rilua::LuaError {
    error(format!("Cannot serialise {}: {reason}", v.type_name()))
}

/// `json_append_string`.
fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// `json_append_number`.
fn append_number(cfg: &Enc, out: &mut Vec<u8>, v: Val, num: f64) -> rilua::LuaResult<()> {
    match cfg.invalid_numbers {
        0 if num.is_infinite() || num.is_nan() => return Err(exception(v, "must not be NaN or Inf")),
        1 if num.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if num.is_infinite() || num.is_nan() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    out.extend_from_slice(crate::util::fmt_g(num, cfg.precision).as_bytes());
    Ok(())
}

/// `lua_array_length`: the largest key if every key is a positive integer, else -1.
fn array_length(state: &LuaState, cfg: &Enc, v: Val, t: GcRef<RawTable>) -> rilua::LuaResult<i64> {
    let (mut max, mut items) = (0i64, 0i64);
    let mut key = Val::Nil;
    while let Some((k, _)) = next(state, t, key)? {
        key = k;
        match k {
            Val::Num(n) if n != 0.0 && n.floor() == n && n >= 1.0 => {
                #[allow(clippy::cast_possible_truncation)]
                let n = if n > f64::from(i32::MAX) { i64::from(i32::MIN) } else { n as i64 };
                max = max.max(n);
                items += 1;
            }
            _ => return Ok(-1),
        }
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(exception(v, "excessively sparse array"));
        }
        return Ok(-1);
    }
    Ok(max)
}

/// An open table of the encoder (`json_append_array` / `json_append_object` in progress).
enum EncFrame {
    Array { t: GcRef<RawTable>, next: i64, len: i64 },
    Object { t: GcRef<RawTable>, key: Val, comma: bool },
}

/// `json_append_data` for one value: scalars are written, a table opens a frame. The C code
/// recurses; an explicit stack keeps deep (self-referencing) tables off Rust's stack.
fn append_value(state: &mut LuaState, cfg: &Enc, depth: usize, out: &mut Vec<u8>, v: Val) -> rilua::LuaResult<Option<EncFrame>> {
    match v {
        Val::Str(_) => append_string(out, &to_bytes(state, v).unwrap_or_default()),
        Val::Num(n) => append_number(cfg, out, v, n)?,
        Val::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Val::Nil | Val::LightUserdata(0) => out.extend_from_slice(b"null"),
        Val::Table(t) => {
            let depth = depth + 1;
            // `lua_checkstack(l, 3)` fails past LUAI_MAXCSTACK: two slots per level.
            if i64::try_from(depth).unwrap_or(i64::MAX) > cfg.max_depth || depth.saturating_mul(2) + 3 > super::MAXCSTACK {
                return Err(error(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            let len = array_length(state, cfg, v, t)?;
            if len > 0 {
                out.push(b'[');
                return Ok(Some(EncFrame::Array { t, next: 1, len }));
            }
            out.push(b'{');
            return Ok(Some(EncFrame::Object { t, key: Val::Nil, comma: false }));
        }
        _ => return Err(exception(v, "type not supported")),
    }
    Ok(None)
}

fn append_data(state: &mut LuaState, cfg: &Enc, out: &mut Vec<u8>, v: Val) -> rilua::LuaResult<()> {
    let mut stack: Vec<EncFrame> = Vec::new();
    if let Some(f) = append_value(state, cfg, 0, out, v)? {
        stack.push(f);
    }
    while let Some(top) = stack.last_mut() {
        let item = match top {
            EncFrame::Array { t, next, len } => {
                if *next > *len {
                    out.push(b']');
                    stack.pop();
                    continue;
                }
                if *next > 1 {
                    out.push(b',');
                }
                let i = *next;
                *next += 1;
                let t = *t;
                state.gc.tables.get(t).map_or(Val::Nil, |tb| tb.get_int(i))
            }
            EncFrame::Object { t, key, comma } => {
                let Some((k, val)) = next(state, *t, *key)? else {
                    out.push(b'}');
                    stack.pop();
                    continue;
                };
                *key = k;
                if *comma {
                    out.push(b',');
                }
                *comma = true;
                match k {
                    Val::Num(n) => {
                        out.push(b'"');
                        append_number(cfg, out, k, n)?;
                        out.extend_from_slice(b"\":");
                    }
                    Val::Str(_) => {
                        append_string(out, &to_bytes(state, k).unwrap_or_default());
                        out.push(b':');
                    }
                    _ => return Err(exception(k, "table key must be a number or string")),
                }
                val
            }
        };
        let depth = stack.len();
        if let Some(f) = append_value(state, cfg, depth, out, item)? {
            stack.push(f);
        }
    }
    Ok(())
}

fn encode(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let c = config(state)?;
    if nargs(state) != 1 {
        return Err(state.arg_error(1, "expected 1 argument"));
    }
    let cfg = Enc {
        sparse_convert: get(state, c, SPARSE_CONVERT) != 0,
        sparse_ratio: get(state, c, SPARSE_RATIO),
        sparse_safe: get(state, c, SPARSE_SAFE),
        max_depth: get(state, c, ENCODE_MAX_DEPTH),
        invalid_numbers: get(state, c, ENCODE_INVALID_NUMBERS),
        precision: usize::try_from(get(state, c, PRECISION)).unwrap_or(14),
    };
    let mut out = Vec::new();
    let v = arg(state, 1);
    append_data(state, &cfg, &mut out, v)?;
    let s = super::string(state, &out);
    ret(state, &[s])
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    String,
    Number,
    Boolean,
    Null,
    Colon,
    Comma,
    End,
    Error,
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::String => "T_STRING",
            Tok::Number => "T_NUMBER",
            Tok::Boolean => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error => "T_ERROR",
        }
    }
}

struct Token {
    kind: Tok,
    index: usize,
    error: &'static str,
    string: Vec<u8>,
    number: f64,
    boolean: bool,
}

struct Parser<'a> {
    /// The input up to its first NUL: lua-cjson reads a C string, and `at` answers that NUL
    /// (0) past the end.
    data: &'a [u8],
    ptr: usize,
    depth: i64,
    max_depth: i64,
    invalid_numbers: bool,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn token_error(&self, t: &mut Token, err: &'static str) {
        t.kind = Tok::Error;
        t.index = self.ptr;
        t.error = err;
    }

    /// `json_is_invalid_number`.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        } else if c <= b'9' {
            return false;
        }
        let rest = &self.data[p.min(self.data.len())..];
        let ci = |w: &[u8]| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(w);
        ci(b"inf") || ci(b"nan")
    }

    fn number_token(&mut self, t: &mut Token) {
        t.kind = Tok::Number;
        let (v, used) = super::strtod(&self.data[self.ptr.min(self.data.len())..]);
        t.number = v;
        if used == 0 {
            self.token_error(t, "invalid number");
        } else {
            self.ptr += used;
        }
    }

    /// `decode_hex4`.
    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, i| char::from(self.at(at + i)).to_digit(16).map(|d| (acc << 4) | d))
    }

    /// `json_append_unicode_escape`.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else { return false };
        let mut escape_len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            escape_len = 12;
        }
        if cp <= 0x7F {
            out.push(cp as u8);
        } else if cp <= 0x7FF {
            out.extend_from_slice(&[((cp >> 6) | 0xC0) as u8, ((cp & 0x3F) | 0x80) as u8]);
        } else if cp <= 0xFFFF {
            out.extend_from_slice(&[((cp >> 12) | 0xE0) as u8, (((cp >> 6) & 0x3F) | 0x80) as u8, ((cp & 0x3F) | 0x80) as u8]);
        } else {
            out.extend_from_slice(&[
                ((cp >> 18) | 0xF0) as u8,
                (((cp >> 12) & 0x3F) | 0x80) as u8,
                (((cp >> 6) & 0x3F) | 0x80) as u8,
                ((cp & 0x3F) | 0x80) as u8,
            ]);
        }
        self.ptr += escape_len;
        true
    }

    fn string_token(&mut self, t: &mut Token) {
        self.ptr += 1;
        let mut s = Vec::new();
        loop {
            let mut ch = self.at(self.ptr);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                self.token_error(t, "unexpected end of string");
                return;
            }
            if ch == b'\\' {
                ch = match self.at(self.ptr + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 12,
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape(&mut s) {
                            continue;
                        }
                        self.token_error(t, "invalid unicode escape code");
                        return;
                    }
                    _ => {
                        self.token_error(t, "invalid escape code");
                        return;
                    }
                };
                self.ptr += 1;
            }
            s.push(ch);
            self.ptr += 1;
        }
        self.ptr += 1;
        t.kind = Tok::String;
        t.string = s;
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Token {
        let mut t = Token { kind: Tok::Error, index: 0, error: "", string: Vec::new(), number: 0.0, boolean: false };
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        t.index = self.ptr;
        let ch = self.at(self.ptr);
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            0 => {
                t.kind = Tok::End;
                return t;
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9' => None,
            _ => {
                self.token_error(&mut t, "invalid token");
                return t;
            }
        };
        if let Some(k) = single {
            t.kind = k;
            self.ptr += 1;
            return t;
        }
        let rest = &self.data[self.ptr.min(self.data.len())..];
        if ch == b'"' {
            self.string_token(&mut t);
        } else if ch == b'-' || ch.is_ascii_digit() {
            if !self.invalid_numbers && self.is_invalid_number() {
                self.token_error(&mut t, "invalid number");
            } else {
                self.number_token(&mut t);
            }
        } else if rest.starts_with(b"true") {
            t.kind = Tok::Boolean;
            t.boolean = true;
            self.ptr += 4;
        } else if rest.starts_with(b"false") {
            t.kind = Tok::Boolean;
            self.ptr += 5;
        } else if rest.starts_with(b"null") {
            t.kind = Tok::Null;
            self.ptr += 4;
        } else if self.invalid_numbers && self.is_invalid_number() {
            self.number_token(&mut t);
        } else {
            self.token_error(&mut t, "invalid token");
        }
        t
    }

    fn parse_error(exp: &str, t: &Token) -> rilua::LuaError {
        let found = if t.kind == Tok::Error { t.error } else { t.kind.name() };
        error(format!("Expected {exp} but found {found} at character {}", t.index + 1))
    }

    /// `json_decode_descend`: `slots` is what `lua_checkstack` is asked for.
    fn descend(&mut self, slots: usize) -> rilua::LuaResult<()> {
        self.depth += 1;
        let used = usize::try_from(self.depth).unwrap_or(usize::MAX).saturating_mul(2);
        if self.depth <= self.max_depth && used + slots <= super::MAXCSTACK {
            return Ok(());
        }
        Err(error(format!("Found too many nested data structures ({}) at character {}", self.depth, self.ptr)))
    }

    /// The key of an object member: `"key"` then `:`; the token after them.
    fn member_key(&mut self, state: &mut LuaState, tok: &Token) -> rilua::LuaResult<(Val, Token)> {
        if tok.kind != Tok::String {
            return Err(Self::parse_error("object key string", tok));
        }
        let key = super::string(state, &tok.string);
        let colon = self.next_token();
        if colon.kind != Tok::Colon {
            return Err(Self::parse_error("colon", &colon));
        }
        Ok((key, self.next_token()))
    }

    /// `json_process_value` and the two contexts, with an explicit stack of open tables
    /// where the C code recurses.
    fn parse(&mut self, state: &mut LuaState, first: Token) -> rilua::LuaResult<Val> {
        enum Open {
            Array(GcRef<RawTable>, f64),
            Object(GcRef<RawTable>, Val),
        }
        let mut stack: Vec<Open> = Vec::new();
        let mut tok = first;
        loop {
            let mut v = match tok.kind {
                Tok::String => super::string(state, &tok.string),
                Tok::Number => Val::Num(tok.number),
                Tok::Boolean => Val::Bool(tok.boolean),
                Tok::Null => NULL,
                Tok::ObjBegin => {
                    self.descend(3)?;
                    let table = super::new_table(state);
                    let next = self.next_token();
                    if next.kind == Tok::ObjEnd {
                        self.depth -= 1;
                        Val::Table(table)
                    } else {
                        let (key, after) = self.member_key(state, &next)?;
                        stack.push(Open::Object(table, key));
                        tok = after;
                        continue;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(2)?;
                    let table = super::new_table(state);
                    let next = self.next_token();
                    if next.kind == Tok::ArrEnd {
                        self.depth -= 1;
                        Val::Table(table)
                    } else {
                        stack.push(Open::Array(table, 1.0));
                        tok = next;
                        continue;
                    }
                }
                _ => return Err(Self::parse_error("value", &tok)),
            };
            // Store the value in its table; close the tables that end here.
            loop {
                match stack.last_mut() {
                    None => return Ok(v),
                    Some(Open::Array(t, i)) => {
                        let (t, idx) = (*t, *i);
                        *i += 1.0;
                        raw_set(state, t, Val::Num(idx), v)?;
                        let next = self.next_token();
                        if next.kind == Tok::ArrEnd {
                            self.depth -= 1;
                            stack.pop();
                            v = Val::Table(t);
                            continue;
                        }
                        if next.kind != Tok::Comma {
                            return Err(Self::parse_error("comma or array end", &next));
                        }
                        tok = self.next_token();
                        break;
                    }
                    Some(Open::Object(t, key)) => {
                        let (t, k) = (*t, *key);
                        raw_set(state, t, k, v)?;
                        let next = self.next_token();
                        if next.kind == Tok::ObjEnd {
                            self.depth -= 1;
                            stack.pop();
                            v = Val::Table(t);
                            continue;
                        }
                        if next.kind != Tok::Comma {
                            return Err(Self::parse_error("comma or object end", &next));
                        }
                        let next = self.next_token();
                        let (key, after) = self.member_key(state, &next)?;
                        if let Some(Open::Object(_, slot)) = stack.last_mut() {
                            *slot = key;
                        }
                        tok = after;
                        break;
                    }
                }
            }
        }
    }
}

fn decode(state: &mut LuaState) -> rilua::LuaResult<u32> {
    if nargs(state) != 1 {
        return Err(state.arg_error(1, "expected 1 argument"));
    }
    let c = config(state)?;
    let data = state.check_string(1)?;
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(error("JSON parser does not support UTF-16 or UTF-32"));
    }
    // Cut once here: a number token finding the NUL itself made an array of numbers quadratic.
    let data = &data[..data.iter().position(|&c| c == 0).unwrap_or(data.len())];
    let mut p = Parser {
        data,
        ptr: 0,
        depth: 0,
        max_depth: get(state, c, DECODE_MAX_DEPTH),
        invalid_numbers: get(state, c, DECODE_INVALID_NUMBERS) != 0,
    };
    let t = p.next_token();
    let v = p.parse(state, t)?;
    let t = p.next_token();
    if t.kind != Tok::End {
        return Err(Parser::parse_error("the end", &t));
    }
    ret(state, &[v])
}
