//! The wasm facade in a browser's main thread (headless Chromium and Firefox via
//! `wasm-pack test`). The same cases run in a dedicated worker (`wasm_worker.rs`), where the lab
//! actually runs the engine; see `tests/wasm_cases/mod.rs`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

mod wasm_cases;

#[wasm_bindgen_test]
fn runs_in_the_main_thread() {
    assert!(wasm_cases::global_has("document"), "a window has a document");
}
