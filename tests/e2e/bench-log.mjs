// Benchmark of the log view (not a test: scripts/bench.sh runs it with BENCH=logview): in headless
// Chromium, on the real page with no URL options, a generated AOF of N commands (1 000 000 by
// default, LOG_N) is dropped on the log view, then scrolled. Printed as markdown rows:
//
// * open: from the file input's change to the first rows drawn with the record count (the file
//   read, sent to the worker, indexed, the first page of rows decoded), against merely reading
//   the same file in the page (File.arrayBuffer) in the same run;
// * scroll: frame times (requestAnimationFrame deltas) while the list moves every frame, in two
//   patterns (the wheel, 3 rows a frame; the scrollbar dragged through the whole file in 240
//   frames, so that every frame needs rows never fetched), against a bare virtual list
//   (the same ui/vlist.js over rows made in the page, no worker) scrolled the same way; plus the
//   share of frames that showed a row still loading.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const N = Number(process.env.LOG_N ?? 1_000_000);
const RUNS = Number(process.env.LOG_RUNS ?? 3);

const tmp = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-bench-log-'));
const file = path.join(tmp, 'big.aof');
{
  const pad = (i) => String(i).padStart(7, '0');
  const chunks = ['*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'];
  for (let i = 0; i < N; i++) chunks.push(`*3\r\n$3\r\nSET\r\n$11\r\nkey:${pad(i)}\r\n$13\r\nvalue:${pad(i)}\r\n`);
  await writeFile(file, chunks.join(''));
}
const server = await startServer(ROOT);
const browser = await chromium.launch(CHROMIUM);

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

/** In the page: moves `list` (a VirtualList) every frame with `step(frame)`; frame deltas. */
async function scroll(page, which, pattern) {
  return page.evaluate(
    async ({ which, pattern }) => {
      const root = which === 'log' ? document.querySelector('#logview .vgrid') : window.bareList.root;
      const scroller = root.querySelector('.vgrid-scroll');
      const frames = [];
      let loading = 0;
      let last = await new Promise((r) => requestAnimationFrame(r));
      const total = 240;
      scroller.scrollTop = 0;
      await new Promise((r) => requestAnimationFrame(r));
      last = await new Promise((r) => requestAnimationFrame(r));
      for (let f = 0; f < total; f++) {
        if (pattern === 'wheel') scroller.dispatchEvent(new WheelEvent('wheel', { deltaY: 72, deltaMode: 0, bubbles: true, cancelable: true }));
        else scroller.scrollTop = ((f + 1) / total) * (scroller.scrollHeight - scroller.clientHeight);
        const t = await new Promise((r) => requestAnimationFrame(r));
        frames.push(t - last);
        last = t;
        if (root.querySelector('.vgrid-window .vgrid-row.loading:not([hidden])')) loading++;
      }
      return { frames, loading };
    },
    { which, pattern },
  );
}

/** In the page: jumps to 20 places by the scrollbar; for each, the time until its rows are drawn. */
async function jumps(page, which) {
  return page.evaluate(async (which) => {
    const root = which === 'log' ? document.querySelector('#logview .vgrid') : window.bareList.root;
    const scroller = root.querySelector('.vgrid-scroll');
    const out = [];
    let seed = 7;
    for (let k = 0; k < 20; k++) {
      seed = (seed * 48271) % 2147483647;
      const t0 = performance.now();
      scroller.scrollTop = (seed / 2147483647) * (scroller.scrollHeight - scroller.clientHeight);
      for (;;) {
        await new Promise((r) => requestAnimationFrame(r));
        if (!root.querySelector('.vgrid-window .vgrid-row.loading:not([hidden])')) break;
      }
      out.push(performance.now() - t0);
    }
    return out;
  }, which);
}

