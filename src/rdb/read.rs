//! The RDB reader (`rdbLoad` with `RDBFLAGS_AOF_PREAMBLE`): every type Redis 7.0 writes, plus
//! the older encodings it still loads. Keys keep their TTLs and expired keys are *not* dropped
//! (the AOF's incr files take care of them). Function libraries are returned as their code
//! ([`RdbInfo::functions`]) for the caller to create. Modules are refused with an error naming
//! the type byte and its offset; nothing is ever loaded half-understood. Streams have their own
//! module, [`super::stream`].

use std::borrow::Cow;
use std::rc::Rc;

use super::{Elem, RdbError, RdbInfo, crc64, intset, listpack, ziplist};
use super::{
    RDB_OPCODE_AUX, RDB_OPCODE_EOF, RDB_OPCODE_EXPIRETIME, RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_FUNCTION, RDB_OPCODE_FUNCTION2,
    RDB_OPCODE_RESIZEDB, RDB_OPCODE_SELECTDB, RDB_VERSION,
};
use crate::keyspace::stream::listpack::Ele;
use crate::keyspace::value::MAX_LISTPACK_ENTRIES;
use crate::keyspace::{Db, EncodingHint, Hash, List, MapKey, SetValue, Value, ZSet};
use crate::util::ll2string;

const OPCODE_IDLE: u8 = 0xF8;
const OPCODE_FREQ: u8 = 0xF9;

/// The most elements reserved for a collection before they are read: its count is the file's
/// word, and an element of 24 bytes or more per byte of file would let a count of 90 million in
/// a 90 MB file ask a 32-bit host (wasm32) for more than it can address. Past this the vector
/// grows as the elements come.
const PREALLOC_MAX: usize = 1 << 16;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: LoadLimits,
}

/// The encoding limits `rdbLoadObject` reads from the configuration (`set-max-intset-entries`,
/// `zset-max-listpack-*`, `hash-max-listpack-*`): a value loaded (RDB, preamble, RESTORE, DEBUG
/// RELOAD) takes the encoding those give it, as in Redis, not the defaults'. Per type, as 7.0
/// does it: a plain set / zset / hash is made compact when it fits; an intset, a zset or hash
/// listpack is kept unless it has too many entries (its values' lengths are not checked).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadLimits {
    pub set_max_intset_entries: usize,
    /// (entries, value bytes).
    pub zset_max_listpack: (usize, usize),
    pub hash_max_listpack: (usize, usize),
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            set_max_intset_entries: crate::keyspace::value::SET_MAX_INTSET_ENTRIES,
            zset_max_listpack: (MAX_LISTPACK_ENTRIES, crate::keyspace::value::MAX_LISTPACK_VALUE),
            hash_max_listpack: (crate::keyspace::value::HASH_MAX_LISTPACK_ENTRIES, crate::keyspace::value::MAX_LISTPACK_VALUE),
        }
    }
}

impl LoadLimits {
    pub fn of(c: &crate::Config) -> LoadLimits {
        LoadLimits {
            set_max_intset_entries: c.set_max_intset_entries,
            zset_max_listpack: (c.zset_max_listpack_entries, c.zset_max_listpack_value),
            hash_max_listpack: (c.hash_max_listpack_entries, c.hash_max_listpack_value),
        }
    }

    /// Whether a loaded hash of RDB type `t` is a hash table: a listpack payload (16) only past
    /// the count, any other when it does not fit the limits.
    pub fn hash_is_hashtable(&self, t: u8, h: &Hash) -> bool {
        let (entries, value) = self.hash_max_listpack;
        if t == 16 {
            return h.len() > entries;
        }
        let limits = crate::rdb::dump::Limits { hash_max_listpack_entries: entries, hash_max_listpack_value: value, ..Default::default() };
        !crate::rdb::dump::hash_is_listpack(h, &limits)
    }
}

