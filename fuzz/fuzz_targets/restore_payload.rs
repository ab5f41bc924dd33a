//! RESTORE of arbitrary object bytes (a good footer is appended, so the RDB object reader is
//! reached): never a panic; a value that loads DUMPs and RESTOREs to itself and survives the
//! commands of its type (HyperLogLog on strings, geo on sorted sets, streams, SORT).
//! The property checked is `aof_lab::fuzzing::restore_payload`, which `cargo test` also runs on
//! every saved crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::restore_payload(data));
