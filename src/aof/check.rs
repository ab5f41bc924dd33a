//! `redis-check-aof` (7.0): validates a manifest and its files, or an old-style single file, and
//! with `--fix` truncates the last file after its last complete command.
//!
//! The scan is stricter than the server's loader: every `\r\n` is checked, and MULTI/EXEC nesting
//! is tracked so that a file ending inside a transaction is cut before its MULTI. Messages,
//! offsets (`ok_up_to`, `ok_up_to_line`) and exit codes are the real tool's. One difference on
//! purpose: 7.0.15 takes any file with a line starting with `file` for a manifest (a RESP file
//! containing `SET file file` is misread, redis#12951); here, as in 7.2.6, only the first
//! non-comment line decides.
//!
//! **Memory.** A RESP file is read a window at a time ([`FileWindow`], 1 MB) from where the scan
//! asks, and a string's bytes are never held (only the two after them, and the command's name):
//! a file of any size is checked in a window's memory, as the real tool reads through `fgets` /
//! `fread`. An RDB base or preamble is read whole (the RDB reader walks a slice) and its values
//! are dropped as they are read: the keys alone are kept, to find a duplicate as a load would.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use super::fgets;
use super::manifest::AofManifest;
use crate::storage::{Storage, join};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Check,
    Fix,
    TruncateToTimestamp(i64),
}

/// The outcome of a run: what the tool printed, and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Standard output, exactly (the `Continue? [y/N]: ` prompt has no newline).
    pub output: String,
    pub exit_code: i32,
    /// For each file scanned: (name, size, ok_up_to).
    pub analyzed: Vec<(String, u64, u64)>,
}

enum FileResult {
    Ok,
    Empty,
    Truncated,
    TimestampTruncated,
}

/// Stops the run with an exit status (the tool's `exit(1)`).
struct Exit;

struct Checker<'a> {
    storage: &'a mut dyn Storage,
    mode: Mode,
    out: Report,
    scan: RespScan,
    confirm: &'a mut dyn FnMut(&str) -> bool,
}

/// The RESP reader of `checkSingleAof` and its state: `aof-lab inspect` and the lab's log view
/// walk files with it too, so that they mark a bad tail exactly where this tool cuts it.
#[derive(Clone, Debug)]
pub struct RespScan {
    /// `line`: a global counter of validated newlines, never reset between files.
    pub line: u64,
    /// `error`: the offset and message of the last error, kept across files like the tool's
    /// static buffer (printed as `0x<offset>: <message>`).
    pub error: Option<(usize, String)>,
    /// `epos`: where the last read started.
    last_epos: usize,
    /// `readLong`'s `char buf[128]` as seen through `readArgc`. A short line ("*3" at EOF)
    /// leaves the previous `*` line's bytes after its NUL, and the real tool prints them
    /// ("Expected \\r\\n, got: 000a"), so they are kept. Through `readString` the same stale
    /// bytes read as zeros on the real binary (its stack frame is reused by `fread`).
    argc_buf: [u8; 128],
}

impl Default for RespScan {
    fn default() -> Self {
        RespScan { line: 1, error: None, last_epos: 0, argc_buf: [0; 128] }
    }
}

/// The bytes a [`RespScan`] reads, by offset: a slice already in memory, or a file read a window
/// at a time ([`FileWindow`]), so that checking a file costs a window's memory whatever its size,
/// as `redis-check-aof` reads through `fgets` / `fread`.
pub trait ScanSource {
    /// The data's length.
    fn size(&self) -> usize;
    /// Up to `n` bytes from `at`: fewer only where the data ends.
    fn get(&mut self, at: usize, n: usize) -> &[u8];
}

impl ScanSource for &[u8] {
    fn size(&self) -> usize {
        self.len()
    }
    fn get(&mut self, at: usize, n: usize) -> &[u8] {
        let rest = <[u8]>::get(self, at..).unwrap_or_default();
        rest.get(..n).unwrap_or(rest)
    }
}

