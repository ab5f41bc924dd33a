//! Sorted sets: members with a double score, kept ordered by (score, member).
//!
//! | file        | commands                                                                 |
//! |-------------|--------------------------------------------------------------------------|
//! | `basic.rs`  | ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZRANK ZREVRANK ZRANDMEMBER ZSCAN   |
//! | `range.rs`  | ZRANGE (BYSCORE BYLEX REV LIMIT) and its older forms, ZRANGESTORE,        |
//! |             | ZCOUNT ZLEXCOUNT ZREMRANGEBYRANK/SCORE/LEX                                |
//! | `pop.rs`    | ZPOPMIN ZPOPMAX ZMPOP and the blocking BZPOPMIN BZPOPMAX BZMPOP           |
//! | `setops.rs` | ZUNION ZINTER ZDIFF (and their *STORE forms), ZINTERCARD                  |
//! | `spec.rs`   | score and lex range bounds (`(1.5`, `-inf`, `[a`, `+`)                    |
//!
//! **Replies.** Scores are printed with `%.17g`, as 7.0's `addReplyDouble` does: `0.1` reads back
//! as `0.10000000000000001`.
//!
//! **Propagation.** Writes go to the AOF verbatim (ZINCRBY logs the increment, not the result),
//! except the pops that choose what they pop: ZMPOP becomes `ZPOPMIN key <n popped>`, a served
//! BZPOPMIN becomes `ZPOPMIN key`, a served BZMPOP `ZPOPMIN key <n>`. A *STORE with an empty
//! result deletes the destination and is logged verbatim only if there was one to delete.

mod basic;
mod pop;
mod range;
mod setops;
pub mod spec;

/// GEOADD runs ZADD with the scores it computed.
pub(crate) use basic::zadd;

