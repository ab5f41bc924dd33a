//! The sorted set value: a member → score dictionary plus the members in (score, member) order,
//! like Redis's `dict` + `zskiplist` pair.
//!
//! Redis orders the members in a skiplist whose nodes carry *spans*, so that a rank (ZRANK,
//! ZRANGE 1000 1010, ZCOUNT) costs O(log n). Here the order is a list of sorted blocks of at most
//! [`BLOCK_MAX`] entries (a B+ tree of height two): finding a position is a binary search over
//! the blocks then inside one, a rank adds up the lengths of the blocks before it, and an
//! insertion shifts at most one block. Iteration in either direction from any rank is cheap.
//!
//! `skiplist` records Redis's *encoding*, because one detail of it shows through: a listpack
//! stores an integral score as an integer, so `-0` becomes `0` there, while a skiplist keeps
//! `-0.0` (`ZADD z -0 a; ZSCORE z a` gives `0`, but `-0` once `z` has grown into a skiplist). A
//! zset starts as a listpack and converts when it would exceed `zset-max-listpack-entries`
//! members or get a member longer than `zset-max-listpack-value`; it never converts back on
//! removal (only the *STORE commands build a result as a skiplist and shrink it, see
//! [`ZSet::convert_to_listpack_if_needed`]).
//!
//! **The listpack form keeps no dictionary.** Like Redis's listpack (`zzlFind` walks it), a
//! listpack-encoded zset is its order alone: a member is found by a walk of its (at most
//! `zset-max-listpack-entries`, usually one) blocks, comparing inline members. The member →
//! score dictionary exists only while the zset is a skiplist. A small zset is then three
//! allocations instead of five, half the memory (15 000 zsets of ~10 members: 16.5 MB against 33 MB
//! with their keys, measured by peak RSS; BENCHMARKS.md, "small collections keep no index"), and
//! an add does no hashing; what Redis pays for a listpack, the walk, is paid here too.

use std::cmp::Ordering;

use indexmap::map::{RawEntryApiV1, raw_entry_v1::RawEntryMut};

use super::Map;
use super::key::MapKey;
use super::value::{MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE};

/// A score usable as an ordering key: numeric order, `-0 == 0`, never NaN (Redis refuses NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// Largest block; a full block splits in two halves. An insertion shifts half a block on average
/// and searches it: 128 entries (4 KB) measured faster on a 60 000-member zset than 256.
const BLOCK_MAX: usize = 128;
/// A block this small after a removal is merged into a neighbour when both fit in one.
const BLOCK_MIN: usize = BLOCK_MAX / 8;

/// A member as the order holds it: inline when short (see [`MapKey`]), so that the binary
/// searches compare members without following a pointer per step.
type Entry = (f64, MapKey);

/// The skiplist's order: (score, member) ascending.
#[inline(always)]
fn cmp_entry(a: &Entry, score: f64, member: &[u8]) -> Ordering {
    Score(a.0).cmp(&Score(score)).then_with(|| a.1.as_bytes().cmp(member))
}

/// `cmp_entry(a, score, member) == Less`, in plain compares (scores are never NaN).
#[inline(always)]
fn entry_below(a: &Entry, score: f64, member: &[u8]) -> bool {
    a.0 < score || (a.0 == score && a.1.as_bytes() < member)
}

/// A sorted set. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct ZSet {
    /// Member → score while a skiplist (its presence is the encoding); none while a listpack
    /// (see the module documentation). Boxed: every key's value is the size of the largest
    /// type, this one, so a listpack zset does not carry a dictionary's 56 bytes inline.
    dict: Option<Box<Map<MapKey, f64>>>,
    /// Sorted, non-empty blocks; their concatenation is the whole order.
    blocks: Vec<Vec<Entry>>,
    /// Each block's last score, side by side: the search for a block reads this one small array
    /// and follows a block's pointer only when a score ties (each block is elsewhere in memory,
    /// and a large zset's blocks do not all stay in the caches).
    lasts: Vec<f64>,
    /// The members' total length, kept by insert / remove (for `Value::approx_size`).
    member_bytes: usize,
}

/// Equality is logical content (the encoding does not count), like `DEBUG DIGEST`: the same
/// members with the same scores are the same sequence in (score, member) order.
impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|((m, s), (n, o))| m == n && s.to_bits() == o.to_bits())
    }
}

/// A listpack stores integral scores as integers (`zzlInsertAt` → `double2ll`), which turns
/// `-0.0` into `0`.
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 { 0.0 } else { score }
}

