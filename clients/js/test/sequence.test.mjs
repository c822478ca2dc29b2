// The client's message sequencing against a scripted WebSocket: orders the
// real server seldom produces on demand (a message ahead of an older one, a
// duplicate, a gap that stays open, a chunk missing, a socket that stops
// answering pings). The behaviour against the real server is client.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StreamerError } from '../index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A WebSocket whose server side the test plays. */
class FakeWS {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = {};
    FakeWS.all.push(this);
    setTimeout(() => this.accept(), 0);
  }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  emit(type, ev) { for (const fn of this.listeners[type] || []) fn(ev); }
  accept() {
    if (this.readyState !== 0) return;
    this.readyState = 1;
    this.emit('open', {});
    this.deliver({ type: 'connected', connection_id: `c${FakeWS.all.indexOf(this)}` });
  }
  deliver(m) { this.emit('message', { data: JSON.stringify(m) }); }
  send(text) {
    const m = JSON.parse(text);
    this.sent.push(m);
    if (this.autoPong && m.action === 'ping') setTimeout(() => this.deliver({ type: 'pong' }), 1);
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.emit('close', { code: 1006 }), 0);
  }
  static last() { return FakeWS.all.at(-1); }
}

const msg = (type, rid, seq, extra = {}) => ({ type, request_id: rid, seq, ts: '2026-12-06T20:00:00.000Z', ...extra });
const OPTS = { WebSocket: FakeWS, pingIntervalMs: 0, gapMs: 50, reconnect: { initialDelayMs: 10, maxDelayMs: 20 } };

test('messages are applied in seq order, once: an early one waits, a duplicate is dropped', async () => {
  const c = await connect('ws://fake/', { ...OPTS, token: 't1' });
  const ws = FakeWS.last();
  assert.match(ws.url, /\?token=t1$/);
  const seen = [];
  const p = c.request('GenerateReport', { rows: 3 }, { onProgress: (x) => seen.push(x.seq) });
  assert.deepEqual(ws.sent[0], { id: p.id, action: 'GenerateReport', payload: { rows: 3 } });
  ws.deliver(msg('ack', p.id, 1, { endpoint: 'GenerateReport', status: 'PENDING' }));
  ws.deliver(msg('progress', p.id, 3, { percent: 66 }));
  assert.deepEqual(seen, [], 'seq 3 waits for seq 2');
  ws.deliver(msg('progress', p.id, 2, { percent: 33 }));
  assert.deepEqual(seen, [2, 3]);
  ws.deliver(msg('progress', p.id, 2, { percent: 33 }));
  ws.deliver(msg('progress', p.id, 3, { percent: 66 }));
  assert.deepEqual(seen, [2, 3], 'duplicates dropped');
  ws.deliver(msg('complete', p.id, 4, { result: { ok: true } }));
  assert.deepEqual(await p, { ok: true });
  c.close();
});

test('a gap that stays open is filled by resume from the last seq applied', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('GenerateReport', {});
  ws.deliver(msg('ack', p.id, 1));
  ws.deliver(msg('progress', p.id, 2, { percent: 10 }));
  ws.deliver(msg('progress', p.id, 5, { percent: 50 }));
  await sleep(120);
  const resumes = ws.sent.filter((m) => m.action === 'resume');
  assert.deepEqual(resumes, [{ id: p.id, action: 'resume', last_seq: 2 }]);
  for (const s of [3, 4, 5]) ws.deliver(msg('progress', p.id, s, { percent: s * 10 }));
  ws.deliver(msg('complete', p.id, 6, { result: { n: 6 } }));
  assert.deepEqual(await p, { n: 6 });
  c.close();
});

