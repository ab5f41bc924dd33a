//! `DEBUG DIGEST` / `DEBUG DIGEST-VALUE` through the engine, on the test vectors that the real
//! redis-server 7.0.15 produced (REDIS-DIGEST.md §8). Values are written straight into the
//! keyspace so that these tests depend on no other command family.

use aof_lab::keyspace::digest::{dataset_digest, hex, value_digest};
use aof_lab::keyspace::{Hash, SetValue, Value, ZSet};
use aof_lab::{Config, Engine, Reply};

const NOW: i64 = 1_795_464_876_627;
const FAR: i64 = 4_102_444_800_000;

fn s(v: &[u8]) -> Value {
    Value::String(v.to_vec().into())
}
fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|e| e.as_bytes().to_vec()).collect())
}
fn set(items: &[&str]) -> Value {
    let mut sv = SetValue::default();
    for m in items {
        sv.insert(m.as_bytes().to_vec());
    }
    Value::Set(sv)
}
fn zset(items: &[(f64, &str)]) -> Value {
    let mut z = ZSet::default();
    for (score, m) in items {
        z.insert(m.as_bytes().to_vec(), *score);
    }
    Value::ZSet(z)
}
fn hash(items: &[(&str, &str)]) -> Value {
    let mut h = Hash::default();
    for (f, v) in items {
        h.insert(f.as_bytes().to_vec(), v.as_bytes().to_vec());
    }
    Value::Hash(h)
}

struct Lab {
    e: Engine,
    c: u64,
}

impl Lab {
    fn new() -> Lab {
        let mut e = Engine::new(Config::default(), NOW);
        let c = e.connect();
        Lab { e, c }
    }
    fn put(&mut self, db: usize, key: &[u8], v: Value) -> &mut Self {
        self.e.srv.dbs[db].insert(key.to_vec(), v);
        self
    }
    fn cmd(&mut self, argv: &[&[u8]]) -> Reply {
        self.e.execute(self.c, argv, NOW).expect("a reply")
    }
    fn digest(&mut self) -> String {
        match self.cmd(&[b"DEBUG", b"DIGEST"]) {
            Reply::Status(s) => s.into_owned(),
            r => panic!("{r:?}"),
        }
    }
    fn digest_value(&mut self, db: usize, key: &[u8]) -> String {
        let db = db.to_string();
        self.cmd(&[b"SELECT", db.as_bytes()]);
        match self.cmd(&[b"DEBUG", b"DIGEST-VALUE", key]) {
            Reply::Array(items) => match items.as_slice() {
                [Reply::Status(s)] => s.to_string(),
                r => panic!("{r:?}"),
            },
            r => panic!("{r:?}"),
        }
    }
}

#[test]
fn v1_empty() {
    let mut lab = Lab::new();
    assert_eq!(lab.digest(), "0000000000000000000000000000000000000000");
    assert_eq!(lab.digest_value(0, b"nosuchkey"), "0000000000000000000000000000000000000000");
    assert_eq!(lab.cmd(&[b"DEBUG", b"DIGEST-VALUE"]), Reply::Array(vec![]));
}

#[test]
fn v2_v3_string_and_ttl() {
    let mut lab = Lab::new();
    lab.put(0, b"k", s(b"v"));
    assert_eq!(lab.digest(), "264ccf65edec66bccfa7cc659414ccca432057d2");
    assert_eq!(lab.digest_value(0, b"k"), "d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f");
    lab.e.srv.dbs[0].set_expire(b"k", FAR);
    assert_eq!(lab.digest(), "bf83f210388eea94f06fb90d517490e16a08d7dd");
    assert_eq!(lab.digest_value(0, b"k"), "311b17018163335616e089f6b951c82c477335ac");
}

#[test]
fn v4_strings() {
    let mut lab = Lab::new();
    lab.put(0, b"n", s(b"123")).put(0, b"m", s(b"-5")).put(0, b"e", s(b"")).put(0, b"b", s(b"\x00\xff")).put(0, b"", s(b"x"));
    assert_eq!(lab.digest(), "cd8ee85c2c06601c189424257c43c9f162c40c4d");
    assert_eq!(lab.digest_value(0, b"n"), "89f7f51b707418f666d5b45e053bd5bbbf82ac2b");
    assert_eq!(lab.digest_value(0, b"m"), "b8fe4ac02b2f7e40537890f8b06b1107798d89e1");
    assert_eq!(lab.digest_value(0, b"e"), "8b3447c33a834b810e3e181b6fd6a2ee1020921c");
    assert_eq!(lab.digest_value(0, b"b"), "d65039c9cacd9d9ec4694829bfe23fe1ca4f3740");
    assert_eq!(lab.digest_value(0, b""), "e1c099d36d86ec50b7f83540e7e59065055be33d");
}

