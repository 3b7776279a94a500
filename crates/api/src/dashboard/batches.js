// The batches list and one batch's page: progress, why it is waiting, failed calls, charts, the
// calls table (who, answer meaning, search, filter, sort) and its completion callback.
'use strict';

import {
  el, svg, table, td, scrollTable, field, get, post, download, say, describe, fmtTime, relative, pill, meaning,
  who, poll, liveNote, parseTime, windowText, POLL_MS, ApiError,
} from './core.js';
import { show, notFound } from './view.js';

// ---------- the list ----------

function progressBar(p, total) {
  const parts = [['completed', p.completed], ['timeout', p.timeout], ['failed', p.failed],
    ['cancelled', p.cancelled], ['processing', p.processing]];
  const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total,
    'aria-valuenow': p.finished, 'aria-label': `${p.finished} of ${total} calls finished` });
  for (const [name, n] of parts) {
    if (!n || !total) continue;
    const seg = el('span', { class: `seg-${name}`, title: `${name}: ${n}` });
    seg.style.width = `${(100 * n) / total}%`;
    bar.append(seg);
  }
  return bar;
}

function legend() {
  return el('div', { class: 'legend', 'aria-hidden': 'true' },
    ['completed', 'timeout', 'failed', 'cancelled', 'processing'].map(n => el('span', {}, el('i', { class: `seg-${n}` }), n)));
}

/// One line on why a batch has not finished: its start time or its next attempt.
function waitingLine(b) {
  if (b.status === 'COMPLETED' || b.status === 'CANCELLED') return b.completed_at ? `finished ${fmtTime(b.completed_at)}` : '';
  if (b.progress.processing) return `${b.progress.processing} calling now`;
  if (b.next_attempt_at) {
    return `${b.status === 'PENDING' ? 'starts' : 'next call'} ${fmtTime(b.next_attempt_at)} (${relative(b.next_attempt_at)})`;
  }
  return '';
}

export async function batchesView() {
  const { table: t, tbody } = table('batches', null,
    [['Created'], ['Batch'], ['Voice'], ['Status'], ['Progress'], ['Done', 'num'], ['Calls', 'num']]);
  t.prepend(el('caption', {}, 'Your batches, newest first ', liveNote('(updates live)')));
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Older batches');
  show('Batches', el('div', { class: 'actions' }, el('a', { href: '#/new', class: 'button' }, 'New batch'), legend()),
    scrollTable(t), more);
  let pages = 1;
  const render = async () => {
    // Re-read every page shown so far: progress of older rows moves too.
    let rows = [];
    let cursor = null;
    for (let i = 0; i < pages; i++) {
      const page = await get(`/batches?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      rows = rows.concat(page.batches);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    tbody.replaceChildren(...rows.map(b => el('tr', { 'data-batch': b.batch_id, 'data-status': b.status },
      td('Created', fmtTime(b.created_at)),
      td('Batch', [el('a', { href: `#/batch/${b.batch_id}` }, b.name || b.workflow_name || b.batch_id.slice(0, 8)),
        b.name && b.workflow_name ? el('div', { class: 'muted' }, b.workflow_name) : null]),
      td('Voice', `${b.tts_voice_accent} ${b.tts_voice_gender}`),
      td('Status', [pill(b.status), el('div', { class: 'muted small' }, waitingLine(b))]),
      td('Progress', progressBar(b.progress, b.total_calls)),
      td('Done', String(b.progress.finished), { class: 'num', 'data-finished': '' }),
      td('Calls', String(b.total_calls), { class: 'num' }))));
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: 7 }, 'No batches yet. ', el('a', { href: '#/new' }, 'Send one.'))));
    more.hidden = !cursor;
  };
  more.addEventListener('click', async () => { pages++; await render(); });
  await render();
  poll(render);
}

// ---------- charts (SVG, each with a text alternative) ----------

const COLORS = { COMPLETED: '#1a7f37', TIMEOUT: '#9a6700', FAILED: '#cf222e', CANCELLED: '#424a53',
  PROCESSING: '#8250df', QUEUED: '#6e7781' };

