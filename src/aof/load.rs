//! Loading the AOF at start (`loadAppendOnlyFiles` / `loadSingleAppendOnlyFile`).
//!
//! The base is loaded first, then every incr file in manifest order. A file is RDB when its
//! first five bytes are `REDIS` (an RDB base, or the preamble of a 6.2 file, followed by a RESP
//! tail); otherwise it is RESP, read like Redis reads it:
//!
//! * a line starting with `#` is an annotation (`#TS:…`) and is skipped;
//! * `*<argc>`, then per argument `$<len>`, `len` bytes and two bytes that are *not* checked;
//! * a command runs in a fake client that never replies; MULTI queues until EXEC;
//! * nothing expires while loading, and nothing is propagated.
//!
//! A cut-off tail is an *unexpected EOF*: with `aof-load-truncated yes` the file is truncated
//! after the last complete command (before an unfinished MULTI) and loading goes on, but only if
//! it is the last file. Anything else malformed is a *format error*, always fatal.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use crate::aof::manifest::AofManifest;
use crate::cmd::{self, Outcome};
use crate::keyspace::dict;
use crate::load_time;
use crate::server::{Client, LogLevel, Server};
use crate::storage::join;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofStatus {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

enum Stop {
    /// `uxeof`: the file ended inside a command (or inside MULTI).
    UnexpectedEof,
    /// `fmterr`.
    Format,
    /// Fatal with its own message already logged.
    Fatal,
}

/// C `atoi`/`strtol` on a line: optional spaces and sign, then digits; stops at anything else.
fn c_atol(s: &[u8]) -> i64 {
    let mut i = 0;
    while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    // strtol: on overflow, LONG_MAX or LONG_MIN.
    let mut v: i64 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        match v.checked_mul(10).and_then(|v| v.checked_add(i64::from(c - b'0'))) {
            Some(n) => v = n,
            None => return if neg { i64::MIN } else { i64::MAX },
        }
        i += 1;
    }
    if neg { -v } else { v }
}

/// `fgets(buf, 1024, fp)`: the loader's line buffer.
fn fgets(data: &[u8], pos: usize) -> Option<&[u8]> {
    super::fgets(data, pos, 1024)
}

/// Loads one AOF file's bytes into the server. `filename` is for messages.
pub fn load_single_append_only_file(srv: &mut Server, filename: &str, data: &[u8]) -> (AofStatus, u64) {
    if data.is_empty() {
        return (AofStatus::Empty, 0);
    }
    let mut pos = 0usize;
    if data.starts_with(b"REDIS") {
        let old_style = !filename.contains(".base.");
        if old_style {
            srv.log(LogLevel::Notice, "Reading RDB preamble from AOF file...".into());
        } else {
            srv.log(LogLevel::Notice, "Reading RDB base file on AOF loading...".into());
        }
        let limits = crate::rdb::read::LoadLimits::of(&srv.config);
        let read = crate::rdb::read::read_rdb_limited(data, &mut srv.dbs, limits)
            .map_err(|e| e.to_string())
            .and_then(|info| srv.load_rdb_functions(&info.functions, false).map(|()| info));
        match read {
            Ok(info) => {
                pos = info.len;
                // What `rdbLoadRio` logs as it meets the aux fields, then its summary.
                for (k, v, _) in &info.aux {
                    let v = String::from_utf8_lossy(v);
                    match k.as_slice() {
                        b"redis-ver" => srv.log(LogLevel::Notice, format!("Loading RDB produced by version {v}")),
                        b"ctime" => {
                            let age = (srv.unixtime() - v.parse::<i64>().unwrap_or(0)).max(0);
                            srv.log(LogLevel::Notice, format!("RDB age {age} seconds"));
                        }
                        b"used-mem" => {
                            let mb = v.parse::<f64>().unwrap_or(0.0) / (1024.0 * 1024.0);
                            srv.log(LogLevel::Notice, format!("RDB memory usage when created {mb:.2} Mb"));
                        }
                        b"aof-base" if v != "0" => srv.log(LogLevel::Notice, "RDB is base AOF".into()),
                        _ => {}
                    }
                }
                srv.log_rdb_loaded(&info, info.keys, 0);
                if old_style {
                    srv.log(LogLevel::Notice, "Reading the remaining AOF tail...".into());
                }
            }
            Err(e) => {
                srv.log(LogLevel::Warning, e);
                srv.log(LogLevel::Warning, format!("Error reading the RDB base file {filename}, AOF loading aborted"));
                return (AofStatus::Failed, 0);
            }
        }
    }

    load_commands(srv, filename, &mut Whole(data), pos)
}

