//! The differential script format (`tests/scripts/*.redis`, documented in
//! `tests/scripts/README.md`) and the rules used to compare two replies or two AOF streams.
//!
//! Everything is compared on **raw RESP bytes**: the real server's reply exactly as it came off
//! the socket, the engine's `Reply::to_resp()`. Before comparing, absolute unix-ms times are
//! normalised ([`normalise_times`]) because two servers never run a command in the same
//! millisecond.

use aof_lab::resp::{Limits, parse_command, parse_reply, repr, split_args};

/// How a command's reply is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Byte-identical (after time normalisation).
    Exact,
    /// `~`: the top-level array's elements in any order.
    Unordered,
    /// `~2`: the top-level array as (field, value) pairs in any order.
    Pairs,
    /// `%`: only the reply type (the first byte) must match.
    TypeOnly,
}

impl Mode {
    pub fn prefix(self) -> &'static str {
        match self {
            Mode::Exact => "",
            Mode::Unordered => "~ ",
            Mode::Pairs => "~2 ",
            Mode::TypeOnly => "% ",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Command { mode: Mode, argv: Vec<Vec<u8>> },
    Sleep(u64),
    Digest,
}

#[derive(Clone, Debug)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The line as written (trimmed), for reports.
    pub text: String,
    pub item: Item,
}

/// Parses a script. Errors carry the line number and the reason; they fail the script.
pub fn parse_script(text: &str) -> (Vec<Line>, Vec<String>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match parse_line(t) {
            Ok(item) => lines.push(Line { number, text: t.to_string(), item }),
            Err(e) => errors.push(format!("line {number}: {e}: {t}")),
        }
    }
    (lines, errors)
}

fn parse_line(t: &str) -> Result<Item, String> {
    if let Some(rest) = t.strip_prefix('@') {
        let mut words = rest.split_whitespace();
        return match (words.next(), words.next(), words.next()) {
            (Some("digest"), None, _) => Ok(Item::Digest),
            (Some("sleep"), Some(ms), None) => ms.parse().map(Item::Sleep).map_err(|_| format!("bad @sleep duration '{ms}'")),
            _ => Err("unknown directive (expected `@sleep <ms>` or `@digest`)".into()),
        };
    }
    let (mode, rest) = if let Some(r) = t.strip_prefix("~2 ") {
        (Mode::Pairs, r)
    } else if let Some(r) = t.strip_prefix("~ ") {
        (Mode::Unordered, r)
    } else if let Some(r) = t.strip_prefix("% ") {
        (Mode::TypeOnly, r)
    } else {
        (Mode::Exact, t)
    };
    let argv = split_args(rest.as_bytes()).ok_or("unbalanced quotes")?;
    if argv.is_empty() {
        return Err("a mode prefix without a command".into());
    }
    Ok(Item::Command { mode, argv })
}

/// One day in milliseconds: the window around `now` in which a 13-digit number is a time.
pub const TIME_WINDOW_MS: i64 = 86_400_000;

/// Replaces every run of **exactly 13** ASCII digits (not preceded or followed by another
/// digit) whose value is within ±1 day of `now_ms` with `<T>`. Applied to both sides of every
/// comparison, to reply bytes and AOF bytes alike (`PXAT 1795461191689`, `PEXPIREAT`, stream IDs,
/// `PEXPIRETIME` replies). The `$13` length in front of such an argument is left as it is.
pub fn normalise_times(b: &[u8], now_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let run = &b[start..i];
            let is_time = run.len() == 13
                && std::str::from_utf8(run).ok().and_then(|s| s.parse::<i64>().ok()).is_some_and(|v| (v - now_ms).abs() <= TIME_WINDOW_MS);
            if is_time {
                out.extend_from_slice(b"<T>");
            } else {
                out.extend_from_slice(run);
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The raw elements of a top-level array reply; `None` if `raw` is not a (non-nil) array.
pub fn array_elements(raw: &[u8]) -> Option<Vec<&[u8]>> {
    if raw.first() != Some(&b'*') {
        return None;
    }
    let nl = raw.windows(2).position(|w| w == b"\r\n")?;
    let n: i64 = std::str::from_utf8(&raw[1..nl]).ok()?.parse().ok()?;
    if n < 0 {
        return None;
    }
    let mut pos = nl + 2;
    let mut items = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (_, used) = parse_reply(&raw[pos..]).ok()??;
        items.push(&raw[pos..pos + used]);
        pos += used;
    }
    Some(items)
}

/// The form of a reply that is compared under `mode`.
pub fn comparable(raw: &[u8], mode: Mode, now_ms: i64) -> Vec<u8> {
    match mode {
        Mode::Exact => normalise_times(raw, now_ms),
        Mode::TypeOnly => raw.first().map(|&c| vec![c]).unwrap_or_default(),
        Mode::Unordered | Mode::Pairs => {
            let Some(items) = array_elements(raw) else {
                return normalise_times(raw, now_ms);
            };
            let chunk = if mode == Mode::Pairs { 2 } else { 1 };
            let mut groups: Vec<Vec<u8>> = items.chunks(chunk).map(|c| normalise_times(&c.concat(), now_ms)).collect();
            groups.sort();
            let mut out = format!("*{}\r\n", items.len()).into_bytes();
            for g in groups {
                out.extend_from_slice(&g);
            }
            out
        }
    }
}

pub fn replies_match(expected: &[u8], actual: &[u8], mode: Mode, now_ms: i64) -> bool {
    comparable(expected, mode, now_ms) == comparable(actual, mode, now_ms)
}

/// A reply for a report: its RESP bytes escaped (`\r\n` visible), cut after `max` characters.
pub fn show_raw(b: &[u8], max: usize) -> String {
    let s = repr(b);
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("\"{cut}\"... ({} bytes)", b.len())
    } else {
        format!("\"{s}\"")
    }
}

