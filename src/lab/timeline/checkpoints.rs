//! The timeline's checkpoints: when one is taken, which line it belongs to, how they are thinned
//! to the memory cap, and the copy of a whole lab they hold.

use std::rc::Rc;

use super::{Line, Recorded, State, Timeline};
use crate::lab::Lab;
use crate::lab::input::flags;

/// At most this many checkpoints, however small.
const MAX_CHECKPOINTS: usize = 4096;

pub(super) struct Checkpoint {
    /// The input this state follows (`None`: the start). The checkpoint is valid on every line
    /// that holds this very input (same `Rc`) at `pos - 1`.
    pub(super) after: Option<Rc<Recorded>>,
    pub(super) state: State,
    pub(super) bytes: usize,
    pub(super) pinned: bool,
}

impl Timeline {
    /// Inputs between two regular checkpoints (at least 1).
    pub fn set_checkpoint_every(&mut self, k: usize) {
        self.every = k.max(1);
    }
    pub fn checkpoint_every(&self) -> usize {
        self.every
    }

    /// Sets K from the host's timing of the last seek (`elapsed_ms`, restore included): as many
    /// inputs as a replay can do within `budget_ms` (the page's ~30 ms). A seek that replayed
    /// nothing tells nothing and changes nothing.
    pub fn tune_checkpoint_every(&mut self, elapsed_ms: f64, budget_ms: f64) {
        if self.replayed == 0 || elapsed_ms <= 0.0 {
            return;
        }
        let per_input = elapsed_ms / self.replayed as f64;
        self.set_checkpoint_every((budget_ms / per_input) as usize);
    }

    /// The memory the checkpoints may take; they are thinned at once if they take more.
    pub fn set_checkpoint_cap(&mut self, bytes: usize) {
        self.cap_bytes = bytes;
        self.enforce_cap();
    }

    /// The checkpoints' positions valid on the current line, and the bytes all of them take.
    pub fn checkpoints(&self) -> (Vec<u64>, usize) {
        let on_line =
            self.checkpoints.iter().filter(|(p, cs)| cs.iter().any(|c| valid(c, **p, &self.line))).map(|(p, _)| *p as u64).collect();
        (on_line, self.checkpoint_bytes)
    }

    /// The nearest checkpoint at or before `target` valid on the current line: (pos, index).
    pub(super) fn checkpoint_before(&self, target: usize) -> Option<(usize, usize)> {
        self.checkpoints.range(..=target).rev().find_map(|(&p, cs)| cs.iter().position(|c| valid(c, p, &self.line)).map(|i| (p, i)))
    }

    /// After an input (live or replayed) at `pos - 1`: keeps a checkpoint when it is due.
    pub(super) fn after_input(&mut self) {
        if let Some(cs) = self.checkpoints.get(&self.pos)
            && cs.iter().any(|c| valid(c, self.pos, &self.line))
        {
            self.last_checkpoint = self.pos;
            return;
        }
        let bits = self.line[self.pos - 1].output.flags;
        let notable = flags::CRASH | flags::REFUSED | flags::REWRITE_START | flags::SCENARIO | flags::MARK;
        if bits & notable != 0 || self.pos - self.last_checkpoint >= self.every {
            self.take_checkpoint(bits & flags::MARK != 0);
        }
    }

    /// Pins a checkpoint at the position (a fork point), taking one if there is none.
    pub(super) fn pin_here(&mut self) {
        let pos = self.pos;
        if let Some(c) = self.checkpoints.get_mut(&pos).and_then(|cs| cs.iter_mut().find(|c| valid(c, pos, &self.line))) {
            c.pinned = true;
            return;
        }
        self.take_checkpoint(true);
    }

    pub(super) fn take_checkpoint(&mut self, pinned: bool) {
        let Some(mut state) = self.state.try_clone() else { return };
        let bytes = approx_bytes(&mut state.lab);
        let after = self.pos.checked_sub(1).map(|i| Rc::clone(&self.line[i]));
        self.checkpoints.entry(self.pos).or_default().push(Checkpoint { after, state, bytes, pinned });
        self.checkpoint_bytes += bytes;
        self.last_checkpoint = self.pos;
        self.enforce_cap();
    }

