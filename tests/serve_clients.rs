//! The client commands between real connections: the same exchange on four sockets to a real
//! redis-server 7.0.15 and to `aof-lab serve`, every byte each connection receives after each
//! step compared: CLIENT LIST of every connection (with its real flags, db, name, last
//! command), CLIENT UNBLOCK of a blocked BLPOP (timeout and error), CLIENT TRACKING
//! invalidations (RESP3 pushes, a redirection to a RESP2 subscriber of `__redis__:invalidate`,
//! BCAST prefixes, FLUSHALL), CLIENT REPLY OFF / SKIP, CLIENT PAUSE holding a write until
//! UNPAUSE, CLIENT KILL by id and by address (old form), and MONITOR's lines.
//!
//! What differs between two servers by nature is normalised on both sides: client ids and
//! addresses (written `$idN` / `$addrN` in the steps, resolved per server), CLIENT LIST's
//! numbers that are sizes or times, bulk lengths around them, and MONITOR's timestamps.
#![cfg(unix)]

mod common;
mod serve_support;

use std::time::Duration;

use common::redis::{RedisServer, RespConn};
use serve_support::{Serve, temp_dir};

/// (connection, command, compare the bytes).
const STEPS: &[(usize, &str, bool)] = &[
    (1, "CLIENT SETNAME worker", true),
    (2, "SELECT 2", true),
    (0, "CLIENT LIST", true),
    (0, "CLIENT LIST ID $id1 $id2", true),
    (0, "CLIENT INFO", true),
    // A blocked client, unblocked as a timeout, then as an error.
    (2, "BLPOP q 0", true),
    (0, "CLIENT LIST TYPE normal", true),
    (0, "CLIENT UNBLOCK $id2", true),
    (2, "BLPOP q 0", true),
    (0, "CLIENT UNBLOCK $id2 ERROR", true),
    (0, "CLIENT UNBLOCK $id1", true),
    // Tracking: a RESP3 client reads a key, another changes it.
    (3, "HELLO 3", false),
    (3, "CLIENT TRACKING on", true),
    (3, "GET k", true),
    (0, "SET k v", true),
    (0, "SET k v2", true),
    (3, "GET k", true),
    // Its own write: the invalidation comes after the reply.
    (3, "SET k mine", true),
    (3, "CLIENT TRACKING on NOLOOP", true),
    (3, "GET k", true),
    (3, "SET k again", true),
    (3, "CLIENT TRACKINGINFO", true),
    // Redirected to a RESP2 subscriber of __redis__:invalidate.
    (1, "SUBSCRIBE __redis__:invalidate", true),
    (0, "CLIENT TRACKING on REDIRECT $id1", true),
    (0, "CLIENT GETREDIR", true),
    (0, "MGET rk1 rk2", true),
    (3, "SET rk2 1", true),
    (0, "CLIENT LIST ID $id0", true),
    (0, "CLIENT TRACKING off", true),
    (1, "UNSUBSCRIBE", true),
    // BCAST with a prefix, then FLUSHALL.
    (3, "CLIENT TRACKING off", true),
    (3, "CLIENT TRACKING on BCAST PREFIX user:", true),
    (0, "SET user:1 a", true),
    (0, "SET other 1", true),
    (0, "DEL user:1", true),
    (0, "FLUSHALL", true),
    (3, "CLIENT TRACKING off", true),
    // CLIENT REPLY.
    (0, "CLIENT REPLY OFF", true),
    (0, "SET a 1", true),
    (0, "GET a", true),
    (0, "CLIENT REPLY ON", true),
    (0, "CLIENT REPLY SKIP", true),
    (0, "INCR a", true),
    (0, "GET a", true),
    // CLIENT PAUSE WRITE: a read runs, a write waits until UNPAUSE.
    (0, "CLIENT PAUSE 5000 WRITE", true),
    (1, "GET a", true),
    (1, "INCR a", true),
    (0, "CLIENT LIST ID $id1", true),
    (0, "CLIENT UNPAUSE", true),
    (1, "GET a", true),
    // MONITOR sees the others' commands (not the admin ones).
    (3, "MONITOR", true),
    (0, "SET m 1", true),
    (1, "GET m", true),
    (0, "CONFIG GET maxmemory", true),
    (0, "CLIENT LIST ID $id3", true),
    // CLIENT KILL: by id (new form, the count), by address (old form, +OK).
    (0, "CLIENT KILL ID $id2", true),
    (0, "CLIENT KILL $addr1", true),
    (0, "CLIENT KILL $addr1", true),
    (0, "CLIENT LIST", true),
    (0, "CLIENT KILL ID $id0 SKIPME no", true),
];

/// Values of CLIENT LIST that are sizes, times or identities of the process.
const VARIABLE: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "age",
    "idle",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
];

