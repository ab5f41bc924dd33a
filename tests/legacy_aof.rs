//! `lab-aof-mode 6.2`: Redis 6.2's single `appendonly.aof` and its rewrite buffer, on the
//! simulated disk. A rewrite stepped over many cron ticks with writes in flight loses and doubles
//! nothing (the Redis test suite's aof-race idea), the file stays single, INFO shows the rewrite
//! buffer, and every failure leaves the old file authoritative and loadable.

use aof_lab::aof::check::{self, Mode};
use aof_lab::aof::inspect::RecordKind;
use aof_lab::storage::{MemoryStorage, Storage};
use aof_lab::{Config, Engine, Reply};

const T0: i64 = 1_795_460_544_000;

fn cfg(appendonly: bool, preamble: bool) -> Config {
    let mut c = Config { appendonly, aof_use_rdb_preamble: preamble, ..Config::default() };
    c.set("lab-aof-mode", "6.2", true).unwrap();
    c
}

fn open(config: Config, storage: Box<dyn Storage>) -> Engine {
    Engine::open(config, storage, T0).map_err(|e| e.lines).unwrap()
}

/// One event-loop turn: the command, then beforeSleep.
fn turn(e: &mut Engine, line: &str, now: i64) -> Reply {
    let r = e.execute_line(1, line, now).unwrap();
    e.before_sleep(now);
    r
}

fn info(e: &mut Engine, now: i64) -> String {
    let Reply::Verbatim(_, b) = turn(e, "INFO persistence", now) else { panic!("INFO") };
    String::from_utf8(b).unwrap()
}

fn field(info: &str, name: &str) -> String {
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} missing in {info}")).to_string()
}

fn digest(e: &mut Engine, now: i64) -> Reply {
    turn(e, "DEBUG DIGEST", now)
}

fn logs(e: &mut Engine) -> Vec<String> {
    e.take_log().into_iter().map(|l| l.text).collect()
}

fn files(e: &mut Engine) -> Vec<String> {
    e.srv.storage.list(None).unwrap()
}

const DATA: &[&str] = &[
    "SET s v",
    "SET n 12345",
    "RPUSH l a b c",
    "HSET h f v g w",
    "SADD set 1 2 3",
    "SADD tags x y z",
    "ZADD z 1 a 2.5 b",
    "SET ttl v EX 100000",
    "SELECT 3",
    "SET db3 y",
    "SELECT 0",
];

fn load_data(e: &mut Engine, now: i64) {
    assert!(e.connect() == 1);
    for line in DATA {
        turn(e, line, now);
    }
    for i in 0..100 {
        turn(e, &format!("RPUSH biglist {}", "e".repeat(i)), now);
    }
}

#[test]
fn the_setting_is_hidden_and_immutable() {
    let mut e = open(cfg(false, true), Box::new(MemoryStorage::new()));
    e.connect();
    assert_eq!(turn(&mut e, "CONFIG GET lab-aof-mode", T0), Reply::Map(vec![(Reply::bulk("lab-aof-mode"), Reply::bulk("6.2"))]));
    assert_eq!(turn(&mut e, "CONFIG GET lab-*", T0), Reply::Map(vec![]));
    assert_eq!(
        turn(&mut e, "CONFIG SET lab-aof-mode 7.0", T0),
        Reply::err("ERR CONFIG SET failed (possibly related to argument 'lab-aof-mode') - can't set immutable config")
    );
    assert_eq!(Config::default().get("lab-aof-mode").as_deref(), Some("7.0"));
    assert!(Config::default().set("lab-aof-mode", "6.3", true).is_err());
}

#[test]
fn fresh_start_creates_an_empty_single_file() {
    let mut e = open(cfg(true, true), Box::new(MemoryStorage::new()));
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()]);
    assert!(!e.srv.storage.dir_exists("appendonlydir"));
    e.connect();
    turn(&mut e, "SET k v", T0);
    assert_eq!(
        e.srv.storage.read_all("appendonly.aof").unwrap(),
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    );
    let i = info(&mut e, T0);
    assert_eq!(field(&i, "aof_current_size"), "50");
    assert_eq!(field(&i, "aof_base_size"), "0");
    assert_eq!(field(&i, "aof_rewrite_buffer_length"), "0");
    assert!(!i.contains("aof_rewrites:"), "6.2 has no rewrite counters: {i}");
    // Restart: aof_base_size is the whole file in 6.2.
    let storage = e.take_storage();
    let mut e = open(cfg(true, true), storage);
    e.connect();
    let i = info(&mut e, T0);
    assert_eq!((field(&i, "aof_current_size"), field(&i, "aof_base_size")), ("50".into(), "50".into()));
    assert_eq!(turn(&mut e, "GET k", T0), Reply::bulk("v"));
}

