//! What clients and tools ask a server about itself: SLOWLOG, LATENCY, MEMORY, MONITOR, LOLWUT,
//! ROLE, and the state behind `CLIENT TRACKING` (server-assisted client-side caching).
//!
//! **Time.** The engine never reads a clock, so a command's duration (SLOWLOG's third field) is
//! what the host's lent clock measures ([`crate::Config::load_clock`]: a monotonic clock in
//! `aof-lab serve`); without one (the lab, whose replays must give the same bytes) every command
//! takes 0 µs, so only `slowlog-log-slower-than 0` logs anything. No latency event is ever
//! recorded (Redis records them when an fsync, a fork or an expire cycle takes longer than
//! `latency-monitor-threshold`; here those take simulated time), so LATENCY answers as a Redis
//! that never saw a spike does. LATENCY HISTOGRAM is the per-command histograms of
//! [`super::stats`].
//!
//! **MONITOR.** Every command a client runs (not those flagged `admin` or `skip_monitor`, and
//! not while loading) is sent to each monitor, as `replicationFeedMonitors` formats it:
//! `+<unix s>.<µs> [<db> <addr>] "arg" "arg"` (the lab's clients, which have no address, show
//! an empty one).
//!
//! **Tracking** (`CLIENT TRACKING on`, Redis's `tracking.c`): in the default mode the keys a
//! tracking client reads are remembered (a key name, whatever its db, as Redis's table does);
//! when one is modified, every client that read it gets an invalidation: a RESP3 push
//! `>2 invalidate [key]`, or, redirected (`REDIRECT <id>`) to a RESP2 client subscribed to
//! `__redis__:invalidate`, a `message` on that channel; then it is forgotten until read again.
//! In BCAST mode nothing is remembered: the keys modified under a registered prefix are
//! gathered during the event-loop turn and announced at its end (`beforeSleep`), one message per
//! prefix and client with the keys in order. FLUSHDB / FLUSHALL invalidate everything
//! (`invalidate` with a null). Compared with Redis: the table has no
//! `tracking-table-max-keys` limit.

use std::collections::{BTreeMap, VecDeque};

use super::{ADMIN_LS, help_reply};
use crate::cmd::{ADMIN, Command, FAST, Group, LOADING, NOSCRIPT, PROTECTED, READONLY, SKIP_MONITOR, STALE, args};
use crate::keyspace::Key;
use crate::reply::Reply;
use crate::server::{Client, ClientId, Ctx, LogLevel, Server};

/// `SLOWLOG_ENTRY_MAX_ARGC`, `SLOWLOG_ENTRY_MAX_STRING`.
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_STRING: usize = 128;

