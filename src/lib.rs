//! # AOF Lab
//!
//! Redis 7.0's append-only-file persistence, re-implemented so that it can be watched. The same
//! core runs natively (`aof-lab serve`, `aof-lab check`), in `cargo test`, and in a browser worker
//! compiled to WebAssembly.
//!
//! A map from each Redis concept to its module:
//!
//! | Redis                                   | here                         |
//! |-----------------------------------------|------------------------------|
//! | RESP, `processMultibulkBuffer`          | [`resp`]                     |
//! | `redisDb`, `robj` types, expiry         | [`keyspace`]                 |
//! | the `server` global, `expireIfNeeded`   | [`server`]                   |
//! | command table, `processCommand`, `call` | [`cmd`]                      |
//! | `bitops.c`                              | [`cmd::bitops`]              |
//! | `hyperloglog.c`                         | [`cmd::hll`]                 |
//! | `geo.c`, `geohash.c`, `geohash_helper.c`| [`cmd::geo`]                 |
//! | `feedAppendOnlyFile`                    | [`aof::feed`]                |
//! | `flushAppendOnlyFile`, bio fsync        | [`aof::flush`]               |
//! | the multi-part manifest                 | [`aof::manifest`]            |
//! | `loadAppendOnlyFiles`                   | [`aof::load`]                |
//! | `redis-check-aof`                       | [`aof::check`]               |
//! | a byte-level dump (`aof-lab inspect`)   | [`aof::inspect`]             |
//! | start-up, `DEBUG LOADAOF`               | [`aof`]                      |
//! | `ustime()` around a load                | [`load_time`]                |
//! | `rdb.c` (the empty base, CRC-64)        | [`rdb`]                      |
//! | `redisFork`: the BGSAVE / rewrite child | [`child`]                    |
//! | the disk, page cache and crashes        | [`storage`]                  |
//! | crash points between storage operations | [`crashlab`]                 |
//! | `beforeSleep`, `serverCron`, clients    | [`engine`]                   |
//! | `DEBUG DIGEST`                          | [`keyspace::digest`]         |
//! | `t_stream.c`, `stream.h` (the value)    | [`keyspace::stream`]         |
//! | the stream commands                     | [`cmd::stream`]              |
//! | redis.conf settings                     | [`config`]                   |
//! | `acl.c`: users, permissions, ACL LOG    | [`acl`]                      |
//!
//! The core is sans-IO: every call takes `now_ms`, nothing reads a clock or touches a file
//! directly, so the same inputs always give the same replies and the same bytes (which is what
//! the lab's timeline, [`lab::timeline`], replays to go back in time). The one clock it may be
//! lent is the host's, to say how long a load took ([`load_time`]).

// No unsafe code in the engine, on any host: the few libc calls of the native binary (signals,
// sockets, localtime) live in `src/cli/`, outside the library.
#![forbid(unsafe_code)]

pub mod acl;
pub mod aof;
pub mod archive;
pub mod child;
pub mod cmd;
pub mod config;
pub mod crashlab;
pub mod engine;
pub mod fuzzing;
pub mod keyspace;
pub mod lab;
pub mod load_time;
pub mod rdb;
pub mod reply;
pub mod resp;
pub mod server;
pub mod storage;
pub mod util;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use config::{AppendFsync, Config};
pub use engine::{Engine, StartError};
pub use reply::Reply;
