// The API docs page: renders this server's own /openapi.json (paths, methods, parameters,
// request and response schemas, generated examples). Small on purpose: it reads the subset of
// OpenAPI 3.1 that scripts/gen-openapi.py writes ($ref, allOf/oneOf, type lists, const, enum).
'use strict';

let spec = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function resolve(schema) {
  let s = schema || {};
  const seen = new Set();
  while (s.$ref && !seen.has(s.$ref)) {
    seen.add(s.$ref);
    s = s.$ref.replace(/^#\//, '').split('/').reduce((o, k) => (o ? o[k] : undefined), spec) || {};
  }
  return s;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split('/').pop() : null;
}

function typeLabel(schema) {
  const s = resolve(schema);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map(v => JSON.stringify(v)).join(' | ');
  let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (t === 'array') t = `array of ${typeLabel(s.items)}`;
  if (!t && s.oneOf) t = 'one of';
  if (!t && s.allOf) t = 'object';
  if (s.format) t = `${t || 'string'} (${s.format})`;
  const name = refName(schema);
  return name ? `${t || 'object'} · ${name}` : (t || 'any');
}

/// A schema as a nested list of properties; `depth` stops runaway recursion.
function schemaTree(schema, depth) {
  const s = resolve(schema);
  const box = el('div', { class: 'schema' });
  if (depth > 6) return box;
  if (s.description) box.append(el('p', { class: 'muted' }, s.description));
  if (s.allOf) s.allOf.forEach(part => box.append(schemaTree(part, depth + 1)));
  if (s.oneOf) {
    s.oneOf.forEach((part, i) => box.append(el('div', { class: 'prop' }, el('em', {}, `option ${i + 1}: `),
      el('span', { class: 'type' }, typeLabel(part)), schemaTree(part, depth + 1))));
  }
  const props = s.properties || {};
  const required = new Set(s.required || []);
  for (const [name, sub] of Object.entries(props)) {
    const r = resolve(sub);
    const nested = (r.properties || r.allOf || r.oneOf || (r.type === 'array' && resolve(r.items).properties));
    box.append(el('div', { class: 'prop' },
      el('code', {}, name), ' ', el('span', { class: 'type' }, typeLabel(sub)),
      required.has(name) ? el('span', { class: 'req' }, ' required') : '',
      r.description ? el('span', { class: 'muted' }, ` — ${r.description}`) : '',
      nested ? schemaTree(r.type === 'array' ? r.items : sub, depth + 1) : ''));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
    box.append(el('div', { class: 'prop' }, el('code', {}, '{key}'), ' ', el('span', { class: 'type' }, typeLabel(s.additionalProperties))));
  }
  return box;
}

/// A plausible example value for a schema.
function example(schema, depth) {
  const s = resolve(schema);
  if (depth > 6) return null;
  if (s.example !== undefined) return s.example;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.allOf) return Object.assign({}, ...s.allOf.map(p => example(p, depth + 1)));
  if (s.oneOf) return example(s.oneOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find(t => t !== 'null') || 'null' : s.type;
  switch (type) {
    case 'object': case undefined: {
      if (!s.properties && type === undefined) return null;
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(v, depth + 1);
      return o;
    }
    case 'array': return [example(s.items, depth + 1)];
    case 'integer': return s.minimum !== undefined ? s.minimum : 0;
    case 'number': return 0.0;
    case 'boolean': return true;
    case 'null': return null;
    default:
      if (s.format === 'uuid') return '9b643eb4-0799-4761-bd34-9580eb315aaf';
      if (s.format === 'date-time') return '2026-01-01T09:00:00Z';
      if (s.format === 'uri') return 'https://example.com/hook';
      if (s.format === 'binary') return '<binary>';
      return 'string';
  }
}

function content(c) {
  return Object.entries(c || {}).map(([ctype, media]) => {
    const ex = media.schema && (ctype.includes('json')) ? example(media.schema, 0) : null;
    return el('div', {}, el('p', {}, 'Content-Type: ', el('code', {}, ctype), ' — ', el('span', { class: 'type' }, typeLabel(media.schema))),
      schemaTree(media.schema, 0),
      ex !== null ? el('details', {}, el('summary', {}, 'Example'), el('pre', { class: 'example' }, JSON.stringify(ex, null, 2))) : '');
  });
}

function operation(path, method, op) {
  const id = op.operationId || `${method}-${path}`;
  const params = (op.parameters || []).map(resolve);
  const body = op.requestBody ? resolve(op.requestBody) : null;
  const details = el('details', { class: 'op', id },
    el('summary', {}, el('span', { class: `method m-${method}` }, method), el('code', {}, path),
      el('span', {}, op.summary || ''), op.security && op.security.length ? el('span', { class: 'muted' }, 'auth: Bearer') : ''),
    el('div', {},
      op.description ? el('p', {}, op.description) : '',
      params.length ? el('table', {}, el('caption', {}, 'Parameters'),
        el('thead', {}, el('tr', {}, ['Name', 'In', 'Type', 'Required', 'Description'].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, params.map(p => el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in),
          el('td', {}, typeLabel(p.schema)), el('td', {}, p.required ? 'yes' : 'no'), el('td', {}, p.description || ''))))) : '',
      body ? el('section', {}, el('h3', {}, 'Request body', body.required ? ' (required)' : ''),
        body.description ? el('p', {}, body.description) : '', content(body.content)) : '',
      el('h3', {}, 'Responses'),
      Object.entries(op.responses || {}).map(([code, r]) => {
        const resp = resolve(r);
        return el('details', { class: 'response' }, el('summary', {}, el('b', {}, code), ' ', resp.description || ''),
          content(resp.content));
      })));
  return details;
}

async function main() {
  const status = document.getElementById('status');
  try {
    const resp = await fetch('/openapi.json');
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    spec = await resp.json();
  } catch (e) {
    status.textContent = `Could not load /openapi.json: ${e.message}`;
    return;
  }
  const info = spec.info || {};
  document.getElementById('title').textContent = `${info.title || 'API'} ${info.version || ''}`;
  document.title = `${info.title || 'API'} docs`;
  document.getElementById('intro').append(
    el('p', {}, info.description || ''),
    el('p', {}, 'Authenticate with ', el('code', {}, 'Authorization: Bearer <api key>'),
      '. Every error is ', el('code', {}, '{"data": null, "message", "status": "Error", "errors": [{"field", "message"}]}'), '.'));
  const ops = document.getElementById('ops');
  const toc = document.getElementById('toc');
  let n = 0;
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      if (!item[method]) continue;
      const op = operation(path, method, item[method]);
      ops.append(op);
      toc.append(el('a', { href: `#${op.id}` }, el('span', { class: `method m-${method}` }, method), ' ', path));
      n++;
    }
  }
  status.textContent = `${n} operations`;
  // Opening a linked operation: expand it.
  const open = () => {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === 'DETAILS') target.open = true;
  };
  window.addEventListener('hashchange', open);
  open();
}

document.addEventListener('DOMContentLoaded', main);
