//! Guided scenarios: plain-text scripts that a tutorial page embeds and the lab plays step by
//! step on its own simulated machine (a fresh [`memory_lab`], so that crashes are possible and
//! every run gives the same bytes).
//!
//! The format, one step per line (`#` starts a comment line, blank lines are ignored):
//!
//! * `SET k v` — any other line is a Redis command, in redis-cli quoting;
//! * `tick <ms>` — simulated time passes: serverCron runs every 100 ms (`hz 10`) meanwhile;
//! * `crash kill|power|torn` — the process dies / the machine loses power / a torn write, and
//!   the server restarts on what survived (it may refuse: commands then get "Could not connect");
//! * `restart` — redis-server starts again on the same files (settings from `config` kept);
//! * `rewrite` — `BGREWRITEAOF`, then time passes until the child is done and the parent swapped
//!   the manifest;
//! * `config <name> <value>` — `CONFIG SET` (while the server is down: a setting for the next
//!   `restart`, as an edit of redis.conf); `lab-rewrite-keys-per-tick` is the lab's own;
//! * `check-aof` / `check-aof --fix` — `redis-check-aof [--fix]` on the manifest;
//! * `say <text>` — the narration shown to the learner;
//! * `expect <command> => <reply as redis-cli prints it>` — runs the command and compares. A
//!   multi-line reply continues on the next lines, each starting with `=>`. Besides Redis
//!   commands, `<command>` may be one of the lab's probes: `@info <field>` (a field of `INFO
//!   persistence`), `@aof` (the bytes the last command or `tick` appended to `aof_buf`, escaped as `\r\n`),
//!   `@layers <file>` (`written <n>, on disk <m>` for a file of `appendonlydir`), `@files` (the
//!   names in `appendonlydir`), `@manifest` (its lines), `@crash <field>` (of the last crash
//!   report: `lost_aof_buf`, `lost_page_cache`, `keys_before`, `keys_after`, `rdb_keys`).
//!
//! [`parse`] reports every malformed line with its number; [`Runner`] plays the steps one at a
//! time (the page's Step / Play) and says for each `expect` what was expected and what came.

use super::{Lab, memory_lab};
use crate::Config;

/// Cron period of the simulated time (`hz 10`).
const CRON_MS: i64 = 100;
/// Longest `tick` accepted (an hour: a scenario is about seconds, never a busy loop).
const MAX_TICK_MS: i64 = 3_600_000;
/// The simulated clock at the start of every scenario (2023-11-14T22:13:20Z): a fixed start makes
/// absolute times (`PXAT`, `PEXPIREAT`) the same in every run, so that `expect` can check them.
pub const START_MS: i64 = 1_700_000_000_000;
/// How long `rewrite` lets simulated time run before it gives up on the child.
const REWRITE_TIMEOUT_MS: i64 = 60_000;

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Command(String),
    Tick(i64),
    Crash(String),
    Restart,
    Rewrite,
    Config(String, String),
    CheckAof { fix: bool },
    Say(String),
    Expect { command: String, want: Vec<String> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line number in the script (of the first line for a multi-line `expect`).
    pub line: usize,
    pub kind: StepKind,
}

impl Step {
    /// `kind` and the step as a learner reads it (`tick 1000`, `expect GET k => "v"`, the narration).
    pub fn describe(&self) -> (&'static str, String) {
        match &self.kind {
            StepKind::Command(l) => ("command", l.clone()),
            StepKind::Tick(ms) => ("tick", format!("tick {ms}")),
            StepKind::Crash(k) => ("crash", format!("crash {k}")),
            StepKind::Restart => ("restart", "restart".into()),
            StepKind::Rewrite => ("rewrite", "rewrite".into()),
            StepKind::Config(n, v) => ("config", format!("config {n} {v}")),
            StepKind::CheckAof { fix } => ("check-aof", if *fix { "check-aof --fix".into() } else { "check-aof".into() }),
            StepKind::Say(t) => ("say", t.clone()),
            StepKind::Expect { command, want } => ("expect", format!("{command} => {}", want.join(" / "))),
        }
    }
}

