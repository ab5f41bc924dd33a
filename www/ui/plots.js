// The plots: the AOF's files over time with the auto-rewrite threshold, the acknowledged writes
// per second, and the fsyncs. uPlot (vendored by scripts/setup.sh into www/vendor/uplot/) draws
// them; the numbers come from the engine (src/lab/series.rs), one sample per event-loop turn,
// appended as the worker sends them. Each plot has a sentence beside it that says what it shows
// at the playhead (the canvas is invisible to assistive technology).
//
// The plots follow the timeline: they draw the whole current line (the worker sends the head's
// samples) with a playhead at the position's time, a vertical line drawn in a uPlot draw hook,
// and the part after it (the recorded future) dimmed. The fsync histogram is the position's.
//
// No layout jumps: fixed axis widths, a y range that only grows, one setData per frame; a move
// of the playhead alone redraws without rebuilding the paths.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { el, setText } from './dom.js';

const COLUMNS = ['t', 'base', 'incr', 'history', 'temp', 'rdb', 'aof_size', 'threshold', 'writes_per_s', 'bytes_per_s', 'fsyncs', 'delayed_fsyncs', 'rewriting', 'policy'];
const POLICIES = ['always', 'everysec', 'no'];
const HEIGHT = 190;

const fmtBytes = (n) => {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
};

/** A bucket's lower bound on the axis, for the powers of ten and the last one (0, 1, 10, 100,
 *  1k, 5k+); the others are left unlabelled so that the labels never overlap. */
