//! `Server` is Redis's `server` global: the databases, the config, the counters, the AOF feed and
//! the propagation queue. [`Ctx`] is what a command handler sees: the server, the calling client
//! and the per-call propagation choices.
//!
//! Time is an input: the host sets `now_ms` before each command (Redis's cached `mstime`), and
//! every TTL decision uses it. Nothing here reads a clock.

use std::collections::{HashSet, VecDeque};

use crate::aof::{Aof, Feed};
use crate::cmd::{Command, DENYOOM, WRITE};
use crate::config::Config;
use crate::keyspace::{Db, HashMap, Key, MapKey, Value};
use crate::reply::Reply;
use crate::resp::encode_command;
use crate::storage::{MemoryStorage, Storage};

pub type ClientId = u64;

/// `curr_run_ctx`: the script running now (EVAL / FCALL and their variants), as other clients
/// see it once it has run past `busy-reply-threshold` (`SCRIPT_TIMEDOUT`).
#[derive(Clone, Debug, Default)]
pub struct RunningScript {
    /// `scriptCurrFunction`: the SHA1 of an EVAL body, a function's name.
    pub name: String,
    /// The caller's command (FUNCTION STATS' `command`).
    pub argv: Vec<Vec<u8>>,
    /// `SCRIPT_EVAL_MODE`: EVAL (killed by SCRIPT KILL), not FCALL (FUNCTION KILL).
    pub eval: bool,
    /// When it started, on the host's clock (µs); 0 without one.
    pub started_us: u64,
    /// `busy-reply-threshold` when it started (ms); 0: never times out.
    pub threshold_ms: u64,
    /// `SCRIPT_TIMEDOUT`: past the threshold; other clients are answered `-BUSY`.
    pub timed_out: bool,
    /// `SCRIPT_WRITE_DIRTY`: it wrote, so it can no longer be killed.
    pub write_dirty: bool,
    /// `SCRIPT_KILLED`: SCRIPT KILL / FUNCTION KILL asked for its end.
    pub killed: bool,
    /// The caller, when its tracking remembers the keys the script declared once it reads
    /// ([`crate::cmd::scripting::tracking_caller`]).
    pub tracked_by: Option<ClientId>,
}

impl RunningScript {
    /// `-BUSY …`: `shared.slowevalerr` for EVAL, `shared.slowscripterr` for a function.
    pub fn busy_error(&self) -> Reply {
        let kill = if self.eval { "SCRIPT KILL" } else { "FUNCTION KILL" };
        Reply::error(format!("BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE."))
    }
}

#[derive(Clone, Debug, Default)]
pub struct MultiState {
    pub commands: Vec<Vec<Vec<u8>>>,
    /// `CLIENT_DIRTY_EXEC`: a command was rejected while queueing; EXEC will abort.
    pub dirty_exec: bool,
}

/// A client blocked on keys (BLPOP & co.), waiting for a push or its timeout.
#[derive(Clone, Debug)]
pub struct Blocked {
    pub argv: Vec<Vec<u8>>,
    pub db: usize,
    pub keys: Vec<Key>,
    /// Absolute unix ms; 0 = forever.
    pub deadline_ms: i64,
    /// What a timeout replies (`replyToBlockedClientTimedOut`: `*-1` for every list and zset
    /// command, BLMOVE and BRPOPLPUSH included).
    pub timeout_reply: Reply,
    /// Re-run also when the key is gone: XREADGROUP then answers `-UNBLOCKED`
    /// (`unblockDeletedStreamReadgroupClients`); the others just keep waiting.
    pub wake_on_delete: bool,
    /// `BLOCKED_POSTPONE`: held by `CLIENT PAUSE`, the command runs again when the pause ends.
    pub postponed: bool,
}

impl Blocked {
    /// The command to re-run when a key is ready: the client's, unless the handler recorded its
    /// own (XREAD keeps the IDs it resolved `$` to).
    pub fn with_argv(mut self, argv: &[&[u8]]) -> Blocked {
        if self.argv.is_empty() {
            self.argv = argv.iter().map(|a| a.to_vec()).collect();
        }
        self
    }
}

#[derive(Clone, Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Key,
}

