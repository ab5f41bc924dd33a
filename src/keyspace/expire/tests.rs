//! The cycle's rules, on the engine: how much one slow cycle does, when it stops, what the fast
//! cycle adds, the INFO figures and what reaches the AOF. (`tests/expire_vs_redis.rs` compares
//! what is deterministic with a real redis-server.)

use super::*;
use crate::{Config, Engine};

const T0: i64 = 1_700_000_000_000;

fn engine() -> (Engine, u64) {
    let mut e = Engine::new(Config { appendonly: true, ..Config::default() }, T0);
    let c = e.connect();
    (e, c)
}

fn run(e: &mut Engine, c: u64, line: &str, now: i64) -> String {
    e.execute_line(c, line, now).map(|r| r.to_string()).unwrap_or_default()
}

/// `n` keys in `db` that expire at T0 + 1, set with active expiry off; `keep` more that never
/// do. The clock then stands at T0 + 10, so they are all logically expired.
fn fill(e: &mut Engine, c: u64, db: usize, n: usize, keep: usize) {
    run(e, c, "DEBUG SET-ACTIVE-EXPIRE 0", T0);
    run(e, c, &format!("SELECT {db}"), T0);
    for i in 0..n {
        e.srv.dbs[db].insert(format!("x{i}").into_bytes(), crate::keyspace::Value::String(b"v".to_vec().into()));
        e.srv.dbs[db].set_expire(format!("x{i}").as_bytes(), T0 + 1);
    }
    for i in 0..keep {
        e.srv.dbs[db].insert(format!("k{i}").into_bytes(), crate::keyspace::Value::String(b"v".to_vec().into()));
        e.srv.dbs[db].set_expire(format!("k{i}").as_bytes(), T0 + 1_000_000_000);
    }
    run(e, c, "DEBUG SET-ACTIVE-EXPIRE 1", T0);
    e.take_aof_buf();
}

fn info(e: &mut Engine, c: u64, field: &str) -> String {
    let Some(crate::Reply::Verbatim(_, text)) = e.execute_line(c, "INFO stats", T0) else { panic!("INFO") };
    String::from_utf8(text).unwrap().lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or_default().to_string()
}

#[test]
fn effort_scales_the_parameters_as_redis() {
    assert_eq!(Effort::new(1), Effort { keys_per_loop: 20, fast_duration_us: 1000, slow_time_perc: 25, acceptable_stale: 10 });
    assert_eq!(Effort::new(5), Effort { keys_per_loop: 40, fast_duration_us: 2000, slow_time_perc: 33, acceptable_stale: 6 });
    assert_eq!(Effort::new(10), Effort { keys_per_loop: 65, fast_duration_us: 3250, slow_time_perc: 43, acceptable_stale: 1 });
}

#[test]
fn a_small_expired_set_goes_in_one_cycle_and_the_estimate_follows() {
    let (mut e, c) = engine();
    fill(&mut e, c, 0, 15, 0);
    fill(&mut e, c, 3, 5, 0);
    e.cron(T0 + 10);
    assert_eq!((e.srv.dbs[0].len(), e.srv.dbs[3].len()), (0, 0));
    assert_eq!(info(&mut e, c, "expired_keys"), "20");
    // Every key sampled had expired: 0.05 × 1 + 0.95 × 0.
    assert_eq!(info(&mut e, c, "expired_stale_perc"), "5.00");
    // Later cycles sample nothing: the estimate decays by 0.95 a cycle.
    for want in ["4.75", "4.51", "4.29"] {
        e.cron(T0 + 110);
        assert_eq!(info(&mut e, c, "expired_stale_perc"), want);
    }
    assert_eq!(info(&mut e, c, "expired_time_cap_reached_count"), "0");
    // One DEL per key, each on its own, with the SELECTs of the dbs.
    let aof = String::from_utf8(e.take_aof_buf()).unwrap();
    assert_eq!(aof.matches("$3\r\nDEL\r\n").count(), 20);
    assert!(!aof.contains("MULTI"));
    assert_eq!(aof.matches("SELECT").count(), 2);
}

#[test]
fn few_stale_keys_are_left_for_later_cycles() {
    // 1000 keys with a TTL, the 5 expired ones last in the table: a sample of 20 live keys is
    // under the 10 % line, so the db is left until the next cycle, which samples the next 20.
    let (mut e, c) = engine();
    fill(&mut e, c, 0, 0, 995);
    for i in 0..5 {
        e.srv.dbs[0].insert(format!("x{i}").into_bytes(), crate::keyspace::Value::String(b"v".to_vec().into()));
        e.srv.dbs[0].set_expire(format!("x{i}").as_bytes(), T0 + 1);
    }
    e.cron(T0 + 10);
    // The cursor starts at position 0 (k0 …): a sample of 20 live keys, 0 % stale: done.
    assert_eq!(e.srv.stats.expired_keys, 0);
    assert_eq!(e.srv.dbs[0].len(), 1000);
    // The cursor moves on by 20 each cycle: the expired keys (at the end) are reached after
    // 995 / 20 cycles, and then deleted.
    let mut cycles = 1;
    while e.srv.stats.expired_keys < 5 {
        e.cron(T0 + 10 + cycles * 100);
        cycles += 1;
        assert!(cycles < 100, "never reached");
    }
    assert_eq!(cycles, 50);
    assert_eq!(e.srv.dbs[0].len(), 995);
}

