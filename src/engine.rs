//! `Engine`: the host-facing API of the core. A host (the wasm worker, `aof-lab serve`, a test)
//! connects clients, executes their commands with the current time, calls `cron` on a timer and
//! collects the replies of clients that were blocked.
//!
//! ```
//! use aof_lab::{Config, Engine, Reply};
//! let mut e = Engine::new(Config::default(), 1_700_000_000_000);
//! let c = e.connect();
//! assert_eq!(e.execute(c, &[b"SET", b"k", b"v"], 1_700_000_000_000), Some(Reply::ok()));
//! assert_eq!(e.execute(c, &[b"GET", b"k"], 1_700_000_000_001), Some(Reply::bulk("v")));
//! ```

use crate::cmd::{self, Outcome};
use crate::config::Config;
use crate::keyspace::expire::ExpireCycle;
use crate::reply::Reply;
use crate::server::{Client, ClientId, ReplyMode, Server};
use crate::storage::Storage;

/// A start that Redis would end with `exit(1)`: the fatal lines, and the engine as it was (its
/// log and its storage, which a failed load may already have truncated).
pub struct StartError {
    pub engine: Box<Engine>,
    pub lines: Vec<String>,
}

pub struct Engine {
    pub srv: Server,
}

impl Engine {
    /// An engine with no files: propagated bytes accumulate in `aof_buf` (see
    /// [`Engine::take_aof_buf`]) and are never written. For tests and pure in-memory hosts.
    pub fn new(config: Config, now_ms: i64) -> Engine {
        Engine { srv: Server::new(config, now_ms) }
    }

    /// Starts like redis-server on `storage` (its `dir`): with `appendonly yes`, reads the
    /// manifest, upgrades a legacy file, loads base + incr files, opens the incr file and removes
    /// history. `Err` carries the fatal lines Redis would log before exiting with status 1 (the
    /// engine's log has the lines before them).
    pub fn open(config: Config, storage: Box<dyn Storage>, now_ms: i64) -> Result<Engine, StartError> {
        let mut e = Engine::new(config, now_ms);
        e.srv.storage = storage;
        e.srv.storage.tick(now_ms);
        // loadDataFromDisk: the AOF when it is on (dump.rdb is then ignored), else dump.rdb.
        match e.srv.aof_start().and_then(|_| e.srv.rdb_load_at_start()) {
            Ok(()) => Ok(e),
            Err(lines) => Err(StartError { engine: Box::new(e), lines }),
        }
    }

    /// The whole engine (server and clients), for the lab's timeline checkpoints; `None` when
    /// its storage is a real disk (see [`Server::try_clone`]).
    pub fn try_clone(&self) -> Option<Engine> {
        Some(Engine { srv: self.srv.try_clone()? })
    }

    /// The end of an event-loop turn (Redis's `beforeSleep`): writes `aof_buf` to the incr file
    /// and fsyncs as the policy says. Replies of the turn may be released only after this.
    pub fn before_sleep(&mut self, now_ms: i64) {
        self.active_expire_fast(now_ms);
        cmd::server::diag::broadcast_invalidations(&mut self.srv);
        self.srv.storage.tick(now_ms);
        self.srv.flush_append_only_file(false);
    }

    /// `prepareForShutdown`'s AOF part: with the AOF on, what is left of `aof_buf` written
    /// whatever a background fsync is doing (`flushAppendOnlyFile(1)`), then the incr file
    /// fsynced, so that a clean shutdown loses nothing whatever `appendfsync` says. A host that
    /// drops the engine without it is a `kill -9`: under everysec a write postponed behind a
    /// running fsync is lost, as it would be in Redis.
    pub fn flush_for_shutdown(&mut self, now_ms: i64) -> crate::storage::Result<()> {
        if self.srv.aof_state == crate::server::AofState::Off {
            return Ok(());
        }
        self.srv.now_ms = now_ms;
        self.srv.flush_append_only_file(true);
        match self.srv.aof.incr_path.clone() {
            Some(path) => self.srv.storage.sync(&path),
            None => Ok(()),
        }
    }

