// Drives the voicebot dashboard in headless Debian Chromium (playwright-core, no bundled browser),
// as a clinic's programme officer would: log in, set the default country, write a workflow and
// hear the whole call, upload a recording, load a CSV with 40 bad rows (every one listed by line
// with value and fix), drop an .xlsx of local numbers, confirm, watch the batch complete, find
// calls by name and status, open a call's timeline and hear what it played, see a scheduled
// batch explain its wait, use the do-not-call list and the callback log, check a 390 px phone
// layout and basic accessibility, and finally stop the server and check the stale banner.
//
// Environment (set by crates/voicebot/tests/dashboard.rs):
//   VOICEBOT_URL       server base URL (http://127.0.0.1:PORT)
//   VOICEBOT_KEY       an integrator's API key
//   VOICEBOT_PID       the server's process id (killed at the end for the server-down check)
//   DASH_ARTIFACTS     directory for screenshots and the downloaded CSV
//   CHROMIUM           browser binary (default /usr/bin/chromium)
// Exit status 0 and a last stdout line of JSON on success; a message on stderr and 1 on failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { xlsx, badCsv, toneWav } from './files.mjs';
import { noHorizontalScroll, a11yProblems } from './checks.mjs';

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};
const base = env('VOICEBOT_URL');
const key = env('VOICEBOT_KEY');
const serverPid = Number(env('VOICEBOT_PID'));
const artifacts = env('DASH_ARTIFACTS');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function check(cond, message) {
  if (!cond) throw new Error(message);
}
const step = message => console.log(`· ${message}`);
const shot = (page, name, fullPage = true) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });

async function api(method, p, body) {
  const r = await fetch(`${base}/voicebot/v1${p}`, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
  return json.data;
}

/// Waits for the <audio> at `selector` to load, plays it, and reports what it saw.
async function playAudio(page, selector) {
  await page.waitForSelector(selector, { timeout: 30_000 });
  return page.$eval(selector, audio => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`audio did not load (readyState ${audio.readyState}, error ${audio.error && audio.error.code})`)), 20_000);
    const go = async () => {
      try {
        await audio.play();
        await new Promise(r => setTimeout(r, 400));
        clearTimeout(timer);
        resolve({ duration: audio.duration, currentTime: audio.currentTime, paused: audio.paused });
      } catch (e) { clearTimeout(timer); reject(e); }
    };
    if (audio.readyState >= 1) go(); else audio.addEventListener('loadedmetadata', go, { once: true });
    audio.addEventListener('error', () => { clearTimeout(timer); reject(new Error(`audio error ${audio.error && audio.error.code}`)); }, { once: true });
  }));
}

/// Drops a file on an element the way a person dragging it from their desktop does.
async function dropFile(page, selector, name, mime, bytes) {
  const data = await page.evaluateHandle(({ name, mime, b64 }) => {
    const dt = new DataTransfer();
    const bin = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    dt.items.add(new File([bin], name, { type: mime }));
    return dt;
  }, { name, mime, b64: Buffer.from(bytes).toString('base64') });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer: data });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: data });
}

async function a11y(page, where, problems) {
  for (const p of await page.evaluate(a11yProblems)) problems.push(`${where}: ${p}`);
}

async function loginAndSettings(page, a11yIssues) {
  step('logged out: only the login form, no navigation');
  await page.goto(`${base}/`);
  await page.waitForSelector('#login-view:not([hidden])');
  check(!(await page.isVisible('#nav')) && !(await page.isVisible('#logout')), 'navigation or Log out shown while logged out');
  await a11y(page, 'login', a11yIssues);
  await page.fill('#api-key', 'vb_not_a_key');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  await page.fill('#api-key', key);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#batches');
  check(await page.isVisible('#nav'), 'navigation hidden after login');

  step('settings: default country NG, so local numbers are accepted');
  await page.click('a[data-nav=settings]');
  await page.fill('#default-country', 'ng');
  await page.click('#settings-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#settings-result').textContent.includes('NG'));
  await a11y(page, 'settings', a11yIssues);
}

