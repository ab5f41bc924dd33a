//! The conformance suite every storage backend passes: memory and native fs in `cargo test`,
//! OPFS and IndexedDB in a browser worker (wasm-bindgen-test). It lives in the library so that
//! every host can run the very same checks.
//!
//! Each check takes a fresh, empty storage and panics with a message on the first violation.

use std::collections::BTreeMap;

use super::{Crash, ErrorKind, Machine, MemoryStorage, OpenMode, Storage};

type Make<'a> = &'a mut dyn FnMut() -> Box<dyn Storage>;
type Check = fn(&mut dyn Storage);

/// Every check, by name: `(name, check)`.
pub fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("open_modes", open_modes),
        ("write_read_len", write_read_len),
        ("write_at_overwrites", write_at_overwrites),
        ("truncate", truncate),
        ("rename_replaces", rename_replaces),
        ("remove", remove),
        ("list_and_dirs", list_and_dirs),
        ("missing_files", missing_files),
        ("sync_keeps_content", sync_keeps_content),
        ("large_file", large_file),
    ]
}

/// Runs every check on a fresh storage from `make`.
pub fn run_all(make: Make) {
    for (name, check) in checks() {
        let mut s = make();
        let _named = Named(name);
        check(s.as_mut());
    }
}

/// Names the failing check when an assertion panics.
struct Named(&'static str);

impl Drop for Named {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("storage conformance check failed: {}", self.0);
        }
    }
}

fn open_modes(s: &mut dyn Storage) {
    assert_eq!(s.open("a", OpenMode::Existing).unwrap_err().kind, ErrorKind::NotFound, "Existing on a missing file");
    s.open("a", OpenMode::Create).unwrap();
    assert!(s.exists("a"));
    assert_eq!(s.len("a").unwrap(), 0);
    s.append("a", b"xyz").unwrap();
    s.open("a", OpenMode::Create).unwrap();
    assert_eq!(s.len("a").unwrap(), 3, "Create keeps the content");
    s.open("a", OpenMode::Existing).unwrap();
    s.open("a", OpenMode::Truncate).unwrap();
    assert_eq!(s.len("a").unwrap(), 0, "Truncate empties");
}

fn write_read_len(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    assert_eq!(s.append("f", b"hello").unwrap(), 5);
    assert_eq!(s.append("f", b" world").unwrap(), 6);
    assert_eq!(s.len("f").unwrap(), 11);
    assert_eq!(s.read_all("f").unwrap(), b"hello world");
    let mut buf = [0u8; 4];
    assert_eq!(s.read_at("f", 6, &mut buf).unwrap(), 4);
    assert_eq!(&buf, b"worl");
    assert_eq!(s.read_at("f", 9, &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"ld");
    assert_eq!(s.read_at("f", 11, &mut buf).unwrap(), 0, "read at the end");
    assert_eq!(s.read_at("f", 100, &mut buf).unwrap(), 0, "read past the end");
}

fn write_at_overwrites(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    s.write_at("f", 0, b"abcdef").unwrap();
    s.write_at("f", 2, b"XY").unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"abXYef");
    s.write_at("f", 5, b"123").unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"abXYe123");
}

fn truncate(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"0123456789").unwrap();
    s.truncate("f", 4).unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"0123");
    s.append("f", b"ab").unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"0123ab", "appends go after the new end");
    s.truncate("f", 0).unwrap();
    assert_eq!(s.len("f").unwrap(), 0);
}

fn rename_replaces(s: &mut dyn Storage) {
    s.create_dir("d").unwrap();
    s.open("d/old", OpenMode::Create).unwrap();
    s.append("d/old", b"old").unwrap();
    s.open("d/tmp", OpenMode::Create).unwrap();
    s.append("d/tmp", b"new content").unwrap();
    s.sync("d/tmp").unwrap();
    s.rename("d/tmp", "d/old").unwrap();
    s.sync_dir("d").unwrap();
    assert!(!s.exists("d/tmp"));
    assert_eq!(s.read_all("d/old").unwrap(), b"new content");
    s.rename("d/old", "d/fresh").unwrap();
    assert_eq!(s.read_all("d/fresh").unwrap(), b"new content");
    assert_eq!(s.rename("d/nothing", "d/x").unwrap_err().kind, ErrorKind::NotFound);
    // Across the top level and a directory, as Redis renames the rewrite's temp file.
    s.open("top", OpenMode::Create).unwrap();
    s.append("top", b"t").unwrap();
    s.rename("top", "d/moved").unwrap();
    assert_eq!(s.read_all("d/moved").unwrap(), b"t");
    assert!(!s.exists("top"));
}

