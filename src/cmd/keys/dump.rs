//! DUMP and RESTORE (`dumpCommand` / `restoreCommand` in Redis's `cluster.c`): a value out of a
//! key as a self-checking blob ([`crate::rdb::dump`]), and back into a key.
//!
//! ```text
//! RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
//! ```
//!
//! Checks, in Redis's order: the options (IDLETIME and FREQ exclude each other: the second one
//! is a syntax error), BUSYKEY unless REPLACE, the TTL (an integer ≥ 0; 0 = no TTL), the
//! payload's version and CRC, then the object itself ("Bad data format").
//!
//! **Propagation.** A relative TTL is made absolute when RESTORE runs, and that is what reaches
//! the AOF: `RESTORE key <unix ms> payload … ABSTTL` (ABSTTL appended after the client's own
//! options), so that replaying the file later sets the same deadline. A TTL already in the past
//! stores nothing: with REPLACE over an existing key that is a deletion, propagated as `DEL key`;
//! otherwise nothing is propagated. (While loading the AOF the past deadline is kept, as for
//! EXPIRE.)

use crate::cmd::args;
use crate::cmd::keys::{already_expired, opt_is};
use crate::keyspace::{EncodingHint, Value};
use crate::rdb::dump::{Limits, dump_payload};
use crate::rdb::read::{LoadLimits, read_object_limited};
use crate::reply::Reply;
use crate::server::Ctx;

/// `shared.busykeyerr`.
const BUSYKEY: &str = "BUSYKEY Target key name already exists.";

/// The limits a value's encoding is judged by: `list-max-listpack-size` as configured (a list's
/// nodes follow it as they fill). A hash is a hash table once converted
/// ([`EncodingHint::Hashtable`], set when a write makes it outgrow the configured limits);
/// otherwise it is judged by the default limits, a safety net for a hash loaded by a path
/// that did not record its conversion.
pub(crate) fn limits(ctx: &Ctx) -> Limits {
    Limits { list_max_listpack_size: ctx.srv.config.list_max_listpack_size, ..Limits::default() }
}

pub(super) fn dump(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut limits = limits(ctx);
    if ctx.lookup_read(argv[1]).is_none() {
        return Reply::Nil;
    }
    let compress = ctx.srv.rdb_compression();
    let db = ctx.db();
    limits.hash_is_hashtable = db.encoding_hint(argv[1]) == EncodingHint::Hashtable;
    match db.get(argv[1]) {
        None => Reply::Nil,
        Some(v) => Reply::Bulk(dump_payload(v, &limits, compress)),
    }
}

pub(super) fn restore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let additional = argv.len() - j - 1;
        if opt_is(argv[j], "replace") {
            replace = true;
        } else if opt_is(argv[j], "absttl") {
            absttl = true;
        } else if opt_is(argv[j], "idletime") && additional >= 1 && freq.is_none() {
            let n = match args::int(argv[j + 1]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if n < 0 {
                return Reply::err("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(n);
            j += 1;
        } else if opt_is(argv[j], "freq") && additional >= 1 && idle.is_none() {
            let n = match args::int(argv[j + 1]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if !(0..=255).contains(&n) {
                return Reply::err("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(n);
            j += 1;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    if !replace && ctx.lookup_write(key).is_some() {
        return Reply::err(BUSYKEY);
    }
    let mut ttl = match args::int(argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if ttl < 0 {
        return Reply::err("ERR Invalid TTL value, must be >= 0");
    }
    if !crate::rdb::verify_dump_payload(argv[3]) {
        return Reply::err("ERR DUMP payload version or checksum are wrong");
    }
    // The object is read from the whole payload, as Redis's rio over the argument reads it: a
    // string may run into the footer's bytes (the footer itself checked above).
    let body = argv[3];
    let limits = LoadLimits::of(&ctx.srv.config);
    let Ok(Some(value)) = read_object_limited(body, limits) else {
        return Reply::err("ERR Bad data format");
    };
    let deleted = replace && ctx.delete_key(key);
    if ttl != 0 && !absttl {
        ttl = ttl.wrapping_add(ctx.now_ms());
    }
    if ttl != 0 && already_expired(ctx, ttl) {
        if deleted {
            ctx.rewrite_argv(&[&b"DEL"[..], key]);
            ctx.dirty(1);
        }
        return Reply::ok();
    }
    // `rdbLoadObject` converts a hash that does not fit the limits to a hash table.
    let hashtable = matches!(&value, Value::Hash(h) if limits.hash_is_hashtable(body[0], h));
    ctx.db_add(key, value);
    if hashtable {
        ctx.db().set_encoding_hint(key, EncodingHint::Hashtable);
    }
    if ttl != 0 {
        ctx.db().set_expire(key, ttl);
        if !absttl {
            let mut new_argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
            new_argv[2] = ttl.to_string().into_bytes();
            new_argv.push(b"ABSTTL".to_vec());
            ctx.rewrite_argv(&new_argv);
        }
    }
    let now = ctx.now_ms();
    super::object::set_lru_or_lfu(ctx, key, freq, idle, now);
    ctx.signal_modified(key);
    ctx.dirty(1);
    Reply::ok()
}
