//! Plain sentences for a learner, made from a scenario's steps: the next action ("Cut the
//! power"), what a check found ("appendonly.aof.1.incr.aof is on disk: 61 of 61 bytes", "DBSIZE
//! is 3"), a prediction's reveal. A check's sentence is made from the values it compares, so a
//! failed one can say both what was expected and what came instead.
//!
//! The phrasing knows the lab's probes, the INFO fields a tutorial names and the replies of
//! common commands; anything else is said generically ("CLIENT ID returns 3").

use super::StepKind;
use super::probe::unescape;
use crate::aof::inspect::{RecordKind, dump_bytes};

/// The step as an action to take: the page's "Next: …".
pub fn action(kind: &StepKind) -> String {
    match kind {
        StepKind::Command(l) => format!("Run {l}"),
        StepKind::Repeat { times, command } if command.contains("{i}") => {
            format!("Run {command} {times} times, with {{i}} = 1 … {times}")
        }
        StepKind::Repeat { times, command } => format!("Run {command} {times} times"),
        StepKind::Tick(ms) => format!("Let {} of simulated time pass (serverCron runs every 100 ms)", duration(*ms)),
        StepKind::Crash(k) => match k.as_str() {
            "kill" => "Kill the redis-server process (kill -9), then start it again".into(),
            "power" => "Cut the power, then start the machine and redis-server again".into(),
            "torn" => "Cut the power while the kernel writes the AOF's tail back (a torn op), then start again".into(),
            "torn-seq" => "Cut the power while the kernel writes back out of order (a torn sequence), then start again".into(),
            other => format!("Crash ({other})"),
        },
        StepKind::Restart(None) => "Stop redis-server and start it again on the same files".into(),
        StepKind::Restart(Some((n, v))) => format!("Stop redis-server, set {n} {v} in redis.conf, and start it again"),
        StepKind::Rewrite => "Run BGREWRITEAOF and wait until the rewrite is over".into(),
        StepKind::Config(n, v) => format!("Set {n} to {v}"),
        StepKind::RedisConf(n, v) => format!("Start an empty machine with {n} {v} in redis.conf"),
        StepKind::CheckAof { fix: false } => "Run redis-check-aof on the manifest".into(),
        StepKind::CheckAof { fix: true } => "Run redis-check-aof --fix on the manifest".into(),
        StepKind::Say(t) | StepKind::Note(t) | StepKind::Mark(t) => t.clone(),
        StepKind::Predict { question, .. } => format!("Predict: {question}"),
        StepKind::Expect { command, .. } => format!("Check {}", subject(command)),
        StepKind::Wait { command, .. } => format!("Let time pass until {} changes as expected", subject(command)),
    }
}

/// What a check looks at, as the object of "Check …" (without giving its answer away).
fn subject(command: &str) -> String {
    let mut w = command.split_whitespace();
    let probe = w.next().unwrap_or_default();
    let arg = w.next().unwrap_or_default();
    match probe {
        "@info" => format!("INFO's {arg}"),
        "@aof" => "the bytes appended to aof_buf".into(),
        "@layers" => format!("how much of {arg} is on disk"),
        "@size" => format!("the size of {arg}"),
        "@head" => format!("how {arg} begins"),
        "@records" => format!("what {arg} holds"),
        "@files" => "the AOF's files".into(),
        "@manifest" => "the manifest".into(),
        "@crash" => format!("the crash report's {arg}"),
        "@log" => "the server log".into(),
        "@auto-rewrite" => "the automatic rewrite trigger".into(),
        "@rewrite-diff" => "what the child received from the parent".into(),
        _ => command.to_string(),
    }
}

/// `1.1 s`, `300 ms`, `2 min`.
pub fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        let s = ms as f64 / 1000.0;
        if ms % 1000 == 0 { format!("{} s", ms / 1000) } else { format!("{s:.1} s") }
    } else {
        format!("{} min", ms / 60_000)
    }
}

/// A command's reply: "SET k v: OK".
pub fn replied(line: &str, output: &[String]) -> String {
    match output {
        [] => format!("{line}: no reply yet (it blocked)."),
        [one] if !one.contains('\n') => format!("{line}: {one}"),
        _ => format!("{line} replied:\n{}", output.join("\n")),
    }
}

