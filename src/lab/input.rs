//! The lab's inputs: every act that can change it, as data. The timeline
//! ([`super::timeline`]) records them; the lab is a pure function of (the settings it started
//! with, a seed, the inputs), so that replaying the inputs rebuilds it byte for byte.
//!
//! An [`Input`] is `{seq, t, action, origin}`: `seq` numbers it from 1 in its history, `t` is the
//! simulated time in ms (unix ms, as every `now` of the engine), `origin` says whether the learner
//! or a scenario did it. The actions are those of the page and the worker:
//!
//! | action          | what it does                                                            |
//! |-----------------|-------------------------------------------------------------------------|
//! | `lines`         | console lines typed together: one event-loop turn (`execute_batch`)     |
//! | `resp`          | bytes on the wire connection (`execute_resp`)                           |
//! | `second`        | lines typed in the second console (`execute_second`): one turn          |
//! | `tick`          | serverCron at `t`, then a turn                                          |
//! | `crash`         | `kill`, `power` or `torn`, and the restart on what survived             |
//! | `restart`       | a restart with settings changed (`aof-load-truncated yes` …)            |
//! | `fault`         | `disk-full`, `fsync-error` (n fsyncs), `clear`                          |
//! | `speed`         | the rewrite child's speed (`lab-rewrite-keys-per-tick`)                 |
//! | `config`        | `CONFIG SET` on a connection of its own; while down, a redis.conf edit  |
//! | `check`         | `redis-check-aof [--fix]`                                               |
//! | `import`        | files or an archive replacing the directory, then a restart             |
//! | `scenario`      | one scenario step in the script's syntax (`tick 1000`, `rewrite` …)     |
//! | `predict`       | a learner's prediction: a payload; a crash prediction (see              |
//! |                 | [`crash_prediction_payload`]) is kept for the next crash to reveal      |
//! | `mark`          | a bookmark on the timeline: a label, the lab is untouched               |
//! | `traffic`       | the traffic generator started, changed or stopped                       |
//!
//! Reading the lab (`snapshot`, `events_json`, `export`) is not an input: it changes nothing.
//!
//! **Randomness.** Before each input the server's random source is reseeded from `(seed, seq)`,
//! so SPOP, SRANDMEMBER, RANDOMKEY, HRANDFIELD and ZRANDMEMBER draw the same members in a replay,
//! in a branch that shares the input, and in another host (the draws are host-independent, see
//! [`crate::server::Rng`]). The torn write's cut is not random: half of the unsynced tail
//! (`crash.rs`). Rewrite and BGSAVE children are numbered from 1001 by each process, and a
//! restart is a new process: deterministic too.

use super::scenario::{self, Play};
use super::traffic::TrafficSpec;
use super::{CrashReport, Lab, Prediction};
use crate::server::Rng;

/// Who acted: the learner, or a scenario's script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    User,
    Scenario,
}

/// What an input does, with its payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Console lines typed together: one event-loop turn.
    Lines(Vec<String>),
    /// Bytes on the wire connection (a partial command waits in its query buffer).
    Resp(Vec<u8>),
    /// Lines typed in the second console: one event-loop turn.
    Second(Vec<String>),
    /// `serverCron` at `t`.
    Tick,
    /// `kill`, `power` or `torn`.
    Crash(String),
    /// A restart on the same files, with these settings changed first.
    Restart(Vec<(String, String)>),
    /// `disk-full`, `fsync-error` (the next `n` fsyncs fail) or `clear`.
    Fault { fault: String, n: u32 },
    /// `lab-rewrite-keys-per-tick` (0: the whole snapshot in one tick).
    RewriteSpeed(u64),
    /// A setting: `CONFIG SET` while the server runs, the next start's redis.conf while down.
    Config { name: String, value: String },
    /// `redis-check-aof [--fix]` on the manifest.
    CheckAof { fix: bool },
    /// One file or archive (`.tar`, or any single file), or several loose files (a folder).
    Import(Vec<(String, Vec<u8>)>),
    /// Step `index` of a scenario, in the script's syntax (`tick 1000`, `expect GET k => "v"`).
    Scenario { index: u32, step: String },
    /// A prediction (the page's payload, opaque here).
    Predict(Vec<u8>),
    /// A bookmark.
    Mark(String),
    /// The traffic generator's settings (`None`: stopped).
    Traffic(Option<TrafficSpec>),
}

