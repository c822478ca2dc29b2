// Bad client messages get typed errors (docs/streamer.md: error codes, limits
// of 131,072 bytes and 33 levels, ids of 1-128 characters of A-Z a-z 0-9 . _ : -)
// and never take the server down.
import {
  assert, checkEnvelope, checkError, checkReportComplete, connect, metric, scenario, startServer, stopServers, token,
  uniq,
} from './harness.mjs';
import { before } from 'node:test';

let srv;
let tok;
before(async () => {
  srv = await startServer({ name: 'messages' });
  tok = await token();
});

/** Sends raw text and waits for the next error (any request id). */
async function errorFor(c, text, what) {
  const from = c.messages.length;
  c.send(text);
  const m = await c.waitFor((x) => x.type === 'error', { from, what: `an error for ${what}` });
  checkEnvelope(m);
  return m;
}

/** The connection and the server still work. */
async function stillServing(c) {
  const pong = await c.call({ action: 'ping' });
  assert.equal(pong.type, 'pong', 'the connection still answers ping');
  const rid = uniq('echo');
  const r = await c.call({ id: rid, action: 'Echo', payload: { text: 'still here' } });
  assert.deepEqual(r.result, { text: 'still here' });
  assert.ok(srv.alive, 'the server is running');
}

const malformed = [
  ['not JSON', '{"id":"x1","action":', /^the message is not valid JSON \(near byte 20 of 20\)$/],
  ['a lone surrogate escape', '{"id":"x1","action":"Echo","payload":{"text":"\\ud800"}}', /^the message is not valid JSON \(near byte 47 of 55\)$/],
  ['garbage', '\u0000\u0001garbage'],
  ['a JSON array', '[{"id":"x1","action":"ping"}]'],
  ['a JSON string', '"ping"'],
  ['a number', '42'],
  ['null', 'null'],
  ['an empty frame', ''],
  ['an object without action', '{"id":"x1"}'],
  ['a non-string action', '{"id":"x1","action":7}'],
  ['an empty action', '{"id":"x1","action":""}'],
  ['trailing garbage', '{"action":"ping"} {"action":"ping"}'],
];

for (const [what, text, says] of malformed) {
  scenario(`malformed message (${what}) -> error INVALID_MESSAGE, no seq; the connection goes on`, async () => {
    const c = await connect(srv, tok);
    const e = await errorFor(c, text, what);
    checkError(e, 'INVALID_MESSAGE');
    if (says) assert.match(e.error.message, says, `the error says what is wrong: ${JSON.stringify(e)}`);
    assert.equal(e.seq, undefined, `an unparseable frame belongs to no request: no seq (${JSON.stringify(e)})`);
    await stillServing(c);
    await c.close();
  });
}

scenario('bad ids -> INVALID_MESSAGE (empty, 129 characters, a space, a slash, unicode, a number)', async () => {
  const c = await connect(srv, tok);
  for (const id of ['', 'a'.repeat(129), 'a b', 'a/b', 'é', 7, null]) {
    const e = await errorFor(c, JSON.stringify({ id, action: 'Echo', payload: { text: 'x' } }), `id ${JSON.stringify(id)}`);
    checkError(e, 'INVALID_MESSAGE');
    assert.match(e.error.message, /id/, `the message says the id is wrong: ${JSON.stringify(e)}`);
  }
  // the longest and the whole charset are fine
  for (const id of ['a'.repeat(128), `AZaz09._:-${uniq('ok')}`.slice(0, 128)]) {
    const r = await c.call({ id, action: 'Echo', payload: { text: 'ok' } });
    assert.equal(r.type, 'response', JSON.stringify(r));
    assert.equal(r.request_id, id);
  }
  await stillServing(c);
  await c.close();
});

