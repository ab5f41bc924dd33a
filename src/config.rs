//! Engine settings, named as in `redis.conf`. CONFIG GET / SET and the `serve` command line use
//! the same table ([`table::PARAMS`], Redis 7.0.15's `static_configs[]`), so a setting has one
//! spelling, one parser and one set of error messages everywhere.
//!
//! The settings the engine acts on are typed fields of [`Config`]; every other parameter Redis
//! knows is kept in [`Config::other`] so that CONFIG GET answers and CONFIG SET validates exactly
//! as Redis does, even where the setting has no effect here (TLS, cluster, replication …).
//!
//! CONFIG SET of several parameters is atomic, like 7.0's: all names are checked first (unknown,
//! immutable, protected, duplicate), then every value is parsed; the first bad value restores
//! every parameter of the call and names the culprit.
//!
//! Compared with Redis: `dir` is recorded, not `chdir`ed to; `enable-protected-configs local`
//! counts every client as local; the side effects of `appendonly` come with the AOF module.

pub mod table;

use std::collections::BTreeMap;

use table::{DENY_LOADING, Entry, HIDDEN, IMMUTABLE, Kind, MULTI_ARG, Num, NumFmt, PROTECTED, Param, Special};

use crate::util::{string_match, string2d, string2ll};

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
    /// `lab-rewrite-keys-per-tick` (AOF Lab only): keys the simulated rewrite or BGSAVE child
    /// writes per cron tick; 0 = the whole snapshot in one tick.
    pub lab_rewrite_keys_per_tick: usize,
    /// `lab-fsync-latency-ms` (AOF Lab only): how long a simulated background fsync takes.
    pub lab_fsync_latency_ms: i64,
    /// `DEBUG SET-ACTIVE-EXPIRE`: not a real config, but engine state of the same kind.
    pub active_expire_enabled: bool,
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
            save: "3600 1 300 100 60 10000".into(),
            dbfilename: "dump.rdb".into(),
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            lab_rewrite_keys_per_tick: 0,
            lab_fsync_latency_ms: 0,
            active_expire_enabled: true,
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
        self.store(entry.param, v);
        Ok(())
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

    /// The current value of a parameter.
    fn load(&self, param: &Param) -> Val {
        use Val::{Bool, Int, Text};
        match param.name {
            "databases" => Int(self.databases as i64),
            "hz" => Int(i64::from(self.hz)),
            "appendonly" => Bool(self.appendonly),
            "appendfsync" => Int(match self.appendfsync {
                AppendFsync::EverySec => 1,
                AppendFsync::Always => 2,
                AppendFsync::No => 0,
            }),
            "appendfilename" => Text(self.appendfilename.clone()),
            "appenddirname" => Text(self.appenddirname.clone()),
            "dir" => Text(self.dir.clone()),
            "aof-timestamp-enabled" => Bool(self.aof_timestamp_enabled),
            "aof-load-truncated" => Bool(self.aof_load_truncated),
            "aof-use-rdb-preamble" => Bool(self.aof_use_rdb_preamble),
            "no-appendfsync-on-rewrite" => Bool(self.no_appendfsync_on_rewrite),
            "auto-aof-rewrite-percentage" => Int(i64::from(self.auto_aof_rewrite_percentage)),
            "auto-aof-rewrite-min-size" => Int(self.auto_aof_rewrite_min_size as i64),
            "aof-rewrite-incremental-fsync" => Bool(self.aof_rewrite_incremental_fsync),
            "aof-disable-auto-gc" => Bool(self.aof_disable_auto_gc),
            "lab-aof-mode" => Int(i64::from(self.aof_legacy)),
            "lazyfree-lazy-expire" => Bool(self.lazyfree_lazy_expire),
            "lazyfree-lazy-user-del" => Bool(self.lazyfree_lazy_user_del),
            "lazyfree-lazy-user-flush" => Bool(self.lazyfree_lazy_user_flush),
            "lazyfree-lazy-server-del" => Bool(self.lazyfree_lazy_server_del),
            "lazyfree-lazy-eviction" => Bool(self.lazyfree_lazy_eviction),
            "proto-max-bulk-len" => Int(self.proto_max_bulk_len),
            "maxmemory" => Int(self.maxmemory as i64),
            "maxmemory-policy" => Int(enum_value(param, self.maxmemory_policy)),
            "port" => Int(i64::from(self.port)),
            "bind" => Text(self.bind.clone()),
            "protected-mode" => Bool(self.protected_mode),
            "save" => Text(self.save.clone()),
            "dbfilename" => Text(self.dbfilename.clone()),
            "hash-max-listpack-entries" => Int(self.hash_max_listpack_entries as i64),
            "hash-max-listpack-value" => Int(self.hash_max_listpack_value as i64),
            "set-max-intset-entries" => Int(self.set_max_intset_entries as i64),
            "zset-max-listpack-entries" => Int(self.zset_max_listpack_entries as i64),
            "zset-max-listpack-value" => Int(self.zset_max_listpack_value as i64),
            "list-max-listpack-size" => Int(i64::from(self.list_max_listpack_size)),
            "list-compress-depth" => Int(i64::from(self.list_compress_depth)),
            "lab-rewrite-keys-per-tick" => Int(self.lab_rewrite_keys_per_tick as i64),
            "lab-fsync-latency-ms" => Int(self.lab_fsync_latency_ms),
            name => self.other.get(name).cloned().unwrap_or_else(|| default_value(param)),
        }
    }

    /// Stores an already validated value (the bounds of the table fit every field's type).
    fn store(&mut self, param: &Param, v: Val) {
        let n = v.int();
        match param.name {
            "databases" => self.databases = n as usize,
            // updateHZ: out-of-range values are accepted, then capped.
            "hz" => self.hz = n.clamp(1, 500) as u32,
            "appendonly" => self.appendonly = v.flag(),
            "appendfsync" => {
                self.appendfsync = match n {
                    2 => AppendFsync::Always,
                    0 => AppendFsync::No,
                    _ => AppendFsync::EverySec,
                }
            }
            "appendfilename" => self.appendfilename = v.text(),
            "appenddirname" => self.appenddirname = v.text(),
            "dir" => self.dir = v.text(),
            "aof-timestamp-enabled" => self.aof_timestamp_enabled = v.flag(),
            "aof-load-truncated" => self.aof_load_truncated = v.flag(),
            "aof-use-rdb-preamble" => self.aof_use_rdb_preamble = v.flag(),
            "no-appendfsync-on-rewrite" => self.no_appendfsync_on_rewrite = v.flag(),
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage = n as u32,
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size = n as u64,
            "aof-rewrite-incremental-fsync" => self.aof_rewrite_incremental_fsync = v.flag(),
            "aof-disable-auto-gc" => self.aof_disable_auto_gc = v.flag(),
            "lab-aof-mode" => self.aof_legacy = n == 1,
            "lazyfree-lazy-expire" => self.lazyfree_lazy_expire = v.flag(),
            "lazyfree-lazy-user-del" => self.lazyfree_lazy_user_del = v.flag(),
            "lazyfree-lazy-user-flush" => self.lazyfree_lazy_user_flush = v.flag(),
            "lazyfree-lazy-server-del" => self.lazyfree_lazy_server_del = v.flag(),
            "lazyfree-lazy-eviction" => self.lazyfree_lazy_eviction = v.flag(),
            "proto-max-bulk-len" => self.proto_max_bulk_len = n,
            "maxmemory" => self.maxmemory = n as u64,
            "maxmemory-policy" => self.maxmemory_policy = enum_name(param, n as i32),
            "port" => self.port = n as u16,
            "bind" => self.bind = v.text(),
            "protected-mode" => self.protected_mode = v.flag(),
            "save" => self.save = v.text(),
            "dbfilename" => self.dbfilename = v.text(),
            "hash-max-listpack-entries" => self.hash_max_listpack_entries = n as usize,
            "hash-max-listpack-value" => self.hash_max_listpack_value = n as usize,
            "set-max-intset-entries" => self.set_max_intset_entries = n as usize,
            "zset-max-listpack-entries" => self.zset_max_listpack_entries = n as usize,
            "zset-max-listpack-value" => self.zset_max_listpack_value = n as usize,
            "list-max-listpack-size" => self.list_max_listpack_size = n as i32,
            "list-compress-depth" => self.list_compress_depth = n as i32,
            "lab-rewrite-keys-per-tick" => self.lab_rewrite_keys_per_tick = usize::try_from(n).unwrap_or(usize::MAX),
            "lab-fsync-latency-ms" => self.lab_fsync_latency_ms = n,
            name => {
                self.other.insert(name, v);
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

/// `performInterfaceSet` + the type's `set`: parses and validates `value` into the value to store.
/// `old` is the current value (parameters like `client-output-buffer-limit` update it in part).
fn parse_value(param: &Param, value: &[u8], old: &Val) -> Result<Val, String> {
    let text = String::from_utf8_lossy(value);
    // MULTI_ARG_CONFIG values are split on single spaces (`sdssplitlen`): "" is no argument.
    let args: Vec<&str> =
        if param.flags & MULTI_ARG != 0 { if text.is_empty() { Vec::new() } else { text.split(' ').collect() } } else { vec![&text] };
    let arg0 = args.first().copied().unwrap_or("");
    match param.kind {
        Kind::Bool => match arg0.to_ascii_lowercase().as_str() {
            "yes" if param.name == "activedefrag" => Err(ACTIVE_DEFRAG_ERR.to_string()),
            "yes" => Ok(Val::Bool(true)),
            "no" => Ok(Val::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        },
        Kind::Enum(values) => match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(arg0)) {
            Some((_, v)) => Ok(Val::Int(i64::from(*v))),
            None => Err(enum_error(values)),
        },
        Kind::Flags(values) => {
            let mut bits = 0;
            for a in &args {
                match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(a)) {
                    Some((_, v)) => bits |= v,
                    None => return Err(enum_error(values)),
                }
            }
            if args.is_empty() {
                return Err(enum_error(values));
            }
            // isValidShutdownOnSigFlags
            if bits & 1 != 0 && bits & 2 != 0 {
                return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
            }
            Ok(Val::Int(i64::from(bits)))
        }
        Kind::Num(num) => parse_number(num, arg0).map(Val::Int),
        Kind::Str(check) => {
            if let Some(check) = check {
                check(arg0).map_err(str::to_string)?;
            }
            Ok(Val::Text(arg0.to_string()))
        }
        Kind::Special(special) => parse_special(special, &args, old).map(Val::Text),
    }
}

const ACTIVE_DEFRAG_ERR: &str = "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc \
                                 like the one shipped by default with the Redis source distribution";

fn enum_error(values: &[(&str, i32)]) -> String {
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    format!("argument(s) must be one of the following: {}", names.join(", "))
}

/// `numericParseString` + `numericBoundaryCheck`.
fn parse_number(num: Num, s: &str) -> Result<i64, String> {
    let parsed = (|| {
        if matches!(num.fmt, NumFmt::Memory | NumFmt::MemoryPercent)
            && let Some(v) = memtoull(s)
        {
            return Some(v as i64);
        }
        if num.fmt == NumFmt::MemoryPercent
            && s.len() > 1
            && let Some(v) = s.strip_suffix('%').and_then(|d| string2ll(d.as_bytes())).filter(|v| *v >= 0)
        {
            return Some(-v);
        }
        if num.fmt == NumFmt::Octal {
            return c_strtoll(s, 8);
        }
        if num.fmt == NumFmt::Int { string2ll(s.as_bytes()) } else { None }
    })();
    let Some(v) = parsed else {
        return Err(match num.fmt {
            NumFmt::MemoryPercent => "argument must be a memory or percent value",
            NumFmt::Memory => "argument must be a memory value",
            NumFmt::Octal => "argument couldn't be parsed as an octal number",
            NumFmt::Int => "argument couldn't be parsed into an integer",
        }
        .to_string());
    };
    if num.unsigned {
        let (uv, lo, hi) = (v as u64, num.min as u64, num.max as u64);
        if uv < lo || uv > hi {
            return Err(if num.fmt == NumFmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if num.fmt == NumFmt::MemoryPercent && v < 0 {
        if v < num.min {
            return Err(format!("percentage argument must be less or equal to {}", -num.min));
        }
    } else if v < num.min || v > num.max {
        return Err(format!("argument must be between {} and {} inclusive", num.min, num.max));
    }
    Ok(v)
}

/// `memtoull`: digits and an optional unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`,
/// any case). Like Redis: an empty number is 0 and an overflowing one saturates.
pub fn memtoull(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    // strtoull saturates at ULLONG_MAX on overflow, and Redis does not check ERANGE.
    let val = digits.bytes().fold(0u64, |acc, c| acc.saturating_mul(10).saturating_add(u64::from(c - b'0')));
    if val > u64::MAX / mul {
        return None;
    }
    Some(val * mul)
}

/// C's `strtoll(s, &end, base)` accepting only when the whole string was consumed: leading
/// spaces and a sign are allowed, an empty string is 0, overflow saturates.
fn c_strtoll(s: &str, base: u32) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        // No conversion: `end` stays at the start of the string, which is accepted only if it
        // was empty.
        return s.is_empty().then_some(0);
    }
    let mut v: i128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        v = (v * i128::from(base) + i128::from(d)).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// The parsers of `createSpecialConfig` parameters; each returns the text CONFIG GET prints.
fn parse_special(special: Special, args: &[&str], old: &Val) -> Result<String, String> {
    let err = |s: &str| Err(s.to_string());
    match special {
        Special::Dir => {
            if args.len() != 1 {
                return err("wrong number of arguments");
            }
            if args[0].is_empty() {
                return err("No such file or directory");
            }
            Ok(args[0].to_string())
        }
        Special::Save => {
            if !args.len().is_multiple_of(2) {
                return err("Invalid save parameters");
            }
            let mut out = Vec::new();
            for pair in args.chunks(2) {
                let (Some(secs), Some(changes)) = (c_strtoll(pair[0], 10), c_strtoll(pair[1], 10)) else {
                    return err("Invalid save parameters");
                };
                if secs < 1 || changes < 0 {
                    return err("Invalid save parameters");
                }
                // `changes` is an int in Redis.
                out.push(format!("{} {}", secs, changes as i32));
            }
            Ok(out.join(" "))
        }
        Special::ClientOutputBufferLimit => {
            if !args.len().is_multiple_of(4) {
                return err("Wrong number of arguments in buffer limit configuration.");
            }
            let mut limits = parse_obuf_limits(&old.clone().text());
            let mut updates = Vec::new();
            for group in args.chunks(4) {
                let class = match group[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => return err("Invalid client class specified in buffer limit configuration."),
                };
                let secs = c_strtoll(group[3], 10).filter(|s| *s >= 0);
                let (Some(hard), Some(soft), Some(secs)) = (memtoull(group[1]), memtoull(group[2]), secs) else {
                    return err("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
                };
                updates.push((class, (hard, soft, secs)));
            }
            for (class, limit) in updates {
                limits[class] = limit;
            }
            let names = ["normal", "slave", "pubsub"];
            Ok(names.iter().zip(limits).map(|(n, (h, s, secs))| format!("{n} {h} {s} {secs}")).collect::<Vec<_>>().join(" "))
        }
        Special::OomScoreAdjValues => {
            if args.len() != 3 {
                return err("wrong number of arguments");
            }
            let mut values = Vec::new();
            for a in args {
                match c_strtoll(a, 10) {
                    Some(v) if (-2000..=2000).contains(&v) => values.push(v.to_string()),
                    _ => return err("Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
                }
            }
            Ok(values.join(" "))
        }
        Special::NotifyKeyspaceEvents => match keyspace_events(args.first().copied().unwrap_or("")) {
            Some(flags) => Ok(flags),
            None => err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        },
        Special::Bind => {
            if args.len() > 16 {
                return err("Too many bind addresses specified.");
            }
            Ok(args.join(" "))
        }
        Special::ReplicaOf => {
            if args.len() != 2 {
                return err("wrong number of arguments");
            }
            if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                return Ok(String::new());
            }
            match c_strtoll(args[1], 10) {
                Some(port) if (0..=65535).contains(&port) => Ok(format!("{} {}", args[0], port)),
                _ => err("Invalid master port"),
            }
        }
        Special::LatencyTrackingInfoPercentiles => {
            let args: &[&str] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
            let mut out = Vec::new();
            for a in args {
                let Some(p) = string2d(a.as_bytes()) else {
                    return err("Invalid latency-tracking-info-percentiles parameters");
                };
                if !(0.0..=100.0).contains(&p) {
                    return err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
                }
                // "%f", then trimDoubleString.
                let s = format!("{p:.6}");
                out.push(s.trim_end_matches('0').trim_end_matches('.').to_string());
            }
            Ok(out.join(" "))
        }
    }
}

fn parse_obuf_limits(text: &str) -> [(u64, u64, i64); 3] {
    let mut limits = [(0, 0, 0), (268_435_456, 67_108_864, 60), (33_554_432, 8_388_608, 60)];
    let words: Vec<&str> = text.split(' ').collect();
    for (i, group) in words.chunks(4).enumerate().take(3) {
        if let [_, h, s, secs] = group {
            limits[i] = (h.parse().unwrap_or(0), s.parse().unwrap_or(0), secs.parse().unwrap_or(0));
        }
    }
    limits
}

/// `keyspaceEventsStringToFlags` then `keyspaceEventsFlagsToString`: the canonical spelling.
fn keyspace_events(s: &str) -> Option<String> {
    const CLASSES: &[(char, u32)] = &[
        ('g', 1 << 2),
        ('$', 1 << 3),
        ('l', 1 << 4),
        ('s', 1 << 5),
        ('h', 1 << 6),
        ('z', 1 << 7),
        ('x', 1 << 8),
        ('e', 1 << 9),
        ('t', 1 << 10),
        ('d', 1 << 12),
        ('n', 1 << 13),
    ];
    const KEYSPACE: u32 = 1;
    const KEYEVENT: u32 = 1 << 1;
    const KEY_MISS: u32 = 1 << 11;
    // 'A' is every class but 'm' and 'n'.
    const ALL: u32 = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 12);
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            c => CLASSES.iter().find(|(k, _)| *k == c)?.1,
        };
    }
    let mut out = String::new();
    if flags & ALL == ALL {
        // 'n' is outside 'A' but Redis prints it only in the per-class branch: "An" reads "A".
        out.push('A');
    } else {
        for (c, bit) in CLASSES {
            if flags & bit != 0 {
                out.push(*c);
            }
        }
    }
    if flags & KEYSPACE != 0 {
        out.push('K');
    }
    if flags & KEYEVENT != 0 {
        out.push('E');
    }
    if flags & KEY_MISS != 0 {
        out.push('m');
    }
    Some(out)
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
