//! Random differential testing: seeded random command sequences over every command family
//! (strings, lists, hashes, sets, sorted sets, streams and their groups (`diff_streams`),
//! bitmaps, HyperLogLogs, geo sets (`diff_random_bitsgeo`), keys and TTLs, MULTI/EXEC, SELECT/MOVE/SWAPDB,
//! encoding-threshold CONFIG SETs, bulk commands that cross the encoding limits, short stretches
//! over `maxmemory` where exactly the `denyoom` commands must fail) and many invalid commands
//! (wrong arity, wrong type, bad numbers, syntax errors, unknown commands and subcommands),
//! sent to a real redis-server 7.0.15
//! and to `aof-lab serve` over TCP. Every reply is compared byte for byte, `DEBUG DIGEST` every
//! 100 commands, the AOF bytes each command appended, and the whole AOF at the end — the compat
//! runner's rules (`tests/common/runner.rs`), so absolute times are compared within the
//! milliseconds between the two calls (`tests/common/script.rs`, `Clock`).
//!
//! What is not compared exactly, and why:
//! - replies in hash-table order (SMEMBERS, HGETALL, KEYS, set algebra…) are compared as
//!   unordered arrays (`~` / `~2`), and therefore never generated inside MULTI (EXEC nests them);
//! - truly random replies (RANDOMKEY, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) and TTL/PTTL/
//!   EXPIRETIME (the two servers run each command a few hundred µs apart, so a second can tick
//!   between them) are compared by type only; random *writes* are made deterministic (SPOP with a
//!   count above any set's size);
//! - TTLs are long (or zero/past, which deletes at once), so no key expires between the two.
//!
//! A generated sequence is a compat script: on a mismatch the script is written to
//! `target/diff-random/seed-<seed>.redis` (replay it with the compat runner) and the report names
//! the seed, the script line (= the command's index + 1; `@digest` lines are numbered too), the
//! command and both replies.
//!
//! Short mode (`cargo test`): 3 seeds × 2 000 commands over RESP2, and the first 2 again over RESP3
//! (`HELLO 3` first: every reply compared as RESP3 bytes). Long mode (odd seeds over RESP3):
//! `AOF_LAB_SOAK_DIFF_COMMANDS=<n> cargo test --release --test diff_random -- --nocapture` runs
//! ⌈n / 2 000⌉ seeds (fresh servers per seed) and prints
//! `SOAK diff-random: <n> commands compared, <v> violations`. `AOF_LAB_DIFF_SEED=<s>` starts at
//! seed `s` (to replay one).
#![cfg(unix)]

mod common;
mod diff_random_bitsgeo;
mod diff_streams;
mod serve_support;

use common::runner::{RealSide, ScriptResult, run_script_proto};
use fastrand::Rng;
use serve_support::ServeSide;

const COMMANDS_PER_SEED: usize = 2_000;
const SHORT_SEEDS: u64 = 3;
/// Seeds run again over RESP3 in the short mode.
const RESP3_SEEDS: u64 = 2;

/// Keys of each family; a command picks one of its own family's keys most of the time and any
/// key otherwise (which makes WRONGTYPE errors and cross-type RENAMEs).
const FAMILIES: &[&str] = &["str", "list", "hash", "set", "zset", "stream", "hll", "geo"];