impl Action {
    /// The kind's name (the page's and the serialisation's vocabulary).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Lines(_) => "lines",
            Action::Resp(_) => "resp",
            Action::Second(_) => "second",
            Action::Tick => "tick",
            Action::Crash(_) => "crash",
            Action::Restart(_) => "restart",
            Action::Fault { .. } => "fault",
            Action::RewriteSpeed(_) => "speed",
            Action::Config { .. } => "config",
            Action::CheckAof { .. } => "check",
            Action::Import(_) => "import",
            Action::Scenario { .. } => "scenario",
            Action::Predict(_) => "predict",
            Action::Mark(_) => "mark",
            Action::Traffic(_) => "traffic",
        }
    }

    /// One line saying what it was (`SET k v`, `crash power`, `tick`), for the slider's
    /// `aria-valuetext` and the console transcript.
    pub fn describe(&self) -> String {
        match self {
            Action::Lines(lines) => lines.join("; "),
            Action::Resp(bytes) => format!("{} bytes on the wire", bytes.len()),
            Action::Second(lines) => format!("second console: {}", lines.join("; ")),
            Action::Tick => "tick".into(),
            Action::Crash(kind) => format!("crash {kind}"),
            Action::Restart(settings) if settings.is_empty() => "restart".into(),
            Action::Restart(settings) => {
                let s: Vec<String> = settings.iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("restart with {}", s.join(", "))
            }
            Action::Fault { fault, n } if fault == "fsync-error" => format!("fault {fault} ×{n}"),
            Action::Fault { fault, .. } => format!("fault {fault}"),
            Action::RewriteSpeed(n) => format!("rewrite speed {n} keys per tick"),
            Action::Config { name, value } => format!("config {name} {value}"),
            Action::CheckAof { fix: true } => "redis-check-aof --fix".into(),
            Action::CheckAof { fix: false } => "redis-check-aof".into(),
            Action::Import(files) => {
                let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
                format!("import {}", names.join(", "))
            }
            Action::Scenario { step, .. } => step.lines().next().unwrap_or_default().to_string(),
            Action::Predict(_) => "prediction".into(),
            Action::Mark(label) => format!("mark {label}"),
            Action::Traffic(None) => "traffic stopped".into(),
            Action::Traffic(Some(t)) => format!("traffic {} commands/s, {}% writes", t.rate, t.write_percent),
        }
    }
}

/// One input of a recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// 1, 2, 3 … in its history.
    pub seq: u64,
    /// Simulated time (unix ms).
    pub t: i64,
    pub action: Action,
    pub origin: Origin,
}

/// What an input gave back, as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Mark, prediction: nothing happens in the lab.
    None,
    /// Per line: the replies ready after it (none if it blocked) and the bytes it appended to
    /// `aof_buf`.
    Lines(Vec<(Vec<String>, Vec<u8>)>),
    /// The RESP replies ready, in order.
    Resp(Vec<u8>),
    /// A tick's console replies that became ready (a blocked command served or timed out).
    Replies(Vec<String>),
    /// Boxed, as the scenario's outcome: most inputs are ticks, and an answer is as large as its
    /// largest kind (a recorded tick stays under 200 bytes).
    Crash(Result<Box<CrashReport>, String>),
    /// A restart or an import: whether the server started (or why it could not be tried).
    Started(Result<bool, String>),
    /// A fault, a speed or a setting: what it did, or why it was refused.
    Text(Result<String, String>),
    /// `redis-check-aof`'s output and exit code.
    Check(String, i32),
    Scenario(Box<scenario::Outcome>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub answer: Answer,
    /// Bytes propagated into `aof_buf` during the input that no line of it owns (a tick's expiry
    /// `DEL`s, the wire's commands); empty for `lines`, whose lines carry their own.
    pub appended: Vec<u8>,
    /// The simulated time when the input is over: `t`, or later for a scenario step that lets
    /// time pass (`tick 1000`, `rewrite`).
    pub end_t: i64,
    /// What happened, for the timeline's marks ([`flags`]).
    pub flags: u32,
}