/// A client watching a key, as `db->watched_keys` lists it (Redis's `watchedKey`): `expired`
/// while the key it watches is one that was already logically expired (but not yet deleted)
/// when WATCHed, or that a SWAPDB replaced with one. Deleting such a key is no logical change
/// (the flag clears); its expiring later does not abort EXEC ([`Server::signal_modified_key`],
/// [`Server::touch_all_watched_keys_in_db`], `cmd::multi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watcher {
    pub client: ClientId,
    pub expired: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Client {
    pub id: ClientId,
    pub db: usize,
    pub name: Option<Vec<u8>>,
    pub multi: Option<MultiState>,
    pub watched: Vec<WatchedKey>,
    /// Set while EXEC runs the queue: blocking commands then time out at once.
    pub in_exec: bool,
    /// The queue's length while EXEC runs it (CLIENT LIST's `multi=`, as `mstate.count` is).
    pub exec_len: usize,
    pub blocked: Option<Blocked>,
    /// Set only while `handleClientsBlockedOnKeys` re-runs this client's blocked command: the key
    /// that received data. Like Redis serving one `readyList` entry, the command serves that key
    /// alone, and stays blocked if it holds no value of the type it waits for.
    pub ready_key: Option<Key>,
    /// QUIT: close once the reply is written.
    pub close_after_reply: bool,
    pub created_ms: i64,
    /// `c->authenticated`: set at connect (and by RESET) when the `default` user has no
    /// password, else by a successful AUTH or HELLO … AUTH. A password set later does not
    /// log out the connections already open; removing it lets everyone in.
    pub authenticated: bool,
    /// `c->resp`: the protocol its replies are encoded in. 0 (a new client) and 2 mean RESP2;
    /// `HELLO 3` sets 3, `HELLO 2` and RESET set 2.
    pub resp: u8,
    /// Pub/sub subscriptions; any makes it `CLIENT_PUBSUB` (see [`crate::cmd::pubsub`]).
    pub subs: crate::cmd::pubsub::Subscriptions,
    /// What the host knows of the connection (CLIENT LIST's `addr`, `laddr`, `fd`): set by
    /// `serve` from its socket; empty (and fd -1) for the lab's connections, which have none.
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    /// When it last sent a command (CLIENT LIST's `idle`).
    pub last_interaction_ms: i64,
    /// `c->lastcmd` and its container (CLIENT LIST's `cmd`, `client|list`); none before the
    /// first command.
    pub last_cmd: Option<(&'static Command, Option<&'static Command>)>,
    /// `CLIENT NO-EVICT on`.
    pub no_evict: bool,
    /// `CLIENT REPLY`: replies are sent (`On`), dropped (`Off`), or dropped for the next
    /// command only (`SkipNext` set by SKIP, `Skip` while that command runs).
    pub reply_mode: ReplyMode,
    /// `CLIENT TRACKING on`: its options (see [`crate::cmd::server::diag`]).
    pub tracking: Option<crate::cmd::server::diag::Tracking>,
    /// Killed by `CLIENT KILL` from another connection: the host closes it.
    pub killed: bool,
    /// `c->user`: the ACL user it runs as; `None` is `default` (see [`crate::acl`]).
    pub user: Option<Vec<u8>>,
    /// A client of the server itself, Redis's `c->user == NULL` (the AOF loading client, a
    /// module's): no authentication, every command allowed. The lab's settings panel applies
    /// its `CONFIG SET` through one: the operator's hand, not a connection a password or an
    /// ACL rule typed in the console could lock out.
    pub internal: bool,
}

/// `CLIENT_REPLY_OFF`, `CLIENT_REPLY_SKIP_NEXT`, `CLIENT_REPLY_SKIP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    SkipNext,
    Skip,
}

impl Client {
    /// The name of the ACL user this connection runs as.
    pub fn user_name(&self) -> &[u8] {
        self.user.as_deref().unwrap_or(crate::acl::DEFAULT_USER)
    }
    /// The protocol to encode this client's replies in (`c->resp`): 2 or 3.
    pub fn protocol(&self) -> u8 {
        if self.resp >= crate::reply::RESP3 { crate::reply::RESP3 } else { crate::reply::RESP2 }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// INFO commandstats / latencystats, LATENCY HISTOGRAM ([`crate::cmd::server::stats`]).
    pub commands: crate::cmd::server::stats::CommandStats,
    pub total_commands_processed: u64,
    pub total_connections_received: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub rejected_calls: u64,
    /// Every error reply (`stat_total_error_replies`), and by code (INFO errorstats: Redis's
    /// rax of error codes, in the same byte order).
    pub total_error_replies: u64,
    pub errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofState {
    Off,
    On,
    WaitRewrite,
}

/// `server.also_propagate`: ops queued during the current outermost call, encoded as RESP
/// into one reused buffer so that a verbatim command costs no allocation.
#[derive(Clone, Debug, Default)]
pub struct Propagation {
    pub ops: Vec<(usize, std::ops::Range<usize>)>,
    pub buf: Vec<u8>,
    pub depth: u32,
    /// A running script called `redis.set_repl` without `REPL_AOF`: the commands it calls from
    /// then on are not propagated (`scriptCall` leaves `CMD_CALL_PROPAGATE_AOF` out; with no
    /// replica, `REPL_REPLICA` alone propagates nothing either). What a command propagates
    /// itself (SPOP's SREMs, a lazy expiry's DEL) is not affected, as in Redis.
    pub script_no_aof: bool,
}

/// The server's random source (SPOP, SRANDMEMBER, RANDOMKEY, HRANDFIELD, ZRANDMEMBER): a seeded
/// generator whose draws are the same on every host. `fastrand`'s own `usize` draws 32 bits on
/// wasm32 and 64 bits natively, so the same seed would pick other members in the browser than
/// in `cargo test`; every index here is drawn as a `u64` instead (what the native build always
/// did), and a recording made in one replays identically in the other.
#[derive(Clone, Debug)]
pub struct Rng(fastrand::Rng);

impl Rng {
    pub fn with_seed(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }
    /// A uniform index in `range` (which must not be empty).
    pub fn usize(&mut self, range: impl std::ops::RangeBounds<usize>) -> usize {
        use std::ops::Bound;
        let lo = match range.start_bound() {
            Bound::Included(&n) => n as u64,
            Bound::Excluded(&n) => n as u64 + 1,
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&n) => n as u64,
            // An empty range is a caller's bug, as with fastrand (which panics too).
            Bound::Excluded(&n) => (n as u64).checked_sub(1).expect("an empty range"),
            Bound::Unbounded => usize::MAX as u64,
        };
        self.0.u64(lo..=hi) as usize
    }
    /// A uniform float in [0, 1) (`rand()/RAND_MAX` of LFULogIncr).
    pub fn f64(&mut self) -> f64 {
        self.0.f64()
    }
}

/// Log levels, as the character Redis prints: `.` debug, `-` verbose, `*` notice, `#` warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    pub fn mark(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time_ms: i64,
    pub level: LogLevel,
    pub text: String,
}

