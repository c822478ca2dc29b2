// End to end against streamer-testd: the streamer's messages at DynamoDB's
// and API Gateway's size limits (docs/streamer.md, "Limits"). Every frame a
// client gets fits API Gateway's 128 KB; what cannot is refused where it is
// made, with a clear answer, and never takes other requests' messages with it.
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

const FRAME = 128 * 1024;

/** Every frame c received fits API Gateway's 128 KB. */
function framesFit(c) {
  for (const raw of c.raw) {
    const len = Buffer.byteLength(raw);
    assert.ok(len <= FRAME, `a frame of ${len} bytes: ${raw.slice(0, 120)}`);
  }
}

const logSince = (from) => srv.stderr.slice(from).split('\n');

scenario('a typed progress larger than a frame is refused to the handler (DORM_ERR_TOO_LARGE); the job goes on', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const logFrom = srv.stderr.length;
  const rid = uniq('bigprog');
  c.send({ id: rid, action: 'BigProgress', payload: { bytes: 200 * 1024 } });
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  assert.deepEqual(fin.result, { refused: true });
  framesFit(c);
  const msgs = c.of(rid);
  checkStream(msgs, { rowsIncrease: false });
  // the small update after the refused one is the only progress sent
  const prog = msgs.filter((m) => m.type === 'progress');
  assert.deepEqual(prog.map((m) => [m.percent, m.message, m.progress]), [[20, 'small', { text: 'small' }]], c.dump(5));
  assert.ok(logSince(logFrom).some((l) => l.includes('"progress_too_large"') && l.includes(rid)), 'logged progress_too_large');
  await c.close();
  // stored the same (nothing too large was written)
  const hist = await history(srv, tok, rid);
  checkStream(hist, { rowsIncrease: false });
  assert.deepEqual(hist.map((m) => m.type), msgs.map((m) => m.type));
});

scenario('a progress message that escapes to more than a frame (quotes) is refused; a handler returning that status fails PAYLOAD_TOO_LARGE', async () => {
  const c = await connect(srv, await token());
  // 70 KB of quotes: 140 KB once escaped in the frame
  const rid = uniq('bigmsg');
  c.send({ id: rid, action: 'BigProgress', payload: { bytes: 70 * 1024, fill: '"', inMessage: true, failOnRefuse: true } });
  const fin = await c.terminal(rid);
  checkError(fin, 'PAYLOAD_TOO_LARGE', rid);
  assert.match(fin.error.message, /progress update of \d+ bytes .* larger than/);
  assert.equal(fin.retryable, undefined);
  assert.equal(fin.error.retryable, false);
  framesFit(c);
  checkStream(c.of(rid), { rowsIncrease: false });
  assert.deepEqual(c.of(rid).map((m) => m.type), ['ack', 'error'], c.dump(5));
  const again = await c.call({ id: rid, action: 'get_result' });
  checkError(again, 'PAYLOAD_TOO_LARGE', rid);
  await c.close();
});

scenario('a handler that goes on after a refused progress and fails later is reported with its own failure, not PAYLOAD_TOO_LARGE', async () => {
  const c = await connect(srv, await token());
  const logFrom = srv.stderr.length;
  // returns a status of its own (no dorm_stream_fail): HANDLER_FAILED with that status's text
  const plain = uniq('refused-then-status');
  c.send({ id: plain, action: 'BigProgress', payload: { bytes: 200 * 1024, failLater: 'status' } });
  const e1 = await c.terminal(plain);
  checkError(e1, 'HANDLER_FAILED', plain);
  assert.equal(e1.error.message, 'item not found', JSON.stringify(e1));
  // dorm_stream_fail after the refusal: that failure
  const told = uniq('refused-then-fail');
  c.send({ id: told, action: 'BigProgress', payload: { bytes: 200 * 1024, failLater: 'fail' } });
  const e2 = await c.terminal(told);
  checkError(e2, 'NOT_FOUND', told);
  assert.equal(e2.error.message, "the report's input went away");
  for (const rid of [plain, told]) {
    // the refusal happened (the small update after it went out), and the stored end says the same
    assert.deepEqual(c.of(rid).filter((m) => m.type === 'progress').map((m) => m.message), ['small'], c.dump(5));
    assert.ok(logSince(logFrom).some((l) => l.includes('"progress_too_large"') && l.includes(rid)), `${rid}: refused`);
    const again = await c.call({ id: rid, action: 'get_result' });
    assert.equal(again.error.code, rid === plain ? 'HANDLER_FAILED' : 'NOT_FOUND', JSON.stringify(again));
  }
  await c.close();
});

