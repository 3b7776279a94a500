// Recipients from a spreadsheet: CSV text or .xlsx rows → the JSON rows of POST /call, keeping
// each row's line number so every problem the server finds is shown on the line it came from,
// with the value and how to fix it.
'use strict';

/// The field separator of a CSV export: `,`, or `;` / tab when the header row uses those instead
/// (spreadsheets in many locales save with `;`).
function separator(text) {
  const first = text.split(/\r?\n/).find(l => l.trim() !== '') || '';
  const count = ch => first.split(ch).length - 1;
  const best = [',', ';', '\t'].sort((a, b) => count(b) - count(a))[0];
  return count(best) > 0 ? best : ',';
}

/// RFC 4180 CSV → [{ line, cells }]: quoted fields (which may span lines), doubled quotes, CRLF or
/// LF; `line` is where the row starts; blank rows are left out.
export function parseCsv(text) {
  const sep = separator(text);
  const rows = [];
  let row = [], field = '', quoted = false, line = 1, start = 1;
  const endRow = () => {
    row.push(field); field = '';
    if (row.some(f => f.trim() !== '')) rows.push({ line: start, cells: row.map(f => f.trim()) });
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; field += ch; }
    } else if (ch === '"') quoted = true;
    else if (ch === sep) { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      start = line;
    } else field += ch;
  }
  endRow();
  return rows;
}

/// Rows back to CSV text (for showing an imported spreadsheet in the editable box).
export function toCsv(rows) {
  const q = v => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map(r => r.cells.map(q).join(',')).join('\n') + '\n';
}

const PHONE_HEADERS = ['phone_number', 'phone', 'phone_no', 'number', 'mobile', 'mobile_number', 'msisdn', 'telephone', 'tel'];

/// A header as compared: case, spaces and dashes do not matter (`Phone Number` = `phone_number`).
const norm = h => h.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/[\s-]+/g, '_');

/// How the header row maps to a request: the phone column, each workflow variable's column, the
/// other columns as user tags; `problems` are header mistakes (one each, not one per row).
export function mapHeader(header, variables) {
  const cols = header.map(norm);
  const problems = [];
  const phone = cols.findIndex(c => PHONE_HEADERS.includes(c));
  if (phone < 0) {
    problems.push({ column: '', message: 'No phone number column.', fix: 'Add a header row whose phone column is called phone_number (or phone).' });
  }
  const vars = {};
  for (const v of variables) {
    const i = cols.indexOf(norm(v));
    if (i < 0) {
      problems.push({ column: v, message: `The workflow says [${v}] but the file has no "${v}" column.`,
        fix: `Add a column named ${v} with each person's value.` });
    } else vars[v] = i;
  }
  const tags = [];
  cols.forEach((c, i) => {
    if (i === phone || Object.values(vars).includes(i) || !c) return;
    if (cols.indexOf(c) !== i) {
      problems.push({ column: header[i], message: `Two columns are called "${header[i]}".`, fix: 'Rename or remove one of them.' });
    } else tags.push([header[i].replace(/^\uFEFF/, '').trim(), i]);
  });
  return { phone, vars, tags, header: header.map(h => h.replace(/^\uFEFF/, '').trim()), problems };
}

/// Data rows → `workflow_params` (in order) plus what each came from.
export function recipients(rows, map) {
  return rows.map(r => ({
    line: r.line,
    cells: r.cells,
    param: {
      phone_number: r.cells[map.phone] || '',
      user_tag_identifiers: Object.fromEntries(map.tags.map(([k, i]) => [k, r.cells[i] || ''])),
      workflow_variables: Object.fromEntries(Object.entries(map.vars).map(([k, i]) => [k, r.cells[i] || ''])),
    },
  }));
}

/// How to fix one problem the server reported for a row.
function fixFor(kind, message, column, lineOf, country) {
  if (kind === 'phone') {
    if (/duplicate of workflow_params\[(\d+)\]/.test(message)) {
      return `Remove this line: the same number is already on line ${lineOf(Number(/\[(\d+)\]/.exec(message)[1]))}.`;
    }
    if (/do-not-call/.test(message)) return 'Remove this line: this person asked not to be called (see Do-not-call).';
    if (/default country/.test(message) && !country) {
      return 'Write it with the country code, e.g. +234 803 123 4567 — or set your default country in Settings to accept local numbers like 0803 123 4567.';
    }
    if (country) return `Check the digits: a number in ${country} written locally looks like 0803 123 4567, or use +country code.`;
    return 'Write the full international number: + country code and number, e.g. +234 803 123 4567.';
  }
  if (kind === 'variable') {
    if (/longer than/.test(message)) return 'Shorten the text in this line: the spoken message would be too long.';
    return `Fill in the ${column} cell on this line: the call would say it out loud.`;
  }
  return '';
}

/// The server's field errors as table rows: line, column, value, problem, fix. Errors not about
/// one row (accent, schedule…) come back with `line: null`.
export function rowErrors(errors, recs, map, country) {
  const lineOf = i => (recs[i] ? recs[i].line : i + 2);
  return errors.map(e => {
    const m = /^workflow_params\[(\d+)\](?:\.(phone_number|workflow_variables)(?:\.(.+))?)?$/.exec(e.field);
    if (!m) return { line: null, column: e.field, value: '', message: e.message, fix: '' };
    const i = Number(m[1]);
    const rec = recs[i];
    if (m[2] === 'phone_number') {
      const column = map.header[map.phone] || 'phone_number';
      return { line: lineOf(i), column, value: rec ? rec.param.phone_number : '', message: e.message,
        fix: fixFor('phone', e.message, column, lineOf, country) };
    }
    if (m[2] === 'workflow_variables') {
      const column = m[3] && map.vars[m[3]] !== undefined ? map.header[map.vars[m[3]]] : m[3] || 'variables';
      const value = rec && m[3] ? rec.param.workflow_variables[m[3]] ?? '' : '';
      return { line: lineOf(i), column, value, message: e.message, fix: fixFor('variable', e.message, column, lineOf, country) };
    }
    return { line: lineOf(i), column: '', value: '', message: e.message, fix: '' };
  });
}
