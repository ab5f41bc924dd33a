//! Generic key commands: replies, and the exact bytes each one propagates to the AOF
//! (checked against redis-server 7.0.15; see REDIS-AOF.md section 1.2).

use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

fn engine() -> (Engine, u64) {
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, NOW);
    let c = e.connect();
    (e, c)
}

fn run(e: &mut Engine, c: u64, line: &str) -> Reply {
    run_at(e, c, line, NOW)
}

fn run_at(e: &mut Engine, c: u64, line: &str, now: i64) -> Reply {
    e.execute_line(c, line, now).expect("not blocked")
}

/// The RESP bytes of commands written like redis-cli lines.
fn resp(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        let args = aof_lab::resp::split_args(l.as_bytes()).expect("valid line");
        aof_lab::resp::encode_command(&mut out, &args);
    }
    out
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn err(s: &str) -> Reply {
    Reply::error(s.to_string())
}

/// Runs setup lines and drops what they propagated.
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
fn expire_family_propagates_pexpireat_absolute() {
    let (mut e, c) = engine();
    run(&mut e, c, "SET k v");
    assert_eq!(run(&mut e, c, "EXPIRE k 100"), int(1));
    expect_aof(&mut e, &["SELECT 0", "SET k v", "PEXPIREAT k 1700000100000"]);
    assert_eq!(run(&mut e, c, "PEXPIRE k 5000"), int(1));
    expect_aof(&mut e, &["PEXPIREAT k 1700000005000"]);
    assert_eq!(run(&mut e, c, "EXPIREAT k 1800000000"), int(1));
    expect_aof(&mut e, &["PEXPIREAT k 1800000000000"]);
    // PEXPIREAT is already absolute: verbatim, name case included.
    assert_eq!(run(&mut e, c, "pexpireat k 1800000000123"), int(1));
    expect_aof(&mut e, &["pexpireat k 1800000000123"]);
    // Options are kept, in the client's spelling.
    assert_eq!(run(&mut e, c, "EXPIRE k 200000000 gt"), int(1));
    expect_aof(&mut e, &["PEXPIREAT k 1900000000000 gt"]);
    assert_eq!(run(&mut e, c, "PEXPIRE k 500000 XX LT"), int(1));
    expect_aof(&mut e, &["PEXPIREAT k 1700000500000 XX LT"]);
    assert_eq!(run(&mut e, c, "TTL k"), int(500));
    assert_eq!(run(&mut e, c, "PTTL k"), int(500_000));
    assert_eq!(run(&mut e, c, "PEXPIRETIME k"), int(1_700_000_500_000));
    assert_eq!(run(&mut e, c, "EXPIRETIME k"), int(1_700_000_500));
}

#[test]
fn refused_expires_propagate_nothing() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v", "EXPIRE k 100"]);
    assert_eq!(run(&mut e, c, "EXPIRE k 50 NX"), int(0));
    assert_eq!(run(&mut e, c, "EXPIRE k 50 GT"), int(0));
    assert_eq!(run(&mut e, c, "EXPIRE k 500 LT"), int(0));
    assert_eq!(run(&mut e, c, "EXPIRE nokey 10"), int(0));
    run(&mut e, c, "SET p v");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "EXPIRE p 10 XX"), int(0));
    // No TTL is an infinite one: GT always fails, LT always passes.
    assert_eq!(run(&mut e, c, "EXPIRE p 10 GT"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "EXPIRE p 10 LT"), int(1));
    expect_aof(&mut e, &["PEXPIREAT p 1700000010000 LT"]);
}

