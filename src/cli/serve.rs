//! `aof-lab serve`: the engine behind a real TCP port, for redis-cli, redis-benchmark and client
//! libraries. Like Redis, one thread runs everything: an event loop (`ae` in Redis, `mio` here)
//! waits for sockets, and each **turn** of the loop goes:
//!
//! 1. read what clients sent and execute every complete command, in order (pipelining);
//!    replies are encoded into each client's reply buffer, not sent;
//! 2. `serverCron` every 1000/hz ms: active expiry, blocked-client timeouts;
//! 3. [`before_sleep`]: the AOF buffer is written to the incr file (and, with
//!    `appendfsync always`, fsynced; with `everysec` the fsync, once a second, is handed to the
//!    storage's bio thread, so the loop never waits for the disk);
//! 4. release the replies of the turn and write them (`handleClientsWithPendingWrites`).
//!
//! Step 3 before step 4 is the whole point of Redis's write path: a client is only told "OK" once
//! its write is in the AOF as far as the fsync policy promises. One write per turn for every
//! command of the turn is also what makes `always` affordable (group commit).
//!
//! **A busy script.** An EVAL or FCALL that runs past `busy-reply-threshold` hands the loop its
//! turn back every 100 000 Lua instructions ([`process_events_while_blocked`], Redis's
//! `processEventsWhileBlocked`): a turn that does not wait and has no cron. New connections are
//! accepted; the other connections' commands are read and run, and refused with `-BUSY …` but
//! for the `allow-busy` ones (SCRIPT KILL, FUNCTION KILL / STATS, MULTI, AUTH …); the AOF is
//! written as step 3 says, then the replies. The script's own connection is out of reach
//! meanwhile (`protectClient`): what it sends is read after the script. `SHUTDOWN NOSAVE` (with
//! NOW / FORCE or not) exits from there, the AOF flushed and fsynced, the script's client
//! unanswered; SHUTDOWN without NOSAVE is refused with the `-BUSY` error. A SIGINT / SIGTERM
//! waits for the script's end; the server then shuts down before that turn's replies go out, as
//! Redis's `serverCron` does.
//!
//! Compared with redis-server: TCP only (no unix socket, no TLS), runs in the foreground (no
//! `daemonize`, no pidfile), no idle `timeout` or `tcp-keepalive`, no client output-buffer or
//! query-buffer limits. SHUTDOWN kills a running child and saves `dump.rdb` when save points are
//! set (Redis's default), unless NOSAVE; a failed save, or a rewrite writing the first AOF,
//! refuses SHUTDOWN without FORCE (`-ERR Errors trying to SHUTDOWN. Check logs.`), while a signal
//! exits anyway. It binds 127.0.0.1 by default (Redis: `* -::*`). Protected mode refuses
//! non-loopback clients while the default user has no password; with `requirepass` set every
//! connection must AUTH first (`-NOAUTH`, and the smaller protocol limits of an unauthenticated
//! client), as in Redis.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aof_lab::config::WhileBlocked;
use aof_lab::engine::StartError;
use aof_lab::keyspace::HashMap;
use aof_lab::resp::{self, Limits};
use aof_lab::server::{AofState, ClientId, LogLevel};
use aof_lab::storage::FsStorage;
use aof_lab::{Config, Engine, Reply};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::anet;
use super::args::{REDIS_VERSION, ServeOptions, strerror};
use super::conn::{Conn, ReadOutcome, WriteOutcome};
use super::log::{Level, Logger};
use super::signals::{self, Signals};

/// Process settings the table accepts (CONFIG GET shows them) that this server does not act on,
/// with their "off" value: a start-up warning names any that is set.
const IGNORED_SETTINGS: &[(&str, &str)] =
    &[("daemonize", "no"), ("pidfile", ""), ("unixsocket", ""), ("tls-port", "0"), ("supervised", "no")];

/// `maxclients` default (the live value comes from the config).
const MAX_CLIENTS: usize = 10_000;
const SIGNAL_TOKEN: Token = Token(usize::MAX);
/// Listeners count down from here; clients use their engine id as token.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 1;

/// What `clientAcceptHandler` sends to a non-loopback client in protected mode.
const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `beforeSleep`, the AOF's moment in the turn: every command of the turn has run, no reply of
/// the turn has been released. The engine writes `aof_buf` to the incr file here and fsyncs as
/// `appendfsync` says (now with `always`; at most once a second, on the bio thread, with
/// `everysec`).
/// `Err` is the exit status when the engine did what Redis does with `exit(1)` (an AOF write or
/// fsync error under `always`): the turn's replies must then never be sent.
pub fn before_sleep(engine: &mut Engine, log: &Logger) -> Result<(), i32> {
    engine.before_sleep(now_ms());
    log.engine_lines(engine.take_log());
    if engine.exited().is_some() { Err(1) } else { Ok(()) }
}

/// `prepareForShutdown`: with the AOF on, flush what is left of `aof_buf` and fsync the incr
/// file, so that a clean shutdown loses nothing whatever `appendfsync` says.
pub fn prepare_for_shutdown(engine: &mut Engine, log: &Logger) {
    if engine.srv.aof_state != AofState::Off {
        log.log(Level::Notice, "Calling fsync() on the AOF file.");
        if let Err(e) = engine.flush_for_shutdown(now_ms()) {
            log.log(Level::Warning, &format!("Fail to fsync the AOF file: {}.", e.strerror()));
        }
    }
    log.engine_lines(engine.take_log());
}

