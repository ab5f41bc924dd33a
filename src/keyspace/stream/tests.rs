use super::*;

fn add(s: &mut Stream, ms: u64, seq: u64, pairs: &[&str]) -> Result<StreamId, AppendError> {
    let pairs: Vec<&[u8]> = pairs.iter().map(|p| p.as_bytes()).collect();
    s.append_item(&pairs, Some(StreamId::new(ms, seq)), true, 0, NodeLimits::default())
}

fn ids(s: &Stream, rev: bool) -> Vec<StreamId> {
    let mut it = s.iter(None, None, rev);
    std::iter::from_fn(|| it.next_entry().map(|e| e.id)).collect()
}

fn fields(s: &Stream, id: StreamId) -> Vec<Vec<u8>> {
    s.iter(Some(id), Some(id), false).next_entry().map(|e| e.fields.iter().map(|f| f.to_vec()).collect()).unwrap_or_default()
}

#[test]
fn the_first_entry_makes_a_master_entry_and_shares_its_fields() {
    let mut s = Stream::new();
    add(&mut s, 1, 1, &["a", "1", "b", "x"]).unwrap();
    add(&mut s, 1, 2, &["a", "2", "b", "y"]).unwrap();
    add(&mut s, 3, 0, &["c", "z"]).unwrap();
    assert_eq!(s.rax.len(), 1);
    let node = &s.rax[&StreamId::new(1, 1)];
    let mut p = listpack::first(node);
    let mut elems = Vec::new();
    while let Some(q) = p {
        elems.push(listpack::get(node, q).to_vec());
        p = listpack::next(node, q);
    }
    let want: Vec<&[u8]> = vec![
        b"3", b"0", b"2", b"a", b"b", b"0", // master: count, deleted, fields, terminator
        b"2", b"0", b"0", b"1", b"x", b"5", // SAMEFIELDS, +0-+0, values, lp-count 3+2
        b"2", b"0", b"1", b"2", b"y", b"5", //
        b"0", b"2", b"-1", b"1", b"c", b"z", b"6", // own fields; seq delta 0 - 1; lp-count 3+1+2
    ];
    assert_eq!(elems, want);
    assert_eq!(fields(&s, StreamId::new(3, 0)), vec![b"c".to_vec(), b"z".to_vec()]);
    assert_eq!(ids(&s, true), vec![StreamId::new(3, 0), StreamId::new(1, 2), StreamId::new(1, 1)]);
}

#[test]
fn ids_must_grow_and_sequences_are_generated() {
    let mut s = Stream::new();
    add(&mut s, 5, 5, &["f", "v"]).unwrap();
    assert_eq!(add(&mut s, 5, 5, &["f", "v"]), Err(AppendError::NotGreater));
    assert_eq!(add(&mut s, 4, 9, &["f", "v"]), Err(AppendError::NotGreater));
    let pairs: Vec<&[u8]> = vec![b"f", b"v"];
    assert_eq!(s.append_item(&pairs, Some(StreamId::new(5, 0)), false, 0, NodeLimits::default()), Ok(StreamId::new(5, 6)));
    assert_eq!(s.append_item(&pairs, Some(StreamId::new(7, 0)), false, 0, NodeLimits::default()), Ok(StreamId::new(7, 0)));
    // `*`: the time, or the last ID's successor when the clock is behind.
    assert_eq!(s.append_item(&pairs, None, false, 100, NodeLimits::default()), Ok(StreamId::new(100, 0)));
    assert_eq!(s.append_item(&pairs, None, false, 50, NodeLimits::default()), Ok(StreamId::new(100, 1)));
    assert_eq!((s.length, s.entries_added, s.last_id, s.first_id), (5, 5, StreamId::new(100, 1), StreamId::new(5, 5)));
}

#[test]
fn nodes_split_at_the_entry_and_byte_limits() {
    let mut s = Stream::new();
    for i in 0..250 {
        add(&mut s, i + 1, 0, &["f", "v"]).unwrap();
    }
    assert_eq!(s.rax.keys().map(|k| k.ms).collect::<Vec<_>>(), vec![1, 101, 201]);
    let mut s = Stream::new();
    let big = "x".repeat(1000);
    for i in 0..5 {
        add(&mut s, i + 1, 0, &["f", &big]).unwrap();
    }
    // A node is full once its bytes plus the new elements reach 4096.
    assert_eq!(s.rax.keys().map(|k| k.ms).collect::<Vec<_>>(), vec![1, 5]);
}

