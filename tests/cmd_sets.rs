//! Set commands: replies and the exact bytes propagated to the AOF, as checked against
//! redis-server 7.0.15.

use aof_lab::keyspace::Value;
use aof_lab::server::ClientId;
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

/// An engine with the AOF on, whose first SELECT has already been consumed.
fn engine() -> (Engine, ClientId) {
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, NOW);
    let c = e.connect();
    run(&mut e, c, "SADD init x");
    assert_eq!(e.take_aof_buf(), [&b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"[..], &cmd(&["SADD", "init", "x"])].concat());
    (e, c)
}

/// The reply as a RESP2 client receives it (sets as arrays).
fn run(e: &mut Engine, c: ClientId, line: &str) -> Reply {
    e.execute_line(c, line, NOW).expect("no blocking command here").downgraded()
}

fn cmd<S: AsRef<[u8]>>(args: &[S]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn multi(ops: &[Vec<u8>]) -> Vec<u8> {
    [cmd(&["MULTI"]), ops.concat(), cmd(&["EXEC"])].concat()
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| Reply::bulk(s.as_bytes())).collect())
}

fn err(s: &str) -> Reply {
    Reply::error(s.to_string())
}

/// The members of an array reply, sorted (for hash-table order).
fn sorted(r: Reply) -> Vec<Vec<u8>> {
    let Reply::Array(items) = r else { panic!("not an array: {r:?}") };
    let mut v: Vec<Vec<u8>> = items.into_iter().map(|i| if let Reply::Bulk(b) = i { b } else { panic!("{i:?}") }).collect();
    v.sort();
    v
}

fn strs(items: &[&str]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = items.iter().map(|s| s.as_bytes().to_vec()).collect();
    v.sort();
    v
}

fn is_intset(e: &Engine, key: &[u8]) -> bool {
    matches!(e.srv.dbs[0].get(key), Some(Value::Set(s)) if s.intset)
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn sadd_srem_and_the_intset_order() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "SADD s 3 1 2"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "SADD s 2 -7"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "SADD s 1"), Reply::Int(0));
    assert_eq!(e.take_aof_buf(), [cmd(&["SADD", "s", "3", "1", "2"]), cmd(&["SADD", "s", "2", "-7"])].concat());
    assert_eq!(run(&mut e, c, "SMEMBERS s"), bulks(&["-7", "1", "2", "3"]));
    assert!(is_intset(&e, b"s"));
    // "007" is not a canonical integer: the set becomes a hash table, for good.
    run(&mut e, c, "SADD s 007");
    assert!(!is_intset(&e, b"s"));
    run(&mut e, c, "SREM s 007");
    assert!(!is_intset(&e, b"s"));
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SREM s 9 x"), Reply::Int(0));
    assert!(e.take_aof_buf().is_empty(), "removing nothing is not propagated");
    assert_eq!(run(&mut e, c, "SREM s 1 2 3 -7 9"), Reply::Int(4));
    assert_eq!(e.take_aof_buf(), cmd(&["SREM", "s", "1", "2", "3", "-7", "9"]));
    assert!(!e.srv.dbs[0].contains(b"s"));
    // 513 integers: a hash table.
    let ints: Vec<String> = (1..=513).map(|i| i.to_string()).collect();
    run(&mut e, c, &format!("SADD big {}", ints[..512].join(" ")));
    assert!(is_intset(&e, b"big"));
    run(&mut e, c, "SADD big 513");
    assert!(!is_intset(&e, b"big"));
}

