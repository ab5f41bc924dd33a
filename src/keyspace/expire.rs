//! Expiry: how a key whose time has come leaves the keyspace (`expire.c`, `db.c`).
//!
//! **Lazily**, when a command touches it ([`Server::expire_if_needed`]): the key is deleted and a
//! `DEL` (or `UNLINK` with `lazyfree-lazy-expire`) is propagated, wrapped with the write that
//! triggered it. **Actively**, by [`Server::active_expire_cycle`], Redis's `activeExpireCycle`,
//! for keys nobody touches:
//!
//! - the **slow cycle** runs in `serverCron` (`hz` times a second): it visits up to 16 dbs
//!   (`CRON_DBS_PER_CALL`; all of them if the previous cycle ran out of time), starting where
//!   the last cycle stopped; in each it samples 20 keys with a TTL (`keys per loop`), deletes the
//!   expired ones, and samples again while more than 10 % of a sample had expired (the
//!   *acceptable stale* share). It may use 25 % of a cron period (`25 % × 1 s / hz`: 25 ms at
//!   `hz 10`); the budget is checked every 16 loops, and running out sets `timelimit_exit` and
//!   counts `expired_time_cap_reached_count`;
//! - the **fast cycle** runs in `beforeSleep`, every event-loop turn, but only when the last
//!   cycle ran out of time (7.0.15 also means to run it when the estimated stale share is high,
//!   but compares a fraction with a percentage, so that never happens below effort 10), never
//!   twice within 2 ms, for at most 1 ms;
//! - `active-expire-effort` (1 … 10, default 1) scales them: with effort `e` = value − 1, 20 + 5e
//!   keys per loop, a fast cycle of 1000 + 250e µs, 25 + 2e % of the cron period, 10 − e % stale;
//! - after each cycle, `expired_stale_perc` (INFO stats) is a running average of the share of
//!   sampled keys that had expired: `0.05 × this cycle's + 0.95 × the previous estimate`.
//!
//! **Time, without a clock.** The engine is sans-IO: the simulated clock does not move while a
//! cycle runs, so Redis's `ustime() - start` cannot be read. The cycle's time is modelled as
//! **work**: every key sampled costs [`SAMPLE_COST_US`] µs (1 µs, a figure measured on Redis
//! 7.0.15 itself: a slow cycle that runs out of its 25 ms expires about 20 000 keys, a 1 ms fast
//! cycle about 1 000). The budget, the cap counter and `expire_cycle_cpu_milliseconds` all read
//! this modelled time, so a cycle stops at the same amount of work on every host and every run:
//! with a million expired keys one cron tick deletes about 25 000 of them (a bounded share of a
//! worker's frame) instead of every one, and the rest go in the following cycles, as in Redis.
//! The fast cycle's 2 ms spacing is measured on the simulated clock (`now`).
//!
//! Compared with Redis: the sample is the next keys of the TTL table from a cursor kept per db
//! (Redis walks hash buckets from its `expires_cursor`, so *which* keys a cycle picks differs,
//! while how many are sampled, when a cycle stops and the figures it reports follow the same
//! rules); a table has no empty buckets, so Redis's "less than 1 % of the slots filled: wait for
//! the resize" pause never applies; `avg_ttl` in INFO keyspace is the exact mean, not the
//! cycle's running estimate.

use crate::server::Server;

/// `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
pub const KEYS_PER_LOOP: u64 = 20;
/// `ACTIVE_EXPIRE_CYCLE_FAST_DURATION`, µs.
pub const FAST_DURATION_US: u64 = 1000;
/// `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`: the share of a cron period the slow cycle may use.
pub const SLOW_TIME_PERC: u64 = 25;
/// `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`: % of expired keys in a sample below which a db is
/// left alone until the next cycle.
pub const ACCEPTABLE_STALE: u64 = 10;
/// `CRON_DBS_PER_CALL`.
pub const CRON_DBS_PER_CALL: usize = 16;
/// The modelled time to sample one key (and delete it if it expired), µs.
pub const SAMPLE_COST_US: u64 = 1;

/// `ACTIVE_EXPIRE_CYCLE_SLOW` / `ACTIVE_EXPIRE_CYCLE_FAST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireCycle {
    Slow,
    Fast,
}

/// The cycle's parameters for an `active-expire-effort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effort {
    pub keys_per_loop: u64,
    pub fast_duration_us: u64,
    pub slow_time_perc: u64,
    pub acceptable_stale: u64,
}

impl Effort {
    pub fn new(active_expire_effort: u32) -> Effort {
        // Rescaled from 0 to 9 (the table bounds the setting to 1 … 10).
        let e = u64::from(active_expire_effort.clamp(1, 10) - 1);
        Effort {
            keys_per_loop: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e,
            fast_duration_us: FAST_DURATION_US + FAST_DURATION_US / 4 * e,
            slow_time_perc: SLOW_TIME_PERC + 2 * e,
            acceptable_stale: ACCEPTABLE_STALE - e,
        }
    }
}

/// What `activeExpireCycle` keeps between calls (its `static` variables) and the statistics it
/// feeds to INFO.
#[derive(Clone, Debug, Default)]
pub struct ActiveExpire {
    /// The next db to visit.
    current_db: usize,
    /// The last cycle ran out of time: the next one visits every db, and fast cycles run.
    timelimit_exit: bool,
    /// When the last fast cycle started (simulated µs).
    last_fast_cycle_us: i64,
    /// `stat_expired_stale_perc`, a fraction (INFO prints it × 100).
    pub stale_perc: f64,
    /// `stat_expired_time_cap_reached_count`.
    pub time_cap_reached_count: u64,
    /// `stat_expire_cycle_time_used`, modelled µs.
    pub time_used_us: u64,
}

