// The engine's home: a module Web Worker that owns the wasm engine and its storage, and answers
// the page's messages (see protocol.js). Nothing else in the lab touches wasm. Started by
// worker.js, which begins fetching the wasm before this module and its imports have loaded.
//
// The event loop, as redis-server's: console lines that arrive together run in ONE turn
// (execute_batch: commands, then beforeSleep's write and fsync), and their replies are released
// only when the policy allows (under appendfsync always on IndexedDB, after the commit);
// serverCron runs every TICK_MS of simulated time. Views (the snapshot and new events) go to the
// page at most every VIEW_MS, and to read-only tabs of the same namespace over a BroadcastChannel.
//
// Time: the engine records every input on a timeline and never sees Date.now(). The worker keeps
// a simulated clock, `simNow`: while playing it advances by the wall clock's steps (each at most
// MAX_FRAME_MS) times the speed, and while paused it stands still; `engine.advance(simNow)` runs
// the ticks due (several per call at high speed) or, when the position is in the past, replays
// the recorded future up to it. Console lines and actions are inputs at `simNow`.
//
// Playing through the past replays the recorded inputs as time passes, at most one input per
// clock step at 1x (commands typed while paused share an instant: they are seen one by one).
// With reduced motion (TIMELINE.MOTION) time moves in beats: one recorded input per beat in the
// past, and at the head the beat's worth of simulated time at once, so views change in place
// a few times a second instead of streaming.
//
// Sessions: the learner's lab, or a guided scenario (SCENARIO_ACTIONS) on a fresh memory lab of
// its own whose steps, and the answers to its predictions, are inputs on its timeline; the
// learner's lab is kept aside meanwhile (untouched, its clock stopped) and comes back on exit.
//
// VIEW carries, besides the snapshot of the lab at the position, what the views of the past
// need and the lab does not hold: the console as it was (the inputs' recorded replies), the AOF
// buffer's groups (the inputs' recorded bytes), the plots' samples (those of the head: the page
// draws the playhead at the position), the scenario steps played; each sent only when it
// changed, and by increments where the page can keep what it has.

import { AOF_GROUPS, BEAT_MS, BRANCH_OPS, CHANNEL, CLOCK_MS, CONSOLE_ENTRIES, LAB_ACTIONS, LOCK_PREFIX, MACHINE_ACTIONS, MAX_FRAME_MS, MSG, SCENARIO_ACTIONS, SPEED_MAX, SPEED_MIN, TICK_MS, TIMELINE, VIEW_MS, message } from './protocol.js';
import { isLogAction, logAction } from './worker-log.js';

let engine = null;
let wasm = null;
let fatal = false;
let options = null;
let channel = null; // BroadcastChannel of the namespace (writer publishes, readers listen)
let queue = []; // EXEC messages waiting for the next turn
let turnScheduled = false;
let cursor = 0; // events already sent
let pendingEvents = [];
let turnEvents = []; // events already sent with a turn's replies, also due in the next VIEW
let viewTimer = null;
let lastView = 0;
// The session shown: the learner's lab, or a scenario's lab (`scenario`: {name, title, steps})
// while the learner's waits in `labEngine`.
let scenario = null;
let labEngine = null;
let labClock = null; // the learner's simNow and playing, restored on exit
let readOnly = false; // another tab is the writer: this one only shows its views
const READ_ONLY_REPLY = '(error) this tab is a read-only view: the writer of this namespace is another tab';

// The simulated clock (see the top of the file).
let simNow = 0;
let playing = true;
let speed = 1;
let lastWall = 0;
let clockTimer = null;
// What the page has of the timeline: the marks up to `marksSent` of generation `marksGeneration`.
let marksSent = 0;
let marksGeneration = -1;
let eventsReset = false; // the position moved: the next VIEW starts the events over
let forked = null; // a branch created by an input given in the past, not told yet
let reduced = false; // reduced motion: time moves in beats (see the top of the file)
let beatWall = 0; // wall ms gathered towards the next beat
// What the page has of the other views (see the top of the file).
let consoleSent = '';
let scenarioSent = '';
let aofGen = -1; // generation and position of the AOF groups the page has
let aofPos = 0;
let aofTotal = 0;
let seriesSent = 0; // plot samples of the current line the page has
let seriesGen = -1;
/** Events sent when the view starts over (a seek): the last ones of the lab shown. */
const EVENTS_ON_SEEK = 200;

