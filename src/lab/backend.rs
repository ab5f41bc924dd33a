//! Where a lab's files live, and what the lab is told about it.
//!
//! In a browser the files go down a ladder: OPFS (the Origin Private File System, synchronous
//! handles in a dedicated worker), then IndexedDB, then the simulated machine in the tab's RAM.
//! The first backend that opens is used, and each step down is noted with its reason, so that
//! the page can say which backend holds the files and why not the ones above. `fallback: false`
//! keeps to the backend asked for (`auto`: OPFS or IndexedDB, never memory) and refuses with the
//! reasons instead.
//!
//! Each backend promises something about durability, said plainly next to the policy
//! ([`Backend::durability`]); the simulated machine over it decides which bytes a crash keeps.
//!
//! The opening itself belongs to the browser ([`crate::storage::browser`], asynchronous, wasm
//! only); the order, the notes, the promises and the refusal are here, and tested natively.
//! What the host lends a lab that is not an input (the notes, the promise, a clock to time loads
//! with) is a [`Host`]: a recording never holds it.

use crate::Config;
use crate::lab::Lab;
use crate::load_time::LoadClock;

/// A backend of the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Opfs,
    IndexedDb,
    Memory,
}

impl Backend {
    /// The name in options and snapshots (`backend: "opfs"`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Opfs => "opfs",
            Backend::IndexedDb => "indexeddb",
            Backend::Memory => "memory",
        }
    }

    /// The name in sentences.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Opfs => "OPFS",
            Backend::IndexedDb => "IndexedDB",
            Backend::Memory => "memory",
        }
    }

    /// What the backend promises, said plainly (shown next to the policy).
    pub fn durability(self) -> &'static str {
        match self {
            Backend::Opfs => OPFS_DURABILITY,
            Backend::IndexedDb => IDB_DURABILITY,
            Backend::Memory => MEMORY_DURABILITY,
        }
    }
}

const OPFS_DURABILITY: &str = "Files in OPFS (the browser's Origin Private File System), under the simulated machine: every write is a real \
                               write and every fsync a real flush(); which bytes are in the page cache and which on the disk is the \
                               model's. A reload or a closed tab is a process kill (everything written is kept, as a kernel keeps its page \
                               cache); a simulated power loss or torn write cuts the real files back to what the model's disk holds. What \
                               the browser itself keeps through a real power cut is its own business (flush() asks it to).";

const IDB_DURABILITY: &str = "Files in IndexedDB, under the simulated machine: the worker keeps them in memory and stores what each turn wrote \
                              in a transaction (durability \"strict\" where the browser supports it); under appendfsync always no reply is \
                              released before the transaction holding its bytes has committed. A reload or a closed tab is a process kill \
                              (what was written is kept, unless the reload beats the turn's transaction by a few milliseconds); a simulated \
                              power loss or torn write cuts the stored files back to what the model's disk holds.";

pub const MEMORY_DURABILITY: &str = "Files in this tab's memory (RAM), under the simulated machine's page cache and disk: the crash lab can kill \
                                     the process, cut the power or tear a write and shows exactly what a real disk would keep; nothing survives \
                                     a page reload.";

/// `maxmemory` of a lab in a browser unless its settings say otherwise: a script in a tab gets
/// Redis's `-OOM` error at 64 MB instead of exhausting the tab (Redis's default, 0, means no
/// limit; `maxmemory 0` restores it).
pub const BROWSER_MAXMEMORY: u64 = 64 * 1024 * 1024;

/// A browser lab's settings (redis.conf names and values): [`BROWSER_MAXMEMORY`], then `given`,
/// which may override it; each checked (a bad one is Redis's reason, naming the setting).
pub fn browser_settings(given: Vec<(String, String)>) -> Result<Vec<(String, String)>, String> {
    let mut settings = vec![("maxmemory".to_string(), BROWSER_MAXMEMORY.to_string())];
    settings.extend(given);
    crate::lab::timeline::Start { settings: settings.clone(), ..Default::default() }.config()?;
    Ok(settings)
}

/// The backends to try, in order, for `asked` (`auto`, `opfs`, `indexeddb`, `memory`).
pub fn ladder(asked: &str, fallback: bool) -> Result<&'static [Backend], String> {
    use Backend::{IndexedDb, Memory, Opfs};
    Ok(match (asked, fallback) {
        ("auto", true) => &[Opfs, IndexedDb, Memory],
        ("auto", false) => &[Opfs, IndexedDb],
        ("opfs", true) => &[Opfs, Memory],
        ("opfs", false) => &[Opfs],
        ("indexeddb", true) => &[IndexedDb, Memory],
        ("indexeddb", false) => &[IndexedDb],
        ("memory", _) => &[Memory],
        (other, _) => return Err(format!("backend '{other}' is not one of auto, opfs, indexeddb, memory")),
    })
}

/// Why a step of the ladder did not give a lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fall {
    /// This backend cannot be used: the next one is tried; at the bottom, every step's note
    /// (`"OPFS: …; IndexedDB: …"`).
    Down(String),
    /// The lab cannot start at all (its settings): no backend would do better.
    Fatal(String),
}

