// The write path, drawn live: a write travels from the client to aof_buf (process memory), the
// kernel's page cache and the disk, one event-loop turn at a time, and the diagram shades what
// a crash would lose at this instant.
//
// A pure view of the worker's snapshot (`snapshot.machine`, computed by src/lab/machine_view.rs):
// the engine computes every figure (bytes per layer, the turn's steps, the fsync and its
// latency, the postponed write, "lost if it crashed now" per crash kind); this file only draws.
// The SVG is laid out once (again only when the panel's width changes a lot); updates change
// texts, widths and classes, never the layout, so nothing jumps while writes stream. A turn
// plays as a packet moving down the stages, with short transitions, none at all under
// prefers-reduced-motion (where the stages a turn touched are outlined instead).
//
// Controls: appendfsync (typed as `CONFIG SET appendfsync …` in the console, as a learner
// would), the slow-fsync latency (the `fsync-latency` action, lab-fsync-latency-ms), and which
// crash kind to shade. A write's "bytes" button opens its record in the log view (LOG_OPEN).

import { LOG_OPEN } from '../protocol.js';
import { el, setText } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const fmt = (n) => `${Number(n).toLocaleString('en')} B`;
const POLICIES = ['always', 'everysec', 'no'];
export const LATENCIES = Object.freeze([0, 100, 250, 500, 1000, 1500, 2000, 2500, 3000]);
// The crash lab's kinds (protocol.js CRASH_KINDS), as the diagram shades them.
const KINDS = [
  ['kill', 'process kill'],
  ['power', 'power loss'],
  ['torn', 'torn op'],
  ['torn-seq', 'torn sequence'],
];
const PLACE = { aof_buf: 'aof_buf', page_cache: 'page cache', torn_tail: 'torn tail', disk: 'on disk', base: 'in the base', rewritten: 'rewritten', dropped: 'lost' };
const RELEASED = {
  fsync: 'reply released after fsync',
  write: 'reply released after write()',
  aof_buf: 'reply released, bytes still in aof_buf',
  none: 'no reply: the server exited',
  '': '',
};
const SLOTS = 3; // file rows in the page cache and on disk
const STEP_MS = 180; // one stage of the packet's travel

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const tail = (name) => (name ?? '').split('/').pop();
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** An SVG text cut to `n` characters, the whole sentence in its <title> when cut (a tooltip,
 *  and what a screen reader reads). */
function setClipped(node, s, n) {
  const short = clip(s, n);
  if (node.dataset.full === s && node.dataset.short === short) return;
  node.dataset.full = s;
  node.dataset.short = short;
  node.textContent = short;
  if (short !== s) node.append(svg('title', {}, s));
}
const ms = (n) => (n >= 1000 ? `${(n / 1000).toFixed(n % 1000 ? 1 : 0)} s` : `${n} ms`);