function barChart(title, rows, color) {
  const max = Math.max(1, ...rows.map(r => r.value));
  const rowH = 26, labelW = 150, w = 420, h = Math.max(1, rows.length) * rowH + 8;
  const chart = svg('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': `${title}: ` +
    (rows.length ? rows.map(r => `${r.label} ${r.value}`).join(', ') : 'no data') });
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const bw = ((w - labelW - 50) * r.value) / max;
    chart.append(
      svg('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end' }, r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label),
      svg('rect', { x: labelW, y: y + 3, width: Math.max(bw, r.value ? 2 : 0), height: rowH - 8, rx: 3,
        fill: r.color || color || '#0b5cad' }),
      svg('text', { x: labelW + bw + 6, y: y + 16 }, String(r.value)));
  });
  if (!rows.length) chart.append(svg('text', { x: 8, y: 18 }, 'no data yet'));
  return el('figure', { class: 'card chart' }, el('figcaption', {}, el('h2', {}, title)), chart);
}

function durationBuckets(calls) {
  const edges = [0, 5, 10, 20, 30, 60, 120];
  const rows = edges.map((lo, i) => ({
    label: i + 1 < edges.length ? `${lo}–${edges[i + 1] - 1} s` : `≥ ${lo} s`, value: 0 }));
  for (const c of calls) {
    if (c.status !== 'COMPLETED') continue;
    let i = edges.length - 1;
    while (i > 0 && c.call_result_duration < edges[i]) i--;
    rows[i].value++;
  }
  return rows;
}

function statCard(label, value, id) {
  return el('div', { class: 'stat', id: id || null }, el('b', {}, String(value)), label);
}

// ---------- one batch ----------

/// Why the batch's calls are waiting: schedule, calling window, next attempt, retries.
function waitingCard(o, now) {
  if (o.status === 'COMPLETED' || o.status === 'CANCELLED') return null;
  const items = [];
  const start = parseTime(o.not_before);
  if (start && start > now) items.push(`Scheduled: no call before ${fmtTime(o.not_before)} (${relative(o.not_before)}).`);
  if (o.not_after) items.push(`Calls not placed by ${fmtTime(o.not_after)} are given up.`);
  if (o.calling_window) items.push(`Calls are placed ${windowText(o.calling_window)}.`);
  if (o.progress.processing) items.push(`${o.progress.processing} call${o.progress.processing === 1 ? ' is' : 's are'} ringing or talking now.`);
  if (o.next_attempt_at) {
    items.push(`Next call: ${fmtTime(o.next_attempt_at)} (${relative(o.next_attempt_at)}); ${o.progress.queued} waiting.`);
  }
  items.push(`Each number is tried up to ${o.max_attempts} time${o.max_attempts === 1 ? '' : 's'}` +
    (o.backoff_seconds !== null && o.backoff_seconds !== undefined ? `, ${Math.round(o.backoff_seconds / 60)} min apart.` : '; busy and unanswered numbers are retried later.'));
  return el('section', { class: 'card', id: 'waiting', 'aria-labelledby': 'waiting-h' },
    el('h2', { id: 'waiting-h' }, o.status === 'PENDING' ? 'Not started yet' : 'Still calling'), el('ul', {}, items.map(i => el('li', {}, i))));
}

/// Calls that did not get through: how many and why, each linking to its call page.
function failedCard(failed, counts, whoKey, showAll) {
  const total = counts.failed + counts.timeout;
  if (!total) return null;
  const why = c => c.reason ? c.reason.replace(/_/g, ' ') :
    c.outcome ? `${c.outcome.replace(/_/g, ' ').toLowerCase()}${c.sip_code ? ` (SIP ${c.sip_code})` : ''}` : 'failed';
  const all = el('button', { type: 'button', class: 'secondary' }, 'Show only failed calls');
  all.addEventListener('click', showAll);
  return el('section', { class: 'card failed', id: 'failed', 'aria-labelledby': 'failed-h' },
    el('h2', { id: 'failed-h' }, `${total} call${total === 1 ? '' : 's'} did not get through`),
    el('p', {}, `${counts.failed} failed (busy, rejected, wrong number or network), ${counts.timeout} not answered on the last attempt.`),
    failed.length ? el('ul', {}, failed.map(c => el('li', {},
      el('a', { href: `#/call/${c.id}` }, who(c, whoKey) || c.phone_number), ' ', el('span', { class: 'mono' }, c.phone_number),
      ` — ${why(c)} after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}`))) : null,
    counts.failed > failed.length ? el('p', { class: 'muted' }, `and ${counts.failed - failed.length} more.`) : null,
    counts.failed ? el('div', { class: 'actions' }, all) : null);
}

