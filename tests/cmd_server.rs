//! Server and connection commands: replies, errors and propagated bytes, checked against what a
//! real redis-server 7.0.15 answered and appended to its AOF.

#[cfg(not(target_arch = "wasm32"))]
mod common;

use aof_lab::keyspace::Value;
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_795_464_876_627;

fn engine() -> (Engine, u64) {
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, NOW);
    let c = e.connect();
    (e, c)
}

/// The reply as a RESP2 client receives it (maps flattened, INFO as a bulk string).
fn run(e: &mut Engine, c: u64, line: &str) -> Reply {
    e.execute_line(c, line, NOW).unwrap_or_else(|| panic!("no reply to {line}")).downgraded()
}

/// The RESP encoding of a reply, which is what a client sees.
/// The bytes the client receives, in its protocol (RESP3 after `HELLO 3`).
fn resp(e: &mut Engine, c: u64, line: &str) -> String {
    let reply = e.execute_line(c, line, NOW).unwrap_or_else(|| panic!("no reply to {line}"));
    String::from_utf8_lossy(&reply.to_resp_proto(e.protocol(c))).into_owned()
}

/// Writes a string key directly: the string commands are another family's, and these tests must
/// not depend on them.
fn put(e: &mut Engine, db: usize, key: &str, value: &str) {
    e.srv.dbs[db].insert(key.as_bytes().to_vec(), Value::String(value.as_bytes().to_vec().into()));
}

fn aof(e: &mut Engine) -> String {
    String::from_utf8_lossy(&e.take_aof_buf()).into_owned()
}

#[test]
fn ping_echo_time_quit() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "PING"), "+PONG\r\n");
    assert_eq!(resp(&mut e, c, "PING hi"), "$2\r\nhi\r\n");
    assert_eq!(resp(&mut e, c, "PING a b"), "-ERR wrong number of arguments for 'ping' command\r\n");
    assert_eq!(resp(&mut e, c, "ECHO \"a b\""), "$3\r\na b\r\n");
    assert_eq!(resp(&mut e, c, "ECHO"), "-ERR wrong number of arguments for 'echo' command\r\n");
    assert_eq!(resp(&mut e, c, "TIME"), "*2\r\n$10\r\n1795464876\r\n$6\r\n627000\r\n");
    assert_eq!(resp(&mut e, c, "QUIT x"), "+OK\r\n");
    assert!(e.client(c).unwrap().close_after_reply);
}

#[test]
fn quit_is_not_queued() {
    let (mut e, c) = engine();
    run(&mut e, c, "MULTI");
    assert_eq!(resp(&mut e, c, "QUIT"), "+OK\r\n");
}

