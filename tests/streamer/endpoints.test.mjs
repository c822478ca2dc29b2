// End to end against streamer-testd (tests/streamer/testd): what report.dorm
// does not exercise. A result larger than one WebSocket message arrives as
// ordered chunks the client reassembles; an async job past its endpoint
// timeout ends TIMEOUT; a sync endpoint past its timeout answers TIMEOUT
// without waiting for its handler, whose late result is never sent.
import {
  assert, checkError, checkStream, connect, history, scenario, sleep, startServer, stopServers, testdPath, token, uniq,
} from './harness.mjs';
import { after, before } from 'node:test';

let srv;
before(async () => { srv = await startServer({ name: 'streamer-testd', bin: testdPath() }); });
after(async () => {
  const problems = await stopServers();
  assert.deepEqual(problems, []);
});

/** "0123456789" repeated to n characters (what BigResult returns). */
const digits = (n) => '0123456789'.repeat(Math.ceil(n / 10)).slice(0, n);

/** Reassembles chunked results as docs/streamer.md says a client does
 * (final: `complete` of a job, `response` of a sync call). */
function reassemble(msgs, final = 'complete') {
  const chunks = msgs.filter((m) => m.type === 'result_chunk');
  const fin = msgs.find((m) => m.type === final);
  assert.ok(fin, `a ${final} message`);
  assert.equal(fin.chunked, true, `${final} after chunks says chunked: ${JSON.stringify(fin)}`);
  assert.equal(fin.result, undefined, `the result is in the chunks, not in ${final}`);
  assert.ok(chunks.length >= 2, `several chunks: ${chunks.length}`);
  chunks.forEach((c, i) => {
    assert.equal(c.index, i, 'chunks arrive in index order');
    assert.equal(c.count, chunks.length, 'every chunk says how many there are');
    assert.equal(typeof c.data, 'string');
    assert.ok(c.seq < fin.seq, 'chunks come before complete');
  });
  return JSON.parse(chunks.map((c) => c.data).join(''));
}

scenario('a result larger than one WebSocket message: ordered chunks the client reassembles, live and replayed', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('big');
  const bytes = 300 * 1024; // more than two 128 KB frames of text
  c.send({ id: rid, action: 'BigResult', payload: { bytes } });
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  const live = c.of(rid);
  checkStream(live);
  for (const m of live) assert.ok(c.raw[c.messages.indexOf(m)].length <= 128 * 1024, `a frame over 128 KB: ${m.type}`);
  assert.deepEqual(reassemble(live), { bytes, text: digits(bytes) });
  await c.close();
  // the chunks are stored like every message: a resume from 0 gets the same
  const hist = await history(srv, tok, rid);
  checkStream(hist);
  assert.deepEqual(reassemble(hist), { bytes, text: digits(bytes) });
  // and get_result answers with the whole result again (chunked or not, the client gets it)
  const c2 = await connect(srv, tok);
  const again = await c2.call({ id: rid, action: 'get_result' }, { pred: (m) => m.request_id === rid && ['complete', 'error'].includes(m.type) });
  const text = again.chunked ? reassemble(c2.of(rid)) : again.result;
  assert.deepEqual(text, { bytes, text: digits(bytes) });
  await c2.close();
});

/** fill repeated to n characters (what BigResult and BigSync return). */
const filled = (fill, n) => fill.repeat(Math.ceil(n / fill.length)).slice(0, n);

/** Every frame of these messages fits API Gateway's 128 KB. */
function framesFit(c, msgs) {
  for (const m of msgs) {
    const len = Buffer.byteLength(c.raw[c.messages.indexOf(m)]);
    assert.ok(len <= 128 * 1024, `a ${m.type} frame of ${len} bytes`);
  }
}

scenario('a result of quotes and backslashes (its chunk data escaped to twice its size) still goes out in frames under 128 KB', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('quotes');
  const bytes = 120 * 1024, fill = '"\\\\a"'; // 216 KB of JSON text, ~430 KB of chunk data
  c.send({ id: rid, action: 'BigResult', payload: { bytes, fill } });
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  const live = c.of(rid);
  checkStream(live);
  framesFit(c, live);
  assert.ok(live.filter((m) => m.type === 'result_chunk').length >= 5, 'about 96 KB of escaped data per chunk');
  assert.deepEqual(reassemble(live), { bytes, text: filled(fill, bytes) });
  await c.close();
});

