//! XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM and XSETID: entries in, entries out.

use super::{id_reply, lookup_read, lookup_write, node_limits, parse_end, parse_start, parse_strict_id, parse_xadd_id, range_reply};
use crate::cmd::args::{int, is};
use crate::keyspace::Value;
use crate::keyspace::stream::{AppendError, Stream, StreamId, TrimArgs, TrimStrategy};
use crate::reply::{self, Reply};
use crate::server::Ctx;

/// `streamAddTrimArgs`: what XADD and XTRIM parsed.
struct AddTrimArgs {
    id: StreamId,
    id_given: bool,
    seq_given: bool,
    no_mkstream: bool,
    trim: TrimArgs,
    /// Where the MAXLEN / MINID argument is, to rewrite it for propagation.
    trim_arg_idx: usize,
    /// Where the ID is (XADD), or `argc` when none was found.
    idpos: usize,
}

/// `streamParseAddOrTrimArgsOrReply`.
fn parse_add_or_trim(ctx: &Ctx, argv: &[&[u8]], xadd: bool) -> Result<AddTrimArgs, Reply> {
    let mut a = AddTrimArgs {
        id: StreamId::MIN,
        id_given: false,
        seq_given: false,
        no_mkstream: false,
        trim: TrimArgs { strategy: TrimStrategy::None, approx: false, limit: 0 },
        trim_arg_idx: 0,
        idpos: argv.len(),
    };
    let argc = argv.len();
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let moreargs = argc - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break; // the common case of an auto-generated ID
        } else if (is(opt, "maxlen") || is(opt, "minid")) && moreargs > 0 {
            if a.trim.strategy != TrimStrategy::None {
                return Err(Reply::err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible"));
            }
            a.trim.approx = false;
            let next = argv[i + 1];
            if moreargs >= 2 && next == b"~" {
                a.trim.approx = true;
                i += 1;
            } else if moreargs >= 2 && next == b"=" {
                i += 1;
            }
            a.trim.strategy = if is(opt, "maxlen") {
                let maxlen = int(argv[i + 1])?;
                if maxlen < 0 {
                    return Err(Reply::err("ERR The MAXLEN argument must be >= 0."));
                }
                TrimStrategy::MaxLen(maxlen as u64)
            } else {
                TrimStrategy::MinId(parse_strict_id(argv[i + 1])?)
            };
            i += 1;
            a.trim_arg_idx = i;
        } else if is(opt, "limit") && moreargs > 0 {
            // Without LIMIT, `~` gets 100 × stream-node-max-entries (see below); exact trimming
            // never has one.
            a.trim.limit = int(argv[i + 1])?;
            if a.trim.limit < 0 {
                return Err(Reply::err("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            // Either the ID or a syntax error, reported as an invalid ID.
            let (id, seq_given) = parse_xadd_id(opt)?;
            a.id = id;
            a.seq_given = seq_given;
            a.id_given = true;
            break;
        } else {
            return Err(Reply::syntax());
        }
        i += 1;
    }
    a.idpos = i;
    if a.trim.limit != 0 && a.trim.strategy == TrimStrategy::None {
        return Err(Reply::err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && a.trim.strategy == TrimStrategy::None {
        return Err(Reply::err("ERR syntax error, XTRIM must be called with a trimming strategy"));
    }
    if ctx.srv.loading {
        // mustObeyClient: the AOF holds the exact result (MAXLEN = n), never a limit.
        a.trim.limit = 0;
    } else if limit_given {
        if !a.trim.approx {
            return Err(Reply::err("ERR syntax error, LIMIT cannot be used without the special ~ option"));
        }
    } else if a.trim.approx {
        a.trim.limit = ctx.srv.config.stream_node_max_entries.wrapping_mul(100);
        if a.trim.limit <= 0 {
            a.trim.limit = 10000;
        }
        if a.trim.limit > 1_000_000 {
            a.trim.limit = 1_000_000;
        }
    } else {
        a.trim.limit = 0;
    }
    Ok(a)
}

/// `streamRewriteApproxSpecifier` + `streamRewriteTrimArgument`: `~ x` becomes `= <result>`.
fn rewrite_approx_trim(argv: &mut [Vec<u8>], s: &Stream, strategy: TrimStrategy, idx: usize) {
    argv[idx - 1] = b"=".to_vec();
    argv[idx] = match strategy {
        TrimStrategy::MaxLen(_) => s.length.to_string().into_bytes(),
        _ => s.edge_id(true, false).to_string().into_bytes(),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value …
pub fn xadd(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = match parse_add_or_trim(ctx, argv, true) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let field_pos = a.idpos + 1;
    let nargs = argv.len() as i64 - field_pos as i64;
    if nargs < 2 || nargs % 2 == 1 {
        return Reply::wrong_arity("xadd");
    }
    // 0-0 is refused before a stream could be created for nothing.
    if a.id_given && a.seq_given && a.id.is_zero() {
        return Reply::err("ERR The ID specified in XADD must be greater than 0-0");
    }
    let key = argv[1];
    let limits = node_limits(ctx);
    let now = ctx.now_ms();
    match lookup_write(ctx, key) {
        Err(e) => return e,
        Ok(Some(_)) => {}
        Ok(None) if a.no_mkstream => return Reply::Nil,
        Ok(None) => ctx.db_add(key, Value::Stream(Box::default())),
    }
    let Ok(Some(s)) = lookup_write(ctx, key) else { return Reply::Nil };
    if s.last_id == StreamId::MAX {
        return Reply::err("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let use_id = a.id_given.then_some(a.id);
    let id = match s.append_item(&argv[field_pos..], use_id, a.seq_given, now, limits) {
        Ok(id) => id,
        Err(AppendError::NotGreater) => {
            return Reply::err("ERR The ID specified in XADD is equal or smaller than the target stream top item");
        }
        Err(AppendError::TooLarge) => return Reply::err("ERR Elements are too large to be stored"),
    };
    let mut rewritten: Option<Vec<Vec<u8>>> = None;
    if a.trim.strategy != TrimStrategy::None {
        s.trim(&a.trim);
        if a.trim.approx {
            let mut v: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
            rewrite_approx_trim(&mut v, s, a.trim.strategy, a.trim_arg_idx);
            rewritten = Some(v);
        }
    }
    // The ID actually generated is what replicas and the AOF must use.
    if !a.id_given || !a.seq_given {
        let v = rewritten.get_or_insert_with(|| argv.iter().map(|x| x.to_vec()).collect());
        v[a.idpos] = id.to_string().into_bytes();
    }
    ctx.signal_modified(key);
    ctx.dirty(1);
    if let Some(v) = rewritten {
        ctx.rewrite_argv(&v);
    }
    let db = ctx.db_id();
    ctx.srv.signal_key_as_ready(db, key);
    id_reply(id)
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let a = match parse_add_or_trim(ctx, argv, false) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let s = match lookup_write(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(s)) => s,
    };
    let deleted = s.trim(&a.trim);
    if deleted != 0 {
        if a.trim.approx {
            let mut v: Vec<Vec<u8>> = argv.iter().map(|x| x.to_vec()).collect();
            rewrite_approx_trim(&mut v, s, a.trim.strategy, a.trim_arg_idx);
            ctx.rewrite_argv(&v);
        }
        ctx.signal_modified(argv[1]);
        ctx.dirty(deleted as u64);
    }
    Reply::Int(deleted)
}

fn xrange_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) -> Reply {
    let (start_arg, end_arg) = if rev { (argv[3], argv[2]) } else { (argv[2], argv[3]) };
    let start = match parse_start(start_arg) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let end = match parse_end(end_arg) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"COUNT") && j + 1 < argv.len() {
            count = match int(argv[j + 1]) {
                Ok(n) => n.max(0),
                Err(e) => return e,
            };
            j += 1;
        } else {
            return Reply::syntax();
        }
        j += 1;
    }
    let s = match lookup_read(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Array(vec![]),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        return Reply::NilArray;
    }
    let count = if count == -1 { 0 } else { super::count_arg(count) };
    Reply::Array(range_reply(s, Some(start), Some(end), count, rev))
}

/// XRANGE key start end [COUNT count]
pub fn xrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    xrange_generic(ctx, argv, false)
}

/// XREVRANGE key end start [COUNT count]
pub fn xrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    xrange_generic(ctx, argv, true)
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    match lookup_read(ctx, argv[1]) {
        Err(e) => e,
        Ok(None) => Reply::Int(0),
        Ok(Some(s)) => Reply::Int(s.length as i64),
    }
}

/// XDEL key id [id …]: the key is looked up before the IDs are checked.
pub fn xdel(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let s = match lookup_write(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Int(0),
        Ok(Some(s)) => s,
    };
    let mut ids = Vec::with_capacity(argv.len() - 2);
    for a in &argv[2..] {
        match parse_strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    let mut deleted = 0u64;
    let mut first_entry = false;
    for id in ids {
        if s.delete_item(id) {
            if id == s.first_id {
                first_entry = true;
            }
            if id > s.max_deleted_entry_id {
                s.max_deleted_entry_id = id;
            }
            deleted += 1;
        }
    }
    if deleted != 0 {
        if s.length == 0 {
            s.first_id = StreamId::MIN;
        } else if first_entry {
            s.first_id = s.edge_id(true, true);
        }
        ctx.signal_modified(argv[1]);
        ctx.dirty(deleted);
    }
    Reply::Int(deleted as i64)
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub fn xsetid(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let id = match parse_strict_id(argv[2]) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let moreargs = argv.len() - 1 - i;
        if is(argv[i], "entriesadded") && moreargs > 0 {
            entries_added = match int(argv[i + 1]) {
                Ok(n) if n < 0 => return Reply::err("ERR entries_added must be positive"),
                Ok(n) => n,
                Err(e) => return e,
            };
            i += 2;
        } else if is(argv[i], "maxdeletedid") && moreargs > 0 {
            max_xdel = match parse_strict_id(argv[i + 1]) {
                Ok(m) if id < m => return Reply::err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"),
                Ok(m) => m,
                Err(e) => return e,
            };
            i += 2;
        } else {
            return Reply::syntax();
        }
    }
    let s = match lookup_write(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::err(reply::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if s.length > 0 {
        if id < s.last_valid_id() {
            return Reply::err("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if entries_added != -1 && s.length > entries_added as u64 {
            return Reply::err("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_entry_id = max_xdel;
    }
    // No signalModifiedKey here in 7.0.15: a WATCH does not see XSETID.
    ctx.dirty(1);
    Reply::ok()
}
