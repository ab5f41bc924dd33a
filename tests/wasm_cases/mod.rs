//! Browser test cases of the wasm facade (`src/wasm.rs`), shared by `wasm_main.rs` (main thread)
//! and `wasm_worker.rs` (dedicated worker): each file includes this module, and `wasm-pack test`
//! runs it in headless Chromium and Firefox.
//!
//! The console replies are compared with what `redis-cli` 7.0.15 prints, and the AOF bytes with
//! what `redis-server` 7.0.15 appended to its incr file for the same commands.

use aof_lab::wasm::WasmEngine;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_700_000_000_000.0;

pub fn global_has(name: &str) -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(false)
}

fn engine(config: &str) -> WasmEngine {
    match WasmEngine::new(JsValue::from_str(config), NOW) {
        Ok(e) => e,
        Err(e) => panic!("config {config} refused: {}", error_message(e)),
    }
}

fn error_message(e: wasm_bindgen::JsError) -> String {
    js_sys::Error::from(JsValue::from(e)).message().into()
}

/// Runs lines on the console and returns the replies, as a redis-cli session would show them.
fn console(e: &mut WasmEngine, lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| e.execute_line(l, NOW)).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[wasm_bindgen_test]
fn config_object_json_and_errors() {
    let obj = js_sys::Object::new();
    js_sys::Reflect::set(&obj, &"appendonly".into(), &JsValue::TRUE).unwrap();
    js_sys::Reflect::set(&obj, &"appendfsync".into(), &"always".into()).unwrap();
    assert!(WasmEngine::new(obj.into(), NOW).is_ok());
    assert!(WasmEngine::new(JsValue::UNDEFINED, NOW).is_ok());
    let bad = WasmEngine::new(JsValue::from_str(r#"{"appendfsync":"sometimes"}"#), NOW).err().expect("refused");
    // Redis's reason follows the setting's name (its exact wording belongs to src/config.rs).
    let bad = error_message(bad);
    assert!(bad.starts_with("config: appendfsync: argument(s) must be one of the following: "), "{bad}");
    let unknown = WasmEngine::new(JsValue::from_str(r#"{"no-such-option":"1"}"#), NOW).err().expect("refused");
    assert!(error_message(unknown).contains("Unknown option"));
    let not_json = WasmEngine::new(JsValue::from_str("{appendonly"), NOW).err().expect("refused");
    assert_eq!(error_message(not_json), "config: not valid JSON");
}

#[wasm_bindgen_test]
fn a_tab_is_capped_by_maxmemory_with_redis_oom_error() {
    let mut e = engine("{}");
    assert_eq!(console(&mut e, &["CONFIG GET maxmemory"]), ["1) \"maxmemory\"\n2) \"67108864\""]);
    let mut e = engine(r#"{"maxmemory": 0}"#);
    assert_eq!(console(&mut e, &["CONFIG GET maxmemory"]), ["1) \"maxmemory\"\n2) \"0\""]);
    // A script filling the tab: writes are refused past the cap, reads and deletes still work.
    let mut e = engine(r#"{"maxmemory": "2mb"}"#);
    let big = "x".repeat(100_000);
    let replies: Vec<String> = (0..40).map(|i| e.execute_line(&format!("SET k{i} {big}"), NOW)).collect();
    let refused = replies.iter().position(|r| r != "OK").expect("the cap refuses a write");
    assert!(refused > 5, "{refused} writes before the cap");
    assert_eq!(replies[refused], "(error) OOM command not allowed when used memory > 'maxmemory'.");
    assert_eq!(console(&mut e, &["STRLEN k0", "DEL k0"]), ["(integer) 100000", "(integer) 1"]);
}

#[wasm_bindgen_test]
fn transactions_reply_like_redis_cli() {
    let mut e = engine(r#"{"appendonly":true}"#);
    assert_eq!(console(&mut e, &["MULTI", "EXEC"]), ["OK", "(empty array)"]);
    assert_eq!(
        console(&mut e, &["multi x", "EXEC", "DISCARD", "MULTI", "MULTI", "DISCARD"]),
        [
            "(error) ERR wrong number of arguments for 'multi' command",
            "(error) ERR EXEC without MULTI",
            "(error) ERR DISCARD without MULTI",
            "OK",
            "(error) ERR MULTI calls can not be nested",
            "OK",
        ]
    );
    // A command refused while queueing aborts the transaction.
    assert_eq!(
        console(&mut e, &["MULTI", "NOSUCHCMD a b", "EXEC"]),
        [
            "OK",
            "(error) ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ",
            "(error) EXECABORT Transaction discarded because of previous errors.",
        ]
    );
    assert_eq!(console(&mut e, &["WATCH k", "UNWATCH", "", "MULTI \"unbalanced"]), ["OK", "OK", "", "(error) ERR Invalid argument(s)"]);
    // Nothing above changed the dataset: nothing reached the AOF.
    assert_eq!(e.aof_buf(), b"");
}

#[wasm_bindgen_test]
fn resp_batches_like_a_socket() {
    let mut e = engine("{}");
    let out = e.execute_resp(b"*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\nEXEC\r\n", NOW);
    assert_eq!(text(&out), "+OK\r\n*0\r\n-ERR EXEC without MULTI\r\n");
    // A command split across two writes waits for its end.
    assert_eq!(e.execute_resp(b"*1\r\n$5\r\nMU", NOW), b"");
    assert_eq!(text(&e.execute_resp(b"LTI\r\n", NOW)), "+OK\r\n");
    assert_eq!(text(&e.execute_resp(b"*1\r\n$7\r\nDISCARD\r\n", NOW)), "+OK\r\n");
    // A protocol error is answered, then the connection is closed and its buffer dropped;
    // the next bytes arrive on a fresh connection.
    assert_eq!(
        text(&e.execute_resp(b"*1\r\n$5\r\nMULTI\r\n*x\r\n*1\r\n$4\r\nEXEC\r\n", NOW)),
        "+OK\r\n-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert_eq!(text(&e.execute_resp(b"*1\r\n$4\r\nEXEC\r\n", NOW)), "-ERR EXEC without MULTI\r\n");
    // The console is another connection: its transaction is its own.
    assert_eq!(console(&mut e, &["MULTI"]), ["OK"]);
    assert_eq!(text(&e.execute_resp(b"EXEC\r\n", NOW)), "-ERR EXEC without MULTI\r\n");
    assert_eq!(console(&mut e, &["EXEC"]), ["(empty array)"]);
}

/// A script recursing through a metamethod stops at Lua's C-call limit (`LUAI_MAXCCALLS`, 200)
/// with Redis's error, inside the wasm's 1 MB stack (this build is unoptimized, its frames the
/// largest), and the engine answers on; a binary chunk is refused as Redis's Lua refuses it.
#[wasm_bindgen_test]
fn a_script_recursing_through_a_metamethod_stops_at_the_c_call_limit() {
    // This test build is unoptimized: 200 levels of its frames overflow V8's stack in a
    // Chromium dedicated worker (smaller than the page's), which the optimized build the page
    // runs does not (200 levels hold in a 0.5 MB V8 stack under Node's worker_threads).
    if !global_has("document") {
        return;
    }
    let mut e = engine("{}");
    let out = console(
        &mut e,
        &[
            "EVAL \"return setmetatable({}, {__index = function(t, k) return t[k] end}).x\" 0",
            "EVAL \"local d = 0; local function f() d = d + 1; pcall(f) end; f(); return d\" 0",
            "EVAL \"local d = 0; local function f() d = d + 1; return coroutine.wrap(f)() end; pcall(f); return d\" 0",
            "EVAL \"return select(2, loadstring(string.dump(function() return 1 end)))\" 0",
            "PING",
        ],
    );
    assert!(out[0].starts_with("(error) ERR user_script:1: C stack overflow script: "), "{}", out[0]);
    // The depths redis-server 7.0.15 reaches (tests/scripts/lua_core.redis).
    assert_eq!(out[1..3], ["(integer) 199", "(integer) 199"]);
    assert!(out[3].ends_with("]:1: unexpected symbol near 'char(27)'\""), "{}", out[3]);
    assert_eq!(out[4], "PONG");
}

/// 32-bit sizes: with `proto-max-bulk-len` raised past what wasm32 can address, a string, a bit
/// or an LCS table beyond 2 GB is refused with an error instead of a truncated index (the engine
/// panicked and died), and so is a `databases` count whose table cannot be allocated.
#[wasm_bindgen_test]
fn sizes_past_the_32_bit_address_space_are_refused_not_fatal() {
    let mut e = engine("{}");
    let host = "(error) ERR string exceeds maximum allowed size (what this engine can address)";
    let out = console(
        &mut e,
        &[
            "CONFIG SET proto-max-bulk-len 1099511627776",
            "SET s hello",
            "SETRANGE s 4294967295 x",
            "SETBIT s 34359738368 1",
            "BITFIELD s SET u8 34359738368 255",
            "SETRANGE a 65535 x",
            "SETRANGE b 65536 x",
            "LCS a b LEN",
            "GET s",
            "EVAL \"return string.sub('hello', 2^53, -2^53) .. string.sub('hello', -2^53, 2^53)\" 0",
        ],
    );
    assert_eq!(out[9], "\"hello\"");
    let bytes = console(&mut e, &["EVAL \"return {string.byte('hello', 2^32)}\" 0", "PING"]);
    assert_eq!(bytes, ["(empty array)", "PONG"]);
    assert_eq!(out[2..5], [host, host, host]);
    assert_eq!(out[7], "(error) ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    assert_eq!(out[8], "\"hello\"");
    let refused = WasmEngine::new(JsValue::from_str(r#"{"databases": 2147483647}"#), NOW).err().expect("refused");
    assert!(error_message(refused).starts_with("config: databases: argument must be between 1 and "));
}

/// Counts past 2^32 mean "more than there are", as on 64-bit Redis: wasm32's `usize` is 32 bits,
/// and a count cut to its low bits would answer 0 or 1 elements (the replies are redis-server's).
#[wasm_bindgen_test]
fn counts_past_32_bits_are_not_cut_to_their_low_bits() {
    let mut e = engine("{}");
    let out = console(
        &mut e,
        &[
            "ZADD z 1 a 2 b 3 c",
            "ZRANGEBYSCORE z -inf +inf LIMIT 4294967297 1",
            "ZRANGE z -inf +inf BYSCORE LIMIT 1 4294967296",
            "HSET h f1 v1 f2 v2",
            "HRANDFIELD h 4294967296",
            "ZADD y 1 a 2 b",
            "ZINTERCARD 2 z y LIMIT 4294967297",
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
            "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km ANY COUNT 4294967297",
            "CONFIG SET hash-max-listpack-entries 4294967297",
            "HSET h f3 v3",
            "OBJECT ENCODING h",
        ],
    );
    assert_eq!(out[1], "(empty array)");
    assert_eq!(out[2], "1) \"b\"\n2) \"c\"");
    assert_eq!(out[4], "1) \"f1\"\n2) \"f2\"");
    assert_eq!(out[6], "(integer) 2");
    assert_eq!(out[8], "1) \"Palermo\"\n2) \"Catania\"");
    assert_eq!(out[11], "\"listpack\"");
}

#[wasm_bindgen_test]
fn tick_runs_cron_without_replies() {
    let mut e = engine("{}");
    assert!(e.tick(NOW + 100.0).is_empty());
    assert_eq!(console(&mut e, &["MULTI", "EXEC"]), ["OK", "(empty array)"]);
}

// The string commands (SET, GET, INCR) come from the strings family (src/cmd/string.rs).

#[wasm_bindgen_test]
fn strings_reply_and_propagate_like_redis() {
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"everysec"}"#);
    assert_eq!(console(&mut e, &["set k v", "GET k", "GET missing", "incr n"]), ["OK", "\"v\"", "(nil)", "(integer) 1"]);
    // What redis-server 7.0.15 appended to appendonly.aof.1.incr.aof for the same commands:
    // a SELECT first, then each write's argv verbatim.
    let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nincr\r\n$1\r\nn\r\n";
    assert_eq!(text(&e.aof_buf()), expected);
    assert_eq!(text(&e.aof_buf()), expected, "aof_buf() only looks");
    assert_eq!(text(&e.take_aof_buf()), expected);
    assert_eq!(e.aof_buf(), b"", "take_aof_buf() empties it");

    // EXEC with two writes: wrapped in MULTI/EXEC; the reads are not propagated.
    assert_eq!(
        console(&mut e, &["MULTI", "SET a 1", "INCR n", "GET a", "EXEC"]),
        ["OK", "QUEUED", "QUEUED", "QUEUED", "1) OK\n2) (integer) 2\n3) \"1\""]
    );
    assert_eq!(
        text(&e.take_aof_buf()),
        "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n"
    );

    // The same through RESP.
    let out =
        e.execute_resp(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n", NOW);
    assert_eq!(text(&out), "+OK\r\n$1\r\n2\r\n:3\r\n");
    assert_eq!(text(&e.take_aof_buf()), "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n");
    assert_eq!(console(&mut e, &["SET k"]), ["(error) ERR wrong number of arguments for 'set' command"]);
}

#[wasm_bindgen_test]
fn appendonly_no_propagates_nothing() {
    let mut e = engine(r#"{"appendonly":false}"#);
    assert_eq!(console(&mut e, &["SET k v", "GET k"]), ["OK", "\"v\""]);
    assert_eq!(e.aof_buf(), b"");
}

#[wasm_bindgen_test]
fn quit_closes_the_connection_and_the_next_input_opens_a_new_one() {
    let mut e = engine("{}");
    assert_eq!(console(&mut e, &["MULTI", "QUIT", "EXEC"]), ["OK", "OK", "(error) ERR EXEC without MULTI"]);
    // As on a socket: what follows QUIT in the same read is never executed.
    assert_eq!(text(&e.execute_resp(b"MULTI\r\nQUIT\r\nEXEC\r\n", NOW)), "+OK\r\n+OK\r\n");
    assert_eq!(text(&e.execute_resp(b"EXEC\r\n", NOW)), "-ERR EXEC without MULTI\r\n");
}

// Blocking commands come from the lists family (src/cmd/list.rs).

#[wasm_bindgen_test]
fn a_blocked_connection_waits_and_keeps_its_later_input_queued() {
    let mut e = engine("{}");
    assert_eq!(e.execute_line("BLPOP q 0", NOW), "", "the reply waits for data");
    assert_eq!(e.execute_line("GET x", NOW), "", "later input waits behind it");
    assert!(e.tick(NOW + 100.0).is_empty());
    // Another connection pushes: the console's pop is served, then its queued GET runs; both
    // replies come from the next tick.
    assert_eq!(text(&e.execute_resp(b"*3\r\n$5\r\nLPUSH\r\n$1\r\nq\r\n$1\r\na\r\n", NOW)), ":1\r\n");
    assert_eq!(e.tick(NOW + 200.0), ["1) \"q\"\n2) \"a\"", "(nil)"]);
    // A timeout is served by serverCron. (Simulated time never goes back: the engine records
    // every input on a timeline, and an earlier `now` counts as the last one, NOW + 200.)
    assert_eq!(e.execute_line("BLPOP q 0.5", NOW + 200.0), "");
    assert!(e.tick(NOW + 300.0).is_empty());
    assert!(e.tick(NOW + 600.0).is_empty(), "the deadline is NOW + 700");
    assert_eq!(e.tick(NOW + 800.0), ["(nil)"]);
    // The wire blocks too; its reply, and the replies of what it had queued, come with its next
    // execute_resp.
    assert_eq!(e.execute_resp(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nw\r\n$1\r\n0\r\nPING\r\n", NOW), b"");
    assert_eq!(console(&mut e, &["RPUSH w x"]), ["(integer) 1"]);
    assert_eq!(text(&e.execute_resp(b"", NOW)), "*2\r\n$1\r\nw\r\n$1\r\nx\r\n+PONG\r\n");
}

fn files(e: &mut WasmEngine) -> Vec<(String, f64, f64)> {
    let parsed = js_sys::JSON::parse(&e.files()).expect("files() is JSON");
    js_sys::Array::from(&parsed)
        .iter()
        .map(|f| {
            let get = |k: &str| js_sys::Reflect::get(&f, &k.into()).unwrap();
            (get("name").as_string().unwrap(), get("len").as_f64().unwrap(), get("durable_len").as_f64().unwrap())
        })
        .collect()
}

#[wasm_bindgen_test]
fn the_aof_lives_on_the_simulated_disk_and_survives_crashes_as_its_policy_says() {
    // always: every acknowledged write is on disk, so a power loss keeps it.
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"always"}"#);
    assert_eq!(console(&mut e, &["SET a 1", "SET b 2"]), ["OK", "OK"]);
    let incr = files(&mut e).into_iter().find(|f| f.0 == "appendonlydir/appendonly.aof.1.incr.aof").expect("the incr file");
    assert_eq!(incr.1, incr.2, "always: all of it durable");
    assert!(incr.1 > 0.0);
    let log = e.crash("power", NOW + 1000.0).expect("restart");
    assert!(log.iter().any(|l| l.contains("DB loaded from append only file")), "{log:?}");
    assert_eq!(console(&mut e, &["GET a", "GET b"]), ["\"1\"", "\"2\""]);

    // no: the kernel has not written back yet, so a power loss loses the writes...
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"no"}"#);
    console(&mut e, &["SET a 1"]);
    let incr = files(&mut e).into_iter().find(|f| f.0.ends_with(".incr.aof")).unwrap();
    assert!(incr.2 < incr.1, "no: the write sits in the page cache");
    e.crash("power", NOW + 1000.0).expect("restart");
    assert_eq!(console(&mut e, &["GET a"]), ["(nil)"]);
    // ... while a process kill keeps them (the page cache is the kernel's).
    console(&mut e, &["SET c 3"]);
    e.crash("kill", NOW + 2000.0).expect("restart");
    assert_eq!(console(&mut e, &["GET c"]), ["\"3\""]);
    assert!(e.crash("meteor", NOW).is_err());
}

// ---- the lab's calls: open with the backend ladder, batches, views, crash lab, files ----

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn field(v: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

fn always_config() -> JsValue {
    obj(&[("appendonly", JsValue::TRUE), ("appendfsync", "always".into())])
}

#[wasm_bindgen_test]
async fn open_runs_batches_and_shows_views() {
    let options = obj(&[("backend", "memory".into()), ("config", always_config())]);
    let mut e = WasmEngine::open(options, NOW).await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(e.backend(), "memory");
    assert!(e.backend_notes().is_empty());
    assert!(!e.must_wait_durable(), "the memory machine's fsync is synchronous");
    let out = e.execute_batch(vec!["SET a 1".into(), "GET a".into(), "SET b 22".into(), "BLPOP q 0".into()], NOW);
    let replies = |i: u32| js_sys::Array::from(&field(&out.get(i), "replies")).iter().map(|r| r.as_string().unwrap()).collect::<Vec<_>>();
    assert_eq!(replies(0), ["OK"]);
    assert_eq!(replies(1), ["\"1\""]);
    assert_eq!(replies(2), ["OK"]);
    assert!(replies(3).is_empty(), "blocked");
    // Each line's own bytes, as views of one buffer (the worker transfers it once).
    let aof = |i: u32| wasm_bindgen::JsCast::dyn_into::<js_sys::Uint8Array>(field(&out.get(i), "aof")).expect("a Uint8Array");
    assert_eq!(text(&aof(0).to_vec()), "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(aof(1).length(), 0);
    assert_eq!(text(&aof(2).to_vec()), "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$2\r\n22\r\n");
    assert_eq!(aof(3).length(), 0);
    assert!(aof(0).buffer() == aof(2).buffer(), "one buffer for the batch");

    let snap = json(&e.snapshot());
    assert_eq!(field(&snap, "policy").as_string().unwrap(), "always");
    assert_eq!(field(&snap, "keys").as_f64(), Some(2.0));
    let kinds: Vec<String> = js_sys::Array::from(&field(&snap, "files")).iter().map(|f| field(&f, "kind").as_string().unwrap()).collect();
    assert_eq!(kinds, ["base", "incr", "manifest"]);
    assert!(field(&snap, "info").as_string().unwrap().contains("aof_enabled:1"));
    let events = json(&e.events(0.0));
    let kinds: Vec<String> =
        js_sys::Array::from(&field(&events, "events")).iter().map(|v| field(&v, "kind").as_string().unwrap()).collect();
    for k in ["log", "command", "write", "fsync"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    let next = field(&events, "next").as_f64().unwrap();
    assert_eq!(js_sys::Array::from(&field(&json(&e.events(next)), "events")).length(), 0);

    // Power loss under always: the acknowledged write is there; the report says so.
    let log = e.crash("power", NOW + 10.0).unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert!(log.iter().any(|l| l.contains("DB loaded from append only file")), "{log:?}");
    let report = field(&json(&e.snapshot()), "crash");
    assert_eq!(field(&report, "keys_after").as_f64(), Some(2.0));

    // Export, then import into another engine: the same data.
    let tar = e.export_tar(NOW).unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(&tar[257..262], b"ustar");
    let mut other = engine(r#"{"appendonly":true}"#);
    assert!(
        other.import("export.tar", js_sys::Uint8Array::from(&tar[..]).into(), NOW).unwrap_or_else(|err| panic!("{}", error_message(err)))
    );
    assert_eq!(console(&mut other, &["GET a"]), ["\"1\""]);
    let paths = vec!["appendonly.aof".to_string()];
    let blobs = js_sys::Array::of1(&js_sys::Uint8Array::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"[..]));
    assert!(other.import_files(paths, blobs, NOW).unwrap_or_else(|err| panic!("{}", error_message(err))));
    assert_eq!(console(&mut other, &["GET b", "GET a"]), ["\"2\"", "(nil)"]);
    assert!(WasmEngine::open(obj(&[("backend", "floppy".into())]), NOW).await.is_err());
}

#[wasm_bindgen_test]
async fn the_ladder_takes_the_first_backend_that_opens_and_says_why() {
    let namespace = format!("facade-ladder-{}", js_sys::Math::random().to_bits());
    let options = obj(&[("backend", "auto".into()), ("namespace", namespace.as_str().into()), ("config", always_config())]);
    let mut e = WasmEngine::open(options, NOW).await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    let backend = e.backend();
    if global_has("document") {
        // A window has OPFS but no synchronous access handles: IndexedDB is next.
        assert_eq!(backend, "indexeddb");
        let notes = e.backend_notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("OPFS: synchronous access handles exist only in a dedicated worker"), "{notes:?}");
        assert!(e.must_wait_durable(), "always on IndexedDB waits for the commit");
    } else {
        assert_eq!(backend, "opfs");
        assert!(e.backend_notes().is_empty());
    }
    assert_eq!(console(&mut e, &["SET k v"]), ["OK"]);
    if backend == "indexeddb" {
        // The fsync of the turn issued a transaction: the worker must not release the reply
        // until durable() resolves.
        assert!(e.commit_pending(), "under always, the turn's bytes are in an IndexedDB transaction");
    }
    wasm_bindgen_futures::JsFuture::from(e.durable()).await.expect("committed");
    assert!(!e.commit_pending());
    wasm_bindgen_futures::JsFuture::from(e.between_turns()).await.expect("upkeep");
    drop(e);
    // A new engine on the same namespace loads what the first one stored.
    let options = obj(&[("backend", backend.as_str().into()), ("namespace", namespace.as_str().into()), ("config", always_config())]);
    let mut again = WasmEngine::open(options, NOW).await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(again.backend(), backend);
    assert_eq!(console(&mut again, &["GET k"]), ["\"v\""]);
    drop(again);
    aof_lab::storage::browser::delete_namespace(&backend, &namespace).await.expect("cleanup");
}

/// Every crash kind on the browser backend the ladder picks (OPFS in a worker, IndexedDB in a
/// window): the simulated machine cuts the real files back, so a new engine on the namespace (a
/// page reload) finds exactly the survivors the report counted.
#[wasm_bindgen_test]
async fn a_power_loss_on_the_browser_backend_cuts_its_real_files() {
    let namespace = format!("facade-power-{}", js_sys::Math::random().to_bits());
    let open =
        || WasmEngine::open(obj(&[("backend", "auto".into()), ("namespace", namespace.as_str().into()), ("config", always_config())]), NOW);
    let mut e = open().await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    let backend = e.backend();
    assert_ne!(backend, "memory");
    assert_eq!(console(&mut e, &["SET a 1", "CONFIG SET appendfsync no", "SET b 2"]), ["OK", "OK", "OK"]);
    let incr = files(&mut e).into_iter().find(|f| f.0.ends_with(".incr.aof")).expect("the incr file");
    assert!(incr.2 < incr.1, "{backend}: under no, SET b is in the page cache only: {incr:?}");
    e.crash("power", NOW + 10.0).unwrap_or_else(|err| panic!("{}", error_message(err)));
    let report = field(&json(&e.snapshot()), "crash");
    assert_eq!((field(&report, "keys_before").as_f64(), field(&report, "keys_after").as_f64()), (Some(2.0), Some(1.0)), "{backend}");
    assert_eq!(console(&mut e, &["GET a", "GET b"]), ["\"1\"", "(nil)"]);
    wasm_bindgen_futures::JsFuture::from(e.durable()).await.expect("committed");
    drop(e);
    let mut again = open().await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(console(&mut again, &["GET a", "GET b"]), ["\"1\"", "(nil)"], "{backend}: the reload finds the same survivors");

    // A torn sequence leaves a hole: Redis refuses the file even with aof-load-truncated yes.
    console(&mut again, &["CONFIG SET appendfsync no", "SET c 3", "SET d 4", "SET e 5"]);
    let err = again.crash("torn-seq", NOW + 20.0).map(|_| ()).expect_err("refused");
    assert!(error_message(err).contains("Bad file format reading the append only file"), "{backend}");
    wasm_bindgen_futures::JsFuture::from(again.durable()).await.expect("committed");
    drop(again);
    let mut third = open().await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    let down = field(&json(&third.snapshot()), "down");
    assert!(js_sys::Array::from(&down).length() > 0, "{backend}: the hole is in the real files, so a reload refuses too");
    drop(third);
    aof_lab::storage::browser::delete_namespace(&backend, &namespace).await.expect("cleanup");
}

#[wasm_bindgen_test]
fn stepped_rewrite_speed_bgsave_and_the_6_2_mode() {
    // 7.0: the speed set from the page, a rewrite watched tick by tick, then BGSAVE.
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"always"}"#);
    console(&mut e, &["MSET a 1 b 2 c 3 d 4"]);
    e.set_rewrite_speed(1.0, NOW);
    assert_eq!(field(&field(&json(&e.snapshot()), "rewrite"), "keys_per_tick").as_f64(), Some(1.0));
    assert_eq!(console(&mut e, &["BGREWRITEAOF"]), ["Background append only file rewriting started"]);
    let mut seen = vec![];
    for i in 1..10 {
        e.tick(NOW + 100.0 * f64::from(i));
        let rw = field(&json(&e.snapshot()), "rewrite");
        if !field(&rw, "in_progress").as_bool().unwrap() {
            break;
        }
        assert_eq!(field(&rw, "keys_total").as_f64(), Some(4.0));
        seen.push(field(&rw, "keys_processed").as_f64().unwrap());
    }
    assert!(seen.starts_with(&[1.0, 2.0, 3.0]) && seen.len() <= 4, "one key per tick: {seen:?}");
    assert!(!field(&field(&json(&e.snapshot()), "rewrite"), "in_progress").as_bool().unwrap(), "done: {seen:?}");
    assert_eq!(console(&mut e, &["BGSAVE"]), ["Background saving started"]);
    // The same speed for the BGSAVE child: 4 keys, then the rename.
    for i in 1..10 {
        e.tick(NOW + 2000.0 + 100.0 * f64::from(i));
    }
    let snap = json(&e.snapshot());
    assert_eq!(field(&field(&snap, "rdb"), "in_progress").as_bool(), Some(false));
    let kinds: Vec<String> = js_sys::Array::from(&field(&snap, "files")).iter().map(|f| field(&f, "kind").as_string().unwrap()).collect();
    assert!(kinds.contains(&"rdb".to_string()), "{kinds:?}");
    assert_eq!(field(&field(&snap, "rdb"), "ignored_at_start").as_bool(), Some(true));
    assert_eq!(field(&snap, "mode").as_string().unwrap(), "7.0");

    // 6.2, chosen at start by the config object: one appendonly.aof.
    let mut e = engine(r#"{"appendonly":true,"lab-aof-mode":"6.2"}"#);
    console(&mut e, &["SET k v"]);
    let snap = json(&e.snapshot());
    assert_eq!(field(&snap, "mode").as_string().unwrap(), "6.2");
    let files: Vec<String> = js_sys::Array::from(&field(&snap, "files")).iter().map(|f| field(&f, "name").as_string().unwrap()).collect();
    assert_eq!(files, ["appendonly.aof"]);
    assert!(field(&snap, "info").as_string().unwrap().contains("aof_rewrite_buffer_length:0"));
}

// ---- hostile inputs on a 32-bit usize ----

#[path = "../fixtures/corrupt.rs"]
mod corrupt;

/// Every saved fuzz crasher and hand-made corrupt input, through the fuzz target that found it,
/// here where `usize` is 32 bits (the fuzzers run on 64-bit hosts).
#[wasm_bindgen_test]
fn every_corrupt_fixture_is_handled_on_wasm32() {
    assert_eq!(usize::BITS, 32);
    let mut per_target = std::collections::BTreeMap::new();
    for (name, bytes) in corrupt::FIXTURES {
        let target = aof_lab::fuzzing::TARGETS.iter().find(|t| name.starts_with(&format!("{t}-"))).unwrap_or_else(|| panic!("{name}"));
        aof_lab::fuzzing::run(target, bytes);
        *per_target.entry(*target).or_insert(0) += 1;
    }
    assert_eq!(per_target.len(), aof_lab::fuzzing::TARGETS.len(), "every target replayed: {per_target:?}");
}

/// Lengths past 4 GB: the loader, redis-check-aof and the protocol answer as on 64 bits.
#[wasm_bindgen_test]
fn huge_lengths_are_never_wrapped_on_wasm32() {
    aof_lab::fuzzing::huge_lengths();
}

/// The log view's side of the facade: where a batch's lines went, the files as records by
/// range, a record's detail, a byte found; dropped files in a `LogInspector`, apart from the
/// engine, with redis-check-aof's output.
#[wasm_bindgen_test]
fn the_log_view_by_range_and_dropped_files() {
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"always"}"#);
    let out = e.execute_batch(vec!["SET a 1".into(), "GET a".into(), "RPUSH l x y".into()], NOW);
    let at = field(&out.get(2), "at");
    let file = field(&at, "file").as_string().unwrap();
    assert_eq!(file, "appendonlydir/appendonly.aof.1.incr.aof");
    assert_eq!(field(&at, "offset").as_f64(), Some(50.0), "after SELECT 0 (23) and SET a 1 (27)");
    assert!(field(&out.get(1), "at").is_null(), "a read appends nothing");
    let files = json(&e.log_files());
    let incr = js_sys::Array::from(&files).iter().find(|f| field(f, "kind").as_string().as_deref() == Some("incr")).unwrap();
    assert_eq!(field(&incr, "records").as_f64(), Some(3.0));
    let rows = json(&e.log_rows(&file, 1, 5).unwrap_or_else(|err| panic!("{}", error_message(err))));
    let rows = js_sys::Array::from(&field(&rows, "rows"));
    assert_eq!(rows.length(), 2);
    assert_eq!(field(&rows.get(1), "text").as_string().unwrap(), "RPUSH l x y");
    assert_eq!(field(&rows.get(0), "framing").as_string().unwrap(), "*3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\na\\r\\n$1\\r\\n1\\r\\n");
    assert_eq!(e.log_find(&file, 50.0, None), Some(2));
    let detail = json(&e.log_record(&file, 0).unwrap_or_else(|err| panic!("{}", error_message(err))));
    assert_eq!(field(&detail, "mark").as_string().unwrap(), "select");

    let bytes = js_sys::Array::new();
    bytes.push(&js_sys::Uint8Array::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$3\r\nSET"[..]));
    let mut d =
        aof_lab::wasm::WasmLogInspector::new(vec!["appendonly.aof".into()], bytes).unwrap_or_else(|err| panic!("{}", error_message(err)));
    let files = json(&d.files());
    let f = js_sys::Array::from(&files).get(0);
    assert_eq!(field(&f, "records").as_f64(), Some(2.0));
    assert_eq!(field(&field(&f, "cut"), "offset").as_f64(), Some(27.0));
    assert!(d.check().contains("ok_up_to=27"));
    // The engine is untouched.
    assert_eq!(console(&mut e, &["DBSIZE"]), ["(integer) 2"]);
}

mod bitsgeo;
mod programs;
mod timeline;

/// A directory whose AOF files claim 4 GB more than they hold (as a file of 4 GB and more on
/// OPFS would; RAM cannot hold one here): their length does not fit a 32-bit `usize`.
struct PastFourGb(aof_lab::storage::MemoryStorage);

impl aof_lab::storage::Storage for PastFourGb {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn open(&mut self, name: &str, mode: aof_lab::storage::OpenMode) -> aof_lab::storage::Result<()> {
        self.0.open(name, mode)
    }
    fn exists(&self, name: &str) -> bool {
        self.0.exists(name)
    }
    fn len(&self, name: &str) -> aof_lab::storage::Result<u64> {
        let len = self.0.len(name)?;
        Ok(if name.ends_with(".aof") { len + (1 << 32) } else { len })
    }
    fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> aof_lab::storage::Result<usize> {
        self.0.read_at(name, offset, buf)
    }
    fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> aof_lab::storage::Result<usize> {
        self.0.write_at(name, offset, bytes)
    }
    fn truncate(&mut self, name: &str, len: u64) -> aof_lab::storage::Result<()> {
        self.0.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> aof_lab::storage::Result<()> {
        self.0.sync(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> aof_lab::storage::Result<()> {
        self.0.rename(from, to)
    }
    fn remove(&mut self, name: &str) -> aof_lab::storage::Result<()> {
        self.0.remove(name)
    }
    fn list(&self, dir: Option<&str>) -> aof_lab::storage::Result<Vec<String>> {
        self.0.list(dir)
    }
    fn sync_dir(&mut self, dir: &str) -> aof_lab::storage::Result<()> {
        self.0.sync_dir(dir)
    }
    fn create_dir(&mut self, dir: &str) -> aof_lab::storage::Result<()> {
        self.0.create_dir(dir)
    }
    fn dir_exists(&self, dir: &str) -> bool {
        self.0.dir_exists(dir)
    }
}

/// A file past 4 GB is never read short on wasm32 (its length cast to a 32-bit `usize` would
/// drop the 4 GB and read what is left as the whole file): a read of the whole file is
/// EOVERFLOW and the log view leaves the file out. The AOF load reads a window at a time at
/// 64-bit offsets, as Redis's `fread` does: it asks for the bytes past what this file holds,
/// finds its end there and loads what is there, as Redis loads a file that ends early.
#[wasm_bindgen_test]
fn files_past_4_gb_are_never_read_short_on_wasm32() {
    use aof_lab::storage::{ErrorKind, MemoryStorage, OpenMode, Storage};
    let mut mem = MemoryStorage::new();
    mem.create_dir("appendonlydir").unwrap();
    for (name, bytes) in [
        ("appendonlydir/appendonly.aof.manifest", &b"file appendonly.aof.1.incr.aof seq 1 type i\n"[..]),
        ("appendonlydir/appendonly.aof.1.incr.aof", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$5\r\nMULTI\r\n"),
    ] {
        mem.open(name, OpenMode::Truncate).unwrap();
        mem.write_at(name, 0, bytes).unwrap();
    }
    let mut huge = PastFourGb(mem);
    let err = huge.read_all("appendonlydir/appendonly.aof.1.incr.aof").unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert_eq!(err.strerror(), "Value too large for defined data type");
    let config = aof_lab::Config { appendonly: true, aof_load_truncated: true, ..aof_lab::Config::default() };
    let Ok(mut e) = aof_lab::Engine::open(config, Box::new(huge), 1_700_000_000_000) else {
        panic!("the load did not read the file's bytes")
    };
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(log.iter().any(|l| l.contains("Revert incomplete MULTI/EXEC transaction in AOF file")), "{log:?}");
    let c = e.connect();
    assert_eq!(e.execute(c, &[b"GET", b"k"], 1_700_000_000_000).unwrap().to_resp(), b"$1\r\nv\r\n");
    let mut index = aof_lab::lab::log::LogIndex::default();
    index.sync(e.srv.storage.as_mut(), &[("appendonlydir/appendonly.aof.1.incr.aof".to_string(), "incr")], 0);
    assert_eq!(index.files_json(), "[]", "the log view lists no file it read short");
}
