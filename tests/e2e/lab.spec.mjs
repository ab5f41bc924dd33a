// End-to-end tests of the lab's persistence: the crash lab on the simulated machine, real
// reloads and worker crashes on OPFS and IndexedDB, one writer per namespace, and files moved
// to and from a real redis-server 7.0.15 (spawned here on a free loopback port).
// Debian's Chromium driven by playwright-core; `make test` builds pkg/ first.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startRedis } from './redis.mjs';
import { SHOTS, run, setupLab, skipPrediction, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-');
const { newContext } = env;

async function open(page, query, state = 'ready') {
  await page.goto(`${env.server.url}/www/?${query}`);
  await page.locator(`#status[data-engine="${state}"]`).waitFor({ timeout: 30_000 });
}

async function crash(page, kind) {
  await page.locator(`#crash input[value="${kind}"]`).check();
  await page.locator('#crash button[data-action="crash"]').click();
  await skipPrediction(page.locator('#crash'));
}

async function eventsText(page) {
  return (await page.locator('#events .ev-text').allTextContents()).join('\n');
}

// ---- the crash lab on the simulated machine ----

test('start-up: every module the page loads is preloaded by index.html (one round of requests, not one per import level)', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.server.url}/www/?backend=memory`);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    const { loaded, preloaded } = await page.evaluate(() => ({
      loaded: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('.js') && !/\/worker(-log)?\.js$/.test(p) && !p.includes('/pkg/')), // the worker's own graph loads in the worker
      preloaded: [...document.querySelectorAll('link[rel="modulepreload"]')].map((l) => new URL(l.href).pathname),
    }));
    assert.ok(loaded.length > 10, `the page loaded its modules: ${loaded}`);
    assert.deepEqual(loaded.filter((p) => !preloaded.includes(p)), [], 'modules loaded without a modulepreload link in index.html');
  } finally {
    await context.close();
  }
});

test('crash lab: a power loss keeps every acknowledged write under always, loses them under no, and says why', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always');
    assert.match(await page.locator('#backend').textContent(), /memory/);
    for (const k of ['a', 'b', 'c']) assert.equal(await run(page, `SET ${k} ${k}${k}`), 'OK');
    await crash(page, 'power');
    const summary = page.locator('#crash .crash-summary');
    await summary.waitFor();
    assert.match(await summary.textContent(), /^a power loss under appendfsync always: 3 keys before, 3 after the restart\. 0 bytes never reached the disk/);
    assert.match(await page.locator('#crash .crash-why').textContent(), /every reply was sent after its bytes were fsynced/);
    assert.match(await page.locator('#crash .log-lines').textContent(), /DB loaded from append only file/);
    assert.equal(await run(page, 'MGET a b c'), '1) "aa"\n2) "bb"\n3) "cc"');

    // appendfsync no: nothing was fsynced and the simulated kernel writes back after 30 s.
    assert.equal(await run(page, 'CONFIG SET appendfsync no'), 'OK');
    assert.equal(await run(page, 'SET d dd'), 'OK');
    await crash(page, 'power');
    await page.locator('#crash .crash-summary', { hasText: 'appendfsync no' }).waitFor();
    assert.match(await summary.textContent(), /4 keys before, 3 after the restart\. [1-9]\d* bytes never reached the disk \(0 in aof_buf, [1-9]\d* in the page cache\)/);
    assert.match(await page.locator('#crash .crash-why').textContent(), /appendfsync no: Redis never fsyncs/);
    assert.equal(await run(page, 'GET d'), '(nil)');

    // A kill keeps what was written, synced or not.
    assert.equal(await run(page, 'SET e ee'), 'OK');
    await crash(page, 'kill');
    await page.locator('#crash .crash-summary', { hasText: /^a process kill/ }).waitFor();
    assert.equal(await run(page, 'GET e'), '"ee"');
    await page.screenshot({ path: path.join(SHOTS, 'lab-crash-report.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('crash lab: a torn write is a truncated AOF; with aof-load-truncated no Redis refuses to start, and the page offers the ways out', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=no');
    assert.equal(await run(page, 'CONFIG SET aof-load-truncated no'), 'OK');
    assert.equal(await run(page, 'SET k v'), 'OK');
    await crash(page, 'torn');
    await page.locator('#status[data-engine="failed"]', { hasText: 'down' }).waitFor();
    const down = page.locator('#crash .down');
    await down.waitFor();
    assert.match(await down.textContent(), /Unexpected end of file|truncated/i);
    assert.equal(await run(page, 'GET k'), 'Could not connect to Redis at 127.0.0.1:6379: Connection refused');
    await page.screenshot({ path: path.join(SHOTS, 'lab-torn-refused.png'), fullPage: true });
    await page.getByRole('button', { name: 'Restart with aof-load-truncated yes' }).click();
    await page.locator('#status[data-engine="ready"]').waitFor();
    assert.match(await eventsText(page), /AOF appendonly\.aof\.1\.incr\.aof loaded anyway because aof-load-truncated is enabled/);
    assert.equal(await run(page, 'GET k'), '(nil)', 'the torn command is cut off');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

/** The crash report's counts: [keys before, keys after] (null after: refused to start). */
async function reportCounts(page) {
  const text = await page.locator('#crash .crash-summary').first().textContent();
  const m = text.match(/(\d+) keys before, (?:(\d+) after the restart|the server refused to start)/);
  assert.ok(m, text);
  return [Number(m[1]), m[2] === undefined ? null : Number(m[2])];
}

/** Which of `keys` exist (EXISTS one by one: the console prints integers). */
async function present(page, keys) {
  const out = [];
  for (const k of keys) if ((await run(page, `EXISTS ${k}`)) === '(integer) 1') out.push(k);
  return out;
}

// The simulated machine sits above every backend: a power loss works on the page as it opens
// (OPFS) and on IndexedDB, cuts the real files back, and a reload finds the same survivors.
for (const [backend, query] of [['OPFS', ''], ['IndexedDB', '?backend=indexeddb']]) {
  test(`${backend}${query ? '' : ' (the page as it opens)'}: a power loss under each policy loses exactly what the report says, and a reload shows the same survivors`, async () => {
    for (const policy of ['always', 'everysec', 'no']) {
      const context = await newContext();
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const problems = watch(page);
        await page.goto(`${env.server.url}/www/${query}`);
        await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
        assert.match(await page.locator('#backend').textContent(), new RegExp(backend));
        assert.equal(await run(page, `CONFIG SET appendfsync ${policy}`), 'OK');
        const keys = ['a', 'b', 'c', 'd'];
        for (const k of keys) assert.equal(await run(page, `SET ${k} ${k}${k}`), 'OK');
        // Every simulated crash kind is offered, on every backend.
        for (const kind of ['kill', 'power', 'torn', 'torn-seq']) assert.equal(await page.locator(`#crash input[value="${kind}"]`).isDisabled(), false);
        await crash(page, 'power');
        await page.locator('#crash .crash-summary', { hasText: `a power loss under appendfsync ${policy}` }).waitFor();
        const [before, after] = await reportCounts(page);
        assert.equal(before, 4);
        if (policy === 'always') assert.equal(after, 4, 'always: every acknowledged write was fsynced');
        if (policy === 'no') assert.equal(after, 0, 'no: nothing was fsynced, and the kernel writes back after 30 s');
        const survivors = await present(page, keys);
        assert.equal(survivors.length, after, `${policy}: the report's count is what the restarted server holds`);
        assert.deepEqual(survivors, keys.slice(0, after), `${policy}: the survivors are a prefix of the writes`);
        assert.equal(await run(page, 'DBSIZE'), `(integer) ${after}`);
        // The crash cut the browser's real files: a reload (a new worker) finds the same.
        await page.reload();
        await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
        assert.deepEqual(await present(page, keys), survivors, `${policy}: after the reload`);
        if (policy === 'everysec') await page.screenshot({ path: path.join(SHOTS, `lab-power-${backend.toLowerCase()}.png`), fullPage: true });
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    }
  });
}

