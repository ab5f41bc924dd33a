//! INFO: the sections and field names of Redis 7.0.15, CRLF line endings, `# Section` headers,
//! sections separated by an empty line, and the same argument rules (`default`, `all`,
//! `everything`, several sections per call, unknown names ignored).
//!
//! Compared with Redis: the values the engine cannot know are zeros or approximations. Memory
//! figures are the engine's estimate (`Server::used_memory`: the values' sizes kept up to date
//! by the keyspace, see `crate::keyspace`, plus a fixed startup overhead and the AOF buffers);
//! CPU and network figures are 0; `total_forks` counts the simulated children and the CoW
//! figures are the simulated ones (see `crate::child`). `Errorstats` counts every error reply by
//! its code ([`Server::count_error_reply`]); `Commandstats` and `Latencystats` are Redis's
//! ([`super::stats`]), their times 0 µs unless the host lends a clock.

use std::collections::HashSet;
use std::fmt::Write;

use sha1::{Digest, Sha1};

use crate::reply::Reply;
use crate::server::{AofState, Ctx, Server};

/// `used_memory_startup` of a fresh 7.0.15: what the server uses with an empty dataset.
pub const STARTUP_MEMORY: u64 = 876_312;

const DEFAULT_SECTIONS: &[&str] =
    &["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "module_list", "errorstats", "cluster", "keyspace"];

pub(super) fn info(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // addReplyVerbatim(…, "txt"): a bulk string over RESP2.
    Reply::Verbatim("txt".into(), gen_info_string(ctx.srv, &argv[1..]).into_bytes())
}

/// `genRedisInfoString` for the sections named in `args` (none: the default ones).
pub fn gen_info_string(srv: &Server, args: &[&[u8]]) -> String {
    let mut sections: HashSet<String> = HashSet::new();
    let mut all = false;
    if args.is_empty() {
        sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" => sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            "all" | "everything" => all = true,
            _ => {
                sections.insert(a);
            }
        }
    }
    let wanted = |name: &str| all || sections.contains(name);
    let generators: [(&str, bool, Section); 13] = [
        ("Server", wanted("server"), server),
        ("Clients", wanted("clients"), clients),
        ("Memory", wanted("memory"), memory),
        ("Persistence", wanted("persistence"), persistence),
        ("Stats", wanted("stats"), stats),
        ("Replication", wanted("replication"), replication),
        ("CPU", wanted("cpu"), cpu),
        ("Modules", wanted("module_list") || wanted("modules"), |_, _| {}),
        ("Commandstats", wanted("commandstats"), super::stats::info_commandstats),
        ("Errorstats", wanted("errorstats"), errorstats),
        ("Latencystats", wanted("latencystats"), super::stats::info_latencystats),
        ("Cluster", wanted("cluster"), |_, out| line(out, "cluster_enabled", 0)),
        ("Keyspace", wanted("keyspace"), keyspace),
    ];
    let mut out = String::new();
    for (title, on, generate) in generators {
        if !on {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
        generate(srv, &mut out);
    }
    out
}

/// Writes a section's `field:value` lines.
type Section = fn(&Server, &mut String);

fn line(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

/// A stable 40-hex-digit id (run_id, replid) derived from the start time.
fn hex_id(srv: &Server, salt: &str) -> String {
    let d = Sha1::new().chain_update(salt).chain_update(srv.start_ms.to_be_bytes()).finalize();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn process_id() -> u32 {
    #[cfg(not(target_arch = "wasm32"))]
    return std::process::id();
    #[cfg(target_arch = "wasm32")]
    return 0;
}

fn server(srv: &Server, out: &mut String) {
    let uptime = (srv.now_ms - srv.start_ms).max(0) / 1000;
    line(out, "redis_version", "7.0.15");
    line(out, "redis_git_sha1", "00000000");
    line(out, "redis_git_dirty", 0);
    line(out, "redis_build_id", "aof-lab");
    line(out, "redis_mode", "standalone");
    line(out, "os", format_args!("{} {}", std::env::consts::OS, std::env::consts::ARCH));
    line(out, "arch_bits", usize::BITS);
    line(out, "monotonic_clock", "host clock (now_ms)");
    line(out, "multiplexing_api", "none");
    line(out, "atomicvar_api", "none");
    line(out, "gcc_version", "0.0.0");
    line(out, "process_id", process_id());
    line(out, "process_supervised", "no");
    line(out, "run_id", hex_id(srv, "run_id"));
    line(out, "tcp_port", srv.config.port);
    line(out, "server_time_usec", srv.now_ms * 1000);
    line(out, "uptime_in_seconds", uptime);
    line(out, "uptime_in_days", uptime / 86400);
    line(out, "hz", srv.config.hz);
    line(out, "configured_hz", srv.config.hz);
    line(out, "lru_clock", (srv.now_ms / 1000) & ((1 << 24) - 1));
    line(out, "executable", "");
    line(out, "config_file", "");
    line(out, "io_threads_active", 0);
}

fn blocked_clients(srv: &Server) -> usize {
    srv.blocking_keys.values().flatten().collect::<HashSet<_>>().len()
}

fn clients(srv: &Server, out: &mut String) {
    line(out, "connected_clients", srv.connected_clients);
    line(out, "cluster_connections", 0);
    line(out, "maxclients", srv.config.get("maxclients").unwrap_or_default());
    line(out, "client_recent_max_input_buffer", 0);
    line(out, "client_recent_max_output_buffer", 0);
    line(out, "blocked_clients", blocked_clients(srv));
    line(out, "tracking_clients", srv.diag.tracking_clients);
    line(out, "clients_in_timeout_table", blocked_clients(srv));
}

/// `bytesToHuman`.
fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [(1 << 10, "K"), (1 << 20, "M"), (1 << 30, "G"), (1 << 40, "T"), (1 << 50, "P")];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (size, unit)) in UNITS.iter().enumerate() {
        if UNITS.get(i + 1).is_none_or(|(next, _)| n < *next) {
            return format!("{:.2}{unit}", n as f64 / *size as f64);
        }
    }
    format!("{n}B")
}

fn memory(srv: &Server, out: &mut String) {
    // 6.2 counts the rewrite buffer in mem_aof_buffer too.
    let aof_buf = srv.mem_not_counted_for_evict();
    let dataset = srv.dataset_memory();
    let used = srv.used_memory();
    let overhead = STARTUP_MEMORY + aof_buf;
    let perc = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
    line(out, "used_memory", used);
    line(out, "used_memory_human", human(used));
    line(out, "used_memory_rss", used);
    line(out, "used_memory_rss_human", human(used));
    line(out, "used_memory_peak", used);
    line(out, "used_memory_peak_human", human(used));
    line(out, "used_memory_peak_perc", "100.00%");
    line(out, "used_memory_overhead", overhead);
    line(out, "used_memory_startup", STARTUP_MEMORY);
    line(out, "used_memory_dataset", dataset);
    line(out, "used_memory_dataset_perc", format_args!("{:.2}%", perc(dataset, used - STARTUP_MEMORY)));
    line(out, "allocator_allocated", used);
    line(out, "allocator_active", used);
    line(out, "allocator_resident", used);
    line(out, "total_system_memory", 0);
    line(out, "total_system_memory_human", "0B");
    line(out, "used_memory_lua", 0);
    line(out, "used_memory_vm_eval", 0);
    line(out, "used_memory_lua_human", "0B");
    line(out, "used_memory_scripts_eval", 0);
    line(out, "number_of_cached_scripts", srv.scripting.scripts.len());
    line(out, "number_of_functions", srv.scripting.functions.function_count());
    line(out, "number_of_libraries", srv.scripting.functions.libraries.len());
    line(out, "used_memory_vm_functions", 0);
    line(out, "used_memory_vm_total", 0);
    line(out, "used_memory_vm_total_human", "0B");
    line(out, "used_memory_functions", 0);
    line(out, "used_memory_scripts", 0);
    line(out, "used_memory_scripts_human", "0B");
    line(out, "maxmemory", srv.config.maxmemory);
    line(out, "maxmemory_human", human(srv.config.maxmemory));
    line(out, "maxmemory_policy", srv.config.maxmemory_policy);
    line(out, "allocator_frag_ratio", "1.00");
    line(out, "allocator_frag_bytes", 0);
    line(out, "allocator_rss_ratio", "1.00");
    line(out, "allocator_rss_bytes", 0);
    line(out, "rss_overhead_ratio", "1.00");
    line(out, "rss_overhead_bytes", 0);
    line(out, "mem_fragmentation_ratio", "1.00");
    line(out, "mem_fragmentation_bytes", 0);
    line(out, "mem_not_counted_for_evict", aof_buf);
    line(out, "mem_replication_backlog", 0);
    line(out, "mem_total_replication_buffers", 0);
    line(out, "mem_clients_slaves", 0);
    line(out, "mem_clients_normal", 0);
    line(out, "mem_cluster_links", 0);
    line(out, "mem_aof_buffer", aof_buf);
    line(out, "mem_allocator", "rust");
    line(out, "active_defrag_running", 0);
    line(out, "lazyfree_pending_objects", 0);
    line(out, "lazyfreed_objects", 0);
}

/// The always-present fields of REDIS-AOF.md §8, then the `appendonly yes` ones.
fn persistence(srv: &Server, out: &mut String) {
    line(out, "loading", u8::from(srv.loading));
    line(out, "async_loading", 0);
    // The simulated CoW only grows while the child runs: its peak is its current size.
    // The running child, rewrite or save. The simulated CoW only grows while it runs: its
    // peak is its current size.
    let child = srv.active_child();
    let cow = child.map_or(0, |c| c.cow_bytes());
    line(out, "current_cow_peak", cow);
    line(out, "current_cow_size", cow);
    line(out, "current_cow_size_age", 0);
    line(out, "current_fork_perc", format_args!("{:.2}", child.map_or(0.0, |c| c.progress_perc())));
    line(out, "current_save_keys_processed", child.map_or(0, |c| c.writer.keys_processed));
    line(out, "current_save_keys_total", child.map_or(0, |c| c.keys_total));
    line(out, "rdb_changes_since_last_save", srv.dirty);
    line(out, "rdb_bgsave_in_progress", u8::from(srv.rdb.child.is_some()));
    line(out, "rdb_last_save_time", srv.rdb.lastsave);
    line(out, "rdb_last_bgsave_status", if srv.rdb.lastbgsave_ok { "ok" } else { "err" });
    line(out, "rdb_last_bgsave_time_sec", srv.rdb.save_time_last);
    line(out, "rdb_current_bgsave_time_sec", srv.rdb.child.as_ref().map_or(-1, |c| (srv.now_ms - c.started_ms).div_euclid(1000)));
    line(out, "rdb_saves", srv.rdb.saves);
    line(out, "rdb_last_cow_size", srv.rdb.last_cow_size);
    line(out, "rdb_last_load_keys_expired", srv.rdb.last_load_keys_expired);
    line(out, "rdb_last_load_keys_loaded", srv.rdb.last_load_keys_loaded);
    line(out, "aof_enabled", u8::from(srv.aof_state != AofState::Off));
    line(out, "aof_rewrite_in_progress", u8::from(srv.aof.child.is_some()));
    line(out, "aof_rewrite_scheduled", u8::from(srv.aof.rewrite_scheduled));
    line(out, "aof_last_rewrite_time_sec", srv.aof.last_rewrite_time_sec.unwrap_or(-1));
    line(out, "aof_current_rewrite_time_sec", srv.aof.child.as_ref().map_or(-1, |c| (srv.now_ms - c.started_ms) / 1000));
    line(out, "aof_last_bgrewrite_status", if srv.aof.last_bgrewrite_failed { "err" } else { "ok" });
    // 6.2 (lab-aof-mode 6.2) has neither counter: no failure limit there.
    if !srv.config.aof_legacy {
        line(out, "aof_rewrites", srv.aof.rewrites);
        line(out, "aof_rewrites_consecutive_failures", srv.aof.consecutive_failures);
    }
    line(out, "aof_last_write_status", if srv.aof.write_status_ok() { "ok" } else { "err" });
    line(out, "aof_last_cow_size", srv.aof.last_cow_size);
    line(out, "module_fork_in_progress", 0);
    line(out, "module_fork_last_cow_size", 0);
    if srv.config.appendonly {
        line(out, "aof_current_size", srv.aof.current_size);
        line(out, "aof_base_size", srv.aof.rewrite_base_size);
        line(out, "aof_pending_rewrite", u8::from(srv.aof.rewrite_scheduled));
        line(out, "aof_buffer_length", srv.feed.aof_buf.len());
        if srv.config.aof_legacy {
            line(out, "aof_rewrite_buffer_length", srv.aof_rewrite_buffer_length());
        }
        line(out, "aof_pending_bio_fsync", u8::from(srv.aof.bio_job.is_some()));
        line(out, "aof_delayed_fsync", srv.aof.delayed_fsync);
    }
}

fn stats(srv: &Server, out: &mut String) {
    let s = &srv.stats;
    line(out, "total_connections_received", s.total_connections_received);
    line(out, "total_commands_processed", s.total_commands_processed);
    line(out, "instantaneous_ops_per_sec", 0);
    line(out, "total_net_input_bytes", 0);
    line(out, "total_net_output_bytes", 0);
    line(out, "total_net_repl_input_bytes", 0);
    line(out, "total_net_repl_output_bytes", 0);
    line(out, "instantaneous_input_kbps", "0.00");
    line(out, "instantaneous_output_kbps", "0.00");
    line(out, "instantaneous_input_repl_kbps", "0.00");
    line(out, "instantaneous_output_repl_kbps", "0.00");
    line(out, "rejected_connections", 0);
    line(out, "sync_full", 0);
    line(out, "sync_partial_ok", 0);
    line(out, "sync_partial_err", 0);
    line(out, "expired_keys", s.expired_keys);
    line(out, "expired_stale_perc", format!("{:.2}", srv.expire.stale_perc * 100.0));
    line(out, "expired_time_cap_reached_count", srv.expire.time_cap_reached_count);
    // The cycle's modelled time (see keyspace::expire).
    line(out, "expire_cycle_cpu_milliseconds", srv.expire.time_used_us / 1000);
    line(out, "evicted_keys", 0);
    line(out, "evicted_clients", 0);
    line(out, "total_eviction_exceeded_time", 0);
    line(out, "current_eviction_exceeded_time", 0);
    line(out, "keyspace_hits", s.keyspace_hits);
    line(out, "keyspace_misses", s.keyspace_misses);
    let (channels, patterns, shard_channels) = srv.pubsub.counts();
    line(out, "pubsub_channels", channels);
    line(out, "pubsub_patterns", patterns);
    line(out, "pubsubshard_channels", shard_channels);
    line(out, "latest_fork_usec", 0);
    // Every simulated fork (rewrite or BGSAVE child) takes the next pid.
    line(out, "total_forks", srv.aof.next_pid);
    line(out, "migrate_cached_sockets", 0);
    line(out, "slave_expires_tracked_keys", 0);
    line(out, "active_defrag_hits", 0);
    line(out, "active_defrag_misses", 0);
    line(out, "active_defrag_key_hits", 0);
    line(out, "active_defrag_key_misses", 0);
    line(out, "total_active_defrag_time", 0);
    line(out, "current_active_defrag_time", 0);
    let (keys, items, prefixes) = super::diag::tracking_totals(srv);
    line(out, "tracking_total_keys", keys);
    line(out, "tracking_total_items", items);
    line(out, "tracking_total_prefixes", prefixes);
    line(out, "unexpected_error_replies", 0);
    line(out, "total_error_replies", s.total_error_replies);
    line(out, "dump_payload_sanitizations", 0);
    line(out, "total_reads_processed", s.total_commands_processed);
    line(out, "total_writes_processed", s.total_commands_processed);
    line(out, "io_threaded_reads_processed", 0);
    line(out, "io_threaded_writes_processed", 0);
    line(out, "reply_buffer_shrinks", 0);
    line(out, "reply_buffer_expands", 0);
}

fn replication(srv: &Server, out: &mut String) {
    line(out, "role", "master");
    line(out, "connected_slaves", 0);
    line(out, "master_failover_state", "no-failover");
    line(out, "master_replid", hex_id(srv, "replid"));
    line(out, "master_replid2", "0000000000000000000000000000000000000000");
    line(out, "master_repl_offset", 0);
    line(out, "second_repl_offset", -1);
    line(out, "repl_backlog_active", 0);
    line(out, "repl_backlog_size", srv.config.get("repl-backlog-size").unwrap_or_default());
    line(out, "repl_backlog_first_byte_offset", 0);
    line(out, "repl_backlog_histlen", 0);
}

fn cpu(_srv: &Server, out: &mut String) {
    for key in [
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
    ] {
        line(out, key, "0.000000");
    }
}

/// `db0:keys=1,expires=0,avg_ttl=0` for each non-empty db. `avg_ttl` is the exact mean of the
/// remaining TTLs in ms (Redis keeps a running estimate from its expire cycle's samples).
fn keyspace(srv: &Server, out: &mut String) {
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        let expires = db.expires_len();
        let ttls: Vec<i64> = (0..expires).filter_map(|i| db.expire_at(i)).map(|(_, when)| when - srv.now_ms).filter(|t| *t > 0).collect();
        let avg_ttl = if ttls.is_empty() { 0 } else { ttls.iter().sum::<i64>() / ttls.len() as i64 };
        let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", db.id, db.len(), expires, avg_ttl);
    }
}

/// `errorstat_<code>:count=<n>` in the codes' byte order, `getSafeInfoString`'s `#:\r\n` as `_`.
fn errorstats(srv: &Server, out: &mut String) {
    for (code, n) in &srv.stats.errors {
        let safe: String = code.chars().map(|c| if matches!(c, '#' | ':' | '\r' | '\n') { '_' } else { c }).collect();
        let _ = write!(out, "errorstat_{safe}:count={n}\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn bytes_to_human() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(990_992), "967.77K");
        assert_eq!(human(6_975_488), "6.65M");
        assert_eq!(human(25_276_502_016), "23.54G");
    }
}
