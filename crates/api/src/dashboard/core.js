// Shared pieces of the dashboard: DOM helpers, the API client (Bearer key from sessionStorage),
// the offline banner, polling, formatting. No framework, no build step.
'use strict';

export const KEY = 'voicebot.apiKey';
export const API = '/voicebot/v1';
export const POLL_MS = 1500;

// ---------- DOM ----------

export function el(tag, attrs, ...children) {
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
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/// A labelled form field: <div><label for=id>label</label>control hint</div>.
export function field(label, control, hint) {
  const hintEl = hint ? el('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return el('div', { class: 'field' }, el('label', { for: control.id }, label), control, hintEl);
}

/// A table in a wrapper that scrolls sideways on its own (never the page).
export function scrollTable(table) { return el('div', { class: 'table-wrap' }, table); }

/// <table> with a caption, header row and tbody; `cols` are [label, className?].
export function table(id, caption, cols) {
  const tbody = el('tbody');
  const t = el('table', { id, class: 'stack' }, caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, cols.map(([label, cls]) => el('th', { scope: 'col', class: cls || null }, label)))), tbody);
  return { table: t, tbody };
}

/// A table cell labelled for the stacked (phone) layout; `content` may be an array of children.
export function td(label, content, attrs) { return el('td', { 'data-label': label, ...(attrs || {}) }, content); }

export function say(message, isError) {
  const s = document.getElementById('status');
  s.textContent = message || '';
  s.classList.toggle('error', !!isError);
}

// ---------- API ----------

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || [];
  }
  describe() {
    const fields = this.errors.map(e => `${e.field}: ${e.message}`).join('; ');
    return fields ? `${this.message} — ${fields}` : this.message;
  }
}

/// The server could not be reached (network down, server stopped).
export class OfflineError extends Error {
  describe() { return this.message; }
}

/// A message for people, never a raw "TypeError: Failed to fetch".
export function describe(e) {
  if (e && typeof e.describe === 'function') return e.describe();
  return `Something went wrong in this page: ${e && e.message ? e.message : e}`;
}

let onLoggedOut = () => {};
export function setLogoutHandler(fn) { onLoggedOut = fn; }

let lastGood = null;
/// Shows or hides the banner saying the data on screen is no longer live.
function setOffline(offline) {
  document.body.toggleAttribute('data-offline', offline);
  const banner = document.getElementById('offline');
  if (offline) {
    const since = lastGood ? ` Showing what was loaded at ${lastGood.toLocaleTimeString()}.` : '';
    banner.replaceChildren(el('strong', {}, 'Cannot reach the voicebot server.'), since,
      ' This page retries on its own; nothing you see is updating until it is back.');
    banner.hidden = false;
  } else if (!banner.hidden) {
    banner.hidden = true;
    say('Connection to the server is back.');
  }
  for (const note of document.querySelectorAll('[data-live]')) {
    note.textContent = offline ? `not updating (server unreachable since ${(lastGood || new Date()).toLocaleTimeString()})` : note.dataset.live;
    note.classList.toggle('stale', offline);
  }
}

/// A "(updates live)" note that turns into a stale warning while the server is unreachable.
export function liveNote(text) {
  const note = el('span', { class: 'muted', 'data-live': text }, text);
  if (document.body.hasAttribute('data-offline')) setOffline(true);
  return note;
}

