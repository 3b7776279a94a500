// The do-not-call list (numbers intake refuses and the dialer skips) and the account settings
// (default country for local numbers).
'use strict';

import { el, field, table, td, scrollTable, get, post, del, patch, say, describe, fmtTime } from './core.js';
import { show } from './view.js';

const SOURCES = { opt_out: 'pressed the opt-out key', api: 'added by your team' };

export async function dncView() {
  const { table: t, tbody } = table('dnc', null, [['Number'], ['Why'], ['Added'], ['']]);
  const phone = el('input', { id: 'dnc-phone', inputmode: 'tel', autocomplete: 'off', required: true });
  const errors = el('p', { class: 'error', role: 'alert', id: 'dnc-error' });
  const form = el('form', { id: 'dnc-form', class: 'card row' }, field('Add a number', phone, 'International (+234…) or, with a default country set, local.'),
    el('div', {}, el('button', { type: 'submit' }, 'Add to the list')), errors);
  const render = async () => {
    const { numbers } = await get('/dnc');
    tbody.replaceChildren(...numbers.map(n => {
      const rm = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${n.phone_number} from the list` }, 'Remove');
      rm.addEventListener('click', async () => {
        if (!confirm(`Allow calls to ${n.phone_number} again?`)) return;
        try { await del(`/dnc/${encodeURIComponent(n.phone_number)}`); say(`${n.phone_number} removed.`); await render(); } catch (e) { say(describe(e), true); }
      });
      return el('tr', { 'data-phone': n.phone_number }, td('Number', n.phone_number, { class: 'mono' }), td('Why', SOURCES[n.source] || n.source),
        td('Added', fmtTime(n.created_at)), td('', rm));
    }));
    if (!numbers.length) tbody.append(el('tr', {}, el('td', { colspan: 4 }, 'Nobody is on the list.')));
  };
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    errors.textContent = '';
    try {
      const r = await post('/dnc', { phone_number: phone.value });
      say(`${r.phone_number} will not be called.`);
      phone.value = '';
      await render();
    } catch (e) { errors.textContent = describe(e); }
  });
  show('Do-not-call list',
    el('p', {}, 'Numbers here are never called: a batch listing one is refused with the line to remove, and a queued call to one is skipped. People who press the opt-out key are added automatically.'),
    form, scrollTable(t));
  await render();
}

export async function settingsView() {
  const s = await get('/settings');
  const country = el('input', { id: 'default-country', value: s.default_country || '', maxlength: '2', autocomplete: 'off', placeholder: 'NG', class: 'short' });
  const result = el('p', { role: 'status', id: 'settings-result' });
  const form = el('form', { id: 'settings-form', class: 'card' },
    el('p', {}, 'Account: ', el('strong', {}, s.name), ' ', el('code', {}, s.integrator_id)),
    field('Default country for local numbers', country,
      'Two letters (NG Nigeria, GH Ghana, KE Kenya…). With NG, 0803 123 4567 in a file is called as +234 803 123 4567. Empty: only international numbers.'),
    el('button', { type: 'submit' }, 'Save'), result);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      const r = await patch('/settings', { default_country: country.value.trim() || null });
      country.value = r.default_country || '';
      result.textContent = r.default_country ? `Local numbers are now read as ${r.default_country} numbers.` : 'Only international numbers are accepted now.';
    } catch (e) { result.textContent = describe(e); }
  });
  show('Settings', form);
}
