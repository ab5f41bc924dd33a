//! `redis-check-aof --fix` on any bytes held as one AOF file in memory: never a panic, and once
//! fixed, a second check finds the file valid.
//! The property checked is `aof_lab::fuzzing::check_fix`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::check_fix(data));
