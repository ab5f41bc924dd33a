//! The timeline: the lab's past as an input log plus checkpoints, so that a learner can step
//! back, scrub, act in the past (which forks) and share what they did.
//!
//! * **The log is authoritative.** Every act that changes the lab is an [`Input`] appended to the
//!   current history (a *line*); the lab is a pure function of (settings, seed, inputs), see
//!   [`super::input`]. An input is kept with what it gave back ([`Recorded`]), so the console as
//!   it was at any point is the outputs of the inputs before it ([`Timeline::console`]); the
//!   events and every other view come from the lab itself, which is restored.
//! * **Checkpoints are caches**: the whole lab (and the scenario state beside it) at an input
//!   boundary. A copy is cheap where it matters: the dataset's values are shared `Arc`s (the fork
//!   snapshot relies on it), so the copy of the keyspace is pointer copies; the simulated disk's
//!   files are copied. One is kept every `every` inputs (K: the seek budget divided by the replay
//!   cost of an input, which the host measures; [`Timeline::last_replayed`] gives it the count),
//!   and after crashes, refused starts, rewrite starts, scenario steps and marks; at a fork point
//!   one is pinned. Past a memory cap (64 MB by default) they are thinned: the one whose removal
//!   leaves the smallest gap relative to its distance from the head goes first, so they stay dense
//!   near the head and geometric in the distant past. Pinned ones (fork points, marks, the start)
//!   are never dropped.
//! * **Seek** restores the nearest earlier checkpoint valid on the current line (or keeps going
//!   from the present state when it is nearer) and replays the recorded inputs up to the target.
//!   A checkpoint belongs to every line that holds the very same input before it (`Rc` identity),
//!   so lines that share a prefix share its checkpoints.
//! * **Acting in the past forks**: [`Timeline::apply`] at a position before the head keeps the
//!   old line as a branch `{id, parent, fork_seq, inputs}` and continues on a new one. A branch can
//!   be returned to ([`Timeline::switch_branch`]) or discarded. Playing forward
//!   ([`Timeline::step_forward`], [`Timeline::seek`] ahead) replays the recorded future.
//! * **Marks** for the slider: per input, what happened in it (writes, fsyncs, rewrites, BGSAVEs,
//!   crashes, refused starts, faults, scenario steps, predictions, bookmarks) and where branches
//!   fork ([`Timeline::marks`]).
//!
//! Compared with RaftScope's checkpoint per change, a replay from a sparse checkpoint costs a
//! little CPU on each seek and keeps memory bounded however long the learner plays; the engine
//! is sans-IO and deterministic, which is what makes a replay exact.
//!
//! * **The present over a real backend.** On OPFS, IndexedDB or a directory, the lab at the head
//!   runs over a RAM mirror of the real files ([`crate::storage::Tee`]), so a checkpoint of it is
//!   a copy in RAM like any other, and every lab of the past runs over RAM: the past is a view,
//!   the real files are the present. Acting in the past makes that point the present: before the
//!   input is applied, the real files are rewritten to the lab's files and the mirror is attached
//!   to it ([`crate::storage::Tee::adopt`]), so it goes on from there (and a page reload loads
//!   it). While the position is elsewhere, the lab that the real files hold is kept aside
//!   (*parked*), so that coming back to it costs nothing.
//! * **Where it starts** ([`Start`]): the settings, the seed, the simulated clock and the files
//!   the lab found (a lab on OPFS finds the files of earlier sessions). A recording carries all
//!   four, so that a replay starts where the original did.

mod checkpoints;
mod page;
mod present;
mod views;

pub use page::{AOF_SHOWN, AofGroup};
pub use present::Start;
pub use views::{ConsoleEntry, FORK, Mark};

use std::collections::BTreeMap;
use std::rc::Rc;

use super::input::{Action, Input, Origin, Output};
use super::recording::{Recording, engine_version, state_digest};
use super::scenario::Play;
use super::{Host, Lab};
use crate::storage::Shared;
use checkpoints::{Checkpoint, valid};
use present::Parked;

/// Inputs between two regular checkpoints until the host measures its own replay cost (a native
/// replay of a console turn costs a few µs; see BENCHMARKS.md).
pub const DEFAULT_EVERY: usize = 1000;
/// The memory the checkpoints may take (estimated, see `checkpoints::approx_bytes`).
pub const DEFAULT_CAP_BYTES: usize = 64 << 20;

/// An input as applied, with what it gave back.
#[derive(Debug)]
pub struct Recorded {
    pub input: Input,
    pub output: Output,
}

/// One history: the inputs in order (`line[i].input.seq == i + 1`).
type Line = Vec<Rc<Recorded>>;

/// Everything an input can change: the lab, and the scenario state kept beside it.
struct State {
    lab: Lab,
    play: Play,
}

