//! IndexedDB backend: the files live in memory (a mirror, the model's page cache) and are
//! persisted to IndexedDB at the sync points, where the engine would `fsync`.
//!
//! IndexedDB is asynchronous only; the engine's [`Storage`] is synchronous. So every call works
//! on the mirror, and `sync`, `sync_dir`, `rename` and `remove` *issue* a readwrite transaction
//! (requests are queued synchronously; the browser commits later). [`IdbDurability::committed`]
//! resolves once every transaction issued so far has committed: under `appendfsync always` the
//! host releases no reply before that, which is what Redis's fsync-before-reply promises.
//! Transactions ask for `{durability: "strict"}` (flushed to disk before `complete`, where the
//! browser supports it; elsewhere the browser's default, which may only reach the OS).
//!
//! Database `aof-lab:<namespace>`, version 3, three object stores (out-of-line keys):
//!
//! ```text
//! names    name (string) -> inode (number)       "dir/" -> 0 marks a directory
//! inodes   inode (number) -> length (number)     written by versions 1 and 2 only (below)
//! chunks   [inode, index] -> Uint8Array          bytes [index*64K, (index+1)*64K), or fewer
//!          [inode, index, offset] -> Uint8Array  a piece: bytes from `offset` (inside chunk
//!                                                `index`) to at most that chunk's end
//! ```
//!
//! * `sync(name)` writes the bytes changed since the last sync, deletes chunks past a
//!   truncation, and records the name if no committed transaction holds it, in one
//!   transaction: after a crash the file is its last synced version, never a mix. A change that
//!   starts inside a chunk that is not full is stored as a piece holding only the bytes from
//!   there (an AOF append under `always` puts its few bytes, not the up to 64 KB of the chunk:
//!   a strict transaction's cost grows with what it puts, about 2 × from a few bytes to 32 KB
//!   in Chromium); the piece replaces the chunk's pieces that start at or after it, which it
//!   covers. A chunk written whole (the change starts at its start, or it is full) replaces all
//!   its pieces. Keys sort a chunk before its pieces and the pieces by offset, so loading
//!   applies them in key order, each over the ones before.
//! * **A file's length is where its stored bytes end** (version 3). Every record reaches the
//!   file's end as it was synced, or the end of a full chunk; so an append's transaction is one
//!   `put` in one store, as a bare strict-transaction loop's is (a second request, the length,
//!   cost about a quarter of the loop's rate in Chromium: BENCHMARKS.md, "Browser writes"). A
//!   truncation keeps that true: its transaction writes the file's last chunk whole and deletes
//!   every record past it. Versions 1 and 2 stored the length in `inodes` and could leave bytes
//!   past it (a truncation inside a chunk); such a record is authoritative while it exists, and
//!   the file's first sync rewrites its last chunk whole, deletes what lies past the end and
//!   deletes the record, in one transaction. Loading applies both rules, so a version-2
//!   database opens as it was, and a version-2 build refuses a version-3 database
//!   (`VersionError`) rather than read files without a length as empty.
//! * A transaction's scope is the stores it writes (`chunks`; `names` when it names a file;
//!   `inodes` when it deletes a length): every one includes `chunks`, so IndexedDB still runs
//!   them in the order they were issued.
//! * `rename`, `remove` and `sync_dir` write the whole `names` store (a handful of entries) and
//!   delete the replaced or removed inodes, in one transaction: a rename is atomic because a
//!   transaction is.
//! * IndexedDB runs these transactions in order but commits each on its own, while `sync`
//!   returns before its transaction commits. So no transaction relies on an earlier one that
//!   may still fail: each carries again the synced data its files still *owe* (issued, not
//!   known committed), and a `sync` while a namespace change is owed rewrites `names` too.
//!   Otherwise a rename after a sync whose transaction failed would name an inode with no data
//!   and delete the file it replaced (the engine's temp-sync-rename of a manifest or a base).
//! * Creating a file or a directory changes only the mirror, until the next of those.
//! * A failed transaction (`QuotaExceededError`: ENOSPC) leaves IndexedDB as it was (transactions
//!   are atomic); its changes are marked dirty again, the next `sync`/`sync_dir` returns the
//!   error (as a later `fsync` reports a failed writeback) and `committed` rejects.
//!
//! Compared with a disk: what is only in the mirror is lost when the worker dies, page cache and
//! process alike; there is no kernel to write it back. Inodes no name refers to (a crash between
//! a sync and the rename that would have named them) are deleted when the namespace is opened.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbTransaction, IdbTransactionMode};

use super::browser::{self, js_error};
use super::memory::FileLayers;
use super::{Error, ErrorKind, OpenMode, Result, Storage};

pub use super::browser::{delete_namespace, estimate_quota};

/// Bytes per chunk record.
pub const CHUNK: usize = 64 * 1024;
const STORES: [&str; 3] = ["names", "inodes", "chunks"];
/// The database's version: 3 since the length is where the stored bytes end (module doc).
const VERSION: u32 = 3;

