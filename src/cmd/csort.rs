//! The two sorts whose order of equal elements shows in Redis's replies, so the engine sorts
//! as they do: glibc's `qsort` (a stable merge sort, for GEO* and SORT without LIMIT) and
//! Redis's own `pqsort` (an unstable partial quicksort: GEO* with COUNT, SORT BY with LIMIT).
//! A comparator returns a C `int` (negative, 0, positive).

/// glibc 2.36's `qsort` for arrays that fit in memory: `msort_with_tmp`, a top-down merge sort
/// that splits at n/2 and takes from the left run while `cmp(left, right) <= 0`.
pub fn glibc_msort<T>(v: &mut Vec<T>, cmp: &dyn Fn(&T, &T) -> i32) {
    fn sort<T>(v: Vec<T>, cmp: &dyn Fn(&T, &T) -> i32) -> Vec<T> {
        if v.len() <= 1 {
            return v;
        }
        let mut left = v;
        let right = left.split_off(left.len() / 2);
        let (left, right) = (sort(left, cmp), sort(right, cmp));
        let mut out = Vec::with_capacity(left.len() + right.len());
        let mut l = left.into_iter().peekable();
        let mut r = right.into_iter().peekable();
        while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
            let take_left = cmp(a, b) <= 0;
            out.extend(if take_left { l.next() } else { r.next() });
        }
        out.extend(l);
        out.extend(r);
        out
    }
    let taken = std::mem::take(v);
    *v = sort(taken, cmp);
}

/// Redis's `pqsort` (`pqsort.c`, Bentley & McIlroy's quicksort from NetBSD, recursing only into
/// the parts that overlap `[lrange, rrange]`), on element indices.
pub fn pqsort<T>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    partial(v, 0, v.len(), cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &dyn Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// `vecswap`: swaps the `n` elements at `a` with the `n` at `b`, pairwise in order.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// `_pqsort` on `v[a..a + n]`.
fn partial<T>(v: &mut [T], mut a: usize, mut n: usize, cmp: &dyn Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // pc and pd may step below a: signed positions.
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb as isize <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let c = cmp(&v[pc as usize], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = ((pd - pc) as usize).min(pn - pd as usize - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 {
            let (l, rr) = (a, a + r - 1);
            if !((lrange < l && rrange < l) || (lrange > rr && rrange > rr)) {
                partial(v, a, r, cmp, lrange, rrange);
            }
        }
        let r = (pd - pc) as usize;
        if r > 1 {
            // Iterate rather than recurse.
            a = pn - r;
            n = r;
            let (l, rr) = (a, a + r - 1);
            if !((lrange < l && rrange < l) || (lrange > rr && rrange > rr)) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(keys: &[i32]) -> Vec<(i32, usize)> {
        keys.iter().copied().zip(0..).collect()
    }

    #[test]
    fn msort_is_stable() {
        let mut v = keyed(&[3, 1, 3, 2, 1, 3, 0]);
        glibc_msort(&mut v, &|a: &(i32, usize), b: &(i32, usize)| a.0.cmp(&b.0) as i32);
        assert_eq!(v, vec![(0, 6), (1, 1), (1, 4), (2, 3), (3, 0), (3, 2), (3, 5)]);
    }

    #[test]
    fn pqsort_sorts_the_requested_prefix() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [1usize, 5, 7, 8, 40, 41, 200, 1000] {
            for k in [1usize, 3, 10] {
                let k = k.min(n);
                let mut v: Vec<(i32, usize)> = (0..n).map(|i| (rng.i32(0..50), i)).collect();
                let mut sorted = v.clone();
                sorted.sort_by_key(|p| p.0);
                pqsort(&mut v, &|a: &(i32, usize), b: &(i32, usize)| a.0.cmp(&b.0) as i32, 0, k - 1);
                let got: Vec<i32> = v[..k].iter().map(|p| p.0).collect();
                let want: Vec<i32> = sorted[..k].iter().map(|p| p.0).collect();
                assert_eq!(got, want, "n={n} k={k}");
            }
        }
    }
}