    /// `beforeSleep`'s fast expire cycle (it returns at once unless the last cycle ran out of
    /// time, and runs at most once in 2 ms): the first step of [`Engine::before_sleep`], for
    /// hosts that look at `aof_buf` before the turn's write. Returns the keys it expired.
    pub fn active_expire_fast(&mut self, now_ms: i64) -> u64 {
        self.srv.now_ms = now_ms;
        self.srv.active_expire_cycle(ExpireCycle::Fast)
    }

    /// Set when the engine did what Redis does with `exit(1)` (an AOF write or fsync error under
    /// `appendfsync always`): the host must drop the turn's replies and stop.
    pub fn exited(&self) -> Option<&str> {
        self.srv.aof.exited.as_deref()
    }

    /// Takes the storage out (a process that died leaves its `dir` behind): for restarts in
    /// tests and in the crash lab.
    pub fn take_storage(&mut self) -> Box<dyn Storage> {
        std::mem::replace(&mut self.srv.storage, Box::new(crate::storage::MemoryStorage::new()))
    }

    /// Log lines since the last call.
    pub fn take_log(&mut self) -> Vec<crate::server::LogLine> {
        self.srv.take_new_log_lines()
    }

    pub fn connect(&mut self) -> ClientId {
        let id = self.srv.next_client_id;
        self.srv.next_client_id += 1;
        self.srv.stats.total_connections_received += 1;
        self.srv.connected_clients += 1;
        // clientSetDefaultAuth: while the default user is `nopass` and on (no `requirepass`),
        // every connection starts authenticated.
        let authenticated = self.srv.acl.default_open();
        self.srv.clients.insert(id, Client { id, created_ms: self.srv.now_ms, authenticated, fd: -1, ..Client::default() });
        id
    }

    /// A client of the server itself ([`Client::internal`]: no authentication, no ACL check).
    pub fn connect_internal(&mut self) -> ClientId {
        let id = self.connect();
        if let Some(c) = self.srv.clients.get_mut(&id) {
            c.internal = true;
        }
        id
    }

    /// What the host knows of a connection, for CLIENT LIST / INFO / KILL and MONITOR: the
    /// peer's `ip:port`, the local `ip:port`, the socket's fd.
    pub fn set_client_addr(&mut self, id: ClientId, addr: String, laddr: String, fd: i64) {
        if let Some(c) = self.srv.clients.get_mut(&id) {
            (c.addr, c.laddr, c.fd) = (addr, laddr, fd);
        }
    }

    /// Connections `CLIENT KILL` closed since the last call: the host closes them (and calls
    /// [`Engine::disconnect`]).
    pub fn take_killed(&mut self) -> Vec<ClientId> {
        std::mem::take(&mut self.srv.killed)
    }

    /// Whether this connection must authenticate before it may run commands (`authRequired`):
    /// hosts apply the smaller protocol limits of such a client, and check it for the commands
    /// they answer themselves (`serve`'s SHUTDOWN).
    pub fn auth_required(&self, id: ClientId) -> bool {
        self.srv.clients.get(&id).is_some_and(|c| self.srv.auth_required(c))
    }