scenario('a job result too large to store with its request (400 KB item) fails PAYLOAD_TOO_LARGE once, never runs again', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('huge');
  const logFrom = srv.stderr.length;
  c.send({ id: rid, action: 'BigResult', payload: { bytes: 300 * 1024, fill: '"\\\\a"' } }); // 540 KB of JSON
  const fin = await c.terminal(rid);
  checkError(fin, 'PAYLOAD_TOO_LARGE', rid);
  assert.match(fin.error.message, /400 KB item limit/);
  checkStream(c.of(rid));
  const again = await c.call({ id: rid, action: 'get_result' });
  checkError(again, 'PAYLOAD_TOO_LARGE', rid);
  await c.close();
  const started = srv.stderr.slice(logFrom).split('\n').filter((l) => l.includes('"started"') && l.includes(rid));
  assert.equal(started.length, 1, `the job ran once: ${started.join('\n')}`);
});

scenario('a sync result larger than one frame: result_chunk messages, then response with chunked: true', async () => {
  const c = await connect(srv, await token());
  for (const fill of ['0123456789', '"\\\\"']) {
    const rid = uniq('bigsync');
    const bytes = 300 * 1024;
    const fin = await c.call({ id: rid, action: 'BigSync', payload: { bytes, fill } },
      { pred: (m) => m.request_id === rid && ['response', 'error'].includes(m.type), timeoutMs: 20000 });
    assert.equal(fin.type, 'response', JSON.stringify(fin).slice(0, 300));
    const msgs = c.of(rid);
    checkStream(msgs);
    framesFit(c, msgs);
    assert.deepEqual(reassemble(msgs, 'response'), { bytes, text: filled(fill, bytes) });
  }
  // a small one is one response with the result, as before
  const small = await c.call({ id: uniq('smallsync'), action: 'BigSync', payload: { bytes: 1000 } });
  assert.equal(small.type, 'response', JSON.stringify(small).slice(0, 300));
  assert.equal(small.seq, 1);
  assert.deepEqual(small.result, { bytes: 1000, text: digits(1000) });
  await c.close();
});

scenario('a sync result that does not fit its type: error HANDLER_FAILED naming the field, seq 1', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('badsync');
  const m = await c.call({ id: rid, action: 'BadSync', payload: { text: 'abc' } },
    { pred: (x) => x.request_id === rid && ['response', 'error'].includes(x.type) });
  checkError(m, 'HANDLER_FAILED', rid);
  assert.equal(m.seq, 1, `a sync answer is seq 1: ${JSON.stringify(m)}`);
  assert.equal(m.error.retryable, false);
  assert.match(m.error.message, /^the result does not fit its type: .*text.*not valid UTF-8 \(byte 3\)/, m.error.message);
  await sleep(200);
  assert.deepEqual(c.of(rid).map((x) => x.type), ['error'], 'one answer, nothing else');
  // the server goes on: a good sync call on the same connection
  const ok = await c.call({ id: uniq('smallsync'), action: 'BigSync', payload: { bytes: 10 } });
  assert.equal(ok.type, 'response');
  await c.close();
});

scenario('an async job past its endpoint timeout ends TIMEOUT (stored, and for get_result)', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('overrun');
  c.send({ id: rid, action: 'Overrun', payload: { ms: 20000 } }); // the endpoint's timeout is 1 s
  const fin = await c.terminal(rid, { timeoutMs: 15000 });
  checkError(fin, 'TIMEOUT', rid);
  checkStream(c.of(rid));
  const st = await c.call({ id: rid, action: 'status' });
  assert.equal(st.status, 'FAILED', JSON.stringify(st));
  const again = await c.call({ id: rid, action: 'get_result' });
  checkError(again, 'TIMEOUT', rid);
  // a job within its timeout completes
  const ok = uniq('within');
  c.send({ id: ok, action: 'Overrun', payload: { ms: 100 } });
  const done = await c.terminal(ok);
  assert.equal(done.type, 'complete', JSON.stringify(done));
  assert.deepEqual(done.result, { ms: 100 });
  await c.close();
});

scenario('a sync endpoint past its timeout answers TIMEOUT before its handler returns; the late result is dropped', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('slow');
  const sent = Date.now();
  // the handler sleeps 6 s; the endpoint's timeout is 1 s
  const e = await c.call({ id: rid, action: 'SlowEcho', payload: { text: 'late', ms: 6000 } }, { timeoutMs: 5000 });
  checkError(e, 'TIMEOUT', rid);
  assert.ok(Date.now() - sent < 5000, 'TIMEOUT came before the handler returned');
  // the handler's result, when it comes, is not sent
  await sleep(6000);
  assert.deepEqual(c.of(rid).map((m) => m.type), ['error'], c.dump(5));
  // a fast call answers as usual
  const r = await c.call({ id: uniq('fast'), action: 'SlowEcho', payload: { text: 'quick', ms: 0 } });
  assert.equal(r.type, 'response', JSON.stringify(r));
  assert.deepEqual(r.result, { text: 'quick' });
  await c.close();
}, { timeoutMs: 60000 });