// console_error_panic_hook reports a panic through console.error just before wasm traps:
// keep the last report so the page can show what went wrong.
let lastConsoleError = '';
const consoleError = console.error.bind(console);
console.error = (...args) => {
  lastConsoleError = args.map(String).join(' ');
  consoleError(...args);
};

function post(type, fields, transfer = []) {
  self.postMessage(message(type, fields), transfer);
}

function die(what, err) {
  fatal = true;
  engine = null;
  const detail = lastConsoleError || (err && err.message) || String(err);
  post(MSG.FATAL, { message: `${what}: ${detail}` });
}

// The wasm was fetched and compiled from the moment this worker started (worker.js), before
// INIT arrives (the page may still be loading its modules): start-up is the longer of the two,
// not their sum.
const { wasm: wasmLoading, inbox } = self.aofLabBoot;

async function loadWasm() {
  if (wasm) return true;
  try {
    wasm = await wasmLoading;
    // Sent from inside a busy script: postMessage does not wait for this worker's loop.
    wasm.set_busy_listener((info) => post(MSG.BUSY, info));
    return true;
  } catch (err) {
    die('Could not load the engine (../pkg/aof_lab.js; build it with `make serve`)', err);
    return false;
  }
}

async function init(msg) {
  options = { backend: msg.backend ?? 'auto', namespace: msg.namespace ?? 'default', config: msg.config ?? {} };
  // The namespace's lock is asked for while the wasm may still be compiling (start-up).
  const wasmReady = loadWasm();
  if (msg.recording) {
    if (!(await wasmReady)) return;
    // A shared recording: replayed in this worker's memory, the namespace is not opened.
    let replay;
    try {
      replay = openRecording(msg.recording.bytes, msg.recording.position);
    } catch (err) {
      die('The shared recording could not be opened', err);
      return;
    }
    startClock();
    post(MSG.READY, { backend: 'memory', notes: [], namespace: options.namespace, config: options.config, recording: replay });
    publish(true);
    return;
  }
  const name = LOCK_PREFIX + options.namespace;
  // A memory machine is private to this worker: nothing to share, nothing to lock.
  if (options.backend === 'memory' || !self.navigator?.locks) {
    if (await wasmReady) await becomeWriter(options.backend === 'memory' ? null : 'this browser has no Web Locks: nothing stops a second writer');
    return;
  }
  navigator.locks.request(name, { ifAvailable: true }, async (lock) => {
    if (!(await wasmReady)) return undefined;
    if (lock) {
      await becomeWriter(null);
      return new Promise(() => {}); // held until this worker ends (terminate, reload, close)
    }
    becomeReader(name);
    // Queue for the lock: when the writer's tab closes, this one takes over.
    navigator.locks.request(name, async () => {
      await becomeWriter(null);
      return new Promise(() => {});
    });
    return undefined;
  });
}

async function becomeWriter(note) {
  if (channel) channel.close();
  channel = null;
  post(MSG.LOADING, { backend: options.backend });
  performance.mark('open'); // start-up's phases (tests/e2e/bench-startup.mjs)
  try {
    engine = await wasm.Engine.open({ ...options }, Date.now());
    performance.mark('opened');
  } catch (err) {
    die('The engine refused to start', err);
    return;
  }
  simNow = engine.now();
  if (options.backend !== 'memory' && typeof BroadcastChannel === 'function') {
    channel = new BroadcastChannel(LOCK_PREFIX + options.namespace);
    channel.onmessage = (e) => {
      if (e.data?.type === CHANNEL.HELLO) serial(() => publish(true));
    };
  }
  startClock();
  const notes = engine.backend_notes();
  if (note) notes.push(note);
  post(MSG.READY, { backend: engine.backend(), notes, namespace: options.namespace, config: options.config });
  publish(true);
  // Lines sent while the engine was loading run now, in order.
  if (queue.length) schedule();
}

