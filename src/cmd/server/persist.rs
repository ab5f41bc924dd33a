//! SAVE, BGSAVE and LASTSAVE: RDB snapshots on demand (see `rdb::save`). BGREWRITEAOF, their
//! AOF sibling, lives with the other server commands; both share the one-child rule.

use crate::reply::Reply;
use crate::server::Ctx;

/// SAVE: the snapshot in the foreground. Refused while a BGSAVE runs (an AOF rewrite does not
/// stop it: no fork is needed).
pub(super) fn save(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    if ctx.srv.rdb.child.is_some() {
        return Reply::err("ERR Background save already in progress");
    }
    ctx.srv.rdb.saves += 1;
    match ctx.srv.rdb_save() {
        Ok(()) => Reply::ok(),
        Err(_) => Reply::err("ERR"),
    }
}

/// BGSAVE [SCHEDULE].
pub(super) fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let schedule = match argv {
        [_] => false,
        [_, opt] if opt.eq_ignore_ascii_case(b"schedule") => true,
        _ => return Reply::syntax(),
    };
    if ctx.srv.rdb.child.is_some() {
        Reply::err("ERR Background save already in progress")
    } else if ctx.srv.has_active_child() || ctx.client.in_exec {
        if schedule || ctx.client.in_exec {
            ctx.srv.rdb.bgsave_scheduled = true;
            Reply::status("Background saving scheduled")
        } else {
            Reply::err(
                "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            )
        }
    } else if ctx.srv.rdb_save_background() {
        Reply::status("Background saving started")
    } else {
        Reply::err("ERR")
    }
}

/// LASTSAVE: unix time of the last successful save (the start counts as one).
pub(super) fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(ctx.srv.rdb.lastsave)
}