impl State {
    fn try_clone(&self) -> Option<State> {
        Some(State { lab: self.lab.try_clone()?, play: self.play.clone() })
    }
    fn apply(&mut self, seed: u64, input: &Input) -> Output {
        self.lab.apply(&mut self.play, seed, input)
    }
}

/// A history kept beside the current one.
struct Branch {
    id: u32,
    /// The branch it was cut from, and the number of inputs they shared then.
    parent: Option<u32>,
    fork_seq: u64,
    /// The whole line (sharing its prefix with its parent's `Rc`s); empty for the current branch,
    /// whose line is [`Timeline::line`].
    line: Line,
}

/// A branch as the page lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchInfo {
    pub id: u32,
    pub parent: Option<u32>,
    /// Inputs shared with the parent when it was cut.
    pub fork_seq: u64,
    /// Inputs shared with the current line now (where it leaves it on the slider).
    pub diverges_at: u64,
    /// Its inputs, and the time of the last.
    pub head_seq: u64,
    pub head_t: i64,
    pub current: bool,
}

/// What replaying a shared recording gave.
pub struct Replayed {
    pub timeline: Timeline,
    /// Whether the state reached has the recorded digest (`None`: the recording had none).
    pub digest_matches: Option<bool>,
    /// Whether the recording was made by this engine version.
    pub same_engine: bool,
}

pub struct Timeline {
    settings: Vec<(String, String)>,
    seed: u64,
    t0: i64,
    files: Vec<(String, Vec<u8>)>,
    /// The current line, including the recorded future past `pos`.
    line: Line,
    /// Inputs applied: the lab is the state after `line[..pos]`.
    pos: usize,
    state: State,
    current: u32,
    branches: Vec<Branch>,
    next_branch: u32,
    checkpoints: BTreeMap<usize, Vec<Checkpoint>>,
    checkpoint_bytes: usize,
    every: usize,
    cap_bytes: usize,
    /// The position of the latest checkpoint at or before `pos` on the current line.
    last_checkpoint: usize,
    /// Inputs replayed by the last seek.
    replayed: usize,
    /// The digest of the head, with the input it was computed after.
    head_digest: Option<(Option<Rc<Recorded>>, [u8; 20])>,
    /// The real backend that holds the present's files, if any (see the module docs).
    mirror: Option<Shared>,
    /// The lab at the position is the present: its storage mirrors to the real backend.
    attached: bool,
    parked: Option<Parked>,
    /// Why the mirror was given up (the real backend failed while the present moved).
    mirror_error: Option<String>,
}

impl Timeline {
    /// A lab on a fresh simulated machine started at `t0` with `settings` (redis.conf names and
    /// values), and an empty recording. `seed` drives every random choice of the recording.
    pub fn new(settings: &[(String, String)], seed: u64, t0: i64) -> Result<Timeline, String> {
        Timeline::start(Start { settings: settings.to_vec(), seed, t0, files: Vec::new() }, Host::default())
    }

    /// A lab on a simulated machine over RAM holding the start's files. `host` lends the lab
    /// what is not an input (the backend's notes and durability, a clock to time loads with)
    /// before the first checkpoint.
    pub fn start(start: Start, host: Host) -> Result<Timeline, String> {
        let mut lab = start.memory_lab(&host)?;
        host.lend(&mut lab);
        Ok(Timeline::over(lab, start, None))
    }

    /// A timeline whose start is `lab`, which the caller started with `start`'s settings at its
    /// `t0` on a storage holding its files (the host adds what is not an input: the backend's
    /// notes and durability). With `mirror`, the lab runs over a [`Tee`] of that real backend
    /// (the machine over it): it is the present.
    pub fn over(lab: Lab, start: Start, mirror: Option<Shared>) -> Timeline {
        let attached = mirror.is_some();
        let mut tl = Timeline {
            settings: start.settings,
            seed: start.seed,
            t0: start.t0,
            files: start.files,
            line: Vec::new(),
            pos: 0,
            state: State { lab, play: Play::new(start.t0) },
            current: 0,
            branches: vec![Branch { id: 0, parent: None, fork_seq: 0, line: Vec::new() }],
            next_branch: 1,
            checkpoints: BTreeMap::new(),
            checkpoint_bytes: 0,
            every: DEFAULT_EVERY,
            cap_bytes: DEFAULT_CAP_BYTES,
            last_checkpoint: 0,
            replayed: 0,
            head_digest: None,
            mirror,
            attached,
            parked: None,
            mirror_error: None,
        };
        tl.take_checkpoint(true);
        tl
    }

