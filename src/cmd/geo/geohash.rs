//! Redis's geohash (`geohash.c` and `geohash_helper.c`): how a longitude/latitude pair becomes a
//! sorted-set score, and which score ranges a radius or box search must scan.
//!
//! **The score.** Longitude in [-180, 180] and latitude in [-85.05112878, 85.05112878] (the
//! Web Mercator limits: Redis cannot index the poles) are each scaled to [0, 1), multiplied by
//! 2^26 and truncated to a 26-bit integer. The two are interleaved bit by bit, latitude in the
//! even positions and longitude in the odd ones, into a 52-bit integer: the score, exact in a
//! double. Decoding takes the centre of the cell, so GEOPOS answers a point up to ~0.6 m away
//! from the one added.
//!
//! **A search** picks a step (cell size) from the radius ([`estimate_steps_by_radius`]), takes
//! the cell of the centre and its 8 neighbours, drops the neighbours the bounding box cannot
//! touch, and scans each cell's score range `[cell << (52 - 2·step), (cell + 1) << …)`. Each
//! point found is then checked exactly: haversine distance ([`get_distance`]) for a radius, the
//! two axis distances for a box.
//!
//! Everything is computed as Redis computes it, operation for operation (C's `double`
//! arithmetic, no fused multiply-add: Redis 7.0.15 as built for x86-64 has none), because a
//! different rounding moves a point across a cell or radius boundary. `sin`, `cos` and `asin`
//! are the platform's: natively Rust calls glibc's, the same as redis-server's; in wasm they
//! come from Rust's libm port, which may differ from glibc in the last bit in rare cases (none
//! in the 340 replies of `tests/fixtures/bitsgeo_golden.txt`, replayed in the browser by
//! `tests/wasm_cases/bitsgeo.rs`).

/// `GEO_STEP_MAX`: 26 bits per coordinate, 52 in all.
pub const GEO_STEP_MAX: u8 = 26;
pub const GEO_LAT_MIN: f64 = -85.05112878;
pub const GEO_LAT_MAX: f64 = 85.05112878;
pub const GEO_LONG_MIN: f64 = -180.0;
pub const GEO_LONG_MAX: f64 = 180.0;

/// `D_R`: degrees to radians, as the macro `M_PI / 180.0`.
const D_R: f64 = std::f64::consts::PI / 180.0;
/// Earth's quadratic mean radius for WGS-84.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

/// `GeoHashBits`: `step` bits per coordinate, interleaved into `bits`. Both zero marks a
/// neighbour that was excluded (`GZERO`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// `GeoHashRange`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// `GeoHashArea`: the cell a hash stands for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// The ranges the scores use (`geohashGetCoordRange`).
pub const LONG_RANGE: Range = Range { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
pub const LAT_RANGE: Range = Range { min: GEO_LAT_MIN, max: GEO_LAT_MAX };

/// What a search looks for (`GeoShape`): a circle or a box around `xy` (longitude, latitude),
/// sizes in the unit that `conversion` turns into meters.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub xy: [f64; 2],
    pub conversion: f64,
    pub kind: ShapeKind,
}

#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

/// `interleave64`: `x` in the even bits, `y` in the odd bits.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(xlo), u64::from(ylo));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// `deinterleave64`: the even bits in the low half, the odd bits in the high half.
fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] =
        [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// `geohashEncode`; `None` where Redis returns 0 (a coordinate out of the indexable range).
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(GEO_LONG_MIN..=GEO_LONG_MAX).contains(&longitude) || !(GEO_LAT_MIN..=GEO_LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    // C converts the doubles to uint32_t by truncation; they lie in [0, 2^step].
    Some(HashBits { bits: interleave64(lat_offset as u32, long_offset as u32), step })
}

/// `geohashEncodeWGS84`.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// `geohashDecode`: the cell of a hash. The `+ 1` is C's `uint32_t` arithmetic (it wraps).
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) * 1.0 / div) * lat_scale,
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(ilono) * 1.0 / div) * long_scale,
            max: long_range.min + (f64::from(ilono.wrapping_add(1)) * 1.0 / div) * long_scale,
        },
    })
}