#[test]
fn the_slow_cycle_stops_at_its_time_limit_and_fast_cycles_follow() {
    let (mut e, c) = engine();
    fill(&mut e, c, 0, 100_000, 0);
    e.cron(T0 + 10);
    // 25 ms at hz 10, 1 µs a key, looked at every 16 loops of 20: 25 280 keys.
    let first = e.srv.stats.expired_keys;
    assert_eq!(first, 25_280);
    assert_eq!(info(&mut e, c, "expired_time_cap_reached_count"), "1");
    assert_eq!(info(&mut e, c, "expire_cycle_cpu_milliseconds"), "25");
    // The fast cycle runs in the same turn's beforeSleep, for 1 ms, and hits its own cap: it
    // visits every db from db 1 (the slow cycle stopped in db 0), 15 empty loops first, so the
    // budget is looked at after db 0's loops 1, 17, … 65: 1 300 keys.
    assert_eq!(e.active_expire_fast(T0 + 10), 1_300);
    assert_eq!(info(&mut e, c, "expired_time_cap_reached_count"), "2");
    // Not again within 2 ms.
    assert_eq!(e.active_expire_fast(T0 + 11), 0);
    assert_eq!(e.active_expire_fast(T0 + 12), 1_300);
    // before_sleep runs it too, before it writes: its DELs are in the same write.
    e.before_sleep(T0 + 14);
    assert_eq!(e.srv.stats.expired_keys, first + 3 * 1_300);
    // Slow cycles go on until the db is empty; the last one finishes in time, and then no fast
    // cycle runs.
    let mut now = T0 + 110;
    while !e.srv.dbs[0].is_empty() {
        e.cron(now);
        now += 100;
    }
    assert_eq!(e.srv.stats.expired_keys, 100_000);
    assert_eq!(e.active_expire_fast(now + 10), 0);
}

#[test]
fn a_million_expired_keys_cost_one_cycle_budget_per_tick() {
    // The worker's frame budget: one cron tick samples a bounded number of keys, however many
    // have expired.
    let (mut e, c) = engine();
    fill(&mut e, c, 0, 1_000_000, 0);
    e.cron(T0 + 10);
    assert!(e.srv.stats.expired_keys <= 25_000 + 16 * 20, "{}", e.srv.stats.expired_keys);
    // At hz 100 the cron period, and so the budget, is ten times smaller: 2.5 ms. Having run
    // out of time, this cycle visits every db, from db 1: the 15 empty ones count as loops
    // (16 … 30 … the budget is looked at when the loop count is a multiple of 16), so db 0's
    // 129th loop is the one that sees 2 580 µs > 2 500.
    run(&mut e, c, "CONFIG SET hz 100", T0);
    let before = e.srv.stats.expired_keys;
    e.cron(T0 + 110);
    assert_eq!(e.srv.stats.expired_keys - before, 2_580);
}

#[test]
fn the_cycle_visits_16_dbs_per_call_from_where_it_stopped() {
    let mut cfg = Config { appendonly: true, ..Config::default() };
    cfg.set("databases", "20", true).unwrap();
    let mut e = Engine::new(cfg, T0);
    let c = e.connect();
    for db in 0..20 {
        fill(&mut e, c, db, 3, 0);
    }
    e.cron(T0 + 10);
    // dbs 0 … 15 this cycle, 16 … 19 (and 0 … 11 again, empty) the next.
    assert_eq!(e.srv.stats.expired_keys, 48);
    assert!((0..16).all(|d| e.srv.dbs[d].is_empty()) && (16..20).all(|d| e.srv.dbs[d].len() == 3));
    e.cron(T0 + 110);
    assert_eq!(e.srv.stats.expired_keys, 60);
}

#[test]
fn effort_10_samples_more_and_tolerates_less() {
    let (mut e, c) = engine();
    run(&mut e, c, "CONFIG SET active-expire-effort 10", T0);
    fill(&mut e, c, 0, 100_000, 0);
    e.cron(T0 + 10);
    // 43 % of 100 ms = 43 ms; 65 keys a loop, checked every 16 loops (1 040 keys): 43 680.
    assert_eq!(e.srv.stats.expired_keys, 43_680);
}

#[test]
fn off_with_debug_set_active_expire_and_while_loading_and_resetstat_clears() {
    let (mut e, c) = engine();
    fill(&mut e, c, 0, 10, 0);
    run(&mut e, c, "DEBUG SET-ACTIVE-EXPIRE 0", T0);
    e.cron(T0 + 10);
    assert_eq!(e.srv.dbs[0].len(), 10);
    run(&mut e, c, "DEBUG SET-ACTIVE-EXPIRE 1", T0);
    e.cron(T0 + 10);
    assert_eq!(e.srv.dbs[0].len(), 0);
    assert_eq!(info(&mut e, c, "expired_stale_perc"), "5.00");
    run(&mut e, c, "CONFIG RESETSTAT", T0);
    assert_eq!(info(&mut e, c, "expired_stale_perc"), "0.00");
    assert_eq!(info(&mut e, c, "expired_keys"), "0");
}
