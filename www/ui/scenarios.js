// Guided scenarios: a built-in script (www/scenarios/*.txt, listed in index.json) played step
// by step on its own simulated machine in the worker (actions 'scenario-load' and
// 'scenario-step', see protocol.js). The panel shows the steps, which one runs next, the
// narration, each step's output, and each `expect` in green (passed) or red (failed).
//
// Keyboard: the select and the buttons are plain controls (Tab, Enter, Space); the step list
// is a live region, so a screen reader hears each outcome.

import { SCENARIO_ACTIONS } from '../protocol.js';

const PLAY_MS = 700;
const INDEX_URL = new URL('../scenarios/index.json', import.meta.url);

export class ScenariosView {
  /**
   * @param {HTMLElement} root where the panel is built
   * @param {(action: string, args: object) => Promise<any>} act sends an ACTION to the worker
   * @param {object} options {initial: the scenario name to select first}
   */
  constructor(root, act, options = {}) {
    this.root = root;
    this.act = act;
    this.initial = options.initial ?? '';
    this.steps = [];
    this.next = 0;
    this.timer = null;
    this.busy = false;
    this.text = '';
    this.build();
  }

  build() {
    const doc = this.root.ownerDocument;
    const el = (tag, cls, text) => {
      const e = doc.createElement(tag);
      if (cls) e.className = cls;
      if (text) e.textContent = text;
      return e;
    };
    const row = el('div', 'scenario-row');
    const label = el('label', 'sr-only', 'Scenario');
    this.select = el('select', 'scenario-select');
    this.select.id = 'scenario-select';
    label.htmlFor = this.select.id;
    this.stepButton = el('button', 'chip scenario-step', 'Step');
    this.playButton = el('button', 'chip scenario-play', 'Play');
    this.pauseButton = el('button', 'chip scenario-pause', 'Pause');
    this.resetButton = el('button', 'chip scenario-reset', 'Reset');
    for (const b of [this.stepButton, this.playButton, this.pauseButton, this.resetButton]) b.type = 'button';
    row.append(label, this.select, this.stepButton, this.playButton, this.pauseButton, this.resetButton);
    this.narration = el('p', 'scenario-say');
    this.narration.setAttribute('aria-live', 'polite');
    this.summary = el('p', 'meta scenario-summary');
    this.list = el('ol', 'scenario-steps');
    this.list.setAttribute('aria-label', 'Scenario steps');
    this.root.append(row, this.narration, this.summary, this.list);
    this.select.addEventListener('change', () => this.load(this.select.value));
    this.stepButton.addEventListener('click', () => this.step());
    this.playButton.addEventListener('click', () => this.play());
    this.pauseButton.addEventListener('click', () => this.pause());
    this.resetButton.addEventListener('click', () => this.load(this.select.value));
    this.setControls();
  }

  /** Called when the engine worker is ready: fetch the index, load the initial scenario. */
  async ready() {
    if (!this.select.options.length) {
      try {
        const index = await (await fetch(INDEX_URL)).json();
        for (const s of index) this.select.append(new Option(s.title, s.name));
      } catch (err) {
        this.narration.textContent = `Could not load the scenarios: ${err.message}`;
        return;
      }
      if (this.initial && [...this.select.options].some((o) => o.value === this.initial)) this.select.value = this.initial;
    }
    await this.load(this.select.value);
  }

  async load(name) {
    this.pause();
    if (!name) return;
    this.busy = true;
    this.setControls();
    try {
      const res = await fetch(new URL(`../scenarios/${encodeURIComponent(name)}.txt`, import.meta.url));
      if (!res.ok) throw new Error(`${name}.txt: HTTP ${res.status}`);
      this.text = await res.text();
      const { steps } = await this.act(SCENARIO_ACTIONS.LOAD, { text: this.text });
      this.steps = steps;
      this.next = 0;
      this.root.dataset.scenario = name;
      this.renderSteps();
      this.narration.textContent = 'Press Step (or Play) to start.';
    } catch (err) {
      this.steps = [];
      this.renderSteps();
      this.narration.textContent = err.message;
    }
    this.busy = false;
    this.setControls();
  }

