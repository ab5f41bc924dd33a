//! The multi-part AOF manifest (`appendonlydir/appendonly.aof.manifest`), Redis 7.0.
//!
//! One line per file, base first, then history, then incr files:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! Types: `b` base (an RDB or RESP snapshot), `h` history (left over from a rewrite, to be
//! deleted), `i` incr (RESP commands appended since the base). Base and incr sequence numbers
//! are independent counters, recovered on load from the base line and the **last** incr line.
//! A file name that needs quoting (spaces, control characters, quotes) is written C-escaped in
//! double quotes, as `sdscatrepr` does.
//!
//! Parsing follows `aofLoadManifestFromFile` exactly, including its error messages; the writer
//! follows `getAofManifestAsString`. The file is replaced atomically (temp file, fsync, rename,
//! directory fsync) by the caller.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use crate::resp::split_args;

/// `AOF_MANIFEST_LINE_MAX_LEN`.
pub const LINE_MAX_LEN: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofFileType {
    Base,
    History,
    Incr,
}

impl AofFileType {
    pub fn as_char(self) -> char {
        match self {
            AofFileType::Base => 'b',
            AofFileType::History => 'h',
            AofFileType::Incr => 'i',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    pub file_name: String,
    pub file_seq: i64,
    pub file_type: AofFileType,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AofManifest {
    pub base: Option<AofInfo>,
    /// Redis adds history at the head, so the newest rewrite's files come first.
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub curr_base_file_seq: i64,
    pub curr_incr_file_seq: i64,
    /// The in-memory manifest differs from the file on disk.
    pub dirty: bool,
}

/// A fatal manifest error, with what Redis logs about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line number and the trimmed line, when the error is about a line.
    pub line: Option<(usize, String)>,
    pub message: &'static str,
}

impl ManifestError {
    /// The block `aofLoadManifestFromFile` logs before `exit(1)`.
    pub fn log_lines(&self) -> Vec<String> {
        let mut out = vec!["*** FATAL AOF MANIFEST FILE ERROR ***".to_string()];
        if let Some((n, line)) = &self.line {
            out.push(format!("Reading the manifest file, at line {n}"));
            out.push(format!(">>> '{line}'"));
        }
        out.push(self.message.to_string());
        out
    }
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.log_lines().join("\n"))
    }
}

/// C `atoll` (glibc's `strtoll`): leading whitespace, optional sign, digits; stops at the first
/// non-digit; out of range, `LLONG_MAX` or `LLONG_MIN` (so `-9223372036854775808` is itself).
fn atoll(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    // Accumulated on the sign's side: i64::MIN has no positive counterpart.
    let mut v: i64 = 0;
    for c in digits.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(c - b'0');
        v = v.saturating_mul(10);
        v = if neg { v.saturating_sub(d) } else { v.saturating_add(d) };
    }
    v
}

/// `pathIsBaseName`: no `/` and no `\`.
fn is_base_name(name: &str) -> bool {
    !name.contains('/') && !name.contains('\\')
}

