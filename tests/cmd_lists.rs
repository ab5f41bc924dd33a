//! List commands: replies and the exact bytes propagated to the AOF, including the blocking
//! flows (two clients in one engine). Every expectation was checked against redis-server 7.0.15.

use aof_lab::keyspace::Value;
use aof_lab::resp::encode_command;
use aof_lab::server::ClientId;
use aof_lab::{Config, Engine, Reply};

const T0: i64 = 1_700_000_000_000;

/// An engine with the AOF on, its first SELECT already drained, and one client.
fn setup() -> (Engine, ClientId) {
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, T0);
    let c = e.connect();
    run(&mut e, c, "RPUSH warmup x");
    run(&mut e, c, "LPOP warmup");
    e.take_aof_buf();
    (e, c)
}

fn run(e: &mut Engine, c: ClientId, line: &str) -> Reply {
    e.execute_line(c, line, T0).unwrap_or_else(|| panic!("{line} blocked"))
}

/// The RESP bytes of `;`-separated commands (arguments split on spaces).
fn aof(cmds: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let args: Vec<&str> = c.split(' ').collect();
        encode_command(&mut out, &args);
    }
    out
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", " ")
}

#[track_caller]
fn assert_aof(e: &mut Engine, want: &str) {
    let got = e.take_aof_buf();
    assert_eq!(show(&got), show(&aof(want)));
}

#[track_caller]
fn assert_resp(r: Reply, want: &str) {
    assert_eq!(String::from_utf8_lossy(&r.to_resp()), want);
}

fn bulks(items: &[&str]) -> Reply {
    Reply::array_of_bulks(items.iter().map(|s| s.as_bytes().to_vec()))
}

