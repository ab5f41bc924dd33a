//! String and bitmap commands: replies, and the exact bytes each one propagates to the AOF
//! (checked against redis-server 7.0.15; see REDIS-AOF.md section 1.2).

use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

fn engine_with(config: Config) -> (Engine, u64) {
    let mut e = Engine::new(Config { appendonly: true, ..config }, NOW);
    let c = e.connect();
    (e, c)
}

fn engine() -> (Engine, u64) {
    engine_with(Config::default())
}

fn run(e: &mut Engine, c: u64, line: &str) -> Reply {
    run_at(e, c, line, NOW)
}

/// The reply as a RESP2 client receives it (maps flattened).
fn run_at(e: &mut Engine, c: u64, line: &str, now: i64) -> Reply {
    e.execute_line(c, line, now).expect("not blocked").downgraded()
}

fn resp(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        let args = aof_lab::resp::split_args(l.as_bytes()).expect("valid line");
        aof_lab::resp::encode_command(&mut out, &args);
    }
    out
}

/// A key of another type (the zset commands live in another family).
fn add_zset(e: &mut Engine, key: &str) {
    let mut z = aof_lab::keyspace::ZSet::default();
    z.insert(b"m".to_vec(), 1.0);
    e.srv.dbs[0].insert(key.as_bytes().to_vec(), aof_lab::keyspace::Value::ZSet(z));
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn err(s: &str) -> Reply {
    Reply::error(s.to_string())
}

/// Runs setup lines (the first write brings the `SELECT 0`) and drops what they propagated.
fn setup(e: &mut Engine, c: u64, lines: &[&str]) {
    for l in lines {
        run(e, c, l);
    }
    e.take_aof_buf();
}

fn aof(e: &mut Engine) -> String {
    String::from_utf8_lossy(&e.take_aof_buf()).into_owned()
}

fn expect_aof(e: &mut Engine, lines: &[&str]) {
    assert_eq!(aof(e), String::from_utf8_lossy(&resp(lines)));
}

#[test]
fn set_with_any_expire_propagates_pxat() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "SET k v EX 100"), Reply::ok());
    expect_aof(&mut e, &["SELECT 0", "SET k v PXAT 1700000100000"]);
    for (line, at) in [
        ("SET k v PX 5000", "1700000005000"),
        ("SET k v EXAT 4102444800", "4102444800000"),
        ("SET k v PXAT 4102444800123", "4102444800123"),
        ("set k v ex 100 nx get", "1700000100000"),
        ("SETEX k 100 v", "1700000100000"),
        ("PSETEX k 100000 v", "1700000100000"),
    ] {
        run(&mut e, c, "DEL k");
        e.take_aof_buf();
        run(&mut e, c, line);
        expect_aof(&mut e, &[&format!("SET k v PXAT {at}")]);
    }
    assert_eq!(run(&mut e, c, "PEXPIRETIME k"), int(1_700_000_100_000));
}

#[test]
fn set_get_drops_get_and_keepttl_is_verbatim() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v EX 100"]);
    assert_eq!(run(&mut e, c, "SET k v2 KEEPTTL"), Reply::ok());
    expect_aof(&mut e, &["SET k v2 KEEPTTL"]);
    assert_eq!(run(&mut e, c, "TTL k"), int(100));
    assert_eq!(run(&mut e, c, "SET k v3 get KEEPTTL GET"), bulk("v2"));
    expect_aof(&mut e, &["SET k v3 KEEPTTL"]);
    assert_eq!(run(&mut e, c, "SET k v4 GET"), bulk("v3"));
    expect_aof(&mut e, &["SET k v4"]);
    assert_eq!(run(&mut e, c, "TTL k"), int(-1));
    // GET on a missing key replies nil, and still sets.
    assert_eq!(run(&mut e, c, "SET new v GET"), Reply::Nil);
    expect_aof(&mut e, &["SET new v"]);
}

