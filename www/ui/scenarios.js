// Guided scenarios: a built-in script (www/scenarios/*.txt, listed in index.json) played step
// by step on its own simulated machine in the worker (actions 'scenario-load' and
// 'scenario-step', see protocol.js). The panel reads like a story: the narration in prose, what
// happens next, each step that ran (a check as a plain sentence from the engine, green when it
// passed, red when not), and a predict step as a quick choice, asked before the steps that show
// the answer. The raw script stays behind the "Show the script" toggle.
//
// Only the steps that ran are listed, and the next one is said above them: a later check would
// give a prediction away. Everything the panel says comes from the engine (steps' `sentence`, outcomes'
// `sentence` and `prediction`); this file only draws it.
//
// Keyboard: the select and the buttons are plain controls (Tab, Enter, Space). When a predict
// step is next, the focus moves to its first choice; the choices are buttons (Tab between them,
// Enter to pick), and inside the group the keys 1-9 pick a choice, S or Escape skips. The step
// list is a live region, so a screen reader hears each outcome.

import { SCENARIO_ACTIONS } from '../protocol.js';

const PLAY_MS = 700;
const INDEX_URL = new URL('../scenarios/index.json', import.meta.url);
const CHECKS = new Set(['expect', 'wait']);
const NARRATION = new Set(['say', 'note', 'mark']);
/** The label of a `note` step: where the tutorial article simplifies and Redis 7.0 differs. */
const NOTE_LABEL = 'The article vs Redis 7.0';

