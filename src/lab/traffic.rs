//! A traffic generator: clients sending a steady stream of commands, so that the write path,
//! the files and the plots move by themselves, and so that the three `appendfsync` policies can
//! be compared on the same load.
//!
//! The traffic is a pure function of its settings and of simulated time: command number `n`
//! arrives at `start + n / rate` seconds and is chosen by hashing `(seed, n)` (a read or a write
//! by `write_percent`, a key among `keys`, a value of `value_size` bytes). So the lab stays
//! deterministic: a timeline replays it byte for byte. The commands that arrived since the last
//! serverCron tick run in that tick's event-loop turn, on a client of their own (group commit:
//! one `write()`, and under `always` one fsync, for all of them), without a console line each;
//! one `traffic` event per turn says how many ran.
//!
//! The writes are `SET k:<n> <value>` (four in five) and `INCR counter:<n>`; the reads `GET`.
//! A small key space with many writes makes the AOF grow while the dataset does not: the
//! "oversized AOF" that auto-rewrite exists for.

use super::Lab;
use crate::Config;
use crate::server::ClientId;

/// The fastest traffic offered (commands per second of simulated time).
pub const MAX_RATE: u32 = 50_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrafficSpec {
    /// Commands per second of simulated time (1 … [`MAX_RATE`]).
    pub rate: u32,
    /// Share of writes, in percent.
    pub write_percent: u8,
    /// Keys the commands pick from.
    pub keys: u32,
    /// Bytes per value written.
    pub value_size: u32,
    pub seed: u64,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec { rate: 100, write_percent: 80, keys: 1000, value_size: 32, seed: 1 }
    }
}

impl TrafficSpec {
    /// The settings, each checked: `rate` 1 … 50 000, `write_percent` 0 … 100, `keys` 1 … 10
    /// million, `value_size` 1 … 1 MB.
    pub fn new(rate: u32, write_percent: u8, keys: u32, value_size: u32, seed: u64) -> Result<TrafficSpec, String> {
        if !(1..=MAX_RATE).contains(&rate) {
            return Err(format!("traffic: rate must be 1 … {MAX_RATE} commands/s"));
        }
        if write_percent > 100 {
            return Err("traffic: the share of writes is a percentage (0 … 100)".into());
        }
        if !(1..=10_000_000).contains(&keys) {
            return Err("traffic: the key space is 1 … 10000000 keys".into());
        }
        if !(1..=1_048_576).contains(&value_size) {
            return Err("traffic: values are 1 … 1048576 bytes".into());
        }
        Ok(TrafficSpec { rate, write_percent, keys, value_size, seed })
    }

    /// Commands that arrived in the first `elapsed_ms` of the traffic.
    fn arrived(&self, elapsed_ms: i64) -> u64 {
        (elapsed_ms.max(0) as u128 * u128::from(self.rate) / 1000) as u64
    }

    /// Command number `n`.
    fn command(&self, n: u64, value: &mut Vec<u8>) -> Vec<Vec<u8>> {
        let h = super::super::storage::machine::mix(self.seed, n);
        let key = (h >> 8) % u64::from(self.keys);
        if (h % 100) as u8 >= self.write_percent {
            return vec![b"GET".to_vec(), format!("k:{key}").into_bytes()];
        }
        if (h >> 40).is_multiple_of(5) {
            return vec![b"INCR".to_vec(), format!("counter:{}", key % 16).into_bytes()];
        }
        value.clear();
        let stamp = format!("v{n}-");
        while value.len() < self.value_size as usize {
            value.extend_from_slice(stamp.as_bytes());
        }
        value.truncate(self.value_size as usize);
        vec![b"SET".to_vec(), format!("k:{key}").into_bytes(), value.clone()]
    }
}

/// The traffic in force: its settings, when it started, and how many commands have run.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub spec: TrafficSpec,
    pub started_ms: i64,
    pub sent: u64,
    client: Option<ClientId>,
}

/// What one turn of traffic did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficTurn {
    pub commands: u64,
    pub writes: u64,
}

