//! Hashes: a key holding a map of fields to values (`t_hash.c`).
//!
//! Redis 7.0 keeps a small hash (at most `hash-max-listpack-entries` = 128 fields, every field and
//! value at most `hash-max-listpack-value` = 64 bytes) in a *listpack*: a flat array that keeps
//! insertion order and deletes in place. A bigger one becomes a hash table, for good. The order
//! shows through HGETALL, HKEYS, HVALS, HSCAN and HRANDFIELD, so the map here is insertion-ordered
//! and a delete from a listpack-sized hash shifts the following fields down (`shift_remove`), as
//! the listpack does; a hash-table-sized one may use the O(1) `swap_remove` (its order is Redis's
//! hash order anyway, which nobody can rely on).
//!
//! Propagation: every write goes to the AOF verbatim, except HINCRBYFLOAT, which is rewritten to
//! `HSET key field <new value>` so that a replay never depends on float arithmetic.

use super::{Command, DENYOOM, FAST, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::cmd::set::{
    MAX_RANDOM_REPLY, ScanOptions, empty_scan, parse_random_count, parse_scan_cursor, random_distinct_positions, random_reply_too_large,
    scan_positions,
};
use crate::keyspace::value::{MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE};
use crate::keyspace::{Map, Value};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::string2ll;

const W: u32 = WRITE | DENYOOM | FAST;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.0.0",
        summary: "Set the string value of a hash field",
        ..Command::new("hset", -4, W, (1, 1, 1), Group::Hash, hset)
    },
    Command {
        since: "2.0.0",
        summary: "Set the value of a hash field, only if the field does not exist",
        ..Command::new("hsetnx", 4, W, (1, 1, 1), Group::Hash, hsetnx)
    },
    Command {
        since: "2.0.0",
        summary: "Set multiple hash fields to multiple values",
        ..Command::new("hmset", -4, W, (1, 1, 1), Group::Hash, hset)
    },
    Command {
        since: "2.0.0",
        summary: "Get the value of a hash field",
        ..Command::new("hget", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hget)
    },
    Command {
        since: "2.0.0",
        summary: "Get the values of all the given hash fields",
        ..Command::new("hmget", -3, READONLY | FAST, (1, 1, 1), Group::Hash, hmget)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the fields and values in a hash",
        ..Command::new("hgetall", 2, READONLY, (1, 1, 1), Group::Hash, hgetall)
    },
    Command {
        since: "2.0.0",
        summary: "Delete one or more hash fields",
        ..Command::new("hdel", -3, WRITE | FAST, (1, 1, 1), Group::Hash, hdel)
    },
    Command {
        since: "2.0.0",
        summary: "Get the number of fields in a hash",
        ..Command::new("hlen", 2, READONLY | FAST, (1, 1, 1), Group::Hash, hlen)
    },
    Command {
        since: "2.0.0",
        summary: "Determine if a hash field exists",
        ..Command::new("hexists", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hexists)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the fields in a hash",
        ..Command::new("hkeys", 2, READONLY, (1, 1, 1), Group::Hash, hkeys)
    },
    Command {
        since: "2.0.0",
        summary: "Get all the values in a hash",
        ..Command::new("hvals", 2, READONLY, (1, 1, 1), Group::Hash, hvals)
    },
    Command {
        since: "2.0.0",
        summary: "Increment the integer value of a hash field by the given number",
        ..Command::new("hincrby", 4, W, (1, 1, 1), Group::Hash, hincrby)
    },
    Command {
        since: "2.6.0",
        summary: "Increment the float value of a hash field by the given amount",
        ..Command::new("hincrbyfloat", 4, W, (1, 1, 1), Group::Hash, hincrbyfloat)
    },
    Command {
        since: "3.2.0",
        summary: "Get the length of the value of a hash field",
        ..Command::new("hstrlen", 3, READONLY | FAST, (1, 1, 1), Group::Hash, hstrlen)
    },
    Command {
        since: "6.2.0",
        summary: "Get one or multiple random fields from a hash",
        ..Command::new("hrandfield", -2, READONLY, (1, 1, 1), Group::Hash, hrandfield)
    },
    Command {
        since: "2.8.0",
        summary: "Incrementally iterate hash fields and associated values",
        ..Command::new("hscan", -3, READONLY, (1, 1, 1), Group::Hash, hscan)
    },
];

