//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`: a SHA-1 fingerprint of the dataset's logical content,
//! computed exactly as Redis 7.0.15's `debug.c` does, so that the engine and a real server holding
//! the same data print the same 40 hex digits (the compat harness relies on it).
//!
//! Two primitives work on a 20-byte state `D`:
//! * `xor_digest(D, bytes)`: `D ^= SHA1(bytes)`, order-independent, for sets, hashes, zsets and the
//!   keys of a db;
//! * `mix_digest(D, bytes)`: `D = SHA1(D ^ SHA1(bytes))`, order-dependent, for sequences.
//!
//! A value's digest mixes its type id (4 bytes, big-endian), then its content, then xors the
//! marker `!!expire!!` if the key has a TTL (whatever its value). The dataset digest walks the dbs
//! in ascending order; each non-empty db mixes its index, then xors in one digest per key, itself
//! started from the key name. Sub-digests (hash fields, zset members, keys) are xored through
//! another SHA-1 (`D ^= SHA1(sub)`), a detail that is easy to miss.
//!
//! Only logical content counts: encodings (intset, listpack, quicklist …) never change a digest;
//! a stream counts its entries (IDs as `<ms>.<seq>`, fields, values), not its groups.
//! Integers are hashed as their decimal text (which is what the client sent), zset scores as
//! `%.17g`.

use sha1::{Digest, Sha1};

use super::{Db, Value};
use crate::util::fmt_g17;

pub type Sha = [u8; 20];

pub const ZERO: Sha = [0; 20];

/// Redis's `OBJ_*` type ids, hashed big-endian.
const OBJ_STRING: u32 = 0;
const OBJ_LIST: u32 = 1;
const OBJ_SET: u32 = 2;
const OBJ_ZSET: u32 = 3;
const OBJ_HASH: u32 = 4;
const OBJ_STREAM: u32 = 6;

fn sha1(bytes: &[u8]) -> Sha {
    Sha1::digest(bytes).into()
}

/// `xorDigest`: `D ^= SHA1(bytes)`.
pub fn xor_digest(d: &mut Sha, bytes: &[u8]) {
    for (a, b) in d.iter_mut().zip(sha1(bytes)) {
        *a ^= b;
    }
}

/// `mixDigest`: `D = SHA1(D ^ SHA1(bytes))`.
pub fn mix_digest(d: &mut Sha, bytes: &[u8]) {
    xor_digest(d, bytes);
    *d = sha1(d);
}

