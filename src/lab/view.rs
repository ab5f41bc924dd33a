//! The lab's views as JSON for the page: one snapshot of everything it draws, and the event
//! stream since a cursor. A tiny writer, no serde: the views are flat and built a few times a
//! second at most.

use super::{CrashReport, Lab};
use crate::cmd::server::info::gen_info_string;

impl Lab {
    /// Everything the page draws, as one JSON object:
    /// `{backend, backend_notes, durability, policy, appendonly, mode ("7.0" | "6.2"), down, down_exited,
    /// aof_buf, files: [{name, kind, len, durable_len, durable_name}], manifest, info, load_log,
    /// rewrite, rdb, faults, crash, machine}`. `machine` is the write path for the diagram
    /// (`machine_view.rs`); `crash` has `lost_writes`, `prediction`, `reveal` after a crash made
    /// through [`Lab::crash_and_reveal`]. File kinds: `base`, `incr`, `history`, `manifest`, `temp`,
    /// `rdb` (dump.rdb), `aof` (6.2's single file), `other`.
    /// `durable_len` is null where the backend cannot tell (a real browser disk).
    pub fn snapshot(&mut self) -> String {
        let mut j = Json::object();
        j.str("backend", &self.backend);
        j.strs("backend_notes", &self.backend_notes);
        j.str("durability", &self.durability);
        j.str("policy", self.engine.srv.config.appendfsync.name());
        j.bool("appendonly", self.engine.srv.config.appendonly);
        j.str("mode", if self.engine.srv.config.aof_legacy { "6.2" } else { "7.0" });
        match &self.down {
            Some(lines) => j.strs("down", lines),
            None => j.raw("down", "null"),
        }
        // Down because it exited (a write or fsync error under always), not a refused start.
        j.bool("down_exited", self.down.is_some() && self.engine.exited().is_some());
        j.num("aof_buf", self.engine.aof_buf().len() as u64);
        j.str("incr", self.engine.srv.aof.incr_path.as_deref().unwrap_or(""));
        let (manifest, manifest_text) = self.manifest();
        let legacy = self.engine.srv.config.aof_legacy;
        let dbfilename = self.engine.srv.config.dbfilename.clone();
        let appendfilename = self.config.appendfilename.clone();
        let kind_of = |name: &str| file_kind(name, &manifest, legacy, &dbfilename, &appendfilename);
        let mut files = Vec::new();
        let storage = self.engine.srv.storage.as_ref();
        match storage.machine_layers() {
            Some(layers) => {
                for f in layers {
                    let mut o = Json::object();
                    o.str("name", &f.name);
                    o.str("kind", kind_of(&f.name));
                    o.num("len", f.len);
                    o.num("durable_len", f.durable_len);
                    o.bool("durable_name", f.durable_name);
                    files.push(o.end());
                }
            }
            None => {
                for name in storage.list(None).unwrap_or_default() {
                    let mut o = Json::object();
                    o.str("name", &name);
                    o.str("kind", kind_of(&name));
                    o.num("len", storage.len(&name).unwrap_or(0));
                    o.raw("durable_len", "null");
                    o.raw("durable_name", "null");
                    files.push(o.end());
                }
            }
        }
        j.raw("files", &format!("[{}]", files.join(",")));
        j.str("manifest", &manifest_text);
        j.str("info", &gen_info_string(&self.engine.srv, &[b"persistence"]));
        j.strs("load_log", &self.load_log);
        j.raw("rewrite", &self.rewrite_json());
        j.raw("rdb", &self.rdb_json());
        let mut faults = Json::object();
        if let Some(m) = self.engine.srv.storage.as_machine() {
            match *m.capacity() {
                Some(c) => faults.num("capacity", c),
                None => faults.raw("capacity", "null"),
            }
            faults.num("failing_syncs", u64::from(*m.failing_syncs()));
            match *m.writeback_ms() {
                Some(w) => faults.num("writeback_ms", w.max(0) as u64),
                None => faults.raw("writeback_ms", "null"),
            }
            match m.next_writeback_ms() {
                Some(t) => faults.num("next_writeback_ms", t.max(0) as u64),
                None => faults.raw("next_writeback_ms", "null"),
            }
        }
        j.raw("faults", &faults.end());
        match self.engine.srv.aof.write_error() {
            Some(e) => j.str("write_error", e.strerror()),
            None => j.raw("write_error", "null"),
        }
        j.num("keys", if self.down.is_some() { 0 } else { self.keys() });
        match &self.last_crash {
            Some(c) => j.raw("crash", &self.with_lost_writes(crash_json(c), c)),
            None => j.raw("crash", "null"),
        }
        j.raw("machine", &self.machine_json());
        j.end()
    }