#[test]
fn select_errors() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(resp(&mut e, c, "SELECT -1"), "-ERR DB index is out of range\r\n");
    assert_eq!(resp(&mut e, c, "SELECT x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(resp(&mut e, c, "SELECT 99999999999"), "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    assert_eq!(resp(&mut e, c, "SELECT 3"), "+OK\r\n");
    put(&mut e, 3, "k", "v");
    assert_eq!(resp(&mut e, c, "DBSIZE"), ":1\r\n");
    run(&mut e, c, "FLUSHDB");
    assert_eq!(e.srv.dbs[3].len(), 0);
    assert_eq!(aof(&mut e), "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$7\r\nFLUSHDB\r\n");
}

#[test]
fn swapdb_replies_and_propagation() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "SWAPDB a 1"), "-ERR invalid first DB index\r\n");
    assert_eq!(resp(&mut e, c, "SWAPDB 1 a"), "-ERR invalid second DB index\r\n");
    assert_eq!(resp(&mut e, c, "SWAPDB 99999999999 0"), "-ERR invalid first DB index\r\n");
    assert_eq!(resp(&mut e, c, "SWAPDB 0 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(resp(&mut e, c, "SWAPDB -1 0"), "-ERR DB index is out of range\r\n");
    assert_eq!(aof(&mut e), "");
    put(&mut e, 0, "k", "v");
    assert_eq!(resp(&mut e, c, "SWAPDB 0 0"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "SWAPDB 0 1"), "+OK\r\n");
    // Both propagated verbatim (SWAPDB 0 0 too), as the real server does.
    assert_eq!(
        aof(&mut e),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$6\r\nSWAPDB\r\n$1\r\n0\r\n$1\r\n0\r\n*3\r\n$6\r\nSWAPDB\r\n$1\r\n0\r\n$1\r\n1\r\n"
    );
    assert_eq!(resp(&mut e, c, "DBSIZE"), ":0\r\n");
    assert!(e.srv.dbs[1].contains(b"k"));
}

#[test]
fn swapdb_touches_watched_keys() {
    let (mut e, c) = engine();
    let other = e.connect();
    put(&mut e, 1, "w", "1");
    // The watcher is in db 0, where `w` does not exist yet: swapping brings it in.
    run(&mut e, other, "WATCH w");
    run(&mut e, c, "SWAPDB 0 1");
    run(&mut e, other, "MULTI");
    run(&mut e, other, "PING");
    assert_eq!(run(&mut e, other, "EXEC"), Reply::NilArray);
    // A watched key missing on both sides is not touched.
    run(&mut e, other, "WATCH nothere");
    run(&mut e, c, "SWAPDB 0 1");
    run(&mut e, other, "MULTI");
    assert_eq!(resp(&mut e, other, "EXEC"), "*0\r\n");
}

#[test]
fn flush_replies_and_propagation() {
    let (mut e, c) = engine();
    // Always propagated, even when there is nothing to flush; arguments verbatim.
    assert_eq!(resp(&mut e, c, "FLUSHALL"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "flushall async"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "FLUSHDB SYNC"), "+OK\r\n");
    assert_eq!(
        aof(&mut e),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$8\r\nFLUSHALL\r\n*2\r\n$8\r\nflushall\r\n$5\r\nasync\r\n*2\r\n$7\r\nFLUSHDB\r\n$4\r\nSYNC\r\n"
    );
    assert_eq!(resp(&mut e, c, "FLUSHDB x"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "FLUSHDB async x"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "FLUSHALL x"), "-ERR syntax error\r\n");
    assert_eq!(aof(&mut e), "");
    put(&mut e, 0, "a", "1");
    put(&mut e, 2, "b", "1");
    run(&mut e, c, "SELECT 2");
    run(&mut e, c, "FLUSHDB");
    assert_eq!((e.srv.dbs[0].len(), e.srv.dbs[2].len()), (1, 0));
    run(&mut e, c, "FLUSHALL");
    assert_eq!(e.srv.dbs[0].len(), 0);
}

#[test]
fn flush_touches_watched_keys() {
    let (mut e, c) = engine();
    let other = e.connect();
    put(&mut e, 0, "w", "1");
    run(&mut e, other, "WATCH w");
    run(&mut e, c, "FLUSHALL");
    run(&mut e, other, "MULTI");
    assert_eq!(run(&mut e, other, "EXEC"), Reply::NilArray);
    // FLUSHDB of another db leaves the watch alone.
    put(&mut e, 0, "w", "1");
    run(&mut e, other, "WATCH w");
    run(&mut e, c, "SELECT 5");
    run(&mut e, c, "FLUSHDB");
    run(&mut e, other, "MULTI");
    assert_eq!(resp(&mut e, other, "EXEC"), "*0\r\n");
}

#[test]
fn hello_and_client() {
    let (mut e, c) = engine();
    let id = c.to_string();
    let hello = format!(
        "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(resp(&mut e, c, "HELLO"), hello);
    assert_eq!(resp(&mut e, c, "HELLO 2"), hello);
    // HELLO 3 switches first, then answers: a RESP3 map; the connection stays in RESP3.
    let hello3 = hello.replace("*14\r\n", "%7\r\n").replace(":2\r\n", ":3\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 3"), hello3);
    assert_eq!(resp(&mut e, c, "HELLO"), hello3);
    assert_eq!(resp(&mut e, c, "GET nokey"), "_\r\n");
    assert!(resp(&mut e, c, "CLIENT INFO").ends_with(" resp=3\n\r\n"));
    assert_eq!(resp(&mut e, c, "HELLO 1"), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 4"), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2"), hello);
    // RESET goes back to RESP2 too.
    resp(&mut e, c, "HELLO 3");
    assert_eq!(resp(&mut e, c, "RESET"), "+RESET\r\n");
    assert_eq!(resp(&mut e, c, "GET nokey"), "$-1\r\n");
    assert_eq!(resp(&mut e, c, "HELLO x"), "-ERR Protocol version is not an integer or out of range\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2 FOO"), "-ERR Syntax error in HELLO option 'FOO'\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2 SETNAME"), "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2 AUTH bob x"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2 AUTH default x SETNAME me"), hello);
    assert_eq!(resp(&mut e, c, "CLIENT GETNAME"), "$2\r\nme\r\n");
    assert_eq!(resp(&mut e, c, "HELLO 2 SETNAME \"a b\""), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT SETNAME \"a b\""), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT SETNAME"), "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT SETNAME ''"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT ID"), format!(":{id}\r\n"));
    assert_eq!(resp(&mut e, c, "CLIENT FOO"), "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT LIST TYPE foo"), "-ERR Unknown client type 'foo'\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT LIST x"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT LIST ID x"), "-ERR Invalid client ID\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT LIST ID 999"), "$0\r\n\r\n");
    run(&mut e, c, "CLIENT SETNAME app");
    let Reply::Bulk(list) = run(&mut e, c, "CLIENT LIST") else { panic!() };
    let list = String::from_utf8(list).unwrap();
    assert!(list.starts_with(&format!("id={id} addr=")), "{list}");
    assert!(
        list.contains(" name=app ") && list.contains(" flags=N db=0 ") && list.ends_with(" cmd=client|list user=default redir=-1 resp=2\n")
    );
    let Reply::Bulk(info) = run(&mut e, c, "CLIENT INFO") else { panic!() };
    assert!(String::from_utf8(info).unwrap().contains(" cmd=client|info "));
    assert!(matches!(run(&mut e, c, "CLIENT HELP"), Reply::Array(l) if l.len() == 48));
}

