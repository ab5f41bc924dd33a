// Drives the benchmark from the page (see bench-browser.mjs).
import { LAB_CONFIG, MSG, message } from '../../../www/protocol.js';
import { VALUE, record } from './record.js';

/**
 * The lab's worker on `backend` with appendfsync `policy` and the page's other defaults:
 * `clients` commands are sent together (one event-loop turn), the next batch when every reply
 * is back, for `ms` of wall time. Resolves to {writes, seconds, backend}.
 */
window.runEngine = ({ backend, policy, clients, ms, namespace }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../../../www/worker.js', import.meta.url), { type: 'module' });
    let id = 0;
    let waiting = 0;
    let acked = 0;
    let start = 0;
    let used = '';
    const batch = () => {
      if (performance.now() - start >= ms) {
        const seconds = (performance.now() - start) / 1000;
        worker.terminate();
        resolve({ writes: acked, seconds, backend: used });
        return;
      }
      waiting = clients;
      for (let c = 0; c < clients; c++) {
        id += 1;
        worker.postMessage(message(MSG.EXEC, { id, line: `SET key:${id} ${VALUE}` }));
      }
    };
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === MSG.READY) {
        used = m.backend;
        start = performance.now();
        batch();
      } else if (m.type === MSG.REPLY || m.type === MSG.TURN_REPLIES) {
        for (const r of m.replies ?? [m]) {
          if (r.text !== 'OK') {
            worker.terminate();
            reject(new Error(`SET answered ${r.text}`));
            return;
          }
          acked += 1;
          waiting -= 1;
        }
        if (waiting === 0) batch();
      } else if (m.type === MSG.FATAL || m.type === MSG.READONLY) {
        worker.terminate();
        reject(new Error(m.message));
      }
    };
    worker.postMessage(message(MSG.INIT, { backend, namespace, config: { ...LAB_CONFIG, appendfsync: policy } }));
  });

/** A bare loop (bare-writes-worker.js) `kind` for `ms`: resolves to {records, seconds}. */
window.runBare = ({ kind, ms, per, namespace }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bare-writes-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data);
    };
    worker.postMessage({ kind, ms, per, namespace });
  });

/**
 * The bare loop `kind` behind the thread hop (bare-writes-worker.js, `serve`): `clients` records
 * sent as messages together, the next batch when all are acknowledged, for `ms`. Resolves to
 * {records, seconds}.
 */
window.runServed = ({ kind, clients, ms, namespace }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bare-writes-worker.js', import.meta.url), { type: 'module' });
    let n = 0;
    let waiting = 0;
    let start = 0;
    const batch = () => {
      if (performance.now() - start >= ms) {
        worker.terminate();
        resolve({ records: n, seconds: (performance.now() - start) / 1000 });
        return;
      }
      waiting = clients;
      for (let c = 0; c < clients; c++) worker.postMessage({ record: record(n + c) });
    };
    worker.onmessage = (e) => {
      if (e.data.error) {
        worker.terminate();
        reject(new Error(e.data.error));
      } else if (e.data.ready) {
        start = performance.now();
        batch();
      } else {
        n += e.data.acked;
        waiting -= e.data.acked;
        if (waiting === 0) batch();
      }
    };
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ serve: kind, namespace });
  });

/**
 * The thread hop alone: `clients` messages to a worker that answers each at once (no engine, no
 * storage), the next batch when every answer is back, for `ms`. Resolves to {records, seconds}.
 */
window.runEcho = ({ clients, ms }) =>
  new Promise((resolve) => {
    const worker = new Worker(new URL('./bare-writes-worker.js', import.meta.url), { type: 'module' });
    let waiting = 0;
    let n = 0;
    const start = performance.now();
    const batch = () => {
      if (performance.now() - start >= ms) {
        worker.terminate();
        resolve({ records: n, seconds: (performance.now() - start) / 1000 });
        return;
      }
      waiting = clients;
      for (let c = 0; c < clients; c++) worker.postMessage({ echo: n + c });
    };
    worker.onmessage = () => {
      n += 1;
      waiting -= 1;
      if (waiting === 0) batch();
    };
    batch();
  });
