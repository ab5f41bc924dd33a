//! The value parsers of `config.c`: `performInterfaceSet` for each parameter type (booleans,
//! enums, bit flags, numbers with their units and bounds, strings) and the special parameters'
//! own parsers (`save`, `client-output-buffer-limit`, `notify-keyspace-events`, …). Each
//! returns the value to store, or Redis's reason for refusing it.

use super::Val;
use super::table::{Kind, MULTI_ARG, Num, NumFmt, Param, Special};
use crate::util::{string2d, string2ll};

/// `performInterfaceSet` + the type's `set`: parses and validates `value` into the value to store.
/// `old` is the current value (parameters like `client-output-buffer-limit` update it in part).
pub(super) fn parse_value(param: &Param, value: &[u8], old: &Val) -> Result<Val, String> {
    let text = String::from_utf8_lossy(value);
    // MULTI_ARG_CONFIG values are split on single spaces (`sdssplitlen`): "" is no argument.
    let args: Vec<&str> =
        if param.flags & MULTI_ARG != 0 { if text.is_empty() { Vec::new() } else { text.split(' ').collect() } } else { vec![&text] };
    let arg0 = args.first().copied().unwrap_or("");
    match param.kind {
        Kind::Bool => match arg0.to_ascii_lowercase().as_str() {
            "yes" if param.name == "activedefrag" => Err(ACTIVE_DEFRAG_ERR.to_string()),
            "yes" => Ok(Val::Bool(true)),
            "no" => Ok(Val::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        },
        Kind::Enum(values) => match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(arg0)) {
            Some((_, v)) => Ok(Val::Int(i64::from(*v))),
            None => Err(enum_error(values)),
        },
        Kind::Flags(values) => {
            let mut bits = 0;
            for a in &args {
                match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(a)) {
                    Some((_, v)) => bits |= v,
                    None => return Err(enum_error(values)),
                }
            }
            if args.is_empty() {
                return Err(enum_error(values));
            }
            // isValidShutdownOnSigFlags
            if bits & 1 != 0 && bits & 2 != 0 {
                return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
            }
            Ok(Val::Int(i64::from(bits)))
        }
        Kind::Num(num) => parse_number(num, arg0).map(Val::Int),
        Kind::Str(check) => {
            if let Some(check) = check {
                check(arg0).map_err(str::to_string)?;
            }
            Ok(Val::Text(arg0.to_string()))
        }
        Kind::Special(special) => parse_special(special, &args, old).map(Val::Text),
    }
}

const ACTIVE_DEFRAG_ERR: &str = "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc \
                                 like the one shipped by default with the Redis source distribution";

fn enum_error(values: &[(&str, i32)]) -> String {
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    format!("argument(s) must be one of the following: {}", names.join(", "))
}

