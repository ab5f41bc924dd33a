//! The browser storage backends (`src/storage/opfs.rs`, `src/storage/idb.rs`) in a dedicated
//! worker, where the lab's engine runs: the shared conformance suite, persistence across a
//! reopen, crash atomicity of rename, the OPFS lock retry, quota errors as ENOSPC, and the
//! engine itself restarting from each backend. `wasm-pack test` runs it in headless Chromium and
//! Firefox (scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use aof_lab::storage::conformance::{self, AsyncHost};
use aof_lab::storage::idb::{self, IdbStorage};
use aof_lab::storage::opfs::{self, OpfsStorage};
use aof_lab::storage::{ErrorKind, OpenMode, Storage, browser};
use aof_lab::{AppendFsync, Config, Engine, Reply};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const NOW: i64 = 1_700_000_000_000;

async fn wipe(backend: &str, ns: &str) {
    browser::delete_namespace(backend, ns).await.unwrap_or_else(|e| panic!("delete {backend} {ns}: {e}"));
}

async fn opfs(ns: &str) -> OpfsStorage {
    OpfsStorage::open(ns).await.unwrap_or_else(|e| panic!("OPFS open {ns}: {e}"))
}

async fn idb(ns: &str) -> IdbStorage {
    IdbStorage::open(ns).await.unwrap_or_else(|e| panic!("IndexedDB open {ns}: {e}"))
}

