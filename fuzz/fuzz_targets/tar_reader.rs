//! The tar reader of the lab's import (`aof_lab::archive::read`) on any bytes: no panic, what it
//! reads round-trips through the writer, and an import leaves only names a server reads.
//! The property checked is `aof_lab::fuzzing::tar_reader`, which `cargo test` also runs on
//! every saved crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::tar_reader(data));
