// End-to-end tests of the write-path diagram (www/ui/machine.js) and predict-then-reveal
// (www/ui/predict.js, www/ui/crash.js) on the real page: the diagram follows the writes through
// aof_buf, the page cache and the disk under each policy on the default page (no URL options:
// OPFS), the appendfsync control changes the "lost if it crashed now" figures at once, a slow
// fsync under everysec shows the postponement and Redis's log line, the figures equal the crash
// that follows, a prediction round, keyboard-only use, 360 px, dark and reduced motion.
// The simulated power loss and torn write run on `?backend=memory` until every backend has the
// machine model (issue 15, part 1). Screenshots go to target/e2e/machine-*.png.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SHOTS, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-machine-');

async function open(page, query = '') {
  await page.goto(`${env.server.url}/www/${query}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  await page.locator('#machine .machine-svg').waitFor();
}

/** The place badge of the newest write in "your last writes", once it reads `want`. */
async function newestAt(page, want) {
  await page.locator('#machine .recent-writes li').first().locator('.place', { hasText: want }).waitFor({ timeout: 10_000 });
}

const machine = (page) => page.evaluate(() => window.aofLab.snapshot.machine);

/** Waits until the engine's snapshot satisfies `pred` (a function of snapshot.machine). */
async function until(page, pred, what, timeout = 15_000) {
  const start = Date.now();
  for (;;) {
    const m = await machine(page);
    if (m && pred(m)) return m;
    if (Date.now() - start > timeout) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(m)?.slice(0, 600)}`);
    await page.waitForTimeout(100);
  }
}

async function setPolicy(page, policy) {
  await page.locator('#machine select[data-part="policy"]').selectOption(policy);
  await page.locator('#log .entry .cmd', { hasText: `aof-lab> CONFIG SET appendfsync ${policy}` }).last().waitFor();
  await until(page, (m) => m.policy === policy, `appendfsync ${policy}`);
}

async function noOverflow(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'no horizontal overflow');
}

async function shoot(page, name) {
  await page.locator('#machine').scrollIntoViewIfNeeded();
  await page.locator('section.machine').screenshot({ path: path.join(SHOTS, `machine-${name}.png`) });
}