impl<'a> Reader<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, RdbError> {
        Err(RdbError { offset: self.pos, message: message.into() })
    }
    fn byte(&mut self) -> Result<u8, RdbError> {
        match self.buf.get(self.pos).copied() {
            Some(b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.err("Unexpected EOF reading RDB file"),
        }
    }
    fn bytes(&mut self, n: u64) -> Result<&'a [u8], RdbError> {
        let end = usize::try_from(n).ok().and_then(|n| self.pos.checked_add(n)).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = self.buf.get(self.pos..end).unwrap_or_default();
                self.pos = end;
                Ok(s)
            }
            None => self.err("Unexpected EOF reading RDB file"),
        }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let b = self.bytes(N as u64)?;
        Ok(b.try_into().unwrap_or([0; N]))
    }
    /// A length, or `Err(encoding)` for a special-encoded string.
    fn len_or_enc(&mut self) -> Result<Result<u64, u8>, RdbError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Ok(u64::from(first & 0x3F)),
            1 => Ok((u64::from(first & 0x3F) << 8) | u64::from(self.byte()?)),
            3 => Err(first & 0x3F),
            _ if first == 0x80 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
            _ if first == 0x81 => Ok(u64::from_be_bytes(self.array()?)),
            _ => return self.err(format!("Unknown length encoding {first} in rdbLoadLen()")),
        })
    }
    fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        self.len_or_enc()?.map_err(|_| RdbError { offset: at, message: "Unexpected string encoding where a length was expected".into() })
    }
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let at = self.pos;
        match self.len_or_enc()? {
            Ok(n) => Ok(self.bytes(n)?.to_vec()),
            Err(0) => Ok(i8::from_le_bytes([self.byte()?]).to_string().into_bytes()),
            Err(1) => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(2) => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            Err(3) => {
                let clen = self.len()?;
                let len = self.len()?;
                let data = self.bytes(clen)?;
                let fail = || RdbError { offset: at, message: "Invalid LZF compressed string".into() };
                let len = usize::try_from(len).map_err(|_| fail())?;
                if len == 0 {
                    return Err(fail());
                }
                super::lzf::decompress(data, len).ok_or_else(fail)
            }
            Err(enc) => Err(RdbError { offset: at, message: format!("Unknown RDB string encoding type {enc}") }),
        }
    }
    /// A key, read as the keyspace keeps it: a short key inline, with no allocation of its own.
    fn key(&mut self) -> Result<MapKey, RdbError> {
        match self.string_cow()? {
            Cow::Borrowed(b) => Ok(MapKey::new(b)),
            Cow::Owned(v) => Ok(MapKey::from(v)),
        }
    }
    /// [`Reader::string`], borrowed from the file when it is stored raw (a member or field is
    /// copied once, into its structure, rather than into a vector first).
    fn string_cow(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        match self.buf.get(self.pos) {
            Some(&b) if b >> 6 != 3 => {
                let n = self.len()?;
                Ok(Cow::Borrowed(self.bytes(n)?))
            }
            _ => Ok(Cow::Owned(self.string()?)),
        }
    }
    /// ZSET_2's binary double.
    fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// The old ZSET's string double: 253 NaN, 254 +inf, 255 -inf, else that many ASCII bytes.
    fn string_double(&mut self) -> Result<f64, RdbError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let at = self.pos;
                let s = self.bytes(u64::from(n))?;
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or(RdbError { offset: at, message: "Invalid double value in a ZSET".into() })
            }
        }
    }
    /// A collection length: refuse counts that cannot possibly fit in what is left (each element
    /// takes at least one byte), so a corrupt length cannot make us allocate wildly.
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        let left = self.buf.len().saturating_sub(self.pos);
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => self.err(format!("Collection length {n} larger than the rest of the file")),
        }
    }
}

fn elem_bytes(e: Elem) -> Vec<u8> {
    match e {
        Elem::Str(s) => s,
        Elem::Int(i) => i.to_string().into_bytes(),
    }
}

fn parse_score(e: &Elem) -> Option<f64> {
    match e {
        Elem::Int(i) => Some(*i as f64),
        Elem::Str(s) => crate::util::string2d(s),
    }
}

fn ele_score(e: Ele) -> Option<f64> {
    match e {
        Ele::Int(i) => Some(i as f64),
        Ele::Str(s) => crate::util::string2d(s),
    }
}

/// `zsetAdd` as `rdbLoadObject` uses it: a NaN score or a member seen before refuses the value.
fn zset_add(z: &mut ZSet, m: &[u8], s: f64, max_entries: usize) -> Result<(), String> {
    if s.is_nan() {
        return Err("Zset with NAN score detected".into());
    }
    // A listpack (a listpack payload's zset, `zset_for`) becomes a skiplist past the count limit
    // only: `finish_zset` decides its encoding from the whole payload.
    if z.insert_limited(m, s, (max_entries, usize::MAX)).is_some() {
        return Err("Duplicate zset fields detected".into());
    }
    Ok(())
}

/// The encoding `rdbLoadObject` leaves a loaded zset in (its members added to a skiplist by
/// [`zset_add`]): a plain ZSET (`skiplist_first`) is a skiplist converted to a listpack when
/// small enough; a ziplist/listpack payload is a listpack converted to a skiplist when it has
/// too many members.
fn finish_zset(mut z: ZSet, skiplist_first: bool, limits: (usize, usize)) -> ZSet {
    if skiplist_first {
        z.convert_to_listpack_if_needed_limited(limits);
    } else if z.len() <= limits.0 {
        // A listpack payload stays a listpack unless it has too many members, even with a long
        // member (7.0 checks only the count here); its integral scores are integers (no -0).
        z.convert_to_listpack_if_needed_limited((limits.0, usize::MAX));
        z.set_listpack();
    }
    z
}

/// An empty zset for a listpack payload of `n` members: a listpack when they fit in one (the walk
/// that finds a duplicate stays short: [`zset_add`] converts it past that count whatever the
/// header said), else a skiplist with its dictionary reserved.
fn zset_for(n: usize, max_entries: usize) -> ZSet {
    if n <= max_entries {
        return ZSet::default();
    }
    let mut z = ZSet::new_skiplist();
    z.reserve(n.min(PREALLOC_MAX));
    z
}

/// A zset of the older ziplist payload, from its (member, score) pairs.
fn build_zset(pairs: Vec<(Vec<u8>, f64)>, limits: (usize, usize)) -> Result<ZSet, String> {
    let mut z = ZSet::new_skiplist();
    for (m, s) in pairs {
        zset_add(&mut z, &m, s, limits.0)?;
    }
    Ok(finish_zset(z, false, limits))
}

fn hash_add<F: AsRef<[u8]> + Into<crate::keyspace::MapKey>>(h: &mut Hash, f: F, v: Vec<u8>) -> Result<(), String> {
    match h.insert(f, v) {
        Some(_) => Err("Duplicate hash fields detected".into()),
        None => Ok(()),
    }
}

