//! The manifest parser on any bytes; what parses must write back to bytes that parse to the
//! same manifest (and those bytes are a fixed point).
#![no_main]

use aof_lab::aof::AofManifest;
use libfuzzer_sys::fuzz_target;

/// Redis 7.0.15 writes manifests it cannot read back: a line longer than
/// `AOF_MANIFEST_LINE_MAX_LEN` (a long binary name, each byte quoted as `\xHH`), or a bare name
/// holding a `'` (`sdsneedsrepr` does not quote it, `sdssplitargs` reads it as a quote), or an
/// empty name (parsed from `''`, written bare: the line loses a field). The round trip is only
/// asked of the others.
fn redis_rereads(am: &AofManifest, bytes: &[u8]) -> bool {
    let needs_repr =
        |s: &str| s.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 7 | 8 | b' ') || !(0x20..0x7f).contains(&c));
    bytes.split_inclusive(|&c| c == b'\n').all(|l| l.len() <= aof_lab::aof::manifest::LINE_MAX_LEN)
        && !am
            .base
            .iter()
            .chain(&am.history)
            .chain(&am.incr)
            .any(|ai| ai.file_name.is_empty() || (ai.file_name.contains('\'') && !needs_repr(&ai.file_name)))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(am) = AofManifest::parse(data) {
        let bytes = am.to_bytes();
        if am.is_empty() || !redis_rereads(&am, &bytes) {
            return; // an empty manifest writes as zero bytes, which parse refuses
        }
        let again = AofManifest::parse(&bytes).expect("a written manifest must parse");
        assert_eq!(again, am);
        assert_eq!(again.to_bytes(), bytes);
    }
});
