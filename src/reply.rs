//! Replies: what a command answers, before it is encoded for the client's protocol.
//!
//! A command says what Redis's `addReplyMapLen` / `addReplyDouble` / `addReplyNull` / … say, and
//! the encoder writes it in the protocol of the connection (`c->resp`, 2 unless `HELLO 3`
//! switched it), as `networking.c` does:
//!
//! | reply | RESP2 | RESP3 |
//! | --- | --- | --- |
//! | `Nil` (addReplyNull), `NilArray` (addReplyNullArray) | `$-1`, `*-1` | `_` |
//! | `Map` (addReplyMapLen) | `*2N` then key, value, … | `%N` then key, value, … |
//! | `Set` (addReplySetLen) | `*N` | `~N` |
//! | `Double` (addReplyDouble) | `$len` `%.17g` (`inf`, `-inf`) | `,%.17g` (`,inf`, `,-inf`) |
//! | `HumanDouble` (addReplyHumanLongDouble) | the text as a bulk string | `,` the text |
//! | `BigNumber` (addReplyBigNum) | the digits as a bulk string | `(` the digits |
//! | `Verbatim` (addReplyVerbatim) | the text as a bulk string | `=len` `txt:` the text |
//! | `Bool` (addReplyBool) | `:1` / `:0` | `#t` / `#f` |
//! | `Push` (addReplyPushLen) | `*N` (pub/sub messages) | `>N` |
//! | `Attribute` (addReplyAttributeLen) | the reply alone | `|N` pairs, then the reply |
//!
//! Where Redis changes the *structure* with the protocol (`ZRANGE … WITHSCORES` is a flat
//! array over RESP2 and an array of `[member, score]` pairs over RESP3), the command reads the
//! client's protocol itself ([`crate::server::Ctx::resp3`]), as Redis tests `c->resp`.
//!
//! Command failures are replies (`-ERR …`), never Rust errors: that is how Redis reports them
//! and how a client sees them. The exact strings of the common errors live here once, spelled
//! as in Redis 7.0.15's `server.c` shared objects.

use std::borrow::Cow;

mod render;

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
    Verbatim(Cow<'static, str>, Vec<u8>),
    /// RESP3 `#t` / `#f` (addReplyBool).
    Bool(bool),
    /// RESP3 `>N` (addReplyPushLen): an out-of-band message (pub/sub, invalidation).
    Push(Vec<Reply>),
    /// RESP3 `|N` (addReplyAttributeLen): N key/value pairs about the reply that follows;
    /// a RESP2 client gets the reply alone.
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
    /// Out-of-band `Push` frames sent right before the reply (`DEBUG PROTOCOL push`); a RESP2
    /// client gets the reply alone (Redis pushes only to RESP3 clients).
    WithPushes(Vec<Reply>, Box<Reply>),
    /// Several replies to one command, sent one after the other in the client's protocol:
    /// SUBSCRIBE a b answers one confirmation per channel, and a message a RESP3 client
    /// publishes to a channel it listens to reaches it before PUBLISH's count. Inside EXEC's
    /// array they are written in place, so the array's length counts them as one element, as
    /// Redis's does (its `addReplyArrayLen(c, count)` counts commands, not replies).
    Many(Vec<Reply>),
}

