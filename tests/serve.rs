//! `aof-lab serve` end to end: the built binary on a free loopback port, spoken to over TCP the
//! way real clients do (raw RESP, inline commands, redis-cli, redis-benchmark).
//!
//! redis-cli and redis-benchmark are required (CI installs them with redis-server): a missing
//! tool fails the test, it is never skipped.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::runner::now_ms;
use common::script::{Clock, times_match};

const BIN: &str = env!("CARGO_BIN_EXE_aof-lab");

static SEQ: AtomicU32 = AtomicU32::new(0);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aof-lab-serve-test-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind :0").local_addr().expect("local addr").port()
}

/// A running `aof-lab serve`, killed (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Server::start_in(temp_dir(), extra)
    }

    fn start_in(dir: PathBuf, extra: &[&str]) -> Server {
        // The free port may be taken by someone else before we bind it: try again then.
        for _ in 0..5 {
            let port = free_port();
            let mut args: Vec<String> = vec!["serve".into(), "--port".into(), port.to_string()];
            args.extend(["--dir".into(), dir.display().to_string(), "--logfile".into(), "log.txt".into()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            // Ours is ready when *its* log says so (another test may own a port that answers).
            let ready = |dir: &PathBuf| {
                std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default().matches("Ready to accept connections").count()
            };
            let before = ready(&dir);
            let mut child = Command::new(BIN).args(&args).stdin(Stdio::null()).spawn().expect("spawn aof-lab");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if ready(&dir) > before && child.try_wait().ok().flatten().is_none() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Server { child, port, dir };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("aof-lab serve did not start; log:\n{}", std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default());
    }

    fn connect(&self) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        Conn { s }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }

    /// Waits for the process to exit by itself; its status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "server did not exit; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Conn {
    s: TcpStream,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }
    fn cmd(&mut self, argv: &[&str]) {
        let mut out = Vec::new();
        aof_lab::resp::encode_command(&mut out, argv);
        self.send(&out);
    }
    /// Reads exactly `n` bytes.
    fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.s.read_exact(&mut buf).unwrap_or_else(|e| panic!("reading {n} bytes: {e}"));
        buf
    }
    /// Reads exactly the bytes of `expected` and compares.
    fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected));
    }
    /// True if the server closed the connection (EOF) with nothing more to read.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0))
    }
    /// True if nothing arrives within `ms`.
    fn silent_for(&mut self, ms: u64) -> bool {
        self.s.set_read_timeout(Some(Duration::from_millis(ms))).expect("timeout");
        let mut b = [0u8; 1];
        let silent =
            matches!(self.s.read(&mut b), Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
        self.s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        silent
    }
}

#[test]
fn ping_multibulk_and_inline() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"*1\r\n$4\r\nPING\r\n");
    c.expect(b"+PONG\r\n");
    // Inline commands, as typed in telnet, with redis-cli quoting; empty lines are skipped.
    c.send(b"PING\r\n\r\nping\n");
    c.expect(b"+PONG\r\n+PONG\r\n");
    c.send(b"SET k \"a b\\x41\"\r\nGET k\r\nECHO 'x y'\r\n");
    c.expect(b"+OK\r\n$4\r\na bA\r\n$3\r\nx y\r\n");
}

#[test]
fn pipelined_commands_reply_in_order() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2000 {
        aof_lab::resp::encode_command(&mut batch, &["SET", &format!("k{i}"), &format!("v{i}")]);
        aof_lab::resp::encode_command(&mut batch, &["INCR", "counter"]);
        aof_lab::resp::encode_command(&mut batch, &["GET", &format!("k{i}")]);
        expected.extend_from_slice(b"+OK\r\n");
        expected.extend_from_slice(format!(":{}\r\n", i + 1).as_bytes());
        expected.extend_from_slice(format!("${}\r\nv{i}\r\n", format!("v{i}").len()).as_bytes());
    }
    c.send(&batch);
    c.expect(&expected);

    // A command cut anywhere, even one byte at a time, is run once it is complete.
    let cmd = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n";
    for b in cmd {
        c.send(&[*b]);
        std::thread::sleep(Duration::from_millis(1));
    }
    c.expect(b"+OK\r\n");
    c.cmd(&["GET", "split"]);
    c.expect(b"$5\r\nvalue\r\n");
}

