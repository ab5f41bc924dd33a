//! OBJECT (Redis's `object.c`): what is known about a key's value besides the value itself —
//! its encoding, its reference count, and the access information the eviction policies use.
//!
//! ```text
//! OBJECT ENCODING k   int | embstr | raw | listpack | quicklist | intset | hashtable | skiplist | stream
//! OBJECT REFCOUNT k   1, or 2147483647 for a shared integer (a string 0..9999, no LRU/LFU maxmemory)
//! OBJECT IDLETIME k   seconds since the last access (LRU clock: unix seconds mod 2^24); an error under LFU
//! OBJECT FREQ k       the logarithmic access counter (LFU policies only; an error otherwise)
//! ```
//!
//! **The access field** (`robj.lru`, kept per key by [`crate::keyspace::Db`]): a value stored
//! gets the clock of that moment; every lookup of a command touches it (except TYPE, EXISTS,
//! OBJECT, which look up with `LOOKUP_NOTOUCH`, and while a child is saving, so as not to copy
//! pages). Under an LFU policy it is `minutes (16 bits) << 8 | counter`: a new value starts at
//! `LFU_INIT_VAL` 5, an access first decays the counter by one per `lfu-decay-time` minutes
//! elapsed, then increments it with probability `1 / ((counter - 5) * lfu-log-factor + 1)`.
//! RESTORE's IDLETIME / FREQ set the field directly.
//!
//! Compared with Redis: a string's encoding is derived from its bytes (a canonical integer of at
//! most 20 bytes is `int`, up to 44 bytes `embstr`, else `raw`), except where Redis decides
//! otherwise, which [`crate::keyspace::EncodingHint`] records: `raw` for a string written in
//! place, `embstr` for INCRBYFLOAT's result, `hashtable` for a hash once converted. A hash never
//! converted is a listpack while it fits the `hash-max-listpack-*` settings. Sets and sorted sets
//! record their conversions in their values. Compared with Redis: a hash loaded from an RDB is
//! judged by the default limits, not the configured ones.

use crate::keyspace::{EncodingHint, Value};
use crate::rdb::dump::{Limits, hash_is_listpack};
use crate::reply::Reply;
use crate::server::{Ctx, Server};
use crate::util::string2ll;

/// `LRU_CLOCK_MAX`: the 24-bit LRU clock's largest value.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;
/// `LFU_INIT_VAL`: the counter of a new value.
const LFU_INIT_VAL: u32 = 5;
/// `OBJ_SHARED_REFCOUNT`: a shared object's refcount (`INT_MAX`).
const OBJ_SHARED_REFCOUNT: i64 = 2_147_483_647;
/// `OBJ_SHARED_INTEGERS`: 0..10000 are shared strings.
const OBJ_SHARED_INTEGERS: i64 = 10_000;

/// `MAXMEMORY_FLAG_LFU`: allkeys-lfu and volatile-lfu.
pub(crate) fn policy_is_lfu(policy: &str) -> bool {
    policy.ends_with("-lfu")
}

/// `MAXMEMORY_FLAG_NO_SHARED_INTEGERS`: the LRU and LFU policies.
fn policy_has_no_shared_integers(policy: &str) -> bool {
    policy.ends_with("-lfu") || policy.ends_with("-lru")
}

/// `LRU_CLOCK()`: unix seconds modulo 2^24.
fn lru_clock(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000) & LRU_CLOCK_MAX
}

/// `LFUGetTimeInMinutes()`: unix minutes modulo 2^16.
fn lfu_minutes(now_ms: i64) -> i64 {
    now_ms.div_euclid(60_000) & 0xFFFF
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n & 0xFF_FFFF).unwrap_or(0)
}

impl Server {
    /// Sets the clock that values stored from now on record (`createObject`'s `lru`).
    pub fn sync_lru_clock(&mut self) {
        let lfu = policy_is_lfu(self.config.maxmemory_policy);
        let now = if lfu { (lfu_minutes(self.now_ms) << 8) | i64::from(LFU_INIT_VAL) } else { lru_clock(self.now_ms) };
        for db in &mut self.dbs {
            db.set_lru_now(to_u32(now), lfu);
        }
    }