    /// Replays a recording on a fresh lab and says whether it reached the recorded state.
    pub fn from_recording(rec: &Recording) -> Result<Replayed, String> {
        let start = Start { settings: rec.settings.clone(), seed: rec.seed, t0: rec.t0, files: rec.files.clone() };
        let mut timeline = Timeline::start(start, Host::default())?;
        for input in &rec.inputs {
            timeline.apply(input.t, input.action.clone(), input.origin);
        }
        let digest_matches = rec.head_digest.map(|d| timeline.head_digest() == d);
        Ok(Replayed { timeline, digest_matches, same_engine: rec.engine == engine_version() })
    }

    /// The current line as a recording (settings, seed, every input up to the head, the head's
    /// digest). Computing the digest may replay to the head and back.
    pub fn recording(&mut self) -> Recording {
        Recording {
            engine: engine_version(),
            seed: self.seed,
            t0: self.t0,
            settings: self.settings.clone(),
            files: self.files.clone(),
            inputs: self.line.iter().map(|r| r.input.clone()).collect(),
            head_digest: Some(self.head_digest()),
        }
    }

    /// [`state_digest`] of the head of the current line.
    pub fn head_digest(&mut self) -> [u8; 20] {
        let last = self.line.last().cloned();
        if let Some((after, d)) = &self.head_digest
            && same(after, &last)
        {
            return *d;
        }
        let back = self.pos;
        self.seek(self.line.len() as u64);
        let d = state_digest(&mut self.state.lab);
        self.seek(back as u64);
        self.head_digest = Some((last, d));
        d
    }

    // ----- acting -----

    /// Applies an input at the current position. At the head it extends the line; in the past
    /// it forks: the line as it was is kept as a branch, and this one goes on from here. `t` is
    /// clamped so that time never goes back (to the end of the previous input).
    pub fn apply(&mut self, t: i64, action: Action, origin: Origin) -> &Output {
        if self.pos < self.line.len() {
            self.fork();
        }
        self.attach();
        let input = Input { seq: self.pos as u64 + 1, t: t.max(self.now()), action, origin };
        let output = self.state.apply(self.seed, &input);
        let rec = Rc::new(Recorded { input, output });
        self.line.push(rec);
        self.pos += 1;
        self.after_input();
        &self.line[self.pos - 1].output
    }

    /// Keeps the line as it is as a branch (its future included) and cuts the current one at
    /// `pos`, pinning a checkpoint at the fork point.
    fn fork(&mut self) {
        self.pin_here();
        let id = self.next_branch;
        self.next_branch += 1;
        self.branches.push(Branch { id, parent: Some(self.current), fork_seq: self.pos as u64, line: self.line.clone() });
        self.line.truncate(self.pos);
    }

    // ----- moving -----

    /// Puts the lab at the state after input `seq` of the current line (0: the start; past the
    /// head: the head). The lab is then what it was when it lived through those inputs.
    pub fn seek(&mut self, seq: u64) {
        let target = usize::try_from(seq).unwrap_or(usize::MAX).min(self.line.len());
        if target == self.pos {
            self.replayed = 0;
            return;
        }
        if self.unpark(target) {
            self.replayed = 0;
            return;
        }
        let from_present = self.pos < target;
        let best = self.checkpoint_before(target);
        if !from_present || best.is_some_and(|(p, _)| p > self.pos) {
            let (p, i) = best.unwrap_or((0, 0));
            let state = self.checkpoints.get(&p).and_then(|cs| cs.get(i)).and_then(|c| c.state.try_clone());
            // The start is always there and the memory machine always copies.
            let Some(state) = state else { unreachable!("the start's checkpoint is pinned and the simulated machine copies") };
            let left = std::mem::replace(&mut self.state, state);
            self.park(left);
            self.pos = p;
            self.last_checkpoint = p;
        } else if self.attached {
            // Replays run over RAM: the present stays what the real files hold.
            let Some(copy) = self.state.try_clone() else { unreachable!("the machine over the mirror copies its RAM side") };
            let left = std::mem::replace(&mut self.state, copy);
            self.park(left);
        }
        let start = self.pos;
        // Stepping back one input at a time replays from the same checkpoint again and again: a
        // checkpoint on a grid of K/16 just before the target makes the next steps back cost at
        // most K/16 inputs each (a long replay once per grid cell, not once per step).
        let grid = (self.every / 16).max(32);
        let near = target - target % grid;
        while self.pos < target {
            let rec = Rc::clone(&self.line[self.pos]);
            let output = self.state.apply(self.seed, &rec.input);
            debug_assert_eq!(output, rec.output, "a replay of input {} gave another output", rec.input.seq);
            self.pos += 1;
            self.after_input();
            if self.pos == near && self.last_checkpoint < near && target - start > grid {
                self.take_checkpoint(false);
            }
        }
        self.replayed = self.pos - start;
    }

    /// Goes to the state after the last input at or before simulated time `t`.
    pub fn seek_time(&mut self, t: i64) {
        let seq = self.line.partition_point(|r| r.input.t <= t);
        self.seek(seq as u64);
    }