impl ActiveExpire {
    /// `resetServerStats`' part (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.stale_perc = 0.0;
        self.time_cap_reached_count = 0;
        self.time_used_us = 0;
    }
}

impl Server {
    /// `keyIsExpired` (loading never expires anything).
    pub fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        if self.loading {
            return false;
        }
        self.dbs[db].expire_of(key).is_some_and(|when| when < self.now_ms)
    }

    /// `expireIfNeeded`: deletes a logically expired key and propagates the deletion (`DEL`, or
    /// `UNLINK` with `lazyfree-lazy-expire yes`). True if the key is (now) gone.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        if !self.key_is_expired(db, key) {
            return false;
        }
        self.delete_expired_key_and_propagate(db, key);
        true
    }

    /// `deleteExpiredKeyAndPropagate`.
    pub fn delete_expired_key_and_propagate(&mut self, db: usize, key: &[u8]) {
        self.dbs[db].remove(key);
        self.signal_modified_key(db, key);
        let cmd: &[u8] = if self.config.lazyfree_lazy_expire { b"UNLINK" } else { b"DEL" };
        self.also_propagate(db, &[cmd, key]);
        self.stats.expired_keys += 1;
    }

    /// `activeExpireCycle(type)`: samples keys with a TTL and deletes the expired ones, within
    /// the cycle's modelled time (see the module doc). Each deletion is propagated as its own
    /// `DEL`, never wrapped in MULTI. Returns the number of keys it expired.
    pub fn active_expire_cycle(&mut self, kind: ExpireCycle) -> u64 {
        if !self.config.active_expire_enabled || self.loading {
            return 0;
        }
        let effort = Effort::new(self.config.active_expire_effort);
        let start_us = self.now_ms.saturating_mul(1000);
        if kind == ExpireCycle::Fast {
            // Not needed: the last cycle finished in time and few keys are estimated stale. As in
            // 7.0.15, the estimate (a fraction) is compared with the acceptable share in percent,
            // so only a time-limit exit (or, at effort 10, an estimate of exactly 100 %) starts a
            // fast cycle: a real server expiring a large batch runs fast cycles only while its
            // slow cycles run out of time, which is what this reproduces.
            if !self.expire.timelimit_exit && self.expire.stale_perc < effort.acceptable_stale as f64 {
                return 0;
            }
            // Never more often than twice its own duration.
            if start_us < self.expire.last_fast_cycle_us.saturating_add(effort.fast_duration_us as i64 * 2) {
                return 0;
            }
            self.expire.last_fast_cycle_us = start_us;
        }
        let dbnum = self.dbs.len();
        let dbs_per_call = if CRON_DBS_PER_CALL > dbnum || self.expire.timelimit_exit { dbnum } else { CRON_DBS_PER_CALL };
        let timelimit_us = match kind {
            ExpireCycle::Slow => (effort.slow_time_perc * 1_000_000 / u64::from(self.config.hz.max(1)) / 100).max(1),
            ExpireCycle::Fast => effort.fast_duration_us,
        };
        self.expire.timelimit_exit = false;
        // The modelled time this call has used.
        let mut elapsed_us: u64 = 0;
        let (mut total_sampled, mut total_expired) = (0u64, 0u64);
        let mut iteration: u64 = 0;
        let mut j = 0;
        while j < dbs_per_call && !self.expire.timelimit_exit {
            let db = self.expire.current_db % dbnum.max(1);
            // Moved on now, so that a cycle that runs out of time here starts with the next db.
            self.expire.current_db = self.expire.current_db.wrapping_add(1);
            loop {
                iteration += 1;
                let num = self.dbs[db].expires_len() as u64;
                if num == 0 {
                    break;
                }
                let num = num.min(effort.keys_per_loop);
                let (mut sampled, mut expired) = (0u64, 0u64);
                while sampled < num {
                    let Some((key, when)) = self.dbs[db].expire_at_cursor() else {
                        break;
                    };
                    sampled += 1;
                    elapsed_us += SAMPLE_COST_US;
                    // activeExpireCycleTryExpire: `now > t`.
                    if self.now_ms > when {
                        let key = key.to_vec();
                        self.delete_expired_key_and_propagate(db, &key);
                        expired += 1;
                    } else {
                        self.dbs[db].advance_expires_cursor();
                    }
                }
                total_sampled += sampled;
                total_expired += expired;
                // The budget is looked at once every 16 loops.
                if iteration & 0xf == 0 && elapsed_us > timelimit_us {
                    self.expire.timelimit_exit = true;
                    self.expire.time_cap_reached_count += 1;
                    break;
                }
                // Again while the sample was stale enough to be worth it.
                if sampled != 0 && expired * 100 / sampled <= effort.acceptable_stale {
                    break;
                }
            }
            j += 1;
        }
        // Every DEL of the cycle, each on its own (`propagate_no_multi`).
        self.propagate_ops(false);
        self.expire.time_used_us += elapsed_us;
        let current = if total_sampled > 0 { total_expired as f64 / total_sampled as f64 } else { 0.0 };
        self.expire.stale_perc = current * 0.05 + self.expire.stale_perc * 0.95;
        total_expired
    }
}

#[cfg(test)]
mod tests;