/// `numericParseString` + `numericBoundaryCheck`.
fn parse_number(num: Num, s: &str) -> Result<i64, String> {
    let parsed = (|| {
        if matches!(num.fmt, NumFmt::Memory | NumFmt::MemoryPercent)
            && let Some(v) = memtoull(s)
        {
            return Some(v as i64);
        }
        if num.fmt == NumFmt::MemoryPercent
            && s.len() > 1
            && let Some(v) = s.strip_suffix('%').and_then(|d| string2ll(d.as_bytes())).filter(|v| *v >= 0)
        {
            return Some(-v);
        }
        if num.fmt == NumFmt::Octal {
            return c_strtoll(s, 8);
        }
        if num.fmt == NumFmt::Int { string2ll(s.as_bytes()) } else { None }
    })();
    let Some(v) = parsed else {
        return Err(match num.fmt {
            NumFmt::MemoryPercent => "argument must be a memory or percent value",
            NumFmt::Memory => "argument must be a memory value",
            NumFmt::Octal => "argument couldn't be parsed as an octal number",
            NumFmt::Int => "argument couldn't be parsed into an integer",
        }
        .to_string());
    };
    if num.unsigned {
        let (uv, lo, hi) = (v as u64, num.min as u64, num.max as u64);
        if uv < lo || uv > hi {
            return Err(if num.fmt == NumFmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if num.fmt == NumFmt::MemoryPercent && v < 0 {
        if v < num.min {
            return Err(format!("percentage argument must be less or equal to {}", -num.min));
        }
    } else if v < num.min || v > num.max {
        return Err(format!("argument must be between {} and {} inclusive", num.min, num.max));
    }
    Ok(v)
}

/// `memtoull`: digits and an optional unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`,
/// any case). Like Redis: an empty number is 0 and an overflowing one saturates.
pub fn memtoull(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    // strtoull saturates at ULLONG_MAX on overflow, and Redis does not check ERANGE.
    let val = digits.bytes().fold(0u64, |acc, c| acc.saturating_mul(10).saturating_add(u64::from(c - b'0')));
    if val > u64::MAX / mul {
        return None;
    }
    Some(val * mul)
}

/// C's `strtoll(s, &end, base)` accepting only when the whole string was consumed: leading
/// spaces and a sign are allowed, an empty string is 0, overflow saturates.
fn c_strtoll(s: &str, base: u32) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        // No conversion: `end` stays at the start of the string, which is accepted only if it
        // was empty.
        return s.is_empty().then_some(0);
    }
    let mut v: i128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        v = (v * i128::from(base) + i128::from(d)).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// The parsers of `createSpecialConfig` parameters; each returns the text CONFIG GET prints.
fn parse_special(special: Special, args: &[&str], old: &Val) -> Result<String, String> {
    let err = |s: &str| Err(s.to_string());
    match special {
        Special::Dir => {
            if args.len() != 1 {
                return err("wrong number of arguments");
            }
            if args[0].is_empty() {
                return err("No such file or directory");
            }
            Ok(args[0].to_string())
        }
        Special::Save => {
            if !args.len().is_multiple_of(2) {
                return err("Invalid save parameters");
            }
            let mut out = Vec::new();
            for pair in args.chunks(2) {
                let (Some(secs), Some(changes)) = (c_strtoll(pair[0], 10), c_strtoll(pair[1], 10)) else {
                    return err("Invalid save parameters");
                };
                if secs < 1 || changes < 0 {
                    return err("Invalid save parameters");
                }
                // `changes` is an int in Redis.
                out.push(format!("{} {}", secs, changes as i32));
            }
            Ok(out.join(" "))
        }
        Special::ClientOutputBufferLimit => {
            if !args.len().is_multiple_of(4) {
                return err("Wrong number of arguments in buffer limit configuration.");
            }
            let mut limits = parse_obuf_limits(&old.clone().text());
            let mut updates = Vec::new();
            for group in args.chunks(4) {
                let class = match group[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => return err("Invalid client class specified in buffer limit configuration."),
                };
                let secs = c_strtoll(group[3], 10).filter(|s| *s >= 0);
                let (Some(hard), Some(soft), Some(secs)) = (memtoull(group[1]), memtoull(group[2]), secs) else {
                    return err("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
                };
                updates.push((class, (hard, soft, secs)));
            }
            for (class, limit) in updates {
                limits[class] = limit;
            }
            let names = ["normal", "slave", "pubsub"];
            Ok(names.iter().zip(limits).map(|(n, (h, s, secs))| format!("{n} {h} {s} {secs}")).collect::<Vec<_>>().join(" "))
        }
        Special::OomScoreAdjValues => {
            if args.len() != 3 {
                return err("wrong number of arguments");
            }
            let mut values = Vec::new();
            for a in args {
                match c_strtoll(a, 10) {
                    Some(v) if (-2000..=2000).contains(&v) => values.push(v.to_string()),
                    _ => return err("Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
                }
            }
            Ok(values.join(" "))
        }
        Special::NotifyKeyspaceEvents => match keyspace_events(args.first().copied().unwrap_or("")) {
            Some(flags) => Ok(flags),
            None => err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        },
        Special::Bind => {
            if args.len() > 16 {
                return err("Too many bind addresses specified.");
            }
            Ok(args.join(" "))
        }
        Special::ReplicaOf => {
            if args.len() != 2 {
                return err("wrong number of arguments");
            }
            if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                return Ok(String::new());
            }
            match c_strtoll(args[1], 10) {
                Some(port) if (0..=65535).contains(&port) => Ok(format!("{} {}", args[0], port)),
                _ => err("Invalid master port"),
            }
        }
        Special::LatencyTrackingInfoPercentiles => {
            let args: &[&str] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
            let mut out = Vec::new();
            for a in args {
                let Some(p) = string2d(a.as_bytes()) else {
                    return err("Invalid latency-tracking-info-percentiles parameters");
                };
                if !(0.0..=100.0).contains(&p) {
                    return err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
                }
                // "%f", then trimDoubleString.
                let s = format!("{p:.6}");
                out.push(s.trim_end_matches('0').trim_end_matches('.').to_string());
            }
            Ok(out.join(" "))
        }
    }
}

/// `client-output-buffer-limit`'s (hard bytes, soft bytes, soft seconds) per class: normal,
/// replica, pubsub.
pub(crate) fn parse_obuf_limits(text: &str) -> [(u64, u64, i64); 3] {
    let mut limits = [(0, 0, 0), (268_435_456, 67_108_864, 60), (33_554_432, 8_388_608, 60)];
    let words: Vec<&str> = text.split(' ').collect();
    for (i, group) in words.chunks(4).enumerate().take(3) {
        if let [_, h, s, secs] = group {
            limits[i] = (h.parse().unwrap_or(0), s.parse().unwrap_or(0), secs.parse().unwrap_or(0));
        }
    }
    limits
}

/// `keyspaceEventsStringToFlags` then `keyspaceEventsFlagsToString`: the canonical spelling.
fn keyspace_events(s: &str) -> Option<String> {
    const CLASSES: &[(char, u32)] = &[
        ('g', 1 << 2),
        ('$', 1 << 3),
        ('l', 1 << 4),
        ('s', 1 << 5),
        ('h', 1 << 6),
        ('z', 1 << 7),
        ('x', 1 << 8),
        ('e', 1 << 9),
        ('t', 1 << 10),
        ('d', 1 << 12),
        ('n', 1 << 13),
    ];
    const KEYSPACE: u32 = 1;
    const KEYEVENT: u32 = 1 << 1;
    const KEY_MISS: u32 = 1 << 11;
    // 'A' is every class but 'm' and 'n'.
    const ALL: u32 = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 12);
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            c => CLASSES.iter().find(|(k, _)| *k == c)?.1,
        };
    }
    let mut out = String::new();
    if flags & ALL == ALL {
        // 'n' is outside 'A' but Redis prints it only in the per-class branch: "An" reads "A".
        out.push('A');
    } else {
        for (c, bit) in CLASSES {
            if flags & bit != 0 {
                out.push(*c);
            }
        }
    }
    if flags & KEYSPACE != 0 {
        out.push('K');
    }
    if flags & KEYEVENT != 0 {
        out.push('E');
    }
    if flags & KEY_MISS != 0 {
        out.push('m');
    }
    Some(out)
}
