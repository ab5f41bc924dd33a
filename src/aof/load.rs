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
    let mut v: i64 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
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
        let read = crate::rdb::read_rdb(data, &mut srv.dbs)
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
                if info.checksum_disabled {
                    srv.log(LogLevel::Warning, "RDB file was saved with checksum disabled: no check performed.".into());
                }
                srv.log(LogLevel::Notice, format!("Done loading RDB, keys loaded: {}, keys expired: 0.", info.keys));
                srv.rdb.last_load_keys_loaded = info.keys;
                srv.rdb.last_load_keys_expired = 0;
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

    let mut client = Client { id: 0, ..Client::default() };
    let mut valid_up_to: usize = 0;
    let mut valid_before_multi: usize = 0;
    let mut argv: Vec<&[u8]> = Vec::new();
    let stop = loop {
        let Some(line) = fgets(data, pos) else {
            // EOF between commands: fine, unless a MULTI is still open.
            if client.multi.is_some() {
                srv.log(LogLevel::Warning, format!("Revert incomplete MULTI/EXEC transaction in AOF file {filename}"));
                valid_up_to = valid_before_multi;
                break Stop::UnexpectedEof;
            }
            return (AofStatus::Ok, pos as u64);
        };
        pos += line.len();
        match line.first() {
            Some(b'#') => continue,
            Some(b'*') => {}
            _ => break Stop::Format,
        }
        if line.len() == 1 {
            break Stop::UnexpectedEof; // "*" then EOF: a read error at EOF
        }
        let argc = c_atol(line.get(1..).unwrap_or_default());
        if argc < 1 {
            break Stop::Format;
        }
        argv.clear();
        let mut short = false;
        let mut bad = false;
        for _ in 0..argc {
            let Some(l) = fgets(data, pos) else {
                short = true;
                break;
            };
            pos += l.len();
            if l.first() != Some(&b'$') {
                bad = true;
                break;
            }
            let len = c_atol(l.get(1..).unwrap_or_default());
            if len < 0 {
                bad = true;
                break;
            }
            // A length beyond the address space (wasm32's usize is 32 bits) cannot be in the
            // file either: the file ends first, as for Redis's fread.
            let Some(arg) = usize::try_from(len).ok().and_then(|len| pos.checked_add(len)).and_then(|end| data.get(pos..end)) else {
                short = true;
                break;
            };
            pos += arg.len();
            // The CRLF after the payload is skipped without being checked.
            if data.len() - pos < 2 {
                short = true;
                break;
            }
            pos += 2;
            argv.push(arg);
        }
        if bad {
            break Stop::Format;
        }
        if short {
            break Stop::UnexpectedEof;
        }
        let Some(command) = cmd::lookup_command(&argv) else {
            let name = argv.first().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
            srv.log(LogLevel::Warning, format!("Unknown command '{name}' reading the append only file {filename}"));
            break Stop::Fatal;
        };
        if !command.arity_ok(argv.len()) {
            // redis-server 7.0.15 runs the command anyway and crashes; refuse cleanly instead.
            srv.log(LogLevel::Warning, format!("Wrong number of arguments for '{}' reading the append only file {filename}", command.name));
            break Stop::Fatal;
        }
        if command.name == "multi" {
            valid_before_multi = valid_up_to;
        }
        if client.multi.is_some() && command.name != "exec" {
            if let Some(m) = client.multi.as_mut() {
                m.commands.push(argv.iter().map(|a| a.to_vec()).collect());
            }
        } else if let Outcome::Blocked = cmd::call(srv, &mut client, command, &argv) {
            // A blocking command in an AOF is always its served form; never wait.
            client.blocked = None;
        }
        if srv.config.aof_load_truncated {
            valid_up_to = pos;
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
                return (AofStatus::Truncated, valid_up_to as u64);
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
        let data = match srv.storage.read_all(&path) {
            Ok(d) => d,
            Err(e) => {
                srv.log(LogLevel::Warning, format!("Fatal error: can't open the append log file {f} for reading: {}", e.strerror()));
                status = AofStatus::OpenErr;
                break;
            }
        };
        if is_base {
            base_size = data.len() as u64;
        }
        let (mut ret, valid_up_to) = load_single_append_only_file(srv, f, &data);
        srv.aof.loading_loaded_bytes += data.len() as u64;
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