/// `prepareForShutdown`'s last line when it fails: the server goes on.
const SHUTDOWN_FAILED: &str = "Errors trying to shut down the server. Check the logs for more information.";

/// Why the loop stops.
enum Shutdown {
    Signal(i32),
    Command,
}

pub fn main(opts: ServeOptions) -> i32 {
    // Redis chdirs into `dir` while reading its config, so a relative `logfile` lives there.
    let mut logfile = opts.logfile.clone();
    if !logfile.is_empty() && std::path::Path::new(&logfile).is_relative() {
        logfile = std::path::Path::new(&opts.config.dir).join(&logfile).to_string_lossy().into_owned();
    }
    let mut log = Logger::new(opts.loglevel, logfile);
    log.log(Level::Warning, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    log.log(
        Level::Warning,
        &format!(
            "aof-lab version={}, Redis version={REDIS_VERSION} compatible, bits={}, pid={}, just started",
            env!("CARGO_PKG_VERSION"),
            usize::BITS,
            std::process::id()
        ),
    );
    if opts.no_arguments {
        log.log(
            Level::Warning,
            "Warning: no config file specified, using the default config. In order to specify a config file use aof-lab serve /path/to/redis.conf",
        );
    } else {
        log.log(Level::Warning, "Configuration loaded");
    }
    for w in &opts.warnings {
        log.log(Level::Warning, w);
    }
    for (name, off) in IGNORED_SETTINGS {
        if let Some(v) = opts.config.get(name)
            && v != *off
        {
            log.log(Level::Warning, &format!("Warning: '{name} {v}' is accepted but not supported by aof-lab serve; ignoring it"));
        }
    }
    log.role = 'M';

    let poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            log.log(Level::Warning, &format!("Failed creating the event loop. Error message: '{}'", strerror(&e)));
            return 1;
        }
    };
    let Some(listeners) = listen_to_port(&opts.config, &poll, &log) else {
        return 1;
    };
    let signals = match Signals::install(poll.registry(), SIGNAL_TOKEN) {
        Ok(s) => s,
        Err(e) => {
            log.log(Level::Warning, &format!("Can't set up signal handlers: {}", strerror(&e)));
            return 1;
        }
    };
    log.log(Level::Notice, &format!("Running mode=standalone, port={}.", opts.config.port));
    log.log(Level::Warning, "Server initialized");
    // `loadDataFromDisk` and the AOF's start-up: manifest, load, incr file opened.
    let storage = match FsStorage::new(&opts.config.dir) {
        Ok(s) => s,
        Err(e) => {
            log.log(Level::Warning, &format!("Can't chdir to '{}': {}", opts.config.dir, e.strerror()));
            return 1;
        }
    };
    // The load's time ("DB loaded from append only file: 0.012 seconds") from this host's clock.
    let mut config = opts.config;
    config.load_clock = Some(super::monotonic_us);
    config.command_clock = Some(super::monotonic_us);
    config.prefetch = Some(super::prefetch);
    let engine = match Engine::open(config, Box::new(storage), now_ms()) {
        Ok(mut engine) => {
            log.engine_lines(engine.take_log());
            engine
        }
        Err(StartError { mut engine, lines }) => {
            log.engine_lines(engine.take_log());
            for l in lines {
                log.log(Level::Warning, &l);
            }
            return 1;
        }
    };
    log.log(Level::Notice, "Ready to accept connections");

    let net = Rc::new(RefCell::new(Net {
        log,
        poll,
        listeners,
        signals,
        conns: HashMap::default(),
        pending_writes: Vec::new(),
        ready: VecDeque::new(),
        read_again: Vec::new(),
        args: Vec::new(),
        refs: Vec::new(),
        shutdown: None,
        signal: None,
        signal_in_script: false,
    }));
    let mut engine = engine;
    engine.srv.config.while_blocked = Some(while_blocked_hook(Rc::clone(&net)));
    run(&mut engine, &net)
}

