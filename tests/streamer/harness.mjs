// The streamer's end-to-end harness: real streamer-demo processes against the
// DynamoDB Local that the ctest fixture started, real WebSocket clients (ws),
// real JWTs (jose). docs/streamer.md is the protocol these tests hold the
// server to.
//
// Everything waits with a deadline: a server that never says "listening", a
// message that never comes, a process that does not exit. A test fails with
// what it saw (the messages received, the tail of every server's stderr);
// it never hangs.
//
// Environment (set by tests/streamer/CMakeLists.txt through dorm_test):
//   STREAMER_DEMO            the built streamer-demo
//   DORM_TEST_ENDPOINT_FILE  first line: DynamoDB Local's URL (or DORM_TEST_ENDPOINT)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SignJWT } from 'jose';

export { assert, test };
// for tests elsewhere (clients/js/test) that have no node_modules of their own
export { WebSocket };

export const DEFAULT_TIMEOUT_MS = 15000; // one message, one process start
export const TEST_TIMEOUT_MS = 60000;    // one test

// ---------------------------------------------------------------- environment

/** The test-only server (tests/streamer/testd): testd.dorm's endpoints. */
export function testdPath() {
  const p = process.env.STREAMER_TESTD;
  if (!p || !existsSync(p)) throw new Error(`STREAMER_TESTD is not set to the built streamer-testd (got '${p ?? ''}')`);
  return p;
}

export function demoPath() {
  const p = process.env.STREAMER_DEMO;
  if (!p || !existsSync(p)) throw new Error(`STREAMER_DEMO is not set to the built streamer-demo (got '${p ?? ''}')`);
  return p;
}

export function ddbEndpoint() {
  if (process.env.DORM_TEST_ENDPOINT) return process.env.DORM_TEST_ENDPOINT.trim();
  const f = process.env.DORM_TEST_ENDPOINT_FILE;
  if (!f) throw new Error('neither DORM_TEST_ENDPOINT nor DORM_TEST_ENDPOINT_FILE is set (run through ctest: the DDB fixture)');
  const url = readFileSync(f, 'utf8').split('\n')[0].trim();
  if (!url) throw new Error(`${f} holds no endpoint`);
  return url;
}

const work = mkdtempSync(join(tmpdir(), 'dorm-streamer-e2e-'));
export function workFile(name, content) {
  const p = join(work, name);
  writeFileSync(p, content);
  return p;
}

// One HMAC secret per test file; servers read it from a file.
export const HS_SECRET = randomBytes(32).toString('hex');
export const SECRET_FILE = workFile('hs256.secret', HS_SECRET + '\n');

