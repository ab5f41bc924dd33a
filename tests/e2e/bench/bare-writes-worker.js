// The bare loops the engine's acknowledged writes are compared with: the same browser APIs and
// sync pattern, nothing else. `per` records (RESP `SET key:<i> <32 bytes>`) are one write (or
// one transaction), as the engine writes one turn's aof_buf at once.
//   opfs-flush   write + flush() per `per` records (appendfsync always)
//   opfs-write   write only (everysec / no: the fsync is elsewhere)
//   idb-strict   one readwrite transaction {durability: 'strict'} per `per` records, awaited
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

async function idb(ms, per, namespace) {
  const name = `bare-${namespace}`;
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('records');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    const tx = db.transaction('records', 'readwrite', { durability: 'strict' });
    tx.objectStore('records').put(batch(n, per), n);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
    n += per;
  }
  const seconds = (performance.now() - start) / 1000;
  db.close();
  await new Promise((r) => { const d = indexedDB.deleteDatabase(name); d.onsuccess = d.onerror = r; });
  return { records: n, seconds };
}

self.onmessage = async (e) => {
  if ('echo' in e.data) {
    self.postMessage(e.data); // writes.js's runEcho: the round trip alone
    return;
  }
  const { kind, ms, per, namespace } = e.data;
  try {
    const out = kind === 'idb-strict' ? await idb(ms, per, namespace) : await opfs(kind === 'opfs-flush', ms, per, namespace);
    self.postMessage(out);
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