const rows = [];
try {
  const open = [];
  const read = [];
  const index = [];
  const frames = { log: { wheel: [], drag: [] }, bare: { wheel: [], drag: [] } };
  const loading = { wheel: 0, drag: 0 };
  const jump = { log: [], bare: [] };
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/www/`);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('#logview').scrollIntoViewIfNeeded();
    // The reference: read the same file in the page.
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'bench-read';
      input.addEventListener('change', async () => {
        const t0 = performance.now();
        const bytes = new Uint8Array(await input.files[0].arrayBuffer());
        window.benchRead = { ms: performance.now() - t0, bytes: bytes.length };
      });
      document.body.append(input);
    });
    await page.locator('#bench-read').setInputFiles(file);
    await page.waitForFunction(() => window.benchRead);
    read.push(await page.evaluate(() => window.benchRead.ms));
    // Open it in the log view: from the change event to the first rows drawn.
    await page.evaluate((n) => {
      const input = document.querySelector('#logview input[type="file"]:not([webkitdirectory])');
      input.addEventListener(
        'change',
        () => {
          const t0 = performance.now();
          const want = `${(n + 1).toLocaleString('en')} records`;
          const poll = () => {
            const row = document.querySelector('#logview .vgrid-window .vgrid-row:not(.loading):not([hidden]) .c-text');
            if (document.querySelector('#logview .log-meta').textContent.startsWith(want) && row?.textContent === 'SELECT 0') window.benchOpen = performance.now() - t0;
            else requestAnimationFrame(poll);
          };
          requestAnimationFrame(poll);
        },
        { capture: true, once: true },
      );
    }, N);
    await page.locator('#logview input[type="file"]:not([webkitdirectory])').setInputFiles(file);
    await page.waitForFunction(() => window.benchOpen, null, { timeout: 300_000 });
    open.push(await page.evaluate(() => window.benchOpen));
    index.push(Number(await page.locator('#logview').getAttribute('data-drop-ms')));
    // The bare virtual list: the same component over rows made in the page.
    await page.evaluate(async (n) => {
      const { VirtualList } = await import('/www/ui/vlist.js');
      const host = document.createElement('div');
      document.querySelector('#logview').append(host);
      const cols = ['offset', 'len', 'mark', 'text', 'framing'];
      window.bareList = new VirtualList(host, {
        rowHeight: 24,
        label: 'bare',
        columns: cols.map((key) => ({ key, label: key, className: `c-${key}` })),
        rowData: (i) => ({ key: '', offset: i * 51, len: 51, text: `SET key:${i} value:${i}`, framing: `*3\\r\\n$3\\r\\nSET\\r\\n$11\\r\\nkey:${i}\\r\\n` }),
        fill: (cells, r) => {
          cells.offset.textContent = r.offset.toLocaleString('en');
          cells.len.textContent = r.len;
          cells.mark.textContent = '';
          cells.text.textContent = r.text;
          cells.framing.textContent = r.framing;
        },
      });
      window.bareList.setCount(n + 1);
    }, N);
    for (const pattern of ['wheel', 'drag']) {
      const log = await scroll(page, 'log', pattern);
      frames.log[pattern].push(...log.frames);
      loading[pattern] += log.loading;
      frames.bare[pattern].push(...(await scroll(page, 'bare', pattern)).frames);
    }
    jump.log.push(...(await jumps(page, 'log')));
    jump.bare.push(...(await jumps(page, 'bare')));
    await context.close();
  }
  const ms = (v) => v.toFixed(0);
  rows.push(`| open the log view of ${N.toLocaleString('en')} commands (${(N * 51 / 1e6).toFixed(0)} MB), median of ${RUNS} | read the file in the page: ${ms(median(read))} ms | ${ms(median(open))} ms (index ${ms(median(index))} ms) | ${(median(open) / median(read)).toFixed(1)} |`);
  for (const pattern of ['wheel', 'drag']) {
    const l = frames.log[pattern];
    const b = frames.bare[pattern];
    const what = pattern === 'wheel' ? 'scroll by the wheel (3 rows a frame)' : 'drag the scrollbar through the file (240 frames)';
    rows.push(`| ${what}: frame time p50 / p95 / max | bare list: ${pct(b, 50).toFixed(1)} / ${pct(b, 95).toFixed(1)} / ${Math.max(...b).toFixed(1)} ms | ${pct(l, 50).toFixed(1)} / ${pct(l, 95).toFixed(1)} / ${Math.max(...l).toFixed(1)} ms (rows loading in ${((100 * loading[pattern]) / l.length).toFixed(0)} % of frames) | ${(pct(l, 95) / pct(b, 95)).toFixed(2)} (p95) |`);
  }
  rows.push(`| a jump by the scrollbar to a place never shown: time until its rows are drawn, p50 / p95 (20 jumps × ${RUNS}) | bare list: ${pct(jump.bare, 50).toFixed(1)} / ${pct(jump.bare, 95).toFixed(1)} ms | ${pct(jump.log, 50).toFixed(1)} / ${pct(jump.log, 95).toFixed(1)} ms | ${(pct(jump.log, 50) / pct(jump.bare, 50)).toFixed(1)} (p50) |`);
} finally {
  await browser.close();
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
console.log('| log view (headless Chromium) | reference | log view | ratio |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
