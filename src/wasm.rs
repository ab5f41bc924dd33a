//! The browser's door into the engine: the only file with `#[wasm_bindgen]`.
//!
//! A thin, coarse facade over [`crate::lab::session::Session`] (a [`crate::lab::Lab`] whose every
//! input is recorded on a [`crate::lab::timeline::Timeline`]; both are tested natively): one
//! long-lived object, a few calls that each do a batch of work, bytes and strings (JSON for the
//! views) across the boundary and nothing per key. It lives in a module Web Worker
//! (`www/worker.js`), which owns it; the page only exchanges messages with that worker.
//!
//! * `Engine.open({backend, namespace, config}, now)` picks the storage down the ladder
//!   OPFS → IndexedDB → memory and records why each step down happened (the ladder, the notes
//!   and what each backend promises are [`crate::lab::backend`]'s; opening a browser backend is
//!   [`crate::storage::browser`]'s); `new Engine(config, now)` is the memory machine at once.
//! * the **console** (`execute_line`, `execute_batch`): command lines in, redis-cli's rendering
//!   out (`"v"`, `(integer) 1`, `(nil)`, `1) "a"`, `(error) ERR …`); the **wire**
//!   (`execute_resp`): RESP bytes in and out, like a socket;
//! * `tick(now)`: serverCron; `events(since)`, `snapshot()`: the views, as JSON;
//! * `crash`, `crash_predicted`, `inject`, `restart`, `check_aof`: the crash lab; `export_tar`,
//!   `import`: files; `set_rewrite_speed`: how many keys the simulated rewrite / BGSAVE child
//!   writes per tick; `set_fsync_latency`: how long the simulated background fsync takes.
//! * the AOF design is a start-up setting: `config: {"lab-aof-mode": "6.2"}` runs Redis 6.2's
//!   single `appendonly.aof` with its rewrite buffer (`snapshot().mode`).
//! * `durable()`: a promise that resolves when the turn's bytes are as durable as the backend can
//!   make them (IndexedDB: the transaction has committed); under `appendfsync always` the worker
//!   releases no reply before it.
//! * **the timeline**: every call above that changes the lab is an input, recorded. `advance(now)`
//!   lets simulated time run (serverCron every 100 ms; in the past, the recorded future replays);
//!   `step()`, `step_back()`, `seek(seq)`, `seek_time(t)`, `live()` move; `position()`,
//!   `head()`, `marks_json(since)`, `branches_json()`, `console_json(n)` tell where; views
//!   (`snapshot`, `events`, `files`) are those of the lab at the position, and an input given in
//!   the past forks (`take_fork()` names the branch that keeps the later history; on OPFS and
//!   IndexedDB the real files are rewritten to that point, which becomes the present);
//!   `switch_branch`, `discard_branch`; `recording()` and `Engine.from_recording(bytes, options)`
//!   for share links (`replay()` says whether the state digest matched).
//!
//! * **programs** (Node, a host page's own code): `call(command, now?)` runs one command on the
//!   wire connection and returns the reply as a JS value beside redis-cli's rendering; bad
//!   arguments throw a `TypeError`-like error naming the argument (a `Blob` where bytes are
//!   expected, a missing `now`), before anything changes.
//!
//! Time is an argument of every call: the worker's simulated clock (derived from `Date.now()`,
//! paused or sped up); the engine never reads a clock.

use wasm_bindgen::prelude::*;

/// talc rather than the standard library's dlmalloc: an AOF load allocates per element and frees
/// per command (BENCHMARKS.md, "Loading an AOF"); single-threaded, growing the wasm memory as
/// needed.
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use crate::AppendFsync;
use crate::lab::Host;
use crate::lab::backend::{self, Backend, Fall};
use crate::lab::session::{Advance, Replay, Session};
use crate::storage::browser::{self, Opened};
use crate::storage::idb::IdbDurability;
use crate::storage::opfs::OpfsPool;
use crate::storage::tee::shared;

