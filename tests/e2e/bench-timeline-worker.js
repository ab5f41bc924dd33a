// The timeline's seek cost in wasm, in a dedicated worker (where the lab runs it): going back
// 10 000 turns, against replaying the same 10 000 turns from the start in the same run. The
// session is benches/timeline.rs's (the native figure): 20 000 inputs, console turns of 1 to 3
// SETs over 2 000 keys (appendfsync everysec), a serverCron tick every fourth input, a stepped
// BGREWRITEAOF every 2 000 inputs, driven through the facade as the worker drives it. K (inputs
// between checkpoints) is set as the worker sets it: a 30 ms budget ÷ the replay cost of one
// input, measured first. Run by bench-timeline.mjs; posts {rows, notes}.
import init, { Engine } from '../../pkg/aof_lab.js';
import { CONFIG, T0, session } from './bench/session.js';

const INPUTS = 20_000;
const BACK = 10_000;
const BUDGET_MS = 30;

function play(engine, inputs) {
  for (const i of inputs) {
    if (i.tick) engine.tick(i.t);
    else engine.execute_batch(i.lines, i.t);
  }
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timed(fn) {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

await init();
const inputs = session(INPUTS);

// The reference: the first 10 000 turns replayed from the start (no checkpoint but the start's).
const reference = [];
for (let k = 0; k < 5; k++) {
  const e = new Engine(CONFIG, T0);
  e.set_checkpoint_every(Number.MAX_SAFE_INTEGER);
  play(e, inputs.slice(0, BACK));
  e.seek(0);
  reference.push(timed(() => e.seek(BACK)));
  e.free();
}
const ref = median(reference);
const perInput = ref / BACK;
const every = Math.max(1, Math.floor(BUDGET_MS / perInput));

function record() {
  const e = new Engine(CONFIG, T0);
  e.set_checkpoint_every(every);
  const ms = timed(() => play(e, inputs));
  return [e, ms];
}

const [tl, recordMs] = record();
const head = tl.head();
const back = [];
for (const extra of [0, 777, 1999, 3333, 4999]) {
  const [e] = record();
  back.push(timed(() => e.seek(head - BACK - extra)));
  e.free();
}
const worst = Math.max(...back);
const step = timed(() => tl.step_back());
const steps = timed(() => {
  for (let i = 0; i < 1000; i++) tl.step_back();
}) / 1000;
tl.seek(head);
let p = head;
let seeks = 0;
const scrubTotal = timed(() => {
  while (p >= 500) {
    p -= 500;
    tl.seek(p);
    seeks++;
  }
});
const scrub = scrubTotal / seeks;
tl.free();

const f = (x, d) => x.toFixed(d);
const rows = [
  `| timeline in wasm (Chromium, dedicated worker): ${INPUTS} inputs (writes over 2 000 keys, everysec, ticks, stepped rewrites), K = ${every} | time (ms) | ratio (time) |`,
  '|---|---|---|',
  `| replay ${BACK} turns from the start (reference) | ${f(ref, 1)} | 1.00 |`,
  `| go back ${BACK} to ${BACK + BACK / 2} turns from the head (median of 5) | ${f(median(back), 2)} | ${f(median(back) / ref, 3)} |`,
  `| go back ${BACK} to ${BACK + BACK / 2} turns from the head (worst of 5) | ${f(worst, 2)} | ${f(worst / ref, 3)} |`,
  `| step back one turn from the head | ${f(step, 3)} | ${f(step / ref, 4)} |`,
  `| then 1 000 more steps back (mean per step) | ${f(steps, 3)} | ${f(steps / ref, 4)} |`,
  `| scrub back by 500 turns (mean per seek) | ${f(scrub, 2)} | ${f(scrub / ref, 3)} |`,
  `| record ${INPUTS} turns live, checkpoints included (per turn: ${f(recordMs / INPUTS, 4)}) | ${f(recordMs, 1)} | ${f(recordMs / ref, 2)} |`,
];
postMessage({ rows, notes: `per input ${f(perInput, 4)} ms, K = ${every}, head ${head}` });
