//! `aof-lab serve` as a differential side: the built binary on a free loopback port in a fresh
//! temporary directory, spoken to over RESP like the real server ([`ServeSide`] implements the
//! compat runner's [`Side`]), and the AOF it appended read back from its incr file.
//!
//! Shared by `tests/diff_random.rs` and `tests/serve_load.rs` (a directory module, so that cargo
//! does not build it as a test target of its own).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::redis::RespConn;
use crate::common::runner::Side;

pub const BIN: &str = env!("CARGO_BIN_EXE_aof-lab");

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aof-lab-{tag}-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local addr").port()
}

/// A running `aof-lab serve`, killed (its own pid only) when dropped. The directory is removed
/// on drop unless `keep_dir` is set (a restart on the same directory takes it over).
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub keep_dir: bool,
}

fn ready_count(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default().matches("Ready to accept connections").count()
}

impl Serve {
    pub fn start_in(dir: PathBuf, extra: &[&str]) -> Serve {
        for _ in 0..5 {
            let port = free_port();
            let mut args: Vec<String> = vec!["serve".into(), "--port".into(), port.to_string()];
            args.extend(["--dir".into(), dir.display().to_string(), "--logfile".into(), "log.txt".into()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            let before = ready_count(&dir);
            let mut child = Command::new(BIN)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn aof-lab serve");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                // Ours is ready when *its* log says so (another test may own a port that answers).
                if ready_count(&dir) > before
                    && child.try_wait().ok().flatten().is_none()
                    && TcpStream::connect(("127.0.0.1", port)).is_ok()
                {
                    return Serve { child, port, dir, keep_dir: false };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("aof-lab serve did not start; log:\n{}", std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default());
    }

    pub fn connect(&self) -> RespConn {
        RespConn::connect(self.port).unwrap_or_else(|e| panic!("connect to aof-lab serve on port {}: {e}", self.port))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log.txt")).unwrap_or_default()
    }

    /// `kill -9`: no shutdown, no final write or fsync.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The incr file currently receiving writes (the last `type i` line of the manifest).
    pub fn current_incr_path(&self) -> PathBuf {
        let aof_dir = self.dir.join("appendonlydir");
        let manifest = std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).unwrap_or_default();
        let name = manifest
            .lines()
            .rev()
            .filter(|l| l.ends_with("type i"))
            .find_map(|l| l.split(' ').nth(1))
            .unwrap_or("appendonly.aof.1.incr.aof")
            .to_string();
        aof_dir.join(name)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `aof-lab serve --appendonly yes --appendfsync always` as a compat side: once a reply has
/// arrived, what the command propagated is in the incr file.
pub struct ServeSide {
    pub serve: Serve,
    conn: RespConn,
    aof_file: PathBuf,
    aof_offset: usize,
}

impl ServeSide {
    pub fn start() -> ServeSide {
        let serve = Serve::start_in(
            temp_dir("diff-serve"),
            &["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes", "--save", ""],
        );
        let conn = serve.connect();
        let mut side = ServeSide { serve, conn, aof_file: PathBuf::new(), aof_offset: 0 };
        side.take_aof();
        side
    }
}

impl Side for ServeSide {
    fn label(&self) -> String {
        "serve".into()
    }
    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        match self.conn.command(argv) {
            Ok(r) => Ok(r),
            Err(_) => {
                if let Ok(Some(status)) = self.serve.child.try_wait() {
                    return Err(format!("aof-lab serve EXITED ({status}); log tail:\n{}", tail(&self.serve.log(), 20)));
                }
                // The server closed the connection (QUIT): like redis-cli, reconnect and retry.
                self.conn = self.serve.connect();
                self.conn.command(argv).map_err(|e| format!("aof-lab serve connection failed: {e}"))
            }
        }
    }
    fn call_frames(&mut self, argv: &[Vec<u8>], frames: usize) -> Result<Vec<u8>, String> {
        self.conn.command_frames(argv, frames).map_err(|e| format!("aof-lab serve connection failed: {e}"))
    }
    fn take_aof(&mut self) -> Vec<u8> {
        let path = self.serve.current_incr_path();
        if path != self.aof_file {
            self.aof_file = path;
            self.aof_offset = 0;
        }
        let bytes = std::fs::read(&self.aof_file).unwrap_or_default();
        let new = bytes.get(self.aof_offset..).unwrap_or_default().to_vec();
        self.aof_offset = self.aof_offset.max(bytes.len());
        new
    }
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Values of CLIENT LIST that are sizes, times or identities of the process.
const VARIABLE: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "age",
    "idle",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
];

/// `ids_as_ints`: integer replies that are client ids (CLIENT GETREDIR) are named too.
pub fn normalise(raw: &str, ids: &[String], addrs: &[String], ids_as_ints: bool) -> String {
    let mut out = Vec::new();
    for line in raw.split("\r\n") {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if (line.starts_with('$') || line.starts_with('=')) && digits(&line[1..]) {
            out.push(format!("{}L", &line[..1]));
            continue;
        }
        // MONITOR: `+<unix s>.<µs> [<db> <addr>] …`.
        if let (Some(rest), Some(close)) = (line.strip_prefix('+'), line.find("] "))
            && rest.split(' ').next().is_some_and(|t| t.contains('.') && t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        {
            let db = rest.split(' ').nth(1).unwrap_or("").trim_start_matches('[');
            out.push(format!("+T [{db} ADDR]{}", &line[close + 1..]));
            continue;
        }
        if let Some(n) = line.strip_prefix(':').filter(|_| ids_as_ints).and_then(|v| ids.iter().position(|i| i == v)) {
            out.push(format!(":<id{n}>"));
            continue;
        }
        let word = |w: &str| {
            let (prefix, body) = w.strip_prefix("txt:").map_or(("", w), |b| ("txt:", b));
            match body.split_once('=') {
                Some((k, _)) if VARIABLE.contains(&k) => format!("{prefix}{k}=*"),
                Some(("redir", v)) if v != "-1" => format!("{prefix}redir=<id{}>", ids.iter().position(|i| i == v).map_or(9, |p| p)),
                _ => w.to_string(),
            }
        };
        // CLIENT LIST: one client per `\n`-ended line, fields separated by spaces.
        let words: Vec<String> = line.split('\n').map(|l| l.split(' ').map(word).collect::<Vec<_>>().join(" ")).collect();
        let mut l = words.join("\n");
        for (n, a) in addrs.iter().enumerate() {
            l = l.replace(a.as_str(), &format!("<addr{n}>"));
        }
        out.push(l);
    }
    out.join("\r\n")
}

/// Runs `steps` (connection, command, compare?) on `n` connections, each step's bytes as every
/// connection received them (normalised), for the steps to compare. `$idN` / `$addrN` in a
/// command stand for connection N's id and address.
pub fn exchange(connect: &dyn Fn() -> RespConn, steps: &[(usize, &str, bool)], n: usize) -> Vec<String> {
    let mut conns: Vec<RespConn> = (0..n).map(|_| connect()).collect();
    // Each connection's id and address, from its own CLIENT INFO.
    let mut ids = Vec::new();
    let mut addrs = Vec::new();
    for c in conns.iter_mut() {
        let info = String::from_utf8_lossy(&c.command(&["CLIENT", "INFO"]).unwrap()).into_owned();
        let field = |k: &str| info.split([' ', '\n']).find_map(|w| w.strip_prefix(k)).unwrap_or_default().to_string();
        ids.push(field("id="));
        addrs.push(field("addr="));
    }
    let quiet = Duration::from_millis(40);
    let mut out = Vec::new();
    for (i, (who, line, compare)) in steps.iter().enumerate() {
        let mut argv: Vec<String> = line.split(' ').map(str::to_string).collect();
        for a in argv.iter_mut() {
            for k in 0..n {
                *a = a.replace(&format!("$id{k}"), &ids[k]).replace(&format!("$addr{k}"), &addrs[k]);
            }
        }
        let mut bytes = Vec::new();
        aof_lab::resp::encode_command(&mut bytes, &argv);
        let _ = conns[*who].send(&bytes);
        let mut got = Vec::new();
        for (k, c) in conns.iter_mut().enumerate() {
            let b = c.read_quiet(quiet);
            if !b.is_empty() {
                got.push(format!("  conn{k}: {}", normalise(&String::from_utf8_lossy(&b), &ids, &addrs, line.contains("GETREDIR"))));
            }
        }
        if *compare {
            out.push(format!("step {i} conn{who} {line}\n{}", got.join("\n")));
        }
    }
    out
}
