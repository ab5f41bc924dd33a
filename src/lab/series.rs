//! The lab's figures over time, for the plots: one sample per event-loop turn (a command turn
//! or a serverCron tick), kept by the lab itself so that a checkpoint of the lab carries its
//! history and a plot can be drawn for any moment of the timeline.
//!
//! A sample holds what the three plots draw:
//!
//! * **file sizes** by kind (base, incr, history, temp, dump.rdb) and the AOF size from which
//!   serverCron starts a rewrite by itself (`auto-aof-rewrite-percentage` over the base size, and
//!   `auto-aof-rewrite-min-size`), so that a learner sees *why* a rewrite started;
//! * **writes**: acknowledged write commands and the bytes they appended (running totals; the
//!   rates are derived per sample), and the policy in force;
//! * **fsyncs**: how many ran and how long each took (the simulated disk's latency: the bio
//!   thread's under everysec), and everysec's postponed writes (`aof_delayed_fsync`).
//!
//! Samples live in copy-on-write chunks: a clone (a timeline checkpoint) copies a pointer per
//! chunk. Past [`MAX_SAMPLES`], every other sample of the oldest half is dropped (the plots
//! downsample anyway; recent turns stay exact).

use std::sync::Arc;

use super::Lab;
use crate::config::AppendFsync;

/// Samples kept before the oldest half is thinned.
pub const MAX_SAMPLES: usize = 20_000;
const CHUNK: usize = 512;
/// Rates (writes/s, bytes/s) are averaged over this much simulated time.
const RATE_WINDOW_MS: i64 = 1000;

/// One turn's figures (see the module docs). Sizes in bytes; counters are running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    pub t_ms: i64,
    pub base: u64,
    pub incr: u64,
    pub history: u64,
    pub temp: u64,
    pub rdb: u64,
    /// `aof_current_size` (what the rewrite trigger compares).
    pub aof_size: u64,
    /// The size from which a rewrite starts by itself; 0 when auto-rewrite is off.
    pub threshold: u64,
    pub aof_buf: u64,
    /// The current incr file's bytes on disk (the rest is in the page cache).
    pub incr_durable: u64,
    pub writes: u64,
    pub write_bytes: u64,
    pub fsyncs: u64,
    pub delayed_fsyncs: u64,
    pub rewriting: bool,
    pub policy: u8,
}

/// The samples, in copy-on-write chunks.
#[derive(Clone, Debug, Default)]
pub struct Series {
    chunks: Vec<Arc<Vec<Sample>>>,
    len: usize,
    /// fsync durations seen (ms), as `(t_ms, duration)`.
    fsyncs: Vec<(i64, i64)>,
    /// Running totals carried from turn to turn.
    writes: u64,
    write_bytes: u64,
    fsync_count: u64,
}

impl Series {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Sample> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    pub fn last(&self) -> Option<&Sample> {
        self.chunks.last().and_then(|c| c.last())
    }

