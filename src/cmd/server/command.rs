//! COMMAND, COMMAND INFO / DOCS / COUNT / LIST / GETKEYS / GETKEYSANDFLAGS / HELP.
//!
//! The engine's table decides *which* commands and subcommands exist; what is said about each
//! one (flags, ACL categories, tips, key specs, documentation) comes from the metadata recorded
//! from the real server ([`super::meta`]), so the replies have 7.0's exact shapes: redis-cli
//! builds its hints from `COMMAND DOCS`. A command without recorded metadata is described from
//! the table alone.
//!
//! Key extraction (GETKEYS) follows `getKeysUsingKeySpecs`, with the two `getkeys_proc`s the
//! implemented families need: SET (whose key flags depend on GET) and SORT (whose STORE key no
//! spec can find).
//!
//! Compared with Redis: the order of commands (and of subcommands) is the table's, not a
//! hash table's.

use super::meta::{self, Meta};
use super::shapes;
use super::{LS, help_reply};
use crate::cmd::{Command, FLAG_NAMES, Group, MAY_REPLICATE, all_commands, args, lookup, lookup_sub, tables};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::util::{string_match, string2ll};

pub static SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.8.13",
        summary: "Get array of specific Redis command details, or all when no argument is given.",
        ..Command::new("info", -2, LS, (0, 0, 0), Group::Server, command_info)
    },
    Command {
        since: "7.0.0",
        summary: "Get an array of Redis command names",
        ..Command::new("list", -2, LS, (0, 0, 0), Group::Server, command_list)
    },
    Command {
        since: "2.8.13",
        summary: "Get total number of Redis commands",
        ..Command::new("count", 2, LS, (0, 0, 0), Group::Server, command_count)
    },
    Command {
        since: "7.0.0",
        summary: "Get array of specific Redis command documentation",
        ..Command::new("docs", -2, LS, (0, 0, 0), Group::Server, command_docs)
    },
    Command {
        since: "2.8.13",
        summary: "Extract keys given a full Redis command",
        ..Command::new("getkeys", -4, LS, (0, 0, 0), Group::Server, command_getkeys)
    },
    Command {
        since: "7.0.0",
        summary: "Extract keys and access flags given a full Redis command",
        ..Command::new("getkeysandflags", -4, LS, (0, 0, 0), Group::Server, command_getkeysandflags)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LS, (0, 0, 0), Group::Server, help)
    },
];

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

fn help(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    help_reply("COMMAND", HELP)
}

fn full_name(cmd: &Command, parent: Option<&Command>) -> String {
    crate::cmd::full_name(cmd, parent)
}

/// `lookupCommandBySds`: `name` or `container|sub`, case-insensitive.
fn lookup_by_fullname(name: &[u8]) -> Option<(&'static Command, Option<&'static Command>)> {
    let mut parts = name.split(|&c| c == b'|');
    let base = lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some((base, None)),
        (Some(sub), None) => lookup_sub(base, sub).map(|s| (s, Some(base))),
        _ => None,
    }
}

/// COMMAND INFO's ten fields for one command.
fn info_reply(cmd: &'static Command, parent: Option<&'static Command>) -> Reply {
    let name = full_name(cmd, parent);
    let subs = shapes::info_subcommands(cmd.subcommands.iter().map(|s| info_reply(s, Some(cmd))).collect());
    let mut fields = match meta::lookup(&name) {
        Some(m) => shapes::info_fields(m.info.clone()),
        None => vec![
            Reply::bulk(name.as_str()),
            Reply::Int(i64::from(cmd.arity)),
            Reply::Set(
                FLAG_NAMES.iter().filter(|(f, _)| cmd.flags & f != 0 && *f != MAY_REPLICATE).map(|(_, n)| Reply::status(n)).collect(),
            ),
            Reply::Int(i64::from(cmd.first_key)),
            Reply::Int(i64::from(cmd.last_key)),
            Reply::Int(i64::from(cmd.key_step)),
            Reply::Set(acl_categories(cmd).into_iter().map(|c| Reply::Status(c.into())).collect()),
            Reply::Set(vec![]),
            Reply::Set(vec![]),
        ],
    };
    fields.push(subs);
    Reply::Array(fields)
}

