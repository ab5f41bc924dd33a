//! Predict, then reveal: before a crash the learner says what will survive; the crash report
//! then shows the answer beside the prediction, and one or two sentences explain the
//! difference by the policy and the layers (process memory, page cache, disk).
//!
//! The questions (quick choices):
//!
//! * which of the last acknowledged writes survive: `all`, `some` or `none` (the writes asked
//!   about are named by their trace numbers, as the page listed them);
//! * how many keys after the restart: `all` (as many as now), `fewer` or `none`;
//! * will redis-server refuse to start: yes or no.
//!
//! The answer comes from the crash itself (keys, a refused start) and, per write, from what
//! [`Lab::lost_if`] said just before it, which the native tests prove equal to what the crash
//! loses. Where it is not exact (directory entries decide), the per-write answer is unknown and
//! said so.

use super::machine_view::{LostIf, lost_json};
use super::view::Json;
use super::{CrashReport, Lab};
use crate::config::AppendFsync;

/// What the learner expects, each answer optional (a question may be skipped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prediction {
    /// The trace numbers of the writes the question was about.
    pub writes: Vec<u64>,
    /// `all`, `some` or `none` of them survive.
    pub survive: Option<String>,
    /// `all`, `fewer` or `none` (keys after the restart, against the keys now).
    pub keys: Option<String>,
    pub refused: Option<bool>,
}

/// One row of the reveal: the question, the prediction, the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevealRow {
    pub question: &'static str,
    pub predicted: Option<String>,
    pub actual: String,
    pub right: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reveal {
    pub rows: Vec<RevealRow>,
    /// The writes asked about: (trace number, as typed, survived; `None` when not exact).
    pub writes: Vec<(u64, String, Option<bool>)>,
    pub sentence: String,
}

/// What the lab knew just before a crash, kept with the report it led to.
#[derive(Clone, Debug)]
pub(super) struct CrashCapture {
    pub report: CrashReport,
    pub lost: LostIf,
    pub prediction: Option<Prediction>,
    pub writes: Vec<(u64, String, Option<bool>)>,
    pub policy: AppendFsync,
    pub writeback_s: Option<i64>,
    /// no-appendfsync-on-rewrite was holding back `always`'s fsync (a rewrite child running).
    pub fsync_paused: bool,
}

impl Lab {
    /// Crashes like [`Lab::crash`], first noting what [`Lab::lost_if`] predicted and what the
    /// learner did (`prediction`), so that the report can show the lost writes and the reveal.
    pub fn crash_and_reveal(&mut self, kind: &str, prediction: Option<Prediction>, now: i64) -> Result<&CrashReport, String> {
        let lost = self.lost_if(kind);
        let policy = self.engine.srv.config.appendfsync;
        let writeback_s = self.writeback_ms().map(|w| w / 1000);
        let fsync_paused = self.engine.srv.config.no_appendfsync_on_rewrite && self.engine.srv.child_active();
        let asked: Vec<u64> = match &prediction {
            Some(p) if !p.writes.is_empty() => p.writes.clone(),
            _ => self.machine.recent.iter().rev().filter(|t| t.is_write()).take(super::machine_view::RECENT_SHOWN).map(|t| t.seq).collect(),
        };
        let writes = asked.iter().filter_map(|seq| self.survives(*seq, &lost)).collect();
        let report = self.crash(kind, now)?.clone();
        self.machine.crash = Some(CrashCapture { report, lost, prediction, writes, policy, writeback_s, fsync_paused });
        self.last_crash.as_ref().ok_or_else(|| "no crash report".to_string())
    }

    /// A traced write and whether it survives a crash that loses `lost` (`None`: not exact).
    fn survives(&self, seq: u64, lost: &LostIf) -> Option<(u64, String, Option<bool>)> {
        let t = self.machine.recent.iter().find(|t| t.seq == seq)?;
        let hit = t.records().iter().filter(|r| r.write).any(|r| {
            let (file, base) = match &t.loc {
                super::Loc::Buf(o) => (None, *o),
                super::Loc::File(f, o) => (Some(f.as_str()), *o),
                _ => return false,
            };
            lost.writes.iter().any(|w| w.file.as_deref() == file && w.offset == base + r.rel)
        });
        let known = lost.exact && !matches!(t.loc, super::Loc::Dropped);
        Some((seq, t.typed.clone(), known.then_some(!hit)))
    }

    /// The reveal of the last crash, when it went through [`Lab::crash_and_reveal`].
    pub fn reveal(&self) -> Option<Reveal> {
        let c = self.machine.crash.as_ref()?;
        (self.last_crash.as_ref() == Some(&c.report)).then(|| reveal(c))
    }