struct MirrorFile {
    ino: u64,
    data: Vec<u8>,
    /// Lowest offset changed since the last sync.
    dirty_from: Option<usize>,
    /// Truncated since the last sync: chunks past the end must go.
    shrunk: bool,
    /// `names` in IndexedDB maps this name to this inode (once the transactions in flight
    /// commit).
    name_durable: bool,
    /// Bytes from the start that committed transactions hold as the mirror does.
    durable_len: usize,
    /// Lowest offset a transaction was issued to store (a `sync` returned Ok for it) and that
    /// is not known to be committed: that transaction is in flight, or it failed. Every later
    /// transaction that writes this file or names it carries the bytes from there again, so
    /// that none commits on top of data that did not.
    owed_from: Option<usize>,
    /// Likewise for a truncation: chunks past the end must go.
    owed_shrunk: bool,
    /// At most the highest offset at which IndexedDB holds a piece of this file (`usize::MAX`
    /// for a file loaded at open: not known): a piece written at or below it deletes the pieces
    /// it covers; an append past it (the usual case) has none to delete. Only a file's last
    /// chunk has pieces (a chunk is written whole once full), so a piece's deletion leaves
    /// none above it.
    top_piece: Option<usize>,
    /// IndexedDB holds a length for this file in `inodes` (written by a version-2 build): it
    /// is authoritative until the file's next transaction, which makes the stored bytes end at
    /// the length and deletes it (see the module doc).
    length_record: bool,
}

impl MirrorFile {
    fn new(ino: u64, data: Vec<u8>, durable: bool, length_record: bool) -> MirrorFile {
        let durable_len = if durable { data.len() } else { 0 };
        MirrorFile {
            ino,
            data,
            dirty_from: None,
            shrunk: false,
            name_durable: durable,
            durable_len,
            owed_from: None,
            owed_shrunk: false,
            top_piece: durable.then_some(usize::MAX),
            length_record,
        }
    }

    /// Synced data not known to be committed (see `owed_from`).
    fn owes(&self) -> bool {
        self.owed_from.is_some() || self.owed_shrunk
    }

    /// What a transaction writing this file must store, so that once it commits IndexedDB
    /// holds the mirror as it is now: from the lowest byte changed since the last sync or owed
    /// by an unconfirmed transaction, and whether the stored bytes must be cut at the end (a
    /// truncation, or a length record to replace).
    fn carry(&self) -> (usize, bool) {
        let len = self.data.len();
        let from = [self.dirty_from, self.owed_from].into_iter().flatten().min().unwrap_or(len).min(len);
        (from, self.shrunk || self.owed_shrunk || self.length_record)
    }

    /// Queues, into `tx`, the bytes from `from` (whole chunks, or a piece where `from` falls
    /// inside a chunk that is not yet full). When `shrunk`, the stored bytes are made to end
    /// at the length: the last chunk written whole, every record past it deleted, and a
    /// length record deleted (the scope then includes `inodes`).
    fn put(&mut self, tx: &IdbTransaction, chunks: &IdbObjectStore, from: usize, shrunk: bool) -> std::result::Result<(), JsValue> {
        let len = self.data.len();
        let end = len.div_ceil(CHUNK);
        let from = if shrunk { from.min(len / CHUNK * CHUNK) } else { from };
        for idx in from / CHUNK..end {
            let (start, stop) = (idx * CHUNK, len.min((idx + 1) * CHUNK));
            let at = from.max(start);
            if at == start || stop == start + CHUNK {
                // The whole chunk: it replaces its pieces.
                chunks.delete(&piece_range(self.ino, idx, start)?)?;
                chunks.put_with_key(&Uint8Array::from(&self.data[start..stop]), &chunk_key(self.ino, idx as f64))?;
            } else {
                // Only the bytes from `at`: pieces from there on are older copies of them.
                if self.top_piece.is_some_and(|top| top >= at) {
                    chunks.delete(&piece_range(self.ino, idx, at)?)?;
                }
                if at < stop {
                    chunks.put_with_key(&Uint8Array::from(&self.data[at..stop]), &piece_key(self.ino, idx, at as f64))?;
                }
                self.top_piece = Some(at);
            }
        }
        if shrunk {
            chunks.delete(&chunk_range(self.ino, end)?)?;
            tx.object_store("inodes")?.delete(&JsValue::from_f64(self.ino as f64))?;
        }
        Ok(())
    }

    /// Once a transaction carrying this file is issued: what it stores is owed until it
    /// commits, and no longer dirty.
    fn carried(&mut self, from: usize, shrunk: bool) -> DataRedo {
        let redo = DataRedo { ino: self.ino, from, shrunk, len: self.data.len() };
        self.owed_from = Some(self.owed_from.map_or(from, |o| o.min(from)));
        self.owed_shrunk |= shrunk;
        self.dirty_from = None;
        self.shrunk = false;
        // Deleted by this transaction; if it fails, `shrunk` comes back with the redo.
        self.length_record = false;
        redo
    }
}