/// A file in a [`Storage`], read a window at a time from where the scan asks. A read error or a
/// file that shrank ends the data where its bytes end (the scan then reports a short read, as
/// the real tool does when `fread` comes back short).
pub struct FileWindow<'s> {
    storage: &'s mut dyn Storage,
    path: String,
    len: usize,
    /// The bytes from `base`.
    buf: Vec<u8>,
    base: usize,
    /// The usual read ([`WINDOW`]; the tests make it tiny).
    window: usize,
}

/// A window's usual size.
const WINDOW: usize = 1 << 20;

impl<'s> FileWindow<'s> {
    /// `path`'s length, and nothing read yet. A file this host cannot address is an error, as
    /// [`Storage::read_all`]'s.
    pub fn open(storage: &'s mut dyn Storage, path: &str) -> crate::storage::Result<FileWindow<'s>> {
        let len = storage.len(path)?;
        let len = usize::try_from(len)
            .map_err(|_| crate::storage::Error::new(crate::storage::ErrorKind::TooLarge, format!("{path}: {len} bytes")))?;
        Ok(FileWindow { storage, path: path.to_string(), len, buf: Vec::new(), base: 0, window: WINDOW })
    }
}

impl ScanSource for FileWindow<'_> {
    fn size(&self) -> usize {
        self.len
    }
    fn get(&mut self, at: usize, n: usize) -> &[u8] {
        let end = at.saturating_add(n).min(self.len);
        if at < self.base || end > self.base + self.buf.len() {
            let want = end.saturating_sub(at).max(self.window).min(self.len.saturating_sub(at));
            self.base = at;
            self.buf.resize(want, 0);
            let mut done = 0;
            while let Some(dst) = self.buf.get_mut(done..).filter(|d| !d.is_empty()) {
                match self.storage.read_at(&self.path, (at + done) as u64, dst) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => done += k,
                }
            }
            self.buf.truncate(done);
            if done < want {
                self.len = at + done;
            }
        }
        let from = at.saturating_sub(self.base);
        let to = end.saturating_sub(self.base).min(self.buf.len());
        self.buf.get(from..to).unwrap_or_default()
    }
}

/// `fgets(buf, buf.len() + 1, fp)` at `at`: the line (or as much of it as fits) copied into
/// `buf`; empty at the end of the data.
fn copy_line<'b>(data: &mut dyn ScanSource, at: usize, buf: &'b mut [u8]) -> &'b [u8] {
    let size = buf.len() + 1;
    let line = fgets(data.get(at, buf.len()), 0, size).unwrap_or_default();
    let n = line.len();
    if let Some(dst) = buf.get_mut(..n) {
        dst.copy_from_slice(line);
    }
    buf.get(..n).unwrap_or_default()
}

/// One record the scan accepted: an annotation line (`#…`) or a whole command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned {
    pub start: usize,
    pub end: usize,
    pub annotation: bool,
}

/// How `checkSingleAof`'s loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanEnd {
    /// `pos`: the end of the last record outside a MULTI; `--fix` truncates the file here.
    pub ok_up_to: usize,
    /// Where the reading stopped (the data's length when it ran out).
    pub stopped_at: usize,
    /// A byte other than `#` or `*` where a record should start ("AOF … format error").
    pub format_error: bool,
    /// An annotation asked to stop (`--truncate-to-timestamp`).
    pub annotation_stop: bool,
}

/// Runs the check on `path` (a manifest, an RDB-preamble AOF or a RESP AOF) inside `storage`.
/// `confirm` answers the `Continue? [y/N]` prompt of `--fix`; it receives the output so far
/// (ending with the prompt), so that an interactive host can show it first.
pub fn check(storage: &mut dyn Storage, path: &str, mode: Mode, confirm: &mut dyn FnMut(&str) -> bool) -> Report {
    let mut c = Checker { storage, mode, out: Report::default(), scan: RespScan::default(), confirm };
    let code = match c.run(path) {
        Ok(()) => 0,
        Err(Exit) => 1,
    };
    c.out.exit_code = code;
    c.out
}

