//! Replays every file of `tests/fixtures/corrupt/` through the decoder its name starts with (the
//! cargo-fuzz target that found it, or a hand-made corrupt input), with the fuzz target's own
//! assertions (`aof_lab::fuzzing`, the code the targets run): a crasher found once stays fixed in `cargo test`.

// Native only: proptest (and std::fs for fixtures) are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use aof_lab::Config;
use aof_lab::aof::AofManifest;
use aof_lab::aof::check::{Mode, check};
use aof_lab::aof::load::{AofStatus, load_single_append_only_file};
use aof_lab::fuzzing::{TARGETS, drain, run};
use aof_lab::resp::ProtocolError;
use aof_lab::server::Server;
use aof_lab::storage::{MemoryStorage, OpenMode, Storage};

#[path = "fixtures/corrupt.rs"]
mod corrupt;

/// The embedded list the browser tests replay is the directory, byte for byte.
#[test]
fn the_embedded_fixtures_are_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corrupt");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).expect("fixtures dir").map(|e| e.expect("entry").file_name().into_string().expect("utf-8")).collect();
    names.sort();
    let listed: Vec<&str> = corrupt::FIXTURES.iter().map(|f| f.0).collect();
    assert_eq!(listed, names, "tests/fixtures/corrupt.rs must list every fixture: run scripts/fixtures.sh");
    for (name, bytes) in corrupt::FIXTURES {
        assert_eq!(std::fs::read(dir.join(name)).expect(name), *bytes, "{name}");
    }
}

#[test]
fn huge_lengths_are_never_wrapped() {
    aof_lab::fuzzing::huge_lengths();
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
    // Lengths past 4 GB (and an LZF size no data of that length makes), refused by what they
    // are, at the same offset on every host.
    for (r, offset, message) in [
        ("rdb_reader-huge-string-len", 19, "Unexpected EOF reading RDB file"),
        ("rdb_reader-huge-count", 21, "Collection length 4294967297 larger than the rest of the file"),
        ("rdb_reader-huge-lzf-len", 12, "Invalid LZF compressed string"),
    ] {
        let e = aof_lab::rdb::read_empty(&read(r)).expect_err(r);
        assert_eq!((e.offset, e.message.as_str()), (offset, message), "{r}");
    }
    let (records, cut) = aof_lab::aof::inspect::dump_file(&read("inspect-huge-rdb-len"), true);
    assert_eq!(records.len(), 2, "the header, then the rest as one record: {records:?}");
    assert_eq!(cut.map(|c| (c.offset, c.fixable)), Some((9, false)));
    let seqs = |m: &str| AofManifest::parse(&read(m)).map(|am| (am.curr_base_file_seq, am.curr_incr_file_seq)).map_err(|e| e.message);
    assert_eq!(seqs("manifest_parser-llong-min-seq"), Ok((i64::MIN, 1)));
    assert_eq!(seqs("manifest_parser-llong-overflow-seq"), Ok((0, i64::MAX)));
    assert_eq!(
        aof_lab::archive::read(&read("tar_reader-huge-base256-size")),
        Err("tar: truncated archive: a member of 4294967297 bytes starts at byte 512 of 1024".into())
    );

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

/// The tar reader's fixtures (archives written by Python's `tarfile` in ustar, GNU and pax
/// formats, and damaged copies): each read as `tar -tf` lists it, or refused with the reason.
#[test]
fn tar_fixtures_read_like_tar() {
    use aof_lab::archive::read;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corrupt");
    let read_fixture = |n: &str| std::fs::read(dir.join(n)).expect(n);
    let names = |n: &str| read(&read_fixture(n)).expect(n).into_iter().map(|e| e.path).collect::<Vec<_>>();
    assert_eq!(
        names("tar_reader-export"),
        ["appendonlydir/", "appendonlydir/appendonly.aof.1.incr.aof", "appendonlydir/appendonly.aof.manifest"]
    );
    let long = format!("appendonlydir/{}", "x".repeat(150));
    assert_eq!(names("tar_reader-gnu-long-name"), [long.as_str(), "appendonlydir/appendonly.aof.manifest"]);
    let accented = format!("appendonlydir/{}.aof", "é".repeat(60));
    assert_eq!(names("tar_reader-pax-path"), [accented.as_str(), "appendonlydir/appendonly.aof.manifest"]);
    // Links and devices are skipped, the file after them kept.
    assert_eq!(names("tar_reader-links-and-devices"), ["appendonlydir/appendonly.aof.1.incr.aof"]);
    let refused = |n: &str| read(&read_fixture(n)).expect_err(n);
    assert_eq!(refused("tar_reader-truncated-member"), "tar: truncated archive: a member of 50 bytes starts at byte 1024 of 1044");
    assert_eq!(refused("tar_reader-bad-checksum"), "not a tar archive: header checksum mismatch at byte 512");
    assert!(refused("tar_reader-base256-size").starts_with("tar: truncated archive: a member of 4611686018427387904 bytes"));
    // An import of the export lands where a server looks.
    let mut st = MemoryStorage::new();
    let written = aof_lab::archive::import_archive(&mut st, &read_fixture("tar_reader-export"), "appendonlydir").expect("import");
    assert_eq!(written, ["appendonlydir/appendonly.aof.1.incr.aof", "appendonlydir/appendonly.aof.manifest"]);
}
