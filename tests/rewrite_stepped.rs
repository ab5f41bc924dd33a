//! The stepped child (`lab-rewrite-keys-per-tick`): a rewrite or a BGSAVE that takes many cron
//! ticks while writes go on, on the simulated disk. Nothing written during the rewrite is lost
//! or doubled, the INFO progress fields move, a killed or failing child leaves no temp file,
//! `no-appendfsync-on-rewrite` holds fsyncs back while a child runs, and the save points and the
//! one-child rule work with a child that is still running.

use aof_lab::storage::{MemoryStorage, Storage};
use aof_lab::{Config, Engine, Reply};

const START: i64 = 1_800_000_000_000;

fn engine(extra: &[(&str, &str)]) -> Engine {
    let mut cfg = Config { appendonly: true, ..Config::default() };
    for (k, v) in extra {
        cfg.set(k, v, true).unwrap();
    }
    Engine::open(cfg, Box::new(MemoryStorage::new()), START).map_err(|e| e.lines).unwrap()
}

fn run(e: &mut Engine, line: &str, now: i64) -> Reply {
    let r = e.execute_line(1, line, now).unwrap();
    e.before_sleep(now);
    r
}

fn info(e: &mut Engine, now: i64) -> std::collections::HashMap<String, String> {
    let Reply::Verbatim(_, text) = e.execute_line(1, "INFO persistence", now).unwrap() else { panic!() };
    String::from_utf8(text).unwrap().lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn digest(e: &mut Engine, now: i64) -> Reply {
    e.execute_line(1, "DEBUG DIGEST", now).unwrap()
}

/// 300 keys of every type over three dbs, some with TTLs.
fn populate(e: &mut Engine, now: i64) {
    for db in [0, 2, 7] {
        run(e, &format!("SELECT {db}"), now);
        for i in 0..100 {
            let line = match i % 5 {
                0 => format!("SET s{i} value-{i}"),
                1 => format!("RPUSH l{i} a b c {i}"),
                2 => format!("SADD set{i} {i} x y"),
                3 => format!("HSET h{i} f {i} g 2"),
                _ => format!("ZADD z{i} 1.5 a {i} b"),
            };
            assert!(!run(e, &line, now).is_error(), "{line}");
            if i % 7 == 0 {
                run(e, &format!("EXPIRE s{i} 100000"), now);
            }
        }
    }
    run(e, "SELECT 0", now);
}

#[test]
fn stepped_rewrite_under_write_load_keeps_every_write() {
    for preamble in ["yes", "no"] {
        let mut e = engine(&[("lab-rewrite-keys-per-tick", "10"), ("aof-use-rdb-preamble", preamble)]);
        e.connect();
        let mut now = START;
        populate(&mut e, now);
        assert_eq!(run(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting started"));
        let mut ticks = 0;
        let mut incrs = 0;
        let mut last_processed = 0;
        while e.srv.aof.child.is_some() {
            // The aof-race idea: increments, overwrites, deletions and new keys while the child
            // writes the snapshot; some keys it has already written, some it has not.
            for _ in 0..3 {
                run(&mut e, "INCR counter", now);
                incrs += 1;
            }
            run(&mut e, &format!("SET s{} changed-{ticks}", (ticks * 5) % 100), now);
            run(&mut e, &format!("DEL l{}", (ticks * 5 + 1) % 100), now);
            run(&mut e, &format!("SADD set{} new{ticks}", (ticks * 5 + 2) % 100), now);
            run(&mut e, &format!("SET new{ticks} x"), now);
            if ticks == 5 {
                let i = info(&mut e, now);
                assert_eq!(i["aof_rewrite_in_progress"], "1");
                assert_eq!(i["current_save_keys_total"], "300");
                let processed: u64 = i["current_save_keys_processed"].parse().unwrap();
                assert_eq!(processed, 50, "10 keys per tick, 5 ticks");
                assert_eq!(i["current_fork_perc"], "16.67");
                assert!(i["current_cow_size"].parse::<u64>().unwrap() > 0, "keys changed after the fork count as copied");
                assert_eq!(i["aof_current_rewrite_time_sec"], "0");
                assert_eq!(i["rdb_bgsave_in_progress"], "0");
                last_processed = processed;
            }
            now += 100;
            e.cron(now);
            ticks += 1;
            assert!(ticks < 1000);
        }
        assert!(last_processed > 0);
        assert_eq!(ticks, 30, "300 keys, 10 per tick: the child finished in the 30th tick");
        let i = info(&mut e, now);
        assert_eq!((i["aof_rewrite_in_progress"].as_str(), i["aof_last_bgrewrite_status"].as_str()), ("0", "ok"));
        assert_eq!((i["current_save_keys_total"].as_str(), i["current_fork_perc"].as_str()), ("0", "0.00"));
        assert_eq!(i["aof_last_rewrite_time_sec"], "3", "30 ticks of 100 ms: 3 s, counted from the fork");
        assert!(e.srv.aof.last_cow_size > 0);
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        let manifest = String::from_utf8(e.srv.storage.read_all("appendonlydir/appendonly.aof.manifest").unwrap()).unwrap();
        assert_eq!(manifest, format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"));
        assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-")));
        let before = digest(&mut e, now);
        assert_eq!(run(&mut e, "DEBUG LOADAOF", now), Reply::ok());
        assert_eq!(digest(&mut e, now), before, "preamble {preamble}");
        assert_eq!(run(&mut e, "GET counter", now), Reply::bulk(incrs.to_string()));
        // And once more from a restart on the same disk.
        let storage = e.take_storage();
        let mut cfg = Config { appendonly: true, ..Config::default() };
        cfg.set("aof-use-rdb-preamble", preamble, true).unwrap();
        let mut e2 = Engine::open(cfg, storage, now).map_err(|e| e.lines).unwrap();
        e2.connect();
        assert_eq!(digest(&mut e2, now), before);
    }
}

#[test]
fn the_stepped_base_is_the_one_shot_base() {
    // The same dataset rewritten with 7 keys per tick and in one tick: identical base files.
    let mut bases = Vec::new();
    for per_tick in ["7", "0"] {
        let mut e = engine(&[("lab-rewrite-keys-per-tick", per_tick)]);
        e.connect();
        populate(&mut e, START);
        run(&mut e, "BGREWRITEAOF", START);
        let mut now = START;
        while e.srv.aof.child.is_some() {
            now += 100;
            e.cron(now);
        }
        let base = e.srv.storage.read_all("appendonlydir/appendonly.aof.2.base.rdb").unwrap();
        bases.push(base);
    }
    assert_eq!(bases[0], bases[1]);
}

#[test]
fn killed_or_failing_child_leaves_no_temp_file() {
    let mut e = engine(&[("lab-rewrite-keys-per-tick", "20")]);
    e.connect();
    let mut now = START;
    populate(&mut e, now);
    run(&mut e, "BGREWRITEAOF", now);
    let pid = e.srv.aof.child.as_ref().unwrap().pid;
    let tmp = format!("temp-rewriteaof-{pid}.aof");
    for _ in 0..3 {
        now += 100;
        e.cron(now);
    }
    assert!(e.srv.storage.len(&tmp).unwrap() > 0, "the child has written part of its temp file");
    assert_eq!(run(&mut e, "CONFIG SET appendonly no", now), Reply::ok());
    assert!(!e.srv.storage.exists(&tmp), "killAppendOnlyChild removes the temp file");
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&format!("Killing running AOF rewrite child: {pid}")), "{log:?}");
    let i = info(&mut e, now);
    assert_eq!((i["aof_rewrite_in_progress"].as_str(), i["aof_last_bgrewrite_status"].as_str()), ("0", "ok"), "a kill is no failure");
    // The incr file opened at the start stays in the manifest.
    let manifest = String::from_utf8(e.srv.storage.read_all("appendonlydir/appendonly.aof.manifest").unwrap()).unwrap();
    assert_eq!(manifest.matches("type i").count(), 2, "{manifest}");

    // Disk full in the middle of the child's work.
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    while e.srv.aof.child.is_some() {
        now += 100;
        e.cron(now);
    }
    run(&mut e, "BGREWRITEAOF", now);
    let pid = e.srv.aof.child.as_ref().unwrap().pid;
    let used: u64 = e.srv.storage.list(None).unwrap().iter().map(|f| e.srv.storage.len(f).unwrap_or(0)).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 1500);
    let mut ticks = 0;
    while e.srv.aof.child.is_some() {
        now += 100;
        e.cron(now);
        ticks += 1;
    }
    assert!(ticks > 1, "it failed part-way, not at once");
    assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-")), "no temp-rewriteaof-{pid} left");
    let i = info(&mut e, now);
    assert_eq!(i["aof_last_bgrewrite_status"], "err");
    assert_eq!(i["aof_rewrites_consecutive_failures"], "1");
    e.srv.storage.as_memory().unwrap().capacity = None;
    run(&mut e, "SET after-failure 1", now);
    let before = digest(&mut e, now);
    assert_eq!(run(&mut e, "DEBUG LOADAOF", now), Reply::ok());
    assert_eq!(digest(&mut e, now), before);
}

#[test]
fn no_appendfsync_on_rewrite_while_a_child_runs() {
    let mut e = engine(&[("lab-rewrite-keys-per-tick", "10"), ("appendfsync", "always"), ("no-appendfsync-on-rewrite", "yes")]);
    e.connect();
    let mut now = START;
    populate(&mut e, now);
    let incr = "appendonlydir/appendonly.aof.1.incr.aof";
    assert_eq!(e.srv.storage.as_memory().unwrap().unsynced_bytes(incr), 0, "always: synced");
    run(&mut e, "BGSAVE", now);
    run(&mut e, "SET during-bgsave 1", now);
    assert!(e.srv.storage.as_memory().unwrap().unsynced_bytes(incr) > 0, "no fsync while the BGSAVE child runs");
    while e.srv.rdb.child.is_some() {
        now += 100;
        e.cron(now);
    }
    run(&mut e, "SET after 1", now);
    assert_eq!(e.srv.storage.as_memory().unwrap().unsynced_bytes(incr), 0);
    run(&mut e, "BGREWRITEAOF", now);
    run(&mut e, "SET during-rewrite 1", now);
    let new_incr = "appendonlydir/appendonly.aof.2.incr.aof";
    assert!(e.srv.storage.as_memory().unwrap().unsynced_bytes(new_incr) > 0, "no fsync while the rewrite child runs");
    // With the setting off, always means always, child or not.
    run(&mut e, "CONFIG SET no-appendfsync-on-rewrite no", now);
    run(&mut e, "SET during-rewrite 2", now);
    assert_eq!(e.srv.storage.as_memory().unwrap().unsynced_bytes(new_incr), 0);
}

#[test]
fn stepped_bgsave_one_child_at_a_time() {
    let mut e = engine(&[("lab-rewrite-keys-per-tick", "25")]);
    e.connect();
    let mut now = START;
    populate(&mut e, now);
    let snapshot = digest(&mut e, now);
    assert_eq!(run(&mut e, "BGSAVE", now), Reply::status("Background saving started"));
    assert_eq!(run(&mut e, "BGSAVE", now), Reply::err("ERR Background save already in progress"));
    assert_eq!(run(&mut e, "BGSAVE SCHEDULE", now), Reply::err("ERR Background save already in progress"));
    assert_eq!(run(&mut e, "SAVE", now), Reply::err("ERR Background save already in progress"));
    assert_eq!(run(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting scheduled"));
    assert_eq!(run(&mut e, "SET written \"during bgsave\"", now), Reply::ok());
    now += 100;
    e.cron(now);
    let i = info(&mut e, now);
    assert_eq!((i["rdb_bgsave_in_progress"].as_str(), i["aof_rewrite_scheduled"].as_str()), ("1", "1"));
    assert_eq!((i["current_save_keys_processed"].as_str(), i["current_save_keys_total"].as_str()), ("25", "300"));
    assert_eq!(i["rdb_current_bgsave_time_sec"], "0");
    assert!(i["current_cow_size"].parse::<u64>().unwrap() == 0, "`written` was not in the snapshot: nothing to copy");
    let mut ticks = 1;
    while e.srv.rdb.child.is_some() {
        now += 100;
        e.cron(now);
        ticks += 1;
    }
    assert_eq!(ticks, 12);
    let i = info(&mut e, now);
    assert_eq!((i["rdb_last_bgsave_status"].as_str(), i["rdb_saves"].as_str(), i["rdb_last_bgsave_time_sec"].as_str()), ("ok", "1", "1"));
    assert_eq!(i["rdb_changes_since_last_save"], "1", "the SET made during the BGSAVE is still unsaved");
    assert_eq!(i["rdb_last_save_time"], (now / 1000).to_string());
    assert!(e.srv.aof.child.is_none(), "the scheduled rewrite starts at the next tick");
    now += 100;
    e.cron(now);
    assert!(e.srv.aof.child.is_some());
    assert_eq!(
        run(&mut e, "BGSAVE", now),
        Reply::err(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
        )
    );
    assert_eq!(run(&mut e, "BGSAVE SCHEDULE", now), Reply::status("Background saving scheduled"));
    while e.srv.aof.child.is_some() || e.srv.rdb.child.is_some() || e.srv.rdb.bgsave_scheduled {
        now += 100;
        e.cron(now);
    }
    assert_eq!(info(&mut e, now)["rdb_saves"], "2");
    let Some(Reply::Verbatim(_, stats)) = e.execute_line(1, "INFO stats", now) else { panic!() };
    assert!(String::from_utf8(stats).unwrap().contains("\r\ntotal_forks:3\r\n"), "two BGSAVEs and a rewrite");
    // dump.rdb holds the dataset of the second fork: everything. Load it into a fresh engine.
    let storage = e.take_storage();
    let mut e2 = Engine::open(Config::default(), storage, now).map_err(|e| e.lines).unwrap();
    e2.connect();
    assert_ne!(digest(&mut e2, now), snapshot, "the second BGSAVE has the SET made during the first");
    let log: Vec<String> = e2.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&"DB loaded from disk: 0.000 seconds".to_string()), "{log:?}");
    assert!(log.contains(&"Done loading RDB, keys loaded: 301, keys expired: 0.".to_string()), "{log:?}");
    assert_eq!(e2.execute_line(1, "GET written", now), Some(Reply::bulk("during bgsave")));
}

#[test]
fn save_points_and_the_retry_delay() {
    let mut e = engine(&[("save", "100 2 10 1000")]);
    e.connect();
    let mut now = START;
    run(&mut e, "SET a 1", now);
    now += 101_000;
    e.cron(now);
    assert!(e.srv.rdb.child.is_none(), "one change is not enough for the 100 s point");
    run(&mut e, "SET b 1", now);
    e.take_log();
    now += 100;
    e.cron(now);
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert_eq!(log.first().map(String::as_str), Some("2 changes in 100 seconds. Saving..."), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("Background saving started by pid ")));
    now += 100;
    e.cron(now);
    let i = info(&mut e, now);
    assert_eq!((i["rdb_changes_since_last_save"].as_str(), i["rdb_last_bgsave_status"].as_str()), ("0", "ok"));
    assert!(e.srv.storage.exists("dump.rdb"));
    // A failing BGSAVE (disk full) is retried by the save points only after 5 s.
    for i in 0..3 {
        run(&mut e, &format!("SET k{i} {}", "x".repeat(100)), now);
    }
    now += 101_000;
    let used: u64 = e.srv.storage.list(None).unwrap().iter().map(|f| e.srv.storage.len(f).unwrap_or(0)).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 10);
    e.cron(now); // starts
    e.cron(now + 100); // fails
    let i = info(&mut e, now + 100);
    assert_eq!((i["rdb_last_bgsave_status"].as_str(), i["rdb_saves"].as_str()), ("err", "2"));
    assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-")));
    e.srv.storage.as_memory().unwrap().capacity = None;
    e.cron(now + 3_000);
    assert!(e.srv.rdb.child.is_none(), "not within CONFIG_BGSAVE_RETRY_DELAY");
    e.cron(now + 5_100);
    assert!(e.srv.rdb.child.is_none(), "5 s is not more than CONFIG_BGSAVE_RETRY_DELAY");
    e.cron(now + 6_100);
    assert!(e.srv.rdb.child.is_some(), "retried after more than 5 s");
    e.cron(now + 6_200);
    assert_eq!(info(&mut e, now + 6_200)["rdb_last_bgsave_status"], "ok");
}

