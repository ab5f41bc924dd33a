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
import { SHOTS, run, setupLab, skipPrediction, watch } from './harness.mjs';

const env = setupLab('aof-lab-e2e-timeline-');

async function open(page, query = '') {
  await page.goto(`${env.server.url}/www/${query ? `?${query}` : ''}`);
  await page.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
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

// ---- phase 2: the page's own controls, every view at the position ----

/**
 * What the page shows, view by view: the console's transcript, the AOF buffer, the files with
 * their sizes, INFO persistence (and its aof_current_size), the write-path diagram's figures,
 * the crash report, the last events, and the plots' playhead.
 */
async function views(page) {
  return page.evaluate(() => {
    const text = (sel) => document.querySelector(sel)?.textContent ?? '';
    const info = text('#info');
    return {
      position: window.aofLab.timeline.position,
      console: [...document.querySelectorAll('#log .entry')].map((e) => e.textContent),
      aof: [text('#aof-size'), [...document.querySelectorAll('#aof .aof-group')].map((g) => g.textContent)],
      files: [...document.querySelectorAll('#files > li')].map((li) => li.textContent),
      info,
      aofCurrentSize: /aof_current_size:(\d+)/.exec(info)?.[1] ?? null,
      // What the diagram shows (its rows for files the lab has not are hidden, not drawn).
      machine: (() => {
        const svg = document.querySelector('#machine .machine-svg')?.cloneNode(true);
        svg?.querySelectorAll('.empty').forEach((e) => e.remove());
        return (svg?.textContent ?? '') + text('#machine table');
      })(),
      crash: text('#crash .crash-result'),
      events: [...document.querySelectorAll('#events .ev-text')].slice(-5).map((e) => e.textContent),
      playhead: document.querySelector('#plots')?.dataset.playhead,
      t: (window.aofLab.timeline.now - window.aofLab.timeline.t0) / 1000,
    };
  });
}

/** Waits until the page drew position `p` and returns its views. */
async function viewsAt(page, p) {
  await page.waitForFunction((q) => window.aofLab.timeline?.position === q, p, { timeout: 15_000 });
  // One more frame: every view of that VIEW is drawn.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  return views(page);
}

/** Types a line in the console (the real input) and returns the views once its VIEW is drawn. */
async function type(page, line, reply) {
  assert.equal(await run(page, line), reply);
  const { position } = await act(page, 'digest');
  await page.waitForFunction((p) => window.aofLab.timeline?.position === p && document.querySelectorAll('#log .entry').length > 0, position);
  await page.waitForFunction((l) => [...document.querySelectorAll('#log .entry[data-seq] .cmd')].some((c) => c.textContent.endsWith(l)), line);
  return { ...(await viewsAt(page, position)), digest: (await act(page, 'digest')).digest };
}

/** The views that depend on the lab only must be those it showed when it lived the point. */
function sameViews(got, want, where) {
  for (const k of ['console', 'aof', 'files', 'info', 'aofCurrentSize', 'machine', 'crash']) assert.deepEqual(got[k], want[k], `${where}: ${k}`);
  assert.equal(got.playhead, want.t.toFixed(3), `${where}: the plots' playhead is at the position's time`);
}

test('the timeline bar: step back, scrub and fork with the page controls; every view is the lab at that point; a branch returned to and discarded', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory&appendfsync=always');
    const bar = page.locator('#timeline');
    // Pause with the bar's button (the lab opens playing).
    await page.waitForFunction(() => window.aofLab.timeline?.playing === true);
    await bar.locator('.tl-play').click();
    await page.waitForFunction(() => window.aofLab.timeline?.playing === false);
    assert.equal(await bar.locator('.tl-play').textContent(), 'Play');

    const a = await type(page, 'SET a 1', 'OK');
    const b = await type(page, 'RPUSH list x y z', '(integer) 3');
    await page.locator('#crash input[value="power"]').check();
    await page.locator('#crash button[data-action="crash"]').click();
    await skipPrediction(page.locator('#crash'));
    await page.locator('#crash .crash-summary').waitFor();
    const crashed = (await act(page, 'digest')).position;
    const afterCrash = await viewsAt(page, crashed);
    assert.match(afterCrash.crash, /^a power loss under appendfsync always/);
    const c = await type(page, 'BGREWRITEAOF', 'Background append only file rewriting started');
    const d = await type(page, 'INCR n', '(integer) 1');
    assert.ok(a.position < b.position && b.position < crashed && crashed < c.position && c.position < d.position);
    assert.notDeepEqual(c.files, b.files, 'the rewrite changed the files');
    assert.notEqual(d.aofCurrentSize, a.aofCurrentSize);
    const head = d.position;
    assert.equal(await bar.locator('.tl-range').getAttribute('max'), String(head));
    assert.equal(await bar.getAttribute('data-past'), 'false');

    // Step back with the button until the point after BGREWRITEAOF (ticks of the rewrite
    // may lie between): every view is what it was then.
    while ((await act(page, 'digest')).position > c.position) await bar.locator('.tl-back').click().then(() => page.waitForTimeout(50));
    let got = await viewsAt(page, c.position);
    sameViews(got, c, 'stepped back to BGREWRITEAOF');
    assert.equal(await bar.getAttribute('data-past'), 'true');
    assert.match(await bar.locator('.tl-note').textContent(), /You are in the past\. Acting now .* forks: the later \d+ inputs? (is|are) kept as branch 1\./);
    assert.match(await bar.locator('.tl-range').getAttribute('aria-valuetext'), new RegExp(`^\\d+\\.\\d s, input ${c.position} of ${head}, BGREWRITEAOF, after power loss$`));
    assert.equal(await page.locator('#plots').getAttribute('data-past'), 'true');
    assert.match(await page.locator('.plot-now[data-plot="sizes"]').textContent(), /^At \d+\.\d s \(the playhead/);
    assert.match(await page.locator('.prompt-past').textContent(), /^In the past \(input \d+ of \d+\): a command here forks/);

    // Scrub: the range dragged to the point after RPUSH (a real input event on the slider).
    await bar.locator('.tl-range').fill(String(b.position));
    got = await viewsAt(page, b.position);
    sameViews(got, b, 'scrubbed to RPUSH');
    assert.equal(got.crash, '', 'no crash report before the crash');
    // And to just after the crash: its report as it was.
    await bar.locator('.tl-range').fill(String(crashed));
    got = await viewsAt(page, crashed);
    sameViews(got, afterCrash, 'scrubbed to the crash');

    // Fork: a command typed at the point after SET a.
    await bar.locator('.tl-range').fill(String(a.position));
    sameViews(await viewsAt(page, a.position), a, 'scrubbed to SET a');
    const x = await type(page, 'SET x 9', 'OK');
    assert.equal(x.position, a.position + 1);
    await page.locator('#log .note', { hasText: 'The later history is kept as branch 1' }).waitFor();
    assert.equal(await bar.getAttribute('data-past'), 'false', 'the fork is the present');
    const branch = bar.locator('.tl-branch[data-branch="1"]');
    await branch.waitFor();
    assert.match(await branch.textContent(), new RegExp(`Branch 1: ${head - a.position} inputs after input ${a.position}`));

    // Return to branch 1: its head, every view as it was.
    await branch.locator('.tl-branch-return').click();
    got = await viewsAt(page, head);
    sameViews(got, d, 'returned to branch 1');
    assert.equal(await page.evaluate(() => window.aofLab.timeline.branch), 1);
    assert.equal((await act(page, 'digest')).digest, d.digest, 'the old head, as it lived');
    // Back to branch 0, then discard branch 1.
    await bar.locator('.tl-branch[data-branch="0"] .tl-branch-return').click();
    got = await viewsAt(page, x.position);
    sameViews(got, x, 'back on branch 0');
    await bar.locator('.tl-branch[data-branch="1"] .tl-branch-discard').click();
    await page.waitForFunction(() => !document.querySelector('#timeline .tl-branch'));
    assert.deepEqual((await act(page, 'branches')).map((br) => br.id), [0]);
    await page.screenshot({ path: path.join(SHOTS, 'timeline-bar-desktop.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

/** Presses Tab until `selector` has the focus (keyboard only); fails after `max` presses. */
async function tabTo(page, selector, max = 80, key = 'Tab') {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    await page.keyboard.press(key);
  }
  throw new Error(`${selector} never got the focus`);
}

test('keyboard only: the slider steps, pages, goes to the start and back to live, Space plays and pauses; , . and L from the console log; the live region speaks on steps', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory');
    // The console has the focus as the lab opens: type there.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'cmd');
    const positions = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.type(`SET k${i} ${i}`);
      await page.keyboard.press('Enter');
      await page.locator('#log .entry .reply', { hasText: 'OK' }).nth(i).waitFor();
    }
    // Space in the console types a space: it is a text field (no play / pause there).
    await page.keyboard.type(' ');
    assert.equal(await page.locator('#cmd').inputValue(), ' ');
    await page.keyboard.press('Backspace');

    // Shift+Tab back to the slider.
    await tabTo(page, '#timeline .tl-range', 80, 'Shift+Tab');
    const range = page.locator('#timeline .tl-range');
    // Space pauses (it was playing), Space plays, Space pauses.
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.aofLab.timeline?.playing === false);
    const head = await page.evaluate(() => window.aofLab.timeline.head);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((h) => window.aofLab.timeline?.position === h - 1, head);
    positions.push(head - 1);
    // The live region says where the page is, once the step is drawn.
    const live = page.locator('#timeline [aria-live="polite"]');
    await page.waitForFunction(() => /input \d+ of \d+/.test(document.querySelector('#timeline [aria-live="polite"]').textContent));
    assert.equal(await live.textContent(), await range.getAttribute('aria-valuetext'));
    await page.keyboard.press('PageDown');
    await page.waitForFunction((h) => window.aofLab.timeline?.position === h - 11, head);
    await page.keyboard.press('PageUp');
    await page.waitForFunction((h) => window.aofLab.timeline?.position === h - 1, head);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((h) => window.aofLab.timeline?.position === h, head);
    await page.keyboard.press('Home');
    await page.waitForFunction(() => window.aofLab.timeline?.position === 0);
    assert.match(await range.getAttribute('aria-valuetext'), /^0\.0 s, input 0 of \d+, the start$/);
    // The console draws a frame after the position changes (one frame more: it is drawn).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.equal(await page.locator('#log .entry[data-seq]').count(), 0, 'the console at the start: nothing typed yet');
    await page.keyboard.press('End');
    await page.waitForFunction((h) => window.aofLab.timeline?.position >= h && window.aofLab.timeline?.playing === true, head);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.aofLab.timeline?.playing === false);

    // From the console's log (not a text field): , steps back, . forward, L goes live.
    await tabTo(page, '#log');
    const at = await page.evaluate(() => window.aofLab.timeline.position);
    await page.keyboard.press(',');
    await page.waitForFunction((p) => window.aofLab.timeline?.position === p - 1, at);
    await page.keyboard.press(',');
    await page.waitForFunction((p) => window.aofLab.timeline?.position === p - 2, at);
    await page.keyboard.press('.');
    await page.waitForFunction((p) => window.aofLab.timeline?.position === p - 1, at);
    // ] and [ change the speed.
    await page.keyboard.press(']');
    await page.waitForFunction(() => window.aofLab.timeline?.speed === 2);
    await page.keyboard.press('[');
    await page.waitForFunction(() => window.aofLab.timeline?.speed === 1);
    await page.keyboard.press('l');
    await page.waitForFunction(() => window.aofLab.timeline?.position === window.aofLab.timeline?.head);
    // Typing a comma in the console is a comma.
    await tabTo(page, '#cmd');
    await page.keyboard.type('ECHO a,b.');
    assert.equal(await page.locator('#cmd').inputValue(), 'ECHO a,b.');
    assert.ok(positions.length);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the share button: a link copied (or a file past 8 KB), opened in a fresh profile with the same files; the receiver is told what it opened', async () => {
  const sender = await env.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const receiver = await env.newContext();
  try {
    const page = await sender.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory');
    await page.locator('#timeline .tl-play').click();
    for (const line of ['SET a 1', 'RPUSH l x y', 'BGREWRITEAOF', 'INCR n']) await run(page, line);
    // Shared from a point in the past.
    await page.locator('#timeline .tl-back').click();
    await page.waitForFunction(() => window.aofLab.timeline.position < window.aofLab.timeline.head);
    const position = await page.evaluate(() => window.aofLab.timeline.position);
    const sent = await act(page, 'digest');
    const sentTar = await exportTar(page);
    await page.locator('#timeline .tl-share-button').click();
    const field = page.locator('#timeline .tl-link');
    await field.waitFor();
    const url = await field.inputValue();
    assert.match(url, new RegExp(`#rec=[A-Za-z0-9_-]+&pos=${position}$`));
    await page.locator('#timeline .tl-share-text[data-copied="true"]').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url, 'copied');
    await page.screenshot({ path: path.join(SHOTS, 'timeline-share-desktop.png') });

    const there = await receiver.newPage();
    const seen = watch(there);
    await there.goto(url);
    await there.locator('#status[data-engine="ready"]').waitFor({ timeout: 30_000 });
    await there.locator('#notice', { hasText: 'The state digest matches the sender’s' }).waitFor();
    const got = await act(there, 'digest');
    assert.deepEqual([got.position, got.digest], [position, sent.digest]);
    assert.deepEqual(await exportTar(there), sentTar, 'the same files, byte for byte');
    // The receiver's views are the sender's point: the bar says it is in the past.
    await there.waitForFunction((p) => window.aofLab.timeline?.position === p, position);
    assert.equal(await there.locator('#timeline').getAttribute('data-past'), 'true');
    assert.equal(await there.locator('#plots').getAttribute('data-past'), 'true', 'the plots have the future of the recording and a playhead');

    // Past 8 KB: the file is offered.
    await page.locator('#timeline .tl-live').click();
    await run(page, `SET big ${randomBytes(8000).toString('hex')}`);
    await page.locator('#timeline .tl-share-button').click();
    const save = page.locator('#timeline .tl-save');
    await save.waitFor();
    assert.match(await page.locator('#timeline .tl-share-text').textContent(), /too long to share: save the recording as a file/);
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
    assert.match(download.suggestedFilename(), /\.aoflab$/);
    // The receiver opens the file with the bar's file input.
    const file = path.join(env.tmp, 'shared.aoflab');
    await download.saveAs(file);
    await there.locator('#timeline .tl-share-button').click();
    await there.locator('#timeline .tl-open input[type="file"]').setInputFiles(file);
    await there.locator('#notice', { hasText: 'The state digest matches' }).waitFor();
    await there.waitForFunction(() => window.aofLab.snapshot?.keys === 4);
    assert.deepEqual(problems, []);
    assert.deepEqual(seen, []);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test('reduced motion (the system\'s, and the page toggle): Play in the past moves one input per beat, the views change in place', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' });
  try {
    const page = await context.newPage();
    const problems = watch(page);
    await open(page, 'backend=memory');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.motion), 'reduce');
    assert.equal(await page.locator('#timeline .tl-motion input').isChecked(), true);
    await page.waitForFunction(() => window.aofLab.timeline?.reduced === true);
    // Pause with the bar's button (the lab opens playing): once it plays, so the click pauses.
    await page.waitForFunction(() => window.aofLab.timeline?.playing === true);
    await page.locator('#timeline .tl-play').click();
    await page.waitForFunction(() => window.aofLab.timeline?.playing === false);
    for (let i = 0; i < 6; i++) await run(page, `SET k${i} ${i}`);
    // The head as the worker has it (a reply comes before the VIEW that moves the page's head).
    const { position: head } = await act(page, 'digest');
    await page.waitForFunction((h) => window.aofLab.timeline?.head === h, head);
    // Back six inputs (the slider's own seeks are the bar test's): the worker answers with the
    // position it reached, or rejects with why.
    assert.equal(await page.evaluate((p) => window.aofLab.act('seek', { seq: p }), head - 6), head - 6);
    await page.waitForFunction((p) => window.aofLab.timeline?.position === p, head - 6);
    // Play: the six inputs typed at one instant come one per beat (700 ms), not at once.
    const started = Date.now();
    await page.locator('#timeline .tl-play').click();
    const seen = new Set();
    while (Date.now() - started < 6000) {
      const p = await page.evaluate(() => window.aofLab.timeline.position);
      seen.add(p);
      if (p >= head) break;
      await page.waitForTimeout(100);
    }
    const elapsed = Date.now() - started;
    assert.ok(seen.size >= 5, `each input shown on its own: ${[...seen]}`);
    assert.ok(elapsed >= 6 * 600, `one input per beat: ${elapsed} ms for 6 inputs`);
    // The toggle turns motion back on (remembered), and the worker plays by time again.
    await page.locator('#timeline .tl-motion input').uncheck();
    await page.waitForFunction(() => window.aofLab.timeline?.reduced === false && document.documentElement.dataset.motion === 'full');
    assert.equal(await page.evaluate(() => localStorage.getItem('aof-lab:motion')), 'full');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

for (const [name, options] of [
  ['desktop', { viewport: { width: 1280, height: 900 } }],
  ['narrow-360', { viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }],
  ['dark', { viewport: { width: 1280, height: 900 }, colorScheme: 'dark' }],
  ['reduced', { viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' }],
]) {
  test(`screenshots of the bar, ${name}: live, in the past (console, plots' playhead, the fork to come), a branch; touch targets, no overflow, no jump`, async () => {
    const context = await env.browser.newContext(options);
    try {
      const page = await context.newPage();
      const problems = watch(page);
      await open(page, 'backend=memory');
      await page.evaluate(() => window.aofLab.act('traffic', { spec: { rate: 200, write_percent: 80, keys: 50, value_size: 32 } }));
      await page.waitForTimeout(2500);
      await page.evaluate(() => window.aofLab.act('traffic', { spec: null }));
      await page.locator('#timeline .tl-play').click();
      await run(page, 'SET a 1');
      await run(page, 'SET b 2');
      const bar = page.locator('#timeline');
      const liveBox = await bar.boundingBox();
      await page.screenshot({ path: path.join(SHOTS, `timeline-bar-${name}-live.png`) });
      const head = await page.evaluate(() => window.aofLab.timeline.head);
      await bar.locator('.tl-range').fill(String(Math.floor(head / 2)));
      await page.waitForFunction((p) => window.aofLab.timeline?.position === p, Math.floor(head / 2));
      await page.waitForTimeout(300);
      const pastBox = await bar.boundingBox();
      assert.ok(Math.abs(pastBox.height - liveBox.height) <= 2, `the bar keeps its height: ${liveBox.height} live, ${pastBox.height} in the past`);
      await page.screenshot({ path: path.join(SHOTS, `timeline-bar-${name}-past.png`) });
      await page.locator('#plots').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, `timeline-plots-${name}-past.png`) });
      // Every control of the bar is a touch target of 44 px at least.
      const small = await page.evaluate(() =>
        [...document.querySelectorAll('#timeline button, #timeline select, #timeline .tl-range, #timeline .tl-motion')]
          .map((e) => [e.className, e.getBoundingClientRect()])
          .filter(([, r]) => r.width > 0 && (r.height < 44 || r.width < 44))
          .map(([c, r]) => `${c} ${r.width}x${r.height}`),
      );
      assert.deepEqual(small, []);
      await run(page, 'SET c 3');
      await bar.locator('.tl-branch[data-branch="1"]').waitFor();
      await page.screenshot({ path: path.join(SHOTS, `timeline-bar-${name}-branch.png`), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal overflow');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
