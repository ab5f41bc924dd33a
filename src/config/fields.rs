//! The settings the engine acts on, as one table: for each redis.conf name, how its value is
//! read from and written into its typed field of [`Config`]. The parameter table
//! ([`super::table::PARAMS`]) validates a value first (type, bounds, enum names); a field's
//! `store` only converts it, and may cap it as Redis does (`hz`).
//!
//! One row per setting keeps the two directions together: a name spelled wrong is a row that
//! matches no parameter, which `every_field_is_a_parameter` (below) catches, instead of one
//! direction silently falling through to [`Config::other`].

use std::sync::OnceLock;

use super::{AppendFsync, Config, Val};
use crate::keyspace::HashMap;

/// One typed setting: its canonical name, and its value in and out of `Config`.
pub struct Field {
    pub name: &'static str,
    pub load: fn(&Config) -> Val,
    pub store: fn(&mut Config, Val),
}

macro_rules! flag {
    ($name:literal, $f:ident) => {
        Field { name: $name, load: |c| Val::Bool(c.$f), store: |c, v| c.$f = v.flag() }
    };
}

macro_rules! text {
    ($name:literal, $f:ident) => {
        Field { name: $name, load: |c| Val::Text(c.$f.clone()), store: |c, v| c.$f = v.text() }
    };
}

/// A number kept in a narrower field: the table's bounds make the conversion lossless.
macro_rules! num {
    ($name:literal, $f:ident, $t:ty) => {
        // Saturating: on wasm32 a `usize` setting past 2^32 (the table allows up to LONG_MAX)
        // must stay "huge", not wrap to its low 32 bits. The table's ranges keep the rest in range.
        Field { name: $name, load: |c| Val::Int(c.$f as i64), store: |c, v| c.$f = <$t>::try_from(v.int()).unwrap_or(<$t>::MAX) }
    };
}

pub static FIELDS: &[Field] = &[
    num!("databases", databases, usize),
    // updateHZ: out-of-range values are accepted, then capped.
    Field { name: "hz", load: |c| Val::Int(i64::from(c.hz)), store: |c, v| c.hz = v.int().clamp(1, 500) as u32 },
    flag!("appendonly", appendonly),
    Field {
        name: "appendfsync",
        load: |c| {
            Val::Int(match c.appendfsync {
                AppendFsync::EverySec => 1,
                AppendFsync::Always => 2,
                AppendFsync::No => 0,
            })
        },
        store: |c, v| {
            c.appendfsync = match v.int() {
                2 => AppendFsync::Always,
                0 => AppendFsync::No,
                _ => AppendFsync::EverySec,
            }
        },
    },
    text!("appendfilename", appendfilename),
    text!("appenddirname", appenddirname),
    text!("dir", dir),
    flag!("aof-timestamp-enabled", aof_timestamp_enabled),
    flag!("aof-load-truncated", aof_load_truncated),
    flag!("aof-use-rdb-preamble", aof_use_rdb_preamble),
    flag!("no-appendfsync-on-rewrite", no_appendfsync_on_rewrite),
    num!("auto-aof-rewrite-percentage", auto_aof_rewrite_percentage, u32),
    num!("auto-aof-rewrite-min-size", auto_aof_rewrite_min_size, u64),
    flag!("aof-rewrite-incremental-fsync", aof_rewrite_incremental_fsync),
    flag!("aof-disable-auto-gc", aof_disable_auto_gc),
    flag!("latency-tracking", latency_tracking),
    Field { name: "lab-aof-mode", load: |c| Val::Int(i64::from(c.aof_legacy)), store: |c, v| c.aof_legacy = v.int() == 1 },
    flag!("lazyfree-lazy-expire", lazyfree_lazy_expire),
    flag!("lazyfree-lazy-user-del", lazyfree_lazy_user_del),
    flag!("lazyfree-lazy-user-flush", lazyfree_lazy_user_flush),
    flag!("lazyfree-lazy-server-del", lazyfree_lazy_server_del),
    flag!("lazyfree-lazy-eviction", lazyfree_lazy_eviction),
    num!("proto-max-bulk-len", proto_max_bulk_len, i64),
    num!("maxmemory", maxmemory, u64),
    Field {
        name: "maxmemory-policy",
        load: |c| Val::Int(super::enum_value(maxmemory_policy(), c.maxmemory_policy)),
        store: |c, v| c.maxmemory_policy = super::enum_name(maxmemory_policy(), v.int() as i32),
    },
    num!("port", port, u16),
    text!("bind", bind),
    flag!("protected-mode", protected_mode),
    text!("requirepass", requirepass),
    text!("save", save),
    text!("dbfilename", dbfilename),
    num!("hash-max-listpack-entries", hash_max_listpack_entries, usize),
    num!("hash-max-listpack-value", hash_max_listpack_value, usize),
    num!("set-max-intset-entries", set_max_intset_entries, usize),
    num!("zset-max-listpack-entries", zset_max_listpack_entries, usize),
    num!("zset-max-listpack-value", zset_max_listpack_value, usize),
    num!("list-max-listpack-size", list_max_listpack_size, i32),
    num!("list-compress-depth", list_compress_depth, i32),
    num!("stream-node-max-bytes", stream_node_max_bytes, u64),
    num!("stream-node-max-entries", stream_node_max_entries, i64),
    num!("hll-sparse-max-bytes", hll_sparse_max_bytes, usize),
    num!("active-expire-effort", active_expire_effort, u32),
    num!("timeout", timeout, i64),
    num!("lab-rewrite-keys-per-tick", lab_rewrite_keys_per_tick, usize),
    num!("lab-fsync-latency-ms", lab_fsync_latency_ms, i64),
];

fn maxmemory_policy() -> &'static super::table::Param {
    // The row exists: `every_field_is_a_parameter` checks it.
    super::table::lookup(b"maxmemory-policy").map(|e| e.param).expect("maxmemory-policy is in the table")
}

/// The typed field of a canonical parameter name, if the engine keeps one.
pub fn field(name: &str) -> Option<&'static Field> {
    static BY_NAME: OnceLock<HashMap<&'static str, &'static Field>> = OnceLock::new();
    BY_NAME.get_or_init(|| FIELDS.iter().map(|f| (f.name, f)).collect()).get(name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_a_parameter() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            let entry = super::super::table::lookup(f.name.as_bytes()).unwrap_or_else(|| panic!("{} is no parameter", f.name));
            assert_eq!(entry.param.name, f.name, "{} must be the canonical name, not an alias", f.name);
            assert!(seen.insert(f.name), "{} twice", f.name);
        }
    }

    #[test]
    fn every_field_round_trips_its_default() {
        // Each row reads the field its store wrote: the default's text comes back unchanged.
        let defaults = Config::default();
        for f in FIELDS {
            let mut c = Config::default();
            let v = (f.load)(&defaults);
            (f.store)(&mut c, v.clone());
            assert_eq!((f.load)(&c), v, "{}", f.name);
            assert!(c.other.is_empty(), "{} fell through to `other`", f.name);
        }
    }
}