export class MachineView {
  /**
   * @param {HTMLElement} root where the diagram is built
   * @param {object} hooks {policy(name): types CONFIG SET appendfsync in the console,
   *   latency(ms): sets the slow-fsync latency, logView: whether a log view shows a write's
   *   bytes (without one, no "bytes" buttons)}
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.kind = 'power';
    this.hidden = false;
    this.lastTurn = null;
    this.snapshot = null;
    this.timers = [];
    const uid = Math.random().toString(36).slice(2);

    const controls = el('div', 'machine-controls');
    const policy = el('label', 'machine-control');
    policy.htmlFor = `policy-${uid}`;
    policy.append(el('span', null, 'appendfsync'));
    this.policy = document.createElement('select');
    this.policy.id = `policy-${uid}`;
    this.policy.dataset.part = 'policy';
    for (const p of POLICIES) this.policy.append(Object.assign(el('option', null, p), { value: p }));
    this.policy.addEventListener('change', () => hooks.policy(this.policy.value));
    policy.append(this.policy);

    const slow = el('label', 'machine-control');
    slow.htmlFor = `latency-${uid}`;
    slow.append(el('span', null, 'fsync takes'));
    this.latency = document.createElement('input');
    this.latency.type = 'range';
    this.latency.id = `latency-${uid}`;
    this.latency.dataset.part = 'latency';
    this.latency.min = '0';
    this.latency.max = String(LATENCIES.length - 1);
    this.latency.step = '1';
    this.latency.value = '0';
    this.latencyOut = el('output', 'latency-out', '0 ms');
    this.latency.addEventListener('input', () => this.showLatency(LATENCIES[Number(this.latency.value)]));
    this.latency.addEventListener('change', () => hooks.latency(LATENCIES[Number(this.latency.value)]));
    slow.append(this.latency, this.latencyOut);

    const kinds = el('div', 'machine-kinds');
    kinds.setAttribute('role', 'radiogroup');
    kinds.setAttribute('aria-labelledby', `shade-${uid}`);
    kinds.append(Object.assign(el('span', 'meta', 'Shade the loss of a'), { id: `shade-${uid}` }));
    this.kindInputs = KINDS.map(([k, label]) => {
      const l = el('label', 'machine-kind');
      const input = Object.assign(document.createElement('input'), { type: 'radio', name: `shade-${uid}`, value: k, checked: k === this.kind });
      input.addEventListener('change', () => {
        this.kind = k;
        if (this.snapshot) this.render(this.snapshot);
      });
      l.append(input, el('span', null, label));
      kinds.append(l);
      return input;
    });
    controls.append(policy, slow, kinds);

    this.figure = el('figure', 'machine-figure');
    this.caption = el('figcaption', 'sr-only');
    const legend = el('p', 'machine-legend');
    legend.setAttribute('aria-hidden', 'true');
    for (const [cls, text] of [
      ['key-memory', 'aof_buf'],
      ['key-clean', 'page cache, also on disk'],
      ['key-cache', 'page cache, not on disk'],
      ['key-disk', 'on disk'],
      ['key-lost', 'lost by that crash'],
      ['key-torn', 'reached the disk, torn'],
    ]) legend.append(el('span', `key ${cls}`, text), ' ');
    this.figure.append(legend, this.caption);
    this.slowLog = el('p', 'machine-slowlog');
    this.slowLog.setAttribute('aria-live', 'polite');
    const lost = el('div', 'machine-lost');
    lost.append(el('h3', 'sub', 'Lost if it crashed now'));
    this.lostTable = el('table', 'lost-table');
    const head = el('tr');
    for (const h of ['crash', 'bytes', 'acknowledged writes']) head.append(el('th', null, h));
    this.lostTable.append(el('thead'), el('tbody'));
    this.lostTable.tHead.append(head);
    this.lostRows = {};
    for (const [k, label] of KINDS) {
      const tr = el('tr');
      tr.dataset.kind = k;
      const cells = [el('th', null, label), el('td', 'num'), el('td')];
      cells[0].scope = 'row';
      tr.append(...cells);
      this.lostTable.tBodies[0].append(tr);
      this.lostRows[k] = cells;
    }
    this.lostList = el('ol', 'lost-writes');
    this.lostNote = el('p', 'meta lost-note');
    this.hiddenNote = el('p', 'lost-hidden', 'Hidden while you predict: it would give the answer away.');
    lost.append(this.lostTable, this.hiddenNote, this.lostNote, this.lostList);
    this.lost = lost;
    const recent = el('div', 'machine-recent');
    recent.append(el('h3', 'sub', 'Your last writes, and where their bytes are'));
    this.recentList = el('ol', 'recent-writes');
    recent.append(this.recentList);
    root.append(controls, this.figure, this.slowLog, lost, recent);

    this.reduced = window.matchMedia('(prefers-reduced-motion: reduce)');
    const motion = () => root.classList.toggle('reduced-motion', this.reduced.matches);
    this.reduced.addEventListener('change', motion);
    motion();
    this.layout(this.width());
    new ResizeObserver(() => {
      const w = this.width();
      if (Math.abs(w - this.W) > 40) {
        this.layout(w);
        if (this.snapshot) this.render(this.snapshot);
      }
    }).observe(root);
  }

  width() {
    return Math.max(300, Math.min(720, Math.round(this.root.clientWidth || 480)));
  }

  showLatency(v) {
    setText(this.latencyOut, v === 0 ? '0 ms' : ms(v));
  }

  /** Builds the SVG for width W: fixed slots, so that updates never move anything. */
  layout(W) {
    this.W = W;
    this.svg?.remove();
    const s = svg('svg', { viewBox: `0 0 ${W} 424`, class: 'machine-svg' });
    s.setAttribute('aria-hidden', 'true'); // the figcaption and the tables say it in words
    s.style.maxWidth = `${W}px`;
    const defs = svg('defs');
    const hatch = svg('pattern', { id: `hatch-${W}`, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
    hatch.append(svg('rect', { width: 6, height: 6, class: 'hatch-bg' }), svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }));
    defs.append(hatch);
    s.append(defs);
    this.hatch = `url(#hatch-${W})`;
    const barX = W < 400 ? 118 : 150;
    const barW = W - barX - 78;
    this.bar = { x: barX, w: barW };
    this.chars = Math.floor((W - 20) / 7.2);
    const box = (y, h, title, cls) => {
      const g = svg('g', { class: `stage ${cls}` });
      g.append(svg('rect', { x: 0.5, y: y + 0.5, width: W - 1, height: h, rx: 8, class: 'stage-box' }), svg('text', { x: 10, y: y + 16, class: 'stage-title' }, title));
      s.append(g);
      return g;
    };
    const arrow = (y1, y2, cls) => {
      const g = svg('g', { class: `arrow ${cls}` });
      g.append(svg('line', { x1: 24, y1, x2: 24, y2: y2 - 5, class: 'arrow-line' }), svg('path', { d: `M18 ${y2 - 7} L24 ${y2} L30 ${y2 - 7} Z`, class: 'arrow-head' }));
      const t = svg('text', { x: 38, y: (y1 + y2) / 2 + 4, class: 'arrow-text' });
      g.append(t);
      s.append(g);
      return { g, t };
    };
    const text = (g, x, y, cls, anchor = 'start') => {
      const t = svg('text', { x, y, class: cls, 'text-anchor': anchor });
      g.append(t);
      return t;
    };
    const bar = (g, y, cls) => {
      const base = svg('rect', { x: barX, y, width: barW, height: 12, rx: 2, class: 'bar-track' });
      const fill = svg('rect', { x: barX, y, width: 0, height: 12, class: `bar ${cls}` });
      const dirty = svg('rect', { x: barX, y, width: 0, height: 12, class: 'bar-dirty' });
      const torn = svg('rect', { x: barX, y, width: 0, height: 12, class: 'bar-torn' });
      const lost = svg('rect', { x: barX, y, width: 0, height: 12, class: 'bar-lost', fill: this.hatch });
      g.append(base, fill, dirty, torn, lost);
      return { fill, dirty, torn, lost };
    };

    // 1. The client: the command as typed, the reply and when it left.
    const client = box(0, 56, 'client', 'stage-client');
    this.typed = text(client, 10, 34, 'mono typed');
    this.reply = text(client, 10, 49, 'mono reply');
    this.released = text(client, W - 10, 16, 'released', 'end');
    // 2. Execute and propagate, into aof_buf.
    this.a1 = arrow(56, 80, 'arrow-exec');
    const proc = box(80, 84, 'redis-server · process memory', 'stage-proc');
    this.propagated = text(proc, 10, 116, 'mono propagated');
    text(proc, 10, 149, 'bar-label').textContent = 'aof_buf';
    this.bufBar = bar(proc, 139, 'bar-memory');
    this.bufBytes = text(proc, W - 10, 149, 'bytes', 'end');
    // 3. write() into the page cache.
    this.a2 = arrow(164, 194, 'arrow-write');
    const cache = box(194, 92, 'kernel · page cache (per file)', 'stage-cache');
    text(cache, W - 10, 210, 'col-head', 'end').textContent = 'not on disk';
    this.cacheRows = [];
    for (let i = 0; i < SLOTS; i++) {
      const y = 206 + i * 24;
      const g = svg('g', { class: 'file-row' });
      cache.append(g);
      this.cacheRows.push({ g, name: text(g, 10, y + 22, 'file-label'), bar: bar(g, y + 12, 'bar-cache'), bytes: text(g, W - 10, y + 22, 'bytes', 'end') });
    }
    // 4. fsync (now, on the bio thread, or never) and the kernel's writeback.
    this.a3 = arrow(286, 330, 'arrow-fsync');
    this.a3b = svg('text', { x: 38, y: 323, class: 'arrow-sub' });
    // A background fsync in flight fills the arrow down to the disk.
    this.bioTrack = svg('rect', { x: 20, y: 288, width: 8, height: 34, rx: 3, class: 'bio-track' });
    this.bioFill = svg('rect', { x: 20, y: 288, width: 8, height: 0, rx: 3, class: 'bio-fill' });
    this.a3.g.prepend(this.bioTrack, this.bioFill);
    this.a3.g.append(this.a3b);
    this.a3.t.setAttribute('y', 304);
    const disk = box(330, 92, 'disk (durable)', 'stage-disk');
    text(disk, W - 10, 346, 'col-head', 'end').textContent = 'on disk';
    this.diskRows = [];
    for (let i = 0; i < SLOTS; i++) {
      const y = 342 + i * 24;
      const g = svg('g', { class: 'file-row' });
      disk.append(g);
      this.diskRows.push({ g, name: text(g, 10, y + 22, 'file-label'), bar: bar(g, y + 12, 'bar-disk'), bytes: text(g, W - 10, y + 22, 'bytes', 'end') });
    }
    // The packet that plays a turn.
    this.packet = svg('rect', { x: -7, y: -7, width: 14, height: 14, rx: 3, class: 'packet' });
    this.packetG = svg('g', { class: 'packet-g', transform: `translate(${W / 2} 28)` });
    this.packetG.append(this.packet);
    s.append(this.packetG);
    this.stages = { client, proc, cache, disk, a1: this.a1.g, a2: this.a2.g, a3: this.a3.g };
    this.svg = s;
    this.figure.prepend(s);
  }

