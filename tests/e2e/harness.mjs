// What every e2e spec shares: where the repository and the screenshots are, how Debian's
// Chromium is launched (headless, no sandbox in CI containers, nothing phoning home), and a
// watcher that collects page errors so that a test can assert there were none, and the
// per-file set-up: the page served on a free port, one browser, a scratch directory.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHOTS = path.join(ROOT, 'target', 'e2e');
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/**
 * After a click on a crash button: the lab first asks for a prediction (ui/predict.js); a test
 * that is not about predictions answers "Just crash" (which the lab then remembers).
 */
export async function skipPrediction(scope) {
  const skip = scope.locator('button[data-action="just-crash"]');
  if (await skip.isVisible()) await skip.click();
}

/** Collects uncaught page errors and console.error lines of `page`. */
export function watch(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  return problems;
}

/**
 * Registers the spec's `before` / `after`: the repository served on a free port, one Chromium,
 * a scratch directory (`prefix` + random). The returned object's `server`, `browser` and `tmp`
 * are set once `before` has run; `newContext` opens a fresh browser profile (its own OPFS,
 * IndexedDB and locks), so tests never share storage.
 */
export function setupLab(prefix) {
  const env = {
    server: null,
    browser: null,
    tmp: null,
    async newContext(options = {}) {
      const dir = await mkdtemp(path.join(env.tmp, 'profile-'));
      return chromium.launchPersistentContext(dir, { ...CHROMIUM, viewport: { width: 1280, height: 900 }, ...options });
    },
  };
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    env.tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
    env.server = await startServer(ROOT);
    env.browser = await chromium.launch(CHROMIUM);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
    if (env.tmp) await rm(env.tmp, { recursive: true, force: true });
  });
  return env;
}

/** Opens the lab page (`query`: its URL parameters) on `env`'s server and waits until the engine
 *  is `state` (`ready`, or `down` for a lab that refused to start). */
export async function openLab(env, page, query = '', state = 'ready') {
  await page.goto(`${env.server.url}/www/${query ? `?${query}` : ''}`);
  await page.locator(`#status[data-engine="${state}"]`).waitFor({ timeout: 30_000 });
}

/** Types a line in the console, presses Enter and returns its reply as shown, once it no longer
 *  waits (a blocked command's reply comes when it is served). The entry is added on Enter, so it
 *  is the last one (the log keeps its last 500 entries): its echo is the line typed. */
export async function run(page, line, timeout = 15_000) {
  await page.locator('#cmd').fill(line);
  await page.keyboard.press('Enter');
  const entry = page.locator('#log .entry').last();
  assert.equal(await entry.locator('.cmd').textContent(), `aof-lab> ${line}`);
  const reply = entry.locator('.reply:not(.waiting)');
  await reply.waitFor({ timeout });
  return reply.textContent();
}
