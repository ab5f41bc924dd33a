//! How long a load took, as Redis logs it: `ustime()` before and after `loadAppendOnlyFiles`
//! (and each file, and `rdbLoad`), then `%.3f` of the difference in seconds, as a C `float`:
//!
//! ```text
//! DB loaded from base file appendonly.aof.1.base.rdb: 0.012 seconds
//! DB loaded from incr file appendonly.aof.1.incr.aof: 0.004 seconds
//! DB loaded from append only file: 0.017 seconds
//! ```
//!
//! The engine never reads a clock: the host lends it one, a [`LoadClock`] in
//! [`crate::Config::load_clock`] (`aof-lab serve`: a monotonic `Instant`; the browser worker:
//! `performance.now()`). Without one (the tests, a shared recording's replay, the guided
//! scenarios) every load takes 0.000 seconds, so that the same inputs give the same log.
//!
//! The lab's timeline records what each input gave back and checks that a replay gives the same;
//! a replay measures its own time, so what it records is the line as it reads without a clock
//! ([`untimed`]), while the views show the time measured.

use std::borrow::Cow;

/// A monotonic clock of the host, in microseconds from any origin (Redis's `ustime()` as far as
/// a difference of two readings goes).
pub type LoadClock = fn() -> u64;

/// A reading to time a load from (0 without a clock).
pub fn started(clock: Option<LoadClock>) -> u64 {
    clock.map_or(0, |now| now())
}

/// The seconds since `started`, as `%.3f` of `(float)(ustime()-start)/1000000`.
pub fn seconds_since(clock: Option<LoadClock>, started: u64) -> String {
    let us = clock.map_or(0, |now| now().saturating_sub(started));
    // A C float, as Redis casts it: past 2^24 µs (16 s) it keeps 24 bits, as there.
    format!("{:.3}", us as f32 / 1_000_000.0)
}

/// `"{what}: {seconds} seconds"`: the line of a load that took from `started` until now.
pub fn line(what: &str, clock: Option<LoadClock>, started: u64) -> String {
    format!("{what}: {} seconds", seconds_since(clock, started))
}

/// A log line as it reads without a clock: a load's time ([`line`], whose lines all begin with
/// `DB loaded from `, here with or without the level's mark, `* `) is 0.000; any other line is
/// itself.
pub fn untimed(text: &str) -> Cow<'_, str> {
    let body = text.strip_prefix("* ").unwrap_or(text);
    let timed = body.starts_with("DB loaded from ") && text.ends_with(" seconds");
    match text.rsplit_once(": ") {
        Some((what, secs)) if timed && secs.trim_end_matches(" seconds").bytes().all(|c| c.is_ascii_digit() || c == b'.') => {
            Cow::Owned(format!("{what}: 0.000 seconds"))
        }
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NOW: AtomicU64 = AtomicU64::new(0);

    fn clock() -> u64 {
        NOW.load(Ordering::Relaxed)
    }

    #[test]
    fn seconds_as_redis_prints_them() {
        NOW.store(5_000_000, Ordering::Relaxed);
        let s = started(Some(clock));
        NOW.store(5_012_345, Ordering::Relaxed);
        assert_eq!(line("DB loaded from append only file", Some(clock), s), "DB loaded from append only file: 0.012 seconds");
        NOW.store(5_000_000 + 1_500, Ordering::Relaxed);
        assert_eq!(seconds_since(Some(clock), s), "0.002", "%.3f rounds");
        NOW.store(5_000_000 + 83_000_000, Ordering::Relaxed);
        assert_eq!(seconds_since(Some(clock), s), "83.000");
        // Without a clock, and with one that went backwards (never negative).
        assert_eq!(line("DB loaded from disk", None, 0), "DB loaded from disk: 0.000 seconds");
        assert_eq!(seconds_since(Some(clock), u64::MAX), "0.000");
    }

    #[test]
    fn untimed_lines() {
        assert_eq!(untimed("DB loaded from incr file a b: c.aof: 1.234 seconds"), "DB loaded from incr file a b: c.aof: 0.000 seconds");
        assert_eq!(untimed("DB loaded from disk: 0.000 seconds"), "DB loaded from disk: 0.000 seconds");
        assert_eq!(untimed("* DB loaded from append only file: 83.000 seconds"), "* DB loaded from append only file: 0.000 seconds");
        for other in ["Done loading RDB, keys loaded: 3, keys expired: 0.", "RDB age 12 seconds", "DB loaded from disk: soon seconds"] {
            assert!(matches!(untimed(other), Cow::Borrowed(_)), "{other}");
        }
    }
}
