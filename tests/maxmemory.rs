//! `maxmemory` with `noeviction` on the engine: the `-OOM` refusal follows the estimated
//! `used_memory` (INFO memory's figure without the AOF buffer) as keys come and go, including
//! growth that a command's arguments do not show (SETRANGE at a far offset) and keys that expire.
//! The exact replies and the MULTI rules are compared with a real server in
//! `tests/scripts/maxmemory.redis`.

use aof_lab::storage::MemoryStorage;
use aof_lab::{Config, Engine, Reply};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
const T0: i64 = 1_700_000_000_000;

fn info_field(e: &mut Engine, c: u64, name: &str) -> u64 {
    let Some(Reply::Verbatim(_, text)) = e.execute_line(c, "INFO memory", T0) else { panic!("INFO") };
    let text = String::from_utf8(text).expect("utf8");
    let line = text.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("no {name} in {text}"));
    line[name.len() + 1..].parse().expect("number")
}

fn engine_with_cap(extra: u64) -> (Engine, u64, u64) {
    let mut e = Engine::new(Config::default(), T0);
    let c = e.connect();
    let empty = info_field(&mut e, c, "used_memory");
    let cap = empty + extra;
    assert_eq!(e.execute_line(c, &format!("CONFIG SET maxmemory {cap}"), T0), Some(Reply::ok()));
    (e, c, cap)
}