/// The data of one file a transaction carries: what a failure must make dirty again.
struct DataRedo {
    ino: u64,
    from: usize,
    shrunk: bool,
    len: usize,
}

/// What a transaction carries: file data (one file for a `sync`; for a namespace change, every
/// file whose synced data is not known to be committed), and for a namespace change the inodes
/// it deletes.
struct Redo {
    data: Vec<DataRedo>,
    /// `Some` for a namespace transaction (`names` rewritten).
    dead: Option<Vec<u64>>,
}

struct InFlight {
    seq: u64,
    /// The files whose data the transaction carries.
    inos: Vec<u64>,
    /// It rewrites `names`.
    namespace: bool,
    tx: IdbTransaction,
    done: Promise,
    simulated_failure: bool,
}

struct Inner {
    db: IdbDatabase,
    files: BTreeMap<String, MirrorFile>,
    /// Directories, and whether `names` holds their marker.
    dirs: BTreeMap<String, bool>,
    next_ino: u64,
    /// Inodes to delete at the next namespace transaction.
    dead: Vec<u64>,
    /// A namespace transaction was issued and is not known to be committed (in flight or
    /// failed): a data transaction then rewrites `names` too, since its own name entry alone
    /// could commit over a failed rename and leave two names on one inode.
    namespace_owed: bool,
    in_flight: Vec<InFlight>,
    next_seq: u64,
    /// Reported by the next `sync`/`sync_dir` (as `fsync` reports a failed writeback).
    sync_failure: Option<Error>,
    /// Reported by the next `committed()`.
    commit_failure: Option<Error>,
    capacity: Option<u64>,
    /// Simulated `QuotaExceededError`: the transaction issued after this many more is aborted.
    fail_commit_in: Option<u64>,
    closed: bool,
    transactions: u64,
}

/// The storage. Dropping it closes the database connection; transactions already issued still
/// commit.
pub struct IdbStorage {
    inner: Rc<RefCell<Inner>>,
}

/// A cheap clonable handle the facade keeps after boxing the storage into the engine.
#[derive(Clone)]
pub struct IdbDurability {
    inner: Rc<RefCell<Inner>>,
}

fn parent(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(d, _)| d)
}

fn chunk_key(ino: u64, idx: f64) -> JsValue {
    Array::of2(&JsValue::from_f64(ino as f64), &JsValue::from_f64(idx)).into()
}

/// Every chunk of `ino` from index `from` on, with their pieces.
fn chunk_range(ino: u64, from: usize) -> std::result::Result<JsValue, JsValue> {
    IdbKeyRange::bound(&chunk_key(ino, from as f64), &chunk_key(ino, f64::INFINITY)).map(Into::into)
}

/// The piece of chunk `idx` of `ino` that holds the file's bytes from offset `at` on.
fn piece_key(ino: u64, idx: usize, at: f64) -> JsValue {
    Array::of3(&JsValue::from_f64(ino as f64), &JsValue::from_f64(idx as f64), &JsValue::from_f64(at)).into()
}

/// The pieces of chunk `idx` of `ino` that start at offset `at` or later.
fn piece_range(ino: u64, idx: usize, at: usize) -> std::result::Result<JsValue, JsValue> {
    IdbKeyRange::bound(&piece_key(ino, idx, at as f64), &piece_key(ino, idx, f64::INFINITY)).map(Into::into)
}

fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(|e| js_error(e, name))
}

fn io(context: &'static str) -> impl Fn(JsValue) -> Error {
    move |e| js_error(e, context)
}

/// A readwrite transaction over `stores`, with strict durability where supported (through
/// `Reflect`: the options argument is an unstable API in web-sys).
fn readwrite(db: &IdbDatabase, stores: &[&str]) -> Result<IdbTransaction> {
    let stores: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let opts = Object::new();
    Reflect::set(&opts, &"durability".into(), &"strict".into()).map_err(io("transaction"))?;
    let f: Function = Reflect::get(db, &"transaction".into()).map_err(io("transaction"))?.unchecked_into();
    Ok(f.call3(db, &stores, &"readwrite".into(), &opts).map_err(io("transaction"))?.unchecked_into())
}

impl Inner {
    fn dir_exists(&self, dir: &str) -> bool {
        dir.is_empty() || self.dirs.contains_key(dir)
    }

    fn file(&self, name: &str) -> Result<&MirrorFile> {
        self.files.get(name).ok_or_else(|| Error::not_found(name))
    }

    fn file_mut(&mut self, name: &str) -> Result<&mut MirrorFile> {
        self.files.get_mut(name).ok_or_else(|| Error::not_found(name))
    }

    fn used_bytes(&self) -> u64 {
        self.files.values().map(|f| f.data.len() as u64).sum()
    }

