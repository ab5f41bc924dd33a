// Compaction and snapshots: the rewrite (BGREWRITEAOF) and the RDB snapshot (BGSAVE, SAVE,
// dump.rdb, save points) as they happen, with the controls to run them slowly enough to watch.
//
// The child of either is simulated (src/aof/child.rs): a copy-on-write snapshot of the dataset
// written by serverCron, `lab-rewrite-keys-per-tick` keys per tick (the speed control), instead
// of a forked process running in parallel. The view is a pure function of the worker's last
// snapshot; the buttons type their command in the console (so the reply is shown there) and the
// speed is an action.
import { el } from './dom.js';

const fmt = (n) => `${Number(n).toLocaleString('en')} B`;

/** The speeds offered: keys per tick (serverCron runs 10 times a second). 0 = instant. */
export const SPEEDS = Object.freeze([
  [0, 'Instant (whole snapshot in one tick)'],
  [1, '1 key per tick (10 keys/s)'],
  [5, '5 keys per tick'],
  [50, '50 keys per tick'],
  [1000, '1,000 keys per tick'],
]);

const time = (unixSeconds) => new Date(unixSeconds * 1000).toISOString().slice(11, 19);

export class PersistView {
  /**
   * @param {HTMLElement} root where the view is built
   * @param {object} hooks {submit(line): types a command in the console, speed(n): sets the
   *   rewrite speed}
   */
  constructor(root, hooks) {
    this.hooks = hooks;
    const controls = el('div', 'persist-controls');
    controls.setAttribute('role', 'group');
    controls.setAttribute('aria-label', 'Rewrite and snapshot commands');
    for (const [cmd, title] of [
      ['BGREWRITEAOF', 'Rewrite the AOF in the background (a simulated child)'],
      ['BGSAVE', 'Write dump.rdb in the background (a simulated child)'],
      ['SAVE', 'Write dump.rdb now, in the foreground (the server blocks meanwhile)'],
    ]) {
      const b = el('button', 'chip', cmd);
      b.type = 'button';
      b.dataset.command = cmd;
      b.title = title;
      b.addEventListener('click', () => hooks.submit(cmd));
      controls.append(b);
    }
    const speedId = `speed-${Math.random().toString(36).slice(2)}`;
    const label = el('label', 'speed');
    label.htmlFor = speedId;
    label.append(el('span', null, 'Child speed'));
    this.speed = document.createElement('select');
    this.speed.id = speedId;
    this.speed.dataset.part = 'speed';
    for (const [n, text] of SPEEDS) {
      const o = el('option', null, text);
      o.value = String(n);
      this.speed.append(o);
    }
    this.speed.addEventListener('change', () => hooks.speed(Number(this.speed.value)));
    label.append(this.speed);
    controls.append(label);

    this.aof = el('div', 'child child-aof');
    this.aof.setAttribute('aria-live', 'polite');
    this.rdb = el('div', 'child child-rdb');
    this.rdb.setAttribute('aria-live', 'polite');
    const rdbHead = el('h3', 'sub', 'RDB snapshot (dump.rdb)');
    this.rdbState = el('p', 'rdb-state');
    this.points = el('p', 'meta save-points');
    this.trap = el('p', 'trap');
    const simulated = el(
      'p',
      'simulated',
      'Simulated on purpose: fork is a copy-on-write snapshot of the dataset taken in this worker, and the "child" writes it inside serverCron, a few keys per tick (the speed above), instead of running in parallel on another core. The copy-on-write figure counts the values changed since the snapshot, not 4 KB pages.',
    );
    root.append(controls, this.aof, rdbHead, this.rdbState, this.rdb, this.points, this.trap, simulated);
  }

