//! The session as the worker drives it: simulated time, stepping, forks said, marks by
//! increments, recordings, and a real backend under it (the native file system).

use super::*;
use crate::storage::conformance::files;
use crate::storage::tee::shared;

const T0: i64 = 1_700_000_000_000;

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn session() -> Session {
    Session::memory(&settings(&[("appendonly", "yes"), ("appendfsync", "everysec")]), 7, T0, |_| {}).unwrap()
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
    let (mut other, replay) = Session::from_recording(&bytes, Some(5)).unwrap();
    assert_eq!(replay, Replay { digest_matches: Some(true), same_engine: true, inputs: s.timeline().head().0 });
    assert_eq!(other.position(), 5);
    assert_eq!(other.state_digest(), at5);
    other.live();
    s.live();
    assert_eq!(other.state_digest(), s.state_digest());
    assert!(Session::from_recording(b"garbage", None).is_err());
}

/// On a real backend (a directory): the files follow the head, a fork rewrites them.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_session_on_a_directory_keeps_its_files_as_the_present() {
    let dir = std::env::temp_dir().join(format!("aof-lab-session-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let real = shared(Box::new(crate::storage::FsStorage::new(&dir).unwrap()));
    let mut s =
        Session::on_backend(real.clone(), &settings(&[("appendonly", "yes")]), 1, T0, |lab| lab.backend_notes = vec!["a note".into()])
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
    let mut s = Session::memory(&settings(&[("appendonly", "yes"), ("appendfsync", "no")]), 3, T0, |_| {}).unwrap();
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
    let (mut other, replay) = Session::from_recording(&bytes, None).unwrap();
    assert_eq!(replay.digest_matches, Some(true));
    assert_eq!(other.state_digest(), head);
}
