//! The write path as the diagram receives it: the turn traces under each policy, the slow
//! disk (postponed and delayed writes), where each write's bytes are, `lost_if` following a
//! policy change, the reveal after a prediction, and `lab-fsync-latency-ms`.

use super::*;

/// A whole second, so that everysec's "once per second" is easy to follow.
const T0: i64 = 1_700_000_000_000;

fn lab(policy: &str, settings: &[(&str, &str)]) -> Lab {
    let mut c = Config::default();
    c.set("appendonly", "yes", true).unwrap();
    c.set("appendfsync", policy, true).unwrap();
    for (k, v) in settings {
        c.set(k, v, true).unwrap();
    }
    memory_lab(c, T0)
}

fn last_turn(l: &Lab) -> TurnTrace {
    l.machine.last.as_deref().cloned().expect("a turn was traced")
}

fn place_of_last(l: &mut Lab) -> &'static str {
    let layers = l.file_layers();
    let t = l.machine.recent.back().cloned().unwrap();
    l.place_of(&t, layers.as_deref())
}

#[test]
fn a_turn_shows_each_command_as_typed_and_as_propagated() {
    let mut l = lab("always", &[]);
    let lines: Vec<String> =
        ["SET k v", "EXPIRE k 100", "SADD s a", "SPOP s", "SET e x EX 100", "GET k"].iter().map(|s| s.to_string()).collect();
    l.execute_batch(&lines, T0 + 5);
    let t = last_turn(&l);
    let typed: Vec<&str> = t.commands.iter().map(|c| c.typed.as_str()).collect();
    assert_eq!(typed, ["SET k v", "EXPIRE k 100", "SADD s a", "SPOP s", "SET e x EX 100", "GET k"]);
    let text = |i: usize| t.commands[i].records().iter().filter(|r| r.write).map(|r| r.text.clone()).collect::<Vec<_>>();
    assert_eq!(text(1), [format!("PEXPIREAT k {}", T0 + 5 + 100_000)]);
    assert_eq!(text(3), ["SREM s a"]);
    assert_eq!(text(4), [format!("SET e x PXAT {}", T0 + 5 + 100_000)]);
    assert!(t.commands[5].records().is_empty() && t.commands[5].reply == "\"v\"", "a read propagates nothing");
    assert_eq!(t.commands[0].records()[0].text, "SELECT 0", "the first write of a file selects its db");
    assert_eq!(t.commands[1].records()[0].keys, ["k"]);
    // One write() for the turn, then an fsync in the main thread, then the replies.
    assert_eq!(t.writes.len(), 1);
    assert_eq!((t.writes[0].at, t.writes[0].offset), ("beforeSleep", 0));
    assert_eq!(t.writes[0].bytes, t.commands.iter().map(|c| c.len).sum::<u64>());
    assert_eq!((t.fsync.kind, t.released), ("always", "fsync"));
    assert_eq!(place_of_last(&mut l), "disk");
    // The wire connection is traced too, its command as sent.
    l.execute_resp(b"*3\r\n$3\r\nSET\r\n$1\r\nw\r\n$3\r\na b\r\n", T0 + 6);
    let t = last_turn(&l);
    assert_eq!((t.commands[0].source, t.commands[0].typed.as_str()), ("wire", "SET w \"a b\""));
}

#[test]
fn everysec_queues_the_fsync_to_the_bio_thread_and_releases_after_write() {
    let mut l = lab("everysec", &[("lab-fsync-latency-ms", "1500")]);
    l.execute_line("SET a 1", T0 + 1_000);
    let t = last_turn(&l);
    assert_eq!((t.fsync.kind, t.fsync.start_ms, t.fsync.done_ms), ("bio", T0 + 1_000, T0 + 2_500));
    assert_eq!(t.released, "write", "the reply leaves before the background fsync");
    assert_eq!(place_of_last(&mut l), "page_cache");
    let json = l.machine_json();
    assert!(json.contains(&format!("\"bio\":{{\"file\":\"appendonlydir/appendonly.aof.1.incr.aof\",\"done_ms\":{}", T0 + 2_500)), "{json}");
    assert!(l.lost_if("power").writes.iter().any(|w| w.text == "SET a 1" && w.place == "page_cache"));
    l.tick(T0 + 2_500);
    let t = last_turn(&l);
    assert!(t.bio_done.is_some(), "{t:?}");
    assert_eq!(place_of_last(&mut l), "disk");
    assert!(l.lost_if("power").writes.is_empty());
    assert!(l.machine_json().contains("\"bio\":null"));
}

