// The demo page (examples/streamer/web) in a real browser: Debian's headless
// Chromium driven by playwright-core opens the page served by streamer-demo
// (DORM_STREAMER_WEB, the twin of --web) at the address scripts/streamer-demo.sh
// prints (a token minted by `streamer-demo --dev-token` in the fragment), runs a 50-row report and watches the bar move
// to 100 % and the checksum appear, then cancels a second report. Screenshots
// go to DORM_TEST_OUTPUT_DIR (ctest: <build>/tests/streamer/browser-output).
//
// run.sh skips (77) when Chromium or playwright-core is missing
// (STREAMER_NEEDS_CHROMIUM); scripts/setup.sh installs both.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import {
  SECRET_FILE, assert, demoPath, expectedChecksum, history, scenario, startServer, stopServers,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(here, '../../examples/streamer/web');
const OUT = process.env.DORM_TEST_OUTPUT_DIR || join(tmpdir(), 'dorm-browser-output');
mkdirSync(OUT, { recursive: true });

let srv;
let browser;
let page;
let tok;
const pageErrors = [];

before(async () => {
  srv = await startServer({ name: 'browser', env: { DORM_STREAMER_WEB: WEB }, args: ['--progress-interval-ms', '20'] });
  // the token the demo script prints: minted by the demo from its secret
  tok = execFileSync(demoPath(), ['--jwt-hs256-secret-file', SECRET_FILE, '--dev-token', `browser-${process.pid}`],
    { encoding: 'utf8' }).trim();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], // root in a container: no sandbox
    timeout: 60000,
  });
  page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  // the address scripts/streamer-demo.sh prints: the token in the fragment
  await page.goto(`${srv.http}/#token=${tok}`);
  assert.equal(await page.inputValue('#token'), tok, 'the token is taken from the address');
});

after(async () => { if (browser) await browser.close(); });

/** Records every value the bar and the row count take from now on. */
function watch() {
  return page.evaluate(() => {
    window.__bar = [];
    window.__rows = [];
    const bar = document.getElementById('bar');
    const rows = document.getElementById('rows-done');
    window.__obs?.forEach((o) => o.disconnect());
    const a = new MutationObserver(() => window.__bar.push(Number(bar.getAttribute('aria-valuenow'))));
    a.observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
    const b = new MutationObserver(() => window.__rows.push(Number(rows.textContent)));
    b.observe(rows, { childList: true, characterData: true, subtree: true });
    window.__obs = [a, b];
  });
}

const seenValues = () => page.evaluate(() => ({ bar: window.__bar, rows: window.__rows }));

scenario('a 50-row report: the bar moves through intermediate values to 100 %, the checksum is the SHA-256', async () => {
  await page.fill('#rows', '50');
  await page.fill('#step', '60');
  await watch();
  await page.click('#start');
  await page.waitForSelector('#state[data-state="running"]', { timeout: 15000 });
  await page.waitForSelector('#state[data-state="completed"]', { timeout: 90000 });
  const { bar, rows } = await seenValues();
  const between = [...new Set(bar.filter((v) => v > 0 && v < 100))];
  assert.ok(between.length >= 5, `the bar passed through intermediate values: ${bar}`);
  for (let i = 1; i < bar.length; i++) {
    if (bar[i] !== 0) assert.ok(bar[i] >= bar[i - 1], `the bar never goes back: ${bar}`);
  }
  assert.equal(bar.at(-1), 100);
  assert.equal(await page.getAttribute('#bar', 'aria-valuenow'), '100');
  assert.equal(await page.textContent('#percent'), '100 %');
  assert.ok(new Set(rows.filter((r) => r > 0 && r < 50)).size >= 5, `the row count moved: ${rows}`);
  assert.equal(await page.textContent('#rows-done'), '50');
  assert.equal(await page.textContent('#result-rows'), '50');
  assert.equal(await page.textContent('#checksum'), expectedChecksum(50));
  assert.equal(await page.getAttribute('#connection', 'data-state'), 'open');
  await page.screenshot({ path: join(OUT, 'report-completed.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
}, { timeoutMs: 120000 });

scenario('a reload mid-report: the page follows the same request to its end (resume from seq 0)', async () => {
  await page.fill('#rows', '40');
  await page.fill('#step', '80');
  await page.click('#start');
  await page.waitForFunction(() => Number(document.getElementById('rows-done').textContent) >= 5, null, { timeout: 20000 });
  const rid = await page.textContent('#request-id');
  await page.reload();
  await page.waitForSelector('#state[data-state="running"]', { timeout: 15000 });
  assert.equal(await page.textContent('#request-id'), rid, 'the same request, not a new one');
  await page.waitForSelector('#state[data-state="completed"]', { timeout: 90000 });
  assert.equal(await page.textContent('#rows-done'), '40');
  assert.equal(await page.textContent('#checksum'), expectedChecksum(40));
  const hist = await history(srv, tok, rid);
  assert.equal(hist.filter((m) => m.type === 'ack').length, 1, 'one job');
  assert.equal(hist.at(-1).type, 'complete');
  assert.deepEqual(pageErrors, []);
}, { timeoutMs: 120000 });

scenario('Cancel on a second report ends it cancelled, before its end', async () => {
  await page.fill('#rows', '400');
  await page.fill('#step', '50');
  await watch();
  await page.click('#start');
  await page.waitForFunction(() => Number(document.getElementById('rows-done').textContent) >= 5, null, { timeout: 20000 });
  assert.equal(await page.isEnabled('#cancel'), true);
  await page.click('#cancel');
  await page.waitForSelector('#state[data-state="cancelled"]', { timeout: 20000 });
  const now = Number(await page.getAttribute('#bar', 'aria-valuenow'));
  assert.ok(now > 0 && now < 100, `the bar stopped part way (${now})`);
  assert.equal(await page.textContent('#checksum'), '–', 'no result for a cancelled report');
  assert.equal(await page.isEnabled('#start'), true);
  assert.equal(await page.isEnabled('#cancel'), false);
  // the server agrees: the stored stream of that request ends with CANCELLED
  const rid = await page.textContent('#request-id');
  const hist = await history(srv, tok, rid);
  assert.equal(hist.at(-1).type, 'error');
  assert.equal(hist.at(-1).error.code, 'CANCELLED');
  await page.screenshot({ path: join(OUT, 'report-cancelled.png'), fullPage: true });
  console.log(`screenshots: ${join(OUT, 'report-completed.png')} ${join(OUT, 'report-cancelled.png')}`);
  assert.deepEqual(pageErrors, []);
});

scenario('the server stops cleanly', async () => {
  await browser.close();
  browser = null;
  assert.deepEqual(await stopServers([srv]), []);
});