/// redis-check-aof's verdict: what it cut (with `--fix`), its last line, its exit code.
pub fn checked_aof(fix: bool, lines: &[String], code: i32) -> String {
    let tool = if fix { "redis-check-aof --fix" } else { "redis-check-aof" };
    let last = lines.iter().rev().find(|l| !l.trim().is_empty()).map_or("", |l| l.trim());
    let verdict = if code == 0 { "exit code 0" } else { "exit code 1" };
    // "This will shrink the AOF <f> from <n> bytes, with <d> bytes, to <m> bytes".
    let cut = lines.iter().find_map(|l| {
        let rest = l.strip_prefix("This will shrink the AOF ")?;
        let (file, rest) = rest.split_once(" from ")?;
        let (from, rest) = rest.split_once(" bytes, with ")?;
        let (diff, rest) = rest.split_once(" bytes, to ")?;
        Some(format!("cut {file} from {from} to {} bytes ({diff} bytes dropped), then said: ", rest.trim_end_matches(" bytes")))
    });
    match cut {
        Some(cut) => format!("{tool} {cut}{last} ({verdict})."),
        None => format!("{tool}: {last} ({verdict})."),
    }
}

/// A prediction's reveal.
pub fn revealed(choices: &[String], given: Option<usize>) -> String {
    let right = choices.first().map_or("", String::as_str);
    match given {
        None => format!("The answer: {right}."),
        Some(0) => format!("You predicted “{right}”: right."),
        Some(g) => format!("You predicted “{}”; the answer is “{right}”.", choices.get(g).map_or("", String::as_str)),
    }
}

/// A check's clause (not capitalized): what it claims, or what was expected and what came.
pub fn check(command: &str, want: &[String], got: &[String]) -> String {
    if want == got { claim(command, want) } else { format!("expected {}, but {}", claim(command, want), claim(command, got)) }
}

/// The first letter in upper case: every clause starts with a word, a number or a command
/// name (never a key or file name, which are introduced by "key …", "the file …").
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| std::iter::once(f.to_ascii_uppercase()).chain(c).collect())
}

/// What a check's values say, as a clause: "DBSIZE is 3", "k does not exist".
pub fn claim(command: &str, values: &[String]) -> String {
    if command.starts_with('@') { probe_claim(command, values) } else { reply_claim(command, values) }
}

