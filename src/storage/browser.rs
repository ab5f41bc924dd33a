//! What the two browser backends ([`super::opfs`], [`super::idb`]) share: turning a rejected
//! promise (a `DOMException`) into a storage [`Error`] of the right kind, a timer to back off
//! with, the origin's quota, and deleting a namespace (the UI's "reset", and test cleanup); the
//! opening of either backend for a lab ([`open_opfs`], [`open_indexeddb`]: the storage and the
//! handles the facade keeps, or why it cannot be used here, in a reader's words); and the
//! browser's monotonic clock, which the host lends the engine to time its loads.
//!
//! Namespaces name one engine's `dir`: an OPFS directory `aof-lab/<namespace>/` and an IndexedDB
//! database `aof-lab:<namespace>`. They are short identifiers, checked by [`check_namespace`].

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::idb::{IdbDurability, IdbStorage};
use super::opfs::{OpfsPool, OpfsStorage};
use super::{Error, ErrorKind, Result, Storage};

/// The OPFS directory under which every namespace has its own directory.
pub const OPFS_ROOT: &str = "aof-lab";

/// The IndexedDB database of a namespace.
pub fn idb_name(namespace: &str) -> String {
    format!("aof-lab:{namespace}")
}

/// A namespace is a non-empty name of at most 64 characters from `[A-Za-z0-9._-]`, not `.` or
/// `..`: it becomes a directory name in OPFS, where `/` and `\` are refused.
pub fn check_namespace(namespace: &str) -> Result<()> {
    let ok = !namespace.is_empty()
        && namespace.len() <= 64
        && namespace != "."
        && namespace != ".."
        && namespace.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(Error::new(ErrorKind::InvalidInput, format!("invalid storage namespace '{namespace}'"))) }
}

/// The `name` of a `DOMException` (or of any error object), e.g. `QuotaExceededError`.
pub fn error_name(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("name")).ok().and_then(|n| n.as_string()).unwrap_or_default()
}

fn error_text(e: &JsValue) -> String {
    let message = Reflect::get(e, &JsValue::from_str("message")).ok().and_then(|m| m.as_string());
    match (error_name(e), message) {
        (n, Some(m)) if !n.is_empty() => format!("{n}: {m}"),
        (_, Some(m)) => m,
        (n, None) if !n.is_empty() => n,
        _ => format!("{e:?}"),
    }
}

/// A JS error as a storage error. A quota error is ENOSPC for the engine (Redis's `-MISCONF ...
/// No space left on device`); a lock held elsewhere or a refused origin (private window) makes
/// the backend unavailable, which the facade's fallback ladder reports.
pub fn js_error(e: JsValue, context: &str) -> Error {
    let kind = match error_name(&e).as_str() {
        "QuotaExceededError" => ErrorKind::NoSpace,
        "NotFoundError" => ErrorKind::NotFound,
        "NoModificationAllowedError" | "SecurityError" | "InvalidStateError" | "NotAllowedError" | "VersionError" => ErrorKind::Unavailable,
        "TypeError" => ErrorKind::InvalidInput,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{context}: {}", error_text(&e)))
}

/// Awaits a promise, mapping a rejection with [`js_error`].
pub async fn wait(p: Promise, context: &str) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| js_error(e, context))
}

/// Resolves after `ms` milliseconds (`setTimeout`, in a window or a worker).
pub async fn sleep(ms: u32) {
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout =
            Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout")).ok().and_then(|f| f.dyn_into::<Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = JsFuture::from(p).await;
}

/// Milliseconds on the host's wall clock (backoff deadlines only; the engine never sees it).
pub fn wall_ms() -> f64 {
    js_sys::Date::now()
}

/// `navigator.storage`, in a window or a worker.
pub fn storage_manager() -> Result<web_sys::StorageManager> {
    let unavailable = || Error::new(ErrorKind::Unavailable, "navigator.storage is not available (not a secure context?)");
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).map_err(|_| unavailable())?;
    let storage = Reflect::get(&navigator, &JsValue::from_str("storage")).map_err(|_| unavailable())?;
    if storage.is_undefined() || storage.is_null() {
        return Err(unavailable());
    }
    Ok(storage.unchecked_into())
}

