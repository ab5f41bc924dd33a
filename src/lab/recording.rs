//! A recording as bytes, for share links and files: the settings the lab started with, the seed,
//! the start time, the files it started on (a lab opened on OPFS or IndexedDB finds the files of
//! earlier sessions), the inputs of one history, and a digest of the state they lead to, so that
//! whoever replays it can tell whether they got the same bytes.
//!
//! The format (all integers LEB128 varints; `i64` zigzag-encoded; a string is a varint length
//! and its UTF-8 bytes, `bytes` the same without the UTF-8 rule):
//!
//! ```text
//! "AOFLABREC" 0x02          magic and format version (0x01: the same without the files)
//! string   engine           "aof-lab <crate version>": another engine may replay differently
//! u64      seed
//! i64      t0               the simulated clock at the start (unix ms)
//! varint n, n × (string name, string value)    the settings (redis.conf names) of the start
//! varint n, n × (string name, bytes data)      the files at the start (a name ending in `/`:
//!                                              a directory), all of them on disk
//! varint n, n × input
//! u8 0 | u8 1 + 20 bytes    the head digest ([`state_digest`]), if any
//!
//! input:   u8 kind | origin << 7  (origin 1: a scenario)
//!          u64 t − t of the previous input (t0 for the first): time never goes back on a
//!              timeline (it clamps), so a negative step is written as 0, which replays the same
//!          payload by kind:
//!          0 lines     varint n, n × string      7 config    string name, string value
//!          1 resp      bytes                     8 check     u8 fix
//!          2 tick      —                         9 import    varint n, n × (string name, bytes)
//!          3 crash     string kind               10 scenario varint index, string step
//!          4 restart   varint n, n × (string, string)   11 predict  bytes
//!          5 fault     string fault, varint n    12 mark     string label
//!          6 speed     varint keys per tick     13 traffic  u8 0 (stopped) | u8 1, varint rate,
//!                                                            u8 write %, varint keys, varint
//!                                                            value size, u64 seed
//! ```
//!
//! Inputs are numbered from 1 in order (their `seq` is not stored). A typical input is 3 to 20
//! bytes: a tick is 2. The page compresses the bytes with the browser's own
//! `CompressionStream('deflate-raw')` and writes them base64url in the URL fragment: no
//! compression code in the wasm module, and the runs of ticks and repeated commands deflate well.
//! Checkpoints are never part of a recording: they are caches, rebuilt by the replay.
//!
//! The decoder never panics: every length is checked against what is left.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use sha1::{Digest, Sha1};

use super::Lab;
use super::input::{Action, Input, Origin};
use super::traffic::TrafficSpec;

const MAGIC: &[u8] = b"AOFLABREC\x02";
/// The first format, without the start files.
const MAGIC_1: &[u8] = b"AOFLABREC\x01";

/// The engine that made a recording: a recording made by another version may replay differently
/// (the digest tells).
pub fn engine_version() -> String {
    format!("aof-lab {}", env!("CARGO_PKG_VERSION"))
}

/// One history of the lab, replayable from nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub engine: String,
    pub seed: u64,
    pub t0: i64,
    pub settings: Vec<(String, String)>,
    /// The files the lab started on, all on disk (a name ending in `/` is a directory): empty
    /// for a fresh simulated machine.
    pub files: Vec<(String, Vec<u8>)>,
    pub inputs: Vec<Input>,
    /// [`state_digest`] of the lab after the last input.
    pub head_digest: Option<[u8; 20]>,
}