async function workflowEditor(page, a11yIssues) {
  step('write a workflow; the transcript follows every keystroke; hear the whole call in Yoruba');
  await page.click('a[data-nav=workflows]');
  await page.click('#new-workflow');
  await page.waitForSelector('#workflow-form');
  await page.fill('#wf-name', 'Antenatal reminder');
  await page.fill('#wf-message', 'Hello [name], your antenatal visit is on [date].');
  await page.fill('#option-text-2', 'Press 2 to reschedule');
  await page.waitForFunction(() => document.querySelector('#transcript').textContent.includes('Hello Ada, your antenatal visit is on Tuesday 14 May.'));
  const transcript = await page.textContent('#transcript');
  check(transcript.includes('Press 1 to confirm. Press 2 to reschedule') && transcript.includes('Thank you'), `transcript lacks the options or closing: ${transcript}`);
  await page.fill('#sample-name', 'Funmi');
  await page.waitForFunction(() => document.querySelector('#transcript').textContent.includes('Hello Funmi'));
  await page.selectOption('#preview-accent', 'yoruba');
  await page.click('#play-call');
  const whole = await playAudio(page, '.preview audio');
  check(whole.duration > 4, `whole-call preview is ${whole.duration} s: message and options expected`);
  await a11y(page, 'workflow editor', a11yIssues);
  await shot(page, 'workflow-editor');
  await page.click('#wf-save');
  await page.waitForFunction(() => location.hash === '#/workflows');
  const card = page.locator('article[data-workflow]', { hasText: 'Antenatal reminder' });
  const workflowId = await card.getAttribute('data-workflow');

  step('edit it (PUT) and see the change listed');
  await page.click(`article[data-workflow="${workflowId}"] a.button`);
  await page.waitForSelector('#workflow-form');
  await page.fill('#wf-name', 'Antenatal visit reminder');
  await page.click('#wf-save');
  await page.waitForSelector(`article[data-workflow="${workflowId}"] h2:has-text("Antenatal visit reminder")`);

  step('voices explained; upload a recording and hear it');
  const help = await page.textContent('#voices-help');
  check(/stand-in/.test(help) && /native/.test(help), 'voices are not explained');
  await page.setInputFiles('#recording-file', { name: 'greeting.wav', mimeType: 'audio/wav', buffer: toneWav() });
  await page.waitForSelector('#recording-id');
  const rec = await playAudio(page, '#recording-result audio');
  check(rec.duration > 0.5, `recording plays ${rec.duration} s`);
  await a11y(page, 'workflows', a11yIssues);
  await shot(page, 'workflows');
  return workflowId;
}

async function badRows(page, workflowId) {
  step('a CSV with 40 bad rows: all 40 listed by line, with the value and a fix');
  await page.click('a[data-nav=new]');
  await page.waitForSelector('#new-batch');
  await page.selectOption('#workflow', workflowId);
  const { text, expected } = badCsv(5, 40);
  await dropFile(page, '#drop-zone', 'clinic.csv', 'text/csv', Buffer.from(text));
  await page.waitForFunction(() => document.querySelector('#recipients-summary').textContent.startsWith('45 people'));
  await page.click('#new-batch button[type=submit]');
  await page.waitForSelector('#problems:not([hidden]) #import-errors');
  const rows = await page.$$eval('#import-errors tbody tr', trs => trs.map(tr => Array.from(tr.cells).map(td => td.textContent)));
  check(rows.length === 40, `${rows.length} problems listed, 40 expected`);
  for (const [i, e] of expected.entries()) {
    const [line, column, value, problem, fix] = rows[i];
    check(line === String(e.line), `problem ${i} on line ${line}, expected ${e.line}`);
    check(column === e.column, `line ${e.line}: column ${column}, expected ${e.column}`);
    check(e.value ? value === e.value : value === 'empty', `line ${e.line}: value "${value}", expected "${e.value}"`);
    check(problem.length > 5 && fix.length > 10, `line ${e.line}: problem "${problem}" / fix "${fix}"`);
  }
  await shot(page, 'bad-rows');
  return rows;
}

