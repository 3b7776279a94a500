// Creating a batch: recipients from a CSV/XLSX file (chosen or dropped) or pasted; checked by the
// server without storing (POST /call/validate) so every problem is listed by line with its value
// and a fix; then a confirmation ("call 300 people, Yoruba female voice, 08:00–20:00") before
// POST /call.
'use strict';

import { el, field, table, td, scrollTable, get, post, say, describe, fmtTime, windowText, accentSelect, genderSelect, ApiError } from './core.js';
import { readXlsx } from './xlsx.js';
import { parseCsv, toCsv, mapHeader, recipients, rowErrors } from './recipients.js';
import { show } from './view.js';

/// Problems by line: every one, never a sample.
function errorTable(problems, unit) {
  const { table: t, tbody } = table('import-errors', null, [[unit], ['Column'], ['Value'], ['Problem'], ['How to fix']]);
  tbody.append(...problems.map(p => el('tr', { 'data-line': p.line ?? '' },
    td(unit, p.line === null || p.line === undefined ? '—' : String(p.line), { class: 'num' }),
    td('Column', p.column || '—'),
    td('Value', p.value === '' || p.value === undefined ? el('em', {}, 'empty') : el('span', { class: 'mono' }, p.value)),
    td('Problem', p.message),
    td('How to fix', p.fix || ''))));
  return t;
}

function showProblems(box, problems, unit, summary) {
  const lines = new Set(problems.filter(p => p.line !== null && p.line !== undefined).map(p => p.line));
  box.replaceChildren(
    el('h2', { id: 'problems-h' }, summary || `${problems.length} problem${problems.length === 1 ? '' : 's'}` +
      (lines.size ? ` on ${lines.size} ${unit.toLowerCase()}${lines.size === 1 ? '' : 's'}` : '') + ': nothing was sent'),
    el('p', {}, 'Fix them in your file and load it again, or correct them in the box above, then check again.'),
    scrollTable(errorTable(problems, unit)));
  box.hidden = false;
  box.focus();
}

/// "Call 300 people with the yoruba female voice …", numbers as they will be dialed, confirm.
function confirmation(v, recs, onConfirm, onBack) {
  const changed = recs.map((r, i) => ({ line: r.line, raw: r.param.phone_number, e164: v.phone_numbers[i] }))
    .filter(x => x.raw.replace(/[\s\-.()]/g, '') !== x.e164);
  const voice = `${v.tts_voice_accent} ${v.tts_voice_gender} voice${v.native_voice ? '' : ' (a stand-in: English voice tuned to the accent)'}`;
  const when = v.not_before ? `from ${fmtTime(v.not_before)}` : 'starting now';
  const hours = v.calling_window ? `, ${windowText(v.calling_window)}` : '';
  const go = el('button', { type: 'button', id: 'confirm' }, `Call ${v.calls} ${v.calls === 1 ? 'person' : 'people'}`);
  const back = el('button', { type: 'button', class: 'secondary' }, 'Back to edit');
  go.addEventListener('click', () => onConfirm(go));
  back.addEventListener('click', onBack);
  const { table: t, tbody } = table('normalised', 'Numbers rewritten in international form', [['Line', 'num'], ['As written'], ['Will be dialed']]);
  tbody.append(...changed.slice(0, 50).map(x => el('tr', {}, td('Line', String(x.line), { class: 'num' }),
    td('As written', x.raw, { class: 'mono' }), td('Will be dialed', x.e164, { class: 'mono' }))));
  return el('section', { class: 'card confirm', id: 'confirmation', tabindex: '-1', 'aria-labelledby': 'confirm-h' },
    el('h2', { id: 'confirm-h' }, 'Please confirm'),
    el('p', { id: 'confirm-summary', class: 'big' },
      `Call ${v.calls} ${v.calls === 1 ? 'person' : 'people'} with the ${voice}, ${when}${hours}.`),
    el('ul', {},
      el('li', {}, `Workflow: ${v.workflow_name}`), v.name ? el('li', {}, `Batch name: ${v.name}`) : null,
      el('li', {}, `Each number is tried up to ${v.max_attempts} time${v.max_attempts === 1 ? '' : 's'}.`),
      v.not_after ? el('li', {}, `Calls not made by ${fmtTime(v.not_after)} are given up.`) : null,
      el('li', {}, changed.length ? `${changed.length} number${changed.length === 1 ? ' was' : 's were'} written the local way and will be dialed as shown below.`
        : 'Every number is already in international form.')),
    changed.length ? scrollTable(t) : null,
    el('div', { class: 'actions' }, go, back));
}

