// The record both sides of the write benchmark write: `SET key:<i> <32 bytes>` in RESP, as the
// engine appends it to the AOF (the same bytes per acknowledged write).
export const VALUE = 'v'.repeat(32);

export function record(i) {
  const key = `key:${i}`;
  return `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${VALUE.length}\r\n${VALUE}\r\n`;
}