#[test]
fn set_nx_xx_refusals_propagate_nothing() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "SET k x NX"), Reply::Nil);
    assert_eq!(run(&mut e, c, "SET nokey x XX"), Reply::Nil);
    assert_eq!(run(&mut e, c, "SET k x NX GET"), bulk("v"));
    assert_eq!(run(&mut e, c, "SETNX k x"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "SETNX n x"), int(1));
    expect_aof(&mut e, &["SETNX n x"]);
}

#[test]
fn set_option_errors() {
    let (mut e, c) = engine();
    for line in ["SET k v NX XX", "SET k v EX 10 PX 10", "SET k v KEEPTTL EX 10", "SET k v EX", "SET k v FOO", "SET k v PERSIST"] {
        assert_eq!(run(&mut e, c, line), err("ERR syntax error"), "{line}");
    }
    // Redis's parser lets a repeated EX through: the last one wins.
    assert_eq!(run(&mut e, c, "SET k v EX 10 EX 20"), Reply::ok());
    assert_eq!(run(&mut e, c, "TTL k"), int(20));
    for line in [
        "SET k v EX 0",
        "SET k v PX -1",
        "SET k v EX 9223372036854775",
        "SET k v EXAT 9223372036854775807",
        "SET k v PX 9223372036854775807",
    ] {
        assert_eq!(run(&mut e, c, line), err("ERR invalid expire time in 'set' command"), "{line}");
    }
    assert_eq!(run(&mut e, c, "SETEX k 0 v"), err("ERR invalid expire time in 'setex' command"));
    assert_eq!(run(&mut e, c, "PSETEX k 0 v"), err("ERR invalid expire time in 'psetex' command"));
    assert_eq!(run(&mut e, c, "SET k v EX x"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "SET k v PXAT 9223372036854775807"), Reply::ok());
}

#[test]
fn set_pxat_in_the_past_is_logged_as_is() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "SET k v PXAT 1"), Reply::ok());
    expect_aof(&mut e, &["SELECT 0", "SET k v PXAT 1"]);
    assert_eq!(run(&mut e, c, "GET k"), Reply::Nil);
    expect_aof(&mut e, &["DEL k"]);
}

#[test]
fn getset_getdel() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v EX 100"]);
    assert_eq!(run(&mut e, c, "GETSET k x"), bulk("v"));
    expect_aof(&mut e, &["SET k x"]);
    assert_eq!(run(&mut e, c, "TTL k"), int(-1));
    assert_eq!(run(&mut e, c, "getset n y"), Reply::Nil);
    expect_aof(&mut e, &["SET n y"]);
    assert_eq!(run(&mut e, c, "GETDEL k"), bulk("x"));
    expect_aof(&mut e, &["DEL k"]);
    assert_eq!(run(&mut e, c, "GETDEL k"), Reply::Nil);
    assert_eq!(aof(&mut e), "");

    let (mut e, c) = engine_with(Config { lazyfree_lazy_user_del: true, ..Default::default() });
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "GETDEL k"), bulk("v"));
    expect_aof(&mut e, &["UNLINK k"]);
}

#[test]
fn getex_rewrites() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "GETEX k"), bulk("v"));
    assert_eq!(run(&mut e, c, "GETEX k PERSIST"), bulk("v"));
    assert_eq!(run(&mut e, c, "GETEX nokey EX 10"), Reply::Nil);
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "GETEX k EX 200"), bulk("v"));
    expect_aof(&mut e, &["PEXPIREAT k 1700000200000"]);
    assert_eq!(run(&mut e, c, "GETEX k PX 300"), bulk("v"));
    expect_aof(&mut e, &["PEXPIREAT k 1700000000300"]);
    assert_eq!(run(&mut e, c, "GETEX k EXAT 4102444800"), bulk("v"));
    expect_aof(&mut e, &["PEXPIREAT k 4102444800000"]);
    assert_eq!(run(&mut e, c, "GETEX k PERSIST"), bulk("v"));
    expect_aof(&mut e, &["PERSIST k"]);
    assert_eq!(run(&mut e, c, "TTL k"), int(-1));
    // An absolute time already past deletes the key (the value is still returned).
    assert_eq!(run(&mut e, c, "GETEX k PXAT 1000"), bulk("v"));
    expect_aof(&mut e, &["DEL k"]);
    assert_eq!(run(&mut e, c, "EXISTS k"), int(0));

    let (mut e, c) = engine_with(Config { lazyfree_lazy_expire: true, ..Default::default() });
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "GETEX k EXAT 1"), bulk("v"));
    expect_aof(&mut e, &["UNLINK k"]);
}