/// Redis's `shared.oomerr`.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The most recent log lines kept for hosts that read them later (the UI, the CLI).
pub const LOG_CAPACITY: usize = 2000;

pub struct Server {
    pub dbs: Vec<Db>,
    /// The connected clients, but the one whose command runs now (the engine takes it out for
    /// the call and hands it to the handler as [`Ctx::client`]).
    pub clients: HashMap<ClientId, Client>,
    /// Pub/sub: who listens to what, and the messages waiting for their connections.
    pub pubsub: crate::cmd::pubsub::PubSub,
    /// Replies for clients that were blocked and are now served, timed out or unblocked
    /// (`CLIENT UNBLOCK`), for the host to write.
    pub unblocked: Vec<(ClientId, Reply)>,
    /// `CLIENT PAUSE`: until when (unix ms) and whether every command (ALL) or only the
    /// writes (WRITE) wait; the clients postponed meanwhile, in order.
    pub pause: Option<(i64, bool)>,
    pub postponed: VecDeque<ClientId>,
    /// Clients `CLIENT KILL` closed: the host drops their connections.
    pub killed: Vec<ClientId>,
    /// `MONITOR` clients, in the order they asked.
    pub monitors: Vec<ClientId>,
    /// `SLOWLOG`, `LATENCY`, `CLIENT TRACKING` (see [`crate::cmd::server::diag`]).
    pub diag: crate::cmd::server::diag::Diag,
    pub config: Config,
    /// The time of the command being executed (unix ms).
    pub now_ms: i64,
    pub start_ms: i64,
    /// `server.dirty`: changes since the last save; a command that moved it is propagated.
    pub dirty: u64,
    pub stats: Stats,
    pub loading: bool,
    pub aof_state: AofState,
    pub feed: Feed,
    pub prop: Propagation,
    pub watched_keys: HashMap<(usize, Key), Vec<Watcher>>,
    /// `CLIENT_DIRTY_CAS` per client: a watched key was touched.
    pub dirty_cas: HashSet<ClientId>,
    /// Clients blocked on each key, first come first served.
    pub blocking_keys: HashMap<(usize, Key), VecDeque<ClientId>>,
    /// Keys that received data while clients were blocked on them (`signalKeyAsReady`).
    pub ready_keys: Vec<(usize, Key)>,
    pub rng: Rng,
    pub aof: Aof,
    /// RDB snapshots: the BGSAVE child, `lastsave`, the `rdb_*` counters.
    pub rdb: crate::rdb::save::RdbState,
    /// Where the AOF (and RDB) files live: Redis's `dir`.
    pub storage: Box<dyn Storage>,
    log: VecDeque<LogLine>,
    /// Lines logged since the host last drained them.
    log_unread: usize,
    /// Clients connected now (INFO clients); kept by the engine.
    pub connected_clients: usize,
    /// The active expire cycle's state and statistics.
    pub expire: crate::keyspace::expire::ActiveExpire,
    /// The script cache and the functions' libraries (`crate::cmd::scripting`).
    pub scripting: crate::cmd::scripting::ScriptingState,
    /// ACL users and the ACL LOG (`crate::acl`).
    pub acl: crate::acl::Acl,
    /// The id the next connection gets.
    pub next_client_id: ClientId,
    /// The script running now, if any.
    pub script: Option<RunningScript>,
}

