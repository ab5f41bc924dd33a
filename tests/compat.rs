//! Differential compatibility: every script in `tests/scripts/*.redis` is run against a fresh
//! real redis-server 7.0.15 and a fresh in-process engine; replies, AOF bytes and `DEBUG DIGEST`
//! must match (format and normalisation: `tests/scripts/README.md`).
//!
//! `COMPAT_SCRIPTS=strings,lists cargo test --test compat -- --nocapture` runs only those
//! scripts and shows every report. The harness tests itself (`harness_*`) with a real server on
//! both sides, and with a deliberately wrong fake, so that a green run means something.

mod common;

use std::path::PathBuf;

use common::redis::RedisServer;
use common::runner::{EngineSide, RealSide, ScriptResult, Side, run_parallel, run_parallel_proto, run_script};
use common::script::{Clock, Item, Mode, comparable, diff_aof, normalise_times, parse_script, replies_match, times_match};

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("scripts")
}

/// All `*.redis` files, sorted by name, as (file name, text).
fn all_scripts() -> Vec<(String, String)> {
    let dir = scripts_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".redis"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap_or_else(|e| panic!("cannot read {n}: {e}"));
            (n, text)
        })
        .collect()
}

/// The scripts selected by `COMPAT_SCRIPTS` (comma-separated names, with or without `.redis`).
fn selected_scripts() -> Vec<(String, String)> {
    let all = all_scripts();
    match std::env::var("COMPAT_SCRIPTS") {
        Ok(filter) if !filter.trim().is_empty() => {
            let wanted: Vec<String> = filter.split(',').map(|s| s.trim().trim_end_matches(".redis").to_string()).collect();
            all.into_iter().filter(|(n, _)| wanted.iter().any(|w| n.trim_end_matches(".redis") == w)).collect()
        }
        _ => all,
    }
}

/// Prints each script's report and the summary line; panics listing the failing scripts.
fn report(results: &[ScriptResult], what: &str) {
    let commands: usize = results.iter().map(|r| r.commands).sum();
    let mismatches: usize = results.iter().map(|r| r.mismatches.len()).sum();
    for r in results {
        print!("{}", r.report());
    }
    println!("compat: {} scripts, {commands} commands compared, {mismatches} mismatches ({what})", results.len());
    let failing: Vec<String> =
        results.iter().filter(|r| !r.mismatches.is_empty()).map(|r| format!("{} ({})", r.name, r.mismatches.len())).collect();
    assert!(
        failing.is_empty(),
        "compat ({what}): {mismatches} mismatches in {} of {} scripts: {}\n(the full report of each is printed above)",
        failing.len(),
        results.len(),
        failing.join(", ")
    );
}

#[test]
fn engine_vs_redis_scripts() {
    let jobs = selected_scripts();
    assert!(!jobs.is_empty(), "no script selected in {}", scripts_dir().display());
    let results = run_parallel(&jobs, 2, || (Box::new(RealSide::start()) as Box<dyn Side>, Box::new(EngineSide::new()) as Box<dyn Side>));
    report(&results, "redis vs engine");
}

/// Every script again over RESP3: both connections switch with `HELLO 3` first, and every
/// reply is compared as the RESP3 bytes each side sent (maps, sets, doubles, nulls, the nested
/// score pairs); the AOF bytes and digests must not depend on the protocol.
#[test]
fn engine_vs_redis_scripts_resp3() {
    let jobs = selected_scripts();
    assert!(!jobs.is_empty(), "no script selected in {}", scripts_dir().display());
    let results =
        run_parallel_proto(&jobs, 2, 3, || (Box::new(RealSide::start()) as Box<dyn Side>, Box::new(EngineSide::new()) as Box<dyn Side>));
    report(&results, "redis vs engine, RESP3");
}