/// The engine as JavaScript sees it.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    session: Session,
    namespace: String,
    /// The OPFS pool's handle (topped up between turns).
    opfs_pool: Option<OpfsPool>,
    /// IndexedDB's commit promise: under `always`, no reply before it resolves.
    idb: Option<IdbDurability>,
    /// How a replayed recording compared with the one shared.
    replay: Option<Replay>,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// `config`: `undefined`, an object or a JSON string of redis.conf settings, such as
    /// `{appendonly: true, appendfsync: "always"}` (booleans mean yes/no). Throws on an unknown
    /// setting or a bad value, with Redis's reason. The files live on the simulated machine.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, now: f64) -> Result<WasmEngine, JsError> {
        console_error_panic_hook::set_once();
        let now = time_arg("new Engine(config, now)", now)? as f64;
        let settings = parse_settings(config)?;
        let session = Session::memory(&settings, now as u64, now as i64, timed(Host::default())).map_err(|e| JsError::new(&e))?;
        if let Some(lines) = session.lab().is_down() {
            return Err(JsError::new(&lines.join("\n")));
        }
        Ok(WasmEngine::with(session, String::new()))
    }

    fn with(session: Session, namespace: String) -> WasmEngine {
        WasmEngine { session, namespace, opfs_pool: None, idb: None, replay: None }
    }

    /// `options`: `{backend: "auto"|"opfs"|"indexeddb"|"memory", namespace, config, seed,
    /// fallback}`. Resolves to an engine started on the first backend of the ladder that opens (a
    /// start refused by a damaged AOF still resolves: `snapshot().down` holds Redis's fatal
    /// lines). `seed` drives the random choices of the recording (default: from `now`).
    /// `fallback: false` keeps to the backend asked for (`auto`: OPFS, then IndexedDB, never
    /// memory) and rejects with the reasons when it cannot open, instead of stepping down the
    /// ladder to the memory machine. An unknown option or a value of the wrong type rejects.
    pub async fn open(options: JsValue, now: f64) -> Result<WasmEngine, JsError> {
        console_error_panic_hook::set_once();
        let now = time_arg("Engine.open(options, now)", now)?;
        let open = Options::read(&options)?;
        let settings = parse_settings(open.config)?;
        let seed = open.seed.map_or(now as u64, |s| s as u64);
        let ladder = backend::ladder(&open.backend, open.fallback).map_err(|e| JsError::new(&format!("Engine.open: {e}")))?;
        let namespace = open.namespace;
        let started = backend::climb(ladder, async |step, notes: &[String]| {
            let host = timed(Host { backend_notes: notes.to_vec(), ..Host::default() });
            let opened = match step {
                Backend::Memory => {
                    let session = Session::memory(&settings, seed, now, host).map_err(Fall::Fatal)?;
                    return Ok(WasmEngine::with(session, namespace.clone()));
                }
                Backend::Opfs => browser::open_opfs(&namespace).await,
                Backend::IndexedDb => browser::open_indexeddb(&namespace).await,
            };
            let Opened { storage, opfs_pool, idb } = opened.map_err(Fall::Down)?;
            // The simulated machine (page cache, disk, crashes) over a RAM mirror of the backend:
            // the timeline copies the present as it copies the past.
            let host = Host { durability: Some(step.durability().into()), ..host };
            let session = Session::on_backend(shared(storage), &settings, seed, now, host).map_err(Fall::Down)?;
            Ok(WasmEngine { opfs_pool, idb, ..WasmEngine::with(session, namespace.clone()) })
        })
        .await;
        started.map_err(|fall| match fall {
            Fall::Down(notes) => {
                JsError::new(&format!("Engine.open: the {} backend did not open and fallback is false: {notes}", open.backend))
            }
            Fall::Fatal(reason) => JsError::new(&reason),
        })
    }

    /// Deletes every file of a namespace on a browser backend ("start over"). The engine open
    /// on it must be freed first (`engine.free()`), as a process must exit before its `dir` is
    /// removed; deleting a namespace that does not exist is not an error.
    pub async fn delete_namespace(backend: String, namespace: String) -> Result<(), JsError> {
        crate::storage::browser::delete_namespace(&backend, &namespace).await.map_err(|e| JsError::new(&e.message))
    }

    /// The storage namespace this engine was opened on.
    pub fn namespace(&self) -> String {
        self.namespace.clone()
    }

    /// `"opfs"`, `"indexeddb"` or `"memory"`.
    pub fn backend(&self) -> String {
        self.session.lab().backend.clone()
    }

    /// Why the backends above the one in use were not used (one line each).
    pub fn backend_notes(&self) -> Vec<String> {
        self.session.lab().backend_notes.clone()
    }

    /// The simulated machine's files as JSON: `[{name, len, durable_len, durable_name}]`, where
    /// `len` is what a process reads (page cache) and `durable_len` what would survive a power
    /// loss now.
    pub fn files(&mut self) -> String {
        self.session.lab().layers_json()
    }

    /// Crashes and starts a new engine on what survived, like a restarted redis-server, on
    /// every backend (the crash cuts the real OPFS / IndexedDB files back to what the simulated
    /// disk holds). `kind`: `"kill"` (`aof_buf` is lost, the page cache is kept), `"power"`
    /// (only synced bytes and synced directory entries survive), `"torn"` (a torn op: the last
    /// write only half on disk), `"torn-seq"` (a torn sequence: some unsynced writes on disk,
    /// some not, out of order). Returns the new engine's start-up log; throws with Redis's fatal
    /// lines if it refused to start (then `restart` with other settings). The report (what was
    /// lost and why) is `snapshot().crash`.
    pub fn crash(&mut self, kind: &str, now: f64) -> Result<Vec<String>, JsError> {
        self.crash_predicted(kind, JsValue::UNDEFINED, now)
    }

    /// [`WasmEngine::crash`] after a prediction (`{writes: [seq], survive: 'all'|'some'|'none',
    /// keys: 'all'|'fewer'|'none', refused: bool}`, each optional; `undefined` when skipped):
    /// `snapshot().crash` then has `lost_writes` (what the diagram's "lost if" named just
    /// before), `prediction` and `reveal` (`{rows, writes, sentence}`). On the timeline the
    /// prediction is an input of its own (a `predict` mark), then the crash.
    pub fn crash_predicted(&mut self, kind: &str, prediction: JsValue, now: f64) -> Result<Vec<String>, JsError> {
        if let Some(p) = parse_prediction(&prediction) {
            self.session.predict(&crate::lab::input::crash_prediction_payload(&p), now as i64);
        }
        let report = self.session.crash(kind, now as i64).map_err(|e| JsError::new(&e))?;
        if report.started { Ok(report.log.clone()) } else { Err(JsError::new(&report.log.join("\n"))) }
    }

    /// How long the simulated background fsync takes (a slow disk, 0 … 3000 ms on the page):
    /// `lab-fsync-latency-ms`; kept across restarts.
    pub fn set_fsync_latency(&mut self, ms: f64, now: f64) {
        let ms = ms.max(0.0) as u64;
        // A setting on the timeline (`Lab::config_set` gives it to `Lab::set_fsync_latency`).
        let _ = self.session.config_set("lab-fsync-latency-ms", &ms.to_string(), now as i64);
    }

    /// Faults of the simulated disk, on every backend: `"disk-full"` (the disk takes no byte
    /// beyond what it holds: ENOSPC), `"fsync-error"` (`n` fsyncs fail with EIO), `"clear"`.
    pub fn inject(&mut self, fault: &str, n: u32, now: f64) -> Result<(), JsError> {
        self.session.inject(fault, n, now as i64).map(|_| ()).map_err(|e| JsError::new(&e))
    }

    /// Restarts on the same files with settings changed (`{"aof-load-truncated": "yes"}`, or
    /// `undefined`). Returns whether the server started.
    pub fn restart(&mut self, settings: JsValue, now: f64) -> Result<bool, JsError> {
        let mut pairs = Vec::new();
        if settings.is_object() {
            for entry in js_sys::Object::entries(&js_sys::Object::from(settings)).iter() {
                let pair = js_sys::Array::from(&entry);
                pairs.push((pair.get(0).as_string().unwrap_or_default(), config_text(&pair.get(1))?));
            }
        }
        self.session.restart(&pairs, now as i64).map_err(|e| JsError::new(&e))
    }

    /// The rewrite speed: keys the simulated rewrite / BGSAVE child writes per cron tick (0: the
    /// whole snapshot in one tick). `lab-rewrite-keys-per-tick`; kept across restarts.
    pub fn set_rewrite_speed(&mut self, keys_per_tick: f64, now: f64) {
        self.session.set_rewrite_speed(keys_per_tick.max(0.0) as u64, now as i64);
    }

    /// `redis-check-aof [--fix]` on the manifest: the tool's output, then `exit: <code>`
    /// (`now`: when; the position's time if absent).
    pub fn check_aof(&mut self, fix: bool, now: Option<f64>) -> String {
        let now = now.map_or(self.session.now(), |n| n as i64);
        let (out, code) = self.session.check_aof(fix, now);
        format!("{out}\nexit: {code}")
    }

    /// Runs one command line on the console connection and returns the reply as redis-cli shows
    /// it. Returns `""` for an empty line, or when the reply must wait (the command blocked, or
    /// an earlier one still does); such replies come later from [`WasmEngine::tick`].
    pub fn execute_line(&mut self, line: &str, now: f64) -> String {
        self.session.execute_line(line, now as i64)
    }

    /// Runs lines in one event-loop turn (one write, one fsync under `always`). Returns one
    /// `{replies: string[], aof: Uint8Array, at, stream}` per line: the replies ready after it
    /// (none if it blocked), the bytes it appended to `aof_buf` (a view: the lines of one call
    /// share one `ArrayBuffer`), where its own bytes went
    /// (`at: {file, offset, len}`, or null: it appended nothing, or the write was postponed)
    /// and their position in the stream of `aof_buf` (for [`WasmEngine::log_locate`]).
    pub fn execute_batch(&mut self, lines: Vec<String>, now: f64) -> js_sys::Array {
        let out = js_sys::Array::new();
        let results = self.session.execute_batch(&lines, now as i64);
        let places = self.session.lab().batch_at();
        // Every line's bytes are a view of one buffer, which the worker transfers to the page
        // once: a buffer per line is detached and made anew per line (+10 % with 50 lines per
        // turn: BENCHMARKS.md, "Browser writes").
        let all = js_sys::Uint8Array::from(results.iter().map(|(_, aof)| aof.as_slice()).collect::<Vec<_>>().concat().as_slice());
        let mut at = 0u32;
        KEYS.with(|k| {
            for (i, (replies, aof)) in results.into_iter().enumerate() {
                let o = js_sys::Object::new();
                let r: js_sys::Array = replies.iter().map(|s| JsValue::from_str(s)).collect();
                let _ = js_sys::Reflect::set(&o, &k.replies, &r);
                let end = at + aof.len() as u32;
                let _ = js_sys::Reflect::set(&o, &k.aof, &all.subarray(at, end));
                at = end;
                let place = places.get(i);
                let _ = js_sys::Reflect::set(&o, &k.at, &place.map_or(JsValue::NULL, |p| at_object(k, p)));
                let _ = js_sys::Reflect::set(&o, &k.stream, &JsValue::from_f64(place.map_or(0.0, |p| p.stream as f64)));
                out.push(&o);
            }
        });
        out
    }

    /// Runs lines typed in the second console (a second client: it can SUBSCRIBE and hear what
    /// the first console PUBLISHes) in one turn; returns what that console shows now, as
    /// redis-cli shows it: the messages that arrived before, then the lines' replies.
    pub fn execute_second(&mut self, lines: Vec<String>, now: f64) -> Vec<String> {
        self.session.execute_second(&lines, now as i64)
    }

    /// What reached the second console since it was last asked (messages published by the
    /// other connections), as redis-cli shows it.
    pub fn take_second(&mut self) -> Vec<String> {
        self.session.take_second()
    }

    /// Feeds RESP bytes (a batch of commands, possibly ending in a partial one) to the wire
    /// connection and returns every reply ready, RESP-encoded, in order.
    pub fn execute_resp(&mut self, bytes: &[u8], now: f64) -> Vec<u8> {
        self.session.execute_resp(bytes, now as i64)
    }

    /// `serverCron`: active expiry, blocked-client timeouts, the rewrite child, the simulated
    /// kernel's writeback. Call it about every 100 ms (`hz 10`). Returns the console replies that
    /// became ready (a blocked command was served).
    pub fn tick(&mut self, now: f64) -> Vec<String> {
        self.session.tick(now as i64)
    }

    /// Whether replies must wait for [`WasmEngine::durable`] before they are released: under
    /// `appendfsync always` on a backend whose commit is asynchronous (IndexedDB).
    pub fn must_wait_durable(&self) -> bool {
        self.session.lab().policy() == AppendFsync::Always && self.idb.is_some()
    }

    /// Whether a backend transaction holding written bytes has not committed yet (IndexedDB);
    /// always false on OPFS and the memory machine, whose fsync returns when it is done.
    pub fn commit_pending(&self) -> bool {
        self.idb.as_ref().is_some_and(|d| d.pending())
    }

    /// Resolves when the bytes of the turns so far are as durable as the backend makes them
    /// (IndexedDB: every transaction issued has committed); rejects with the storage error.
    /// OPFS's flush() and the memory machine's sync are synchronous: done already.
    pub fn durable(&self) -> js_sys::Promise {
        let Some(d) = self.idb.clone() else { return js_sys::Promise::resolve(&JsValue::UNDEFINED) };
        wasm_bindgen_futures::future_to_promise(async move {
            d.committed().await.map(|_| JsValue::UNDEFINED).map_err(|e| JsValue::from(JsError::new(&e.message)))
        })
    }

    /// Work between turns that must wait for the browser: OPFS opens spare files for its pool
    /// (creating a file is asynchronous there; the storage also starts this by itself).
    pub fn between_turns(&self) -> js_sys::Promise {
        let Some(pool) = self.opfs_pool.clone() else { return js_sys::Promise::resolve(&JsValue::UNDEFINED) };
        wasm_bindgen_futures::future_to_promise(async move {
            pool.ensure_capacity().await.map(|_| JsValue::UNDEFINED).map_err(|e| JsValue::from(JsError::new(&e.message)))
        })
    }

    /// Events after sequence number `since`, as JSON `{next, events: [{seq, t, kind, text,
    /// bytes}]}`; pass `next` on the following call.
    pub fn events(&self, since: f64) -> String {
        self.session.lab().events_json(since.max(0.0) as u64)
    }

    /// Everything the page draws, as JSON (see [`Lab::snapshot`]).
    pub fn snapshot(&mut self) -> String {
        self.session.lab_mut().snapshot()
    }

    /// The AOF directory as a ustar archive (`appendonlydir/` and its files).
    pub fn export_tar(&mut self, now: f64) -> Result<Vec<u8>, JsError> {
        self.session.lab_mut().export(now as i64).map_err(|e| JsError::new(&e))
    }

    /// Replaces the files by an archive (`.tar`) or one file (a manifest, a base or incr file,
    /// an old `appendonly.aof`) and restarts on them. Returns whether the server started (its
    /// load log and Redis's messages for damaged files are in `snapshot()`).
    /// Throws, changing nothing, when `bytes` is not bytes (a `Blob` or `File` must be read
    /// first: `new Uint8Array(await blob.arrayBuffer())`).
    pub fn import(
        &mut self,
        name: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        now: f64,
    ) -> Result<bool, JsError> {
        let bytes = bytes_arg(&format!("import: bytes of '{name}'"), &bytes)?;
        let now = time_arg("import(name, bytes, now)", now)?;
        self.session.import(vec![(name.to_string(), bytes)], now).map_err(|e| JsError::new(&e))
    }

    /// Like [`WasmEngine::import`] for several loose files (a folder picked with
    /// `webkitdirectory`: `paths[i]` is its `webkitRelativePath`, `blobs[i]` its bytes, a
    /// `Uint8Array` or an `ArrayBuffer`). Throws, changing nothing, when the two lists differ in
    /// length, when there is no file, or when an item is not bytes (a `Blob` or `File` must be
    /// read first).
    pub fn import_files(
        &mut self,
        paths: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "Array<Uint8Array | ArrayBuffer>")] blobs: js_sys::Array,
        now: f64,
    ) -> Result<bool, JsError> {
        let files = files_arg("import_files", paths, &blobs)?;
        let now = time_arg("import_files(paths, blobs, now)", now)?;
        self.session.import(files, now).map_err(|e| JsError::new(&e))
    }

    /// The bytes propagated into `aof_buf` since the last [`WasmEngine::take_aof_buf`] (a copy):
    /// those of `execute_line`, `execute_resp` and the ticks (a batch returns its lines' own).
    pub fn aof_buf(&mut self) -> Vec<u8> {
        let bytes = self.session.take_appended();
        self.session.push_appended(&bytes);
        bytes
    }

    /// Takes those bytes, for the page's view of what each command appended.
    pub fn take_aof_buf(&mut self) -> Vec<u8> {
        self.session.take_appended()
    }
}

