// End-to-end tests of the guided scenarios in the lab page: every built-in scenario played to
// the end (Step, predictions skipped or answered) with every check passing, ON THE LAB'S OWN
// VIEWS (a scenario session: the console, the files, the diagram, the timeline show it), then
// one step back inside it and forward again (the recorded step replays, nothing forks); the
// learner's own lab waiting aside and coming back; one stepped with the keyboard only, its
// prediction answered with a number key; Play stopping at a prediction and going on after the
// answer at 360 px in dark mode; checks read as sentences, the raw script behind "Show the
// script"; <aof-lab scenario="...">, an author's inline scenario, ?scenario-url=. Screenshots:
// desktop, 360 px dark, embed.
// Debian's Chromium driven by playwright-core; `make test` builds pkg/.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, SHOTS, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-sc-');

const SCENARIOS = path.join(ROOT, 'www', 'scenarios');

/** The number of checks (`expect` and `wait` lines, continuations excluded) of a built-in scenario. */
async function checksIn(name) {
  const text = await readFile(path.join(SCENARIOS, `${name}.txt`), 'utf8');
  return text.split('\n').filter((l) => /^\s*(expect|wait)\s/.test(l)).length;
}

async function openLab(page, scenario) {
  await page.goto(`${env.server.url}/www/?backend=memory&scenario=${scenario}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  await page.locator(`#scenarios[data-scenario="${scenario}"]`).waitFor({ timeout: 15_000 });
}

/** How many steps of the panel ran. */
const ranCount = (page) => page.locator('#scenarios .scenario-step-item.ran').count();

/** Plays the loaded scenario to the end with the Step button; each prediction is skipped
 *  (`answer` null) or answered with the choice of that index as written (0 = the right one). */
async function playWithStep(page, panel, answer = null) {
  for (let guard = 0; guard < 200; guard++) {
    if ((await panel.getAttribute('data-done')) === 'true') return;
    const before = await ranCount(page);
    if ((await panel.getAttribute('data-predicting')) === 'true') {
      const choice = answer === null ? panel.locator('.scenario-skip') : panel.locator(`.scenario-choice[data-choice="${answer}"]`);
      await choice.click();
    } else {
      await panel.locator('.scenario-step').click();
    }
    await page.waitForFunction((k) => document.querySelectorAll('#scenarios .scenario-step-item.ran').length > k, before, { timeout: 30_000 });
  }
  throw new Error('the scenario did not end');
}

test('every built-in scenario plays to the end in the page with every check passing', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  const index = JSON.parse(await readFile(path.join(SCENARIOS, 'index.json'), 'utf8'));
  assert.ok(index.length >= 17, `${index.length} scenarios`);
  await openLab(page, index[0].name);
  const panel = page.locator('#scenarios');
  // The select offers every scenario, grouped by the article's sections.
  assert.equal(await panel.locator('.scenario-select option').count(), index.length);
  assert.ok((await panel.locator('.scenario-select optgroup').count()) >= 5);
  const played = [];
  for (const [n, { name }] of index.entries()) {
    if (n > 0) {
      await panel.locator('.scenario-select').selectOption(name);
      await page.locator(`#scenarios[data-scenario="${name}"][data-done="false"]`).waitFor();
    }
    // Half of them with every prediction answered wrong, half skipping them: the checks do not
    // depend on the answers.
    await playWithStep(page, panel, n % 2 ? 1 : null);
    // It played on the lab's own views: the timeline is the scenario's, the console shows its
    // steps, the files are its machine's.
    assert.equal(await page.locator('#timeline').getAttribute('data-session'), 'scenario');
    assert.ok((await page.locator('#log .entry[data-origin="scenario"]').count()) > 0, `${name}: the console shows the steps`);
    assert.ok((await page.locator('#files > li').count()) > 0, `${name}: the files view shows its machine`);
    const head = await page.evaluate(() => window.aofLab.act('digest'));
    // One step back inside it (the panel's Back), then Step again: the recorded step replays.
    const ran = await ranCount(page);
    await panel.locator('.scenario-back').click();
    await page.waitForFunction((k) => document.querySelectorAll('#scenarios .scenario-step-item.ran').length === k - 1, ran);
    assert.equal(await panel.getAttribute('data-done'), 'false');
    assert.equal(await page.locator('#timeline').getAttribute('data-past'), 'true');
    await playWithStep(page, panel, n % 2 ? 1 : null);
    const again = await page.evaluate(() => window.aofLab.act('digest'));
    assert.deepEqual([again.position, again.head, again.digest], [head.position, head.head, head.digest], `${name}: the same step, the same lab`);
    assert.equal((await page.evaluate(() => window.aofLab.act('branches'))).length, 1, `${name}: replayed, not forked`);
    const want = await checksIn(name);
    const passed = await panel.locator('[data-result="pass"]').count();
    const failed = await panel.locator('[data-result="fail"]').allTextContents();
    assert.deepEqual(failed, [], `${name}: failed checks`);
    assert.equal(passed, want, `${name}: ${passed} of ${want} checks passed`);
    assert.match(await panel.locator('.scenario-summary').textContent(), new RegExp(`done · checks: ${want} passed, 0 failed, of ${want}`));
    // Every scenario says where the article simplifies.
    assert.ok((await panel.locator('.scenario-step-item.kind-note').count()) >= 1, `${name}: no note`);
    played.push(name);
  }
  assert.equal(played.length, index.length);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a scenario stepped with the keyboard: a prediction answered with a number key, checks as sentences, the script on request', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await openLab(page, 'write-path');
  const panel = page.locator('#scenarios');
  assert.equal(await panel.locator('.scenario-select').inputValue(), 'write-path');
  // Nothing is listed before it ran (later checks would give a prediction away); the next
  // action is said above the list.
  assert.equal(await panel.locator('.scenario-step-item').count(), 0);
  assert.equal(await panel.locator('.scenario-next .scenario-next-label').textContent(), 'Next: read on.');

  // Keyboard only: focus the select, Tab to Step, Enter per step; at the prediction the focus is
  // on its choices, and the number key of the right one answers it.
  await panel.locator('.scenario-select').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Step');
  let predictions = 0;
  for (let guard = 0; guard < 60 && (await panel.getAttribute('data-done')) !== 'true'; guard++) {
    const before = await ranCount(page);
    if ((await panel.getAttribute('data-predicting')) === 'true') {
      assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('scenario-choice')), 'the focus is on a choice');
      assert.equal(await panel.locator('.scenario-step').isDisabled(), true, 'Step waits for the answer');
      const labels = await panel.locator('.scenario-choice:not(.scenario-skip)').evaluateAll((bs) => bs.map((b) => b.dataset.choice));
      await page.keyboard.press(String(labels.indexOf('0') + 1));
      predictions++;
    } else {
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Step');
      await page.keyboard.press('Enter');
    }
    await page.waitForFunction((k) => document.querySelectorAll('#scenarios .scenario-step-item.ran').length > k, before, { timeout: 15_000 });
  }
  assert.equal(await panel.getAttribute('data-done'), 'true');
  assert.equal(predictions, 1);
  assert.equal(await panel.locator('[data-predicted="right"]').count(), 1);
  assert.match(await panel.locator('[data-predicted="right"] .scenario-reveal').textContent(), /^You predicted “in the page cache: written, not yet fsynced”: right\.$/);
  const want = await checksIn('write-path');
  assert.equal(await panel.locator('[data-result="pass"]').count(), want);
  assert.equal(await panel.locator('[data-result="fail"]').count(), 0);
  // Checks read as sentences; the raw lines stay hidden until asked for.
  const checks = await panel.locator('[data-result="pass"] .scenario-check').allTextContents();
  assert.ok(checks.includes('The file appendonly.aof.1.incr.aof is on disk: 61 of 61 bytes.'), checks.join('\n'));
  assert.ok(checks.includes('The file appendonly.aof.1.incr.aof is only partly on disk: 61 of 87 bytes (26 only in the page cache).'), checks.join('\n'));
  assert.ok(checks.includes('Redis appended 26 bytes to aof_buf: INCR visits.'), checks.join('\n'));
  const raw = panel.locator('[data-result="pass"] .scenario-script').first();
  assert.equal(await raw.isVisible(), false);
  assert.match(await panel.locator('.scenario-note').first().textContent(), /The article vs Redis 7\.0/);
  // At the end the focus went to Reset (Step is disabled), still in the panel.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Reset');
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-desktop.png'), fullPage: true });
  await panel.screenshot({ path: path.join(SHOTS, 'scenarios-desktop-panel.png') });

  // "Show the script" (a toggle button) shows each step's raw line and the whole script.
  await panel.locator('.scenario-script-toggle').click();
  assert.equal(await panel.locator('.scenario-script-toggle').getAttribute('aria-pressed'), 'true');
  assert.equal(await raw.isVisible(), true);
  assert.match(await raw.textContent(), /^line \d+: expect @aof => \*2\\r\\n\$6\\r\\nSELECT/);
  assert.equal(await panel.locator('.scenario-source').isVisible(), true);
  await panel.screenshot({ path: path.join(SHOTS, 'scenarios-desktop-script.png') });
  await panel.locator('.scenario-script-toggle').click();
  assert.equal(await raw.isVisible(), false);

  // Reset starts over; Play runs to the prediction and waits for it.
  await panel.locator('.scenario-reset').click();
  await page.locator('#scenarios[data-done="false"]').waitFor();
  assert.equal(await ranCount(page), 0);
  // Step by step, the next action is the step's own sentence.
  await panel.locator('.scenario-step').click();
  await page.waitForFunction(() => document.querySelectorAll('#scenarios .scenario-step-item.ran').length === 1);
  await panel.locator('.scenario-step').click();
  await page.waitForFunction(() => document.querySelectorAll('#scenarios .scenario-step-item.ran').length === 2);
  assert.equal(await panel.locator('.scenario-next .scenario-next-label').textContent(), 'Next: Run SET greeting hello.');
  await panel.locator('.scenario-play').click();
  await page.locator('#scenarios[data-predicting="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('.scenario-play').isDisabled(), true);
  assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('scenario-choice')));
  await page.keyboard.press('Escape');
  await page.locator('#scenarios[data-done="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await panel.locator('[data-predicted="skipped"]').count(), 1);
  assert.equal(await panel.locator('[data-result="pass"]').count(), want);
  assert.deepEqual(problems, []);
  await context.close();
});