#[test]
fn a_slow_fsync_postpones_the_write_then_writes_without_waiting() {
    let mut l = lab("everysec", &[]);
    l.set_fsync_latency(5_000, T0);
    assert!(l.events_json(0).contains("lab-fsync-latency-ms 5000"));
    l.execute_line("SET a 1", T0 + 1_000);
    assert_eq!(last_turn(&l).fsync.kind, "bio");
    // The next second: the fsync still runs, so the write waits in aof_buf; the reply goes.
    assert_eq!(l.execute_line("SET b 2", T0 + 2_000), ["OK"]);
    let t = last_turn(&l);
    assert_eq!((t.fsync.kind, t.released), ("postponed", "aof_buf"), "{t:?}");
    assert!(t.writes.is_empty());
    assert_eq!(place_of_last(&mut l), "aof_buf");
    let kill = l.lost_if("kill");
    assert_eq!((kill.aof_buf_bytes, kill.writes.len()), (l.engine.aof_buf().len() as u64, 1));
    assert_eq!((kill.writes[0].text.as_str(), kill.writes[0].place), ("SET b 2", "aof_buf"));
    assert!(l.machine_json().contains(&format!("\"postponed_since\":{}", T0 + 2_000)));
    // Two seconds later cron writes it anyway: aof_delayed_fsync and Redis's log line.
    l.tick(T0 + 3_000);
    assert_eq!(place_of_last(&mut l), "aof_buf");
    l.tick(T0 + 4_000);
    let t = last_turn(&l);
    assert_eq!(t.fsync.kind, "delayed", "{t:?}");
    assert_eq!((t.writes[0].at, t.writes[0].bytes), ("cron", 27));
    assert_eq!(place_of_last(&mut l), "page_cache");
    let json = l.machine_json();
    assert!(json.contains("\"delayed_fsync\":1"), "{json}");
    assert!(json.contains("Asynchronous AOF fsync is taking too long (disk is busy?)"), "{json}");
}

#[test]
fn appendfsync_no_leaves_the_writes_to_the_kernel_writeback() {
    let mut l = lab("no", &[]);
    l.execute_line("SET a 1", T0);
    let t = last_turn(&l);
    assert_eq!((t.fsync.kind, t.released), ("", "write"));
    assert!(l.machine_json().contains("\"fsync\":{\"kind\":\"none\""));
    assert_eq!(place_of_last(&mut l), "page_cache");
    assert!(l.machine_json().contains("\"writeback_ms\":30000"));
    l.tick(T0 + 31_000);
    assert_eq!(place_of_last(&mut l), "disk", "written back by the kernel");
}

#[test]
fn lost_if_follows_the_policy_at_once() {
    let mut l = lab("no", &[]);
    l.execute_line("SET a 1", T0 + 1_000);
    let power = l.lost_if("power");
    assert!(power.exact && power.writes.len() == 1 && power.page_cache_bytes > 0, "{power:?}");
    assert!(l.lost_if("kill").writes.is_empty(), "a kill keeps the page cache");
    // CONFIG SET appendfsync always fsyncs what `no` left, in the same turn.
    l.execute_line("CONFIG SET appendfsync always", T0 + 1_100);
    let power = l.lost_if("power");
    assert!(power.writes.is_empty() && power.page_cache_bytes == 0, "{power:?}");
    assert!(l.machine_json().contains("\"policy\":\"always\""));
    // From everysec with a background fsync still running, Redis 7.0.15 counts the bytes as
    // handed to that fsync: `always` has nothing left to sync until it completes.
    let mut l = lab("everysec", &[("lab-fsync-latency-ms", "3000")]);
    l.execute_line("SET a 1", T0 + 1_000);
    l.execute_line("CONFIG SET appendfsync always", T0 + 1_100);
    assert_eq!(l.lost_if("power").writes.len(), 1);
    l.tick(T0 + 4_000);
    assert!(l.lost_if("power").writes.is_empty());
}

