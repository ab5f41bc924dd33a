//! LZF, the compression of RDB strings (`rdbcompression yes`), as Redis 7.0's bundled liblzf
//! produces it, byte for byte.
//!
//! ```text
//! 000LLLLL <L+1 literal bytes>
//! LLLooooo oooooooo             back reference of L+2 bytes, offset o+1 (L < 7)
//! 111ooooo LLLLLLLL oooooooo    back reference of L+9 bytes
//! ```
//!
//! Decompression is the `lzf` crate's. Compression is our own, because Redis's output depends
//! on details no general-purpose LZF encoder reproduces: the hash of the next three bytes
//! (`HLOG` 16, "very fast" mode re-hashing two positions after each match), a match allowed
//! right up to the last three input bytes, the 16-byte unrolled comparison that may run past
//! the usual length cap, and the conservative room checks made while writing into a buffer of
//! `len - 4` bytes (an output that would just fit can be refused, and Redis then stores the
//! string raw).

const HLOG: u32 = 16;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn hash_index(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

/// liblzf's hash table (`LZF_HSLOT htab[HSIZE]`), kept from one call to the next. A fresh
/// zeroed table per call cost more than the compression itself: 64 Ki slots (256 KB in wasm,
/// 512 KB natively) cleared for every string over 20 bytes, where a rewrite compresses tens of
/// thousands of 30–800-byte values and listpacks. Instead each slot carries the number of the
/// call that wrote it (high 32 bits) next to the position (low 32 bits): a slot of another call
/// reads as empty, exactly as a cleared table would, so the output does not change. The table
/// is cleared only when the call number wraps.
struct Htab {
    slots: Vec<u64>,
    call: u32,
}

impl Htab {
    /// Starts a call: every slot written before reads as empty from now on.
    fn begin(&mut self) {
        self.call = self.call.wrapping_add(1);
        if self.call == 0 || self.slots.is_empty() {
            self.slots.clear();
            self.slots.resize(1 << HLOG, 0);
            self.call = 1;
        }
    }
    /// The position last hashed to `slot` in this call, 0 for none.
    #[expect(clippy::cast_possible_truncation, reason = "the low 32 bits are the position")]
    fn get(&self, slot: usize) -> usize {
        match self.slots.get(slot) {
            Some(&e) if e >> 32 == u64::from(self.call) => (e as u32) as usize,
            _ => 0,
        }
    }
    fn set(&mut self, slot: usize, pos: usize) {
        if let Some(e) = self.slots.get_mut(slot) {
            *e = (u64::from(self.call) << 32) | pos as u64;
        }
    }
}

/// The output buffer kept for strings up to this size (a larger one gets its own, so that one
/// huge string does not keep its buffer for good).
const SCRATCH_MAX: usize = 1 << 20;

/// What [`compress_into`] keeps between calls: the table and an output buffer.
struct State {
    htab: Htab,
    scratch: Vec<u8>,
}

thread_local! {
    static STATE: std::cell::RefCell<State> =
        const { std::cell::RefCell::new(State { htab: Htab { slots: Vec::new(), call: 0 }, scratch: Vec::new() }) };
}

/// Compresses `input` into at most `limit` bytes; `None` when it does not fit (as liblzf
/// judges it while writing).
pub fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress_into(input, limit, &mut out)?;
    Some(out)
}

/// [`compress`], appending the compressed bytes to `out`: their length, or `None` (and `out`
/// as it was) when they do not fit in `limit`. Inputs of 4 GiB or more are not compressed:
/// liblzf's lengths are `unsigned int`, and the table keeps 32-bit positions.
pub fn compress_into(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Option<usize> {
    if u32::try_from(input.len()).is_err() {
        return None;
    }
    STATE.with_borrow_mut(|State { htab, scratch }| {
        htab.begin();
        // Into a buffer kept between calls (no allocation, no clearing per call; a large string
        // gets one of its own), then only the bytes written are copied.
        let mut own = Vec::new();
        let buf = if limit <= SCRATCH_MAX { scratch } else { &mut own };
        if buf.len() < limit + 8 {
            buf.resize(limit + 8, 0);
        }
        let n = compress_with(input, limit, buf, htab)?;
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
        Some(n)
    })
}

/// liblzf's `lzf_compress` into `out` (`limit + 8` bytes; nothing is written past `limit`
/// unless it returns `None`).
#[expect(clippy::cast_possible_truncation, reason = "liblzf packs lengths and offsets, each below 256 where it is stored, into bytes")]
fn compress_with(input: &[u8], limit: usize, out: &mut [u8], htab: &mut Htab) -> Option<usize> {
    let n = input.len();
    if n == 0 || limit == 0 {
        return None;
    }
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let put = |out: &mut [u8], i: usize, v: u8| {
        if let Some(b) = out.get_mut(i) {
            *b = v;
        }
    };
    // Positions of earlier 3-byte sequences by hash; 0 doubles as "none" (liblzf never refers
    // back to the first byte either).
    let mut lit = 0usize;
    let mut op = 1usize; // a literal run starts, its length byte reserved
    let mut ip = 0usize;
    let mut hval = (u32::from(at(0)) << 8) | u32::from(at(1));
    while ip + 2 < n {
        hval = (hval << 8) | u32::from(at(ip + 2));
        let slot = hash_index(hval);
        let r = htab.get(slot);
        htab.set(slot, ip);
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if off < MAX_OFF && r > 0 && at(r) == at(ip) && at(r + 1) == at(ip + 1) && at(r + 2) == at(ip + 2) {
            let maxlen = (n - ip - 2).min(MAX_REF);
            put(out, op - lit - 1, (lit as u8).wrapping_sub(1)); // close the run
            if lit == 0 {
                op -= 1; // an empty run is taken back
            }
            if op + 3 + 1 >= limit {
                return None;
            }
            let mut len = 2usize;
            let mut mismatch = false;
            if maxlen > 16 {
                // Unrolled: 16 comparisons without looking at maxlen.
                for _ in 0..16 {
                    len += 1;
                    if at(r + len) != at(ip + len) {
                        mismatch = true;
                        break;
                    }
                }
            }
            if !mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && at(r + len) == at(ip + len)) {
                        break;
                    }
                }
            }
            len -= 2; // now the length code: bytes - 2
            ip += 1;
            if len < 7 {
                put(out, op, ((off >> 8) + (len << 5)) as u8);
                op += 1;
            } else {
                put(out, op, ((off >> 8) + (7 << 5)) as u8);
                put(out, op + 1, (len - 7) as u8);
                op += 2;
            }
            put(out, op, off as u8);
            op += 2; // and a new run starts
            lit = 0;
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            // Hash the two positions just before the new one.
            ip -= 2;
            hval = (u32::from(at(ip)) << 8) | u32::from(at(ip + 1));
            for _ in 0..2 {
                hval = (hval << 8) | u32::from(at(ip + 2));
                htab.set(hash_index(hval), ip);
                ip += 1;
            }
        } else {
            if op >= limit {
                return None;
            }
            lit += 1;
            put(out, op, at(ip));
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                put(out, op - lit - 1, (lit - 1) as u8);
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > limit {
        return None;
    }
    while ip < n {
        lit += 1;
        put(out, op, at(ip));
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            put(out, op - lit - 1, (lit - 1) as u8);
            lit = 0;
            op += 1;
        }
    }
    put(out, op - lit - 1, (lit as u8).wrapping_sub(1));
    if lit == 0 {
        op -= 1;
    }
    if op > limit {
        return None;
    }
    Some(op)
}

