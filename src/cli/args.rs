//! The `serve` command line, read the way redis-server reads its own.
//!
//! redis-server turns `--name value ...` arguments into configuration-file text (`name "value"`,
//! one directive per line, appended after an optional config file) and parses that text as a
//! config file. Errors therefore name a *line* of that virtual file:
//!
//! ```text
//! $ aof-lab serve --port 7000 --foo bar
//!
//! *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
//! Reading the configuration file, at line 3
//! >>> 'foo "bar"'
//! Bad directive or wrong number of arguments
//! ```
//!
//! Every setting goes through [`Config::set`] with its redis.conf name, so the command line, a
//! config file and CONFIG SET share one table; the process then reads `logfile` and `loglevel`
//! back from it.
//!
//! Compared with redis-server: no `include`, `rename-command`, `user`, `loadmodule`, and no
//! config from stdin (`-`).

use std::ffi::OsString;

use aof_lab::Config;
use aof_lab::config::table;
use aof_lab::resp::{repr, split_args};

use super::log::Level;

/// `REDIS_VERSION`, which the error banner names.
pub const REDIS_VERSION: &str = "7.0.15";

/// Accepted and ignored with a warning, as in 7.0's `deprecated_configs`.
const DEPRECATED: &[&str] = &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

#[derive(Debug)]
pub struct ServeOptions {
    pub config: Config,
    pub logfile: String,
    pub loglevel: Level,
    /// No argument at all: Redis then warns that it runs on the default config.
    pub no_arguments: bool,
    /// Warnings to log once the logger exists (deprecated directives).
    pub warnings: Vec<String>,
}

/// `loadServerConfigFromString`'s `loaderr`.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the virtual config file, and its text (trimmed). `None` when the file
    /// itself could not be read: Redis then logs `msg` as a warning instead of the banner.
    pub at: Option<(usize, String)>,
    pub msg: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***")?;
        if let Some((line, text)) = &self.at {
            writeln!(f, "Reading the configuration file, at line {line}")?;
            writeln!(f, ">>> '{text}'")?;
        }
        writeln!(f, "{}", self.msg)
    }
}

fn bytes(s: &OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        s.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().as_bytes().to_vec()
    }
}

/// The options part of redis-server's `main()`: arguments → config text.
pub fn options_text(args: &[Vec<u8>]) -> Vec<u8> {
    let mut options = Vec::new();
    // After an option name that stands alone (`--port`), the next argument is its value even if
    // it starts with `--`.
    let mut handled_last_config_arg = true;
    for (j, a) in args.iter().enumerate() {
        let last = j + 1 == args.len();
        if handled_last_config_arg && a.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(a.get(2..).unwrap_or_default());
            options.push(b' ');
            let words = split_args(a).map_or(0, |v| v.len());
            if words == 1 {
                handled_last_config_arg = false;
                let is_save = a.eq_ignore_ascii_case(b"--save");
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with(b"--"));
                // `--save --port 7000` and a trailing `--save` mean `save ""` (pre-7.0 behaviour
                // that generated command lines rely on).
                if is_save && (last || next_is_option) {
                    options.extend_from_slice(b"\"\"");
                    handled_last_config_arg = true;
                }
            } else {
                // `"--port 6380"` as one argument carries its own value.
                handled_last_config_arg = true;
            }
        } else {
            options.push(b'"');
            options.extend_from_slice(repr(a).as_bytes());
            options.extend_from_slice(b"\" ");
            handled_last_config_arg = true;
        }
    }
    options
}

/// Parses `aof-lab serve [configfile] [--name value ...]`.
pub fn parse_serve_args(args: &[OsString]) -> Result<ServeOptions, ConfigError> {
    let args: Vec<Vec<u8>> = args.iter().map(bytes).collect();
    let mut rest: &[Vec<u8>] = &args;
    let mut text = Vec::new();
    if let Some(first) = args.first().filter(|a| !a.starts_with(b"-")) {
        let path = String::from_utf8_lossy(first).into_owned();
        match std::fs::read(&path) {
            Ok(content) => text = content,
            Err(e) => {
                return Err(ConfigError { at: None, msg: format!("Fatal error, can't open config file '{path}': {}", strerror(&e)) });
            }
        }
        rest = args.get(1..).unwrap_or_default();
    }
    text.push(b'\n');
    text.extend_from_slice(&options_text(rest));
    let mut opts = ServeOptions {
        config: Config::default(),
        logfile: String::new(),
        loglevel: Level::Notice,
        no_arguments: args.is_empty(),
        warnings: Vec::new(),
    };
    load_config_from_string(&text, &mut opts)?;
    // The process reads its own two settings back from the table, so that CONFIG GET shows them.
    opts.logfile = opts.config.get("logfile").unwrap_or_default();
    opts.loglevel = opts.config.get("loglevel").as_deref().and_then(Level::parse).unwrap_or(Level::Notice);
    Ok(opts)
}