/// The aof-race: increments interleaved with a rewrite that takes many ticks, in both base
/// formats. Some land before the snapshot is done (sent to the child through the pipe), some
/// after the child asked to stop (the residual the parent appends).
#[test]
fn increments_during_a_stepped_rewrite_are_kept() {
    for preamble in [true, false] {
        let mut e = open(cfg(true, preamble), Box::new(MemoryStorage::new()));
        let mut now = T0;
        load_data(&mut e, now);
        e.srv.config.lab_rewrite_keys_per_tick = 1; // was 64 bytes
        assert_eq!(turn(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting started"));
        assert_eq!(turn(&mut e, "BGREWRITEAOF", now), Reply::err("ERR Background append only file rewriting already in progress"));
        let mut n = 0;
        let mut ticks = 0;
        let mut max_buffer = 0u64;
        let mut residual_seen = false;
        while e.srv.aof.child.is_some() {
            for _ in 0..7 {
                assert_eq!(turn(&mut e, "INCR counter", now), Reply::Int(n + 1));
                n += 1;
            }
            turn(&mut e, "SELECT 5", now);
            turn(&mut e, "INCR other", now);
            turn(&mut e, "SELECT 0", now);
            let i = info(&mut e, now);
            assert_eq!(field(&i, "aof_rewrite_in_progress"), "1");
            let buffered: u64 = field(&i, "aof_rewrite_buffer_length").parse().unwrap();
            assert_eq!(buffered, e.srv.aof_rewrite_buffer_length());
            assert!(buffered > 0, "writes in flight are in the rewrite buffer");
            max_buffer = max_buffer.max(buffered);
            residual_seen |= e.srv.aof.legacy.stop_sending_diff;
            now += 100;
            e.cron(now);
            ticks += 1;
            assert!(ticks < 1000, "the rewrite never ended");
        }
        assert!(ticks > 5, "stepped over many ticks ({ticks})");
        assert!(residual_seen, "some writes came after the stop-sending handshake");
        let log = logs(&mut e);
        for expected in [
            "AOF rewrite child asks to stop sending diffs.",
            "Parent agreed to stop sending diffs. Finalizing AOF...",
            "SYNC append only file rewrite performed",
            "AOF rewrite: 0 MB of memory used by copy-on-write",
            "Background AOF rewrite terminated with success",
            "Residual parent diff successfully flushed to the rewritten AOF (0.00 MB)",
            "Background AOF rewrite finished successfully",
        ] {
            assert!(log.iter().any(|l| l == expected), "missing {expected:?} in {log:?}");
        }
        // The diff the child received through the pipe (its size depends on the base format).
        assert!(log.iter().any(|l| l.starts_with("Concatenating 0.0") && l.ends_with(" MB of AOF diff received from parent.")), "{log:?}");
        let i = info(&mut e, now);
        assert_eq!(field(&i, "aof_rewrite_buffer_length"), "0");
        assert_eq!(field(&i, "aof_rewrite_in_progress"), "0");
        assert_eq!(field(&i, "aof_last_bgrewrite_status"), "ok");
        assert_eq!(field(&i, "aof_base_size"), field(&i, "aof_current_size"));
        assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()], "one file, no temp file, no appendonlydir");
        let bytes = e.srv.storage.read_all("appendonly.aof").unwrap();
        assert_eq!(bytes.starts_with(b"REDIS0010"), preamble);
        assert_eq!(field(&i, "aof_current_size"), bytes.len().to_string());
        // Writes after the swap are appended to the new file, starting with a SELECT.
        turn(&mut e, "INCR counter", now);
        n += 1;
        let after = e.srv.storage.read_all("appendonly.aof").unwrap();
        assert_eq!(&after[bytes.len()..], b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n");

        let before = digest(&mut e, now);
        assert_eq!(turn(&mut e, "DEBUG LOADAOF", now), Reply::ok());
        assert_eq!(digest(&mut e, now), before, "preamble {preamble}");
        assert_eq!(turn(&mut e, "GET counter", now), Reply::bulk(n.to_string()));
        // redis-check-aof accepts the file.
        let report = check::check(e.srv.storage.as_mut(), "appendonly.aof", Mode::Check, &mut |_| false);
        assert_eq!(report.exit_code, 0, "{}", report.output);
        // `aof-lab inspect` walks it: the preamble (or none), then commands, nothing invalid.
        let text = aof_lab::aof::inspect::to_text(e.srv.storage.as_mut(), "appendonly.aof").unwrap();
        assert!(text.starts_with("appendonly.aof  "), "one file: {text}");
        let data = e.srv.storage.read_all("appendonly.aof").unwrap();
        let (records, _) = aof_lab::aof::inspect::dump_file(&data, true);
        assert!(!records.iter().any(|r| matches!(r.kind, RecordKind::Invalid(_))), "{text}");
        assert_eq!(matches!(records.first().map(|r| &r.kind), Some(RecordKind::Rdb { version: 10 })), preamble);
        assert!(text.contains("INCR"), "{text}");
        // And a restart loads the same dataset.
        let storage = e.take_storage();
        let mut e = open(cfg(true, preamble), storage);
        e.connect();
        assert_eq!(digest(&mut e, now), before);
        assert_eq!(turn(&mut e, "GET counter", now), Reply::bulk(n.to_string()));
        assert_eq!(turn(&mut e, "SELECT 5", now), Reply::ok());
        assert_eq!(turn(&mut e, "GET other", now), Reply::bulk((ticks).to_string()));
    }
}

#[test]
fn a_rewrite_in_one_tick_and_the_residual_diff() {
    let mut e = open(cfg(true, true), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    turn(&mut e, "BGREWRITEAOF", now);
    turn(&mut e, "SET during snapshot", now);
    now += 100;
    e.cron(now); // the whole snapshot; the diff so far goes to the child
    assert_eq!(e.srv.aof_rewrite_buffer_length(), 0);
    turn(&mut e, "SET during finish", now);
    now += 100;
    e.cron(now); // handshake, concatenation, exit
    assert!(e.srv.aof.legacy.stop_sending_diff);
    turn(&mut e, "SET residual 1", now);
    turn(&mut e, "SET residual 2", now);
    let residual = e.srv.aof_rewrite_buffer_length();
    assert_eq!(residual, 2 * 34);
    // The old file got everything too: it stays valid until the rename.
    let old = e.srv.storage.read_all("appendonly.aof").unwrap();
    assert!(old.ends_with(b"*3\r\n$3\r\nSET\r\n$8\r\nresidual\r\n$1\r\n2\r\n"));
    now += 100;
    e.cron(now);
    assert!(e.srv.aof.child.is_none());
    let new = e.srv.storage.read_all("appendonly.aof").unwrap();
    assert!(new.starts_with(b"REDIS0010"));
    assert!(new.ends_with(b"*3\r\n$3\r\nSET\r\n$8\r\nresidual\r\n$1\r\n2\r\n"));
    let d = digest(&mut e, now);
    turn(&mut e, "DEBUG LOADAOF", now);
    assert_eq!(digest(&mut e, now), d);
    assert_eq!(turn(&mut e, "GET during", now), Reply::bulk("finish"));
    assert_eq!(turn(&mut e, "GET residual", now), Reply::bulk("2"));
}

/// The disk fills while the child writes its temp file: the child exits 1, the temp file goes,
/// the rewrite buffer is freed, `appendonly.aof` keeps every write (including those made during
/// the failed rewrite) and loads.
#[test]
fn disk_full_during_the_rewrite_keeps_the_old_file() {
    let mut e = open(cfg(true, false), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    let used: u64 = files(&mut e).iter().map(|f| e.srv.storage.len(f).unwrap()).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 3000);
    e.srv.config.lab_rewrite_keys_per_tick = 1; // was 1000 bytes
    turn(&mut e, "BGREWRITEAOF", now);
    for _ in 0..10 {
        turn(&mut e, "INCR counter", now);
        now += 100;
        e.cron(now);
    }
    assert!(e.srv.aof.child.is_none(), "the failed child was reaped");
    let log = logs(&mut e);
    assert!(log.contains(&"Write error writing append only file on disk: No space left on device".to_string()), "{log:?}");
    assert!(log.contains(&"Background AOF rewrite terminated with error".to_string()), "{log:?}");
    let i = info(&mut e, now);
    assert_eq!(field(&i, "aof_last_bgrewrite_status"), "err");
    assert_eq!(field(&i, "aof_rewrite_buffer_length"), "0");
    assert_eq!(field(&i, "aof_last_write_status"), "ok");
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()]);
    let d = digest(&mut e, now);
    e.srv.storage.as_memory().unwrap().capacity = None;
    let storage = e.take_storage();
    let mut e = open(cfg(true, false), storage);
    e.connect();
    assert_eq!(digest(&mut e, now), d);
    assert_eq!(turn(&mut e, "GET counter", now), Reply::bulk("10"));
}