fn build_hash(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Hash, String> {
    let mut h = Hash::with_capacity(pairs.len());
    for (f, v) in pairs {
        hash_add(&mut h, f, v)?;
    }
    Ok(h)
}

/// A listpack's elements taken two by two, each pair handed to `f` as it is read.
fn each_pair<'a>(lp: &'a [u8], mut f: impl FnMut(Ele<'a>, Ele<'a>) -> Result<(), String>) -> Result<(), String> {
    let mut first = None;
    listpack::each(lp, |e| match first.take() {
        None => {
            first = Some(e);
            Ok(())
        }
        Some(a) => f(a, e),
    })?;
    match first {
        Some(_) => Err("odd number of entries in a field/value blob".into()),
        None => Ok(()),
    }
}

/// A field or member as its bytes: a listpack integer as its decimal text, written into `buf`
/// (on the stack: an integer is copied once, into its structure).
fn ele_key<'a>(e: Ele<'a>, buf: &'a mut [u8; 20]) -> &'a [u8] {
    match e {
        Ele::Str(s) => s,
        Ele::Int(i) => ll2string(buf, i),
    }
}

fn pairs_of(elems: Vec<Elem>) -> Result<Vec<(Elem, Elem)>, String> {
    if !elems.len().is_multiple_of(2) {
        return Err("odd number of entries in a field/value blob".into());
    }
    let mut out = Vec::with_capacity(elems.len() / 2);
    let mut it = elems.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

/// Reads one value of type `t`; `Ok(None)` for an empty collection (Redis skips such keys).
fn read_value(r: &mut Reader, t: u8, at: usize) -> Result<Option<Value>, RdbError> {
    let zlim = r.limits.zset_max_listpack;
    let set_max = r.limits.set_max_intset_entries;
    let blob_err = |msg: String| RdbError { offset: at, message: format!("Bad RDB value of type {t}: {msg}") };
    let v = match t {
        0 => Value::String(r.string()?.into()),
        1 => {
            let n = r.count()?;
            let mut l = List::with_capacity(n.min(PREALLOC_MAX));
            for _ in 0..n {
                l.push_back(r.string()?);
            }
            Value::List(l)
        }
        2 => {
            let n = r.count()?;
            let mut s = SetValue::with_capacity(n.min(PREALLOC_MAX));
            // More members than an intset may hold: a hash table from the start (7.0 caps the
            // setting at 2^30 here).
            if n > set_max.min(1 << 30) {
                s.intset = false;
            }
            for _ in 0..n {
                let m = r.string_cow()?;
                if !s.insert_loaded_limited(&m, set_max) {
                    return Err(blob_err("Duplicate set members detected".into()));
                }
            }
            Value::Set(s)
        }
        3 | 5 => {
            let n = r.count()?;
            let mut z = ZSet::new_skiplist();
            z.reserve(n.min(PREALLOC_MAX));
            for _ in 0..n {
                let m = r.string_cow()?;
                let s = if t == 5 { r.binary_double()? } else { r.string_double()? };
                zset_add(&mut z, &m, s, zlim.0).map_err(blob_err)?;
            }
            Value::ZSet(finish_zset(z, true, zlim))
        }
        4 => {
            let n = r.count()?;
            let mut h = Hash::with_capacity(n.min(PREALLOC_MAX));
            for _ in 0..n {
                let f = r.string_cow()?;
                hash_add(&mut h, &*f, r.string()?).map_err(blob_err)?;
            }
            Value::Hash(h)
        }
        9 => {
            let blob = r.string()?;
            Value::Hash(build_hash(ziplist::zipmap_pairs(&blob).map_err(blob_err)?).map_err(blob_err)?)
        }
        10 => Value::List(ziplist::entries(&r.string()?).map_err(blob_err)?.into_iter().map(elem_bytes).collect()),
        11 => {
            let blob = r.string()?;
            let members = intset::members(&blob).map_err(blob_err)?;
            let mut s = SetValue::with_capacity(members.len());
            let mut text = [0; 20];
            for m in members {
                // Sorted and unique: `intset::members` checked.
                s.insert_loaded_limited(ll2string(&mut text, m), set_max);
            }
            Value::Set(s)
        }
        12 => {
            let blob = r.string()?;
            let mut pairs = Vec::new();
            for (m, s) in pairs_of(ziplist::entries(&blob).map_err(blob_err)?).map_err(blob_err)? {
                let s = parse_score(&s).ok_or_else(|| blob_err("invalid score".into()))?;
                pairs.push((elem_bytes(m), s));
            }
            Value::ZSet(build_zset(pairs, zlim).map_err(blob_err)?)
        }
        // The listpack encodings (7.0's own) are decoded straight into the structures.
        17 => {
            let blob = r.string_cow()?;
            let mut z = zset_for(listpack::count_hint(&blob) / 2, zlim.0);
            let mut text = [0; 20];
            each_pair(&blob, |m, s| zset_add(&mut z, ele_key(m, &mut text), ele_score(s).ok_or("invalid score")?, zlim.0))
                .map_err(blob_err)?;
            Value::ZSet(finish_zset(z, false, zlim))
        }
        13 => {
            let blob = r.string()?;
            let pairs = pairs_of(ziplist::entries(&blob).map_err(blob_err)?).map_err(blob_err)?;
            Value::Hash(build_hash(pairs.into_iter().map(|(f, v)| (elem_bytes(f), elem_bytes(v))).collect()).map_err(blob_err)?)
        }
        16 => {
            let blob = r.string_cow()?;
            let mut h = Hash::with_capacity(listpack::count_hint(&blob) / 2);
            let mut text = [0; 20];
            each_pair(&blob, |f, v| hash_add(&mut h, ele_key(f, &mut text), v.to_vec())).map_err(blob_err)?;
            Value::Hash(h)
        }
        14 | 18 => {
            let n = r.count()?;
            let mut l = List::default();
            for _ in 0..n {
                let container = if t == 18 { r.len()? } else { 2 };
                let blob = r.string_cow()?;
                match container {
                    1 => l.push_back(blob.into_owned()),
                    2 if t == 14 => ziplist::entries(&blob).map_err(blob_err)?.into_iter().for_each(|e| l.push_back(elem_bytes(e))),
                    2 => {
                        l.reserve(listpack::count_hint(&blob));
                        listpack::each(&blob, |e| {
                            l.push_back(e.to_vec());
                            Ok(())
                        })
                        .map_err(blob_err)?;
                    }
                    c => return Err(blob_err(format!("Quicklist integrity check failed: unknown container {c}"))),
                }
            }
            Value::List(l)
        }
        6 | 7 => return Err(RdbError { offset: at, message: format!("RDB value type {t} (module) is not supported by AOF Lab") }),
        15 | 19 => Value::Stream(Box::new(super::stream::read(r, t)?)),
        _ => return Err(RdbError { offset: at, message: format!("Unknown RDB value type {t}") }),
    };
    let empty = match &v {
        Value::String(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        Value::Stream(_) => false, // an empty stream is a value (XGROUP CREATE … MKSTREAM)
    };
    Ok((!empty).then_some(v))
}

/// `rdbLoadObjectType` + `rdbLoadObject` on one object (RESTORE's payload, footer removed):
/// `Ok(None)` for an empty collection, which RESTORE refuses like any unreadable object. Bytes
/// after the object are ignored, as Redis ignores them.
pub fn read_object(buf: &[u8]) -> Result<Option<Value>, RdbError> {
    read_object_limited(buf, LoadLimits::default())
}

/// [`read_object`] under a server's encoding limits (RESTORE).
pub fn read_object_limited(buf: &[u8], limits: LoadLimits) -> Result<Option<Value>, RdbError> {
    let mut r = Reader { buf, pos: 0, limits };
    let t = r.byte()?;
    if t == 8 || t > 19 {
        return Err(RdbError { offset: 0, message: format!("Unknown RDB value type {t}") });
    }
    read_value(&mut r, t, 0)
}

/// One step of an RDB file as the reader walks it: an opcode with what follows it. A key's
/// `EXPIRETIME_MS` / `EXPIRETIME` / `IDLE` / `FREQ` opcodes are folded into the item that follows
/// them, so that the items tile the file (`aof-lab inspect` and the lab's log view show one
/// record per item).
#[derive(Clone, Debug, PartialEq)]
pub enum RdbItem {
    /// `REDIS` and four digits.
    Header {
        version: u32,
    },
    Aux {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    SelectDb {
        id: u64,
    },
    ResizeDb {
        size: u64,
        expires: u64,
    },
    /// A function library (`RDB_OPCODE_FUNCTION2`, or the rc opcode translated as
    /// `rdbFunctionLoad` does): its whole code, shebang included.
    Function {
        code: Vec<u8>,
    },
    /// A key and its value. `type_byte` is the RDB type, which names the encoding too
    /// (16 = hash as a listpack); `value` is `None` for an empty collection, which Redis skips;
    /// `expire_ms` comes from an expiry opcode before it. `encoding`: the type's name, or for
    /// a string how it is stored (`int`, `lzf`, `raw`).
    Key {
        type_byte: u8,
        key: MapKey,
        value: Option<Value>,
        encoding: &'static str,
        expire_ms: Option<i64>,
    },
    Eof,
    /// The 8 bytes after EOF (version ≥ 5): the stored CRC-64 (0: not checked, `rdbchecksum no`)
    /// and the one computed over every byte before them.
    Checksum {
        stored: u64,
        computed: u64,
    },
}

/// The RDB type bytes by name (`RDB_TYPE_*` in rdb.h), for the dumps.
pub fn type_name(t: u8) -> &'static str {
    match t {
        0 => "string",
        1 => "list",
        2 => "set",
        3 => "zset",
        4 => "hash",
        5 => "zset_2",
        6 => "module",
        7 => "module_2",
        9 => "hash_zipmap",
        10 => "list_ziplist",
        11 => "set_intset",
        12 => "zset_ziplist",
        13 => "hash_ziplist",
        14 => "list_quicklist",
        15 => "stream_listpacks",
        16 => "hash_listpack",
        17 => "zset_listpack",
        18 => "list_quicklist_2",
        19 => "stream_listpacks_2",
        _ => "unknown",
    }
}

/// Walks an RDB item by item with the one reader of this module: [`read_rdb`] loads what it
/// yields, the dumps describe it.
pub struct Walker<'a> {
    r: Reader<'a>,
    version: u32,
    /// An expiry opcode read, waiting for its key (as `rdbLoad`'s `expiretime`).
    expire: Option<i64>,
    /// Where the opcodes folded into the next item began.
    prefix_start: Option<usize>,
    /// The offset of the last item's own opcode (or type byte).
    op_at: usize,
    /// After EOF: where the CRC starts (`Some`), and whether the walk is over.
    eof_at: Option<usize>,
    done: bool,
}

impl<'a> Walker<'a> {
    /// Reads the header: the walker and the header item (`Header`, bytes 0..9).
    pub fn new(buf: &'a [u8]) -> Result<(Walker<'a>, RdbItem), RdbError> {
        let mut r = Reader { buf, pos: 0, limits: LoadLimits::default() };
        let magic = r.bytes(9)?;
        if magic.get(..5) != Some(b"REDIS") {
            return Err(RdbError { offset: 0, message: "Wrong signature trying to load DB from file".into() });
        }
        let version: u32 = std::str::from_utf8(magic.get(5..).unwrap_or_default()).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        if !(1..=RDB_VERSION).contains(&version) {
            return Err(RdbError { offset: 5, message: format!("Can't handle RDB format version {version}") });
        }
        Ok((Walker { r, version, expire: None, prefix_start: None, op_at: 0, eof_at: None, done: false }, RdbItem::Header { version }))
    }

    /// A walker over the bytes of one item (a record of a dump), for a file of `version`.
    pub fn at(bytes: &'a [u8], version: u32) -> Walker<'a> {
        Walker {
            r: Reader { buf: bytes, pos: 0, limits: LoadLimits::default() },
            version,
            expire: None,
            prefix_start: None,
            op_at: 0,
            eof_at: None,
            done: false,
        }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The offset of the last item's opcode or type byte (after any folded expiry opcode).
    pub fn op_at(&self) -> usize {
        self.op_at
    }

    /// Where the next item starts.
    pub fn pos(&self) -> usize {
        self.r.pos
    }

    /// The next item with its byte range, `Ok(None)` after the checksum (or after EOF in a
    /// version without one).
    pub fn next_item(&mut self) -> Result<Option<(usize, usize, RdbItem)>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let r = &mut self.r;
        if let Some(end) = self.eof_at {
            self.done = true;
            if self.version < 5 {
                return Ok(None);
            }
            let stored = u64::from_le_bytes(r.array()?);
            let computed = crc64(r.buf.get(..end).unwrap_or_default());
            return Ok(Some((end, r.pos, RdbItem::Checksum { stored, computed })));
        }
        loop {
            let at = r.pos;
            let start = *self.prefix_start.get_or_insert(at);
            self.op_at = at;
            let t = r.byte()?;
            let item = match t {
                RDB_OPCODE_AUX => {
                    let key = r.string()?;
                    let value = r.string()?;
                    RdbItem::Aux { key, value }
                }
                RDB_OPCODE_SELECTDB => RdbItem::SelectDb { id: r.len()? },
                RDB_OPCODE_RESIZEDB => {
                    let size = r.len()?;
                    let expires = r.len()?;
                    RdbItem::ResizeDb { size, expires }
                }
                RDB_OPCODE_EXPIRETIME_MS => {
                    self.expire = Some(i64::from_le_bytes(r.array()?));
                    continue;
                }
                RDB_OPCODE_EXPIRETIME => {
                    self.expire = Some(i64::from(i32::from_le_bytes(r.array()?)).saturating_mul(1000));
                    continue;
                }
                OPCODE_FREQ => {
                    r.byte()?;
                    continue;
                }
                OPCODE_IDLE => {
                    r.len()?;
                    continue;
                }
                0xF7 => return Err(RdbError { offset: at, message: "RDB opcode MODULE_AUX (0xf7) is not supported by AOF Lab".into() }),
                RDB_OPCODE_FUNCTION2 | RDB_OPCODE_FUNCTION => RdbItem::Function { code: read_function(r, t)? },
                RDB_OPCODE_EOF => {
                    self.eof_at = Some(r.pos);
                    RdbItem::Eof
                }
                0..=19 => {
                    let key = r.key()?;
                    let encoding = match (t, r.buf.get(r.pos).map(|b| (b >> 6, b & 0x3F))) {
                        (0, Some((3, 0..=2))) => "int",
                        (0, Some((3, 3))) => "lzf",
                        (0, _) => "raw",
                        _ => type_name(t),
                    };
                    let value = read_value(r, t, at)?;
                    RdbItem::Key { type_byte: t, key, value, expire_ms: self.expire.take(), encoding }
                }
                _ => return Err(RdbError { offset: at, message: format!("Unknown RDB type or opcode {t} ({t:#04x})") }),
            };
            self.prefix_start = None;
            return Ok(Some((start, r.pos, item)));
        }
    }
}

/// `rdbFunctionLoad` without creating the library: the payload of a function opcode. The rc
/// format (name, engine, has-description, [description], body) becomes `#!<engine> name=<name>\n<body>`.
fn read_function(r: &mut Reader, t: u8) -> Result<Vec<u8>, RdbError> {
    read_function_parts(r, t).map_err(|(_, e)| e)
}

/// [`read_function`], each failure with the part `rdbFunctionLoad` names in its error
/// ("Failed loading library name" …: what FUNCTION RESTORE answers).
fn read_function_parts(r: &mut Reader, t: u8) -> Result<Vec<u8>, (&'static str, RdbError)> {
    let string = |r: &mut Reader, what: &'static str| r.string().map_err(|e| (what, e));
    if t == RDB_OPCODE_FUNCTION2 {
        return string(r, "library payload");
    }
    let name = string(r, "library name")?;
    let engine = string(r, "engine name")?;
    if r.len().map_err(|e| ("library description", e))? != 0 {
        string(r, "library description")?;
    }
    let body = string(r, "library body")?;
    Ok([b"#!".as_slice(), &engine, b" name=", &name, b"\n", &body].concat())
}

/// The function opcodes of a FUNCTION DUMP payload (whose 10-byte footer the caller checked), as
/// `functionRestoreCommand` reads them: opcodes until at most the footer is left (a string may
/// run into it, as in Redis's rio); each library's code, or Redis's error text.
pub fn read_function_payload(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut r = Reader { buf: data, pos: 0, limits: LoadLimits::default() };
    let mut out = Vec::new();
    while data.len().saturating_sub(r.pos) > 10 {
        let t = r.byte().map_err(|_| "can not read data type".to_string())?;
        if t != RDB_OPCODE_FUNCTION2 && t != RDB_OPCODE_FUNCTION {
            return Err("given type is not a function".into());
        }
        out.push(read_function_parts(&mut r, t).map_err(|(what, _)| format!("Failed loading {what}"))?);
    }
    Ok(out)
}

/// Loads an RDB into `dbs` (AOF-preamble semantics: TTLs kept, expired keys kept). The CRC is
/// verified unless stored as 0. `dbs` may be empty to only check the file (any key is then
/// refused as out of range of the configured databases).
pub fn read_rdb(buf: &[u8], dbs: &mut [Db]) -> Result<RdbInfo, RdbError> {
    read_rdb_traced(buf, dbs, &mut |_, _, _| {})
}

/// [`read_rdb`] under a server's encoding limits (what a server loading its files uses).
pub fn read_rdb_limited(buf: &[u8], dbs: &mut [Db], limits: LoadLimits) -> Result<RdbInfo, RdbError> {
    read_into(buf, dbs, None, limits, &mut |_, _, _| {})
}

/// Keys read but not yet added to their database (see [`Pending`]).
const BATCH: usize = 32;

/// A key read, waiting in a batch to be added to its database. Why a batch: whether a key
/// exists is found in the dictionary's index, a table of megabytes at 100 000 keys, so each
/// lookup waited for one cache miss, one after the other (~18 % of loading a 100 000-key
/// preamble). Reading the home slots of a batch's keys first, in one loop, lets those misses
/// overlap (none waits for another, as the AOF loader's read-ahead does for commands); each
/// insert then finds its slot in the cache. The key's hash, computed once, serves both that
/// read and the insert into the main dictionary and the expires.
struct Pending {
    /// The type byte's offset, for errors.
    at: usize,
    hash: u64,
    key: MapKey,
    value: Rc<Value>,
    enc: EncodingHint,
    expire_ms: Option<i64>,
}

/// Adds a batch's keys to `d` in file order: the first duplicate stops the load with the error
/// `rdbLoadRio` gives, the keys before it added.
fn add_batch(batch: &mut Vec<Pending>, d: &mut Db, info: &mut RdbInfo) -> Result<(), RdbError> {
    let mut sink = 0u64;
    for p in batch.iter() {
        sink ^= d.read_ahead(p.hash, 0);
    }
    std::hint::black_box(sink);
    // Popped from the end, so reversed first: the keys go in in file order.
    batch.reverse();
    while let Some(p) = batch.pop() {
        if let Err(key) = d.insert_new_hashed(p.hash, p.key, p.value, p.enc, p.expire_ms) {
            return Err(RdbError {
                offset: p.at,
                message: format!("RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(&key), d.id),
            });
        }
        info.keys += 1;
        info.expires += u64::from(p.expire_ms.is_some());
    }
    Ok(())
}

/// [`read_rdb`], calling `trace(start, end, item)` for every item before it is loaded (the
/// header first): the structure the dumps show, from the same walk that loads.
pub fn read_rdb_traced(buf: &[u8], dbs: &mut [Db], trace: &mut dyn FnMut(usize, usize, &RdbItem)) -> Result<RdbInfo, RdbError> {
    read_into(buf, dbs, None, LoadLimits::default(), trace)
}

/// Walks an RDB as [`read_rdb_traced`] loads it, with every error it would report (a duplicated
/// key included), into 16 databases that keep the keys alone: each value is dropped once read,
/// so that checking a file (`aof-lab check`, `inspect`) costs its keys' memory, not its data's.
pub fn read_rdb_keys_traced(buf: &[u8], trace: &mut dyn FnMut(usize, usize, &RdbItem)) -> Result<RdbInfo, RdbError> {
    let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
    read_into(buf, &mut dbs, Some(Rc::new(Value::String(crate::keyspace::value::StringValue::new(b"")))), LoadLimits::default(), trace)
}

/// [`read_rdb_keys_traced`] without a trace.
pub fn read_rdb_keys(buf: &[u8]) -> Result<RdbInfo, RdbError> {
    read_rdb_keys_traced(buf, &mut |_, _, _| {})
}

/// The walk behind both: `stand_in`, when given, is what every key holds instead of its value.
fn read_into(
    buf: &[u8],
    dbs: &mut [Db],
    stand_in: Option<Rc<Value>>,
    limits: LoadLimits,
    trace: &mut dyn FnMut(usize, usize, &RdbItem),
) -> Result<RdbInfo, RdbError> {
    let (mut w, header) = Walker::new(buf)?;
    w.r.limits = limits;
    trace(0, w.pos(), &header);
    let mut info = RdbInfo { version: w.version(), ..Default::default() };
    let mut db: Option<usize> = if dbs.is_empty() { None } else { Some(0) };
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    loop {
        let next = w.next_item();
        // Whatever comes next, the keys before it are added first: a duplicate among them is
        // the file's first error, and an opcode (SELECTDB …) may change what follows.
        if !batch.is_empty()
            && !matches!(next, Ok(Some((_, _, RdbItem::Key { .. }))) if batch.len() < BATCH)
            && let Some(d) = db.and_then(|d| dbs.get_mut(d))
        {
            add_batch(&mut batch, d, &mut info)?;
        }
        let Some((start, end, item)) = next? else { break };
        trace(start, end, &item);
        match item {
            RdbItem::Header { .. } | RdbItem::Eof => {}
            // `dictExpand` of both dictionaries, as `rdbLoadRio` does: no rehash while loading.
            // A key takes at least 4 bytes of the file: a damaged size cannot reserve more.
            RdbItem::ResizeDb { size, expires } => {
                if let Some(d) = db.and_then(|d| dbs.get_mut(d)) {
                    let most = buf.len() / 4;
                    d.reserve(usize::try_from(size).unwrap_or(0).min(most), usize::try_from(expires).unwrap_or(0).min(most));
                }
            }
            RdbItem::Aux { key, value } => info.aux.push((key, value, end)),
            RdbItem::Function { code } => info.functions.push(code),
            RdbItem::SelectDb { id } => {
                info.selects.push((id, end));
                let Some(i) = usize::try_from(id).ok().filter(|&i| i < dbs.len()) else {
                    return Err(RdbError {
                        offset: w.op_at(),
                        message: format!(
                            "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                            dbs.len()
                        ),
                    });
                };
                db = Some(i);
            }
            RdbItem::Checksum { stored, computed } => {
                info.checksum_disabled = stored == 0;
                info.checksum_ok = stored == 0 || stored == computed;
                if !info.checksum_ok {
                    return Err(RdbError { offset: start, message: "Wrong RDB checksum".into() });
                }
            }
            RdbItem::Key { type_byte, key, value, expire_ms, .. } => {
                if let Some(n) = info.types.get_mut(usize::from(type_byte)) {
                    *n += 1;
                }
                let Some(value) = value else {
                    info.empty_skipped += 1;
                    if info.empty_keys.len() < 10 {
                        info.empty_keys.push(key.to_vec());
                    }
                    continue;
                };
                // Errors name the type byte's offset.
                let at = w.op_at();
                if db.is_none_or(|d| d >= dbs.len()) {
                    return Err(RdbError { offset: at, message: "Key found but no database to load it into".into() });
                }
                // `rdbLoadObject` makes a hash that does not fit the limits a hash table, which
                // it stays when it shrinks later.
                let hashtable = matches!(&value, Value::Hash(h) if w.r.limits.hash_is_hashtable(type_byte, h));
                let enc = if hashtable { EncodingHint::Hashtable } else { EncodingHint::Auto };
                // Into its `Rc` now, as the keyspace keeps it: not copied again on its way there.
                let value = stand_in.clone().unwrap_or_else(|| Rc::new(value));
                batch.push(Pending { at, hash: crate::keyspace::dict::hash(&key), key, value, enc, expire_ms });
            }
        }
    }
    info.len = w.pos();
    Ok(info)
}

/// The stream reader reads through this one reader.
impl super::stream::Source for Reader<'_> {
    fn len(&mut self) -> Result<u64, RdbError> {
        Reader::len(self)
    }
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        Reader::string(self)
    }
    fn raw_id(&mut self) -> Result<[u8; 16], RdbError> {
        self.array()
    }
    fn millis(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn pos(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keyspace::stream::listpack::Builder;
    use crate::rdb::{push_len, push_string};

    /// A RESTORE body of type `t`: the type byte, then the listpack of `elems` as a string.
    fn listpack_object(t: u8, elems: &[Ele]) -> Vec<u8> {
        let mut lp = Builder::with_capacity(64);
        for e in elems {
            lp.push(*e);
        }
        let mut out = vec![t];
        push_string(&mut out, &lp.finish());
        out
    }

    fn zset_of(body: &[u8]) -> ZSet {
        match read_object(body) {
            Ok(Some(Value::ZSet(z))) => z,
            other => panic!("not a zset: {other:?}"),
        }
    }

    /// A sorted set's listpack out of order (never Redis's own) loads in the zset's order; a
    /// skiplist's members come highest first from Redis, lowest first or shuffled from a
    /// hand-made file: the same zset each time.
    #[test]
    fn a_zset_out_of_order_loads_in_order() {
        let (a, b, c) = (Ele::Str(b"a"), Ele::Str(b"b"), Ele::Str(b"c"));
        let z = zset_of(&listpack_object(17, &[c, Ele::Int(3), a, Ele::Int(1), b, Ele::Str(b"2.5")]));
        assert!(!z.is_skiplist());
        assert_eq!(z.iter().collect::<Vec<_>>(), vec![(&b"a"[..], 1.0), (&b"b"[..], 2.5), (&b"c"[..], 3.0)]);
        assert_eq!(z.rank(b"c"), Some(2));
        for members in [&["m3", "m2", "m1", "m0"], &["m0", "m1", "m2", "m3"], &["m2", "m0", "m3", "m1"]] {
            let mut body = vec![5u8];
            push_len(&mut body, 4);
            for m in members {
                push_string(&mut body, m.as_bytes());
                body.extend_from_slice(&f64::from(m.as_bytes()[1] - b'0').to_le_bytes());
            }
            let z = zset_of(&body);
            assert_eq!(z.iter().map(|(m, _)| m.to_vec()).collect::<Vec<_>>(), [b"m0", b"m1", b"m2", b"m3"]);
        }
    }

    /// A member, field or key twice is refused, never loaded half or panicking: Redis checks a
    /// listpack's duplicates only under `sanitize-dump-payload yes`, but the engine's maps
    /// cannot hold two of one member.
    #[test]
    fn duplicates_are_refused() {
        let (a, b) = (Ele::Str(b"a"), Ele::Str(b"b"));
        let e = read_object(&listpack_object(17, &[a, Ele::Int(1), b, Ele::Int(2), a, Ele::Int(3)])).unwrap_err();
        assert!(e.message.contains("Duplicate zset fields"), "{e}");
        // An integer member and its text are one member.
        let e = read_object(&listpack_object(17, &[Ele::Int(7), Ele::Int(1), Ele::Str(b"7"), Ele::Int(2)])).unwrap_err();
        assert!(e.message.contains("Duplicate zset fields"), "{e}");
        let e = read_object(&listpack_object(16, &[a, b, b, a, a, a])).unwrap_err();
        assert!(e.message.contains("Duplicate hash fields"), "{e}");
        let mut set = vec![2u8];
        push_len(&mut set, 3);
        for m in ["x", "y", "x"] {
            push_string(&mut set, m.as_bytes());
        }
        let e = read_object(&set).unwrap_err();
        assert!(e.message.contains("Duplicate set members"), "{e}");
        let mut zset = vec![5u8];
        push_len(&mut zset, 2);
        for s in [2.0f64, 1.0] {
            push_string(&mut zset, b"m");
            zset.extend_from_slice(&s.to_le_bytes());
        }
        let e = read_object(&zset).unwrap_err();
        assert!(e.message.contains("Duplicate zset fields"), "{e}");
    }

    /// An intset's members (and a listpack's integer fields) are their decimal text, the
    /// extremes included.
    #[test]
    fn integers_become_their_text() {
        for v in [0i64, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN] {
            assert_eq!(ll2string(&mut [b'x'; 20], v), v.to_string().as_bytes());
        }
        let mut is = vec![8u8, 0, 0, 0, 3, 0, 0, 0];
        for v in [i64::MIN, -5, i64::MAX] {
            is.extend_from_slice(&v.to_le_bytes());
        }
        let mut body = vec![11u8];
        push_string(&mut body, &is);
        let Ok(Some(Value::Set(s))) = read_object(&body) else { panic!() };
        assert!(s.intset);
        assert_eq!(s.ordered(), [i64::MIN.to_string().as_bytes(), b"-5", i64::MAX.to_string().as_bytes()]);
        let Ok(Some(Value::Hash(h))) = read_object(&listpack_object(16, &[Ele::Int(-42), Ele::Int(1)])) else { panic!() };
        assert_eq!(h.get(&b"-42"[..]), Some(&b"1".to_vec()));
    }

    /// Keys are added a batch at a time: a duplicated key far into the file is still refused at
    /// its own offset with the keys before it loaded, and every key and TTL is there at the end.
    #[test]
    fn keys_in_batches() {
        let n = 3 * BATCH + 5;
        let mut rdb = Vec::new();
        crate::rdb::write_header(&mut rdb, 0, 0);
        rdb.extend_from_slice(&[RDB_OPCODE_SELECTDB, 0]);
        let mut dup_at = 0;
        for i in 0..=n {
            if i % 3 == 0 {
                rdb.push(RDB_OPCODE_EXPIRETIME_MS);
                rdb.extend_from_slice(&(4_000_000_000_000i64 + i64::try_from(i).unwrap()).to_le_bytes());
            }
            if i == n {
                dup_at = rdb.len();
            }
            rdb.push(0);
            push_string(&mut rdb, format!("key:{}", i % n).as_bytes());
            push_string(&mut rdb, b"v");
        }
        let mut good = rdb[..dup_at].to_vec();
        for r in [&mut rdb, &mut good] {
            r.push(RDB_OPCODE_EOF);
            let crc = crate::rdb::crc64(r);
            r.extend_from_slice(&crc.to_le_bytes());
        }
        let mut dbs = vec![Db::new(0)];
        let e = read_rdb(&rdb, &mut dbs).unwrap_err();
        assert_eq!(e.message, "RDB has duplicated key 'key:0' in DB 0");
        assert_eq!(e.offset, dup_at);
        assert_eq!(dbs[0].len(), n);
        let mut dbs = vec![Db::new(0)];
        let info = read_rdb(&good, &mut dbs).unwrap();
        assert_eq!((info.keys, info.expires), (n as u64, n.div_ceil(3) as u64));
        assert_eq!(dbs[0].len(), n);
        assert_eq!(dbs[0].expires_len(), n.div_ceil(3));
        assert_eq!(dbs[0].expire_of(b"key:3"), Some(4_000_000_000_003));
        assert_eq!(dbs[0].expire_of(b"key:4"), None);
        assert_eq!(dbs[0].mem(), dbs[0].mem_walk());
    }
}
