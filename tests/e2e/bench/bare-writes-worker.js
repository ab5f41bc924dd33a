// The bare loops the engine's acknowledged writes are compared with: the same browser APIs and
// sync pattern, nothing else. `per` records (RESP `SET key:<i> <32 bytes>`) are one write (or
// one transaction), as the engine writes one turn's aof_buf at once.
//   opfs-flush   write + flush() per `per` records (appendfsync always)
//   opfs-write   write only (everysec / no: the fsync is elsewhere)
//   idb-strict   one readwrite transaction {durability: 'strict'} per `per` records, awaited
//   idb-shape    idb-strict per record with the storage's stores (chunks, inodes, names): a
//                scope of `stores` of them (1 or 3) and `puts` requests (the record; a second,
//                a number, in `inodes`): what an append's commit costs by its shape (ONLY=shapes)
// Served ({serve: kind}): the same writes behind the page -> worker -> page hop every write of
// the lab pays: the page sends each record as a message, the worker writes what arrived in one
// task (setTimeout 0, as the lab's worker gathers a turn) with the same sync, then answers once
// for them. What any worker that writes for a page can reach, with no engine at all.
import { record } from './record.js';

const enc = new TextEncoder();

function batch(i, per) {
  let s = '';
  for (let k = 0; k < per; k++) s += record(i + k);
  return enc.encode(s);
}

async function opfs(flush, ms, per, namespace) {
  const root = await navigator.storage.getDirectory();
  const file = await root.getFileHandle(`bare-${namespace}`, { create: true });
  const h = await file.createSyncAccessHandle();
  h.truncate(0);
  let at = 0;
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const bytes = batch(n, per);
    at += h.write(bytes, { at });
    if (flush) h.flush();
    n += per;
  }
  const seconds = (performance.now() - start) / 1000;
  h.close();
  await root.removeEntry(`bare-${namespace}`);
  return { records: n, seconds };
}

/** Opens (creating) the IndexedDB database `name` with object stores `stores`. */
function openDb(name, stores) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => stores.forEach((s) => req.result.createObjectStore(s));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves when `tx` has committed. */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/** Closes and deletes the database `name`. */
async function dropDb(db, name) {
  db.close();
  await new Promise((r) => { const d = indexedDB.deleteDatabase(name); d.onsuccess = d.onerror = r; });
}

async function idb(ms, per, namespace) {
  const name = `bare-${namespace}`;
  const db = await openDb(name, ['records']);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const tx = db.transaction('records', 'readwrite', { durability: 'strict' });
    tx.objectStore('records').put(batch(n, per), n);
    await committed(tx);
    n += per;
  }
  const seconds = (performance.now() - start) / 1000;
  await dropDb(db, name);
  return { records: n, seconds };
}

async function idbShape(ms, stores, puts, namespace) {
  const name = `shape-${namespace}`;
  const all = ['chunks', 'inodes', 'names'];
  const db = await openDb(name, all);
  const scope = all.slice(0, stores);
  let n = 0;
  let at = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const bytes = batch(n, 1);
    const tx = db.transaction(scope, 'readwrite', { durability: 'strict' });
    tx.objectStore('chunks').put(bytes, [1, 0, at]);
    at += bytes.length;
    if (puts === 2) tx.objectStore(stores === 1 ? 'chunks' : 'inodes').put(at, stores === 1 ? [2, n] : 1);
    await committed(tx);
    n += 1;
  }
  const seconds = (performance.now() - start) / 1000;
  await dropDb(db, name);
  return { records: n, seconds };
}

/** The served loop's state: the open file or database, the records waiting for the next task. */
let served = null;

async function serve({ serve: kind, namespace }) {
  if (kind === 'idb-strict') {
    const db = await openDb(`served-${namespace}`, ['records']);
    served = { kind, db, queue: [], n: 0, scheduled: false };
  } else {
    const root = await navigator.storage.getDirectory();
    const file = await root.getFileHandle(`served-${namespace}`, { create: true });
    const h = await file.createSyncAccessHandle();
    h.truncate(0);
    served = { kind, h, at: 0, queue: [], n: 0, scheduled: false };
  }
  self.postMessage({ ready: true });
}

async function servedTurn() {
  const s = served;
  s.scheduled = false;
  const bytes = enc.encode(s.queue.join(''));
  const count = s.queue.length;
  s.queue = [];
  if (s.kind === 'idb-strict') {
    const tx = s.db.transaction('records', 'readwrite', { durability: 'strict' });
    tx.objectStore('records').put(bytes, s.n);
    await committed(tx);
  } else {
    s.at += s.h.write(bytes, { at: s.at });
    if (s.kind === 'opfs-flush') s.h.flush();
  }
  s.n += count;
  self.postMessage({ acked: count });
}

self.onmessage = async (e) => {
  if ('record' in e.data) {
    served.queue.push(e.data.record);
    if (!served.scheduled) {
      served.scheduled = true;
      setTimeout(() => servedTurn().catch((err) => self.postMessage({ error: String(err?.message ?? err) })), 0);
    }
    return;
  }
  if ('serve' in e.data) {
    await serve(e.data).catch((err) => self.postMessage({ error: String(err?.message ?? err) }));
    return;
  }
  if ('echo' in e.data) {
    self.postMessage(e.data); // writes.js's runEcho: the round trip alone
    return;
  }
  const { kind, ms, per, namespace, stores, puts } = e.data;
  try {
    const out =
      kind === 'idb-shape'
        ? await idbShape(ms, stores, puts, namespace)
        : kind === 'idb-strict'
          ? await idb(ms, per, namespace)
          : await opfs(kind === 'opfs-flush', ms, per, namespace);
    self.postMessage(out);
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
