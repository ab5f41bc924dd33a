// An example of testing with the engine in Node (`node --test engine.test.mjs`), from a project
// that installed the package (`npm install aof-lab`): check that an AOF directory written by a
// real redis-server loads, and replay a workload against the engine.
//
//   AOF_DIR     a redis-server `dir` holding appendonlydir/ (required for the first test)
//   AOF_DIGEST  the real server's `DEBUG DIGEST` of that data (optional: compared when given)
//   AOF_KEYS    its DBSIZE (optional)
//
// tests/e2e/package.spec.mjs runs this file in a scratch project against the packed package.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from 'aof-lab';

const T0 = 1_700_000_000_000;

/** Every file of `dir`/appendonlydir as [paths, bytes], the way import_files takes a folder. */
async function readAofDir(dir) {
  const names = (await readdir(path.join(dir, 'appendonlydir'))).sort();
  const paths = names.map((n) => `appendonlydir/${n}`);
  const bytes = await Promise.all(paths.map((p) => readFile(path.join(dir, p))));
  return [paths, bytes];
}

test('an AOF directory written by redis-server loads with the same data', { skip: !process.env.AOF_DIR && 'AOF_DIR is not set' }, async () => {
  const engine = new Engine({ appendonly: true }, T0);
  const [paths, bytes] = await readAofDir(process.env.AOF_DIR);
  assert.ok(paths.some((p) => p.endsWith('.manifest')), `a 7.0 directory: ${paths}`);
  const started = engine.import_files(paths, bytes, T0 + 1);
  const snapshot = JSON.parse(engine.snapshot());
  assert.equal(started, true, `redis-server refused to start: ${JSON.stringify(snapshot.down)}`);
  if (process.env.AOF_KEYS) assert.equal(engine.call('DBSIZE').value, Number(process.env.AOF_KEYS));
  if (process.env.AOF_DIGEST) assert.equal(engine.call('DEBUG DIGEST').value, process.env.AOF_DIGEST);
  // redis-check-aof agrees that the files are sound.
  assert.match(engine.check_aof(false, T0 + 2), /exit: 0$/);
});

test('a workload replayed: replies as values, and what a power loss keeps under always', () => {
  const engine = new Engine({ appendonly: true, appendfsync: 'always' }, T0);
  assert.equal(engine.call('SET greeting hello').value, 'OK');
  assert.equal(engine.call(['RPUSH', 'queue', 'a', 'b', 'c']).value, 3);
  assert.deepEqual(engine.call('LRANGE queue 0 -1').value, ['a', 'b', 'c']);
  const err = engine.call('INCR greeting');
  assert.ok(err.value instanceof Error && err.value.name === 'ReplyError', 'an error reply is a value, not a throw');
  assert.equal(err.text, '(error) ERR value is not an integer or out of range');
  // Under always every acknowledged write is on disk: a power loss keeps both keys.
  engine.crash('power', T0 + 10);
  assert.equal(engine.call('DBSIZE').value, 2);
  assert.equal(engine.call('GET greeting').value, 'hello');
});

test('bad arguments throw before anything changes', async () => {
  const engine = new Engine({ appendonly: true }, T0);
  engine.call('SET k v');
  assert.throws(() => engine.import_files(['appendonlydir/appendonly.aof.1.incr.aof'], [new Blob(['x'])], T0), /got a Blob: read it first/);
  assert.equal(engine.call('GET k').value, 'v', 'the server is still up, with its data');
  await assert.rejects(Engine.open({ backend: 'opfs', fallback: false }, T0), /fallback is false/);
  await assert.rejects(Engine.open({ backnd: 'memory' }, T0), /unknown option 'backnd'/);
});
