//! Playing steps: [`Play`] runs one step on a lab (the scenario state it keeps between steps is
//! small: the clock, the `@aof` bytes, settings for the next start, the learner's answers), and
//! [`Runner`] plays a whole scenario on a fresh simulated machine, one step at a time.

use super::{CRON_MS, MAX_WAIT_MS, Outcome, Prediction, REWRITE_TIMEOUT_MS, START_MS, Step, StepKind, probe, sentence};
use crate::Config;
use crate::lab::{Lab, memory_lab};

/// What playing steps on a lab keeps between them. A [`Runner`] holds one; a host that plays
/// scenario steps on a lab of its own (the timeline) can hold one beside that lab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Play {
    /// The simulated clock (unix ms); a step that lets time pass moves it.
    pub now: i64,
    /// Bytes the last command appended to `aof_buf` (the `@aof` probe).
    pub(super) last_aof: Vec<u8>,
    /// Settings for the next start (`config` while the server is down, or of a start-up-only
    /// parameter): an edit of redis.conf, applied at the next `restart`.
    pending: Vec<(String, String)>,
    /// The learner's answer to the next predict (an index into its choices); none: skipped.
    answer: Option<usize>,
    /// Every predict played: (step index, the answer given; `None`: skipped). These are the
    /// learner's inputs, which a replay of the scenario needs.
    pub answers: Vec<(usize, Option<usize>)>,
    /// The last action was a crash or a restart: a check says "after the restart".
    after_restart: bool,
    /// Everything the current step appended to `aof_buf` (its commands', its ticks'), for a
    /// timeline that shows a step's bytes ([`Play::take_step_aof`]).
    step_aof: Vec<u8>,
}

impl Play {
    pub fn new(now: i64) -> Play {
        Play { now, ..Play::default() }
    }

    /// The learner's answer to the predict that runs next (`None`: skip, "just show me").
    pub fn answer(&mut self, choice: Option<usize>) {
        self.answer = choice;
    }

