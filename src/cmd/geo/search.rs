//! `georadiusGeneric`: `GEORADIUS[_RO]`, `GEORADIUSBYMEMBER[_RO]`, GEOSEARCH and GEOSEARCHSTORE.
//!
//! The order of the checks is Redis's, because it decides which error a wrong command gets: the
//! source key's type first, then the centre and radius of the GEORADIUS forms, then the options
//! left to right, then the combinations (STORE with WITH*, FROM*/BY* missing, ANY without
//! COUNT), and only then a missing source key (an empty reply, or 0 and the destination
//! deleted).
//!
//! The points found are in the order the 9 cells were scanned (centre, N, S, E, W, NE, NW, SE,
//! SW; each by score). ASC/DESC (implied by COUNT) sorts them by distance with glibc 2.36's
//! `qsort`, a merge sort (stable), or, when COUNT keeps fewer than all, with Redis's `pqsort`,
//! a partial quicksort (not stable): both are reproduced, so points at equal distances come out
//! in Redis's order.

use std::cmp::Ordering;

use super::geohash::{self, Shape, ShapeKind};
use super::{distance_reply, extract_long_lat, extract_unit, read_zset};
use crate::cmd::args;
use crate::cmd::csort::{glibc_msort, pqsort};
use crate::keyspace::{Value, ZSet};
use crate::reply::Reply;
use crate::server::Ctx;