/// The usage line, for wrong arguments (exit status 1).
pub fn usage(program: &str) -> String {
    format!("Usage: {program} [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>")
}

/// `strtol(s, &end, 10)`: the value and how many bytes it used.
fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    while s.get(i).is_some_and(|c| *c == b' ' || (b'\t'..=b'\r').contains(c)) {
        i += 1;
    }
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits_start = i;
    let mut v: i64 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
        i += 1;
    }
    if i == digits_start {
        return (0, 0);
    }
    (if neg { -v } else { v }, i)
}

/// `%02x` of a C `char`: bytes above 0x7f are sign-extended.
fn hex_char(c: u8) -> String {
    if c >= 0x80 { format!("ffffff{c:02x}") } else { format!("{c:02x}") }
}

impl Checker<'_> {
    fn print(&mut self, s: impl Into<String>) {
        say(&mut self.out, s);
    }

    fn run(&mut self, path: &str) -> Result<(), Exit> {
        let (manifest, preamble) = match FileWindow::open(&mut *self.storage, path) {
            Ok(mut w) => (is_manifest_in(&mut w), w.get(0, 5) == b"REDIS" && w.size() >= 8),
            Err(e) => {
                // `fileIsManifest`'s own message: no "aborting".
                self.print(format!("Cannot open file {path}: {}", e.strerror()));
                return Err(Exit);
            }
        };
        if manifest {
            // A manifest is a few lines: read whole, as its parser takes it.
            let data = match self.storage.read_all(path) {
                Ok(d) => d,
                Err(e) => {
                    self.print(format!("Cannot open file {path}: {}", e.strerror()));
                    return Err(Exit);
                }
            };
            self.check_multi_part(path, &data)
        } else {
            self.print("Start checking Old-Style AOF");
            let r = self.check_single(path, path, path, true, preamble)?;
            self.print_style(r, path, "AOF");
            Ok(())
        }
    }

    fn check_multi_part(&mut self, manifest_path: &str, data: &[u8]) -> Result<(), Exit> {
        self.print("Start checking Multi Part AOF");
        let am = match AofManifest::parse(data) {
            Ok(am) => am,
            Err(e) => {
                for l in e.log_lines() {
                    self.print(l);
                }
                return Err(Exit);
            }
        };
        let dir = manifest_path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let total = usize::from(am.base.is_some()) + am.incr.len();
        let mut n = 0;
        if let Some(base) = &am.base {
            n += 1;
            let p = join(&dir, &base.file_name);
            // `fileIsRDB` opens it first: a missing base ends the check before its heading.
            let rdb = match FileWindow::open(&mut *self.storage, &p) {
                Ok(mut w) => w.get(0, 5) == b"REDIS" && w.size() >= 8,
                Err(e) => {
                    self.print(format!("Cannot open file {}: {}", shown(&dir, &base.file_name), e.strerror()));
                    return Err(Exit);
                }
            };
            self.print(format!("Start to check BASE AOF ({} format).", if rdb { "RDB" } else { "RESP" }));
            let r = self.check_single(&base.file_name, &p, &shown(&dir, &base.file_name), n == total, rdb)?;
            self.print_style(r, &base.file_name, "BASE AOF");
        }
        if !am.incr.is_empty() {
            self.print("Start to check INCR files.");
            for ai in &am.incr {
                n += 1;
                let p = join(&dir, &ai.file_name);
                let r = self.check_single(&ai.file_name, &p, &shown(&dir, &ai.file_name), n == total, false)?;
                self.print_style(r, &ai.file_name, "INCR AOF");
            }
        }
        self.print("All AOF files and manifest are valid");
        Ok(())
    }

    fn print_style(&mut self, r: FileResult, name: &str, kind: &str) {
        let line = match r {
            FileResult::Ok => format!("{kind} {name} is valid"),
            FileResult::Empty => format!("{kind} {name} is empty"),
            FileResult::TimestampTruncated => {
                let ts = if let Mode::TruncateToTimestamp(t) = self.mode { t } else { 0 };
                format!("Successfully truncated AOF {name} to timestamp {ts}")
            }
            FileResult::Truncated => format!("Successfully truncated AOF {name}"),
        };
        self.print(line);
    }

    /// `checkSingleAof`. `shown` is the path as the real tool prints it.
    fn check_single(&mut self, name: &str, path: &str, shown: &str, last_file: bool, preamble: bool) -> Result<FileResult, Exit> {
        let cannot_open = |e: crate::storage::Error| format!("Cannot open file {shown}: {}, aborting...", e.strerror());
        // A file with an RDB preamble is read whole (the RDB reader walks a slice); a RESP file
        // a window at a time.
        let whole = match preamble.then(|| self.storage.read_all(path)) {
            Some(Err(e)) => {
                self.print(cannot_open(e));
                return Err(Exit);
            }
            Some(Ok(d)) => Some(d),
            None => None,
        };
        let mut cur = 0usize;
        if let Some(data) = whole.as_deref().filter(|d| !d.is_empty()) {
            self.print(format!("[offset 0] Checking RDB file {name}"));
            // What the preamble holds is walked, not kept: the keys alone, for duplicates.
            match crate::rdb::read::read_rdb_keys(data) {
                Ok(info) => {
                    for (k, v, at) in &info.aux {
                        self.print(format!("[offset {at}] AUX FIELD {} = '{}'", String::from_utf8_lossy(k), String::from_utf8_lossy(v)));
                    }
                    for (id, at) in &info.selects {
                        self.print(format!("[offset {at}] Selecting DB ID {id}"));
                    }
                    self.print(format!("[offset {}] Checksum OK", info.len));
                    self.print(format!("[offset {}] \\o/ RDB looks OK! \\o/", info.len));
                    self.print(format!("[info] {} keys read", info.keys));
                    self.print(format!("[info] {} expires", info.expires));
                    self.print("[info] 0 already expired");
                    cur = info.len;
                    self.print("RDB preamble is OK, proceeding with AOF tail...");
                }
                Err(e) => {
                    self.print("--- RDB ERROR DETECTED ---");
                    self.print(format!("[offset {}] {}", e.offset, e.message));
                    self.print("RDB preamble of AOF file is not sane, aborting.");
                    return Err(Exit);
                }
            }
        }
        let (mut slice, mut window);
        let data: &mut dyn ScanSource = match whole.as_deref() {
            Some(d) => {
                slice = d;
                &mut slice
            }
            None => match FileWindow::open(&mut *self.storage, path) {
                Ok(w) => {
                    window = w;
                    &mut window
                }
                Err(e) => {
                    let line = cannot_open(e);
                    self.print(line);
                    return Err(Exit);
                }
            },
        };
        let size = data.size();
        if size == 0 {
            return Ok(FileResult::Empty);
        }
        let mut scan = std::mem::take(&mut self.scan);
        let (mode, out) = (self.mode, &mut self.out);
        let mut cut = None;
        let end = scan.scan(data, cur, path, &mut |_| {}, &mut |epos, line| match mode {
            Mode::TruncateToTimestamp(to) => {
                let go = timestamp_annotation(out, epos, line, to, path, last_file)?;
                cut = (!go).then_some((epos, to));
                Ok(go)
            }
            _ => Ok(true),
        });
        self.scan = scan;
        let end = end?;
        if let Some((epos, to)) = cut {
            if self.storage.truncate(path, epos as u64).is_err() {
                self.print(format!("Failed to truncate AOF {path} to timestamp {to}"));
                return Err(Exit);
            }
            return Ok(FileResult::TimestampTruncated);
        }
        if end.format_error {
            self.print(format!("AOF {name} format error"));
        }
        if let Some((epos, msg)) = &self.scan.error {
            let e = format!("0x{epos:16x}: {msg}");
            self.print(e);
        }
        let pos = end.ok_up_to;
        let diff = size - pos;
        self.out.analyzed.push((name.to_string(), size as u64, pos as u64));
        if diff == 0 && matches!(self.mode, Mode::TruncateToTimestamp(_)) {
            let ts = if let Mode::TruncateToTimestamp(t) = self.mode { t } else { 0 };
            self.print(format!("Truncate nothing in AOF {name} to timestamp {ts}"));
            return Ok(FileResult::Ok);
        }
        self.print(format!("AOF analyzed: filename={name}, size={size}, ok_up_to={pos}, ok_up_to_line={}, diff={diff}", self.scan.line));
        if diff > 0 {
            if self.mode == Mode::Fix {
                if !last_file {
                    self.print(format!("Failed to truncate AOF {name} because it is not the last file"));
                    return Err(Exit);
                }
                self.print(format!("This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {pos} bytes"));
                self.out.output.push_str("Continue? [y/N]: ");
                if !(self.confirm)(&self.out.output) {
                    self.print("Aborting...");
                    return Err(Exit);
                }
                if self.storage.truncate(path, pos as u64).is_err() {
                    self.print(format!("Failed to truncate AOF {name}"));
                    return Err(Exit);
                }
                return Ok(FileResult::Truncated);
            }
            self.print(format!("AOF {name} is not valid. Use the --fix option to try fixing it."));
            return Err(Exit);
        }
        Ok(FileResult::Ok)
    }
}

