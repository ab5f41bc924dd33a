//! Guided scenarios: plain-text scripts that a tutorial page embeds and the lab plays step by
//! step on a simulated machine (a fresh [`super::memory_lab`], so that crashes are possible and
//! every run gives the same bytes).
//!
//! The format, one step per line (`#` starts a comment line, blank lines are ignored):
//!
//! * `SET k v` — any other line is a Redis command, in redis-cli quoting;
//! * `repeat <n> <command>` — the command `n` times (1 … 10 000), each in its own event-loop
//!   turn, with `{i}` replaced by 1, 2 … n (`repeat 200 INCR visits`, `repeat 50 SET k{i} v`);
//! * `tick <ms>` — simulated time passes: serverCron runs every 100 ms (`hz 10`) meanwhile;
//! * `crash kill|power|torn|torn-seq` — the process dies / the machine loses power / a torn op
//!   (the last write half on disk: a truncated tail) / a torn sequence (zeros before bytes that
//!   did arrive: a hole in the middle); the server restarts on what survived (it may refuse:
//!   commands then get "Could not connect");
//! * `restart` — redis-server stops (as a kill) and starts again on the same files, with the
//!   settings in force (`config` kept); `restart <name> <value>`: with that line edited in
//!   redis.conf meanwhile (`restart appendonly yes`);
//! * `rewrite` — `BGREWRITEAOF`, then time passes until the child is done and the parent swapped
//!   the manifest;
//! * `config <name> <value>` — `CONFIG SET`. While the server is down, or for a start-up-only
//!   setting (`lab-aof-mode`), it is an edit of redis.conf for the next `restart`.
//!   `lab-rewrite-keys-per-tick` (keys the simulated child writes per cron tick) and
//!   `lab-fsync-latency-ms` (how long a background fsync takes: a slow disk, kept across
//!   restarts) are the lab's own;
//! * `redis.conf <name> <value>` — the machine starts (empty) with this line in redis.conf:
//!   `redis.conf appendonly no` (a server that never had an AOF), `redis.conf lab-aof-mode 6.2`.
//!   Only before the first step that talks to the server;
//! * `check-aof` / `check-aof --fix` — `redis-check-aof [--fix]` on the manifest;
//! * `say <text>` — the narration shown to the learner; `note <text>` — an aside: where the
//!   tutorial article simplifies and Redis 7.0 differs;
//! * `mark <label>` — a named point (a chapter of the scenario, a mark on the timeline);
//! * `predict "<question>" | <right answer> | <wrong> | <wrong>` — predict-then-reveal: the
//!   first choice is the right one (the page shuffles them and offers a skip); the learner's
//!   answer is an input ([`Runner::answer`]), the outcome reveals the right one;
//! * `expect <command> => <reply as redis-cli prints it>` — runs the command and compares. A
//!   multi-line reply continues on the next lines, each starting with `=>`;
//! * `wait <command> => <reply>` — lets simulated time pass (cron every 100 ms, at most
//!   [`MAX_WAIT_MS`]) until the command gives that reply (`wait @info aof_rewrites => 1`: until
//!   cron started a rewrite by itself); a check, like `expect`, that says how long it took.
//!
//! Besides Redis commands, the `<command>` of a check may be one of the lab's probes:
//! `@info <field>` (a field of INFO), `@aof` (the bytes the last command, `repeat` or `tick`
//! appended to `aof_buf`, escaped as `\r\n`), `@layers <file>` (`written <n>, on disk <m>` for a
//! file of the AOF), `@size <file>`, `@head <file> <n>` (its first n bytes, escaped),
//! `@records <file>` (its records, one per line: `SET k v`, `RDB v10 snapshot`), `@files` (the
//! names in `appendonlydir`, or in the 6.2 design the files of `dir`), `@manifest` (its lines),
//! `@crash <field>` (of the last crash report: `lost_aof_buf`, `lost_page_cache`,
//! `keys_before`, `keys_after`, `rdb_keys`), `@log <text>` (the last server log line containing
//! the text), `@auto-rewrite` (where serverCron's growth trigger stands), `@rewrite-diff` (6.2:
//! the bytes of the rewrite buffer the parent already sent to the child).
//!
//! Every check reads as a plain sentence for a learner ("appendonly.aof.1.incr.aof is on disk:
//! 61 of 61 bytes", "DBSIZE is 3 after the restart"), made from what it compares
//! ([`sentence`]); the raw line stays available ([`Step::script`]).
//!
//! [`parse`] reports every malformed line with its number; [`Runner`] plays the steps one at a
//! time (the page's Step / Play) and says for each check what was expected and what came.

