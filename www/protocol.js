// The messages between the page and the engine worker, defined once.
//
// The worker (worker.js) owns the wasm engine; the page (app.js) never touches wasm. Every
// message is a plain object `{type, ...fields}` built by `message()`; the fields of each type
// are listed next to it. Bytes travel as Uint8Array (transferred, not copied).

export const MSG = Object.freeze({
  // page -> worker
  /** {backend, namespace, config}: start the engine. `backend`: 'auto' | 'opfs' | 'indexeddb' |
   *  'memory'; 'auto' walks the ladder OPFS -> IndexedDB -> memory. Except for 'memory' (one
   *  private machine per worker), one writer per namespace: the worker takes the Web Lock
   *  LOCK_PREFIX + namespace first, and if another tab holds it, it becomes a read-only view. */
  INIT: 'init',
  // (INIT may also carry {recording: {bytes, position}}: the worker then replays that shared
  //  recording on a private memory machine instead of opening the namespace; see TIMELINE.)
  /** {id, line}: run one console line. Lines that arrive together run in one turn. */
  EXEC: 'exec',
  /** {id, action, args}: an action of the page, answered by RESULT `id`: LAB_ACTIONS (the crash
   *  lab, settings, files, the traffic generator), MACHINE_ACTIONS, SCENARIO_ACTIONS, TIMELINE,
   *  LOG_ACTIONS; each lists its args and answer. */
  ACTION: 'action',

  // worker -> page
  /** {backend}: this worker is the writer and opens its storage and loads the AOF now (READY
   *  follows). Terminating the worker from here on is a crash during loading. */
  LOADING: 'loading',
  /** {backend, notes, namespace, config}: the engine is running; commands may be
   *  sent. `notes`: why each backend above the one in use was not used (its durability is in
   *  the VIEW snapshot). */
  READY: 'ready',
  /** {namespace, message}: another tab writes this namespace; this one shows its views only,
   *  and becomes the writer (READY) when that tab closes. */
  READONLY: 'readonly',
  /** {id, text, pending, aof, at, stream, seq, k}: the reply to EXEC `id`, as redis-cli shows
   *  it; `seq` is the input that holds its turn and `k` the line's place among the turn's
   *  non-empty lines (-1 for an empty one), as the timeline's console lists them.
   *  `pending` means the command blocked (BLPOP): its reply comes later in REPLIES. `aof`: the
   *  bytes the command appended to aof_buf (may be empty). `at`: where its own bytes went,
   *  {file, offset, len}, or null (nothing appended, or the write was postponed: then the
   *  action log-locate {stream} finds them later). Sent only when the policy allows: under
   *  appendfsync always on IndexedDB, after the transaction holding its bytes committed. */
  REPLY: 'reply',
  /** {replies: [REPLY's fields], events}: the replies of one event-loop turn, in order, in one
   *  message (a turn of 50 lines is one message, not 50: BENCHMARKS.md, "Browser writes"), and
   *  the engine's events of that turn (its write() and fsync; VIEW's shape), which happened
   *  before the replies went out; the next VIEW carries them too. */
  TURN_REPLIES: 'turn-replies',
  /** {texts}: replies of earlier pending commands, in order. */
  REPLIES: 'replies',
  /** {texts}: what reached the second console (LAB_ACTIONS.SECOND) through the other
   *  connections since the last SECOND or action answer: pub/sub messages, as redis-cli shows
   *  them. Live only: the timeline does not keep the second console's transcript. */
  SECOND: 'second',
  /** {bytes, cause}: bytes appended to aof_buf outside a console command (cause: 'serverCron'). */
  AOF: 'aof',
  /** {snapshot, events, events_reset, timeline, console, aof, scenario}: the views (the
   *  engine's snapshot JSON, parsed)
   *  of the lab at the timeline's position, and its events since the last VIEW (`events_reset`:
   *  the position moved through the past, so these are the last events of the lab now shown, not
   *  a continuation); `snapshot.series` holds the plot samples since the last VIEW (columns, see
   *  src/lab/series.rs): those of the HEAD of the current line that the page does not have
   *  (`reset: true`: the whole series of the head, after a fork, a switch or another engine),
   *  the page draws a playhead at `timeline.now`; its `fsync_hist` is the position's.
   *  `timeline`: {position, head, head_t, now, next_cron, branch, present, generation, t0,
   *  next_branch, context: {at: {kind, text, origin} | null, after: 'power loss' | … | null},
   *  playing, speed, reduced, session: {kind: 'lab'} | {kind: 'scenario', name, title},
   *  marks_reset, marks: [{seq, t, kind, flags}], forked, mirror_error}: the slider (see
   *  TIMELINE); `marks` are those after the last VIEW's (all of them when `marks_reset`);
   *  `forked`: the branch that keeps the later history when an input given in the past forked
   *  since the last VIEW (null otherwise); `present`: the input whose lab the browser storage's
   *  files hold (null: memory, or another branch); `context`: the input at the position and
   *  the last crash / restart / import before it (the slider's aria-valuetext).
   *  `console` (absent when unchanged): [{seq, t, origin, kind, text, replies}], the console as
   *  it was at the position (TIMELINE console). `aof` (null when unchanged): {reset, groups:
   *  [{seq, label, bytes (≤ 1 KB), len}], total}: the bytes appended to aof_buf up to the
   *  position, by input and line (`reset`: these replace the page's; otherwise they follow
   *  them); `total`: every byte appended up to the position. `scenario` (absent when unchanged;
   *  a scenario session only): {name, title, steps (the first time), played: [{seq, outcome}]}:
   *  the steps played up to the position. At most every VIEW_MS; a read-only tab receives the
   *  writer's. */
  VIEW: 'view',
  /** {id, ok, value, error}: the outcome of ACTION `id`. */
  RESULT: 'result',
  /** {ms, name, command, eval, wrote}: a script has run past busy-reply-threshold and still
   *  runs (at most every 250 ms while it does): how long, its SHA1 or function name, the
   *  command that started it, EVAL (SCRIPT KILL) or a function (FUNCTION KILL), and whether it
   *  wrote (-UNKILLABLE). The worker reads no message until the script returns; any other
   *  message from it says it did. */
  BUSY: 'busy',
  /** {message}: the engine could not start or crashed (a panic is a bug); it must be restarted. */
  FATAL: 'fatal',
});

