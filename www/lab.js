// The lab's controller, shared by the page (app.js) and the <aof-lab> element (aof-lab.js):
// starts the engine worker, sends it what the user does and renders what comes back. The main
// thread never touches wasm: the module worker (worker.js) owns the engine and every message is
// defined in protocol.js. Incoming messages are queued and rendered at most once per animation
// frame, so a burst of replies costs one layout.
//
// Views are optional: pass only the elements a host has (the embed shows fewer panels).

import { LAB_ACTIONS, LOG_ACTIONS, LOG_OPEN, MACHINE_ACTIONS, MSG, TIMELINE, labNamespace, message } from './protocol.js';
import { downloadRecording, shareLink } from './share.js';
import { ConsoleView } from './ui/console.js';
import { SecondConsoleView } from './ui/second.js';
import { reducedMotion } from './ui/motion.js';
import { setStatus } from './ui/status.js';
import { scrollAll } from './ui/lists.js';
import { startWorker } from './worker-start.js';

/**
 * The other views' modules (two dozen files with uPlot): imported after the consoles, so that a
 * console is usable as soon as the engine is, while they arrive (on HTTP/1.1 a browser fetches
 * six files at a time; BENCHMARKS.md, "Start-up"). A page that preloads them loses nothing.
 */
const loadViews = () =>
  Promise.all([
    import('./ui/aof.js'),
    import('./ui/crash.js'),
    import('./ui/events.js'),
    import('./ui/files.js'),
    import('./ui/log.js'),
    import('./ui/machine.js'),
    import('./ui/persist.js'),
    import('./ui/plots.js'),
    import('./ui/scenarios.js'),
    import('./ui/timeline.js'),
    import('./ui/traffic.js'),
    import('./ui/transfer.js'),
  ]).then((modules) => Object.assign({}, ...modules));

const BACKEND_NAMES = { opfs: 'OPFS', indexeddb: 'IndexedDB', memory: 'memory (simulated machine)' };

export class LabController {
  /**
   * @param {object} els {status, backend, notice, console: {log, form, input, button}, aof: {list,
   *   size, empty, config}, files: {list, manifest, info, rewrite, durability}, events: {list,
   *   count}, crash: root, transfer: root, persist: root, examples: [buttons with data-line],
   *   rewrite: button, mode: a <select> of the AOF design, root: where data-aof-mode is set,
   *   scenarios: root of the guided scenarios panel, machine: root of the write-path diagram,
   *   log: root of the log view, timeline: root of the timeline bar, second: {log, form, input,
   *   button} of the second console (another client: pub/sub)}
   * @param {object} options {backend, namespace, config, script: string[], scenario: the
   *   built-in scenario selected first, scenarioStart: play it at once, scenarioText: an
   *   author's own scenario (selected and played at once), scenarioLeave: false when the host
   *   has no lab of its own besides the scenario's (no "Back to my lab"), recording: {bytes, position} of a
   *   shared link (replayed in the worker's memory instead of opening the namespace), early:
   *   {worker, inbox, error, init} a worker.js the host started before this module loaded (used
   *   by the first start; `init`: the host sent it INIT with these options)}; the AOF design is
   *   `config['lab-aof-mode']` ('6.2', or absent for 7.0), and a 6.2 lab on a browser backend
   *   keeps its files in the namespace `<namespace>-6.2` (the designs never share a directory)
   */
  constructor(els, options) {
    this.els = els;
    this.options = options;
    this.nextId = 1;
    this.lines = new Map(); // id -> the line sent, to label its AOF bytes
    this.pending = new Map(); // action id -> {resolve, reject}
    this.inbox = [];
    this.frameRequested = false;
    this.worker = null;
    this.role = 'starting';
    this.onready = null;
    this.onloading = null; // hooks for hosts and tests
    this.onmode = null; // called with the new AOF design before the restart
    // Hook for hosts (the <aof-lab> element's DOM events): every message from the worker as it
    // arrives, with the {action, args} of the request a RESULT answers.
    this.onmessage = null;
    this.timeline = null; // the last VIEW's timeline part (protocol.js VIEW)
    this.ontimeline = null; // hook: called with it
    this.consoleView = els.console ? new ConsoleView(els.console, (line) => this.send(line), { openBytes: els.log ? (at) => this.openCommand(at.file ? at : null, at.stream) : null, kill: () => this.killBusy() }) : null;
    this.secondView = els.second ? new SecondConsoleView(els.second, (line) => this.act(LAB_ACTIONS.SECOND, { lines: [line] })) : null;
    // Until the other views are built (`views` resolves), VIEW messages wait in `held`: the
    // consoles work, the status still says the engine is starting. A READY waits in
    // `readyHeld` for the first VIEW drawn after it, a frame later: the console is enabled and
    // painted first; then the views start over, draw the new engine, and only then the status
    // says ready and `onready` runs (hosts and tests act on every view).
    this.viewsBuilt = false;
    this.held = [];
    this.readyHeld = null;
    // Reduced motion (the system's, or the page's toggle): the worker plays in beats, the
    // stylesheet drops transitions.
    reducedMotion.addEventListener('change', () => this.applyMotion());
    if (els.mode) {
      els.mode.value = this.mode();
      els.mode.addEventListener('change', () => this.setMode(els.mode.value));
    }
    for (const chip of els.examples ?? []) chip.addEventListener('click', () => this.consoleView?.submit(chip.dataset.line));
    els.rewrite?.addEventListener('click', () => this.consoleView?.submit('BGREWRITEAOF'));
    this.start();
    this.views = loadViews().then(
      (modules) => this.buildViews(modules),
      (err) => this.consoleView?.note(`The lab's views could not be loaded: ${err.message ?? err}`, 'fatal'),
    );
  }