#[test]
fn getex_errors() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v"]);
    add_zset(&mut e, "z");
    for line in ["GETEX k EX 10 PX 10", "GETEX k PERSIST EX 10", "GETEX k KEEPTTL", "GETEX k NX", "GETEX k GET", "GETEX k EX"] {
        assert_eq!(run(&mut e, c, line), err("ERR syntax error"), "{line}");
    }
    assert_eq!(run(&mut e, c, "GETEX k EX 0"), err("ERR invalid expire time in 'getex' command"));
    assert_eq!(run(&mut e, c, "GETEX k EX x"), err("ERR value is not an integer or out of range"));
    // The type is checked before the time, and a missing key before both.
    assert_eq!(run(&mut e, c, "GETEX nokey EX x"), Reply::Nil);
}

#[test]
fn mset_msetnx() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET t v EX 100"]);
    assert_eq!(run(&mut e, c, "MSET a 1 t 2"), Reply::ok());
    expect_aof(&mut e, &["MSET a 1 t 2"]);
    assert_eq!(run(&mut e, c, "TTL t"), int(-1));
    assert_eq!(run(&mut e, c, "MSET a 1 b"), err("ERR wrong number of arguments for 'mset' command"));
    assert_eq!(run(&mut e, c, "MSETNX a 1 c 2"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "MSETNX c 1 c 2"), int(1));
    expect_aof(&mut e, &["MSETNX c 1 c 2"]);
    assert_eq!(run(&mut e, c, "MGET a c nokey"), Reply::Array(vec![bulk("1"), bulk("2"), Reply::Nil]));
}

#[test]
fn incr_family_is_verbatim_and_keeps_the_ttl() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET n 10 EX 100"]);
    assert_eq!(run(&mut e, c, "INCR n"), int(11));
    assert_eq!(run(&mut e, c, "DECRBY n 20"), int(-9));
    expect_aof(&mut e, &["INCR n", "DECRBY n 20"]);
    assert_eq!(run(&mut e, c, "TTL n"), int(100));
    setup(&mut e, c, &["SET big 9223372036854775807"]);
    assert_eq!(run(&mut e, c, "INCR big"), err("ERR increment or decrement would overflow"));
    assert_eq!(run(&mut e, c, "DECRBY n -9223372036854775808"), err("ERR decrement would overflow"));
    assert_eq!(run(&mut e, c, "DECRBY n 9223372036854775808"), err("ERR value is not an integer or out of range"));
    setup(&mut e, c, &["SET s ' 1'"]);
    assert_eq!(run(&mut e, c, "INCR s"), err("ERR value is not an integer or out of range"));
    assert_eq!(aof(&mut e), "");
}