    /// Issues the data transaction of `name`: the changed chunks, the length, the name. It
    /// also carries again what earlier transactions of the file still owe (one in flight may
    /// yet fail), so that its length never commits over chunks that are missing.
    fn data_transaction(&mut self, name: &str) -> Result<Option<(IdbTransaction, Redo)>> {
        let db = self.db.clone();
        let f = self.file(name)?;
        // Nothing new: what is in flight already carries everything synced so far.
        if f.dirty_from.is_none() && !f.shrunk && f.name_durable {
            return Ok(None);
        }
        if self.namespace_owed {
            return self.namespace_transaction(Some(name)).map(Some);
        }
        let f = self.file_mut(name)?;
        let (from, shrunk) = f.carry();
        // The name, unless a committed transaction holds it already (nothing owed: every
        // transaction that carried this file has committed).
        let name_owed = !f.name_durable || f.owes();
        // Only the stores written: an append's is `chunks` alone (module doc).
        let scope: &[&str] = match (name_owed, shrunk) {
            (false, false) => &["chunks"],
            (true, false) => &["chunks", "names"],
            (false, true) => &["chunks", "inodes"],
            (true, true) => &STORES,
        };
        let tx = readwrite(&db, scope)?;
        let chunks = store(&tx, "chunks")?;
        let mut issue = || -> std::result::Result<(), JsValue> {
            f.put(&tx, &chunks, from, shrunk)?;
            if name_owed {
                tx.object_store("names")?.put_with_key(&JsValue::from_f64(f.ino as f64), &JsValue::from_str(name))?;
            }
            Ok(())
        };
        if let Err(e) = issue() {
            let _ = tx.abort();
            return Err(js_error(e, name));
        }
        let redo = f.carried(from, shrunk);
        f.name_durable = true;
        Ok(Some((tx, Redo { data: vec![redo], dead: None })))
    }

    /// Issues a namespace transaction: `names` rewritten from the mirror, dead inodes deleted,
    /// and the data of every file that owes synced data (its data transaction is in flight or
    /// failed). IndexedDB commits transactions in order but each on its own: without that, a
    /// rename issued after a `sync` whose transaction then fails would commit a name for an
    /// inode with no length and no chunks, and delete the file it replaced. In one transaction
    /// the name and its data commit together or not at all (a POSIX fsync error is synchronous,
    /// and Redis never renames after one).
    /// `also` is a file to sync in the same transaction (a `sync` while a namespace change is
    /// owed).
    fn namespace_transaction(&mut self, also: Option<&str>) -> Result<(IdbTransaction, Redo)> {
        let tx = readwrite(&self.db, &STORES)?;
        let (chunks, inodes, names) = (store(&tx, "chunks")?, store(&tx, "inodes")?, store(&tx, "names")?);
        let dead = std::mem::take(&mut self.dead);
        let owing: Vec<(String, usize, bool)> = self
            .files
            .iter()
            .filter(|(n, f)| f.owes() || also == Some(n.as_str()))
            .map(|(n, f)| {
                let (from, shrunk) = f.carry();
                (n.clone(), from, shrunk)
            })
            .collect();
        let mut issue = || -> std::result::Result<(), JsValue> {
            for (name, from, shrunk) in &owing {
                if let Some(f) = self.files.get_mut(name) {
                    f.put(&tx, &chunks, *from, *shrunk)?;
                }
            }
            names.clear()?;
            for dir in self.dirs.keys() {
                names.put_with_key(&JsValue::from_f64(0.0), &JsValue::from_str(&format!("{dir}/")))?;
            }
            for (name, f) in &self.files {
                names.put_with_key(&JsValue::from_f64(f.ino as f64), &JsValue::from_str(name))?;
            }
            for &ino in &dead {
                inodes.delete(&JsValue::from_f64(ino as f64))?;
                chunks.delete(&chunk_range(ino, 0)?)?;
            }
            Ok(())
        };
        if let Err(e) = issue() {
            let _ = tx.abort();
            self.dead = dead;
            return Err(js_error(e, "names"));
        }
        let mut data = Vec::with_capacity(owing.len());
        for (name, from, shrunk) in owing {
            if let Some(f) = self.files.get_mut(&name) {
                data.push(f.carried(from, shrunk));
            }
        }
        for f in self.files.values_mut() {
            f.name_durable = true;
        }
        for durable in self.dirs.values_mut() {
            *durable = true;
        }
        self.namespace_owed = true;
        Ok((tx, Redo { data, dead: Some(dead) }))
    }

