// The engine in Node (`import { Engine } from 'aof-lab'`): the wasm module is read from the
// package's own file and instantiated synchronously at import, so nothing is fetched and no
// `init()` call is needed. The storage is the simulated machine in memory (Node has no OPFS nor
// IndexedDB: `Engine.open({backend: 'auto'})` steps down to memory, `fallback: false` refuses).
import { readFileSync } from 'node:fs';
import { initSync } from '../pkg/aof_lab.js';

initSync({ module: readFileSync(new URL('../pkg/aof_lab_bg.wasm', import.meta.url)) });

export * from '../pkg/aof_lab.js';
