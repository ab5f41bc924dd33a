//! Engine settings, named as in `redis.conf`. CONFIG GET / SET and the `serve` command line use
//! the same table ([`table::PARAMS`], Redis 7.0.15's `static_configs[]`), so a setting has one
//! spelling, one parser and one set of error messages everywhere.
//!
//! The settings the engine acts on are typed fields of [`Config`], each read and written by one
//! row of `fields::FIELDS`; every other parameter Redis knows is kept in [`Config::other`] so that CONFIG GET answers and CONFIG SET validates exactly
//! as Redis does, even where the setting has no effect here (TLS, cluster, replication …).
//!
//! CONFIG SET of several parameters is atomic, like 7.0's: all names are checked first (unknown,
//! immutable, protected, duplicate), then every value is parsed; the first bad value restores
//! every parameter of the call and names the culprit.
//!
//! Compared with Redis: `dir` is recorded, not `chdir`ed to; `enable-protected-configs local`
//! counts every client as local; the side effects of `appendonly` come with the AOF module.

mod fields;
mod parse;
pub mod table;

pub use parse::memtoull;
use parse::parse_value;

use std::collections::BTreeMap;

use table::{DENY_LOADING, Entry, HIDDEN, IMMUTABLE, Kind, NumFmt, PROTECTED, Param};

use crate::util::{string_match, string2ll};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    /// `write` + `fsync` before any reply of the event-loop turn is sent. A power loss loses
    /// nothing that was acknowledged.
    Always,
    /// `write` every turn, `fsync` in the background at most once a second. A power loss loses
    /// about the last second of writes, up to 2 s when the disk is slow.
    EverySec,
    /// `write` only; the kernel decides when bytes reach the disk. A power loss loses whatever
    /// the kernel had not written back (about 30 s with Linux defaults).
    No,
}

impl AppendFsync {
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::EverySec => "everysec",
            AppendFsync::No => "no",
        }
    }
    pub fn parse(s: &[u8]) -> Option<AppendFsync> {
        match s.to_ascii_lowercase().as_slice() {
            b"always" => Some(AppendFsync::Always),
            b"everysec" => Some(AppendFsync::EverySec),
            b"no" => Some(AppendFsync::No),
            _ => None,
        }
    }
}

/// `processEventsWhileBlocked`: what the host does while a script runs past
/// `busy-reply-threshold` (`aof-lab serve`: read its sockets, run what other clients sent,
/// write the replies; the lab: tell the page). The engine calls it from inside the script,
/// every 100 000 Lua instructions, with the whole engine lent for the call: what it runs for
/// other clients is refused with `-BUSY` but for the `allow-busy` commands (SCRIPT KILL,
/// FUNCTION KILL / STATS, SHUTDOWN NOSAVE, AUTH, …).
#[derive(Clone)]
pub struct WhileBlocked(pub std::rc::Rc<std::cell::RefCell<dyn FnMut(&mut crate::Engine)>>);

impl WhileBlocked {
    pub fn new(f: impl FnMut(&mut crate::Engine) + 'static) -> WhileBlocked {
        WhileBlocked(std::rc::Rc::new(std::cell::RefCell::new(f)))
    }
}