/// `setImplicitACLCategories` plus the category of the command's group, in ACL order.
fn acl_categories(cmd: &Command) -> Vec<String> {
    use crate::cmd::{ADMIN, BLOCKING, FAST, PUBSUB, READONLY, WRITE};
    // A container (CONFIG, CLIENT …) has only the implicit categories. Group names map to
    // categories by name ("sorted-set" is @sortedset, "generic" is @keyspace); "server" has none.
    let group = if !cmd.subcommands.is_empty() {
        None
    } else {
        match cmd.group.name() {
            "generic" => Some("keyspace"),
            "sorted-set" => Some("sortedset"),
            "transactions" => Some("transaction"),
            "server" => None,
            other => Some(other),
        }
    };
    let has = |f: u32| cmd.flags & f != 0;
    let order: [(&str, bool); 21] = [
        ("keyspace", group == Some("keyspace")),
        // `setImplicitACLCategories`: scripting commands (EVAL_RO, FCALL_RO) are not @read.
        ("read", has(READONLY) && group != Some("scripting")),
        ("write", has(WRITE)),
        ("set", group == Some("set")),
        ("sortedset", group == Some("sortedset")),
        ("list", group == Some("list")),
        ("hash", group == Some("hash")),
        ("string", group == Some("string")),
        ("bitmap", group == Some("bitmap")),
        ("hyperloglog", group == Some("hyperloglog")),
        ("geo", group == Some("geo")),
        ("stream", group == Some("stream")),
        ("pubsub", has(PUBSUB)),
        ("admin", has(ADMIN)),
        ("fast", has(FAST)),
        ("slow", !has(FAST)),
        ("blocking", has(BLOCKING)),
        ("dangerous", has(ADMIN)),
        ("connection", group == Some("connection")),
        ("transaction", group == Some("transaction")),
        ("scripting", group == Some("scripting")),
    ];
    order.iter().filter(|(_, on)| *on).map(|(c, _)| format!("@{c}")).collect()
}

