// Reads the first worksheet of an .xlsx file in the browser: no library, no CDN, no upload.
// An .xlsx is a ZIP of XML parts; entries are found through the ZIP central directory and
// inflated with the browser's DecompressionStream('deflate-raw'); XML is read with DOMParser.
// Cells come back as text the way a person sees them: shared and inline strings, numbers without
// exponent notation (phone numbers stored as numbers keep every digit), dates as "21 January 2025".
'use strict';

/// Largest part we inflate (a zip bomb stops here instead of filling memory).
const MAX_PART_BYTES = 64 * 1024 * 1024;

export class XlsxError extends Error {}

function u16(b, o) { return b[o] | (b[o + 1] << 8); }
function u32(b, o) { return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0; }

/// name → { method, offset, size } from the ZIP central directory.
function zipEntries(bytes) {
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (u32(bytes, i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new XlsxError('not an .xlsx file (no ZIP directory found)');
  const count = u16(bytes, eocd + 10);
  let p = u32(bytes, eocd + 16);
  const entries = new Map();
  const decoder = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || u32(bytes, p) !== 0x02014b50) throw new XlsxError('damaged .xlsx file (ZIP directory)');
    const nameLen = u16(bytes, p + 28), extraLen = u16(bytes, p + 30), commentLen = u16(bytes, p + 32);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    entries.set(name, { method: u16(bytes, p + 10), size: u32(bytes, p + 20), local: u32(bytes, p + 42) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_PART_BYTES) { reader.cancel(); throw new XlsxError('the .xlsx file is too large to read here'); }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/// The text of one ZIP entry, or null if the file has no such part.
async function part(bytes, entries, name) {
  const e = entries.get(name);
  if (!e) return null;
  if (u32(bytes, e.local) !== 0x04034b50) throw new XlsxError(`damaged .xlsx file (${name})`);
  const start = e.local + 30 + u16(bytes, e.local + 26) + u16(bytes, e.local + 28);
  const data = bytes.subarray(start, start + e.size);
  let raw;
  if (e.method === 0) raw = data;
  else if (e.method === 8) raw = await inflate(data);
  else throw new XlsxError(`unsupported compression in .xlsx file (${name})`);
  return new TextDecoder().decode(raw);
}

function xml(text, name) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) throw new XlsxError(`damaged .xlsx file (${name} is not XML)`);
  return doc;
}

/// Elements by local name, whatever namespace prefix the writer used.
function all(node, local) { return Array.from(node.getElementsByTagNameNS('*', local)); }

/// Text of a shared or inline string: every <t> except phonetic runs (<rPh>).
function stringText(si) {
  return all(si, 't').filter(t => t.parentNode.localName !== 'rPh').map(t => t.textContent).join('');
}

/// Path of the first worksheet in the workbook's order.
async function firstSheetPath(bytes, entries) {
  const fallback = 'xl/worksheets/sheet1.xml';
  const wbText = await part(bytes, entries, 'xl/workbook.xml');
  const relsText = await part(bytes, entries, 'xl/_rels/workbook.xml.rels');
  if (!wbText || !relsText) return fallback;
  const sheet = all(xml(wbText, 'workbook.xml'), 'sheet')[0];
  if (!sheet) return fallback;
  const rid = sheet.getAttributeNS('http://schemas.openxmlformats.org/officeDocument/2006/relationships', 'id')
    || sheet.getAttribute('r:id');
  const rel = all(xml(relsText, 'workbook.xml.rels'), 'Relationship').find(r => r.getAttribute('Id') === rid);
  if (!rel) return fallback;
  const target = rel.getAttribute('Target');
  return target.startsWith('/') ? target.slice(1) : `xl/${target.replace(/^\.\//, '')}`;
}

/// Built-in number formats that show dates or times.
const BUILTIN_DATE_FORMATS = { 14: 'date', 15: 'date', 16: 'date', 17: 'date', 18: 'time', 19: 'time', 20: 'time',
  21: 'time', 22: 'datetime', 45: 'time', 46: 'time', 47: 'time' };

/// For each cell style index: 'date', 'time', 'datetime' or null.
async function dateStyles(bytes, entries) {
  const text = await part(bytes, entries, 'xl/styles.xml');
  if (!text) return [];
  const doc = xml(text, 'styles.xml');
  const custom = new Map(all(doc, 'numFmt').map(f => [Number(f.getAttribute('numFmtId')), f.getAttribute('formatCode') || '']));
  const xfs = all(doc, 'cellXfs')[0];
  if (!xfs) return [];
  return Array.from(xfs.children).filter(x => x.localName === 'xf').map(x => {
    const id = Number(x.getAttribute('numFmtId') || 0);
    if (BUILTIN_DATE_FORMATS[id]) return BUILTIN_DATE_FORMATS[id];
    const code = (custom.get(id) || '').replace(/"[^"]*"|\[[^\]]*\]|\\./g, '').toLowerCase();
    const date = /[dy]/.test(code), time = /[hs]/.test(code);
    return date && time ? 'datetime' : date ? 'date' : time ? 'time' : null;
  });
}

/// An Excel serial day number (1900 system) as words a patient can hear.
function serialDate(serial, kind) {
  const ms = Math.round((serial - 25569) * 86400 * 1000);
  const d = new Date(ms);
  if (isNaN(d)) return String(serial);
  const date = d.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });
  const time = d.toLocaleTimeString('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit' });
  return kind === 'date' ? date : kind === 'time' ? time : `${date} ${time}`;
}

