//! What the page draws from the timeline: the slider's marks and the console as it was.

use super::{Timeline, common_prefix};
use crate::lab::input::{Action, Answer, Origin, flags};
use crate::lab::json_string;

/// A point of interest on the slider: the input `seq` (0: the start), its time and its
/// [`flags`] (plus [`FORK`] where another branch leaves the current line after it).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub seq: u64,
    pub t: i64,
    pub flags: u32,
}

/// A branch leaves the current line after this input.
pub const FORK: u32 = 1 << 15;

/// One entry of the console as it was: a line typed (with its replies), a late reply (a blocked
/// command served by a tick), or a lab action (crash, restart …) with what it said.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleEntry {
    pub seq: u64,
    pub t: i64,
    pub origin: Origin,
    pub kind: &'static str,
    pub text: String,
    pub replies: Vec<String>,
}

impl Timeline {
    /// The slider's points of interest on the current line (the recorded future included).
    pub fn marks(&self) -> Vec<Mark> {
        let mut forks: Vec<usize> =
            self.branches.iter().filter(|b| b.id != self.current).map(|b| common_prefix(&b.line, &self.line)).collect();
        forks.sort_unstable();
        let mut out = Vec::new();
        if forks.first() == Some(&0) {
            out.push(Mark { seq: 0, t: self.t0, flags: FORK });
        }
        for (i, r) in self.line.iter().enumerate() {
            let fork = if forks.binary_search(&(i + 1)).is_ok() { FORK } else { 0 };
            let bits = r.output.flags | fork;
            if bits != 0 {
                out.push(Mark { seq: r.input.seq, t: r.input.t, flags: bits });
            }
        }
        out
    }

