//! lua-cmsgpack 0.4.0 (`lua_cmsgpack.c`): `cmsgpack.pack(…)`, `unpack(s)`,
//! `unpack_one(s [, offset])`, `unpack_limit(s, limit [, offset])`.
//!
//! Packing: a number that is an `int64_t` is the smallest integer encoding, any other a
//! float 32 if it survives the round trip, else a float 64; a string is a raw (`str 8/16/32`,
//! never `bin`); a table whose keys are exactly 1..n is an array, any other a map (in
//! `lua_next` order); tables nested 16 deep, functions, nil and userdata are `nil` (0xc0).

use rilua::Val;
use rilua::vm::state::LuaState;

use super::{arg, error, nargs, next, raw_set, ret, to_bytes};

pub(super) const FUNCS: super::Funcs = &[("pack", pack), ("unpack", unpack), ("unpack_one", unpack_one), ("unpack_limit", unpack_limit)];

const MAX_NESTING: usize = 16;

fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | (len as u8));
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

#[allow(clippy::cast_possible_truncation)]
fn encode_double(buf: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if d == f64::from(f) {
        buf.push(0xca);
        buf.extend_from_slice(&f.to_be_bytes());
    } else {
        buf.push(0xcb);
        buf.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n.to_le_bytes()[0]);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n.to_le_bytes()[0]]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&n.to_be_bytes()[6..]);
    } else if n >= -2_147_483_648 {
        buf.push(0xd2);
        buf.extend_from_slice(&n.to_be_bytes()[4..]);
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_header(buf: &mut Vec<u8>, n: usize, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        buf.push(fix | (n as u8));
    } else if n <= 0xffff {
        buf.push(b16);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(b32);
        buf.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    }
}

/// `IS_INT64_EQUIVALENT`: not infinite and `(int64_t)x == x`.
#[allow(clippy::cast_possible_truncation)]
fn int64_equivalent(x: f64) -> Option<i64> {
    if x.is_infinite() || x.is_nan() || !(-2f64.powi(63)..2f64.powi(63)).contains(&x) {
        return None;
    }
    let i = x as i64;
    (i as f64 == x).then_some(i)
}

/// `table_is_an_array`: every key a positive number that is an `int`, and max == count.
fn is_array(state: &LuaState, t: rilua::vm::gc::arena::GcRef<rilua::vm::table::Table>) -> rilua::LuaResult<bool> {
    let (mut count, mut max) = (0f64, 0f64);
    let mut key = Val::Nil;
    while let Some((k, _)) = next(state, t, key)? {
        key = k;
        let Val::Num(n) = k else { return Ok(false) };
        #[allow(clippy::cast_possible_truncation)]
        let int_equivalent = !n.is_infinite() && n.is_finite() && (n as i32) as f64 == n;
        if n <= 0.0 || !int_equivalent {
            return Ok(false);
        }
        max = if n > max { n } else { max };
        count += 1.0;
    }
    Ok(max == count)
}

fn encode(state: &mut LuaState, buf: &mut Vec<u8>, v: Val, level: usize) -> rilua::LuaResult<()> {
    match v {
        Val::Str(_) => encode_bytes(buf, &to_bytes(state, v).unwrap_or_default()),
        Val::Bool(b) => buf.push(if b { 0xc3 } else { 0xc2 }),
        Val::Num(n) => match int64_equivalent(n) {
            Some(i) => encode_int(buf, i),
            None => encode_double(buf, n),
        },
        Val::Table(t) if level < MAX_NESTING => {
            if is_array(state, t)? {
                // `lua_objlen`, then `lua_gettable` (which honours __index) for 1..len.
                let len = state.gc.tables.get(t).map_or(0, |tb| tb.len(&state.gc.string_arena));
                encode_header(buf, len, 0x90, 0xdc, 0xdd);
                for j in 1..=len {
                    let item = state.gettable(v, Val::Num(j as f64))?;
                    encode(state, buf, item, level + 1)?;
                }
            } else {
                let mut n = 0usize;
                let mut key = Val::Nil;
                while let Some((k, _)) = next(state, t, key)? {
                    key = k;
                    n += 1;
                }
                encode_header(buf, n, 0x80, 0xde, 0xdf);
                let mut key = Val::Nil;
                while let Some((k, val)) = next(state, t, key)? {
                    key = k;
                    encode(state, buf, k, level + 1)?;
                    encode(state, buf, val, level + 1)?;
                }
            }
        }
        _ => buf.push(0xc0),
    }
    Ok(())
}

