// A virtual list of fixed-height rows as an ARIA grid: only the visible rows exist in the DOM,
// so a list of 1 000 000 rows costs what a list of 30 does.
//
// * State is the index of the top row (`top`); a pool of row elements is recycled: scrolling
//   only changes their text (no node is created or removed while scrolling).
// * The scroll height is capped (MAX_SCROLL_PX, under Firefox's ~17.9 M px and Chrome's
//   ~33.5 M px limits): the scrollbar's position maps to a row by proportion, and the wheel and
//   the keys move whole rows, so a capped list scrolls as finely as a short one.
// * `role="grid"` with `aria-rowcount` (all rows, header included) and `aria-rowindex` on each
//   row, so assistive tech counts the whole list, not the mounted rows; the focus stays on the
//   grid and `aria-activedescendant` names the selected row.
//
// The rows' data is the host's: `rowData(i)` returns what is cached (or undefined: the row
// shows as loading), `need(first, last)` asks the host to fetch a range, `fill(cells, data, i)`
// writes a row. Nothing here knows what a row means.

export const MAX_SCROLL_PX = 8_000_000;

let nextId = 1;

function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export class VirtualList {
  /**
   * @param {HTMLElement} root an empty element that becomes the grid
   * @param {object} o {rowHeight (px), columns: [{key, label, className}], label (aria-label),
   *   rowData(i), need(first, last), fill(cells, data, i, rowEl), onSelect(i), onActivate(i)}
   */
  constructor(root, o) {
    this.o = o;
    this.root = root;
    this.id = `vlist${nextId++}`;
    this.count = 0;
    this.top = 0;
    this.selected = -1;
    this.visible = 1;
    this.pool = [];
    this.wheelRest = 0;
    this.frame = 0;
    this.expectScroll = -1;
    root.classList.add('vgrid');
    root.setAttribute('role', 'grid');
    root.setAttribute('aria-label', o.label ?? 'rows');
    root.setAttribute('aria-colcount', String(o.columns.length));
    root.setAttribute('aria-rowcount', '1');
    root.setAttribute('aria-readonly', 'true');
    root.tabIndex = 0;
    root.style.setProperty('--row-h', `${o.rowHeight}px`);
    const head = el('div', 'vgrid-head', { role: 'rowgroup' });
    const headRow = el('div', 'vgrid-row', { role: 'row', 'aria-rowindex': '1' });
    for (const c of o.columns) headRow.append(Object.assign(el('div', `vgrid-cell ${c.className ?? ''}`, { role: 'columnheader' }), { textContent: c.label }));
    head.append(headRow);
    this.scroller = el('div', 'vgrid-scroll');
    this.window = el('div', 'vgrid-window', { role: 'rowgroup' });
    this.spacer = el('div', 'vgrid-spacer', { 'aria-hidden': 'true' });
    this.scroller.append(this.window, this.spacer);
    root.append(head, this.scroller);
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.scroller.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    root.addEventListener('keydown', (e) => this.onKey(e));
    this.window.addEventListener('click', (e) => {
      const row = e.target.closest('.vgrid-row');
      if (!row || row.dataset.index === undefined) return;
      this.select(Number(row.dataset.index));
      root.focus({ preventScroll: true });
    });
    this.window.addEventListener('dblclick', (e) => {
      const row = e.target.closest('.vgrid-row');
      if (row?.dataset.index !== undefined) this.o.onActivate?.(Number(row.dataset.index));
    });
    new ResizeObserver(() => this.layout()).observe(this.scroller);
    this.layout();
  }

  /** Rows that fit (whole rows; the pool has one more for the partial one). */
  layout() {
    const h = this.scroller.clientHeight || this.o.rowHeight * 10;
    const visible = Math.max(1, Math.floor(h / this.o.rowHeight));
    const want = visible + 1;
    this.visible = visible;
    this.window.style.height = `${h}px`;
    while (this.pool.length < want) {
      const row = el('div', 'vgrid-row', { role: 'row' });
      row.id = `${this.id}-r${this.pool.length}`;
      row.style.top = `${this.pool.length * this.o.rowHeight}px`;
      const cells = {};
      for (const c of this.o.columns) {
        const cell = el('div', `vgrid-cell ${c.className ?? ''}`, { role: 'gridcell' });
        cells[c.key] = cell;
        row.append(cell);
      }
      row.cells = cells;
      this.window.append(row);
      this.pool.push(row);
    }
    this.sizeSpacer();
    this.setTop(this.top);
  }

  maxTop() {
    return Math.max(0, this.count - this.visible);
  }

  /** The scroll height, capped; the window (one viewport) is part of it. */
  sizeSpacer() {
    const view = this.scroller.clientHeight || this.o.rowHeight * 10;
    const total = Math.min(this.count * this.o.rowHeight, MAX_SCROLL_PX);
    this.spacer.style.height = `${Math.max(0, total - view)}px`;
    this.maxScroll = Math.max(0, Math.max(total, view) - view);
  }

  /** Sets the number of rows; a list scrolled to its end stays at its end (a growing log). */
  setCount(n) {
    const following = this.count > 0 && this.top >= this.maxTop();
    this.count = n;
    this.root.setAttribute('aria-rowcount', String(n + 1));
    this.sizeSpacer();
    if (this.selected >= n) this.selected = n - 1;
    this.setTop(following ? this.maxTop() : this.top);
  }

  /** Empties the list (another file): nothing selected, back at the top. */
  reset() {
    this.count = 0;
    this.top = 0;
    this.selected = -1;
    this.setCount(0);
  }

  /** Moves the top row, keeping the scrollbar in proportion. */
  setTop(top) {
    const max = this.maxTop();
    this.top = Math.max(0, Math.min(max, Math.round(top)));
    const y = max === 0 ? 0 : Math.round((this.top / max) * this.maxScroll);
    if (Math.abs(this.scroller.scrollTop - y) >= 1) {
      // The scroll event this causes is ours, not the user's (if it comes soon).
      this.expectScroll = y;
      this.expectUntil = performance.now() + 200;
      this.scroller.scrollTop = y;
    }
    this.render();
  }

  onScroll() {
    const y = this.scroller.scrollTop;
    if (this.expectScroll >= 0 && Math.abs(y - this.expectScroll) < 2 && performance.now() < this.expectUntil) {
      this.expectScroll = -1;
      return;
    }
    this.expectScroll = -1;
    // The scrollbar (or touch): the row at this proportion of the list.
    const max = this.maxTop();
    this.top = this.maxScroll === 0 ? 0 : Math.max(0, Math.min(max, Math.round((y / this.maxScroll) * max)));
    this.schedule();
  }

  onWheel(e) {
    if (e.ctrlKey) return; // zoom
    e.preventDefault();
    let rows;
    if (e.deltaMode === 1) rows = e.deltaY;
    else if (e.deltaMode === 2) rows = e.deltaY * this.visible;
    else {
      this.wheelRest += e.deltaY;
      rows = Math.trunc(this.wheelRest / this.o.rowHeight);
      this.wheelRest -= rows * this.o.rowHeight;
    }
    if (rows) this.setTop(this.top + rows);
  }

  onKey(e) {
    const page = Math.max(1, this.visible - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    let to = null;
    if (e.key in moves) to = (this.selected < 0 ? this.top : this.selected) + moves[e.key];
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = this.count - 1;
    else if (e.key === 'Enter' && this.selected >= 0) {
      this.o.onActivate?.(this.selected);
      e.preventDefault();
      return;
    }
    if (to === null || this.count === 0) return;
    e.preventDefault();
    this.select(Math.max(0, Math.min(this.count - 1, to)), true);
  }

  /** Selects row `i` and brings it into view (`step`: by the keys, to the nearest edge). */
  select(i, step = false) {
    if (i < 0 || i >= this.count) return;
    this.selected = i;
    this.reveal(i, step);
    this.render();
    this.o.onSelect?.(i);
  }

  /** Scrolls row `i` into view: to the nearest edge (a step), or centred (a jump). */
  reveal(i, step) {
    if (i >= this.top && i < this.top + this.visible) return;
    if (step || i === this.top - 1 || i === this.top + this.visible) this.setTop(i < this.top ? i : i - this.visible + 1);
    else this.setTop(i - Math.floor(this.visible / 2));
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Writes the pooled rows for the current top; asks for the data it lacks. */
  render() {
    let missing = false;
    let active = null;
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      const i = this.top + k;
      if (i >= this.count) {
        if (!row.hidden) row.hidden = true;
        delete row.dataset.index;
        delete row.dataset.key;
        row.removeAttribute('aria-selected');
        continue;
      }
      row.hidden = false;
      const data = this.o.rowData(i);
      const key = data ? `${i}:${data.key ?? ''}` : `${i}:?`;
      if (row.dataset.key !== key) {
        row.dataset.key = key;
        row.dataset.index = String(i);
        row.setAttribute('aria-rowindex', String(i + 2));
        if (data) {
          row.classList.remove('loading');
          this.o.fill(row.cells, data, i, row);
        } else {
          row.className = 'vgrid-row loading';
          for (const c of Object.values(row.cells)) c.textContent = '';
          missing = true;
        }
      }
      const sel = i === this.selected;
      if (sel !== (row.getAttribute('aria-selected') === 'true')) row.setAttribute('aria-selected', String(sel));
      if (sel) active = row.id;
    }
    if (active) this.root.setAttribute('aria-activedescendant', active);
    else this.root.removeAttribute('aria-activedescendant');
    if (missing || this.count > 0) this.o.need?.(this.top, Math.min(this.count, this.top + this.pool.length) - 1);
  }

  /** The host's data changed: every row is written again. */
  refresh() {
    for (const row of this.pool) delete row.dataset.key;
    this.render();
  }
}
