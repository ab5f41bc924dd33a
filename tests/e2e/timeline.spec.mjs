// End-to-end tests of the lab's timeline (phase 1: the worker and its messages, driven through
// `window.aofLab`, the page's controller; the slider comes with the views' rework). Every view is
// a function of the lab at the position: a point reached by stepping back, forward or seeking has
// the state digest (files byte for byte, their layers, the dataset) the lab had when it lived it.
// Acting in the past forks; on the page as it opens (OPFS) the real files become that point's and
// a reload loads it. A share link opened in a fresh browser profile reproduces the same files.
// Debian's Chromium driven by playwright-core; `make test` builds pkg/ first.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import path from 'node:path';
import { SHOTS, setupLab, skipPrediction, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-timeline-');

async function open(page, query = '') {
  await page.goto(`${env.server.url}/www/${query ? `?${query}` : ''}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
}

/** Types a line in the console, presses Enter and returns its reply as shown. */
async function run(page, line) {
  await page.locator('#cmd').fill(line);
  await page.keyboard.press('Enter');
  const entry = page.locator('#log .entry').last();
  assert.equal(await entry.locator('.cmd').textContent(), `aof-lab> ${line}`);
  const reply = entry.locator('.reply:not(.waiting)');
  await reply.waitFor({ timeout: 15_000 });
  return reply.textContent();
}

/** A TIMELINE action (protocol.js) through the page's controller. */
function act(page, action, args = {}) {
  return page.evaluate(([a, g]) => window.aofLab.act(a, g), [action, args]);
}

/** Waits until the page has drawn a VIEW of `position`. */
async function shown(page, position) {
  await page.waitForFunction((p) => window.aofLab.timeline?.position === p, position, { timeout: 15_000 });
  return page.evaluate(() => ({ timeline: window.aofLab.timeline, snapshot: window.aofLab.snapshot }));
}

/** Runs `line` and returns the state digest and position right after it (the head). */
async function live(page, line, want) {
  assert.equal(await run(page, line), want);
  return act(page, 'digest');
}

/** The tar's entries (name -> bytes as hex), without the header fields that hold times. */
function tarEntries(bytes) {
  const out = {};
  for (let at = 0; at + 512 <= bytes.length; ) {
    const header = bytes.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = Buffer.from(header.subarray(0, 100)).toString().replace(/\0.*$/s, '');
    const size = parseInt(Buffer.from(header.subarray(124, 136)).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    out[name] = Buffer.from(bytes.subarray(at + 512, at + 512 + size)).toString('hex');
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

async function exportTar(page) {
  const { bytes } = await page.evaluate(async () => {
    const v = await window.aofLab.act('export');
    return { bytes: Array.from(v.bytes) };
  });
  return tarEntries(Uint8Array.from(bytes));
}

/**
 * Steps back, forward and seeks on a lab; every point shows the lab as it lived (its digest,
 * its keys in the status line); then acting in the past forks, and the later history is a branch
 * that can be returned to and discarded. Returns the digests of the points, by name.
 */
async function scrubAndFork(page) {
  await act(page, 'pause');
  const a = await live(page, 'SET a 1', 'OK');
  const b = await live(page, 'SET b 2', 'OK');
  const c = await live(page, 'SET c 3', 'OK');
  assert.ok(a.position < b.position && b.position < c.position, JSON.stringify([a, b, c]));

  // One step back from the head: the lab before SET c, as it lived.
  const back = await act(page, 'step-back');
  assert.equal(back, c.position - 1);
  assert.equal((await act(page, 'digest')).digest, b.digest, 'one step back is the lab after SET b');
  let { timeline, snapshot } = await shown(page, back);
  assert.equal(timeline.head, c.position, 'the head stays where it was');
  assert.equal(timeline.playing, false, 'stepping pauses');
  assert.equal(snapshot.keys, 2);
  await page.locator('#status', { hasText: 'Engine ready · 2 keys' }).waitFor();

  // Seek to just after SET a, then forward one input at a time to SET b.
  assert.equal(await act(page, 'seek', { seq: a.position }), a.position);
  assert.equal((await act(page, 'digest')).digest, a.digest, 'a seek gives the lab that lived the point');
  ({ snapshot } = await shown(page, a.position));
  assert.equal(snapshot.keys, 1);
  let position = a.position;
  while (position < b.position) position = await act(page, 'step');
  assert.equal((await act(page, 'digest')).digest, b.digest, 'stepping forward replays the recorded future');
  // The console as it was there.
  const consoleThen = await act(page, 'console', { n: 10 });
  assert.deepEqual(consoleThen.filter((e) => e.kind === 'command').map((e) => [e.text, e.replies]), [['SET a 1', ['OK']], ['SET b 2', ['OK']]]);

  // Acting in the past forks: back to after SET a, a new command.
  await act(page, 'seek', { seq: a.position });
  assert.equal(await run(page, 'SET x 9'), 'OK');
  await page.locator('#log .note', { hasText: 'The later history is kept as branch 1' }).waitFor();
  assert.equal(await run(page, 'MGET a b c x'), '1) "1"\n2) (nil)\n3) (nil)\n4) "9"');
  const forked = await act(page, 'digest');
  assert.equal(forked.position, a.position + 2, 'the new line: the shared prefix, SET x, MGET');
  const branches = await act(page, 'branches');
  assert.deepEqual(branches.map((x) => [x.id, x.current, x.diverges_at, x.head_seq]), [[0, true, a.position + 2, a.position + 2], [1, false, a.position, c.position]]);
  ({ timeline } = await shown(page, forked.position));
  assert.equal(timeline.branch, 0);

  // The old future is there to return to, as it was.
  await act(page, 'branch', { op: 'switch', id: 1 });
  assert.equal(await act(page, 'seek', { seq: c.position }), c.position);
  assert.equal((await act(page, 'digest')).digest, c.digest, 'the old head, as it lived');
  await act(page, 'branch', { op: 'switch', id: 0 });
  assert.equal(await act(page, 'live'), forked.position);
  assert.equal((await act(page, 'digest')).digest, forked.digest);
  const left = await act(page, 'branch', { op: 'discard', id: 1 });
  assert.deepEqual(left.map((x) => x.id), [0]);
  await act(page, 'pause');
  return { a, b, c, forked };
}

test('memory: step back, step forward, seek, fork, return to a branch and discard it; every point is the lab that lived it', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always');
    await scrubAndFork(page);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the page as it opens (OPFS): the past is a view, acting in it rewrites the real files, and a reload loads the new present', async () => {
  const context = await env.newContext();
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page);
    assert.match(await page.locator('#backend').textContent(), /OPFS/);
    const { forked } = await scrubAndFork(page);
    await page.locator('#log .note', { hasText: 'The files in OPFS are now this point' }).waitFor();

    // Viewing the past and reloading: the real files are the present's (the forked line's head).
    await act(page, 'seek', { seq: 1 });
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'MGET a b c x'), '1) "1"\n2) (nil)\n3) (nil)\n4) "9"');

    // Acting in the past of this new session: its start (the files the reload found).
    await act(page, 'pause');
    assert.equal(await run(page, 'SET later 1'), 'OK');
    await act(page, 'seek', { seq: 0 });
    assert.equal(await run(page, 'DEL a'), '(integer) 1');
    await page.locator('#log .note', { hasText: 'kept as branch 1' }).waitFor();
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    assert.equal(await run(page, 'MGET a later x'), '1) (nil)\n2) (nil)\n3) "9"', 'the reload loads the forked present');
    assert.ok(forked.digest);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('play, pause and speed run simulated time: serverCron ticks 100 ms apart, none while paused, faster at 100x', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await open(page, 'backend=memory');
    await act(page, 'pause');
    const paused = await act(page, 'digest');
    await page.waitForTimeout(600);
    assert.equal((await act(page, 'digest')).head, paused.head, 'no tick while paused');
    assert.equal(await act(page, 'playback-speed', { speed: 1000 }), 100, 'clamped to 100x');
    await act(page, 'play');
    await page.waitForTimeout(1000);
    await act(page, 'pause');
    const fast = await act(page, 'digest');
    // At 100x a wall second is 100 simulated seconds: about 1 000 ticks (a loaded machine
    // runs fewer clock steps, each at most 0.5 s of wall time).
    assert.ok(fast.head - paused.head > 100, `ticks at 100x: ${fast.head - paused.head}`);
    const { timeline } = await shown(page, fast.position);
    assert.deepEqual([timeline.head, timeline.playing, timeline.speed], [fast.head, false, 100]);
    assert.equal(await act(page, 'playback-speed', { speed: 0.01 }), 0.1, 'clamped to 0.1x');
    // A key with a TTL expires in simulated time.
    assert.equal(await run(page, 'SET k v PX 2000'), 'OK');
    await act(page, 'playback-speed', { speed: 100 });
    await act(page, 'play');
    await page.waitForFunction(() => window.aofLab.snapshot?.keys === 0, null, { timeout: 10_000 });
  } finally {
    await context.close();
  }
});

test('a share link opened in a fresh browser profile reproduces the same files, byte for byte; a changed one says it does not', async () => {
  const sender = await env.newContext();
  const receiver = await env.newContext();
  const other = await env.newContext();
  try {
    // The sender's lab starts on files of an earlier session (OPFS, then a reload).
    const page = await sender.newPage();
    const problems = watch(page);
    await open(page);
    assert.equal(await run(page, 'RPUSH earlier a b c'), '(integer) 3');
    await page.reload();
    await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    await act(page, 'pause');
    for (const line of ['SET a 1', 'SADD s x y z w', 'SPOP s', 'CONFIG SET appendfsync no', 'SET b 2']) await run(page, line);
    await page.locator('#crash input[value="power"]').check();
    await page.locator('#crash button[data-action="crash"]').click();
    await skipPrediction(page.locator('#crash'));
    await page.locator('#crash .crash-summary').waitFor();
    await act(page, 'pause');
    assert.equal(await run(page, 'INCR n'), '(integer) 1');
    // The position shared: a point in the past.
    const at = (await act(page, 'digest')).position - 2;
    await act(page, 'seek', { seq: at });
    const sent = await page.evaluate(() => window.aofLab.share());
    assert.equal(sent.position, at);
    assert.equal(sent.tooLong, false, `${sent.length} characters`);
    const sentTar = await exportTar(page);
    assert.ok(Object.keys(sentTar).length >= 2, JSON.stringify(Object.keys(sentTar)));
    assert.deepEqual(problems, []);

    // A fresh profile: nothing stored, the link replays the recording in memory.
    const there = await receiver.newPage();
    const seen = watch(there);
    await there.goto(sent.url);
    await there.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    await there.locator('#notice', { hasText: 'The state digest matches the sender’s' }).waitFor();
    assert.match(await there.locator('#backend').textContent(), /memory/);
    const got = await act(there, 'digest');
    assert.equal(got.position, at, 'the position shared');
    assert.equal(got.digest, sent.digest, 'the same state: files byte for byte, layers, data');
    assert.deepEqual(await exportTar(there), sentTar, 'the exported files, byte for byte');
    // Both go on from the head: the same replies.
    await act(there, 'live');
    await act(page, 'live');
    const line = 'LRANGE earlier 0 -1';
    assert.equal(await run(there, line), await run(page, line));
    assert.equal(await run(there, 'MGET a b n'), await run(page, 'MGET a b n'));
    assert.deepEqual(seen, []);

    // The same link with one command changed (same length): the replay says it differs.
    const changed = await page.evaluate(async (url) => {
      const { readShareLink, shareLink } = await import('/www/share.js');
      const { bytes, position } = await readShareLink(new URL(url).hash);
      const text = new TextDecoder('latin1').decode(bytes);
      const at = text.indexOf('SET a 1');
      bytes[at + 6] = '7'.charCodeAt(0);
      return (await shareLink(url, bytes, position)).url;
    }, sent.url);
    const elsewhere = await other.newPage();
    await elsewhere.goto(changed);
    await elsewhere.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    await elsewhere.locator('#notice', { hasText: 'does NOT match' }).waitFor();

    // A recording too long for a link is offered as a file.
    await act(page, 'live');
    assert.equal(await run(page, `SET big ${randomBytes(8000).toString('hex')}`), 'OK');
    const long = await page.evaluate(async () => {
      const v = await window.aofLab.share();
      return { ...v, bytes: Array.from(v.bytes) };
    });
    assert.equal(long.tooLong, true, `${long.length} characters`);
    // The file opens like a link (open-recording), in the receiver's memory.
    const opened = await there.evaluate((bytes) => window.aofLab.act('open-recording', { bytes: Uint8Array.from(bytes) }), long.bytes);
    assert.equal(opened.replay.digest_matches, true);
    assert.equal(opened.digest, long.digest, 'the same state as the sender’s head');
    await there.locator('#notice', { hasText: `${opened.replay.inputs} inputs replayed` }).waitFor();
  } finally {
    await Promise.all([sender.close(), receiver.close(), other.close()]);
  }
});

for (const [name, options] of [
  ['desktop', { viewport: { width: 1280, height: 900 } }],
  ['narrow-360', { viewport: { width: 360, height: 780 }, isMobile: true }],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark', reducedMotion: 'reduce' }],
]) {
  test(`screenshots, ${name}: the fork said in the console, a shared link's notice; nothing overflows`, async () => {
    const context = await env.browser.newContext(options);
    try {
      const page = await context.newPage();
      const problems = watch(page);
      await open(page, 'backend=memory');
      await act(page, 'pause');
      await run(page, 'SET a 1');
      await run(page, 'SET b 2');
      await act(page, 'step-back');
      await run(page, 'SET c 3');
      await page.locator('#log .note', { hasText: 'kept as branch 1' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, `timeline-fork-${name}.png`), fullPage: true });
      const sent = await page.evaluate(() => window.aofLab.share());
      const there = await context.newPage();
      await there.goto(sent.url);
      await there.locator('#notice', { hasText: 'The state digest matches' }).waitFor({ timeout: 30_000 });
      await there.screenshot({ path: path.join(SHOTS, `timeline-shared-${name}.png`), fullPage: true });
      await there.screenshot({ path: path.join(SHOTS, `timeline-shared-${name}-top.png`) });
      await page.locator('#log .note').last().scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, `timeline-fork-${name}-console.png`) });
      for (const p of [page, there]) {
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.equal(overflow, 0, 'no horizontal overflow');
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
