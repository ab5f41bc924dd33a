//! Per-command statistics as Redis 7.0.15 keeps them: `INFO commandstats` (calls, usec,
//! rejected and failed calls), the per-command latency histogram of `latency-tracking`,
//! `INFO latencystats` (its percentiles) and `LATENCY HISTOGRAM`.
//!
//! **Where they are counted** (`call()`, `rejectCommand*`, `afterErrorReply`,
//! `updateStatsOnUnblock` in Redis):
//! * `calls` and `usec` in [`crate::cmd::call`] for every command that runs: top level, inside
//!   EXEC, from a script's `redis.call`. A command that blocks is counted when it blocks; once
//!   served (`Client::ready_key`) it adds its time, its failure and its latency sample, not
//!   another call; timing out (or CLIENT UNBLOCK TIMEOUT) adds nothing; CLIENT UNBLOCK ERROR
//!   counts a failure and a sample. Commands queued by MULTI are counted when EXEC runs them.
//!   Nothing is counted while loading (Redis's AOF client runs `proc` directly, EXEC's
//!   commands there with `CMD_CALL_NONE`, and scripts lose `CMD_CALL_STATS` while loading).
//! * `rejected_calls` where `processCommand` refuses a command it found (wrong arity, NOAUTH,
//!   ACL, OOM, MISCONF, BUSY, not allowed in MULTI or in a subscribed context, protected) and
//!   where a script's `redis.call` is refused (`scriptCall`'s `error:`). An unknown command
//!   or subcommand has no entry to count on.
//! * `failed_calls` when a command that ran replied an error: a top-level error, an error
//!   nested in a script's reply (Redis counts every `afterErrorReply`), and EXEC's own errors.
//!   Errors of EXEC's commands count on those commands, as Redis's `prev_err_count` makes it;
//!   an ACL refusal of a queued command inside EXEC counts on EXEC only when no command ran
//!   after it.
//! * `usec` comes from the host's `Config::command_clock` (`aof-lab serve`); the lab lends
//!   none, so there every command takes 0 µs (and is sampled as 1 ns, the histogram's floor).
//!
//! The counters are indexed by the command's position in the table (no string hashing on the
//! hot path); the order of INFO and LATENCY HISTOGRAM is the table's, each container followed
//! by its subcommands. Redis walks a hash table with a random seed, so its order is no order.
//!
//! **The histogram** is a port of the few functions of Redis's `deps/hdr_histogram` that these
//! parameters use (lowest discernible value 1 ns, highest 1 s, 2 significant figures: 3072
//! counters, allocated at a command's first sample as Redis does), rather than the
//! `hdrhistogram` crate: `LATENCY HISTOGRAM` prints the *current bucket's*
//! `highest_equivalent_value` at each step of C's logarithmic iterator (not the step's
//! reporting level), a quirk of the C iterator's state that the crate's iterator does not
//! expose; porting ~100 lines is smaller than the dependency and exact by construction. The
//! bucket keys and percentiles are checked against values observed from redis-server in the
//! tests below.

use std::fmt::Write;
use std::sync::OnceLock;

use crate::cmd::{Command, all_commands};
use crate::reply::Reply;
use crate::server::{Ctx, Server};

/// `LATENCY_HISTOGRAM_MIN_VALUE`, `_MAX_VALUE` (ns) and `_PRECISION`.
const MIN_VALUE: i64 = 1;
const MAX_VALUE: i64 = 1_000_000_000;
// hdr_calculate_bucket_config(1, 1e9, 2): sub_bucket_count_magnitude = ceil(log2(2 * 10^2)) = 8,
// unit_magnitude = log2(1) = 0, 23 buckets to cover 1e9.
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 7;
const SUB_BUCKET_HALF_COUNT: i64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_COUNT: i64 = 2 * SUB_BUCKET_HALF_COUNT;
const SUB_BUCKET_MASK: i64 = SUB_BUCKET_COUNT - 1;
const BUCKET_COUNT: usize = 23;
const COUNTS_LEN: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT as usize;

/// An `hdr_histogram` with Redis's latency parameters.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<i64>,
    total_count: i64,
}