#[derive(Clone, Debug)]
pub struct SlowlogEntry {
    pub id: u64,
    /// Unix seconds.
    pub time: i64,
    /// Microseconds.
    pub duration: u64,
    pub argv: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// A tracking client's options (`CLIENT TRACKING on …`).
#[derive(Clone, Debug, Default)]
pub struct Tracking {
    /// `REDIRECT <id>`: where its invalidations go (0: to itself).
    pub redirect: ClientId,
    pub bcast: bool,
    pub prefixes: Vec<Vec<u8>>,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// `CLIENT CACHING yes|no` given for the next command.
    pub caching: bool,
    /// `CLIENT_TRACKING_BROKEN_REDIR`: an invalidation found its redirection gone.
    pub broken: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Diag {
    /// Newest first, as Redis's list.
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Keys read by tracking clients (default mode), and who read them.
    tracked: BTreeMap<Key, Vec<ClientId>>,
    /// Clients with tracking on (INFO's `tracking_clients`).
    pub tracking_clients: usize,
    /// Keys modified during the current command (`None`: a flush), announced once it is over
    /// and its client is back among the others (7.0 sends a client's own invalidations after
    /// the reply of the command that caused them).
    pending: Vec<Option<Key>>,
    /// BCAST's `PrefixTable` keys: per prefix some BCAST client registered (`""` for all), the
    /// keys modified this event-loop turn that start with it and who modified each last; sent,
    /// one message per prefix and client, by [`broadcast_invalidations`] at the turn's end.
    bcast_keys: BTreeMap<Key, BTreeMap<Key, Option<ClientId>>>,
    /// `slowlog-log-slower-than` and `slowlog-max-len`, read once per CONFIG SET (not per
    /// command).
    slowlog_threshold: i64,
    slowlog_max_len: usize,
}

impl Diag {
    pub fn new(config: &crate::Config) -> Diag {
        let mut d = Diag::default();
        d.configure(config);
        d
    }
    /// Reads the settings it acts on (at start and after CONFIG SET).
    pub fn configure(&mut self, config: &crate::Config) {
        self.slowlog_threshold = config.get("slowlog-log-slower-than").and_then(|v| v.parse().ok()).unwrap_or(10_000);
        self.slowlog_max_len = config.get("slowlog-max-len").and_then(|v| v.parse().ok()).unwrap_or(128);
    }
}

// ----- SLOWLOG -----

/// `slowlogPushEntryIfNeeded`: called by `call()` for every command that is not `skip_slowlog`.
pub fn slowlog_push(srv: &mut Server, client: &Client, argv: &[&[u8]], duration_us: u64) {
    let threshold = srv.diag.slowlog_threshold;
    if threshold < 0 || i64::try_from(duration_us).unwrap_or(i64::MAX) < threshold {
        return;
    }
    let argc = argv.len().min(SLOWLOG_MAX_ARGC);
    let mut out = Vec::with_capacity(argc);
    for (j, a) in argv.iter().take(argc).enumerate() {
        if argc != argv.len() && j == argc - 1 {
            out.push(format!("... ({} more arguments)", argv.len() - argc + 1).into_bytes());
        } else if a.len() > SLOWLOG_MAX_STRING {
            let mut s = a[..SLOWLOG_MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_STRING).as_bytes());
            out.push(s);
        } else {
            out.push(a.to_vec());
        }
    }
    let entry = SlowlogEntry {
        id: srv.diag.slowlog_next_id,
        time: srv.unixtime(),
        duration: duration_us,
        argv: out,
        // `getClientPeerId` of a client with no connection (a script's): "?:0".
        peer: if crate::cmd::scripting::is_script_client(client) { "?:0".into() } else { client.addr.clone() },
        name: client.name.clone().unwrap_or_default(),
    };
    srv.diag.slowlog_next_id += 1;
    srv.diag.slowlog.push_front(entry);
    let max = srv.diag.slowlog_max_len;
    srv.diag.slowlog.truncate(max);
}

const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

pub static SLOWLOG_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.2.12",
        summary: "Get the slow log's entries",
        ..Command::new("get", -2, ADMIN | LOADING | STALE, (0, 0, 0), Group::Server, slowlog_get)
    },
    Command {
        since: "2.2.12",
        summary: "Get the slow log's length",
        ..Command::new("len", 2, ADMIN | LOADING | STALE, (0, 0, 0), Group::Server, slowlog_len)
    },
    Command {
        since: "2.2.12",
        summary: "Clear all entries from the slow log",
        ..Command::new("reset", 2, ADMIN | LOADING | STALE, (0, 0, 0), Group::Server, slowlog_reset)
    },
    Command {
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Server, slowlog_help)
    },
];

pub fn slowlog_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("SLOWLOG", SLOWLOG_HELP)
}

fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() > 3 {
        return crate::cmd::subcommand_syntax(argv);
    }
    let mut count: usize = 10;
    if let Some(a) = argv.get(2) {
        match crate::util::string2ll(a) {
            Some(-1) => count = ctx.srv.diag.slowlog.len(),
            Some(n) if n >= 0 => count = usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Reply::err("ERR count should be greater than or equal to -1"),
        }
    }
    Reply::Array(
        ctx.srv
            .diag
            .slowlog
            .iter()
            .take(count)
            .map(|e| {
                Reply::Array(vec![
                    Reply::Int(i64::try_from(e.id).unwrap_or(i64::MAX)),
                    Reply::Int(e.time),
                    Reply::Int(i64::try_from(e.duration).unwrap_or(i64::MAX)),
                    Reply::array_of_bulks(e.argv.iter().cloned()),
                    Reply::bulk(e.peer.as_bytes()),
                    Reply::bulk(e.name.clone()),
                ])
            })
            .collect(),
    )
}

fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(i64::try_from(ctx.srv.diag.slowlog.len()).unwrap_or(i64::MAX))
}

fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    ctx.srv.diag.slowlog.clear();
    Reply::ok()
}