struct OpfsHost(&'static str);

impl AsyncHost for OpfsHost {
    async fn open(&mut self) -> Box<dyn Storage> {
        Box::new(opfs(self.0).await)
    }
    async fn close(&mut self, s: Box<dyn Storage>) {
        drop(s); // releases the handles
    }
    async fn wipe(&mut self) {
        wipe("opfs", self.0).await;
    }
}

/// Keeps the durability handle of the storage it opened, to wait for its transactions.
struct IdbHost(&'static str, Option<idb::IdbDurability>);

impl AsyncHost for IdbHost {
    async fn open(&mut self) -> Box<dyn Storage> {
        let s = idb(self.0).await;
        self.1 = Some(s.durability());
        Box::new(s)
    }
    async fn close(&mut self, s: Box<dyn Storage>) {
        drop(s);
        if let Some(d) = self.1.take() {
            d.committed().await.expect("every transaction commits");
            assert!(!d.pending());
        }
    }
    async fn wipe(&mut self) {
        wipe("indexeddb", self.0).await;
    }
}

#[wasm_bindgen_test]
async fn opfs_conformance() {
    conformance::run_all_async(&mut OpfsHost("t-opfs-conformance")).await;
}

#[wasm_bindgen_test]
async fn opfs_persistence() {
    conformance::run_persistence(&mut OpfsHost("t-opfs-persistence")).await;
}

#[wasm_bindgen_test]
async fn idb_conformance() {
    conformance::run_all_async(&mut IdbHost("t-idb-conformance", None)).await;
}

#[wasm_bindgen_test]
async fn idb_persistence() {
    conformance::run_persistence(&mut IdbHost("t-idb-persistence", None)).await;
}

/// The simulated machine over OPFS: each crash cuts the real files back exactly as the machine
/// over RAM does, and a reopen (a page reload) finds the same survivors.
#[wasm_bindgen_test]
async fn opfs_under_the_machine_crashes_as_ram_does() {
    conformance::run_machine_crashes(&mut OpfsHost("t-opfs-machine")).await;
}

#[wasm_bindgen_test]
async fn idb_under_the_machine_crashes_as_ram_does() {
    conformance::run_machine_crashes(&mut IdbHost("t-idb-machine", None)).await;
}

/// The RAM mirror of each backend (`src/storage/tee.rs`, the timeline's present): the
/// conformance suite, persistence across a reopen, and the simulated machine's crashes over it,
/// which cut the real files back as the machine over RAM does.
#[wasm_bindgen_test]
async fn the_ram_mirror_over_opfs_passes_the_suites_and_crashes_as_ram_does() {
    conformance::run_all_async(&mut conformance::TeeHost::new(OpfsHost("t-tee-opfs"))).await;
    conformance::run_persistence(&mut conformance::TeeHost::new(OpfsHost("t-tee-opfs"))).await;
    conformance::run_machine_crashes(&mut conformance::TeeHost::new(OpfsHost("t-tee-opfs"))).await;
}

#[wasm_bindgen_test]
async fn the_ram_mirror_over_indexeddb_passes_the_suites_and_crashes_as_ram_does() {
    conformance::run_all_async(&mut conformance::TeeHost::new(IdbHost("t-tee-idb", None))).await;
    conformance::run_persistence(&mut conformance::TeeHost::new(IdbHost("t-tee-idb", None))).await;
    conformance::run_machine_crashes(&mut conformance::TeeHost::new(IdbHost("t-tee-idb", None))).await;
}

#[wasm_bindgen_test]
async fn opfs_rename_interrupted_between_its_two_header_writes() {
    let ns = "t-opfs-rename-crash";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    for (n, b) in [("m", &b"old"[..]), ("tmp", b"new")] {
        s.open(n, OpenMode::Create).unwrap();
        s.append(n, b).unwrap();
        s.sync(n).unwrap();
    }
    let free = s.free_slots();
    // The crash: `tmp`'s slot now names `m` (durable), `m`'s old slot still names `m` too.
    s.rename_interrupted("tmp", "m").unwrap();
    drop(s);
    let mut s = opfs(ns).await;
    assert_eq!(s.list(None).unwrap(), vec!["m"], "tmp is gone, m is there once");
    assert_eq!(s.read_all("m").unwrap(), b"new", "the later header wins: the new content");
    assert_eq!(s.free_slots(), free + 1, "the losing slot was freed");
    drop(s);
    let s = opfs(ns).await;
    assert_eq!(s.list(None).unwrap(), vec!["m"], "and stays freed");
    s.close();
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn opfs_second_open_retries_then_is_unavailable() {
    let ns = "t-opfs-lock";
    wipe("opfs", ns).await;
    let first = opfs(ns).await;
    let started = browser::wall_ms();
    let second = OpfsStorage::open_with_lock_wait(ns, 400).await;
    let waited = browser::wall_ms() - started;
    let err = second.err().expect("the handles are held by the first storage");
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(waited >= 390.0, "retried for the whole budget, waited {waited} ms");
    first.close();
    let second = OpfsStorage::open_with_lock_wait(ns, 0).await.expect("released by close");
    // Released while a second open is retrying: it gets the pool.
    wasm_bindgen_futures::spawn_local(async move {
        browser::sleep(150).await;
        drop(second);
    });
    let started = browser::wall_ms();
    let third = OpfsStorage::open(ns).await.expect("opens once the other worker lets go");
    assert!(browser::wall_ms() - started >= 100.0, "it had to wait");
    drop(third);
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn opfs_delete_waits_for_handles_closed_a_moment_later() {
    let ns = "t-opfs-delete";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"bytes").unwrap();
    s.sync("f").unwrap();
    // Released while the deletion retries (a just-freed engine, a top-up landing): it deletes.
    wasm_bindgen_futures::spawn_local(async move {
        browser::sleep(150).await;
        drop(s);
    });
    browser::delete_namespace("opfs", ns).await.expect("deleted once the handles are released");
    let s = opfs(ns).await;
    assert_eq!(s.list(None).unwrap(), Vec::<String>::new(), "nothing is left of the namespace");
    drop(s);
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn opfs_pool_runs_out_then_grows() {
    let ns = "t-opfs-pool";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    assert_eq!(s.pool_size(), opfs::INITIAL_SLOTS);
    s.create_dir("d").unwrap();
    let mut made = Vec::new();
    let err = loop {
        let n = format!("d/f{}", made.len());
        match s.open(&n, OpenMode::Create) {
            Ok(()) => {
                s.append(&n, n.as_bytes()).unwrap();
                made.push(n);
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind, ErrorKind::NoSpace, "{err}");
    assert_eq!(made.len(), opfs::INITIAL_SLOTS - 1, "one slot holds the directory");
    s.ensure_capacity().await.unwrap();
    assert_eq!(s.free_slots(), opfs::SPARE_SLOTS);
    s.open("d/more", OpenMode::Create).unwrap();
    s.append("d/more", b"more").unwrap();
    s.sync("d/more").unwrap();
    // That creation left fewer than SPARE_SLOTS free: the storage tops up in the background.
    assert_eq!(s.free_slots(), opfs::SPARE_SLOTS - 1);
    let pool = s.pool();
    for _ in 0..100 {
        if pool.free_slots() == opfs::SPARE_SLOTS {
            break;
        }
        browser::sleep(20).await;
    }
    assert_eq!(pool.free_slots(), opfs::SPARE_SLOTS, "topped up by itself");
    let grown = opfs::INITIAL_SLOTS + opfs::SPARE_SLOTS + 1;
    assert_eq!(s.pool_size(), grown);
    drop(s);
    assert!(pool.ensure_capacity().await.is_err(), "the handle is inert once the storage is gone");
    let mut s = opfs(ns).await;
    assert_eq!(s.pool_size(), grown, "the grown pool is found again");
    for n in &made {
        assert_eq!(s.read_all(n).unwrap(), n.as_bytes());
    }
    assert_eq!(s.read_all("d/more").unwrap(), b"more");
    drop(s);
    wipe("opfs", ns).await;
}

/// A full "disk": the write that does not fit is short, the next fails with ENOSPC, and what
/// was stored before is intact after a reopen.
async fn quota_case(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"0123456789").unwrap();
    s.sync("f").unwrap();
    s.open("g", OpenMode::Create).unwrap();
    s.sync_dir("").unwrap();
}

#[wasm_bindgen_test]
async fn opfs_quota_is_enospc_and_keeps_data() {
    let ns = "t-opfs-quota";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    quota_case(&mut s).await;
    s.set_capacity(Some(14));
    assert_eq!(s.append("f", b"abcdef").unwrap(), 4, "short write");
    let err = s.append("f", b"x").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoSpace);
    assert_eq!(err.strerror(), "No space left on device");
    assert_eq!(s.append("g", b"x").unwrap_err().kind, ErrorKind::NoSpace, "every file shares the quota");
    assert_eq!(s.truncate("g", 1).unwrap_err().kind, ErrorKind::NoSpace, "growing by truncate too");
    s.sync("f").unwrap();
    drop(s);
    let mut s = opfs(ns).await;
    assert_eq!(s.read_all("f").unwrap(), b"0123456789abcd");
    assert_eq!(s.len("g").unwrap(), 0);
    drop(s);
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn idb_quota_is_enospc_and_keeps_data() {
    let ns = "t-idb-quota";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    quota_case(&mut s).await;
    s.set_capacity(Some(14));
    assert_eq!(s.append("f", b"abcdef").unwrap(), 4, "short write");
    assert_eq!(s.append("f", b"x").unwrap_err().kind, ErrorKind::NoSpace);
    assert_eq!(s.truncate("g", 1).unwrap_err().kind, ErrorKind::NoSpace);
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    drop(s);
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), b"0123456789abcd");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// IndexedDB refusing a transaction (a quota error) loses nothing already stored; `committed`
/// and then the next `sync` report ENOSPC, and the following sync stores what was missing.
#[wasm_bindgen_test]
async fn idb_failed_commit_reports_enospc_and_recovers() {
    let ns = "t-idb-failed-commit";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"kept").unwrap();
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    s.append("f", b"+more").unwrap();
    s.fail_next_commit();
    s.sync("f").unwrap();
    assert!(d.pending());
    let err = d.committed().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoSpace, "{err}");
    assert!(!d.pending());
    // What IndexedDB holds now: the earlier version only.
    let peek = idb(ns).await;
    assert_eq!(peek.len("f").unwrap(), 4, "the failed transaction stored nothing");
    drop(peek);
    assert_eq!(s.sync("f").unwrap_err().kind, ErrorKind::NoSpace, "the next fsync reports the failed writeback");
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    drop(s);
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), b"kept+more", "re-sent after the failure");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// A rename is one IndexedDB transaction: refused, it leaves both names as they were; the next
/// `sync_dir` reports the failure and the one after stores the rename.
#[wasm_bindgen_test]
async fn idb_rename_is_all_or_nothing() {
    let ns = "t-idb-rename";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    for (n, b) in [("m", &b"old"[..]), ("tmp", b"new")] {
        s.open(n, OpenMode::Create).unwrap();
        s.append(n, b).unwrap();
        s.sync(n).unwrap();
    }
    d.committed().await.unwrap();
    s.fail_next_commit();
    s.rename("tmp", "m").unwrap();
    assert_eq!(d.committed().await.unwrap_err().kind, ErrorKind::NoSpace);
    let mut peek = idb(ns).await;
    assert_eq!((peek.read_all("m").unwrap(), peek.read_all("tmp").unwrap()), (b"old".to_vec(), b"new".to_vec()), "nothing half-done");
    drop(peek);
    assert_eq!(s.sync_dir("").unwrap_err().kind, ErrorKind::NoSpace);
    s.sync_dir("").unwrap();
    d.committed().await.unwrap();
    drop(s);
    let mut s = idb(ns).await;
    assert_eq!(s.list(None).unwrap(), vec!["m"]);
    assert_eq!(s.read_all("m").unwrap(), b"new");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// What IndexedDB holds for `ns` once the storage `s` is gone and every transaction it issued
/// has settled (whatever their outcome): a fresh open, as the next start of the worker sees it.
async fn reopened(ns: &str, s: IdbStorage) -> IdbStorage {
    let d = s.durability();
    drop(s);
    let _ = d.committed().await;
    assert!(!d.pending());
    idb(ns).await
}

/// The engine's persist pattern (write a temp file, sync, rename over the live one) when the
/// data transaction of the sync fails: the rename must not commit without the data it names,
/// or the live file would be empty and its old content deleted. Both while the failed data
/// transaction is still in flight and once its failure has settled.
#[wasm_bindgen_test]
async fn idb_rename_never_commits_over_a_failed_data_sync() {
    for settled_first in [false, true] {
        let ns = "t-idb-rename-failed-sync";
        wipe("indexeddb", ns).await;
        let mut s = idb(ns).await;
        let d = s.durability();
        s.open("m", OpenMode::Create).unwrap();
        s.append("m", b"old manifest").unwrap();
        s.sync("m").unwrap();
        d.committed().await.unwrap();
        s.open("tmp", OpenMode::Create).unwrap();
        s.append("tmp", b"new manifest").unwrap();
        s.fail_next_commit();
        s.sync("tmp").unwrap();
        if settled_first {
            assert_eq!(d.committed().await.unwrap_err().kind, ErrorKind::NoSpace);
        }
        s.rename("tmp", "m").unwrap();
        let mut s = reopened(ns, s).await;
        assert_eq!(s.list(None).unwrap(), vec!["m"], "settled first: {settled_first}");
        assert_eq!(s.read_all("m").unwrap(), b"new manifest", "the rename carried the data it names (settled first: {settled_first})");
        drop(s);
    }
    wipe("indexeddb", "t-idb-rename-failed-sync").await;
}

/// The same for `remove`, `sync_dir` and a rename of a new base followed by deleting the
/// history: no namespace change commits while a file it names has synced data not committed.
#[wasm_bindgen_test]
async fn idb_namespace_changes_carry_unconfirmed_data() {
    let ns = "t-idb-namespace-carries";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    s.create_dir("dir").unwrap();
    for (n, b) in [("dir/base.1", &b"old base"[..]), ("dir/incr.1", b"old incr")] {
        s.open(n, OpenMode::Create).unwrap();
        s.append(n, b).unwrap();
        s.sync(n).unwrap();
    }
    s.sync_dir("dir").unwrap();
    d.committed().await.unwrap();
    // A new base (bigger than a chunk) whose data transaction fails, renamed, then the history
    // removed: each namespace transaction must hold the new base's data.
    let big: Vec<u8> = (0..(idb::CHUNK * 2 + 7)).map(|i| (i % 251) as u8).collect();
    s.open("dir/temp-base", OpenMode::Create).unwrap();
    s.append("dir/temp-base", &big).unwrap();
    s.fail_next_commit();
    s.sync("dir/temp-base").unwrap();
    s.rename("dir/temp-base", "dir/base.2").unwrap();
    s.remove("dir/base.1").unwrap();
    s.remove("dir/incr.1").unwrap();
    s.sync_dir("dir").unwrap();
    let mut s = reopened(ns, s).await;
    assert_eq!(s.list(None).unwrap(), vec!["dir/base.2"]);
    assert!(s.read_all("dir/base.2").unwrap() == big, "the new base is whole");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// A sync issued while an earlier data transaction of the same file is in flight must not
/// commit a length whose earlier chunks that transaction (which then fails) was to store:
/// the file would read back with a hole of zeros.
#[wasm_bindgen_test]
async fn idb_sync_never_commits_over_a_failed_earlier_sync() {
    let ns = "t-idb-sync-over-failed";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let first: Vec<u8> = (0..(idb::CHUNK + 100)).map(|i| (i % 13) as u8 + 1).collect();
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", &first).unwrap();
    s.fail_next_commit();
    s.sync("f").unwrap();
    s.append("f", b"tail").unwrap();
    s.sync("f").unwrap();
    let mut s = reopened(ns, s).await;
    let got = s.read_all("f").unwrap();
    assert_eq!(got.len(), first.len() + 4);
    assert!(got[..first.len()] == first[..], "no hole where the failed transaction's chunks were");
    assert_eq!(&got[first.len()..], b"tail");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// The other order: a `sync` issued after a rename whose transaction fails must not commit its
/// name entry alone, which would leave the old and the new name on one inode (a write or a
/// remove through one then corrupts the other).
#[wasm_bindgen_test]
async fn idb_sync_never_commits_a_name_over_a_failed_rename() {
    let ns = "t-idb-sync-over-failed-rename";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    for (n, b) in [("m", &b"old"[..]), ("tmp", b"new")] {
        s.open(n, OpenMode::Create).unwrap();
        s.append(n, b).unwrap();
        s.sync(n).unwrap();
    }
    d.committed().await.unwrap();
    s.fail_next_commit();
    s.rename("tmp", "m").unwrap();
    s.append("m", b"+x").unwrap();
    s.sync("m").unwrap();
    let mut s = reopened(ns, s).await;
    assert_eq!(s.list(None).unwrap(), vec!["m"], "one name per file");
    assert_eq!(s.read_all("m").unwrap(), b"new+x");
    drop(s);
    wipe("indexeddb", ns).await;
}

#[wasm_bindgen_test]
async fn layers_show_what_is_durable() {
    let layer = |l: Vec<aof_lab::storage::memory::FileLayers>| {
        l.into_iter().map(|f| (f.name, f.len, f.durable_len, f.durable_name)).collect::<Vec<_>>()
    };
    let ns = "t-layers";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"hello").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 5, 0, true)]);
    s.sync("f").unwrap();
    s.append("f", b" world").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 11, 5, true)]);
    s.write_at("f", 2, b"L").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 11, 2, true)]);
    drop(s);
    wipe("opfs", ns).await;

    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"hello").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 5, 0, false)]);
    s.sync("f").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 5, 0, false)], "issued, not committed");
    d.committed().await.unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 5, 5, true)]);
    s.append("f", b" world").unwrap();
    s.write_at("f", 2, b"L").unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 11, 2, true)]);
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    assert_eq!(layer(s.layers()), [("f".to_string(), 11, 11, true)]);
    drop(s);
    wipe("indexeddb", ns).await;
}

