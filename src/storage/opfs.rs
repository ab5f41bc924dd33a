//! OPFS backend (the Origin Private File System, in a dedicated worker): a pool of physical files,
//! each holding one logical file after a fixed header, as SQLite's `opfs-sahpool` VFS does.
//!
//! The only synchronous OPFS API is `FileSystemSyncAccessHandle` (read, write, truncate, flush at
//! an offset), and getting one is asynchronous and locks the file exclusively. Creating, removing
//! and renaming files are asynchronous too, but the engine's [`Storage`] is synchronous, as
//! `open(2)` and `rename(2)` are for Redis. So the pool opens its handles up front and creating,
//! renaming and removing become header writes:
//!
//! ```text
//! aof-lab/<namespace>/slot-0000 .. slot-NNNN     (physical files, never removed)
//! offset 0     "AOFLABv1"                        magic
//!        8     seq        u64 LE                 order of header writes (highest wins)
//!        16    name_len   u32 LE                 0: a free slot
//!        20    crc32c     u32 LE                 of seq, name_len and the name
//!        24    name       name_len bytes         the logical name, e.g. appendonlydir/appendonly.aof.1.incr.aof
//! offset 4096  the logical file's bytes
//! ```
//!
//! * `write_at`/`read_at`/`truncate` go to the handle at `4096 + offset`: a `write` is a real OPFS
//!   write (the browser's page cache), `sync` is a real `flush()` (the fsync).
//! * A file shorter than a header (a slot just created is empty) is a free slot too: a new pool
//!   writes nothing until a file is created in it.
//! * `open(Create)` claims a free slot: truncate its data, then write its header (flushed).
//! * `remove` writes a free header (flushed), then drops the data.
//! * `rename(from, to)` is atomic under a crash: (1) write `to` into `from`'s header with a new,
//!   higher `seq`, flush; (2) free the slot that held `to`, flush. A crash before (1) is durable
//!   leaves `from` and the old `to`; a crash between (1) and (2) leaves two slots naming `to`, and
//!   opening keeps the one with the higher `seq` (the new content) and frees the other. Either
//!   way `to` holds its old content or `from`'s, never a mix, as `rename(2)` promises. A torn
//!   header fails its CRC and reads as a free slot: that can only lose the slot being renamed
//!   (`from`), never turn `to` into something else.
//! * Header writes are flushed at once, so directory entries are durable when the call returns:
//!   `sync_dir` has nothing left to do (stronger than POSIX, never weaker).
//! * Directories are implicit in names; a directory that exists without files is a slot named
//!   `dir/`.
//!
//! The pool starts with [`INITIAL_SLOTS`] files and cannot grow synchronously: when a creation
//! leaves fewer than [`SPARE_SLOTS`] free, the storage starts a background top-up (it lands
//! between event-loop turns), and a host can await [`OpfsPool::ensure_capacity`] to be sure. An
//! `open(Create)` with no free slot fails with ENOSPC.
//!
//! Compared with a disk: the browser decides when written bytes reach the disk; `flush()` is
//! the only guarantee, so the model's page cache stays the model's. A quota error
//! (`QuotaExceededError`) is ENOSPC and writes nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions};
use web_sys::{FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::browser::{self, js_error, wait};
use super::memory::FileLayers;
use super::{Error, ErrorKind, OpenMode, Result, Storage};

/// Bytes before a logical file's data in each physical file.
pub const HEADER_SIZE: u64 = 4096;
const MAGIC: &[u8; 8] = b"AOFLABv1";
const NAME_MAX: usize = HEADER_SIZE as usize - 24;
/// Physical files a new pool starts with.
pub const INITIAL_SLOTS: usize = 8;
/// Free slots [`OpfsStorage::ensure_capacity`] keeps: enough for a rewrite's temp files and a
/// manifest swap within one turn.
pub const SPARE_SLOTS: usize = 4;
/// How long `open` keeps retrying while another worker holds the handles (a reloaded page's
/// old worker releases them when it is torn down).
pub const LOCK_WAIT_MS: u32 = 5_000;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

struct Slot {
    /// The physical file's name in the namespace directory (`slot-0003`).
    file: String,
    handle: FileSystemSyncAccessHandle,
    /// The logical name, None when free.
    name: Option<String>,
    /// Length of the logical file (the physical size minus the header), kept here so that an
    /// append costs one JS call.
    len: u64,
    /// Bytes from the start unchanged since the last `flush()`: what the browser guarantees.
    durable_len: u64,
    /// A slot whose on-disk header could not be freed: it may still name an old file, so it is
    /// not reused until a later `ensure_capacity` frees it.
    zombie: bool,
}

/// The storage the engine owns. The pool lives behind an `Rc` shared with the [`OpfsPool`]
/// handles a host keeps after boxing the storage into the engine.
pub struct OpfsStorage {
    pool: Rc<RefCell<Pool>>,
}

/// A clonable handle on the pool of an [`OpfsStorage`]: what the worker keeps to top the pool
/// up between turns and to show the layers. Inert once the storage is dropped.
#[derive(Clone)]
pub struct OpfsPool {
    pool: Rc<RefCell<Pool>>,
}

struct Pool {
    namespace: String,
    dir: FileSystemDirectoryHandle,
    slots: Vec<Slot>,
    /// Logical name -> slot index.
    names: BTreeMap<String, usize>,
    /// The last header `seq` written.
    seq: u64,
    /// A simulated quota on the logical files' bytes (tests; None = the browser's own).
    capacity: Option<u64>,
    closed: bool,
    /// A top-up is creating files (one at a time: slot numbers are dense).
    growing: bool,
}

fn parent(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(d, _)| d)
}