async function xlsxBatch(page, workflowId, a11yIssues) {
  step('drop an .xlsx of local numbers (Name/Phone Number headers in any case) and confirm');
  await page.fill('#batch-name', 'Tuesday antenatal');
  await page.selectOption('#accent', 'yoruba');
  await page.selectOption('#gender', 'female');
  const book = xlsx([
    ['Phone Number', 'NAME', 'Date', 'Clinic ID'],
    ['0800 000 0101', 'Ada', { date: 46156 }, 'C1'],
    [{ n: 8000000102 }, 'Bola', 'Friday', 'C2'],
    ['+234 800 000 0103', 'Chidi', 'Friday', 'C3'],
  ]);
  await dropFile(page, '#drop-zone', 'patients.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', book);
  await page.waitForFunction(() => document.querySelector('#recipients-summary').textContent.startsWith('3 people'));
  check((await page.inputValue('#recipients')).includes('14 May 2026'), 'the date cell was not read as a date');
  await page.click('#new-batch button[type=submit]');
  await page.waitForSelector('#confirmation');
  const summary = await page.textContent('#confirm-summary');
  check(/Call 3 people with the yoruba female voice/.test(summary) && /any time of day|between/.test(summary), `confirmation says: ${summary}`);
  const normalised = await page.$$eval('#normalised tbody tr', trs => trs.map(tr => Array.from(tr.cells).map(td => td.textContent)));
  check(normalised.some(r => r[1] === '0800 000 0101' && r[2] === '+2348000000101'), `normalised: ${JSON.stringify(normalised)}`);
  check(normalised.some(r => r[1] === '8000000102' && r[2] === '+2348000000102'), `normalised: ${JSON.stringify(normalised)}`);
  await a11y(page, 'new batch', a11yIssues);
  await shot(page, 'confirm');
  await page.click('#confirm');
  await page.waitForFunction(() => location.hash.startsWith('#/batch/'), null, { timeout: 30_000 });
  return page.evaluate(() => location.hash.split('/')[2]);
}

async function watchBatch(page, batchId, a11yIssues) {
  step(`batch ${batchId}: named, completes; who, answers and failures shown`);
  await page.waitForSelector('h1:has-text("Tuesday antenatal")');
  await page.waitForSelector('#batch-status[data-status=COMPLETED]', { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelectorAll('#calls tr[data-call]').length === 3);
  const table = await page.$$eval('#calls tr[data-call]', trs => trs.map(tr => ({ who: tr.querySelector('.who').textContent,
    status: tr.dataset.status, answer: tr.querySelector('.answer').textContent })));
  const byWho = Object.fromEntries(table.map(r => [r.who, r]));
  check(byWho.Ada && byWho.Ada.answer === 'confirm' && byWho.Bola.answer === 'reschedule', `answers: ${JSON.stringify(table)}`);
  check(byWho.Chidi.status === 'FAILED', `Chidi: ${JSON.stringify(byWho.Chidi)}`);
  const failed = await page.textContent('#failed');
  check(failed.includes('Chidi') && /busy/i.test(failed), `failed card: ${failed}`);
  const charts = await page.$$eval('.chart svg', s => s.map(x => x.getAttribute('aria-label')).join(' | '));
  check(charts.includes('1: confirm 1') && charts.includes('2: reschedule 1'), `answers chart: ${charts}`);

  step('search by name, filter by status, sort by name');
  await page.fill('#calls-search', 'bol');
  await page.waitForFunction(() => document.querySelectorAll('#calls tr[data-call]').length === 1);
  check((await page.textContent('#calls tr[data-call] .who')) === 'Bola', 'search by name');
  await page.fill('#calls-search', '0103');
  await page.waitForFunction(() => document.querySelector('#calls tr[data-call] .who')?.textContent === 'Chidi');
  await page.fill('#calls-search', '');
  await page.selectOption('#filter-status', 'COMPLETED');
  await page.waitForFunction(() => document.querySelectorAll('#calls tr[data-call]').length === 2);
  await page.selectOption('#filter-status', '');
  await page.selectOption('#calls-sort', 'variable:name');
  await page.selectOption('#calls-order', 'desc');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#calls .who')).map(a => a.textContent).join() === 'Chidi,Bola,Ada');
  await a11y(page, 'batch', a11yIssues);
  await shot(page, 'dashboard-batch');

  step('export the CSV');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
  const csvPath = path.join(artifacts, `batch-${batchId}.csv`);
  await download.saveAs(csvPath);
  check(fs.readFileSync(csvPath, 'utf8').trim().split(/\r?\n/).length === 4, 'CSV rows');

  step('completion callback: state, log and redelivery');
  await page.waitForSelector('#callback-state');
  await page.click('#redeliver');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('redelivery scheduled'));
}

