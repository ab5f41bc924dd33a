//! The lab's console shows replies as redis-cli 7.0.15 does (`cliFormatReplyTTY`), over RESP2
//! and, once the console sent `HELLO 3`, over RESP3 (`1# "k" => v`, `1~ …`, `(double) …`,
//! `(true)`, verbatim text unquoted, `(empty hash)` …); and the lab's wire connection answers
//! in the protocol it chose. Each line below runs through the real `redis-cli --no-raw`
//! (`-3` for RESP3) against a real redis-server 7.0.15, and through the lab's console; the two
//! outputs must be identical.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use aof_lab::Config;
use aof_lab::lab::{Lab, memory_lab};
use common::redis::RedisServer;

const T0: i64 = 1_700_000_000_000;

/// Data both sides hold before the comparisons (small encodings: deterministic order).
const SETUP: &[&str] =
    &["SET s hello", "SET n 12", "HSET h f1 v1 f2 \"two words\" f3 3", "SADD set 3 1 2", "ZADD z 1 a 2.5 b 0.1 c", "RPUSH l a \"b\\nc\" d"];

/// Lines whose output does not depend on the connection (no client id, no time).
const LINES: &[&str] = &[
    "GET s",
    "GET nokey",
    "STRLEN s",
    "MGET s nokey",
    "HGETALL h",
    "HGETALL nokey",
    "HKEYS h",
    "HRANDFIELD h 3 WITHVALUES",
    "SMEMBERS set",
    "SMEMBERS nokey",
    "SINTER set nokey",
    "ZRANGE z 0 -1 WITHSCORES",
    "ZRANGE z 0 -1",
    "ZSCORE z b",
    "ZSCORE z c",
    "ZMSCORE z a nosuch",
    "ZPOPMIN nokey 2",
    "LRANGE l 0 -1",
    "LPOS l x",
    "CONFIG GET maxmemory-policy",
    "CONFIG GET nosuch",
    "INFO keyspace",
    "LCS s s IDX",
    "COMMAND GETKEYSANDFLAGS set a b GET",
    "COMMAND INFO get",
    "DEBUG PROTOCOL double",
    "DEBUG PROTOCOL map",
    "DEBUG PROTOCOL set",
    "DEBUG PROTOCOL true",
    "DEBUG PROTOCOL false",
    "DEBUG PROTOCOL null",
    "DEBUG PROTOCOL verbatim",
    "DEBUG PROTOCOL bignum",
    "HELLO 4",
    "NOSUCH cmd",
];

fn redis_cli(port: u16, resp3: bool, line: &str) -> String {
    let argv = aof_lab::resp::split_args(line.as_bytes()).expect("balanced quotes");
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-p", &port.to_string(), "--no-raw"]);
    if resp3 {
        cmd.arg("-3");
    }
    cmd.args(argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()));
    let out = cmd.output().expect("redis-cli runs");
    // A reply redis-cli cannot show (a big number) is reported on stderr.
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.trim_end_matches('\n').to_string()
}

fn lab() -> Lab {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    memory_lab(c, T0)
}

fn console(l: &mut Lab, line: &str) -> String {
    l.execute_line(line, T0).join("\n")
}

#[test]
fn console_renders_like_redis_cli_over_resp2_and_resp3() {
    let server = RedisServer::start();
    let port = server.port;
    for line in SETUP {
        redis_cli(port, false, line);
    }
    let (mut two, mut three) = (lab(), lab());
    for line in SETUP {
        console(&mut two, line);
        console(&mut three, line);
    }
    // The RESP3 console switches as a user would, by typing HELLO 3.
    let hello = console(&mut three, "HELLO 3");
    assert!(hello.starts_with("1# \"server\" => \"redis\"\n2# \"version\" => \"7.0.15\"\n3# \"proto\" => (integer) 3\n"), "{hello}");
    assert!(hello.ends_with("7# \"modules\" => (empty array)"), "{hello}");
    let mut differ = Vec::new();
    for line in LINES {
        for (resp3, l) in [(false, &mut two), (true, &mut three)] {
            let want = redis_cli(port, resp3, line);
            let got = console(l, line);
            if want != got {
                differ.push(format!("{line} (RESP{}):\n  redis-cli: {want:?}\n  console:   {got:?}", if resp3 { 3 } else { 2 }));
            }
        }
    }
    assert!(differ.is_empty(), "{} outputs differ:\n{}", differ.len(), differ.join("\n"));
    // The RESP3 rendering really differs where it should (the comparison is not vacuous).
    assert_eq!(console(&mut three, "HGETALL h").lines().next(), Some("1# \"f1\" => \"v1\""));
    assert_eq!(console(&mut two, "HGETALL h").lines().next(), Some("1) \"f1\""));
    // HELLO 2 and RESET switch the console back.
    console(&mut three, "HELLO 2");
    assert_eq!(console(&mut three, "ZSCORE z b"), "\"2.5\"");
}