    /// The ACL check of a command the host answers itself (`serve`'s SHUTDOWN): `None` when
    /// the connection's user may run it, else the `-NOPERM` error (logged in ACL LOG).
    pub fn acl_deny(&mut self, id: ClientId, argv: &[&[u8]]) -> Option<Reply> {
        let client = self.srv.clients.get(&id)?;
        let name = String::from_utf8_lossy(argv.first()?).to_ascii_lowercase();
        let denied = cmd::server::acl::check_named(&self.srv, client, || name.clone(), argv).err()?;
        let client = client.clone();
        let context = if client.multi.is_some() { crate::acl::LogContext::Multi } else { crate::acl::LogContext::Toplevel };
        cmd::server::acl::log_denial_named(&mut self.srv, &client, &name, argv, denied, context);
        // The entry's client-info names the command as `c->lastcmd`, which the engine's table
        // cannot point at for a host's command.
        if let Some(entry) = self.srv.acl.log.front_mut() {
            entry.client_info = entry
                .client_info
                .split(' ')
                .map(|w| if w.starts_with("cmd=") { format!("cmd={name}") } else { w.to_string() })
                .collect::<Vec<_>>()
                .join(" ");
        }
        Some(cmd::server::acl::noperm_reply_named(denied.0, &name))
    }

    pub fn disconnect(&mut self, id: ClientId) {
        if let Some(mut c) = self.srv.clients.remove(&id) {
            self.srv.connected_clients -= 1;
            cmd::multi::unwatch_all_keys(&mut self.srv, &mut c);
            cmd::pubsub::unsubscribe_everything(&mut self.srv, &mut c);
            cmd::server::diag::disable_tracking(&mut self.srv, &mut c);
            self.srv.monitors.retain(|&m| m != id);
            self.srv.unblock_registration(&c);
        }
    }

