//! The random generator's commands for the bitmap, HyperLogLog and geo families
//! (`tests/diff_random.rs`): BITOP, BITPOS, BITFIELD[_RO] on the string keys; PFADD (now and
//! then hundreds of elements, which turns a sparse HLL dense), PFCOUNT, PFMERGE, PFDEBUG and
//! `hll-sparse-max-bytes` on `hll:*`; GEOADD, GEOPOS, GEOHASH, GEODIST and every search form,
//! STORE / STOREDIST included, on `geo:*`, points scattered around one centre so that searches
//! find some of them and sort them.

use super::{Gen, cmd};

impl Gen {
    /// A bit offset: mostly within the first bytes, sometimes `#N`, negative or not a number.
    fn bit_offset(&mut self, hash_ok: bool) -> String {
        match self.rng.u32(0..30) {
            0..=21 => self.rng.u32(0..120).to_string(),
            22..=24 if hash_ok => format!("#{}", self.rng.u32(0..12)),
            25..=27 => self.rng.u32(120..400).to_string(),
            28 => self.pick(&["-1", "x", "#-2", "4294967296"]).to_string(),
            _ => "0".into(),
        }
    }

    fn bitfield_type(&mut self) -> String {
        match self.rng.u32(0..40) {
            0..=14 => format!("u{}", self.rng.u32(1..64)),
            15..=29 => format!("i{}", self.rng.u32(1..65)),
            30..=38 => self.pick(&["u8", "i8", "i64", "u1", "i1", "u63", "i16", "u2"]).to_string(),
            _ => self.pick(&["u64", "i65", "u0", "I8", "x8"]).to_string(),
        }
    }

    fn bitfield_value(&mut self) -> String {
        match self.rng.u32(0..30) {
            0..=17 => self.rng.i64(-300..300).to_string(),
            18..=21 => self.rng.i64(i64::MIN..i64::MAX).to_string(),
            22..=25 => self.pick(&["9223372036854775807", "-9223372036854775808", "255", "-128"]).to_string(),
            26 => self.pick(&["x", "1.5", "99999999999999999999"]).to_string(),
            _ => self.rng.i64(0..4).to_string(),
        }
    }