impl Lab {
    /// Starts (or changes, or with `None` stops) the traffic from `now`.
    pub fn set_traffic(&mut self, spec: Option<TrafficSpec>, now: i64) {
        if let Some(old) = self.traffic.take()
            && let Some(id) = old.client
        {
            self.engine.disconnect(id);
        }
        let text = match spec {
            Some(s) => format!(
                "traffic: {} commands/s, {}% writes, {} keys, {}-byte values (on a client of its own)",
                s.rate, s.write_percent, s.keys, s.value_size
            ),
            None => "traffic stopped".into(),
        };
        self.traffic = spec.map(|spec| Traffic { spec, started_ms: now, sent: 0, client: None });
        self.push(now, "traffic", text, 0);
    }

    /// Runs the traffic that arrived up to `now` (inside the current turn, before `beforeSleep`).
    pub(super) fn run_traffic(&mut self, now: i64) -> TrafficTurn {
        let mut turn = TrafficTurn::default();
        if self.down.is_some() {
            return turn;
        }
        let Some(mut t) = self.traffic.take() else { return turn };
        let client = match t.client.filter(|id| self.engine.client(*id).is_some()) {
            Some(id) => id,
            None => self.engine.connect(),
        };
        t.client = Some(client);
        let due = t.spec.arrived(now - t.started_ms);
        let mut value = Vec::new();
        while t.sent < due && self.engine.exited().is_none() {
            let argv = t.spec.command(t.sent, &mut value);
            t.sent += 1;
            let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            self.engine.execute(client, &args, now);
            turn.commands += 1;
            turn.writes += u64::from(argv[0] != b"GET");
        }
        if turn.commands > 0 {
            self.push(now, "traffic", format!("traffic: {} commands ({} writes) in this turn", turn.commands, turn.writes), 0);
        }
        self.traffic = Some(t);
        turn
    }
}

/// One policy's figures in [`compare_policies`].
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRun {
    pub policy: &'static str,
    /// Acknowledged write commands per second of simulated time.
    pub writes_per_s: f64,
    pub bytes_per_s: f64,
    pub fsyncs: u64,
    /// At the power loss that ends the run: bytes lost and keys before / after.
    pub lost_bytes: u64,
    pub keys_before: u64,
    pub keys_after: u64,
}

/// The three policies on the same traffic, side by side: each runs on a fresh simulated machine
/// with `config` (its `appendfsync` replaced) for about `duration_ms` of simulated time,
/// serverCron every 100 ms, then loses power 900 ms past a whole second of the clock: everysec
/// fsyncs at the first turn of each second, so that is 0.9 s after its last fsync (the cut is at
/// the same moment for the three). Deterministic.
pub fn compare_policies(config: &Config, spec: TrafficSpec, duration_ms: i64, fsync_latency_ms: i64, start: i64) -> Vec<PolicyRun> {
    let end = start + duration_ms;
    let duration_ms = end - end.rem_euclid(1000) + 900 - start;
    ["always", "everysec", "no"]
        .into_iter()
        .map(|policy| {
            let mut c = config.clone();
            c.appendonly = true;
            let _ = c.set("appendfsync", policy, true);
            let mut lab = super::memory_lab(c, start);
            lab.engine.srv.aof.fsync_latency_ms = fsync_latency_ms;
            lab.set_traffic(Some(spec), start);
            let mut t = start;
            while t < start + duration_ms {
                t += 100;
                lab.tick(t);
            }
            let last = lab.series.last().copied().unwrap_or_default();
            let secs = (t - start) as f64 / 1000.0;
            let report = lab.crash("power", t + 1).cloned().unwrap_or_default();
            PolicyRun {
                policy: report.policy,
                writes_per_s: last.writes as f64 / secs,
                bytes_per_s: last.write_bytes as f64 / secs,
                fsyncs: last.fsyncs,
                lost_bytes: report.lost_aof_buf + report.lost_page_cache,
                keys_before: report.keys_before,
                keys_after: report.keys_after,
            }
        })
        .collect()
}