struct Gen {
    rng: Rng,
    /// Inside MULTI: only commands whose reply is deterministic and order-exact.
    in_multi: bool,
    /// The milliseconds part of the stream IDs generated so far (see `diff_streams`).
    stream_ms: u64,
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen { rng: Rng::with_seed(seed), in_multi: false, stream_ms: 1 }
    }

    fn pct(&mut self, p: u32) -> bool {
        self.rng.u32(0..100) < p
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.usize(0..xs.len())]
    }

    fn key(&mut self, family: &str) -> String {
        let fam = if self.pct(8) { self.pick(FAMILIES) } else { family };
        format!("{fam}:{}", self.rng.u32(0..4))
    }

    /// A value: mostly small integers and words, sometimes long (encoding conversions), odd, or
    /// binary.
    fn value(&mut self) -> String {
        match self.rng.u32(0..20) {
            0..=6 => self.rng.i64(-20..100).to_string(),
            7..=12 => self.pick(&["a", "b", "c", "foo", "bar", "baz", "hello", "x y", "zz"]).to_string(),
            13 => "v".repeat(self.rng.usize(60..80)),
            14 => self.pick(&["", "1.5", "-0", "3e2", "0x10", " 7", "inf", "nan"]).to_string(),
            15 => self.pick(&["9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616"]).to_string(),
            16 => "\u{e9}t\u{e9}\n\"q\"".to_string(),
            _ => format!("m{}", self.rng.u32(0..30)),
        }
    }

    /// A set/zset member or hash field: a small pool so that collisions happen; integers keep
    /// sets in their intset encoding for a while.
    fn member(&mut self) -> String {
        match self.rng.u32(0..10) {
            0..=4 => self.rng.u32(0..12).to_string(),
            5..=8 => format!("m{}", self.rng.u32(0..12)),
            _ => self.pick(&["", "-1", "x y", &"w".repeat(70)]).to_string(),
        }
    }

    /// An integer argument: mostly valid, sometimes not an integer or out of range.
    fn int(&mut self) -> String {
        match self.rng.u32(0..20) {
            0..=13 => self.rng.i64(-6..12).to_string(),
            14 => self.rng.i64(-1000..1000).to_string(),
            15 => self.pick(&["abc", "1.5", "", "1e3", " 3"]).to_string(),
            16 => self.pick(&["9223372036854775807", "-9223372036854775808", "9223372036854775808"]).to_string(),
            _ => self.rng.i64(0..4).to_string(),
        }
    }

    fn float(&mut self) -> String {
        match self.rng.u32(0..12) {
            0..=5 => self.rng.i64(-10..10).to_string(),
            6..=8 => format!("{}.{}", self.rng.i64(-10..10), self.rng.u32(0..100)),
            9 => self.pick(&["inf", "-inf", "+inf", "1e308", "1e-5", "3e400"]).to_string(),
            10 => self.pick(&["abc", "nan", "", "1..2", "0x1p3"]).to_string(),
            _ => "0.1".to_string(),
        }
    }

    fn score_bound(&mut self) -> String {
        match self.rng.u32(0..6) {
            0 => "-inf".into(),
            1 => "+inf".into(),
            2 => format!("({}", self.rng.i64(-5..15)),
            3 => self.pick(&["x", "(", "[1"]).to_string(),
            _ => self.rng.i64(-5..15).to_string(),
        }
    }

    fn lex_bound(&mut self) -> String {
        match self.rng.u32(0..5) {
            0 => "-".into(),
            1 => "+".into(),
            2 => format!("[{}", self.member()),
            3 => format!("({}", self.member()),
            _ => self.member(), // invalid: no [ or (
        }
    }

    /// A TTL in seconds that is either long (stable for a whole run, and within a year so that
    /// the absolute times it becomes are read as times by the harness) or ≤ 0 (deletes at once),
    /// or invalid.
    fn ttl(&mut self) -> String {
        match self.rng.u32(0..10) {
            0..=6 => self.rng.i64(1000..80_000).to_string(),
            7 => "0".into(),
            8 => "-5".into(),
            _ => self.pick(&["abc", "9223372036854775807", "1.5"]).to_string(),
        }
    }

    /// The same in milliseconds (PX, PEXPIRE, PSETEX).
    fn ttl_ms(&mut self) -> String {
        match self.rng.u32(0..10) {
            0..=6 => self.rng.i64(1_000_000..80_000_000).to_string(),
            7 => "0".into(),
            8 => "-5".into(),
            _ => self.pick(&["abc", "9223372036854775807", "1.5"]).to_string(),
        }
    }

    /// One random command with its comparison mode.
    fn command(&mut self) -> (&'static str, Vec<String>) {
        let r = self.rng.u32(0..132);
        let (mode, mut argv) = match r {
            0..=17 => self.string_cmd(),
            18..=33 => self.list_cmd(),
            34..=47 => self.hash_cmd(),
            48..=61 => self.set_cmd(),
            62..=77 => self.zset_cmd(),
            78..=91 => self.key_cmd(),
            92..=105 => self.stream_cmd(),
            106..=113 => self.invalid_cmd(),
            114..=118 => self.bitmap_cmd(),
            119..=123 => self.hll_cmd(),
            _ => self.geo_cmd(),
        };
        // Command names are case-insensitive.
        if self.pct(15) {
            argv[0] = argv[0].to_lowercase();
        } else if self.pct(5) {
            let mut chars: Vec<char> = argv[0].chars().collect();
            if let Some(c) = chars.first_mut() {
                *c = c.to_ascii_lowercase();
            }
            argv[0] = chars.into_iter().collect();
        }
        (mode, argv)
    }

    /// `~`/`~2`/`%` are allowed outside MULTI only; inside, the generator falls back to a
    /// deterministic command.
    fn unordered(&mut self, mode: &'static str, argv: Vec<String>) -> (&'static str, Vec<String>) {
        if self.in_multi {
            let k = self.key("str");
            ("", cmd(&["EXISTS", &k]))
        } else {
            (mode, argv)
        }
    }

    fn string_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("str");
        let v = self.value();
        let argv = match self.rng.u32(0..26) {
            0..=2 => {
                let mut a = cmd(&["SET", &k, &v]);
                for _ in 0..self.rng.usize(0..3) {
                    match self.rng.u32(0..9) {
                        0 => a.extend(cmd(&["EX", &self.ttl()])),
                        1 => a.extend(cmd(&["PX", &self.ttl_ms()])),
                        2 => a.push("NX".into()),
                        3 => a.push("XX".into()),
                        4 => a.push("GET".into()),
                        5 => a.push("KEEPTTL".into()),
                        // (Not in the past: such a key lives until active expiry finds it, a
                        // timing-dependent DEL. EXPIREAT in the past deletes at once, see keys.)
                        6 => a.extend(cmd(&["EXAT", self.pick(&["4000000000", "-1"])])),
                        7 => a.extend(cmd(&["PXAT", self.pick(&["4000000000000", "0"])])),
                        _ => a.push(self.pick(&["BADOPT", "EX"]).to_string()),
                    }
                }
                a
            }
            3 => cmd(&["GET", &k]),
            4 => cmd(&["APPEND", &k, &v]),
            5 => cmd(&["INCR", &k]),
            6 => cmd(&["DECR", &k]),
            7 => cmd(&["INCRBY", &k, &self.int()]),
            8 => cmd(&["DECRBY", &k, &self.int()]),
            9 => cmd(&["INCRBYFLOAT", &k, &self.float()]),
            10 => cmd(&["SETRANGE", &k, &self.int(), &v]),
            11 => cmd(&["GETRANGE", &k, &self.int(), &self.int()]),
            12 => cmd(&["STRLEN", &k]),
            13 => {
                let (k2, v2) = (self.key("str"), self.value());
                cmd(&[self.pick(&["MSET", "MSETNX"]), &k, &v, &k2, &v2])
            }
            14 => {
                let k2 = self.key("str");
                cmd(&["MGET", &k, &k2, "nokey"])
            }
            15 => cmd(&["SETNX", &k, &v]),
            16 => cmd(&["GETSET", &k, &v]),
            17 => cmd(&["GETDEL", &k]),
            18 => {
                let mut a = cmd(&["GETEX", &k]);
                match self.rng.u32(0..5) {
                    0 => a.extend(cmd(&["EX", &self.ttl()])),
                    1 => a.extend(cmd(&["PX", &self.ttl_ms()])),
                    2 => a.push("PERSIST".into()),
                    3 => a.extend(cmd(&["EXAT", "4000000000"])),
                    _ => {}
                }
                a
            }
            19 => cmd(&["SETEX", &k, &self.ttl(), &v]),
            20 => cmd(&["PSETEX", &k, &self.ttl_ms(), &v]),
            21 => cmd(&["SETBIT", &k, &self.int(), self.pick(&["0", "1", "2"])]),
            22 => cmd(&["GETBIT", &k, &self.int()]),
            23 => {
                let mut a = cmd(&["BITCOUNT", &k]);
                if self.pct(50) {
                    a.extend([self.int(), self.int()]);
                    if self.pct(30) {
                        a.push(self.pick(&["BYTE", "BIT", "WORD"]).to_string());
                    }
                }
                a
            }
            24 => {
                let k2 = self.key("str");
                let mut a = cmd(&["LCS", &k, &k2]);
                if self.pct(40) {
                    a.push(self.pick(&["LEN", "IDX", "MINMATCHLEN"]).to_string());
                }
                a
            }
            _ => cmd(&["SUBSTR", &k, &self.int(), &self.int()]),
        };
        ("", argv)
    }

    /// Now and then a command with many elements, to cross the encoding thresholds (512
    /// intset entries, 128 listpack entries) without a CONFIG SET.
    fn bulk_cmd(&mut self) -> Vec<String> {
        let n = self.rng.usize(100..600);
        let base = self.rng.u32(0..400);
        match self.rng.u32(0..4) {
            0 => {
                let mut a = cmd(&["RPUSH", &self.key("list")]);
                a.extend((0..n).map(|i| format!("e{}", base as usize + i)));
                a
            }
            1 => {
                let mut a = cmd(&["SADD", &self.key("set")]);
                a.extend((0..n).map(|i| (base as usize + i).to_string()));
                a
            }
            2 => {
                let mut a = cmd(&["HSET", &self.key("hash")]);
                for i in 0..n / 3 {
                    a.extend([format!("f{}", base as usize + i), i.to_string()]);
                }
                a
            }
            _ => {
                let mut a = cmd(&["ZADD", &self.key("zset")]);
                for i in 0..n / 3 {
                    a.extend([(i % 17).to_string(), format!("m{}", base as usize + i)]);
                }
                a
            }
        }
    }

    fn list_cmd(&mut self) -> (&'static str, Vec<String>) {
        if self.pct(2) {
            return ("", self.bulk_cmd());
        }
        let k = self.key("list");
        let v = self.value();
        let argv = match self.rng.u32(0..24) {
            0..=3 => {
                let mut a = cmd(&[self.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), &k, &v]);
                for _ in 0..self.rng.usize(0..4) {
                    a.push(self.value());
                }
                a
            }
            4 | 5 => {
                let mut a = cmd(&[self.pick(&["LPOP", "RPOP"]), &k]);
                if self.pct(30) {
                    a.push(self.int());
                }
                a
            }
            6 => cmd(&["LLEN", &k]),
            7 | 8 => cmd(&["LRANGE", &k, &self.int(), &self.int()]),
            9 => cmd(&["LINDEX", &k, &self.int()]),
            10 => cmd(&["LSET", &k, &self.int(), &v]),
            11 => cmd(&["LREM", &k, &self.int(), &v]),
            12 => cmd(&["LTRIM", &k, &self.int(), &self.int()]),
            13 => cmd(&["LINSERT", &k, self.pick(&["BEFORE", "AFTER", "MIDDLE"]), &self.value(), &v]),
            14 => {
                let mut a = cmd(&["LPOS", &k, &v]);
                for _ in 0..self.rng.usize(0..3) {
                    a.extend(cmd(&[self.pick(&["RANK", "COUNT", "MAXLEN", "FOO"]), &self.int()]));
                }
                a
            }
            15 => cmd(&["RPOPLPUSH", &k, &self.key("list")]),
            16 => cmd(&["LMOVE", &k, &self.key("list"), self.pick(&["LEFT", "RIGHT"]), self.pick(&["LEFT", "RIGHT", "UP"])]),
            17 => {
                let mut a = cmd(&["LMPOP", self.pick(&["1", "2", "0", "x"]), &k, &self.key("list"), self.pick(&["LEFT", "RIGHT"])]);
                if self.pct(40) {
                    a.extend(cmd(&["COUNT", &self.int()]));
                }
                a
            }
            // Blocking pops never block inside MULTI; outside they only run on lists that exist
            // (a BLPOP with a timeout on an empty key would make the reply timing-dependent).
            18 if self.in_multi => cmd(&[self.pick(&["BLPOP", "BRPOP"]), &k, &self.key("list"), "0"]),
            19 if self.in_multi => cmd(&["BLMOVE", &k, &self.key("list"), "LEFT", "RIGHT", "0"]),
            20 if self.in_multi => cmd(&["BLMPOP", "0", "1", &k, "LEFT", "COUNT", "2"]),
            21 if self.in_multi => cmd(&["BRPOPLPUSH", &k, &self.key("list"), "1"]),
            _ => cmd(&["LRANGE", &k, "0", "-1"]),
        };
        ("", argv)
    }

    fn hash_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("hash");
        let f = self.member();
        let v = self.value();
        match self.rng.u32(0..20) {
            0..=3 => {
                let mut a = cmd(&[self.pick(&["HSET", "HSET", "HMSET"]), &k, &f, &v]);
                for _ in 0..self.rng.usize(0..3) {
                    a.extend([self.member(), self.value()]);
                }
                if self.pct(5) {
                    a.push("odd".into());
                }
                ("", a)
            }
            4 => ("", cmd(&["HSETNX", &k, &f, &v])),
            5 => ("", cmd(&["HGET", &k, &f])),
            6 => ("", cmd(&["HMGET", &k, &f, &self.member()])),
            7 | 8 => {
                let mut a = cmd(&["HDEL", &k, &f]);
                if self.pct(40) {
                    a.push(self.member());
                }
                ("", a)
            }
            9 => ("", cmd(&["HLEN", &k])),
            10 => ("", cmd(&["HEXISTS", &k, &f])),
            11 => ("", cmd(&["HINCRBY", &k, &f, &self.int()])),
            12 => ("", cmd(&["HINCRBYFLOAT", &k, &f, &self.float()])),
            13 => ("", cmd(&["HSTRLEN", &k, &f])),
            14 | 15 => self.unordered("~2 ", cmd(&["HGETALL", &k])),
            16 => self.unordered("~ ", cmd(&["HKEYS", &k])),
            17 => self.unordered("~ ", cmd(&["HVALS", &k])),
            18 => {
                let c = self.pick(&["1", "-3", "5"]);
                self.unordered("% ", cmd(&["HRANDFIELD", &k, c]))
            }
            _ => ("", cmd(&["HINCRBY", &k, &f, "1"])),
        }
    }

    fn set_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("set");
        let m = self.member();
        match self.rng.u32(0..22) {
            0..=3 => {
                let mut a = cmd(&["SADD", &k, &m]);
                for _ in 0..self.rng.usize(0..4) {
                    a.push(self.member());
                }
                ("", a)
            }
            4 | 5 => {
                let mut a = cmd(&["SREM", &k, &m]);
                if self.pct(40) {
                    a.push(self.member());
                }
                ("", a)
            }
            6 => ("", cmd(&["SCARD", &k])),
            7 => ("", cmd(&["SISMEMBER", &k, &m])),
            8 => ("", cmd(&["SMISMEMBER", &k, &m, &self.member()])),
            9 | 10 => self.unordered("~ ", cmd(&["SMEMBERS", &k])),
            11 => {
                let op = self.pick(&["SINTER", "SUNION", "SDIFF"]);
                let k2 = self.key("set");
                self.unordered("~ ", cmd(&[op, &k, &k2]))
            }
            12 | 13 => {
                let op = self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
                let (d, k2) = (self.key("set"), self.key("set"));
                ("", cmd(&[op, &d, &k, &k2]))
            }
            14 => ("", cmd(&["SMOVE", &k, &self.key("set"), &m])),
            15 => {
                let mut a = cmd(&["SINTERCARD", self.pick(&["2", "1", "0", "3"]), &k, &self.key("set")]);
                if self.pct(40) {
                    a.extend(cmd(&["LIMIT", &self.int()]));
                }
                ("", a)
            }
            // A count above any set's size pops the whole set: deterministic, propagated as DEL.
            16 => self.unordered("~ ", cmd(&["SPOP", &k, "1000"])),
            17 => ("", cmd(&["SPOP", &k, self.pick(&["0", "-1", "x"])])),
            18 => {
                let c = self.pick(&["2", "-4", "0"]);
                self.unordered("% ", cmd(&["SRANDMEMBER", &k, c]))
            }
            _ => ("", cmd(&["SADD", &k, &self.rng.u32(0..600).to_string()])),
        }
    }

    fn zset_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("zset");
        let m = self.member();
        match self.rng.u32(0..30) {
            0..=4 => {
                let mut a = cmd(&["ZADD", &k]);
                for _ in 0..self.rng.usize(0..2) {
                    a.push(self.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"]).to_string());
                }
                a.extend([self.float(), m]);
                for _ in 0..self.rng.usize(0..3) {
                    a.extend([self.float(), self.member()]);
                }
                ("", a)
            }
            5 => ("", cmd(&["ZINCRBY", &k, &self.float(), &m])),
            6 | 7 => ("", cmd(&["ZREM", &k, &m, &self.member()])),
            8 => ("", cmd(&["ZSCORE", &k, &m])),
            9 => ("", cmd(&["ZMSCORE", &k, &m, &self.member()])),
            10 => ("", cmd(&["ZCARD", &k])),
            11 | 12 => {
                let mut a = cmd(&["ZRANGE", &k]);
                match self.rng.u32(0..3) {
                    0 => a.extend([self.int(), self.int()]),
                    1 => {
                        a.extend([self.score_bound(), self.score_bound(), "BYSCORE".into()]);
                    }
                    _ => {
                        a[1] = self.lex_key();
                        a.extend([self.lex_bound(), self.lex_bound(), "BYLEX".into()]);
                    }
                }
                if self.pct(30) {
                    a.push("REV".into());
                }
                if self.pct(30) {
                    a.extend(["LIMIT".into(), self.int(), self.int()]);
                }
                if self.pct(40) {
                    a.push("WITHSCORES".into());
                }
                ("", a)
            }
            13 => {
                let mut a = cmd(&[self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), &k, &self.score_bound(), &self.score_bound()]);
                if self.pct(40) {
                    a.push("WITHSCORES".into());
                }
                ("", a)
            }
            14 => self.lex_cmd(),
            15 => ("", cmd(&[self.pick(&["ZRANK", "ZREVRANK"]), &k, &m])),
            16 => ("", cmd(&["ZCOUNT", &k, &self.score_bound(), &self.score_bound()])),
            17 => self.lex_cmd(),
            18 | 19 => {
                let mut a = cmd(&[self.pick(&["ZPOPMIN", "ZPOPMAX"]), &k]);
                if self.pct(40) {
                    a.push(self.int());
                }
                ("", a)
            }
            20 => {
                let op = self.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
                let (d, k2) = (self.key("zset"), self.key("zset"));
                let mut a = cmd(&[op, &d, self.pick(&["2", "2", "1", "0", "3"]), &k, &k2]);
                if op != "ZDIFFSTORE" && self.pct(40) {
                    a.extend(cmd(&["WEIGHTS", &self.float(), &self.float()]));
                }
                if op != "ZDIFFSTORE" && self.pct(40) {
                    a.extend(cmd(&["AGGREGATE", self.pick(&["SUM", "MIN", "MAX", "AVG"])]));
                }
                ("", a)
            }
            21 => {
                let op = self.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
                let k2 = self.key("zset");
                let mut a = cmd(&[op, "2", &k, &k2]);
                if self.pct(50) {
                    a.push("WITHSCORES".into());
                }
                ("", a)
            }
            22 => ("", cmd(&["ZREMRANGEBYRANK", &k, &self.int(), &self.int()])),
            23 => ("", cmd(&["ZREMRANGEBYSCORE", &k, &self.score_bound(), &self.score_bound()])),
            24 => self.lex_cmd(),
            25 => ("", cmd(&["ZRANGESTORE", &self.key("zset"), &k, &self.int(), &self.int()])),
            26 => {
                let mut a = cmd(&["ZMPOP", "1", &k, self.pick(&["MIN", "MAX", "MID"])]);
                if self.pct(40) {
                    a.extend(cmd(&["COUNT", &self.int()]));
                }
                ("", a)
            }
            27 if self.in_multi => ("", cmd(&[self.pick(&["BZPOPMIN", "BZPOPMAX"]), &k, "0"])),
            28 => {
                let c = self.pick(&["1", "-2", "3"]);
                self.unordered("% ", cmd(&["ZRANDMEMBER", &k, c]))
            }
            _ => ("", cmd(&["ZINTERCARD", "2", &k, &self.key("zset")])),
        }
    }

    /// Sorted sets whose scores are all 0, for the lex-range commands: with mixed scores a lex
    /// range is undefined in Redis (on a skiplist it depends on the nodes' random levels).
    fn lex_key(&mut self) -> String {
        if self.pct(5) {
            format!("{}:{}", self.pick(&["str", "list", "hash", "set"]), self.rng.u32(0..4))
        } else {
            format!("lex:{}", self.rng.u32(0..3))
        }
    }

    fn lex_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.lex_key();
        let argv = match self.rng.u32(0..9) {
            0..=2 => {
                let mut a = cmd(&["ZADD", &k]);
                if self.pct(20) {
                    a.push(self.pick(&["NX", "XX", "CH"]).to_string());
                }
                for _ in 0..self.rng.usize(1..4) {
                    a.extend(["0".to_string(), self.member()]);
                }
                a
            }
            3 => cmd(&[self.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), &k, &self.lex_bound(), &self.lex_bound()]),
            4 => {
                let mut a = cmd(&["ZRANGEBYLEX", &k, &self.lex_bound(), &self.lex_bound()]);
                a.extend(["LIMIT".into(), self.int(), self.int()]);
                a
            }
            5 => cmd(&["ZLEXCOUNT", &k, &self.lex_bound(), &self.lex_bound()]),
            6 => cmd(&["ZREMRANGEBYLEX", &k, &self.lex_bound(), &self.lex_bound()]),
            7 => cmd(&["ZREM", &k, &self.member()]),
            _ => cmd(&["ZRANGE", &k, "0", "-1"]),
        };
        ("", argv)
    }

    fn key_cmd(&mut self) -> (&'static str, Vec<String>) {
        let fam = self.pick(FAMILIES);
        let k = self.key(fam);
        match self.rng.u32(0..36) {
            0..=2 => ("", cmd(&[self.pick(&["DEL", "UNLINK"]), &k, &self.key(fam)])),
            3 => ("", cmd(&["EXISTS", &k, &k, &self.key(fam)])),
            4 => ("", cmd(&["TYPE", &k])),
            5 | 6 => {
                let mut a = if self.pct(50) { cmd(&["EXPIRE", &k, &self.ttl()]) } else { cmd(&["PEXPIRE", &k, &self.ttl_ms()]) };
                if self.pct(25) {
                    a.push(self.pick(&["NX", "XX", "GT", "LT", "FOO"]).to_string());
                }
                ("", a)
            }
            7 => ("", cmd(&[self.pick(&["EXPIREAT", "PEXPIREAT"]), &k, self.pick(&["1", "4000000000", "4000000000000", "x"])])),
            8 => ("", cmd(&["PERSIST", &k])),
            9 => {
                let c = self.pick(&["TTL", "PTTL", "EXPIRETIME"]);
                self.unordered("% ", cmd(&[c, &k]))
            }
            10 => ("", cmd(&["PEXPIRETIME", &k])),
            11 | 12 => ("", cmd(&[self.pick(&["RENAME", "RENAMENX"]), &k, &self.key(fam)])),
            13 => {
                let mut a = cmd(&["COPY", &k, &self.key(fam)]);
                if self.pct(40) {
                    a.push("REPLACE".into());
                }
                if self.pct(20) {
                    a.extend(cmd(&["DB", self.pick(&["1", "2", "16", "x"])]));
                }
                ("", a)
            }
            14 => ("", cmd(&["MOVE", &k, self.pick(&["0", "1", "2", "99", "x"])])),
            15 | 16 => ("", cmd(&["SELECT", self.pick(&["0", "0", "1", "2", "16", "-1", "x"])])),
            17 => ("", cmd(&["SWAPDB", self.pick(&["0", "1"]), self.pick(&["1", "2", "0", "x", "99"])])),
            18 => ("", cmd(&["DBSIZE"])),
            19 => {
                let pattern = self.pick(&["*", "str:*", "*:[0-1]", "h?sh:*"]);
                self.unordered("~ ", cmd(&["KEYS", pattern]))
            }
            20 => self.unordered("% ", cmd(&["RANDOMKEY"])),
            21 => ("", cmd(&["TOUCH", &k, &self.key(fam)])),
            22 if !self.in_multi && self.pct(10) => ("", cmd(&[self.pick(&["FLUSHDB", "FLUSHALL"])])),
            23 => ("", cmd(&["ECHO", &self.value()])),
            24 => ("", cmd(&["PING"])),
            25 | 26 if !self.in_multi => self.multi_block(),
            27 if !self.in_multi => {
                // Encoding thresholds: the same conversions must happen on both sides (a zset's
                // shows in `-0` scores, which a skiplist keeps and a listpack makes `0`; seeds
                // 5083 and 5286 found the engine ignoring the zset ones).
                let name = self.pick(&[
                    "hash-max-listpack-entries",
                    "hash-max-listpack-value",
                    "set-max-intset-entries",
                    "zset-max-listpack-entries",
                    "zset-max-listpack-value",
                    "list-max-listpack-size",
                    "stream-node-max-entries",
                    "stream-node-max-bytes",
                ]);
                ("", cmd(&["CONFIG", "SET", name, self.pick(&["1", "2", "4", "64", "128", "512", "-2", "x"])]))
            }
            28 => ("", cmd(&["WATCH", &k])),
            29 => ("", cmd(&["UNWATCH"])),
            30 => ("", cmd(&["DEBUG", "DIGEST-VALUE", &k])),
            // Over maxmemory for a few commands (expanded by `script_for`): exactly the
            // `denyoom` commands must be refused, so the flags must be Redis's.
            31 if !self.in_multi => ("", cmd(&["CONFIG", "SET", "maxmemory", "1"])),
            32 => self.sort_cmd(),
            33 => self.dump_object_cmd(),
            _ => ("", cmd(&["EXISTS", &k])),
        }
    }

    /// SORT / SORT_RO over lists, sets and sorted sets. A set read in its own order (`BY
    /// nosort`, no STORE) is in hash order: compared unordered. ALPHA with a BY pattern is left
    /// out (equal weights keep the read order, a hash order for big sets).
    fn sort_cmd(&mut self) -> (&'static str, Vec<String>) {
        let fam = self.pick(&["list", "list", "set", "zset"]);
        let k = self.key(fam);
        let ro = self.pct(30);
        let mut a = cmd(&[if ro { "SORT_RO" } else { "SORT" }, &k]);
        let by = match self.rng.u32(0..6) {
            0 => Some("nosort"),
            1 => Some("str:*"),
            2 => Some("hash:*->m1"),
            _ => None,
        };
        let alpha = by.is_none() && self.pct(40);
        if let Some(p) = by {
            a.extend(cmd(&["BY", p]));
        }
        if alpha {
            a.push("ALPHA".into());
        }
        if self.pct(30) {
            a.push(self.pick(&["ASC", "DESC"]).into());
        }
        if self.pct(30) {
            a.extend(["LIMIT".into(), self.int(), self.int()]);
        }
        for _ in 0..self.rng.usize(0..3) {
            a.extend(cmd(&["GET", self.pick(&["#", "str:*", "hash:*->m2", "nostar"])]));
        }
        let store = !ro && self.pct(40);
        if store {
            a.extend(cmd(&["STORE", &self.key("list")]));
        }
        if self.pct(3) {
            a.push(self.pick(&["FOO", "LIMIT", "STORE"]).into());
        }
        if fam == "set" && by == Some("nosort") && !store {
            return self.unordered("~ ", a);
        }
        ("", a)
    }

    /// DUMP (its type), RESTORE of fixed payloads (made by the engine, Redis's bytes), OBJECT.
    fn dump_object_cmd(&mut self) -> (&'static str, Vec<String>) {
        let fam = self.pick(FAMILIES);
        let k = self.key(fam);
        match self.rng.u32(0..8) {
            0 | 1 => {
                // Any key may hold any type (RENAME, COPY), and a hash table's or a list's bytes
                // are Redis's order and node history: the type only (the scripts and
                // dump_vs_redis compare the bytes).
                self.unordered("% ", cmd(&["DUMP", &k]))
            }
            2..=4 => {
                let all = PAYLOADS.get_or_init(payloads);
                let payload = all[self.rng.usize(0..all.len())].as_str();
                let mut a = cmd(&["RESTORE", &k, self.pick(&["0", "0", "100000000", "-1", "x"]), payload]);
                for _ in 0..self.rng.usize(0..3) {
                    match self.rng.u32(0..5) {
                        0 | 1 => a.push("REPLACE".into()),
                        2 => a.push("ABSTTL".into()),
                        3 => a.extend(cmd(&["IDLETIME", self.pick(&["0", "100", "-1"])])),
                        _ => a.extend(cmd(&["FREQ", self.pick(&["5", "255", "256"])])),
                    }
                }
                ("", a)
            }
            5 | 6 => ("", cmd(&["OBJECT", "ENCODING", &k])),
            _ => ("", cmd(&["OBJECT", self.pick(&["REFCOUNT", "FREQ", "HELP", "FOO"]), &k])),
        }
    }

    /// MULTI, 0-5 commands (sometimes a bad one, which aborts EXEC), then EXEC or DISCARD.
    /// Emitted as a `MULTI` marker argv that [`script_for`] expands.
    fn multi_block(&mut self) -> (&'static str, Vec<String>) {
        ("", cmd(&["MULTI"]))
    }

    fn invalid_cmd(&mut self) -> (&'static str, Vec<String>) {
        match self.rng.u32(0..8) {
            // Wrong arity: a valid command cut short (or with one argument too many).
            0..=2 => {
                // (Cut to a still-valid command, it keeps its comparison mode.)
                let (mode, mut a) = match self.rng.u32(0..6) {
                    0 => self.string_cmd(),
                    1 => self.list_cmd(),
                    2 => self.hash_cmd(),
                    3 => self.set_cmd(),
                    4 => self.stream_cmd(),
                    _ => self.zset_cmd(),
                };
                // A plain `SPOP key` would be a random write: cut SPOP to its name only.
                let keep = if a[0].eq_ignore_ascii_case("spop") { 1 } else { self.rng.usize(1..3) };
                a.truncate(keep.min(a.len()));
                (mode, a)
            }
            3 => ("", cmd(&[self.pick(&["FOOBAR", "SETT", "GETX", "x y"]), "a", &self.value()])),
            4 => ("", cmd(&["CONFIG", self.pick(&["FOO", "GETT"]), "x"])),
            5 => ("", cmd(&["GET", "a", "b"])),
            // (Inside a block they would end it early, and blocking commands would then block.)
            6 if !self.in_multi => ("", cmd(&["EXEC"])),
            7 if !self.in_multi => ("", cmd(&["DISCARD"])),
            _ => ("", cmd(&["MULTI"])),
        }
    }
}

