//! RESP2, the Redis serialization protocol: the wire format of clients **and** of the AOF.
//!
//! A command is a multibulk: `*<argc>\r\n` then, per argument, `$<len>\r\n<bytes>\r\n`.
//! `SET k v` is `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n`, and that is exactly what
//! `feedAppendOnlyFile` appends to the incr file. Clients may also send *inline* commands
//! (`SET k v\r\n`, split like a shell line with quotes), which is what `telnet` users type.
//!
//! Decoding is incremental: [`parse_command`] returns `Ok(None)` when the buffer holds only part of
//! a command ("need more bytes" is not an error) and a [`ProtocolError`] carrying Redis's exact
//! message when the bytes can never become a command.
//!
//! Compared with Redis: the limits are the same (`proto-max-bulk-len` 512 MB, 64 KB inline and
//! length lines, multibulk count up to `INT_MAX`), and so are the error strings.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::borrow::Cow;

use crate::reply::Reply;
use crate::util::string2ll;

/// `PROTO_INLINE_MAX_SIZE`: the longest inline command, and the longest `*`/`$` line.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// `proto-max-bulk-len` default.
pub const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

impl ProtocolError {
    /// The reply Redis sends before closing the connection.
    pub fn reply(&self) -> Reply {
        Reply::error(format!("ERR Protocol error: {}", self.0))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bulk_len: i64,
    /// The client has not authenticated yet (`authRequired`): Redis then refuses more than
    /// [`UNAUTH_MAX_MULTIBULK`] arguments and bulks over [`UNAUTH_MAX_BULK_LEN`] bytes before
    /// buffering them, so that a stranger cannot make the server allocate.
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: PROTO_MAX_BULK_LEN, unauthenticated: false }
    }
}

/// The most arguments an unauthenticated client's multibulk may announce.
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// The longest bulk an unauthenticated client may announce.
pub const UNAUTH_MAX_BULK_LEN: i64 = 16384;

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Parses one command from the front of `buf` into `args`.
/// Returns the number of bytes consumed; `args` is empty when the bytes were an empty command
/// (an empty inline line or `*0`), which Redis silently skips.
pub fn parse_command<'a>(buf: &'a [u8], args: &mut Vec<Cow<'a, [u8]>>, limits: Limits) -> Result<Option<usize>, ProtocolError> {
    args.clear();
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(buf, args, limits),
        Some(_) => parse_inline(buf, args),
    }
}

fn parse_multibulk<'a>(buf: &'a [u8], args: &mut Vec<Cow<'a, [u8]>>, limits: Limits) -> Result<Option<usize>, ProtocolError> {
    let Some(nl) = find_crlf(buf) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError("too big mbulk count string"));
        }
        return Ok(None);
    };
    let count = buf.get(1..nl).and_then(string2ll).filter(|&n| n <= i64::from(i32::MAX));
    let Some(count) = count else {
        return Err(ProtocolError("invalid multibulk length"));
    };
    if count > UNAUTH_MAX_MULTIBULK && limits.unauthenticated {
        return Err(ProtocolError("unauthenticated multibulk length"));
    }
    let mut pos = nl + 2;
    if count <= 0 {
        return Ok(Some(pos));
    }
    // Do not trust the count for the allocation: a client may announce 2^31 arguments.
    args.reserve(usize::try_from(count).unwrap_or(usize::MAX).min(1024));
    for _ in 0..count {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(nl) = find_crlf(rest) else {
            if rest.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError("too big bulk count string"));
            }
            return Ok(None);
        };
        match rest.first() {
            Some(b'$') => {}
            Some(&c) => return Err(ProtocolError(expected_dollar(c))),
            None => return Ok(None),
        }
        let len = rest.get(1..nl).and_then(string2ll);
        let Some(len) = len.filter(|&l| l >= 0 && l <= limits.max_bulk_len) else {
            return Err(ProtocolError("invalid bulk length"));
        };
        if len > UNAUTH_MAX_BULK_LEN && limits.unauthenticated {
            return Err(ProtocolError("unauthenticated bulk length"));
        }
        let start = pos + nl + 2;
        // A length this host cannot address (wasm32: 32-bit usize, with proto-max-bulk-len
        // raised past 4 GB) could never be buffered: refused like any invalid length.
        let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)).filter(|e| e.checked_add(2).is_some()) else {
            return Err(ProtocolError("invalid bulk length"));
        };
        // Like Redis, the two bytes after the payload are skipped, not checked.
        if buf.len() < end + 2 {
            return Ok(None);
        }
        args.push(Cow::Borrowed(buf.get(start..end).unwrap_or_default()));
        pos = end + 2;
    }
    Ok(Some(pos))
}