impl Report {
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.output.lines()
    }
}

/// Prints a line of the tool's output.
fn say(out: &mut Report, s: impl Into<String>) {
    out.output.push_str(&s.into());
    out.output.push('\n');
}

/// `processAnnotations` under `--truncate-to-timestamp`: `Ok(false)` when the file is to be cut
/// at this annotation (it starts at `epos`; the caller truncates once the scan has stopped).
fn timestamp_annotation(out: &mut Report, epos: usize, line: &[u8], to: i64, path: &str, last_file: bool) -> Result<bool, Exit> {
    let Some(rest) = line.strip_prefix(b"#TS:") else { return Ok(true) };
    let (ts, used) = strtol(rest);
    if rest.get(used) != Some(&b'\r') {
        say(out, "Invalid timestamp annotation");
        return Err(Exit);
    }
    if ts <= to {
        return Ok(true);
    }
    if epos == 0 {
        say(out, format!("AOF {path} has nothing before timestamp {to}, aborting..."));
        return Err(Exit);
    }
    if !last_file {
        say(out, format!("Failed to truncate AOF {path} to timestamp {to} to offset {epos} because it is not the last file."));
        say(
            out,
            "If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof.",
        );
        return Err(Exit);
    }
    Ok(false)
}

impl RespScan {
    fn set_error(&mut self, epos: usize, msg: String) {
        self.error = Some((epos, msg));
    }

