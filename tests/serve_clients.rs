//! The client commands between real connections: the same exchange on four sockets to a real
//! redis-server 7.0.15 and to `aof-lab serve`, every byte each connection receives after each
//! step compared: CLIENT LIST of every connection (with its real flags, db, name, last
//! command), CLIENT UNBLOCK of a blocked BLPOP (timeout and error), CLIENT TRACKING
//! invalidations (RESP3 pushes, a redirection to a RESP2 subscriber of `__redis__:invalidate`,
//! BCAST prefixes, FLUSHALL), CLIENT REPLY OFF / SKIP, CLIENT PAUSE holding a write until
//! UNPAUSE (a script's EVAL too), a blocked BZPOPMIN that a list at its key does not serve,
//! CLIENT KILL by id and by address (old form), and MONITOR's lines.
//!
//! What differs between two servers by nature is normalised on both sides: client ids and
//! addresses (written `$idN` / `$addrN` in the steps, resolved per server), CLIENT LIST's
//! numbers that are sizes or times, bulk lengths around them, and MONITOR's timestamps.
#![cfg(unix)]

mod common;
mod serve_support;

use common::redis::RedisServer;
use serve_support::{Serve, exchange, temp_dir};

/// (connection, command, compare the bytes).
const STEPS: &[(usize, &str, bool)] = &[
    (1, "CLIENT SETNAME worker", true),
    (2, "SELECT 2", true),
    (0, "CLIENT LIST", true),
    (0, "CLIENT LIST ID $id1 $id2", true),
    (0, "CLIENT INFO", true),
    // `cmd=` is what the last command named: NULL for an unknown one, the command of a
    // wrong arity.
    (1, "NOSUCH", true),
    (0, "CLIENT LIST ID $id1", true),
    (1, "CLIENT NOSUCH", true),
    (0, "CLIENT LIST ID $id1", true),
    (1, "GET", true),
    (0, "CLIENT LIST ID $id1", true),
    // Inside EXEC the client is still in MULTI: flags=x, multi=<queued>.
    (0, "MULTI", true),
    (0, "CLIENT INFO", true),
    (0, "EXEC", true),
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
    // A script publishing to a channel its own (RESP3) connection listens to: the message
    // comes before the script's reply, as the command adds it while it runs.
    (3, "SUBSCRIBE sc", true),
    (3, "EVAL return(redis.call('publish','sc','x')) 0", true),
    (3, "UNSUBSCRIBE sc", true),
    // BCAST with a prefix, then FLUSHALL.
    (3, "CLIENT TRACKING off", true),
    (3, "CLIENT TRACKING on BCAST PREFIX user:", true),
    (0, "SET user:1 a", true),
    // One message per turn and prefix, its keys in order (beforeSleep's broadcast).
    (0, "MSET user:3 b user:2 a other 1", true),
    (0, "eval redis.call('set','user:5','x');redis.call('set','user:4','y') 0", true),
    (0, "SET other 1", true),
    (0, "DEL user:1", true),
    (0, "FLUSHALL", true),
    // A new prefix may not overlap one the client tracks already.
    (3, "CLIENT TRACKING on BCAST PREFIX ab", true),
    (3, "CLIENT TRACKING on BCAST PREFIX a", true),
    (3, "CLIENT TRACKING on BCAST PREFIX abc", true),
    (3, "CLIENT TRACKING on BCAST PREFIX xy PREFIX x", true),
    (3, "CLIENT TRACKINGINFO", true),
    // BCAST again without a prefix: the empty one is added to those it had.
    (3, "CLIENT TRACKING on BCAST", true),
    (3, "CLIENT TRACKINGINFO", true),
    (0, "SET zz 1", true),
    (3, "CLIENT TRACKING off", true),
    // OPTIN: CACHING yes holds for a whole transaction.
    (3, "CLIENT TRACKING on OPTIN", true),
    (3, "CLIENT CACHING yes", true),
    (3, "MULTI", true),
    (3, "GET ta", true),
    (3, "GET tb", true),
    (3, "EXEC", true),
    (3, "GET tc", true),
    (0, "MSET ta 1 tb 1 tc 1", true),
    (3, "CLIENT TRACKING off", true),
    // A script that reads: its caller tracks the keys it declared.
    (3, "CLIENT TRACKING on", true),
    (3, "EVAL return(redis.call('get',KEYS[1])) 1 sk", true),
    (3, "EVAL return(redis.call('set',KEYS[1],'x')) 1 sk2", true),
    (0, "MSET sk 1 sk2 1", true),
    (3, "CLIENT TRACKING off", true),
    // CLIENT REPLY.
    (0, "CLIENT REPLY OFF", true),
    (0, "SET a 1", true),
    (0, "GET a", true),
    // Pushes are not replies: the subscribe confirmations still come (`CLIENT_PUSHING`).
    (0, "SUBSCRIBE x", true),
    (0, "UNSUBSCRIBE x", true),
    (0, "PSUBSCRIBE p*", true),
    (0, "PUNSUBSCRIBE p*", true),
    (0, "CLIENT REPLY ON", true),
    (0, "CLIENT REPLY SKIP", true),
    (0, "INCR a", true),
    (0, "GET a", true),
    // CLIENT PAUSE WRITE: a read runs, a write waits until UNPAUSE.
    (0, "CLIENT PAUSE 5000 WRITE", true),
    (1, "GET a", true),
    (1, "INCR a", true),
    // A script may write: held too (EVAL is may-replicate), EVAL_RO is not.
    (2, "EVAL return(redis.call('incr','a')) 0", true),
    (0, "EVAL_RO return(redis.call('get','a')) 0", true),
    (0, "CLIENT LIST ID $id1", true),
    (0, "CLIENT UNPAUSE", true),
    (1, "GET a", true),
    // A client waiting on a sorted set is not served by a list at its key (7.0 skips the
    // waiters of another type), then is by a sorted set.
    (1, "BZPOPMIN zq 0", true),
    (0, "RPUSH zq x", true),
    (0, "DEL zq", true),
    (0, "ZADD zq 1 m", true),
    // MONITOR sees the others' commands (not the admin ones).
    (3, "MONITOR", true),
    (0, "SET m 1", true),
    (1, "GET m", true),
    (0, "CONFIG GET maxmemory", true),
    // A blocking command shows when it is called, not when a push serves it; a monitor may not
    // touch the keyspace, and its own PING's line comes after the reply.
    (1, "BLPOP mq 0", true),
    (0, "RPUSH mq x", true),
    (3, "GET m", true),
    (3, "PING", true),
    // A script: its call first, then the commands it ran, from "lua" (evalCommand feeds the
    // monitors itself); EVALSHA too, even with a wrong SHA.
    (0, "EVAL redis.call('set','e','1') 0", true),
    (0, "EVALSHA 749c4acea2b1452ee15a64aa16f140057fa883e1 0", true),
    (0, "EVALSHA nosuchsha 0", true),
    (0, "CLIENT LIST ID $id3", true),
    // CLIENT KILL: by id (new form, the count), by address (old form, +OK).
    (0, "CLIENT KILL ID $id2", true),
    (0, "CLIENT KILL $addr1", true),
    (0, "CLIENT KILL $addr1", true),
    (0, "CLIENT LIST", true),
    (0, "CLIENT KILL ID $id0 SKIPME no", true),
];

