//! RDB, Redis's snapshot format, as used for the AOF base (`aof-use-rdb-preamble yes`, the
//! default) and for `dump.rdb`.
//!
//! ```text
//! "REDIS0010"                          magic + 4-digit version (10 = Redis 7.0)
//! FA <str key> <str value>             AUX fields: redis-ver, redis-bits, ctime, used-mem, aof-base
//! F5 <str library code>                one per function library (RDB_OPCODE_FUNCTION2), before
//!                                      the dbs: functions are part of the dataset in 7.0
//! FE <len db>  FB <len size> <len exp> SELECTDB, RESIZEDB
//! [FC <8-byte LE ms>] <type> <key> <value>   an entry, with an optional absolute expiry
//! FF <8-byte LE CRC-64>                EOF + CRC-64/Jones of every byte before it
//! ```
//!
//! Lengths use the top two bits of their first byte: `00` 6-bit, `01` 14-bit, `0x80` 32-bit
//! big-endian, `0x81` 64-bit big-endian, `11` a special string encoding (INT8/16/32, LZF).
//!
//! [`write::write_rdb`] writes a dataset with the plain value types; [`read::read_rdb`] loads
//! what Redis 7.0 writes (listpacks, intsets, quicklists, LZF strings …) and the older
//! encodings it still accepts. The compact encodings have their own small readers:
//! [`listpack`], [`ziplist`] (and zipmap), [`intset`].
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "natively the crc crate's slice-by-16; tested against it"))]
mod crc64;
pub mod dump;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod read;
pub mod save;
pub mod stream;
pub mod write;
pub mod ziplist;

pub use read::read_rdb;
pub use write::write_rdb;

/// One element of a listpack or ziplist: they store integers as integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Elem {
    Str(Vec<u8>),
    Int(i64),
}

pub const RDB_VERSION: u32 = 10;
/// A function library: its code (`#!lua name=…` and the body) as one string (7.0 GA).
pub const RDB_OPCODE_FUNCTION2: u8 = 0xF5;
/// The function opcode of 7.0-rc1/rc2: name, engine, an optional description, then the body.
pub const RDB_OPCODE_FUNCTION: u8 = 0xF6;
pub const RDB_OPCODE_AUX: u8 = 0xFA;
pub const RDB_OPCODE_RESIZEDB: u8 = 0xFB;
pub const RDB_OPCODE_EXPIRETIME_MS: u8 = 0xFC;
pub const RDB_OPCODE_EXPIRETIME: u8 = 0xFD;
pub const RDB_OPCODE_SELECTDB: u8 = 0xFE;
pub const RDB_OPCODE_EOF: u8 = 0xFF;

/// Natively, 16 tables of 256 entries (slice-by-16, 32 KB), as Redis's `crcspeed` uses 8: a
/// load checks the CRC of every byte of an RDB base, and one table costs several times more per
/// byte. The wasm uses slice-by-8 with tables built at first use (`crc64.rs`): 30 KB of constant
/// tables would weigh on the download.
#[cfg(not(target_arch = "wasm32"))]
const CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// CRC-64/Jones as Redis computes it (`crc64(0, …)`).
pub fn crc64(bytes: &[u8]) -> u64 {
    crc64_update(0, bytes)
}

/// Continues a CRC-64/Jones over more bytes: `crc64_update(crc64(a), b) == crc64(a ++ b)` (the
/// reflected CRC has no final xor, so its value is also its running state).
pub fn crc64_update(crc: u64, bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "wasm32")]
    return crc64::update(crc, bytes);
    #[cfg(not(target_arch = "wasm32"))]
    {
        // The crate reflects the initial value of a reflected algorithm; undo that.
        let mut d = CRC64.digest_with_initial(crc.reverse_bits());
        d.update(bytes);
        d.finalize()
    }
}