#[test]
fn incrbyfloat_is_logged_as_set_keepttl_with_extended_precision() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "INCRBYFLOAT f 1.5"), bulk("1.5"));
    expect_aof(&mut e, &["SELECT 0", "SET f 1.5 KEEPTTL"]);
    assert_eq!(run(&mut e, c, "INCRBYFLOAT f 0.1"), bulk("1.6"));
    expect_aof(&mut e, &["SET f 1.6 KEEPTTL"]);
    // long double: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    setup(&mut e, c, &["SET g 0.1"]);
    assert_eq!(run(&mut e, c, "INCRBYFLOAT g 0.2"), bulk("0.3"));
    for (start, by, want) in [
        ("10.5", "0.1", "10.6"),
        ("0", "1e10", "10000000000"),
        ("0", "3.0e3", "3000"),
        ("5.0e3", "-0.5", "4999.5"),
        ("-0.0", "-0.0", "0"),
        ("1", "-1", "0"),
        ("0", "1e-20", "0"),
        ("0", "0x1p-2", "0.25"),
        ("123456789.123456789", "0", "123456789.12345678899873747"),
        ("0", "1e30", "1000000000000000000024696061952"),
        ("0", "-1e-5", "-0.00001"),
    ] {
        setup(&mut e, c, &[&format!("SET h {start}")]);
        assert_eq!(run(&mut e, c, &format!("INCRBYFLOAT h {by}")), bulk(want), "{start} + {by}");
    }
    setup(&mut e, c, &["SET s 1.5"]);
    let mut got = Vec::new();
    for _ in 0..5 {
        if let Reply::Bulk(b) = run(&mut e, c, "INCRBYFLOAT s 0.1") {
            got.push(String::from_utf8_lossy(&b).into_owned());
        }
    }
    assert_eq!(got, ["1.6", "1.7", "1.8", "1.9", "2"]);
    // The TTL survives (dbOverwrite), which is why KEEPTTL is logged.
    setup(&mut e, c, &["SET t 1 EX 100"]);
    run(&mut e, c, "INCRBYFLOAT t 1");
    assert_eq!(run(&mut e, c, "TTL t"), int(100));
}

#[test]
fn incrbyfloat_errors() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET f 1", "SET s abc", "SET i inf"]);
    add_zset(&mut e, "z");
    for line in
        ["INCRBYFLOAT f x", "INCRBYFLOAT f nan", "INCRBYFLOAT f 1e5000", "INCRBYFLOAT f ' 1'", "INCRBYFLOAT f ''", "INCRBYFLOAT s 1"]
    {
        assert_eq!(run(&mut e, c, line), err("ERR value is not a valid float"), "{line}");
    }
    for line in ["INCRBYFLOAT f inf", "INCRBYFLOAT i 1"] {
        assert_eq!(run(&mut e, c, line), err("ERR increment would produce NaN or Infinity"), "{line}");
    }
    // Beyond LDBL_MAX (about 1.19e4932) strtold overflows: not a float at all.
    assert_eq!(run(&mut e, c, "INCRBYFLOAT f 1.2e4932"), err("ERR value is not a valid float"));
    // Both finite, the sum is not.
    setup(&mut e, c, &["SET f 1e4932"]);
    assert_eq!(run(&mut e, c, "INCRBYFLOAT f 1.1e4932"), err("ERR increment would produce NaN or Infinity"));
    assert_eq!(run(&mut e, c, "INCRBYFLOAT z 1"), err("WRONGTYPE Operation against a key holding the wrong kind of value"));
}

#[test]
fn append_setrange_getrange() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "APPEND a hello"), int(5));
    assert_eq!(run(&mut e, c, "APPEND a ''"), int(5));
    expect_aof(&mut e, &["SELECT 0", "APPEND a hello", "APPEND a ''"]);
    assert_eq!(run(&mut e, c, "SETRANGE a 0 ''"), int(5));
    assert_eq!(run(&mut e, c, "SETRANGE nokey 10 ''"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "SETRANGE a 7 xy"), int(9));
    expect_aof(&mut e, &["SETRANGE a 7 xy"]);
    assert_eq!(run(&mut e, c, "GET a"), Reply::Bulk(b"hello\0\0xy".to_vec()));
    assert_eq!(run(&mut e, c, "GETRANGE a 0 4"), bulk("hello"));
    assert_eq!(run(&mut e, c, "GETRANGE a -2 -1"), bulk("xy"));
    assert_eq!(run(&mut e, c, "GETRANGE a -1 -5"), bulk(""));
    assert_eq!(run(&mut e, c, "GETRANGE a 5 2"), bulk(""));
    assert_eq!(run(&mut e, c, "SUBSTR a 1 2"), bulk("el"));
    assert_eq!(run(&mut e, c, "SETRANGE a -1 x"), err("ERR offset is out of range"));
}