/// `{ at }` for a logical file's offset (after the header).
fn at(offset: u64) -> FileSystemReadWriteOptions {
    physical(HEADER_SIZE + offset)
}

fn physical(offset: u64) -> FileSystemReadWriteOptions {
    let o = FileSystemReadWriteOptions::new();
    o.set_at(offset as f64);
    o
}

fn encode_header(seq: u64, name: Option<&str>) -> Vec<u8> {
    let name = name.unwrap_or("").as_bytes();
    let mut h = Vec::with_capacity(24 + name.len());
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&seq.to_le_bytes());
    h.extend_from_slice(&(name.len() as u32).to_le_bytes());
    let mut digest = CRC.digest();
    digest.update(&h[8..20]);
    digest.update(name);
    h.extend_from_slice(&digest.finalize().to_le_bytes());
    h.extend_from_slice(name);
    h
}

/// `(seq, name)`; a header that is missing, torn or foreign reads as free with seq 0.
fn decode_header(h: &[u8]) -> (u64, Option<String>) {
    let free = (0, None);
    if h.len() < 24 || &h[..8] != MAGIC {
        return free;
    }
    let seq = u64::from_le_bytes(h[8..16].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(h[16..20].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(h[20..24].try_into().unwrap_or_default());
    if len > NAME_MAX || h.len() < 24 + len {
        return free;
    }
    let mut digest = CRC.digest();
    digest.update(&h[8..20]);
    digest.update(&h[24..24 + len]);
    if digest.finalize() != crc {
        return free;
    }
    match (len, std::str::from_utf8(&h[24..24 + len])) {
        (0, _) | (_, Err(_)) => (seq, None),
        (_, Ok(name)) => (seq, Some(name.to_string())),
    }
}

fn slot_file(i: usize) -> String {
    format!("slot-{i:04}")
}

/// Opens the sync access handles of `files` concurrently: each OPFS call is a round trip to the
/// browser's storage process (some 50 ms each in Firefox), so a pool opens in about the time
/// of one. Missing files (without `create`) come back as NotFound. A handle another context
/// still holds (`NoModificationAllowedError`) is retried with backoff until `deadline` (wall ms).
async fn acquire_all(
    dir: &FileSystemDirectoryHandle,
    files: &[String],
    create: bool,
    deadline: f64,
) -> Vec<Result<FileSystemSyncAccessHandle>> {
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(create);
    let lookups: Vec<_> = files.iter().map(|f| dir.get_file_handle_with_options(f, &opts)).collect();
    let mut found = Vec::with_capacity(files.len());
    for (f, p) in files.iter().zip(lookups) {
        found.push(wait(p, f).await.map(|v| v.unchecked_into::<FileSystemFileHandle>()));
    }
    let attempts: Vec<_> = found.iter().map(|fh| fh.as_ref().ok().map(|fh| fh.create_sync_access_handle())).collect();
    let mut out = Vec::with_capacity(files.len());
    for ((f, fh), attempt) in files.iter().zip(found).zip(attempts) {
        out.push(match (fh, attempt) {
            (Err(e), _) => Err(e),
            (Ok(fh), Some(first)) => match wait(first, f).await {
                Ok(h) => Ok(h.unchecked_into()),
                Err(e) if e.kind == ErrorKind::Unavailable => retry(&fh, f, deadline).await,
                Err(e) => Err(e),
            },
            (Ok(_), None) => Err(Error::new(ErrorKind::Io, format!("{f}: no handle"))),
        });
    }
    out
}

/// `(physical size, seq, name)` of a slot.
fn read_header(handle: &FileSystemSyncAccessHandle, file: &str) -> Result<(u64, u64, Option<String>)> {
    let size = handle.get_size().map_err(|e| js_error(e, file))? as u64;
    let mut header = vec![0u8; size.min(HEADER_SIZE) as usize];
    handle.read_with_u8_array_and_options(&mut header, &physical(0)).map_err(|e| js_error(e, file))?;
    let (seq, name) = decode_header(&header);
    Ok((size, seq, name))
}

async fn retry(fh: &FileSystemFileHandle, file: &str, deadline: f64) -> Result<FileSystemSyncAccessHandle> {
    let mut backoff = 10;
    loop {
        if browser::wall_ms() >= deadline {
            return Err(Error::new(ErrorKind::Unavailable, format!("OPFS: {file} is locked by another worker or tab")));
        }
        let left = (deadline - browser::wall_ms()).max(1.0) as u32;
        browser::sleep(backoff.min(left)).await;
        backoff = (backoff * 2).min(400);
        match wait(fh.create_sync_access_handle(), file).await {
            Ok(h) => return Ok(h.unchecked_into()),
            Err(e) if e.kind == ErrorKind::Unavailable => {}
            Err(e) => return Err(e),
        }
    }
}

impl OpfsStorage {
    /// Opens (creating) the pool for `namespace` under the OPFS root; retries with backoff while
    /// another worker still holds the sync access handles (NoModificationAllowedError) for up to
    /// [`LOCK_WAIT_MS`], then fails with `ErrorKind::Unavailable`. Must run in a dedicated worker.
    pub async fn open(namespace: &str) -> Result<OpfsStorage> {
        OpfsStorage::open_with_lock_wait(namespace, LOCK_WAIT_MS).await
    }

    /// [`OpfsStorage::open`] with another lock-wait budget (0: one try).
    pub async fn open_with_lock_wait(namespace: &str, lock_wait_ms: u32) -> Result<OpfsStorage> {
        browser::check_namespace(namespace)?;
        // Sync access handles exist only in dedicated workers (and not in every browser):
        // calling the missing method would throw through the wasm frames.
        if !js_sys::Reflect::has(&js_sys::global(), &"FileSystemSyncAccessHandle".into()).unwrap_or(false) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "OPFS sync access handles are not available here (they need a dedicated worker)",
            ));
        }
        let deadline = browser::wall_ms() + lock_wait_ms as f64;
        let root: FileSystemDirectoryHandle = wait(browser::storage_manager()?.get_directory(), "OPFS root").await?.unchecked_into();
        let create = FileSystemGetDirectoryOptions::new();
        create.set_create(true);
        let base: FileSystemDirectoryHandle =
            wait(root.get_directory_handle_with_options(browser::OPFS_ROOT, &create), browser::OPFS_ROOT).await?.unchecked_into();
        let dir: FileSystemDirectoryHandle =
            wait(base.get_directory_handle_with_options(namespace, &create), namespace).await?.unchecked_into();

        let mut s = Pool {
            namespace: namespace.to_string(),
            dir,
            slots: Vec::new(),
            names: BTreeMap::new(),
            seq: 0,
            capacity: None,
            closed: false,
            growing: false,
        };
        // Slots are numbered from 0 without gaps (they are never removed); look them up a
        // batch at a time.
        let mut claims: Vec<(u64, usize)> = Vec::new();
        let mut failure = None;
        'batches: loop {
            let files: Vec<String> = (s.slots.len()..s.slots.len() + 16).map(slot_file).collect();
            let got_all = acquire_all(&s.dir, &files, false, deadline).await;
            for (file, got) in files.into_iter().zip(got_all) {
                let handle = match got {
                    Ok(h) if failure.is_none() => h,
                    Ok(h) => {
                        h.close();
                        continue;
                    }
                    Err(e) if e.kind == ErrorKind::NotFound => {
                        failure.get_or_insert(None);
                        continue;
                    }
                    Err(e) => {
                        failure = Some(Some(e));
                        continue;
                    }
                };
                let (size, seq, name) = match read_header(&handle, &file) {
                    Ok(h) => h,
                    Err(e) => {
                        handle.close();
                        failure = Some(Some(e));
                        continue;
                    }
                };
                s.seq = s.seq.max(seq);
                let i = s.slots.len();
                if name.is_some() {
                    claims.push((seq, i));
                }
                let len = size.saturating_sub(HEADER_SIZE);
                s.slots.push(Slot { file, handle, name, len, durable_len: len, zombie: false });
            }
            match failure {
                None => continue 'batches,
                Some(None) => break 'batches,
                Some(Some(e)) => return Err(e), // Drop closes the handles already taken.
            }
        }
        // Highest seq first: when two slots name the same file (a rename interrupted between
        // its two header writes), the later header wins and the other slot is freed.
        claims.sort_unstable_by(|a, b| b.cmp(a));
        for (_, i) in claims {
            let Some(name) = s.slots[i].name.clone() else { continue };
            if let Entry::Vacant(v) = s.names.entry(name) {
                v.insert(i);
                continue;
            }
            s.slots[i].name = None;
            s.free_slot(i)?;
        }
        let missing = INITIAL_SLOTS.saturating_sub(s.slots.len());
        let pool = Rc::new(RefCell::new(s));
        grow(&pool, missing).await?;
        Ok(OpfsStorage { pool })
    }

    /// A clonable handle on the pool (top-ups, layers) for the host.
    pub fn pool(&self) -> OpfsPool {
        OpfsPool { pool: self.pool.clone() }
    }

    /// See [`OpfsPool::ensure_capacity`].
    pub async fn ensure_capacity(&mut self) -> Result<()> {
        self.pool().ensure_capacity().await
    }
    /// Free slots now (an `open(Create)` of a new name takes one, as does `create_dir`).
    pub fn free_slots(&self) -> usize {
        self.pool.borrow().free_slots()
    }
    /// Per file, the layers the lab shows: `len` is what reads see, `durable_len` the prefix
    /// unchanged since the last `flush()`; names are always durable (headers are flushed).
    pub fn layers(&self) -> Vec<FileLayers> {
        self.pool.borrow().layers()
    }
    /// Physical files in the pool.
    pub fn pool_size(&self) -> usize {
        self.pool.borrow().slots.len()
    }
    pub fn namespace(&self) -> String {
        self.pool.borrow().namespace.clone()
    }
    /// Simulates a quota: writes and truncations that would make the logical files hold more
    /// than `bytes` fail as a `QuotaExceededError` would (short write, then ENOSPC). For tests
    /// and the crash lab; a real quota error is handled the same way.
    pub fn set_capacity(&mut self, bytes: Option<u64>) {
        self.pool.borrow_mut().capacity = bytes;
    }

    /// Releases every sync access handle (also done on drop): another worker may open the
    /// namespace afterwards.
    pub fn close(self) {}

    /// For crash tests: performs only the first, durable step of `rename(from, to)` (the new
    /// header of `from`'s slot) and stops, as a crash between the two steps would. Close and
    /// reopen to see what the crash left.
    #[doc(hidden)]
    pub fn rename_interrupted(&mut self, from: &str, to: &str) -> Result<()> {
        let mut p = self.pool.borrow_mut();
        let i = p.slot_of(from)?;
        p.write_header(i, Some(to))
    }

    /// After an operation that took a slot: start a top-up in the background when few are left
    /// (the next turn's `open(Create)` finds them).
    fn top_up_soon(&self) {
        let p = self.pool.borrow();
        if p.growing || p.closed || p.free_slots() >= SPARE_SLOTS {
            return;
        }
        drop(p);
        let pool = self.pool();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = pool.ensure_capacity().await;
        });
    }
}

