// The event stream: log lines, commands, writes, fsyncs, rewrites, crashes, as the engine
// reports them (newest last). Only the last MAX events stay in the DOM, so a long session
// stays fast; the counter keeps the total.

const MAX = 400;

export class EventsView {
  /** @param {object} els {list, count}; `openLog({file, offset})`: a write event's bytes */
  constructor(els, openLog) {
    this.els = els;
    this.openLog = openLog;
    this.total = 0;
  }

  add(events) {
    if (!events?.length) return;
    const list = this.els.list;
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const frag = document.createDocumentFragment();
    for (const e of events.slice(-MAX)) {
      const li = document.createElement('li');
      li.className = `ev ev-${e.kind}`;
      const t = document.createElement('time');
      t.textContent = new Date(e.t).toISOString().slice(11, 23);
      const k = document.createElement('span');
      k.className = 'ev-kind';
      k.textContent = e.kind;
      const text = document.createElement('span');
      text.className = 'ev-text';
      text.textContent = e.text;
      li.append(t, k, text);
      if (e.file !== undefined && this.openLog) {
        // A write() event: where its bytes went.
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'to-log';
        b.textContent = `bytes @${e.offset.toLocaleString('en')}`;
        b.title = `Show these bytes of ${e.file} in the log view`;
        b.addEventListener('click', () => this.openLog({ file: e.file, offset: e.offset }));
        li.append(b);
      }
      frag.append(li);
    }
    list.append(frag);
    while (list.childElementCount > MAX) list.firstElementChild.remove();
    this.total += events.length;
    this.els.count.textContent = `${this.total.toLocaleString('en')} event${this.total === 1 ? '' : 's'}`;
    if (stick) list.scrollTop = list.scrollHeight;
  }
}
