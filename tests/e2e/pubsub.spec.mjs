// End-to-end: the lab page's second console is another client of the same server. It
// SUBSCRIBEs, the first console PUBLISHes, and the message appears in the second console as
// redis-cli shows it (`1) "message"` …); refused commands in the subscribed context; the other
// way round, a message published from the second console reaches the first one listening to a
// pattern. The texts are the engine's (src/lab/session/tests.rs proves the same exchange
// natively). Screenshots: target/e2e/pubsub-*.png (desktop, 360 px, dark with reduced motion).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SHOTS, openLab, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-pubsub-');

/** Types a line in the second console; resolves once `n` more replies are shown there. */
async function second(page, line, n = 1) {
  const replies = page.locator('#second-log .reply');
  const before = await replies.count();
  await page.locator('#second-cmd').fill(line);
  await page.locator('#second-cmd').press('Enter');
  await page.waitForFunction(([want]) => document.querySelectorAll('#second-log .reply').length >= want, [before + n], { timeout: 15_000 });
  return replies.last().textContent();
}

const VIEWS = [
  ['desktop', { viewport: { width: 1280, height: 900 } }],
  ['narrow-360', { viewport: { width: 360, height: 780 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark', reducedMotion: 'reduce' }],
];

for (const [name, options] of VIEWS) {
  test(`the second console subscribes and hears what the first publishes (${name})`, async () => {
    const context = await env.newContext(options);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await openLab(env, page, 'backend=memory');
      await page.locator('#second-cmd:not([disabled])').waitFor({ timeout: 15_000 });
      assert.equal(await second(page, 'SUBSCRIBE news'), '1) "subscribe"\n2) "news"\n3) (integer) 1');
      assert.equal(
        await second(page, 'GET greeting'),
        "(error) ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
      );
      // The first console publishes: one receiver, and the message arrives in the second.
      const shown = page.locator('#second-log .reply');
      const before = await shown.count();
      assert.equal(await run(page, 'PUBLISH news hello'), '(integer) 1');
      await page.waitForFunction(([want]) => document.querySelectorAll('#second-log .reply').length >= want, [before + 1], { timeout: 15_000 });
      assert.equal(await shown.last().textContent(), '1) "message"\n2) "news"\n3) "hello"');
      assert.equal(await run(page, 'PUBSUB NUMSUB news'), '1) "news"\n2) (integer) 1');
      // The other way round: the first console listens to a pattern, the second publishes;
      // the message reaches the first console with the next serverCron tick.
      assert.equal(await run(page, 'PSUBSCRIBE n*'), '1) "psubscribe"\n2) "n*"\n3) (integer) 1');
      await second(page, 'UNSUBSCRIBE');
      assert.equal(await second(page, 'PUBLISH news again'), '(integer) 1');
      await page.locator('#log .reply', { hasText: '"again"' }).first().waitFor({ timeout: 15_000 });
      // PUBLISH is not in the AOF: the buffer view shows no PUBLISH.
      assert.equal(await page.locator('#aof', { hasText: 'PUBLISH' }).count(), 0);
      if (name === 'narrow-360') {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px at 360 px`);
      }
      await page.evaluate(() => document.getElementById('second-title').scrollIntoView({ block: 'center' }));
      await page.screenshot({ path: path.join(SHOTS, `pubsub-${name}.png`) });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
