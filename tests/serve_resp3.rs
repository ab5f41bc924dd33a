//! `aof-lab serve` keeps a protocol per connection: one connection after `HELLO 3` gets RESP3
//! while another stays on RESP2; a blocked command served later (by another client's push)
//! answers in its own connection's protocol; a new connection starts on RESP2. Every expected
//! reply here is what redis-server 7.0.15 sends, checked against a real one in the same test.
#![cfg(unix)]

mod common;
mod serve_support;

use common::redis::{RedisServer, RespConn};
use serve_support::{Serve, temp_dir};

/// The same exchange on a server: (HELLO 3 connection, RESP2 connection) replies.
fn exchange(connect: &dyn Fn() -> RespConn) -> Vec<String> {
    let show = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    let mut three = connect();
    let mut two = connect();
    let mut out = Vec::new();
    let hello = show(three.command(&["HELLO", "3"]).unwrap());
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n"), "{hello}");
    two.command(&["HSET", "h", "f", "v"]).unwrap();
    two.command(&["ZADD", "z", "2.5", "m"]).unwrap();
    for argv in [&["HGETALL", "h"][..], &["ZSCORE", "z", "m"], &["GET", "nokey"], &["ZPOPMIN", "z", "1"]] {
        out.push(show(three.command(argv).unwrap()));
        out.push(show(two.command(argv).unwrap()));
    }
    // Blocked on both connections, then served by a third client's push.
    let mut pusher = connect();
    three.send(b"*3\r\n$8\r\nBZPOPMIN\r\n$2\r\nbz\r\n$1\r\n0\r\n").unwrap();
    two.send(b"*3\r\n$8\r\nBZPOPMAX\r\n$2\r\nbz\r\n$1\r\n0\r\n").unwrap();
    // Both are blocked before the push (the server handles each connection's command in turn).
    for _ in 0..200 {
        let info = show(pusher.command(&["INFO", "clients"]).unwrap());
        if info.contains("blocked_clients:2") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    pusher.command(&["ZADD", "bz", "1", "a", "2", "b"]).unwrap();
    out.push(show(three.read_reply().unwrap()));
    out.push(show(two.read_reply().unwrap()));
    // QUIT: the next connection is RESP2 again.
    three.command(&["QUIT"]).unwrap();
    let mut again = connect();
    out.push(show(again.command(&["GET", "nokey"]).unwrap()));
    out
}

#[test]
fn each_connection_has_its_own_protocol() {
    let redis = RedisServer::start();
    let theirs = exchange(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("resp3"), &[]);
    let ours = exchange(&|| serve.connect());
    assert_eq!(ours, theirs);
    // The comparison means something: the two protocols did differ.
    assert_eq!(theirs[0], "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(theirs[1], "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(theirs[2], ",2.5\r\n");
    assert_eq!(theirs[3], "$3\r\n2.5\r\n");
    assert_eq!(theirs[4], "_\r\n");
    assert_eq!(theirs[8], "*3\r\n$2\r\nbz\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(theirs[9], "*3\r\n$2\r\nbz\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(theirs[10], "$-1\r\n");
}
