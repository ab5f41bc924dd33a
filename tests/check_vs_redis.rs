//! `aof-lab check` against the real `redis-check-aof` 7.0.15 on a corpus of damaged inputs:
//! a small AOF truncated at every byte, garbage lines, unfinished MULTI, nested MULTI, bad
//! CRLFs, timestamps, and broken manifests. Both must print the same lines, give the same exit
//! status and leave the same bytes after `--fix`.

// Native only (real processes and files): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aof_lab::aof::check::{Mode, check};
use aof_lab::storage::FsStorage;

fn redis_check_aof() -> &'static str {
    let out = Command::new("redis-check-aof").arg("--version").output();
    // redis-check-aof is redis-server in check mode; it has no --version of its own, so ask the
    // server binary for its version instead.
    let _ = out;
    let v = Command::new("redis-server")
        .arg("--version")
        .output()
        .expect("redis-server (and redis-check-aof) 7.0.15 must be installed: run scripts/setup.sh test");
    assert!(String::from_utf8_lossy(&v.stdout).contains("v=7.0.15"), "redis 7.0.15 required");
    "redis-check-aof"
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aof-lab-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the real tool in `dir` on `file`; returns (stdout lines, exit code).
fn real(dir: &Path, args: &[&str], answer: &str) -> (Vec<String>, i32) {
    let mut child = Command::new(redis_check_aof())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // The tool may exit without reading its input (nothing to fix): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(answer.as_bytes());
    let out = child.wait_with_output().unwrap();
    // The real tool prints the prompt and "Aborting..." on one line; log lines of a manifest
    // error carry a pid/time prefix that we strip to compare the text.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = text
        .lines()
        .map(|l| match l.split_once(" # ") {
            Some((prefix, rest)) if prefix.contains(":C ") => rest.to_string(),
            _ => l.to_string(),
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    (lines, out.status.code().unwrap_or(-1))
}

fn ours(dir: &Path, file: &str, mode: Mode, answer: bool) -> (Vec<String>, i32) {
    let mut st = FsStorage::new(dir).unwrap();
    let r = check(&mut st, file, mode, &mut |_| answer);
    (r.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect(), r.exit_code)
}

fn resp(cmds: &[&[&str]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds {
        aof_lab::resp::encode_command(&mut out, c);
    }
    out
}

fn sample() -> Vec<u8> {
    let mut v = b"#TS:1700000000\r\n".to_vec();
    v.extend(resp(&[&["SELECT", "0"], &["SET", "k", "v"], &["MULTI"], &["SET", "a", "1"], &["INCR", "a"], &["EXEC"]]));
    v.extend(b"#TS:1700000005\r\n");
    v.extend(resp(&[&["SET", "b", "2"]]));
    v
}

fn compare(dir: &Path, name: &str, content: &[u8], fix: bool) -> usize {
    compare_with(dir, name, content, fix, &mut || {})
}

/// `reset` recreates any other file the check may touch, before each of the two runs.
fn compare_with(dir: &Path, name: &str, content: &[u8], fix: bool, reset: &mut dyn FnMut()) -> usize {
    let file = dir.join(name);
    reset();
    std::fs::write(&file, content).unwrap();
    let (r_lines, r_code) = real(dir, &if fix { vec!["--fix", name] } else { vec![name] }, "y\n");
    let real_after = std::fs::read(&file).unwrap();
    reset();
    std::fs::write(&file, content).unwrap();
    let (o_lines, o_code) = ours(dir, name, if fix { Mode::Fix } else { Mode::Check }, true);
    let ours_after = std::fs::read(&file).unwrap();
    let mut problems = 0;
    if r_lines != o_lines || r_code != o_code || real_after != ours_after {
        problems += 1;
        eprintln!(
            "MISMATCH on {:?} (fix={fix}):\n real ({r_code}): {r_lines:#?}\n ours ({o_code}): {o_lines:#?}\n bytes equal after: {}",
            String::from_utf8_lossy(content),
            real_after == ours_after
        );
    }
    problems
}

#[test]
fn every_truncation_of_a_small_aof() {
    let dir = tmpdir("trunc");
    let full = sample();
    let mut problems = 0;
    for cut in 0..=full.len() {
        problems += compare(&dir, "appendonly.aof", &full[..cut], false);
        problems += compare(&dir, "appendonly.aof", &full[..cut], true);
    }
    assert_eq!(problems, 0, "{problems} differences with redis-check-aof (see stderr)");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn damaged_files() {
    let dir = tmpdir("damaged");
    let ok = resp(&[&["SET", "a", "1"]]);
    let cases: Vec<Vec<u8>> = vec![
        [ok.clone(), b"GARBAGE\r\n".to_vec(), ok.clone()].concat(),
        [ok.clone(), resp(&[&["MULTI"], &["SET", "b", "2"]])].concat(),
        [ok.clone(), resp(&[&["MULTI"], &["MULTI"], &["EXEC"]])].concat(),
        [ok.clone(), resp(&[&["EXEC"]])].concat(),
        b"*1\r\n$4\r\nPINGxx*1\r\n".to_vec(),
        b"*1\n$4\r\nPING\r\n".to_vec(),
        b"*x\r\n".to_vec(),
        b"*1\r\n$-1\r\n".to_vec(),
        b"*1\r\n$4\r\nPI\xffG\xfe\xfd".to_vec(),
        b"*1\r\n%4\r\nPING\r\n".to_vec(),
        [b"# a comment\r\n".to_vec(), ok.clone()].concat(),
    ];
    let mut problems = 0;
    for c in &cases {
        problems += compare(&dir, "x.aof", c, false);
        problems += compare(&dir, "x.aof", c, true);
    }
    assert_eq!(problems, 0, "{problems} differences with redis-check-aof (see stderr)");
    std::fs::remove_dir_all(&dir).ok();
}

/// redis#12951: 7.0.15 takes a RESP file with an argument `file` for a manifest and refuses it;
/// aof-lab (like 7.2.6) checks it as the AOF it is.
#[test]
fn resp_file_containing_the_word_file() {
    let dir = tmpdir("wordfile");
    std::fs::write(dir.join("x.aof"), resp(&[&["SET", "file", "file"]])).unwrap();
    let (r, code) = real(&dir, &["x.aof"], "");
    assert_eq!(code, 1);
    assert!(r.iter().any(|l| l == "Invalid AOF manifest file format"), "the real tool's bug: {r:?}");
    let (o, code) = ours(&dir, "x.aof", Mode::Check, false);
    assert_eq!(code, 0);
    assert_eq!(o.last().map(String::as_str), Some("AOF x.aof is valid"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A manifest whose every entry is indented: redis-check-aof 7.0.15 finds no line starting with
/// `file`, takes it for a RESP file and `--fix` empties it (the server, which trims each line,
/// loads it). Ours checks it as the manifest it is and leaves it whole.
#[test]
fn indented_manifest_is_not_cut() {
    let dir = tmpdir("indented");
    let ok = resp(&[&["SET", "a", "1"]]);
    std::fs::write(dir.join("appendonly.aof.1.base.aof"), &ok).unwrap();
    std::fs::write(dir.join("appendonly.aof.1.incr.aof"), &ok).unwrap();
    let manifest = "  file appendonly.aof.1.base.aof seq 1 type b\n\tfile appendonly.aof.1.incr.aof seq 1 type i\n";
    let path = dir.join("appendonly.aof.manifest");
    std::fs::write(&path, manifest).unwrap();
    let (r, _) = real(&dir, &["--fix", "appendonly.aof.manifest"], "y");
    assert!(r.iter().any(|l| l.contains("Successfully truncated AOF appendonly.aof.manifest")), "the real tool's bug: {r:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"", "the real tool empties it");
    std::fs::write(&path, manifest).unwrap();
    let (o, code) = ours(&dir, "appendonly.aof.manifest", Mode::Fix, true);
    assert_eq!((o.last().map(String::as_str), code), (Some("All AOF files and manifest are valid"), 0), "{o:?}");
    assert_eq!(std::fs::read(&path).unwrap(), manifest.as_bytes());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn manifests() {
    let dir = tmpdir("manifest");
    let ok = resp(&[&["SET", "a", "1"]]);
    std::fs::write(dir.join("appendonly.aof.1.base.aof"), &ok).unwrap();
    std::fs::write(dir.join("appendonly.aof.1.incr.aof"), &ok).unwrap();
    std::fs::write(dir.join("appendonly.aof.2.incr.aof"), [ok.clone(), b"*2\r\n$3".to_vec()].concat()).unwrap();
    std::fs::write(dir.join("empty.aof"), b"").unwrap();
    let manifests = [
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
        "file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 3 type i\n",
        "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "file empty.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "file a seq 1 type x\n",
        "file ../a seq 1 type b\n",
        "file a seq 1 type b\n\n",
        "# comment\nfile appendonly.aof.1.incr.aof seq 1 type i extra value\n",
        // Missing files: the base is opened before its heading, an incr file by its check.
        "file missing.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "file appendonly.aof.1.base.aof seq 1 type b\nfile missing.aof seq 1 type i\n",
        // An indented entry and a blank line: the manifest's parser trims them.
        "  file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        "\nfile appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    ];
    let mut problems = 0;
    // The 2.incr file is damaged and --fix may cut it: restore it before every run.
    let damaged = [ok.clone(), b"*2\r\n$3".to_vec()].concat();
    let mut reset = || std::fs::write(dir.join("appendonly.aof.2.incr.aof"), &damaged).unwrap();
    for m in manifests {
        problems += compare_with(&dir, "appendonly.aof.manifest", m.as_bytes(), false, &mut reset);
        problems += compare_with(&dir, "appendonly.aof.manifest", m.as_bytes(), true, &mut reset);
    }
    assert_eq!(problems, 0, "{problems} differences with redis-check-aof (see stderr)");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn truncate_to_timestamp() {
    let dir = tmpdir("ts");
    let full = sample();
    let mut problems = 0;
    for ts in ["1699999999", "1700000000", "1700000003", "1700000005", "1800000000"] {
        let file = dir.join("t.aof");
        std::fs::write(&file, &full).unwrap();
        let r = real(&dir, &["--truncate-to-timestamp", ts, "t.aof"], "");
        let r_after = std::fs::read(&file).unwrap();
        std::fs::write(&file, &full).unwrap();
        let o = ours(&dir, "t.aof", Mode::TruncateToTimestamp(ts.parse().unwrap()), false);
        let o_after = std::fs::read(&file).unwrap();
        if r != o || r_after != o_after {
            problems += 1;
            eprintln!("MISMATCH for timestamp {ts}:\n real {r:#?}\n ours {o:#?}");
        }
    }
    assert_eq!(problems, 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// The `aof-lab check` binary itself (prompt, stdin answer, exit status) against the real tool,
/// on a multi-part directory the real server wrote (RDB base) and on damaged files.
#[test]
fn binary_matches_redis_check_aof() {
    let server = common::redis::RedisServer::start();
    let mut conn = server.connect();
    for cmd in [&["SET", "a", "1"][..], &["RPUSH", "l", "x", "y"], &["INCR", "n"]] {
        conn.command(cmd).unwrap();
    }
    let run = |program: &str, args: &[&str], dir: &Path, answer: &str| {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(answer.as_bytes());
        let out = child.wait_with_output().unwrap();
        (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code())
    };
    let ours = env!("CARGO_BIN_EXE_aof-lab");
    let manifest = "appendonlydir/appendonly.aof.manifest";
    let real = run("redis-check-aof", &[manifest], &server.dir, "");
    let mine = run(ours, &["check", manifest], &server.dir, "");
    assert_eq!(mine, real);
    assert_eq!(real.1, Some(0));

    let dir = tmpdir("binary");
    let cut = [resp(&[&["SET", "a", "1"]]), b"*2\r\n$3\r\nGE".to_vec()].concat();
    for (answer, file) in [("y\n", "yes.aof"), ("n\n", "no.aof")] {
        std::fs::write(dir.join(file), &cut).unwrap();
        let real = run("redis-check-aof", &["--fix", file], &dir, answer);
        let real_after = std::fs::read(dir.join(file)).unwrap();
        std::fs::write(dir.join(file), &cut).unwrap();
        let mine = run(ours, &["check", "--fix", file], &dir, answer);
        assert_eq!(mine, real, "answer {answer:?}");
        assert_eq!(std::fs::read(dir.join(file)).unwrap(), real_after);
    }
    let real = run("redis-check-aof", &["nonexist.aof"], &dir, "");
    let mine = run(ours, &["check", "nonexist.aof"], &dir, "");
    assert_eq!(mine, real, "a file that is not there");
    // A timestamp of 0 (or empty, which strtol reads as 0) is a plain check; a bad one refused.
    for ts in ["0", "", " 1700000003", "12x", "99999999999999999999"] {
        std::fs::write(dir.join("ts.aof"), sample()).unwrap();
        let real = run("redis-check-aof", &["--truncate-to-timestamp", ts, "ts.aof"], &dir, "");
        let real_after = std::fs::read(dir.join("ts.aof")).unwrap();
        std::fs::write(dir.join("ts.aof"), sample()).unwrap();
        let mine = run(ours, &["check", "--truncate-to-timestamp", ts, "ts.aof"], &dir, "");
        assert_eq!(mine, real, "timestamp {ts:?}");
        assert_eq!(std::fs::read(dir.join("ts.aof")).unwrap(), real_after, "timestamp {ts:?}");
    }
    // inspect and load (the lab's own tools) answer --help with their usage; check, like
    // redis-check-aof, takes it for a file name.
    for tool in ["inspect", "load"] {
        let (out, code) = run(ours, &[tool, "--help"], &dir, "");
        assert_eq!((out.starts_with(&format!("Usage: aof-lab {tool} ")), code), (true, Some(0)), "{out}");
    }
    let real = run("redis-check-aof", &["--bogus"], &dir, "");
    let mine = run(ours, &["check", "--bogus"], &dir, "");
    assert_eq!((mine.1, real.1), (Some(1), Some(1)));
    std::fs::remove_dir_all(&dir).ok();
}

/// `aof-lab inspect` (and the lab's log view, which walks files the same way) marks a bad tail
/// exactly where the real redis-check-aof cuts (`ok_up_to`), for every truncation of a file
/// with an RDB preamble and of a RESP file, and for damaged bytes in the middle.
#[test]
fn inspect_marks_the_tail_where_redis_check_aof_cuts() {
    let dir = tmpdir("inspect");
    let mut preamble = aof_lab::rdb::empty_base(1_700_000_000, 1000);
    preamble.extend(sample());
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Every byte of the RESP sample; every third of the longer preamble file (and its end).
    for (full, step) in [(sample(), 1), (preamble.clone(), 3)] {
        for cut in (1..=full.len()).step_by(step).chain([full.len()]) {
            cases.push(full[..cut].to_vec());
        }
    }
    let ok = resp(&[&["SET", "a", "1"]]);
    for junk in [&b"garbage\r\n"[..], b"*2\r\n$3\r\nGET\r\n$x\r\n", b"*1\r\n$4\r\nEXEC\r\n", b"*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nMULTI\r\n"]
    {
        let mut c = ok.clone();
        c.extend_from_slice(junk);
        c.extend_from_slice(&ok);
        cases.push(c);
    }
    let mut problems = 0;
    for content in &cases {
        std::fs::write(dir.join("appendonly.aof"), content).unwrap();
        let (lines, code) = real(&dir, &["appendonly.aof"], "n\n");
        let real_cut = lines.iter().find_map(|l| l.split("ok_up_to=").nth(1)).map(|v| v.split(',').next().unwrap().parse::<u64>().unwrap());
        let (records, cut) = aof_lab::aof::inspect::dump_file(content, true);
        let rdb_error = lines.iter().any(|l| l.contains("RDB preamble of AOF file is not sane"));
        let ours = cut.as_ref().map(|c| (c.offset, c.fixable));
        let want = match (code, rdb_error) {
            (0, _) => None,
            (_, true) => Some((ours.map_or(0, |o| o.0), false)),
            _ => real_cut.filter(|&c| c < content.len() as u64).map(|c| (c, true)),
        };
        // Records tile the file, and those at or after the cut are flagged.
        let tiles = records.windows(2).all(|w| w[0].offset + w[0].len == w[1].offset)
            && records.last().is_none_or(|r| r.offset + r.len == content.len() as u64);
        let flagged = records.iter().all(|r| r.cut == cut.as_ref().is_some_and(|c| r.offset >= c.offset));
        if ours != want || !tiles || !flagged {
            problems += 1;
            eprintln!(
                "MISMATCH on {:?}: real {code} {lines:?}, ours {cut:?} (tiles {tiles}, flagged {flagged})",
                String::from_utf8_lossy(content)
            );
        }
    }
    assert_eq!(problems, 0, "{problems} of {} cases differ (see stderr)", cases.len());
    std::fs::remove_dir_all(&dir).ok();
}