scenario('a 200 KB message -> error PAYLOAD_TOO_LARGE; the server goes on', async () => {
  const c = await connect(srv, tok);
  const rid = uniq('huge');
  const big = JSON.stringify({ id: rid, action: 'Echo', payload: { text: 'x'.repeat(200 * 1024) } });
  const e = await errorFor(c, big, '200 KB');
  checkError(e, 'PAYLOAD_TOO_LARGE');
  // the connection may be closed after an oversized frame; the server is not
  if (!c.closed) await stillServing(c);
  const c2 = await connect(srv, tok);
  await stillServing(c2);
  await c.close();
  await c2.close();
});

scenario('131,072 bytes is accepted; 131,073 is PAYLOAD_TOO_LARGE', async () => {
  const c = await connect(srv, tok);
  // padding in a member the codec ignores: the answer stays small
  const mk = (rid, n) => {
    const head = JSON.stringify({ id: rid, action: 'Echo', payload: { text: 'ok', pad: '' } });
    return JSON.stringify({ id: rid, action: 'Echo', payload: { text: 'ok', pad: 'y'.repeat(n - head.length) } });
  };
  const ok = uniq('limit');
  const exact = mk(ok, 131072);
  assert.equal(Buffer.byteLength(exact), 131072);
  const r = await c.call(exact, { pred: (m) => m.request_id === ok || m.type === 'error', timeoutMs: 20000 });
  assert.equal(r.type, 'response', `a message of exactly 131072 bytes is allowed: ${JSON.stringify(r).slice(0, 300)}`);
  assert.deepEqual(r.result, { text: 'ok' });
  const over = mk(uniq('limit'), 131073);
  assert.equal(Buffer.byteLength(over), 131073);
  checkError(await errorFor(c, over, '131073 bytes'), 'PAYLOAD_TOO_LARGE');
  const c2 = await connect(srv, tok);
  await stillServing(c2);
  await c.close();
  await c2.close();
});

scenario('100-deep nesting -> INVALID_MESSAGE; 1,000,000-deep too; the server goes on', async () => {
  const c = await connect(srv, tok);
  const rid = uniq('deep');
  const deep = (n) => `${'['.repeat(n)}${']'.repeat(n)}`;
  for (const n of [100, 34]) {
    const text = `{"id":"${rid}","action":"Echo","payload":{"text":"x","deep":${deep(n - 2)}}}`;
    checkError(await errorFor(c, text, `${n}-deep nesting`), 'INVALID_MESSAGE');
  }
  const objDeep = `{"id":"${rid}","action":"Echo","payload":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`;
  checkError(await errorFor(c, objDeep, '100-deep objects'), 'INVALID_MESSAGE');
  // deeper than a recursive parser's stack, within the size limit
  checkError(await errorFor(c, '['.repeat(120000), 'a 120000-deep unterminated array'), 'INVALID_MESSAGE');
  // 33 levels are fine (the message object is level 1, its payload at most 32)
  const ok = `{"id":"${uniq('deep-ok')}","action":"Echo","payload":{"text":"x","deep":${deep(31)}}}`;
  const r = await c.call(ok, { pred: (m) => m.type === 'response' || m.type === 'error' });
  assert.equal(r.type, 'response', `33 levels of nesting are allowed: ${JSON.stringify(r)}`);
  await stillServing(c);
  await c.close();
});

scenario('unknown action -> UNKNOWN_ACTION carrying the request id', async () => {
  const c = await connect(srv, tok);
  for (const action of ['Nope', 'echo', 'generateReport', 'Echo ', 'connected', '__proto__']) {
    const rid = uniq('unknown');
    const e = await c.call({ id: rid, action, payload: {} });
    checkError(e, 'UNKNOWN_ACTION', rid);
  }
  await stillServing(c);
  await c.close();
});