    /// `checkSingleAof`'s loop over the RESP part of `data`, from `cur`: annotations (each
    /// line handed to `annotation(offset, line)`, which may stop the scan) and commands, with
    /// MULTI/EXEC nesting, until the data runs out or a record is bad. Every accepted record is
    /// reported to `record`. `path` only appears in messages.
    pub fn scan<E>(
        &mut self,
        data: &mut dyn ScanSource,
        mut cur: usize,
        path: &str,
        record: &mut dyn FnMut(Scanned),
        annotation: &mut dyn FnMut(usize, &[u8]) -> Result<bool, E>,
    ) -> Result<ScanEnd, E> {
        let mut pos = cur;
        let mut multi: i64 = 0;
        let mut end = ScanEnd { ok_up_to: 0, stopped_at: 0, format_error: false, annotation_stop: false };
        loop {
            if multi == 0 {
                pos = cur;
            }
            let Some(&first) = data.get(cur, 1).first() else { break };
            let start = cur;
            if first == b'#' {
                // `fgets` of 1024 bytes: a longer line is read in pieces (the next one is then
                // not an annotation, as in the real tool). `data[cur]` exists, so it reads.
                let mut buf = [0u8; 1023];
                let line = copy_line(data, cur, &mut buf);
                self.last_epos = cur;
                cur += line.len();
                if !annotation(start, line)? {
                    end.annotation_stop = true;
                    break;
                }
                record(Scanned { start, end: cur, annotation: true });
            } else if first == b'*' {
                if self.process_resp(data, &mut cur, path, &mut multi).is_err() {
                    break;
                }
                record(Scanned { start, end: cur, annotation: false });
            } else {
                end.format_error = true;
                break;
            }
        }
        // feof(): the scan stopped because the data ran out.
        if cur >= data.size() && multi != 0 && self.error.is_none() && !end.annotation_stop {
            self.set_error(self.last_epos, "Reached EOF before reading EXEC for MULTI".into());
        }
        end.ok_up_to = pos;
        end.stopped_at = cur;
        Ok(end)
    }

