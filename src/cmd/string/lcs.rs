//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (new in 7.0): the longest common
//! subsequence of two strings, by the classic dynamic-programming table of prefix LCS lengths.
//! Redis walks the table back from the end, so with IDX the matching ranges come out last
//! match first; this does the same walk.

use super::{Lookup, read_string};
use crate::cmd::args;
use crate::cmd::keys::opt_is;
use crate::reply::Reply;
use crate::server::Ctx;

/// `lcsCommand`.
pub(super) fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (a, b) = match (read_string(ctx, argv[1]), read_string(ctx, argv[2])) {
        (Lookup::WrongType, _) | (_, Lookup::WrongType) => return Reply::err("ERR The specified keys must contain string values"),
        (a, b) => {
            let take = |l: Lookup| if let Lookup::Found(s) = l { s } else { Vec::new() };
            (take(a), take(b))
        }
    };
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = argv[j];
        if opt_is(opt, "idx") {
            getidx = true;
        } else if opt_is(opt, "len") {
            getlen = true;
        } else if opt_is(opt, "withmatchlen") {
            withmatchlen = true;
        } else if opt_is(opt, "minmatchlen") && j + 1 < argv.len() {
            minmatchlen = match args::int(argv[j + 1]) {
                Ok(n) => n.max(0),
                Err(e) => return e,
            };
            j += 1;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    if getlen && getidx {
        return Reply::err("ERR If you want both the length and indexes, please just use IDX.");
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Reply::err("ERR String too long for LCS");
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    // The table must also be addressable here (wasm32: 2 GB), whatever the limit says.
    let bytes = cells.saturating_mul(4);
    if bytes > u64::try_from(ctx.srv.config.proto_max_bulk_len).unwrap_or(0) || !super::fits_host(bytes) {
        return Reply::err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let w = blen + 1;
    let mut table = vec![0u32; cells as usize];
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] =
                if a[i - 1] == b[j - 1] { table[(i - 1) * w + j - 1] + 1 } else { table[(i - 1) * w + j].max(table[i * w + j - 1]) };
        }
    }
    let total = table[alen * w + blen];
    if getlen {
        return Reply::Int(i64::from(total));
    }
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut matches = Vec::new();
    let (mut i, mut j) = (alen, blen);
    // `arange_start == alen` means "no range open", as in Redis.
    let (mut arange_start, mut arange_end, mut brange_start, mut brange_end) = (alen, 0usize, 0usize, 0usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if arange_start == alen {
                (arange_start, arange_end, brange_start, brange_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = (arange_end - arange_start + 1) as i64;
            if (minmatchlen == 0 || match_len >= minmatchlen) && getidx {
                let mut m = vec![
                    Reply::Array(vec![Reply::Int(arange_start as i64), Reply::Int(arange_end as i64)]),
                    Reply::Array(vec![Reply::Int(brange_start as i64), Reply::Int(brange_end as i64)]),
                ];
                if withmatchlen {
                    m.push(Reply::Int(match_len));
                }
                matches.push(Reply::Array(m));
            }
            arange_start = alen;
        }
    }
    if getidx {
        // A RESP2 map: "matches", [...], "len", n.
        return Reply::Map(vec![(Reply::bulk("matches"), Reply::Array(matches)), (Reply::bulk("len"), Reply::Int(i64::from(total)))]);
    }
    Reply::Bulk(result)
}