test('default page: the diagram follows each write to aof_buf, the page cache and the disk, under each policy', async () => {
  const context = await env.newContext();
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page);
    assert.match(await page.locator('#backend').textContent(), /OPFS/, 'the default page runs on OPFS');
    assert.equal(await page.locator('#machine select[data-part="policy"]').inputValue(), 'everysec');
    // The command as typed, as propagated, and where the reply left.
    assert.equal(await run(page, 'SET k v'), 'OK');
    assert.equal(await run(page, 'EXPIRE k 100'), '(integer) 1');
    await page.locator('#machine .typed', { hasText: '> EXPIRE k 100' }).waitFor();
    assert.match(await page.locator('#machine .propagated').textContent(), /^→ PEXPIREAT k 1\d{12}$/);
    await page.locator('#machine .released', { hasText: /^reply released after write\(\)$/ }).waitFor(); // the view that follows the turn
    assert.equal(await run(page, 'SADD s a'), '(integer) 1');
    assert.equal(await run(page, 'SPOP s'), '"a"');
    await page.locator('#machine .propagated', { hasText: '→ SREM s a' }).waitFor();
    assert.equal(await run(page, 'SET e x EX 100'), 'OK');
    await page.locator('#machine .propagated', { hasText: /→ SET e x PXAT 1\d{12}/ }).waitFor();
    // everysec with a fast disk: the background fsync makes it durable at once.
    await newestAt(page, 'on disk');
    assert.match(await page.locator('#machine .arrow-write .arrow-text').textContent(), /^② write\(\) \d+ B → …\d+\.incr\.aof @ \d+ in beforeSleep$/);
    await shoot(page, 'opfs-everysec');

    // no: written, never fsynced: the page cache (OPFS: written, not flushed) holds it.
    await setPolicy(page, 'no');
    assert.equal(await run(page, 'SET n 1'), 'OK');
    await newestAt(page, 'page cache');
    const m = await until(page, (x) => x.lost_if.power.writes_total > 0, 'an unsynced write');
    assert.equal(m.lost_if.power.writes.at(-1).text, 'SET n 1');
    assert.match(await page.locator('#machine .lost-table tr[data-kind="power"] td').nth(1).textContent(), /^1 write: n/);
    await page.locator('#machine .released', { hasText: /^reply released after write\(\)$/ }).waitFor(); // the view that follows the turn
    await shoot(page, 'opfs-no');
    // The control changes the shading at once: always fsyncs what `no` left, in that turn.
    await setPolicy(page, 'always');
    await until(page, (x) => x.lost_if.power.writes_total === 0, 'nothing left to lose');
    await page.locator('#machine .lost-table tr[data-kind="power"] td', { hasText: 'none' }).waitFor();
    assert.equal(await run(page, 'SET a 1'), 'OK');
    await newestAt(page, 'on disk');
    await page.locator('#machine .released', { hasText: /^reply released after fsync$/ }).waitFor();
    // The control typed CONFIG SET in the console, as a learner would; the events show it.
    assert.ok((await page.locator('#events .ev-text').allTextContents()).some((t) => t === 'CONFIG SET appendfsync always'));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('default page: a slow fsync under everysec postpones the write, then Redis writes without waiting and logs it', async () => {
  const context = await env.newContext();
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page);
    // The latency control, by keyboard: End = 3 s.
    const slider = page.locator('#machine input[data-part="latency"]');
    await slider.focus();
    await page.keyboard.press('End');
    await until(page, (m) => m.fsync_latency_ms === 3000, 'a 3 s fsync');
    assert.equal(await page.locator('#machine .latency-out').textContent(), '3 s');
    await page.locator('#events .ev-text', { hasText: 'lab-fsync-latency-ms 3000' }).waitFor();
    let postponed = false;
    let inBuf = false;
    const start = Date.now();
    for (let i = 0; ; i++) {
      assert.equal(await run(page, `INCR n${i % 3}`), `(integer) ${Math.floor(i / 3) + 1}`);
      const m = await machine(page);
      if (m.postponed_since) {
        postponed = true;
        if ((await page.locator('#machine').getAttribute('data-postponed')) === 'yes') {
          assert.match(await page.locator('#machine .arrow-fsync .arrow-sub').textContent(), /^write postponed .* of 2 s: the last fsync still runs$/);
          if (!inBuf && m.aof_buf > 0) {
            // The reply went out while the bytes are still in process memory.
            inBuf = true;
            await shoot(page, 'postponed');
          }
        }
      }
      if (m.slow_log) break;
      assert.ok(Date.now() - start < 25_000, 'the delayed write happened');
      await page.waitForTimeout(250);
    }
    assert.ok(postponed, 'the write was postponed first');
    const log = page.locator('#machine .machine-slowlog.on');
    await log.waitFor();
    assert.match(await log.textContent(), /^aof_delayed_fsync: [1-9]\d* · \* Asynchronous AOF fsync is taking too long \(disk is busy\?\)\. Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis\.$/);
    assert.match(await page.locator('#info').textContent(), /aof_delayed_fsync:[1-9]/);
    await shoot(page, 'slow-fsync');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('default page (OPFS): the "lost if it crashed now" figures equal the crash that follows (power, torn, kill); a lost write opens its bytes in the log', async () => {
  const context = await env.newContext();
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page);
    assert.match(await page.locator('#backend').textContent(), /OPFS/);
    await setPolicy(page, 'no');
    await page.locator('#crash input[data-part="predict-toggle"]').uncheck();
    for (const [kind, lines] of [
      ['power', ['SET a 1', 'INCR n', 'RPUSH l x y']],
      ['torn', ['SET b 22', 'SADD s q', 'INCR n']],
      ['kill', []],
    ]) {
      for (const l of lines) await run(page, l);
      await page.locator(`#machine input[value="${kind}"]`).check();
      // The view that follows the last command (views are throttled), then the figures it drew.
      const last = lines.at(-1);
      const before = await until(page, (m) => m.lost_if[kind].exact && (!last || m.command_turn?.commands.at(-1)?.typed === last), `${kind} figures`);
      const lost = before.lost_if[kind];
      const row = page.locator(`#machine .lost-table tr[data-kind="${kind}"] td`);
      assert.equal(await row.first().textContent(), `${lost.bytes.toLocaleString('en')} B`);
      assert.match(await row.nth(1).textContent(), lost.writes_total ? new RegExp(`^${lost.writes_total} writes?: `) : /^none$/);
      if (kind === 'torn') await shoot(page, 'torn-shading');
      if (kind === 'power') {
        // The diagram's lost write opens its record in the log view.
        await page.locator('#machine .lost-writes li .to-log').first().click();
        const sel = page.locator('#logview .vgrid-window .vgrid-row[aria-selected="true"]', { hasText: lost.writes.at(-1).text });
        await sel.waitFor({ timeout: 10_000 });
      }
      await page.locator(`#crash input[value="${kind}"]`).check();
      await page.locator('#crash button[data-action="crash"]').click();
      const words = { power: 'a power loss', torn: 'a torn write', kill: 'a process kill' }[kind];
      const summary = page.locator('#crash .crash-summary', { hasText: new RegExp(`^${words} under`) });
      await summary.waitFor();
      const report = await page.evaluate(() => window.aofLab.snapshot.crash);
      assert.equal(report.lost_aof_buf + report.lost_page_cache, lost.bytes, `${kind}: the bytes the figures named`);
      assert.equal(report.lost_writes.writes_total, lost.writes_total);
      assert.deepEqual(report.lost_writes.writes.map((w) => w.text), lost.writes.map((w) => w.text));
      assert.equal(report.keys_before - report.keys_after <= lost.writes_total, true);
      assert.match(await summary.textContent(), new RegExp(`${lost.bytes.toLocaleString('en')} bytes never reached the disk`));
      assert.equal(await page.locator('#crash .crash-lost-list li').count(), Math.min(20, lost.writes_total));
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('default page (OPFS): a prediction round by keyboard only: predict, crash, the answer beside the prediction; "just crash" is remembered', async () => {
  const context = await env.newContext();
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page);
    await setPolicy(page, 'no');
    for (const l of ['SET a 1', 'SET b 2', 'INCR c']) await run(page, l);
    await until(page, (m) => m.lost_if.power.writes_total === 3, 'three unsynced writes');
    // Kind, then the crash button, by keyboard.
    await page.locator('#crash input[value="power"]').focus();
    await page.keyboard.press('Space');
    await page.locator('#crash button[data-action="crash"]').focus();
    await page.keyboard.press('Enter');
    const form = page.locator('#crash form.predict');
    await form.waitFor();
    // The question lists the last writes; the answer is hidden meanwhile.
    assert.deepEqual(await form.locator('.predict-writes li').allTextContents(), ['INCR c', 'SET b 2', 'SET a 1']);
    assert.ok(await page.locator('#machine.predicting').count(), 'the diagram hides its answer');
    assert.equal(await page.locator('#machine .lost-table tr[data-kind="power"] td').first().textContent(), '?');
    assert.ok(await page.locator('#machine .lost-hidden').isVisible());
    assert.ok(!(await page.locator('#machine .lost-writes').isVisible()));
    await shoot(page, 'predicting');
    await page.locator('#crash').screenshot({ path: path.join(SHOTS, 'machine-predict-form.png') });
    // Survive: "all" (focused first); keys: "all"; refused: "no".
    assert.equal(await page.evaluate(() => document.activeElement.value), 'all');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'predict-crash');
    await page.keyboard.press('Enter');
    const reveal = page.locator('#crash .reveal');
    await reveal.waitFor();
    const rows = await reveal.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.deepEqual(rows, [
      ['Your last writes survive', 'all of them', 'none of them', '✗ no'],
      ['Keys after the restart', 'all', 'none (0 of 3)', '✗ no'],
      ['redis-server', 'starts', 'starts', '✓ right'],
    ]);
    assert.match(await reveal.locator('.reveal-sentence').textContent(), /^Acknowledged is not durable: .* Under appendfsync no Redis never fsyncs: only what the kernel wrote back after 30 s was on disk, so 3 writes \(\d+ bytes\) in the page cache were lost\.$/);
    assert.deepEqual(await reveal.locator('.reveal-writes li').allTextContents(), ['lostINCR c', 'lostSET b 2', 'lostSET a 1']);
    assert.ok(!(await page.locator('#machine.predicting').count()), 'the shading is back');
    // Each lost write links to where its bytes were in the diagram.
    const where = page.locator('#crash .crash-lost-list li button', { hasText: 'page cache' }).first();
    await where.focus();
    await page.keyboard.press('Enter');
    await page.locator('#machine .stage-cache.located').waitFor();
    await page.locator('#crash').screenshot({ path: path.join(SHOTS, 'machine-reveal.png') });
    // "Just crash": no questions, and it is remembered after a reload.
    await run(page, 'SET d 4');
    await page.locator('#crash button[data-action="crash"]').click();
    await page.locator('#crash button[data-action="just-crash"]').click();
    await page.locator('#crash .crash-summary', { hasText: '1 keys before, 0 after' }).waitFor();
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#crash input[data-part="predict-toggle"]').isChecked(), false);
    await page.locator('#crash button[data-action="crash"]').click();
    await page.locator('#crash .crash-summary').waitFor();
    assert.equal(await page.locator('#crash form.predict').count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the diagram at 360 px, in dark mode, with reduced motion, and in <aof-lab>', async () => {
  for (const [name, options] of [
    ['narrow', { viewport: { width: 360, height: 780 }, deviceScaleFactor: 1, isMobile: true }],
    ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' }],
    ['reduced', { viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' }],
  ]) {
    const context = await env.browser.newContext(options);
    try {
      const page = await context.newPage();
      const problems = watch(page);
      await open(page, '?backend=memory&appendfsync=no');
      for (const l of ['SET greeting hello', 'EXPIRE greeting 100', 'RPUSH q a b c']) await run(page, l);
      await page.locator('#machine input[value="torn"]').check();
      await until(page, (m) => m.lost_if.torn.writes_total > 0, 'a torn tail');
      const reduced = name === 'reduced';
      assert.equal(await page.locator('#machine.reduced-motion').count(), reduced ? 1 : 0, 'matchMedia follows prefers-reduced-motion');
      // A turn: a travelling packet, or (reduced motion) the stages it touched outlined in place.
      await run(page, 'INCR visits');
      await page.locator('#machine .stage-proc.hit').waitFor();
      if (reduced) {
        assert.equal(await page.locator('#machine .packet-g').evaluate((g) => getComputedStyle(g).display), 'none');
        assert.equal(await page.locator('#machine .bar').first().evaluate((b) => getComputedStyle(b).transitionDuration), '0s');
      } else {
        await page.locator('#machine .packet-g.visible').waitFor({ state: 'attached', timeout: 2_000 }).catch(() => {});
      }
      await noOverflow(page);
      // The SVG keeps its size while writes stream (laid out once).
      const box = await page.locator('#machine .machine-svg').boundingBox();
      for (let i = 0; i < 5; i++) await run(page, `SET k${i} ${'x'.repeat(i * 20)}`);
      assert.deepEqual(await page.locator('#machine .machine-svg').boundingBox(), box);
      await page.waitForTimeout(400);
      await shoot(page, name);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }
  // The same diagram inside the element.
  const context = await env.browser.newContext({ viewport: { width: 900, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.server.url}/www/embed.html`);
    await page.evaluate(() => {
      const lab = document.createElement('aof-lab');
      lab.id = 'with-machine';
      lab.setAttribute('panels', 'console machine');
      lab.setAttribute('appendfsync', 'no');
      lab.setAttribute('script', 'SET tutorial 1');
      document.body.append(lab);
    });
    const lab = page.locator('#with-machine');
    await lab.locator('.recent-writes li .place', { hasText: 'page cache' }).waitFor({ timeout: 30_000 });
    await lab.locator('select[data-part="policy"]').selectOption('always');
    await lab.locator('.lost-table tr[data-kind="power"] td', { hasText: 'none' }).waitFor();
    await lab.screenshot({ path: path.join(SHOTS, 'machine-embed.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