fn bucket_index(value: i64) -> u32 {
    64 - (value | SUB_BUCKET_MASK).leading_zeros() - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

fn sub_bucket_index(value: i64, bucket: u32) -> i64 {
    value >> bucket
}

fn counts_index_for(value: i64) -> usize {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    (((i64::from(bucket) + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT) as usize
}

/// `hdr_value_at_index`.
fn value_at_index(index: usize) -> i64 {
    let index = index as i64;
    let mut bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
    let mut sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    sub << bucket
}

/// `lowest_equivalent_value` and `hdr_size_of_equivalent_value_range`.
fn equivalent_range(value: i64) -> (i64, i64) {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    let adjusted = if sub >= SUB_BUCKET_COUNT { bucket + 1 } else { bucket };
    (sub << bucket, 1 << adjusted)
}

fn lowest_equivalent_value(value: i64) -> i64 {
    equivalent_range(value).0
}

fn highest_equivalent_value(value: i64) -> i64 {
    let (low, size) = equivalent_range(value);
    low + size - 1
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { counts: vec![0; COUNTS_LEN], total_count: 0 }
    }

    /// `updateCommandLatencyHistogram`'s clamp, then `hdr_record_value`.
    pub fn record(&mut self, ns: i64) {
        let value = ns.clamp(MIN_VALUE, MAX_VALUE);
        self.counts[counts_index_for(value)] += 1;
        self.total_count += 1;
    }

    pub fn total_count(&self) -> i64 {
        self.total_count
    }

    /// `hdr_value_at_percentile`.
    pub fn value_at_percentile(&self, percentile: f64) -> i64 {
        let requested = percentile.min(100.0);
        let count_at = (((requested / 100.0) * self.total_count as f64) + 0.5) as i64;
        let count_at = count_at.max(1);
        let mut cumulative = 0;
        let mut value = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            cumulative += c;
            if cumulative >= count_at {
                value = value_at_index(idx);
                break;
            }
        }
        if percentile == 0.0 { lowest_equivalent_value(value) } else { highest_equivalent_value(value) }
    }

    /// `fillCommandCDF`'s walk: `hdr_iter_log_init(h, 1024, 2)`, and at each step where the
    /// cumulative count grew, the iterator's `highest_equivalent_value / 1000` (µs) and that
    /// count.
    pub fn cdf_usec(&self) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut it = LogIter::new(self);
        let mut previous = 0;
        while it.next() {
            if it.cumulative_count > previous {
                out.push((it.highest_equivalent_value / 1000, it.cumulative_count));
            }
            previous = it.cumulative_count;
        }
        out
    }
}

/// C's `hdr_iter` with `log_iter_next`, log base 2.
struct LogIter<'a> {
    h: &'a Histogram,
    counts_index: i64,
    cumulative_count: i64,
    value: i64,
    highest_equivalent_value: i64,
    next_reporting_level: i64,
    next_reporting_level_lowest: i64,
}

impl<'a> LogIter<'a> {
    fn new(h: &'a Histogram) -> LogIter<'a> {
        LogIter {
            h,
            counts_index: -1,
            cumulative_count: 0,
            value: 0,
            highest_equivalent_value: 0,
            next_reporting_level: 1024,
            next_reporting_level_lowest: lowest_equivalent_value(1024),
        }
    }

    fn move_next(&mut self) -> bool {
        self.counts_index += 1;
        let Some(&count) = self.h.counts.get(self.counts_index as usize) else {
            return false;
        };
        self.cumulative_count += count;
        self.value = value_at_index(self.counts_index as usize);
        let (low, size) = equivalent_range(self.value);
        self.highest_equivalent_value = low + size - 1;
        true
    }

    fn next_value_greater_than(&self, bound: i64) -> bool {
        if self.counts_index >= COUNTS_LEN as i64 {
            return false;
        }
        value_at_index((self.counts_index + 1) as usize) > bound
    }

    fn next(&mut self) -> bool {
        if self.cumulative_count < self.h.total_count || self.next_value_greater_than(self.next_reporting_level_lowest) {
            loop {
                if self.value >= self.next_reporting_level_lowest {
                    self.next_reporting_level *= 2;
                    self.next_reporting_level_lowest = lowest_equivalent_value(self.next_reporting_level);
                    return true;
                }
                if !self.move_next() {
                    return true;
                }
            }
        }
        false
    }
}

/// One command's counters (`struct redisCommand`'s `calls`, `microseconds`, `rejected_calls`,
/// `failed_calls`, `latency_histogram`).
#[derive(Clone, Debug, Default)]
pub struct CommandStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub histogram: Option<Box<Histogram>>,
}

