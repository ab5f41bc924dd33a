//! Geo, HyperLogLog and bitfield replies in the browser: every command of
//! `tests/fixtures/bitsgeo_golden.txt` (what redis-server 7.0.15 answered, checked against a
//! real server by `tests/hll_geo_vs_redis.rs`) gives the same RESP bytes in wasm, where `sin`,
//! `cos` and `asin` come from Rust's libm port instead of glibc.

use super::{NOW, engine};
use wasm_bindgen_test::wasm_bindgen_test;

const GOLDEN: &str = include_str!("../fixtures/bitsgeo_golden.txt");

#[wasm_bindgen_test]
fn geo_hll_and_bitfield_replies_are_redis_bytes() {
    let mut e = engine("{}");
    let mut compared = 0;
    for entry in GOLDEN.lines() {
        let (line, hex) = entry.split_once('\t').expect("command<TAB>reply");
        let mut request = Vec::new();
        aof_lab::resp::encode_command(&mut request, &line.split_whitespace().collect::<Vec<_>>());
        let reply: String = e.execute_resp(&request, NOW).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(reply, hex, "{line}");
        compared += 1;
    }
    assert!(compared > 300, "{compared} commands");
}