  /** The views but the consoles, from their modules (`loadViews`); then what waited for them. */
  buildViews({ AofView, CrashView, EventsView, FilesView, LogView, MachineView, PersistView, PlotsView, ScenariosView, TimelineView, TrafficView, TransferView }) {
    const { els, options } = this;
    this.aofView = els.aof ? new AofView(els.aof) : null;
    this.filesView = els.files ? new FilesView(els.files) : null;
    this.eventsView = els.events ? new EventsView(els.events, els.log ? (at) => this.openLog(at) : null) : null;
    const act = (action, args) => this.act(action, args);
    this.machineView = els.machine
      ? new MachineView(els.machine, {
          policy: (p) => (this.consoleView ? this.consoleView.submit(`CONFIG SET appendfsync ${p}`) : this.send(`CONFIG SET appendfsync ${p}`)),
          latency: (ms) => this.setFsyncLatency(ms),
          logView: !!els.log,
        })
      : null;
    this.logView = els.log ? new LogView(els.log, act) : null;
    // Any view (the write-path diagram) opens a byte in the log with a `log-open` event.
    (els.root ?? document).addEventListener(LOG_OPEN, (e) => this.openLog(e.detail));
    this.crashView = els.crash
      ? new CrashView(els.crash, act, () => this.restartWorker('The worker was terminated (real crash).'), {
          snapshot: () => this.snapshot,
          predicting: (open) => this.machineView?.setHidden(open),
          locate: (write) => this.machineView?.locate(write),
          openLog: (at) => this.openLog(at),
        })
      : null;
    this.transferView = els.transfer ? new TransferView(els.transfer, act) : null;
    this.scenariosView = els.scenarios
      ? new ScenariosView(els.scenarios, act, { initial: options.scenario, start: options.scenarioStart, text: options.scenarioText, leave: options.scenarioLeave })
      : null;
    this.timelineView = els.timeline
      ? new TimelineView(els.timeline, {
          act,
          share: () => this.share(),
          download: (bytes) => this.downloadRecording(bytes),
          openRecording: (bytes) => this.act(TIMELINE.OPEN_RECORDING, { bytes }).catch((err) => this.consoleView?.note(err.message, 'fatal')),
          backend: () => this.els.backend?.dataset.backend,
          keys: els.root ?? document,
        })
      : null;
    if (els.timeline && els.root === document.documentElement) {
      // The sticky timeline bar covers the viewport's top: its height is the page's scroll
      // padding (style.css), so a control the keyboard focuses scrolls into view below it.
      new ResizeObserver(() => document.documentElement.style.setProperty('--timeline-h', `${els.timeline.offsetHeight}px`)).observe(els.timeline);
    }
    this.plotsView = els.plots ? new PlotsView(els.plots) : null;
    this.trafficView = els.traffic ? new TrafficView(els.traffic, act) : null;
    this.persistView = els.persist
      ? new PersistView(els.persist, {
          submit: (line) => (this.consoleView ? this.consoleView.submit(line) : this.send(line)),
          speed: (n) => this.setSpeed(n),
        })
      : null;
    this.viewsBuilt = true;
    this.releaseHeld();
  }

