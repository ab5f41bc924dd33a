// <aof-lab>: the lab as one element, for tutorial pages. Plain custom element, shadow DOM, no
// framework; the same worker, protocol and views as the lab page (lab.js). Types: aof-lab.d.ts.
//
//   <script type="module" src="node_modules/aof-lab/www/aof-lab.js"></script>
//   <aof-lab appendfsync="always" height="16rem" script="SET greeting hello
//   RPUSH queue a b c"></aof-lab>
//
// The files may come from another origin than the page (a CDN): worker-start.js starts the
// worker through a same-origin blob then, and the CDN must send Access-Control-Allow-Origin.
//
// Attributes. Read at start, and applied when they change later (each says how):
//   backend      memory (default: nothing persists) | auto | opfs | indexeddb; a change
//                restarts the engine on the new backend
//   namespace    storage namespace (default "embed"); one writer per namespace across tabs, so
//                two persistent elements on one page need two namespaces; a change restarts the
//                engine on the new namespace's files
//   appendfsync  always | everysec (default) | no; a change is a CONFIG SET (seen in the console)
//   aof-mode     7.0 (default: the multi-part appendonlydir/) | 6.2 (one appendonly.aof and the
//                rewrite buffer; on a persistent backend its files live in "<namespace>-6.2");
//                a change restarts redis-server with the other design
//   rewrite-speed  keys the simulated rewrite / BGSAVE child writes per tick (default 0: all
//                at once); slow it down to watch a rewrite; a change applies at the next step
//   height       CSS height of the console and AOF panes (default 14rem); applied at once
//   scenario     a built-in guided scenario (www/scenarios/<name>.txt), played at once on the
//                element's own views (its steps on the timeline), e.g. scenario="fsync-policies";
//                a change selects another. Or an author's own: a child
//                <script type="text/x-aof-scenario"> (the format of src/lab/scenario.rs)
//   Read at start only:
//   lazy         (no value) start the worker only when the element comes near the viewport, or
//                when its "Start" button is pressed or a method is called: a page with many
//                labs (the tutorial) runs only those the reader reaches
//   script       commands run once the engine is ready, one per line; or put them in a child
//                <script type="text/x-redis">
//   panels       which panels to show, space-separated: console machine aof files persist crash
//                events transfer scenarios timeline (default: timeline console aof files crash,
//                plus scenarios when a scenario is given); machine = the write-path diagram, persist = rewrite and
//                snapshots, timeline = the timeline bar (step back, scrub, fork, share; shown
//                by default)
//
// Events (CustomEvent on the element, `event.detail`; they do not bubble out of the element's
// host unless the host re-dispatches them): ready, reply, write, fsync, crash, rewrite-done,
// scenario-step, error. Methods: run(line), crash(kind), reset(), load(scenarioText),
// step(answer?). See aof-lab.d.ts for the shapes.

import { LabController } from './lab.js';
import { LAB_ACTIONS, MSG, SCENARIO_ACTIONS } from './protocol.js';

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

/** The crash kinds `crash(kind)` takes (the crash lab's, but the real worker termination). */
const CRASHES = new Set(['kill', 'power', 'torn', 'torn-seq']);

let cssText = null;
async function sharedCss() {
  // One stylesheet for page and element: its :root variables become the host's.
  cssText ??= fetch(new URL('./style.css', import.meta.url))
    .then((r) => {
      if (!r.ok) throw new Error(`style.css: HTTP ${r.status}`);
      return r.text();
    })
    .then((t) => t.replaceAll(':root', ':host'))
    .catch((err) => {
      cssText = null; // the next element tries again
      throw err;
    });
  return cssText;
}

function ownCss(height) {
  return `
    :host { display: block; font: 15px/1.5 var(--sans); color: var(--text); background: var(--bg); border-radius: 12px; padding: 0.75rem 0; }
    .layout { padding: 0 0.75rem; }
    /* One panel (a tutorial's scenario) takes the whole width. */
    .layout > .panel:only-child { grid-column: 1 / -1; }
    /* A lab led by its scenario (a tutorial's): the story on the left, the views it drives
       stacked on the right (one column on a narrow screen). */
    .layout > .panel.scenarios:first-child:not(:only-child) { grid-row: span 4; }
    .log, .log[data-empty], .aof-list { height: ${height}; min-height: 0; max-height: none; }
    .embed-head { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; align-items: center; justify-content: space-between; padding: 0 0.75rem 0.6rem; }
    .embed-head strong { font-size: 0.95rem; }
  `;
}

export class AofLabElement extends HTMLElement {
  static observedAttributes = ['backend', 'namespace', 'appendfsync', 'aof-mode', 'rewrite-speed', 'height', 'scenario'];

