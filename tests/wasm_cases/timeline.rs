//! The facade's timeline in the browser: every input recorded, the lab at any earlier point as
//! it lived (its state digest: files byte for byte, their layers, the data), a fork in the past
//! with its branch kept, a recording replayed to the same digest; and on the browser backend the
//! ladder picks (OPFS in a worker, IndexedDB in a window), a fork rewrites the real files, which
//! a new engine on the namespace (a page reload) finds.

use super::{NOW, console, engine, error_message, field, json, obj};
use aof_lab::wasm::WasmEngine;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn digest(e: &mut WasmEngine) -> String {
    e.state_digest()
}

/// Runs one line and returns (position, digest) right after it.
fn lived(e: &mut WasmEngine, line: &str, want: &str) -> (f64, String) {
    assert_eq!(e.execute_line(line, NOW), want, "{line}");
    (e.position(), digest(e))
}

#[wasm_bindgen_test]
fn seek_back_fork_branches_and_a_recording_round_trip() {
    let mut e = engine(r#"{"appendonly":true,"appendfsync":"always"}"#);
    let start = digest(&mut e);
    let a = lived(&mut e, "SET a 1", "OK");
    let b = lived(&mut e, "SADD s x y z w", "(integer) 4");
    // Random draws are the recording's: a replay draws the same member.
    let popped = e.execute_line("SPOP s", NOW);
    let c = (e.position(), digest(&mut e));
    // serverCron every 100 ms of simulated time, each tick an input.
    let adv = e.advance(NOW + 1000.0);
    assert_eq!(field(&adv, "ticks").as_f64(), Some(10.0));
    assert_eq!(e.head(), c.0 + 10.0);

    // Back in time: each point is the lab as it lived.
    e.seek(b.0);
    assert_eq!((e.position(), digest(&mut e)), b);
    assert!(e.step_back());
    assert_eq!((e.position(), digest(&mut e)), a);
    assert_eq!(field(&json(&e.snapshot()), "keys").as_f64(), Some(1.0), "the snapshot is the past lab's");
    e.seek(0.0);
    assert_eq!(digest(&mut e), start);
    assert!(!e.step_back());
    assert!(e.step_forward());
    assert_eq!((e.position(), digest(&mut e)), a);
    e.seek(c.0);
    assert_eq!(digest(&mut e), c.1);
    let console_then = json(&e.console_json(10));
    assert_eq!(js_sys::Array::from(&console_then).length(), 3);

    // Acting in the past forks; the later history is branch 1.
    e.seek(a.0);
    assert_eq!(e.take_fork(), None);
    assert_eq!(console(&mut e, &["SMEMBERS s"]), ["(empty array)"]);
    assert_eq!(e.take_fork(), Some(1));
    assert_eq!(e.head(), a.0 + 1.0);
    let branches = json(&e.branches_json());
    assert_eq!(js_sys::Array::from(&branches).length(), 2);
    let marks = e.marks_json(0.0);
    assert!(marks.contains(r#""flags":["write","fsync","fork"]"#), "{marks}");
    e.switch_branch(1).unwrap_or_else(|err| panic!("{}", error_message(err)));
    e.live();
    assert_eq!(e.position(), c.0 + 10.0);
    e.seek(c.0);
    assert_eq!(digest(&mut e), c.1, "the old future, as it lived");
    assert!(e.discard_branch(1).is_err(), "not the current one");

    // The recording replays to the same state, at the same position.
    let bytes = e.recording();
    let mut other = WasmEngine::from_recording(&bytes, obj(&[("position", JsValue::from_f64(c.0))]))
        .unwrap_or_else(|err| panic!("{}", error_message(err)));
    let replay = json(&other.replay());
    assert_eq!(field(&replay, "digest_matches").as_bool(), Some(true));
    assert_eq!(field(&replay, "inputs").as_f64(), Some(c.0 + 10.0));
    assert_eq!(other.position(), c.0);
    assert_eq!(digest(&mut other), c.1);
    other.live();
    assert_eq!(console(&mut other, &["SMEMBERS s"]).concat().matches('"').count(), 6, "three members left");
    assert!(!popped.is_empty());
    // A damaged recording is refused; a changed one replays and says it differs.
    assert!(WasmEngine::from_recording(b"not a recording", JsValue::UNDEFINED).is_err());
    let mut changed = bytes.clone();
    let at = changed.windows(7).position(|w| w == b"SET a 1").expect("the line is in the recording");
    changed[at + 6] = b'7';
    let changed = WasmEngine::from_recording(&changed, JsValue::UNDEFINED).unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(field(&json(&changed.replay()), "digest_matches").as_bool(), Some(false));
}

/// On OPFS (worker) or IndexedDB (window): the head mirrors the real files; a fork in the past
/// rewrites them to that point; a new engine on the namespace finds the forked present.
#[wasm_bindgen_test]
async fn a_fork_on_the_browser_backend_is_what_a_reload_finds() {
    let namespace = format!("facade-fork-{}", js_sys::Math::random().to_bits());
    let config = || obj(&[("appendonly", JsValue::TRUE), ("appendfsync", "always".into())]);
    let open = || WasmEngine::open(obj(&[("backend", "auto".into()), ("namespace", namespace.as_str().into()), ("config", config())]), NOW);
    let mut e = open().await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    let backend = e.backend();
    assert_ne!(backend, "memory");
    let a = lived(&mut e, "SET a 1", "OK");
    lived(&mut e, "SET b 2", "OK");
    lived(&mut e, "SET c 3", "OK");
    // Viewing the past changes nothing on disk.
    e.seek(a.0);
    assert_eq!(field(&json(&e.marks_json(0.0)), "present").as_f64(), Some(a.0 + 2.0), "{backend}: the files are the head's");
    assert_eq!(console(&mut e, &["SET x 9"]), ["OK"]);
    assert_eq!(e.take_fork(), Some(1));
    assert_eq!(field(&json(&e.marks_json(0.0)), "present").as_f64(), Some(a.0 + 1.0), "{backend}: now the fork's");
    assert!(e.mirror_error().is_none());
    wasm_bindgen_futures::JsFuture::from(e.durable()).await.expect("committed");
    drop(e);
    let mut again = open().await.unwrap_or_else(|err| panic!("{}", error_message(err)));
    assert_eq!(console(&mut again, &["MGET a b c x"]), ["1) \"1\"\n2) (nil)\n3) (nil)\n4) \"9\""], "{backend}: the reload loads the fork");
    drop(again);
    aof_lab::storage::browser::delete_namespace(&backend, &namespace).await.expect("cleanup");
}
