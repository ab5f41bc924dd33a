//! The browser's door into the engine: the only file with `#[wasm_bindgen]`.
//!
//! A thin, coarse facade over [`crate::Engine`]: one long-lived object, a few calls that each do
//! a batch of work, bytes and strings across the boundary and nothing per key. It lives in a
//! module Web Worker (`www/worker.js`), which owns it; the page only exchanges messages with that
//! worker.
//!
//! Two connections are open on the engine, as two clients would be on a real server:
//! * the **console** ([`WasmEngine::execute_line`]): one command line in, redis-cli's rendering of
//!   the reply out (`"v"`, `(integer) 1`, `(nil)`, `1) "a"`, `(error) ERR …`);
//! * the **wire** ([`WasmEngine::execute_resp`]): RESP bytes in, RESP replies out, like a socket.
//!   A command split across two calls waits for its end, as in a query buffer.
//!
//! A client blocked by a command (BLPOP) keeps its later input queued, as Redis leaves it in the
//! query buffer, and its reply comes when the data or the timeout arrives: for the console from
//! [`WasmEngine::tick`], for the wire from the next `execute_resp`. QUIT or a protocol error
//! closes the connection; the next input opens a fresh one (redis-cli reconnects too).
//!
//! Time is an argument of every call (`Date.now()` on the JS side): the engine never reads a clock.

use std::collections::VecDeque;

use wasm_bindgen::prelude::*;

use crate::resp::{Limits, parse_command};
use crate::server::ClientId;
use crate::storage::MemoryStorage;
use crate::{Config, Engine};

