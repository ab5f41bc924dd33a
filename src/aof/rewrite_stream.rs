//! A stream in the RESP rewrite (`rewriteStreamObject`, 7.0.15): the commands that rebuild its
//! entries, its IDs and counters, its groups and their pending entries.
//!
//! ```text
//! XADD k <id> f v …                      one per live entry, in ID order
//! XADD k MAXLEN 0 0-1 x y                instead, for a stream without entries
//! XSETID k <last_id> ENTRIESADDED <n> MAXDELETEDID <id>
//! XGROUP CREATE k <group> <last_id> ENTRIESREAD <n>          per group (-1: unknown)
//! XCLAIM k <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> JUSTID FORCE
//!                                        per pending entry, by consumer, in ID order
//! XGROUP CREATECONSUMER k <group> <consumer>                 a consumer with nothing pending
//! ```
//!
//! No 64-item batching here: Redis writes one XADD per entry. The XCLAIMs carry the delivery
//! time and count, so the PEL comes back as it was; they carry no LASTID (the XGROUP CREATE set
//! it).

use crate::keyspace::stream::{Stream, StreamId};
use crate::resp::encode_command;

/// Appends the commands that rebuild stream `s` at `key`.
pub fn rewrite_stream(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    if s.length != 0 {
        let mut it = s.iter(None, None, false);
        while let Some(e) = it.next_entry() {
            let id = e.id.to_string();
            let mut argv: Vec<Vec<u8>> = Vec::with_capacity(3 + e.fields.len());
            argv.push(b"XADD".to_vec());
            argv.push(key.to_vec());
            argv.push(id.into_bytes());
            argv.extend(e.fields.iter().map(|f| f.to_vec()));
            encode_command(out, &argv);
        }
    } else {
        // The XADD MAXLEN 0 trick: an entry added and trimmed away leaves an empty stream.
        let id = StreamId::new(0, 1).to_string();
        encode_command(out, &[b"XADD".as_slice(), key, b"MAXLEN", b"0", id.as_bytes(), b"x", b"y"]);
    }
    let (last, added, maxdel) = (s.last_id.to_string(), s.entries_added.to_string(), s.max_deleted_entry_id.to_string());
    encode_command(
        out,
        &[b"XSETID".as_slice(), key, last.as_bytes(), b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", maxdel.as_bytes()],
    );
    for (name, g) in &s.cgroups {
        let (last, read) = (g.last_id.to_string(), g.entries_read.to_string());
        encode_command(out, &[b"XGROUP".as_slice(), b"CREATE", key, name, last.as_bytes(), b"ENTRIESREAD", read.as_bytes()]);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode_command(out, &[b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let (id, time, count) = (id.to_string(), nack.delivery_time.to_string(), (nack.delivery_count as i64).to_string());
                encode_command(
                    out,
                    &[
                        b"XCLAIM".as_slice(),
                        key,
                        name,
                        cname,
                        b"0",
                        id.as_bytes(),
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}
