// The files view: each file of the AOF directory with its three layers, the manifest, the
// rewrite state and INFO persistence. A pure function of the worker's last snapshot.
//
// Layers, one colour each (style.css): process memory (aof_buf, lost when the process dies),
// kernel page cache (written, not fsynced: lost on power loss), disk (fsynced).

import { reconcile } from './lists.js';
import { el, setText } from './dom.js';

const fmt = (n) => `${n.toLocaleString('en')} B`;

/** The three layers of one file as numbers: {memory, cache, disk} bytes (null when unknown). */
export function layersOf(file, snapshot) {
  const memory = snapshot.incr && file.name === snapshot.incr ? snapshot.aof_buf : 0;
  if (file.durable_len === null || file.durable_len === undefined) return { memory, cache: null, disk: null, len: file.len };
  return { memory, cache: file.len - file.durable_len, disk: file.durable_len, len: file.len };
}

export class FilesView {
  /** @param {object} els {list, manifest, info, rewrite, durability, loadLog} */
  constructor(els) {
    this.els = els;
    this.drawn = new Map(); // what an item shows (its key) -> the item
  }

  /**
   * The list's items: one per file, made again only when what it shows changed. A VIEW comes
   * several times a second while time runs, mostly with the same files: the items stay (no
   * churn: a reader's selection, a test's reference, the layout stay put).
   */
  render(s) {
    const { list } = this.els;
    const drawn = new Map();
    const item = (key, make) => {
      const li = this.drawn.get(key) ?? make();
      drawn.set(key, li);
      return li;
    };
    const items = [];
    const files = s.files ?? [];
    if (files.length === 0) {
      const text = s.appendonly ? 'No files yet.' : 'appendonly no: no AOF files.';
      items.push(item(`empty|${text}`, () => el('li', 'empty', text)));
    }
    const max = Math.max(1, ...files.map((f) => f.len + (layersOf(f, s).memory || 0)));
    for (const f of files) {
      const l = layersOf(f, s);
      const li = item(`file|${f.name}|${f.kind}`, () => fileItem(f));
      updateFileItem(li, f, l, max);
      items.push(li);
    }
    const rw = s.rewrite ?? {};
    if (s.mode === '6.2' && rw.in_progress) {
      items.push(item(JSON.stringify(['rwbuf', rw.diff_len, rw.rewrite_buffer_length, max]), () => rewriteBufferItem(rw, max)));
    }
    reconcile(list, items);
    this.drawn = drawn;
    // The texts too are written only when they changed (the pre a reader selects from stays).
    setText(this.els.manifest, s.manifest || (s.mode === '6.2' ? '(Redis 6.2 has no manifest: the AOF is the one appendonly.aof)' : '(no manifest)'));
    setText(this.els.info, (s.info ?? '').trim());
    if (this.els.loadLog) setText(this.els.loadLog, (s.load_log ?? []).join('\n') || '(nothing logged: there was nothing to load)');
    setText(this.els.rewrite, rw.in_progress
      ? `Rewrite in progress (simulated child ${rw.pid}): ${rw.keys_processed} / ${rw.keys_total} keys written to ${rw.tmp}; ${s.mode === '6.2' ? `rewrite buffer ${fmt(rw.rewrite_buffer_length)}; at the end the file is renamed over appendonly.aof.` : `new writes go to ${(s.incr ?? '').split('/').pop()}; at the end the manifest is swapped.`}`
      : `${rw.rewrites} rewrite${rw.rewrites === 1 ? '' : 's'} done${rw.last_failed ? ' · the last one failed' : ''}${rw.scheduled ? ' · one is scheduled' : ''}.`);
    setText(this.els.durability, s.durability ?? '');
  }
}

/**
 * A file's item: its name and size, its layers as a bar, and the bar said in words. Made once
 * per file and updated in place as the file grows (texts and widths written only when they
 * change), so the bar's widths ease from one size to the next.
 */
function fileItem(f) {
  const li = el('li', `file file-${f.kind}`);
  li.dataset.name = f.name;
  const head = el('p', 'file-head');
  const size = el('span', 'file-size');
  head.append(el('span', `badge kind-${f.kind}`, f.kind), el('code', 'file-name', f.name), size);
  const bar = el('div', 'layers');
  bar.setAttribute('role', 'img');
  const legend = el('p', 'file-legend');
  li.append(head, bar, legend);
  li.parts = { size, bar, legend, segs: '' };
  return li;
}

function updateFileItem(li, f, l, max) {
  const { size, bar, legend } = li.parts;
  setText(size, fmt(f.len));
  const segs = [];
  const parts = [];
  if (l.disk === null) {
    segs.push(['written', f.len]);
    parts.push(`${fmt(f.len)} written to the browser's storage`);
  } else {
    // The simulated machine's layers, whatever the backend underneath.
    segs.push(['disk', l.disk], ['cache', l.cache]);
    parts.push(`${fmt(l.disk)} on disk`, `${fmt(l.cache)} only in the page cache`);
    if (!f.durable_name) parts.push('its directory entry is not synced yet');
  }
  if (l.memory) {
    segs.push(['memory', l.memory]);
    parts.push(`${fmt(l.memory)} still in aof_buf (process memory)`);
  }
  const kinds = segs.map(([k]) => k).join();
  if (kinds !== li.parts.segs) {
    bar.replaceChildren(...segs.map(([k]) => seg(k)));
    li.parts.segs = kinds;
  }
  segs.forEach(([k, bytes], i) => sizeSeg(bar.children[i], k, bytes, max));
  const said = parts.join(', ');
  if (bar.getAttribute('aria-label') !== said) bar.setAttribute('aria-label', said);
  setText(legend, parts.join(' · '));
}

/** Not a file: the parent's second copy of every write made during a 6.2 rewrite. */
function rewriteBufferItem(rw, max) {
  const li = el('li', 'file file-rwbuf');
  const head = el('p', 'file-head');
  const diff = rw.diff_len ?? 0;
  head.append(el('span', 'badge kind-rwbuf', 'buffer'), el('code', 'file-name', 'aof_rewrite_buf (process memory, not a file)'), el('span', 'file-size', `${fmt(rw.rewrite_buffer_length)} now`));
  const bar = el('div', 'layers');
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', `${fmt(rw.rewrite_buffer_length)} in the rewrite buffer now, ${fmt(diff)} already handed to the child`);
  // What went through the buffer to the child (grey), then what waits in it (process memory).
  bar.append(seg('written', diff, max, 'handed to the child'), seg('memory', rw.rewrite_buffer_length, max, 'in the rewrite buffer (process memory)'));
  const legend = el('p', 'file-legend', `Every write made during the rewrite, held for the new file (it also went to aof_buf for the old one) until the parent hands it to the child at the next tick: ${fmt(diff)} sent to the child so far.`);
  legend.dataset.diff = diff;
  li.append(head, bar, legend);
  return li;
}

/** A layer of a bar: `kind`'s share of `max` (sized by sizeSeg when bytes are given). */
function seg(kind, bytes, max, label) {
  const s = el('span', `seg seg-${kind}`);
  if (bytes !== undefined) sizeSeg(s, kind, bytes, max, label);
  return s;
}

function sizeSeg(s, kind, bytes, max, label) {
  const width = `${Math.min(100, Math.max(bytes > 0 ? 1.5 : 0, (100 * bytes) / max))}%`;
  if (s.style.width !== width) s.style.width = width;
  const title = `${label ?? (kind === 'memory' ? 'aof_buf (process memory)' : kind === 'cache' ? 'page cache' : kind)}: ${fmt(bytes)}`;
  if (s.title !== title) s.title = title;
}
