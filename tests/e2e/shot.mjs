// Manual screenshot helper (not a test): node shot.mjs [query] [out-prefix] [lines|separated]
// env: SPEED=<keys per tick> picks the child speed first; WAIT=<ms> before the shot (600);
// CRASH=<kind> crashes after the lines; SECTIONS=id,id also shoots those panels.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const query = process.argv[2] ?? '';
const out = process.argv[3] ?? '/tmp/webtmp/shot';
const lines = (process.argv[4] ?? 'SET greeting hello|RPUSH l a b c|INCR n').split('|');
const server = await startServer(ROOT);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
for (const [name, opts] of [
  ['desktop', { viewport: { width: 1280, height: 900 } }],
  ['narrow', { viewport: { width: 360, height: 780 }, deviceScaleFactor: 1, isMobile: true }],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' }],
]) {
  const ctx = await browser.newContext(opts);
  const page = await ctx.newPage();
  page.on('console', (m) => console.log(`[${name}] console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${name}] pageerror: ${e.message}`));
  await page.goto(`${server.url}/www/${query}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
  if (process.env.SPEED) await page.locator('#persist select').selectOption(process.env.SPEED);
  for (const l of lines) {
    await page.locator('#cmd').fill(l);
    await page.keyboard.press('Enter');
  }
  await page.waitForTimeout(Number(process.env.WAIT ?? 600));
  if (process.env.CRASH) {
    await page.locator(`input[value="${process.env.CRASH}"]`).check();
    await page.locator('button[data-action="crash"]').click();
    if (await page.locator('button[data-action="just-crash"]').isVisible()) await page.locator('button[data-action="just-crash"]').click();
    await page.waitForTimeout(600);
  }
  await page.screenshot({ path: `${out}-${name}.png`, fullPage: true });
  for (const id of (process.env.SECTIONS ?? '').split(',').filter(Boolean)) {
    await page.locator(`#${id}`).scrollIntoViewIfNeeded();
    const box = await page.evaluate((i) => {
      const r = document.getElementById(i).closest('section,header').getBoundingClientRect();
      return { x: r.x, y: r.y + window.scrollY, width: r.width, height: Math.min(r.height, 1400) };
    }, id);
    await page.screenshot({ path: `${out}-${name}-${id}.png`, fullPage: true, clip: box });
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  console.log(name, 'overflow', overflow);
  await ctx.close();
}
await browser.close();
await server.close();