/// COMMAND DOCS's map for one command, with its implemented subcommands (a map of their docs).
fn docs_reply(cmd: &'static Command, parent: Option<&'static Command>) -> Reply {
    let name = full_name(cmd, parent);
    let mut fields = match meta::lookup(&name) {
        Some(m) => shapes::docs_map(m.docs.clone()),
        None => vec![
            (Reply::bulk("summary"), Reply::bulk(cmd.summary)),
            (Reply::bulk("since"), Reply::bulk(cmd.since)),
            (Reply::bulk("group"), Reply::bulk(cmd.group.name())),
        ],
    };
    if !cmd.subcommands.is_empty() {
        let subs = cmd.subcommands.iter().map(|sub| (Reply::bulk(full_name(sub, Some(cmd))), docs_reply(sub, Some(cmd)))).collect();
        fields.push((Reply::bulk("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(fields)
}

/// COMMAND with no argument: every command's info.
pub(super) fn command(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Array(all_commands().map(|c| info_reply(c, None)).collect())
}

fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    if argv.len() == 2 {
        return command(ctx, argv);
    }
    Reply::Array(argv[2..].iter().map(|name| lookup_by_fullname(name).map_or(Reply::Nil, |(c, p)| info_reply(c, p))).collect())
}

/// A map of command name to docs (`addReplyMapLen`).
fn command_docs(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let mut out = Vec::new();
    if argv.len() == 2 {
        for cmd in all_commands() {
            out.push((Reply::bulk(cmd.name), docs_reply(cmd, None)));
        }
    } else {
        for name in &argv[2..] {
            if let Some((cmd, parent)) = lookup_by_fullname(name) {
                out.push((Reply::bulk(full_name(cmd, parent)), docs_reply(cmd, parent)));
            }
        }
    }
    Reply::Map(out)
}

fn command_count(_ctx: &mut Ctx, _argv: &[&[u8]]) -> Reply {
    Reply::Int(tables().iter().map(|t| t.len()).sum::<usize>() as i64)
}

fn command_list(_ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    enum Filter<'a> {
        None,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let filter = match argv {
        [_, _] => Filter::None,
        [_, _, by, kind, arg] if args::is(by, "filterby") => {
            if args::is(kind, "module") {
                Filter::Module
            } else if args::is(kind, "aclcat") {
                Filter::AclCat(arg)
            } else if args::is(kind, "pattern") {
                Filter::Pattern(arg)
            } else {
                return Reply::syntax();
            }
        }
        _ => return Reply::syntax(),
    };
    let keep = |cmd: &'static Command, parent: Option<&'static Command>| -> bool {
        let name = full_name(cmd, parent);
        match filter {
            Filter::None => true,
            Filter::Module => false,
            Filter::Pattern(p) => string_match(p, name.as_bytes(), true),
            Filter::AclCat(cat) => {
                let cats = match meta::lookup(&name) {
                    Some(m) => m.acl_categories().iter().map(|c| c.to_string()).collect(),
                    None => acl_categories(cmd),
                };
                cats.iter().any(|c| c.as_bytes().get(1..).is_some_and(|c| c.eq_ignore_ascii_case(cat)))
            }
        }
    };
    let mut out = Vec::new();
    for cmd in all_commands() {
        if keep(cmd, None) {
            out.push(Reply::bulk(cmd.name));
        }
        for sub in cmd.subcommands {
            if keep(sub, Some(cmd)) {
                out.push(Reply::bulk(full_name(sub, Some(cmd))));
            }
        }
    }
    Reply::Array(out)
}

fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    getkeys(ctx, argv, false)
}

fn command_getkeysandflags(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    getkeys(ctx, argv, true)
}

/// A key position and its key-spec flags (`RW`, `access` …).
type KeyRef = (usize, Vec<Reply>);

/// `getKeysSubcommandImpl`.
fn getkeys(_ctx: &mut Ctx, argv: &[&[u8]], with_flags: bool) -> Reply {
    let cargv = &argv[2..];
    let resolved = lookup(cargv[0]).and_then(|base| {
        if !base.subcommands.is_empty() && cargv.len() >= 2 {
            lookup_sub(base, cargv[1]).map(|s| (s, Some(base)))
        } else {
            Some((base, None))
        }
    });
    let Some((cmd, parent)) = resolved else {
        return Reply::err("ERR Invalid command specified");
    };
    let m = meta::lookup(&full_name(cmd, parent));
    let specs = m.map(Meta::key_specs).unwrap_or_default();
    let has_keys = specs.iter().any(|s| !spec_flags(s).iter().any(|f| f == "not_key")) || (m.is_none() && cmd.first_key > 0);
    if !has_keys {
        return Reply::err("ERR The command has no key arguments");
    }
    let arity = m.map_or(i64::from(cmd.arity), Meta::arity);
    let argc = cargv.len() as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Reply::err("ERR Invalid number of arguments specified for command");
    }
    let keys = match m {
        Some(m) => keys_from_specs(m, cargv),
        None => cmd.key_positions(cargv.len()).map(|p| (p, vec![])).collect(),
    };
    if keys.is_empty() {
        let no_mandatory = m.is_some_and(|m| m.flags().contains(&"no_mandatory_keys"));
        return if no_mandatory { Reply::Array(vec![]) } else { Reply::err("ERR Invalid arguments specified for command") };
    }
    Reply::Array(
        keys.into_iter()
            .map(|(pos, flags)| {
                let key = Reply::bulk(cargv[pos]);
                // addReplyFlagsForKeyArgs: the flags are a set.
                if with_flags { Reply::Array(vec![key, Reply::Set(flags)]) } else { key }
            })
            .collect(),
    )
}

/// The keys of `argv` and the access each needs, for the ACL check (`getKeysFromCommandWithSpecs`
/// with the key-spec flags read as `ACLSelectorCheckKey` reads them: `access` needs read
/// permission; `insert`, `delete` and `update` need write permission).
pub(crate) fn acl_key_access(fullname: &str, argv: &[&[u8]]) -> Vec<(usize, u8)> {
    let Some(m) = meta::lookup(fullname) else { return Vec::new() };
    keys_from_specs(m, argv)
        .into_iter()
        .map(|(pos, flags)| {
            let mut need = 0;
            for f in &flags {
                if let Reply::Status(f) = f {
                    match f.as_ref() {
                        "access" => need |= crate::acl::READ,
                        "insert" | "delete" | "update" => need |= crate::acl::WRITE,
                        _ => {}
                    }
                }
            }
            (pos, need)
        })
        .collect()
}

/// A value of a flat RESP2 map (`[k1, v1, k2, v2 …]`) by key.
fn map_get<'a>(map: &'a Reply, key: &str) -> Option<&'a Reply> {
    let Reply::Array(items) = map else { return None };
    items.chunks(2).find(|kv| matches!(&kv[0], Reply::Bulk(k) if k == key.as_bytes())).and_then(|kv| kv.get(1))
}