    /// `[{seq, t, flags: [names]}]` of [`Timeline::marks`].
    pub fn marks_json(&self) -> String {
        let items: Vec<String> = self
            .marks()
            .iter()
            .map(|m| {
                let mut names = flags::names(m.flags);
                if m.flags & FORK != 0 {
                    names.push("fork");
                }
                let names: Vec<String> = names.iter().map(|n| json_string(n)).collect();
                format!(r#"{{"seq":{},"t":{},"flags":[{}]}}"#, m.seq, m.t, names.join(","))
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// The slider's points after input `since` on the current line, as JSON `[{seq, t, kind,
    /// flags: [names]}]`: every input but the ticks in which nothing happened (ten per simulated
    /// second, they are the bulk; the slider covers them by number and time), each with its
    /// kind (`lines`, `tick`, `crash` …, see [`Action::kind`]), its [`flags`] and `fork` where
    /// another branch leaves the current line after it (seq 0: at the start). A page keeps what
    /// it received and asks for what follows; a fork, a switch or a discard changes earlier
    /// points, and the page then asks from 0.
    pub fn marks_since_json(&self, since: u64) -> String {
        let forks: Vec<usize> = self.branches.iter().filter(|b| b.id != self.current).map(|b| common_prefix(&b.line, &self.line)).collect();
        let mut items = Vec::new();
        if since == 0 && forks.contains(&0) {
            items.push(format!(r#"{{"seq":0,"t":{},"kind":"start","flags":["fork"]}}"#, self.t0));
        }
        let from = usize::try_from(since).unwrap_or(usize::MAX).min(self.line.len());
        for (i, r) in self.line.iter().enumerate().skip(from) {
            let fork = forks.contains(&(i + 1));
            let kind = r.input.action.kind();
            if kind == "tick" && r.output.flags == 0 && !fork {
                continue;
            }
            let mut names: Vec<String> = flags::names(r.output.flags).iter().map(|n| json_string(n)).collect();
            if fork {
                names.push(json_string("fork"));
            }
            items.push(format!(r#"{{"seq":{},"t":{},"kind":"{kind}","flags":[{}]}}"#, r.input.seq, r.input.t, names.join(",")));
        }
        format!("[{}]", items.join(","))
    }

    /// `[{id, parent, fork_seq, diverges_at, head_seq, head_t, current}]` of
    /// [`Timeline::branches`].
    pub fn branches_json(&self) -> String {
        let items: Vec<String> = self
            .branches()
            .iter()
            .map(|b| {
                format!(
                    r#"{{"id":{},"parent":{},"fork_seq":{},"diverges_at":{},"head_seq":{},"head_t":{},"current":{}}}"#,
                    b.id,
                    b.parent.map_or("null".to_string(), |p| p.to_string()),
                    b.fork_seq,
                    b.diverges_at,
                    b.head_seq,
                    b.head_t,
                    b.current
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// The console as it was at the position: its last `limit` entries.
    pub fn console(&self, limit: usize) -> Vec<ConsoleEntry> {
        let mut out = Vec::new();
        for r in self.line[..self.pos].iter().rev() {
            if out.len() >= limit {
                break;
            }
            let (seq, t, origin) = (r.input.seq, r.input.t, r.input.origin);
            let entry = |kind, text: String, replies: Vec<String>| ConsoleEntry { seq, t, origin, kind, text, replies };
            let mut here = Vec::new();
            match (&r.input.action, &r.output.answer) {
                (Action::Lines(lines), Answer::Lines(outs)) => {
                    for (line, (replies, _)) in lines.iter().zip(outs) {
                        if !line.trim().is_empty() {
                            here.push(entry("command", line.clone(), replies.clone()));
                        }
                    }
                }
                (Action::Tick, Answer::Replies(replies)) if !replies.is_empty() => here.push(entry("late", String::new(), replies.clone())),
                // A scenario's steps: its commands as typed (by the scenario), its narration and
                // predictions not at all (its panel tells them), the rest with what it said.
                (Action::Scenario { .. }, Answer::Scenario(o)) => match o.kind {
                    "command" => here.push(entry("command", o.text.clone(), o.output.clone())),
                    "say" | "note" | "mark" | "predict" => {}
                    _ => here.push(entry("scenario", o.text.clone(), o.output.clone())),
                },
                // The second console keeps its own transcript (what reached the first console
                // through it comes with the next tick, as a late reply).
                (Action::Tick | Action::Resp(_) | Action::Predict(_) | Action::Second(_), _) => {}
                (action, answer) => here.push(entry(action.kind(), action.describe(), answer_lines(answer))),
            }
            out.extend(here.into_iter().rev());
        }
        out.truncate(limit);
        out.reverse();
        out
    }

    /// `[{seq, t, origin, kind, text, replies}]` of [`Timeline::console`].
    pub fn console_json(&self, limit: usize) -> String {
        let items: Vec<String> = self
            .console(limit)
            .iter()
            .map(|e| {
                let replies: Vec<String> = e.replies.iter().map(|s| json_string(s)).collect();
                format!(
                    r#"{{"seq":{},"t":{},"origin":"{}","kind":"{}","text":{},"replies":[{}]}}"#,
                    e.seq,
                    e.t,
                    if e.origin == Origin::User { "user" } else { "scenario" },
                    e.kind,
                    json_string(&e.text),
                    replies.join(",")
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }
}

/// What an answer said, as console lines.
fn answer_lines(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::None | Answer::Lines(_) | Answer::Resp(_) => vec![],
        Answer::Replies(r) => r.clone(),
        Answer::Crash(Ok(r)) => {
            let mut o = r.why.clone();
            o.push(if r.started { "redis-server restarted".into() } else { "redis-server refused to start".into() });
            o
        }
        Answer::Started(Ok(true)) => vec!["redis-server started".into()],
        Answer::Started(Ok(false)) => vec!["redis-server refused to start".into()],
        Answer::Crash(Err(e)) | Answer::Started(Err(e)) | Answer::Text(Err(e)) => vec![format!("(error) {e}")],
        Answer::Text(Ok(t)) => t.lines().map(str::to_string).collect(),
        Answer::Check(text, code) => {
            let mut o: Vec<String> = text.lines().map(str::to_string).collect();
            o.push(format!("(exit code {code})"));
            o
        }
        Answer::Scenario(outcome) => outcome.output.clone(),
    }
}
