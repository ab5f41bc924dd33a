//! Moving an AOF directory in and out of the lab: a plain POSIX **ustar** archive.
//!
//! The export is what `tar -cf export.tar appendonlydir` would give: one 512-byte header per
//! entry (name, octal mode, size and mtime, a checksum), the file's bytes padded to 512, and two
//! zero blocks at the end. `tar -xf` it next to a `redis-server --appendonly yes` and the server
//! loads it as is: the names are Redis's own (`appendonlydir/appendonly.aof.1.base.rdb`, …).
//!
//! The reader takes what real tools write: ustar (with the `prefix` field for long names), GNU
//! tar's `L` long-name entries, pax `path=` records, base-256 sizes. Links, devices and global
//! pax headers are skipped. It never panics on a damaged archive: every slice is checked and a
//! short archive is an error that says where it ended.
//!
//! [`import_files`] places loose files (from an archive, a dropped folder or single files) where
//! a redis-server started on that directory would look for them: multi-part files and the
//! manifest into `appenddirname/`, an old single `appendonly.aof` at the top (the engine then
//! upgrades it as Redis 7.0 does, with its log lines).
//!
//! Compared with tar: no owners, permissions fixed at 0644 (files) and 0755 (directories).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use crate::storage::{OpenMode, Storage, join};

const BLOCK: usize = 512;

/// One archive member. Directories have no data and a path ending in `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub data: Vec<u8>,
    pub is_dir: bool,
}

impl Entry {
    pub fn file(path: impl Into<String>, data: Vec<u8>) -> Entry {
        Entry { path: path.into(), data, is_dir: false }
    }
    pub fn dir(path: &str) -> Entry {
        let path = if path.ends_with('/') { path.to_string() } else { format!("{path}/") };
        Entry { path, data: Vec::new(), is_dir: true }
    }
}

/// Writes a ustar archive of `entries` (in order), every member dated `mtime` (unix seconds).
/// Paths longer than ustar allows (100 bytes, or 155 + 100 split at a `/`) are refused.
pub fn write(entries: &[Entry], mtime: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for e in entries {
        let (prefix, name) = split_path(&e.path).ok_or_else(|| format!("{}: name too long for a ustar archive", e.path))?;
        let mut h = [0u8; BLOCK];
        put(&mut h, 0, name.as_bytes());
        put(&mut h, 100, if e.is_dir { b"0000755\0" } else { b"0000644\0" });
        put(&mut h, 108, b"0000000\0");
        put(&mut h, 116, b"0000000\0");
        put(&mut h, 124, format!("{:011o}\0", e.data.len()).as_bytes());
        put(&mut h, 136, format!("{:011o}\0", mtime).as_bytes());
        h[156] = if e.is_dir { b'5' } else { b'0' };
        put(&mut h, 257, b"ustar\0");
        put(&mut h, 263, b"00");
        put(&mut h, 265, b"redis");
        put(&mut h, 297, b"redis");
        put(&mut h, 345, prefix.as_bytes());
        // The checksum is computed with its own field as eight spaces.
        put(&mut h, 148, b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}

fn put(h: &mut [u8; BLOCK], at: usize, bytes: &[u8]) {
    if let Some(dst) = h.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// ustar keeps a name in `name` (100 bytes) or in `prefix/name` (155 + 100), split at a `/`.
fn split_path(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    let trimmed = path.trim_end_matches('/');
    path.char_indices()
        .filter(|&(i, c)| c == '/' && i < trimmed.len())
        .map(|(i, _)| (&path[..i], &path[i + 1..]))
        .find(|(p, n)| p.len() <= 155 && n.len() <= 100 && !n.is_empty())
}

/// Reads the members of a tar archive (ustar, GNU or pax). Directories are returned too.
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut long_name: Option<String> = None;
    loop {
        // A header is a fixed-size array: its fields are read at constant offsets.
        let Some(h) = bytes.get(pos..pos + BLOCK).and_then(|h| <&[u8; BLOCK]>::try_from(h).ok()) else {
            if pos == bytes.len() && pos > 0 {
                // Some writers stop without the two zero blocks; what came before is whole.
                return Ok(out);
            }
            return Err(format!("not a tar archive: it ends inside a header at byte {pos}"));
        };
        if h.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        let stored = octal(&h[148..156]).ok_or_else(|| format!("not a tar archive: bad header checksum field at byte {pos}"))?;
        let unsigned: u64 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
        let signed: i64 =
            h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { i64::from(i8::from_le_bytes([b])) }).sum();
        if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
            return Err(format!("not a tar archive: header checksum mismatch at byte {pos}"));
        }
        let size = size_field(&h[124..136]).ok_or_else(|| format!("tar: bad size field at byte {pos}"))?;
        let start = pos + BLOCK;
        let end = usize::try_from(size).ok().and_then(|s| start.checked_add(s)).filter(|&e| e <= bytes.len());
        let Some(end) = end else {
            return Err(format!("tar: truncated archive: a member of {size} bytes starts at byte {start} of {}", bytes.len()));
        };
        let data = bytes.get(start..end).unwrap_or_default();
        pos = start + (end - start).div_ceil(BLOCK) * BLOCK;
        let kind = h[156];
        let mut path = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                path = format!("{prefix}/{path}");
            }
        }
        if let Some(name) = long_name.take() {
            path = name;
        }
        match kind {
            b'0' | 0 | b'7' => out.push(Entry { path, data: data.to_vec(), is_dir: false }),
            b'5' => out.push(Entry::dir(&path)),
            b'L' => long_name = Some(cstr(data)),
            b'x' => long_name = pax_path(data),
            _ => {} // links, devices, fifos, global pax headers: nothing to restore
        }
    }
}

