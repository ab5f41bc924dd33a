// Runs bench-load-worker.js in headless Chromium (a dedicated worker, as the lab runs the
// engine) on AOF directories written by the real redis-server, and prints one line per mix:
// "name seconds wall-seconds keys rewrite-seconds" (scripts/bench.sh's load-wasm section puts
// them in the load and rewrite tables). Usage: RUNS=3 node bench-load.mjs <work dir> <mix>... (each <work dir>/<mix>/appendonlydir).
import { readdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const [work, ...names] = process.argv.slice(2);
const mixes = names.map((name) => ({
  name,
  files: readdirSync(`${work}/${name}/appendonlydir`).filter((f) => /\.(aof|rdb|manifest)$/.test(f)),
}));
const server = await startServer(ROOT);
const files = await startServer(work, { cors: true });
const browser = await chromium.launch(CHROMIUM);
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/tests/e2e/bench-load-worker.js`);
  const out = await page.evaluate(
    (msg) =>
      new Promise((resolve, reject) => {
        const w = new Worker('/tests/e2e/bench-load-worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(e.message || 'the benchmark worker failed'));
        w.postMessage(msg);
      }),
    { base: files.url, mixes, runs: Number(process.env.RUNS ?? 3) },
  );
  console.error(out.notes);
  console.log(out.rows.join('\n'));
} finally {
  await browser.close();
  await server.close();
  await files.close();
}
