//! What each `appendfsync` policy loses in each kind of crash, on the simulated machine (the
//! memory backend). A client's write counts as acknowledged once the event-loop turn that ran it
//! has flushed (`before_sleep`): that is when Redis releases replies.
//!
//! | policy   | process kill                  | power loss                         |
//! |----------|-------------------------------|------------------------------------|
//! | always   | nothing acknowledged          | nothing acknowledged               |
//! | everysec | nothing written (aof_buf only)| at most ~2 s of writes             |
//! | no       | nothing written               | up to the kernel writeback window  |

use aof_lab::storage::{MemoryStorage, Storage};
use aof_lab::{AppendFsync, Config, Engine, Reply};

const T0: i64 = 1_700_000_000_000;

fn config(policy: AppendFsync) -> Config {
    Config { appendonly: true, appendfsync: policy, ..Config::default() }
}

/// Runs `turns` event-loop turns 100 ms apart, one `SET k<i> v` per turn, with cron each turn.
/// Returns the engine and the time each write was acknowledged.
fn run(policy: AppendFsync, turns: usize, fsync_latency_ms: i64) -> (Engine, Vec<i64>) {
    let mut e = Engine::open(config(policy), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap();
    e.srv.aof.fsync_latency_ms = fsync_latency_ms;
    let c = e.connect();
    let mut acked = Vec::new();
    for i in 0..turns {
        let now = T0 + 100 * (i as i64 + 1);
        e.cron(now);
        assert_eq!(e.execute_line(c, &format!("SET k{i} v"), now), Some(Reply::ok()));
        e.before_sleep(now);
        acked.push(now);
    }
    (e, acked)
}

/// Restarts on what the crash left, and returns how many leading keys survived (checking that
/// the survivors are a prefix: no write after a lost one survived).
fn restart_and_count(mut storage: Box<dyn Storage>, policy: AppendFsync, now: i64, turns: usize) -> usize {
    storage.tick(now);
    let mut e = Engine::open(config(policy), storage, now).map_err(|e| e.lines).expect("restart must load without repair");
    let c = e.connect();
    let present: Vec<bool> = (0..turns).map(|i| e.execute_line(c, &format!("EXISTS k{i}"), now) == Some(Reply::Int(1))).collect();
    let n = present.iter().take_while(|p| **p).count();
    assert!(present[n..].iter().all(|p| !p), "survivors must be a prefix of the writes: {present:?}");
    n
}

fn crash(e: &mut Engine, power_loss: bool) -> Box<dyn Storage> {
    let mut s = e.take_storage();
    if power_loss {
        s.as_memory().unwrap().power_loss();
    }
    s
}

#[test]
fn always_loses_nothing_acknowledged() {
    for power_loss in [false, true] {
        let (mut e, acked) = run(AppendFsync::Always, 50, 0);
        let end = *acked.last().unwrap();
        let n = restart_and_count(crash(&mut e, power_loss), AppendFsync::Always, end + 1, 50);
        assert_eq!(n, 50, "power_loss={power_loss}");
    }
}

#[test]
fn everysec_power_loss_loses_at_most_two_seconds() {
    for latency in [0, 300, 1500] {
        // 105 turns: the crash comes half a second into a second whose writes are not synced yet.
        let (mut e, acked) = run(AppendFsync::EverySec, 105, latency);
        let crash_at = *acked.last().unwrap();
        let n = restart_and_count(crash(&mut e, true), AppendFsync::EverySec, crash_at, 105);
        let lost_since = acked.get(n).copied().unwrap_or(crash_at);
        assert!(crash_at - lost_since <= 2000, "latency {latency}: lost writes from {} ms before the crash", crash_at - lost_since);
        assert!(n < 105, "latency {latency}: the last second is not yet synced, so something must be lost");
    }
}

#[test]
fn everysec_process_kill_loses_only_aof_buf() {
    // A slow disk: writes get postponed while the background fsync runs, so acknowledged writes
    // can still be in aof_buf (process memory) when the process dies. Never more than ~2 s.
    let (mut e, acked) = run(AppendFsync::EverySec, 100, 1500);
    let in_buf = e.srv.feed.aof_buf.len();
    let crash_at = *acked.last().unwrap();
    let n = restart_and_count(crash(&mut e, false), AppendFsync::EverySec, crash_at, 100);
    let lost_since = acked.get(n).copied().unwrap_or(crash_at);
    assert!(crash_at - lost_since <= 2000);
    assert_eq!(n == 100, in_buf == 0, "what is lost is exactly what was in aof_buf");
    // With a fast disk nothing is postponed and a process kill loses nothing.
    let (mut e, acked) = run(AppendFsync::EverySec, 30, 0);
    assert!(e.srv.feed.aof_buf.is_empty());
    assert_eq!(restart_and_count(crash(&mut e, false), AppendFsync::EverySec, *acked.last().unwrap(), 30), 30);
}

#[test]
fn no_loses_up_to_the_writeback_window() {
    // 60 s of writes; the simulated kernel writes back data dirty for 30 s.
    let (mut e, acked) = run(AppendFsync::No, 600, 0);
    let crash_at = *acked.last().unwrap();
    let n = restart_and_count(crash(&mut e, true), AppendFsync::No, crash_at, 600);
    let lost_since = acked.get(n).copied().unwrap_or(crash_at);
    assert!(crash_at - lost_since <= 30_000 + 100, "lost {} ms", crash_at - lost_since);
    assert!(n < 600 && n > 0, "some writes are on disk thanks to writeback, the recent ones are not: {n}");
    // A process kill loses nothing: every write reached the page cache.
    let (mut e, acked) = run(AppendFsync::No, 40, 0);
    assert_eq!(restart_and_count(crash(&mut e, false), AppendFsync::No, *acked.last().unwrap(), 40), 40);
}

#[test]
fn torn_write_is_loaded_with_truncation() {
    for keep in [1, 5, 17, 30] {
        let (mut e, acked) = run(AppendFsync::No, 10, 0);
        let incr = e.srv.aof.incr_path.clone().unwrap();
        let mut s = e.take_storage();
        s.as_memory().unwrap().torn_write(&incr, keep);
        let n = restart_and_count(s, AppendFsync::No, *acked.last().unwrap(), 10);
        assert!(n <= 10);
    }
}

#[test]
fn disk_full_refuses_writes_with_misconf_then_recovers() {
    let mut e = Engine::open(config(AppendFsync::EverySec), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    let used: u64 = 200;
    e.srv.storage.as_memory().unwrap().capacity = Some(used);
    let mut now = T0;
    let mut refused = false;
    for i in 0..20 {
        now += 100;
        let r = e.execute_line(c, &format!("SET key{i} {}", "x".repeat(20)), now).unwrap();
        e.before_sleep(now);
        if let Reply::Error(msg) = &r {
            assert_eq!(msg, "MISCONF Errors writing to the AOF file: No space left on device");
            refused = true;
            break;
        }
    }
    assert!(refused, "writes must be refused once the disk is full");
    assert!(e.exited().is_none(), "everysec does not exit on a write error");
    assert_eq!(e.execute_line(c, "GET key0", now), Some(Reply::bulk("x".repeat(20))), "reads still work");
    // Space comes back: the cron retry writes the buffer and writes are accepted again.
    e.srv.storage.as_memory().unwrap().capacity = None;
    now += 1100;
    e.cron(now);
    assert_eq!(e.execute_line(c, "SET after ok", now), Some(Reply::ok()));
    assert!(e.take_log().iter().any(|l| l.text == "AOF write error looks solved, Redis can write again."));
}

#[test]
fn always_exits_on_write_error() {
    let mut e = Engine::open(config(AppendFsync::Always), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).unwrap();
    let c = e.connect();
    e.srv.storage.as_memory().unwrap().failing_syncs = 1;
    e.execute_line(c, "SET a b", T0 + 1);
    e.before_sleep(T0 + 1);
    assert!(e.exited().is_some());
}

#[test]
fn config_set_appendfsync_always_syncs_what_everysec_left() {
    let (mut e, acked) = run(AppendFsync::EverySec, 5, 0);
    let now = *acked.last().unwrap();
    let incr = e.srv.aof.incr_path.clone().unwrap();
    assert!(e.srv.storage.as_memory().unwrap().unsynced_bytes(&incr) > 0, "everysec left the last writes unsynced");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "CONFIG SET appendfsync always", now), Some(Reply::ok()));
    // The next flush has an empty buffer but unsynced bytes: under always it fsyncs them.
    e.before_sleep(now);
    assert_eq!(e.srv.storage.as_memory().unwrap().unsynced_bytes(&incr), 0);
    assert_eq!(
        e.execute_line(c, "CONFIG GET appendfsync", now),
        Some(Reply::Map(vec![(Reply::bulk("appendfsync"), Reply::bulk("always"))]))
    );
}