fn map_int(map: Option<&Reply>, key: &str) -> i64 {
    match map.and_then(|m| map_get(m, key)) {
        Some(Reply::Int(n)) => *n,
        _ => 0,
    }
}

fn map_str<'a>(map: Option<&'a Reply>, key: &str) -> &'a [u8] {
    match map.and_then(|m| map_get(m, key)) {
        Some(Reply::Bulk(b)) => b,
        _ => b"",
    }
}

fn spec_flags(spec: &Reply) -> Vec<String> {
    match map_get(spec, "flags") {
        Some(Reply::Array(fs)) => fs.iter().filter_map(|f| if let Reply::Status(s) = f { Some(s.to_string()) } else { None }).collect(),
        _ => vec![],
    }
}

fn flag_replies(flags: &[&str]) -> Vec<Reply> {
    flags.iter().map(|f| Reply::Status(f.to_string().into())).collect()
}

/// `getKeysFromCommandWithSpecs`: the specs, unless their flags are not reliable (`SET`) or
/// they are incomplete (`SORT ... STORE`), where the command's own key finder decides.
fn keys_from_specs(m: &Meta, argv: &[&[u8]]) -> Vec<KeyRef> {
    let specs = m.key_specs();
    let variable_flags = specs.iter().any(|s| spec_flags(s).iter().any(|f| f == "variable_flags"));
    if !variable_flags && let Some(keys) = keys_using_specs(specs, argv) {
        return keys;
    }
    match m.name.as_str() {
        "set" => set_get_keys(argv),
        "sort" | "sort_ro" => sort_get_keys(argv),
        "bitfield" => bitfield_get_keys(argv),
        _ => vec![],
    }
}

/// `getKeysUsingKeySpecs`; `None` for an invalid or incomplete spec.
fn keys_using_specs(specs: &[Reply], argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        let flags = spec_flags(spec);
        if flags.iter().any(|f| f == "not_key") {
            continue;
        }
        let bs = map_get(spec, "begin_search");
        let bs_spec = bs.and_then(|b| map_get(b, "spec"));
        let first = match map_str(bs, "type") {
            b"index" => map_int(bs_spec, "index"),
            b"keyword" => {
                let keyword = map_str(bs_spec, "keyword");
                let startfrom = map_int(bs_spec, "startfrom");
                let (start, end) = if startfrom > 0 { (startfrom, argc - 1) } else { (argc + startfrom, 0) };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 0 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(keyword) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue; // keyword not found: this spec has no key
                }
                found
            }
            _ => return None,
        };
        let fk = map_get(spec, "find_keys");
        let fk_spec = fk.and_then(|f| map_get(f, "spec"));
        let (first, last, step) = match map_str(fk, "type") {
            b"range" => {
                let (lastkey, step, limit) = (map_int(fk_spec, "lastkey"), map_int(fk_spec, "keystep"), map_int(fk_spec, "limit"));
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, step)
            }
            b"keynum" => {
                let (idx, firstkey, step) = (map_int(fk_spec, "keynumidx"), map_int(fk_spec, "firstkey"), map_int(fk_spec, "keystep"));
                let numkeys = argv.get((first + idx) as usize).and_then(|a| string2ll(a)).filter(|n| *n >= 0)?;
                let first = first + firstkey;
                (first, first + numkeys - 1, step)
            }
            _ => return None,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        let flag_names: Vec<&str> = flags.iter().map(String::as_str).collect();
        let mut i = first;
        while i <= last {
            keys.push((i as usize, flag_replies(&flag_names)));
            i += step;
        }
        if flags.iter().any(|f| f == "incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// `setGetKeys`: with GET the key is read too.
fn set_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let get = argv.iter().skip(3).any(|a| args::is(a, "get"));
    let flags: &[&str] = if get { &["RW", "access", "update"] } else { &["OW", "update"] };
    vec![(1, flag_replies(flags))]
}

/// `sortGetKeys`: the sorted key, then the last STORE destination.
fn sort_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut keys = vec![(1, flag_replies(&["RO", "access"]))];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if args::is(a, "limit") {
            i += 2;
        } else if args::is(a, "get") || args::is(a, "by") {
            i += 1;
        } else if args::is(a, "store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push((pos, flag_replies(&["OW", "update"])));
    }
    keys
}

