// The wasm engine's AOF load, in a dedicated worker (where the lab runs it): each mix's files
// (written by the real redis-server, served by bench-load.mjs) are given to a fresh engine's
// `import_files`, as a folder picked in the page is; the time is the engine's own "DB loaded
// from append only file" line (the load alone, timed with performance.now(), as redis-server
// times its own), the median of `runs`. Then, on the loaded engine, a BGREWRITEAOF (RDB base,
// the default; the simulated child writes the whole snapshot in the first serverCron tick, as
// `lab-rewrite-keys-per-tick 0` says): the wall time from the command to the tick that finished
// it, the median of `runs`. Posts {rows: ["mix seconds wall-seconds keys rewrite-seconds"], notes}.
import init, { Engine } from '../../pkg/aof_lab.js';

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** BGREWRITEAOF on `engine`, then serverCron ticks until it finished: the wall seconds. */
function rewrite(engine, name) {
  let now = Date.now();
  const t0 = performance.now();
  const started = engine.execute_line('BGREWRITEAOF', now);
  if (!/rewriting started/.test(started)) throw new Error(`${name}: BGREWRITEAOF answered ${started}`);
  const busy = () => /aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(engine.execute_line('INFO persistence', now));
  for (let i = 0; busy(); i++) {
    if (i > 1000) throw new Error(`${name}: the rewrite did not finish`);
    now += 100;
    engine.tick(now);
  }
  const secs = (performance.now() - t0) / 1000;
  if (!/aof_last_bgrewrite_status:ok/.test(engine.execute_line('INFO persistence', now))) throw new Error(`${name}: the rewrite failed`);
  return secs;
}

onmessage = async ({ data: { base, mixes, runs } }) => {
  try {
    await init();
    const rows = [];
    const notes = [];
    for (const { name, files } of mixes) {
      const blobs = [];
      for (const f of files) blobs.push(new Uint8Array(await (await fetch(`${base}/${name}/appendonlydir/${f}`)).arrayBuffer()));
      const paths = files.map((f) => `appendonlydir/${f}`);
      const secs = [];
      const walls = [];
      const rewrites = [];
      let keys = '?';
      for (let i = 0; i < runs; i++) {
        const engine = new Engine({ appendonly: true }, Date.now());
        const t0 = performance.now();
        const started = engine.import_files(paths, blobs, Date.now());
        walls.push((performance.now() - t0) / 1000);
        const snap = engine.snapshot();
        const m = [...snap.matchAll(/DB loaded from append only file: ([0-9.]+) seconds/g)].pop();
        if (!started || !m) throw new Error(`${name}: the engine did not load (${snap.slice(0, 2000)})`);
        secs.push(Number(m[1]));
        keys = engine.execute_line('DBSIZE', Date.now()).replace('(integer) ', '');
        rewrites.push(rewrite(engine, name));
        engine.free();
      }
      notes.push(`${name}: load ${secs.join(', ')} s; import_files wall ${walls.map((w) => w.toFixed(3)).join(', ')} s; DBSIZE ${keys}; rewrite ${rewrites.map((w) => w.toFixed(3)).join(', ')} s`);
      rows.push(`${name} ${median(secs).toFixed(3)} ${median(walls).toFixed(3)} ${keys} ${median(rewrites).toFixed(3)}`);
    }
    postMessage({ rows, notes: notes.join('\n') });
  } catch (e) {
    postMessage({ rows: [], notes: `failed: ${e.stack || e}` });
  }
};
