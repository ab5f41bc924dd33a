// Types of the <aof-lab> element (www/aof-lab.js). `import 'aof-lab/element'` defines it.

/** What the crash lab reports (the engine's `snapshot().crash`). */
export interface CrashReport {
  /** `kill`, `power`, `torn` or `torn-seq`. */
  kind: string;
  /** The appendfsync policy in force. */
  policy: string;
  /** Bytes lost from Redis's memory (aof_buf) and from the kernel's page cache. */
  lost_aof_buf: number;
  lost_page_cache: number;
  keys_before: number;
  keys_after: number;
  /** Why each loss happened, in sentences. */
  why: string[];
  /** The restarted server's log. */
  log: string[];
  /** Whether redis-server started again (a torn tail may be refused). */
  started: boolean;
  /** What an RDB-only server would have restarted with. */
  rdb_keys: number | null;
  rdb_changes: number;
  rdb_age_s: number;
  rdb_text: string;
  [field: string]: unknown;
}

/** One step of a scenario that ran (the `scenario-step` event's `outcome`). */
export interface ScenarioOutcome {
  index: number;
  line: number;
  /** `say`, `note`, `mark`, `command`, `expect`, `wait`, `predict`, `crash`, `check-aof`, … */
  kind: string;
  text: string;
  output: string[];
  /** A check's result; null for steps that check nothing. */
  passed: boolean | null;
  failure: string | null;
  /** The step said as a sentence by the engine. */
  sentence: string;
  prediction: { given: number | null; correct: boolean } | null;
}

/** A step of a loaded scenario (what `load()` resolves to). */
export interface ScenarioStep {
  line: number;
  kind: string;
  text: string;
  sentence: string;
  script: string;
  choices?: string[];
}

export interface AofLabEventMap {
  /** An engine started (also after a restart): the storage backend in use and why not the others. */
  ready: CustomEvent<{ backend: 'opfs' | 'indexeddb' | 'memory'; notes: string[]; namespace: string }>;
  /** A console command's reply, as redis-cli prints it; `pending`: it blocked, its reply comes later. */
  reply: CustomEvent<{ command: string; text: string; pending: boolean }>;
  /**
   * The bytes a command propagated to the AOF (RESP, exactly as appended to aof_buf) and where
   * they were written; `file` and `offset` are null while they wait in aof_buf (a postponed
   * write) or for bytes serverCron propagated (`command: 'serverCron'`).
   */
  write: CustomEvent<{ command: string; bytes: Uint8Array; file: string | null; offset: number | null }>;
  /** An fsync completed: `file` is durable up to byte `durable`. `t`: simulated time (ms). */
  fsync: CustomEvent<{ file: string; durable: number; t: number; text: string }>;
  /** A crash (`kind` `exit`: redis-server exited by itself on a write error under always; `report` is null then). */
  crash: CustomEvent<{ kind: string; report: CrashReport | null; log: string[]; text: string }>;
  /** A BGREWRITEAOF ended (`ok` false: it failed). */
  'rewrite-done': CustomEvent<{ ok: boolean; t: number; text: string }>;
  /** A scenario step ran; `done` when it was the last. */
  'scenario-step': CustomEvent<{ outcome: ScenarioOutcome; next: number; done: boolean }>;
  /** The engine stopped or could not start (a missing file, a CORS refusal, a bug). */
  error: CustomEvent<{ message: string }>;
}

export type AofLabPanel = 'console' | 'machine' | 'aof' | 'files' | 'persist' | 'crash' | 'events' | 'transfer' | 'scenarios';

export declare class AofLabElement extends HTMLElement {
  /** Runs a command line as if typed; resolves with its reply. */
  run(line: string): Promise<{ command: string; text: string; pending: boolean }>;
  /** Crashes the simulated machine and restarts redis-server on what survived. */
  crash(kind: 'kill' | 'power' | 'torn' | 'torn-seq'): Promise<{ log: string[]; report: CrashReport }>;
  /** Start over: the files are deleted and a fresh engine starts. */
  reset(): Promise<{ backend: string }>;
  /** Loads a scenario script (www/scenarios/*.txt format); rejects with each malformed line. */
  load(scenarioText: string): Promise<ScenarioStep[]>;
  /** Runs the next scenario step (`answer`: a predict's choice index, null to skip). */
  step(answer?: number | null): Promise<ScenarioOutcome | null>;
  addEventListener<K extends keyof AofLabEventMap>(type: K, listener: (this: AofLabElement, ev: AofLabEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof AofLabEventMap>(type: K, listener: (this: AofLabElement, ev: AofLabEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/** The attributes, as strings in HTML (for frameworks that type their templates). */
export interface AofLabAttributes {
  backend?: 'memory' | 'auto' | 'opfs' | 'indexeddb';
  namespace?: string;
  appendfsync?: 'always' | 'everysec' | 'no';
  'aof-mode'?: '7.0' | '6.2';
  'rewrite-speed'?: string;
  height?: string;
  script?: string;
  /** Space-separated `AofLabPanel`s. */
  panels?: string;
  scenario?: string;
}

declare global {
  interface HTMLElementTagNameMap {
    'aof-lab': AofLabElement;
  }
}
