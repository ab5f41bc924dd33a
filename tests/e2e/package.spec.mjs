// End-to-end tests of the npm package (issue 13), as an author who never saw this repository
// uses it: `scripts/package.sh` packs target/npm/aof-lab-<version>.tgz; it is installed with
// npm into a scratch project outside the repository and served from a sub-path. In Chromium and
// Firefox (browsers.mjs): a host page's <aof-lab> starts, runs commands and a scenario, and the
// page hears its events (ready, reply, write with the propagated bytes, fsync, rewrite-done,
// crash with its report, scenario-step, error); its attributes change at runtime; the same
// files served from a second origin (another port, with CORS, as a CDN) start in a page of the
// first. In Node: the package's example test (tests/npm/engine.test.mjs) imports 'aof-lab' and
// loads a directory written by a real redis-server; tsc checks the package's declarations.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BROWSERS, open } from './browsers.mjs';
import { ROOT, SHOTS } from './harness.mjs';
import { startRedis } from './redis.mjs';
import { startServer } from './server.mjs';

const APP = 'deep/sub/app'; // the sub-path the scratch project is served from
const EVENTS = ['ready', 'reply', 'write', 'fsync', 'crash', 'rewrite-done', 'scenario-step', 'error'];
const env = { tmp: null, site: null, app: null, tgz: null, version: null, a: null, b: null };

/** A script that records every event of every <aof-lab> into window.heard (bytes as text). */
const RECORDER = `<script>
  window.heard = [];
  for (const el of document.querySelectorAll('aof-lab')) for (const type of ${JSON.stringify(EVENTS)}) {
    el.addEventListener(type, (e) => window.heard.push({ id: el.id, type, detail: JSON.parse(JSON.stringify(e.detail, (k, v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v))) }));
  }
</script>`;

const hostPage = (src) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>A host page</title><link rel="icon" href="data:,">
<script type="module" src="${src}"></script></head>
<body>
<h1>A tutorial of someone else</h1>
<aof-lab id="lab" appendfsync="always" panels="scenarios console aof files" height="8rem">
  <script type="text/x-redis">SET greeting hello</script>