/// The engine as JavaScript sees it (`new Engine(config, Date.now())`).
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    engine: Engine,
    console: ClientId,
    /// Lines typed while the console client is blocked.
    console_queue: VecDeque<String>,
    /// Console replies not handed out yet (only when a blocked command was served).
    console_out: Vec<String>,
    wire: ClientId,
    /// The wire client's query buffer: bytes not yet executed (a partial command, or everything
    /// after a command that blocked).
    wire_qbuf: Vec<u8>,
    wire_out: Vec<u8>,
    /// Bytes that entered `aof_buf` since the page last took them.
    appended: Vec<u8>,
    /// Bytes of `aof_buf` already copied into `appended` (a postponed write leaves some there).
    seen_in_buf: usize,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// `config`: `undefined`, an object or a JSON string of redis.conf settings, such as
    /// `{appendonly: true, appendfsync: "always"}` (booleans mean yes/no). Throws on an unknown
    /// setting or a bad value, with Redis's reason.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, now: f64) -> Result<WasmEngine, JsError> {
        console_error_panic_hook::set_once();
        let config = parse_config(config)?;
        let engine = start(config, Box::new(MemoryStorage::new()), now as i64)?;
        Ok(WasmEngine::around(engine))
    }

    /// The simulated machine's files as JSON: `[{name, len, durable_len, durable_name}]`, where
    /// `len` is what a process reads (page cache) and `durable_len` what would survive a power
    /// loss now. Empty with `appendonly no`.
    pub fn files(&mut self) -> String {
        let layers = self.engine.srv.storage.as_memory().map(|m| m.layers()).unwrap_or_default();
        let items: Vec<String> = layers
            .iter()
            .map(|f| {
                format!(
                    "{{\"name\":{},\"len\":{},\"durable_len\":{},\"durable_name\":{}}}",
                    js_sys::JSON::stringify(&JsValue::from_str(&f.name)).ok().and_then(|s| s.as_string()).unwrap_or_default(),
                    f.len,
                    f.durable_len,
                    f.durable_name
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// Crashes the simulated machine and starts a new engine on what survived, like a restarted
    /// redis-server. `kind`: `"kill"` (the process dies: `aof_buf` is lost, the page cache is
    /// kept) or `"power"` (only synced bytes and synced directory entries survive). Returns the
    /// new engine's start-up log; throws with Redis's fatal lines if it would refuse to start.
    pub fn crash(&mut self, kind: &str, now: f64) -> Result<Vec<String>, JsError> {
        let config = self.engine.srv.config.clone();
        let mut storage = self.engine.take_storage();
        match kind {
            "kill" => {}
            "power" => {
                if let Some(m) = storage.as_memory() {
                    m.power_loss();
                }
            }
            other => return Err(JsError::new(&format!("crash: unknown kind '{other}' (kill or power)"))),
        }
        let mut engine = start(config, storage, now as i64)?;
        let log = engine.take_log().into_iter().map(|l| format!("{} {}", l.level.mark(), l.text)).collect();
        *self = WasmEngine::around(engine);
        Ok(log)
    }

    /// Runs one command line on the console connection and returns the reply as redis-cli shows
    /// it. Returns `""` for an empty line, or when the reply must wait (the command blocked, or
    /// an earlier one still does); such replies come later from [`WasmEngine::tick`].
    pub fn execute_line(&mut self, line: &str, now: f64) -> String {
        self.console_queue.push_back(line.to_string());
        self.settle(now as i64);
        self.before_sleep(now as i64);
        std::mem::take(&mut self.console_out).join("\n")
    }

    /// Feeds RESP bytes (a batch of commands, possibly ending in a partial one) to the wire
    /// connection and returns every reply ready, RESP-encoded, in order.
    pub fn execute_resp(&mut self, bytes: &[u8], now: f64) -> Vec<u8> {
        self.wire_qbuf.extend_from_slice(bytes);
        self.settle(now as i64);
        self.before_sleep(now as i64);
        std::mem::take(&mut self.wire_out)
    }

    /// `serverCron`: active expiry and blocked-client timeouts. Call it about every 100 ms
    /// (`hz 10`). Returns the console replies that became ready (a blocked command was served).
    pub fn tick(&mut self, now: f64) -> Vec<String> {
        let now = now as i64;
        self.engine.cron(now);
        self.settle(now);
        self.before_sleep(now);
        std::mem::take(&mut self.console_out)
    }

    /// The bytes propagated into `aof_buf` since the last [`WasmEngine::take_aof_buf`] (a copy).
    /// With `appendonly yes` the flush at the end of each call has already written them to the
    /// incr file of the simulated disk (see [`WasmEngine::files`]).
    pub fn aof_buf(&self) -> Vec<u8> {
        self.appended.clone()
    }

    /// Takes those bytes, for the page's view of what each command appended.
    pub fn take_aof_buf(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.appended)
    }
}

/// Starts an engine: with `appendonly yes` on the simulated disk, as redis-server starts on its dir.
fn start(config: Config, storage: Box<dyn crate::storage::Storage>, now: i64) -> Result<Engine, JsError> {
    if !config.appendonly {
        return Ok(Engine::new(config, now));
    }
    Engine::open(config, storage, now).map_err(|e| {
        let mut lines: Vec<String> = e.engine.srv.log_lines().map(|l| l.text.clone()).collect();
        lines.extend(e.lines);
        JsError::new(&lines.join("\n"))
    })
}

impl WasmEngine {
    fn around(mut engine: Engine) -> WasmEngine {
        let console = engine.connect();
        let wire = engine.connect();
        WasmEngine {
            engine,
            console,
            console_queue: VecDeque::new(),
            console_out: Vec::new(),
            wire,
            wire_qbuf: Vec::new(),
            wire_out: Vec::new(),
            appended: Vec::new(),
            seen_in_buf: 0,
        }
    }

    /// The end of an event-loop turn: keeps what entered `aof_buf` for the page, then flushes
    /// (`beforeSleep`). Without files (`appendonly no`) `aof_buf` stays empty anyway.
    fn before_sleep(&mut self, now: i64) {
        let buf = self.engine.aof_buf();
        self.appended.extend_from_slice(buf.get(self.seen_in_buf..).unwrap_or_default());
        if self.engine.srv.aof.incr_path.is_some() {
            self.engine.before_sleep(now);
            self.seen_in_buf = self.engine.aof_buf().len();
        } else {
            // No incr file: nothing would ever write the buffer; the page has its copy.
            self.engine.take_aof_buf();
            self.seen_in_buf = 0;
        }
    }

    fn is_blocked(&self, id: ClientId) -> bool {
        self.engine.client(id).is_some_and(|c| c.blocked.is_some())
    }

    /// After QUIT (or a protocol error) the connection is gone; a new one takes its place.
    fn reconnect_if_closed(&mut self, id: ClientId, force: bool) -> ClientId {
        if force || self.engine.client(id).is_none_or(|c| c.close_after_reply) {
            self.engine.disconnect(id);
            return self.engine.connect();
        }
        id
    }

    /// Runs queued input until both connections are idle or blocked, routing the replies of
    /// clients that a command (or a timeout) unblocked.
    fn settle(&mut self, now: i64) {
        loop {
            self.run_console(now);
            self.run_wire(now);
            if !self.route_unblocked() {
                break;
            }
        }
    }

    /// Hands the replies of served (or timed-out) blocked commands to their connections. It
    /// must run before a connection resumes its queued input, so that replies keep their order.
    fn route_unblocked(&mut self) -> bool {
        let unblocked = self.engine.take_unblocked();
        let any = !unblocked.is_empty();
        for (id, reply) in unblocked {
            if id == self.console {
                self.console_out.push(reply.to_string());
            } else if id == self.wire {
                reply.encode(&mut self.wire_out);
            }
        }
        any
    }

    fn run_console(&mut self, now: i64) {
        self.route_unblocked();
        while !self.is_blocked(self.console) {
            let Some(line) = self.console_queue.pop_front() else { break };
            if let Some(reply) = self.engine.execute_line(self.console, &line, now) {
                self.console_out.push(reply.to_string());
            }
            self.console = self.reconnect_if_closed(self.console, false);
        }
    }

    fn run_wire(&mut self, now: i64) {
        self.route_unblocked();
        let limits = Limits { max_bulk_len: self.engine.srv.config.proto_max_bulk_len };
        // Taken out of `self` so that the parsed arguments can borrow it while the engine runs.
        let mut qbuf = std::mem::take(&mut self.wire_qbuf);
        let mut args = Vec::new();
        let mut pos = 0;
        while !self.is_blocked(self.wire) {
            match parse_command(qbuf.get(pos..).unwrap_or_default(), &mut args, limits) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    pos += n;
                    if args.is_empty() {
                        continue;
                    }
                    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
                    if let Some(reply) = self.engine.execute(self.wire, &argv, now) {
                        reply.encode(&mut self.wire_out);
                    }
                    let id = self.reconnect_if_closed(self.wire, false);
                    if id != self.wire {
                        // QUIT: whatever followed it was never read by the old connection.
                        self.wire = id;
                        pos = qbuf.len();
                        break;
                    }
                }
                Err(e) => {
                    // Redis replies, then closes the connection: the rest of the buffer is lost.
                    e.reply().encode(&mut self.wire_out);
                    self.wire = self.reconnect_if_closed(self.wire, true);
                    pos = qbuf.len();
                    break;
                }
            }
        }
        drop(args);
        qbuf.drain(..pos);
        self.wire_qbuf = qbuf;
    }
}

/// Reads `{name: value, ...}` (or its JSON text) into a [`Config`], by redis.conf names.
fn parse_config(config: JsValue) -> Result<Config, JsError> {
    let mut out = Config::default();
    if config.is_undefined() || config.is_null() {
        return Ok(out);
    }
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
        let value = pair.get(1);
        let text = if let Some(b) = value.as_bool() {
            if b { "yes" } else { "no" }.to_string()
        } else if let Some(n) = value.as_f64() {
            n.to_string()
        } else if let Some(s) = value.as_string() {
            s
        } else {
            return Err(JsError::new(&format!("config: {name}: expected a string, number or boolean")));
        };
        out.set(&name, &text, true).map_err(|reason| JsError::new(&format!("config: {name}: {reason}")))?;
    }
    Ok(out)
}