#[test]
fn client_commands_between_connections_like_redis() {
    let redis = RedisServer::start();
    let theirs = exchange(&|| redis.connect(), STEPS, 4);
    let serve = Serve::start_in(temp_dir("clients"), &["--appendonly", "yes", "--appendfsync", "always"]);
    let ours = exchange(&|| serve.connect(), STEPS, 4);
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
    assert!(find("CLIENT UNPAUSE").contains("conn1: :3") && find("CLIENT UNPAUSE").contains("conn2: :1"), "{}", find("CLIENT UNPAUSE"));
    assert!(find("conn0 ZADD zq 1 m").contains("conn1: *3\r\n"), "{}", find("conn0 ZADD zq 1 m"));
    assert!(theirs.iter().any(|s| s.contains("cmd=NULL")) && theirs.iter().any(|s| s.contains("cmd=get ")), "{theirs:?}");
    let optin = find("conn0 MSET ta 1 tb 1 tc 1");
    assert!(optin.contains("*1\r\n$L\r\nta\r\n") && optin.contains("*1\r\n$L\r\ntb\r\n") && !optin.contains("$L\r\ntc\r\n"), "{optin}");
    assert!(find("conn0 MSET sk 1 sk2 1").contains("invalidate\r\n*1\r\n$L\r\nsk\r\n"), "{}", find("conn0 MSET sk 1 sk2 1"));
    assert!(find("conn1 BLPOP mq 0").contains("conn3: +T [0 ADDR] \"BLPOP\""), "{}", find("conn1 BLPOP mq 0"));
    let bcast = find("conn0 MSET user:3 b user:2 a other 1");
    assert!(bcast.contains("invalidate\r\n*2\r\n$L\r\nuser:2\r\n$L\r\nuser:3\r\n"), "{bcast}");
    assert!(find("conn0 SUBSCRIBE x").contains("conn0: *3\r\n$L\r\nsubscribe"), "{}", find("conn0 SUBSCRIBE x"));
    let own = find("conn3 EVAL return(redis.call('publish'");
    assert!(own.contains("conn3: >3\r\n$L\r\nmessage\r\n$L\r\nsc\r\n$L\r\nx\r\n:1\r\n"), "{own}");
    assert!(find("conn0 SET m 1").contains("conn3: +T [0 ADDR] \"SET\" \"m\" \"1\""), "{}", find("conn0 SET m 1"));
    let eval = find("conn0 EVAL ");
    assert!(eval.contains("conn3: +T [0 ADDR] \"EVAL\" \"redis.call('set','e','1')\" \"0\"\r\n+T [0 ADDR] \"set\" \"e\" \"1\""), "{eval}");
}