  /** While a prediction is open the answer stays hidden. */
  setHidden(hidden) {
    this.hidden = hidden;
    this.root.classList.toggle('predicting', hidden);
    if (this.snapshot) this.render(this.snapshot);
  }

  /** Points at where a lost write's bytes were (from the crash report). */
  locate(write) {
    const target = write.where === 'aof_buf' ? this.stages.proc : this.stages.cache;
    for (const g of Object.values(this.stages)) g.classList.remove('located');
    target.classList.add('located');
    this.root.scrollIntoView({ block: 'nearest', behavior: this.reduced.matches ? 'auto' : 'smooth' });
    clearTimeout(this.locateTimer);
    this.locateTimer = setTimeout(() => target.classList.remove('located'), 2500);
  }

  render(s) {
    this.snapshot = s;
    const m = s.machine;
    if (!m) return;
    if (document.activeElement !== this.policy) this.policy.value = m.policy;
    const idx = LATENCIES.indexOf(m.fsync_latency_ms);
    if (document.activeElement !== this.latency && idx >= 0) {
      this.latency.value = String(idx);
      this.showLatency(m.fsync_latency_ms);
    }
    this.root.dataset.policy = m.policy;
    this.drawTurn(m);
    this.drawLayers(m);
    this.drawFsync(m);
    this.drawLost(m);
    this.drawRecent(m);
    setText(this.caption, this.describe(m));
  }