/// `bitfieldGetKeys`: read-only while only GET and OVERFLOW come before the first SET / INCRBY
/// (a syntax error counts as a write).
fn bitfield_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut readonly = true;
    let mut i = 2;
    while i < argv.len() {
        let remargs = argv.len() - i - 1;
        let a = argv[i];
        if args::is(a, "get") && remargs >= 2 {
            i += 2;
        } else if (args::is(a, "set") || args::is(a, "incrby")) && remargs >= 3 {
            readonly = false;
            break;
        } else if args::is(a, "overflow") && remargs >= 1 {
            i += 1;
        } else {
            readonly = false;
            break;
        }
        i += 1;
    }
    let flags: &[&str] = if readonly { &["RO", "access"] } else { &["RW", "access", "update"] };
    vec![(1, flag_replies(flags))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{NO_MULTI, NO_QUEUE};

    /// Every command of the engine's table must be declared as Redis 7.0.15 declares it (arity,
    /// flags, legacy key range): the dispatcher checks arity from the table, while COMMAND INFO
    /// answers from the recorded metadata, so a difference would be invisible there.
    #[test]
    fn table_matches_redis_declarations() {
        // Flags the engine does not model, or that Redis computes.
        const UNMODELLED: &[&str] = &["movablekeys", "no_async_loading", "no_mandatory_keys", "asking", "module"];
        let mut problems = Vec::new();
        let mut check = |cmd: &'static Command, parent: Option<&'static Command>| {
            let name = full_name(cmd, parent);
            let Some(m) = meta::lookup(&name) else { return };
            if m.arity() != i64::from(cmd.arity) {
                problems.push(format!("{name}: arity {} (Redis {})", cmd.arity, m.arity()));
            }
            let keys = [cmd.first_key, cmd.last_key, cmd.key_step].map(i64::from);
            let redis_keys: Vec<i64> = (3..6).map(|i| if let Some(Reply::Int(n)) = m.field(i) { *n } else { 0 }).collect();
            if keys.as_slice() != redis_keys.as_slice() {
                problems.push(format!("{name}: keys {keys:?} (Redis {redis_keys:?})"));
            }
            // MULTI, DISCARD and WATCH carry NO_MULTI here as the engine's way of refusing them
            // in a transaction (they are never queued, see NO_QUEUE); Redis checks them by name.
            let hidden = MAY_REPLICATE | if cmd.flags & NO_QUEUE != 0 { NO_MULTI } else { 0 };
            let ours: Vec<&str> = FLAG_NAMES.iter().filter(|(f, _)| cmd.flags & f != 0 && f & hidden == 0).map(|(_, n)| *n).collect();
            let theirs: Vec<&str> = m.flags().into_iter().filter(|f| !UNMODELLED.contains(f)).collect();
            if ours != theirs {
                problems.push(format!("{name}: flags {ours:?} (Redis {theirs:?})"));
            }
        };
        for cmd in all_commands() {
            check(cmd, None);
            for sub in cmd.subcommands {
                check(sub, Some(cmd));
            }
        }
        assert!(problems.is_empty(), "commands declared differently from Redis 7.0.15:\n{}", problems.join("\n"));
    }

    #[test]
    fn sort_and_set_key_finders() {
        let argv: Vec<&[u8]> =
            ["sort", "k", "by", "x", "get", "y", "store", "d", "limit", "0", "1", "store", "e"].map(str::as_bytes).to_vec();
        let keys: Vec<usize> = sort_get_keys(&argv).into_iter().map(|(p, _)| p).collect();
        assert_eq!(keys, vec![1, 12]);
        let argv: Vec<&[u8]> = ["set", "a", "b", "GET"].map(str::as_bytes).to_vec();
        assert_eq!(set_get_keys(&argv), vec![(1, flag_replies(&["RW", "access", "update"]))]);
        let argv: Vec<&[u8]> = ["set", "a", "b"].map(str::as_bytes).to_vec();
        assert_eq!(set_get_keys(&argv), vec![(1, flag_replies(&["OW", "update"]))]);
    }

    #[test]
    fn acl_categories_derived_like_redis() {
        for cmd in all_commands() {
            if let Some(m) = meta::lookup(cmd.name) {
                let derived = acl_categories(cmd);
                let recorded: Vec<String> = m.acl_categories().iter().map(|c| c.to_string()).collect();
                // Redis adds @dangerous & co. by hand in the JSON files; the derivation covers the rest.
                for c in &derived {
                    assert!(recorded.contains(c) || c == "@keyspace", "{}: derived {c} not in {recorded:?}", cmd.name);
                }
            }
        }
    }
}