fn remove(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    s.remove("f").unwrap();
    assert!(!s.exists("f"));
    assert_eq!(s.remove("f").unwrap_err().kind, ErrorKind::NotFound);
    s.open("f", OpenMode::Create).unwrap();
    assert_eq!(s.len("f").unwrap(), 0, "a re-created file starts empty");
}

fn list_and_dirs(s: &mut dyn Storage) {
    assert!(!s.dir_exists("appendonlydir"));
    s.create_dir("appendonlydir").unwrap();
    s.create_dir("appendonlydir").unwrap();
    assert!(s.dir_exists("appendonlydir"));
    for n in ["appendonlydir/b", "appendonlydir/a", "top"] {
        s.open(n, OpenMode::Create).unwrap();
    }
    assert_eq!(s.list(Some("appendonlydir")).unwrap(), vec!["appendonlydir/a", "appendonlydir/b"]);
    let all = s.list(None).unwrap();
    for n in ["appendonlydir/a", "appendonlydir/b", "top"] {
        assert!(all.iter().any(|x| x == n), "{n} listed");
    }
    assert_eq!(s.open("nodir/x", OpenMode::Create).unwrap_err().kind, ErrorKind::NotFound, "no implicit directories");
}

fn missing_files(s: &mut dyn Storage) {
    let mut buf = [0u8; 1];
    assert_eq!(s.len("nope").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(s.read_at("nope", 0, &mut buf).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(s.write_at("nope", 0, b"x").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(s.truncate("nope", 0).unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(s.sync("nope").unwrap_err().kind, ErrorKind::NotFound);
    assert!(!s.exists("nope"));
}

fn sync_keeps_content(s: &mut dyn Storage) {
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"abc").unwrap();
    s.sync("f").unwrap();
    s.sync_dir("").unwrap();
    s.append("f", b"def").unwrap();
    s.sync("f").unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"abcdef");
}

fn large_file(s: &mut dyn Storage) {
    s.open("big", OpenMode::Create).unwrap();
    let chunk: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    for _ in 0..16 {
        assert_eq!(s.append("big", &chunk).unwrap(), chunk.len());
    }
    assert_eq!(s.len("big").unwrap(), 1024 * 1024);
    let mut buf = vec![0u8; 300];
    assert_eq!(s.read_at("big", 1024 * 1024 - 300, &mut buf).unwrap(), 300);
    assert_eq!(buf[..], chunk[chunk.len() - 300..]);
}

/// A host whose storages open asynchronously (the browser backends), for [`run_all_async`] and
/// [`run_persistence`]. Every `open` opens the same namespace again.
#[allow(async_fn_in_trait)] // single-threaded hosts: no Send bound wanted on these futures
pub trait AsyncHost {
    async fn open(&mut self) -> Box<dyn Storage>;
    /// Releases a storage: what was synced must be durable when this returns (an IndexedDB host
    /// waits for its transactions; OPFS releases its handles).
    async fn close(&mut self, s: Box<dyn Storage>);
    /// Deletes everything the namespace holds.
    async fn wipe(&mut self);
}

/// Every check of [`checks`] on a freshly wiped namespace.
pub async fn run_all_async<H: AsyncHost>(host: &mut H) {
    for (name, check) in checks() {
        host.wipe().await;
        let mut s = host.open().await;
        {
            let _named = Named(name);
            check(s.as_mut());
        }
        host.close(s).await;
    }
    host.wipe().await;
}

/// Checks that need a reopen: what was synced (and its directory entry) is there after the
/// storage is dropped and opened again; renames, removals and truncations too.
pub async fn run_persistence<H: AsyncHost>(host: &mut H) {
    host.wipe().await;
    let chunk: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();

    let mut s = host.open().await;
    assert!(s.list(None).unwrap().is_empty(), "a wiped namespace is empty");
    s.create_dir("d").unwrap();
    for (n, b) in [("d/a", &b"hello"[..]), ("d/old", b"old content"), ("d/tmp", b"new content"), ("d/gone", b"x"), ("big", &chunk)] {
        s.open(n, OpenMode::Create).unwrap();
        assert_eq!(s.append(n, b).unwrap(), b.len());
        s.sync(n).unwrap();
    }
    s.sync_dir("d").unwrap();
    s.sync_dir("").unwrap();
    host.close(s).await;

    let mut s = host.open().await;
    let _named = Named("persistence: reopen");
    assert!(s.dir_exists("d"), "the directory is back");
    assert_eq!(s.list(Some("d")).unwrap(), vec!["d/a", "d/gone", "d/old", "d/tmp"]);
    assert_eq!(s.read_all("d/a").unwrap(), b"hello");
    assert_eq!(s.read_all("big").unwrap(), chunk, "a multi-chunk file");
    // Rename over an existing file, remove, truncate, overwrite in the middle, append.
    s.rename("d/tmp", "d/old").unwrap();
    s.remove("d/gone").unwrap();
    s.truncate("big", 70_000).unwrap();
    s.write_at("big", 100, b"MIDDLE").unwrap();
    s.append("big", b"tail").unwrap();
    s.append("d/a", b" world").unwrap();
    s.sync("big").unwrap();
    s.sync("d/a").unwrap();
    s.sync_dir("d").unwrap();
    host.close(s).await;

    let mut s = host.open().await;
    assert_eq!(s.list(Some("d")).unwrap(), vec!["d/a", "d/old"], "renamed and removed entries");
    assert_eq!(s.read_all("d/old").unwrap(), b"new content", "rename replaced the content");
    assert_eq!(s.read_all("d/a").unwrap(), b"hello world");
    let mut want = chunk[..70_000].to_vec();
    want[100..106].copy_from_slice(b"MIDDLE");
    want.extend_from_slice(b"tail");
    assert_eq!(s.len("big").unwrap(), want.len() as u64);
    assert_eq!(s.read_all("big").unwrap(), want, "truncate + overwrite + append");
    // Shrink to a chunk boundary and to nothing, then grow again.
    s.truncate("big", 65_536).unwrap();
    s.sync("big").unwrap();
    s.open("d/a", OpenMode::Truncate).unwrap();
    s.sync("d/a").unwrap();
    host.close(s).await;

    let mut s = host.open().await;
    assert_eq!(s.read_all("big").unwrap(), want[..65_536], "truncated at a chunk boundary");
    assert_eq!(s.len("d/a").unwrap(), 0, "truncated by open(Truncate)");
    host.close(s).await;
    host.wipe().await;
}

/// The host's backend behind the RAM mirror ([`super::Tee`]): every storage it opens is a Tee
/// over one of the host's, so the suites above run on the mirror over OPFS, IndexedDB or fs.
pub struct TeeHost<H> {
    host: H,
    real: Option<super::Shared>,
}

impl<H> TeeHost<H> {
    pub fn new(host: H) -> TeeHost<H> {
        TeeHost { host, real: None }
    }
}

impl<H: AsyncHost> AsyncHost for TeeHost<H> {
    async fn open(&mut self) -> Box<dyn Storage> {
        let real = super::tee::shared(self.host.open().await);
        self.real = Some(real.clone());
        Box::new(super::Tee::open(real).unwrap_or_else(|e| panic!("the mirror could not copy the backend: {e}")))
    }
    async fn close(&mut self, s: Box<dyn Storage>) {
        drop(s);
        // The mirror is gone: the host closes its backend as it would without one.
        let real = self.real.take().expect("open before close");
        let Ok(cell) = std::rc::Rc::try_unwrap(real) else { panic!("a storage over the backend outlived its close") };
        self.host.close(cell.into_inner()).await;
    }
    async fn wipe(&mut self) {
        self.host.wipe().await;
    }
}

// ----- the simulated machine over a backend -----

/// The crashes every backend under the simulated machine must apply exactly as the machine over
/// RAM does (one of each kind; `torn-write` as the crash matrix tears).
pub fn machine_crashes() -> Vec<Crash> {
    vec![
        Crash::ProcessKill,
        Crash::PowerLoss,
        Crash::TornOp,
        Crash::TornSequence { seed: 7 },
        Crash::TornWrite { file: "d/log".into(), keep: 5 },
    ]
}

/// A history that leaves every kind of state a crash treats differently: a file written back by
/// the kernel, synced bytes overwritten and truncated, a rename over a durable file and a
/// removal whose directory was not synced, a synced file whose name never was, and a durable
/// file with an unsynced tail of several writes (the last file written: what a torn op tears).
pub fn machine_history(s: &mut dyn Storage) {
    s.tick(0);
    s.create_dir("d").unwrap();
    s.open("top", OpenMode::Create).unwrap();
    s.sync_dir("").unwrap();
    s.append("top", b"written back by the kernel").unwrap();
    s.tick(31_000);
    for (name, bytes) in [("d/log", &b"*1\r\n$4\r\nPING\r\n"[..]), ("d/manifest", b"v1"), ("d/history", b"old history")] {
        s.open(name, OpenMode::Create).unwrap();
        s.append(name, bytes).unwrap();
        s.sync(name).unwrap();
    }
    let hundred: Vec<u8> = (0..100u8).collect();
    s.open("d/big", OpenMode::Create).unwrap();
    s.append("d/big", &hundred).unwrap();
    s.sync("d/big").unwrap();
    s.sync_dir("d").unwrap();
    s.write_at("d/big", 10, b"XXXX").unwrap();
    s.truncate("d/big", 50).unwrap();
    s.append("d/big", b"tail").unwrap();
    s.open("d/manifest.tmp", OpenMode::Create).unwrap();
    s.append("d/manifest.tmp", b"v2").unwrap();
    s.sync("d/manifest.tmp").unwrap();
    s.rename("d/manifest.tmp", "d/manifest").unwrap();
    s.remove("d/history").unwrap();
    s.open("d/new", OpenMode::Create).unwrap();
    s.append("d/new", b"new").unwrap();
    s.sync("d/new").unwrap();
    for w in [&b"AAAAAAAA"[..], b"BBBBBBBB", b"CCCCCCCC"] {
        s.append("d/log", w).unwrap();
    }
    // The end of the host's turn: what processes see outlives the host process.
    s.flush_page_cache();
}

/// Every file and its bytes (what a restart reads).
pub fn files(s: &mut dyn Storage) -> BTreeMap<String, Vec<u8>> {
    s.list(None).unwrap().into_iter().map(|n| (n.clone(), s.read_all(&n).unwrap())).collect()
}

/// What the machine over RAM leaves after `crash` of [`machine_history`]: the reference.
pub fn machine_reference(crash: &Crash) -> BTreeMap<String, Vec<u8>> {
    let mut m = MemoryStorage::new();
    machine_history(&mut m);
    m.crash(crash).unwrap();
    files(&mut m)
}

/// The simulated machine over the host's backend: each crash of [`machine_history`] leaves the
/// backend's real files as the machine over RAM leaves its own, and so do they after the backend
/// is closed and opened again (what a restart, or a page reload, finds).
pub async fn run_machine_crashes<H: AsyncHost>(host: &mut H) {
    for crash in machine_crashes() {
        let want = machine_reference(&crash);
        host.wipe().await;
        let mut m = Machine::over(host.open().await).unwrap();
        machine_history(&mut m);
        m.crash(&crash).unwrap_or_else(|e| panic!("{crash:?} on {}: {e}", m.kind()));
        assert_eq!(files(&mut m), want, "{crash:?} over {}", m.kind());
        host.close(Box::new(m)).await;
        let mut again = Machine::over(host.open().await).unwrap();
        assert_eq!(files(&mut again), want, "{crash:?} over {}, reopened", again.kind());
        assert!(again.layers().iter().all(|f| f.durable_name && f.durable_len == f.len), "a fresh start has everything on disk");
        host.close(Box::new(again)).await;
    }
    host.wipe().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    /// The async runners over the memory backend: a host that keeps the storage across
    /// close/open (a process restart; the memory backend's page cache survives it).
    struct MemoryHost(Option<MemoryStorage>);

    impl AsyncHost for MemoryHost {
        async fn open(&mut self) -> Box<dyn Storage> {
            Box::new(self.0.take().unwrap_or_default())
        }
        async fn close(&mut self, mut s: Box<dyn Storage>) {
            self.0 = s.as_memory().map(|m| m.clone());
        }
        async fn wipe(&mut self) {
            self.0 = None;
        }
    }

    /// Polls a future that never waits (the memory host's) to completion.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory host never waits"),
        }
    }

    #[test]
    fn async_runners_on_memory() {
        let mut host = MemoryHost(None);
        block_on(run_all_async(&mut host));
        block_on(run_persistence(&mut host));
    }

    /// The reference itself, spelled out: what each crash of the history keeps.
    #[test]
    fn the_machine_history_crashes_as_a_linux_machine_would() {
        let hundred: Vec<u8> = (0..100u8).collect();
        let log = b"*1\r\n$4\r\nPING\r\n".to_vec();
        let power = machine_reference(&Crash::PowerLoss);
        let want: BTreeMap<String, Vec<u8>> = [
            ("d/big", hundred.clone()),
            ("d/history", b"old history".to_vec()),
            ("d/log", log.clone()),
            ("d/manifest", b"v1".to_vec()),
            ("top", b"written back by the kernel".to_vec()),
        ]
        .into_iter()
        .map(|(n, b)| (n.to_string(), b))
        .collect();
        assert_eq!(power, want, "synced data under the names the disk knew; d/new's and d/manifest.tmp's names never reached it");
        let kill = machine_reference(&Crash::ProcessKill);
        assert_eq!(kill["d/manifest"], b"v2");
        assert!(!kill.contains_key("d/history") && kill.contains_key("d/new"));
        assert_eq!(kill["d/log"], [&log[..], b"AAAAAAAABBBBBBBBCCCCCCCC"].concat());
        let torn = machine_reference(&Crash::TornOp);
        assert_eq!(torn["d/log"], [&log[..], b"AAAAAAAABBBBBBBBCCCC"].concat());
        let seq = machine_reference(&Crash::TornSequence { seed: 7 });
        assert_eq!(seq["d/log"].len(), log.len() + 24);
        assert!(seq["d/log"].ends_with(b"CCCCCCCC") && seq["d/log"][log.len()..].windows(8).any(|w| w == [0; 8]));
        assert_eq!(machine_reference(&Crash::TornWrite { file: "d/log".into(), keep: 5 })["d/log"], [&log[..], b"AAAAA"].concat());
    }

    #[test]
    fn the_machine_over_ram_reopened_keeps_its_crash() {
        block_on(run_machine_crashes(&mut RamHost(None)));
    }

    /// A RAM backend kept across close/open (the machine above it is rebuilt each time).
    struct RamHost(Option<crate::storage::RamDisk>);

    impl AsyncHost for RamHost {
        async fn open(&mut self) -> Box<dyn Storage> {
            Box::new(self.0.take().unwrap_or_default())
        }
        async fn close(&mut self, s: Box<dyn Storage>) {
            // The machine over the RAM disk: keep the disk (what a reopen finds).
            let mut files = files_of(s);
            let mut ram = crate::storage::RamDisk::new();
            for (name, bytes) in std::mem::take(&mut files) {
                if let Some((dir, _)) = name.rsplit_once('/') {
                    ram.create_dir(dir).unwrap();
                }
                ram.open(&name, OpenMode::Create).unwrap();
                ram.append(&name, &bytes).unwrap();
            }
            self.0 = Some(ram);
        }
        async fn wipe(&mut self) {
            self.0 = None;
        }
    }

    fn files_of(mut s: Box<dyn Storage>) -> BTreeMap<String, Vec<u8>> {
        files(s.as_mut())
    }
}