    fn push(&mut self, s: Sample) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).push(s);
        }
        self.len += 1;
        if self.len > MAX_SAMPLES {
            self.thin();
        }
    }

    /// Drops every other sample of the oldest half.
    fn thin(&mut self) {
        let all: Vec<Sample> = self.iter().copied().collect();
        let half = all.len() / 2;
        let kept: Vec<Sample> = all[..half].iter().step_by(2).chain(&all[half..]).copied().collect();
        self.len = kept.len();
        self.chunks = kept.chunks(CHUNK).map(|c| Arc::new(c.to_vec())).collect();
    }

    /// Counts writes acknowledged in a turn (commands that propagated, and their bytes).
    pub fn count_writes(&mut self, commands: u64, bytes: u64) {
        self.writes += commands;
        self.write_bytes += bytes;
    }

    /// A fsync of `duration` ms (0: synchronous) completed at `t_ms`.
    pub fn count_fsync(&mut self, t_ms: i64, duration: i64) {
        self.fsync_count += 1;
        self.fsyncs.push((t_ms, duration));
        if self.fsyncs.len() > MAX_SAMPLES {
            self.fsyncs.drain(..MAX_SAMPLES / 2);
        }
    }

    /// The fsync durations completed up to `t_ms`, in buckets of `[0, 1, 2, 5, 10, 20, 50, 100,
    /// 200, 500, 1000, 2000, 5000+]` ms: `(bucket lower bounds, counts)`.
    pub fn fsync_histogram(&self, t_ms: i64) -> (Vec<i64>, Vec<u64>) {
        const BOUNDS: [i64; 13] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
        let mut counts = vec![0u64; BOUNDS.len()];
        for &(t, d) in self.fsyncs.iter().filter(|(t, _)| *t <= t_ms) {
            let _ = t;
            let i = BOUNDS.iter().rposition(|&b| d >= b).unwrap_or(0);
            counts[i] += 1;
        }
        (BOUNDS.to_vec(), counts)
    }

    /// The columns as JSON for the plots: `{t: [s since `t0`], base, incr, history, temp, rdb,
    /// aof_size, threshold, aof_buf, incr_durable, writes_per_s, bytes_per_s, fsyncs,
    /// delayed_fsyncs, rewriting: [0|1], policy: [0 always|1 everysec|2 no], fsync_hist:
    /// {bounds, counts}}`, samples after `since` only (all when 0), and `next` to pass again.
    pub fn to_json(&self, t0: i64, since: usize, until_ms: i64) -> String {
        let samples: Vec<&Sample> = self.iter().collect();
        let from = since.min(samples.len());
        let mut cols: Vec<(&str, Vec<String>)> = Vec::new();
        let col = |f: &dyn Fn(usize, &Sample) -> String| -> Vec<String> { (from..samples.len()).map(|i| f(i, samples[i])).collect() };
        // Per second, over the second before each sample (less at the very start).
        let rate = |i: usize, value: &dyn Fn(&Sample) -> u64| -> String {
            let now = samples[i].t_ms;
            let first = samples[0].t_ms;
            let window = RATE_WINDOW_MS.min(now - first);
            if window <= 0 {
                return "0".into();
            }
            // The last sample at or before the window's start: what had been counted by then.
            let start = samples[..=i].partition_point(|s| s.t_ms <= now - window);
            let before = start.checked_sub(1).map_or(0, |j| value(samples[j]));
            format!("{:.1}", value(samples[i]).saturating_sub(before) as f64 * 1000.0 / window as f64)
        };
        cols.push(("t", col(&|_, s| format!("{:.3}", (s.t_ms - t0) as f64 / 1000.0))));
        for (name, get) in [
            ("base", (|s: &Sample| s.base) as fn(&Sample) -> u64),
            ("incr", |s| s.incr),
            ("history", |s| s.history),
            ("temp", |s| s.temp),
            ("rdb", |s| s.rdb),
            ("aof_size", |s| s.aof_size),
            ("threshold", |s| s.threshold),
            ("aof_buf", |s| s.aof_buf),
            ("incr_durable", |s| s.incr_durable),
            ("fsyncs", |s| s.fsyncs),
            ("delayed_fsyncs", |s| s.delayed_fsyncs),
            ("rewriting", |s| u64::from(s.rewriting)),
            ("policy", |s| u64::from(s.policy)),
        ] {
            cols.push((name, col(&|_, s| get(s).to_string())));
        }
        cols.push(("writes_per_s", col(&|i, _| rate(i, &|s| s.writes))));
        cols.push(("bytes_per_s", col(&|i, _| rate(i, &|s| s.write_bytes))));
        let (bounds, counts) = self.fsync_histogram(until_ms);
        let mut out = String::from("{");
        for (name, values) in cols {
            out.push_str(&format!("\"{name}\":[{}],", values.join(",")));
        }
        out.push_str(&format!(
            "\"fsync_hist\":{{\"bounds\":[{}],\"counts\":[{}]}},\"next\":{}}}",
            bounds.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
            counts.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
            samples.len()
        ));
        out
    }
}

impl Lab {
    /// Records the turn that just ended (called at the end of every turn).
    pub(super) fn sample(&mut self, now: i64) {
        let srv = &self.engine.srv;
        let mut s = Sample {
            t_ms: now,
            aof_size: srv.aof.current_size,
            threshold: srv.auto_rewrite_threshold().unwrap_or(0),
            aof_buf: srv.feed.aof_buf.len() as u64,
            fsyncs: self.series.fsync_count,
            delayed_fsyncs: srv.aof.delayed_fsync,
            rewriting: srv.aof.child.is_some(),
            writes: self.series.writes,
            write_bytes: self.series.write_bytes,
            policy: match srv.config.appendfsync {
                AppendFsync::Always => 0,
                AppendFsync::EverySec => 1,
                AppendFsync::No => 2,
            },
            ..Sample::default()
        };
        let incr = srv.aof.incr_path.clone();
        for f in self.file_layers().unwrap_or_default() {
            let size = f.len;
            match self.file_kind(&f.name) {
                "base" => s.base += size,
                "incr" | "aof" => s.incr += size,
                "history" => s.history += size,
                "temp" => s.temp += size,
                "rdb" => s.rdb += size,
                _ => {}
            }
            if incr.as_deref() == Some(f.name.as_str()) {
                s.incr_durable = f.durable_len;
            }
        }
        self.series.push(s);
    }