mod play;
mod probe;
pub mod sentence;
#[cfg(test)]
pub(crate) mod tests;

pub use play::{Play, Runner};

/// Cron period of the simulated time (`hz 10`).
const CRON_MS: i64 = 100;
/// Longest `tick` accepted (an hour: a scenario is about seconds, never a busy loop).
const MAX_TICK_MS: i64 = 3_600_000;
/// The simulated clock at the start of every scenario (2023-11-14T22:13:20Z): a fixed start makes
/// absolute times (`PXAT`, `PEXPIREAT`) the same in every run, so that `expect` can check them.
pub const START_MS: i64 = 1_700_000_000_000;
/// How long `rewrite` lets simulated time run before it gives up on the child.
const REWRITE_TIMEOUT_MS: i64 = 60_000;
/// How long `wait` lets simulated time run before the check fails.
pub const MAX_WAIT_MS: i64 = 120_000;
/// Most repetitions of one `repeat` (a scenario shows a growing file, not a benchmark).
const MAX_REPEAT: u32 = 10_000;
/// The crash kinds of [`crate::lab::Lab::crash`].
const CRASH_KINDS: &[&str] = &["kill", "power", "torn", "torn-seq"];

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Command(String),
    Repeat {
        times: u32,
        command: String,
    },
    Tick(i64),
    Crash(String),
    /// With a setting: redis.conf is edited while the server is down (`restart appendonly yes`).
    Restart(Option<(String, String)>),
    Rewrite,
    Config(String, String),
    RedisConf(String, String),
    CheckAof {
        fix: bool,
    },
    Say(String),
    Note(String),
    Mark(String),
    /// `choices[0]` is the right answer.
    Predict {
        question: String,
        choices: Vec<String>,
    },
    Expect {
        command: String,
        want: Vec<String>,
    },
    Wait {
        command: String,
        want: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line number in the script (of the first line for a multi-line check).
    pub line: usize,
    pub kind: StepKind,
}

impl StepKind {
    /// The `kind` of the JSON: `command`, `repeat`, `tick`, `crash`, `restart`, `rewrite`,
    /// `config`, `redis.conf`, `check-aof`, `say`, `note`, `mark`, `predict`, `expect`, `wait`.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Command(_) => "command",
            StepKind::Repeat { .. } => "repeat",
            StepKind::Tick(_) => "tick",
            StepKind::Crash(_) => "crash",
            StepKind::Restart(_) => "restart",
            StepKind::Rewrite => "rewrite",
            StepKind::Config(..) => "config",
            StepKind::RedisConf(..) => "redis.conf",
            StepKind::CheckAof { .. } => "check-aof",
            StepKind::Say(_) => "say",
            StepKind::Note(_) => "note",
            StepKind::Mark(_) => "mark",
            StepKind::Predict { .. } => "predict",
            StepKind::Expect { .. } => "expect",
            StepKind::Wait { .. } => "wait",
        }
    }

    /// A check: compares what came with what the script wants (`expect`, `wait`).
    pub fn is_check(&self) -> bool {
        matches!(self, StepKind::Expect { .. } | StepKind::Wait { .. })
    }

    /// Narration only: nothing runs on the server.
    fn is_narration(&self) -> bool {
        matches!(self, StepKind::Say(_) | StepKind::Note(_) | StepKind::Mark(_))
    }
}

