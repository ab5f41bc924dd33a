//! Busy scripts through the engine's host API (no sockets): a script past
//! `busy-reply-threshold` lends the engine to the host's `WhileBlocked`, which serves another
//! client. `tests/serve_busy.rs` compares the same exchanges with redis-server's bytes.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use aof_lab::config::WhileBlocked;
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_700_000_000_000;

fn clock_us() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// An engine whose scripts time out after 20 ms, with `host` run while one is busy.
fn engine(host: impl FnMut(&mut Engine) + 'static) -> Engine {
    let config = Config { script_clock: Some(clock_us), while_blocked: Some(WhileBlocked::new(host)), ..Config::default() };
    let mut e = Engine::new(config, NOW);
    let admin = e.connect();
    assert_eq!(e.execute_line(admin, "CONFIG SET busy-reply-threshold 20", NOW), Some(Reply::ok()));
    e
}

fn err(r: Option<Reply>) -> String {
    match r {
        Some(Reply::Error(e)) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_busy_eval_answers_others_busy_until_script_kill() {
    let seen: Rc<RefCell<Vec<Option<Reply>>>> = Rc::default();
    let log = seen.clone();
    let mut calls = 0;
    let mut e = engine(move |e: &mut Engine| {
        calls += 1;
        let other = 3; // the third connection (after the admin and the script's caller)
        if calls == 1 {
            for line in ["PING", "FUNCTION STATS", "FUNCTION KILL", "SET k v", "GET k"] {
                log.borrow_mut().push(e.execute_line(other, line, NOW));
            }
        } else if calls == 3 {
            log.borrow_mut().push(e.execute_line(other, "SCRIPT KILL", NOW));
        }
    });
    let caller = e.connect();
    let other = e.connect();
    assert_eq!(other, 3);
    let reply = err(e.execute_line(caller, "EVAL \"local i = 0 while true do i = i + 1 end\" 0", NOW));
    let busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    let seen = seen.borrow();
    let texts: Vec<String> = seen.iter().map(|r| format!("{r:?}")).collect();
    assert_eq!(seen.len(), 6, "{texts:?}");
    for r in &seen[..5] {
        assert_eq!(err(r.clone()), busy);
    }
    assert_eq!(seen[5], Some(Reply::ok()));
    assert!(reply.starts_with("ERR Script killed by user with SCRIPT KILL... script: "), "{reply}");
    assert!(reply.ends_with(", on @user_script:1."), "{reply}");
    // The other client's SET was refused: nothing was written, and the server serves again.
    assert_eq!(e.execute_line(other, "GET k", NOW), Some(Reply::Nil));
    assert_eq!(err(e.execute_line(other, "SCRIPT KILL", NOW)), "NOTBUSY No scripts in execution right now.");
    let log: Vec<String> = e.take_log().into_iter().map(|l| l.text).collect();
    assert!(
        log.iter().any(|l| l.starts_with("Slow script detected: still in execution after ")
            && l.contains(" milliseconds. You can try killing the script using the SCRIPT KILL command. Script name is: ")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l == "Lua script killed by user with SCRIPT KILL."), "{log:?}");
}

#[test]
fn a_script_that_wrote_cannot_be_killed_and_ends_by_itself() {
    let seen: Rc<RefCell<Vec<Option<Reply>>>> = Rc::default();
    let log = seen.clone();
    let mut e = engine(move |e: &mut Engine| {
        if log.borrow().is_empty() {
            log.borrow_mut().push(e.execute_line(3, "SCRIPT KILL", NOW));
        }
    });
    let caller = e.connect();
    e.connect();
    // Runs ~60 ms, then returns: the write is propagated at its end.
    let script = "redis.call('set','k','v') local t = 0 for i = 1, 3000000 do t = t + i end return t";
    let started = Instant::now();
    let mut reply = None;
    while seen.borrow().is_empty() && started.elapsed().as_secs() < 20 {
        reply = e.execute_line(caller, &format!("EVAL \"{script}\" 0"), NOW);
    }
    assert_eq!(reply, Some(Reply::Int(4_500_001_500_000)));
    assert_eq!(
        err(seen.borrow()[0].clone()),
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
    );
    assert_eq!(e.execute_line(caller, "GET k", NOW), Some(Reply::bulk("v")));
}

#[test]
fn a_busy_function_is_seen_by_function_stats_and_killed_by_function_kill() {
    let seen: Rc<RefCell<Vec<Option<Reply>>>> = Rc::default();
    let log = seen.clone();
    let mut e = engine(move |e: &mut Engine| {
        if log.borrow().is_empty() {
            for line in ["FUNCTION STATS", "SCRIPT KILL", "MULTI", "SET k v", "EXEC", "FUNCTION KILL"] {
                log.borrow_mut().push(e.execute_line(3, line, NOW));
            }
        }
    });
    let caller = e.connect();
    e.connect();
    let lib = "#!lua name=spin\nredis.register_function('spin', function(keys, args) while true do end end)";
    let load = e.execute(caller, &[b"FUNCTION", b"LOAD", lib.as_bytes()], NOW);
    assert_eq!(load, Some(Reply::bulk("spin")));
    let reply = err(e.execute_line(caller, "FCALL spin 0 a", NOW));
    assert!(reply.starts_with("ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:"), "{reply}");
    let seen = seen.borrow();
    let Some(Reply::Map(stats)) = &seen[0] else { panic!("{:?}", seen[0]) };
    let Reply::Map(running) = &stats[0].1 else { panic!("{stats:?}") };
    assert_eq!(running[0], (Reply::bulk("name"), Reply::bulk("spin")));
    let command = Reply::Array(["FCALL", "spin", "0", "a"].iter().map(|a| Reply::bulk(*a)).collect());
    assert_eq!(running[1], (Reply::bulk("command"), command));
    // A time: at least the threshold.
    assert!(matches!(running[2], (_, Reply::Int(ms)) if ms >= 20), "{running:?}");
    let busy = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
    assert_eq!(err(seen[1].clone()), busy);
    assert_eq!(seen[2], Some(Reply::ok()), "MULTI is allow-busy");
    assert_eq!(err(seen[3].clone()), busy);
    assert_eq!(err(seen[4].clone()), format!("EXECABORT Transaction discarded because of: {busy}"));
    assert_eq!(seen[5], Some(Reply::ok()));
}

#[test]
fn a_library_whose_top_level_runs_past_500_ms_is_refused() {
    let mut e = engine(|_: &mut Engine| {});
    let c = e.connect();
    let lib = "#!lua name=slow\nwhile true do end";
    let started = Instant::now();
    let reply = err(e.execute(c, &[b"FUNCTION", b"LOAD", lib.as_bytes()], NOW));
    assert!(started.elapsed().as_millis() >= 500);
    assert_eq!(reply, "ERR Error registering functions: ERR FUNCTION LOAD timeout");
}

#[test]
fn without_a_clock_a_long_script_just_runs() {
    let mut e = Engine::new(Config::default(), NOW);
    let c = e.connect();
    assert_eq!(e.execute_line(c, "CONFIG SET busy-reply-threshold 1", NOW), Some(Reply::ok()));
    let reply = e.execute_line(c, "EVAL \"local t = 0 for i = 1, 1000000 do t = t + 1 end return t\" 0", NOW);
    assert_eq!(reply, Some(Reply::Int(1_000_000)));
    assert!(e.take_log().iter().all(|l| !l.text.starts_with("Slow script")));
}

#[test]
fn neither_pcall_nor_a_coroutine_hides_a_busy_loop() {
    for body in [
        "pcall(function() while true do end end) while true do end",
        "local co = coroutine.wrap(function() while true do end end) co()",
        "local co = coroutine.create(function() while true do end end) coroutine.resume(co) while true do end",
    ] {
        let mut e = engine(|e: &mut Engine| {
            e.execute_line(3, "SCRIPT KILL", NOW);
        });
        let caller = e.connect();
        e.connect();
        let reply = err(e.execute(caller, &[b"EVAL", body.as_bytes(), b"0"], NOW));
        assert!(reply.starts_with("ERR Script killed by user with SCRIPT KILL..."), "{body}: {reply}");
    }
}