let counter = 0;
/** A name no other test (or earlier run) uses: the streamer's tables are shared. */
export function uniq(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The checksum GenerateReport returns: lowercase hex SHA-256 of "1\n2\n...\n<rows>\n". */
export function expectedChecksum(rows) {
  let text = '';
  for (let i = 1; i <= rows; i++) text += `${i}\n`;
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------- tokens

/** An HS256 token signed with the file's secret. claims: sub, scopes (array ->
 *  `scope` space-separated), tenant, iss, aud, exp/nbf/iat overrides, extra. */
export async function token({
  sub = uniq('user'), scopes = ['reports:write'], tenant = 'tenant-e2e', iss, aud,
  expIn = 3600, nbf, iat, extra = {}, secret = HS_SECRET,
} = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...extra };
  if (sub !== null) claims.sub = sub;
  if (tenant !== null) claims.tenant_id = tenant;
  if (scopes !== null) claims.scope = scopes.join(' ');
  let j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(iat ?? now);
  if (expIn !== null) j = j.setExpirationTime(now + expIn);
  if (nbf !== undefined) j = j.setNotBefore(nbf);
  if (iss) j = j.setIssuer(iss);
  if (aud) j = j.setAudience(aud);
  return j.sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

// ---------------------------------------------------------------- servers

const servers = new Set();
const clients = new Set();

/**
 * Starts streamer-demo: --port 0 --ddb-endpoint <fixture> --create-tables
 * --jwt-hs256-secret-file <file's secret> (unless auth: false) plus args
 * (ddb: another DynamoDB endpoint, e.g. a countingProxy's; createTables:
 * false leaves out --create-tables), and waits for `listening on 127.0.0.1:P`.
 */
export async function startServer({ name = 'streamer', args = [], auth = true, env = {}, timeoutMs = 60000, bin, ddb, createTables = true } = {}) {
  const argv = ['--port', '0', '--ddb-endpoint', ddb ?? ddbEndpoint()];
  if (createTables) argv.push('--create-tables');
  if (auth) argv.push('--jwt-hs256-secret-file', SECRET_FILE);
  argv.push(...args);
  // Its own process group: a signal meant for the test runner's group (a
  // terminal's ^C, a runner stopping its children) never reaches a server
  // mid-scenario; the watchdog below and after() still stop every one.
  const proc = spawn(bin ?? demoPath(), argv, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', ...env },
  });
  const srv = new Server(name, proc, argv);
  servers.add(srv);
  // If this node process dies without cleaning up (killed by ctest), the
  // watchdog kills the server within a second: never a process left behind.
  const dog = spawn('sh', ['-c',
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`],
  { stdio: 'ignore', detached: true });
  dog.unref();
  await srv.ready(timeoutMs);
  return srv;
}

class Server {
  constructor(name, proc, argv) {
    this.name = name;
    this.proc = proc;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null; // {code, signal}
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
    });
    proc.on('error', (e) => { this.stderr += `\n[harness] spawn failed: ${e.message}\n`; });
    proc.stdout.on('data', (d) => { this.stdout += d; });
    proc.stderr.on('data', (d) => { this.stderr += d; });
  }

  async ready(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(this.stdout);
      if (m) {
        this.port = Number(m[1]);
        this.http = `http://127.0.0.1:${this.port}`;
        this.ws = `ws://127.0.0.1:${this.port}/`;
        return;
      }
      if (this.exit) {
        throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before listening\n${this.describe()}`);
      }
      if (Date.now() > deadline) {
        this.kill('SIGKILL');
        throw new Error(`${this.name} did not print 'listening on 127.0.0.1:P' within ${timeoutMs} ms\n${this.describe()}`);
      }
      await sleep(25);
    }
  }

  get alive() { return this.exit === null; }
  get pid() { return this.proc.pid; }

  kill(signal = 'SIGKILL') {
    if (this.alive) {
      try { this.proc.kill(signal); } catch { /* already gone */ }
    }
  }

  /** Waits for the process to exit; SIGKILLs it (and fails) after timeoutMs. */
  async waitExit(timeoutMs = DEFAULT_TIMEOUT_MS) {
    let timer;
    const r = await Promise.race([
      this.exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (r === null) {
      this.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms; killed\n${this.describe()}`);
    }
    return r;
  }

  /** Sanitizer reports or crashes in stderr (the suite also runs under ASan/UBSan). */
  sanitizerReports() {
    return this.stderr.split('\n').filter((l) =>
      /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: .*Sanitizer|Segmentation fault|Assertion .* failed/.test(l));
  }

  logLines() {
    return this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
  }

  describe(lines = 40) {
    const tail = this.stderr.split('\n').slice(-lines).join('\n');
    return `--- ${this.name} (pid ${this.proc.pid}, port ${this.port ?? '?'}, ${this.exit ? `exited ${JSON.stringify(this.exit)}` : 'running'}) args: ${this.argv.join(' ')}\n` +
      `--- stdout:\n${this.stdout.slice(-2000)}\n--- stderr (last ${lines} lines):\n${tail}`;
  }

  async get(path, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const res = await fetch(this.http + path, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async metrics() {
    const r = await this.get('/metrics');
    assert.equal(r.status, 200, `GET /metrics of ${this.name}: ${r.status} ${r.text}`);
    return parseMetrics(r.text);
  }

  async completed(endpoint = 'GenerateReport') {
    return metric(await this.metrics(), 'dorm_streamer_requests_total', { endpoint, outcome: 'completed' });
  }
}

/** Prometheus text -> [{name, labels, value}] */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: '${line}'`);
    const labels = {};
    if (m[3]) for (const kv of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The value of one sample (0 when the series does not exist yet). */
export function metric(samples, name, labels = {}) {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : 0;
}

/** Every server this file started, for failure messages. */
export function allServerLogs() {
  return [...servers].map((s) => s.describe()).join('\n');
}

/**
 * Stops the servers with SIGTERM and checks that each exits 0 (a clean
 * shutdown, docs: "0 after a clean SIGINT/SIGTERM shutdown") and that no
 * sanitizer reported anything. Servers already dead are only checked for
 * sanitizer reports.
 */
export async function stopServers(list = [...servers]) {
  const problems = [];
  for (const s of list) {
    if (s.alive) {
      s.kill('SIGTERM');
      try {
        const r = await s.waitExit(20000);
        if (r.code !== 0) problems.push(`${s.name}: exit ${JSON.stringify(r)} after SIGTERM (expected 0)\n${s.describe()}`);
      } catch (e) { problems.push(e.message); }
    }
    const rep = s.sanitizerReports();
    if (rep.length) problems.push(`${s.name}: sanitizer/crash report in stderr:\n${rep.join('\n')}\n${s.describe(200)}`);
  }
  return problems;
}

// ---------------------------------------------------------------- clients

/**
 * Opens a WebSocket to server with a token, in the Authorization header
 * (via 'header') or the `token` query parameter (via 'query'). Resolves to
 * {ok: true, client} once upgraded, or {ok: false, status, body, error} when the
 * upgrade is refused or fails. Never waits longer than timeoutMs.
 */
export function tryConnect(server, tok, { via = 'header', headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const url = via === 'query' && tok !== undefined ? `${server.ws}?token=${encodeURIComponent(tok)}` : server.ws;
  const h = { ...headers };
  if (via === 'header' && tok !== undefined) h.Authorization = `Bearer ${tok}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => { if (!done) { done = true; clearTimeout(timer); resolve(r); } };
    const ws = new WebSocket(url, { headers: h, handshakeTimeout: timeoutMs, maxPayload: 64 * 1024 * 1024 });
    const client = new Client(ws);
    const timer = setTimeout(() => { ws.terminate(); finish({ ok: false, error: `no answer to the upgrade within ${timeoutMs} ms` }); }, timeoutMs);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      const end = () => { req.destroy(); finish({ ok: false, status: res.statusCode, body }); };
      res.on('end', end);
      res.on('error', end);
      setTimeout(end, 1000).unref();
    });
    ws.on('open', () => { clients.add(client); finish({ ok: true, client }); });
    ws.on('error', (e) => finish({ ok: false, error: e.message }));
    ws.on('close', (code) => finish({ ok: false, error: `closed (${code}) before the upgrade completed` }));
  });
}