#[test]
fn dump_rdb_is_ignored_with_the_aof_on() {
    // An engine with the AOF off saves its data into dump.rdb…
    let mut e = Engine::open(Config::default(), Box::new(MemoryStorage::new()), START).map_err(|e| e.lines).unwrap();
    e.connect();
    populate(&mut e, START);
    run(&mut e, "SET gone 1 PX 1000", START);
    assert_eq!(run(&mut e, "SAVE", START), Reply::ok());
    let mut storage = e.take_storage();
    let dump = storage.read_all("dump.rdb").unwrap();
    // … a restart with the AOF off loads it (minus the key that expired meanwhile) …
    let mut e = Engine::open(Config::default(), Box::new(storage_with(&dump)), START + 5_000).map_err(|e| e.lines).unwrap();
    e.connect();
    assert_eq!(run(&mut e, "DBSIZE", START + 5_000), Reply::Int(100));
    let i = info(&mut e, START + 5_000);
    assert_eq!((i["rdb_last_load_keys_loaded"].as_str(), i["rdb_last_load_keys_expired"].as_str()), ("300", "1"));
    // … a restart with the AOF on ignores it: an empty dataset and a fresh AOF.
    let cfg = Config { appendonly: true, ..Config::default() };
    let mut e = Engine::open(cfg, Box::new(storage_with(&dump)), START).map_err(|e| e.lines).unwrap();
    e.connect();
    let reply =
        (0..16).map(|db| e.execute_line(1, &format!("SELECT {db}"), START).and(e.execute_line(1, "DBSIZE", START))).collect::<Vec<_>>();
    assert!(reply.iter().all(|r| *r == Some(Reply::Int(0))), "{reply:?}");
    assert!(e.srv.storage.exists("appendonlydir/appendonly.aof.manifest"));
}