impl Step {
    /// `kind` and the step as written on one line (`tick 1000`, `GET k => "v"` for a check, the
    /// narration's text, a predict's question).
    pub fn describe(&self) -> (&'static str, String) {
        let text = match &self.kind {
            StepKind::Command(l) => l.clone(),
            StepKind::Say(t) | StepKind::Note(t) | StepKind::Mark(t) => t.clone(),
            StepKind::Predict { question, .. } => question.clone(),
            StepKind::Expect { command, want } | StepKind::Wait { command, want } => format!("{command} => {}", want.join(" / ")),
            _ => self.script(),
        };
        (self.kind.name(), text)
    }

    /// The step in the script's syntax, which [`parse`] reads back as this same step (a
    /// multi-line check gives several lines): the raw script a learner may ask to see, and the
    /// form in which a timeline records a scenario step.
    pub fn script(&self) -> String {
        match &self.kind {
            StepKind::Command(l) => l.clone(),
            StepKind::Repeat { times, command } => format!("repeat {times} {command}"),
            StepKind::Tick(ms) => format!("tick {ms}"),
            StepKind::Crash(k) => format!("crash {k}"),
            StepKind::Restart(None) => "restart".into(),
            StepKind::Restart(Some((n, v))) => format!("restart {n} {v}"),
            StepKind::Rewrite => "rewrite".into(),
            StepKind::Config(n, v) => format!("config {n} {v}"),
            StepKind::RedisConf(n, v) => format!("redis.conf {n} {v}"),
            StepKind::CheckAof { fix } => if *fix { "check-aof --fix" } else { "check-aof" }.into(),
            StepKind::Say(t) => format!("say {t}"),
            StepKind::Note(t) => format!("note {t}"),
            StepKind::Mark(t) => format!("mark {t}"),
            StepKind::Predict { question, choices } => {
                format!("predict \"{}\" | {}", question.replace('\\', "\\\\").replace('"', "\\\""), choices.join(" | "))
            }
            StepKind::Expect { command, want } | StepKind::Wait { command, want } => {
                let mut s = format!("{} {command} => {}", self.kind.name(), want.first().map_or("", String::as_str));
                for w in want.iter().skip(1) {
                    s.push_str(&format!("\n=> {w}"));
                }
                s
            }
        }
    }
}