// ----- LATENCY -----

const LATENCY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

const LAT: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static LATENCY_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.8.13",
        summary: "Return a human readable latency analysis report.",
        ..Command::new("doctor", 2, LAT, (0, 0, 0), Group::Server, latency_doctor)
    },
    Command {
        since: "2.8.13",
        summary: "Return a latency graph for the event.",
        ..Command::new("graph", 3, LAT, (0, 0, 0), Group::Server, latency_graph)
    },
    Command {
        since: "2.8.13",
        summary: "Return timestamp-latency samples for the event.",
        ..Command::new("history", 3, LAT, (0, 0, 0), Group::Server, latency_empty)
    },
    Command {
        since: "2.8.13",
        summary: "Return the latest latency samples for all events.",
        ..Command::new("latest", 2, LAT, (0, 0, 0), Group::Server, latency_empty)
    },
    Command {
        since: "2.8.13",
        summary: "Reset latency data for one or more events.",
        ..Command::new("reset", -2, LAT, (0, 0, 0), Group::Server, latency_reset)
    },
    Command {
        since: "2.8.13",
        summary: "Show helpful text about the different subcommands.",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Server, latency_help)
    },
    Command {
        since: "7.0.0",
        summary: "Return the cumulative distribution of latencies of a subset of commands or all.",
        ..Command::new("histogram", -2, LAT, (0, 0, 0), Group::Server, super::stats::latency_histogram)
    },
];

pub fn latency_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("LATENCY", LATENCY_HELP)
}

/// LATEST and HISTORY: no event was ever recorded.
fn latency_empty(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(vec![])
}

fn latency_graph(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    Reply::error(format!("ERR No samples available for event '{}'", String::from_utf8_lossy(argv[2])))
}

fn latency_reset(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(0)
}

/// `createLatencyReport` with no event recorded.
fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let threshold = ctx.srv.config.get("latency-monitor-threshold").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let text = if threshold == 0 {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
    } else {
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
    };
    Reply::Verbatim("txt".into(), text.as_bytes().to_vec())
}

// ----- MEMORY -----

const MEMORY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

pub static MEMORY_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "4.0.0",
        summary: "Outputs memory problems report",
        ..Command::new("doctor", 2, 0, (0, 0, 0), Group::Server, memory_doctor)
    },
    Command {
        since: "4.0.0",
        summary: "Show allocator internal stats",
        ..Command::new("malloc-stats", 2, 0, (0, 0, 0), Group::Server, memory_malloc_stats)
    },
    Command {
        since: "4.0.0",
        summary: "Ask the allocator to release memory",
        ..Command::new("purge", 2, 0, (0, 0, 0), Group::Server, memory_purge)
    },
    Command { since: "4.0.0", summary: "Show memory usage details", ..Command::new("stats", 2, 0, (0, 0, 0), Group::Server, memory_stats) },
    Command {
        since: "4.0.0",
        summary: "Estimate the memory usage of a key",
        ..Command::new("usage", -3, READONLY, (2, 2, 1), Group::Server, memory_usage)
    },
    Command {
        since: "4.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Server, memory_help)
    },
];

pub fn memory_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("MEMORY", MEMORY_HELP)
}

/// `MEMORY USAGE key [SAMPLES n]`: the engine's estimate of the key and its value (the same
/// figures `used_memory` adds up; Redis asks its allocator, so the numbers differ).
fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut j = 3;
    while j < argv.len() {
        if args::is(argv[j], "samples") && j + 1 < argv.len() {
            match crate::util::string2ll(argv[j + 1]) {
                None => return Reply::not_integer(),
                Some(n) if n < 0 => return Reply::syntax(),
                Some(_) => {}
            }
            j += 2;
        } else {
            return Reply::syntax();
        }
    }
    let db = ctx.client.db;
    // MEMORY USAGE reads the dict directly: no expiry, no hit or miss.
    match ctx.srv.dbs[db].get(argv[2]) {
        None => Reply::Nil,
        Some(v) => {
            Reply::Int(i64::try_from(crate::keyspace::KEY_OVERHEAD + argv[2].len() as u64 + v.approx_size() as u64).unwrap_or(i64::MAX))
        }
    }
}