    pub(crate) fn bitmap_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("str");
        let argv = match self.rng.u32(0..10) {
            0 | 1 => {
                let op = self.pick(&["AND", "OR", "XOR", "NOT", "and", "NOR"]);
                let mut a = cmd(&["BITOP", op, &self.key("str"), &k]);
                if !op.eq_ignore_ascii_case("not") || self.pct(10) {
                    for _ in 0..self.rng.usize(0..3) {
                        a.push(self.key("str"));
                    }
                }
                a
            }
            2 | 3 => {
                let mut a = cmd(&["BITPOS", &k, self.pick(&["0", "1", "1", "0", "2"])]);
                for _ in 0..self.rng.usize(0..3) {
                    a.push(self.rng.i64(-12..12).to_string());
                }
                if a.len() == 5 && self.pct(60) {
                    a.push(self.pick(&["BIT", "BYTE", "bit", "WORD"]).to_string());
                }
                a
            }
            4..=8 => {
                let ro = self.pct(20);
                let mut a = cmd(&[if ro { "BITFIELD_RO" } else { "BITFIELD" }, &k]);
                for _ in 0..self.rng.usize(0..5) {
                    match self.rng.u32(0..40) {
                        0..=11 => a.extend(["GET".into(), self.bitfield_type(), self.bit_offset(true)]),
                        12..=21 => a.extend(["SET".into(), self.bitfield_type(), self.bit_offset(true), self.bitfield_value()]),
                        22..=31 => a.extend(["INCRBY".into(), self.bitfield_type(), self.bit_offset(true), self.bitfield_value()]),
                        32..=37 => a.extend(["OVERFLOW".into(), self.pick(&["WRAP", "SAT", "FAIL", "fail", "sat"]).to_string()]),
                        38 => a.extend(["OVERFLOW".into(), "NOPE".into()]),
                        _ => a.push(self.pick(&["GET", "SET", "FOO"]).to_string()),
                    }
                }
                a
            }
            _ => cmd(&["SETBIT", &k, &self.bit_offset(false), self.pick(&["0", "1"])]),
        };
        ("", argv)
    }

    /// An HLL element: a pool large enough for registers to keep rising.
    fn hll_element(&mut self) -> String {
        match self.rng.u32(0..60) {
            0..=54 => format!("e{}", self.rng.u32(0..3000)),
            55..=58 => self.value(),
            _ => "e2119568080".into(), // a register of 35: turns a sparse HLL dense at once
        }
    }

    pub(crate) fn hll_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("hll");
        let argv = match self.rng.u32(0..14) {
            0..=3 => {
                let mut a = cmd(&["PFADD", &k]);
                let n = if self.pct(6) { self.rng.usize(300..900) } else { self.rng.usize(0..12) };
                for _ in 0..n {
                    a.push(self.hll_element());
                }
                a
            }
            4..=6 => cmd(&["PFCOUNT", &k]),
            7 => cmd(&["PFCOUNT", &k, &self.key("hll"), &self.key("hll")]),
            8 | 9 => {
                let mut a = cmd(&["PFMERGE", &k]);
                for _ in 0..self.rng.usize(0..3) {
                    a.push(self.key("hll"));
                }
                a
            }
            10 => cmd(&["PFDEBUG", self.pick(&["ENCODING", "DECODE", "TODENSE", "todense", "NOPE"]), &k]),
            11 => cmd(&["GET", &k]),
            12 if !self.in_multi => cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", self.pick(&["3000", "3000", "200", "0", "x"])]),
            _ => cmd(&["PFDEBUG", "ENCODING", &k]),
        };
        ("", argv)
    }

    /// A coordinate pair, mostly in a 4° square around (2, 48), sometimes on the edges of what
    /// can be indexed, sometimes invalid.
    fn lon_lat(&mut self) -> [String; 2] {
        match self.rng.u32(0..30) {
            0..=26 => [format!("{:.6}", self.rng.f64() * 4.0), format!("{:.6}", 46.0 + self.rng.f64() * 4.0)],
            27 => [self.pick(&["180", "-180", "0"]).to_string(), self.pick(&["85.05112878", "-85.05112878", "0"]).to_string()],
            28 => [self.pick(&["181", "x", "inf", "2"]).to_string(), self.pick(&["48", "86", "nan"]).to_string()],
            _ => [format!("{:.3}", self.rng.f64() * 360.0 - 180.0), format!("{:.3}", self.rng.f64() * 170.0 - 85.0)],
        }
    }

    /// A point in the square most searches look at.
    fn valid_lon_lat(&mut self) -> [String; 2] {
        [format!("{:.6}", self.rng.f64() * 4.0), format!("{:.6}", 46.0 + self.rng.f64() * 4.0)]
    }

    fn radius_unit(&mut self) -> [String; 2] {
        let r = match self.rng.u32(0..12) {
            0..=8 => self.rng.u32(20..500).to_string(),
            9 => self.pick(&["0", "0.5", "20000"]).to_string(),
            10 => self.pick(&["-1", "x"]).to_string(),
            _ => format!("{}.{}", self.rng.u32(0..50), self.rng.u32(0..100)),
        };
        let unit = if self.pct(4) { "parsec".to_string() } else { self.pick(&["km", "km", "m", "mi", "ft", "KM"]).to_string() };
        let r = if unit.eq_ignore_ascii_case("m") || unit == "ft" { format!("{r}000") } else { r };
        [r, unit]
    }

    /// The options of the search commands, in any order.
    fn geo_options(&mut self, a: &mut Vec<String>, store: bool) {
        for _ in 0..self.rng.usize(0..4) {
            match self.rng.u32(0..10) {
                0 => a.push("WITHDIST".into()),
                1 => a.push("WITHCOORD".into()),
                2 => a.push("WITHHASH".into()),
                3 => a.push(self.pick(&["ASC", "DESC"]).to_string()),
                4 | 5 => a.extend(["COUNT".into(), self.pick(&["1", "2", "3", "5", "0", "x"]).to_string()]),
                6 => a.push("ANY".into()),
                7 if store => a.extend([self.pick(&["STORE", "STOREDIST"]).to_string(), self.key("geo")]),
                _ => a.push(self.pick(&["ASC", "WITHDIST"]).to_string()),
            }
        }
    }

    /// A geo set member: a pool of 40 names (and the shared member pool now and then).
    fn geo_member(&mut self) -> String {
        if self.pct(10) { self.member() } else { format!("g{}", self.rng.u32(0..40)) }
    }

    pub(crate) fn geo_cmd(&mut self) -> (&'static str, Vec<String>) {
        let k = self.key("geo");
        let argv = match self.rng.u32(0..23) {
            0..=7 => {
                let mut a = cmd(&["GEOADD", &k]);
                while self.pct(25) {
                    a.push(if self.pct(5) { "GT".to_string() } else { self.pick(&["NX", "XX", "CH", "ch"]).to_string() });
                }
                let n = if self.pct(8) { self.rng.usize(40..160) } else { self.rng.usize(2..16) };
                let bad = if self.pct(8) { self.rng.usize(0..n) } else { n };
                for i in 0..n {
                    let [lon, lat] = if i == bad { self.lon_lat() } else { self.valid_lon_lat() };
                    a.extend([lon, lat, self.geo_member()]);
                }
                if self.pct(3) {
                    a.pop();
                }
                a
            }
            8 => cmd(&["GEOPOS", &k, &self.geo_member(), &self.geo_member()]),
            9 => cmd(&["GEOHASH", &k, &self.geo_member(), &self.geo_member()]),
            10 | 11 => {
                let mut a = cmd(&["GEODIST", &k, &self.geo_member(), &self.geo_member()]);
                if self.pct(60) {
                    a.push(self.pick(&["m", "km", "mi", "ft", "x"]).to_string());
                }
                a
            }
            12..=14 => {
                let name = self.pick(&["GEORADIUS", "GEORADIUS", "GEORADIUS_RO"]);
                let [lon, lat] = self.lon_lat();
                let [r, u] = self.radius_unit();
                let mut a = cmd(&[name, &k, &lon, &lat, &r, &u]);
                self.geo_options(&mut a, name == "GEORADIUS");
                a
            }
            15 | 16 => {
                let name = self.pick(&["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]);
                let [r, u] = self.radius_unit();
                let mut a = cmd(&[name, &k, &self.geo_member(), &r, &u]);
                self.geo_options(&mut a, name == "GEORADIUSBYMEMBER");
                a
            }
            _ => {
                let store = self.pct(35);
                let mut a = if store { cmd(&["GEOSEARCHSTORE", &self.key("geo"), &k]) } else { cmd(&["GEOSEARCH", &k]) };
                let from = |g: &mut Gen, a: &mut Vec<String>| {
                    if g.pct(50) {
                        a.extend(["FROMMEMBER".into(), g.geo_member()]);
                    } else {
                        let [lon, lat] = g.lon_lat();
                        a.extend(["FROMLONLAT".into(), lon, lat]);
                    }
                };
                let by = |g: &mut Gen, a: &mut Vec<String>| {
                    let [r, u] = g.radius_unit();
                    if g.pct(50) {
                        a.extend(["BYRADIUS".into(), r, u]);
                    } else {
                        let w = g.rng.u32(0..600).to_string();
                        a.extend(["BYBOX".into(), w, r, u]);
                    }
                };
                if self.pct(50) {
                    from(self, &mut a);
                    by(self, &mut a);
                } else {
                    by(self, &mut a);
                    if self.pct(90) {
                        from(self, &mut a);
                    }
                }
                self.geo_options(&mut a, false);
                if store && self.pct(40) {
                    a.push("STOREDIST".into());
                }
                a
            }
        };
        ("", argv)
    }
}