#[test]
fn reads() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s a b 1");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SCARD s"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "SCARD nokey"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SISMEMBER s a"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "SISMEMBER s z"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SISMEMBER nokey z"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SMISMEMBER s a z 1"), Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)]));
    assert_eq!(run(&mut e, c, "SMISMEMBER nokey a b"), Reply::Array(vec![Reply::Int(0), Reply::Int(0)]));
    assert_eq!(sorted(run(&mut e, c, "SMEMBERS s")), strs(&["1", "a", "b"]));
    assert_eq!(run(&mut e, c, "SMEMBERS nokey"), bulks(&[]));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn wrong_type_errors() {
    let (mut e, c) = engine();
    e.srv.dbs[0].insert(b"str".to_vec(), Value::String(b"x".to_vec().into()));
    run(&mut e, c, "SADD s a");
    e.take_aof_buf();
    for line in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 0",
        "SRANDMEMBER str",
        "SRANDMEMBER str 0",
        "SINTER nokey str",
        "SUNION nokey str",
        "SDIFF nokey str",
        "SINTERSTORE d nokey str",
        "SUNIONSTORE d str",
        "SDIFFSTORE d str",
        "SINTERCARD 2 nokey str",
        "SSCAN str 0",
        "SMOVE s str a",
        "SMOVE str s a",
    ] {
        assert_eq!(run(&mut e, c, line), err(WRONGTYPE), "{line}");
    }
    // A missing source makes SMOVE answer 0 before the destination's type is checked.
    assert_eq!(run(&mut e, c, "SMOVE nokey str a"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SPOP str abc"), err("ERR value is out of range, must be positive"));
    assert!(e.take_aof_buf().is_empty());
    assert!(!e.srv.dbs[0].contains(b"d"));
}

#[test]
fn spop_single_is_propagated_as_srem() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s a b c");
    e.take_aof_buf();
    let Reply::Bulk(m) = run(&mut e, c, "SPOP s") else { panic!() };
    assert_eq!(e.take_aof_buf(), cmd(&[&b"SREM"[..], b"s", &m]));
    assert_eq!(run(&mut e, c, "SCARD s"), Reply::Int(2));
    run(&mut e, c, "SADD one x");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SPOP one"), Reply::bulk("x"));
    assert_eq!(e.take_aof_buf(), cmd(&["SREM", "one", "x"]));
    assert!(!e.srv.dbs[0].contains(b"one"));
    assert_eq!(run(&mut e, c, "SPOP one"), Reply::Nil);
    assert_eq!(run(&mut e, c, "SPOP one 1 2"), err("ERR syntax error"));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn spop_count_is_propagated_as_one_srem_per_member() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s a b c d e");
    e.take_aof_buf();
    let Reply::Array(popped) = run(&mut e, c, "SPOP s 2") else { panic!() };
    let ops: Vec<Vec<u8>> = popped.iter().map(|m| if let Reply::Bulk(m) = m { cmd(&[&b"SREM"[..], b"s", m]) } else { panic!() }).collect();
    assert_eq!(ops.len(), 2);
    assert_eq!(e.take_aof_buf(), multi(&ops));
    // A single SREM is not wrapped.
    let Reply::Array(popped) = run(&mut e, c, "SPOP s 1") else { panic!() };
    let Reply::Bulk(m) = &popped[0] else { panic!() };
    assert_eq!(e.take_aof_buf(), cmd(&[&b"SREM"[..], b"s", m]));
    // Popping at least the whole set is a DEL.
    assert_eq!(run(&mut e, c, "SPOP s 0"), bulks(&[]));
    assert!(e.take_aof_buf().is_empty());
    assert_eq!(sorted(run(&mut e, c, "SPOP s 10")).len(), 2);
    assert_eq!(e.take_aof_buf(), cmd(&["DEL", "s"]));
    assert!(!e.srv.dbs[0].contains(b"s"));
    assert_eq!(run(&mut e, c, "SPOP s 3"), bulks(&[]));
    assert_eq!(run(&mut e, c, "SPOP s -1"), err("ERR value is out of range, must be positive"));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn spop_of_most_of_an_intset_pops_in_numeric_order() {
    // Few members left: Redis keeps those in a new set and replies with the rest of the old
    // one, in its order (numeric for an intset); the SREMs follow that order.
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s 10 9 8 7 6 5 4 3 2 1");
    e.take_aof_buf();
    // One left, and 1 * 5 <= 9: the members that stay are picked, the rest is the reply.
    let Reply::Array(popped) = run(&mut e, c, "SPOP s 9") else { panic!() };
    let nums: Vec<i64> =
        popped.iter().map(|m| if let Reply::Bulk(m) = m { std::str::from_utf8(m).unwrap().parse().unwrap() } else { panic!() }).collect();
    assert_eq!(nums.len(), 9);
    assert!(nums.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
    let ops: Vec<Vec<u8>> = nums.iter().map(|n| cmd(&["SREM", "s", &n.to_string()])).collect();
    assert_eq!(e.take_aof_buf(), multi(&ops));
    assert_eq!(run(&mut e, c, "SCARD s"), Reply::Int(1));
    assert!(is_intset(&e, b"s"));
}

#[test]
fn srandmember() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s 3 1 2");
    run(&mut e, c, "SADD one x");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SRANDMEMBER s 3"), bulks(&["1", "2", "3"]));
    assert_eq!(run(&mut e, c, "SRANDMEMBER s 0"), bulks(&[]));
    assert_eq!(run(&mut e, c, "SRANDMEMBER one"), Reply::bulk("x"));
    assert_eq!(run(&mut e, c, "SRANDMEMBER one -3"), bulks(&["x", "x", "x"]));
    assert_eq!(run(&mut e, c, "SRANDMEMBER nokey"), Reply::Nil);
    assert_eq!(run(&mut e, c, "SRANDMEMBER nokey -3"), bulks(&[]));
    for _ in 0..20 {
        let got = sorted(run(&mut e, c, "SRANDMEMBER s 2"));
        assert_eq!(got.len(), 2);
        assert_ne!(got[0], got[1]);
    }
    assert_eq!(run(&mut e, c, "SRANDMEMBER s abc"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "SRANDMEMBER s 1 2"), err("ERR syntax error"));
    assert_eq!(
        run(&mut e, c, "SRANDMEMBER s -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn smove() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD a 1 2");
    run(&mut e, c, "SADD b 2 3");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SMOVE a b 1"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "SMOVE a b 2"), Reply::Int(1));
    assert_eq!(e.take_aof_buf(), [cmd(&["SMOVE", "a", "b", "1"]), cmd(&["SMOVE", "a", "b", "2"])].concat());
    assert!(!e.srv.dbs[0].contains(b"a"), "the emptied source is deleted");
    assert_eq!(run(&mut e, c, "SMEMBERS b"), bulks(&["1", "2", "3"]));
    assert_eq!(run(&mut e, c, "SMOVE b b 1"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "SMOVE b b 9"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SMOVE b c 9"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SMOVE nokey b 1"), Reply::Int(0));
    assert!(e.take_aof_buf().is_empty());
    assert_eq!(run(&mut e, c, "SMOVE b c 3"), Reply::Int(1));
    assert_eq!(e.take_aof_buf(), cmd(&["SMOVE", "b", "c", "3"]));
    assert_eq!(run(&mut e, c, "SMEMBERS c"), bulks(&["3"]));
}

#[test]
fn set_algebra() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD i1 1 2 3 4 5");
    run(&mut e, c, "SADD i2 4 5 6 7");
    run(&mut e, c, "SADD a1 x y 1");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SINTER i1 i2"), bulks(&["4", "5"]));
    assert_eq!(run(&mut e, c, "SINTER i1 i2 nokey"), bulks(&[]));
    assert_eq!(run(&mut e, c, "SINTER i1 i1"), bulks(&["1", "2", "3", "4", "5"]));
    assert_eq!(run(&mut e, c, "SUNION i1 nokey i2"), bulks(&["1", "2", "3", "4", "5", "6", "7"]));
    assert_eq!(run(&mut e, c, "SDIFF i1 i2"), bulks(&["1", "2", "3"]));
    assert_eq!(run(&mut e, c, "SDIFF i1 i1"), bulks(&[]));
    assert_eq!(run(&mut e, c, "SDIFF nokey i1"), bulks(&[]));
    assert_eq!(run(&mut e, c, "SINTER a1 i1"), bulks(&["1"]));
    assert_eq!(sorted(run(&mut e, c, "SUNION a1 i2")), strs(&["1", "4", "5", "6", "7", "x", "y"]));
    assert_eq!(sorted(run(&mut e, c, "SDIFF a1 i1")), strs(&["x", "y"]));
    assert_eq!(run(&mut e, c, "SINTERCARD 2 i1 i2"), Reply::Int(2));
    assert_eq!(run(&mut e, c, "SINTERCARD 1 i1 LIMIT 3"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "SINTERCARD 1 i1 LIMIT 0"), Reply::Int(5));
    assert_eq!(run(&mut e, c, "SINTERCARD 2 i1 nokey"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SINTERCARD 0 i1"), err("ERR numkeys should be greater than 0"));
    assert_eq!(run(&mut e, c, "SINTERCARD x i1"), err("ERR numkeys should be greater than 0"));
    assert_eq!(run(&mut e, c, "SINTERCARD 3 i1 i2"), err("ERR Number of keys can't be greater than number of args"));
    assert_eq!(run(&mut e, c, "SINTERCARD 1 i1 LIMIT -1"), err("ERR LIMIT can't be negative"));
    assert_eq!(run(&mut e, c, "SINTERCARD 1 i1 LIMIT"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "SINTERCARD 1 i1 i2"), err("ERR syntax error"));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn store_commands_overwrite_drop_the_ttl_and_delete_on_empty() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD i1 1 2 3");
    run(&mut e, c, "SADD i2 2 3 4");
    e.srv.dbs[0].insert(b"d".to_vec(), Value::String(b"str".to_vec().into()));
    e.srv.dbs[0].set_expire(b"d", NOW + 100_000);
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SINTERSTORE d i1 i2"), Reply::Int(2));
    assert_eq!(e.take_aof_buf(), cmd(&["SINTERSTORE", "d", "i1", "i2"]));
    assert_eq!(e.srv.dbs[0].expire_of(b"d"), None);
    assert_eq!(run(&mut e, c, "SMEMBERS d"), bulks(&["2", "3"]));
    assert_eq!(run(&mut e, c, "SUNIONSTORE d i1 i2"), Reply::Int(4));
    assert_eq!(run(&mut e, c, "SDIFFSTORE d i1 i2"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "SMEMBERS d"), bulks(&["1"]));
    e.take_aof_buf();
    // An empty result deletes the destination: propagated (verbatim) only if it existed.
    assert_eq!(run(&mut e, c, "SINTERSTORE d i1 nokey"), Reply::Int(0));
    assert_eq!(e.take_aof_buf(), cmd(&["SINTERSTORE", "d", "i1", "nokey"]));
    assert!(!e.srv.dbs[0].contains(b"d"));
    assert_eq!(run(&mut e, c, "SINTERSTORE d i1 nokey"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SDIFFSTORE d i1 i1"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "SUNIONSTORE d nokey"), Reply::Int(0));
    assert!(e.take_aof_buf().is_empty());
    run(&mut e, c, "SADD d x");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "SUNIONSTORE d nokey"), Reply::Int(0));
    assert_eq!(e.take_aof_buf(), cmd(&["SUNIONSTORE", "d", "nokey"]));
    // The destination may be a source.
    assert_eq!(run(&mut e, c, "SUNIONSTORE i1 i1 i2"), Reply::Int(4));
    assert_eq!(run(&mut e, c, "SMEMBERS i1"), bulks(&["1", "2", "3", "4"]));
}

#[test]
fn lazily_expired_destinations_are_deleted_in_the_same_block() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD src 1 2");
    run(&mut e, c, "SADD dst x");
    run(&mut e, c, "SADD dst2 x");
    run(&mut e, c, "SADD e2 a");
    e.take_aof_buf();
    for k in [&b"dst"[..], b"dst2", b"e2"] {
        e.srv.dbs[0].set_expire(k, NOW - 1);
    }
    // setKey looks the destination up: its DEL comes first, wrapped with the store.
    assert_eq!(run(&mut e, c, "SUNIONSTORE dst src"), Reply::Int(2));
    assert_eq!(e.take_aof_buf(), multi(&[cmd(&["DEL", "dst"]), cmd(&["SUNIONSTORE", "dst", "src"])]));
    // An empty result deletes the destination directly (no lookup): no DEL of its own.
    assert_eq!(run(&mut e, c, "SINTERSTORE dst2 src nokey"), Reply::Int(0));
    assert_eq!(e.take_aof_buf(), cmd(&["SINTERSTORE", "dst2", "src", "nokey"]));
    assert_eq!(run(&mut e, c, "SMOVE src e2 1"), Reply::Int(1));
    assert_eq!(e.take_aof_buf(), multi(&[cmd(&["DEL", "e2"]), cmd(&["SMOVE", "src", "e2", "1"])]));
    assert_eq!(run(&mut e, c, "SMEMBERS e2"), bulks(&["1"]));
    // An expired destination that is also a source: its lookup deletes it, the intersection is
    // then empty and there is nothing left to delete: only the DEL is propagated.
    e.srv.dbs[0].set_expire(b"dst", NOW - 1);
    assert_eq!(run(&mut e, c, "SINTERSTORE dst dst src"), Reply::Int(0));
    assert_eq!(e.take_aof_buf(), cmd(&["DEL", "dst"]));
}

fn scan_reply(r: Reply) -> (u64, Vec<Vec<u8>>) {
    let Reply::Array(mut parts) = r else { panic!("not a scan reply: {r:?}") };
    let Some(Reply::Array(items)) = parts.pop() else { panic!() };
    let Some(Reply::Bulk(cursor)) = parts.pop() else { panic!() };
    let cursor = String::from_utf8(cursor).unwrap().parse().unwrap();
    (cursor, items.into_iter().map(|i| if let Reply::Bulk(b) = i { b } else { panic!() }).collect())
}

#[test]
fn sscan() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD i 5 -1 3");
    assert_eq!(run(&mut e, c, "SSCAN i 0 COUNT 1"), Reply::Array(vec![Reply::bulk("0"), bulks(&["-1", "3", "5"])]));
    assert_eq!(run(&mut e, c, "SSCAN i 0 MATCH -*"), Reply::Array(vec![Reply::bulk("0"), bulks(&["-1"])]));
    assert_eq!(run(&mut e, c, "SSCAN nokey 0"), Reply::Array(vec![Reply::bulk("0"), bulks(&[])]));
    assert_eq!(run(&mut e, c, "SSCAN i x"), err("ERR invalid cursor"));
    assert_eq!(run(&mut e, c, "SSCAN i 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "SSCAN i 0 TYPE set"), err("ERR syntax error"));
    let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    run(&mut e, c, &format!("SADD h {}", members.join(" ")));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    loop {
        let (next, items) = scan_reply(run(&mut e, c, &format!("SSCAN h {cursor} COUNT 7")));
        assert!(items.len() <= 7);
        seen.extend(items);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 200);
    let (cursor, items) = scan_reply(run(&mut e, c, "SSCAN h 0 MATCH m17 COUNT 1000"));
    assert_eq!((cursor, items), (0, vec![b"m17".to_vec()]));
}

#[test]
fn arity() {
    let (mut e, c) = engine();
    for (line, name) in [
        ("SADD s", "sadd"),
        ("SREM s", "srem"),
        ("SMEMBERS", "smembers"),
        ("SMEMBERS a b", "smembers"),
        ("SISMEMBER s", "sismember"),
        ("SMISMEMBER s", "smismember"),
        ("SCARD", "scard"),
        ("SPOP", "spop"),
        ("SRANDMEMBER", "srandmember"),
        ("SMOVE a b", "smove"),
        ("SINTER", "sinter"),
        ("SUNIONSTORE d", "sunionstore"),
        ("SINTERCARD 1", "sintercard"),
        ("SSCAN s", "sscan"),
    ] {
        assert_eq!(run(&mut e, c, line), err(&format!("ERR wrong number of arguments for '{name}' command")), "{line}");
    }
}

#[test]
fn spop_inside_multi_joins_the_transaction_block() {
    let (mut e, c) = engine();
    run(&mut e, c, "MULTI");
    run(&mut e, c, "SADD t 1 2 3");
    run(&mut e, c, "SPOP t 3");
    run(&mut e, c, "SADD t x");
    run(&mut e, c, "SPOP t");
    assert_eq!(run(&mut e, c, "EXEC"), Reply::Array(vec![Reply::Int(3), bulks(&["1", "2", "3"]), Reply::Int(1), Reply::bulk("x")]));
    assert_eq!(
        e.take_aof_buf(),
        multi(&[cmd(&["SADD", "t", "1", "2", "3"]), cmd(&["DEL", "t"]), cmd(&["SADD", "t", "x"]), cmd(&["SREM", "t", "x"])])
    );
}

#[test]
fn result_encodings_follow_redis_algorithms() {
    // Checked with OBJECT ENCODING on redis-server 7.0.15.
    let (mut e, c) = engine();
    let ints: Vec<String> = (1..=513).map(|i| i.to_string()).collect();
    run(&mut e, c, &format!("SADD big {}", ints.join(" ")));
    assert!(!is_intset(&e, b"big"));
    // Popping most of a hash table rebuilds the few members left: an intset again.
    let Reply::Array(popped) = run(&mut e, c, "SPOP big 510") else { panic!() };
    assert_eq!(popped.len(), 510);
    assert!(is_intset(&e, b"big"));
    run(&mut e, c, "SADD x1 1 2 3 4 5 6 7 8 9 10 a");
    run(&mut e, c, "SADD x2 a");
    // SDIFF algorithm 1 (two sets) only adds what stays: an intset.
    assert_eq!(run(&mut e, c, "SDIFFSTORE d4 x1 x2"), Reply::Int(10));
    assert!(is_intset(&e, b"d4"));
    // Algorithm 2 (cheaper with many small sets) adds "a" then removes it: a hash table.
    assert_eq!(run(&mut e, c, "SDIFFSTORE d6 x1 x2 x2 x2"), Reply::Int(10));
    assert!(!is_intset(&e, b"d6"));
}

#[test]
fn watch_is_touched_only_by_real_changes() {
    let (mut e, c) = engine();
    run(&mut e, c, "SADD s a");
    for (change, touched) in [("SADD s a", false), ("SREM s zz", false), ("SPOP s 0", false), ("SADD s b", true), ("SINTERSTORE s s", true)]
    {
        run(&mut e, c, "WATCH s");
        run(&mut e, c, change);
        run(&mut e, c, "MULTI");
        let r = run(&mut e, c, "EXEC");
        assert_eq!(r == Reply::NilArray, touched, "{change}");
    }
}