    /// What the steps appended to `aof_buf` since the last take.
    pub fn take_step_aof(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.step_aof)
    }

    /// Runs `step` (number `index` of its scenario) on `lab`.
    pub fn step(&mut self, lab: &mut Lab, index: usize, step: &Step) -> Outcome {
        let (kind, text) = step.describe();
        let mut out = Outcome { index, line: step.line, kind, text, ..Outcome::default() };
        // Checks, narration and predictions do not act on the server: "after the restart" holds.
        if !step.kind.is_check() && !step.kind.is_narration() && !matches!(step.kind, StepKind::Predict { .. }) {
            self.after_restart = false;
        }
        match &step.kind {
            StepKind::Command(line) => {
                out.output = self.run(lab, line);
                out.sentence = sentence::replied(line, &out.output);
            }
            StepKind::Repeat { times, command } => {
                let mut last = Vec::new();
                for i in 1..=*times {
                    last = self.run(lab, &command.replace("{i}", &i.to_string()));
                }
                out.sentence = format!("Ran {command} {times} times; the last reply: {}.", last.join(" "));
                out.output = last;
            }
            StepKind::Tick(ms) => {
                out.output = self.advance(lab, *ms);
                out.sentence = format!("{} of simulated time passed.", sentence::duration(*ms));
            }
            StepKind::Crash(crash) => {
                self.now += 1;
                (out.output, out.sentence) = match lab.crash(crash, self.now) {
                    Ok(r) => {
                        let mut o = r.why.clone();
                        o.push(if r.started { "redis-server restarted".into() } else { "redis-server refused to start".into() });
                        let s = if r.started {
                            format!("redis-server restarted on what survived: {} of its {} keys.", r.keys_after, r.keys_before)
                        } else {
                            "redis-server refused to start on what survived.".to_string()
                        };
                        (o, s)
                    }
                    Err(e) => (vec![e.clone()], e),
                };
                self.after_restart = true;
                self.last_aof.clear();
            }
            StepKind::Restart(setting) => {
                self.now += 1;
                let mut settings = std::mem::take(&mut self.pending);
                settings.extend(setting.clone());
                (out.output, out.sentence) = self.restart(lab, &settings);
                self.after_restart = true;
                self.last_aof.clear();
            }
            StepKind::Rewrite => {
                out.output = self.rewrite(lab);
                out.sentence = match (out.output.last(), probe::info_field(lab, "aof_rewrites")) {
                    (Some(l), Some(n)) if l.starts_with("rewrite done") => format!("The rewrite finished (aof_rewrites is now {n})."),
                    // The 6.2 design has no aof_rewrites counter.
                    (Some(l), None) if l.starts_with("rewrite done") => "The rewrite finished.".to_string(),
                    _ => "The rewrite did not finish.".to_string(),
                };
            }
            StepKind::Config(name, value) => (out.output, out.sentence) = self.config(lab, name, value),
            StepKind::RedisConf(name, value) => (out.output, out.sentence) = self.redis_conf(lab, name, value),
            StepKind::CheckAof { fix } => {
                let (text, code) = lab.check_aof(*fix);
                out.output = text.lines().map(str::to_string).collect();
                out.sentence = sentence::checked_aof(*fix, &out.output, code);
                out.output.push(format!("(exit code {code})"));
            }
            StepKind::Say(text) | StepKind::Note(text) | StepKind::Mark(text) => {
                out.output = vec![text.clone()];
                out.sentence = text.clone();
            }
            StepKind::Predict { choices, .. } => {
                let given = self.answer.take().filter(|&g| g < choices.len());
                self.answers.push((index, given));
                out.sentence = sentence::revealed(choices, given);
                out.output = vec![choices.first().cloned().unwrap_or_default()];
                out.prediction = Some(Prediction { choices: choices.clone(), given });
            }
            StepKind::Expect { command, want } => {
                let got = self.check_values(lab, command);
                self.judge(&mut out, step.line, command, want, got, None);
            }
            StepKind::Wait { command, want } => {
                let start = self.now;
                let mut got = self.check_values(lab, command);
                while got != *want && self.now - start < MAX_WAIT_MS {
                    self.advance(lab, CRON_MS);
                    got = self.check_values(lab, command);
                }
                self.judge(&mut out, step.line, command, want, got, Some(self.now - start));
            }
        }
        out
    }

    /// A check's verdict: passed or not, the failure with its line, the sentence.
    fn judge(&self, out: &mut Outcome, line: usize, command: &str, want: &[String], got: Vec<String>, waited: Option<i64>) {
        let passed = got == want;
        if !passed {
            let verb = if waited.is_some() { "wait" } else { "expect" };
            let got_text = if got.is_empty() { "nothing".to_string() } else { got.join(" / ") };
            let after = waited.map_or(String::new(), |ms| format!(" after {}", sentence::duration(ms)));
            out.failure = Some(format!("line {line}: {verb} {command}: wanted {}, got {got_text}{after}", want.join(" / ")));
        }
        let mut s = sentence::check(command, want, &got);
        // "DBSIZE is 3 after the restart": a Redis command's answer right after a (re)start.
        if self.after_restart && !command.starts_with('@') && lab_up(&got) {
            s = format!("{} after the restart", s.trim_end_matches('.'));
        }
        if let Some(ms) = waited {
            s = if ms == 0 { format!("at once: {s}") } else { format!("after {}: {s}", sentence::duration(ms)) };
        }
        let s = sentence::capitalize(&s);
        out.sentence = if s.ends_with('.') { s } else { format!("{s}.") };
        out.passed = Some(passed);
        out.output = got;
    }

    /// What a check compares: a probe's lines or a command's reply, one line per element.
    fn check_values(&mut self, lab: &mut Lab, command: &str) -> Vec<String> {
        let got = if command.starts_with('@') { probe::run(self, lab, command) } else { self.run(lab, command) };
        got.iter().flat_map(|r| r.split('\n')).map(str::to_string).collect()
    }

    fn run(&mut self, lab: &mut Lab, line: &str) -> Vec<String> {
        lab.take_appended();
        let out = lab.execute_line(line, self.now);
        self.last_aof = lab.take_appended();
        self.step_aof.extend_from_slice(&self.last_aof);
        out
    }

    /// Simulated time passes by `ms`, with serverCron every [`CRON_MS`].
    fn advance(&mut self, lab: &mut Lab, ms: i64) -> Vec<String> {
        let end = self.now.saturating_add(ms);
        let mut out = Vec::new();
        while self.now < end {
            self.now = (self.now + CRON_MS).min(end);
            out.extend(lab.tick(self.now));
        }
        // What serverCron propagated (a DEL of an expired key), for `@aof`.
        self.last_aof = lab.take_appended();
        self.step_aof.extend_from_slice(&self.last_aof);
        out
    }

    fn restart(&mut self, lab: &mut Lab, settings: &[(String, String)]) -> (Vec<String>, String) {
        match lab.restart(settings, self.now) {
            Ok(true) => {
                let keys = lab.keys();
                (
                    vec!["redis-server started".into()],
                    format!("redis-server started again: {keys} {} loaded.", if keys == 1 { "key" } else { "keys" }),
                )
            }
            Ok(false) => {
                let mut o = vec!["redis-server refused to start:".to_string()];
                let fatal = lab.is_down().unwrap_or_default().to_vec();
                let s = format!("redis-server refused to start: {}", fatal.join(" "));
                o.extend(fatal);
                (o, s)
            }
            Err(e) => (vec![e.clone()], e),
        }
    }

    fn rewrite(&mut self, lab: &mut Lab) -> Vec<String> {
        let mut out = self.run(lab, "BGREWRITEAOF");
        let deadline = self.now + REWRITE_TIMEOUT_MS;
        while self.now < deadline && lab.is_down().is_none() {
            let field = |name| probe::info_field(lab, name);
            if field("aof_rewrite_in_progress").as_deref() == Some("0") && field("aof_rewrite_scheduled").as_deref() == Some("0") {
                out.push(match field("aof_rewrites") {
                    Some(n) => format!("rewrite done (aof_rewrites:{n})"),
                    None => "rewrite done".to_string(),
                });
                return out;
            }
            out.extend(self.advance(lab, CRON_MS));
        }
        out.push("the rewrite did not finish".into());
        out
    }

    fn config(&mut self, lab: &mut Lab, name: &str, value: &str) -> (Vec<String>, String) {
        if name.eq_ignore_ascii_case("lab-rewrite-keys-per-tick") {
            return match value.parse::<u64>() {
                Ok(n) => {
                    lab.set_rewrite_speed(n, self.now);
                    let s = if n == 0 { "all its keys in one tick".to_string() } else { format!("{n} key(s) per cron tick") };
                    (vec!["OK".into()], format!("The rewrite child now writes {s}."))
                }
                Err(_) => {
                    let e = format!("(error) {name} takes a number of keys, not '{value}'");
                    (vec![e.clone()], e)
                }
            };
        }
        if name.eq_ignore_ascii_case("lab-fsync-latency-ms") {
            return match value.parse::<u64>() {
                Ok(ms) => {
                    lab.set_fsync_latency(ms, self.now);
                    let ms = lab.engine.srv.aof.fsync_latency_ms;
                    let s = if ms == 0 {
                        "The disk is fast again: a background fsync completes at once.".to_string()
                    } else {
                        format!("The disk is slow now: a background fsync takes {}.", sentence::duration(ms))
                    };
                    (vec!["OK".into()], s)
                }
                Err(_) => {
                    let e = format!("(error) {name} takes milliseconds, not '{value}'");
                    (vec![e.clone()], e)
                }
            };
        }
        let start_up_only =
            crate::config::table::lookup(name.as_bytes()).is_some_and(|e| e.param.flags & crate::config::table::IMMUTABLE != 0);
        if lab.is_down().is_some() || start_up_only {
            self.pending.push((name.to_string(), value.to_string()));
            let why = if start_up_only { "a start-up setting, " } else { "" };
            return (
                vec![format!("{name} {value} ({why}for the next start)")],
                format!("redis.conf now says {name} {value}: {why}it applies at the next start."),
            );
        }
        // Quoted so that values with spaces stay one argument.
        let reply = self.run(lab, &format!("CONFIG SET {} \"{}\"", name, value.replace('\\', "\\\\").replace('"', "\\\"")));
        let s = match reply.first() {
            Some(r) if r == "OK" => format!("CONFIG SET: {name} is now {value}."),
            Some(r) => format!("CONFIG SET {name} {value} was refused: {r}"),
            None => format!("CONFIG SET {name} {value}: no reply."),
        };
        (reply, s)
    }

    /// `redis.conf <name> <value>`: the machine starts empty with that line in redis.conf (its
    /// files are deleted, the deletions made durable, and redis-server starts on the nothing left).
    fn redis_conf(&mut self, lab: &mut Lab, name: &str, value: &str) -> (Vec<String>, String) {
        let storage = &mut lab.engine.srv.storage;
        for file in storage.list(None).unwrap_or_default() {
            storage.remove(&file).ok();
        }
        // A power loss later must not bring the deleted files back.
        storage.sync_dir("").ok();
        self.now += 1;
        self.last_aof.clear();
        let (mut o, s) = self.restart(lab, &[(name.to_string(), value.to_string())]);
        if lab.is_down().is_none() {
            o = vec![format!("redis-server started with {name} {value} in redis.conf")];
            return (o, format!("The machine starts empty, with {name} {value} in redis.conf."));
        }
        (o, s)
    }
}

