// The log view's actions, run in the worker (see LOG_ACTIONS in protocol.js): the lab's files as
// records by range (the engine's record index, src/lab/log.rs), and an inspector of dropped files
// that is not the lab (src/lab/dropped.rs: its own files, never loaded into the engine). Rows
// and files travel as the JSON text the engine wrote; the page parses what it shows.

import { LOG_ACTIONS } from './protocol.js';

let inspector = null; // wasm LogInspector of the dropped files

const ALL = new Set(Object.values(LOG_ACTIONS));

export function isLogAction(name) {
  return ALL.has(name);
}

function dropped() {
  if (!inspector) throw new Error('no dropped files are open');
  return inspector;
}

/** Runs a log action on `engine` (the lab) or the inspector; `wasm` is the engine's module. */
export function logAction(engine, wasm, name, args) {
  const drop = args.source === 'drop';
  switch (name) {
    case LOG_ACTIONS.FILES:
      return drop ? dropped().files() : engine.log_files();
    case LOG_ACTIONS.ROWS:
      return drop ? dropped().rows(args.file, args.first, args.count) : engine.log_rows(args.file, args.first, args.count);
    case LOG_ACTIONS.RECORD:
      return drop ? dropped().record(args.file, args.index) : engine.log_record(args.file, args.index);
    case LOG_ACTIONS.FIND:
      return drop ? dropped().find(args.file, args.offset) : engine.log_find(args.file, args.offset, args.len ?? undefined);
    case LOG_ACTIONS.LOCATE:
      return engine.log_locate(args.stream);
    case LOG_ACTIONS.DROP_OPEN: {
      inspector?.free();
      inspector = null;
      inspector = args.files
        ? new wasm.LogInspector(args.files.map((f) => f.path), args.files.map((f) => f.bytes))
        : wasm.LogInspector.from_archive(args.name, args.bytes);
      return { files: inspector.files(), check: inspector.check() };
    }
    case LOG_ACTIONS.DROP_CLOSE:
      inspector?.free();
      inspector = null;
      return null;
    default:
      throw new Error(`unknown log action ${name}`);
  }
}
