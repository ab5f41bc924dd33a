//! How redis-cli 7.0.15 shows a reply, for the lab's console and the CLI.
//!
//! `cliFormatReplyTTY` (redis-cli.c) prints each value on its own line: `(integer) 1`, a bulk
//! string quoted by `sdscatrepr`, `(nil)`, arrays numbered `1) …` with nested arrays indented
//! under their index. Over RESP3 the types keep their marks: a map `1# "key" => value`, a set
//! `1~ …`, `(double) 2.5`, `(true)` / `(false)`, a verbatim string as its text, unquoted;
//! `(empty hash)`, `(empty set)`. A connection speaking RESP2 receives the downgraded forms
//! (a map is a numbered flat array, a double a quoted string), and so it shows them.
//!
//! A few commands' replies are printed raw instead (`cliSendCommand`'s `output_raw`: INFO,
//! CLIENT LIST / INFO, LOLWUT, MEMORY DOCTOR …): the text as it is ([`Reply::render_line`]).
//!
//! Rendering streams into any `fmt::Write` and stops at its first error, so a caller that
//! wants only the head of a huge reply (the write-path trace) pays for the head alone.

use std::fmt::{self, Write};

use super::{RESP2, RESP3, Reply};

impl Reply {
    /// redis-cli's way of showing this reply (`cliFormatReplyTTY`) to a connection speaking
    /// protocol `resp`. No trailing newline.
    pub fn render(&self, resp: u8) -> String {
        let mut out = String::new();
        let _ = self.write_tty(&mut out, resp);
        out
    }

    /// [`Reply::render`] into `w`; stops at `w`'s first error.
    pub fn write_tty(&self, w: &mut impl Write, resp: u8) -> fmt::Result {
        let mut sink = Sink { w, pending: false };
        tty(self, "", &mut sink, resp >= RESP3)
    }

    /// [`Reply::render`] for the command typed as `line`: redis-cli prints the replies of INFO,
    /// CLIENT LIST / INFO, LOLWUT, MEMORY DOCTOR … raw (the text as it is, not quoted),
    /// everything else with `cliFormatReplyTTY`.
    pub fn render_line(&self, line: &str, resp: u8) -> String {
        let argv = crate::resp::split_args(line.as_bytes()).unwrap_or_default();
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        if !cli_output_raw(&argv) {
            return self.render(resp);
        }
        let mut out = String::new();
        if resp >= RESP3 {
            raw(self, &mut out);
        } else {
            raw(&self.downgraded(), &mut out);
        }
        // The console puts each reply on its own lines, as the prompt would.
        if out.ends_with('\n') {
            out.pop();
        }
        out
    }

    /// This reply with every RESP3 shape, at every depth, replaced by its RESP2 form.
    pub fn downgraded(&self) -> Reply {
        match self {
            Reply::Array(items) => Reply::Array(items.iter().map(Reply::downgraded).collect()),
            _ => match self.resp2() {
                Some(r) => r.downgraded(),
                None => self.clone(),
            },
        }
    }
}

impl fmt::Display for Reply {
    /// redis-cli's way of showing a reply to a RESP2 connection (see [`Reply::render`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_tty(f, RESP2)
    }
}

/// The commands whose reply redis-cli 7.0.15 prints raw (`cliSendCommand`).
fn cli_output_raw(argv: &[&[u8]]) -> bool {
    let is = |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    let argc = argv.len();
    is(0, "info")
        || is(0, "lolwut")
        || (argc >= 2 && is(0, "debug") && (is(1, "htstats") || is(1, "htstats-key") || is(1, "client-eviction")))
        || (argc >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (argc == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (argc >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (argc == 3 && is(0, "latency") && is(1, "graph"))
        || (argc == 2 && is(0, "latency") && is(1, "doctor"))
        || (argc >= 2 && is(0, "proxy") && is(1, "info"))
}

/// `cliFormatReplyRaw`: strings as they are, elements one per line, no trailing newline
/// (except after an error).
fn raw(r: &Reply, out: &mut String) {
    match r {
        Reply::Nil | Reply::NilArray => {}
        Reply::Error(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Reply::Status(s) => out.push_str(s),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => out.push_str(&String::from_utf8_lossy(b)),
        Reply::Bool(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Reply::Int(n) => out.push_str(&n.to_string()),
        Reply::Double(d) => out.push_str(&crate::util::fmt_g17(*d)),
        Reply::HumanDouble(d) => out.push_str(&super::human_double(*d)),
        Reply::BigNumber(text) => out.push_str(text),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                raw(item, out);
            }
        }
        Reply::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                raw(k, out);
                out.push(' ');
                raw(v, out);
            }
        }
        Reply::Attribute(_, reply) | Reply::WithPushes(_, reply) => raw(reply, out),
        Reply::Many(replies) => {
            for (i, r) in replies.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                raw(r, out);
            }
        }
    }
}

