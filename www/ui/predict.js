// Predict, then reveal. Before a simulated crash the crash lab asks three quick questions
// (which of your last writes survive? how many keys after the restart? will the start be
// refused?); the crash report then shows the answer beside each prediction, and the engine's
// sentence explaining the difference by the policy and the layers (src/lab/predict.rs). The
// answers are computed by the engine, never here.
//
// Skippable: "Just crash" crashes without asking, and turns the questions off until the
// "Predict before each crash" box is ticked again (remembered in localStorage). While the
// questions are open, the diagram hides its "lost if it crashed now" shading.
import { el } from './dom.js';

const STORE = 'aof-lab:predict';

/** Whether the lab asks before each crash (the default) or just crashes. */
export function predictEnabled() {
  try {
    return localStorage.getItem(STORE) !== 'off';
  } catch {
    return true; // storage blocked: ask
  }
}

export function setPredictEnabled(on) {
  try {
    localStorage.setItem(STORE, on ? 'on' : 'off');
  } catch {
    // storage blocked: the choice lasts for this page only
  }
}

export const KIND_WORDS = { kill: 'a process kill', power: 'a power loss', torn: 'a torn write', 'torn-seq': 'a torn sequence' };
const ANSWERS = {
  survive: { all: 'all of them', some: 'some of them', none: 'none of them', unknown: 'not known exactly' },
  refused: { yes: 'refused', no: 'starts' },
};
const QUESTIONS = { survive: 'Your last writes survive', keys: 'Keys after the restart', refused: 'redis-server' };

let uid = 0;

/** One question as a group of radio buttons; returns {fieldset, value()}. */
function question(legend, name, choices) {
  const fs = el('fieldset', 'predict-q');
  fs.append(el('legend', null, legend));
  const row = el('div', 'predict-choices');
  const inputs = choices.map(([value, label]) => {
    const l = el('label', 'predict-choice');
    const input = Object.assign(document.createElement('input'), { type: 'radio', name, value });
    l.append(input, el('span', null, label));
    row.append(l);
    return input;
  });
  fs.append(row);
  return { fs, value: () => inputs.find((i) => i.checked)?.value ?? null, first: inputs[0] };
}

/**
 * Shows the questions in `box` for a crash of `kind`; resolves with the prediction, `null` for
 * "just crash" (questions turned off), or `undefined` when cancelled.
 * @param {HTMLElement} box
 * @param {object} snapshot the last snapshot (its machine.recent writes and keys)
 * @param {string} kind kill | power | torn
 */
export function askPrediction(box, snapshot, kind) {
  const n = ++uid;
  const recent = snapshot?.machine?.recent ?? [];
  const keys = snapshot?.keys ?? 0;
  const form = el('form', 'predict');
  form.setAttribute('aria-label', 'Predict the crash');
  form.append(
    el('h3', 'sub', 'First, predict'),
    el('p', 'meta', `${KIND_WORDS[kind] ?? kind} under appendfsync ${snapshot?.policy ?? '?'}, with ${keys} key${keys === 1 ? '' : 's'} now. What will the restarted server have?`),
  );
  const qs = {};
  if (recent.length) {
    const list = el('ol', 'predict-writes');
    for (const w of recent) list.append(el('li', null, w.typed));
    const q = question('Which of these last acknowledged writes survive?', `survive-${n}`, [['all', 'all'], ['some', 'some'], ['none', 'none']]);
    q.fs.insertBefore(list, q.fs.querySelector('.predict-choices'));
    qs.survive = q;
    form.append(q.fs);
  }
  qs.keys = question('How many keys after the restart?', `keys-${n}`, [['all', `all ${keys}`], ['fewer', 'fewer'], ['none', 'none']]);
  qs.refused = question('Will redis-server refuse to start?', `refused-${n}`, [['no', 'no, it starts'], ['yes', 'yes, refused']]);
  form.append(qs.keys.fs, qs.refused.fs);
  const buttons = el('div', 'predict-buttons');
  const go = el('button', 'crash-button', 'Crash and compare');
  go.type = 'submit';
  go.dataset.action = 'predict-crash';
  const skip = el('button', 'chip', 'Just crash');
  skip.type = 'button';
  skip.dataset.action = 'just-crash';
  skip.title = 'Crash without predicting, from now on (tick “Predict before each crash” to ask again)';
  const cancel = el('button', 'chip', 'Cancel');
  cancel.type = 'button';
  buttons.append(go, skip, cancel);
  form.append(buttons);
  box.replaceChildren(form);
  box.hidden = false;
  (qs.survive ?? qs.keys).first.focus();
  return new Promise((resolve) => {
    const done = (value) => {
      box.replaceChildren();
      box.hidden = true;
      resolve(value);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const refused = qs.refused.value();
      done({
        writes: recent.map((w) => w.seq),
        survive: qs.survive?.value() ?? null,
        keys: qs.keys.value(),
        refused: refused === null ? null : refused === 'yes',
      });
    });
    skip.addEventListener('click', () => {
      setPredictEnabled(false);
      done(null);
    });
    cancel.addEventListener('click', () => done(undefined));
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') done(undefined);
    });
  });
}

/** The reveal: each prediction beside the answer, the writes asked about, the sentence. */
export function revealView(report) {
  const r = report.reveal;
  const box = el('div', 'reveal');
  box.append(el('h3', 'sub', report.prediction ? 'Your prediction, and what happened' : 'What happened, and why'));
  if (report.prediction) {
    const table = el('table', 'reveal-table');
    const head = el('tr');
    for (const h of ['', 'you said', 'it was', '']) head.append(el('th', null, h));
    table.append(el('thead'), el('tbody'));
    table.tHead.append(head);
    for (const row of r.rows) {
      if (row.question === 'survive' && !report.prediction.writes.length) continue;
      const tr = el('tr');
      tr.dataset.question = row.question;
      tr.dataset.right = row.right === null ? '' : String(row.right);
      const said = row.predicted === null ? '(skipped)' : ANSWERS[row.question]?.[row.predicted] ?? row.predicted;
      const was = ANSWERS[row.question]?.[row.actual] ?? row.actual;
      const mark = row.right === null ? '' : row.right ? '✓ right' : '✗ no';
      const th = el('th', null, QUESTIONS[row.question]);
      th.scope = 'row';
      tr.append(th, el('td', null, said), el('td', null, was), el('td', `verdict ${row.right ? 'ok' : row.right === false ? 'wrong' : ''}`, mark));
      table.tBodies[0].append(tr);
    }
    box.append(table);
  }
  if (r.writes.length) {
    const list = el('ul', 'reveal-writes');
    for (const w of r.writes) {
      const li = el('li', `survived-${w.survived}`);
      li.append(el('span', 'place', w.survived === null ? 'not known' : w.survived ? 'survived' : 'lost'), el('code', null, w.typed));
      list.append(li);
    }
    box.append(list);
  }
  box.append(el('p', 'reveal-sentence', r.sentence));
  return box;
}