fn cstr(b: &[u8]) -> String {
    let text = b.split(|&c| c == 0).next().unwrap_or_default();
    String::from_utf8_lossy(text).into_owned()
}

/// An octal field: digits, padded with spaces or NULs.
fn octal(b: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(b).ok()?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The size field: octal, or GNU's base-256 (high bit set) for large members.
fn size_field(b: &[u8]) -> Option<u64> {
    match b.first() {
        Some(&first) if first & 0x80 != 0 => {
            b.iter().skip(1).try_fold(u64::from(first & 0x7f), |acc, &x| acc.checked_mul(256)?.checked_add(u64::from(x)))
        }
        _ => octal(b),
    }
}

/// pax extended header records: `"<len> key=value\n"`; we keep `path`.
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|line| line.split_once(' ').and_then(|(_, kv)| kv.strip_prefix("path=")).map(str::to_string))
}

/// Exports the AOF directory `dir` of `storage` (what a process reads: the page cache) as an
/// archive: `dir/` then its files in name order.
pub fn export_aof_dir(storage: &mut dyn Storage, dir: &str, mtime: u64) -> Result<Vec<u8>, String> {
    let mut entries = vec![Entry::dir(dir)];
    let names = storage.list(Some(dir)).map_err(|e| e.to_string())?;
    for name in names {
        let data = storage.read_all(&name).map_err(|e| format!("{name}: {e}"))?;
        entries.push(Entry::file(name, data));
    }
    write(&entries, mtime)
}

/// Where a loose file goes in Redis's `dir`: `Some(path)`, or `None` for what a server would not
/// read (logs, hidden files, configs).
pub fn place(path: &str, appenddirname: &str) -> Option<String> {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let (parent, base) = match path.rsplit_once('/') {
        Some((p, b)) => (Some(p), b),
        None => (None, path),
    };
    if base.is_empty() || base.starts_with('.') || base.ends_with(".log") || base.ends_with(".conf") {
        return None;
    }
    let multi_part = base.ends_with(".manifest") || base.contains(".base.") || base.contains(".incr.");
    // Inside a folder (appendonlydir/, or any name an archive gave it), or named like a part of
    // a multi-part AOF: it belongs to the AOF directory. A top-level appendonly.aof is the old
    // single-file format, which the engine upgrades at start-up.
    if multi_part || parent.is_some_and(|p| !p.is_empty()) { Some(join(appenddirname, base)) } else { Some(base.to_string()) }
}