#[test]
fn expire_option_and_range_errors() {
    let (mut e, c) = engine();
    run(&mut e, c, "SET k v");
    assert_eq!(run(&mut e, c, "EXPIRE k 10 NX XX"), err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    assert_eq!(run(&mut e, c, "EXPIRE k 10 GT LT"), err("ERR GT and LT options at the same time are not compatible"));
    assert_eq!(run(&mut e, c, "EXPIRE k 10 FOO"), err("ERR Unsupported option FOO"));
    // Options are checked before the time.
    assert_eq!(run(&mut e, c, "EXPIRE k x FOO"), err("ERR Unsupported option FOO"));
    assert_eq!(run(&mut e, c, "EXPIRE k x"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut e, c, "EXPIRE k 9223372036854775"), err("ERR invalid expire time in 'expire' command"));
    assert_eq!(run(&mut e, c, "PEXPIRE k 9223372036854775807"), err("ERR invalid expire time in 'pexpire' command"));
    assert_eq!(run(&mut e, c, "EXPIREAT k 9223372036854776"), err("ERR invalid expire time in 'expireat' command"));
    assert_eq!(run(&mut e, c, "PEXPIREAT k 9223372036854775807"), int(1));
}

#[test]
fn past_expire_deletes_and_propagates_del_or_unlink() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "EXPIRE k -1"), int(1));
    assert_eq!(run(&mut e, c, "EXISTS k"), int(0));
    expect_aof(&mut e, &["DEL k"]);
    // Exactly now counts as past.
    run(&mut e, c, "SET k v");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, &format!("PEXPIREAT k {NOW}")), int(1));
    expect_aof(&mut e, &["DEL k"]);

    let mut e = Engine::new(Config { appendonly: true, lazyfree_lazy_expire: true, ..Default::default() }, NOW);
    let c = e.connect();
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "EXPIREAT k 1"), int(1));
    expect_aof(&mut e, &["UNLINK k"]);
}

#[test]
fn past_expire_while_loading_keeps_the_key() {
    let (mut e, c) = engine();
    e.srv.loading = true;
    run(&mut e, c, "SET k v");
    assert_eq!(run(&mut e, c, "PEXPIREAT k 1000"), int(1));
    assert_eq!(e.srv.dbs[0].expire_of(b"k"), Some(1000));
    assert_eq!(aof(&mut e), "");
    e.srv.loading = false;
    // Once loaded, the key is just expired.
    assert_eq!(run(&mut e, c, "GET k"), Reply::Nil);
    expect_aof(&mut e, &["SELECT 0", "DEL k"]);
}

#[test]
fn ttl_family() {
    let (mut e, c) = engine();
    run(&mut e, c, "SET k v");
    assert_eq!(run(&mut e, c, "TTL nokey"), int(-2));
    assert_eq!(run(&mut e, c, "PTTL nokey"), int(-2));
    assert_eq!(run(&mut e, c, "EXPIRETIME k"), int(-1));
    assert_eq!(run(&mut e, c, "TTL k"), int(-1));
    run(&mut e, c, "PEXPIRE k 1499");
    assert_eq!(run(&mut e, c, "TTL k"), int(1)); // rounded to the nearest second
    run(&mut e, c, "PEXPIRE k 1500");
    assert_eq!(run(&mut e, c, "TTL k"), int(2));
    assert_eq!(run_at(&mut e, c, "PTTL k", NOW + 1000), int(500));
}

#[test]
fn persist() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v"]);
    assert_eq!(run(&mut e, c, "PERSIST k"), int(0));
    assert_eq!(run(&mut e, c, "PERSIST nokey"), int(0));
    assert_eq!(aof(&mut e), "");
    run(&mut e, c, "EXPIRE k 100");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "PERSIST k"), int(1));
    assert_eq!(run(&mut e, c, "TTL k"), int(-1));
    expect_aof(&mut e, &["PERSIST k"]);
}

#[test]
fn del_unlink_exists_type_touch() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET a 1", "SET b 2"]);
    assert_eq!(run(&mut e, c, "EXISTS a a b nokey"), int(3));
    assert_eq!(run(&mut e, c, "TOUCH a nokey"), int(1));
    assert_eq!(run(&mut e, c, "TYPE a"), Reply::status("string"));
    assert_eq!(run(&mut e, c, "TYPE nokey"), Reply::status("none"));
    assert_eq!(run(&mut e, c, "DEL nokey"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "DEL a nokey"), int(1));
    expect_aof(&mut e, &["DEL a nokey"]);
    assert_eq!(run(&mut e, c, "UNLINK b b"), int(1));
    expect_aof(&mut e, &["UNLINK b b"]);
}

#[test]
fn del_of_an_expired_key_propagates_only_the_expiry() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET a 1 PX 10", "SET b 2"]);
    assert_eq!(run_at(&mut e, c, "DEL a", NOW + 100), int(0));
    expect_aof(&mut e, &["DEL a"]);
    run(&mut e, c, "SET a 1 PX 10");
    e.take_aof_buf();
    // Lazy expiry + the DEL itself: two ops of one call, wrapped.
    assert_eq!(run_at(&mut e, c, "DEL a b", NOW + 100), int(1));
    expect_aof(&mut e, &["MULTI", "DEL a", "DEL a b", "EXEC"]);
}

