//! The RDB reader (for now the empty-base reader) on any bytes: never a panic, and the length it
//! reports lies inside the input.
//! The property checked is `aof_lab::fuzzing::rdb_reader`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::rdb_reader(data));