fn storage_with(dump: &[u8]) -> MemoryStorage {
    let mut s = MemoryStorage::new();
    s.open("dump.rdb", aof_lab::storage::OpenMode::Truncate).unwrap();
    s.write_at("dump.rdb", 0, dump).unwrap();
    s.sync("dump.rdb").unwrap();
    s.sync_dir("").unwrap();
    s
}

#[test]
fn writes_refused_after_a_failed_bgsave() {
    let mut e = engine(&[]);
    e.connect();
    let now = START;
    run(&mut e, "SET a 1", now);
    let used: u64 = e.srv.storage.list(None).unwrap().iter().map(|f| e.srv.storage.len(f).unwrap_or(0)).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 10);
    run(&mut e, "BGSAVE", now);
    e.cron(now + 100);
    assert_eq!(info(&mut e, now)["rdb_last_bgsave_status"], "err");
    e.srv.storage.as_memory().unwrap().capacity = None;
    // The exact text of Redis 7.0.15's shared.bgsaveerr.
    let misconf = Reply::err(
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
    );
    assert_eq!(run(&mut e, "SET b 1", now), misconf);
    assert_eq!(run(&mut e, "PING", now), misconf);
    assert_eq!(run(&mut e, "GET a", now), Reply::bulk("1"), "reads still work");
    run(&mut e, "CONFIG SET stop-writes-on-bgsave-error no", now);
    assert_eq!(run(&mut e, "SET b 1", now), Reply::ok());
    run(&mut e, "CONFIG SET stop-writes-on-bgsave-error yes", now);
    run(&mut e, "CONFIG SET save \"\"", now);
    assert_eq!(run(&mut e, "SET c 1", now), Reply::ok(), "no save points: no RDB error");
    run(&mut e, "CONFIG SET save \"3600 1\"", now);
    assert_eq!(run(&mut e, "SET c 1", now), misconf);
    // A successful BGSAVE clears it.
    assert_eq!(run(&mut e, "BGSAVE", now), Reply::status("Background saving started"));
    e.cron(now + 100);
    assert_eq!(run(&mut e, "SET c 1", now), Reply::ok());
}

