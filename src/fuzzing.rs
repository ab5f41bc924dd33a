//! The checks of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`). They live in the library so
//! that `cargo test` replays every saved crasher (`tests/fixtures/corrupt/`) through the very same
//! code the fuzzer runs. Each function takes arbitrary bytes and panics on a violated property.

use std::borrow::Cow;

use crate::aof::AofManifest;
use crate::aof::check::{Mode, check};
use crate::aof::load::{AofStatus, load_single_append_only_file};
use crate::keyspace::digest::{dataset_digest, hex};
use crate::resp::{Limits, ProtocolError, encode_command, parse_command};
use crate::server::Server;
use crate::storage::{MemoryStorage, OpenMode, Storage};
use crate::{Config, Engine};

/// The fuzz targets, by name.
pub const TARGETS: &[&str] = &[
    "resp_decoder",
    "command_exec",
    "aof_loader",
    "manifest_parser",
    "rdb_reader",
    "check_fix",
    "inspect",
    "tar_reader",
    "restore_payload",
];

/// Parses every complete command of `buf` into `out`; the bytes used and the protocol error, if any.
pub fn drain(buf: &[u8], out: &mut Vec<Vec<Vec<u8>>>) -> (usize, Option<ProtocolError>) {
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

/// The decoder is incremental: the whole buffer, and the same bytes fed in chunks of every size
/// from 1 to 17, give the same commands and the same error; each command re-encodes to itself.
pub fn resp_decoder(input: &[u8]) {
    if input.len() > 60_000 {
        return; // 17 passes over a huge input would only slow the fuzzer down
    }
    let mut whole = Vec::new();
    let (_, whole_err) = drain(input, &mut whole);
    for size in 1..=17 {
        let mut pieces = Vec::new();
        let mut querybuf = Vec::new();
        let mut err = None;
        for chunk in input.chunks(size) {
            querybuf.extend_from_slice(chunk);
            let (used, e) = drain(&querybuf, &mut pieces);
            querybuf.drain(..used);
            if e.is_some() {
                err = e;
                break;
            }
        }
        assert_eq!(whole, pieces, "chunks of {size}");
        assert_eq!(whole_err, err, "chunks of {size}");
    }
    for argv in &whole {
        let mut enc = Vec::new();
        encode_command(&mut enc, argv);
        let mut args = Vec::new();
        assert_eq!(parse_command(&enc, &mut args, Limits::default()), Ok(Some(enc.len())));
        assert_eq!(&args.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), argv);
    }
}

/// `-INVALIDOBJ`, also inside an EXEC's reply.
fn invalid_hll_reply(r: &crate::reply::Reply) -> bool {
    use crate::reply::Reply;
    match r {
        Reply::Error(m) => m.starts_with("INVALIDOBJ"),
        Reply::Array(items) => items.iter().any(invalid_hll_reply),
        _ => false,
    }
}

fn too_big_number(arg: &[u8]) -> bool {
    arg.split(|c| !c.is_ascii_digit()).any(|run| run.len() > 5)
}

/// Arbitrary argv sequences on an Engine (two clients, a moving clock, now and then a cron):
/// nothing may panic; the propagated AOF must load into a fresh server and, unless DEBUG or CONFIG
/// ran, rebuild the same dataset. Input: commands separated by `\n`, arguments by ` `; a first
/// byte below 0xF0 picks the command name from the table. Sizes are capped (48 commands of 8
/// arguments of 24 bytes, no number over 5 digits) so that a sequence stays cheap.
pub fn command_exec(data: &[u8]) {
    let names: Vec<&str> = crate::cmd::all_commands().map(|c| c.name).collect();
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
        // DEBUG LOADAOF reloads from the (never written) files, CONFIG SET can turn the AOF
        // off, and BGREWRITEAOF starts the AOF files, into which `aof_buf` is then flushed (the
        // dataset lives in the new base): after those, `aof_buf` alone no longer describes the
        // dataset.
        replayable &= !argv.first().is_some_and(|n| {
            n.eq_ignore_ascii_case(b"debug") || n.eq_ignore_ascii_case(b"config") || n.eq_ignore_ascii_case(b"bgrewriteaof")
        });
        // Two changes Redis 7.0 itself does not propagate, reproduced faithfully: a BITFIELD
        // whose writes all fail under OVERFLOW FAIL still creates or grows the key, and a PFADD
        // that finds a corrupt HLL keeps the registers it raised before the error.
        replayable &= !(argv[0].eq_ignore_ascii_case(b"bitfield") && argv.iter().any(|a| a.eq_ignore_ascii_case(b"fail")));
        // PFSELFTEST hashes 20 million elements: far too slow for a fuzz iteration.
        if argv[0].eq_ignore_ascii_case(b"pfselftest") {
            continue;
        }
        now += i64::from(sel & 0x0f) * 7;
        let reply = e.execute(clients[usize::from(sel >> 7)], &argv, now);
        replayable &= !reply.as_ref().is_some_and(invalid_hll_reply);
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
}

