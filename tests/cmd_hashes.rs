//! Hash commands: replies and the exact bytes propagated to the AOF, as checked against
//! redis-server 7.0.15.

use aof_lab::server::ClientId;
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

/// An engine with the AOF on, whose first SELECT has already been consumed.
fn engine() -> (Engine, ClientId) {
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, NOW);
    let c = e.connect();
    run(&mut e, c, "HSET init f v");
    assert_eq!(e.take_aof_buf(), [&b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"[..], &cmd(&["HSET", "init", "f", "v"])].concat());
    (e, c)
}

/// The reply as a RESP2 client receives it (maps flattened, doubles as bulk strings).
fn run(e: &mut Engine, c: ClientId, line: &str) -> Reply {
    e.execute_line(c, line, NOW).expect("no blocking command here").downgraded()
}

/// The RESP multibulk of a command, as the AOF holds it.
fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
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

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn hset_hmset_hsetnx_replies_and_propagation() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "HSET h f1 v1 f2 v2"), Reply::Int(2));
    assert_eq!(run(&mut e, c, "hset h f1 x f3 v3"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "HMSET h f4 v4"), Reply::ok());
    assert_eq!(
        e.take_aof_buf(),
        [cmd(&["HSET", "h", "f1", "v1", "f2", "v2"]), cmd(&["hset", "h", "f1", "x", "f3", "v3"]), cmd(&["HMSET", "h", "f4", "v4"])]
            .concat()
    );
    // Overwriting a field keeps its place (listpack order).
    assert_eq!(run(&mut e, c, "HGETALL h"), bulks(&["f1", "x", "f2", "v2", "f3", "v3", "f4", "v4"]));
    assert_eq!(run(&mut e, c, "HSETNX h f1 y"), Reply::Int(0));
    assert!(e.take_aof_buf().is_empty(), "a failed HSETNX is not propagated");
    assert_eq!(run(&mut e, c, "HSETNX h f5 v5"), Reply::Int(1));
    assert_eq!(e.take_aof_buf(), cmd(&["HSETNX", "h", "f5", "v5"]));
    assert_eq!(run(&mut e, c, "HSET h f1 v1 f2"), err("ERR wrong number of arguments for 'hset' command"));
    assert_eq!(run(&mut e, c, "HMSET h f1"), err("ERR wrong number of arguments for 'hmset' command"));
    assert_eq!(run(&mut e, c, "HSET h"), err("ERR wrong number of arguments for 'hset' command"));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn reads_on_missing_and_present_keys() {
    let (mut e, c) = engine();
    run(&mut e, c, "HSET h a 1 b 22");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "HGET h a"), Reply::bulk("1"));
    assert_eq!(run(&mut e, c, "HGET h z"), Reply::Nil);
    assert_eq!(run(&mut e, c, "HGET nokey a"), Reply::Nil);
    assert_eq!(run(&mut e, c, "HMGET h a z b"), Reply::Array(vec![Reply::bulk("1"), Reply::Nil, Reply::bulk("22")]));
    assert_eq!(run(&mut e, c, "HMGET nokey a b"), Reply::Array(vec![Reply::Nil, Reply::Nil]));
    assert_eq!(run(&mut e, c, "HLEN h"), Reply::Int(2));
    assert_eq!(run(&mut e, c, "HLEN nokey"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "HEXISTS h b"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "HEXISTS h z"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "HSTRLEN h b"), Reply::Int(2));
    assert_eq!(run(&mut e, c, "HSTRLEN nokey b"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "HKEYS h"), bulks(&["a", "b"]));
    assert_eq!(run(&mut e, c, "HVALS h"), bulks(&["1", "22"]));
    assert_eq!(run(&mut e, c, "HKEYS nokey"), bulks(&[]));
    assert_eq!(run(&mut e, c, "HGETALL nokey"), bulks(&[]));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn hdel_keeps_listpack_order_and_deletes_the_empty_hash() {
    let (mut e, c) = engine();
    run(&mut e, c, "HSET h a 1 b 2 c 3 d 4");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "HDEL h b nofield"), Reply::Int(1));
    assert_eq!(e.take_aof_buf(), cmd(&["HDEL", "h", "b", "nofield"]));
    run(&mut e, c, "HSET h b 5");
    // A listpack deletes in place and appends: b is now last, a c d kept their order.
    assert_eq!(run(&mut e, c, "HKEYS h"), bulks(&["a", "c", "d", "b"]));
    assert_eq!(run(&mut e, c, "HDEL h nofield"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "HDEL nokey a"), Reply::Int(0));
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "HDEL h a b c d e"), Reply::Int(4));
    assert_eq!(e.take_aof_buf(), cmd(&["HDEL", "h", "a", "b", "c", "d", "e"]));
    assert!(!e.srv.dbs[0].contains(b"h"));
}

