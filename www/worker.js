// The engine worker's entry (the page starts `worker.js`; worker-main.js is the worker). It has
// no static import, so that its first statement runs as soon as this one file has arrived: the
// wasm, its JS glue and the worker's own modules are then fetched at once, in parallel, instead
// of one after the other behind the module graph (BENCHMARKS.md, "Start-up"). Messages that
// arrive before worker-main.js has loaded wait in `inbox`, in order.
const inbox = [];
self.onmessage = (event) => inbox.push(event);
// The wasm, compiled as its bytes arrive (the glue would start compiling only once it has
// itself arrived and run); a server that does not say application/wasm gets the bytes compiled
// at the end instead.
const wasm = fetch(new URL('../pkg/aof_lab_bg.wasm', import.meta.url)).then((response) => {
  if (!response.ok) throw new Error(`../pkg/aof_lab_bg.wasm: HTTP ${response.status}`);
  return response.headers.get('content-type')?.startsWith('application/wasm')
    ? WebAssembly.compileStreaming(response)
    : response.arrayBuffer().then((bytes) => WebAssembly.compile(bytes));
});
// The origin's OPFS, asked for now: in a new profile the browser creates the origin's storage
// bucket on the first call (30–250 ms), which would otherwise wait for the wasm and INIT. The
// engine's own `getDirectory()` then finds it ready. No file or directory is created here.
self.navigator?.storage?.getDirectory?.().catch(() => {});
self.aofLabBoot = {
  inbox,
  wasm: import('../pkg/aof_lab.js').then(async (module) => {
    await module.default({ module_or_path: wasm });
    performance.mark('wasm'); // compiled and instantiated
    return module;
  }),
};
self.aofLabBoot.wasm.catch(() => {}); // reported by worker-main.js's loadWasm
// worker-main.js's own imports, requested beside it rather than after it has arrived (one round
// trip less; the module map fetches each once). A failure is reported by the import below.
for (const m of ['./protocol.js', './worker-log.js']) import(m).catch(() => {});
import('./worker-main.js').catch(async (err) => {
  const { MSG, message } = await import('./protocol.js');
  self.postMessage(message(MSG.FATAL, { message: `The engine worker could not load worker-main.js: ${err.message ?? err}` }));
});