    fn settle(&mut self, seq: u64, outcome: std::result::Result<Redo, (Error, Redo)>) {
        // Gone already when a `committed()` saw it settle (and reported its failure).
        let tracked = self.in_flight.iter().any(|t| t.seq == seq);
        self.in_flight.retain(|t| t.seq != seq);
        let (err, redo) = match outcome {
            Ok(redo) => {
                for DataRedo { ino, len, .. } in redo.data {
                    // The last transaction carrying the file: IndexedDB now holds the mirror
                    // as it was when it was issued (which carried everything owed before it),
                    // up to what changed since.
                    if !self.in_flight.iter().any(|t| t.inos.contains(&ino))
                        && let Some(f) = self.files.values_mut().find(|f| f.ino == ino)
                    {
                        f.durable_len = len.min(f.dirty_from.unwrap_or(usize::MAX)).min(f.data.len());
                        f.owed_from = None;
                        f.owed_shrunk = false;
                    }
                }
                if redo.dead.is_some() && !self.in_flight.iter().any(|t| t.namespace) {
                    self.namespace_owed = false;
                }
                return;
            }
            Err(failed) => failed,
        };
        if tracked {
            self.commit_failure.get_or_insert(err.clone());
        }
        self.sync_failure.get_or_insert(err);
        // What it carried stays owed (the next transaction naming or writing the file carries
        // it again) and is dirty again (the next `sync` re-sends it).
        for DataRedo { ino, from, shrunk, .. } in redo.data {
            if let Some(f) = self.files.values_mut().find(|f| f.ino == ino) {
                f.dirty_from = Some(f.dirty_from.map_or(from, |d| d.min(from)));
                f.shrunk |= shrunk;
                f.name_durable = false;
            }
        }
        if let Some(dead) = redo.dead {
            self.dead.extend(dead);
            for f in self.files.values_mut() {
                f.name_durable = false;
            }
            for durable in self.dirs.values_mut() {
                *durable = false;
            }
        }
    }
}

/// The error a finished-with-abort transaction reports.
fn abort_error(tx: &IdbTransaction, simulated: bool) -> Error {
    if simulated {
        return Error::new(ErrorKind::NoSpace, "IndexedDB: QuotaExceededError (simulated): No space left on device");
    }
    match tx.error() {
        Some(e) => js_error(e.into(), "IndexedDB transaction"),
        None => Error::new(ErrorKind::Io, "IndexedDB transaction aborted"),
    }
}

/// Commits `tx` (or aborts it, to simulate a quota error) and tracks it until it settles.
fn track(rc: &Rc<RefCell<Inner>>, tx: IdbTransaction, redo: Redo) {
    let done = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    let simulated = {
        let mut inner = rc.borrow_mut();
        match inner.fail_commit_in {
            Some(0) => inner.fail_commit_in.take().is_some(),
            Some(n) => {
                inner.fail_commit_in = Some(n - 1);
                false
            }
            None => false,
        }
    };
    if simulated {
        let _ = tx.abort();
    } else if let Ok(commit) = Reflect::get(&tx, &"commit".into())
        && let Some(commit) = commit.dyn_ref::<Function>()
    {
        // Commit now rather than when the task ends (IDBTransaction.commit(), where it exists).
        let _ = commit.call0(&tx);
    }
    let inos: Vec<u64> = redo.data.iter().map(|d| d.ino).collect();
    let namespace = redo.dead.is_some();
    let seq = {
        let mut inner = rc.borrow_mut();
        inner.next_seq += 1;
        inner.transactions += 1;
        let seq = inner.next_seq;
        inner.in_flight.push(InFlight { seq, inos, namespace, tx: tx.clone(), done: done.clone(), simulated_failure: simulated });
        seq
    };
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(rc);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = JsFuture::from(done).await;
        if let Some(rc) = weak.upgrade() {
            let outcome = match outcome {
                Ok(_) => Ok(redo),
                Err(_) => Err((abort_error(&tx, simulated), redo)),
            };
            rc.borrow_mut().settle(seq, outcome);
        }
    });
}