scenario('bad payloads -> INVALID_PAYLOAD naming the field; no request is created', async () => {
  const c = await connect(srv, tok);
  const cases = [
    ['Echo', { text: 5 }, /payload\.text/],
    ['Echo', {}, /payload\.text/],
    ['Echo', { text: null }, /payload\.text/],
    ['Echo', { text: ['a'] }, /payload\.text/],
    ['GenerateReport', { rows: 'ten', stepMs: 1 }, /payload\.rows/],
    ['GenerateReport', { rows: 2 }, /payload\.stepMs/],
    ['GenerateReport', { rows: 2, stepMs: 1.5 }, /payload\.stepMs/],
    ['GenerateReport', { rows: 2, stepMs: 1, failAt: 'x' }, /payload\.failAt/],
    ['GenerateReport', { rows: 2, stepMs: 1, failAt: {} }, /payload\.failAt/],
  ];
  for (const [action, payload, field] of cases) {
    const rid = uniq('badpayload');
    const e = await c.call({ id: rid, action, payload });
    checkError(e, 'INVALID_PAYLOAD', rid);
    assert.match(e.error.message, field, `the message names the field: ${JSON.stringify(e)} for ${JSON.stringify(payload)}`);
    if (action === 'GenerateReport') checkError(await c.call({ id: rid, action: 'status' }), 'NOT_FOUND', rid);
  }
  for (const payload of ['text', 3, [1]]) {
    const rid = uniq('badpayload');
    checkError(await c.call({ id: rid, action: 'Echo', payload }), 'INVALID_PAYLOAD', rid);
  }
  // unknown members are ignored; failAt is optional and may be null
  const ok = uniq('extra');
  const r = await c.call({ id: ok, action: 'Echo', payload: { text: 't', other: { x: 1 } } });
  assert.deepEqual(r.result, { text: 't' });
  const rid = uniq('nullfail');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1, failAt: null } });
  checkReportComplete(await c.terminal(rid), 2);
  await stillServing(c);
  await c.close();
});

scenario('bad resume -> INVALID_MESSAGE (negative, fractional, string last_seq)', async () => {
  const c = await connect(srv, tok);
  for (const last_seq of [-1, 1.5, '3']) {
    const rid = uniq('resume');
    const e = await c.call({ id: rid, action: 'resume', last_seq },
      { pred: (m) => m.type === 'error' });
    checkError(e, 'INVALID_MESSAGE');
  }
  await stillServing(c);
  await c.close();
});

scenario('a binary frame and a burst of junk do not take the server down', async () => {
  // a binary frame: the protocol speaks text frames; an error or a close is fine, a crash is not
  const c0 = await connect(srv, tok);
  c0.send(Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
  await c0.waitFor((m) => m.type === 'error', { timeoutMs: 2000 }).catch(() => {});
  await c0.close();
  const c = await connect(srv, tok);
  for (let i = 0; i < 200; i++) c.send(i % 2 ? '{' : '{"action":7}');
  await c.waitFor(() => c.messages.filter((m) => m.type === 'error').length >= 200,
    { what: '200 errors', timeoutMs: 30000 });
  assert.ok(c.messages.filter((m) => m.type === 'error').every((m) => m.error.code === 'INVALID_MESSAGE'));
  const c2 = await connect(srv, tok);
  await stillServing(c2);
  await c2.close();
  await c.close();
  const h = await srv.get('/healthz');
  assert.equal(h.status, 200);
  const inv = metric(await srv.metrics(), 'dorm_streamer_invalid_messages_total');
  assert.ok(inv >= 200, `invalid_messages_total counts them (${inv})`);
});

scenario('logs are JSON lines and never carry the token', async () => {
  const lines = srv.stderr.split('\n').filter((l) => l.trim());
  assert.ok(lines.length > 0, 'the server logs');
  for (const l of lines) {
    let o;
    try { o = JSON.parse(l); } catch { assert.fail(`a log line that is not JSON: ${l}`); }
    assert.equal(typeof o.level, 'string');
  }
  const sig = tok.split('.')[2];
  assert.ok(!srv.stderr.includes(sig), 'the token\'s signature appears in the logs');
  assert.ok(!srv.stderr.includes(tok.split('.')[1]), 'the token\'s payload appears in the logs');
});

scenario('SIGTERM: clean shutdown, no sanitizer report', async () => {
  assert.deepEqual(await stopServers([srv]), []);
});