async function callPages(page, batchId, a11yIssues) {
  step("Ada's call: timeline with SIP outcome and digits; the audio it played");
  await page.click('#calls tr[data-call] .who:text("Ada")');
  await page.waitForSelector('#attempts');
  const attempts = await page.$$eval('#attempts tbody tr', trs => trs.map(tr => tr.textContent));
  check(attempts.length === 1 && /answered/i.test(attempts[0]) && /SIP 200/.test(attempts[0]) && attempts[0].includes('1'), `Ada's attempts: ${attempts}`);
  const facts = await page.textContent('#call-facts');
  check(facts.includes('confirm') && facts.includes('+2348000000101') && facts.includes('C1'), `call facts: ${facts}`);
  await page.click('#call-audio button.play');
  const played = await playAudio(page, '#call-audio audio');
  check(played.duration > 3 && !played.paused, `played audio: ${JSON.stringify(played)}`);
  await a11y(page, 'call', a11yIssues);
  await shot(page, 'call');

  step("Chidi's call: three busy attempts, and no audio to load");
  await page.goto(`${base}/#/batch/${batchId}`);
  await page.click('#failed a:text("Chidi")');
  await page.waitForSelector('#attempts');
  const busy = await page.$$eval('#attempts tbody tr', trs => trs.map(tr => tr.textContent));
  check(busy.length === 3 && busy.every(t => /SIP 486/.test(t)), `Chidi's attempts: ${busy}`);
  check(!(await page.isVisible('#call-audio button.play')) && (await page.isVisible('#no-audio')), 'Load audio offered for a call never answered');
  return played;
}

async function waitingAndLists(page, workflowId, a11yIssues) {
  step('a scheduled batch explains its wait');
  const later = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
  const { batch_id: scheduled } = await api('POST', '/call', { workflow_id: workflowId, name: 'Next week', schedule: { not_before: later },
    workflow_params: [{ phone_number: '0800 000 0109', workflow_variables: { name: 'Ngozi', date: 'Monday' } }] });
  await page.goto(`${base}/#/batch/${scheduled}`);
  await page.waitForSelector('#waiting');
  const waiting = await page.textContent('#waiting');
  check(/Scheduled: no call before/.test(waiting) && /in 3 h|in 2 h/.test(waiting) && /local time|any time/.test(waiting), `waiting card: ${waiting}`);
  await page.click('a[data-nav=batches]');
  await page.waitForSelector(`#batches tr[data-batch="${scheduled}"]`);
  check(/starts/.test(await page.textContent(`#batches tr[data-batch="${scheduled}"]`)), 'batch list does not say when it starts');
  await shot(page, 'batches');
  await api('POST', `/batch/${scheduled}/cancel`);

  step('do-not-call list: add a local number, see it normalised, remove it');
  await page.click('a[data-nav=dnc]');
  await page.fill('#dnc-phone', '0803 123 4567');
  await page.click('#dnc-form button[type=submit]');
  await page.waitForSelector('#dnc tr[data-phone="+2348031234567"]');
  await a11y(page, 'do-not-call', a11yIssues);
  page.once('dialog', d => d.accept());
  await page.click('#dnc tr[data-phone="+2348031234567"] button');
  await page.waitForSelector('#dnc tr[data-phone="+2348031234567"]', { state: 'detached' });

  step('an unknown batch offers the way back');
  await page.goto(`${base}/#/batch/00000000-0000-4000-8000-000000000000`);
  await page.waitForSelector('#not-found');
  await page.click('#back');
  await page.waitForSelector('#batches');
}

