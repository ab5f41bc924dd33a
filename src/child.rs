//! The simulated fork child of BGREWRITEAOF and BGSAVE: a snapshot of the dataset written out a
//! bounded number of keys per cron tick, so that a rewrite or a save can be watched while new
//! writes go on.
//!
//! ```text
//! fork     snapshot = the dbs as they are now; the parent goes on with the live dbs
//! tick     the child serialises the next `lab-rewrite-keys-per-tick` keys of the snapshot
//!          (0: all of them) and appends them to its temp file
//! last     footer (RDB: EOF + CRC-64), fsync: the child "exits" and the parent's done handler
//!          runs in the same tick (Redis's checkChildrenDone)
//! ```
//!
//! **The snapshot.** Fork gives the child a frozen image of the parent's memory; pages the parent
//! writes afterwards are copied (copy-on-write). Here the frozen image is a clone of the dbs taken
//! at fork, and it is copy-on-write too: a `Db` keeps its values behind `Rc`, so the clone copies
//! the key tables and shares every value; the first change the parent makes to a value after the
//! fork copies that value alone (`Rc::make_mut` in `Db::get_mut`), and the child keeps reading
//! the original. Obviously correct (the child can never see a later write) and cheap at fork
//! (no value is copied then). The CoW *figure*: every key the parent modifies while the child runs
//! (`signalModifiedKey`) is recorded, and the size of its snapshot value is what fork would have
//! copied (`current_cow_size`, `aof_last_cow_size`, `rdb_last_cow_size`).
//!
//! **One child at a time**, as Redis: BGREWRITEAOF during a BGSAVE is scheduled, BGSAVE during a
//! rewrite is refused (or scheduled with `SCHEDULE`). A child that is killed (`CONFIG SET
//! appendonly no`) or fails (disk full) leaves no temp file behind.
//!
//! **Above both writers.** The child is one concept for BGSAVE (`dump.rdb`, [`crate::rdb::save`])
//! and BGREWRITEAOF (the AOF base, [`crate::aof::bgrewrite`], 6.2's [`crate::aof::legacy`]): it
//! streams whichever format the parent asked for, with the writers' own pieces (the RDB's
//! header, db header and key from [`crate::rdb::write`], the RESP rewrite of a key from
//! [`crate::aof::rewrite`]); the writers know nothing of it. [`SnapshotWriter`] is the streaming
//! form of `rdbSaveRio` and `rewriteAppendOnlyFileRio`: the concatenation of its steps is byte
//! for byte what [`crate::rdb::write_rdb`] and [`crate::aof::rewrite::rewrite_resp`] write in
//! one go (tested below).

use std::collections::HashSet;

use crate::aof::rewrite::{rewrite_functions, rewrite_key};
use crate::keyspace::Db;
use crate::rdb::dump::Limits;
use crate::rdb::write::{write_db_header, write_functions, write_header_aux, write_key};
use crate::rdb::{RDB_OPCODE_EOF, crc64_update};
use crate::resp::encode_command;
use crate::server::{LogLevel, Server};
use crate::storage::{Error, ErrorKind, OpenMode};

/// What the child writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An RDB: `aof_base` 1 for an AOF base, 0 for `dump.rdb`.
    Rdb { aof_base: bool },
    /// The RESP commands of `aof-use-rdb-preamble no`.
    Resp { timestamps: bool },
}

/// The child's position in the snapshot: header, then db by db, key by key, then the footer.
#[derive(Clone, Debug)]
pub struct SnapshotWriter {
    pub format: Format,
    /// `ctime` and `used-mem` (or the `#TS` line), taken when the child starts.
    unixtime: i64,
    used_mem: u64,
    header_done: bool,
    db: usize,
    pos: usize,
    done: bool,
    /// Running CRC-64 of the RDB bytes so far.
    crc: u64,
    /// `rdbcompression` (LZF for strings over 20 bytes) and `rdbchecksum` (else the CRC is 0).
    compress: bool,
    checksum: bool,
    /// `list-max-listpack-size` at fork: how a list's quicklist nodes are cut in an RDB.
    list_max_listpack_size: i32,
    /// `stat_current_save_keys_processed`.
    pub keys_processed: u64,
    /// The function libraries' code at fork (they are part of the dataset): written with the
    /// header, before the first db (`rdbSaveFunctions`, `rewriteFunctions`).
    functions: Vec<Vec<u8>>,
}