/// The timeline (`src/lab/session.rs`, `src/lab/timeline.rs`): simulated time, moving through
/// the past, branches, recordings.
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Replays a shared recording (`Session::recording`'s bytes) on a fresh simulated machine in
    /// this tab's memory: the receiver's own files are never touched. `options`: `{position}`
    /// (the input to show; the head if absent). Throws on a malformed recording; a replay that
    /// does not reach the recorded state still opens, and `replay()` says so.
    pub fn from_recording(bytes: &[u8], options: JsValue) -> Result<WasmEngine, JsError> {
        console_error_panic_hook::set_once();
        let position =
            js_sys::Reflect::get(&options, &JsValue::from_str("position")).ok().and_then(|v| v.as_f64()).map(|p| p.max(0.0) as u64);
        let (session, replay) = Session::from_recording(bytes, position, scripts_timed(Host::default())).map_err(|e| JsError::new(&e))?;
        let mut e = WasmEngine::with(session, String::new());
        e.replay = Some(replay);
        Ok(e)
    }

    /// For an engine from [`WasmEngine::from_recording`]: `{digest_matches, same_engine,
    /// inputs}` as JSON (`digest_matches`: whether the replay reached the state the sender's
    /// digest names, null if the recording had none); `"null"` otherwise.
    pub fn replay(&self) -> String {
        self.replay.as_ref().map_or("null".to_string(), |r| {
            format!(
                r#"{{"digest_matches":{},"same_engine":{},"inputs":{}}}"#,
                r.digest_matches.map_or("null".to_string(), |d| d.to_string()),
                r.same_engine,
                r.inputs
            )
        })
    }

    /// The current line as a recording (settings, seed, start files, every input, the head's
    /// state digest), for share links and files.
    pub fn recording(&mut self) -> Vec<u8> {
        self.session.recording()
    }

    /// The state digest of the lab at the position (hex): equal digests, same files byte for
    /// byte and same data.
    pub fn state_digest(&mut self) -> String {
        self.session.state_digest()
    }

    /// Lets simulated time run to `now`: at the head, serverCron every 100 ms (each tick an
    /// input); in the past, the recorded future replays up to `now`. Returns `{replies: string[],
    /// aof: Uint8Array, ticks, replayed}`: console replies that became ready, the bytes the ticks
    /// (and the wire) appended, the ticks run, the inputs replayed.
    pub fn advance(&mut self, now: f64) -> JsValue {
        let a = self.session.advance(now as i64);
        advance_object(a)
    }

    /// One input forward: the next recorded one, or at the head one serverCron tick. Same result
    /// as [`WasmEngine::advance`].
    pub fn step(&mut self) -> JsValue {
        let a = self.session.step();
        advance_object(a)
    }

    /// One input back; false at the start.
    pub fn step_back(&mut self) -> bool {
        self.session.step_back()
    }

    /// Replays the next recorded input; false at the head.
    pub fn step_forward(&mut self) -> bool {
        self.session.step_forward()
    }

    /// Goes to the state after input `seq` of the current line (0: the start).
    pub fn seek(&mut self, seq: f64) {
        self.session.seek(seq.max(0.0) as u64);
    }

    /// Goes to the state after the last input at or before simulated time `t`.
    pub fn seek_time(&mut self, t: f64) {
        self.session.seek_time(t as i64);
    }

    /// Back to the head of the current line.
    pub fn live(&mut self) {
        self.session.live();
    }

    /// Inputs applied: the slider's position.
    pub fn position(&self) -> f64 {
        self.session.position() as f64
    }

    /// The inputs of the current line (its head).
    pub fn head(&self) -> f64 {
        self.session.timeline().head().0 as f64
    }

    /// The simulated time at the position (ms).
    pub fn now(&self) -> f64 {
        self.session.now() as f64
    }

    /// `{generation, position, head, head_t, now, next_cron, branch, present, marks: [{seq, t,
    /// kind, flags}]}`: the slider, with the marks after input `since` (every input but the idle
    /// ticks). When `generation` changed, earlier marks did too: ask from 0. `present`: the input
    /// whose lab the real files (OPFS, IndexedDB) hold, or null.
    pub fn marks_json(&self, since: f64) -> String {
        self.session.marks_json(since.max(0.0) as u64)
    }

    /// `[{id, parent, fork_seq, diverges_at, head_seq, head_t, current}]`.
    pub fn branches_json(&self) -> String {
        self.session.timeline().branches_json()
    }

    pub fn switch_branch(&mut self, id: u32) -> Result<(), JsError> {
        self.session.switch_branch(id).map_err(|e| JsError::new(&e))
    }

    pub fn discard_branch(&mut self, id: u32) -> Result<(), JsError> {
        self.session.discard_branch(id).map_err(|e| JsError::new(&e))
    }

    /// The branch that keeps the later history, if an input forked since the last call.
    pub fn take_fork(&mut self) -> Option<u32> {
        self.session.take_fork()
    }

    /// Why the real backend was given up (it failed while the present moved), if it was.
    pub fn mirror_error(&self) -> Option<String> {
        self.session.timeline().mirror_error().map(str::to_string)
    }

    /// The console as it was at the position: its last `n` entries, `[{seq, t, origin, kind,
    /// text, replies}]`.
    pub fn console_json(&self, n: u32) -> String {
        self.session.timeline().console_json(n as usize)
    }

    /// Sets K (inputs between checkpoints) from the worker's timing of its last seek, so that a
    /// seek fits in ~30 ms.
    pub fn tune_checkpoint_every(&mut self, elapsed_ms: f64) {
        self.session.tune_checkpoint_every(elapsed_ms);
    }

    /// K itself (benchmarks).
    pub fn set_checkpoint_every(&mut self, k: f64) {
        self.session.timeline_mut().set_checkpoint_every(k.max(1.0).min(usize::MAX as f64) as usize);
    }

    /// Inputs replayed by the last seek.
    pub fn last_replayed(&self) -> f64 {
        self.session.timeline().last_replayed() as f64
    }

    /// A setting from the page: `CONFIG SET` on a connection of its own (while the server is
    /// down, an edit of the next start's redis.conf). Returns what it did; throws Redis's reason.
    pub fn config_set(&mut self, name: &str, value: &str, now: f64) -> Result<String, JsError> {
        self.session.config_set(name, value, now as i64).map_err(|e| JsError::new(&e))
    }

    /// A bookmark on the timeline.
    pub fn mark(&mut self, label: &str, now: f64) {
        self.session.mark(label, now as i64);
    }

    /// A learner's prediction (the page's payload, opaque to the engine), kept on the timeline.
    pub fn predict(&mut self, payload: &[u8], now: f64) {
        self.session.predict(payload, now as i64);
    }

    /// One scenario step (the script's syntax) played on the lab's machine as an input; returns
    /// its outcome as JSON `{index, line, kind, text, output, passed, failure}`.
    pub fn scenario_step(&mut self, index: u32, step: &str, now: f64) -> String {
        self.session.scenario_step(index, step, now as i64).to_json()
    }
}

