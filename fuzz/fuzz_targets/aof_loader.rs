//! Any bytes as an incr file, loaded with `aof-load-truncated` yes and no: never a panic, and a
//! truncated load reports an offset inside the file.
//! The property checked is `aof_lab::fuzzing::aof_loader`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::aof_loader(data));