pub fn aof_loader(data: &[u8]) {
    for truncated in [true, false] {
        let mut srv = Server::new(Config { aof_load_truncated: truncated, ..Default::default() }, 1_700_000_000_000);
        let (status, valid) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", data);
        assert!(valid <= data.len() as u64);
        if !truncated {
            assert_ne!(status, AofStatus::Truncated);
        }
    }
}

/// Redis 7.0.15 writes manifests it cannot read back: a line longer than
/// `AOF_MANIFEST_LINE_MAX_LEN` (a long binary name, each byte quoted as `\xHH`), or a bare name
/// holding a `'` (`sdsneedsrepr` does not quote it, `sdssplitargs` reads it as a quote), or an
/// empty name (parsed from `''`, written bare: the line loses a field). The round trip is only
/// asked of the others.
fn redis_rereads(am: &AofManifest, bytes: &[u8]) -> bool {
    let needs_repr =
        |s: &str| s.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 7 | 8 | b' ') || !(0x20..0x7f).contains(&c));
    bytes.split_inclusive(|&c| c == b'\n').all(|l| l.len() <= crate::aof::manifest::LINE_MAX_LEN)
        && !am
            .base
            .iter()
            .chain(&am.history)
            .chain(&am.incr)
            .any(|ai| ai.file_name.is_empty() || (ai.file_name.contains('\'') && !needs_repr(&ai.file_name)))
}

pub fn manifest_parser(data: &[u8]) {
    if let Ok(am) = AofManifest::parse(data) {
        let bytes = am.to_bytes();
        if am.is_empty() || !redis_rereads(&am, &bytes) {
            return;
        }
        let again = AofManifest::parse(&bytes).expect("a written manifest must parse");
        assert_eq!(again, am);
        assert_eq!(again.to_bytes(), bytes);
    }
}

/// The RDB reader on any bytes: never a panic, the length it reports inside the input. What
/// loads can be used: streams (whose nodes are kept as they were read) are walked and written
/// back identically, digested, rewritten, and changed by the commands that walk their nodes.
pub fn rdb_reader(data: &[u8]) {
    if let Ok(info) = crate::rdb::read_empty(data) {
        assert!(info.len <= data.len());
    }
    let mut dbs: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
    let Ok(info) = crate::rdb::read_rdb(data, &mut dbs) else { return };
    assert!(info.len <= data.len());
    let streams: Vec<(usize, Vec<u8>)> = dbs
        .iter()
        .flat_map(|db| db.iter().filter(|(_, v)| matches!(v, crate::keyspace::Value::Stream(_))).map(|(k, _)| (db.id, k.to_vec())))
        .collect();
    if streams.is_empty() {
        return;
    }
    let mut only: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
    for (db, key) in &streams {
        if let Some(v) = dbs[*db].get(key) {
            only[*db].insert(key.clone(), v.clone());
        }
    }
    let mut back: Vec<crate::keyspace::Db> = (0..16).map(crate::keyspace::Db::new).collect();
    crate::rdb::read_rdb(&crate::rdb::write_rdb(&only, 0, 0, false), &mut back).expect("streams the engine wrote read back");
    for (db, key) in &streams {
        assert_eq!(back[*db].get(key), dbs[*db].get(key), "a stream changed through write and read");
    }
    let _ = dataset_digest(&dbs);
    let _ = crate::aof::rewrite::rewrite_resp(&dbs, 0, false);
    let mut e = Engine::new(Config::default(), 1_700_000_000_000);
    e.srv.dbs = dbs;
    let c = e.connect();
    for (db, key) in streams.iter().take(4) {
        let _ = e.execute(c, &[b"SELECT", db.to_string().as_bytes()], 1_700_000_000_000);
        for argv in [
            &[&b"XRANGE"[..], key, b"-", b"+"][..],
            &[b"XREVRANGE", key, b"+", b"-", b"COUNT", b"3"],
            &[b"XINFO", b"STREAM", key, b"FULL"],
            &[b"XPENDING", key, b"g"],
            &[b"XADD", key, b"MAXLEN", b"~", b"2", b"*", b"f", b"v"],
            &[b"XDEL", key, b"1-0"],
            &[b"XTRIM", key, b"MINID", b"5"],
            &[b"XAUTOCLAIM", key, b"g", b"c", b"0", b"0"],
        ] {
            let _ = e.execute(c, argv, 1_700_000_000_000);
        }
    }
}