fn advance_object(a: Advance) -> JsValue {
    let o = js_sys::Object::new();
    let r: js_sys::Array = a.replies.iter().map(|s| JsValue::from_str(s)).collect();
    let _ = js_sys::Reflect::set(&o, &"replies".into(), &r);
    let _ = js_sys::Reflect::set(&o, &"aof".into(), &js_sys::Uint8Array::from(a.appended.as_slice()));
    let _ = js_sys::Reflect::set(&o, &"ticks".into(), &JsValue::from(a.ticks));
    let _ = js_sys::Reflect::set(&o, &"replayed".into(), &JsValue::from_f64(a.replayed as f64));
    o.into()
}

/// The plots and the traffic generator.
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// The plots' data: columns of every turn's figures after sample `since` (0: all), with
    /// `next` to pass again (see `Lab::series_json`).
    pub fn series(&self, since: f64) -> String {
        self.session.lab().series_json(since.max(0.0) as usize)
    }

    /// Starts (or changes) the traffic generator, `{rate, write_percent, keys, value_size,
    /// seed}` (each optional; rate 1 … 50 000 commands/s of simulated time), or stops it
    /// (`null`). Throws on a bad setting.
    pub fn set_traffic(&mut self, spec: JsValue, now: f64) -> Result<(), JsError> {
        let spec = traffic_spec(&spec)?;
        self.session.set_traffic(spec, now as i64);
        Ok(())
    }

    /// The three policies on the same traffic, each on a fresh simulated machine with this
    /// lab's settings, for `duration_ms` of simulated time, then a power loss: JSON
    /// `[{policy, writes_per_s, bytes_per_s, fsyncs, lost_bytes, keys_before, keys_after}]`.
    pub fn compare_policies(&self, spec: JsValue, duration_ms: f64, now: f64) -> Result<String, JsError> {
        let spec = traffic_spec(&spec)?.ok_or_else(|| JsError::new("compare: traffic settings needed"))?;
        let duration = (duration_ms as i64).clamp(100, 60_000);
        let runs = crate::lab::traffic::compare_policies(
            self.session.lab().config(),
            spec,
            duration,
            self.session.lab().engine.srv.aof.fsync_latency_ms,
            now as i64,
        );
        Ok(crate::lab::traffic::runs_json(&runs))
    }
}

