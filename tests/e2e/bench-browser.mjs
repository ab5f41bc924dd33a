// Benchmark (not a test; scripts/bench.sh runs it with BENCH=browser): acknowledged writes per
// second in headless Chromium, per appendfsync policy x backend (OPFS, IndexedDB, the memory
// machine) x one sequential client / 50 clients per turn, through the lab's own worker
// (www/worker.js) with the page's default settings (LAB_CONFIG, maxmemory 64 MB) and the
// machine model above the backend; against the bare loops over the same browser APIs in the
// same page, run alternately with the engine (tests/e2e/bench/). A write is acknowledged when its
// reply reaches the page. Prints markdown rows for BENCHMARKS.md.
//   node bench-browser.mjs     (env MS=2000 per measurement, ROUNDS=2 (the median is kept),
//                               ONLY=opfs,idb,memory; ONLY=shapes: what an IndexedDB commit's
//                               shape costs, bare loops only, the shapes alternated per round)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const MS = Number(process.env.MS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const ONLY = (process.env.ONLY ?? 'opfs,idb,memory').split(',');

// backend label, engine backend, policy, clients per turn, the reference loop, its records per
// write, the issue's target for the ratio (or '').
const CASES = [
  ['OPFS', 'opfs', 'always', 1, 'opfs-flush', 1, '≥ 0.9'],
  ['OPFS', 'opfs', 'always', 50, 'opfs-flush', 50, '≥ 0.9'],
  ['OPFS', 'opfs', 'everysec', 1, 'opfs-write', 1, '≥ 0.8'],
  ['OPFS', 'opfs', 'everysec', 50, 'opfs-write', 50, ''],
  ['OPFS', 'opfs', 'no', 1, 'opfs-write', 1, ''],
  ['OPFS', 'opfs', 'no', 50, 'opfs-write', 50, ''],
  ['IndexedDB', 'indexeddb', 'always', 1, 'idb-strict', 1, '≥ 0.9'],
  ['IndexedDB', 'indexeddb', 'always', 50, 'idb-strict', 1, 'well above 1'],
  ['IndexedDB', 'indexeddb', 'everysec', 1, 'idb-strict', 1, ''],
  ['IndexedDB', 'indexeddb', 'everysec', 50, 'idb-strict', 50, ''],
  ['IndexedDB', 'indexeddb', 'no', 1, 'idb-strict', 1, ''],
  ['memory', 'memory', 'always', 1, null, 0, ''],
  ['memory', 'memory', 'always', 50, null, 0, ''],
  ['memory', 'memory', 'everysec', 1, null, 0, ''],
  ['memory', 'memory', 'everysec', 50, null, 0, ''],
].filter((c) => ONLY.includes(c[1] === 'indexeddb' ? 'idb' : c[1]));

const REF_LABEL = {
  'opfs-flush': (per) => `OPFS write + flush() per ${per === 1 ? 'record' : `${per} records`}`,
  'opfs-write': (per) => `OPFS write per ${per === 1 ? 'record' : `${per} records`}, no flush`,
  'idb-strict': (per) => `IndexedDB strict transaction per ${per === 1 ? 'record' : `${per} records`}`,
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const server = await startServer(ROOT);
const dir = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-bench-browser-'));
const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM });
const page = context.pages()[0] ?? (await context.newPage());
const problems = [];
page.on('pageerror', (e) => problems.push(e.message));
await page.goto(`${server.url}/tests/e2e/bench/writes.html`);
await page.waitForFunction(() => typeof window.runEngine === 'function');

if (ONLY.includes('shapes')) {
  // One strict transaction per record, awaited: the storage's append before version 3 (three
  // stores in scope, the piece and the length) and after (one store, one put), and the two
  // halves of the difference. Alternated per round, each shape against the first in its round.
  const SHAPES = [
    [1, 1, 'one store in scope, one put (an append since IndexedDB version 3; the bare loop)'],
    [3, 2, 'three stores, two puts: the piece and the length (an append before version 3)'],
    [3, 1, 'three stores, one put'],
    [1, 2, 'one store, two puts'],
  ];
  const rates = SHAPES.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [stores, puts]] of SHAPES.entries()) {
      const b = await page.evaluate((a) => window.runBare(a), { kind: 'idb-shape', ms: MS, stores, puts, namespace: `shape-${r}-${i}` });
      rates[i].push(b.records / b.seconds);
    }
  }
  console.log(`| IndexedDB strict transaction per record (headless Chromium; median of ${ROUNDS} × ${MS / 1000} s, alternated) | transactions/s | ratio to the first |`);
  console.log('|---|---:|---:|');
  for (const [i, [, , label]] of SHAPES.entries()) console.log(`| ${label} | ${median(rates[i]).toFixed(0)} | ${(median(rates[i]) / median(rates[0])).toFixed(2)} |`);
}
if (CASES.length) {
  console.log(`| acknowledged writes/s (headless Chromium, SET of 32 bytes, the page's defaults; median of ${ROUNDS} × ${MS / 1000} s) | engine (writes/s) | bare loop, same run | bare (writes/s) | ratio | the same loop behind the page ↔ worker hop (writes/s) | ratio to it | target (ratio to the bare loop) |`);
  console.log('|---|---:|---|---:|---:|---:|---:|---|');
}
let n = 0;
try {
  // The thread hop every acknowledged write pays (page -> worker -> page), nothing else.
  for (const clients of CASES.length ? [1, 50] : []) {
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const e = await page.evaluate((a) => window.runEcho(a), { clients, ms: MS });
      rounds.push(e.records / e.seconds);
    }
    console.log(`| (the thread hop alone: a worker that answers at once, ${clients === 1 ? 'one client' : `${clients} per batch`}) | ${median(rounds).toFixed(0)} | – | – | – | – | – | |`);
  }
  for (const [label, backend, policy, clients, ref, per, target] of CASES) {
    const engine = [];
    const bare = [];
    const served = [];
    for (let r = 0; r < ROUNDS; r++) {
      n += 1;
      const e = await page.evaluate((a) => window.runEngine(a), { backend, policy, clients, ms: MS, namespace: `bench-${n}` });
      if (e.backend !== backend) throw new Error(`asked for ${backend}, the engine opened ${e.backend}`);
      engine.push(e.writes / e.seconds);
      if (!ref) continue; // the memory machine: no browser API underneath
      const b = await page.evaluate((a) => window.runBare(a), { kind: ref, ms: MS, per, namespace: `bench-${n}` });
      bare.push(b.records / b.seconds);
      const v = await page.evaluate((a) => window.runServed(a), { kind: ref, clients, ms: MS, namespace: `bench-${n}` });
      served.push(v.records / v.seconds);
    }
    const ew = median(engine);
    const bw = ref ? median(bare) : NaN;
    const sw = ref ? median(served) : NaN;
    const who = `${label} · ${policy} · ${clients === 1 ? 'one client' : `${clients} clients per turn`}`;
    if (!ref) console.log(`| ${who} | ${ew.toFixed(0)} | – | – | – | – | – | |`);
    else console.log(`| ${who} | ${ew.toFixed(0)} | ${REF_LABEL[ref](per)} | ${bw.toFixed(0)} | ${(ew / bw).toFixed(2)} | ${sw.toFixed(0)} | ${(ew / sw).toFixed(2)} | ${target} |`);
  }
} finally {
  await context.close();
  await rm(dir, { recursive: true, force: true });
  await server.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
process.exit(0);
