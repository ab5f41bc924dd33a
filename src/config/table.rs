//! The parameter table of Redis 7.0.15's `config.c` (`static_configs[]`): every name CONFIG GET
//! knows, its alias, its type with bounds, its mutability and its default, as CONFIG GET prints it.
//!
//! The numeric details matter for the error messages: Redis checks bounds as *unsigned* for
//! `unsigned int`, `size_t` and `unsigned long long` parameters (so `-1` is "between 0 and
//! 9223372036854775807") and as signed for the others, and parses memory sizes (`64mb`) only for
//! the parameters flagged `MEMORY_CONFIG`.

/// `IMMUTABLE_CONFIG`: only at startup.
pub const IMMUTABLE: u8 = 1;
/// `PROTECTED_CONFIG`: refused at runtime unless `enable-protected-configs` allows it.
pub const PROTECTED: u8 = 2;
/// `DENY_LOADING_CONFIG`: refused while loading (`-LOADING`).
pub const DENY_LOADING: u8 = 4;
/// `HIDDEN_CONFIG`: only an exact name finds it, never a pattern.
pub const HIDDEN: u8 = 8;
/// `MULTI_ARG_CONFIG`: the value is split on spaces into several arguments.
pub const MULTI_ARG: u8 = 16;
/// `SENSITIVE_CONFIG`: its value is redacted from logs (CONFIG SET's argument in SLOWLOG).
pub const SENSITIVE: u8 = 32;

const MOD: u8 = 0;
const IMM: u8 = IMMUTABLE;

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const LONG_MAX: i64 = i64::MAX;
const UINT_MAX: i64 = u32::MAX as i64;
/// `ULLONG_MAX` as the bit pattern Redis keeps in its `long long` bound.
const ULLONG_MAX: i64 = -1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumFmt {
    /// Plain decimal (`string2ll`).
    Int,
    /// `MEMORY_CONFIG`: `memtoull` units (`1k` = 1000, `1kb` = 1024, … `gb`).
    Memory,
    /// `MEMORY_CONFIG | PERCENT_CONFIG`: a memory size or `N%` (kept as `-N`).
    MemoryPercent,
    /// `OCTAL_CONFIG`.
    Octal,
}

#[derive(Clone, Copy, Debug)]
pub struct Num {
    pub min: i64,
    pub max: i64,
    /// Bounds compared as unsigned (`unsigned int`, `size_t`, `unsigned long long`).
    pub unsigned: bool,
    pub fmt: NumFmt,
}

/// Parameters with their own parser and printer (`createSpecialConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

/// Extra validation of a string parameter (`is_valid_fn`).
pub type StrCheck = fn(&str) -> Result<(), &'static str>;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    /// Names and values, in Redis's order (the error message lists them in that order; several
    /// names may share a value, CONFIG GET prints the first).
    Enum(&'static [(&'static str, i32)]),
    /// A multi-argument enum of bit flags (`shutdown-on-sigint`).
    Flags(&'static [(&'static str, i32)]),
    Num(Num),
    Str(Option<StrCheck>),
    Special(Special),
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
    /// The default, as CONFIG GET prints it.
    pub default: &'static str,
}

