//! Failures of turning the AOF on, of BGREWRITEAOF and of SAVE / BGSAVE: the log lines are
//! Redis 7.0.15's own (checked against redis-server: the strings are in its binary, the orders
//! on a live server), and a failure after the new base was renamed into appendonlydir leaves no
//! orphan file there.
//!
//! Renames never fail on the simulated disk, so [`Faulty`] wraps it and fails the renames whose
//! target ends with a given suffix.

use std::cell::RefCell;
use std::rc::Rc;

use aof_lab::storage::{Error, ErrorKind, MemoryStorage, OpenMode, Storage};
use aof_lab::{Config, Engine, Reply};

const START: i64 = 1_800_000_000_000;

type Result<T> = std::result::Result<T, Error>;

/// The simulated disk, with renames to `fail_rename_to*` failing with EIO.
struct Faulty {
    inner: MemoryStorage,
    fail_rename_to: Rc<RefCell<Option<String>>>,
}

impl Storage for Faulty {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        self.inner.open(name, mode)
    }
    fn exists(&self, name: &str) -> bool {
        self.inner.exists(name)
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.inner.len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.inner.read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        self.inner.write_at(name, offset, bytes)
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        self.inner.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> Result<()> {
        self.inner.sync(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        if self.fail_rename_to.borrow().as_deref().is_some_and(|s| to.ends_with(s)) {
            return Err(Error::new(ErrorKind::Io, format!("{to}: Input/output error")));
        }
        self.inner.rename(from, to)
    }
    fn remove(&mut self, name: &str) -> Result<()> {
        self.inner.remove(name)
    }
    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        self.inner.sync_dir(dir)
    }
    fn create_dir(&mut self, dir: &str) -> Result<()> {
        self.inner.create_dir(dir)
    }
    fn dir_exists(&self, dir: &str) -> bool {
        self.inner.dir_exists(dir)
    }
    fn as_memory(&mut self) -> Option<&mut MemoryStorage> {
        Some(&mut self.inner)
    }
}

fn engine(appendonly: bool, extra: &[(&str, &str)]) -> (Engine, Rc<RefCell<Option<String>>>) {
    let mut cfg = Config { appendonly, ..Config::default() };
    for (k, v) in extra {
        cfg.set(k, v, true).unwrap();
    }
    let fail = Rc::new(RefCell::new(None));
    let storage = Faulty { inner: MemoryStorage::new(), fail_rename_to: fail.clone() };
    let mut e = Engine::open(cfg, Box::new(storage), START).map_err(|e| e.lines).unwrap();
    e.connect();
    (e, fail)
}

fn run(e: &mut Engine, line: &str, now: i64) -> Reply {
    let r = e.execute_line(1, line, now).unwrap();
    e.before_sleep(now);
    r
}

fn info(e: &mut Engine, field: &str, now: i64) -> String {
    let Reply::Verbatim(_, text) = e.execute_line(1, "INFO persistence", now).unwrap() else { panic!() };
    let text = String::from_utf8(text).unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_else(|| panic!("{field} in {text}")).to_string()
}

fn logs(e: &mut Engine) -> Vec<String> {
    e.take_log().into_iter().map(|l| l.text).collect()
}

fn dir_files(e: &mut Engine) -> Vec<String> {
    let mut v: Vec<String> = e.srv.storage.list(Some("appendonlydir")).unwrap();
    v.sort();
    v
}

fn used(e: &mut Engine) -> u64 {
    let names = e.srv.storage.list(None).unwrap();
    names.iter().map(|f| e.srv.storage.len(f).unwrap_or(0)).sum()
}

/// `lines` appear in `log` in this order (other lines may come in between).
fn assert_in_order(log: &[String], lines: &[&str]) {
    let mut at = 0;
    for want in lines {
        match log[at..].iter().position(|l| l == want) {
            Some(i) => at += i + 1,
            None => panic!("{want:?} missing (or out of order) in {log:#?}"),
        }
    }
}

