// End-to-end tests of the tutorial (www/tutorial.html), in Chromium and Firefox (browsers.mjs):
// one section per topic, each with a lazy <aof-lab> playing a built-in scenario; every one of the
// 17 scenarios is played to the end with every check passing; a lab starts when it scrolls into
// view and not before; one section stepped with the keyboard only (Tab to Step, Enter, a number
// key for the prediction); 360 px in dark mode with reduced motion, no horizontal overflow.
// Screenshots in target/e2e/ (tutorial-*.png).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BROWSERS, focusedDescription, open } from './browsers.mjs';
import { ROOT, SHOTS } from './harness.mjs';
import { startServer } from './server.mjs';

const SCENARIOS = path.join(ROOT, 'www', 'scenarios');
let server;

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  server = await startServer(ROOT);
});
after(() => server?.close());

/** The number of checks (`expect` and `wait` lines) of a built-in scenario. */
async function checksIn(name) {
  const text = await readFile(path.join(SCENARIOS, `${name}.txt`), 'utf8');
  return text.split('\n').filter((l) => /^\s*(expect|wait)\s/.test(l)).length;
}

/** Plays the scenario of the lab of section `name` to the end through the element's step()
 *  (predictions skipped); resolves to the panel's counts. Runs in the page. */
async function playToEnd([name, want]) {
  const el = document.querySelector(`aof-lab[scenario="${name}"]`);
  const panel = () => el.shadowRoot.querySelector('[data-part="scenarios"]');
  // The lab loads its scenario once its engine is ready.
  for (let i = 0; i < 600 && !(el.lab && panel()?.dataset.scenario === name && panel().dataset.done === 'false'); i++) await new Promise((r) => setTimeout(r, 50));
  let steps = 0;
  for (let o = await el.step(null); o; o = await el.step(null)) steps++;
  const root = panel();
  // The last step's result reaches the panel with the view that follows it (a busy machine
  // can draw it a few frames after step() resolved): wait for it before counting.
  const checks = () => root.querySelectorAll('[data-result]').length;
  for (let i = 0; i < 200 && checks() < want; i++) await new Promise((r) => setTimeout(r, 50));
  return {
    steps,
    done: root.dataset.done,
    passed: root.querySelectorAll('[data-result="pass"]').length,
    failed: [...root.querySelectorAll('[data-result="fail"]')].map((li) => li.textContent),
    summary: root.querySelector('.scenario-summary').textContent,
  };
}

