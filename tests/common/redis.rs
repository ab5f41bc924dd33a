//! A real `redis-server` 7.0.15 for differential tests, and a tiny RESP client to talk to it.
//!
//! [`RedisServer::start`] launches a fresh server on a free loopback port, in a fresh temporary
//! directory, with the AOF on and fsynced before every reply (`appendfsync always`), so that once
//! a reply has arrived the bytes the command propagated are already in the incr file. The server
//! is killed (by its pid) and its directory removed when the value is dropped.
//!
//! A missing `redis-server`, or one of another version, is a test **failure** with a clear
//! message, never a skip: the compat tests are the proof of fidelity.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aof_lab::resp::{encode_command, parse_reply};

pub const REQUIRED_VERSION: &str = "v=7.0.15";

/// Checks once per process that `redis-server` exists and is 7.0.15; panics with a clear message
/// otherwise.
pub fn check_redis_version() {
    static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let res = CHECKED.get_or_init(|| {
        let out = Command::new("redis-server").arg("--version").output().map_err(|e| {
            format!(
                "compat tests need a real `redis-server` {REQUIRED_VERSION} in PATH, but it could not be run ({e}). \
                 Install Redis 7.0.15 (e.g. `apt-get install redis-server` on Debian 12)."
            )
        })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains(REQUIRED_VERSION) {
            Ok(())
        } else {
            Err(format!("compat tests need redis-server {REQUIRED_VERSION}, but `redis-server --version` says: {}", text.trim()))
        }
    });
    if let Err(e) = res {
        panic!("{e}");
    }
}

/// A running real server, owned by the test.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn fresh_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("aof-lab-compat-{}-{}-{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", dir.display()));
    dir
}

/// A port that was free a moment ago (the kernel picks it; the listener is closed at once).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