    /// The crash report's JSON with `lost_writes` (what `lost_if` named just before it),
    /// `prediction` and `reveal` added, when the lab has them for this report.
    pub(super) fn with_lost_writes(&self, json: String, report: &CrashReport) -> String {
        let Some(c) = self.machine.crash.as_ref().filter(|c| c.report == *report) else { return json };
        let mut extra = Json::object();
        extra.raw("lost_writes", &lost_json(&c.lost, usize::MAX));
        match &c.prediction {
            Some(p) => {
                let mut o = Json::object();
                let seqs: Vec<String> = p.writes.iter().map(u64::to_string).collect();
                o.raw("writes", &format!("[{}]", seqs.join(",")));
                opt_str(&mut o, "survive", p.survive.as_deref());
                opt_str(&mut o, "keys", p.keys.as_deref());
                match p.refused {
                    Some(b) => o.bool("refused", b),
                    None => o.raw("refused", "null"),
                }
                extra.raw("prediction", &o.end());
            }
            None => extra.raw("prediction", "null"),
        }
        let r = reveal(c);
        let mut o = Json::object();
        let rows: Vec<String> = r
            .rows
            .iter()
            .map(|row| {
                let mut x = Json::object();
                x.str("question", row.question);
                opt_str(&mut x, "predicted", row.predicted.as_deref());
                x.str("actual", &row.actual);
                match row.right {
                    Some(b) => x.bool("right", b),
                    None => x.raw("right", "null"),
                }
                x.end()
            })
            .collect();
        o.raw("rows", &format!("[{}]", rows.join(",")));
        let writes: Vec<String> = r
            .writes
            .iter()
            .map(|(seq, typed, survived)| {
                let mut x = Json::object();
                x.num("seq", *seq);
                x.str("typed", typed);
                match survived {
                    Some(b) => x.bool("survived", *b),
                    None => x.raw("survived", "null"),
                }
                x.end()
            })
            .collect();
        o.raw("writes", &format!("[{}]", writes.join(",")));
        o.str("sentence", &r.sentence);
        extra.raw("reveal", &o.end());
        let extra = extra.end();
        // `{…}` + `{…}` → `{…,…}`.
        format!("{},{}", json.trim_end_matches('}'), &extra[1..])
    }
}

fn opt_str(o: &mut Json, k: &str, v: Option<&str>) {
    match v {
        Some(s) => o.str(k, s),
        None => o.raw(k, "null"),
    }
}

/// `all`, `some` or `none` of the known survivals.
fn share(survived: &[bool]) -> Option<&'static str> {
    if survived.is_empty() {
        return None;
    }
    let n = survived.iter().filter(|s| **s).count();
    Some(if n == survived.len() {
        "all"
    } else if n == 0 {
        "none"
    } else {
        "some"
    })
}

fn reveal(c: &CrashCapture) -> Reveal {
    let r = &c.report;
    let p = c.prediction.clone().unwrap_or_default();
    let known: Vec<bool> = c.writes.iter().filter_map(|w| w.2).collect();
    let survive_actual = if known.len() == c.writes.len() { share(&known) } else { None };
    let keys_actual = if !r.started || (r.keys_after == 0 && r.keys_before > 0) {
        "none"
    } else if r.keys_after >= r.keys_before {
        "all"
    } else {
        "fewer"
    };
    let mut rows = vec![
        RevealRow {
            question: "survive",
            predicted: p.survive.clone(),
            actual: survive_actual.unwrap_or("unknown").to_string(),
            right: p.survive.as_deref().zip(survive_actual).map(|(a, b)| a == b),
        },
        RevealRow {
            question: "keys",
            predicted: p.keys.clone(),
            actual: keys_actual.to_string(),
            right: p.keys.as_deref().map(|k| k == keys_actual),
        },
        RevealRow {
            question: "refused",
            predicted: p.refused.map(|b| if b { "yes" } else { "no" }.to_string()),
            actual: if r.started { "no" } else { "yes" }.to_string(),
            right: p.refused.map(|b| b != r.started),
        },
    ];
    rows[1].actual = format!("{keys_actual} ({} of {})", if r.started { r.keys_after } else { 0 }, r.keys_before);
    let sentence = format!("{}{}", verdict(&rows, c.prediction.is_some(), survive_actual), explain(c));
    Reveal { rows, writes: c.writes.clone(), sentence }
}

/// The first sentence: how the prediction compares.
fn verdict(rows: &[RevealRow], predicted: bool, survive: Option<&str>) -> String {
    if !predicted || rows.iter().all(|r| r.right.is_none()) {
        return String::new();
    }
    if rows.iter().all(|r| r.right != Some(false)) {
        return "Right. ".into();
    }
    let survive_row = &rows[0];
    match (survive_row.predicted.as_deref(), survive, survive_row.right) {
        (Some("all"), Some(_), Some(false)) => {
            "Acknowledged is not durable: a reply says the write reached the page cache, not the disk. ".into()
        }
        (Some(_), Some("all"), Some(false)) => "Every acknowledged write survived. ".into(),
        (Some(_), Some(_), Some(false)) => "Not quite which writes survived. ".into(),
        _ if rows[2].right == Some(false) => {
            if rows[2].actual == "yes" {
                "The start was refused. ".into()
            } else {
                "The server started. ".into()
            }
        }
        _ => "Not quite the number of keys. ".into(),
    }
}