pub(crate) fn push_len(out: &mut Vec<u8>, len: u64) {
    if let Ok(short) = u16::try_from(len)
        && short < 1 << 14
    {
        let [hi, lo] = short.to_be_bytes();
        if short < 1 << 6 {
            out.push(lo);
        } else {
            out.extend_from_slice(&[0x40 | hi, lo]);
        }
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString` without LZF: integers that fit 32 bits are INT-encoded.
pub fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11
        && let Some(v) = crate::util::string2ll(s)
    {
        if let Ok(v) = i8::try_from(v) {
            out.extend_from_slice(&[0xC0, v.to_le_bytes()[0]]);
            return;
        } else if let Ok(v) = i16::try_from(v) {
            out.push(0xC1);
            out.extend_from_slice(&v.to_le_bytes());
            return;
        } else if let Ok(v) = i32::try_from(v) {
            out.push(0xC2);
            out.extend_from_slice(&v.to_le_bytes());
            return;
        }
    }
    push_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The header and aux fields that `rdbSaveInfoAuxFields` writes for an AOF base.
pub fn write_header(out: &mut Vec<u8>, unixtime: i64, used_mem: u64) {
    write::write_header_aux(out, unixtime, used_mem, true);
}

/// The footer of a DUMP payload (`createDumpPayload`, FUNCTION DUMP): the RDB version as 2
/// bytes little-endian, then the CRC-64 of everything before it, 8 bytes little-endian.
pub fn push_dump_footer(out: &mut Vec<u8>) {
    out.extend_from_slice(&u16::try_from(RDB_VERSION).unwrap_or(u16::MAX).to_le_bytes());
    let crc = crc64(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// `verifyDumpPayload`: at least the 10-byte footer, a version this reader knows, a matching CRC.
pub fn verify_dump_payload(p: &[u8]) -> bool {
    let check = || {
        let footer = p.get(p.len().checked_sub(10)?..)?;
        let version = u16::from_le_bytes([*footer.first()?, *footer.get(1)?]);
        let stored = u64::from_le_bytes(footer.get(2..)?.try_into().ok()?);
        Some(u32::from(version) <= RDB_VERSION && crc64(p.get(..p.len() - 8)?) == stored)
    };
    check().unwrap_or(false)
}

/// Appends EOF and the CRC of everything before it.
pub fn write_footer(out: &mut Vec<u8>) {
    out.push(RDB_OPCODE_EOF);
    let crc = crc64(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The snapshot of an empty dataset, as a fresh multi-part AOF's first base.
pub fn empty_base(unixtime: i64, used_mem: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    write_header(&mut out, unixtime, used_mem);
    write_footer(&mut out);
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

/// What a load of an RDB found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RdbInfo {
    pub version: u32,
    /// AUX fields, each with the offset just after it (what redis-check-rdb prints).
    pub aux: Vec<(Vec<u8>, Vec<u8>, usize)>,
    /// Bytes the RDB occupies (the RESP tail of a 6.2 preamble file starts here).
    pub len: usize,
    pub checksum_ok: bool,
    /// The stored CRC was 0 (`rdbchecksum no`): nothing was checked.
    pub checksum_disabled: bool,
    /// SELECTDB opcodes: the db id and the offset just after it (redis-check-rdb's
    /// "Selecting DB ID" lines).
    pub selects: Vec<(u64, usize)>,
    /// Keys loaded, and how many of them with a TTL.
    pub keys: u64,
    pub expires: u64,
    /// Keys read per RDB value type byte (0..=19), empty collections included.
    pub types: [u64; 20],
    /// Keys skipped because their collection was empty (Redis's fix for #8453: skipped, not
    /// refused), and the first 10 of their names, which `rdbLoadRio` logs.
    pub empty_skipped: u64,
    pub empty_keys: Vec<Vec<u8>>,
    /// The function libraries' code, in file order (`RDB_OPCODE_FUNCTION2`; the rc format is
    /// translated to it). The caller creates the libraries ([`crate::cmd::scripting::function`]).
    pub functions: Vec<Vec<u8>>,
}

/// Reads an RDB that must hold no keys (the base of a fresh multi-part AOF). A key of any type is
/// refused with an error naming its type byte and offset.
pub fn read_empty(buf: &[u8]) -> Result<RdbInfo, RdbError> {
    read_rdb(buf, &mut [])
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn crc_in_pieces() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        for cut in [0, 1, 9, 500, 999, 1000] {
            assert_eq!(crc64_update(crc64(&data[..cut]), &data[cut..]), crc64(&data), "cut {cut}");
        }
    }

    #[test]
    fn empty_base_matches_redis() {
        // The annotated real base of REDIS-AOF.md 4.2: ctime 1795460544, used-mem 876768.
        let real: Vec<u8> = [
            &b"REDIS0010"[..],
            b"\xfa\x09redis-ver\x067.0.15",
            b"\xfa\x0aredis-bits\xc0\x40",
            b"\xfa\x05ctime\xc2\xc0\x8d\x04\x6b",
            b"\xfa\x08used-mem\xc2\xe0\x60\x0d\x00",
            b"\xfa\x08aof-base\xc0\x01",
            b"\xff\x11\x47\x13\x8a\xd1\xec\xd0\xdf",
        ]
        .concat();
        assert_eq!(real.len(), 89);
        assert_eq!(empty_base(1795460544, 876768), real);
        let info = read_empty(&real).unwrap();
        assert!(info.checksum_ok && !info.checksum_disabled);
        let mut unchecked = real.clone();
        unchecked[81..].fill(0);
        let info = read_empty(&unchecked).unwrap();
        assert!(info.checksum_ok && info.checksum_disabled);
        assert_eq!(info.len, 89);
    }

    #[test]
    fn keys_are_refused_clearly() {
        let mut rdb = Vec::new();
        write_header(&mut rdb, 0, 0);
        rdb.extend_from_slice(b"\xfe\x00\x00\x01k\x01v");
        write_footer(&mut rdb);
        let e = read_empty(&rdb).unwrap_err();
        assert!(e.message.contains("databases"), "{e}");
        let mut bad = empty_base(1, 1);
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(read_empty(&bad).unwrap_err().message, "Wrong RDB checksum");
        assert!(read_empty(b"REDIS0011\xff").unwrap_err().message.contains("version 11"));
    }
}
