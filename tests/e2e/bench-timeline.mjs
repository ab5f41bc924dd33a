// Runs bench-timeline-worker.js in headless Chromium (a dedicated worker, as the lab runs the
// engine) and prints its markdown rows for BENCHMARKS.md (a benchmark, not a test).
// `scripts/bench.sh` section `timeline-wasm` (BENCH=timeline-wasm scripts/bench.sh) builds pkg/
// first; by hand: `scripts/build.sh && (cd tests/e2e && node bench-timeline.mjs)`.
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const server = await startServer(ROOT);
const browser = await chromium.launch(CHROMIUM);
try {
  const page = await browser.newPage();
  // Any page of the origin: the worker is created from it.
  await page.goto(`${server.url}/tests/e2e/bench-timeline-worker.js`);
  const out = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const w = new Worker('/tests/e2e/bench-timeline-worker.js', { type: 'module' });
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(e.message || 'the benchmark worker failed'));
      }),
  );
  console.error(out.notes);
  console.log(out.rows.join('\n'));
} finally {
  await browser.close();
  await server.close();
}