/// A writer that holds back a final newline: redis-cli ends every value with one, the console
/// shows none after the last, and a map key's is replaced by ` => ` (`sdsrange(out,0,-2)`).
struct Sink<'a, W: Write> {
    w: &'a mut W,
    pending: bool,
}

impl<W: Write> Sink<'_, W> {
    fn put(&mut self, s: &str) -> fmt::Result {
        if s.is_empty() {
            return Ok(());
        }
        if self.pending {
            self.w.write_char('\n')?;
            self.pending = false;
        }
        match s.strip_suffix('\n') {
            Some(body) => {
                self.w.write_str(body)?;
                self.pending = true;
            }
            None => self.w.write_str(s)?,
        }
        Ok(())
    }
    /// A value ends here: its newline.
    fn end(&mut self) -> fmt::Result {
        self.put("\n")
    }
}

/// `cliIsMultilineValueTTY`, on the value as the connection receives it.
fn multiline(r: &Reply, resp3: bool) -> bool {
    let items = |n: usize, first: Option<&Reply>| match n {
        0 => false,
        1 => first.is_some_and(|f| multiline(f, resp3)),
        _ => true,
    };
    match r {
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => items(v.len(), v.first()),
        Reply::Map(pairs) if resp3 => match pairs.as_slice() {
            [] => false,
            [(_, v)] => multiline(v, resp3),
            _ => true,
        },
        // A flat array of 2N: one pair is still two lines.
        Reply::Map(pairs) => !pairs.is_empty(),
        Reply::Attribute(_, reply) | Reply::WithPushes(_, reply) if !resp3 => multiline(reply, resp3),
        _ => false,
    }
}

/// `cliFormatReplyTTY` of redis-cli 7.0.15, line for line. Over RESP2 (`resp3` false) each
/// RESP3 shape is shown as its downgraded form, without building that form.
fn tty<W: Write>(r: &Reply, prefix: &str, out: &mut Sink<'_, W>, resp3: bool) -> fmt::Result {
    match r {
        Reply::Error(s) => {
            out.put("(error) ")?;
            out.put(s)?;
            out.end()
        }
        Reply::Status(s) => {
            out.put(s)?;
            out.end()
        }
        Reply::Int(n) => {
            out.put("(integer) ")?;
            out.put(&n.to_string())?;
            out.end()
        }
        Reply::Bool(b) if !resp3 => tty(&Reply::Int(i64::from(*b)), prefix, out, resp3),
        Reply::Bool(b) => out.put(if *b { "(true)\n" } else { "(false)\n" }),
        Reply::Double(d) if !resp3 => quoted(out, crate::util::fmt_g17(*d).as_bytes()),
        Reply::Double(d) => {
            out.put("(double) ")?;
            out.put(&crate::util::fmt_g17(*d))?;
            out.end()
        }
        Reply::HumanDouble(d) if !resp3 => quoted(out, super::human_double(*d).as_bytes()),
        Reply::HumanDouble(d) => {
            out.put("(double) ")?;
            out.put(&super::human_double(*d))?;
            out.end()
        }
        Reply::Bulk(b) => quoted(out, b),
        Reply::Verbatim(_, text) if !resp3 => quoted(out, text),
        // hiredis hands the text without its `txt:` mark; redis-cli prints it as it is.
        Reply::Verbatim(_, text) => {
            out.put(&String::from_utf8_lossy(text))?;
            out.end()
        }
        Reply::Nil | Reply::NilArray => out.put("(nil)\n"),
        Reply::BigNumber(digits) if !resp3 => quoted(out, digits.as_bytes()),
        // redis-cli 7.0.15 has no case for a big number: it prints this on stderr and exits.
        Reply::BigNumber(_) => out.put("Unknown reply type: 13\n"),
        // hiredis refuses the attribute type byte.
        Reply::Attribute(..) if resp3 => out.put("Error: Protocol error, got \"|\" as reply type byte\n"),
        // redis-cli's push handler prints each push as it arrives, then the reply comes.
        Reply::WithPushes(pushes, reply) if resp3 => {
            for p in pushes {
                tty(p, prefix, out, resp3)?;
            }
            tty(reply, prefix, out, resp3)
        }
        Reply::Attribute(_, reply) | Reply::WithPushes(_, reply) => tty(reply, prefix, out, resp3),
        // Each reply as redis-cli prints it when it arrives (a subscriber's messages, one by one).
        Reply::Many(replies) => {
            for r in replies {
                tty(r, prefix, out, resp3)?;
            }
            Ok(())
        }
        Reply::Array(items) => aggregate(out, prefix, items, ')', "(empty array)\n", resp3),
        Reply::Set(items) if resp3 => aggregate(out, prefix, items, '~', "(empty set)\n", resp3),
        Reply::Push(items) if resp3 => aggregate(out, prefix, items, ')', "(empty push)\n", resp3),
        Reply::Set(items) | Reply::Push(items) => aggregate(out, prefix, items, ')', "(empty array)\n", resp3),
        Reply::Map(pairs) if resp3 => {
            if pairs.is_empty() {
                return out.put("(empty hash)\n");
            }
            let width = pairs.len().to_string().len();
            let inner = format!("{prefix}{:width$}", "", width = width + 2);
            for (i, (k, v)) in pairs.iter().enumerate() {
                out.put(&format!("{}{:>width$}# ", if i == 0 { "" } else { prefix }, i + 1))?;
                tty(k, &inner, out, resp3)?;
                // The key's newline becomes the arrow.
                out.pending = false;
                out.put(" => ")?;
                // A multi-line value starts on the next line, aligned (the C code's "\n" + prefix).
                if multiline(v, resp3) {
                    out.put("\n")?;
                    out.put(&inner)?;
                }
                tty(v, &inner, out, resp3)?;
            }
            Ok(())
        }
        // Over RESP2 a map is a flat array of keys and values.
        Reply::Map(pairs) => {
            if pairs.is_empty() {
                return out.put("(empty array)\n");
            }
            let width = (pairs.len() * 2).to_string().len();
            let inner = format!("{prefix}{:width$}", "", width = width + 2);
            for (i, item) in pairs.iter().flat_map(|(k, v)| [k, v]).enumerate() {
                out.put(&format!("{}{:>width$}) ", if i == 0 { "" } else { prefix }, i + 1))?;
                tty(item, &inner, out, resp3)?;
            }
            Ok(())
        }
    }
}

