// Export and import of the AOF directory. Export: the worker writes a ustar archive of
// appendonlydir/ (src/archive.rs) that `tar -xf` + `redis-server --appendonly yes` loads as is.
// Import: an archive, single files (a manifest, base and incr files, an old appendonly.aof) or a
// whole folder (webkitdirectory); files are read here with a progress bar, then the worker
// replaces its files and restarts on them (the load log, with Redis's messages for damaged
// files, shows in the events and the crash-lab report area).

import { LAB_ACTIONS } from '../protocol.js';
import { el, setText } from './dom.js';

/** Reads files into bytes, reporting progress(done, total) as chunks arrive. */
export async function readAll(files, progress) {
  const total = files.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const out = [];
  for (const f of files) {
    const bytes = new Uint8Array(f.size);
    let at = 0;
    const reader = f.stream().getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      bytes.set(value, at);
      at += value.length;
      done += value.length;
      progress(done, total);
    }
    out.push({ path: f.webkitRelativePath || f.name, bytes: bytes.subarray(0, at) });
  }
  return out;
}

export class TransferView {
  constructor(root, act) {
    this.act = act;
    // What is exported depends on the AOF design in force (CSS shows one label).
    const exportButton = el('button', 'chip');
    exportButton.append(el('span', 'only-70', 'Export appendonlydir (.tar)'), el('span', 'only-62', 'Export appendonly.aof (.tar)'));
    exportButton.type = 'button';
    exportButton.dataset.action = 'export';
    exportButton.addEventListener('click', () => this.export());
    const files = this.picker('Import files or a .tar…', false);
    const folder = this.picker('Import a folder…', true);
    this.progress = el('progress', 'transfer-progress');
    this.progress.hidden = true;
    this.status = el('p', 'transfer-status');
    this.status.setAttribute('aria-live', 'polite');
    const reset = el('button', 'chip', 'Start over (delete the files)');
    reset.type = 'button';
    reset.dataset.action = 'reset';
    reset.addEventListener('click', () => this.reset());
    const row = el('div', 'transfer-row');
    row.append(exportButton, files.label, folder.label, reset);
    root.append(row, this.progress, this.status);
  }

  picker(text, directory) {
    const label = el('label', 'chip file-pick');
    const input = document.createElement('input');
    input.type = 'file';
    input.className = 'sr-only';
    input.multiple = true;
    if (directory) input.webkitdirectory = true;
    else input.accept = '.tar,.aof,.rdb,.manifest,application/x-tar';
    input.addEventListener('change', () => {
      this.import([...input.files]);
      input.value = '';
    });
    label.append(input, document.createTextNode(text));
    return { label, input };
  }

  async export() {
    try {
      const { bytes, name } = await this.act(LAB_ACTIONS.EXPORT, {});
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/x-tar' }));
      const a = el('a');
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setText(this.status, `Exported ${name} (${bytes.length.toLocaleString('en')} bytes): extract it with tar -xf next to redis-server --appendonly yes.`);
    } catch (err) {
      setText(this.status, `Export failed: ${err.message}`);
    }
  }

  async reset() {
    // eslint-disable-next-line no-alert
    if (!confirm('Delete every file of this namespace and start an empty server?')) return;
    setText(this.status, 'Starting over: deleting the files…');
    try {
      const { backend } = await this.act(LAB_ACTIONS.RESET, {});
      setText(this.status, `Started over: the files are deleted (${backend}) and the server is empty.`);
    } catch (err) {
      setText(this.status, `Could not start over: ${err.message}`);
    }
  }

  async import(files) {
    if (files.length === 0) return;
    this.progress.hidden = false;
    this.progress.value = 0;
    try {
      const read = await readAll(files, (done, total) => {
        this.progress.max = total || 1;
        this.progress.value = done;
        setText(this.status, `Reading ${done.toLocaleString('en')} of ${total.toLocaleString('en')} bytes…`);
      });
      setText(this.status, 'Loading (redis-server starts on the imported files)…');
      const one = read.length === 1 && !files[0].webkitRelativePath;
      const started = await this.act(LAB_ACTIONS.IMPORT, one ? { name: read[0].path, bytes: read[0].bytes } : { files: read });
      this.status.textContent = started
        ? `Imported ${read.map((f) => f.path).join(', ')}: loaded (see the load log in the events).`
        : `Imported, but redis-server refused to start on these files: see its log in the events and the crash lab.`;
    } catch (err) {
      setText(this.status, `Import failed: ${err.message}`);
    } finally {
      this.progress.hidden = true;
    }
  }
}