impl Server {
    pub fn new(config: Config, now_ms: i64) -> Server {
        let dbs = (0..config.databases).map(Db::new).collect();
        let aof_state = if config.appendonly { AofState::On } else { AofState::Off };
        let mut aof = Aof::default();
        aof.fsync_latency_ms = config.lab_fsync_latency_ms;
        Server {
            dbs,
            clients: HashMap::default(),
            pubsub: Default::default(),
            unblocked: Vec::new(),
            pause: None,
            postponed: VecDeque::new(),
            killed: Vec::new(),
            monitors: Vec::new(),
            diag: crate::cmd::server::diag::Diag::new(&config),
            acl: crate::acl::Acl::new(&config.requirepass),
            config,
            now_ms,
            start_ms: now_ms,
            dirty: 0,
            stats: Stats::default(),
            loading: false,
            aof_state,
            feed: Feed::default(),
            prop: Propagation::default(),
            watched_keys: HashMap::default(),
            dirty_cas: HashSet::new(),
            blocking_keys: HashMap::default(),
            ready_keys: Vec::new(),
            rng: Rng::with_seed(0x0A0F_1AB5),
            aof,
            rdb: crate::rdb::save::RdbState::new(now_ms),
            storage: Box::new(MemoryStorage::new()),
            log: VecDeque::new(),
            log_unread: 0,
            connected_clients: 0,
            expire: Default::default(),
            scripting: Default::default(),
            next_client_id: 1,
            script: None,
        }
    }

    /// The whole server, for the lab's timeline checkpoints: the dataset costs pointer copies
    /// (values are shared `Rc`s, as with the fork snapshot), the files are copied by the
    /// storage. `None` when the storage is a real disk that cannot be copied.
    pub fn try_clone(&self) -> Option<Server> {
        Some(Server {
            dbs: self.dbs.clone(),
            clients: self.clients.clone(),
            pubsub: self.pubsub.clone(),
            unblocked: self.unblocked.clone(),
            pause: self.pause,
            postponed: self.postponed.clone(),
            killed: self.killed.clone(),
            monitors: self.monitors.clone(),
            diag: self.diag.clone(),
            config: self.config.clone(),
            now_ms: self.now_ms,
            start_ms: self.start_ms,
            dirty: self.dirty,
            stats: self.stats.clone(),
            loading: self.loading,
            aof_state: self.aof_state,
            feed: self.feed.clone(),
            prop: self.prop.clone(),
            watched_keys: self.watched_keys.clone(),
            dirty_cas: self.dirty_cas.clone(),
            blocking_keys: self.blocking_keys.clone(),
            ready_keys: self.ready_keys.clone(),
            rng: self.rng.clone(),
            aof: self.aof.clone(),
            rdb: self.rdb.clone(),
            storage: self.storage.boxed_clone()?,
            log: self.log.clone(),
            log_unread: self.log_unread,
            connected_clients: self.connected_clients,
            expire: self.expire.clone(),
            scripting: self.scripting.clone(),
            acl: self.acl.clone(),
            next_client_id: self.next_client_id,
            script: self.script.clone(),
        })
    }

    /// `emptyData(-1, EMPTYDB_NO_FLAGS, NULL)` before a reload (DEBUG LOADAOF / RELOAD): every
    /// db and the function libraries (FLUSHALL, by contrast, keeps the libraries).
    pub(crate) fn empty_data(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
        self.scripting.functions.libraries.clear();
    }

    /// Creates the libraries an RDB held (`rdbFunctionLoad` for each, in file order). A library
    /// that cannot be created fails the load: the error is the line Redis logs, for the caller
    /// to log once.
    pub(crate) fn load_rdb_functions(&mut self, codes: &[Vec<u8>], allow_dup: bool) -> Result<(), String> {
        for code in codes {
            if let Err(e) = crate::cmd::scripting::function::create_library(&mut self.scripting.functions, code, allow_dup, None) {
                return Err(format!("Failed loading library, {e}"));
            }
        }
        Ok(())
    }