/// The wire connection (the page's programs and `Engine.call`) answers each command in the
/// protocol it chose, and a new connection after QUIT starts over in RESP2.
#[test]
fn wire_connection_speaks_the_protocol_it_chose() {
    let mut l = lab();
    let resp = |l: &mut Lab, argv: &[&str]| {
        let mut out = Vec::new();
        aof_lab::resp::encode_command(&mut out, argv);
        String::from_utf8_lossy(&l.execute_resp(&out, T0)).into_owned()
    };
    resp(&mut l, &["HSET", "h", "f", "v"]);
    assert_eq!(resp(&mut l, &["HGETALL", "h"]), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert!(resp(&mut l, &["HELLO", "3"]).starts_with("%7\r\n$6\r\nserver\r\n"));
    assert_eq!(resp(&mut l, &["HGETALL", "h"]), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(resp(&mut l, &["GET", "nokey"]), "_\r\n");
    // The console is another connection: still RESP2.
    assert_eq!(console(&mut l, "HGETALL h"), "1) \"f\"\n2) \"v\"");
    assert_eq!(resp(&mut l, &["QUIT"]), "+OK\r\n");
    assert_eq!(resp(&mut l, &["GET", "nokey"]), "$-1\r\n");
}

/// What a command pushes to its own connection goes where Redis writes it: a message it
/// published to a channel the connection listens to *before* the reply (added to the output
/// buffer while the command runs), the invalidation of a key it tracks and wrote *after* it
/// (7.0 holds those until the reply: `tracking_pending_keys`). The wire's bytes are compared
/// with a real redis-server's for the same commands on one connection; the console shows the
/// same order.
#[test]
fn own_pushes_surround_the_reply_as_in_redis() {
    use std::time::Duration;
    const STEPS: &[&[&str]] = &[
        &["HELLO", "3"],
        &["CLIENT", "TRACKING", "on"],
        &["GET", "k"],
        &["SET", "k", "v"],
        &["SUBSCRIBE", "ch"],
        &["PUBLISH", "ch", "hi"],
        &["EVAL", "redis.call('get', 'k'); redis.call('publish', 'ch', 'x'); return redis.call('set', 'k', 'w')", "0"],
        &["FLUSHALL"],
    ];
    let server = RedisServer::start();
    let mut real = server.connect();
    let mut l = lab();
    for argv in STEPS {
        let mut cmd = Vec::new();
        aof_lab::resp::encode_command(&mut cmd, argv);
        real.send(&cmd).unwrap();
        let want = real.read_quiet(Duration::from_millis(100));
        let got = l.execute_resp(&cmd, T0);
        if argv[0] == "HELLO" {
            continue; // server details (id, mode) differ; the protocol switch is what matters
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{argv:?}");
    }
    // The console: the published message, then PUBLISH's count; SET's OK, then the invalidation.
    let mut c = lab();
    for line in ["HELLO 3", "CLIENT TRACKING on", "GET k", "SUBSCRIBE ch"] {
        console(&mut c, line);
    }
    assert_eq!(console(&mut c, "PUBLISH ch hi"), "1) \"message\"\n2) \"ch\"\n3) \"hi\"\n(integer) 1");
    let set = console(&mut c, "SET k v");
    assert!(set.starts_with("OK\n") && set.contains("invalidate"), "{set}");
}
