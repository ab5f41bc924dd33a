//! `struct` (Roberto Ierusalimschy's `lua_struct.c`): `struct.pack(fmt, …)`,
//! `struct.unpack(fmt, s [, pos])`, `struct.size(fmt)`, with the sizes and alignment of
//! Redis's build on x86-64 Linux (`long` and `size_t` 8 bytes, `int` 4, `short` 2, the
//! native byte order little-endian, `MAXALIGN` 8).

use rilua::Val;
use rilua::vm::state::LuaState;

use super::{error, ret, to_number};

pub(super) const FUNCS: super::Funcs = &[("pack", pack), ("unpack", unpack), ("size", size)];

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

const DEFAULT: Header = Header { little: true, align: 1 };

/// `getnum`: a decimal size after an option, or `df`.
fn getnum(fmt: &[u8], i: &mut usize, df: usize) -> rilua::LuaResult<usize> {
    if !fmt.get(*i).is_some_and(u8::is_ascii_digit) {
        return Ok(df);
    }
    let mut a: usize = 0;
    while let Some(c) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        let d = usize::from(c - b'0');
        if a > (i32::MAX as usize) / 10 || a * 10 > (i32::MAX as usize) - d {
            return Err(error("integral size overflow"));
        }
        a = a * 10 + d;
        *i += 1;
    }
    Ok(a)
}

/// `optsize`.
fn optsize(opt: u8, fmt: &[u8], i: &mut usize) -> rilua::LuaResult<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => getnum(fmt, i, 1)?,
        b'i' | b'I' => {
            let sz = getnum(fmt, i, 4)?;
            if sz > MAXINTSIZE {
                return Err(error(format!("integral size {sz} is larger than limit of {MAXINTSIZE}")));
            }
            sz
        }
        _ => 0,
    })
}

/// `gettoalign`: padding before an item of `size` at `len`.
fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// `controloptions`.
fn controloptions(state: &LuaState, opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header) -> rilua::LuaResult<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = getnum(fmt, i, MAXALIGN)?;
            if !(a > 0 && a & (a - 1) == 0) {
                return Err(error(format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
        }
        _ => return Err(state.arg_error(1, &format!("invalid format option '{}'", char::from(opt)))),
    }
    Ok(())
}

fn check_string(state: &LuaState, n: usize) -> rilua::LuaResult<Vec<u8>> {
    state.check_string(n)
}

/// `luaL_checkstring(L, 1)` of a format: C stops at the first NUL.
fn format_arg(state: &LuaState) -> rilua::LuaResult<Vec<u8>> {
    let mut f = check_string(state, 1)?;
    if let Some(n) = f.iter().position(|&c| c == 0) {
        f.truncate(n);
    }
    Ok(f)
}

/// `(Uinttype)(Inttype)n` or `(Uinttype)n`: C's conversions of a double to 64 bits (x86-64:
/// out of range gives 0x8000000000000000).
fn double_to_u64(n: f64) -> u64 {
    let two63 = 2f64.powi(63);
    let cvt = |x: f64| -> i64 { if x.is_nan() || !(-two63..two63).contains(&x) { i64::MIN } else { x as i64 } };
    if n < 0.0 {
        u64::from_le_bytes(cvt(n).to_le_bytes())
    } else if n >= two63 {
        // cvttsd2si-based unsigned conversion: subtract 2^63, convert, set the top bit.
        let v = n - two63;
        u64::from_le_bytes(cvt(v).to_le_bytes()) ^ (1 << 63)
    } else {
        u64::from_le_bytes(cvt(n).to_le_bytes())
    }
}

