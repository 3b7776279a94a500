// The page area: one view at a time, titled, focus moved to its heading for screen readers.
'use strict';

import { el } from './core.js';

export const view = () => document.getElementById('view');

export function show(title, ...content) {
  const v = view();
  v.replaceChildren(el('h1', { tabindex: '-1' }, title), ...content);
  v.hidden = false;
  document.title = `${title} · voicebot`;
}

/// A page for something that does not exist, with the way back.
export function notFound(message, href, label) {
  show('Not found', el('p', { id: 'not-found' }, message), el('p', {}, el('a', { href, class: 'button', id: 'back' }, label)));
}
