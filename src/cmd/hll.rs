//! The HyperLogLog commands (Redis's `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE, PFDEBUG,
//! PFSELFTEST. A HyperLogLog is a string value in Redis's own layout (`hll/repr.rs`): TYPE says
//! `string`, GET returns its bytes, and the RDB, the AOF rewrite and DEBUG DIGEST treat it as
//! any string.
//!
//! **What reaches the AOF.** Each command is logged verbatim when it changed the value:
//!
//! | command | changes (and is logged) when |
//! |---|---|
//! | PFADD | a register rose, or the key was created (even with no element) |
//! | PFCOUNT key | the cached cardinality in the header was stale: PFCOUNT writes it back, a *read* command that propagates |
//! | PFCOUNT k1 k2 … | never (the union is computed aside) |
//! | PFMERGE | always (even when nothing changed) |
//! | PFDEBUG GETREG / TODENSE | the value was sparse and became dense |
//!
//! Replaying the log gives the same bytes, because every step is deterministic: the same
//! elements raise the same registers, and the sparse-to-dense conversion happens at the same
//! point (`hll-sparse-max-bytes`, read at each change as Redis does).
//!
//! **Errors.** A string that is not an HLL is refused with `WRONGTYPE Key is not a valid
//! HyperLogLog string value.`; a sparse one whose runs do not cover exactly 16384 registers with
//! `INVALIDOBJ Corrupted HLL object detected` (PFADD may have raised registers before finding
//! out: they stay raised but are not propagated, as in Redis).

mod repr;
mod selftest;

use super::{ADMIN, Command, DENYOOM, FAST, Group, MAY_REPLICATE, READONLY, WRITE};
use crate::keyspace::small::VecMut;
use crate::keyspace::{STRING_INLINE, Value};
use crate::reply::Reply;
use crate::server::Ctx;
pub use repr::murmurhash64a;

const G: Group = Group::HyperLogLog;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.8.9",
        summary: "Adds the specified elements to the specified HyperLogLog.",
        ..Command::new("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), G, pfadd)
    },
    Command {
        since: "2.8.9",
        summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        ..Command::new("pfcount", -2, READONLY | MAY_REPLICATE, (1, -1, 1), G, pfcount)
    },
    Command {
        since: "2.8.9",
        summary: "Merge N different HyperLogLogs into a single one.",
        ..Command::new("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), G, pfmerge)
    },
    Command {
        since: "2.8.9",
        summary: "Internal commands for debugging HyperLogLog values",
        ..Command::new("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), G, pfdebug)
    },
    Command {
        since: "2.8.9",
        summary: "An internal command for testing HyperLogLog values",
        ..Command::new("pfselftest", 1, ADMIN, (0, 0, 0), G, pfselftest)
    },
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID_HLL: &str = "INVALIDOBJ Corrupted HLL object detected";

/// `isHLLObjectOrReply` on a value found.
fn check_hll(v: &Value) -> Result<(), Reply> {
    match v {
        Value::String(s) if repr::is_valid(s) => Ok(()),
        Value::String(_) => Err(Reply::err(NOT_HLL)),
        _ => Err(Reply::wrongtype()),
    }
}

/// The string behind a key already checked (`lookupKeyWrite` done by the caller).
fn hll_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<VecMut<'c, STRING_INLINE>> {
    // `dbUnshareStringValue` / `createHLLObject`: a raw string from now on.
    ctx.db().set_encoding_hint(key, crate::keyspace::EncodingHint::Raw);
    match ctx.db().get_mut(key) {
        Some(Value::String(s)) => Some(s.vec_mut()),
        _ => None,
    }
}

fn sparse_max_bytes(ctx: &Ctx) -> usize {
    ctx.srv.config.hll_sparse_max_bytes
}

/// PFADD key [element ...]: 1 if a register changed (or the key was created).
fn pfadd(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let max_bytes = sparse_max_bytes(ctx);
    let mut updated = 0u64;
    match ctx.lookup_write(key) {
        None => {
            ctx.db_add(key, Value::String(repr::create().into()));
            updated += 1;
        }
        Some(v) => {
            if let Err(e) = check_hll(v) {
                return e;
            }
        }
    }
    let Some(mut lent) = hll_mut(ctx, key) else {
        return Reply::wrongtype();
    };
    let s: &mut Vec<u8> = &mut lent;
    for ele in &argv[2..] {
        match repr::add(s, ele, max_bytes) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            // Registers raised so far stay raised, unpropagated: Redis does the same.
            Err(_) => return Reply::err(INVALID_HLL),
        }
    }
    if updated > 0 {
        repr::invalidate_cache(s);
        drop(lent); // the bytes back in the keyspace's value before the keyspace is used again
        ctx.signal_modified(key);
        ctx.dirty(updated);
    }
    Reply::Int(i64::from(updated > 0))
}

