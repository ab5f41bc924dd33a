// Benchmark (not a test; scripts/bench.sh runs it with BENCH=page): the lab page in headless
// Chromium while the traffic generator streams RATE commands/s of simulated time with every
// view open, then while the learner scrubs the timeline (the slider dragged back and forth
// over the history that traffic made, one input event per frame, paused), against the same
// page idle in the same run. Frame times come from requestAnimationFrame deltas, long tasks
// from PerformanceObserver('longtask') on the main thread; for scrubbing, also how many
// positions the page drew per second (a seek in the worker, then every view). Prints markdown
// rows for BENCHMARKS.md.
//   node bench-page.mjs [seconds]    (env RATE=10000, BACKENDS=opfs,memory)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const seconds = Number(process.argv[2] ?? 10);
const rate = Number(process.env.RATE ?? 10000);
const backends = (process.env.BACKENDS ?? 'opfs,memory').split(',');
const server = await startServer(ROOT);

/** Frame deltas (ms) and long tasks (ms) over `seconds` of wall time. */
async function measure(page) {
  return page.evaluate(async (secs) => {
    const tasks = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push(e.duration);
    });
    obs.observe({ type: 'longtask', buffered: false });
    const frames = [];
    let last = performance.now();
    const end = last + secs * 1000;
    await new Promise((done) => {
      const frame = (t) => {
        frames.push(t - last);
        last = t;
        if (t < end) requestAnimationFrame(frame);
        else done();
      };
      requestAnimationFrame(frame);
    });
    obs.disconnect();
    return { frames, tasks };
  }, seconds);
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

console.log(`| page (Chromium, ${seconds} s each) | frames | mean frame (ms) | p95 frame (ms) | fps | long tasks | longest task (ms) | p95 frame / idle p95 |`);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const backend of backends) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-bench-page-'));
  const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM, viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}/www/?backend=${backend}&namespace=bench`);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    // Every view open: the details panels expanded.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    const idle = await measure(page);
    await page.evaluate((r) => window.aofLab.act('traffic', { spec: { rate: r, write_percent: 80, keys: 10000, value_size: 32 } }), rate);
    await page.waitForTimeout(1000);
    const busy = await measure(page);
    const sent = await page.evaluate(() => window.aofLab.plotsView.cols.writes_per_s.at(-1) ?? 0);
    await page.evaluate(() => window.aofLab.act('traffic', { spec: null }));
    // Scrubbing: paused, the slider moved every frame over the history just made.
    await page.evaluate(() => window.aofLab.act('pause'));
    const inputs = await page.evaluate(() => window.aofLab.timeline.head);
    const drawn = page.evaluate((secs) => {
      const range = document.querySelector('#timeline .tl-range');
      const max = Number(range.max);
      const seen = new Set();
      const end = performance.now() + secs * 1000;
      let i = 0;
      return new Promise((done) => {
        const step = () => {
          seen.add(window.aofLab.timeline.position);
          if (performance.now() > end) return done(seen.size);
          range.value = String(Math.round(max * (0.5 + 0.48 * Math.sin(i++ / 25))));
          range.dispatchEvent(new Event('input', { bubbles: true }));
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      });
    }, seconds);
    const scrub = await measure(page);
    const positions = await drawn;
    const rows = [
      [`idle (${backend})`, idle],
      [`${rate.toLocaleString('en')} commands/s (${backend}; last second: ${Math.round(sent)} writes/s)`, busy],
      [`scrubbing ${inputs.toLocaleString('en')} inputs (${backend}; ${(positions / seconds).toFixed(1)} positions drawn/s)`, scrub],
    ];
    for (const [label, m] of rows) {
      const mean = m.frames.reduce((a, b) => a + b, 0) / m.frames.length;
      console.log(
        `| ${label} | ${m.frames.length} | ${mean.toFixed(1)} | ${pct(m.frames, 95).toFixed(1)} | ${(1000 / mean).toFixed(0)} | ${m.tasks.length} | ${Math.max(0, ...m.tasks).toFixed(0)} | ${(pct(m.frames, 95) / pct(idle.frames, 95)).toFixed(2)} |`,
      );
    }
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
}
await server.close?.();
process.exit(0);