use super::{BLOCKING, Command, DENYOOM, FAST, Group, NOSCRIPT, READONLY, WRITE};
use crate::keyspace::{Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;

const G: Group = Group::SortedSet;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "1.2.0",
        summary: "Add one or more members to a sorted set, or update its score if it already exists",
        ..Command::new("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), G, basic::zadd)
    },
    Command {
        since: "1.2.0",
        summary: "Increment the score of a member in a sorted set",
        ..Command::new("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), G, basic::zincrby)
    },
    Command {
        since: "1.2.0",
        summary: "Remove one or more members from a sorted set",
        ..Command::new("zrem", -3, WRITE | FAST, (1, 1, 1), G, basic::zrem)
    },
    Command {
        since: "2.0.0",
        summary: "Remove all members in a sorted set within the given indexes",
        ..Command::new("zremrangebyrank", 4, WRITE, (1, 1, 1), G, range::zremrangebyrank)
    },
    Command {
        since: "1.2.0",
        summary: "Remove all members in a sorted set within the given scores",
        ..Command::new("zremrangebyscore", 4, WRITE, (1, 1, 1), G, range::zremrangebyscore)
    },
    Command {
        since: "2.8.9",
        summary: "Remove all members in a sorted set between the given lexicographical range",
        ..Command::new("zremrangebylex", 4, WRITE, (1, 1, 1), G, range::zremrangebylex)
    },
    Command {
        since: "2.0.0",
        summary: "Add multiple sorted sets and store the resulting sorted set in a new key",
        ..Command::new("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), G, setops::zunionstore)
    },
    Command {
        since: "2.0.0",
        summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        ..Command::new("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), G, setops::zinterstore)
    },
    Command {
        since: "6.2.0",
        summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        ..Command::new("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), G, setops::zdiffstore)
    },
    Command { since: "6.2.0", summary: "Add multiple sorted sets", ..Command::new("zunion", -3, READONLY, (0, 0, 0), G, setops::zunion) },
    Command {
        since: "6.2.0",
        summary: "Intersect multiple sorted sets",
        ..Command::new("zinter", -3, READONLY, (0, 0, 0), G, setops::zinter)
    },
    Command {
        since: "7.0.0",
        summary: "Intersect multiple sorted sets and return the cardinality of the result",
        ..Command::new("zintercard", -3, READONLY, (0, 0, 0), G, setops::zintercard)
    },
    Command {
        since: "6.2.0",
        summary: "Subtract multiple sorted sets",
        ..Command::new("zdiff", -3, READONLY, (0, 0, 0), G, setops::zdiff)
    },
    Command {
        since: "1.2.0",
        summary: "Return a range of members in a sorted set",
        ..Command::new("zrange", -4, READONLY, (1, 1, 1), G, range::zrange)
    },
    Command {
        since: "6.2.0",
        summary: "Store a range of members from sorted set into another key",
        ..Command::new("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), G, range::zrangestore)
    },
    Command {
        since: "1.0.5",
        summary: "Return a range of members in a sorted set, by score",
        ..Command::new("zrangebyscore", -4, READONLY, (1, 1, 1), G, range::zrangebyscore)
    },
    Command {
        since: "2.2.0",
        summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        ..Command::new("zrevrangebyscore", -4, READONLY, (1, 1, 1), G, range::zrevrangebyscore)
    },
    Command {
        since: "2.8.9",
        summary: "Return a range of members in a sorted set, by lexicographical range",
        ..Command::new("zrangebylex", -4, READONLY, (1, 1, 1), G, range::zrangebylex)
    },
    Command {
        since: "2.8.9",
        summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        ..Command::new("zrevrangebylex", -4, READONLY, (1, 1, 1), G, range::zrevrangebylex)
    },
    Command {
        since: "2.0.0",
        summary: "Count the members in a sorted set with scores within the given values",
        ..Command::new("zcount", 4, READONLY | FAST, (1, 1, 1), G, range::zcount)
    },
    Command {
        since: "2.8.9",
        summary: "Count the number of members in a sorted set between a given lexicographical range",
        ..Command::new("zlexcount", 4, READONLY | FAST, (1, 1, 1), G, range::zlexcount)
    },
    Command {
        since: "1.2.0",
        summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        ..Command::new("zrevrange", -4, READONLY, (1, 1, 1), G, range::zrevrange)
    },
    Command {
        since: "1.2.0",
        summary: "Get the number of members in a sorted set",
        ..Command::new("zcard", 2, READONLY | FAST, (1, 1, 1), G, basic::zcard)
    },
    Command {
        since: "1.2.0",
        summary: "Get the score associated with the given member in a sorted set",
        ..Command::new("zscore", 3, READONLY | FAST, (1, 1, 1), G, basic::zscore)
    },
    Command {
        since: "6.2.0",
        summary: "Get the score associated with the given members in a sorted set",
        ..Command::new("zmscore", -3, READONLY | FAST, (1, 1, 1), G, basic::zmscore)
    },
    Command {
        since: "2.0.0",
        summary: "Determine the index of a member in a sorted set",
        ..Command::new("zrank", 3, READONLY | FAST, (1, 1, 1), G, basic::zrank)
    },
    Command {
        since: "2.0.0",
        summary: "Determine the index of a member in a sorted set, with scores ordered from high to low",
        ..Command::new("zrevrank", 3, READONLY | FAST, (1, 1, 1), G, basic::zrevrank)
    },
    Command {
        since: "2.8.0",
        summary: "Incrementally iterate sorted sets elements and associated scores",
        ..Command::new("zscan", -3, READONLY, (1, 1, 1), G, basic::zscan)
    },
    Command {
        since: "5.0.0",
        summary: "Remove and return members with the lowest scores in a sorted set",
        ..Command::new("zpopmin", -2, WRITE | FAST, (1, 1, 1), G, pop::zpopmin)
    },
    Command {
        since: "5.0.0",
        summary: "Remove and return members with the highest scores in a sorted set",
        ..Command::new("zpopmax", -2, WRITE | FAST, (1, 1, 1), G, pop::zpopmax)
    },
    Command {
        since: "5.0.0",
        summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        ..Command::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), G, pop::bzpopmin)
    },
    Command {
        since: "5.0.0",
        summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        ..Command::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), G, pop::bzpopmax)
    },
    Command {
        since: "7.0.0",
        summary: "Remove and return members with scores in a sorted set",
        ..Command::new("zmpop", -4, WRITE, (0, 0, 0), G, pop::zmpop)
    },
    Command {
        since: "7.0.0",
        summary: "Remove and return members with scores in a sorted set or block until one is available",
        ..Command::new("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), G, pop::bzmpop)
    },
    Command {
        since: "6.2.0",
        summary: "Get one or multiple random elements from a sorted set",
        ..Command::new("zrandmember", -2, READONLY, (1, 1, 1), G, basic::zrandmember)
    },
];

/// `lookupKeyRead` + `checkType`: `Ok(None)` for a missing key.
/// `zset-max-listpack-entries` and `zset-max-listpack-value` as they are now (Redis reads them at
/// every add and conversion, so a CONFIG SET applies to existing keys' next change).
fn listpack_limits(ctx: &Ctx) -> (usize, usize) {
    (ctx.srv.config.zset_max_listpack_entries, ctx.srv.config.zset_max_listpack_value)
}

fn read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c ZSet>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `lookupKeyWrite` + `checkType`: `Ok(None)` for a missing key.
fn write<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSet>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// Appends a member, and its score when asked: flat over RESP2 (`member score …`), a
/// `[member, score]` pair over RESP3 (`if (withscores && c->resp > 2) addReplyArrayLen(c,2)`).
fn push_member(out: &mut Vec<Reply>, member: &[u8], score: f64, withscores: bool, resp3: bool) {
    if withscores && resp3 {
        out.push(Reply::Array(vec![Reply::bulk(member), Reply::double(score)]));
        return;
    }
    out.push(Reply::bulk(member));
    if withscores {
        out.push(Reply::double(score));
    }
}

/// Unwraps a `Result<T, Reply>` inside a handler, replying with the error.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply,
        }
    };
}
use tri;