/** Connects and waits for the `connected` message; fails the test otherwise. */
export async function connect(server, tok, opts = {}) {
  const r = await tryConnect(server, tok, opts);
  if (!r.ok) throw new Error(`connect to ${server.name} refused: ${JSON.stringify(r)}\n${server.describe()}`);
  const hello = await r.client.waitFor((m) => m.type === 'connected', { what: 'the connected message' });
  assert.equal(typeof hello.connection_id, 'string', `connected message without a connection_id: ${JSON.stringify(hello)}`);
  assert.ok(hello.connection_id.length > 0);
  r.client.connectionId = hello.connection_id;
  return r.client;
}

export class Client {
  constructor(ws) {
    this.ws = ws;
    this.messages = [];   // parsed server messages, in arrival order
    this.raw = [];        // frames as received
    this.at = [];         // arrival time (ms) of each message
    this.waiters = new Set();
    this.closed = false;
    this.closeCode = null;
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      this.raw.push(text);
      this.at.push(Date.now());
      let m;
      try { m = JSON.parse(text); } catch { m = { __unparseable: text, __binary: isBinary }; }
      this.messages.push(m);
      this.wake();
    });
    ws.on('close', (code) => { this.closed = true; this.closeCode = code; clients.delete(this); this.wake(); });
    ws.on('error', () => { /* close follows */ });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  send(msg) { this.ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg)); }

  /** When message m arrived (ms since the epoch). */
  arrival(m) { return this.at[this.messages.indexOf(m)]; }

  /** Messages for one request id, in arrival order. */
  of(rid) { return this.messages.filter((m) => m.request_id === rid); }

  /**
   * The first message at index >= from that satisfies pred; waits up to
   * timeoutMs. Fails with everything received so far.
   */
  waitFor(pred, { timeoutMs = DEFAULT_TIMEOUT_MS, from = 0, what = 'a message' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.messages.length; i++) {
          if (pred(this.messages[i])) { cleanup(); resolve(this.messages[i]); return true; }
        }
        if (this.closed) {
          cleanup();
          reject(new Error(`the connection closed (code ${this.closeCode}) before ${what}; received:\n${this.dump()}`));
          return true;
        }
        return false;
      };
      const cleanup = () => { clearTimeout(timer); this.waiters.delete(check); };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received:\n${this.dump()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The terminal message (complete or error) of rid, after index from. */
  terminal(rid, { timeoutMs = 30000, from = 0 } = {}) {
    return this.waitFor((m) => m.request_id === rid && (m.type === 'complete' || m.type === 'error'),
      { timeoutMs, from, what: `complete/error for ${rid}` });
  }

  /** Sends msg and waits for the next message about its request id (or any, for ping). */
  async call(msg, { timeoutMs = DEFAULT_TIMEOUT_MS, pred } = {}) {
    const from = this.messages.length;
    this.send(msg);
    const rid = typeof msg === 'object' ? msg.id : undefined;
    // the answer: not a progress/ack/chunk of a job that is still running
    const answer = (m) => !['connected', 'progress', 'ack', 'result_chunk'].includes(m.type) &&
      (rid === undefined || m.request_id === rid);
    return this.waitFor(pred ?? answer,
      { timeoutMs, from, what: `an answer to ${JSON.stringify(msg).slice(0, 200)}` });
  }

  dump(max = 60) {
    const lines = this.raw.slice(-max).map((t) => (t.length > 400 ? `${t.slice(0, 400)}... (${t.length} bytes)` : t));
    return `  ${lines.join('\n  ') || '(nothing)'}`;
  }

  /** Closes without a close handshake: the client vanishes. */
  vanish() { this.ws.terminate(); }

  close() {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.ws.terminate(); resolve(); }, 3000);
      this.ws.once('close', () => { clearTimeout(t); resolve(); });
      try { this.ws.close(1000); } catch { this.ws.terminate(); }
    });
  }
}

