// <aof-lab>: the lab as one element, for tutorial pages. Plain custom element, shadow DOM, no
// framework; the same worker, protocol and views as the lab page (lab.js).
//
//   <script type="module" src="/www/aof-lab.js"></script>
//   <aof-lab appendfsync="always" height="16rem" script="SET greeting hello
//   RPUSH queue a b c"></aof-lab>
//
// Attributes (read when the element is connected):
//   backend      memory (default: nothing persists) | auto | opfs | indexeddb
//   namespace    storage namespace (default "embed"); one writer per namespace across tabs, so
//                two persistent elements on one page need two namespaces
//   appendfsync  always | everysec (default) | no
//   aof-mode     7.0 (default: the multi-part appendonlydir/) | 6.2 (one appendonly.aof and the
//                rewrite buffer; on a persistent backend its files live in "<namespace>-6.2")
//   rewrite-speed  keys the simulated rewrite / BGSAVE child writes per tick (default 0: all
//                at once); slow it down to watch a rewrite
//   height       CSS height of the console and AOF panes (default 14rem)
//   script       commands run once the engine is ready, one per line; or put them in a child
//                <script type="text/x-redis">; they run at every start (reload included)
//   panels       which panels to show, space-separated: console machine aof files persist crash
//                events transfer scenarios (default: console aof files crash, plus scenarios when
//                a scenario is given); machine = the write-path diagram, persist = rewrite and
//                snapshots
//   scenario     a built-in guided scenario (www/scenarios/<name>.txt), played at once on the
//                element's own views (its steps on the timeline), e.g. scenario="fsync-policies";
//                or an author's own: a child <script type="text/x-aof-scenario"> (the format of
//                src/lab/scenario.rs), played at once
//   panels       also: timeline (the timeline bar: step back, scrub, fork, share; shown by default)

import { LabController } from './lab.js';

const PANELS = {
  timeline: `<section class="timeline-bar" data-part="timeline" aria-label="Timeline"></section>`,
  console: `
    <section class="panel console" aria-label="Console">
      <div class="panel-head"><h2>Console</h2><p class="meta"><kbd>Enter</kbd> runs · <kbd>↑</kbd> <kbd>↓</kbd> history</p></div>
      <div data-part="log" class="log" role="log" aria-label="Console output" tabindex="0"></div>
      <form data-part="prompt" class="prompt" autocomplete="off">
        <label class="sr-only" data-part="cmd-label">Command</label>
        <span class="ps1" aria-hidden="true">aof-lab&gt;</span>
        <input data-part="cmd" type="text" spellcheck="false" autocapitalize="off" disabled>
        <button data-part="run" type="submit" disabled>Run</button>
      </form>
    </section>`,
  machine: `
    <section class="panel machine" aria-label="The write path">
      <div class="panel-head"><h2>The write path</h2></div>
      <div data-part="machine"></div>
    </section>`,
  aof: `
    <section class="panel aof" aria-label="AOF buffer">
      <div class="panel-head"><h2>AOF buffer</h2><p class="meta"><span data-part="aof-config"></span><span data-part="aof-size">0 bytes</span></p></div>
      <ol data-part="aof" class="aof-list" aria-label="Bytes appended to aof_buf, per command"></ol>
      <p data-part="aof-empty" class="empty">No writes yet.</p>
    </section>`,
  files: `
    <section class="panel files" aria-label="Files">
      <div class="panel-head"><h2>Files</h2><button data-part="bgrewrite" type="button" class="chip">BGREWRITEAOF</button></div>
      <p data-part="durability" class="durability"></p>
      <ol data-part="files" class="files-list" aria-label="Files of the AOF directory"></ol>
      <p data-part="rewrite-state" class="meta rewrite-state"></p>
      <details class="info"><summary>Manifest</summary><pre data-part="manifest" class="manifest"></pre></details>
      <details class="info"><summary>Start-up log</summary><pre data-part="load-log"></pre></details>
      <details class="info"><summary>INFO persistence</summary><pre data-part="info"></pre></details>
    </section>`,
  persist: `
    <section class="panel persist" aria-label="Rewrite and snapshots">
      <div class="panel-head"><h2>Rewrite and snapshots</h2></div>
      <div data-part="persist"></div>
    </section>`,
  crash: `
    <section class="panel crash" aria-label="Crash lab">
      <div class="panel-head"><h2>Crash lab</h2></div>
      <div data-part="crash"></div>
    </section>`,
  events: `
    <section class="panel events" aria-label="Events">
      <div class="panel-head"><h2>Events</h2><p class="meta" data-part="events-count">0 events</p></div>
      <ol data-part="events" class="events-list" tabindex="0"></ol>
    </section>`,
  scenarios: `
    <section class="panel scenarios" aria-label="Scenarios">
      <div class="panel-head"><h2>Scenarios</h2></div>
      <div data-part="scenarios"></div>
    </section>`,
  transfer: `
    <section class="panel transfer" aria-label="Export and import">
      <div class="panel-head"><h2>Export and import</h2></div>
      <div data-part="transfer"></div>
    </section>`,
};

