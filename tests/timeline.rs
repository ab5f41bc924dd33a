//! The lab's timeline (`src/lab/timeline.rs`): a lab reached by seeking (a checkpoint restored,
//! recorded inputs replayed) is the lab that lived through those inputs: same snapshot JSON
//! (files and layers, manifest, INFO persistence, rewrite and RDB views, crash report), same
//! events, same INFO (every section), same DEBUG DIGEST, same bytes in every file, same console.
//! Seeded random workloads over every kind of input: console batches, RESP on the wire, ticks,
//! crashes of each kind, restarts, faults, rewrites stepped and instant, BGSAVE, settings, the
//! 6.2 mode, scenario steps, marks and predictions.
#![cfg(not(target_arch = "wasm32"))]

use aof_lab::keyspace::digest::hex;
use aof_lab::lab::Host;
use aof_lab::lab::input::{Action, Answer, Origin};
use aof_lab::lab::recording::{Recording, state_digest};
use aof_lab::lab::timeline::{FORK, Timeline};

mod timeline_support;
use timeline_support::*;

/// Plays `n` random inputs live and keeps what was seen after each.
fn play(settings: &[(String, String)], seed: u64, n: usize, every: usize) -> (Timeline, Vec<Seen>, fastrand::Rng) {
    let mut tl = Timeline::new(settings, seed, T0).unwrap();
    tl.set_checkpoint_every(every);
    let mut rng = fastrand::Rng::with_seed(seed);
    let lived = play_on(&mut tl, &mut rng, n);
    (tl, lived, rng)
}

#[test]
fn seeks_give_the_lab_that_lived_the_inputs_70_always() {
    let (mut tl, lived, mut rng) = play(&settings(&[("appendonly", "yes"), ("appendfsync", "always")]), 1, 500, 11);
    check_every_seek(&mut tl, &lived, &mut rng);
}