#[test]
fn size_limits_follow_proto_max_bulk_len() {
    let (mut e, c) = engine_with(Config { proto_max_bulk_len: 16, ..Default::default() });
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(run(&mut e, c, "SETRANGE k 10 123456"), int(16));
    assert_eq!(run(&mut e, c, "SETRANGE k 10 1234567"), err(too_big));
    assert_eq!(run(&mut e, c, "APPEND k x"), err(too_big));
    assert_eq!(run(&mut e, c, "SETRANGE n 17 x"), err(too_big));
    // SETBIT's limit is on the offset: its byte must lie below the limit.
    assert_eq!(run(&mut e, c, "SETBIT b 127 1"), int(0));
    assert_eq!(run(&mut e, c, "SETBIT b 128 1"), err("ERR bit offset is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "GETBIT b 128"), err("ERR bit offset is not an integer or out of range"));
}

#[test]
fn setbit_only_propagates_a_change() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "SETBIT b 7 1"), int(0));
    expect_aof(&mut e, &["SELECT 0", "SETBIT b 7 1"]);
    assert_eq!(run(&mut e, c, "SETBIT b 7 1"), int(1));
    assert_eq!(run(&mut e, c, "SETBIT b 0 0"), int(0));
    assert_eq!(aof(&mut e), "");
    // Growing the string is a change even when the bit is 0.
    assert_eq!(run(&mut e, c, "SETBIT b 20 0"), int(0));
    expect_aof(&mut e, &["SETBIT b 20 0"]);
    assert_eq!(run(&mut e, c, "GET b"), Reply::Bulk(vec![1, 0, 0]));
    assert_eq!(run(&mut e, c, "GETBIT b 7"), int(1));
    assert_eq!(run(&mut e, c, "GETBIT b 1000"), int(0));
    assert_eq!(run(&mut e, c, "SETBIT b 0 2"), err("ERR bit is not an integer or out of range"));
}

#[test]
fn bitcount_byte_and_bit_ranges() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k foobar"]);
    for (line, n) in [
        ("BITCOUNT k", 26),
        ("BITCOUNT k 0 0", 4),
        ("BITCOUNT k 1 1", 6),
        ("BITCOUNT k 1 1 BYTE", 6),
        ("BITCOUNT k 5 30 BIT", 17),
        ("BITCOUNT k -1 -2 FOO", 0),
        ("BITCOUNT k 0 -1 bit", 26),
        ("BITCOUNT nokey 0", 0),
    ] {
        assert_eq!(run(&mut e, c, line), int(n), "{line}");
    }
    assert_eq!(run(&mut e, c, "BITCOUNT k 0"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "BITCOUNT k 0 1 FOO"), err("ERR syntax error"));
}

#[test]
fn lcs() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["MSET a ohmytext b mynewtext"]);
    assert_eq!(run(&mut e, c, "LCS a b"), bulk("mytext"));
    assert_eq!(run(&mut e, c, "LCS a b LEN"), int(6));
    let m =
        |a: (i64, i64), b: (i64, i64)| Reply::Array(vec![Reply::Array(vec![int(a.0), int(a.1)]), Reply::Array(vec![int(b.0), int(b.1)])]);
    assert_eq!(
        run(&mut e, c, "LCS a b IDX"),
        Reply::Array(vec![bulk("matches"), Reply::Array(vec![m((4, 7), (5, 8)), m((2, 3), (0, 1))]), bulk("len"), int(6)])
    );
    assert_eq!(run(&mut e, c, "LCS a b LEN IDX"), err("ERR If you want both the length and indexes, please just use IDX."));
}