type Hash = Map<Vec<u8>, Vec<u8>>;

/// Would Redis keep this hash in a listpack? (Content-based: Redis never converts back, so a
/// hash that once outgrew the limits and shrank is a hash table there; both orders are then
/// "hash order" for a client.)
fn is_listpack(h: &Hash) -> bool {
    h.len() <= MAX_LISTPACK_ENTRIES && h.iter().all(|(f, v)| f.len() <= MAX_LISTPACK_VALUE && v.len() <= MAX_LISTPACK_VALUE)
}

/// `lookupKeyRead` + `checkType(OBJ_HASH)`.
fn read_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Hash>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `lookupKeyWrite` + `checkType(OBJ_HASH)`.
fn write_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Hash>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty if missing. Every caller adds a
/// field right after, so an empty hash never stays in the keyspace.
fn hash_or_create<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Hash, Reply> {
    match ctx.lookup_write(key) {
        None => {}
        Some(Value::Hash(_)) => {}
        Some(_) => return Err(Reply::wrongtype()),
    }
    if !ctx.db().contains(key) {
        ctx.db_add(key.to_vec(), Value::Hash(Hash::default()));
    }
    match ctx.db().get_mut(key) {
        Some(Value::Hash(h)) => Ok(h),
        _ => Err(Reply::wrongtype()), // unreachable: checked or created just above
    }
}

/// HSET key field value [field value ...] / HMSET: the count of new fields (HSET) or OK (HMSET).
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() % 2 == 1 {
        return Reply::wrong_arity(ctx.cmd.name);
    }
    let key = argv[1];
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if h.insert(pair[0].to_vec(), pair[1].to_vec()).is_none() {
            created += 1;
        }
    }
    ctx.signal_modified(key);
    ctx.dirty(((argv.len() - 2) / 2) as u64);
    if ctx.cmd.name == "hmset" { Reply::ok() } else { Reply::Int(created) }
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    if h.contains_key(argv[2]) {
        return Reply::Int(0);
    }
    h.insert(argv[2].to_vec(), argv[3].to_vec());
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(1)
}

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::bulk_opt(h.and_then(|h| h.get(argv[2])).cloned()),
        Err(e) => e,
    }
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Array(argv[2..].iter().map(|f| Reply::bulk_opt(h.and_then(|h| h.get(*f)).cloned())).collect()),
        Err(e) => e,
    }
}

