//! Arbitrary argv sequences on an Engine (two clients, a moving clock, now and then a cron):
//! nothing may panic. The propagated AOF bytes must then load into a fresh server cleanly and,
//! unless DEBUG or CONFIG ran, rebuild the same dataset (DEBUG DIGEST).
//!
//! Input: commands separated by `\n`, arguments by ` `. A first byte below 0xF0 picks the
//! command name from the command table (so the fuzzer reaches every command quickly); otherwise
//! the first argument is the name as given. Sizes are capped so that a sequence stays cheap
//! (no 512 MB SETRANGE): at most 48 commands of 8 args of 24 bytes, no number over 5 digits.
//! The property checked is `aof_lab::fuzzing::command_exec`, which `cargo test` also runs on every saved
//! crasher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| aof_lab::fuzzing::command_exec(data));
