// End-to-end: the console switches to RESP3 as redis-cli does, by typing HELLO 3, and then shows
// replies with redis-cli 7.0.15's RESP3 marks (maps `1# "k" => v`, sets `1~`, `(double)`,
// `(true)`); HELLO 2 goes back. The texts are the ones `tests/console_vs_redis_cli.rs` proves
// equal to the real redis-cli's; this spec proves the page shows them as they are (line breaks
// kept, no overflow at 360 px). Screenshots: target/e2e/resp3-*.png (desktop, 360 px, dark with
// reduced motion).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SHOTS, openLab, run, setupLab, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-resp3-');

const VIEWS = [
  ['desktop', { viewport: { width: 1280, height: 900 } }],
  ['narrow-360', { viewport: { width: 360, height: 780 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark', reducedMotion: 'reduce' }],
];

for (const [name, options] of VIEWS) {
  test(`HELLO 3 switches the console to redis-cli's RESP3 rendering (${name})`, async () => {
    const context = await env.newContext(options);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await openLab(env, page, 'backend=memory');
      assert.equal(await run(page, 'HSET h f1 v1 f2 v2'), '(integer) 2');
      assert.equal(await run(page, 'ZADD z 1 a 2.5 b'), '(integer) 2');
      assert.equal(await run(page, 'HGETALL h'), '1) "f1"\n2) "v1"\n3) "f2"\n4) "v2"');
      const hello = await run(page, 'HELLO 3');
      assert.match(hello, /^1# "server" => "redis"\n2# "version" => "7\.0\.15"\n3# "proto" => \(integer\) 3\n/);
      assert.match(hello, /\n7# "modules" => \(empty array\)$/);
      assert.equal(await run(page, 'HGETALL h'), '1# "f1" => "v1"\n2# "f2" => "v2"');
      assert.equal(await run(page, 'ZRANGE z 0 -1 WITHSCORES'), '1) 1) "a"\n   2) (double) 1\n2) 1) "b"\n   2) (double) 2.5');
      assert.equal(await run(page, 'SADD s x'), '(integer) 1');
      assert.equal(await run(page, 'SMEMBERS s'), '1~ "x"');
      assert.equal(await run(page, 'HGETALL nokey'), '(empty hash)');
      assert.equal(await run(page, 'DEBUG PROTOCOL true'), '(true)');
      assert.equal(await run(page, 'CONFIG GET appendonly'), '1# "appendonly" => "yes"');
      if (name === 'narrow-360') {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px at 360 px`);
      }
      await page.evaluate(() => document.getElementById('log').scrollIntoView({ block: 'start' }));
      await page.screenshot({ path: path.join(SHOTS, `resp3-${name}.png`) });
      assert.equal(await run(page, 'HELLO 2').then((t) => t.split('\n')[0]), ' 1) "server"'); // 14 elements: two-digit indexes
      assert.equal(await run(page, 'ZSCORE z b'), '"2.5"');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