    /// `serverLog`: keeps the line for the host (the UI, `serve`'s log output).
    pub fn log(&mut self, level: LogLevel, text: String) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LogLine { time_ms: self.now_ms, level, text });
        self.log_unread = (self.log_unread + 1).min(LOG_CAPACITY);
    }
    pub fn log_lines(&self) -> impl Iterator<Item = &LogLine> {
        self.log.iter()
    }
    /// Lines logged since the last call.
    pub fn take_new_log_lines(&mut self) -> Vec<LogLine> {
        let n = self.log_unread;
        self.log_unread = 0;
        self.log.iter().skip(self.log.len() - n).cloned().collect()
    }

    pub fn unixtime(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// `authRequired`: the `default` user has a password (`requirepass`) or is off, and this
    /// connection has not authenticated. Every command but AUTH, HELLO, QUIT and RESET
    /// (`no_auth`) is then refused with `-NOAUTH`, and the protocol limits shrink (see
    /// [`crate::resp::Limits`]).
    pub fn auth_required(&self, client: &Client) -> bool {
        !client.internal && !self.acl.default_open() && !client.authenticated
    }

    /// Checks that come before a command runs and after lookup (`processCommand`): errors that
    /// refuse a command whatever its arguments. Grows with the AOF (`-MISCONF`) and memory
    /// (`-OOM`) issues.
    pub fn deny_command(&mut self, cmd: &Command, flags: u32) -> Option<Reply> {
        // writeCommandsDeniedByDiskError: writes (and PING) fail while the last BGSAVE failed
        // (with save points and stop-writes-on-bgsave-error) or the AOF cannot be written, so
        // that a client learns about it instead of losing data silently.
        let rdb_error = !self.rdb.lastbgsave_ok
            && self.config.get("stop-writes-on-bgsave-error").as_deref() == Some("yes")
            && !crate::rdb::save::save_params(&self.config.save).is_empty();
        let aof_error = if self.aof_state != AofState::Off { self.aof.write_error() } else { None };
        if rdb_error || aof_error.is_some() {
            let is_write = flags & WRITE != 0;
            if is_write || cmd.name == "ping" {
                if rdb_error {
                    return Some(Reply::err(crate::rdb::save::BGSAVE_ERR));
                }
                if let Some(e) = aof_error {
                    return Some(Reply::error(format!("MISCONF Errors writing to the AOF file: {}", e.strerror())));
                }
            }
        }
        None
    }

    /// The `maxmemory` part of `processCommand`, which Redis runs before the `-MISCONF` check.
    /// Only `noeviction` is modelled: with any other `maxmemory-policy` nothing is evicted and
    /// the same commands are refused. Refused: `denyoom` commands (and EXEC of a transaction
    /// holding one), and inside MULTI anything but EXEC, DISCARD, QUIT and RESET (queueing
    /// itself takes memory).
    /// `afterErrorReply` / `incrementErrorCount`: one more error reply, counted under its code,
    /// the word before its first space when that space is within the first 31 bytes (Redis
    /// looks at 32 bytes of `-CODE …`), else `ERR`. Not while loading (nothing is sent).
    pub fn count_error_reply(&mut self, text: &str) {
        if self.loading {
            return;
        }
        self.stats.total_error_replies += 1;
        let code = text.as_bytes().iter().take(31).position(|&b| b == b' ').map_or("ERR", |n| &text[..n]);
        match self.stats.errors.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                self.stats.errors.insert(code.to_string(), 1);
            }
        }
    }

    /// `allowProtectedAction`: the setting `name` says yes, or local and the client is local (a
    /// loopback peer, or no socket at all: the lab's consoles).
    pub fn allow_protected_action(&self, name: &str, client: &Client) -> bool {
        match self.config.get(name).as_deref() {
            Some("yes") => true,
            Some("local") => {
                let ip = client.addr.rsplit_once(':').map_or("", |(ip, _)| ip).trim_start_matches('[').trim_end_matches(']');
                client.addr.is_empty() || ip.starts_with("127.") || ip == "::1"
            }
            _ => false,
        }
    }

    /// `flags`: the command's as `getCommandFlags` gives them (EXEC's include its queue's).
    pub fn deny_oom(&self, cmd: &Command, flags: u32, client: &Client) -> Option<Reply> {
        // Not while a script is busy (`isInsideYieldingLongCommand`): what it may run then is
        // never refused for memory.
        if self.config.maxmemory == 0 || self.loading || self.script.as_ref().is_some_and(|s| s.timed_out) {
            return None;
        }
        let denyoom = flags & DENYOOM != 0;
        let in_multi = client.multi.is_some() && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset");
        if !denyoom && !in_multi {
            return None;
        }
        if self.over_maxmemory() {
            return Some(Reply::err(OOM_ERROR));
        }
        None
    }

    /// Whether the estimated `used_memory` without the AOF buffers (which
    /// `freeMemoryGetNotCountedMemory` leaves out) is above `maxmemory`: O(1), the databases
    /// keep their share of the estimate as they change (see [`crate::keyspace`]).
    pub fn over_maxmemory(&self) -> bool {
        let max = self.config.maxmemory;
        max != 0 && self.used_memory_counted_for_evict() > max
    }

    /// INFO's `used_memory` (and the RDB's `used-mem`): a fixed startup figure, the dataset
    /// ([`Server::dataset_memory`]) and the AOF buffers (`aof_buf` and 6.2's rewrite buffer).
    pub fn used_memory(&self) -> u64 {
        self.used_memory_counted_for_evict() + self.mem_not_counted_for_evict()
    }
    /// `used_memory` minus `mem_not_counted_for_evict`: what the `maxmemory` check compares.
    pub fn used_memory_counted_for_evict(&self) -> u64 {
        crate::cmd::server::info::STARTUP_MEMORY + self.dataset_memory()
    }
    /// `freeMemoryGetNotCountedMemory`: the AOF buffers.
    pub fn mem_not_counted_for_evict(&self) -> u64 {
        self.feed.aof_buf.len() as u64 + self.aof_rewrite_buffer_length()
    }
    /// The dataset's share of the estimate (keys, values, dictionary overheads): the sum of the
    /// databases' kept figures, O(number of databases).
    pub fn dataset_memory(&self) -> u64 {
        self.dbs.iter().map(Db::mem).sum()
    }

    /// `alsoPropagate`: queue an op for the end of the outermost call.
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if self.loading {
            return; // Nothing is propagated while loading: the AOF already holds it.
        }
        let start = self.prop.buf.len();
        encode_command(&mut self.prop.buf, argv);
        self.prop.ops.push((db, start..self.prop.buf.len()));
    }

    /// `propagatePendingCommands`: feeds the queued ops to the AOF, wrapped in MULTI/EXEC when
    /// there is more than one. In 7.0 MULTI carries the first op's db (so a SELECT comes before
    /// it) and EXEC the last op's (so no SELECT comes before EXEC).
    pub fn propagate_pending_commands(&mut self) {
        self.propagate_ops(true);
    }

    /// Feeds the queued ops, wrapped in MULTI/EXEC only when `wrap` and there are several
    /// (active expiry's DELs never are: `propagate_no_multi`).
    pub(crate) fn propagate_ops(&mut self, wrap: bool) {
        if self.prop.ops.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.prop.ops);
        let buf = std::mem::take(&mut self.prop.buf);
        let wrap = wrap && ops.len() > 1;
        if let (Some(first), Some(last)) = (ops.first(), ops.last()) {
            let (first_db, last_db) = (first.0, last.0);
            if wrap {
                self.feed_append_only_file(first_db, b"*1\r\n$5\r\nMULTI\r\n");
            }
            for (db, range) in &ops {
                self.feed_append_only_file(*db, &buf[range.clone()]);
            }
            if wrap {
                self.feed_append_only_file(last_db, b"*1\r\n$4\r\nEXEC\r\n");
            }
        }
        let mut buf = buf;
        buf.clear();
        self.prop.buf = buf;
        let mut ops = ops;
        ops.clear();
        self.prop.ops = ops;
    }

    /// `feedAppendOnlyFile`: the bytes go to `aof_buf` only while the AOF accepts them.
    pub fn feed_append_only_file(&mut self, db: usize, command: &[u8]) {
        if self.config.aof_legacy {
            return self.legacy_feed_append_only_file(db, command);
        }
        // WAIT_REWRITE (the AOF being turned on) records only while its rewrite child runs: the
        // snapshot will hold what came before.
        if self.aof_state == AofState::Off || (self.aof_state == AofState::WaitRewrite && self.aof.child.is_none()) {
            return;
        }
        let unixtime = self.unixtime();
        self.feed.feed(db, command, unixtime, self.config.aof_timestamp_enabled);
    }

    /// `signalModifiedKey` → `touchWatchedKey`: every client WATCHing the key will fail EXEC.
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8]) {
        crate::cmd::server::diag::invalidate_key(self, key);
        // What fork's copy-on-write would copy: the values changed while a child runs.
        if let Some(child) = self.aof.child.as_mut().or(self.rdb.child.as_mut()) {
            child.touched.insert((db, key.to_vec()));
        }
        // A key that clients wait on and that is no stream now may have been one: Redis signals
        // a deleted or overwritten stream (`dbGenericDelete`, `dbOverwrite`) so that XREADGROUP
        // clients get -UNBLOCKED. The re-run decides (waiting for a list, nothing changes).
        if !self.blocking_keys.is_empty() && !matches!(self.dbs[db].get(key), Some(Value::Stream(_))) {
            self.signal_key_as_ready(db, key);
        }
        if self.watched_keys.is_empty() {
            return;
        }
        // `touchWatchedKey`.
        let exists = self.dbs[db].contains(key);
        let Some(watchers) = self.watched_keys.get_mut(&(db, key.to_vec())) else { return };
        let mut dirtied = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                if !exists {
                    // The key expired before WATCH and is now deleted: no logical change.
                    w.expired = false;
                    continue;
                }
                // 7.0.15 leaves its loop here (a `break` meant for the inner loop of the fix
                // that brought the flag): the watchers after this one are not touched.
                break;
            }
            dirtied.push(w.client);
        }
        // A dirtied client watches nothing more (`unwatchAllKeys`); EXEC fails either way.
        for id in dirtied {
            self.dirty_cas.insert(id);
            self.watched_keys.retain(|_, ws| {
                ws.retain(|w| w.client != id);
                !ws.is_empty()
            });
        }
    }

    /// `touchAllWatchedKeysInDb` (FLUSHDB, FLUSHALL, SWAPDB), before `db` is emptied or swapped
    /// with `replaced_with`: watchers of a key present on either side are touched, except where
    /// the key is logically unchanged: one expired at WATCH that is now gone (the flag clears) or
    /// replaced by another expired one, and a missing key replaced by an expired one (the flag
    /// is set).
    pub fn touch_all_watched_keys_in_db(&mut self, db: usize, replaced_with: Option<usize>) {
        let keys: Vec<Key> = self.watched_keys.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect();
        for key in keys {
            let in_emptied = self.dbs[db].contains(&key);
            let in_other = replaced_with.is_some_and(|o| self.dbs[o].contains(&key));
            if !in_emptied && !in_other {
                continue;
            }
            let other_expired = replaced_with.is_some_and(|o| self.key_is_expired(o, &key));
            let Some(watchers) = self.watched_keys.get_mut(&(db, key)) else { continue };
            for w in watchers.iter_mut() {
                if w.expired {
                    if !in_other {
                        w.expired = false;
                        continue;
                    } else if other_expired {
                        continue;
                    }
                } else if !in_emptied && other_expired {
                    w.expired = true;
                    continue;
                }
                self.dirty_cas.insert(w.client);
            }
        }
    }

    /// `scanDatabaseForDeletedStreams`, first half: the keys of `db` that clients wait on and
    /// that hold a stream, to signal once they are flushed or swapped away.
    pub fn blocked_streams_in(&self, db: usize) -> Vec<Key> {
        self.blocking_keys
            .keys()
            .filter(|(d, k)| *d == db && matches!(self.dbs[db].get(k), Some(Value::Stream(_))))
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Removes a blocked client from the queues of the keys it waits on (`unblockClient`).
    pub fn unblock_registration(&mut self, c: &Client) {
        if let Some(b) = &c.blocked {
            for k in &b.keys {
                let key = (b.db, k.clone());
                if let Some(q) = self.blocking_keys.get_mut(&key) {
                    q.retain(|&x| x != c.id);
                    if q.is_empty() {
                        self.blocking_keys.remove(&key);
                    }
                }
            }
            if b.postponed {
                self.postponed.retain(|&x| x != c.id);
            }
        }
    }

    /// `signalKeyAsReady`: a list or zset key got data; blocked clients get a chance at it.
    pub fn signal_key_as_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking_keys.is_empty() {
            return;
        }
        let k = (db, key.to_vec());
        if self.blocking_keys.contains_key(&k) && !self.ready_keys.contains(&k) {
            self.ready_keys.push(k);
        }
    }
}

