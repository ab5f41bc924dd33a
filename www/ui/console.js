// The console view: an input line with history, and the transcript of commands and replies
// rendered as redis-cli renders them.
//
// The transcript is a pure function of the timeline at the position: what was typed and
// answered up to there (VIEW.console, the inputs' recorded replies; lab actions such as a crash
// or a scenario step appear with what they said), so the past reads exactly like the present.
// Two things the timeline does not hold are kept here: the lines sent and not yet in a VIEW
// (shown at the end, with their reply as soon as it comes), and the lab's own notes (anchored at
// the position where they were said; a note from later is not shown in the past).
//
// Typing in the past forks the history: the line above the prompt says so while the position
// is in the past (the bar says what the fork keeps).

import { follow, keepAtEnd, reconcile, scrollAll } from './lists.js';
import { el, setText } from './dom.js';

const HISTORY_MAX = 200;
const NOTES_MAX = 60;
/** Lines on their way drawn at most (a script may send thousands at once). */
const PENDING_SHOWN = 300;

/** Classifies a redis-cli rendered reply, for colouring only. */
export function replyKind(text) {
  if (text.startsWith('(error)')) return 'error';
  if (text.startsWith('(integer)')) return 'integer';
  if (text === '(nil)' || text === '(empty array)') return 'nil';
  if (text.startsWith('"')) return 'bulk';
  if (/^\s*1\) /.test(text)) return 'array';
  return 'status';
}

/** A command line as typed: `aof-lab> SET k v`. */
function commandLine(text, origin) {
  const cmd = el('p', 'cmd');
  const ps1 = el('span', 'ps1', origin === 'scenario' ? 'scenario> ' : 'aof-lab> ');
  ps1.setAttribute('aria-hidden', 'true');
  cmd.append(ps1, document.createTextNode(text));
  return cmd;
}

function replyEl(text) {
  const reply = el('pre', `reply r-${replyKind(text)}`, text);
  reply.dataset.kind = replyKind(text);
  return reply;
}