pub fn check_fix(data: &[u8]) {
    let name = "appendonly.aof";
    let mut st = MemoryStorage::new();
    st.open(name, OpenMode::Truncate).expect("open");
    st.write_at(name, 0, data).expect("write");
    let first = check(&mut st, name, Mode::Fix, &mut |_| true);
    if first.output.contains("Successfully truncated AOF") {
        let second = check(&mut st, name, Mode::Check, &mut |_| true);
        assert_eq!(second.exit_code, 0, "fixed file still invalid:\n{}\n---\n{}", first.output, second.output);
    }
}

/// Lengths past 4 GB, which a 32-bit `usize` (wasm32) cannot hold: every decoder gives the same
/// answer on every host (the browser tests run this too), never a wrapped length.
pub fn huge_lengths() {
    // The loader: the file ends long before 4 294 967 297 bytes, as Redis's fread finds.
    let mut srv = Server::new(Config { aof_load_truncated: true, ..Default::default() }, 1_700_000_000_000);
    assert_eq!(
        load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", b"*1\r\n$4294967297\r\nX\r\n"),
        (AofStatus::Truncated, 0)
    );
    // redis-check-aof says how much it wanted, in full.
    let mut st = MemoryStorage::new();
    st.open("a.aof", OpenMode::Truncate).expect("open");
    st.write_at("a.aof", 0, b"*2\r\n$3\r\nGET\r\n$4294967294\r\nabc").expect("write");
    let r = check(&mut st, "a.aof", Mode::Check, &mut |_| false);
    assert!(r.output.contains("Expected to read 4294967296 bytes, got 3 bytes"), "{}", r.output);
    // The protocol: past 2^63 the length is not a number; past the address space (with
    // proto-max-bulk-len raised) nothing could ever buffer it.
    let mut args = Vec::new();
    assert_eq!(parse_command(b"*1\r\n$18446744073709551617\r\n", &mut args, Limits::default()), Err(ProtocolError("invalid bulk length")));
    let open = Limits { max_bulk_len: i64::MAX, ..Limits::default() };
    let r = parse_command(b"*1\r\n$4294967297\r\nX", &mut args, open);
    let reply = crate::resp::parse_reply(b"$4294967297\r\nX");
    if cfg!(target_pointer_width = "32") {
        assert_eq!(r, Err(ProtocolError("invalid bulk length")));
        assert_eq!(reply.err(), Some(ProtocolError("invalid bulk length")));
    } else {
        assert_eq!(r, Ok(None), "waits for the rest");
        assert!(matches!(reply, Ok(None)), "waits for the rest");
    }
    huge_rdb_lengths();
    huge_compact_lengths();
    huge_archive_and_manifest_numbers();
}