#[test]
fn debug_subcommands() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "DEBUG digest"), "+0000000000000000000000000000000000000000\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG DIGEST x"), "-ERR unknown subcommand or wrong number of arguments for 'DIGEST'. Try DEBUG HELP.\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG foo bar"), "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n");
    assert_eq!(
        resp(&mut e, c, "DEBUG SET-ACTIVE-EXPIRE"),
        "-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP.\r\n"
    );
    assert_eq!(resp(&mut e, c, "DEBUG SLEEP"), "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG HELP x"), "-ERR unknown subcommand or wrong number of arguments for 'HELP'. Try DEBUG HELP.\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG"), "-ERR wrong number of arguments for 'debug' command\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG DIGEST-VALUE"), "*0\r\n");
    assert_eq!(resp(&mut e, c, "DEBUG sleep 0"), "+OK\r\n");
    assert!(matches!(run(&mut e, c, "DEBUG HELP"), Reply::Array(l) if l.len() == 106));
    put(&mut e, 0, "k", "v");
    assert_eq!(resp(&mut e, c, "DEBUG DIGEST"), "+264ccf65edec66bccfa7cc659414ccca432057d2\r\n");
    assert_eq!(
        resp(&mut e, c, "DEBUG DIGEST-VALUE k nosuch"),
        "*2\r\n+d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f\r\n+0000000000000000000000000000000000000000\r\n"
    );
    assert_eq!(resp(&mut e, c, "DEBUG set-active-expire 0"), "+OK\r\n");
    assert!(!e.srv.config.active_expire_enabled);
    assert_eq!(resp(&mut e, c, "DEBUG SET-ACTIVE-EXPIRE abc"), "+OK\r\n");
    assert!(!e.srv.config.active_expire_enabled);
    run(&mut e, c, "DEBUG SET-ACTIVE-EXPIRE 1");
    assert!(e.srv.config.active_expire_enabled);
    // DEBUG changes nothing that is propagated.
    aof(&mut e);
    run(&mut e, c, "DEBUG DIGEST");
    assert_eq!(aof(&mut e), "");
}

