// Guided scenarios: a built-in script (www/scenarios/*.txt, listed in index.json), or an author's
// own (inline in <aof-lab>, or by URL), played step by step ON THE LAB'S OWN VIEWS: starting one
// switches the worker to a scenario session, a fresh memory lab of its own (the learner's lab
// waits aside, untouched), whose steps and predict answers are inputs on its timeline (see
// SCENARIO_ACTIONS in protocol.js). The diagram, the files, the log, the console, the plots show
// it; the timeline bar steps back inside it like anywhere else, and "Back to my lab" ends it.
//
// The panel reads like a story: the narration in prose, what happens next, each step that ran
// (a check as a plain sentence from the engine, green when it passed, red when not), and a
// predict step as a quick choice, asked before the steps that show the answer. The raw script
// stays behind the "Show the script" toggle. What the panel lists is a pure function of the
// timeline at the position (VIEW.scenario: the steps played up to there), so going back in time
// shows the scenario as it was then, and Step from there replays the recorded step (or forks,
// when the answer given differs).
//
// Only the steps that ran are listed, and the next one is said above them: a later check would
// give a prediction away. Everything the panel says comes from the engine (steps' `sentence`,
// outcomes' `sentence` and `prediction`); this file only draws it.
//
// Keyboard: the select and the buttons are plain controls (Tab, Enter, Space). When a predict
// step is next, the focus moves to its first choice; the choices are buttons (Tab between them,
// Enter to pick), and inside the group the keys 1-9 pick a choice, S or Escape skips. The step
// list is a live region, so a screen reader hears each outcome.

import { SCENARIO_ACTIONS, TIMELINE } from '../protocol.js';
import { setText } from './dom.js';

const PLAY_MS = 700;
const INDEX_URL = new URL('../scenarios/index.json', import.meta.url);
const CHECKS = new Set(['expect', 'wait']);
const NARRATION = new Set(['say', 'note', 'mark']);
/** The label of a `note` step: where the tutorial article simplifies and Redis 7.0 differs. */
const NOTE_LABEL = 'The article vs Redis 7.0';
/** The select's value of an author's own scenario. */
const INLINE = '@inline';