/// The global `indexedDB` factory (absent in some private modes).
pub fn idb_factory() -> Result<web_sys::IdbFactory> {
    let f = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB")).map_err(|e| js_error(e, "indexedDB"))?;
    if f.is_undefined() || f.is_null() {
        return Err(Error::new(ErrorKind::Unavailable, "IndexedDB is not available"));
    }
    Ok(f.unchecked_into())
}

/// Settles when an IndexedDB request does: its `result`, or its error.
pub async fn request(req: &web_sys::IdbRequest, context: &str) -> Result<JsValue> {
    let p = Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(p).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    match outcome {
        Ok(_) => req.result().map_err(|e| js_error(e, context)),
        Err(_) => Err(match req.error() {
            Ok(Some(e)) => js_error(e.into(), context),
            _ => Error::new(ErrorKind::Io, format!("{context}: request failed")),
        }),
    }
}

/// `navigator.storage.estimate()`: `(usage, quota)` in bytes for this origin, when the browser
/// tells.
pub async fn estimate_quota() -> Option<(u64, u64)> {
    let p = storage_manager().ok()?.estimate().ok()?;
    let e = JsFuture::from(p).await.ok()?;
    let field = |name: &str| Reflect::get(&e, &JsValue::from_str(name)).ok().and_then(|v| v.as_f64()).map(|v| v as u64);
    Some((field("usage")?, field("quota")?))
}

/// How long deleting an IndexedDB namespace waits for other connections to close.
const DELETE_WAIT_MS: u32 = 5_000;

