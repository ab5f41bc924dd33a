//! DEBUG: the subcommands a test of persistence needs. DIGEST and DIGEST-VALUE fingerprint the
//! dataset (see `keyspace::digest`), SET-ACTIVE-EXPIRE turns the expire cycle off so that expired
//! keys stay in memory until touched, SLEEP exists for scripts.
//!
//! DEBUG is one command in Redis's table (not a container): each subcommand checks its own
//! argument count, and anything else gets `unknown subcommand or wrong number of arguments`.
//! [`SUBCOMMANDS`] is the dispatch table: a new subcommand (the AOF's `LOADAOF`) is one more row.
//!
//! Compared with Redis: `DEBUG SLEEP` replies at once (the core never blocks on a clock).

use super::help_reply;
use crate::keyspace::digest::{ZERO, dataset_digest, hex, value_digest};
use crate::reply::Reply;
use crate::server::Ctx;

/// One DEBUG subcommand: name, the argument count check (argc includes `DEBUG` and the name),
/// and the handler.
pub struct DebugSub {
    pub name: &'static str,
    pub argc_ok: fn(usize) -> bool,
    pub proc_: fn(&mut Ctx, &[&[u8]]) -> Reply,
}

pub static SUBCOMMANDS: &[DebugSub] = &[
    DebugSub { name: "help", argc_ok: |n| n == 2, proc_: help },
    DebugSub { name: "digest", argc_ok: |n| n == 2, proc_: digest },
    DebugSub { name: "digest-value", argc_ok: |n| n >= 2, proc_: digest_value },
    DebugSub { name: "set-active-expire", argc_ok: |n| n == 3, proc_: set_active_expire },
    DebugSub { name: "sleep", argc_ok: |n| n == 3, proc_: sleep },
    DebugSub { name: "loadaof", argc_ok: |n| n == 2, proc_: loadaof },
    DebugSub { name: "reload", argc_ok: |n| n == 2, proc_: reload },
    DebugSub { name: "protocol", argc_ok: |n| n == 3, proc_: protocol },
    DebugSub { name: "error", argc_ok: |n| n == 3, proc_: error },
    DebugSub { name: "object", argc_ok: |n| n == 3, proc_: crate::cmd::keys::object::debug_object },
];

/// `DEBUG ERROR <string>`: the string as an error reply, its code included (`LOADING …`), no
/// `ERR` added; clients test their error classes with it. (Redis writes it with `addReplySds`,
/// so its INFO `errorstats` do not count it; here it counts like any error reply.)
fn error(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    Reply::error(String::from_utf8_lossy(argv[2]).into_owned())
}

/// `DEBUG PROTOCOL <type>`: one reply of each RESP3 type, for clients (and the differential
/// scripts) to check the encoding of both protocols.
fn protocol(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let name = String::from_utf8_lossy(argv[2]).to_ascii_lowercase();
    match name.as_str() {
        "string" => Reply::bulk("Hello World"),
        "integer" => Reply::Int(12345),
        // Redis's literal, not π.
        #[allow(clippy::approx_constant)]
        "double" => Reply::Double(3.141),
        "bignum" => Reply::BigNumber("1234567999999999999999999999999999999".into()),
        "null" => Reply::Nil,
        "array" => Reply::Array((0..3).map(Reply::Int).collect()),
        "set" => Reply::Set((0..3).map(Reply::Int).collect()),
        "map" => Reply::Map((0..3).map(|j| (Reply::Int(j), Reply::Bool(j == 1))).collect()),
        "attrib" => Reply::Attribute(
            vec![(Reply::bulk("key-popularity"), Reply::Array(vec![Reply::bulk("key:123"), Reply::Int(90)]))],
            Box::new(Reply::bulk("Some real reply following the attribute")),
        ),
        "push" if !ctx.resp3() => Reply::err("ERR RESP2 is not supported by this command"),
        "push" => Reply::WithPushes(
            vec![Reply::Push(vec![Reply::bulk("server-cpu-usage"), Reply::Int(42)])],
            Box::new(Reply::bulk("Some real reply following the push reply")),
        ),
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        "verbatim" => Reply::Verbatim("txt".into(), b"This is a verbatim\nstring".to_vec()),
        _ => Reply::err(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

pub(super) fn debug(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let sub = argv[1];
    match SUBCOMMANDS.iter().find(|s| sub.eq_ignore_ascii_case(s.name.as_bytes()) && (s.argc_ok)(argv.len())) {
        Some(s) => (s.proc_)(ctx, argv),
        None => crate::cmd::subcommand_syntax(argv),
    }
}

/// `DEBUG LOADAOF`: flush, empty every db, reload the manifest and its files. A load that is not
/// OK or EMPTY (a truncated tail included) makes Redis 7.0 exit; so does the engine.
fn loadaof(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    match ctx.srv.debug_loadaof() {
        Ok(()) => Reply::ok(),
        Err(why) => Reply::error(format!("ERR {why}")),
    }
}

/// `DEBUG RELOAD` (without options): SAVE, empty the dataset, load dump.rdb.
fn reload(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    match ctx.srv.debug_reload() {
        Ok(()) => Reply::ok(),
        Err(e) => Reply::error(e),
    }
}

fn digest(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Status(hex(&dataset_digest(&ctx.srv.dbs)).into())
}

/// One status per key, from the current db, without triggering expiry.
fn digest_value(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let db = ctx.db();
    Reply::Array(
        argv[2..]
            .iter()
            .map(|key| {
                let d = db.get(key).map_or(ZERO, |v| value_digest(v, db.expire_of(key).is_some()));
                Reply::Status(hex(&d).into())
            })
            .collect(),
    )
}

/// `atoi`: leading spaces, a sign, digits; anything else ends the number (so `abc` is 0).
fn atoi(s: &[u8]) -> i64 {
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).fold(0i64, |acc, c| acc.wrapping_mul(10).wrapping_add(i64::from(c - b'0')));
    if neg { -n } else { n }
}

fn set_active_expire(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    ctx.srv.config.active_expire_enabled = atoi(argv[2]) != 0;
    Reply::ok()
}

fn sleep(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::ok()
}

const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

fn help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("DEBUG", HELP)
}