/// The steps as JSON: `[{line, kind, text}]`.
pub fn steps_json(steps: &[Step]) -> String {
    let items: Vec<String> = steps
        .iter()
        .map(|s| {
            let (kind, text) = s.describe();
            format!(r#"{{"line":{},"kind":{},"text":{}}}"#, s.line, super::json_string(kind), super::json_string(&text))
        })
        .collect();
    format!("[{}]", items.join(","))
}

impl Outcome {
    /// `{index, line, kind, text, output: [..], passed: true|false|null, failure: "..."|null}`.
    pub fn to_json(&self) -> String {
        let output: Vec<String> = self.output.iter().map(|o| super::json_string(o)).collect();
        format!(
            r#"{{"index":{},"line":{},"kind":{},"text":{},"output":[{}],"passed":{},"failure":{}}}"#,
            self.index,
            self.line,
            super::json_string(self.kind),
            super::json_string(&self.text),
            output.join(","),
            self.passed.map_or("null".to_string(), |p| p.to_string()),
            self.failure.as_deref().map_or("null".to_string(), super::json_string)
        )
    }
}

/// A line the parser refused.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a scenario; every malformed line is reported (not only the first).
pub fn parse(text: &str) -> Result<Vec<Step>, Vec<ParseError>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(rest) = t.strip_prefix("=>") {
            match steps.last_mut() {
                Some(Step { kind: StepKind::Expect { want, .. }, .. }) => want.push(rest.trim().to_string()),
                _ => errors.push(ParseError { line, message: "'=>' continues an expect, but no expect precedes it".into() }),
            }
            continue;
        }
        let (word, args) = match t.split_once(char::is_whitespace) {
            Some((w, a)) => (w, a.trim()),
            None => (t, ""),
        };
        let mut err = |message: String| errors.push(ParseError { line, message });
        let kind = match word.to_ascii_lowercase().as_str() {
            "tick" => match args.parse::<i64>() {
                Ok(ms) if (0..=MAX_TICK_MS).contains(&ms) => StepKind::Tick(ms),
                _ => {
                    err(format!("tick takes milliseconds between 0 and {MAX_TICK_MS}, not '{args}'"));
                    continue;
                }
            },
            "crash" => match args {
                "kill" | "power" | "torn" => StepKind::Crash(args.to_string()),
                _ => {
                    err(format!("crash takes kill, power or torn, not '{args}'"));
                    continue;
                }
            },
            "restart" | "rewrite" if !args.is_empty() => {
                err(format!("{word} takes no argument"));
                continue;
            }
            "restart" => StepKind::Restart,
            "rewrite" => StepKind::Rewrite,
            "check-aof" => match args {
                "" => StepKind::CheckAof { fix: false },
                "--fix" => StepKind::CheckAof { fix: true },
                _ => {
                    err(format!("check-aof takes nothing or --fix, not '{args}'"));
                    continue;
                }
            },
            "config" => match args.split_once(char::is_whitespace) {
                Some((name, value)) if !value.trim().is_empty() => StepKind::Config(name.to_string(), value.trim().to_string()),
                _ => {
                    err("config takes a name and a value".into());
                    continue;
                }
            },
            "say" if args.is_empty() => {
                err("say needs a text".into());
                continue;
            }
            "say" => StepKind::Say(args.to_string()),
            "expect" => match args.split_once("=>") {
                Some((cmd, want)) if !cmd.trim().is_empty() => {
                    let command = cmd.trim().to_string();
                    if let Some(e) = command_error(&command) {
                        err(e);
                        continue;
                    }
                    StepKind::Expect { command, want: vec![want.trim().to_string()] }
                }
                _ => {
                    err("expect needs '<command> => <reply>'".into());
                    continue;
                }
            },
            _ => {
                if let Some(e) = command_error(t) {
                    err(e);
                    continue;
                }
                StepKind::Command(t.to_string())
            }
        };
        steps.push(Step { line, kind });
    }
    if errors.is_empty() { Ok(steps) } else { Err(errors) }
}

