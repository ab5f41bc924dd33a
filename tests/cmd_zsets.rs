//! Sorted set commands: replies and the exact bytes each one appends to the AOF, as observed on a
//! real redis-server 7.0.15 (see also the differential script `tests/scripts/zsets.redis`).

use aof_lab::keyspace::Value;
use aof_lab::resp::encode_command;
use aof_lab::server::ClientId;
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

struct T {
    e: Engine,
    c: ClientId,
}

impl T {
    fn new() -> T {
        let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, NOW);
        let c = e.connect();
        T { e, c }
    }
    /// Runs a line and returns its reply's RESP, readable (`\r\n` kept).
    fn run(&mut self, line: &str) -> String {
        let c = self.c;
        self.run_as(c, line)
    }
    fn run_as(&mut self, c: ClientId, line: &str) -> String {
        match self.e.execute_line(c, line, NOW) {
            Some(r) => String::from_utf8_lossy(&r.to_resp()).into_owned(),
            None => "(blocked)".to_string(),
        }
    }
    /// Runs lines, ignoring replies (setup).
    fn setup(&mut self, lines: &[&str]) {
        for l in lines {
            let r = self.run(l);
            assert!(!r.starts_with('-'), "{l}: {r}");
        }
    }
    /// The AOF bytes since the last call.
    fn aof(&mut self) -> Vec<u8> {
        self.e.take_aof_buf()
    }
    /// Puts a non-zset value under `key` (the string and set commands live in other files).
    fn put_string(&mut self, key: &str) {
        self.e.srv.dbs[0].insert(key.as_bytes().to_vec(), Value::String(b"v".to_vec().into()));
    }
    fn put_set(&mut self, key: &str, members: &[&str]) {
        let mut s = aof_lab::keyspace::SetValue::default();
        for m in members {
            s.insert(m.as_bytes().to_vec());
        }
        self.e.srv.dbs[0].insert(key.as_bytes().to_vec(), Value::Set(s));
    }
    fn zset(&self, key: &str) -> Option<&aof_lab::keyspace::ZSet> {
        match self.e.srv.dbs[0].get(key.as_bytes()) {
            Some(Value::ZSet(z)) => Some(z),
            _ => None,
        }
    }
}

/// RESP of commands, like the AOF holds them.
fn cmds(list: &[&[&str]]) -> Vec<u8> {
    let mut out = Vec::new();
    for argv in list {
        encode_command(&mut out, argv);
    }
    out
}

fn select0() -> &'static [&'static str] {
    &["SELECT", "0"]
}

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

