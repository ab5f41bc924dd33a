//! The browser storage backends on a page's main thread, where the facade's fallback ladder
//! starts when no worker is used: OPFS sync access handles do not exist there (a clear
//! `Unavailable`, never a thrown exception), IndexedDB does. The full suites run in a dedicated
//! worker (`tests/wasm_storage.rs`).
#![cfg(target_arch = "wasm32")]

use aof_lab::storage::idb::IdbStorage;
use aof_lab::storage::opfs::OpfsStorage;
use aof_lab::storage::{ErrorKind, OpenMode, Storage, browser};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn opfs_is_unavailable_on_the_main_thread() {
    let err = OpfsStorage::open("t-main-opfs").await.err().expect("no sync access handles in a window");
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("dedicated worker"), "{err}");
}

#[wasm_bindgen_test]
async fn indexeddb_works_on_the_main_thread() {
    let ns = "t-main-idb";
    browser::delete_namespace("indexeddb", ns).await.unwrap();
    let mut s = IdbStorage::open(ns).await.unwrap();
    let d = s.durability();
    s.open("f", OpenMode::Create).unwrap();
    s.append("f", b"main").unwrap();
    s.sync("f").unwrap();
    d.committed().await.unwrap();
    drop(s);
    let mut s = IdbStorage::open(ns).await.unwrap();
    assert_eq!(s.read_all("f").unwrap(), b"main");
    drop(s);
    browser::delete_namespace("indexeddb", ns).await.unwrap();
}