/// `loadServerConfigFromString`.
fn load_config_from_string(text: &[u8], opts: &mut ServeOptions) -> Result<(), ConfigError> {
    for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
        let line = trim(raw);
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let fail = |msg: &str| ConfigError { at: Some((i + 1, String::from_utf8_lossy(line).into_owned())), msg: msg.to_string() };
        let Some(argv) = split_args(line) else {
            return Err(fail("Unbalanced quotes in configuration line"));
        };
        let Some((name, values)) = argv.split_first() else {
            continue;
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let values: Vec<String> = values.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
        apply(&name, &values, opts).map_err(|msg| fail(&msg))?;
    }
    Ok(())
}

fn apply(name: &str, values: &[String], opts: &mut ServeOptions) -> Result<(), String> {
    if let Some(entry) = table::lookup(name.as_bytes()) {
        let value = if entry.param.flags & table::MULTI_ARG != 0 {
            // `--save 900 1 300 10` and `--save "900 1 300 10"` mean the same.
            values.join(" ")
        } else {
            match values {
                [v] => v.clone(),
                _ => return Err("wrong number of arguments".to_string()),
            }
        };
        return opts.config.set(name, &value, true);
    }
    if DEPRECATED.contains(&name) {
        opts.warnings.push(format!("Configuration argument '{name}' is deprecated and will be ignored"));
        return Ok(());
    }
    Err("Bad directive or wrong number of arguments".to_string())
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(c)).map_or(start, |p| p + 1);
    b.get(start..end).unwrap_or_default()
}

/// The C `strerror` text of an I/O error, without Rust's ` (os error N)` suffix.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }
    fn err(v: &[&str]) -> String {
        parse_serve_args(&os(v)).unwrap_err().to_string()
    }

    #[test]
    fn options_become_config_lines() {
        let text = options_text(&[b"--port".to_vec(), b"7000".to_vec(), b"--save".to_vec(), b"--appendonly".to_vec(), b"yes".to_vec()]);
        assert_eq!(String::from_utf8(text).unwrap(), "port \"7000\" \nsave \"\"\nappendonly \"yes\" ");
        let text = options_text(&[b"--save".to_vec(), b"900".to_vec(), b"1".to_vec(), b"--port".to_vec(), b"--x".to_vec()]);
        assert_eq!(String::from_utf8(text).unwrap(), "save \"900\" \"1\" \nport \"--x\" ");
    }

    #[test]
    fn applies_settings() {
        let o =
            parse_serve_args(&os(&["--port", "7001", "--appendonly", "yes", "--appendfsync", "always", "--loglevel", "verbose"])).unwrap();
        assert_eq!(o.config.port, 7001);
        assert!(o.config.appendonly);
        assert_eq!(o.config.appendfsync, aof_lab::AppendFsync::Always);
        assert_eq!(o.loglevel, Level::Verbose);
        assert!(!o.no_arguments);
        assert!(parse_serve_args(&[]).unwrap().no_arguments);
    }

    #[test]
    fn errors_as_redis_prints_them() {
        assert_eq!(
            err(&["--foo", "bar"]),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n"
        );
        assert!(err(&["--port", "7000", "--foo"]).contains("at line 3\n>>> 'foo'\n"));
        assert!(err(&["--port", "1", "2"]).ends_with(">>> 'port \"1\" \"2\"'\nwrong number of arguments\n"));
        assert!(err(&["--appendonly", "maybe"]).ends_with("argument must be 'yes' or 'no'\n"));
        assert!(err(&["--loglevel", "loud"]).ends_with("one of the following: debug, verbose, notice, warning\n"));
        assert!(err(&["--port \"x"]).ends_with(">>> 'port \"x'\nUnbalanced quotes in configuration line\n"));
        assert!(err(&["/nonexistent/redis.conf"]).contains("can't open config file '/nonexistent/redis.conf'"));
    }

    #[test]
    fn config_file_then_options() {
        let dir = std::env::temp_dir().join(format!("aof-lab-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.conf");
        std::fs::write(&path, "port 1\n\n# c\n  appendonly yes  \n").unwrap();
        let p = path.to_string_lossy().into_owned();
        let o = parse_serve_args(&os(&[&p, "--port", "2"])).unwrap();
        assert_eq!((o.config.port, o.config.appendonly), (2, true));
        assert!(err(&[&p, "--foo", "x"]).contains("at line 6\n>>> 'foo \"x\"'"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