impl std::fmt::Debug for WhileBlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WhileBlocked")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub databases: usize,
    pub hz: u32,
    pub appendonly: bool,
    pub appendfsync: AppendFsync,
    pub appendfilename: String,
    pub appenddirname: String,
    pub dir: String,
    pub aof_timestamp_enabled: bool,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: u32,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_rewrite_incremental_fsync: bool,
    pub aof_disable_auto_gc: bool,
    /// `lab-aof-mode 6.2` (lab-only): one `appendonly.aof` with Redis 6.2's rewrite buffer
    /// instead of the 7.0 multi-part directory. Set at start only.
    pub aof_legacy: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_eviction: bool,
    pub proto_max_bulk_len: i64,
    pub maxmemory: u64,
    /// One of the names of `maxmemory-policy` (`noeviction`, `allkeys-lru`, …).
    pub maxmemory_policy: &'static str,
    pub port: u16,
    pub bind: String,
    pub protected_mode: bool,
    /// The `default` user's password; empty: no password (every connection is authenticated).
    pub requirepass: String,
    pub save: String,
    pub dbfilename: String,
    /// Encoding thresholds (what OBJECT ENCODING and small-collection order follow).
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i32,
    pub list_compress_depth: i32,
    /// When a stream starts a new node (`stream-node-max-bytes`, `stream-node-max-entries`).
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: i64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog that would grow past this turns dense.
    pub hll_sparse_max_bytes: usize,
    /// `lab-rewrite-keys-per-tick` (AOF Lab only): keys the simulated rewrite or BGSAVE child
    /// writes per cron tick; 0 = the whole snapshot in one tick.
    pub lab_rewrite_keys_per_tick: usize,
    /// `lab-fsync-latency-ms` (AOF Lab only): how long a simulated background fsync takes.
    pub lab_fsync_latency_ms: i64,
    /// `active-expire-effort` (1 … 10): how much work the active expire cycle may do.
    pub active_expire_effort: u32,
    /// `timeout` (`server.maxidletime`): seconds after which the cron closes an idle
    /// connection; 0 = never.
    pub timeout: i64,
    /// `DEBUG SET-ACTIVE-EXPIRE`: not a real config, but engine state of the same kind.
    pub active_expire_enabled: bool,
    /// `latency-tracking`: per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_tracking: bool,
    /// Not a setting: the host's clock, lent to time loads with (the "DB loaded from …: 0.012
    /// seconds" lines, [`crate::load_time`]); `None`: every load takes 0.000 seconds.
    pub load_clock: Option<crate::load_time::LoadClock>,
    /// Not a setting: a clock in µs to time each command with (SLOWLOG's durations), lent by
    /// `aof-lab serve` only; `None` (the lab, whose replays must match): every command takes 0.
    pub command_clock: Option<crate::load_time::LoadClock>,
    /// Not a setting: a clock in µs to time scripts against `busy-reply-threshold` with, when
    /// the host does not lend `command_clock` (the lab: a script's time does not change its
    /// effects, so replays still match); `None` with neither: scripts never time out.
    pub script_clock: Option<crate::load_time::LoadClock>,
    /// Not a setting: what the host does while a script is busy ([`WhileBlocked`]); `None`:
    /// nothing (no other client can be served).
    pub while_blocked: Option<WhileBlocked>,
    /// The host's prefetch instruction (natively x86-64's `prefetcht0`, `src/cli/`): the AOF
    /// loader fetches the keys of the commands a few ahead of the one it runs
    /// ([`crate::keyspace::dict`]), since the engine itself has no `unsafe`. `None` (wasm has no
    /// such instruction): the loader reads a batch's keys ahead with plain reads instead
    /// ([`crate::keyspace::Db::read_ahead`]).
    pub prefetch: Option<fn(*const u8)>,
    /// Every other parameter, by canonical name; absent means "still at its default".
    pub other: BTreeMap<&'static str, Val>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            databases: 16,
            hz: 10,
            appendonly: false,
            appendfsync: AppendFsync::EverySec,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            dir: ".".into(),
            aof_timestamp_enabled: false,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_rewrite_incremental_fsync: true,
            aof_disable_auto_gc: false,
            aof_legacy: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_eviction: false,
            proto_max_bulk_len: crate::resp::PROTO_MAX_BULK_LEN,
            maxmemory: 0,
            maxmemory_policy: "noeviction",
            port: 6379,
            bind: "127.0.0.1".into(),
            protected_mode: true,
            requirepass: String::new(),
            save: "3600 1 300 100 60 10000".into(),
            dbfilename: "dump.rdb".into(),
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            hll_sparse_max_bytes: 3000,
            lab_rewrite_keys_per_tick: 0,
            lab_fsync_latency_ms: 0,
            active_expire_effort: 1,
            timeout: 0,
            active_expire_enabled: true,
            latency_tracking: true,
            load_clock: None,
            command_clock: None,
            script_clock: None,
            while_blocked: None,
            prefetch: None,
            other: BTreeMap::new(),
        }
    }
}

