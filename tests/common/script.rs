//! The differential script format (`tests/scripts/*.redis`, documented in
//! `tests/scripts/README.md`) and the rules used to compare two replies or two AOF streams.
//!
//! Everything is compared on **raw RESP bytes**: the real server's reply exactly as it came off
//! the socket, the engine's `Reply::to_resp()`. Absolute times are compared within the few
//! milliseconds between the two sides' calls ([`Clock`], [`times_match`]): two servers never run
//! a command in the same millisecond, and a real redis-server's clock cannot be set.

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
    /// `~ms`: like `Exact`, but integer replies (`:N`, at any depth) are elapsed times that each
    /// side measured between two of its own clock readings (XPENDING's and XINFO CONSUMERS'
    /// idle times): they may differ by twice the slack of the widest window.
    Elapsed,
    /// `~s`: like `Elapsed`, for elapsed times in whole seconds read from a clock that ticks
    /// once a second (OBJECT IDLETIME: the LRU clock, `serverCron`'s unix seconds). Each end
    /// of the interval can fall on either side of a second boundary on the two sides, so they
    /// may differ by two seconds (plus twice the slack, in whole seconds).
    ElapsedSecs,
    /// `~stats`: an INFO text (bulk or verbatim) compared as a set of lines, with the values
    /// that are times masked: `usec=` and `usec_per_call=` (INFO commandstats) and the
    /// percentiles `pN=` (INFO latencystats). Calls, rejected and failed counts stay exact.
    Stats,
}

impl Mode {
    pub fn prefix(self) -> &'static str {
        match self {
            Mode::Exact => "",
            Mode::Unordered => "~ ",
            Mode::Pairs => "~2 ",
            Mode::TypeOnly => "% ",
            Mode::Elapsed => "~ms ",
            Mode::ElapsedSecs => "~s ",
            Mode::Stats => "~stats ",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `frames`: how many top-level frames the line gets (`*N` prefix, pushes counted); 0
    /// without a prefix: one reply, with any push frames that come before it.
    Command {
        mode: Mode,
        argv: Vec<Vec<u8>>,
        frames: usize,
    },
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
    // `*N CMD`: the command answers N replies (SUBSCRIBE a b: one confirmation per channel).
    let (frames, t) = match t.strip_prefix('*').and_then(|r| r.split_once(' ')) {
        Some((n, rest)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => (n, rest.trim_start()),
            _ => return Err(format!("bad reply count '*{n}'")),
        },
        None => (0, t),
    };
    let (mode, rest) = if let Some(r) = t.strip_prefix("~stats ") {
        (Mode::Stats, r)
    } else if let Some(r) = t.strip_prefix("~ms ") {
        (Mode::Elapsed, r)
    } else if let Some(r) = t.strip_prefix("~s ") {
        (Mode::ElapsedSecs, r)
    } else if let Some(r) = t.strip_prefix("~2 ") {
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
    if frames > 1 && mode != Mode::Exact {
        return Err("a reply count only goes with an exact comparison".into());
    }
    Ok(Item::Command { mode, argv, frames })
}

/// One year in milliseconds: a 13-digit number this close to `now` is read as a time (TTLs of
/// days are common in tests; a number meant literally, such as `4102444800000` in 2100, is
/// farther). Being a time only allows the [`Clock`]'s few milliseconds of slack.
pub const TIME_WINDOW_MS: i64 = 365 * 86_400_000;

/// When a comparison's two sides ran, and so how far apart the absolute times they computed
/// may be. The harness reads the clock before it sends a line to the first side (`start_ms`)
/// and after the second side answered (`end_ms`); each side took its own `now` somewhere in
/// between, so a time one side derived from its clock (`PEXPIREAT` from `EXPIRE`, `PXAT` from
/// `SET EX`, a `PEXPIRETIME` reply) may differ from the other's by at most `end - start` ms, and
/// a time in seconds (`#TS:` annotations, `EXPIRETIME`) by the number of second boundaries
/// crossed in between (0 or 1). Nothing else about a time is forgiven: `EXPIRE k 100` written
/// as a `PEXPIREAT` a minute off fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Which 13-digit (10-digit) numbers are times: those within a year of this instant.
    pub now_ms: i64,
    /// How far two ms times may differ.
    pub slack_ms: i64,
    /// How far two second times may differ.
    pub slack_s: i64,
}

impl Clock {
    /// Both sides ran in `[start_ms, end_ms]`.
    pub fn between(start_ms: i64, end_ms: i64) -> Clock {
        let end_ms = end_ms.max(start_ms);
        Clock { now_ms: end_ms, slack_ms: end_ms - start_ms, slack_s: end_ms.div_euclid(1000) - start_ms.div_euclid(1000) }
    }
    /// Both sides ran at the same instant: times must be equal.
    pub fn exact(now_ms: i64) -> Clock {
        Clock::between(now_ms, now_ms)
    }
    /// For a time that another line may have computed (a `PEXPIRETIME` reply shows the time
    /// of an earlier `SET EX`; the whole AOF at the end of a script holds every line's): the
    /// larger slack of the two windows.
    pub fn widest(self, other: Clock) -> Clock {
        Clock {
            now_ms: self.now_ms.max(other.now_ms),
            slack_ms: self.slack_ms.max(other.slack_ms),
            slack_s: self.slack_s.max(other.slack_s),
        }
    }
    /// How a run of digits is read: a time in ms, a time in seconds, or a plain number.
    fn kind(&self, run: &[u8]) -> Option<(i64, i64)> {
        let v: i64 = std::str::from_utf8(run).ok()?.parse().ok()?;
        match run.len() {
            13 if (v - self.now_ms).abs() <= TIME_WINDOW_MS => Some((v, self.slack_ms)),
            10 if (v - self.now_ms.div_euclid(1000)).abs() <= TIME_WINDOW_MS / 1000 => Some((v, self.slack_s)),
            _ => None,
        }
    }
}

/// `b` cut into maximal runs of ASCII digits and runs of anything else.
fn digit_runs(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=b.len() {
        if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
            out.push(&b[start..i]);
            start = i;
        }
    }
    out
}

