//! Files dropped on the log view to be inspected, not loaded: a real `appendonlydir/` (a
//! folder), a `.tar` of one, or loose files. They are laid out as a server's `dir` would hold
//! them ([`crate::archive::place`], the import's rule), kept in a storage of their own (never
//! the lab's: its engine and files are untouched), indexed like the lab's files
//! ([`LogIndex`]) and checked with `redis-check-aof` ([`crate::aof::check`]).

use super::log::{LogIndex, read_range};
use super::view::file_kind;
use crate::aof::check::{self, Mode, is_manifest};
use crate::aof::manifest::AofManifest;
use crate::storage::{MemoryStorage, OpenMode, Storage};

const DIR: &str = "appendonlydir";

pub struct Dropped {
    storage: MemoryStorage,
    index: LogIndex,
    /// The files and their kinds, as the lab names them.
    files: Vec<(String, &'static str)>,
}

impl Dropped {
    /// Lays `files` (path, bytes) out as in a server's `dir`. Files a server would not read
    /// (logs, configs, hidden files) are left out; none left is an error.
    pub fn open(files: Vec<(String, Vec<u8>)>) -> Result<Dropped, String> {
        let mut storage = MemoryStorage::new();
        storage.create_dir(DIR).map_err(|e| e.to_string())?;
        let mut placed = Vec::new();
        for (path, data) in files {
            let Some(name) = crate::archive::place(&path, DIR) else { continue };
            storage.open(&name, OpenMode::Truncate).map_err(|e| format!("{name}: {e}"))?;
            storage.write_at(&name, 0, &data).map_err(|e| format!("{name}: {e}"))?;
            placed.retain(|n| *n != name);
            placed.push(name);
        }
        if placed.is_empty() {
            return Err("nothing to inspect: no AOF file (a manifest, base, incr or appendonly.aof) among the files".into());
        }
        let mut d = Dropped { storage, index: LogIndex::default(), files: Vec::new() };
        d.classify();
        Ok(d)
    }

    /// An archive (`.tar`), or one file when it is not one.
    pub fn open_archive(name: &str, bytes: Vec<u8>) -> Result<Dropped, String> {
        let looks_like_tar = bytes.get(257..262) == Some(b"ustar") || name.ends_with(".tar");
        if looks_like_tar {
            let entries = crate::archive::read(&bytes)?;
            Dropped::open(entries.into_iter().filter(|e| !e.is_dir).map(|e| (e.path, e.data)).collect())
        } else {
            Dropped::open(vec![(name.to_string(), bytes)])
        }
    }

    /// The manifests among the files (told by their first lines: a manifest is small, an AOF
    /// may be large).
    fn manifests(&mut self) -> Vec<String> {
        let names = self.storage.list(None).unwrap_or_default();
        names.into_iter().filter(|n| read_range(&mut self.storage, n, 0, 4096).is_ok_and(|d| is_manifest(&d))).collect()
    }

    /// Kinds from the manifest (base, incr, history); a top-level file is an old-style AOF.
    fn classify(&mut self) {
        let manifest = self
            .manifests()
            .first()
            .and_then(|m| self.storage.read_all(m).ok())
            .and_then(|d| AofManifest::parse(&d).ok())
            .unwrap_or_default();
        let names = self.storage.list(None).unwrap_or_default();
        self.files = names
            .into_iter()
            .map(|n| {
                let top = if n.contains('/') { "" } else { n.as_str() };
                let kind = file_kind(&n, &manifest, true, "dump.rdb", top);
                (n, kind)
            })
            .filter(|(_, k)| *k != "manifest")
            .collect();
        self.index.sync(&mut self.storage, &self.files, 0);
    }

    /// `[{name, kind, len, records, …}]` as [`LogIndex::files_json`].
    pub fn files_json(&self) -> String {
        self.index.files_json()
    }

    pub fn rows_json(&mut self, file: &str, first: usize, count: usize) -> Result<String, String> {
        self.index.rows_json(&mut self.storage, file, first, count)
    }

