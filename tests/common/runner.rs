//! Runs a script on two [`Side`]s in lockstep (the real server first, then the engine) and
//! collects every mismatch: replies line by line, the AOF bytes each line appended, `DEBUG
//! DIGEST` at `@digest` lines and at the end, and the whole AOF stream at the end.
//!
//! A side is anything that executes commands and exposes the AOF bytes it appended: the real
//! server ([`RealSide`]), the engine ([`EngineSide`]), or a deliberately wrong fake in the
//! harness's own tests.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aof_lab::server::ClientId;
use aof_lab::{Config, Engine};

use super::redis::{AofCursor, RedisServer, RespConn};
use super::script::{Clock, Item, Mode, diff_aof, parse_script, replies_match, show_aof, show_raw};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub trait Side {
    fn label(&self) -> String;
    /// Runs one command; returns the raw RESP bytes of its reply. `Err` means the side is
    /// broken (the engine panicked): the script stops there.
    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String>;
    /// [`Side::call`] for a command that answers `frames` replies (a script's `*N` line): their
    /// bytes one after the other. A side whose one reply already holds them all (the engine's
    /// `Reply::Many`) keeps this default.
    fn call_frames(&mut self, argv: &[Vec<u8>], frames: usize) -> Result<Vec<u8>, String> {
        let _ = frames;
        self.call(argv)
    }
    /// After an `@sleep`: the engine runs its cron (active expiry, blocked-client timeouts).
    fn after_sleep(&mut self) {}
    /// The AOF bytes appended since the previous call.
    fn take_aof(&mut self) -> Vec<u8>;
}

/// A fresh real redis-server 7.0.15 and one connection to it.
pub struct RealSide {
    pub server: RedisServer,
    conn: RespConn,
    aof: AofCursor,
}

impl RealSide {
    pub fn start() -> RealSide {
        let server = RedisServer::start();
        let conn = server.connect();
        let mut side = RealSide { server, conn, aof: AofCursor::new() };
        side.take_aof();
        side
    }
}

impl Side for RealSide {
    fn label(&self) -> String {
        "redis".into()
    }
    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        match self.conn.command(argv) {
            Ok(r) => Ok(r),
            Err(_) => {
                // The server closed the connection (QUIT): like redis-cli, reconnect and retry.
                self.conn = self.server.connect();
                self.conn.command(argv).map_err(|e| format!("redis-server connection failed: {e}"))
            }
        }
    }
    fn call_frames(&mut self, argv: &[Vec<u8>], frames: usize) -> Result<Vec<u8>, String> {
        self.conn.command_frames(argv, frames).map_err(|e| format!("redis-server connection failed: {e}"))
    }
    fn take_aof(&mut self) -> Vec<u8> {
        self.aof.take_new(&self.server)
    }
}

/// The in-process engine, with the AOF on, driven by the real clock.
pub struct EngineSide {
    pub engine: Engine,
    client: ClientId,
}

impl EngineSide {
    pub fn new() -> EngineSide {
        let mut engine = Engine::new(Config { appendonly: true, ..Default::default() }, now_ms());
        let client = engine.connect();
        EngineSide { engine, client }
    }
}

impl Default for EngineSide {
    fn default() -> Self {
        EngineSide::new()
    }
}

impl Side for EngineSide {
    fn label(&self) -> String {
        "engine".into()
    }
    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let (engine, client) = (&mut self.engine, self.client);
        let reply = catch_unwind(AssertUnwindSafe(|| {
            if let Some(r) = engine.execute(client, &refs, now_ms()) {
                return r.to_resp_proto(engine.protocol(client));
            }
            // Blocked: the real server answered when the timeout fired; run the cron until the
            // engine times the client out too.
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(2));
                engine.cron(now_ms());
                if let Some((_, r)) = engine.take_unblocked().into_iter().find(|(id, _)| *id == client) {
                    return r.to_resp_proto(engine.protocol(client));
                }
            }
            b"-HARNESS the engine blocked for more than 10 s\r\n".to_vec()
        }))
        .map_err(|p| {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            format!("the engine PANICKED: {msg}")
        })?;
        // QUIT: the connection is gone; the next command comes on a new one (as redis-cli does).
        if self.engine.client(self.client).is_some_and(|c| c.close_after_reply) {
            self.engine.disconnect(self.client);
            self.client = self.engine.connect();
        }
        Ok(reply)
    }
    fn after_sleep(&mut self) {
        self.engine.cron(now_ms());
    }
    fn take_aof(&mut self) -> Vec<u8> {
        self.engine.take_aof_buf()
    }
}

