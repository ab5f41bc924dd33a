// The wasm engine's AOF load, in a dedicated worker (where the lab runs it): each mix's files
// (written by the real redis-server, served by bench-load.mjs) are given to a fresh engine's
// `import_files`, as a folder picked in the page is; the time is the engine's own "DB loaded
// from append only file" line (the load alone, timed with performance.now(), as redis-server
// times its own), the median of `runs`. Posts {rows: ["mix seconds wall-seconds keys"], notes}.
import init, { Engine } from '../../pkg/aof_lab.js';

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
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
        engine.free();
      }
      notes.push(`${name}: load ${secs.join(', ')} s; import_files wall ${walls.map((w) => w.toFixed(3)).join(', ')} s; DBSIZE ${keys}`);
      rows.push(`${name} ${median(secs).toFixed(3)} ${median(walls).toFixed(3)} ${keys}`);
    }
    postMessage({ rows, notes: notes.join('\n') });
  } catch (e) {
    postMessage({ rows: [], notes: `failed: ${e.stack || e}` });
  }
};