/// 6.2 quirks of the parent's part: a failed residual write leaves the old file, and the
/// status untouched; a child killed by a signal is an error, SIGUSR1 (Redis's own kill) is not.
#[test]
fn residual_write_failure_and_killed_children() {
    let mut e = open(cfg(true, true), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    turn(&mut e, "BGREWRITEAOF", now);
    now += 100;
    e.cron(now);
    now += 100;
    e.cron(now); // the child has exited 0
    turn(&mut e, "SET residual x", now);
    let old = e.srv.storage.read_all("appendonly.aof").unwrap();
    let used: u64 = files(&mut e).iter().map(|f| e.srv.storage.len(f).unwrap()).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used);
    now += 100;
    e.cron(now);
    let log = logs(&mut e);
    assert!(log.contains(&"Error trying to flush the parent diff to the rewritten AOF: No space left on device".to_string()), "{log:?}");
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()], "temp file removed");
    assert_eq!(e.srv.storage.read_all("appendonly.aof").unwrap(), old);
    assert_eq!(field(&info(&mut e, now), "aof_last_bgrewrite_status"), "ok", "6.2 does not flag a failed residual write");
    e.srv.storage.as_memory().unwrap().capacity = None;

    for (signal, status) in [(9, "err"), (10, "ok")] {
        e.srv.aof.last_bgrewrite_failed = false;
        turn(&mut e, "BGREWRITEAOF", now);
        now += 100;
        e.cron(now); // the snapshot is in the temp file
        assert!(files(&mut e).iter().any(|f| f.starts_with("temp-rewriteaof-")));
        turn(&mut e, "SET during-kill x", now);
        e.srv.legacy_child_killed(signal);
        now += 100;
        e.cron(now);
        assert!(logs(&mut e).contains(&format!("Background AOF rewrite terminated by signal {signal}")));
        let i = info(&mut e, now);
        assert_eq!(field(&i, "aof_last_bgrewrite_status"), status);
        assert_eq!(field(&i, "aof_rewrite_buffer_length"), "0");
        assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()]);
    }
    let d = digest(&mut e, now);
    turn(&mut e, "DEBUG LOADAOF", now);
    assert_eq!(digest(&mut e, now), d);
}

