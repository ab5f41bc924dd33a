// The crash lab: choose a crash, predict (ui/predict.js), crash, and see what survived and WHY,
// for the policy in force. A pure view: it calls `act(action, args)` (lab.js sends it to the
// worker) and renders the report the engine computed (src/lab/crash.rs: bytes lost per layer,
// keys before and after, reasons, the restarted server's log; src/lab/predict.rs: the lost
// writes, the prediction beside the answer, the sentence), each lost write linked to where its
// bytes were in the write-path diagram (and in the log view, when the page has one).

import { CRASH_KINDS, LAB_ACTIONS } from '../protocol.js';
import { KIND_WORDS, askPrediction, predictEnabled, revealView, setPredictEnabled } from './predict.js';
import { el } from './dom.js';

const PLACES = { aof_buf: 'aof_buf', page_cache: 'page cache', torn_tail: 'torn tail' };

export class CrashView {
  /**
   * @param {HTMLElement} root where the lab is built
   * @param {(action: string, args: object) => Promise<any>} act
   * @param {() => void} realCrash terminates the worker and starts a new one (a real crash)
   * @param {object} hooks {snapshot(): the last snapshot, predicting(open): the questions are
   *   open (the diagram hides its answer), locate(write): points the diagram at a lost write,
   *   openLog({file, offset}): opens the log view there, or returns false when there is none}
   */
  constructor(root, act, realCrash, hooks = {}) {
    this.act = act;
    this.realCrash = realCrash;
    this.hooks = hooks;
    this.memory = true;
    const form = el('form', 'crash-form');
    const fieldset = el('fieldset', 'crash-kinds');
    fieldset.append(el('legend', null, 'Crash kind'));
    this.radios = [];
    const group = `crash-kind-${Math.random().toString(36).slice(2)}`; // one group per lab
    for (const [i, c] of CRASH_KINDS.entries()) {
      const label = el('label', 'crash-kind');
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = group;
      input.value = c.kind;
      input.checked = i === 0;
      label.append(input, el('span', 'crash-label', c.label), el('span', 'crash-model', c.model));
      this.radios.push(input);
      fieldset.append(label);
    }
    const crash = el('button', 'crash-button', 'Crash, then restart');
    this.crashButton = crash;
    crash.type = 'submit';
    crash.dataset.action = 'crash';
    const ask = el('label', 'predict-toggle');
    this.ask = Object.assign(document.createElement('input'), { type: 'checkbox', checked: predictEnabled() });
    this.ask.dataset.part = 'predict-toggle';
    this.ask.addEventListener('change', () => setPredictEnabled(this.ask.checked));
    ask.append(this.ask, el('span', null, 'Predict before each crash'));
    const row = el('div', 'crash-row');
    row.append(crash, ask);
    form.append(fieldset, row);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.crash();
    });
    const faults = el('div', 'faults');
    faults.setAttribute('role', 'group');
    faults.setAttribute('aria-label', 'Disk faults');
    faults.append(el('span', 'meta', 'Disk faults:'));
    for (const [fault, label] of [['disk-full', 'Disk full'], ['fsync-error', 'fsync fails (EIO)'], ['clear', 'Clear faults']]) {
      const b = el('button', 'chip', label);
      b.type = 'button';
      b.dataset.fault = fault;
      b.addEventListener('click', () => this.run(LAB_ACTIONS.INJECT, { fault, n: 3 }));
      faults.append(b);
    }
    this.faults = faults;
    this.predictBox = el('div', 'predict-box');
    this.predictBox.hidden = true;
    this.result = el('div', 'crash-result');
    this.result.setAttribute('aria-live', 'polite');
    root.append(form, this.predictBox, faults, this.result);
  }

  kind() {
    return this.radios.find((r) => r.checked)?.value ?? 'kill';
  }

  async run(action, args) {
    try {
      return await this.act(action, args);
    } catch (err) {
      this.showError(err.message);
      return undefined;
    }
  }

  async crash() {
    const kind = this.kind();
    if (kind === 'worker') {
      this.result.replaceChildren(el('p', 'crash-summary', 'The worker was terminated (a real crash): a new worker is loading from the browser storage…'));
      this.realCrash();
      return;
    }
    let prediction = null;
    const asked = this.ask.checked && predictEnabled();
    if (asked) {
      this.hooks.predicting?.(true);
      prediction = await askPrediction(this.predictBox, this.hooks.snapshot?.(), kind);
      this.hooks.predicting?.(false);
      this.ask.checked = predictEnabled();
      if (prediction === undefined) {
        this.crashButton.focus(); // cancelled: back where the keyboard was
        return;
      }
    }
    const out = await this.run(LAB_ACTIONS.CRASH, { kind, prediction });
    if (out) {
      this.showReport(out.report);
      // The keyboard follows the question to its answer (the prediction form is gone).
      if (asked) this.result.querySelector('.report')?.focus();
    }
  }

  /** The backend in use. Every simulated crash and fault works on every backend (the
   *  simulated machine sits above OPFS and IndexedDB too); the real crash says what the
   *  browser keeps. */
  setBackend(backend) {
    this.memory = backend === 'memory';
    const worker = this.radios.find((r) => r.value === 'worker');
    worker.closest('label').querySelector('.crash-model').textContent = this.memory
      ? 'worker.terminate(), then a new worker: with files in RAM nothing survives (they lived in the worker).'
      : `worker.terminate(), then a new worker loads from ${backend === 'opfs' ? 'OPFS' : 'IndexedDB'}: a real process crash, so everything written survives, synced or not (the browser's storage holds the page cache).`;
  }

  showError(text) {
    this.result.replaceChildren(el('p', 'crash-error', text));
  }

  /** The crash report of the lab at the timeline's position (snapshot.crash): the last crash
   *  before it, as it was reported then; none before the first. */
  render(snapshot) {
    const r = snapshot.crash ?? null;
    const key = r ? JSON.stringify(r) : '';
    if (key === this.reportKey) return;
    if (r) this.showReport(r);
    else {
      this.reportKey = '';
      this.result.replaceChildren();
    }
  }

  showReport(r) {
    this.reportKey = JSON.stringify(r);
    const box = el('div', 'report');
    box.tabIndex = -1;
    const lost = r.lost_aof_buf + r.lost_page_cache;
    box.append(
      el('p', 'crash-summary', `${KIND_WORDS[r.kind] ?? r.kind} under appendfsync ${r.policy}: ${r.keys_before} keys before, ${r.started ? `${r.keys_after} after the restart` : 'the server refused to start'}. ${lost.toLocaleString('en')} bytes never reached the disk (${r.lost_aof_buf} in aof_buf, ${r.lost_page_cache} in the page cache).`),
    );
    if (r.reveal) box.append(revealView(r));
    if (r.lost_writes) box.append(this.lostWrites(r.lost_writes));
    const why = el('ul', 'crash-why');
    for (const w of r.why) why.append(el('li', null, w));
    box.append(why);
    if (r.rdb_text) {
      // The "AOF vs RDB" comparison: what the dump.rdb that survived would have given.
      const vs = el('p', 'crash-rdb');
      vs.append(el('strong', null, 'AOF vs RDB: '), r.rdb_text);
      box.append(vs);
    }
    const log = el('details', 'load-log');
    log.open = !r.started;
    log.append(el('summary', null, r.started ? 'The restarted server’s log' : 'redis-server refused to start'), el('pre', 'log-lines', r.log.join('\n')));
    box.append(log);
    this.result.replaceChildren(box);
  }

  /** The acknowledged writes the crash lost, each linked to where its bytes were. */
  lostWrites(l) {
    const box = el('div', 'crash-lost');
    if (!l.exact) {
      box.append(el('p', 'meta', `At risk: ${l.bytes.toLocaleString('en')} bytes (${l.why_inexact}).`));
      return box;
    }
    box.append(el('p', 'crash-lost-head', l.writes_total ? `Acknowledged writes lost (${l.writes_total}):` : 'No acknowledged write was lost.'));
    const list = el('ol', 'crash-lost-list');
    for (const w of l.writes.slice(-20)) {
      const li = el('li', `lost-write where-${w.where}`);
      const where = el('button', `chip place place-${w.where}`, PLACES[w.where] ?? w.where);
      where.type = 'button';
      where.title = w.file ? `${w.file} @ ${w.offset}: show where its bytes were` : `aof_buf @ ${w.offset}: show where its bytes were`;
      where.addEventListener('click', () => {
        this.hooks.locate?.(w);
        if (w.file) this.hooks.openLog?.({ file: w.file, offset: w.offset });
      });
      li.append(where, el('code', null, w.text));
      if (w.typed && w.typed !== w.text) li.append(el('span', 'meta', ` typed as ${w.typed}`));
      if (w.file) li.append(el('span', 'meta', ` · ${w.file.split('/').pop()} @ ${w.offset.toLocaleString('en')}`));
      list.append(li);
    }
    box.append(list);
    return box;
  }

  /** While redis-server is down: it exited (`exited`: a write or fsync error under always, the
   *  files intact, a plain restart) or it refused to start on its files (two ways out). */
  setDown(lines, exited = false) {
    const key = lines ? `${exited}|${lines.join('\n')}` : '';
    if (key === this.downKey) return;
    this.downKey = key;
    this.downBox?.remove();
    this.downBox = null;
    if (!lines) return;
    const button = (label, onClick) => {
      const b = el('button', 'chip', label);
      b.type = 'button';
      b.addEventListener('click', onClick);
      return b;
    };
    const box = el('div', 'down');
    const fixes = el('div', 'fixes');
    if (exited) {
      box.append(el('p', 'crash-error', 'redis-server exited: under appendfsync always a failed write or fsync is fatal, so that no reply acknowledges a write that is not on disk. The files are as they were: restart it (a fault still set fails it again).'));
      fixes.append(button('Restart redis-server', () => this.restart(null)));
    } else {
      box.append(el('p', 'crash-error', 'redis-server is down: it refused to start on these files.'));
      fixes.append(
        button('Restart with aof-load-truncated yes', () => this.restart({ 'aof-load-truncated': 'yes' })),
        button('redis-check-aof --fix, then restart', async () => {
          const out = await this.run(LAB_ACTIONS.CHECK, { fix: true });
          if (out !== undefined) this.result.append(el('pre', 'log-lines', out));
          await this.restart(null);
        }),
      );
    }
    box.append(el('pre', 'log-lines', lines.join('\n')), fixes);
    this.downBox = box;
    this.result.before(box);
  }

  async restart(settings) {
    const ok = await this.run(LAB_ACTIONS.RESTART, { settings });
    if (ok !== undefined) this.result.append(el('p', 'crash-summary', ok ? 'Restarted: the load log is in the events.' : 'Still refused to start: see the events.'));
  }
}
