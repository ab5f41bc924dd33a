//! Shared code of the differential tests: a real redis-server launcher and client
//! ([`redis`]), the script format and comparison rules ([`script`]), and the lockstep runner
//! ([`runner`]).
#![allow(dead_code)]

pub mod redis;
pub mod runner;
pub mod script;

/// The engine's config for the same `--name value` arguments a real redis-server is started
/// with (`RedisServer::start_in`), so that both sides of a comparison run the same settings.
pub fn config_from_args(args: &[&str]) -> aof_lab::Config {
    let mut cfg = aof_lab::Config::default();
    for pair in args.chunks(2) {
        let (name, value) = (pair[0].trim_start_matches("--"), pair.get(1).copied().unwrap_or(""));
        cfg.set(name, value, true).unwrap_or_else(|e| panic!("--{name} {value}: {e}"));
    }
    cfg
}

/// Copies a data directory (one level of subdirectories, `appendonlydir/`), leaving out a
/// server's own `redis.log`.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(entry.file_name()));
        } else if entry.file_name() != "redis.log" {
            std::fs::copy(&p, to.join(entry.file_name())).unwrap();
        }
    }
}