/// CONFIG SET appendonly yes (6.2's startAppendOnly): the file is opened at once, the rewrite
/// writes it; meanwhile writes go to the rewrite buffer only. appendonly no kills the child.
#[test]
fn turning_the_aof_on_and_off_at_runtime() {
    let mut e = open(cfg(false, true), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    assert!(files(&mut e).is_empty());
    assert_eq!(turn(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()]);
    assert_eq!(e.srv.storage.len("appendonly.aof").unwrap(), 0);
    turn(&mut e, "SET waiting 1", now);
    assert_eq!(e.aof_buf(), b"", "WAIT_REWRITE: nothing for aof_buf");
    let i = info(&mut e, now);
    assert_eq!(field(&i, "aof_enabled"), "1");
    assert_eq!(field(&i, "aof_rewrite_buffer_length"), "56");
    assert_eq!(e.srv.storage.len("appendonly.aof").unwrap(), 0);
    for _ in 0..3 {
        now += 100;
        e.cron(now);
    }
    assert_eq!(e.srv.aof_state, aof_lab::server::AofState::On);
    turn(&mut e, "SET after on", now);
    let d = digest(&mut e, now);
    let storage = e.take_storage();
    let mut e = open(cfg(true, true), storage);
    e.connect();
    assert_eq!(digest(&mut e, now), d);

    // appendonly no during a rewrite: the child is killed, its temp file removed, the file stays.
    turn(&mut e, "BGREWRITEAOF", now);
    now += 100;
    e.cron(now);
    turn(&mut e, "SET late write", now);
    assert!(e.srv.aof_rewrite_buffer_length() > 0);
    assert_eq!(turn(&mut e, "CONFIG SET appendonly no", now), Reply::ok());
    let log = logs(&mut e);
    assert!(log.iter().any(|l| l.starts_with("Killing running AOF rewrite child: ")), "{log:?}");
    assert_eq!(e.srv.aof_rewrite_buffer_length(), 0);
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()]);
    let d = digest(&mut e, now);
    turn(&mut e, "SET notlogged x", now);
    // A one-off BGREWRITEAOF with the AOF off rewrites the file from the snapshot.
    turn(&mut e, "DEL notlogged", now);
    turn(&mut e, "BGREWRITEAOF", now);
    for _ in 0..3 {
        now += 100;
        e.cron(now);
    }
    assert_eq!(field(&info(&mut e, now), "aof_last_bgrewrite_status"), "ok");
    let storage = e.take_storage();
    let mut e = open(cfg(true, true), storage);
    e.connect();
    assert_eq!(digest(&mut e, now), d);
}