/// The mirror is the page cache: what was never synced is gone after the worker's storage is.
#[wasm_bindgen_test]
async fn idb_unsynced_bytes_and_names_are_lost() {
    let ns = "t-idb-unsynced";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    let d = s.durability();
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"synced").unwrap();
    s.sync("f").unwrap();
    s.append("f", b" not synced").unwrap();
    s.open("never-synced", OpenMode::Create).unwrap();
    let before = s.transactions();
    s.sync("f").unwrap();
    s.sync("f").unwrap();
    assert_eq!(s.transactions(), before + 1, "a sync with nothing new issues no transaction");
    s.append("f", b"!").unwrap();
    drop(s);
    d.committed().await.unwrap();
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), b"synced not synced");
    assert!(!s.exists("never-synced"), "a name never synced is gone");
    drop(s);
    wipe("indexeddb", ns).await;
}

/// What the browsers throw, as the engine sees it: a quota error is ENOSPC (`-MISCONF ... No
/// space left on device`), a lock held elsewhere makes the backend unavailable.
#[wasm_bindgen_test]
fn dom_exceptions_map_to_error_kinds() {
    for (name, kind) in [
        ("QuotaExceededError", ErrorKind::NoSpace),
        ("NoModificationAllowedError", ErrorKind::Unavailable),
        ("NotFoundError", ErrorKind::NotFound),
        ("SecurityError", ErrorKind::Unavailable),
        ("UnknownError", ErrorKind::Io),
    ] {
        let e = web_sys::DomException::new_with_message_and_name("it failed", name).unwrap();
        let err = browser::js_error(e.into(), "f");
        assert_eq!(err.kind, kind, "{name}");
        assert_eq!(err.message, format!("f: {name}: it failed"));
    }
}