impl IdbStorage {
    /// Opens (creating) the database of `namespace` and loads every file into the mirror.
    pub async fn open(namespace: &str) -> Result<IdbStorage> {
        browser::check_namespace(namespace)?;
        let name = browser::idb_name(namespace);
        let req = browser::idb_factory()?.open_with_u32(&name, VERSION).map_err(io("indexedDB.open"))?;
        let upgrade_req = req.clone();
        let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Ok(db) = upgrade_req.result() {
                let db: IdbDatabase = db.unchecked_into();
                for s in STORES {
                    if !db.object_store_names().contains(s) {
                        let _ = db.create_object_store(s);
                    }
                }
            }
        });
        req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        let opened = browser::request(&req, &name).await;
        req.set_onupgradeneeded(None);
        drop(on_upgrade);
        let db: IdbDatabase = opened?.unchecked_into();

        // One readonly transaction reads everything (requests issued before the first await,
        // so the transaction stays alive).
        let tx = db.transaction_with_str_sequence_and_mode(
            &STORES.iter().map(|s| JsValue::from_str(s)).collect::<Array>(),
            IdbTransactionMode::Readonly,
        );
        let tx = match tx {
            Ok(tx) => tx,
            Err(e) => {
                db.close();
                return Err(js_error(e, &name));
            }
        };
        let reqs = (|| -> Result<_> {
            let (n, i, c) = (store(&tx, "names")?, store(&tx, "inodes")?, store(&tx, "chunks")?);
            let r = |x: std::result::Result<web_sys::IdbRequest, JsValue>| x.map_err(io("getAll"));
            Ok([r(n.get_all_keys())?, r(n.get_all())?, r(i.get_all_keys())?, r(i.get_all())?, r(c.get_all_keys())?, r(c.get_all())?])
        })();
        let reqs = match reqs {
            Ok(r) => r,
            Err(e) => {
                db.close();
                return Err(e);
            }
        };
        let mut results = Vec::with_capacity(reqs.len());
        for r in &reqs {
            match browser::request(r, &name).await {
                Ok(v) => results.push(Array::from(&v)),
                Err(e) => {
                    db.close();
                    return Err(e);
                }
            }
        }
        let [name_keys, name_inos, ino_keys, ino_lens, chunk_keys, chunk_values] =
            <[Array; 6]>::try_from(results).map_err(|_| Error::new(ErrorKind::Io, "IndexedDB: incomplete load"))?;

        let num = |v: JsValue| v.as_f64().unwrap_or(0.0) as u64;
        // (ino, length) pairs, a handful: searched linearly rather than through one more B-tree
        // type in the wasm (BENCHMARKS.md, "The wasm's size").
        let lens: Vec<(u64, usize)> = ino_keys.iter().zip(ino_lens.iter()).map(|(k, v)| (num(k), num(v) as usize)).collect();
        let mut data: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut max_ino = lens.iter().map(|(ino, _)| *ino).max().unwrap_or(0);
        // In key order: a chunk, then its pieces by offset, each newer than those before it.
        for (k, v) in chunk_keys.iter().zip(chunk_values.iter()) {
            let k = Array::from(&k);
            let (ino, idx) = (num(k.get(0)), num(k.get(1)) as usize);
            max_ino = max_ino.max(ino);
            let bytes = Uint8Array::new(&v);
            let buf = data.entry(ino).or_default();
            let start = if k.length() == 3 { num(k.get(2)) } else { (idx as u64).saturating_mul(CHUNK as u64) };
            // Each record starts where the bytes before it end, or inside them: one that would
            // leave a hole is not this storage's (a damaged database), and is skipped rather
            // than let a key make the mirror gigabytes long.
            if start > buf.len() as u64 {
                continue;
            }
            let start = start as usize;
            let end = start + bytes.length() as usize;
            if buf.len() < end {
                buf.resize(end, 0);
            }
            bytes.copy_to(&mut buf[start..end]);
        }
        let mut files = BTreeMap::new();
        let mut dirs = BTreeMap::new();
        for (k, v) in name_keys.iter().zip(name_inos.iter()) {
            let (Some(name), ino) = (k.as_string(), num(v)) else { continue };
            if let Some(dir) = name.strip_suffix('/') {
                dirs.insert(dir.to_string(), true);
                continue;
            }
            max_ino = max_ino.max(ino);
            let mut bytes = data.get(&ino).cloned().unwrap_or_default();
            // A version-2 length, while there is one; else where the stored bytes end (module
            // doc). Never longer than what is stored (a length and its bytes commit together).
            let len = lens.iter().rev().find(|(i, _)| *i == ino).map(|(_, len)| *len);
            if let Some(len) = len {
                bytes.truncate(len);
            }
            files.insert(name, MirrorFile::new(ino, bytes, true, len.is_some()));
        }
        // A file inside a directory whose marker was never made durable: the directory exists.
        for name in files.keys() {
            if let Some(dir) = parent(name) {
                dirs.entry(dir.to_string()).or_insert(false);
            }
        }
        let live: Vec<u64> = files.values().map(|f| f.ino).collect();
        let mut dead: Vec<u64> = lens.iter().map(|(ino, _)| ino).chain(data.keys()).copied().filter(|i| !live.contains(i)).collect();
        dead.sort_unstable();
        dead.dedup();

        let inner = Inner {
            db,
            files,
            dirs,
            next_ino: max_ino + 1,
            dead,
            namespace_owed: false,
            in_flight: Vec::new(),
            next_seq: 0,
            sync_failure: None,
            commit_failure: None,
            capacity: None,
            fail_commit_in: None,
            closed: false,
            transactions: 0,
        };
        let s = IdbStorage { inner: Rc::new(RefCell::new(inner)) };
        if !s.inner.borrow().dead.is_empty() {
            // Garbage of a crash: inodes no name refers to.
            let issued = s.inner.borrow_mut().namespace_transaction(None);
            if let Ok((tx, redo)) = issued {
                track(&s.inner, tx, redo);
            }
        }
        Ok(s)
    }

    /// A cheap clonable handle the facade keeps after boxing the storage into the engine.
    pub fn durability(&self) -> IdbDurability {
        IdbDurability { inner: self.inner.clone() }
    }

    /// Simulates a quota on the mirror's bytes: writes beyond are short, then ENOSPC.
    pub fn set_capacity(&mut self, bytes: Option<u64>) {
        self.inner.borrow_mut().capacity = bytes;
    }

    /// Simulates a `QuotaExceededError` of the next transaction (it is aborted, nothing of it
    /// is stored). For tests and the crash lab.
    pub fn fail_next_commit(&mut self) {
        self.inner.borrow_mut().fail_commit_in = Some(0);
    }

    /// Per file, the layers the lab shows; see [`IdbDurability::layers`].
    pub fn layers(&self) -> Vec<FileLayers> {
        self.durability().layers()
    }

    /// Readwrite transactions issued since open.
    pub fn transactions(&self) -> u64 {
        self.inner.borrow().transactions
    }

    /// Closes the connection (also done on drop); transactions already issued still commit.
    pub fn close(self) {}

    fn issue_namespace(&mut self) -> Result<()> {
        let (tx, redo) = self.inner.borrow_mut().namespace_transaction(None)?;
        track(&self.inner, tx, redo);
        Ok(())
    }
}