/// The scripts must, together, be a real test suite: at least 500 command lines, and every
/// command of the engine's table used at least once (a container like CONFIG counts by its
/// name). Fails until the family scripts have landed.
#[test]
fn engine_vs_redis_total_coverage() {
    let mut lines = 0;
    let mut used = std::collections::BTreeSet::new();
    for (_, text) in all_scripts() {
        for l in parse_script(&text).0 {
            if let Item::Command { argv, .. } = l.item {
                lines += 1;
                used.insert(String::from_utf8_lossy(&argv[0]).to_ascii_lowercase());
            }
        }
    }
    let missing: Vec<&str> = aof_lab::cmd::all_commands().map(|c| c.name).filter(|n| !used.contains(*n)).collect();
    let total = aof_lab::cmd::all_commands().count();
    println!("coverage: {lines} command lines, {} of {total} engine commands used", total - missing.len());
    assert!(lines >= 500, "the scripts hold {lines} command lines; at least 500 are required");
    assert!(missing.is_empty(), "engine commands never used by any script ({}): {}", missing.len(), missing.join(" "));
}

/// Every script, real server against real server, in every `cargo test`: the scripts give the
/// same results on two real servers, so nothing in them depends on timing, hash order or
/// randomness that no `~`/`%` covers, and a mismatch against the engine is the engine's.
#[test]
fn scripts_are_deterministic_on_redis() {
    let jobs = selected_scripts();
    let results = run_parallel(&jobs, 2, || (Box::new(RealSide::start()) as Box<dyn Side>, Box::new(RealSide::start()) as Box<dyn Side>));
    report(&results, "redis vs redis");
}

// ---------------------------------------------------------------------------------------------
// The harness's own tests.

/// A small script using many commands and every line kind.
fn self_test_script() -> String {
    let mut s = String::from(
        "# harness self-test\n\
         DEBUG SET-ACTIVE-EXPIRE 0\n\
         SET k v\n\
         GET k\n\
         SET \"a b\" \"x\\ny\\x00z\"\n\
         GET \"a b\"\n\
         INCR n\n\
         INCRBYFLOAT f 1.5\n\
         SET e v EX 100\n\
         PEXPIRETIME e\n\
         SET short v PX 100\n\
         RPUSH l a b c\n\
         LRANGE l 0 -1\n\
         SADD s alpha beta gamma delta epsilon\n\
         ~ SMEMBERS s\n\
         % SRANDMEMBER s\n\
         HSET small f1 v1 f2 v2\n\
         HGETALL small\n\
         ZADD z 1 a 2 b\n\
         ZRANGE z 0 -1 WITHSCORES\n\
         MULTI\n\
         SET m 1\n\
         INCR m\n\
         EXEC\n\
         SELECT 3\n\
         SET in3 x\n\
         SELECT 0\n\
         GETDEL k\n\
         EXPIRE n -1\n\
         NOSUCHCOMMAND x\n\
         GET\n\
         @digest\n\
         @sleep 150\n\
         GET short\n\
         ",
    );
    // A hash too big for a listpack: hash-table order differs between servers (random seed).
    s.push_str("HSET big");
    for i in 0..200 {
        s.push_str(&format!(" field{i} value{i}"));
    }
    s.push_str("\n~2 HGETALL big\n~ HKEYS big\n");
    s
}

#[test]
fn harness_real_vs_real_agrees() {
    let script = self_test_script();
    let (mut a, mut b) = (RealSide::start(), RealSide::start());
    let r = run_script("self-test", &script, &mut a, &mut b);
    assert!(r.mismatches.is_empty(), "two real servers must agree:\n{}", r.report());
    assert_eq!(r.commands, parse_script(&script).0.iter().filter(|l| matches!(l.item, Item::Command { .. })).count());
    assert!(r.commands >= 30);
    // The runner really read the AOF: the real incr file holds what the script wrote.
    let aof = a.server.read_incr_aof();
    assert!(
        aof.starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
        "{}",
        String::from_utf8_lossy(&aof)
    );
    let select3 = b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$3\r\nin3\r\n$1\r\nx\r\n";
    assert!(aof.windows(select3.len()).any(|w| w == select3), "{}", String::from_utf8_lossy(&aof));
}

/// A real server behind a fake that lies in precise ways: the harness must report exactly those.
struct Tamper {
    inner: RealSide,
}

