//! The stream family of the random differential runner (`tests/diff_random.rs`): XADD with
//! mostly growing explicit IDs (`<ms>-<seq>`, `<ms>-*`; never `*`, whose sequence depends on
//! the millisecond each side ran in), trimming of every kind, XDEL, XSETID, ranges, XREAD,
//! consumer groups (XREADGROUP new entries and history, NOACK, XACK, XCLAIM, XAUTOCLAIM,
//! XPENDING, XGROUP …) and XINFO. Idle times are compared as elapsed times (`~ms`), outside
//! MULTI only.

use super::{Gen, cmd};

impl Gen {
    /// A stream ID near the stream's top: mostly valid, sometimes special or invalid.
    fn stream_id(&mut self) -> String {
        let top = self.stream_ms;
        match self.rng.u32(0..20) {
            0..=11 => format!("{}-{}", self.rng.u64(0..top + 3), self.rng.u64(0..3)),
            12 | 13 => self.rng.u64(0..top + 3).to_string(),
            14 => self.pick(&["-", "+", "0", "0-0"]).to_string(),
            15 => format!("({}-{}", self.rng.u64(0..top + 3), self.rng.u64(0..3)),
            16 => self.pick(&["18446744073709551615-18446744073709551615", "18446744073709551615", "(0-0"]).to_string(),
            _ => self.pick(&["x", "1-x", "-1", "1--1", "", "$", ">"]).to_string(),
        }
    }