/// `mp_pack`: each argument packed, the results concatenated.
fn pack(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let n = nargs(state);
    if n == 0 {
        return Err(state.arg_error(0, "MessagePack pack needs input."));
    }
    let mut buf = Vec::new();
    for i in 1..=n {
        let v = arg(state, i);
        encode(state, &mut buf, v, 0)?;
    }
    let s = super::string(state, &buf);
    ret(state, &[s])
}

enum Fail {
    Eof,
    BadFmt,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }
    fn need(&self, n: usize) -> Result<(), Fail> {
        if self.left() < n { Err(Fail::Eof) } else { Ok(()) }
    }
    fn be(&self, at: usize, n: usize) -> u64 {
        self.data[self.pos + at..self.pos + at + n].iter().fold(0u64, |a, c| (a << 8) | u64::from(*c))
    }
}

/// What one object header decoded to: a value, or an array / map of `n` items to fill.
enum Item {
    Value(Val),
    Array(usize),
    Map(usize),
}

/// `mp_decode_to_lua_type` for one header (strings and scalars whole).
fn decode_one(state: &mut LuaState, c: &mut Cursor) -> Result<Item, Fail> {
    c.need(1)?;
    let b = c.data[c.pos];
    let v = match b {
        0xcc | 0xd0 => {
            c.need(2)?;
            let x = c.data[c.pos + 1];
            c.pos += 2;
            Val::Num(if b == 0xcc { f64::from(x) } else { f64::from(i8::from_le_bytes([x])) })
        }
        0xcd | 0xd1 => {
            c.need(3)?;
            let x = c.be(1, 2) as u16;
            c.pos += 3;
            // `(int16_t)(p[1] << 8) | p[2]`: the cast binds to the high byte only.
            Val::Num(if b == 0xcd {
                f64::from(x)
            } else {
                f64::from(i32::from(i16::from_le_bytes((x & 0xff00).to_le_bytes())) | i32::from(x & 0xff))
            })
        }
        0xce | 0xd2 => {
            c.need(5)?;
            let x = c.be(1, 4) as u32;
            c.pos += 5;
            Val::Num(if b == 0xce { f64::from(x) } else { f64::from(i32::from_le_bytes(x.to_le_bytes())) })
        }
        0xcf | 0xd3 => {
            c.need(9)?;
            let x = c.be(1, 8);
            c.pos += 9;
            // 0xcf goes through `lua_pushinteger` (ptrdiff_t): signed on the way in.
            Val::Num(i64::from_le_bytes(x.to_le_bytes()) as f64)
        }
        0xc0 => {
            c.pos += 1;
            Val::Nil
        }
        0xc3 | 0xc2 => {
            c.pos += 1;
            Val::Bool(b == 0xc3)
        }
        0xca => {
            c.need(5)?;
            let x = c.be(1, 4) as u32;
            c.pos += 5;
            Val::Num(f64::from(f32::from_bits(x)))
        }
        0xcb => {
            c.need(9)?;
            let x = c.be(1, 8);
            c.pos += 9;
            Val::Num(f64::from_bits(x))
        }
        0xd9..=0xdb => {
            let hl = match b {
                0xd9 => 1,
                0xda => 2,
                _ => 4,
            };
            c.need(1 + hl)?;
            let l = usize::try_from(c.be(1, hl)).unwrap_or(usize::MAX);
            c.need((1 + hl).saturating_add(l))?;
            let s = super::string(state, &c.data[c.pos + 1 + hl..c.pos + 1 + hl + l]);
            c.pos += 1 + hl + l;
            s
        }
        0xdc..=0xdf => {
            let hl = if matches!(b, 0xdc | 0xde) { 2 } else { 4 };
            c.need(1 + hl)?;
            let l = usize::try_from(c.be(1, hl)).unwrap_or(usize::MAX);
            c.pos += 1 + hl;
            return Ok(if matches!(b, 0xde | 0xdf) { Item::Map(l) } else { Item::Array(l) });
        }
        _ if b & 0x80 == 0 => {
            c.pos += 1;
            Val::Num(f64::from(b))
        }
        _ if b & 0xe0 == 0xe0 => {
            c.pos += 1;
            Val::Num(f64::from(i8::from_le_bytes([b])))
        }
        _ if b & 0xe0 == 0xa0 => {
            let l = usize::from(b & 0x1f);
            c.need(1 + l)?;
            let s = super::string(state, &c.data[c.pos + 1..c.pos + 1 + l]);
            c.pos += 1 + l;
            s
        }
        _ if b & 0xf0 == 0x90 => {
            c.pos += 1;
            return Ok(Item::Array(usize::from(b & 0xf)));
        }
        _ if b & 0xf0 == 0x80 => {
            c.pos += 1;
            return Ok(Item::Map(usize::from(b & 0xf)));
        }
        _ => return Err(Fail::BadFmt),
    };
    Ok(Item::Value(v))
}

