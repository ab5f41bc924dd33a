//! ACL between real connections: the same exchange on five sockets to a real redis-server 7.0.15
//! and to `aof-lab serve`, every byte each connection receives after each step compared. Each
//! connection runs as its own user (AUTH, HELLO … AUTH): WHOAMI, CLIENT LIST's `user=`, the
//! -NOPERM errors, CLIENT KILL USER, a subscriber disconnected when its channels are revoked
//! (`ACLKillPubsubClientsIfNeeded`), the connections of a deleted user closed (the caller's
//! after its reply), and the ACL LOG entries those steps made (their `age-seconds` and the
//! numbers of `client-info` normalised like CLIENT LIST's).
//!
//! The longer `ACL LIST` descriptions, whose single commands Redis lists in its hash table's
//! random order, are compared here as sets of rules.
#![cfg(unix)]

mod common;
mod serve_support;

use common::redis::RedisServer;
use serve_support::{Serve, exchange, temp_dir};

/// (connection, command, compare the bytes).
const STEPS: &[(usize, &str, bool)] = &[
    // A monitor sees AUTH and HELLO with their passwords redacted (ACL SETUSER, admin, not at all).
    (4, "MONITOR", true),
    (0, "ACL SETUSER alice on >pa ~a* &news +@all -@dangerous", true),
    (0, "ACL SETUSER bob on >pb ~b* &* +@all -get", true),
    (1, "AUTH alice pa", true),
    (2, "AUTH bob pb", true),
    (3, "HELLO 3 AUTH alice pa", false),
    (1, "ACL WHOAMI", true),
    (2, "ACL WHOAMI", true),
    (3, "ACL WHOAMI", true),
    (0, "ACL WHOAMI", true),
    (0, "CLIENT LIST", true),
    (1, "SET akey 1", true),
    (1, "SET bkey 1", true),
    (2, "GET bkey", true),
    (2, "SET bkey 2", true),
    (3, "FLUSHALL", true),
    (3, "PUBLISH other m", true),
    // SHUTDOWN, which serve answers itself, is checked too (alice has -@dangerous).
    (3, "SHUTDOWN", true),
    // The monitor stops here (EVAL feeds monitors from the scripting code, not covered here).
    (4, "RESET", true),
    // A script runs as its caller's user; MULTI checks when queueing and at EXEC.
    (3, "EVAL return(redis.call('get','zz')) 0", true),
    (3, "EVAL return(redis.pcall('get','zz')) 0", true),
    (3, "MULTI", true),
    (3, "GET zz", true),
    (3, "GET akey", true),
    (3, "EXEC", true),
    (3, "AUTH alice wrong", true),
    (0, "ACL LOG 4", true),
    // The rules change between MULTI and EXEC: EXEC refuses the command it may no longer run.
    (3, "MULTI", true),
    (3, "GET akey", true),
    (3, "PING", true),
    (0, "ACL SETUSER alice -get", true),
    (3, "EXEC", true),
    (0, "ACL LOG 1", true),
    (1, "SUBSCRIBE news", true),
    (0, "PUBLISH news hi", true),
    (0, "ACL LOG", true),
    (0, "CLIENT KILL USER bob", true),
    (2, "PING", true),
    (0, "CLIENT KILL USER nosuch", true),
    // alice's subscriber may no longer listen to `news`: it is closed; conn3 (not subscribed) stays.
    (0, "ACL SETUSER alice resetchannels &other", true),
    (0, "PUBLISH news again", true),
    (3, "ACL WHOAMI", true),
    (0, "CLIENT LIST", true),
    // Deleting a user closes its connections.
    (0, "ACL DELUSER alice", true),
    (3, "PING", true),
    (0, "CLIENT LIST", true),
    // The caller's own user: the reply is sent, then the connection closes.
    (0, "ACL SETUSER carol on nopass +@all ~*", true),
    (0, "AUTH carol x", true),
    (0, "ACL DELUSER carol", true),
    (0, "PING", true),
];

/// `age-seconds` is a time: its value is replaced on both sides.
fn without_ages(step: &str) -> String {
    let mut out = Vec::new();
    let mut lines = step.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        out.push(l.to_string());
        if l == "age-seconds" {
            // The bulk length line (normalised to `$L`) and the value, or a RESP3 double.
            if lines.peek() == Some(&"$L") {
                out.push(lines.next().unwrap_or_default().to_string());
            }
            lines.next();
            out.push("<age>".into());
        }
    }
    out.join("\r\n")
}