/// Filters of the calls table: one entry per query parameter (add `answered_by` here).
const FILTERS = [
  { param: 'status', label: 'Status', values: ['QUEUED', 'PROCESSING', 'COMPLETED', 'TIMEOUT', 'FAILED', 'CANCELLED'] },
];

const SORTS = [['row', 'Row order'], ['phone_number', 'Phone number'], ['status', 'Status'], ['attempts', 'Attempts'],
  ['duration', 'Duration'], ['updated_at', 'Last change']];

/// Toolbar of the calls table: search, filters, sort, and which variable or tag names the person.
function callsToolbar(state, variables, tags, onChange) {
  const search = el('input', { id: 'calls-search', type: 'search', placeholder: 'phone, name or tag', value: state.q });
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { state.q = search.value.trim(); onChange(); }, 250); });
  const filters = FILTERS.map(f => {
    const s = el('select', { id: `filter-${f.param}` }, el('option', { value: '' }, 'any'), f.values.map(v => el('option', { value: v }, v.toLowerCase())));
    s.addEventListener('change', () => { state.filters[f.param] = s.value; onChange(); });
    return field(f.label, s);
  });
  const whoOptions = [...variables.map(v => [`var:${v}`, v]), ...tags.map(t => [`tag:${t}`, `${t} (tag)`])];
  const whoSelect = el('select', { id: 'calls-who' }, whoOptions.map(([v, l]) => el('option', { value: v, selected: v === state.who }, l)),
    el('option', { value: '', selected: !state.who }, 'nothing'));
  whoSelect.addEventListener('change', () => { state.who = whoSelect.value; onChange(); });
  const sortOptions = [...SORTS, ...variables.map(v => [`variable:${v}`, v])];
  const sort = el('select', { id: 'calls-sort' }, sortOptions.map(([v, l]) => el('option', { value: v }, l)));
  const order = el('select', { id: 'calls-order' }, el('option', { value: 'asc' }, 'ascending'), el('option', { value: 'desc' }, 'descending'));
  sort.addEventListener('change', () => { state.sort = sort.value; onChange(); });
  order.addEventListener('change', () => { state.order = order.value; onChange(); });
  return el('div', { class: 'row toolbar', role: 'search', 'aria-label': 'Find calls' },
    field('Search', search), ...filters, field('Show who by', whoSelect), field('Sort by', sort), field('Order', order));
}

function outcomeText(c) {
  return c.outcome ? `${c.outcome}${c.sip_code ? ` (${c.sip_code})` : ''}` : '—';
}

function callRow(c, options, whoKey) {
  return el('tr', { 'data-call': c.id, 'data-status': c.status },
    td('#', String(c.row + 1), { class: 'num' }),
    td('Who', el('a', { href: `#/call/${c.id}`, class: 'who' }, who(c, whoKey) || 'details')),
    td('Phone', c.phone_number, { class: 'mono' }),
    td('Status', pill(c.status)),
    td('Attempts', String(c.attempts), { class: 'num' }),
    td('SIP outcome', [outcomeText(c), c.reason ? el('span', { class: 'muted' }, ` ${c.reason.replace(/_/g, ' ')}`) : '']),
    td('Answer', c.call_result_options_selected ? meaning(options, c.call_result_options_selected) : '—', { class: 'answer' }),
    td('Duration', `${c.call_result_duration} s`, { class: 'num' }),
    td('Next attempt', c.next_attempt_at ? relative(c.next_attempt_at) : '—'));
}

