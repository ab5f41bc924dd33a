//! `aof-lab inspect` and the log view's record index on any bytes: records tile the file, the
//! cut lies inside it, and an index grown in two steps equals one built at once.
//! The property checked is `aof_lab::fuzzing::inspect`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::inspect(data));
