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
  SECRET_FILE, assert, demoPath, expectedChecksum, history, scenario, startServer, stopServers, token, uniq,
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
  // leeway 1 s: a page's token expires within the test (the demo's dev token holds 12 hours)
  srv = await startServer({ name: 'browser', env: { DORM_STREAMER_WEB: WEB }, args: ['--progress-interval-ms', '20', '--jwt-leeway', '1'] });
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

// A web team's own page code: the client module the demo page loads, driven
// from the page (its WebSocket is Chromium's). Each returns what the page saw.

scenario('a page asking status often while its report runs: the refused asks end no report', async () => {
  // 70 status asks at once pass the connection's 32 messages in flight: the
  // server refuses the rest RATE_LIMITED without a seq. Those refusals once
  // rejected the report's own promise while its job went on (the page showed
  // it failed; a retry under a new id ran it twice).
  const out = await page.evaluate(async (tk) => {
    const { connect } = await import(new URL('client/index.js', location.href).href);
    const c = await connect(`ws://${location.host}/`, { token: tk });
    const seqs = [];
    const p = c.request('GenerateReport', { rows: 30, stepMs: 60 }, { onProgress: (x) => seqs.push(x.progress.rows) });
    while (seqs.length < 3) await new Promise((r) => setTimeout(r, 20));
    const asks = await Promise.all(Array.from({ length: 70 }, () => c.status(p.id).then((s) => s.status, (e) => e.code)));
    const result = await p.then((r) => r, (e) => ({ failed: e.code, message: e.message }));
    c.close();
    return { id: p.id, asks, result, rows: seqs };
  }, tok);
  assert.equal(out.result.failed, undefined, `the report ended ${JSON.stringify(out.result)}`);
  assert.equal(out.result.checksum, expectedChecksum(30));
  assert.deepEqual(out.rows, Array.from({ length: 30 }, (_, i) => i + 1), 'every row once, in order');
  assert.ok(out.asks.includes('RATE_LIMITED'), `some asks were refused: ${out.asks}`);
  assert.ok(out.asks.some((a) => a === 'PROCESSING'), `some were answered: ${out.asks}`);
  const hist = await history(srv, tok, out.id);
  assert.equal(hist.filter((m) => m.type === 'ack').length, 1, 'one job');
  assert.equal(hist.at(-1).type, 'complete');
  assert.deepEqual(pageErrors, []);
}, { timeoutMs: 90000 });

scenario('payloads the server cannot read (a lone surrogate, 33 levels, over 128 KB) reject at once instead of waiting for ever', async () => {
  // The server answers such a frame with an error that names no request
  // (it could not read the id): the request used to wait for ever.
  const out = await page.evaluate(async (tk) => {
    const { connect } = await import(new URL('client/index.js', location.href).href);
    const c = await connect(`ws://${location.host}/`, { token: tk });
    const outcome = (p) => Promise.race([
      p.then((r) => ({ ok: r }), (e) => ({ code: e.code, message: e.message })),
      new Promise((r) => setTimeout(() => r({ hang: true }), 5000)),
    ]);
    let deep = { text: 'x' };
    for (let i = 0; i < 32; i++) deep = { text: 'x', n: deep };
    const r = {
      surrogate: await outcome(c.request('Echo', { text: 'pasted \ud83d half an emoji' })),
      deep: await outcome(c.request('Echo', deep)),
      large: await outcome(c.request('Echo', { text: 'é'.repeat(70000) })), // 70,000 characters, 140,000 bytes
      fine: await outcome(c.request('Echo', { text: 'é😀'.repeat(20000) })), // 120,000 bytes: a chunked answer
    };
    c.close();
    const fine = r.fine.ok ? { exact: r.fine.ok.text === 'é😀'.repeat(20000), length: r.fine.ok.text.length } : r.fine;
    return { ...r, fine };
  }, tok);
  assert.equal(out.surrogate.code, 'INVALID_PAYLOAD', JSON.stringify(out.surrogate));
  assert.match(out.surrogate.message, /payload\.text: .*lone surrogate/);
  assert.equal(out.deep.code, 'INVALID_PAYLOAD', JSON.stringify(out.deep));
  assert.match(out.deep.message, /deeper than 32 levels/);
  assert.equal(out.large.code, 'PAYLOAD_TOO_LARGE', JSON.stringify(out.large));
  assert.deepEqual(out.fine, { exact: true, length: 60000 }, 'within the limits: sent, answered exactly');
  assert.deepEqual(pageErrors, []);
});

scenario('a token that expires and is not renewed: the report rejects UNAUTHORIZED, the page is not left reconnecting', async () => {
  // The server closes the connection at exp (+ 1 s leeway here) saying
  // UNAUTHORIZED with no request id; the same token is refused at the
  // upgrade, which a browser does not see: the client reconnected for ever.
  const sub = uniq('browser-exp');
  const short = await token({ sub, expIn: 3 });
  const out = await page.evaluate(async (tk) => {
    const { connect } = await import(new URL('client/index.js', location.href).href);
    const states = [];
    const c = await connect(`ws://${location.host}/`, { token: tk, onStateChange: (s) => states.push(s), reconnect: { initialDelayMs: 100, maxDelayMs: 200 } });
    const p = c.request('GenerateReport', { rows: 200, stepMs: 50 });
    const r = await Promise.race([
      p.then(() => ({ ok: true }), (e) => ({ code: e.code, retryable: e.retryable, message: e.message })),
      new Promise((res) => setTimeout(() => res({ hang: true, state: c.state, reconnects: c.reconnects }), 20000)),
    ]);
    return { ...r, id: p.id, states, state: c.state };
  }, short);
  assert.equal(out.code, 'UNAUTHORIZED', JSON.stringify(out));
  assert.equal(out.retryable, true);
  assert.equal(out.state, 'closed');
  // the job went on: a page that logs in again follows it to its end
  const fresh = await token({ sub });
  const end = await page.evaluate(async ([tk, id]) => {
    const { connect } = await import(new URL('client/index.js', location.href).href);
    const c = await connect(`ws://${location.host}/`, { token: tk });
    const r = await c.follow(id).then((x) => x, (e) => ({ failed: e.code }));
    c.close();
    return r;
  }, [fresh, out.id]);
  assert.equal(end.checksum, expectedChecksum(200));
  pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !/WebSocket connection to .* failed/.test(e)));
  assert.deepEqual(pageErrors, []);
}, { timeoutMs: 90000 });

scenario('the server stops cleanly', async () => {
  await browser.close();
  browser = null;
  assert.deepEqual(await stopServers([srv]), []);
});
