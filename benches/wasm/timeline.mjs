// Runs benches/wasm/timeline-worker.js in headless Chromium (a dedicated worker, as the lab runs
// the engine) and prints its markdown rows for BENCHMARKS.md. `scripts/bench.sh` section
// `timeline-wasm` (BENCH=timeline-wasm scripts/bench.sh) builds pkg/ first; by hand:
// `scripts/build.sh && node benches/wasm/timeline.mjs`. Uses the e2e tests' Chromium set-up and
// static server (tests/e2e/harness.mjs, server.mjs; npm packages in tests/e2e/node_modules).
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { CHROMIUM, ROOT } from '../../tests/e2e/harness.mjs';
import { startServer } from '../../tests/e2e/server.mjs';

const server = await startServer(ROOT);
const browser = await chromium.launch(CHROMIUM);
try {
  const page = await browser.newPage();
  // Any page of the origin: the worker is created from it.
  await page.goto(`${server.url}/benches/wasm/timeline-worker.js`);
  const out = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const w = new Worker('/benches/wasm/timeline-worker.js', { type: 'module' });
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