impl ZSet {
    /// An empty zset that is already a skiplist (`createZsetObject`), as the *STORE commands make
    /// for a large result.
    pub fn new_skiplist() -> ZSet {
        ZSet { dict: Some(Box::default()), ..ZSet::default() }
    }
    /// Room for `n` more members in a skiplist's dictionary (a loader that knows how many come).
    pub fn reserve(&mut self, n: usize) {
        if let Some(d) = &mut self.dict {
            d.reserve(n);
        }
    }
    /// The encoding: false = listpack, true = skiplist (OBJECT ENCODING, the RDB type, ZSCAN).
    pub fn is_skiplist(&self) -> bool {
        self.dict.is_some()
    }
    pub fn len(&self) -> usize {
        match &self.dict {
            Some(d) => d.len(),
            None => self.blocks.iter().map(Vec::len).sum(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
    /// The members' total length.
    pub fn member_bytes(&self) -> usize {
        self.member_bytes
    }
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.dict {
            Some(d) => d.get(member).copied(),
            None => self.position(member).map(|(b, i)| self.blocks[b][i].0),
        }
    }
    /// The `i`-th member in the encoding's own order, what a random pick or ZSCAN walks: a
    /// listpack's (ascending), a skiplist's dictionary's.
    pub fn pick(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.dict {
            Some(d) => d.get_index(i).map(|(m, s)| (m.as_bytes(), *s)),
            None => self.get_by_rank(i),
        }
    }
    /// A listpack's member, found by a walk (`zzlFind`): (block, index).
    fn position(&self, member: &[u8]) -> Option<(usize, usize)> {
        self.blocks.iter().enumerate().find_map(|(b, blk)| blk.iter().position(|e| e.1.as_bytes() == member).map(|i| (b, i)))
    }

    /// Sets a member's score (adding it if new); returns the previous score. Like `zsetAdd`, a
    /// score equal to the current one (`0 == -0`) changes nothing, and a new member that would
    /// overflow the listpack limits converts the zset to a skiplist first.
    pub fn insert<M: AsRef<[u8]> + Into<MapKey>>(&mut self, member: M, score: f64) -> Option<f64> {
        self.insert_limited(member, score, (MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE))
    }

    /// [`ZSet::insert`] with the listpack limits of the moment (`zset-max-listpack-entries`,
    /// `zset-max-listpack-value`), which `zsetAdd` reads from the config on every add.
    /// One lookup; the member is copied (`M: Into<MapKey>`) only when it is new.
    pub fn insert_limited<M: AsRef<[u8]> + Into<MapKey>>(
        &mut self,
        member: M,
        score: f64,
        (max_entries, max_value): (usize, usize),
    ) -> Option<f64> {
        // A score equal to the current one (`0 == -0`) changes nothing.
        self.add_limited(member, (max_entries, max_value), |old| (old != Some(score)).then_some(score))
    }

    /// `zsetAdd`'s one lookup: `decide` gets the member's current score (`None`: not a member)
    /// and returns the score to set, or `None` to leave the zset as it is. Returns the score
    /// the member had. A new member that would overflow the listpack limits converts the zset
    /// to a skiplist first; the member is copied only when it is new.
    pub fn add_limited<M: AsRef<[u8]> + Into<MapKey>>(
        &mut self,
        member: M,
        (max_entries, max_value): (usize, usize),
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> Option<f64> {
        let m_len = member.as_ref().len();
        if self.dict.is_none() {
            if let Some((b, i)) = self.position(member.as_ref()) {
                let old = self.blocks[b][i].0;
                let Some(score) = decide(Some(old)) else {
                    return Some(old);
                };
                let (_, key) = self.remove_at(b, i);
                self.order_insert(listpack_score(score), key);
                return Some(old);
            }
            let score = decide(None)?;
            if self.len() < max_entries && m_len <= max_value {
                self.member_bytes += m_len;
                self.order_insert(listpack_score(score), member.into());
                return None;
            }
            // Too many members or too long a one: a skiplist from now on, the new member in it.
            self.convert_to_skiplist();
            let key: MapKey = member.into();
            if let Some(d) = &mut self.dict {
                d.insert(key.clone(), score);
            }
            self.member_bytes += m_len;
            self.order_insert(score, key);
            return None;
        }
        // A skiplist here (a listpack returned above).
        let dict = self.dict.as_deref_mut()?;
        match dict.raw_entry_mut_v1().from_key(member.as_ref()) {
            RawEntryMut::Occupied(mut o) => {
                let old = *o.get();
                let Some(score) = decide(Some(old)) else {
                    return Some(old);
                };
                *o.get_mut() = score;
                let key = o.key().clone();
                self.order_remove(old, &key);
                self.order_insert(score, key);
                Some(old)
            }
            RawEntryMut::Vacant(v) => {
                let score = decide(None)?;
                let key: MapKey = member.into();
                v.insert(key.clone(), score);
                self.member_bytes += m_len;
                self.order_insert(score, key);
                None
            }
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let old = if let Some(d) = &mut self.dict {
            let old = d.swap_remove(member)?;
            self.order_remove(old, member);
            old
        } else {
            let (b, i) = self.position(member)?;
            self.remove_at(b, i).0
        };
        self.member_bytes -= member.len();
        Some(old)
    }

    /// The lowest (`max == false`) or highest member, removed (ZPOPMIN / ZPOPMAX).
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let (score, member) = if max { self.last() } else { self.first() }.map(|(m, s)| (s, m.to_vec()))?;
        self.remove(&member);
        Some((member, score))
    }

    /// Ascending (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        self.blocks.iter().flatten().map(|(s, m)| (m.as_bytes(), *s))
    }
    pub fn first(&self) -> Option<(&[u8], f64)> {
        self.blocks.first().and_then(|b| b.first()).map(|(s, m)| (m.as_bytes(), *s))
    }
    pub fn last(&self) -> Option<(&[u8], f64)> {
        self.blocks.last().and_then(|b| b.last()).map(|(s, m)| (m.as_bytes(), *s))
    }

    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        if self.dict.is_none() {
            return self.iter().position(|(m, _)| m == member);
        }
        let score = self.score(member)?;
        Some(self.partition_point(|s, m| Score(s).cmp(&Score(score)).then_with(|| m.cmp(member)) == Ordering::Less))
    }

    /// The member at a 0-based rank.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        let (b, i) = self.locate_rank(rank)?;
        self.blocks.get(b)?.get(i).map(|(s, m)| (m.as_bytes(), *s))
    }