/// The steps as JSON: `[{line, kind, text, sentence, script}]`, plus `choices` (the right one
/// first) for a predict. `sentence` is the step as an action to take, said plainly.
pub fn steps_json(steps: &[Step]) -> String {
    let items: Vec<String> = steps
        .iter()
        .map(|s| {
            let (kind, text) = s.describe();
            let choices = match &s.kind {
                StepKind::Predict { choices, .. } => format!(r#","choices":{}"#, json_strings(choices)),
                _ => String::new(),
            };
            format!(
                r#"{{"line":{},"kind":{},"text":{},"sentence":{},"script":{}{choices}}}"#,
                s.line,
                super::json_string(kind),
                super::json_string(&text),
                super::json_string(&sentence::action(&s.kind)),
                super::json_string(&s.script())
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn json_strings(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|o| super::json_string(o)).collect::<Vec<_>>().join(","))
}

/// What one step did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Index of the step in the scenario.
    pub index: usize,
    pub line: usize,
    /// The step's kind ([`StepKind::name`]).
    pub kind: &'static str,
    /// The step as written ([`Step::describe`]).
    pub text: String,
    /// What it printed (replies, the crash's reasons, the narration, what a check got).
    pub output: Vec<String>,
    /// For a check: whether it passed (other steps: `None`).
    pub passed: Option<bool>,
    /// For a failed check: what was wanted and what came, with the line number.
    pub failure: Option<String>,
    /// What happened, said plainly: for a check the sentence of what it found ("DBSIZE is 3
    /// after the restart"; for a failed one, what was expected and what came instead).
    pub sentence: String,
    /// For a predict: the choices (the right one first) and the answer given.
    pub prediction: Option<Prediction>,
}

/// A predict step's reveal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// The choices as written: `choices[0]` is the right one.
    pub choices: Vec<String>,
    /// The index (into `choices`) of the learner's answer; `None`: skipped.
    pub given: Option<usize>,
}

impl Outcome {
    /// `{index, line, kind, text, output: [..], passed: true|false|null, failure: "..."|null,
    /// sentence, prediction: {choices, right: 0, given: n|null, correct: true|false|null}|null}`.
    pub fn to_json(&self) -> String {
        let prediction = match &self.prediction {
            None => "null".to_string(),
            Some(p) => format!(
                r#"{{"choices":{},"right":0,"given":{},"correct":{}}}"#,
                json_strings(&p.choices),
                p.given.map_or("null".to_string(), |g| g.to_string()),
                p.given.map_or("null".to_string(), |g| (g == 0).to_string())
            ),
        };
        format!(
            r#"{{"index":{},"line":{},"kind":{},"text":{},"output":{},"passed":{},"failure":{},"sentence":{},"prediction":{prediction}}}"#,
            self.index,
            self.line,
            super::json_string(self.kind),
            super::json_string(&self.text),
            json_strings(&self.output),
            self.passed.map_or("null".to_string(), |p| p.to_string()),
            self.failure.as_deref().map_or("null".to_string(), super::json_string),
            super::json_string(&self.sentence),
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
    // A step that talks to the server ran: `redis.conf` comes too late after it.
    let mut server_touched = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(rest) = t.strip_prefix("=>") {
            match steps.last_mut() {
                Some(Step { kind: StepKind::Expect { want, .. } | StepKind::Wait { want, .. }, .. }) => want.push(rest.trim().to_string()),
                _ => errors.push(ParseError { line, message: "'=>' continues an expect or a wait, but none precedes it".into() }),
            }
            continue;
        }
        let (word, args) = match t.split_once(char::is_whitespace) {
            Some((w, a)) => (w, a.trim()),
            None => (t, ""),
        };
        match parse_step(t, word, args) {
            Ok(kind) => {
                if matches!(kind, StepKind::RedisConf(..)) && server_touched {
                    errors.push(ParseError {
                        line,
                        message: "redis.conf sets up the machine before it runs: put it before the first step that talks to the server"
                            .into(),
                    });
                    continue;
                }
                server_touched |= !kind.is_narration() && !matches!(kind, StepKind::RedisConf(..));
                steps.push(Step { line, kind });
            }
            Err(message) => errors.push(ParseError { line, message }),
        }
    }
    if errors.is_empty() { Ok(steps) } else { Err(errors) }
}

/// One line (not a continuation) as a step, or why it is not one.
fn parse_step(t: &str, word: &str, args: &str) -> Result<StepKind, String> {
    let text_of = |what: &str| if args.is_empty() { Err(format!("{what} needs a text")) } else { Ok(args.to_string()) };
    Ok(match word.to_ascii_lowercase().as_str() {
        "tick" => match args.parse::<i64>() {
            Ok(ms) if (0..=MAX_TICK_MS).contains(&ms) => StepKind::Tick(ms),
            _ => return Err(format!("tick takes milliseconds between 0 and {MAX_TICK_MS}, not '{args}'")),
        },
        "repeat" => {
            let (n, command) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            let times = match n.parse::<u32>() {
                Ok(n) if (1..=MAX_REPEAT).contains(&n) => n,
                _ => return Err(format!("repeat takes a count between 1 and {MAX_REPEAT}, then a command; not '{args}'")),
            };
            let command = command.trim();
            if command.is_empty() || command.starts_with('@') {
                return Err("repeat needs a Redis command after the count".into());
            }
            if let Some(e) = command_error(command) {
                return Err(e);
            }
            StepKind::Repeat { times, command: command.to_string() }
        }
        "crash" if CRASH_KINDS.contains(&args) => StepKind::Crash(args.to_string()),
        "crash" => return Err(format!("crash takes kill, power, torn or torn-seq, not '{args}'")),
        "rewrite" if !args.is_empty() => return Err(format!("{word} takes no argument")),
        "restart" if args.is_empty() => StepKind::Restart(None),
        "restart" => match args.split_once(char::is_whitespace) {
            Some((name, value)) if !value.trim().is_empty() => StepKind::Restart(Some((name.to_string(), value.trim().to_string()))),
            _ => return Err("restart takes nothing, or one setting for redis.conf: restart <name> <value>".into()),
        },
        "rewrite" => StepKind::Rewrite,
        "check-aof" => match args {
            "" => StepKind::CheckAof { fix: false },
            "--fix" => StepKind::CheckAof { fix: true },
            _ => return Err(format!("check-aof takes nothing or --fix, not '{args}'")),
        },
        "config" | "redis.conf" => match args.split_once(char::is_whitespace) {
            Some((name, value)) if !value.trim().is_empty() => {
                let (name, value) = (name.to_string(), value.trim().to_string());
                if word == "config" { StepKind::Config(name, value) } else { StepKind::RedisConf(name, value) }
            }
            _ => return Err(format!("{word} takes a name and a value")),
        },
        "say" => StepKind::Say(text_of("say")?),
        "note" => StepKind::Note(text_of("note")?),
        "mark" => StepKind::Mark(text_of("mark")?),
        "predict" => parse_predict(args)?,
        "expect" | "wait" => match args.split_once("=>") {
            Some((cmd, want)) if !cmd.trim().is_empty() => {
                let command = cmd.trim().to_string();
                if let Some(e) = command_error(&command) {
                    return Err(e);
                }
                let want = vec![want.trim().to_string()];
                if word == "expect" { StepKind::Expect { command, want } } else { StepKind::Wait { command, want } }
            }
            _ => return Err(format!("{word} needs '<command> => <reply>'")),
        },
        _ => {
            if let Some(e) = command_error(t) {
                return Err(e);
            }
            StepKind::Command(t.to_string())
        }
    })
}

/// `"<question>" | <right> | <wrong> …`: a quoted question (`\"` and `\\` inside), then at
/// least two distinct, non-empty choices.
fn parse_predict(args: &str) -> Result<StepKind, String> {
    const FORM: &str = "predict takes \"<question>\" | <right answer> | <wrong answer> …";
    let Some(rest) = args.strip_prefix('"') else { return Err(format!("{FORM}: the question must be in double quotes")) };
    let mut question = String::new();
    let mut chars = rest.char_indices();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => question.push(e),
                Some((_, e)) => {
                    question.push('\\');
                    question.push(e);
                }
                None => question.push('\\'),
            },
            '"' => {
                end = Some(i + 1);
                break;
            }
            c => question.push(c),
        }
    }
    let Some(end) = end else { return Err(format!("{FORM}: the question's closing quote is missing")) };
    if question.trim().is_empty() {
        return Err(format!("{FORM}: the question is empty"));
    }
    let Some(choices) = rest[end..].trim().strip_prefix('|') else {
        return Err(format!("{FORM}: '|' and the choices must follow the question"));
    };
    let choices: Vec<String> = choices.split('|').map(|c| c.trim().to_string()).collect();
    if choices.len() < 2 {
        return Err(format!("{FORM}: at least two choices, the right one first"));
    }
    if choices.iter().any(String::is_empty) {
        return Err(format!("{FORM}: a choice is empty"));
    }
    if (1..choices.len()).any(|i| choices[..i].contains(&choices[i])) {
        return Err(format!("{FORM}: two choices are the same"));
    }
    Ok(StepKind::Predict { question: question.trim().to_string(), choices })
}

/// Why a command line cannot be run, if it cannot (redis-cli's own complaint, or a probe's).
fn command_error(line: &str) -> Option<String> {
    if line.starts_with('@') {
        return probe::syntax_error(line);
    }
    match crate::resp::split_args(line.as_bytes()) {
        None => Some("Invalid argument(s): unbalanced quotes".into()),
        Some(_) => None,
    }
}
