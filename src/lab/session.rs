//! A session: the lab as the browser's worker holds it, a [`Timeline`] that records every input
//! plus what the host needs around it. `src/wasm.rs` translates it for JavaScript; everything
//! here is tested natively.
//!
//! * **Every act is an input.** Console batches, RESP, serverCron ticks, crashes, restarts,
//!   faults, the rewrite speed, settings, `redis-check-aof`, imports, scenario steps, predictions
//!   and marks go through [`Timeline::apply`]; at the head they extend the history, in the past
//!   they fork it ([`Session::take_fork`] says which branch keeps the later history). Reading
//!   (the snapshot, the events, the files) reads the lab at the position.
//! * **Simulated time.** The host derives a simulated clock from its wall clock (paused, or
//!   running at a speed) and calls [`Session::advance`] with it: at the head, serverCron runs
//!   every [`TICK_MS`] of simulated time (several ticks per call at high speed); in the past, the
//!   recorded future is replayed up to that time, then the head goes on live.
//!   [`Session::step`] is one input forward (at the head: one tick).
//! * **The page's slider**: the position, the head, the marks since what it has
//!   ([`Session::marks_json`], with a generation that changes when earlier marks do), the
//!   branches, the console at the position.
//! * **Sharing**: [`Session::recording`] is the current line as bytes (`recording.rs`);
//!   [`Session::from_recording`] replays one on a fresh simulated machine and says whether it
//!   reached the recorded state.

use super::input::scenario_answer_payload;
use super::input::{Action, Answer, Origin, Output};
use super::recording::{Recording, state_digest};
use super::scenario::{Outcome, START_MS};
use super::timeline::{Start, Timeline};
use super::{Host, Lab};
use crate::Reply;
use crate::keyspace::digest::hex;
use crate::storage::Shared;

/// serverCron's period in simulated ms (Redis's default `hz 10`).
pub const TICK_MS: i64 = 100;

/// The time a seek may take on the page (ms): K, the inputs between two checkpoints, is set so
/// that a replay of K inputs fits in it ([`Session::tune_checkpoint_every`]).
pub const SEEK_BUDGET_MS: f64 = 30.0;

/// At most this many ticks per [`Session::advance`]: a host that was suspended for minutes does
/// not replay every missed tick (Redis's own cron, after a stall, runs once and goes on).
const MAX_TICKS: u32 = 1000;

/// What a call that lets time pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advance {
    /// Console replies that became ready (a blocked command served or timed out), in order.
    pub replies: Vec<String>,
    /// Bytes propagated into `aof_buf` outside console lines since the last take: the ticks'
    /// (expiry `DEL`s) and the wire's.
    pub appended: Vec<u8>,
    /// Ticks run live.
    pub ticks: u32,
    /// Recorded inputs replayed (playing in the past).
    pub replayed: u64,
}

/// How a replayed recording compares with the one shared.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// The state reached has the recorded digest (`None`: the recording had none).
    pub digest_matches: Option<bool>,
    /// The recording was made by this engine version.
    pub same_engine: bool,
    pub inputs: u64,
}

pub struct Session {
    timeline: Timeline,
    /// The simulated time of the last serverCron at the head; after a move on the timeline, the
    /// position's time (cron then runs [`TICK_MS`] after it).
    last_cron: i64,
    /// Changes when earlier marks do (a fork, a switch, a discard): the page asks from 0 again.
    generation: u64,
    /// The branch that keeps the later history, after an input forked.
    forked: Option<u32>,
    /// Bytes propagated outside console lines by the last inputs (ticks, the wire), for the page.
    appended: Vec<u8>,
}

impl Session {
    fn with(timeline: Timeline) -> Session {
        let last_cron = timeline.now();
        Session { timeline, last_cron, generation: 0, forked: None, appended: Vec::new() }
    }