fn err(msg: &str) -> String {
    format!("-{msg}\r\n")
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn zadd_options_and_replies() {
    let mut t = T::new();
    assert_eq!(t.run("ZADD z 1 a 2 b 3 c"), ":3\r\n");
    assert_eq!(t.run("ZADD z 1 a"), ":0\r\n");
    assert_eq!(t.run("ZADD z CH 10 a 2 b 4 d"), ":2\r\n");
    assert_eq!(t.run("ZADD z NX 100 a 5 e"), ":1\r\n");
    assert_eq!(t.run("ZADD z XX CH 20 a 6 f"), ":1\r\n");
    assert_eq!(t.run("ZADD z GT CH 5 a 40 b"), ":1\r\n");
    assert_eq!(t.run("ZADD z LT CH 1 a 50 c"), ":1\r\n");
    assert_eq!(t.run("ZADD z INCR 2.5 a"), "$3\r\n3.5\r\n");
    assert_eq!(t.run("ZADD z INCR NX 1 a"), "$-1\r\n");
    assert_eq!(t.run("ZADD z INCR XX 1 nosuch"), "$-1\r\n");
    assert_eq!(t.run("ZADD z GT INCR -1 a"), "$-1\r\n");
    assert_eq!(t.run("ZADD z LT INCR -1 a"), "$3\r\n2.5\r\n");
    assert_eq!(t.run("ZRANGE z 0 -1 WITHSCORES"), bulks(&["a", "2.5", "c", "3", "d", "4", "e", "5", "b", "40"]));
    assert_eq!(t.run("ZADD nokey XX 1 a"), ":0\r\n");
    assert_eq!(t.run("ZADD nokey XX INCR 1 a"), "$-1\r\n");
    assert!(t.zset("nokey").is_none());
}

#[test]
fn zadd_errors_in_redis_order() {
    let mut t = T::new();
    t.put_string("str");
    assert_eq!(t.run("ZADD z NX XX 1 a"), err("ERR XX and NX options at the same time are not compatible"));
    assert_eq!(t.run("ZADD z GT LT 1 a"), err("ERR GT, LT, and/or NX options at the same time are not compatible"));
    assert_eq!(t.run("ZADD z GT NX 1 a"), err("ERR GT, LT, and/or NX options at the same time are not compatible"));
    assert_eq!(t.run("ZADD z INCR 1 a 2 b"), err("ERR INCR option supports a single increment-element pair"));
    // The pair count is checked first, the scores next, the key's type last.
    assert_eq!(t.run("ZADD z NX XX 1"), err("ERR syntax error"));
    assert_eq!(t.run("ZADD z NX INCR"), err("ERR syntax error"));
    assert_eq!(t.run("ZADD str 1 a x b"), err("ERR value is not a valid float"));
    assert_eq!(t.run("ZADD str 1 a"), err(WRONGTYPE));
    assert_eq!(t.run("ZADD z nan a"), err("ERR value is not a valid float"));
    assert_eq!(t.run("ZADD z 1e400 a"), err("ERR value is not a valid float"));
    assert_eq!(t.run("ZADD z 1e-400 a"), err("ERR value is not a valid float"));
    assert_eq!(t.run("ZADD z"), err("ERR wrong number of arguments for 'zadd' command"));
    assert_eq!(t.run("ZADD z inf a"), ":1\r\n");
    assert_eq!(t.run("ZADD z INCR -inf a"), err("ERR resulting score is not a number (NaN)"));
    assert_eq!(t.run("ZINCRBY z -inf a"), err("ERR resulting score is not a number (NaN)"));
    assert_eq!(t.run("ZSCORE z a"), "$3\r\ninf\r\n");
    assert_eq!(t.run("ZINCRBY z x a"), err("ERR value is not a valid float"));
    // ZINCRBY goes through ZADD's option loop: an option word leaves an odd argument count.
    assert_eq!(t.run("ZINCRBY z nx a"), err("ERR syntax error"));
    assert_eq!(t.run("ZINCRBY z 1"), err("ERR wrong number of arguments for 'zincrby' command"));
}

#[test]
fn zadd_propagates_verbatim_only_when_something_changed() {
    let mut t = T::new();
    t.run("ZADD z 1 a 0.1 b");
    assert_eq!(t.aof(), cmds(&[select0(), &["ZADD", "z", "1", "a", "0.1", "b"]]));
    t.run("ZADD z 1 a");
    t.run("ZADD z NX 5 a");
    t.run("ZADD z XX 1 new");
    t.run("ZADD z GT 0 a");
    t.run("ZADD z INCR 0 a");
    t.run("ZADD z nan a");
    assert_eq!(t.aof(), b"");
    t.run("ZADD z CH INCR 1.5 a");
    t.run("ZINCRBY z 1.5 b");
    assert_eq!(t.aof(), cmds(&[&["ZADD", "z", "CH", "INCR", "1.5", "a"], &["ZINCRBY", "z", "1.5", "b"]]));
    assert_eq!(t.run("ZSCORE z b"), "$18\r\n1.6000000000000001\r\n");
}

#[test]
fn negative_zero_depends_on_the_encoding() {
    let mut t = T::new();
    // A listpack stores an integral score as an integer: -0 becomes 0.
    assert_eq!(t.run("ZADD lp -0 m"), ":1\r\n");
    assert_eq!(t.run("ZSCORE lp m"), "$1\r\n0\r\n");
    // ZINCRBY replies with the score it computed, before the listpack normalised it.
    assert_eq!(t.run("ZINCRBY fresh -0 m"), "$2\r\n-0\r\n");
    assert_eq!(t.run("ZSCORE fresh m"), "$1\r\n0\r\n");
    // A member longer than 64 bytes makes a skiplist, which keeps -0.
    let long = "x".repeat(65);
    t.run(&format!("ZADD sk 1 {long}"));
    assert!(t.zset("sk").is_some_and(|z| z.is_skiplist()));
    t.run("ZADD sk -0 m");
    assert_eq!(t.run("ZSCORE sk m"), "$2\r\n-0\r\n");
    // 0 and -0 are the same score: no update, nothing propagated.
    t.aof();
    assert_eq!(t.run("ZADD sk CH 0 m"), ":0\r\n");
    assert_eq!(t.run("ZSCORE sk m"), "$2\r\n-0\r\n");
    assert_eq!(t.aof(), b"");
    // A skiplist stays one after shrinking.
    t.run(&format!("ZREM sk {long}"));
    assert!(t.zset("sk").is_some_and(|z| z.is_skiplist()));
    // The *STORE commands rebuild small results as listpacks.
    t.run("ZUNIONSTORE copy 1 sk");
    assert_eq!(t.run("ZSCORE copy m"), "$1\r\n0\r\n");
    assert!(t.zset("copy").is_some_and(|z| !z.is_skiplist()));
    t.run("ZRANGESTORE copy2 sk 0 -1");
    assert_eq!(t.run("ZSCORE copy2 m"), "$1\r\n0\r\n");
    assert_eq!(t.run("ZUNION 1 sk WITHSCORES"), bulks(&["m", "-0"]));
}

#[test]
fn encoding_converts_at_129_members() {
    let mut t = T::new();
    let pairs: Vec<String> = (0..128).map(|i| format!("{i} m{i}")).collect();
    t.run(&format!("ZADD z {}", pairs.join(" ")));
    assert!(t.zset("z").is_some_and(|z| !z.is_skiplist()));
    t.run("ZADD z 0 m0");
    assert!(t.zset("z").is_some_and(|z| !z.is_skiplist()), "an update does not convert");
    t.run("ZADD z 500 extra");
    assert!(t.zset("z").is_some_and(|z| z.is_skiplist()));
    assert_eq!(t.run("ZCARD z"), ":129\r\n");
    assert_eq!(t.run("ZRANK z extra"), ":128\r\n");
    assert_eq!(t.run("ZREVRANK z m0"), ":128\r\n");
    assert_eq!(t.run("ZRANGE z 126 -1"), bulks(&["m126", "m127", "extra"]));
    assert_eq!(t.run("ZRANGE z (125 +inf BYSCORE LIMIT 1 5"), bulks(&["m127", "extra"]));
    assert_eq!(t.run("ZCOUNT z 10 (20"), ":10\r\n");
}

#[test]
fn reads_and_wrong_types() {
    let mut t = T::new();
    t.setup(&["ZADD z 1 a 2 b 3 c"]);
    t.put_string("str");
    assert_eq!(t.run("ZSCORE z b"), "$1\r\n2\r\n");
    assert_eq!(t.run("ZSCORE z nosuch"), "$-1\r\n");
    assert_eq!(t.run("ZSCORE nokey a"), "$-1\r\n");
    assert_eq!(t.run("ZMSCORE z a nosuch c"), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n");
    assert_eq!(t.run("ZMSCORE nokey a b"), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(t.run("ZCARD z"), ":3\r\n");
    assert_eq!(t.run("ZCARD nokey"), ":0\r\n");
    assert_eq!(t.run("ZRANK z c"), ":2\r\n");
    assert_eq!(t.run("ZREVRANK z c"), ":0\r\n");
    assert_eq!(t.run("ZRANK z nosuch"), "$-1\r\n");
    assert_eq!(t.run("ZREVRANK nokey a"), "$-1\r\n");
    for line in [
        "ZSCORE str a",
        "ZMSCORE str a",
        "ZCARD str",
        "ZRANK str a",
        "ZREM str a",
        "ZRANGE str 0 -1",
        "ZCOUNT str 0 1",
        "ZLEXCOUNT str - +",
        "ZPOPMIN str",
        "ZMPOP 1 str MIN",
        "BZPOPMIN str 0",
        "ZRANDMEMBER str",
        "ZSCAN str 0",
        "ZREMRANGEBYSCORE str 0 1",
        "ZUNION 2 z str",
        "ZRANGESTORE d str 0 -1",
    ] {
        assert_eq!(t.run(line), err(WRONGTYPE), "{line}");
    }
}

#[test]
fn zrem_deletes_the_emptied_key() {
    let mut t = T::new();
    t.setup(&["ZADD r 1 a 2 b 3 c"]);
    t.aof();
    assert_eq!(t.run("ZREM r a nosuch"), ":1\r\n");
    assert_eq!(t.run("ZREM r nosuch"), ":0\r\n");
    assert_eq!(t.run("ZREM nokey a"), ":0\r\n");
    assert_eq!(t.run("ZREM r b c a"), ":2\r\n");
    assert!(t.e.srv.dbs[0].get(b"r").is_none());
    assert_eq!(t.aof(), cmds(&[&["ZREM", "r", "a", "nosuch"], &["ZREM", "r", "b", "c", "a"]]));
}

#[test]
fn zrange_variants() {
    let mut t = T::new();
    t.setup(&["ZADD s 1 a 2 b 3 c 4 d 5 e 6 f"]);
    assert_eq!(t.run("ZRANGE s -2 -1 WITHSCORES"), bulks(&["e", "5", "f", "6"]));
    assert_eq!(t.run("ZRANGE s 4 2"), "*0\r\n");
    assert_eq!(t.run("ZRANGE s 0 1 REV WITHSCORES"), bulks(&["f", "6", "e", "5"]));
    assert_eq!(t.run("ZRANGE s (2 (5 BYSCORE WITHSCORES"), bulks(&["c", "3", "d", "4"]));
    assert_eq!(t.run("ZRANGE s +inf -inf BYSCORE REV LIMIT 1 2"), bulks(&["e", "d"]));
    assert_eq!(t.run("ZRANGE s 2 5 BYSCORE REV"), "*0\r\n");
    assert_eq!(t.run("ZRANGE s -inf +inf BYSCORE LIMIT -1 2"), "*0\r\n");
    assert_eq!(t.run("ZRANGE s -inf +inf BYSCORE LIMIT 4 -1"), bulks(&["e", "f"]));
    assert_eq!(t.run("ZRANGE s \"\" ( BYSCORE"), "*0\r\n");
    assert_eq!(t.run("ZRANGE s \" 2\" 3 BYSCORE"), bulks(&["b", "c"]));
    assert_eq!(t.run("ZRANGE s 1e400 -1e400 BYSCORE REV"), bulks(&["f", "e", "d", "c", "b", "a"]));
    assert_eq!(t.run("ZRANGEBYSCORE s (2 4 WITHSCORES"), bulks(&["c", "3", "d", "4"]));
    assert_eq!(t.run("ZREVRANGEBYSCORE s 4 2"), bulks(&["d", "c", "b"]));
    assert_eq!(t.run("ZREVRANGE s 0 1"), bulks(&["f", "e"]));
    assert_eq!(
        t.run("ZRANGE s 0 -1 LIMIT 0 1"),
        err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    );
    assert_eq!(t.run("ZRANGE s - + BYLEX WITHSCORES"), err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    assert_eq!(t.run("ZRANGEBYSCORE s 0 1 REV"), err("ERR syntax error"));
    assert_eq!(t.run("ZREVRANGE s 0 1 REV"), err("ERR syntax error"));
    assert_eq!(t.run("ZRANGE s 0 -1 REV REV"), err("ERR syntax error"));
    assert_eq!(t.run("ZRANGE s 0 -1 BYSCORE BYLEX"), err("ERR syntax error"));
    assert_eq!(t.run("ZRANGE s x 1"), err("ERR value is not an integer or out of range"));
    assert_eq!(t.run("ZRANGE s 1 nan BYSCORE"), err("ERR min or max is not a float"));
    assert_eq!(t.run("ZRANGE s 2 \"4 \" BYSCORE"), err("ERR min or max is not a float"));
    assert_eq!(t.run("ZRANGE s a + BYLEX"), err("ERR min or max not valid string range item"));
    assert_eq!(t.run("ZRANGEBYSCORE s 0 1 LIMIT x 1"), err("ERR value is not an integer or out of range"));
    assert_eq!(t.run("ZRANGE nokey x y"), err("ERR value is not an integer or out of range"));
    assert_eq!(t.run("ZRANGE nokey 0 -1"), "*0\r\n");
    assert_eq!(t.aof(), cmds(&[select0(), &["ZADD", "s", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"]]));
}

#[test]
fn lex_ranges() {
    let mut t = T::new();
    t.setup(&["ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g", "ZADD mixed 1 c 2 a 3 b"]);
    assert_eq!(t.run("ZRANGEBYLEX lex [b (e"), bulks(&["b", "c", "d"]));
    assert_eq!(t.run("ZRANGEBYLEX lex (f +"), bulks(&["g"]));
    assert_eq!(t.run("ZRANGEBYLEX lex + -"), "*0\r\n");
    assert_eq!(t.run("ZRANGEBYLEX lex (c [c"), "*0\r\n");
    assert_eq!(t.run("ZRANGEBYLEX lex - + LIMIT 2 3"), bulks(&["c", "d", "e"]));
    assert_eq!(t.run("ZREVRANGEBYLEX lex [e (b"), bulks(&["e", "d", "c"]));
    assert_eq!(t.run("ZRANGE lex [d [b BYLEX REV LIMIT 0 2"), bulks(&["d", "c"]));
    assert_eq!(t.run("ZLEXCOUNT lex [b (e"), ":3\r\n");
    assert_eq!(t.run("ZLEXCOUNT lex b e"), err("ERR min or max not valid string range item"));
    // Mixed scores: the members are walked in score order, as Redis does.
    assert_eq!(t.run("ZRANGEBYLEX mixed [b +"), bulks(&["c", "a", "b"]));
    assert_eq!(t.run("ZRANGEBYLEX mixed - [b"), "*0\r\n");
    assert_eq!(t.run("ZLEXCOUNT mixed [a [c"), ":3\r\n");
}

#[test]
fn zcount_and_zremrange() {
    let mut t = T::new();
    t.setup(&["ZADD s 1 a 2 b 3 c 4 d 5 e", "ZADD l 0 a 0 b 0 c 0 d"]);
    assert_eq!(t.run("ZCOUNT s (1 3"), ":2\r\n");
    assert_eq!(t.run("ZCOUNT s 5 1"), ":0\r\n");
    assert_eq!(t.run("ZCOUNT s a 1"), err("ERR min or max is not a float"));
    t.aof();
    assert_eq!(t.run("ZREMRANGEBYRANK s 0 0"), ":1\r\n");
    assert_eq!(t.run("ZREMRANGEBYRANK s 10 20"), ":0\r\n");
    assert_eq!(t.run("ZREMRANGEBYSCORE s (2 3"), ":1\r\n");
    assert_eq!(t.run("ZREMRANGEBYSCORE s 10 20"), ":0\r\n");
    assert_eq!(t.run("ZREMRANGEBYLEX l [b (d"), ":2\r\n");
    assert_eq!(t.run("ZREMRANGEBYLEX l x +"), err("ERR min or max not valid string range item"));
    assert_eq!(t.run("ZREMRANGEBYRANK s x 1"), err("ERR value is not an integer or out of range"));
    assert_eq!(t.run("ZREMRANGEBYSCORE s -inf +inf"), ":3\r\n");
    assert!(t.zset("s").is_none());
    assert_eq!(
        t.aof(),
        cmds(&[
            &["ZREMRANGEBYRANK", "s", "0", "0"],
            &["ZREMRANGEBYSCORE", "s", "(2", "3"],
            &["ZREMRANGEBYLEX", "l", "[b", "(d"],
            &["ZREMRANGEBYSCORE", "s", "-inf", "+inf"],
        ])
    );
}

#[test]
fn zrangestore_and_empty_results() {
    let mut t = T::new();
    t.setup(&["ZADD s 1 a 2 b 3 c 4 d"]);
    t.put_string("str");
    t.aof();
    assert_eq!(t.run("ZRANGESTORE dst s 1 2"), ":2\r\n");
    assert_eq!(t.run("ZRANGE dst 0 -1 WITHSCORES"), bulks(&["b", "2", "c", "3"]));
    // An empty result deletes the destination; logged only when there was something to delete.
    assert_eq!(t.run("ZRANGESTORE dst s 10 20"), ":0\r\n");
    assert_eq!(t.run("ZRANGESTORE dst s 10 20"), ":0\r\n");
    assert_eq!(t.run("ZRANGESTORE dst s 0 -1 WITHSCORES"), err("ERR syntax error"));
    // A destination of another type is replaced.
    assert_eq!(t.run("ZRANGESTORE str s 0 0"), ":1\r\n");
    assert!(t.zset("str").is_some());
    assert_eq!(
        t.aof(),
        cmds(&[&["ZRANGESTORE", "dst", "s", "1", "2"], &["ZRANGESTORE", "dst", "s", "10", "20"], &["ZRANGESTORE", "str", "s", "0", "0"]])
    );
}

#[test]
fn store_clears_the_destination_ttl() {
    let mut t = T::new();
    t.setup(&["ZADD s 1 a", "ZADD dst 5 x"]);
    t.e.srv.dbs[0].set_expire(b"dst", NOW + 100_000);
    t.run("ZUNIONSTORE dst 1 s");
    assert_eq!(t.e.srv.dbs[0].expire_of(b"dst"), None);
}

#[test]
fn pops_and_their_propagation() {
    let mut t = T::new();
    t.setup(&["ZADD p 1 a 2 b 3 c 4 d 5 e"]);
    t.aof();
    assert_eq!(t.run("ZPOPMIN p"), bulks(&["a", "1"]));
    assert_eq!(t.run("ZPOPMAX p 2"), bulks(&["e", "5", "d", "4"]));
    assert_eq!(t.run("ZPOPMAX p 0"), "*0\r\n");
    assert_eq!(t.run("ZPOPMIN p -1"), err("ERR value is out of range, must be positive"));
    assert_eq!(t.run("ZPOPMIN p x"), err("ERR value is out of range, must be positive"));
    assert_eq!(t.run("ZPOPMIN p 1 2"), err("ERR syntax error"));
    assert_eq!(t.run("ZPOPMIN nokey"), "*0\r\n");
    assert_eq!(t.run("ZPOPMIN p 10"), bulks(&["b", "2", "c", "3"]));
    assert!(t.zset("p").is_none());
    assert_eq!(t.aof(), cmds(&[&["ZPOPMIN", "p"], &["ZPOPMAX", "p", "2"], &["ZPOPMIN", "p", "10"]]));
}

#[test]
fn zmpop_propagates_a_zpop_with_the_popped_count() {
    let mut t = T::new();
    t.setup(&["ZADD p 1 a 2 b 3 c"]);
    t.aof();
    assert_eq!(t.run("ZMPOP 2 nokey p MAX COUNT 2"), "*2\r\n$1\r\np\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(t.run("ZMPOP 1 p MIN COUNT 10"), "*2\r\n$1\r\np\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(t.run("ZMPOP 1 p MIN"), "*-1\r\n");
    assert_eq!(t.aof(), cmds(&[&["ZPOPMAX", "p", "2"], &["ZPOPMIN", "p", "1"]]));
    assert_eq!(t.run("ZMPOP 0 p MIN"), err("ERR numkeys should be greater than 0"));
    assert_eq!(t.run("ZMPOP x p MIN"), err("ERR numkeys should be greater than 0"));
    assert_eq!(t.run("ZMPOP 2 p MIN"), err("ERR syntax error"));
    assert_eq!(t.run("ZMPOP 99999999999999999 p MIN"), err("ERR syntax error"));
    assert_eq!(t.run("ZMPOP 1 p FOO"), err("ERR syntax error"));
    assert_eq!(t.run("ZMPOP 1 p MIN COUNT 0"), err("ERR count should be greater than 0"));
    assert_eq!(t.run("ZMPOP 1 p MIN COUNT 1 COUNT 1"), err("ERR syntax error"));
}

#[test]
fn blocking_pop_served_at_once() {
    let mut t = T::new();
    t.setup(&["ZADD bp 1 a 2 b 3 c"]);
    t.aof();
    assert_eq!(t.run("BZPOPMIN nokey bp 0"), bulks(&["bp", "a", "1"]));
    assert_eq!(t.run("BZPOPMAX bp 0"), bulks(&["bp", "c", "3"]));
    assert_eq!(t.run("BZMPOP 0 1 bp MAX COUNT 5"), "*2\r\n$2\r\nbp\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(t.aof(), cmds(&[&["ZPOPMIN", "bp"], &["ZPOPMAX", "bp"], &["ZPOPMAX", "bp", "1"]]));
    assert_eq!(t.run("BZPOPMIN bp x"), err("ERR timeout is not a float or out of range"));
    assert_eq!(t.run("BZPOPMIN bp -1"), err("ERR timeout is negative"));
    assert_eq!(t.run("BZPOPMIN bp inf"), err("ERR timeout is negative"));
    assert_eq!(t.run("BZMPOP x 1 bp MIN"), err("ERR timeout is not a float or out of range"));
    assert_eq!(t.run("BZMPOP x 0 bp MIN"), err("ERR numkeys should be greater than 0"));
}

#[test]
fn blocking_pop_inside_exec_times_out_at_once() {
    let mut t = T::new();
    t.setup(&["MULTI", "BZPOPMIN empty 0", "BZMPOP 0 1 empty MIN", "ZADD bp 1 x 2 y", "BZPOPMAX bp 0"]);
    assert_eq!(t.run("EXEC"), "*4\r\n*-1\r\n*-1\r\n:2\r\n*3\r\n$2\r\nbp\r\n$1\r\ny\r\n$1\r\n2\r\n");
    assert_eq!(t.aof(), cmds(&[select0(), &["MULTI"], &["ZADD", "bp", "1", "x", "2", "y"], &["ZPOPMAX", "bp"], &["EXEC"]]));
}

#[test]
fn blocked_client_is_served_by_a_later_zadd() {
    let mut t = T::new();
    let waiter = t.e.connect();
    assert_eq!(t.run_as(waiter, "BZPOPMIN bz 0"), "(blocked)");
    assert_eq!(t.e.blocked_clients(), 1);
    assert_eq!(t.run("ZADD bz 1 a 2 b"), ":2\r\n");
    let served: Vec<_> = t.e.take_unblocked().into_iter().map(|(c, r)| (c, r.downgraded())).collect();
    assert_eq!(served, vec![(waiter, Reply::Array(vec![Reply::bulk("bz"), Reply::bulk("a"), Reply::bulk("1")]))]);
    // The pusher first, then the served pop, not wrapped in MULTI.
    assert_eq!(t.aof(), cmds(&[select0(), &["ZADD", "bz", "1", "a", "2", "b"], &["ZPOPMIN", "bz"]]));
}

#[test]
fn blocked_bzmpop_is_served_with_a_clamped_count() {
    let mut t = T::new();
    let waiter = t.e.connect();
    assert_eq!(t.run_as(waiter, "BZMPOP 0 2 k1 k2 MAX COUNT 5"), "(blocked)");
    t.run("ZADD k2 1 a 2 b");
    let served: Vec<_> = t.e.take_unblocked().into_iter().map(|(c, r)| (c, r.downgraded())).collect();
    let pair = |m: &str, s: &str| Reply::Array(vec![Reply::bulk(m), Reply::bulk(s)]);
    assert_eq!(served, vec![(waiter, Reply::Array(vec![Reply::bulk("k2"), Reply::Array(vec![pair("b", "2"), pair("a", "1")])]))]);
    assert!(t.zset("k2").is_none());
    assert_eq!(t.aof(), cmds(&[select0(), &["ZADD", "k2", "1", "a", "2", "b"], &["ZPOPMAX", "k2", "2"]]));
}

#[test]
fn blocked_client_times_out_with_a_null_array() {
    let mut t = T::new();
    let waiter = t.e.connect();
    assert_eq!(t.run_as(waiter, "BZPOPMAX bz 1.5"), "(blocked)");
    t.e.cron(NOW + 1_000);
    assert!(t.e.take_unblocked().is_empty());
    // Redis's `timeout < now`: still waiting at the deadline's own millisecond.
    t.e.cron(NOW + 1_500);
    assert!(t.e.take_unblocked().is_empty());
    t.e.cron(NOW + 1_501);
    assert_eq!(t.e.take_unblocked(), vec![(waiter, Reply::NilArray)]);
    assert_eq!(t.aof(), b"");
}

#[test]
fn a_store_wakes_a_blocked_client() {
    let mut t = T::new();
    t.setup(&["ZADD src 1 a 2 b"]);
    t.aof();
    let waiter = t.e.connect();
    assert_eq!(t.run_as(waiter, "BZPOPMAX dst 0"), "(blocked)");
    assert_eq!(t.run("ZUNIONSTORE dst 1 src"), ":2\r\n");
    assert_eq!(t.e.take_unblocked(), vec![(waiter, Reply::Array(vec![Reply::bulk("dst"), Reply::bulk("b"), Reply::double(2.0)]))]);
    assert_eq!(t.aof(), cmds(&[&["ZUNIONSTORE", "dst", "1", "src"], &["ZPOPMAX", "dst"]]));
}

#[test]
fn set_operations() {
    let mut t = T::new();
    t.setup(&["ZADD za 1 a 2 b 3 c", "ZADD zb 10 b 20 c 30 d"]);
    t.put_set("sa", &["b", "d", "q"]);
    t.put_string("str");
    assert_eq!(t.run("ZUNION 2 za zb WITHSCORES"), bulks(&["a", "1", "b", "12", "c", "23", "d", "30"]));
    assert_eq!(
        t.run("ZUNION 3 za zb sa WEIGHTS 1 2 3 AGGREGATE MAX WITHSCORES"),
        bulks(&["a", "1", "q", "3", "b", "20", "c", "40", "d", "60"])
    );
    assert_eq!(t.run("ZINTER 2 za zb WITHSCORES AGGREGATE MIN"), bulks(&["b", "2", "c", "3"]));
    assert_eq!(t.run("ZINTER 2 za sa WITHSCORES"), bulks(&["b", "3"]));
    assert_eq!(t.run("ZDIFF 2 zb sa WITHSCORES"), bulks(&["c", "20"]));
    assert_eq!(t.run("ZINTERCARD 2 za zb"), ":2\r\n");
    assert_eq!(t.run("ZINTERCARD 2 za zb LIMIT 1"), ":1\r\n");
    assert_eq!(t.run("ZINTERCARD 2 za zb LIMIT -1"), err("ERR LIMIT can't be negative"));
    assert_eq!(t.run("ZINTERCARD 0 za"), err("ERR at least 1 input key is needed for 'zintercard' command"));
    assert_eq!(t.run("ZUNIONSTORE u 0 za"), err("ERR at least 1 input key is needed for 'zunionstore' command"));
    assert_eq!(t.run("ZUNION 3 za zb"), err("ERR syntax error"));
    assert_eq!(t.run("ZUNION 2 za zb WEIGHTS 1"), err("ERR syntax error"));
    assert_eq!(t.run("ZUNION 2 za zb WEIGHTS 1 x"), err("ERR weight value is not a float"));
    assert_eq!(t.run("ZUNION 2 za zb AGGREGATE FOO"), err("ERR syntax error"));
    assert_eq!(t.run("ZUNIONSTORE u 2 za zb WITHSCORES"), err("ERR syntax error"));
    assert_eq!(t.run("ZDIFF 2 za zb WEIGHTS 1 1"), err("ERR syntax error"));
    // The inputs' types are checked before the options.
    assert_eq!(t.run("ZUNION 2 za str WEIGHTS x"), err(WRONGTYPE));
    // NaN (inf - inf, 0 * inf) becomes 0.
    t.setup(&["ZADD zinf inf m"]);
    assert_eq!(t.run("ZUNION 2 zinf zinf WEIGHTS 1 -1 WITHSCORES"), bulks(&["m", "0"]));
    assert_eq!(t.run("ZUNION 1 zinf WEIGHTS 0 WITHSCORES"), bulks(&["m", "0"]));
    t.aof();
    assert_eq!(t.run("ZINTERSTORE i 2 za zb"), ":2\r\n");
    assert_eq!(t.run("ZRANGE i 0 -1 WITHSCORES"), bulks(&["b", "12", "c", "23"]));
    assert_eq!(t.run("ZINTERSTORE i 2 za nokey"), ":0\r\n");
    assert_eq!(t.run("ZINTERSTORE i 2 za nokey"), ":0\r\n");
    assert_eq!(t.run("ZDIFFSTORE d 2 za zb"), ":1\r\n");
    assert_eq!(t.run("ZUNIONSTORE str 1 za"), ":3\r\n");
    assert_eq!(
        t.aof(),
        cmds(&[
            &["ZINTERSTORE", "i", "2", "za", "zb"],
            &["ZINTERSTORE", "i", "2", "za", "nokey"],
            &["ZDIFFSTORE", "d", "2", "za", "zb"],
            &["ZUNIONSTORE", "str", "1", "za"],
        ])
    );
}

#[test]
fn zrandmember() {
    let mut t = T::new();
    t.setup(&["ZADD rm 1 a 2 b 3 c"]);
    // A count covering the whole set gives it from the highest member down.
    assert_eq!(t.run("ZRANDMEMBER rm 3"), bulks(&["c", "b", "a"]));
    assert_eq!(t.run("ZRANDMEMBER rm 10 WITHSCORES"), bulks(&["c", "3", "b", "2", "a", "1"]));
    assert_eq!(t.run("ZRANDMEMBER rm 0"), "*0\r\n");
    assert_eq!(t.run("ZRANDMEMBER nokey"), "$-1\r\n");
    assert_eq!(t.run("ZRANDMEMBER nokey 3"), "*0\r\n");
    assert_eq!(t.run("ZRANDMEMBER rm x"), err("ERR value is not an integer or out of range"));
    assert_eq!(t.run("ZRANDMEMBER rm 1 FOO"), err("ERR syntax error"));
    assert_eq!(t.run("ZRANDMEMBER rm 9223372036854775807 WITHSCORES"), err("ERR value is out of range"));
    for _ in 0..20 {
        let one = t.run("ZRANDMEMBER rm");
        assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()), "{one}");
        let Some(Reply::Array(two)) = t.e.execute_line(t.c, "ZRANDMEMBER rm 2", NOW) else { panic!() };
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1], "a positive count never repeats");
        let Some(Reply::Array(many)) = t.e.execute_line(t.c, "ZRANDMEMBER rm -7 WITHSCORES", NOW) else { panic!() };
        assert_eq!(many.len(), 14);
    }
    assert_eq!(t.aof(), cmds(&[select0(), &["ZADD", "rm", "1", "a", "2", "b", "3", "c"]]));
}

#[test]
fn zscan_listpack_and_skiplist() {
    let mut t = T::new();
    t.setup(&["ZADD sc 1 a 0.1 b 1e17 c -5 d"]);
    // A listpack holds 1e17 as an integer, which ZSCAN shows as it is stored.
    assert_eq!(
        t.run("ZSCAN sc 0"),
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\nd\r\n$2\r\n-5\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$18\r\n100000000000000000\r\n"
    );
    assert_eq!(t.run("ZSCAN sc 0 MATCH [ab]"), "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(t.run("ZSCAN sc 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(t.run("ZSCAN sc x"), err("ERR invalid cursor"));
    assert_eq!(t.run("ZSCAN nokey 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    // A skiplist is walked in steps; every member comes back exactly once.
    let pairs: Vec<String> = (0..300).map(|i| format!("{i} m{i}")).collect();
    t.run(&format!("ZADD big {}", pairs.join(" ")));
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeSet::new();
    let mut rounds = 0;
    loop {
        let Some(Reply::Array(parts)) = t.e.execute_line(t.c, &format!("ZSCAN big {cursor} COUNT 25"), NOW).map(|r| r.downgraded()) else {
            panic!()
        };
        let (Reply::Bulk(next), Reply::Array(items)) = (&parts[0], &parts[1]) else { panic!() };
        for pair in items.chunks(2) {
            let (Reply::Bulk(m), Reply::Bulk(s)) = (&pair[0], &pair[1]) else { panic!() };
            assert_eq!(format!("m{}", String::from_utf8_lossy(s)), String::from_utf8_lossy(m));
            assert!(seen.insert(m.clone()));
        }
        rounds += 1;
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
    assert!(rounds > 1);
}

#[test]
fn arity_errors() {
    let mut t = T::new();
    for (line, name) in [
        ("ZINCRBY z 1", "zincrby"),
        ("ZREM z", "zrem"),
        ("ZCARD", "zcard"),
        ("ZRANGE z 0", "zrange"),
        ("ZRANGESTORE d z 0", "zrangestore"),
        ("BZPOPMIN z", "bzpopmin"),
        ("ZMPOP 1 z", "zmpop"),
        ("BZMPOP 0 1 z", "bzmpop"),
        ("ZUNION 1", "zunion"),
        ("ZSCAN z", "zscan"),
        ("ZREMRANGEBYLEX z - + x", "zremrangebylex"),
    ] {
        assert_eq!(t.run(line), err(&format!("ERR wrong number of arguments for '{name}' command")), "{line}");
    }
}

#[test]
fn lazy_expiry_inside_a_zset_write_is_wrapped_with_it() {
    let mut t = T::new();
    t.setup(&["ZADD gone 1 a", "ZADD src 1 a"]);
    t.e.srv.dbs[0].set_expire(b"gone", NOW - 1);
    t.aof();
    assert_eq!(t.run("ZADD gone 2 b"), ":1\r\n");
    assert_eq!(t.run("ZRANGE gone 0 -1"), bulks(&["b"]));
    assert_eq!(t.aof(), cmds(&[&["MULTI"], &["DEL", "gone"], &["ZADD", "gone", "2", "b"], &["EXEC"]]));
    // A *STORE looks its destination up for writing first (setKey → lookupKeyWrite).
    t.e.srv.dbs[0].set_expire(b"gone", NOW - 1);
    assert_eq!(t.run("ZUNIONSTORE gone 1 src"), ":1\r\n");
    assert_eq!(t.aof(), cmds(&[&["MULTI"], &["DEL", "gone"], &["ZUNIONSTORE", "gone", "1", "src"], &["EXEC"]]));
    // An empty result deletes the (expired) destination without looking it up: no DEL of its own.
    t.e.srv.dbs[0].set_expire(b"gone", NOW - 1);
    assert_eq!(t.run("ZINTERSTORE gone 1 nokey"), ":0\r\n");
    assert_eq!(t.aof(), cmds(&[&["ZINTERSTORE", "gone", "1", "nokey"]]));
    t.setup(&["ZADD gone 1 a"]);
    t.aof();
    // A read of an expired zset: just the DEL.
    t.e.srv.dbs[0].set_expire(b"gone", NOW - 1);
    assert_eq!(t.run("ZCARD gone"), ":0\r\n");
    assert_eq!(t.aof(), cmds(&[&["DEL", "gone"]]));
}