/// `listenToPort`: one listener per `bind` address. An address with a `-` prefix is optional:
/// it is skipped when this machine does not have it.
fn listen_to_port(config: &Config, poll: &Poll, log: &Logger) -> Option<Vec<TcpListener>> {
    let port = config.port;
    if port == 0 {
        log.log(Level::Warning, "Configured to not listen anywhere, exiting.");
        return None;
    }
    let backlog = config.get("tcp-backlog").and_then(|b| b.parse().ok()).unwrap_or(511);
    let mut listeners = Vec::new();
    for spec in config.bind.split_whitespace() {
        let (optional, addr) = match spec.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, spec),
        };
        match anet::tcp_server(port, addr, backlog) {
            Ok(l) => {
                let mut l = TcpListener::from_std(l);
                let token = Token(LISTENER_TOKEN_BASE - listeners.len());
                if let Err(e) = poll.registry().register(&mut l, token, Interest::READABLE) {
                    log.log(Level::Warning, &format!("Unrecoverable error creating server.ipfd file event: {}", strerror(&e)));
                    return None;
                }
                listeners.push(l);
            }
            Err(e) => {
                let unavailable = matches!(
                    e.errno,
                    libc::ENOPROTOOPT
                        | libc::EPROTONOSUPPORT
                        | libc::ESOCKTNOSUPPORT
                        | libc::EPFNOSUPPORT
                        | libc::EAFNOSUPPORT
                        | libc::EADDRNOTAVAIL
                );
                if optional && unavailable {
                    continue;
                }
                log.log(Level::Warning, &format!("Warning: Could not create server TCP listening socket {addr}:{port}: {}", e.msg));
                log.log(Level::Warning, &format!("Failed listening on port {port} (TCP), aborting."));
                return None;
            }
        }
    }
    if listeners.is_empty() {
        log.log(Level::Warning, "Configured to not listen anywhere, exiting.");
        return None;
    }
    Some(listeners)
}

/// Everything the event loop has but the engine. It is shared (`Rc<RefCell<…>>`) with the hook
/// the engine calls while a script is busy ([`process_events_while_blocked`]), so a borrow of
/// it is never held across an engine call that may run a command: a script may go busy there.
struct Net {
    log: Logger,
    poll: Poll,
    listeners: Vec<TcpListener>,
    signals: Signals,
    conns: HashMap<ClientId, Conn>,
    /// `clients_pending_write`: clients that got replies this turn.
    pending_writes: Vec<ClientId>,
    /// Connections to read, in order: those the poll announced (`true`: the event was the peer's
    /// FIN), and those a busy script's hook could not read (its own connection).
    ready: VecDeque<(ClientId, bool)>,
    /// Clients that still had bytes to read when their per-turn budget ran out.
    read_again: Vec<ClientId>,
    /// Argument vectors reused for every command (see [`recycle`]).
    args: Vec<Cow<'static, [u8]>>,
    refs: Vec<&'static [u8]>,
    shutdown: Option<Shutdown>,
    /// SIGINT / SIGTERM received (`shutdown_asap`): the server shuts down after the turn.
    signal: Option<i32>,
    /// It came while a script was busy: the server shuts down once the script's turn has run
    /// its commands, before its replies go out (Redis's `serverCron`, which a script past the
    /// threshold has made due, runs before `beforeSleep`).
    signal_in_script: bool,
}

/// Reuses a vector's allocation for a new lifetime: the vector is emptied, and collecting an
/// empty iterator into a type of the same layout keeps the buffer (in-place collection). This is
/// how the per-command argument vectors cost no allocation.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// The event loop: one turn per iteration, until SHUTDOWN or a signal. Its exit status.
fn run(engine: &mut Engine, net: &RefCell<Net>) -> i32 {
    let mut events = Events::with_capacity(1024);
    let mut next_cron = Instant::now();
    loop {
        {
            let mut n = net.borrow_mut();
            let now = Instant::now();
            let idle = n.read_again.is_empty() && n.ready.is_empty();
            // Wake for the cron, or for the first blocked client's timeout (1 ms past its
            // deadline: it times out once the deadline is strictly before now).
            let wake = match engine.next_blocked_deadline() {
                Some(d) => next_cron.min(now + Duration::from_millis(u64::try_from(d + 1 - now_ms()).unwrap_or(0))),
                None => next_cron,
            };
            let timeout = if idle { wake.saturating_duration_since(now) } else { Duration::ZERO };
            if let Err(e) = n.poll.poll(&mut events, Some(timeout))
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                n.log.log(Level::Warning, &format!("Event loop failed: {}", strerror(&e)));
                return 1;
            }
            for event in events.iter() {
                n.dispatch(engine, event);
            }
        }
        read_ready(engine, net);
        if net.borrow().shutdown.is_none() && !net.borrow().read_again.is_empty() {
            net.borrow_mut().queue_read_again();
            read_ready(engine, net);
        }

        // `beforeSleep`'s `handleBlockedClientsTimeout`: every turn, not only at the cron.
        if net.borrow().shutdown.is_none() && !script_busy(engine) && engine.next_blocked_deadline().is_some_and(|d| d < now_ms()) {
            engine.handle_blocked_timeouts(now_ms());
            serve_unblocked(engine, net);
        }
        if net.borrow().shutdown.is_none() && Instant::now() >= next_cron {
            engine.cron(now_ms());
            serve_unblocked(engine, net);
            {
                // clientsCron: the output limits again (a soft limit's seconds run out here).
                let mut n = net.borrow_mut();
                let ids: Vec<ClientId> = n.conns.keys().copied().collect();
                for id in ids {
                    n.close_on_output_limit(engine, id, false);
                }
            }
            // CONFIG SET loglevel takes effect here, within 1/hz s.
            let mut n = net.borrow_mut();
            n.log.level = engine.srv.config.get("loglevel").as_deref().and_then(Level::parse).unwrap_or(n.log.level);
            let hz = u64::from(engine.srv.config.hz.clamp(1, 500));
            next_cron += Duration::from_millis(1000 / hz);
            // After a long turn, do not run cron in a burst to catch up.
            next_cron = next_cron.max(Instant::now());
        }

        let mut n = net.borrow_mut();
        // SHUTDOWN exits from inside the command, as Redis does: the replies of this turn are
        // never sent (the AOF is flushed by prepare_for_shutdown).
        if let Some(reason) = n.shutdown.take() {
            finish_shutdown(engine, &n.log, reason);
            return 0;
        }
        if std::mem::take(&mut n.signal_in_script)
            && let Some(sig) = n.signal.take()
            && finish_shutdown(engine, &n.log, Shutdown::Signal(sig))
        {
            return 0;
        }
        if let Err(status) = before_sleep(engine, &n.log) {
            return status;
        }
        // What beforeSleep itself sent (BCAST invalidations).
        n.deliver_messages(engine);
        n.handle_clients_with_pending_writes(engine);
        if let Some(sig) = n.signal.take()
            && finish_shutdown(engine, &n.log, Shutdown::Signal(sig))
        {
            return 0;
        }
    }
}