    /// A lab on a fresh simulated machine over RAM. `host` lends what is not an input (the
    /// backend's notes and durability, a clock to time loads with).
    pub fn memory(settings: &[(String, String)], seed: u64, t0: i64, host: Host) -> Result<Session, String> {
        let start = Start { settings: settings.to_vec(), seed, t0, files: Vec::new() };
        Timeline::start(start, host).map(Session::with)
    }

    /// A lab on the files of a real backend (OPFS, IndexedDB, a directory), mirrored in RAM.
    pub fn on_backend(real: Shared, settings: &[(String, String)], seed: u64, t0: i64, host: Host) -> Result<Session, String> {
        Timeline::on_backend(real, settings, seed, t0, host).map(Session::with)
    }

    /// A lab for a guided scenario: a fresh simulated machine over RAM as the scenario runner
    /// starts one (AOF on, `appendfsync everysec`, the clock at [`START_MS`] so that absolute
    /// times are the same in every run), whose steps are inputs ([`Session::scenario_step`]).
    pub fn scenario() -> Result<Session, String> {
        let settings = [("appendonly", "yes"), ("appendfsync", "everysec")].map(|(k, v)| (k.to_string(), v.to_string()));
        Session::memory(&settings, 0, START_MS, Host::default())
    }

    /// Replays a shared recording on a fresh simulated machine (the receiver's own files are
    /// never touched), then goes to `position` (the head if absent).
    pub fn from_recording(bytes: &[u8], position: Option<u64>, host: Host) -> Result<(Session, Replay), String> {
        let rec = Recording::from_bytes(bytes)?;
        let replayed = Timeline::from_recording(&rec, host)?;
        let replay = Replay { digest_matches: replayed.digest_matches, same_engine: replayed.same_engine, inputs: rec.inputs.len() as u64 };
        let mut session = Session::with(replayed.timeline);
        if let Some(p) = position {
            session.seek(p);
        }
        Ok((session, replay))
    }

    // ----- inputs -----

    /// Applies the learner's input at the position (see [`Timeline::apply`]).
    pub fn apply(&mut self, t: i64, action: Action) -> &Output {
        self.apply_as(t, action, Origin::User)
    }

    fn apply_as(&mut self, t: i64, action: Action, origin: Origin) -> &Output {
        let (pos, head) = (self.timeline.position(), self.timeline.head().0);
        let tick = matches!(action, Action::Tick);
        let out_t;
        {
            let out = self.timeline.apply(t, action, origin);
            out_t = out.end_t;
            self.appended.extend_from_slice(&out.appended);
        }
        if tick {
            self.last_cron = out_t;
        }
        if pos < head {
            self.generation += 1;
            self.forked = self.timeline.branches().iter().filter(|b| !b.current).map(|b| b.id).max();
        }
        let last = self.timeline.inputs().len() - 1;
        &self.timeline.inputs()[last].output
    }

    /// Console lines in one turn: per line, the replies ready after it and its bytes.
    pub fn execute_batch(&mut self, lines: &[String], now: i64) -> Vec<(Vec<String>, Vec<u8>)> {
        match &self.apply(now, Action::Lines(lines.to_vec())).answer {
            Answer::Lines(out) => out.clone(),
            _ => vec![],
        }
    }

    /// Lines typed in the second console, in one turn: what that console shows now (their
    /// replies, and the messages it received before them).
    pub fn execute_second(&mut self, lines: &[String], now: i64) -> Vec<String> {
        match &self.apply(now, Action::Second(lines.to_vec())).answer {
            Answer::Replies(out) => out.clone(),
            _ => vec![],
        }
    }

    /// What reached the second console through the other connections (a PUBLISH on the first
    /// console) since it was last asked. Live only: the timeline does not keep the second
    /// console's transcript.
    pub fn take_second(&mut self) -> Vec<String> {
        self.lab_mut().take_second_out()
    }