#[test]
fn config_get_set() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "CONFIG GET appendfsync"), "*2\r\n$11\r\nappendfsync\r\n$8\r\neverysec\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG GET HZ hz"), "*2\r\n$2\r\nHZ\r\n$2\r\n10\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG GET nosuch"), "*0\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG GET"), "-ERR wrong number of arguments for 'config|get' command\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG SET hz"), "-ERR wrong number of arguments for 'config|set' command\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG SET hz 5 x"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG SET nosuch 1"), "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n");
    assert_eq!(
        resp(&mut e, c, "CONFIG SET appendfsync foo"),
        "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no\r\n"
    );
    assert_eq!(
        resp(&mut e, c, "CONFIG SET databases 4"),
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n"
    );
    assert_eq!(resp(&mut e, c, "CONFIG SET appendfsync always maxmemory 10mb"), "+OK\r\n");
    assert_eq!(e.srv.config.appendfsync, aof_lab::AppendFsync::Always);
    assert_eq!(resp(&mut e, c, "CONFIG GET maxmemory"), "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG FOO"), "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
    assert_eq!(resp(&mut e, c, "CONFIG REWRITE"), "-ERR The server is running without a config file\r\n");
    assert!(matches!(run(&mut e, c, "CONFIG HELP"), Reply::Array(l) if l.len() == 11));
    assert!(e.srv.stats.total_commands_processed > 0);
    assert_eq!(resp(&mut e, c, "CONFIG RESETSTAT"), "+OK\r\n");
    assert_eq!(e.srv.stats.total_commands_processed, 1);
    // CONFIG is never propagated.
    assert_eq!(aof(&mut e), "");
}

#[test]
fn info_sections() {
    let (mut e, c) = engine();
    put(&mut e, 0, "a", "1");
    put(&mut e, 0, "b", "1");
    e.srv.dbs[0].set_expire(b"b", NOW + 100_000);
    let info = |e: &mut Engine, line: &str| match run(e, c, line) {
        Reply::Bulk(b) => String::from_utf8(b).unwrap(),
        r => panic!("{r:?}"),
    };
    let headers = |s: &str| s.lines().filter(|l| l.starts_with('#')).map(str::to_string).collect::<Vec<_>>().join(" ");
    let default = "# Server # Clients # Memory # Persistence # Stats # Replication # CPU # Modules # Errorstats # Cluster # Keyspace";
    assert_eq!(headers(&info(&mut e, "INFO")), default);
    assert_eq!(headers(&info(&mut e, "INFO default")), default);
    let all = "# Server # Clients # Memory # Persistence # Stats # Replication # CPU # Modules # Commandstats # Errorstats # Latencystats # Cluster # Keyspace";
    assert_eq!(headers(&info(&mut e, "INFO all")), all);
    assert_eq!(headers(&info(&mut e, "INFO everything")), all);
    assert_eq!(headers(&info(&mut e, "INFO keyspace SERVER")), "# Server # Keyspace");
    assert_eq!(info(&mut e, "INFO nosuch"), "");
    assert_eq!(info(&mut e, "INFO keyspace"), "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=100000\r\n");
    assert_eq!(
        info(&mut e, "INFO cluster keyspace"),
        "# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=100000\r\n"
    );
    let all = info(&mut e, "INFO");
    for l in all.split("\r\n").filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(l.contains(':') && !l.contains('\n'), "{l:?}");
    }
    assert!(all.contains("\r\nconnected_clients:1\r\n"));
    assert!(all.contains("\r\nrole:master\r\n"));
    assert!(all.contains("\r\naof_enabled:1\r\n"));
    assert!(all.contains("\r\nredis_version:7.0.15\r\n"));
}

#[test]
fn command_info_docs_shapes() {
    let (mut e, c) = engine();
    // Byte-identical to the real server for the commands this family implements.
    assert_eq!(
        resp(&mut e, c, "COMMAND INFO config|get"),
        "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n"
    );
    assert_eq!(
        resp(&mut e, c, "COMMAND DOCS config|get"),
        "*2\r\n$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n*1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n*1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
    );
    assert_eq!(
        resp(&mut e, c, "COMMAND INFO ping nosuch"),
        "*2\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n$-1\r\n"
    );
    assert_eq!(resp(&mut e, c, "COMMAND DOCS nosuch"), "*0\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND COUNT x"), "-ERR wrong number of arguments for 'command|count' command\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND LIST foo"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND LIST FILTERBY foo x"), "-ERR syntax error\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND LIST FILTERBY module x"), "*0\r\n");
    assert!(matches!(run(&mut e, c, "COMMAND HELP"), Reply::Array(l) if l.len() == 21));
    // Every command of the table, including containers, has docs; redis-cli needs them all.
    let Reply::Int(count) = run(&mut e, c, "COMMAND COUNT") else { panic!() };
    let Reply::Array(all) = run(&mut e, c, "COMMAND") else { panic!() };
    assert_eq!(all.len() as i64, count);
    let Reply::Array(docs) = run(&mut e, c, "COMMAND DOCS") else { panic!() };
    assert_eq!(docs.len() as i64, count * 2);
}