scenario('a typed progress its type refuses: the job fails with that when the handler returns the status, with its own failure when it goes on', async () => {
  const c = await connect(srv, await token());
  const gaveUp = uniq('badprog-returned');
  c.send({ id: gaveUp, action: 'BigProgress', payload: { bytes: 10, badProgress: true } });
  const e1 = await c.terminal(gaveUp);
  checkError(e1, 'HANDLER_FAILED', gaveUp);
  assert.match(e1.error.message, /^progress does not fit its type: .*UTF-8/, JSON.stringify(e1));
  const went = uniq('badprog-went-on');
  c.send({ id: went, action: 'BigProgress', payload: { bytes: 10, badProgress: true, failLater: 'status' } });
  const e2 = await c.terminal(went);
  checkError(e2, 'HANDLER_FAILED', went);
  assert.equal(e2.error.message, 'item not found', JSON.stringify(e2));
  // the update after the refused one went out
  assert.deepEqual(c.of(went).filter((m) => m.type === 'progress').map((m) => m.message), ['big'], c.dump(5));
  await c.close();
});

scenario('a progress just under a frame is sent whole, and a status that echoes it still fits one frame', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('nearframe');
  const bytes = 126 * 1024;
  c.send({ id: rid, action: 'BigProgress', payload: { bytes, holdMs: 3000 } });
  const p = await c.waitFor((m) => m.request_id === rid && m.type === 'progress', { what: 'the big progress' });
  assert.equal(p.progress.text.length, bytes);
  assert.equal(p.message, 'big');
  const st = await c.call({ id: rid, action: 'status' });
  assert.equal(st.type, 'status', JSON.stringify(st).slice(0, 300));
  assert.equal(st.status, 'PROCESSING');
  assert.equal(st.progress.text.length, bytes, 'the status carries the latest progress');
  assert.equal(st.message, 'big');
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  assert.deepEqual(fin.result, { refused: false });
  framesFit(c);
  checkStream(c.of(rid), { rowsIncrease: false });
  // finished: the status (from the request item) carries it too
  const done = await c.call({ id: rid, action: 'status' });
  assert.equal(done.status, 'COMPLETED', JSON.stringify(done).slice(0, 300));
  assert.equal(done.progress.text.length, bytes);
  framesFit(c);
  await c.close();
}, { timeoutMs: 90000 });

scenario('a progress too large for a DynamoDB item never poisons the batch other jobs\' progress is written in', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const logFrom = srv.stderr.length;
  const big = uniq('poison');
  const small = Array.from({ length: 6 }, () => uniq('neighbour'));
  // all at once: their progress is gathered into the same BatchWriteItem
  c.send({ id: big, action: 'BigProgress', payload: { bytes: 450 * 1024 } });
  for (const rid of small) c.send({ id: rid, action: 'BigProgress', payload: { bytes: 1000 } });
  for (const rid of [big, ...small]) {
    const fin = await c.terminal(rid, { timeoutMs: 60000 });
    assert.equal(fin.type, 'complete', c.dump(5));
  }
  framesFit(c);
  for (const rid of small) {
    const msgs = c.of(rid);
    checkStream(msgs, { rowsIncrease: false });
    assert.deepEqual(msgs.map((m) => m.type), ['ack', 'progress', 'complete'], `${rid}: ${c.dump(20)}`);
    assert.equal(msgs[1].progress.text.length, 1000);
  }
  const failed = logSince(logFrom).filter((l) => l.includes('"progress_failed"'));
  assert.deepEqual(failed, []);
  await c.close();
  // stored as sent
  for (const rid of small.slice(0, 2)) {
    const hist = await history(srv, tok, rid);
    assert.deepEqual(hist.map((m) => m.type), ['ack', 'progress', 'complete']);
  }
}, { timeoutMs: 120000 });

scenario('a handler\'s text that is not UTF-8 (a failure message cut inside a character, a progress message) is stored: the job ends once', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const logFrom = srv.stderr.length;
  const fail = uniq('badfail');
  c.send({ id: fail, action: 'BadText', payload: { kind: 'fail', bytes: 2000 } });
  const e = await c.terminal(fail, { timeoutMs: 40000 });
  checkError(e, 'HANDLER_FAILED', fail);
  assert.match(e.error.message, /^é+$/, 'cut between characters');
  assert.ok(Buffer.byteLength(e.error.message) < 520, `bounded: ${Buffer.byteLength(e.error.message)} bytes`);
  const prog = uniq('badprog');
  c.send({ id: prog, action: 'BadText', payload: { kind: 'progress', bytes: 0 } });
  const done = await c.terminal(prog, { timeoutMs: 40000 });
  assert.equal(done.type, 'complete', c.dump(5));
  const p = c.of(prog).find((m) => m.type === 'progress');
  assert.equal(p.message, 'bad \ufffd\ufffd bytes \ufffd');
  const st = await c.call({ id: prog, action: 'status' });
  assert.equal(st.status, 'COMPLETED', JSON.stringify(st));
  assert.equal(st.message, p.message, 'stored with the request as it was sent');
  const again = await c.call({ id: fail, action: 'get_result' });
  checkError(again, 'HANDLER_FAILED', fail);
  assert.equal(again.error.message, e.error.message);
  await c.close();
  const log = logSince(logFrom);
  for (const rid of [fail, prog]) {
    const started = log.filter((l) => l.includes('"started"') && l.includes(rid));
    assert.equal(started.length, 1, `${rid} ran once: ${started.join('\n')}`);
  }
  assert.deepEqual(log.filter((l) => l.includes('"finish_failed"')), []);
}, { timeoutMs: 120000 });

