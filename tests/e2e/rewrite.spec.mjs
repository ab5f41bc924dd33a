// End-to-end tests of the rewrite and snapshot views: a stepped BGREWRITEAOF watched tick by
// tick (progress, the temp file growing, the new incr file taking the writes, the manifest
// after), BGSAVE and dump.rdb with the "AOF vs RDB" crash report, and the Redis 6.2 single-file
// mode chosen in the page. Debian's Chromium driven by playwright-core; `make test` builds pkg/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startRedis } from './redis.mjs';
import { SHOTS, run, setupLab, skipPrediction, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-rw-');
const { newContext } = env;

async function open(page, query) {
  await page.goto(`${env.server.url}/www/?${query}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
}

/** The reply of the last console entry once it arrived (for commands typed by a button). */
async function lastReply(page, line) {
  const entry = page.locator('#log .entry', { hasText: `aof-lab> ${line}` }).last();
  const reply = entry.locator('.reply:not(.waiting)');
  await reply.waitFor({ timeout: 15_000 });
  return reply.textContent();
}

const mset = (prefix, n) => `MSET ${Array.from({ length: n }, (_, i) => `${prefix}${i} v${i}`).join(' ')}`;

/** Samples the rewrite's progress (keys written) until it ends, running `during` meanwhile. */
/** Simulated time at a quarter of wall time: the child (one step per serverCron tick, every
 *  100 ms of simulated time) then runs long enough for the writes made meanwhile, however busy
 *  the machine running the test is. */
async function slowTime(page) {
  assert.equal(await page.evaluate(() => window.aofLab.act('playback-speed', { speed: 0.25 })), 0.25);
}

async function watchRewrite(page, during) {
  const seen = [];
  const progress = page.locator('#persist .child-aof .child-progress');
  let i = 0;
  for (let tries = 0; tries < 200; tries++) {
    const processed = await progress.getAttribute('data-processed', { timeout: 200 }).catch(() => null);
    if (processed === null) {
      if (seen.length) break; // the progress bar is gone: the rewrite ended
      await page.waitForTimeout(50);
      continue;
    }
    if (seen[seen.length - 1] !== Number(processed)) seen.push(Number(processed));
    if (i < during.length) await during[i++]();
    else await page.waitForTimeout(100);
  }
  return { seen, ran: i };
}

test('a stepped rewrite on OPFS, watched tick by tick: progress moves, the temp file grows, the new incr file takes the writes; the manifest after it; every write survives a reload', async () => {
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=opfs&namespace=stepped&appendfsync=always');
    assert.equal(await run(page, mset('k', 40)), 'OK');
    // Keyboard: the speed control and the button, without a mouse.
    const speed = page.locator('#persist select');
    await speed.focus();
    await page.keyboard.press('ArrowDown'); // Instant -> one key per tick: 40 ticks, about 4 s
    assert.equal(await speed.inputValue(), '1');
    await page.locator('#events .ev-text', { hasText: 'lab-rewrite-keys-per-tick 1' }).waitFor();
    await slowTime(page);
    await page.locator('#persist button[data-command="BGREWRITEAOF"]').focus();
    await page.keyboard.press('Enter');
    assert.equal(await lastReply(page, 'BGREWRITEAOF'), 'Background append only file rewriting started');
    let shot = false;
    const tempSizes = [];
    const during = [];
    for (let n = 0; n < 8; n++) {
      during.push(async () => {
        const temp = page.locator('#files li.file-temp .file-size');
        if (await temp.count()) tempSizes.push(Number((await temp.textContent()).replace(/\D/g, '')));
        assert.equal(await run(page, `SET during${n} x${n}`), 'OK');
        assert.equal(await run(page, 'INCR counter'), `(integer) ${n + 1}`);
        if (!shot && n === 3) {
          shot = true;
          // Mid-rewrite: the temp file in the files view, the new incr file, the progress bar.
          assert.equal(await page.locator('#files li.file-temp').count(), 1, 'the temp file is listed');
          await page.locator('#files li[data-name="appendonlydir/appendonly.aof.2.incr.aof"] .badge', { hasText: 'incr' }).waitFor();
          assert.match(await page.locator('#rewrite-state').textContent(), /Rewrite in progress \(simulated child \d+\): \d+ \/ 40 keys written to temp-rewriteaof-\d+\.aof; new writes go to appendonly\.aof\.2\.incr\.aof/);
          assert.match(await page.locator('#persist .child-aof').textContent(), /copy-on-write so far/);
          await page.locator('#persist').scrollIntoViewIfNeeded();
          await page.screenshot({ path: path.join(SHOTS, 'rewrite-in-progress.png'), fullPage: true });
        }
      });
    }
    const { seen, ran } = await watchRewrite(page, during);
    assert.ok(seen.length >= 4, `the progress moved over several ticks: ${seen}`);
    assert.ok(seen.every((v, i) => i === 0 || v > seen[i - 1]), `and only forward: ${seen}`);
    assert.ok(seen[seen.length - 1] < 40 && seen[0] < 20, `seen while it ran: ${seen}`);
    assert.equal(ran, 8, 'all the writes ran while the child did');
    assert.ok(new Set(tempSizes).size >= 2 && tempSizes.every((v, i) => i === 0 || v >= tempSizes[i - 1]), `the temp file grew: ${tempSizes}`);
    await page.locator('#events .ev-text', { hasText: /rewrite done: temp-rewriteaof-\d+\.aof renamed to the new base, manifest swapped, history files deleted/ }).waitFor();
    await page.locator('#manifest', { hasText: 'appendonly.aof.2.base.rdb' }).waitFor();
    assert.equal(await page.locator('#manifest').textContent(), 'file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n');
    assert.equal(await page.locator('#files li.file-history, #files li.file-temp').count(), 0, 'history deleted, no temp file left');
    assert.match(await page.locator('#info').textContent(), /aof_rewrites:1/);
    // A reload is a process crash: the new base plus the incr file that took the writes.
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'DBSIZE'), '(integer) 49');
    assert.equal(await run(page, 'MGET k0 k39 during0 during7 counter'), '1) "v0"\n2) "v39"\n3) "x0"\n4) "x7"\n5) "8"');
    assert.match(await page.locator('#load-log').textContent(), /DB loaded from append only file/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('BGSAVE writes dump.rdb (shown in the files, with the trap of appendonly yes), SAVE too, and the crash report says what RDB only would have lost', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always');
    assert.match(await page.locator('#persist .rdb-state').textContent(), /dump\.rdb not written yet/);
    assert.match(await page.locator('#persist .save-points').textContent(), /save 3600 1 300 100 60 10000.*after 3600 s if ≥ 1 change/);
    assert.equal(await run(page, 'SET a 1'), 'OK');
    assert.equal(await run(page, 'SET b 2'), 'OK');
    await page.locator('#persist button[data-command="BGSAVE"]').click();
    assert.equal(await lastReply(page, 'BGSAVE'), 'Background saving started');
    const dump = page.locator('#files li[data-name="dump.rdb"]');
    await dump.waitFor();
    assert.equal(await dump.locator('.badge').textContent(), 'rdb');
    await page.locator('#events .ev-text', { hasText: /BGSAVE done: temp-\d+\.rdb renamed to dump\.rdb/ }).waitFor();
    await page.locator('#persist .trap.trap-live').waitFor();
    assert.match(await page.locator('#persist .trap').textContent(), /ignores dump\.rdb.*will NOT be read by a restart/);
    assert.equal(await run(page, 'SET c 3'), 'OK');
    await page.locator('#persist .rdb-changes', { hasText: '1 change since' }).waitFor();
    await page.locator('#crash input[value="power"]').check();
    await page.locator('#crash button[data-action="crash"]').click();
    await skipPrediction(page.locator('#crash'));
    const vs = page.locator('#crash .crash-rdb');
    await vs.waitFor();
    assert.match(await vs.textContent(), /AOF vs RDB: With RDB snapshots only \(appendonly no\), this restart would load dump\.rdb as saved \d+ s before the crash: 2 keys, and the 1 change\(s\) made since that save would be lost/);
    assert.match(await page.locator('#crash .crash-summary').textContent(), /3 keys before, 3 after the restart/);
    await page.screenshot({ path: path.join(SHOTS, 'rdb-crash-report.png'), fullPage: true });
    await page.locator('#persist button[data-command="SAVE"]').click();
    assert.equal(await lastReply(page, 'SAVE'), 'OK');
    await page.locator('#events .ev-text', { hasText: 'dump.rdb written (SAVE' }).waitFor();
    await page.locator('#persist .rdb-changes', { hasText: '0 changes since' }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('Redis 6.2 mode, chosen in the page on OPFS: one appendonly.aof, a stepped rewrite with its rewrite buffer and the rename; every write survives a reload', async () => {
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=opfs&namespace=legacy&appendfsync=always');
    assert.equal(await run(page, 'SET seven 7'), 'OK');
    await page.locator('#aof-mode').selectOption('6.2');
    await page.locator('#log .note', { hasText: 'Restarted as Redis 6.2' }).waitFor();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.match(page.url(), /aof-mode=6\.2/);
    assert.equal(await run(page, 'GET seven'), '(nil)', 'the 6.2 lab has its own files');
    assert.equal(await run(page, mset('k', 30)), 'OK');
    const single = page.locator('#files li[data-name="appendonly.aof"]');
    await single.waitFor();
    assert.equal(await single.locator('.badge').textContent(), 'aof');
    assert.equal(await page.locator('#files li').count(), 1, 'one file, no directory, no manifest');
    assert.match(await page.locator('#manifest').textContent(), /Redis 6\.2 has no manifest/);
    assert.match(await page.locator('#info').textContent(), /aof_rewrite_buffer_length:0/);
    await page.locator('#persist select').selectOption('1');
    await page.locator('#events .ev-text', { hasText: 'lab-rewrite-keys-per-tick 1' }).waitFor();
    await slowTime(page);
    await page.locator('#persist button[data-command="BGREWRITEAOF"]').click();
    assert.equal(await lastReply(page, 'BGREWRITEAOF'), 'Background append only file rewriting started');
    let buffered = 0;
    const during = [];
    for (let n = 0; n < 6; n++) {
      during.push(async () => {
        assert.equal(await run(page, `SET during${n} x${n}`), 'OK');
        // The buffer is handed to the child at each tick: what it holds now is short-lived, what
        // the child received (the diff) only grows.
        const buf = page.locator('#files li.file-rwbuf .file-legend');
        if (await buf.count()) {
          buffered = Math.max(buffered, Number(await buf.getAttribute('data-diff')));
          if (n === 2) await page.screenshot({ path: path.join(SHOTS, 'rewrite-6.2-in-progress.png'), fullPage: true });
        }
      });
    }
    const { seen, ran } = await watchRewrite(page, during);
    assert.ok(seen.length >= 3, `the progress moved over several ticks: ${seen}`);
    assert.equal(ran, 6);
    assert.ok(buffered > 0, 'the writes made meanwhile went through the rewrite buffer to the child, shown in the files');
    await page.locator('#events .ev-text', { hasText: /renamed it over appendonly\.aof/ }).waitFor();
    await page.locator('#files li.file-temp').waitFor({ state: 'detached' });
    assert.equal(await page.locator('#files li').count(), 1);
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#aof-mode').inputValue(), '6.2', 'the URL keeps the mode');
    assert.equal(await run(page, 'DBSIZE'), '(integer) 36');
    assert.equal(await run(page, 'MGET k0 k29 during0 during5'), '1) "v0"\n2) "v29"\n3) "x0"\n4) "x5"');
    // Back to 7.0: its own files again.
    await page.locator('#aof-mode').selectOption('7.0');
    await page.locator('#log .note', { hasText: 'Restarted as Redis 7.0' }).waitFor();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'GET seven'), '"7"');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('6.2 mode: the rewritten appendonly.aof (RDB preamble + the writes made during the rewrite), exported, loads in a real redis-server 7.0.15 with the same DEBUG DIGEST', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  let redis;
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always&aof-mode=6.2');
    assert.equal(await page.locator('#aof-mode').inputValue(), '6.2');
    for (const line of ['RPUSH l a b c', 'HSET h f1 v1 f2 v2', 'SADD s x y z', 'ZADD z 1 a 2.5 b', 'SET ttl v EX 100000', 'SELECT 2', 'SET db2 x', 'SELECT 0', mset('k', 20)]) await run(page, line);
    await page.locator('#persist select').selectOption('5');
    await slowTime(page);
    await page.locator('#persist button[data-command="BGREWRITEAOF"]').click();
    assert.equal(await lastReply(page, 'BGREWRITEAOF'), 'Background append only file rewriting started');
    const during = ['INCR n', 'RPUSH l d', 'HDEL h f1', 'SET k0 changed'].map((line) => async () => {
      await run(page, line);
    });
    const { ran } = await watchRewrite(page, during);
    assert.equal(ran, 4);
    await page.locator('#events .ev-text', { hasText: /renamed it over appendonly\.aof/ }).waitFor();
    const digest = (await run(page, 'DEBUG DIGEST')).replace(/"/g, '');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-action="export"]').click()]);
    const dir = await mkdtemp(path.join(env.tmp, 'export-62-'));
    const tarPath = path.join(dir, 'export.tar');
    await download.saveAs(tarPath);
    execFileSync('tar', ['-xf', tarPath, '-C', dir]);
    await rm(tarPath);
    assert.deepEqual(await readdir(dir), ['appendonly.aof']);
    // Redis 7.0 finds an old single file and upgrades it to appendonlydir/ at start.
    redis = await startRedis(dir);
    assert.equal(redis.cli('DEBUG', 'DIGEST'), digest);
    assert.equal(redis.cli('GET', 'k0'), 'changed');
    assert.deepEqual(problems, []);
  } finally {
    redis?.stop();
    await context.close();
  }
});

for (const [name, options, query] of [
  ['narrow-360', { viewport: { width: 360, height: 780 }, isMobile: true }, 'backend=memory'],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' }, 'backend=memory&aof-mode=6.2'],
]) {
  test(`screenshot mid-rewrite, ${name}: nothing overflows the page`, async () => {
    const context = await env.browser.newContext(options);
    try {
      const page = await context.newPage();
      const problems = watch(page);
      await open(page, query);
      await run(page, mset('key:', 60));
      await page.locator('#persist select').selectOption('1');
      await page.locator('#persist button[data-command="BGREWRITEAOF"]').click();
      await page.locator('#persist .child-aof .child-progress').waitFor();
      await run(page, 'SET during 1');
      for (const id of ['files', 'persist']) {
        await page.locator(`#${id}`).scrollIntoViewIfNeeded();
        await page.locator(`#${id}`).locator('xpath=ancestor::section').screenshot({ path: path.join(SHOTS, `rewrite-${name}-${id}.png`) });
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}

test('<aof-lab aof-mode="6.2" panels="console files persist">: the element runs the 6.2 design', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.server.url}/www/embed.html`);
    await page.evaluate(() => {
      const lab = document.createElement('aof-lab');
      lab.id = 'legacy';
      lab.setAttribute('aof-mode', '6.2');
      lab.setAttribute('panels', 'console files persist');
      lab.setAttribute('script', 'SET a 1');
      document.body.append(lab);
    });
    const lab = page.locator('#legacy');
    await lab.locator('[data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    await lab.locator('li[data-name="appendonly.aof"]').waitFor();
    await lab.locator('button[data-command="BGREWRITEAOF"]').click();
    await lab.locator('.reply', { hasText: 'Background append only file rewriting started' }).waitFor();
    await lab.locator('[data-part="rewrite-state"]', { hasText: '1 rewrite done' }).waitFor();
    assert.match(await lab.locator('.trap').textContent(), /ignores dump\.rdb/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