/// The rest of `prepareForShutdown`; false when it failed and the server goes on serving (a
/// signal whose final save failed, as Redis: "Errors trying to shut down the server").
fn finish_shutdown(engine: &mut Engine, log: &Logger, reason: Shutdown) -> bool {
    // What the engine logged first (the SHUTDOWN command's lines) keeps its place.
    log.engine_lines(engine.take_log());
    if let Shutdown::Signal(sig) = reason {
        log.log_from_handler(&format!("Received {} scheduling shutdown...", signals::name(sig)));
        log.log(Level::Warning, "User requested shutdown...");
        // The command path saved already (its failure is the command's error reply).
        engine.srv.now_ms = now_ms();
        let saved = engine.srv.shutdown_save(false, false, false);
        log.engine_lines(engine.take_log());
        if saved.is_err() {
            log.log(Level::Warning, SHUTDOWN_FAILED);
            return false;
        }
    }
    prepare_for_shutdown(engine, log);
    log.log(Level::Warning, "aof-lab is now ready to exit, bye bye...");
    true
}

/// The engine's [`WhileBlocked`]: [`process_events_while_blocked`] on the loop's state.
fn while_blocked_hook(net: Rc<RefCell<Net>>) -> WhileBlocked {
    let mut events = Events::with_capacity(256);
    WhileBlocked::new(move |engine: &mut Engine| process_events_while_blocked(engine, &net, &mut events))
}

/// `processEventsWhileBlocked`, called by the engine from inside a script past
/// `busy-reply-threshold` (every 100 000 Lua instructions), with the whole engine lent: one
/// turn of the loop without waiting and without cron. New connections are accepted; what the
/// other clients sent is read and run (`-BUSY` but for the `allow-busy` commands); then
/// `beforeSleep`'s part (the AOF written as the policy says) and the replies written. The
/// script's own connection is out of [`Net::conns`] while its commands run
/// ([`process_input_buffer`], Redis's `protectClient`): what it sends now is read after the
/// script. `SHUTDOWN NOSAVE` ends the process here (the script never finishes); a signal waits
/// for the end of the script, as in Redis.
fn process_events_while_blocked(engine: &mut Engine, net: &RefCell<Net>, events: &mut Events) {
    {
        let mut n = net.borrow_mut();
        // The `Slow script detected` warning, at once.
        n.log.engine_lines(engine.take_log());
        // An interrupted poll has nothing for us this time.
        if n.poll.poll(events, Some(Duration::ZERO)).is_ok() {
            for event in events.iter() {
                n.dispatch(engine, event);
            }
        }
        n.queue_read_again();
    }
    read_ready(engine, net);
    let mut n = net.borrow_mut();
    if let Some(reason) = n.shutdown.take() {
        finish_shutdown(engine, &n.log, reason);
        std::process::exit(0);
    }
    // `beforeSleep` while blocked: `flushAppendOnlyFile(0)`, then the replies (no expiry).
    let now = now_ms();
    engine.srv.now_ms = now;
    engine.srv.storage.tick(now);
    engine.srv.flush_append_only_file(false);
    n.log.engine_lines(engine.take_log());
    if engine.exited().is_some() {
        std::process::exit(1);
    }
    n.handle_clients_with_pending_writes(engine);
}

/// True only inside [`process_events_while_blocked`]: the loop itself never runs while a
/// script does. Connections that are out of reach then (the script's) are left for later.
fn script_busy(engine: &Engine) -> bool {
    engine.srv.script.is_some()
}

/// Reads and runs, in order, what the connections in [`Net::ready`] sent, until the queue is
/// empty or SHUTDOWN stops the server. While a script is busy, a connection that cannot be
/// served (the script's own: out of the map, or its client out of the engine's) is queued again
/// for after the script.
fn read_ready(engine: &mut Engine, net: &RefCell<Net>) {
    let busy = script_busy(engine);
    let mut later = Vec::new();
    loop {
        let next = {
            let mut n = net.borrow_mut();
            if n.shutdown.is_some() { None } else { n.ready.pop_front() }
        };
        let Some((id, until_eof)) = next else {
            break;
        };
        if busy && !(net.borrow().conns.contains_key(&id) && engine.client(id).is_some()) {
            later.push((id, until_eof));
            continue;
        }
        read_from_client(engine, net, id, until_eof);
    }
    net.borrow_mut().ready.extend(later);
}