  drawTurn(m) {
    const t = m.turn;
    const ct = m.command_turn;
    const cmds = ct ? ct.commands.filter((c) => c.source !== 'cron') : [];
    const last = cmds[cmds.length - 1];
    const n = this.chars;
    setClipped(this.typed, last ? `> ${last.typed}${cmds.length > 1 ? `  (+${cmds.length - 1} in this turn)` : ''}` : '> (no command yet)', n);
    setClipped(this.reply, last && last.source !== 'cron' ? `← ${last.reply.split('\n')[0]}` : '', n);
    setText(this.released, ct ? RELEASED[ct.released] ?? '' : '');
    this.released.dataset.released = ct?.released ?? '';
    const writes = last ? last.records.filter((r) => r.write).map((r) => r.text) : [];
    setClipped(this.propagated, writes.length ? `→ ${writes.join(' ; ')}` : last ? '→ nothing propagated (a read, or no change)' : '', n);
    setText(this.a1.t, ct ? `① execute ${cmds.length} command${cmds.length > 1 ? 's' : ''} · propagate ${fmt(cmds.reduce((a, c) => a + c.bytes, 0))}` : '① execute · propagate');
    // The latest write() (serverCron's retry of a postponed one), else the client turn's.
    const w = t?.writes.at(-1) ?? ct?.writes.at(-1);
    setText(
      this.a2.t,
      w
      ? clip(`② write() ${fmt(w.bytes)} → ${tail(w.file).replace('appendonly.aof.', '…')} @ ${w.offset.toLocaleString('en')}${w.at === 'beforeSleep' ? ' in beforeSleep' : ` (${w.at})`}`, n - 5)
      : t?.fsync.kind === 'postponed' ? '② write() postponed: the last fsync still runs' : '② write() in beforeSleep',
    );
    if (t && t.seq !== this.lastTurn) {
      this.lastTurn = t.seq;
      this.play(t);
    }
  }