#[test]
fn shutdown_kills_children_and_saves() {
    // A rewrite writing the first AOF (WAIT_REWRITE) refuses the shutdown unless forced.
    let mut e = Engine::open(Config::default(), Box::new(MemoryStorage::new()), START).map_err(|e| e.lines).unwrap();
    e.connect();
    populate(&mut e, START);
    run(&mut e, "CONFIG SET lab-rewrite-keys-per-tick 10", START);
    assert_eq!(
        run(&mut e, "CONFIG GET lab-rewrite-keys-per-tick", START),
        Reply::Map(vec![(Reply::bulk("lab-rewrite-keys-per-tick"), Reply::bulk("10"))])
    );
    run(&mut e, "CONFIG SET appendonly yes", START);
    e.cron(START + 100);
    let tmp = e.srv.aof.child.as_ref().unwrap().tmp.clone();
    assert!(e.srv.storage.exists(&tmp));
    assert_eq!(e.srv.shutdown_save(false, false, false), Err("Writing initial AOF, can't exit."));
    assert!(e.srv.aof.child.is_some(), "still writing the first AOF");
    assert_eq!(e.srv.shutdown_save(false, true, true), Ok(()));
    assert!(e.srv.aof.child.is_none() && !e.srv.storage.exists(&tmp));
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    for line in ["Writing initial AOF, can't exit.", "Writing initial AOF. Exit anyway.", "There is a child rewriting the AOF. Killing it!"]
    {
        assert!(log.iter().any(|l| l == line), "{line}: {log:?}");
    }
    assert!(!e.srv.storage.exists("dump.rdb"), "NOSAVE");
    // A running BGSAVE is killed, then the final snapshot is saved (default save points).
    run(&mut e, "BGSAVE", START);
    e.cron(START + 200);
    let tmp = e.srv.rdb.child.as_ref().unwrap().tmp.clone();
    assert_eq!(e.srv.shutdown_save(false, false, false), Ok(()));
    assert!(e.srv.rdb.child.is_none() && !e.srv.storage.exists(&tmp) && e.srv.storage.exists("dump.rdb"));
    // A save that fails refuses the shutdown, unless forced.
    let used: u64 = e.srv.storage.list(None).unwrap().iter().map(|f| e.srv.storage.len(f).unwrap_or(0)).sum();
    e.srv.storage.as_memory().unwrap().capacity = Some(used + 10);
    assert_eq!(e.srv.shutdown_save(false, false, false), Err("Error trying to save the DB, can't exit."));
    assert_eq!(e.srv.shutdown_save(false, false, true), Ok(()));
    assert_eq!(e.srv.shutdown_save(false, true, false), Ok(()), "NOSAVE: nothing to fail");
}

