//! Property tests of the two text formats: RESP (encode/decode of any binary argv, incremental
//! decoding, inline splitting on any bytes) and the AOF manifest (write then parse gives back
//! the manifest, whatever the file names need in quoting).

// Native only: proptest (and std::fs for fixtures) are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::borrow::Cow;

use aof_lab::aof::{AofFileType, AofInfo, AofManifest};
use aof_lab::resp::{Limits, encode_command, parse_command, repr, split_args};
use proptest::prelude::*;

fn decode_all(buf: &[u8]) -> (Vec<Vec<Vec<u8>>>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut args: Vec<Cow<[u8]>> = Vec::new();
    while let Ok(Some(n)) = parse_command(&buf[pos..], &mut args, Limits::default()) {
        pos += n;
        if !args.is_empty() {
            out.push(args.iter().map(|a| a.to_vec()).collect());
        }
    }
    (out, pos)
}

fn argv() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 1..6)
}

/// `sdsneedsrepr`: the names the manifest writer quotes.
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 7 | 8 | b' ') || !(0x20..0x7f).contains(&c))
}

/// A file name the manifest can hold: no path separators, no NUL (a C string), not empty.
fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._-]{1,20}",
        "[ a-z\"'#\\t\\n\\r\u{7}\u{8}\u{b}\u{c}=]{1,12}",
        any::<String>().prop_map(|s| s.chars().filter(|c| !matches!(c, '/' | '\\' | '\0')).take(24).collect::<String>()),
    ]
    .prop_filter("empty", |s: &String| !s.is_empty())
}

fn manifest() -> impl Strategy<Value = AofManifest> {
    let base = prop::option::of((file_name(), prop_oneof![1i64..1_000_000, -1_000_000i64..-1]));
    let history = prop::collection::vec((file_name(), 1i64..1_000_000, any::<bool>()), 0..4);
    let incr = prop::collection::vec((file_name(), 1i64..1000), 0..5);
    (base, history, incr).prop_map(|(base, history, incr)| {
        let mut am = AofManifest::default();
        if let Some((name, seq)) = base {
            am.curr_base_file_seq = seq;
            am.base = Some(AofInfo { file_name: name, file_seq: seq, file_type: AofFileType::Base });
        }
        am.history = history.into_iter().map(|(n, s, _)| AofInfo { file_name: n, file_seq: s, file_type: AofFileType::History }).collect();
        // Incr sequence numbers must grow: accumulate positive steps.
        let mut seq = 0;
        for (name, step) in incr {
            seq += step;
            am.curr_incr_file_seq = seq;
            am.incr.push(AofInfo { file_name: name, file_seq: seq, file_type: AofFileType::Incr });
        }
        am
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn resp_roundtrip(cmds in prop::collection::vec(argv(), 1..5), cut in 1usize..40) {
        let mut buf = Vec::new();
        for c in &cmds {
            encode_command(&mut buf, c);
        }
        let (decoded, used) = decode_all(&buf);
        prop_assert_eq!(&decoded, &cmds);
        prop_assert_eq!(used, buf.len());

        // The same bytes in chunks of `cut`: the client read buffer of a slow network.
        let mut querybuf = Vec::new();
        let mut got = Vec::new();
        for chunk in buf.chunks(cut) {
            querybuf.extend_from_slice(chunk);
            let (mut more, used) = decode_all(&querybuf);
            got.append(&mut more);
            querybuf.drain(..used);
        }
        prop_assert!(querybuf.is_empty());
        prop_assert_eq!(got, cmds);
    }

    #[test]
    fn resp_prefix_is_incomplete(c in argv(), cut in any::<prop::sample::Index>()) {
        let mut buf = Vec::new();
        encode_command(&mut buf, &c);
        let cut = cut.index(buf.len());
        let mut args = Vec::new();
        prop_assert_eq!(parse_command(&buf[..cut], &mut args, Limits::default()), Ok(None));
    }

    #[test]
    fn inline_and_decoder_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = split_args(&bytes);
        let _ = decode_all(&bytes);
        let mut args = Vec::new();
        let _ = parse_command(&bytes, &mut args, Limits::default());
    }

    /// redis-cli's quoting (`sdscatrepr` inside double quotes) splits back to the same argv,
    /// binary included, as long as no argument holds a NUL (a C string ends there).
    #[test]
    fn inline_quoting_roundtrip(c in prop::collection::vec(prop::collection::vec(1u8..=255, 0..16), 1..6)) {
        let line: Vec<String> = c.iter().map(|a| format!("\"{}\"", repr(a))).collect();
        prop_assert_eq!(split_args(line.join(" ").as_bytes()), Some(c.clone()));
        let mut inline = line.join(" ").into_bytes();
        inline.extend_from_slice(b"\r\n");
        let (decoded, used) = decode_all(&inline);
        prop_assert_eq!(used, inline.len());
        prop_assert_eq!(decoded, vec![c]);
    }

    #[test]
    fn manifest_roundtrip(am in manifest()) {
        prop_assume!(!am.is_empty());
        let bytes = am.to_bytes();
        let parsed = AofManifest::parse(&bytes);
        let names = || am.base.iter().chain(&am.history).chain(&am.incr).map(|ai| ai.file_name.as_str());
        if names().any(|n| n.contains('\'') && !needs_repr(n)) {
            // Redis 7.0.15 writes such a name bare, and `sdssplitargs` then reads its `'` as an
            // opening quote: the server cannot restart on its own manifest (checked on the real
            // one with `appendfilename "it's.aof"`), or reads another name (`''` reads as an
            // empty one). Same here, on purpose.
            prop_assert_ne!(parsed.as_ref().ok(), Some(&am), "{}", String::from_utf8_lossy(&bytes));
            return Ok(());
        }
        prop_assert_eq!(parsed.as_ref().ok(), Some(&am), "{}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(parsed.map(|p| p.to_bytes()).ok(), Some(bytes));
    }

    #[test]
    fn manifest_parse_never_panics(lines in prop::collection::vec("[a-z\" 'ibh0-9#\\\\/\\t\\r]{0,40}", 0..6)) {
        let text = lines.join("\n");
        let _ = AofManifest::parse(text.as_bytes());
        let _ = AofManifest::parse(format!("{text}\n").as_bytes());
    }
}
