// The timeline bar: where the lab is in its history, and the controls to move through it.
//
// A native <input type="range"> (a WAI-ARIA slider that touch-based assistive technology can
// use) laid over a painted tape of the marks the engine records per input: writes, fsyncs,
// rewrites, BGSAVEs, crashes, refused starts, settings, scenario steps, predictions, bookmarks,
// and where branches fork. Its value is the position (the inputs applied, 0 = the start), its
// aria-valuetext reads like "12.4 s, input 37 of 120, SET c 3, after power loss".
//
// Buttons: step back, play / pause, step forward, live, the speed (0.1x … 100x of simulated
// time), share. Keys on the slider: ←/→ (↓/↑) one input, PageDown/PageUp ten, Home the start,
// End live, Space play / pause. Anywhere in the lab but a text field: `,` `.` step, `L` live,
// `[` `]` speed, Space play / pause (when the focus is on no control). A polite live region
// speaks the position on pause and on steps only, never while playing.
//
// In the past the bar says so: what the page shows is input N of M, acting now forks and the
// later history is kept as branch K; on OPFS / IndexedDB, acting there rewrites the browser's
// files. The branches are listed with Return and Discard. A pure view of VIEW.timeline: what
// it sends are TIMELINE actions (lab.js), what it shows comes back in the next VIEW.

import { BRANCH_OPS, SCENARIO_ACTIONS, TIMELINE } from '../protocol.js';
import { reducedMotion } from './motion.js';
import { el, setText } from './dom.js';

const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];
/** The tape is repainted at most this often (the thumb follows every VIEW). */
const TAPE_MS = 250;
/** The mark drawn for an input: the first of its flags (or its kind) found here. */
const MARK_STYLES = [
  ['crash', '--err', 1],
  ['refused', '--err', 1],
  ['exited', '--err', 1],
  ['fork', '--focus', 1],
  ['rewrite', '--mbulk', 0.85],
  ['rdb', '--mbulk', 0.6],
  ['mark', '--accent', 0.9],
  ['predict', '--accent', 0.6],
  ['fault', '--err', 0.7],
  ['config', '--blen', 0.7],
  ['restart', '--blen', 0.7],
  ['import', '--blen', 0.7],
  ['scenario', '--int', 0.5],
  ['fsync', '--layer-disk', 0.55],
  ['write', '--layer-cache', 0.4],
];
const STORES = { opfs: 'OPFS', indexeddb: 'IndexedDB' };

function button(cls, text, label) {
  const b = el('button', `tl-btn ${cls}`, text);
  b.type = 'button';
  if (label) {
    b.setAttribute('aria-label', label);
    b.title = label;
  }
  return b;
}