/// `timeout 1`: the cron closes a connection idle for more than a second (whole unix seconds),
/// but not one that is subscribed, blocked or a monitor, nor one that keeps talking. The names
/// of the connections left after 4 s, on a real redis-server and on serve.
#[test]
fn idle_timeout_closes_like_redis() {
    use common::redis::RespConn;
    use std::time::{Duration, Instant};
    fn survivors(connect: &dyn Fn() -> RespConn) -> Vec<String> {
        let mut conns: Vec<RespConn> = Vec::new();
        for (name, cmd) in
            [("idle", None), ("sub", Some("SUBSCRIBE ch")), ("blocked", Some("BLPOP q 0")), ("mon", Some("MONITOR")), ("busy", None)]
        {
            let mut c = connect();
            c.command(&["CLIENT", "SETNAME", name]).unwrap();
            if let Some(cmd) = cmd {
                let mut out = Vec::new();
                aof_lab::resp::encode_command(&mut out, &cmd.split(' ').collect::<Vec<_>>());
                c.send(&out).unwrap();
            }
            conns.push(c);
        }
        let busy = conns.last_mut().unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(4) {
            assert_eq!(busy.command(&["PING"]).unwrap(), b"+PONG\r\n");
            std::thread::sleep(Duration::from_millis(300));
        }
        let list = String::from_utf8_lossy(&busy.command(&["CLIENT", "LIST"]).unwrap()).into_owned();
        let mut names: Vec<String> = list.split(' ').filter_map(|f| f.strip_prefix("name=")).map(str::to_string).collect();
        names.sort();
        names
    }
    let dir = RedisServer::new_dir();
    let redis = RedisServer::start_in(dir, &["--timeout", "1"]).unwrap();
    let theirs = survivors(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("timeout"), &["--timeout", "1"]);
    let ours = survivors(&|| serve.connect());
    assert_eq!(theirs, ["blocked", "busy", "mon", "sub"]);
    assert_eq!(ours, theirs);
}

/// `client-output-buffer-limit`: a subscriber that does not read while 24 MB are published to
/// it is closed at the pubsub class's hard limit at once, or at its soft limit once the soft
/// seconds have passed; a normal client that pipelines reads of a big value without reading
/// the replies is closed at the normal class's limit. What the publisher sees (PUBSUB NUMSUB,
/// the count of receivers) on a real redis-server and on serve.
#[test]
fn output_buffer_limits_close_like_redis() {
    use common::redis::RespConn;
    use std::time::Duration;
    fn run(connect: &dyn Fn() -> RespConn) -> Vec<String> {
        let mut admin = connect();
        let mut seen = Vec::new();
        let note = |seen: &mut Vec<String>, c: &mut RespConn, argv: &[&str]| {
            seen.push(String::from_utf8_lossy(&c.command(argv).unwrap()).into_owned());
        };
        let payload = "x".repeat(100 * 1024);
        for (limit, wait_ms) in [("pubsub 1mb 0 0", 0), ("pubsub 0 1mb 1", 2500), ("pubsub 64mb 0 0", 0)] {
            note(&mut seen, &mut admin, &["CONFIG", "SET", "client-output-buffer-limit", limit]);
            let mut sub = connect();
            sub.command(&["SUBSCRIBE", "ch"]).unwrap();
            let mut receivers = 0;
            for _ in 0..240 {
                let n = admin.command(&["PUBLISH", "ch", &payload]).unwrap();
                receivers += i64::from(n == b":1\r\n");
            }
            // The hard limit closes within the first few megabytes; the soft one never at once.
            seen.push(format!(
                "{limit}: delivered to {}",
                if receivers == 240 {
                    "all"
                } else if receivers < 120 {
                    "few"
                } else {
                    "most"
                }
            ));
            std::thread::sleep(Duration::from_millis(wait_ms));
            note(&mut seen, &mut admin, &["PUBSUB", "NUMSUB", "ch"]);
            drop(sub);
            std::thread::sleep(Duration::from_millis(100));
        }
        note(&mut seen, &mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]);
        note(&mut seen, &mut admin, &["SET", "big", &"y".repeat(512 * 1024)]);
        let mut reader = connect();
        reader.command(&["CLIENT", "SETNAME", "reader"]).unwrap();
        let mut pipeline = Vec::new();
        for _ in 0..100 {
            aof_lab::resp::encode_command(&mut pipeline, &["GET", "big"]);
        }
        reader.send(&pipeline).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let list = String::from_utf8_lossy(&admin.command(&["CLIENT", "LIST"]).unwrap()).into_owned();
        seen.push(format!("reader still connected: {}", list.contains("name=reader")));
        seen
    }
    let redis = RedisServer::start();
    let theirs = run(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("obuf"), &[]);
    let ours = run(&|| serve.connect());
    assert!(theirs.contains(&"pubsub 1mb 0 0: delivered to few".to_string()), "{theirs:?}");
    assert!(theirs.contains(&"reader still connected: false".to_string()), "{theirs:?}");
    assert_eq!(ours, theirs);
    assert!(serve.log().contains("for overcoming of output buffer limits."), "{}", serve.log());
}