/// Per-call choices a handler can make about propagation and blocking.
#[derive(Default)]
pub struct CallState {
    pub rewritten: Option<Vec<Vec<u8>>>,
    pub prevent_propagation: bool,
    pub force_propagation: bool,
    pub blocked: Option<Blocked>,
    /// `redactClientCommandArgument`: argument positions SLOWLOG and MONITOR show as
    /// `(redacted)` (passwords of AUTH, HELLO, ACL SETUSER).
    pub redacted: Vec<usize>,
    /// The command failed although its reply is no error (`failed_calls`: EXEC whose last
    /// queued commands ACL refused).
    pub failed: bool,
    /// Its reply's errors were counted where they were made (a script's value), not by `call`.
    pub errors_counted: bool,
}

/// What a command handler works with.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub cmd: &'static Command,
    state: CallState,
}

impl<'a> Ctx<'a> {
    pub fn new(srv: &'a mut Server, client: &'a mut Client, cmd: &'static Command) -> Ctx<'a> {
        srv.sync_lru_clock();
        Ctx { srv, client, cmd, state: CallState::default() }
    }
    pub fn finish(self) -> CallState {
        self.state
    }
    /// Counts this command in `failed_calls` whatever its reply.
    pub fn mark_failed(&mut self) {
        self.state.failed = true;
    }
    /// The reply's errors are counted already (INFO errorstats): `call` leaves them.
    pub fn mark_errors_counted(&mut self) {
        self.state.errors_counted = true;
    }
    pub fn now_ms(&self) -> i64 {
        self.srv.now_ms
    }
    pub fn db_id(&self) -> usize {
        self.client.db
    }
    /// `c->resp > 2`: the caller speaks RESP3, where some replies change structure (score
    /// pairs nested as `[member, score]`).
    pub fn resp3(&self) -> bool {
        self.client.protocol() >= crate::reply::RESP3
    }
    /// The client's current database, without expiry checks.
    pub fn db(&mut self) -> &mut Db {
        let id = self.client.db;
        &mut self.srv.dbs[id]
    }

    /// `lookupKeyRead`: expires the key if needed, counts a hit or a miss.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(key, true)
    }
    /// `lookupKeyReadWithFlags(LOOKUP_NOTOUCH)` (TYPE, EXISTS, OBJECT): the access time stays.
    pub fn lookup_read_notouch(&mut self, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(key, false)
    }
    fn lookup_read_flags(&mut self, key: &[u8], touch: bool) -> Option<&Value> {
        let db = self.client.db;
        self.srv.expire_if_needed(db, key);
        let found = match self.srv.touch_clock().filter(|_| touch) {
            // The common case in one lookup.
            Some(clock) => self.srv.dbs[db].touch(key, clock),
            None => {
                let found = self.srv.dbs[db].contains(key);
                if found && touch {
                    self.srv.touch_key(db, key);
                }
                found
            }
        };
        if found {
            self.srv.stats.keyspace_hits += 1;
        } else {
            self.srv.stats.keyspace_misses += 1;
        }
        self.srv.dbs[db].get(key)
    }
    /// `lookupKeyWrite`: expires the key if needed; no hit/miss counting.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Value> {
        let db = self.client.db;
        self.srv.expire_if_needed(db, key);
        match self.srv.touch_clock() {
            Some(clock) => self.srv.dbs[db].get_mut_touch(key, Some(clock)),
            None => {
                self.srv.touch_key(db, key);
                self.srv.dbs[db].get_mut(key)
            }
        }
    }
    /// Existence after expiry, without touching hit/miss stats (`lookupKeyReadWithFlags` with
    /// `LOOKUP_NOTOUCH|LOOKUP_NONOTIFY`-like use: EXISTS counts, so use `lookup_read` there).
    /// `lookup_write` without lending the value out (which would copy a value shared with a
    /// child's snapshot).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        self.srv.expire_if_needed(db, key);
        match self.srv.touch_clock() {
            Some(clock) => self.srv.dbs[db].touch(key, clock),
            None => {
                self.srv.touch_key(db, key);
                self.srv.dbs[db].contains(key)
            }
        }
    }
    /// `dbAdd`: a new key (it must not exist). Signals blocked clients for lists, zsets and
    /// streams.
    pub fn db_add<K: AsRef<[u8]> + Into<MapKey>>(&mut self, key: K, value: Value) {
        let db = self.client.db;
        self.db_add_in(db, key, value);
    }
    pub fn db_add_in<K: AsRef<[u8]> + Into<MapKey>>(&mut self, db: usize, key: K, value: Value) {
        let ready = matches!(value, Value::List(_) | Value::ZSet(_) | Value::Stream(_));
        if ready {
            self.srv.signal_key_as_ready(db, key.as_ref());
        }
        self.srv.dbs[db].insert(key, value);
    }
    /// `setKey`: add or overwrite, clearing the TTL unless `keepttl`; signals the key.
    pub fn set_key(&mut self, key: &[u8], value: Value, keepttl: bool) {
        let db = self.client.db;
        let ready = matches!(value, Value::List(_) | Value::ZSet(_) | Value::Stream(_));
        // One lookup for both cases: `dbOverwrite` keeps the key, `dbAdd` signals it.
        if self.srv.dbs[db].insert(key, value) {
            if !keepttl {
                self.srv.dbs[db].remove_expire(key);
            }
        } else if ready {
            self.srv.signal_key_as_ready(db, key);
        }
        self.srv.signal_modified_key(db, key);
    }
    /// `dbDelete` + `signalModifiedKey`. True if the key existed.
    pub fn delete_key(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        let existed = self.srv.dbs[db].remove(key).is_some();
        if existed {
            self.srv.signal_modified_key(db, key);
        }
        existed
    }
    /// The end of HDEL / SREM / ZREM: an emptied collection's key is deleted, a change is
    /// signalled and counted, and the reply is the number removed.
    pub fn removed_members(&mut self, key: &[u8], deleted: u64, emptied: bool) -> Reply {
        if emptied {
            self.delete_key(key);
        }
        if deleted > 0 {
            self.signal_modified(key);
            self.dirty(deleted);
        }
        Reply::Int(deleted as i64)
    }

    pub fn signal_modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.srv.signal_modified_key(db, key);
    }
    /// `server.dirty += n`.
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }
    /// `rewriteClientCommandVector`: what will be propagated instead of the client's argv.
    pub fn rewrite_argv<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        self.state.rewritten = Some(argv.iter().map(|a| a.as_ref().to_vec()).collect());
    }
    /// `preventCommandPropagation`: the handler propagates its own ops (or none).
    pub fn prevent_propagation(&mut self) {
        self.state.prevent_propagation = true;
    }
    /// `redactClientCommandArgument`: SLOWLOG and MONITOR show argument `j` as `(redacted)`.
    pub fn redact_argument(&mut self, j: usize) {
        self.state.redacted.push(j);
    }
    /// `forceCommandPropagation`: propagate even though nothing changed (FLUSHALL).
    pub fn force_propagation(&mut self) {
        self.state.force_propagation = true;
    }
    /// `alsoPropagate` in the client's db.
    pub fn propagate<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let db = self.client.db;
        self.srv.also_propagate(db, argv);
    }
    /// Blocks the client on `keys` (ignored when called inside EXEC, where a blocking command
    /// must reply at once: the handler checks `client.in_exec` first).
    pub fn block(&mut self, keys: Vec<Key>, deadline_ms: i64, timeout_reply: Reply) {
        self.state.blocked = Some(Blocked {
            argv: Vec::new(),
            db: self.client.db,
            keys,
            deadline_ms,
            timeout_reply,
            wake_on_delete: false,
            postponed: false,
        });
    }
    /// [`Ctx::block`], re-running `argv` instead of the client's command when a key is ready
    /// (and, with `wake_on_delete`, when it is deleted).
    pub fn block_with_argv(&mut self, keys: Vec<Key>, deadline_ms: i64, timeout_reply: Reply, argv: Vec<Vec<u8>>, wake_on_delete: bool) {
        self.state.blocked = Some(Blocked { argv, db: self.client.db, keys, deadline_ms, timeout_reply, wake_on_delete, postponed: false });
    }
    /// Is the current command a write (for the checks some commands make)?
    pub fn is_write(&self) -> bool {
        self.cmd.flags & WRITE != 0
    }
}