const secs = (ms) => (ms / 1000).toFixed(1);
const plural = (n, one, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** The slider's sentence for a VIEW's timeline. */
export function valueText(t) {
  const at = t.context?.at ? t.context.at.text : 'the start';
  const after = t.context?.after ? `, after ${t.context.after}` : '';
  return `${secs(t.now - t.t0)} s, input ${t.position} of ${t.head}, ${at}${after}`;
}

export class TimelineView {
  /**
   * @param {HTMLElement} root where the bar is built
   * @param {object} hooks {act(action, args), share(): {url, tooLong, bytes, length, position},
   *   download(bytes), openRecording(bytes), backend(): the storage in use ('opfs' …),
   *   keys: the element whose keydown events are the lab's (global keys)}
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.t = null;
    this.marks = [];
    this.branches = [];
    this.branchesGen = -1;
    this.want = null; // a seek waiting for the one in flight (latest wins)
    this.seeking = false;
    this.dragging = false;
    this.speak = false;
    this.tapeAt = 0;
    this.tapeTimer = null;
    this.build();
  }

  build() {
    const controls = el('div', 'tl-controls');
    controls.setAttribute('role', 'group');
    controls.setAttribute('aria-label', 'Timeline controls');
    this.backButton = button('tl-back', '◀', 'Step back one input (← or ,)');
    this.playButton = button('tl-play', 'Play', 'Play (Space)');
    this.playButton.setAttribute('aria-pressed', 'false');
    this.forwardButton = button('tl-forward', '▶', 'Step forward one input (→ or .)');
    this.liveButton = button('tl-live', 'Live', 'Back to the present (End or L)');
    const speed = el('label', 'tl-speed');
    speed.append(el('span', 'sr-only', 'Speed of simulated time'));
    this.speed = el('select', 'tl-speed-select');
    for (const s of SPEEDS) {
      const o = el('option', null, `${s}×`);
      o.value = String(s);
      this.speed.append(o);
    }
    this.speed.value = '1';
    this.speed.title = 'Speed of simulated time ([ and ])';
    speed.append(this.speed);
    this.shareButton = button('tl-share-button', 'Share', 'Share this lab as a link');
    const motion = el('label', 'tl-motion');
    this.motion = Object.assign(document.createElement('input'), { type: 'checkbox' });
    this.motion.checked = reducedMotion.matches;
    motion.append(this.motion, el('span', null, 'Reduce motion'));
    controls.append(this.backButton, this.playButton, this.forwardButton, this.liveButton, speed, this.shareButton, motion);

    const track = el('div', 'tl-track');
    this.tape = el('canvas', 'tl-tape');
    this.tape.setAttribute('aria-hidden', 'true');
    this.range = Object.assign(document.createElement('input'), { type: 'range', min: '0', max: '0', step: '1', value: '0' });
    this.range.className = 'tl-range';
    this.range.setAttribute('aria-label', 'Timeline: the input the lab shows');
    track.append(this.tape, this.range);

    const info = el('div', 'tl-info');
    this.status = el('p', 'tl-status');
    this.where = el('span', 'tl-where');
    this.note = el('span', 'tl-note');
    this.status.append(this.where, this.note);
    this.actions = el('div', 'tl-actions');
    info.append(this.status, this.actions);
    this.liveRegion = el('p', 'sr-only');
    this.liveRegion.setAttribute('aria-live', 'polite');
    this.shareBox = el('div', 'tl-share');
    this.shareBox.hidden = true;
    this.root.append(controls, track, info, this.shareBox, this.liveRegion);

    this.backButton.addEventListener('click', () => this.back());
    this.forwardButton.addEventListener('click', () => this.forward());
    this.playButton.addEventListener('click', () => this.togglePlay());
    this.liveButton.addEventListener('click', () => this.live());
    this.speed.addEventListener('change', () => this.setSpeed(Number(this.speed.value)));
    this.shareButton.addEventListener('click', () => this.share());
    this.motion.addEventListener('change', () => reducedMotion.choose(this.motion.checked ? 'reduce' : 'full'));
    reducedMotion.addEventListener('change', () => (this.motion.checked = reducedMotion.matches));
    this.range.addEventListener('keydown', (e) => this.rangeKey(e));
    this.range.addEventListener('input', () => this.seekTo(Number(this.range.value)));
    this.range.addEventListener('pointerdown', () => (this.dragging = true));
    this.range.addEventListener('pointerup', () => (this.dragging = false));
    this.range.addEventListener('change', () => (this.dragging = false));
    (this.hooks.keys ?? document).addEventListener('keydown', (e) => this.globalKey(e));
    new ResizeObserver(() => this.paint(true)).observe(track);
  }

  // ----- acting -----

  act(action, args = {}) {
    return this.hooks.act(action, args).catch((err) => {
      setText(this.note, err.message);
      return undefined;
    });
  }

  /** A move the live region reads out once its VIEW is drawn. */
  async moved(action, args) {
    const position = await this.act(action, args);
    if (typeof position === 'number') this.sayAt(position);
    return position;
  }

  /** Speaks the position once the page shows `position` (now, if its VIEW came first). */
  sayAt(position) {
    if (this.t && (position === true || this.t.position === position)) {
      this.speak = false;
      this.liveRegion.textContent = valueText(this.t);
    } else this.speak = position;
  }

  back() {
    return this.moved(TIMELINE.STEP_BACK);
  }

  forward() {
    return this.moved(TIMELINE.STEP);
  }

  live() {
    return this.moved(TIMELINE.LIVE);
  }

  async togglePlay() {
    const playing = this.t?.playing;
    await this.act(playing ? TIMELINE.PAUSE : TIMELINE.PLAY);
    if (playing) this.sayAt(true);
  }

  setSpeed(speed) {
    return this.act(TIMELINE.SPEED, { speed });
  }

  /** Seeks to input `seq`; while one seek is in flight only the latest wanted follows it. */
  async seekTo(seq) {
    const head = this.t?.head ?? 0;
    this.want = Math.max(0, Math.min(head, seq));
    if (this.seeking) return;
    this.seeking = true;
    try {
      while (this.want !== null) {
        const s = this.want;
        this.want = null;
        const position = await this.act(TIMELINE.SEEK, { seq: s });
        if (typeof position === 'number' && this.want === null) this.sayAt(position);
      }
    } finally {
      this.seeking = false;
      // A VIEW drawn while the seek was in flight left the slider alone; when it came before
      // the answer, no other may follow (paused): put the slider where the page is now.
      if (!this.dragging && this.t) this.range.value = String(this.t.position);
    }
  }

  /** The position the keys move from: the one wanted, if a seek is on its way. */
  here() {
    return this.want ?? this.t?.position ?? 0;
  }

  rangeKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    switch (e.key) {
      case 'ArrowLeft':
      case 'ArrowDown':
        this.back();
        break;
      case 'ArrowRight':
      case 'ArrowUp':
        this.forward();
        break;
      case 'PageUp':
        this.seekTo(this.here() + 10);
        break;
      case 'PageDown':
        this.seekTo(this.here() - 10);
        break;
      case 'Home':
        this.seekTo(0);
        break;
      case 'End':
        this.live();
        break;
      case ' ':
        this.togglePlay();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  /** The lab's keys wherever the focus is, but in a text field (the console) or a widget
   *  with keys of its own. */
  globalKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.target === this.range) return;
    const target = e.composedPath?.()[0] ?? e.target;
    const tag = target?.tagName;
    if (target?.isContentEditable || tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(target.type))) return;
    if (target?.closest?.('[role="grid"], .scenario-predict')) return;
    switch (e.key) {
      case ',':
        this.back();
        break;
      case '.':
        this.forward();
        break;
      case 'l':
      case 'L':
        this.live();
        break;
      case '[':
      case ']': {
        const i = SPEEDS.indexOf(Number(this.speed.value));
        const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 3 : i) + (e.key === ']' ? 1 : -1)))];
        this.speed.value = String(next);
        this.setSpeed(next);
        break;
      }
      case ' ':
        // Space on a control is that control's; on the page itself it plays.
        if (tag && !['BODY', 'HTML', 'MAIN', 'SECTION', 'DIV', 'P'].includes(tag)) return;
        this.togglePlay();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  // ----- drawing -----

  /** A new engine: its history starts over. */
  reset() {
    this.t = null;
    this.marks = [];
    this.branches = [];
    this.branchesGen = -1;
    this.shareBox.hidden = true;
    this.paint(true);
  }

  /** Draws VIEW.timeline. */
  render(t) {
    const headChanged = !this.t || this.t.head !== t.head || this.t.position !== t.position;
    if (t.marks_reset) this.marks = t.marks.slice();
    else if (t.marks?.length) this.marks.push(...t.marks);
    this.t = t;
    this.root.dataset.past = String(t.position < t.head);
    this.root.dataset.session = t.session?.kind ?? 'lab';
    this.root.dataset.position = String(t.position);
    this.range.max = String(t.head);
    if (!this.dragging && this.want === null && !this.seeking) this.range.value = String(t.position);
    const text = valueText(t);
    this.range.setAttribute('aria-valuetext', text);
    setText(this.playButton, t.playing ? 'Pause' : 'Play');
    this.playButton.setAttribute('aria-pressed', String(!!t.playing));
    this.playButton.setAttribute('aria-label', t.playing ? 'Pause (Space)' : 'Play (Space)');
    this.playButton.title = this.playButton.getAttribute('aria-label');
    if (document.activeElement !== this.speed) this.speed.value = String(SPEEDS.includes(t.speed) ? t.speed : 1);
    this.liveButton.disabled = false;
    setText(this.where, `${secs(t.now - t.t0)} s · input ${t.position.toLocaleString('en')} of ${t.head.toLocaleString('en')}${t.context?.at ? ` · ${t.context.at.text}` : ''}${t.context?.after ? ` · after ${t.context.after}` : ''}`);
    setText(this.note, this.sentence(t));
    if (t.generation !== this.branchesGen) this.loadBranches(t.generation);
    else if (headChanged) this.drawActions();
    if (this.speak !== false && (this.speak === true || this.speak === t.position)) {
      this.speak = false;
      this.liveRegion.textContent = text;
    }
    this.paint(t.marks_reset || headChanged);
  }

  /** What the page shows, in a sentence: the present, or the past and what acting does. */
  sentence(t) {
    const store = STORES[this.hooks.backend?.()];
    const scenario = t.session?.kind === 'scenario' ? ` Scenario “${t.session.title}”, on a lab of its own: your lab waits aside, untouched.` : '';
    if (t.position >= t.head) {
      return ` Live: the present.${t.playing ? ' Simulated time runs.' : ' Paused.'}${scenario}`;
    }
    const later = t.head - t.position;
    const files = store && t.session?.kind !== 'scenario' ? ` The files in ${store} hold the present: acting here rewrites them to this point.` : '';
    return ` You are in the past. Acting now (a command, a crash, a setting) forks: the later ${plural(later, 'input')} ${later === 1 ? 'is' : 'are'} kept as branch ${t.next_branch}.${files}${scenario}`;
  }

  async loadBranches(generation) {
    this.branchesGen = generation;
    const branches = await this.act(TIMELINE.BRANCHES);
    if (Array.isArray(branches) && this.branchesGen === generation) this.branches = branches;
    this.drawActions();
  }

  /** The other branches with Return / Discard, and leaving a scenario (Live is a control). */
  drawActions() {
    const t = this.t;
    if (!t) return;
    const items = [];
    for (const br of this.branches.filter((x) => !x.current)) {
      const li = el('span', 'tl-branch');
      li.dataset.branch = String(br.id);
      li.append(el('span', 'tl-branch-name', `Branch ${br.id}: ${plural(Math.max(0, br.head_seq - br.diverges_at), 'input')} after input ${br.diverges_at.toLocaleString('en')}`));
      const ret = button('tl-branch-return', 'Return', `Return to branch ${br.id} (its last input)`);
      ret.addEventListener('click', async () => {
        await this.act(TIMELINE.BRANCH, { op: BRANCH_OPS.SWITCH, id: br.id });
        await this.moved(TIMELINE.SEEK, { seq: br.head_seq });
      });
      const del = button('tl-branch-discard', 'Discard', `Discard branch ${br.id}`);
      del.addEventListener('click', () => this.act(TIMELINE.BRANCH, { op: BRANCH_OPS.DISCARD, id: br.id }));
      li.append(ret, del);
      items.push(li);
    }
    if (t.session?.kind === 'scenario') {
      const b = button('tl-leave', 'Back to my lab', 'Leave the scenario: your own lab comes back as you left it');
      b.addEventListener('click', () => this.act(SCENARIO_ACTIONS.EXIT));
      items.push(b);
    }
    this.actions.replaceChildren(...items);
  }

  /** Repaints the tape (at most every TAPE_MS unless `now`). */
  paint(now = false) {
    if (!now && performance.now() - this.tapeAt < TAPE_MS) {
      this.tapeTimer ??= setTimeout(() => {
        this.tapeTimer = null;
        this.paint(true);
      }, TAPE_MS);
      return;
    }
    this.tapeAt = performance.now();
    const canvas = this.tape;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const t = this.t;
    const head = Math.max(1, t?.head ?? 0);
    const styles = getComputedStyle(this.root);
    const color = (v) => styles.getPropertyValue(v).trim() || '#888';
    // The thumb's travel: the range's width minus its thumb (the marks line up with it).
    const pad = 8;
    const x = (seq) => pad + (seq / head) * (width - 2 * pad);
    ctx.fillStyle = color('--border');
    ctx.fillRect(pad, height / 2 - 1, width - 2 * pad, 2);
    for (const m of this.marks) {
      const names = new Set([...(m.flags ?? []), m.kind]);
      const style = MARK_STYLES.find(([name]) => names.has(name));
      if (!style) continue;
      const h = Math.max(10, (height - 8) * style[2]);
      ctx.fillStyle = color(style[1]);
      ctx.fillRect(Math.round(x(m.seq)) - 1, (height - h) / 2, 2, h);
    }
    if (t && t.position < t.head) {
      // The recorded future, dimmed: what the page does not show.
      ctx.fillStyle = color('--panel');
      ctx.globalAlpha = 0.6;
      ctx.fillRect(x(t.position) + 1, 0, width - x(t.position), height);
      ctx.globalAlpha = 1;
    }
  }

  // ----- sharing -----

  async share() {
    const box = this.shareBox;
    box.hidden = false;
    box.replaceChildren(el('p', 'meta', 'Making the link…'));
    let link;
    try {
      link = await this.hooks.share();
    } catch (err) {
      box.replaceChildren(el('p', 'crash-error', err.message));
      return;
    }
    const close = button('tl-share-close', 'Close', 'Close the share box');
    close.addEventListener('click', () => {
      box.hidden = true;
      this.shareButton.focus();
    });
    const open = el('label', 'tl-open');
    const file = Object.assign(document.createElement('input'), { type: 'file', accept: '.aoflab,application/octet-stream' });
    file.addEventListener('change', async () => {
      const f = file.files?.[0];
      if (f) await this.hooks.openRecording(new Uint8Array(await f.arrayBuffer()));
    });
    open.append(el('span', null, 'Open a recording file: '), file);
    const what = `input ${link.position} of this line, replayed in the receiver’s tab (in memory; their own lab is left alone), with a digest that says whether they got the same files, byte for byte`;
    if (link.tooLong) {
      const save = button('tl-save', 'Save the recording', 'Save the recording as a file');
      save.addEventListener('click', () => this.hooks.download(link.bytes));
      box.replaceChildren(el('p', 'tl-share-text', `The link would be ${link.length.toLocaleString('en')} characters, too long to share: save the recording as a file instead (it opens ${what}).`), save, open, close);
      save.focus();
      return;
    }
    const field = Object.assign(document.createElement('input'), { type: 'text', readOnly: true, value: link.url });
    field.className = 'tl-link';
    field.setAttribute('aria-label', 'The link');
    const said = el('p', 'tl-share-text', `A link to ${what}.`);
    const copy = button('tl-copy', 'Copy', 'Copy the link');
    copy.addEventListener('click', () => this.copy(link.url, said, field));
    box.replaceChildren(said, field, copy, open, close);
    await this.copy(link.url, said, field);
  }

  async copy(url, said, field) {
    try {
      await navigator.clipboard.writeText(url);
      said.dataset.copied = 'true';
      setText(said, `Copied: ${said.textContent.replace(/^Copied: /, '')}`);
    } catch {
      // No clipboard here (permission, an insecure context): the field is selected to copy.
      field.focus();
      field.select();
    }
  }
}