#[test]
fn writes_are_refused_past_the_cap_and_accepted_again_after_deletes() {
    let (mut e, c, cap) = engine_with_cap(200_000);
    assert_eq!(info_field(&mut e, c, "maxmemory"), cap);
    let value = "x".repeat(1000);
    let mut accepted = 0;
    for i in 0..1000 {
        match e.execute_line(c, &format!("SET k{i} {value}"), T0) {
            Some(Reply::Status(_)) => accepted += 1,
            Some(Reply::Error(m)) => {
                assert_eq!(m, OOM);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // ~1.1 KB per key under a 200 KB margin: refused once the estimate passed the cap.
    assert!((150..200).contains(&accepted), "{accepted} keys accepted");
    let used = info_field(&mut e, c, "used_memory");
    assert!(used > cap && used < cap + 2_000, "used_memory {used}, maxmemory {cap}");
    // Reads, deletes and non-denyoom writes still run; refused writes change nothing.
    assert_eq!(e.execute_line(c, "GET k0", T0).map(|r| r.to_resp().len()), Some(1000 + 9));
    assert_eq!(e.execute_line(c, "RPUSH l a", T0), Some(Reply::err(OOM)));
    assert_eq!(e.execute_line(c, "EXISTS l", T0), Some(Reply::Int(0)));
    for i in 0..20 {
        assert_eq!(e.execute_line(c, &format!("DEL k{i}"), T0), Some(Reply::Int(1)));
    }
    assert_eq!(e.execute_line(c, "RPUSH l a", T0), Some(Reply::Int(1)));
    assert!(info_field(&mut e, c, "used_memory") <= cap);
    // Raising the cap (or 0) lifts the refusal at once.
    assert_eq!(e.execute_line(c, "CONFIG SET maxmemory 0", T0), Some(Reply::ok()));
    assert_eq!(e.execute_line(c, &format!("SET big {}", "y".repeat(300_000)), T0), Some(Reply::ok()));
}

#[test]
fn growth_not_bounded_by_the_arguments_is_seen_by_the_next_check() {
    let (mut e, c, _) = engine_with_cap(1_000_000);
    assert_eq!(e.execute_line(c, "SET a 1", T0), Some(Reply::ok()));
    // 2 MB from a 6-byte argument: the next denyoom command must see it.
    assert_eq!(e.execute_line(c, "SETRANGE big 2000000 x", T0), Some(Reply::Int(2_000_001)));
    assert_eq!(e.execute_line(c, "SET b 2", T0), Some(Reply::err(OOM)));
    assert_eq!(e.execute_line(c, "SETBIT bits 1 1", T0), Some(Reply::err(OOM)));
    assert_eq!(e.execute_line(c, "UNLINK big", T0), Some(Reply::Int(1)));
    assert_eq!(e.execute_line(c, "SET b 2", T0), Some(Reply::ok()));
    // SUNIONSTORE copies a set (~270 KB here) from a few bytes of arguments: a non-fast
    // denyoom command, so the next check re-estimates. With 1 MB of room: s plus three copies.
    assert_eq!(e.execute_line(c, "DEL a b", T0), Some(Reply::Int(2)));
    let members: Vec<String> = (0..10_000).map(|i| format!("member-{i}")).collect();
    assert_eq!(e.execute_line(c, &format!("SADD s {}", members.join(" ")), T0), Some(Reply::Int(10_000)));
    for d in ["s2", "s3", "s4"] {
        assert_eq!(e.execute_line(c, &format!("SUNIONSTORE {d} s"), T0), Some(Reply::Int(10_000)), "{d}");
    }
    assert_eq!(e.execute_line(c, "SUNIONSTORE s5 s", T0), Some(Reply::err(OOM)));
    assert_eq!(e.execute_line(c, "SADD s x", T0), Some(Reply::err(OOM)));
}

#[test]
fn keys_that_expire_give_their_memory_back() {
    let (mut e, c, _) = engine_with_cap(100_000);
    let value = "z".repeat(150_000);
    assert_eq!(e.execute_line(c, &format!("SET tmp {value} PX 100"), T0), Some(Reply::ok()));
    assert_eq!(e.execute_line(c, "SET other 1", T0), Some(Reply::err(OOM)));
    // Active expiry deletes without moving `dirty`: the key count tells the estimate.
    e.cron(T0 + 1_000);
    assert_eq!(e.execute_line(c, "DBSIZE", T0 + 1_000), Some(Reply::Int(0)));
    assert_eq!(e.execute_line(c, "SET other 1", T0 + 1_000), Some(Reply::ok()));
}

#[test]
fn loading_an_aof_bigger_than_the_cap_is_not_refused() {
    let cfg = || Config { appendonly: true, ..Default::default() };
    let mut e = Engine::open(cfg(), Box::new(MemoryStorage::new()), T0).map_err(|e| e.lines).expect("open");
    let c = e.connect();
    for i in 0..50 {
        assert_eq!(e.execute_line(c, &format!("SET k{i} {}", "v".repeat(10_000)), T0), Some(Reply::ok()));
    }
    e.before_sleep(T0);
    let storage = e.take_storage();
    // Redis does not apply maxmemory while loading: every command of the AOF is replayed.
    let mut e = Engine::open(Config { maxmemory: 1, ..cfg() }, storage, T0).map_err(|e| e.lines).expect("restart");
    let c = e.connect();
    assert_eq!(e.execute_line(c, "DBSIZE", T0), Some(Reply::Int(50)));
    assert_eq!(e.execute_line(c, "SET more 1", T0), Some(Reply::err(OOM)));
}

/// The check reads the figure the keyspace keeps as it changes (no walk of the dataset per
/// command; the browser's 64 MB default once made every SET cost the whole dataset): after
/// thousands of SETs, overwrites, deletes and TTLs under a far cap, it equals the walk, and INFO
/// shows that figure plus the AOF buffers. (`diff_random`'s `kept_memory_estimate_equals_a_walk`
/// checks the same after every command of every family.)
#[test]
fn the_check_reads_the_kept_figure() {
    let (mut e, c, _) = engine_with_cap(64 * 1024 * 1024);
    for i in 0..20_000 {
        let line = match i % 7 {
            0 => format!("DEL key:{}", i % 5000),
            1 => format!("SET key:{} v PX 100000", i % 5000),
            _ => format!("SET key:{} value-{i}", i % 5000),
        };
        assert!(matches!(e.execute_line(c, &line, T0), Some(Reply::Status(_) | Reply::Int(_))), "{line}");
    }
    let walked: u64 = e.srv.dbs.iter().map(|d| d.mem_walk()).sum();
    assert_eq!(e.srv.dataset_memory(), walked);
    assert_eq!(info_field(&mut e, c, "used_memory"), e.srv.used_memory());
    assert_eq!(e.srv.used_memory(), e.srv.used_memory_counted_for_evict() + e.srv.mem_not_counted_for_evict());
    assert!(!e.srv.over_maxmemory());
}

/// A stream's entries count (its node listpacks): XADD is refused once they fill the cap,
/// XGROUP CREATE too (denyoom), XDEL and XTRIM (not denyoom) still run, and after trimming the
/// stream to nothing XADD is accepted again.
#[test]
fn a_stream_counts_toward_the_cap() {
    let (mut e, c, _) = engine_with_cap(100_000);
    let value = "y".repeat(500);
    let mut accepted = 0;
    for i in 1..10_000 {
        match e.execute_line(c, &format!("XADD s {i}-0 f {value}"), T0) {
            Some(Reply::Bulk(_)) => accepted += 1,
            Some(Reply::Error(m)) => {
                assert_eq!(m, OOM);
                break;
            }
            r => panic!("{r:?}"),
        }
    }
    // About 100 000 / 510 bytes per entry.
    assert!((150..230).contains(&accepted), "{accepted} entries accepted");
    assert_eq!(e.execute_line(c, "XGROUP CREATE s g 0", T0), Some(Reply::err(OOM)));
    assert_eq!(e.execute_line(c, "XDEL s 1-0", T0), Some(Reply::Int(1)));
    assert_eq!(e.execute_line(c, "XTRIM s MAXLEN 0", T0), Some(Reply::Int(accepted - 1)));
    assert_eq!(e.execute_line(c, "XADD s 99999-0 f v", T0), Some(Reply::bulk("99999-0")));
    assert_eq!(e.execute_line(c, "XGROUP CREATE s g 0", T0), Some(Reply::ok()));
}