function becomeReader(name) {
  readOnly = true;
  // Lines sent while this tab was starting never run here: the writer is another tab.
  for (const m of queue.splice(0)) post(MSG.REPLY, { id: m.id, text: READ_ONLY_REPLY, pending: false, aof: new Uint8Array() });
  channel = new BroadcastChannel(name);
  channel.onmessage = (e) => {
    if (e.data?.type === CHANNEL.VIEW) post(MSG.VIEW, e.data);
  };
  channel.postMessage({ type: CHANNEL.HELLO });
  post(MSG.READONLY, {
    namespace: options.namespace,
    message: `Another tab is the writer of namespace "${options.namespace}": this one is a read-only view of it (one writer per namespace, as one redis-server per dir). It takes over when that tab closes.`,
  });
}

/** Sends the views: the snapshot and the events since the last call (throttled). */
function publish(now = false) {
  if (!engine) return;
  const wait = VIEW_MS - (Date.now() - lastView);
  if (!now && wait > 0) {
    if (!viewTimer) viewTimer = setTimeout(() => {
      viewTimer = null;
      serial(() => publish(true));
    }, wait);
    return;
  }
  lastView = Date.now();
  const reset = eventsReset;
  if (reset) {
    // The lab shown is another one (a point of the past): its last events, from scratch.
    const next = JSON.parse(engine.events(Number.MAX_SAFE_INTEGER)).next;
    cursor = Math.max(0, next - EVENTS_ON_SEEK);
    eventsReset = false;
  }
  const ev = JSON.parse(engine.events(cursor));
  cursor = ev.next;
  pendingEvents = reset ? ev.events : [...turnEvents, ...ev.events];
  turnEvents = [];
  const snapshot = JSON.parse(engine.snapshot());
  const timeline = timelineView();
  snapshot.series = seriesView(timeline);
  const view = { snapshot, events: pendingEvents, events_reset: reset, timeline, console: consoleView(), aof: aofView(timeline), scenario: scenarioView() };
  post(MSG.VIEW, view);
  channel?.postMessage({ type: CHANNEL.VIEW, ...view });
}

/** Everything the page has of the views starts over (another engine, another session). */
function viewsStartOver() {
  cursor = 0;
  eventsReset = true;
  marksSent = 0;
  marksGeneration = -1;
  consoleSent = '';
  scenarioSent = '';
  aofGen = -1;
  seriesGen = -1;
  seriesSent = 0;
}

/** The console as it was at the position (the inputs' recorded replies), when it changed. */
function consoleView() {
  const text = engine.console_json(CONSOLE_ENTRIES);
  if (text === consoleSent) return undefined;
  consoleSent = text;
  return JSON.parse(text);
}

/** The scenario steps played up to the position, when they changed (a scenario session). */
function scenarioView() {
  if (!scenario) {
    if (scenarioSent === '') return undefined;
    scenarioSent = '';
    return null;
  }
  const text = engine.scenario_json();
  if (text === scenarioSent) return undefined;
  const first = scenarioSent === '';
  scenarioSent = text;
  return { name: scenario.name, title: scenario.title, steps: first ? scenario.steps : undefined, played: JSON.parse(text) };
}

/**
 * The AOF buffer's groups at the position: those the page lacks when the position moved forward
 * on the same line, all of the last AOF_GROUPS (`reset`) otherwise; null when nothing changed.
 */