#[derive(Debug, Default)]
pub struct ScriptResult {
    pub name: String,
    /// Command lines run (directives and the final checks not included).
    pub commands: usize,
    pub mismatches: Vec<String>,
}

impl ScriptResult {
    pub fn report(&self) -> String {
        let mut s = format!("compat: {}: {} commands, {} mismatches\n", self.name, self.commands, self.mismatches.len());
        for m in &self.mismatches {
            s.push_str(m);
            s.push('\n');
        }
        s
    }
}

const DIGEST: &[&[u8]] = &[b"DEBUG", b"DIGEST"];

/// Runs `text` on both sides and returns every mismatch found.
pub fn run_script(name: &str, text: &str, expected: &mut dyn Side, actual: &mut dyn Side) -> ScriptResult {
    run_script_proto(name, text, 2, expected, actual)
}

/// [`run_script`] over protocol `resp`: with 3, both sides first switch their connection with
/// `HELLO 3` (whose map reply must be a RESP3 map on both; the client ids differ), then every
/// reply is compared as the RESP3 bytes each sent. A `QUIT` or `RESET` in the script switches
/// both back to RESP2, as it would any client.
pub fn run_script_proto(name: &str, text: &str, resp: u8, expected: &mut dyn Side, actual: &mut dyn Side) -> ScriptResult {
    let (el, al) = (expected.label(), actual.label());
    let mut res = ScriptResult { name: name.to_string(), ..Default::default() };
    if resp == 3 {
        let hello: Vec<Vec<u8>> = vec![b"HELLO".to_vec(), b"3".to_vec()];
        for (label, r) in [(el.clone(), expected.call(&hello)), (al.clone(), actual.call(&hello))] {
            match r {
                Ok(r) if r.starts_with(b"%7\r\n") && r.windows(11).any(|w| w == b"proto\r\n:3\r\n") => {}
                Ok(r) => res.mismatches.push(format!("[{name}:0] HELLO 3 on {label}: not a RESP3 map: {}", show_raw(&r, 300))),
                Err(e) => res.mismatches.push(format!("[{name}:0] HELLO 3 on {label} failed: {e}")),
            }
        }
        if !res.mismatches.is_empty() {
            return res;
        }
    }
    let (lines, errors) = parse_script(text);
    for e in errors {
        res.mismatches.push(format!("[{name}] script error, {e}"));
    }
    let mut aof_exp = expected.take_aof();
    let mut aof_act = actual.take_aof();
    let digest_argv: Vec<Vec<u8>> = DIGEST.iter().map(|a| a.to_vec()).collect();
    // A reply can show a time an earlier line computed (PEXPIREAT after SET EX): times are
    // compared within the widest window of any line run so far, this one included.
    let mut widest = Clock::exact(now_ms());
    // COMPAT_TRACE=1: print every line with both replies and the AOF it appended (for authors).
    let trace = std::env::var_os("COMPAT_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    for line in &lines {
        let loc = format!("[{name}:{}]", line.number);
        // Everything wrong with this line becomes one entry of the report.
        let mut problems: Vec<String> = Vec::new();
        let mut frames_wanted = 0;
        let (mode, argv) = match &line.item {
            Item::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                expected.after_sleep();
                actual.after_sleep();
                (None, None)
            }
            Item::Digest => (Some(Mode::Exact), Some(&digest_argv)),
            Item::Command { mode, argv, frames } => {
                res.commands += 1;
                frames_wanted = *frames;
                (Some(*mode), Some(argv))
            }
        };
        // Both sides run this line between `start` and the clock read after the second answered.
        let start = now_ms();
        let mut clock = widest.widest(Clock::exact(start));
        if let (Some(mode), Some(argv)) = (mode, argv) {
            let (e, a) = if frames_wanted > 0 {
                (expected.call_frames(argv, frames_wanted), actual.call_frames(argv, frames_wanted))
            } else {
                (expected.call(argv), actual.call(argv))
            };
            widest = widest.widest(Clock::between(start, now_ms()));
            clock = widest;
            match (e, a) {
                (Ok(e), Ok(a)) => {
                    if trace {
                        println!("{loc} {} -> {el}: {} | {al}: {}", line.text, show_raw(&e, 300), show_raw(&a, 300));
                    }
                    if !replies_match(&e, &a, mode, clock) {
                        let how = match mode {
                            Mode::Exact => "",
                            Mode::Unordered => " (compared as an unordered array)",
                            Mode::Pairs => " (compared as unordered pairs)",
                            Mode::TypeOnly => " (compared by type only)",
                            Mode::Elapsed => " (integers compared as elapsed times)",
                            Mode::ElapsedSecs => " (integers compared as elapsed seconds)",
                            Mode::Stats => " (INFO lines as a set, times masked)",
                        };
                        problems.push(format!(
                            "    reply differs{how}\n    {el:>6}: {}\n    {al:>6}: {}",
                            show_raw(&e, 2000),
                            show_raw(&a, 2000)
                        ));
                    }
                }
                (e, a) => {
                    let err = [e.err(), a.err()].into_iter().flatten().collect::<Vec<_>>().join("; ");
                    res.mismatches.push(format!("{loc} {}\n    {err}\n    (script stopped here)", line.text));
                    return res;
                }
            }
        }
        // What this line appended to each AOF (active-expiry DELs land on `@sleep` lines).
        let de = expected.take_aof();
        let da = actual.take_aof();
        if trace && !(de.is_empty() && da.is_empty()) {
            println!("{loc}   AOF {el}:\n{}\n{loc}   AOF {al}:\n{}", show_aof(&de), show_aof(&da));
        }
        if diff_aof(&de, &da, clock, &el, &al).is_some() {
            problems.push(format!(
                "    AOF bytes appended by this line differ\n    {el}:\n{}\n    {al}:\n{}",
                show_aof(&de),
                show_aof(&da)
            ));
        }
        if !problems.is_empty() {
            res.mismatches.push(format!("{loc} {}\n{}", line.text, problems.join("\n")));
        }
        aof_exp.extend_from_slice(&de);
        aof_act.extend_from_slice(&da);
    }
    // Final checks: the dataset digest, then the whole AOF stream.
    let start = now_ms();
    let digests = (expected.call(&digest_argv), actual.call(&digest_argv));
    widest = widest.widest(Clock::between(start, now_ms()));
    match digests {
        (Ok(e), Ok(a)) if e != a => res.mismatches.push(format!(
            "[{name}:end] DEBUG DIGEST differs at the end of the script\n    {el:>6}: {}\n    {al:>6}: {}",
            show_raw(&e, 200),
            show_raw(&a, 200)
        )),
        (Ok(_), Ok(_)) => {}
        (e, a) => {
            let err = [e.err(), a.err()].into_iter().flatten().collect::<Vec<_>>().join("; ");
            res.mismatches.push(format!("[{name}:end] DEBUG DIGEST failed: {err}"));
        }
    }
    aof_exp.extend(expected.take_aof());
    aof_act.extend(actual.take_aof());
    if let Some(d) = diff_aof(&aof_exp, &aof_act, widest, &el, &al) {
        res.mismatches.push(format!("[{name}:end] {d}"));
    }
    res
}