impl SnapshotWriter {
    pub fn new(format: Format, unixtime: i64, used_mem: u64) -> SnapshotWriter {
        SnapshotWriter {
            format,
            unixtime,
            used_mem,
            header_done: false,
            db: 0,
            pos: 0,
            done: false,
            crc: 0,
            compress: true,
            checksum: true,
            list_max_listpack_size: -2,
            keys_processed: 0,
            functions: Vec::new(),
        }
    }

    /// The libraries to write before the keys (their code, as FUNCTION LOAD was given it).
    pub fn with_functions(mut self, functions: Vec<Vec<u8>>) -> SnapshotWriter {
        self.functions = functions;
        self
    }

    /// The RDB options of the config: `rdbcompression`, `rdbchecksum`, `list-max-listpack-size`.
    pub fn with_rdb_options(mut self, compress: bool, checksum: bool, list_max_listpack_size: i32) -> SnapshotWriter {
        self.compress = compress;
        self.checksum = checksum;
        self.list_max_listpack_size = list_max_listpack_size;
        self
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Appends the next part of the snapshot to `out`: the header on the first call, then at most
    /// `budget` keys (0: no bound), then the footer once the last key is out. True when done.
    pub fn step(&mut self, dbs: &[Db], budget: usize, out: &mut Vec<u8>) -> bool {
        if self.done {
            return true;
        }
        let start = out.len();
        if !self.header_done {
            match self.format {
                Format::Rdb { aof_base } => {
                    write_header_aux(out, self.unixtime, self.used_mem, aof_base);
                    write_functions(out, &self.functions, self.compress);
                }
                Format::Resp { timestamps } => {
                    if timestamps {
                        out.extend_from_slice(format!("#TS:{}\r\n", self.unixtime).as_bytes());
                    }
                    rewrite_functions(out, &self.functions);
                }
            }
            self.header_done = true;
        }
        let mut left = if budget == 0 { usize::MAX } else { budget };
        self.skip_exhausted(dbs);
        while left > 0
            && let Some(db) = dbs.get(self.db)
        {
            if self.pos == 0 {
                match self.format {
                    Format::Rdb { .. } => write_db_header(out, db),
                    Format::Resp { .. } => encode_command(out, &[b"SELECT".as_slice(), db.id.to_string().as_bytes()]),
                }
            }
            for (key, value, hint) in db.iter_from_hinted(self.pos).take(left) {
                let expire = db.expire_of(key);
                match self.format {
                    Format::Rdb { .. } => {
                        let limits = Limits::of_key(self.list_max_listpack_size, hint);
                        write_key(out, key, value, expire, &limits, self.compress);
                    }
                    Format::Resp { .. } => rewrite_key(out, key, value, expire),
                }
                self.pos += 1;
                left -= 1;
                self.keys_processed += 1;
            }
            self.skip_exhausted(dbs);
        }
        self.done = self.db >= dbs.len();
        if let Format::Rdb { .. } = self.format {
            if self.done {
                out.push(RDB_OPCODE_EOF);
            }
            self.crc = crc64_update(self.crc, out.get(start..).unwrap_or_default());
            if self.done {
                let crc = if self.checksum { self.crc } else { 0 };
                out.extend_from_slice(&crc.to_le_bytes());
            }
        }
        self.done
    }

    /// Moves past the dbs whose keys are all written (and the empty ones, which have no SELECT).
    fn skip_exhausted(&mut self, dbs: &[Db]) {
        while dbs.get(self.db).is_some_and(|db| self.pos >= db.len()) {
            self.db += 1;
            self.pos = 0;
        }
    }
}

/// Which kind of child (`server.child_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildType {
    Aof,
    Rdb,
}

/// The simulated child: the snapshot and how far it got.
#[derive(Clone, Debug)]
pub struct SnapshotChild {
    pub child_type: ChildType,
    pub pid: u32,
    pub snapshot: Vec<Db>,
    pub started_ms: i64,
    /// Keys the parent changed while the child ran: with fork, their pages would have been
    /// copied (copy-on-write). Their size in the snapshot is the CoW figure.
    pub touched: HashSet<(usize, Vec<u8>)>,
    /// The temp file being written, relative to `dir`.
    pub tmp: String,
    pub writer: SnapshotWriter,
    /// Bytes appended to `tmp` so far, and how many of them were fsynced.
    pub written: u64,
    synced: u64,
    /// `stat_current_save_keys_total`: the keys at fork time.
    pub keys_total: u64,
}

