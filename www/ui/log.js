// The log view: every file of the AOF directory record by record (offset, length, the RESP
// framing with each \r\n shown, the command, the SELECT / MULTI / EXEC / #TS: marks, an RDB part
// as its structure, a bad tail where redis-check-aof cuts it), and the full bytes of the
// selected record. The worker keeps a record index per file (src/lab/log.rs) and sends rows by
// range, so a file of 1 000 000 commands opens at once: this view holds a few pages of rows and
// a virtual list (vlist.js) shows the visible ones.
//
// Files dropped here (a folder, a .tar, loose files) are inspected and checked in the worker
// apart from the lab (src/lab/dropped.rs): nothing is loaded, nothing leaves the browser.
// `open({file, offset})` selects the record holding a byte: the console, the events and the
// write-path diagram call it (through LabController.openLog or a `log-open` DOM event).

import { LOG_ACTIONS } from '../protocol.js';
import { readAll } from './transfer.js';
import { VirtualList } from './vlist.js';
import { el } from './dom.js';

const PAGE = 200; // rows per request
const KEEP_PAGES = 60; // pages cached (12 000 rows)
const ROW_H = 24;

const fmt = (n) => Number(n).toLocaleString('en');

const MARK_LABELS = { select: 'SELECT', multi: 'MULTI', exec: 'EXEC', ts: '#TS' };

/** The framing text (`*3\r\n$3\r\nSET\r\n…`) as spans: `*N`, `$N`, arguments and each \r\n. */
export function framingNodes(text) {
  const frag = document.createDocumentFragment();
  const parts = text.split('\\r\\n');
  let expectArg = false;
  parts.forEach((part, k) => {
    if (part !== '') {
      const kind = expectArg ? 'arg' : /^\*-?\d+$/.test(part) ? 'mbulk' : /^\$\d+$/.test(part) ? 'blen' : 'other';
      frag.append(el('span', kind, part));
      expectArg = kind === 'blen';
    } else {
      expectArg = false;
    }
    if (k < parts.length - 1) frag.append(el('span', 'crlf', '\\r\\n'));
  });
  return frag;
}