  /** The turn's travel: a packet down the stages (or, reduced motion, outlines in place). */
  play(t) {
    for (const id of this.timers) clearTimeout(id);
    this.timers = [];
    // A client's turn starts at the client; serverCron's (a retried write, a finished
    // background fsync) where it acts.
    const hit = t.commands.some((c) => c.source !== 'cron') ? ['client', 'a1', 'proc'] : t.writes.length ? ['proc'] : [];
    if (t.writes.length) hit.push('a2', 'cache');
    if (t.fsync.kind === 'always' || t.bio_done) hit.push(...(hit.includes('cache') ? [] : ['cache']), 'a3', 'disk');
    for (const [k, g] of Object.entries(this.stages)) g.classList.toggle('hit', hit.includes(k));
    if (this.reduced.matches || hit.length === 0) return;
    const stops = { client: 28, proc: 145, cache: 218, disk: 354 };
    const path = hit.filter((k) => stops[k] !== undefined).map((k) => stops[k]);
    const x = this.bar.x + this.bar.w / 2;
    this.packetG.classList.remove('moving');
    this.packetG.setAttribute('transform', `translate(${x} ${path[0]})`);
    this.packetG.classList.add('visible');
    path.slice(1).forEach((y, i) => {
      this.timers.push(setTimeout(() => {
        this.packetG.classList.add('moving');
        this.packetG.setAttribute('transform', `translate(${x} ${y})`);
      }, (i + 1) * STEP_MS));
    });
    this.timers.push(setTimeout(() => this.packetG.classList.remove('visible', 'moving'), (path.length + 1) * STEP_MS));
  }

  /** The files to draw: the current incr file first, then the base, then a rewrite's temp file. */
  slots(m) {
    const order = { current: 0, aof: 0, base: 1, temp: 2, incr: 3 };
    return [...m.files].sort((a, b) => order[a.role] - order[b.role]).slice(0, SLOTS);
  }