    /// `readLong`: `Err` at EOF (no message) or after setting the error.
    fn read_long(&mut self, data: &mut dyn ScanSource, cur: &mut usize, prefix: u8) -> Result<i64, ()> {
        self.last_epos = *cur;
        // `fgets` of 128 fills at most 127 bytes and its NUL, into the buffer the C code's frame
        // holds (see `argc_buf`). Only `*` lines reach here with `*` first (the scan looked), so
        // filling it before the prefix check changes nothing.
        let mut fresh = [0u8; 128];
        let buf = if prefix == b'*' { &mut self.argc_buf } else { &mut fresh };
        let (head, _) = buf.split_at_mut(127);
        let n = copy_line(data, *cur, head).len();
        if n == 0 {
            return Err(());
        }
        if let Some(nul) = buf.get_mut(n) {
            *nul = 0;
        }
        *cur += n;
        let line = buf.get(..n).unwrap_or_default();
        if line.first() != Some(&prefix) {
            let got = line.first().copied().unwrap_or(0);
            self.set_error(self.last_epos, format!("Expected prefix '{}', got: '{}'", prefix as char, got as char));
            return Err(());
        }
        let (v, used) = strtol(line.get(1..).unwrap_or_default());
        let eptr = 1 + used;
        // A 127-byte line of digits puts `eptr` on the buffer's last byte (its NUL); C stops at
        // `eptr[0] != '\r'` and prints whatever follows the buffer, read here as 0.
        let two = [buf.get(eptr).copied().unwrap_or(0), buf.get(eptr + 1).copied().unwrap_or(0)];
        self.consume_newline(&two)?;
        Ok(v)
    }

    fn consume_newline(&mut self, two: &[u8]) -> Result<(), ()> {
        if two != b"\r\n" {
            let a = two.first().copied().unwrap_or(0);
            let b = two.get(1).copied().unwrap_or(0);
            self.set_error(self.last_epos, format!("Expected \\r\\n, got: {}{}", hex_char(a), hex_char(b)));
            return Err(());
        }
        self.line += 1;
        Ok(())
    }

