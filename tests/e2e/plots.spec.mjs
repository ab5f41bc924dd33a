// The traffic generator and the plots on the real page as it opens (no URL options: OPFS):
// traffic started from the keyboard makes the AOF outgrow its threshold until serverCron
// rewrites it by itself, the plots draw it and say it in words, and the three policies are
// compared on the same traffic. Screenshots at desktop width, 360 px and in dark mode.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SHOTS, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-plots-');

test('traffic makes the AOF outgrow its threshold, serverCron rewrites it by itself, and the plots show why', async () => {
  const context = await env.newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await page.goto(`${env.server.url}/www/`);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'CONFIG SET auto-aof-rewrite-min-size 200000'), 'OK');
    // Keyboard only: the selects and the Start button.
    const selects = page.locator('#traffic select');
    await selects.nth(0).focus();
    await selects.nth(0).selectOption('5000');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await selects.nth(2).selectOption('100');
    await page.locator('#traffic .traffic-toggle').focus();
    await page.keyboard.press('Enter');
    await page.locator('#traffic .traffic-status', { hasText: 'Traffic: 5,000 commands/s' }).waitFor();
    assert.equal(await page.locator('#traffic .traffic-toggle').getAttribute('aria-pressed'), 'true');
    // The AOF grows past 200 KB in well under a minute of simulated time: cron rewrites it.
    await page.locator('#events .ev-text', { hasText: /Starting automatic rewriting of AOF on \d+% growth/ }).waitFor({ timeout: 30_000 });
    const sizes = page.locator('.plot-now[data-plot="sizes"]');
    await sizes.waitFor();
    assert.match(await sizes.textContent(), /a rewrite starts by itself at \d+(\.\d)? KB/);
    assert.match(await page.locator('.plot-now[data-plot="writes"]').textContent(), /Over the last second: [1-9]\d* writes\/s/);
    assert.match(await page.locator('.plot-now[data-plot="fsyncs"]').textContent(), /[1-9]\d* fsyncs so far/);
    for (const id of ['sizes', 'writes', 'fsyncs']) assert.equal(await page.locator(`.plot-${id} canvas`).count(), 1, `the ${id} plot is drawn`);
    // The series behind the size plot: it climbed to the threshold, then dropped (the engine's
    // numbers, as the page holds them).
    const drop = await page.waitForFunction(() => {
      const c = window.aofLab.plotsView.cols;
      const i = c.aof_size.findIndex((v, k) => k > 0 && v < c.aof_size[k - 1] / 2);
      return i > 0 ? { size: c.aof_size[i - 1], threshold: c.threshold[i - 1], after: c.aof_size[i] } : null;
    });
    const { size, threshold, after } = await drop.jsonValue();
    assert.ok(threshold > 0 && size >= threshold && after < threshold, `the size reached the threshold (${size} >= ${threshold}), then the rewrite made it drop (${after})`);
    await page.locator('section.plots').screenshot({ path: path.join(SHOTS, 'plots-traffic.png') });
    // Stop.
    await page.locator('#traffic .traffic-toggle').click();
    await page.locator('#traffic .traffic-status', { hasText: 'No traffic' }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the three policies compared on the same traffic: always loses nothing, no loses everything unsynced', async () => {
  for (const [name, options] of [
    ['desktop', {}],
    ['360-dark', { viewport: { width: 360, height: 780 }, colorScheme: 'dark' }],
  ]) {
    const context = await env.newContext(options);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await page.goto(`${env.server.url}/www/`);
      await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
      await page.locator('#traffic select').nth(0).selectOption('1000');
      await page.locator('#traffic .traffic-compare').click();
      const table = page.locator('#traffic .compare-table');
      await table.waitFor({ timeout: 30_000 });
      const row = (p) => table.locator(`tr[data-policy="${p}"] td`);
      const cells = async (p) => row(p).allTextContents();
      const [always, everysec, no] = [await cells('always'), await cells('everysec'), await cells('no')];
      for (const r of [always, everysec, no]) assert.ok(Math.abs(Number(r[0]) - 800) < 50, `1 000 commands/s with 80% writes: ${r}`);
      assert.ok(always[0] === everysec[0] && everysec[0] === no[0], 'the same traffic acknowledged by all three');
      assert.equal(always[3], 'nothing');
      assert.match(everysec[3], /KB|B$/);
      assert.notEqual(everysec[3], 'nothing');
      assert.match(no[4], /→ 0$/, 'nothing was fsynced under no');
      assert.ok(Number(always[2].replace(/,/g, '')) > Number(everysec[2]) && Number(no[2]) === 0, `fsyncs: ${always[2]} / ${everysec[2]} / ${no[2]}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal overflow');
      await page.locator('section.plots').screenshot({ path: path.join(SHOTS, `plots-compare-${name}.png`) });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }
});
