// End-to-end tests of the lab page: the real page, served over HTTP, in Debian's Chromium driven
// by playwright-core. `make test` builds pkg/ first; run alone with `node --test` from here.
// Screenshots are kept in target/e2e/ (default width, 360 px, dark mode).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';
import { CHROMIUM, ROOT, SHOTS } from './harness.mjs';

// Debian's Chromium, as root, on a machine without a network: see TOOLCHAIN.md.

let server;
let browser;

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  server = await startServer(ROOT);
  browser = await chromium.launch(CHROMIUM);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the lab in a fresh context and waits until the engine is ready. */
async function openLab(contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${server.url}/www/`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  return { context, page, problems };
}

/** Types a line in the console, presses Enter and returns its reply as shown. */
async function run(page, line) {
  const entries = page.locator('#log .entry');
  const index = await entries.count();
  await page.locator('#cmd').fill(line);
  await page.keyboard.press('Enter');
  const reply = entries.nth(index).locator('.reply:not(.waiting)');
  await reply.waitFor({ timeout: 10_000 });
  return reply.textContent();
}

test('the engine runs in a module worker; the main thread never loads wasm', async () => {
  const { context, page, problems } = await openLab();
  try {
    assert.equal(await page.title(), 'AOF Lab');
    const workers = page.workers();
    assert.equal(workers.length, 1);
    assert.match(workers[0].url(), /\/www\/worker\.js$/);
    const mainThreadFetches = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    assert.ok(mainThreadFetches.length > 0);
    for (const url of mainThreadFetches) assert.doesNotMatch(url, /\.wasm$|\/pkg\//, `main thread fetched ${url}`);
    // Labelled input, focused once the engine is ready: usable from the keyboard at once.
    assert.equal(await page.getByLabel('Command', { exact: true }).getAttribute('id'), 'cmd');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'cmd');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('MULTI and EXEC reply like redis-cli; arrows walk the history', async () => {
  const { context, page, problems } = await openLab();
  try {
    assert.equal(await run(page, 'MULTI'), 'OK');
    assert.equal(await run(page, 'EXEC'), '(empty array)');
    assert.equal(await run(page, 'EXEC'), '(error) ERR EXEC without MULTI');
    assert.equal(await run(page, 'multi a'), "(error) ERR wrong number of arguments for 'multi' command");
    const input = page.locator('#cmd');
    await input.fill('draft');
    const history = [];
    for (const key of ['ArrowUp', 'ArrowUp', 'ArrowUp', 'ArrowDown', 'ArrowDown', 'ArrowDown']) {
      await input.press(key);
      history.push(await input.inputValue());
    }
    // Consecutive repeats are kept once, as in a shell.
    assert.deepEqual(history, ['multi a', 'EXEC', 'MULTI', 'EXEC', 'multi a', 'draft']);
    assert.equal(await page.locator('#aof-size').textContent(), '0 bytes', 'transactions alone write nothing');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

// Needs the string commands (src/cmd/string.rs).
test('SET k v then GET k shows "v", and the AOF panel shows the propagated bytes', async () => {
  const { context, page, problems } = await openLab();
  try {
    assert.equal(await run(page, 'SET k v'), 'OK');
    assert.equal(await run(page, 'GET k'), '"v"');
    // SELECT 0 (23 bytes) then SET k v (27 bytes), exactly as redis-server 7.0.15 appends them.
    assert.equal(await page.locator('#aof-size').textContent(), '50 bytes');
    const resp = await page.locator('#aof .resp').allTextContents();
    // One line per propagated command, every \r\n shown.
    assert.deepEqual(resp, ['*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n\n*3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n\n']);
    assert.deepEqual(await page.locator('#aof .aof-cmd').allTextContents(), ['SET k v']);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

// Needs the blocking list commands (src/cmd/list.rs).
test('a blocked command waits, and what was typed after it runs once it is served', async () => {
  const { context, page, problems } = await openLab();
  try {
    const entries = page.locator('#log .entry');
    await page.locator('#cmd').fill('BLPOP queue 1');
    await page.keyboard.press('Enter');
    await page.locator('#cmd').fill('PING');
    await page.keyboard.press('Enter');
    await entries.nth(0).locator('.reply.waiting', { hasText: 'blocked' }).waitFor({ timeout: 5_000 });
    assert.equal(await entries.nth(1).locator('.reply').getAttribute('class'), 'reply waiting');
    // The 1 s timeout is served by serverCron in the worker; PING runs after it.
    await entries.nth(1).locator('.reply:not(.waiting)').waitFor({ timeout: 10_000 });
    assert.deepEqual(await page.locator('#log .entry .reply').allTextContents(), ['(nil)', 'PONG']);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

const TOUR = ['SET greeting hello', 'GET greeting', 'INCR visits', 'MULTI', 'SET counter 10', 'INCR visits', 'EXEC', 'GET missing', 'EXEC', 'NOSUCHCOMMAND x'];

for (const [name, options] of [
  ['default', { viewport: { width: 1280, height: 800 } }],
  ['narrow-360', { viewport: { width: 360, height: 780 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ['dark', { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' }],
]) {
  test(`screenshot: ${name}`, async () => {
    const { context, page, problems } = await openLab(options);
    try {
      for (const line of TOUR) assert.notEqual(await run(page, line), '', `a reply to ${line}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling');
      await page.locator('#cmd').focus();
      await page.screenshot({ path: path.join(SHOTS, `lab-${name}.png`), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