/// A parameter's value in memory: booleans, numbers (enums as their value, percentages as
/// negative numbers, as in Redis) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Val {
    fn int(&self) -> i64 {
        match self {
            Val::Int(n) => *n,
            Val::Bool(b) => i64::from(*b),
            Val::Text(_) => 0,
        }
    }
    fn flag(&self) -> bool {
        matches!(self, Val::Bool(true))
    }
    fn text(self) -> String {
        match self {
            Val::Text(s) => s,
            Val::Bool(b) => yes_no(b).to_string(),
            Val::Int(n) => n.to_string(),
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Why CONFIG SET refused a call, already worded as Redis words it (with the error code).
pub type SetError = String;

/// `LOADING` error of a parameter flagged `DENY_LOADING_CONFIG`.
const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";

impl Config {
    /// The clock scripts are timed with: `script_clock`, else `command_clock`.
    pub fn busy_clock(&self) -> Option<crate::load_time::LoadClock> {
        self.script_clock.or(self.command_clock)
    }
    /// Sets a parameter from its text form, by its redis.conf name (case-insensitive).
    /// `startup` allows immutable and protected parameters (the `serve` command line, like
    /// redis-server's arguments). The error is the reason Redis would give, without the `ERR`
    /// prefix.
    pub fn set(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let Some(entry) = table::lookup(name.as_bytes()) else {
            return Err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'"));
        };
        if !startup && let Some(reason) = self.refusal(entry.param) {
            return Err(reason.to_string());
        }
        let v = parse_value(entry.param, value.as_bytes(), &self.load(entry.param))?;
        // `databases` beyond what this host can address (wasm32: a few million) is refused in
        // the range's words, never a failed allocation; natively the bound is INT_MAX's.
        if entry.name() == "databases" {
            let most = (isize::MAX as usize / std::mem::size_of::<crate::keyspace::Db>()).min(i32::MAX as usize);
            if let Val::Int(n) = &v
                && usize::try_from(*n).map_or(true, |n| n > most)
            {
                return Err(format!("argument must be between 1 and {most} inclusive"));
            }
        }
        self.store(entry.param, v);
        Ok(())
    }

    /// `client-output-buffer-limit` as (hard bytes, soft bytes, soft seconds) for the normal,
    /// replica and pubsub classes.
    pub fn client_output_buffer_limits(&self) -> [(u64, u64, i64); 3] {
        parse::parse_obuf_limits(&self.get("client-output-buffer-limit").unwrap_or_default())
    }

    /// The text form of a parameter, as CONFIG GET prints it (hidden parameters included).
    pub fn get(&self, name: &str) -> Option<String> {
        table::lookup(name.as_bytes()).map(|e| self.get_param(e.param))
    }

    /// Every registered name (parameters and aliases), hidden ones included.
    pub fn names() -> impl Iterator<Item = &'static str> {
        table::entries().map(|e| e.name())
    }

    /// `CONFIG GET pattern...`: the matching (name, value) pairs, each name once. A pattern
    /// without glob characters is a case-insensitive exact lookup that answers with the name as
    /// typed; a glob never matches hidden parameters and matches aliases as names of their own.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, String)> {
        let mut out: Vec<(Vec<u8>, String)> = Vec::new();
        let seen = |out: &Vec<(Vec<u8>, String)>, name: &[u8]| out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        for &pattern in patterns {
            if !pattern.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
                if let Some(e) = table::lookup(pattern)
                    && !seen(&out, pattern)
                {
                    out.push((pattern.to_vec(), self.get_param(e.param)));
                }
                continue;
            }
            for e in table::entries() {
                let name = e.name().as_bytes();
                if e.param.flags & HIDDEN != 0 || seen(&out, name) {
                    continue;
                }
                if string_match(pattern, name, true) {
                    out.push((name.to_vec(), self.get_param(e.param)));
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value ...]`, atomic. On success, returns the canonical
    /// names whose value changed (for the side effects of `appendonly` & co.). The error is
    /// the complete reply text, code included.
    pub fn set_many(&mut self, pairs: &[(&[u8], &[u8])], loading: bool) -> Result<Vec<&'static str>, SetError> {
        // Pass 1, as configSetCommand: names, mutability and duplicates, for every pair.
        let mut entries: Vec<Entry> = Vec::with_capacity(pairs.len());
        let mut unknown: Option<&[u8]> = None;
        let mut refused: Option<(&[u8], &'static str)> = None;
        let mut deny_loading = false;
        let mut invalid = false;
        for &(name, _) in pairs {
            let Some(entry) = table::lookup(name) else {
                if !invalid {
                    unknown = Some(name);
                    invalid = true;
                }
                continue;
            };
            if invalid {
                continue;
            }
            if let Some(reason) = self.refusal(entry.param) {
                refused = Some((name, reason));
                invalid = true;
                continue;
            }
            if loading && entry.param.flags & DENY_LOADING != 0 {
                deny_loading = true;
                invalid = true;
                continue;
            }
            if entries.iter().any(|e| e.same(&entry)) {
                refused = Some((name, "duplicate parameter"));
                invalid = true;
                continue;
            }
            entries.push(entry);
        }
        if deny_loading {
            return Err(LOADING_ERR.to_string());
        }
        if let Some(name) = unknown {
            return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{}'", String::from_utf8_lossy(name)));
        }
        if let Some((name, reason)) = refused {
            return Err(failed(&String::from_utf8_lossy(name), reason));
        }
        // Pass 2: parse and set every value; any failure restores everything.
        let backup = self.clone();
        let mut changed = Vec::new();
        for (entry, &(_, value)) in entries.iter().zip(pairs) {
            let old = self.load(entry.param);
            match parse_value(entry.param, value, &old) {
                Ok(v) => {
                    self.store(entry.param, v);
                    if self.load(entry.param) != old && !changed.contains(&entry.param.name) {
                        changed.push(entry.param.name);
                    }
                }
                Err(reason) => {
                    *self = backup;
                    return Err(failed(entry.name(), &reason));
                }
            }
        }
        Ok(changed)
    }

    /// Why a runtime CONFIG SET may not touch this parameter at all.
    fn refusal(&self, param: &Param) -> Option<&'static str> {
        if param.flags & IMMUTABLE != 0 {
            return Some("can't set immutable config");
        }
        // "local" would allow loopback clients only: every client of the lab is local.
        let protected_ok = self.get("enable-protected-configs").is_some_and(|v| v != "no");
        if param.flags & PROTECTED != 0 && !protected_ok {
            return Some("can't set protected config");
        }
        None
    }

    fn get_param(&self, param: &Param) -> String {
        format_value(param, self.load(param))
    }

    /// The current value of a parameter: its typed field ([`fields::FIELDS`]) or its entry in
    /// `other`.
    fn load(&self, param: &Param) -> Val {
        match fields::field(param.name) {
            Some(f) => (f.load)(self),
            None => self.other.get(param.name).cloned().unwrap_or_else(|| default_value(param)),
        }
    }

    /// Stores an already validated value (the bounds of the table fit every field's type).
    fn store(&mut self, param: &Param, v: Val) {
        match fields::field(param.name) {
            Some(f) => (f.store)(self, v),
            None => {
                self.other.insert(param.name, v);
            }
        }
    }
}

fn failed(name: &str, reason: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
}

fn enum_values(param: &Param) -> &'static [(&'static str, i32)] {
    match param.kind {
        Kind::Enum(values) | Kind::Flags(values) => values,
        _ => &[],
    }
}

fn enum_value(param: &Param, name: &str) -> i64 {
    enum_values(param).iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| i64::from(*v))
}

/// `configEnumGetName`: the first name with this value.
fn enum_name(param: &Param, value: i32) -> &'static str {
    enum_values(param).iter().find(|(_, v)| *v == value).map_or("unknown", |(n, _)| n)
}

/// The default as a value, from the table's text.
fn default_value(param: &Param) -> Val {
    match param.kind {
        Kind::Bool => Val::Bool(param.default == "yes"),
        Kind::Enum(_) | Kind::Flags(_) => Val::Int(enum_value(param, param.default)),
        Kind::Num(num) if num.fmt == NumFmt::Octal => Val::Int(i64::from_str_radix(param.default, 8).unwrap_or(0)),
        Kind::Num(_) => Val::Int(string2ll(param.default.as_bytes()).unwrap_or(0)),
        Kind::Str(_) | Kind::Special(_) => Val::Text(param.default.to_string()),
    }
}

/// How CONFIG GET prints a value.
fn format_value(param: &Param, v: Val) -> String {
    match (param.kind, v) {
        (Kind::Enum(_), Val::Int(n)) => enum_name(param, n as i32).to_string(),
        (Kind::Flags(values), Val::Int(n)) => flags_name(values, n as i32),
        (Kind::Num(num), Val::Int(n)) => match num.fmt {
            NumFmt::MemoryPercent if n < 0 => format!("{}%", n.unsigned_abs()),
            NumFmt::Memory | NumFmt::MemoryPercent => (n as u64).to_string(),
            NumFmt::Octal => format!("{n:o}"),
            NumFmt::Int => n.to_string(),
        },
        (_, v) => v.text(),
    }
}

/// `configEnumGetName` for bit flags: an exact match, else the names of the set bits.
fn flags_name(values: &[(&'static str, i32)], bits: i32) -> String {
    if let Some((name, _)) = values.iter().find(|(_, v)| *v == bits) {
        return name.to_string();
    }
    let mut unmatched = bits;
    let mut names = Vec::new();
    for &(name, v) in values {
        if v != 0 && v == unmatched & v {
            names.push(name);
            unmatched &= !v;
        }
    }
    if names.is_empty() || unmatched != 0 { "unknown".to_string() } else { names.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())).collect();
        c.set_many(&pairs, false)
    }

    #[test]
    fn typed_fields_and_text() {
        let mut c = Config::default();
        assert_eq!(c.get("appendfsync").as_deref(), Some("everysec"));
        assert_eq!(c.get("HASH-MAX-ZIPLIST-ENTRIES").as_deref(), Some("512"));
        c.set("appendonly", "YES", false).unwrap();
        assert!(c.appendonly);
        c.set("maxmemory", "1mb", false).unwrap();
        assert_eq!(c.maxmemory, 1 << 20);
        assert_eq!(c.get("maxmemory").as_deref(), Some("1048576"));
        c.set("maxmemory-clients", "5%", false).unwrap();
        assert_eq!(c.get("maxmemory-clients").as_deref(), Some("5%"));
        c.set("hz", "1000", false).unwrap();
        assert_eq!(c.get("hz").as_deref(), Some("500"));
        assert_eq!(c.set("databases", "4", false), Err("can't set immutable config".to_string()));
        c.set("databases", "4", true).unwrap();
        assert_eq!(c.databases, 4);
        c.set("port", "7000", true).unwrap();
        assert_eq!(c.port, 7000);
        c.set("zset-max-ziplist-entries", "0", false).unwrap();
        assert_eq!(c.zset_max_listpack_entries, 0);
    }

    #[test]
    fn errors_as_redis() {
        let mut c = Config::default();
        let e = |c: &mut Config, pairs: &[(&str, &str)]| set(c, pairs).unwrap_err();
        assert_eq!(
            e(&mut c, &[("appendfsync", "foo")]),
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"
        );
        assert_eq!(
            e(&mut c, &[("hz", "-1")]),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            e(&mut c, &[("HASH-MAX-ZIPLIST-ENTRIES", "-1")]),
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument must be between 0 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            e(&mut c, &[("maxmemory", "1.5mb")]),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(e(&mut c, &[("nosuch", "1"), ("hz", "5")]), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
        assert_eq!(
            e(&mut c, &[("databases", "3"), ("nosuch", "1")]),
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(
            e(&mut c, &[("Hz", "5"), ("hZ", "6")]),
            "ERR CONFIG SET failed (possibly related to argument 'hZ') - duplicate parameter"
        );
        assert_eq!(
            e(&mut c, &[("dir", "/tmp")]),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        assert_eq!(
            e(&mut c, &[("maxmemory-clients", "101%")]),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
        );
        // Atomic: the good value of the same call is rolled back.
        assert!(set(&mut c, &[("hz", "5"), ("maxmemory", "1"), ("appendfsync", "bad")]).is_err());
        assert_eq!((c.hz, c.maxmemory), (10, 0));
        assert_eq!(
            set(&mut c, &[("hash-max-ziplist-entries", "5"), ("hash-max-listpack-entries", "6")]),
            Ok(vec!["hash-max-listpack-entries"])
        );
        assert_eq!(c.hash_max_listpack_entries, 6);
    }

    #[test]
    fn special_parameters() {
        let mut c = Config::default();
        set(&mut c, &[("save", "+100 010")]).unwrap();
        assert_eq!(c.save, "100 10");
        assert!(set(&mut c, &[("save", "  100 10")]).is_err());
        set(&mut c, &[("save", "")]).unwrap();
        assert_eq!(c.get("save").as_deref(), Some(""));
        set(&mut c, &[("client-output-buffer-limit", "replica 1mb 2 3 pubsub 5 6 7")]).unwrap();
        assert_eq!(c.get("client-output-buffer-limit").as_deref(), Some("normal 0 0 0 slave 1048576 2 3 pubsub 5 6 7"));
        set(&mut c, &[("notify-keyspace-events", "Anm")]).unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("Am"));
        set(&mut c, &[("notify-keyspace-events", "gn")]).unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("gn"));
        set(&mut c, &[("shutdown-on-sigint", "now nosave")]).unwrap();
        assert_eq!(c.get("shutdown-on-sigint").as_deref(), Some("nosave now"));
        set(&mut c, &[("latency-tracking-info-percentiles", "50 99.9 100")]).unwrap();
        assert_eq!(c.get("latency-tracking-info-percentiles").as_deref(), Some("50 99.9 100"));
        set(&mut c, &[("oom-score-adj", "relative")]).unwrap();
        assert_eq!(c.get("oom-score-adj").as_deref(), Some("yes"));
        assert_eq!(memtoull(""), Some(0));
        assert_eq!(memtoull("18446744073709551616"), Some(u64::MAX));
        assert_eq!(memtoull("1KB"), Some(1024));
        assert_eq!(memtoull("1 kb"), None);
    }

    #[test]
    fn get_patterns() {
        let c = Config::default();
        let names = |pats: &[&str]| -> Vec<String> {
            let pats: Vec<&[u8]> = pats.iter().map(|p| p.as_bytes()).collect();
            c.get_matching(&pats).into_iter().map(|(n, _)| String::from_utf8(n).unwrap()).collect()
        };
        assert_eq!(names(&["HZ", "hz"]), vec!["HZ"]);
        assert_eq!(names(&["*ziplist*"]).len(), 5);
        assert_eq!(names(&["rdb-key-save-delay"]), vec!["rdb-key-save-delay"]);
        assert!(names(&["*save-delay*"]).is_empty());
        // 192 names in a stock 7.0.15 (Debian build, TLS included).
        assert_eq!(names(&["*"]).len(), 192);
    }
}