/// Quotes one argument for a script line (redis-cli rules, as `split_args` reads them back).
/// RESTORE payloads, already quoted (see [`RAW`]): the engine's DUMP of a few values, which is
/// Redis's byte for byte, a payload with a bad CRC and one of a newer RDB version.
static PAYLOADS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// An argument that [`quote`] passes through as it is (it is quoted already).
const RAW: char = '\u{1}';

fn payloads() -> Vec<String> {
    use aof_lab::keyspace::{SetValue, Value, ZSet};
    use aof_lab::rdb::dump::{Limits, dump_payload};
    let mut set = SetValue::default();
    for m in ["1", "2", "30"] {
        set.insert(m.as_bytes().to_vec());
    }
    let mut zset = ZSet::default();
    zset.insert(b"a".to_vec(), 1.5);
    zset.insert(b"b".to_vec(), 2.0);
    let values = [
        Value::String(b"hello".to_vec().into()),
        Value::String(b"42".to_vec().into()),
        Value::List([&b"a"[..], b"1", b"b"].iter().map(|e| e.to_vec()).collect()),
        Value::Set(set),
        Value::ZSet(zset),
    ];
    let mut raw: Vec<Vec<u8>> = values.iter().map(|v| dump_payload(v, &Limits::default(), true)).collect();
    let mut bad_crc = raw[0].clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    raw.push(bad_crc);
    let mut newer = raw[1].clone();
    let n = newer.len();
    newer[n - 10] = 11;
    raw.push(newer);
    raw.iter()
        .map(|p| {
            let mut s = String::from(RAW);
            s.push('"');
            for &c in p {
                if c.is_ascii_alphanumeric() { s.push(c as char) } else { s.push_str(&format!("\\x{c:02x}")) }
            }
            s.push('"');
            s
        })
        .collect()
}

