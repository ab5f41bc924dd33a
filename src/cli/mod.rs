//! The native `aof-lab` command line: `aof-lab <command> [options]`.
//!
//! - `serve`: the engine as a RESP2 / RESP3 server on a TCP port, started like redis-server
//!   (see [`serve`] for the event loop and [`args`] for the options).

pub mod anet;
pub mod args;
pub mod conn;
pub mod log;
pub mod serve;
pub mod signals;
pub mod tools;

use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::Instant;

/// The host's monotonic clock, lent to the engine to time its loads
/// ([`aof_lab::load_time::LoadClock`]): microseconds since the first reading.
pub fn monotonic_us() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    u64::try_from(ORIGIN.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The host's prefetch instruction, lent to the engine's AOF loader
/// ([`aof_lab::Config::prefetch`]): asks the CPU to bring the cache line at `addr` in. Only a
/// hint: it never faults, whatever the address.
pub fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing architecturally and cannot fault; SSE is part of the
    // x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

const USAGE: &str = "\
Usage: aof-lab <command> [options]

Commands:
  serve [/path/to/redis.conf] [--port 6379] [--bind 127.0.0.1] [--dir DIR] [--logfile FILE]
        [--<redis.conf option> <value> ...]
                  run the engine as a RESP2 / RESP3 server for redis-cli, redis-benchmark and client
                  libraries; options are redis-server's (e.g. --appendonly yes --appendfsync always)
  check [--fix|--truncate-to-timestamp T] <file.manifest|file.aof>
                  verify an AOF like redis-check-aof 7.0 (same messages and exit codes)
  inspect [--json] <file.manifest|file.aof>
                  a byte-level dump: offset, length and command of every record, per file
  load <dir|file.manifest|file.aof>
                  load like redis-server at start; print the load log and keys per db

  aof-lab -v | --version
";

/// Runs the command line; the result is the process exit status.
pub fn run(args: &[OsString]) -> i32 {
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return 1;
    };
    match command.to_str() {
        Some("serve") => serve_command(rest),
        Some("-v" | "--version") => {
            println!("{}", version());
            0
        }
        Some("-h" | "--help" | "help") => {
            eprint!("{USAGE}");
            1
        }
        Some("check") => tools::check_command(rest),
        Some("inspect") => tools::inspect_command(rest),
        Some("load") => tools::load_command(rest),
        _ => {
            eprintln!("aof-lab: unknown command '{}'\n", command.to_string_lossy());
            eprint!("{USAGE}");
            1
        }
    }
}

fn version() -> String {
    format!("aof-lab v={} (Redis {} compatible) bits={}", env!("CARGO_PKG_VERSION"), args::REDIS_VERSION, usize::BITS)
}

fn serve_command(rest: &[OsString]) -> i32 {
    match rest.first().and_then(|a| a.to_str()) {
        Some("-v" | "--version") => {
            println!("{}", version());
            return 0;
        }
        // redis-server's usage() also exits with 1.
        Some("-h" | "--help") => {
            eprint!("{USAGE}");
            return 1;
        }
        _ => {}
    }
    match args::parse_serve_args(rest) {
        Ok(opts) => serve::main(opts),
        Err(e) if e.at.is_none() => {
            // Redis logs this one (a config file that cannot be opened) instead of the banner.
            log::Logger::new(log::Level::Warning, String::new()).log(log::Level::Warning, &e.msg);
            1
        }
        Err(e) => {
            eprint!("{e}");
            1
        }
    }
}
