// The console view: an input line with history, and a log of commands and replies rendered as
// redis-cli renders them. A pure view: it never talks to the worker; app.js does.

const MAX_ENTRIES = 500; // older entries are dropped so that a long session stays fast
const HISTORY_MAX = 200;

/** Classifies a redis-cli rendered reply, for colouring only. */
export function replyKind(text) {
  if (text.startsWith('(error)')) return 'error';
  if (text.startsWith('(integer)')) return 'integer';
  if (text === '(nil)' || text === '(empty array)') return 'nil';
  if (text.startsWith('"')) return 'bulk';
  if (/^\s*1\) /.test(text)) return 'array';
  return 'status';
}

export class ConsoleView {
  /**
   * @param {object} els {log, form, input, button}
   * @param {(line: string) => void} onCommand called with each submitted line
   */
  constructor(els, onCommand) {
    this.els = els;
    this.onCommand = onCommand;
    this.history = [];
    this.historyPos = 0; // == history.length when editing a new line
    this.draft = '';
    this.entries = new Map(); // id -> reply element
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit(els.input.value);
    });
    els.input.addEventListener('keydown', (e) => this.onKey(e));
  }

  setEnabled(enabled) {
    this.els.input.disabled = !enabled;
    this.els.button.disabled = !enabled;
  }

  focus() {
    this.els.input.focus();
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

  /** Shows a command in the log; its reply arrives later through `reply(id, ...)`. */
  addCommand(id, line) {
    const entry = document.createElement('div');
    entry.className = 'entry';
    const cmd = document.createElement('p');
    cmd.className = 'cmd';
    const ps1 = document.createElement('span');
    ps1.className = 'ps1';
    ps1.setAttribute('aria-hidden', 'true');
    ps1.textContent = 'aof-lab> ';
    cmd.append(ps1, document.createTextNode(line));
    const reply = document.createElement('pre');
    reply.className = 'reply waiting';
    reply.textContent = '…';
    entry.append(cmd, reply);
    this.append(entry);
    this.entries.set(id, reply);
  }

  /** Adds a button to command `id`'s line that opens its bytes in the log view. */
  linkBytes(id, label, onOpen) {
    const reply = this.entries.get(id);
    if (!reply) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'to-log';
    button.textContent = label;
    button.title = 'Show the bytes this command appended, in the log view';
    button.addEventListener('click', onOpen);
    // Beside the command line (a child of the entry: the command's own text stays as typed).
    reply.before(button);
  }

  /** Fills in the reply of command `id`. `pending`: the command blocked; its reply comes later. */
  reply(id, text, pending) {
    const el = this.entries.get(id);
    if (!el) return;
    if (pending) {
      this.keepScrolled(() => {
        el.textContent = '(waiting: the command blocked)';
        el.className = 'reply waiting';
      });
      return;
    }
    this.entries.delete(id);
    if (text === '') {
      el.remove();
      return;
    }
    this.keepScrolled(() => {
      el.textContent = text;
      el.className = `reply r-${replyKind(text)}`;
      el.dataset.kind = replyKind(text);
    });
  }

  /** Replies of commands that were waiting, oldest first. */
  lateReplies(texts) {
    for (const text of texts) {
      const next = this.entries.keys().next();
      if (next.done) break;
      this.reply(next.value, text, false);
    }
  }

  /** A line from the lab itself (not a reply), e.g. the engine's status. */
  note(text, kind = 'note') {
    const p = document.createElement('p');
    p.className = `note ${kind}`;
    p.textContent = text;
    this.append(p);
  }

  append(node) {
    const log = this.els.log;
    this.keepScrolled(() => {
      log.append(node);
      while (log.childElementCount > MAX_ENTRIES) {
        const first = log.firstElementChild;
        for (const [id, el] of this.entries) if (first.contains(el)) this.entries.delete(id);
        first.remove();
      }
    });
  }

  /** Runs `change`; if the log was scrolled to its end before, it stays at its end. */
  keepScrolled(change) {
    const log = this.els.log;
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    change();
    if (atEnd) log.scrollTop = log.scrollHeight;
  }
}
