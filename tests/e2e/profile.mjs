// A profiling aid (not a test): runs `expr` in a page of the repository's server under Chromium's
// tracing with the V8 sampling profiler on, and prints the functions with the most self time per
// thread (the page's main thread, its workers). Shows where a benchmark's time goes.
// INCLUSIVE=1 counts each function's time with its callees' (its whole stack) instead.
//   node profile.mjs PATH EXPR [TOP]   e.g. node profile.mjs /tests/e2e/bench/writes.html \
//     "runEngine({backend:'memory', policy:'everysec', clients:1, ms:2000, namespace:'p'})"
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT } from './harness.mjs';
import { startServer } from './server.mjs';

const [where, expr, top = '25'] = process.argv.slice(2);
const server = await startServer(ROOT);
const dir = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-profile-'));
const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: process.env.ALL_CATEGORIES ? ['*', 'disabled-by-default-v8.cpu_profiler'] : ['disabled-by-default-v8.cpu_profiler', 'v8.execute', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink'], recordMode: 'recordContinuously' },
    transferMode: 'ReportEvents',
  });
  await page.goto(`${server.url}${where}`);
  const t0 = Date.now();
  const result = await page.evaluate(expr);
  console.log('result', JSON.stringify(result), `${Date.now() - t0} ms`);
  await cdp.send('Tracing.end');
  await done;
  // Thread names, then the sampled profiles per thread (ProfileChunk: nodes, samples, deltas).
  const names = new Map();
  for (const e of events) if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
  const threads = new Map();
  for (const e of events) {
    if (e.name !== 'ProfileChunk' && e.name !== 'Profile') continue;
    const key = `${e.pid}:${e.id}`;
    const t = threads.get(key) ?? { thread: names.get(`${e.pid}:${e.tid}`) ?? e.tid, nodes: new Map(), parent: new Map(), self: new Map() };
    threads.set(key, t);
    const d = e.args.data ?? {};
    for (const n of d.cpuProfile?.nodes ?? []) {
      t.nodes.set(n.id, n.callFrame);
      if (n.parent !== undefined) t.parent.set(n.id, n.parent);
    }
    const samples = d.cpuProfile?.samples ?? [];
    const deltas = d.timeDeltas ?? [];
    samples.forEach((s, i) => t.self.set(s, (t.self.get(s) ?? 0) + (deltas[i] ?? 0)));
  }
  // The renderer's own work on the page's main thread and in the workers (style, layout, paint,
  // message (de)serialisation, file-system calls…), by trace event.
  for (const [thread, name] of names) {
    if (name !== 'CrRendererMain' && name !== 'DedicatedWorker thread') continue;
    const work = new Map();
    for (const e of events) {
      if (e.ph !== 'X' || `${e.pid}:${e.tid}` !== thread || !e.dur) continue;
      if (['RunTask', 'ThreadControllerImpl::RunTask', 'v8.run', 'FunctionCall', 'EvaluateScript', 'v8.callFunction'].includes(e.name)) continue;
      work.set(e.name, (work.get(e.name) ?? 0) + e.dur);
    }
    if (!work.size) continue;
    console.log(`\n== ${name}, by trace event (inclusive ms)`);
    for (const [n, us] of [...work].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.EVENTS ?? 12))) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${n}`);
  }
  for (const t of threads.values()) {
    const byName = new Map();
    let total = 0;
    const nameOf = (id) => {
      const f = t.nodes.get(id);
      return f ? `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) : ''}:${f.lineNumber ?? ''}` : `node ${id}`;
    };
    for (const [id, us] of t.self) {
      total += us;
      if (!process.env.INCLUSIVE) {
        byName.set(nameOf(id), (byName.get(nameOf(id)) ?? 0) + us);
        continue;
      }
      // The sample's whole stack, each function once (recursion counts once).
      const seen = new Set();
      for (let n = id; n !== undefined; n = t.parent.get(n)) seen.add(nameOf(n));
      for (const name of seen) byName.set(name, (byName.get(name) ?? 0) + us);
    }
    if (total < 50_000) continue;
    console.log(`\n== ${t.thread}: ${(total / 1000).toFixed(0)} ms sampled`);
    for (const [name, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
      console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`);
    }
  }
} finally {
  await context.close();
  await rm(dir, { recursive: true, force: true });
  await server.close();
}
process.exit(0);