    pub fn record_json(&mut self, file: &str, index: usize) -> Result<String, String> {
        self.index.record_json(&mut self.storage, file, index)
    }

    pub fn find(&mut self, file: &str, offset: u64) -> Option<usize> {
        self.index.find(&mut self.storage, file, offset)
    }

    /// `redis-check-aof` on what was dropped, as the tool prints it: on each manifest, or on
    /// each file when there is none. Each run starts with the command line and ends with its
    /// exit status.
    pub fn check(&mut self) -> String {
        let mut targets = self.manifests();
        if targets.is_empty() {
            targets = self.files.iter().map(|(n, _)| n.clone()).collect();
        }
        let mut out = String::new();
        for t in targets {
            let report = check::check(&mut self.storage, &t, Mode::Check, &mut |_| false);
            out.push_str(&format!("$ redis-check-aof {t}\n{}\nexit: {}\n", report.output.trim_end(), report.exit_code));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(cmds: &[&[&str]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            crate::resp::encode_command(&mut out, c);
        }
        out
    }

    #[test]
    fn a_dropped_directory_is_indexed_and_checked() {
        let base = crate::rdb::empty_base(1_700_000_000, 1000);
        let mut incr = resp(&[&["SELECT", "0"], &["SET", "k", "v"]]);
        incr.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nx");
        let files = vec![
            ("backup/appendonlydir/appendonly.aof.1.base.rdb".to_string(), base),
            ("backup/appendonlydir/appendonly.aof.1.incr.aof".to_string(), incr.clone()),
            (
                "backup/appendonlydir/appendonly.aof.manifest".to_string(),
                b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n".to_vec(),
            ),
            ("backup/appendonlydir/redis.log".to_string(), b"ignored".to_vec()),
        ];
        let mut d = Dropped::open(files).unwrap();
        let json = d.files_json();
        assert!(json.contains("{\"name\":\"appendonlydir/appendonly.aof.1.base.rdb\",\"kind\":\"base\""), "{json}");
        assert!(json.contains("{\"name\":\"appendonlydir/appendonly.aof.1.incr.aof\",\"kind\":\"incr\""), "{json}");
        assert!(!json.contains("redis.log") && !json.contains(".manifest"), "{json}");
        let rows = d.rows_json("appendonlydir/appendonly.aof.1.base.rdb", 0, 20).unwrap();
        assert!(rows.contains("REDIS0010") && rows.contains("AUX aof-base"), "{rows}");
        let rows = d.rows_json("appendonlydir/appendonly.aof.1.incr.aof", 0, 20).unwrap();
        assert!(rows.contains("SET k v") && rows.contains("\"cut\":true"), "{rows}");
        let out = d.check();
        assert!(out.starts_with("$ redis-check-aof appendonlydir/appendonly.aof.manifest\nStart checking Multi Part AOF"), "{out}");
        assert!(out.contains("ok_up_to=50") && out.ends_with("exit: 1\n"), "{out}");
        assert_eq!(json.matches("\"offset\":50,").count(), 1, "the index cuts where the check does: {json}");
    }

    #[test]
    fn a_single_file_and_a_tar() {
        let aof = resp(&[&["SET", "old", "style"]]);
        let mut d = Dropped::open_archive("appendonly.aof", aof.clone()).unwrap();
        assert!(d.files_json().contains("{\"name\":\"appendonly.aof\",\"kind\":\"aof\""), "{}", d.files_json());
        assert!(d.check().contains("Start checking Old-Style AOF"));
        let tar = crate::archive::write(&[crate::archive::Entry::file("appendonlydir/appendonly.aof.1.incr.aof", aof)], 0).unwrap();
        let mut d = Dropped::open_archive("x.tar", tar).unwrap();
        assert!(d.rows_json("appendonlydir/appendonly.aof.1.incr.aof", 0, 5).unwrap().contains("SET old style"));
        assert!(Dropped::open(vec![("notes/redis.conf".into(), b"x".to_vec())]).is_err());
    }
}