impl Recording {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        put_str(&mut out, &self.engine);
        put_u64(&mut out, self.seed);
        put_i64(&mut out, self.t0);
        put_u64(&mut out, self.settings.len() as u64);
        for (k, v) in &self.settings {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        put_u64(&mut out, self.files.len() as u64);
        for (name, data) in &self.files {
            put_str(&mut out, name);
            put_bytes(&mut out, data);
        }
        put_u64(&mut out, self.inputs.len() as u64);
        let mut prev = self.t0;
        for input in &self.inputs {
            encode_input(&mut out, input, prev);
            prev = input.t;
        }
        match &self.head_digest {
            Some(d) => {
                out.push(1);
                out.extend_from_slice(d);
            }
            None => out.push(0),
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Recording, String> {
        let mut r = Reader { bytes, pos: 0 };
        let magic = r.take(MAGIC.len())?;
        let with_files = magic == MAGIC;
        if !with_files && magic != MAGIC_1 {
            return Err("not an AOF Lab recording (bad magic or format version)".into());
        }
        let engine = r.string()?;
        let seed = r.u64()?;
        let t0 = r.i64()?;
        let n = r.count()?;
        let mut settings = Vec::with_capacity(n);
        for _ in 0..n {
            settings.push((r.string()?, r.string()?));
        }
        let mut files = Vec::new();
        if with_files {
            for _ in 0..r.count()? {
                files.push((r.string()?, r.bytes()?.to_vec()));
            }
        }
        let n = r.count()?;
        let mut inputs = Vec::with_capacity(n);
        let mut prev = t0;
        for i in 0..n {
            let input = decode_input(&mut r, i as u64 + 1, prev).map_err(|e| format!("input {}: {e}", i + 1))?;
            prev = input.t;
            inputs.push(input);
        }
        let head_digest = match r.u8()? {
            0 => None,
            1 => Some(r.take(20)?.try_into().map_err(|_| "truncated digest".to_string())?),
            other => return Err(format!("bad digest flag {other}")),
        };
        if r.pos != bytes.len() {
            return Err(format!("{} bytes after the end of the recording", bytes.len() - r.pos));
        }
        Ok(Recording { engine, seed, t0, settings, files, inputs, head_digest })
    }
}

fn encode_input(out: &mut Vec<u8>, input: &Input, prev_t: i64) {
    let code: u8 = match &input.action {
        Action::Lines(_) => 0,
        Action::Resp(_) => 1,
        Action::Tick => 2,
        Action::Crash(_) => 3,
        Action::Restart(_) => 4,
        Action::Fault { .. } => 5,
        Action::RewriteSpeed(_) => 6,
        Action::Config { .. } => 7,
        Action::CheckAof { .. } => 8,
        Action::Import(_) => 9,
        Action::Scenario { .. } => 10,
        Action::Predict(_) => 11,
        Action::Mark(_) => 12,
        Action::Traffic(_) => 13,
        Action::Second(_) => 14,
    };
    out.push(code | if input.origin == Origin::Scenario { 0x80 } else { 0 });
    put_u64(out, u64::try_from(input.t.saturating_sub(prev_t)).unwrap_or(0));
    match &input.action {
        Action::Lines(lines) | Action::Second(lines) => {
            put_u64(out, lines.len() as u64);
            for l in lines {
                put_str(out, l);
            }
        }
        Action::Resp(b) | Action::Predict(b) => put_bytes(out, b),
        Action::Tick => {}
        Action::Crash(s) | Action::Mark(s) => put_str(out, s),
        Action::Restart(settings) => {
            put_u64(out, settings.len() as u64);
            for (k, v) in settings {
                put_str(out, k);
                put_str(out, v);
            }
        }
        Action::Fault { fault, n } => {
            put_str(out, fault);
            put_u64(out, u64::from(*n));
        }
        Action::RewriteSpeed(n) => put_u64(out, *n),
        Action::Config { name, value } => {
            put_str(out, name);
            put_str(out, value);
        }
        Action::CheckAof { fix } => out.push(u8::from(*fix)),
        Action::Import(files) => {
            put_u64(out, files.len() as u64);
            for (name, data) in files {
                put_str(out, name);
                put_bytes(out, data);
            }
        }
        Action::Scenario { index, step } => {
            put_u64(out, u64::from(*index));
            put_str(out, step);
        }
        Action::Traffic(None) => out.push(0),
        Action::Traffic(Some(t)) => {
            out.push(1);
            put_u64(out, u64::from(t.rate));
            out.push(t.write_percent);
            put_u64(out, u64::from(t.keys));
            put_u64(out, u64::from(t.value_size));
            put_u64(out, t.seed);
        }
    }
}

fn decode_input(r: &mut Reader, seq: u64, prev_t: i64) -> Result<Input, String> {
    let head = r.u8()?;
    let origin = if head & 0x80 != 0 { Origin::Scenario } else { Origin::User };
    let t = prev_t.checked_add_unsigned(r.u64()?).ok_or("time out of range")?;
    let action = match head & 0x7f {
        0 => {
            let n = r.count()?;
            let mut lines = Vec::with_capacity(n);
            for _ in 0..n {
                lines.push(r.string()?);
            }
            Action::Lines(lines)
        }
        1 => Action::Resp(r.bytes()?.to_vec()),
        2 => Action::Tick,
        3 => Action::Crash(r.string()?),
        4 => {
            let n = r.count()?;
            let mut settings = Vec::with_capacity(n);
            for _ in 0..n {
                settings.push((r.string()?, r.string()?));
            }
            Action::Restart(settings)
        }
        5 => Action::Fault { fault: r.string()?, n: u32::try_from(r.u64()?).map_err(|_| "fault count out of range")? },
        6 => Action::RewriteSpeed(r.u64()?),
        7 => Action::Config { name: r.string()?, value: r.string()? },
        8 => Action::CheckAof { fix: r.u8()? != 0 },
        9 => {
            let n = r.count()?;
            let mut files = Vec::with_capacity(n);
            for _ in 0..n {
                files.push((r.string()?, r.bytes()?.to_vec()));
            }
            Action::Import(files)
        }
        10 => Action::Scenario { index: u32::try_from(r.u64()?).map_err(|_| "step index out of range")?, step: r.string()? },
        11 => Action::Predict(r.bytes()?.to_vec()),
        12 => Action::Mark(r.string()?),
        13 => Action::Traffic(match r.u8()? {
            0 => None,
            1 => {
                let small = |v: u64| u32::try_from(v).map_err(|_| "traffic setting out of range".to_string());
                Some(TrafficSpec {
                    rate: small(r.u64()?)?,
                    write_percent: r.u8()?,
                    keys: small(r.u64()?)?,
                    value_size: small(r.u64()?)?,
                    seed: r.u64()?,
                })
            }
            other => return Err(format!("bad traffic flag {other}")),
        }),
        14 => {
            let n = r.count()?;
            let mut lines = Vec::with_capacity(n);
            for _ in 0..n {
                lines.push(r.string()?);
            }
            Action::Second(lines)
        }
        other => return Err(format!("unknown input kind {other}")),
    };
    Ok(Input { seq, t, action, origin })
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    // 7 bits of `v` per byte, low bits first, the high bit saying that more follow.
    while v >= 0x80 {
        out.push(v.to_le_bytes()[0] | 0x80);
        v >>= 7;
    }
    out.push(v.to_le_bytes()[0]);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)).cast_unsigned());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("truncated recording")?;
        let s = self.bytes.get(self.pos..end).ok_or("truncated recording")?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(*self.take(1)?.first().ok_or("truncated recording")?)
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }
    fn i64(&mut self) -> Result<i64, String> {
        let v = self.u64()?;
        Ok((v >> 1).cast_signed() ^ -(v & 1).cast_signed())
    }
    /// A count of items that each take at least one byte: never more than what is left, so a
    /// forged count cannot make the decoder reserve gigabytes.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n).ok().filter(|&n| n <= self.bytes.len() - self.pos).ok_or_else(|| format!("count {n} exceeds the recording"))
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.count()?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "a string is not UTF-8".to_string())
    }
}

