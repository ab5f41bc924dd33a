//! `parse_command` is incremental: however the bytes arrive (split into any chunks), the commands
//! decoded, and the protocol error that ends them, are those of the whole buffer at once.
//! Every decoded command also survives `encode_command` → `parse_command` unchanged.
#![no_main]

use std::borrow::Cow;

use aof_lab::resp::{Limits, ProtocolError, encode_command, parse_command};
use libfuzzer_sys::fuzz_target;

/// Decodes every complete command of `buf`; returns (commands, consumed, error).
fn drain(buf: &[u8], out: &mut Vec<Vec<Vec<u8>>>) -> (usize, Option<ProtocolError>) {
    let mut pos = 0;
    let mut args: Vec<Cow<[u8]>> = Vec::new();
    loop {
        match parse_command(&buf[pos..], &mut args, Limits::default()) {
            Ok(None) => return (pos, None),
            Ok(Some(n)) => {
                assert!(n > 0, "parse_command consumed nothing");
                pos += n;
                if !args.is_empty() {
                    out.push(args.iter().map(|a| a.to_vec()).collect());
                }
            }
            Err(e) => return (pos, Some(e)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Above 64 KB the inline/count-line limits make the outcome depend on the read sizes, in
    // Redis too; below, it must not.
    if data.len() < 2 || data.len() > 60_000 {
        return;
    }
    let (ctrl, input) = data.split_at(data.len().min(4).min(data.len() - 1));

    let mut whole = Vec::new();
    let (_, whole_err) = drain(input, &mut whole);

    // The same bytes fed in chunks whose sizes come from `ctrl`, like a client's read buffer.
    let mut pieces = Vec::new();
    let mut querybuf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut i = 0;
    let mut split_err = None;
    while fed < input.len() {
        let size = (usize::from(ctrl[i % ctrl.len()]) % 17 + 1).min(input.len() - fed);
        i += 1;
        querybuf.extend_from_slice(&input[fed..fed + size]);
        fed += size;
        let (used, err) = drain(&querybuf, &mut pieces);
        querybuf.drain(..used);
        if err.is_some() {
            split_err = err;
            break;
        }
    }
    assert_eq!(whole, pieces, "commands differ between whole and split input");
    assert_eq!(whole_err, split_err, "errors differ between whole and split input");

    for argv in &whole {
        let mut enc = Vec::new();
        encode_command(&mut enc, argv);
        let mut args = Vec::new();
        let n = parse_command(&enc, &mut args, Limits::default());
        assert_eq!(n, Ok(Some(enc.len())));
        let back: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        assert_eq!(&back, argv);
    }
});