/// `{rate, write_percent, keys, value_size, seed}` (defaults for what is missing), or `null`.
fn traffic_spec(v: &JsValue) -> Result<Option<crate::lab::traffic::TrafficSpec>, JsError> {
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    let d = crate::lab::traffic::TrafficSpec::default();
    let num = |k: &str, default: f64| js_sys::Reflect::get(v, &JsValue::from_str(k)).ok().and_then(|x| x.as_f64()).unwrap_or(default);
    crate::lab::traffic::TrafficSpec::new(
        num("rate", f64::from(d.rate)) as u32,
        num("write_percent", f64::from(d.write_percent)).clamp(0.0, 255.0) as u8,
        num("keys", f64::from(d.keys)) as u32,
        num("value_size", f64::from(d.value_size)) as u32,
        num("seed", d.seed as f64) as u64,
    )
    .map(Some)
    .map_err(|e| JsError::new(&e))
}

/// A prediction from the page (see [`WasmEngine::crash_predicted`]); `None` when skipped.
fn parse_prediction(p: &JsValue) -> Option<crate::lab::Prediction> {
    if !p.is_object() {
        return None;
    }
    let get = |k: &str| js_sys::Reflect::get(p, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let writes =
        get("writes").map(|w| js_sys::Array::from(&w).iter().filter_map(|v| v.as_f64()).map(|f| f as u64).collect()).unwrap_or_default();
    Some(crate::lab::Prediction {
        writes,
        survive: get("survive").and_then(|v| v.as_string()),
        keys: get("keys").and_then(|v| v.as_string()),
        refused: get("refused").and_then(|v| v.as_bool()),
    })
}

/// A lab's host in the browser lends it `performance.now()` to time its loads (the page shows
/// "DB loaded from append only file: 0.012 seconds" as Redis logs it) and its scripts, and
/// tells the worker's busy listener about a script past `busy-reply-threshold`; a shared
/// recording's replay and a guided scenario do without (their loads read 0.000; a replay still
/// times its scripts).
fn timed(host: Host) -> Host {
    Host { load_clock: Some(browser::performance_now_us), while_blocked: Some(busy_notice()), ..scripts_timed(host) }
}

/// Every lab in the browser, a replay too, times its scripts (FUNCTION LOAD's 500 ms).
fn scripts_timed(host: Host) -> Host {
    Host { script_clock: Some(browser::performance_now_us), ..host }
}

thread_local! {
    static BUSY_LISTENER: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// `f({ms, name, command, eval, wrote})` is called, at most every 250 ms, while a script runs
/// past `busy-reply-threshold`: how long it has run, its SHA1 or function name, the command
/// that started it, whether SCRIPT KILL (else FUNCTION KILL) would stop it, and whether it
/// wrote (then neither would: `-UNKILLABLE`). Redis serves other clients meanwhile; a worker
/// cannot read the page's messages until the script returns, so this is all the page hears.
#[wasm_bindgen]
pub fn set_busy_listener(f: js_sys::Function) {
    BUSY_LISTENER.with(|l| *l.borrow_mut() = Some(f));
}

fn busy_notice() -> crate::config::WhileBlocked {
    let mut last_us = 0;
    crate::config::WhileBlocked::new(move |engine: &mut crate::Engine| {
        let now = browser::performance_now_us();
        let Some(script) = engine.srv.script.as_ref().filter(|_| now.saturating_sub(last_us) >= 250_000) else { return };
        last_us = now;
        let info = js_sys::Object::new();
        let command: js_sys::Array = script.argv.iter().map(|a| JsValue::from_str(&String::from_utf8_lossy(a))).collect();
        let fields: [(&str, JsValue); 5] = [
            ("ms", JsValue::from_f64(now.saturating_sub(script.started_us) as f64 / 1000.0)),
            ("name", JsValue::from_str(&script.name)),
            ("command", command.into()),
            ("eval", JsValue::from_bool(script.eval)),
            ("wrote", JsValue::from_bool(script.write_dirty)),
        ];
        for (k, v) in fields {
            let _ = js_sys::Reflect::set(&info, &JsValue::from_str(k), &v);
        }
        BUSY_LISTENER.with(|l| {
            if let Some(f) = l.borrow().as_ref() {
                let _ = f.call1(&JsValue::NULL, &info);
            }
        });
    })
}

fn config_text(value: &JsValue) -> Result<String, JsError> {
    if let Some(b) = value.as_bool() {
        Ok(if b { "yes" } else { "no" }.to_string())
    } else if let Some(n) = value.as_f64() {
        Ok(n.to_string())
    } else if let Some(s) = value.as_string() {
        Ok(s)
    } else {
        Err(JsError::new("config: expected a string, number or boolean"))
    }
}

/// Reads `{name: value, ...}` (or its JSON text) as redis.conf settings, checked with the
/// browser's `maxmemory` before them ([`backend::browser_settings`]): a bad one throws Redis's
/// reason.
fn parse_settings(config: JsValue) -> Result<Vec<(String, String)>, JsError> {
    let mut given = Vec::new();
    if !config.is_undefined() && !config.is_null() {
        let config = match config.as_string() {
            Some(text) => js_sys::JSON::parse(&text).map_err(|_| JsError::new("config: not valid JSON"))?,
            None => config,
        };
        if !config.is_object() {
            return Err(JsError::new("config: expected an object of redis.conf settings"));
        }
        for entry in js_sys::Object::entries(&js_sys::Object::from(config)).iter() {
            let pair = js_sys::Array::from(&entry);
            let name = pair.get(0).as_string().unwrap_or_default();
            let text =
                config_text(&pair.get(1)).map_err(|_| JsError::new(&format!("config: {name}: expected a string, number or boolean")))?;
            given.push((name, text));
        }
    }
    backend::browser_settings(given).map_err(|reason| JsError::new(&format!("config: {reason}")))
}

/// A guided scenario ([`crate::lab::scenario`]) playing on its own simulated machine, step by
/// step: `new Scenario(text)` throws with every malformed line (`line N: why`); `steps()` is
/// `[{line, kind, text, sentence, script, choices?}]` as JSON; `answer(choice)` gives the
/// learner's answer to the predict that runs next (an index into its choices as written, the
/// right one being 0; -1: skip); `step()` runs the next step and returns its outcome as JSON
/// (`{index, line, kind, text, output, passed, failure, sentence, prediction}`), or `"null"` when
/// the scenario is over; `answers()` is `[[step index, choice | null]]`.
#[wasm_bindgen(js_name = Scenario)]
pub struct WasmScenario {
    runner: crate::lab::scenario::Runner,
}

#[wasm_bindgen(js_class = Scenario)]
impl WasmScenario {
    #[wasm_bindgen(constructor)]
    pub fn new(text: &str) -> Result<WasmScenario, JsError> {
        console_error_panic_hook::set_once();
        match crate::lab::scenario::Runner::from_text(text) {
            Ok(runner) => Ok(WasmScenario { runner }),
            Err(errors) => Err(JsError::new(&errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))),
        }
    }

    pub fn steps(&self) -> String {
        crate::lab::scenario::steps_json(self.runner.steps())
    }

    /// Index of the step that runs next (the number of steps when done).
    pub fn next_index(&self) -> u32 {
        u32::try_from(self.runner.next_index()).unwrap_or(u32::MAX)
    }

    pub fn step(&mut self) -> String {
        self.runner.step().map_or_else(|| "null".to_string(), |o| o.to_json())
    }

    /// The answer to the predict that runs next (`-1`: skipped); an error when the next step is
    /// not a predict or the choice does not exist.
    pub fn answer(&mut self, choice: i32) -> Result<(), JsError> {
        let choice = usize::try_from(choice).ok();
        self.runner.answer(choice).map_err(|e| JsError::new(&e))
    }

    /// The answers given so far, as JSON: `[[step index, choice | null]]`.
    pub fn answers(&self) -> String {
        let items: Vec<String> =
            self.runner.answers().iter().map(|(i, c)| format!("[{i},{}]", c.map_or("null".to_string(), |c| c.to_string()))).collect();
        format!("[{}]", items.join(","))
    }

    /// The scenario machine's views (the same JSON as `Engine.snapshot()`).
    pub fn snapshot(&mut self) -> String {
        self.runner.lab.snapshot()
    }
}

/// A line's place as `{file, offset, len}`, or null.
fn at_object(k: &Keys, place: &crate::lab::LineAt) -> JsValue {
    let Some((file, offset)) = &place.at else { return JsValue::NULL };
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &k.file, &JsValue::from_str(file));
    let _ = js_sys::Reflect::set(&o, &k.offset, &JsValue::from_f64(*offset as f64));
    let _ = js_sys::Reflect::set(&o, &k.len, &JsValue::from_f64(place.len as f64));
    o.into()
}