/// Every page at 390 × 844: no sideways page scroll, a one-line header, stacked tables.
async function phoneLayout(browser, batchId, callId, workflowId) {
  step('phone layout (390 × 844): no horizontal page scroll anywhere');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, hasTouch: true });
  await context.addInitScript(k => sessionStorage.setItem('voicebot.apiKey', k), key);
  const page = await context.newPage();
  const pages = [['batches', '#/batches', '#batches'], ['batch', `#/batch/${batchId}`, '#calls tr[data-call]'],
    ['call', `#/call/${callId}`, '#attempts'], ['new-batch', '#/new', '#new-batch'], ['workflows', '#/workflows', '#voices-help'],
    ['editor', `#/workflow/${workflowId}`, '#transcript li'], ['dnc', '#/dnc', '#dnc'], ['settings', '#/settings', '#settings-form']];
  const widths = {};
  for (const [name, hash, ready] of pages) {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(ready);
    const overflow = await page.evaluate(noHorizontalScroll);
    check(!overflow, `${name} at 390 px scrolls sideways: ${overflow}`);
    widths[name] = await page.evaluate(() => document.documentElement.scrollWidth);
    await shot(page, `mobile-${name}`);
  }
  const header = await page.$eval('header.top', h => h.getBoundingClientRect().height);
  check(header < 64, `header is ${header} px high at 390 px: navigation should fold into the menu`);
  check(!(await page.isVisible('#nav a[data-nav=dnc]')), 'navigation links shown before the menu is opened');
  await page.click('#menu-toggle');
  check(await page.isVisible('#nav a[data-nav=dnc]'), 'menu does not open');
  await shot(page, 'mobile-menu', false);
  await context.close();
  return widths;
}

async function serverDown(page) {
  step('server down: a stale banner, never "TypeError: Failed to fetch"');
  await page.goto(`${base}/#/batches`);
  await page.waitForSelector('#batches');
  process.kill(serverPid, 'SIGKILL');
  await page.waitForSelector('#offline:not([hidden])', { timeout: 15_000 });
  const banner = await page.textContent('#offline');
  check(/Cannot reach the voicebot server/.test(banner), `banner: ${banner}`);
  await page.waitForFunction(() => document.querySelector('[data-live]').textContent.includes('not updating'));
  await page.click('a[data-nav=workflows]');
  await page.waitForSelector('#page-error');
  const text = await page.evaluate(() => document.body.innerText);
  check(!/TypeError|Failed to fetch/.test(text), `raw fetch error shown: ${text.slice(0, 500)}`);
  await shot(page, 'server-down');
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // --no-sandbox: tests may run as root in a container; the page is our own loopback server.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  const problems = [];
  const a11yIssues = [];
  let page = null;
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('console', m => {
      // A refused key (401), bad rows (422) and the deliberately stopped server are answers the
      // page handles; anything else logged as an error is a problem.
      if (m.type() === 'error' && !/status of (401|404|422)|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(`console error: ${m.text()}`);
    });
    await loginAndSettings(page, a11yIssues);
    const workflowId = await workflowEditor(page, a11yIssues);
    const errors = await badRows(page, workflowId);
    const batchId = await xlsxBatch(page, workflowId, a11yIssues);
    await watchBatch(page, batchId, a11yIssues);
    const played = await callPages(page, batchId, a11yIssues);
    const callId = (await api('GET', `/batch/${batchId}/calls?q=Ada`)).calls[0].id;
    await waitingAndLists(page, workflowId, a11yIssues);
    const widths = await phoneLayout(browser, batchId, callId, workflowId);

    step('open /docs');
    await page.goto(`${base}/docs`);
    await page.waitForFunction(() => document.querySelectorAll('details.op').length > 10);
    await shot(page, 'docs', false);
    check(a11yIssues.length === 0, `accessibility: ${a11yIssues.join(' | ')}`);
    check(problems.length === 0, `browser reported: ${problems.join(' | ')}`);
    await serverDown(page);
    console.log(JSON.stringify({ ok: true, batch_id: batchId, workflow_id: workflowId, bad_rows_listed: errors.length,
      call_audio: played, phone_widths: widths, screenshots: fs.readdirSync(artifacts).filter(f => f.endsWith('.png')) }));
  } catch (e) {
    // Leave evidence: what the page showed and what the browser complained about.
    if (page) {
      await page.screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
      const text = await page.evaluate(() => document.body.innerText).catch(() => '');
      e.message += `\nscreenshot: ${path.join(artifacts, 'failure.png')}\nbrowser problems: ${problems.join(' | ') || 'none'}\npage text:\n${text.slice(0, 2000)}`;
    }
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch(e => {
  console.error(`dashboard browser test failed: ${e && e.message ? e.message : e}`);
  if (e && e.stack) console.error(e.stack.split('\n').slice(1).join('\n'));
  process.exit(1);
});