function msLabel(ms, last) {
  if (ms === undefined) return '';
  const text = ms >= 1000 ? `${ms / 1000}k` : String(ms);
  if (last) return `${text}+`;
  return ms === 0 || Math.log10(ms) % 1 === 0 ? text : '';
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Every `step`-th point of each column, and the last one (about one point per pixel). */
function thin(cols, width) {
  const n = cols[0].length;
  const step = Math.max(1, Math.ceil(n / Math.max(200, width * 1.5)));
  if (step === 1) return cols;
  return cols.map((c) => {
    const out = [];
    for (let i = 0; i < n; i += step) out.push(c[i]);
    if ((n - 1) % step !== 0) out.push(c[n - 1]);
    return out;
  });
}

export class PlotsView {
  /** @param {HTMLElement} root where the three figures are built */
  constructor(root) {
    this.root = root;
    this.reset();
    this.figures = {
      sizes: this.figure('sizes', 'AOF size over time', 'Stacked: the base file, the incr files, history files waiting to be deleted, the rewrite’s temp file. The dashed line is the size from which serverCron starts a rewrite by itself.'),
      writes: this.figure('writes', 'Acknowledged writes', 'Write commands whose replies were released, per second (left), and the bytes they appended to the AOF (right), over the last second of simulated time.'),
      fsyncs: this.figure('fsyncs', 'fsync latency', 'How long each fsync took (the simulated disk), counted by duration; and the writes everysec had to postpone for a slow fsync.'),
    };
    this.dirty = false;
    // Widths come from the observer, never from reading layout while drawing.
    this.widths = new Map();
    this.resize = new ResizeObserver((entries) => {
      for (const e of entries) this.widths.set(e.target, Math.floor(e.contentRect.width));
      this.layout();
    });
    for (const f of Object.values(this.figures)) this.resize.observe(f.canvas);
    this.scheme = matchMedia('(prefers-color-scheme: dark)');
    this.scheme.addEventListener('change', () => this.rebuild());
  }

  /** A new engine: the history starts over. */
  reset() {
    this.cols = Object.fromEntries(COLUMNS.map((c) => [c, []]));
    this.hist = { bounds: [], counts: [] };
    this.yMax = { sizes: 0, writes: 0, bytes: 0 };
    this.playhead = null; // simulated seconds of the position; null: none yet
    this.past = false;
    this.dirty = true;
  }

  figure(id, title, caption) {
    const fig = el('figure', `plot plot-${id}`);
    const head = el('figcaption', 'plot-title', title);
    const canvas = el('div', 'plot-canvas');
    canvas.style.minHeight = `${HEIGHT}px`;
    const now = el('p', 'plot-now');
    now.dataset.plot = id;
    fig.append(head, canvas, el('p', 'plot-caption', caption), now);
    this.root.append(fig);
    return { fig, canvas, now, plot: null };
  }

  /**
   * Takes the snapshot's samples (appended; `reset`: the head's whole series, replacing the
   * columns) and the playhead at `timeline`'s position, and redraws (once per call: once per
   * frame).
   */
  render(snapshot, timeline) {
    const s = snapshot.series;
    if (s?.reset) {
      const keep = this.playhead;
      this.reset();
      this.playhead = keep;
    }
    if (s && s.t?.length) {
      // Appending is for the samples of the same line that come after these.
      for (const c of COLUMNS) this.cols[c].push(...(s[c] ?? []));
      this.dirty = true;
    }
    if (s?.fsync_hist && JSON.stringify(s.fsync_hist.counts) !== JSON.stringify(this.hist.counts)) {
      this.hist = s.fsync_hist;
      this.dirty = true;
    }
    let moved = false;
    if (timeline) {
      const playhead = (timeline.now - timeline.t0) / 1000;
      const past = timeline.position < timeline.head;
      moved = playhead !== this.playhead || past !== this.past;
      this.playhead = playhead;
      this.past = past;
      this.root.dataset.playhead = playhead.toFixed(3);
      this.root.dataset.past = String(past);
    }
    if (this.dirty) this.draw();
    else if (moved) this.movePlayhead();
  }

  /** Only the playhead moved: redraw without new paths, and say what the plots show there. */
  movePlayhead() {
    for (const id of ['sizes', 'writes']) this.figures[id].plot?.redraw(false, false);
    if (this.cols.t.length) this.sentences();
  }

  /** The sample at the playhead: the last one at or before it (the last one when none). */
  at() {
    const t = this.cols.t;
    if (this.playhead === null || !this.past) return t.length - 1;
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid] <= this.playhead + 1e-9) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  /** uPlot's draw hook: the playhead, and the recorded future dimmed. */
  drawPlayhead(u) {
    if (this.playhead === null || !this.past) return;
    const x = u.valToPos(this.playhead, 'x', true);
    const { left, top, width, height } = u.bbox;
    if (!(x >= left && x <= left + width)) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.globalAlpha = 0.6;
    ctx.fillStyle = css('--panel');
    ctx.fillRect(x, top, left + width - x, height);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = css('--accent');
    ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.restore();
  }

  width(fig) {
    return Math.max(240, this.widths.get(fig.canvas) || 600);
  }

  draw() {
    this.dirty = false;
    const c = this.cols;
    const n = c.t.length;
    if (n === 0) return;
    // Stacked areas: each series is drawn as the sum of itself and those below it.
    const stack = [c.base, c.incr, c.history, c.temp];
    const sums = stack.map((_, k) => c.t.map((__, i) => stack.slice(0, k + 1).reduce((a, col) => a + col[i], 0)));
    const threshold = c.threshold.map((v) => (v > 0 ? v : null));
    this.yMax.sizes = Math.max(this.yMax.sizes, ...sums[3].slice(-500), ...threshold.slice(-500).map((v) => (v !== null && v < 4 * sums[3][n - 1] + 65536 ? v : 0)));
    this.update('sizes', [c.t, ...sums.slice().reverse(), threshold]);
    this.yMax.writes = Math.max(this.yMax.writes, ...c.writes_per_s.slice(-500));
    this.yMax.bytes = Math.max(this.yMax.bytes, ...c.bytes_per_s.slice(-500));
    this.update('writes', [c.t, c.writes_per_s, c.bytes_per_s]);
    const hx = this.hist.bounds.map((_, i) => i);
    this.update('fsyncs', [hx, this.hist.counts]);
    this.sentences();
  }

  update(id, data) {
    const f = this.figures[id];
    const width = this.width(f);
    const shown = id === 'fsyncs' ? data : thin(data, width);
    if (!f.plot) {
      f.plot = new uPlot(this.options(id, width), shown, f.canvas);
    } else {
      f.plot.setData(shown, id === 'fsyncs');
      if (id !== 'fsyncs') f.plot.setScale('x', { min: shown[0][0], max: shown[0][shown[0].length - 1] });
    }
  }

  options(id, width) {
    const text = css('--text');
    const grid = css('--border');
    const axis = (extra = {}) => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 70, ...extra });
    const base = { width, height: HEIGHT, legend: { show: true, live: false }, cursor: { sync: { key: 'aof-lab' } }, hooks: { draw: [(u) => this.drawPlayhead(u)] } };
    if (id === 'sizes') {
      const layer = (label, color, fill) => ({ label, stroke: color, fill, width: 1, value: (_, v) => (v == null ? '–' : fmtBytes(v)) });
      return {
        ...base,
        // The y range follows the files (and the threshold once they come near it), never the
        // far threshold of an idle lab: that line is clipped until it matters.
        scales: { x: { time: false }, y: { range: () => [0, Math.max(this.yMax.sizes, 1024) * 1.05] } },
        axes: [axis({ label: 'simulated seconds', size: 40 }), axis({ values: (_, ticks) => ticks.map(fmtBytes) })],
        series: [
          { label: 't' },
          layer('temp', css('--layer-written'), `${css('--layer-written')}55`),
          layer('history', css('--blen'), `${css('--blen')}55`),
          layer('incr', css('--layer-cache'), `${css('--layer-cache')}66`),
          layer('base', css('--layer-disk'), `${css('--layer-disk')}88`),
          { label: 'rewrite starts at', stroke: css('--accent'), dash: [6, 4], width: 1.5, value: (_, v) => (v == null ? 'off' : fmtBytes(v)) },
        ],
      };
    }
    if (id === 'writes') {
      return {
        ...base,
        scales: { x: { time: false }, y: { range: (_, min, max) => [0, Math.max(max, this.yMax.writes, 1) * 1.1] }, bytes: { range: (_, min, max) => [0, Math.max(max, this.yMax.bytes, 1) * 1.1] } },
        axes: [axis({ label: 'simulated seconds', size: 40 }), axis({ label: 'writes/s' }), axis({ scale: 'bytes', side: 1, size: 72, grid: { show: false }, values: (_, ticks) => ticks.map(fmtBytes) })],
        series: [
          { label: 't' },
          { label: 'writes/s', stroke: css('--int'), width: 1.5 },
          { label: 'bytes/s', scale: 'bytes', stroke: css('--layer-memory'), width: 1, value: (_, v) => (v == null ? '–' : `${fmtBytes(v)}/s`) },
        ],
      };
    }
    const bounds = () => this.hist.bounds;
    return {
      ...base,
      hooks: {},
      cursor: { show: false },
      legend: { show: false },
      scales: { x: { time: false, range: () => [-0.5, Math.max(0, bounds().length - 0.5)] }, y: { range: (_, min, max) => [0, Math.max(max, 1) * 1.15] } },
      axes: [
        axis({ label: 'ms', size: 40, splits: () => bounds().map((_, i) => i), values: (_, ticks) => ticks.map((i) => msLabel(bounds()[i], i === bounds().length - 1)) }),
        axis({ label: 'fsyncs' }),
      ],
      series: [{}, { label: 'fsyncs', stroke: css('--layer-disk'), fill: `${css('--layer-disk')}99`, paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
    };
  }

  /** What each plot shows at the playhead, in words (also what a screen reader gets). */
  sentences() {
    const c = this.cols;
    const i = this.at();
    const layers = [['base', c.base[i]], ['incr', c.incr[i]], ['history', c.history[i]], ['temp', c.temp[i]]].filter(([, v]) => v > 0);
    const total = layers.reduce((a, [, v]) => a + v, 0);
    const parts = layers.map(([k, v]) => `${k} ${fmtBytes(v)}`).join(' + ');
    const threshold = c.threshold[i];
    const when = this.past ? `At ${this.playhead.toFixed(1)} s (the playhead; what follows it is the recorded future, dimmed)` : `Now ${c.t[i].toFixed(1)} s`;
    this.figures.sizes.now.textContent = `${when}: ${fmtBytes(total)} on disk${parts ? ` (${parts})` : ''}; aof_current_size ${fmtBytes(c.aof_size[i])}; ${
      threshold > 0 ? `a rewrite starts by itself at ${fmtBytes(threshold)}` : 'auto-rewrite is off (auto-aof-rewrite-percentage 0)'
    }${c.rewriting[i] ? '; a rewrite is running' : ''}.`;
    setText(this.figures.writes.now, `${this.past ? `At ${this.playhead.toFixed(1)} s, over` : 'Over'} the last second: ${Math.round(c.writes_per_s[i])} writes/s, ${fmtBytes(c.bytes_per_s[i])}/s appended, under appendfsync ${POLICIES[c.policy[i]] ?? '?'}.`);
    const count = this.hist.counts.reduce((a, b) => a + b, 0);
    const slow = this.hist.counts.reduce((a, n, k) => a + (this.hist.bounds[k] >= 1000 ? n : 0), 0);
    setText(this.figures.fsyncs.now, `${count} fsync${count === 1 ? '' : 's'} ${this.past ? 'by the playhead' : 'so far'}${slow ? `, ${slow} of them 1 s or longer` : ''}; ${c.delayed_fsyncs[i]} write${c.delayed_fsyncs[i] === 1 ? '' : 's'} postponed by everysec for a slow fsync (aof_delayed_fsync).`);
  }

  layout() {
    for (const f of Object.values(this.figures)) if (f.plot) f.plot.setSize({ width: this.width(f), height: HEIGHT });
  }

  /** Colours follow the scheme: plots are made again. */
  rebuild() {
    for (const f of Object.values(this.figures)) {
      f.plot?.destroy();
      f.plot = null;
    }
    this.draw();
  }
}