    /// What a file of the lab's `dir` is, by the manifest in force (see [`file_kind`]).
    pub(super) fn file_kind(&self, name: &str) -> &'static str {
        let config = &self.engine.srv.config;
        file_kind(name, &self.engine.srv.aof.manifest, config.aof_legacy, &config.dbfilename, &self.config.appendfilename)
    }

    /// The manifest in force and its text on disk. A server that refused to start never adopted
    /// the manifest: then the one on disk.
    pub(crate) fn manifest(&mut self) -> (crate::aof::AofManifest, String) {
        let path = crate::storage::join(&self.config.appenddirname, &format!("{}.manifest", self.config.appendfilename));
        let text = self.engine.srv.storage.read_all(&path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let manifest = if self.engine.srv.aof.manifest.is_empty() {
            crate::aof::AofManifest::parse(text.as_bytes()).unwrap_or_default()
        } else {
            self.engine.srv.aof.manifest.clone()
        };
        (manifest, text)
    }

    /// The rewrite: `{in_progress, scheduled, rewrites, last_failed, keys_per_tick, pid, tmp,
    /// tmp_len, keys_processed, keys_total, cow_bytes, snapshot_keys, rewrite_buffer_length,
    /// diff_len, phase}`. `phase` is 6.2's child phase (`snapshot`, `finishing`, `exited`) or `""`.
    fn rewrite_json(&self) -> String {
        let srv = &self.engine.srv;
        let aof = &srv.aof;
        let child = aof.child.as_ref();
        let mut rw = Json::object();
        rw.bool("in_progress", child.is_some());
        rw.bool("scheduled", aof.rewrite_scheduled);
        rw.num("rewrites", aof.rewrites);
        rw.bool("last_failed", aof.last_bgrewrite_failed);
        rw.num("keys_per_tick", srv.config.lab_rewrite_keys_per_tick as u64);
        child_fields(&mut rw, child, srv.storage.as_ref());
        rw.num("snapshot_keys", child.map_or(0, |c| c.keys_total));
        rw.num("rewrite_buffer_length", srv.aof_rewrite_buffer_length());
        // 6.2: what the parent already handed the child through the pipe (its diff).
        rw.num("diff_len", aof.legacy.child.as_ref().map_or(0, |c| c.diff.len() as u64));
        let phase = match aof.legacy.child.as_ref().map(|c| c.phase) {
            Some(crate::aof::legacy::ChildPhase::WritingSnapshot) => "snapshot",
            Some(crate::aof::legacy::ChildPhase::Finishing) => "finishing",
            Some(crate::aof::legacy::ChildPhase::Exited(_)) => "exited",
            None => "",
        };
        rw.str("phase", phase);
        rw.end()
    }

    /// RDB snapshots: `{in_progress, pid, tmp, tmp_len, keys_processed, keys_total, cow_bytes,
    /// scheduled, saves, lastsave, changes, last_bgsave_ok, save_points: [[seconds, changes]],
    /// dbfilename, exists, ignored_at_start}`. `ignored_at_start`: the AOF is on, so a restart
    /// will not read dump.rdb (Redis loads the AOF only).
    fn rdb_json(&self) -> String {
        let srv = &self.engine.srv;
        let rdb = &srv.rdb;
        let mut o = Json::object();
        o.bool("in_progress", rdb.child.is_some());
        child_fields(&mut o, rdb.child.as_ref(), srv.storage.as_ref());
        o.bool("scheduled", rdb.bgsave_scheduled);
        o.num("saves", rdb.saves);
        o.num("lastsave", rdb.lastsave.max(0) as u64);
        o.num("changes", srv.dirty);
        o.bool("last_bgsave_ok", rdb.lastbgsave_ok);
        let points: Vec<String> =
            crate::rdb::save::save_params(&srv.config.save).iter().map(|(s, c)| format!("[{},{}]", s.max(&0), c)).collect();
        o.raw("save_points", &format!("[{}]", points.join(",")));
        o.str("dbfilename", &srv.config.dbfilename);
        let exists = srv.storage.exists(&srv.config.dbfilename);
        o.bool("exists", exists);
        o.bool("ignored_at_start", exists && srv.config.appendonly);
        o.end()
    }

    /// `{next, events: [{seq, t, kind, text, bytes, file?, offset?}]}` for events after `since`
    /// (`file`, `offset`: where a `write` event's bytes went).
    pub fn events_json(&self, since: u64) -> String {
        let (events, next) = self.events_since(since);
        let items: Vec<String> = events
            .iter()
            .map(|e| {
                let mut o = Json::object();
                o.num("seq", e.seq);
                o.num("t", e.time_ms.max(0) as u64);
                o.str("kind", e.kind);
                o.str("text", &e.text);
                o.num("bytes", e.bytes);
                if let Some((file, offset)) = &e.at {
                    o.str("file", file);
                    o.num("offset", *offset);
                }
                o.end()
            })
            .collect();
        format!("{{\"next\":{next},\"events\":[{}]}}", items.join(","))
    }
}