test('chunks are joined in index order; a missing chunk is BAD_MESSAGE', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('Blob', {});
  const text = JSON.stringify({ data: 'x'.repeat(10) + 'é✓' });
  ws.deliver(msg('ack', p.id, 1));
  ws.deliver(msg('result_chunk', p.id, 2, { index: 0, count: 3, data: text.slice(0, 5) }));
  ws.deliver(msg('result_chunk', p.id, 3, { index: 1, count: 3, data: text.slice(5, 12) }));
  ws.deliver(msg('result_chunk', p.id, 4, { index: 2, count: 3, data: text.slice(12) }));
  ws.deliver(msg('complete', p.id, 5, { chunked: true }));
  assert.deepEqual(await p, JSON.parse(text));
  const q = c.request('Blob', {});
  ws.deliver(msg('ack', q.id, 1));
  ws.deliver(msg('result_chunk', q.id, 2, { index: 0, count: 2, data: '{"a":' }));
  ws.deliver(msg('complete', q.id, 3, { chunked: true }));
  const e = await q.catch((x) => x);
  assert.ok(e instanceof StreamerError);
  assert.equal(e.code, 'BAD_MESSAGE');
  c.close();
});

test('a sync call answered in chunks: result_chunk messages, then response with chunked: true', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('Echo', {});
  const text = JSON.stringify({ text: '"quoted" and \\ ' + 'y'.repeat(20) });
  ws.deliver(msg('result_chunk', p.id, 1, { index: 0, count: 2, data: text.slice(0, 9) }));
  ws.deliver(msg('result_chunk', p.id, 2, { index: 1, count: 2, data: text.slice(9) }));
  ws.deliver(msg('response', p.id, 3, { chunked: true }));
  assert.deepEqual(await p, JSON.parse(text));
  c.close();
});

test('after a reconnection: resume with the last seq, or the call again under the same id when nothing came', async () => {
  let calls = 0;
  const c = await connect('ws://fake/', { ...OPTS, token: () => { calls += 1; return `tok${calls}`; } });
  const ws1 = FakeWS.last();
  const a = c.request('GenerateReport', { rows: 1 });
  const b = c.request('GenerateReport', { rows: 2 });
  ws1.deliver(msg('ack', a.id, 1));
  ws1.deliver(msg('progress', a.id, 2, { percent: 50 }));
  ws1.close();
  while (FakeWS.last() === ws1 || c.state !== 'open') await sleep(5);
  const ws2 = FakeWS.last();
  assert.match(ws2.url, /token=tok2/, 'the token function is asked again');
  assert.deepEqual(ws2.sent, [
    { id: a.id, action: 'resume', last_seq: 2 },
    { id: b.id, action: 'GenerateReport', payload: { rows: 2 } },
  ]);
  assert.equal(c.reconnects, 1);
  ws2.deliver(msg('complete', a.id, 3, { result: { a: 1 } }));
  ws2.deliver(msg('ack', b.id, 1));
  ws2.deliver(msg('error', b.id, 2, { error: { code: 'HANDLER_FAILED', message: 'no', retryable: false } }));
  assert.deepEqual(await a, { a: 1 });
  const e = await b.catch((x) => x);
  assert.equal(e.code, 'HANDLER_FAILED');
  assert.equal(e.requestId, b.id);
  assert.equal(e.seq, 2);
  c.close();
});

test('no pong for a whole interval: the socket is dropped and replaced', async () => {
  const c = await connect('ws://fake/', { ...OPTS, pingIntervalMs: 40 });
  const ws1 = FakeWS.last();
  // no pong: the tick after the ping gives up on ws1
  while (FakeWS.last() === ws1 || c.state !== 'open') await sleep(5);
  assert.equal(ws1.sent.filter((m) => m.action === 'ping').length, 1);
  assert.equal(ws1.readyState, 3);
  const ws2 = FakeWS.last();
  ws2.autoPong = true;
  await sleep(300);
  assert.ok(ws2.sent.filter((m) => m.action === 'ping').length >= 2, 'pings go on');
  assert.equal(FakeWS.last(), ws2, 'answered pings keep the socket');
  c.close();
});

