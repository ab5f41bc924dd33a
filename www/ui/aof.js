// The AOF buffer view: the bytes appended to aof_buf, grouped by the command (or serverCron
// turn, or scenario step) that appended them, shown as RESP with every \r\n visible.
//
// A pure view of the timeline at the position: VIEW.aof holds the groups recorded by the inputs
// up to there (src/lab/timeline/page.rs), by increments while the position moves forward on one
// line, all of the last ones after a move back, a fork or another engine. The past reads as the
// present did; the header counts every byte appended up to the position.

import { follow, keepAtEnd, reconcile } from './lists.js';
import { respLines } from './resp.js';
import { el, setText } from './dom.js';

const MAX_GROUPS = 150; // older groups leave the view; the byte count stays exact
const NODES_KEPT = 4 * MAX_GROUPS; // groups' elements kept for a move back to them

export class AofView {
  /** @param {object} els {list, size, empty} */
  constructor(els) {
    this.els = els;
    this.total = 0;
    this.nodes = new Map(); // group key -> element, reused across resets
    follow(els.list);
  }

  /** A new engine: nothing appended yet. */
  reset() {
    this.render({ reset: true, groups: [], total: 0 });
  }

  /** Draws VIEW.aof (`{reset, groups, total}`; null: unchanged). */
  render(update) {
    if (!update) return;
    const list = this.els.list;
    const seen = new Map();
    const nodes = update.groups.map((g) => {
      // The same group on another line of history is another element: the key says what it is.
      const n = seen.get(g.seq) ?? 0;
      seen.set(g.seq, n + 1);
      const key = `${g.seq}|${n}|${g.len}|${g.label}`;
      let node = this.nodes.get(key);
      if (!node) {
        node = this.group(g);
        this.nodes.set(key, node);
      }
      return node;
    });
    if (update.reset) {
      reconcile(list, nodes);
      // Scrubbing goes back and forth over the same groups: keep the elements made (the
      // oldest made leave first), so that a move redraws by moving nodes, not by building them.
      for (const key of this.nodes.keys()) {
        if (this.nodes.size <= NODES_KEPT) break;
        if (!this.nodes.get(key).isConnected) this.nodes.delete(key);
      }
    } else {
      list.append(...nodes);
      while (list.childElementCount > MAX_GROUPS) {
        const first = list.firstElementChild;
        for (const [key, node] of this.nodes) if (node === first) this.nodes.delete(key);
        first.remove();
      }
    }
    keepAtEnd(list, update.reset);
    this.total = update.total;
    this.els.empty.hidden = list.childElementCount > 0;
    setText(this.els.size, `${this.total.toLocaleString('en')} byte${this.total === 1 ? '' : 's'}`);
  }

  /** One group: its label, its size, its bytes as RESP lines (one command per line). */
  group(g) {
    const li = el('li', 'aof-group');
    li.dataset.seq = String(g.seq);
    const head = el('p', 'aof-head');
    head.append(el('span', 'aof-cmd', g.label), el('span', 'aof-bytes', `+${g.len.toLocaleString('en')} B`));
    const pre = el('pre', 'resp');
    let line = null;
    for (const { text, crlf, kind } of respLines(g.bytes)) {
      if (!line || kind === 'mbulk' || kind === 'other') {
        // The newline ends the block (copy-paste keeps one command per line).
        if (line) line.append('\n');
        line = el('span', 'resp-cmd');
        pre.append(line);
      }
      line.append(el('span', kind, text));
      if (crlf) line.append(el('span', 'crlf', '\\r\\n'));
    }
    line?.append('\n');
    if (g.len > g.bytes.length) pre.append(el('span', 'resp-more', `… and ${(g.len - g.bytes.length).toLocaleString('en')} more bytes (see the log view)\n`));
    li.append(head, pre);
    return li;
  }
}