#[test]
fn wrong_type_errors() {
    let (mut e, c) = engine();
    e.srv.dbs[0].insert(b"s".to_vec(), aof_lab::keyspace::Value::String(b"x".to_vec().into()));
    for line in [
        "HSET s f v",
        "HSETNX s f v",
        "HMSET s f v",
        "HGET s f",
        "HMGET s f",
        "HGETALL s",
        "HKEYS s",
        "HVALS s",
        "HLEN s",
        "HEXISTS s f",
        "HSTRLEN s f",
        "HDEL s f",
        "HINCRBY s f 1",
        "HINCRBYFLOAT s f 1",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HSCAN s 0",
        "HSCAN s 0 COUNT abc",
    ] {
        assert_eq!(run(&mut e, c, line), err(WRONGTYPE), "{line}");
    }
    // Arguments parsed before the key is looked up win over the type check.
    assert_eq!(run(&mut e, c, "HINCRBY s f abc"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT s f abc"), err("ERR value is not a valid float"));
    assert_eq!(run(&mut e, c, "HSCAN s x"), err("ERR invalid cursor"));
    assert!(e.take_aof_buf().is_empty());
}

#[test]
fn hincrby() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "HINCRBY h n 5"), Reply::Int(5));
    assert_eq!(run(&mut e, c, "HINCRBY h n -10"), Reply::Int(-5));
    assert_eq!(e.take_aof_buf(), [cmd(&["HINCRBY", "h", "n", "5"]), cmd(&["HINCRBY", "h", "n", "-10"])].concat());
    assert_eq!(run(&mut e, c, "HINCRBY h n 1.5"), err("ERR value is not an integer or out of range"));
    run(&mut e, c, "HSET h s hello z 012 big 9223372036854775807");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "HINCRBY h s 1"), err("ERR hash value is not an integer"));
    assert_eq!(run(&mut e, c, "HINCRBY h z 1"), err("ERR hash value is not an integer"));
    assert_eq!(run(&mut e, c, "HINCRBY h big 1"), err("ERR increment or decrement would overflow"));
    assert!(e.take_aof_buf().is_empty());
    assert_eq!(run(&mut e, c, "HINCRBY h big -9223372036854775807"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "HGET h big"), Reply::bulk("0"));
}

#[test]
fn hincrbyfloat_is_propagated_as_hset_with_the_long_double_result() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f 1.5"), Reply::bulk("1.5"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f 0.1"), Reply::bulk("1.6"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h g 1e30"), Reply::bulk("1000000000000000000024696061952"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h k -123456789.987654321"), Reply::bulk("-123456789.98765432099753525"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h z -0.0"), Reply::bulk("0"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h t 1e-20"), Reply::bulk("0"));
    assert_eq!(
        e.take_aof_buf(),
        [
            cmd(&["HSET", "h", "f", "1.5"]),
            cmd(&["HSET", "h", "f", "1.6"]),
            cmd(&["HSET", "h", "g", "1000000000000000000024696061952"]),
            cmd(&["HSET", "h", "k", "-123456789.98765432099753525"]),
            cmd(&["HSET", "h", "z", "0"]),
            cmd(&["HSET", "h", "t", "0"]),
        ]
        .concat()
    );
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f abc"), err("ERR value is not a valid float"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f nan"), err("ERR value is not a valid float"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f 1e5000"), err("ERR value is not a valid float"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h f inf"), err("ERR value is NaN or Infinity"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT nokey f -inf"), err("ERR value is NaN or Infinity"));
    run(&mut e, c, "HSET h s abc huge 1e4932");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h s 1"), err("ERR hash value is not a float"));
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h huge 1e4932"), err("ERR increment would produce NaN or Infinity"));
    assert!(e.take_aof_buf().is_empty());
    assert!(!e.srv.dbs[0].contains(b"nokey"));
}