const fn p(name: &'static str, alias: Option<&'static str>, flags: u8, kind: Kind, default: &'static str) -> Param {
    Param { name, alias, flags, kind, default }
}
const fn b(name: &'static str, alias: Option<&'static str>, flags: u8, default: &'static str) -> Param {
    p(name, alias, flags, Kind::Bool, default)
}
const fn s(name: &'static str, alias: Option<&'static str>, flags: u8, default: &'static str) -> Param {
    p(name, alias, flags, Kind::Str(None), default)
}
const fn e(name: &'static str, flags: u8, values: &'static [(&'static str, i32)], default: &'static str) -> Param {
    p(name, None, flags, Kind::Enum(values), default)
}
const fn n(name: &'static str, alias: Option<&'static str>, flags: u8, min: i64, max: i64, default: &'static str) -> Param {
    p(name, alias, flags, Kind::Num(Num { min, max, unsigned: false, fmt: NumFmt::Int }), default)
}
const fn u(name: &'static str, alias: Option<&'static str>, flags: u8, min: i64, max: i64, default: &'static str) -> Param {
    p(name, alias, flags, Kind::Num(Num { min, max, unsigned: true, fmt: NumFmt::Int }), default)
}
const fn mem(name: &'static str, alias: Option<&'static str>, unsigned: bool, min: i64, max: i64, default: &'static str) -> Param {
    p(name, alias, MOD, Kind::Num(Num { min, max, unsigned, fmt: NumFmt::Memory }), default)
}
const fn special(name: &'static str, alias: Option<&'static str>, flags: u8, kind: Special, default: &'static str) -> Param {
    p(name, alias, flags, Kind::Special(kind), default)
}

const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const SYSLOG_FACILITY: &[(&str, i32)] =
    &[("user", 0), ("local0", 1), ("local1", 2), ("local2", 3), ("local3", 4), ("local4", 5), ("local5", 6), ("local6", 7), ("local7", 8)];
const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
pub const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 1), ("always", 2), ("no", 0)];
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
/// `lab-aof-mode`: 7.0 multi-part (the default) or the 6.2 single file.
pub const LAB_AOF_MODE: &[(&str, i32)] = &[("7.0", 0), ("6.2", 1)];
/// `SHUTDOWN_SAVE` and friends.
const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];

fn is_base_name(v: &str) -> bool {
    !v.contains('/') && !v.contains('\\')
}
fn valid_dbfilename(v: &str) -> Result<(), &'static str> {
    if is_base_name(v) { Ok(()) } else { Err("dbfilename can't be a path, just a filename") }
}
fn valid_appendfilename(v: &str) -> Result<(), &'static str> {
    match v {
        "" => Err("appendfilename can't be empty"),
        _ if !is_base_name(v) => Err("appendfilename can't be a path, just a filename"),
        _ => Ok(()),
    }
}
fn valid_appenddirname(v: &str) -> Result<(), &'static str> {
    match v {
        "" => Err("appenddirname can't be empty"),
        _ if !is_base_name(v) => Err("appenddirname can't be a path, just a dirname"),
        _ => Ok(()),
    }
}
fn valid_hostname(v: &str) -> Result<(), &'static str> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
        Ok(())
    } else {
        Err("Hostnames may only contain alphanumeric characters, hyphens or dots")
    }
}
/// `validateProcTitleTemplate`: known `{variables}` only, balanced braces, not empty once expanded.
fn valid_proc_title(v: &str) -> Result<(), &'static str> {
    const ERR: &str = "template format is invalid or contains unknown variables";
    const VARS: &[&str] = &["title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file"];
    let mut rest = v;
    let mut expanded_len = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(ERR);
        }
        expanded_len += open;
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(ERR)?;
        if !VARS.contains(&&after[..close]) {
            return Err(ERR);
        }
        expanded_len += 1;
        rest = &after[close + 1..];
    }
    if expanded_len + rest.len() == 0 { Err(ERR) } else { Ok(()) }
}

