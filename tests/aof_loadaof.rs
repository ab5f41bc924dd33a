//! `DEBUG LOADAOF` and INFO persistence: the engine reloads what it wrote, with the same
//! digest, as a real redis-server 7.0.15 does with the same commands.

// Native only (a real redis-server): `wasm-pack test` builds every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aof_lab::storage::MemoryStorage;
use aof_lab::{AppendFsync, Config, Engine, Reply};
use common::redis::RedisServer;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

const SCRIPT: &[&str] = &[
    "SET a 1",
    "INCRBYFLOAT f 0.1",
    "INCRBYFLOAT f 0.2",
    "HSET h x 1 y 2",
    "SADD s a b c",
    "SADD one x",
    "SPOP one",
    "ZADD z 1 a 2 b",
    "SELECT 2",
    "SET other db",
    "MULTI",
    "SET m 1",
    "INCR m",
    "EXEC",
    "SELECT 0",
    "SET ttl v EX 1000",
];

fn engine(policy: AppendFsync) -> Engine {
    let cfg = Config { appendonly: true, appendfsync: policy, ..Config::default() };
    Engine::open(cfg, Box::new(MemoryStorage::new()), now_ms()).map_err(|e| e.lines).unwrap()
}

fn run(e: &mut Engine, c: u64, line: &str) -> Reply {
    let now = now_ms();
    let r = e.execute_line(c, line, now).unwrap();
    e.before_sleep(now);
    r
}

#[test]
fn loadaof_keeps_the_digest_like_redis() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    for policy in [AppendFsync::Always, AppendFsync::EverySec, AppendFsync::No] {
        let mut e = engine(policy);
        let c = e.connect();
        for line in SCRIPT {
            let real = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
            assert_eq!(run(&mut e, c, line).to_resp(), real, "{line}");
        }
        let before = run(&mut e, c, "DEBUG DIGEST");
        let real_before = conn.command(&["DEBUG", "DIGEST"]).unwrap();
        assert_eq!(before.to_resp(), real_before);
        assert_eq!(run(&mut e, c, "DEBUG LOADAOF"), Reply::ok());
        assert_eq!(conn.command(&["DEBUG", "LOADAOF"]).unwrap(), b"+OK\r\n");
        assert_eq!(run(&mut e, c, "DEBUG DIGEST"), before, "{policy:?}");
        assert_eq!(conn.command(&["DEBUG", "DIGEST"]).unwrap(), real_before);
        assert!(e.take_log().iter().any(|l| l.text == "Append Only File loaded by DEBUG LOADAOF"));
        conn.command(&["FLUSHALL"]).unwrap();
    }
}

#[test]
fn increments_survive_a_reload() {
    // The Redis test suite's aof-race idea, without the rewrite: N increments, reload, N.
    let mut e = engine(AppendFsync::EverySec);
    let c = e.connect();
    for _ in 0..1000 {
        run(&mut e, c, "INCR counter");
    }
    assert_eq!(run(&mut e, c, "DEBUG LOADAOF"), Reply::ok());
    assert_eq!(run(&mut e, c, "GET counter"), Reply::bulk("1000"));
}

#[test]
fn info_persistence_reports_the_aof() {
    let mut e = engine(AppendFsync::EverySec);
    let c = e.connect();
    run(&mut e, c, "SET k v");
    let Reply::Verbatim(_, info) = run(&mut e, c, "INFO persistence") else { panic!() };
    let info = String::from_utf8(info).unwrap();
    let field = |name: &str| {
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} missing in {info}")).to_string()
    };
    assert_eq!(field("aof_enabled"), "1");
    assert_eq!(field("aof_last_write_status"), "ok");
    // SELECT 0 (23 bytes) + SET k v (27 bytes), after the 89-byte empty base that, as in Redis,
    // is not counted on a fresh start.
    assert_eq!(field("aof_current_size"), "50");
    assert_eq!(field("aof_base_size"), "0");
    assert_eq!(field("aof_buffer_length"), "0");
    assert_eq!(field("aof_delayed_fsync"), "0");
}

/// Redis 7.0.15 does not keep a consumer group's `entries_read` through an AOF replay: XREADGROUP
/// without NOACK propagates `XCLAIM … LASTID`, which moves the group's last ID but not its counter,
/// so the reloaded group has it invalid (`entries-read` nil) where the live one had estimated it;
/// NOACK's `XGROUP SETID … ENTRIESREAD` carries it, and the next read estimates it again. The
/// engine (both AOF designs) does the same: the crash matrix counts such restarts apart.
#[test]
fn entries_read_is_lost_by_an_aof_replay_as_in_redis() {
    const LINES: &[&str] = &[
        "XGROUP CREATE er g 0 MKSTREAM",
        "XGROUP CREATE er gn 0",
        "XADD er 1-1 f v",
        "XREADGROUP GROUP g c COUNT 2 STREAMS er >",
        "XREADGROUP GROUP gn c NOACK COUNT 2 STREAMS er >",
        "XINFO GROUPS er",
        "DEBUG LOADAOF",
        "XINFO GROUPS er",
        "XADD er 2-1 f v",
        "XREADGROUP GROUP g c COUNT 2 STREAMS er >",
        "XINFO GROUPS er",
    ];
    let server = RedisServer::start();
    let mut conn = server.connect();
    let mut real = Vec::new();
    for line in LINES {
        real.push(conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap());
    }
    let nil_entries_read = b"$12\r\nentries-read\r\n$-1\r\n".as_slice();
    assert!(!real[5].windows(nil_entries_read.len()).any(|w| w == nil_entries_read), "live: counted");
    assert!(real[7].windows(nil_entries_read.len()).any(|w| w == nil_entries_read), "reloaded: nil in redis-server");
    for legacy in [false, true] {
        let cfg = Config { appendonly: true, aof_legacy: legacy, ..Config::default() };
        let mut e = Engine::open(cfg, Box::new(MemoryStorage::new()), now_ms()).map_err(|e| e.lines).unwrap();
        let c = e.connect();
        for (line, want) in LINES.iter().zip(&real) {
            assert_eq!(&run(&mut e, c, line).to_resp(), want, "{line} (6.2 mode: {legacy})");
        }
    }
}

/// Nothing is counted in INFO commandstats / latencystats while the AOF loads (Redis's AOF
/// client runs each command's `proc` directly, EXEC's commands with `CMD_CALL_NONE`, and a
/// script's `redis.call` loses `CMD_CALL_STATS`): after DEBUG LOADAOF only it and CONFIG
/// RESETSTAT show, on both sides.
#[test]
fn loading_counts_no_command_stats_like_redis() {
    let server = RedisServer::start();
    let mut conn = server.connect();
    let mut e = engine(AppendFsync::Always);
    let c = e.connect();
    let lines =
        ["SET a 1", "MULTI", "SET m 1", "INCR m", "EXEC", "EVAL \"redis.call('set', 'e', 1)\" 0", "CONFIG RESETSTAT", "DEBUG LOADAOF"];
    for line in lines {
        let real = conn.command(&aof_lab::resp::split_args(line.as_bytes()).unwrap()).unwrap();
        assert_eq!(run(&mut e, c, line).to_resp(), real, "{line}");
    }
    for section in ["commandstats", "latencystats"] {
        let real = conn.command(&["INFO", section]).unwrap();
        let ours = run(&mut e, c, &format!("INFO {section}")).to_resp();
        let (real, ours) = (common::script::stats_lines(&real), common::script::stats_lines(&ours));
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&real));
        assert!(String::from_utf8_lossy(&ours).contains("debug:"), "{}", String::from_utf8_lossy(&ours));
    }
}