// ---------------------------------------------------------------- protocol checks

const RFC3339_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every server message: an object with type and ts (RFC 3339 UTC, ms). */
export function checkEnvelope(m) {
  assert.ok(m && typeof m === 'object' && !m.__unparseable, `not a JSON object: ${JSON.stringify(m)}`);
  assert.equal(typeof m.type, 'string', `no type: ${JSON.stringify(m)}`);
  assert.match(String(m.ts), RFC3339_MS_UTC, `ts is not RFC 3339 UTC with milliseconds: ${JSON.stringify(m)}`);
}

/**
 * The messages of one request in one stream: seq is an integer and
 * consecutive (from firstSeq, +1 each, no gaps, no duplicates); progress
 * percent never decreases and stays in 0..100; typed progress rows strictly
 * increase (a job run twice would start again at 1).
 */
export function checkStream(msgs, { firstSeq = 1, rowsIncrease = true } = {}) {
  const desc = () => msgs.map((m) => `${m.seq}:${m.type}`).join(' ');
  msgs.forEach(checkEnvelope);
  msgs.forEach((m, i) => {
    assert.ok(Number.isInteger(m.seq), `message without an integer seq: ${JSON.stringify(m)}`);
    assert.equal(m.seq, firstSeq + i, `seq must grow by one with no gaps or duplicates; got ${desc()}`);
  });
  let lastPct = -1;
  let lastRows = 0;
  for (const m of msgs.filter((x) => x.type === 'progress')) {
    assert.equal(typeof m.percent, 'number', `progress without percent: ${JSON.stringify(m)}`);
    assert.ok(m.percent >= 0 && m.percent <= 100, `percent out of 0..100: ${JSON.stringify(m)}`);
    assert.ok(m.percent >= lastPct, `percent went backwards (${lastPct} -> ${m.percent}) in ${desc()}`);
    lastPct = m.percent;
    if (rowsIncrease && m.progress !== undefined) {
      assert.equal(typeof m.progress.rows, 'number', `typed progress without rows: ${JSON.stringify(m)}`);
      assert.ok(m.progress.rows > lastRows, `progress rows must increase (${lastRows} -> ${m.progress.rows}): the job ran twice or out of order`);
      lastRows = m.progress.rows;
    }
  }
}

