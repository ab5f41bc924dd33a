//! Replays every file of `tests/fixtures/corrupt/` through the decoder its name starts with (the
//! cargo-fuzz target that found it, or a hand-made corrupt input), with the fuzz target's own
//! assertions: a crasher found once stays fixed in `cargo test`.

// Native only: proptest (and std::fs for fixtures) are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::borrow::Cow;
use std::path::Path;

use aof_lab::aof::AofManifest;
use aof_lab::aof::check::{Mode, check};
use aof_lab::aof::load::{AofStatus, load_single_append_only_file};
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::resp::{Limits, ProtocolError, encode_command, parse_command};
use aof_lab::server::Server;
use aof_lab::storage::{MemoryStorage, OpenMode, Storage};
use aof_lab::{Config, Engine};

const TARGETS: &[&str] = &["resp_decoder", "command_exec", "aof_loader", "manifest_parser", "rdb_reader", "check_fix"];

fn drain(buf: &[u8], out: &mut Vec<Vec<Vec<u8>>>) -> (usize, Option<ProtocolError>) {
    let mut pos = 0;
    let mut args: Vec<Cow<[u8]>> = Vec::new();
    loop {
        match parse_command(&buf[pos..], &mut args, Limits::default()) {
            Ok(None) => return (pos, None),
            Ok(Some(n)) => {
                assert!(n > 0, "parse_command consumed nothing");
                pos += n;
                if !args.is_empty() {
                    out.push(args.iter().map(|a| a.to_vec()).collect());
                }
            }
            Err(e) => return (pos, Some(e)),
        }
    }
}

/// The whole buffer, then byte by byte and in chunks of every size up to 17.
fn resp_decoder(input: &[u8]) {
    let mut whole = Vec::new();
    let (_, whole_err) = drain(input, &mut whole);
    for size in 1..=17 {
        let mut pieces = Vec::new();
        let mut querybuf = Vec::new();
        let mut err = None;
        for chunk in input.chunks(size) {
            querybuf.extend_from_slice(chunk);
            let (used, e) = drain(&querybuf, &mut pieces);
            querybuf.drain(..used);
            if e.is_some() {
                err = e;
                break;
            }
        }
        assert_eq!(whole, pieces, "chunks of {size}");
        assert_eq!(whole_err, err, "chunks of {size}");
    }
    for argv in &whole {
        let mut enc = Vec::new();
        encode_command(&mut enc, argv);
        let mut args = Vec::new();
        assert_eq!(parse_command(&enc, &mut args, Limits::default()), Ok(Some(enc.len())));
        assert_eq!(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), argv);
    }
}

fn too_big_number(arg: &[u8]) -> bool {
    arg.split(|c| !c.is_ascii_digit()).any(|run| run.len() > 5)
}

/// Same decoding as fuzz/fuzz_targets/command_exec.rs.
fn command_exec(data: &[u8]) {
    let names: Vec<&str> = aof_lab::cmd::all_commands().map(|c| c.name).collect();
    let mut now = 1_700_000_000_000i64;
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, now);
    let clients = [e.connect(), e.connect()];
    let mut replayable = true;
    for line in data.split(|&c| c == b'\n').take(48) {
        let Some((&sel, rest)) = line.split_first() else { continue };
        let mut argv: Vec<&[u8]> = Vec::new();
        if sel < 0xF0 {
            argv.push(names[usize::from(sel) % names.len()].as_bytes());
        }
        argv.extend(rest.split(|&c| c == b' ').filter(|a| !a.is_empty()).take(8).map(|a| &a[..a.len().min(24)]));
        if argv.is_empty() || argv.iter().any(|a| too_big_number(a)) {
            continue;
        }
        // DEBUG LOADAOF reloads from the (never written) files and CONFIG SET can turn the
        // AOF off: after those the propagated stream no longer describes the dataset.
        replayable &= !argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"debug") || n.eq_ignore_ascii_case(b"config"));
        now += i64::from(sel & 0x0f) * 7;
        let _ = e.execute(clients[usize::from(sel >> 7)], &argv, now);
        if sel & 0x30 == 0x30 {
            e.cron(now);
            let _ = e.take_unblocked();
        }
        e.before_sleep(now);
    }
    let aof = e.take_aof_buf();
    let mut srv = Server::new(Config::default(), now);
    let (status, _) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", &aof);
    assert!(matches!(status, AofStatus::Ok | AofStatus::Empty), "propagated AOF does not load: {status:?}");
    if replayable {
        assert_eq!(
            hex(&dataset_digest(&srv.dbs)),
            hex(&dataset_digest(&e.srv.dbs)),
            "the propagated AOF rebuilds another dataset:\n{}",
            String::from_utf8_lossy(&aof)
        );
    }
}