fn quoted<W: Write>(out: &mut Sink<'_, W>, b: &[u8]) -> fmt::Result {
    out.put("\"")?;
    out.put(&crate::resp::repr(b))?;
    out.put("\"\n")
}

fn aggregate<W: Write>(out: &mut Sink<'_, W>, prefix: &str, items: &[Reply], sep: char, empty: &str, resp3: bool) -> fmt::Result {
    if items.is_empty() {
        return out.put(empty);
    }
    let width = items.len().to_string().len();
    let inner = format!("{prefix}{:width$}", "", width = width + 2);
    for (i, item) in items.iter().enumerate() {
        out.put(&format!("{}{:>width$}{sep} ", if i == 0 { "" } else { prefix }, i + 1))?;
        tty(item, &inner, out, resp3)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rendered straight, and rendered after downgrading the reply, RESP2 shows the same.
    #[test]
    fn resp2_rendering_equals_the_downgraded_reply() {
        let b = Reply::bulk;
        let r = Reply::Array(vec![
            Reply::Map(vec![(b("k"), Reply::Double(0.5)), (b("s"), Reply::Set(vec![b("x"), b("y")]))]),
            Reply::Bool(true),
            Reply::Verbatim("txt".into(), b"a\nb".to_vec()),
            Reply::Map(vec![]),
            Reply::BigNumber("123".into()),
        ]);
        assert_eq!(r.render(RESP2), r.downgraded().render(RESP3));
        assert_eq!(
            r.render(RESP3),
            "1) 1# \"k\" => (double) 0.5\n   2# \"s\" => \n      1~ \"x\"\n      2~ \"y\"\n2) (true)\n3) a\nb\n4) (empty hash)\n5) Unknown reply type: 13"
        );
    }

    /// A bounded writer stops the rendering early (the write-path trace shows a head).
    #[test]
    fn rendering_stops_at_the_writers_first_error() {
        struct Ten(String);
        impl Write for Ten {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                for c in s.chars() {
                    if self.0.len() == 10 {
                        return Err(fmt::Error);
                    }
                    self.0.push(c);
                }
                Ok(())
            }
        }
        let big = Reply::Array((0..100_000).map(Reply::Int).collect());
        let mut w = Ten(String::new());
        assert!(big.write_tty(&mut w, RESP2).is_err());
        assert_eq!(w.0, "     1) (i");
    }
}