/// Deletes everything stored under `namespace` by `backend` (`"opfs"` or `"indexeddb"`). The
/// namespace must not be open: OPFS refuses to remove files with open access handles
/// (`Unavailable`, after retrying for [`super::opfs::LOCK_WAIT_MS`]), and IndexedDB reports
/// `Unavailable` while another connection is open. Deleting a namespace that does not exist is
/// not an error.
pub async fn delete_namespace(backend: &str, namespace: &str) -> Result<()> {
    check_namespace(namespace)?;
    match backend {
        "opfs" => {
            let root: web_sys::FileSystemDirectoryHandle = wait(storage_manager()?.get_directory(), "OPFS root").await?.unchecked_into();
            let base = match wait(root.get_directory_handle(OPFS_ROOT), OPFS_ROOT).await {
                Ok(d) => d.unchecked_into::<web_sys::FileSystemDirectoryHandle>(),
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let opts = web_sys::FileSystemRemoveOptions::new();
            opts.set_recursive(true);
            // A sync access handle closed a moment ago (the engine just freed, a background
            // top-up of its pool still landing) may still hold its file's lock in the browser's
            // storage process: retry with backoff, as opening a pool does, before saying so.
            let deadline = wall_ms() + f64::from(super::opfs::LOCK_WAIT_MS);
            let mut backoff = 10;
            loop {
                match wait(base.remove_entry_with_options(namespace, &opts), namespace).await {
                    Err(e) if e.kind == ErrorKind::Unavailable && wall_ms() < deadline => {
                        sleep(backoff).await;
                        backoff = (backoff * 2).min(400);
                    }
                    Err(e) if e.kind != ErrorKind::NotFound => return Err(e),
                    _ => return Ok(()),
                }
            }
        }
        "indexeddb" => {
            let req = idb_factory()?.delete_database(&idb_name(namespace)).map_err(|e| js_error(e, "deleteDatabase"))?;
            let deleted = Promise::new(&mut |resolve, reject| {
                req.set_onsuccess(Some(&resolve));
                req.set_onerror(Some(&reject));
            });
            // `blocked` also fires for connections that are closing (close() waits for their
            // transactions), so it is no verdict: give them a few seconds, then say so.
            let timeout = Promise::new(&mut |resolve, _| {
                let cb = resolve.bind1(&JsValue::NULL, &JsValue::from_str("timeout"));
                let set_timeout =
                    Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout")).ok().and_then(|f| f.dyn_into::<Function>().ok());
                if let Some(f) = set_timeout {
                    let _ = f.call2(&JsValue::NULL, &cb, &JsValue::from(DELETE_WAIT_MS));
                }
            });
            let outcome = JsFuture::from(Promise::race(&js_sys::Array::of2(&deleted, &timeout))).await;
            req.set_onsuccess(None);
            req.set_onerror(None);
            match outcome {
                Ok(v) if v.as_string().as_deref() == Some("timeout") => {
                    Err(Error::new(ErrorKind::Unavailable, format!("{}: still open elsewhere", idb_name(namespace))))
                }
                Ok(_) => Ok(()),
                Err(_) => Err(Error::new(ErrorKind::Io, format!("{}: deleteDatabase failed", idb_name(namespace)))),
            }
        }
        other => Err(Error::new(ErrorKind::InvalidInput, format!("unknown storage backend '{other}'"))),
    }
}

/// `performance.now()` in microseconds (a window's or a worker's; 0 where there is none): the
/// [`crate::load_time::LoadClock`] of a lab in the browser.
pub fn performance_now_us() -> u64 {
    let Ok(performance) = Reflect::get(&js_sys::global(), &JsValue::from_str("performance")) else { return 0 };
    let now = Reflect::get(&performance, &JsValue::from_str("now")).ok().and_then(|f| f.dyn_into::<Function>().ok());
    let ms = now.and_then(|f| f.call0(&performance).ok()).and_then(|v| v.as_f64()).unwrap_or(0.0);
    // Milliseconds with a fraction (coarsened by the browser to 5 µs … 100 µs).
    (ms * 1000.0) as u64
}

/// A browser backend opened for a lab: its storage, and the handle the facade keeps beside it
/// (OPFS's pool, topped up between turns; IndexedDB's commit promise, awaited before a reply
/// under `always`).
pub struct Opened {
    pub storage: Box<dyn Storage>,
    pub opfs_pool: Option<OpfsPool>,
    pub idb: Option<IdbDurability>,
}

/// Whether `globalThis.a.b…` exists (not undefined or null).
fn global_has(path: &[&str]) -> bool {
    let mut v: JsValue = js_sys::global().into();
    for name in path {
        match Reflect::get(&v, &JsValue::from_str(name)) {
            Ok(next) if !next.is_undefined() && !next.is_null() => v = next,
            _ => return false,
        }
    }
    true
}

/// Why a backend could not be used, in words a reader of the page understands.
fn unusable(e: &Error) -> String {
    match e.kind {
        ErrorKind::Unavailable => {
            format!("unavailable: another tab or worker holds it, or the browser refuses storage here (a private window) ({})", e.message)
        }
        ErrorKind::NoSpace => format!("over the storage quota ({})", e.message),
        _ => e.message.clone(),
    }
}

/// The OPFS backend of `namespace`, or why it cannot be used here.
pub async fn open_opfs(namespace: &str) -> std::result::Result<Opened, String> {
    if !global_has(&["navigator", "storage", "getDirectory"]) {
        return Err("this browser has no Origin Private File System (or the page is not a secure context)".into());
    }
    if !global_has(&["FileSystemSyncAccessHandle"]) {
        return Err("synchronous access handles exist only in a dedicated worker".into());
    }
    let storage = OpfsStorage::open(namespace).await.map_err(|e| unusable(&e))?;
    let pool = storage.pool();
    Ok(Opened { storage: Box::new(storage), opfs_pool: Some(pool), idb: None })
}

/// The IndexedDB backend of `namespace`, or why it cannot be used here.
pub async fn open_indexeddb(namespace: &str) -> std::result::Result<Opened, String> {
    if !global_has(&["indexedDB"]) {
        return Err("IndexedDB is not available (a private window, or storage blocked for this site)".into());
    }
    let db = IdbStorage::open(namespace).await.map_err(|e| unusable(&e))?;
    let idb = Some(db.durability());
    Ok(Opened { storage: Box::new(db), opfs_pool: None, idb })
}