fn probe_claim(command: &str, values: &[String]) -> String {
    let mut w = command.split_whitespace();
    let probe = w.next().unwrap_or_default();
    let arg = w.next().unwrap_or_default();
    let one = values.first().map_or("", String::as_str);
    let n = || one.parse::<u64>().ok();
    match probe {
        "@info" => info_claim(arg, one),
        "@aof" => aof_claim(one),
        "@layers" => match parse_layers(one) {
            Some((0, _)) => format!("the file {arg} is empty"),
            Some((w, d)) if w == d => format!("the file {arg} is on disk: {d} of {w} bytes"),
            Some((w, 0)) => format!("the file {arg} is not on disk yet: 0 of {w} bytes (all only in the page cache)"),
            Some((w, d)) => format!("the file {arg} is only partly on disk: {d} of {w} bytes ({} only in the page cache)", w - d),
            None => format!("the file {arg}: {one}"),
        },
        "@size" => match n() {
            Some(b) => format!("the file {arg} is {b} bytes"),
            None => format!("the file {arg}: {one}"),
        },
        "@head" => format!("the file {arg} begins with {}", head_text(one)),
        "@records" => match values {
            [] => format!("the file {arg} holds nothing"),
            [r] if r.starts_with("RDB v") => format!("the file {arg} holds one record: an {r}"),
            [r] => format!("the file {arg} holds one record: {r}"),
            _ => format!("the file {arg} holds {} records: {}", values.len(), values.join("; ")),
        },
        "@files" => match values {
            [] => "there are no AOF files".into(),
            [f] if f == "(no files)" => "there are no AOF files".into(),
            [f] => format!("the only AOF file is {f}"),
            _ => format!("the AOF files are {}", list(values)),
        },
        "@manifest" => manifest_claim(values),
        "@crash" => match (arg, n()) {
            ("lost_aof_buf", Some(b)) => format!("the crash lost {b} bytes that were still in aof_buf (process memory)"),
            ("lost_page_cache", Some(b)) => format!("the crash lost {b} bytes that were only in the page cache"),
            ("keys_before", Some(k)) => format!("there were {k} keys before the crash"),
            ("keys_after", Some(k)) => format!("there are {k} keys after the restart"),
            ("rdb_keys", Some(k)) => format!("an RDB-only server would have restarted with the {k} keys of dump.rdb"),
            ("rdb_keys", None) if one == "none" => "an RDB-only server would have started empty (no dump.rdb)".into(),
            _ => format!("the crash report's {arg} is {one}"),
        },
        "@log" => match one.strip_prefix(['*', '#', '-', '.']).map(str::trim_start) {
            Some(text) if !one.starts_with("(nothing") => format!("the server logged “{text}”"),
            _ => format!("the server logged nothing about “{}”", command.split_once(' ').map_or("", |(_, t)| t.trim())),
        },
        "@auto-rewrite" => format!("the automatic rewrite {}", auto_rewrite_claim(one)),
        "@rewrite-diff" => match n() {
            Some(0) => "the child has received no diff from the parent".into(),
            Some(b) => format!("the parent has sent {b} bytes of the rewrite buffer to the child (its diff)"),
            None => format!("the diff: {one}"),
        },
        _ => format!("{command} gives {}", values.join(" / ")),
    }
}

fn parse_layers(s: &str) -> Option<(u64, u64)> {
    let (w, d) = s.strip_prefix("written ")?.split_once(", on disk ")?;
    Some((w.parse().ok()?, d.parse().ok()?))
}

/// `waits: growth 45% < 100% (…)` → "waits: the AOF grew 45%, less than 100% (…)".
fn auto_rewrite_claim(v: &str) -> String {
    if let Some(rest) = v.strip_prefix("due: ") {
        format!("is due at the next cron tick: {rest}")
    } else if let Some(rest) = v.strip_prefix("waits: ") {
        format!("waits: {rest}")
    } else if let Some(rest) = v.strip_prefix("off: ") {
        format!("is off: {rest}")
    } else {
        format!("check says: {v}")
    }
}

/// The first bytes of a file, named when they are a known magic.
fn head_text(escaped: &str) -> String {
    let bytes = unescape(escaped);
    if bytes.starts_with(b"REDIS") {
        let version = String::from_utf8_lossy(bytes.get(5..9).unwrap_or_default()).trim_start_matches('0').to_string();
        format!("“{escaped}”: an RDB image (RDB version {version})")
    } else if bytes.starts_with(b"*") {
        format!("“{escaped}”: a RESP command")
    } else {
        format!("“{escaped}”")
    }
}

fn aof_claim(escaped: &str) -> String {
    let bytes = unescape(escaped);
    if bytes.is_empty() {
        return "nothing was appended to aof_buf".into();
    }
    let records = dump_bytes(&bytes);
    let commands: Vec<String> = records
        .iter()
        .map(|r| match &r.kind {
            RecordKind::Command(_) | RecordKind::Annotation(_) => r.describe(),
            RecordKind::Rdb { .. } | RecordKind::RdbItem(_) | RecordKind::Invalid(_) => format!("{} bytes that are not a command", r.len),
        })
        .collect();
    format!("Redis appended {} bytes to aof_buf: {}", bytes.len(), list(&commands))
}

fn manifest_claim(lines: &[String]) -> String {
    let entries: Vec<String> = lines
        .iter()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["file", name, "seq", seq, "type", t] => {
                    let what = match *t {
                        "b" => "the base",
                        "h" => "the history file",
                        "i" => "the incr file",
                        _ => "the file",
                    };
                    format!("{what} {name} (seq {seq})")
                }
                _ => format!("“{l}”"),
            }
        })
        .collect();
    match entries.as_slice() {
        [] => "the manifest is empty".into(),
        [e] if e.starts_with('“') => format!("the manifest cannot be read: {e}"),
        _ => format!("the manifest lists {}", list(&entries)),
    }
}

