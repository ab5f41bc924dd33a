//! SAVE, BGSAVE, LASTSAVE, save points and dump.rdb against a real redis-server 7.0.15: the same
//! replies (one child at a time included), the same INFO `rdb_*` figures, dump.rdb files that load
//! in the other program with the same DEBUG DIGEST, and dump.rdb ignored when the AOF is on.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::storage::FsStorage;
use aof_lab::{Config, Engine, Reply};
use common::redis::{RedisServer, RespConn};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn info_field(raw: &[u8], field: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_else(|| panic!("no {field} in {text}")).trim().to_string()
}

fn wait_no_child(conn: &mut RespConn) {
    for _ in 0..1000 {
        let i = conn.command(&["INFO", "persistence"]).unwrap();
        if ["rdb_bgsave_in_progress", "aof_rewrite_in_progress", "aof_rewrite_scheduled"].iter().all(|f| info_field(&i, f) == "0") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the real server's child did not finish");
}

struct Pair {
    real: RedisServer,
    conn: RespConn,
    e: Engine,
    dir: std::path::PathBuf,
}

impl Pair {
    fn new(args: &[&str]) -> Pair {
        let real = RedisServer::start_in(RedisServer::new_dir(), args).unwrap();
        let conn = real.connect();
        let dir = RedisServer::new_dir();
        // `save ""` first, as the launcher starts the real server; the arguments may set it.
        let cfg = common::config_from_args(&[&["--save", ""], args].concat());
        let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        e.connect();
        Pair { real, conn, e, dir }
    }
    /// Runs a line on both and checks the replies are identical; returns the engine's.
    fn run(&mut self, line: &str) -> Reply {
        let now = now_ms();
        let ours = self.e.execute_line(1, line, now).unwrap();
        self.e.before_sleep(now);
        let theirs = self.conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours.to_resp()), String::from_utf8_lossy(&theirs), "{line}");
        ours
    }
    /// Runs the engine's cron until no child runs or is scheduled, and waits for the real one.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let s = &self.e.srv;
            if !s.has_active_child() && !s.aof.rewrite_scheduled && !s.rdb.bgsave_scheduled {
                break;
            }
            self.e.cron(now_ms());
        }
        // A scheduled BGSAVE is not in INFO: wait until the real server has started as many.
        let saves = self.e.srv.rdb.saves.to_string();
        for _ in 0..500 {
            let i = self.conn.command(&["INFO", "persistence"]).unwrap();
            if info_field(&i, "rdb_saves") == saves {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        wait_no_child(&mut self.conn);
    }
    fn same_info(&mut self, fields: &[&str]) {
        let Reply::Verbatim(_, ours) = self.e.execute_line(1, "INFO persistence", now_ms()).unwrap() else { panic!() };
        let theirs = self.conn.command(&["INFO", "persistence"]).unwrap();
        for f in fields {
            assert_eq!(info_field(&ours, f), info_field(&theirs, f), "INFO {f}");
        }
    }
}

const DATA: &[&str] = &[
    "SET s v",
    "SET n 12345",
    "SET long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "RPUSH l a b c 1 2 3",
    "HSET h f v g 2",
    "SADD set 1 2 3",
    "SADD strs a b c",
    "ZADD z 1 a 2.5 b -3 c",
    "SET t v EX 100000",
    "SELECT 3",
    "SET x y",
    "HSET big f1 v1 f2 v2",
    "SELECT 0",
];

