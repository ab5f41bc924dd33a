//! Replies: what a command answers, before it is encoded as RESP2.
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
        }
    }

    pub fn to_resp(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
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
            }
        }
        go(self, f, 0)
    }
}