test('Play at 360 px in dark mode with reduced motion: it stops at a prediction, a key answers, it goes on', async () => {
  const context = await env.browser.newContext({ viewport: { width: 360, height: 800 }, colorScheme: 'dark', reducedMotion: 'reduce' });
  const page = await context.newPage();
  const problems = watch(page);
  await openLab(page, 'fsync-policies');
  const panel = page.locator('#scenarios');
  await panel.locator('.scenario-play').click();
  await page.locator('#scenarios[data-predicting="true"]').waitFor({ timeout: 60_000 });
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark-predict.png') });
  await panel.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark-predict-panel.png') });
  // A wrong answer, with its number key.
  const labels = await panel.locator('.scenario-choice:not(.scenario-skip)').evaluateAll((bs) => bs.map((b) => b.dataset.choice));
  await page.keyboard.press(String(labels.indexOf('1') + 1));
  await page.locator('#scenarios[data-done="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await panel.locator('[data-predicted="wrong"]').count(), 1);
  assert.match(await panel.locator('[data-predicted="wrong"] .scenario-reveal').textContent(), /the answer is “c only”\.$/);
  assert.equal(await panel.locator('[data-result="fail"]').count(), 0);
  assert.equal(await panel.locator('[data-result="pass"]').count(), await checksIn('fsync-policies'));
  // Nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${overflow}px of horizontal overflow`);
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark.png'), fullPage: true });
  await panel.screenshot({ path: path.join(SHOTS, 'scenarios-360-dark-panel.png') });
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
  const part = host.locator('[data-part="scenarios"]');
  await host.locator('[data-part="scenarios"][data-scenario="expiry"]').waitFor({ timeout: 30_000 });
  assert.equal(await host.locator('.scenario-select').inputValue(), 'expiry');
  await host.locator('.scenario-play').click();
  await host.locator('[data-part="scenarios"][data-predicting="true"]').waitFor({ timeout: 60_000 });
  await host.locator('.scenario-choice[data-choice="0"]').click();
  await host.locator('[data-part="scenarios"][data-done="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await part.locator('[data-predicted="right"]').count(), 1);
  assert.equal(await host.locator('[data-result="fail"]').count(), 0);
  assert.equal(await host.locator('[data-result="pass"]').count(), await checksIn('expiry'));
  await host.screenshot({ path: path.join(SHOTS, 'scenarios-embed.png') });
  assert.deepEqual(problems, []);
  await context.close();
});

test('a scenario plays on the lab\'s own views while the learner\'s lab waits aside, untouched, and comes back', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  // The page as it opens with no scenario given: the learner's lab, no scenario playing.
  await page.goto(`${env.server.url}/www/?backend=memory`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  const panel = page.locator('#scenarios');
  await page.locator('#cmd').fill('SET mine 1');
  await page.keyboard.press('Enter');
  await page.locator('#log .entry .reply', { hasText: 'OK' }).waitFor();
  assert.equal(await panel.getAttribute('data-active'), 'false');
  const mine = await page.evaluate(() => window.aofLab.act('digest'));
  // Step starts the selected scenario: the lab's views are the scenario's machine now.
  await panel.locator('.scenario-select').selectOption('write-path');
  await panel.locator('.scenario-step').click();
  await page.locator('#scenarios[data-scenario="write-path"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#scenarios .scenario-step-item.ran').length === 1);
  assert.equal(await page.locator('#timeline').getAttribute('data-session'), 'scenario');
  assert.match(await page.locator('#timeline .tl-note').textContent(), /Scenario “The log-appending process.*”, on a lab of its own: your lab waits aside, untouched\./);
  await playWithStep(page, panel, 0);
  // The diagram and the files show the scenario's writes (greeting and visits), the AOF buffer
  // their bytes.
  assert.match(await page.locator('#aof').textContent(), /SET greeting hello/);
  assert.match(await page.locator('#aof').textContent(), /INCR visits/);
  assert.match(await page.locator('#files').textContent(), /appendonly\.aof\.1\.incr\.aof/);
  assert.match(await page.locator('#log').textContent(), /scenario> SET greeting hello/);
  await page.screenshot({ path: path.join(SHOTS, 'scenarios-on-the-lab.png') });
  // Back to my lab: as it was left.
  await page.locator('#timeline .tl-leave').click();
  await page.waitForFunction(() => window.aofLab.timeline?.session?.kind === 'lab');
  const back = await page.evaluate(() => window.aofLab.act('digest'));
  // The same data; the learner's clock ran (serverCron ticks are inputs) until the scenario
  // started, and stood still while it played.
  assert.equal(back.digest, mine.digest);
  assert.ok(back.position >= mine.position, `the learner's lab went on from where it was: ${back.position} ≥ ${mine.position}`);
  assert.equal(await panel.getAttribute('data-active'), 'false');
  await page.locator('#cmd').fill('GET mine');
  await page.keyboard.press('Enter');
  await page.locator('#log .entry .reply', { hasText: '"1"' }).waitFor();
  assert.doesNotMatch(await page.locator('#aof').textContent(), /greeting/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an author\'s scenario: inline in <aof-lab> (a child script) and by URL (?scenario-url=, same origin)', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${env.server.url}/www/embed.html`);
  await page.evaluate(() => {
    const el = document.createElement('aof-lab');
    el.id = 'authored';
    const script = document.createElement('script');
    script.type = 'text/x-aof-scenario';
    script.textContent = ['# Counting visits: an author\'s tour', 'say Two increments, then the bytes.', 'INCR visits', 'INCR visits', 'note An author\'s note.', 'expect GET visits => "2"', 'expect INCR visits => (integer) 3'].join('\n');
    el.append(script);
    document.body.prepend(el);
  });
  const host = page.locator('#authored');
  await host.locator('[data-part="scenarios"][data-active="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await host.locator('.scenario-select option:checked').textContent(), 'Counting visits');
  await host.locator('.scenario-play').click();
  await host.locator('[data-part="scenarios"][data-done="true"]').waitFor({ timeout: 30_000 });
  assert.equal(await host.locator('[data-result="pass"]').count(), 2);
  assert.equal(await host.locator('[data-result="fail"]').count(), 0);
  // The element's own timeline steps back inside it.
  await host.locator('.tl-back').click();
  await host.locator('[data-part="scenarios"][data-done="false"]').waitFor();
  await host.screenshot({ path: path.join(SHOTS, 'scenarios-embed-authored.png') });

  // By URL: a file of this origin.
  const url = `${env.server.url}/www/?backend=memory&scenario-url=${encodeURIComponent('/www/scenarios/expiry.txt')}`;
  const other = await context.newPage();
  const seen = watch(other);
  await other.goto(url);
  await other.locator('#scenarios[data-active="true"]').waitFor({ timeout: 30_000 });
  await playWithStep(other, other.locator('#scenarios'), null);
  assert.equal(await other.locator('#scenarios [data-result="fail"]').count(), 0);
  assert.equal(await other.locator('#scenarios [data-result="pass"]').count(), await checksIn('expiry'));
  // Another origin is refused, said in the console.
  await other.goto(`${env.server.url}/www/?backend=memory&scenario-url=${encodeURIComponent('https://example.com/x.txt')}`);
  await other.locator('#log .note', { hasText: 'is another origin' }).waitFor({ timeout: 30_000 });
  assert.deepEqual(problems, []);
  assert.deepEqual(seen, []);
  await context.close();
});