/// HGETALL / HKEYS / HVALS share `genericHgetallCommand`.
fn hgetall_generic(ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) -> Reply {
    let h = match read_hash(ctx, key) {
        Ok(Some(h)) => h,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let mut out = Vec::with_capacity(h.len() * (usize::from(fields) + usize::from(values)));
    for (f, v) in h {
        if fields {
            out.push(Reply::bulk(f.clone()));
        }
        if values {
            out.push(Reply::bulk(v.clone()));
        }
    }
    Reply::Array(out)
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], true, true)
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], true, false)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    hgetall_generic(ctx, argv[1], false, true)
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let h = match write_hash(ctx, key) {
        Ok(Some(h)) => h,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let listpack = is_listpack(h);
    let mut deleted = 0;
    let mut emptied = false;
    for f in &argv[2..] {
        // A listpack deletes in place (the rest keeps its order); a hash table does not care.
        let removed = if listpack { h.shift_remove(*f) } else { h.swap_remove(*f) };
        if removed.is_some() {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        ctx.delete_key(key);
    }
    if deleted > 0 {
        ctx.signal_modified(key);
        ctx.dirty(deleted);
    }
    Reply::Int(deleted as i64)
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(h.map_or(0, |h| h.len() as i64)),
        Err(e) => e,
    }
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(i64::from(h.is_some_and(|h| h.contains_key(argv[2])))),
        Err(e) => e,
    }
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match read_hash(ctx, argv[1]) {
        Ok(h) => Reply::Int(h.and_then(|h| h.get(argv[2])).map_or(0, |v| v.len() as i64)),
        Err(e) => e,
    }
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    // The increment is parsed before the key is even looked up.
    let incr = match args::int(argv[3]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let old = match h.get(argv[2]) {
        Some(v) => match string2ll(v) {
            Some(n) => n,
            None => return Reply::err("ERR hash value is not an integer"),
        },
        None => 0,
    };
    let Some(new) = old.checked_add(incr) else {
        return Reply::err(crate::reply::INCR_OVERFLOW);
    };
    h.insert(argv[2].to_vec(), new.to_string().into_bytes());
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::Int(new)
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let Some(incr) = long_double::F80::parse(argv[3]) else {
        return Reply::not_float();
    };
    if !incr.is_finite() {
        return Reply::err("ERR value is NaN or Infinity");
    }
    let h = match hash_or_create(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let old = match h.get(argv[2]) {
        Some(v) => match long_double::F80::parse(v) {
            Some(x) => x,
            None => return Reply::err("ERR hash value is not a float"),
        },
        None => long_double::F80::ZERO,
    };
    let value = old.add(incr);
    if !value.is_finite() {
        return Reply::err("ERR increment would produce NaN or Infinity");
    }
    let text = value.to_human_string().into_bytes();
    h.insert(argv[2].to_vec(), text.clone());
    ctx.signal_modified(key);
    ctx.dirty(1);
    // Always replicated as HSET with the final value: float formatting or precision differences
    // must never make a replica or a reloaded AOF diverge.
    ctx.rewrite_argv(&[b"HSET", key, argv[2], &text]);
    Reply::Bulk(text)
}

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    if argv.len() == 2 {
        let h = match read_hash(ctx, key) {
            Ok(Some(h)) => h.len(),
            Ok(None) => return Reply::Nil,
            Err(e) => return e,
        };
        let i = ctx.srv.rng.usize(0..h.max(1));
        return match ctx.db().get(key) {
            Some(Value::Hash(h)) => Reply::bulk_opt(h.get_index(i).map(|(f, _)| f.clone())),
            _ => Reply::Nil,
        };
    }
    let l = match parse_random_count(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let withvalues = match argv.len() {
        3 => false,
        4 if args::is(argv[3], "withvalues") => true,
        _ => return Reply::syntax(),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Reply::err("ERR value is out of range");
    }
    let (size, listpack) = match read_hash(ctx, key) {
        Ok(Some(h)) => (h.len(), is_listpack(h)),
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let count = l.unsigned_abs();
    if count == 0 {
        return Reply::Array(Vec::new());
    }
    // CASE 1: negative count (repetitions allowed, any order), or a count of one.
    let positions: Vec<usize> = if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return random_reply_too_large();
        }
        (0..count).map(|_| ctx.srv.rng.usize(0..size.max(1))).collect()
    } else if count as usize >= size {
        // CASE 2: the whole hash, in its order.
        (0..size).collect()
    } else {
        let mut p = random_distinct_positions(&mut ctx.srv.rng, size, count as usize);
        // A listpack samples in place and replies in listpack order; a hash table replies in
        // the order of its temporary dict.
        if listpack {
            p.sort_unstable();
        }
        p
    };
    let Some(Value::Hash(h)) = ctx.db().get(key) else {
        return Reply::Array(Vec::new());
    };
    let mut out = Vec::with_capacity(positions.len() * if withvalues { 2 } else { 1 });
    for i in positions {
        if let Some((f, v)) = h.get_index(i) {
            out.push(Reply::bulk(f.clone()));
            if withvalues {
                out.push(Reply::bulk(v.clone()));
            }
        }
    }
    Reply::Array(out)
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let cursor = match parse_scan_cursor(argv[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let h = match read_hash(ctx, argv[1]) {
        Ok(Some(h)) => h,
        Ok(None) => return empty_scan(),
        Err(e) => return e,
    };
    let opts = match ScanOptions::parse(&argv[3..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let mut emit = |f: &Vec<u8>, v: &Vec<u8>| {
        if opts.matches(f) {
            out.push(Reply::bulk(f.clone()));
            out.push(Reply::bulk(v.clone()));
        }
    };
    let next = if is_listpack(h) {
        // A listpack is returned whole, in one call, with cursor 0.
        h.iter().for_each(|(f, v)| emit(f, v));
        0
    } else {
        // Redis counts the items collected, two per field.
        scan_positions(h.len(), cursor, opts.count, 2, |i| {
            if let Some((f, v)) = h.get_index(i) {
                emit(f, v);
            }
        })
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)])
}

/// x87 80-bit extended precision, the `long double` of Redis on x86-64 Linux, which HINCRBYFLOAT
/// (and INCRBYFLOAT) compute with: a 64-bit significand with an explicit integer bit and a
/// 15-bit exponent. Only what HINCRBYFLOAT needs: `strtold` (correctly rounded, as glibc's),
/// one addition rounded to nearest-even, and `"%.17Lf"` with trailing zeros trimmed
/// (`ld2string(LD_STR_HUMAN)`). Checked against gcc's `strtold` + `printf("%.17Lf")` on x86-64
/// over 200k random and edge-case pairs (decimal, hex, subnormal, overflow, 5000-digit inputs).
// TODO(merge): use string.rs long-double helper
mod long_double {
    /// The LSB exponent of subnormals and of the smallest normal binade (2^-16382 = 2^63·2^-16445).
    const MIN_EXP: i32 = -16445;
    /// The LSB exponent of the largest binade (the largest finite value is (2^64-1)·2^16320).
    const MAX_EXP: i32 = 16320;
    /// `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs this long or longer.
    const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum F80 {
        Zero {
            neg: bool,
        },
        Inf {
            neg: bool,
        },
        Nan,
        /// `mant · 2^exp`, `mant != 0`: bit 63 set for a normal number; a subnormal has
        /// `exp == MIN_EXP`.
        Finite {
            neg: bool,
            mant: u64,
            exp: i32,
        },
    }

    impl F80 {
        pub const ZERO: F80 = F80::Zero { neg: false };

        pub fn is_finite(self) -> bool {
            matches!(self, F80::Zero { .. } | F80::Finite { .. })
        }

        /// Rounds `mag · 2^lsb` (plus, if `sticky`, something positive below `2^lsb`) to nearest,
        /// ties to even. Callers guarantee `mag` has more than 64 significant bits when `sticky`.
        fn round(neg: bool, mag: u128, lsb: i32, sticky: bool) -> F80 {
            if mag == 0 {
                return F80::Zero { neg };
            }
            let p = 127 - mag.leading_zeros() as i32;
            let msb = lsb.saturating_add(p);
            let target = msb.saturating_sub(63).max(MIN_EXP);
            let shift = target.saturating_sub(lsb);
            let mut m: u128;
            if shift <= 0 {
                m = mag << (-shift) as u32; // exact: fits in 64 bits by the choice of target
            } else {
                let shift = shift as u32;
                m = mag.checked_shr(shift).unwrap_or(0);
                let (round, rest) = if shift > 128 {
                    (false, true)
                } else {
                    let below = mag & ((1u128 << (shift - 1)) - 1);
                    ((mag >> (shift - 1)) & 1 == 1, below != 0 || sticky)
                };
                if round && (rest || m & 1 == 1) {
                    m += 1;
                }
            }
            let mut exp = target;
            if m == 1u128 << 64 {
                m = 1u128 << 63;
                exp += 1;
            }
            if m == 0 {
                return F80::Zero { neg };
            }
            if exp > MAX_EXP {
                return F80::Inf { neg };
            }
            F80::Finite { neg, mant: m as u64, exp }
        }

        /// `a + b` as the FPU computes it (round to nearest, ties to even).
        pub fn add(self, other: F80) -> F80 {
            use F80::*;
            match (self, other) {
                (Nan, _) | (_, Nan) => Nan,
                (Inf { neg: a }, Inf { neg: b }) => {
                    if a == b {
                        Inf { neg: a }
                    } else {
                        Nan
                    }
                }
                (Inf { neg }, _) | (_, Inf { neg }) => Inf { neg },
                (Zero { neg: a }, Zero { neg: b }) => Zero { neg: a && b },
                (Zero { .. }, x) | (x, Zero { .. }) => x,
                (Finite { neg: na, mant: ma, exp: ea }, Finite { neg: nb, mant: mb, exp: eb }) => {
                    // Normalise (bit 63 set) so that magnitudes compare as (exp, mant).
                    let norm = |m: u64, e: i32| {
                        let z = m.leading_zeros();
                        (m << z, e - z as i32)
                    };
                    let (ma, ea) = norm(ma, ea);
                    let (mb, eb) = norm(mb, eb);
                    let ((nbig, mbig, ebig), (nsmall, msmall, esmall)) =
                        if (ea, ma) >= (eb, mb) { ((na, ma, ea), (nb, mb, eb)) } else { ((nb, mb, eb), (na, ma, ea)) };
                    // 62 guard bits below the significand; what falls off the smaller operand
                    // becomes a sticky bit at the bottom.
                    let a = u128::from(mbig) << 62;
                    let b0 = u128::from(msmall) << 62;
                    let d = (ebig - esmall) as u32;
                    let b = if d >= 127 {
                        1
                    } else {
                        let lost = b0 & ((1u128 << d) - 1) != 0;
                        (b0 >> d) | u128::from(lost)
                    };
                    let r = if nbig == nsmall { a + b } else { a - b };
                    if r == 0 {
                        return Zero { neg: false };
                    }
                    F80::round(nbig, r, ebig - 62, false)
                }
            }
        }

        /// `string2ld`: glibc `strtold` on the whole string; refuses leading space, trailing
        /// garbage, NaN, overflow and underflow to zero.
        pub fn parse(s: &[u8]) -> Option<F80> {
            if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
                return None;
            }
            if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                return None;
            }
            let (neg, rest) = match s[0] {
                b'-' => (true, &s[1..]),
                b'+' => (false, &s[1..]),
                _ => (false, s),
            };
            if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
                return Some(F80::Inf { neg });
            }
            let v = if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
                parse_hex(neg, &rest[2..])?
            } else {
                parse_dec(neg, rest)?
            };
            match v {
                // ERANGE: overflow to HUGE_VAL.
                F80::Inf { .. } | F80::Nan => None,
                x => Some(x),
            }
        }

        /// `ld2string(LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros (and a bare '.') trimmed, `-0`
        /// printed as `0`.
        pub fn to_human_string(self) -> String {
            let (neg, mant, exp) = match self {
                F80::Zero { .. } => return "0".into(),
                F80::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
                F80::Nan => return "nan".into(),
                F80::Finite { neg, mant, exp } => (neg, mant, exp),
            };
            let mut out = String::new();
            if neg {
                out.push('-');
            }
            if exp >= 0 {
                out.push_str(&Big::from_u64(mant).shl(exp as u32).to_decimal());
            } else {
                let k = exp.unsigned_abs();
                let (int, frac) = if k < 64 { (mant >> k, mant & ((1u64 << k) - 1)) } else { (0, mant) };
                const P17: u128 = 100_000_000_000_000_000;
                let prod = u128::from(frac) * P17; // < 2^121
                let mut digits: u128 = 0;
                if k < 128 {
                    digits = prod >> k;
                    let rem = prod & ((1u128 << k) - 1);
                    let half = 1u128 << (k - 1);
                    if rem > half || (rem == half && digits & 1 == 1) {
                        digits += 1;
                    }
                }
                // (k >= 128: the fraction is below 2^-64, far below half of 10^-17.)
                let mut int = u128::from(int);
                if digits == P17 {
                    digits = 0;
                    int += 1;
                }
                out.push_str(&int.to_string());
                let frac = format!("{digits:017}");
                let frac = frac.trim_end_matches('0');
                if !frac.is_empty() {
                    out.push('.');
                    out.push_str(frac);
                }
            }
            if out == "-0" {
                out = "0".into();
            }
            out
        }
    }

    /// C `strtold` for a decimal number (after the sign). None: not a number at all.
    fn parse_dec(neg: bool, s: &[u8]) -> Option<F80> {
        let mut i = 0;
        let mut digits: Vec<u8> = Vec::new();
        let mut exp10: i64 = 0;
        let mut any = false;
        while i < s.len() && s[i].is_ascii_digit() {
            if !digits.is_empty() || s[i] != b'0' {
                digits.push(s[i] - b'0');
            }
            any = true;
            i += 1;
        }
        if i < s.len() && s[i] == b'.' {
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                if !digits.is_empty() || s[i] != b'0' {
                    digits.push(s[i] - b'0');
                }
                exp10 -= 1;
                any = true;
                i += 1;
            }
        }
        if !any {
            return None;
        }
        if i < s.len() && (s[i] | 0x20) == b'e' {
            i += 1;
            let eneg = match s.get(i) {
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
            let start = i;
            let mut e: i64 = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                e = (e * 10 + i64::from(s[i] - b'0')).min(1 << 40);
                i += 1;
            }
            if i == start {
                return None; // "1e" / "1e+": strtold stops before the 'e' → trailing garbage
            }
            exp10 += if eneg { -e } else { e };
        }
        if i != s.len() {
            return None;
        }
        // Trailing zeros of the digit string only scale by ten.
        while digits.last() == Some(&0) {
            digits.pop();
            exp10 += 1;
        }
        if digits.is_empty() {
            return Some(F80::Zero { neg });
        }
        let n = digits.len() as i64;
        // value ∈ [10^(n-1+exp10), 10^(n+exp10)); the finite range is about [3.6e-4951, 1.19e4932].
        if n - 1 + exp10 > 4932 {
            return Some(F80::Inf { neg });
        }
        if n + exp10 < -4951 {
            return None; // underflow to zero: ERANGE
        }
        let d = Big::from_digits(&digits);
        let v = if exp10 >= 0 {
            let x = d.mul(&Big::pow10(exp10 as u32));
            let (mag, lsb, sticky) = x.top128();
            F80::round(neg, mag, lsb, sticky)
        } else {
            // q = floor(d·2^s / 10^-exp10) with 66 or 67 bits, the remainder as sticky.
            let den = Big::pow10(exp10.unsigned_abs() as u32);
            let s = 66 + den.bit_len() as i64 - d.bit_len() as i64;
            let (num, den) = if s >= 0 { (d.shl(s as u32), den) } else { (d, den.shl(s.unsigned_abs() as u32)) };
            let (q, rem_nonzero) = num.div_small_quotient(&den);
            F80::round(neg, q, -s as i32, rem_nonzero)
        };
        match v {
            F80::Zero { .. } => None, // underflow to zero: ERANGE
            x => Some(x),
        }
    }

    /// C99 hex float after "0x": hex digits with an optional point, optional `p[+-]exp`.
    fn parse_hex(neg: bool, s: &[u8]) -> Option<F80> {
        let mut i = 0;
        let mut mag: u128 = 0;
        let mut sticky = false;
        let mut exp2: i64 = 0;
        let mut any = false;
        let mut seen_point = false;
        while i < s.len() {
            let c = s[i];
            if c == b'.' && !seen_point {
                seen_point = true;
                i += 1;
                continue;
            }
            let Some(h) = (c as char).to_digit(16) else { break };
            any = true;
            if mag >> 120 == 0 {
                mag = (mag << 4) | u128::from(h);
                if seen_point {
                    exp2 -= 4;
                }
            } else {
                sticky |= h != 0;
                if !seen_point {
                    exp2 += 4;
                }
            }
            i += 1;
        }
        if !any {
            return None;
        }
        if i < s.len() && (s[i] | 0x20) == b'p' {
            i += 1;
            let eneg = match s.get(i) {
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
            let start = i;
            let mut e: i64 = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                e = (e * 10 + i64::from(s[i] - b'0')).min(1 << 40);
                i += 1;
            }
            if i == start {
                return None;
            }
            exp2 += if eneg { -e } else { e };
        }
        if i != s.len() {
            return None;
        }
        if mag == 0 {
            return Some(F80::Zero { neg });
        }
        let exp2 = exp2.clamp(-1_000_000, 1_000_000) as i32;
        match F80::round(neg, mag, exp2, sticky) {
            F80::Zero { .. } => None,
            x => Some(x),
        }
    }

    /// A minimal unsigned big integer (little-endian 32-bit limbs) for exact conversions.
    #[derive(Clone, Debug)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }
        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }
        fn mul_small_add(&mut self, m: u32, a: u32) {
            let mut carry = u64::from(a);
            for limb in &mut self.0 {
                let v = u64::from(*limb) * u64::from(m) + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                self.0.push(carry as u32);
            }
        }
        fn from_digits(digits: &[u8]) -> Big {
            let mut b = Big(Vec::new());
            for chunk in digits.chunks(9) {
                let mut v = 0u32;
                for &d in chunk {
                    v = v * 10 + u32::from(d);
                }
                b.mul_small_add(10u32.pow(chunk.len() as u32), v);
            }
            b.trim();
            b
        }
        fn pow10(n: u32) -> Big {
            let mut b = Big(vec![1]);
            for _ in 0..n / 9 {
                b.mul_small_add(1_000_000_000, 0);
            }
            b.mul_small_add(10u32.pow(n % 9), 0);
            b
        }
        fn mul(&self, o: &Big) -> Big {
            let mut r = vec![0u32; self.0.len() + o.0.len()];
            for (i, &a) in self.0.iter().enumerate() {
                let mut carry = 0u64;
                for (j, &b) in o.0.iter().enumerate() {
                    let v = u64::from(a) * u64::from(b) + u64::from(r[i + j]) + carry;
                    r[i + j] = v as u32;
                    carry = v >> 32;
                }
                let mut k = i + o.0.len();
                while carry != 0 {
                    let v = u64::from(r[k]) + carry;
                    r[k] = v as u32;
                    carry = v >> 32;
                    k += 1;
                }
            }
            let mut b = Big(r);
            b.trim();
            b
        }
        fn bit_len(&self) -> u32 {
            match self.0.last() {
                Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
                None => 0,
            }
        }
        fn bit(&self, i: u32) -> bool {
            self.0.get((i / 32) as usize).is_some_and(|l| (l >> (i % 32)) & 1 == 1)
        }
        fn shl(&self, n: u32) -> Big {
            let (limbs, bits) = ((n / 32) as usize, n % 32);
            let mut r = vec![0u32; limbs];
            let mut carry = 0u32;
            for &l in &self.0 {
                if bits == 0 {
                    r.push(l);
                } else {
                    r.push((l << bits) | carry);
                    carry = l >> (32 - bits);
                }
            }
            if carry != 0 {
                r.push(carry);
            }
            let mut b = Big(r);
            b.trim();
            b
        }
        fn cmp(&self, o: &Big) -> std::cmp::Ordering {
            self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }
        fn sub_assign(&mut self, o: &Big) {
            let mut borrow = 0i64;
            for i in 0..self.0.len() {
                let v = i64::from(self.0[i]) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
                borrow = i64::from(v < 0);
                self.0[i] = v.rem_euclid(1 << 32) as u32;
            }
            self.trim();
        }
        /// The top 128 bits as `(mag, lsb exponent, sticky)`.
        fn top128(&self) -> (u128, i32, bool) {
            let len = self.bit_len();
            let shift = len.saturating_sub(128);
            let mut mag = 0u128;
            for i in (shift..len).rev() {
                mag = (mag << 1) | u128::from(self.bit(i));
            }
            let sticky = (0..shift).any(|i| self.bit(i));
            (mag, shift as i32, sticky)
        }
        /// `self / den` for a quotient known to fit in 67 bits, and whether a remainder is left.
        fn div_small_quotient(mut self, den: &Big) -> (u128, bool) {
            let mut q = 0u128;
            for i in (0..=67).rev() {
                let d = den.shl(i);
                if self.cmp(&d) != std::cmp::Ordering::Less {
                    self.sub_assign(&d);
                    q |= 1u128 << i;
                }
            }
            (q, !self.0.is_empty())
        }
        fn to_decimal(&self) -> String {
            let mut limbs = self.0.clone();
            let mut chunks = Vec::new();
            while !limbs.is_empty() {
                let mut rem = 0u64;
                for l in limbs.iter_mut().rev() {
                    let v = (rem << 32) | u64::from(*l);
                    *l = (v / 1_000_000_000) as u32;
                    rem = v % 1_000_000_000;
                }
                while limbs.last() == Some(&0) {
                    limbs.pop();
                }
                chunks.push(rem as u32);
            }
            let mut s = chunks.pop().map_or_else(|| "0".to_string(), |c| c.to_string());
            for c in chunks.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
            s
        }
    }

    #[cfg(test)]
    mod tests {
        use super::F80;

        fn incr(a: &str, b: &str) -> Option<String> {
            let x = F80::parse(a.as_bytes())?.add(F80::parse(b.as_bytes())?);
            x.is_finite().then(|| x.to_human_string())
        }

        #[test]
        fn matches_glibc_long_double() {
            // Values checked against redis-server 7.0.15 (HINCRBYFLOAT) / gcc on x86-64.
            assert_eq!(incr("0", "1.5").as_deref(), Some("1.5"));
            assert_eq!(incr("1.5", "0.1").as_deref(), Some("1.6"));
            assert_eq!(incr("1.6", "1e30").as_deref(), Some("1000000000000000000024696061952"));
            assert_eq!(incr("0", "-0.0").as_deref(), Some("0"));
            assert_eq!(incr("0", "1e-20").as_deref(), Some("0"));
            assert_eq!(incr("10.50", "0.1").as_deref(), Some("10.6"));
            assert_eq!(incr("5.0e3", "2.0e2").as_deref(), Some("5200"));
            assert_eq!(incr("1e4932", "1e4932"), None);
            assert_eq!(F80::parse(b"1e5000"), None);
            assert_eq!(F80::parse(b"1e-5000"), None);
            assert_eq!(F80::parse(b"0e-5000"), Some(F80::Zero { neg: false }));
            assert_eq!(F80::parse(b" 1"), None);
            assert_eq!(F80::parse(b"1 "), None);
            assert_eq!(F80::parse(b"nan"), None);
            assert_eq!(F80::parse(b"1e"), None);
            assert_eq!(F80::parse(b"."), None);
            assert!(F80::parse(b"inf").is_some());
            assert_eq!(incr("0x1p-2", "0").as_deref(), Some("0.25"));
        }
    }
}
