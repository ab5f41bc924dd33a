// End-to-end tests of the guided scenarios: a built-in scenario stepped through in the lab page
// with the keyboard only (Tab to the Step button, Enter per step), every expect shown as passed;
// Play / Reset; screenshots (desktop, 360 px, dark); and <aof-lab scenario="...">.
// Debian's Chromium driven by playwright-core; `make test` builds pkg/.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, SHOTS, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-sc-');
const { newContext } = env;

/** The number of `expect` lines of a built-in scenario file (continuations excluded). */
async function expectsIn(name) {
  const text = await readFile(path.join(ROOT, 'www', 'scenarios', `${name}.txt`), 'utf8');
  return text.split('\n').filter((l) => /^\s*expect\s/.test(l)).length;
}

async function openLab(page, scenario) {
  await page.goto(`${env.server.url}/www/?backend=memory&scenario=${scenario}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  await page.locator(`#scenarios[data-scenario="${scenario}"]`).waitFor({ timeout: 15_000 });
}

test('a scenario stepped through with the keyboard: every expect passes', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await openLab(page, 'write-path');
  const panel = page.locator('#scenarios');
  const items = panel.locator('.scenario-step-item');
  const n = await items.count();
  assert.ok(n >= 5, `${n} steps`);
  assert.equal(await panel.locator('.scenario-select').inputValue(), 'write-path');
  await items.first().and(page.locator('.next')).waitFor();

  // Keyboard only: focus the select, Tab to Step, Enter for each step.
  await panel.locator('.scenario-select').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Step');
  for (let i = 0; i < n; i++) {
    await page.keyboard.press('Enter');
    await page.waitForFunction((k) => document.querySelectorAll('#scenarios .scenario-step-item.ran').length >= k, i + 1, { timeout: 15_000 });
  }
  await page.locator('#scenarios[data-done="true"]').waitFor();
  const want = await expectsIn('write-path');
  assert.equal(await panel.locator('[data-result="pass"]').count(), want);
  assert.equal(await panel.locator('[data-result="fail"]').count(), 0);
  assert.match(await panel.locator('.scenario-summary').textContent(), new RegExp(`done · expects: ${want} passed, 0 failed, of ${want}`));
  assert.ok((await panel.locator('.scenario-say').textContent()).length > 20, 'the narration is shown');
  // At the end the focus went to Reset (Step is disabled), still in the panel.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Reset');
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-desktop.png'), fullPage: true });

  // Reset (Enter on the focused Reset) starts over; Play runs it all.
  await page.keyboard.press('Enter');
  await page.locator('#scenarios[data-done="false"]').waitFor();
  assert.equal(await panel.locator('.scenario-step-item.ran').count(), 0);
  await panel.locator('.scenario-play').click();
  await page.locator('#scenarios[data-done="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('[data-result="pass"]').count(), want);
  assert.deepEqual(problems, []);
  await context.close();
});

test('Play at 360 px in dark mode, then another scenario from the select: every expect passes', async () => {
  const context = await env.browser.newContext({ viewport: { width: 360, height: 800 }, colorScheme: 'dark' });
  const page = await context.newPage();
  const problems = watch(page);
  await openLab(page, 'fsync-policies');
  const panel = page.locator('#scenarios');
  await panel.locator('.scenario-play').click();
  await page.locator('#scenarios[data-done="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await panel.locator('[data-result="fail"]').count(), 0);
  assert.equal(await panel.locator('[data-result="pass"]').count(), await expectsIn('fsync-policies'));
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark.png'), fullPage: true });
  await panel.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark-panel.png') });
  // The select loads another one with the keyboard.
  await panel.locator('.scenario-select').selectOption('truncated');
  await page.locator('#scenarios[data-scenario="truncated"][data-done="false"]').waitFor();
  await panel.locator('.scenario-play').click();
  await page.locator('#scenarios[data-done="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await panel.locator('[data-result="fail"]').count(), 0);
  assert.equal(await panel.locator('[data-result="pass"]').count(), await expectsIn('truncated'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('<aof-lab scenario="expiry"> shows the panel with that scenario', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${env.server.url}/www/embed.html`);
  await page.evaluate(() => {
    const el = document.createElement('aof-lab');
    el.id = 'guided';
    el.setAttribute('scenario', 'expiry');
    document.body.prepend(el);
  });
  const host = page.locator('#guided');
  // Playwright's CSS locators pierce the open shadow root.
  await host.locator('[data-part="scenarios"][data-scenario="expiry"]').waitFor({ timeout: 30_000 });
  assert.equal(await host.locator('.scenario-select').inputValue(), 'expiry');
  await host.locator('.scenario-play').click();
  await host.locator('[data-part="scenarios"][data-done="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await host.locator('[data-result="fail"]').count(), 0);
  assert.equal(await host.locator('[data-result="pass"]').count(), await expectsIn('expiry'));
  await host.screenshot({ path: path.join(SHOTS, 'scenarios-embed.png') });
  assert.deepEqual(problems, []);
  await context.close();
});