  drawLayers(m) {
    const { w } = this.bar;
    const scale = (v, of) => (of > 0 && v > 0 ? Math.max(3, Math.min(w, (w * v) / of)) : 0);
    const lost = this.hidden ? null : m.lost_if[this.kind];
    // aof_buf against the current file's size, so that a turn's bytes look their size.
    const current = m.files.find((f) => f.role === 'current' || f.role === 'aof');
    const ref = Math.max(m.aof_buf, current ? current.len : 0, 1);
    this.bufBar.fill.setAttribute('width', scale(m.aof_buf, ref));
    this.bufBar.lost.setAttribute('width', lost && lost.aof_buf_bytes > 0 ? scale(m.aof_buf, ref) : 0);
    setText(this.bufBytes, fmt(m.aof_buf));
    const slots = this.slots(m);
    for (let i = 0; i < SLOTS; i++) {
      const f = slots[i];
      const c = this.cacheRows[i];
      const d = this.diskRows[i];
      c.g.classList.toggle('empty', !f);
      d.g.classList.toggle('empty', !f);
      if (!f) continue;
      const label = clip(`${f.role === 'current' ? 'incr (now)' : f.role} ${tail(f.name).replace('appendonly.aof.', '…')}`, Math.floor(this.bar.x / 6.6));
      setText(c.name, label);
      setText(d.name, label);
      const durable = f.durable_len ?? f.len;
      const dirty = f.len - durable;
      // The page cache holds the whole file; its dirty tail (not on disk) is drawn at the end.
      c.bar.fill.setAttribute('width', scale(f.len, f.len));
      setText(c.bytes, f.durable_len === null ? fmt(f.len) : fmt(dirty));
      const from = (x) => this.bar.x + (f.len > 0 ? (w * x) / f.len : 0);
      const end = this.bar.x + w;
      const dirtyX = Math.min(from(durable), end - 3);
      c.bar.dirty.setAttribute('x', dirtyX);
      c.bar.dirty.setAttribute('width', dirty > 0 ? end - dirtyX : 0);
      const lf = lost?.files.find((x) => x.name === f.name);
      if (lf) {
        // [from, torn_to) reached the disk torn; from torn_to on, nothing did.
        const lostX = Math.min(from(lf.torn_to), end - 3);
        c.bar.torn.setAttribute('x', dirtyX);
        c.bar.torn.setAttribute('width', lf.torn_to > lf.from ? Math.max(2, lostX - dirtyX) : 0);
        c.bar.lost.setAttribute('x', lostX);
        c.bar.lost.setAttribute('width', end - lostX);
      } else {
        c.bar.torn.setAttribute('width', 0);
        c.bar.lost.setAttribute('width', 0);
      }
      c.g.dataset.name = f.name;
      d.g.dataset.name = f.name;
      d.bar.fill.setAttribute('width', scale(durable, f.len));
      setText(d.bytes, f.durable_len === null ? 'the browser’s' : fmt(durable));
      d.g.classList.toggle('unnamed', f.durable_name === false);
    }
  }

  drawFsync(m) {
    const t = m.turn;
    const kind = t?.fsync.kind ?? 'none';
    const latency = m.fsync_latency_ms;
    let line;
    if (m.policy === 'always') line = '③ fsync now, in the main thread, before the reply';
    else if (m.policy === 'everysec') line = `③ fsync on the bio thread, ~1/s, takes ${ms(latency)}`;
    else line = '③ no fsync: the kernel writes dirty pages back when it likes';
    if (m.no_appendfsync_on_rewrite && m.child) line = '③ no fsync while the rewrite child runs (no-appendfsync-on-rewrite)';
    setClipped(this.a3.t, line, this.chars - 5);
    let sub = '';
    let progress = 0;
    if (m.bio) {
      const span = Math.max(1, m.bio.done_ms - m.bio.start_ms);
      progress = Math.min(1, Math.max(0, (m.now - m.bio.start_ms) / span));
      sub = `bio fsync in flight: ${ms(Math.max(0, m.now - m.bio.start_ms))} of ${ms(span)}`;
    } else if (kind === 'always') sub = 'fsync returned: the turn’s bytes are on disk';
    else if (t?.bio_done) sub = 'the background fsync completed';
    if (m.postponed_since) {
      const waited = Math.max(0, m.now - m.postponed_since);
      sub = `write postponed ${ms(Math.min(waited, 2000))} of 2 s: the last fsync still runs`;
    }
    if (m.policy === 'no' || !sub) sub = m.writeback_ms === null ? '' : `writeback: the kernel flushes dirty pages after ${ms(m.writeback_ms)}`;
    setClipped(this.a3b, sub, this.chars - 6);
    this.bioFill.setAttribute('height', 34 * progress);
    this.bioTrack.classList.toggle('idle', !m.bio);
    this.root.dataset.postponed = m.postponed_since ? 'yes' : '';
    setText(this.slowLog, m.slow_log ? `aof_delayed_fsync: ${m.delayed_fsync} · ${m.slow_log.text}` : m.delayed_fsync ? `aof_delayed_fsync: ${m.delayed_fsync}` : '');
    this.slowLog.classList.toggle('on', !!m.slow_log);
  }