function aofView(t) {
  if (t.generation === aofGen && t.position >= aofPos) {
    if (t.position === aofPos) return null;
    const groups = engine.aof_groups(AOF_GROUPS, aofPos);
    aofPos = t.position;
    for (const g of groups) aofTotal += g.len;
    return { reset: false, groups, total: aofTotal };
  }
  aofGen = t.generation;
  aofPos = t.position;
  aofTotal = engine.aof_total();
  return { reset: true, groups: engine.aof_groups(AOF_GROUPS, 0), total: aofTotal };
}

/**
 * The plots' samples: those of the head of the current line, so that the page draws the whole
 * line with a playhead at the position. The page keeps what it has; a fork, a switch or another
 * engine sends the head's whole series (`reset`); the fsync histogram is the position's.
 */
function seriesView(t) {
  const len = engine.series_len();
  const atHead = t.position === t.head;
  if (t.generation !== seriesGen || (atHead && len < seriesSent)) {
    seriesGen = t.generation;
    let head;
    if (atHead) head = JSON.parse(engine.series(0));
    else {
      // The page has none of this line's future: read it at the head, then come back.
      const position = engine.position();
      engine.live();
      head = JSON.parse(engine.series(0));
      engine.seek(position);
    }
    seriesSent = head.next;
    const here = JSON.parse(engine.series(len));
    return { ...head, fsync_hist: here.fsync_hist, reset: true };
  }
  const series = JSON.parse(engine.series(Math.min(len, seriesSent)));
  if (len > seriesSent) seriesSent = len;
  return series;
}

/** The slider's part of VIEW: where the position is, and the marks the page does not have. */
function timelineView() {
  let t = JSON.parse(engine.marks_json(marksSent));
  const marksReset = t.generation !== marksGeneration;
  if (marksReset && marksSent !== 0) t = JSON.parse(engine.marks_json(0));
  marksGeneration = t.generation;
  marksSent = t.head;
  const session = scenario ? { kind: 'scenario', name: scenario.name, title: scenario.title } : { kind: 'lab' };
  const view = { ...t, playing, speed, reduced, session, marks_reset: marksReset, forked, mirror_error: engine.mirror_error() ?? null };
  forked = null;
  return view;
}

/** After an input: was it given in the past (a fork)? */
function noteFork() {
  const branch = engine.take_fork();
  if (branch !== undefined) forked = branch;
  simNow = Math.max(simNow, engine.now());
}

// Every call into the engine goes through this chain, one at a time: a turn that waits for
// IndexedDB's commit or for OPFS's pool upkeep must not see a tick or an action run meanwhile.
let chain = Promise.resolve();
function serial(fn) {
  const run = chain.then(fn);
  chain = run.catch(() => {});
  return run;
}

function schedule() {
  if (turnScheduled) return;
  turnScheduled = true;
  setTimeout(() => serial(turn), 0);
}

/**
 * Before replies leave the worker: under appendfsync always on IndexedDB, no reply before the
 * transaction holding its bytes committed (Redis: no reply before fsync returned). False when the
 * commit failed: the worker is dead and the replies are never sent.
 */
async function durable() {
  if (!engine.must_wait_durable()) return true;
  try {
    await engine.durable();
    return true;
  } catch (err) {
    die('The browser storage failed to commit (the replies were not sent)', err);
    return false;
  }
}

