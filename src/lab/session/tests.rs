//! The session as the worker drives it: simulated time, stepping, forks said, marks by
//! increments, recordings, and a real backend under it (the native file system).

use super::*;
#[cfg(not(target_arch = "wasm32"))]
use crate::storage::{conformance::files, tee::shared};

const T0: i64 = 1_700_000_000_000;

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn session() -> Session {
    Session::memory(&settings(&[("appendonly", "yes"), ("appendfsync", "everysec")]), 7, T0, Host::default()).unwrap()
}

fn lines(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

fn kinds(s: &Session) -> Vec<&'static str> {
    s.timeline().inputs().iter().map(|r| r.input.action.kind()).collect()
}

#[test]
fn servercron_runs_every_100_ms_of_simulated_time_and_stands_still_when_time_does() {
    let mut s = session();
    let a = s.advance(T0 + 1050);
    assert_eq!((a.ticks, a.replayed), (10, 0));
    assert_eq!(s.next_cron(), T0 + 1100);
    assert_eq!(s.advance(T0 + 1050).ticks, 0, "paused: no time, no tick");
    assert_eq!(s.execute_batch(&lines(&["SET k v PX 250"]), T0 + 1050)[0].0, ["OK"]);
    // Active expiry deletes the key in a tick: its DEL is the ticks' bytes.
    let a = s.advance(T0 + 1600);
    assert_eq!(a.ticks, 6);
    assert!(String::from_utf8_lossy(&a.appended).contains("DEL"), "{:?}", String::from_utf8_lossy(&a.appended));
    assert_eq!(s.execute_batch(&lines(&["EXISTS k"]), T0 + 1600)[0].0, ["(integer) 0"]);
    // A stalled host does not replay minutes of ticks.
    let a = s.advance(T0 + 1_000_000);
    assert_eq!(a.ticks, MAX_TICKS);
    assert_eq!(s.next_cron(), T0 + 1_000_100);
    // A blocked command's reply comes with the tick that serves its timeout.
    assert!(s.execute_batch(&lines(&["BLPOP q 0.3"]), T0 + 1_000_000)[0].0.is_empty());
    assert_eq!(s.advance(T0 + 1_000_400).replies, ["(nil)"]);
}

#[test]
fn playing_in_the_past_replays_the_recorded_future_then_goes_on_live() {
    let mut s = session();
    for i in 0..10 {
        s.execute_batch(&lines(&[&format!("SET k{i} {i}")]), T0 + 10 * i);
    }
    s.advance(T0 + 1000);
    let head = s.timeline().head().0;
    assert_eq!(head, 20);
    s.seek(3);
    assert_eq!(s.now(), T0 + 20);
    // Time runs: the recorded inputs up to it are replayed, nothing new is recorded.
    let a = s.advance(T0 + 55);
    assert_eq!((a.replayed, a.ticks), (3, 0));
    assert_eq!(s.position(), 6);
    assert_eq!(s.timeline().head().0, head);
    // Past the head's time, the head goes on live.
    let a = s.advance(T0 + 1250);
    assert_eq!(s.position(), head + 2);
    assert_eq!((a.replayed, a.ticks), (14, 2));
    assert_eq!(s.timeline().branches().len(), 1, "playing forward never forks");
}

#[test]
fn step_goes_one_input_forward_and_at_the_head_one_tick() {
    let mut s = session();
    s.execute_batch(&lines(&["SET a 1"]), T0);
    s.execute_batch(&lines(&["SET b 2"]), T0 + 30);
    assert!(s.step_back());
    assert_eq!(s.position(), 1);
    assert_eq!(s.step().replayed, 1);
    assert_eq!(s.position(), 2);
    let a = s.step();
    assert_eq!((a.ticks, s.position()), (1, 3));
    assert_eq!(kinds(&s), ["lines", "lines", "tick"]);
    // After a move on the timeline, serverCron runs 100 ms after the position's time.
    assert_eq!(s.timeline().inputs()[2].input.t, T0 + 130);
    s.step();
    assert_eq!(s.timeline().inputs()[3].input.t, T0 + 230);
    s.seek(0);
    assert!(!s.step_back());
    s.live();
    assert_eq!(s.position(), 4);
}

