// The lab page's main paths in Firefox ESR (selenium-webdriver + geckodriver, browsers.mjs): the
// subset of the Chromium specs that covers what a reader does. The console typed with real keys
// (replies, the AOF panel's bytes), the files of the AOF directory, the crash lab on the page as
// it opens (OPFS) and on IndexedDB (a power loss per policy; a real reload keeps every
// acknowledged write), and <aof-lab> elements on the embed example (two engines, the start-up
// script, the crash lab inside an element, the host page hearing its events). The element's
// package, the tutorial and dist/ run in Firefox in their own specs (package, tutorial, dist).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BROWSERS, open } from './browsers.mjs';
import { ROOT, SHOTS } from './harness.mjs';
import { startServer } from './server.mjs';

let server;
before(async () => {
  await mkdir(SHOTS, { recursive: true });
  server = await startServer(ROOT);
});
after(() => server?.close());

const ready = (b) => b.waitFor(() => document.getElementById('status')?.dataset.engine === 'ready', null, 60_000);

/** Types `line` and Enter in the console (focused), waits for its reply and returns it. */
async function run(b, line) {
  const before = await b.evaluate(() => document.querySelectorAll('#log .entry').length);
  await b.evaluate(() => document.getElementById('cmd').focus());
  await b.type(line);
  await b.press('Enter');
  return b.waitFor(([n, l]) => {
    const entry = document.querySelectorAll('#log .entry')[n];
    if (!entry) return null;
    if (entry.querySelector('.cmd').textContent !== `aof-lab> ${l}`) return `typed: ${entry.querySelector('.cmd').textContent}`;
    return entry.querySelector('.reply:not(.waiting)')?.textContent ?? null;
  }, [before, line]);
}

/** The crash lab: pick the kind, click Crash, skip the prediction; resolves to the summary. */
async function crash(b, kind) {
  const before = await b.evaluate(() => document.querySelector('#crash .crash-summary')?.textContent ?? '');
  await b.click(`#crash input[value="${kind}"]`);
  await b.click('#crash button[data-action="crash"]');
  if (await b.evaluate(() => !!document.querySelector('#crash button[data-action="just-crash"]')?.checkVisibility?.())) await b.click('#crash button[data-action="just-crash"]');
  const words = { kill: 'a process kill', power: 'a power loss', torn: 'a torn write', 'torn-seq': 'a torn sequence' }[kind];
  return b.waitFor(([w, prev]) => {
    const s = document.querySelector('#crash .crash-summary')?.textContent ?? '';
    return s.startsWith(`${w} under`) && s !== prev ? s : null;
  }, [words, before]);
}

const files = (b) => b.evaluate(() => [...document.querySelectorAll('#files li[data-name]')].map((li) => li.dataset.name));