/// Where the command loop's bytes come from: a window over the file, at file offset `base`.
/// The loop parses whole commands inside the window; one cut by the window's end is parsed
/// again from its start once [`Source::refill`] has brought the rest in.
trait Source {
    /// The bytes at hand, the file offset of the first, and whether they reach the file's end.
    fn window(&self) -> (&[u8], u64, bool);
    /// Drops the bytes before file offset `keep` and reads more (at least what makes the window
    /// grow). `Err` is a read error.
    fn refill(&mut self, srv: &mut Server, keep: u64) -> crate::storage::Result<()>;
}

/// A file already in memory (the RDB-preamble case, DEBUG LOADAOF's legacy file, the tests).
struct Whole<'a>(&'a [u8]);

impl Source for Whole<'_> {
    fn window(&self) -> (&[u8], u64, bool) {
        (self.0, 0, true)
    }
    fn refill(&mut self, _: &mut Server, _: u64) -> crate::storage::Result<()> {
        Ok(())
    }
}

/// A file read from storage a window at a time, as Redis reads it through `fread`: no copy of
/// the whole file is made (the command's arguments are copied where they are kept), so a large
/// AOF costs no memory beyond its data.
struct Streamed {
    path: String,
    len: u64,
    /// The window is `buf[..filled]`; the room after it was zeroed once, when the buffer grew,
    /// and is read into again at each refill (zeroing a 1 MB window per refill cost ~4 % of a
    /// load in the wasm).
    buf: Vec<u8>,
    filled: usize,
    base: u64,
    /// The window's usual size ([`WINDOW`]; the tests make it tiny).
    window: usize,
}

/// The window's size (it grows for a command that does not fit).
const WINDOW: usize = 1 << 20;

impl Streamed {
    fn eof(&self) -> bool {
        self.base + self.filled as u64 >= self.len
    }
}

impl Source for Streamed {
    fn window(&self) -> (&[u8], u64, bool) {
        (self.buf.get(..self.filled).unwrap_or_default(), self.base, self.eof())
    }
    fn refill(&mut self, srv: &mut Server, keep: u64) -> crate::storage::Result<()> {
        let drop = usize::try_from(keep.saturating_sub(self.base)).unwrap_or(usize::MAX).min(self.filled);
        // The unfinished command moves to the front.
        self.buf.copy_within(drop..self.filled, 0);
        self.filled -= drop;
        self.base += drop as u64;
        // A command larger than the window: double it.
        let want = if drop == 0 { (self.filled * 2).max(self.window) } else { self.window.max(self.filled) };
        let left = usize::try_from(self.len - (self.base + self.filled as u64)).unwrap_or(usize::MAX);
        let add = want.saturating_sub(self.filled).min(left);
        let at = self.filled;
        if self.buf.len() < at + add {
            self.buf.resize(at + add, 0);
        }
        let mut done = 0;
        while done < add {
            let off = self.base + (at + done) as u64;
            let Some(dst) = self.buf.get_mut(at + done..at + add) else { break };
            match srv.storage.read_at(&self.path, off, dst)? {
                0 => break,
                n => done += n,
            }
        }
        self.filled = at + done;
        // A file that shrank while read ends where its bytes end.
        if done < add {
            self.len = self.base + self.filled as u64;
        }
        Ok(())
    }
}