/// A 6.2 file (RDB preamble + RESP tail) loads in both modes; 7.0 mode migrates it into
/// appendonlydir as its base.
#[test]
fn a_preamble_plus_tail_file_loads_in_both_modes() {
    let mut e = open(cfg(true, true), Box::new(MemoryStorage::new()));
    let now = T0;
    load_data(&mut e, now);
    turn(&mut e, "BGREWRITEAOF", now);
    for t in 1..=3 {
        e.cron(now + t * 100);
    }
    turn(&mut e, "SET tail 1", now);
    turn(&mut e, "HSET h tail 2", now);
    let bytes = e.srv.storage.read_all("appendonly.aof").unwrap();
    assert!(bytes.starts_with(b"REDIS") && bytes.ends_with(b"tail\r\n$1\r\n2\r\n"));
    let d = digest(&mut e, now);
    for legacy in [true, false] {
        let mut s = MemoryStorage::new();
        s.open("appendonly.aof", aof_lab::storage::OpenMode::Create).unwrap();
        s.write_at("appendonly.aof", 0, &bytes).unwrap();
        let config = if legacy { cfg(true, true) } else { Config { appendonly: true, ..Config::default() } };
        let mut e2 = open(config, Box::new(s));
        e2.connect();
        assert_eq!(digest(&mut e2, now), d, "legacy {legacy}");
        let log = logs(&mut e2);
        assert!(log.contains(&"Reading RDB preamble from AOF file...".to_string()), "{log:?}");
        assert!(log.contains(&"Reading the remaining AOF tail...".to_string()), "{log:?}");
        assert_eq!(e2.srv.storage.dir_exists("appendonlydir"), !legacy);
    }
}

/// A cut-off tail is truncated on disk at start (aof-load-truncated yes), as 6.2 does.
#[test]
fn truncated_tail_is_cut_at_start() {
    let mut e = open(cfg(true, false), Box::new(MemoryStorage::new()));
    e.connect();
    turn(&mut e, "SET a 1", T0);
    turn(&mut e, "SET b 2", T0);
    let mut storage = e.take_storage();
    let full = storage.len("appendonly.aof").unwrap();
    storage.truncate("appendonly.aof", full - 3).unwrap();
    let mut e = open(cfg(true, false), storage);
    e.connect();
    assert_eq!(e.srv.storage.len("appendonly.aof").unwrap(), 50);
    assert_eq!(turn(&mut e, "GET a", T0), Reply::bulk("1"));
    assert_eq!(turn(&mut e, "EXISTS b", T0), Reply::Int(0));
    let log = logs(&mut e);
    assert!(log.iter().any(|l| l.starts_with("!!! Truncating the AOF appendonly.aof at offset 50")), "{log:?}");
    // The next write goes right after the cut.
    turn(&mut e, "SET c 3", T0);
    let storage = e.take_storage();
    let mut e = open(cfg(true, false), storage);
    e.connect();
    assert_eq!(turn(&mut e, "GET c", T0), Reply::bulk("3"));
}

