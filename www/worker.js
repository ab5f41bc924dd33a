// The engine worker's entry (the page starts `worker.js`; worker-main.js is the worker). It has
// no static import, so that its first statement runs as soon as this one file has arrived: the
// wasm, its JS glue and the worker's own modules are then fetched at once, in parallel, instead
// of one after the other behind the module graph (BENCHMARKS.md, "Start-up"). Messages that
// arrive before worker-main.js has loaded wait in `inbox`, in order.
const inbox = [];
self.onmessage = (event) => inbox.push(event);
const wasm = fetch(new URL('../pkg/aof_lab_bg.wasm', import.meta.url));
self.aofLabBoot = {
  inbox,
  wasm: import('../pkg/aof_lab.js').then(async (module) => {
    await module.default({ module_or_path: wasm });
    return module;
  }),
};
self.aofLabBoot.wasm.catch(() => {}); // reported by worker-main.js's loadWasm
import('./worker-main.js').catch(async (err) => {
  const { MSG, message } = await import('./protocol.js');
  self.postMessage(message(MSG.FATAL, { message: `The engine worker could not load worker-main.js: ${err.message ?? err}` }));
});