/** Builds a message; `type` must be one of MSG. */
export function message(type, fields = {}) {
  return { type, ...fields };
}

/**
 * The actions of ACTION that are inputs to the lab (answered by RESULT):
 *   crash {kind: 'kill'|'power'|'torn'|'torn-seq', prediction?: {writes: [seq], survive:
 *     'all'|'some'|'none', keys: 'all'|'fewer'|'none', refused: bool}} -> {log, report}: the
 *     simulated machine's crash, over every backend (with a prediction the report also has
 *     lost_writes, prediction and reveal);
 *   inject {fault: 'disk-full'|'fsync-error'|'clear', n}; restart {settings} -> whether it
 *     started; check {fix} -> redis-check-aof's output;
 *   speed {keys}: the simulated child's keys per cron tick (0 = all at once);
 *   traffic {spec: {rate, write_percent, keys, value_size} | null}: the traffic generator, run in
 *     serverCron's turns; compare {spec, duration_ms} -> [{policy, writes_per_s, bytes_per_s,
 *     fsyncs, lost_bytes, keys_before, keys_after}]: the three policies on that traffic, then a
 *     power loss;
 *   export {} -> {bytes, name}; import {name, bytes} | {files: [{path, bytes}]} -> whether the
 *     server started; reset {} -> {backend}: delete the namespace's files and start a fresh
 *     engine on the same backend.
 * The scenario actions are SCENARIO_ACTIONS, the diagram's MACHINE_ACTIONS, the timeline's
 * TIMELINE, the log view's LOG_ACTIONS.
 */
