// RESP bytes as the page shows them: one display line per RESP line, every \r\n visible and
// every byte that is not printable escaped (ui/aof.js draws the AOF buffer with it). A rendering
// helper of the views, apart from the worker protocol (protocol.js).

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