/// `geohashDecodeAreaToLongLat`: the centre of the cell, clamped to the indexable range.
fn area_centre(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(GEO_LONG_MIN, GEO_LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(GEO_LAT_MIN, GEO_LAT_MAX);
    [lon, lat]
}

const TWO63: f64 = (1u64 << 63) as f64;

/// C's `(long long)` of a double as x86-64 does it (`cvttsd2si`): truncation toward zero, and
/// the "integer indefinite" 2^63 (`i64::MIN`) for NaN and whatever does not fit.
pub fn cvttsd2si(d: f64) -> i64 {
    if (-TWO63..TWO63).contains(&d) { d as i64 } else { i64::MIN }
}

/// C's `(uint64_t)` of a double as GCC compiles it for x86-64: `cvttsd2si`, with 2^63 taken
/// off first (and its bit flipped back after) for values from 2^63 up. Negative scores wrap,
/// huge ones and `inf` give what the instruction gives. A geo command on a sorted set that is
/// not a geo set reads such scores.
pub fn double_to_u64(d: f64) -> u64 {
    // `comisd` reports NaN as "below", so NaN takes the first branch.
    if d.is_nan() || d < TWO63 { cvttsd2si(d) as u64 } else { (cvttsd2si(d - TWO63) as u64) ^ (1 << 63) }
}

/// `decodeGeohash(score, xy)`: a score as a 52-bit hash, back to (longitude, latitude).
pub fn decode_score(score: f64) -> [f64; 2] {
    let hash = HashBits { bits: double_to_u64(score), step: GEO_STEP_MAX };
    // The step is never 0, so the hash is never "zero" and decoding cannot fail.
    decode(LONG_RANGE, LAT_RANGE, hash).map_or([0.0, 0.0], |a| area_centre(&a))
}

/// `geohashAlign52Bits`: the hash as a score prefix.
pub fn align_52_bits(hash: HashBits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// The score of a point (GEOADD): the 52-bit hash at full precision.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, GEO_STEP_MAX).map(align_52_bits)
}

/// GEOHASH's 11 characters: the point decoded, re-encoded over the standard latitude range
/// [-90, 90], as base32 (the eleventh character is always `0`: there are only 52 bits).
pub fn standard_geohash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let xy = decode_score(score);
    let r = (Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 });
    let bits = encode(r.0, r.1, xy[0], xy[1], 26).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let shift = 64 - u32::from(hash.step) * 2;
    let zz = 0x5555555555555555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let shift = 64 - u32::from(hash.step) * 2;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> shift;
    hash.bits = x | y;
}

/// `GeoHashNeighbors`, in the order `membersOfAllNeighbors` scans them after the centre.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub south: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub north_east: HashBits,
    pub north_west: HashBits,
    pub south_east: HashBits,
    pub south_west: HashBits,
}

/// `geohashNeighbors`: the 8 cells around (longitude is x, latitude is y).
pub fn neighbors(hash: HashBits) -> Neighbors {
    let moved = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: moved(1, 0),
        west: moved(-1, 0),
        south: moved(0, -1),
        north: moved(0, 1),
        north_west: moved(-1, 1),
        north_east: moved(1, 1),
        south_east: moved(1, -1),
        south_west: moved(-1, -1),
    }
}

