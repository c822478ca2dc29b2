// The JavaScript client against the real thing: streamer-demo processes
// (examples/streamer) on the DynamoDB Local of the ctest fixture, through
// tests/streamer's harness (which also brings the ws package: Node 20 has no
// global WebSocket). Run by ctest as streamer_js_client (tests/streamer/CMakeLists.txt):
//   ctest -R streamer_js_client --output-on-failure
import { before } from 'node:test';
import { createServer } from 'node:net';
import {
  WebSocket, assert, expectedChecksum, history, scenario, sleep, startServer, stopServers, token,
} from '../../../tests/streamer/harness.mjs';
import { connect, StreamerClient, StreamerError, PROTOCOL_ERROR_CODES } from '../index.js';

// Fast reconnects and short leases: a test of minutes would not be run. Pings
// every 10 s: no test here lasts long enough for a slow (sanitized, loaded)
// server's late pong to count as a dead connection and add a reconnection.
const FAST = { WebSocket, reconnect: { initialDelayMs: 100, maxDelayMs: 800 }, pingIntervalMs: 10000 };
const LEASE = ['--lease-ms', '2000', '--poll-ms', '100', '--progress-interval-ms', '20'];

let srv;
before(async () => { srv = await startServer({ name: 'js-client', args: LEASE }); });

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A WebSocket class that records every frame the client receives. */
function recording(frames) {
  return class extends WebSocket {
    constructor(url, ...rest) {
      super(url, ...rest);
      this.addEventListener('message', (ev) => { frames.push(JSON.parse(String(ev.data))); });
    }
  };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the promise resolved; a StreamerError was expected');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

scenario('request: progress in order, once each, then the typed result; a sync endpoint answers at once', async () => {
  const c = await connect(srv.ws, { ...FAST, token: await token() });
  try {
    assert.equal(c.state, 'open');
    assert.match(c.connectionId, /^[0-9a-f]+$/);
    const seen = [];
    const rows = 20;
    const p = c.request('GenerateReport', { rows, stepMs: 20 }, { onProgress: (x) => seen.push(x) });
    assert.match(p.id, /^[A-Za-z0-9._:-]{1,128}$/);
    const result = await p;
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.deepEqual(seen.map((x) => x.progress.rows), range(1, rows), 'every row once, in order (coalescing is off at 20 ms steps)');
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i].seq > seen[i - 1].seq, 'seq increases');
      assert.ok(seen[i].percent >= seen[i - 1].percent, 'percent never goes back');
    }
    assert.equal(seen.at(-1).percent, 100);
    assert.equal(seen.at(-1).message, `row ${rows} of ${rows}`);
    assert.deepEqual(await c.request('Echo', { text: 'héllo ✓' }), { text: 'héllo ✓' });
  } finally {
    c.close();
  }
});

scenario('an id reused for another endpoint rejects DUPLICATE_REQUEST (the server answered with the first request\'s result)', async () => {
  const c = await connect(srv.ws, { ...FAST, token: await token() });
  try {
    const id = `dup-${process.pid}-${Date.now()}`;
    assert.deepEqual(await c.request('GenerateReport', { rows: 2, stepMs: 1 }, { id }), { rows: 2, checksum: expectedChecksum(2) });
    const e = await rejection(c.request('Blob', { kb: 1 }, { id }));
    assert.equal(e.code, 'DUPLICATE_REQUEST', e.message);
    // the same endpoint again is a retry: the first request's result, no second job
    assert.deepEqual(await c.request('GenerateReport', { rows: 2, stepMs: 1 }, { id }), { rows: 2, checksum: expectedChecksum(2) });
  } finally {
    c.close();
  }
});

scenario('typed errors carry the protocol codes (INVALID_PAYLOAD, UNKNOWN_ACTION, HANDLER_FAILED, FORBIDDEN, CONNECT_FAILED)', async () => {
  const c = await connect(srv.ws, { ...FAST, token: await token() });
  try {
    const bad = await rejection(c.request('GenerateReport', { rows: 'many', stepMs: 1 }));
    assert.ok(bad instanceof StreamerError);
    assert.equal(bad.code, 'INVALID_PAYLOAD');
    assert.match(bad.message, /payload\.rows/);
    assert.equal(bad.retryable, false);
    const unknown = c.request('NoSuchThing', {});
    const e2 = await rejection(unknown);
    assert.equal(e2.code, 'UNKNOWN_ACTION');
    assert.equal(e2.requestId, unknown.id);
    const failed = await rejection(c.request('GenerateReport', { rows: 10, stepMs: 5, failAt: 3 }));
    assert.equal(failed.code, 'HANDLER_FAILED');
    assert.match(failed.message, /row 3/);
    for (const e of [bad, e2, failed]) assert.ok(PROTOCOL_ERROR_CODES.includes(e.code));
  } finally {
    c.close();
  }
  const noScope = await connect(srv.ws, { ...FAST, token: await token({ scopes: ['other'] }) });
  try {
    assert.equal((await rejection(noScope.request('GenerateReport', { rows: 1, stepMs: 0 }))).code, 'FORBIDDEN');
  } finally {
    noScope.close();
  }
  const refused = await rejection(connect(srv.ws, { ...FAST, token: await token({ secret: 'not-the-secret' }) }));
  assert.ok(refused instanceof StreamerError);
  assert.equal(refused.code, 'CONNECT_FAILED');
  assert.match(refused.message, /401/, 'the ws package says why the upgrade failed: the message keeps it');
  assert.throws(() => new StreamerClient(srv.ws, { token: 'x', WebSocket: 42 }), /WebSocket/, 'not a WebSocket class: a clear error');
});