impl Side for Tamper {
    fn label(&self) -> String {
        "fake".into()
    }
    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let words: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let words: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
        if words == ["SET", "t", "v", "EX", "100"] {
            // A TTL a minute longer: same reply and digest, a PXAT a minute off in the AOF.
            return self.inner.call(&[b"SET".to_vec(), b"t".to_vec(), b"v".to_vec(), b"EX".to_vec(), b"160".to_vec()]);
        }
        let reply = self.inner.call(argv)?;
        match words.as_slice() {
            // A wrong reply.
            ["GET", "a"] => Ok(b"$1\r\nX\r\n".to_vec()),
            // The right elements in the wrong order.
            ["LRANGE", "l", "0", "-1"] => {
                let items = common::script::array_elements(&reply).unwrap_or_default();
                let mut out = format!("*{}\r\n", items.len()).into_bytes();
                for it in items.iter().rev() {
                    out.extend_from_slice(it);
                }
                Ok(out)
            }
            // A hidden extra write: the AOF of this line and the dataset diverge.
            ["SET", "b", ..] => {
                self.inner.call(&[b"SET".to_vec(), b"hidden".to_vec(), b"1".to_vec()])?;
                Ok(reply)
            }
            _ => Ok(reply),
        }
    }
    fn take_aof(&mut self) -> Vec<u8> {
        self.inner.take_aof()
    }
}