/// CLIENT PAUSE WRITE holds a transaction at its queued write and, later, another client's
/// write; at UNPAUSE the held clients run one after the other, each with what it sent behind
/// the held command, so the transaction's EXEC runs before the other write (the key ends `b`,
/// and the AOF has `a` then `b`), on a real redis-server and on serve.
#[test]
fn a_paused_transaction_runs_before_later_writes_like_redis() {
    use common::redis::RespConn;
    use std::time::Duration;
    fn run(connect: &dyn Fn() -> RespConn) -> Vec<u8> {
        let (mut c0, mut c1, mut c2) = (connect(), connect(), connect());
        let send = |c: &mut RespConn, argv: &[&str]| {
            let mut out = Vec::new();
            aof_lab::resp::encode_command(&mut out, argv);
            c.send(&out).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        };
        c0.command(&["CLIENT", "PAUSE", "100000", "WRITE"]).unwrap();
        c1.command(&["MULTI"]).unwrap();
        send(&mut c1, &["SET", "pk", "a"]);
        send(&mut c1, &["EXEC"]);
        send(&mut c2, &["SET", "pk", "b"]);
        c0.command(&["CLIENT", "UNPAUSE"]).unwrap();
        assert_eq!(c1.read_quiet(Duration::from_millis(200)), b"+QUEUED\r\n*1\r\n+OK\r\n");
        assert_eq!(c2.read_quiet(Duration::from_millis(100)), b"+OK\r\n");
        c0.command(&["GET", "pk"]).unwrap()
    }
    let redis = RedisServer::start();
    let theirs = run(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("pause-multi"), &[]);
    let ours = run(&|| serve.connect());
    assert_eq!(theirs, b"$1\r\nb\r\n");
    assert_eq!(ours, theirs);
}

/// A blocked client times out when its deadline passes, not at the next cron tick: with
/// `hz 1` (a cron a second), `BLPOP q 0.2` answers its nil well before the second is over, as
/// redis-server (whose `beforeSleep` handles the timeouts every turn) does. Loose on purpose
/// (0.7 s, the machine may be busy): the cron would have answered at about 1 s.
#[test]
fn blocking_timeouts_fire_between_cron_ticks() {
    use std::time::{Duration, Instant};
    let serve = Serve::start_in(temp_dir("blocktimeout"), &["--hz", "1"]);
    let mut c = serve.connect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(c.command(&["BLPOP", "q", "0.2"]).unwrap(), b"*-1\r\n");
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(700), "{took:?}");
    }
}

/// INFO's tracking totals: keys remembered for default-mode clients, the (key, client) items,
/// the prefixes BCAST clients registered; the same lines as redis-server's for the same steps.
#[test]
fn tracking_totals_in_info_like_redis() {
    use common::redis::RespConn;
    fn totals(connect: &dyn Fn() -> RespConn) -> Vec<String> {
        let (mut a, mut b, mut c) = (connect(), connect(), connect());
        for conn in [&mut a, &mut b] {
            conn.command(&["HELLO", "3"]).unwrap();
            conn.command(&["CLIENT", "TRACKING", "on"]).unwrap();
            conn.command(&["GET", "k1"]).unwrap();
        }
        a.command(&["GET", "k2"]).unwrap();
        c.command(&["HELLO", "3"]).unwrap();
        c.command(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y"]).unwrap();
        let info = String::from_utf8_lossy(&a.command(&["INFO", "stats"]).unwrap()).into_owned();
        info.lines().filter(|l| l.starts_with("tracking_total")).map(str::to_string).collect()
    }
    let redis = RedisServer::start();
    let theirs = totals(&|| redis.connect());
    let serve = Serve::start_in(temp_dir("tracking-info"), &[]);
    let ours = totals(&|| serve.connect());
    assert_eq!(theirs, ["tracking_total_keys:2", "tracking_total_items:3", "tracking_total_prefixes:2"]);
    assert_eq!(ours, theirs);
}