/// `c->resp`: the protocol a connection speaks (2 until `HELLO 3`).
pub const RESP2: u8 = 2;
pub const RESP3: u8 = 3;

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
    /// `addReplyDouble`: `%.17g`, a bulk string over RESP2 and a double over RESP3.
    pub fn double(d: f64) -> Reply {
        Reply::Double(d)
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
            Reply::Attribute(_, reply) | Reply::WithPushes(_, reply) => (**reply).clone(),
            _ => return None,
        })
    }

    /// Appends the RESP2 encoding of this reply (what a connection that never sent `HELLO 3`
    /// receives).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_proto(out, RESP2);
    }

    /// Appends this reply as Redis sends it to a client speaking protocol `resp` (2 or 3).
    pub fn encode_proto(&self, out: &mut Vec<u8>, resp: u8) {
        let resp3 = resp >= RESP3;
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
            Reply::Int(n) => push_line(out, b':', *n),
            Reply::Bulk(b) => crate::resp::encode_bulk(out, b),
            Reply::Nil | Reply::NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(items) => encode_aggregate(out, b'*', items, resp),
            Reply::Set(items) if resp3 => encode_aggregate(out, b'~', items, resp),
            Reply::Push(items) if resp3 => encode_aggregate(out, b'>', items, resp),
            Reply::Map(pairs) if resp3 => encode_map(out, b'%', pairs, resp),
            Reply::Double(d) if resp3 => {
                out.push(b',');
                out.extend_from_slice(crate::util::fmt_g17(*d).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::HumanDouble(d) if resp3 => {
                out.push(b',');
                out.extend_from_slice(human_double(*d).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::BigNumber(digits) if resp3 => {
                out.push(b'(');
                out.extend_from_slice(digits.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Verbatim(format, text) if resp3 => {
                push_line(out, b'=', text.len() as i64 + 4);
                // Three characters, padded with spaces (addReplyVerbatim).
                let f = format.as_bytes();
                out.extend((0..3).map(|i| f.get(i).copied().unwrap_or(b' ')));
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Bool(b) if resp3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Attribute(pairs, reply) if resp3 => {
                encode_map(out, b'|', pairs, resp);
                reply.encode_proto(out, resp);
            }
            Reply::WithPushes(pushes, reply) if resp3 => {
                for p in pushes {
                    p.encode_proto(out, resp);
                }
                reply.encode_proto(out, resp);
            }
            Reply::Many(replies) => {
                for r in replies {
                    r.encode_proto(out, resp);
                }
            }
            // A RESP2 client: what Redis downgrades each RESP3 shape to.
            Reply::Map(_)
            | Reply::Set(_)
            | Reply::Double(_)
            | Reply::HumanDouble(_)
            | Reply::BigNumber(_)
            | Reply::Verbatim(..)
            | Reply::Bool(_)
            | Reply::Push(_)
            | Reply::Attribute(..)
            | Reply::WithPushes(..) => {
                if let Some(r) = self.resp2() {
                    r.encode_proto(out, resp);
                }
            }
        }
    }

    pub fn to_resp(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// The bytes a client speaking protocol `resp` receives.
    pub fn to_resp_proto(&self, resp: u8) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_proto(&mut v, resp);
        v
    }
}

/// `<prefix><n>\r\n`.
fn push_line(out: &mut Vec<u8>, prefix: u8, n: i64) {
    out.push(prefix);
    push_int(out, n);
    out.extend_from_slice(b"\r\n");
}

fn encode_aggregate(out: &mut Vec<u8>, prefix: u8, items: &[Reply], resp: u8) {
    push_line(out, prefix, items.len() as i64);
    for r in items {
        r.encode_proto(out, resp);
    }
}

fn encode_map(out: &mut Vec<u8>, prefix: u8, pairs: &[(Reply, Reply)], resp: u8) {
    push_line(out, prefix, pairs.len() as i64);
    for (k, v) in pairs {
        k.encode_proto(out, resp);
        v.encode_proto(out, resp);
    }
}

/// `ld2string(value, LD_STR_HUMAN)` of a double: what `addReplyHumanLongDouble` writes.
pub fn human_double(d: f64) -> String {
    crate::cmd::long_double::LongDouble::from_f64(d).to_human_string()
}

/// `n` in decimal, appended to `out`.
pub(crate) fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(crate::util::ll2string(&mut [0; 20], n));
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
        assert_eq!(Reply::Verbatim("txt".into(), b"hi".to_vec()).to_resp(), b"$2\r\nhi\r\n");
        assert_eq!(Reply::Push(vec![Reply::bulk("message")]).to_resp(), b"*1\r\n$7\r\nmessage\r\n");
        assert_eq!(map.to_string(), "1) \"a\"\n2) (integer) 1\n3) \"b\"\n4) 1) \"x\"");
    }
}