/// A digest of what the lab holds: whether it runs (or the lines it refused to start with), the
/// dataset's `DEBUG DIGEST`, and every file's name, bytes and (on the simulated machine) how much
/// of it is on disk. Two labs with the same digest show the same files and the same data.
pub fn state_digest(lab: &mut Lab) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(b"aof-lab state 1\n");
    match lab.is_down() {
        Some(lines) => {
            h.update(b"down\n");
            for l in lines {
                h.update(l.as_bytes());
                h.update(b"\n");
            }
        }
        None => {
            h.update(crate::keyspace::digest::dataset_digest(&lab.engine.srv.dbs));
            // The function libraries are part of the dataset (DEBUG DIGEST leaves them out).
            // Nothing is added without them, so the digests of recordings without functions stay.
            for code in lab.engine.srv.scripting.functions.codes() {
                h.update(b"function\n");
                h.update((code.len() as u64).to_le_bytes());
                h.update(&code);
            }
        }
    }
    let storage = lab.engine.srv.storage.as_mut();
    let names = storage.list(None).unwrap_or_default();
    for name in &names {
        let data = storage.read_all(name).unwrap_or_default();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    if let Some(layers) = storage.machine_layers() {
        for f in layers {
            h.update(f.name.as_bytes());
            h.update(f.durable_len.to_le_bytes());
            h.update([u8::from(f.durable_name)]);
        }
    }
    h.finalize().into()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Recording {
        let t0 = 1_700_000_000_000;
        let i = |seq: u64, t: i64, action: Action, origin: Origin| Input { seq, t, action, origin };
        Recording {
            engine: engine_version(),
            seed: 0xDEAD_BEEF_0123_4567,
            t0,
            settings: vec![("appendonly".into(), "yes".into()), ("appendfsync".into(), "always".into())],
            files: vec![
                ("appendonlydir/".into(), vec![]),
                ("appendonlydir/appendonly.aof.1.incr.aof".into(), b"*1\r\n$4\r\nPING\r\n".to_vec()),
            ],
            inputs: vec![
                i(1, t0, Action::Lines(vec!["SET k v".into(), "SET \"a b\" é".into()]), Origin::User),
                i(2, t0 + 100, Action::Tick, Origin::User),
                i(3, t0 + 150, Action::Resp(b"*1\r\n$4\r\nPING\r\n".to_vec()), Origin::User),
                i(4, t0 + 150, Action::Crash("torn".into()), Origin::User),
                i(5, t0 + 151, Action::Restart(vec![("aof-load-truncated".into(), "yes".into())]), Origin::User),
                i(6, t0 + 152, Action::Fault { fault: "fsync-error".into(), n: 3 }, Origin::User),
                i(7, t0 + 152, Action::RewriteSpeed(1000), Origin::User),
                i(8, t0 + 153, Action::Config { name: "appendfsync".into(), value: "no".into() }, Origin::User),
                i(9, t0 + 153, Action::CheckAof { fix: true }, Origin::User),
                i(10, t0 + 154, Action::Import(vec![("appendonly.aof".into(), vec![0, 1, 2, 255])]), Origin::User),
                i(11, t0 + 155, Action::Scenario { index: 7, step: "expect GET k => \"v\"\n=> more".into() }, Origin::Scenario),
                i(12, t0 + 1155, Action::Predict(vec![9; 300]), Origin::Scenario),
                i(13, t0 + 1155, Action::Mark("here".into()), Origin::User),
                i(
                    14,
                    t0 + 1156,
                    Action::Traffic(Some(TrafficSpec { rate: 50_000, write_percent: 80, keys: 1000, value_size: 32, seed: 9 })),
                    Origin::User,
                ),
                i(15, t0 + 1157, Action::Traffic(None), Origin::User),
            ],
            head_digest: Some([7; 20]),
        }
    }

    #[test]
    fn a_recording_round_trips_and_a_tick_costs_two_bytes() {
        let r = sample();
        let bytes = r.to_bytes();
        assert_eq!(Recording::from_bytes(&bytes), Ok(r.clone()));
        let mut more = r.clone();
        more.inputs.push(Input { seq: 16, t: r.t0 + 1257, action: Action::Tick, origin: Origin::User });
        assert_eq!(more.to_bytes().len(), bytes.len() + 2, "kind byte + varint(100)");
        let none = Recording { head_digest: None, ..r };
        assert_eq!(Recording::from_bytes(&none.to_bytes()), Ok(none));
    }

    /// The first format (no start files) still reads.
    #[test]
    fn a_format_1_recording_reads_without_files() {
        let r = Recording { files: vec![], ..sample() };
        let mut head = MAGIC_1.to_vec();
        put_str(&mut head, &r.engine);
        put_u64(&mut head, r.seed);
        put_i64(&mut head, r.t0);
        put_u64(&mut head, r.settings.len() as u64);
        for (k, v) in &r.settings {
            put_str(&mut head, k);
            put_str(&mut head, v);
        }
        let bytes = r.to_bytes();
        // Format 2 adds the file count (0 here, one byte) right after the settings.
        assert_eq!(bytes[head.len()], 0);
        head.extend_from_slice(&bytes[head.len() + 1..]);
        assert_eq!(Recording::from_bytes(&head), Ok(r));
    }

    #[test]
    fn every_truncation_and_garbage_is_an_error_not_a_panic() {
        let bytes = sample().to_bytes();
        for n in 0..bytes.len() {
            assert!(Recording::from_bytes(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Recording::from_bytes(&trailing).unwrap_err().contains("after the end"));
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..2000 {
            let mut b = bytes.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(MAGIC.len()..b.len());
                b[i] = rng.u8(..);
            }
            let _ = Recording::from_bytes(&b);
        }
        // A forged count cannot make the decoder allocate more than the input.
        let mut forged = MAGIC.to_vec();
        put_str(&mut forged, "x");
        put_u64(&mut forged, 1);
        put_i64(&mut forged, 0);
        put_u64(&mut forged, u64::MAX);
        assert!(Recording::from_bytes(&forged).unwrap_err().contains("exceeds"));
    }
}
