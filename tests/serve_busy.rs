//! Busy scripts over real connections: the same exchanges with a real redis-server 7.0.15 and
//! with `aof-lab serve`, both started with `busy-reply-threshold 50`, every reply's bytes
//! compared. Client A runs a script that loops; ~200 ms later other clients are served while it
//! runs (`processEventsWhileBlocked`): `-BUSY` for all but the `allow-busy` commands, SCRIPT
//! KILL / FUNCTION KILL, FUNCTION STATS' `running_script`, MULTI flagged by a refused command,
//! SHUTDOWN refused without NOSAVE and obeyed with it (then what the AOF kept, after a restart
//! of each server), a connection accepted during the busy period, what A pipelined behind its
//! script, FUNCTION LOAD's 500 ms limit, and the `Slow script detected` warning in each log.
#![cfg(unix)]

mod common;
mod serve_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::redis::{RedisServer, RespConn};
use serve_support::{Serve, temp_dir};

const THRESHOLD_MS: u64 = 50;
/// Long enough for the script to be past the threshold on a loaded machine.
const BUSY_AFTER: Duration = Duration::from_millis(200);

const LOOP: &str = "while true do end";
const WRITE_THEN_LOOP: &str = "redis.call('set','k','v') while true do end";
const LIBRARY: &str = "#!lua name=spinlib\nredis.register_function('spin', function() while true do end end)";

/// One of the two servers, restartable on its data.
enum Side {
    Redis(RedisServer),
    Serve(Serve),
}

