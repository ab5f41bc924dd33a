//! BITFIELD and BITFIELD_RO: signed (`i1`..`i64`) and unsigned (`u1`..`u63`) integers at any
//! bit offset of a string, big-endian in Redis's bit order (bit 0 = the top bit of byte 0).
//!
//! `BITFIELD key [GET type off] [SET type off value] [INCRBY type off incr] [OVERFLOW WRAP|SAT|FAIL]
//! …`: every operation is parsed (and any error reported) before the first runs; an offset
//! `#N` means `N × width`. OVERFLOW applies to the SET / INCRBY after it: WRAP (the default)
//! wraps around, SAT saturates at the type's bounds, FAIL skips the write and answers nil. The
//! key is created or zero-extended up front to hold the farthest bit any SET / INCRBY touches.
//! BITFIELD_RO accepts only GET.
//!
//! The overflow arithmetic is `checkSignedBitfieldOverflow` / `checkUnsignedBitfieldOverflow`
//! as written in C, with C's two's-complement wrapping where it computes in `uint64_t`.

use super::{bit_offset, string_for_bit_command};
use crate::cmd::args;
use crate::keyspace::Value;
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpCode {
    Get,
    Set,
    IncrBy,
}

/// `struct bitfieldOp`.
#[derive(Clone, Copy)]
struct Op {
    offset: u64,
    i64: i64,
    opcode: OpCode,
    owtype: Overflow,
    bits: u32,
    sign: bool,
}

/// `getBitfieldTypeFromArgument`: `i` or `u` (lowercase only) and a width, `u64` excluded
/// (a reply cannot hold it).
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let err = || Reply::err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    let sign = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    // strlen(p+1): C stops at a NUL byte.
    let digits = &arg[1..];
    let digits = &digits[..digits.iter().position(|&b| b == 0).unwrap_or(digits.len())];
    match string2ll(digits) {
        Some(n) if n >= 1 && ((sign && n <= 64) || (!sign && n <= 63)) => Ok((sign, n as u32)),
        _ => Err(err()),
    }
}

/// `getUnsignedBitfield`, reading zeros past the end.
fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for _ in 0..bits {
        let byte = p.get((offset >> 3) as usize).copied().unwrap_or(0);
        let bit = 7 - (offset & 7);
        value = (value << 1) | u64::from((byte >> bit) & 1);
        offset += 1;
    }
    value
}

/// `getSignedBitfield`: sign-extended from the top bit of the field.
fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

/// `setUnsignedBitfield`: the low `bits` bits of `value` (the string already holds them).
fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let bitval = u8::from(value & (1u64 << (bits - 1 - j)) != 0);
        let bit = 7 - (offset & 7);
        if let Some(b) = p.get_mut((offset >> 3) as usize) {
            *b = (*b & !(1 << bit)) | (bitval << bit);
        }
        offset += 1;
    }
}

/// `checkUnsignedBitfieldOverflow`: 0, or 1 / -1 for an overflow / underflow together with the
/// value the overflow policy gives (`None` for FAIL).
fn check_unsigned(value: u64, incr: i64, bits: u32, owtype: Overflow) -> (i32, Option<u64>) {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || {
        let mask = u64::MAX << bits;
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        let limit = match owtype {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(max),
            Overflow::Fail => None,
        };
        (1, limit)
    } else if incr < 0 && incr < minincr {
        let limit = match owtype {
            Overflow::Wrap => Some(wrap()),
            Overflow::Sat => Some(0),
            Overflow::Fail => None,
        };
        (-1, limit)
    } else {
        (0, None)
    }
}

/// `checkSignedBitfieldOverflow`.
fn check_signed(value: i64, incr: i64, bits: u32, owtype: Overflow) -> (i32, Option<i64>) {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    // Computed in C with uint64_t casts (or overflowing, for minincr): wrapping here.
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let limit = |sat: i64| match owtype {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(sat),
        Overflow::Fail => None,
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (1, limit(max))
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        (-1, limit(min))
    } else {
        (0, None)
    }
}

pub(super) fn bitfield(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    bitfield_generic(ctx, argv, false)
}

pub(super) fn bitfield_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    bitfield_generic(ctx, argv, true)
}