#[wasm_bindgen_test]
async fn quota_estimate_is_reported() {
    let (usage, quota) = idb::estimate_quota().await.expect("navigator.storage.estimate()");
    assert!(quota > 0 && usage <= quota, "usage {usage} quota {quota}");
}

#[wasm_bindgen_test]
async fn bad_namespaces_are_refused() {
    for ns in ["", "..", "a/b", "a b"] {
        assert_eq!(OpfsStorage::open(ns).await.err().map(|e| e.kind), Some(ErrorKind::InvalidInput), "{ns:?}");
        assert_eq!(IdbStorage::open(ns).await.err().map(|e| e.kind), Some(ErrorKind::InvalidInput), "{ns:?}");
    }
    assert_eq!(browser::delete_namespace("floppy", "x").await.unwrap_err().kind, ErrorKind::InvalidInput);
}

fn start(storage: Box<dyn Storage>) -> Engine {
    start_with(storage, AppendFsync::Always)
}

fn start_with(storage: Box<dyn Storage>, appendfsync: AppendFsync) -> Engine {
    match Engine::open(Config { appendonly: true, appendfsync, ..Default::default() }, storage, NOW) {
        Ok(e) => e,
        Err(e) => panic!("engine start failed: {:?}", e.lines),
    }
}

fn run(e: &mut Engine, lines: &[&str]) -> Vec<Reply> {
    let c = e.connect();
    let replies = lines.iter().map(|l| e.execute_line(c, l, NOW).expect("no blocking command")).collect();
    e.before_sleep(NOW);
    replies
}