/// `ids_as_ints`: integer replies that are client ids (CLIENT GETREDIR) are named too.
fn normalise(raw: &str, ids: &[String], addrs: &[String], ids_as_ints: bool) -> String {
    let mut out = Vec::new();
    for line in raw.split("\r\n") {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if (line.starts_with('$') || line.starts_with('=')) && digits(&line[1..]) {
            out.push(format!("{}L", &line[..1]));
            continue;
        }
        // MONITOR: `+<unix s>.<µs> [<db> <addr>] …`.
        if let (Some(rest), Some(close)) = (line.strip_prefix('+'), line.find("] "))
            && rest.split(' ').next().is_some_and(|t| t.contains('.') && t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        {
            let db = rest.split(' ').nth(1).unwrap_or("").trim_start_matches('[');
            out.push(format!("+T [{db} ADDR]{}", &line[close + 1..]));
            continue;
        }
        if let Some(n) = line.strip_prefix(':').filter(|_| ids_as_ints).and_then(|v| ids.iter().position(|i| i == v)) {
            out.push(format!(":<id{n}>"));
            continue;
        }
        let word = |w: &str| {
            let (prefix, body) = w.strip_prefix("txt:").map_or(("", w), |b| ("txt:", b));
            match body.split_once('=') {
                Some((k, _)) if VARIABLE.contains(&k) => format!("{prefix}{k}=*"),
                Some(("redir", v)) if v != "-1" => format!("{prefix}redir=<id{}>", ids.iter().position(|i| i == v).map_or(9, |p| p)),
                _ => w.to_string(),
            }
        };
        // CLIENT LIST: one client per `\n`-ended line, fields separated by spaces.
        let words: Vec<String> = line.split('\n').map(|l| l.split(' ').map(word).collect::<Vec<_>>().join(" ")).collect();
        let mut l = words.join("\n");
        for (n, a) in addrs.iter().enumerate() {
            l = l.replace(a.as_str(), &format!("<addr{n}>"));
        }
        out.push(l);
    }
    out.join("\r\n")
}

fn exchange(connect: &dyn Fn() -> RespConn) -> Vec<String> {
    let mut conns: Vec<RespConn> = (0..4).map(|_| connect()).collect();
    // Each connection's id and address, from its own CLIENT INFO.
    let mut ids = Vec::new();
    let mut addrs = Vec::new();
    for c in conns.iter_mut() {
        let info = String::from_utf8_lossy(&c.command(&["CLIENT", "INFO"]).unwrap()).into_owned();
        let field = |k: &str| info.split([' ', '\n']).find_map(|w| w.strip_prefix(k)).unwrap_or_default().to_string();
        ids.push(field("id="));
        addrs.push(field("addr="));
    }
    let quiet = Duration::from_millis(40);
    let mut out = Vec::new();
    for (i, (who, line, compare)) in STEPS.iter().enumerate() {
        let mut argv: Vec<String> = line.split(' ').map(str::to_string).collect();
        for a in argv.iter_mut() {
            for n in 0..4 {
                *a = a.replace(&format!("$id{n}"), &ids[n]).replace(&format!("$addr{n}"), &addrs[n]);
            }
        }
        let mut bytes = Vec::new();
        aof_lab::resp::encode_command(&mut bytes, &argv);
        let _ = conns[*who].send(&bytes);
        let mut got = Vec::new();
        for (n, c) in conns.iter_mut().enumerate() {
            let b = c.read_quiet(quiet);
            if !b.is_empty() {
                got.push(format!("  conn{n}: {}", normalise(&String::from_utf8_lossy(&b), &ids, &addrs, line.contains("GETREDIR"))));
            }
        }
        if *compare {
            out.push(format!("step {i} conn{who} {line}\n{}", got.join("\n")));
        }
    }
    out
}

#[test]
fn client_commands_between_connections_like_redis() {
    let redis = RedisServer::start();
    let theirs = exchange(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("clients"), &["--appendonly", "yes", "--appendfsync", "always"]);
    let ours = exchange(&|| serve.connect());
    let mut diffs = Vec::new();
    for (t, o) in theirs.iter().zip(&ours) {
        if t != o {
            diffs.push(format!("--- redis:\n{t}\n--- serve:\n{o}"));
        }
    }
    assert!(diffs.is_empty(), "{} steps differ:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), theirs.len());
    // The comparison means something: the other connections did receive frames.
    let find = |needle: &str| theirs.iter().find(|s| s.contains(needle)).unwrap().clone();
    assert!(find("conn0 SET k v\n").contains("conn3: >2\r\n$L\r\ninvalidate\r\n*1\r\n$L\r\nk"), "{}", find("conn0 SET k v\n"));
    assert!(find("CLIENT UNBLOCK $id2 ERROR").contains("conn2: -UNBLOCKED client unblocked via CLIENT UNBLOCK"));
    assert!(find("CLIENT UNPAUSE").contains("conn1: :3"), "{}", find("CLIENT UNPAUSE"));
    assert!(find("conn0 SET m 1").contains("conn3: +T [0 ADDR] \"SET\" \"m\" \"1\""), "{}", find("conn0 SET m 1"));
}