/// The property names of the objects a turn returns, made once: a `&str` key is a new JS
/// string (decoded from wasm memory) at every use, 350 of them for a turn of 50 lines.
struct Keys {
    replies: JsValue,
    aof: JsValue,
    at: JsValue,
    stream: JsValue,
    file: JsValue,
    offset: JsValue,
    len: JsValue,
}

thread_local! {
    static KEYS: Keys = Keys {
        replies: "replies".into(),
        aof: "aof".into(),
        at: "at".into(),
        stream: "stream".into(),
        file: "file".into(),
        offset: "offset".into(),
        len: "len".into(),
    };
}

/// The log view (`src/lab/log.rs`): the lab's files as records, by pages.
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// The files of the AOF directory as JSON `[{name, kind, len, records, stable, generation,
    /// rdb_records, cut}]` (each file's record index brought up to date).
    pub fn log_files(&mut self) -> String {
        self.session.lab_mut().log_files()
    }

    /// Rows `first..first+count` of `file`, as JSON `{file, generation, records, stable, first,
    /// rows: [{i, offset, len, kind, text, framing, mark, mark_text, cut}]}`.
    pub fn log_rows(&mut self, file: &str, first: u32, count: u32) -> Result<String, JsError> {
        self.session.lab_mut().log_rows(file, first as usize, count as usize).map_err(|e| JsError::new(&e))
    }

    /// One record in full (framing, hex, fields), as JSON.
    pub fn log_record(&mut self, file: &str, index: u32) -> Result<String, JsError> {
        self.session.lab_mut().log_record(file, index as usize).map_err(|e| JsError::new(&e))
    }

    /// The index of the record of `file` holding byte `offset` (undefined if none); with `len`
    /// (a command's bytes), its own record, past the SELECT / #TS: the feed put before it.
    pub fn log_find(&mut self, file: &str, offset: f64, len: Option<f64>) -> Option<u32> {
        let len = len.map(|l| l.max(0.0) as u64);
        self.session.lab_mut().log_find(file, offset.max(0.0) as u64, len).and_then(|i| u32::try_from(i).ok())
    }

    /// Where the bytes at `stream` (a line's `stream` from `execute_batch`) were written:
    /// `{file, offset}`, or null while they wait in `aof_buf`.
    pub fn log_locate(&self, stream: f64) -> JsValue {
        let Some((file, offset)) = self.session.lab().log_locate(stream.max(0.0) as u64) else { return JsValue::NULL };
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&o, &"file".into(), &JsValue::from_str(&file));
        let _ = js_sys::Reflect::set(&o, &"offset".into(), &JsValue::from_f64(offset as f64));
        o.into()
    }
}

/// Files dropped on the page to be inspected, not loaded (`src/lab/dropped.rs`): the lab's
/// engine and files are untouched. The same record views as the lab's files, and
/// `redis-check-aof`'s output.
#[wasm_bindgen(js_name = LogInspector)]
pub struct WasmLogInspector {
    dropped: crate::lab::Dropped,
}

#[wasm_bindgen(js_class = LogInspector)]
impl WasmLogInspector {
    /// Loose files or a folder: `paths[i]` (a `webkitRelativePath`, or a name) and `blobs[i]`
    /// (its bytes). Throws when none of them is an AOF file.
    #[wasm_bindgen(constructor)]
    pub fn new(
        paths: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "Array<Uint8Array | ArrayBuffer>")] blobs: js_sys::Array,
    ) -> Result<WasmLogInspector, JsError> {
        console_error_panic_hook::set_once();
        let files = files_arg("new LogInspector", paths, &blobs)?;
        Ok(WasmLogInspector { dropped: crate::lab::Dropped::open(files).map_err(|e| JsError::new(&e))? })
    }

    /// A `.tar` (or one file when it is not an archive).
    pub fn from_archive(name: &str, bytes: Vec<u8>) -> Result<WasmLogInspector, JsError> {
        console_error_panic_hook::set_once();
        Ok(WasmLogInspector { dropped: crate::lab::Dropped::open_archive(name, bytes).map_err(|e| JsError::new(&e))? })
    }

    pub fn files(&self) -> String {
        self.dropped.files_json()
    }

    pub fn rows(&mut self, file: &str, first: u32, count: u32) -> Result<String, JsError> {
        self.dropped.rows_json(file, first as usize, count as usize).map_err(|e| JsError::new(&e))
    }

    pub fn record(&mut self, file: &str, index: u32) -> Result<String, JsError> {
        self.dropped.record_json(file, index as usize).map_err(|e| JsError::new(&e))
    }

    pub fn find(&mut self, file: &str, offset: f64) -> Option<u32> {
        self.dropped.find(file, offset.max(0.0) as u64).and_then(|i| u32::try_from(i).ok())
    }

    /// `redis-check-aof` on the files (each manifest, or each file without one).
    pub fn check(&mut self) -> String {
        self.dropped.check()
    }
}

