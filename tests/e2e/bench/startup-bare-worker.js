// The bare engine: load the wasm, open the engine on OPFS (with the page's default settings),
// run PING. Posts the wall-clock time of each step (performance.timeOrigin + now).
const at = () => performance.timeOrigin + performance.now();
self.onmessage = async (e) => {
  try {
    const wasm = await import('../../../pkg/aof_lab.js');
    await wasm.default();
    const loaded = at();
    const engine = await wasm.Engine.open({ backend: 'opfs', namespace: e.data.namespace }, Date.now());
    const open = at();
    const reply = engine.execute_line('PING', Date.now());
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
    self.postMessage({ wasm: loaded, open, pong: at() });
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