export class LogView {
  /**
   * @param {HTMLElement} root the panel's body
   * @param {(action: string, args: object) => Promise<any>} act sends an ACTION to the worker
   */
  constructor(root, act) {
    this.root = root;
    this.act = act;
    this.source = 'lab';
    this.file = '';
    this.files = { lab: [], drop: [] };
    this.info = null; // the current file's entry of files
    this.pages = new Map(); // page -> rows (Map order = recency)
    this.loading = new Set();
    this.generation = -1;
    this.detailFor = null;
    this.signature = '';
    this.inView = false;
    this.pendingFiles = null;

    const bar = el('div', 'log-bar');
    const label = el('label', 'log-file-label', 'File ');
    this.select = el('select', 'log-file');
    this.select.addEventListener('change', () => this.choose(this.select.value));
    label.append(this.select);
    this.meta = el('p', 'meta log-meta');
    this.cutButton = el('button', 'chip log-cut-go', 'Go to the cut');
    this.cutButton.type = 'button';
    this.cutButton.hidden = true;
    this.cutButton.addEventListener('click', () => this.info?.cut && this.goTo(this.info.cut.offset));
    bar.append(label, this.meta, this.cutButton);
    this.cutNote = el('p', 'log-cut-note');
    this.cutNote.hidden = true;

    const grid = el('div', 'log-grid');
    this.list = new VirtualList(grid, {
      rowHeight: ROW_H,
      label: 'Records of the file',
      columns: [
        { key: 'offset', label: 'offset', className: 'c-offset' },
        { key: 'len', label: 'length', className: 'c-len' },
        { key: 'mark', label: 'mark', className: 'c-mark' },
        { key: 'text', label: 'record', className: 'c-text' },
        { key: 'framing', label: 'bytes (framing)', className: 'c-framing' },
      ],
      rowData: (i) => this.row(i),
      need: (first, last) => this.need(first, last),
      fill: (cells, r, i, rowEl) => this.fill(cells, r, rowEl),
      onSelect: (i) => this.showDetail(i),
    });
    this.grid = grid;

    this.detail = el('section', 'log-detail');
    this.detail.setAttribute('aria-label', 'The selected record');
    // A short polite announcement per selection (the pane itself would read every byte).
    this.live = el('p', 'sr-only');
    this.live.setAttribute('aria-live', 'polite');
    this.detail.append(el('p', 'meta', 'Select a record (click, or the arrow keys in the list) to see its bytes.'));

    // Dropped files: inspected here, never loaded into the lab.
    this.drop = el('div', 'log-drop');
    this.drop.append(el('p', 'log-drop-text', 'Inspect a real AOF without loading it: drop an appendonlydir/ folder, a .tar or files here, or pick them. They are read in this tab, shown and checked with redis-check-aof; the lab’s engine and files are untouched and nothing leaves the browser.'));
    const row = el('div', 'transfer-row');
    row.append(this.picker('Inspect files or a .tar…', false), this.picker('Inspect a folder…', true));
    this.closeDrop = el('button', 'chip', 'Close the dropped files');
    this.closeDrop.type = 'button';
    this.closeDrop.hidden = true;
    this.closeDrop.addEventListener('click', () => this.closeDropped());
    row.append(this.closeDrop);
    this.dropStatus = el('p', 'transfer-status');
    this.dropStatus.setAttribute('aria-live', 'polite');
    this.check = el('pre', 'log-check');
    this.check.hidden = true;
    this.check.tabIndex = 0;
    this.check.setAttribute('aria-label', 'redis-check-aof on the dropped files');
    this.drop.append(row, this.dropStatus, this.check);
    for (const ev of ['dragenter', 'dragover']) {
      root.addEventListener(ev, (e) => {
        if (!e.dataTransfer?.types?.includes('Files')) return;
        e.preventDefault();
        this.drop.classList.add('over');
      });
    }
    root.addEventListener('dragleave', (e) => {
      if (!root.contains(e.relatedTarget)) this.drop.classList.remove('over');
    });
    root.addEventListener('drop', (e) => {
      e.preventDefault();
      this.drop.classList.remove('over');
      this.dropped(e.dataTransfer);
    });

    root.append(bar, this.cutNote, grid, this.live, this.detail, this.drop);
    new IntersectionObserver((entries) => {
      this.inView = entries.some((x) => x.isIntersecting);
      if (this.inView) this.refreshFiles();
    }).observe(root);
  }