#[test]
fn acl_between_connections_like_redis() {
    let redis = RedisServer::start();
    let theirs: Vec<String> = exchange(&|| redis.connect(), STEPS, 5).iter().map(|s| without_ages(s)).collect();
    let serve = Serve::start_in(temp_dir("acl"), &["--appendonly", "yes", "--appendfsync", "always"]);
    let ours: Vec<String> = exchange(&|| serve.connect(), STEPS, 5).iter().map(|s| without_ages(s)).collect();
    let mut diffs = Vec::new();
    for (t, o) in theirs.iter().zip(&ours) {
        if t != o {
            diffs.push(format!("--- redis:\n{t}\n--- serve:\n{o}"));
        }
    }
    assert!(diffs.is_empty(), "{} steps differ:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(ours.len(), theirs.len());
    // The comparison means something: users, denials and the log were seen.
    let find = |needle: &str| theirs.iter().find(|s| s.contains(needle)).unwrap().clone();
    assert!(find("CLIENT LIST").contains("user=alice"), "{}", find("CLIENT LIST"));
    assert!(find("conn2 GET bkey").contains("NOPERM"), "{}", find("conn2 GET bkey"));
    assert!(find("conn0 ACL LOG").contains("client-info"), "{}", find("conn0 ACL LOG"));
    assert!(theirs.iter().any(|s| s.contains("conn3 EXEC") && s.contains("-NOPERM ACLs rules changed")), "no EXEC refused");
    let log4 = find("conn0 ACL LOG 4");
    assert!(["lua", "multi", "auth", "toplevel"].iter().all(|w| log4.contains(&format!("\r\n{w}\r\n"))), "{log4}");
    assert!(find("conn0 CLIENT KILL USER bob").contains("conn0: :1"), "{}", find("conn0 CLIENT KILL USER bob"));
    assert!(find("conn1 AUTH alice pa").contains("\"AUTH\" \"(redacted)\" \"(redacted)\""), "{}", find("conn1 AUTH alice pa"));
}

/// `ACL LIST` after rules whose description ends with several single commands: the part up to
/// the categories is compared exactly, the single commands as a set (Redis's order is its hash
/// table's, random per process).
#[test]
fn acl_list_single_commands_like_redis() {
    use aof_lab::Engine;
    let rules: &[&[&str]] = &[
        &["+get", "+@hash", "-hdel"],
        &["nocommands", "+@read", "-@keyspace"],
        &["allcommands", "-@write", "-@dangerous"],
        &["+@all", "-@admin", "+config|get", "-flushall", "-debug"],
        &["-@all", "+@string", "+@list", "-lpush", "-incr", "+ping", "+client|list", "+select|0"],
        &["+@all", "-@slow", "+keys", "(+@geo", "-geoadd", "~g*)"],
        &["-@all", "+client", "-client|kill", "-client|pause", "+@connection"],
        &["+@admin", "-config", "+@pubsub", "-@blocking"],
        &["+@all", "-@read", "+get", "-@fast"],
        &["-@all", "+@scripting", "-evalsha", "+@transaction", "+@stream", "-xadd"],
        &["-@all", "+@write", "+@read", "-@string", "+@hyperloglog", "-@bitmap"],
        &["+@all", "-@keyspace", "-@list", "-@set", "-@hash", "+del", "+sadd", "-cluster|info", "-acl|log"],
        &["-@all", "+acl", "+cluster", "-cluster|nodes", "+@slow", "-@dangerous"],
    ];
    let redis = RedisServer::start();
    let mut conn = redis.connect();
    let mut engine = Engine::new(aof_lab::Config::default(), 0);
    let c = engine.connect();
    let split = |line: &str| -> (String, Vec<String>) {
        // Everything up to the last category rule, then the single commands.
        let words: Vec<&str> = line.split(' ').collect();
        let cut = words.iter().rposition(|w| w.starts_with("+@") || w.starts_with("-@") || w.ends_with(')')).map_or(0, |p| p + 1);
        let mut singles: Vec<String> = words[cut..].iter().map(|s| s.to_string()).collect();
        singles.sort();
        (words[..cut].join(" "), singles)
    };
    for (i, r) in rules.iter().enumerate() {
        let name = format!("u{i}");
        let mut argv = vec!["ACL", "SETUSER", name.as_str()];
        argv.extend_from_slice(r);
        assert_eq!(conn.command(&argv).unwrap(), b"+OK\r\n");
        let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(engine.execute(c, &bytes, 0).unwrap().to_resp(), b"+OK\r\n");
        let theirs = String::from_utf8(conn.command(&["ACL", "GETUSER", &name]).unwrap()).unwrap();
        let ours = String::from_utf8(engine.execute_line(c, &format!("ACL GETUSER {name}"), 0).unwrap().to_resp()).unwrap();
        let commands = |s: &str| -> Vec<(String, Vec<String>)> {
            let lines: Vec<&str> = s.split("\r\n").collect();
            lines.windows(3).filter(|w| w[0] == "commands").map(|w| split(w[2])).collect()
        };
        assert_eq!(commands(&ours), commands(&theirs), "rules {r:?}");
        assert!(!commands(&theirs).is_empty());
    }
}