/// What INFO's field says, for the fields a tutorial names (others generically).
fn info_claim(field: &str, v: &str) -> String {
    let n = v.parse::<i64>().ok();
    let plural = |n: i64, one: &str, many: &str| if n == 1 { one.to_string() } else { many.to_string() };
    let said = match (field, v, n) {
        ("aof_enabled", "1", _) => "the AOF is on".to_string(),
        ("aof_enabled", "0", _) => "the AOF is off".to_string(),
        ("aof_rewrite_in_progress", "1", _) => "a rewrite is running".to_string(),
        ("aof_rewrite_in_progress", "0", _) => "no rewrite is running".to_string(),
        ("aof_rewrite_scheduled" | "aof_pending_rewrite", "1", _) => "a rewrite is scheduled".to_string(),
        ("aof_rewrite_scheduled" | "aof_pending_rewrite", "0", _) => "no rewrite is scheduled".to_string(),
        ("aof_rewrites", _, Some(0)) => "no rewrite has started yet".to_string(),
        ("aof_rewrites", _, Some(k)) => format!("{k} {} started", plural(k, "rewrite has", "rewrites have")),
        ("aof_current_size", _, Some(b)) => format!("the AOF is {b} bytes"),
        ("aof_base_size", _, Some(0)) => "the base size is 0: no rewrite since a fresh start".to_string(),
        ("aof_base_size", _, Some(b)) => format!("the base size the growth is measured from is {b} bytes"),
        ("aof_buffer_length", _, Some(0)) => "nothing waits in aof_buf to be written".to_string(),
        ("aof_buffer_length", _, Some(b)) => format!("{b} bytes wait in aof_buf, not written yet"),
        ("aof_rewrite_buffer_length", _, Some(0)) => "the rewrite buffer is empty".to_string(),
        ("aof_rewrite_buffer_length", _, Some(b)) => format!("{b} bytes are in the rewrite buffer"),
        ("aof_delayed_fsync", _, Some(0)) => "no write has given up waiting for a slow fsync".to_string(),
        ("aof_delayed_fsync", _, Some(k)) => {
            format!("a write gave up waiting for a slow fsync {k} {}", plural(k, "time", "times"))
        }
        ("aof_pending_bio_fsync", _, Some(0)) => "no background fsync is running".to_string(),
        ("aof_pending_bio_fsync", _, Some(k)) => format!("{k} background {} running", plural(k, "fsync is", "fsyncs are")),
        ("aof_last_write_status", "ok", _) => "the last write to the AOF succeeded".to_string(),
        ("aof_last_write_status", "err", _) => "the last write to the AOF failed".to_string(),
        ("aof_last_bgrewrite_status", "ok", _) => "the last rewrite succeeded".to_string(),
        ("aof_last_bgrewrite_status", "err", _) => "the last rewrite failed".to_string(),
        ("rdb_changes_since_last_save", _, Some(k)) => {
            format!("{k} {} made since the last save", plural(k, "change was", "changes were"))
        }
        ("current_save_keys_processed", _, Some(k)) => format!("the child has written {k} {}", plural(k, "key", "keys")),
        ("current_save_keys_total", _, Some(k)) => format!("the child's snapshot holds {k} {}", plural(k, "key", "keys")),
        ("aof_rewrites_consecutive_failures", _, Some(0)) => "no rewrite has failed since the last success".to_string(),
        ("aof_rewrites_consecutive_failures", _, Some(k)) => {
            format!("{k} {} failed in a row", plural(k, "rewrite has", "rewrites have"))
        }
        ("rdb_bgsave_in_progress", "1", _) => "a BGSAVE is running".to_string(),
        ("rdb_bgsave_in_progress", "0", _) => "no BGSAVE is running".to_string(),
        (_, "(no such field)", _) => return format!("INFO has no field {field}"),
        _ => return format!("INFO says {field}:{v}"),
    };
    format!("{said} ({field}:{v})")
}