#[test]
fn rename_keeps_the_ttl() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET a 1", "PEXPIREAT a 1800000000000", "SET b 2"]);
    assert_eq!(run(&mut e, c, "RENAME a b"), Reply::ok());
    expect_aof(&mut e, &["RENAME a b"]);
    assert_eq!(run(&mut e, c, "PEXPIRETIME b"), int(1_800_000_000_000));
    assert_eq!(run(&mut e, c, "GET b"), Reply::bulk("1"));
    assert_eq!(run(&mut e, c, "EXISTS a"), int(0));
    // Same name: OK if it exists, the error if not; nothing propagated either way.
    assert_eq!(run(&mut e, c, "RENAME b b"), Reply::ok());
    assert_eq!(run(&mut e, c, "RENAME a a"), err("ERR no such key"));
    assert_eq!(run(&mut e, c, "RENAMENX b b"), int(0));
    assert_eq!(aof(&mut e), "");
    // RENAME onto a key with a TTL: the destination takes the source's (absent) TTL.
    setup(&mut e, c, &["SET x 1", "EXPIRE b 100"]);
    assert_eq!(run(&mut e, c, "RENAME x b"), Reply::ok());
    assert_eq!(run(&mut e, c, "TTL b"), int(-1));
    setup(&mut e, c, &["SET y 1"]);
    assert_eq!(run(&mut e, c, "RENAMENX y b"), int(0));
    assert_eq!(run(&mut e, c, "RENAMENX y z"), int(1));
    expect_aof(&mut e, &["RENAMENX y z"]);
}

#[test]
fn move_between_dbs() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET k v", "EXPIRE k 100"]);
    assert_eq!(run(&mut e, c, "MOVE k 0"), err("ERR source and destination objects are the same"));
    assert_eq!(run(&mut e, c, "MOVE k 16"), err("ERR DB index is out of range"));
    assert_eq!(run(&mut e, c, "MOVE k 4294967296"), err("ERR value is out of range, value must between -2147483648 and 2147483647"));
    assert_eq!(run(&mut e, c, "MOVE nokey 1"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "MOVE k 1"), int(1));
    expect_aof(&mut e, &["MOVE k 1"]);
    assert!(e.srv.dbs[1].contains(b"k"));
    assert_eq!(e.srv.dbs[1].expire_of(b"k"), Some(NOW + 100_000));
    run(&mut e, c, "SET k other");
    e.take_aof_buf();
    assert_eq!(run(&mut e, c, "MOVE k 1"), int(0));
    assert_eq!(aof(&mut e), "");
}

#[test]
fn copy_with_db_propagates_in_the_source_db() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET src v", "EXPIRE src 100"]);
    assert_eq!(run(&mut e, c, "COPY src dst"), int(1));
    assert_eq!(run(&mut e, c, "TTL dst"), int(100));
    assert_eq!(run(&mut e, c, "COPY src dst"), int(0));
    assert_eq!(run(&mut e, c, "COPY src dst REPLACE"), int(1));
    expect_aof(&mut e, &["COPY src dst", "COPY src dst REPLACE"]);
    assert_eq!(run(&mut e, c, "COPY src src"), err("ERR source and destination objects are the same"));
    assert_eq!(run(&mut e, c, "COPY src dst DB"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "COPY src dst DB 16"), err("ERR DB index is out of range"));
    assert_eq!(run(&mut e, c, "COPY src dst FOO"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "COPY nokey dst"), int(0));
    assert_eq!(aof(&mut e), "");
    assert_eq!(run(&mut e, c, "COPY src src DB 3"), int(1));
    expect_aof(&mut e, &["COPY src src DB 3"]);
    assert_eq!(e.srv.dbs[3].get(b"src"), e.srv.dbs[0].get(b"src"));

    // A client in db 1 (SELECT belongs to another family: the client is set up directly).
    let (mut e, _) = engine();
    e.srv.dbs[1].insert(b"fk".to_vec(), aof_lab::keyspace::Value::String(b"x".to_vec().into()));
    let mut client = aof_lab::server::Client { id: 99, db: 1, ..Default::default() };
    let outcome = aof_lab::cmd::process_command(&mut e.srv, &mut client, &[b"COPY", b"fk", b"fk", b"DB", b"0"]);
    assert!(matches!(outcome, aof_lab::cmd::Outcome::Reply(Reply::Int(1))));
    expect_aof(&mut e, &["SELECT 1", "COPY fk fk DB 0"]);
    assert!(e.srv.dbs[0].contains(b"fk"));
}