#[test]
fn deletion_flags_entries_and_drops_empty_nodes() {
    let mut s = Stream::new();
    for i in 1..=3 {
        add(&mut s, i, 0, &["f", "v"]).unwrap();
    }
    assert!(s.delete_item(StreamId::new(2, 0)));
    assert!(!s.delete_item(StreamId::new(2, 0)));
    assert_eq!(ids(&s, false), vec![StreamId::new(1, 0), StreamId::new(3, 0)]);
    assert_eq!(ids(&s, true), vec![StreamId::new(3, 0), StreamId::new(1, 0)]);
    let mut it = s.iter(None, None, false);
    it.skip_tombstones = false;
    assert_eq!(std::iter::from_fn(|| it.next_entry().map(|e| e.id.ms)).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(s.length, 2);
    assert!(s.delete_item(StreamId::new(1, 0)));
    assert!(s.delete_item(StreamId::new(3, 0)));
    assert!(s.rax.is_empty());
    assert_eq!(s.edge_id(true, true), StreamId::MAX);
}

#[test]
fn trimming_exactly_and_by_whole_nodes() {
    let mut s = Stream::new();
    for i in 1..=250 {
        add(&mut s, i, 0, &["f", "v"]).unwrap();
    }
    let approx = TrimArgs { strategy: TrimStrategy::MaxLen(120), approx: true, limit: 10000 };
    assert_eq!(s.trim(&approx), 100); // one whole node; the next would go below 120
    assert_eq!(s.length, 150);
    let exact = TrimArgs { strategy: TrimStrategy::MinId(StreamId::new(105, 0)), approx: false, limit: 0 };
    assert_eq!(s.trim(&exact), 4);
    assert_eq!(s.first_id, StreamId::new(105, 0));
    assert_eq!(s.edge_id(true, false), StreamId::new(101, 0)); // tombstones stay in the node
    let limited = TrimArgs { strategy: TrimStrategy::MaxLen(0), approx: true, limit: 50 };
    assert_eq!(s.trim(&limited), 0);
}

#[test]
fn lag_and_read_counters() {
    let mut s = Stream::new();
    for i in 1..=5 {
        add(&mut s, i, 0, &["f", "v"]).unwrap();
    }
    let g = ConsumerGroup::new(StreamId::MIN, 0);
    assert_eq!(s.cg_lag(&g), Some(5));
    assert_eq!(s.estimate_distance_from_first_ever_entry(StreamId::new(5, 0)), 5);
    assert_eq!(s.estimate_distance_from_first_ever_entry(StreamId::new(1, 0)), 1);
    assert_eq!(s.estimate_distance_from_first_ever_entry(StreamId::new(3, 0)), INVALID_ENTRIES_READ);
    s.delete_item(StreamId::new(3, 0));
    s.max_deleted_entry_id = StreamId::new(3, 0);
    assert!(s.range_has_tombstones(Some(StreamId::new(2, 0)), None));
    assert_eq!(s.cg_lag(&g), None);
}

#[test]
fn radix_tree_nodes_of_sixteen_byte_keys() {
    let mut s = Stream::new();
    assert_eq!(s.rax_nodes(), 1);
    add(&mut s, 1, 0, &["f", "v"]).unwrap();
    assert_eq!(s.rax_nodes(), 2); // the head as one compressed node, and the key
    s.rax.insert(StreamId::new(1, 1), listpack::new());
    assert_eq!(s.rax_nodes(), 4); // 15 shared bytes, a branch, two keys
    s.rax.insert(StreamId::new(2, 0), listpack::new());
    // 7 shared bytes; a branch on byte 8 into "1 then 7 zeros" (a branch, two keys) and "2…".
    assert_eq!(s.rax_nodes(), 8);
}

#[test]
fn ids_print_and_encode_like_redis() {
    let id = StreamId::new(1_700_000_000_000, 42);
    assert_eq!(id.to_string(), "1700000000000-42");
    assert_eq!(StreamId::decode(&id.encode()), id);
    let mut max = StreamId::MAX;
    assert!(!max.incr());
    assert_eq!(max, StreamId::MIN);
    let mut min = StreamId::MIN;
    assert!(!min.decr());
    assert_eq!(min, StreamId::MAX);
}

#[test]
fn allocator_size_classes() {
    let classes: Vec<usize> = [1, 8, 9, 100, 128, 129, 160, 161, 4096, 4100, 5121].into_iter().map(malloc_size).collect();
    assert_eq!(classes, vec![8, 8, 16, 112, 128, 160, 160, 192, 4096, 5120, 6144]);
}