  drawLost(m) {
    for (const [k] of KINDS) {
      const l = m.lost_if[k];
      const [, bytes, writes] = this.lostRows[k];
      const row = bytes.parentElement;
      row.classList.toggle('selected', k === this.kind);
      if (this.hidden) {
        setText(bytes, '?');
        setText(writes, '?');
        continue;
      }
      setText(bytes, fmt(l.bytes));
      setText(writes, l.exact
        ? l.writes_total === 0 ? 'none' : `${l.writes_total} write${l.writes_total > 1 ? 's' : ''}: ${[...new Set(l.writes.flatMap((w) => w.keys))].slice(0, 4).join(', ')}${l.refused ? ' · start refused' : ''}`
        : 'bytes only: which writes is chance');
      row.title = l.exact ? '' : l.why_inexact ?? '';
    }
    const l = m.lost_if[this.kind];
    // Drawn again only when it changed: a VIEW comes several times a second while time runs,
    // and a rebuilt list drops the keyboard focus from its "bytes" buttons.
    const key = JSON.stringify([this.hidden, this.kind, l]);
    if (key === this.lostDrawn) return;
    this.lostDrawn = key;
    this.lostList.replaceChildren();
    setText(this.lostNote, '');
    if (this.hidden) return;
    if (!l.exact && l.why_inexact) this.lostNote.textContent = `Bytes only: ${l.why_inexact}.`;
    else if (l.refused) this.lostNote.textContent = `redis-server would refuse to start: ${l.refused}.`;
    else setText(this.lostNote, `${l.writes_total === 0 ? 'Nothing acknowledged' : `${l.writes_total} acknowledged write${l.writes_total > 1 ? 's' : ''}`} (${fmt(l.aof_buf_bytes)} in aof_buf, ${fmt(l.page_cache_bytes)} in the page cache).`);
    for (const w of l.writes.slice(-4).reverse()) {
      const li = el('li', `lost-write where-${w.where}`);
      li.append(el('span', `place place-${w.where}`, PLACE[w.where]), el('code', null, w.text));
      if (w.typed && w.typed !== w.text) li.append(el('span', 'meta', ` typed as ${w.typed}`));
      if (w.file && this.hooks.logView) li.append(this.bytesButton(w.file, w.offset));
      this.lostList.append(li);
    }
    if (l.writes_total > 4) this.lostList.append(el('li', 'meta', `and ${l.writes_total - 4} more`));
  }

  /** A "bytes" button that opens a write's bytes in the log view (the `log-open` event any
   *  view may dispatch; the lab controller routes it). */
  bytesButton(file, offset) {
    const b = el('button', 'to-log', 'bytes');
    b.type = 'button';
    b.title = `Show these bytes in the log view (${tail(file)} @ ${offset})`;
    b.addEventListener('click', () => b.dispatchEvent(new CustomEvent(LOG_OPEN, { detail: { file, offset }, bubbles: true, composed: true })));
    return b;
  }

  drawRecent(m) {
    const key = JSON.stringify(m.recent);
    if (key === this.recentDrawn) return;
    this.recentDrawn = key;
    this.recentList.replaceChildren();
    if (!m.recent.length) this.recentList.append(el('li', 'meta', 'No write yet: type one in the console.'));
    for (const w of m.recent) {
      const li = el('li', `recent-write at-${w.at}`);
      li.dataset.seq = w.seq;
      // Where the bytes are is the machine's state, not the answer: it stays while predicting.
      li.append(el('span', `place place-${w.at}`, PLACE[w.at] ?? w.at), el('code', null, w.typed));
      // In a file: its record in the log view (still in aof_buf: not in any file yet).
      if (w.file && this.hooks.logView) li.append(this.bytesButton(w.file, w.offset));
      this.recentList.append(li);
    }
  }

  describe(m) {
    const l = m.lost_if[this.kind];
    const files = m.files.map((f) => `${tail(f.name)}: ${f.len} bytes, ${f.durable_len ?? 'unknown'} on disk`).join('; ');
    const lost = this.hidden ? 'hidden while you predict' : `${l.bytes} bytes and ${l.writes_total} acknowledged writes`;
    return `Write path under appendfsync ${m.policy}: aof_buf holds ${m.aof_buf} bytes; ${files}. A ${this.kind} crash now would lose ${lost}.`;
  }
}
