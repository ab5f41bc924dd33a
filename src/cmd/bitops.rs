//! The bitmap commands (Redis's `bitops.c`), which treat a string as an array of bits: SETBIT,
//! GETBIT, BITCOUNT, BITPOS, BITOP, and BITFIELD / BITFIELD_RO (`bitops/bitfield.rs`).
//!
//! Bit 0 is the most significant bit of byte 0 (so `SETBIT k 7 1` makes the byte `0x01`).
//! Reading past the end reads zeros; writing past it zero-extends the string. An offset is
//! refused when its byte would lie at or beyond `proto-max-bulk-len` (512 MB), except while the
//! AOF is loaded (Redis obeys its own log).
//!
//! **What reaches the AOF.** Everything is logged verbatim, and only when the dataset changed:
//! SETBIT that leaves the bit as it was (without growing the string) is not logged; BITOP
//! always writes its destination (or deletes it, for an all-empty result, logged only if it
//! existed); BITFIELD is logged when one of its SET / INCRBY wrote a different value or grew
//! the string — a BITFIELD whose writes all failed under `OVERFLOW FAIL` is not logged even if
//! it created the key, exactly like Redis 7.0 (which then replays to a dataset without it).
//!
//! BITCOUNT and BITPOS take `BYTE` (the default) or `BIT` ranges, negative indexes counting
//! from the end. BITPOS for a clear bit treats the string as zero-padded on the right, unless an
//! end was given.

mod bitfield;

