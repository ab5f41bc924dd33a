// Drives the benchmark from the page (see bench-browser.mjs).
import { LAB_CONFIG, MSG, message } from '../../../www/protocol.js';
import { VALUE, record } from './record.js';

/**
 * A closed loop of `clients` over `worker`: `send(i)` posts the i-th request, `acked(k)` counts
 * k answers, the next batch goes when the last one is answered; once `ms` of wall time have
 * passed since `start()`, the worker is terminated and `done({records, seconds})` called.
 */
function closedLoop(worker, clients, ms, send, done) {
  let n = 0;
  let waiting = 0;
  let start = 0;
  const batch = () => {
    if (performance.now() - start >= ms) {
      worker.terminate();
      done({ records: n, seconds: (performance.now() - start) / 1000 });
      return;
    }
    waiting = clients;
    for (let c = 0; c < clients; c++) send(n + c);
  };
  return {
    start() {
      start = performance.now();
      batch();
    },
    acked(k) {
      n += k;
      waiting -= k;
      if (waiting === 0) batch();
    },
  };
}

/**
 * The lab's worker on `backend` with appendfsync `policy` and the page's other defaults:
 * `clients` commands are sent together (one event-loop turn), the next batch when every reply
 * is back, for `ms` of wall time. Resolves to {writes, seconds, backend}.
 */
window.runEngine = ({ backend, policy, clients, ms, namespace }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../../../www/worker.js', import.meta.url), { type: 'module' });
    let used = '';
    const loop = closedLoop(
      worker,
      clients,
      ms,
      (i) => worker.postMessage(message(MSG.EXEC, { id: i + 1, line: `SET key:${i + 1} ${VALUE}` })),
      ({ records, seconds }) => resolve({ writes: records, seconds, backend: used }),
    );
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === MSG.READY) {
        used = m.backend;
        loop.start();
      } else if (m.type === MSG.REPLY || m.type === MSG.TURN_REPLIES) {
        const replies = m.replies ?? [m];
        const bad = replies.find((r) => r.text !== 'OK');
        if (bad) {
          worker.terminate();
          reject(new Error(`SET answered ${bad.text}`));
          return;
        }
        loop.acked(replies.length);
      } else if (m.type === MSG.FATAL || m.type === MSG.READONLY) {
        worker.terminate();
        reject(new Error(m.message));
      }
    };
    worker.postMessage(message(MSG.INIT, { backend, namespace, config: { ...LAB_CONFIG, appendfsync: policy } }));
  });

/** A bare loop (bare-writes-worker.js) `args.kind` for `args.ms`: resolves to {records, seconds}. */
window.runBare = (args) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bare-writes-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data);
    };
    worker.postMessage(args); // {kind, ms, per, namespace} (idb-shape: stores, puts)
  });

/**
 * The bare loop `kind` behind the thread hop (bare-writes-worker.js, `serve`): `clients` records
 * sent as messages together, the next batch when all are acknowledged, for `ms`. Resolves to
 * {records, seconds}.
 */
window.runServed = ({ kind, clients, ms, namespace }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./bare-writes-worker.js', import.meta.url), { type: 'module' });
    const loop = closedLoop(worker, clients, ms, (i) => worker.postMessage({ record: record(i) }), resolve);
    worker.onmessage = (e) => {
      if (e.data.error) {
        worker.terminate();
        reject(new Error(e.data.error));
      } else if (e.data.ready) loop.start();
      else loop.acked(e.data.acked);
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
    const loop = closedLoop(worker, clients, ms, (i) => worker.postMessage({ echo: i }), resolve);
    worker.onmessage = () => loop.acked(1);
    loop.start();
  });
