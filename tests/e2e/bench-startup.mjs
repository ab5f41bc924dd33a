// Benchmark (not a test; scripts/bench.sh runs it with BENCH=startup): the lab page's start-up
// in headless Chromium on OPFS, from navigation to a usable console (the command input enabled,
// in the frame that paints it), cold (a fresh browser profile: empty HTTP cache, no compiled
// wasm cached, no OPFS files) and warm (a new tab in the same profile after the first closed:
// caches warm, the pool's files exist). The reference, in the same run: a bare page whose module
// worker loads the same pkg/ and opens the engine on OPFS, then answers PING (tests/e2e/bench/).
// Served as `make serve` serves it (scripts/serve.py), so that caching is the user's.
// The page's phases: the worker created, its script running and the wasm's bytes arrived (the
// worker's own clock and resource timing), the wasm compiled, Engine.open called (the lock
// taken) and resolved (the storage opened, the AOF loaded), all from the worker's performance
// marks; READY as the page receives it, then the console enabled. Prints markdown rows for BENCHMARKS.md.
//   node bench-startup.mjs        (env RUNS=5 cold runs, WARM=3 warm tabs after each, SETTLE=2000
//                                  ms between the browser's launch and the first navigation,
//                                  COMPARE=<git rev> also measures that revision's page)
import { execSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';

const RUNS = Number(process.env.RUNS ?? 5);
const WARM = Number(process.env.WARM ?? 3);
const SETTLE = Number(process.env.SETTLE ?? 2000);

/** scripts/serve.py on a free port, as scripts/serve.sh runs it. */
async function pythonServer() {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
  const child = spawn('python3', ['scripts/serve.py', String(port)], { cwd: ROOT, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/www/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, close: () => child.kill() };
}

// Installed in every page before its scripts: the times (ms since navigation) at which the
// engine worker was created, its first LOADING and READY messages arrived, and the console
// input became enabled (a MutationObserver: its callback runs in the task that enabled it).
function instrument() {
  const t = (window.__startup = {});
  const Base = window.Worker;
  window.Worker = class extends Base {
    constructor(...args) {
      super(...args);
      t.worker ??= performance.now();
      this.addEventListener('message', (e) => {
        const type = e.data?.type;
        if (type && t[type] === undefined) t[type] = performance.now();
      });
    }
  };
  const watchInput = () => {
    const input = document.getElementById('cmd');
    if (!input) return false;
    new MutationObserver(() => {
      if (!input.disabled && t.usable === undefined) t.usable = performance.now();
    }).observe(input, { attributes: true, attributeFilter: ['disabled'] });
    return true;
  };
  if (!watchInput()) document.addEventListener('DOMContentLoaded', watchInput, { once: true });
}

async function measurePage(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__startup?.usable !== undefined, null, { timeout: 30_000 });
  const t = await page.evaluate(() => ({
    ...window.__startup,
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    origin: performance.timeOrigin,
  }));
  // The worker's side, on the page's clock: when its script began to run (its time origin) and
  // when the wasm's bytes had arrived (an HTTP/1.1 server gives a host six connections: the
  // worker's requests share them with the page's modules).
  const w = page.workers()[0];
  if (w) {
    const wt = await w.evaluate(() => ({
      origin: performance.timeOrigin,
      wasm: performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'))?.responseEnd,
      marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
    }));
    t.workerRuns = wt.origin - t.origin;
    t.wasmFetched = wt.wasm === undefined ? NaN : wt.wasm + t.workerRuns;
    // The worker's own marks (worker.js, worker-main.js): the wasm compiled and instantiated,
    // Engine.open called (the lock taken) and resolved (the storage opened, the AOF loaded).
    for (const [mark, key] of [['wasm', 'wasmCompiled'], ['open', 'openCalled'], ['opened', 'opened']]) {
      t[key] = wt.marks[mark] === undefined ? NaN : wt.marks[mark] + t.workerRuns;
    }
  }
  await page.close();
  return t;
}

async function measureBare(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__bare?.pong !== undefined || window.__bare?.error, null, { timeout: 30_000 });
  const t = await page.evaluate(() => window.__bare);
  await page.close();
  if (t.error) throw new Error(`bare page: ${t.error}`);
  return t;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

// COMPARE=<git revision>: that revision's www/ (with today's pkg/ and vendored files) is
// measured too, alternately with the others, and printed as a third row: what the page's own
// changes since then did, in the same run.
const COMPARE = process.env.COMPARE;
let comparePath = null;
if (COMPARE) {
  const dir = path.join(ROOT, 'target', 'startup-compare');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  execSync(`git archive ${COMPARE} www | tar -x -C ${dir}`, { cwd: ROOT });
  await cp(path.join(ROOT, 'www', 'vendor'), path.join(dir, 'www', 'vendor'), { recursive: true });
  await symlink(path.join(ROOT, 'pkg'), path.join(dir, 'pkg'));
  comparePath = '/target/startup-compare/www/';
}

const server = await pythonServer();
const page = { cold: [], warm: [] };
const bare = { cold: [], warm: [] };
const compared = { cold: [], warm: [] };
try {
  for (let run = 0; run < RUNS; run++) {
    for (const [which, into, measure, url] of [
      ['page', page, measurePage, `${server.url}/www/?backend=opfs&namespace=bench-startup`],
      ['bare', bare, measureBare, `${server.url}/tests/e2e/bench/startup-bare.html?namespace=bench-startup`],
      ...(comparePath ? [['compared', compared, measurePage, `${server.url}${comparePath}?backend=opfs&namespace=bench-startup`]] : []),
    ]) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `aof-lab-startup-${which}-`));
      const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM, viewport: { width: 1280, height: 900 } });
      try {
        await context.addInitScript(instrument);
        // A first visit happens in a browser that is already running: a browser just launched
        // spends its first second or two on its own start (its WebUI pages: the new omnibox's
        // popup and composebox load right then), which took a third of the two cores from the
        // page in a cold run. `SETTLE` ms (default 2000) of that pass before the navigation.
        await new Promise((r) => setTimeout(r, SETTLE));
        // The persistent context opens with a blank tab; it stays, so the browser stays up.
        into.cold.push(await measure(context, url));
        for (let w = 0; w < WARM; w++) {
          await new Promise((r) => setTimeout(r, 300)); // the closed tab's worker lets its OPFS handles go
          into.warm.push(await measure(context, url));
        }
      } finally {
        await context.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
} finally {
  server.close();
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
console.log(`| start-up on OPFS (headless Chromium; median of ${RUNS} cold, ${RUNS * WARM} warm) | reference: bare worker, engine answers PING (ms) | lab page: usable console (ms) | ratio | the page's phases (ms after navigation): DOMContentLoaded / worker created / its script runs / wasm fetched / wasm compiled / Engine.open called / resolved / READY received / console enabled |`);
console.log('|---|---:|---:|---:|---|');
for (const kind of ['cold', 'warm']) {
  const p = page[kind];
  const b = bare[kind];
  const ref = median(b.map((x) => x.pong));
  const usable = median(p.map((x) => x.usable));
  const phases = ['dcl', 'worker', 'workerRuns', 'wasmFetched', 'wasmCompiled', 'openCalled', 'opened', 'ready', 'usable'].map((k) => f(median(p.map((x) => x[k])))).join(' / ');
  const barePhases = ['worker', 'wasm', 'open', 'pong'].map((k) => f(median(b.map((x) => x[k])))).join(' / ');
  console.log(`| ${kind} (bare: worker / wasm / open / PONG = ${barePhases}) | ${f(ref)} | ${f(usable)} | ${(usable / ref).toFixed(2)} | ${phases} |`);
}
if (COMPARE) {
  console.log(`\nThe page at ${COMPARE} (its www/, today's pkg/), alternated in the same run: usable console cold ${f(median(compared.cold.map((x) => x.usable)))} ms, warm ${f(median(compared.warm.map((x) => x.usable)))} ms (this page: ${f(median(page.cold.map((x) => x.usable)))} / ${f(median(page.warm.map((x) => x.usable)))}).`);
}
process.exit(0);