#[test]
fn a_torn_tail_is_named_and_a_refusal_foreseen() {
    let mut l = lab("no", &[("aof-load-truncated", "no")]);
    l.execute_line("SET a 1", T0);
    l.tick(T0 + 31_000);
    // Three unsynced writes: a torn op lets the first two reach the disk whole and the first
    // half of the last one.
    l.execute_line("SET b 2", T0 + 31_000);
    l.execute_line("SET cc 33", T0 + 31_000);
    l.execute_line("SET d 4", T0 + 31_000);
    let torn = l.lost_if("torn");
    assert!(torn.exact, "{torn:?}");
    assert_eq!(torn.writes.iter().map(|w| (w.text.as_str(), w.place)).collect::<Vec<_>>(), [("SET d 4", "torn_tail")]);
    assert_eq!(l.lost_if("power").writes.len(), 3);
    assert!(torn.refused.as_deref().is_some_and(|r| r.contains("aof-load-truncated is no")), "{torn:?}");
    assert!(torn.files[0].torn_to > torn.files[0].from);
    let r = l.crash("torn", T0 + 31_001).unwrap().clone();
    assert!(!r.started);
    assert!(l.lost_if("kill").refused.is_some(), "down: nothing runs");
}

#[test]
fn the_reveal_sets_the_prediction_beside_the_answer() {
    let mut l = lab("no", &[]);
    l.execute_line("SET a 1", T0);
    l.execute_line("SET b 2", T0 + 10);
    let asked: Vec<u64> = l.machine.recent.iter().map(|t| t.seq).collect();
    let p = Prediction { writes: asked.clone(), survive: Some("all".into()), keys: Some("all".into()), refused: Some(false) };
    let r = l.crash_and_reveal("power", Some(p), T0 + 20).unwrap().clone();
    assert_eq!((r.keys_before, r.keys_after), (2, 0));
    let reveal = l.reveal().unwrap();
    assert_eq!(reveal.rows.iter().map(|r| r.right).collect::<Vec<_>>(), [Some(false), Some(false), Some(true)]);
    assert_eq!(reveal.rows[0].actual, "none");
    assert_eq!(reveal.rows[1].actual, "none (0 of 2)");
    assert_eq!(reveal.writes.iter().map(|w| (w.1.as_str(), w.2)).collect::<Vec<_>>(), [("SET a 1", Some(false)), ("SET b 2", Some(false))]);
    assert!(reveal.sentence.starts_with("Acknowledged is not durable"), "{}", reveal.sentence);
    assert!(reveal.sentence.contains("Under appendfsync no Redis never fsyncs"), "{}", reveal.sentence);
    let snap = l.snapshot();
    assert!(snap.contains("\"lost_writes\":{\"exact\":true"), "{snap}");
    assert!(snap.contains("\"prediction\":{\"writes\":["), "{snap}");
    assert!(snap.contains("\"sentence\":\"Acknowledged is not durable"), "{snap}");
    // A crash that did not go through the reveal has none (the capture belongs to another).
    l.execute_line("SET c 3", T0 + 30);
    l.crash("kill", T0 + 40).unwrap();
    assert!(l.reveal().is_none());
    assert!(!l.snapshot().contains("\"lost_writes\""));
    // Right on every count: always keeps every acknowledged write.
    let mut l = lab("always", &[]);
    l.execute_line("SET a 1", T0);
    let asked: Vec<u64> = l.machine.recent.iter().map(|t| t.seq).collect();
    let p = Prediction { writes: asked, survive: Some("all".into()), keys: Some("all".into()), refused: Some(false) };
    l.crash_and_reveal("power", Some(p), T0 + 20).unwrap();
    let reveal = l.reveal().unwrap();
    assert!(reveal.sentence.starts_with("Right. Under appendfsync always"), "{}", reveal.sentence);
    // No prediction (skipped): still the explanation.
    let mut l = lab("everysec", &[]);
    l.execute_line("SET a 1", T0);
    l.crash_and_reveal("kill", None, T0 + 20).unwrap();
    assert!(l.reveal().unwrap().sentence.starts_with("A process kill leaves the kernel's page cache alone"));
}

