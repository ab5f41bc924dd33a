// The lab page: starts the engine worker, sends it what the user types and renders what comes
// back. The main thread never touches wasm: the module worker (worker.js) owns the engine and
// every message is defined in protocol.js. Incoming messages are queued and rendered at most
// once per animation frame, so a burst of replies costs one layout.

import { LAB_CONFIG, MSG, message } from './protocol.js';
import { AofView } from './ui/aof.js';
import { ConsoleView } from './ui/console.js';
import { setStatus } from './ui/status.js';

const $ = (id) => document.getElementById(id);

const statusEl = $('status');
const aofView = new AofView({ list: $('aof'), size: $('aof-size'), empty: $('aof-empty') });
const consoleView = new ConsoleView({ log: $('log'), form: $('prompt'), input: $('cmd'), button: $('run') }, send);

let worker = null;
let nextId = 1;
const lines = new Map(); // id -> the line sent, to label its AOF bytes
let inbox = [];
let frameRequested = false;

function start() {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (event) => receive(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    receive(message(MSG.FATAL, { message: `The engine worker failed to start: ${event.message || 'unknown error'}` }));
  };
  worker.postMessage(message(MSG.INIT, { config: { ...LAB_CONFIG } }));
}

function send(line) {
  const id = nextId++;
  lines.set(id, line);
  consoleView.addCommand(id, line);
  worker.postMessage(message(MSG.EXEC, { id, line }));
}

function receive(msg) {
  inbox.push(msg);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(render);
  }
}

function render() {
  frameRequested = false;
  const batch = inbox;
  inbox = [];
  for (const msg of batch) handle(msg);
}

function handle(msg) {
  switch (msg.type) {
    case MSG.READY:
      setStatus(statusEl, 'ready', 'Engine ready');
      $('aof-config').textContent = `appendonly ${msg.config.appendonly ? 'yes' : 'no'} · appendfsync ${msg.config.appendfsync} · `;
      consoleView.setEnabled(true);
      consoleView.focus();
      break;
    case MSG.REPLY:
      consoleView.reply(msg.id, msg.text, msg.pending);
      aofView.append(lines.get(msg.id) ?? '', msg.aof);
      lines.delete(msg.id);
      break;
    case MSG.REPLIES:
      consoleView.lateReplies(msg.texts);
      break;
    case MSG.AOF:
      aofView.append(msg.cause, msg.bytes);
      break;
    case MSG.FATAL:
      setStatus(statusEl, 'failed', 'Engine stopped');
      consoleView.setEnabled(false);
      consoleView.note(msg.message, 'fatal');
      showRestart();
      break;
    default:
      console.warn('unknown message from the worker', msg);
  }
}

function showRestart() {
  if ($('restart')) return;
  const button = document.createElement('button');
  button.id = 'restart';
  button.type = 'button';
  button.className = 'restart';
  button.textContent = 'Restart the engine (the data is lost)';
  button.addEventListener('click', () => {
    worker.terminate();
    button.remove();
    setStatus(statusEl, 'starting', 'Starting the engine…');
    consoleView.note('Engine restarted: the keyspace is empty.');
    start();
  });
  $('log').after(button);
  button.focus();
}

for (const chip of document.querySelectorAll('.examples .chip')) {
  chip.addEventListener('click', () => consoleView.submit(chip.dataset.line));
}

start();