    pub fn client(&self, id: ClientId) -> Option<&Client> {
        self.srv.clients.get(&id)
    }
    /// The protocol (2 or 3) to encode replies to `id` in: what its last `HELLO` chose.
    pub fn protocol(&self, id: ClientId) -> u8 {
        self.client(id).map_or(crate::reply::RESP2, Client::protocol)
    }
    /// For hosts that handle a command themselves (`serve` answers SHUTDOWN, which is about the
    /// process) and must still keep the client's state right, e.g. flag its transaction.
    pub fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.srv.clients.get_mut(&id)
    }
    pub fn connected_clients(&self) -> usize {
        self.srv.clients.len()
    }
    pub fn blocked_clients(&self) -> usize {
        self.srv.clients.values().filter(|c| c.blocked.is_some()).count()
    }

    /// Runs one command for a client at time `now_ms`. `None` means the client blocked (its
    /// reply will come from [`Engine::take_unblocked`]).
    pub fn execute(&mut self, id: ClientId, argv: &[&[u8]], now_ms: i64) -> Option<Reply> {
        self.srv.now_ms = now_ms;
        // The caller is out of `srv.clients` while its command runs: a handler sees it as
        // `ctx.client` and every other connection in the map (CLIENT LIST, PUBLISH).
        let mut client = self.srv.clients.remove(&id)?;
        client.last_interaction_ms = now_ms;
        let outcome = cmd::process_command(&mut self.srv, &mut client, argv);
        // `resetClient`: CLIENT CACHING's choice holds for the next command, or for the whole
        // next transaction (kept while MULTI is open and by any CLIENT subcommand).
        if client.multi.is_none()
            && client.last_cmd.is_none_or(|(c, parent)| parent.unwrap_or(c).name != "client")
            && let Some(t) = client.tracking.as_mut()
        {
            t.caching = false;
        }
        // CLIENT REPLY OFF / SKIP: the reply is dropped (pushes still go out); then
        // `resetClient` moves SKIP on to the next command.
        let silenced = matches!(client.reply_mode, ReplyMode::Off | ReplyMode::Skip);
        client.reply_mode = match client.reply_mode {
            ReplyMode::Skip => ReplyMode::On,
            ReplyMode::SkipNext => ReplyMode::Skip,
            m => m,
        };
        self.srv.clients.insert(id, client);
        cmd::server::diag::flush_invalidations(&mut self.srv, Some(id));
        let reply = match outcome {
            // Pushes still go out (`CLIENT_PUSHING`: (P|S)(UN)SUBSCRIBE's confirmations too).
            Outcome::Reply(r) => Some(if silenced { pushes_only(r) } else { r }),
            Outcome::Blocked => {
                let c = self.srv.clients.get(&id)?;
                if let Some(b) = &c.blocked {
                    for k in &b.keys {
                        self.srv.blocking_keys.entry((b.db, k.clone())).or_default().push_back(id);
                    }
                }
                None
            }
        };
        // While a script is busy, the host only lends the engine to refuse or answer what
        // other clients send: nothing it runs then can serve a blocked or paused client.
        if self.srv.script.is_none() {
            self.handle_clients_blocked_on_keys();
            self.end_pause_if_over();
        }
        reply
    }

    /// Ends a pause whose time is over (`checkClientPauseTimeoutAndReturnIfPaused`).
    fn end_pause_if_over(&mut self) {
        if let Some((end, _)) = self.srv.pause
            && end <= self.srv.now_ms
        {
            self.srv.pause = None;
        }
    }

    /// `unpauseClients` + `processUnblockedClients`: once no pause is in force (ended, or
    /// CLIENT UNPAUSE), the clients it held run again one at a time, in the order they came:
    /// the first one's held command here, then (by the host, before asking for more) whatever
    /// that client sent behind it, then the next. A transaction held at a queued command thus
    /// reaches its EXEC before a later client's write runs, as in Redis. A resumed command that
    /// is held or blocks again gives no reply; the next client is tried.
    fn resume_next_postponed(&mut self) -> Option<(ClientId, Reply)> {
        self.end_pause_if_over();
        while self.srv.pause.is_none() {
            let id = self.srv.postponed.pop_front()?;
            let Some(argv) = self.srv.clients.get_mut(&id).and_then(|c| c.blocked.take()).map(|b| b.argv) else {
                continue;
            };
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let now = self.srv.now_ms;
            if let Some(r) = self.execute(id, &refs, now) {
                return Some((id, r));
            }
        }
        None
    }

    /// Convenience for tests and consoles: splits a line like redis-cli and runs it.
    pub fn execute_line(&mut self, id: ClientId, line: &str, now_ms: i64) -> Option<Reply> {
        let Some(args) = crate::resp::split_args(line.as_bytes()) else {
            return Some(Reply::err("ERR Invalid argument(s)"));
        };
        if args.is_empty() {
            return None;
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.execute(id, &refs, now_ms)
    }

    /// `serverCron`: the slow active expire cycle and blocked-client timeouts.
    pub fn cron(&mut self, now_ms: i64) {
        self.srv.now_ms = now_ms;
        self.srv.storage.tick(now_ms);
        self.srv.aof_cron();
        self.srv.rewrite_cron();
        self.srv.active_expire_cycle(ExpireCycle::Slow);
        cmd::server::diag::flush_invalidations(&mut self.srv, None);
        self.end_pause_if_over();
        self.close_idle_clients(now_ms);
        self.handle_blocked_timeouts(now_ms);
    }

    /// The earliest deadline of a blocked client (unix ms), if any waits with a timeout: a host
    /// that sleeps until then (and then calls [`Engine::handle_blocked_timeouts`]) times the
    /// client out on time, as Redis's `beforeSleep` does, rather than at the next cron tick.
    pub fn next_blocked_deadline(&self) -> Option<i64> {
        self.srv.clients.values().filter_map(|c| c.blocked.as_ref().map(|b| b.deadline_ms).filter(|&d| d != 0)).min()
    }

    /// `handleBlockedClientsTimeout`: the clients time out in (deadline, id) order, as Redis
    /// walks its radix tree of timeouts, and only once the deadline is strictly before now
    /// (`checkBlockedClientTimeout`: `timeout < now`): at the deadline's own millisecond the
    /// client still waits. Their replies come from [`Engine::take_unblocked`].
    pub fn handle_blocked_timeouts(&mut self, now_ms: i64) {
        self.srv.now_ms = now_ms;
        let mut timed_out: Vec<(i64, ClientId)> = self
            .srv
            .clients
            .values()
            .filter_map(|c| c.blocked.as_ref().filter(|b| b.deadline_ms != 0 && b.deadline_ms < now_ms).map(|b| (b.deadline_ms, c.id)))
            .collect();
        timed_out.sort_unstable();
        for (_, id) in timed_out {
            if let Some(mut c) = self.srv.clients.remove(&id) {
                self.srv.unblock_registration(&c);
                if let Some(b) = c.blocked.take() {
                    self.srv.unblocked.push((id, b.timeout_reply));
                }
                self.srv.clients.insert(id, c);
            }
        }
    }

    /// `clientsCronHandleTimeout`: with `timeout` set, a connection idle for more than that many
    /// seconds (whole unix seconds, as `server.unixtime` and `c->lastinteraction` count them) is
    /// closed, unless it is blocked, subscribed (`CLIENT_PUBSUB`) or a monitor. Redis visits a
    /// slice of its clients per cron run (all of them within a second); here every run checks
    /// all of them, so a connection closes at most a cron period after Redis would.
    fn close_idle_clients(&mut self, now_ms: i64) {
        let max_idle = self.srv.config.timeout;
        if max_idle <= 0 {
            return;
        }
        let monitors = &self.srv.monitors;
        let idle: Vec<ClientId> = self
            .srv
            .clients
            .values()
            .filter(|c| !c.killed && c.blocked.is_none() && c.subs.total() == 0 && !monitors.contains(&c.id))
            .filter(|c| now_ms / 1000 - c.last_interaction_ms.max(c.created_ms) / 1000 > max_idle)
            .map(|c| c.id)
            .collect();
        for id in idle {
            cmd::server::client::kill_client(&mut self.srv, id);
        }
    }

    /// Pub/sub messages for connections other than their publisher (see
    /// [`crate::cmd::pubsub`]): the host writes each to its connection after the publishing
    /// command, encoded in that connection's protocol ([`Engine::protocol`]).
    pub fn take_messages(&mut self) -> Vec<(ClientId, Reply)> {
        self.srv.pubsub.take_messages()
    }

    /// The messages connection `id`'s own command queued for it, split around its reply
    /// ([`crate::cmd::pubsub::OwnMessages`]); the others' stay queued. Call it right after
    /// [`Engine::execute`] returns that reply.
    pub fn take_own_messages(&mut self, id: ClientId) -> crate::cmd::pubsub::OwnMessages {
        self.srv.pubsub.take_own_messages(id)
    }

    /// The replies of clients served or timed out since the last call; when there are none,
    /// that of the next client a pause held, resumed now (one per call: the host runs what that
    /// client sent behind the held command before it asks again, as Redis does). Each counts
    /// as an interaction (Redis's `writeToClient` sets `lastinteraction`), so the idle
    /// `timeout` counts from here. A host calls it until it is empty.
    pub fn take_unblocked(&mut self) -> Vec<(ClientId, Reply)> {
        if self.srv.unblocked.is_empty()
            && let Some(resumed) = self.resume_next_postponed()
        {
            self.srv.unblocked.push(resumed);
        }
        let now = self.srv.now_ms;
        for (id, _) in &self.srv.unblocked {
            if let Some(c) = self.srv.clients.get_mut(id) {
                c.last_interaction_ms = now;
            }
        }
        std::mem::take(&mut self.srv.unblocked)
    }

    /// `aof_buf`: the propagated bytes not yet written to a file.
    pub fn aof_buf(&self) -> &[u8] {
        &self.srv.feed.aof_buf
    }
    pub fn take_aof_buf(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.srv.feed.aof_buf)
    }

    /// Whether the value at `key` is of the type the blocked command `argv` waits for: a list
    /// for BLPOP / BRPOP / BLMOVE / BRPOPLPUSH / BLMPOP, a sorted set for BZPOPMIN / BZPOPMAX /
    /// BZMPOP, a stream for XREAD / XREADGROUP.
    fn serves(&self, db: usize, key: &[u8], argv: &[Vec<u8>]) -> bool {
        let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
        let wants = match name.as_slice() {
            b"bzpopmin" | b"bzpopmax" | b"bzmpop" => "zset",
            b"xread" | b"xreadgroup" => "stream",
            _ => "list",
        };
        self.srv.dbs[db].get(key).is_some_and(|v| v.type_name() == wants)
    }

    /// `handleClientsBlockedOnKeys`: for every key that got data, re-runs the commands of the
    /// clients blocked on it, first come first served, with `Client::ready_key` naming the key
    /// (a command serves that key alone). A served pop propagates on its own, after the push
    /// that fed it (`LPUSH bl x` then `LPOP bl`), not wrapped. A client the re-run does not
    /// serve (the key changed type) stays blocked where it was: same deadline, same place in
    /// every queue. Once the key is gone (Redis's `deleted` flag) only the clients that wait
    /// for its deletion are re-run (XREADGROUP, answered `-UNBLOCKED`).
    fn handle_clients_blocked_on_keys(&mut self) {
        while !self.srv.ready_keys.is_empty() {
            let ready = std::mem::take(&mut self.srv.ready_keys);
            for (db, key) in ready {
                let waiting: Vec<ClientId> =
                    self.srv.blocking_keys.get(&(db, key.clone())).map(|q| q.iter().copied().collect()).unwrap_or_default();
                for id in waiting {
                    let present = self.srv.dbs[db].contains(&key);
                    let Some(mut c) = self.srv.clients.remove(&id) else {
                        continue;
                    };
                    let Some(b) = c.blocked.take() else {
                        self.srv.clients.insert(id, c);
                        continue;
                    };
                    // A key that is gone serves nobody, except XREADGROUP's -UNBLOCKED; one of
                    // another type than the command waits for serves nobody either
                    // (`serveClientsBlockedOnListKey` … skip the other types' clients), except
                    // XREADGROUP's -UNBLOCKED again.
                    let other_type = present && !b.wake_on_delete && !self.serves(db, &key, &b.argv);
                    if (!present && !b.wake_on_delete) || other_type {
                        c.blocked = Some(b);
                        self.srv.clients.insert(id, c);
                        continue;
                    }
                    let saved_db = c.db;
                    c.db = b.db;
                    c.ready_key = Some(key.clone());
                    let refs: Vec<&[u8]> = b.argv.iter().map(|a| a.as_slice()).collect();
                    // The command was counted when it blocked; serving it is not another command.
                    let processed = self.srv.stats.total_commands_processed;
                    let outcome = refs.first().and_then(|name| cmd::lookup(name)).map(|cmd| cmd::call(&mut self.srv, &mut c, cmd, &refs));
                    self.srv.stats.total_commands_processed = processed;
                    c.ready_key = None;
                    c.db = saved_db;
                    match outcome {
                        Some(Outcome::Reply(r)) => {
                            c.blocked = Some(b);
                            self.srv.unblock_registration(&c);
                            c.blocked = None;
                            self.srv.unblocked.push((id, r));
                        }
                        // Not served: the registration is untouched, the original deadline kept.
                        Some(Outcome::Blocked) | None => c.blocked = Some(b),
                    }
                    self.srv.clients.insert(id, c);
                }
            }
        }
    }
}

/// What `prepareClientToWrite` lets through under CLIENT REPLY OFF / SKIP: the push frames.
fn pushes_only(reply: Reply) -> Reply {
    match reply {
        Reply::Push(_) => reply,
        Reply::Many(frames) => Reply::Many(frames.into_iter().filter(|f| matches!(f, Reply::Push(_))).collect()),
        _ => Reply::Many(Vec::new()),
    }
}