/// Why a command line cannot be run, if it cannot (redis-cli's own complaint).
fn command_error(line: &str) -> Option<String> {
    if line.starts_with('@') {
        let probe = line.split_whitespace().next().unwrap_or_default();
        return match probe {
            "@info" | "@layers" | "@crash" if line.split_whitespace().count() != 2 => Some(format!("{probe} takes one argument")),
            "@info" | "@layers" | "@crash" | "@aof" | "@files" | "@manifest" => None,
            _ => Some(format!("unknown probe '{probe}' (@info, @aof, @layers, @files, @manifest, @crash)")),
        };
    }
    match crate::resp::split_args(line.as_bytes()) {
        None => Some("Invalid argument(s): unbalanced quotes".into()),
        Some(_) => None,
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Index of the step in the scenario.
    pub index: usize,
    pub line: usize,
    /// `command`, `tick`, `crash`, `restart`, `rewrite`, `config`, `check-aof`, `say`, `expect`.
    pub kind: &'static str,
    /// The step as written (the command, or `tick 1000`...).
    pub text: String,
    /// What it printed (replies, the crash's reasons, the narration).
    pub output: Vec<String>,
    /// For an `expect`: whether it passed (other steps: `None`).
    pub passed: Option<bool>,
    /// For a failed `expect`: what was wanted and what came, said plainly.
    pub failure: Option<String>,
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
    pub fn from_text(text: &str) -> Result<Runner, Vec<ParseError>> {
        parse(text).map(Runner::new)
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

    /// Runs the next step; `None` when the scenario is over.
    pub fn step(&mut self) -> Option<Outcome> {
        let index = self.next;
        let step = self.steps.get(index)?.clone();
        self.next += 1;
        Some(self.play.step(&mut self.lab, index, &step))
    }

    /// Runs every remaining step.
    pub fn run_all(&mut self) -> Vec<Outcome> {
        std::iter::from_fn(|| self.step()).collect()
    }
}

/// What playing steps on a lab keeps between them: the simulated clock, the bytes the last
/// command appended (for `@aof`) and the `config` given while the server was down (for the next
/// `restart`). A [`Runner`] holds one; the lab's timeline holds one too, so that a scenario step
/// is an input of its recording like a typed command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Play {
    /// The simulated clock (unix ms); a step that lets time pass moves it.
    pub now: i64,
    /// Bytes the last command appended to `aof_buf` (the `@aof` probe).
    last_aof: Vec<u8>,
    /// `config` steps given while the server was down: applied at the next `restart`.
    pending: Vec<(String, String)>,
}

impl Play {
    pub fn new(now: i64) -> Play {
        Play { now, ..Play::default() }
    }

    /// Runs `step` (number `index` of its scenario) on `lab`.
    pub fn step(&mut self, lab: &mut Lab, index: usize, step: &Step) -> Outcome {
        let step = step.clone();
        let mut out = Outcome { index, line: step.line, kind: "command", text: String::new(), output: vec![], passed: None, failure: None };
        match step.kind {
            StepKind::Command(line) => {
                out.output = self.run(lab, &line);
                out.text = line;
            }
            StepKind::Tick(ms) => {
                out.kind = "tick";
                out.text = format!("tick {ms}");
                out.output = self.advance(lab, ms);
            }
            StepKind::Crash(kind) => {
                out.kind = "crash";
                out.text = format!("crash {kind}");
                self.now += 1;
                out.output = match lab.crash(&kind, self.now) {
                    Ok(r) => {
                        let mut o = r.why.clone();
                        o.push(if r.started { "redis-server restarted".into() } else { "redis-server refused to start".into() });
                        o
                    }
                    Err(e) => vec![e],
                };
                self.last_aof.clear();
            }
            StepKind::Restart => {
                out.kind = "restart";
                out.text = "restart".into();
                self.now += 1;
                let settings = std::mem::take(&mut self.pending);
                out.output = match lab.restart(&settings, self.now) {
                    Ok(true) => vec!["redis-server started".into()],
                    Ok(false) => {
                        let mut o = vec!["redis-server refused to start:".to_string()];
                        o.extend(lab.is_down().unwrap_or_default().iter().cloned());
                        o
                    }
                    Err(e) => vec![e],
                };
                self.last_aof.clear();
            }
            StepKind::Rewrite => {
                out.kind = "rewrite";
                out.text = "rewrite".into();
                out.output = self.rewrite(lab);
            }
            StepKind::Config(name, value) => {
                out.kind = "config";
                out.text = format!("config {name} {value}");
                out.output = self.config(lab, &name, &value);
            }
            StepKind::CheckAof { fix } => {
                out.kind = "check-aof";
                out.text = if fix { "check-aof --fix".into() } else { "check-aof".into() };
                let (text, code) = lab.check_aof(fix);
                out.output = text.lines().map(str::to_string).collect();
                out.output.push(format!("(exit code {code})"));
            }
            StepKind::Say(text) => {
                out.kind = "say";
                out.output = vec![text.clone()];
                out.text = text;
            }
            StepKind::Expect { command, want } => {
                out.kind = "expect";
                out.text = format!("{command} => {}", want.join(" / "));
                let got = if command.starts_with('@') { self.probe(lab, &command) } else { self.run(lab, &command) };
                let got: Vec<String> = got.iter().flat_map(|r| r.split('\n')).map(str::to_string).collect();
                let passed = got == want;
                if !passed {
                    out.failure = Some(format!(
                        "line {}: expect {command}: wanted {}, got {}",
                        step.line,
                        want.join(" / "),
                        if got.is_empty() { "nothing".to_string() } else { got.join(" / ") }
                    ));
                }
                out.passed = Some(passed);
                out.output = got;
            }
        }
        out
    }

    fn run(&mut self, lab: &mut Lab, line: &str) -> Vec<String> {
        lab.take_appended();
        let out = lab.execute_line(line, self.now);
        self.last_aof = lab.take_appended();
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
        out
    }

    fn rewrite(&mut self, lab: &mut Lab) -> Vec<String> {
        let mut out = self.run(lab, "BGREWRITEAOF");
        let deadline = self.now + REWRITE_TIMEOUT_MS;
        while self.now < deadline && lab.is_down().is_none() {
            let info = Self::info(lab);
            if field(&info, "aof_rewrite_in_progress") == Some("0") && field(&info, "aof_rewrite_scheduled") == Some("0") {
                out.push(format!("rewrite done (aof_rewrites:{})", field(&info, "aof_rewrites").unwrap_or("?")));
                return out;
            }
            out.extend(self.advance(lab, CRON_MS));
        }
        out.push("the rewrite did not finish".into());
        out
    }

    fn config(&mut self, lab: &mut Lab, name: &str, value: &str) -> Vec<String> {
        if name == "lab-rewrite-keys-per-tick" {
            return match value.parse::<u64>() {
                Ok(n) => {
                    lab.set_rewrite_speed(n, self.now);
                    vec!["OK".into()]
                }
                Err(_) => vec![format!("(error) {name} takes a number of keys, not '{value}'")],
            };
        }
        if lab.is_down().is_some() {
            self.pending.push((name.to_string(), value.to_string()));
            return vec![format!("{name} {value} (for the next start)")];
        }
        // Quoted so that values with spaces stay one argument.
        self.run(lab, &format!("CONFIG SET {} \"{}\"", name, value.replace('\\', "\\\\").replace('"', "\\\"")))
    }

    fn info(lab: &Lab) -> String {
        crate::cmd::server::info::gen_info_string(&lab.engine.srv, &[b"persistence"])
    }

    fn probe(&mut self, lab: &mut Lab, line: &str) -> Vec<String> {
        let mut words = line.split_whitespace();
        let probe = words.next().unwrap_or_default();
        let arg = words.next().unwrap_or_default();
        let dir = lab.config().appenddirname.clone();
        match probe {
            "@info" => vec![field(&Self::info(lab), arg).unwrap_or("(no such field)").to_string()],
            "@aof" => vec![escape(&self.last_aof)],
            "@files" => {
                let prefix = format!("{dir}/");
                let names = lab.engine.srv.storage.list(Some(&dir)).unwrap_or_default();
                names.into_iter().map(|n| n.strip_prefix(&prefix).map(str::to_string).unwrap_or(n)).collect()
            }
            "@manifest" => {
                let path = crate::storage::join(&dir, &format!("{}.manifest", lab.config().appendfilename));
                match lab.engine.srv.storage.read_all(&path) {
                    Ok(b) => String::from_utf8_lossy(&b).lines().map(str::to_string).collect(),
                    Err(e) => vec![format!("{path}: {e}")],
                }
            }
            "@layers" => {
                let path = crate::storage::join(&dir, arg);
                let layers = lab.file_layers().unwrap_or_default();
                match layers.iter().find(|f| f.name == path || f.name == arg) {
                    Some(f) => vec![format!("written {}, on disk {}", f.len, f.durable_len)],
                    None => vec![format!("{arg}: no such file")],
                }
            }
            "@crash" => {
                let Some(c) = lab.last_crash.as_ref() else { return vec!["no crash yet".into()] };
                let v = match arg {
                    "lost_aof_buf" => c.lost_aof_buf.to_string(),
                    "lost_page_cache" => c.lost_page_cache.to_string(),
                    "keys_before" => c.keys_before.to_string(),
                    "keys_after" => c.keys_after.to_string(),
                    "rdb_keys" => c.rdb_keys.map_or("none".to_string(), |k| k.to_string()),
                    other => format!("unknown crash field '{other}'"),
                };
                vec![v]
            }
            other => vec![format!("unknown probe '{other}'")],
        }
    }
}

/// A `field:value` line of an INFO text.
fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim_end)
}