/// What a file of `dir` is: `base`, `incr`, `history` (named by `manifest`), `manifest`,
/// `temp`, `rdb` (dump.rdb), `aof` (6.2's single file, `legacy`), `other`.
pub(crate) fn file_kind(
    name: &str,
    manifest: &crate::aof::AofManifest,
    legacy: bool,
    dbfilename: &str,
    appendfilename: &str,
) -> &'static str {
    let base = name.rsplit('/').next().unwrap_or(name);
    if name == dbfilename {
        return "rdb";
    }
    // 6.2's single file lives in `dir` itself (7.0 upgrades such a file at start).
    if legacy && name == appendfilename {
        return "aof";
    }
    if base.ends_with(".manifest") {
        return "manifest";
    }
    if base.starts_with("temp-") {
        return "temp";
    }
    if manifest.base.as_ref().is_some_and(|b| b.file_name == base) {
        return "base";
    }
    if manifest.incr.iter().any(|i| i.file_name == base) {
        return "incr";
    }
    if manifest.history.iter().any(|i| i.file_name == base) {
        return "history";
    }
    "other"
}

/// A child's progress: `pid`, `tmp` (its temp file), `tmp_len`, `keys_processed`, `keys_total`,
/// `cow_bytes` (zeros and `""` when none runs).
fn child_fields(o: &mut Json, child: Option<&crate::child::SnapshotChild>, storage: &dyn crate::storage::Storage) {
    o.num("pid", child.map_or(0, |c| u64::from(c.pid)));
    o.str("tmp", child.map_or("", |c| c.tmp.as_str()));
    o.num("tmp_len", child.map_or(0, |c| storage.len(&c.tmp).unwrap_or(c.written)));
    o.num("keys_processed", child.map_or(0, |c| c.writer.keys_processed));
    o.num("keys_total", child.map_or(0, |c| c.keys_total));
    o.num("cow_bytes", child.map_or(0, |c| c.cow_bytes()));
}

fn crash_json(c: &CrashReport) -> String {
    let mut o = Json::object();
    o.str("kind", &c.kind);
    o.str("policy", c.policy);
    o.num("lost_aof_buf", c.lost_aof_buf);
    o.num("lost_page_cache", c.lost_page_cache);
    o.num("keys_before", c.keys_before);
    o.num("keys_after", c.keys_after);
    o.strs("why", &c.why);
    o.strs("log", &c.log);
    o.bool("started", c.started);
    match c.rdb_keys {
        Some(k) => o.num("rdb_keys", k),
        None => o.raw("rdb_keys", "null"),
    }
    o.num("rdb_changes", c.rdb_changes);
    o.num("rdb_age_s", c.rdb_age_s);
    o.str("rdb_text", &c.rdb_text);
    o.end()
}

impl Lab {
    /// The simulated machine's files as JSON, `[{name, len, durable_len, durable_name}]`: `len`
    /// is what a process reads (page cache), `durable_len` what a power loss now would leave.
    pub fn layers_json(&self) -> String {
        let layers = self.engine.srv.storage.machine_layers().unwrap_or_default();
        let items: Vec<String> = layers
            .iter()
            .map(|f| {
                let mut o = Json::object();
                o.str("name", &f.name);
                o.num("len", f.len);
                o.num("durable_len", f.durable_len);
                o.bool("durable_name", f.durable_name);
                o.end()
            })
            .collect();
        format!("[{}]", items.join(","))
    }
}

/// A tiny JSON object writer (the views are flat; no serde on this path).
pub(super) struct Json {
    out: String,
    first: bool,
}

impl Json {
    pub(super) fn object() -> Json {
        Json { out: "{".into(), first: true }
    }
    pub(super) fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str(&json_string(k));
        self.out.push(':');
    }
    pub(super) fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push_str(&json_string(v));
    }
    pub(super) fn strs(&mut self, k: &str, v: &[String]) {
        self.key(k);
        let items: Vec<String> = v.iter().map(|s| json_string(s)).collect();
        self.out.push_str(&format!("[{}]", items.join(",")));
    }
    pub(super) fn num(&mut self, k: &str, v: u64) {
        self.key(k);
        self.out.push_str(&v.to_string());
    }
    pub(super) fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
    }
    pub(super) fn raw(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push_str(v);
    }
    pub(super) fn end(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// A JSON string literal (control characters and non-UTF-8 escaped).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
