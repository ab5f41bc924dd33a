//! The start-up sequence with `appendonly yes` (Redis 7.0's `aofLoadManifestFromDisk`,
//! `loadAppendOnlyFiles`, `aofOpenIfNeededOnServerStart`, `aofDelHistoryFiles`) on the simulated
//! disk: which files exist afterwards, what the manifest says, what is logged.

use aof_lab::storage::{MemoryStorage, OpenMode, Storage};
use aof_lab::{Config, Engine};

const T0: i64 = 1_795_460_544_000;

fn cfg(preamble: bool) -> Config {
    Config { appendonly: true, aof_use_rdb_preamble: preamble, ..Config::default() }
}

fn read(s: &mut dyn Storage, name: &str) -> String {
    String::from_utf8_lossy(&s.read_all(name).unwrap()).into_owned()
}

fn log_texts(e: &mut Engine) -> Vec<String> {
    e.take_log().into_iter().map(|l| l.text).collect()
}

#[test]
fn fresh_start_creates_base_incr_and_manifest() {
    for preamble in [true, false] {
        let mut e = Engine::open(cfg(preamble), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap();
        let ext = if preamble { "rdb" } else { "aof" };
        let s = e.srv.storage.as_mut();
        assert_eq!(
            read(s, "appendonlydir/appendonly.aof.manifest"),
            format!("file appendonly.aof.1.base.{ext} seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
        );
        let base = s.read_all(&format!("appendonlydir/appendonly.aof.1.base.{ext}")).unwrap();
        if preamble {
            assert_eq!(base.len(), 89, "the empty RDB base of Redis 7.0");
            assert!(base.starts_with(b"REDIS0010"));
        } else {
            assert!(base.is_empty());
        }
        assert_eq!(s.len("appendonlydir/appendonly.aof.1.incr.aof").unwrap(), 0);
        let log = log_texts(&mut e);
        assert!(log.contains(&"The AOF directory appendonlydir doesn't exist".to_string()), "{log:?}");
        assert!(log.contains(&format!("Creating AOF base file appendonly.aof.1.base.{ext} on server start")));
        assert!(log.contains(&"Creating AOF incr file appendonly.aof.1.incr.aof on server start".to_string()));
        // Quirk kept from Redis: the freshly made base is not counted.
        assert_eq!(e.srv.aof.rewrite_base_size, 0);
    }
}

#[test]
fn restart_opens_the_last_incr_file() {
    let e = Engine::open(cfg(true), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap();
    let mut storage = {
        let mut e = e;
        e.take_storage()
    };
    storage.append("appendonlydir/appendonly.aof.1.incr.aof", b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n").unwrap();
    let mut e = Engine::open(cfg(true), storage, T0 + 1000).map_err(|e| e.lines).unwrap();
    let log = log_texts(&mut e);
    for expected in [
        "Reading RDB base file on AOF loading...",
        "DB loaded from base file appendonly.aof.1.base.rdb: 0.000 seconds",
        "DB loaded from incr file appendonly.aof.1.incr.aof: 0.000 seconds",
        "DB loaded from append only file: 0.000 seconds",
        "Opening AOF incr file appendonly.aof.1.incr.aof on server start",
    ] {
        assert!(log.contains(&expected.to_string()), "missing {expected:?} in {log:?}");
    }
    assert_eq!(e.srv.aof.rewrite_base_size, 89);
    assert_eq!(e.srv.aof.current_size, 89 + 23);
    assert_eq!(e.srv.aof.last_incr_size, 23);
}

#[test]
fn legacy_appendonly_aof_is_migrated() {
    let mut s = MemoryStorage::new();
    s.open("appendonly.aof", OpenMode::Create).unwrap();
    s.append("appendonly.aof", b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n").unwrap();
    let mut e = Engine::open(cfg(true), Box::new(s), T0).map_err(|e| e.lines).unwrap();
    let log = log_texts(&mut e);
    assert!(
        log.contains(&"Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir).".to_string()),
        "{log:?}"
    );
    let s = e.srv.storage.as_mut();
    assert!(!s.exists("appendonly.aof"));
    assert_eq!(
        read(s, "appendonlydir/appendonly.aof.manifest"),
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
}

#[test]
fn missing_file_and_bad_manifest_are_fatal() {
    let mut s = MemoryStorage::new();
    s.create_dir("appendonlydir").unwrap();
    s.open("appendonlydir/appendonly.aof.manifest", OpenMode::Create).unwrap();
    s.append("appendonlydir/appendonly.aof.manifest", b"file appendonly.aof.1.base.aof seq 1 type b\n").unwrap();
    let err = Engine::open(cfg(false), Box::new(s.clone()), T0).err().expect("a listed file is missing");
    let (mut e, lines) = (err.engine, err.lines);
    assert!(lines.is_empty());
    assert!(
        log_texts(&mut e)
            .contains(&"Unable to obtain the AOF file appendonly.aof.1.base.aof length. stat: No such file or directory".to_string())
    );

    s.truncate("appendonlydir/appendonly.aof.manifest", 0).unwrap();
    s.append("appendonlydir/appendonly.aof.manifest", b"file a seq 1 type i\nfile b seq 1 type i\n").unwrap();
    let lines = Engine::open(cfg(false), Box::new(s), T0).err().expect("bad manifest").lines;
    assert_eq!(
        lines,
        vec![
            "*** FATAL AOF MANIFEST FILE ERROR ***",
            "Reading the manifest file, at line 2",
            ">>> 'file b seq 1 type i'",
            "Found a non-monotonic sequence number"
        ]
    );
}

#[test]
fn truncated_non_last_file_is_fatal_after_truncating() {
    let mut s = MemoryStorage::new();
    s.create_dir("appendonlydir").unwrap();
    let files = [
        ("appendonlydir/appendonly.aof.1.incr.aof", &b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMUL"[..]),
        ("appendonlydir/appendonly.aof.2.incr.aof", b""),
    ];
    for (n, b) in files {
        s.open(n, OpenMode::Create).unwrap();
        s.append(n, b).unwrap();
    }
    s.open("appendonlydir/appendonly.aof.manifest", OpenMode::Create).unwrap();
    s.append(
        "appendonlydir/appendonly.aof.manifest",
        b"file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
    )
    .unwrap();
    let mut e = Engine::open(cfg(false), Box::new(s), T0).err().expect("not the last file").engine;
    let log = log_texts(&mut e);
    assert!(log.contains(&"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 23 !!!".to_string()), "{log:?}");
    assert!(log.contains(&"Fatal error: the truncated file is not the last file".to_string()));
    // Like Redis, the file was already cut on disk before giving up.
    assert_eq!(e.srv.storage.len("appendonlydir/appendonly.aof.1.incr.aof").unwrap(), 23);
}

/// A host clock that moves 2 ms each time it is read (the engine reads it before and after each
/// load it times, and never otherwise).
fn two_ms_per_reading() -> u64 {
    static NOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NOW.fetch_add(2_000, std::sync::atomic::Ordering::Relaxed) + 2_000
}

/// The load times come from the host's clock (Redis's `ustime()` before and after): each file's
/// own, the whole load's around them (loadDataFromDisk's), and dump.rdb's; DEBUG LOADAOF times
/// each file too. Without a clock they are 0.000 (the test above).
#[test]
fn load_times_come_from_the_hosts_clock() {
    let timed = |preamble| Config { load_clock: Some(two_ms_per_reading), ..cfg(preamble) };
    let mut storage = Engine::open(cfg(true), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap().take_storage();
    storage.append("appendonlydir/appendonly.aof.1.incr.aof", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").unwrap();
    let mut e = Engine::open(timed(true), storage, T0).map_err(|e| e.lines).unwrap();
    let log = log_texts(&mut e);
    let loaded: Vec<&String> = log.iter().filter(|l| l.starts_with("DB loaded from")).collect();
    assert_eq!(
        loaded,
        [
            "DB loaded from base file appendonly.aof.1.base.rdb: 0.002 seconds",
            "DB loaded from incr file appendonly.aof.1.incr.aof: 0.002 seconds",
            // Its reading before the base's and after the incr's: five readings apart.
            "DB loaded from append only file: 0.010 seconds",
        ]
    );
    let c = e.connect();
    e.execute_line(c, "DEBUG LOADAOF", T0);
    let log = log_texts(&mut e);
    assert!(log.contains(&"DB loaded from incr file appendonly.aof.1.incr.aof: 0.002 seconds".to_string()), "{log:?}");
    // dump.rdb, with the AOF off.
    e.execute_line(c, "SAVE", T0);
    let storage = e.take_storage();
    let mut e =
        Engine::open(Config { load_clock: Some(two_ms_per_reading), ..Config::default() }, storage, T0).map_err(|e| e.lines).unwrap();
    assert!(log_texts(&mut e).contains(&"DB loaded from disk: 0.002 seconds".to_string()));
    // Redis 6.2's single file.
    let mut legacy = MemoryStorage::new();
    legacy.open("appendonly.aof", OpenMode::Create).unwrap();
    legacy.append("appendonly.aof", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").unwrap();
    let six = Config { aof_legacy: true, ..timed(false) };
    let mut e = Engine::open(six, Box::new(legacy), T0).map_err(|e| e.lines).unwrap();
    assert!(log_texts(&mut e).contains(&"DB loaded from append only file: 0.002 seconds".to_string()));
}