impl AofManifest {
    pub fn parse(content: &[u8]) -> Result<AofManifest, ManifestError> {
        let mut am = AofManifest::default();
        let mut maxseq = 0;
        let mut linenum = 0;
        let mut rest = content;
        let err = |linenum: usize, line: Option<String>, message| Err(ManifestError { line: line.map(|l| (linenum, l)), message });
        loop {
            if rest.is_empty() {
                if linenum == 0 {
                    return err(0, None, "Found an empty AOF manifest");
                }
                break;
            }
            // fgets with a 1025-byte buffer: a line without '\n' in it is "too long", which
            // also catches a last line missing its newline.
            let take = rest.len().min(LINE_MAX_LEN);
            let chunk = rest.get(..take).unwrap_or_default();
            let nl = chunk.iter().position(|&c| c == b'\n');
            let raw = match nl {
                Some(i) => chunk.get(..=i).unwrap_or_default(),
                None => chunk,
            };
            rest = rest.get(raw.len()..).unwrap_or_default();
            linenum += 1;
            if raw.first() == Some(&b'#') {
                // A long comment is consumed in buffer-sized pieces, like fgets.
                continue;
            }
            // `strchr(buf, '\n')` stops at a NUL byte, so a NUL before the newline reads as a
            // line without one.
            if nl.is_none() || raw.contains(&0) {
                return err(linenum, None, "The AOF manifest file contains too long line");
            }
            let line = String::from_utf8_lossy(raw).trim_matches([' ', '\t', '\r', '\n']).to_string();
            if line.is_empty() {
                return err(linenum, Some(line), "Invalid AOF manifest file format");
            }
            let argv = match split_args(line.as_bytes()) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return err(linenum, Some(line), "Invalid AOF manifest file format"),
            };
            let (mut name, mut seq, mut ty) = (None, 0i64, 0u8);
            for pair in argv.chunks(2) {
                let [k, v] = pair else { continue };
                let key = String::from_utf8_lossy(k);
                if key.eq_ignore_ascii_case("file") {
                    let n = String::from_utf8_lossy(v).into_owned();
                    if !is_base_name(&n) {
                        return err(linenum, Some(line), "File can't be a path, just a filename");
                    }
                    name = Some(n);
                } else if key.eq_ignore_ascii_case("seq") {
                    seq = atoll(&String::from_utf8_lossy(v));
                } else if key.eq_ignore_ascii_case("type") {
                    ty = v.first().copied().unwrap_or(0);
                }
                // Other keys are ignored, for forward compatibility (Redis 8 adds offsets).
            }
            let Some(file_name) = name.filter(|_| seq != 0 && ty != 0) else {
                return err(linenum, Some(line), "Invalid AOF manifest file format");
            };
            match ty {
                b'b' => {
                    if am.base.is_some() {
                        return err(linenum, Some(line), "Found duplicate base file information");
                    }
                    am.curr_base_file_seq = seq;
                    am.base = Some(AofInfo { file_name, file_seq: seq, file_type: AofFileType::Base });
                }
                b'h' => am.history.push(AofInfo { file_name, file_seq: seq, file_type: AofFileType::History }),
                b'i' => {
                    if seq <= maxseq {
                        return err(linenum, Some(line), "Found a non-monotonic sequence number");
                    }
                    am.curr_incr_file_seq = seq;
                    maxseq = seq;
                    am.incr.push(AofInfo { file_name, file_seq: seq, file_type: AofFileType::Incr });
                }
                _ => return err(linenum, Some(line), "Unknown AOF file type"),
            }
        }
        Ok(am)
    }

    /// `getAofManifestAsString`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for ai in self.base.iter().chain(&self.history).chain(&self.incr) {
            let name = if needs_repr(&ai.file_name) {
                format!("\"{}\"", crate::resp::repr(ai.file_name.as_bytes()))
            } else {
                ai.file_name.clone()
            };
            out.push_str(&format!("file {} seq {} type {}\n", name, ai.file_seq, ai.file_type.as_char()));
        }
        out.into_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incr.is_empty()
    }

    /// Every file the manifest names, in load order (base, then incr), without history.
    pub fn load_order(&self) -> impl Iterator<Item = &AofInfo> {
        self.base.iter().chain(&self.incr)
    }

    /// `getNewBaseFileNameAndMarkPreAsHistory`: the old base becomes history (at the head).
    pub fn new_base(&mut self, appendfilename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.file_type = AofFileType::History;
            self.history.insert(0, old);
        }
        // `++am->curr_base_file_seq` on a C long long: past LLONG_MAX (a manifest may say any
        // seq) it wraps, as redis-server 7.0.15 does, to a negative seq.
        self.curr_base_file_seq = self.curr_base_file_seq.wrapping_add(1);
        let name = format!("{appendfilename}.{}.base.{}", self.curr_base_file_seq, if rdb { "rdb" } else { "aof" });
        self.base = Some(AofInfo { file_name: name.clone(), file_seq: self.curr_base_file_seq, file_type: AofFileType::Base });
        self.dirty = true;
        name
    }

    /// `getNewIncrAofName`: a new incr file at the end of the list.
    pub fn new_incr(&mut self, appendfilename: &str) -> String {
        self.curr_incr_file_seq = self.curr_incr_file_seq.wrapping_add(1);
        let name = format!("{appendfilename}.{}.incr.aof", self.curr_incr_file_seq);
        self.incr.push(AofInfo { file_name: name.clone(), file_seq: self.curr_incr_file_seq, file_type: AofFileType::Incr });
        self.dirty = true;
        name
    }

    /// `markRewrittenIncrAofAsHistory`: every incr file but the last (the one being written)
    /// becomes history; all of them when the AOF is off.
    pub fn mark_rewritten_incr_as_history(&mut self, aof_on: bool) {
        let keep = if aof_on { 1.min(self.incr.len()) } else { 0 };
        let moved: Vec<AofInfo> = self.incr.drain(..self.incr.len() - keep).collect();
        // Redis walks from the newest to the oldest, adding each at the head of the history,
        // so the oldest ends up first.
        for mut ai in moved.into_iter().rev() {
            ai.file_type = AofFileType::History;
            self.history.insert(0, ai);
        }
        self.dirty = true;
    }
}

