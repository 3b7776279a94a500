// Workflows: the list (with a whole-call preview in any voice), what native and stand-in voices
// are, and recorded prompts (how to record one, upload, listen).
'use strict';

import { el, field, table, td, scrollTable, get, upload, say, describe, player, accentSelect, genderSelect, post } from './core.js';
import { show } from './view.js';

/// Sample values for a workflow's variables, for previews.
export const SAMPLES = { name: 'Ada', date: 'Tuesday 14 May', time: '10 o\'clock', clinic: 'Lagos Island Clinic' };
export const sample = v => SAMPLES[v] || v.replace(/_/g, ' ');

/// The whole call in a voice, as audio, from the server's preview route.
export async function previewCall(workflowBody, variables, accent, gender) {
  return post('/workflows/preview', { workflow: workflowBody, variables, accent, gender });
}

/// A workflow as it came from GET, back in the shape PUT accepts.
export function editable(wf) {
  const base = { name: wf.name, description: wf.description || undefined, status: wf.status,
    call_back_url: wf.call_back_url || undefined, opt_out_digit: wf.opt_out_digit || undefined };
  if (wf.message !== undefined) {
    return { ...base, workflow_type: 'ROBOCALL', message: wf.message, include_reply: !!wf.include_reply,
      response_options: wf.response_options || {} };
  }
  return { ...base, steps: wf.steps.map(s => (s.gather ? { gather: { ...s.gather } } : s)) };
}

function workflowCard(wf, voices) {
  const accent = accentSelect(`accent-${wf.workflow_id}`, voices, null, `Accent for ${wf.name}`);
  const gender = genderSelect(`gender-${wf.workflow_id}`, voices, null, `Gender for ${wf.name}`);
  const out = el('span');
  const btn = el('button', { type: 'button', class: 'secondary' }, 'Preview the whole call');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const vars = Object.fromEntries(wf.variables.map(v => [v, sample(v)]));
      const audio = player(await previewCall(editable(wf), vars, accent.value, gender.value), `Preview of ${wf.name} in ${accent.value} ${gender.value}`);
      out.replaceChildren(audio);
      audio.play().catch(() => {});
    } catch (e) { say(describe(e), true); } finally { btn.disabled = false; }
  });
  const said = wf.message || (wf.steps.find(s => s.say) || {}).say || '';
  return el('article', { class: 'card', 'data-workflow': wf.workflow_id },
    el('h2', {}, wf.name, ' ', el('span', { class: `pill ${wf.status === 'ACTIVE' ? 'COMPLETED' : 'CANCELLED'}` }, wf.status)),
    el('p', {}, said),
    wf.response_options ? el('ul', { class: 'options' }, Object.entries(wf.response_options).map(([d, t]) => el('li', {}, el('kbd', {}, d), ' ', t))) : null,
    wf.variables.length ? el('p', { class: 'muted' }, 'Variables: ', wf.variables.map(v => el('code', {}, v, ' '))) : null,
    el('div', { class: 'actions' }, el('a', { href: `#/workflow/${wf.workflow_id}`, class: 'button secondary' }, 'Edit'), accent, gender, btn, out));
}

/// What native and stand-in voices are, accent by accent.
function voicesSection(voices) {
  const { table: t, tbody } = table('voices', null, [['Accent'], ['Voice'], ['Genders'], ['Engine']]);
  tbody.append(...voices.voices.map(v => el('tr', { 'data-native': String(v.native) },
    td('Accent', v.accent), td('Voice', v.native ? 'native' : 'stand-in'), td('Genders', v.genders.join(', ')),
    td('Engine', (v.engines || []).join(', ') || '—'))));
  const stand = voices.voices.filter(v => !v.native).length;
  return el('section', { class: 'card', id: 'voices-help', 'aria-labelledby': 'voices-h' },
    el('h2', { id: 'voices-h' }, 'Voices: native and stand-in'),
    el('p', {}, `A native voice was made for the language and pronounces it as a speaker would. ${stand} of ${voices.voices.length} accents have no native voice yet; they use a `,
      el('strong', {}, 'stand-in'), ': an English voice whose speed and pitch are tuned towards the accent. Write the message in English for these — a stand-in cannot pronounce Yoruba or Hausa words correctly.'),
    el('p', {}, 'Where that is not good enough, record the message yourself (below) and play the recording instead of speech.'),
    el('details', {}, el('summary', {}, 'Every accent'), scrollTable(t)));
}

/// How to record a prompt, and the upload itself.
function recordingsSection() {
  const input = el('input', { type: 'file', id: 'recording-file', accept: 'audio/wav,audio/x-wav,audio/mpeg,.wav,.mp3' });
  const out = el('div', { id: 'recording-result', role: 'status' });
  input.addEventListener('change', async () => {
    const f = input.files[0];
    if (!f) return;
    out.textContent = `Uploading ${f.name}…`;
    try {
      const r = await upload('/audio', await f.arrayBuffer());
      const audio = player(await get(`/audio/${r.audio_id}`), `Uploaded recording ${f.name}`);
      out.replaceChildren(el('p', {}, `Stored as `, el('code', { id: 'recording-id' }, r.audio_id), ` (${r.duration_seconds.toFixed(1)} s, 8 kHz).`),
        audio, el('p', { class: 'hint' }, 'Use it in a workflow: open the workflow, choose "Steps", and add a play step with this id.'));
    } catch (e) { out.textContent = describe(e); }
  });
  return el('section', { class: 'card', id: 'recordings', 'aria-labelledby': 'rec-h' },
    el('h2', { id: 'rec-h' }, 'Record your own prompt'),
    el('ol', {},
      el('li', {}, 'Record on a phone\'s voice recorder, in a quiet room, 15–30 cm from the mouth. Say exactly what the call should say.'),
      el('li', {}, 'Save or share it as WAV or MP3 (at most a few minutes). It is converted to telephone quality (8 kHz) here.'),
      el('li', {}, 'Upload it below, listen to it, then use its id in a workflow\'s play step for the accent it is in.')),
    field('Upload a recording (WAV or MP3)', input), out);
}

export async function workflowsView() {
  const [{ workflows }, voices] = await Promise.all([get('/workflows'), get('/voices')]);
  show('Workflows',
    el('div', { class: 'actions' }, el('a', { href: '#/workflow/new', class: 'button', id: 'new-workflow' }, 'New workflow')),
    ...(workflows.length ? workflows.map(wf => workflowCard(wf, voices)) : [el('p', {}, 'No workflows yet.')]),
    voicesSection(voices), recordingsSection());
}
