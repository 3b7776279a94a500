// Creating and editing a workflow: the message and its answer options (or a step list), with a
// live transcript of the whole call and the whole call spoken in any voice before saving.
'use strict';

import { el, field, get, post, put, say, describe, player, accentSelect, genderSelect, ApiError } from './core.js';
import { editable, sample } from './workflows.js';
import { show, notFound } from './view.js';

const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'];

/// The answer options editor: rows of digit + what the caller hears.
function optionsEditor(initial, onChange) {
  const list = el('div', { id: 'options' });
  const addRow = (digit, text) => {
    const n = list.children.length + 1;
    const d = el('select', { id: `option-digit-${n}`, 'aria-label': `Digit of option ${n}` }, DIGITS.map(x => el('option', { value: x, selected: x === digit }, x)));
    const t = el('input', { id: `option-text-${n}`, value: text || '', 'aria-label': `What option ${n} says`, placeholder: `Press ${digit} to confirm` });
    const rm = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove option ${n}` }, 'Remove');
    const row = el('div', { class: 'option-row' }, d, t, rm);
    rm.addEventListener('click', () => { row.remove(); onChange(); });
    for (const c of [d, t]) c.addEventListener('input', onChange);
    list.append(row);
  };
  for (const [d, t] of Object.entries(initial)) addRow(d, t);
  const add = el('button', { type: 'button', class: 'secondary', id: 'add-option' }, 'Add an option');
  add.addEventListener('click', () => { addRow(DIGITS.find(x => !read().hasOwnProperty(x)) || '1', ''); onChange(); });
  const read = () => Object.fromEntries(Array.from(list.children).map(r => [r.children[0].value, r.children[1].value]).filter(([, t]) => t.trim()));
  return { box: el('div', {}, list, add), read };
}

/// The preview panel: sample values, transcript, whole-call audio in a chosen voice.
function previewPanel(voices, body) {
  const transcript = el('ol', { id: 'transcript', 'aria-live': 'polite' });
  const samples = el('div', { id: 'samples', class: 'row' });
  const values = {};
  const accent = accentSelect('preview-accent', voices);
  const gender = genderSelect('preview-gender', voices);
  const out = el('div');
  const play = el('button', { type: 'button', class: 'secondary', id: 'play-call' }, 'Play the whole call');
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const wf = body();
      if (!wf) return;
      try {
        const r = await post('/workflows/preview', { workflow: wf, variables: values, format: 'text' });
        const fresh = r.variables.filter(v => !document.getElementById(`sample-${v}`));
        for (const v of fresh) {
          values[v] = values[v] || sample(v);
          const input = el('input', { id: `sample-${v}`, value: values[v] });
          input.addEventListener('input', () => { values[v] = input.value; refresh(); });
          samples.append(field(`Sample ${v}`, input));
        }
        if (fresh.length) return refresh(); // spoken again with the new samples
        transcript.replaceChildren(...r.prompts.map(p => el('li', {}, p.say ? `“${p.say}”` : el('em', {}, `recording ${p.play}`))),
          Object.keys(r.options).length ? el('li', { class: 'muted' }, `Waits for a key: ${Object.keys(r.options).join(', ')}`) : '');
      } catch (e) {
        transcript.replaceChildren(el('li', { class: 'error' }, e instanceof ApiError ? e.describe() : describe(e)));
      }
    }, 250);
  };
  play.addEventListener('click', async () => {
    play.disabled = true;
    try {
      const audio = player(await post('/workflows/preview', { workflow: body(), variables: values, accent: accent.value, gender: gender.value }),
        `The whole call in ${accent.value} ${gender.value}`);
      out.replaceChildren(audio);
      audio.play().catch(() => {});
    } catch (e) { say(describe(e), true); } finally { play.disabled = false; }
  });
  const box = el('aside', { class: 'card preview', 'aria-labelledby': 'preview-h' },
    el('h2', { id: 'preview-h' }, 'What the call says'), samples, transcript,
    el('div', { class: 'actions' }, field('Accent', accent), field('Gender', gender), play), out);
  return { box, refresh };
}

export async function editorView(id) {
  const isNew = id === 'new';
  const [voices, wf] = await Promise.all([get('/voices'), isNew ? null : get(`/workflows/${encodeURIComponent(id)}`).catch(e => {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  })]);
  if (wf === undefined) return notFound('This workflow does not exist or is not yours.', '#/workflows', 'Back to workflows');
  const start = wf ? editable(wf) : { name: '', workflow_type: 'ROBOCALL', message: 'Hello [name], this is a reminder of your appointment on [date].',
    include_reply: true, response_options: { 1: 'Press 1 to confirm', 2: 'Press 2 to change the date' } };
  const name = el('input', { id: 'wf-name', value: start.name, required: true });
  const status = el('select', { id: 'wf-status' }, ['ACTIVE', 'INACTIVE'].map(s => el('option', { value: s, selected: s === (start.status || 'ACTIVE') }, s.toLowerCase())));
  const stepsMode = !!start.steps;
  const mode = el('select', { id: 'wf-mode' }, el('option', { value: 'message', selected: !stepsMode }, 'Message and answer options'),
    el('option', { value: 'steps', selected: stepsMode }, 'Steps (advanced: JSON, recordings, branches)'));
  const message = el('textarea', { id: 'wf-message', rows: 4 }, start.message || '');
  const ask = el('input', { id: 'wf-ask', type: 'checkbox', checked: start.include_reply !== false });
  const steps = el('textarea', { id: 'wf-steps', rows: 10, spellcheck: 'false' }, JSON.stringify(start.steps || [], null, 2));
  const callback = el('input', { id: 'wf-callback', type: 'url', value: start.call_back_url || '', placeholder: 'https://example.org/hooks/voicebot' });
  const errors = el('div', { id: 'wf-errors', class: 'error', role: 'alert' });
  let preview = null;
  const options = optionsEditor(start.response_options || {}, () => preview && preview.refresh());
  const body = () => {
    const base = { name: name.value.trim() || 'Untitled', status: status.value, ...(callback.value.trim() ? { call_back_url: callback.value.trim() } : {}),
      ...(start.opt_out_digit ? { opt_out_digit: start.opt_out_digit } : {}) };
    if (mode.value === 'steps') {
      try { return { ...base, steps: JSON.parse(steps.value) }; } catch { return null; }
    }
    return { ...base, workflow_type: 'ROBOCALL', message: message.value, include_reply: ask.checked, response_options: options.read() };
  };
  preview = previewPanel(voices, body);
  const simple = el('div', { id: 'simple-fields' },
    field('Message', message, 'Write [name] (or {{name}}) where each person\'s value goes; every such variable becomes a column of your recipient file.'),
    el('div', { class: 'check' }, ask, el('label', { for: 'wf-ask' }, 'Ask for an answer (keypad)')), options.box);
  const advanced = el('div', { id: 'steps-fields' }, field('Steps (JSON)', steps,
    'say, gather {prompt, options, timeout_seconds, attempts, next}, play {"<accent>": "<recording id>", "default": "<id>"}, hangup. See API docs.'));
  const sync = () => { simple.hidden = mode.value === 'steps'; advanced.hidden = mode.value !== 'steps'; preview.refresh(); };
  for (const c of [name, message, ask, steps]) c.addEventListener('input', () => preview.refresh());
  mode.addEventListener('change', sync);
  const save = el('button', { type: 'submit', id: 'wf-save' }, isNew ? 'Create workflow' : 'Save changes');
  const form = el('form', { id: 'workflow-form', class: 'card' }, el('div', { class: 'row' }, field('Name', name), field('Status', status), field('Kind', mode)),
    simple, advanced, field('Completion callback URL (optional)', callback), errors, save);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    errors.textContent = '';
    const b = body();
    if (!b) { errors.textContent = 'The steps are not valid JSON.'; return; }
    save.disabled = true;
    try {
      const saved = isNew ? await post('/workflows', b) : await put(`/workflows/${id}`, b);
      say(`Workflow "${saved.name}" saved.`);
      location.hash = '#/workflows';
    } catch (e) {
      errors.replaceChildren(el('p', {}, e.message), el('ul', {}, (e.errors || []).map(x => el('li', {}, `${x.field}: ${x.message}`))));
    } finally { save.disabled = false; }
  });
  show(isNew ? 'New workflow' : `Edit ${start.name}`, el('div', { class: 'editor' }, form, preview.box));
  sync();
}
