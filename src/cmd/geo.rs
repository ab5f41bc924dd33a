//! The geo commands (Redis's `geo.c`): a geo set is a sorted set whose scores are 52-bit
//! geohashes ([`geohash`]), so ZRANGE, ZREM, TYPE (`zset`) and the RDB see an ordinary zset.
//!
//! | command | what it does |
//! |---|---|
//! | `GEOADD key [NX\|XX] [CH] lon lat member …` | ZADD of each point's score (it *is* a ZADD: see below) |
//! | GEOPOS / GEOHASH / GEODIST | decode members' scores |
//! | `GEORADIUS[_RO]`, `GEORADIUSBYMEMBER[_RO]`, GEOSEARCH, GEOSEARCHSTORE | the search, in `geo/search.rs` |
//!
//! **What reaches the AOF.** GEOADD replaces its own argv with `zadd key [opts] score member …`
//! before running ZADD (`replaceClientCommandVector`), so the AOF holds a lowercase `zadd` with
//! the computed scores, never a GEOADD. The search commands that store (`STORE`, `STOREDIST`,
//! GEOSEARCHSTORE) are logged verbatim when they changed something: a search over the same data
//! gives the same result on replay.
//!
//! **Replies.** Distances are printed with exactly 4 decimals (`fixedpoint_d2string`, rounding
//! with `llrint`), in every protocol a bulk string. Coordinates are `addReplyHumanLongDouble`
//! ([`Reply::HumanDouble`]): `"%.17Lf"` with trailing zeros removed, so `13.36138933897018433`,
//! more digits than a double holds, exactly as Redis prints them.

pub mod geohash;
mod search;

use super::{Command, DENYOOM, Group, READONLY, WRITE};
use crate::cmd::args;
use crate::keyspace::{Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;
use geohash::{GEO_LAT_MAX, GEO_LAT_MIN, GEO_LONG_MAX, GEO_LONG_MIN};
use search::{RADIUS_COORDS, RADIUS_MEMBER, RADIUS_NOSTORE, SEARCH, SEARCH_STORE, georadius_generic};

const G: Group = Group::Geo;

pub static COMMANDS: &[Command] = &[
    Command {
        since: "3.2.0",
        summary: "Add one or more geospatial items in the geospatial index represented using a sorted set",
        ..Command::new("geoadd", -5, WRITE | DENYOOM, (1, 1, 1), G, geoadd)
    },
    Command {
        since: "3.2.0",
        summary: "Returns the distance between two members of a geospatial index",
        ..Command::new("geodist", -4, READONLY, (1, 1, 1), G, geodist)
    },
    Command {
        since: "3.2.0",
        summary: "Returns members of a geospatial index as standard geohash strings",
        ..Command::new("geohash", -2, READONLY, (1, 1, 1), G, geohash_command)
    },
    Command {
        since: "3.2.0",
        summary: "Returns longitude and latitude of members of a geospatial index",
        ..Command::new("geopos", -2, READONLY, (1, 1, 1), G, geopos)
    },
    Command {
        since: "3.2.0",
        summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
        ..Command::new("georadius", -6, WRITE | DENYOOM, (1, 1, 1), G, georadius)
    },
    Command {
        since: "3.2.10",
        summary: "A read-only variant for GEORADIUS",
        ..Command::new("georadius_ro", -6, READONLY, (1, 1, 1), G, georadius_ro)
    },
    Command {
        since: "3.2.0",
        summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
        ..Command::new("georadiusbymember", -5, WRITE | DENYOOM, (1, 1, 1), G, georadiusbymember)
    },
    Command {
        since: "3.2.10",
        summary: "A read-only variant for GEORADIUSBYMEMBER",
        ..Command::new("georadiusbymember_ro", -5, READONLY, (1, 1, 1), G, georadiusbymember_ro)
    },
    Command {
        since: "6.2.0",
        summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
        ..Command::new("geosearch", -7, READONLY, (1, 1, 1), G, geosearch)
    },
    Command {
        since: "6.2.0",
        summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
        ..Command::new("geosearchstore", -8, WRITE | DENYOOM, (1, 2, 1), G, geosearchstore)
    },
];

/// `lookupKeyRead` + `checkType(OBJ_ZSET)`.
fn read_zset<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c ZSet>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(Reply::wrongtype()),
    }
}

/// `extractLongLatOrReply`: both numbers parsed first, then the range checked.
fn extract_long_lat(argv: &[&[u8]]) -> Result<[f64; 2], Reply> {
    let lon = args::float(argv[0])?;
    let lat = args::float(argv[1])?;
    if !(GEO_LONG_MIN..=GEO_LONG_MAX).contains(&lon) || !(GEO_LAT_MIN..=GEO_LAT_MAX).contains(&lat) {
        // The format ends in "\r\n", which addReplyErrorFormat trims.
        return Err(Reply::error(format!("ERR invalid longitude,latitude pair {},{}", c_fixed6(lon), c_fixed6(lat))));
    }
    Ok([lon, lat])
}

/// C's `%f`.
fn c_fixed6(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{x:.6}")
}

/// `extractUnitOrReply`: the factor from the unit to meters.
fn extract_unit(unit: &[u8]) -> Result<f64, Reply> {
    match unit.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(Reply::err("ERR unsupported unit provided. please use M, KM, FT, MI")),
    }
}

/// `addReplyDoubleDistance`: `fixedpoint_d2string(d, 4)` as a bulk string, in every protocol.
fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(fixedpoint4(d).into_bytes())
}