test('an aborted signal sends cancel (again after a reconnection until the request ends)', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws1 = FakeWS.last();
  const ac = new AbortController();
  const p = c.request('GenerateReport', {}, { signal: ac.signal });
  ws1.deliver(msg('ack', p.id, 1));
  ac.abort();
  assert.deepEqual(ws1.sent.at(-1), { id: p.id, action: 'cancel' });
  ws1.close();
  while (FakeWS.last() === ws1 || c.state !== 'open') await sleep(5);
  const ws2 = FakeWS.last();
  assert.deepEqual(ws2.sent, [{ id: p.id, action: 'resume', last_seq: 1 }, { id: p.id, action: 'cancel' }]);
  ws2.deliver(msg('error', p.id, 2, { error: { code: 'CANCELLED', message: 'cancelled by the client', retryable: false } }));
  assert.equal((await p.catch((x) => x)).code, 'CANCELLED');
  c.close();
});

test('a request silent for silenceMs is asked again with resume, at most once per interval; a call never acked is not', async () => {
  const c = await connect('ws://fake/', { ...OPTS, silenceMs: 80 });
  const ws = FakeWS.last();
  const quiet = c.request('GenerateReport', { rows: 1 });
  const unacked = c.request('Echo', { text: 'x' });
  ws.deliver(msg('ack', quiet.id, 1));
  ws.deliver(msg('progress', quiet.id, 2, { percent: 50 }));
  const t0 = Date.now();
  await sleep(40);
  assert.deepEqual(ws.sent.filter((m) => m.action === 'resume'), [], 'not before silenceMs');
  await sleep(110);
  const resumes = () => ws.sent.filter((m) => m.action === 'resume');
  // once per 80 ms of silence: a loaded machine's sleep(110) may last past 160 ms (two)
  const asked = resumes();
  assert.ok(asked.length >= 1 && asked.length <= Math.floor((Date.now() - t0) / 80), `once per interval: ${asked.length} in ${Date.now() - t0} ms`);
  for (const r of asked) assert.deepEqual(r, { id: quiet.id, action: 'resume', last_seq: 2 }, 'from the last seq; never for the unacked call');
  // a message resets the clock
  const t1 = Date.now();
  ws.deliver(msg('progress', quiet.id, 3, { percent: 60 }));
  await sleep(40);
  if (Date.now() - t1 < 80) assert.equal(resumes().length, asked.length, 'the clock starts again');
  await sleep(110);
  assert.deepEqual(resumes().at(-1), { id: quiet.id, action: 'resume', last_seq: 3 });
  const n = resumes().length;
  assert.ok(n - asked.length <= Math.floor((Date.now() - t1) / 80), `at most once per interval (${n - asked.length} in ${Date.now() - t1} ms at 80 ms)`);
  // what the resume brings settles the request
  ws.deliver(msg('complete', quiet.id, 4, { result: { rows: 1 } }));
  assert.deepEqual(await quiet, { rows: 1 });
  ws.deliver(msg('response', unacked.id, 1, { result: { text: 'x' } }));
  assert.deepEqual(await unacked, { text: 'x' });
  await sleep(200);
  assert.equal(resumes().length, n, 'nothing asked for settled requests');
  c.close();
});

test('silenceMs 0: never asks', async () => {
  const c = await connect('ws://fake/', { ...OPTS, silenceMs: 0 });
  const ws = FakeWS.last();
  const p = c.request('GenerateReport', {});
  ws.deliver(msg('ack', p.id, 1));
  await sleep(150);
  assert.deepEqual(ws.sent.filter((m) => m.action === 'resume'), []);
  ws.deliver(msg('complete', p.id, 2, { result: {} }));
  await p;
  c.close();
});

