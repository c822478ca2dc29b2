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

/** Reassembles chunked results as docs/streamer.md says a client does. */
function reassemble(msgs) {
  const chunks = msgs.filter((m) => m.type === 'result_chunk');
  const fin = msgs.find((m) => m.type === 'complete');
  assert.ok(fin, 'a complete message');
  assert.equal(fin.chunked, true, `complete after chunks says chunked: ${JSON.stringify(fin)}`);
  assert.equal(fin.result, undefined, 'the result is in the chunks, not in complete');
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