    /// `lookupKey`'s touch: the access time (LRU) or the counter (LFU) of a key found, unless a
    /// child is saving.
    /// The `lru` field a lookup stores, when that is all its touch does (no child running, not
    /// an LFU policy): the clock of this command, set by `sync_lru_clock`. `None`: call
    /// [`Server::touch_key`].
    pub fn touch_clock(&self) -> Option<u32> {
        if self.has_active_child() || policy_is_lfu(self.config.maxmemory_policy) {
            return None;
        }
        Some(to_u32(lru_clock(self.now_ms)))
    }

    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        if self.has_active_child() {
            return;
        }
        let lfu = policy_is_lfu(self.config.maxmemory_policy);
        let Some(d) = self.dbs.get_mut(db) else { return };
        if !lfu {
            // One lookup on the hot path: the clock of this command, set by sync_lru_clock.
            let clock = to_u32(lru_clock(self.now_ms));
            d.set_lru(key, clock);
            return;
        }
        let Some(old) = d.lru_of(key) else { return };
        let counter = self.lfu_decr_and_return(old);
        let counter = self.lfu_log_incr(counter);
        self.dbs[db].set_lru(key, to_u32((lfu_minutes(self.now_ms) << 8) | i64::from(counter)));
    }

    /// `LFUDecrAndReturn`: the counter less one per `lfu-decay-time` minutes since its last
    /// decrement.
    fn lfu_decr_and_return(&self, lru: u32) -> u32 {
        let ldt = i64::from(lru >> 8);
        let counter = lru & 0xFF;
        let now = lfu_minutes(self.now_ms);
        let elapsed = if now >= ldt { now - ldt } else { 65535 - ldt + now };
        let decay = self.lfu_decay_time();
        let periods = if decay > 0 { elapsed / decay } else { 0 };
        u32::try_from(i64::from(counter).saturating_sub(periods).max(0)).unwrap_or(0)
    }

    /// `LFULogIncr`: a logarithmic increment (saturating at 255).
    fn lfu_log_incr(&mut self, counter: u32) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let r = self.rng.f64();
        let baseval = f64::from(counter.saturating_sub(LFU_INIT_VAL));
        let p = 1.0 / (baseval * self.lfu_log_factor() + 1.0);
        if r < p { counter + 1 } else { counter }
    }

    fn lfu_decay_time(&self) -> i64 {
        self.config.get("lfu-decay-time").and_then(|v| v.parse().ok()).unwrap_or(1)
    }
    fn lfu_log_factor(&self) -> f64 {
        self.config.get("lfu-log-factor").and_then(|v| v.parse().ok()).unwrap_or(10.0)
    }
}

/// `objectSetLRUOrLFU` for RESTORE: FREQ under an LFU policy, IDLETIME otherwise.
pub(super) fn set_lru_or_lfu(ctx: &mut Ctx, key: &[u8], freq: Option<i64>, idle: Option<i64>, now_ms: i64) {
    let lru = if policy_is_lfu(ctx.srv.config.maxmemory_policy) {
        match freq {
            Some(f) => (lfu_minutes(now_ms) << 8) | f,
            None => return,
        }
    } else {
        match idle {
            Some(idle) => {
                let abs = lru_clock(now_ms) - idle.wrapping_mul(1000) / 1000;
                if abs < 0 { abs.wrapping_add(LRU_CLOCK_MAX) } else { abs }
            }
            None => return,
        }
    };
    ctx.db().set_lru(key, to_u32(lru));
}

/// `strEncoding(o->encoding)` for a value, under the current limits.
pub(crate) fn encoding(value: &Value, hint: EncodingHint, limits: &Limits) -> &'static str {
    match value {
        Value::String(_) if hint == EncodingHint::Raw => "raw",
        Value::String(_) if hint == EncodingHint::Embstr => "embstr",
        Value::String(s) if s.len() <= 20 && string2ll(s).is_some() => "int",
        Value::String(s) if s.len() <= 44 => "embstr",
        Value::String(_) => "raw",
        Value::List(_) => "quicklist",
        Value::Hash(h) if hint != EncodingHint::Hashtable && hash_is_listpack(h, limits) => "listpack",
        Value::Hash(_) => "hashtable",
        Value::Set(s) if s.intset => "intset",
        Value::Set(_) => "hashtable",
        Value::ZSet(z) if !z.is_skiplist() => "listpack",
        Value::ZSet(_) => "skiplist",
        Value::Stream(_) => "stream",
    }
}

const HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

pub(super) fn object_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    crate::cmd::server::help_reply("OBJECT", HELP)
}

/// `objectCommandLookup`: `LOOKUP_NOTOUCH`.
fn lookup<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Value> {
    ctx.lookup_read_notouch(key)
}