fn read_from_client(engine: &mut Engine, net: &RefCell<Net>, id: ClientId, until_eof: bool) {
    let outcome = {
        let mut guard = net.borrow_mut();
        let n = &mut *guard;
        let Some(conn) = n.conns.get_mut(&id) else {
            return;
        };
        if conn.close_after_reply {
            // Whatever else it sends is ignored, as in Redis.
            let _ = conn.read(until_eof);
            conn.discard_query();
            return;
        }
        let outcome = conn.read(until_eof);
        match outcome {
            ReadOutcome::Error => {
                n.free_client(engine, id);
                return;
            }
            ReadOutcome::More => n.read_again.push(id),
            ReadOutcome::Drained | ReadOutcome::Eof => {}
        }
        outcome
    };
    process_input_buffer(engine, net, id);
    if matches!(outcome, ReadOutcome::Eof) {
        let mut n = net.borrow_mut();
        if n.log.enabled(Level::Verbose)
            && let Some(c) = n.conns.get(&id)
        {
            let info = client_info(engine, c);
            n.log.log(Level::Verbose, &format!("Client closed connection {info}"));
        }
        match n.conns.get_mut(&id) {
            // A blocked client that went away is freed at once (its reply has nowhere to go).
            Some(c) if c.blocked => n.free_client(engine, id),
            // The commands it sent before closing its side were run; their replies are still
            // sent (a half-closed peer such as `nc -N` reads them), then the connection closes.
            Some(c) => {
                c.close_after_reply = true;
                c.discard_query();
                n.mark_pending_write(id);
            }
            None => {}
        }
    }
    serve_unblocked(engine, net);
}

/// What ended [`execute_buffered`].
enum Stop {
    /// The buffer holds no complete command, or the client blocked or must close.
    Input,
    /// A protocol error: the line for the verbose log.
    ProtocolError(String),
    Shutdown,
}

/// `processInputBuffer`: executes every complete command in the query buffer, in order, until
/// the buffer holds only part of a command, or the client blocks or must close.
///
/// The connection is out of [`Net::conns`] while its commands run, and `net` is not borrowed:
/// a script that goes busy lends the engine to [`process_events_while_blocked`], which then
/// serves the other connections but cannot see this one (Redis's `protectClient`).
fn process_input_buffer(engine: &mut Engine, net: &RefCell<Net>, id: ClientId) {
    let (mut conn, mut args, mut refs) = {
        let mut n = net.borrow_mut();
        if n.shutdown.is_some() {
            return;
        }
        let Some(conn) = n.conns.remove(&id) else {
            return;
        };
        (conn, std::mem::take(&mut n.args), std::mem::take(&mut n.refs))
    };
    let before = conn.obuf.len();
    let stop = execute_buffered(engine, &mut conn, &mut args, &mut refs);
    conn.after_parse();
    let wrote = conn.obuf.len() != before || conn.close_after_reply;
    let mut n = net.borrow_mut();
    (n.args, n.refs) = (args, refs);
    match stop {
        Stop::Input => {}
        Stop::ProtocolError(line) => n.log.log(Level::Verbose, &line),
        Stop::Shutdown => n.shutdown = Some(Shutdown::Command),
    }
    n.conns.insert(id, conn);
    if wrote {
        n.mark_pending_write(id);
    }
    n.deliver_messages(engine);
    n.close_killed(engine);
}