/// Runs each `(name, text)` job with a fresh pair of sides made by `make`, on `threads` threads.
/// Results come back in the order of `jobs`.
pub fn run_parallel<F>(jobs: &[(String, String)], threads: usize, make: F) -> Vec<ScriptResult>
where
    F: Fn() -> (Box<dyn Side>, Box<dyn Side>) + Sync,
{
    run_parallel_proto(jobs, threads, 2, make)
}

/// [`run_parallel`] over protocol `resp` (see [`run_script_proto`]).
pub fn run_parallel_proto<F>(jobs: &[(String, String)], threads: usize, resp: u8, make: F) -> Vec<ScriptResult>
where
    F: Fn() -> (Box<dyn Side>, Box<dyn Side>) + Sync,
{
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            // The stack of redis-server's main thread (8 MB), 4 times over: a script recursing to
            // Lua's C-call limit (200 levels through a metamethod) runs the unoptimized VM's
            // large frames 200 deep, which the test threads' default 2 MB cannot hold.
            let runner = std::thread::Builder::new().stack_size(32 << 20);
            let spawned = runner.spawn_scoped(s, || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((name, text)) = jobs.get(i) else { break };
                    let (mut exp, mut act) = make();
                    let r = run_script_proto(name, text, resp, exp.as_mut(), act.as_mut());
                    results.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
                }
            });
            if let Err(e) = spawned {
                panic!("cannot start a script thread: {e}");
            }
        }
    });
    let mut v = results.into_inner().unwrap_or_else(|p| p.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}