/// Every parameter of Redis 7.0.15 (as built by Debian, with TLS), in `config.c` order.
pub static PARAMS: &[Param] = &[
    // Bool configs
    b("rdbchecksum", None, IMM, "yes"),
    b("daemonize", None, IMM, "no"),
    b("io-threads-do-reads", None, IMM, "no"),
    b("always-show-logo", None, IMM, "no"),
    b("protected-mode", None, MOD, "yes"),
    b("rdbcompression", None, MOD, "yes"),
    b("rdb-del-sync-files", None, MOD, "no"),
    b("activerehashing", None, MOD, "yes"),
    b("stop-writes-on-bgsave-error", None, MOD, "yes"),
    b("set-proc-title", None, IMM, "yes"),
    b("dynamic-hz", None, MOD, "yes"),
    b("lazyfree-lazy-eviction", None, MOD, "no"),
    b("lazyfree-lazy-expire", None, MOD, "no"),
    b("lazyfree-lazy-server-del", None, MOD, "no"),
    b("lazyfree-lazy-user-del", None, MOD, "no"),
    b("lazyfree-lazy-user-flush", None, MOD, "no"),
    b("repl-disable-tcp-nodelay", None, MOD, "no"),
    b("repl-diskless-sync", None, MOD, "yes"),
    b("aof-rewrite-incremental-fsync", None, MOD, "yes"),
    b("no-appendfsync-on-rewrite", None, MOD, "no"),
    b("cluster-require-full-coverage", None, MOD, "yes"),
    b("rdb-save-incremental-fsync", None, MOD, "yes"),
    b("aof-load-truncated", None, MOD, "yes"),
    b("aof-use-rdb-preamble", None, MOD, "yes"),
    b("aof-timestamp-enabled", None, MOD, "no"),
    b("cluster-replica-no-failover", Some("cluster-slave-no-failover"), MOD, "no"),
    b("replica-lazy-flush", Some("slave-lazy-flush"), MOD, "no"),
    b("replica-serve-stale-data", Some("slave-serve-stale-data"), MOD, "yes"),
    b("replica-read-only", Some("slave-read-only"), MOD, "yes"),
    b("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), MOD, "yes"),
    b("jemalloc-bg-thread", None, MOD, "yes"),
    b("activedefrag", None, MOD, "no"),
    b("syslog-enabled", None, IMM, "no"),
    b("cluster-enabled", None, IMM, "no"),
    b("appendonly", None, DENY_LOADING, "no"),
    b("cluster-allow-reads-when-down", None, MOD, "no"),
    b("cluster-allow-pubsubshard-when-down", None, MOD, "yes"),
    b("crash-log-enabled", None, MOD, "yes"),
    b("crash-memcheck-enabled", None, MOD, "yes"),
    b("use-exit-on-panic", None, HIDDEN, "no"),
    b("disable-thp", None, IMM, "yes"),
    b("cluster-allow-replica-migration", None, MOD, "yes"),
    b("replica-announced", None, MOD, "yes"),
    b("latency-tracking", None, MOD, "yes"),
    b("aof-disable-auto-gc", None, MOD, "no"),
    b("replica-ignore-disk-write-errors", None, MOD, "no"),
    // String configs
    s("aclfile", None, IMM, ""),
    s("unixsocket", None, IMM, ""),
    s("pidfile", None, IMM, ""),
    s("replica-announce-ip", Some("slave-announce-ip"), MOD, ""),
    s("masteruser", None, SENSITIVE, ""),
    s("cluster-announce-ip", None, MOD, ""),
    s("cluster-config-file", None, IMM, "nodes.conf"),
    p("cluster-announce-hostname", None, MOD, Kind::Str(Some(valid_hostname)), ""),
    s("syslog-ident", None, IMM, "redis"),
    p("dbfilename", None, PROTECTED, Kind::Str(Some(valid_dbfilename)), "dump.rdb"),
    p("appendfilename", None, IMM, Kind::Str(Some(valid_appendfilename)), "appendonly.aof"),
    p("appenddirname", None, IMM, Kind::Str(Some(valid_appenddirname)), "appendonlydir"),
    s("server_cpulist", None, IMM, ""),
    s("bio_cpulist", None, IMM, ""),
    s("aof_rewrite_cpulist", None, IMM, ""),
    s("bgsave_cpulist", None, IMM, ""),
    s("ignore-warnings", None, MOD, ""),
    p("proc-title-template", None, MOD, Kind::Str(Some(valid_proc_title)), "{title} {listen-addr} {server-mode}"),
    s("bind-source-addr", None, MOD, ""),
    s("logfile", None, IMM, ""),
    s("masterauth", None, SENSITIVE, ""),
    s("requirepass", None, SENSITIVE, ""),
    // Enum configs
    e("supervised", IMM, SUPERVISED, "no"),
    e("syslog-facility", IMM, SYSLOG_FACILITY, "local0"),
    e("repl-diskless-load", DENY_LOADING, REPL_DISKLESS_LOAD, "disabled"),
    e("loglevel", MOD, LOGLEVEL, "notice"),
    e("maxmemory-policy", MOD, MAXMEMORY_POLICY, "noeviction"),
    e("appendfsync", MOD, APPENDFSYNC, "everysec"),
    e("oom-score-adj", MOD, OOM_SCORE_ADJ, "no"),
    e("acl-pubsub-default", MOD, ACL_PUBSUB_DEFAULT, "resetchannels"),
    e("sanitize-dump-payload", MOD, SANITIZE_DUMP_PAYLOAD, "no"),
    e("enable-protected-configs", IMM, PROTECTED_ACTION, "no"),
    e("enable-debug-command", IMM, PROTECTED_ACTION, "no"),
    e("enable-module-command", IMM, PROTECTED_ACTION, "no"),
    e("cluster-preferred-endpoint-type", MOD, CLUSTER_ENDPOINT_TYPE, "ip"),
    e("propagation-error-behavior", MOD, PROPAGATION_ERROR_BEHAVIOR, "ignore"),
    p("shutdown-on-sigint", None, MULTI_ARG, Kind::Flags(SHUTDOWN_ON_SIG), "default"),
    p("shutdown-on-sigterm", None, MULTI_ARG, Kind::Flags(SHUTDOWN_ON_SIG), "default"),
    // Integer configs
    n("databases", None, IMM, 1, INT_MAX, "16"),
    n("port", None, MOD, 0, 65535, "6379"),
    n("io-threads", None, IMM, 1, 128, "1"),
    n("auto-aof-rewrite-percentage", None, MOD, 0, INT_MAX, "100"),
    n("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MOD, 0, INT_MAX, "10"),
    n("list-max-listpack-size", Some("list-max-ziplist-size"), MOD, INT_MIN, INT_MAX, "-2"),
    n("tcp-keepalive", None, MOD, 0, INT_MAX, "300"),
    n("cluster-migration-barrier", None, MOD, 0, INT_MAX, "1"),
    n("active-defrag-cycle-min", None, MOD, 1, 99, "1"),
    n("active-defrag-cycle-max", None, MOD, 1, 99, "25"),
    n("active-defrag-threshold-lower", None, MOD, 0, 1000, "10"),
    n("active-defrag-threshold-upper", None, MOD, 0, 1000, "100"),
    n("lfu-log-factor", None, MOD, 0, INT_MAX, "10"),
    n("lfu-decay-time", None, MOD, 0, INT_MAX, "1"),
    n("replica-priority", Some("slave-priority"), MOD, 0, INT_MAX, "100"),
    n("repl-diskless-sync-delay", None, MOD, 0, INT_MAX, "5"),
    n("maxmemory-samples", None, MOD, 1, INT_MAX, "5"),
    n("maxmemory-eviction-tenacity", None, MOD, 0, 100, "10"),
    n("timeout", None, MOD, 0, INT_MAX, "0"),
    n("replica-announce-port", Some("slave-announce-port"), MOD, 0, 65535, "0"),
    n("tcp-backlog", None, IMM, 0, INT_MAX, "511"),
    n("cluster-port", None, IMM, 0, 65535, "0"),
    n("cluster-announce-bus-port", None, MOD, 0, 65535, "0"),
    n("cluster-announce-port", None, MOD, 0, 65535, "0"),
    n("cluster-announce-tls-port", None, MOD, 0, 65535, "0"),
    n("repl-timeout", None, MOD, 1, INT_MAX, "60"),
    n("repl-ping-replica-period", Some("repl-ping-slave-period"), MOD, 1, INT_MAX, "10"),
    n("list-compress-depth", None, MOD, 0, INT_MAX, "0"),
    n("rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, "0"),
    n("key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, "0"),
    n("active-expire-effort", None, MOD, 1, 10, "1"),
    n("hz", None, MOD, 0, INT_MAX, "10"),
    n("min-replicas-to-write", Some("min-slaves-to-write"), MOD, 0, INT_MAX, "0"),
    n("min-replicas-max-lag", Some("min-slaves-max-lag"), MOD, 0, INT_MAX, "10"),
    n("watchdog-period", None, HIDDEN, 0, INT_MAX, "0"),
    n("shutdown-timeout", None, MOD, 0, INT_MAX, "10"),
    n("repl-diskless-sync-max-replicas", None, MOD, 0, INT_MAX, "0"),
    // Unsigned int configs
    u("maxclients", None, MOD, 1, UINT_MAX, "10000"),
    p("unixsocketperm", None, IMM, Kind::Num(Num { min: 0, max: 0o777, unsigned: true, fmt: NumFmt::Octal }), "0"),
    u("socket-mark-id", None, IMM, 0, UINT_MAX, "0"),
    // Unsigned long configs (bounds checked as signed, as in Redis)
    n("active-defrag-max-scan-fields", None, MOD, 1, LONG_MAX, "1000"),
    n("slowlog-max-len", None, MOD, 0, LONG_MAX, "128"),
    n("acllog-max-len", None, MOD, 0, LONG_MAX, "128"),
    // Long long configs
    n("busy-reply-threshold", Some("lua-time-limit"), MOD, 0, LONG_MAX, "5000"),
    n("cluster-node-timeout", None, MOD, 0, LONG_MAX, "15000"),
    n("slowlog-log-slower-than", None, MOD, -1, LONG_MAX, "10000"),
    n("latency-monitor-threshold", None, MOD, 0, LONG_MAX, "0"),
    mem("proto-max-bulk-len", None, false, 1024 * 1024, LONG_MAX, "536870912"),
    n("stream-node-max-entries", None, MOD, 0, LONG_MAX, "100"),
    mem("repl-backlog-size", None, false, 1, LONG_MAX, "1048576"),
    // Unsigned long long configs
    mem("maxmemory", None, true, 0, ULLONG_MAX, "0"),
    mem("cluster-link-sendbuf-limit", None, true, 0, ULLONG_MAX, "0"),
    // size_t configs
    u("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MOD, 0, LONG_MAX, "512"),
    u("set-max-intset-entries", None, MOD, 0, LONG_MAX, "512"),
    u("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MOD, 0, LONG_MAX, "128"),
    mem("active-defrag-ignore-bytes", None, true, 1, LONG_MAX, "104857600"),
    mem("hash-max-listpack-value", Some("hash-max-ziplist-value"), true, 0, LONG_MAX, "64"),
    mem("stream-node-max-bytes", None, true, 0, LONG_MAX, "4096"),
    mem("zset-max-listpack-value", Some("zset-max-ziplist-value"), true, 0, LONG_MAX, "64"),
    mem("hll-sparse-max-bytes", None, true, 0, LONG_MAX, "3000"),
    u("tracking-table-max-keys", None, MOD, 0, LONG_MAX, "1000000"),
    mem("client-query-buffer-limit", None, true, 1024 * 1024, LONG_MAX, "1073741824"),
    p("maxmemory-clients", None, MOD, Kind::Num(Num { min: -100, max: LONG_MAX, unsigned: false, fmt: NumFmt::MemoryPercent }), "0"),
    // Other numeric configs
    n("repl-backlog-ttl", None, MOD, 0, LONG_MAX, "3600"),
    mem("auto-aof-rewrite-min-size", None, false, 0, LONG_MAX, "67108864"),
    n("loading-process-events-interval-bytes", None, HIDDEN, 1024, INT_MAX, "2097152"),
    // TLS configs
    n("tls-port", None, MOD, 0, 65535, "0"),
    n("tls-session-cache-size", None, MOD, 0, INT_MAX, "20480"),
    n("tls-session-cache-timeout", None, MOD, 0, INT_MAX, "300"),
    b("tls-cluster", None, MOD, "no"),
    b("tls-replication", None, MOD, "no"),
    e("tls-auth-clients", MOD, TLS_AUTH_CLIENTS, "yes"),
    b("tls-prefer-server-ciphers", None, MOD, "no"),
    b("tls-session-caching", None, MOD, "yes"),
    s("tls-cert-file", None, MOD, ""),
    s("tls-key-file", None, MOD, ""),
    s("tls-key-file-pass", None, MOD, ""),
    s("tls-client-cert-file", None, MOD, ""),
    s("tls-client-key-file", None, MOD, ""),
    s("tls-client-key-file-pass", None, MOD, ""),
    s("tls-dh-params-file", None, MOD, ""),
    s("tls-ca-cert-file", None, MOD, ""),
    s("tls-ca-cert-dir", None, MOD, ""),
    s("tls-protocols", None, MOD, ""),
    s("tls-ciphers", None, MOD, ""),
    s("tls-ciphersuites", None, MOD, ""),
    // Special configs
    special("dir", None, PROTECTED | DENY_LOADING, Special::Dir, "."),
    special("save", None, MULTI_ARG, Special::Save, "3600 1 300 100 60 10000"),
    special(
        "client-output-buffer-limit",
        None,
        MULTI_ARG,
        Special::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    special("oom-score-adj-values", None, MULTI_ARG, Special::OomScoreAdjValues, "0 200 800"),
    special("notify-keyspace-events", None, MOD, Special::NotifyKeyspaceEvents, ""),
    special("bind", None, MULTI_ARG, Special::Bind, "* -::*"),
    special("replicaof", Some("slaveof"), IMM | MULTI_ARG, Special::ReplicaOf, ""),
    special("latency-tracking-info-percentiles", None, MULTI_ARG, Special::LatencyTrackingInfoPercentiles, "50 99 99.9"),
    // Lab-only parameters (not in Redis): hidden, so that `CONFIG GET *` lists exactly Redis's.
    // `lab-aof-mode 6.2` runs the AOF with Redis 6.2's single-file design (src/aof/legacy.rs);
    // immutable because it decides the directory layout the server starts from.
    e("lab-aof-mode", IMM | HIDDEN, LAB_AOF_MODE, "7.0"),
    // AOF Lab only (not in Redis): how many keys the simulated rewrite / BGSAVE child writes per
    // cron tick; 0 = all of them in one tick. Hidden, so that `CONFIG GET *` stays Redis's list;
    // `CONFIG GET lab-rewrite-keys-per-tick` finds it.
    n("lab-rewrite-keys-per-tick", None, HIDDEN, 0, LONG_MAX, "0"),
    // AOF Lab only: how long the simulated bio thread's background fsync takes (ms), to watch
    // everysec postpone its writes behind a slow disk. Hidden like the one above.
    n("lab-fsync-latency-ms", None, HIDDEN, 0, 60_000, "0"),
];

/// A registered name: a parameter under its own name or under its alias. Redis registers an
/// alias as a separate entry, which shows in CONFIG GET (both names match `*`) and in CONFIG SET
/// (setting a parameter and its alias in one call is not a "duplicate").
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub param: &'static Param,
    pub is_alias: bool,
}

impl Entry {
    /// The name this entry is registered under.
    pub fn name(&self) -> &'static str {
        if self.is_alias { self.param.alias.unwrap_or(self.param.name) } else { self.param.name }
    }
    pub fn same(&self, other: &Entry) -> bool {
        std::ptr::eq(self.param, other.param) && self.is_alias == other.is_alias
    }
}

/// Every registered name: each parameter, then its alias.
pub fn entries() -> impl Iterator<Item = Entry> {
    PARAMS.iter().flat_map(|param| {
        let alias = param.alias.map(|_| Entry { param, is_alias: true });
        std::iter::once(Entry { param, is_alias: false }).chain(alias)
    })
}

/// `lookupConfig`: case-insensitive, by name or alias.
pub fn lookup(name: &[u8]) -> Option<Entry> {
    entries().find(|e| e.name().as_bytes().eq_ignore_ascii_case(name))
}