/// Mixes `value` (and the expire marker) into `d`: `xorObjectDigest` minus the key part.
fn mix_object_digest(d: &mut Sha, value: &Value, has_expire: bool) {
    let type_id = match value {
        Value::String(_) => OBJ_STRING,
        Value::List(_) => OBJ_LIST,
        Value::Set(_) => OBJ_SET,
        Value::ZSet(_) => OBJ_ZSET,
        Value::Hash(_) => OBJ_HASH,
        Value::Stream(_) => OBJ_STREAM,
    };
    mix_digest(d, &type_id.to_be_bytes());
    match value {
        Value::String(s) => mix_digest(d, s),
        Value::List(l) => l.iter().for_each(|e| mix_digest(d, e)),
        // A member's SHA-1 goes straight into the state: no per-member sub-digest.
        Value::Set(s) => s.iter().for_each(|m| xor_digest(d, m)),
        Value::ZSet(z) => {
            for (member, score) in z.iter() {
                let mut e = ZERO;
                mix_digest(&mut e, member);
                mix_digest(&mut e, fmt_g17(score).as_bytes());
                xor_digest(d, &e);
            }
        }
        Value::Hash(h) => {
            for (field, v) in h {
                let mut e = ZERO;
                mix_digest(&mut e, field);
                mix_digest(&mut e, v);
                xor_digest(d, &e);
            }
        }
        // Each entry in ID order: its ID as `<ms>.<seq>`, then its fields and values (groups
        // are not part of it).
        Value::Stream(st) => {
            let mut it = st.iter(None, None, false);
            while let Some(e) = it.next_entry() {
                mix_digest(d, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                for f in e.fields {
                    mix_digest(d, &f.to_vec());
                }
            }
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// `DEBUG DIGEST-VALUE` of one key: the value's digest from a zero state. The key name and the db
/// are not part of it.
pub fn value_digest(value: &Value, has_expire: bool) -> Sha {
    let mut d = ZERO;
    mix_object_digest(&mut d, value, has_expire);
    d
}

/// `computeDatasetDigest`: `DEBUG DIGEST`. Logically expired keys still in memory count.
pub fn dataset_digest(dbs: &[Db]) -> Sha {
    let mut fin = ZERO;
    for db in dbs {
        if db.is_empty() {
            continue; // An empty db contributes nothing, not even its index.
        }
        mix_digest(&mut fin, &(db.id as u32).to_be_bytes());
        for (key, value) in db.iter() {
            let mut kd = ZERO;
            mix_digest(&mut kd, key);
            mix_object_digest(&mut kd, value, db.expire_of(key).is_some());
            xor_digest(&mut fin, &kd);
        }
    }
    fin
}

/// 40 lowercase hex digits, as both DEBUG subcommands print a digest.
pub fn hex(d: &Sha) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Hash, SetValue, ZSet};

    fn s(v: &str) -> Value {
        Value::String(v.as_bytes().to_vec().into())
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
    fn dbs(keys: &[(usize, &str, Value, bool)]) -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        for (db, k, v, ttl) in keys {
            dbs[*db].insert(k.as_bytes().to_vec(), v.clone());
            if *ttl {
                dbs[*db].set_expire(k.as_bytes(), 4_102_444_800_000);
            }
        }
        dbs
    }
    fn vd(v: &Value) -> String {
        hex(&value_digest(v, false))
    }

    #[test]
    fn worked_trace_set_k_v() {
        assert_eq!(hex(&sha1(b"k")), "13fbd79c3d390e5d6585a21e11ff5ec1970cff0c");
        let mut kd = ZERO;
        mix_digest(&mut kd, b"k");
        assert_eq!(hex(&kd), "69a7bae3d37a83849ecef8f3ff9260b35e01555d");
        mix_digest(&mut kd, &0u32.to_be_bytes());
        assert_eq!(hex(&kd), "6b57dcf9fff5f695ae2d8e39e9a800f33a896fc1");
        mix_digest(&mut kd, b"v");
        assert_eq!(hex(&kd), "da4e051e99f8f5646cc19b614551347ee012d875");
        assert_eq!(hex(&sha1(&kd)), "8c7c579647052d160ee9f7ee19de2543ecb3a170");
        let mut fin = ZERO;
        mix_digest(&mut fin, &0u32.to_be_bytes());
        assert_eq!(hex(&fin), "aa3098f3aae94baac14e3b8b8dcae989af93f6a2");
        xor_digest(&mut fin, &kd);
        assert_eq!(hex(&fin), "264ccf65edec66bccfa7cc659414ccca432057d2");
        assert_eq!(hex(&sha1(b"!!expire!!")), "e685feffdc39ea54c116ebf8456acf9b1aae4183");
    }

    #[test]
    fn mix_of_db_index_constants() {
        let expected = [
            "aa3098f3aae94baac14e3b8b8dcae989af93f6a2",
            "b28773120895152c7bb57bd5240a9b0bab830210",
            "b2b9c9f97ea6858e006b18e79969ea78a762e9e6",
            "82821961dd2584cd984f0c48e6ac598f0a6d654d",
            "a3e9f2f09216c6c31996d2fe563800d93d9dee85",
            "865b1024b47cf7b38672487172782cb7502865bb",
            "06bd01623de1d087bbd377851096317b1af476a2",
        ];
        for (n, want) in expected.iter().enumerate() {
            let mut d = ZERO;
            mix_digest(&mut d, &(n as u32).to_be_bytes());
            assert_eq!(hex(&d), *want, "n={n}");
        }
    }

    #[test]
    fn zset_element_example() {
        let mut e = ZERO;
        mix_digest(&mut e, b"a");
        mix_digest(&mut e, fmt_g17(0.1).as_bytes());
        assert_eq!(hex(&e), "1c7163a81173d105b74ffcd093dda04342d167c4");
        assert_eq!(hex(&sha1(&e)), "32f44df2f117a74025d48a6e1670197e87fa506a");
    }

    #[test]
    fn v1_empty() {
        assert_eq!(hex(&dataset_digest(&dbs(&[]))), "0000000000000000000000000000000000000000");
        assert_eq!(hex(&ZERO), "0000000000000000000000000000000000000000");
    }

    #[test]
    fn v2_v3_string_with_and_without_ttl() {
        assert_eq!(hex(&dataset_digest(&dbs(&[(0, "k", s("v"), false)]))), "264ccf65edec66bccfa7cc659414ccca432057d2");
        assert_eq!(vd(&s("v")), "d79ee9fe5d5ad902d7f6620efc3b07b75ddd742f");
        assert_eq!(hex(&dataset_digest(&dbs(&[(0, "k", s("v"), true)]))), "bf83f210388eea94f06fb90d517490e16a08d7dd");
        assert_eq!(hex(&value_digest(&s("v"), true)), "311b17018163335616e089f6b951c82c477335ac");
    }

    #[test]
    fn v4_strings() {
        let b = Value::String(vec![0x00, 0xff].into());
        let data = dbs(&[
            (0, "n", s("123"), false),
            (0, "m", s("-5"), false),
            (0, "e", s(""), false),
            (0, "b", b.clone(), false),
            (0, "", s("x"), false),
        ]);
        assert_eq!(hex(&dataset_digest(&data)), "cd8ee85c2c06601c189424257c43c9f162c40c4d");
        assert_eq!(vd(&s("123")), "89f7f51b707418f666d5b45e053bd5bbbf82ac2b");
        assert_eq!(vd(&s("-5")), "b8fe4ac02b2f7e40537890f8b06b1107798d89e1");
        assert_eq!(vd(&s("")), "8b3447c33a834b810e3e181b6fd6a2ee1020921c");
        assert_eq!(vd(&b), "d65039c9cacd9d9ec4694829bfe23fe1ca4f3740");
        assert_eq!(vd(&s("x")), "e1c099d36d86ec50b7f83540e7e59065055be33d");
    }

    #[test]
    fn v5_lists() {
        let (l1, l2) = (list(&["a", "1", "b"]), list(&["b", "1", "a"]));
        assert_eq!(
            hex(&dataset_digest(&dbs(&[(0, "l1", l1.clone(), false), (0, "l2", l2.clone(), false)]))),
            "ddb6a8570c1cfac92126ec0ba585e35f51c4a021"
        );
        assert_eq!(vd(&l1), "d5f44352f6226abea9252dad248ef5de0d964396");
        assert_eq!(vd(&l2), "dbbe983f5abf8d1e1b11dc8189305404be3c09dd");
    }

    #[test]
    fn v6_sets() {
        let (si, ss) = (set(&["3", "1", "2", "-7"]), set(&["c", "a", "b"]));
        assert_eq!(
            hex(&dataset_digest(&dbs(&[(0, "si", si.clone(), false), (0, "ss", ss.clone(), false)]))),
            "bc32233d4163a1fdbddd0742c1cc6c5de7ea9bf2"
        );
        assert_eq!(vd(&si), "7c18a1ee501cbbac4570c254b09c36f4da1267c7");
        assert_eq!(vd(&ss), "593c2414786d75446e97f4ea5d4b731f3313da72");
    }

    #[test]
    fn v7_zset_special_scores() {
        let z = zset(&[(0.1, "a"), (1.0, "b"), (-2.5, "c"), (1e300, "d"), (f64::INFINITY, "e"), (f64::NEG_INFINITY, "f"), (3.0, "g")]);
        assert_eq!(hex(&dataset_digest(&dbs(&[(0, "z", z.clone(), false)]))), "8ff014c349837900a3ac44ce8026038bb853f6ab");
        assert_eq!(vd(&z), "a9375bc627181cbd444a3f61f961290ccd639b98");
    }

    #[test]
    fn v8_hash() {
        let h = hash(&[("f1", "v1"), ("n", "5")]);
        assert_eq!(hex(&dataset_digest(&dbs(&[(0, "h", h.clone(), false)]))), "741530d5c37370a3988b4f144d1ea681b3f1c6c3");
        assert_eq!(vd(&h), "2e2508c901e200c0dc54cb07d18ac5844a108e70");
    }

    #[test]
    fn v9_several_databases() {
        let q = list(&["x"]);
        let data = dbs(&[(0, "a", s("1"), false), (3, "a", s("1"), false), (15, "q", q.clone(), false)]);
        assert_eq!(hex(&dataset_digest(&data)), "9f94392a5c84f326de2f69c71f2f1b7606b19b79");
        assert_eq!(vd(&s("1")), "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da");
        assert_eq!(vd(&q), "b7bf7c7fd12bee893767b604e8582837a111d357");
    }

    #[test]
    fn e1_negative_zero_score() {
        // A listpack zset stores -0 as 0; a skiplist keeps -0 (REDIS-DIGEST.md section 6).
        assert_eq!(vd(&zset(&[(-0.0, "a")])), "8d8d88c2cfb8d9411b8d9973c96538bd6378d446");
        let mut z = ZSet::new_skiplist();
        z.insert(b"a".to_vec(), -0.0);
        assert_eq!(vd(&Value::ZSet(z)), "c9ab76967bcda336b21df9199d49f17d5c44ca5f");
    }

    #[test]
    fn order_of_keys_and_members_does_not_matter() {
        let a = dbs(&[(0, "x", s("1"), false), (0, "y", set(&["p", "q"]), false)]);
        let b = dbs(&[(0, "y", set(&["q", "p"]), false), (0, "x", s("1"), false)]);
        assert_eq!(dataset_digest(&a), dataset_digest(&b));
    }
}
