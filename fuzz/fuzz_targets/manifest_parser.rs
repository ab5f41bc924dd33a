//! The manifest parser on any bytes; what parses must write back to bytes that parse to the
//! same manifest (and those bytes are a fixed point).
//! The property checked is `aof_lab::fuzzing::manifest_parser`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::manifest_parser(data));
