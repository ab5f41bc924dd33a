//! `redis-check-aof --fix` on any bytes held as one AOF file in memory: never a panic, and once
//! fixed, a second check finds the file valid.
#![no_main]

use aof_lab::aof::check::{Mode, check};
use aof_lab::storage::memory::MemoryStorage;
use aof_lab::storage::{OpenMode, Storage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = "appendonly.aof";
    let mut st = MemoryStorage::new();
    st.open(name, OpenMode::Truncate).expect("open");
    st.write_at(name, 0, data).expect("write");
    let first = check(&mut st, name, Mode::Fix, &mut |_| true);
    if first.output.contains("Successfully truncated AOF") {
        let second = check(&mut st, name, Mode::Check, &mut |_| true);
        assert_eq!(second.exit_code, 0, "fixed file still invalid:\n{}\n---\n{}", first.output, second.output);
    }
});