#[test]
fn v5_lists() {
    let mut lab = Lab::new();
    lab.put(0, b"l1", list(&["a", "1", "b"])).put(0, b"l2", list(&["b", "1", "a"]));
    assert_eq!(lab.digest(), "ddb6a8570c1cfac92126ec0ba585e35f51c4a021");
    assert_eq!(lab.digest_value(0, b"l1"), "d5f44352f6226abea9252dad248ef5de0d964396");
    assert_eq!(lab.digest_value(0, b"l2"), "dbbe983f5abf8d1e1b11dc8189305404be3c09dd");
}

#[test]
fn v6_sets() {
    let mut lab = Lab::new();
    lab.put(0, b"si", set(&["3", "1", "2", "-7"])).put(0, b"ss", set(&["c", "a", "b"]));
    assert_eq!(lab.digest(), "bc32233d4163a1fdbddd0742c1cc6c5de7ea9bf2");
    assert_eq!(lab.digest_value(0, b"si"), "7c18a1ee501cbbac4570c254b09c36f4da1267c7");
    assert_eq!(lab.digest_value(0, b"ss"), "593c2414786d75446e97f4ea5d4b731f3313da72");
}

#[test]
fn v7_zset() {
    let mut lab = Lab::new();
    let z = zset(&[(0.1, "a"), (1.0, "b"), (-2.5, "c"), (1e300, "d"), (f64::INFINITY, "e"), (f64::NEG_INFINITY, "f"), (3.0, "g")]);
    lab.put(0, b"z", z);
    assert_eq!(lab.digest(), "8ff014c349837900a3ac44ce8026038bb853f6ab");
    assert_eq!(lab.digest_value(0, b"z"), "a9375bc627181cbd444a3f61f961290ccd639b98");
}

#[test]
fn v8_hash() {
    let mut lab = Lab::new();
    lab.put(0, b"h", hash(&[("f1", "v1"), ("n", "5")]));
    assert_eq!(lab.digest(), "741530d5c37370a3988b4f144d1ea681b3f1c6c3");
    assert_eq!(lab.digest_value(0, b"h"), "2e2508c901e200c0dc54cb07d18ac5844a108e70");
}

#[test]
fn v9_several_databases() {
    let mut lab = Lab::new();
    lab.put(0, b"a", s(b"1")).put(3, b"a", s(b"1")).put(15, b"q", list(&["x"]));
    assert_eq!(lab.digest(), "9f94392a5c84f326de2f69c71f2f1b7606b19b79");
    assert_eq!(lab.digest_value(0, b"a"), "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da");
    assert_eq!(lab.digest_value(3, b"a"), "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da");
    assert_eq!(lab.digest_value(15, b"q"), "b7bf7c7fd12bee893767b604e8582837a111d357");
    // The same through the public function the compat tests use.
    assert_eq!(hex(&dataset_digest(&lab.e.srv.dbs)), "9f94392a5c84f326de2f69c71f2f1b7606b19b79");
}

#[test]
fn e1_negative_zero_score() {
    let listpack = zset(&[(0.0, "a")]);
    assert_eq!(hex(&value_digest(&listpack, false)), "8d8d88c2cfb8d9411b8d9973c96538bd6378d446");
    // A skiplist keeps -0.0: the digest hashes "-0", what ZSCORE would print.
    let mut z = ZSet::new_skiplist();
    z.insert(b"a".to_vec(), -0.0);
    let skiplist = Value::ZSet(z);
    assert_eq!(hex(&value_digest(&skiplist, false)), "c9ab76967bcda336b21df9199d49f17d5c44ca5f");
}

#[test]
fn expired_keys_still_in_memory_count_and_are_not_reclaimed() {
    let mut lab = Lab::new();
    lab.put(0, b"k", s(b"v"));
    lab.e.srv.dbs[0].set_expire(b"k", NOW - 1);
    // Same as V3: only the presence of a TTL counts, not its value.
    assert_eq!(lab.digest(), "bf83f210388eea94f06fb90d517490e16a08d7dd");
    assert_eq!(lab.digest_value(0, b"k"), "311b17018163335616e089f6b951c82c477335ac");
    assert!(lab.e.srv.dbs[0].contains(b"k"), "DIGEST-VALUE must not expire the key");
}

#[test]
fn swapdb_and_flush_change_the_digest_like_redis() {
    let mut lab = Lab::new();
    lab.put(0, b"a", s(b"1")).put(3, b"a", s(b"1")).put(15, b"q", list(&["x"]));
    let before = lab.digest();
    lab.cmd(&[b"SWAPDB", b"3", b"4"]);
    assert_ne!(lab.digest(), before, "the db index is part of the digest");
    lab.cmd(&[b"SWAPDB", b"4", b"3"]);
    assert_eq!(lab.digest(), before);
    lab.cmd(&[b"FLUSHALL"]);
    assert_eq!(lab.digest(), "0000000000000000000000000000000000000000");
}