test('disk full is -MISCONF in the console, and nothing already stored is lost', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    // everysec: a write error is -MISCONF (under always Redis would exit).
    await open(page, 'backend=memory&appendfsync=everysec');
    assert.equal(await run(page, 'SET kept 1'), 'OK');
    await page.locator('#crash button[data-fault="disk-full"]').click();
    await run(page, 'SET lost 2');
    assert.match(await run(page, 'SET more 3'), /^\(error\) MISCONF Errors writing to the AOF file: No space left on device/);
    await page.locator('#status', { hasText: 'MISCONF' }).waitFor();
    await page.locator('#crash button[data-fault="clear"]').click();
    await crash(page, 'kill');
    await page.locator('#crash .crash-summary').waitFor();
    assert.equal(await run(page, 'GET kept'), '"1"');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

// ---- real browser storage: reloads and worker crashes ----

for (const policy of ['always', 'everysec', 'no']) {
  test(`OPFS, appendfsync ${policy}: every acknowledged write survives a real page reload, and the load log is shown`, async () => {
    const context = await newContext();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await open(page, `backend=opfs&namespace=reload-${policy}&appendfsync=${policy}`);
      assert.match(await page.locator('#backend').textContent(), /OPFS/);
      for (let i = 0; i < 20; i++) assert.equal(await run(page, `SET key:${i} value-${i}`), 'OK');
      assert.equal(await run(page, 'RPUSH list a b c'), '(integer) 3');
      // A reload is a process crash: the worker dies with aof_buf, the browser keeps the files.
      await page.reload();
      await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
      assert.equal(await run(page, 'DBSIZE'), '(integer) 21');
      assert.equal(await run(page, 'GET key:19'), '"value-19"');
      assert.equal(await run(page, 'LRANGE list 0 -1'), '1) "a"\n2) "b"\n3) "c"');
      await page.locator('#events .ev-text', { hasText: 'DB loaded from append only file' }).waitFor();
      assert.match(await page.locator('#load-log').textContent(), /DB loaded from append only file/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}

for (const backend of ['opfs', 'indexeddb']) {
  test(`start over on ${backend}: the files are deleted, for this session and after a reload`, async () => {
    const context = await newContext();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems = watch(page);
      await open(page, `backend=${backend}&namespace=reset&appendfsync=always`);
      assert.equal(await run(page, 'SET a 1'), 'OK');
      page.once('dialog', (d) => d.accept());
      await page.locator('#transfer button[data-action="reset"]').click();
      // Either outcome is waited for, so a failure says why (the status holds the engine's message).
      const status = page.locator('#transfer .transfer-status');
      await status.filter({ hasText: /Started over|Could not start over/ }).waitFor({ timeout: 15_000 });
      assert.match(await status.textContent(), /^Started over/);
      assert.equal(await run(page, 'GET a'), '(nil)');
      assert.equal(await run(page, 'SET b 2'), 'OK');
      await page.reload();
      await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
      assert.equal(await run(page, 'MGET a b'), '1) (nil)\n2) "2"');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}

test('IndexedDB, appendfsync always: no reply before the commit, so every acknowledged write survives a reload', async () => {
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=indexeddb&namespace=idb-always&appendfsync=always');
    assert.match(await page.locator('#backend').textContent(), /IndexedDB/);
    assert.match(await page.locator('#durability').textContent(), /no reply\s+is released before the transaction holding its bytes has committed/);
    for (let i = 0; i < 10; i++) assert.equal(await run(page, `INCR counter`), `(integer) ${i + 1}`);
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'GET counter'), '"10"');
    await page.locator('#events .ev-text', { hasText: 'DB loaded from append only file' }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('IndexedDB: a full disk is -MISCONF in the console, and nothing already stored is lost (reload)', async () => {
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=indexeddb&namespace=idb-quota&appendfsync=everysec');
    assert.equal(await run(page, 'SET kept 1'), 'OK');
    // everysec: the background fsync (here an IndexedDB transaction) runs within about a second.
    await page.locator('#events .ev-fsync').first().waitFor({ timeout: 5_000 });
    // The simulated machine's disk fills up (over IndexedDB as over any backend).
    const full = page.locator('#crash button[data-fault="disk-full"]');
    assert.equal(await full.textContent(), 'Disk full');
    await full.click();
    await page.locator('#events .ev-text', { hasText: 'disk full' }).waitFor();
    await run(page, 'SET refused 2');
    assert.match(await run(page, 'SET more 3'), /^\(error\) MISCONF Errors writing to the AOF file: No space left on device/);
    await page.locator('#status', { hasText: 'MISCONF' }).waitFor();
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'GET kept'), '"1"');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('appendfsync always on OPFS: the worker terminated while it loads, then again; every acknowledged write is there', async () => {
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=opfs&namespace=midload&appendfsync=always');
    // A few MB of AOF, so that loading takes a while; all replies received = acknowledged.
    const n = 3000;
    await page.evaluate((n) => {
      const value = 'x'.repeat(1000);
      for (let i = 0; i < n; i++) window.aofLab.send(`SET k:${i} ${value}`);
    }, n);
    // 3 000 turns, each fsynced: slow on a busy machine.
    await page.locator('#log .entry .reply:not(.waiting)', { hasText: 'OK' }).last().waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => document.querySelectorAll('#log .reply.waiting').length === 0, null, { timeout: 120_000 });
    assert.equal(await run(page, 'DBSIZE'), `(integer) ${n}`);
    // Real crash #1: terminate the worker. Real crash #2: terminate its successor as soon as it
    // starts opening the storage and loading the AOF.
    const killedWhileLoading = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const lab = window.aofLab;
          lab.onloading = () => {
            lab.onloading = null;
            lab.restartWorker('Terminated while loading.');
            resolve(true);
          };
          lab.restartWorker('Terminated.');
        }),
    );
    assert.equal(killedWhileLoading, true);
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'DBSIZE'), `(integer) ${n}`);
    assert.equal((await run(page, `STRLEN k:${n - 1}`)), '(integer) 1000');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('two pages on one namespace: one writer, the other is told it is a read-only view, and takes over with loadable files', async () => {
  const context = await newContext();
  try {
    const writer = context.pages()[0] ?? (await context.newPage());
    const problems = watch(writer);
    await open(writer, 'backend=opfs&namespace=shared&appendfsync=always');
    assert.equal(await run(writer, 'SET shared yes'), 'OK');
    const reader = await context.newPage();
    const readerProblems = watch(reader);
    await open(reader, 'backend=opfs&namespace=shared&appendfsync=always', 'readonly');
    const notice = reader.locator('#notice');
    assert.equal(await notice.isVisible(), true);
    assert.match(await notice.textContent(), /Another tab is the writer of namespace "shared": this one is a read-only view/);
    assert.equal(await reader.locator('#cmd').isDisabled(), true, 'no second writer');
    assert.equal(await reader.locator('#bgrewrite').isDisabled(), true);
    assert.equal(await reader.locator('#crash').evaluate((el) => el.inert), true, 'the crash lab is the writer’s');
    await reader.locator('#backend', { hasText: 'OPFS' }).waitFor();
    // The reader shows the writer's files, sent over a BroadcastChannel.
    await reader.locator('#files li', { hasText: 'appendonly.aof.1.incr.aof' }).waitFor();
    assert.equal(await run(writer, 'SET second 2'), 'OK');
    await reader.screenshot({ path: path.join(SHOTS, 'lab-readonly.png'), fullPage: true });
    // The writer's tab closes: the reader takes the lock, opens the files and loads them.
    await writer.close();
    await reader.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(reader, 'MGET shared second'), '1) "yes"\n2) "2"');
    assert.deepEqual(problems, []);
    assert.deepEqual(readerProblems, []);
  } finally {
    await context.close();
  }
});

// ---- files moved to and from a real redis-server 7.0.15 ----

const WORKLOAD = ['SET s v', 'INCRBYFLOAT f 1.5', 'RPUSH l a b c', 'HSET h f1 v1 f2 v2', 'SADD set x y z', 'ZADD z 1 a 2.5 b', 'SET ttl v EX 100000', 'SELECT 3', 'SET db3 x', 'SELECT 0'];

test('export: the .tar, extracted, loads in a real redis-server with the same DEBUG DIGEST', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  let redis;
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always');
    for (const line of WORKLOAD) await run(page, line);
    assert.equal(await run(page, 'BGREWRITEAOF'), 'Background append only file rewriting started');
    await page.locator('#files li[data-name$=".base.rdb"]', { hasText: 'base' }).waitFor();
    await page.locator('#rewrite-state', { hasText: '1 rewrite done' }).waitFor();
    await run(page, 'SET after rewrite');
    const digest = (await run(page, 'DEBUG DIGEST')).replace(/"/g, '');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-action="export"]').click()]);
    assert.match(download.suggestedFilename(), /^aof-lab-lab-.*\.tar$/);
    const dir = await mkdtemp(path.join(env.tmp, 'export-'));
    const tarPath = path.join(dir, 'export.tar');
    await download.saveAs(tarPath);
    execFileSync('tar', ['-xf', tarPath, '-C', dir]);
    await rm(tarPath);
    assert.deepEqual((await readdir(path.join(dir, 'appendonlydir'))).sort(), ['appendonly.aof.2.base.rdb', 'appendonly.aof.2.incr.aof', 'appendonly.aof.manifest']);
    redis = await startRedis(dir);
    assert.equal(redis.cli('DEBUG', 'DIGEST'), digest);
    assert.equal(redis.cli('GET', 'after'), 'rewrite');
    assert.deepEqual(problems, []);
  } finally {
    redis?.stop();
    await context.close();
  }
});

test('import: files written by a real redis-server load in the page with the same DEBUG DIGEST (files, a folder, a .tar)', async () => {
  const dir = await mkdtemp(path.join(env.tmp, 'redis-'));
  const redis = await startRedis(dir);
  let digest;
  try {
    for (const line of WORKLOAD) redis.cli(...line.split(' '));
    redis.cli('BGREWRITEAOF');
    for (let i = 0; i < 200 && !/aof_rewrite_in_progress:0/.test(redis.cli('INFO', 'persistence')); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200));
    redis.cli('SET', 'after', 'rewrite');
    digest = redis.cli('DEBUG', 'DIGEST');
  } finally {
    redis.stop();
  }
  await new Promise((r) => setTimeout(r, 200));
  const aofDir = path.join(dir, 'appendonlydir');
  const files = (await readdir(aofDir)).map((f) => path.join(aofDir, f));
  const tarPath = path.join(env.tmp, 'redis.tar');
  execFileSync('tar', ['-cf', tarPath, '-C', dir, 'appendonlydir']);

  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory');
    const status = page.locator('#transfer .transfer-status');
    const pickers = page.locator('#transfer input[type="file"]');
    for (const [what, input, payload] of [
      ['files', pickers.nth(0), files],
      ['folder', pickers.nth(1), aofDir],
      ['tar', pickers.nth(0), [tarPath]],
    ]) {
      assert.equal(await run(page, 'FLUSHALL'), 'OK');
      await status.evaluate((el) => {
        el.textContent = '';
      });
      await input.setInputFiles(payload);
      await status.filter({ hasText: /^Imported/ }).waitFor({ timeout: 15_000 });
      assert.match(await status.textContent(), /loaded/, what);
      assert.equal((await run(page, 'DEBUG DIGEST')).replace(/"/g, ''), digest, what);
    }
    assert.match(await eventsText(page), /DB loaded from base file appendonly\.aof\.\d+\.base\.rdb/);
    // An old single appendonly.aof is upgraded at start-up, as Redis 7.0 does.
    const legacy = path.join(env.tmp, 'appendonly.aof');
    await writeFile(legacy, '*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$5\r\nstyle\r\n');
    await status.evaluate((el) => {
      el.textContent = '';
    });
    await pickers.nth(0).setInputFiles([legacy]);
    await status.filter({ hasText: 'appendonly.aof: loaded' }).waitFor({ timeout: 15_000 });
    assert.equal(await run(page, 'GET old'), '"style"');
    assert.match(await eventsText(page), /Successfully migrated an old-style AOF file/);
    // Damaged files: Redis's own message, and the server stays down until the user chooses.
    const bad = await mkdtemp(path.join(env.tmp, 'bad-'));
    await writeFile(path.join(bad, 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
    await writeFile(path.join(bad, 'appendonly.aof.1.incr.aof'), '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\ngarbage\r\n');
    await status.evaluate((el) => {
      el.textContent = '';
    });
    await pickers.nth(0).setInputFiles([path.join(bad, 'appendonly.aof.manifest'), path.join(bad, 'appendonly.aof.1.incr.aof')]);
    await status.filter({ hasText: 'refused to start' }).waitFor({ timeout: 15_000 });
    await page.locator('#crash .down', { hasText: 'Bad file format reading the append only file appendonly.aof.1.incr.aof' }).waitFor();
    assert.match(await page.locator('#status').textContent(), /down/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the start-up log says how long the load took, measured by the worker (an import, then a reload)', async () => {
  // 60 000 commands: a load the worker's clock sees take time (Redis logs it as %.3f seconds).
  const dir = await mkdtemp(path.join(env.tmp, 'timed-'));
  const cmd = (...argv) => `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const incr = [];
  for (let i = 0; i < 60_000; i++) incr.push(cmd('SET', `key:${i}`, `value ${i}`));
  await writeFile(path.join(dir, 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
  await writeFile(path.join(dir, 'appendonly.aof.1.incr.aof'), incr.join(''));
  const seconds = (log, what) => {
    const m = log.match(new RegExp(`${what}: (\\d+\\.\\d{3}) seconds`));
    assert.ok(m, `no "${what}" in:\n${log}`);
    return Number(m[1]);
  };
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = watch(page);
    await open(page, 'backend=opfs&namespace=timed&appendfsync=always');
    const status = page.locator('#transfer .transfer-status');
    await page.locator('#transfer input[type="file"]').nth(0).setInputFiles([path.join(dir, 'appendonly.aof.manifest'), path.join(dir, 'appendonly.aof.1.incr.aof')]);
    await status.filter({ hasText: /^Imported/ }).waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'DBSIZE'), '(integer) 60000');
    const timed = async (when) => {
      const log = await page.locator('#load-log', { hasText: 'DB loaded from incr file' }).textContent({ timeout: 30_000 });
      const file = seconds(log, 'DB loaded from incr file appendonly\\.aof\\.1\\.incr\\.aof');
      const total = seconds(log, 'DB loaded from append only file');
      assert.ok(file > 0, `${when}: 60 000 commands loaded in no time:\n${log}`);
      assert.ok(total >= file, `${when}: the whole load (${total} s) holds the file's (${file} s)`);
      return total;
    };
    await timed('import');
    // A reload is a process kill: the new worker loads the files from OPFS, timed by its clock.
    const started = Date.now();
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    const total = await timed('reload');
    assert.ok(total <= (Date.now() - started) / 1000, `the load (${total} s) took no longer than the reload`);
    assert.equal(await run(page, 'GET key:59999'), '"value 59999"');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

// ---- the embeddable element ----

test('<aof-lab> on a tutorial page: two independent engines, the preload script ran, crash lab inside the element', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.server.url}/www/embed.html`);
    const always = page.locator('#always');
    const no = page.locator('#no');
    // Playwright's locators pierce open shadow roots.
    await always.locator('[data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    await no.locator('[data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(page.workers().length, 2, 'one worker per element');
    await always.locator('.reply', { hasText: '(integer) 1' }).waitFor();
    assert.deepEqual(await always.locator('.entry .cmd').allTextContents(), ['aof-lab> SET greeting hello', 'aof-lab> RPUSH queue a b c', 'aof-lab> INCR visits']);
    assert.match(await always.locator('[data-part="backend"]').textContent(), /memory/);
    // Power loss under always keeps the three keys; the other element is untouched.
    await always.locator('input[value="power"]').check();
    await always.locator('button[data-action="crash"]').click();
    await skipPrediction(always);
    await always.locator('.crash-summary', { hasText: '3 keys before, 3 after the restart' }).waitFor();
    await no.locator('input[value="power"]').check();
    await no.locator('button[data-action="crash"]').click();
    await skipPrediction(no);
    await no.locator('.crash-summary', { hasText: 'appendfsync no: 1 keys before, 0 after the restart' }).waitFor();
    // Typing in an element's console.
    const input = always.locator('input[data-part="cmd"]');
    await input.fill('DBSIZE');
    await input.press('Enter');
    await always.locator('.entry').last().locator('.reply', { hasText: '(integer) 3' }).waitFor();
    assert.equal(await always.locator('.entry .cmd').last().textContent(), 'aof-lab> DBSIZE');
    await page.screenshot({ path: path.join(SHOTS, 'embed.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('<aof-lab> lifecycle: removed while it starts (no worker left), moved (the same engine goes on), run() before the engine is ready (the line runs)', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    // Count the workers the page starts.
    await page.addInitScript(() => {
      const Native = window.Worker;
      window.__workers = [];
      window.Worker = class extends Native {
        constructor(...args) {
          super(...args);
          window.__workers.push({ alive: true });
          const me = window.__workers.at(-1);
          const terminate = this.terminate.bind(this);
          this.terminate = () => {
            me.alive = false;
            terminate();
          };
        }
      };
    });
    await page.goto(`${env.server.url}/www/embed.html`);
    await page.locator('aof-lab').first().locator('[data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    const alive = () => page.evaluate(() => window.__workers.filter((w) => w.alive).length);
    const before = await alive();
    // Removed while its stylesheet loads: it never starts a worker.
    await page.evaluate(() => {
      const lab = document.createElement('aof-lab');
      lab.id = 'gone';
      document.body.append(lab);
      lab.remove();
    });
    await page.waitForTimeout(500);
    assert.equal(await alive(), before, 'no worker for an element removed during its start');
    // Added, removed and added again during the start: one engine.
    await page.evaluate(() => {
      const lab = document.createElement('aof-lab');
      lab.id = 'twice';
      document.body.append(lab);
      lab.remove();
      document.body.append(lab);
    });
    await page.locator('#twice [data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await alive(), before + 1, 'one worker, not two');
    // run() before ready: the line waits and runs.
    await page.evaluate(() => {
      const lab = document.createElement('aof-lab');
      lab.id = 'early';
      lab.run('SET early yes');
      document.body.append(lab);
      lab.run('GET early');
    });
    const early = page.locator('#early');
    await early.locator('[data-part="status"][data-engine="ready"]').waitFor({ timeout: 30_000 });
    await early.locator('.entry', { hasText: 'GET early' }).locator('.reply', { hasText: '"yes"' }).waitFor({ timeout: 10_000 });
    assert.equal(await early.locator('.reply.waiting').count(), 0, 'no entry left waiting');
    // Moved: the same engine and its data go on.
    const workers = await alive();
    await page.evaluate(() => {
      const holder = document.createElement('div');
      document.body.prepend(holder);
      holder.append(document.querySelector('#early'));
    });
    await page.waitForTimeout(300);
    assert.equal(await alive(), workers, 'a move keeps the worker');
    await page.evaluate(() => document.querySelector('#early').run('GET early'));
    await early.locator('.entry').last().locator('.reply', { hasText: '"yes"' }).waitFor({ timeout: 10_000 });
    // Removed for good: its worker ends.
    await page.evaluate(() => document.querySelector('#early').remove());
    await page.waitForTimeout(300);
    assert.equal(await alive(), workers - 1, 'a removed element ends its worker');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