pub(super) fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let limits = super::dump::limits(ctx);
    if lookup(ctx, argv[2]).is_none() {
        return Reply::Nil;
    }
    let db = ctx.db();
    match db.get(argv[2]) {
        Some(v) => Reply::bulk(encoding(v, db.encoding_hint(argv[2]), &limits)),
        None => Reply::Nil,
    }
}

pub(super) fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if lookup(ctx, argv[2]).is_none() {
        return Reply::Nil;
    }
    Reply::Int(refcount(ctx, argv[2]))
}

/// `o->refcount`: a shared integer (0–9999, when the policy allows sharing) is `INT_MAX`.
fn refcount(ctx: &mut Ctx, key: &[u8]) -> i64 {
    let shared_ok = ctx.srv.config.maxmemory == 0 || !policy_has_no_shared_integers(ctx.srv.config.maxmemory_policy);
    let db = ctx.db();
    let shared_ok = shared_ok && db.encoding_hint(key) == EncodingHint::Auto;
    match db.get(key) {
        Some(Value::String(s)) if shared_ok && s.len() <= 20 && string2ll(s).is_some_and(|v| (0..OBJ_SHARED_INTEGERS).contains(&v)) => {
            OBJ_SHARED_REFCOUNT
        }
        _ => 1,
    }
}

/// `estimateObjectIdleTime` in seconds: the LRU clock wraps every 2^24 s (194 days).
fn idle_seconds(lru: i64, now_ms: i64) -> i64 {
    let clock = lru_clock(now_ms);
    if clock >= lru { clock - lru } else { clock + (LRU_CLOCK_MAX - lru) }
}

/// `DEBUG OBJECT <key>`: the key's value as Redis describes it (no expiry check, no touch):
/// `Value at:<address> refcount:… encoding:… serializedlength:<its RDB bytes> lru:<field>
/// lru_seconds_idle:…`, and for a list its quicklist (`ql_nodes`, `ql_avg_node`,
/// `ql_listpack_max`, `ql_compressed`, `ql_uncompressed_size`). The engine has no addresses:
/// the one shown is made from the key's hash, distinct per key, stable while it lives.
pub(crate) fn debug_object(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let key = argv[2];
    let limits = super::dump::limits(ctx);
    let compress = ctx.srv.rdb_compression();
    let (fill, compress_depth) = (ctx.srv.config.list_max_listpack_size, ctx.srv.config.list_compress_depth);
    let now_ms = ctx.now_ms();
    let refcount = refcount(ctx, key);
    let db = ctx.db();
    let Some(value) = db.get(key) else {
        return Reply::err("ERR no such key");
    };
    let hint = db.encoding_hint(key);
    let limits = crate::rdb::dump::Limits { hash_is_hashtable: hint == EncodingHint::Hashtable, ..limits };
    let mut bytes = Vec::new();
    let push = if compress { crate::rdb::write::push_string_lzf } else { crate::rdb::push_string };
    crate::rdb::dump::write_object_value(&mut bytes, value, &limits, push);
    let mut extra = String::new();
    if let Value::List(l) = value {
        let nodes = crate::rdb::dump::list_nodes(value, &limits);
        let n = nodes.len().max(1);
        extra = format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            nodes.len(),
            l.len() as f64 / n as f64,
            fill,
            i32::from(compress_depth != 0),
            nodes.iter().map(Vec::len).sum::<usize>()
        );
    }
    let lru = i64::from(db.lru_of(key).unwrap_or(0));
    let address = 0x7f00_0000_0000_u64 | ((crate::keyspace::dict::hash(key) & 0x0fff_ffff) << 4);
    Reply::Status(
        format!(
            "Value at:{address:#x} refcount:{refcount} encoding:{} serializedlength:{} lru:{lru} lru_seconds_idle:{}{extra}",
            encoding(value, hint, &limits),
            bytes.len(),
            idle_seconds(lru, now_ms)
        )
        .into(),
    )
}

pub(super) fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if lookup(ctx, argv[2]).is_none() {
        return Reply::Nil;
    }
    if policy_is_lfu(ctx.srv.config.maxmemory_policy) {
        return Reply::err(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        );
    }
    let lru = i64::from(ctx.db().lru_of(argv[2]).unwrap_or(0));
    Reply::Int(idle_seconds(lru, ctx.now_ms()))
}

pub(super) fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if lookup(ctx, argv[2]).is_none() {
        return Reply::Nil;
    }
    if !policy_is_lfu(ctx.srv.config.maxmemory_policy) {
        return Reply::err(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        );
    }
    let lru = ctx.db().lru_of(argv[2]).unwrap_or(0);
    Reply::Int(i64::from(ctx.srv.lfu_decr_and_return(lru)))
}