/// `REDIS_AUTOSYNC_BYTES`: with `aof-rewrite-incremental-fsync` / `rdb-save-incremental-fsync`,
/// the child fsyncs every 4 MB so that the final fsync has little left to do.
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

impl SnapshotChild {
    /// Bytes "copied on write" so far: the snapshot's size of every value changed since.
    pub fn cow_bytes(&self) -> u64 {
        self.touched.iter().filter_map(|(db, key)| self.snapshot.get(*db)?.get(key).map(|v| (key.len() + v.approx_size()) as u64)).sum()
    }

    /// `current_fork_perc`: the share of the snapshot's keys written so far.
    pub fn progress_perc(&self) -> f64 {
        if self.keys_total == 0 { 0.0 } else { self.writer.keys_processed as f64 * 100.0 / self.keys_total as f64 }
    }
}

impl Server {
    /// `hasActiveChildProcess`.
    pub fn has_active_child(&self) -> bool {
        self.aof.child.is_some() || self.rdb.child.is_some()
    }

    /// `rdbcompression` and `rdbchecksum` (both `yes` by default).
    pub fn rdb_compression(&self) -> bool {
        self.config.get("rdbcompression").is_none_or(|v| v == "yes")
    }
    pub fn rdb_checksum(&self) -> bool {
        self.config.get("rdbchecksum").is_none_or(|v| v == "yes")
    }

    /// The running child, whatever its type (for INFO's `current_*` fields).
    pub fn active_child(&self) -> Option<&SnapshotChild> {
        self.aof.child.as_ref().or(self.rdb.child.as_ref())
    }

    /// `redisFork`: a new pid and the snapshot. The child writes `tmp` (relative to `dir`).
    pub(crate) fn fork_child(&mut self, child_type: ChildType, format: Format, tmp: impl FnOnce(u32) -> String) -> SnapshotChild {
        self.aof.next_pid += 1;
        let pid = 1000 + self.aof.next_pid;
        let used_mem = self.used_memory();
        SnapshotChild {
            child_type,
            pid,
            snapshot: self.dbs.clone(),
            started_ms: self.now_ms,
            touched: HashSet::new(),
            tmp: tmp(pid),
            writer: SnapshotWriter::new(format, self.unixtime(), used_mem)
                .with_rdb_options(self.rdb_compression(), self.rdb_checksum(), self.config.list_max_listpack_size)
                .with_functions(self.scripting.functions.codes()),
            written: 0,
            synced: 0,
            keys_total: self.dbs.iter().map(|db| db.len() as u64).sum(),
        }
    }

    /// One tick of a child's work: the next keys appended to its temp file (created by the first
    /// step), fsynced at the end. True when the file is complete.
    pub(crate) fn child_step(&mut self, child: &mut SnapshotChild, incremental_fsync: bool) -> Result<bool, Error> {
        self.child_step_op(child, incremental_fsync).map_err(|(_, e)| e)
    }

    /// [`Self::child_step`], telling which operation failed, as `rdbSave`'s `err_op` does:
    /// `open` (the temp file), `rdbSaveRio` (a write, or an incremental fsync of the rio), `fsync`
    /// (the final one).
    pub(crate) fn child_step_op(&mut self, child: &mut SnapshotChild, incremental_fsync: bool) -> Result<bool, (&'static str, Error)> {
        if child.written == 0 && !child.writer.header_done {
            self.storage.open(&child.tmp, OpenMode::Truncate).map_err(|e| ("open", e))?;
        }
        let mut bytes = Vec::new();
        let done = child.writer.step(&child.snapshot, self.config.lab_rewrite_keys_per_tick, &mut bytes);
        if !bytes.is_empty() {
            let n = self.storage.write_at(&child.tmp, child.written, &bytes).map_err(|e| ("rdbSaveRio", e))?;
            if n != bytes.len() {
                return Err(("rdbSaveRio", Error::new(ErrorKind::NoSpace, "short write of the child's temp file")));
            }
            child.written += n as u64;
        }
        if incremental_fsync && child.written - child.synced >= AUTOSYNC_BYTES {
            self.storage.sync(&child.tmp).map_err(|e| ("rdbSaveRio", e))?;
            child.synced = child.written;
        }
        if done {
            self.storage.sync(&child.tmp).map_err(|e| ("fsync", e))?;
            child.synced = child.written;
        }
        Ok(done)
    }