/// The reply came from a running server (not redis-cli's "Could not connect").
fn lab_up(got: &[String]) -> bool {
    got.first().is_none_or(|l| l != crate::lab::REFUSED)
}

/// Plays a scenario on a fresh simulated machine (AOF on, `appendfsync everysec`).
pub struct Runner {
    pub lab: Lab,
    steps: Vec<Step>,
    next: usize,
    play: Play,
}

impl Runner {
    pub fn new(steps: Vec<Step>) -> Runner {
        let now = START_MS;
        let mut c = Config::default();
        // Always accepted: these are the lab's defaults for every scenario.
        let _ = c.set("appendonly", "yes", true);
        let _ = c.set("appendfsync", "everysec", true);
        Runner { lab: memory_lab(c, now), steps, next: 0, play: Play::new(now) }
    }

    /// Parses `text` and starts a runner on it.
    pub fn from_text(text: &str) -> Result<Runner, Vec<super::ParseError>> {
        super::parse(text).map(Runner::new)
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Index of the step that runs next (`steps().len()` when done).
    pub fn next_index(&self) -> usize {
        self.next
    }

    pub fn done(&self) -> bool {
        self.next >= self.steps.len()
    }

    /// The simulated clock (unix ms).
    pub fn now(&self) -> i64 {
        self.play.now
    }

    /// The learner's answer to the predict that runs next: an index into its choices as
    /// written (the right one is 0), or `None` to skip. Recorded with the step
    /// ([`Runner::answers`]); an error when the next step is not a predict.
    pub fn answer(&mut self, choice: Option<usize>) -> Result<(), String> {
        match self.steps.get(self.next).map(|s| &s.kind) {
            Some(StepKind::Predict { choices, .. }) => match choice {
                Some(c) if c >= choices.len() => Err(format!("choice {c} out of {}", choices.len())),
                _ => {
                    self.play.answer(choice);
                    Ok(())
                }
            },
            _ => Err("the next step is not a predict".into()),
        }
    }

    /// The answers given so far: (step index, choice; `None`: skipped).
    pub fn answers(&self) -> &[(usize, Option<usize>)] {
        &self.play.answers
    }

    /// Runs the next step; `None` when the scenario is over. A predict with no answer given is
    /// skipped (its outcome reveals the answer).
    pub fn step(&mut self) -> Option<Outcome> {
        let index = self.next;
        let step = self.steps.get(index)?.clone();
        self.next += 1;
        let outcome = self.play.step(&mut self.lab, index, &step);
        self.play.step_aof.clear();
        Some(outcome)
    }

    /// Runs every remaining step.
    pub fn run_all(&mut self) -> Vec<Outcome> {
        std::iter::from_fn(|| self.step()).collect()
    }
}