/** A copy of `items` in random order (Fisher-Yates): a predict's right answer is not always first. */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The title of an author's scenario: its first comment line, or a plain name. */
function titleOf(text) {
  const first = text.split('\n').find((l) => l.trim().startsWith('#'));
  return first ? first.replace(/^\s*#\s*/, '').split(/[:.]/)[0].trim() || 'Your scenario' : 'Your scenario';
}

export class ScenariosView {
  /**
   * @param {HTMLElement} root where the panel is built
   * @param {(action: string, args: object) => Promise<any>} act sends an ACTION to the worker
   * @param {object} options {initial: the scenario name to select first, start: play it at once
   *   (a page opened with ?scenario=, <aof-lab scenario>), text: an author's own scenario (then
   *   selected and started), leave: false when the host has no lab of its own to go back to (a
   *   tutorial's lab that only plays its scenario: no "Back to my lab")}
   */
  constructor(root, act, options = {}) {
    this.root = root;
    this.act = act;
    this.initial = options.initial ?? '';
    this.inline = options.text ?? null;
    this.autostart = !!options.start || !!this.inline;
    this.titles = new Map();
    this.steps = [];
    this.played = [];
    this.next = 0;
    this.active = false; // the worker plays a scenario session
    this.name = '';
    this.timer = null;
    // Play stopped at a predict step: it goes on once the learner answered.
    this.resume = false;
    this.busy = false;
    this.text = '';
    this.items = new Map(); // outcome key -> list item
    this.underway = new Set(); // promises of the list's fetch and of starts (idle())
    this.leaves = options.leave !== false;
    // A scenario to start once the engine is ready: Step and Play wait for it (idle()), so a
    // learner who reaches Step while the lab starts is not skipped past a disabled button.
    if (this.autostart) this.track(new Promise((resolve) => (this.opened = resolve)));
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
    this.backButton = el('button', 'chip scenario-back', 'Back');
    this.backButton.title = 'One step back: the lab as it was before the last step';
    this.resetButton = el('button', 'chip scenario-reset', 'Reset');
    this.resetButton.title = 'Start the scenario over, on a fresh machine';
    this.leaveButton = el('button', 'chip scenario-leave', 'Back to my lab');
    this.leaveButton.title = 'Leave the scenario: your own lab comes back as you left it';
    this.leaveButton.hidden = !this.leaves;
    this.scriptButton = el('button', 'chip scenario-script-toggle', 'Show the script');
    this.scriptButton.setAttribute('aria-pressed', 'false');
    const buttons = [this.stepButton, this.playButton, this.pauseButton, this.backButton, this.resetButton, this.leaveButton, this.scriptButton];
    for (const b of buttons) b.type = 'button';
    row.append(label, this.select, ...buttons);

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

    // Another scenario while one plays: it starts (the one playing ends); otherwise it is only
    // selected, and Step or Play starts it.
    this.select.addEventListener('change', () => (this.active ? this.start(this.select.value) : this.render()));
    this.stepButton.addEventListener('click', () => this.step());
    this.playButton.addEventListener('click', () => this.play());
    this.pauseButton.addEventListener('click', () => this.pause());
    this.backButton.addEventListener('click', () => this.back());
    this.resetButton.addEventListener('click', () => this.start(this.select.value));
    this.leaveButton.addEventListener('click', () => this.leave());
    this.scriptButton.addEventListener('click', () => this.toggleScript());
    this.predictBox.addEventListener('keydown', (e) => this.predictKey(e));
    this.render();
  }

  /** Called when the engine worker is ready: fetch the index; start the initial scenario when
   *  asked to (once: a new worker is a new lab, the learner's). */
  ready() {
    const open = this.track(this.open());
    this.opened?.();
    this.opened = null;
    return open;
  }

  /** Resolves once the panel has nothing under way (but `except`): the list fetched, a start
   *  finished (a host's step() or load() waits for the scenario its element was given). */
  async idle(except = null) {
    for (;;) {
      const others = [...this.underway].filter((p) => p !== except);
      if (!others.length) return;
      await Promise.allSettled(others);
    }
  }

  /** `promise`, counted as under way until it settles. */
  track(promise) {
    this.underway.add(promise);
    const done = () => this.underway.delete(promise);
    promise.then(done, done);
    return promise;
  }

  async open() {
    this.active = false;
    this.name = '';
    if (!this.select.options.length) {
      if (this.inline) {
        const title = titleOf(this.inline);
        this.titles.set(INLINE, title);
        const o = new Option(title, INLINE);
        this.select.append(o);
      }
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
          this.titles.set(s.name, s.title);
        }
      } catch (err) {
        setText(this.narration, `Could not load the scenarios: ${err.message}`);
        return;
      }
      if (this.inline) this.select.value = INLINE;
      else if (this.initial && [...this.select.options].some((o) => o.value === this.initial)) this.select.value = this.initial;
    }
    this.render();
    if (this.autostart) {
      this.autostart = false;
      await this.start(this.select.value);
    }
  }

  /** Starts scenario `name` on a lab of its own (the worker keeps the learner's aside). */
  start(name) {
    // One start after the other (the select changed while one loads): the last one wins.
    const run = (this.starts ?? Promise.resolve()).then(() => this.begin(name));
    this.starts = run.catch(() => {});
    return this.track(run);
  }

  async begin(name) {
    this.pause();
    this.resume = false;
    if (!name) return false;
    this.busy = true;
    this.setControls();
    let ok = true;
    try {
      let text;
      if (name === INLINE) text = this.inline;
      else if (name === this.custom?.name) text = this.custom.text;
      else {
        const res = await fetch(new URL(`../scenarios/${encodeURIComponent(name)}.txt`, import.meta.url));
        if (!res.ok) throw new Error(`${name}.txt: HTTP ${res.status}`);
        text = await res.text();
      }
      const { steps } = await this.act(SCENARIO_ACTIONS.LOAD, { name, title: this.titles.get(name) ?? name, text });
      this.text = text;
      this.steps = steps;
      this.played = [];
      this.expect = undefined;
      this.next = 0;
      this.active = true;
      this.name = name;
      setText(this.source, text);
    } catch (err) {
      setText(this.narration, err.message);
      ok = false;
    }
    this.busy = false;
    this.render();
    return ok;
  }

  /**
   * Plays a scenario given as text (a host's own script: <aof-lab>.load()) on the lab's views,
   * as a built-in one is. Resolves to its steps, or rejects with the engine's reasons (each
   * malformed line) after showing them.
   */
  async loadText(text, name = 'custom') {
    this.custom = { name, text: String(text) };
    this.titles.set(name, titleOf(this.custom.text));
    if (![...this.select.options].some((o) => o.value === name)) this.select.append(new Option(titleOf(this.custom.text), name));
    this.select.value = name;
    if (!(await this.start(name))) throw new Error(this.narration.textContent);
    return this.steps;
  }

  /** Ends the scenario: the learner's own lab comes back as it was left. */
  async leave() {
    this.pause();
    await this.act(SCENARIO_ACTIONS.EXIT, {}).catch(() => {});
  }

  /**
   * Draws the scenario session of VIEW: `session` is timeline.session, `update` VIEW.scenario
   * (undefined when unchanged): {name, steps (the first time), played: [{seq, outcome}]}.
   */
  onView(session, update) {
    const active = session?.kind === 'scenario';
    if (!active && this.active) {
      // The scenario ended (Back to my lab, another engine): the panel waits for the next one.
      this.pause();
      this.played = [];
    }
    this.active = active;
    if (active) this.name = session.name;
    if (update?.steps) this.steps = update.steps;
    if (update?.played) {
      this.played = update.played;
      this.expect = undefined;
    }
    if (update || active !== this.drawnActive) this.render();
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

  /** The panel at the position: the steps played, the narration, the next step, the summary. */
  render() {
    this.drawnActive = this.active;
    const focusWasHere = this.root.contains(this.root.getRootNode().activeElement);
    const played = this.active ? this.played : [];
    // A step's result says what comes next before its VIEW does.
    this.next = this.expect ?? (played.length ? played[played.length - 1].outcome.index + 1 : 0);
    const steps = this.active ? this.steps : [];
    if (this.active) this.root.dataset.scenario = this.name;
    else delete this.root.dataset.scenario;
    this.root.dataset.active = String(this.active);
    // The list: one item per step played (kept from draw to draw).
    const items = played.map((p) => this.item(p));
    const same = items.length === this.list.childElementCount && items.every((li, i) => this.list.children[i] === li);
    if (!same) this.list.replaceChildren(...items);
    this.narrate(played);
    const step = steps[this.next];
    if (!this.active) {
      const aside = this.leaves ? ', on a machine of its own (your lab waits aside, untouched)' : '';
      setText(this.nextLine, this.select.value ? `Press Step or Play: the scenario plays on the lab’s own views${aside}.` : '');
    } else if (step) {
      const what = step.kind === 'predict' ? 'Predict first: pick an answer, or skip.' : NARRATION.has(step.kind) ? 'Next: read on.' : `Next: ${step.sentence}.`;
      this.nextLine.replaceChildren(this.el('span', 'scenario-next-label', what));
      this.scriptOf(step, this.nextLine);
    } else {
      setText(this.nextLine, steps.length ? `The scenario is over. Reset plays it again${this.leaves ? '; Back to my lab returns to your own' : ''}.` : '');
    }
    const outcomes = played.map((p) => p.outcome);
    const passed = outcomes.filter((o) => o.passed === true).length;
    const failed = outcomes.filter((o) => o.passed === false).length;
    const total = steps.filter((s) => CHECKS.has(s.kind)).length;
    const where = !this.active ? 'not started' : this.next >= steps.length ? 'done' : `step ${this.next + 1} of ${steps.length} next`;
    setText(this.summary, `${where} · checks: ${passed} passed, ${failed} failed, of ${total}`);
    this.root.dataset.done = String(steps.length > 0 && this.next >= steps.length);
    this.root.dataset.predicting = String(step?.kind === 'predict');
    if (!same) this.list.lastElementChild?.scrollIntoView({ block: 'nearest' });
    this.setControls();
    this.showPredict(step?.kind === 'predict' ? step : null, focusWasHere);
  }

  /** The narration box: the last `say` or `note` played. */
  narrate(played) {
    const last = [...played].reverse().find((p) => p.outcome.kind === 'say' || p.outcome.kind === 'note')?.outcome;
    const key = last ? `${last.index}` : this.active ? 'start' : 'idle';
    if (key === this.narrated) return;
    this.narrated = key;
    this.narration.classList.toggle('is-note', last?.kind === 'note');
    if (!last) {
      this.narration.replaceChildren(this.el('p', '', this.active ? 'Press Step (or Play) to start.' : 'Pick a scenario of the tutorial: it plays here, step by step, in the diagram, the files, the log and the console.'));
    } else if (last.kind === 'note') {
      const aside = this.el('aside', 'scenario-note');
      aside.append(this.el('strong', '', NOTE_LABEL), this.el('p', '', last.sentence));
      this.narration.replaceChildren(aside);
    } else {
      this.narration.replaceChildren(this.el('p', '', last.sentence));
    }
  }

  /** Shows (or hides) the quick choice of a predict step, its choices shuffled. */
  showPredict(step, focusWasHere) {
    if (!step) {
      const wasOpen = !this.predictBox.hidden;
      this.predictBox.hidden = true;
      this.choices.replaceChildren();
      delete this.predictBox.dataset.index;
      if (wasOpen && focusWasHere) (this.timer !== null ? this.pauseButton : this.stepButton).focus();
      return;
    }
    if (!this.predictBox.hidden && this.predictBox.dataset.index === String(this.next)) return;
    this.predictBox.dataset.index = String(this.next);
    setText(this.question, `Predict: ${step.text}`);
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
    const steps = this.active ? this.steps : [];
    const done = this.active && this.next >= steps.length;
    const predicting = steps[this.next]?.kind === 'predict';
    // Step stays enabled while a step runs (a second press is ignored): disabling the focused
    // button would drop the keyboard focus. A prediction is answered in its own box.
    // A scenario is chosen, or about to be (the lab starts with one: Step waits for it).
    const chosen = !!this.select.value || this.autostart;
    this.stepButton.disabled = !chosen || done || predicting;
    this.playButton.disabled = this.busy || !chosen || done || this.timer !== null || predicting;
    this.pauseButton.disabled = this.timer === null;
    this.backButton.disabled = !this.active || this.played.length === 0;
    this.resetButton.disabled = this.busy || !this.select.value;
    this.leaveButton.disabled = !this.active;
    // The select stays enabled while a scenario loads (a Tab never skips it): another choice
    // starts after the one under way.
  }

  /** One step back: the lab as it was after the step before the last one played. */
  back() {
    this.pause();
    const p = this.played;
    if (!p.length) return undefined;
    return this.act(TIMELINE.SEEK, { seq: p.length > 1 ? p[p.length - 2].seq : 0 }).catch((err) => {
      setText(this.narration, err.message);
    });
  }

  /** Runs the next step (`answer`: for a predict step); starts the selected scenario first
   *  when none plays. Returns whether it ran. */
  async step(answer) {
    // Pressed while the lab starts its scenario: the step runs once it is loaded.
    await this.idle();
    if (this.busy) return false;
    if (!this.active || this.name !== this.select.value) {
      if (!(await this.start(this.select.value))) return false;
    }
    if (this.next >= this.steps.length) return false;
    const predict = this.steps[this.next].kind === 'predict';
    if (predict && answer === undefined) return false;
    this.busy = true;
    this.setControls();
    let ok = true;
    let next = this.next;
    try {
      const out = await this.act(SCENARIO_ACTIONS.STEP, predict ? { answer } : {});
      next = out.next;
      this.expect = next;
    } catch (err) {
      setText(this.narration, err.message);
      this.narrated = null;
      ok = false;
    }
    this.busy = false;
    if (next >= this.steps.length) this.pause();
    const focusedStep = this.root.getRootNode().activeElement === this.stepButton;
    this.render();
    if (focusedStep && this.stepButton.disabled && this.predictBox.hidden) this.resetButton.focus();
    return ok;
  }

  /** The list item of a step played (`{seq, outcome}`), made once. */
  item({ seq, outcome: o }) {
    const key = `${seq}|${JSON.stringify(o)}`;
    let li = this.items.get(key);
    if (li) return li;
    const step = this.steps[o.index];
    li = this.el('li', `scenario-step-item ran kind-${o.kind}`);
    li.dataset.index = o.index;
    li.dataset.seq = String(seq);
    const text = (cls, t) => li.append(this.el('p', cls, t));
    switch (o.kind) {
      case 'say':
        text('scenario-prose', o.sentence);
        break;
      case 'note': {
        const aside = this.el('aside', 'scenario-note');
        aside.append(this.el('strong', '', NOTE_LABEL), this.el('p', '', o.sentence));
        li.append(aside);
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
    this.items.set(key, li);
    return li;
  }

  play() {
    if (this.timer !== null) return;
    const tick = async () => {
      if (this.timer === null) return;
      if (this.active && this.steps[this.next]?.kind === 'predict') {
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