/** One event-loop turn: every queued line, one flush, then the replies (when allowed). */
async function turn() {
  turnScheduled = false;
  if (!engine || queue.length === 0) return;
  const batch = queue;
  queue = [];
  let results;
  try {
    results = engine.execute_batch(batch.map((m) => m.line), simNow);
    noteFork();
  } catch (err) {
    die(`The engine crashed on \`${batch.map((m) => m.line).join(' / ')}\` (this is a bug)`, err);
    return;
  }
  if (!(await durable())) return;
  // The input that holds the batch, and each line's place among its non-empty lines: the
  // console of the timeline (console_json) lists them so.
  const seq = engine.position();
  let k = 0;
  const replies = batch.map((m, i) => {
    const r = results[i];
    const text = r.replies.join('\n');
    // '' is also the reply to an empty line; a line with a command and no reply is waiting.
    const pending = text === '' && m.line.trim() !== '';
    return { id: m.id, text, pending, aof: r.aof, at: r.at, stream: r.stream, seq, k: m.line.trim() === '' ? -1 : k++ };
  });
  // The turn's events (its write() and fsync) go with its replies, in the order Redis has
  // them: a host hears an fsync under always before the reply it let out. Not after a move
  // through the past: the next VIEW starts the events over.
  let events = [];
  if (!eventsReset) {
    const ev = JSON.parse(engine.events(cursor));
    cursor = ev.next;
    events = ev.events;
    turnEvents.push(...events);
  }
  // The lines' bytes are views of one buffer (execute_batch): transferred once.
  post(MSG.TURN_REPLIES, { replies, events }, [...new Set(replies.map((r) => r.aof.buffer))]);
  postSecond();
  await upkeep();
  publish();
}

/** Messages that reached the second console through the other connections (a PUBLISH). */
function postSecond() {
  const texts = engine?.take_second() ?? [];
  if (texts.length) post(MSG.SECOND, { texts });
}

/** The backend's asynchronous upkeep between turns (OPFS opens spare files for its pool). */
async function upkeep() {
  try {
    await engine.between_turns();
  } catch (err) {
    // Not fatal: the pool is short of files; creating one will fail with ENOSPC (MISCONF).
    consoleError('storage upkeep failed', err);
  }
}

function startClock() {
  lastWall = performance.now();
  if (!clockTimer) clockTimer = setInterval(clock, CLOCK_MS);
}

/** The simulated clock's step: time runs while playing, and the engine catches up with it. */
function clock() {
  const wall = performance.now();
  const dt = Math.min(wall - lastWall, MAX_FRAME_MS);
  lastWall = wall;
  if (!engine || !playing) return;
  if (reduced) {
    // One beat: one recorded input in the past, the beat's simulated time at the head.
    beatWall += dt;
    if (beatWall < BEAT_MS) return;
    const span = beatWall * speed;
    beatWall = 0;
    serial(() => (engine.position() < engine.head() ? replay(Infinity, 1) : live(simNow + span)));
    return;
  }
  const span = dt * speed;
  serial(() => (engine.position() < engine.head() ? replay(simNow + span, Math.max(1, Math.ceil(span / TICK_MS))) : live(simNow + span)));
}

/** Time runs at the head: serverCron's ticks up to `target`. */
function live(target) {
  simNow = Math.max(simNow, target);
  return advance(() => engine.advance(target));
}

/** Plays the recorded future: up to simulated time `target`, at most `max` inputs. */
function replay(target, max) {
  if (!engine) return undefined;
  const n = engine.replay_until(Number.isFinite(target) ? target : engine.now() + 1e12, max);
  // Held back by the count (inputs at one instant): the clock waits for the inputs.
  simNow = n >= max || !Number.isFinite(target) ? engine.now() : Math.max(simNow, target);
  if (n > 0) {
    eventsReset = true;
    publish();
  }
  if (engine.position() >= engine.head()) simNow = Math.max(simNow, engine.now());
  return undefined;
}

/**
 * Runs `move` (engine.advance or engine.step) and sends what it did: the ticks' AOF bytes, the
 * replies they released (under the same rule as turn()), and the views.
 */
async function advance(move) {
  if (!engine) return;
  let a;
  try {
    a = move();
  } catch (err) {
    die('The engine crashed during serverCron (this is a bug)', err);
    return;
  }
  simNow = Math.max(simNow, engine.now());
  if (a.replayed) eventsReset = true;
  if (a.aof.length) post(MSG.AOF, { bytes: a.aof, cause: 'serverCron' }, [a.aof.buffer]);
  // Replies released by this turn (a blocked client served, the lines queued behind it run)
  // obey the same rule as turn().
  if (a.replies.length && !(await durable())) return;
  if (a.replies.length) post(MSG.REPLIES, { texts: a.replies });
  postSecond();
  if (a.ticks || a.replayed) {
    await upkeep();
    publish();
  }
}