export const LAB_ACTIONS = Object.freeze({
  /** {lines} -> [text]: lines typed in the second console (a second client of the server: it
   *  can SUBSCRIBE and hear what the console PUBLISHes), in one turn; the answer is what that
   *  console shows now (messages that arrived before, then the lines' replies). */
  SECOND: 'second',
  CRASH: 'crash',
  INJECT: 'inject',
  RESTART: 'restart',
  CHECK: 'check',
  SPEED: 'speed',
  TRAFFIC: 'traffic',
  COMPARE: 'compare',
  EXPORT: 'export',
  IMPORT: 'import',
  RESET: 'reset',
});

/**
 * The messages between the workers of tabs on one namespace, over the BroadcastChannel
 * LOCK_PREFIX + namespace: the writer publishes every VIEW it sends its page ({type: VIEW, ...the
 * VIEW's fields}); a read-only tab's worker says HELLO ({type: HELLO}) when it starts listening,
 * and the writer answers with a full VIEW.
 */
export const CHANNEL = Object.freeze({ HELLO: 'hello', VIEW: MSG.VIEW });

/** The config the lab starts the engine with. */
export const LAB_CONFIG = Object.freeze({ appendonly: true, appendfsync: 'everysec' });

/** How often serverCron runs, in simulated ms (Redis's default `hz 10`; the engine's TICK_MS). */
export const TICK_MS = 100;

/** The fastest the worker sends views (snapshots are JSON of a few KB). */
export const VIEW_MS = 150;

/** Web Lock (and BroadcastChannel, see CHANNEL) name of a storage namespace: one writer each. */
export const LOCK_PREFIX = 'aof-lab:';

/** The storage namespace of a lab: a 6.2 lab (`config['lab-aof-mode']`) keeps its files apart
 *  (`<namespace>-6.2`), so that the designs never open each other's files. */
export function labNamespace(namespace, config) {
  const ns = namespace ?? 'default';
  return config?.['lab-aof-mode'] === '6.2' ? `${ns}-6.2` : ns;
}

/** The write-path diagram's action (ui/machine.js): how long the simulated background fsync
 *  takes, lab-fsync-latency-ms (a slow disk; kept across restarts). */
export const MACHINE_ACTIONS = Object.freeze({ FSYNC_LATENCY: 'fsync-latency' });

/**
 * The timeline's actions of ACTION (answered by RESULT). Time in the lab is simulated: the worker
 * advances it by the wall clock's steps (each clamped to MAX_FRAME_MS) times the speed while
 * playing, and not at all while paused; serverCron runs every TICK_MS of simulated time.
 *   play {} / pause {}; playback-speed {speed: 0.1 … 100} -> the speed set;
 *   step {} -> position: one input forward (at the head: one serverCron tick), paused;
 *   step-back {} -> position (paused); seek {seq} | {t} -> position (paused);
 *   live {} -> position: back to the head, playing;
 *   branch {op: BRANCH_OPS.SWITCH|DISCARD, id} -> branches: [{id, parent, fork_seq, diverges_at,
 *     head_seq, head_t, current}]; branches {} -> the same;
 *   console {n} -> [{seq, t, origin, kind, text, replies}]: the console at the position;
 *   share {} -> {bytes, position, digest}: the current line as a recording (share.js makes the
 *     link), the position and the state digest there;
 *   open-recording {bytes, position} -> {replay: {digest_matches, same_engine, inputs}, digest}:
 *     replays a recording on a private memory machine (the namespace's files are left alone);
 *   digest {} -> {digest, position, head}: the state digest at the position (equal digests: the
 *     same files, byte for byte, and the same data); mark {label};
 *   motion {reduced} -> reduced: with reduced motion Play moves in beats (BEAT_MS): one
 *     recorded input per beat in the past, the beat's simulated time at once at the head.
 * share also says `scenario`: the scenario session's name, or null.
 * An input given while the position is in the past (a command, a crash …) forks: the later
 * history is kept as a branch (VIEW timeline.forked), and on OPFS / IndexedDB the files are
 * rewritten to that point, which becomes the present (a reload loads it).
 */
