// voicebot dashboard: a small hash-routed page over the JSON API. No framework, no build step.
// The API key lives in sessionStorage and goes out as a Bearer token; audio and CSV are fetched
// with that header and handed to the browser as blobs, so no URL ever carries the key.
'use strict';

const KEY = 'voicebot.apiKey';
const API = '/voicebot/v1';
const POLL_MS = 1500;
let pollTimer = null;
let blobUrls = [];

// ---------- helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function say(message, isError) {
  const s = document.getElementById('status');
  s.textContent = message || '';
  s.classList.toggle('error', !!isError);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || [];
  }
  describe() {
    const fields = this.errors.slice(0, 8).map(e => `${e.field}: ${e.message}`).join('; ');
    return fields ? `${this.message} — ${fields}` : this.message;
  }
}

async function request(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401) {
    logout('Your API key was not accepted. Please log in again.');
    throw new ApiError(401, { message: 'not logged in' });
  }
  const ctype = resp.headers.get('Content-Type') || '';
  if (!resp.ok) throw new ApiError(resp.status, ctype.includes('json') ? await resp.json() : null);
  return ctype.includes('json') ? (await resp.json()).data : resp.blob();
}
const get = path => request('GET', API + path);
const post = (path, body) => request('POST', API + path, body);

function blobUrl(blob) {
  const url = URL.createObjectURL(blob);
  blobUrls.push(url);
  return url;
}

/// An <audio> player for a WAV fetched with the key.
async function audioPlayer(path, label) {
  const blob = await get(path);
  return el('audio', { controls: true, preload: 'auto', src: blobUrl(blob), 'aria-label': label });
}

function download(blob, name) {
  const a = el('a', { href: blobUrl(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s.endsWith('Z') || s.includes('+') ? s : s + 'Z');
  return isNaN(d) ? s : d.toLocaleString();
}

function pill(status) { return el('span', { class: `pill ${status}` }, status.replace('_', ' ')); }

/// Segmented progress bar from a list batch's progress counts.
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

// ---------- charts (SVG, each with a text alternative) ----------

const COLORS = { COMPLETED: '#1a7f37', TIMEOUT: '#9a6700', FAILED: '#cf222e', CANCELLED: '#424a53',
  PROCESSING: '#8250df', QUEUED: '#6e7781' };

function barChart(title, rows, color) {
  const max = Math.max(1, ...rows.map(r => r.value));
  const rowH = 26, labelW = 120, w = 420, h = Math.max(1, rows.length) * rowH + 8;
  const chart = svg('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': `${title}: ` +
    (rows.length ? rows.map(r => `${r.label} ${r.value}`).join(', ') : 'no data') });
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const bw = ((w - labelW - 50) * r.value) / max;
    chart.append(
      svg('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end' }, r.label),
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

// ---------- views ----------

const view = () => document.getElementById('view');

function show(title, ...content) {
  const v = view();
  v.replaceChildren(el('h1', { tabindex: '-1' }, title), ...content);
  v.hidden = false;
  document.title = `${title} · voicebot`;
}

function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

/// Calls `fn` every `every()` ms until it returns false (or the view changes).
function poll(fn, every) {
  stopPolling();
  const wait = () => (every ? every() : POLL_MS);
  const tick = async () => {
    try {
      if (await fn() === false) return;
    } catch (e) {
      say(e instanceof ApiError ? e.describe() : String(e), true);
    }
    pollTimer = setTimeout(tick, wait());
  };
  pollTimer = setTimeout(tick, wait());
}

async function batchesView() {
  const tbody = el('tbody');
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Older batches');
  const table = el('table', { id: 'batches' },
    el('caption', {}, 'Your batches, newest first (updates live)'),
    el('thead', {}, el('tr', {}, ['Created', 'Workflow', 'Voice', 'Status', 'Progress', 'Done', 'Calls']
      .map(h => el('th', { scope: 'col', class: h === 'Done' || h === 'Calls' ? 'num' : null }, h)))),
    tbody);
  show('Batches', el('div', { class: 'actions' }, el('a', { href: '#/new' }, 'New batch'), legend()), table, more);
  let pages = 1;
  let cursor = null;
  const render = async () => {
    // Re-read every page shown so far: progress of older rows moves too.
    let rows = [];
    let next = null;
    for (let i = 0; i < pages; i++) {
      const q = next ? `?limit=20&cursor=${encodeURIComponent(next)}` : '?limit=20';
      const page = await get('/batches' + q);
      rows = rows.concat(page.batches);
      next = page.next_cursor;
      if (!next) break;
    }
    cursor = next;
    tbody.replaceChildren(...rows.map(b => el('tr', { 'data-batch': b.batch_id },
      el('td', {}, el('a', { href: `#/batch/${b.batch_id}` }, fmtTime(b.created_at))),
      el('td', {}, b.workflow_name || b.workflow_id),
      el('td', {}, `${b.tts_voice_accent} / ${b.tts_voice_gender}`),
      el('td', {}, pill(b.status)),
      el('td', {}, progressBar(b.progress, b.total_calls)),
      el('td', { class: 'num', 'data-finished': b.progress.finished }, String(b.progress.finished)),
      el('td', { class: 'num' }, String(b.total_calls)))));
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: 7 }, 'No batches yet. ', el('a', { href: '#/new' }, 'Send one.'))));
    more.hidden = !cursor;
  };
  more.addEventListener('click', async () => { pages++; await render(); });
  await render();
  poll(render);
}