test('a status or cancel refused without a seq (RATE_LIMITED) does not end the request: status rejects, the job goes on', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('GenerateReport', { rows: 3 });
  ws.deliver(msg('ack', p.id, 1));
  const s1 = c.status(p.id);
  const s2 = c.status(p.id);
  // the first status is answered; the second one is refused (the connection's answers limit): no seq
  ws.deliver(msg('status', p.id, 2, { status: 'PROCESSING', endpoint: 'GenerateReport', percent: 10, last_seq: 2 }));
  ws.deliver({ type: 'error', request_id: p.id, ts: 'x', error: { code: 'RATE_LIMITED', message: 'too many', retryable: true } });
  assert.equal((await s1).status, 'PROCESSING');
  const e2 = await s2.catch((x) => x);
  assert.equal(e2.code, 'RATE_LIMITED', 'the refused status rejects');
  // a cancel refused the same way: asked again later, the request still waits for its end
  c.cancel(p.id);
  ws.deliver({ type: 'error', request_id: p.id, ts: 'x', error: { code: 'RATE_LIMITED', message: 'too many', retryable: true } });
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  await sleep(OPTS.gapMs * 3);
  assert.equal(settled, false, 'the request goes on');
  const after = ws.sent.slice(-2);
  assert.deepEqual(after, [{ id: p.id, action: 'resume', last_seq: 2 }, { id: p.id, action: 'cancel' }], 'resume and cancel again');
  ws.deliver(msg('progress', p.id, 3, { percent: 50 }));
  ws.deliver(msg('error', p.id, 4, { error: { code: 'CANCELLED', message: 'cancelled', retryable: false } }));
  assert.equal((await p.catch((x) => x)).code, 'CANCELLED');
  c.close();
});

test('a refusal without a seq while a status and a cancel wait: the status rejects and the cancel is sent again', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('GenerateReport', { rows: 3 });
  ws.deliver(msg('ack', p.id, 1));
  c.cancel(p.id);
  const s = c.status(p.id);
  // one of the two was refused; which one, the error does not say
  ws.deliver({ type: 'error', request_id: p.id, ts: 'x', error: { code: 'RATE_LIMITED', message: 'too many', retryable: true } });
  assert.equal((await s.catch((x) => x)).code, 'RATE_LIMITED');
  await sleep(OPTS.gapMs * 3);
  assert.deepEqual(ws.sent.filter((m) => m.action === 'cancel').length, 2, 'the cancel again');
  ws.deliver(msg('error', p.id, 2, { error: { code: 'CANCELLED', message: 'cancelled', retryable: false } }));
  assert.equal((await p.catch((x) => x)).code, 'CANCELLED');
  c.close();
});

test('a refused call (no seq, nothing heard) still rejects the request', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('GenerateReport', { rows: 3 });
  ws.deliver({ type: 'error', request_id: p.id, ts: 'x', error: { code: 'RATE_LIMITED', message: 'in flight', retryable: true } });
  const e = await p.catch((x) => x);
  assert.equal(e.code, 'RATE_LIMITED');
  assert.equal(e.retryable, true);
  c.close();
});

