//! The crash lab: crashes of the simulated machine and restarts on what survived, with a report
//! of what was lost and why (per crash kind and policy); disk faults; `redis-check-aof`; and
//! export / import of the AOF directory, which are restarts on other files.
//!
//! What survives each crash is the storage's business ([`crate::storage::memory`]); this file
//! only measures it (bytes in `aof_buf`, bytes only in the page cache, keys before and after)
//! and says why, with the sentences each `appendfsync` policy promises.

use super::{CrashReport, Lab, boot};
use crate::archive;
use crate::config::AppendFsync;

impl Lab {
    pub(super) fn keys(&self) -> u64 {
        self.engine.srv.dbs.iter().map(|db| db.len() as u64).sum()
    }

    /// Injects a fault that is not a crash: `disk-full` (the disk holds what it has now and
    /// no byte more) or `fsync-error` (the next `n` fsyncs fail with EIO). `clear` undoes both.
    /// Only the simulated machine has these knobs.
    pub fn inject(&mut self, fault: &str, n: u32, now: i64) -> Result<(), String> {
        let Some(m) = self.engine.srv.storage.as_memory() else {
            return Err(format!("{fault}: only the simulated disk (memory backend) can be made to fail on purpose"));
        };
        let text = match fault {
            "disk-full" => {
                let used: u64 = m.layers().iter().map(|f| f.len).sum();
                m.capacity = Some(used);
                format!("disk full: the disk now holds {used} bytes and no more (writes fail with ENOSPC)")
            }
            "fsync-error" => {
                m.failing_syncs = n.max(1);
                format!("the next {} fsync(s) fail with EIO", n.max(1))
            }
            "clear" => {
                m.capacity = None;
                m.failing_syncs = 0;
                "faults cleared: the disk has room and fsync works".to_string()
            }
            other => return Err(format!("unknown fault '{other}' (disk-full, fsync-error, clear)")),
        };
        self.push(now, "crash", text, 0);
        Ok(())
    }