</aof-lab>
<aof-lab id="broken" appendfsync="sometimes" panels="console"></aof-lab>
${RECORDER}
</body></html>`;

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  const out = execFileSync(path.join(ROOT, 'scripts', 'package.sh'), { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  env.tgz = path.join(ROOT, out.trim().split('\n').pop());
  env.version = /^version = "([^"]+)"/m.exec(await readFile(path.join(ROOT, 'Cargo.toml'), 'utf8'))[1];
  env.tmp = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-e2e-pkg-'));
  env.site = path.join(env.tmp, 'site');
  env.app = path.join(env.site, APP);
  await mkdir(env.app, { recursive: true });
  await writeFile(path.join(env.app, 'package.json'), JSON.stringify({ name: 'someone-elses-tutorial', private: true, type: 'module' }));
  // A local tarball with no dependencies: npm needs no registry.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', env.tgz], { cwd: env.app, stdio: 'inherit' });
  await writeFile(path.join(env.app, 'index.html'), hostPage('./node_modules/aof-lab/www/aof-lab.js'));
  env.a = await startServer(env.site);
  // The "CDN": the same files on another origin (another port), with CORS as a CDN sends it.
  env.b = await startServer(env.site, { cors: true });
  await writeFile(path.join(env.site, 'cdn.html'), hostPage(`${env.b.url}/${APP}/node_modules/aof-lab/www/aof-lab.js`));
});

after(async () => {
  await env.a?.close();
  await env.b?.close();
  if (env.tmp) await rm(env.tmp, { recursive: true, force: true });
});

test('the tarball is aof-lab-<version>.tgz and holds the element, the worker, the engine, types, the stylesheet, uPlot and the scenarios', async () => {
  assert.equal(path.basename(env.tgz), `aof-lab-${env.version}.tgz`);
  const files = new Set(execFileSync('tar', ['tzf', env.tgz], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, '')));
  for (const f of [
    'package.json', 'README.md', 'www/aof-lab.js', 'www/aof-lab.d.ts', 'www/worker.js', 'www/worker-start.js', 'www/lab.js', 'www/style.css',
    'www/vendor/uplot/uPlot.esm.js', 'www/scenarios/index.json', 'www/tutorial.html', 'www/embed.html', 'www/index.html',
    'pkg/aof_lab.js', 'pkg/aof_lab.d.ts', 'pkg/aof_lab_bg.wasm', 'node/index.js', 'node/index.d.ts',
  ]) assert.ok(files.has(f), `${f} is in the package`);
  const index = JSON.parse(await readFile(path.join(ROOT, 'www', 'scenarios', 'index.json'), 'utf8'));
  for (const { name } of index) assert.ok(files.has(`www/scenarios/${name}.txt`), `scenario ${name}`);
  const pkg = JSON.parse(await readFile(path.join(env.app, 'node_modules', 'aof-lab', 'package.json'), 'utf8'));
  assert.equal(pkg.version, env.version, 'the package.json version is the crate version');
  assert.equal(pkg.exports['.'].node, './node/index.js');
  assert.match(await readFile(path.join(env.app, 'node_modules', 'aof-lab', 'www', 'aof-lab.d.ts'), 'utf8'), /HTMLElementTagNameMap[\s\S]*'aof-lab': AofLabElement/);
  assert.match(await readFile(path.join(env.app, 'node_modules', 'aof-lab', 'README.md'), 'utf8'), /## Embedding `<aof-lab>`/);
});

test("tsc checks a host's code against the package's declarations (the element's tag, methods, events; the engine)", async () => {
  await copyFile(path.join(ROOT, 'tests', 'npm', 'types.ts'), path.join(env.app, 'types.ts'));
  const tsconfig = { compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] }, files: ['types.ts'] };
  await writeFile(path.join(env.app, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = spawnSync(path.join(ROOT, 'tests', 'e2e', 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: env.app, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  // And a mistake is caught: the types mean something.
  await writeFile(path.join(env.app, 'types.ts'), `import type { AofLabElement } from 'aof-lab/element';\nexport const f = (el: AofLabElement) => el.crash('meteor');\n`);
  const bad = spawnSync(path.join(ROOT, 'tests', 'e2e', 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: env.app, encoding: 'utf8' });
  assert.notEqual(bad.status, 0, 'a crash kind that does not exist is a type error');
  assert.match(bad.stdout, /meteor/);
});

test("the engine in Node: the package's example test loads a directory written by redis-server", async () => {
  const dir = path.join(env.tmp, 'redis');
  await mkdir(dir);
  const redis = await startRedis(dir);
  let digest;
  let keys;
  try {
    redis.cli('SET', 'greeting', 'hello');
    redis.cli('RPUSH', 'queue', 'a', 'b', 'c');
    redis.cli('HSET', 'user:1', 'name', 'Ada', 'lang', 'en');
    redis.cli('SADD', 'tags', 'x', 'y');
    redis.cli('ZADD', 'board', '1', 'p', '2', 'q');
    redis.cli('BGREWRITEAOF');
    for (let i = 0; i < 200 && redis.cli('INFO', 'persistence').includes('aof_rewrite_in_progress:1'); i++) await new Promise((r) => setTimeout(r, 25));
    // After the rewrite: an RDB base and writes in the new incr file.
    redis.cli('INCR', 'visits');
    redis.cli('SELECT', '0');
    redis.cli('EXPIRE', 'greeting', '100000');
    digest = redis.cli('DEBUG', 'DIGEST');
    keys = redis.cli('DBSIZE');
  } finally {
    redis.stop();
  }
  await new Promise((r) => setTimeout(r, 300)); // the server's shutdown fsyncs and exits
  await copyFile(path.join(ROOT, 'tests', 'npm', 'engine.test.mjs'), path.join(env.app, 'engine.test.mjs'));
  const run = spawnSync(process.execPath, ['--test', 'engine.test.mjs'], {
    cwd: env.app,
    encoding: 'utf8',
    // Not NODE_TEST_CONTEXT: the child reports as a test run of its own would.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), AOF_DIR: dir, AOF_DIGEST: digest, AOF_KEYS: keys },
  });
  assert.equal(run.status, 0, `node --test failed:\n${run.stdout}${run.stderr}`);
  assert.match(run.stdout, /# pass 3\b/);
  assert.match(run.stdout, /# skipped 0\b/);
  assert.match(run.stdout, /# fail 0\b/);
});

/** Waits until window.heard has an event `type` of element `id` (matching `where`). */
const heard = (b, id, type, from = 0) =>
  b.waitFor(([i, t, f]) => window.heard.slice(f).find((h) => h.id === i && h.type === t) ?? null, [id, type, from], 60_000);

/** The events of the host's element, and where we are in them. */
const mark = (b) => b.evaluate(() => window.heard.length);

for (const name of BROWSERS) {
  test(`${name}: the installed package served from a sub-path: the element starts, runs, plays a scenario, and the host hears its events`, async () => {
    const b = await open(name, { width: 1100, height: 900 });
    try {
      await b.goto(`${env.a.url}/${APP}/index.html`);
      const ready = await heard(b, 'lab', 'ready');
      assert.equal(ready.detail.backend, 'memory');
      // The start-up script ran: its reply and its bytes, with SELECT first.
      const first = await heard(b, 'lab', 'write');
      assert.equal(first.detail.command, 'SET greeting hello');
      assert.equal(first.detail.bytes, '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n');
      assert.deepEqual([first.detail.file, first.detail.offset], ['appendonlydir/appendonly.aof.1.incr.aof', 0]);

      // run(): the reply, the propagated bytes (EXPIRE becomes PEXPIREAT), and under always an
      // fsync that covers them.
      let from = await mark(b);
      const reply = await b.evaluate(() => document.getElementById('lab').run('SET k v'));
      assert.deepEqual(reply, { command: 'SET k v', text: 'OK', pending: false });
      const write = await heard(b, 'lab', 'write', from);
      assert.deepEqual(write.detail, { command: 'SET k v', bytes: '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n', file: 'appendonlydir/appendonly.aof.1.incr.aof', offset: 61 });
      const fsync = await heard(b, 'lab', 'fsync', from);
      assert.equal(fsync.detail.file, 'appendonlydir/appendonly.aof.1.incr.aof');
      assert.equal(fsync.detail.durable, 61 + 27, "under always the fsync covers SET k v");
      // In Redis's order: the bytes appended, the fsync, then the reply let out.
      const order = await b.evaluate((f) => window.heard.slice(f).filter((h) => h.id === 'lab').map((h) => h.type), from);
      assert.deepEqual(order, ['write', 'fsync', 'reply']);
      from = await mark(b);
      await b.evaluate(() => document.getElementById('lab').run('EXPIRE k 100'));
      assert.match((await heard(b, 'lab', 'write', from)).detail.bytes, /^\*3\r\n\$9\r\nPEXPIREAT\r\n\$1\r\nk\r\n\$13\r\n\d{13}\r\n$/);

      // A rewrite: rewrite-done.
      from = await mark(b);
      await b.evaluate(() => document.getElementById('lab').run('BGREWRITEAOF'));
      const done = await heard(b, 'lab', 'rewrite-done', from);
      assert.equal(done.detail.ok, true, done.detail.text);

      // crash(): the report, and under always nothing acknowledged is lost.
      from = await mark(b);
      const result = await b.evaluate(async () => (await document.getElementById('lab').crash('power')).report.kind);
      assert.equal(result, 'power');
      const crash = await heard(b, 'lab', 'crash', from);
      assert.equal(crash.detail.kind, 'power');
      assert.equal(crash.detail.report.keys_after, crash.detail.report.keys_before);
      assert.equal(crash.detail.report.keys_after, 2);

      // load() + the panel: a scenario of the host's own, played to the end.
      from = await mark(b);
      const steps = await b.evaluate(() =>
        document.getElementById('lab').load(['say A write under always survives a power loss.', 'config appendfsync always', 'SET k v', 'predict "Power fails now: is k there after the restart?" | yes | no', 'crash power', 'expect GET k => "v"'].join('\n')),
      );
      assert.equal(steps.length, 6);
      const outcomes = await b.evaluate(async () => {
        const el = document.getElementById('lab');
        const out = [];
        for (let o = await el.step(); o; o = await el.step(null)) out.push(o);
        return out;
      });
      assert.equal(outcomes.length, 6);
      assert.equal(outcomes.at(-1).kind, 'expect');
      assert.equal(outcomes.at(-1).passed, true, outcomes.at(-1).sentence);
      const stepEvents = await b.evaluate((f) => window.heard.slice(f).filter((h) => h.id === 'lab' && h.type === 'scenario-step'), from);
      assert.equal(stepEvents.length, 6);
      assert.equal(stepEvents.at(-1).detail.done, true);
      // The panel shows it: every check green, the summary says done.
      const panel = await b.evaluate(() => {
        const root = document.getElementById('lab').shadowRoot;
        return { done: root.querySelector('[data-part="scenarios"]').dataset.done, summary: root.querySelector('.scenario-summary').textContent };
      });
      assert.deepEqual(panel, { done: 'true', summary: 'done · checks: 1 passed, 0 failed, of 1' });
      // A malformed script is refused with its line.
      const refused = await b.evaluate(() => document.getElementById('lab').load('crash sideways').then(() => 'loaded', (e) => e.message));
      assert.match(refused, /line 1/);

      // Attributes at runtime: the policy (a CONFIG SET), the height, the scenario selected.
      await b.evaluate(() => document.getElementById('lab').setAttribute('appendfsync', 'no'));
      await b.waitFor(() => window.heard.some((h) => h.type === 'reply' && h.detail.command === 'CONFIG SET appendfsync no'));
      assert.match((await b.evaluate(() => document.getElementById('lab').run('CONFIG GET appendfsync'))).text, /"no"$/);
      const height = await b.evaluate(async () => {
        const el = document.getElementById('lab');
        el.setAttribute('height', '5rem');
        await new Promise((r) => requestAnimationFrame(r));
        return el.shadowRoot.querySelector('.log').getBoundingClientRect().height;
      });
      assert.equal(Math.round(height), 80);
      await b.evaluate(() => document.getElementById('lab').setAttribute('scenario', 'fsync-policies'));
      await b.waitFor(() => document.getElementById('lab').shadowRoot.querySelector('[data-part="scenarios"]').dataset.scenario === 'fsync-policies');

      // The element with a bad setting: an error event saying why.
      const error = await heard(b, 'broken', 'error');
      assert.match(error.detail.message, /appendfsync/);
      assert.equal(await b.evaluate(() => window.heard.filter((h) => h.id === 'lab' && h.type === 'error').length), 0);
      await b.shot(path.join(SHOTS, `package-subpath-${name}.png`));
      assert.deepEqual(await b.errors(), []);

      // The lab page itself, from the installed package under the sub-path.
      await b.goto(`${env.a.url}/${APP}/node_modules/aof-lab/www/index.html?backend=memory`);
      await b.waitFor(() => document.getElementById('status')?.dataset.engine === 'ready', null, 60_000);
    } finally {
      await b.close();
    }
  });

  test(`${name}: the element's files served from another origin (a CDN, with CORS) start in a page of the first`, async () => {
    const b = await open(name, { width: 1100, height: 900 });
    try {
      await b.goto(`${env.a.url}/cdn.html`);
      const ready = await heard(b, 'lab', 'ready');
      assert.equal(ready.detail.backend, 'memory');
      const info = await b.evaluate(() => ({ page: location.origin, script: new URL(document.querySelector('script[type=module]').src).origin, blob: !!document.getElementById('lab').lab.worker.startHint }));
      assert.notEqual(info.page, info.script, 'the element comes from another origin');
      assert.equal(info.blob, true, 'its worker was started through a same-origin blob');
      const from = await mark(b);
      assert.equal((await b.evaluate(() => document.getElementById('lab').run('RPUSH q a b'))).text, '(integer) 2');
      assert.equal((await heard(b, 'lab', 'write', from)).detail.bytes, '*4\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\nb\r\n');
      // The scenarios and the stylesheet came from the CDN too.
      await b.waitFor(() => document.getElementById('lab').shadowRoot.querySelectorAll('.scenario-select option').length >= 17);
      await b.shot(path.join(SHOTS, `package-cdn-${name}.png`));
    } finally {
      await b.close();
    }
  });
}
