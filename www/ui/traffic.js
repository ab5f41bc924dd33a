// The traffic generator's controls (src/lab/traffic.rs runs it in the engine, in serverCron's
// turns) and the three policies compared on the same traffic. A view: it sends actions and
// shows what the engine answers; the figures are the engine's.

import { LAB_ACTIONS } from '../protocol.js';
import { el, setText } from './dom.js';

const RATES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
const KEYS = [10, 100, 1000, 10000, 100000];
const SIZES = [8, 32, 128, 1024, 16384];

function select(label, values, initial, fmt, hint) {
  const wrap = el('label', 'traffic-field');
  wrap.append(el('span', 'traffic-label', label));
  const s = document.createElement('select');
  for (const v of values) {
    const o = el('option', null, fmt(v));
    o.value = String(v);
    s.append(o);
  }
  s.value = String(initial);
  if (hint) wrap.title = hint;
  wrap.append(s);
  return [wrap, s];
}

const fmtBytes = (n) => (n < 1024 ? `${Math.round(n)} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

export class TrafficView {
  /**
   * @param {HTMLElement} root
   * @param {(action: string, args: object) => Promise<any>} act
   */
  constructor(root, act) {
    this.act = act;
    this.running = false;
    const form = el('form', 'traffic-form');
    form.setAttribute('aria-label', 'Traffic generator');
    const [rate, rateSel] = select('Rate', RATES, 100, (v) => `${v.toLocaleString('en')} commands/s`, 'Commands per second of simulated time');
    const [writes, writesSel] = select('Writes', [0, 20, 50, 80, 100], 80, (v) => `${v}% writes`);
    const [keys, keysSel] = select('Key space', KEYS, 1000, (v) => `${v.toLocaleString('en')} keys`, 'Few keys and many writes: the AOF grows while the dataset does not');
    const [size, sizeSel] = select('Values', SIZES, 32, (v) => `${fmtBytes(v)} values`);
    this.fields = { rate: rateSel, writes: writesSel, keys: keysSel, size: sizeSel };
    this.toggle = el('button', 'chip traffic-toggle', 'Start traffic');
    this.toggle.type = 'submit';
    this.toggle.setAttribute('aria-pressed', 'false');
    const compare = el('button', 'chip traffic-compare', 'Compare the three policies');
    compare.type = 'button';
    form.append(rate, writes, keys, size, this.toggle, compare);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.setRunning(!this.running);
    });
    // A change while running takes effect at once.
    for (const s of Object.values(this.fields)) s.addEventListener('change', () => this.running && this.send());
    compare.addEventListener('click', () => this.compare(compare));
    this.status = el('p', 'meta traffic-status', 'No traffic: the lab only runs what you type.');
    this.status.setAttribute('aria-live', 'polite');
    this.result = el('div', 'traffic-result');
    root.append(form, this.status, this.result);
  }

  spec() {
    return {
      rate: Number(this.fields.rate.value),
      write_percent: Number(this.fields.writes.value),
      keys: Number(this.fields.keys.value),
      value_size: Number(this.fields.size.value),
    };
  }

  async send() {
    try {
      await this.act(LAB_ACTIONS.TRAFFIC, { spec: this.running ? this.spec() : null });
      const s = this.spec();
      this.status.textContent = this.running
        ? `Traffic: ${s.rate.toLocaleString('en')} commands/s of simulated time (${s.write_percent}% writes over ${s.keys.toLocaleString('en')} keys, ${fmtBytes(s.value_size)} values), run in each serverCron turn on a client of its own.`
        : 'No traffic: the lab only runs what you type.';
    } catch (err) {
      setText(this.status, err.message);
    }
  }

  setRunning(on) {
    this.running = on;
    setText(this.toggle, on ? 'Stop traffic' : 'Start traffic');
    this.toggle.setAttribute('aria-pressed', String(on));
    return this.send();
  }

  /** A new engine starts without traffic. */
  reset() {
    this.running = false;
    setText(this.toggle, 'Start traffic');
    this.toggle.setAttribute('aria-pressed', 'false');
    setText(this.status, 'No traffic: the lab only runs what you type.');
  }

  async compare(button) {
    button.disabled = true;
    this.result.replaceChildren(el('p', 'meta', 'Running the same traffic under always, everysec and no (about 5 s of simulated time each, on fresh simulated machines), then cutting the power…'));
    try {
      const runs = await this.act(LAB_ACTIONS.COMPARE, { spec: this.spec(), duration_ms: 5_000 });
      this.showRuns(runs);
    } catch (err) {
      this.result.replaceChildren(el('p', 'crash-error', err.message));
    } finally {
      button.disabled = false;
    }
  }

  showRuns(runs) {
    const table = el('table', 'compare-table');
    table.append(el('caption', null, `The same traffic for about 5 s under each policy, then a power loss 0.9 s after everysec’s last fsync (${this.spec().rate.toLocaleString('en')} commands/s, ${this.spec().write_percent}% writes)`));
    const head = el('tr');
    const labels = ['appendfsync', 'writes/s acknowledged', 'bytes/s appended', 'fsyncs', 'lost at the power loss', 'keys before → after'];
    for (const h of labels) head.append(el('th', null, h));
    const thead = el('thead');
    thead.append(head);
    table.append(thead);
    const body = el('tbody');
    for (const r of runs) {
      const tr = el('tr');
      tr.dataset.policy = r.policy;
      const cells = [
        el('th', null, r.policy),
        el('td', null, Math.round(r.writes_per_s).toLocaleString('en')),
        el('td', null, `${fmtBytes(r.bytes_per_s)}/s`),
        el('td', null, r.fsyncs.toLocaleString('en')),
        el('td', r.lost_bytes ? 'lost' : null, r.lost_bytes ? fmtBytes(r.lost_bytes) : 'nothing'),
        el('td', null, `${r.keys_before} → ${r.keys_after}`),
      ];
      // Narrow screens show each row as a card: the cell says what it is.
      cells.forEach((c, i) => (c.dataset.label = labels[i]));
      tr.append(...cells);
      body.append(tr);
    }
    table.append(body);
    const note = el(
      'p',
      'explain',
      'Group commit lets every policy acknowledge the same load here: one write() and, under always, one fsync per event-loop turn, whatever the number of commands in it. What differs is how many fsyncs the disk must do, and what a power loss takes: nothing under always, the last second or so under everysec, everything since the kernel last wrote back under no (30 s on Linux).',
    );
    this.result.replaceChildren(table, note);
  }
}
