//! XREAD / XREADGROUP with BLOCK against a real redis-server 7.0.15, with several clients: one
//! blocks, another writes, and the served reply, the AOF bytes of every step (the XADD, then the
//! XCLAIMs of the serving, as Redis orders them) and the final `DEBUG DIGEST` must match.
//! Covered: `$` resolved when blocking, several keys, groups (served in turn, `>` following the
//! group), NOACK, COUNT and the 1000 default, a group destroyed (`-NOGROUP`), a key deleted,
//! overwritten, renamed or flushed (`-UNBLOCKED` for XREADGROUP, XREAD keeps waiting), an entry
//! deleted before serving, timeouts, and a list client blocked on the same key.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::Duration;

use aof_lab::resp::split_args;
use aof_lab::server::ClientId;
use aof_lab::{Config, Engine};
use common::redis::{AofCursor, RedisServer, RespConn};
use common::runner::now_ms;
use common::script::{Clock, diff_aof, show_aof, show_raw, times_match};

/// One step of a scenario.
enum Step {
    /// Client `n` runs a command and gets its reply at once.
    Cmd(usize, &'static str),
    /// Client `n` sends a command that blocks (no reply yet).
    Block(usize, &'static str),
    /// Client `n`'s blocked command has been answered by now (by the previous steps).
    Served(usize),
    /// Wait, then let the engine's cron run (timeouts).
    Sleep(u64),
}
use Step::*;

struct Sides {
    redis: RedisServer,
    conns: Vec<RespConn>,
    /// Asks the real server how many clients it has blocked, so that a step after a `Block`
    /// never overtakes it (the connections are independent).
    admin: RespConn,
    blocked: usize,
    aof: AofCursor,
    engine: Engine,
    clients: Vec<ClientId>,
    /// Replies the engine produced for blocked clients, not yet checked.
    pending: Vec<(ClientId, Vec<u8>)>,
}

impl Sides {
    fn new(n: usize) -> Sides {
        let redis = RedisServer::start();
        let conns = (0..n).map(|_| redis.connect()).collect();
        let admin = redis.connect();
        let mut engine = Engine::new(Config { appendonly: true, ..Default::default() }, now_ms());
        let clients = (0..n).map(|_| engine.connect()).collect();
        let mut s = Sides { redis, conns, admin, blocked: 0, aof: AofCursor::new(), engine, clients, pending: Vec::new() };
        s.aof.take_new(&s.redis);
        s
    }

    /// Waits until the real server has `self.blocked` clients blocked (up to 5 s).
    fn sync_blocked(&mut self) {
        for _ in 0..500 {
            let info = String::from_utf8_lossy(&self.admin.command(&["INFO", "clients"]).unwrap()).into_owned();
            if info.contains(&format!("blocked_clients:{}\r\n", self.blocked)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the real server never had {} blocked clients", self.blocked);
    }

    fn collect(&mut self) {
        let done = self.engine.take_unblocked();
        self.pending.extend(done.into_iter().map(|(id, r)| (id, r.to_resp())));
    }

    fn engine_pending(&mut self, n: usize) -> Option<Vec<u8>> {
        self.collect();
        let id = self.clients[n];
        let i = self.pending.iter().position(|(c, _)| *c == id)?;
        Some(self.pending.remove(i).1)
    }
}

/// Runs a scenario on both sides; returns every difference found.
fn run(name: &str, clients: usize, steps: &[Step]) -> Vec<String> {
    let mut s = Sides::new(clients);
    let mut problems = Vec::new();
    let mut widest = Clock::exact(now_ms());
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{name} step {i}");
        let start = now_ms();
        match step {
            Cmd(n, line) | Block(n, line) => {
                let argv = split_args(line.as_bytes()).unwrap();
                let mut req = Vec::new();
                aof_lab::resp::encode_command(&mut req, &argv);
                s.conns[*n].send(&req).unwrap();
                let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
                let ours = s.engine.execute(s.clients[*n], &refs, now_ms()).map(|r| r.to_resp());
                if let Cmd(..) = step {
                    let theirs = s.conns[*n].read_reply().unwrap();
                    widest = widest.widest(Clock::between(start, now_ms()));
                    match ours {
                        Some(o) if times_match(&theirs, &o, widest) => {}
                        o => problems.push(format!(
                            "{at} `{line}`: redis {} engine {}",
                            show_raw(&theirs, 400),
                            o.map_or("(blocked)".into(), |o| show_raw(&o, 400))
                        )),
                    }
                } else {
                    s.blocked += 1;
                    s.sync_blocked();
                    if let Some(o) = ours {
                        problems.push(format!("{at} `{line}`: the engine answered {} instead of blocking", show_raw(&o, 200)));
                    }
                }
            }
            Served(n) => {
                s.blocked -= 1;
                let theirs = s.conns[*n].read_reply().unwrap_or_else(|e| panic!("{at}: client {n} was not served by redis: {e}"));
                match s.engine_pending(*n) {
                    Some(o) if times_match(&theirs, &o, widest) => {}
                    o => problems.push(format!(
                        "{at} served client {n}: redis {} engine {}",
                        show_raw(&theirs, 400),
                        o.map_or("(still blocked)".into(), |o| show_raw(&o, 400))
                    )),
                }
            }
            Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                s.engine.cron(now_ms());
            }
        }
        let (theirs, ours) = (s.aof.take_new(&s.redis), s.engine.take_aof_buf());
        if diff_aof(&theirs, &ours, widest, "redis", "engine").is_some() {
            problems.push(format!("{at}: AOF differs\n  redis:\n{}\n  engine:\n{}", show_aof(&theirs), show_aof(&ours)));
        }
    }
    // Nobody may still wait on the engine side when the real server answered everyone.
    s.collect();
    for (id, r) in &s.pending {
        problems.push(format!("{name}: the engine answered client {id} with {} that redis never sent", show_raw(r, 200)));
    }
    let theirs = s.conns[0].command(&["DEBUG", "DIGEST"]).unwrap();
    let ours = s.engine.execute(s.clients[0], &[b"DEBUG", b"DIGEST"], now_ms()).unwrap().to_resp();
    if theirs != ours {
        problems.push(format!("{name}: digest redis {} engine {}", show_raw(&theirs, 60), show_raw(&ours, 60)));
    }
    problems
}

fn check(name: &str, clients: usize, steps: &[Step]) {
    let problems = run(name, clients, steps);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn xread_served_by_a_later_xadd() {
    check(
        "xread",
        2,
        &[
            Cmd(0, "XADD s 1-0 a 1"),
            Block(1, "XREAD BLOCK 0 STREAMS s $"),
            Cmd(0, "XADD s 2-0 b 2"),
            Served(1),
            // Several keys: only the one that got data is in the reply; an ID in the past is
            // served at once.
            Block(1, "XREAD COUNT 5 BLOCK 0 STREAMS other s 0 $"),
            Cmd(0, "XADD other 7-0 c 3"),
            Served(1),
            Cmd(1, "XREAD BLOCK 0 STREAMS s 1-0"),
            // The entry added and deleted in one transaction: served with nothing.
            Block(1, "XREAD BLOCK 0 STREAMS s $"),
            Cmd(0, "MULTI"),
            Cmd(0, "XADD s 3-0 d 4"),
            Cmd(0, "XDEL s 3-0"),
            Cmd(0, "EXEC"),
            Served(1),
            // COUNT limits what a served client gets.
            Block(1, "XREAD COUNT 1 BLOCK 0 STREAMS s $"),
            Cmd(0, "MULTI"),
            Cmd(0, "XADD s 4-0 e 5"),
            Cmd(0, "XADD s 5-0 f 6"),
            Cmd(0, "EXEC"),
            Served(1),
            // A timeout answers *-1.
            Block(1, "XREAD BLOCK 30 STREAMS s $"),
            Sleep(80),
            Served(1),
        ],
    );
}

#[test]
fn xread_waits_through_a_deleted_or_overwritten_key() {
    check(
        "xread-deleted",
        2,
        &[
            Cmd(0, "XADD s 5-0 a 1"),
            Block(1, "XREAD BLOCK 0 STREAMS s $"),
            Cmd(0, "DEL s"),
            Cmd(0, "SET s x"),
            Cmd(0, "DEL s"),
            // A new stream whose top ID is below the one waited for does not serve it.
            Cmd(0, "XADD s 3-0 b 2"),
            Cmd(0, "XADD s 9-0 c 3"),
            Served(1),
        ],
    );
}

#[test]
fn blocked_list_and_stream_clients_on_one_key() {
    check(
        "mixed",
        3,
        &[
            Block(1, "XREAD BLOCK 0 STREAMS k $"),
            Block(2, "BLPOP k 0"),
            Cmd(0, "XADD k 1-0 a 1"),
            Served(1),
            Cmd(0, "DEL k"),
            Cmd(0, "RPUSH k x"),
            Served(2),
        ],
    );
}

#[test]
fn xreadgroup_served_in_turn_and_propagated_as_xclaim() {
    check(
        "xreadgroup",
        3,
        &[
            Cmd(0, "XGROUP CREATE s g $ MKSTREAM"),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Block(2, "XREADGROUP GROUP g bob BLOCK 0 STREAMS s >"),
            // alice gets the entry; bob waits for the next, as the group moved on.
            Cmd(0, "XADD s 1-0 a 1"),
            Served(1),
            Cmd(0, "XADD s 2-0 b 2"),
            Served(2),
            Cmd(0, "XPENDING s g"),
            // Without COUNT a served client gets up to 1000 entries.
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Cmd(0, "MULTI"),
            Cmd(0, "XADD s 3-0 c 3"),
            Cmd(0, "XADD s 4-0 d 4"),
            Cmd(0, "EXEC"),
            Served(1),
            // NOACK: a new consumer and the group's position are propagated.
            Block(2, "XREADGROUP GROUP g carol NOACK COUNT 5 BLOCK 0 STREAMS s >"),
            Cmd(0, "XADD s 5-0 e 5"),
            Served(2),
            Cmd(0, "XINFO GROUPS s"),
            // Blocked on two keys, served by the one that gets data.
            Cmd(0, "XGROUP CREATE t g $ MKSTREAM"),
            Block(1, "XREADGROUP GROUP g dave BLOCK 0 STREAMS s t > >"),
            Cmd(0, "XADD t 1-0 x 1"),
            Served(1),
            Block(1, "XREADGROUP GROUP g dave BLOCK 40 STREAMS s >"),
            Sleep(90),
            Served(1),
        ],
    );
}

#[test]
fn xreadgroup_unblocked_when_its_group_or_key_goes() {
    check(
        "xreadgroup-gone",
        3,
        &[
            Cmd(0, "XGROUP CREATE s g $ MKSTREAM"),
            Cmd(0, "XGROUP CREATE s h $"),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Block(2, "XREADGROUP GROUP h bob BLOCK 0 STREAMS s >"),
            Cmd(0, "XGROUP DESTROY s g"),
            Served(1),
            Cmd(0, "XADD s 1-0 a 1"),
            Served(2),
            // Deleted: -UNBLOCKED for XREADGROUP, while XREAD keeps waiting.
            Block(1, "XREADGROUP GROUP h alice BLOCK 0 STREAMS s >"),
            Block(2, "XREAD BLOCK 0 STREAMS s $"),
            Cmd(0, "DEL s"),
            Served(1),
            Cmd(0, "XADD s 2-0 b 2"),
            Served(2),
            // Overwritten by another type.
            Cmd(0, "XGROUP CREATE s g $"),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Cmd(0, "SET s str"),
            Served(1),
            // Renamed away, and flushed.
            Cmd(0, "DEL s"),
            Cmd(0, "XGROUP CREATE s g $ MKSTREAM"),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Cmd(0, "RENAME s s2"),
            Served(1),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s2 >"),
            Cmd(0, "FLUSHALL"),
            Served(1),
            // Replaced by another stream without the group: -NOGROUP when it is signalled.
            Cmd(0, "XGROUP CREATE s g $ MKSTREAM"),
            Cmd(0, "XGROUP CREATE other h $ MKSTREAM"),
            Block(1, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            Cmd(0, "RENAME other s"),
            Served(1),
        ],
    );
}

#[test]
fn blocking_inside_multi_answers_at_once() {
    check(
        "multi",
        1,
        &[
            Cmd(0, "XGROUP CREATE s g $ MKSTREAM"),
            Cmd(0, "MULTI"),
            Cmd(0, "XREAD BLOCK 0 STREAMS s $"),
            Cmd(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
            Cmd(0, "XADD s 1-0 a 1"),
            Cmd(0, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
            Cmd(0, "EXEC"),
        ],
    );
}