/// Engine::open with the AOF on, writes, drop, reopen: the keys are back (loaded from the
/// manifest, base and incr files the engine created in this backend).
async fn engine_restarts(open: impl AsyncFn() -> (Box<dyn Storage>, Option<idb::IdbDurability>)) {
    let (storage, durable) = open().await;
    let mut e = start(storage);
    let replies = run(&mut e, &["SET k v", "RPUSH l a b c", "INCR n", "INCR n", "HSET h f 1"]);
    assert_eq!(replies[0], Reply::ok());
    assert!(e.exited().is_none());
    if let Some(d) = &durable {
        d.committed().await.expect("the fsync of the turn commits");
    }
    let files = e.srv.storage.list(Some("appendonlydir")).unwrap();
    assert_eq!(files.len(), 3, "manifest, base, incr: {files:?}");
    drop(e);

    let (storage, _) = open().await;
    let mut e = start(storage);
    let replies = run(&mut e, &["GET k", "LRANGE l 0 -1", "GET n", "HGET h f", "DBSIZE"]);
    assert_eq!(
        replies,
        [
            Reply::bulk("v"),
            Reply::Array(vec![Reply::bulk("a"), Reply::bulk("b"), Reply::bulk("c")]),
            Reply::bulk("2"),
            Reply::bulk("1"),
            Reply::Int(4)
        ]
    );
}

/// BGREWRITEAOF on a real backend: temp files, renames into `appendonlydir`, manifest swaps
/// and history removal; then a restart loads the rewritten files to the same dataset.
async fn engine_rewrites_then_restarts(open: impl AsyncFn() -> (Box<dyn Storage>, Option<idb::IdbDurability>)) {
    let (storage, durable) = open().await;
    let mut e = start(storage);
    run(&mut e, &["SET s v", "RPUSH l a b c", "HSET h f v", "SADD set 1 2 3", "ZADD z 1 a 2 b", "SELECT 3", "SET x y"]);
    let mut now = NOW;
    for round in 0..2 {
        let c = e.connect();
        assert_eq!(e.execute_line(c, "BGREWRITEAOF", now), Some(Reply::status("Background append only file rewriting started")));
        e.before_sleep(now);
        run(&mut e, &["INCR during", "SET late 1"]);
        // Let a background top-up of the OPFS pool run, as the worker's event loop would.
        browser::sleep(1).await;
        now += 100;
        e.cron(now);
        e.before_sleep(now);
        assert_eq!(e.srv.aof.rewrites, round + 1);
    }
    let manifest = e.srv.storage.read_all("appendonlydir/appendonly.aof.manifest").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&manifest),
        "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    );
    assert_eq!(
        e.srv.storage.list(Some("appendonlydir")).unwrap(),
        ["appendonlydir/appendonly.aof.3.base.rdb", "appendonlydir/appendonly.aof.3.incr.aof", "appendonlydir/appendonly.aof.manifest"],
        "history removed"
    );
    let digest = run(&mut e, &["DEBUG DIGEST"]);
    if let Some(d) = &durable {
        d.committed().await.expect("committed");
    }
    drop(e);
    let (storage, _) = open().await;
    let mut e = start(storage);
    assert_eq!(run(&mut e, &["DEBUG DIGEST"]), digest, "the same dataset after a restart");
    assert_eq!(run(&mut e, &["GET during", "SELECT 3", "GET x"]), [Reply::bulk("2"), Reply::ok(), Reply::bulk("y")]);
}

