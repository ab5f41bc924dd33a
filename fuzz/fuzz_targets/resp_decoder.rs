//! `parse_command` is incremental: however the bytes arrive (split into any chunks), the commands
//! decoded, and the protocol error that ends them, are those of the whole buffer at once.
//! Every decoded command also survives `encode_command` → `parse_command` unchanged.
//! The property checked is `aof_lab::fuzzing::resp_decoder`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::resp_decoder(data));
