//! LuaBitOp (`lua_bit.c`): 32-bit operations on Lua numbers. A number becomes its low 32 bits
//! the way `barg` does it (adding 2^52 + 2^51 and keeping the low word of the double: the
//! value rounded to an integer, modulo 2^32); results are signed 32-bit numbers.

use rilua::Val;
use rilua::vm::state::LuaState;

use super::{arg, nargs, ret, to_number};

pub(super) const FUNCS: super::Funcs = &[
    ("tobit", tobit),
    ("bnot", bnot),
    ("band", band),
    ("bor", bor),
    ("bxor", bxor),
    ("lshift", lshift),
    ("rshift", rshift),
    ("arshift", arshift),
    ("rol", rol),
    ("ror", ror),
    ("bswap", bswap),
    ("tohex", tohex),
];

/// `barg`: `lua_tonumber` (0 for what does not convert, and then a type error unless it was a
/// number) plus the 2^52 + 2^51 trick.
fn barg(state: &LuaState, n: usize) -> rilua::LuaResult<u32> {
    let v = arg(state, n);
    let num = to_number(state, v);
    let x = num.unwrap_or(0.0) + 6_755_399_441_055_744.0;
    let b = x.to_bits().to_le_bytes();
    let b = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if b == 0 && num.is_none() {
        return Err(state.type_error(n, "number"));
    }
    Ok(b)
}

/// `BRET`: the bits as a signed 32-bit number.
fn bret(state: &mut LuaState, b: u32) -> rilua::LuaResult<u32> {
    ret(state, &[Val::Num(f64::from(i32::from_le_bytes(b.to_le_bytes())))])
}

fn tobit(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let b = barg(state, 1)?;
    bret(state, b)
}

fn bnot(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let b = barg(state, 1)?;
    bret(state, !b)
}

/// `BIT_OP`: the first argument, then the others from the last down.
fn fold(state: &mut LuaState, op: fn(u32, u32) -> u32) -> rilua::LuaResult<u32> {
    let mut b = barg(state, 1)?;
    let mut i = nargs(state);
    while i > 1 {
        b = op(b, barg(state, i)?);
        i -= 1;
    }
    bret(state, b)
}

fn band(state: &mut LuaState) -> rilua::LuaResult<u32> {
    fold(state, |a, b| a & b)
}
fn bor(state: &mut LuaState) -> rilua::LuaResult<u32> {
    fold(state, |a, b| a | b)
}
fn bxor(state: &mut LuaState) -> rilua::LuaResult<u32> {
    fold(state, |a, b| a ^ b)
}

/// `BIT_SH`: the count is taken modulo 32.
fn shift(state: &mut LuaState, op: fn(u32, u32) -> u32) -> rilua::LuaResult<u32> {
    let b = barg(state, 1)?;
    let n = barg(state, 2)? & 31;
    bret(state, op(b, n))
}

fn lshift(state: &mut LuaState) -> rilua::LuaResult<u32> {
    shift(state, |b, n| b << n)
}
fn rshift(state: &mut LuaState) -> rilua::LuaResult<u32> {
    shift(state, |b, n| b >> n)
}
fn arshift(state: &mut LuaState) -> rilua::LuaResult<u32> {
    shift(state, |b, n| u32::from_le_bytes((i32::from_le_bytes(b.to_le_bytes()) >> n).to_le_bytes()))
}
fn rol(state: &mut LuaState) -> rilua::LuaResult<u32> {
    shift(state, u32::rotate_left)
}
fn ror(state: &mut LuaState) -> rilua::LuaResult<u32> {
    shift(state, u32::rotate_right)
}

fn bswap(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let b = barg(state, 1)?;
    bret(state, b.swap_bytes())
}

/// `bit.tohex(x [, n])`: `n` hex digits (8 by default, at most 8), upper case when `n` < 0.
fn tohex(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let mut b = barg(state, 1)?;
    let mut n: i64 = if nargs(state) < 2 { 8 } else { i64::from(i32::from_le_bytes(barg(state, 2)?.to_le_bytes())) };
    let digits: &[u8; 16] = if n < 0 {
        n = -n;
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = usize::try_from(n.min(8)).unwrap_or(8);
    let mut buf = vec![0u8; n];
    for slot in buf.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    let s = super::string(state, &buf);
    ret(state, &[s])
}