#[test]
fn harness_reports_mismatches() {
    let script = "SET a 1\n\
                  GET a\n\
                  RPUSH l x y z\n\
                  ~ LRANGE l 0 -1\n\
                  LRANGE l 0 -1\n\
                  % LRANGE l 0 -1\n\
                  SADD s p q r\n\
                  ~ SMEMBERS s\n\
                  SET b 2\n\
                  GET b\n\
                  BADQUOTE \"x\n\
                  SET t v EX 100\n";
    let mut real = RealSide::start();
    let mut fake = Tamper { inner: RealSide::start() };
    let r = run_script("tamper", script, &mut real, &mut fake);
    let report = r.report();
    let at = |loc: &str| r.mismatches.iter().filter(|m| m.contains(loc)).count();
    assert_eq!(at("[tamper] script error, line 11"), 1, "{report}");
    assert_eq!(at("[tamper:2] GET a\n    reply differs"), 1, "{report}");
    assert!(report.contains(r#"redis: "$1\r\n1\r\n""#) && report.contains(r#"fake: "$1\r\nX\r\n""#), "{report}");
    assert_eq!(at("[tamper:5] LRANGE l 0 -1\n    reply differs"), 1, "{report}");
    assert_eq!(at("[tamper:9] SET b 2\n    AOF bytes appended by this line differ"), 1, "{report}");
    assert_eq!(at("[tamper:end] DEBUG DIGEST differs"), 1, "{report}");
    assert_eq!(at("[tamper:end] AOF streams differ at command #5"), 1, "{report}");
    assert!(report.contains("> #5   @"), "{report}");
    assert!(report.contains("SET hidden 1"), "{report}");
    assert_eq!(at("[tamper:12] SET t v EX 100\n    AOF bytes appended by this line differ"), 1, "{report}");
    assert_eq!(r.mismatches.len(), 7, "{report}");
    assert_eq!(r.commands, 11);
}

#[test]
fn harness_comparison_rules() {
    let now = 1_795_461_191_500;
    // Absolute times: equal within the window in which both sides ran, and not a ms more. A
    // PEXPIREAT a minute off (EXPIRE k 100 propagated as 160 s) is a mismatch.
    let clock = Clock::between(now - 3, now);
    assert_eq!((clock.slack_ms, clock.slack_s), (3, 0));
    assert!(times_match(b"PXAT\r\n$13\r\n1795461291000\r\n", b"PXAT\r\n$13\r\n1795461291003\r\n", clock));
    assert!(!times_match(b"PXAT\r\n$13\r\n1795461291000\r\n", b"PXAT\r\n$13\r\n1795461291004\r\n", clock));
    assert!(!times_match(b"PEXPIREAT\r\n$13\r\n1795461291000\r\n", b"PEXPIREAT\r\n$13\r\n1795461351000\r\n", clock));
    assert!(!replies_match(b":1795461291000\r\n", b":1795461351000\r\n", Mode::Exact, clock));
    assert!(replies_match(b":1795461191689\r\n", b":1795461191687\r\n", Mode::Exact, clock));
    assert!(!replies_match(b":1795461191689\r\n", b":1795461191702\r\n", Mode::Exact, clock));
    // Both sides at one instant: exact.
    assert!(!times_match(b"1795461191689", b"1795461191690", Clock::exact(now)));
    // Seconds (`#TS:`, EXPIRETIME): equal unless a second boundary lies in the window.
    assert!(!times_match(b"#TS:1795461191\r\n", b"#TS:1795461192\r\n", clock));
    let across = Clock::between(now + 498, now + 501);
    assert_eq!(across.slack_s, 1);
    assert!(times_match(b"#TS:1795461190\r\n", b"#TS:1795461191\r\n", across));
    assert!(!times_match(b"#TS:1795461190\r\n", b"#TS:1795461192\r\n", across));
    // Only times are forgiven: other numbers, and times far from now, are compared exactly.
    assert!(!times_match(b":4102444800000\r\n", b":4102444800001\r\n", clock)); // year 2100
    assert!(!times_match(b":12\r\n", b":13\r\n", clock));
    assert!(!times_match(b"a1795461191689", b"b1795461191689", clock));
    // The end of a script allows the widest window of its lines.
    assert_eq!(Clock::exact(now).widest(clock).widest(across).slack_ms, 3);
    // For the `~` modes' ordering and for reports, 13-digit times within a year are masked.
    assert_eq!(normalise_times(b"PXAT\r\n$13\r\n1795461191689\r\n", now), b"PXAT\r\n$13\r\n<T>\r\n");
    assert_eq!(normalise_times(b":1795461191689\r\n", now), b":<T>\r\n");
    assert_eq!(normalise_times(b"1795461191689-0", now), b"<T>-0");
    assert_eq!(normalise_times(b"4102444800000", now), b"4102444800000"); // year 2100: a real value
    assert_eq!(normalise_times(b"17954611916890", now), b"17954611916890"); // 14 digits
    assert_eq!(normalise_times(b"179546119168", now), b"179546119168"); // 12 digits
    assert!(!replies_match(b":1\r\n", b":2\r\n", Mode::Exact, clock));
    // ~ sorts top-level elements; ~2 sorts pairs, keeping each pair together.
    let abc = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n:3\r\n";
    let cba = b"*3\r\n:3\r\n$1\r\nb\r\n$1\r\na\r\n";
    assert!(replies_match(abc, cba, Mode::Unordered, clock));
    assert!(!replies_match(abc, cba, Mode::Exact, clock));
    assert!(!replies_match(abc, b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", Mode::Unordered, clock));
    let pairs1 = b"*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\ng\r\n$1\r\n2\r\n";
    let pairs2 = b"*4\r\n$1\r\ng\r\n$1\r\n2\r\n$1\r\nf\r\n$1\r\n1\r\n";
    let crossed = b"*4\r\n$1\r\ng\r\n$1\r\n1\r\n$1\r\nf\r\n$1\r\n2\r\n";
    assert!(replies_match(pairs1, pairs2, Mode::Pairs, clock));
    assert!(!replies_match(pairs1, crossed, Mode::Pairs, clock));
    assert!(replies_match(pairs1, crossed, Mode::Unordered, clock));
    // Nested arrays are elements like any other; a non-array is compared exactly.
    assert!(replies_match(b"*2\r\n*1\r\n:1\r\n:2\r\n", b"*2\r\n:2\r\n*1\r\n:1\r\n", Mode::Unordered, clock));
    assert!(!replies_match(b"-ERR x\r\n", b"-ERR y\r\n", Mode::Unordered, clock));
    // % compares the type only.
    assert!(replies_match(b"$1\r\na\r\n", b"$3\r\nxyz\r\n", Mode::TypeOnly, clock));
    assert!(!replies_match(b"$1\r\na\r\n", b":1\r\n", Mode::TypeOnly, clock));
    assert_eq!(comparable(b"*-1\r\n", Mode::Unordered, now), b"*-1\r\n");
    // ~ms: integers are elapsed times, within twice the slack; everything else exact.
    let idle = |ms: i64| format!("*2\r\n$3\r\n1-1\r\n*1\r\n:{ms}\r\n").into_bytes();
    assert!(replies_match(&idle(4), &idle(10), Mode::Elapsed, clock));
    assert!(!replies_match(&idle(4), &idle(11), Mode::Elapsed, clock));
    assert!(!replies_match(&idle(4), &idle(5), Mode::Exact, clock));
    assert!(!replies_match(b"*1\r\n$3\r\n1-1\r\n", b"*1\r\n$3\r\n1-2\r\n", Mode::Elapsed, clock));
    // ~s: whole seconds of a once-a-second clock: two seconds apart at most (slack 3 ms here);
    // RESP3 maps are walked too.
    assert!(replies_match(b":100\r\n", b":102\r\n", Mode::ElapsedSecs, clock));
    assert!(!replies_match(b":100\r\n", b":103\r\n", Mode::ElapsedSecs, clock));
    assert!(replies_match(b"%1\r\n$4\r\nidle\r\n:4\r\n", b"%1\r\n$4\r\nidle\r\n:5\r\n", Mode::ElapsedSecs, clock));
    // The script format.
    let (lines, errors) = parse_script("# c\n\n  SET k \"a b\"\n~ SMEMBERS s\n~2 HGETALL h\n% SPOP s\n@sleep 10\n@digest\n@nope\nSET 'x\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 9:") && errors[1].starts_with("line 10:"), "{errors:?}");
    let items: Vec<_> = lines.iter().map(|l| (l.number, l.item.clone())).collect();
    let cmd = |mode, args: &[&str]| Item::Command { mode, argv: args.iter().map(|a| a.as_bytes().to_vec()).collect(), frames: 0 };
    assert_eq!(
        items,
        vec![
            (3, cmd(Mode::Exact, &["SET", "k", "a b"])),
            (4, cmd(Mode::Unordered, &["SMEMBERS", "s"])),
            (5, cmd(Mode::Pairs, &["HGETALL", "h"])),
            (6, cmd(Mode::TypeOnly, &["SPOP", "s"])),
            (7, Item::Sleep(10)),
            (8, Item::Digest),
        ]
    );
    // `*N`: a command answering N replies (exact comparison only).
    let (lines, errors) = parse_script("*2 SUBSCRIBE a b\n*0 PING\n*2 ~ SMEMBERS s\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        lines[0].item,
        Item::Command { mode: Mode::Exact, argv: vec![b"SUBSCRIBE".to_vec(), b"a".to_vec(), b"b".to_vec()], frames: 2 }
    );
    // AOF diff: the first differing command, with offsets and decoded context.
    let a = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let b = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nw\r\n";
    assert_eq!(diff_aof(a, a, clock, "redis", "engine"), None);
    let d = diff_aof(a, b, clock, "redis", "engine").unwrap_or_default();
    assert!(d.starts_with("AOF streams differ at command #1: byte offset 23 in redis"), "{d}");
    assert!(d.contains("> #1   @23     SET k v") && d.contains("> #1   @23     SET k w"), "{d}");
    let d = diff_aof(a, &a[..23], clock, "redis", "engine").unwrap_or_default();
    assert!(d.contains("(end of stream)"), "{d}");
}

/// The launcher itself: version check, free port, AOF files, cleanup on drop.
#[test]
fn harness_redis_server_lifecycle() {
    let s = RedisServer::start();
    let dir = s.dir.clone();
    let mut c = s.connect();
    assert_eq!(c.command(&["PING"]).ok().as_deref(), Some(b"+PONG\r\n".as_slice()));
    assert_eq!(
        c.command(&["CONFIG", "GET", "appendfsync"]).ok().as_deref(),
        Some(b"*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n".as_slice())
    );
    assert_eq!(s.current_incr_name(), "appendonly.aof.1.incr.aof");
    assert!(s.read_incr_aof().is_empty());
    c.command(&["SET", "k", "v"]).ok();
    assert_eq!(s.read_incr_aof(), b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    drop(c);
    drop(s);
    assert!(!dir.exists(), "the server's directory is removed on drop");
}