fn args() -> Vec<String> {
    ["--appendonly", "yes", "--appendfsync", "always", "--busy-reply-threshold", &THRESHOLD_MS.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl Side {
    fn redis_in(dir: PathBuf) -> Side {
        let a = args();
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        Side::Redis(RedisServer::start_in(dir, &refs).unwrap_or_else(|e| panic!("{e}")))
    }

    fn serve_in(dir: PathBuf) -> Side {
        let mut a = args();
        a.extend(["--save".to_string(), String::new()]);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        Side::Serve(Serve::start_in(dir, &refs))
    }

    fn name(&self) -> &'static str {
        match self {
            Side::Redis(_) => "redis",
            Side::Serve(_) => "serve",
        }
    }

    fn port(&self) -> u16 {
        match self {
            Side::Redis(r) => r.port,
            Side::Serve(s) => s.port,
        }
    }

    fn connect(&self) -> RespConn {
        match self {
            Side::Redis(r) => r.connect(),
            Side::Serve(s) => s.connect(),
        }
    }

    /// The server's process id.
    fn pid(&self) -> u32 {
        match self {
            Side::Redis(_) => {
                let info = String::from_utf8_lossy(&self.connect().command(&["INFO", "server"]).expect("INFO")).into_owned();
                info.lines().find_map(|l| l.strip_prefix("process_id:")).and_then(|p| p.trim().parse().ok()).expect("process_id")
            }
            Side::Serve(s) => s.child.id(),
        }
    }

    fn log(&self) -> String {
        match self {
            Side::Redis(r) => std::fs::read_to_string(r.dir.join("redis.log")).unwrap_or_default(),
            Side::Serve(s) => s.log(),
        }
    }

    /// Waits until the server no longer accepts connections (it exited); for serve, its exit
    /// status must be 0.
    fn wait_gone(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Side::Serve(s) = self {
            loop {
                if let Some(status) = s.child.try_wait().expect("try_wait") {
                    assert!(status.success(), "serve exited with {status}; log:\n{}", s.log());
                    return;
                }
                assert!(Instant::now() < deadline, "serve did not exit; log:\n{}", s.log());
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        while std::net::TcpStream::connect(("127.0.0.1", self.port())).is_ok() {
            assert!(Instant::now() < deadline, "redis-server did not exit; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The same server started again on what the stopped one left.
    fn restart(self) -> Side {
        match self {
            Side::Redis(r) => {
                // Dropping a RedisServer removes its directory: the data moves to a new one.
                let dir = RedisServer::new_dir();
                common::copy_dir(&r.dir, &dir);
                drop(r);
                Side::redis_in(dir)
            }
            Side::Serve(mut s) => {
                s.keep_dir = true;
                let dir = s.dir.clone();
                drop(s);
                Side::serve_in(dir)
            }
        }
    }
}

fn send(c: &mut RespConn, argv: &[&str]) {
    let mut out = Vec::new();
    aof_lab::resp::encode_command(&mut out, argv);
    c.send(&out).expect("send");
}

fn reply(c: &mut RespConn) -> String {
    match c.read_reply() {
        Ok(r) => String::from_utf8_lossy(&r).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "<closed>".into(),
        Err(e) => format!("<error: {e}>"),
    }
}

/// Sends and reads the reply, as a transcript line.
fn call(c: &mut RespConn, who: &str, argv: &[&str]) -> String {
    send(c, argv);
    format!("{who} {} -> {}", argv.join(" "), reply(c))
}

/// FUNCTION STATS' `duration_ms` is a time: checked to be past the threshold, then replaced.
fn duration_normalised(stats: &str) -> String {
    let key = "duration_ms\r\n:";
    let Some(at) = stats.find(key) else {
        return stats.to_string();
    };
    let start = at + key.len();
    let end = start + stats[start..].find("\r\n").expect("integer");
    let ms: u64 = stats[start..end].parse().expect("duration_ms");
    assert!(ms >= THRESHOLD_MS, "duration_ms {ms} < busy-reply-threshold {THRESHOLD_MS}");
    format!("{}<ms>{}", &stats[..start], &stats[end..])
}

/// The log lines about busy scripts, without pid, time and the milliseconds they counted.
fn busy_log_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Slow script detected") || l.contains("script killed"))
        .map(|l| {
            let msg = l.split_once(" # ").map_or(l, |(_, m)| m);
            msg.split(' ').map(|w| if w.bytes().all(|b| b.is_ascii_digit()) { "N" } else { w }).collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// Runs `scenario` on both servers; the transcripts must be equal.
fn compare(scenario: impl Fn(Side) -> Vec<String>) {
    let redis = scenario(Side::redis_in(RedisServer::new_dir()));
    let serve = scenario(Side::serve_in(temp_dir("busy")));
    assert_eq!(redis, serve, "\nredis:\n{}\n\nserve:\n{}", redis.join("\n"), serve.join("\n"));
}

/// A starts `argv` and does not wait; once it is busy, a connection for the others.
fn start_busy(side: &Side, argv: &[&str]) -> (RespConn, RespConn) {
    let mut a = side.connect();
    let b = side.connect();
    send(&mut a, argv);
    std::thread::sleep(BUSY_AFTER);
    (a, b)
}

#[test]
fn script_kill_of_a_busy_eval() {
    compare(|side| {
        let mut t = Vec::new();
        let (mut a, mut b) = start_busy(&side, &["EVAL", LOOP, "0"]);
        // A pipelines behind its script: read once the script is over.
        send(&mut a, &["PING", "after"]);
        t.push(call(&mut b, "B", &["PING"]));
        t.push(call(&mut b, "B", &["GET", "k"]));
        t.push(call(&mut b, "B", &["FUNCTION", "STATS"]));
        t.push(call(&mut b, "B", &["FUNCTION", "KILL"]));
        t.push(call(&mut b, "B", &["CLIENT", "SETNAME", "b"]));
        t.push(call(&mut b, "B", &["EVAL", "return 1", "0"]));
        // A connection accepted during the busy period.
        let mut c = side.connect();
        t.push(call(&mut c, "C", &["PING"]));
        t.push(call(&mut c, "C", &["HELLO", "3"]).split("\r\n").next().unwrap_or_default().to_string());
        t.push(call(&mut c, "C", &["PING"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(format!("A EVAL -> {}", reply(&mut a)));
        t.push(format!("A PING after -> {}", reply(&mut a)));
        t.push(call(&mut b, "B", &["PING"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(call(&mut a, "A", &["EVAL", "return redis.call('ping')", "0"]));
        t.extend(busy_log_lines(&side.log()));
        t
    });
}

/// A script that wrote cannot be killed; SHUTDOWN NOSAVE stops the server all the same (A gets
/// no reply), and after a restart the AOF shows what Redis 7.0 had propagated of the script by
/// then: nothing, its effects are propagated at its end.
fn unkillable(side: Side, shutdown: &[&str]) -> Vec<String> {
    let mut t = Vec::new();
    let (mut a, mut b) = start_busy(&side, &["EVAL", WRITE_THEN_LOOP, "0"]);
    t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
    t.push(call(&mut b, "B", &["SHUTDOWN"]));
    t.push(call(&mut b, "B", &["SHUTDOWN", "ABORT"]));
    t.push(call(&mut b, "B", shutdown));
    t.push(format!("A EVAL -> {}", reply(&mut a)));
    let mut side = side;
    side.wait_gone();
    let side = side.restart();
    let mut c = side.connect();
    t.push(call(&mut c, "C", &["GET", "k"]));
    t.push(call(&mut c, "C", &["DBSIZE"]));
    t
}

#[test]
fn shutdown_nosave_during_an_unkillable_script() {
    compare(|side| unkillable(side, &["SHUTDOWN", "NOSAVE"]));
}

#[test]
fn shutdown_nosave_now_force_during_an_unkillable_script() {
    compare(|side| unkillable(side, &["SHUTDOWN", "NOSAVE", "NOW", "FORCE"]));
}

#[test]
fn function_kill_of_a_busy_fcall() {
    compare(|side| {
        let mut t = Vec::new();
        let mut setup = side.connect();
        t.push(call(&mut setup, "S", &["FUNCTION", "LOAD", LIBRARY]));
        let (mut a, mut b) = start_busy(&side, &["FCALL", "spin", "0"]);
        // `duration_ms` is a time: its shape is compared, and that it is past the threshold.
        let stats = call(&mut b, "B", &["FUNCTION", "STATS"]);
        t.push(duration_normalised(&stats));
        t.push(call(&mut b, "B", &["PING"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(call(&mut b, "B", &["FUNCTION", "KILL"]));
        t.push(format!("A FCALL -> {}", reply(&mut a)));
        t.push(call(&mut b, "B", &["FUNCTION", "STATS"]));
        t.push(call(&mut b, "B", &["FUNCTION", "KILL"]));
        t.extend(busy_log_lines(&side.log()));
        t
    });
}

#[test]
fn multi_during_a_busy_script() {
    compare(|side| {
        let mut t = Vec::new();
        let (mut a, mut b) = start_busy(&side, &["EVAL", LOOP, "0"]);
        t.push(call(&mut b, "B", &["MULTI"]));
        t.push(call(&mut b, "B", &["SET", "x", "1"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(call(&mut b, "B", &["EXEC"]));
        t.push(call(&mut b, "B", &["MULTI"]));
        t.push(call(&mut b, "B", &["DISCARD"]));
        t.push(call(&mut b, "B", &["WATCH", "x"]));
        t.push(call(&mut b, "B", &["UNWATCH"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(format!("A EVAL -> {}", reply(&mut a)));
        t.push(call(&mut b, "B", &["GET", "x"]));
        t
    });
}

#[test]
fn shutdown_without_nosave_is_busy() {
    compare(|side| {
        let mut t = Vec::new();
        let (mut a, mut b) = start_busy(&side, &["EVAL", LOOP, "0"]);
        t.push(call(&mut b, "B", &["SHUTDOWN"]));
        t.push(call(&mut b, "B", &["SHUTDOWN", "SAVE"]));
        t.push(call(&mut b, "B", &["SHUTDOWN", "NOW"]));
        t.push(call(&mut b, "B", &["SHUTDOWN", "NOSAVE", "SAVE"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(format!("A EVAL -> {}", reply(&mut a)));
        t.push(call(&mut b, "B", &["PING"]));
        t
    });
}

#[test]
fn function_load_of_a_looping_library_times_out() {
    compare(|side| {
        let mut t = Vec::new();
        let mut c = side.connect();
        let started = Instant::now();
        t.push(call(&mut c, "C", &["FUNCTION", "LOAD", "#!lua name=forever\nwhile true do end"]));
        // LOAD_TIMEOUT_MS is 500.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(450), "{} answered after {took:?}", side.name());
        t.push(call(&mut c, "C", &["FUNCTION", "LIST"]));
        t.push(call(&mut c, "C", &["PING"]));
        t
    });
}

#[test]
fn script_kill_through_pcall() {
    // The kill error strikes at every line from then on: a pcall that catches it cannot keep
    // the script alive.
    compare(|side| {
        let mut t = Vec::new();
        let body = "local n = 0\nwhile true do\n  local ok, e = pcall(function() while true do end end)\n  n = n + 1\nend";
        let (mut a, mut b) = start_busy(&side, &["EVAL", body, "0"]);
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(format!("A EVAL -> {}", reply(&mut a)));
        t.push(call(&mut b, "B", &["PING"]));
        t
    });
}

#[test]
fn sigterm_waits_for_the_end_of_a_busy_script() {
    compare(|mut side| {
        let mut t = Vec::new();
        let pid = side.pid();
        let (mut a, mut b) = start_busy(&side, &["EVAL", LOOP, "0"]);
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(100));
        // Still serving: the signal is acted on once the script is over.
        t.push(call(&mut b, "B", &["PING"]));
        t.push(call(&mut b, "B", &["SCRIPT", "KILL"]));
        t.push(format!("A EVAL -> {}", reply(&mut a)));
        side.wait_gone();
        t.push("exited".into());
        t.extend(
            side.log().lines().filter(|l| l.contains("Received SIGTERM")).map(|l| l.split_once(") ").map_or(l, |(_, m)| m).to_string()),
        );
        t
    });
}