scenario('status while running, cancel through an AbortSignal ends CANCELLED, NOT_FOUND for an unknown id', async () => {
  const c = await connect(srv.ws, { ...FAST, token: await token() });
  try {
    const abort = new AbortController();
    let last = null;
    const p = c.request('GenerateReport', { rows: 300, stepMs: 50 }, { signal: abort.signal, onProgress: (x) => { last = x; } });
    while (!last || last.progress.rows < 3) await sleep(20);
    const st = await c.status(p.id);
    assert.equal(st.status, 'PROCESSING');
    assert.equal(st.endpoint, 'GenerateReport');
    assert.ok(st.percent > 0 && st.percent < 100, JSON.stringify(st));
    assert.ok(st.lastSeq >= 2);
    abort.abort();
    const e = await rejection(p);
    assert.equal(e.code, 'CANCELLED');
    assert.ok(last.progress.rows < 300, 'it stopped before the end');
    assert.equal((await c.status(p.id)).status, 'CANCELLED');
    const nf = await rejection(c.status('never-sent-by-anyone'));
    assert.equal(nf.code, 'NOT_FOUND');
  } finally {
    c.close();
  }
});

scenario('a result larger than a frame arrives as chunks and is reassembled', async () => {
  const frames = [];
  const c = await connect(srv.ws, { ...FAST, WebSocket: recording(frames), token: await token() });
  try {
    const kb = 300;
    const r = await c.request('Blob', { kb });
    assert.equal(r.size, kb * 1024);
    assert.equal(r.data.length, kb * 1024);
    const want = Array.from({ length: (kb * 1024) / 8 }, (_, i) => `${i.toString(16).padStart(7, '0')}\n`).join('');
    assert.ok(r.data === want, 'the pieces are joined in index order');
    const chunks = frames.filter((m) => m.type === 'result_chunk');
    assert.ok(chunks.length >= 3, `the result came in chunks (${chunks.length})`);
    assert.ok(frames.some((m) => m.type === 'complete' && m.chunked === true));
  } finally {
    c.close();
  }
});

scenario('the connection drops mid-job: the client reconnects, resumes, and every row arrives exactly once', async () => {
  const states = [];
  const c = await connect(srv.ws, { ...FAST, token: await token(), onStateChange: (s) => states.push(s) });
  try {
    const rows = 30;
    const seen = [];
    const p = c.request('GenerateReport', { rows, stepMs: 60 }, { onProgress: (x) => seen.push(x.progress.rows) });
    for (let drop = 0; drop < 2; drop++) {
      while (seen.length < 6 + drop * 8) await sleep(10);
      c.ws.terminate(); // the network goes away: no close handshake
    }
    const result = await p;
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.deepEqual(seen, range(1, rows), 'each row once and in order across three connections');
    assert.equal(c.reconnects, 2);
    assert.deepEqual(states.filter((s) => s === 'reconnecting').length, 2, `states: ${states}`);
  } finally {
    c.close();
  }
});

scenario('the server restarts mid-job: the client comes back to the new process and loses nothing', async () => {
  const port = await freePort();
  const args = [...LEASE, '--port', String(port)];
  let s1 = await startServer({ name: 'restart 1', args });
  let s2 = null;
  const tok = await token();
  const c = await connect(s1.ws, { ...FAST, token: tok });
  try {
    const rows = 30;
    const seen = [];
    const p = c.request('GenerateReport', { rows, stepMs: 100 }, { onProgress: (x) => seen.push(x) });
    while (seen.length < 6) await sleep(10);
    s1.kill('SIGKILL'); // a crash: the job's lease expires and the new process runs it
    await s1.waitExit(5000);
    await sleep(300);
    assert.notEqual(c.state, 'open', 'the client noticed');
    s2 = await startServer({ name: 'restart 2', args });
    const result = await p;
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.ok(c.reconnects >= 1);
    // Nothing lost, nothing twice: the progress the client reported is the
    // stored stream's progress, seq for seq (a job re-run after a crash
    // reports its rows again, under new seqs).
    const stored = (await history(s2, tok, p.id)).filter((m) => m.type === 'progress').map((m) => m.seq);
    assert.deepEqual(seen.map((x) => x.seq), stored);
    assert.equal(seen.at(-1).progress.rows, rows);
  } finally {
    c.close();
    const problems = await stopServers([s1, ...(s2 ? [s2] : [])]);
    assert.deepEqual(problems, []);
  }
}, { timeoutMs: 90000 });

