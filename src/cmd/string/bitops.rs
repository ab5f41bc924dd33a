//! The bitmap commands that treat a string as an array of bits (Redis's `bitops.c`): SETBIT,
//! GETBIT, BITCOUNT. Bit 0 is the most significant bit of byte 0. Setting a bit past the end
//! zero-extends the string; the offset is limited so that its byte stays below
//! `proto-max-bulk-len`.
//!
//! SETBIT is a write only when something changed: setting a bit to the value it already has
//! (without growing the string) is not propagated.

use super::{Lookup, clamp_range, read_string, write_string};
use crate::cmd::args;
use crate::cmd::keys::opt_is;
use crate::keyspace::Value;
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;

/// `getBitOffsetFromArgument` (without the `#` form, which only BITFIELD uses): a bit offset
/// whose byte lies below `proto-max-bulk-len`.
fn bit_offset(ctx: &Ctx, arg: &[u8]) -> Result<u64, Reply> {
    let err = || Reply::err("ERR bit offset is not an integer or out of range");
    let off = string2ll(arg).ok_or_else(err)?;
    if off < 0 || (off >> 3) >= ctx.srv.config.proto_max_bulk_len {
        return Err(err());
    }
    Ok(off as u64)
}

pub(super) fn setbit(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let offset = match bit_offset(ctx, argv[2]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match string2ll(argv[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Reply::err("ERR bit is not an integer or out of range"),
    };
    let byte = (offset >> 3) as usize;
    // `lookupStringForBitCommand`: create or zero-extend the string to hold the byte.
    let mut dirty = false;
    match write_string(ctx, key) {
        Err(e) => return e,
        Ok(Some(s)) => {
            if s.len() < byte + 1 {
                s.resize(byte + 1, 0);
                dirty = true;
            }
        }
        Ok(None) => {
            ctx.db_add(key.to_vec(), Value::String(vec![0; byte + 1]));
            dirty = true;
        }
    }
    let Ok(Some(s)) = write_string(ctx, key) else {
        return Reply::wrongtype();
    };
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

pub(super) fn getbit(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let offset = match bit_offset(ctx, argv[2]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match read_string(ctx, argv[1]) {
        Lookup::Missing => Reply::Int(0),
        Lookup::WrongType => Reply::wrongtype(),
        Lookup::Found(s) => {
            let bit = s.get((offset >> 3) as usize).map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
            Reply::Int(i64::from(bit))
        }
    }
}

/// BITCOUNT key [start end [BYTE|BIT]]. The key is looked up first: a missing key counts 0
/// whatever the other arguments are.
pub(super) fn bitcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
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