#[test]
fn unknown_command_is_an_error_not_a_disconnect() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"FOO bar\r\nPING\r\n");
    c.expect(b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n+PONG\r\n");
    c.cmd(&["GET"]);
    c.expect(b"-ERR wrong number of arguments for 'get' command\r\n");
    c.cmd(&["PING"]);
    c.expect(b"+PONG\r\n");
}

#[test]
fn protocol_error_closes_only_that_connection() {
    let srv = Server::start(&[]);
    let mut other = srv.connect();
    other.cmd(&["SET", "a", "1"]);
    other.expect(b"+OK\r\n");

    // Commands before the bad bytes run; then the error, then the close.
    let mut bad = srv.connect();
    bad.send(b"*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n");
    bad.expect(b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
    assert!(bad.closed());

    let mut bad = srv.connect();
    bad.send(b"*1\r\nfoo\r\n");
    bad.expect(b"-ERR Protocol error: expected '$', got 'f'\r\n");
    assert!(bad.closed());

    let mut bad = srv.connect();
    bad.send(b"SET \"k\r\n");
    bad.expect(b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(bad.closed());

    let mut bad = srv.connect();
    bad.send(b"*2\r\n$3\r\nGET\r\n$-1\r\n");
    bad.expect(b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(bad.closed());

    other.cmd(&["INCR", "a"]);
    other.expect(b":2\r\n");
}

#[test]
fn two_clients_share_the_keyspace_and_watch() {
    let srv = Server::start(&[]);
    let mut a = srv.connect();
    let mut b = srv.connect();
    a.cmd(&["SET", "shared", "from-a"]);
    a.expect(b"+OK\r\n");
    b.cmd(&["GET", "shared"]);
    b.expect(b"$6\r\nfrom-a\r\n");

    // WATCH in one connection sees a write made by the other.
    a.send(b"WATCH shared\r\n");
    a.expect(b"+OK\r\n");
    b.send(b"SET shared from-b\r\n");
    b.expect(b"+OK\r\n");
    a.send(b"MULTI\r\nSET shared again\r\nEXEC\r\n");
    a.expect(b"+OK\r\n+QUEUED\r\n*-1\r\n");
    b.send(b"GET shared\r\n");
    b.expect(b"$6\r\nfrom-b\r\n");
}

#[test]
fn multi_exec_in_one_pipelined_batch() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"MULTI\r\nSET n 1\r\nINCR n\r\nGET n\r\nEXEC\r\nGET n\r\n");
    c.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n$1\r\n2\r\n");
    // A transaction with a rejected command aborts, in the same batch.
    c.send(b"MULTI\r\nSET n 5\r\nNOSUCH\r\nEXEC\r\nGET n\r\n");
    c.expect(b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n-EXECABORT Transaction discarded because of previous errors.\r\n$1\r\n2\r\n");
}

#[test]
fn quit_replies_then_closes() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"PING\r\nQUIT\r\nPING\r\n");
    c.expect(b"+PONG\r\n+OK\r\n");
    assert!(c.closed());
    // The server goes on.
    let mut d = srv.connect();
    d.send(b"PING\r\n");
    d.expect(b"+PONG\r\n");
}

#[test]
fn half_closed_client_still_gets_its_replies() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"PING\r\nECHO bye\r\n");
    c.s.shutdown(Shutdown::Write).expect("shutdown write");
    c.expect(b"+PONG\r\n$3\r\nbye\r\n");
    assert!(c.closed());
}

#[test]
fn big_replies_are_written_incrementally() {
    let srv = Server::start(&[]);
    let mut c = srv.connect();
    let value = vec![b'x'; 8 << 20];
    let mut set = Vec::new();
    aof_lab::resp::encode_command(&mut set, &[b"SET".as_slice(), b"big", &value]);
    c.send(&set);
    c.expect(b"+OK\r\n");
    // 4 × 8 MB asked at once and not read for a while: far more than a socket buffer holds.
    c.send(b"GET big\r\nGET big\r\nGET big\r\nGET big\r\nPING\r\n");
    std::thread::sleep(Duration::from_millis(200));
    // Meanwhile another client is served.
    let mut d = srv.connect();
    d.send(b"PING\r\n");
    d.expect(b"+PONG\r\n");
    let header = b"$8388608\r\n";
    for _ in 0..4 {
        c.expect(header);
        let body = c.read_n(value.len());
        assert!(body.iter().all(|&b| b == b'x'));
        c.expect(b"\r\n");
    }
    c.expect(b"+PONG\r\n");
}

