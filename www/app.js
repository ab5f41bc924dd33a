// The lab page: one LabController (lab.js) on the page's panels. The engine's options come from
// the URL, so that a link can open a given setup: ?backend=auto|opfs|indexeddb|memory
// &namespace=NAME&appendfsync=always|everysec|no&aof-mode=7.0|6.2&scenario=NAME (defaults: auto,
// lab, everysec, 7.0, the first scenario; a scenario given is played at once, on the lab's own
// views). &scenario-url=URL plays an author's scenario from a file of the same origin. The AOF
// design selector restarts the lab and updates the URL.

import { LAB_CONFIG, MSG, labNamespace, message } from './protocol.js';
import { readShareLink } from './share.js';

const $ = (id) => document.getElementById(id);
const params = new URL(location.href).searchParams;

// A share link (#rec=…&pos=…, share.js) opens the sender's recording instead of the stored lab.
let recording = null;
let linkError = null;
try {
  recording = await readShareLink(location.hash);
} catch (err) {
  linkError = err.message;
}

// An author's scenario by URL (same origin only: a page never runs another site's script).
let scenarioText = null;
const scenarioUrl = params.get('scenario-url');
if (scenarioUrl) {
  try {
    const url = new URL(scenarioUrl, location.href);
    if (url.origin !== location.origin) throw new Error(`${url.origin} is another origin (a scenario URL must be of this site)`);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    scenarioText = await res.text();
  } catch (err) {
    linkError = `the scenario at ${scenarioUrl} could not be read: ${err.message}`;
  }
}

const config = { ...LAB_CONFIG };
if (params.get('appendfsync')) config.appendfsync = params.get('appendfsync');
if (params.get('aof-mode') === '6.2') config['lab-aof-mode'] = '6.2';

// Start-up: the worker index.html started gets INIT now, so that it opens the storage and loads
// the AOF while the views' modules load (BENCHMARKS.md, "Start-up").
const backend = params.get('backend') ?? 'auto';
const namespace = params.get('namespace') ?? 'lab';
const early = window.aofLabEarlyWorker;
if (early && !early.error) {
  const init = { backend, namespace: labNamespace(namespace, config), config: { ...config }, recording: recording ?? undefined };
  early.worker.postMessage(message(MSG.INIT, init));
  early.init = true;
}
const { LabController } = await import('./lab.js');

const lab = new LabController(
  {
    status: $('status'),
    backend: $('backend'),
    notice: $('notice'),
    console: { log: $('log'), form: $('prompt'), input: $('cmd'), button: $('run') },
    second: { log: $('second-log'), form: $('second-prompt'), input: $('second-cmd'), button: $('second-run') },
    aof: { list: $('aof'), size: $('aof-size'), empty: $('aof-empty'), config: $('aof-config') },
    files: { list: $('files'), manifest: $('manifest'), info: $('info'), rewrite: $('rewrite-state'), durability: $('durability'), loadLog: $('load-log') },
    events: { list: $('events'), count: $('events-count') },
    crash: $('crash'),
    transfer: $('transfer'),
    examples: document.querySelectorAll('.examples .chip'),
    rewrite: $('bgrewrite'),
    persist: $('persist'),
    scenarios: $('scenarios'),
    plots: $('plots'),
    traffic: $('traffic'),
    machine: $('machine'),
    log: $('logview'),
    timeline: $('timeline'),
    mode: $('aof-mode'),
    root: document.documentElement,
  },
  {
    backend,
    namespace,
    config,
    scenario: params.get('scenario') ?? '',
    scenarioStart: !!params.get('scenario') && !recording,
    scenarioText,
    recording,
    early, // started by index.html's first script
  },
);
if (linkError) lab.consoleView?.note(`This page's link could not be opened: ${linkError}. The stored lab opened instead.`, 'fatal');

lab.onmode = (mode) => {
  const url = new URL(location.href);
  if (mode === '6.2') url.searchParams.set('aof-mode', '6.2');
  else url.searchParams.delete('aof-mode');
  history.replaceState(null, '', url);
};

// For tests and the curious: the controller (it never exposes the engine: that is the worker's).
window.aofLab = lab;
