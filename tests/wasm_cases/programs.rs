//! The facade for programs (a host page's code, Node): `call` gives replies as JS values beside
//! redis-cli's text, on the wire connection; bad arguments throw before anything changes; and
//! `Engine.open({fallback: false})` refuses to step down the ladder.

use super::{NOW, console, engine, error_message, field, obj};
use aof_lab::wasm::WasmEngine;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn call(e: &mut WasmEngine, command: JsValue) -> JsValue {
    e.call(command, Some(NOW)).unwrap_or_else(|err| panic!("{}", error_message(err)))
}

fn value(e: &mut WasmEngine, line: &str) -> JsValue {
    field(&call(e, line.into()), "value")
}

#[wasm_bindgen_test]
fn call_returns_values_beside_the_redis_cli_text() {
    let mut e = engine(r#"{"appendonly":true}"#);
    assert_eq!(value(&mut e, "SET k v").as_string().as_deref(), Some("OK"));
    assert_eq!(value(&mut e, "RPUSH l a b c").as_f64(), Some(3.0));
    let list = js_sys::Array::from(&value(&mut e, "LRANGE l 0 -1"));
    assert_eq!(list.iter().map(|v| v.as_string().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(value(&mut e, "GET missing").is_null());
    // Past 2^53 a number would round: a BigInt keeps every digit.
    let big = value(&mut e, "INCRBY n 9007199254740993");
    assert_eq!(big.dyn_into::<js_sys::BigInt>().map(|b| String::from(b.to_string(10).unwrap())).as_deref(), Ok("9007199254740993"));
    // Bytes that are not UTF-8 stay bytes; an argv may carry them.
    let argv = js_sys::Array::of3(&"SET".into(), &"bin".into(), &js_sys::Uint8Array::from(&[0xff_u8, 0x00][..]));
    call(&mut e, argv.into());
    let bin = value(&mut e, "GET bin");
    assert_eq!(bin.dyn_into::<js_sys::Uint8Array>().map(|a| a.to_vec()), Ok(vec![0xff, 0x00]));
    // An error reply is a value (an Error named ReplyError), and text is redis-cli's.
    let r = call(&mut e, "INCR k".into());
    let err = field(&r, "value").dyn_into::<js_sys::Error>().expect("an Error");
    assert_eq!(String::from(err.name()), "ReplyError");
    assert_eq!(String::from(err.message()), "ERR value is not an integer or out of range");
    assert_eq!(field(&r, "text").as_string().as_deref(), Some("(error) ERR value is not an integer or out of range"));
    assert_eq!(field(&call(&mut e, "LRANGE l 0 1".into()), "text").as_string().as_deref(), Some("1) \"a\"\n2) \"b\""));
    // A blocked command is pending; its reply comes with a later call.
    let blocked = call(&mut e, "BLPOP q 0".into());
    assert_eq!(field(&blocked, "pending").as_bool(), Some(true));
    assert!(field(&blocked, "value").is_undefined());
    assert_eq!(console(&mut e, &["RPUSH q x"]), ["(integer) 1"]);
    let next = call(&mut e, "PING".into());
    assert_eq!(field(&next, "value").as_string().as_deref(), Some("PONG"));
    let earlier = js_sys::Array::from(&field(&next, "earlier"));
    assert_eq!(earlier.length(), 1);
    assert_eq!(field(&earlier.get(0), "text").as_string().as_deref(), Some("1) \"q\"\n2) \"x\""));
    // What the program wrote is in the AOF like any client's.
    assert_eq!(console(&mut e, &["LRANGE l 0 -1"]), ["1) \"a\"\n2) \"b\"\n3) \"c\""]);
}

#[wasm_bindgen_test]
async fn bad_arguments_throw_before_anything_changes() {
    let mut e = engine(r#"{"appendonly":true}"#);
    assert_eq!(console(&mut e, &["SET kept 1"]), ["OK"]);
    // A Blob is not bytes (it used to import as an empty file and leave the server down).
    let blob_ctor = js_sys::Reflect::get(&js_sys::global(), &"Blob".into()).unwrap();
    let parts = js_sys::Array::of1(&JsValue::from_str("x"));
    let blob = js_sys::Reflect::construct(blob_ctor.unchecked_ref::<js_sys::Function>(), &js_sys::Array::of1(&parts)).unwrap();
    let err =
        e.import_files(vec!["appendonlydir/appendonly.aof.1.incr.aof".into()], js_sys::Array::of1(&blob), NOW).map(|_| ()).unwrap_err();
    assert!(error_message(err).contains("got a Blob: read it first"));
    let err = e.import("appendonly.aof", blob, NOW).map(|_| ()).unwrap_err();
    assert!(error_message(err).contains("expected bytes"));
    let err = e
        .import_files(vec!["a".into(), "b".into()], js_sys::Array::of1(&js_sys::Uint8Array::new_with_length(1)), NOW)
        .map(|_| ())
        .unwrap_err();
    assert!(error_message(err).contains("2 paths but 1 blobs"));
    assert_eq!(console(&mut e, &["GET kept"]), ["\"1\""], "the server is up with its data");
    let err = e.call(JsValue::from_f64(42.0), None).map(|_| ()).unwrap_err();
    assert!(error_message(err).starts_with("call: command must be a string"));
    assert!(WasmEngine::new(JsValue::UNDEFINED, f64::NAN).map(|_| ()).is_err(), "now is required");
    let err = WasmEngine::open(obj(&[("backnd", "memory".into())]), NOW).await.map(|_| ()).unwrap_err();
    assert!(error_message(err).contains("unknown option 'backnd'"));
    let err = WasmEngine::open(obj(&[("fallback", "no".into())]), NOW).await.map(|_| ()).unwrap_err();
    assert!(error_message(err).contains("'fallback' must be true or false"));
}

#[wasm_bindgen_test]
async fn open_with_fallback_false_keeps_to_the_backend_asked_for() {
    let namespace = format!("facade-nofallback-{}", js_sys::Math::random().to_bits());
    let options = obj(&[("backend", "opfs".into()), ("namespace", namespace.as_str().into()), ("fallback", JsValue::FALSE)]);
    let opened = WasmEngine::open(options, NOW).await;
    if super::global_has("document") {
        // A window has no synchronous access handles: OPFS cannot open, and no other backend is taken.
        let err = error_message(opened.map(|_| ()).unwrap_err());
        assert!(
            err.starts_with("Engine.open: the opfs backend did not open and fallback is false: OPFS: synchronous access handles"),
            "{err}"
        );
    } else {
        let e = opened.unwrap_or_else(|err| panic!("{}", error_message(err)));
        assert_eq!(e.backend(), "opfs");
        drop(e);
        aof_lab::storage::browser::delete_namespace("opfs", &namespace).await.expect("cleanup");
    }
}
