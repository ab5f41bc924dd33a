//! Replies: what a command answers, before it is encoded as RESP2.
//!
//! The RESP3 shapes (map, set, double, big number, verbatim string, boolean, push) exist as
//! variants so that a command says what Redis's `addReplyMapLen` / `addReplyDouble` / … say;
//! [`Reply::encode`] writes what Redis 7.0.15 sends a RESP2 client for each (`networking.c`: a
//! map is a flat array of 2N, a set an array, a double `%.17g` as a bulk string, a big number
//! and a verbatim string a bulk string of their text, a boolean `:1` / `:0`, a push an array).
//!
//! Command failures are replies (`-ERR …`), never Rust errors: that is how Redis reports them
//! and how a client sees them. The exact strings of the common errors live here once, spelled
//! as in Redis 7.0.15's `server.c` shared objects.

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK\r\n`
    Status(Cow<'static, str>),
    /// `-ERR message\r\n`; the text holds the error code prefix (`ERR`, `WRONGTYPE`, …).
    Error(Cow<'static, str>),
    /// `:42\r\n`
    Int(i64),
    /// `$3\r\nfoo\r\n`
    Bulk(Vec<u8>),
    /// `$-1\r\n`
    Nil,
    /// `*-1\r\n`
    NilArray,
    /// `*N\r\n` followed by N replies.
    Array(Vec<Reply>),
    /// RESP3 `%N` (addReplyMapLen): N key/value pairs.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~N` (addReplySetLen).
    Set(Vec<Reply>),
    /// RESP3 `,` (addReplyDouble).
    Double(f64),
    /// `addReplyHumanLongDouble` (GEOPOS, WITHCOORD): the value as `ld2string(LD_STR_HUMAN)`
    /// prints it (`"%.17Lf"`, trailing zeros removed), a bulk string in RESP2 and the same text
    /// after `,` in RESP3.
    HumanDouble(f64),
    /// RESP3 `(` (addReplyBigNum): the digits as text.
    BigNumber(String),
    /// RESP3 `=` (addReplyVerbatim): a three-letter format (`txt`, `mkd`) and the text.
    Verbatim(&'static str, Vec<u8>),
    /// RESP3 `#t` / `#f` (addReplyBool).
    Bool(bool),
    /// RESP3 `>N` (addReplyPushLen): an out-of-band message (pub/sub, invalidation).
    Push(Vec<Reply>),
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OUT_OF_RANGE: &str = "ERR index out of range";
pub const DB_INDEX: &str = "ERR DB index is out of range";
pub const INCR_OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";

impl Reply {
    pub const OK: Reply = Reply::Status(Cow::Borrowed("OK"));

    pub fn ok() -> Reply {
        Reply::OK
    }
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Cow::Borrowed(s))
    }
    /// A constant error string, including its code (`ERR …`, `WRONGTYPE …`).
    pub fn err(s: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(s))
    }
    /// A formatted error; must include its code.
    pub fn error(s: String) -> Reply {
        Reply::Error(Cow::Owned(s))
    }
    pub fn wrongtype() -> Reply {
        Reply::err(WRONGTYPE)
    }
    pub fn syntax() -> Reply {
        Reply::err(SYNTAX)
    }
    pub fn not_integer() -> Reply {
        Reply::err(NOT_INTEGER)
    }
    pub fn not_float() -> Reply {
        Reply::err(NOT_FLOAT)
    }
    pub fn bulk(b: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(b.into())
    }
    pub fn bulk_opt(b: Option<impl Into<Vec<u8>>>) -> Reply {
        b.map_or(Reply::Nil, |b| Reply::Bulk(b.into()))
    }
    /// `addReplyDouble` in 7.0: `%.17g` as a bulk string (`inf`/`-inf` for infinities).
    pub fn double(d: f64) -> Reply {
        Reply::Bulk(crate::util::fmt_g17(d).into_bytes())
    }
    pub fn array_of_bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::Bulk(b.into())).collect())
    }
    /// The error from an `-ERR wrong number of arguments for '<cmd>' command` check.
    pub fn wrong_arity(name: &str) -> Reply {
        Reply::error(format!("ERR wrong number of arguments for '{name}' command"))
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// What Redis sends a RESP2 client for a RESP3 shape (one level; None for the RESP2 ones).
    pub fn resp2(&self) -> Option<Reply> {
        Some(match self {
            Reply::Map(pairs) => Reply::Array(pairs.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect()),
            Reply::Set(items) | Reply::Push(items) => Reply::Array(items.clone()),
            Reply::Double(d) => Reply::Bulk(crate::util::fmt_g17(*d).into_bytes()),
            Reply::HumanDouble(d) => Reply::Bulk(human_double(*d).into_bytes()),
            Reply::BigNumber(digits) => Reply::Bulk(digits.clone().into_bytes()),
            Reply::Verbatim(_, text) => Reply::Bulk(text.clone()),
            Reply::Bool(b) => Reply::Int(i64::from(*b)),
            _ => return None,
        })
    }

    /// Appends the RESP2 encoding of this reply.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Status(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error(s) => {
                out.push(b'-');
                // Like addReplyErrorLength: newlines would break the protocol.
                out.extend(s.bytes().map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
                out.extend_from_slice(b"\r\n");
            }
            Reply::Int(n) => {
                out.push(b':');
                push_int(out, *n);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Bulk(b) => crate::resp::encode_bulk(out, b),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                out.push(b'*');
                push_int(out, items.len() as i64);
                out.extend_from_slice(b"\r\n");
                for r in items {
                    r.encode(out);
                }
            }
            Reply::Map(_)
            | Reply::Set(_)
            | Reply::Double(_)
            | Reply::HumanDouble(_)
            | Reply::BigNumber(_)
            | Reply::Verbatim(..)
            | Reply::Bool(_)
            | Reply::Push(_) => {
                if let Some(r) = self.resp2() {
                    r.encode(out);
                }
            }
        }
    }

    pub fn to_resp(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// `ld2string(value, LD_STR_HUMAN)` of a double: what `addReplyHumanLongDouble` writes.
pub fn human_double(d: f64) -> String {
    crate::cmd::long_double::LongDouble::from_f64(d).to_human_string()
}

pub(crate) fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

impl std::fmt::Display for Reply {
    /// redis-cli's way of showing a reply, used by the lab console and the CLI.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn go(r: &Reply, f: &mut std::fmt::Formatter<'_>, indent: usize) -> std::fmt::Result {
            match r {
                Reply::Status(s) => write!(f, "{s}"),
                Reply::Error(s) => write!(f, "(error) {s}"),
                Reply::Int(n) => write!(f, "(integer) {n}"),
                Reply::Bulk(b) => write!(f, "\"{}\"", crate::resp::repr(b)),
                Reply::Nil | Reply::NilArray => write!(f, "(nil)"),
                Reply::Array(items) if items.is_empty() => write!(f, "(empty array)"),
                Reply::Array(items) => {
                    let width = items.len().to_string().len();
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            write!(f, "\n{:indent$}", "")?;
                        }
                        write!(f, "{:>width$}) ", i + 1)?;
                        go(item, f, indent + width + 2)?;
                    }
                    Ok(())
                }
                // redis-cli over RESP2 sees the RESP2 form.
                _ => match r.resp2() {
                    Some(r2) => go(&r2, f, indent),
                    None => Ok(()),
                },
            }
        }
        go(self, f, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What networking.c sends a RESP2 client for each RESP3 shape.
    #[test]
    fn resp3_shapes_downgrade_to_what_redis_sends_resp2() {
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1)), (Reply::bulk("b"), Reply::Set(vec![Reply::bulk("x")]))]);
        assert_eq!(map.to_resp(), b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$1\r\nx\r\n");
        assert_eq!(Reply::Double(1.5).to_resp(), b"$3\r\n1.5\r\n");
        assert_eq!(Reply::Double(0.1).to_resp(), b"$19\r\n0.10000000000000001\r\n");
        assert_eq!(Reply::Double(f64::NEG_INFINITY).to_resp(), b"$4\r\n-inf\r\n");
        assert_eq!(Reply::HumanDouble(13.361389338970184).to_resp(), b"$20\r\n13.36138933897018433\r\n");
        assert_eq!(Reply::HumanDouble(-0.0).to_resp(), b"$1\r\n0\r\n");
        assert_eq!(Reply::Bool(true).to_resp(), b":1\r\n");
        assert_eq!(Reply::Bool(false).to_resp(), b":0\r\n");
        assert_eq!(Reply::BigNumber("12345678901234567890".into()).to_resp(), b"$20\r\n12345678901234567890\r\n");
        assert_eq!(Reply::Verbatim("txt", b"hi".to_vec()).to_resp(), b"$2\r\nhi\r\n");
        assert_eq!(Reply::Push(vec![Reply::bulk("message")]).to_resp(), b"*1\r\n$7\r\nmessage\r\n");
        assert_eq!(map.to_string(), "1) \"a\"\n2) (integer) 1\n3) \"b\"\n4) 1) \"x\"");
    }
}