impl CommandStat {
    fn sample(&mut self, usec: u64) {
        let ns = i64::try_from(usec.saturating_mul(1000)).unwrap_or(i64::MAX);
        self.histogram.get_or_insert_with(|| Box::new(Histogram::new())).record(ns);
    }
}

/// Every command's counters, by [`command_index`]; grown on first use.
#[derive(Clone, Debug, Default)]
pub struct CommandStats {
    stats: Vec<CommandStat>,
}

impl CommandStats {
    fn get_mut(&mut self, cmd: &'static Command) -> Option<&mut CommandStat> {
        let i = command_index(cmd)?;
        if self.stats.len() <= i {
            self.stats.resize_with(order().len(), CommandStat::default);
        }
        self.stats.get_mut(i)
    }
    pub fn get(&self, cmd: &'static Command) -> Option<&CommandStat> {
        self.stats.get(command_index(cmd)?)
    }
    /// The commands with an entry, in the table's order, with their full names.
    fn iter(&self) -> impl Iterator<Item = (&'static str, &CommandStat)> {
        order().iter().zip(&self.stats).map(|((_, name), s)| (name.as_str(), s))
    }
}

/// The table in INFO's order (each container, then its subcommands), with full names; and the
/// commands' addresses sorted, for the index of a `&'static Command`.
struct Index {
    order: Vec<(&'static Command, String)>,
    by_addr: Vec<(usize, usize)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut order = Vec::new();
        for c in all_commands() {
            order.push((c, c.name.to_string()));
            for s in c.subcommands {
                order.push((s, format!("{}|{}", c.name, s.name)));
            }
        }
        let mut by_addr: Vec<(usize, usize)> = order.iter().enumerate().map(|(i, (c, _))| (std::ptr::from_ref(*c) as usize, i)).collect();
        by_addr.sort_unstable();
        Index { order, by_addr }
    })
}

fn order() -> &'static [(&'static Command, String)] {
    &index().order
}

/// The command's position in the table: a binary search of its address, no hashing.
pub fn command_index(cmd: &Command) -> Option<usize> {
    let by_addr = &index().by_addr;
    let addr = std::ptr::from_ref(cmd) as usize;
    by_addr.binary_search_by_key(&addr, |&(a, _)| a).ok().map(|i| by_addr[i].1)
}

/// Whether a command that ran failed (`afterErrorReply` during its `proc`, not in a nested
/// call): its reply is an error, or (scripts) holds one at any depth.
fn reply_failed(cmd: &Command, reply: &Reply) -> bool {
    fn nested_error(r: &Reply) -> bool {
        match r {
            Reply::Error(_) => true,
            Reply::Array(items) | Reply::Set(items) => items.iter().any(nested_error),
            Reply::Map(pairs) => pairs.iter().any(|(k, v)| nested_error(k) || nested_error(v)),
            _ => false,
        }
    }
    match reply {
        Reply::Error(_) => true,
        Reply::Array(_) | Reply::Map(_) | Reply::Set(_) if crate::cmd::scripting::runs_a_script(cmd) => nested_error(reply),
        _ => false,
    }
}

/// The statistics part of `call()` (and of `updateStatsOnUnblock` for a served blocked
/// client, `serving`): `blocked` when the command blocked rather than replied; `failed`
/// forces a failure (EXEC's refused commands, see the module doc).
pub fn after_call(srv: &mut Server, cmd: &'static Command, reply: &Reply, serving: bool, blocked: bool, failed: bool, usec: u64) {
    let tracking = srv.config.latency_tracking;
    let Some(s) = srv.stats.commands.get_mut(cmd) else {
        return;
    };
    if serving && blocked {
        return; // not served after all: still waiting
    }
    s.usec += usec;
    if !serving {
        s.calls += 1;
    }
    if blocked {
        return; // latency and failure are counted when it is served
    }
    if failed || reply_failed(cmd, reply) {
        s.failed_calls += 1;
    }
    if tracking {
        s.sample(usec);
    }
}