/// `MEMORY STATS`: the shape of Redis's map, with the engine's figures.
fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let srv = &*ctx.srv;
    let dataset = srv.dataset_memory();
    let aof = srv.feed.aof_buf.len() as u64;
    let startup = super::info::STARTUP_MEMORY;
    let total = startup + dataset + aof;
    let keys: u64 = srv.dbs.iter().map(|d| d.len() as u64).sum();
    let int = |n: u64| Reply::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let b = |s: &str| Reply::bulk(s);
    let mut m = vec![
        (b("peak.allocated"), int(total)),
        (b("total.allocated"), int(total)),
        (b("startup.allocated"), int(startup)),
        (b("replication.backlog"), int(0)),
        (b("clients.slaves"), int(0)),
        (b("clients.normal"), int(0)),
        (b("cluster.links"), int(0)),
        (b("aof.buffer"), int(aof)),
        (b("lua.caches"), int(0)),
        (b("functions.caches"), int(0)),
    ];
    for (i, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        m.push((
            Reply::bulk(format!("db.{i}")),
            Reply::Map(vec![
                (b("overhead.hashtable.main"), int(db.len() as u64 * 24)),
                (b("overhead.hashtable.expires"), int(db.expires_len() as u64 * 24)),
                (b("overhead.hashtable.slot-to-keys"), int(0)),
            ]),
        ));
    }
    let overhead = total - dataset;
    m.extend([
        (b("overhead.total"), int(overhead)),
        (b("keys.count"), int(keys)),
        (b("keys.bytes-per-key"), int((total - startup).checked_div(keys).unwrap_or(0))),
        (b("dataset.bytes"), int(dataset)),
        (b("dataset.percentage"), Reply::Double(if total == startup { 0.0 } else { dataset as f64 * 100.0 / (total - startup) as f64 })),
        (b("peak.percentage"), Reply::Double(100.0)),
        (b("allocator.allocated"), int(total)),
        (b("allocator.active"), int(total)),
        (b("allocator.resident"), int(total)),
        (b("allocator-fragmentation.ratio"), Reply::Double(1.0)),
        (b("allocator-fragmentation.bytes"), int(0)),
        (b("allocator-rss.ratio"), Reply::Double(1.0)),
        (b("allocator-rss.bytes"), int(0)),
        (b("rss-overhead.ratio"), Reply::Double(1.0)),
        (b("rss-overhead.bytes"), int(0)),
        (b("fragmentation"), Reply::Double(1.0)),
        (b("fragmentation.bytes"), int(0)),
    ]);
    Reply::Map(m)
}

/// `getMemoryDoctorReport`: an instance under 5 MB is "empty"; with the engine's figures (no
/// fragmentation, no peak above now) a bigger one has no issue to report.
fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    let used = ctx.srv.used_memory_counted_for_evict();
    let text = if used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    Reply::Verbatim("txt".into(), text.as_bytes().to_vec())
}

/// Not jemalloc: what Redis built with libc malloc answers.
fn memory_malloc_stats(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Verbatim("txt".into(), b"Stats not supported for the current allocator".to_vec())
}

fn memory_purge(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::ok()
}

// ----- LOLWUT, ROLE, MONITOR -----

pub static COMMANDS: &[Command] = &[
    Command {
        since: "2.2.12",
        summary: "A container for slow log commands",
        subcommands: SLOWLOG_SUBCOMMANDS,
        ..Command::new("slowlog", -2, 0, (0, 0, 0), Group::Server, slowlog_help)
    },
    Command {
        since: "2.8.13",
        summary: "A container for latency diagnostics commands",
        subcommands: LATENCY_SUBCOMMANDS,
        ..Command::new("latency", -2, 0, (0, 0, 0), Group::Server, latency_help)
    },
    Command {
        since: "4.0.0",
        summary: "A container for memory diagnostics commands",
        subcommands: MEMORY_SUBCOMMANDS,
        ..Command::new("memory", -2, 0, (0, 0, 0), Group::Server, memory_help)
    },
    Command {
        since: "5.0.0",
        summary: "Display some computer art and the Redis version",
        ..Command::new("lolwut", -1, READONLY | FAST, (0, 0, 0), Group::Server, lolwut)
    },
    Command {
        since: "4.0.0",
        summary: "A container for module commands",
        subcommands: MODULE_SUBCOMMANDS,
        ..Command::new("module", -2, 0, (0, 0, 0), Group::Server, module_help)
    },
    Command {
        since: "2.8.12",
        summary: "Return the role of the instance in the context of replication",
        ..Command::new("role", 1, NOSCRIPT | LOADING | STALE | FAST, (0, 0, 0), Group::Server, role)
    },
    Command {
        since: "3.0.0",
        summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        ..Command::new("wait", 3, NOSCRIPT, (0, 0, 0), Group::Generic, wait)
    },
    Command {
        summary: "Listen for all requests received by the server in real time",
        ..Command::new("monitor", 1, ADMIN_LS, (0, 0, 0), Group::Server, monitor)
    },
];