/** A complete message for GenerateReport(rows). */
export function checkReportComplete(m, rows) {
  assert.equal(m.type, 'complete', `expected complete, got ${JSON.stringify(m)}`);
  assert.deepEqual(m.result, { rows, checksum: expectedChecksum(rows) }, `wrong result: ${JSON.stringify(m)}`);
}

export function checkError(m, code, rid) {
  checkEnvelope(m);
  assert.equal(m.type, 'error', `expected an error ${code}, got ${JSON.stringify(m)}`);
  assert.ok(m.error && typeof m.error === 'object', `error without error object: ${JSON.stringify(m)}`);
  assert.equal(m.error.code, code, `expected error code ${code}: ${JSON.stringify(m)}`);
  assert.equal(typeof m.error.message, 'string');
  assert.equal(typeof m.error.retryable, 'boolean', `error.retryable must be a boolean: ${JSON.stringify(m)}`);
  if (rid !== undefined) assert.equal(m.request_id, rid, `error must carry the request id: ${JSON.stringify(m)}`);
}

/** Replays a request from seq 0 on a fresh connection (resume last_seq 0) and
 *  returns the stored history once its terminal message has arrived. */
export async function history(server, tok, rid, { timeoutMs = 30000 } = {}) {
  const c = await connect(server, tok);
  try {
    c.send({ id: rid, action: 'resume', last_seq: 0 });
    await c.terminal(rid, { timeoutMs });
    await sleep(300); // nothing may follow the terminal message
    return c.of(rid);
  } finally {
    await c.close();
  }
}

// ---------------------------------------------------------------- tests

/**
 * A test bounded in time whose failure carries every server's stderr tail.
 */
export function scenario(name, fn, { timeoutMs = TEST_TIMEOUT_MS } = {}) {
  test(name, { timeout: timeoutMs }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const logs = allServerLogs();
      if (e && typeof e === 'object') {
        try { e.message = `${e.message}\n${logs}`; } catch { /* read-only */ }
      }
      throw e;
    }
  });
}

function cleanupSync() {
  for (const c of clients) { try { c.ws.terminate(); } catch { /* gone */ } }
  for (const s of servers) s.kill('SIGKILL');
  try { rmSync(work, { recursive: true, force: true }); } catch { /* best effort */ }
}

after(async () => {
  for (const c of clients) { try { c.ws.terminate(); } catch { /* gone */ } }
  // whatever a failed test left running
  for (const s of servers) s.kill('SIGKILL');
  await Promise.race([Promise.all([...servers].map((s) => s.exited)), sleep(5000)]);
  cleanupSync();
});
process.on('exit', cleanupSync);

// ---------------------------------------------------------------- DynamoDB calls

/** A proxy in front of the fixture's DynamoDB Local that counts calls (ddb-proxy.mjs;
 *  opts.beforeForward(op, body) runs before each call is passed on). */
export async function countingProxy(opts = {}) {
  const { countingProxy: start } = await import('./ddb-proxy.mjs');
  return start(ddbEndpoint(), opts);
}
