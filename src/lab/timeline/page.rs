//! What the page's views read from the timeline at the position, besides the lab itself: the
//! bytes each input appended to `aof_buf` (the AOF buffer view of the past is the recorded
//! outputs of the inputs before the position, as the console is), the scenario steps played so
//! far (the scenario panel of the past), and a sentence for the slider's `aria-valuetext` (what
//! the input at the position was, and the last crash or restart before it).

use super::Timeline;
use crate::lab::input::{Action, Answer};
use crate::lab::json_string;

/// Bytes of a group kept for the page: the view draws at most this many (traffic appends
/// thousands of commands per turn; the log view has them all).
pub const AOF_SHOWN: usize = 1024;

/// What one input (or one line of a console turn) appended to `aof_buf`.
#[derive(Clone, Debug, PartialEq)]
pub struct AofGroup {
    pub seq: u64,
    /// What appended them: the line typed, `serverCron`, the wire, a scenario step.
    pub label: String,
    /// The first [`AOF_SHOWN`] bytes.
    pub bytes: Vec<u8>,
    /// All of them.
    pub len: usize,
}

impl Timeline {
    /// When the timeline starts (simulated unix ms): the slider's 0 s.
    pub fn t0(&self) -> i64 {
        self.t0
    }

    /// The id the next fork gives the branch that keeps the later history.
    pub fn next_branch_id(&self) -> u32 {
        self.next_branch
    }

    /// The last `limit` groups of bytes appended to `aof_buf` up to the position, oldest first,
    /// those of inputs after `after_seq` only (the page asks for what it does not have).
    pub fn aof_groups(&self, limit: usize, after_seq: u64) -> Vec<AofGroup> {
        let mut out = Vec::new();
        for r in self.line[..self.pos].iter().rev() {
            if out.len() >= limit || r.input.seq <= after_seq {
                break;
            }
            let seq = r.input.seq;
            let group = |label: String, bytes: &[u8]| AofGroup {
                seq,
                label,
                bytes: bytes[..bytes.len().min(AOF_SHOWN)].to_vec(),
                len: bytes.len(),
            };
            let mut here = Vec::new();
            if let (Action::Lines(lines), Answer::Lines(outs)) = (&r.input.action, &r.output.answer) {
                for (line, (_, bytes)) in lines.iter().zip(outs) {
                    if !bytes.is_empty() {
                        here.push(group(line.clone(), bytes));
                    }
                }
            }
            if !r.output.appended.is_empty() {
                let label = match &r.input.action {
                    Action::Tick => "serverCron".to_string(),
                    Action::Resp(_) => "the wire".to_string(),
                    other => other.describe(),
                };
                here.push(group(label, &r.output.appended));
            }
            out.extend(here.into_iter().rev());
        }
        out.truncate(limit);
        out.reverse();
        out
    }

    /// Every byte appended to `aof_buf` by the inputs up to the position.
    pub fn aof_total(&self) -> u64 {
        self.line[..self.pos]
            .iter()
            .map(|r| {
                let lines = match &r.output.answer {
                    Answer::Lines(outs) => outs.iter().map(|(_, b)| b.len()).sum(),
                    _ => 0,
                };
                (lines + r.output.appended.len()) as u64
            })
            .sum()
    }

    /// The scenario steps played up to the position, `[{seq, outcome}]` (the outcome as
    /// [`crate::lab::scenario::Outcome::to_json`]): the scenario panel of that moment.
    pub fn scenario_json(&self) -> String {
        let items: Vec<String> = self.line[..self.pos]
            .iter()
            .filter_map(|r| match &r.output.answer {
                Answer::Scenario(o) => Some(format!(r#"{{"seq":{},"outcome":{}}}"#, r.input.seq, o.to_json())),
                _ => None,
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// `{"kind", "text", "origin"}` of the input at the position (the last applied; null at the
    /// start), and `after`: what the last crash, restart or import before it was (`"power
    /// loss"`), or null. The slider reads them out ("12.4 s, input 37 of 120, SET c 3, after
    /// power loss").
    pub fn position_json(&self) -> String {
        let at = self.pos.checked_sub(1).and_then(|i| self.line.get(i)).map_or("null".to_string(), |r| {
            let origin = if r.input.origin == crate::lab::input::Origin::User { "user" } else { "scenario" };
            format!(
                r#"{{"kind":"{}","text":{},"origin":"{origin}"}}"#,
                r.input.action.kind(),
                json_string(&short(&r.input.action.describe()))
            )
        });
        let after = self.line[..self.pos].iter().rev().find_map(|r| match &r.input.action {
            Action::Crash(kind) => Some(
                match kind.as_str() {
                    "kill" => "a process kill",
                    "power" => "power loss",
                    "torn" => "a torn op",
                    "torn-seq" => "a torn sequence",
                    _ => "a crash",
                }
                .to_string(),
            ),
            Action::Restart(_) => Some("a restart".to_string()),
            Action::Import(_) => Some("an import".to_string()),
            _ => None,
        });
        format!(r#"{{"at":{at},"after":{}}}"#, after.map_or("null".to_string(), |a| json_string(&a)))
    }
}

/// A description cut for a slider's label (a console turn of many lines, a long value).
fn short(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}