/// Whether two byte strings are equal except for absolute times that differ by no more than
/// `clock` allows (see [`Clock`]): same bytes around them, and each pair of times of the same
/// kind (13-digit ms or 10-digit seconds, near now) within the slack.
pub fn times_match(expected: &[u8], actual: &[u8], clock: Clock) -> bool {
    if expected == actual {
        return true;
    }
    let (e, a) = (digit_runs(expected), digit_runs(actual));
    e.len() == a.len()
        && e.iter().zip(&a).all(|(x, y)| {
            x == y
                || match (clock.kind(x), clock.kind(y)) {
                    (Some((u, slack)), Some((v, _))) if x.len() == y.len() => (u - v).abs() <= slack,
                    _ => false,
                }
        })
}

/// Replaces every run of **exactly 13** ASCII digits (not preceded or followed by another
/// digit) whose value is within a year of `now_ms` with `<T>`. Only for ordering (the `~`
/// modes sort elements by this form) and reports: comparisons use [`times_match`].
pub fn normalise_times(b: &[u8], now_ms: i64) -> Vec<u8> {
    let clock = Clock::exact(now_ms);
    let mut out = Vec::with_capacity(b.len());
    for run in digit_runs(b) {
        if run.len() == 13 && run[0].is_ascii_digit() && clock.kind(run).is_some() {
            out.extend_from_slice(b"<T>");
        } else {
            out.extend_from_slice(run);
        }
    }
    out
}

/// The raw elements of a top-level aggregate reply: an array (`*`), or over RESP3 a set (`~`), a
/// push (`>`) or a map (`%`, its keys and values in turn); `None` for anything else (a nil).
pub fn array_elements(raw: &[u8]) -> Option<Vec<&[u8]>> {
    let per_entry = match raw.first() {
        Some(b'*' | b'~' | b'>') => 1,
        Some(b'%') => 2,
        _ => return None,
    };
    let nl = raw.windows(2).position(|w| w == b"\r\n")?;
    let n: i64 = std::str::from_utf8(&raw[1..nl]).ok()?.parse().ok()?;
    if n < 0 {
        return None;
    }
    let mut pos = nl + 2;
    let mut items = Vec::with_capacity(n as usize * per_entry);
    for _ in 0..n * per_entry as i64 {
        let (_, used) = parse_reply(&raw[pos..]).ok()??;
        items.push(&raw[pos..pos + used]);
        pos += used;
    }
    Some(items)
}

/// The form of a reply under `mode`, with times masked (see [`normalise_times`]): for the `~`
/// modes the groups sorted, which is the order [`replies_match`] compares them in.
pub fn comparable(raw: &[u8], mode: Mode, now_ms: i64) -> Vec<u8> {
    match mode {
        Mode::Stats => stats_lines(raw),
        Mode::Exact | Mode::Elapsed | Mode::ElapsedSecs => normalise_times(raw, now_ms),
        Mode::TypeOnly => raw.first().map(|&c| vec![c]).unwrap_or_default(),
        Mode::Unordered | Mode::Pairs => match sorted_groups(raw, mode, now_ms) {
            Some((n, groups)) => {
                let mut out = format!("{}{n}\r\n", raw[0] as char).into_bytes();
                for g in groups {
                    out.extend_from_slice(&normalise_times(&g, now_ms));
                }
                out
            }
            None => normalise_times(raw, now_ms),
        },
    }
}