fn populate(e: &mut Engine, now: i64) {
    for i in 0..20 {
        run(e, &format!("SET k{i} value-{i}"), now);
    }
}

/// Until no child runs.
fn settle(e: &mut Engine, now: &mut i64) {
    let mut n = 0;
    while e.srv.has_active_child() {
        *now += 100;
        e.cron(*now);
        n += 1;
        assert!(n < 1000);
    }
}

/// CONFIG SET appendonly yes while a one-off BGREWRITEAOF runs (redis-server 7.0.15 logged
/// exactly these lines in this order).
#[test]
fn appendonly_yes_during_a_one_off_rewrite_logs_the_restart() {
    let (mut e, _) = engine(false, &[("lab-rewrite-keys-per-tick", "1")]);
    let mut now = START;
    populate(&mut e, now);
    assert_eq!(run(&mut e, "BGREWRITEAOF", now), Reply::status("Background append only file rewriting started"));
    let first = e.srv.aof.child.as_ref().unwrap().pid;
    now += 100;
    e.cron(now);
    logs(&mut e);
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    let second = e.srv.aof.child.as_ref().unwrap().pid;
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.",
            &format!("Killing running AOF rewrite child: {first}"),
            "Creating AOF incr file temp-appendonly.aof.incr on background rewrite",
            &format!("Background append only file rewriting started by pid {second}"),
            &format!("Successfully created the temporary AOF base file temp-rewriteaof-bg-{second}.aof"),
            "Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB",
            "Background AOF rewrite terminated with success",
            &format!("Successfully renamed the temporary AOF base file temp-rewriteaof-bg-{second}.aof into appendonly.aof.1.base.rdb"),
            "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.1.incr.aof",
            "Background AOF rewrite finished successfully",
        ],
    );
    assert_eq!(info(&mut e, "aof_enabled", now), "1");
}

/// The errors of an earlier run of the AOF are forgotten ("AOF reopen, …") only when turning it
/// on again succeeded; a failed start keeps them.
#[test]
fn reopen_clears_the_last_errors_only_after_a_successful_start() {
    let (mut e, _) = engine(true, &[("appendfsync", "everysec")]);
    let now = START;
    run(&mut e, "SET a 1", now);
    let full = used(&mut e);
    e.srv.storage.as_memory().unwrap().capacity = Some(full);
    run(&mut e, "SET b 2", now + 1);
    assert_eq!(info(&mut e, "aof_last_write_status", now + 2), "err");
    // Still full: stopAppendOnly's flush fails too (a successful write would clear the error).
    assert_eq!(run(&mut e, "CONFIG SET appendonly no", now + 3), Reply::ok());
    assert_eq!(info(&mut e, "aof_last_write_status", now + 3), "err");
    logs(&mut e);
    // The temp incr file cannot be made durable: the start fails, the error stays.
    e.srv.storage.as_memory().unwrap().failing_syncs = 1;
    assert_eq!(
        run(&mut e, "CONFIG SET appendonly yes", now + 4),
        Reply::err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.")
    );
    let log = logs(&mut e);
    assert!(!log.iter().any(|l| l.starts_with("AOF reopen")), "{log:?}");
    assert!(!log.iter().any(|l| l.starts_with("Can't open new incr AOF")), "{log:?}");
    assert_in_order(
        &log,
        &[
            "Fail to fsync the AOF file: Input/output error",
            "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.",
        ],
    );
    assert_eq!(info(&mut e, "aof_last_write_status", now + 5), "err", "a failed start forgets nothing");
    assert_eq!(info(&mut e, "aof_enabled", now + 5), "0");
    // Now it starts: the error is forgotten, with Redis's line.
    e.srv.storage.as_memory().unwrap().capacity = None;
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now + 6), Reply::ok());
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &["Creating AOF incr file temp-appendonly.aof.incr on background rewrite", "AOF reopen, just ignore the last error."],
    );
    assert_eq!(info(&mut e, "aof_last_write_status", now + 7), "ok");
}