scenario('a connection that goes silent (the server stopped, the socket still open) is found by ping and replaced', async () => {
  const s = await startServer({ name: 'silent', args: LEASE });
  const tok = await token();
  const c = await connect(s.ws, { ...FAST, pingIntervalMs: 300, connectTimeoutMs: 500, token: tok });
  try {
    const rows = 25;
    const seen = [];
    const p = c.request('GenerateReport', { rows, stepMs: 60 }, { onProgress: (x) => seen.push(x) });
    while (seen.length < 5) await sleep(10);
    const before = c.connectionId;
    process.kill(s.pid, 'SIGSTOP'); // no FIN, no RST: only a missing pong tells
    try {
      const deadline = Date.now() + 5000;
      while (c.state === 'open' && Date.now() < deadline) await sleep(20);
      assert.equal(c.state, 'reconnecting', 'no pong within two intervals: the client gave up on the connection');
    } finally {
      process.kill(s.pid, 'SIGCONT');
    }
    const result = await p;
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.notEqual(c.connectionId, before, 'a new connection');
    assert.equal(seen.at(-1).progress.rows, rows);
    const stored = (await history(s, tok, p.id)).filter((m) => m.type === 'progress').map((m) => m.seq);
    assert.deepEqual(seen.map((x) => x.seq), stored, 'every stored progress message once, in order');
  } finally {
    c.close();
    assert.deepEqual(await stopServers([s]), []);
  }
}, { timeoutMs: 90000 });

scenario('a job end stored and never delivered (the frame lost) arrives through the silence resume', async () => {
  // What a processor killed between storing a job's end and sending it leaves
  // on API Gateway, where nothing else notices: the client must ask.
  let dropped = null;
  class LosesTheEnd extends WebSocket {
    addEventListener(type, fn, ...rest) {
      if (type !== 'message') return super.addEventListener(type, fn, ...rest);
      return super.addEventListener(type, (ev) => {
        const m = JSON.parse(String(ev.data));
        if (m.type === 'complete' && !dropped) { dropped = m; return; }
        fn(ev);
      }, ...rest);
    }
  }
  const c = await connect(srv.ws, { ...FAST, WebSocket: LosesTheEnd, token: await token(), silenceMs: 600 });
  try {
    const rows = 4;
    const seen = [];
    const p = c.request('GenerateReport', { rows, stepMs: 20 }, { onProgress: (x) => seen.push(x.progress.rows) });
    const result = await p;
    assert.ok(dropped, 'the first complete frame was lost on purpose');
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.deepEqual(seen, range(1, rows));
    assert.equal(c.reconnects, 0, 'no reconnection: the silence resume brought it');
  } finally {
    c.close();
  }
});

scenario('follow: another client of the same user picks a request up from seq 0 and gets it all, once', async () => {
  const tok = await token();
  const a = await connect(srv.ws, { ...FAST, token: tok });
  const rows = 20;
  const first = [];
  const p = a.request('GenerateReport', { rows, stepMs: 60 }, { onProgress: (x) => first.push(x.progress.rows) });
  p.catch(() => {});
  while (first.length < 4) await sleep(10);
  a.close(); // the page went away; the job goes on
  assert.equal((await rejection(p)).code, 'CLOSED');
  const b = await connect(srv.ws, { ...FAST, token: tok });
  try {
    const seen = [];
    const result = await b.follow(p.id, { onProgress: (x) => seen.push(x.progress.rows) });
    assert.deepEqual(result, { rows, checksum: expectedChecksum(rows) });
    assert.deepEqual(seen, range(1, rows), 'every row once, from the first');
    assert.equal((await rejection(b.follow('not-a-request-of-mine'))).code, 'NOT_FOUND');
  } finally {
    b.close();
  }
});

scenario('requests made while reconnecting are sent once the connection is back', async () => {
  const c = await connect(srv.ws, { ...FAST, token: await token() });
  try {
    c.ws.terminate();
    await sleep(20);
    assert.equal(c.state, 'reconnecting');
    const r = await c.request('Echo', { text: 'later' });
    assert.deepEqual(r, { text: 'later' });
    const e = await rejection((() => { const q = c.request('GenerateReport', { rows: 50, stepMs: 100 }); c.close(); return q; })());
    assert.equal(e.code, 'CLOSED');
  } finally {
    c.close();
  }
});

scenario('the server stops cleanly (and reports no sanitizer findings)', async () => {
  assert.deepEqual(await stopServers([srv]), []);
});