/// `rejectCommand`: the command was found but refused before running.
pub fn rejected(srv: &mut Server, cmd: &'static Command) {
    if let Some(s) = srv.stats.commands.get_mut(cmd) {
        s.rejected_calls += 1;
    }
}

/// `updateStatsOnUnblock(c, 0, 0, 1)` of CLIENT UNBLOCK … ERROR: a failure and a sample (of
/// the blocking call's own duration, which the engine does not keep: 0).
pub fn unblocked_with_error(srv: &mut Server, cmd: &'static Command) {
    let tracking = srv.config.latency_tracking;
    if let Some(s) = srv.stats.commands.get_mut(cmd) {
        s.failed_calls += 1;
        if tracking {
            s.sample(0);
        }
    }
}

/// `genRedisInfoStringCommandStats`.
pub fn info_commandstats(srv: &Server, out: &mut String) {
    for (name, s) in srv.stats.commands.iter() {
        if s.calls == 0 && s.failed_calls == 0 && s.rejected_calls == 0 {
            continue;
        }
        // `(float)c->microseconds/c->calls`, printed with %.2f.
        let per_call = if s.calls == 0 { 0.0 } else { f64::from(s.usec as f32 / s.calls as f32) };
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            s.calls, s.usec, s.rejected_calls, s.failed_calls
        );
    }
}

/// `genRedisInfoStringLatencyStats` / `fillPercentileDistributionLatencies`: the percentiles of
/// `latency-tracking-info-percentiles`, named as its `%f` (trailing zeros trimmed) prints them.
pub fn info_latencystats(srv: &Server, out: &mut String) {
    let list = srv.config.get("latency-tracking-info-percentiles").unwrap_or_default();
    let percentiles: Vec<(&str, f64)> =
        list.split(' ').filter(|p| !p.is_empty()).map(|p| (p, crate::util::string2d(p.as_bytes()).unwrap_or(0.0))).collect();
    for (name, s) in srv.stats.commands.iter() {
        let Some(h) = &s.histogram else {
            continue;
        };
        let _ = write!(out, "latency_percentiles_usec_{name}:");
        for (j, (label, p)) in percentiles.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "p{label}={:.3}", h.value_at_percentile(*p) as f64 / 1000.0);
        }
        out.push_str("\r\n");
    }
}

/// `fillCommandCDF`: `{calls: n, histogram_usec: {µs: cumulative count, …}}`.
fn command_cdf(h: &Histogram) -> Reply {
    let buckets = h.cdf_usec().into_iter().map(|(us, n)| (Reply::Int(us), Reply::Int(n))).collect();
    Reply::Map(vec![(Reply::bulk("calls"), Reply::Int(h.total_count())), (Reply::bulk("histogram_usec"), Reply::Map(buckets))])
}

/// `lookupCommandBySds`: `name` or `container|sub`, case-insensitive.
fn lookup_by_fullname(name: &[u8]) -> Option<&'static Command> {
    let mut parts = name.split(|&b| b == b'|');
    let base = crate::cmd::lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) if !base.subcommands.is_empty() => crate::cmd::lookup_sub(base, sub),
        _ => None,
    }
}