/// Why an import failed, and whether the directory was already changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub message: String,
    /// False: the previous files are all still there, unchanged (a failure while writing the
    /// new ones). True: the swap failed part-way, the directory holds a mix.
    pub touched: bool,
}

/// Where a placed file is staged until the swap: a hidden name next to it, which no server
/// reads (and which [`place`] never produces).
fn staged_name(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/.import-{base}"),
        None => format!(".import-{name}"),
    }
}

/// Replaces everything in `storage` by `files` (path → bytes, placed by [`place`]), synced and
/// with synced directory entries, as a copy onto a real disk followed by `sync` would leave it.
/// Returns the names written, in order.
pub fn import_files(storage: &mut dyn Storage, files: &[(String, Vec<u8>)], appenddirname: &str) -> Result<Vec<String>, String> {
    import_files_staged(storage, files, appenddirname).map_err(|e| e.message)
}

/// Writes and fsyncs one file under its staged name (recorded in `staged` once created).
fn stage(storage: &mut dyn Storage, name: &str, data: &[u8], staged: &mut Vec<String>) -> Result<(), String> {
    let tmp = staged_name(name);
    storage.open(&tmp, OpenMode::Truncate).map_err(|e| format!("{name}: {e}"))?;
    staged.push(tmp.clone());
    let mut done = 0;
    while done < data.len() {
        let n = storage.write_at(&tmp, done as u64, data.get(done..).unwrap_or_default()).map_err(|e| format!("{name}: {e}"))?;
        if n == 0 {
            return Err(format!("{name}: No space left on device"));
        }
        done += n;
    }
    storage.sync(&tmp).map_err(|e| format!("{name}: {e}"))
}

/// [`import_files`], telling whether a failure touched the previous files. The new files are
/// written and fsynced under staged names first (the previous dataset intact if the disk fills
/// up or a write fails: the staged files are removed again), then renamed over the final
/// names, then the previous files that are not replaced are removed.
pub fn import_files_staged(
    storage: &mut dyn Storage,
    files: &[(String, Vec<u8>)],
    appenddirname: &str,
) -> Result<Vec<String>, ImportError> {
    let untouched = |message: String| ImportError { message, touched: false };
    // The same name twice: the last one wins, as a copy would leave it.
    let mut placed: Vec<(String, &Vec<u8>)> = Vec::new();
    for (name, data) in files.iter().filter_map(|(p, d)| place(p, appenddirname).map(|n| (n, d))) {
        placed.retain(|(n, _)| *n != name);
        placed.push((name, data));
    }
    if placed.is_empty() {
        return Err(untouched("nothing to import: no AOF file (a manifest, base, incr or appendonly.aof) among the files".into()));
    }
    let old = storage.list(None).map_err(|e| untouched(e.to_string()))?;
    if !storage.dir_exists(appenddirname) {
        storage.create_dir(appenddirname).map_err(|e| untouched(e.to_string()))?;
    }
    let mut staged: Vec<String> = Vec::new();
    for (name, data) in &placed {
        if let Err(message) = stage(storage, name, data, &mut staged) {
            for tmp in &staged {
                storage.remove(tmp).ok();
            }
            return Err(untouched(message));
        }
    }
    let touched = |message: String| ImportError { message, touched: true };
    let mut written = Vec::new();
    for (name, _) in &placed {
        storage.rename(&staged_name(name), name).map_err(|e| touched(format!("{name}: {e}")))?;
        written.push(name.clone());
    }
    for name in old.iter().filter(|n| !written.contains(n)) {
        storage.remove(name).map_err(|e| touched(format!("{name}: {e}")))?;
    }
    storage.sync_dir(appenddirname).map_err(|e| touched(e.to_string()))?;
    storage.sync_dir("").map_err(|e| touched(e.to_string()))?;
    Ok(written)
}