#[wasm_bindgen_test]
async fn engine_rewrites_on_opfs() {
    let ns = "t-opfs-rewrite";
    wipe("opfs", ns).await;
    engine_rewrites_then_restarts(async || (Box::new(opfs(ns).await) as Box<dyn Storage>, None)).await;
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn engine_rewrites_on_indexeddb() {
    let ns = "t-idb-rewrite";
    wipe("indexeddb", ns).await;
    engine_rewrites_then_restarts(async || {
        let s = idb(ns).await;
        let d = s.durability();
        (Box::new(s) as Box<dyn Storage>, Some(d))
    })
    .await;
    wipe("indexeddb", ns).await;
}

#[wasm_bindgen_test]
async fn engine_restarts_from_opfs() {
    let ns = "t-opfs-engine";
    wipe("opfs", ns).await;
    engine_restarts(async || (Box::new(opfs(ns).await) as Box<dyn Storage>, None)).await;
    wipe("opfs", ns).await;
}

#[wasm_bindgen_test]
async fn engine_restarts_from_indexeddb() {
    let ns = "t-idb-engine";
    wipe("indexeddb", ns).await;
    engine_restarts(async || {
        let s = idb(ns).await;
        let d = s.durability();
        (Box::new(s) as Box<dyn Storage>, Some(d))
    })
    .await;
    wipe("indexeddb", ns).await;
}

/// Quota exceeded under the engine is disk full: `-MISCONF`, and the acknowledged keys are
/// there after a restart.
#[wasm_bindgen_test]
async fn engine_on_full_opfs_says_misconf() {
    let ns = "t-opfs-engine-full";
    wipe("opfs", ns).await;
    let mut s = opfs(ns).await;
    s.set_capacity(Some(4096));
    let mut e = start_with(Box::new(s), AppendFsync::EverySec);
    assert_eq!(run(&mut e, &["SET kept 1"]), [Reply::ok()]);
    let big = format!("SET big {}", "x".repeat(8000));
    assert_eq!(run(&mut e, &[big.as_str()]), [Reply::ok()], "the write fails after the reply (everysec)");
    assert_eq!(
        run(&mut e, &["SET other 1", "GET kept"]),
        [Reply::error("MISCONF Errors writing to the AOF file: No space left on device".to_string()), Reply::bulk("1")]
    );
    assert!(e.exited().is_none());
    drop(e);
    let mut e = start(Box::new(opfs(ns).await));
    assert_eq!(run(&mut e, &["GET kept"]), [Reply::bulk("1")]);
    drop(e);
    wipe("opfs", ns).await;
}

/// The reviewer's scenario at the engine's level: BGREWRITEAOF on IndexedDB writes a new base
/// and incr file, persists the manifest (temp, sync, rename) and deletes the history. Whichever
/// of its transactions fails (a quota error at commit), a restart loads the dataset: no
/// rename or removal commits over data that did not.
#[wasm_bindgen_test]
async fn engine_restarts_after_any_failed_rewrite_transaction_on_indexeddb() {
    let ns = "t-idb-engine-failed-rewrite";
    // None: a clean run, which counts the rewrite's transactions.
    let mut fail: Option<u64> = None;
    let mut total = 0;
    loop {
        wipe("indexeddb", ns).await;
        let s = idb(ns).await;
        let d = s.durability();
        let mut e = start(Box::new(s));
        run(&mut e, &["SET s v", "RPUSH l a b c", "HSET h f v"]);
        d.committed().await.expect("before the rewrite");
        let digest = run(&mut e, &["DEBUG DIGEST"]);
        let before = d.transactions();
        if let Some(k) = fail {
            d.fail_commit_after(k);
        }
        let c = e.connect();
        assert_eq!(e.execute_line(c, "BGREWRITEAOF", NOW), Some(Reply::status("Background append only file rewriting started")));
        e.before_sleep(NOW);
        let mut now = NOW;
        for _ in 0..3 {
            browser::sleep(1).await;
            now += 100;
            e.cron(now);
            e.before_sleep(now);
        }
        if fail.is_none() {
            assert_eq!(e.srv.aof.rewrites, 1, "the clean rewrite finished");
            total = d.transactions() - before;
        }
        drop(e);
        let _ = d.committed().await;
        assert!(!d.pending());
        let s = idb(ns).await;
        let mut e = match Engine::open(Config { appendonly: true, ..Default::default() }, Box::new(s), NOW) {
            Ok(e) => e,
            Err(err) => panic!("failing transaction {fail:?} of {total}: restart refused: {:?}", err.lines),
        };
        assert_eq!(run(&mut e, &["DEBUG DIGEST"]), digest, "failing transaction {fail:?} of {total}");
        drop(e);
        let next = fail.map_or(0, |k| k + 1);
        if next >= total {
            break;
        }
        fail = Some(next);
    }
    assert!(total >= 4, "the rewrite issued {total} transactions");
    wipe("indexeddb", ns).await;
}

/// The keys of the `chunks` store of `ns` and the length of each value, in key order (the
/// database opened raw, as version 3, while no storage holds it).
async fn raw_chunks(ns: &str) -> Vec<(Vec<f64>, u32)> {
    raw_store(ns, "chunks")
        .await
        .into_iter()
        .map(|(k, v)| (js_sys::Array::from(&k).iter().map(|x| x.as_f64().unwrap()).collect(), js_sys::Uint8Array::new(&v).length()))
        .collect()
}

/// The records of the `inodes` store of `ns`: (inode, length).
async fn raw_inodes(ns: &str) -> Vec<(f64, f64)> {
    raw_store(ns, "inodes").await.into_iter().map(|(k, v)| (k.as_f64().unwrap(), v.as_f64().unwrap())).collect()
}

async fn raw_store(ns: &str, store: &str) -> Vec<(wasm_bindgen::JsValue, wasm_bindgen::JsValue)> {
    use wasm_bindgen::JsCast;
    let name = browser::idb_name(ns);
    let req = browser::idb_factory().unwrap().open_with_u32(&name, 3).unwrap();
    let db: web_sys::IdbDatabase = browser::request(&req, &name).await.unwrap().unchecked_into();
    let store = db.transaction_with_str(store).unwrap().object_store(store).unwrap();
    let (keys, values) = (store.get_all_keys().unwrap(), store.get_all().unwrap());
    let keys = js_sys::Array::from(&browser::request(&keys, "keys").await.unwrap());
    let values = js_sys::Array::from(&browser::request(&values, "values").await.unwrap());
    db.close();
    keys.iter().zip(values.iter()).collect()
}

/// An append inside a chunk that is not full stores only its bytes (a piece), not the chunk;
/// the chunk once full is stored whole and replaces its pieces.
#[wasm_bindgen_test]
async fn idb_an_append_stores_only_its_bytes() {
    let ns = "t-idb-pieces";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    s.open("f", OpenMode::Create).unwrap();
    // Each sync once the one before has committed (as under `always`, where no reply leaves
    // before its commit): an unconfirmed one is carried again by the next.
    let d = s.durability();
    s.append("f", &[1; 1000]).unwrap();
    s.sync("f").unwrap();
    for _ in 0..3 {
        d.committed().await.unwrap();
        s.append("f", &[2; 60]).unwrap();
        s.sync("f").unwrap();
    }
    let s = reopened(ns, s).await;
    drop(s);
    let ino = raw_chunks(ns).await[0].0[0];
    assert_eq!(
        raw_chunks(ns).await,
        vec![(vec![ino, 0.0], 1000), (vec![ino, 0.0, 1000.0], 60), (vec![ino, 0.0, 1060.0], 60), (vec![ino, 0.0, 1120.0], 60)],
        "the first sync wrote the chunk from its start, each append a piece of 60 bytes"
    );
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 1000], vec![2; 180]].concat());
    // Rewritten from below the pieces, after a reopen (the storage does not know where the
    // database's pieces start): the new piece replaces the ones it covers.
    s.write_at("f", 990, &[4; 20]).unwrap();
    s.sync("f").unwrap();
    let mut s = reopened(ns, s).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 990], vec![4; 20], vec![2; 170]].concat());
    drop(s);
    assert_eq!(raw_chunks(ns).await, vec![(vec![ino, 0.0], 1000), (vec![ino, 0.0, 990.0], 190)]);
    let mut s = idb(ns).await;
    s.write_at("f", 990, &[1; 10]).unwrap();
    s.write_at("f", 1000, &[2; 10]).unwrap();
    // Filled past the chunk's end: the full chunk, then the next one from its start.
    s.append("f", &vec![3; idb::CHUNK]).unwrap();
    s.sync("f").unwrap();
    let s = reopened(ns, s).await;
    drop(s);
    assert_eq!(raw_chunks(ns).await, vec![(vec![ino, 0.0], idb::CHUNK as u32), (vec![ino, 1.0], 1180)]);
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 1000], vec![2; 180], vec![3; idb::CHUNK]].concat());
    drop(s);
    wipe("indexeddb", ns).await;
}