    /// How many members, from the lowest, satisfy `before(score, member)`; `before` must hold for
    /// a prefix of the order (a binary search, like walking a skiplist).
    pub fn partition_point(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let b = self.blocks.partition_point(|blk| blk.last().is_some_and(|(s, m)| before(*s, m)));
        let prefix: usize = self.blocks[..b].iter().map(Vec::len).sum();
        prefix + self.blocks.get(b).map_or(0, |blk| blk.partition_point(|(s, m)| before(*s, m)))
    }

    /// Ascending from rank `start`.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (&[u8], f64)> {
        let (b, i) = self.locate_rank(start).unwrap_or((self.blocks.len(), 0));
        let head = self.blocks.get(b).map_or(&[][..], |blk| &blk[i..]);
        let tail = self.blocks.get(b + 1..).unwrap_or(&[]);
        head.iter().chain(tail.iter().flatten()).map(|(s, m)| (m.as_bytes(), *s))
    }

    /// Descending from rank `end - 1` down to rank 0.
    pub fn iter_rev_to(&self, end: usize) -> impl Iterator<Item = (&[u8], f64)> {
        let (b, i) = self.locate_rank(end).unwrap_or((self.blocks.len(), 0));
        let head = self.blocks.get(b).map_or(&[][..], |blk| &blk[..i]);
        let before = &self.blocks[..b.min(self.blocks.len())];
        head.iter().rev().chain(before.iter().rev().flat_map(|blk| blk.iter().rev())).map(|(s, m)| (m.as_bytes(), *s))
    }

    /// `zsetConvertToListpackIfNeeded`: a skiplist small enough becomes a listpack again (and
    /// its `-0` scores become `0`).
    pub fn convert_to_listpack_if_needed(&mut self) {
        self.convert_to_listpack_if_needed_limited((MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE));
    }

    /// [`ZSet::convert_to_listpack_if_needed`] with the config's limits of the moment.
    pub fn convert_to_listpack_if_needed_limited(&mut self, (max_entries, max_value): (usize, usize)) {
        if self.dict.is_none() || self.len() > max_entries || self.iter().any(|(m, _)| m.len() > max_value) {
            return;
        }
        for e in self.blocks.iter_mut().flatten() {
            e.0 = listpack_score(e.0);
        }
        for s in &mut self.lasts {
            *s = listpack_score(*s);
        }
        self.set_listpack();
    }

    /// Makes the zset a listpack whatever its size (its dictionary dropped), as `rdbLoadObject`
    /// leaves a listpack payload with a long member: its scores are left as they are.
    pub fn set_listpack(&mut self) {
        self.dict = None;
    }

    /// `zsetConvert(zobj, OBJ_ENCODING_SKIPLIST)`: the dictionary built from the order.
    pub fn convert_to_skiplist(&mut self) {
        if self.dict.is_some() {
            return;
        }
        let mut dict = Map::with_capacity_and_hasher(self.len(), Default::default());
        dict.extend(self.blocks.iter().flatten().map(|(s, m)| (m.clone(), *s)));
        self.dict = Some(Box::new(dict));
    }

    /// (block, index) of a rank; `None` past the end.
    fn locate_rank(&self, mut rank: usize) -> Option<(usize, usize)> {
        for (b, blk) in self.blocks.iter().enumerate() {
            if rank < blk.len() {
                return Some((b, rank));
            }
            rank -= blk.len();
        }
        None
    }

    /// (block, index) where (score, member) is or would go.
    fn locate_key(&self, score: f64, member: &[u8]) -> (usize, usize) {
        // The first block whose last entry is not below (score, member).
        let (mut b, mut end) = (0, self.lasts.len());
        while b < end {
            let mid = b + (end - b) / 2;
            let below = match self.lasts.get(mid).map(|&last| Score(last).cmp(&Score(score))) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => self.blocks.get(mid).and_then(|blk| blk.last()).is_some_and(|e| e.1.as_bytes() < member),
                _ => false,
            };
            if below {
                b = mid + 1;
            } else {
                end = mid;
            }
        }
        // Inside the block, by hand as above: the wasm's opt-level z kept `partition_point`'s
        // closure as a call per step.
        let i = self.blocks.get(b).map_or(0, |blk| {
            let (mut i, mut end) = (0, blk.len());
            while i < end {
                let mid = i + (end - i) / 2;
                if blk.get(mid).is_some_and(|e| entry_below(e, score, member)) {
                    i = mid + 1;
                } else {
                    end = mid;
                }
            }
            i
        });
        (b, i)
    }

    fn order_insert(&mut self, score: f64, member: MapKey) {
        let (mut b, mut i) = self.locate_key(score, &member);
        if b == self.blocks.len() {
            // Beyond every entry: append to the last block (or start the first one).
            match self.blocks.last_mut() {
                Some(last) => {
                    b -= 1;
                    i = last.len();
                }
                None => {
                    // One block is all most zsets have: no room kept for more.
                    self.blocks.reserve_exact(1);
                    self.blocks.push(Vec::new());
                    self.lasts.reserve_exact(1);
                    self.lasts.push(score);
                }
            }
        }
        let blk = &mut self.blocks[b];
        super::value::grow_gently(blk);
        blk.insert(i, (score, member));
        if blk.len() > BLOCK_MAX {
            let upper = blk.split_off(blk.len() / 2);
            self.lasts.insert(b + 1, upper.last().map_or(0.0, |e| e.0));
            self.blocks.insert(b + 1, upper);
        }
        self.fence(b);
    }

    /// Sets block `b`'s entry in `lasts` after a change to the block.
    fn fence(&mut self, b: usize) {
        if let (Some(last), Some(l)) = (self.blocks.get(b).and_then(|blk| blk.last()), self.lasts.get_mut(b)) {
            *l = last.0;
        }
    }

    fn order_remove(&mut self, score: f64, member: &[u8]) {
        let (b, i) = self.locate_key(score, member);
        if self.blocks.get(b).and_then(|blk| blk.get(i)).is_some_and(|e| cmp_entry(e, score, member) == Ordering::Equal) {
            self.remove_at(b, i);
        }
    }

    /// Removes the entry at (block, index), which must exist, keeping the blocks' invariants.
    fn remove_at(&mut self, b: usize, i: usize) -> Entry {
        let blk = &mut self.blocks[b];
        let entry = blk.remove(i);
        if blk.is_empty() {
            self.blocks.remove(b);
            self.lasts.remove(b);
            return entry;
        }
        let small = blk.len() < BLOCK_MIN;
        self.fence(b);
        if small {
            // Merge with the smaller neighbour when the two fit in one block.
            let next = self.blocks.get(b + 1).map(Vec::len);
            let prev = b.checked_sub(1).and_then(|p| self.blocks.get(p)).map(Vec::len);
            let len = self.blocks[b].len();
            if next.is_some_and(|n| n + len <= BLOCK_MAX) && (prev.is_none() || next <= prev) {
                let upper = self.blocks.remove(b + 1);
                self.lasts.remove(b + 1);
                self.blocks[b].extend(upper);
                self.fence(b);
            } else if prev.is_some_and(|p| p + len <= BLOCK_MAX) {
                let this = self.blocks.remove(b);
                self.lasts.remove(b);
                self.blocks[b - 1].extend(this);
                self.fence(b - 1);
            }
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive model: a sorted Vec.
    fn model(reference: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = reference.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| Score(a.1).cmp(&Score(b.1)).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// Random inserts, updates, removals and pops on `z`, each answer and, every `check` steps,
    /// the whole order, ranks and positions compared with a plain map sorted.
    fn random_ops(mut z: ZSet, distinct: usize, steps: usize, check: usize, seed: u64) -> ZSet {
        let mut reference = std::collections::HashMap::new();
        let mut rng = fastrand::Rng::with_seed(seed);
        for step in 0..steps {
            let m = format!("m{}", rng.usize(..distinct)).into_bytes();
            match rng.u8(..10) {
                0..=5 => {
                    // Scores are never -0 here: a listpack would store 0 (see the test below).
                    let s = f64::from(rng.i32(-50..50)) / 4.0 + 0.0;
                    assert_eq!(z.insert(m.as_slice(), s), reference.insert(m, s));
                }
                6..=8 => assert_eq!(z.remove(&m), reference.remove(&m)),
                _ => {
                    let max = rng.bool();
                    let want = model(&reference);
                    let want = if max { want.last() } else { want.first() }.cloned();
                    if let Some((m, _)) = &want {
                        reference.remove(m);
                    }
                    assert_eq!(z.pop(max), want);
                }
            }
            if step % check == 0 {
                let expected = model(&reference);
                let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                assert_eq!(got, expected);
                assert_eq!(z.len(), expected.len());
                assert_eq!(z.member_bytes(), expected.iter().map(|(m, _)| m.len()).sum::<usize>());
                for (r, (m, s)) in expected.iter().enumerate().step_by(7) {
                    assert_eq!(z.score(m), Some(*s));
                    assert_eq!(z.rank(m), Some(r));
                    assert_eq!(z.get_by_rank(r).map(|(m, _)| m.to_vec()), Some(m.clone()));
                    assert_eq!(z.iter_from(r).next().map(|(m, _)| m.to_vec()), Some(m.clone()));
                    assert_eq!(z.iter_rev_to(r + 1).next().map(|(m, _)| m.to_vec()), Some(m.clone()));
                    assert_eq!(z.iter_rev_to(r + 1).count(), r + 1);
                    assert_eq!(z.iter_from(r).count(), expected.len() - r);
                }
                // A random pick reaches every member once.
                let mut picked: Vec<Vec<u8>> = (0..z.len()).filter_map(|i| z.pick(i)).map(|(m, _)| m.to_vec()).collect();
                picked.sort();
                let mut all: Vec<Vec<u8>> = expected.iter().map(|(m, _)| m.clone()).collect();
                all.sort();
                assert_eq!(picked, all);
                assert!(z.blocks.iter().all(|b| !b.is_empty() && b.len() <= BLOCK_MAX));
                let lasts: Vec<u64> = z.blocks.iter().filter_map(|b| b.last()).map(|e| e.0.to_bits()).collect();
                assert_eq!(z.lasts.iter().map(|s| s.to_bits()).collect::<Vec<_>>(), lasts);
                assert_eq!(
                    z.dict.as_ref().map(|d| d.len()),
                    z.is_skiplist().then_some(expected.len()),
                    "a dictionary only while a skiplist"
                );
            }
        }
        z
    }

    #[test]
    fn order_matches_a_sorted_vec_through_inserts_updates_and_removals() {
        // 3 000 members: a listpack first, then a skiplist of many blocks.
        assert!(random_ops(ZSet::default(), 3000, 20_000, 997, 7).is_skiplist());
        assert!(random_ops(ZSet::new_skiplist(), 3000, 20_000, 997, 8).is_skiplist());
    }

    /// The listpack form (no dictionary: every lookup walks the order) answers as the skiplist does.
    #[test]
    fn a_listpack_answers_as_a_skiplist() {
        // At most 100 members: it stays a listpack all along.
        assert!(!random_ops(ZSet::default(), 100, 20_000, 13, 9).is_skiplist());
        let z = random_ops(ZSet::new_skiplist(), 100, 20_000, 13, 9);
        assert!(z.is_skiplist());
        let mut l = random_ops(ZSet::default(), 100, 20_000, 13, 9);
        assert_eq!(l, z, "the same operations give the same content");
        let mut s = l.clone();
        s.convert_to_skiplist();
        assert!(s.dict.as_ref().is_some_and(|d| d.len() == s.len()));
        assert_eq!(s, l);
        s.convert_to_listpack_if_needed();
        assert!(s.dict.is_none());
        assert_eq!(s, l);
        // SORT's conversion, then the skiplist grows and shrinks like any other.
        l.convert_to_skiplist();
        l.insert(&b"new"[..], 0.5);
        assert_eq!(l.score(b"new"), Some(0.5));
        assert_eq!(l.remove(b"new"), Some(0.5));
        assert_eq!(l, z);
    }

    #[test]
    fn listpack_turns_negative_zero_into_zero() {
        let mut z = ZSet::default();
        z.insert(b"a".to_vec(), -0.0);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
        let mut s = ZSet::new_skiplist();
        s.insert(b"a".to_vec(), -0.0);
        assert!(s.score(b"a").is_some_and(|s| s.is_sign_negative()));
        assert_eq!(s.insert(b"a".to_vec(), 0.0), Some(-0.0));
        assert!(s.score(b"a").is_some_and(|s| s.is_sign_negative()), "0 == -0: no update");
        s.convert_to_listpack_if_needed();
        assert!(!s.is_skiplist());
        assert!(s.score(b"a").is_some_and(|s| s.is_sign_positive()));
        assert!(s.iter().all(|(_, sc)| sc.is_sign_positive()));
        assert!(s.lasts.iter().all(|sc| sc.is_sign_positive()));
    }

    #[test]
    fn conversion_thresholds() {
        let mut z = ZSet::default();
        for i in 0..MAX_LISTPACK_ENTRIES {
            z.insert(format!("{i}").into_bytes(), 1.0);
        }
        assert!(!z.is_skiplist());
        z.insert(b"one more".to_vec(), 1.0);
        assert!(z.is_skiplist());
        let mut z = ZSet::default();
        z.insert(vec![b'x'; MAX_LISTPACK_VALUE], 1.0);
        assert!(!z.is_skiplist());
        z.insert(vec![b'x'; MAX_LISTPACK_VALUE + 1], 1.0);
        assert!(z.is_skiplist());
    }

    /// Members added in ascending order (a listpack's, as Redis saves it), descending
    /// (a skiplist's as Redis saves it) or shuffled give the same zset, at every size around the
    /// block's, with valid blocks; it then takes changes like any other.
    #[test]
    fn any_insertion_order_gives_the_same_zset() {
        let mut rng = fastrand::Rng::with_seed(17);
        for n in [0usize, 1, 2, 5, BLOCK_MAX - 1, BLOCK_MAX, BLOCK_MAX + 1, 3 * BLOCK_MAX + 7, 1000] {
            // Ties on scores, so that members order some.
            let mut members: Vec<(Vec<u8>, f64)> = (0..n).map(|i| (format!("m{i}").into_bytes(), f64::from(rng.i32(-20..20)))).collect();
            members.sort_by(|a, b| Score(a.1).cmp(&Score(b.1)).then_with(|| a.0.cmp(&b.0)));
            let descending: Vec<_> = members.iter().rev().cloned().collect();
            let mut shuffled = members.clone();
            rng.shuffle(&mut shuffled);
            for order in [&members, &descending, &shuffled] {
                let mut z = ZSet::new_skiplist();
                for (m, s) in order {
                    assert_eq!(z.insert(m.as_slice(), *s), None);
                }
                assert_eq!(z.iter().map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>(), members);
                assert!(z.blocks.iter().all(|b| !b.is_empty() && b.len() <= BLOCK_MAX));
                assert_eq!(z.lasts, z.blocks.iter().map(|b| b.last().map_or(0.0, |e| e.0)).collect::<Vec<_>>());
                for (i, (m, _)) in members.iter().enumerate() {
                    assert_eq!(z.rank(m), Some(i));
                }
                z.insert(&b"new"[..], 0.5);
                z.remove(b"m0");
                let mut want = members.clone();
                want.retain(|(m, _)| m != b"m0");
                want.push((b"new".to_vec(), 0.5));
                want.sort_by(|a, b| Score(a.1).cmp(&Score(b.1)).then_with(|| a.0.cmp(&b.0)));
                assert_eq!(z.iter().map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>(), want);
            }
        }
    }
}