/// BGREWRITEAOF with the AOF on when the new manifest cannot be written: writeAofManifestFile's
/// line, no invented one; the rewrite does not start.
#[test]
fn a_manifest_that_cannot_be_written_stops_the_rewrite_start() {
    let (mut e, _) = engine(true, &[]);
    let now = START;
    populate(&mut e, now);
    let full = used(&mut e);
    e.srv.storage.as_memory().unwrap().capacity = Some(full);
    logs(&mut e);
    let r = run(&mut e, "BGREWRITEAOF", now);
    assert!(r.is_error(), "{r:?}");
    let log = logs(&mut e);
    assert!(
        log.contains(
            &"Error trying to write the temporary AOF manifest file temp-appendonly.aof.manifest: No space left on device".to_string()
        ),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("Can't open new incr AOF")), "{log:?}");
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "err");
}

/// The child fails (disk full while it writes): the child's line, then the parent's
/// "terminated with error"; while turning the AOF on, the temp incr file goes.
#[test]
fn a_failing_child_is_terminated_with_error() {
    let (mut e, _) = engine(false, &[("lab-rewrite-keys-per-tick", "2")]);
    let mut now = START;
    populate(&mut e, now);
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    let full = used(&mut e);
    e.srv.storage.as_memory().unwrap().capacity = Some(full + 40);
    logs(&mut e);
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "Write error writing append only file on disk: No space left on device",
            "Background AOF rewrite terminated with error",
            "Removing the temp incr aof file temp-appendonly.aof.incr in the background",
        ],
    );
    assert!(!log.iter().any(|l| l.starts_with("Background AOF rewrite failed")), "{log:?}");
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "err");
    assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-rewriteaof")));
    // The scheduled retry succeeds once there is room.
    e.srv.storage.as_memory().unwrap().capacity = None;
    now += 100;
    e.cron(now);
    settle(&mut e, &mut now);
    assert_eq!(info(&mut e, "aof_enabled", now), "1");
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "ok");
}

/// The child cannot rename its finished file: its line, exit 1.
#[test]
fn the_childs_rename_failure_is_its_exit_1() {
    let (mut e, fail) = engine(true, &[]);
    let mut now = START;
    populate(&mut e, now);
    run(&mut e, "BGREWRITEAOF", now);
    let pid = e.srv.aof.child.as_ref().unwrap().pid;
    *fail.borrow_mut() = Some(format!("temp-rewriteaof-bg-{pid}.aof"));
    logs(&mut e);
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "Error moving temp append only file on the final destination: Input/output error",
            "Background AOF rewrite terminated with error",
        ],
    );
    assert!(!log.iter().any(|l| l.contains("terminated with success")), "{log:?}");
    assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-rewriteaof")));
}

