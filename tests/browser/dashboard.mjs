// Drives the voicebot dashboard in headless Debian Chromium (playwright-core, no bundled browser):
// log in, submit a batch through the "New batch" form, watch it complete, check the counts,
// play a call's prompt audio, export the CSV, preview a voice, open /docs, save screenshots.
//
// Environment (set by crates/voicebot/tests/dashboard.rs):
//   VOICEBOT_URL       server base URL (http://127.0.0.1:PORT)
//   VOICEBOT_KEY       an integrator's API key
//   DASH_WORKFLOW_ID   workflow to pick in the form
//   DASH_CSV           recipients CSV to paste (header row first)
//   DASH_EXPECT        JSON: expected calls by final status, e.g. {"COMPLETED":2,"FAILED":1}
//   DASH_OPTIONS       JSON: expected options pressed, e.g. {"1":1,"2":1}
//   DASH_ARTIFACTS     directory for screenshots and the downloaded CSV
//   CHROMIUM           browser binary (default /usr/bin/chromium)
// Exit status 0 and a last stdout line of JSON on success; a message on stderr and 1 on failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`missing environment variable ${name}`);
  return v;
};
const base = env('VOICEBOT_URL');
const key = env('VOICEBOT_KEY');
const workflowId = env('DASH_WORKFLOW_ID');
const csv = env('DASH_CSV');
const expect = JSON.parse(env('DASH_EXPECT'));
const expectOptions = JSON.parse(process.env.DASH_OPTIONS || '{}');
const artifacts = env('DASH_ARTIFACTS');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const total = Object.values(expect).reduce((a, b) => a + b, 0);

function check(cond, message) {
  if (!cond) throw new Error(message);
}
const step = message => console.log(`· ${message}`);

/// Waits for the <audio> under `root` to load metadata, plays it, and reports what it saw.
async function playAudio(page, selector) {
  await page.waitForSelector(selector, { timeout: 30_000 });
  return page.$eval(selector, audio => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`audio did not load (readyState ${audio.readyState}, error ${audio.error && audio.error.code})`)), 20_000);
    const go = async () => {
      try {
        await audio.play();
        await new Promise(r => setTimeout(r, 600));
        clearTimeout(timer);
        resolve({ duration: audio.duration, currentTime: audio.currentTime, readyState: audio.readyState, paused: audio.paused });
      } catch (e) { clearTimeout(timer); reject(e); }
    };
    if (audio.readyState >= 1) go(); else audio.addEventListener('loadedmetadata', go, { once: true });
    audio.addEventListener('error', () => { clearTimeout(timer); reject(new Error(`audio error ${audio.error && audio.error.code}`)); }, { once: true });
  }));
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
  let page = null;
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('console', m => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });

    step('log in (a wrong key first)');
    await page.goto(`${base}/`);
    await page.fill('#api-key', 'vb_not_a_key');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
    // The 401 is the expected answer to the wrong key: not a page problem.
    problems.length = 0;
    await page.fill('#api-key', key);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#batches');
    check(await page.evaluate(() => sessionStorage.getItem('voicebot.apiKey')) === key, 'key not kept in sessionStorage');

    step('submit a batch through the New batch form');
    await page.click('a[data-nav=new]');
    await page.waitForSelector('#new-batch');
    await page.selectOption('#workflow', workflowId);
    await page.selectOption('#accent', 'igbo');
    await page.fill('#recipients', csv);
    await page.screenshot({ path: path.join(artifacts, 'new-batch.png') });
    await page.click('#new-batch button[type=submit]');
    await page.waitForFunction(() => location.hash.startsWith('#/batch/'), null, { timeout: 30_000 });
    const batchId = await page.evaluate(() => location.hash.split('/')[2]);

    step(`watch batch ${batchId} complete`);
    await page.waitForSelector('#batch-status[data-status=COMPLETED]', { timeout: 180_000 });
    await page.waitForFunction(n => document.querySelectorAll('#calls tr[data-call]').length === n, total);
    const counts = await page.$$eval('#calls tr[data-call]', rows => {
      const out = {};
      for (const r of rows) out[r.dataset.status] = (out[r.dataset.status] || 0) + 1;
      return out;
    });
    check(JSON.stringify(Object.entries(counts).sort()) === JSON.stringify(Object.entries(expect).sort()),
      `calls by status ${JSON.stringify(counts)}, expected ${JSON.stringify(expect)}`);
    const statTotal = await page.$eval('#stats .stat b', b => b.textContent);
    check(statTotal === String(total), `stats card shows ${statTotal} calls, expected ${total}`);
    const chartLabels = await page.$$eval('.chart svg', svgs => svgs.map(s => s.getAttribute('aria-label')));
    for (const [digit, n] of Object.entries(expectOptions)) {
      check(chartLabels.some(l => l.includes(`option ${digit} ${n}`)), `options chart lacks "option ${digit} ${n}": ${chartLabels}`);
    }
    await page.screenshot({ path: path.join(artifacts, 'dashboard-batch.png'), fullPage: true });

    step("play a completed call's prompt audio");
    const row = 'tr[data-call][data-status=COMPLETED]';
    await page.click(`${row} button.play`);
    const played = await playAudio(page, `${row} audio`);
    check(played.duration > 0, `call audio duration ${played.duration}`);
    check(played.currentTime > 0 && !played.paused, `call audio did not play: ${JSON.stringify(played)}`);

    step('export the CSV');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
    const csvPath = path.join(artifacts, `batch-${batchId}.csv`);
    await download.saveAs(csvPath);
    const lines = fs.readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    check(lines.length === total + 1, `CSV has ${lines.length} lines, expected ${total + 1}`);

    step('batches list shows the batch finished');
    await page.click('a[data-nav=batches]');
    const done = await page.waitForSelector(`#batches tr[data-batch="${batchId}"] td[data-finished]`);
    check(await done.textContent() === String(total), `list shows ${await done.textContent()} finished`);
    await page.screenshot({ path: path.join(artifacts, 'batches.png') });

    step('preview a voice on the workflows page');
    await page.click('a[data-nav=workflows]');
    const card = `article[data-workflow="${workflowId}"]`;
    await page.waitForSelector(card);
    await page.selectOption(`${card} select >> nth=0`, 'yoruba');
    await page.selectOption(`${card} select >> nth=1`, 'male');
    await page.click(`${card} button`);
    const preview = await playAudio(page, `${card} audio`);
    check(preview.duration > 0, `preview duration ${preview.duration}`);
    await page.screenshot({ path: path.join(artifacts, 'workflows.png') });

    step('open /docs');
    await page.goto(`${base}/docs`);
    await page.waitForFunction(() => document.querySelectorAll('details.op').length > 10);
    await page.click('details#placeBatch > summary');
    await page.waitForSelector('details#placeBatch[open] pre.example', { state: 'attached' });
    const ops = await page.$$eval('details.op', d => d.length);
    await page.screenshot({ path: path.join(artifacts, 'docs.png'), fullPage: false });

    check(problems.length === 0, `browser reported: ${problems.join(' | ')}`);
    console.log(JSON.stringify({ ok: true, batch_id: batchId, counts, call_audio: played, preview, docs_operations: ops,
      screenshots: [path.join(artifacts, 'dashboard-batch.png'), path.join(artifacts, 'docs.png')] }));
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