/// A reply as redis-cli prints it, by shape.
enum Reply<'a> {
    Int(i64),
    Bulk(&'a str),
    Nil,
    Status(&'a str),
    Error(&'a str),
    Refused,
    Array(Vec<&'a str>),
    Empty,
}

fn shape(values: &[String]) -> Reply<'_> {
    match values {
        [] => Reply::Empty,
        [one] => {
            let v = one.as_str();
            if let Some(n) = v.strip_prefix("(integer) ").and_then(|n| n.parse().ok()) {
                Reply::Int(n)
            } else if v == "(nil)" {
                Reply::Nil
            } else if v == crate::lab::REFUSED {
                Reply::Refused
            } else if let Some(e) = v.strip_prefix("(error) ") {
                Reply::Error(e)
            } else if v == "(empty array)" {
                Reply::Array(vec![])
            } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                Reply::Bulk(v)
            } else if let Some(item) = array_item(v) {
                Reply::Array(vec![item])
            } else {
                Reply::Status(v)
            }
        }
        many => Reply::Array(many.iter().map(|l| array_item(l).unwrap_or(l)).collect()),
    }
}

/// `1) "a"` → `"a"`.
fn array_item(line: &str) -> Option<&str> {
    let (n, rest) = line.trim_start().split_once(") ")?;
    n.parse::<u64>().ok().map(|_| rest)
}

fn reply_claim(command: &str, values: &[String]) -> String {
    let argv: Vec<String> =
        crate::resp::split_args(command.as_bytes()).unwrap_or_default().iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let name = argv.first().map(|a| a.to_ascii_uppercase()).unwrap_or_default();
    let key = argv.get(1).map_or("", String::as_str);
    let keys = argv.len().saturating_sub(1);
    match (name.as_str(), shape(values)) {
        (_, Reply::Refused) => "the server is down: redis-cli cannot connect".into(),
        (_, Reply::Error(e)) => format!("{command} is refused: {e}"),
        (_, Reply::Empty) => format!("{command} gives no reply"),
        ("PING", Reply::Status("PONG")) => "the server is up: PING answers PONG".into(),
        ("DBSIZE", Reply::Int(n)) => format!("DBSIZE is {n}"),
        ("EXISTS", Reply::Int(1)) if keys == 1 => format!("key {key} exists"),
        ("EXISTS", Reply::Int(0)) if keys == 1 => format!("key {key} does not exist"),
        ("EXISTS", Reply::Int(n)) => format!("{n} of the {keys} keys exist"),
        ("GET", Reply::Bulk(v)) => format!("key {key} holds {v}"),
        ("GET", Reply::Nil) => format!("key {key} does not exist (GET returns nil)"),
        ("TTL" | "PTTL", Reply::Int(-2)) => format!("key {key} does not exist"),
        ("TTL" | "PTTL", Reply::Int(-1)) => format!("key {key} has no expiry"),
        ("TTL", Reply::Int(s)) => format!("key {key} expires in {s} s"),
        ("PTTL", Reply::Int(ms)) => format!("key {key} expires in {ms} ms"),
        ("LLEN" | "SCARD" | "HLEN" | "ZCARD", Reply::Int(n)) => format!("key {key} has {n} elements"),
        ("STRLEN", Reply::Int(n)) => format!("the value of key {key} is {n} bytes long"),
        ("HGET", Reply::Bulk(v)) => format!("field {} of key {key} holds {v}", argv.get(2).map_or("", String::as_str)),
        ("HGET", Reply::Nil) => format!("key {key} has no field {}", argv.get(2).map_or("", String::as_str)),
        (_, Reply::Int(n)) => format!("{command} returns {n}"),
        (_, Reply::Bulk(v)) => format!("{command} returns {v}"),
        (_, Reply::Nil) => format!("{command} returns nil"),
        (_, Reply::Status(s)) => format!("{command} replies {s}"),
        (_, Reply::Array(items)) if items.is_empty() => format!("{command} returns an empty list"),
        (_, Reply::Array(items)) => format!("{command} returns {}", items.join(", ")),
    }
}

/// "a, b and c".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