  /** The VIEWs held back (views not built yet, or a READY drawn first) draw at the next frame. */
  releaseHeld() {
    this.inbox.unshift(...this.held.splice(0));
    this.requestFrame();
  }

  /** '7.0' or '6.2': the AOF design this lab starts with. */
  mode() {
    return this.options.config?.['lab-aof-mode'] === '6.2' ? '6.2' : '7.0';
  }

  /** The storage namespace: a 6.2 lab never opens a 7.0 lab's files, nor the reverse. */
  namespace() {
    return labNamespace(this.options.namespace, this.options.config);
  }

  /** Restarts the lab with the other AOF design (a new redis-server with `lab-aof-mode`). */
  setMode(mode) {
    if (mode === this.mode()) return;
    const config = { ...this.options.config };
    if (mode === '6.2') config['lab-aof-mode'] = '6.2';
    else delete config['lab-aof-mode'];
    this.options = { ...this.options, config };
    if (this.els.mode) this.els.mode.value = mode;
    this.onmode?.(mode);
    this.restartWorker(mode === '6.2'
      ? 'Restarted as Redis 6.2: one appendonly.aof, and a rewrite buffer while a rewrite runs (its own files).'
      : 'Restarted as Redis 7.0: the multi-part AOF in appendonlydir/ (its own files).');
  }

  /** Reduced motion now: the lab root says it to the stylesheet, the worker plays in beats. */
  applyMotion() {
    const reduced = reducedMotion.matches;
    if (this.els.root) this.els.root.dataset.motion = reduced ? 'reduce' : 'full';
    if (this.role === 'writer') this.act(TIMELINE.MOTION, { reduced }).catch(() => {});
  }

  /** The child's speed, kept for the next worker too. */
  setSpeed(keys) {
    this.options = { ...this.options, config: { ...this.options.config, 'lab-rewrite-keys-per-tick': keys } };
    return this.act(LAB_ACTIONS.SPEED, { keys }).catch((err) => this.consoleView?.note(err.message, 'fatal'));
  }

  /** The slow-fsync latency, kept for the next worker too. */
  setFsyncLatency(ms) {
    this.options = { ...this.options, config: { ...this.options.config, 'lab-fsync-latency-ms': ms } };
    return this.act(MACHINE_ACTIONS.FSYNC_LATENCY, { ms }).catch((err) => this.consoleView?.note(err.message, 'fatal'));
  }

  start() {
    this.role = 'starting';
    if (this.els.root) this.els.root.dataset.aofMode = this.mode();
    // A worker the host started early (index.html: it compiles the wasm while the page loads)
    // serves the first start only; what it said meanwhile is replayed. Otherwise a new one,
    // also from another origin than the page (a CDN): worker-start.js.
    const early = this.options.early;
    this.options = { ...this.options, early: null };
    this.worker = early?.worker ?? startWorker(new URL('./worker.js', import.meta.url));
    this.worker.onmessage = (event) => {
      // Called at once, not at the next frame: a test or host may act while the worker loads.
      if (event.data.type === MSG.LOADING) this.onloading?.(event.data);
      this.receive(event.data);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.receive(message(MSG.FATAL, { message: `The engine worker failed to start: ${event.message || this.worker.startHint || 'unknown error'}` }));
    };
    for (const event of early?.inbox ?? []) this.worker.onmessage(event);
    if (early?.error) this.worker.onerror(early.error);
    // The host may have sent INIT already (app.js: the storage opens while the page loads).
    if (early?.init) return;
    const { backend = 'auto', config = {} } = this.options;
    const recording = this.options.recording ?? undefined;
    this.worker.postMessage(message(MSG.INIT, { backend, namespace: this.namespace(), config: { ...config }, recording }));
  }

  /** READY, for the views: a new worker is a new engine, its history and traffic start over. */
  resetViews(msg) {
    this.crashView?.setBackend(msg.backend);
    this.plotsView?.reset();
    this.trafficView?.reset();
    this.aofView?.reset();
    this.timelineView?.reset();
    this.timeline = null;
    this.applyMotion();
  }

  /** READY, once the views drew the new engine: the status (drawn by `view`) says ready. */
  announceReady(msg) {
    // A new worker has no scenario: load (or reload) the selected one.
    this.scenariosView?.ready();
    if (msg.recording) this.showRecording(msg.recording);
    this.onready?.(msg);
  }

