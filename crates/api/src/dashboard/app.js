// voicebot dashboard: a small hash-routed page over the JSON API. No framework, no build step.
// The API key lives in sessionStorage and goes out as a Bearer token; audio and CSV are fetched
// with that header and handed to the browser as blobs, so no URL ever carries the key.
'use strict';

import { KEY, el, get, say, describe, stopPolling, releaseBlobs, setLogoutHandler, ApiError } from './core.js';
import { show, view, notFound } from './view.js';
import { batchesView, batchView } from './batches.js';
import { callView } from './call.js';
import { newBatchView } from './newbatch.js';
import { workflowsView } from './workflows.js';
import { editorView } from './editor.js';
import { dncView, settingsView } from './lists.js';

/// `#/<page>/<arg>` → view. The nav entry each page belongs to is its `nav` value.
const ROUTES = {
  batches: { nav: 'batches', view: () => batchesView() },
  batch: { nav: 'batches', view: arg => batchView(arg) },
  call: { nav: 'batches', view: arg => callView(arg) },
  new: { nav: 'new', view: () => newBatchView() },
  workflows: { nav: 'workflows', view: () => workflowsView() },
  workflow: { nav: 'workflows', view: arg => editorView(arg || 'new') },
  dnc: { nav: 'dnc', view: () => dncView() },
  settings: { nav: 'settings', view: () => settingsView() },
};

function logout(message) {
  sessionStorage.removeItem(KEY);
  stopPolling();
  route();
  if (message) document.getElementById('login-error').textContent = message;
}

function setMenu(open) {
  document.getElementById('menu-toggle').setAttribute('aria-expanded', String(open));
  document.getElementById('nav').classList.toggle('open', open);
}

async function route() {
  stopPolling();
  releaseBlobs();
  say('');
  setMenu(false);
  const loggedIn = !!sessionStorage.getItem(KEY);
  document.getElementById('login-view').hidden = loggedIn;
  document.getElementById('session').hidden = !loggedIn;
  view().hidden = !loggedIn;
  if (!loggedIn) {
    document.title = 'Log in · voicebot';
    document.getElementById('api-key').focus();
    return;
  }
  const [, page = 'batches', arg] = (location.hash || '#/batches').split('/');
  const r = ROUTES[page || 'batches'];
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (r && a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  try {
    if (!r) notFound('There is no such page.', '#/batches', 'Back to your batches');
    else await r.view(arg && decodeURIComponent(arg));
    const h1 = view().querySelector('h1');
    if (h1) h1.focus();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    show('Could not load this page', el('p', { class: 'error', id: 'page-error' }, describe(e)),
      el('p', {}, el('button', { type: 'button', onclick: () => route() }, 'Try again'), ' ', el('a', { href: '#/batches' }, 'Back to your batches')));
  }
}

document.addEventListener('DOMContentLoaded', () => {
  setLogoutHandler(logout);
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
      err.textContent = e.status === 401 ? 'That API key was not accepted.' : describe(e);
    }
  });
  document.getElementById('logout').addEventListener('click', () => logout());
  const toggle = document.getElementById('menu-toggle');
  toggle.addEventListener('click', () => setMenu(toggle.getAttribute('aria-expanded') !== 'true'));
  window.addEventListener('hashchange', route);
  route();
});
