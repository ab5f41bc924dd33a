//! The timeline's present on a real backend (`src/lab/timeline/present.rs`): here the native
//! file system in a temporary directory (OPFS and IndexedDB run the same in the browser tests,
//! `tests/wasm_storage.rs`). The head runs over a RAM mirror of the real files: after every input
//! the real files are the head's, byte for byte; scrubbing the past leaves them alone; acting in
//! the past rewrites them to that point's files and goes on from there; a reopen (a page reload)
//! starts on what they hold. The labs reached by seeking are the labs that lived the inputs,
//! over the mirror as over RAM.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::PathBuf;

use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::lab::Host;
use aof_lab::lab::input::{Action, Answer, Origin};
use aof_lab::lab::recording::Recording;
use aof_lab::lab::timeline::Timeline;
use aof_lab::storage::conformance::files;
use aof_lab::storage::tee::shared;
use aof_lab::storage::{FsStorage, Shared};

mod timeline_support;
use timeline_support::*;

fn tmp(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!("aof-lab-present-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A timeline on the directory's files, as the worker opens one on OPFS.
fn open(dir: &PathBuf, s: &[(String, String)], seed: u64, t0: i64) -> (Timeline, Shared) {
    let real = shared(Box::new(FsStorage::new(dir).unwrap()));
    let tl = Timeline::on_backend(
        real.clone(),
        s,
        seed,
        t0,
        aof_lab::lab::Host { durability: Some("files in a directory".into()), ..Default::default() },
    )
    .unwrap();
    (tl, real)
}

fn real_files(real: &Shared) -> BTreeMap<String, Vec<u8>> {
    files(&mut **real.borrow_mut())
}

fn lab_files(tl: &mut Timeline) -> BTreeMap<String, Vec<u8>> {
    files(tl.lab_mut().engine.srv.storage.as_mut())
}

fn always() -> Vec<(String, String)> {
    settings(&[("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "2")])
}

/// Random inputs of every kind on the mirror: the real files follow the head; every seek gives
/// the lab that lived the inputs (views, events, INFO, digest, files, console), as over RAM.
#[test]
fn the_real_files_follow_the_head_and_seeks_over_the_mirror_are_exact() {
    let dir = tmp("seeks");
    let (mut tl, real) = open(&dir, &always(), 21, T0);
    tl.set_checkpoint_every(9);
    let mut rng = fastrand::Rng::with_seed(21);
    let mut lived = vec![seen(&mut tl)];
    let mut t = T0;
    for _ in 0..300 {
        let (dt, action) = input(&mut rng);
        t += dt;
        tl.apply(t, action, Origin::User);
        lived.push(seen(&mut tl));
        assert_eq!(real_files(&real), lab_files(&mut tl), "after input {}", tl.position());
        assert_eq!(tl.present(), Some(tl.position()));
    }
    assert!(tl.mirror_error().is_none());
    let at_head = real_files(&real);
    check_every_seek(&mut tl, &lived, &mut rng);
    assert_eq!(real_files(&real), at_head, "scrubbing the past leaves the real files alone");
    assert_eq!(tl.present(), Some(300), "they hold the head");
    // The past runs over RAM, and shows the backend the lab opened on.
    tl.seek(100);
    assert!(tl.lab_mut().snapshot().contains(r#""backend":"fs""#));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Acting in the past makes that point the present: the real files are rewritten to its files
/// (the later ones deleted), the lab goes on from there, and a reopen starts on them.
#[test]
fn acting_in_the_past_rewrites_the_real_files_and_a_reopen_loads_the_new_present() {
    let dir = tmp("fork");
    let (mut tl, real) = open(&dir, &always(), 3, T0);
    let mut t = T0;
    for i in 0..40 {
        t += 100;
        tl.apply(t, Action::Lines(vec![format!("SET k{i} {i}")]), Origin::User);
        if i == 19 {
            // A rewrite: the later files have other names than the fork point's.
            tl.apply(t, Action::Lines(vec!["BGREWRITEAOF".into()]), Origin::User);
        }
        tl.apply(t + 50, Action::Tick, Origin::User);
    }
    let head = tl.head().0;
    tl.seek(20);
    let fork_files = lab_files(&mut tl);
    assert_ne!(real_files(&real), fork_files);
    assert_eq!(tl.present(), Some(head), "viewing the past: the files are the head's");
    let out = tl.apply(tl.now(), Action::Lines(vec!["SET forked yes".into()]), Origin::User);
    assert!(matches!(&out.answer, Answer::Lines(l) if l[0].0 == ["OK"]), "{out:?}");
    assert_eq!(tl.branches().len(), 2, "the old future is a branch");
    assert_eq!(tl.present(), Some(21));
    assert_eq!(real_files(&real), lab_files(&mut tl), "the real files are the new present's");
    assert!(fork_files.keys().all(|n| real_files(&real).contains_key(n)));
    let digest = hex(&dataset_digest(&tl.lab().engine.srv.dbs));
    let keys: Vec<String> = tl.lab_mut().execute_line("KEYS *", t).iter().map(|s| s.to_string()).collect();
    assert!(keys[0].contains("forked") && !keys[0].contains("k39"), "{keys:?}");

    // Back to the old branch's head: a view, the real files stay the new present's.
    tl.switch_branch(1).unwrap();
    tl.seek(head);
    assert_eq!(tl.present(), None, "the real files hold another branch");
    tl.switch_branch(0).unwrap();
    tl.seek(21);
    assert_eq!(tl.present(), Some(21));
    // Acting there again needs no rewrite; the files still follow.
    tl.apply(t, Action::Lines(vec!["SET after 1".into()]), Origin::User);
    assert_eq!(real_files(&real), lab_files(&mut tl));
    let digest_after = hex(&dataset_digest(&tl.lab().engine.srv.dbs));
    assert_ne!(digest, digest_after);
    drop(tl);
    drop(real);

    // A page reload: a new timeline on the same directory starts with those files.
    let (mut again, _real) = open(&dir, &always(), 4, t + 1000);
    assert_eq!(hex(&dataset_digest(&again.lab().engine.srv.dbs)), digest_after, "the reload loads the new present");
    assert_eq!(again.lab_mut().execute_line("GET forked", t + 1000), ["\"yes\""]);
    assert_eq!(again.lab_mut().execute_line("GET k39", t + 1000), ["(nil)"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recording of a lab that started on earlier files carries them: the replay on a fresh
/// memory machine reaches the same state, byte for byte.
#[test]
fn a_recording_of_a_lab_on_earlier_files_replays_on_memory() {
    let dir = tmp("rec");
    let (mut first, real) = open(&dir, &always(), 1, T0);
    first.apply(T0, Action::Lines(vec!["SET before 1".into(), "RPUSH l a b".into()]), Origin::User);
    drop(first);
    drop(real);
    let (mut tl, _real) = open(&dir, &always(), 2, T0 + 5000);
    assert!(tl.start_files().iter().any(|(n, _)| n == "appendonlydir/"), "{:?}", tl.start_files().iter().map(|f| &f.0).collect::<Vec<_>>());
    let mut rng = fastrand::Rng::with_seed(2);
    play_on(&mut tl, &mut rng, 120);
    let rec = tl.recording();
    let bytes = rec.to_bytes();
    let parsed = Recording::from_bytes(&bytes).unwrap();
    assert_eq!(parsed.files, tl.start_files());
    let mut replayed = Timeline::from_recording(&parsed, Host::default()).unwrap();
    assert_eq!(replayed.digest_matches, Some(true));
    assert_eq!(lab_files(&mut replayed.timeline), lab_files(&mut tl));
    replayed.timeline.seek(0);
    assert_eq!(replayed.timeline.lab_mut().execute_line("GET before", T0), ["\"1\""], "the start's files");
    // Without them, the replay starts empty and says it did not reach the recorded state.
    let bare = Recording { files: vec![], ..parsed };
    assert_eq!(Timeline::from_recording(&bare, Host::default()).unwrap().digest_matches, Some(false));
    let _ = std::fs::remove_dir_all(&dir);
}