/** A move on the timeline (seek, step back): timed, so that K fits the seek budget. */
function moved(move) {
  const started = performance.now();
  move();
  const elapsed = performance.now() - started;
  if (engine.last_replayed() > 0) engine.tune_checkpoint_every(elapsed);
  playing = false;
  simNow = engine.now();
  eventsReset = true;
  return engine.position();
}

function openRecording(bytes, position) {
  const next = wasm.Engine.from_recording(bytes, position === undefined || position === null ? {} : { position });
  engine?.free();
  engine = next;
  channel?.close();
  channel = null;
  options = { ...options, backend: 'memory' };
  simNow = engine.now();
  playing = false;
  leaveScenario(false);
  viewsStartOver();
  return JSON.parse(engine.replay());
}

/** Plays a guided scenario on a fresh lab of its own; the learner's lab waits aside. */
function enterScenario(name, title, text) {
  const parsed = new wasm.Scenario(String(text ?? ''));
  let steps;
  try {
    steps = JSON.parse(parsed.steps());
  } finally {
    parsed.free();
  }
  const next = wasm.Engine.for_scenario();
  if (scenario) engine.free();
  else {
    labEngine = engine;
    labClock = { simNow, playing };
  }
  engine = next;
  scenario = { name: String(name ?? ''), title: String(title ?? name ?? ''), steps };
  // The scenario's steps make its time: the clock stands still until Play.
  simNow = engine.now();
  playing = false;
  viewsStartOver();
  return steps;
}

/** Back to the learner's lab (`restore`), or forget it (another engine replaced it). */
function leaveScenario(restore = true) {
  if (!scenario) return;
  scenario = null;
  if (restore && labEngine) {
    engine.free();
    engine = labEngine;
    ({ simNow, playing } = labClock);
    lastWall = performance.now();
    simNow = Math.max(simNow, engine.now());
    viewsStartOver();
  } else labEngine?.free();
  labEngine = null;
  labClock = null;
}

/** The next step of the scenario at the position (after the steps played there). */
function scenarioStep(args) {
  if (!scenario) throw new Error('no scenario is playing');
  playing = false;
  const played = JSON.parse(engine.scenario_json());
  const index = played.length ? played[played.length - 1].outcome.index + 1 : 0;
  const step = scenario.steps[index];
  if (!step) return { outcome: null, next: index };
  if (step.kind === 'predict' && !('answer' in args)) throw new Error('This step is a prediction: answer it (or skip it) first.');
  const answer = Number.isInteger(args.answer) ? args.answer : -1;
  // In the past, the recorded future may hold this very step (and the same answer): Step
  // replays it. Anything else is acting in the past: a fork.
  if (engine.position() < engine.head()) {
    const from = engine.position();
    while (engine.position() < engine.head()) {
      engine.step_forward();
      const now = JSON.parse(engine.scenario_json());
      if (now.length === played.length) continue;
      const o = now[now.length - 1].outcome;
      if (o.index === index && (step.kind !== 'predict' || (o.prediction?.given ?? -1) === answer)) {
        simNow = engine.now();
        eventsReset = true;
        return { outcome: o, next: index + 1 };
      }
      break;
    }
    engine.seek(from);
  }
  // The scenario makes its own time: a step never races the clock.
  playing = false;
  if (step.kind === 'predict') engine.scenario_answer(answer, simNow);
  const outcome = JSON.parse(engine.scenario_step(index, step.script, simNow));
  return { outcome, next: index + 1 };
}

