//! Where each command's propagated bytes went: a file and an offset.
//!
//! A command's bytes enter `aof_buf`; `flushAppendOnlyFile` writes the buffer's head into the
//! incr file at its current size, once per turn (or earlier, when a rewrite starts), or later
//! (everysec postpones a write while a background fsync runs). So the lab numbers every byte
//! that entered `aof_buf` in one running **stream** (`fed`), and the engine reports each
//! `write()` of the buffer ([`crate::aof::flush::AofWrite`]: file, offset, length). A write of
//! `len` bytes takes the stream range `base..base + len` (`base`: the stream position of
//! `aof_buf[0]`), so a command whose bytes start at stream position `p` is in that file at
//! `offset + (p - base)`.
//!
//! Bytes dropped from `aof_buf` without a write (the AOF turned off, a failed rewrite) simply
//! never get a place.

use std::collections::VecDeque;

use crate::Engine;

/// Writes remembered (one per turn, typically), for commands whose place is asked later.
const KEEP: usize = 4096;

/// One `write()`: the stream range it took and where it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub stream: u64,
    pub len: u64,
    pub file: String,
    pub offset: u64,
}

/// A console line's bytes: their stream range and, once written, their place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineAt {
    pub stream: u64,
    pub len: u64,
    /// (file, offset) of the first byte, once written.
    pub at: Option<(String, u64)>,
}

#[derive(Clone, Debug, Default)]
pub struct Placements {
    /// Stream position after the last byte collected from `aof_buf`.
    fed: u64,
    /// Stream position of `aof_buf[0]`.
    base: u64,
    /// Bytes of `aof_buf` already collected.
    seen: usize,
    segments: VecDeque<Segment>,
    /// Writes since the last [`Placements::take_recent`].
    recent: Vec<Segment>,
}

impl Placements {
    /// A (re)started engine: its writes are recorded from now on; what its buffer holds
    /// already is not the page's (as before).
    pub fn attach(&mut self, engine: &mut Engine) {
        engine.srv.aof.writes = Some(Vec::new());
        self.seen = engine.aof_buf().len();
        self.base = self.fed;
        self.fed += self.seen as u64;
        self.recent.clear();
    }

    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Accounts for the writes since the last call, then copies the bytes that entered
    /// `aof_buf` since then into `appended`.
    pub fn collect(&mut self, engine: &mut Engine, appended: &mut Vec<u8>) {
        for w in engine.srv.aof.writes.as_mut().map(std::mem::take).unwrap_or_default() {
            let seg = Segment { stream: self.base, len: w.len, file: w.file, offset: w.offset };
            self.base += w.len;
            // Bytes fed and written before the lab looked (cron's own DELs) were never seen.
            self.fed = self.fed.max(self.base);
            self.seen = self.seen.saturating_sub(w.len as usize);
            self.recent.push(seg.clone());
            self.segments.push_back(seg);
            if self.segments.len() > KEEP {
                self.segments.pop_front();
            }
        }
        let buf = engine.aof_buf();
        if buf.len() < self.seen {
            // Dropped without a write.
            self.base = self.fed;
            self.seen = 0;
        }
        let new = buf.get(self.seen..).unwrap_or_default();
        appended.extend_from_slice(new);
        self.fed += new.len() as u64;
        self.seen = buf.len();
    }

    /// Where stream position `stream` was written, if it was.
    pub fn locate(&self, stream: u64) -> Option<(String, u64)> {
        let i = self.segments.partition_point(|s| s.stream + s.len <= stream);
        let s = self.segments.get(i).filter(|s| s.stream <= stream)?;
        Some((s.file.clone(), s.offset + (stream - s.stream)))
    }

    /// The writes since the last call (for the turn's write event).
    pub fn take_recent(&mut self) -> Vec<Segment> {
        std::mem::take(&mut self.recent)
    }
}