/// A crash (process kill, or power loss) at any point between two steps of a stepped rewrite or
/// BGSAVE: the restart has exactly the acknowledged writes (`appendfsync always`), never a mix
/// of old and new files, never an unloadable directory.
#[test]
fn crash_between_any_two_steps_loses_nothing() {
    for preamble in ["yes", "no"] {
        let extra = [("lab-rewrite-keys-per-tick", "40"), ("appendfsync", "always"), ("aof-use-rdb-preamble", preamble)];
        let mut e = engine(&extra);
        e.connect();
        let mut now = START;
        populate(&mut e, now);
        let mut crashes = 0;
        let mut check = |e: &mut Engine, now: i64, when: &str| {
            let live = digest(e, now);
            for power in [false, true] {
                let mut disk = e.srv.storage.as_memory().unwrap().clone();
                if power {
                    disk.power_loss();
                }
                let mut cfg = Config { appendonly: true, ..Config::default() };
                for (k, v) in extra {
                    cfg.set(k, v, true).unwrap();
                }
                let mut restarted = Engine::open(cfg, Box::new(disk), now).map_err(|e| e.lines).unwrap_or_else(|l| panic!("{when}: {l:?}"));
                restarted.connect();
                assert_eq!(digest(&mut restarted, now), live, "{when}, power loss {power}, preamble {preamble}");
            }
            crashes += 1;
        };
        for round in ["BGREWRITEAOF", "BGSAVE", "BGREWRITEAOF"] {
            run(&mut e, round, now);
            check(&mut e, now, &format!("{round} started"));
            let mut tick = 0;
            while e.srv.has_active_child() || e.srv.aof.rewrite_scheduled {
                run(&mut e, &format!("SET during-{round}-{tick} {tick}"), now);
                run(&mut e, "INCR counter", now);
                check(&mut e, now, &format!("{round}, before tick {tick}"));
                now += 100;
                e.cron(now);
                check(&mut e, now, &format!("{round}, after tick {tick}"));
                tick += 1;
            }
        }
        assert!(crashes > 40, "{crashes}");
    }
}