/// One command's parse inside a window.
enum Parsed {
    /// A command (its arguments in `argv`) or an annotation (`argv` empty), ending at this offset.
    Item(usize),
    /// The end of the file, between commands.
    End,
    /// The window ends inside this command (or line), before the file does.
    More,
    Stop(Stop),
}

/// `fgets(buf, 1024, fp)` on a window: `Err` when the line is cut by the window's end, not by
/// the file's end or the buffer's size.
fn fgets_window(data: &[u8], pos: usize, eof: bool) -> Result<Option<&[u8]>, ()> {
    match fgets(data, pos) {
        Some(l) if !eof && l.last() != Some(&b'\n') && l.len() < 1023 => Err(()),
        None if !eof => Err(()),
        l => Ok(l),
    }
}

/// Parses the command at `pos`, like `loadSingleAppendOnlyFile`'s reading part.
fn parse_command<'d>(data: &'d [u8], mut pos: usize, eof: bool, argv: &mut Vec<&'d [u8]>) -> Parsed {
    argv.clear();
    let Ok(line) = fgets_window(data, pos, eof) else { return Parsed::More };
    let Some(line) = line else { return Parsed::End };
    pos += line.len();
    match line.first() {
        Some(b'#') => return Parsed::Item(pos),
        Some(b'*') => {}
        _ => return Parsed::Stop(Stop::Format),
    }
    if line.len() == 1 {
        return Parsed::Stop(Stop::UnexpectedEof); // "*" then EOF: a read error at EOF
    }
    // `int argc = atoi(buf+1)`: strtol's long cut to an int, so `*2147483648` is negative (a
    // format error, not a short read) and `*4294967297` is 1.
    #[allow(clippy::cast_possible_truncation, reason = "C's conversion of long to int, on purpose")]
    let argc = c_atol(line.get(1..).unwrap_or_default()) as i32;
    if argc < 1 {
        return Parsed::Stop(Stop::Format);
    }
    let short = if eof { Parsed::Stop(Stop::UnexpectedEof) } else { Parsed::More };
    for _ in 0..argc {
        let Ok(l) = fgets_window(data, pos, eof) else { return Parsed::More };
        let Some(l) = l else { return short };
        pos += l.len();
        if l.first() != Some(&b'$') {
            return Parsed::Stop(Stop::Format);
        }
        let len = c_atol(l.get(1..).unwrap_or_default());
        if len < 0 {
            return Parsed::Stop(Stop::Format);
        }
        // A length beyond the address space (wasm32's usize is 32 bits) cannot be in the
        // file either: the file ends first, as for Redis's fread.
        let Some(arg) = usize::try_from(len).ok().and_then(|len| pos.checked_add(len)).and_then(|end| data.get(pos..end)) else {
            return short;
        };
        pos += arg.len();
        // The CRLF after the payload is skipped without being checked.
        if data.len() - pos < 2 {
            return short;
        }
        pos += 2;
        argv.push(arg);
    }
    Parsed::Item(pos)
}

/// A parsed command waiting in the batch: where it ends, its arguments in the batch's flat list,
/// the hash of its first key (0: none).
struct Queued {
    end: usize,
    first: usize,
    argc: usize,
    key: u64,
}