fn aof_loader(data: &[u8]) {
    for truncated in [true, false] {
        let mut srv = Server::new(Config { aof_load_truncated: truncated, ..Default::default() }, 1_700_000_000_000);
        let (status, valid) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", data);
        assert!(valid <= data.len() as u64);
        if !truncated {
            assert_ne!(status, AofStatus::Truncated);
        }
    }
}

/// Redis 7.0.15 writes manifests it cannot read back: a line longer than
/// `AOF_MANIFEST_LINE_MAX_LEN` (a long binary name, each byte quoted as `\xHH`), or a bare name
/// holding a `'` (`sdsneedsrepr` does not quote it, `sdssplitargs` reads it as a quote), or an
/// empty name (parsed from `''`, written bare: the line loses a field). The round trip is only
/// asked of the others.
fn redis_rereads(am: &AofManifest, bytes: &[u8]) -> bool {
    let needs_repr =
        |s: &str| s.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 7 | 8 | b' ') || !(0x20..0x7f).contains(&c));
    bytes.split_inclusive(|&c| c == b'\n').all(|l| l.len() <= aof_lab::aof::manifest::LINE_MAX_LEN)
        && !am
            .base
            .iter()
            .chain(&am.history)
            .chain(&am.incr)
            .any(|ai| ai.file_name.is_empty() || (ai.file_name.contains('\'') && !needs_repr(&ai.file_name)))
}

fn manifest_parser(data: &[u8]) {
    if let Ok(am) = AofManifest::parse(data) {
        let bytes = am.to_bytes();
        if am.is_empty() || !redis_rereads(&am, &bytes) {
            return;
        }
        let again = AofManifest::parse(&bytes).expect("a written manifest must parse");
        assert_eq!(again, am);
        assert_eq!(again.to_bytes(), bytes);
    }
}

fn rdb_reader(data: &[u8]) {
    if let Ok(info) = aof_lab::rdb::read_empty(data) {
        assert!(info.len <= data.len());
    }
}

fn check_fix(data: &[u8]) {
    let name = "appendonly.aof";
    let mut st = MemoryStorage::new();
    st.open(name, OpenMode::Truncate).expect("open");
    st.write_at(name, 0, data).expect("write");
    let first = check(&mut st, name, Mode::Fix, &mut |_| true);
    if first.output.contains("Successfully truncated AOF") {
        let second = check(&mut st, name, Mode::Check, &mut |_| true);
        assert_eq!(second.exit_code, 0, "fixed file still invalid:\n{}\n---\n{}", first.output, second.output);
    }
}

fn run(target: &str, data: &[u8]) {
    match target {
        "resp_decoder" => resp_decoder(data),
        "command_exec" => command_exec(data),
        "aof_loader" => aof_loader(data),
        "manifest_parser" => manifest_parser(data),
        "rdb_reader" => rdb_reader(data),
        "check_fix" => check_fix(data),
        _ => unreachable!(),
    }
}

#[test]
fn every_corrupt_fixture_is_handled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corrupt");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).expect("fixtures dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    let mut seen = std::collections::BTreeMap::new();
    for path in &entries {
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        let Some(target) = TARGETS.iter().find(|t| name.starts_with(&format!("{t}-"))) else {
            panic!("fixture {name} names no fuzz target");
        };
        let data = std::fs::read(path).expect("read fixture");
        let outcome = std::panic::catch_unwind(|| run(target, &data));
        assert!(outcome.is_ok(), "fixture {name} fails its {target} check");
        *seen.entry(*target).or_insert(0) += 1;
    }
    // Every target keeps at least one input, so the test never passes vacuously.
    for t in TARGETS {
        assert!(seen.get(t).copied().unwrap_or(0) > 0, "no fixture for {t}");
    }
}