/// `appendonly yes`, a write, `appendonly no` before that rewrite finished, `appendonly yes`
/// again: the second attempt truncates `temp-appendonly.aof.incr`, which still holds the first
/// attempt's fsynced writes. If the truncation were not durable, a power loss after the rewrite
/// would bring those writes back inside the new incr file and replay them a second time on top
/// of a base that already holds them (found by the crash matrix).
#[test]
fn a_killed_attempt_to_turn_the_aof_on_leaves_nothing_to_replay() {
    let mut e = engine(&[("lab-rewrite-keys-per-tick", "1"), ("appendfsync", "always")]);
    e.connect();
    let mut now = START;
    for i in 0..5 {
        run(&mut e, &format!("SET k{i} v"), now);
    }
    run(&mut e, "CONFIG SET appendonly no", now);
    run(&mut e, "CONFIG SET appendonly yes", now);
    assert_eq!(run(&mut e, "INCRBY counter 100", now), Reply::Int(100));
    now += 100;
    e.cron(now);
    assert!(e.srv.has_active_child(), "the first attempt is still writing its base");
    run(&mut e, "CONFIG SET appendonly no", now);
    run(&mut e, "CONFIG SET appendonly yes", now);
    while e.srv.has_active_child() {
        now += 100;
        e.cron(now);
    }
    assert_eq!(info(&mut e, now)["aof_enabled"], "1");
    let live = digest(&mut e, now);
    let mut disk = e.srv.storage.as_memory().unwrap().clone();
    disk.power_loss();
    let mut restarted = Engine::open(Config { appendonly: true, ..Config::default() }, Box::new(disk), now).map_err(|e| e.lines).unwrap();
    restarted.connect();
    assert_eq!(run(&mut restarted, "GET counter", now), Reply::Bulk(b"100".to_vec()));
    assert_eq!(digest(&mut restarted, now), live);
}
