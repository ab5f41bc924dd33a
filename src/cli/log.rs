//! The server log, in Redis's format (`serverLogRaw`):
//!
//! ```text
//! 28886:M 23 Nov 2026 19:54:20.123 * Ready to accept connections
//! │     │ │                        │ └ message
//! │     │ │                        └ level: `.` debug, `-` verbose, `*` notice, `#` warning
//! │     │ └ local time, milliseconds
//! │     └ role: `C` before the server is initialised (Redis prints `C` until `server.pid` is
//! │       set), `M` for the master afterwards
//! └ pid
//! ```
//!
//! Lines go to stdout, or are appended to `logfile`. Like Redis, the file is opened for each line,
//! so that a log rotation (rename + new file) needs no signal.

use std::io::Write;

use aof_lab::server::LogLevel;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl Level {
    /// `loglevel` in redis.conf spelling.
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Some(Level::Debug),
            "verbose" => Some(Level::Verbose),
            "notice" => Some(Level::Notice),
            "warning" => Some(Level::Warning),
            _ => None,
        }
    }
    fn mark(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

pub struct Logger {
    pub level: Level,
    /// Empty: stdout (Redis's `logfile ""`).
    pub file: String,
    pid: u32,
    /// `C` until the server is initialised, then `M`.
    pub role: char,
}

impl Logger {
    pub fn new(level: Level, file: String) -> Logger {
        Logger { level, file, pid: std::process::id(), role: 'C' }
    }

    pub fn enabled(&self, level: Level) -> bool {
        level >= self.level
    }

    pub fn log(&self, level: Level, msg: &str) {
        self.log_at(level, now_ms(), msg);
    }

    /// A line stamped with another time: the engine's log lines carry the engine's time.
    pub fn log_at(&self, level: Level, time_ms: i64, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        let line = format!("{}:{} {} {} {}\n", self.pid, self.role, timestamp(time_ms), level.mark(), msg);
        self.write_raw(&line);
    }

    /// The engine's own log (AOF start-up, rewrites, write errors), in the same format.
    pub fn engine_lines(&self, lines: Vec<aof_lab::server::LogLine>) {
        for l in lines {
            let level = match l.level {
                LogLevel::Debug => Level::Debug,
                LogLevel::Verbose => Level::Verbose,
                LogLevel::Notice => Level::Notice,
                LogLevel::Warning => Level::Warning,
            };
            self.log_at(level, l.time_ms, &l.text);
        }
    }

    /// What Redis's signal handler writes (`serverLogFromHandler`): no level, no local time,
    /// `pid:signal-handler (unixtime) message`.
    pub fn log_from_handler(&self, msg: &str) {
        self.write_raw(&format!("{}:signal-handler ({}) {}\n", self.pid, now_ms() / 1000, msg));
    }

    fn write_raw(&self, line: &str) {
        // A log that cannot be written is not a reason to stop serving (Redis ignores it too).
        if self.file.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        } else if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&self.file) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `%d %b %Y %H:%M:%S.%03d` in local time, as `serverLogRaw` prints it.
fn timestamp(time_ms: i64) -> String {
    let (secs, millis) = (time_ms.div_euclid(1000), time_ms.rem_euclid(1000));
    let secs = secs as libc::time_t;
    // SAFETY: localtime_r only writes the `tm` we own; a zeroed `tm` is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("{secs}.{millis:03}");
    }
    let month = MONTHS.get(tm.tm_mon as usize).copied().unwrap_or("???");
    format!("{:02} {} {} {:02}:{:02}:{:02}.{:03}", tm.tm_mday, month, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        let t = timestamp(1_795_464_995_123);
        // "23 Nov 2026 19:54:20.123"
        assert_eq!(t.len(), 24, "{t}");
        assert_eq!(&t[2..3], " ");
        assert_eq!(&t[20..], ".123");
    }

    #[test]
    fn levels() {
        assert_eq!(Level::parse("VERBOSE"), Some(Level::Verbose));
        assert_eq!(Level::parse("loud"), None);
        let l = Logger::new(Level::Notice, String::new());
        assert!(l.enabled(Level::Warning) && l.enabled(Level::Notice) && !l.enabled(Level::Verbose));
    }
}
