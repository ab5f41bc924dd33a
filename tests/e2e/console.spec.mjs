// End-to-end tests of the lab page: the real page, served over HTTP, in Debian's Chromium driven
// by playwright-core (the shared set-up of harness.mjs). `make test` builds pkg/ first; run alone
// with `node --test` from here. Screenshots are kept in target/e2e/ (default width, 360 px, dark
// mode).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, SHOTS, openLab as openPage, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-console-');

/** Opens the lab in a fresh context and waits until the engine is ready. */
async function openLab(contextOptions = {}) {
  const context = await env.browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = watch(page);
  await openPage(env, page);
  return { context, page, problems };
}

/**
 * The page's modules that name a message or an action by its text instead of protocol.js's
 * constant: `[file, text]` for each (`act('crash')`, `{type: 'hello'}`, `name !== 'reset'`, and in
 * the workers' dispatch `case 'crash':`).
 */
async function namedOutsideProtocol(www, names) {
  const files = [];
  for (const dir of ['', 'ui/']) {
    for (const f of await readdir(path.join(www, dir))) if (f.endsWith('.js') && f !== 'protocol.js') files.push(dir + f);
  }
  assert.ok(files.length > 20 && files.includes('worker.js') && files.includes('ui/crash.js'), `the page's modules: ${files}`);
  const uses = [/\b(?:act|run)\(\s*'([^']+)'/g, /\btype\s*(?::|===|!==)\s*'([^']+)'/g, /\b(?:action|op|name)\s*(?::|===|!==)\s*'([^']+)'/g];
  const dispatch = [/\bcase\s+'([^']+)'\s*:/g];
  const found = [];
  for (const file of files) {
    const text = await readFile(path.join(www, file), 'utf8');
    for (const re of file.startsWith('worker') ? [...uses, ...dispatch] : uses) {
      for (const m of text.matchAll(re)) if (names.has(m[1])) found.push([file, m[1]]);
    }
  }
  return found;
}

test('every message and action name is defined once, in protocol.js, and the page uses the constants', async () => {
  const p = await import(new URL('../../www/protocol.js', import.meta.url));
  const actions = { LAB_ACTIONS: p.LAB_ACTIONS, MACHINE_ACTIONS: p.MACHINE_ACTIONS, SCENARIO_ACTIONS: p.SCENARIO_ACTIONS, TIMELINE: p.TIMELINE, LOG_ACTIONS: p.LOG_ACTIONS };
  const groups = { MSG: p.MSG, CHANNEL: p.CHANNEL, BRANCH_OPS: p.BRANCH_OPS, ...actions };
  for (const [name, group] of Object.entries(groups)) {
    const values = Object.values(group);
    assert.ok(values.length > 0 && Object.isFrozen(group), name);
    assert.equal(new Set(values).size, values.length, `${name} names one thing twice`);
  }
  // One ACTION message dispatches them all: an action name means one action.
  const every = Object.values(actions).flatMap((g) => Object.values(g));
  assert.equal(new Set(every).size, every.length, 'two action groups share a name');
  const names = new Set(Object.values(groups).flatMap((g) => Object.values(g)));
  assert.deepEqual(await namedOutsideProtocol(path.join(ROOT, 'www'), names), []);
  // The rendering helpers live with the views, not in the protocol.
  assert.equal(typeof p.respLines, 'undefined');
});

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

test('a script past busy-reply-threshold: the console says what Redis answers others, and kill -9 ends it', async () => {
  const { context, page, problems } = await openLab({ viewport: { width: 1280, height: 800 } });
  try {
    assert.equal(await run(page, 'CONFIG SET busy-reply-threshold 100'), 'OK');
    assert.equal(await run(page, 'SET k v'), 'OK');
    // A script that ends by itself: the panel shows while it runs past 100 ms, then goes.
    const reply = await run(page, 'EVAL "local t = 0 for i = 1, 3000000 do t = t + 1 end return t" 0', 60_000);
    assert.equal(reply, '(integer) 3000000');
    const panel = page.locator('.busy-panel');
    assert.equal(await panel.isVisible(), false);
    // One that never returns: the worker reads nothing more, the panel says why and how long.
    await page.locator('#cmd').fill('EVAL "while true do end" 0');
    await page.keyboard.press('Enter');
    await panel.waitFor({ state: 'visible', timeout: 10_000 });
    await page.waitForFunction(() => /has run [1-9]/.test(document.querySelector('.busy-title')?.textContent ?? ''), null, { timeout: 10_000 });
    const text = await panel.textContent();
    assert.match(text, /^BUSY · EVAL script has run \d+\.\d s, past busy-reply-threshold/);
    assert.match(text, /every other client: \(error\) BUSY Redis is busy running a script\. You can only call SCRIPT KILL or SHUTDOWN NOSAVE\./);
    assert.match(text, /Another client could stop it with SCRIPT KILL: it has not written\./);
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'lab-busy.png') });
    await page.setViewportSize({ width: 360, height: 780 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'lab-busy-360-dark.png') });
    // The button is reached from the keyboard like any other.
    const kill = panel.getByRole('button', { name: 'kill -9 (terminate the worker)' });
    await kill.focus();
    await page.keyboard.press('Enter');
    await page.locator('#log .note', { hasText: 'kill -9 while a script was busy: the worker was terminated' }).waitFor({ timeout: 10_000 });
    await page.locator('#cmd:not([disabled])').waitFor({ timeout: 20_000 });
    assert.equal(await panel.isVisible(), false);
    // A new worker loaded what the browser's storage held: the write made before the script.
    const backend = await page.locator('#backend').getAttribute('data-backend');
    assert.equal(await run(page, 'GET k'), backend === 'memory' ? '(nil)' : '"v"');
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