/// PFCOUNT key [key ...]. One key: the cached cardinality, recomputed and written back when
/// stale (a change that propagates). Several: the cardinality of their union, nothing written.
fn pfcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() > 2 {
        let mut max = vec![0u8; repr::REGISTERS];
        for key in &argv[1..] {
            let Some(v) = ctx.lookup_read(key) else { continue };
            if let Err(e) = check_hll(v) {
                return e;
            }
            let Value::String(s) = v else { continue };
            if repr::merge(&mut max, s).is_err() {
                return Reply::err(INVALID_HLL);
            }
        }
        return Reply::Int(repr::count_raw(&max) as i64);
    }
    let key = argv[1];
    match ctx.lookup_read(key) {
        None => return Reply::Int(0),
        Some(v) => {
            if let Err(e) = check_hll(v) {
                return e;
            }
        }
    }
    let Some(mut lent) = hll_mut(ctx, key) else {
        return Reply::wrongtype();
    };
    let s: &mut Vec<u8> = &mut lent;
    if let Some(card) = repr::cached_card(s) {
        return Reply::Int(card as i64);
    }
    let Ok(card) = repr::count(s) else {
        return Reply::err(INVALID_HLL);
    };
    repr::set_cached_card(s, card);
    drop(lent);
    // A read-only command that modified the string: it propagates (and the AOF gets PFCOUNT).
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(card as i64)
}

/// PFMERGE destkey [sourcekey ...]: the register-wise maximum of all of them (the destination
/// included) into the destination, dense if any input was dense.
fn pfmerge(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut max = vec![0u8; repr::REGISTERS];
    let mut use_dense = false;
    for key in &argv[1..] {
        let Some(v) = ctx.lookup_read(key) else { continue };
        if let Err(e) = check_hll(v) {
            return e;
        }
        let Value::String(s) = v else { continue };
        use_dense |= repr::encoding(s) == repr::DENSE;
        if repr::merge(&mut max, s).is_err() {
            return Reply::err(INVALID_HLL);
        }
    }
    let dest = argv[1];
    let max_bytes = sparse_max_bytes(ctx);
    if ctx.lookup_write(dest).is_none() {
        ctx.db_add(dest.to_vec(), Value::String(repr::create().into()));
    }
    // The destination was among the sources, so it is a valid HLL.
    let Some(mut lent) = hll_mut(ctx, dest) else {
        return Reply::wrongtype();
    };
    let s: &mut Vec<u8> = &mut lent;
    if use_dense && repr::sparse_to_dense(s).is_err() {
        return Reply::err(INVALID_HLL);
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if repr::encoding(s) == repr::DENSE {
            let regs = s.get_mut(repr::HDR_SIZE..).unwrap_or_default();
            if m > repr::dense_get(regs, j) {
                repr::dense_set(regs, j, m);
            }
        } else {
            // hllSparseSet's result is not checked here in Redis either.
            let _ = repr::sparse_set(s, j, m, max_bytes);
        }
    }
    repr::invalidate_cache(s);
    drop(lent);
    ctx.signal_modified(dest);
    ctx.dirty(1);
    Reply::ok()
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is checked before the subcommand.
fn pfdebug(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (sub, key) = (argv[1], argv[2]);
    match ctx.lookup_write(key) {
        None => return Reply::err("ERR The specified key does not exist"),
        Some(v) => {
            if let Err(e) = check_hll(v) {
                return e;
            }
        }
    }
    let mut converted = false;
    let reply = {
        let Some(mut lent) = hll_mut(ctx, key) else {
            return Reply::wrongtype();
        };
        let s: &mut Vec<u8> = &mut lent;
        let is = |w: &str| sub.eq_ignore_ascii_case(w.as_bytes());
        if is("getreg") || is("todense") {
            if repr::encoding(s) == repr::SPARSE {
                if repr::sparse_to_dense(s).is_err() {
                    return Reply::err(INVALID_HLL);
                }
                converted = true;
            }
            if is("getreg") {
                Reply::Array(repr::registers(s).into_iter().map(|r| Reply::Int(i64::from(r))).collect())
            } else {
                Reply::Int(i64::from(converted))
            }
        } else if is("decode") {
            if repr::encoding(s) != repr::SPARSE {
                return Reply::err("ERR HLL encoding is not sparse");
            }
            Reply::bulk(repr::decode_sparse(s))
        } else if is("encoding") {
            Reply::status(if repr::encoding(s) == repr::DENSE { "dense" } else { "sparse" })
        } else {
            return Reply::error(format!("ERR Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(sub)));
        }
    };
    if converted {
        ctx.dirty(1); // force propagation of the encoding change
    }
    reply
}

/// PFSELFTEST: the register access and estimate checks of Redis's, on this implementation.
/// Redis's `rand()` becomes draws from a generator seeded by the server's random source.
fn pfselftest(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let seed = ctx.srv.rng.usize(..) as u64;
    let mut rng = fastrand::Rng::with_seed(seed);
    // C's rand() returns 31 bits.
    match selftest::self_test(&mut || rng.u32(..) >> 1, sparse_max_bytes(ctx)) {
        Ok(()) => Reply::ok(),
        Err(msg) => Reply::error(format!("ERR {msg}")),
    }
}