/// backgroundRewriteDoneHandler failures after the child succeeded: Redis's lines, and what was
/// already renamed into appendonlydir is unlinked again (no orphan base or incr file).
#[test]
fn done_handler_failures_leave_no_orphans() {
    // 1. The base rename fails.
    let (mut e, fail) = engine(true, &[]);
    let mut now = START;
    populate(&mut e, now);
    *fail.borrow_mut() = Some("appendonly.aof.2.base.rdb".into());
    run(&mut e, "BGREWRITEAOF", now);
    let pid = e.srv.aof.child.as_ref().unwrap().pid;
    logs(&mut e);
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "Background AOF rewrite terminated with success",
            &format!(
                "Error trying to rename the temporary AOF base file temp-rewriteaof-bg-{pid}.aof into appendonlydir/appendonly.aof.2.base.rdb: Input/output error"
            ),
        ],
    );
    assert!(!log.iter().any(|l| l.starts_with("Background AOF rewrite failed") || l.contains("finished successfully")), "{log:?}");
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "err");
    assert_eq!(info(&mut e, "aof_rewrites_consecutive_failures", now), "1");
    assert!(!e.srv.storage.exists(&format!("temp-rewriteaof-bg-{pid}.aof")));

    // 2. Turning the AOF on, the incr rename fails: the new base goes again.
    let (mut e, fail) = engine(false, &[("lab-rewrite-keys-per-tick", "5")]);
    let mut now = START;
    populate(&mut e, now);
    *fail.borrow_mut() = Some("appendonly.aof.1.incr.aof".into());
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    run(&mut e, "SET while-on 1", now);
    logs(&mut e);
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-1001.aof into appendonly.aof.1.base.rdb",
            "Error trying to rename the temporary AOF incr file appendonlydir/temp-appendonly.aof.incr into appendonlydir/appendonly.aof.1.incr.aof: Input/output error",
            "Removing the temp incr aof file temp-appendonly.aof.incr in the background",
        ],
    );
    assert_eq!(dir_files(&mut e), Vec::<String>::new(), "no orphan base, the temp incr file removed");
    // The retry succeeds and nothing written meanwhile is lost.
    *fail.borrow_mut() = None;
    run(&mut e, "SET after-failure 1", now);
    now += 100;
    e.cron(now);
    settle(&mut e, &mut now);
    assert_eq!(info(&mut e, "aof_enabled", now), "1");
    let d = run(&mut e, "DEBUG DIGEST", now);
    assert_eq!(run(&mut e, "DEBUG LOADAOF", now), Reply::ok());
    assert_eq!(run(&mut e, "DEBUG DIGEST", now), d);
    assert_eq!(run(&mut e, "GET while-on", now), Reply::bulk("1"));

    // 3. Turning the AOF on, the manifest cannot be persisted: the new base AND the renamed incr
    //    file go. The disk has room for the child's file and not one byte more (its size is
    //    learnt from an identical run first).
    let base_len = {
        let (mut e, _) = engine(false, &[]);
        let mut now = START;
        populate(&mut e, now);
        run(&mut e, "CONFIG SET appendonly yes", now);
        settle(&mut e, &mut now);
        now += 100;
        e.cron(now);
        e.srv.storage.len("appendonlydir/appendonly.aof.1.base.rdb").unwrap()
    };
    let (mut e, _) = engine(false, &[]);
    let mut now = START;
    populate(&mut e, now);
    assert_eq!(run(&mut e, "CONFIG SET appendonly yes", now), Reply::ok());
    let full = used(&mut e);
    e.srv.storage.as_memory().unwrap().capacity = Some(full + base_len);
    logs(&mut e);
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(
        &log,
        &[
            "Background AOF rewrite terminated with success",
            "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-1001.aof into appendonly.aof.1.base.rdb",
            "Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.1.incr.aof",
            "Error trying to write the temporary AOF manifest file temp-appendonly.aof.manifest: No space left on device",
            "Removing the temp incr aof file temp-appendonly.aof.incr in the background",
        ],
    );
    let files = dir_files(&mut e);
    assert!(
        !files.iter().any(|f| f == "appendonly.aof.1.base.rdb" || f == "appendonly.aof.1.incr.aof"),
        "the renamed base and incr files are unlinked: {files:?}"
    );
    assert_eq!(info(&mut e, "aof_enabled", now), "1");
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "err");
    e.srv.storage.as_memory().unwrap().capacity = None;
    now += 100;
    e.cron(now);
    settle(&mut e, &mut now);
    assert_eq!(info(&mut e, "aof_last_bgrewrite_status", now), "ok");
    let d = run(&mut e, "DEBUG DIGEST", now);
    assert_eq!(run(&mut e, "DEBUG LOADAOF", now), Reply::ok());
    assert_eq!(run(&mut e, "DEBUG DIGEST", now), d);
}