/// Redis formats this one with `%c`.
fn expected_dollar(c: u8) -> &'static str {
    // Interned once: a 'static message for every possible byte.
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| (0..=255u8).map(|b| format!("expected '$', got '{}'", char::from(b))).collect());
    names.get(usize::from(c)).map_or("expected '$'", |s| s.as_str())
}

fn parse_inline<'a>(buf: &'a [u8], args: &mut Vec<Cow<'a, [u8]>>) -> Result<Option<usize>, ProtocolError> {
    // Redis finds the newline with `strchr`, which stops at a NUL byte: a line with a NUL before
    // its `\n` never completes (until it is too big).
    let Some(nl) = buf.iter().position(|&c| c == b'\n' || c == 0).filter(|&i| buf.get(i) == Some(&b'\n')) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = buf.get(..nl).unwrap_or_default();
    if line.last() == Some(&b'\r') {
        line = line.get(..line.len() - 1).unwrap_or_default();
    }
    let Some(parts) = split_args(line) else {
        return Err(ProtocolError("unbalanced quotes in request"));
    };
    args.extend(parts.into_iter().map(Cow::Owned));
    Ok(Some(nl + 1))
}

/// Redis's `sdssplitargs`: splits a line like a shell, with `"…"` (C escapes, `\xHH`) and
/// `'…'` quoting. `None` for unbalanced quotes or a closing quote not followed by a space.
/// The line is a C string there: it ends at its first NUL byte.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = line.split(|&c| c == 0).next().unwrap_or_default();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| line.get(i).copied();
    loop {
        while at(i).is_some_and(is_c_space) {
            i += 1;
        }
        if at(i).is_none() {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = at(i);
            if inq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if at(i + 1) == Some(b'x')
                            && at(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
                            && at(i + 3).is_some_and(|c| c.is_ascii_hexdigit()) =>
                    {
                        let hex = |c: u8| match c {
                            b'0'..=b'9' => c - b'0',
                            b'a'..=b'f' => c - b'a' + 10,
                            b'A'..=b'F' => c - b'A' + 10,
                            _ => 0,
                        };
                        cur.push(hex(at(i + 2).unwrap_or(b'0')) * 16 + hex(at(i + 3).unwrap_or(b'0')));
                        i += 3;
                    }
                    Some(b'\\') if at(i + 1).is_some() => {
                        i += 1;
                        cur.push(match at(i).unwrap_or(0) {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        // A closing quote must be followed by a space or the end.
                        if at(i + 1).is_some_and(|c| !is_c_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(c) => cur.push(c),
                }
            } else if insq {
                match c {
                    None => return None,
                    Some(b'\\') if at(i + 1) == Some(b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(i + 1).is_some_and(|c| !is_c_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(c) => cur.push(c),
                }
            } else {
                // An unquoted run (most arguments) is copied at once, not byte by byte.
                let rest = line.get(i..).unwrap_or_default();
                let run = rest.iter().take_while(|&&c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0 | b'"' | b'\'')).count();
                if run > 0 {
                    cur.extend_from_slice(rest.get(..run).unwrap_or_default());
                    i += run;
                    continue;
                }
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(c) => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// C `isspace`: unlike `u8::is_ascii_whitespace`, it includes the vertical tab.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Appends `$<len>\r\n<bytes>\r\n`.
pub fn encode_bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    crate::reply::push_int(out, i64::try_from(b.len()).unwrap_or(i64::MAX));
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Appends a command as a RESP multibulk, the way `catAppendOnlyGenericCommand` does.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.push(b'*');
    crate::reply::push_int(out, i64::try_from(argv.len()).unwrap_or(i64::MAX));
    out.extend_from_slice(b"\r\n");
    for a in argv {
        encode_bulk(out, a.as_ref());
    }
}

/// Parses one **reply** (what a server sends back), RESP2 or RESP3: used by tests, the CLI and
/// tools that talk to a real Redis. `Ok(None)` means more bytes are needed. The RESP3 types
/// come back as their [`Reply`] variants (`_` as `Nil`), so that encoding the result for the
/// same protocol gives the same bytes.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let Some(nl) = find_crlf(buf) else {
        return Ok(None);
    };
    let line = buf.get(1..nl).unwrap_or_default();
    let text = || String::from_utf8_lossy(line).into_owned();
    let after = nl + 2;
    // The payload of a `$` / `=` frame of `n` bytes.
    let blob = |n: i64| -> Result<Option<(&[u8], usize)>, ProtocolError> {
        let Some(end) = usize::try_from(n).ok().and_then(|n| after.checked_add(n)).filter(|e| e.checked_add(2).is_some()) else {
            return Err(ProtocolError("invalid bulk length"));
        };
        if buf.len() < end + 2 {
            return Ok(None);
        }
        Ok(Some((buf.get(after..end).unwrap_or_default(), end + 2)))
    };
    // `n` replies after the header line.
    let items = |n: i64| -> Result<Option<(Vec<Reply>, usize)>, ProtocolError> {
        let mut items = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(1024));
        let mut pos = after;
        for _ in 0..n {
            match parse_reply(buf.get(pos..).unwrap_or_default())? {
                None => return Ok(None),
                Some((r, used)) => {
                    items.push(r);
                    pos += used;
                }
            }
        }
        Ok(Some((items, pos)))
    };
    let pairs = |items: Vec<Reply>| {
        let mut it = items.into_iter();
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        out
    };
    let len = |what: &'static str| string2ll(line).ok_or(ProtocolError(what));
    match buf.first() {
        Some(b'+') => Ok(Some((Reply::Status(Cow::Owned(text())), after))),
        Some(b'-') => Ok(Some((Reply::Error(Cow::Owned(text())), after))),
        Some(b':') => {
            let n = string2ll(line).ok_or(ProtocolError("invalid integer reply"))?;
            Ok(Some((Reply::Int(n), after)))
        }
        Some(b'$') => {
            let n = len("invalid bulk length")?;
            if n < 0 {
                return Ok(Some((Reply::Nil, after)));
            }
            Ok(blob(n)?.map(|(b, used)| (Reply::Bulk(b.to_vec()), used)))
        }
        Some(b'*') => {
            let n = len("invalid multibulk length")?;
            if n < 0 {
                return Ok(Some((Reply::NilArray, after)));
            }
            Ok(items(n)?.map(|(v, used)| (Reply::Array(v), used)))
        }
        Some(b'_') if line.is_empty() => Ok(Some((Reply::Nil, after))),
        Some(b'#') => match line {
            b"t" => Ok(Some((Reply::Bool(true), after))),
            b"f" => Ok(Some((Reply::Bool(false), after))),
            _ => Err(ProtocolError("invalid boolean reply")),
        },
        Some(b',') => {
            let d = match line {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                _ => crate::util::string2d(line).ok_or(ProtocolError("invalid double reply"))?,
            };
            Ok(Some((Reply::Double(d), after)))
        }
        Some(b'(') => Ok(Some((Reply::BigNumber(text()), after))),
        Some(b'=') => {
            let n = len("invalid verbatim length")?;
            let Some((b, used)) = blob(n)? else { return Ok(None) };
            let (format, body) = match (b.get(..3), b.get(3), b.get(4..)) {
                (Some(f), Some(b':'), Some(body)) => (String::from_utf8_lossy(f).into_owned(), body),
                _ => return Err(ProtocolError("invalid verbatim string")),
            };
            Ok(Some((Reply::Verbatim(Cow::Owned(format), body.to_vec()), used)))
        }
        Some(b'~') => Ok(items(len("invalid set length")?)?.map(|(v, used)| (Reply::Set(v), used))),
        Some(b'>') => Ok(items(len("invalid push length")?)?.map(|(v, used)| (Reply::Push(v), used))),
        Some(b'%') => {
            let n = len("invalid map length")?;
            Ok(items(n.saturating_mul(2))?.map(|(v, used)| (Reply::Map(pairs(v)), used)))
        }
        Some(b'|') => {
            let n = len("invalid attribute length")?;
            let Some((v, used)) = items(n.saturating_mul(2))? else { return Ok(None) };
            match parse_reply(buf.get(used..).unwrap_or_default())? {
                None => Ok(None),
                Some((r, more)) => Ok(Some((Reply::Attribute(pairs(v), Box::new(r)), used + more))),
            }
        }
        _ => Err(ProtocolError("unknown reply type")),
    }
}

/// `sdscatrepr`: how redis-cli and Redis logs quote binary-safe strings.
pub fn repr(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<(Vec<Vec<u8>>, usize)>, ProtocolError> {
        let mut args = Vec::new();
        Ok(parse_command(buf, &mut args, Limits::default())?.map(|n| (args.iter().map(|a| a.to_vec()).collect(), n)))
    }

    #[test]
    fn multibulk_incremental() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (args, n) = parse(full).unwrap().unwrap();
        assert_eq!(n, full.len());
        assert_eq!(args, vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]);
    }

    #[test]
    fn inline_commands() {
        let (args, n) = parse(b"set k \"a b\\x41\"\r\nget k\r\n").unwrap().unwrap();
        assert_eq!(args, vec![b"set".to_vec(), b"k".to_vec(), b"a bA".to_vec()]);
        assert_eq!(n, 17);
        assert_eq!(parse(b"\r\n").unwrap().unwrap().0.len(), 0);
        assert_eq!(parse(b"set \"k\r\n").unwrap_err().0, "unbalanced quotes in request");
    }

    #[test]
    fn split_args_joins_quoted_parts_to_unquoted_runs_as_sdssplitargs() {
        let split = |l: &[u8]| split_args(l).map(|v| v.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>());
        assert_eq!(split(b"SET k ab\"c d\""), Some(vec!["SET".into(), "k".into(), "abc d".into()]));
        assert_eq!(split(b"a'b c'  \td\r\ne"), Some(vec!["ab c".into(), "d".into(), "e".into()]));
        assert_eq!(split(b"  x\x0by  "), Some(vec!["x\x0by".into()]), "a vertical tab ends no unquoted argument");
        assert_eq!(split(b"ab\"c\"d"), None, "a closing quote must be followed by a space");
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(parse(b"*x\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse(b"*1\r\n!3\r\n").unwrap_err().0, "expected '$', got '!'");
        assert_eq!(parse(b"*1\r\n$-3\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse(b"*1\r\n$999999999999\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse(&vec![b'a'; 70000]).unwrap_err().0, "too big inline request");
    }

    #[test]
    fn reply_round_trip() {
        let r = Reply::Array(vec![Reply::Int(-3), Reply::Nil, Reply::bulk("x"), Reply::status("OK"), Reply::err("ERR e"), Reply::NilArray]);
        let bytes = r.to_resp();
        assert_eq!(parse_reply(&bytes).unwrap(), Some((r, bytes.len())));
    }

    /// Every RESP3 type parses back to the reply that was encoded, byte for byte.
    #[test]
    fn resp3_reply_round_trip() {
        let b = Reply::bulk;
        let r = Reply::Array(vec![
            Reply::Map(vec![(b("k"), Reply::Double(0.1)), (b("inf"), Reply::Double(f64::NEG_INFINITY))]),
            Reply::Set(vec![b("a"), Reply::Bool(true), Reply::Bool(false)]),
            Reply::Nil,
            Reply::BigNumber("1234567999999999999999999999999999999".into()),
            Reply::Verbatim("txt".into(), b"two\nlines".to_vec()),
            Reply::Push(vec![b("message")]),
            Reply::Attribute(vec![(b("key-popularity"), Reply::Int(90))], Box::new(b("real"))),
        ]);
        let bytes = r.to_resp_proto(3);
        let (parsed, used) = parse_reply(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(parsed.to_resp_proto(3), bytes);
        assert_eq!(parsed, r);
        for cut in 0..bytes.len() {
            assert_eq!(parse_reply(&bytes[..cut]).unwrap(), None, "a prefix of {cut} bytes needs more");
        }
    }
}