/// `sdsneedsrepr`.
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|c| {
        c == b'\\' || c == b'"' || c == b'\n' || c == b'\r' || c == b'\t' || c == 7 || c == 8 || !(0x20..0x7f).contains(&c) || c == b' '
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse_err(s: &str) -> ManifestError {
        AofManifest::parse(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn real_manifest_round_trips() {
        let text = "file appendonly.aof.4.base.rdb seq 4 type b\nfile appendonly.aof.3.incr.aof seq 3 type h\n\
                    file appendonly.aof.3.base.rdb seq 3 type h\nfile appendonly.aof.4.incr.aof seq 4 type i\n";
        let am = AofManifest::parse(text.as_bytes()).unwrap();
        assert_eq!(am.curr_base_file_seq, 4);
        assert_eq!(am.curr_incr_file_seq, 4);
        assert_eq!(am.history.len(), 2);
        assert_eq!(String::from_utf8(am.to_bytes()).unwrap(), text);
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(parse_err("").message, "Found an empty AOF manifest");
        assert_eq!(parse_err("x").message, "The AOF manifest file contains too long line");
        assert_eq!(parse_err("file a seq 1 type i").message, "The AOF manifest file contains too long line");
        let e = parse_err("file a seq 1 type i\nfile b seq 1 type i\n");
        assert_eq!(e.line, Some((2, "file b seq 1 type i".into())));
        assert_eq!(e.message, "Found a non-monotonic sequence number");
        assert_eq!(parse_err("file a seq 1 type b\nfile b seq 2 type b\n").message, "Found duplicate base file information");
        assert_eq!(parse_err("file a seq 1 type x\n").message, "Unknown AOF file type");
        assert_eq!(parse_err("file ../a seq 1 type b\n").message, "File can't be a path, just a filename");
        assert_eq!(parse_err("file a seq 1 type\n").message, "Invalid AOF manifest file format");
        assert_eq!(parse_err("file a seq 1 type b\n\n").message, "Invalid AOF manifest file format");
        assert_eq!(parse_err("garbage line here\n").message, "Invalid AOF manifest file format");
        assert_eq!(parse_err("file a seq 0 type b\n").message, "Invalid AOF manifest file format");
        let long = format!("file {} seq 1 type i\n", "a".repeat(1100));
        assert_eq!(parse_err(&long).message, "The AOF manifest file contains too long line");
    }

    #[test]
    fn comments_extra_keys_and_no_base() {
        let am = AofManifest::parse(b"# hello\nfile a seq 1 type i newkey newval\n").unwrap();
        assert!(am.base.is_none());
        assert_eq!(am.incr.len(), 1);
        assert!(AofManifest::parse(b"# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn quoted_names() {
        let am = AofManifest {
            base: Some(AofInfo { file_name: " file seq \n\n.aof .2.base.rdb".into(), file_seq: 2, file_type: AofFileType::Base }),
            ..Default::default()
        };
        let bytes = am.to_bytes();
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), "file \" file seq \\n\\n.aof .2.base.rdb\" seq 2 type b\n");
        assert_eq!(AofManifest::parse(&bytes).unwrap().base, am.base);
    }

    /// `atoll` is glibc's `strtoll`: out of range it is `LLONG_MAX` / `LLONG_MIN`, and
    /// `LLONG_MIN` itself reads back; `++seq` past `LLONG_MAX` wraps, as in redis-server.
    #[test]
    fn sequence_numbers_at_the_ends_of_long_long() {
        let seq = |text: &str| AofManifest::parse(format!("file a seq {text} type b\n").as_bytes()).unwrap().curr_base_file_seq;
        assert_eq!(seq("-9223372036854775808"), i64::MIN);
        assert_eq!(seq("-99999999999999999999"), i64::MIN);
        assert_eq!(seq("99999999999999999999"), i64::MAX);
        assert_eq!(seq("9223372036854775807"), i64::MAX);
        assert_eq!(seq("  +12abc"), 12);
        let mut am = AofManifest::parse(b"file b seq 9223372036854775807 type b\nfile i seq 9223372036854775807 type i\n").unwrap();
        assert_eq!(am.new_base("appendonly.aof", true), "appendonly.aof.-9223372036854775808.base.rdb");
        assert_eq!(am.new_incr("appendonly.aof"), "appendonly.aof.-9223372036854775808.incr.aof");
        // Redis then cannot read its own manifest back: an incr seq must be above 0.
        assert_eq!(AofManifest::parse(&am.to_bytes()).unwrap_err().message, "Found a non-monotonic sequence number");
    }

    #[test]
    fn rewrite_bookkeeping() {
        let mut am =
            AofManifest::parse(b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n").unwrap();
        assert_eq!(am.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
        assert_eq!(am.new_base("appendonly.aof", true), "appendonly.aof.2.base.rdb");
        am.mark_rewritten_incr_as_history(true);
        assert_eq!(
            String::from_utf8(am.to_bytes()).unwrap(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
    }
}