/// The hand-made inputs are rejected the way Redis rejects them, not just survived.
#[test]
fn hand_made_fixtures_are_rejected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corrupt");
    let read = |n: &str| std::fs::read(dir.join(n)).expect(n);

    let mut cmds = Vec::new();
    assert_eq!(drain(&read("resp_decoder-truncated-bulk"), &mut cmds), (0, None));
    assert_eq!(drain(&read("resp_decoder-negative-bulk-len"), &mut cmds).1, Some(ProtocolError("invalid bulk length")));
    assert_eq!(drain(&read("resp_decoder-unbalanced-inline"), &mut cmds).1, Some(ProtocolError("unbalanced quotes in request")));
    assert_eq!(drain(&read("resp_decoder-huge-count"), &mut cmds).1, Some(ProtocolError("invalid multibulk length")));

    // A NUL byte before the newline: Redis's `strchr` never finds the newline (it used to make
    // `split_args` loop forever, growing an endless vector of empty arguments).
    assert_eq!(drain(&read("resp_decoder-8af897063930812c"), &mut cmds), (0, None));
    assert_eq!(drain(&read("resp_decoder-nul-in-inline"), &mut cmds), (0, None));
    assert_eq!(aof_lab::resp::split_args(b"ECHO a\x00b c"), Some(vec![b"ECHO".to_vec(), b"a".to_vec()]));
    assert_eq!(aof_lab::resp::split_args(b"\x0bECHO \x0bx"), Some(vec![b"ECHO".to_vec(), b"x".to_vec()]));
    assert_eq!(aof_lab::resp::split_args(b"\"a\x00b\""), None);
    let e = AofManifest::parse(&read("manifest_parser-nul-in-line")).expect_err("NUL in a manifest line");
    assert_eq!(e.message, "The AOF manifest file contains too long line");

    for m in [
        "manifest_parser-short-line",
        "manifest_parser-non-monotonic",
        "manifest_parser-unbalanced-quote",
        "manifest_parser-path-name",
        "manifest_parser-no-newline",
    ] {
        assert!(AofManifest::parse(&read(m)).is_err(), "{m} parsed");
    }
    for r in ["rdb_reader-truncated-aux", "rdb_reader-future-version", "rdb_reader-short-magic"] {
        assert!(aof_lab::rdb::read_empty(&read(r)).is_err(), "{r} read");
    }

    let load = |n: &str, truncated: bool| {
        let mut srv = Server::new(Config { aof_load_truncated: truncated, ..Default::default() }, 1_700_000_000_000);
        load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", &read(n))
    };
    assert_eq!(load("aof_loader-truncated-tail", true), (AofStatus::Truncated, 23));
    assert_eq!(load("aof_loader-truncated-tail", false).0, AofStatus::Failed);
    assert_eq!(load("aof_loader-open-multi", true), (AofStatus::Truncated, 0));
    assert_eq!(load("aof_loader-wrong-arity", true).0, AofStatus::Failed);
    assert_eq!(load("aof_loader-unknown-command", true).0, AofStatus::Failed);
    assert_eq!(load("aof_loader-garbage", true).0, AofStatus::Failed);

    // 127 bytes of `*` and digits without a newline: the tool reads one byte past its 128-byte
    // buffer for the message (the real one prints stack garbage there, `001f` on this machine);
    // this used to index out of bounds.
    let mut st = MemoryStorage::new();
    st.open("a.aof", OpenMode::Truncate).expect("open");
    st.write_at("a.aof", 0, &read("check_fix-b7cf6a0bab377be4")).expect("write");
    let r = check(&mut st, "a.aof", Mode::Check, &mut |_| false);
    assert_eq!(r.exit_code, 1);
    assert!(r.output.contains("0x               0: Expected \\r\\n, got: 00"), "{}", r.output);
    assert!(r.output.contains("size=148, ok_up_to=0, ok_up_to_line=1, diff=148"), "{}", r.output);

    for (n, len) in [("check_fix-truncated-tail", 23), ("check_fix-open-multi", 0)] {
        let mut st = MemoryStorage::new();
        st.open("a.aof", OpenMode::Truncate).expect("open");
        st.write_at("a.aof", 0, &read(n)).expect("write");
        let r = check(&mut st, "a.aof", Mode::Fix, &mut |_| true);
        assert_eq!(r.exit_code, 0, "{n}: {}", r.output);
        assert_eq!(st.len("a.aof").expect("len"), len, "{n}");
    }
}