#[test]
fn save_bgsave_lastsave_like_redis() {
    let mut p = Pair::new(&["--appendonly", "no"]);
    for line in DATA {
        p.run(line);
    }
    p.same_info(&[
        "rdb_changes_since_last_save",
        "rdb_saves",
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status",
        "rdb_last_bgsave_time_sec",
    ]);
    p.run("SAVE");
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves", "rdb_last_bgsave_status"]);
    p.run("BGSAVE foo");
    p.run("BGSAVE SCHEDULE now");
    p.run("SET after-save 1");
    // A BGSAVE that runs for a while on both sides: the real child sleeps per key, ours writes
    // one key per cron tick.
    p.run("CONFIG SET rdb-key-save-delay 100000");
    p.e.srv.config.lab_rewrite_keys_per_tick = 1;
    p.run("BGSAVE");
    p.same_info(&["rdb_bgsave_in_progress", "rdb_saves", "current_save_keys_total"]);
    p.run("BGSAVE");
    p.run("BGSAVE SCHEDULE");
    p.run("SAVE");
    p.run("BGREWRITEAOF");
    p.same_info(&["aof_rewrite_scheduled", "aof_rewrite_in_progress"]);
    p.run("SET during bgsave");
    p.run("CONFIG SET rdb-key-save-delay 0");
    p.settle();
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves", "rdb_last_bgsave_status", "aof_rewrites", "aof_last_bgrewrite_status"]);
    // The reverse: a BGSAVE while the AOF child runs.
    p.run("CONFIG SET rdb-key-save-delay 100000");
    p.run("BGREWRITEAOF");
    p.run("BGSAVE");
    p.run("BGSAVE SCHEDULE");
    p.run("BGREWRITEAOF");
    p.same_info(&["rdb_bgsave_in_progress", "aof_rewrite_in_progress"]);
    p.run("CONFIG SET rdb-key-save-delay 0");
    p.settle();
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves", "rdb_last_bgsave_status", "aof_rewrites"]);
    // Inside a transaction BGSAVE is scheduled; SAVE is refused while queueing.
    p.run("MULTI");
    p.run("BGSAVE");
    p.run("EXEC");
    p.same_info(&["rdb_bgsave_in_progress"]);
    p.settle();
    p.run("MULTI");
    p.run("SAVE");
    p.run("DISCARD");
    p.run("DEBUG RELOAD");
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves", "rdb_last_load_keys_loaded", "rdb_last_load_keys_expired"]);
    p.run("FLUSHALL");
    p.same_info(&["rdb_changes_since_last_save"]);
    for line in DATA {
        p.run(line);
    }
    p.run("SAVE");
    let Reply::Int(ours) = p.e.execute_line(1, "LASTSAVE", now_ms()).unwrap() else { panic!() };
    let theirs: i64 = String::from_utf8(p.conn.command(&["LASTSAVE"]).unwrap()).unwrap().trim().trim_start_matches(':').parse().unwrap();
    assert!((ours - theirs).abs() <= 1, "LASTSAVE {ours} vs {theirs}");
    assert!((ours - now_ms() / 1000).abs() <= 1);
    let digest = p.run("DEBUG DIGEST");

    // Each dump.rdb loads in the other program with the same digest.
    let real_dump = std::fs::read(p.real.dir.join("dump.rdb")).unwrap();
    drop(p.e);
    let loaded = RedisServer::start_in(p.dir.clone(), &["--appendonly", "no"]).expect("Redis loads the engine's dump.rdb");
    assert_eq!(loaded.connect().command(&["DEBUG", "DIGEST"]).unwrap(), digest.to_resp());
    assert!(std::fs::read_to_string(loaded.dir.join("redis.log")).unwrap().contains("DB loaded from disk"));
    let dir = RedisServer::new_dir();
    std::fs::write(dir.join("dump.rdb"), &real_dump).unwrap();
    let mut e = Engine::open(Config::default(), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    e.connect();
    assert_eq!(e.execute_line(1, "DEBUG DIGEST", now_ms()).unwrap(), digest);
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&"DB loaded from disk: 0.000 seconds".to_string()), "{log:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dump_rdb_ignored_with_the_aof_on_like_redis() {
    // Both sides save the same data into dump.rdb, then restart with the AOF on: both start
    // empty (the classic trap), and the dump file is still there.
    let mut p = Pair::new(&["--appendonly", "no"]);
    for line in DATA {
        p.run(line);
    }
    p.run("SAVE");
    let Pair { real, conn, e, dir } = p;
    drop(conn);
    drop(e);
    let real_dir = real.dir.clone();
    let dump = std::fs::read(real_dir.join("dump.rdb")).unwrap();
    drop(real);
    let real_dir2 = RedisServer::new_dir();
    std::fs::write(real_dir2.join("dump.rdb"), &dump).unwrap();
    let real = RedisServer::start_in(real_dir2, &["--appendonly", "yes"]).unwrap();
    let mut conn = real.connect();
    let cfg = Config { appendonly: true, ..Config::default() };
    let mut e = Engine::open(cfg, Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
    e.connect();
    assert_eq!(conn.command(&["DBSIZE"]).unwrap(), b":0\r\n");
    assert_eq!(e.execute_line(1, "DBSIZE", now_ms()), Some(Reply::Int(0)));
    assert_eq!(e.execute_line(1, "DEBUG DIGEST", now_ms()).unwrap().to_resp(), conn.command(&["DEBUG", "DIGEST"]).unwrap());
    assert!(dir.join("dump.rdb").exists() && real.dir.join("dump.rdb").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn save_points_like_redis() {
    let mut p = Pair::new(&["--appendonly", "no"]);
    p.run("CONFIG SET save \"1 2\"");
    p.run("CONFIG GET save");
    p.run("SET a 1");
    p.run("SET b 2");
    // `unixtime - lastsave > 1`: more than a second after the start (or the last save).
    std::thread::sleep(std::time::Duration::from_millis(2300));
    p.e.cron(now_ms());
    p.settle();
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves", "rdb_last_bgsave_status", "rdb_bgsave_in_progress"]);
    assert!(p.dir.join("dump.rdb").exists() && p.real.dir.join("dump.rdb").exists());
    let log: Vec<String> = p.e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.contains(&"2 changes in 1 seconds. Saving...".to_string()), "{log:?}");
    let real_log = std::fs::read_to_string(p.real.dir.join("redis.log")).unwrap();
    assert!(real_log.contains("2 changes in 1 seconds. Saving..."), "{real_log}");
    // One change is below the point: nothing more.
    p.run("SET c 3");
    std::thread::sleep(std::time::Duration::from_millis(2300));
    p.e.cron(now_ms());
    p.settle();
    p.same_info(&["rdb_changes_since_last_save", "rdb_saves"]);
    std::fs::remove_dir_all(&p.dir).ok();
}

#[test]
fn info_persistence_has_redis_fields_in_redis_order() {
    for aof in ["no", "yes"] {
        let mut p = Pair::new(&["--appendonly", aof]);
        let Reply::Verbatim(_, ours) = p.e.execute_line(1, "INFO persistence", now_ms()).unwrap() else { panic!() };
        let theirs = p.conn.command(&["INFO", "persistence"]).unwrap();
        let names = |raw: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(raw)
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, _)| k.trim_start_matches('$').to_string())
                .collect()
        };
        let theirs: Vec<String> = names(&theirs).into_iter().filter(|n| !n.chars().all(|c| c.is_ascii_digit())).collect();
        assert_eq!(names(&ours), theirs, "appendonly {aof}");
        std::fs::remove_dir_all(&p.dir).ok();
    }
}