  picker(text, directory) {
    const label = el('label', 'chip file-pick');
    const input = document.createElement('input');
    input.type = 'file';
    input.className = 'sr-only';
    input.multiple = true;
    if (directory) input.webkitdirectory = true;
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = '';
      this.inspect(files.map((f) => ({ file: f, path: f.webkitRelativePath || f.name })));
    });
    label.append(input, document.createTextNode(text));
    return label;
  }

  // ----- files -----

  /** Called with every snapshot: the lab's files changed, the index follows (when shown). */
  onView(snapshot) {
    const sig = (snapshot.files ?? []).map((f) => `${f.name}:${f.len}`).join('|') + `|${snapshot.rewrite?.rewrites}|${snapshot.rewrite?.in_progress}`;
    if (sig === this.signature) return;
    this.signature = sig;
    if (this.inView || this.pendingFiles) this.refreshFiles();
  }

  refreshFiles() {
    if (this.filesInFlight) {
      this.filesAgain = true;
      return this.filesInFlight;
    }
    this.filesInFlight = this.act(LOG_ACTIONS.FILES, {})
      .then((text) => this.setFiles('lab', JSON.parse(text)))
      .catch(() => {})
      .finally(() => {
        this.filesInFlight = null;
        if (this.filesAgain) {
          this.filesAgain = false;
          this.refreshFiles();
        }
      });
    return this.filesInFlight;
  }

  setFiles(source, files) {
    this.files[source] = files;
    this.renderSelect();
    if (!this.file || !this.current()) {
      // First look: the file being appended to (the last incr), else the first one.
      const pick = this.files.lab.filter((f) => f.kind === 'incr' || f.kind === 'aof').pop() ?? this.files.lab[0];
      if (pick) this.choose(`lab:${pick.name}`);
      else this.showEmpty();
      return;
    }
    if (source === this.source) this.update(this.current());
  }

  current() {
    return this.files[this.source].find((f) => f.name === this.file) ?? null;
  }

  renderSelect() {
    const value = this.file ? `${this.source}:${this.file}` : '';
    this.select.replaceChildren();
    for (const [source, title] of [['lab', 'This lab’s files'], ['drop', 'Dropped (inspected, not loaded)']]) {
      if (!this.files[source].length) continue;
      const group = el('optgroup');
      group.label = title;
      for (const f of this.files[source]) {
        const o = el('option', '', `${f.name.split('/').pop()} · ${f.kind} · ${fmt(f.records)} records`);
        o.value = `${source}:${f.name}`;
        group.append(o);
      }
      this.select.append(group);
    }
    if (value) this.select.value = value;
  }

  choose(value) {
    const at = value.indexOf(':');
    const source = value.slice(0, at);
    const file = value.slice(at + 1);
    if (source === this.source && file === this.file) return;
    this.source = source;
    this.file = file;
    this.select.value = value;
    this.generation = -1;
    this.pages.clear();
    this.loading.clear();
    this.info = null;
    this.list.reset();
    this.detailFor = null;
    this.detail.replaceChildren(el('p', 'meta', 'Select a record to see its bytes.'));
    this.update(this.current());
  }

  showEmpty() {
    this.meta.textContent = 'No files yet: type a write in the console.';
    this.list.setCount(0);
  }

  /** The current file's entry changed: drop rows that may have changed, resize the list. */
  update(info) {
    if (!info) return;
    const prev = this.info;
    this.info = info;
    if (info.generation !== this.generation) {
      this.generation = info.generation;
      this.pages.clear();
    } else if (prev && prev.name === info.name) {
      // Rows from `stable` on may change (the tail, an open MULTI); rows before it never do.
      const from = Math.min(prev.stable, info.stable);
      for (const p of [...this.pages.keys()]) if ((p + 1) * PAGE > from) this.pages.delete(p);
    }
    this.root.dataset.file = info.name;
    this.root.dataset.records = info.records;
    this.grid.dataset.file = info.name;
    this.meta.textContent = `${fmt(info.records)} records · ${fmt(info.len)} bytes · ${info.kind}${info.rdb_records ? ` · RDB part: ${fmt(info.rdb_records)} records` : ''}${this.source === 'drop' ? ' · dropped, not loaded' : ''}`;
    const cut = info.cut;
    this.cutButton.hidden = !cut;
    this.cutNote.hidden = !cut;
    if (cut) {
      this.cutNote.textContent = cut.fixable
        ? `redis-check-aof --fix would truncate this file at offset ${fmt(cut.offset)} (${fmt(info.len - cut.offset)} bytes go): ${cut.reason}`
        : `redis-check-aof stops at offset ${fmt(cut.offset)}: ${cut.reason}. --fix cannot repair a damaged RDB part.`;
    }
    this.list.setCount(info.records);
    this.list.refresh();
  }

  // ----- rows -----

  row(i) {
    const p = Math.floor(i / PAGE);
    const page = this.pages.get(p);
    if (!page) return undefined;
    this.pages.delete(p); // recency
    this.pages.set(p, page);
    return page[i - p * PAGE];
  }

  need(first, last) {
    if (first < 0 || last < first) return;
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) {
      if (this.pages.has(p) || this.loading.has(p)) continue;
      this.fetchPage(p);
    }
  }

  async fetchPage(p) {
    const key = `${this.source}:${this.file}`;
    this.loading.add(p);
    try {
      const text = await this.act(LOG_ACTIONS.ROWS, { source: this.source, file: this.file, first: p * PAGE, count: PAGE });
      if (key !== `${this.source}:${this.file}`) return;
      const res = JSON.parse(text);
      if (res.generation !== this.generation && this.generation !== -1) {
        // The file was walked again meanwhile: start over with the new index.
        this.refreshFiles();
        return;
      }
      this.pages.set(p, res.rows.map((r) => ({ ...r, key: `${res.generation}` })));
      while (this.pages.size > KEEP_PAGES) this.pages.delete(this.pages.keys().next().value);
      if (res.records !== this.info?.records && this.info) {
        this.info = { ...this.info, records: res.records, stable: res.stable };
        this.list.setCount(res.records);
      }
      this.list.refresh();
      if (this.list.selected >= p * PAGE && this.list.selected < (p + 1) * PAGE && this.detailFor === null) this.showDetail(this.list.selected);
    } catch (err) {
      this.meta.textContent = `Could not read ${this.file}: ${err.message}`;
    } finally {
      if (key === `${this.source}:${this.file}`) this.loading.delete(p);
    }
  }

  fill(cells, r, rowEl) {
    rowEl.className = `vgrid-row k-${r.kind}${r.cut ? ' cut' : ''}${r.mark ? ` m-${r.mark}` : ''}`;
    rowEl.dataset.offset = r.offset;
    cells.offset.textContent = fmt(r.offset);
    cells.len.textContent = fmt(r.len);
    const first = r.cut && this.info?.cut && r.offset === this.info.cut.offset;
    cells.mark.textContent = first ? '✂ cut' : r.mark ? MARK_LABELS[r.mark] : r.kind.startsWith('rdb') ? 'RDB' : r.cut ? 'cut' : '';
    cells.mark.title = first ? `redis-check-aof cuts here: ${this.info.cut.reason}` : r.mark_text ?? '';
    cells.text.textContent = r.mark === 'ts' ? `${r.text}  (${r.mark_text})` : r.text;
    cells.framing.textContent = r.framing;
  }

  // ----- the selected record -----

  showDetail(i) {
    clearTimeout(this.detailTimer);
    this.grid.dataset.selected = i;
    const r = this.row(i);
    if (r) this.grid.dataset.selectedOffset = r.offset;
    // Key repeat moves fast: ask for the bytes once it settles.
    this.detailTimer = setTimeout(() => this.loadDetail(i), 60);
  }

  async loadDetail(i) {
    const key = `${this.source}:${this.file}:${i}`;
    this.detailFor = key;
    let d;
    try {
      d = JSON.parse(await this.act(LOG_ACTIONS.RECORD, { source: this.source, file: this.file, index: i }));
    } catch (err) {
      this.detail.replaceChildren(el('p', 'meta', `Could not read record ${i}: ${err.message}`));
      return;
    }
    if (this.detailFor !== key) return;
    this.grid.dataset.selectedOffset = d.offset;
    const head = el('p', 'log-detail-head');
    head.append(el('strong', '', `Record ${fmt(i + 1)}`), ` · offset ${fmt(d.offset)} (0x${d.offset.toString(16)}) · ${fmt(d.len)} bytes · ${d.kind}`);
    if (d.mark) head.append(' · ', el('span', `mark m-${d.mark}`, `${MARK_LABELS[d.mark]} ${d.mark_text ?? ''}`.trim()));
    const text = el('p', 'log-detail-text', d.text);
    const parts = [head, text];
    if (d.cut && this.info?.cut) {
      parts.push(el('p', 'log-cut-note', this.info.cut.fixable
        ? `After the cut: redis-check-aof --fix would truncate the file at offset ${fmt(this.info.cut.offset)} (${this.info.cut.reason}).`
        : `Past the point where redis-check-aof stops (${this.info.cut.reason}).`));
    }
    const framing = el('pre', `log-framing${d.rdb ? ' rdb' : ''}`);
    framing.setAttribute('aria-label', d.rdb ? 'The record’s bytes in hex' : 'The record’s bytes with their framing');
    if (d.rdb) framing.textContent = d.framing;
    else framing.append(framingNodes(d.framing));
    parts.push(framing);
    if (d.shown < d.len) parts.push(el('p', 'meta', `Showing the first ${fmt(d.shown)} of ${fmt(d.len)} bytes.`));
    const hex = el('details', 'log-hex');
    hex.append(el('summary', '', 'Hex dump'), el('pre', '', d.hex));
    parts.push(hex);
    this.detail.replaceChildren(...parts);
    this.live.textContent = `${head.textContent}: ${d.text}`.slice(0, 300);
  }

  // ----- jumps -----

  /** Selects the record of `file` holding byte `offset` (source 'lab' unless said); with
   *  `len` (a command's bytes), the command's own record. */
  async open({ file, offset, len, source = 'lab' }) {
    this.pendingFiles = true;
    try {
      if (!this.files[source].some((f) => f.name === file) || source === 'lab') await this.refreshFiles();
    } finally {
      this.pendingFiles = null;
    }
    if (!this.files[source].some((f) => f.name === file)) return false;
    this.choose(`${source}:${file}`);
    await this.refreshFiles();
    return this.goTo(offset, len);
  }

  async goTo(offset, len) {
    const index = await this.act(LOG_ACTIONS.FIND, { source: this.source, file: this.file, offset, len });
    if (index === undefined || index === null) return false;
    this.root.scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    this.list.select(index);
    this.grid.focus({ preventScroll: true });
    return true;
  }

  // ----- dropped files -----

  async dropped(dt) {
    const items = [...(dt.items ?? [])].map((it) => it.webkitGetAsEntry?.()).filter(Boolean);
    let files;
    if (items.length) {
      files = [];
      for (const entry of items) await walk(entry, files);
    } else {
      files = [...dt.files].map((f) => ({ file: f, path: f.name }));
    }
    this.inspect(files);
  }

  /** Reads `files` ([{file, path}]) and opens them in the worker's inspector. */
  async inspect(files) {
    if (!files.length) return;
    try {
      this.dropStatus.textContent = 'Reading…';
      const read = await readAll(files.map((f) => f.file), (done, total) => {
        this.dropStatus.textContent = `Reading ${fmt(done)} of ${fmt(total)} bytes…`;
      });
      read.forEach((r, k) => { r.path = files[k].path; });
      const t0 = performance.now();
      this.dropStatus.textContent = 'Indexing…';
      const tar = read.length === 1 && (read[0].path.endsWith('.tar') || isUstar(read[0].bytes));
      const res = await this.act(LOG_ACTIONS.DROP_OPEN, tar ? { name: read[0].path, bytes: read[0].bytes } : { files: read });
      const list = JSON.parse(res.files);
      this.files.drop = list;
      this.check.hidden = false;
      this.check.textContent = res.check;
      this.closeDrop.hidden = false;
      const ms = Math.round(performance.now() - t0);
      this.dropStatus.textContent = `Inspecting ${list.length} file${list.length === 1 ? '' : 's'} (not loaded into the lab), indexed in ${fmt(ms)} ms. redis-check-aof says:`;
      this.root.dataset.dropMs = ms;
      this.renderSelect();
      const first = list.find((f) => f.kind === 'incr') ?? list[0];
      if (first) this.choose(`drop:${first.name}`);
    } catch (err) {
      this.dropStatus.textContent = `Could not inspect these files: ${err.message}`;
    }
  }

  async closeDropped() {
    await this.act(LOG_ACTIONS.DROP_CLOSE, {}).catch(() => {});
    this.files.drop = [];
    this.check.hidden = true;
    this.closeDrop.hidden = true;
    this.dropStatus.textContent = 'The dropped files are closed.';
    if (this.source === 'drop') {
      this.file = '';
      this.setFiles('lab', this.files.lab);
    } else this.renderSelect();
  }
}

function isUstar(bytes) {
  return bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';
}

/** A dropped entry and everything under it, as [{file, path}]. */
async function walk(entry, out) {
  if (entry.isFile) {
    const file = await new Promise((res, rej) => entry.file(res, rej));
    out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    for (const e of batch) await walk(e, out);
  }
}