impl RedisServer {
    /// Starts a fresh server and waits until it answers PING. Retries on another port if the
    /// chosen one was taken in the meantime (tests run in parallel).
    pub fn start() -> RedisServer {
        check_redis_version();
        let mut last_err = String::new();
        for _ in 0..5 {
            match RedisServer::try_start(free_port()) {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start redis-server: {last_err}");
    }

    fn try_start(port: u16) -> Result<RedisServer, String> {
        RedisServer::launch(port, fresh_dir(), &["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// A fresh empty directory for [`RedisServer::start_in`].
    pub fn new_dir() -> PathBuf {
        fresh_dir()
    }

    /// Starts a server on an existing `dir` (which it owns from now on: it is removed on drop)
    /// with extra arguments. `Err` holds the log when the server refuses to start (a load error
    /// makes it exit with status 1).
    pub fn start_in(dir: PathBuf, args: &[&str]) -> Result<RedisServer, String> {
        check_redis_version();
        RedisServer::launch(free_port(), dir, args)
    }

    fn launch(port: u16, dir: PathBuf, args: &[&str]) -> Result<RedisServer, String> {
        let log = dir.join("redis.log");
        let _ = std::fs::remove_file(&log);
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--save", "", "--enable-debug-command", "yes"])
            .args(args)
            .args(["--daemonize", "no"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn redis-server: {e}"))?;
        // From here on, Drop kills the child and removes the directory on every error path.
        let mut server = RedisServer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(server.dir.join("redis.log")).unwrap_or_default();
                return Err(format!("redis-server exited with {status} on port {port}; log:\n{log}"));
            }
            if let Ok(mut c) = RespConn::connect(port) {
                // A server started with a password wants it first.
                if let Some(pass) = args.windows(2).find(|w| w[0] == "--requirepass").map(|w| w[1]) {
                    let _ = c.command(&["AUTH", pass]);
                }
                // Make sure it is *our* server (another test could have taken the port).
                let reply = c.command(&["CONFIG", "GET", "dir"]);
                if let Ok(r) = reply {
                    let want = server.dir.canonicalize().unwrap_or_else(|_| server.dir.clone());
                    if contains(&r, want.to_string_lossy().as_bytes()) || contains(&r, server.dir.to_string_lossy().as_bytes()) {
                        if c.command(&["PING"]).ok().as_deref() == Some(b"+PONG\r\n".as_slice()) {
                            return Ok(server);
                        }
                    } else if !r.starts_with(b"-LOADING") {
                        return Err(format!("port {port} answered but it is not our server"));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("redis-server on port {port} did not answer PING within 5 s; log:\n{}", server.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn connect(&self) -> RespConn {
        RespConn::connect(self.port).unwrap_or_else(|e| panic!("connect to redis-server on port {}: {e}", self.port))
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub fn aof_dir(&self) -> PathBuf {
        self.dir.join("appendonlydir")
    }

    /// The incr file currently receiving writes, from the manifest (the last `type i` line);
    /// `appendonly.aof.1.incr.aof` on a fresh server.
    pub fn current_incr_name(&self) -> String {
        let manifest = std::fs::read_to_string(self.aof_dir().join("appendonly.aof.manifest")).unwrap_or_default();
        manifest
            .lines()
            .rev()
            .filter(|l| l.ends_with("type i"))
            .find_map(|l| l.split(' ').nth(1))
            .unwrap_or("appendonly.aof.1.incr.aof")
            .to_string()
    }

    /// The whole current incr file (`appendonlydir/appendonly.aof.1.incr.aof` on a fresh server).
    pub fn read_incr_aof(&self) -> Vec<u8> {
        std::fs::read(self.aof_dir().join(self.current_incr_name())).unwrap_or_default()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Only our own child, by its pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Follows a server's AOF across incr files: each call returns the bytes appended since the
/// previous call. A rewrite (BGREWRITEAOF) opens a new incr file, and the old one is deleted
/// soon after, so reading after every command is the only way to see the full stream.
pub struct AofCursor {
    file: String,
    offset: usize,
}

impl AofCursor {
    pub fn new() -> AofCursor {
        AofCursor { file: String::new(), offset: 0 }
    }

    pub fn take_new(&mut self, server: &RedisServer) -> Vec<u8> {
        let name = server.current_incr_name();
        if name != self.file {
            self.file = name;
            self.offset = 0;
        }
        let bytes = std::fs::read(server.aof_dir().join(&self.file)).unwrap_or_default();
        let new = bytes.get(self.offset..).unwrap_or_default().to_vec();
        self.offset = self.offset.max(bytes.len());
        new
    }
}

impl Default for AofCursor {
    fn default() -> Self {
        AofCursor::new()
    }
}

/// A minimal blocking RESP2 / RESP3 client: sends a command, returns the raw bytes of one reply.
pub struct RespConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RespConn {
    pub fn connect(port: u16) -> std::io::Result<RespConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        // A reply that never comes (a blocking command without timeout) must not hang the suite.
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(RespConn { stream, buf: Vec::new() })
    }

    /// Waits until no AOF rewrite runs or is scheduled on the server (up to 5 s).
    pub fn wait_rewrite(&mut self) {
        for _ in 0..500 {
            let info = self.command(&["INFO", "persistence"]).unwrap();
            let text = String::from_utf8_lossy(&info);
            if text.contains("aof_rewrite_in_progress:0") && text.contains("aof_rewrite_scheduled:0") {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("BGREWRITEAOF did not finish");
    }

    /// Sends `argv` and returns the raw RESP bytes of the reply.
    pub fn command<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        encode_command(&mut out, argv);
        self.stream.write_all(&out)?;
        self.read_reply()
    }

    /// Sends `argv` and returns the raw bytes of the next `frames` top-level replies, push
    /// frames counted like any other (SUBSCRIBE a b answers two).
    pub fn command_frames<A: AsRef<[u8]>>(&mut self, argv: &[A], frames: usize) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        encode_command(&mut out, argv);
        self.stream.write_all(&out)?;
        let mut got = Vec::new();
        for _ in 0..frames {
            got.extend(self.read_frame()?);
        }
        Ok(got)
    }

    /// Reads what the server sent next into the buffer (an error when it closed the connection).
    fn read_more(&mut self, chunk: &mut [u8]) -> std::io::Result<()> {
        let n = self.stream.read(chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed by the server"));
        }
        self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(())
    }

    /// The raw bytes of the next top-level frame, a push as well as a reply.
    pub fn read_frame(&mut self) -> std::io::Result<Vec<u8>> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((_, used))) => {
                    let rest = self.buf.split_off(used);
                    return Ok(std::mem::replace(&mut self.buf, rest));
                }
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad reply: {}", e.0))),
            }
            self.read_more(&mut chunk)?;
        }
    }

    /// Every byte that arrives until the connection has been quiet for `quiet` (frames other
    /// connections caused: published messages).
    pub fn read_quiet(&mut self, quiet: Duration) -> Vec<u8> {
        let mut chunk = [0u8; 16 * 1024];
        let _ = self.stream.set_read_timeout(Some(quiet));
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(10)));
        std::mem::take(&mut self.buf)
    }

    /// Sends raw bytes (a pipeline of commands); read the replies with [`RespConn::read_reply`].
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The raw bytes of the next reply. RESP3 push frames (`>`) that come before it are
    /// out-of-band messages, not replies: they are returned with it, in front of it.
    pub fn read_reply(&mut self) -> std::io::Result<Vec<u8>> {
        let mut chunk = [0u8; 16 * 1024];
        let mut start = 0;
        loop {
            match parse_reply(&self.buf[start..]) {
                Ok(Some((_, used))) if self.buf[start] == b'>' => {
                    start += used;
                    continue;
                }
                Ok(Some((_, used))) => {
                    let rest = self.buf.split_off(start + used);
                    return Ok(std::mem::replace(&mut self.buf, rest));
                }
                Ok(None) => {}
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad reply: {}", e.0))),
            }
            self.read_more(&mut chunk)?;
        }
    }
}