export async function request(method, path, body, raw) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` };
  if (body !== undefined && !raw) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  } catch {
    setOffline(true);
    throw new OfflineError('Cannot reach the voicebot server. Check your connection; the page retries on its own.');
  }
  lastGood = new Date();
  if (document.body.hasAttribute('data-offline')) setOffline(false);
  if (resp.status === 401) {
    onLoggedOut('Your API key was not accepted. Please log in again.');
    throw new ApiError(401, { message: 'not logged in' });
  }
  const ctype = resp.headers.get('Content-Type') || '';
  if (!resp.ok) throw new ApiError(resp.status, ctype.includes('json') ? await resp.json() : null);
  return ctype.includes('json') ? (await resp.json()).data : resp.blob();
}
export const get = path => request('GET', API + path);
export const post = (path, body) => request('POST', API + path, body);
export const put = (path, body) => request('PUT', API + path, body);
export const patch = (path, body) => request('PATCH', API + path, body);
export const del = path => request('DELETE', API + path);
export const upload = (path, bytes) => request('POST', API + path, bytes, true);

// ---------- blobs ----------

let blobUrls = [];
export function blobUrl(blob) {
  const url = URL.createObjectURL(blob);
  blobUrls.push(url);
  return url;
}
export function releaseBlobs() {
  for (const u of blobUrls) URL.revokeObjectURL(u);
  blobUrls = [];
}

/// An <audio> player for a WAV blob.
export function player(blob, label) {
  return el('audio', { controls: true, preload: 'auto', src: blobUrl(blob), 'aria-label': label });
}

export function download(blob, name) {
  const a = el('a', { href: blobUrl(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------- formatting ----------

/// A stored UTC time (`2024-06-21T10:00:00.000000`) as a Date.
export function parseTime(s) {
  if (!s) return null;
  const d = new Date(/Z$|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return isNaN(d) ? null : d;
}

export function fmtTime(s) {
  const d = parseTime(s);
  return d ? d.toLocaleString() : s || '';
}

/// "in 5 min" / "3 h ago" for a time near now.
export function relative(s) {
  const d = parseTime(s);
  if (!d) return '';
  const secs = Math.round((d - Date.now()) / 1000);
  const abs = Math.abs(secs);
  const span = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} days`;
  return secs >= 0 ? `in ${span}` : `${span} ago`;
}

export function pill(status, id) {
  return el('span', { class: `pill ${status}`, id: id || null, 'data-status': status }, status.replace('_', ' '));
}

/// What a digit means: the option's label, shortened from "Press 1 to confirm" to "confirm".
export function meaning(options, digit) {
  if (digit === null || digit === undefined || digit === '') return '';
  const text = (options || {})[digit];
  if (!text) return `pressed ${digit}`;
  return text.replace(/^\s*press\s+\S+\s+(to|for|if)\s+/i, '').replace(/[.\s]+$/, '') || text;
}

/// The person a call is for: a variable (`name`) or a tag chosen by the user.
export function who(call, key) {
  if (!key) return '';
  const [kind, name] = key.split(':');
  const source = kind === 'tag' ? call.user_tag_identifiers : call.workflow_variables;
  const v = source && typeof source === 'object' ? source[name] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

/// The calling window in words: "between 08:00 and 20:00 in each person's local time".
export function windowText(w) {
  if (!w) return '';
  return w.start === w.end ? 'at any time of day (no calling window is set)'
    : `only between ${w.start} and ${w.end} in each person's local time`;
}

// ---------- polling ----------

let pollTimer = null;
export function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

/// Calls `fn` every `every()` ms until it returns false (or the view changes). While the server
/// is unreachable it keeps trying; the banner says the data is stale.
export function poll(fn, every) {
  stopPolling();
  const wait = () => (every ? every() : POLL_MS);
  const tick = async () => {
    try {
      if (await fn() === false) return;
    } catch (e) {
      if (!(e instanceof OfflineError)) say(describe(e), true);
    }
    pollTimer = setTimeout(tick, wait());
  };
  pollTimer = setTimeout(tick, wait());
}

// ---------- voices ----------

/// An accent's option label: "yoruba", or "hausa (stand-in voice)".
export function accentLabel(v) { return v.accent + (v.native ? '' : ' (stand-in voice)'); }

export function accentSelect(id, voices, selected, label) {
  return el('select', { id, 'aria-label': label || null }, voices.voices.map(v =>
    el('option', { value: v.accent, selected: v.accent === (selected || voices.default_accent) }, accentLabel(v))));
}

export function genderSelect(id, voices, selected, label) {
  return el('select', { id, 'aria-label': label || null }, ['female', 'male'].map(g =>
    el('option', { value: g, selected: g === (selected || voices.default_gender) }, g)));
}
