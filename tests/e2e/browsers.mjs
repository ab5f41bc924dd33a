// One small driver for the specs that run in Chromium AND Firefox (package, tutorial, dist,
// firefox-lab): Chromium through playwright-core (Debian's /usr/bin/chromium), Firefox ESR
// through selenium-webdriver and geckodriver (both installed by scripts/setup.sh; no browser
// download). A spec says what to do in the page with `evaluate(fn, arg)` (the function runs in
// the page, may be async, and its result comes back as JSON), real keys with `press`, and
// screenshots with `shot`; the same spec then runs in both browsers.
//
// Each `open` is a fresh browser profile (its own OPFS, IndexedDB and locks).
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Builder, By, Key } from 'selenium-webdriver';
import BrowsingContext from 'selenium-webdriver/bidi/browsingContext.js';
import firefox from 'selenium-webdriver/firefox.js';
import { CHROMIUM } from './harness.mjs';

/** The browsers of a run: E2E_BROWSERS=chromium,firefox (the default) or one of them. */
export const BROWSERS = (process.env.E2E_BROWSERS ?? 'chromium,firefox').split(',').filter(Boolean);

const GECKODRIVER = process.env.GECKODRIVER ?? path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo'), 'bin', 'geckodriver');
const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';

const KEYS = { Tab: Key.TAB, Enter: Key.ENTER, Escape: Key.ESCAPE, Space: Key.SPACE, End: Key.END, Home: Key.HOME };

/** Collects errors a page throws (uncaught errors, unhandled rejections), read by `errors()`. */
const ERROR_TRAP = `(() => {
  if (window.__errors) return;
  window.__errors = [];
  addEventListener('error', (e) => window.__errors.push('error: ' + (e.message || e.error)));
  addEventListener('unhandledrejection', (e) => window.__errors.push('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)));
})();`;

/**
 * Opens `name` ('chromium' | 'firefox') with `{width, height, dark, reducedMotion}`; resolves to
 * {name, goto(url), reload(), evaluate(fn, arg), waitFor(fn, arg, ms), press(key), type(text),
 * click(css), shot(file), errors(), close()}.
 */
export async function open(name, { width = 1280, height = 900, dark = false, reducedMotion = false } = {}) {
  if (name === 'chromium') return openChromium({ width, height, dark, reducedMotion });
  if (name === 'firefox') return openFirefox({ width, height, dark, reducedMotion });
  throw new Error(`unknown browser ${name}`);
}

async function openChromium({ width, height, dark, reducedMotion }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aof-lab-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    ...CHROMIUM,
    viewport: { width, height },
    colorScheme: dark ? 'dark' : 'light',
    reducedMotion: reducedMotion ? 'reduce' : 'no-preference',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  return {
    name: 'chromium',
    page,
    goto: (url) => page.goto(url),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitFor: (fn, arg, ms = 30_000) => page.waitForFunction(fn, arg, { timeout: ms, polling: 100 }).then((h) => h.jsonValue()),
    press: (key) => page.keyboard.press(key),
    type: (text) => page.keyboard.type(text),
    click: (css) => page.locator(css).click(),
    reload: () => page.reload(),
    shot: (file) => page.screenshot({ path: file }),
    errors: async () => problems.slice(),
    close: () => context.close(),
  };
}

async function openFirefox({ width, height, dark, reducedMotion }) {
  const options = new firefox.Options().setBinary(FIREFOX).addArguments('-headless').windowSize({ width: Math.max(width, 800), height: Math.max(height, 900) });
  // WebDriver BiDi, for the viewport's exact size (a window is at least 500 px wide).
  options.enableBidi();
  // prefers-color-scheme and prefers-reduced-motion, as the system would say them.
  options.setPreference('ui.systemUsesDarkTheme', dark ? 1 : 0);
  options.setPreference('layout.css.prefers-color-scheme.content-override', dark ? 0 : 1);
  options.setPreference('ui.prefersReducedMotion', reducedMotion ? 1 : 0);
  // Nothing phones home.
  for (const [k, v] of [
    ['app.update.enabled', false],
    ['browser.shell.checkDefaultBrowser', false],
    ['datareporting.policy.dataSubmissionEnabled', false],
    ['network.captive-portal-service.enabled', false],
    ['network.connectivity-service.enabled', false],
    ['browser.safebrowsing.malware.enabled', false],
    ['browser.safebrowsing.phishing.enabled', false],
  ]) options.setPreference(k, v);
  const driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(new firefox.ServiceBuilder(GECKODRIVER)).build();
  await driver.manage().setTimeouts({ script: 120_000, pageLoad: 60_000 });
  // The page's size, not the window's: BiDi's browsingContext.setViewport, as a phone's.
  const context = await BrowsingContext(driver, { browsingContextId: await driver.getWindowHandle() });
  await context.setViewport(width, height);
  const evaluate = async (fn, arg) => {
    const r = await driver.executeAsyncScript(
      `const [src, arg, done] = arguments;
       ${ERROR_TRAP}
       Promise.resolve().then(() => (0, eval)('(' + src + ')')(arg)).then(
         (value) => done({ ok: true, value: value === undefined ? null : value }),
         (err) => done({ ok: false, error: String((err && err.stack) || err) }));`,
      fn.toString(),
      arg === undefined ? null : arg,
    );
    if (!r.ok) throw new Error(`in Firefox: ${r.error}`);
    return r.value;
  };
  return {
    name: 'firefox',
    driver,
    async goto(url) {
      await driver.get(url);
      await driver.executeScript(ERROR_TRAP);
    },
    evaluate,
    async waitFor(fn, arg, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const v = await evaluate(fn, arg);
        if (v) return v;
        if (Date.now() > until) throw new Error(`waitFor timed out after ${ms} ms: ${fn.toString().slice(0, 160)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async press(key) {
      const parts = key.split('+');
      const main = parts.pop();
      const k = KEYS[main] ?? (main.startsWith('Digit') ? main.slice(5) : main);
      const actions = driver.actions({ async: true });
      for (const mod of parts) actions.keyDown(mod === 'Shift' ? Key.SHIFT : Key.CONTROL);
      actions.sendKeys(k);
      for (const mod of parts.reverse()) actions.keyUp(mod === 'Shift' ? Key.SHIFT : Key.CONTROL);
      await actions.perform();
    },
    async type(text) {
      await driver.actions({ async: true }).sendKeys(text).perform();
    },
    /** A real click on an element of the page's light DOM (WebDriver does not pierce shadow roots). */
    async click(css) {
      await driver.findElement(By.css(css)).click();
    },
    async reload() {
      await driver.navigate().refresh();
      await driver.executeScript(ERROR_TRAP);
    },
    async shot(file) {
      await writeFile(file, await driver.takeScreenshot(), 'base64');
    },
    errors: () => evaluate(() => window.__errors ?? []),
    close: () => driver.quit(),
  };
}

/** The element that has the keyboard focus, through shadow roots: `tag.class[data-part]` text. */
export function focusedDescription() {
  let el = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return '';
  return `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} ${el.textContent.trim().slice(0, 40)}`;
}