/// stopAppendOnly's fsync failing: its line (and the file is not counted as fsynced).
#[test]
fn appendonly_no_with_a_failing_fsync_logs_it() {
    let (mut e, _) = engine(true, &[("appendfsync", "everysec")]);
    let now = START;
    run(&mut e, "SET a 1", now);
    logs(&mut e);
    e.srv.storage.as_memory().unwrap().failing_syncs = 1;
    assert_eq!(run(&mut e, "CONFIG SET appendonly no", now), Reply::ok());
    let log = logs(&mut e);
    assert!(log.contains(&"Fail to fsync the AOF file: Input/output error".to_string()), "{log:?}");
}

/// rdbSave's lines: `err_op` says which step failed (rdbSaveRio, fsync), the rename has its own
/// line; the BGSAVE child logs the same, then the parent "Background saving error".
#[test]
fn save_and_bgsave_failure_lines() {
    let (mut e, fail) = engine(false, &[]);
    let mut now = START;
    populate(&mut e, now);
    let dir = e.srv.config.dir.clone();
    logs(&mut e);

    e.srv.storage.as_memory().unwrap().failing_syncs = 1;
    assert!(run(&mut e, "SAVE", now).is_error());
    assert!(logs(&mut e).contains(&"Write error saving DB on disk(fsync): Input/output error".to_string()));

    let full = used(&mut e);
    e.srv.storage.as_memory().unwrap().capacity = Some(full + 10);
    assert!(run(&mut e, "SAVE", now).is_error());
    assert!(logs(&mut e).contains(&"Write error saving DB on disk(rdbSaveRio): No space left on device".to_string()));
    e.srv.storage.as_memory().unwrap().capacity = None;

    *fail.borrow_mut() = Some("dump.rdb".into());
    assert!(run(&mut e, "SAVE", now).is_error());
    let log = logs(&mut e);
    assert!(
        log.contains(&format!(
            "Error moving temp DB file temp-1000.rdb on the final destination dump.rdb (in server root dir {dir}): Input/output error"
        )),
        "{log:?}"
    );
    assert!(!e.srv.storage.exists("temp-1000.rdb"));
    *fail.borrow_mut() = None;

    e.srv.storage.as_memory().unwrap().failing_syncs = 1;
    assert_eq!(run(&mut e, "BGSAVE", now), Reply::status("Background saving started"));
    settle(&mut e, &mut now);
    let log = logs(&mut e);
    assert_in_order(&log, &["Write error saving DB on disk(fsync): Input/output error", "Background saving error"]);
    assert!(e.srv.storage.list(None).unwrap().iter().all(|f| !f.starts_with("temp-")));

    assert_eq!(run(&mut e, "SAVE", now), Reply::ok());
    assert!(e.srv.storage.exists("dump.rdb"));
}

/// An import whose swap fails part-way (a rename refused after every new file was staged): the
/// lab restarts on what is there instead of running on files that may be gone; here nothing was
/// replaced yet, so the previous dataset comes back.
#[test]
fn an_import_failing_in_the_swap_restarts_on_what_is_there() {
    let mut cfg = Config { appendonly: true, ..Config::default() };
    cfg.set("appendfsync", "always", true).unwrap();
    let fail = Rc::new(RefCell::new(None));
    let storage = Faulty { inner: MemoryStorage::new(), fail_rename_to: fail.clone() };
    let mut l = aof_lab::lab::Lab::start(cfg, Box::new(storage), START);
    assert_eq!(l.execute_line("SET a 1", START), ["OK"]);
    *fail.borrow_mut() = Some("appendonly.aof".into());
    let err = l.import_archive("appendonly.aof", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", START + 1).unwrap_err();
    assert!(err.contains("Input/output error"), "{err}");
    assert!(l.events_json(0).contains("import failed part-way"));
    assert!(l.events_json(0).contains("\"kind\":\"restart\""));
    assert!(l.is_down().is_none());
    assert_eq!(l.execute_line("GET a", START + 2), ["\"1\""]);
    assert_eq!(l.execute_line("GET k", START + 2), ["(nil)"]);
    let names = l.engine.srv.storage.list(None).unwrap();
    assert!(names.iter().any(|n| n.ends_with(".import-appendonly.aof")), "the staged file is what the swap left: {names:?}");
}