#[test]
fn the_fsync_latency_is_a_hidden_lab_setting_kept_across_restarts() {
    let mut l = lab("everysec", &[]);
    assert_eq!(l.execute_line("CONFIG SET lab-fsync-latency-ms 1200", T0), ["OK"]);
    assert_eq!(l.engine.srv.aof.fsync_latency_ms, 1200);
    assert_eq!(l.execute_line("CONFIG GET lab-fsync-latency-ms", T0), ["1) \"lab-fsync-latency-ms\"\n2) \"1200\""]);
    assert!(!l.execute_line("CONFIG GET *", T0).join("").contains("lab-fsync"), "hidden from CONFIG GET *");
    l.crash("kill", T0 + 10).unwrap();
    assert_eq!(l.engine.srv.aof.fsync_latency_ms, 1200, "kept across a restart");
    l.set_fsync_latency(0, T0 + 20);
    l.crash("kill", T0 + 30).unwrap();
    assert_eq!(l.engine.srv.aof.fsync_latency_ms, 0);
    assert!(l.machine_json().contains("\"fsync_latency_ms\":0"));
}

#[test]
fn after_a_crash_the_lost_writes_are_marked_and_their_offsets_reused() {
    let mut l = lab("no", &[]);
    l.execute_line("SET a 1", T0);
    l.tick(T0 + 31_000); // written back: on disk
    l.execute_line("SET b 2", T0 + 31_000);
    l.crash("power", T0 + 31_010).unwrap();
    let layers = l.file_layers();
    let places: Vec<&str> = l.machine.recent.iter().map(|t| l.place_of(t, layers.as_deref())).collect();
    assert_eq!(places, ["disk", "dropped"]);
    // The next write takes the lost one's offset: it is named as itself.
    l.execute_line("SET c 3", T0 + 31_020);
    let lost = l.lost_if("power");
    assert_eq!(lost.writes.iter().map(|w| w.typed.as_deref()).collect::<Vec<_>>(), [Some("SET c 3")]);
}

#[test]
fn the_diagram_describes_the_last_lost_writes_and_counts_them_all() {
    // Under `no` nothing is fsynced: 120 writes over three dbs stay in the page cache, and the
    // db of the first described one comes from a SELECT before the described range.
    let mut l = lab("no", &[]);
    for i in 0..120 {
        let db = i / 40;
        l.execute_batch(&[format!("SELECT {db}"), format!("SET k{i} v{i}")], T0 + 1_000 + i as i64);
    }
    for kind in ["power", "torn", "kill"] {
        let all = l.lost_if(kind);
        let last = l.lost_if_last(kind, 7);
        assert_eq!(last.writes_total, all.writes.len(), "{kind}: every lost write is counted");
        let tail = &all.writes[all.writes.len().saturating_sub(7)..];
        assert_eq!(last.writes, tail, "{kind}: the last ones, described as lost_if describes them (db included)");
        assert_eq!((last.exact, last.refused.clone(), last.bytes()), (all.exact, all.refused.clone(), all.bytes()));
    }
    assert_eq!(l.lost_if("power").writes.len(), 120);
    assert_eq!(l.lost_if_last("power", 7).writes.last().map(|w| (w.text.as_str(), w.db)), Some(("SET k119 v119", Some(2))));
}

#[test]
fn the_parsed_tail_kept_between_views_never_changes_what_a_crash_would_lose() {
    // After each step, the preview with the kept tail equals one parsed from scratch: appends,
    // an fsync that moves the durable end, a rewrite (a new incr file), a crash that cuts the
    // file back and writes that land over the cut.
    let mut l = lab("no", &[]);
    let check = |l: &mut Lab, what: &str| {
        for kind in ["power", "torn"] {
            let kept = l.lost_if(kind);
            l.machine.tail = Default::default();
            assert_eq!(l.lost_if(kind), kept, "{what}: {kind}");
        }
    };
    let mut t = T0 + 1_000;
    for i in 0..30 {
        t += 10;
        l.execute_line(&format!("SET k{i} {}", "v".repeat(i)), t);
        if i % 7 == 0 {
            check(&mut l, "appends");
        }
    }
    l.execute_line("CONFIG SET appendfsync always", t + 10);
    check(&mut l, "fsynced");
    l.execute_line("CONFIG SET appendfsync no", t + 20);
    l.execute_line("SET after fsync", t + 30);
    check(&mut l, "appends after an fsync");
    l.execute_line("BGREWRITEAOF", t + 40);
    l.tick(t + 200);
    l.execute_line("SET after rewrite", t + 300);
    check(&mut l, "after a rewrite");
    let _ = l.crash("power", t + 400);
    check(&mut l, "after a power loss");
    l.execute_line("SET same length x", t + 500);
    l.execute_line("SET same length y", t + 510);
    check(&mut l, "writes over the cut");
}