    /// `readString`: where the string's bytes start in the data, and their length. Only the
    /// two bytes after them are read (the command's name apart, nothing needs the payload), so a
    /// string of any size costs no memory.
    fn read_string(&mut self, data: &mut dyn ScanSource, cur: &mut usize) -> Result<(usize, usize), ()> {
        let len = self.read_long(data, cur, b'$')?;
        if !(0..=i64::MAX - 2).contains(&len) {
            self.set_error(self.last_epos, format!("Expected to read string of {len} bytes, which is not in the suitable range"));
            return Err(());
        }
        // In u64: `len` may exceed the address space (wasm32's usize is 32 bits); what is read
        // never does.
        let want = len.unsigned_abs() + 2;
        let start = *cur;
        self.last_epos = start;
        let left = data.size().saturating_sub(start);
        let avail = usize::try_from(want).map_or(left, |w| w.min(left));
        *cur += avail;
        if avail as u64 != want {
            self.set_error(self.last_epos, format!("Expected to read {want} bytes, got {avail} bytes"));
            return Err(());
        }
        // `avail` = `len` + 2 here: the payload, then the two bytes that must be CRLF.
        let payload = avail - 2;
        let mut crlf = [0u8; 2];
        let got = data.get(start + payload, 2);
        if let Some(d) = crlf.get_mut(..got.len()) {
            d.copy_from_slice(got);
        }
        self.consume_newline(&crlf)?;
        Ok((start, payload))
    }