/// `LATENCY HISTOGRAM [command ...]`: every command with samples, or the named ones (a
/// container names itself and its subcommands; unknown names are skipped).
pub fn latency_histogram(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let stats = &ctx.srv.stats.commands;
    let mut out = Vec::new();
    let mut add = |cmd: &'static Command| {
        if let Some(h) = stats.get(cmd).and_then(|s| s.histogram.as_deref())
            && let Some(i) = command_index(cmd)
        {
            out.push((Reply::bulk(order()[i].1.as_str()), command_cdf(h)));
        }
    };
    if argv.len() == 2 {
        for (cmd, _) in order() {
            add(cmd);
        }
    } else {
        for name in &argv[2..] {
            let Some(cmd) = lookup_by_fullname(name) else {
                continue;
            };
            add(cmd);
            for sub in cmd.subcommands {
                add(sub);
            }
        }
    }
    Reply::Map(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values_ns: &[i64]) -> Histogram {
        let mut h = Histogram::new();
        for &v in values_ns {
            h.record(v);
        }
        h
    }

    #[test]
    fn buckets_are_those_of_redis_hdr_histogram() {
        // hdr_init(1, 1e9, 2): 3072 counters; the last one holds values up to 1e9.
        assert_eq!(COUNTS_LEN, 3072);
        assert!(counts_index_for(MAX_VALUE) < COUNTS_LEN);
        assert_eq!(highest_equivalent_value(1), 1);
        assert_eq!(highest_equivalent_value(2000), 2007);
        assert_eq!(lowest_equivalent_value(1024), 1024);
        assert_eq!(highest_equivalent_value(1_000_000_000), 1_002_438_655);
    }

    /// Values recorded into Redis 7.0.15's own `deps/hdr_histogram` (built with a small C driver:
    /// `hdr_init(1, 1e9, 2)`, the clamp, `hdr_value_at_percentile` printed as INFO latencystats
    /// prints it, and `fillCommandCDF`'s loop), against the port. The first two are the shapes
    /// a redis-server gave for `DEBUG SLEEP 0 / 0.002 / 0.01` (`132:1 2113:2 16908:3`) and three
    /// SETs (`8:2 16:3`, p50=7.007).
    #[test]
    fn percentiles_and_cdf_match_the_c_hdr_histogram() {
        let cases: &[(&[i64], &str, &str)] = &[
            (
                &[130_000, 2_113_000, 10_158_000],
                "p0=129.536 p50=2113.535 p99=10158.079 p99.9=10158.079 p99.99=10158.079 p100=10158.079 p50.5=2113.535 p12.345=130.047",
                "132:1 2113:2 16908:3",
            ),
            (
                &[5000, 7000, 11_000],
                "p0=4.992 p50=7.007 p99=11.007 p99.9=11.007 p99.99=11.007 p100=11.007 p50.5=7.007 p12.345=5.023",
                "8:2 16:3",
            ),
            (
                &[27_000, 2_113_000, 10_158_000],
                "p0=26.880 p50=2113.535 p99=10158.079 p99.9=10158.079 p99.99=10158.079 p100=10158.079 p50.5=2113.535 p12.345=27.007",
                "33:1 2113:2 16908:3",
            ),
            (
                &[1, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 65535, 65536, 1_000_000, 999_999_999, 1_000_000_000, 2_000_000_000],
                "p0=0.001 p50=4.095 p99=1002438.655 p99.9=1002438.655 p99.99=1002438.655 p100=1002438.655 p50.5=4.095 p12.345=1.023",
                "1:4 2:7 4:9 66:11 1056:12 1073741:15",
            ),
            (
                &[500, 1500, 1500, 3000, 3000, 3000, 70_000, 250_000, 250_001, 8_000_000],
                "p0=0.500 p50=3.007 p99=8028.159 p99.9=8028.159 p99.99=8028.159 p100=8028.159 p50.5=3.007 p12.345=0.501",
                "1:1 2:3 4:6 132:7 264:9 8454:10",
            ),
            (&[1000], "p0=1.000 p50=1.003 p99=1.003 p99.9=1.003 p99.99=1.003 p100=1.003 p50.5=1.003 p12.345=1.003", "1:1"),
            (
                &[37_000, 64_000, 27_950],
                "p0=27.904 p50=37.119 p99=64.255 p99.9=64.255 p99.99=64.255 p100=64.255 p50.5=37.119 p12.345=28.031",
                "33:1 66:3",
            ),
        ];
        for (values, percentiles, cdf) in cases {
            let h = hist(values);
            let got: Vec<String> = [0.0, 50.0, 99.0, 99.9, 99.99, 100.0, 50.5, 12.345]
                .iter()
                .map(|p| format!("p{p}={:.3}", h.value_at_percentile(*p) as f64 / 1000.0))
                .collect();
            assert_eq!(got.join(" "), *percentiles, "{values:?}");
            let got: Vec<String> = h.cdf_usec().iter().map(|(us, n)| format!("{us}:{n}")).collect();
            assert_eq!(got.join(" "), *cdf, "{values:?}");
        }
    }

    #[test]
    fn no_clock_samples_are_the_floor() {
        // Without a clock every command takes 0 µs, recorded as 1 ns (the minimum).
        let h = hist(&[0, 0, 0]);
        assert_eq!(h.cdf_usec(), vec![(1, 3)]);
        assert_eq!(format!("{:.3}", h.value_at_percentile(50.0) as f64 / 1000.0), "0.001");
    }
}