/// Completion callback: delivery state, attempt log, redeliver.
async function callbackCard(id, box) {
  const d = await get(`/batch/${id}/callback`);
  if (d.state === 'NOT_FINAL') { box.replaceChildren(); box.hidden = true; return; }
  box.hidden = false;
  const redeliver = el('button', { type: 'button', class: 'secondary', id: 'redeliver' }, 'Send the callback again');
  redeliver.addEventListener('click', async () => {
    redeliver.disabled = true;
    try { await post(`/batch/${id}/callback/redeliver`); say('Callback redelivery scheduled.'); await callbackCard(id, box); } catch (e) {
      say(describe(e), true);
    } finally { redeliver.disabled = false; }
  });
  const { table: log, tbody } = table('callback-log', 'Delivery attempts', [['#', 'num'], ['When'], ['URL'], ['Result'], ['HTTP'], ['Time', 'num']]);
  tbody.append(...d.attempt_log.map(a => el('tr', {},
    td('#', String(a.attempt_no), { class: 'num' }), td('When', fmtTime(a.started_at)), td('URL', a.url || '—', { class: 'mono wrap' }),
    td('Result', a.outcome + (a.error ? ` — ${a.error}` : '')), td('HTTP', a.http_status ? String(a.http_status) : '—'),
    td('Time', a.latency_ms !== null && a.latency_ms !== undefined ? `${a.latency_ms} ms` : '—', { class: 'num' }))));
  const states = { PENDING: 'waiting to be sent', DELIVERED: 'delivered', EXHAUSTED: 'gave up after every retry', GONE: 'the receiver answered 410 Gone',
    NO_TARGET: 'no callback URL is set for this batch, its workflow or your account', NONE: 'none (finished before callbacks existed)' };
  box.replaceChildren(...[el('h2', { id: 'callback-h' }, 'Completion callback'),
    el('p', { id: 'callback-state', 'data-state': d.state }, `State: ${states[d.state] || d.state}`,
      d.delivered_at ? ` at ${fmtTime(d.delivered_at)}` : '', d.next_attempt_at ? `; next try ${relative(d.next_attempt_at)}` : ''),
    d.target_url ? el('p', {}, 'Sent to ', el('code', {}, d.target_url)) : null,
    d.attempt_log.length ? scrollTable(log) : el('p', { class: 'muted' }, 'No delivery attempt yet.'),
    el('div', { class: 'actions' }, redeliver)].filter(Boolean));
}