  async connectedCallback() {
    // Kept across a move (disconnected and connected again in the same task), and started once
    // even when connected again while the stylesheet loads.
    if (this.lab || this.starting) return;
    if (this.hasAttribute('lazy') && !this.awake) {
      this.sleep();
      return;
    }
    const token = (this.starting = {});
    let css;
    try {
      css = await sharedCss();
    } catch (err) {
      this.starting = null;
      this.emit('error', { message: `The lab's stylesheet could not be loaded: ${err.message}` });
      return;
    }
    if (this.starting !== token) return; // removed meanwhile (and maybe added again: that start won)
    this.starting = null;
    if (!this.isConnected) return;
    this.build(css);
  }

  /** A lazy element before it starts: a placeholder, and a watch for the viewport. */
  sleep() {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    root.innerHTML = `
      <style>
        :host { display: block; border-radius: 12px; padding: 0.9rem 1rem; background: rgb(127 127 127 / 10%); font: 15px/1.5 system-ui, sans-serif; }
        .asleep { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; }
        button { font: inherit; padding: 0.3rem 0.8rem; border-radius: 999px; border: 1px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
        button:focus-visible { outline: 3px solid #3b82f6; outline-offset: 2px; }
      </style>
      <div class="asleep"><strong>AOF Lab</strong><span>starts when it comes into view</span><button type="button">Start it now</button></div>`;
    root.querySelector('button').addEventListener('click', () => this.wake());
    if (typeof IntersectionObserver === 'function' && !this.observer) {
      this.observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.wake();
      }, { rootMargin: '300px 0px' });
      this.observer.observe(this);
    }
  }

  /** Starts a lazy element now. */
  wake() {
    this.observer?.disconnect();
    this.observer = null;
    if (this.awake) return;
    this.awake = true;
    if (this.isConnected) this.connectedCallback();
  }

  build(css) {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    // A lazy lab woken while its Start button has the keyboard focus (pressed, or reached with
    // Tab and so scrolled into view): the focus stays in the lab, not thrown back to the page.
    const hadFocus = !!root.activeElement;
    root.replaceChildren();
    const scenario = this.getAttribute('scenario') ?? '';
    const scenarioText = this.querySelector('script[type="text/x-aof-scenario"]')?.textContent ?? null;
    const guided = scenario || scenarioText;
    const panels = (this.getAttribute('panels') ?? `timeline ${guided ? 'scenarios ' : ''}console aof files crash`).split(/\s+/).filter((p) => PANELS[p]);
    const style = document.createElement('style');
    style.textContent = css;
    this.ownStyle = document.createElement('style');
    this.ownStyle.textContent = ownCss(this.getAttribute('height') ?? '14rem');
    const wrap = document.createElement('div');
    wrap.className = 'embed';
    wrap.setAttribute('role', 'group');
    wrap.setAttribute('aria-label', 'AOF Lab');
    wrap.innerHTML = `
      <div class="embed-head">
        <strong>AOF Lab</strong>
        <p data-part="status" class="status" role="status" data-engine="starting"><span class="dot" aria-hidden="true"></span><span class="status-text">Starting the engine…</span></p>
        <p data-part="backend" class="backend"></p>
      </div>
      <p data-part="notice" class="notice" role="alert" hidden></p>
      <div class="layout">${panels.map((p) => PANELS[p]).join('')}</div>`;
    root.append(style, this.ownStyle, wrap);
    if (hadFocus) {
      wrap.tabIndex = -1;
      wrap.focus({ preventScroll: true });
    }
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
    this.ready = false;
    this.waiting = new Map(); // console line id -> resolve of run()'s promise
    this.pendingLines = []; // lines whose reply waits (a blocked command), oldest first
    this.scenarioSteps = 0;
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
        script,
        scenario,
        scenarioStart: !!scenario,
        scenarioText,
        // A lab that only plays its scenario (a tutorial's) has no lab of its own to go back to.
        scenarioLeave: panels.includes('console') || script.length > 0,
        focus: false,
      },
    );
    this.lab.onmessage = (msg, request) => this.heard(msg, request);
    // After the start-up script was sent: lines given to run() before go after it.
    this.lab.onready = (msg) => {
      this.ready = true;
      this.emit('ready', { backend: msg.backend, notes: msg.notes, namespace: msg.namespace });
      for (const { line, resolve } of this.early ?? []) this.waiting.set(this.lab.send(line), resolve);
      this.early = null;
    };
  }

  disconnectedCallback() {
    // A start in progress is called off; a running lab ends unless the element comes back in
    // the same task (a move: appendChild elsewhere keeps the worker and its machine).
    this.starting = null;
    queueMicrotask(() => {
      if (!this.isConnected) {
        this.observer?.disconnect();
        this.observer = null;
      }
      if (this.isConnected || !this.lab) return;
      // The element left the page: its worker (and a memory machine with it) ends.
      this.lab.worker.terminate();
      this.lab = null;
      this.ready = false;
      this.shadowRoot?.replaceChildren();
    });
  }

  attributeChangedCallback(name, old, value) {
    // Before the start the attributes are read by build(); a removed attribute is its default.
    if (!this.lab || old === value) return;
    const lab = this.lab;
    switch (name) {
      case 'backend':
      case 'namespace':
        lab.options = { ...lab.options, backend: this.getAttribute('backend') ?? 'memory', namespace: this.getAttribute('namespace') ?? 'embed' };
        this.ready = false;
        lab.restartWorker(`Restarted on ${lab.options.backend} storage, namespace "${lab.options.namespace}".`);
        break;
      case 'aof-mode':
        this.ready = false;
        lab.setMode(value === '6.2' ? '6.2' : '7.0');
        break;
      case 'appendfsync': {
        const policy = value ?? 'everysec';
        lab.options = { ...lab.options, config: { ...lab.options.config, appendfsync: policy } };
        lab.send(`CONFIG SET appendfsync ${policy}`);
        break;
      }
      case 'rewrite-speed':
        lab.setSpeed(Number(value) || 0);
        break;
      case 'height':
        this.ownStyle.textContent = ownCss(value ?? '14rem');
        break;
      case 'scenario': {
        if (!value) break;
        // The panel exists once the lab's views are built (lab.js loads them after the console).
        lab.views.then(() => {
          const view = lab.scenariosView;
          if (!view || this.lab !== lab) return;
          view.initial = value;
          // Once the panel has its list (it may still be fetching it); step() waits for it.
          const pick = async () => {
            await this.whenReady();
            await view.idle(picking);
            if (view.initial !== value || ![...view.select.options].some((o) => o.value === value)) return false;
            view.select.value = value;
            return view.start(value);
          };
          const picking = view.track(pick());
        });
        break;
      }
      default:
    }
  }

  /** Dispatches `name` as a CustomEvent with `detail`. */
  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** What the worker said, as the element's events (lab.js's onmessage hook). */
  heard(msg, request) {
    switch (msg.type) {
      case MSG.TURN_REPLIES:
        // In Redis's order: the commands' bytes go to aof_buf (write), beforeSleep writes and
        // fsyncs them (the turn's engine events), then the replies go out (reply; run()
        // resolves). A host hears the fsync that covers a write under always before its reply.
        for (const r of msg.replies) this.wrote(r);
        this.engineEvents(msg.events ?? [], null);
        for (const r of msg.replies) this.replied(r);
        break;
      case MSG.REPLY:
        this.wrote(msg);
        this.replied(msg);
        break;
      case MSG.REPLIES:
        // Replies of blocked commands, released later, in the order the commands came.
        for (const text of msg.texts) this.emit('reply', { command: this.pendingLines.shift() ?? '', text, pending: false });
        break;
      case MSG.AOF:
        if (msg.bytes?.length) this.emit('write', { command: msg.cause, bytes: new Uint8Array(msg.bytes), file: null, offset: null });
        break;
      case MSG.VIEW:
        // After a move through the past the events are that lab's history: nothing new
        // happened; the events that follow come after them.
        if (msg.events_reset) this.eventSeq = msg.events.at(-1)?.seq ?? 0;
        else this.engineEvents(msg.events, msg.snapshot);
        break;
      case MSG.RESULT:
        if (msg.ok && request) this.result(request, msg.value);
        break;
      case MSG.FATAL:
        this.ready = false;
        this.emit('error', { message: msg.message });
        break;
      case MSG.READY:
        this.pendingLines = [];
        this.eventSeq = 0; // a new engine numbers its events from 1
        break;
      default:
    }
  }

  /** A console line's bytes, appended to aof_buf (REPLY's fields). */
  wrote(r) {
    if (r.aof?.length) this.emit('write', { command: this.lab.lines.get(r.id) ?? '', bytes: new Uint8Array(r.aof), file: r.at?.file ?? null, offset: r.at?.offset ?? null });
  }

  /** A console line's reply (REPLY's fields): the event, and run()'s promise resolved. */
  replied(r) {
    const command = this.lab.lines.get(r.id) ?? '';
    if (r.pending) this.pendingLines.push(command);
    const detail = { command, text: r.text, pending: r.pending };
    this.emit('reply', detail);
    this.waiting.get(r.id)?.(detail);
    this.waiting.delete(r.id);
  }

  /**
   * The engine's events not heard yet (a turn's come with its replies, and again in the next
   * VIEW: each is heard once, by its seq). `snapshot`: the VIEW's, or null with a turn's replies;
   * then a crash waits for the VIEW, whose snapshot holds the server's last words.
   */
  engineEvents(events, snapshot) {
    for (const e of events) {
      if (e.seq <= (this.eventSeq ?? 0)) continue;
      if (!snapshot && e.kind === 'crash') return;
      this.eventSeq = e.seq;
      this.engineEvent(e, snapshot);
    }
  }

  /** An event of the engine's stream (`Engine.events`) that hosts hear about. */
  engineEvent(e, snapshot) {
    const fsync = e.kind === 'fsync' && /^fsync (\S+): durable up to byte (\d+)/.exec(e.text);
    if (fsync) this.emit('fsync', { file: fsync[1], durable: Number(fsync[2]), t: e.t, text: e.text });
    else if (e.kind === 'rewrite' && /^rewrite (done|failed)/.test(e.text)) this.emit('rewrite-done', { ok: e.text.startsWith('rewrite done'), t: e.t, text: e.text });
    // redis-server exited by itself (a write or fsync error under appendfsync always).
    else if (e.kind === 'crash' && e.text.startsWith('redis-server exited')) this.emit('crash', { kind: 'exit', report: null, log: snapshot.down ?? [], text: e.text });
  }

  /** A request's answer (from the element's methods or the panels). */
  result({ action }, value) {
    if (action === LAB_ACTIONS.CRASH) this.emit('crash', { kind: value.report.kind, report: value.report, log: value.log, text: `crash: ${value.report.kind}` });
    else if (action === SCENARIO_ACTIONS.LOAD) this.scenarioSteps = value.steps.length;
    else if (action === SCENARIO_ACTIONS.STEP && value.outcome) {
      this.lastOutcome = value.outcome;
      this.emit('scenario-step', { outcome: value.outcome, next: value.next, done: value.next >= this.scenarioSteps });
    }
  }

  /** Resolves once the engine is ready (at once when it is). */
  whenReady() {
    if (this.lab && this.ready) return Promise.resolve();
    if (this.hasAttribute('lazy')) this.wake();
    return new Promise((resolve, reject) => {
      const ok = () => {
        this.removeEventListener('error', fail);
        resolve();
      };
      const fail = (e) => {
        this.removeEventListener('ready', ok);
        reject(new Error(e.detail.message));
      };
      this.addEventListener('ready', ok, { once: true });
      this.addEventListener('error', fail, { once: true });
    });
  }

  /**
   * Runs a command line as if typed (for tutorial buttons: "run this"); resolves with the reply
   * `{command, text, pending}`. Before the engine is ready (or the element connected) the line
   * waits and runs after the start-up script.
   */
  run(line) {
    return new Promise((resolve) => {
      if (this.lab && this.ready) this.waiting.set(this.lab.send(String(line)), resolve);
      else (this.early ??= []).push({ line: String(line), resolve });
    });
  }

  /**
   * Crashes the simulated machine (`kill`, `power`, `torn`, `torn-seq`) and restarts
   * redis-server on what survived; resolves with `{log, report}` (the `crash` event's report).
   */
  async crash(kind) {
    if (!CRASHES.has(kind)) throw new Error(`crash: '${kind}' is not one of ${[...CRASHES].join(', ')}`);
    await this.whenReady();
    return this.lab.act(LAB_ACTIONS.CRASH, { kind });
  }

  /** Start over: the engine exits, its files are deleted, a fresh one starts. */
  async reset() {
    await this.whenReady();
    return this.lab.act(LAB_ACTIONS.RESET, {});
  }

  /**
   * Loads a scenario script (the format of www/scenarios/*.txt) into the Scenarios panel (or,
   * without one, into the worker: play it with step()). Resolves with its steps; rejects with
   * every malformed line.
   */
  async load(scenarioText) {
    await this.whenReady();
    const view = this.lab.scenariosView;
    // After the element's own scenario (its attribute) has started: this one replaces it.
    await view?.idle();
    if (view) return view.loadText(String(scenarioText));
    const { steps } = await this.lab.act(SCENARIO_ACTIONS.LOAD, { text: String(scenarioText) });
    return steps;
  }

  /**
   * Runs the scenario's next step (`answer`: for a predict step, the index of the choice as
   * written, or null to skip); resolves with its outcome (the `scenario-step` event's), or null
   * when the scenario is over.
   */
  async step(answer) {
    await this.whenReady();
    const view = this.lab.scenariosView;
    // Called at once after the start (or after setting `scenario`), it steps the element's
    // scenario, not nothing: the panel first fetches the list and starts that scenario.
    await view?.idle();
    this.lastOutcome = null;
    if (view) {
      await view.step(view.steps[view.next]?.kind === 'predict' ? (answer ?? null) : undefined);
      return this.lastOutcome;
    }
    const { outcome } = await this.lab.act(SCENARIO_ACTIONS.STEP, answer === undefined ? {} : { answer });
    return outcome;
  }
}

if (!customElements.get('aof-lab')) customElements.define('aof-lab', AofLabElement);