/// An RDB holding one key `k` of type `t` whose value is `value`, then `pad` bytes of `fill`.
fn rdb_with(t: u8, value: &[u8], pad: usize, fill: u8) -> Vec<u8> {
    let mut b = Vec::with_capacity(12 + value.len() + pad);
    b.extend_from_slice(b"REDIS0010");
    b.extend_from_slice(&[t, 1, b'k']);
    b.extend_from_slice(value);
    b.resize(b.len() + pad, fill);
    b
}

/// The RDB reader's lengths, as a file states them: the same error on every host, nothing
/// allocated for what the file cannot hold. `aof-lab inspect` and the log view walk an RDB with
/// the same reader ([`crate::rdb::read::Walker`]).
fn huge_rdb_lengths() {
    let read = |buf: &[u8]| crate::rdb::read_rdb(buf, &mut [crate::keyspace::Db::new(0)]).map(|_| ()).map_err(|e| e.message);
    let eof = Err("Unexpected EOF reading RDB file".to_string());
    // A string of 2^32 + 1 bytes (which a cast to a 32-bit usize would read as 1: "X").
    let mut value = vec![0x81];
    value.extend_from_slice(&(u64::from(u32::MAX) + 2).to_be_bytes());
    assert_eq!(read(&rdb_with(0, &value, 1, b'X')), eof);
    // A collection of 2^32 + 1 elements, and an AUX field of that length.
    assert_eq!(read(&rdb_with(1, &value, 64, 0)), Err("Collection length 4294967297 larger than the rest of the file".into()));
    let mut aux = b"REDIS0010\xfa".to_vec();
    aux.extend_from_slice(&value);
    assert_eq!(read(&aux), eof);
    // An LZF string said to expand one byte into 2^31 + 1 (no LZF data can: at most 88 bytes
    // per byte), in a file of 9 MB: once refused only above 256 bytes per byte of the whole
    // file, it reached the decompressor, whose buffer a 32-bit host cannot allocate.
    let mut lzf = vec![0xC3, 0x01, 0x80];
    lzf.extend_from_slice(&(1u32 << 31 | 1).to_be_bytes());
    lzf.push(0x00);
    assert_eq!(read(&rdb_with(0, &lzf, 9 << 20, 0)), Err("Invalid LZF compressed string".into()));
    // A hash of 90 million fields in a file of 90 MB: each field may be one byte of the file,
    // but a reserved (field, value) pair takes 24 bytes on wasm32, past what it can address.
    // The first field is not a string: the same error everywhere, before any reservation grows.
    let mut hash = vec![0x80];
    hash.extend_from_slice(&90_000_000u32.to_be_bytes());
    assert_eq!(read(&rdb_with(4, &hash, 90_000_000, 0xFF)), Err("Unknown RDB string encoding type 63".into()));
}

