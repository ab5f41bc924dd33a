// `import { Engine } from 'aof-lab'` in Node: the engine, initialised at import.
export * from '../pkg/aof_lab.js';