/** The timeline's actions (TIMELINE in protocol.js). */
function timelineAction(name, args) {
  switch (name) {
    case TIMELINE.PLAY:
      playing = true;
      lastWall = performance.now();
      return null;
    case TIMELINE.PAUSE:
      playing = false;
      return null;
    case TIMELINE.SPEED:
      speed = Math.min(SPEED_MAX, Math.max(SPEED_MIN, Number(args.speed) || 1));
      return speed;
    case TIMELINE.STEP:
      playing = false;
      return advance(() => engine.step()).then(() => {
        eventsReset = true;
        return engine.position();
      });
    case TIMELINE.STEP_BACK:
      return moved(() => engine.step_back());
    case TIMELINE.SEEK:
      return moved(() => (args.t !== undefined ? engine.seek_time(args.t) : engine.seek(args.seq ?? 0)));
    case TIMELINE.LIVE: {
      const position = moved(() => engine.live());
      // A scenario makes its own time: back to its present, the clock stays stopped.
      playing = !scenario;
      lastWall = performance.now();
      return position;
    }
    case TIMELINE.BRANCH:
      if (args.op === BRANCH_OPS.SWITCH) {
        engine.switch_branch(args.id);
        simNow = engine.now();
        eventsReset = true;
      } else if (args.op === BRANCH_OPS.DISCARD) engine.discard_branch(args.id);
      else throw new Error(`branch: unknown op ${args.op} (switch, discard)`);
      return JSON.parse(engine.branches_json());
    case TIMELINE.BRANCHES:
      return JSON.parse(engine.branches_json());
    case TIMELINE.CONSOLE:
      return JSON.parse(engine.console_json(args.n ?? 100));
    case TIMELINE.SHARE:
      return { bytes: engine.recording(), position: engine.position(), digest: engine.state_digest(), scenario: scenario?.name ?? null };
    case TIMELINE.OPEN_RECORDING: {
      const replay = openRecording(args.bytes, args.position);
      // Another engine runs now: the page starts over with it, as at a start.
      post(MSG.READY, { backend: 'memory', notes: [], namespace: options.namespace, config: options.config, recording: replay });
      return { replay, digest: engine.state_digest() };
    }
    case TIMELINE.DIGEST:
      return { digest: engine.state_digest(), position: engine.position(), head: engine.head() };
    case TIMELINE.MARK:
      engine.mark(String(args.label ?? ''), simNow);
      noteFork();
      return null;
    case TIMELINE.MOTION:
      reduced = !!args.reduced;
      beatWall = 0;
      return reduced;
    default:
      return undefined;
  }
}

/** Start over: the engine exits, its files are deleted, a fresh one starts on the same backend. */
async function reset() {
  leaveScenario();
  const backend = engine.backend();
  engine.free(); // closes the storage (OPFS handles, the IndexedDB connection)
  engine = null;
  let refused = null;
  if (backend !== 'memory') {
    try {
      await wasm.Engine.delete_namespace(backend, options.namespace);
    } catch (err) {
      refused = err; // the files are still there: the server starts again on them
    }
  }
  engine = await wasm.Engine.open({ ...options, backend }, Date.now());
  simNow = engine.now();
  viewsStartOver(); // a new engine numbers its events from 1
  if (refused) throw new Error(`the files could not be deleted (${refused.message}); the server started again on them`);
  return { backend };
}

function action(name, args) {
  const now = simNow;
  const timeline = timelineAction(name, args);
  if (timeline !== undefined) return timeline;
  try {
    return inputAction(name, args, now);
  } finally {
    // An input given in the past forked (also when the engine refused it with an error).
    if (engine && name !== LAB_ACTIONS.RESET) noteFork();
  }
}

