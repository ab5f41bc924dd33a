// The event stream: log lines, commands, writes, fsyncs, rewrites, crashes, as the engine
// reports them (newest last). Only the last MAX events stay in the DOM, so a long session
// stays fast; the counter keeps the total.

import { follow, keepAtEnd, reconcile } from './lists.js';
import { setText } from './dom.js';

const MAX = 200; // as many as the worker sends after a move (EVENTS_ON_SEEK)

export class EventsView {
  /** @param {object} els {list, count}; `openLog({file, offset})`: a write event's bytes */
  constructor(els, openLog) {
    this.els = els;
    this.openLog = openLog;
    this.total = 0;
    this.nodes = new Map(); // event key -> its list item
    follow(els.list);
  }

  /**
   * New events, or (`reset`: the position moved through the past) the events of the lab at the
   * position, which mostly are those shown, shifted.
   */
  add(events, reset = false) {
    if (reset) this.total = 0;
    if (!events?.length && !reset) return;
    const list = this.els.list;
    const items = (events ?? []).slice(-MAX).map((e) => {
      // A move back and forth shows the same events again: reuse their elements.
      const key = `${e.seq}|${e.t}|${e.kind}|${e.text}`;
      let li = this.nodes.get(key);
      if (!li) {
        li = this.item(e);
        this.nodes.set(key, li);
      }
      return li;
    });
    if (reset) reconcile(list, items);
    else {
      list.append(...items);
      while (list.childElementCount > MAX) list.firstElementChild.remove();
    }
    // Elements out of the list are kept for a move back (the oldest made leave first).
    for (const [key, li] of this.nodes) {
      if (this.nodes.size <= 4 * MAX) break;
      if (!li.isConnected) this.nodes.delete(key);
    }
    this.total += events.length;
    setText(this.els.count, `${this.total.toLocaleString('en')} event${this.total === 1 ? '' : 's'}`);
    keepAtEnd(list);
  }

  /** One event's list item. */
  item(e) {
    const li = document.createElement('li');
    li.className = `ev ev-${e.kind}`;
    const t = document.createElement('time');
    setText(t, new Date(e.t).toISOString().slice(11, 23));
    const k = document.createElement('span');
    k.className = 'ev-kind';
    setText(k, e.kind);
    const text = document.createElement('span');
    text.className = 'ev-text';
    setText(text, e.text);
    li.append(t, k, text);
    if (e.file !== undefined && this.openLog) {
      // A write() event: where its bytes went.
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'to-log';
      setText(b, `bytes @${e.offset.toLocaleString('en')}`);
      b.title = `Show these bytes of ${e.file} in the log view`;
      b.addEventListener('click', () => this.openLog({ file: e.file, offset: e.offset }));
      li.append(b);
    }
    return li;
  }
}