/// The second sentence: why, by the policy and the layers.
fn explain(c: &CrashCapture) -> String {
    let l = &c.lost;
    let r = &c.report;
    let count = |place: &str| l.writes.iter().filter(|w| w.place == place).count();
    let (in_buf, in_cache, torn) = (count("aof_buf"), count("page_cache"), count("torn_tail"));
    let n = l.writes.len();
    let writes = |k: usize| if k == 1 { "1 write".to_string() } else { format!("{k} writes") };
    if !r.started {
        let refused = l.refused.as_ref().map(|why| format!(" ({why})")).unwrap_or_default();
        return if r.kind == "torn-seq" {
            format!(
                "redis-server refused to start on what survived{refused}: a hole in the middle of the file is not a truncated tail, so \
                 aof-load-truncated yes does not help; redis-check-aof --fix cuts the file at the hole, and everything after it is lost."
            )
        } else {
            format!(
                "redis-server refused to start on what survived{refused}: restart it with aof-load-truncated yes, or repair the file with redis-check-aof --fix."
            )
        };
    }
    if !l.exact && r.kind != "kill" {
        return format!(
            "Here the directory decided more than the bytes: {}; {} keys of {} came back.",
            l.why_inexact.clone().unwrap_or_default(),
            r.keys_after,
            r.keys_before
        );
    }
    let mut s = match r.kind.as_str() {
        "kill" if in_buf == 0 => {
            "A process kill leaves the kernel's page cache alone, and Redis writes aof_buf to the file before it replies: \
                                  every acknowledged write survived, whatever appendfsync says."
                .to_string()
        }
        "kill" => format!(
            "A process kill loses only aof_buf, and {} ({} bytes) were still there{}; everything already written survived in the page cache.",
            writes(in_buf),
            l.aof_buf_bytes,
            if c.policy == AppendFsync::EverySec {
                " because everysec postponed the write behind a slow fsync, after their replies had gone out"
            } else {
                ""
            }
        ),
        _ => match c.policy {
            AppendFsync::Always if n == 0 => {
                "Under appendfsync always a reply leaves only after fsync returned, so every acknowledged write was \
                                              already on disk when the power went."
                    .to_string()
            }
            AppendFsync::Always if c.fsync_paused => format!(
                "appendfsync always fsyncs before it replies, except while a rewrite child runs with no-appendfsync-on-rewrite yes: \
                 then the reply leaves after write() alone, and {} ({} bytes) were only in {}.",
                writes(n),
                l.bytes(),
                layers(in_buf, in_cache + torn)
            ),
            AppendFsync::Always => {
                format!("Under appendfsync always only the turn in progress can be lost: {} had not been fsynced yet.", writes(n))
            }
            AppendFsync::EverySec if n == 0 => {
                "Under everysec the background fsync had already made every write durable (it runs about once a \
                                                second), so nothing acknowledged was lost this time."
                    .to_string()
            }
            AppendFsync::EverySec => format!(
                "Under everysec the reply leaves after write(), before the background fsync: {} ({} bytes) were only in {} and died with the power.",
                writes(n),
                l.bytes(),
                layers(in_buf, in_cache + torn)
            ),
            AppendFsync::No if n == 0 => format!(
                "Under appendfsync no Redis never fsyncs, but the kernel had written everything back{}, so nothing was lost this time.",
                c.writeback_s.map(|s| format!(" (it does after {s} s)")).unwrap_or_default()
            ),
            AppendFsync::No => format!(
                "Under appendfsync no Redis never fsyncs: only what the kernel wrote back{} was on disk, so {} ({} bytes) in {} were lost.",
                c.writeback_s.map(|s| format!(" after {s} s")).unwrap_or_default(),
                writes(n),
                l.bytes(),
                layers(in_buf, in_cache + torn)
            ),
        },
    };
    if torn > 0 {
        s.push_str(" The torn write left part of a command at the end of the incr file, which Redis drops (aof-load-truncated yes) with any MULTI it belonged to.");
    }
    s
}

fn layers(in_buf: usize, in_cache: usize) -> &'static str {
    match (in_buf > 0, in_cache > 0) {
        (true, true) => "aof_buf and the page cache",
        (true, false) => "aof_buf (process memory)",
        _ => "the page cache",
    }
}