/** A copy of `items` in random order (Fisher-Yates): a predict's right answer is not always first. */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

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
    // Play stopped at a predict step: it goes on once the learner answered.
    this.resume = false;
    this.busy = false;
    this.text = '';
    this.build();
  }

  el(tag, cls, text) {
    const e = this.root.ownerDocument.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  build() {
    const el = this.el.bind(this);
    const row = el('div', 'scenario-row');
    const label = el('label', 'sr-only', 'Scenario');
    this.select = el('select', 'scenario-select');
    this.select.id = `scenario-select-${Math.random().toString(36).slice(2, 8)}`;
    label.htmlFor = this.select.id;
    this.stepButton = el('button', 'chip scenario-step', 'Step');
    this.playButton = el('button', 'chip scenario-play', 'Play');
    this.pauseButton = el('button', 'chip scenario-pause', 'Pause');
    this.resetButton = el('button', 'chip scenario-reset', 'Reset');
    this.scriptButton = el('button', 'chip scenario-script-toggle', 'Show the script');
    this.scriptButton.setAttribute('aria-pressed', 'false');
    for (const b of [this.stepButton, this.playButton, this.pauseButton, this.resetButton, this.scriptButton]) b.type = 'button';
    row.append(label, this.select, this.stepButton, this.playButton, this.pauseButton, this.resetButton, this.scriptButton);

    this.narration = el('div', 'scenario-say');
    this.narration.setAttribute('aria-live', 'polite');
    this.predictBox = el('div', 'scenario-predict');
    this.predictBox.setAttribute('role', 'group');
    this.predictBox.hidden = true;
    this.question = el('p', 'scenario-question');
    this.question.id = `${this.select.id}-q`;
    this.predictBox.setAttribute('aria-labelledby', this.question.id);
    this.choices = el('div', 'scenario-choices');
    this.predictBox.append(this.question, this.choices);
    this.nextLine = el('p', 'scenario-next');
    this.summary = el('p', 'meta scenario-summary');
    this.list = el('ol', 'scenario-steps');
    this.list.setAttribute('aria-label', 'Scenario steps');
    this.list.setAttribute('aria-live', 'polite');
    this.source = el('pre', 'scenario-source');
    this.source.hidden = true;
    this.source.setAttribute('aria-label', 'The scenario script');
    this.root.append(row, this.narration, this.predictBox, this.nextLine, this.summary, this.list, this.source);

    this.select.addEventListener('change', () => this.load(this.select.value).catch(() => {}));
    this.stepButton.addEventListener('click', () => this.step());
    this.playButton.addEventListener('click', () => this.play());
    this.pauseButton.addEventListener('click', () => this.pause());
    this.resetButton.addEventListener('click', () => this.load(this.select.value).catch(() => {}));
    this.scriptButton.addEventListener('click', () => this.toggleScript());
    this.predictBox.addEventListener('keydown', (e) => this.predictKey(e));
    this.setControls();
  }

  /** Called when the engine worker is ready: fetch the index, load the initial scenario. */
  async ready() {
    if (!this.select.options.length) {
      try {
        const index = await (await fetch(INDEX_URL)).json();
        const groups = new Map();
        for (const s of index) {
          const section = s.section ?? '';
          if (!groups.has(section)) {
            const g = this.el('optgroup');
            g.label = section || 'Scenarios';
            groups.set(section, g);
            this.select.append(g);
          }
          groups.get(section).append(new Option(s.title, s.name));
        }
      } catch (err) {
        this.narration.textContent = `Could not load the scenarios: ${err.message}`;
        return;
      }
      if (this.initial && [...this.select.options].some((o) => o.value === this.initial)) this.select.value = this.initial;
    }
    // A failure is shown in the panel.
    await this.load(this.select.value).catch(() => {});
  }

  async load(name) {
    if (!name) return;
    // A script given as text (`loadText`) plays again from that text.
    if (name === this.custom?.name) return this.loadText(this.custom.text, name);
    return this.loadText(null, name);
  }

  /**
   * Loads a scenario's text (a host's own script, <aof-lab>.load()); `text` null: the built-in
   * `name` is fetched. Resolves to the steps, or rejects with the engine's reasons (each
   * malformed line) after showing them.
   */
  async loadText(text, name = 'custom') {
    this.pause();
    this.resume = false;
    this.busy = true;
    this.setControls();
    if (text !== null) {
      this.custom = { name, text };
      if (![...this.select.options].some((o) => o.value === name)) this.select.append(new Option(`Your scenario (${name})`, name));
      this.select.value = name;
    }
    let failure = null;
    try {
      if (text === null) {
        const res = await fetch(new URL(`../scenarios/${encodeURIComponent(name)}.txt`, import.meta.url));
        if (!res.ok) throw new Error(`${name}.txt: HTTP ${res.status}`);
        text = await res.text();
      }
      this.text = text;
      const { steps } = await this.act(SCENARIO_ACTIONS.LOAD, { text: this.text });
      this.steps = steps;
      this.next = 0;
      this.root.dataset.scenario = name;
      this.source.textContent = this.text;
      this.list.replaceChildren();
      this.narration.replaceChildren(this.el('p', '', 'Press Step (or Play) to start.'));
      this.narration.classList.remove('is-note');
    } catch (err) {
      this.steps = [];
      this.list.replaceChildren();
      this.narration.textContent = err.message;
      failure = err;
    }
    this.busy = false;
    this.render();
    if (failure) throw failure;
    return this.steps;
  }

  toggleScript() {
    const on = !this.root.classList.contains('show-script');
    this.root.classList.toggle('show-script', on);
    this.scriptButton.setAttribute('aria-pressed', String(on));
    this.source.hidden = !on;
  }

  /** The raw line(s) of a step (with its line number), shown with "Show the script". */
  scriptOf(step, li) {
    const code = this.el('code', 'scenario-script', step.script.split('\n').map((l, i) => (i ? l : `line ${step.line}: ${l}`)).join('\n'));
    li.append(code);
  }

  /** The next step: the predict box, the "Next" line, the list's last item, the summary. */
  render() {
    const step = this.steps[this.next];
    // Before setControls: disabling the focused button (Step, at a predict) moves the focus away.
    const focusWasHere = this.root.contains(this.root.getRootNode().activeElement);
    if (step) {
      const what = step.kind === 'predict' ? 'Predict first: pick an answer, or skip.' : NARRATION.has(step.kind) ? 'Next: read on.' : `Next: ${step.sentence}.`;
      this.nextLine.replaceChildren(this.el('span', 'scenario-next-label', what));
      this.scriptOf(step, this.nextLine);
    } else {
      this.nextLine.textContent = this.steps.length ? 'The scenario is over. Reset plays it again.' : '';
    }
    const items = [...this.list.children];
    const passed = items.filter((li) => li.dataset.result === 'pass').length;
    const failed = items.filter((li) => li.dataset.result === 'fail').length;
    const total = this.steps.filter((s) => CHECKS.has(s.kind)).length;
    const where = this.next >= this.steps.length ? 'done' : `step ${this.next + 1} of ${this.steps.length} next`;
    this.summary.textContent = `${where} · checks: ${passed} passed, ${failed} failed, of ${total}`;
    this.root.dataset.done = String(this.steps.length > 0 && this.next >= this.steps.length);
    this.root.dataset.predicting = String(step?.kind === 'predict');
    this.list.lastElementChild?.scrollIntoView({ block: 'nearest' });
    this.setControls();
    this.showPredict(step?.kind === 'predict' ? step : null, focusWasHere);
  }

  /** Shows (or hides) the quick choice of a predict step, its choices shuffled. */
  showPredict(step, focusWasHere) {
    if (!step) {
      const wasOpen = !this.predictBox.hidden;
      this.predictBox.hidden = true;
      this.choices.replaceChildren();
      if (wasOpen && focusWasHere) (this.timer !== null ? this.pauseButton : this.stepButton).focus();
      return;
    }
    if (!this.predictBox.hidden && this.predictBox.dataset.index === String(this.next)) return;
    this.predictBox.dataset.index = String(this.next);
    this.question.textContent = `Predict: ${step.text}`;
    const buttons = shuffled(step.choices.map((text, i) => ({ text, i }))).map(({ text, i }, n) => {
      const b = this.el('button', 'scenario-choice', `${n + 1}. ${text}`);
      b.type = 'button';
      b.dataset.choice = String(i);
      b.addEventListener('click', () => this.answer(i));
      return b;
    });
    const skip = this.el('button', 'scenario-choice scenario-skip', 'Skip: just show me');
    skip.type = 'button';
    skip.addEventListener('click', () => this.answer(null));
    this.choices.replaceChildren(...buttons, skip);
    this.predictBox.hidden = false;
    // Keep a keyboard user in the flow: from Step / Play / Pause straight to the choices.
    if (focusWasHere) buttons[0]?.focus();
  }

  /** Keys inside the predict group: 1-9 pick a choice, S or Escape skips. */
  predictKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const n = Number(e.key);
    const buttons = [...this.choices.querySelectorAll('.scenario-choice:not(.scenario-skip)')];
    if (Number.isInteger(n) && n >= 1 && n <= buttons.length) {
      e.preventDefault();
      buttons[n - 1].click();
    } else if (e.key === 'Escape' || e.key.toLowerCase() === 's') {
      e.preventDefault();
      this.choices.querySelector('.scenario-skip')?.click();
    }
  }

  /** The learner's answer (an index into the choices as written; null: skip): the step runs. */
  async answer(choice) {
    if (this.steps[this.next]?.kind !== 'predict') return;
    const ok = await this.step(choice);
    if (ok && this.resume) {
      this.resume = false;
      this.play();
    }
  }

  setControls() {
    const done = this.next >= this.steps.length;
    const predicting = this.steps[this.next]?.kind === 'predict';
    // Step stays enabled while a step runs (a second press is ignored): disabling the focused
    // button would drop the keyboard focus. A prediction is answered in its own box.
    this.stepButton.disabled = done || !this.steps.length || predicting;
    this.playButton.disabled = this.busy || done || !this.steps.length || this.timer !== null || predicting;
    this.pauseButton.disabled = this.timer === null;
    this.resetButton.disabled = this.busy || !this.select.value;
    this.select.disabled = this.busy && this.timer === null;
  }

  /** Runs the next step (`answer`: for a predict step). Returns whether it ran. */
  async step(answer) {
    if (this.busy || this.next >= this.steps.length) return false;
    const predict = this.steps[this.next].kind === 'predict';
    if (predict && answer === undefined) return false;
    this.busy = true;
    this.setControls();
    let ok = true;
    try {
      const { outcome } = await this.act(SCENARIO_ACTIONS.STEP, predict ? { answer } : {});
      if (outcome) this.show(outcome);
    } catch (err) {
      this.narration.textContent = err.message;
      ok = false;
    }
    this.busy = false;
    if (this.next >= this.steps.length) this.pause();
    const focusedStep = this.root.getRootNode().activeElement === this.stepButton;
    this.render();
    if (focusedStep && this.stepButton.disabled && this.predictBox.hidden) this.resetButton.focus();
    return ok;
  }

  /** Adds a step that ran to the list (and the narration, for `say` and `note`). */
  show(o) {
    this.next = o.index + 1;
    const step = this.steps[o.index];
    const li = this.el('li', `scenario-step-item ran kind-${o.kind}`);
    li.dataset.index = o.index;
    const text = (cls, t) => li.append(this.el('p', cls, t));
    switch (o.kind) {
      case 'say':
        text('scenario-prose', o.sentence);
        this.narration.replaceChildren(this.el('p', '', o.sentence));
        this.narration.classList.remove('is-note');
        break;
      case 'note': {
        const aside = this.el('aside', 'scenario-note');
        aside.append(this.el('strong', '', NOTE_LABEL), this.el('p', '', o.sentence));
        li.append(aside);
        this.narration.replaceChildren(aside.cloneNode(true));
        this.narration.classList.add('is-note');
        break;
      }
      case 'mark':
        li.append(this.el('strong', 'scenario-mark', o.sentence));
        break;
      case 'command': {
        li.append(this.el('code', 'scenario-command', `> ${o.text}`));
        const out = this.el('pre', 'scenario-out', o.output.join('\n'));
        if (out.textContent) li.append(out);
        break;
      }
      case 'predict': {
        const p = o.prediction;
        li.dataset.predicted = p.given === null ? 'skipped' : p.correct ? 'right' : 'wrong';
        text('scenario-question-done', `Predict: ${o.text}`);
        text('scenario-reveal', o.sentence);
        break;
      }
      case 'crash':
        text('scenario-prose', o.sentence);
        if (o.output.length > 1) {
          const why = this.el('ul', 'scenario-why');
          for (const line of o.output.slice(0, -1)) why.append(this.el('li', '', line));
          li.append(why);
        }
        break;
      case 'check-aof': {
        text('scenario-prose', o.sentence);
        const details = this.el('details', 'scenario-details');
        details.append(this.el('summary', '', 'redis-check-aof output'), this.el('pre', 'scenario-out', o.output.join('\n')));
        li.append(details);
        break;
      }
      default:
        text(CHECKS.has(o.kind) ? 'scenario-check' : 'scenario-prose', o.sentence);
    }
    if (o.passed !== null) li.dataset.result = o.passed ? 'pass' : 'fail';
    // A command is shown as typed already; narration is the script's own text.
    if (step && !NARRATION.has(o.kind) && o.kind !== 'command') this.scriptOf(step, li);
    if (o.passed === false) li.append(this.el('code', 'scenario-script', o.failure));
    this.list.append(li);
  }

  play() {
    if (this.timer !== null || this.next >= this.steps.length) return;
    const tick = async () => {
      if (this.timer === null) return;
      if (this.steps[this.next]?.kind === 'predict') {
        // Wait for the learner: Play goes on after the answer.
        this.resume = true;
        this.pause(true);
        return;
      }
      const ok = await this.step();
      if (!ok || this.next >= this.steps.length) this.pause();
      else if (this.timer !== null) this.timer = setTimeout(tick, PLAY_MS);
    };
    this.timer = setTimeout(tick, 0);
    this.setControls();
    this.pauseButton.focus();
  }

  /** Stops Play (`forPredict`: at a predict step, whose choices take the focus). */
  pause(forPredict = false) {
    if (this.timer !== null) clearTimeout(this.timer);
    const wasPlaying = this.timer !== null;
    this.timer = null;
    if (!forPredict) this.resume = false;
    this.setControls();
    if (forPredict) {
      this.render();
      this.choices.querySelector('button')?.focus();
      return;
    }
    // Keep the keyboard focus in the panel when the focused Pause button becomes disabled.
    if (wasPlaying && this.root.getRootNode().activeElement === this.pauseButton) (this.playButton.disabled ? this.resetButton : this.playButton).focus();
  }
}