/// The command loop of [`process_input_buffer`]: parses, runs (serve answers SHUTDOWN itself)
/// and encodes each reply into the connection's reply buffer. `args` and `refs` are the
/// reused argument vectors.
fn execute_buffered(engine: &mut Engine, conn: &mut Conn, args: &mut Vec<Cow<'static, [u8]>>, refs: &mut Vec<&'static [u8]>) -> Stop {
    let id = conn.id;
    let mut argv: Vec<Cow<[u8]>> = recycle(std::mem::take(args));
    // `refs` borrows from `argv`, which the next parse rewrites: it is re-lent per command.
    let mut spare_refs: Vec<&'static [u8]> = std::mem::take(refs);
    let mut stop = Stop::Input;
    while !conn.blocked && !conn.close_after_reply {
        let query = conn.qbuf.get(conn.qstart..conn.qend).unwrap_or_default();
        // Per command: an AUTH lifts the limits of an unauthenticated connection.
        let limits = Limits { max_bulk_len: engine.srv.config.proto_max_bulk_len, unauthenticated: engine.auth_required(id) };
        match resp::parse_command(query, &mut argv, limits) {
            Ok(None) => break,
            Ok(Some(used)) => {
                conn.qstart += used;
                if argv.is_empty() {
                    continue; // an empty line or `*0`: nothing to run
                }
                let mut argv_refs: Vec<&[u8]> = recycle(std::mem::take(&mut spare_refs));
                argv_refs.extend(argv.iter().map(|a| a.as_ref()));
                let now = now_ms();
                conn.last_interaction_ms = now;
                if argv_refs.first().is_some_and(|n| n.eq_ignore_ascii_case(b"shutdown")) {
                    // Not `no_auth`: a stranger cannot stop the server.
                    let outcome = if engine.auth_required(id) {
                        Err(Reply::err(aof_lab::cmd::NOAUTH_ERR))
                    } else if let Some(noperm) = engine.acl_deny(id, &argv_refs) {
                        Err(noperm)
                    } else {
                        shutdown_command(engine, id, &argv_refs)
                    };
                    match outcome {
                        Ok(()) => stop = Stop::Shutdown,
                        Err(reply) => {
                            if let Reply::Error(text) = &reply {
                                engine.srv.count_error_reply(text);
                            }
                            reply.encode_proto(&mut conn.obuf, engine.protocol(id));
                        }
                    }
                } else {
                    match engine.execute(id, &argv_refs, now) {
                        // In the protocol the command left (HELLO 3 answers in RESP3), with
                        // what the command pushed to this connection around it.
                        Some(reply) => {
                            let proto = engine.protocol(id);
                            let own = engine.take_own_messages(id);
                            own.before.iter().for_each(|m| m.encode_proto(&mut conn.obuf, proto));
                            reply.encode_proto(&mut conn.obuf, proto);
                            own.after.iter().for_each(|m| m.encode_proto(&mut conn.obuf, proto));
                        }
                        None => conn.blocked = true,
                    }
                }
                spare_refs = recycle(argv_refs);
                if engine.client(id).is_some_and(|c| c.close_after_reply) {
                    conn.close_after_reply = true;
                }
                if matches!(stop, Stop::Shutdown) {
                    break;
                }
            }
            Err(e) => {
                let shown = String::from_utf8_lossy(query.get(..query.len().min(128)).unwrap_or_default()).into_owned();
                stop = Stop::ProtocolError(format!(
                    "Protocol error ({}) from client: id={} addr={}. Query buffer during protocol error: '{}'",
                    e.0,
                    id,
                    conn.addr,
                    resp::repr(shown.as_bytes())
                ));
                let reply = e.reply();
                if let Reply::Error(text) = &reply {
                    engine.srv.count_error_reply(text);
                }
                reply.encode(&mut conn.obuf);
                conn.close_after_reply = true;
                conn.qstart = conn.qend; // the rest of the buffer is never read
                break;
            }
        }
    }
    *refs = spare_refs;
    *args = recycle(argv);
    stop
}

/// Replies for clients the engine served or timed out (BLPOP …), then whatever those clients
/// had pipelined behind the blocking command (`processUnblockedClients`). Not while a script is
/// busy: nothing can be served then, and what was served before waits for the script's end.
fn serve_unblocked(engine: &mut Engine, net: &RefCell<Net>) {
    if script_busy(engine) {
        return;
    }
    loop {
        let served = engine.take_unblocked();
        if served.is_empty() {
            return;
        }
        for (id, reply) in served {
            {
                let mut guard = net.borrow_mut();
                let n = &mut *guard;
                let Some(conn) = n.conns.get_mut(&id) else {
                    continue;
                };
                reply.encode_proto(&mut conn.obuf, engine.protocol(id));
                conn.blocked = false;
                n.mark_pending_write(id);
            }
            process_input_buffer(engine, net, id);
        }
    }
}

impl Net {
    /// One poll event: a signal is noted, a listener accepts, a client's read is queued (in
    /// [`Net::ready`], read by [`read_ready`]) and its pending replies are written.
    fn dispatch(&mut self, engine: &mut Engine, event: &mio::event::Event) {
        match event.token() {
            SIGNAL_TOKEN => {
                // Like `shutdown_asap`: the turn completes (its replies go out after the AOF
                // flush), then the server shuts down.
                if let Some(sig) = self.signals.take() {
                    self.signal = Some(sig);
                    self.signal_in_script |= script_busy(engine);
                }
            }
            Token(t) if t > LISTENER_TOKEN_BASE - self.listeners.len() && t <= LISTENER_TOKEN_BASE => {
                self.accept(engine, LISTENER_TOKEN_BASE - t)
            }
            Token(t) => {
                let id = t as ClientId;
                let closed = event.is_read_closed() || event.is_error();
                if event.is_readable() || closed {
                    self.ready.push_back((id, closed));
                }
                if event.is_writable() {
                    self.write_to_client(engine, id);
                }
            }
        }
    }

    /// The clients whose read budget ran out are read again.
    fn queue_read_again(&mut self) {
        let again = std::mem::take(&mut self.read_again);
        self.ready.extend(again.into_iter().map(|id| (id, false)));
    }

