//! The RDB reader (for now the empty-base reader) on any bytes: never a panic, and the length it
//! reports lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = aof_lab::rdb::read_empty(data) {
        assert!(info.len <= data.len());
    }
});