/// The most bytes one byte of LZF can stand for: a long back reference (`111ooooo LLLLLLLL
/// oooooooo`) is 3 bytes for at most 7 + 255 + 2 = 264 bytes; a literal run or a short back
/// reference gives less per byte.
pub const MAX_EXPANSION: usize = 264 / 3;

/// Decompresses into exactly `len` bytes, or `None` if the data is not valid LZF of that size.
/// A `len` that `data` could not produce is refused before anything is allocated: the size is
/// the file's word (a corrupt or hostile RDB may claim gigabytes, which a 32-bit host cannot
/// even address), while what `data` can expand to is bounded.
pub fn decompress(data: &[u8], len: usize) -> Option<Vec<u8>> {
    if len > data.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    ::lzf::decompress(data, len).ok().filter(|out| out.len() == len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal then long back references: the most output per input byte LZF has.
    #[test]
    fn the_largest_expansion_decompresses_and_more_is_refused() {
        let mut data = vec![0x00, b'a'];
        for _ in 0..1000 {
            data.extend_from_slice(&[0xE0, 0xFF, 0x00]);
        }
        let len = 1 + 264 * 1000;
        assert!(len <= data.len() * MAX_EXPANSION);
        assert_eq!(decompress(&data, len), Some(vec![b'a'; len]));
        // Claimed sizes no input of this length could produce: refused, nothing allocated.
        assert_eq!(decompress(&data, data.len() * MAX_EXPANSION + 1), None);
        assert_eq!(decompress(b"\x00a", usize::MAX), None);
    }

    /// The table kept between calls: a call's output does not depend on the calls before it
    /// (each checked against the same input compressed first, on a thread of its own: a fresh
    /// table), nor on the call number wrapping.
    #[test]
    fn earlier_calls_leave_no_trace() {
        let mut rng = fastrand::Rng::with_seed(7);
        let inputs: Vec<Vec<u8>> = (0..200)
            .map(|_| {
                let n = rng.usize(21..5000);
                let alphabet = rng.u8(1..8);
                (0..n).map(|_| rng.u8(..alphabet)).collect()
            })
            .collect();
        let fresh: Vec<Option<Vec<u8>>> =
            inputs.iter().map(|s| std::thread::scope(|t| t.spawn(|| compress(s, s.len() - 4)).join().unwrap_or(None))).collect();
        for (s, f) in inputs.iter().zip(&fresh) {
            assert_eq!(&compress(s, s.len() - 4), f);
        }
        STATE.with_borrow_mut(|s| s.htab.call = u32::MAX - 3);
        for (s, f) in inputs.iter().zip(&fresh) {
            assert_eq!(&compress(s, s.len() - 4), f);
        }
        // A slot of an earlier call reads as empty, through the wrap too.
        let mut t = Htab { slots: Vec::new(), call: u32::MAX - 1 };
        for _ in 0..4 {
            t.begin();
            assert_eq!(t.get(5), 0);
            t.set(5, 100);
            assert_eq!(t.get(5), 100);
        }
    }

    #[test]
    fn round_trips_and_respects_the_limit() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..3000 {
            let n = rng.usize(1..3000);
            let alphabet = rng.u8(1..20);
            let s: Vec<u8> = (0..n).map(|_| rng.u8(..alphabet)).collect();
            let limit = rng.usize(1..n + 40);
            if let Some(c) = compress(&s, limit) {
                assert!(c.len() <= limit);
                assert_eq!(decompress(&c, n), Some(s.clone()));
            }
        }
    }
}