if (BROWSERS.includes('firefox')) {
  for (const [backend, query, label] of [
    ['OPFS', 'appendfsync=always', /OPFS/],
    ['IndexedDB', 'backend=indexeddb&namespace=ff-idb&appendfsync=always', /IndexedDB/],
  ]) {
    test(`firefox, ${backend}: the console, the AOF bytes, the files, a power loss under always and under no, and a reload`, async () => {
      const b = await open('firefox', { width: 1280, height: 900 });
      try {
        await b.goto(`${server.url}/www/?${query}`);
        await ready(b);
        assert.match(await b.evaluate(() => document.getElementById('backend').textContent), label);
        // The console, typed: replies as redis-cli shows them, the bytes Redis 7.0.15 appends.
        assert.equal(await run(b, 'SET a aa'), 'OK');
        assert.equal(await run(b, 'GET a'), '"aa"');
        assert.equal(await b.evaluate(() => document.getElementById('aof-size').textContent), '51 bytes');
        assert.deepEqual(await b.evaluate(() => [...document.querySelectorAll('#aof .resp')].map((e) => e.textContent)), ['*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n\n*3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\na\\r\\n$2\\r\\naa\\r\\n\n']);
        assert.equal(await run(b, 'RPUSH l x y'), '(integer) 2');
        assert.equal(await run(b, 'LRANGE l 0 -1'), '1) "x"\n2) "y"');
        assert.equal(await run(b, 'SET c cc'), 'OK');
        // The files of appendonlydir/.
        await b.waitFor(() => !!document.querySelector('#files li[data-name="appendonlydir/appendonly.aof.1.incr.aof"]'));
        const names = await files(b);
        for (const f of ['appendonlydir/appendonly.aof.1.base.rdb', 'appendonlydir/appendonly.aof.1.incr.aof', 'appendonlydir/appendonly.aof.manifest']) assert.ok(names.includes(f), `${f} in ${names}`);
        // always: a power loss keeps every acknowledged write.
        assert.match(await crash(b, 'power'), /^a power loss under appendfsync always: 3 keys before, 3 after the restart\. 0 bytes never reached the disk/);
        assert.equal(await run(b, 'MGET a c'), '1) "aa"\n2) "cc"');
        // no: nothing fsynced, the kernel had not written back: the last write is lost.
        assert.equal(await run(b, 'CONFIG SET appendfsync no'), 'OK');
        assert.equal(await run(b, 'SET d dd'), 'OK');
        assert.match(await crash(b, 'power'), /^a power loss under appendfsync no: 4 keys before, 3 after the restart\. [1-9]\d* bytes never reached the disk \(0 in aof_buf, [1-9]\d* in the page cache\)/);
        assert.equal(await run(b, 'GET d'), '(nil)');
        await b.shot(path.join(SHOTS, `firefox-lab-${backend}.png`));
        // A real reload (a process crash): the browser's files hold every acknowledged write.
        assert.equal(await run(b, 'CONFIG SET appendfsync always'), 'OK');
        assert.equal(await run(b, 'INCR n'), '(integer) 1');
        await b.reload();
        await ready(b);
        assert.match(await b.evaluate(() => document.getElementById('backend').textContent), label);
        assert.equal(await run(b, 'MGET a c n'), '1) "aa"\n2) "cc"\n3) "1"');
        assert.deepEqual(await b.errors(), []);
      } finally {
        await b.close();
      }
    });
  }

  test('firefox: a script past busy-reply-threshold shows the busy panel, and kill -9 brings a new worker', async () => {
    const b = await open('firefox', { width: 1280, height: 900 });
    try {
      await b.goto(`${server.url}/www/?namespace=ff-busy`);
      await ready(b);
      assert.equal(await run(b, 'CONFIG SET busy-reply-threshold 100'), 'OK');
      assert.equal(await run(b, 'SET k v'), 'OK');
      await b.evaluate(() => document.getElementById('cmd').focus());
      await b.type('EVAL "while true do end" 0');
      await b.press('Enter');
      const title = await b.waitFor(() => {
        const t = document.querySelector('.busy-panel:not([hidden]) .busy-title')?.textContent ?? '';
        return /has run [1-9]/.test(t) ? t : null;
      });
      assert.match(title, /^BUSY · EVAL script has run \d+\.\d s, past busy-reply-threshold$/);
      await b.shot(path.join(SHOTS, 'firefox-lab-busy.png'));
      await b.click('.busy-kill-button');
      await b.waitFor(() => [...document.querySelectorAll('#log .note')].some((n) => n.textContent.startsWith('kill -9 while a script was busy')));
      await ready(b);
      assert.equal(await b.evaluate(() => document.querySelector('.busy-panel').hidden), true);
      assert.equal(await run(b, 'GET k'), '"v"');
      assert.deepEqual(await b.errors(), []);
    } finally {
      await b.close();
    }
  });

  test('firefox: <aof-lab> elements on the embed example: two engines, the start-up script, a crash inside an element, the page hearing its events', async () => {
    const b = await open('firefox', { width: 1280, height: 900 });
    try {
      await b.goto(`${server.url}/www/embed.html`);
      const status = (id) => b.evaluate((i) => document.getElementById(i).shadowRoot?.querySelector('[data-part="status"]')?.dataset.engine, id);
      await b.waitFor(() => ['always', 'no'].every((i) => document.getElementById(i).shadowRoot?.querySelector('[data-part="status"]')?.dataset.engine === 'ready'), null, 60_000);
      assert.equal(await status('always'), 'ready');
      // The start-up script ran in the first element: its three commands, their replies.
      await b.waitFor(() => [...document.getElementById('always').shadowRoot.querySelectorAll('.reply')].some((r) => r.textContent === '(integer) 1'));
      assert.deepEqual(
        await b.evaluate(() => [...document.getElementById('always').shadowRoot.querySelectorAll('.entry .cmd')].map((e) => e.textContent)),
        ['aof-lab> SET greeting hello', 'aof-lab> RPUSH queue a b c', 'aof-lab> INCR visits'],
      );
      // The page's buttons drive it through its methods; the page lists its events.
      await b.click('button[data-run="EXPIRE greeting 60"]');
      await b.waitFor(() => [...document.querySelectorAll('#heard li')].some((li) => /^write: \*3\\r\\n\$9\\r\\nPEXPIREAT\\r\\n\$8\\r\\ngreeting/.test(li.textContent)));
      await b.click('button[data-crash="power"]');
      await b.waitFor(() => [...document.querySelectorAll('#heard li')].some((li) => li.textContent === 'crash: power, 3 of 3 keys came back'));
      // The crash lab inside the other element, clicked in its shadow root: appendfsync no loses the write.
      await b.evaluate(() => {
        const root = document.getElementById('no').shadowRoot;
        root.querySelector('input[value="power"]').click();
        root.querySelector('button[data-action="crash"]').click();
      });
      await b.evaluate(async () => {
        const root = document.getElementById('no').shadowRoot;
        for (let i = 0; i < 50 && !root.querySelector('button[data-action="just-crash"]'); i++) await new Promise((r) => setTimeout(r, 50));
        root.querySelector('button[data-action="just-crash"]')?.click();
      });
      await b.waitFor(() => document.getElementById('no').shadowRoot.querySelector('.crash-summary')?.textContent.startsWith('a power loss under appendfsync no: 1 keys before, 0 after the restart'));
      await b.shot(path.join(SHOTS, 'firefox-embed.png'));
      assert.deepEqual(await b.errors(), []);
    } finally {
      await b.close();
    }
  });
}
