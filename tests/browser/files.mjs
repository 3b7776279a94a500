// Files the browser test feeds the dashboard, made here so the test needs nothing else: an .xlsx
// workbook (a real ZIP of SpreadsheetML parts, deflated, with shared strings, a number cell that
// lost its leading zero and a date-formatted cell, as spreadsheet programs write them), a CSV with
// many bad rows, and a short WAV recording.
import zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/// A ZIP archive of { name: text } entries, every entry deflated.
function zip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const raw = Buffer.from(text, 'utf8');
    const data = zlib.deflateRawSync(raw);
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22); local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    locals.push(local, nameBuf, data);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0); dir.writeUInt16LE(20, 4); dir.writeUInt16LE(20, 6); dir.writeUInt16LE(0, 8);
    dir.writeUInt16LE(8, 10); dir.writeUInt32LE(0, 12); dir.writeUInt32LE(crc, 16); dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(raw.length, 24); dir.writeUInt16LE(nameBuf.length, 28); dir.writeUInt32LE(offset, 42);
    central.push(dir, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const dirBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(central.length / 2, 8); end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(dirBuf.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dirBuf, end]);
}

const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const colName = i => String.fromCharCode(65 + i);

/// An .xlsx whose first sheet holds `rows`: strings become shared strings, `{ n: 123 }` a number,
/// `{ date: serial }` a number shown with a date format.
export function xlsx(rows) {
  const shared = [];
  const sst = s => { let i = shared.indexOf(s); if (i < 0) { i = shared.length; shared.push(s); } return i; };
  const sheetRows = rows.map((cells, r) => `<row r="${r + 1}">${cells.map((v, c) => {
    const ref = `${colName(c)}${r + 1}`;
    if (v && typeof v === 'object' && 'n' in v) return `<c r="${ref}"><v>${v.n}</v></c>`;
    if (v && typeof v === 'object' && 'date' in v) return `<c r="${ref}" s="1"><v>${v.date}</v></c>`;
    return `<c r="${ref}" t="s"><v>${sst(String(v))}</v></c>`;
  }).join('')}</row>`).join('');
  const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  return zip({
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
    '_rels/.rels': `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    'xl/workbook.xml': `<?xml version="1.0" encoding="UTF-8"?><workbook ${ns} xmlns:r="${rel}"><sheets><sheet name="Patients" sheetId="1" r:id="rId7"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
      `<Relationship Id="rId7" Type="${rel}/worksheet" Target="worksheets/patients.xml"/><Relationship Id="rId8" Type="${rel}/styles" Target="styles.xml"/></Relationships>`,
    'xl/styles.xml': `<?xml version="1.0" encoding="UTF-8"?><styleSheet ${ns}><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="15" applyNumberFormat="1"/></cellXfs></styleSheet>`,
    'xl/sharedStrings.xml': `<?xml version="1.0" encoding="UTF-8"?><sst ${ns} count="${shared.length}" uniqueCount="${shared.length}">${shared.map(s => `<si><t xml:space="preserve">${esc(s)}</t></si>`).join('')}</sst>`,
    'xl/worksheets/patients.xml': `<?xml version="1.0" encoding="UTF-8"?><worksheet ${ns}><sheetData>${sheetRows}</sheetData></worksheet>`,
  });
}

/// A CSV with `good` valid rows followed by `bad` rows, half with a number too short to be one,
/// half with a blank name; returns the text and, for each bad row, its line, column and value.
export function badCsv(good, bad) {
  const lines = ['Phone,NAME,Date,mrn'];
  const expected = [];
  for (let i = 0; i < good; i++) lines.push(`0803 200 ${String(1000 + i)},Patient ${i},Monday,G${i}`);
  for (let i = 0; i < bad; i++) {
    const line = lines.length + 1;
    if (i % 2 === 0) {
      const phone = `0803 ${String(100 + i)}`;
      lines.push(`${phone},Bad ${i},Monday,B${i}`);
      expected.push({ line, column: 'Phone', value: phone });
    } else {
      lines.push(`0803 300 ${String(1000 + i)},   ,Monday,B${i}`);
      expected.push({ line, column: 'NAME', value: '' });
    }
  }
  return { text: lines.join('\r\n') + '\r\n', expected };
}

/// One second of a 440 Hz tone as 8 kHz 16-bit mono WAV.
export function toneWav() {
  const n = 8000;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8); buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(8000, 24);
  buf.writeUInt32LE(16000, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / 8000) * 8000), 44 + i * 2);
  return buf;
}
