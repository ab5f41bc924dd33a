//! CRC-64/Jones (Redis's `crc64`, reflected, polynomial 0xad93d23594c935a9, no final xor) by
//! slice-by-8, with its tables computed at first use: what the wasm build checks an RDB with.
//!
//! A load checks the CRC of every byte of an RDB base. One 256-entry table costs a dependent
//! table lookup per byte; slice-by-8 (Redis's `crcspeed`) takes 8 bytes per step through 8
//! independent lookups. The native build uses the `crc` crate's slice-by-16, whose tables are
//! constants; here the 16 KB of tables are built in memory on the first call instead, so that
//! the wasm the page downloads does not carry them (the code is a few hundred bytes).

use std::sync::OnceLock;

/// The reflected polynomial.
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

type Tables = [[u64; 256]; 8];

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Box<Tables>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u64; 256]; 8]);
        let [first, rest @ ..] = &mut *t;
        for (i, slot) in (0u64..).zip(first.iter_mut()) {
            *slot = (0..8).fold(i, |c, _| if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 });
        }
        let mut prev = *first;
        for table in rest {
            for (slot, &p) in table.iter_mut().zip(&prev) {
                *slot = (p >> 8) ^ first.get((p & 0xff) as usize).copied().unwrap_or(0);
            }
            prev = *table;
        }
        t
    })
}

/// Continues the CRC `crc` (the value of the bytes before, 0 to start) over `bytes`.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation, reason = "every index is masked to 0..=255, into tables of 256")]
pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    let t = tables();
    let (words, rest) = bytes.as_chunks::<8>();
    for &w in words {
        let x = crc ^ u64::from_le_bytes(w);
        crc = t[7][(x & 0xff) as usize]
            ^ t[6][((x >> 8) & 0xff) as usize]
            ^ t[5][((x >> 16) & 0xff) as usize]
            ^ t[4][((x >> 24) & 0xff) as usize]
            ^ t[3][((x >> 32) & 0xff) as usize]
            ^ t[2][((x >> 40) & 0xff) as usize]
            ^ t[1][((x >> 48) & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in rest {
        crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    #[test]
    fn the_crc_crate_s_value_at_every_length_and_cut() {
        assert_eq!(super::update(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);
        let data: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for n in (0..40).chain([999, 1000, 1001, 3000]) {
            assert_eq!(super::update(0, &data[..n]), crc.checksum(&data[..n]), "{n} bytes");
        }
        for cut in [0, 1, 7, 8, 9, 500, 2999, 3000] {
            assert_eq!(super::update(super::update(0, &data[..cut]), &data[cut..]), crc.checksum(&data), "cut {cut}");
        }
    }
}