/// `aof-lab serve` with Redis's default save points: SHUTDOWN saves dump.rdb (NOSAVE does not),
/// the next start loads it ("DB loaded from disk"), and redis-server loads it too.
#[test]
fn serve_shutdown_saves_and_start_loads() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_aof-lab");
    let dir = RedisServer::new_dir();
    // The commands, then (in a later turn, so that their replies go out first) the SHUTDOWN line.
    let serve = |cmds: &[u8], shutdown: &[u8]| -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BIN)
            .args(["serve", "--port", &port.to_string(), "--dir", &dir.display().to_string(), "--appendonly", "no"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut c = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(c) => break c,
                Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => panic!("serve did not start: {e}"),
            }
        };
        c.write_all(cmds).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        c.write_all(shutdown).unwrap();
        let mut replies = Vec::new();
        let _ = c.read_to_end(&mut replies);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&replies).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    let out = serve(b"SET a 1\r\nRPUSH l x y\r\n", b"SHUTDOWN NOSAVE\r\n");
    assert!(!dir.join("dump.rdb").exists(), "{out}");
    let out = serve(b"SET a 1\r\nRPUSH l x y\r\n", b"SHUTDOWN\r\n");
    assert!(out.contains("Saving the final RDB snapshot before exiting.") && out.contains("DB saved on disk"), "{out}");
    assert!(dir.join("dump.rdb").exists());
    let out = serve(b"GET a\r\nLRANGE l 0 -1\r\nDEBUG DIGEST\r\n", b"SHUTDOWN NOSAVE\r\n");
    assert!(out.starts_with("$1\r\n1\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n+"), "{out}");
    assert!(out.contains("DB loaded from disk: 0.000 seconds"), "{out}");
    let digest = out.lines().find(|l| l.starts_with('+')).unwrap().to_string();
    let real = RedisServer::start_in(dir, &["--appendonly", "no"]).unwrap();
    assert_eq!(String::from_utf8(real.connect().command(&["DEBUG", "DIGEST"]).unwrap()).unwrap().trim_end(), digest);
}