#[test]
fn scan_visits_every_key_once_over_a_full_iteration() {
    let (mut e, c) = engine();
    for i in 0..25 {
        run(&mut e, c, &format!("SET key:{i} v"));
    }
    run(&mut e, c, "SET other v");
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let Reply::Array(parts) = run(&mut e, c, &format!("SCAN {cursor} COUNT 4 MATCH key:*")) else { panic!("array") };
        let [Reply::Bulk(next), Reply::Array(keys)] = parts.as_slice() else { panic!("cursor + keys") };
        for k in keys {
            let Reply::Bulk(k) = k else { panic!("bulk") };
            seen.push(String::from_utf8_lossy(k).into_owned());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    let mut want: Vec<String> = (0..25).map(|i| format!("key:{i}")).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(run(&mut e, c, "SCAN x"), err("ERR invalid cursor"));
    assert_eq!(run(&mut e, c, "SCAN 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(run(&mut e, c, "SCAN 0 TYPE"), err("ERR syntax error"));
    assert_eq!(
        run(&mut e, c, "SCAN 0 MATCH other TYPE string COUNT 1000"),
        Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![Reply::bulk("other")])])
    );
    assert_eq!(run(&mut e, c, "SCAN 0 MATCH other TYPE hash COUNT 1000"), Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])]));
}

#[test]
fn keys_skips_expired_keys_without_deleting_them() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET a 1", "SET b 2 PX 10", "SET c 3"]);
    let Reply::Array(keys) = run_at(&mut e, c, "KEYS *", NOW + 100) else { panic!("array") };
    assert_eq!(keys.len(), 2);
    assert_eq!(aof(&mut e), "");
    assert!(e.srv.dbs[0].contains(b"b"));
    assert_eq!(run_at(&mut e, c, "KEYS [ab]", NOW + 100), Reply::Array(vec![Reply::bulk("a")]));
}

#[test]
fn randomkey_deletes_expired_keys_it_meets() {
    let (mut e, c) = engine();
    assert_eq!(run(&mut e, c, "RANDOMKEY"), Reply::Nil);
    setup(&mut e, c, &["SET a 1 PX 10", "SET b 2 PX 10", "SET live 3"]);
    assert_eq!(run_at(&mut e, c, "RANDOMKEY", NOW + 100), Reply::bulk("live"));
    for _ in 0..10 {
        assert_eq!(run_at(&mut e, c, "RANDOMKEY", NOW + 100), Reply::bulk("live"));
    }
    let log = aof(&mut e);
    assert!(log.contains("$3\r\nDEL\r\n$1\r\na\r\n") && log.contains("$3\r\nDEL\r\n$1\r\nb\r\n"), "{log:?}");
}

#[test]
fn lazy_expiry_inside_a_write_is_wrapped_with_it() {
    let (mut e, c) = engine();
    setup(&mut e, c, &["SET lz old PX 10"]);
    assert_eq!(run_at(&mut e, c, "EXPIRE lz 100", NOW + 50), int(0));
    expect_aof(&mut e, &["DEL lz"]);
    setup(&mut e, c, &["SET lz old PX 10"]);
    assert_eq!(run_at(&mut e, c, "SET lz new", NOW + 50), Reply::ok());
    expect_aof(&mut e, &["MULTI", "DEL lz", "SET lz new", "EXEC"]);
}

#[test]
fn arity_errors() {
    let (mut e, c) = engine();
    for (line, name) in [
        ("DEL", "del"),
        ("EXPIRE k", "expire"),
        ("TTL", "ttl"),
        ("RENAME a", "rename"),
        ("COPY a", "copy"),
        ("SCAN", "scan"),
        ("RANDOMKEY x", "randomkey"),
    ] {
        assert_eq!(run(&mut e, c, line), err(&format!("ERR wrong number of arguments for '{name}' command")), "{line}");
    }
}