#[test]
fn blocked_client_is_served_and_then_runs_its_pipeline() {
    let srv = Server::start(&[]);
    let mut a = srv.connect();
    let mut b = srv.connect();
    a.send(b"BZPOPMIN z 0\r\nPING\r\n");
    assert!(a.silent_for(150), "a blocked client must not get a reply");
    b.send(b"ZADD z 1 m\r\n");
    b.expect(b":1\r\n");
    a.expect(b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n1\r\n+PONG\r\n");
    // A timeout comes from the server's cron.
    let t = Instant::now();
    a.send(b"BZPOPMIN nothing 0.3\r\n");
    a.expect(b"*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(250), "timed out too early: {:?}", t.elapsed());
}

#[test]
fn shutdown_command_and_signals_exit_cleanly() {
    let mut srv = Server::start(&[]);
    let mut c = srv.connect();
    c.send(b"SHUTDOWN FOO\r\n");
    c.expect(b"-ERR syntax error\r\n");
    c.send(b"SHUTDOWN ABORT\r\n");
    c.expect(b"-ERR No shutdown in progress.\r\n");
    c.send(b"MULTI\r\nSHUTDOWN\r\nEXEC\r\n");
    c.expect(b"+OK\r\n-ERR Command not allowed inside a transaction\r\n-EXECABORT Transaction discarded because of previous errors.\r\n");
    c.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(c.closed());
    assert!(srv.wait_exit().success());
    let log = srv.log();
    assert!(log.contains(" # User requested shutdown...\n"), "{log}");
    assert!(log.contains(" # aof-lab is now ready to exit, bye bye...\n"), "{log}");

    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let mut srv = Server::start(&[]);
        // SAFETY: a signal to the child we spawned, by its pid.
        assert_eq!(unsafe { libc::kill(srv.child.id() as i32, sig) }, 0);
        assert!(srv.wait_exit().success(), "{name}");
        let log = srv.log();
        assert!(log.contains(":signal-handler (") && log.contains(&format!(") Received {name} scheduling shutdown...\n")), "{log}");
        assert!(log.contains(" # User requested shutdown...\n"), "{log}");
    }
}

#[test]
fn startup_log_in_redis_format() {
    let port = free_port();
    let dir = temp_dir();
    let child = Command::new(BIN)
        .args(["serve", "--port", &port.to_string(), "--dir", &dir.display().to_string(), "--save", "", "--appendonly", "no"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.write_all(b"SHUTDOWN\r\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let pid = child_pid_prefix(&lines);
    let expect = [
        ("C", "#", "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
        ("C", "#", "Configuration loaded"),
        ("M", "*", &format!("Running mode=standalone, port={port}.")),
        ("M", "#", "Server initialized"),
        ("M", "*", "Ready to accept connections"),
        ("M", "#", "User requested shutdown..."),
        ("M", "#", "aof-lab is now ready to exit, bye bye..."),
    ];
    for (role, level, msg) in expect {
        let found = lines.iter().any(|l| {
            // "<pid>:<role> 23 Nov 2026 19:54:20.123 <level> <msg>"
            let Some(rest) = l.strip_prefix(&format!("{pid}:{role} ")) else { return false };
            rest.len() > 25 && rest.as_bytes()[20] == b'.' && rest[24..].starts_with(&format!(" {level} {msg}")) && rest.ends_with(msg)
        });
        assert!(found, "no line `{role} {level} {msg}` in:\n{text}");
    }
    assert!(lines.iter().any(|l| l.contains("aof-lab version=") && l.contains("just started")), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn child_pid_prefix(lines: &[&str]) -> String {
    lines.first().and_then(|l| l.split(':').next()).expect("a log line").to_string()
}

#[test]
fn unknown_config_option_exits_1_with_redis_message() {
    let out = Command::new(BIN).args(["serve", "--port", "0", "--foo", "bar"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n"
    );
    let out = Command::new(BIN).args(["serve", "--appendonly", "maybe"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with(">>> 'appendonly \"maybe\"'\nargument must be 'yes' or 'no'\n"));
    // Anything but `serve` prints the usage and fails, as redis tools do.
    let out = Command::new(BIN).arg("frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("serve"));
}

#[test]
fn port_in_use_exits_1_with_redis_message() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = temp_dir();
    let out = Command::new(BIN).args(["serve", "--port", &port.to_string(), "--dir", &dir.display().to_string()]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            " # Warning: Could not create server TCP listening socket 127.0.0.1:{port}: bind: Address already in use\n"
        )),
        "{text}"
    );
    assert!(text.contains(&format!(" # Failed listening on port {port} (TCP), aborting.\n")), "{text}");
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appendonly_survives_a_restart() {
    let dir = temp_dir();
    let mut srv = Server::start_in(dir.clone(), &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = srv.connect();
    c.send(b"SET persisted yes\r\nINCR hits\r\n");
    c.expect(b"+OK\r\n:1\r\n");
    // (Sent in the same batch, SHUTDOWN would exit before those replies go out: Redis too.)
    c.send(b"SHUTDOWN\r\n");
    assert!(c.closed());
    assert!(srv.wait_exit().success());
    let incr = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).expect("incr file");
    assert_eq!(
        String::from_utf8_lossy(&incr),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$9\r\npersisted\r\n$3\r\nyes\r\n*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n"
    );
    // `srv` still owns the directory; the new server reuses it before it is removed.
    let srv2 = Server::start_in(dir.clone(), &["--appendonly", "yes"]);
    let mut c = srv2.connect();
    c.send(b"GET persisted\r\nGET hits\r\n");
    c.expect(b"$3\r\nyes\r\n$1\r\n1\r\n");
    drop(srv2);
    drop(srv);
}

fn run_tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("`{program}` is required for this test (install redis-tools / redis-server): {e}");
    })
}

#[test]
fn redis_cli_and_redis_benchmark() {
    let srv = Server::start(&[]);
    let port = srv.port.to_string();
    let out = run_tool("redis-cli", &["-p", &port, "ping"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");
    let out = run_tool("redis-cli", &["-p", &port, "set", "cli", "a b"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let out = run_tool("redis-cli", &["-p", &port, "get", "cli"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a b\n");

    for extra in [&[][..], &["-P", "16"][..], &["-c", "50"][..]] {
        // The command set of the acceptance line, fewer requests.
        let mut args = vec!["-p", &port, "-q", "-t", "ping,set,get,incr,lpush,rpop,sadd,hset,zadd", "-n", "2000"];
        args.extend_from_slice(extra);
        let out = run_tool("redis-benchmark", &args);
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        assert!(out.status.success(), "redis-benchmark {extra:?} failed: {text}");
        for name in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPOP", "SADD", "HSET", "ZADD"] {
            assert!(text.contains(&format!("{name}: ")), "no {name} result for {extra:?}: {text}");
        }
        assert!(!text.contains("rror"), "errors in redis-benchmark {extra:?}: {text}");
    }
    let out = run_tool("redis-cli", &["-p", &port, "dbsize"]);
    // cli, key:__rand_int__, counter:__rand_int__, myset:__rand_int__, myhash, myzset (RPOP has
    // emptied mylist, so it is gone, as in Redis).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "6\n");
}

#[test]
fn maxclients_and_verbose_log() {
    let srv = Server::start(&["--maxclients", "2", "--loglevel", "verbose"]);
    let mut a = srv.connect();
    a.send(b"PING\r\n");
    a.expect(b"+PONG\r\n");
    let _b = srv.connect();
    std::thread::sleep(Duration::from_millis(100));
    let mut refused = srv.connect();
    refused.expect(b"-ERR max number of clients reached\r\n");
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    let log = srv.log();
    assert!(log.contains(" - Accepted 127.0.0.1:"), "{log}");
    assert!(log.contains(" - Client closed connection id=1 addr=127.0.0.1:"), "{log}");
}

/// Reads one RESP reply (raw bytes) from a connection.
fn read_reply(c: &mut Conn) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Ok(Some((_, n))) = aof_lab::resp::parse_reply(&buf) {
            buf.truncate(n);
            return buf;
        }
        c.s.read_exact(&mut byte).expect("reply");
        buf.push(byte[0]);
    }
}

#[test]
fn kill_9_under_always_loses_no_acknowledged_write() {
    for round in 0..3u64 {
        let dir = temp_dir();
        let mut srv = Server::start_in(dir.clone(), &["--appendonly", "yes", "--appendfsync", "always"]);
        let port = srv.port;
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writer = {
            let acked = acked.clone();
            std::thread::spawn(move || {
                let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else { return };
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut c = Conn { s };
                // Pipelined batches of 8: a batch is acknowledged reply by reply.
                for batch in 0..100_000usize {
                    let mut out = Vec::new();
                    for i in batch * 8..batch * 8 + 8 {
                        aof_lab::resp::encode_command(&mut out, &["SET", &format!("k{i}"), &i.to_string()]);
                    }
                    if c.s.write_all(&out).is_err() {
                        return;
                    }
                    for _ in 0..8 {
                        let mut line = [0u8; 5];
                        if c.s.read_exact(&mut line).is_err() || &line != b"+OK\r\n" {
                            return;
                        }
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(150 + 100 * round));
        srv.child.kill().expect("kill -9"); // SIGKILL: no shutdown, no final fsync
        srv.child.wait().ok();
        writer.join().ok();
        let acked = acked.load(Ordering::SeqCst);
        assert!(acked > 0, "the load ran before the kill");
        let srv2 = Server::start_in(dir.clone(), &["--appendonly", "yes"]);
        let mut c = srv2.connect();
        for chunk in (0..acked).collect::<Vec<_>>().chunks(500) {
            let mut argv: Vec<String> = vec!["EXISTS".into()];
            argv.extend(chunk.iter().map(|i| format!("k{i}")));
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            c.cmd(&refs);
            assert_eq!(read_reply(&mut c), format!(":{}\r\n", chunk.len()).into_bytes(), "round {round}: an acknowledged write is missing");
        }
        drop(srv2);
        drop(srv);
    }
}

#[test]
fn fatal_load_error_exits_1_like_redis() {
    let garbage = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\nGARBAGE\r\n";
    let manifest = b"file appendonly.aof.1.incr.aof seq 1 type i\n";
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
    std::fs::write(dir.join("appendonlydir/appendonly.aof.manifest"), manifest).unwrap();
    std::fs::write(dir.join("appendonlydir/appendonly.aof.1.incr.aof"), garbage).unwrap();
    let port = free_port().to_string();
    let dir_s = dir.display().to_string();
    let out = Command::new(BIN)
        .args(["serve", "--port", &port, "--dir", &dir_s, "--appendonly", "yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run aof-lab");
    let ours = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{ours}");
    let real = Command::new("redis-server")
        .args(["--port", &free_port().to_string(), "--bind", "127.0.0.1", "--dir", &dir_s, "--appendonly", "yes", "--save", ""])
        .stdin(Stdio::null())
        .output()
        .expect("redis-server is required for this test");
    let real_text = String::from_utf8_lossy(&real.stdout).into_owned();
    assert_eq!(real.status.code(), Some(1));
    let message = "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
    assert!(real_text.contains(message), "{real_text}");
    assert!(ours.contains(message), "{ours}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_writes_the_same_files_as_redis_and_redis_loads_them() {
    let workload: &[&[&str]] = &[
        &["SET", "s", "v"],
        &["SET", "ttl", "v", "EX", "100000"],
        &["INCRBYFLOAT", "f", "1.5"],
        &["HSET", "h", "a", "1"],
        &["SADD", "set", "x", "y"],
        &["ZADD", "z", "1", "m"],
        &["RPUSH", "l", "a", "b"],
        &["MULTI"],
        &["INCR", "n"],
        &["INCR", "n"],
        &["EXEC"],
        &["SELECT", "4"],
        &["SET", "db4", "v"],
        &["EXPIRE", "db4", "5000"],
    ];
    let lab = Server::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    // The common launcher makes sure the server answering is ours (ports race between tests).
    let real =
        common::redis::RedisServer::start_in(common::redis::RedisServer::new_dir(), &["--appendonly", "yes", "--appendfsync", "always"])
            .expect("redis-server 7.0.15 is required for this test");
    let real_dir = real.dir.clone();
    let mut rc = real.connect();
    let mut lc = lab.connect();
    // The absolute times each side computes (`PXAT`, `PEXPIREAT`) may differ by the window in
    // which both ran the command, and by nothing more.
    let mut clock = Clock::exact(now_ms());
    for argv in workload {
        let start = now_ms();
        lc.cmd(argv);
        let ours = read_reply(&mut lc);
        assert_eq!(ours, rc.command(argv).unwrap(), "{argv:?}");
        clock = clock.widest(Clock::between(start, now_ms()));
    }
    lc.cmd(&["DEBUG", "DIGEST"]);
    let digest = read_reply(&mut lc);
    assert_eq!(rc.command(&["DEBUG", "DIGEST"]).unwrap(), digest);
    let file = |dir: &PathBuf, name: &str| std::fs::read(dir.join("appendonlydir").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    for name in ["appendonly.aof.manifest", "appendonly.aof.1.incr.aof"] {
        let (ours, theirs) = (file(&lab.dir, name), file(&real_dir, name));
        assert!(
            times_match(&theirs, &ours, clock),
            "{name} (times within {} ms):\n{}\n{}",
            clock.slack_ms,
            String::from_utf8_lossy(&theirs),
            String::from_utf8_lossy(&ours)
        );
    }
    // The empty RDB base: same layout; ctime and used-mem differ (a time and a memory figure).
    let (ours, theirs) = (file(&lab.dir, "appendonly.aof.1.base.rdb"), file(&real_dir, "appendonly.aof.1.base.rdb"));
    assert_eq!(ours.len(), theirs.len());
    // Up to the ctime field's INT32 marker (its 4 bytes are the creation time).
    assert_eq!(ours[..49], theirs[..49], "magic, redis-ver, redis-bits, ctime's encoding");
    drop(real);
    // Redis loads the directory aof-lab wrote, with the same digest.
    lc.cmd(&["SHUTDOWN"]);
    assert!(lc.closed());
    let lab_dir = lab.dir.clone();
    let copy = temp_dir();
    std::fs::create_dir_all(copy.join("appendonlydir")).unwrap();
    for entry in std::fs::read_dir(lab_dir.join("appendonlydir")).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.join("appendonlydir").join(entry.file_name())).unwrap();
    }
    let loaded = common::redis::RedisServer::start_in(copy, &["--appendonly", "yes"]).expect("Redis loads the directory serve wrote");
    assert_eq!(loaded.connect().command(&["DEBUG", "DIGEST"]).unwrap(), digest);
    drop(loaded);
}

/// The load's time, as Redis logs it: `serve` lends the engine its monotonic clock, so an AOF
/// of 60 000 commands takes a measured time (each file's, then the whole load's, which holds
/// them), never the 0.000 seconds of a host without a clock; and no more than the start took.
#[test]
fn the_load_time_is_measured_as_redis_logs_it() {
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("appendonlydir")).expect("mkdir");
    let mut incr = Vec::new();
    for i in 0..60_000 {
        aof_lab::resp::encode_command(&mut incr, &["SET", &format!("key:{i}"), &format!("value {i}")]);
    }
    std::fs::write(dir.join("appendonlydir/appendonly.aof.1.incr.aof"), &incr).expect("incr");
    std::fs::write(dir.join("appendonlydir/appendonly.aof.1.base.aof"), b"").expect("base");
    let manifest = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
    std::fs::write(dir.join("appendonlydir/appendonly.aof.manifest"), manifest).expect("manifest");
    let started = Instant::now();
    let server = Server::start_in(dir, &["--appendonly", "yes", "--save", ""]);
    let wall = started.elapsed().as_secs_f64();
    let log = server.log();
    let seconds = |what: &str| -> f64 {
        let line = log.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("no `{what}` in:\n{log}"));
        let secs = line.rsplit_once(": ").and_then(|(_, s)| s.strip_suffix(" seconds")).unwrap_or_else(|| panic!("{line}"));
        assert!(secs.len() >= 5 && secs.as_bytes()[secs.len() - 4] == b'.', "%.3f: {line}");
        secs.parse().unwrap_or_else(|_| panic!("{line}"))
    };
    let incr_s = seconds("DB loaded from incr file appendonly.aof.1.incr.aof: ");
    let total_s = seconds("DB loaded from append only file: ");
    assert!(incr_s > 0.0, "60 000 commands loaded in no time:\n{log}");
    assert!(total_s >= incr_s && total_s <= wall, "incr {incr_s} s, total {total_s} s, the start {wall} s:\n{log}");
    let mut c = server.connect();
    c.cmd(&["DBSIZE"]);
    c.expect(b":60000\r\n");
}