#[test]
fn wrongtype_and_arity() {
    let (mut e, c) = engine();
    add_zset(&mut e, "z");
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for line in [
        "GET z",
        "SET z v GET",
        "GETSET z v",
        "GETDEL z",
        "GETEX z",
        "APPEND z x",
        "STRLEN z",
        "INCR z",
        "GETRANGE z 0 1",
        "SETRANGE z 0 x",
        "SETBIT z 0 1",
        "GETBIT z 0",
        "BITCOUNT z",
    ] {
        assert_eq!(run(&mut e, c, line), wrongtype, "{line}");
    }
    assert_eq!(run(&mut e, c, "MGET z"), Reply::Array(vec![Reply::Nil]));
    assert_eq!(run(&mut e, c, "SET z v"), Reply::ok());
    for (line, name) in [
        ("GET", "get"),
        ("SET k", "set"),
        ("SETEX k 1", "setex"),
        ("MSET k", "mset"),
        ("INCRBYFLOAT k", "incrbyfloat"),
        ("BITCOUNT", "bitcount"),
    ] {
        assert_eq!(run(&mut e, c, line), err(&format!("ERR wrong number of arguments for '{name}' command")), "{line}");
    }
}

/// No argument list, however odd, makes a string or key command panic.
#[test]
fn odd_arguments_never_panic() {
    let commands = [
        "GET",
        "SET",
        "SETNX",
        "SETEX",
        "PSETEX",
        "GETSET",
        "GETDEL",
        "GETEX",
        "MGET",
        "MSET",
        "MSETNX",
        "APPEND",
        "STRLEN",
        "INCR",
        "DECR",
        "INCRBY",
        "DECRBY",
        "INCRBYFLOAT",
        "GETRANGE",
        "SUBSTR",
        "SETRANGE",
        "LCS",
        "SETBIT",
        "GETBIT",
        "BITCOUNT",
        "DEL",
        "UNLINK",
        "EXISTS",
        "TYPE",
        "KEYS",
        "SCAN",
        "RENAME",
        "RENAMENX",
        "MOVE",
        "COPY",
        "RANDOMKEY",
        "TOUCH",
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PEXPIREAT",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "PERSIST",
    ];
    let words: &[&[u8]] = &[
        b"k",
        b"z",
        b"n",
        b"",
        b"0",
        b"-1",
        b"1",
        b"7",
        b"15",
        b"16",
        b"100",
        b"-100",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"9223372036854775808",
        b"4294967295",
        b"1e4932",
        b"-1e4932",
        b"1e-4950",
        b"0x1p16383",
        b"0x1p-16445",
        b"inf",
        b"nan",
        b"1.5",
        b"EX",
        b"PX",
        b"EXAT",
        b"PXAT",
        b"KEEPTTL",
        b"GET",
        b"NX",
        b"XX",
        b"GT",
        b"LT",
        b"PERSIST",
        b"DB",
        b"REPLACE",
        b"MATCH",
        b"COUNT",
        b"TYPE",
        b"BIT",
        b"BYTE",
        b"IDX",
        b"LEN",
        b"MINMATCHLEN",
        b"WITHMATCHLEN",
        b"*",
        b"[",
        b"\\",
        b"\0",
        b"\xff\xfe",
    ];
    let (mut e, c) = engine_with(Config { proto_max_bulk_len: 1 << 16, ..Default::default() });
    add_zset(&mut e, "z");
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for round in 0..20_000 {
        let name = commands[next(commands.len())];
        let mut argv: Vec<&[u8]> = vec![name.as_bytes()];
        for _ in 0..next(7) {
            argv.push(words[next(words.len())]);
        }
        let now = NOW + (round as i64) * 37;
        let _ = e.execute(c, &argv, now);
    }
    e.take_aof_buf();
}
