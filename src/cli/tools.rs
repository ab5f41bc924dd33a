//! The AOF tools: `check` (redis-check-aof 7.0), `inspect` (a byte-level dump) and `load` (load
//! a directory, a manifest or a file and report what it holds).

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;

use aof_lab::Config;
use aof_lab::aof::check::{self, Mode};
use aof_lab::aof::inspect;
use aof_lab::server::Server;
use aof_lab::storage::FsStorage;

/// Splits `path` into (directory, file name) for a storage rooted at the directory.
fn split(path: &str) -> (String, String) {
    let p = Path::new(path);
    let dir = p.parent().map(|d| d.to_string_lossy().into_owned()).filter(|d| !d.is_empty()).unwrap_or_else(|| ".".into());
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (dir, name)
}

fn strings(args: &[OsString]) -> Vec<String> {
    args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
}

/// `aof-lab check [--fix | --truncate-to-timestamp T] <manifest | file>`.
pub fn check_command(args: &[OsString]) -> i32 {
    let args = strings(args);
    let (mode, path) = match args.as_slice() {
        [p] => (Mode::Check, p),
        [flag, p] if flag == "--fix" => (Mode::Fix, p),
        // strtol with its end checked: leading blanks pass, an empty string is 0; and 0 is no
        // timestamp at all (the real tool tests `to_timestamp &&`): a plain check.
        [flag, ts, p] if flag == "--truncate-to-timestamp" => match if ts.is_empty() { Ok(0) } else { ts.trim_start().parse::<i64>() } {
            Ok(0) => (Mode::Check, p),
            Ok(t) => (Mode::TruncateToTimestamp(t), p),
            Err(_) => {
                println!("Invalid timestamp, aborting...");
                return 1;
            }
        },
        _ => {
            println!("{}", check::usage("aof-lab check"));
            return 1;
        }
    };
    // Rooted at the working directory so that names print exactly as given, like the real tool.
    let mut storage = match FsStorage::new(".") {
        Ok(s) => s,
        Err(e) => {
            println!("Cannot open file {path}: {}, aborting...", e.strerror());
            return 1;
        }
    };
    // The prompt must be on screen before the answer is read: print what came before it.
    let printed = std::cell::Cell::new(0);
    let mut confirm = |so_far: &str| {
        print!("{}", &so_far[printed.get()..]);
        std::io::stdout().flush().ok();
        printed.set(so_far.len());
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok();
        line.trim_start().to_ascii_lowercase().starts_with('y')
    };
    let report = check::check(&mut storage, path, mode, &mut confirm);
    print!("{}", &report.output[printed.get()..]);
    std::io::stdout().flush().ok();
    report.exit_code
}

/// `aof-lab inspect [--json] <manifest | file>`.
pub fn inspect_command(args: &[OsString]) -> i32 {
    let args = strings(args);
    let (json, path) = match args.as_slice() {
        // Asked for: the usage, not a file named --help.
        [h] if h == "--help" || h == "-h" => {
            println!("Usage: aof-lab inspect [--json] <file.manifest|file.aof>");
            return 0;
        }
        [p] => (false, p),
        [flag, p] if flag == "--json" => (true, p),
        _ => {
            eprintln!("Usage: aof-lab inspect [--json] <file.manifest|file.aof>");
            return 1;
        }
    };
    let (dir, name) = split(path);
    let mut storage = match FsStorage::new(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            return 1;
        }
    };
    // Written a record at a time, one file in memory at a time: a large AOF is not held as
    // records (each with its arguments copied) nor as one output string.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut first = true;
    let mut written = Ok(());
    let walked = inspect::dump_each(&mut storage, &name, |head, data, preamble| {
        if written.is_ok() {
            written = if json {
                inspect::write_json(&mut out, head, data, preamble, first)
            } else {
                inspect::write_text(&mut out, head, data, preamble)
            };
        }
        first = false;
    });
    if let Err(e) = walked {
        eprintln!("{e}");
        return 1;
    }
    if json && written.is_ok() {
        written = writeln!(out, "{}", if first { "[]" } else { "]" });
    }
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("inspect: {e}");
            1
        }
    }
}

/// `aof-lab load <dir | manifest | file>`: loads like redis-server would at start, without
/// opening anything for writing (a cut-off tail is still truncated, as Redis does), then prints
/// the load log, the keys per db and the time taken.
pub fn load_command(args: &[OsString]) -> i32 {
    let args = strings(args);
    let [path] = args.as_slice() else {
        eprintln!("Usage: aof-lab load <dir | file.manifest | file.aof>");
        return 1;
    };
    if path == "--help" || path == "-h" {
        println!("Usage: aof-lab load <dir | file.manifest | file.aof>");
        return 0;
    }
    let p = Path::new(path);
    let mut config = Config { appendonly: true, ..Config::default() };
    // A directory is Redis's `dir`; a manifest names its AOF directory and base name; a single
    // file is loaded on its own, as a legacy appendonly.aof.
    let (root, single) = if p.is_dir() {
        (path.clone(), None)
    } else {
        let (dir, name) = split(path);
        if name.ends_with(".manifest") {
            let aof_dir = Path::new(&dir);
            config.appenddirname = aof_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            config.appendfilename = name.trim_end_matches(".manifest").to_string();
            let root = aof_dir.parent().map(|d| d.to_string_lossy().into_owned()).filter(|d| !d.is_empty()).unwrap_or_else(|| ".".into());
            (root, None)
        } else {
            config.appenddirname = String::new();
            (dir, Some(name))
        }
    };
    let storage = match FsStorage::new(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            return 1;
        }
    };
    let started = std::time::Instant::now();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut srv = Server::new(Config { load_clock: Some(super::monotonic_us), prefetch: Some(super::prefetch), ..config }, now);
    srv.storage = Box::new(storage);
    let result = srv.aof_load_only(single);
    let elapsed = started.elapsed();
    for line in srv.take_new_log_lines() {
        println!("{} {}", line.level.mark(), line.text);
    }
    let ok = match result {
        Ok(status) => {
            println!("status: {status:?}");
            true
        }
        Err(lines) => {
            for l in lines {
                println!("# {l}");
            }
            println!("status: failed (redis-server would exit with status 1)");
            false
        }
    };
    let mut total = 0;
    for (i, db) in srv.dbs.iter().enumerate().filter(|(_, db)| !db.is_empty()) {
        println!("db{i}: keys={} expires={}", db.len(), db.expires_len());
        total += db.len();
    }
    println!("keys: {total}");
    println!("loaded in {:.3} seconds", elapsed.as_secs_f64());
    if ok { 0 } else { 1 }
}