#[test]
fn a_lazily_expired_hash_is_deleted_first_in_the_same_block() {
    let (mut e, c) = engine();
    run(&mut e, c, "HSET h a 1");
    e.take_aof_buf();
    e.srv.dbs[0].set_expire(b"h", NOW - 1);
    assert_eq!(run(&mut e, c, "HINCRBYFLOAT h a 1"), Reply::bulk("1"));
    assert_eq!(e.take_aof_buf(), multi(&[cmd(&["DEL", "h"]), cmd(&["HSET", "h", "a", "1"])]));
    // A read of an expired key propagates the DEL alone.
    e.srv.dbs[0].set_expire(b"h", NOW - 1);
    assert_eq!(run(&mut e, c, "HGET h a"), Reply::Nil);
    assert_eq!(e.take_aof_buf(), cmd(&["DEL", "h"]));
}

#[test]
fn hrandfield_deterministic_forms_and_errors() {
    let (mut e, c) = engine();
    run(&mut e, c, "HSET h a 1 b 2 c 3");
    run(&mut e, c, "HSET one f v");
    e.take_aof_buf();
    // A count covering the hash returns all of it, in listpack order.
    assert_eq!(run(&mut e, c, "HRANDFIELD h 3"), bulks(&["a", "b", "c"]));
    assert_eq!(run(&mut e, c, "HRANDFIELD h 10 WITHVALUES"), bulks(&["a", "1", "b", "2", "c", "3"]));
    assert_eq!(run(&mut e, c, "HRANDFIELD h 0"), bulks(&[]));
    assert_eq!(run(&mut e, c, "HRANDFIELD one"), Reply::bulk("f"));
    assert_eq!(run(&mut e, c, "HRANDFIELD one -3"), bulks(&["f", "f", "f"]));
    assert_eq!(run(&mut e, c, "HRANDFIELD one -2 withvalues"), bulks(&["f", "v", "f", "v"]));
    assert_eq!(run(&mut e, c, "HRANDFIELD nokey"), Reply::Nil);
    assert_eq!(run(&mut e, c, "HRANDFIELD nokey 5 WITHVALUES"), bulks(&[]));
    // A sample smaller than a listpack comes back in listpack order, without repetition.
    for _ in 0..20 {
        let Reply::Array(items) = run(&mut e, c, "HRANDFIELD h 2") else { panic!() };
        let names: Vec<Reply> = items.clone();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
        let order = |r: &Reply| ["a", "b", "c"].iter().position(|x| *r == Reply::bulk(*x)).expect("a field of h");
        assert!(order(&names[0]) < order(&names[1]));
    }
    assert_eq!(run(&mut e, c, "HRANDFIELD h abc"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "HRANDFIELD h 1 withval"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "HRANDFIELD h 1 withvalues x"), err("ERR syntax error"));
    assert_eq!(
        run(&mut e, c, "HRANDFIELD h -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(run(&mut e, c, "HRANDFIELD h -9223372036854775807 WITHVALUES"), err("ERR value is out of range"));
    assert!(run(&mut e, c, "HRANDFIELD h -9223372036854775807").is_error(), "the lab caps huge repeated samples");
    assert!(e.take_aof_buf().is_empty());
}

fn scan_reply(r: Reply) -> (u64, Vec<Vec<u8>>) {
    let Reply::Array(mut parts) = r else { panic!("not a scan reply: {r:?}") };
    let Some(Reply::Array(items)) = parts.pop() else { panic!() };
    let Some(Reply::Bulk(cursor)) = parts.pop() else { panic!() };
    let cursor = String::from_utf8(cursor).unwrap().parse().unwrap();
    (cursor, items.into_iter().map(|i| if let Reply::Bulk(b) = i { b } else { panic!() }).collect())
}

#[test]
fn hscan_small_hash_comes_back_whole() {
    let (mut e, c) = engine();
    run(&mut e, c, "HSET h a 1 b 2 c 3");
    assert_eq!(run(&mut e, c, "HSCAN h 0"), Reply::Array(vec![Reply::bulk("0"), bulks(&["a", "1", "b", "2", "c", "3"])]));
    assert_eq!(run(&mut e, c, "HSCAN h 7 COUNT 1 MATCH [bc]"), Reply::Array(vec![Reply::bulk("0"), bulks(&["b", "2", "c", "3"])]));
    assert_eq!(run(&mut e, c, "HSCAN h \"\""), run(&mut e, c, "HSCAN h 0"));
    assert_eq!(run(&mut e, c, "HSCAN nokey 0 COUNT abc"), Reply::Array(vec![Reply::bulk("0"), bulks(&[])]));
    assert_eq!(run(&mut e, c, "HSCAN h 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "HSCAN h 0 COUNT abc"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "HSCAN h 0 TYPE hash"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "HSCAN h 0 MATCH"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "HSCAN h \" 0\""), err("ERR invalid cursor"));
    assert_eq!(run(&mut e, c, "HSCAN h 18446744073709551616"), err("ERR invalid cursor"));
    assert_eq!(scan_reply(run(&mut e, c, "HSCAN h -1")).0, 0);
}

#[test]
fn hscan_of_a_hash_table_returns_every_field_present_for_the_whole_scan() {
    let (mut e, c) = engine();
    // More than hash-max-listpack-entries (512): a hash table, scanned in steps.
    let fields: Vec<String> = (0..700).map(|i| format!("f{i}")).collect();
    let line = fields.iter().map(|f| format!("{f} v")).collect::<Vec<_>>().join(" ");
    run(&mut e, c, &format!("HSET h {line}"));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut calls = 0;
    loop {
        let (next, items) = scan_reply(run(&mut e, c, &format!("HSCAN h {cursor} COUNT 20")));
        assert!(items.len() <= 22, "about COUNT items per call");
        for pair in items.chunks(2) {
            seen.insert(String::from_utf8(pair[0].clone()).unwrap());
        }
        calls += 1;
        // Deleting fields already returned and adding new ones must not hide the others.
        if calls == 3 {
            run(&mut e, c, "HDEL h f299 f298 f297");
            run(&mut e, c, "HSET h new1 v new2 v");
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(calls > 10);
    for f in &fields[..297] {
        assert!(seen.contains(f), "{f} was not returned");
    }
}

#[test]
fn arity() {
    let (mut e, c) = engine();
    for (line, name) in [
        ("HGET h", "hget"),
        ("HGETALL", "hgetall"),
        ("HLEN a b", "hlen"),
        ("HINCRBY h f", "hincrby"),
        ("HINCRBYFLOAT h f", "hincrbyfloat"),
        ("HSTRLEN h", "hstrlen"),
        ("HRANDFIELD", "hrandfield"),
        ("HSCAN h", "hscan"),
        ("HSETNX h f", "hsetnx"),
        ("HDEL h", "hdel"),
        ("HMGET h", "hmget"),
    ] {
        assert_eq!(run(&mut e, c, line), err(&format!("ERR wrong number of arguments for '{name}' command")), "{line}");
    }
}

#[test]
fn transaction_wraps_several_writes() {
    let (mut e, c) = engine();
    run(&mut e, c, "MULTI");
    run(&mut e, c, "HSET m a 1");
    run(&mut e, c, "HINCRBYFLOAT m a 1.5");
    run(&mut e, c, "HINCRBY m b 2");
    run(&mut e, c, "HDEL m nofield");
    assert_eq!(run(&mut e, c, "EXEC"), Reply::Array(vec![Reply::Int(1), Reply::bulk("2.5"), Reply::Int(2), Reply::Int(0)]));
    assert_eq!(
        e.take_aof_buf(),
        multi(&[cmd(&["HSET", "m", "a", "1"]), cmd(&["HSET", "m", "a", "2.5"]), cmd(&["HINCRBY", "m", "b", "2"])])
    );
}