#[test]
fn command_getkeys() {
    let (mut e, c) = engine();
    assert_eq!(resp(&mut e, c, "COMMAND GETKEYS nosuch a"), "-ERR Invalid command specified\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND GETKEYS ping"), "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
    assert_eq!(resp(&mut e, c, "COMMAND GETKEYS config get x"), "-ERR The command has no key arguments\r\n");
}

/// `src/cmd/server/commands.bin` (COMMAND INFO / DOCS data) is exactly what a real redis-server
/// 7.0.15 answers today. `AOF_LAB_REGENERATE=1 cargo test --test cmd_server command_meta` rewrites
/// it from the real server.
#[test]
#[cfg(not(target_arch = "wasm32"))]
fn command_meta_matches_the_real_server() {
    use aof_lab::cmd::server::meta;
    use aof_lab::resp::{encode_command, parse_reply};
    use std::io::{Read, Write};
    let server = common::redis::RedisServer::start();
    let port = server.port;
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut call = |args: &[&str]| -> Reply {
        let mut req = Vec::new();
        encode_command(&mut req, args);
        sock.write_all(&req).unwrap();
        let mut buf = Vec::new();
        loop {
            if let Some((r, _)) = parse_reply(&buf).unwrap() {
                return r;
            }
            let mut chunk = [0u8; 65536];
            let n = sock.read(&mut chunk).unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let pairs = |r: &Reply| -> Vec<(String, Reply)> {
        let Reply::Array(items) = r else { panic!("{r:?}") };
        items
            .chunks(2)
            .map(|kv| match &kv[0] {
                Reply::Bulk(k) => (String::from_utf8(k.clone()).unwrap(), kv[1].clone()),
                k => panic!("{k:?}"),
            })
            .collect()
    };
    // "cluster" too although the engine has none of its commands: ACL's command universe is
    // the whole table of the real server (ACL CAT, +cluster, the categories ACL LIST fits).
    let groups = [
        "bitmap",
        "cluster",
        "connection",
        "generic",
        "geo",
        "hash",
        "hyperloglog",
        "list",
        "pubsub",
        "server",
        "set",
        "sorted-set",
        "stream",
        "string",
        "transactions",
        "scripting",
    ];
    let mut entries: Vec<(String, Reply)> = Vec::new();
    fn add(entries: &mut Vec<(String, Reply)>, name: &str, info: &Reply, docs: &Reply) {
        let Reply::Array(info) = info else { panic!() };
        let Reply::Array(docs) = docs else { panic!() };
        let mut plain_docs = Vec::new();
        let mut subdocs = None;
        for kv in docs.chunks(2) {
            if kv[0] == Reply::bulk("subcommands") {
                subdocs = Some(kv[1].clone());
            } else {
                plain_docs.extend_from_slice(kv);
            }
        }
        entries.push((name.to_string(), Reply::Array(vec![Reply::bulk(name), Reply::Array(info[..9].to_vec()), Reply::Array(plain_docs)])));
        if let (Some(Reply::Array(sub_docs)), Reply::Array(sub_infos)) = (subdocs, &info[9]) {
            for kv in sub_docs.chunks(2) {
                let Reply::Bulk(sub) = &kv[0] else { panic!() };
                let sub = String::from_utf8(sub.clone()).unwrap();
                let sub_info = sub_infos.iter().find(|i| matches!(i, Reply::Array(f) if f[0] == Reply::bulk(sub.as_str()))).unwrap();
                add(entries, &sub, sub_info, &kv[1]);
            }
        }
    }
    for (name, docs) in pairs(&call(&["COMMAND", "DOCS"])) {
        let group = pairs(&docs).into_iter().find(|(k, _)| k == "group").map(|(_, v)| v).unwrap();
        if !groups.iter().any(|g| group == Reply::bulk(*g)) {
            continue;
        }
        let Reply::Array(info) = call(&["COMMAND", "INFO", &name]) else { panic!() };
        add(&mut entries, &name, &info[0], &docs);
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let blob = meta::encode(&Reply::Array(entries.into_iter().map(|(_, e)| e).collect()));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cmd/server/commands.bin");
    if std::env::var_os("AOF_LAB_REGENERATE").is_some() {
        std::fs::write(path, &blob).unwrap();
        eprintln!("wrote {} bytes to {path}", blob.len());
    }
    assert!(std::fs::read(path).unwrap() == blob, "commands.bin is stale: regenerate it (see this test's doc)");
}

#[test]
fn auth_and_reset() {
    let (mut e, c) = engine();
    assert_eq!(
        resp(&mut e, c, "AUTH x"),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(resp(&mut e, c, "AUTH default x"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "AUTH bob x"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(resp(&mut e, c, "AUTH a b c"), "-ERR syntax error\r\n");
    run(&mut e, c, "CONFIG SET requirepass pw");
    assert_eq!(resp(&mut e, c, "AUTH pw"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "AUTH x"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(resp(&mut e, c, "AUTH default pw"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "RESET x"), "-ERR wrong number of arguments for 'reset' command\r\n");
    // RESET leaves MULTI (not queued), drops WATCHes, goes back to db 0 and forgets the name.
    run(&mut e, c, "SELECT 2");
    run(&mut e, c, "CLIENT SETNAME foo");
    run(&mut e, c, "WATCH k");
    run(&mut e, c, "MULTI");
    assert_eq!(resp(&mut e, c, "RESET"), "+RESET\r\n");
    // ... and logs out, the default user having a password.
    assert_eq!(resp(&mut e, c, "CLIENT GETNAME"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(resp(&mut e, c, "AUTH pw"), "+OK\r\n");
    assert_eq!(resp(&mut e, c, "CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(resp(&mut e, c, "EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(e.client(c).unwrap().db, 0);
    assert!(e.client(c).unwrap().watched.is_empty());
    assert!(e.srv.watched_keys.is_empty());
}

/// MODULE LOAD / UNLOAD are protected (`allowProtectedAction`): refused under "no" (the
/// default, compared with redis-server in clients.redis), run for everyone under "yes" and for
/// local connections under "local"; run, they fail as on a server without the module.
#[test]
fn module_commands_follow_enable_module_command() {
    let refused = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
    let failed = "ERR Error loading the extension. Please check the server logs.";
    for (setting, addr, load) in [
        ("no", "127.0.0.1:5000", refused),
        ("yes", "10.1.2.3:5000", failed),
        ("local", "127.0.0.1:5000", failed),
        ("local", "[::1]:5000", failed),
        ("local", "", failed),
        ("local", "10.1.2.3:5000", refused),
    ] {
        let mut config = Config::default();
        config.set("enable-module-command", setting, true).unwrap();
        let mut e = Engine::new(config, NOW);
        let c = e.connect();
        e.set_client_addr(c, addr.into(), "127.0.0.1:6379".into(), 7);
        assert_eq!(run(&mut e, c, "MODULE LOAD /x.so"), Reply::err(load), "{setting} {addr}");
        let unload = if load == refused { refused } else { "ERR Error unloading module: no such module with that name" };
        assert_eq!(run(&mut e, c, "MODULE UNLOAD x"), Reply::err(unload), "{setting} {addr}");
        assert_eq!(run(&mut e, c, "MODULE LIST"), Reply::Array(vec![]));
    }
}

/// The `cmdstat_<name>` line of INFO commandstats, if any.
fn cmdstat(e: &mut Engine, c: u64, name: &str) -> Option<String> {
    let Reply::Bulk(info) = run(e, c, "INFO commandstats") else { panic!() };
    let info = String::from_utf8(info).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:")).map(str::to_string))
}

/// LATENCY HISTOGRAM: a map of full command names to `{calls, histogram_usec}`, a RESP2 client
/// getting flat arrays; without a host clock every sample is 0 µs (recorded as 1 ns, key 1).
#[test]
fn latency_histogram_shapes() {
    let (mut e, c) = engine();
    for _ in 0..3 {
        run(&mut e, c, "SET a 1");
    }
    run(&mut e, c, "CONFIG GET maxmemory");
    assert_eq!(
        resp(&mut e, c, "LATENCY HISTOGRAM set nosuch"),
        "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n*2\r\n:1\r\n:3\r\n"
    );
    // A container names its subcommands; a full name names one.
    assert_eq!(
        resp(&mut e, c, "LATENCY HISTOGRAM CONFIG"),
        "*2\r\n$10\r\nconfig|get\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*2\r\n:1\r\n:1\r\n"
    );
    assert_eq!(resp(&mut e, c, "LATENCY HISTOGRAM config|GET"), resp(&mut e, c, "LATENCY HISTOGRAM config"));
    resp(&mut e, c, "HELLO 3");
    assert_eq!(
        resp(&mut e, c, "LATENCY HISTOGRAM set"),
        "%1\r\n$3\r\nset\r\n%2\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n%1\r\n:1\r\n:3\r\n"
    );
    // Every command with samples, LATENCY HISTOGRAM's own earlier calls among them.
    let Reply::Map(all) = e.execute_line(c, "LATENCY HISTOGRAM", NOW).unwrap() else { panic!() };
    let names: Vec<String> = all.iter().map(|(k, _)| String::from_utf8_lossy(&k.to_resp()).into_owned()).collect();
    assert_eq!(names.len(), 4, "{names:?}"); // set, config|get, latency|histogram, hello
    run(&mut e, c, "CONFIG RESETSTAT");
    assert_eq!(
        resp(&mut e, c, "LATENCY HISTOGRAM"),
        "%1\r\n$16\r\nconfig|resetstat\r\n%2\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n%1\r\n:1\r\n:1\r\n"
    );
}

/// A blocked command is counted when it blocks; served, it adds its sample (and its failure),
/// not a call; a timeout adds nothing; CLIENT UNBLOCK … ERROR counts a failure on the blocked
/// command and on CLIENT UNBLOCK (what redis-server 7.0.15 showed for the same steps).
#[test]
fn blocked_commands_in_commandstats() {
    let (mut e, a) = engine();
    let b = e.connect();
    assert!(e.execute_line(a, "BLPOP l 0", NOW).is_none());
    run(&mut e, b, "LPUSH l x");
    assert_eq!(e.take_unblocked().len(), 1);
    assert!(e.execute_line(a, "BLPOP l2 0", NOW).is_none());
    run(&mut e, b, &format!("CLIENT UNBLOCK {a} ERROR"));
    assert!(e.execute_line(a, "BLPOP l3 0.01", NOW).is_none());
    e.cron(NOW + 100);
    assert!(e.execute_line(a, "BLMOVE l4 l5 LEFT LEFT 0", NOW).is_none());
    run(&mut e, b, "SET l4 str");
    assert_eq!(run(&mut e, b, "LPUSH l4 y"), Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value"));
    let zero = "usec=0,usec_per_call=0.00";
    assert_eq!(cmdstat(&mut e, b, "blpop").unwrap(), format!("calls=3,{zero},rejected_calls=0,failed_calls=1"));
    assert_eq!(cmdstat(&mut e, b, "client|unblock").unwrap(), format!("calls=1,{zero},rejected_calls=0,failed_calls=1"));
    assert_eq!(cmdstat(&mut e, b, "blmove").unwrap(), format!("calls=1,{zero},rejected_calls=0,failed_calls=0"));
    assert_eq!(
        resp(&mut e, b, "LATENCY HISTOGRAM blpop blmove"),
        "*2\r\n$5\r\nblpop\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n*2\r\n:1\r\n:2\r\n"
    );
}

static TICKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// With a host clock (`aof-lab serve`), usec and the latency samples are the measured times:
/// here a clock that moves 5 µs per reading, so every command takes 5 µs.
#[test]
fn commandstats_with_a_host_clock() {
    fn clock() -> u64 {
        TICKS.fetch_add(5, std::sync::atomic::Ordering::Relaxed)
    }
    let mut e = Engine::new(Config { command_clock: Some(clock), ..Default::default() }, NOW);
    let c = e.connect();
    run(&mut e, c, "SET a 1");
    run(&mut e, c, "SET a 2");
    run(&mut e, c, "INCR a");
    run(&mut e, c, "HSET a f v");
    assert_eq!(cmdstat(&mut e, c, "set").unwrap(), "calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0");
    assert_eq!(cmdstat(&mut e, c, "hset").unwrap(), "calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=1");
    let Reply::Bulk(info) = run(&mut e, c, "INFO latencystats") else { panic!() };
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("latency_percentiles_usec_set:p50=5.023,p99=5.023,p99.9=5.023\r\n"), "{info}");
    assert_eq!(
        resp(&mut e, c, "LATENCY HISTOGRAM incr"),
        "*2\r\n$4\r\nincr\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*2\r\n:8\r\n:1\r\n"
    );
    run(&mut e, c, "CONFIG SET latency-tracking no");
    run(&mut e, c, "GET a");
    assert_eq!(resp(&mut e, c, "LATENCY HISTOGRAM get"), "*0\r\n");
    assert_eq!(cmdstat(&mut e, c, "get").unwrap(), "calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0");
}