export const TIMELINE = Object.freeze({
  PLAY: 'play',
  PAUSE: 'pause',
  SPEED: 'playback-speed',
  STEP: 'step',
  STEP_BACK: 'step-back',
  SEEK: 'seek',
  LIVE: 'live',
  BRANCH: 'branch',
  BRANCHES: 'branches',
  CONSOLE: 'console',
  SHARE: 'share',
  OPEN_RECORDING: 'open-recording',
  DIGEST: 'digest',
  MARK: 'mark',
  MOTION: 'motion',
});

/** The ops of TIMELINE.BRANCH. */
export const BRANCH_OPS = Object.freeze({ SWITCH: 'switch', DISCARD: 'discard' });

/** How many console entries a VIEW carries (the console of the position). */
export const CONSOLE_ENTRIES = 200;

/** How many groups of the AOF buffer a VIEW carries at most. */
export const AOF_GROUPS = 150;

/** With reduced motion, time moves in beats of this many wall ms (one input in the past). */
export const BEAT_MS = 700;

/** The playback speeds the clock accepts (simulated time per wall-clock time). */
export const SPEED_MIN = 0.1;
export const SPEED_MAX = 100;

/** A wall-clock step longer than this (a background tab, a debugger) counts as this much. */
export const MAX_FRAME_MS = 500;

/** How often the worker's clock advances simulated time (wall ms). */
export const CLOCK_MS = 50;

/** The scenario actions of ACTION (the panel in ui/scenarios.js). */
export const SCENARIO_ACTIONS = Object.freeze({ LOAD: 'scenario-load', STEP: 'scenario-step', EXIT: 'scenario-exit' });

/** The log view's actions (ui/log.js, run by worker-log.js). `source`: 'lab' (the engine's
 *  files) or 'drop' (dropped files, inspected apart from the lab). Answers are JSON text.
 *  log-files {source} -> [{name, kind, len, records, stable, generation, rdb_records, cut}],
 *  log-rows {source, file, first, count} -> {file, generation, records, stable, first, rows:
 *  [{i, offset, len, kind, text, framing, mark, mark_text, cut}]}, log-record {source, file,
 *  index} -> the record in full, log-find {source, file, offset, len?} -> a row index (with
 *  `len`, a command's bytes: its own record, past a SELECT / #TS: in front of it),
 *  log-locate {stream} -> {file, offset} | null, drop-open {files: [{path, bytes}]} | {name,
 *  bytes} -> {files, check: redis-check-aof's output}, drop-close {}. */
export const LOG_ACTIONS = Object.freeze({
  FILES: 'log-files',
  ROWS: 'log-rows',
  RECORD: 'log-record',
  FIND: 'log-find',
  LOCATE: 'log-locate',
  DROP_OPEN: 'drop-open',
  DROP_CLOSE: 'drop-close',
});

/** A DOM event any view can dispatch (bubbling, composed) to open a byte in the log view:
 *  `new CustomEvent(LOG_OPEN, {detail: {file, offset}, bubbles: true, composed: true})`.
 *  LabController.openLog({file, offset}) does the same from code. */
export const LOG_OPEN = 'log-open';

/** The crash kinds of the lab, in the order the page offers them, with what each models. The
 *  simulated ones run on the simulated machine over every backend (its crash cuts the real
 *  OPFS / IndexedDB / RAM files back to what the model's disk holds); the last one is real. */
export const CRASH_KINDS = Object.freeze([
  { kind: 'kill', label: 'Kill the process', model: 'kill -9: aof_buf is lost; the kernel keeps the page cache.' },
  { kind: 'power', label: 'Power loss (lose the unsynced)', model: 'Only fsynced bytes and fsynced directory entries survive.' },
  { kind: 'torn', label: 'Torn op', model: 'Power loss while the last write was on its way: only its first half reached the disk.' },
  { kind: 'torn-seq', label: 'Torn sequence', model: 'Power loss: some unsynced writes reached the disk, some did not, out of order (a hole of zeros).' },
  { kind: 'worker', label: 'Terminate the worker (real)', model: 'worker.terminate(): a real process crash; a new worker loads from the browser storage.' },
]);