/// `CONFIG SET appendonly yes` while a BGSAVE runs: the AOF rewrite is only scheduled, writes
/// made meanwhile are recorded nowhere (a DEBUG LOADAOF then would lose them), and once the
/// BGSAVE is done the rewrite makes the same first base and incr as Redis's.
#[test]
fn appendonly_yes_during_a_bgsave_like_redis() {
    let mut p = Pair::new(&["--appendonly", "no"]);
    for line in DATA {
        p.run(line);
    }
    p.run("CONFIG SET rdb-key-save-delay 100000");
    p.e.srv.config.lab_rewrite_keys_per_tick = 1;
    p.run("BGSAVE");
    p.run("CONFIG SET appendonly yes");
    p.same_info(&["aof_enabled", "aof_rewrite_scheduled", "aof_rewrite_in_progress", "rdb_bgsave_in_progress"]);
    p.run("SET during wait");
    p.run("CONFIG SET rdb-key-save-delay 0");
    p.settle();
    let manifest = |d: &std::path::Path| std::fs::read_to_string(d.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default();
    assert_eq!(manifest(&p.dir), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert_eq!(manifest(&p.dir), manifest(&p.real.dir));
    // The SET made while the rewrite was only scheduled is in the base (taken after it).
    p.run("DEBUG LOADAOF");
    p.run("GET during");
    p.run("DEBUG DIGEST");
    let log: Vec<String> = p.e.take_log().into_iter().map(|l| l.text).collect();
    let line = "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.";
    assert!(log.iter().any(|l| l == line), "{log:?}");
    assert!(std::fs::read_to_string(p.real.dir.join("redis.log")).unwrap().contains(line));
    std::fs::remove_dir_all(&p.dir).ok();
}

/// `rdbcompression` and `rdbchecksum` (immutable: set at start) shape dump.rdb as in Redis: raw
/// long strings without compression, a zero CRC without checksum; each side loads the other's.
#[test]
fn rdb_options_like_redis() {
    let long = "a".repeat(71);
    for (compression, checksum) in [("no", "no"), ("yes", "no"), ("no", "yes")] {
        let mut p = Pair::new(&["--appendonly", "no", "--rdbcompression", compression, "--rdbchecksum", checksum]);
        for line in DATA {
            p.run(line);
        }
        p.run("SAVE");
        let digest = p.run("DEBUG DIGEST");
        let ours = std::fs::read(p.dir.join("dump.rdb")).unwrap();
        let theirs = std::fs::read(p.real.dir.join("dump.rdb")).unwrap();
        for (who, f) in [("engine", &ours), ("redis", &theirs)] {
            let raw = f.windows(long.len()).any(|w| w == long.as_bytes());
            assert_eq!(raw, compression == "no", "{who}: long string stored raw iff rdbcompression no");
            assert_eq!(f[f.len() - 8..] == [0; 8], checksum == "no", "{who}: CRC zero iff rdbchecksum no");
        }
        // Each loads the other's file.
        let Pair { real, e, dir, .. } = p;
        drop(e);
        let real_dir = real.dir.clone();
        std::fs::write(dir.join("dump.rdb"), &theirs).unwrap();
        drop(real);
        let mut e = Engine::open(Config::default(), Box::new(FsStorage::new(&dir).unwrap()), now_ms()).map_err(|e| e.lines).unwrap();
        e.connect();
        assert_eq!(e.execute_line(1, "DEBUG DIGEST", now_ms()).unwrap(), digest);
        drop(e);
        let _ = std::fs::remove_dir_all(&real_dir);
        std::fs::write(dir.join("dump.rdb"), &ours).unwrap();
        let loaded = RedisServer::start_in(dir, &["--appendonly", "no"]).expect("Redis loads the engine's dump.rdb");
        assert_eq!(loaded.connect().command(&["DEBUG", "DIGEST"]).unwrap(), digest.to_resp());
    }
}

/// A final save that fails keeps the server running, as Redis: SIGTERM logs "Error trying to
/// save the DB, can't exit." and "Errors trying to shut down the server. …" and goes on serving;
/// SHUTDOWN answers `-ERR Errors trying to SHUTDOWN. Check logs.` with the same lines.
#[test]
fn serve_keeps_running_when_the_final_save_fails() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_aof-lab");
    let dir = RedisServer::new_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", &port.to_string(), "--dir", &dir.display().to_string(), "--appendonly", "no", "--save", "3600 1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The log, line by line, on a thread (so that the pipe never fills).
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |text: &str| -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
            let done = line.contains(text);
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!("no log line with {text:?} in {seen:#?}");
    };
    wait_for("Ready to accept connections");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let ask = |c: &mut TcpStream, cmd: &[u8]| -> String {
        c.write_all(cmd).unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(ask(&mut c, b"SET a 1\r\n"), "+OK\r\n");
    std::fs::create_dir(dir.join("dump.rdb")).unwrap(); // the final rename cannot replace it
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let log = wait_for("Errors trying to shut down the server. Check the logs for more information.");
    let tail: Vec<&str> = log.iter().map(|l| l.split_once("* ").or(l.split_once("# ")).map_or(l.as_str(), |(_, t)| t)).collect();
    let at = tail.iter().position(|l| *l == "User requested shutdown...").expect("User requested shutdown...");
    assert!(tail[at..].contains(&"Saving the final RDB snapshot before exiting."), "{log:#?}");
    assert!(tail[at..].contains(&"Error trying to save the DB, can't exit."), "{log:#?}");
    assert_eq!(ask(&mut c, b"PING\r\n"), "+PONG\r\n", "still serving after a failed SIGTERM shutdown");
    assert_eq!(ask(&mut c, b"SHUTDOWN\r\n"), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    wait_for("Errors trying to shut down the server. Check the logs for more information.");
    assert_eq!(ask(&mut c, b"GET a\r\n"), "$1\r\n1\r\n");
    c.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    assert!(child.wait().unwrap().success());
}