/// `LOLWUT [VERSION v]`: the art of versions 5 and 6 is drawn with `rand()` (and is not
/// modelled: the engine answers what any other version gets); 7.0's own is the version line.
fn lolwut(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() >= 3 && args::is(argv[1], "version") && crate::util::string2ll(argv[2]).is_none() {
        return Reply::not_integer();
    }
    Reply::Verbatim("txt".into(), b"Redis ver. 7.0.15\n".to_vec())
}

/// `ROLE` of a master with no replica (the engine never replicates).
fn role(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(vec![Reply::bulk("master"), Reply::Int(0), Reply::Array(vec![])])
}

/// MODULE: this server loads no modules (`moduleCommand`). LOAD / LOADEX / UNLOAD are
/// protected (`enable-module-command`, "no" by default); allowed, a load fails as a failed
/// `dlopen` does and an unload finds no such module.
pub static MODULE_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "4.0.0",
        summary: "Load a module",
        ..Command::new("load", -3, ADMIN | NOSCRIPT | PROTECTED, (0, 0, 0), Group::Server, module_load)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, (0, 0, 0), Group::Server, module_help)
    },
    Command {
        since: "7.0.0",
        summary: "Load a module with extended parameters",
        ..Command::new("loadex", -3, ADMIN | NOSCRIPT | PROTECTED, (0, 0, 0), Group::Server, module_load)
    },
    Command {
        since: "4.0.0",
        summary: "List all modules loaded by the server",
        ..Command::new("list", 2, ADMIN | NOSCRIPT, (0, 0, 0), Group::Server, module_list)
    },
    Command {
        since: "4.0.0",
        summary: "Unload a module",
        ..Command::new("unload", 3, ADMIN | NOSCRIPT | PROTECTED, (0, 0, 0), Group::Server, module_unload)
    },
];

const MODULE_HELP: &[&str] = &[
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
];

fn module_help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("MODULE", MODULE_HELP)
}

fn module_list(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(vec![])
}

fn module_load(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let path = String::from_utf8_lossy(argv[2]);
    ctx.srv.log(LogLevel::Warning, format!("Module {path} failed to load: this server loads no modules (aof-lab)"));
    Reply::err("ERR Error loading the extension. Please check the server logs.")
}

fn module_unload(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::err("ERR Error unloading module: no such module with that name")
}