/// The file drop zone: a labelled file input that also takes a dropped file.
function dropZone(onFile) {
  const input = el('input', { type: 'file', id: 'recipients-file', accept: '.csv,.xlsx,.txt,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  input.addEventListener('change', () => input.files[0] && onFile(input.files[0]));
  const zone = el('div', { class: 'drop', id: 'drop-zone' },
    el('label', { for: 'recipients-file' }, 'Choose a CSV or Excel (.xlsx) file'), input,
    el('p', { class: 'hint' }, 'or drop it here. The first row must name the columns.'));
  zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', e => {
    e.preventDefault();
    zone.classList.remove('over');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) onFile(f);
  });
  return zone;
}

function scheduleFields() {
  const start = el('input', { id: 'not-before', type: 'datetime-local' });
  const stop = el('input', { id: 'not-after', type: 'datetime-local' });
  const attempts = el('select', { id: 'max-attempts' }, el('option', { value: '' }, 'default'),
    [1, 2, 3, 4, 5].map(n => el('option', { value: String(n) }, String(n))));
  const read = () => {
    const iso = i => (i.value ? new Date(i.value).toISOString() : null);
    const out = {};
    if (start.value || stop.value) out.schedule = { not_before: iso(start), not_after: iso(stop) };
    if (attempts.value) out.retry = { max_attempts: Number(attempts.value) };
    return out;
  };
  const box = el('fieldset', { class: 'row' }, el('legend', {}, 'When'),
    field('Start no earlier than (optional)', start, 'Your computer\'s time. Empty: start now.'),
    field('Give up after (optional)', stop), field('Attempts per number', attempts));
  return { box, read };
}

/// The recipients box: a file (chosen or dropped) or pasted CSV, a template header for the chosen
/// workflow, and a live count. `parsed()` gives the rows mapped to the workflow and header problems.
function recipientsInput(workflow, country, onLoadError) {
  const csv = el('textarea', { id: 'recipients', spellcheck: 'false', 'aria-describedby': 'recipients-hint' });
  const summary = el('p', { id: 'recipients-summary', role: 'status' });
  const hint = el('p', { class: 'hint', id: 'recipients-hint' });
  let source = { unit: 'Line', rows: null };
  const parsed = () => {
    const rows = source.rows || parseCsv(csv.value);
    if (!rows.length) return { problems: [{ line: null, column: '', message: 'No rows yet.', fix: 'Load a file or paste rows with a header row first.' }] };
    const map = mapHeader(rows[0].cells, workflow().variables);
    const recs = recipients(rows.slice(1), map);
    if (!recs.length) map.problems.push({ line: null, column: '', message: 'Only a header row: nobody to call.', fix: 'Add one row per person.' });
    return { map, recs, problems: map.problems, unit: source.unit };
  };
  const count = () => {
    const p = parsed();
    summary.textContent = p.recs ? `${p.recs.length} ${p.recs.length === 1 ? 'person' : 'people'} (${source.name || 'pasted'})` : '';
  };
  const template = () => {
    const vars = workflow().variables;
    hint.textContent = `Columns: phone_number${country ? ` (international, or local ${country} numbers like 0803 123 4567)` : ' (international: +234…)'}` +
      (vars.length ? `, ${vars.join(', ')} (any capitalisation)` : '') + '; any other column is kept as a tag.';
    if (!csv.value.trim() || csv.dataset.template === 'yes') {
      csv.value = ['phone_number', ...vars, 'patient_id'].join(',') + '\n';
      csv.dataset.template = 'yes';
    }
    count();
  };
  const load = async file => {
    try {
      if (/\.xlsx$/i.test(file.name)) {
        const rows = await readXlsx(await file.arrayBuffer());
        source = { unit: 'Row', rows, name: file.name };
        csv.value = toCsv(rows);
      } else {
        csv.value = await file.text();
        source = { unit: 'Line', rows: null, name: file.name };
      }
      csv.dataset.template = 'no';
      count();
      say(`Loaded ${file.name}.`);
    } catch (e) { onLoadError(file, e); }
  };
  csv.addEventListener('input', () => { csv.dataset.template = 'no'; source = { unit: 'Line', rows: null }; count(); });
  const box = el('fieldset', {}, el('legend', {}, 'Recipients'), dropZone(load),
    field('Or paste rows (CSV, first row names the columns)', csv), hint, summary);
  return { box, parsed, template };
}