/// Programs: a host's own code (a Node test, a page's script) talks to the engine as a client
/// library does, on the wire connection, and gets replies as values.
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Runs one command on the wire connection (the one `execute_resp` uses: its own `SELECT`,
    /// `MULTI` and blocked state, apart from the console's) in its own event-loop turn.
    /// `command`: a line in redis-cli quoting (`'SET "a key" v'`) or an argv array of strings and
    /// `Uint8Array`s. `now`: the time in ms (the lab's current time if absent).
    ///
    /// Returns `{value, text, pending, earlier}`: `value` is the reply as a JS value (a status is
    /// its string, `"OK"`; an error an `Error` whose `name` is `"ReplyError"` and whose message is
    /// Redis's, `"ERR unknown command …"`, returned, not thrown; an integer a number, or a
    /// `BigInt` beyond 2^53; a bulk string a string when it is UTF-8, else a `Uint8Array`; nil
    /// `null`; an array an `Array`), `text` the same reply as redis-cli prints it. `pending` is
    /// true when the command blocked (or waits behind a blocked one): `value` is `undefined`
    /// then, and its reply comes in the `earlier` list of a later call (`earlier`: replies of
    /// previously blocked commands that this turn released, oldest first, as `{value, text}`).
    #[wasm_bindgen(unchecked_return_type = "CallResult")]
    pub fn call(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Array<string | Uint8Array>")] command: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let argv = argv_arg(&command)?;
        let now = match now {
            Some(n) => time_arg("call(command, now)", n)?,
            None => self.session.now(),
        };
        let call = self.session.call(&argv, now);
        let result = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(&result, &JsValue::from_str(k), v);
        };
        set("value", &call.own.as_ref().map_or(JsValue::UNDEFINED, reply_value));
        set("text", &call.own.as_ref().map_or(JsValue::from_str(""), |r| JsValue::from_str(&r.to_string())));
        set("pending", &JsValue::from_bool(call.pending));
        let earlier: js_sys::Array = call
            .earlier
            .iter()
            .map(|r| {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"value".into(), &reply_value(r));
                let _ = js_sys::Reflect::set(&o, &"text".into(), &JsValue::from_str(&r.to_string()));
                JsValue::from(o)
            })
            .collect();
        set("earlier", &earlier);
        Ok(result.into())
    }
}

#[wasm_bindgen(typescript_custom_section)]
const PROGRAM_TYPES: &str = r#"
/** A reply as a JS value (see `Engine.call`). */
export type RedisValue = string | number | bigint | boolean | null | Uint8Array | Error | RedisValue[] | Map<RedisValue, RedisValue>;
/** What `Engine.call` returns. */
export interface CallResult {
  /** The reply; `undefined` while the command is pending (blocked). */
  value: RedisValue | undefined;
  /** The same reply as redis-cli prints it (`"OK"`, `(integer) 1`, `(error) ERR …`). */
  text: string;
  /** The command blocked, or waits behind a blocked one: its reply comes in a later `earlier`. */
  pending: boolean;
  /** Replies of earlier blocked commands released by this turn, oldest first. */
  earlier: { value: RedisValue; text: string }[];
}
"#;

/// A reply as a JS value (see [`WasmEngine::call`]).
fn reply_value(r: &crate::reply::Reply) -> JsValue {
    use crate::reply::Reply;
    match r {
        Reply::Status(s) => JsValue::from_str(s),
        Reply::Error(s) => {
            let e = js_sys::Error::new(s);
            e.set_name("ReplyError");
            e.into()
        }
        // Numbers are exact up to 2^53; past it a BigInt keeps every digit.
        Reply::Int(n) if n.unsigned_abs() <= (1u64 << 53) => JsValue::from_f64(*n as f64),
        Reply::Int(n) => js_sys::BigInt::from(*n).into(),
        Reply::Bulk(b) => match std::str::from_utf8(b) {
            Ok(s) => JsValue::from_str(s),
            Err(_) => js_sys::Uint8Array::from(b.as_slice()).into(),
        },
        Reply::Nil | Reply::NilArray => JsValue::NULL,
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Many(items) => {
            items.iter().map(reply_value).collect::<js_sys::Array>().into()
        }
        Reply::Map(pairs) => {
            let map = js_sys::Map::new();
            for (k, v) in pairs {
                map.set(&reply_value(k), &reply_value(v));
            }
            map.into()
        }
        Reply::Double(d) | Reply::HumanDouble(d) => JsValue::from_f64(*d),
        Reply::Bool(b) => JsValue::from_bool(*b),
        Reply::BigNumber(_) | Reply::Verbatim(..) | Reply::Attribute(..) | Reply::WithPushes(..) => {
            r.resp2().as_ref().map_or(JsValue::UNDEFINED, reply_value)
        }
    }
}

/// Open options, checked: a misspelt option or a value of the wrong type is an error, not a
/// silent default.
struct Options {
    backend: String,
    namespace: String,
    config: JsValue,
    seed: Option<f64>,
    fallback: bool,
}

impl Options {
    const NAMES: [&str; 5] = ["backend", "namespace", "config", "seed", "fallback"];

    fn read(options: &JsValue) -> Result<Options, JsError> {
        let mut o = Options { backend: "auto".into(), namespace: "default".into(), config: JsValue::UNDEFINED, seed: None, fallback: true };
        if options.is_undefined() || options.is_null() {
            return Ok(o);
        }
        if !options.is_object() {
            return Err(JsError::new("Engine.open: options must be an object such as {backend: 'auto', namespace: 'default', config: {}}"));
        }
        for key in js_sys::Object::keys(&js_sys::Object::from(options.clone())).iter() {
            let key = key.as_string().unwrap_or_default();
            if !Options::NAMES.contains(&key.as_str()) {
                return Err(JsError::new(&format!("Engine.open: unknown option '{key}' (the options are {})", Options::NAMES.join(", "))));
            }
        }
        let get = |k: &str| js_sys::Reflect::get(options, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined() && !v.is_null());
        let string = |k: &str| -> Result<Option<String>, JsError> {
            get(k).map(|v| v.as_string().ok_or_else(|| JsError::new(&format!("Engine.open: option '{k}' must be a string")))).transpose()
        };
        if let Some(b) = string("backend")? {
            o.backend = b;
        }
        if let Some(n) = string("namespace")? {
            o.namespace = n;
        }
        o.config = get("config").unwrap_or(JsValue::UNDEFINED);
        if let Some(v) = get("seed") {
            o.seed = Some(v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| JsError::new("Engine.open: option 'seed' must be a number"))?);
        }
        if let Some(v) = get("fallback") {
            o.fallback = v.as_bool().ok_or_else(|| JsError::new("Engine.open: option 'fallback' must be true or false"))?;
        }
        Ok(o)
    }
}