/// The command names met so far in this load, spelled as the file spells them. An AOF repeats a
/// handful of names, each written the same way every time, so one compare of a packed name
/// replaces lowercasing and hashing every command's name ([`cmd::lookup_command`]). Only
/// commands without subcommands are kept: a container's command depends on the next argument.
#[derive(Default)]
struct SeenNames(Vec<(u128, &'static cmd::Command)>);

impl SeenNames {
    /// Enough for any AOF's usual commands; a stranger file just looks the rest up.
    const MAX: usize = 32;

    /// A name of up to 15 bytes packed with its length into one number (`None`: longer).
    fn pack(name: &[u8]) -> Option<u128> {
        if name.len() > 15 {
            return None;
        }
        // Shifted in register by register: a copy into a buffer read back whole would stall on
        // the store forwarding.
        let packed = name.iter().rev().fold(0u128, |v, &c| (v << 8) | u128::from(c));
        Some(packed | (name.len() as u128) << 120)
    }

    fn lookup(&mut self, argv: &[&[u8]]) -> Option<&'static cmd::Command> {
        let packed = argv.first().and_then(|n| Self::pack(n));
        if let Some(p) = packed
            && let Some(&(_, c)) = self.0.iter().find(|(k, _)| *k == p)
        {
            return Some(c);
        }
        let found = cmd::lookup_command(argv)?;
        // Not a container (which finds a subcommand by the next argument: CONFIG GET's `get`).
        let alone = found.subcommands.is_empty() && argv.first().is_some_and(|n| n.eq_ignore_ascii_case(found.name.as_bytes()));
        if let Some(p) = packed
            && alone
            && self.0.len() < Self::MAX
        {
            self.0.push((p, found));
        }
        Some(found)
    }
}

/// Commands parsed ahead of the one running.
const BATCH: usize = 64;
/// How many commands ahead a key's slot is fetched (its entry 2 ahead, its value 1 ahead).
const PREFETCH_AHEAD: usize = 4;

/// Asks the host to fetch, for the batch's commands `range`, their key's `stage` (0 the index
/// slot, 1 the entry, 2 the value: [`crate::keyspace::dict`]) in database `db`.
fn prefetch(srv: &Server, db: usize, batch: &[Queued], range: std::ops::Range<usize>, stage: u8, fetch: fn(*const u8)) {
    let (Some(d), Some(items)) = (srv.dbs.get(db), batch.get(range.start..range.end.min(batch.len()))) else { return };
    for q in items.iter().filter(|q| q.key != 0) {
        d.prefetch(q.key, stage, fetch);
    }
}

/// Without the host's prefetch (wasm): reads the batch's keys ahead, stage by stage
/// ([`crate::keyspace::Db::read_ahead`]). Natively, with the prefetch instruction withheld, this
/// took mix b's load from 0.47 s to 0.39 s (the prefetch: 0.36 s).
fn read_ahead(srv: &Server, db: usize, batch: &[Queued]) {
    let Some(d) = srv.dbs.get(db) else { return };
    let mut sink = 0u64;
    for stage in 0..3 {
        for q in batch.iter().filter(|q| q.key != 0) {
            sink ^= d.read_ahead(q.key, stage);
        }
    }
    std::hint::black_box(sink);
}

/// The command loop of `loadSingleAppendOnlyFile`, from file offset `start`.
fn load_commands(srv: &mut Server, filename: &str, src: &mut impl Source, start: usize) -> (AofStatus, u64) {
    let mut client = Client { id: 0, ..Client::default() };
    let mut valid_up_to: u64 = 0;
    let mut valid_before_multi: u64 = 0;
    let mut next = start as u64;
    let mut batch: Vec<Queued> = Vec::new();
    let mut names = SeenNames::default();
    let stop = 'file: loop {
        let (data, base, eof) = src.window();
        let mut pos = usize::try_from(next - base).unwrap_or(usize::MAX);
        let mut argv: Vec<&[u8]> = Vec::new();
        // The batch's arguments, one after the other (they borrow the window).
        let mut flat: Vec<&[u8]> = Vec::new();
        loop {
            // Parse up to BATCH commands ahead, so that their keys can be fetched ahead.
            flat.clear();
            batch.clear();
            let mut parse_at = pos;
            let last = loop {
                if batch.len() == BATCH {
                    break None;
                }
                match parse_command(data, parse_at, eof, &mut argv) {
                    Parsed::Item(end) => {
                        let key = argv.get(1).map_or(0, |k| dict::hash(k));
                        batch.push(Queued { end, first: flat.len(), argc: argv.len(), key });
                        flat.extend_from_slice(&argv);
                        parse_at = end;
                    }
                    other => break Some(other),
                }
            };
            let fetch = srv.config.prefetch;
            match fetch {
                Some(f) => prefetch(srv, client.db, &batch, 0..PREFETCH_AHEAD.min(batch.len()), 0, f),
                None => read_ahead(srv, client.db, &batch),
            }
            for (n, &Queued { end, first, argc, .. }) in batch.iter().enumerate() {
                if let Some(f) = fetch {
                    // Each command's slot, then its entry, then its value, a few commands ahead.
                    prefetch(srv, client.db, &batch, n + PREFETCH_AHEAD..n + PREFETCH_AHEAD + 1, 0, f);
                    prefetch(srv, client.db, &batch, n + 2..n + 3, 1, f);
                    prefetch(srv, client.db, &batch, n + 1..n + 2, 2, f);
                }
                pos = end;
                next = base + pos as u64;
                let argv = flat.get(first..first + argc).unwrap_or_default();
                if argv.is_empty() {
                    continue; // an annotation
                }
                let Some(command) = names.lookup(argv) else {
                    let name = argv.first().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
                    srv.log(LogLevel::Warning, format!("Unknown command '{name}' reading the append only file {filename}"));
                    break 'file Stop::Fatal;
                };
                if !command.arity_ok(argv.len()) {
                    // redis-server 7.0.15 runs the command anyway and crashes; refuse cleanly instead.
                    srv.log(
                        LogLevel::Warning,
                        format!("Wrong number of arguments for '{}' reading the append only file {filename}", command.name),
                    );
                    break 'file Stop::Fatal;
                }
                if command.name == "multi" {
                    valid_before_multi = valid_up_to;
                }
                if client.multi.is_some() && command.name != "exec" {
                    if let Some(m) = client.multi.as_mut() {
                        m.commands.push(argv.iter().map(|a| a.to_vec()).collect());
                    }
                } else if let Outcome::Blocked = cmd::call(srv, &mut client, command, argv) {
                    // A blocking command in an AOF is always its served form; never wait.
                    client.blocked = None;
                }
                if srv.config.aof_load_truncated {
                    valid_up_to = next;
                }
            }
            match last {
                None => {}
                Some(Parsed::End) => {
                    // EOF between commands: fine, unless a MULTI is still open.
                    if client.multi.is_some() {
                        srv.log(LogLevel::Warning, format!("Revert incomplete MULTI/EXEC transaction in AOF file {filename}"));
                        valid_up_to = valid_before_multi;
                        break 'file Stop::UnexpectedEof;
                    }
                    return (AofStatus::Ok, base + pos as u64);
                }
                Some(Parsed::Stop(stop)) => break 'file stop,
                Some(_) => break,
            }
        }
        if let Err(e) = src.refill(srv, next) {
            srv.log(LogLevel::Warning, format!("Unrecoverable error reading the append only file {filename}: {}", e.strerror()));
            break Stop::Fatal;
        }
    };
    match stop {
        Stop::Fatal => (AofStatus::Failed, 0),
        Stop::Format => {
            srv.log(
                LogLevel::Warning,
                format!(
                    "Bad file format reading the append only file {filename}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                ),
            );
            (AofStatus::Failed, 0)
        }
        Stop::UnexpectedEof => {
            if srv.config.aof_load_truncated {
                srv.log(LogLevel::Warning, format!("!!! Warning: short read while loading the AOF file {filename}!!!"));
                srv.log(LogLevel::Warning, format!("!!! Truncating the AOF {filename} at offset {valid_up_to} !!!"));
                srv.log(LogLevel::Warning, format!("AOF {filename} loaded anyway because aof-load-truncated is enabled"));
                return (AofStatus::Truncated, valid_up_to);
            }
            srv.log(
                LogLevel::Warning,
                format!(
                    "Unexpected end of file reading the append only file {filename}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
                ),
            );
            (AofStatus::Failed, 0)
        }
    }
}

/// Loads the file at `path` (named `filename` in messages): an RDB (base or preamble) is read
/// whole, a RESP file a window at a time ([`Streamed`]). Returns the status, the offset to
/// truncate at, and the file's size; `Err` if it cannot be read at all.
fn load_file(srv: &mut Server, filename: &str, path: &str) -> crate::storage::Result<(AofStatus, u64, u64)> {
    load_file_in_windows(srv, filename, path, WINDOW)
}

fn load_file_in_windows(srv: &mut Server, filename: &str, path: &str, window: usize) -> crate::storage::Result<(AofStatus, u64, u64)> {
    let len = srv.storage.len(path)?;
    let mut src = Streamed { path: path.to_string(), len, buf: Vec::new(), filled: 0, base: 0, window };
    src.refill(srv, 0)?;
    if len == 0 || src.window().0.starts_with(b"REDIS") {
        let data = srv.storage.read_all(path)?;
        let (status, valid) = load_single_append_only_file(srv, filename, &data);
        return Ok((status, valid, data.len() as u64));
    }
    let (status, valid) = load_commands(srv, filename, &mut src, 0);
    Ok((status, valid, len))
}

/// `loadAppendOnlyFiles`: every file of the manifest, with the file-level rules. Truncation of a
/// cut-off file happens here, in storage, as Redis's `truncate(2)` does (even for a file that is
/// not the last one, just before refusing to start).
pub fn load_append_only_files(srv: &mut Server, am: &AofManifest) -> AofStatus {
    if am.is_empty() {
        return AofStatus::NotExist;
    }
    let dir = srv.config.appenddirname.clone();
    let files: Vec<String> = am.load_order().map(|ai| ai.file_name.clone()).collect();
    let mut total: u64 = 0;
    for f in &files {
        match srv.storage.len(&join(&dir, f)) {
            Ok(n) => total += n,
            Err(e) => {
                srv.log(LogLevel::Warning, format!("Unable to obtain the AOF file {f} length. stat: {}", e.strerror()));
                return AofStatus::Failed;
            }
        }
    }
    if total == 0 {
        return AofStatus::Empty;
    }
    srv.loading = true;
    srv.aof.loading_total_bytes = total;
    srv.aof.loading_loaded_bytes = 0;
    let mut base_size = 0;
    let mut status = AofStatus::Ok;
    for (i, f) in files.iter().enumerate() {
        let is_base = i == 0 && am.base.is_some();
        let last_file = i + 1 == files.len();
        let path = join(&dir, f);
        let started = load_time::started(srv.config.load_clock);
        let (mut ret, valid_up_to, size) = match load_file(srv, f, &path) {
            Ok(r) => r,
            Err(e) => {
                srv.log(LogLevel::Warning, format!("Fatal error: can't open the append log file {f} for reading: {}", e.strerror()));
                status = AofStatus::OpenErr;
                break;
            }
        };
        if is_base {
            base_size = size;
        }
        srv.aof.loading_loaded_bytes += size;
        if ret == AofStatus::Truncated
            && let Err(e) = srv.storage.truncate(&path, valid_up_to)
        {
            srv.log(LogLevel::Warning, format!("Error truncating the AOF file {f}: {}", e.strerror()));
            ret = AofStatus::Failed;
        }
        if ret == AofStatus::Ok || (ret == AofStatus::Truncated && last_file) {
            let what = format!("DB loaded from {} file {f}", if is_base { "base" } else { "incr" });
            srv.log(LogLevel::Notice, load_time::line(&what, srv.config.load_clock, started));
        }
        if ret == AofStatus::Empty && !is_base {
            ret = AofStatus::Ok;
        }
        if ret == AofStatus::Truncated && !last_file {
            srv.log(LogLevel::Warning, "Fatal error: the truncated file is not the last file".into());
            ret = AofStatus::Failed;
        }
        status = ret;
        if matches!(ret, AofStatus::OpenErr | AofStatus::Failed) {
            break;
        }
    }
    srv.loading = false;
    if matches!(status, AofStatus::Ok | AofStatus::Truncated | AofStatus::Empty) {
        srv.aof.current_size = srv.aof_files_size(am);
        srv.aof.rewrite_base_size = base_size;
    }
    status
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn srv() -> Server {
        Server::new(Config::default(), 1_700_000_000_000)
    }

    /// The names seen find what the command table finds, in any spelling, long or short, and a
    /// container's subcommand is never taken from them.
    #[test]
    fn seen_names_find_what_the_table_finds() {
        let mut names = SeenNames::default();
        let argvs: [&[&[u8]]; 9] = [
            &[b"SET", b"k", b"v"],
            &[b"set", b"k", b"v"],
            &[b"SET", b"k", b"v"],
            &[b"SETX", b"k"],
            &[b"georadiusbymember_ro", b"k", b"m", b"1", b"km"],
            &[b"CONFIG", b"GET", b"x"],
            &[b"CONFIG", b"SET", b"x", b"y"],
            &[b"", b"k"],
            &[b"se", b"k"],
        ];
        for _ in 0..2 {
            for argv in argvs {
                let want = cmd::lookup_command(argv).map(|c| c.name);
                assert_eq!(names.lookup(argv).map(|c| c.name), want, "{argv:?}");
            }
        }
        assert_eq!(names.0.len(), 2, "set and SET; no container, no long name, nothing unknown");
    }

    fn resp(cmds: &[&[&str]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            crate::resp::encode_command(&mut out, c);
        }
        out
    }

    #[test]
    fn loads_commands_and_skips_annotations() {
        let mut s = srv();
        let mut data = b"#TS:1700000000\r\n".to_vec();
        data.extend(resp(&[&["SELECT", "0"], &["MULTI"], &["EXEC"]]));
        let (st, _) = load_single_append_only_file(&mut s, "f", &data);
        assert_eq!(st, AofStatus::Ok);
    }

    /// An RDB base whose function library cannot be created fails the load, with `rdbLoadRio`'s
    /// line logged once.
    #[test]
    fn a_bad_library_in_the_base_fails_the_load_logged_once() {
        let code = b"#!lua name=lib\nthis is not lua(";
        let mut rdb = b"REDIS0010".to_vec();
        rdb.push(crate::rdb::RDB_OPCODE_FUNCTION2);
        rdb.push(u8::try_from(code.len()).unwrap());
        rdb.extend(code);
        rdb.push(crate::rdb::RDB_OPCODE_EOF);
        rdb.extend([0; 8]); // a zero checksum: not checked
        let mut s = srv();
        let (st, _) = load_single_append_only_file(&mut s, "appendonly.aof.1.base.rdb", &rdb);
        assert_eq!(st, AofStatus::Failed);
        let lines: Vec<String> = s.log_lines().map(|l| l.text.clone()).collect();
        assert_eq!(lines.iter().filter(|l| l.starts_with("Failed loading library, ")).count(), 1, "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with("Error reading the RDB base file")), "{lines:?}");
    }

    /// An empty collection in the base is skipped, not refused, and logged as `rdbLoadRio` does.
    #[test]
    fn an_empty_key_in_the_base_is_skipped_and_logged() {
        // An empty set "e" (type 2, no members), then "k" = "v"; a zero checksum.
        let mut rdb = b"REDIS0010".to_vec();
        rdb.extend([2, 1, b'e', 0, 0, 1, b'k', 1, b'v', crate::rdb::RDB_OPCODE_EOF]);
        rdb.extend([0; 8]);
        let mut s = srv();
        let (st, _) = load_single_append_only_file(&mut s, "appendonly.aof.1.base.rdb", &rdb);
        assert_eq!(st, AofStatus::Ok);
        let lines: Vec<String> = s.log_lines().map(|l| l.text.clone()).collect();
        let at = |text: &str| lines.iter().position(|l| l == text).unwrap_or_else(|| panic!("{text:?} not in {lines:?}"));
        assert!(
            at("rdbLoadObject skipping empty key: e") < at("Done loading RDB, keys loaded: 1, keys expired: 0, empty keys skipped: 1.")
        );
        assert_eq!(s.dbs[0].len(), 1);
    }

    #[test]
    fn truncated_tail_and_unfinished_multi() {
        let full = resp(&[&["SELECT", "0"], &["SELECT", "1"]]);
        for cut in 1..full.len() {
            let mut s = srv();
            let (st, valid) = load_single_append_only_file(&mut s, "f", &full[..cut]);
            if cut == 23 {
                assert_eq!(st, AofStatus::Ok, "a cut between two commands is a complete file");
                continue;
            }
            assert_eq!(st, AofStatus::Truncated, "cut {cut}");
            assert_eq!(valid, if cut < 23 { 0 } else { 23 }, "cut {cut}");
        }
        let mut data = resp(&[&["SELECT", "0"], &["MULTI"], &["SELECT", "1"]]);
        let mut s = srv();
        let (st, valid) = load_single_append_only_file(&mut s, "f", &data);
        assert_eq!((st, valid), (AofStatus::Truncated, 23));
        assert!(s.log_lines().any(|l| l.text.starts_with("Revert incomplete MULTI/EXEC transaction")));
        data.extend_from_slice(b"GARBAGE\r\n");
        let (st, _) = load_single_append_only_file(&mut srv(), "f", &data);
        assert_eq!(st, AofStatus::Failed);
    }

    /// Read a window at a time (down to one byte), a file loads exactly as read whole: the same
    /// status, truncation offset, data and log, for every cut of a file with annotations,
    /// MULTI/EXEC, a long argument and a long annotation line.
    #[test]
    fn windows_load_as_the_whole_file_does() {
        use crate::storage::{OpenMode, Storage};
        let mut full = b"#TS:1700000000\r\n".to_vec();
        full.extend(resp(&[&["SELECT", "0"], &["SET", "k", &"v".repeat(3000)], &["MULTI"], &["RPUSH", "l", "a", "b"], &["EXEC"]]));
        full.extend(format!("#{}\r\n", "x".repeat(1500)).as_bytes());
        full.extend(resp(&[&["HSET", "h", "f", "1"], &["MULTI"], &["INCR", "n"]]));
        let state =
            |s: &Server| (crate::keyspace::digest::dataset_digest(&s.dbs), s.log_lines().map(|l| l.text.clone()).collect::<Vec<_>>());
        for cut in (0..=full.len()).step_by(7).chain([full.len() - 1, full.len()]) {
            let data = &full[..cut];
            let mut whole = srv();
            let (st, valid) = load_single_append_only_file(&mut whole, "f", data);
            for window in [1, 2, 5, 64, 1000, 1 << 20] {
                let mut s = srv();
                // The fetching ahead runs too (a fetch that does nothing: only a hint).
                s.config.prefetch = Some(|_| {});
                s.storage.open("f", OpenMode::Truncate).unwrap();
                s.storage.write_at("f", 0, data).unwrap();
                let (st2, valid2, size) = load_file_in_windows(&mut s, "f", "f", window).unwrap();
                assert_eq!((st2, valid2, size), (st, valid, cut as u64), "cut {cut} window {window}");
                assert_eq!(state(&s), state(&whole), "cut {cut} window {window}");
            }
        }
    }

    #[test]
    fn unknown_command_is_fatal() {
        let mut s = srv();
        let (st, _) = load_single_append_only_file(&mut s, "f", &resp(&[&["FOOBAR", "a"]]));
        assert_eq!(st, AofStatus::Failed);
        assert!(s.log_lines().any(|l| l.text == "Unknown command 'FOOBAR' reading the append only file f"));
    }

    #[test]
    fn truncated_not_allowed_when_configured() {
        let mut s = srv();
        s.config.aof_load_truncated = false;
        let full = resp(&[&["SELECT", "0"]]);
        let (st, _) = load_single_append_only_file(&mut s, "f", &full[..full.len() - 1]);
        assert_eq!(st, AofStatus::Failed);
        assert!(s.log_lines().any(|l| l.text.starts_with("Unexpected end of file reading the append only file f.")));
    }
}
