// Starting the engine's module worker from wherever the lab's files are served.
//
// A worker's script must be same-origin with the page: when the element's files come from
// another origin (a CDN, a docs site's asset host), `new Worker(cdnUrl, {type: 'module'})`
// throws a SecurityError. Then the worker is a same-origin blob whose only line imports the
// real worker.js from that origin. A cross-origin module import is allowed when the server
// answers with CORS headers (`Access-Control-Allow-Origin`), which the page's own
// `<script type="module" src=…>` of the element already needs. Inside, `import.meta.url` is the
// CDN's, so the engine (`../pkg/aof_lab.js`) and its wasm load from there too; the worker's
// origin is the page's, so its storage (OPFS, IndexedDB, Web Locks) is the page's.
//
// What the host allows: the CDN sends `Access-Control-Allow-Origin` for the element's files;
// a page with a Content-Security-Policy allows `worker-src blob:`, the CDN in `script-src` and
// `connect-src` (style.css, the scenarios and the wasm are fetched) and `'wasm-unsafe-eval'`.
// No COOP/COEP header is needed.

/** Why a cross-origin start may fail, said when the worker reports a bare error. */
export const CROSS_ORIGIN_HINT =
  'the lab’s files come from another origin: that server must answer with Access-Control-Allow-Origin, and a Content-Security-Policy must allow worker-src blob:';

/**
 * A module worker running `url` (a URL object or string, resolved against the page). Returns
 * the Worker; `worker.startHint` says what to check when it fails to start from another origin.
 */
export function startWorker(url) {
  const href = new URL(url, globalThis.location?.href);
  if (href.origin === globalThis.location?.origin) return new Worker(href, { type: 'module' });
  const source = new Blob([`import ${JSON.stringify(href.href)};\n`], { type: 'text/javascript' });
  const blobUrl = URL.createObjectURL(source);
  const worker = new Worker(blobUrl, { type: 'module' });
  worker.startHint = CROSS_ORIGIN_HINT;
  // The blob is needed until the worker has fetched it: its first message (or error) says so.
  const revoke = () => URL.revokeObjectURL(blobUrl);
  worker.addEventListener('message', revoke, { once: true });
  worker.addEventListener('error', revoke, { once: true });
  return worker;
}