/// `geohashEstimateStepsByRadius`: the coarsest step whose cells still cover the radius
/// (one less towards the poles, where cells are narrower in meters).
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2; // Make sure the range is included in most of the base cases.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}
fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// `geohashBoundingBox`: min longitude, min latitude, max longitude, max latitude.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let [longitude, latitude] = shape.xy;
    let (height, width) = match shape.kind {
        ShapeKind::Circle { radius } => (shape.conversion * radius, shape.conversion * radius),
        ShapeKind::Box { width, height } => (shape.conversion * (height / 2.0), shape.conversion * (width / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    // The northern and southern hemispheres are mirrored: the wider edge is the one nearer the
    // equator.
    let southern = latitude < 0.0;
    let delta = if southern { long_delta_bottom } else { long_delta_top };
    [longitude - delta, latitude - lat_delta, longitude + delta, latitude + lat_delta]
}

/// `GeoHashRadius`: the centre cell and its neighbours to scan.
#[derive(Clone, Copy, Debug)]
pub struct SearchArea {
    pub hash: HashBits,
    pub neighbors: Neighbors,
}

impl SearchArea {
    /// The 9 cells in `membersOfAllNeighbors`'s order; excluded ones are `None`.
    pub fn cells(&self) -> [Option<HashBits>; 9] {
        let n = &self.neighbors;
        [self.hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west]
            .map(|h| if h.is_zero() { None } else { Some(h) })
    }
}

/// `geohashCalculateAreasByShapeWGS84`.
pub fn areas_by_shape(shape: &Shape) -> SearchArea {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let [longitude, latitude] = shape.xy;
    let radius_meters = match shape.kind {
        ShapeKind::Circle { radius } => radius,
        ShapeKind::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let at = |steps: u8| {
        let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps).unwrap_or(HashBits { bits: 0, step: steps });
        let area = decode(LONG_RANGE, LAT_RANGE, hash).unwrap_or_default();
        (hash, neighbors(hash), area)
    };
    let (mut hash, mut nb, mut area) = at(steps);

    // Near the edge of the covered area the estimated step may leave a strip of the bounding
    // box outside the 9 cells: then use cells twice as large.
    let decode_or_default = |h| decode(LONG_RANGE, LAT_RANGE, h).unwrap_or_default();
    let (north, south, east, west) =
        (decode_or_default(nb.north), decode_or_default(nb.south), decode_or_default(nb.east), decode_or_default(nb.west));
    let decrease_step =
        north.latitude.max < max_lat || south.latitude.min > min_lat || east.longitude.max < max_lon || west.longitude.min > min_lon;
    if steps > 1 && decrease_step {
        steps -= 1;
        (hash, nb, area) = at(steps);
    }

    // Exclude the neighbours the bounding box cannot reach.
    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            (nb.south, nb.south_west, nb.south_east) = (zero, zero, zero);
        }
        if area.latitude.max > max_lat {
            (nb.north, nb.north_east, nb.north_west) = (zero, zero, zero);
        }
        if area.longitude.min < min_lon {
            (nb.west, nb.south_west, nb.north_west) = (zero, zero, zero);
        }
        if area.longitude.max > max_lon {
            (nb.east, nb.south_east, nb.north_east) = (zero, zero, zero);
        }
    }
    SearchArea { hash, neighbors: nb }
}

/// `geohashGetLatDistance`.
pub fn get_lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// `geohashGetDistance`: the haversine great-circle distance in meters.
pub fn get_distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the distance is along the meridian, without the trigonometry.
    if v == 0.0 {
        return get_lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// `geoWithinShape` after decoding: the distance from the centre if `xy` is inside the shape.
pub fn distance_if_within(shape: &Shape, xy: [f64; 2]) -> Option<f64> {
    let [x1, y1] = shape.xy;
    let [x2, y2] = xy;
    match shape.kind {
        ShapeKind::Circle { radius } => {
            let d = get_distance(x1, y1, x2, y2);
            // `*distance > radius` is false for NaN: such a point counts as inside.
            if d > radius * shape.conversion { None } else { Some(d) }
        }
        ShapeKind::Box { width, height } => {
            // geohashGetDistanceIfInRectangle: the latitude check first, it is cheaper.
            let (width_m, height_m) = (width * shape.conversion, height * shape.conversion);
            if get_lat_distance(y2, y1) > height_m / 2.0 {
                return None;
            }
            if get_distance(x2, y2, x1, y2) > width_m / 2.0 {
                return None;
            }
            Some(get_distance(x1, y1, x2, y2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ffffff, 0x155aa55), (u32::MAX, 7)] {
            let d = deinterleave64(interleave64(x, y));
            assert_eq!((d as u32, (d >> 32) as u32), (x, y));
        }
    }

    /// The values Redis's own tests and documentation show for Palermo and Catania.
    #[test]
    fn scores_and_positions_as_redis() {
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(&standard_geohash(3479099956230698.0), b"sqc8b49rny0");
        let xy = decode_score(3479099956230698.0);
        assert_eq!(crate::cmd::long_double::LongDouble::from_f64(xy[0]).to_human_string(), "13.36138933897018433");
        assert_eq!(crate::cmd::long_double::LongDouble::from_f64(xy[1]).to_human_string(), "38.11555639549629859");
        let c = decode_score(3479447370796909.0);
        assert_eq!(format!("{:.4}", get_distance(xy[0], xy[1], c[0], c[1]) / 1000.0), "166.2742");
    }

    #[test]
    fn c_conversion_of_odd_scores() {
        assert_eq!(double_to_u64(-1.0), u64::MAX);
        assert_eq!(double_to_u64(f64::INFINITY), 0);
        assert_eq!(double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(double_to_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(double_to_u64(1e30), 0); // (2^63 after taking 2^63 off) ^ 2^63
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(200_000.0, 37.0), 6);
        assert_eq!(estimate_steps_by_radius(200_000.0, 70.0), 5);
        assert_eq!(estimate_steps_by_radius(200_000.0, -85.0), 4);
        assert_eq!(estimate_steps_by_radius(f64::INFINITY, 0.0), 1);
    }
}
