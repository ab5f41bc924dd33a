// The AOF buffer view: the bytes appended to aof_buf, grouped by the command that appended
// them, shown as RESP with every \r\n visible. A pure view of what the worker reports.

import { respLines } from '../protocol.js';

const MAX_GROUPS = 150; // older groups leave the view; the byte count stays exact
const MAX_SHOWN = 1024; // bytes drawn per group (traffic appends thousands of commands a turn)

export class AofView {
  /** @param {object} els {list, size, empty} */
  constructor(els) {
    this.els = els;
    this.total = 0;
  }

  /** Adds the bytes one command (or serverCron) appended. */
  append(label, bytes) {
    if (!bytes || bytes.length === 0) return;
    this.total += bytes.length;
    const li = document.createElement('li');
    li.className = 'aof-group';
    const head = document.createElement('p');
    head.className = 'aof-head';
    const name = document.createElement('span');
    name.className = 'aof-cmd';
    name.textContent = label;
    const size = document.createElement('span');
    size.className = 'aof-bytes';
    size.textContent = `+${bytes.length} B`;
    head.append(name, size);
    // One line per propagated command (a multibulk), as a stream of bytes with \r\n shown.
    const pre = document.createElement('pre');
    pre.className = 'resp';
    let line = null;
    const shown = bytes.length > MAX_SHOWN ? bytes.subarray(0, MAX_SHOWN) : bytes;
    for (const { text, crlf, kind } of respLines(shown)) {
      if (!line || kind === 'mbulk' || kind === 'other') {
        // The newline ends the block (copy-paste keeps one command per line).
        if (line) line.append('\n');
        line = document.createElement('span');
        line.className = 'resp-cmd';
        pre.append(line);
      }
      const part = document.createElement('span');
      part.className = kind;
      part.textContent = text;
      line.append(part);
      if (crlf) {
        const eol = document.createElement('span');
        eol.className = 'crlf';
        eol.textContent = '\\r\\n';
        line.append(eol);
      }
    }
    line?.append('\n');
    if (shown !== bytes) {
      const more = document.createElement('span');
      more.className = 'resp-more';
      more.textContent = `… and ${(bytes.length - MAX_SHOWN).toLocaleString('en')} more bytes (see the log view)\n`;
      pre.append(more);
    }
    li.append(head, pre);
    const list = this.els.list;
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(li);
    while (list.childElementCount > MAX_GROUPS) list.firstElementChild.remove();
    if (stick) list.scrollTop = list.scrollHeight;
    this.els.empty.hidden = true;
    this.els.size.textContent = `${this.total.toLocaleString('en')} byte${this.total === 1 ? '' : 's'}`;
  }
}