/// `fixedpoint_d2string(d, 4)`: `llrint(d * 10^4)` (ties to even; C's "integer indefinite"
/// 2^63 for NaN and overflow) written with the point before the last four digits.
fn fixedpoint4(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    // llrint: rounded to nearest even, then converted like cvttsd2si (an integer needs no truncation).
    let s = geohash::cvttsd2si((d * 10000.0).round_ties_even());
    let digits = format!("{:05}", s.unsigned_abs());
    let (int, frac) = digits.split_at(digits.len() - 4);
    format!("{}{int}.{frac}", if s < 0 { "-" } else { "" })
}

/// `GEOADD key [CH] [NX|XX] longitude latitude member [...]`: ZADD with computed scores.
fn geoadd(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let (mut xx, mut nx) = (false, false);
    let mut longidx = 2;
    while let Some(opt) = argv.get(longidx) {
        if args::is(opt, "nx") {
            nx = true;
        } else if args::is(opt, "xx") {
            xx = true;
        } else if !args::is(opt, "ch") {
            break; // CH is ZADD's business
        }
        longidx += 1;
    }
    if !(argv.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return Reply::syntax();
    }
    let mut zadd_argv: Vec<Vec<u8>> = vec![b"zadd".to_vec()];
    zadd_argv.extend(argv[1..longidx].iter().map(|a| a.to_vec()));
    for point in argv[longidx..].chunks(3) {
        let xy = match extract_long_lat(point) {
            Ok(xy) => xy,
            Err(e) => return e,
        };
        // In range, so the encoding succeeds.
        let score = geohash::score_of(xy[0], xy[1]).unwrap_or(0);
        zadd_argv.push(score.to_string().into_bytes());
        zadd_argv.push(point[2].to_vec());
    }
    // replaceClientCommandVector: what ZADD runs is also what is propagated.
    ctx.rewrite_argv(&zadd_argv);
    let refs: Vec<&[u8]> = zadd_argv.iter().map(Vec::as_slice).collect();
    super::zset::zadd(ctx, &refs)
}

/// GEODIST key member1 member2 [unit]: nil when a member (or the key) is missing.
fn geodist(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let to_meter = match argv.len() {
        5 => match extract_unit(argv[4]) {
            Ok(f) => f,
            Err(e) => return e,
        },
        n if n > 5 => return Reply::syntax(),
        _ => 1.0,
    };
    let z = match read_zset(ctx, argv[1]) {
        Err(e) => return e,
        Ok(None) => return Reply::Nil,
        Ok(Some(z)) => z,
    };
    let (Some(s1), Some(s2)) = (z.score(argv[2]), z.score(argv[3])) else {
        return Reply::Nil;
    };
    let (a, b) = (geohash::decode_score(s1), geohash::decode_score(s2));
    distance_reply(geohash::get_distance(a[0], a[1], b[0], b[1]) / to_meter)
}

/// GEOHASH key member [...]: 11-character standard geohashes, nil for a missing member.
fn geohash_command(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let z = match read_zset(ctx, argv[1]) {
        Err(e) => return e,
        Ok(z) => z,
    };
    Reply::Array(
        argv[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                None => Reply::Nil,
                Some(score) => Reply::bulk(geohash::standard_geohash(score).to_vec()),
            })
            .collect(),
    )
}

/// GEOPOS key member [...]: `[longitude, latitude]` each, a nil array for a missing member.
fn geopos(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    let z = match read_zset(ctx, argv[1]) {
        Err(e) => return e,
        Ok(z) => z,
    };
    Reply::Array(
        argv[2..]
            .iter()
            .map(|m| match z.and_then(|z| z.score(m)) {
                None => Reply::NilArray,
                Some(score) => {
                    let xy = geohash::decode_score(score);
                    Reply::Array(vec![Reply::HumanDouble(xy[0]), Reply::HumanDouble(xy[1])])
                }
            })
            .collect(),
    )
}

fn georadius(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 1, RADIUS_COORDS)
}
fn georadius_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)
}
fn georadiusbymember(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 1, RADIUS_MEMBER)
}
fn georadiusbymember_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)
}
fn geosearch(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 1, SEARCH)
}
fn geosearchstore(ctx: &mut Ctx, argv: &[&[u8]]) -> Reply {
    georadius_generic(ctx, argv, 2, SEARCH | SEARCH_STORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `test_fixedpoint_d2string` in Redis's util.c, for 4 digits, and C's behaviour at the edges.
    #[test]
    #[allow(clippy::excessive_precision)] // Redis's test values
    fn fixedpoint_like_redis() {
        assert_eq!(fixedpoint4(0.0), "0.0000");
        assert_eq!(fixedpoint4(0.0001), "0.0001");
        assert_eq!(fixedpoint4(6.0642951598391699e-05), "0.0001");
        assert_eq!(fixedpoint4(0.01), "0.0100");
        assert_eq!(fixedpoint4(-0.01), "-0.0100");
        assert_eq!(fixedpoint4(10.01), "10.0100");
        assert_eq!(fixedpoint4(166274.1516), "166274.1516");
        assert_eq!(fixedpoint4(f64::NAN), "-922337203685477.5808");
    }

    #[test]
    fn c_percent_f() {
        assert_eq!(c_fixed6(200.0), "200.000000");
        assert_eq!(c_fixed6(180.0078125), "180.007812");
        assert_eq!(c_fixed6(f64::NEG_INFINITY), "-inf");
    }
}