  render(s) {
    const rw = s.rewrite ?? {};
    const rdb = s.rdb ?? {};
    const legacy = s.mode === '6.2';
    if (document.activeElement !== this.speed && rw.keys_per_tick !== undefined) {
      const v = String(rw.keys_per_tick);
      if (![...this.speed.options].some((o) => o.value === v)) this.speed.append(Object.assign(el('option', null, `${v} keys per tick`), { value: v }));
      this.speed.value = v;
    }

    // The AOF rewrite.
    this.aof.replaceChildren();
    if (rw.in_progress) {
      this.aof.append(progress(`Rewrite child ${rw.pid}`, rw, 'keys of the snapshot written'));
      const what = el('p', 'child-text');
      what.append(`Writing `, el('code', null, rw.tmp), ` (${fmt(rw.tmp_len)}) · copy-on-write so far ${fmt(rw.cow_bytes)}. `);
      if (legacy) {
        const phase = {
          snapshot: 'writing the snapshot',
          finishing: 'snapshot done: the child asked the parent to stop sending the diff, appends what it received and renames its file to temp-rewriteaof-bg-<pid>.aof',
          exited: 'the child exited: at the next tick the parent appends the rest of the rewrite buffer and renames the file over appendonly.aof',
        }[rw.phase] ?? rw.phase;
        what.append(`Phase: ${phase}. `);
        const buf = el('strong', 'rwbuf', `Rewrite buffer: ${fmt(rw.rewrite_buffer_length)}`);
        buf.dataset.bytes = rw.rewrite_buffer_length;
        what.append(buf, ` (${fmt(rw.diff_len ?? 0)} already sent to the child through the pipe) — Redis 6.2 holds every write made meanwhile twice: in aof_buf for the old appendonly.aof, and in this buffer for the new file.`);
      } else {
        what.append('New writes go to ', el('code', null, (s.incr ?? '').split('/').pop()), '; at the end the temp file becomes the new base, the manifest is swapped and the old base and incr files (history) are deleted.');
      }
      this.aof.append(what);
    } else {
      const n = rw.rewrites ?? 0;
      const done = `No rewrite running · ${n} done since the server started${rw.last_failed ? ' · the last one failed' : ''}${rw.scheduled ? ' · one is scheduled (it starts when the BGSAVE ends)' : ''}.`;
      this.aof.append(el('p', 'child-text', done));
      if (legacy) {
        const buf = el('p', 'meta', `aof_rewrite_buffer_length: ${rw.rewrite_buffer_length ?? 0} (6.2 fills it only while a rewrite runs)`);
        this.aof.append(buf);
      }
    }

    // The RDB snapshot.
    this.rdbState.replaceChildren();
    if (rdb.exists) {
      const file = (s.files ?? []).find((f) => f.kind === 'rdb');
      this.rdbState.append(
        el('code', null, rdb.dbfilename),
        ` ${file ? fmt(file.len) : ''} · last save ${time(rdb.lastsave)} UTC (rdb_last_save_time: a restart sets it to the start) · `,
        el('strong', 'rdb-changes', `${rdb.changes} change${rdb.changes === 1 ? '' : 's'} since`),
        ' (rdb_changes_since_last_save): a crash now would lose them with RDB only.',
      );
    } else {
      this.rdbState.append(el('code', null, rdb.dbfilename ?? 'dump.rdb'), ` not written yet · ${rdb.changes ?? 0} change${rdb.changes === 1 ? '' : 's'} since the start: with RDB only, a crash now would lose ${rdb.changes === 1 ? 'it' : 'them all'}.`);
    }
    if (rdb.last_bgsave_ok === false) this.rdbState.append(el('span', 'crash-error', ' The last BGSAVE failed.'));
    this.rdb.replaceChildren();
    if (rdb.in_progress) {
      this.rdb.append(progress(`BGSAVE child ${rdb.pid}`, rdb, 'keys written'));
      const what = el('p', 'child-text');
      what.append('Writing ', el('code', null, rdb.tmp), ` (${fmt(rdb.tmp_len)}); renamed to ${rdb.dbfilename} when complete. Writes go on meanwhile and are not in this snapshot.`);
      this.rdb.append(what);
    }
    const points = rdb.save_points ?? [];
    this.points.textContent = points.length
      ? `Save points (save ${points.flat().join(' ')}): a BGSAVE ${points.map(([sec, ch]) => `after ${sec} s if ≥ ${ch} change${ch === 1 ? '' : 's'}`).join(', ')}.`
      : 'save "": no automatic snapshots.';
    this.trap.replaceChildren();
    this.trap.hidden = !s.appendonly;
    if (s.appendonly) {
      this.trap.classList.toggle('trap-live', !!rdb.ignored_at_start);
      this.trap.append(
        el('strong', null, 'Trap: '),
        `with appendonly yes, redis-server loads only the AOF at start and ignores ${rdb.dbfilename ?? 'dump.rdb'}, even when the AOF is empty or missing. `,
        rdb.ignored_at_start ? 'The dump.rdb above will NOT be read by a restart. ' : '',
        'Turning the AOF on in redis.conf of a server whose data lives in dump.rdb starts it empty; CONFIG SET appendonly yes at runtime first rewrites the AOF from memory.',
      );
    }
  }
}

/** A labelled <progress> of a child: keys written of the snapshot's. */
function progress(who, child, what) {
  const wrap = el('div', 'child-progress');
  const p = document.createElement('progress');
  p.max = Math.max(1, child.keys_total);
  p.value = child.keys_processed;
  const pct = child.keys_total ? Math.floor((100 * child.keys_processed) / child.keys_total) : 0;
  const label = el('span', 'child-label', `${who}: ${child.keys_processed} / ${child.keys_total} ${what} (${pct}%)`);
  p.setAttribute('aria-label', label.textContent);
  wrap.dataset.processed = child.keys_processed;
  wrap.dataset.total = child.keys_total;
  wrap.append(label, p);
  return wrap;
}
