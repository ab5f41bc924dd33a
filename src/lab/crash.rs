//! The crash lab: crashes of the simulated machine and restarts on what survived, with a report
//! of what was lost and why (per crash kind and policy); disk faults; `redis-check-aof`; and
//! export / import of the AOF directory, which are restarts on other files.
//!
//! What survives each crash is the simulated machine's business ([`crate::storage::machine`],
//! over whatever backend holds the files); this file only measures it (bytes in `aof_buf`, bytes only in the page cache, keys before and after)
//! and says why, with the sentences each `appendfsync` policy promises.

use super::{CrashReport, Lab, boot};
use crate::archive;
use crate::config::AppendFsync;
use crate::storage::Crash;

impl Lab {
    pub(super) fn keys(&self) -> u64 {
        self.engine.srv.dbs.iter().map(|db| db.len() as u64).sum()
    }

    /// Injects a fault that is not a crash: `disk-full` (the disk holds what it has now and
    /// no byte more) or `fsync-error` (the next `n` fsyncs fail with EIO). `clear` undoes both.
    /// The simulated machine has these knobs whatever its backend (OPFS, IndexedDB, RAM).
    pub fn inject(&mut self, fault: &str, n: u32, now: i64) -> Result<(), String> {
        let Some(m) = self.engine.srv.storage.as_machine() else {
            return Err(format!("{fault}: only the simulated machine can be made to fail on purpose"));
        };
        let text = match fault {
            "disk-full" => {
                let used = m.bytes_used();
                *m.capacity() = Some(used);
                format!("disk full: the disk now holds {used} bytes and no more (writes fail with ENOSPC)")
            }
            "fsync-error" => {
                *m.failing_syncs() = n.max(1);
                format!("the next {} fsync(s) fail with EIO", n.max(1))
            }
            "clear" => {
                *m.capacity() = None;
                *m.failing_syncs() = 0;
                "faults cleared: the disk has room and fsync works".to_string()
            }
            other => return Err(format!("unknown fault '{other}' (disk-full, fsync-error, clear)")),
        };
        self.push(now, "crash", text, 0);
        Ok(())
    }

