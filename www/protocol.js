// The messages between the page and the engine worker, defined once.
//
// The worker (worker.js) owns the wasm engine; the page (app.js) never touches wasm. Every
// message is a plain object `{type, ...fields}` built by `message()`; the fields of each type
// are listed next to it. Bytes travel as Uint8Array (transferred, not copied).

export const MSG = Object.freeze({
  // page -> worker
  /** {config}: start the engine with redis.conf settings, e.g. {appendonly: true}. */
  INIT: 'init',
  /** {id, line}: run one console line. */
  EXEC: 'exec',

  // worker -> page
  /** {config}: the engine is running; commands may be sent. */
  READY: 'ready',
  /** {id, text, pending, aof}: the reply to EXEC `id`, as redis-cli shows it. `pending` means the
   *  command blocked (BLPOP): its reply comes later in REPLIES. `aof`: the bytes the command
   *  appended to aof_buf (may be empty). */
  REPLY: 'reply',
  /** {texts}: replies of earlier pending commands, in order. */
  REPLIES: 'replies',
  /** {bytes, cause}: bytes appended to aof_buf outside a console command (cause: 'serverCron'). */
  AOF: 'aof',
  /** {message}: the engine could not start or crashed (a panic is a bug); it must be restarted. */
  FATAL: 'fatal',
});

/** Builds a message; `type` must be one of MSG. */
export function message(type, fields = {}) {
  return { type, ...fields };
}

/** The config the lab starts the engine with. */
export const LAB_CONFIG = Object.freeze({ appendonly: true, appendfsync: 'everysec' });

/** How often the worker runs serverCron (Redis's default `hz 10`). */
export const TICK_MS = 100;

/**
 * Splits RESP bytes (as appended to the AOF) into display lines `{text, crlf, kind}`: `kind` is
 * 'mbulk' (`*3`), 'blen' (`$3`), 'arg' (the bulk's bytes, read by length so that an argument
 * holding \r\n stays one line) or 'other' (`#TS:` annotations, garbage). Non-printable bytes are
 * escaped as \xHH; `crlf` says whether the line ended with \r\n.
 *   *3\r\n$3\r\nSET\r\n... -> [{text: '*3', ...}, {text: '$3', ...}, {text: 'SET', ...}, ...]
 */
export function respLines(bytes) {
  const lines = [];
  let i = 0;
  while (i < bytes.length) {
    let end = i;
    while (end < bytes.length && !(bytes[end] === 13 && bytes[end + 1] === 10)) end++;
    const text = escapeBytes(bytes, i, end);
    const crlf = end < bytes.length;
    const kind = /^\*-?\d+$/.test(text) ? 'mbulk' : /^\$\d+$/.test(text) ? 'blen' : 'other';
    lines.push({ text, crlf, kind });
    i = crlf ? end + 2 : end;
    if (kind === 'blen' && crlf) {
      const len = Number(text.slice(1));
      const argEnd = Math.min(i + len, bytes.length);
      const argCrlf = bytes[argEnd] === 13 && bytes[argEnd + 1] === 10;
      lines.push({ text: escapeBytes(bytes, i, argEnd), crlf: argCrlf, kind: 'arg' });
      i = argCrlf ? argEnd + 2 : argEnd;
    }
  }
  return lines;
}

function escapeBytes(bytes, from, to) {
  let out = '';
  for (let i = from; i < to; i++) out += escapeByte(bytes[i]);
  return out;
}

function escapeByte(b) {
  if (b === 92) return '\\\\';
  if (b >= 32 && b < 127) return String.fromCharCode(b);
  if (b === 10) return '\\n';
  if (b === 13) return '\\r';
  if (b === 9) return '\\t';
  return '\\x' + b.toString(16).padStart(2, '0');
}