/// The crash report never contradicts what the crash lost: a kill that took acknowledged
/// writes postponed by a slow everysec fsync, and a power loss under `always` while
/// no-appendfsync-on-rewrite held the fsync back, each say why; the "AOF vs RDB" line counts
/// what the AOF really kept; a refused start's fatal line is in its log once.
#[test]
fn crash_reports_say_why_acknowledged_writes_were_lost() {
    // everysec, a slow fsync: SET b 2 was acknowledged while its write waited in aof_buf.
    let mut l = lab("everysec", &[]);
    l.set_fsync_latency(5_000, T0);
    l.execute_line("SET a 1", T0 + 1_000);
    assert_eq!(l.execute_line("SET b 2", T0 + 2_000), ["OK"]);
    let r = l.crash_and_reveal("kill", None, T0 + 2_100).unwrap().clone();
    assert_eq!((r.keys_before, r.keys_after), (2, 1));
    assert!(!r.why.iter().any(|w| w.contains("loses no acknowledged write")), "{:?}", r.why);
    assert!(r.why.iter().any(|w| w.contains("postpones that write")), "{:?}", r.why);
    assert!(r.rdb_text.ends_with("The AOF kept 1 of them."), "{}", r.rdb_text);

    // always, a rewrite child running under no-appendfsync-on-rewrite: the fsync is skipped.
    let mut l = lab("always", &[("no-appendfsync-on-rewrite", "yes"), ("lab-rewrite-keys-per-tick", "1")]);
    for k in ["a", "b", "c"] {
        l.execute_line(&format!("SET {k} 1"), T0);
    }
    l.execute_line("BGREWRITEAOF", T0);
    assert_eq!(l.execute_line("SET d 4", T0 + 1), ["OK"]);
    assert!(l.engine.srv.child_active());
    let r = l.crash_and_reveal("power", None, T0 + 2).unwrap().clone();
    assert_eq!((r.keys_before, r.keys_after), (4, 3), "{r:?}");
    assert!(!r.why.iter().any(|w| w.contains("no acknowledged write is lost")), "{:?}", r.why);
    assert!(r.why.iter().any(|w| w.contains("no-appendfsync-on-rewrite yes and a rewrite child running")), "{:?}", r.why);
    let reveal = l.reveal().unwrap();
    assert!(reveal.sentence.contains("no-appendfsync-on-rewrite yes"), "{}", reveal.sentence);

    // appendfsync no, power loss: nothing survives, and the comparison says so.
    let mut l = lab("no", &[]);
    l.execute_line("SET a 1", T0);
    l.execute_line("SET b 2", T0);
    let r = l.crash("power", T0 + 10).unwrap().clone();
    assert_eq!((r.keys_before, r.keys_after), (2, 0));
    assert!(r.rdb_text.ends_with("This time the AOF kept none of them either."), "{}", r.rdb_text);

    // A torn sequence that leaves a hole: refused, the advice is --fix, the fatal line once.
    let mut refused = false;
    for seed in 0..20 {
        let mut l = lab("no", &[]);
        l.next_seq = seed;
        for i in 0..6 {
            l.execute_line(&format!("SET k{i} {}", "v".repeat(300)), T0 + i);
        }
        let r = l.crash_and_reveal("torn-seq", None, T0 + 100).unwrap().clone();
        if r.started {
            continue;
        }
        refused = true;
        let fatal = r.log.last().unwrap().clone();
        assert_eq!(r.log.iter().filter(|line| **line == fatal).count(), 1, "{:?}", r.log);
        let sentence = l.reveal().unwrap().sentence;
        assert!(sentence.contains("aof-load-truncated yes does not help"), "{sentence}");
        break;
    }
    assert!(refused, "some torn sequence leaves a hole");
}
