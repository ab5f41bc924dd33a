//! The RESP3 shapes of `COMMAND INFO`, `COMMAND DOCS` and `COMMAND GETKEYSANDFLAGS`.
//!
//! `commands.bin` ([`super::meta`]) records the real server's replies as a RESP2 client reads
//! them: every map flattened into `[key, value, …]`, every set an array. Redis builds these
//! replies with `addReplyMapLen` / `addReplySetLen` (`server.c`: `addReplyCommandInfo`,
//! `addReplyCommandDocs`, `addReplyCommandKeySpecs`, `addReplyCommandArgList`,
//! `addReplyCommandFlags`), so the shape of each field is fixed by its place; this module puts
//! the shapes back, and a RESP2 client still gets exactly the recorded bytes:
//!
//! ```text
//! COMMAND INFO entry   [name, arity, flags~, first, last, step, categories~, tips~, key specs~, subcommands]
//! key spec             %{notes?, flags~, begin_search %{type, spec %{…}}, find_keys %{type, spec %{…}}}
//! COMMAND DOCS entry   %{summary, since, group, complexity, doc_flags~, deprecated_since,
//!                        replaced_by, history~ of [since, changes], arguments [ %{…} ], subcommands %{…}}
//! argument             %{name, type, key_spec_index, token, summary, since, deprecated_since,
//!                        flags~, arguments [ %{…} ]}
//! ```

use crate::reply::Reply;

/// A flat `[k, v, …]` array as a map, each value shaped by its key with `value`.
fn map_of(flat: Reply, value: fn(&[u8], Reply) -> Reply) -> Reply {
    let Reply::Array(items) = flat else { return flat };
    let mut it = items.into_iter();
    let mut pairs = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let v = match &k {
            Reply::Bulk(name) => value(name, v),
            _ => v,
        };
        pairs.push((k, v));
    }
    Reply::Map(pairs)
}

/// An array as a set (`addReplySetLen`), its members unchanged.
fn set_of(r: Reply) -> Reply {
    match r {
        Reply::Array(items) => Reply::Set(items),
        other => other,
    }
}

/// The fields of one recorded COMMAND INFO entry (the nine before `subcommands`).
pub fn info_fields(mut fields: Vec<Reply>) -> Vec<Reply> {
    for i in [2, 6, 7] {
        if let Some(f) = fields.get_mut(i) {
            *f = set_of(std::mem::replace(f, Reply::Nil));
        }
    }
    if let Some(f) = fields.get_mut(8) {
        let specs = match std::mem::replace(f, Reply::Nil) {
            Reply::Array(specs) => specs.into_iter().map(key_spec).collect(),
            other => vec![other],
        };
        *f = Reply::Set(specs);
    }
    fields
}

/// The `subcommands` field of COMMAND INFO: `addReplySetLen(c, 0)` for a command without
/// subcommands, else an array of entries.
pub fn info_subcommands(entries: Vec<Reply>) -> Reply {
    if entries.is_empty() { Reply::Set(entries) } else { Reply::Array(entries) }
}

fn key_spec(flat: Reply) -> Reply {
    map_of(flat, |k, v| match k {
        b"flags" => set_of(v),
        b"begin_search" | b"find_keys" => map_of(v, |k, v| if k == b"spec" { map_of(v, |_, v| v) } else { v }),
        _ => v,
    })
}

/// One recorded COMMAND DOCS map, flat, without `subcommands` (the caller adds them as a map).
pub fn docs_map(flat: Vec<Reply>) -> Vec<(Reply, Reply)> {
    match map_of(Reply::Array(flat), docs_value) {
        Reply::Map(pairs) => pairs,
        _ => Vec::new(),
    }
}

fn docs_value(k: &[u8], v: Reply) -> Reply {
    match k {
        b"doc_flags" | b"history" => set_of(v),
        b"arguments" => arguments(v),
        _ => v,
    }
}

fn arguments(v: Reply) -> Reply {
    match v {
        Reply::Array(args) => Reply::Array(
            args.into_iter()
                .map(|a| {
                    map_of(a, |k, v| match k {
                        b"flags" => set_of(v),
                        b"arguments" => arguments(v),
                        _ => v,
                    })
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Restoring the shapes never changes what a RESP2 client receives.
    #[test]
    fn shapes_downgrade_to_the_recorded_bytes() {
        for name in ["get", "set", "zadd", "config|get", "lmpop", "sort"] {
            let Some(m) = super::super::meta::lookup(name) else { continue };
            let info = Reply::Array(m.info.clone());
            assert_eq!(Reply::Array(info_fields(m.info.clone())).to_resp(), info.to_resp(), "{name}");
            let docs = Reply::Array(m.docs.clone());
            assert_eq!(Reply::Map(docs_map(m.docs.clone())).to_resp(), docs.to_resp(), "{name}");
        }
        let set = super::super::meta::lookup("set").expect("SET is recorded");
        let shaped = Reply::Array(info_fields(set.info.clone())).to_resp_proto(3);
        // flags, categories and tips are sets; a key spec is a map whose flags are a set.
        assert!(shaped.starts_with(b"*9\r\n$3\r\nset\r\n:-3\r\n~"), "{}", String::from_utf8_lossy(&shaped));
        assert!(shaped.windows(13).any(|w| w == b"%4\r\n$5\r\nnotes"), "{}", String::from_utf8_lossy(&shaped));
    }
}