function statCard(label, value) { return el('div', { class: 'stat' }, el('b', {}, String(value)), label); }

async function batchView(id) {
  const head = el('div');
  const statsBox = el('div', { class: 'stats', id: 'stats' });
  const charts = el('div', { class: 'charts' });
  const tbody = el('tbody');
  const csv = el('button', { type: 'button', class: 'secondary' }, 'Export CSV');
  const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel queued calls');
  csv.addEventListener('click', async () => {
    try { download(await get(`/batch/${id}/calls.csv`), `batch-${id}.csv`); } catch (e) { say(e.describe ? e.describe() : e, true); }
  });
  cancel.addEventListener('click', async () => {
    if (!confirm('Cancel every call of this batch not yet dialed?')) return;
    try { const r = await post(`/batch/${id}/cancel`); say(`${r.cancelled_calls} calls cancelled.`); await render(); } catch (e) { say(e.describe(), true); }
  });
  const table = el('table', { id: 'calls' },
    el('caption', {}, 'Calls, in request order'),
    el('thead', {}, el('tr', {}, ['#', 'Phone', 'Status', 'Attempts', 'SIP outcome', 'Option', 'Duration', 'Prompt audio']
      .map(h => el('th', { scope: 'col', class: ['Attempts', 'Duration', '#'].includes(h) ? 'num' : null }, h)))),
    tbody);
  show('Batch', head, el('div', { class: 'actions' }, csv, cancel), statsBox, charts, table);
  const players = new Map(); // call id -> audio cell, kept across refreshes
  const PAGE = 100;
  let shown = PAGE; // rows in the table; "Show more calls" adds a page
  let totalCalls = 0;
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more calls');
  more.addEventListener('click', async () => { shown += PAGE; await render(); });
  view().append(more);
  const render = async () => {
    // The report carries every call's status and duration (charts); the table reads only the
    // rows it shows, with attempts and SIP outcome, from the paged calls route.
    const report = await get(`/batch/${id}`);
    totalCalls = report.stats.total_calls;
    let calls = [];
    let cursor = null;
    do {
      const limit = Math.min(1000, shown - calls.length);
      const page = await get(`/batch/${id}/calls?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      calls = calls.concat(page.calls);
      cursor = page.next_cursor;
    } while (cursor && calls.length < shown);
    more.hidden = !cursor;
    const s = report.stats;
    const final = report.status === 'COMPLETED' || report.status === 'CANCELLED';
    const badge = pill(report.status);
    badge.id = 'batch-status';
    badge.dataset.status = report.status;
    head.replaceChildren(el('p', {}, 'Batch ', el('code', {}, id), ' ', badge,
      final ? '' : el('span', { class: 'muted' }, ' — updating live')));
    cancel.hidden = final;
    statsBox.replaceChildren(
      statCard('calls', s.total_calls), statCard('completed', s.completed_calls), statCard('timeout', s.timeout_calls),
      statCard('replied', s.replied_calls), statCard('success rate', `${s.success_rate}%`),
      statCard('average duration', `${s.avg_duration} s`));
    const byStatus = {};
    for (const c of report.request_calls) byStatus[c.status] = (byStatus[c.status] || 0) + 1;
    const outcomes = Object.keys(COLORS).filter(k => byStatus[k]).map(k => ({ label: k, value: byStatus[k], color: COLORS[k] }));
    const options = Object.entries(s.response_options_counts || {}).map(([k, v]) => ({ label: `option ${k}`, value: v }));
    charts.replaceChildren(barChart('Outcomes', outcomes), barChart('Options pressed', options, '#0b5cad'),
      barChart('Durations (answered calls)', durationBuckets(report.request_calls), '#57606a'));
    tbody.replaceChildren(...calls.map((c, i) => {
      let cell = players.get(c.id);
      if (!cell) {
        cell = el('td');
        const btn = el('button', { type: 'button', class: 'secondary play', 'aria-label': `Load the prompt of call to ${c.phone_number}` }, 'Load audio');
        btn.addEventListener('click', async () => {
          btn.disabled = true;
          try { cell.replaceChildren(await audioPlayer(`/call/${c.id}/audio`, `Prompt heard by ${c.phone_number}`)); } catch (e) {
            btn.disabled = false; say(e.describe ? e.describe() : String(e), true);
          }
        });
        cell.append(btn);
        players.set(c.id, cell);
      }
      return el('tr', { 'data-call': c.id, 'data-status': c.status },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', { class: 'mono' }, c.phone_number),
        el('td', {}, pill(c.status)),
        el('td', { class: 'num' }, String(c.attempts)),
        el('td', {}, c.outcome ? `${c.outcome}${c.sip_code ? ` (${c.sip_code})` : ''}` : '—', c.reason ? el('span', { class: 'muted' }, ` ${c.reason}`) : ''),
        el('td', {}, c.call_result_options_selected || '—'),
        el('td', { class: 'num' }, `${c.call_result_duration} s`),
        cell);
    }));
    return !final;
  };
  await render();
  // Big batches are polled less often: the report grows with every call.
  poll(render, () => POLL_MS + Math.min(totalCalls, 20000));
}

/// Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some(f => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += ch;
  }
  row.push(field);
  if (row.some(f => f.trim() !== '')) rows.push(row);
  return rows.map(r => r.map(f => f.trim()));
}

/// CSV with a header row → recipients: `phone_number`, workflow variables by name, other columns as tags.
function recipientsFromCsv(text, variables) {
  const rows = parseCsv(text);
  if (rows.length < 2) throw new Error('Paste a header row and at least one recipient.');
  const header = rows[0].map(h => h.replace(/^\uFEFF/, ''));
  const phoneCol = header.findIndex(h => h.toLowerCase() === 'phone_number' || h.toLowerCase() === 'phone');
  if (phoneCol < 0) throw new Error('The header needs a phone_number column.');
  return rows.slice(1).map(r => {
    const rec = { phone_number: r[phoneCol] || '', user_tag_identifiers: {}, workflow_variables: {} };
    header.forEach((h, i) => {
      if (i === phoneCol || !h) return;
      if (variables.includes(h)) rec.workflow_variables[h] = r[i] || '';
      else rec.user_tag_identifiers[h] = r[i] || '';
    });
    return rec;
  });
}

async function newBatchView() {
  const [{ workflows }, voices] = await Promise.all([get('/workflows'), get('/voices')]);
  const wfSelect = el('select', { id: 'workflow', required: true },
    workflows.map(w => el('option', { value: w.workflow_id }, `${w.name} (${w.workflow_id.slice(0, 8)})`)));
  const accent = el('select', { id: 'accent' }, voices.voices.map(v =>
    el('option', { value: v.accent, selected: v.accent === voices.default_accent }, v.accent + (v.native ? '' : ' (stand-in voice)'))));
  const gender = el('select', { id: 'gender' }, ['female', 'male'].map(g => el('option', { value: g, selected: g === voices.default_gender }, g)));
  const csv = el('textarea', { id: 'recipients', 'aria-describedby': 'csv-help', spellcheck: 'false' });
  const help = el('p', { id: 'csv-help', class: 'muted' });
  const summary = el('p', { role: 'status' });
  const errors = el('div', { role: 'alert', class: 'error' });
  const submit = el('button', { type: 'submit' }, 'Send batch');
  const chosen = () => workflows.find(w => w.workflow_id === wfSelect.value);
  const template = () => {
    const wf = chosen();
    const vars = wf ? wf.variables : [];
    help.textContent = `One recipient per line after a header row. Columns: phone_number (E.164), ` +
      (vars.length ? `the workflow's variables (${vars.join(', ')}), ` : '') + 'and any others become user tags.';
    if (!csv.value.trim() || csv.dataset.template === 'yes') {
      csv.value = ['phone_number', ...vars, 'customer_id'].join(',') + '\n';
      csv.dataset.template = 'yes';
    }
  };
  const count = () => {
    csv.dataset.template = 'no';
    try { summary.textContent = `${recipientsFromCsv(csv.value, chosen() ? chosen().variables : []).length} recipients`; } catch (e) { summary.textContent = e.message; }
  };
  wfSelect.addEventListener('change', template);
  csv.addEventListener('input', count);
  const form = el('form', { id: 'new-batch', class: 'card' },
    el('div', { class: 'row' },
      el('div', {}, el('label', { for: 'workflow' }, 'Workflow'), wfSelect),
      el('div', {}, el('label', { for: 'accent' }, 'Accent'), accent),
      el('div', {}, el('label', { for: 'gender' }, 'Gender'), gender)),
    el('label', { for: 'recipients' }, 'Recipients (CSV)'), help, csv, summary, errors, submit);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    errors.textContent = '';
    let rows;
    try { rows = recipientsFromCsv(csv.value, chosen() ? chosen().variables : []); } catch (e) { errors.textContent = e.message; return; }
    submit.disabled = true;
    try {
      const r = await post('/call', { workflow_id: wfSelect.value, tts_voice_accent: accent.value,
        tts_voice_gender: gender.value, workflow_params: rows });
      say(`Batch ${r.batch_id} created with ${rows.length} calls.`);
      location.hash = `#/batch/${r.batch_id}`;
    } catch (e) {
      errors.textContent = e.describe ? e.describe() : String(e);
    } finally {
      submit.disabled = false;
    }
  });
  if (!workflows.length) {
    show('New batch', el('p', {}, 'You have no workflows yet. Create one with ', el('code', {}, 'PUT /voicebot/v1/workflows/{id}'),
      ' (see ', el('a', { href: '/docs' }, 'API docs'), ').'));
    return;
  }
  show('New batch', form);
  template();
}