/** The actions that are inputs to the lab (a crash, a setting …), at simulated time `now`. */
function inputAction(name, args, now) {
  switch (name) {
    case LAB_ACTIONS.RESET:
      return reset();
    case LAB_ACTIONS.CRASH: {
      let log;
      let error = null;
      try {
        log = engine.crash_predicted(args.kind, args.prediction ?? undefined, now);
      } catch (err) {
        error = err.message;
      }
      const snapshot = JSON.parse(engine.snapshot());
      if (!snapshot.crash || snapshot.crash.kind !== args.kind) throw new Error(error ?? 'crash failed');
      return { log: log ?? [], report: snapshot.crash };
    }
    case LAB_ACTIONS.SECOND:
      return engine.execute_second(args.lines ?? [], now);
    case LAB_ACTIONS.INJECT:
      engine.inject(args.fault, args.n ?? 1, now);
      return null;
    case LAB_ACTIONS.RESTART:
      return engine.restart(args.settings ?? undefined, now);
    case LAB_ACTIONS.SPEED:
      engine.set_rewrite_speed(args.keys ?? 0, now);
      return null;
    case LAB_ACTIONS.TRAFFIC:
      engine.set_traffic(args.spec ?? null, now);
      return null;
    case LAB_ACTIONS.COMPARE:
      return JSON.parse(engine.compare_policies(args.spec, args.duration_ms ?? 5_500, now));
    case MACHINE_ACTIONS.FSYNC_LATENCY:
      engine.set_fsync_latency(args.ms ?? 0, now);
      return null;
    case LAB_ACTIONS.CHECK:
      return engine.check_aof(!!args.fix, now);
    case LAB_ACTIONS.EXPORT: {
      const bytes = engine.export_tar(now);
      return { bytes, name: `aof-lab-${options.namespace}-${new Date(Date.now()).toISOString().replace(/[:.]/g, '-')}.tar` };
    }
    case SCENARIO_ACTIONS.LOAD:
      return { steps: enterScenario(args.name, args.title, args.text) };
    case SCENARIO_ACTIONS.STEP:
      return scenarioStep(args);
    case SCENARIO_ACTIONS.EXIT:
      leaveScenario();
      return null;
    case LAB_ACTIONS.IMPORT:
      if (args.files) return engine.import_files(args.files.map((f) => f.path), args.files.map((f) => f.bytes), now);
      return engine.import(args.name, args.bytes, now);
    default:
      if (isLogAction(name)) return logAction(engine, wasm, name, args);
      throw new Error(`unknown action ${name}`);
  }
}

self.onmessage = onMessage;
// What the page sent while this module loaded, in order.
for (const event of inbox.splice(0)) onMessage(event);

function onMessage(event) {
  const msg = event.data;
  if (fatal) return;
  switch (msg.type) {
    case MSG.INIT:
      init(msg);
      break;
    case MSG.EXEC:
      if (!engine) {
        // Loading: the line waits for the engine (becomeWriter runs it); a read-only tab says so.
        if (readOnly) post(MSG.REPLY, { id: msg.id, text: READ_ONLY_REPLY, pending: false, aof: new Uint8Array() });
        else queue.push(msg);
        return;
      }
      queue.push(msg);
      schedule();
      break;
    case MSG.ACTION:
      if (!engine) {
        post(MSG.RESULT, { id: msg.id, ok: false, error: 'this tab is a read-only view: the writer is another tab' });
        return;
      }
      serial(async () => {
        let value;
        try {
          value = await action(msg.action, msg.args ?? {});
          if (engine.must_wait_durable()) await engine.durable();
        } catch (err) {
          if (err instanceof WebAssembly.RuntimeError || !engine) {
            die(`The engine crashed on ${msg.action} (this is a bug)`, err);
            return;
          }
          post(MSG.RESULT, { id: msg.id, ok: false, error: err.message ?? String(err) });
          publish(true);
          return;
        }
        const transfer = value?.bytes instanceof Uint8Array ? [value.bytes.buffer] : [];
        post(MSG.RESULT, { id: msg.id, ok: true, value }, transfer);
        if (isLogAction(msg.action)) return; // reads only: nothing changed
        await upkeep();
        publish(true);
      });
      break;
    default:
      consoleError(`worker: unknown message type ${msg.type}`);
  }
}