    /// Drops checkpoints until they fit the cap: first those of other lines, then on the current
    /// line the one whose removal leaves the smallest gap for its distance from the head.
    fn enforce_cap(&mut self) {
        loop {
            let count: usize = self.checkpoints.values().map(Vec::len).sum();
            if self.checkpoint_bytes <= self.cap_bytes && count <= MAX_CHECKPOINTS {
                return;
            }
            let Some((pos, i)) = self.victim() else { return };
            if let Some(cs) = self.checkpoints.get_mut(&pos) {
                let c = cs.remove(i);
                self.checkpoint_bytes -= c.bytes;
                if cs.is_empty() {
                    self.checkpoints.remove(&pos);
                }
            }
            if pos == self.last_checkpoint {
                self.last_checkpoint = self.checkpoint_before(self.pos).map_or(0, |(p, _)| p);
            }
        }
    }

    fn victim(&self) -> Option<(usize, usize)> {
        let mut on_line: Vec<(usize, usize, bool)> = Vec::new();
        for (&p, cs) in &self.checkpoints {
            for (i, c) in cs.iter().enumerate() {
                if !valid(c, p, &self.line) {
                    if !c.pinned {
                        return Some((p, i));
                    }
                } else {
                    on_line.push((p, i, c.pinned));
                }
            }
        }
        let head = self.line.len();
        let mut best: Option<((usize, usize), f64)> = None;
        for w in 1..on_line.len() {
            let (p, i, pinned) = on_line[w];
            if pinned {
                continue;
            }
            let prev = on_line[w - 1].0;
            let next = on_line.get(w + 1).map_or(head, |n| n.0);
            let score = (next - prev) as f64 / (head - p + 1) as f64;
            if best.is_none_or(|(_, s)| score < s) {
                best = Some(((p, i), score));
            }
        }
        best.map(|(v, _)| v)
    }
}

/// Whether checkpoint `c` at `pos` holds a state of `line`.
pub(super) fn valid(c: &Checkpoint, pos: usize, line: &Line) -> bool {
    match &c.after {
        None => pos == 0,
        Some(r) => pos.checked_sub(1).and_then(|i| line.get(i)).is_some_and(|x| Rc::ptr_eq(x, r)),
    }
}

/// The memory a checkpoint holds of its own, estimated: the simulated disk's files (in
/// copy-on-write chunks of 64 KB: an append-only file shares all but its last chunk with the
/// checkpoint before, so at most a chunk per file), the keys (the values are shared with the
/// live lab until it changes them, and are not counted), the events and the log lines.
fn approx_bytes(lab: &mut Lab) -> usize {
    let files = lab.engine.srv.storage.as_memory().map_or(0, |m| (m.bytes_used() as usize).min(65_536 * m.layers().len()));
    let keys: usize = lab.engine.srv.dbs.iter().map(|d| d.len() * 64).sum();
    let events: usize = lab.events.iter().map(|e| 64 + e.text.len()).sum();
    let log: usize = lab.engine.srv.log_lines().map(|l| 48 + l.text.len()).sum();
    4096 + files + keys + events + log
}

impl Lab {
    /// A copy of the whole lab (engine, connections, events, views), for the timeline's
    /// checkpoints; `None` on a backend whose files cannot be copied (a real disk).
    pub fn try_clone(&self) -> Option<Lab> {
        Some(Lab {
            engine: self.engine.try_clone()?,
            config: self.config.clone(),
            down: self.down.clone(),
            console: self.console,
            console_queue: self.console_queue.clone(),
            console_out: self.console_out.clone(),
            second: self.second,
            second_queue: self.second_queue.clone(),
            second_out: self.second_out.clone(),
            wire: self.wire,
            wire_qbuf: self.wire_qbuf.clone(),
            wire_out: self.wire_out.clone(),
            appended: self.appended.clone(),
            log: self.log.without_index(),
            events: self.events.clone(),
            next_seq: self.next_seq,
            watch: self.watch.clone(),
            load_log: self.load_log.clone(),
            backend: self.backend.clone(),
            backend_notes: self.backend_notes.clone(),
            durability: self.durability.clone(),
            last_crash: self.last_crash.clone(),
            series: self.series.clone(),
            started_ms: self.started_ms,
            traffic: self.traffic.clone(),
            machine: self.machine.clone(),
            prediction: self.prediction.clone(),
        })
    }
}
