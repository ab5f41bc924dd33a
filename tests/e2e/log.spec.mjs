// End-to-end tests of the log view ("the log, byte by byte") on the real page with no URL
// options (OPFS): records with offsets and framing, a console command's and a write event's
// bytes opened in the log, an RDB base shown as its structure after BGREWRITEAOF, a damaged tail
// marked where redis-check-aof cuts it; a directory written by a real redis-server 7.0.15
// inspected (and checked) without loading it, a truncated copy cut where the real
// redis-check-aof cuts it; a 1 000 000-command file opened and scrolled to its end.
// Debian's Chromium driven by playwright-core; `make test` builds pkg/ first.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startRedis } from './redis.mjs';
import { SHOTS, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-log-');

async function open(page, query = '') {
  await page.goto(`${env.server.url}/www/${query}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
}

const log = (page) => page.locator('#logview');
const rows = (page) => page.locator('#logview .vgrid-window .vgrid-row:not([hidden]):not(.loading)');

/** The visible rows as {i, offset, len, mark, text, framing, cut}. */
async function visibleRows(page) {
  return page.locator('#logview .vgrid-window .vgrid-row:not([hidden])').evaluateAll((els) =>
    els.map((r) => ({
      i: Number(r.getAttribute('aria-rowindex')) - 2,
      offset: Number(r.dataset.offset),
      len: Number(r.querySelector('.c-len').textContent.replace(/,/g, '')),
      mark: r.querySelector('.c-mark').textContent,
      text: r.querySelector('.c-text').textContent,
      framing: r.querySelector('.c-framing').textContent,
      cut: r.classList.contains('cut'),
      loading: r.classList.contains('loading'),
    })),
  );
}

/** Chooses the file whose option text starts with `name` (in the given group). */
async function chooseFile(page, name, group = 'This lab’s files') {
  const value = await page.locator(`#logview select.log-file optgroup[label="${group}"] option`).evaluateAll(
    (opts, n) => opts.find((o) => o.textContent.startsWith(n))?.value,
    name,
  );
  assert.ok(value, `${name} in the file list`);
  await page.locator('#logview select.log-file').selectOption(value);
}

async function waitRows(page, predicate, what) {
  for (let i = 0; i < 200; i++) {
    const r = await visibleRows(page);
    if (r.length && !r.some((x) => x.loading) && predicate(r)) return r;
    await page.waitForTimeout(50);
  }
  assert.fail(`rows never showed ${what}: ${JSON.stringify(await visibleRows(page)).slice(0, 2000)}`);
}

/** Waits until the selected row is `want` ({text, offset}; a jump is asynchronous). */
/** Every row of a short file, read screen by screen (PageDown from the top). */
async function allRows(page) {
  const total = Number(await page.locator('#logview').getAttribute('data-records'));
  const seen = new Map();
  await page.locator('#logview .vgrid').focus();
  await page.keyboard.press('Home');
  for (let k = 0; k < 100 && seen.size < total; k++) {
    for (const r of await waitRows(page, () => true, 'a screen')) seen.set(r.i, r);
    await page.keyboard.press('PageDown');
  }
  return [...seen.values()].sort((a, b) => a.i - b.i);
}

async function selected(page, want) {
  const row = page.locator('#logview .vgrid-window .vgrid-row[aria-selected="true"]');
  let got;
  for (let i = 0; i < 100; i++) {
    if (await row.count()) {
      got = await row.evaluate((r) => ({ text: r.querySelector('.c-text').textContent, offset: Number(r.dataset.offset) }));
      if (got.text === want.text && got.offset === want.offset) break;
    }
    await page.waitForTimeout(50);
  }
  assert.deepEqual(got, want);
}

async function shots(page, name) {
  // A viewport screenshot with the panel in view (a full-page capture resets inner scrolling).
  const size = page.viewportSize();
  const height = await log(page).evaluate((e) => Math.ceil(e.closest('section').getBoundingClientRect().height) + 24);
  await page.setViewportSize({ width: size.width, height: Math.min(height, 2400) });
  await log(page).evaluate((e) => e.closest('section').scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(100);
  await page.screenshot({ path: path.join(SHOTS, `log-${name}.png`) });
  await page.setViewportSize(size);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, `no horizontal overflow (${name})`);
}

test('the log view on the default page: records with offsets and framing, a console command and a write event open their bytes, an RDB base as its structure, a damaged tail marked at the cut', async () => {
  const context = await env.newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page);
    assert.match(await page.locator('#backend').textContent(), /OPFS/);
    for (const line of ['SET greeting hello', 'RPUSH list a b c', 'MULTI', 'SET a 1', 'INCR n', 'EXEC', 'SELECT 3', 'SET "two words" "x\\r\\ny"', 'SELECT 0']) {
      await run(page, line);
    }
    await log(page).scrollIntoViewIfNeeded();
    const incr = 'appendonly.aof.1.incr.aof';
    await page.locator('#logview .log-meta', { hasText: '9 records' }).waitFor();
    const r = await waitRows(page, (x) => x.length === 9, '9 records');
    assert.deepEqual(r.map((x) => [x.offset, x.len]), [[0, 23], [23, 38], [61, 46], [107, 15], [122, 27], [149, 21], [170, 14], [184, 23], [207, 38]]);
    assert.deepEqual(r.map((x) => x.mark), ['SELECT', '', '', 'MULTI', '', '', 'EXEC', 'SELECT', '']);
    assert.equal(r[0].framing, '*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n');
    assert.equal(r[1].text, 'SET greeting hello');
    assert.equal(r[8].text, 'SET "two words" "x\\r\\ny"');
    assert.equal(r[8].framing, '*3\\r\\n$3\\r\\nSET\\r\\n$9\\r\\ntwo words\\r\\n$4\\r\\nx\\r\\ny\\r\\n');
    assert.match(await page.locator('#logview select.log-file').inputValue(), new RegExp(`${incr}$`));

    // A console command's bytes: the button on its line selects its record (past the SELECT
    // the feed put before the first write).
    const greeting = page.locator('#log .entry', { hasText: 'aof-lab> SET greeting hello' });
    assert.equal(await greeting.locator('.to-log').textContent(), 'bytes @0');
    await greeting.locator('.to-log').click();
    await selected(page, { text: 'SET greeting hello', offset: 23 });
    const rpush = page.locator('#log .entry', { hasText: 'aof-lab> RPUSH list a b c' });
    assert.equal(await rpush.locator('.to-log').textContent(), 'bytes @61');
    await rpush.locator('.to-log').click();
    await selected(page, { text: 'RPUSH list a b c', offset: 61 });
    const detail = page.locator('#logview .log-detail');
    // The detail follows the selection once the record's bytes arrive from the worker.
    await detail.locator('.log-detail-head', { hasText: 'offset 61 ' }).waitFor();
    await detail.locator('.log-framing').waitFor();
    assert.match(await detail.locator('.log-detail-head').textContent(), /Record 3 · offset 61 \(0x3d\) · 46 bytes · command/);
    assert.equal(await detail.locator('.log-framing').textContent(), '*5\\r\\n$5\\r\\nRPUSH\\r\\n$4\\r\\nlist\\r\\n$1\\r\\na\\r\\n$1\\r\\nb\\r\\n$1\\r\\nc\\r\\n');
    assert.equal(await detail.locator('.log-framing .crlf').count(), 11);
    // The keyboard moves the selection; the detail follows.
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('vgrid')), true, 'the list has the focus');
    await page.keyboard.press('ArrowDown');
    await selected(page, { text: 'MULTI', offset: 107 });
    await detail.locator('.log-detail-head', { hasText: 'offset 107' }).waitFor();
    // EXEC's bytes are the whole transaction (propagated at EXEC): its button opens the MULTI.
    await page.locator('#log .entry', { hasText: 'aof-lab> EXEC' }).locator('.to-log').click();
    await selected(page, { text: 'MULTI', offset: 107 });
    // A write event's bytes: the last turn wrote SELECT 3 (the feed's, db 3) and the SET.
    const write = page.locator('#events .ev-write').last();
    assert.match(await write.locator('.to-log').textContent(), /^bytes @184$/);
    await page.locator('#logview .vgrid').evaluate((g) => g.blur());
    await write.locator('.to-log').click();
    await selected(page, { text: 'SELECT 3', offset: 184 });
    // The ARIA grid counts every row (header included), not the mounted ones.
    assert.equal(await page.locator('#logview .vgrid').getAttribute('aria-rowcount'), '10');
    await shots(page, 'desktop');

    // A new write appears at the end (the index grows with the file).
    await run(page, 'SET late arrival');
    await log(page).scrollIntoViewIfNeeded(); // the view follows the files while it is shown
    await page.locator('#logview .log-meta', { hasText: '11 records' }).waitFor();
    await waitRows(page, (x) => x.some((y) => y.text === 'SET late arrival' && y.offset === 268), 'the new write (after a SELECT 0)');

    // BGREWRITEAOF: the new base is an RDB, shown as its structure.
    await page.locator('#bgrewrite').click();
    await log(page).scrollIntoViewIfNeeded();
    await page.locator('#logview select.log-file option', { hasText: 'appendonly.aof.2.base.rdb' }).waitFor({ state: 'attached', timeout: 15_000 });
    await chooseFile(page, 'appendonly.aof.2.base.rdb');
    const base = await waitRows(page, (x) => x.some((y) => y.text === 'EOF'), 'the RDB structure');
    const texts = base.map((x) => x.text);
    assert.equal(texts[0], 'REDIS0010: RDB version 10');
    assert.equal(base[0].framing, '52 45 44 49 53 30 30 31 30');
    for (const want of ['AUX redis-ver = "7.0.15"', 'AUX aof-base = "1"', 'SELECTDB 0', 'string greeting (raw) = "hello"', 'list list (list_quicklist_2) 3 elements', 'string n (int) = "1"', 'string "two words" (raw) = "x\\r\\ny"', 'SELECTDB 3', 'EOF']) {
      assert.ok(texts.includes(want), `${want} in ${JSON.stringify(texts)}`);
    }
    assert.ok(base.every((x) => x.mark === 'RDB'));
    await page.locator('#logview .vgrid').focus();
    await page.keyboard.press('End');
    await detail.locator('.log-detail-head', { hasText: '8 bytes' }).waitFor();
    assert.match(await detail.locator('.log-detail-text').textContent(), /^CRC-64 0x[0-9a-f]{16} \(matches\)$/);
    assert.match(await detail.locator('.log-framing').textContent(), /^([0-9a-f]{2} ){7}[0-9a-f]{2}$/);

    // A damaged tail: files with garbage after a command, imported (the server refuses them
    // and stays down), shown with the cut where redis-check-aof puts it.
    const bad = await mkdtemp(path.join(env.tmp, 'bad-'));
    await writeFile(path.join(bad, 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
    await writeFile(path.join(bad, 'appendonly.aof.1.incr.aof'), '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\ngarbage\r\n');
    await page.locator('#transfer input[type="file"]').first().setInputFiles([path.join(bad, 'appendonly.aof.manifest'), path.join(bad, 'appendonly.aof.1.incr.aof')]);
    await page.locator('#transfer .transfer-status', { hasText: 'refused to start' }).waitFor({ timeout: 15_000 });
    await log(page).scrollIntoViewIfNeeded();
    await chooseFile(page, 'appendonly.aof.1.incr.aof');
    const damaged = await waitRows(page, (x) => x.length === 2, 'the damaged file');
    assert.deepEqual(damaged.map((x) => [x.offset, x.len, x.mark, x.cut]), [[0, 27, '', false], [27, 9, '✂ cut', true]]);
    assert.equal(damaged[1].text, '!! not a RESP command (redis-check-aof: "AOF format error")');
    assert.match(await page.locator('#logview .log-cut-note').first().textContent(), /redis-check-aof --fix would truncate this file at offset 27 \(9 bytes go\)/);
    await page.locator('#logview .log-cut-go').click();
    await selected(page, { text: damaged[1].text, offset: 27 });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a directory written by a real redis-server 7.0.15, inspected and checked without loading it; a truncated copy cut where the real redis-check-aof cuts', async () => {
  const dir = await mkdtemp(path.join(env.tmp, 'redis-'));
  const redis = await startRedis(dir);
  try {
    for (let i = 0; i < 30; i++) redis.cli('SET', `key:${i}`, `value ${i}`);
    redis.cli('RPUSH', 'queue', 'a', 'b', 'c');
    redis.cli('HSET', 'user:1', 'name', 'ada', 'lang', 'c');
    redis.cli('SADD', 'tags', '1', '2', '3');
    redis.cli('ZADD', 'board', '1', 'x', '2', 'y');
    redis.cli('SET', 'session', 'abc', 'EX', '1000');
    redis.cli('BGREWRITEAOF');
    for (let i = 0; i < 200 && !/aof_rewrite_in_progress:0/.test(redis.cli('INFO', 'persistence')); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200));
    redis.cli('SET', 'after', 'rewrite');
    redis.cli('INCR', 'counter');
    redis.cli('SELECT', '2');
  } finally {
    redis.stop();
  }
  await new Promise((r) => setTimeout(r, 200));
  const aofDir = path.join(dir, 'appendonlydir');
  const names = await readdir(aofDir);
  const incrName = names.find((n) => n.endsWith('.incr.aof'));
  const baseName = names.find((n) => n.endsWith('.base.rdb'));
  // A truncated copy of the incr file, and what the real redis-check-aof says of it.
  const cutDir = await mkdtemp(path.join(env.tmp, 'cut-'));
  const cutFile = path.join(cutDir, 'appendonly.aof');
  await copyFile(path.join(aofDir, incrName), cutFile);
  const size = (await stat(cutFile)).size;
  await truncate(cutFile, size - 7);
  let real = '';
  try {
    execFileSync('redis-check-aof', [cutFile], { encoding: 'utf8', input: 'n\n' });
  } catch (err) {
    real = err.stdout;
  }
  const okUpTo = Number(/ok_up_to=(\d+)/.exec(real)?.[1]);
  assert.ok(okUpTo > 0 && okUpTo < size - 7, real);

  const context = await env.newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page);
    assert.equal(await run(page, 'SET mine 1'), 'OK');
    await log(page).scrollIntoViewIfNeeded();
    const folder = page.locator('#logview input[type="file"][webkitdirectory]');
    await folder.setInputFiles(aofDir);
    const check = page.locator('#logview .log-check');
    await check.filter({ hasText: 'exit: 0' }).waitFor({ timeout: 30_000 });
    const out = await check.textContent();
    assert.match(out, /^\$ redis-check-aof appendonlydir\/appendonly\.aof\.manifest\nStart checking Multi Part AOF\nStart to check BASE AOF \(RDB format\)\./);
    assert.match(out, /All AOF files and manifest are valid/);
    // The dropped files are listed apart; the incr file is shown first.
    const group = page.locator('#logview select.log-file optgroup[label="Dropped (inspected, not loaded)"] option');
    assert.deepEqual((await group.allTextContents()).map((t) => t.split(' · ').slice(0, 2).join(' · ')).sort(), [`${baseName} · base`, `${incrName} · incr`].sort());
    const incr = await waitRows(page, (x) => x.some((y) => y.text === 'INCR counter'), 'the dropped incr file');
    assert.deepEqual(incr.map((x) => x.text), ['SELECT 0', 'SET after rewrite', 'INCR counter']);
    await chooseFile(page, baseName, 'Dropped (inspected, not loaded)');
    await waitRows(page, (x) => x[0].text.startsWith('REDIS0010'), 'the dropped base');
    const base = await allRows(page);
    const texts = base.map((x) => x.text);
    for (const want of ['REDIS0010: RDB version 10', 'AUX redis-ver = "7.0.15"', 'list queue (list_quicklist_2) 3 elements', 'hash user:1 (hash_listpack) 2 fields', 'set tags (set_intset) 3 members', 'zset board (zset_listpack) 2 members', 'string key:7 (raw) = "value 7"']) {
      assert.ok(texts.includes(want), `${want} in ${JSON.stringify(texts)}`);
    }
    assert.ok(texts.some((t) => /^string session \(raw\) = "abc", expires 20\d\d-/.test(t)), JSON.stringify(texts));
    // Nothing was loaded: the lab still has only its own key and its own files.
    assert.equal(await run(page, 'DBSIZE'), '(integer) 1');
    assert.doesNotMatch((await page.locator('#events .ev-text').allTextContents()).join('\n'), /import/);
    await page.setViewportSize({ width: 1280, height: 1400 });
    await shots(page, 'dropped');

    // One damaged file: the cut is where the real redis-check-aof cuts.
    await page.locator('#logview input[type="file"]:not([webkitdirectory])').setInputFiles(cutFile);
    await check.filter({ hasText: 'exit: 1' }).waitFor({ timeout: 15_000 });
    assert.match(await check.textContent(), new RegExp(`ok_up_to=${okUpTo},`));
    const cut = await waitRows(page, (x) => x.some((y) => y.cut), 'the cut');
    const first = cut.find((x) => x.cut);
    assert.equal(first.offset, okUpTo);
    assert.equal(first.mark, '✂ cut');
    assert.match(await page.locator('#logview .log-cut-note').first().textContent(), new RegExp(`truncate this file at offset ${okUpTo.toLocaleString('en')}`));
    await page.locator('#logview button', { hasText: 'Close the dropped files' }).click();
    await page.locator('#logview select.log-file optgroup[label="Dropped (inspected, not loaded)"]').waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a 1 000 000-command AOF opens, and scrolling shows the right offsets down to the end', async () => {
  // Every record the same length, so that row i starts at HEAD + i * REC.
  const N = 1_000_000;
  const pad = (i) => String(i).padStart(7, '0');
  const rec = (i) => `*3\r\n$3\r\nSET\r\n$11\r\nkey:${pad(i)}\r\n$13\r\nvalue:${pad(i)}\r\n`;
  const HEAD = '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n';
  const REC = rec(0).length;
  const file = path.join(env.tmp, 'million.aof');
  const chunks = [HEAD];
  for (let i = 0; i < N; i++) chunks.push(rec(i));
  await writeFile(file, chunks.join(''));
  const offsetOf = (row) => (row === 0 ? 0 : HEAD.length + (row - 1) * REC);

  const context = await env.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page);
    await log(page).scrollIntoViewIfNeeded();
    await page.locator('#logview input[type="file"]:not([webkitdirectory])').setInputFiles(file);
    await page.locator('#logview .log-meta', { hasText: '1,000,001 records' }).waitFor({ timeout: 120_000 });
    assert.match(await page.locator('#logview .log-check').textContent(), /AOF million\.aof is valid/);
    assert.equal(await page.locator('#logview .vgrid').getAttribute('aria-rowcount'), '1000002');
    // The DOM holds a pool of rows, not a million.
    assert.ok((await page.locator('#logview .vgrid-window .vgrid-row').count()) < 40);
    const check = async (what, ready = () => true) => {
      const r = await waitRows(page, ready, what);
      for (const x of r) {
        assert.equal(x.offset, offsetOf(x.i), `${what}: row ${x.i}`);
        if (x.i > 0) assert.equal(x.text, `SET key:${pad(x.i - 1)} value:${pad(x.i - 1)}`, `${what}: row ${x.i}`);
      }
      return r;
    };
    const first = await check('the top');
    assert.equal(first[0].i, 0);
    // The scroll height is capped (8 M px): the scrollbar at its end shows the last rows.
    const scroller = page.locator('#logview .vgrid-scroll');
    const height = await scroller.evaluate((s) => s.scrollHeight);
    assert.ok(height <= 8_000_000, `scroll height ${height}`);
    await scroller.evaluate((s) => {
      s.scrollTop = s.scrollHeight;
    });
    const end = await check('the scrollbar at its end', (x) => x.at(-1).i === N);
    assert.equal(end.at(-1).i, N);
    assert.equal(end.at(-1).offset, offsetOf(N));
    // Halfway down by the scrollbar: rows around the middle.
    await scroller.evaluate((s) => {
      s.scrollTop = (s.scrollHeight - s.clientHeight) / 2;
    });
    const middle = await check('halfway', (x) => x[0].i < N - 100);
    assert.ok(Math.abs(middle[0].i - N / 2) < 100, `top row ${middle[0].i}`);
    // The wheel moves whole rows.
    const top = middle[0].i;
    await scroller.hover();
    await page.mouse.wheel(0, 24 * 5);
    await waitRows(page, (x) => x[0].i === top + 5, 'five rows down');
    await check('after the wheel');
    // Keys: End selects the last record, Home the first.
    await page.locator('#logview .vgrid').focus();
    await page.keyboard.press('End');
    await selected(page, { text: `SET key:${pad(N - 1)} value:${pad(N - 1)}`, offset: offsetOf(N) });
    await check('End', (x) => x.at(-1).i === N);
    await page.locator('#logview .log-detail-head', { hasText: `offset ${offsetOf(N).toLocaleString('en')}` }).waitFor();
    // PageUp twice: a page of 15 rows each; the selection leaves the view, which follows it.
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
    await check('PageUp', (x) => x[0].i === N - 30);
    await selected(page, { text: `SET key:${pad(N - 31)} value:${pad(N - 31)}`, offset: offsetOf(N - 30) });
    await page.keyboard.press('Home');
    await selected(page, { text: 'SELECT 0', offset: 0 });
    await check('Home', (x) => x[0].i === 0);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('screenshots of the log view: 360 px and dark mode, no horizontal overflow', async () => {
  for (const [name, options] of [
    ['narrow', { viewport: { width: 360, height: 800 }, isMobile: true }],
    ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark', reducedMotion: 'reduce' }],
  ]) {
    const context = await env.newContext(options);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await open(page);
      for (const line of ['SET greeting hello', 'MULTI', 'SET a 1', 'INCR n', 'EXEC', 'RPUSH list a b c']) await run(page, line);
      await page.locator('#log .entry', { hasText: 'aof-lab> RPUSH list a b c' }).locator('.to-log').click();
      await selected(page, { text: 'RPUSH list a b c', offset: 138 });
      await page.locator('#logview .log-detail .log-framing').waitFor();
      await shots(page, name);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }
});