scenario('the same id sent again for a job whose result was chunked: the chunks again, then complete chunked, every frame under 128 KB', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('dupbig');
  const bytes = 150 * 1024, fill = '"\\\\'; // ~300 KB of JSON, ~600 KB escaped in chunks
  const payload = { bytes, fill };
  c.send({ id: rid, action: 'BigResult', payload });
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  await c.close();
  const c2 = await connect(srv, tok);
  c2.send({ id: rid, action: 'BigResult', payload });
  const again = await c2.terminal(rid);
  assert.equal(again.type, 'complete', c2.dump(5));
  assert.equal(again.chunked, true);
  const msgs = c2.of(rid);
  const chunks = msgs.filter((m) => m.type === 'result_chunk');
  assert.ok(chunks.length >= 2, c2.dump(5));
  chunks.forEach((m, i) => { assert.equal(m.index, i); assert.equal(m.count, chunks.length); });
  assert.deepEqual(JSON.parse(chunks.map((m) => m.data).join('')), { bytes, text: fill.repeat(bytes / fill.length) });
  // its seqs follow the first run's (the answer is stored like every message)
  assert.ok(chunks[0].seq > fin.seq, `${chunks[0].seq} after ${fin.seq}`);
  for (let i = 1; i < msgs.length; i++) assert.equal(msgs[i].seq, msgs[i - 1].seq + 1);
  framesFit(c2);
  await c2.close();
  // the whole history replays: both answers, seqs without a gap
  const hist = await history(srv, tok, rid);
  checkStream(hist.filter((m) => m.seq <= fin.seq), { rowsIncrease: false });
});

scenario('a request of exactly one frame (131072 bytes) with a 128-character id is run and stored; one byte more is PAYLOAD_TOO_LARGE', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const frame = (id, total) => {
    const shell = JSON.stringify({ id, action: 'BigResult', payload: { bytes: 10, fill: '' } });
    return JSON.stringify({ id, action: 'BigResult', payload: { bytes: 10, fill: 'f'.repeat(total - shell.length) } });
  };
  const id = uniq('max').padEnd(128, 'x');
  assert.equal(id.length, 128);
  const text = frame(id, FRAME);
  assert.equal(Buffer.byteLength(text), FRAME);
  c.send(text);
  const fin = await c.terminal(id);
  assert.equal(fin.type, 'complete', c.dump(5));
  assert.deepEqual(fin.result, { bytes: 10, text: 'ffffffffff' });
  const st = await c.call({ id, action: 'status' });
  assert.equal(st.status, 'COMPLETED', JSON.stringify(st).slice(0, 300));
  const over = uniq('over').padEnd(128, 'x');
  const e = await c.call(frame(over, FRAME + 1), { pred: (m) => m.type === 'error' });
  assert.equal(e.error.code, 'PAYLOAD_TOO_LARGE', JSON.stringify(e));
  await c.close();
});

scenario('nesting: a payload of 32 levels is run, stored and answered (its message has 33); one level more is INVALID_MESSAGE', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  // levels of arrays and objects below the payload object (level 1)
  const nested = (below) => {
    let v = 'leaf';
    for (let i = 0; i < below; i++) v = i % 2 ? { k: v } : [v];
    return v;
  };
  const depth = (v) => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
  const rid = uniq('nest32');
  const value = nested(31);
  const msg = { id: rid, action: 'Nest', payload: { value } };
  assert.equal(depth(msg.payload), 32);
  assert.equal(depth(msg), 33);
  c.send(msg);
  const fin = await c.terminal(rid);
  assert.equal(fin.type, 'complete', c.dump(5));
  assert.deepEqual(fin.result, { value });
  const again = await c.call({ id: rid, action: 'get_result' });
  assert.deepEqual(again.result, { value }, 'stored as it was answered');
  // one level more: refused whole, before it is read (no request id: it was not parsed)
  const over = uniq('nest33');
  const from = c.messages.length;
  c.send({ id: over, action: 'Nest', payload: { value: nested(32) } });
  const e = await c.waitFor((m) => m.type === 'error', { from, what: 'the error for a 33-level payload' });
  assert.equal(e.error.code, 'INVALID_MESSAGE', JSON.stringify(e));
  assert.match(e.error.message, /nested deeper than 33 levels/);
  // never run: nothing is known of that id
  const st = await c.call({ id: over, action: 'status' });
  checkError(st, 'NOT_FOUND', over);
  await c.close();
});