/// A table being filled: what is left, and for a map the key waiting for its value.
struct Open {
    t: rilua::vm::gc::arena::GcRef<rilua::vm::table::Table>,
    left: usize,
    map: bool,
    index: f64,
    key: Option<Val>,
}

/// One top-level object, nested tables filled with an explicit stack (the C code recurses).
/// `slots` is the Lua stack Redis would be using, for `luaL_checkstack`'s limit.
fn decode(state: &mut LuaState, c: &mut Cursor, slots: usize) -> Result<Result<Val, Fail>, rilua::LuaError> {
    let mut stack: Vec<Open> = Vec::new();
    loop {
        // Each open array holds its table and the pushed index; a map its table and a key.
        let used = slots + stack.iter().map(|o| if o.map { 1 + usize::from(o.key.is_some()) } else { 2 }).sum::<usize>();
        if c.left() > 0 && used + 1 > super::MAXCSTACK {
            return Err(error("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"));
        }
        let mut v = match decode_one(state, c) {
            Err(e) => return Ok(Err(e)),
            Ok(Item::Value(v)) => v,
            Ok(item) => {
                let (n, map) = match item {
                    Item::Array(n) => (n, false),
                    Item::Map(n) => (n, true),
                    Item::Value(_) => (0, false),
                };
                let t = super::new_table(state);
                if n > 0 {
                    stack.push(Open { t, left: n, map, index: 1.0, key: None });
                    continue;
                }
                Val::Table(t)
            }
        };
        loop {
            let Some(top) = stack.last_mut() else { return Ok(Ok(v)) };
            if top.map && top.key.is_none() {
                top.key = Some(v);
                break;
            }
            let key = if top.map {
                top.key.take().unwrap_or(Val::Nil)
            } else {
                let k = Val::Num(top.index);
                top.index += 1.0;
                k
            };
            top.left -= 1;
            let (t, done) = (top.t, top.left == 0);
            // `lua_settable`: a nil or NaN key is an error, a nil value removes.
            match key {
                Val::Nil => return Err(super::error_no_position(state, "table index is nil")),
                Val::Num(n) if n.is_nan() => return Err(super::error_no_position(state, "table index is NaN")),
                _ => raw_set(state, t, key, v)?,
            }
            if !done {
                break;
            }
            stack.pop();
            v = Val::Table(t);
        }
    }
}

/// `mp_unpack_full`.
fn unpack_full(state: &mut LuaState, limit: i64, offset: i64) -> rilua::LuaResult<u32> {
    let s = state.check_string(1)?;
    let decode_all = limit == 0 && offset == 0;
    let len = s.len();
    if offset < 0 || limit < 0 {
        return Err(error(format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32)));
    }
    if usize::try_from(offset).map_or(true, |o| o > len) {
        return Err(error(format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let mut c = Cursor { data: &s, pos: usize::try_from(offset).unwrap_or(0) };
    let mut out = Vec::new();
    let mut cnt = 0i64;
    while c.left() > 0 && cnt < limit {
        match decode(state, &mut c, 1 + out.len())? {
            Ok(v) => out.push(v),
            Err(Fail::Eof) => return Err(error("Missing bytes in input.")),
            Err(Fail::BadFmt) => return Err(error("Bad data format in input.")),
        }
        cnt += 1;
    }
    if !decode_all {
        let next_offset = if c.left() == 0 { -1.0 } else { c.pos as f64 };
        out.insert(0, Val::Num(next_offset));
    }
    ret(state, &out)
}

fn unpack(state: &mut LuaState) -> rilua::LuaResult<u32> {
    unpack_full(state, 0, 0)
}

fn unpack_one(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let offset = state.opt_integer(2, 0)?;
    unpack_full(state, 1, offset)
}

fn unpack_limit(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let limit = state.check_integer(2)?;
    let offset = state.opt_integer(3, 0)?;
    unpack_full(state, limit, offset)
}