/// A number as written, never in exponent notation (2348031234567, not 2.348031234567E+12).
function numberText(v) {
  if (!/e/i.test(v)) return v;
  const n = Number(v);
  return Number.isFinite(n) ? n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 15 }) : v;
}

function columnIndex(ref) {
  const letters = /^[A-Z]+/.exec(ref || '');
  if (!letters) return -1;
  let n = 0;
  for (const ch of letters[0]) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/// Rows of the first worksheet: [{ line: sheet row number, cells: [text, ...] }], empty rows left out.
export async function readXlsx(buffer) {
  const bytes = new Uint8Array(buffer);
  const entries = zipEntries(bytes);
  const sheetPath = await firstSheetPath(bytes, entries);
  const sheetText = await part(bytes, entries, sheetPath);
  if (!sheetText) throw new XlsxError('the .xlsx file has no worksheet');
  const sharedText = await part(bytes, entries, 'xl/sharedStrings.xml');
  const shared = sharedText ? all(xml(sharedText, 'sharedStrings.xml'), 'si').map(stringText) : [];
  const styles = await dateStyles(bytes, entries);
  const rows = [];
  let lastLine = 0;
  for (const row of all(xml(sheetText, sheetPath), 'row')) {
    const line = Number(row.getAttribute('r')) || lastLine + 1;
    lastLine = line;
    const cells = [];
    let next = 0;
    for (const c of Array.from(row.children).filter(n => n.localName === 'c')) {
      const at = columnIndex(c.getAttribute('r'));
      const col = at >= 0 ? at : next;
      next = col + 1;
      const type = c.getAttribute('t') || 'n';
      const v = all(c, 'v')[0];
      const raw = v ? v.textContent : '';
      let text;
      if (type === 's') text = shared[Number(raw)] ?? '';
      else if (type === 'inlineStr') text = all(c, 'is').map(stringText).join('');
      else if (type === 'b') text = raw === '1' ? 'TRUE' : raw === '0' ? 'FALSE' : raw;
      else if (type === 'n' && raw !== '' && styles[Number(c.getAttribute('s') || 0)]) {
        text = serialDate(Number(raw), styles[Number(c.getAttribute('s') || 0)]);
      } else if (type === 'n') text = numberText(raw);
      else text = raw; // str (formula result), e (error)
      while (cells.length < col) cells.push('');
      cells[col] = text.trim();
    }
    if (cells.some(t => t !== '')) rows.push({ line, cells });
  }
  return rows;
}