pub const RADIUS_COORDS: u32 = 1 << 0;
pub const RADIUS_MEMBER: u32 = 1 << 1;
pub const RADIUS_NOSTORE: u32 = 1 << 2;
pub const SEARCH: u32 = 1 << 3;
pub const SEARCH_STORE: u32 = 1 << 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// `geoPoint`.
struct Point {
    xy: [f64; 2],
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

/// `extractDistanceOrReply`: radius and unit factor.
fn extract_distance(argv: &[&[u8]]) -> Result<(f64, f64), Reply> {
    let radius = crate::util::string2d(argv[0]).ok_or_else(|| Reply::err("ERR need numeric radius"))?;
    if radius < 0.0 {
        return Err(Reply::err("ERR radius cannot be negative"));
    }
    Ok((radius, extract_unit(argv[1])?))
}

/// `extractBoxOrReply`: width, height and unit factor.
fn extract_box(argv: &[&[u8]]) -> Result<(f64, f64, f64), Reply> {
    let w = crate::util::string2d(argv[0]).ok_or_else(|| Reply::err("ERR need numeric width"))?;
    let h = crate::util::string2d(argv[1]).ok_or_else(|| Reply::err("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(Reply::err("ERR height or width cannot be negative"));
    }
    Ok((w, h, extract_unit(argv[2])?))
}

const NOT_DECODED: &str = "ERR could not decode requested zset member";

/// `longLatFromMember`.
fn member_xy(z: &ZSet, member: &[u8]) -> Result<[f64; 2], Reply> {
    z.score(member).map(geohash::decode_score).ok_or_else(|| Reply::err(NOT_DECODED))
}

/// The parsed request.
struct Request<'a> {
    shape: Shape,
    storekey: Option<&'a [u8]>,
    storedist: bool,
    withdist: bool,
    withhash: bool,
    withcoords: bool,
    sort: Sort,
    any: bool,
    count: i64,
}

/// Parses the arguments as `georadiusGeneric` does; `exists` is whether the source key exists
/// (without it, a member centre is not looked up).
fn parse<'a>(z: Option<&ZSet>, argv: &[&'a [u8]], src: usize, flags: u32) -> Result<Request<'a>, Reply> {
    let mut shape = Shape { xy: [0.0, 0.0], conversion: 0.0, kind: ShapeKind::Circle { radius: 0.0 } };
    let mut storekey = None;
    let base_args;
    if flags & RADIUS_COORDS != 0 {
        base_args = 6;
        shape.xy = extract_long_lat(&argv[2..4])?;
        let (radius, conversion) = extract_distance(&argv[4..6])?;
        (shape.kind, shape.conversion) = (ShapeKind::Circle { radius }, conversion);
    } else if flags & RADIUS_MEMBER != 0 {
        base_args = 5;
        // Without a source key the arguments are still parsed, to choose the reply by STORE.
        if let Some(z) = z {
            shape.xy = member_xy(z, argv[2])?;
            let (radius, conversion) = extract_distance(&argv[3..5])?;
            (shape.kind, shape.conversion) = (ShapeKind::Circle { radius }, conversion);
        }
    } else {
        base_args = src + 1;
        if flags & SEARCH_STORE != 0 {
            storekey = Some(argv[1]);
        }
    }

    let mut r = Request {
        shape,
        storekey,
        storedist: false,
        withdist: false,
        withhash: false,
        withcoords: false,
        sort: Sort::None,
        any: false,
        count: 0,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let search = flags & SEARCH != 0;
    let store_ok = flags & (RADIUS_NOSTORE | SEARCH) == 0;
    let rest = argv.get(base_args..).unwrap_or(&[]);
    let remaining = rest.len();
    let mut i = 0;
    while i < remaining {
        let arg = rest[i];
        let is = |w| args::is(arg, w);
        if is("withdist") {
            r.withdist = true;
        } else if is("withhash") {
            r.withhash = true;
        } else if is("withcoord") {
            r.withcoords = true;
        } else if is("any") {
            r.any = true;
        } else if is("asc") {
            r.sort = Sort::Asc;
        } else if is("desc") {
            r.sort = Sort::Desc;
        } else if is("count") && i + 1 < remaining {
            r.count = args::int(rest[i + 1])?;
            if r.count <= 0 {
                return Err(Reply::err("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (is("store") || is("storedist")) && i + 1 < remaining && store_ok {
            r.storekey = Some(rest[i + 1]);
            r.storedist = is("storedist");
            i += 1;
        } else if is("storedist") && search && flags & SEARCH_STORE != 0 {
            r.storedist = true;
        } else if is("frommember") && i + 1 < remaining && search && !fromloc {
            // No source key: go on parsing, the reply is decided after.
            if let Some(z) = z {
                r.shape.xy = member_xy(z, rest[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if is("fromlonlat") && i + 2 < remaining && search && !frommember {
            r.shape.xy = extract_long_lat(&rest[i + 1..i + 3])?;
            fromloc = true;
            i += 2;
        } else if is("byradius") && i + 2 < remaining && search && !bybox {
            let (radius, conversion) = extract_distance(&rest[i + 1..i + 3])?;
            (r.shape.kind, r.shape.conversion) = (ShapeKind::Circle { radius }, conversion);
            byradius = true;
            i += 2;
        } else if is("bybox") && i + 3 < remaining && search && !byradius {
            let (width, height, conversion) = extract_box(&rest[i + 1..i + 4])?;
            (r.shape.kind, r.shape.conversion) = (ShapeKind::Box { width, height }, conversion);
            bybox = true;
            i += 3;
        } else {
            return Err(Reply::syntax());
        }
        i += 1;
    }

    if r.storekey.is_some() && (r.withdist || r.withhash || r.withcoords) {
        let what = if flags & SEARCH_STORE != 0 { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(Reply::error(format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = String::from_utf8_lossy(argv[0]);
    if search && !(frommember || fromloc) {
        return Err(Reply::error(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if search && !(byradius || bybox) {
        return Err(Reply::error(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if r.any && r.count == 0 {
        return Err(Reply::err("ERR the ANY argument requires COUNT argument"));
    }
    Ok(r)
}

/// `georadiusGeneric`.
pub fn georadius_generic(ctx: &mut Ctx, argv: &[&[u8]], src: usize, flags: u32) -> Reply {
    let z = match read_zset(ctx, argv[src]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    let mut r = match parse(z, argv, src, flags) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(z) = z else {
        return match r.storekey {
            Some(dest) => {
                if ctx.delete_key(dest) {
                    ctx.dirty(1);
                }
                Reply::Int(0)
            }
            None => Reply::Array(vec![]),
        };
    };
    // COUNT alone means the nearest ones (ANY means any ones).
    if r.count != 0 && r.sort == Sort::None && !r.any {
        r.sort = Sort::Asc;
    }
    let limit = if r.any { args::count(r.count) } else { 0 };
    let mut points = members_of_all_neighbors(z, &r.shape, limit);
    if points.is_empty() && r.storekey.is_none() {
        return Reply::Array(vec![]);
    }
    let result_length = points.len();
    let returned = if r.count == 0 || (result_length as i64) < r.count { result_length } else { r.count as usize };
    if r.sort != Sort::None {
        let desc = r.sort == Sort::Desc;
        let cmp = |a: &Point, b: &Point| {
            let c = sort_gp_asc(a, b);
            if desc { -c } else { c }
        };
        if returned == result_length {
            glibc_msort(&mut points, &cmp);
        } else {
            pqsort(&mut points, &cmp, 0, returned - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= r.shape.conversion; // into the request's unit
    }

    let Some(dest) = r.storekey else {
        let option_length = usize::from(r.withdist) + usize::from(r.withcoords) + usize::from(r.withhash);
        let items = points
            .into_iter()
            .map(|p| {
                if option_length == 0 {
                    return Reply::Bulk(p.member);
                }
                let mut item = vec![Reply::Bulk(p.member)];
                if r.withdist {
                    item.push(distance_reply(p.dist));
                }
                if r.withhash {
                    item.push(Reply::Int(geohash::cvttsd2si(p.score)));
                }
                if r.withcoords {
                    item.push(Reply::Array(vec![Reply::HumanDouble(p.xy[0]), Reply::HumanDouble(p.xy[1])]));
                }
                Reply::Array(item)
            })
            .collect();
        return Reply::Array(items);
    };

    // A new sorted set, made as a skiplist and turned into a listpack if small enough.
    if returned > 0 {
        let mut out = ZSet::new_skiplist();
        for p in points {
            let score = if r.storedist { p.dist } else { p.score };
            out.insert(p.member, score);
        }
        let limits = (ctx.srv.config.zset_max_listpack_entries, ctx.srv.config.zset_max_listpack_value);
        out.convert_to_listpack_if_needed_limited(limits);
        ctx.set_key(dest, Value::ZSet(out), false);
        ctx.dirty(returned as u64);
    } else if ctx.delete_key(dest) {
        ctx.dirty(1);
    }
    Reply::Int(returned as i64)
}

/// `membersOfAllNeighbors`: the points of each of the 9 cells, skipping a cell equal to the
/// one processed just before (huge radii make neighbours coincide). `limit` (ANY) stops early.
fn members_of_all_neighbors(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let area = geohash::areas_by_shape(shape);
    let cells = area.cells();
    let mut points = Vec::new();
    // 0 doubles as "none yet" in Redis, so the centre cell (index 0) is never compared with.
    let mut last_processed = 0;
    for (i, cell) in cells.iter().enumerate() {
        let Some(cell) = cell else { continue };
        if last_processed != 0 && cells[last_processed] == Some(*cell) {
            continue;
        }
        if !points.is_empty() && limit != 0 && points.len() >= limit {
            break;
        }
        members_of_box(z, *cell, shape, &mut points, limit);
        last_processed = i;
    }
    points
}

/// `membersOfGeoHashBox` + `geoGetPointsInRange`: the members with `min <= score < max`, the
/// cell's score range, that lie within the shape.
fn members_of_box(z: &ZSet, cell: geohash::HashBits, shape: &Shape, points: &mut Vec<Point>, limit: usize) {
    let min = geohash::align_52_bits(cell) as f64;
    let next = geohash::HashBits { bits: cell.bits.wrapping_add(1), step: cell.step };
    let max = geohash::align_52_bits(next) as f64;
    let start = z.partition_point(|s, _| s < min);
    for (member, score) in z.iter_from(start) {
        if score >= max {
            break;
        }
        let xy = geohash::decode_score(score);
        if let Some(dist) = geohash::distance_if_within(shape, xy) {
            points.push(Point { xy, dist, score, member: member.to_vec() });
        }
        if !points.is_empty() && limit != 0 && points.len() >= limit {
            break;
        }
    }
}

/// `sort_gp_asc`, a C comparator (a NaN distance compares as "less" both ways, as in C).
fn sort_gp_asc(a: &Point, b: &Point) -> i32 {
    match a.dist.partial_cmp(&b.dist) {
        Some(Ordering::Greater) => 1,
        Some(Ordering::Equal) => 0,
        _ => -1,
    }
}