use super::string::{Lookup, clamp_range, read_string, write_string};
use super::{Command, DENYOOM, FAST, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::cmd::keys::opt_is;
use crate::keyspace::{StringValue, Value};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;
use bitfield::{bitfield, bitfield_ro};

const G: Group = Group::Bitmap;

pub static COMMANDS: &[Command] = &[
    Command {
        summary: "Sets or clears the bit at offset in the string value stored at key",
        since: "2.2.0",
        ..Command::new("setbit", 4, WRITE | DENYOOM, (1, 1, 1), G, setbit)
    },
    Command {
        summary: "Returns the bit value at offset in the string value stored at key",
        since: "2.2.0",
        ..Command::new("getbit", 3, READONLY | FAST, (1, 1, 1), G, getbit)
    },
    Command { summary: "Count set bits in a string", since: "2.6.0", ..Command::new("bitcount", -2, READONLY, (1, 1, 1), G, bitcount) },
    Command {
        summary: "Perform bitwise operations between strings",
        since: "2.6.0",
        ..Command::new("bitop", -4, WRITE | DENYOOM, (2, -1, 1), G, bitop)
    },
    Command {
        summary: "Find first bit set or clear in a string",
        since: "2.8.7",
        ..Command::new("bitpos", -3, READONLY, (1, 1, 1), G, bitpos)
    },
    Command {
        summary: "Perform arbitrary bitfield integer operations on strings",
        since: "3.2.0",
        ..Command::new("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), G, bitfield)
    },
    Command {
        summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        since: "6.0.0",
        ..Command::new("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), G, bitfield_ro)
    },
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

/// `getBitOffsetFromArgument`: a bit offset whose byte lies below `proto-max-bulk-len`. With
/// `bits` (BITFIELD), `#N` means the N-th field of that width: offset `N * bits`.
fn bit_offset(ctx: &Ctx, arg: &[u8], bits: Option<u32>) -> Result<u64, Reply> {
    let err = || Reply::err(BAD_OFFSET);
    let (digits, mult) = match (arg.first(), bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    // `loffset *= bits` overflows silently in C (a wrapped product, then the sign check).
    let off = string2ll(digits).ok_or_else(err)?.wrapping_mul(mult);
    if off < 0 || (!ctx.srv.loading && (off >> 3) >= ctx.srv.config.proto_max_bulk_len) {
        return Err(err());
    }
    // The string the bit needs must be addressable here (wasm32: 2 GB), whatever the limit.
    if !super::string::fits_host((off as u64 >> 3) + 1) {
        return Err(Reply::err(super::string::HOST_LIMIT));
    }
    Ok(off as u64)
}

/// `lookupStringForBitCommand`: the string at the key, created or zero-extended so that bit
/// `maxbit` exists; the flag says whether it was created or grew.
fn string_for_bit_command<'c>(ctx: &'c mut Ctx, key: &[u8], maxbit: u64) -> Result<(&'c mut StringValue, bool), Reply> {
    let len = (maxbit >> 3) as usize + 1;
    let dirty = match write_string(ctx, key)? {
        Some(s) if s.len() < len => {
            s.resize(len, 0);
            true
        }
        Some(_) => false,
        None => {
            ctx.db_add(key, Value::String(StringValue::from(vec![0; len])));
            true
        }
    };
    super::string::unshare_string(ctx, key);
    match write_string(ctx, key)? {
        Some(s) => Ok((s, dirty)),
        None => Err(Reply::wrongtype()),
    }
}

fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let offset = match bit_offset(ctx, argv[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match string2ll(argv[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Reply::err("ERR bit is not an integer or out of range"),
    };
    let (s, dirty) = match string_for_bit_command(ctx, key, offset) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let byte = (offset >> 3) as usize;
    let bit = 7 - (offset & 7) as u8;
    let old = (s[byte] >> bit) & 1 == 1;
    // Only a change (or a new / longer string) is a write: SETBIT to the same value is not
    // propagated.
    if dirty || old != on {
        s[byte] = (s[byte] & !(1 << bit)) | (u8::from(on) << bit);
        ctx.signal_modified(key);
        ctx.dirty(1);
    }
    Reply::Int(i64::from(old))
}

fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let offset = match bit_offset(ctx, argv[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match ctx.lookup_read(argv[1]) {
        None => Reply::Int(0),
        Some(Value::String(s)) => {
            let bit = s.get((offset >> 3) as usize).map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
            Reply::Int(i64::from(bit))
        }
        Some(_) => Reply::wrongtype(),
    }
}

/// BITCOUNT key [start end [BYTE|BIT]]. The key is looked up first: a missing key counts 0
/// whatever the other arguments are.
fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let s = match read_string(ctx, argv[1]) {
        Lookup::Missing => return Reply::Int(0),
        Lookup::WrongType => return Reply::wrongtype(),
        Lookup::Found(s) => s,
    };
    let popcount = |bytes: &[u8]| bytes.iter().map(|b| i64::from(b.count_ones())).sum::<i64>();
    match argv.len() {
        2 => Reply::Int(popcount(&s)),
        4 | 5 => {
            let (start, end) = match (args::int(argv[2]), args::int(argv[3])) {
                (Ok(s), Ok(e)) => (s, e),
                (Err(e), _) | (_, Err(e)) => return e,
            };
            if start < 0 && end < 0 && start > end {
                return Reply::Int(0);
            }
            let isbit = match argv.get(4) {
                None => false,
                Some(u) if opt_is(u, "bit") => true,
                Some(u) if opt_is(u, "byte") => false,
                Some(_) => return Reply::syntax(),
            };
            let len = s.len() as i64;
            let total = if isbit { len << 3 } else { len };
            let Some((start, end)) = clamp_range(start, end, total) else {
                return Reply::Int(0);
            };
            if !isbit {
                return Reply::Int(popcount(&s[start..=end]));
            }
            // Count whole bytes, then take off the bits outside the range at both edges.
            let (first, last) = (start >> 3, end >> 3);
            let first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
            let last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
            let mut count = popcount(&s[first..=last]);
            count -= i64::from((s[first] & first_mask).count_ones());
            count -= i64::from((s[last] & last_mask).count_ones());
            Reply::Int(count)
        }
        _ => Reply::syntax(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result is as long as the longest source
/// (shorter ones read as zeros); an all-empty result deletes the destination.
fn bitop(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let op = match argv[1].to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return Reply::syntax(),
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Reply::err("ERR BITOP NOT must be called with a single source key.");
    }
    let mut sources: Vec<Vec<u8>> = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        match ctx.lookup_read(key) {
            None => sources.push(Vec::new()),
            Some(Value::String(s)) => sources.push(s.to_vec()),
            Some(_) => return Reply::wrongtype(),
        }
    }
    let maxlen = sources.iter().map(Vec::len).max().unwrap_or(0);
    let target = argv[2];
    if maxlen == 0 {
        if ctx.delete_key(target) {
            ctx.dirty(1);
        }
        return Reply::Int(0);
    }
    let byte = |s: &Vec<u8>, j: usize| s.get(j).copied().unwrap_or(0);
    let res: Vec<u8> = (0..maxlen)
        .map(|j| {
            let first = byte(&sources[0], j);
            let rest = sources[1..].iter().map(|s| byte(s, j));
            match op {
                BitOp::Not => !first,
                BitOp::And => rest.fold(first, |a, b| a & b),
                BitOp::Or => rest.fold(first, |a, b| a | b),
                BitOp::Xor => rest.fold(first, |a, b| a ^ b),
            }
        })
        .collect();
    ctx.set_key(target, Value::String(res.into()), false);
    ctx.db().set_encoding_hint(target, crate::keyspace::EncodingHint::Raw);
    ctx.dirty(1);
    Reply::Int(maxlen as i64)
}

/// `redisBitpos`: the first bit equal to `bit` in `bytes`; for a clear bit the bytes are taken
/// as followed by zeros (so `8 * len` when they are all ones), for a set bit -1 if none.
fn redis_bitpos(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[i];
            let within = if bit { b.leading_zeros() } else { b.leading_ones() };
            (i * 8) as i64 + i64::from(within)
        }
        None if bit => -1,
        None => (bytes.len() * 8) as i64,
    }
}

/// BITPOS key bit [start [end [BYTE|BIT]]].
fn bitpos(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let bit = match args::int(argv[2]) {
        Ok(b @ (0 | 1)) => b == 1,
        Ok(_) => return Reply::err("ERR The bit argument must be 1 or 0."),
        Err(e) => return e,
    };
    // A missing key is an infinite string of zeros.
    let s = match read_string(ctx, argv[1]) {
        Lookup::Missing => return Reply::Int(if bit { -1 } else { 0 }),
        Lookup::WrongType => return Reply::wrongtype(),
        Lookup::Found(s) => s,
    };
    let strlen = s.len() as i64;
    let (mut start, mut end);
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    let mut end_given = false;
    match argv.len() {
        4..=6 => {
            let mut totlen = strlen;
            start = match args::int(argv[3]) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let mut isbit = false;
            if let Some(u) = argv.get(5) {
                if opt_is(u, "bit") {
                    isbit = true;
                } else if !opt_is(u, "byte") {
                    return Reply::syntax();
                }
            }
            if let Some(e) = argv.get(4) {
                end = match args::int(e) {
                    Ok(v) => v,
                    Err(e) => return e,
                };
                end_given = true;
            } else {
                end = if isbit { (totlen << 3) + 7 } else { totlen - 1 };
            }
            if isbit {
                totlen <<= 3;
            }
            if start < 0 {
                start += totlen;
            }
            if end < 0 {
                end += totlen;
            }
            start = start.max(0);
            end = end.max(0);
            if end >= totlen {
                end = totlen - 1;
            }
            if isbit && start <= end {
                // Masks for the bits of the edge bytes outside the range, then byte offsets.
                first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
                last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
                start >>= 3;
                end >>= 3;
            }
        }
        3 => {
            start = 0;
            end = strlen - 1;
        }
        _ => return Reply::syntax(),
    }
    if start > end {
        return Reply::Int(-1); // an empty range holds neither a 0 nor a 1
    }
    let at = |i: i64| s[i as usize];
    let edge = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let mut bytes = end - start + 1;
    let pos = 'result: {
        if first_mask != 0 {
            let mut tmp = edge(at(start), first_mask);
            if last_mask != 0 && bytes == 1 {
                tmp = edge(tmp, last_mask);
            }
            let pos = redis_bitpos(&[tmp], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'result pos;
            }
            start += 1;
            bytes -= 1;
        }
        // The last byte is done apart when it has bits outside the range.
        let curbytes = bytes - i64::from(last_mask != 0);
        if curbytes > 0 {
            let pos = redis_bitpos(&s[start as usize..(start + curbytes) as usize], bit);
            if bytes == curbytes || (pos != -1 && pos != curbytes << 3) {
                break 'result pos;
            }
            start += curbytes;
            bytes -= curbytes;
        }
        redis_bitpos(&[edge(at(end), last_mask)], bit)
    };
    // With an explicit end, "no clear bit in the range" is -1, not the first bit after it.
    if end_given && !bit && pos == bytes << 3 {
        return Reply::Int(-1);
    }
    Reply::Int(if pos == -1 { -1 } else { pos + (start << 3) })
}