  /** A real crash: the worker dies (its memory with it), a new one loads from storage. */
  restartWorker(note) {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error('the worker was terminated'));
    this.pending.clear();
    if (this.els.status) setStatus(this.els.status, 'starting', 'Starting the engine…');
    this.consoleView?.setEnabled(false);
    this.consoleView?.note(note);
    this.start();
  }

  /** kill -9 while a script is busy: the worker is terminated (nothing else reaches it). */
  killBusy() {
    const backend = this.els.backend?.dataset.backend ?? this.options.backend;
    const kept = backend === 'memory'
      ? 'with its files in RAM nothing survives'
      : `a new worker loads what ${backend === 'opfs' ? 'OPFS' : 'IndexedDB'} holds (what was written survives, synced or not)`;
    this.busy = null;
    this.consoleView?.showBusy(null);
    this.restartWorker(`kill -9 while a script was busy: the worker was terminated; ${kept}.`);
  }

  send(line) {
    const id = this.nextId++;
    this.lines.set(id, line);
    this.consoleView?.addCommand(id, line);
    this.worker.postMessage(message(MSG.EXEC, { id, line }));
    return id;
  }

  /** Opens the log view on the record holding byte `offset` of `file` (a path of the lab's
   *  directory, as in the snapshot's files); resolves to whether it was found. */
  openLog({ file, offset, len, source = 'lab' }) {
    return this.logView ? this.logView.open({ file, offset, len, source }) : Promise.resolve(false);
  }

  /** A console command's bytes: where they went, or (a postponed write) where they are now. */
  async openCommand(at, stream) {
    const place = at ?? (await this.act(LOG_ACTIONS.LOCATE, { stream }).catch(() => null));
    if (place) return this.openLog(place);
    this.consoleView?.note('Its bytes are still in aof_buf (the write was postponed): they reach the file at a later turn.');
    return false;
  }

  /** Sends an ACTION; resolves with its value or rejects with the engine's message. */
  act(action, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, action, args });
      this.worker.postMessage(message(MSG.ACTION, { id, action, args }));
    });
  }

  receive(msg) {
    this.onmessage?.(msg, this.pending.get(msg.id));
    // Any other message says the worker is back from the script.
    this.busy = msg.type === MSG.BUSY ? msg : null;
    this.inbox.push(msg);
    this.requestFrame();
  }

  requestFrame() {
    if (!this.frameRequested) {
      this.frameRequested = true;
      requestAnimationFrame(() => this.render());
    }
  }

  render() {
    this.frameRequested = false;
    this.consoleView?.showBusy(this.busy ?? null);
    const batch = this.inbox;
    this.inbox = [];
    // Of several views in one frame only the last snapshot matters; every event is kept, and
    // the parts sent when they change (console, AOF groups, scenario) are merged.
    let lastView = null;
    const events = [];
    const parts = { eventsReset: false, forked: null, console: undefined, aof: null, scenario: undefined };
    let readyNow = false; // a READY in this batch: the VIEWs after it draw at the next frame
    for (const msg of batch) {
      if (msg.type === MSG.VIEW && (!this.viewsBuilt || readyNow)) {
        this.held.push(msg);
      } else if (msg.type === MSG.VIEW) {
        lastView = msg;
        // The position moved through the past: the events start over with this lab's.
        if (msg.events_reset) {
          events.length = 0;
          parts.eventsReset = true;
        }
        events.push(...msg.events);
        parts.forked = msg.timeline?.forked ?? parts.forked;
        if (msg.console !== undefined) parts.console = msg.console;
        if (msg.scenario !== undefined) parts.scenario = msg.scenario;
        if (msg.aof) {
          parts.aof = msg.aof.reset || !parts.aof ? { ...msg.aof, groups: [...msg.aof.groups] } : { ...parts.aof, groups: [...parts.aof.groups, ...msg.aof.groups], total: msg.aof.total };
        }
      } else {
        this.handle(msg);
        readyNow ||= msg.type === MSG.READY;
      }
    }
    if (lastView) this.view(lastView.snapshot, events, { ...parts, timeline: lastView.timeline }, !readyNow);
    if (readyNow && this.viewsBuilt && this.held.length) this.releaseHeld();
  }

  /**
   * Draws a VIEW: every view is a function of the lab at the timeline's position (the snapshot)
   * and of what the timeline recorded up to there (console, AOF groups, scenario steps); the
   * plots draw the head's samples with a playhead at the position.
   */
  view(snapshot, events, { eventsReset = false, timeline = null, forked = null, console: entries, aof = null, scenario } = {}, afterReady = true) {
    // The first VIEW drawn after a READY: the views start over before it, and say ready after.
    const ready = afterReady ? this.readyHeld : null;
    if (ready) {
      this.readyHeld = null;
      this.resetViews(ready);
    }
    this.snapshot = snapshot;
    // Views that come faster than their transitions last (traffic, play at speed, a scrub) draw
    // without them: a bar that eases over 0.2 s and is moved again every frame only costs a
    // style, layout and paint per frame, and shows nothing a learner could follow.
    const now = performance.now();
    this.els.root?.toggleAttribute('data-streaming', now - (this.lastViewAt ?? -Infinity) < 250);
    this.lastViewAt = now;
    this.eventsView?.add(events, eventsReset);
    if (timeline) this.showTimeline(timeline, forked);
    this.consoleView?.render(entries, timeline);
    this.aofView?.render(aof);
    this.filesView?.render(snapshot);
    this.persistView?.render(snapshot);
    this.plotsView?.render(snapshot, timeline);
    this.machineView?.render(snapshot);
    this.logView?.onView(snapshot);
    this.crashView?.render(snapshot);
    if (timeline) this.scenariosView?.onView(timeline.session, scenario);
    if (this.els.root && snapshot.mode) this.els.root.dataset.aofMode = snapshot.mode;
    this.crashView?.setDown(this.role === 'writer' ? snapshot.down : null, snapshot.down_exited);
    if (this.role === 'reader' && this.els.backend?.dataset.backend !== snapshot.backend) this.showBackend(snapshot.backend, ['the writer tab’s storage']);
    if (this.els.aof?.config) this.els.aof.config.textContent = `appendonly ${snapshot.appendonly ? 'yes' : 'no'} · appendfsync ${snapshot.policy} · `;
    if (this.els.status && this.role === 'writer') {
      if (snapshot.down) setStatus(this.els.status, 'failed', 'redis-server is down');
      else if (snapshot.write_error) setStatus(this.els.status, 'failed', `MISCONF: ${snapshot.write_error}`);
      else setStatus(this.els.status, 'ready', `Engine ready · ${snapshot.keys} key${snapshot.keys === 1 ? '' : 's'}`);
    }
    // The lists that follow their end scroll now that every view drew: one layout per frame.
    scrollAll();
    if (ready) this.announceReady(ready);
  }

  /** The timeline's state from a VIEW; says so when an input given in the past forked. */
  showTimeline(timeline, forked) {
    const session = `${timeline.session?.kind}:${timeline.session?.name ?? ''}`;
    if (this.timeline && session !== this.session) {
      // Another session (a scenario began or ended): another transcript and history.
      this.consoleView?.reset();
      this.timelineView?.reset();
    }
    this.session = session;
    this.timeline = timeline;
    this.timelineView?.render(timeline);
    if (forked !== null && forked !== undefined) {
      const stored = this.els.backend?.dataset.backend;
      const files = stored && stored !== 'memory'
        ? ` The files in ${stored === 'opfs' ? 'OPFS' : 'IndexedDB'} are now this point's: the lab goes on from here, and a reload loads it.`
        : '';
      this.consoleView?.note(`You acted in the past: the lab goes on from that point. The later history is kept as branch ${forked}.${files}`);
    }
    if (timeline.mirror_error && !this.mirrorErrorShown) {
      this.mirrorErrorShown = true;
      this.consoleView?.note(`The browser storage failed: ${timeline.mirror_error}.`, 'fatal');
    }
    this.ontimeline?.(timeline);
  }

  /**
   * A link to what this lab shows (its timeline's current line and the position):
   * `{url, tooLong, bytes, position, digest}`. Past share.js's MAX_LINK, `url` is still made but
   * `tooLong` says to offer the file (`downloadRecording(bytes)`) instead.
   */
  async share() {
    const { bytes, position, digest } = await this.act(TIMELINE.SHARE);
    const base = typeof location === 'object' ? location.href : 'http://localhost/';
    const link = await shareLink(base, bytes, position);
    return { ...link, bytes, position, digest };
  }

  /** Saves the recording as a file (a link too long to share). */
  downloadRecording(bytes) {
    downloadRecording(bytes);
  }

  /** A read-only view cannot act: every control but the views is made inert. */
  setReadOnly(readOnly) {
    for (const el of [this.els.crash, this.els.transfer, this.els.persist, this.els.scenarios, this.els.traffic, this.els.machine]) if (el) el.inert = readOnly;
    if (this.els.rewrite) this.els.rewrite.disabled = readOnly;
    for (const chip of this.els.examples ?? []) chip.disabled = readOnly;
  }

  showBackend(backend, notes) {
    const el = this.els.backend;
    if (!el) return;
    el.dataset.backend = backend;
    el.replaceChildren();
    const strong = document.createElement('strong');
    strong.textContent = BACKEND_NAMES[backend] ?? backend;
    el.append('Storage: ', strong);
    if (notes.length) {
      const why = document.createElement('span');
      why.className = 'backend-why';
      why.textContent = ` — ${notes.join('; ')}`;
      el.append(why);
    }
  }

  handle(msg) {
    switch (msg.type) {
      case MSG.READY:
        this.role = 'writer';
        this.setReadOnly(false);
        if (this.els.notice) this.els.notice.hidden = true;
        this.showBackend(msg.backend, msg.notes);
        // A new worker is a new engine: its history, transcript and traffic start over.
        this.consoleView?.reset();
        this.consoleView?.setEnabled(true);
        this.secondView?.setEnabled(true);
        if (this.options.focus !== false) this.consoleView?.focus({ preventScroll: true });
        if (this.options.script?.length && !this.scriptRan) {
          this.scriptRan = true;
          for (const line of this.options.script) this.send(line);
        }
        this.readyHeld = msg;
        break;
      case MSG.LOADING:
        if (this.els.status) setStatus(this.els.status, 'starting', 'Loading the AOF…');
        break;
      case MSG.BUSY:
        break; // shown by render (the console's busy panel)
      case MSG.READONLY:
        this.role = 'reader';
        this.setReadOnly(true);
        if (this.els.status) setStatus(this.els.status, 'readonly', 'Read-only view');
        if (this.els.notice) {
          this.els.notice.hidden = false;
          this.els.notice.textContent = msg.message;
        }
        this.consoleView?.setEnabled(false);
        this.consoleView?.note(msg.message);
        break;
      case MSG.REPLY:
        this.reply(msg);
        break;
      case MSG.TURN_REPLIES:
        for (const r of msg.replies) this.reply(r);
        break;
      case MSG.REPLIES:
        this.consoleView?.lateReplies(msg.texts);
        break;
      case MSG.SECOND:
        this.secondView?.replies(msg.texts);
        break;
      case MSG.AOF:
        // serverCron's bytes: in the timeline's AOF groups of the next VIEW.
        break;
      case MSG.RESULT: {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) break;
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(msg.error));
        break;
      }
      case MSG.FATAL:
        if (this.els.status) setStatus(this.els.status, 'failed', 'Engine stopped');
        this.consoleView?.setEnabled(false);
        this.consoleView?.note(msg.message, 'fatal');
        this.showRestart();
        break;
      default:
        console.warn('unknown message from the worker', msg);
    }
  }

  /** One console line's reply ({id, text, pending, aof, at, stream}: see MSG.REPLY). */
  reply(msg) {
    // The AOF buffer view gets the line's bytes from the timeline (VIEW.aof); the console
    // keeps where they went, for its bytes button.
    this.consoleView?.reply(msg.id, msg.text, msg.pending, msg.seq, msg.k, msg.aof?.length && this.logView ? (msg.at ?? { stream: msg.stream }) : null);
    this.lines.delete(msg.id);
  }

  /** Says what a shared recording replayed to (protocol.js TIMELINE open-recording). */
  showRecording(replay) {
    const matched = replay.digest_matches;
    const text = `Opened a shared recording: ${replay.inputs} input${replay.inputs === 1 ? '' : 's'} replayed in this tab's memory (your own lab's files are left alone). `
      + (matched === true
        ? 'The state digest matches the sender’s: these are the same files, byte for byte.'
        : matched === false
          ? `The state digest does NOT match the sender’s: this replay differs from what they saw${replay.same_engine ? '' : ' (the recording was made by another version of the engine)'}.`
          : 'The recording carries no state digest to compare with.');
    this.consoleView?.note(text, matched === false ? 'fatal' : 'note');
    if (this.els.notice) {
      this.els.notice.hidden = false;
      this.els.notice.textContent = text;
    }
  }

  showRestart() {
    const log = this.els.console?.log;
    if (!log || log.parentElement.querySelector('.restart')) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'restart';
    button.id = log.id === 'log' ? 'restart' : '';
    button.textContent = 'Restart the engine worker';
    button.addEventListener('click', () => {
      button.remove();
      this.restartWorker('Engine worker restarted.');
    });
    log.after(button);
    button.focus();
  }
}
