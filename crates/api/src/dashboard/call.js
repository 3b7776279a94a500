// One call's page: who it was for, its answer, why it is waiting, every attempt (times, SIP
// outcome, digits) and the audio it actually played (answered calls only).
'use strict';

import { el, get, describe, say, fmtTime, relative, pill, meaning, player, ApiError, table, td, scrollTable, poll } from './core.js';
import { show, notFound } from './view.js';

const SIP_WORDS = { 200: 'answered', 404: 'number does not exist', 480: 'unavailable', 486: 'busy', 487: 'we stopped ringing',
  408: 'no answer', 484: 'incomplete number', 403: 'refused by the carrier', 603: 'declined', 503: 'carrier unavailable' };

function sipText(a) {
  if (!a.outcome) return a.state === 'DIALING' ? 'in progress' : a.state.toLowerCase();
  return `${a.outcome.replace(/_/g, ' ').toLowerCase()}${a.sip_code ? ` — SIP ${a.sip_code}${SIP_WORDS[a.sip_code] ? ` (${SIP_WORDS[a.sip_code]})` : ''}` : ''}`;
}

function timeline(t) {
  const { table: tl, tbody } = table('attempts', 'Attempts', [['#', 'num'], ['Started'], ['Answered'], ['Ended'], ['Outcome'], ['Digits pressed']]);
  tbody.append(...t.attempts.map(a => el('tr', { 'data-attempt': a.attempt_no },
    td('#', String(a.attempt_no), { class: 'num' }),
    td('Started', fmtTime(a.started_at)),
    td('Answered', a.answered_at ? fmtTime(a.answered_at) : '—'),
    td('Ended', a.ended_at ? fmtTime(a.ended_at) : '—'),
    td('Outcome', sipText(a)),
    td('Digits pressed', a.digits ? el('span', { class: 'mono digits' }, a.digits.split('').join(' ')) : '—'))));
  if (!t.attempts.length) tbody.append(el('tr', {}, el('td', { colspan: 6 }, 'Not dialed yet.')));
  return scrollTable(tl);
}

function facts(t) {
  const c = t.call;
  const rows = [['Phone', el('span', { class: 'mono' }, c.phone_number)], ['Status', pill(c.status)],
    ['Answer', c.call_result_options_selected ? `${c.call_result_options_selected} — ${meaning(t.options, c.call_result_options_selected)}` : 'none'],
    ['Duration', `${c.call_result_duration} s`], ['Attempts', `${c.attempts} of at most ${t.max_attempts}`]];
  if (c.next_attempt_at) rows.push(['Next attempt', `${fmtTime(c.next_attempt_at)} (${relative(c.next_attempt_at)})`]);
  if (c.reason) rows.push(['Reason', c.reason.replace(/_/g, ' ')]);
  for (const [k, v] of Object.entries(c.workflow_variables || {})) rows.push([k, String(v)]);
  for (const [k, v] of Object.entries(c.user_tag_identifiers || {})) rows.push([`${k} (tag)`, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  return el('dl', { class: 'facts', id: 'call-facts' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function audioSection(t, id) {
  const box = el('section', { class: 'card', id: 'call-audio', 'aria-labelledby': 'audio-h' }, el('h2', { id: 'audio-h' }, 'What the call played'));
  if (!t.audio_available) {
    box.append(el('p', { class: 'muted', id: 'no-audio' }, t.call.status === 'QUEUED' || t.call.status === 'PROCESSING'
      ? 'Nothing yet: the call has not been answered.' : 'Nothing: the call was never answered, so no prompt was played.'));
    return box;
  }
  const out = el('div');
  const btn = el('button', { type: 'button', class: 'secondary play' }, 'Load audio');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      out.replaceChildren(player(await get(`/call/${id}/audio`), `Audio played to ${t.call.phone_number}`));
      btn.hidden = true;
    } catch (e) { btn.disabled = false; say(describe(e), true); }
  });
  box.append(el('p', { class: 'muted' }, 'The prompts exactly as the callee heard them, in order (from the cached rendering, not spoken again).'), btn, out);
  return box;
}

export async function callView(id) {
  let t;
  try { t = await get(`/call/${encodeURIComponent(id)}/attempts`); } catch (e) {
    if (e instanceof ApiError && e.status === 404) return notFound('This call does not exist or is not yours.', '#/batches', 'Back to your batches');
    throw e;
  }
  const body = el('div');
  const name = t.call.workflow_variables && t.call.workflow_variables.name;
  show(name ? `Call to ${name}` : 'Call', el('p', {}, el('a', { href: `#/batch/${t.batch_id}` }, `← ${t.batch_name || 'Back to the batch'}`)), body);
  const live = () => t.call.status === 'QUEUED' || t.call.status === 'PROCESSING';
  const draw = () => body.replaceChildren(facts(t), el('h2', {}, 'Timeline'), timeline(t), audioSection(t, id));
  draw();
  if (!live()) return;
  poll(async () => {
    t = await get(`/call/${encodeURIComponent(id)}/attempts`);
    draw();
    return live();
  });
}