/// The compact encodings inside an RDB string state 32-bit lengths: past the blob, refused.
fn huge_compact_lengths() {
    use crate::rdb::{intset, listpack, ziplist};
    // A listpack entry `F0 <u32 LE length>` of 4 294 967 295 bytes in a 12-byte listpack.
    let lp = [12, 0, 0, 0, 1, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(listpack::entries(&lp), Err("entry out of range".into()));
    // A ziplist entry `80 <u32 BE length>` in a 17-byte ziplist.
    let zl = [17, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_eq!(ziplist::entries(&zl), Err("entry out of range".into()));
    // A zipmap key `FE <u32 LE length>`.
    assert_eq!(ziplist::zipmap_pairs(&[1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), Err("entry out of range".into()));
    // An intset of 4 294 967 295 64-bit members: 32 GB, which a 32-bit multiplication wraps.
    let is = [8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(intset::members(&is), Err("intset length does not match its blob".into()));
}

/// A tar member of 2^32 + 1 bytes (GNU base-256 size), and manifest sequence numbers at the
/// ends of a C `long long`.
fn huge_archive_and_manifest_numbers() {
    let mut h = [0u8; 512];
    h[..4].copy_from_slice(b"huge");
    h[124] = 0x80;
    h[128..136].copy_from_slice(&(u64::from(u32::MAX) + 2).to_be_bytes());
    h[156] = b'0';
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = h.to_vec();
    tar.extend_from_slice(&[b'X'; 512]);
    assert_eq!(crate::archive::read(&tar), Err("tar: truncated archive: a member of 4294967297 bytes starts at byte 512 of 1024".into()));
    let seq = |text: &str| AofManifest::parse(format!("file a seq {text} type b\n").as_bytes()).map(|am| am.curr_base_file_seq);
    assert_eq!(seq("-9223372036854775808"), Ok(i64::MIN));
    assert_eq!(seq("18446744073709551617"), Ok(i64::MAX));
}

/// `aof-lab inspect` and the log view's index on any bytes: the records tile the file, the cut
/// lies inside it and flags the records after it, and an index grown in two steps (the file
/// appended to, at a split the first byte picks) equals one built at once, for a file that may
/// start with an RDB part and for an incr file.
pub fn inspect(data: &[u8]) {
    use crate::aof::inspect::dump_file;
    use crate::lab::log::LogIndex;
    for preamble in [true, false] {
        let (records, cut) = dump_file(data, preamble);
        let mut at = 0;
        for r in &records {
            assert_eq!(r.offset, at, "records tile the file");
            assert!(r.len > 0 || data.is_empty());
            assert_eq!(r.cut, cut.as_ref().is_some_and(|c| r.offset >= c.offset));
            at += r.len;
        }
        assert_eq!(at, data.len() as u64);
        assert!(cut.is_none_or(|c| c.offset <= data.len() as u64));
        let kind = if preamble { "aof" } else { "incr" };
        let files = vec![("f".to_string(), kind)];
        let split = data.first().map_or(0, |&b| data.len() * usize::from(b) / 256);
        let mut st = MemoryStorage::new();
        st.open("f", OpenMode::Truncate).expect("open");
        st.write_at("f", 0, data.get(..split).unwrap_or_default()).expect("write");
        let mut grown = LogIndex::default();
        grown.sync(&mut st, &files, 0);
        st.write_at("f", split as u64, data.get(split..).unwrap_or_default()).expect("write");
        grown.sync(&mut st, &files, 0);
        let mut once = LogIndex::default();
        once.sync(&mut st, &files, 0);
        assert_eq!(grown.starts("f"), once.starts("f"), "split at {split}");
        assert_eq!(grown.summary("f"), once.summary("f"), "split at {split}");
        assert_eq!(once.starts("f"), records.iter().map(|r| r.offset).collect::<Vec<_>>());
        let json = once.rows_json(&mut st, "f", 0, 1000).expect("rows");
        assert!(json.starts_with('{'));
    }
}

/// The tar reader (an imported `.tar`, a dropped archive) on any bytes: it never panics; what
/// it reads, written again, reads back the same (members whose names fit ustar and hold no
/// NUL); and importing the files into a fresh directory either succeeds with names a server
/// would read, or fails with a message, leaving the storage usable.
pub fn tar_reader(data: &[u8]) {
    use crate::archive::{Entry, import_archive, read, write};
    let Ok(entries) = read(data) else { return };
    let keepable: Vec<Entry> = entries.iter().filter(|e| !e.path.contains('\0')).cloned().collect();
    if let Ok(bytes) = write(&keepable, 0) {
        let again = read(&bytes).expect("an archive written by the lab must read back");
        assert_eq!(again, keepable, "the archive does not round-trip");
    }
    let mut st = MemoryStorage::new();
    if let Ok(names) = import_archive(&mut st, data, "appendonlydir") {
        let listed = st.list(None).expect("list");
        for name in &names {
            assert!(listed.contains(name), "{name} was imported but is not in the directory");
            assert!(!name.rsplit('/').next().unwrap_or_default().starts_with(".import-"), "a staged name was left: {name}");
        }
    }
}

/// RESTORE of any object bytes, given a good footer (RDB version 10 and the CRC-64) so that the
/// object reader is reached: never a panic. A value that loads is then used as its type is:
/// DUMPed and RESTOREd again to the same value (`DEBUG DIGEST-VALUE`), HyperLogLog commands on a
/// string (Redis's sparse and dense layouts, validated), geo commands on a sorted set (any score
/// as a geohash), stream reads and writes on a stream, SORT on a list, set or sorted set, OBJECT;
/// and the propagated AOF rebuilds the same dataset.
pub fn restore_payload(data: &[u8]) {
    let mut payload = data.to_vec();
    payload.extend_from_slice(&10u16.to_le_bytes());
    let crc = crate::rdb::crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let now = 1_700_000_000_000i64;
    let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, now);
    let c = e.connect();
    let run = |e: &mut Engine, argv: &[&[u8]]| e.execute(c, argv, now);
    if run(&mut e, &[b"RESTORE", b"k", b"0", &payload]) != Some(crate::Reply::ok()) {
        return;
    }
    let digest = run(&mut e, &[b"DEBUG", b"DIGEST-VALUE", b"k"]);
    let Some(crate::Reply::Bulk(dump)) = run(&mut e, &[b"DUMP", b"k"]) else { panic!("DUMP of a restored key") };
    assert_eq!(run(&mut e, &[b"RESTORE", b"k2", b"0", &dump]), Some(crate::Reply::ok()), "the engine's DUMP restores");
    assert_eq!(run(&mut e, &[b"DEBUG", b"DIGEST-VALUE", b"k2"]), digest, "DUMP and RESTORE keep the value");
    let uses: &[&[&[u8]]] = &[
        &[b"OBJECT", b"ENCODING", b"k"],
        &[b"PFCOUNT", b"k"],
        &[b"PFADD", b"k2", b"a", b"b"],
        &[b"PFMERGE", b"k3", b"k", b"k2"],
        &[b"PFDEBUG", b"GETREG", b"k"],
        &[b"GEOPOS", b"k", b"a"],
        &[b"GEOSEARCH", b"k", b"FROMLONLAT", b"0", b"0", b"BYRADIUS", b"20000", b"km", b"WITHCOORD", b"WITHDIST", b"COUNT", b"5"],
        &[b"GEORADIUS", b"k", b"10", b"10", b"5000", b"km", b"STORE", b"k4"],
        &[b"XRANGE", b"k", b"-", b"+", b"COUNT", b"5"],
        &[b"XINFO", b"STREAM", b"k", b"FULL"],
        &[b"XADD", b"k", b"MAXLEN", b"~", b"2", b"*", b"f", b"v"],
        &[b"XAUTOCLAIM", b"k", b"g", b"c", b"0", b"0"],
        &[b"SORT", b"k", b"ALPHA", b"LIMIT", b"0", b"5"],
        &[b"SORT", b"k", b"BY", b"nosort", b"STORE", b"k5"],
        &[b"LRANGE", b"k", b"0", b"-1"],
        &[b"HGETALL", b"k"],
        &[b"SMEMBERS", b"k"],
        &[b"ZRANGE", b"k", b"0", b"-1", b"WITHSCORES"],
    ];
    for argv in uses {
        let _ = run(&mut e, argv);
    }
    // PFADD / PFMERGE on an invalid HLL keep what they changed before the error, as Redis does,
    // and PFCOUNT writes a cache back: the AOF then need not rebuild the same dataset.
    let aof = e.take_aof_buf();
    let mut srv = Server::new(Config::default(), now);
    let (status, _) = load_single_append_only_file(&mut srv, "appendonly.aof.1.incr.aof", &aof);
    assert!(matches!(status, AofStatus::Ok | AofStatus::Empty), "propagated AOF does not load: {status:?}");
}

pub fn run(target: &str, data: &[u8]) {
    match target {
        "resp_decoder" => resp_decoder(data),
        "command_exec" => command_exec(data),
        "aof_loader" => aof_loader(data),
        "manifest_parser" => manifest_parser(data),
        "rdb_reader" => rdb_reader(data),
        "check_fix" => check_fix(data),
        "inspect" => inspect(data),
        "tar_reader" => tar_reader(data),
        "restore_payload" => restore_payload(data),
        other => panic!("no fuzz target named {other}"),
    }
}