/// The top-level aggregate's elements (or pairs) sorted by their time-masked bytes, with the
/// element count; `None` if `raw` is not an aggregate. Under `~2`, a RESP3 reply whose
/// elements are themselves aggregates (`ZRANGE … WITHSCORES` as `[member, score]` pairs) is
/// already made of pairs: each element is one group.
fn sorted_groups(raw: &[u8], mode: Mode, now_ms: i64) -> Option<(usize, Vec<Vec<u8>>)> {
    let items = array_elements(raw)?;
    let nested = raw[0] == b'*' && !items.is_empty() && items.iter().all(|i| i.first() == Some(&b'*'));
    let chunk = if mode == Mode::Pairs && !nested { 2 } else { 1 };
    let mut groups: Vec<Vec<u8>> = items.chunks(chunk).map(|c| c.concat()).collect();
    groups.sort_by_cached_key(|g| normalise_times(g, now_ms));
    Some((items.len(), groups))
}

/// Whether two replies are the same under `mode`, times compared within `clock`'s slack.
pub fn replies_match(expected: &[u8], actual: &[u8], mode: Mode, clock: Clock) -> bool {
    match mode {
        Mode::Stats => stats_lines(expected) == stats_lines(actual),
        Mode::Exact => times_match(expected, actual, clock),
        Mode::Elapsed | Mode::ElapsedSecs => match (parse_reply(expected), parse_reply(actual)) {
            (Ok(Some((e, _))), Ok(Some((a, _)))) => {
                let within = if mode == Mode::Elapsed { 2 * clock.slack_ms } else { 2 + 2 * clock.slack_ms / 1000 };
                elapsed_match(&e, &a, within, clock)
            }
            _ => times_match(expected, actual, clock),
        },
        Mode::TypeOnly => expected.first() == actual.first(),
        Mode::Unordered | Mode::Pairs => match (sorted_groups(expected, mode, clock.now_ms), sorted_groups(actual, mode, clock.now_ms)) {
            (Some((n, e)), Some((m, a))) => {
                expected[0] == actual[0] && n == m && e.len() == a.len() && e.iter().zip(&a).all(|(x, y)| times_match(x, y, clock))
            }
            (None, None) => times_match(expected, actual, clock),
            _ => false,
        },
    }
}

/// [`Mode::Elapsed`]: same shape, integers within twice the slack (each side's elapsed time
/// spans two lines, each line's clocks at most a window apart), the rest as in `Exact`.
fn elapsed_match(e: &aof_lab::Reply, a: &aof_lab::Reply, within: i64, clock: Clock) -> bool {
    use aof_lab::Reply;
    match (e, a) {
        (Reply::Int(x), Reply::Int(y)) => (x - y).abs() <= within,
        (Reply::Array(x), Reply::Array(y)) | (Reply::Set(x), Reply::Set(y)) | (Reply::Push(x), Reply::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| elapsed_match(p, q, within, clock))
        }
        (Reply::Map(x), Reply::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k, v), (l, w))| elapsed_match(k, l, within, clock) && elapsed_match(v, w, within, clock))
        }
        _ => times_match(&e.to_resp(), &a.to_resp(), clock),
    }
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

/// Compares two whole AOF streams, times within `clock`'s slack. `None` if they match; otherwise
/// a report of the first differing unit: byte offsets on both sides and a few commands of
/// context, decoded.
pub fn diff_aof(expected: &[u8], actual: &[u8], clock: Clock, exp_label: &str, act_label: &str) -> Option<String> {
    if times_match(expected, actual, clock) {
        return None;
    }
    let e = split_aof(expected);
    let a = split_aof(actual);
    let first = (0..e.len().max(a.len()))
        .find(|&i| match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) => !times_match(x.2, y.2, clock),
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

/// [`Mode::Stats`]: the INFO text's lines, sorted, with the time values masked (`usec=*`,
/// `usec_per_call=*`, `p50=*`); anything that is not an INFO text is kept as it is.
pub fn stats_lines(raw: &[u8]) -> Vec<u8> {
    use aof_lab::Reply;
    let text = match parse_reply(raw) {
        Ok(Some((Reply::Bulk(b), _))) => b,
        Ok(Some((Reply::Verbatim(_, b), _))) => b,
        _ => return raw.to_vec(),
    };
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<String> = text
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((key, values)) if !line.starts_with('#') => {
                let masked: Vec<String> = values
                    .split(',')
                    .map(|kv| match kv.split_once('=') {
                        Some((k, _))
                            if k == "usec"
                                || k == "usec_per_call"
                                || (k.starts_with('p') && k[1..].starts_with(|c: char| c.is_ascii_digit())) =>
                        {
                            format!("{k}=*")
                        }
                        _ => kv.to_string(),
                    })
                    .collect();
                format!("{key}:{}", masked.join(","))
            }
            _ => line.to_string(),
        })
        .collect();
    lines.sort();
    lines.join("\n").into_bytes()
}