    /// Crashes and restarts on what survived. `kind`: `kill` (the process dies), `power` (the
    /// machine loses power: "lose the unsynced"), `torn` (a torn op: power goes out while the
    /// last file written was on its way to the disk, its last write half there), `torn-seq` (a
    /// torn sequence: only some of that file's unsynced writes reached the disk, not in order).
    /// The crash is applied to the backend's real files (RAM, OPFS, IndexedDB), so a reload
    /// afterwards finds the same survivors.
    pub fn crash(&mut self, kind: &str, now: i64) -> Result<&CrashReport, String> {
        // The seed of a torn sequence: the same inputs tear the same way.
        let Some(crash) = Crash::parse(kind, self.next_seq) else {
            return Err(format!("crash: unknown kind '{kind}' (kill, power, torn, torn-seq)"));
        };
        self.keep_runtime_config();
        let policy = self.config.appendfsync.name();
        let layers = self.file_layers().unwrap_or_default();
        let lost_aof_buf = if self.down.is_some() { 0 } else { self.engine.aof_buf().len() as u64 };
        let unsynced: u64 = layers.iter().map(|f| f.len - f.durable_len).sum();
        let keys_before = if self.down.is_some() { 0 } else { self.keys() };
        let rdb_changes = if self.down.is_some() { 0 } else { self.engine.srv.dirty };
        let lastsave = self.engine.srv.rdb.lastsave;
        let mut storage = self.engine.take_storage();
        let Some(machine) = storage.as_machine() else {
            self.engine.srv.storage = storage;
            return Err(format!("{kind}: the simulated crashes need the simulated machine"));
        };
        let target = machine.torn_target();
        let tail = target.as_deref().map_or(0, |t| machine.unsynced_bytes(t));
        let applied = machine.crash(&crash);
        let mut why = Vec::new();
        let through: u64 = match &applied {
            Ok(outcome) => outcome.torn.iter().flat_map(|(_, ranges)| ranges.iter().map(|r| r.1)).sum(),
            Err(_) => 0,
        };
        let lost_page_cache = match crash {
            Crash::ProcessKill => 0,
            _ => unsynced - through.min(unsynced),
        };
        why.push(match (&crash, target.as_deref()) {
            (Crash::ProcessKill, _) => format!(
                "The process died: aof_buf ({lost_aof_buf} bytes not yet written) was process memory and is gone. \
                 Every byte already written to a file was in the kernel's page cache, which outlives the process: \
                 it survives, synced or not."
            ),
            (Crash::PowerLoss, _) => format!(
                "Power loss (lose the unsynced): only fsynced bytes and fsynced directory entries survive. {lost_aof_buf} bytes in \
                 aof_buf and {unsynced} bytes in the page cache were not on disk."
            ),
            (Crash::TornOp | Crash::TornWrite { .. }, Some(name)) => format!(
                "Torn op: the power went out while the kernel was writing {name} back. Its unsynced writes reached the disk in \
                 order, but the last one only halfway: {through} of its {tail} unsynced bytes are on disk, the rest of the page \
                 cache ({} bytes) and aof_buf ({lost_aof_buf} bytes) are lost. The file ends in the middle of a command, which \
                 Redis reports as a truncated AOF (aof-load-truncated yes loads what precedes it).",
                unsynced - through.min(unsynced)
            ),
            (Crash::TornSequence { .. }, Some(name)) => format!(
                "Torn sequence: the power went out while the kernel was writing {name} back out of order. Some of its unsynced \
                 writes reached the disk ({through} of {tail} bytes) and some did not, so the file holds zeros where an earlier \
                 write should be, before bytes that did arrive. That is not a truncated tail: Redis stops at the first byte that \
                 is not a command (\"Bad file format\"), even with aof-load-truncated yes; redis-check-aof --fix can only cut \
                 the file at the hole, losing everything after it."
            ),
            (_, None) => format!(
                "Nothing was on its way to the disk, so the torn write is a plain power loss: {lost_aof_buf} bytes in aof_buf and \
                 {unsynced} bytes in the page cache were lost."
            ),
        });
        if let Err(e) = &applied {
            why.push(format!(
                "The backend failed while the files were cut back to what the disk held: {e}. The restart sees what is there."
            ));
        }
        let fsync_paused = self.engine.srv.config.no_appendfsync_on_rewrite && self.engine.srv.child_active();
        why.push(policy_promise(self.config.appendfsync, kind, lost_aof_buf, fsync_paused));
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
        let (engine, down, log) = boot(self.config.clone(), storage, now);
        self.engine = engine;
        self.down = down.clone();
        self.attach(log.clone(), now);
        let keys_after = if self.down.is_some() { 0 } else { self.keys() };
        // The restart read the AOF only: dump.rdb is as the crash left it.
        let (rdb_keys, rdb_age_s, rdb_text) = rdb_only_restart(
            self.engine.srv.storage.as_mut(),
            &self.config.dbfilename,
            self.config.databases,
            lastsave,
            rdb_changes,
            (keys_before, keys_after),
            now,
        );
        if down.is_some() {
            why.push(match crash {
                Crash::TornSequence { .. } => "redis-server refused to start on what survived (see its log): aof-load-truncated only forgives a file \
                    that ends early, not a hole in the middle. redis-check-aof --fix cuts the file where the hole starts; then it loads, without \
                    what came after the hole."
                    .into(),
                _ => "redis-server refused to start on what survived (see its log): a damaged AOF needs aof-load-truncated yes or redis-check-aof --fix."
                    .into(),
            });
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
            // A refused start's fatal lines are the log's last ones already.
            log,
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
/// it). `keys` = (before the crash, after the AOF restart: 0 when it refused to start).
/// Returns (its keys, or None without a file; its age in seconds; the sentence).
fn rdb_only_restart(
    storage: &mut dyn crate::storage::Storage,
    dbfilename: &str,
    databases: usize,
    lastsave: i64,
    changes: u64,
    (keys_before, keys_after): (u64, u64),
    now: i64,
) -> (Option<u64>, u64, String) {
    let Ok(bytes) = storage.read_all(dbfilename) else {
        let aof = match keys_after {
            0 if keys_before > 0 => " This time the AOF kept none of them either.".to_string(),
            0 => String::new(),
            k if k >= keys_before => " The AOF is what kept them.".to_string(),
            k => format!(" The AOF kept {k} of them."),
        };
        return (
            None,
            0,
            format!(
                "With RDB snapshots only (appendonly no), this restart would find no {dbfilename} and start empty: all {keys_before} \
                 keys lost.{aof}"
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

/// The guarantee of each policy for a crash of this kind (the sentences of `AppendFsync`), and
/// where this crash found it suspended: everysec's write postponed behind a slow fsync (the
/// acknowledged writes still in aof_buf, `lost_aof_buf`), always's fsync skipped while a
/// rewrite child runs under no-appendfsync-on-rewrite (`fsync_paused`).
fn policy_promise(policy: AppendFsync, kind: &str, lost_aof_buf: u64, fsync_paused: bool) -> String {
    let process_only = kind == "kill";
    match (policy, process_only) {
        (AppendFsync::EverySec, true) if lost_aof_buf > 0 => format!(
            "A process kill loses only aof_buf, and Redis normally writes it to the file before it sends the replies. But under \
             everysec, while the background fsync is slow, Redis postpones that write (up to 2 s) and still replies: the \
             {lost_aof_buf} bytes in aof_buf were acknowledged writes."
        ),
        (_, true) => "A process kill loses no acknowledged write under any policy: Redis writes aof_buf to the file before it sends \
                      the replies (beforeSleep), so only commands of an unfinished turn can be lost."
            .into(),
        (AppendFsync::Always, false) if fsync_paused => "appendfsync always, but no-appendfsync-on-rewrite yes and a rewrite child \
                                                          running: Redis skips the fsync while the child runs, so the replies went \
                                                          out after write() alone, and what was written since the rewrite began was \
                                                          only in the page cache."
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

impl CrashReport {
    /// The report as it reads without a clock: the restarted server's load times are 0.000
    /// ([`crate::load_time::untimed`]), as a replay of the crash, which measures its own, records
    /// them.
    pub fn untimed(&self) -> CrashReport {
        let log = self.log.iter().map(|l| crate::load_time::untimed(l).into_owned()).collect();
        CrashReport { log, ..self.clone() }
    }
}