fn set_string(e: &mut Engine, key: &str) {
    e.srv.dbs[0].insert(key.as_bytes().to_vec(), Value::String(b"x".to_vec().into()));
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn push_replies_lengths_and_propagates_verbatim() {
    let (mut e, c) = setup();
    assert_eq!(run(&mut e, c, "rpush l a b c"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "LPUSH l z"), Reply::Int(4));
    assert_eq!(run(&mut e, c, "LPUSHX nokey a"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "RPUSHX l d e"), Reply::Int(6));
    assert_eq!(run(&mut e, c, "LRANGE l 0 -1"), bulks(&["z", "a", "b", "c", "d", "e"]));
    assert_aof(&mut e, "rpush l a b c; LPUSH l z; RPUSHX l d e");
    set_string(&mut e, "s");
    assert_resp(run(&mut e, c, "LPUSH s a"), WRONGTYPE);
    assert_resp(run(&mut e, c, "RPUSHX s a"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LPUSH l"), "-ERR wrong number of arguments for 'lpush' command\r\n");
    assert_aof(&mut e, "");
}

#[test]
fn pop_count_rules_of_7_0() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b c");
    e.take_aof_buf();
    assert_resp(run(&mut e, c, "LPOP l 0"), "*0\r\n");
    assert_resp(run(&mut e, c, "LPOP nokey 0"), "*-1\r\n");
    assert_resp(run(&mut e, c, "LPOP nokey 1"), "*-1\r\n");
    assert_resp(run(&mut e, c, "LPOP nokey"), "$-1\r\n");
    assert_resp(run(&mut e, c, "LPOP l -1"), "-ERR value is out of range, must be positive\r\n");
    assert_resp(run(&mut e, c, "RPOP l abc"), "-ERR value is out of range, must be positive\r\n");
    assert_resp(run(&mut e, c, "LPOP l 1 2"), "-ERR wrong number of arguments for 'lpop' command\r\n");
    assert_aof(&mut e, "");
    // RPOP with a count replies tail first; the count is propagated as given.
    assert_eq!(run(&mut e, c, "RPOP l 2"), bulks(&["c", "b"]));
    assert_eq!(run(&mut e, c, "LPOP l 5"), bulks(&["a"]));
    assert_eq!(run(&mut e, c, "LLEN l"), Reply::Int(0));
    assert!(!e.srv.dbs[0].contains(b"l"), "an emptied list is deleted");
    assert_aof(&mut e, "RPOP l 2; LPOP l 5");
    set_string(&mut e, "s");
    assert_resp(run(&mut e, c, "LPOP s"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LPOP s -1"), "-ERR value is out of range, must be positive\r\n");
}

#[test]
fn read_commands_and_their_error_order() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b c d");
    set_string(&mut e, "s");
    assert_eq!(run(&mut e, c, "LRANGE l -100 1"), bulks(&["a", "b"]));
    assert_eq!(run(&mut e, c, "LRANGE l 2 100"), bulks(&["c", "d"]));
    assert_eq!(run(&mut e, c, "LRANGE l 3 1"), bulks(&[]));
    assert_eq!(run(&mut e, c, "LRANGE nokey 0 -1"), bulks(&[]));
    // LRANGE parses its indexes before looking at the key; LINDEX looks at the key first.
    assert_resp(run(&mut e, c, "LRANGE s a b"), "-ERR value is not an integer or out of range\r\n");
    assert_resp(run(&mut e, c, "LRANGE s 0 1"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LINDEX nokey abc"), "$-1\r\n");
    assert_resp(run(&mut e, c, "LINDEX s abc"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LINDEX l abc"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&mut e, c, "LINDEX l -1"), Reply::bulk("d"));
    assert_eq!(run(&mut e, c, "LINDEX l -9223372036854775808"), Reply::Nil);
    assert_eq!(run(&mut e, c, "LINDEX l 4"), Reply::Nil);
    assert_eq!(run(&mut e, c, "LLEN l"), Reply::Int(4));
    assert_resp(run(&mut e, c, "LLEN s"), WRONGTYPE);
    assert_aof(&mut e, "RPUSH l a b c d");
}

#[test]
fn lset_lrem_ltrim_linsert() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b a c a");
    set_string(&mut e, "s");
    e.take_aof_buf();
    assert_resp(run(&mut e, c, "LSET nokey 0 x"), "-ERR no such key\r\n");
    assert_resp(run(&mut e, c, "LSET s a x"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LSET l a x"), "-ERR value is not an integer or out of range\r\n");
    assert_resp(run(&mut e, c, "LSET l 5 x"), "-ERR index out of range\r\n");
    assert_eq!(run(&mut e, c, "LSET l -1 z"), Reply::ok());
    assert_eq!(run(&mut e, c, "LREM l -1 a"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "LREM l 0 nothere"), Reply::Int(0));
    assert_resp(run(&mut e, c, "LREM nokey x a"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(run(&mut e, c, "LRANGE l 0 -1"), bulks(&["a", "b", "c", "z"]));
    assert_resp(run(&mut e, c, "LINSERT nokey middle a b"), "-ERR syntax error\r\n");
    assert_eq!(run(&mut e, c, "LINSERT nokey BEFORE a b"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "LINSERT l before nothere b"), Reply::Int(-1));
    assert_eq!(run(&mut e, c, "LINSERT l AFTER c d"), Reply::Int(5));
    // An LTRIM that keeps everything changes nothing and is not propagated.
    assert_eq!(run(&mut e, c, "LTRIM l 0 -1"), Reply::ok());
    assert_eq!(run(&mut e, c, "LTRIM l 1 -2"), Reply::ok());
    assert_eq!(run(&mut e, c, "LRANGE l 0 -1"), bulks(&["b", "c", "d"]));
    assert_eq!(run(&mut e, c, "LTRIM l 5 10"), Reply::ok());
    assert!(!e.srv.dbs[0].contains(b"l"));
    assert_aof(&mut e, "LSET l -1 z; LREM l -1 a; LINSERT l AFTER c d; LTRIM l 1 -2; LTRIM l 5 10");
    // LREM with i64::MIN removes every match, from the tail.
    run(&mut e, c, "RPUSH r a a b a");
    assert_eq!(run(&mut e, c, "LREM r -9223372036854775808 a"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "LREM r 0 b"), Reply::Int(1));
    assert!(!e.srv.dbs[0].contains(b"r"));
}

#[test]
fn lpos_options_and_errors() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a a b a");
    let rank0 = "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n";
    assert_eq!(run(&mut e, c, "LPOS l a"), Reply::Int(0));
    assert_eq!(run(&mut e, c, "LPOS l a RANK 2"), Reply::Int(1));
    assert_eq!(run(&mut e, c, "LPOS l a RANK -1"), Reply::Int(3));
    assert_eq!(run(&mut e, c, "LPOS l a RANK 5"), Reply::Nil);
    assert_resp(run(&mut e, c, "LPOS l a COUNT 0"), "*3\r\n:0\r\n:1\r\n:3\r\n");
    assert_resp(run(&mut e, c, "LPOS l a RANK -1 COUNT 2"), "*2\r\n:3\r\n:1\r\n");
    assert_resp(run(&mut e, c, "LPOS l a COUNT 5 RANK 5"), "*0\r\n");
    assert_eq!(run(&mut e, c, "LPOS l a MAXLEN 1 RANK 2"), Reply::Nil);
    assert_resp(run(&mut e, c, "LPOS l a RANK -9223372036854775808 COUNT 1"), "*3\r\n:3\r\n:1\r\n:0\r\n");
    assert_resp(run(&mut e, c, "LPOS nokey a"), "$-1\r\n");
    assert_resp(run(&mut e, c, "LPOS nokey a COUNT 0"), "*0\r\n");
    assert_resp(run(&mut e, c, "LPOS nokey a RANK 0"), rank0);
    assert_resp(run(&mut e, c, "LPOS l a COUNT -1"), "-ERR COUNT can't be negative\r\n");
    assert_resp(run(&mut e, c, "LPOS l a COUNT x"), "-ERR COUNT can't be negative\r\n");
    assert_resp(run(&mut e, c, "LPOS l a MAXLEN -1"), "-ERR MAXLEN can't be negative\r\n");
    assert_resp(run(&mut e, c, "LPOS l a RANK x"), "-ERR value is not an integer or out of range\r\n");
    assert_resp(run(&mut e, c, "LPOS l a RANK"), "-ERR syntax error\r\n");
    assert_resp(run(&mut e, c, "LPOS l a FOO 1"), "-ERR syntax error\r\n");
    set_string(&mut e, "s");
    assert_resp(run(&mut e, c, "LPOS s a"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LPOS s a RANK 0"), rank0);
}

#[test]
fn lmove_rotation_wrongtype_and_lazy_expiry() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b c");
    set_string(&mut e, "s");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "LMOVE l l left right"), Reply::bulk("a"));
    assert_eq!(run(&mut e, c, "LRANGE l 0 -1"), bulks(&["b", "c", "a"]));
    assert_eq!(run(&mut e, c, "RPOPLPUSH l l"), Reply::bulk("a"));
    // A wrong-typed destination fails before anything is popped.
    assert_resp(run(&mut e, c, "LMOVE l s LEFT RIGHT"), WRONGTYPE);
    assert_resp(run(&mut e, c, "RPOPLPUSH l s"), WRONGTYPE);
    assert_resp(run(&mut e, c, "LMOVE s l LEFT RIGHT"), WRONGTYPE);
    assert_eq!(run(&mut e, c, "LLEN l"), Reply::Int(3));
    assert_resp(run(&mut e, c, "LMOVE l l2 up RIGHT"), "-ERR syntax error\r\n");
    assert_resp(run(&mut e, c, "LMOVE nokey s up RIGHT"), "-ERR syntax error\r\n");
    assert_resp(run(&mut e, c, "LMOVE nokey s LEFT RIGHT"), "$-1\r\n");
    assert_resp(run(&mut e, c, "RPOPLPUSH nokey l"), "$-1\r\n");
    assert_aof(&mut e, "LMOVE l l left right; RPOPLPUSH l l");
    // A one-element list rotated onto itself survives.
    run(&mut e, c, "RPUSH one x");
    assert_eq!(run(&mut e, c, "LMOVE one one LEFT LEFT"), Reply::bulk("x"));
    assert_eq!(run(&mut e, c, "LRANGE one 0 -1"), bulks(&["x"]));
    // Moving the last element deletes the source and creates the destination.
    assert_eq!(run(&mut e, c, "RPOPLPUSH one two"), Reply::bulk("x"));
    assert!(!e.srv.dbs[0].contains(b"one"));
    assert_eq!(run(&mut e, c, "LRANGE two 0 -1"), bulks(&["x"]));
    e.take_aof_buf();
    // An expired destination is deleted by the lookup: DEL and LMOVE wrapped together.
    run(&mut e, c, "RPUSH d b");
    e.srv.dbs[0].set_expire(b"d", T0 - 1);
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "LMOVE l d LEFT RIGHT"), Reply::bulk("a"));
    assert_aof(&mut e, "MULTI; DEL d; LMOVE l d LEFT RIGHT; EXEC");
}

#[test]
fn lmpop_parsing_and_rewrite() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b c");
    e.take_aof_buf();
    assert_resp(run(&mut e, c, "LMPOP 2 nokey l LEFT COUNT 2"), "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_resp(run(&mut e, c, "LMPOP 1 l right COUNT 10"), "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nc\r\n");
    assert_resp(run(&mut e, c, "LMPOP 1 l LEFT"), "*-1\r\n");
    assert_aof(&mut e, "LPOP l 2; RPOP l 1");
    for (line, err) in [
        ("LMPOP 0 l LEFT", "numkeys should be greater than 0"),
        ("LMPOP -1 l LEFT", "numkeys should be greater than 0"),
        ("LMPOP x l LEFT", "numkeys should be greater than 0"),
        ("LMPOP 2 l LEFT", "syntax error"),
        ("LMPOP 9223372036854775807 l LEFT", "syntax error"),
        ("LMPOP 1 l up", "syntax error"),
        ("LMPOP 1 l LEFT COUNT 0", "count should be greater than 0"),
        ("LMPOP 1 l LEFT COUNT x", "count should be greater than 0"),
        ("LMPOP 1 l LEFT COUNT 1 COUNT 1", "syntax error"),
        ("LMPOP 1 l LEFT COUNT", "syntax error"),
        ("BLMPOP x 1 l LEFT", "timeout is not a float or out of range"),
        ("BLMPOP -1 1 l LEFT", "timeout is negative"),
        ("BLMPOP -1 0 l LEFT", "numkeys should be greater than 0"),
        ("BLMPOP x 1 l up", "syntax error"),
    ] {
        assert_resp(run(&mut e, c, line), &format!("-ERR {err}\r\n"));
    }
    set_string(&mut e, "s");
    assert_resp(run(&mut e, c, "LMPOP 2 nokey s LEFT"), WRONGTYPE);
}

#[test]
fn blocking_commands_served_at_once_propagate_the_plain_form() {
    let (mut e, c) = setup();
    run(&mut e, c, "RPUSH l a b c d e f");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "BLPOP nokey l 0"), bulks(&["l", "a"]));
    assert_eq!(run(&mut e, c, "BRPOP l 1.5"), bulks(&["l", "f"]));
    assert_eq!(run(&mut e, c, "BLMOVE l l2 LeFt right 0"), Reply::bulk("b"));
    assert_eq!(run(&mut e, c, "BRPOPLPUSH l l2 0"), Reply::bulk("e"));
    assert_resp(run(&mut e, c, "BLMPOP 0 2 nokey l RIGHT COUNT 5"), "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    assert!(!e.srv.dbs[0].contains(b"l"));
    // BLMOVE keeps the client's side words; the count of BLMPOP is clamped.
    assert_aof(&mut e, "LPOP l; RPOP l; LMOVE l l2 LeFt right; RPOPLPUSH l l2; RPOP l 2");
    set_string(&mut e, "s");
    assert_resp(run(&mut e, c, "BLPOP nokey s 0"), WRONGTYPE);
    assert_resp(run(&mut e, c, "BLMOVE s l LEFT RIGHT 0"), WRONGTYPE);
    assert_resp(run(&mut e, c, "BLMOVE l2 s LEFT RIGHT 0"), WRONGTYPE);
    assert_resp(run(&mut e, c, "BLPOP l -1"), "-ERR timeout is negative\r\n");
    assert_resp(run(&mut e, c, "BLPOP l 1e300"), "-ERR timeout is negative\r\n");
    assert_resp(run(&mut e, c, "BLPOP l nan"), "-ERR timeout is not a float or out of range\r\n");
    assert_resp(run(&mut e, c, "BLMOVE l l2 up RIGHT x"), "-ERR syntax error\r\n");
    assert_resp(run(&mut e, c, "BRPOPLPUSH l l2 x"), "-ERR timeout is not a float or out of range\r\n");
    assert_aof(&mut e, "");
}

#[test]
fn blocking_commands_inside_exec_reply_at_once() {
    let (mut e, c) = setup();
    run(&mut e, c, "MULTI");
    for line in ["BLPOP nokey 0", "BRPOP nokey 0", "BLMOVE nokey l LEFT RIGHT 0", "BRPOPLPUSH nokey l 0", "BLMPOP 0 1 nokey LEFT"] {
        assert_resp(run(&mut e, c, line), "+QUEUED\r\n");
    }
    assert_resp(run(&mut e, c, "EXEC"), "*5\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n");
    assert_eq!(e.blocked_clients(), 0);
    assert_aof(&mut e, "");
}

#[test]
fn blpop_blocks_then_is_served_after_the_push() {
    let (mut e, a) = setup();
    let b = e.connect();
    assert_eq!(e.execute_line(a, "BLPOP bl 0", T0), None);
    assert_eq!(e.blocked_clients(), 1);
    let processed = e.srv.stats.total_commands_processed;
    assert_eq!(run(&mut e, b, "LPUSH bl x"), Reply::Int(1));
    assert_eq!(e.take_unblocked(), vec![(a, bulks(&["bl", "x"]))]);
    // BLPOP was counted when it blocked: only the LPUSH counts now.
    assert_eq!(e.srv.stats.total_commands_processed, processed + 1);
    assert_eq!(e.blocked_clients(), 0);
    assert!(!e.srv.dbs[0].contains(b"bl"));
    // The push first, then the pop, not wrapped in MULTI/EXEC.
    assert_aof(&mut e, "LPUSH bl x; LPOP bl");
}

#[test]
fn blocked_blmpop_pops_the_clamped_count() {
    let (mut e, a) = setup();
    let b = e.connect();
    assert_eq!(e.execute_line(a, "BLMPOP 0 2 x bml LEFT COUNT 2", T0), None);
    run(&mut e, b, "RPUSH bml x y z");
    let got = e.take_unblocked();
    assert_eq!(got.len(), 1);
    assert_resp(got[0].1.clone(), "*2\r\n$3\r\nbml\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
    assert_aof(&mut e, "RPUSH bml x y z; LPOP bml 2");
    assert_eq!(e.execute_line(a, "BLMPOP 0 1 bml2 RIGHT COUNT 5", T0), None);
    run(&mut e, b, "RPUSH bml2 x y");
    assert_resp(e.take_unblocked()[0].1.clone(), "*2\r\n$4\r\nbml2\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    assert_aof(&mut e, "RPUSH bml2 x y; RPOP bml2 2");
}

#[test]
fn blocked_blmove_propagates_redis_own_side_words() {
    let (mut e, a) = setup();
    let b = e.connect();
    assert_eq!(e.execute_line(a, "BLMOVE src dst LeFt rIGHT 0", T0), None);
    run(&mut e, b, "RPUSH src a b c");
    assert_eq!(e.take_unblocked(), vec![(a, Reply::bulk("a"))]);
    assert_aof(&mut e, "RPUSH src a b c; LMOVE src dst left right");
    // BRPOPLPUSH served later is propagated as RPOPLPUSH.
    assert_eq!(e.execute_line(a, "brpoplpush src2 dst 0", T0), None);
    run(&mut e, b, "RPUSH src2 a b c");
    assert_eq!(e.take_unblocked(), vec![(a, Reply::bulk("c"))]);
    assert_aof(&mut e, "RPUSH src2 a b c; RPOPLPUSH src2 dst");
    assert_eq!(run(&mut e, b, "LRANGE dst 0 -1"), bulks(&["c", "a"]));
}

#[test]
fn blocked_blmove_into_a_wrong_type_fails_without_popping() {
    let (mut e, a) = setup();
    let b = e.connect();
    set_string(&mut e, "dst");
    assert_eq!(e.execute_line(a, "BLMOVE src dst LEFT RIGHT 0", T0), None);
    run(&mut e, b, "RPUSH src a b c");
    let got = e.take_unblocked();
    assert_eq!(got.len(), 1);
    assert_resp(got[0].1.clone(), WRONGTYPE);
    assert_eq!(e.blocked_clients(), 0);
    assert_eq!(run(&mut e, b, "LLEN src"), Reply::Int(3));
    assert_aof(&mut e, "RPUSH src a b c");
}

#[test]
fn a_blmove_feeds_a_client_blocked_on_its_destination() {
    let (mut e, a) = setup();
    let b = e.connect();
    let p = e.connect();
    assert_eq!(e.execute_line(a, "BLMOVE src dst left right 0", T0), None);
    assert_eq!(e.execute_line(b, "BLPOP dst 0", T0), None);
    run(&mut e, p, "RPUSH src x");
    assert_eq!(e.take_unblocked(), vec![(a, Reply::bulk("x")), (b, bulks(&["dst", "x"]))]);
    assert_aof(&mut e, "RPUSH src x; LMOVE src dst left right; LPOP dst");
}

#[test]
fn clients_are_served_in_blocking_order_and_keep_their_place() {
    let (mut e, a) = setup();
    let b = e.connect();
    let p = e.connect();
    assert_eq!(e.execute_line(a, "BRPOP k 0", T0), None);
    assert_eq!(e.execute_line(b, "BLPOP k k 0", T0), None);
    run(&mut e, p, "RPUSH k 1");
    assert_eq!(e.take_unblocked(), vec![(a, bulks(&["k", "1"]))]);
    assert_eq!(e.blocked_clients(), 1);
    run(&mut e, p, "RPUSH k 2 3");
    assert_eq!(e.take_unblocked(), vec![(b, bulks(&["k", "2"]))]);
    assert_aof(&mut e, "RPUSH k 1; RPOP k; RPUSH k 2 3; LPOP k");
    assert_eq!(run(&mut e, p, "LRANGE k 0 -1"), bulks(&["3"]));
}

#[test]
fn the_ready_key_is_served_not_the_first_key_of_the_command() {
    let (mut e, a) = setup();
    let p = e.connect();
    assert_eq!(e.execute_line(a, "BLPOP a b 0", T0), None);
    run(&mut e, p, "MULTI");
    run(&mut e, p, "LPUSH b x");
    run(&mut e, p, "LPUSH a y");
    assert_resp(run(&mut e, p, "EXEC"), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(e.take_unblocked(), vec![(a, bulks(&["b", "x"]))]);
    assert_aof(&mut e, "MULTI; LPUSH b x; LPUSH a y; EXEC; LPOP b");
}

#[test]
fn a_key_emptied_in_the_same_transaction_leaves_the_client_blocked() {
    let (mut e, a) = setup();
    let p = e.connect();
    assert_eq!(e.execute_line(a, "BLPOP k 0", T0), None);
    run(&mut e, p, "MULTI");
    run(&mut e, p, "LPUSH k x");
    run(&mut e, p, "LPOP k");
    run(&mut e, p, "EXEC");
    assert_eq!(e.take_unblocked(), vec![]);
    assert_eq!(e.blocked_clients(), 1);
    run(&mut e, p, "LPUSH k y");
    assert_eq!(e.take_unblocked(), vec![(a, bulks(&["k", "y"]))]);
}

#[test]
fn timeouts_reply_a_null_array_after_the_deadline() {
    let (mut e, a) = setup();
    let b = e.connect();
    assert_eq!(e.execute_line(a, "BLPOP k 1.5", T0), None);
    assert_eq!(e.execute_line(b, "BLMOVE k2 dst LEFT RIGHT 0.01", T0), None);
    // 16.3 s is 16299.99… ms in x87 long double, rounded up (ceill) to 16300.
    let c = e.connect();
    assert_eq!(e.execute_line(c, "BRPOPLPUSH k3 dst 16.3", T0), None);
    // A deadline times out only once it is strictly before now (`timeout < now`): at the
    // deadline's own millisecond the client still waits.
    e.cron(T0 + 10);
    assert_eq!(e.take_unblocked(), vec![]);
    e.cron(T0 + 11);
    assert_eq!(e.take_unblocked(), vec![(b, Reply::NilArray)]);
    e.cron(T0 + 1500);
    assert_eq!(e.take_unblocked(), vec![]);
    e.cron(T0 + 1501);
    assert_eq!(e.take_unblocked(), vec![(a, Reply::NilArray)]);
    e.cron(T0 + 16_300);
    assert_eq!(e.take_unblocked(), vec![]);
    e.cron(T0 + 16_301);
    assert_eq!(e.take_unblocked(), vec![(c, Reply::NilArray)]);
    // A timeout below one millisecond is rounded up to 1 ms; 0, or a tiny negative one that
    // rounds up to 0, blocks forever.
    assert_eq!(e.execute_line(a, "BLPOP k 0.0001", T0), None);
    e.cron(T0 + 1);
    assert_eq!(e.take_unblocked(), vec![]);
    e.cron(T0 + 2);
    assert_eq!(e.take_unblocked(), vec![(a, Reply::NilArray)]);
    assert_eq!(e.execute_line(a, "BLPOP k 0", T0), None);
    assert_eq!(e.execute_line(b, "BLPOP k -0.0001", T0), None);
    e.cron(T0 + 1_000_000_000);
    assert_eq!(e.take_unblocked(), vec![]);
    assert_eq!(e.blocked_clients(), 2);
    assert_aof(&mut e, "");
}

#[test]
fn a_disconnected_client_no_longer_waits() {
    let (mut e, a) = setup();
    let b = e.connect();
    assert_eq!(e.execute_line(a, "BLPOP k 0", T0), None);
    e.disconnect(a);
    assert_eq!(run(&mut e, b, "RPUSH k x"), Reply::Int(1));
    assert_eq!(e.take_unblocked(), vec![]);
    assert_eq!(run(&mut e, b, "LLEN k"), Reply::Int(1));
    assert_aof(&mut e, "RPUSH k x");
}

#[test]
fn binary_elements_round_trip() {
    let (mut e, c) = setup();
    let r = e.execute(c, &[b"RPUSH", b"bin", b"a\r\nb", b"\x00\xff", b""], T0);
    assert_eq!(r, Some(Reply::Int(3)));
    let r = e.execute(c, &[b"LRANGE", b"bin", b"0", b"-1"], T0);
    assert_eq!(r, Some(Reply::Array(vec![Reply::bulk("a\r\nb"), Reply::bulk(&b"\x00\xff"[..]), Reply::bulk("")])));
    assert_eq!(e.execute(c, &[b"LPOS", b"bin", b""], T0), Some(Reply::Int(2)));
}

#[test]
fn odd_arguments_never_panic() {
    let names = [
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LPOP",
        "RPOP",
        "LLEN",
        "LRANGE",
        "LINDEX",
        "LSET",
        "LREM",
        "LTRIM",
        "LINSERT",
        "LPOS",
        "LMOVE",
        "RPOPLPUSH",
        "LMPOP",
        "BLPOP",
        "BRPOP",
        "BLMOVE",
        "BRPOPLPUSH",
        "BLMPOP",
    ];
    let words: &[&[u8]] = &[
        b"l",
        b"l2",
        b"s",
        b"nokey",
        b"",
        b"0",
        b"1",
        b"2",
        b"-1",
        b"-2",
        b"3",
        b"0.01",
        b"-0.0001",
        b"1e400",
        b"nan",
        b"inf",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"9223372036854775808",
        b"LEFT",
        b"right",
        b"BEFORE",
        b"after",
        b"RANK",
        b"COUNT",
        b"MAXLEN",
        b"a",
        b"b",
        b"\x00",
        b"0x1p-16446",
        b"1\x00x",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, T0);
    let mut c = e.connect();
    let p = e.connect();
    set_string(&mut e, "s");
    for i in 0..20_000 {
        if i % 50 == 0 {
            run(&mut e, p, "RPUSH l a b a c 1 2");
            run(&mut e, p, "RPUSH l2 b");
        }
        let mut argv: Vec<&[u8]> = vec![names[rng.usize(..names.len())].as_bytes()];
        for _ in 0..rng.usize(0..8) {
            argv.push(words[rng.usize(..words.len())]);
        }
        if e.execute(c, &argv, T0).is_none() {
            // Blocked: leave that client waiting and go on with a new one.
            c = e.connect();
        }
        e.cron(T0 + i64::from(i % 3));
    }
    e.take_unblocked();
    e.take_aof_buf();
}