    /// Crashes and restarts on what survived. `kind`: `kill` (process dies), `power` (machine
    /// loses power), `torn` (power loss while the incr file's unsynced tail was half on its way
    /// to the disk). Only on the simulated machine (memory backend).
    pub fn crash(&mut self, kind: &str, now: i64) -> Result<&CrashReport, String> {
        self.keep_runtime_config();
        if self.engine.srv.storage.as_memory().is_none() {
            // A browser backend keeps what it keeps for real (IndexedDB even loses unsynced bytes
            // on a kill, unlike a kernel): only a real crash tells the truth there.
            return Err(format!(
                "{kind}: the simulated crashes need the simulated machine (memory backend); on {}, terminate the worker: a real crash",
                self.backend
            ));
        }
        let policy = self.config.appendfsync.name();
        let layers = self.engine.srv.storage.as_memory().map(|m| m.layers()).unwrap_or_default();
        let lost_aof_buf = if self.down.is_some() { 0 } else { self.engine.aof_buf().len() as u64 };
        let unsynced: u64 = layers.iter().map(|f| f.len - f.durable_len).sum();
        let incr = self.engine.srv.aof.incr_path.clone();
        let keys_before = if self.down.is_some() { 0 } else { self.keys() };
        let rdb_changes = if self.down.is_some() { 0 } else { self.engine.srv.dirty };
        let lastsave = self.engine.srv.rdb.lastsave;
        let mut storage = self.engine.take_storage();
        let mut why = Vec::new();
        let lost_page_cache;
        match kind {
            "kill" => {
                lost_page_cache = 0;
                why.push(format!(
                    "The process died: aof_buf ({lost_aof_buf} bytes not yet written) was process memory and is gone. \
                     Every byte already written to a file was in the kernel's page cache, which outlives the process: \
                     it survives, synced or not."
                ));
            }
            "power" | "torn" => {
                let Some(m) = storage.as_memory() else {
                    self.engine.srv.storage = storage;
                    return Err(format!(
                        "{kind}: only the simulated machine (memory backend) can lose power; the browser's storage is the real disk"
                    ));
                };
                if kind == "torn" {
                    let name = incr.clone().unwrap_or_default();
                    let tail = m.unsynced_bytes(&name) as usize;
                    m.torn_write(&name, tail / 2);
                    lost_page_cache = unsynced - (tail / 2) as u64;
                    why.push(format!(
                        "Power went out while the kernel was writing {name} back: {} of its {tail} unsynced bytes reached the disk, \
                         the rest did not. The file ends in the middle of a command, which Redis reports as a truncated AOF.",
                        tail / 2
                    ));
                } else {
                    m.power_loss();
                    lost_page_cache = unsynced;
                }
                why.push(format!(
                    "Power loss: only fsynced bytes and fsynced directory entries survive. {lost_aof_buf} bytes in aof_buf and \
                     {unsynced} bytes in the page cache were not on disk."
                ));
            }
            other => {
                self.engine.srv.storage = storage;
                return Err(format!("crash: unknown kind '{other}' (kill, power, torn)"));
            }
        }
        why.push(policy_promise(self.config.appendfsync, kind));
        // 6.2 never fsyncs `dir`: a file it created, or renamed into place at the end of a
        // rewrite, has a name only the page cache knows until something else syncs the directory.
        let legacy_name = self.config.appendfilename.clone();
        if self.config.aof_legacy && kind != "kill" && layers.iter().any(|f| f.name == legacy_name && !f.durable_name) {
            why.push(format!(
                "Redis 6.2 never fsyncs its directory: the entry of {legacy_name} (created at start, or renamed over the old file by \
                 the last rewrite) was not on disk, so the power loss took the name with it, fsynced bytes included. Redis 7.0 fsyncs \
                 appendonlydir after creating or renaming a file. (A strict model of the disk: ext4 usually persists a new entry \
                 with the file's fsync.)"
            ));
        }
        self.push(now, "crash", format!("crash: {kind} ({policy})"), lost_aof_buf + lost_page_cache);
        let (rdb_keys, rdb_age_s, rdb_text) =
            rdb_only_restart(storage.as_mut(), &self.config.dbfilename, self.config.databases, lastsave, rdb_changes, keys_before, now);
        let (engine, down, log) = boot(self.config.clone(), storage, now);
        self.engine = engine;
        self.down = down.clone();
        self.attach(log.clone(), now);
        let keys_after = if self.down.is_some() { 0 } else { self.keys() };
        if down.is_some() {
            why.push("redis-server refused to start on what survived (see its log): a damaged AOF needs aof-load-truncated yes or redis-check-aof --fix.".into());
        }
        self.push(now, "restart", if down.is_some() { "restart refused".into() } else { format!("restarted: {keys_after} keys") }, 0);
        let report = CrashReport {
            kind: kind.to_string(),
            policy,
            lost_aof_buf,
            lost_page_cache,
            keys_before,
            keys_after,
            why,
            log: match &down {
                Some(fatal) => log.iter().chain(fatal).cloned().collect(),
                None => log,
            },
            started: down.is_none(),
            rdb_keys,
            rdb_changes,
            rdb_age_s,
            rdb_text,
        };
        Ok(self.last_crash.insert(report))
    }

    /// Restarts on the same storage, with settings changed (e.g. `aof-load-truncated yes` after
    /// a refused start). Returns whether it started.
    pub fn restart(&mut self, settings: &[(String, String)], now: i64) -> Result<bool, String> {
        self.keep_runtime_config();
        for (k, v) in settings {
            self.config.set(k, v, true).map_err(|e| format!("{k}: {e}"))?;
        }
        let storage = self.engine.take_storage();
        let (engine, down, log) = boot(self.config.clone(), storage, now);
        self.engine = engine;
        let started = down.is_none();
        self.down = down;
        self.attach(log, now);
        self.push(now, "restart", if started { "restarted".into() } else { "restart refused".into() }, 0);
        Ok(started)
    }

    /// `redis-check-aof [--fix]` on the manifest, as the real tool prints it.
    pub fn check_aof(&mut self, fix: bool) -> (String, i32) {
        let path = crate::storage::join(&self.config.appenddirname, &format!("{}.manifest", self.config.appendfilename));
        let mode = if fix { crate::aof::check::Mode::Fix } else { crate::aof::check::Mode::Check };
        let report = crate::aof::check::check(self.engine.srv.storage.as_mut(), &path, mode, &mut |_| true);
        (report.output, report.exit_code)
    }

    // ----- export / import -----

    /// The AOF directory as a ustar archive (what `tar -cf` of `appendonlydir` gives). The
    /// turn's flush already ran, so it holds every acknowledged write (page cache included).
    /// In the 6.2 mode it holds the one `appendonly.aof` (which a 7.0 server upgrades at start).
    pub fn export(&mut self, now: i64) -> Result<Vec<u8>, String> {
        let mtime = (now / 1000).max(0) as u64;
        if self.engine.srv.config.aof_legacy {
            let name = self.config.appendfilename.clone();
            let data = self.engine.srv.storage.read_all(&name).map_err(|e| format!("{name}: {e}"))?;
            return archive::write(&[archive::Entry::file(name, data)], mtime);
        }
        let dir = self.config.appenddirname.clone();
        archive::export_aof_dir(self.engine.srv.storage.as_mut(), &dir, mtime)
    }

