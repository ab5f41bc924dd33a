// `make dist`'s static site, served by `python3 -m http.server` with no other headers (no
// COOP/COEP, nothing but what that server sends), in Chromium and Firefox: the landing page
// links the lab, the tutorial and the embed example, and each works there (the lab on OPFS as it
// opens, a tutorial section's scenario played, the example's elements started).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BROWSERS, open } from './browsers.mjs';
import { ROOT } from './harness.mjs';
import { freePort } from './redis.mjs';

const DIST = path.join(ROOT, 'dist');
let server;
let url;

before(async () => {
  execFileSync(path.join(ROOT, 'scripts', 'dist.sh'), { cwd: ROOT, stdio: 'inherit' });
  const port = await freePort();
  server = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', DIST, String(port)], { stdio: 'ignore' });
  url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('python3 -m http.server did not start');
});

after(() => server?.kill());

test('dist/ has the lab, the engine, the tutorial and the example, with relative paths only', async () => {
  for (const f of ['index.html', 'www/index.html', 'www/tutorial.html', 'www/embed.html', 'www/aof-lab.js', 'www/worker.js', 'www/vendor/uplot/uPlot.esm.js', 'pkg/aof_lab.js', 'pkg/aof_lab_bg.wasm']) {
    await readFile(path.join(DIST, f));
  }
  // No page or module asks for a root-relative path (which a sub-path host would break).
  const www = await readdir(path.join(DIST, 'www'), { recursive: true });
  for (const f of ['index.html', ...www.map((w) => `www/${w}`)].filter((f) => /\.(html|js|css)$/.test(f))) {
    const text = await readFile(path.join(DIST, f), 'utf8');
    const code = f.endsWith('.html') ? text.replace(/<pre>[\s\S]*?<\/pre>/g, '') : text;
    assert.doesNotMatch(code, /(?:src|href)=["']\/(?!\/)|(?:import|from)\s*\(?\s*["']\/(?!\/)|new URL\(["']\/(?!\/)/, `${f} uses a root-relative path`);
  }
  const res = await fetch(`${url}/www/index.html`);
  assert.equal(res.headers.get('cross-origin-opener-policy'), null);
  assert.equal(res.headers.get('cross-origin-embedder-policy'), null);
  assert.equal((await fetch(`${url}/pkg/aof_lab_bg.wasm`)).headers.get('content-type'), 'application/wasm');
});

for (const name of BROWSERS) {
  test(`${name}: the static site as python3 -m http.server serves it: the landing page, the lab, the tutorial, the example`, async () => {
    const b = await open(name, { width: 1280, height: 900 });
    try {
      await b.goto(`${url}/`);
      const links = await b.evaluate(() => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')));
      assert.deepEqual(links, ['www/index.html', 'www/tutorial.html', 'www/embed.html']);
      // The lab as it opens: OPFS, no cross-origin isolation needed.
      await b.click('a[href="www/index.html"]');
      await b.waitFor(() => document.getElementById('status')?.dataset.engine === 'ready', null, 60_000);
      assert.equal(await b.evaluate(() => crossOriginIsolated), false);
      assert.match(await b.evaluate(() => document.getElementById('backend').textContent), /OPFS/);
      await b.evaluate(() => document.getElementById('cmd').focus());
      await b.type('SET k v');
      await b.press('Enter');
      await b.waitFor(() => document.querySelector('#log .entry:last-child .reply:not(.waiting)')?.textContent === 'OK');
      // The tutorial: a section's lab plays its scenario to the end.
      await b.goto(`${url}/www/tutorial.html`);
      const result = await b.evaluate(async () => {
        const el = document.querySelector('aof-lab[scenario="fsync-policies"]');
        el.scrollIntoView();
        // Called at once, step() waits for the lab to start and its scenario to be loaded.
        while (await el.step(null));
        const panel = el.shadowRoot.querySelector('[data-part="scenarios"]');
        return { scenario: panel.dataset.scenario, done: panel.dataset.done, failed: panel.querySelectorAll('[data-result="fail"]').length, passed: panel.querySelectorAll('[data-result="pass"]').length };
      });
      assert.deepEqual(result, { scenario: 'fsync-policies', done: 'true', failed: 0, passed: 4 }); // fsync-policies.txt has 4 checks
      // The example: both elements start and run their scripts.
      await b.goto(`${url}/www/embed.html`);
      await b.waitFor(() => ['always', 'no'].every((i) => document.getElementById(i).shadowRoot?.querySelector('[data-part="status"]')?.dataset.engine === 'ready'), null, 60_000);
      await b.waitFor(() => [...document.getElementById('always').shadowRoot.querySelectorAll('.reply')].some((r) => r.textContent === '(integer) 1'));
      assert.deepEqual(await b.errors(), []);
    } finally {
      await b.close();
    }
  });
}