fn pack(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let fmt = format_arg(state)?;
    let mut h = DEFAULT;
    let mut argn = 2;
    let mut total: usize = 0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(opt, &fmt, &mut i)?;
        let toalign = gettoalign(total, &h, opt, size);
        total += toalign;
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = state.check_number(argn)?;
                argn += 1;
                let mut value = double_to_u64(n);
                let mut buf = [0u8; MAXINTSIZE];
                let b = &mut buf[..size];
                if h.little {
                    for x in b.iter_mut() {
                        *x = (value & 0xff) as u8;
                        value = value.checked_shr(8).unwrap_or(0);
                    }
                } else {
                    for x in b.iter_mut().rev() {
                        *x = (value & 0xff) as u8;
                        value = value.checked_shr(8).unwrap_or(0);
                    }
                }
                out.extend_from_slice(b);
            }
            b'x' => out.push(0),
            b'f' => {
                #[allow(clippy::cast_possible_truncation)]
                let f = state.check_number(argn)? as f32;
                argn += 1;
                out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
            }
            b'd' => {
                let d = state.check_number(argn)?;
                argn += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = check_string(state, argn)?;
                argn += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(state.arg_error(argn, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => controloptions(state, opt, &fmt, &mut i, &mut h)?,
        }
        total += size;
    }
    let s = super::string(state, &out);
    ret(state, &[s])
}

/// `getinteger`.
fn getinteger(b: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut acc = |c: u8| l = (l.checked_shl(8).unwrap_or(0)) | u64::from(c);
    if little {
        b.iter().rev().for_each(|c| acc(*c));
    } else {
        b.iter().for_each(|c| acc(*c));
    }
    if !signed {
        return l as f64;
    }
    // `~0 << (size*8 - 1)`: the sign bit and above (x86 masks the shift count to 6 bits).
    let shift = u32::try_from((b.len() * 8).wrapping_sub(1) & 63).unwrap_or(0);
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    i64::from_le_bytes(l.to_le_bytes()) as f64
}

fn unpack(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let fmt = format_arg(state)?;
    let data = check_string(state, 2)?;
    let ld = data.len();
    let pos = state.opt_integer(3, 1)?;
    // `size_t pos = luaL_optinteger(…)`: a negative offset wraps to a huge one.
    let mut pos = usize::try_from(pos).unwrap_or(usize::MAX);
    if pos == 0 {
        return Err(state.arg_error(3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let mut h = DEFAULT;
    let mut results: Vec<Val> = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = optsize(opt, &fmt, &mut i)?;
        pos = pos.saturating_add(gettoalign(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(state.arg_error(2, "data string too short"));
        }
        if results.len() + 2 > super::MAXCSTACK {
            return Err(error("stack overflow (too many results)"));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                results.push(Val::Num(getinteger(&data[pos..pos + size], h.little, signed)));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                results.push(Val::Num(f64::from(f)));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                results.push(Val::Num(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
            }
            b'c' => {
                if size == 0 {
                    let prev = results.last().copied().and_then(|v| to_number(state, v));
                    let Some(n) = prev else {
                        return Err(error("format 'c0' needs a previous size"));
                    };
                    results.pop();
                    size = if (0.0..1.8e19).contains(&n) { n as usize } else { usize::MAX };
                    if !(size <= ld && pos <= ld - size) {
                        return Err(state.arg_error(2, "data string too short"));
                    }
                }
                let s = super::string(state, &data[pos..pos + size]);
                results.push(s);
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(error("unfinished string in data"));
                };
                let s = super::string(state, &data[pos..pos + e]);
                results.push(s);
                size = e + 1;
            }
            _ => controloptions(state, opt, &fmt, &mut i, &mut h)?,
        }
        pos = pos.saturating_add(size);
    }
    results.push(Val::Num(pos as f64 + 1.0));
    ret(state, &results)
}

fn size(state: &mut LuaState) -> rilua::LuaResult<u32> {
    let fmt = format_arg(state)?;
    let mut h = DEFAULT;
    let mut pos: usize = 0;
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = optsize(opt, &fmt, &mut i)?;
        pos = pos.saturating_add(gettoalign(pos, &h, opt, size));
        if opt == b's' {
            return Err(state.arg_error(1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(state.arg_error(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(state, opt, &fmt, &mut i, &mut h)?;
        }
        pos = pos.saturating_add(size);
    }
    ret(state, &[Val::Num(pos as f64)])
}