    /// Replaces the files by `files` (path → bytes) and restarts on them (the load log tells
    /// what the server made of them). Returns whether it started.
    pub fn import(&mut self, files: &[(String, Vec<u8>)], now: i64) -> Result<bool, String> {
        let dir = self.config.appenddirname.clone();
        let written = match archive::import_files_staged(self.engine.srv.storage.as_mut(), files, &dir) {
            Ok(w) => w,
            // The previous files are intact: the server keeps running on them.
            Err(e) if !e.touched => return Err(e.message),
            Err(e) => {
                // The swap stopped part-way: the files the server had open may be gone. Restart
                // on what is there (the load log says what it made of it).
                self.push(now, "import", format!("import failed part-way: {}", e.message), 0);
                self.restart(&[], now)?;
                return Err(e.message);
            }
        };
        self.push(now, "import", format!("imported {}", written.join(", ")), files.iter().map(|f| f.1.len() as u64).sum());
        if !self.config.appendonly {
            self.config.appendonly = true;
        }
        self.restart(&[], now)
    }

    /// An archive (or a single file, when it is not one) to import.
    pub fn import_archive(&mut self, name: &str, bytes: &[u8], now: i64) -> Result<bool, String> {
        let looks_like_tar = bytes.get(257..262) == Some(b"ustar") || name.ends_with(".tar");
        let files = if looks_like_tar {
            archive::read(bytes)?.into_iter().filter(|e| !e.is_dir).map(|e| (e.path, e.data)).collect()
        } else {
            vec![(name.to_string(), bytes.to_vec())]
        };
        self.import(&files, now)
    }
}

/// What an RDB-only server (`appendonly no`) would have restarted with after this crash: the
/// dump.rdb that survived (renamed into place and its directory fsynced, so a power loss keeps
/// it). Returns (its keys, or None without a file; its age in seconds; the sentence).
fn rdb_only_restart(
    storage: &mut dyn crate::storage::Storage,
    dbfilename: &str,
    databases: usize,
    lastsave: i64,
    changes: u64,
    keys_before: u64,
    now: i64,
) -> (Option<u64>, u64, String) {
    let Ok(bytes) = storage.read_all(dbfilename) else {
        return (
            None,
            0,
            format!(
                "With RDB snapshots only (appendonly no), this restart would find no {dbfilename} and start empty: all {keys_before} \
                 keys lost. The AOF is what kept them."
            ),
        );
    };
    let mut dbs: Vec<crate::keyspace::Db> = (0..databases).map(crate::keyspace::Db::new).collect();
    let keys = match crate::rdb::read_rdb(&bytes, &mut dbs) {
        Ok(_) => dbs.iter().map(|d| d.len() as u64).sum(),
        Err(e) => return (None, 0, format!("With RDB snapshots only, this restart would refuse the damaged {dbfilename}: {e}")),
    };
    let age = (now.div_euclid(1000) - lastsave).max(0) as u64;
    let text = format!(
        "With RDB snapshots only (appendonly no), this restart would load {dbfilename} as saved {age} s before the crash: {keys} keys, \
         and the {changes} change(s) made since that save would be lost, whatever the crash kind. The AOF records every write; \
         the snapshot only what existed at its last save."
    );
    (Some(keys), age, text)
}

/// The guarantee of each policy for a crash of this kind (the sentences of `AppendFsync`).
fn policy_promise(policy: AppendFsync, kind: &str) -> String {
    let process_only = kind == "kill";
    match (policy, process_only) {
        (_, true) => "A process kill loses no acknowledged write under any policy: Redis writes aof_buf to the file before it sends \
                      the replies (beforeSleep), so only commands of an unfinished turn can be lost."
            .into(),
        (AppendFsync::Always, false) => "appendfsync always: every reply was sent after its bytes were fsynced, so no acknowledged \
                                         write is lost; only the turn in progress can be."
            .into(),
        (AppendFsync::EverySec, false) => "appendfsync everysec: the background fsync runs about once a second, so the last second \
                                           of acknowledged writes (up to 2 s when an fsync is slow) can be lost."
            .into(),
        (AppendFsync::No, false) => "appendfsync no: Redis never fsyncs; the kernel writes dirty pages back when it likes (here after \
                                     30 s), so that much acknowledged data can be lost."
            .into(),
    }
}