/// A workflow's first prompt as written (with its [variables]).
function firstPrompt(wf) {
  const step = (wf.steps || []).find(s => s.say || s.gather);
  return wf.message || (step && (step.say || step.gather.prompt)) || `This is ${wf.name}.`;
}

/// The text a workflow's preview speaks: its first prompt, variables read as their names.
function previewText(wf) {
  return firstPrompt(wf).replace(/\[(\w+)\]|\{\{\s*(\w+)\s*\}\}/g, (_, a, b) => a || b).slice(0, 300);
}

async function workflowsView() {
  const [{ workflows }, voices] = await Promise.all([get('/workflows'), get('/voices')]);
  const cards = workflows.map(wf => {
    const accent = el('select', { 'aria-label': `Accent for ${wf.name}` },
      voices.voices.map(v => el('option', { value: v.accent, selected: v.accent === voices.default_accent }, v.accent)));
    const gender = el('select', { 'aria-label': `Gender for ${wf.name}` },
      ['female', 'male'].map(g => el('option', { value: g, selected: g === voices.default_gender }, g)));
    const out = el('span');
    const btn = el('button', { type: 'button', class: 'secondary' }, 'Preview audio');
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const q = new URLSearchParams({ accent: accent.value, gender: gender.value, text: previewText(wf) });
        const player = await audioPlayer(`/voices/preview?${q}`, `Preview of ${wf.name} in ${accent.value} ${gender.value}`);
        out.replaceChildren(player);
        player.play().catch(() => {});
      } catch (e) { say(e.describe ? e.describe() : String(e), true); } finally { btn.disabled = false; }
    });
    return el('article', { class: 'card', 'data-workflow': wf.workflow_id },
      el('h2', {}, wf.name, ' ', el('span', { class: `pill ${wf.status === 'ACTIVE' ? 'COMPLETED' : 'CANCELLED'}` }, wf.status)),
      el('p', { class: 'muted' }, el('code', {}, wf.workflow_id), ` · updated ${fmtTime(wf.updated_at)}`),
      el('p', {}, firstPrompt(wf)),
      wf.variables.length ? el('p', {}, 'Variables: ', wf.variables.map(v => el('code', {}, v, ' '))) : '',
      el('div', { class: 'actions' }, accent, gender, btn, out));
  });
  show('Workflows', ...(cards.length ? cards : [el('p', {}, 'No workflows yet.')]));
}