  renderSteps() {
    const doc = this.root.ownerDocument;
    this.list.replaceChildren(
      ...this.steps.map((s, i) => {
        const li = doc.createElement('li');
        li.className = `scenario-step-item kind-${s.kind}`;
        li.dataset.index = i;
        const text = doc.createElement('code');
        text.textContent = s.kind === 'say' ? `say ${s.text}` : s.kind === 'expect' ? `expect ${s.text}` : s.text;
        li.append(text);
        return li;
      }),
    );
    this.mark();
  }

  /** Highlights the next step; updates the pass/fail summary. */
  mark() {
    for (const li of this.list.children) {
      const next = Number(li.dataset.index) === this.next;
      li.classList.toggle('next', next);
      if (next) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    }
    const items = [...this.list.children];
    const passed = items.filter((li) => li.dataset.result === 'pass').length;
    const failed = items.filter((li) => li.dataset.result === 'fail').length;
    const total = this.steps.filter((s) => s.kind === 'expect').length;
    const where = this.next >= this.steps.length ? 'done' : `step ${this.next + 1} of ${this.steps.length} next`;
    this.summary.textContent = `${where} · expects: ${passed} passed, ${failed} failed, of ${total}`;
    this.root.dataset.done = String(this.steps.length > 0 && this.next >= this.steps.length);
    this.list.querySelector('.next')?.scrollIntoView({ block: 'nearest' });
  }

  setControls() {
    const done = this.next >= this.steps.length;
    // Step stays enabled while a step runs (a second press is ignored): disabling the focused
    // button would drop the keyboard focus.
    this.stepButton.disabled = done || !this.steps.length;
    this.playButton.disabled = this.busy || done || !this.steps.length || this.timer !== null;
    this.pauseButton.disabled = this.timer === null;
    this.resetButton.disabled = this.busy || !this.select.value;
    this.select.disabled = this.busy && this.timer === null;
  }

  async step() {
    if (this.busy || this.next >= this.steps.length) return false;
    this.busy = true;
    this.setControls();
    let ok = true;
    try {
      const { outcome } = await this.act(SCENARIO_ACTIONS.STEP, {});
      if (outcome) this.show(outcome);
    } catch (err) {
      this.narration.textContent = err.message;
      ok = false;
    }
    this.busy = false;
    this.mark();
    if (this.next >= this.steps.length) this.pause();
    const focusedStep = this.root.getRootNode().activeElement === this.stepButton;
    this.setControls();
    if (focusedStep && this.stepButton.disabled) this.resetButton.focus();
    return ok;
  }

  show(o) {
    this.next = o.index + 1;
    const li = this.list.children[o.index];
    if (!li) return;
    li.classList.add('ran');
    if (o.kind === 'say') {
      this.narration.textContent = o.text;
      return;
    }
    if (o.passed !== null) li.dataset.result = o.passed ? 'pass' : 'fail';
    li.querySelector('.scenario-out')?.remove();
    const out = this.root.ownerDocument.createElement('pre');
    out.className = 'scenario-out';
    out.textContent = o.passed === false ? o.failure : o.output.join('\n');
    if (out.textContent) li.append(out);
  }

  play() {
    if (this.timer !== null || this.next >= this.steps.length) return;
    const tick = async () => {
      if (this.timer === null) return;
      const ok = await this.step();
      if (!ok || this.next >= this.steps.length) this.pause();
      else if (this.timer !== null) this.timer = setTimeout(tick, PLAY_MS);
    };
    this.timer = setTimeout(tick, 0);
    this.setControls();
    this.pauseButton.focus();
  }

  pause() {
    if (this.timer !== null) clearTimeout(this.timer);
    const wasPlaying = this.timer !== null;
    this.timer = null;
    this.setControls();
    // Keep the keyboard focus in the panel when the focused Pause button becomes disabled.
    if (wasPlaying && this.root.getRootNode().activeElement === this.pauseButton) (this.playButton.disabled ? this.resetButton : this.playButton).focus();
  }
}
