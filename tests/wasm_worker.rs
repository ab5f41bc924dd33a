//! The wasm facade in a dedicated Web Worker, where the lab runs the engine (`www/worker.js`).
//! Same cases as the main-thread file; see `tests/wasm_cases/mod.rs`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod wasm_cases;

#[wasm_bindgen_test]
fn runs_in_a_dedicated_worker() {
    assert!(!wasm_cases::global_has("document"), "a worker has no document");
    assert!(wasm_cases::global_has("postMessage"), "a dedicated worker posts messages");
}