let cssText = null;
async function sharedCss() {
  // One stylesheet for page and element: its :root variables become the host's.
  cssText ??= fetch(new URL('./style.css', import.meta.url)).then((r) => r.text()).then((t) => t.replaceAll(':root', ':host'));
  return cssText;
}

class AofLabElement extends HTMLElement {
  async connectedCallback() {
    // Kept across a move (disconnected and connected again in the same task), and started once
    // even when connected again while the stylesheet loads.
    if (this.lab || this.starting) return;
    const token = (this.starting = {});
    const css = await sharedCss();
    if (this.starting !== token) return; // removed meanwhile (and maybe added again: that start won)
    this.starting = null;
    if (!this.isConnected) return;
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    root.replaceChildren();
    const scenario = this.getAttribute('scenario') ?? '';
    const scenarioText = this.querySelector('script[type="text/x-aof-scenario"]')?.textContent ?? null;
    const guided = scenario || scenarioText;
    const panels = (this.getAttribute('panels') ?? `timeline ${guided ? 'scenarios ' : ''}console aof files crash`).split(/\s+/).filter((p) => PANELS[p]);
    const style = document.createElement('style');
    style.textContent = css;
    const own = document.createElement('style');
    own.textContent = `
      :host { display: block; font: 15px/1.5 var(--sans); color: var(--text); background: var(--bg); border-radius: 12px; padding: 0.75rem 0; }
      .layout { padding: 0 0.75rem; }
      .log, .aof-list { height: ${this.getAttribute('height') ?? '14rem'}; max-height: none; }
      .embed-head { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; align-items: center; justify-content: space-between; padding: 0 0.75rem 0.6rem; }
      .embed-head strong { font-size: 0.95rem; }
    `;
    const wrap = document.createElement('div');
    wrap.className = 'embed';
    wrap.innerHTML = `
      <div class="embed-head">
        <strong>AOF Lab</strong>
        <p data-part="status" class="status" role="status" data-engine="starting"><span class="dot" aria-hidden="true"></span><span class="status-text">Starting the engine…</span></p>
        <p data-part="backend" class="backend"></p>
      </div>
      <p data-part="notice" class="notice" role="alert" hidden></p>
      <div class="layout">${panels.map((p) => PANELS[p]).join('')}</div>`;
    root.append(style, own, wrap);
    const part = (name) => root.querySelector(`[data-part="${name}"]`);
    // A label's `for` needs an id; ids are private to the shadow root.
    if (part('cmd')) {
      part('cmd').id = 'cmd';
      part('cmd-label').htmlFor = 'cmd';
    }
    const fromChild = this.querySelector('script[type="text/x-redis"]')?.textContent ?? '';
    const script = `${this.getAttribute('script') ?? ''}\n${fromChild}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const config = { appendonly: true, appendfsync: this.getAttribute('appendfsync') ?? 'everysec' };
    if (this.getAttribute('aof-mode') === '6.2') config['lab-aof-mode'] = '6.2';
    if (this.hasAttribute('rewrite-speed')) config['lab-rewrite-keys-per-tick'] = Number(this.getAttribute('rewrite-speed')) || 0;
    this.lab = new LabController(
      {
        status: part('status'),
        backend: part('backend'),
        notice: part('notice'),
        console: part('log') && { log: part('log'), form: part('prompt'), input: part('cmd'), button: part('run') },
        aof: part('aof') && { list: part('aof'), size: part('aof-size'), empty: part('aof-empty'), config: part('aof-config') },
        files: part('files') && { list: part('files'), manifest: part('manifest'), info: part('info'), rewrite: part('rewrite-state'), durability: part('durability'), loadLog: part('load-log') },
        events: part('events') && { list: part('events'), count: part('events-count') },
        crash: part('crash'),
        transfer: part('transfer'),
        rewrite: part('bgrewrite'),
        persist: part('persist'),
        scenarios: part('scenarios'),
        machine: part('machine'),
        timeline: part('timeline'),
        root: wrap,
      },
      {
        backend: this.getAttribute('backend') ?? 'memory',
        namespace: this.getAttribute('namespace') ?? 'embed',
        config,
        // Lines given to run() before the lab existed go after the start-up script.
        script: [...script, ...(this.early ?? [])],
        scenario,
        scenarioStart: !!scenario,
        scenarioText,
        focus: false,
      },
    );
    this.early = null;
  }

  disconnectedCallback() {
    // A start in progress is called off; a running lab ends unless the element comes back in
    // the same task (a move: appendChild elsewhere keeps the worker and its machine).
    this.starting = null;
    queueMicrotask(() => {
      if (this.isConnected || !this.lab) return;
      // The element left the page: its worker (and a memory machine with it) ends.
      this.lab.worker.terminate();
      this.lab = null;
      this.shadowRoot?.replaceChildren();
    });
  }

  /** Runs a command line as if typed (for tutorial buttons: "run this"); before the engine is
   *  ready (or the element connected) the line waits and runs first thing. */
  run(line) {
    if (this.lab) this.lab.send(line);
    else (this.early ??= []).push(line);
  }
}

if (!customElements.get('aof-lab')) customElements.define('aof-lab', AofLabElement);