/// Walks `ladder`: `open(backend, notes)` opens a backend and starts a lab on it, given the
/// notes of the steps above (why they were not used); the first lab started is the answer.
pub async fn climb<T>(ladder: &[Backend], mut open: impl AsyncFnMut(Backend, &[String]) -> Result<T, Fall>) -> Result<T, Fall> {
    let mut notes = Vec::new();
    for &step in ladder {
        match open(step, &notes).await {
            Ok(lab) => return Ok(lab),
            Err(Fall::Down(reason)) => notes.push(format!("{}: {reason}", step.label())),
            Err(fatal) => return Err(fatal),
        }
    }
    Err(Fall::Down(notes.join("; ")))
}

/// What a host lends a lab that is not an input (so not in a recording, and not replayed): why
/// the backends above the one in use were not used, what that one promises, and the host's
/// clock to time loads with ([`crate::load_time`]).
#[derive(Clone, Debug, Default)]
pub struct Host {
    pub backend_notes: Vec<String>,
    /// `None`: the simulated machine in RAM's ([`MEMORY_DURABILITY`]).
    pub durability: Option<String>,
    pub load_clock: Option<LoadClock>,
    /// What the host does while a script is busy (the worker tells the page); with it, scripts
    /// are timed against `busy-reply-threshold` on `load_clock` (a replay has neither: its
    /// scripts run as long as they did).
    pub while_blocked: Option<crate::config::WhileBlocked>,
}

impl Host {
    /// The host's part of a lab's config: its clock, and what it does while a script is busy.
    pub fn lend_to(&self, config: Config) -> Config {
        let script_clock = self.while_blocked.as_ref().and(self.load_clock);
        Config { load_clock: self.load_clock, script_clock, while_blocked: self.while_blocked.clone(), ..config }
    }

    /// Gives a started lab the notes and the promise (the clock went into its config before
    /// the start, to time the first load).
    pub fn lend(self, lab: &mut Lab) {
        lab.backend_notes = self.backend_notes;
        if let Some(d) = self.durability {
            lab.durability = d;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    /// The ladder's futures here are ready at once (no browser to wait for).
    fn ready<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("a step waited"),
        }
    }

    #[test]
    fn the_ladder_for_each_backend_asked() {
        use Backend::{IndexedDb, Memory, Opfs};
        assert_eq!(ladder("auto", true).unwrap(), [Opfs, IndexedDb, Memory]);
        assert_eq!(ladder("auto", false).unwrap(), [Opfs, IndexedDb]);
        assert_eq!(ladder("opfs", true).unwrap(), [Opfs, Memory]);
        assert_eq!(ladder("indexeddb", false).unwrap(), [IndexedDb]);
        assert_eq!(ladder("memory", false).unwrap(), [Memory]);
        assert_eq!(ladder("disk", true), Err("backend 'disk' is not one of auto, opfs, indexeddb, memory".into()));
        assert!(Opfs.durability().contains("real flush()") && IndexedDb.durability().contains("transaction"));
        assert!(Memory.durability().contains("nothing survives a page reload"));
    }

    #[test]
    fn a_browser_lab_stops_at_64_mb_unless_told_otherwise() {
        let config = |given: &[(&str, &str)]| {
            let given = given.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            browser_settings(given).and_then(|s| crate::lab::timeline::Start { settings: s, ..Default::default() }.config())
        };
        assert_eq!(config(&[]).unwrap().maxmemory, 64 << 20);
        assert_eq!(config(&[("maxmemory", "0"), ("appendonly", "yes")]).unwrap().maxmemory, 0);
        assert!(config(&[("appendfsync", "sometimes")]).unwrap_err().starts_with("appendfsync: "));
    }

    #[test]
    fn each_step_down_is_noted_and_the_first_lab_started_wins() {
        let mut seen = Vec::new();
        let got = ready(climb(ladder("auto", true).unwrap(), async |b, notes: &[String]| {
            seen.push((b, notes.to_vec()));
            match b {
                Backend::Opfs => Err(Fall::Down("no OPFS here".into())),
                Backend::IndexedDb => Err(Fall::Down("blocked".into())),
                Backend::Memory => Ok(notes.join(" | ")),
            }
        }));
        assert_eq!(got, Ok("OPFS: no OPFS here | IndexedDB: blocked".to_string()));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1], (Backend::IndexedDb, vec!["OPFS: no OPFS here".to_string()]));
        // Without the fallback: every reason, and no memory machine.
        let refused = ready(climb(ladder("auto", false).unwrap(), async |b, _: &[String]| -> Result<(), Fall> {
            Err(Fall::Down(format!("{} refused", b.name())))
        }));
        assert_eq!(refused, Err(Fall::Down("OPFS: opfs refused; IndexedDB: indexeddb refused".into())));
        // A lab that cannot start stops the climb where it is.
        let fatal = ready(climb(ladder("opfs", true).unwrap(), async |_, _: &[String]| -> Result<(), Fall> {
            Err(Fall::Fatal("appendfsync: bad".into()))
        }));
        assert_eq!(fatal, Err(Fall::Fatal("appendfsync: bad".into())));
    }
}
