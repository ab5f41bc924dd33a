//! Any bytes as an incr file, loaded with `aof-load-truncated` yes and no: never a panic, and a
//! truncated load reports an offset inside the file.
#![no_main]

use aof_lab::Config;
use aof_lab::aof::load::{AofStatus, load_single_append_only_file};
use aof_lab::server::Server;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for truncated in [true, false] {
        let mut srv = Server::new(Config { aof_load_truncated: truncated, ..Default::default() }, 1_700_000_000_000);
        let (status, valid) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", data);
        assert!(valid <= data.len() as u64);
        if !truncated {
            assert_ne!(status, AofStatus::Truncated);
        }
    }
});