#[test]
fn acting_in_the_past_forks_and_says_which_branch_keeps_the_later_history() {
    let mut s = session();
    for i in 0..5 {
        s.execute_batch(&lines(&[&format!("SET k{i} {i}")]), T0 + i);
    }
    assert_eq!(s.take_fork(), None);
    let g = s.generation();
    s.seek(2);
    assert_eq!(s.take_fork(), None, "a seek is no fork");
    assert_eq!(s.execute_batch(&lines(&["GET k3"]), T0 + 10)[0].0, ["(nil)"], "k3 was set later");
    assert_eq!(s.take_fork(), Some(1));
    assert_eq!(s.take_fork(), None, "said once");
    assert!(s.generation() > g);
    let m = s.marks_json(0);
    assert!(m.contains(r#""seq":2,"t":1700000000001,"kind":"lines","flags":["write","fork"]"#), "{m}");
    assert!(m.starts_with(&format!(r#"{{"generation":{},"position":3,"head":3,"#, s.generation())), "{m}");
    // The branch can be returned to, and discarded.
    assert!(s.timeline().branches().iter().any(|b| b.id == 1 && b.head_seq == 5));
    let g = s.generation();
    s.switch_branch(1).unwrap();
    s.live();
    assert_eq!(s.position(), 5);
    assert_eq!(s.execute_batch(&lines(&["GET k3"]), T0 + 20)[0].0, ["\"3\""]);
    s.switch_branch(0).unwrap();
    s.discard_branch(1).unwrap();
    assert!(s.generation() > g);
    assert_eq!(s.timeline().branches().len(), 1);
}

#[test]
fn marks_skip_idle_ticks_and_come_by_increments() {
    let mut s = session();
    s.advance(T0 + 500);
    s.execute_batch(&lines(&["SET a 1"]), T0 + 500);
    s.mark("here", T0 + 500);
    s.execute_batch(&lines(&["SET b 1"]), T0 + 500);
    s.advance(T0 + 1600);
    let all = s.marks_json(0);
    // 5 idle ticks, the first SET (written and, everysec after a second without fsync, synced),
    // the mark, the second SET (written), then ticks of which one fsyncs it.
    assert!(all.contains(r#"{"seq":6,"t":1700000000500,"kind":"lines","flags":["write","fsync"]}"#), "{all}");
    assert!(all.contains(r#"{"seq":7,"t":1700000000500,"kind":"mark","flags":["mark"]}"#), "{all}");
    assert!(all.contains(r#"{"seq":8,"t":1700000000500,"kind":"lines","flags":["write"]}"#), "{all}");
    assert!(all.contains(r#""kind":"tick","flags":["fsync"]"#), "{all}");
    assert!(!all.contains(r#""seq":1,"#), "an idle tick is no mark: {all}");
    let later = s.marks_json(7);
    assert!(!later.contains(r#""seq":7,"#) && later.contains(r#""kind":"tick","flags":["fsync"]"#), "{later}");
    assert!(s.timeline().branches_json().starts_with(r#"[{"id":0,"parent":null,"fork_seq":0,"diverges_at":"#));
}

#[test]
fn a_recording_opens_in_another_session_at_the_same_position_with_the_same_state() {
    let mut s = session();
    s.execute_batch(&lines(&["SET a 1", "SADD s x y z", "SPOP s"]), T0);
    s.advance(T0 + 2000);
    s.crash("power", T0 + 2000).unwrap();
    s.execute_batch(&lines(&["SET b 2"]), T0 + 2100);
    s.seek(5);
    let at5 = s.state_digest();
    let bytes = s.recording();
    assert_eq!(s.position(), 5);
    let (mut other, replay) = Session::from_recording(&bytes, Some(5), Host::default()).unwrap();
    assert_eq!(replay, Replay { digest_matches: Some(true), same_engine: true, inputs: s.timeline().head().0 });
    assert_eq!(other.position(), 5);
    assert_eq!(other.state_digest(), at5);
    other.live();
    s.live();
    assert_eq!(other.state_digest(), s.state_digest());
    assert!(Session::from_recording(b"garbage", None, Host::default()).is_err());
}

/// On a real backend (a directory): the files follow the head, a fork rewrites them.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_session_on_a_directory_keeps_its_files_as_the_present() {
    let dir = std::env::temp_dir().join(format!("aof-lab-session-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let real = shared(Box::new(crate::storage::FsStorage::new(&dir).unwrap()));
    let mut s = Session::on_backend(
        real.clone(),
        &settings(&[("appendonly", "yes")]),
        1,
        T0,
        Host { backend_notes: vec!["a note".into()], ..Host::default() },
    )
    .unwrap();
    for i in 0..4 {
        s.execute_batch(&lines(&[&format!("SET k{i} {i}")]), T0 + i);
    }
    let head_files = files(&mut **real.borrow_mut());
    s.seek(1);
    assert!(s.lab_mut().snapshot().contains(r#""backend_notes":["a note"]"#), "what the host added is in the past too");
    assert_eq!(files(&mut **real.borrow_mut()), head_files);
    s.execute_batch(&lines(&["SET x 1"]), T0 + 10);
    assert_eq!(s.take_fork(), Some(1));
    assert_eq!(files(&mut **real.borrow_mut()), files(s.lab_mut().engine.srv.storage.as_mut()));
    assert!(s.marks_json(0).contains(r#""present":2"#));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crash prediction is an input of its own; the crash after it reveals it, in a replay too.
#[test]
fn a_prediction_then_a_crash_reveals_it_and_replays_the_same() {
    let mut s = Session::memory(&settings(&[("appendonly", "yes"), ("appendfsync", "no")]), 3, T0, Host::default()).unwrap();
    s.execute_batch(&lines(&["SET a 1", "SET b 2"]), T0);
    let p = crate::lab::Prediction { writes: vec![], survive: Some("none".into()), keys: Some("fewer".into()), refused: Some(false) };
    s.predict(&crate::lab::input::crash_prediction_payload(&p), T0 + 10);
    assert_eq!(crate::lab::input::parse_crash_prediction(&crate::lab::input::crash_prediction_payload(&p)), Some(p));
    s.crash("power", T0 + 20).unwrap();
    let shown = s.lab_mut().snapshot();
    assert!(shown.contains(r#""question":"keys","predicted":"fewer""#), "{shown}");
    assert!(s.marks_json(0).contains(r#""kind":"predict","flags":["predict"]"#));
    s.seek(0);
    s.live();
    assert_eq!(s.lab_mut().snapshot(), shown, "the replay reveals the same");
    // The prediction is spent: the next crash has none.
    s.crash("kill", T0 + 30).unwrap();
    assert!(s.lab_mut().snapshot().contains(r#""prediction":null"#));
}

/// The traffic generator is an input: its commands in the ticks replay the same.
#[test]
fn traffic_is_an_input_and_replays_the_same() {
    let mut s = session();
    let spec = crate::lab::traffic::TrafficSpec::new(200, 80, 50, 16, 5).unwrap();
    s.set_traffic(Some(spec), T0);
    s.advance(T0 + 2000);
    s.set_traffic(None, T0 + 2000);
    s.advance(T0 + 2500);
    let keys = s.lab().engine.srv.dbs[0].len();
    assert!(keys > 10, "the traffic wrote: {keys} keys");
    let head = s.state_digest();
    s.seek(1);
    s.live();
    assert_eq!(s.state_digest(), head);
    let bytes = s.recording();
    let (mut other, replay) = Session::from_recording(&bytes, None, Host::default()).unwrap();
    assert_eq!(replay.digest_matches, Some(true));
    assert_eq!(other.state_digest(), head);
}

/// A scenario played on a lab's own timeline, as the page plays it: each step an input, each
/// predict's answer an input before it. Returns the outcomes and the session.
fn play_scenario(text: &str, answer: Option<usize>) -> (Vec<crate::lab::scenario::Outcome>, Session) {
    use crate::lab::scenario::{StepKind, parse};
    let steps = parse(text).expect("a valid scenario");
    let mut s = Session::scenario().unwrap();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let now = s.now();
        if matches!(step.kind, StepKind::Predict { .. }) {
            s.scenario_answer(answer, now);
        }
        out.push(s.scenario_step(i as u32, &step.script(), now));
    }
    (out, s)
}

/// Every built-in scenario plays on the lab's own machine (a session of its own, the steps and
/// the answers inputs) with the outcomes of the scenario runner's machine: every check passes.
/// Going back into it and forward again gives the same, and the panel of the past (the steps
/// played up to a point) is a prefix.
#[test]
fn every_built_in_scenario_plays_on_a_lab_timeline_as_on_its_own_machine() {
    use crate::lab::scenario::{Runner, StepKind, parse, tests::built_in};
    for (name, text) in built_in() {
        let (got, mut s) = play_scenario(&text, Some(1));
        let mut r = Runner::new(parse(&text).unwrap());
        let mut want = Vec::new();
        while !r.done() {
            if matches!(r.steps()[r.next_index()].kind, StepKind::Predict { .. }) {
                r.answer(Some(1)).unwrap();
            }
            want.extend(r.step());
        }
        // A step is recorded as its own script, one step: its line in the file is the page's
        // to keep (it has the steps, by index).
        let lined: Vec<_> = got.iter().zip(&want).map(|(g, w)| crate::lab::scenario::Outcome { line: w.line, ..g.clone() }).collect();
        assert_eq!(lined, want, "{name}: the lab's timeline plays it as the runner does");
        assert!(
            got.iter().all(|o| o.passed != Some(false)),
            "{name}: {:?}",
            got.iter().filter_map(|o| o.failure.clone()).collect::<Vec<_>>()
        );
        let predicts: Vec<_> = got.iter().filter_map(|o| o.prediction.as_ref()).collect();
        assert!(predicts.iter().all(|p| p.given == Some(1)), "{name}: the answers were inputs");

        // Back into the middle: the steps played by then, and forward again: the same.
        let head = s.position();
        let digest = s.state_digest();
        let all = s.timeline().scenario_json();
        s.seek(head / 2);
        let half = s.timeline().scenario_json();
        assert!(all.starts_with(half.trim_end_matches(']')), "{name}: the panel of the past is a prefix");
        s.live();
        assert_eq!(s.state_digest(), digest, "{name}: forward again, the same lab");
        assert_eq!(s.timeline().scenario_json(), all);
    }
}

/// The AOF buffer view of the past: what each input appended, by line, up to the position
/// (and only what the page does not have); a scenario step's bytes are its commands'.
#[test]
fn the_aof_buffer_view_reads_the_recorded_outputs_at_the_position() {
    let mut s = session();
    s.execute_batch(&lines(&["SET a 1", "GET a", "INCR n"]), T0);
    s.execute_batch(&lines(&["SET b 2"]), T0 + 10);
    let g = s.timeline().aof_groups(10, 0);
    let labels: Vec<(u64, &str, usize)> = g.iter().map(|g| (g.seq, g.label.as_str(), g.len)).collect();
    let set_a = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    let (incr, set_b) = ("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(labels, [(1, "SET a 1", set_a.len()), (1, "INCR n", incr.len()), (2, "SET b 2", set_b.len())], "reads append nothing");
    assert_eq!(g[0].bytes, set_a.as_bytes());
    assert_eq!(s.timeline().aof_total(), (set_a.len() + incr.len() + set_b.len()) as u64);
    assert_eq!(s.timeline().aof_groups(10, 1).len(), 1, "after input 1: only SET b");
    assert_eq!(s.timeline().aof_groups(2, 0).len(), 2, "the last two");
    s.seek(1);
    assert_eq!(s.timeline().aof_groups(10, 0).len(), 2, "the past: before SET b");
    assert_eq!(s.timeline().aof_total(), (set_a.len() + incr.len()) as u64);
    s.live();

    let (out, sc) = play_scenario("SET k v\ntick 1100\nexpect @layers appendonly.aof.1.incr.aof => written 50, on disk 50\n", None);
    assert_eq!(out[2].passed, Some(true), "{:?}", out[2]);
    let g = sc.timeline().aof_groups(10, 0);
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!((g[0].label.as_str(), g[0].len), ("SET k v", 50));
}

/// The slider's sentence: what the input at the position was, and the last crash before it.
#[test]
fn the_position_says_what_its_input_was_and_after_which_crash() {
    let mut s = session();
    assert_eq!(s.timeline().position_json(), r#"{"at":null,"after":null}"#);
    s.execute_batch(&lines(&["SET a 1"]), T0);
    s.crash("power", T0 + 5).unwrap();
    s.execute_batch(&lines(&["SET c 3"]), T0 + 10);
    assert_eq!(s.timeline().position_json(), r#"{"at":{"kind":"lines","text":"SET c 3","origin":"user"},"after":"power loss"}"#);
    let m = s.marks_json(0);
    assert!(m.contains(&format!(r#""t0":{T0},"next_branch":1,"context":{{"at":{{"kind":"lines""#)), "{m}");
    s.seek(1);
    assert_eq!(s.timeline().position_json(), r#"{"at":{"kind":"lines","text":"SET a 1","origin":"user"},"after":null}"#);
}

/// Playing the past forward sees inputs given at the same instant one after the other.
#[test]
fn replaying_is_capped_in_inputs_as_well_as_in_time() {
    let mut s = session();
    for i in 0..5 {
        s.execute_batch(&lines(&[&format!("SET k{i} {i}")]), T0);
    }
    s.execute_batch(&lines(&["SET late 1"]), T0 + 1000);
    s.seek(0);
    assert_eq!(s.replay_until(T0, 1), 1);
    assert_eq!(s.position(), 1);
    assert_eq!(s.replay_until(T0, 100), 4, "up to the time, not past it");
    assert_eq!(s.replay_until(T0 + 2000, 100), 1);
    assert_eq!(s.replay_until(T0 + 3000, 100), 0, "at the head nothing happens");
}

/// A scenario's steps in the console: its commands as typed, its checks with what came, its
/// narration and predictions left to its panel.
#[test]
fn the_console_shows_a_scenarios_commands_and_checks_not_its_narration() {
    let (_, s) = play_scenario("say Hello.\nSET k v\npredict \"Where?\" | here | there\nexpect GET k => \"v\"\n", Some(0));
    let view: Vec<(&str, String, Vec<String>)> = s.timeline().console(10).into_iter().map(|e| (e.kind, e.text, e.replies)).collect();
    assert_eq!(
        view,
        [("command", "SET k v".to_string(), vec!["OK".to_string()]), ("scenario", "GET k => \"v\"".to_string(), vec!["\"v\"".to_string()])]
    );
    assert!(s.timeline().console(10).iter().all(|e| e.origin == crate::lab::input::Origin::Scenario));
}

/// A clock that moves 3 ms per reading.
fn three_ms_per_reading() -> u64 {
    static NOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NOW.fetch_add(3_000, std::sync::atomic::Ordering::Relaxed) + 3_000
}

/// The host's clock times the lab's loads, which the views show (the start-up log, the crash
/// report, the events); the timeline records a crash as a replay gives it (0.000: a replay
/// measures its own time), so going back and forth over a crash replays the same outputs.
#[test]
fn load_times_are_the_hosts_in_the_views_and_untimed_on_the_timeline() {
    let host = Host { load_clock: Some(three_ms_per_reading), ..Host::default() };
    let mut s = Session::memory(&settings(&[("appendonly", "yes"), ("appendfsync", "always")]), 5, T0, host).unwrap();
    s.execute_batch(&lines(&["SET a 1"]), T0 + 10);
    let answered = s.crash("kill", T0 + 20).unwrap();
    assert!(answered.log.contains(&"* DB loaded from append only file: 0.000 seconds".to_string()), "{:?}", answered.log);
    let shown = s.lab().last_crash.clone().unwrap();
    assert!(shown.log.contains(&"* DB loaded from append only file: 0.015 seconds".to_string()), "{:?}", shown.log);
    assert!(s.lab_mut().snapshot().contains("DB loaded from append only file: 0.015 seconds"), "the start-up log");
    assert_eq!(shown.untimed(), *answered);
    assert!(s.lab().events_json(0).contains("DB loaded from incr file appendonly.aof.1.incr.aof: 0.003 seconds"));
    // A replay (here of the shared recording, which has no clock) records the same outputs.
    let (other, replay) = Session::from_recording(&s.recording(), None, Host::default()).unwrap();
    assert_eq!(replay.digest_matches, Some(true));
    let outputs = |s: &Session| s.timeline().inputs().iter().map(|r| r.output.clone()).collect::<Vec<_>>();
    assert_eq!(outputs(&other), outputs(&s));
}

/// A program's calls on the wire (`Engine.call`): its own reply, or pending while it blocks and
/// then among the `earlier` replies of the call that released it; the console's lines apart.
#[test]
fn calls_on_the_wire_and_lines_on_the_console() {
    let mut s = session();
    let argv = |line: &str| crate::resp::split_args(line.as_bytes()).unwrap();
    assert_eq!(s.call(&argv("SET k v"), T0), Call { own: Some(Reply::ok()), earlier: vec![], pending: false });
    let blocked = s.call(&argv("BLPOP q 0"), T0 + 1);
    assert_eq!((blocked.own, blocked.pending), (None, true));
    assert_eq!(s.execute_line("RPUSH q x", T0 + 2), "(integer) 1");
    assert!(String::from_utf8_lossy(&s.take_appended()).contains("RPUSH"), "a console line's bytes wait to be taken");
    let next = s.call(&argv("GET k"), T0 + 3);
    assert_eq!(next.own, Some(Reply::bulk("v")));
    assert_eq!(next.earlier, [Reply::Array(vec![Reply::bulk("q"), Reply::bulk("x")])]);
    assert!(!s.step_forward(), "at the head");
    s.seek(1);
    assert!(s.step_forward());
    assert_eq!(s.position(), 2);
}

/// The second console is a client of its own: it subscribes and hears what the first console
/// publishes (at once), and what it publishes reaches the first console with the next tick.
/// Its lines are inputs: a recording replays them to the same state.
#[test]
fn the_second_console_hears_what_the_first_publishes() {
    let mut s = session();
    let sub = s.execute_second(&lines(&["SUBSCRIBE news"]), T0 + 10);
    assert_eq!(sub, ["1) \"subscribe\"\n2) \"news\"\n3) (integer) 1"]);
    // Subscribed (RESP2): only pub/sub commands and PING run there.
    let refused = s.execute_second(&lines(&["GET k"]), T0 + 20);
    assert_eq!(
        refused,
        ["(error) ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"]
    );
    assert_eq!(s.execute_batch(&lines(&["PUBLISH news hello"]), T0 + 30)[0].0, ["(integer) 1"]);
    assert_eq!(s.take_second(), ["1) \"message\"\n2) \"news\"\n3) \"hello\""]);
    assert!(s.take_second().is_empty());
    // The other way round: the first console listens to a pattern, the second publishes.
    s.execute_batch(&lines(&["PSUBSCRIBE n*"]), T0 + 40);
    assert_eq!(s.execute_second(&lines(&["UNSUBSCRIBE", "PUBLISH news again"]), T0 + 50).len(), 2);
    let a = s.advance(T0 + 200);
    assert_eq!(a.replies, ["1) \"pmessage\"\n2) \"n*\"\n3) \"news\"\n4) \"again\""]);
    assert!(kinds(&s).contains(&"second"));
    // Nothing of it is in the AOF.
    assert!(!String::from_utf8_lossy(&s.take_appended()).to_ascii_lowercase().contains("publish"));
    let (other, replay) = Session::from_recording(&s.recording(), None, Host::default()).unwrap();
    assert_eq!(replay.digest_matches, Some(true), "{replay:?}");
    assert_eq!(kinds(&other), kinds(&s));
}

/// A real clock, in µs.
fn real_clock() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_micros() as u64
}

/// FUNCTION LOAD stops a library's top level after 500 ms on the host's script clock; a
/// replay lends one too, so a recording holding such a load replays (it would loop forever
/// without) to the same outputs.
#[test]
fn a_library_stopped_at_its_time_limit_replays() {
    let host = Host { script_clock: Some(real_clock), ..Host::default() };
    let mut s = Session::memory(&settings(&[("appendonly", "yes")]), 5, T0, host.clone()).unwrap();
    let load = "FUNCTION LOAD \"#!lua name=spin\nwhile true do end\"";
    let (replies, _) = s.execute_batch(&lines(&[load, "SET a 1"]), T0 + 10).remove(0);
    assert_eq!(replies, ["(error) ERR Error registering functions: ERR FUNCTION LOAD timeout"]);
    let (other, replay) = Session::from_recording(&s.recording(), None, host).unwrap();
    assert_eq!(replay.digest_matches, Some(true));
    let outputs = |s: &Session| s.timeline().inputs().iter().map(|r| r.output.clone()).collect::<Vec<_>>();
    assert_eq!(outputs(&other), outputs(&s));
}