/// Power loss at every turn of a stepped rewrite under `appendfsync always`: the restart always
/// loads, and loads every acknowledged write, except in 6.2's known window: the rename over
/// `appendonly.aof` is not followed by a directory fsync, so until the kernel writes the
/// directory back (30 s here) a power loss brings the old file back, without the writes made
/// since the swap. 7.0 fsyncs the directory after each manifest change.
#[test]
fn power_loss_during_and_after_a_rewrite() {
    let mut config = cfg(true, true);
    config.appendfsync = aof_lab::config::AppendFsync::Always;
    let mut e = open(config.clone(), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    now += 31_000;
    e.before_sleep(now); // the kernel has written the directory back: appendonly.aof is durable
    let Reply::Int(keys) = turn(&mut e, "DBSIZE", now) else { panic!("DBSIZE") };
    e.srv.config.lab_rewrite_keys_per_tick = 1; // was 300 bytes
    turn(&mut e, "BGREWRITEAOF", now);
    let mut acked = 0;
    let mut at_swap: Option<(i64, i64)> = None;
    let mut lost_after_swap = 0;
    for step in 0..200 {
        assert_eq!(turn(&mut e, "INCR counter", now), Reply::Int(acked + 1));
        acked += 1;
        let mut crashed = e.srv.storage.as_memory().unwrap().clone();
        crashed.power_loss();
        let mut r = Engine::open(config.clone(), Box::new(crashed), now).unwrap_or_else(|_| panic!("step {step}: unloadable"));
        r.connect();
        assert_eq!(turn(&mut r, "DBSIZE", now), Reply::Int(keys + 1), "step {step}: never a mix");
        let Reply::Bulk(c) = turn(&mut r, "GET counter", now) else { panic!("step {step}: counter missing") };
        let c: i64 = String::from_utf8(c).unwrap().parse().unwrap();
        match at_swap {
            None => assert_eq!(c, acked, "step {step}: before the swap the old file has everything"),
            Some(swap) if now < swap.1 + 30_000 => {
                assert_eq!(c, swap.0, "step {step}: the rename is not durable yet");
                lost_after_swap += 1;
            }
            Some(_) => assert_eq!(c, acked, "step {step}: the directory was written back"),
        }
        if e.srv.aof.child.is_some() {
            now += 100;
            e.cron(now);
            if e.srv.aof.child.is_none() {
                at_swap = Some((acked, now));
            }
        } else {
            now += 5_000;
            e.before_sleep(now);
        }
        if at_swap.is_some_and(|s| now > s.1 + 40_000) {
            break;
        }
    }
    assert!(at_swap.is_some() && lost_after_swap > 3, "the window was observed ({lost_after_swap} turns)");
}

/// Automatic rewrite with 6.2's sizes: after a restart `aof_base_size` is the whole file, so
/// the growth is counted from there (7.0 counts from the base alone).
#[test]
fn automatic_rewrite_counts_from_the_whole_file_after_restart() {
    let mut config = cfg(true, false);
    config.set("auto-aof-rewrite-min-size", "1kb", true).unwrap();
    let mut e = open(config.clone(), Box::new(MemoryStorage::new()));
    e.connect();
    let mut now = T0;
    for i in 0..30 {
        turn(&mut e, &format!("SET key{i} {}", "v".repeat(40)), now);
    }
    let size = e.srv.storage.len("appendonly.aof").unwrap();
    assert!(size > 1024);
    let storage = e.take_storage();
    let mut e = open(config, storage);
    e.connect();
    let i = info(&mut e, now);
    assert_eq!(field(&i, "aof_base_size"), size.to_string());
    // Just under 100% growth: nothing; one more write crosses it.
    let mut n = 0;
    while e.srv.storage.len("appendonly.aof").unwrap() + 60 < 2 * size {
        turn(&mut e, &format!("SET more{n} {}", "w".repeat(20)), now);
        n += 1;
        now += 100;
        e.cron(now);
        assert!(e.srv.aof.child.is_none(), "no rewrite below 100% growth");
    }
    for _ in 0..3 {
        turn(&mut e, &format!("SET more{n} {}", "w".repeat(20)), now);
        n += 1;
    }
    now += 100;
    e.cron(now);
    let log = logs(&mut e);
    assert!(log.iter().any(|l| l.starts_with("Starting automatic rewriting of AOF on 10") && l.ends_with("% growth")), "{log:?}");
    for _ in 0..3 {
        now += 100;
        e.cron(now);
    }
    let i = info(&mut e, now);
    assert_eq!(field(&i, "aof_rewrite_in_progress"), "0");
    assert_eq!(field(&i, "aof_base_size"), e.srv.storage.len("appendonly.aof").unwrap().to_string());
    assert!(logs(&mut e).contains(&"Background AOF rewrite finished successfully".to_string()));
}

/// CONFIG SET appendonly yes while a BGSAVE child runs (6.2's startAppendOnly): no second child;
/// the rewrite is scheduled and starts from cron once the BGSAVE is done.
#[test]
fn appendonly_yes_during_a_bgsave_schedules_the_rewrite() {
    let mut e = open(cfg(false, true), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    e.srv.config.lab_rewrite_keys_per_tick = 1;
    assert_eq!(turn(&mut e, "BGSAVE", now), Reply::status("Background saving started"));
    logs(&mut e);
    assert_eq!(turn(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    let log = logs(&mut e);
    assert!(
        log.contains(
            &"AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
                .to_string()
        ),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("Background append only file rewriting started")), "{log:?}");
    assert!(e.srv.aof.child.is_none(), "no second child");
    assert!(e.srv.rdb.child.is_some());
    assert!(e.srv.aof.rewrite_scheduled);
    assert_eq!(e.srv.aof_state, aof_lab::server::AofState::WaitRewrite);
    assert_eq!(files(&mut e).iter().filter(|f| f.as_str() == "appendonly.aof").count(), 1, "the file is opened at once");
    turn(&mut e, "SET during bgsave", now);
    let mut ticks = 0;
    while e.srv.aof_state != aof_lab::server::AofState::On {
        assert!(!(e.srv.aof.child.is_some() && e.srv.rdb.child.is_some()), "two children at once");
        now += 100;
        e.cron(now);
        ticks += 1;
        assert!(ticks < 2000, "the AOF never turned on");
    }
    let log = logs(&mut e);
    let saved = log.iter().position(|l| l == "Background saving terminated with success").expect("bgsave done");
    let started = log.iter().position(|l| l.starts_with("Background append only file rewriting started")).expect("rewrite started");
    assert!(saved < started, "{log:?}");
    turn(&mut e, "SET after on", now);
    let d = digest(&mut e, now);
    let storage = e.take_storage();
    let mut e = open(cfg(true, true), storage);
    e.connect();
    assert_eq!(digest(&mut e, now), d);
    assert_eq!(turn(&mut e, "GET during", now), Reply::bulk("bgsave"));
}

/// SHUTDOWN during a 6.2 rewrite kills the child with 6.2's killAppendOnlyChild: the rewrite
/// buffer, the stop-sending flag and the child's state go with it (nothing left for a later cron).
#[test]
fn shutdown_kills_the_legacy_child_and_its_buffer() {
    let mut e = open(cfg(true, true), Box::new(MemoryStorage::new()));
    let mut now = T0;
    load_data(&mut e, now);
    e.srv.config.lab_rewrite_keys_per_tick = 1;
    turn(&mut e, "BGREWRITEAOF", now);
    now += 100;
    e.cron(now);
    turn(&mut e, "SET in-flight x", now);
    assert!(e.srv.aof_rewrite_buffer_length() > 0 || e.srv.aof.legacy.child.as_ref().is_some_and(|c| !c.diff.is_empty()));
    assert!(files(&mut e).iter().any(|f| f.starts_with("temp-rewriteaof-")));
    logs(&mut e);
    assert!(e.srv.shutdown_save(false, true, false).is_ok());
    let log = logs(&mut e);
    assert!(log.contains(&"There is a child rewriting the AOF. Killing it!".to_string()), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("Killing running AOF rewrite child: ")), "{log:?}");
    assert!(e.srv.aof.child.is_none());
    assert!(e.srv.aof.legacy.child.is_none(), "the 6.2 child state is gone");
    assert_eq!(e.srv.aof_rewrite_buffer_length(), 0);
    assert!(!e.srv.aof.legacy.stop_sending_diff);
    assert_eq!(files(&mut e), vec!["appendonly.aof".to_string()], "temp files removed");
}
