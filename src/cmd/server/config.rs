//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP, over the parameter table of `crate::config`.
//!
//! GET takes several patterns in one call (7.0) and answers each name once, in table order
//! (Redis answers in hash-table order: compare order-insensitively). SET takes several pairs and
//! is atomic. The parsing, validation and error wording live in `Config::set_many`.

use super::{ADMIN_LS, LS, help_reply};
use crate::cmd::{Command, Group};
use crate::reply::Reply;
use crate::server::{Ctx, Stats};

pub static SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.0.0",
        summary: "Get the values of configuration parameters",
        ..Command::new("get", -3, ADMIN_LS, (0, 0, 0), Group::Server, config_get)
    },
    Command {
        since: "2.0.0",
        summary: "Set configuration parameters to the given values",
        ..Command::new("set", -4, ADMIN_LS, (0, 0, 0), Group::Server, config_set)
    },
    Command {
        since: "2.0.0",
        summary: "Reset the stats returned by INFO",
        ..Command::new("resetstat", 2, ADMIN_LS, (0, 0, 0), Group::Server, config_resetstat)
    },
    Command {
        since: "2.8.0",
        summary: "Rewrite the configuration file with the in memory configuration",
        ..Command::new("rewrite", 2, ADMIN_LS, (0, 0, 0), Group::Server, config_rewrite)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LS, (0, 0, 0), Group::Server, help)
    },
];

const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

pub(super) fn help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("CONFIG", HELP)
}

/// A map of the matching parameters (`addReplyMapLen`).
fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let pairs = ctx.srv.config.get_matching(&argv[2..]);
    Reply::Map(pairs.into_iter().map(|(name, value)| (Reply::Bulk(name), Reply::Bulk(value.into_bytes()))).collect())
}

/// The canonical names a successful CONFIG SET changed, for side effects (the AOF module hooks
/// `appendonly` here).
pub type Changed = Vec<&'static str>;

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    // Pairs only: `CONFIG SET a 1 b` is a syntax error, not an arity error.
    if !argv.len().is_multiple_of(2) {
        return Reply::syntax();
    }
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
    // A password's value never reaches SLOWLOG, even when the command fails.
    for (i, (name, _)) in pairs.iter().enumerate() {
        if crate::config::table::lookup(name).is_some_and(|e| e.param.flags & crate::config::table::SENSITIVE != 0) {
            ctx.redact_argument(2 + i * 2 + 1);
        }
    }
    let loading = ctx.srv.loading;
    match ctx.srv.config.set_many(&pairs, loading) {
        Ok(changed) => match apply(ctx, &changed) {
            Ok(()) => {
                ctx.srv.diag.configure(&ctx.srv.config);
                Reply::ok()
            }
            Err(e) => Reply::error(e),
        },
        Err(e) => Reply::error(e),
    }
}

/// The `apply` functions of the parameters the engine acts on at once: `appendonly` starts or
/// stops the AOF (`updateAppendonly`); `aof-disable-auto-gc no` deletes the history files kept
/// while it was on (`updateAofAutoGCEnabled`).
fn apply(ctx: &mut Ctx, changed: &Changed) -> Result<(), String> {
    use crate::server::AofState;
    if changed.contains(&"appendonly") {
        let want = ctx.srv.config.appendonly;
        if want && ctx.srv.aof_state == AofState::Off {
            if !ctx.srv.start_append_only(ctx.client.in_exec) {
                ctx.srv.config.appendonly = false;
                return Err(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.".into(),
                );
            }
        } else if !want && ctx.srv.aof_state != AofState::Off {
            ctx.srv.stop_append_only();
        }
    }
    // updateRequirePass: the password is the default user's (ACLUpdateDefaultUserPassword).
    if changed.contains(&"requirepass") {
        ctx.srv.acl.update_default_password(&ctx.srv.config.requirepass);
    }
    if changed.contains(&"aof-disable-auto-gc") {
        ctx.srv.aof_del_history_files();
    }
    // AOF Lab's slow disk: the next background fsync takes this long.
    if changed.contains(&"lab-fsync-latency-ms") {
        ctx.srv.aof.fsync_latency_ms = ctx.srv.config.lab_fsync_latency_ms;
    }
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    // resetServerStats: the counters since boot; connected clients and keys are state, not stats.
    // Stats holds the per-command ones too (resetCommandTableStats).
    ctx.srv.stats = Stats::default();
    ctx.srv.expire.reset_stats();
    Reply::ok()
}

fn config_rewrite(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::err("ERR The server is running without a config file")
}
