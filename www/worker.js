// The engine's home: a module Web Worker that owns the wasm engine and answers the page's
// messages (see protocol.js). Nothing else in the lab touches wasm.
//
// One engine per worker. It runs serverCron every TICK_MS (active expiry, blocked-client
// timeouts) and, after every command or tick, hands the bytes appended to aof_buf to the page.

import { MSG, TICK_MS, message } from './protocol.js';

let engine = null;
let fatal = false;
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

async function init(config) {
  let wasm;
  try {
    wasm = await import('../pkg/aof_lab.js');
    await wasm.default();
  } catch (err) {
    die('Could not load the engine (../pkg/aof_lab.js; build it with `make serve`)', err);
    return;
  }
  try {
    engine = new wasm.Engine(config, Date.now());
  } catch (err) {
    die('The engine refused its configuration', err);
    return;
  }
  setInterval(tick, TICK_MS);
  post(MSG.READY, { config });
}

function exec(id, line) {
  const text = engine.execute_line(line, Date.now());
  const aof = engine.take_aof_buf();
  // '' is also the reply to an empty line; a line with a command and no reply is waiting.
  const pending = text === '' && line.trim() !== '';
  post(MSG.REPLY, { id, text, pending, aof }, [aof.buffer]);
}

function tick() {
  if (!engine) return;
  try {
    const texts = engine.tick(Date.now());
    if (texts.length) post(MSG.REPLIES, { texts });
    const bytes = engine.take_aof_buf();
    if (bytes.length) post(MSG.AOF, { bytes, cause: 'serverCron' }, [bytes.buffer]);
  } catch (err) {
    die('The engine crashed during serverCron (this is a bug)', err);
  }
}

self.onmessage = (event) => {
  const msg = event.data;
  if (fatal) return;
  switch (msg.type) {
    case MSG.INIT:
      init(msg.config);
      break;
    case MSG.EXEC:
      if (!engine) return;
      try {
        exec(msg.id, msg.line);
      } catch (err) {
        die(`The engine crashed on \`${msg.line}\` (this is a bug)`, err);
      }
      break;
    default:
      consoleError(`worker: unknown message type ${msg.type}`);
  }
};