    pub fn execute_resp(&mut self, bytes: &[u8], now: i64) -> Vec<u8> {
        match &self.apply(now, Action::Resp(bytes.to_vec())).answer {
            Answer::Resp(out) => out.clone(),
            _ => vec![],
        }
    }

    /// One serverCron at `now`: the console replies that became ready.
    pub fn tick(&mut self, now: i64) -> Vec<String> {
        match &self.apply(now, Action::Tick).answer {
            Answer::Replies(r) => r.clone(),
            _ => vec![],
        }
    }

    pub fn crash(&mut self, kind: &str, now: i64) -> Result<Box<super::CrashReport>, String> {
        match &self.apply(now, Action::Crash(kind.to_string())).answer {
            Answer::Crash(r) => r.clone(),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    pub fn inject(&mut self, fault: &str, n: u32, now: i64) -> Result<String, String> {
        self.text(now, Action::Fault { fault: fault.to_string(), n })
    }

    pub fn restart(&mut self, settings: &[(String, String)], now: i64) -> Result<bool, String> {
        self.started(now, Action::Restart(settings.to_vec()))
    }

    pub fn set_rewrite_speed(&mut self, keys_per_tick: u64, now: i64) {
        self.apply(now, Action::RewriteSpeed(keys_per_tick));
    }

    pub fn config_set(&mut self, name: &str, value: &str, now: i64) -> Result<String, String> {
        self.text(now, Action::Config { name: name.to_string(), value: value.to_string() })
    }

    /// `redis-check-aof [--fix]`: its output and exit code.
    pub fn check_aof(&mut self, fix: bool, now: i64) -> (String, i32) {
        match &self.apply(now, Action::CheckAof { fix }).answer {
            Answer::Check(text, code) => (text.clone(), *code),
            other => (format!("unexpected answer {other:?}"), 2),
        }
    }

    /// One archive or file (one entry), or loose files (several): whether the server started.
    pub fn import(&mut self, files: Vec<(String, Vec<u8>)>, now: i64) -> Result<bool, String> {
        self.started(now, Action::Import(files))
    }

    pub fn scenario_step(&mut self, index: u32, step: &str, now: i64) -> Outcome {
        match &self.apply_as(now, Action::Scenario { index, step: step.to_string() }, Origin::Scenario).answer {
            Answer::Scenario(o) => (**o).clone(),
            other => Outcome {
                index: index as usize,
                line: 1,
                kind: "error",
                text: step.into(),
                failure: Some(format!("{other:?}")),
                ..Outcome::default()
            },
        }
    }

    /// The learner's answer to the scenario's predict that runs next (an index into its choices
    /// as written; `None`: skipped): an input, so that going back and forth shows it again.
    pub fn scenario_answer(&mut self, choice: Option<usize>, now: i64) {
        self.apply(now, Action::Predict(scenario_answer_payload(choice)));
    }

    pub fn predict(&mut self, payload: &[u8], now: i64) {
        self.apply(now, Action::Predict(payload.to_vec()));
    }

    pub fn mark(&mut self, label: &str, now: i64) {
        self.apply(now, Action::Mark(label.to_string()));
    }

    /// Starts, changes (`Some`) or stops (`None`) the traffic generator.
    pub fn set_traffic(&mut self, spec: Option<super::traffic::TrafficSpec>, now: i64) {
        self.apply(now, Action::Traffic(spec));
    }

    fn text(&mut self, now: i64, action: Action) -> Result<String, String> {
        match &self.apply(now, action).answer {
            Answer::Text(r) => r.clone(),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    fn started(&mut self, now: i64, action: Action) -> Result<bool, String> {
        match &self.apply(now, action).answer {
            Answer::Started(r) => r.clone(),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    /// Adds bytes to those [`Session::take_appended`] gives (a host that shows a console line's
    /// bytes later rather than with its reply).
    pub fn push_appended(&mut self, bytes: &[u8]) {
        self.appended.extend_from_slice(bytes);
    }

    /// The bytes propagated outside console lines since the last take (ticks, the wire).
    pub fn take_appended(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.appended)
    }

    /// The branch that keeps the later history, if an input forked since the last take.
    pub fn take_fork(&mut self) -> Option<u32> {
        self.forked.take()
    }

    // ----- time -----

    /// Lets simulated time run to `now`: in the past, the recorded future is replayed up to it;
    /// at the head, serverCron runs every [`TICK_MS`] until `now`.
    pub fn advance(&mut self, now: i64) -> Advance {
        let mut out = Advance::default();
        if self.timeline.position() < self.timeline.head().0 {
            let before = self.timeline.position();
            self.timeline.seek_time(now);
            out.replayed = self.timeline.position() - before;
            self.last_cron = self.timeline.now();
            if self.timeline.position() < self.timeline.head().0 {
                return out;
            }
        }
        while self.last_cron + TICK_MS <= now {
            if out.ticks == MAX_TICKS {
                self.last_cron = now - (now - self.last_cron) % TICK_MS;
                break;
            }
            out.replies.extend(self.tick(self.last_cron + TICK_MS));
            out.ticks += 1;
        }
        out.appended = self.take_appended();
        out
    }

    /// One input forward: the next recorded one, or at the head one serverCron tick.
    pub fn step(&mut self) -> Advance {
        if self.timeline.position() < self.timeline.head().0 {
            self.timeline.step_forward();
            self.last_cron = self.timeline.now();
            return Advance { replayed: 1, ..Advance::default() };
        }
        self.advance(self.last_cron + TICK_MS)
    }

    /// Plays the recorded future forward: to the last input at or before `t`, but at most
    /// `max_inputs` inputs (so that inputs given at the same instant, a scenario's steps or
    /// commands typed while paused, are seen one after the other). Returns the inputs replayed;
    /// at the head, nothing happens (time runs there through [`Session::advance`]).
    pub fn replay_until(&mut self, t: i64, max_inputs: u64) -> u64 {
        let (pos, head) = (self.timeline.position(), self.timeline.head().0);
        if pos >= head {
            return 0;
        }
        let by_time = self.timeline.inputs().partition_point(|r| r.input.t <= t) as u64;
        let target = by_time.min(pos.saturating_add(max_inputs)).max(pos);
        if target > pos {
            self.seek(target);
        }
        target - pos
    }

    /// When serverCron runs next at the head (simulated ms).
    pub fn next_cron(&self) -> i64 {
        self.last_cron + TICK_MS
    }

    // ----- moving -----

    pub fn seek(&mut self, seq: u64) {
        self.timeline.seek(seq);
        self.last_cron = self.timeline.now();
    }

    pub fn seek_time(&mut self, t: i64) {
        self.timeline.seek_time(t);
        self.last_cron = self.timeline.now();
    }

    pub fn step_back(&mut self) -> bool {
        let moved = self.timeline.step_back();
        self.last_cron = self.timeline.now();
        moved
    }

    /// Back to the head of the current line.
    pub fn live(&mut self) {
        let head = self.timeline.head().0;
        self.seek(head);
    }

    pub fn switch_branch(&mut self, id: u32) -> Result<(), String> {
        self.timeline.switch_branch(id)?;
        self.last_cron = self.timeline.now();
        self.generation += 1;
        Ok(())
    }

    pub fn discard_branch(&mut self, id: u32) -> Result<(), String> {
        self.timeline.discard_branch(id)?;
        self.generation += 1;
        Ok(())
    }

    /// Sets K from the host's timing of the last seek (restore and replay).
    pub fn tune_checkpoint_every(&mut self, elapsed_ms: f64) {
        self.timeline.tune_checkpoint_every(elapsed_ms, SEEK_BUDGET_MS);
    }

    // ----- reading -----

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// For settings that are not inputs (checkpoint spacing, the cap) and for tests.
    pub fn timeline_mut(&mut self) -> &mut Timeline {
        &mut self.timeline
    }

    /// The lab at the position.
    pub fn lab(&self) -> &Lab {
        self.timeline.lab()
    }

    /// The lab at the position, for the views that read through the storage (a change made
    /// here is not recorded).
    pub fn lab_mut(&mut self) -> &mut Lab {
        self.timeline.lab_mut()
    }

    pub fn position(&self) -> u64 {
        self.timeline.position()
    }

    /// The simulated time at the position.
    pub fn now(&self) -> i64 {
        self.timeline.now()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `{generation, position, head, head_t, now, next_cron, branch, present, t0, next_branch,
    /// context, marks}`: where the slider is, with the marks after input `since` (see
    /// [`Timeline::marks_since_json`]); `t0` is the slider's 0 s, `next_branch` the id a fork
    /// would give the later history, `context` what the input at the position was
    /// ([`Timeline::position_json`]).
    pub fn marks_json(&self, since: u64) -> String {
        let (head, head_t) = self.timeline.head();
        format!(
            r#"{{"generation":{},"position":{},"head":{head},"head_t":{head_t},"now":{},"next_cron":{},"branch":{},"present":{},"t0":{},"next_branch":{},"context":{},"marks":{}}}"#,
            self.generation,
            self.position(),
            self.now(),
            self.next_cron(),
            self.timeline.current_branch(),
            self.timeline.present().map_or("null".to_string(), |p| p.to_string()),
            self.timeline.t0(),
            self.timeline.next_branch_id(),
            self.timeline.position_json(),
            self.timeline.marks_since_json(since)
        )
    }

    /// The current line as a recording's bytes (the head's digest computed, the position kept).
    pub fn recording(&mut self) -> Vec<u8> {
        self.timeline.recording().to_bytes()
    }

    /// [`state_digest`] of the lab at the position, in hex: two labs with the same digest hold the
    /// same files, byte for byte, and the same data.
    pub fn state_digest(&mut self) -> String {
        hex(&state_digest(self.timeline.lab_mut()))
    }

    // ----- for the facade's single calls -----

    /// One console line in its own turn: the replies ready after it, one per line of text
    /// (none when it blocked). Its bytes wait with the others for [`Session::take_appended`].
    pub fn execute_line(&mut self, line: &str, now: i64) -> String {
        let (replies, bytes) = self.execute_batch(&[line.to_string()], now).pop().unwrap_or_default();
        self.push_appended(&bytes);
        replies.join("\n")
    }

    /// Replays the next recorded input; false at the head (where nothing happens).
    pub fn step_forward(&mut self) -> bool {
        let moved = self.position() < self.timeline.head().0;
        if moved {
            self.step();
        }
        moved
    }

    /// A program's command on the wire connection (its own `SELECT`, `MULTI` and blocked state,
    /// apart from the console's), in its own turn, as a client library sends it.
    pub fn call(&mut self, argv: &[Vec<u8>], now: i64) -> Call {
        let mut resp = Vec::new();
        crate::resp::encode_command(&mut resp, argv);
        let out = self.execute_resp(&resp, now);
        let mut earlier = Vec::new();
        let mut pos = 0;
        while let Ok(Some((reply, used))) = crate::resp::parse_reply(out.get(pos..).unwrap_or_default()) {
            earlier.push(reply);
            pos += used;
        }
        // The last reply is the command's own, unless it blocked or waits behind one that did.
        let pending = self.lab().wire_waiting();
        let own = if pending { None } else { earlier.pop() };
        Call { own, earlier, pending }
    }
}

/// What a program's [`Session::call`] got back.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The command's reply; `None` while it is pending.
    pub own: Option<Reply>,
    /// Replies of commands that blocked earlier and this turn released, oldest first.
    pub earlier: Vec<Reply>,
    /// The command blocked, or waits behind a blocked one: its reply comes in a later `earlier`.
    pub pending: bool,
}

#[cfg(test)]
mod tests;