    /// The plots' data: see [`Series::to_json`].
    pub fn series_json(&self, since: usize) -> String {
        let until = self.series.last().map_or(0, |s| s.t_ms);
        self.series.to_json(self.started_ms, since, until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::lab::memory_lab;

    const T0: i64 = 1_700_000_000_000;

    fn lab(settings: &[(&str, &str)]) -> Lab {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        for (k, v) in settings {
            c.set(k, v, true).unwrap();
        }
        memory_lab(c, T0)
    }

    fn column(json: &str, name: &str) -> Vec<f64> {
        let at = json.find(&format!("\"{name}\":[")).unwrap_or_else(|| panic!("{name} in {json}")) + name.len() + 4;
        let end = at + json[at..].find(']').unwrap();
        json[at..end].split(',').filter(|v| !v.is_empty()).map(|v| v.parse().unwrap()).collect()
    }

    /// The AOF grows past the threshold, cron starts a rewrite by itself, the sizes drop and
    /// the threshold moves up with the new base: the plot shows why the rewrite started.
    #[test]
    fn the_threshold_explains_an_automatic_rewrite() {
        let mut l = lab(&[
            ("auto-aof-rewrite-min-size", "1000"),
            ("auto-aof-rewrite-percentage", "100"),
            ("appendfsync", "always"),
            ("rdbcompression", "no"),
        ]);
        let mut t = T0;
        for i in 0..400 {
            l.execute_line(&format!("SET key{} {i:0>40}", i % 20), t);
            t += 100;
            l.tick(t);
            if l.engine.srv.aof.rewrites > 0 && l.engine.srv.aof.child.is_none() {
                break;
            }
        }
        assert_eq!(l.engine.srv.aof.rewrites, 1, "an automatic rewrite ran");
        let j = l.series_json(0);
        let (size, threshold, rewriting) = (column(&j, "aof_size"), column(&j, "threshold"), column(&j, "rewriting"));
        let started = rewriting.iter().position(|&r| r == 1.0).or_else(|| {
            // An instant child starts and finishes in one tick: the size drops there.
            size.windows(2).position(|w| w[1] < w[0]).map(|p| p + 1)
        });
        let at = started.expect("the rewrite shows in the samples");
        assert!(
            size[at - 1] >= threshold[at - 1],
            "it started when the size reached the threshold: {} vs {}",
            size[at - 1],
            threshold[at - 1]
        );
        assert!(size[..at - 1].iter().zip(&threshold).all(|(s, t)| s < t), "and not before");
        assert_eq!(threshold[0], 1001.0, "min-size first (a fresh base counts as 1 byte)");
        let last = size.len() - 1;
        assert!(size[last] < size[at - 1], "the rewrite shrank the AOF");
        assert!(threshold[last] > 1001.0, "the new base raised the threshold: {}", threshold[last]);
        assert!(column(&j, "base").last().unwrap() > &0.0);
    }

    #[test]
    fn writes_per_second_and_fsyncs() {
        let mut l = lab(&[("appendfsync", "everysec")]);
        l.engine.srv.aof.fsync_latency_ms = 300;
        let mut t = T0;
        for i in 0..30 {
            l.execute_batch(&[format!("SET a {i}"), format!("SET b {i}"), "GET a".into()], t);
            t += 100;
            l.tick(t);
        }
        let j = l.series_json(0);
        let rates = column(&j, "writes_per_s");
        let steady = &rates[rates.len() / 2..];
        assert!(steady.iter().all(|&r| (18.0..=22.0).contains(&r)), "2 writes per 100 ms turn, about 20/s: {rates:?}");
        assert!(column(&j, "bytes_per_s").iter().any(|&b| b > 0.0));
        let fsyncs = column(&j, "fsyncs");
        assert!(fsyncs.last().unwrap() >= &2.0, "about one background fsync a second: {fsyncs:?}");
        let hist_at = j.find("\"fsync_hist\"").unwrap();
        assert!(j[hist_at..].contains("\"counts\":[0,0,0,0,0,0,0,0,"), "{}", &j[hist_at..]);
        let (bounds, counts) = l.series.fsync_histogram(t);
        let slow = bounds.iter().position(|&b| b == 200).unwrap();
        assert_eq!(counts.iter().sum::<u64>(), counts[slow], "every fsync took 300 ms: {counts:?}");
        // Incremental: only what is new.
        let n = column(&j, "t").len();
        let again = l.series_json(n);
        assert_eq!(column(&again, "t").len(), 0);
        assert!(again.ends_with(&format!("\"next\":{n}}}")));
    }

    #[test]
    fn samples_are_thinned_not_lost_and_cloning_is_cheap() {
        let mut s = Series::default();
        for i in 0..(MAX_SAMPLES as i64 + 10) {
            s.push(Sample { t_ms: i, ..Sample::default() });
        }
        assert!(s.len() <= MAX_SAMPLES && s.len() > MAX_SAMPLES / 2);
        let ts: Vec<i64> = s.iter().map(|x| x.t_ms).collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(*ts.last().unwrap(), MAX_SAMPLES as i64 + 9, "recent samples kept");
        let c = s.clone();
        assert!(Arc::ptr_eq(&c.chunks[0], &s.chunks[0]));
    }
}