    /// `processRESP`: `Err` stops the scan.
    fn process_resp(&mut self, data: &mut dyn ScanSource, cur: &mut usize, path: &str, multi: &mut i64) -> Result<(), ()> {
        let argc = self.read_long(data, cur, b'*')?;
        for i in 0..argc {
            let (at, n) = self.read_string(data, cur)?;
            if i == 0 && (n == 4 || n == 5) {
                let s = data.get(at, n);
                if s.eq_ignore_ascii_case(b"multi") {
                    *multi += 1;
                    if *multi > 1 {
                        self.set_error(self.last_epos, format!("Unexpected MULTI in AOF {path}"));
                        return Err(());
                    }
                } else if s.eq_ignore_ascii_case(b"exec") {
                    *multi -= 1;
                    if *multi != 0 {
                        self.set_error(self.last_epos, format!("Unexpected EXEC in AOF {path}"));
                        return Err(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// A manifest's file as redis-check-aof names it in messages: `makePath(dirname(manifest),
/// name)`, so `./name` beside a manifest given without a directory.
fn shown(dir: &str, name: &str) -> String {
    format!("{}/{name}", if dir.is_empty() { "." } else { dir })
}

/// A manifest is a file whose first non-comment line starts with `file` (the 7.2.6 rule: 7.0.15
/// takes any line that does, so a RESP file holding the word is refused as a bad manifest),
/// after leading blanks, which the manifest's parser trims (`sdstrim`): a manifest whose first
/// entry is indented is still one, and `--fix` never cuts it as a RESP file.
pub fn is_manifest(mut data: &[u8]) -> bool {
    is_manifest_in(&mut data)
}

/// [`is_manifest`] reading no further than the first line that decides.
fn is_manifest_in(data: &mut dyn ScanSource) -> bool {
    let mut at = 0;
    loop {
        match data.get(at, 1).first() {
            None => return false,
            // Blank lines and leading blanks (`\n` is one).
            Some(c) if c.is_ascii_whitespace() => at += 1,
            // A comment: to its line's end (the `\n` is then a blank, the end of data `None`).
            Some(b'#') => {
                while data.get(at, 1).first().is_some_and(|&c| c != b'\n') {
                    at += 1;
                }
            }
            Some(_) => return data.get(at, 4) == b"file",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::storage::{OpenMode, RamDisk};

    fn resp(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// What a scan found: its end, its error, the line counter, the records.
    fn scan_of(data: &mut dyn ScanSource) -> (ScanEnd, Option<(usize, String)>, u64, Vec<Scanned>) {
        let mut scan = RespScan::default();
        let mut records = Vec::new();
        let end = scan.scan::<()>(data, 0, "f", &mut |r| records.push(r), &mut |_, l| Ok(!l.starts_with(b"#stop"))).unwrap();
        (end, scan.error, scan.line, records)
    }

    fn on_disk(bytes: &[u8]) -> RamDisk {
        let mut d = RamDisk::new();
        d.open("f", OpenMode::Create).unwrap();
        d.write_at("f", 0, bytes).unwrap();
        d
    }

    /// The scan reads the same through a window of any size as from the whole file in memory:
    /// every cut of a file and every byte of it changed, through windows of 1 to 64 bytes.
    #[test]
    fn a_window_of_any_size_scans_as_the_whole_file() {
        let mut base = b"#TS:1700000000\r\n".to_vec();
        base.extend(resp(&[b"SET", b"k", b"v\r\nx"]));
        base.extend(resp(&[b"MULTI"]));
        base.extend(resp(&[b"INCR", b"n"]));
        base.extend(resp(&[b"exec"]));
        base.extend(format!("#{}\r\n", "a".repeat(1100)).into_bytes());
        base.extend(resp(&[b"DEL", &[0xff; 40]]));
        base.extend(b"#stop\r\n");
        base.extend(resp(&[b"PING"]));
        let mut cases: Vec<Vec<u8>> = (0..=base.len()).map(|n| base[..n].to_vec()).collect();
        for i in 0..base.len() {
            for b in [b'\n', b'\r', b'x', b'*', b'$', b'9', b'-'] {
                let mut c = base.clone();
                c[i] = b;
                cases.push(c);
            }
        }
        for data in &cases {
            let want = scan_of(&mut data.as_slice());
            for window in [1, 2, 3, 7, 64] {
                let mut disk = on_disk(data);
                let mut w = FileWindow::open(&mut disk, "f").unwrap();
                w.window = window;
                assert_eq!(scan_of(&mut w), want, "window {window}: {:?}", String::from_utf8_lossy(data));
            }
        }
    }

    /// A file is read a window at a time, whatever the size of its strings: a 5 MB argument is
    /// checked (and its CRLF found) with no buffer larger than the window.
    #[test]
    fn a_large_string_is_checked_without_holding_it() {
        let big = vec![b'v'; 5 << 20];
        let mut data = resp(&[b"SET", b"k", &big]);
        let crlf_at = data.len() - 2;
        data.extend(resp(&[b"SET", b"k2", b"v"]));
        let mut disk = on_disk(&data);
        let mut w = FileWindow::open(&mut disk, "f").unwrap();
        let (end, error, _, records) = scan_of(&mut w);
        assert_eq!((end.ok_up_to, error, records.len()), (data.len(), None, 2));
        assert!(w.buf.capacity() <= WINDOW, "{} bytes held", w.buf.capacity());
        // The same string with a bad CRLF after it is refused where it starts, as in memory.
        data[crlf_at] = b'x';
        let mut disk = on_disk(&data);
        let mut w = FileWindow::open(&mut disk, "f").unwrap();
        let got = scan_of(&mut w);
        assert_eq!(got, scan_of(&mut data.as_slice()));
        assert!(got.1.unwrap().1.starts_with("Expected \\r\\n"));
    }

    #[test]
    fn a_manifest_is_decided_by_its_first_line_that_is_not_a_comment() {
        for (data, want) in [
            (&b"file a seq 1 type b\n"[..], true),
            (b"\n  \t# a comment\n\n   file a seq 1 type b\n", true),
            (b"# file\n*1\r\n$4\r\nPING\r\n", false),
            (b"fi\nle", false),
            (b"# only a comment", false),
            (b"", false),
            (b"*2\r\n$3\r\nSET\r\n$4\r\nfile\r\n", false),
        ] {
            assert_eq!(is_manifest(data), want, "{:?}", String::from_utf8_lossy(data));
            let mut disk = on_disk(data);
            let mut w = FileWindow::open(&mut disk, "f").unwrap();
            w.window = 1;
            assert_eq!(is_manifest_in(&mut w), want);
        }
    }
}