/// Parses every operation, in order, stopping at the first error.
fn parse_ops(ctx: &Ctx, argv: &[&[u8]]) -> Result<(Vec<Op>, bool, u64), Reply> {
    let mut ops = Vec::new();
    let mut owtype = Overflow::Wrap;
    let mut readonly = true;
    let mut highest_write_offset = 0u64;
    let mut j = 2;
    while j < argv.len() {
        let remargs = argv.len() - j - 1;
        let sub = argv[j];
        let opcode = if args::is(sub, "get") && remargs >= 2 {
            OpCode::Get
        } else if args::is(sub, "set") && remargs >= 3 {
            OpCode::Set
        } else if args::is(sub, "incrby") && remargs >= 3 {
            OpCode::IncrBy
        } else if args::is(sub, "overflow") && remargs >= 1 {
            let name = argv[j + 1];
            owtype = if args::is(name, "wrap") {
                Overflow::Wrap
            } else if args::is(name, "sat") {
                Overflow::Sat
            } else if args::is(name, "fail") {
                Overflow::Fail
            } else {
                return Err(Reply::err("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(Reply::syntax());
        };
        let (sign, bits) = bitfield_type(argv[j + 1])?;
        let offset = bit_offset(ctx, argv[j + 2], Some(bits))?;
        let mut i64 = 0;
        if opcode != OpCode::Get {
            readonly = false;
            highest_write_offset = highest_write_offset.max(offset.wrapping_add(u64::from(bits) - 1));
            i64 = args::int(argv[j + 3])?;
        }
        ops.push(Op { offset, i64, opcode, owtype, bits, sign });
        j += if opcode == OpCode::Get { 3 } else { 4 };
    }
    Ok((ops, readonly, highest_write_offset))
}

/// `bitfieldGeneric`.
fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], ro_command: bool) -> Reply {
    let key = argv[1];
    let (ops, readonly, highest_write_offset) = match parse_ops(ctx, argv) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if readonly {
        // Only GETs: a missing key reads as zeros.
        let s: &[u8] = match ctx.lookup_read(key) {
            None => &[],
            Some(Value::String(s)) => s,
            Some(_) => return Reply::wrongtype(),
        };
        return Reply::Array(ops.iter().map(|op| get_reply(s, op)).collect());
    }
    if ro_command {
        return Reply::err("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let (s, dirty) = match string_for_bit_command(ctx, key, highest_write_offset) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut changes = 0u64;
    let mut replies = Vec::with_capacity(ops.len());
    for op in &ops {
        if op.opcode == OpCode::Get {
            replies.push(get_reply(s, op));
            continue;
        }
        // SET answers the old value, INCRBY the new one; a FAIL overflow writes nothing.
        let written = if op.sign {
            let old = get_signed(s, op.offset, op.bits);
            let (overflow, wrapped, retval) = if op.opcode == OpCode::IncrBy {
                let (o, w) = check_signed(old, op.i64, op.bits, op.owtype);
                let new = if o != 0 { w } else { Some(old.wrapping_add(op.i64)) };
                (o, new, new)
            } else {
                let (o, w) = check_signed(op.i64, 0, op.bits, op.owtype);
                (o, if o != 0 { w } else { Some(op.i64) }, Some(old))
            };
            match (overflow != 0 && op.owtype == Overflow::Fail, wrapped, retval) {
                (false, Some(new), Some(ret)) => {
                    set_unsigned(s, op.offset, op.bits, new as u64);
                    Some((ret, old != new))
                }
                _ => None,
            }
        } else {
            let old = get_unsigned(s, op.offset, op.bits);
            let (overflow, wrapped, retval) = if op.opcode == OpCode::IncrBy {
                let (o, w) = check_unsigned(old, op.i64, op.bits, op.owtype);
                let new = if o != 0 { w } else { Some(old.wrapping_add(op.i64 as u64)) };
                (o, new, new)
            } else {
                let (o, w) = check_unsigned(op.i64 as u64, 0, op.bits, op.owtype);
                (o, if o != 0 { w } else { Some(op.i64 as u64) }, Some(old))
            };
            match (overflow != 0 && op.owtype == Overflow::Fail, wrapped, retval) {
                (false, Some(new), Some(ret)) => {
                    set_unsigned(s, op.offset, op.bits, new);
                    Some((ret as i64, old != new))
                }
                _ => None,
            }
        };
        match written {
            Some((ret, changed)) => {
                replies.push(Reply::Int(ret));
                if dirty || changed {
                    changes += 1;
                }
            }
            None => replies.push(Reply::Nil),
        }
    }
    if changes > 0 {
        ctx.signal_modified(key);
        ctx.dirty(changes);
    }
    Reply::Array(replies)
}

/// A GET: the field read from the string as it is now, zeros past its end.
fn get_reply(s: &[u8], op: &Op) -> Reply {
    if op.sign { Reply::Int(get_signed(s, op.offset, op.bits)) } else { Reply::Int(get_unsigned(s, op.offset, op.bits) as i64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_redis_bit_order() {
        // "setting a 5 bits unsigned integer to value 23 at offset 7 … 00000001|01110000"
        let mut p = vec![0u8; 2];
        set_unsigned(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        assert_eq!(get_signed(&p, 7, 5), 23 - 32);
        assert_eq!(get_signed(&[0xff; 8], 0, 64), -1);
    }

    #[test]
    fn overflow_policies() {
        assert_eq!(check_unsigned(250, 10, 8, Overflow::Wrap), (1, Some(4)));
        assert_eq!(check_unsigned(250, 10, 8, Overflow::Sat), (1, Some(255)));
        assert_eq!(check_unsigned(5, -10, 8, Overflow::Sat), (-1, Some(0)));
        assert_eq!(check_unsigned(5, -10, 8, Overflow::Wrap), (-1, Some(251)));
        assert_eq!(check_unsigned(u64::MAX, 0, 8, Overflow::Wrap), (1, Some(255)));
        assert_eq!(check_signed(127, 1, 8, Overflow::Wrap), (1, Some(-128)));
        assert_eq!(check_signed(-128, -1, 8, Overflow::Sat), (-1, Some(-128)));
        assert_eq!(check_signed(i64::MAX, 1, 64, Overflow::Sat), (1, Some(i64::MAX)));
        assert_eq!(check_signed(i64::MIN, -1, 64, Overflow::Wrap), (-1, Some(i64::MAX)));
        assert_eq!(check_signed(1000, 0, 8, Overflow::Fail), (1, None));
    }
}