export async function batchView(id) {
  let o;
  try { o = await get(`/batches/${encodeURIComponent(id)}`); } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 422)) return notFound('This batch does not exist or is not yours.', '#/batches', 'Back to your batches');
    throw e;
  }
  const state = { q: '', filters: {}, sort: 'row', order: 'asc', who: o.variables.includes('name') ? 'var:name' : o.variables.length ? `var:${o.variables[0]}` : '' };
  const head = el('div', { class: 'batch-head' });
  const waiting = el('div');
  const statsBox = el('div', { class: 'stats', id: 'stats' });
  const failedBox = el('div');
  const charts = el('div', { class: 'charts' });
  const callback = el('section', { class: 'card', id: 'callback', 'aria-labelledby': 'callback-h', hidden: true });
  const csv = el('button', { type: 'button', class: 'secondary' }, 'Export CSV');
  const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel queued calls');
  csv.addEventListener('click', async () => {
    try { download(await get(`/batch/${id}/calls.csv`), `batch-${id}.csv`); } catch (e) { say(describe(e), true); }
  });
  cancel.addEventListener('click', async () => {
    if (!confirm('Cancel every call of this batch not yet dialed?')) return;
    try { const r = await post(`/batch/${id}/cancel`); say(`${r.cancelled_calls} calls cancelled.`); await render(); } catch (e) { say(describe(e), true); }
  });
  const { table: callsTable, tbody } = table('calls', null, [['#', 'num'], ['Who'], ['Phone'], ['Status'], ['Attempts', 'num'],
    ['SIP outcome'], ['Answer'], ['Duration', 'num'], ['Next attempt']]);
  const caption = el('caption', {});
  callsTable.prepend(caption);
  const PAGE = 100;
  let shown = PAGE;
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more calls');
  more.addEventListener('click', async () => { shown += PAGE; await render(); });
  const tags = [];
  const toolbar = callsToolbar(state, o.variables, tags, () => { shown = PAGE; render(); });
  show(o.name || 'Batch', head, waiting, el('div', { class: 'actions' }, csv, cancel), statsBox, failedBox, charts,
    el('section', { 'aria-labelledby': 'calls-h' }, el('h2', { id: 'calls-h' }, 'Calls'), toolbar, scrollTable(callsTable), more), callback);
  let totalCalls = 0;
  const render = async () => {
    const [ov, report] = await Promise.all([get(`/batches/${id}`), get(`/batch/${id}`)]);
    o = ov;
    totalCalls = report.stats.total_calls;
    const params = new URLSearchParams({ limit: String(Math.min(shown, 1000)), sort: state.sort, order: state.order });
    if (state.q) params.set('q', state.q);
    for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
    const page = await get(`/batch/${id}/calls?${params}`);
    more.hidden = !page.next_cursor;
    const final = o.status === 'COMPLETED' || o.status === 'CANCELLED';
    head.replaceChildren(el('p', {}, pill(o.status, 'batch-status'), ' ',
      o.name ? `${o.workflow_name || ''} · ` : '', `${o.tts_voice_accent} ${o.tts_voice_gender} voice`, o.native_voice ? '' : ' (stand-in)',
      ` · created ${fmtTime(o.created_at)} · `, el('code', {}, id), ' ', final ? '' : liveNote('— updating live')));
    waiting.replaceChildren(waitingCard(o, new Date()) || '');
    cancel.hidden = final;
    const s = report.stats;
    const failed = report.request_calls.filter(c => c.status === 'FAILED').length;
    statsBox.replaceChildren(
      statCard('calls', s.total_calls), statCard('completed', s.completed_calls), statCard('not answered', s.timeout_calls),
      statCard('failed', failed, 'stat-failed'), statCard('replied', s.replied_calls), statCard('success rate', `${s.success_rate}%`),
      statCard('average duration', `${s.avg_duration} s`));
    const byStatus = {};
    for (const c of report.request_calls) byStatus[c.status] = (byStatus[c.status] || 0) + 1;
    const outcomes = Object.keys(COLORS).filter(k => byStatus[k]).map(k => ({ label: k, value: byStatus[k], color: COLORS[k] }));
    const answers = Object.entries(s.response_options_counts || {}).map(([k, v]) => ({ label: `${k}: ${meaning(o.options, k)}`, value: v }));
    charts.replaceChildren(barChart('Outcomes', outcomes), barChart('Answers', answers, '#0b5cad'),
      barChart('Durations (answered calls)', durationBuckets(report.request_calls), '#57606a'));
    for (const c of page.calls) for (const k of Object.keys(c.user_tag_identifiers || {})) {
      if (!tags.includes(k) && tags.length < 20) {
        tags.push(k);
        document.getElementById('calls-who').append(el('option', { value: `tag:${k}`, selected: state.who === `tag:${k}` }, `${k} (tag)`));
      }
    }
    const failedRows = failed ? (await get(`/batch/${id}/calls?status=FAILED&limit=10`)).calls : [];
    failedBox.replaceChildren(failedCard(failedRows, { failed, timeout: s.timeout_calls }, state.who, () => {
      state.filters.status = 'FAILED';
      document.getElementById('filter-status').value = 'FAILED';
      shown = PAGE;
      render();
    }) || '');
    caption.replaceChildren(`${page.calls.length} call${page.calls.length === 1 ? '' : 's'} shown`,
      state.q || Object.values(state.filters).some(Boolean) ? ' (filtered)' : '');
    tbody.replaceChildren(...page.calls.map(c => callRow(c, o.options, state.who)));
    if (!page.calls.length) tbody.append(el('tr', {}, el('td', { colspan: 9 }, 'No call matches.')));
    await callbackCard(id, callback);
    return !final;
  };
  await render();
  // Big batches are polled less often: the report grows with every call.
  poll(render, () => POLL_MS + Math.min(totalCalls, 20000));
}