/// Appends, overwrites and truncations across chunk boundaries, each synced (pieces and whole
/// chunks mixed), against a plain `Vec`: a reopen every few steps reads the model's bytes.
#[wasm_bindgen_test]
async fn idb_pieces_and_chunks_reload_as_written() {
    let ns = "t-idb-pieces-model";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    s.open("f", OpenMode::Create).unwrap();
    let mut model: Vec<u8> = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..400u32 {
        let byte = (step % 251) as u8;
        match next(10) {
            0 if !model.is_empty() => {
                // Truncate, mostly a little, sometimes back into an earlier chunk.
                let far = next(4) == 0;
                let len = model.len() - next(if far { model.len() } else { model.len().min(500) } as u64 + 1) as usize;
                s.truncate("f", len as u64).unwrap();
                model.truncate(len);
            }
            1 | 2 if !model.is_empty() => {
                // Overwrite near the end (the last chunk, where pieces are), sometimes across a
                // chunk boundary and past the end.
                let at = model.len() - 1 - next(model.len().min(4000) as u64) as usize;
                let n = 1 + next(3000) as usize;
                s.write_at("f", at as u64, &vec![byte; n]).unwrap();
                if model.len() < at + n {
                    model.resize(at + n, 0);
                }
                model[at..at + n].fill(byte);
            }
            _ => {
                let big = next(8) == 0;
                let n = 1 + next(if big { 40_000 } else { 300 }) as usize;
                s.append("f", &vec![byte; n]).unwrap();
                model.extend(std::iter::repeat_n(byte, n));
            }
        }
        if next(4) != 0 {
            s.sync("f").unwrap();
            // Mostly once it has committed (the next sync writes only what changed since),
            // sometimes not (the next one carries it again).
            if next(4) != 0 {
                s.durability().committed().await.unwrap();
            }
        }
        if step % 40 == 39 {
            s.sync("f").unwrap();
            s = reopened(ns, s).await;
            let got = s.read_all("f").unwrap();
            let differs = got.iter().zip(&model).position(|(a, b)| a != b);
            assert!(got == model, "after step {step}: {} bytes read, {} written, first difference at {differs:?}", got.len(), model.len());
        }
    }
    drop(s);
    wipe("indexeddb", ns).await;
}

/// Writes a database for `ns` as a build of `version` would leave it: the `names`, `inodes`
/// and `chunks` records given (chunk keys as arrays of numbers).
async fn raw_database(ns: &str, version: u32, names: &[(&str, f64)], inodes: &[(f64, f64)], chunks: &[(Vec<f64>, Vec<u8>)]) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let name = browser::idb_name(ns);
    let req = browser::idb_factory().unwrap().open_with_u32(&name, version).unwrap();
    let upgrade = req.clone();
    let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let db: web_sys::IdbDatabase = upgrade.result().unwrap().unchecked_into();
        for s in ["names", "inodes", "chunks"] {
            db.create_object_store(s).unwrap();
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db: web_sys::IdbDatabase = browser::request(&req, &name).await.unwrap().unchecked_into();
    let stores = js_sys::Array::of3(&"names".into(), &"inodes".into(), &"chunks".into());
    let tx = db.transaction_with_str_sequence_and_mode(&stores, web_sys::IdbTransactionMode::Readwrite).unwrap();
    for (file, ino) in names {
        tx.object_store("names").unwrap().put_with_key(&(*ino).into(), &(*file).into()).unwrap();
    }
    for (ino, len) in inodes {
        tx.object_store("inodes").unwrap().put_with_key(&(*len).into(), &(*ino).into()).unwrap();
    }
    for (key, bytes) in chunks {
        let key: js_sys::Array = key.iter().map(|&x| wasm_bindgen::JsValue::from_f64(x)).collect();
        tx.object_store("chunks").unwrap().put_with_key(&js_sys::Uint8Array::from(bytes.as_slice()), &key).unwrap();
    }
    let done = js_sys::Promise::new(&mut |resolve, _| tx.set_oncomplete(Some(&resolve)));
    wasm_bindgen_futures::JsFuture::from(done).await.unwrap();
    db.close();
}