/// One command as a redis-cli style line: `SET "k" "v"`.
pub fn show_argv<A: AsRef<[u8]>>(argv: &[A]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.as_ref();
            let plain = !a.is_empty() && a.iter().all(|c| c.is_ascii_graphic() && *c != b'"' && *c != b'\'' && *c != b'\\');
            if plain { String::from_utf8_lossy(a).into_owned() } else { format!("\"{}\"", repr(a)) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An AOF stream cut into its units: each propagated command (or `#` annotation line) with its
/// byte offset. Bytes that do not parse become one last `Err` unit.
pub fn split_aof(b: &[u8]) -> Vec<(usize, Result<Vec<Vec<u8>>, Vec<u8>>, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut args = Vec::new();
    while pos < b.len() {
        let rest = &b[pos..];
        if rest.first() == Some(&b'#') {
            let end = rest.windows(2).position(|w| w == b"\r\n").map_or(rest.len(), |p| p + 2);
            out.push((pos, Ok(vec![rest[..end].trim_ascii_end().to_vec()]), &rest[..end]));
            pos += end;
            continue;
        }
        match parse_command(rest, &mut args, Limits::default()) {
            Ok(Some(used)) if used > 0 => {
                let argv = args.iter().map(|a| a.to_vec()).collect();
                out.push((pos, Ok(argv), &rest[..used]));
                pos += used;
            }
            _ => {
                out.push((pos, Err(rest.to_vec()), rest));
                break;
            }
        }
    }
    out
}

/// Decodes an AOF chunk as one command per line, for reports.
pub fn show_aof(b: &[u8]) -> String {
    if b.is_empty() {
        return "      (nothing)".into();
    }
    split_aof(b).iter().map(|(off, unit, _)| format!("      @{off:<6} {}", show_unit(unit))).collect::<Vec<_>>().join("\n")
}

fn show_unit(unit: &Result<Vec<Vec<u8>>, Vec<u8>>) -> String {
    match unit {
        Ok(argv) => show_argv(argv),
        Err(raw) => format!("<unparsable bytes> {}", show_raw(raw, 200)),
    }
}

/// Compares two whole AOF streams. `None` if equal after normalisation; otherwise a report of
/// the first differing unit: byte offsets on both sides and a few commands of context, decoded.
pub fn diff_aof(expected: &[u8], actual: &[u8], now_ms: i64, exp_label: &str, act_label: &str) -> Option<String> {
    if normalise_times(expected, now_ms) == normalise_times(actual, now_ms) {
        return None;
    }
    let e = split_aof(expected);
    let a = split_aof(actual);
    let first = (0..e.len().max(a.len()))
        .find(|&i| match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) => normalise_times(x.2, now_ms) != normalise_times(y.2, now_ms),
            _ => true,
        })
        .unwrap_or(0);
    let offset = |units: &[(usize, Result<Vec<Vec<u8>>, Vec<u8>>, &[u8])], total: usize| units.get(first).map_or(total, |u| u.0);
    let context = |units: &[(usize, Result<Vec<Vec<u8>>, Vec<u8>>, &[u8])]| {
        let lo = first.saturating_sub(2);
        let hi = (first + 4).min(units.len());
        let mut s: Vec<String> = units[lo..hi]
            .iter()
            .enumerate()
            .map(|(j, (off, unit, _))| {
                format!("    {} #{:<3} @{off:<6} {}", if lo + j == first { ">" } else { " " }, lo + j, show_unit(unit))
            })
            .collect();
        if first >= units.len() {
            s.push(format!("    > #{first:<3} (end of stream)"));
        } else if hi < units.len() {
            s.push(format!("      ... {} more", units.len() - hi));
        }
        s.join("\n")
    };
    Some(format!(
        "AOF streams differ at command #{first}: byte offset {} in {exp_label} ({} bytes, {} commands), {} in {act_label} ({} bytes, {} commands)\n  {exp_label}:\n{}\n  {act_label}:\n{}",
        offset(&e, expected.len()),
        expected.len(),
        e.len(),
        offset(&a, actual.len()),
        actual.len(),
        a.len(),
        context(&e),
        context(&a)
    ))
}
