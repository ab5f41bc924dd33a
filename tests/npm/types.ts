// Type-checked against the packed package (tests/e2e/package.spec.mjs runs `tsc --noEmit` on
// it in a scratch project): the element's tag, methods and events, and the engine's API.
import { Engine, type CallResult, type RedisValue } from 'aof-lab';
import type { AofLabElement, CrashReport } from 'aof-lab/element';

export async function host(doc: Document): Promise<number> {
  const lab = doc.querySelector('aof-lab');
  if (!lab) return 0;
  const el: AofLabElement = lab; // HTMLElementTagNameMap knows the tag
  el.addEventListener('write', (e) => {
    const bytes: Uint8Array = e.detail.bytes;
    const where: string | null = e.detail.file;
    console.log(e.detail.command, bytes.length, where);
  });
  el.addEventListener('crash', (e) => {
    const report: CrashReport | null = e.detail.report;
    console.log(report?.keys_after);
  });
  el.addEventListener('scenario-step', (e) => console.log(e.detail.outcome.sentence, e.detail.done));
  const reply = await el.run('SET k v');
  const text: string = reply.text;
  const { report } = await el.crash('power');
  const steps = await el.load('SET a 1\nexpect GET a => "1"');
  const outcome = await el.step(null);
  return text.length + report.keys_before + steps.length + (outcome?.passed ? 1 : 0);
}

export function engine(): RedisValue | undefined {
  const e = new Engine({ appendonly: true }, Date.now());
  const r: CallResult = e.call(['SET', 'k', new Uint8Array([1, 2])]);
  const started: boolean = e.import_files(['appendonlydir/appendonly.aof.1.incr.aof'], [new Uint8Array(0)], Date.now());
  console.log(r.text, r.pending, started);
  return r.value;
}
