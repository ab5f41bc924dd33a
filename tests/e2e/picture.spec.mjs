// The README's picture (docs/lab.png), taken by every e2e run so that it shows the lab as it is:
// the page in Chromium on the memory machine, a few commands typed, the top of the page (the
// console and the write path of the last command). The part it shows has no clock
// times, so the file only changes when the page does. Also checks what the picture promises.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-pic-');
const PICTURE = path.join(ROOT, 'docs', 'lab.png');

test("the README's picture: the lab after a few commands (docs/lab.png)", async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.server.url}/www/?backend=memory&appendfsync=always`);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    for (const line of ['SET greeting hello', 'RPUSH queue a b c', 'INCR visits', 'INCRBYFLOAT price 1.5']) {
      await page.locator('#cmd').fill(line);
      await page.keyboard.press('Enter');
      await page.locator('#log .entry').last().locator('.reply:not(.waiting)').waitFor();
    }
    // What the picture shows: the last command as propagated (INCRBYFLOAT as SET … KEEPTTL, no
    // clock time in it) on its way to the disk.
    await page.locator('#aof .aof-cmd', { hasText: 'INCRBYFLOAT price 1.5' }).waitFor();
    assert.match((await page.locator('#aof .resp').allTextContents()).join(''), /\$3\\r\\nSET\\r\\n\$5\\r\\nprice\\r\\n\$3\\r\\n1\.5\\r\\n\$7\\r\\nKEEPTTL/);
    await page.evaluate(() => document.activeElement?.blur());
    await page.waitForTimeout(400); // the last view is drawn
    await mkdir(path.dirname(PICTURE), { recursive: true });
    await page.screenshot({ path: PICTURE, clip: { x: 0, y: 0, width: 1280, height: 850 } });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
