// The second console: another client of the same server, for what needs two (pub/sub: it
// SUBSCRIBEs here and hears what the first console PUBLISHes; a WATCH broken by the other
// client; a BLPOP served by the other's push). Its lines go to the worker as the action
// LAB_ACTIONS.SECOND (an input of the timeline, one turn), and what reaches it through the other
// connections comes as MSG.SECOND. Its transcript is live only: unlike the first console's, it
// is not rebuilt from the timeline when the position moves into the past.

import { replyKind } from './console.js';
import { el } from './dom.js';
import { follow, keepAtEnd, scrollAll } from './lists.js';

/** Entries kept in the transcript (a subscriber can receive many messages). */
const KEEP = 400;

export class SecondConsoleView {
  /**
   * @param {object} els {log, form, input, button}
   * @param {(line: string) => Promise<string[]>} run sends a line, resolves with what the console shows
   */
  constructor(els, run) {
    this.els = els;
    this.run = run;
    this.history = [];
    this.historyPos = 0;
    follow(els.log);
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit(els.input.value);
    });
    els.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp' && this.historyPos > 0) {
        this.historyPos -= 1;
        els.input.value = this.history[this.historyPos];
        e.preventDefault();
      } else if (e.key === 'ArrowDown' && this.historyPos < this.history.length) {
        this.historyPos += 1;
        els.input.value = this.history[this.historyPos] ?? '';
        e.preventDefault();
      }
    });
  }

  setEnabled(on) {
    this.els.input.disabled = !on;
    this.els.button.disabled = !on;
  }

  /** Sends a line; its replies (and any message that arrived before them) follow. */
  async submit(line) {
    this.els.input.value = '';
    if (!line.trim()) return;
    this.history.push(line);
    this.historyPos = this.history.length;
    const cmd = el('p', 'cmd');
    const ps1 = el('span', 'ps1', 'second> ');
    ps1.setAttribute('aria-hidden', 'true');
    cmd.append(ps1, document.createTextNode(line));
    this.append([cmd]);
    try {
      this.replies(await this.run(line));
    } catch (err) {
      this.replies([`(error) ${err.message ?? err}`]);
    }
  }

  /** Replies or messages, each as redis-cli shows it. */
  replies(texts) {
    this.append(
      texts.map((text) => {
        const pre = el('pre', `reply r-${replyKind(text)}`, text);
        pre.dataset.kind = replyKind(text);
        return pre;
      }),
    );
  }

  append(nodes) {
    if (!nodes.length) return;
    const log = this.els.log;
    log.append(...nodes);
    while (log.childElementCount > KEEP) log.firstElementChild.remove();
    keepAtEnd(log);
    scrollAll();
  }
}