export class ConsoleView {
  /**
   * @param {object} els {log, form, input, button}
   * @param {(line: string) => void} onCommand called with each submitted line
   * @param {object} hooks {openBytes(at): opens a command's bytes in the log view}
   */
  constructor(els, onCommand, hooks = {}) {
    this.els = els;
    this.onCommand = onCommand;
    this.hooks = hooks;
    this.history = [];
    this.historyPos = 0; // == history.length when editing a new line
    this.draft = '';
    this.entries = []; // the transcript at the position (VIEW.console)
    this.pending = new Map(); // id -> {line, text, waiting, seq}: sent, not yet in a VIEW
    this.notes = []; // {seq, text, kind}
    this.bytes = new Map(); // `${seq}:${k}` -> {file, offset, len}: where a command's bytes went
    this.nodes = new Map(); // key -> element, reused from draw to draw
    this.position = 0;
    this.intro = els.log.querySelector('.log-intro');
    follow(els.log);
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit(els.input.value);
    });
    els.input.addEventListener('keydown', (e) => this.onKey(e));
    this.pastLine = el('p', 'prompt-past meta');
    this.pastLine.setAttribute('aria-live', 'polite');
    els.form.before(this.pastLine);
  }

  /**
   * A script past busy-reply-threshold (MSG.BUSY's fields), or null once the worker answers
   * again: what Redis would now answer every other client, and the only way out in a worker
   * that reads nothing until the script returns (hooks.kill: kill -9).
   */
  showBusy(info) {
    if (!info) {
      if (this.busyPanel) this.busyPanel.hidden = true;
      return;
    }
    if (!this.busyPanel) {
      const p = el('div', 'busy-panel');
      p.setAttribute('role', 'status');
      const redis = el('p', 'busy-redis', 'Redis now answers every other client: ');
      redis.append(el('code'));
      p.append(el('p', 'busy-title'), redis, el('p', 'busy-kill'), el('p', 'busy-here', 'This engine runs in one Web Worker, which reads nothing from the page until the script returns: no command typed here can reach it. The way out is the process’s: '));
      const kill = el('button', 'busy-kill-button', 'kill -9 (terminate the worker)');
      kill.type = 'button';
      kill.addEventListener('click', () => this.hooks.kill?.());
      p.lastChild.append(kill);
      this.els.form.before(p);
      this.busyPanel = p;
    }
    const p = this.busyPanel;
    p.hidden = false;
    const [title, redis, killText] = p.children;
    const what = info.eval ? 'SCRIPT KILL' : 'FUNCTION KILL';
    setText(title, `BUSY · ${(info.command ?? []).slice(0, 1).join(' ')} ${info.eval ? 'script' : `function ${info.name}`} has run ${(info.ms / 1000).toFixed(1)} s, past busy-reply-threshold`);
    setText(redis.lastChild, `(error) BUSY Redis is busy running a script. You can only call ${what} or SHUTDOWN NOSAVE.`);
    setText(killText, info.wrote
      ? `It already wrote, so ${what} would answer UNKILLABLE: only SHUTDOWN NOSAVE ends it (its writes, propagated when it returns, are lost).`
      : `Another client could stop it with ${what}: it has not written.`);
  }

  setEnabled(enabled) {
    this.els.input.disabled = !enabled;
    this.els.button.disabled = !enabled;
  }

  /** `preventScroll`: as the page opens, the focus must not scroll its title away. */
  focus(options) {
    this.els.input.focus(options);
  }

  submit(line) {
    if (this.els.input.disabled) return;
    const trimmed = line.trim();
    if (trimmed !== '' && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > HISTORY_MAX) this.history.shift();
    }
    this.historyPos = this.history.length;
    this.draft = '';
    this.els.input.value = '';
    this.onCommand(line);
  }

  onKey(e) {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const input = this.els.input;
    if (this.historyPos === this.history.length) this.draft = input.value;
    if (e.key === 'ArrowUp' && this.historyPos > 0) this.historyPos--;
    else if (e.key === 'ArrowDown' && this.historyPos < this.history.length) this.historyPos++;
    else return;
    e.preventDefault();
    input.value = this.historyPos === this.history.length ? this.draft : this.history[this.historyPos];
    input.setSelectionRange(input.value.length, input.value.length);
  }

  // ----- what the page adds to the transcript -----

  /** A line sent: shown at the end until the transcript holds it. */
  addCommand(id, line) {
    const p = { line, text: null, waiting: false, seq: null };
    this.pending.set(id, p);
    // At once at the end (the learner sees what they typed; the next frame puts it in order).
    const log = this.els.log;
    log.append(this.pendingNode(id, p));
    keepAtEnd(log);
    scrollAll();
    this.draw();
  }

  /** The reply of line `id` (REPLY): `seq`/`k` place it in the transcript. */
  reply(id, text, pending, seq, k, at) {
    const p = this.pending.get(id);
    if (at && seq !== undefined && k >= 0) this.bytes.set(`${seq}:${k}`, at);
    if (!p) return;
    if (p.line.trim() === '') {
      this.pending.delete(id);
    } else {
      p.text = text;
      p.waiting = pending;
      p.seq = seq ?? null;
    }
    this.draw();
  }

  /** Replies of lines that were waiting (a blocked command served): the transcript shows them
   *  with the next VIEW; a line still pending here gets its reply now. */
  lateReplies(texts) {
    for (const text of texts) {
      const waiting = [...this.pending.values()].find((p) => p.waiting);
      if (!waiting) break;
      waiting.text = text;
      waiting.waiting = false;
    }
    this.draw();
  }

  /** A line from the lab itself (not a reply), anchored at the position. */
  note(text, kind = 'note') {
    this.notes.push({ seq: this.position, text, kind, node: null });
    if (this.notes.length > NOTES_MAX) this.notes.shift();
    this.draw();
  }

  /** A new engine (or another session): its transcript starts over; the page's notes stay,
   *  before it. */
  reset() {
    this.entries = [];
    this.pending.clear();
    this.bytes.clear();
    for (const n of this.notes) n.seq = -1;
    this.position = 0;
    this.draw();
  }

  // ----- the transcript at the position -----

  /**
   * Draws VIEW.console (`entries`, or undefined when unchanged) at `timeline`'s position; in the
   * past the line above the prompt says that typing forks.
   */
  render(entries, timeline) {
    if (entries) this.entries = entries;
    if (timeline) {
      this.position = timeline.position;
      const past = timeline.position < timeline.head;
      this.pastLine.textContent = past
        ? `In the past (input ${timeline.position.toLocaleString('en')} of ${timeline.head.toLocaleString('en')}): a command here forks the history; the later history is kept as branch ${timeline.next_branch}.`
        : '';
      this.els.form.dataset.past = String(past);
      this.els.input.placeholder = past ? 'a command here forks' : 'SET greeting hello';
    }
    // A line the transcript holds now (the same input and the same line: a VIEW drawn before a
    // fork's still has the old line of history, another command at that input), or held before
    // the entries the VIEW carries, is the transcript's, not the page's.
    const first = this.entries.length ? this.entries[0].seq : Infinity;
    const held = (p) => p.seq < first || this.entries.some((e) => e.seq === p.seq && e.kind === 'command' && e.text === p.line);
    for (const [id, p] of this.pending) if (p.seq !== null && held(p)) this.pending.delete(id);
    this.draw();
  }

  /** The element of transcript entry `e`, the `k`-th of its input, showing `reply` (null: the
   *  command is blocked there). The same entry on another line of history, or with its reply
   *  come, is another element: the key holds what it says. */
  entryNode(e, k, reply) {
    const key = `${e.seq}|${k}|${e.kind}|${e.origin}|${e.text}|${reply}|${e.replies.join('\n')}`;
    let node = this.nodes.get(key);
    if (node) return node;
    node = el('div', `entry entry-${e.kind}`);
    node.dataset.seq = String(e.seq);
    if (e.origin === 'scenario') node.dataset.origin = 'scenario';
    if (e.kind === 'command') {
      node.append(commandLine(e.text, e.origin));
      const at = this.bytes.get(`${e.seq}:${k}`);
      if (at && this.hooks.openBytes) node.append(this.bytesButton(at));
      if (reply !== null) node.append(replyEl(reply));
      else node.append(el('pre', 'reply waiting', '(waiting: the command blocked)'));
    } else if (e.kind === 'late') {
      node.append(el('p', 'late-label meta', 'received later (a blocked command’s reply, a pub/sub message):'), replyEl(e.replies.join('\n')));
    } else {
      // A lab action (a crash, a restart, a setting, a scenario step…) and what it said.
      node.classList.add('entry-action');
      node.append(el('p', 'action-text', `${e.origin === 'scenario' ? 'scenario' : 'lab'}: ${e.text}`));
      if (e.replies.length) node.append(el('pre', 'reply action-out', e.replies.join('\n')));
    }
    this.nodes.set(key, node);
    return node;
  }

  bytesButton(at) {
    const b = el('button', 'to-log', at.offset !== undefined ? `bytes @${at.offset.toLocaleString('en')}` : 'bytes');
    b.type = 'button';
    b.title = 'Show the bytes this command appended, in the log view';
    b.addEventListener('click', () => this.hooks.openBytes(at));
    return b;
  }

  pendingNode(id, p) {
    const key = `p:${id}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = el('div', 'entry');
      node.append(commandLine(p.line), el('pre', 'reply waiting', '…'));
      this.nodes.set(key, node);
    }
    const reply = node.lastElementChild;
    if (p.waiting) {
      reply.className = 'reply waiting';
      setText(reply, '(waiting: the command blocked)');
    } else if (p.text !== null) {
      reply.className = `reply r-${replyKind(p.text)}`;
      reply.dataset.kind = replyKind(p.text);
      setText(reply, p.text);
    }
    return node;
  }

  noteNode(n) {
    n.node ??= el('p', `note ${n.kind}`, n.text);
    return n.node;
  }

  /** Draws at the next frame (many replies in one frame cost one layout). */
  draw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.drawNow();
    });
  }

  /** The transcript, the notes said up to the position, the lines on their way. */
  drawNow() {
    const items = [];
    const counts = new Map();
    const notes = this.notes.filter((n) => n.seq <= this.position);
    let ni = 0;
    // A blocked command's reply comes in a later turn ('late' entries): shown under the
    // commands that waited for it, in order, as redis-cli would.
    const shown = [];
    const waiting = [];
    for (const e of this.entries) {
      if (e.kind === 'command') {
        const item = { e, reply: e.replies.length ? e.replies.join('\n') : null };
        if (item.reply === null) waiting.push(item);
        shown.push(item);
      } else if (e.kind === 'late') {
        const rest = e.replies.filter((r) => {
          const w = waiting.shift();
          if (w) w.reply = r;
          return !w;
        });
        if (rest.length) shown.push({ e: { ...e, replies: rest }, reply: null });
      } else shown.push({ e, reply: null });
    }
    for (const { e, reply } of shown) {
      while (ni < notes.length && notes[ni].seq < e.seq) items.push(this.noteNode(notes[ni++]));
      const k = counts.get(e.seq) ?? 0;
      counts.set(e.seq, k + 1);
      items.push(this.entryNode(e, k, reply));
    }
    while (ni < notes.length) items.push(this.noteNode(notes[ni++]));
    let skip = this.pending.size - PENDING_SHOWN;
    for (const [id, p] of this.pending) if (skip-- <= 0) items.push(this.pendingNode(id, p));
    const log = this.els.log;
    log.toggleAttribute('data-empty', items.length === 0);
    const now = [this.intro, ...items].filter(Boolean);
    const same = now.length === log.childElementCount && now.every((n, i) => log.children[i] === n);
    if (!same) reconcile(log, now);
    // The end follows new lines when the reader is there, and a move through time.
    const moved = this.drawnAt !== this.position;
    this.drawnAt = this.position;
    keepAtEnd(log, moved);
    scrollAll();
    // Forget nodes no longer drawn (keys of another line of history).
    if (this.nodes.size > 4 * items.length + 100) {
      const keep = new Set(items);
      for (const [key, node] of this.nodes) if (!keep.has(node)) this.nodes.delete(key);
    }
  }
}