#[test]
fn seeks_give_the_lab_that_lived_the_inputs_70_everysec_stepped_rewrites() {
    let s = settings(&[("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "2")]);
    let (mut tl, lived, mut rng) = play(&s, 2, 500, 7);
    check_every_seek(&mut tl, &lived, &mut rng);
}

#[test]
fn seeks_give_the_lab_that_lived_the_inputs_62_mode() {
    let s = settings(&[("appendonly", "yes"), ("lab-aof-mode", "6.2"), ("lab-rewrite-keys-per-tick", "1"), ("appendfsync", "no")]);
    let (mut tl, lived, mut rng) = play(&s, 3, 500, 13);
    check_every_seek(&mut tl, &lived, &mut rng);
}

#[test]
fn seeks_give_the_lab_that_lived_the_inputs_aof_off_with_save_points() {
    let s = settings(&[("appendonly", "no"), ("save", "1 1")]);
    let (mut tl, lived, mut rng) = play(&s, 4, 400, 9);
    check_every_seek(&mut tl, &lived, &mut rng);
}

/// The workloads above really cover what they claim (so that their passing means something).
#[test]
fn the_random_workloads_reach_every_kind_of_event() {
    let mut all = 0;
    for (seed, s) in [
        (1, settings(&[("appendonly", "yes"), ("appendfsync", "always")])),
        (2, settings(&[("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "2")])),
        (3, settings(&[("appendonly", "yes"), ("lab-aof-mode", "6.2"), ("lab-rewrite-keys-per-tick", "1"), ("appendfsync", "no")])),
    ] {
        let mut tl = Timeline::new(&s, seed, T0).unwrap();
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut t = T0;
        for _ in 0..500 {
            let (dt, action) = input(&mut rng);
            t += dt;
            tl.apply(t, action, Origin::User);
        }
        all |= tl.marks().iter().fold(0, |a, m| a | m.flags);
    }
    let names = aof_lab::lab::input::flags::names(all);
    for want in [
        "write",
        "fsync",
        "rewrite",
        "rewrite_start",
        "rdb",
        "crash",
        "refused",
        "exited",
        "fault",
        "restart",
        "scenario",
        "mark",
        "config",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
}

#[test]
fn acting_in_the_past_forks_and_a_branch_can_be_returned_to() {
    let s = settings(&[("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "1")]);
    let (mut tl, lived_a, mut rng) = play(&s, 5, 120, 10);
    assert_eq!(tl.branches().len(), 1);
    // Scrubbing and playing forward replay the recorded future: no branch.
    tl.seek(40);
    let recorded = tl.inputs()[40].output.clone();
    assert_eq!(tl.step_forward(), Some(&recorded));
    assert_seen(&mut tl, &lived_a, 41, "play forward");
    assert_eq!(tl.branches().len(), 1);

    // Acting at 60 forks: the old future is kept as branch 1.
    tl.seek(60);
    let mut lived_b = lived_a[..=60].to_vec();
    let mut t = tl.now();
    for _ in 0..30 {
        let (dt, action) = input(&mut rng);
        t += dt;
        tl.apply(t, action, Origin::User);
        lived_b.push(seen(&mut tl));
    }
    let branches = tl.branches();
    assert_eq!(branches.len(), 2, "{branches:?}");
    let old = branches.iter().find(|b| !b.current).unwrap();
    assert_eq!((old.id, old.parent, old.fork_seq, old.diverges_at, old.head_seq), (1, Some(0), 60, 60, 120));
    assert_eq!(tl.head().0, 90);
    assert!(tl.marks().iter().any(|m| m.seq == 60 && m.flags & FORK != 0), "the fork is marked");
    assert!(tl.checkpoints().0.contains(&60), "a checkpoint is pinned at the fork point");

    // Back to the old future: the position moves to where the lines part, and its head is the
    // lab as it lived.
    tl.seek(75);
    tl.switch_branch(1).unwrap();
    assert_eq!((tl.current_branch(), tl.position(), tl.head().0), (1, 60, 120));
    assert_seen(&mut tl, &lived_a, 60, "the shared fork point");
    tl.seek(120);
    assert_seen(&mut tl, &lived_a, 120, "the old head");
    tl.seek(90);
    assert_seen(&mut tl, &lived_a, 90, "inside the old future");
    // Within the shared prefix the position stays.
    tl.seek(20);
    tl.switch_branch(0).unwrap();
    assert_eq!(tl.position(), 20);
    assert_seen(&mut tl, &lived_b, 20, "shared prefix");
    tl.seek(90);
    assert_seen(&mut tl, &lived_b, 90, "the new head");

    // A fork of a fork: acting at 30 on branch 0 keeps branch 0's line as branch 2.
    tl.seek(30);
    tl.apply(tl.now(), Action::Lines(vec!["SET forked 1".into()]), Origin::User);
    assert_eq!(tl.branches().len(), 3);
    tl.switch_branch(2).unwrap();
    tl.seek(90);
    assert_seen(&mut tl, &lived_b, 90, "branch 2 is branch 0 as it was");
    tl.switch_branch(1).unwrap();
    tl.seek(120);
    assert_seen(&mut tl, &lived_a, 120, "branch 1 still replays");

    // Discarding a branch forgets it and the checkpoints only it used.
    assert!(tl.discard_branch(1).is_err(), "not the current one");
    tl.switch_branch(0).unwrap();
    let (_, before) = tl.checkpoints();
    tl.discard_branch(1).unwrap();
    tl.discard_branch(2).unwrap();
    let (_, after) = tl.checkpoints();
    assert!(after < before, "{after} < {before}");
    assert_eq!(tl.branches().len(), 1);
    assert!(tl.marks().iter().all(|m| m.flags & FORK == 0));
    assert!(tl.switch_branch(1).is_err());
    tl.seek(0);
    assert_seen(&mut tl, &lived_a, 0, "the start survives everything");
}

#[test]
fn time_never_goes_back_and_step_forward_stops_at_the_head() {
    let mut tl = Timeline::new(&settings(&[("appendonly", "yes")]), 9, T0).unwrap();
    tl.apply(T0 + 500, Action::Tick, Origin::User);
    tl.apply(T0 + 100, Action::Lines(vec!["SET k v PX 1000".into()]), Origin::User);
    assert_eq!(tl.inputs()[1].input.t, T0 + 500, "clamped to the previous input");
    // A scenario step that lets time pass moves the clock past its own t.
    tl.apply(T0 + 600, Action::Scenario { index: 0, step: "tick 2000".into() }, Origin::Scenario);
    assert_eq!(tl.now(), T0 + 2600);
    assert_eq!(tl.head(), (3, T0 + 2600));
    tl.apply(T0 + 700, Action::Lines(vec!["GET k".into()]), Origin::User);
    assert_eq!(tl.inputs()[3].output.answer, Answer::Lines(vec![(vec!["(nil)".into()], vec![])]), "the key expired at T0+1500");
    assert!(tl.step_forward().is_none());
    tl.seek_time(T0 + 550);
    assert_eq!(tl.position(), 2);
    // K from the host's timing of a seek: 1 input replayed (from the checkpoint the scenario
    // step left at 3) in 0.01 ms, a 30 ms budget.
    tl.seek(4);
    assert_eq!(tl.last_replayed(), 1);
    tl.tune_checkpoint_every(0.01, 30.0);
    assert_eq!(tl.checkpoint_every(), 3000);
    tl.seek(4);
    tl.tune_checkpoint_every(5.0, 30.0);
    assert_eq!(tl.checkpoint_every(), 3000, "a seek that replayed nothing changes nothing");
}

#[test]
fn random_choices_depend_on_the_seed_and_the_input_number_only() {
    let draw = |seed: u64, filler: usize| {
        let mut tl = Timeline::new(&settings(&[("appendonly", "yes")]), seed, T0).unwrap();
        tl.apply(T0, Action::Lines(vec!["SADD s a b c d e f g h i j k l m n o p".into()]), Origin::User);
        for _ in 0..filler {
            tl.apply(T0, Action::Mark("x".into()), Origin::User);
        }
        let out = tl.apply(T0, Action::Lines(vec!["SRANDMEMBER s 5".into(), "SPOP s 3".into(), "RANDOMKEY".into()]), Origin::User);
        format!("{:?}", out.answer)
    };
    assert_eq!(draw(1, 0), draw(1, 0), "same seed, same inputs");
    assert_ne!(draw(1, 0), draw(2, 0), "another seed draws other members");
    assert_ne!(draw(1, 0), draw(1, 1), "another input number draws other members");
    // The same input at the same place on another branch draws the same members.
    let mut tl = Timeline::new(&settings(&[("appendonly", "yes")]), 7, T0).unwrap();
    tl.apply(T0, Action::Lines(vec!["SADD s a b c d e f g h i j".into()]), Origin::User);
    let spop = Action::Lines(vec!["SPOP s 4".into()]);
    let first = tl.apply(T0, spop.clone(), Origin::User).clone();
    tl.apply(T0, Action::Tick, Origin::User);
    tl.seek(1);
    assert_eq!(tl.apply(T0, spop, Origin::User), &first);
}

#[test]
fn checkpoints_are_thinned_to_the_cap_but_keep_fork_points_and_marks() {
    let s = settings(&[("appendonly", "yes"), ("appendfsync", "always")]);
    let mut tl = Timeline::new(&s, 11, T0).unwrap();
    tl.set_checkpoint_every(5);
    tl.set_checkpoint_cap(3_000_000);
    let mut t = T0;
    let mut digests = vec![hex(&state_digest(tl.lab_mut()))];
    let mut mark_at = 0;
    for i in 0..1500u64 {
        t += 10;
        let action = if i == 200 {
            mark_at = i + 1;
            Action::Mark("keep me".into())
        } else if i % 3 == 0 {
            Action::Tick
        } else {
            Action::Lines(vec![format!("SET k{} {}", i % 50, "v".repeat((i % 40) as usize))])
        };
        tl.apply(t, action, Origin::User);
        digests.push(hex(&state_digest(tl.lab_mut())));
        if i == 700 {
            // A fork at 650 (and back to the old line) pins 650.
            tl.seek(650);
            tl.apply(t, Action::Lines(vec!["SET other 1".into()]), Origin::User);
            tl.switch_branch(1).unwrap();
            tl.seek(701);
        }
    }
    let (cps, bytes) = tl.checkpoints();
    eprintln!("{bytes} bytes in {} checkpoints: {cps:?}", cps.len());
    assert!(bytes <= 3_000_000, "{bytes} bytes in {} checkpoints", cps.len());
    for pinned in [0, mark_at, 650] {
        assert!(cps.contains(&pinned), "{pinned} in {cps:?}");
    }
    // Dense near the head, sparse in the distant past.
    let head = tl.head().0;
    let near = cps.iter().filter(|&&p| p + 150 >= head).count();
    let far = cps.iter().filter(|&&p| (300..450).contains(&p)).count();
    assert!(near > far, "near the head {near}, far {far}: {cps:?}");
    // Still exact.
    for p in [1500, 3, 333, 651, 1200, 1499, 0, 777] {
        tl.seek(p);
        assert_eq!(hex(&state_digest(tl.lab_mut())), digests[p as usize], "at {p}");
    }
}

/// A recording serialised, parsed and replayed on a fresh lab gives the same files byte for byte
/// (and says so with its digest); a changed recording says it does not.
#[test]
fn a_recording_replays_to_the_same_bytes_on_a_fresh_lab() {
    let s = settings(&[("appendonly", "yes"), ("appendfsync", "everysec"), ("lab-rewrite-keys-per-tick", "3")]);
    let (mut tl, lived, _) = play(&s, 12, 300, 17);
    // Some inputs the workload has no generator for: an import, then a scenario's steps.
    let mut t = tl.now();
    let aof = b"*3\r\n$3\r\nSET\r\n$8\r\nimported\r\n$1\r\n1\r\n".to_vec();
    tl.apply(t, Action::Import(vec![("appendonly.aof".into(), aof)]), Origin::User);
    for (i, step) in ["SET a 1", "tick 1500", "expect GET imported => \"1\"", "rewrite", "crash power"].iter().enumerate() {
        t += 1;
        tl.apply(t, Action::Scenario { index: i as u32, step: step.to_string() }, Origin::Scenario);
    }
    let head = tl.head().0;
    let want_files = files_of(tl.lab_mut());
    let want = seen(&mut tl);
    tl.seek(150);
    let rec = tl.recording();
    assert_eq!(tl.position(), 150, "the digest is taken at the head without moving the position");
    let bytes = rec.to_bytes();
    let parsed = Recording::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, rec);
    let mut replayed = Timeline::from_recording(&parsed, Host::default()).unwrap();
    assert_eq!((replayed.digest_matches, replayed.same_engine), (Some(true), true));
    assert_eq!(replayed.timeline.head().0, head);
    assert_eq!(files_of(replayed.timeline.lab_mut()), want_files, "every file, byte for byte");
    assert_eq!(seen(&mut replayed.timeline), want);
    replayed.timeline.seek(150);
    assert_seen(&mut replayed.timeline, &lived, 150, "a replayed recording seeks like the original");
    // A recording changed in one input does not reach the recorded state.
    let mut changed = parsed.clone();
    let i = changed.inputs.iter().position(|i| matches!(&i.action, Action::Lines(l) if l.iter().any(|l| l.starts_with("SET k")))).unwrap();
    changed.inputs[i].action = Action::Lines(vec!["SET k0 changed".into()]);
    assert_eq!(Timeline::from_recording(&changed, Host::default()).unwrap().digest_matches, Some(false));
    eprintln!("recording of {} inputs: {} bytes", rec.inputs.len(), bytes.len());
}

/// The console as it was, from the recorded outputs: the lines typed with their replies, late
/// replies, and the lab's actions with what they said.
#[test]
fn the_console_shows_what_was_typed_and_answered_at_the_position() {
    let mut tl = Timeline::new(&settings(&[("appendonly", "yes"), ("appendfsync", "always")]), 1, T0).unwrap();
    tl.apply(T0, Action::Lines(vec!["SET k v".into(), "BLPOP q 1".into(), "GET k".into()]), Origin::User);
    tl.apply(T0 + 1100, Action::Tick, Origin::User);
    tl.apply(T0 + 1200, Action::Crash("power".into()), Origin::User);
    tl.apply(T0 + 1300, Action::Config { name: "appendfsync".into(), value: "no".into() }, Origin::User);
    let console = tl.console(10);
    let view: Vec<(&str, &str, Vec<&str>)> =
        console.iter().map(|e| (e.kind, e.text.as_str(), e.replies.iter().map(String::as_str).collect())).collect();
    assert_eq!(view[0], ("command", "SET k v", vec!["OK"]));
    assert_eq!(view[1], ("command", "BLPOP q 1", vec![]), "blocked");
    assert_eq!(view[2], ("command", "GET k", vec![]), "queued behind the blocked command");
    assert_eq!(view[3], ("late", "", vec!["(nil)", "\"v\""]), "the timeout, then the queued GET");
    assert_eq!((view[4].0, view[4].1), ("crash", "crash power"));
    assert!(view[4].2.last() == Some(&"redis-server restarted"), "{:?}", view[4]);
    assert_eq!(view[5], ("config", "config appendfsync no", vec!["OK"]));
    tl.seek(1);
    assert_eq!(tl.console(10).len(), 3);
    assert!(
        tl.console_json(10)
            .starts_with(r#"[{"seq":1,"t":1700000000000,"origin":"user","kind":"command","text":"SET k v","replies":["OK"]}"#)
    );
    assert_eq!(tl.console(2).len(), 2, "the last entries");
}

/// A refused start, a setting given while the server is down (an edit of redis.conf for the next
/// start), the restart it allows; and the marks the slider shows for them.
#[test]
fn settings_while_down_apply_at_the_next_start_and_are_marked() {
    use aof_lab::lab::input::flags;
    let s = settings(&[("appendonly", "yes"), ("appendfsync", "no"), ("aof-load-truncated", "no")]);
    let mut tl = Timeline::new(&s, 1, T0).unwrap();
    tl.apply(T0, Action::Lines(vec!["SET a 1".into(), "SET b 2".into()]), Origin::User);
    let out = tl.apply(T0 + 10, Action::Crash("torn".into()), Origin::User);
    assert!(matches!(&out.answer, Answer::Crash(Ok(r)) if !r.started), "{out:?}");
    assert!(out.flags & flags::REFUSED != 0 && out.flags & flags::CRASH != 0);
    let out = tl.apply(T0 + 20, Action::Config { name: "aof-load-truncated".into(), value: "yes".into() }, Origin::User);
    assert_eq!(out.answer, Answer::Text(Ok("aof-load-truncated yes (for the next start)".into())));
    assert!(tl.lab().is_down().is_some());
    let out = tl.apply(T0 + 30, Action::Restart(vec![]), Origin::User);
    assert_eq!(out.answer, Answer::Started(Ok(true)));
    assert_eq!(out.flags & flags::REFUSED, 0);
    // A bad value is refused with Redis's reason, down or up.
    let out = tl.apply(T0 + 40, Action::Config { name: "appendfsync".into(), value: "sometimes".into() }, Origin::User);
    assert!(matches!(&out.answer, Answer::Text(Err(e)) if e.contains("argument")), "{out:?}");
    // Under always, a failing fsync makes redis-server exit.
    tl.apply(T0 + 50, Action::Config { name: "appendfsync".into(), value: "always".into() }, Origin::User);
    tl.apply(T0 + 60, Action::Fault { fault: "fsync-error".into(), n: 1 }, Origin::User);
    let out = tl.apply(T0 + 70, Action::Lines(vec!["SET c 3".into()]), Origin::User);
    assert!(out.flags & flags::EXITED != 0, "{out:?}");
    let marks: Vec<(u64, Vec<&str>)> = tl.marks().iter().map(|m| (m.seq, flags::names(m.flags))).collect();
    assert_eq!(marks[1], (2, vec!["crash", "refused"]), "{marks:?}");
    assert!(tl.marks_json().contains(r#"{"seq":2,"t":1700000000010,"flags":["crash","refused"]}"#), "{}", tl.marks_json());
}

/// Function libraries are data: they survive a rewrite (in the fork's snapshot), a power loss and
/// the restart that loads the base, and a seek anywhere gives the libraries the lab had there.
#[test]
fn function_libraries_survive_rewrites_crashes_and_seeks() {
    for preamble in ["yes", "no"] {
        let s = settings(&[("appendonly", "yes"), ("appendfsync", "always"), ("aof-use-rdb-preamble", preamble)]);
        let mut tl = Timeline::new(&s, 3, T0).unwrap();
        tl.set_checkpoint_every(2);
        let fcall = |tl: &mut Timeline| {
            let lab = tl.lab_mut();
            let c = lab.engine.connect();
            lab.engine.execute_line(c, "FCALL counter 1 n", T0).map(|r| r.to_resp()).unwrap_or_default()
        };
        let mut lived = vec![seen(&mut tl)];
        let mut t = T0;
        let inputs = [
            Action::Lines(vec![
                "FUNCTION LOAD \"#!lua name=lib\\nredis.register_function('counter', function(k) return redis.call('INCR', k[1]) end)\""
                    .into(),
            ]),
            Action::Lines(vec!["FCALL counter 1 n".into(), "BGREWRITEAOF".into()]),
            Action::Tick,
            Action::Lines(vec!["FUNCTION LOAD \"#!lua name=late\\nredis.register_function('late', function() return 7 end)\"".into()]),
            Action::Crash("power".into()),
            Action::Lines(vec!["FCALL late 0".into()]),
            Action::Lines(vec!["FUNCTION DELETE late".into()]),
        ];
        for action in inputs {
            t += 1000;
            tl.apply(t, action, Origin::User);
            lived.push(seen(&mut tl));
        }
        let base = if preamble == "yes" { "appendonly.aof.2.base.rdb" } else { "appendonly.aof.2.base.aof" };
        let files = files_of(tl.lab_mut());
        let at = files.iter().position(|f| f.ends_with(base.as_bytes())).unwrap_or_else(|| panic!("{base} written"));
        assert!(files[at + 1].windows(9).any(|w| w == b"name=lib\n"), "the base holds the library");
        tl.seek(5);
        assert_eq!(fcall(&mut tl), b":2\r\n", "{preamble}: after the power loss and restart");
        let libs = |tl: &mut Timeline| tl.lab_mut().engine.srv.scripting.functions.libraries.len();
        assert_eq!(libs(&mut tl), 2, "the late library was in the incr file");
        for pos in [0, 7, 1, 4, 6, 2, 5, 3] {
            tl.seek(pos);
            assert_seen(&mut tl, &lived, pos, preamble);
            assert_eq!(libs(&mut tl), [0, 1, 1, 1, 2, 2, 2, 1][pos as usize], "{preamble}: libraries at {pos}");
        }
    }
}