/// Marks of an input on the timeline (bits of [`Output::flags`]).
pub mod flags {
    /// Bytes were written to the AOF (`write()`).
    pub const WRITE: u32 = 1;
    pub const FSYNC: u32 = 1 << 1;
    /// A rewrite child started, finished or failed.
    pub const REWRITE: u32 = 1 << 2;
    /// A rewrite child started (a checkpoint is kept there).
    pub const REWRITE_START: u32 = 1 << 3;
    /// BGSAVE or SAVE.
    pub const RDB: u32 = 1 << 4;
    pub const CRASH: u32 = 1 << 5;
    /// redis-server refused to start (a crash, a restart or an import ended down).
    pub const REFUSED: u32 = 1 << 6;
    /// redis-server exited (a write or fsync error under `appendfsync always`).
    pub const EXITED: u32 = 1 << 7;
    pub const FAULT: u32 = 1 << 8;
    pub const RESTART: u32 = 1 << 9;
    pub const IMPORT: u32 = 1 << 10;
    pub const SCENARIO: u32 = 1 << 11;
    pub const PREDICT: u32 = 1 << 12;
    pub const MARK: u32 = 1 << 13;
    pub const CONFIG: u32 = 1 << 14;

    /// The names, in bit order (the page's vocabulary).
    pub const NAMES: [&str; 15] = [
        "write",
        "fsync",
        "rewrite",
        "rewrite_start",
        "rdb",
        "crash",
        "refused",
        "exited",
        "fault",
        "restart",
        "import",
        "scenario",
        "predict",
        "mark",
        "config",
    ];

    pub fn names(bits: u32) -> Vec<&'static str> {
        NAMES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect()
    }
}

/// The random source for input `seq` of a recording seeded with `seed` (SplitMix64's mixer).
pub fn input_seed(seed: u64, seq: u64) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    mix(seed ^ mix(seq.wrapping_add(0x9E37_79B9_7F4A_7C15)))
}