    fn accept(&mut self, engine: &mut Engine, index: usize) {
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, addr)) => {
                    let laddr = stream.local_addr().unwrap_or(addr);
                    // Replies are small and latency matters more than packet count (anetEnableTcpNoDelay).
                    let _ = stream.set_nodelay(true);
                    let max_clients = engine.srv.config.get("maxclients").and_then(|m| m.parse().ok()).unwrap_or(MAX_CLIENTS);
                    if self.conns.len() >= max_clients {
                        let _ = stream.write(b"-ERR max number of clients reached\r\n");
                        continue;
                    }
                    // clientAcceptHandler: protected mode turns strangers away only while the
                    // default user has no password; with `requirepass` they may connect, and
                    // must AUTH before anything else.
                    if engine.srv.config.protected_mode && engine.srv.acl.default_nopass() && !addr.ip().is_loopback() {
                        let _ = stream.write(DENIED.as_bytes());
                        continue;
                    }
                    let id = engine.connect();
                    if let Err(e) = self.poll.registry().register(&mut stream, Token(id as usize), Interest::READABLE) {
                        self.log.log(Level::Warning, &format!("Error registering fd event for the new client: {}", strerror(&e)));
                        engine.disconnect(id);
                        continue;
                    }
                    if self.log.enabled(Level::Verbose) {
                        self.log.log(Level::Verbose, &format!("Accepted {}:{}", addr.ip(), addr.port()));
                    }
                    engine.set_client_addr(id, addr.to_string(), laddr.to_string(), i64::from(fd(&stream)));
                    self.conns.insert(id, Conn::new(id, stream, addr, laddr, now_ms()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.log.log(Level::Warning, &format!("Accepting client connection: {}", strerror(&e)));
                    return;
                }
            }
        }
    }

    /// Connections CLIENT KILL closed: freed now, as `freeClient` does (what they had not
    /// been sent yet is lost).
    fn close_killed(&mut self, engine: &mut Engine) {
        for id in engine.take_killed() {
            self.free_client(engine, id);
        }
    }

    /// What PUBLISH sent to other connections, appended to their reply buffers (released with
    /// the turn's replies, as Redis writes them in `beforeSleep`). While a script is busy they
    /// wait for its end (its own connection, a possible target, is out of the map).
    fn deliver_messages(&mut self, engine: &mut Engine) {
        if !engine.srv.pubsub.has_messages() || script_busy(engine) {
            return;
        }
        for (target, msg) in engine.take_messages() {
            let Some(conn) = self.conns.get_mut(&target) else {
                continue;
            };
            msg.encode_proto(&mut conn.obuf, engine.protocol(target));
            self.mark_pending_write(target);
        }
    }

    fn mark_pending_write(&mut self, id: ClientId) {
        if let Some(c) = self.conns.get_mut(&id)
            && !c.pending_write
        {
            c.pending_write = true;
            self.pending_writes.push(id);
        }
    }

    fn write_to_client(&mut self, engine: &mut Engine, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        match conn.write() {
            WriteOutcome::Error => self.free_client(engine, id),
            WriteOutcome::Blocked => {}
            WriteOutcome::Done => self.after_write(engine, id),
        }
    }

    /// `handleClientsWithPendingWrites`: releases the turn's replies and writes them; a client
    /// whose socket is full gets a writable handler for the rest. While a script is busy, its
    /// own connection (out of the map) stays listed for after the script.
    fn handle_clients_with_pending_writes(&mut self, engine: &mut Engine) {
        let busy = script_busy(engine);
        let mut list = std::mem::take(&mut self.pending_writes);
        let mut kept = Vec::new();
        for id in list.drain(..) {
            let Some(conn) = self.conns.get_mut(&id) else {
                if busy {
                    kept.push(id);
                }
                continue;
            };
            conn.pending_write = false;
            if self.close_on_output_limit(engine, id, true) {
                continue;
            }
            let Some(conn) = self.conns.get_mut(&id) else { continue };
            conn.release_replies();
            match conn.write() {
                WriteOutcome::Error => self.free_client(engine, id),
                WriteOutcome::Blocked => {
                    if !conn.want_writable {
                        conn.want_writable = true;
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        if self.poll.registry().reregister(&mut conn.stream, Token(id as usize), interest).is_err() {
                            self.free_client(engine, id);
                        }
                    }
                }
                WriteOutcome::Done => self.after_write(engine, id),
            }
        }
        list.extend(kept);
        self.pending_writes = list;
    }

    fn after_write(&mut self, engine: &mut Engine, id: ClientId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.has_unwritten() {
            return; // replies of this turn, released after before_sleep
        }
        if conn.close_after_reply {
            self.free_client(engine, id);
            return;
        }
        if conn.want_writable {
            conn.want_writable = false;
            if self.poll.registry().reregister(&mut conn.stream, Token(id as usize), Interest::READABLE).is_err() {
                self.free_client(engine, id);
            }
        }
    }

    /// `closeClientOnOutputBufferLimitReached`: a connection whose unsent replies stand over its
    /// class's hard limit, or over the soft one for longer than its seconds
    /// (`client-output-buffer-limit`; a subscriber is `pubsub`, every other client `normal`),
    /// is closed and its replies dropped. Checked when replies were added (`scheduled`, Redis's
    /// async close) and by the cron, as Redis does. The measure counts the bytes this server
    /// holds; Redis counts its reply blocks' allocations, a little more for the same bytes.
    fn close_on_output_limit(&mut self, engine: &mut Engine, id: ClientId, scheduled: bool) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else { return false };
        let used = conn.reply_bytes() as u64;
        if used == 0 {
            return false;
        }
        let pubsub = engine.client(id).is_some_and(|c| c.subs.total() > 0);
        let limits = engine.srv.config.client_output_buffer_limits();
        let (hard, soft, soft_seconds) = limits[if pubsub { 2 } else { 0 }];
        let now_s = now_ms() / 1000;
        let mut over_soft = soft != 0 && used >= soft;
        if over_soft {
            if conn.obuf_soft_limit_since == 0 {
                conn.obuf_soft_limit_since = now_s;
                over_soft = false;
            } else if now_s - conn.obuf_soft_limit_since <= soft_seconds {
                over_soft = false;
            }
        } else {
            conn.obuf_soft_limit_since = 0;
        }
        if !(over_soft || (hard != 0 && used >= hard)) {
            return false;
        }
        let info = client_info(engine, conn);
        let how = if scheduled { "scheduled to be closed ASAP" } else { "closed" };
        self.log.log(Level::Warning, &format!("Client {info} {how} for overcoming of output buffer limits."));
        self.free_client(engine, id);
        true
    }

    fn free_client(&mut self, engine: &mut Engine, id: ClientId) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            engine.disconnect(id);
        }
    }
}