/// `now` checked: a missing or non-numeric time would silently become 0 (1970) and move the
/// simulated clock backwards.
fn time_arg(call: &str, now: f64) -> Result<i64, JsError> {
    if now.is_finite() && now >= 0.0 {
        Ok(now as i64)
    } else {
        Err(JsError::new(&format!("{call}: now must be the time in milliseconds (a number such as Date.now()), got {now}")))
    }
}

/// Bytes from JS: a `Uint8Array` (a Node `Buffer` is one), another typed array or `DataView`,
/// or an `ArrayBuffer`. Anything else is an error naming what was given; a `Blob` would
/// otherwise read as zero bytes.
fn bytes_arg(what: &str, v: &JsValue) -> Result<Vec<u8>, JsError> {
    if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(a.to_vec());
    }
    if v.is_instance_of::<js_sys::ArrayBuffer>() {
        return Ok(js_sys::Uint8Array::new(v).to_vec());
    }
    if js_sys::ArrayBuffer::is_view(v) {
        let buffer = js_sys::Reflect::get(v, &"buffer".into()).unwrap_or(JsValue::UNDEFINED);
        let offset = js_sys::Reflect::get(v, &"byteOffset".into()).ok().and_then(|x| x.as_f64()).unwrap_or(0.0);
        let len = js_sys::Reflect::get(v, &"byteLength".into()).ok().and_then(|x| x.as_f64()).unwrap_or(0.0);
        return Ok(js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, len as u32).to_vec());
    }
    let kind = if v.is_undefined() {
        "undefined".to_string()
    } else if v.is_null() {
        "null".to_string()
    } else if v.is_string() {
        "a string".to_string()
    } else {
        let ctor = js_sys::Reflect::get(v, &"constructor".into())
            .ok()
            .and_then(|c| js_sys::Reflect::get(&c, &"name".into()).ok())
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "an object".into());
        format!("a {ctor}")
    };
    let hint = if kind == "a Blob" || kind == "a File" { ": read it first, new Uint8Array(await blob.arrayBuffer())" } else { "" };
    Err(JsError::new(&format!("{what}: expected bytes (a Uint8Array or an ArrayBuffer), got {kind}{hint}")))
}

/// Loose files (`paths[i]`, `blobs[i]`), checked before anything is touched.
fn files_arg(call: &str, paths: Vec<String>, blobs: &js_sys::Array) -> Result<Vec<(String, Vec<u8>)>, JsError> {
    if paths.len() != blobs.length() as usize {
        return Err(JsError::new(&format!("{call}: {} paths but {} blobs (one blob per path)", paths.len(), blobs.length())));
    }
    if paths.is_empty() {
        return Err(JsError::new(&format!("{call}: no files")));
    }
    paths.into_iter().zip(blobs.iter()).map(|(p, b)| bytes_arg(&format!("{call}: blobs for '{p}'"), &b).map(|bytes| (p, bytes))).collect()
}

/// A command as argv: a line (redis-cli quoting, as the console splits it) or an array of
/// strings and byte arrays.
fn argv_arg(command: &JsValue) -> Result<Vec<Vec<u8>>, JsError> {
    if let Some(line) = command.as_string() {
        let argv = crate::resp::split_args(line.as_bytes()).ok_or_else(|| JsError::new("call: unbalanced quotes in the command line"))?;
        if argv.is_empty() {
            return Err(JsError::new("call: empty command"));
        }
        return Ok(argv);
    }
    if !js_sys::Array::is_array(command) {
        return Err(JsError::new("call: command must be a string ('SET k v') or an array (['SET', 'k', 'v'])"));
    }
    let items = js_sys::Array::from(command);
    if items.length() == 0 {
        return Err(JsError::new("call: empty command"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, a)| match a.as_string() {
            Some(s) => Ok(s.into_bytes()),
            None => match a.as_f64() {
                Some(n) => Ok(n.to_string().into_bytes()),
                None => bytes_arg(&format!("call: argument {i}"), &a),
            },
        })
        .collect()
}

/// What the page's views read from the timeline at the position (`src/lab/timeline/page.rs`),
/// and the scenario session: a guided scenario played on a lab of its own whose steps (and the
/// learner's answers to its predictions) are inputs on that lab's timeline.
#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// A lab for a guided scenario: a fresh simulated machine as the scenario runner starts one
    /// (AOF on, everysec, the clock at the scenarios' fixed start). Its steps are
    /// [`WasmEngine::scenario_step`] inputs.
    pub fn for_scenario() -> Result<WasmEngine, JsError> {
        console_error_panic_hook::set_once();
        let session = Session::scenario().map_err(|e| JsError::new(&e))?;
        Ok(WasmEngine::with(session, String::new()))
    }

    /// The learner's answer to the scenario's predict that runs next (an index into its choices
    /// as written; -1: skipped), as an input.
    pub fn scenario_answer(&mut self, choice: i32, now: f64) {
        self.session.scenario_answer(usize::try_from(choice).ok(), now as i64);
    }

    /// The scenario steps played up to the position: `[{seq, outcome}]` as JSON.
    pub fn scenario_json(&self) -> String {
        self.session.timeline().scenario_json()
    }

    /// Plays the recorded future up to simulated time `t`, at most `max_inputs` inputs; returns
    /// the inputs replayed (0 at the head).
    pub fn replay_until(&mut self, t: f64, max_inputs: f64) -> f64 {
        self.session.replay_until(t as i64, max_inputs.max(0.0) as u64) as f64
    }

    /// The AOF buffer view at the position: the last `limit` groups of bytes appended to
    /// `aof_buf`, those of inputs after `after_seq` only, oldest first: `[{seq, label, bytes:
    /// Uint8Array (at most 1 KB), len}]`.
    pub fn aof_groups(&self, limit: u32, after_seq: f64) -> js_sys::Array {
        self.session
            .timeline()
            .aof_groups(limit as usize, after_seq.max(0.0) as u64)
            .iter()
            .map(|g| {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"seq".into(), &JsValue::from_f64(g.seq as f64));
                let _ = js_sys::Reflect::set(&o, &"label".into(), &JsValue::from_str(&g.label));
                let _ = js_sys::Reflect::set(&o, &"bytes".into(), &js_sys::Uint8Array::from(g.bytes.as_slice()));
                let _ = js_sys::Reflect::set(&o, &"len".into(), &JsValue::from_f64(g.len as f64));
                JsValue::from(o)
            })
            .collect()
    }

    /// Every byte appended to `aof_buf` by the inputs up to the position.
    pub fn aof_total(&self) -> f64 {
        self.session.timeline().aof_total() as f64
    }

    /// The plot samples the lab at the position holds (what `series(0)` would send).
    pub fn series_len(&self) -> f64 {
        self.session.lab().series.len() as f64
    }
}
