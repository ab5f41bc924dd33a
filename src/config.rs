//! Engine settings, named as in `redis.conf`. CONFIG GET / SET and the `serve` command line use
//! the same table (see `cmd/server.rs`), so a setting has one spelling everywhere.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    /// `write` + `fsync` before any reply of the event-loop turn is sent. A power loss loses
    /// nothing that was acknowledged.
    Always,
    /// `write` every turn, `fsync` in the background at most once a second. A power loss loses
    /// about the last second of writes, up to 2 s when the disk is slow.
    EverySec,
    /// `write` only; the kernel decides when bytes reach the disk. A power loss loses whatever
    /// the kernel had not written back (about 30 s with Linux defaults).
    No,
}

impl AppendFsync {
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::EverySec => "everysec",
            AppendFsync::No => "no",
        }
    }
    pub fn parse(s: &[u8]) -> Option<AppendFsync> {
        match s.to_ascii_lowercase().as_slice() {
            b"always" => Some(AppendFsync::Always),
            b"everysec" => Some(AppendFsync::EverySec),
            b"no" => Some(AppendFsync::No),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub databases: usize,
    pub hz: u32,
    pub appendonly: bool,
    pub appendfsync: AppendFsync,
    pub appendfilename: String,
    pub appenddirname: String,
    pub dir: String,
    pub aof_timestamp_enabled: bool,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: u32,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_rewrite_incremental_fsync: bool,
    pub aof_disable_auto_gc: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_eviction: bool,
    pub proto_max_bulk_len: i64,
    pub maxmemory: u64,
    pub port: u16,
    pub bind: String,
    pub protected_mode: bool,
    pub save: String,
    pub dbfilename: String,
    /// `DEBUG SET-ACTIVE-EXPIRE`: not a real config, but engine state of the same kind.
    pub active_expire_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            databases: 16,
            hz: 10,
            appendonly: false,
            appendfsync: AppendFsync::EverySec,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            dir: ".".into(),
            aof_timestamp_enabled: false,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_rewrite_incremental_fsync: true,
            aof_disable_auto_gc: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_eviction: false,
            proto_max_bulk_len: crate::resp::PROTO_MAX_BULK_LEN,
            maxmemory: 0,
            port: 6379,
            bind: "127.0.0.1".into(),
            protected_mode: true,
            save: "3600 1 300 100 60 10000".into(),
            dbfilename: "dump.rdb".into(),
            active_expire_enabled: true,
        }
    }
}

impl Config {
    /// Sets a parameter from its text form, by its redis.conf name (case-insensitive).
    /// `startup` allows immutable parameters (the `serve` command line, like redis-server's
    /// arguments). The error is the reason Redis would give, without the `ERR` prefix.
    /// (Minimal version: the full table comes with CONFIG GET/SET.)
    pub fn set(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        };
        match name.to_ascii_lowercase().as_str() {
            "appendonly" => self.appendonly = yes_no(value)?,
            "appendfsync" => {
                self.appendfsync =
                    AppendFsync::parse(value.as_bytes()).ok_or("argument(s) must be one of the following: always, everysec, no")?
            }
            "port" if startup => self.port = value.parse().map_err(|_| "argument couldn't be parsed into an integer".to_string())?,
            "bind" if startup => self.bind = value.to_string(),
            "dir" if startup => self.dir = value.to_string(),
            _ => return Err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'")),
        }
        Ok(())
    }

    /// The text form of a parameter, as CONFIG GET prints it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name.to_ascii_lowercase().as_str() {
            "appendonly" => if self.appendonly { "yes" } else { "no" }.to_string(),
            "appendfsync" => self.appendfsync.name().to_string(),
            "port" => self.port.to_string(),
            "bind" => self.bind.clone(),
            "dir" => self.dir.clone(),
            _ => return None,
        })
    }
}