/// A database written by a version-1 build (whole chunks only, database version 1) opens: its
/// files read as they were; their first sync rewrites the last chunk whole and deletes the
/// length record (version 3: the length is where the bytes end), the next append is a piece.
#[wasm_bindgen_test]
async fn idb_a_version_1_database_opens() {
    let ns = "t-idb-version-1";
    wipe("indexeddb", ns).await;
    let content: Vec<u8> = (0..idb::CHUNK + 100).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<(Vec<f64>, Vec<u8>)> = content.chunks(idb::CHUNK).enumerate().map(|(i, c)| (vec![7.0, i as f64], c.to_vec())).collect();
    raw_database(ns, 1, &[("f", 7.0)], &[(7.0, content.len() as f64)], &chunks).await;

    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), content, "the version-1 chunks read as written");
    s.durability().committed().await.unwrap();
    s.append("f", b"more").unwrap();
    s.sync("f").unwrap();
    s.durability().committed().await.unwrap();
    s.append("f", b"!").unwrap();
    s.sync("f").unwrap();
    let mut s = reopened(ns, s).await;
    assert_eq!(s.read_all("f").unwrap(), [content.as_slice(), b"more!"].concat());
    drop(s);
    let len = content.len() as f64;
    assert_eq!(raw_chunks(ns).await, vec![(vec![7.0, 0.0], idb::CHUNK as u32), (vec![7.0, 1.0], 104), (vec![7.0, 1.0, len + 4.0], 1)]);
    assert_eq!(raw_inodes(ns).await, vec![], "the length record is gone with the first sync");
    wipe("indexeddb", ns).await;
}

/// A version-2 database whose file was truncated inside a chunk (bytes stored past its
/// length record) opens at the recorded length, and stays that length through the first
/// sync that replaces the record: the bytes past it never come back.
#[wasm_bindgen_test]
async fn idb_a_version_2_length_is_kept_until_replaced() {
    let ns = "t-idb-version-2";
    wipe("indexeddb", ns).await;
    raw_database(
        ns,
        2,
        &[("f", 7.0), ("g", 8.0)],
        &[(7.0, 50.0), (8.0, 30.0)],
        &[(vec![7.0, 0.0], vec![1; 80]), (vec![7.0, 0.0, 80.0], vec![2; 20]), (vec![8.0, 0.0], vec![3; 30])],
    )
    .await;
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), vec![1; 50], "cut at the version-2 length");
    assert_eq!(s.read_all("g").unwrap(), vec![3; 30]);
    s.durability().committed().await.unwrap();
    s.append("f", &[9; 5]).unwrap();
    s.sync("f").unwrap();
    let mut s = reopened(ns, s).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 50], vec![9; 5]].concat(), "no stale byte past the old length");
    assert_eq!(s.read_all("g").unwrap(), vec![3; 30], "a file not synced keeps its record");
    drop(s);
    assert_eq!(raw_chunks(ns).await, vec![(vec![7.0, 0.0], 55), (vec![8.0, 0.0], 30)]);
    assert_eq!(raw_inodes(ns).await, vec![(8.0, 30.0)]);
    wipe("indexeddb", ns).await;
}

/// A truncation inside a chunk, then appends: the stored bytes end at the length after each
/// sync (version 3 stores no length), whether or not the truncation's transaction has
/// committed when the next sync is issued.
#[wasm_bindgen_test]
async fn idb_a_truncation_cuts_the_stored_bytes() {
    let ns = "t-idb-truncate";
    wipe("indexeddb", ns).await;
    let mut s = idb(ns).await;
    s.open("f", OpenMode::Create).unwrap();
    let d = s.durability();
    s.append("f", &[1; 100]).unwrap();
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    s.append("f", &[2; 100]).unwrap();
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    s.truncate("f", 150).unwrap();
    s.sync("f").unwrap();
    s.append("f", &[3; 10]).unwrap();
    s.sync("f").unwrap();
    let s = reopened(ns, s).await;
    drop(s);
    let ino = raw_chunks(ns).await[0].0[0];
    assert_eq!(raw_chunks(ns).await, vec![(vec![ino, 0.0], 160)], "the chunk rewritten whole, its pieces gone");
    assert_eq!(raw_inodes(ns).await, vec![]);
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 100], vec![2; 50], vec![3; 10]].concat());
    drop(s);
    wipe("indexeddb", ns).await;
}

/// A damaged database (records that leave a hole, a length past the stored bytes, huge
/// offsets) opens without a panic or a gigabyte mirror: each file is what is stored whole.
#[wasm_bindgen_test]
async fn idb_a_damaged_database_opens() {
    let ns = "t-idb-damaged";
    wipe("indexeddb", ns).await;
    raw_database(
        ns,
        2,
        &[("f", 7.0), ("g", 8.0)],
        &[(7.0, 1e13), (8.0, 5.0)],
        &[
            (vec![7.0, 0.0], vec![1; 100]),
            (vec![7.0, 0.0, 1e12], vec![2; 10]),
            (vec![7.0, 1e9], vec![3; 10]),
            (vec![7.0, 0.0, 90.0], vec![4; 20]),
            (vec![8.0, 0.0], vec![5; 10]),
        ],
    )
    .await;
    let mut s = idb(ns).await;
    assert_eq!(s.read_all("f").unwrap(), [vec![1; 90], vec![4; 20]].concat(), "the records without a hole, in key order");
    assert_eq!(s.read_all("g").unwrap(), vec![5; 5], "cut at its length");
    drop(s);
    wipe("indexeddb", ns).await;
}
