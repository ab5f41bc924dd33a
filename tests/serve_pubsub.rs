//! Pub/sub between real connections: the same exchange on four sockets to a real redis-server
//! 7.0.15 and to `aof-lab serve`, and every byte each connection receives after each step
//! compared (confirmations, `message` / `pmessage` / `smessage` frames as RESP2 arrays and RESP3
//! pushes, a RESP3 publisher hearing itself before its count, the RESP2 subscribed context,
//! a closed subscriber forgotten, pipelined publishes in order). Neither AOF holds a PUBLISH.
#![cfg(unix)]

mod common;
mod serve_support;

use std::time::Duration;

use common::redis::{RedisServer, RespConn};
use serve_support::{Serve, temp_dir};

/// (connection, command, compare the bytes): HELLO's map holds the client id, which differs.
const STEPS: &[(usize, &str, bool)] = &[
    (1, "HELLO 3", false),
    (0, "SUBSCRIBE news sport", true),
    (1, "SUBSCRIBE news", true),
    (3, "PSUBSCRIBE n*", true),
    (1, "PSUBSCRIBE s*", true),
    (2, "PUBLISH news hello", true),
    (2, "PUBLISH sport goal", true),
    (2, "PUBLISH nothing x", true),
    (2, "PUBLISH other x", true),
    // A RESP3 subscriber may publish: its own message comes before the count.
    (1, "PUBLISH news self", true),
    (1, "GET nokey", true),
    (0, "GET nokey", true),
    (0, "PING", true),
    (1, "PING", true),
    (2, "PUBSUB NUMSUB news sport none", true),
    (2, "PUBSUB NUMPAT", true),
    (3, "SSUBSCRIBE shard", true),
    (2, "SPUBLISH shard s1", true),
    (2, "PUBLISH shard s2", true),
    (2, "PUBSUB SHARDNUMSUB shard", true),
    (0, "UNSUBSCRIBE news", true),
    (2, "PUBLISH news again", true),
    (2, "MULTI", true),
    (2, "PUBLISH sport m1", true),
    (2, "SET k v", true),
    (2, "EXEC", true),
    (3, "QUIT", true),
    (2, "PUBSUB NUMPAT", true),
    (2, "PUBLISH news after-quit", true),
    (1, "RESET", true),
    (2, "PUBLISH news after-reset", true),
    (0, "UNSUBSCRIBE", true),
    (0, "GET k", true),
];

fn split(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the steps; returns, per step, what each of the four connections received.
fn exchange(connect: &dyn Fn() -> RespConn) -> Vec<String> {
    let mut conns: Vec<RespConn> = (0..4).map(|_| connect()).collect();
    let quiet = Duration::from_millis(40);
    let mut out = Vec::new();
    for (i, (who, line, compare)) in STEPS.iter().enumerate() {
        let mut bytes = Vec::new();
        aof_lab::resp::encode_command(&mut bytes, &split(line));
        conns[*who].send(&bytes).unwrap();
        let mut got = Vec::new();
        for (n, c) in conns.iter_mut().enumerate() {
            let b = c.read_quiet(quiet);
            if !b.is_empty() {
                got.push(format!("  conn{n}: {}", show(&b)));
            }
        }
        if *compare {
            out.push(format!("step {i} conn{who} {line}\n{}", got.join("\n")));
        }
    }
    // Pipelined: two publishes in one write arrive in order.
    conns[2].send(b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nsport\r\n$1\r\na\r\n*3\r\n$7\r\nPUBLISH\r\n$5\r\nsport\r\n$1\r\nb\r\n").unwrap();
    let mut got = Vec::new();
    for (n, c) in conns.iter_mut().enumerate() {
        let b = c.read_quiet(quiet);
        if !b.is_empty() {
            got.push(format!("  conn{n}: {}", show(&b)));
        }
    }
    out.push(format!("pipelined\n{}", got.join("\n")));
    out
}

#[test]
fn publish_and_subscribe_between_connections_like_redis() {
    let redis = RedisServer::start();
    let theirs = exchange(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("pubsub"), &["--appendonly", "yes", "--appendfsync", "always"]);
    let ours = exchange(&|| serve.connect());
    for (t, o) in theirs.iter().zip(&ours) {
        assert_eq!(o, t, "\n--- redis:\n{t}\n--- serve:\n{o}");
    }
    assert_eq!(ours.len(), theirs.len());
    // The comparison means something: frames did reach the other connections.
    let publish = theirs.iter().find(|s| s.contains("PUBLISH news hello")).unwrap();
    assert!(publish.contains("conn0: *3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"), "{publish}");
    assert!(publish.contains("conn1: >3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"), "{publish}");
    assert!(publish.contains("conn3: *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n"), "{publish}");
    let own = theirs.iter().find(|s| s.contains("PUBLISH news self")).unwrap();
    assert!(own.contains("conn1: >3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$4\r\nself\r\n:3\r\n"), "{own}");
    // PUBLISH is not written to the AOF (only SET k v is).
    let aof = std::fs::read(serve.current_incr_path()).unwrap();
    let text = show(&aof);
    assert!(text.contains("$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("publish"), "{text}");
    let raof = redis.read_incr_aof();
    assert!(!show(&raof).to_ascii_lowercase().contains("publish"));
}
