//! PFSELFTEST (`pfselftestCommand`): Redis's own check of its HLL implementation, run on this
//! one. First the dense registers must keep whatever is written into them (1000 rounds of
//! random values), then 10 million distinct elements go into a dense and a sparse HLL side by
//! side: at 1, 10, 100 … elements the two must count the same, the sparse one must still be
//! sparse while that is possible, and the count must be within 6 standard errors of the truth.
#![deny(clippy::indexing_slicing)]

use super::repr::{
    DENSE_SIZE, HDR_SIZE, REGISTER_MAX, REGISTERS, SPARSE, count, create, dense_get, dense_set, dense_set_if_greater, encoding, pat_len,
    sparse_set,
};

/// PFSELFTEST's checks, with `rand` for C's `rand()`: the dense registers keep what is set in
/// them, and dense and sparse HLLs agree with each other and with the true count within 6
/// standard errors up to 10 million elements. `Err` is the TESTFAILED message.
pub fn self_test(rand: &mut dyn FnMut() -> u32, max_bytes: usize) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    let mut bytecounters = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        let regs = dense.get_mut(HDR_SIZE..).unwrap_or_default();
        for (i, b) in bytecounters.iter_mut().enumerate() {
            let r = (rand() & u32::from(REGISTER_MAX)) as u8;
            *b = r;
            dense_set(regs, i, r);
        }
        for (i, &b) in bytecounters.iter().enumerate() {
            let val = dense_get(regs, i);
            if val != b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {val}"));
            }
        }
    }
    dense.iter_mut().skip(HDR_SIZE).for_each(|b| *b = 0);
    let mut sparse = create();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = u64::from(rand()) | u64::from(rand()) << 32;
    for j in 1..=10_000_000u64 {
        // hllDenseAdd and hllAdd of the same element: one hash serves both.
        let (index, cnt) = pat_len(&(j ^ seed).to_le_bytes());
        dense_set_if_greater(dense.get_mut(HDR_SIZE..).unwrap_or_default(), index, cnt);
        let _ = match encoding(&sparse) {
            SPARSE => sparse_set(&mut sparse, index, cnt, max_bytes),
            _ => Ok(dense_set_if_greater(sparse.get_mut(HDR_SIZE..).unwrap_or_default(), index, cnt)),
        };
        if j != checkpoint {
            continue;
        }
        if j < (max_bytes / 2) as u64 && encoding(&sparse) != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let (cd, cs) = (count(&dense).unwrap_or(0), count(&sparse).unwrap_or(0));
        if cd != cs {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - cd as i64).unsigned_abs();
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}