impl OpfsPool {
    /// Tops the pool up to [`SPARE_SLOTS`] free slots (and retries freeing zombie slots).
    /// Opening a physical file is asynchronous, so the storage starts a top-up by itself when a
    /// creation leaves fewer than [`SPARE_SLOTS`]; a host may also await this between turns
    /// (e.g. before a rewrite) to be sure.
    pub async fn ensure_capacity(&self) -> Result<()> {
        let missing = {
            let mut p = self.pool.borrow_mut();
            if p.closed {
                return Err(Error::new(ErrorKind::Unavailable, "OPFS storage is closed"));
            }
            for i in 0..p.slots.len() {
                if p.slots[i].zombie && p.free_slot(i).is_ok() {
                    p.slots[i].zombie = false;
                }
            }
            SPARE_SLOTS.saturating_sub(p.free_slots())
        };
        grow(&self.pool, missing).await
    }
    pub fn free_slots(&self) -> usize {
        self.pool.borrow().free_slots()
    }
    /// Per file, the layers the lab shows; see [`OpfsStorage::layers`].
    pub fn layers(&self) -> Vec<FileLayers> {
        self.pool.borrow().layers()
    }
    pub fn pool_size(&self) -> usize {
        self.pool.borrow().slots.len()
    }
}

/// Creates `n` more physical files (concurrently) and frees them; no borrow of the pool is held
/// while the browser opens them, so the engine keeps running meanwhile.
async fn grow(pool: &Rc<RefCell<Pool>>, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (dir, files) = {
        let mut p = pool.borrow_mut();
        if p.closed {
            return Err(Error::new(ErrorKind::Unavailable, "OPFS storage is closed"));
        }
        if p.growing {
            return Ok(());
        }
        p.growing = true;
        (p.dir.clone(), (p.slots.len()..p.slots.len() + n).map(slot_file).collect::<Vec<_>>())
    };
    // New files: nobody else can hold them (a stale one left by a crash is reused).
    let got = acquire_all(&dir, &files, true, browser::wall_ms()).await;
    let mut p = pool.borrow_mut();
    p.growing = false;
    let mut failure = p.closed.then(|| Error::new(ErrorKind::Unavailable, "OPFS storage is closed"));
    for (file, got) in files.into_iter().zip(got) {
        match got {
            // Only a prefix without gaps joins the pool (slots are numbered densely).
            Ok(handle) if failure.is_none() => {
                // A new file is empty, and an empty file reads as a free slot (no header): it
                // needs no write and no flush (8 flushes were most of a new pool's creation).
                // A stale file a crash left behind may hold a header: that one is freed.
                let fresh = handle.get_size().is_ok_and(|size| size == 0.0);
                p.slots.push(Slot { file, handle, name: None, len: 0, durable_len: 0, zombie: false });
                let i = p.slots.len() - 1;
                if !fresh && let Err(e) = p.free_slot(i) {
                    failure = Some(e);
                }
            }
            Ok(handle) => handle.close(),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Pool {
    /// Free slots now (an `open(Create)` of a new name takes one, as does `create_dir`).
    fn free_slots(&self) -> usize {
        self.slots.iter().filter(|s| s.name.is_none() && !s.zombie).count()
    }

    /// Per file, the layers the lab shows: `len` is what reads see, `durable_len` the prefix
    /// unchanged since the last `flush()`; names are always durable (headers are flushed).
    fn layers(&self) -> Vec<FileLayers> {
        self.names
            .iter()
            .filter(|(n, _)| !n.ends_with('/'))
            .map(|(n, &i)| FileLayers {
                name: n.clone(),
                len: self.slots[i].len,
                durable_len: self.slots[i].durable_len,
                durable_name: true,
            })
            .collect()
    }

    fn close_handles(&mut self) {
        if !self.closed {
            for s in &self.slots {
                s.handle.close();
            }
            self.closed = true;
        }
    }

    /// The slot of a file (never of a directory marker `dir/`).
    fn slot_of(&self, name: &str) -> Result<usize> {
        self.names.get(name).copied().filter(|_| !name.ends_with('/')).ok_or_else(|| Error::not_found(name))
    }

    fn used_bytes(&self) -> u64 {
        self.slots.iter().filter(|s| s.name.is_some()).map(|s| s.len).sum()
    }

    fn write_header(&mut self, i: usize, name: Option<&str>) -> Result<()> {
        if name.is_some_and(|n| n.len() > NAME_MAX) {
            return Err(Error::new(ErrorKind::InvalidInput, "OPFS: file name too long"));
        }
        let seq = self.seq + 1;
        let h = encode_header(seq, name);
        let slot = &self.slots[i];
        let n = slot.handle.write_with_u8_array_and_options(&h, &physical(0)).map_err(|e| js_error(e, &slot.file))?;
        if (n as usize) < h.len() {
            return Err(Error::new(ErrorKind::Io, format!("{}: short header write", slot.file)));
        }
        slot.handle.flush().map_err(|e| js_error(e, &slot.file))?;
        self.seq = seq;
        Ok(())
    }

    /// Writes a free header and drops the slot's data (a free slot holds no bytes of quota).
    fn free_slot(&mut self, i: usize) -> Result<()> {
        self.write_header(i, None)?;
        let slot = &mut self.slots[i];
        if slot.handle.truncate_with_f64(HEADER_SIZE as f64).is_ok() {
            slot.len = 0;
        }
        Ok(())
    }

    fn set_len(&mut self, i: usize, len: u64) -> Result<()> {
        let slot = &mut self.slots[i];
        let name = slot.name.as_deref().unwrap_or("");
        slot.handle.truncate_with_f64((HEADER_SIZE + len) as f64).map_err(|e| js_error(e, name))?;
        slot.len = len;
        slot.durable_len = slot.durable_len.min(len);
        Ok(())
    }

    /// Claims a free slot for `name`: empty data first, then the header, so a crash in between
    /// leaves a free slot and never `name` with another file's bytes.
    fn claim(&mut self, name: &str) -> Result<()> {
        if self.closed {
            return Err(Error::new(ErrorKind::Unavailable, "OPFS storage is closed"));
        }
        let Some(i) = self.slots.iter().position(|s| s.name.is_none() && !s.zombie) else {
            return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device (no free OPFS slot)")));
        };
        if self.slots[i].len != 0 {
            self.slots[i].handle.truncate_with_f64(HEADER_SIZE as f64).map_err(|e| js_error(e, name))?;
            self.slots[i].len = 0;
        }
        self.slots[i].durable_len = 0;
        self.write_header(i, Some(name))?;
        self.slots[i].name = Some(name.to_string());
        self.names.insert(name.to_string(), i);
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close_handles();
    }
}

impl Drop for OpfsStorage {
    fn drop(&mut self) {
        self.pool.borrow_mut().close_handles();
    }
}

impl Storage for OpfsStorage {
    fn kind(&self) -> &'static str {
        "opfs"
    }
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        let r = self.pool.borrow_mut().open(name, mode);
        self.top_up_soon();
        r
    }
    fn exists(&self, name: &str) -> bool {
        self.pool.borrow().exists(name)
    }
    fn len(&self, name: &str) -> Result<u64> {
        self.pool.borrow().len(name)
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.pool.borrow_mut().read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        self.pool.borrow_mut().write_at(name, offset, bytes)
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        self.pool.borrow_mut().truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> Result<()> {
        self.pool.borrow_mut().sync(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.pool.borrow_mut().rename(from, to)
    }
    fn remove(&mut self, name: &str) -> Result<()> {
        self.pool.borrow_mut().remove(name)
    }
    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        self.pool.borrow().list(dir)
    }
    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        self.pool.borrow_mut().sync_dir(dir)
    }
    fn create_dir(&mut self, dir: &str) -> Result<()> {
        let r = self.pool.borrow_mut().create_dir(dir);
        self.top_up_soon();
        r
    }
    fn dir_exists(&self, dir: &str) -> bool {
        self.pool.borrow().dir_exists(dir)
    }
    fn dirs(&self) -> Result<Vec<String>> {
        self.pool.borrow().dirs()
    }
}

/// The pool's logic; [`OpfsStorage`] forwards to it.
impl Storage for Pool {
    fn kind(&self) -> &'static str {
        "opfs"
    }

    fn open(&mut self, name: &str, mode: OpenMode) -> Result<()> {
        if name.is_empty() || name.ends_with('/') {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{name}: Invalid argument")));
        }
        if let Some(dir) = parent(name)
            && !self.dir_exists(dir)
        {
            return Err(Error::not_found(name));
        }
        match (self.names.get(name).copied(), mode) {
            (None, OpenMode::Existing) => Err(Error::not_found(name)),
            (Some(_), OpenMode::Existing | OpenMode::Create) => Ok(()),
            (Some(i), OpenMode::Truncate) => self.set_len(i, 0),
            (None, _) => self.claim(name),
        }
    }

    fn exists(&self, name: &str) -> bool {
        !name.ends_with('/') && self.names.contains_key(name)
    }

    fn len(&self, name: &str) -> Result<u64> {
        Ok(self.slots[self.slot_of(name)?].len)
    }

    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let slot = &self.slots[self.slot_of(name)?];
        if offset >= slot.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(slot.len - offset) as usize;
        let got = slot.handle.read_with_u8_array_and_options(&mut buf[..n], &at(offset)).map_err(|e| js_error(e, name))?;
        Ok(got as usize)
    }

    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<usize> {
        let i = self.slot_of(name)?;
        let mut n = bytes.len();
        if let Some(cap) = self.capacity {
            let growth = (offset + n as u64).saturating_sub(self.slots[i].len);
            let free = cap.saturating_sub(self.used_bytes());
            if growth > free {
                n = n.saturating_sub((growth - free) as usize);
                if n == 0 {
                    return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
                }
            }
        }
        if n == 0 {
            return Ok(0);
        }
        let slot = &mut self.slots[i];
        let written = slot.handle.write_with_u8_array_and_options(&bytes[..n], &at(offset)).map_err(|e| js_error(e, name))? as u64;
        if written == 0 {
            return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
        }
        slot.len = slot.len.max(offset + written);
        slot.durable_len = slot.durable_len.min(offset);
        Ok(written as usize)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<()> {
        let i = self.slot_of(name)?;
        if let Some(cap) = self.capacity
            && len > self.slots[i].len
            && len - self.slots[i].len > cap.saturating_sub(self.used_bytes())
        {
            return Err(Error::new(ErrorKind::NoSpace, format!("{name}: No space left on device")));
        }
        self.set_len(i, len)
    }

    fn sync(&mut self, name: &str) -> Result<()> {
        let i = self.slot_of(name)?;
        let slot = &mut self.slots[i];
        slot.handle.flush().map_err(|e| {
            let e = js_error(e, name);
            // A failed flush is EIO to the engine, whatever the browser called it.
            if e.kind == ErrorKind::NoSpace { e } else { Error::new(ErrorKind::Io, e.message) }
        })?;
        slot.durable_len = slot.len;
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let i = self.slot_of(from)?;
        if from == to {
            return Ok(());
        }
        if to.is_empty() || to.ends_with('/') {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{to}: Invalid argument")));
        }
        if let Some(dir) = parent(to)
            && !self.dir_exists(dir)
        {
            return Err(Error::not_found(to));
        }
        // Step 1, the commit point: `from`'s slot now names `to`, with the highest seq.
        self.write_header(i, Some(to))?;
        self.names.remove(from);
        self.slots[i].name = Some(to.to_string());
        // Step 2: free the replaced file's slot. Should it fail, opening would still prefer
        // step 1's header; keep the slot out of use until it is freed.
        if let Some(j) = self.names.insert(to.to_string(), i) {
            self.slots[j].name = None;
            if self.free_slot(j).is_err() {
                self.slots[j].zombie = true;
            }
        }
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Result<()> {
        let i = self.slot_of(name)?;
        self.write_header(i, None)?;
        self.names.remove(name);
        let slot = &mut self.slots[i];
        slot.name = None;
        if slot.handle.truncate_with_f64(HEADER_SIZE as f64).is_ok() {
            slot.len = 0;
        }
        Ok(())
    }

    fn list(&self, dir: Option<&str>) -> Result<Vec<String>> {
        Ok(self.names.keys().filter(|n| !n.ends_with('/') && dir.is_none_or(|d| parent(n) == Some(d))).cloned().collect())
    }

    fn sync_dir(&mut self, _dir: &str) -> Result<()> {
        // Every header write was flushed when it happened.
        Ok(())
    }

    fn create_dir(&mut self, dir: &str) -> Result<()> {
        if self.dir_exists(dir) {
            return Ok(());
        }
        self.claim(&format!("{dir}/"))
    }

    fn dir_exists(&self, dir: &str) -> bool {
        dir.is_empty() || self.names.contains_key(&format!("{dir}/"))
    }

    fn dirs(&self) -> Result<Vec<String>> {
        Ok(self.names.keys().filter_map(|n| n.strip_suffix('/')).map(str::to_string).collect())
    }
}