impl Lab {
    /// Applies one input. `play` is the scenario state kept beside the lab (its clock, the
    /// `@aof` bytes, settings for the next restart). The lab's clock never goes back: an input
    /// dated before the end of the previous one is the caller's to clamp (the timeline does).
    pub fn apply(&mut self, play: &mut Play, seed: u64, input: &Input) -> Output {
        let now = input.t;
        self.engine.srv.rng = Rng::with_seed(input_seed(seed, input.seq));
        let cursor = self.next_seq;
        let was_down = self.down.is_some();
        let mut end_t = now;
        let mut kind_flags = 0;
        // What a scenario step's commands and ticks appended (the step's runner takes them).
        let mut scenario_bytes = Vec::new();
        let answer = match &input.action {
            Action::Lines(lines) => Answer::Lines(self.execute_batch(lines, now)),
            Action::Resp(bytes) => Answer::Resp(self.execute_resp(bytes, now)),
            Action::Second(lines) => Answer::Replies(self.execute_second(lines, now)),
            Action::Tick => Answer::Replies(self.tick(now)),
            Action::Crash(kind) => {
                kind_flags = flags::CRASH;
                // The reveal of the prediction given before it, if any (`predict.rs`).
                let prediction = self.prediction.take();
                // Recorded as a replay gives it: the load's time measured now is the views'.
                Answer::Crash(self.crash_and_reveal(kind, prediction, now).map(|r| Box::new(r.untimed())))
            }
            Action::Restart(settings) => {
                kind_flags = flags::RESTART;
                Answer::Started(self.restart(settings, now))
            }
            Action::Fault { fault, n } => {
                kind_flags = flags::FAULT;
                let before = self.next_seq;
                Answer::Text(self.inject(fault, *n, now).map(|()| self.event_text_since(before)))
            }
            Action::RewriteSpeed(n) => {
                self.set_rewrite_speed(*n, now);
                Answer::Text(Ok("OK".into()))
            }
            Action::Config { name, value } => {
                kind_flags = flags::CONFIG;
                Answer::Text(self.config_set(name, value, now))
            }
            Action::CheckAof { fix } => {
                let (text, code) = self.check_aof(*fix);
                Answer::Check(text, code)
            }
            Action::Import(files) => {
                kind_flags = flags::IMPORT;
                Answer::Started(match files.as_slice() {
                    [(name, bytes)] => self.import_archive(name, bytes, now),
                    _ => self.import(files, now),
                })
            }
            Action::Scenario { index, step } => {
                kind_flags = flags::SCENARIO;
                play.now = play.now.max(now);
                let outcome = match scenario::parse(step) {
                    Ok(steps) if steps.len() == 1 => play.step(self, *index as usize, &steps[0]),
                    Ok(steps) => scenario_error(*index, step, format!("one step expected, {} given", steps.len())),
                    Err(errors) => scenario_error(*index, step, errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")),
                };
                end_t = play.now.max(now);
                scenario_bytes = play.take_step_aof();
                Answer::Scenario(Box::new(outcome))
            }
            Action::Predict(payload) => {
                kind_flags = flags::PREDICT;
                if let Some(p) = parse_crash_prediction(payload) {
                    self.prediction = Some(p);
                } else if let Some(choice) = parse_scenario_answer(payload) {
                    // The learner's answer to the scenario's predict that runs next.
                    play.answer(choice);
                }
                Answer::None
            }
            Action::Mark(_) => {
                kind_flags = flags::MARK;
                Answer::None
            }
            Action::Traffic(spec) => {
                kind_flags = flags::CONFIG;
                self.set_traffic(*spec, now);
                Answer::Text(Ok("OK".into()))
            }
        };
        let mut appended = scenario_bytes;
        appended.extend(self.take_appended());
        let mut bits = kind_flags | self.event_flags_since(cursor, &input.action);
        if self.down.is_some() {
            if kind_flags & (flags::CRASH | flags::RESTART | flags::IMPORT) != 0 {
                bits |= flags::REFUSED;
            } else if !was_down {
                bits |= flags::EXITED;
            }
        }
        Output { answer, appended, end_t, flags: bits }
    }

    /// A setting changed from the page: `CONFIG SET` on a connection of its own (so that a
    /// console blocked in BLPOP does not hold it back), an internal one (a `requirepass` or an
    /// ACL rule set in the console does not lock the page's settings out), in a turn of its own;
    /// while the server is down, an edit of the redis.conf the next start reads.
    pub fn config_set(&mut self, name: &str, value: &str, now: i64) -> Result<String, String> {
        if name.eq_ignore_ascii_case("lab-rewrite-keys-per-tick") {
            let n = value.parse::<u64>().map_err(|_| format!("{name} takes a number of keys, not '{value}'"))?;
            self.set_rewrite_speed(n, now);
            return Ok("OK".into());
        }
        if name.eq_ignore_ascii_case("lab-fsync-latency-ms") {
            let ms = value.parse::<u64>().map_err(|_| format!("{name} takes a number of milliseconds, not '{value}'"))?;
            self.set_fsync_latency(ms, now);
            return Ok("OK".into());
        }
        if self.down.is_some() {
            self.config.set(name, value, true).map_err(|e| format!("{name}: {e}"))?;
            self.push(now, "config", format!("redis.conf: {name} {value} (for the next start)"), 0);
            return Ok(format!("{name} {value} (for the next start)"));
        }
        self.push(now, "command", format!("CONFIG SET {name} {value}"), 0);
        let id = self.engine.connect_internal();
        let reply = self.engine.execute(id, &[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()], now);
        self.engine.disconnect(id);
        self.settle(now);
        self.before_sleep(now);
        self.after_turn(now);
        match reply {
            Some(r) if r.is_error() => Err(r.to_string()),
            Some(r) => Ok(r.to_string()),
            None => Ok(String::new()),
        }
    }

    /// The texts of the events pushed since `cursor`, joined.
    fn event_text_since(&self, cursor: u64) -> String {
        let (events, _) = self.events_since(cursor.saturating_sub(1));
        events.iter().map(|e| e.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// The marks the events since `cursor` call for.
    fn event_flags_since(&self, cursor: u64, action: &Action) -> u32 {
        let (events, _) = self.events_since(cursor.saturating_sub(1));
        let mut bits = 0;
        for e in events {
            bits |= match e.kind {
                "write" => flags::WRITE,
                "fsync" => flags::FSYNC,
                // The speed control announces itself as a rewrite event; it is not one.
                "rewrite" if matches!(action, Action::RewriteSpeed(_)) => 0,
                "rewrite" if e.text.starts_with("rewrite child") => flags::REWRITE | flags::REWRITE_START,
                "rewrite" => flags::REWRITE,
                "rdb" => flags::RDB,
                _ => 0,
            };
        }
        bits
    }
}

fn scenario_error(index: u32, step: &str, message: String) -> scenario::Outcome {
    scenario::Outcome {
        index: index as usize,
        line: 1,
        kind: "error",
        text: step.to_string(),
        output: vec![message.clone()],
        passed: None,
        sentence: message.clone(),
        failure: Some(message),
        ..scenario::Outcome::default()
    }
}

/// A crash prediction as a `predict` input's payload (the page's question before a crash, see
/// `predict.rs`): lines `crash-prediction 1`, `writes <seq> …`, `survive <all|some|none>`,
/// `keys <all|fewer|none>`, `refused <yes|no>` (each optional but the first).
pub fn crash_prediction_payload(p: &Prediction) -> Vec<u8> {
    let mut out = String::from("crash-prediction 1\n");
    if !p.writes.is_empty() {
        let w: Vec<String> = p.writes.iter().map(u64::to_string).collect();
        out.push_str(&format!("writes {}\n", w.join(" ")));
    }
    if let Some(v) = &p.survive {
        out.push_str(&format!("survive {v}\n"));
    }
    if let Some(v) = &p.keys {
        out.push_str(&format!("keys {v}\n"));
    }
    if let Some(v) = p.refused {
        out.push_str(if v { "refused yes\n" } else { "refused no\n" });
    }
    out.into_bytes()
}

/// The crash prediction a payload holds, if it is one.
pub fn parse_crash_prediction(payload: &[u8]) -> Option<Prediction> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "crash-prediction 1" {
        return None;
    }
    let mut p = Prediction::default();
    for line in lines {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "writes" => p.writes = value.split(' ').filter_map(|w| w.parse().ok()).collect(),
            "survive" => p.survive = Some(value.to_string()),
            "keys" => p.keys = Some(value.to_string()),
            "refused" => p.refused = Some(value == "yes"),
            _ => {}
        }
    }
    Some(p)
}

/// A scenario's predict answered, as a `predict` input's payload: `scenario-answer 1` then
/// `choice <index into the choices as written>` or `choice skip`. The scenario step that follows
/// (the predict itself) reveals it.
pub fn scenario_answer_payload(choice: Option<usize>) -> Vec<u8> {
    format!("scenario-answer 1\nchoice {}\n", choice.map_or("skip".to_string(), |c| c.to_string())).into_bytes()
}

/// The answer a payload holds, if it is one: `Some(None)` for a skip.
pub fn parse_scenario_answer(payload: &[u8]) -> Option<Option<usize>> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "scenario-answer 1" {
        return None;
    }
    let choice = lines.find_map(|l| l.strip_prefix("choice "))?;
    Some(choice.parse().ok())
}