/// `WAIT numreplicas timeout` (`waitCommand`) on a master without replicas: no replica ever
/// acknowledges, so it answers 0 at once when 0 replicas will do (or inside EXEC), and
/// otherwise blocks until the timeout (0: forever, until CLIENT UNBLOCK) and then answers 0.
fn wait(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let Some(numreplicas) = crate::util::string2ll(argv[1]) else {
        return Reply::not_integer();
    };
    // getTimeoutFromObjectOrReply(…, UNIT_MILLISECONDS)
    let Some(timeout) = crate::util::string2ll(argv[2]) else {
        return Reply::err("ERR timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return Reply::err("ERR timeout is negative");
    }
    let acks = 0;
    if acks >= numreplicas || ctx.client.in_exec {
        return Reply::Int(acks);
    }
    let deadline = if timeout > 0 { ctx.now_ms().saturating_add(timeout) } else { 0 };
    ctx.block(Vec::new(), deadline, Reply::Int(acks));
    Reply::Int(acks)
}

/// `MONITOR`: from now on this connection receives every command run by any client.
fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    // Not inside EXEC (CLIENT_DENY_BLOCKING); one that already monitors gets nothing more.
    if ctx.client.in_exec {
        return Reply::err("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    if ctx.srv.monitors.contains(&ctx.client.id) {
        return Reply::Many(vec![]);
    }
    ctx.srv.monitors.push(ctx.client.id);
    Reply::ok()
}

/// What `call()` feeds the monitors: a command run at `now_us`, unless it is `admin` or
/// `skip_monitor` (EVAL, EVALSHA and FCALL feed themselves, before the commands they run).
pub fn feed_monitors(srv: &mut Server, client: &Client, cmd: &Command, argv: &[&[u8]], now_us: i64) {
    if cmd.flags & (SKIP_MONITOR | ADMIN) == 0 {
        feed_monitors_now(srv, client, argv, now_us);
    }
}

/// `replicationFeedMonitors`: the line every monitor receives for `argv`, run at `now_us`.
pub fn feed_monitors_now(srv: &mut Server, client: &Client, argv: &[&[u8]], now_us: i64) {
    if srv.monitors.is_empty() || srv.loading {
        return;
    }
    let mut line = format!("{}.{:06} [{} {}]", now_us.div_euclid(1_000_000), now_us.rem_euclid(1_000_000), client.db, client.addr);
    for a in argv {
        line.push_str(" \"");
        line.push_str(&crate::resp::repr(a));
        line.push('"');
    }
    let monitors = srv.monitors.clone();
    for id in monitors {
        srv.pubsub.push_message(id, Reply::Status(line.clone().into()));
    }
}

// ----- tracking -----

impl Diag {
    /// `trackingRememberKeys`: a tracking client (default mode) read these keys.
    pub fn remember_keys(&mut self, id: ClientId, keys: impl Iterator<Item = Key>) {
        for k in keys {
            let ids = self.tracked.entry(k).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
}

/// `trackingInvalidateKey`: a key was modified; announced by [`flush_invalidations`].
pub fn invalidate_key(srv: &mut Server, key: &[u8]) {
    if srv.diag.tracking_clients > 0 {
        srv.diag.pending.push(Some(key.to_vec()));
    }
}

/// `trackingInvalidateKeysOnFlush`: every tracking client will hear `invalidate` with a null.
pub fn invalidate_all(srv: &mut Server) {
    if srv.diag.tracking_clients > 0 {
        srv.diag.pending.push(None);
    }
}

/// Sends the invalidations of the keys modified by the command just run by `by` (`None`:
/// serverCron's expiry): to every client that read the key (default mode), or whose BCAST
/// prefixes cover it.
pub fn flush_invalidations(srv: &mut Server, by: Option<ClientId>) {
    if srv.diag.pending.is_empty() {
        return;
    }
    for key in std::mem::take(&mut srv.diag.pending) {
        let mut targets: Vec<ClientId> = match &key {
            Some(k) => srv.diag.tracked.remove(k).unwrap_or_default(),
            None => {
                srv.diag.tracked.clear();
                srv.clients.values().filter(|c| c.tracking.is_some()).map(|c| c.id).collect()
            }
        };
        if let Some(k) = &key {
            // `trackingRememberKeyToBroadcast`: BCAST clients hear of it at the turn's end.
            let prefixes: Vec<Key> = bcast_prefixes(srv).into_iter().filter(|p| k.starts_with(p)).collect();
            for p in prefixes {
                srv.diag.bcast_keys.entry(p).or_default().insert(k.clone(), by);
            }
        }
        targets.sort_unstable();
        let payload = match &key {
            Some(k) => Reply::Array(vec![Reply::Bulk(k.clone())]),
            None => Reply::Nil,
        };
        for id in targets {
            send_invalidation(srv, id, by, payload.clone());
        }
    }
}

/// The prefixes BCAST clients registered (`""` for BCAST without PREFIX).
fn bcast_prefixes(srv: &Server) -> Vec<Key> {
    let mut all: Vec<Key> = Vec::new();
    for t in srv.clients.values().filter_map(|c| c.tracking.as_ref()).filter(|t| t.bcast) {
        all.extend(t.prefixes.iter().cloned());
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// INFO's `tracking_total_keys`, `tracking_total_items` (a key once per client that read it)
/// and `tracking_total_prefixes` (the prefixes BCAST clients registered).
pub fn tracking_totals(srv: &Server) -> (usize, usize, usize) {
    let keys = srv.diag.tracked.len();
    let items = srv.diag.tracked.values().map(Vec::len).sum();
    let prefixes = if srv.diag.tracking_clients == 0 { 0 } else { bcast_prefixes(srv).len() };
    (keys, items, prefixes)
}

/// `trackingBroadcastInvalidationMessages` (`beforeSleep`): for each prefix in order, the keys
/// modified this turn under it, in key order, as one `invalidate` message to each BCAST client
/// registered with it; a NOLOOP client's own keys left out (no message if none is left).
pub fn broadcast_invalidations(srv: &mut Server) {
    if srv.diag.bcast_keys.is_empty() {
        return;
    }
    let table = std::mem::take(&mut srv.diag.bcast_keys);
    for (prefix, keys) in table {
        let mut clients: Vec<(ClientId, bool)> = srv
            .clients
            .values()
            .filter_map(|c| c.tracking.as_ref().filter(|t| t.bcast).map(|t| (c.id, t)))
            .filter(|(_, t)| t.prefixes.contains(&prefix))
            .map(|(id, t)| (id, t.noloop))
            .collect();
        clients.sort_unstable();
        for (id, noloop) in clients {
            let sent: Vec<Reply> =
                keys.iter().filter(|(_, by)| !(noloop && **by == Some(id))).map(|(k, _)| Reply::Bulk(k.clone())).collect();
            if !sent.is_empty() {
                send_invalidation(srv, id, None, Reply::Array(sent));
            }
        }
    }
}

/// `sendTrackingMessage`: to the client itself over RESP3, or to its redirection: a RESP3
/// push, or a `message` on `__redis__:invalidate` to a RESP2 client subscribed to it.
fn send_invalidation(srv: &mut Server, id: ClientId, by: Option<ClientId>, payload: Reply) {
    let Some((Some(t), proto)) = srv.clients.get(&id).map(|c| (c.tracking.clone(), c.protocol())) else {
        return;
    };
    if t.noloop && by == Some(id) {
        return;
    }
    let (target, target_proto) = if t.redirect != 0 {
        match srv.clients.get(&t.redirect) {
            Some(r) => (r.id, r.protocol()),
            None => {
                // The redirection is gone: a RESP3 client is told so.
                if let Some(t) = srv.clients.get_mut(&id).and_then(|c| c.tracking.as_mut()) {
                    t.broken = true;
                }
                if proto >= crate::reply::RESP3 {
                    srv.pubsub.push_message(id, Reply::Push(vec![Reply::bulk("tracking-redir-broken"), Reply::Int(t.redirect as i64)]));
                }
                return;
            }
        }
    } else {
        (id, proto)
    };
    if target_proto >= crate::reply::RESP3 {
        srv.pubsub.push_message(target, Reply::Push(vec![Reply::bulk("invalidate"), payload]));
    } else if srv.clients.get(&target).is_some_and(|c| c.subs.channels.iter().any(|ch| ch == b"__redis__:invalidate")) {
        srv.pubsub.push_message(target, Reply::Push(vec![Reply::bulk("message"), Reply::bulk("__redis__:invalidate"), payload]));
    }
}

/// Forgets a client that turned tracking off or went away.
pub fn disable_tracking(srv: &mut Server, client: &mut Client) {
    if client.tracking.take().is_some() {
        srv.diag.tracking_clients = srv.diag.tracking_clients.saturating_sub(1);
        for ids in srv.diag.tracked.values_mut() {
            ids.retain(|&x| x != client.id);
        }
        srv.diag.tracked.retain(|_, ids| !ids.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine};

    /// A script's commands are logged with the peer of a client that has no connection (`?:0`,
    /// as `getClientPeerId` makes it for Redis's Lua client); the EVAL with its caller's.
    #[test]
    fn slowlog_peer_of_a_scripts_commands() {
        let mut e = Engine::new(Config::default(), 0);
        let c = e.connect();
        e.execute_line(c, "CONFIG SET slowlog-log-slower-than 0", 0);
        e.execute_line(c, "EVAL \"return redis.call('get','k')\" 0", 0);
        let peers: Vec<(String, String)> =
            e.srv.diag.slowlog.iter().map(|s| (String::from_utf8_lossy(&s.argv[0]).into_owned(), s.peer.clone())).collect();
        assert!(peers.contains(&("get".into(), "?:0".into())), "{peers:?}");
        assert!(peers.iter().any(|(cmd, peer)| cmd == "EVAL" && peer != "?:0"), "{peers:?}");
    }
}