/// Reads an archive and imports its files (see [`import_files`]).
pub fn import_archive(storage: &mut dyn Storage, archive: &[u8], appenddirname: &str) -> Result<Vec<String>, String> {
    let files: Vec<(String, Vec<u8>)> = read(archive)?.into_iter().filter(|e| !e.is_dir).map(|e| (e.path, e.data)).collect();
    import_files(storage, &files, appenddirname)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn round_trip_keeps_names_bytes_and_kinds() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let entries = vec![
            Entry::dir("appendonlydir"),
            Entry::file("appendonlydir/appendonly.aof.1.base.rdb", b"REDIS0010\xfa\x00\xff".to_vec()),
            Entry::file("appendonlydir/appendonly.aof.1.incr.aof", vec![]),
            Entry::file("appendonlydir/appendonly.aof.manifest", (0..=255u8).cycle().take(1500).collect()),
            Entry::file(long.clone(), b"x".to_vec()),
        ];
        let tar = write(&entries, 1_700_000_000).unwrap();
        assert_eq!(tar.len() % BLOCK, 0);
        assert_eq!(read(&tar).unwrap(), entries);
        assert!(write(&[Entry::file("n".repeat(101), vec![])], 0).is_err(), "no '/' to split at");
    }

    #[test]
    fn header_is_plain_ustar() {
        let tar = write(&[Entry::file("a.aof", b"hello".to_vec())], 0o1234).unwrap();
        assert_eq!(&tar[0..6], b"a.aof\0");
        assert_eq!(&tar[124..136], b"00000000005\0");
        assert_eq!(&tar[136..148], b"00000001234\0");
        assert_eq!(&tar[257..265], b"ustar\x0000");
        assert_eq!(&tar[512..517], b"hello");
        assert_eq!(tar.len(), 512 * 4, "header, one data block, two zero blocks");
    }

    #[test]
    fn damaged_archives_are_errors_never_panics() {
        let tar = write(&[Entry::file("a", vec![7; 1000])], 0).unwrap();
        for cut in [1, 100, 511, 600, 1023, 1500] {
            let r = read(&tar[..cut]);
            assert!(r.is_err(), "cut at {cut}: {r:?}");
        }
        let mut bad = tar.clone();
        bad[10] ^= 1;
        assert!(read(&bad).unwrap_err().contains("checksum"));
        assert_eq!(read(&[]).unwrap_err(), "not a tar archive: it ends inside a header at byte 0");
        // Every prefix and every single-byte corruption: an answer, no panic.
        for cut in 0..tar.len() {
            let _ = read(&tar[..cut]);
        }
        for i in 0..1024 {
            let mut t = tar.clone();
            t[i] = t[i].wrapping_add(0x80);
            let _ = read(&t);
        }
    }

    #[test]
    fn reads_gnu_long_names_and_pax_paths() {
        let long = "appendonlydir/".to_string() + &"x".repeat(150);
        let mut gnu = write(&[Entry { path: "././@LongLink".into(), data: format!("{long}\0").into_bytes(), is_dir: false }], 0).unwrap();
        gnu[156] = b'L';
        fix_checksum(&mut gnu[..512]);
        gnu.truncate(gnu.len() - 2 * BLOCK);
        gnu.extend(write(&[Entry::file("short", b"v".to_vec())], 0).unwrap());
        assert_eq!(read(&gnu).unwrap(), vec![Entry::file(long.clone(), b"v".to_vec())]);

        let record = format!("path={long}\n");
        let pax_text = format!("{} {record}", record.len() + 4);
        let mut pax = write(&[Entry::file("PaxHeaders/x", pax_text.into_bytes())], 0).unwrap();
        pax[156] = b'x';
        fix_checksum(&mut pax[..512]);
        pax.truncate(pax.len() - 2 * BLOCK);
        pax.extend(write(&[Entry::file("short", b"w".to_vec())], 0).unwrap());
        assert_eq!(read(&pax).unwrap(), vec![Entry::file(long, b"w".to_vec())]);
    }

    fn fix_checksum(h: &mut [u8]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn places_files_where_redis_looks() {
        let d = "appendonlydir";
        assert_eq!(place("appendonlydir/appendonly.aof.manifest", d).as_deref(), Some("appendonlydir/appendonly.aof.manifest"));
        assert_eq!(
            place("./backup/appendonlydir/appendonly.aof.2.incr.aof", d).as_deref(),
            Some("appendonlydir/appendonly.aof.2.incr.aof")
        );
        assert_eq!(place("appendonly.aof.1.base.rdb", d).as_deref(), Some("appendonlydir/appendonly.aof.1.base.rdb"));
        assert_eq!(place("appendonly.aof", d).as_deref(), Some("appendonly.aof"), "the old single file stays at the top");
        assert_eq!(place("appendonlydir/redis.log", d), None);
        assert_eq!(place("appendonlydir/.DS_Store", d), None);
        assert_eq!(place("appendonlydir/", d), None);
    }

    /// A disk that fills up part-way through an import leaves the previous files as they were
    /// (names and bytes), and no staged file behind.
    #[test]
    fn a_failed_import_keeps_the_previous_files() {
        let mut s = MemoryStorage::new();
        s.create_dir("appendonlydir").unwrap();
        let before = [
            ("appendonlydir/appendonly.aof.1.base.rdb", &b"REDIS0010"[..]),
            ("appendonlydir/appendonly.aof.1.incr.aof", b"*1\r\n$4\r\nPING\r\n"),
            ("appendonlydir/appendonly.aof.manifest", b"file appendonly.aof.1.base.rdb seq 1 type b\n"),
        ];
        for (name, data) in before {
            s.open(name, OpenMode::Create).unwrap();
            s.append(name, data).unwrap();
            s.sync(name).unwrap();
        }
        s.sync_dir("appendonlydir").unwrap();
        let used = s.bytes_used();
        s.capacity = Some(used + 100);
        let files = vec![
            ("appendonlydir/appendonly.aof.manifest".to_string(), b"file appendonly.aof.2.base.aof seq 2 type b\n".to_vec()),
            ("appendonlydir/appendonly.aof.2.base.aof".to_string(), vec![b'x'; 500]),
        ];
        let err = import_files_staged(&mut s, &files, "appendonlydir").unwrap_err();
        assert!(!err.touched && err.message.contains("No space left on device"), "{err:?}");
        let mut names = s.list(None).unwrap();
        names.sort();
        assert_eq!(names, before.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>(), "no staged file left");
        for (name, data) in before {
            assert_eq!(s.read_all(name).unwrap(), data, "{name}");
        }
        // With room, the same import replaces everything.
        s.capacity = None;
        assert_eq!(import_files(&mut s, &files, "appendonlydir").unwrap().len(), 2);
        let mut names = s.list(None).unwrap();
        names.sort();
        assert_eq!(names, ["appendonlydir/appendonly.aof.2.base.aof", "appendonlydir/appendonly.aof.manifest"]);
    }

    #[test]
    fn export_then_import_gives_the_same_directory_synced() {
        let mut a = MemoryStorage::new();
        a.create_dir("appendonlydir").unwrap();
        for (name, data) in
            [("appendonlydir/appendonly.aof.1.incr.aof", &b"*1\r\n$4\r\nPING\r\n"[..]), ("appendonlydir/appendonly.aof.manifest", b"m\n")]
        {
            a.open(name, OpenMode::Create).unwrap();
            a.append(name, data).unwrap();
        }
        a.open("temp-rewriteaof-bg-1.aof", OpenMode::Create).unwrap();
        let tar = export_aof_dir(&mut a, "appendonlydir", 0).unwrap();
        let names: Vec<String> = read(&tar).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(names, ["appendonlydir/", "appendonlydir/appendonly.aof.1.incr.aof", "appendonlydir/appendonly.aof.manifest"]);

        let mut b = MemoryStorage::new();
        b.create_dir("appendonlydir").unwrap();
        b.open("appendonlydir/stale.aof", OpenMode::Create).unwrap();
        let written = import_archive(&mut b, &tar, "appendonlydir").unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(b.list(None).unwrap(), ["appendonlydir/appendonly.aof.1.incr.aof", "appendonlydir/appendonly.aof.manifest"]);
        // Imported files are on the simulated disk: a power loss keeps them.
        b.power_loss();
        assert_eq!(b.read_all("appendonlydir/appendonly.aof.1.incr.aof").unwrap(), b"*1\r\n$4\r\nPING\r\n");
        assert!(import_archive(&mut b, &write(&[Entry::file("x.log", vec![])], 0).unwrap(), "appendonlydir").is_err());
    }
}