export async function newBatchView() {
  const [{ workflows }, voices, settings] = await Promise.all([get('/workflows'), get('/voices'), get('/settings')]);
  const active = workflows.filter(w => w.status === 'ACTIVE');
  if (!active.length) {
    show('New batch', el('p', {}, 'You have no active workflow yet: ', el('a', { href: '#/workflow/new' }, 'create one'), ' first.'));
    return;
  }
  const wfSelect = el('select', { id: 'workflow', required: true }, active.map(w => el('option', { value: w.workflow_id }, w.name)));
  const accent = accentSelect('accent', voices);
  const gender = genderSelect('gender', voices);
  const name = el('input', { id: 'batch-name', maxlength: '200', placeholder: 'e.g. Tuesday antenatal reminders' });
  const problems = el('section', { id: 'problems', class: 'card error-box', tabindex: '-1', hidden: true, 'aria-labelledby': 'problems-h' });
  const confirmBox = el('div');
  const check = el('button', { type: 'submit' }, 'Check recipients');
  const schedule = scheduleFields();
  const country = settings.default_country;
  const input = recipientsInput(() => active.find(w => w.workflow_id === wfSelect.value), country, (file, e) =>
    showProblems(problems, [{ line: null, column: file.name, value: '', message: e.message, fix: 'Save the sheet as .xlsx or CSV and try again.' }], 'Line'));
  wfSelect.addEventListener('change', input.template);
  const body = p => ({ workflow_id: wfSelect.value, tts_voice_accent: accent.value, tts_voice_gender: gender.value,
    ...(name.value.trim() ? { name: name.value.trim() } : {}), ...schedule.read(), workflow_params: p.recs.map(r => r.param) });
  const refused = (e, p) => {
    if (e instanceof ApiError && e.status === 422) showProblems(problems, rowErrors(e.errors, p.recs, p.map, country), p.unit);
    else say(describe(e), true);
  };
  const submitBatch = async (p, button) => {
    button.disabled = true;
    try {
      const r = await post('/call', body(p));
      say(`Batch created with ${p.recs.length} calls.`);
      location.hash = `#/batch/${r.batch_id}`;
    } catch (e) { button.disabled = false; refused(e, p); }
  };
  const form = el('form', { id: 'new-batch', class: 'card', novalidate: true },
    el('div', { class: 'row' }, field('Workflow', wfSelect), field('Accent', accent), field('Gender', gender)),
    field('Batch name (optional)', name), input.box, schedule.box, check);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    problems.hidden = true;
    confirmBox.replaceChildren();
    const p = input.parsed();
    if (p.problems.length) return showProblems(problems, p.problems, p.unit || 'Line', 'The header row needs fixing: nothing was sent');
    check.disabled = true;
    try {
      const v = await post('/call/validate', body(p));
      const card = confirmation(v, p.recs, button => submitBatch(p, button), () => { confirmBox.replaceChildren(); check.focus(); });
      confirmBox.replaceChildren(card);
      card.focus();
    } catch (e) { refused(e, p); } finally { check.disabled = false; }
  });
  show('New batch', form, problems, confirmBox);
  input.template();
}