/// [`compare_policies`]'s runs as JSON: `[{policy, writes_per_s, bytes_per_s, fsyncs,
/// lost_bytes, keys_before, keys_after}]`.
pub fn runs_json(runs: &[PolicyRun]) -> String {
    let items: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{{\"policy\":\"{}\",\"writes_per_s\":{:.1},\"bytes_per_s\":{:.1},\"fsyncs\":{},\"lost_bytes\":{},\"keys_before\":{},\"keys_after\":{}}}",
                r.policy, r.writes_per_s, r.bytes_per_s, r.fsyncs, r.lost_bytes, r.keys_before, r.keys_after
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::test_lab as lab;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn the_rate_is_exact_and_the_stream_deterministic() {
        let spec = TrafficSpec::new(2500, 80, 50, 16, 7).unwrap();
        let run = || {
            let mut l = lab("everysec");
            l.set_traffic(Some(spec), T0);
            for i in 1..=10 {
                l.tick(T0 + 100 * i);
            }
            let files: Vec<(String, Vec<u8>)> = crate::storage::conformance::files(l.engine.srv.storage.as_mut()).into_iter().collect();
            (l.traffic.as_ref().unwrap().sent, files, l.keys())
        };
        let (sent, files, keys) = run();
        assert_eq!(sent, 2500, "one second at 2 500 commands/s");
        assert!(keys > 0 && keys <= 50 + 16);
        assert_eq!(run(), (sent, files, keys), "the same bytes every time");
    }

    #[test]
    fn traffic_runs_one_turn_per_tick_with_one_write_and_one_event() {
        let mut l = lab("always");
        l.set_traffic(Some(TrafficSpec::new(1000, 100, 10, 8, 1).unwrap()), T0);
        let (_, cursor) = l.events_since(0);
        l.tick(T0 + 100);
        let (events, _) = l.events_since(cursor);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "traffic").count(), 1, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "write").count(), 1, "group commit: {kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "fsync").count(), 1, "{kinds:?}");
        assert!(events.iter().any(|e| e.text == "traffic: 100 commands (100 writes) in this turn"), "{events:?}");
        l.set_traffic(None, T0 + 150);
        let (_, cursor) = l.events_since(0);
        l.tick(T0 + 300);
        assert!(l.events_since(cursor).0.iter().all(|e| e.kind != "traffic"));
    }

    /// A small key space overwritten over and over: the AOF outgrows the dataset until
    /// auto-rewrite starts by itself.
    #[test]
    fn an_oversized_aof_triggers_auto_rewrite() {
        let mut l = lab("everysec");
        l.engine.srv.config.auto_aof_rewrite_min_size = 200_000;
        l.set_traffic(Some(TrafficSpec::new(20_000, 100, 20, 64, 3).unwrap()), T0);
        let mut t = T0;
        while l.engine.srv.aof.rewrites == 0 && t < T0 + 10_000 {
            t += 100;
            l.tick(t);
        }
        assert_eq!(l.engine.srv.aof.rewrites, 1, "auto-rewrite ran");
        assert!(l.events_json(0).contains("Starting automatic rewriting of AOF on"), "its log line");
        assert!(l.keys() <= 36);
    }

    #[test]
    fn the_three_policies_compared_on_the_same_traffic() {
        let mut c = Config::default();
        c.set("appendonly", "yes", true).unwrap();
        // The power goes out 0.9 s after everysec's last fsync.
        let runs = compare_policies(&c, TrafficSpec::new(1000, 100, 100, 32, 5).unwrap(), 3_000, 0, T0);
        let by = |p: &str| runs.iter().find(|r| r.policy == p).unwrap().clone();
        let (always, everysec, no) = (by("always"), by("everysec"), by("no"));
        for r in &runs {
            assert!((r.writes_per_s - 1000.0).abs() < 1.0, "every policy acknowledges the offered load: {r:?}");
        }
        assert_eq!(always.lost_bytes, 0, "{always:?}");
        assert_eq!(always.keys_after, always.keys_before);
        assert!(always.fsyncs >= 39, "one fsync per turn: {always:?}");
        assert!(everysec.fsyncs >= 3 && everysec.fsyncs <= 5, "about one a second: {everysec:?}");
        // 0.9 s of writes (9 turns of 100 commands) were in the page cache only.
        assert!(everysec.lost_bytes > 8 * 100 * 40, "{everysec:?}");
        assert!(everysec.lost_bytes > 0 && everysec.lost_bytes < no.lost_bytes, "{everysec:?} vs {no:?}");
        assert_eq!(no.fsyncs, 0);
        assert_eq!(no.keys_after, 0, "nothing fsynced, no writeback in 3 s: {no:?}");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(TrafficSpec::new(0, 50, 10, 10, 1).is_err());
        assert!(TrafficSpec::new(MAX_RATE + 1, 50, 10, 10, 1).is_err());
        assert!(TrafficSpec::new(10, 101, 10, 10, 1).is_err());
        assert!(TrafficSpec::new(10, 50, 0, 10, 1).is_err());
        assert!(TrafficSpec::new(10, 50, 10, 0, 1).is_err());
    }
}