/// A short `CLIENT INFO` line for the verbose log.
fn client_info(engine: &Engine, c: &Conn) -> String {
    let now = now_ms();
    let ec = engine.client(c.id);
    let name = ec.and_then(|e| e.name.as_deref()).map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let multi = ec.and_then(|e| e.multi.as_ref()).map_or(-1, |m| m.commands.len() as i64);
    let flags = match (c.blocked, multi >= 0) {
        (true, _) => "b",
        (false, true) => "x",
        _ => "N",
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} multi={} qbuf={} obl={}",
        c.id,
        c.addr,
        c.laddr,
        fd(&c.stream),
        name,
        (now - c.created_ms) / 1000,
        (now - c.last_interaction_ms) / 1000,
        flags,
        ec.map_or(0, |e| e.db),
        multi,
        c.qend - c.qstart,
        c.obuf.len() - c.opos
    )
}

fn fd(s: &TcpStream) -> i32 {
    use std::os::fd::AsRawFd;
    s.as_raw_fd()
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as `shutdownCommand` checks it. `Ok` means
/// "shut down now"; there is no reply then, the connection closes with the process.
fn shutdown_command(engine: &mut Engine, id: ClientId, argv: &[&[u8]]) -> Result<(), Reply> {
    if let Some(client) = engine.client_mut(id)
        && let Some(multi) = client.multi.as_mut()
    {
        // SHUTDOWN is `no-multi`: refused while queueing, and the transaction is flagged.
        multi.dirty_exec = true;
        return Err(Reply::err("ERR Command not allowed inside a transaction"));
    }
    let (mut nosave, mut save, mut other, mut abort, mut force) = (false, false, false, false, false);
    for a in argv.iter().skip(1) {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => other = true,
            b"force" => (other, force) = (true, true),
            b"abort" => abort = true,
            _ => return Err(Reply::syntax()),
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(Reply::syntax());
    }
    if abort {
        // Shutdown here never waits (no replicas to catch up), so there is nothing to abort.
        return Err(Reply::err("ERR No shutdown in progress."));
    }
    // A busy script (`isInsideYieldingLongCommand`): only SHUTDOWN NOSAVE may stop the server;
    // it cannot save a dataset a script is halfway through.
    if !nosave && let Some(script) = engine.srv.script.as_ref().filter(|s| s.timed_out) {
        return Err(script.busy_error());
    }
    // prepareForShutdown's RDB part: with save points (and without NOSAVE), or with SAVE.
    engine.srv.now_ms = now_ms();
    engine.srv.log(LogLevel::Warning, "User requested shutdown...".into());
    engine.srv.shutdown_save(save, nosave, force).map_err(|_| {
        engine.srv.log(LogLevel::Warning, SHUTDOWN_FAILED.into());
        Reply::err("ERR Errors trying to SHUTDOWN. Check logs.")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocation() {
        let mut v: Vec<&'static [u8]> = Vec::with_capacity(8);
        v.push(b"x");
        let ptr = v.as_ptr() as usize;
        let owned = vec![1u8, 2];
        let mut w: Vec<&[u8]> = recycle(v);
        w.push(&owned);
        assert_eq!(w.as_ptr() as usize, ptr);
        assert!(w.capacity() >= 8);
    }

    #[test]
    fn shutdown_arguments() {
        let mut e = Engine::new(Config::default(), 0);
        let c = e.connect();
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown", b"foo"]), Err(Reply::syntax()));
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown", b"save", b"nosave"]), Err(Reply::syntax()));
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown", b"abort", b"now"]), Err(Reply::syntax()));
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown", b"abort"]), Err(Reply::err("ERR No shutdown in progress.")));
        assert_eq!(shutdown_command(&mut e, c, &[b"SHUTDOWN", b"NOSAVE", b"NOW", b"FORCE"]), Ok(()));
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown"]), Ok(()));
        e.execute(c, &[b"MULTI"], 0);
        assert_eq!(shutdown_command(&mut e, c, &[b"shutdown"]), Err(Reply::err("ERR Command not allowed inside a transaction")));
        assert_eq!(e.execute(c, &[b"EXEC"], 0), Some(Reply::err("EXECABORT Transaction discarded because of previous errors.")));
    }
}