fn quote(a: &str) -> String {
    if let Some(raw) = a.strip_prefix(RAW) {
        return raw.to_string();
    }
    if !a.is_empty() && a.bytes().all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\') {
        return a.to_string();
    }
    let mut s = String::from("\"");
    for c in a.bytes() {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b' ' => s.push(' '),
            c if c.is_ascii_graphic() => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

fn line(mode: &str, argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    format!("{mode}{}\n", words.join(" "))
}

/// The script of one seed: `n` commands, with `@digest` every 100.
fn script_for(seed: u64, n: usize) -> String {
    let mut g = Gen::new(seed);
    let mut out = String::new();
    let (mut count, mut digests) = (0, 0);
    while count < n {
        let (mode, argv) = g.command();
        if argv.len() == 1 && argv[0].eq_ignore_ascii_case("multi") && !g.in_multi {
            // Half the transactions WATCH keys first and touch (or not) some keys in between:
            // which commands count as modifying a key (signalModifiedKey) decides EXEC.
            if g.pct(50) {
                let fam = g.pick(FAMILIES);
                let mut w = cmd(&["WATCH", &g.key(fam)]);
                if g.pct(40) {
                    w.push(g.key(fam));
                }
                out.push_str(&line("", &w));
                for _ in 0..g.rng.usize(0..4) {
                    let (m, a) = match g.rng.u32(0..6) {
                        0 => g.string_cmd(),
                        1 => g.list_cmd(),
                        2 => g.hash_cmd(),
                        3 => g.set_cmd(),
                        4 => g.stream_cmd(),
                        _ => g.zset_cmd(),
                    };
                    out.push_str(&line(m, &a));
                    count += 1;
                }
                count += 1;
            }
            out.push_str(&line("", &argv));
            g.in_multi = true;
            for _ in 0..g.rng.usize(0..6) {
                let (m, a) = if g.pct(10) {
                    g.invalid_cmd()
                } else {
                    let r = g.rng.u32(0..7);
                    match r {
                        0 => g.string_cmd(),
                        1 => g.list_cmd(),
                        2 => g.hash_cmd(),
                        3 => g.set_cmd(),
                        4 => g.zset_cmd(),
                        5 => g.stream_cmd(),
                        _ => g.key_cmd(),
                    }
                };
                out.push_str(&line(m, &a));
                count += 1;
            }
            g.in_multi = false;
            let end = if g.pct(85) { "EXEC" } else { "DISCARD" };
            out.push_str(&line("", &cmd(&[end])));
            count += 2;
        } else if argv.len() == 4 && argv[0].eq_ignore_ascii_case("config") && argv[2] == "maxmemory" && argv[3] == "1" {
            out.push_str(&line("", &argv));
            for _ in 0..g.rng.usize(1..5) {
                let (m, a) = match g.rng.u32(0..6) {
                    0 => g.string_cmd(),
                    1 => g.list_cmd(),
                    2 => g.hash_cmd(),
                    3 => g.set_cmd(),
                    4 => g.stream_cmd(),
                    _ => g.zset_cmd(),
                };
                out.push_str(&line(m, &a));
                count += 1;
            }
            out.push_str(&line("", &cmd(&["CONFIG", "SET", "maxmemory", "0"])));
            count += 2;
        } else {
            out.push_str(&line(mode, &argv));
            count += 1;
        }
        if count / 100 > digests {
            digests = count / 100;
            out.push_str("@digest\n");
        }
    }
    out
}

/// One seed's script on fresh servers, over protocol `resp` (3: both connections send
/// `HELLO 3` first, and every reply is compared as RESP3 bytes).
fn run_seed(seed: u64, n: usize, resp: u8) -> ScriptResult {
    let text = script_for(seed, n);
    let mut real = RealSide::start();
    let mut serve = ServeSide::start();
    let res = run_script_proto(&format!("diff-random seed={seed} resp={resp}"), &text, resp, &mut real, &mut serve);
    if !res.mismatches.is_empty() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("diff-random");
        let _ = std::fs::create_dir_all(&dir);
        // Over RESP3, replay it with `HELLO 3` as its first line.
        let path = dir.join(format!("seed-{seed}-resp{resp}.redis"));
        let _ = std::fs::write(&path, &text);
        println!("diff-random: seed {seed}: the script is saved as {}", path.display());
    }
    res
}

