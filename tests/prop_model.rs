//! The engine against a model keyspace: random sequences of string, list, set and hash commands
//! over a few keys in a few databases must get the replies a plain `BTreeMap` model predicts
//! (Redis's semantics written the obvious way: WRONGTYPE, empty collections deleted, INCR's
//! strict integers and overflow). Then the AOF property: the bytes the engine propagated, loaded
//! into a fresh server, rebuild the same dataset (`DEBUG DIGEST`).

// Native only: proptest (and std::fs for fixtures) are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use aof_lab::aof::load::{AofStatus, load_single_append_only_file};
use aof_lab::keyspace::digest::{dataset_digest, hex};
use aof_lab::reply::{INCR_OVERFLOW, NOT_INTEGER, WRONGTYPE};
use aof_lab::server::Server;
use aof_lab::{Config, Engine, Reply};
use proptest::prelude::*;

const KEYS: &[&str] = &["a", "b", "c"];
const VALUES: &[&[u8]] =
    &[b"1", b"10", b"-5", b"0", b"abc", b"", b"007", b"x y", b"\x00\xff\r\n", b"9223372036854775807", b"-9223372036854775808"];
const DBS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Set(usize, usize),
    Get(usize),
    Del(usize),
    Append(usize, usize),
    Incr(usize),
    Rpush(usize, Vec<usize>),
    Lpop(usize),
    Lrange(usize, i64, i64),
    Sadd(usize, Vec<usize>),
    Srem(usize, Vec<usize>),
    Scard(usize),
    Hset(usize, Vec<(usize, usize)>),
    Hdel(usize, Vec<usize>),
    Hget(usize, usize),
    Exists(Vec<usize>),
    Select(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0..KEYS.len();
    let v = || 0..VALUES.len();
    let vs = move || prop::collection::vec(v(), 1..4);
    prop_oneof![
        (k(), v()).prop_map(|(k, v)| Op::Set(k, v)),
        k().prop_map(Op::Get),
        k().prop_map(Op::Del),
        (k(), v()).prop_map(|(k, v)| Op::Append(k, v)),
        k().prop_map(Op::Incr),
        (k(), vs()).prop_map(|(k, v)| Op::Rpush(k, v)),
        k().prop_map(Op::Lpop),
        (k(), -4i64..5, -4i64..5).prop_map(|(k, a, b)| Op::Lrange(k, a, b)),
        (k(), vs()).prop_map(|(k, v)| Op::Sadd(k, v)),
        (k(), vs()).prop_map(|(k, v)| Op::Srem(k, v)),
        k().prop_map(Op::Scard),
        (k(), prop::collection::vec((v(), v()), 1..3)).prop_map(|(k, p)| Op::Hset(k, p)),
        (k(), vs()).prop_map(|(k, v)| Op::Hdel(k, v)),
        (k(), v()).prop_map(|(k, f)| Op::Hget(k, f)),
        prop::collection::vec(k(), 1..4).prop_map(Op::Exists),
        (0..DBS).prop_map(Op::Select),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
}

struct Model {
    dbs: Vec<BTreeMap<Vec<u8>, Val>>,
    db: usize,
}

fn wrongtype() -> Reply {
    Reply::err(WRONGTYPE)
}

/// `string2ll`: no spaces, no `+`, no leading zeros, `-0` refused, within i64.
fn strict_i64(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?;
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = s == "0" || (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) && !digits.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

impl Model {
    fn apply(&mut self, op: &Op) -> Reply {
        let key = |k: usize| KEYS[k].as_bytes().to_vec();
        let val = |v: usize| VALUES[v].to_vec();
        let db = &mut self.dbs[self.db];
        match op {
            Op::Set(k, v) => {
                db.insert(key(*k), Val::Str(val(*v)));
                Reply::ok()
            }
            Op::Get(k) => match db.get(&key(*k)) {
                None => Reply::Nil,
                Some(Val::Str(s)) => Reply::Bulk(s.clone()),
                Some(_) => wrongtype(),
            },
            Op::Del(k) => Reply::Int(i64::from(db.remove(&key(*k)).is_some())),
            Op::Append(k, v) => match db.entry(key(*k)).or_insert_with(|| Val::Str(Vec::new())) {
                Val::Str(s) => {
                    s.extend_from_slice(VALUES[*v]);
                    Reply::Int(s.len() as i64)
                }
                _ => wrongtype(),
            },
            Op::Incr(k) => match db.get(&key(*k)) {
                None => {
                    db.insert(key(*k), Val::Str(b"1".to_vec()));
                    Reply::Int(1)
                }
                Some(Val::Str(s)) => match strict_i64(s) {
                    None => Reply::err(NOT_INTEGER),
                    Some(n) => match n.checked_add(1) {
                        None => Reply::err(INCR_OVERFLOW),
                        Some(n) => {
                            db.insert(key(*k), Val::Str(n.to_string().into_bytes()));
                            Reply::Int(n)
                        }
                    },
                },
                Some(_) => wrongtype(),
            },
            Op::Rpush(k, vs) => match db.entry(key(*k)).or_insert_with(|| Val::List(VecDeque::new())) {
                Val::List(l) => {
                    l.extend(vs.iter().map(|&v| val(v)));
                    Reply::Int(l.len() as i64)
                }
                _ => wrongtype(),
            },
            Op::Lpop(k) => match db.get_mut(&key(*k)) {
                None => Reply::Nil,
                Some(Val::List(l)) => {
                    let v = l.pop_front().unwrap_or_default();
                    if l.is_empty() {
                        db.remove(&key(*k));
                    }
                    Reply::Bulk(v)
                }
                Some(_) => wrongtype(),
            },
            Op::Lrange(k, start, stop) => match db.get(&key(*k)) {
                None => Reply::Array(vec![]),
                Some(Val::List(l)) => {
                    let len = l.len() as i64;
                    let (mut start, mut stop) = (*start, *stop);
                    if start < 0 {
                        start += len;
                    }
                    if stop < 0 {
                        stop += len;
                    }
                    start = start.max(0);
                    if start > stop || start >= len {
                        return Reply::Array(vec![]);
                    }
                    stop = stop.min(len - 1);
                    Reply::Array((start..=stop).map(|i| Reply::Bulk(l[i as usize].clone())).collect())
                }
                Some(_) => wrongtype(),
            },
            Op::Sadd(k, vs) => match db.entry(key(*k)).or_insert_with(|| Val::Set(BTreeSet::new())) {
                Val::Set(s) => Reply::Int(vs.iter().filter(|&&v| s.insert(val(v))).count() as i64),
                _ => wrongtype(),
            },
            Op::Srem(k, vs) => match db.get_mut(&key(*k)) {
                None => Reply::Int(0),
                Some(Val::Set(s)) => {
                    let n = vs.iter().filter(|&&v| s.remove(VALUES[v])).count();
                    if s.is_empty() {
                        db.remove(&key(*k));
                    }
                    Reply::Int(n as i64)
                }
                Some(_) => wrongtype(),
            },
            Op::Scard(k) => match db.get(&key(*k)) {
                None => Reply::Int(0),
                Some(Val::Set(s)) => Reply::Int(s.len() as i64),
                Some(_) => wrongtype(),
            },
            Op::Hset(k, pairs) => match db.entry(key(*k)).or_insert_with(|| Val::Hash(BTreeMap::new())) {
                Val::Hash(h) => Reply::Int(pairs.iter().filter(|&&(f, v)| h.insert(val(f), val(v)).is_none()).count() as i64),
                _ => wrongtype(),
            },
            Op::Hdel(k, fs) => match db.get_mut(&key(*k)) {
                None => Reply::Int(0),
                Some(Val::Hash(h)) => {
                    let n = fs.iter().filter(|&&f| h.remove(VALUES[f]).is_some()).count();
                    if h.is_empty() {
                        db.remove(&key(*k));
                    }
                    Reply::Int(n as i64)
                }
                Some(_) => wrongtype(),
            },
            Op::Hget(k, f) => match db.get(&key(*k)) {
                None => Reply::Nil,
                Some(Val::Hash(h)) => h.get(VALUES[*f]).map_or(Reply::Nil, |v| Reply::Bulk(v.clone())),
                Some(_) => wrongtype(),
            },
            Op::Exists(ks) => Reply::Int(ks.iter().filter(|&&k| db.contains_key(&key(k))).count() as i64),
            Op::Select(n) => {
                self.db = *n;
                Reply::ok()
            }
        }
    }
}

fn argv(op: &Op) -> Vec<Vec<u8>> {
    let key = |k: usize| KEYS[k].as_bytes().to_vec();
    let val = |v: usize| VALUES[v].to_vec();
    let with = |name: &str, k: usize, rest: &[usize]| {
        let mut a = vec![name.as_bytes().to_vec(), key(k)];
        a.extend(rest.iter().map(|&v| val(v)));
        a
    };
    match op {
        Op::Set(k, v) => with("SET", *k, &[*v]),
        Op::Get(k) => with("GET", *k, &[]),
        Op::Del(k) => with("DEL", *k, &[]),
        Op::Append(k, v) => with("APPEND", *k, &[*v]),
        Op::Incr(k) => with("INCR", *k, &[]),
        Op::Rpush(k, vs) => with("RPUSH", *k, vs),
        Op::Lpop(k) => with("LPOP", *k, &[]),
        Op::Lrange(k, a, b) => vec![b"LRANGE".to_vec(), key(*k), a.to_string().into_bytes(), b.to_string().into_bytes()],
        Op::Sadd(k, vs) => with("SADD", *k, vs),
        Op::Srem(k, vs) => with("SREM", *k, vs),
        Op::Scard(k) => with("SCARD", *k, &[]),
        Op::Hset(k, pairs) => with("HSET", *k, &pairs.iter().flat_map(|&(f, v)| [f, v]).collect::<Vec<_>>()),
        Op::Hdel(k, fs) => with("HDEL", *k, fs),
        Op::Hget(k, f) => with("HGET", *k, &[*f]),
        Op::Exists(ks) => std::iter::once(b"EXISTS".to_vec()).chain(ks.iter().map(|&k| key(k))).collect(),
        Op::Select(n) => vec![b"SELECT".to_vec(), n.to_string().into_bytes()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model_and_aof_replays(ops in prop::collection::vec(op(), 1..60)) {
        let now = 1_700_000_000_000;
        let mut e = Engine::new(Config { appendonly: true, ..Default::default() }, now);
        let c = e.connect();
        let mut model = Model { dbs: vec![BTreeMap::new(); DBS], db: 0 };
        for (i, op) in ops.iter().enumerate() {
            let a = argv(op);
            let refs: Vec<&[u8]> = a.iter().map(|x| x.as_slice()).collect();
            let got = e.execute(c, &refs, now);
            let want = model.apply(op);
            prop_assert_eq!(got, Some(want), "op #{} {:?}", i, op);
        }

        // Same number of keys per database as the model (SCARD/EXISTS saw the rest).
        for (i, db) in model.dbs.iter().enumerate() {
            let n = e.execute(c, &[b"SELECT", i.to_string().as_bytes()], now);
            prop_assert_eq!(n, Some(Reply::ok()));
            prop_assert_eq!(e.execute(c, &[b"DBSIZE"], now), Some(Reply::Int(db.len() as i64)));
        }

        let aof = e.take_aof_buf();
        let mut fresh = Server::new(Config::default(), now);
        let (status, _) = load_single_append_only_file(&mut fresh, "appendonly.aof.1.incr.aof", &aof);
        prop_assert!(matches!(status, AofStatus::Ok | AofStatus::Empty), "{:?}", status);
        prop_assert_eq!(hex(&dataset_digest(&fresh.dbs)), hex(&dataset_digest(&e.srv.dbs)), "AOF:\n{}", String::from_utf8_lossy(&aof));
        // And the engine's own DEBUG DIGEST says the same.
        let digest = e.execute(c, &[b"DEBUG", b"DIGEST"], now);
        prop_assert_eq!(digest, Some(Reply::Status(hex(&dataset_digest(&fresh.dbs)).into())));
    }
}