// ---------- routing ----------

function logout(message) {
  sessionStorage.removeItem(KEY);
  stopPolling();
  route();
  if (message) document.getElementById('login-error').textContent = message;
}

async function route() {
  stopPolling();
  for (const u of blobUrls) URL.revokeObjectURL(u);
  blobUrls = [];
  say('');
  const loggedIn = !!sessionStorage.getItem(KEY);
  document.getElementById('login-view').hidden = loggedIn;
  document.getElementById('nav').hidden = !loggedIn;
  view().hidden = !loggedIn;
  if (!loggedIn) {
    document.title = 'Log in · voicebot';
    document.getElementById('api-key').focus();
    return;
  }
  const hash = location.hash || '#/batches';
  const [, page, arg] = hash.split('/');
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  try {
    if (page === 'batch' && arg) await batchView(decodeURIComponent(arg));
    else if (page === 'new') await newBatchView();
    else if (page === 'workflows') await workflowsView();
    else await batchesView();
    const h1 = view().querySelector('h1');
    if (h1) h1.focus();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) show('Something went wrong', el('p', { class: 'error' }, e.describe ? e.describe() : String(e)));
  }
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('login-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const input = document.getElementById('api-key');
    const err = document.getElementById('login-error');
    err.textContent = '';
    sessionStorage.setItem(KEY, input.value.trim());
    try {
      await get('/voices');
      input.value = '';
      route();
    } catch (e) {
      sessionStorage.removeItem(KEY);
      err.textContent = e.status === 401 ? 'That API key was not accepted.' : (e.describe ? e.describe() : String(e));
    }
  });
  document.getElementById('logout').addEventListener('click', () => logout());
  window.addEventListener('hashchange', route);
  route();
});