/// Prints the first mismatches of each failing seed (later ones are mostly consequences).
fn report(results: &[ScriptResult]) -> (usize, usize) {
    let commands: usize = results.iter().map(|r| r.commands).sum();
    let violations: usize = results.iter().map(|r| r.mismatches.len()).sum();
    for r in results.iter().filter(|r| !r.mismatches.is_empty()) {
        println!("{}: {} commands, {} mismatches; the first ones:", r.name, r.commands, r.mismatches.len());
        for m in r.mismatches.iter().take(8) {
            println!("{m}");
        }
    }
    (commands, violations)
}

fn first_seed() -> u64 {
    std::env::var("AOF_LAB_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1)
}

/// Runs `seeds` seeds on two threads, each over the protocol `resp_of(seed)`.
fn run_seeds(seeds: Vec<u64>, n: usize, resp_of: fn(u64) -> u8) -> Vec<ScriptResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let r = run_seed(seed, n, resp_of(seed));
                    results.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap_or_else(|p| p.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn random_commands_match_redis() {
    let long: Option<usize> = std::env::var("AOF_LAB_SOAK_DIFF_COMMANDS").ok().and_then(|s| s.parse().ok()).filter(|&n| n > 0);
    let first = first_seed();
    let seeds = match long {
        Some(n) => n.div_ceil(COMMANDS_PER_SEED) as u64,
        None => SHORT_SEEDS,
    };
    // The soak alternates the protocols (odd seeds over RESP3); the short run is RESP2 only, and
    // `random_commands_match_redis_resp3` runs the same first seeds over RESP3.
    let resp_of: fn(u64) -> u8 = if long.is_some() { |seed| if seed % 2 == 1 { 3 } else { 2 } } else { |_| 2 };
    let results = run_seeds((first..first + seeds).collect(), COMMANDS_PER_SEED, resp_of);
    let (commands, violations) = report(&results);
    if long.is_some() {
        println!("SOAK diff-random: {commands} commands compared, {violations} violations");
    } else {
        println!("diff-random: {} seeds, {commands} commands compared, {violations} violations", results.len());
    }
    assert!(commands >= seeds as usize * COMMANDS_PER_SEED, "fewer commands than generated: {commands}");
    assert_eq!(violations, 0, "diff-random: {violations} mismatches with redis-server (see the report above)");
}

/// The same generated scripts over RESP3: every reply (maps, sets, doubles, nulls, score pairs)
/// compared as the RESP3 bytes redis-server and `aof-lab serve` send, with the AOF and digests.
#[test]
fn random_commands_match_redis_resp3() {
    let first = first_seed();
    let results = run_seeds((first..first + RESP3_SEEDS).collect(), COMMANDS_PER_SEED, |_| 3);
    let (commands, violations) = report(&results);
    println!("diff-random RESP3: {} seeds, {commands} commands compared, {violations} violations", results.len());
    assert!(commands >= RESP3_SEEDS as usize * COMMANDS_PER_SEED, "fewer commands than generated: {commands}");
    assert_eq!(violations, 0, "diff-random RESP3: {violations} mismatches with redis-server (see the report above)");
}

/// The generator itself: deterministic per seed, every family and the invalid classes present,
/// MULTI blocks closed, and every line parses as a script line.
#[test]
fn generator_is_deterministic_and_broad() {
    let a = script_for(7, 2000);
    assert_eq!(a, script_for(7, 2000));
    assert_ne!(a, script_for(8, 2000));
    let (lines, errors) = common::script::parse_script(&a);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(lines.len() >= 2000);
    let upper = a.to_uppercase();
    for needle in [
        "\nSET ",
        "\nINCRBYFLOAT ",
        "\nLPUSH ",
        "\nLMOVE ",
        "\nHSET ",
        "\nHINCRBYFLOAT ",
        "\nSADD ",
        "\nSINTERSTORE ",
        "\nZADD ",
        "\nZUNIONSTORE ",
        "\nBITFIELD ",
        "\nBITOP ",
        "\nPFADD ",
        "\nPFMERGE ",
        "\nGEOADD ",
        "\nGEOSEARCHSTORE ",
        "\nGEORADIUS ",
        "\nEXPIRE ",
        "\nRENAME ",
        "\nSELECT ",
        "\nMULTI\n",
        "\nEXEC\n",
        "\nFOOBAR ",
        "@DIGEST",
        "~ SMEMBERS",
        "~2 HGETALL",
        "% RANDOMKEY",
        "\nXADD ",
        "\nXREADGROUP ",
        "\nXCLAIM ",
        "~MS XPENDING",
    ] {
        assert!(upper.contains(needle), "seed 7 never generated {needle:?}");
    }
    let opens = lines.iter().filter(|l| l.text.eq_ignore_ascii_case("multi")).count();
    assert!(opens > 0);
}

/// The memory estimate (INFO's `used_memory`, the RDB's `used-mem`, the `maxmemory` check) is
/// kept up to date by each change instead of walking the dataset per command: after every command
/// of the generated scripts (every family, MULTI, FLUSHALL, SWAPDB, MOVE, COPY, the *STORE
/// commands, CONFIG SET of the encoding limits, short stretches over `maxmemory`), plus TTLs that
/// run out (lazy and active expiry), `DEBUG RELOAD` (an RDB saved and loaded), `DEBUG LOADAOF`
/// and BGREWRITEAOF (a rewrite, then a load of its result), each database's kept figure equals
/// the one computed by walking its keys and values. No redis-server involved.
#[test]
fn kept_memory_estimate_equals_a_walk() {
    use aof_lab::storage::MemoryStorage;
    let cfg = aof_lab::Config { appendonly: true, ..Default::default() };
    for seed in 0..4u64 {
        let mut e = aof_lab::Engine::open(cfg.clone(), Box::new(MemoryStorage::new()), 1_700_000_000_000).map_err(|e| e.lines).unwrap();
        let mut c = e.connect();
        let mut now = 1_700_000_000_000i64;
        let mut g = Gen::new(seed + 1000);
        let script = script_for(seed + 1000, COMMANDS_PER_SEED);
        let check = |e: &aof_lab::Engine, at: &str| {
            for db in &e.srv.dbs {
                assert_eq!(db.mem(), db.mem_walk(), "seed {seed}, db {} after {at}", db.id);
            }
            let walked: u64 = e.srv.dbs.iter().map(|d| d.mem_walk()).sum();
            assert_eq!(e.srv.dataset_memory(), walked, "seed {seed} after {at}");
        };
        let (lines, errors) = common::script::parse_script(&script);
        assert!(errors.is_empty(), "{errors:?}");
        let mut replies = [0usize; 2];
        for (i, line) in lines.iter().enumerate() {
            let common::script::Item::Command { argv, .. } = &line.item else { continue };
            let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            now += 7;
            match e.execute(c, &argv, now) {
                Some(aof_lab::Reply::Error(_)) => replies[1] += 1,
                Some(_) => replies[0] += 1,
                // Blocked (or a closed connection): go on with a new client.
                None => c = e.connect(),
            }
            e.before_sleep(now);
            check(&e, &line.text);
            match i % 97 {
                // Short TTLs on a few keys, then time passes: lazy and active expiry delete them.
                10 => {
                    for fam in FAMILIES {
                        let k = g.key(fam);
                        e.execute_line(c, &format!("PEXPIRE {k} {}", g.rng.u32(1..400)), now);
                    }
                    check(&e, "PEXPIRE");
                }
                // Changes in place that the generator makes rarely (its LSET indexes are mostly
                // out of range): each must adjust the figure by exactly the value's change.
                20 | 70 => {
                    let v = g.value();
                    let (l, h, s, z, x) = (g.key("list"), g.key("hash"), g.key("str"), g.key("zset"), g.key("stream"));
                    for line in [
                        format!("LSET {l} 0 {v}{v}"),
                        format!("LSET {l} -1 x"),
                        format!("HSET {h} f1 {v}"),
                        format!("HSET {h} f1 {v}{v}{v}"),
                        format!("HINCRBYFLOAT {h} n 1.5"),
                        format!("APPEND {s} {v}"),
                        format!("SETRANGE {s} 3 {v}"),
                        format!("INCRBYFLOAT {s} 2"),
                        format!("ZINCRBY {z} 2 m1"),
                        format!("LINSERT {l} BEFORE x {v}"),
                        format!("XADD {x} * f {v}"),
                        format!("XGROUP CREATE {x} g$ $ MKSTREAM"),
                        format!("XGROUP CREATECONSUMER {x} g$ c{v}"),
                        format!("XTRIM {x} MAXLEN 3"),
                    ] {
                        e.execute_line(c, &line, now);
                        check(&e, &line);
                    }
                    // A node holding one entry, then that entry deleted: XDEL removes the node.
                    e.execute_line(c, "CONFIG SET stream-node-max-entries 1", now);
                    if let Some(aof_lab::Reply::Bulk(id)) = e.execute_line(c, &format!("XADD {x} * f {v}"), now) {
                        let line = format!("XDEL {x} {}", String::from_utf8_lossy(&id));
                        assert_eq!(e.execute_line(c, &line, now), Some(aof_lab::Reply::Int(1)));
                        check(&e, &line);
                    }
                    e.execute_line(c, "CONFIG SET stream-node-max-entries 100", now);
                }
                40 => {
                    now += 300;
                    e.cron(now);
                    check(&e, "cron");
                }
                60 if i % 3 == 0 => {
                    e.execute_line(c, "DEBUG RELOAD", now);
                    check(&e, "DEBUG RELOAD");
                }
                60 if i % 3 == 1 => {
                    e.execute_line(c, "DEBUG LOADAOF", now);
                    check(&e, "DEBUG LOADAOF");
                }
                60 => {
                    e.execute_line(c, "BGREWRITEAOF", now);
                    for _ in 0..5 {
                        now += 100;
                        e.cron(now);
                    }
                    e.execute_line(c, "DEBUG LOADAOF", now);
                    check(&e, "BGREWRITEAOF + DEBUG LOADAOF");
                }
                _ => {}
            }
        }
        // The INFO figure is this one (plus the startup figure and the AOF buffers).
        let Some(aof_lab::Reply::Verbatim(_, info)) = e.execute_line(c, "INFO memory", now) else { panic!("INFO") };
        let info = String::from_utf8(info).unwrap();
        let used: u64 = info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
        assert_eq!(used, e.srv.used_memory());
        assert!(e.srv.dataset_memory() > 0, "seed {seed}: the script left an empty dataset");
        assert!(replies[0] > COMMANDS_PER_SEED / 2, "seed {seed}: {replies:?} (ok, error) replies");
    }
}