for (const name of BROWSERS) {
  test(`${name}: every section's lab plays its scenario to the end, each starting when it comes into view`, async () => {
    const b = await open(name, { width: 1280, height: 900 });
    try {
      await b.goto(`${server.url}/www/tutorial.html`);
      const index = JSON.parse(await readFile(path.join(SCENARIOS, 'index.json'), 'utf8'));
      const labs = await b.evaluate(() => [...document.querySelectorAll('aof-lab[scenario]')].map((el) => ({ scenario: el.getAttribute('scenario'), section: el.closest('section').id, started: !!el.lab })));
      // One lab per built-in scenario, each in a section of its own.
      assert.deepEqual(labs.map((l) => l.scenario).sort(), index.map((s) => s.name).sort());
      assert.equal(new Set(labs.map((l) => l.section)).size, index.length - 4, 'the common problems share one section, with a heading per problem');
      assert.ok(!labs.at(-1).started, 'a lab far down the page has not started');
      for (const { scenario } of labs) {
        await b.evaluate((n) => document.querySelector(`aof-lab[scenario="${n}"]`).scrollIntoView({ block: 'center' }), scenario);
        // Scrolled into view, it starts by itself (no method call).
        await b.waitFor((n) => !!document.querySelector(`aof-lab[scenario="${n}"]`).lab, scenario, 30_000);
        const want = await checksIn(scenario);
        const r = await b.evaluate(playToEnd, [scenario, want]);
        assert.deepEqual(r.failed, [], `${scenario}: failed checks`);
        assert.equal(r.done, 'true', `${scenario}: played to the end`);
        assert.equal(r.passed, want, `${scenario}: ${r.passed} of ${want} checks passed`);
        assert.equal(r.summary, `done · checks: ${want} passed, 0 failed, of ${want}`);
      }
      await b.evaluate(() => document.querySelector('#sync aof-lab').scrollIntoView({ block: 'start', behavior: 'instant' }));
      await b.shot(path.join(SHOTS, `tutorial-${name}.png`));
      assert.deepEqual(await b.errors(), []);
    } finally {
      await b.close();
    }
  });

  test(`${name}: the tutorial with the keyboard only, at 360 px, dark, reduced motion`, async () => {
    const b = await open(name, { width: 360, height: 780, dark: true, reducedMotion: true });
    try {
      await b.goto(`${server.url}/www/tutorial.html`);
      // Dark mode is the page's and the lab's.
      assert.equal(await b.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(14, 17, 23)');
      // The skip link first, then into the first section, whose lab starts as it comes into
      // view; Tab enters the lab: the scenario's select, then Step.
      await b.press('Tab');
      assert.match(await b.evaluate(focusedDescription), /^a\.skip Skip to the first section/);
      await b.press('Enter');
      const lab = 'aof-lab[scenario="write-path"]';
      // Its panels are built once their modules have arrived (the console's first).
      await b.waitFor((s) => !!document.querySelector(s).lab?.viewsBuilt, lab, 30_000);
      const stops = [];
      for (let i = 0; i < 2; i++) {
        await b.press('Tab');
        stops.push(await b.evaluate(focusedDescription));
      }
      assert.deepEqual(stops.map((d) => d.split(' ')[0]), ['select.scenario-select', 'button.chip.scenario-step'], `the focus path: ${stops.join(' → ')}`);
      // Enter steps; at the prediction the focus is on its choices and a number key answers.
      const ran = () => b.evaluate((s) => document.querySelector(s).shadowRoot.querySelectorAll('.scenario-step-item.ran').length, lab);
      let answered = false;
      for (let guard = 0; guard < 60; guard++) {
        const state = await b.evaluate((s) => document.querySelector(s).shadowRoot.querySelector('[data-part="scenarios"]').dataset, lab);
        if (state.done === 'true') break;
        const before = await ran();
        if (state.predicting === 'true') {
          assert.match(await b.evaluate(focusedDescription), /^button\.scenario-choice 1\./, 'the prediction takes the focus');
          await b.press('Digit1');
          answered = true;
        } else {
          assert.match(await b.evaluate(focusedDescription), /^button\.chip\.scenario-step Step/);
          await b.press('Enter');
        }
        await b.waitFor(([s, n]) => document.querySelector(s).shadowRoot.querySelectorAll('.scenario-step-item.ran').length > n, [lab, before]);
      }
      assert.ok(answered, 'a prediction was answered with its number key');
      const summary = await b.evaluate((s) => document.querySelector(s).shadowRoot.querySelector('.scenario-summary').textContent, lab);
      const want = await checksIn('write-path');
      assert.equal(summary, `done · checks: ${want} passed, 0 failed, of ${want}`);
      // Tab on into the next section's lab, still asleep: the focus reaches its Start button,
      // which scrolls it into view; it starts and keeps the focus (not thrown back to the page);
      // then its select and its Step.
      const onward = [];
      const atNextStep = () => b.evaluate(() => document.activeElement?.getAttribute('scenario') === 'fsync-policies' && document.activeElement.shadowRoot.activeElement?.classList.contains('scenario-step'));
      for (let i = 0; i < 20 && !(await atNextStep()); i++) {
        await b.press('Tab');
        onward.push(await b.evaluate(focusedDescription));
        if (onward.at(-1).startsWith('button Start it now')) {
          onward.push(await b.waitFor(() => {
            const host = document.activeElement;
            const el = host?.shadowRoot?.activeElement ?? host;
            return el?.textContent.trim() === 'Start it now' ? null : `${el.tagName.toLowerCase()}.${el.className} in ${host.getAttribute('scenario')}`;
          }, null, 30_000));
        }
      }
      const route = onward.map((d) => d.split(/\s+/).slice(0, 3).join(' ')).join(' → ');
      assert.ok(await atNextStep(), `Tab reaches the next lab's Step: ${route}`);
      assert.ok(!onward.some((d) => d.startsWith('body')), `the focus stays on the page's controls: ${route}`);
      assert.ok(onward.some((d) => d.startsWith('div.embed')), `the lab started by the focus took it: ${route}`);
      await b.press('Enter');
      await b.waitFor(() => document.querySelector('aof-lab[scenario="fsync-policies"]').shadowRoot.querySelectorAll('.scenario-step-item.ran').length === 1);
      await b.evaluate((s) => document.querySelector(s).scrollIntoView({ behavior: 'instant' }), lab);
      // Nothing is wider than the screen: not the page, not the lab, not the settings table.
      const widths = await b.evaluate((s) => ({
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        lab: Math.round(document.querySelector(s).getBoundingClientRect().right),
      }), lab);
      assert.equal(widths.page, 0, 'no horizontal overflow at 360 px');
      assert.ok(widths.lab <= 360, `the lab fits (right edge at ${widths.lab})`);
      await b.shot(path.join(SHOTS, `tutorial-360-dark-${name}.png`));
      await b.evaluate(() => document.getElementById('config').scrollIntoView({ behavior: 'instant' }));
      await b.shot(path.join(SHOTS, `tutorial-360-dark-config-${name}.png`));
      assert.deepEqual(await b.errors(), []);
    } finally {
      await b.close();
    }
  });
}
