//! The manifest parser on any bytes; what parses must write back to bytes that parse to the
//! same manifest (and those bytes are a fixed point).
#![no_main]

use aof_lab::aof::AofManifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(am) = AofManifest::parse(data) {
        let bytes = am.to_bytes();
        if am.is_empty() {
            return; // an empty manifest writes as zero bytes, which parse refuses
        }
        let again = AofManifest::parse(&bytes).expect("a written manifest must parse");
        assert_eq!(again, am);
        assert_eq!(again.to_bytes(), bytes);
    }
});