impl Drop for IdbStorage {
    fn drop(&mut self) {
        let mut inner = self.inner.borrow_mut();
        if !inner.closed {
            inner.closed = true;
            inner.db.close();
        }
    }
}

impl IdbDurability {
    /// Resolves when every sync()/sync_dir()/rename()/remove() issued so far is committed by an
    /// IndexedDB transaction (durability: "strict" where supported). Err -> quota/IO.
    pub async fn committed(&self) -> Result<()> {
        let waiting: Vec<(u64, Promise, IdbTransaction, bool)> =
            self.inner.borrow().in_flight.iter().map(|t| (t.seq, t.done.clone(), t.tx.clone(), t.simulated_failure)).collect();
        let mut first = None;
        let mut last_seq = 0;
        for (seq, done, tx, simulated) in waiting {
            last_seq = seq;
            if JsFuture::from(done).await.is_err() && first.is_none() {
                first = Some(abort_error(&tx, simulated));
            }
        }
        // Let their settle tasks run (they were woken by the same events), so that `pending()`
        // and `layers()` reflect the commits when this returns.
        for _ in 0..64 {
            if !self.inner.borrow().in_flight.iter().any(|t| t.seq <= last_seq) {
                break;
            }
            let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
        }
        let mut inner = self.inner.borrow_mut();
        inner.in_flight.retain(|t| t.seq > last_seq);
        // A failure seen here is also recorded by its settle task: report it once.
        let recorded = inner.commit_failure.take();
        match first.or(recorded) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Per file, the layers the lab shows: `len` is the mirror (lost with the worker),
    /// `durable_len` the prefix committed transactions hold, `durable_name` whether the name
    /// is committed (false while a transaction that writes names is in flight).
    pub fn layers(&self) -> Vec<FileLayers> {
        let inner = self.inner.borrow();
        let settled = inner.in_flight.iter().all(|t| !t.namespace);
        inner
            .files
            .iter()
            .map(|(name, f)| FileLayers {
                name: name.clone(),
                len: f.data.len() as u64,
                durable_len: f.durable_len as u64,
                durable_name: f.name_durable && settled && !inner.in_flight.iter().any(|t| t.inos.contains(&f.ino)),
            })
            .collect()
    }

    /// Stores every file changed since it was last stored, as a `sync` of each would: what a
    /// kernel's page cache keeps across a process kill ([`Storage::flush_page_cache`], which
    /// the lab calls after every turn, so a reload — the worker killed — finds every byte
    /// written, as after a `kill -9`; the simulated machine above keeps the page cache / disk
    /// distinction itself). A failed transaction is reported by the next `sync` (as a failed
    /// writeback by the next `fsync`).
    pub fn store_written(&self) -> Result<()> {
        let names: Vec<String> = {
            let inner = self.inner.borrow();
            inner.files.iter().filter(|(_, f)| f.dirty_from.is_some() || f.shrunk || !f.name_durable).map(|(n, _)| n.clone()).collect()
        };
        for name in names {
            let issued = self.inner.borrow_mut().data_transaction(&name)?;
            if let Some((tx, redo)) = issued {
                track(&self.inner, tx, redo);
            }
        }
        Ok(())
    }

    /// Simulates a `QuotaExceededError` of the transaction issued after `skip` more (0: the
    /// next one), once the storage is boxed into an engine. For tests and the crash lab.
    pub fn fail_commit_after(&self, skip: u64) {
        self.inner.borrow_mut().fail_commit_in = Some(skip);
    }

    /// Transactions issued since open.
    pub fn transactions(&self) -> u64 {
        self.inner.borrow().transactions
    }

    /// Transactions issued and not yet settled.
    pub fn pending(&self) -> bool {
        !self.inner.borrow().in_flight.is_empty()
    }
}

impl Storage for IdbStorage {
    fn kind(&self) -> &'static str {
        "indexeddb"
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        let mut inner = self.inner.borrow_mut();
        if name.is_empty() || name.ends_with('/') {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{name}: Invalid argument")));
        }
        if let Some(dir) = parent(name)
            && !inner.dir_exists(dir)
        {
            return Err(Error::not_found(name));
        }
        match (inner.files.contains_key(name), mode) {
            (false, OpenMode::Existing) => Err(Error::not_found(name)),
            (true, OpenMode::Existing | OpenMode::Create) => Ok(()),
            (true, OpenMode::Truncate) => {
                drop(inner);
                self.truncate(name, 0)
            }
            (false, _) => {
                let ino = inner.next_ino;
                inner.next_ino += 1;
                inner.files.insert(name.to_string(), MirrorFile::new(ino, Vec::new(), false, false));
                Ok(())
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.inner.borrow().files.contains_key(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        Ok(self.inner.borrow().file(name)?.data.len() as u64)
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let inner = self.inner.borrow();
        let data = &inner.file(name)?.data;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let mut inner = self.inner.borrow_mut();
        let offset = offset as usize;
        let current = inner.file(name)?.data.len();
        let mut n = bytes.len();
        if let Some(cap) = inner.capacity {
            let growth = (offset + n).saturating_sub(current) as u64;
            let free = cap.saturating_sub(inner.used_bytes());
            if growth > free {
                n = n.saturating_sub((growth - free) as usize);
                if n == 0 {
                    return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
                }
            }
        }
        let f = inner.file_mut(name)?;
        let end = offset + n;
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[offset..end].copy_from_slice(&bytes[..n]);
        let from = offset.min(current);
        f.dirty_from = Some(f.dirty_from.map_or(from, |d| d.min(from)));
        f.durable_len = f.durable_len.min(from);
        Ok(n)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let mut inner = self.inner.borrow_mut();
        let len = len as usize;
        let current = inner.file(name)?.data.len();
        if let Some(cap) = inner.capacity
            && len > current
            && (len - current) as u64 > cap.saturating_sub(inner.used_bytes())
        {
            return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
        }
        let f = inner.file_mut(name)?;
        if len != current {
            f.data.resize(len, 0);
            f.shrunk |= len < current;
            let from = len.min(current);
            f.dirty_from = Some(f.dirty_from.map_or(from, |d| d.min(from)));
            f.durable_len = f.durable_len.min(from);
        }
        Ok(())
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        let issued = {
            let mut inner = self.inner.borrow_mut();
            inner.file(name)?;
            if let Some(e) = inner.sync_failure.take() {
                return Err(e);
            }
            inner.data_transaction(name)?
        };
        if let Some((tx, redo)) = issued {
            track(&self.inner, tx, redo);
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        {
            let mut inner = self.inner.borrow_mut();
            inner.file(from)?;
            if from == to {
                return Ok(());
            }
            if to.is_empty() || to.ends_with('/') {
                return Err(Error::new(ErrorKind::InvalidInput, format!("{to}: Invalid argument")));
            }
            if let Some(dir) = parent(to)
                && !inner.dir_exists(dir)
            {
                return Err(Error::not_found(to));
            }
            let Some(f) = inner.files.remove(from) else { return Err(Error::not_found(from)) };
            if let Some(old) = inner.files.insert(to.to_string(), f) {
                inner.dead.push(old.ino);
            }
        }
        self.issue_namespace()
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        {
            let mut inner = self.inner.borrow_mut();
            let f = inner.files.remove(name).ok_or_else(|| Error::not_found(name))?;
            inner.dead.push(f.ino);
        }
        self.issue_namespace()
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        Ok(self.inner.borrow().files.keys().filter(|n| dir.is_none_or(|d| parent(n) == Some(d))).cloned().collect())
    }

    fn sync_dir(&mut self, _dir: &str) -> Result<()> {
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(e) = inner.sync_failure.take() {
                return Err(e);
            }
            let clean = inner.dead.is_empty() && inner.files.values().all(|f| f.name_durable) && inner.dirs.values().all(|d| *d);
            if clean {
                return Ok(());
            }
        }
        self.issue_namespace()
    }

    fn flush_page_cache(&mut self) {
        // A failed transaction is reported by the next sync (see `store_written`).
        let _ = self.durability().store_written();
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        self.inner.borrow_mut().dirs.entry(dir.to_string()).or_insert(false);
        Ok(())
    }

    fn dir_exists(&self, dir: &str) -> bool {
        self.inner.borrow().dir_exists(dir)
    }

    fn dirs(&self) -> Result<Vec<String>> {
        Ok(self.inner.borrow().dirs.keys().cloned().collect())
    }
}