    /// One input back; false at the start.
    pub fn step_back(&mut self) -> bool {
        if self.pos == 0 {
            return false;
        }
        self.seek(self.pos as u64 - 1);
        true
    }

    /// Replays the next recorded input; `None` at the head.
    pub fn step_forward(&mut self) -> Option<&Output> {
        if self.pos >= self.line.len() {
            return None;
        }
        self.seek(self.pos as u64 + 1);
        Some(&self.line[self.pos - 1].output)
    }

    // ----- where we are -----

    /// Inputs applied (the position on the slider).
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// The simulated time at the position: the end of the last input applied (`t0` at the start).
    pub fn now(&self) -> i64 {
        self.end_t(self.pos)
    }

    /// The head of the current line: its number of inputs and the time it ends.
    pub fn head(&self) -> (u64, i64) {
        (self.line.len() as u64, self.end_t(self.line.len()))
    }

    fn end_t(&self, pos: usize) -> i64 {
        pos.checked_sub(1).and_then(|i| self.line.get(i)).map_or(self.t0, |r| r.output.end_t)
    }

    /// The current line's inputs with their outputs, the recorded future included.
    pub fn inputs(&self) -> &[Rc<Recorded>] {
        &self.line
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The lab at the position.
    pub fn lab(&self) -> &Lab {
        &self.state.lab
    }
    /// For the views that read through the storage (which takes `&mut`): `snapshot()`, file
    /// bytes. A change made here is not an input: it is not recorded and breaks the replays.
    pub fn lab_mut(&mut self) -> &mut Lab {
        &mut self.state.lab
    }

    /// Inputs replayed by the last seek (the host divides its measured time by it to set K).
    pub fn last_replayed(&self) -> usize {
        self.replayed
    }

    // ----- branches -----

    pub fn current_branch(&self) -> u32 {
        self.current
    }

    pub fn branches(&self) -> Vec<BranchInfo> {
        self.branches
            .iter()
            .map(|b| {
                let current = b.id == self.current;
                let line = if current { &self.line } else { &b.line };
                BranchInfo {
                    id: b.id,
                    parent: b.parent,
                    fork_seq: b.fork_seq,
                    diverges_at: common_prefix(line, &self.line) as u64,
                    head_seq: line.len() as u64,
                    head_t: line.last().map_or(self.t0, |r| r.output.end_t),
                    current,
                }
            })
            .collect()
    }

    /// Returns to another branch. The position stays where it is if the two lines share it;
    /// otherwise it moves back to where they part (the last state they share), from which
    /// playing forward replays that branch's future.
    pub fn switch_branch(&mut self, id: u32) -> Result<(), String> {
        if id == self.current {
            return Ok(());
        }
        let idx = self.branches.iter().position(|b| b.id == id).ok_or_else(|| format!("no branch {id}"))?;
        let shared = common_prefix(&self.line, &self.branches[idx].line);
        if self.pos > shared {
            self.seek(shared as u64);
        }
        let line = std::mem::take(&mut self.branches[idx].line);
        let old = std::mem::replace(&mut self.line, line);
        if let Some(cur) = self.branches.iter_mut().find(|b| b.id == self.current) {
            cur.line = old;
        }
        self.current = id;
        self.last_checkpoint = self.checkpoint_before(self.pos).map_or(0, |(p, _)| p);
        Ok(())
    }

    /// Forgets a branch (not the current one) and the checkpoints only it used.
    pub fn discard_branch(&mut self, id: u32) -> Result<(), String> {
        if id == self.current {
            return Err("the current branch cannot be discarded: switch to another one first".into());
        }
        let idx = self.branches.iter().position(|b| b.id == id).ok_or_else(|| format!("no branch {id}"))?;
        self.branches.remove(idx);
        let lines: Vec<&Line> = std::iter::once(&self.line).chain(self.branches.iter().map(|b| &b.line)).collect();
        let mut freed = 0;
        for (&pos, cs) in self.checkpoints.iter_mut() {
            cs.retain(|c| {
                let keep = lines.iter().any(|l| valid(c, pos, l));
                if !keep {
                    freed += c.bytes;
                }
                keep
            });
        }
        self.checkpoints.retain(|_, cs| !cs.is_empty());
        self.checkpoint_bytes -= freed;
        Ok(())
    }
}

fn same(a: &Option<Rc<Recorded>>, b: &Option<Rc<Recorded>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        _ => false,
    }
}

/// The number of inputs two lines share. Lines share inputs only by sharing a prefix (an input
/// is created once and copied with the inputs before it), so the shared positions are a prefix:
/// a binary search finds its end.
fn common_prefix(a: &Line, b: &Line) -> usize {
    let (mut lo, mut hi) = (0, a.len().min(b.len()));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if Rc::ptr_eq(&a[mid], &b[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