    /// The child's "Fork CoW for …" line (logged by the child just before it exits).
    pub(crate) fn log_child_cow(&mut self, child: &SnapshotChild, what: &str) -> u64 {
        let cow = child.cow_bytes();
        let mb = cow / (1024 * 1024);
        self.log(LogLevel::Notice, format!("Fork CoW for {what}: current {mb} MB, peak {mb} MB, average {mb} MB"));
        cow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn dbs() -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..4).map(Db::new).collect();
        for i in 0..25 {
            dbs[0].insert(
                format!("k{i}").into_bytes(),
                Value::String(format!("value number {i} with some padding text").into_bytes().into()),
            );
        }
        dbs[0].set_expire(b"k3", 1_900_000_000_000);
        dbs[2].insert(b"l".to_vec(), Value::List((0..100).map(|i| i.to_string().into_bytes()).collect()));
        dbs
    }

    #[test]
    fn steps_concatenate_to_the_whole() {
        let dbs = dbs();
        for format in [Format::Rdb { aof_base: true }, Format::Rdb { aof_base: false }, Format::Resp { timestamps: true }] {
            // The one-go writers are the reference; one unbounded step is the same.
            let whole = match format {
                Format::Rdb { aof_base } => crate::rdb::write_rdb(&dbs, 1_800_000_000, 900_000, aof_base),
                Format::Resp { timestamps } => crate::aof::rewrite::rewrite_resp(&dbs, 1_800_000_000, timestamps),
            };
            let mut one = Vec::new();
            assert!(SnapshotWriter::new(format, 1_800_000_000, 900_000).step(&dbs, 0, &mut one));
            assert_eq!(one, whole, "{format:?} in one step");
            for budget in [1, 2, 7, 25, 26, 1000] {
                let mut w = SnapshotWriter::new(format, 1_800_000_000, 900_000);
                let mut out = Vec::new();
                let mut steps = 0;
                while !w.step(&dbs, budget, &mut out) {
                    steps += 1;
                    assert!(steps < 100);
                }
                assert_eq!(out, whole, "{format:?} budget {budget}");
                assert_eq!(w.keys_processed, 26);
                assert_eq!(steps, 26usize.div_ceil(budget) - 1, "budget {budget}");
            }
        }
        let mut rdb = Vec::new();
        SnapshotWriter::new(Format::Rdb { aof_base: false }, 1, 1).step(&dbs, 0, &mut rdb);
        let mut back: Vec<Db> = (0..4).map(Db::new).collect();
        let info = crate::rdb::read_rdb(&rdb, &mut back).unwrap();
        assert!(info.checksum_ok && !info.checksum_disabled);
        assert_eq!(crate::keyspace::digest::dataset_digest(&back), crate::keyspace::digest::dataset_digest(&dbs));
    }

    #[test]
    fn the_snapshot_shares_values_until_the_parent_writes() {
        let mut live = dbs();
        let snapshot = live.clone();
        let at = |dbs: &[Db], k: &[u8]| dbs[0].get(k).map(|v| v as *const Value);
        assert_eq!(at(&live, b"k1"), at(&snapshot, b"k1"), "fork copies no value");
        if let Some(Value::String(s)) = live[0].get_mut(b"k1") {
            s.extend_from_slice(b"!");
        }
        assert_ne!(at(&live, b"k1"), at(&snapshot, b"k1"), "the first write copies the value");
        assert_eq!(at(&live, b"k2"), at(&snapshot, b"k2"), "the others stay shared");
        assert_eq!(snapshot[0].get(b"k1"), Some(&Value::String(b"value number 1 with some padding text".to_vec().into())));
        assert_eq!(live[0].remove(b"k2"), snapshot[0].get(b"k2").cloned(), "a removed shared value is the caller's copy");
        assert!(snapshot[0].contains(b"k2"));
    }

    #[test]
    fn empty_dataset() {
        let dbs: Vec<Db> = (0..16).map(Db::new).collect();
        let mut out = Vec::new();
        assert!(SnapshotWriter::new(Format::Rdb { aof_base: true }, 1795460544, 876768).step(&dbs, 3, &mut out));
        assert_eq!(out, crate::rdb::empty_base(1795460544, 876768));
    }
}