/// Bytes as one printable line: `\r`, `\n`, `\t`, `\\`, and `\xHH` for the rest.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            32..=126 => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Outcome> {
        match Runner::from_text(text) {
            Ok(mut r) => r.run_all(),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn failures(outcomes: &[Outcome]) -> Vec<String> {
        outcomes.iter().filter_map(|o| o.failure.clone()).collect()
    }

    #[test]
    fn parse_reports_every_bad_line_with_its_number() {
        let text = "# c\n\nSET k v\ntick soon\ncrash gently\nrestart now\nconfig appendfsync\nexpect GET k\n=> orphan?\nsay\nSET \"k v\nexpect @nope => 1\n";
        let errs = parse(text).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        // Line 9 continues line 8's expect, which was refused.
        assert_eq!(lines, [4, 5, 6, 7, 8, 9, 10, 11, 12], "{errs:?}");
        assert!(errs[0].to_string().starts_with("line 4: tick takes milliseconds"), "{}", errs[0]);
        // A continuation right after an expect is fine; after anything else it is not.
        let errs = parse("SET k v\n=> OK").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(parse("expect LRANGE l 0 -1 => 1) \"a\"\n   => 2) \"b\"").is_ok());
    }

    #[test]
    fn parse_never_panics_on_odd_input() {
        for text in
            ["=>", "expect =>", "expect => x", "tick -1", "tick 99999999999999999999", "config", "@", "\u{0}\u{ff}", "crash", "say  "]
        {
            let _ = parse(text);
        }
        let _ = Runner::from_text("expect @layers\n");
        // Every step kind runs without panicking even when it makes no sense.
        let out =
            run("crash kill\nrestart\ncheck-aof\nexpect @crash nonsense => x\nexpect @layers nofile => x\nexpect @info nofield => x\n");
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn commands_and_expects_pass_and_fail_clearly() {
        let out = run(
            "say hello\nSET k v\nexpect GET k => \"v\"\nexpect GET k => \"w\"\nRPUSH l a b\nexpect LRANGE l 0 -1 => 1) \"a\"\n=> 2) \"b\"\n",
        );
        assert_eq!(out[0].kind, "say");
        assert_eq!(out[0].output, ["hello"]);
        assert_eq!(out[1].output, ["OK"]);
        assert_eq!(out[2].passed, Some(true));
        assert_eq!(out[3].passed, Some(false));
        assert_eq!(out[3].failure.as_deref(), Some("line 4: expect GET k: wanted \"w\", got \"v\""));
        assert_eq!(out[5].passed, Some(true), "{:?}", out[5]);
    }

    #[test]
    fn aof_probe_shows_the_propagated_bytes() {
        let out = run("SET k v EX 100\nexpect @aof => *3\\r\\n$3\\r\\nset\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n");
        // The first write of the lab also selects the db; SET EX propagates as SET ... PXAT.
        assert_eq!(out[1].passed, Some(false));
        let got = &out[1].output[0];
        assert!(got.starts_with("*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n"), "{got}");
        assert!(got.contains("PXAT\\r\\n$13\\r\\n1700000100000\\r\\n"), "{got}");
    }

    #[test]
    fn tick_makes_everysec_fsync_and_crash_power_keeps_it() {
        let out = run("SET a 1\nexpect @layers appendonly.aof.1.incr.aof => written 50, on disk 50\nSET b 2\n\
             expect @layers appendonly.aof.1.incr.aof => written 77, on disk 50\ntick 1100\n\
             expect @layers appendonly.aof.1.incr.aof => written 77, on disk 77\nSET c 3\nSET d 4\ncrash power\nexpect DBSIZE => (integer) 2\n\
             expect @crash lost_page_cache => 54\n");
        assert_eq!(failures(&out), Vec::<String>::new());
        assert_eq!(out[8].kind, "crash");
        assert!(out[8].output.last().is_some_and(|l| l == "redis-server restarted"), "{:?}", out[8].output);
    }

    #[test]
    fn rewrite_waits_for_the_child_and_swaps_the_manifest() {
        let out = run("config lab-rewrite-keys-per-tick 1\nSET a 1\nSET b 2\nrewrite\nexpect @info aof_rewrites => 1\n\
             expect @files => appendonly.aof.2.base.rdb\n=> appendonly.aof.2.incr.aof\n=> appendonly.aof.manifest\n");
        assert_eq!(failures(&out), Vec::<String>::new());
        assert!(out[3].output.last().is_some_and(|l| l.starts_with("rewrite done")), "{:?}", out[3].output);
    }

    #[test]
    fn config_while_down_applies_at_restart() {
        let out = run(
            "config aof-load-truncated no\nSET a 1\nSET b 2\ncrash torn\nexpect PING => Could not connect to Redis at 127.0.0.1:6379: Connection refused\n\
             config aof-load-truncated yes\nrestart\nexpect PING => PONG\n",
        );
        assert_eq!(failures(&out), Vec::<String>::new());
        assert_eq!(out[5].output, ["aof-load-truncated yes (for the next start)"]);
    }

    #[test]
    fn json_of_steps_and_outcomes() {
        let mut r = Runner::from_text("say \"hi\"\nexpect GET k => (nil)\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            steps_json(r.steps()),
            r#"[{"line":1,"kind":"say","text":"\"hi\""},{"line":2,"kind":"expect","text":"GET k => (nil)"}]"#
        );
        let o = r.run_all();
        assert_eq!(
            o[1].to_json(),
            r#"{"index":1,"line":2,"kind":"expect","text":"GET k => (nil)","output":["(nil)"],"passed":true,"failure":null}"#
        );
        assert!(r.done());
    }

    #[test]
    fn random_scripts_never_panic() {
        // Steps in any order (crashes while down, rewrites of a refused server, probes before any
        // file, odd bytes): the runner reports, it never panics.
        const WORDS: &[&str] = &[
            "SET k v",
            "SET k v EX 1",
            "INCR n",
            "RPUSH l a b",
            "DEL k",
            "BGREWRITEAOF",
            "BGSAVE",
            "MULTI",
            "EXEC",
            "FLUSHALL",
            "tick 0",
            "tick 150",
            "tick 1200",
            "crash kill",
            "crash power",
            "crash torn",
            "restart",
            "rewrite",
            "check-aof",
            "check-aof --fix",
            "config aof-load-truncated no",
            "config aof-load-truncated yes",
            "config appendfsync always",
            "config appendonly no",
            "config lab-rewrite-keys-per-tick 1",
            "say x",
            "expect GET k => \"v\"",
            "expect @aof => ",
            "expect @files => x",
            "expect @manifest => x",
            "expect @layers appendonly.aof.1.incr.aof => x",
            "expect @crash keys_after => 0",
            "expect @info aof_rewrites => 0",
        ];
        const BAD: &[&str] = &["\"unbalanced", "\u{0}\u{7f}\u{e9}", "tick x", "=> y", "crash", "expect =>"];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut ran = 0;
        for round in 0..80 {
            // One script in four has a malformed line somewhere: parse errors, not panics.
            let words: Vec<&str> = if round % 4 == 0 { WORDS.iter().chain(BAD).copied().collect() } else { WORDS.to_vec() };
            let text: Vec<&str> = (0..rng.usize(1..25)).map(|_| words[rng.usize(..words.len())]).collect();
            let text = text.join("\n");
            match parse(&text) {
                Ok(steps) => {
                    let n = steps.len();
                    let out = Runner::new(steps).run_all();
                    assert_eq!(out.len(), n, "{text}");
                    ran += 1;
                }
                Err(errors) => assert!(errors.iter().all(|e| e.line >= 1), "{text}"),
            }
        }
        assert!(ran >= 60, "only {ran} scripts ran");
    }

    #[test]
    fn bad_config_is_an_error_reply_not_a_panic() {
        let out = run("config appendfsync sometimes\nconfig lab-rewrite-keys-per-tick many\n");
        assert!(out[0].output[0].starts_with("(error) ERR"), "{:?}", out[0].output);
        assert!(out[1].output[0].starts_with("(error)"), "{:?}", out[1].output);
    }

    /// The names listed in www/scenarios/index.json (`"name": "…"`).
    fn index_names(json: &str) -> Vec<String> {
        json.split("\"name\":").skip(1).filter_map(|r| r.split('"').nth(1)).map(str::to_string).collect()
    }

    #[test]
    fn every_built_in_scenario_passes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/scenarios");
        let index = std::fs::read_to_string(dir.join("index.json")).expect("www/scenarios/index.json");
        let names = index_names(&index);
        assert!(names.len() >= 6, "{names:?}");
        // Every file is in the index, and every name in the index has its file.
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("www/scenarios")
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".txt").map(str::to_string))
            .collect();
        files.sort();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(files, sorted, "index.json and the .txt files differ");
        let mut problems = Vec::new();
        for name in &names {
            let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).expect("scenario file");
            let steps = match parse(&text) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("{name}: {e:?}"));
                    continue;
                }
            };
            let n = steps.len();
            assert!((5..=20).contains(&n), "{name}: {n} steps");
            let mut r = Runner::new(steps);
            let out = r.run_all();
            let expects: Vec<&Outcome> = out.iter().filter(|o| o.kind == "expect").collect();
            assert!(!expects.is_empty(), "{name} checks nothing");
            assert_eq!(out.last().map(|o| o.kind), Some("expect"), "{name} must end with an expect");
            problems.extend(out.iter().filter_map(|o| o.failure.as_ref()).map(|f| format!("{name}.txt {f}")));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
