// The timeline benchmarks' session (benches/timeline.rs's, the native figure): `inputs` inputs,
// console turns of 1 to 3 SETs over 2 000 keys, a serverCron tick every fourth input, a
// BGREWRITEAOF every 2 000 inputs, from a seeded generator so that every run and every build
// plays the same session. Used by bench-timeline-worker.js (in Chromium) and bench-ab.mjs (Node).

export const T0 = 1_700_000_000_000;
export const CONFIG = { appendonly: true, appendfsync: 'everysec', 'lab-rewrite-keys-per-tick': 500 };

/** A small seeded generator (mulberry32): `r(n)` is an integer in [0, n). */
export function rng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

/** The inputs: `{t, tick: true}` or `{t, lines}`. */
export function session(inputs) {
  const r = rng(42);
  let t = T0;
  const out = [];
  for (let i = 0; i < inputs; i++) {
    t += 20 + r(30);
    if (i % 4 === 3) out.push({ t, tick: true });
    else if (i % 2000 === 1999) out.push({ t, lines: ['BGREWRITEAOF'] });
    else {
      const n = 1 + r(3);
      const lines = [];
      for (let j = 0; j < n; j++) lines.push(`SET key:${r(2000)} ${'v'.repeat(8 + r(40))}`);
      out.push({ t, lines });
    }
  }
  return out;
}
