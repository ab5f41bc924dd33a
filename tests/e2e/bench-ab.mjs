// Two builds of the engine against each other in one Node process (a benchmark, not a test):
// `node bench-ab.mjs A_DIR B_DIR [rounds]`, each dir a pkg/ made by scripts/build.sh (for
// example main's and a branch's). The timeline benchmark's session (bench-timeline-worker.js:
// console turns of 1 to 3 SETs over 2 000 keys, everysec, a tick every fourth input, a stepped
// BGREWRITEAOF every 2 000), 10 000 inputs recorded, then replayed from the start. The builds
// alternate round by round (the first two rounds warm up), so that a busy machine's load falls
// on both alike; prints the median and the fastest of each. Used for the wasm's size work
// (BENCHMARKS.md, "The wasm's size": a build change must not slow the engine).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONFIG, T0, session } from './bench/session.js';

const [dirA, dirB, roundsArg] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error('usage: node bench-ab.mjs A_DIR B_DIR [rounds]');
  process.exit(2);
}
const ROUNDS = Number(roundsArg ?? 22);
const INPUTS = 10_000;

const inputs = session(INPUTS);
const builds = {};
for (const [name, dir] of [['A', dirA], ['B', dirB]]) {
  const m = await import(pathToFileURL(resolve(dir, 'aof_lab.js')).href);
  m.initSync({ module: readFileSync(resolve(dir, 'aof_lab_bg.wasm')) });
  builds[name] = { m, dir, record: [], replay: [] };
}
for (let round = 0; round < ROUNDS; round++) {
  for (const name of round % 2 ? ['A', 'B'] : ['B', 'A']) {
    const b = builds[name];
    const e = new b.m.Engine(CONFIG, T0);
    e.set_checkpoint_every(Number.MAX_SAFE_INTEGER);
    let start = performance.now();
    for (const i of inputs) {
      if (i.tick) e.tick(i.t);
      else e.execute_batch(i.lines, i.t);
    }
    const record = performance.now() - start;
    e.seek(0);
    start = performance.now();
    e.seek(INPUTS);
    const replay = performance.now() - start;
    e.free();
    if (round >= 2) {
      b.record.push(record);
      b.replay.push(replay);
    }
  }
}
const median = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
console.log(`| build (${ROUNDS - 2} rounds each, alternated) | record ${INPUTS} inputs: median / fastest (ms) | replay them from the start: median / fastest (ms) |`);
console.log('|---|---:|---:|');
for (const name of ['A', 'B']) {
  const b = builds[name];
  const f = (v) => `${median(v).toFixed(1)} / ${Math.min(...v).toFixed(1)}`;
  console.log(`| ${name}: ${b.dir} | ${f(b.record)} | ${f(b.replay)} |`);
}