    /// The ID of a new entry: mostly above the top (so the XADD succeeds).
    fn new_stream_id(&mut self) -> String {
        self.stream_ms += self.rng.u64(0..3);
        let ms = self.stream_ms;
        match self.rng.u32(0..10) {
            0..=5 => format!("{ms}-*"),
            6..=8 => format!("{ms}-{}", self.rng.u64(0..4)),
            _ => self.stream_id(),
        }
    }

    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        // Often the same field names (SAMEFIELDS entries), sometimes others.
        let n = if self.pct(70) { 2 } else { self.rng.usize(1..4) };
        for i in 0..n {
            out.push(if self.pct(80) { ["f", "g", "h"][i].to_string() } else { self.member() });
            out.push(self.value());
        }
        out
    }

    fn trim_spec(&mut self) -> Vec<String> {
        let mut a = Vec::new();
        if self.pct(50) {
            a.push("MAXLEN".into());
        } else {
            a.push("MINID".into());
        }
        match self.rng.u32(0..3) {
            0 => a.push("~".into()),
            1 => a.push("=".into()),
            _ => {}
        }
        a.push(if a[0] == "MAXLEN" { self.pick(&["0", "1", "2", "5", "10", "-1", "x"]).to_string() } else { self.stream_id() });
        if self.pct(20) {
            a.extend(cmd(&["LIMIT", self.pick(&["0", "1", "3", "100", "-1"])]));
        }
        a
    }

    fn group(&mut self) -> String {
        self.pick(&["g1", "g1", "g1", "g1", "g2", "g2", "nogroup"]).to_string()
    }

    fn consumer(&mut self) -> String {
        self.pick(&["alice", "bob", "carol"]).to_string()
    }

    pub(super) fn stream_cmd(&mut self) -> (&'static str, Vec<String>) {
        // Two keys most of the time, so that groups and PELs build up between deletions.
        let k = if self.pct(85) { format!("stream:{}", self.rng.u32(0..2)) } else { self.key("stream") };
        let argv = match self.rng.u32(0..32) {
            0..=6 => {
                let mut a = cmd(&["XADD", &k]);
                if self.pct(10) {
                    a.push("NOMKSTREAM".into());
                }
                if self.pct(20) {
                    a.extend(self.trim_spec());
                }
                a.push(self.new_stream_id());
                a.extend(self.fields());
                a
            }
            7 => {
                let mut a = cmd(&["XTRIM", &k]);
                a.extend(self.trim_spec());
                a
            }
            8 => {
                let mut a = cmd(&["XDEL", &k]);
                for _ in 0..self.rng.usize(1..4) {
                    a.push(self.stream_id());
                }
                a
            }
            9 | 10 => {
                let c = self.pick(&["XRANGE", "XREVRANGE"]);
                let mut a = cmd(&[c, &k, &self.stream_id(), &self.stream_id()]);
                if self.pct(40) {
                    a.extend(cmd(&["COUNT", &self.int()]));
                }
                a
            }
            11 => cmd(&["XLEN", &k]),
            12 => {
                self.stream_ms += self.rng.u64(0..2);
                let id = if self.pct(80) { format!("{}-{}", self.stream_ms, self.rng.u64(0..4)) } else { self.stream_id() };
                let mut a = cmd(&["XSETID", &k, &id]);
                if self.pct(30) {
                    a.extend(cmd(&["ENTRIESADDED", self.pick(&["0", "5", "100", "-1"])]));
                }
                if self.pct(30) {
                    a.extend(cmd(&["MAXDELETEDID", &self.stream_id()]));
                }
                a
            }
            13 | 30 | 31 => {
                let id = match self.rng.u32(0..10) {
                    0..=4 => "0".to_string(),
                    5..=7 => "$".to_string(),
                    _ => self.stream_id(),
                };
                let mut a = cmd(&["XGROUP", "CREATE", &k, &self.group(), &id]);
                if self.pct(70) {
                    a.push("MKSTREAM".into());
                }
                if self.pct(20) {
                    a.extend(cmd(&["ENTRIESREAD", self.pick(&["0", "3", "-1", "-2"])]));
                }
                a
            }
            14 => {
                let sub = self.pick(&["SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER"]);
                let (g, c) = (self.group(), self.consumer());
                match sub {
                    "SETID" => cmd(&["XGROUP", sub, &k, &g, &self.stream_id()]),
                    "DESTROY" => cmd(&["XGROUP", sub, &k, &g]),
                    _ => cmd(&["XGROUP", sub, &k, &g, &c]),
                }
            }
            15..=18 => {
                let (g, c) = (self.group(), self.consumer());
                let mut a = cmd(&["XREADGROUP", "GROUP", &g, &c]);
                if self.pct(50) {
                    a.extend(cmd(&["COUNT", self.pick(&["1", "2", "5", "0"])]));
                }
                if self.pct(20) {
                    a.push("NOACK".into());
                }
                if !self.in_multi && self.pct(10) {
                    // Served at once, or a 1 ms timeout on both sides.
                    a.extend(cmd(&["BLOCK", "1"]));
                }
                let id = if self.pct(70) { ">".to_string() } else { self.stream_id() };
                a.extend(cmd(&["STREAMS", &k, &id]));
                a
            }
            19 => cmd(&["XACK", &k, &self.group(), &self.stream_id(), &self.stream_id()]),
            20 => cmd(&["XPENDING", &k, &self.group()]),
            21 => {
                let (g, c) = (self.group(), self.consumer());
                let mut a = cmd(&["XPENDING", &k, &g]);
                if self.pct(30) {
                    a.extend(cmd(&["IDLE", self.pick(&["0", "100000000"])]));
                }
                a.extend([self.stream_id(), self.stream_id(), self.pick(&["10", "1", "0"]).to_string()]);
                if self.pct(40) {
                    a.push(c);
                }
                return self.unordered("~ms ", a);
            }
            22 | 23 => {
                let (g, c) = (self.group(), self.consumer());
                let mut a = cmd(&["XCLAIM", &k, &g, &c, self.pick(&["0", "0", "100000000", "x"])]);
                for _ in 0..self.rng.usize(1..3) {
                    a.push(self.stream_id());
                }
                for opt in ["JUSTID", "FORCE"] {
                    if self.pct(30) {
                        a.push(opt.into());
                    }
                }
                if self.pct(20) {
                    a.extend(cmd(&["RETRYCOUNT", self.pick(&["0", "3", "-1"])]));
                }
                if self.pct(15) {
                    a.extend(cmd(&["TIME", self.pick(&["1700000000000", "0"])]));
                }
                if self.pct(15) {
                    a.extend(cmd(&["LASTID", &self.stream_id()]));
                }
                a
            }
            24 => {
                let (g, c) = (self.group(), self.consumer());
                let mut a = cmd(&["XAUTOCLAIM", &k, &g, &c, "0", &self.stream_id()]);
                if self.pct(40) {
                    a.extend(cmd(&["COUNT", self.pick(&["1", "2", "100", "0"])]));
                }
                if self.pct(30) {
                    a.push("JUSTID".into());
                }
                a
            }
            25 => cmd(&["XINFO", "STREAM", &k]),
            26 => cmd(&["XINFO", "STREAM", &k, "FULL"]),
            27 => cmd(&["XINFO", "GROUPS", &k]),
            28 => {
                let g = self.group();
                return self.unordered("~ms ", cmd(&["XINFO", "CONSUMERS", &k, &g]));
            }
            _ => {
                let mut a = cmd(&["XREAD"]);
                if self.pct(30) {
                    a.extend(cmd(&["COUNT", self.pick(&["1", "3"])]));
                }
                let other = self.key("stream");
                a.extend(cmd(&["STREAMS", &k, &other, &self.stream_id(), &self.stream_id()]));
                a
            }
        };
        ("", argv)
    }
}