test('payloads the server cannot read reject at once, nothing sent (its answer would name no request)', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const deep = {};
  let d = deep;
  for (let i = 0; i < 32; i++) { d.n = {}; d = d.n; } // the payload object is level 1: 33 levels
  let ok32 = {}; // 31 levels of objects and arrays (both count): 32 as the payload's member
  for (let i = 1; i < 31; i++) ok32 = i % 2 ? [ok32] : { n: ok32 };
  const cyc = { a: {} };
  cyc.a.self = cyc;
  const cases = [
    [{ text: 'a\ud800b' }, 'INVALID_PAYLOAD', /payload\.text: .*lone surrogate/],
    [{ ['k\udc00']: 'x' }, 'INVALID_PAYLOAD', /payload: .*lone surrogate/],
    [{ list: ['ok', 'x\udfff'] }, 'INVALID_PAYLOAD', /payload\.list\[1\]: /],
    [deep, 'INVALID_PAYLOAD', /nested deeper than 32 levels/],
    [{ n: 10n }, 'INVALID_PAYLOAD', /payload\.n: a BigInt/],
    [{ n: NaN }, 'INVALID_PAYLOAD', /payload\.n: NaN/],
    [{ n: [1, -Infinity] }, 'INVALID_PAYLOAD', /payload\.n\[1\]: -Infinity/],
    [cyc, 'INVALID_PAYLOAD', /payload\.a\.self: .*contains itself/],
    [{ text: 'x'.repeat(131072) }, 'PAYLOAD_TOO_LARGE', /131072 bytes/],
    [{ text: 'é'.repeat(65500) }, 'PAYLOAD_TOO_LARGE', /131072 bytes/], // 65,500 characters, 131,000 bytes of UTF-8
  ];
  for (const [payload, code, re] of cases) {
    const p = c.request('Echo', payload);
    const e = await p.catch((x) => x);
    assert.ok(e instanceof StreamerError, `${code}: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, re);
    assert.equal(e.requestId, p.id);
  }
  assert.deepEqual(ws.sent, [], 'nothing sent');
  // within the limits: sent
  const fine = c.request('Echo', { text: 'é😀'.repeat(100), nested: ok32, when: new Date(0) });
  assert.equal(ws.sent.length, 1);
  assert.equal(ws.sent[0].payload.when, '1970-01-01T00:00:00.000Z');
  ws.deliver(msg('response', fine.id, 1, { result: { text: 'ok' } }));
  await fine;
  c.close();
});

test('a sync call cut off in its chunks is called again after a reconnection, its seqs from 1 again', async () => {
  const c = await connect('ws://fake/', { ...OPTS, silenceMs: 60 });
  const ws1 = FakeWS.last();
  const p = c.request('Echo', { text: 'big' });
  const text = JSON.stringify({ text: 'z'.repeat(30) });
  ws1.deliver(msg('result_chunk', p.id, 1, { index: 0, count: 2, data: text.slice(0, 10) }));
  await sleep(150); // longer than silenceMs: a sync call is never asked with resume (it is not stored)
  assert.deepEqual(ws1.sent.filter((m) => m.action === 'resume'), []);
  ws1.close();
  while (FakeWS.last() === ws1 || c.state !== 'open') await sleep(5);
  const ws2 = FakeWS.last();
  assert.deepEqual(ws2.sent, [{ id: p.id, action: 'Echo', payload: { text: 'big' } }], 'the call again, not resume');
  ws2.deliver(msg('result_chunk', p.id, 1, { index: 0, count: 2, data: text.slice(0, 10) }));
  ws2.deliver(msg('result_chunk', p.id, 2, { index: 1, count: 2, data: text.slice(10) }));
  ws2.deliver(msg('response', p.id, 3, { chunked: true }));
  assert.deepEqual(await p, JSON.parse(text));
  c.close();
});

test('a token the server said expired is not sent again: requests reject UNAUTHORIZED instead of reconnecting for ever', async () => {
  const c = await connect('ws://fake/', { ...OPTS, token: 'old' });
  const ws1 = FakeWS.last();
  const p = c.request('GenerateReport', {});
  ws1.deliver(msg('ack', p.id, 1));
  ws1.deliver({ type: 'error', ts: 'x', error: { code: 'UNAUTHORIZED', message: 'token expired: reconnect with a new token', retryable: true } });
  ws1.close();
  const e = await p.catch((x) => x);
  assert.equal(e.code, 'UNAUTHORIZED');
  assert.equal(e.retryable, true);
  assert.match(e.message, /token expired/);
  assert.equal(c.state, 'closed');
  assert.equal(FakeWS.last(), ws1, 'no new connection with the expired token');
  // a token function that gives a fresh token reconnects as before
  let n = 0;
  const c2 = await connect('ws://fake/', { ...OPTS, token: () => `t${++n}` });
  const w1 = FakeWS.last();
  const q = c2.request('GenerateReport', {});
  w1.deliver(msg('ack', q.id, 1));
  w1.deliver({ type: 'error', ts: 'x', error: { code: 'UNAUTHORIZED', message: 'token expired', retryable: true } });
  w1.close();
  while (FakeWS.last() === w1 || c2.state !== 'open') await sleep(5);
  assert.match(FakeWS.last().url, /token=t2/);
  FakeWS.last().deliver(msg('complete', q.id, 2, { result: { ok: 1 } }));
  assert.deepEqual(await q, { ok: 1 });
  c2.close();
  // a function still refreshing gives the expired token back: asked again, no socket opened with it
  let fresh = false;
  const c3 = await connect('ws://fake/', { ...OPTS, reconnect: { initialDelayMs: 40, maxDelayMs: 40 }, token: () => (fresh ? 'new' : 'stale') });
  const v1 = FakeWS.last();
  const r = c3.request('GenerateReport', {});
  v1.deliver(msg('ack', r.id, 1));
  v1.deliver({ type: 'error', ts: 'x', error: { code: 'UNAUTHORIZED', message: 'token expired', retryable: true } });
  v1.close();
  await sleep(50); // at most two tries (20-40 ms apart) of the five
  assert.equal(FakeWS.last(), v1, 'the stale token is not sent');
  assert.equal(c3.state, 'reconnecting');
  fresh = true;
  while (FakeWS.last() === v1 || c3.state !== 'open') await sleep(5);
  assert.match(FakeWS.last().url, /token=new/);
  FakeWS.last().deliver(msg('complete', r.id, 2, { result: { ok: 3 } }));
  assert.deepEqual(await r, { ok: 3 });
  c3.close();
  // one that never refreshes: UNAUTHORIZED after a few tries
  const c4 = await connect('ws://fake/', { ...OPTS, token: () => 'same' });
  const u1 = FakeWS.last();
  const r4 = c4.request('GenerateReport', {});
  u1.deliver(msg('ack', r4.id, 1));
  u1.deliver({ type: 'error', ts: 'x', error: { code: 'UNAUTHORIZED', message: 'token expired', retryable: true } });
  u1.close();
  assert.equal((await r4.catch((x) => x)).code, 'UNAUTHORIZED');
  assert.equal(FakeWS.last(), u1);
});

test('a status whose answer a dropped connection lost is asked again on the new one; after close() it rejects CLOSED at once', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws1 = FakeWS.last();
  const s = c.status('r9', { timeoutMs: 2000 });
  assert.deepEqual(ws1.sent, [{ id: 'r9', action: 'status' }]);
  ws1.close(); // before the answer
  while (FakeWS.last() === ws1 || c.state !== 'open') await sleep(5);
  const ws2 = FakeWS.last();
  assert.deepEqual(ws2.sent, [{ id: 'r9', action: 'status' }], 'asked again');
  ws2.deliver(msg('status', 'r9', 3, { status: 'PROCESSING', endpoint: 'GenerateReport', percent: 40, last_seq: 3 }));
  assert.equal((await s).percent, 40);
  assert.equal(c.waiters.size, 0);
  c.close();
  const t0 = Date.now();
  const e = await c.status('r9').catch((x) => x);
  assert.equal(e.code, 'CLOSED');
  assert.ok(Date.now() - t0 < 1000, 'at once, not after the status timeout');
});

test('an id that names an earlier request of another endpoint rejects DUPLICATE_REQUEST, not with that request\'s result', async () => {
  const c = await connect('ws://fake/', OPTS);
  const ws = FakeWS.last();
  const p = c.request('Blob', { kb: 1 }, { id: 'dupx' });
  // the server answers a known id with the request's end (a new seq), then the gap brings the rest
  ws.deliver(msg('complete', 'dupx', 5, { result: { rows: 2, checksum: 'abc' } }));
  await sleep(OPTS.gapMs * 2);
  assert.deepEqual(ws.sent.at(-1), { id: 'dupx', action: 'resume', last_seq: 0 });
  ws.deliver(msg('ack', 'dupx', 1, { endpoint: 'GenerateReport', status: 'PENDING' }));
  const e = await p.catch((x) => x);
  assert.equal(e.code, 'DUPLICATE_REQUEST');
  assert.match(e.message, /already a GenerateReport request/);
  // the same endpoint is a retry: its state and end are the call's own
  const q = c.request('GenerateReport', { rows: 2 }, { id: 'dupy' });
  ws.deliver(msg('ack', 'dupy', 1, { endpoint: 'GenerateReport', status: 'PENDING' }));
  ws.deliver(msg('complete', 'dupy', 2, { result: { rows: 2 } }));
  assert.deepEqual(await q, { rows: 2 });
  c.close();
});
