//! Arbitrary argv sequences on an Engine (two clients, a moving clock, now and then a cron):
//! nothing may panic. The propagated AOF bytes must then load into a fresh server cleanly and,
//! unless DEBUG or CONFIG ran, rebuild the same dataset (DEBUG DIGEST).
//!
//! Input: commands separated by `\n`, arguments by ` `. A first byte below 0xF0 picks the
//! command name from the command table (so the fuzzer reaches every command quickly); otherwise
//! the first argument is the name as given. Sizes are capped so that a sequence stays cheap
//! (no 512 MB SETRANGE): at most 48 commands of 8 args of 24 bytes, no number over 5 digits.
#![no_main]

use aof_lab::aof::load::{AofStatus, load_single_append_only_file};
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::server::Server;
use aof_lab::{Config, Engine};
use libfuzzer_sys::fuzz_target;

fn too_big_number(arg: &[u8]) -> bool {
    let mut run = 0;
    for &c in arg {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run > 5 {
            return true;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let names: Vec<&str> = aof_lab::cmd::all_commands().map(|c| c.name).collect();
    let mut now = 1_700_000_000_000i64;
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, now);
    let clients = [e.connect(), e.connect()];
    let mut replayable = true;
    for line in data.split(|&c| c == b'\n').take(48) {
        let Some((&sel, rest)) = line.split_first() else { continue };
        let mut argv: Vec<&[u8]> = Vec::new();
        if sel < 0xF0 {
            argv.push(names[usize::from(sel) % names.len()].as_bytes());
        }
        argv.extend(rest.split(|&c| c == b' ').filter(|a| !a.is_empty()).take(8).map(|a| &a[..a.len().min(24)]));
        if argv.is_empty() || argv.iter().any(|a| too_big_number(a)) {
            continue;
        }
        // DEBUG LOADAOF reloads from the (never written) files and CONFIG SET can turn the
        // AOF off: after those the propagated stream no longer describes the dataset.
        replayable &= !argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"debug") || n.eq_ignore_ascii_case(b"config"));
        now += i64::from(sel & 0x0f) * 7;
        let _ = e.execute(clients[usize::from(sel >> 7)], &argv, now);
        if sel & 0x30 == 0x30 {
            e.cron(now);
            let _ = e.take_unblocked();
        }
        e.before_sleep(now);
    }
    let aof = e.take_aof_buf();
    let mut srv = Server::new(Config::default(), now);
    let (status, _) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", &aof);
    assert!(matches!(status, AofStatus::Ok | AofStatus::Empty), "propagated AOF does not load: {status:?}");
    if replayable {
        assert_eq!(
            hex(&dataset_digest(&srv.dbs)),
            hex(&dataset_digest(&e.srv.dbs)),
            "the propagated AOF rebuilds another dataset:\n{}",
            String::from_utf8_lossy(&aof)
        );
    }
});
