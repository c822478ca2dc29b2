// A client that goes away loses nothing (docs/streamer.md: resume, get_result,
// "a job whose client left keeps running and keeps its result"): every
// message it missed comes back exactly once, then the rest live.
import {
  assert, checkReportComplete, checkStream, connect, history, scenario, sleep, startServer, stopServers, token, uniq,
} from './harness.mjs';
import { before } from 'node:test';

let srv;
before(async () => {
  srv = await startServer({ name: 'resume', args: ['--progress-interval-ms', '20'] });
});

const rowsOf = (msgs) => msgs.filter((m) => m.type === 'progress').map((m) => m.progress?.rows);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function waitCompleted(before, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await srv.completed() > before) return;
    await sleep(100);
  }
  assert.fail(`${what}: the job did not complete within ${timeoutMs} ms with no client connected`);
}

scenario('disconnect mid-job, reconnect, resume last_seq: every missed message exactly once, then the rest live', async () => {
  const tok = await token();
  const rid = uniq('resume');
  const rows = 30;
  const c1 = await connect(srv, tok);
  c1.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 100 } });
  await c1.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 5, { what: 'progress of row 5' });
  c1.vanish();
  const got1 = c1.of(rid);
  checkStream(got1);
  const lastSeq = got1.at(-1).seq;
  await sleep(800); // the job goes on: messages persisted for nobody
  const c2 = await connect(srv, tok);
  const resumedAt = Date.now();
  c2.send({ id: rid, action: 'resume', last_seq: lastSeq });
  const fin = await c2.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(300);
  const got2 = c2.of(rid);
  checkStream(got2, { firstSeq: lastSeq + 1 });
  assert.ok(got2.length >= 2, `messages missed while away are replayed: ${c2.dump()}`);
  assert.deepEqual([...rowsOf(got1), ...rowsOf(got2)], range(1, rows),
    `each row's progress exactly once across the two connections:\nfirst: ${rowsOf(got1)}\nsecond: ${rowsOf(got2)}`);
  assert.ok(rowsOf(got2)[0] <= rowsOf(got1).at(-1) + 6, 'the replay starts right after what the first connection saw');
  assert.ok(c2.arrival(fin) - resumedAt >= 800,
    'the rest came live (the job had more than a second to go when resume was sent)');
  await c2.close();
});

scenario('three hops (terminate, clean close, terminate): the union is the whole stream, once', async () => {
  const tok = await token();
  const rid = uniq('hops');
  const rows = 60;
  let c = await connect(srv, tok);
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 60 } });
  const all = [];
  let last = 0;
  for (let hop = 0; hop < 3; hop++) {
    await c.waitFor((m) => m.request_id === rid && m.seq >= last + 4, { what: `4 more messages (hop ${hop})` });
    const mine = c.of(rid);
    checkStream(mine, { firstSeq: last + 1 });
    all.push(...mine);
    last = mine.at(-1).seq;
    if (hop === 1) await c.close(); else c.vanish();
    await sleep(250);
    c = await connect(srv, tok);
    c.send({ id: rid, action: 'resume', last_seq: last });
  }
  await c.terminal(rid);
  await sleep(300);
  const mine = c.of(rid);
  checkStream(mine, { firstSeq: last + 1 });
  all.push(...mine);
  checkStream(all);
  assert.deepEqual(rowsOf(all), range(1, rows));
  checkReportComplete(all.at(-1), rows);
  await c.close();
});

scenario('a client gone while its job finishes loses nothing: get_result and resume afterwards', async () => {
  const tok = await token();
  const rid = uniq('gone');
  const rows = 6;
  const done0 = await srv.completed();
  const c1 = await connect(srv, tok);
  c1.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 80 } });
  const ack = await c1.waitFor((m) => m.request_id === rid, { what: 'the ack' });
  assert.equal(ack.type, 'ack');
  c1.vanish();
  await waitCompleted(done0, 'client gone');
  // the whole stream, from the store
  const c2 = await connect(srv, tok);
  c2.send({ id: rid, action: 'resume', last_seq: 1 });
  const fin = await c2.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(300);
  const got = c2.of(rid);
  checkStream(got, { firstSeq: 2 });
  assert.deepEqual(rowsOf(got), range(1, rows));
  assert.equal(got.filter((m) => m.type === 'complete').length, 1);
  await c2.close();
  // get_result on yet another connection
  const c3 = await connect(srv, tok);
  const r = await c3.call({ id: rid, action: 'get_result' });
  checkReportComplete(r, rows);
  assert.equal(r.seq, fin.seq + 1);
  await c3.close();
});

scenario('resume of a finished request: last_seq 0 replays all from the ack; at the end, nothing; then live traffic goes on', async () => {
  const tok = await token();
  const rid = uniq('replay');
  const rows = 4;
  const c = await connect(srv, tok);
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 30 } });
  const fin = await c.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(200);
  const live = c.of(rid);
  checkStream(live);
  const hist = await history(srv, tok, rid);
  assert.deepEqual(hist.map((m) => [m.seq, m.type]), live.map((m) => [m.seq, m.type]),
    'the stored history is what was sent live');
  assert.deepEqual(hist.map((m) => m.progress), live.map((m) => m.progress));
  assert.deepEqual(hist.at(-1).result, fin.result);
  // nothing after the last seq
  const c2 = await connect(srv, tok);
  const from = c2.messages.length;
  c2.send({ id: rid, action: 'resume', last_seq: fin.seq });
  await sleep(800);
  const extra = c2.messages.slice(from).filter((m) => m.request_id === rid);
  assert.deepEqual(extra, [], `resume after the last seq sends nothing: ${c2.dump()}`);
  // beyond it: refused, and nothing changes (taken, the status below would
  // get a seq the client claimed to have and never arrive)
  c2.send({ id: rid, action: 'resume', last_seq: fin.seq + 100 });
  const err = await c2.waitFor((m) => m.request_id === rid && m.type === 'error', { what: 'the refusal of last_seq past the end' });
  assert.equal(err.error.code, 'INVALID_MESSAGE', c2.dump());
  assert.equal(err.error.retryable, false);
  c2.send({ id: rid, action: 'status' });
  const st = await c2.waitFor((m) => m.request_id === rid && m.type === 'status', { what: 'the status after the refused resume' });
  assert.equal(st.status, 'COMPLETED');
  const pong = await c2.call({ action: 'ping' });
  assert.equal(pong.type, 'pong');
  await c2.close();
  await c.close();
});

scenario('resume on the same connection from below what it was sent: everything after last_seq again', async () => {
  // The client's word counts: one that lost messages on its side (its state
  // reloaded on a live socket, a frame its code dropped) gets them again
  // from the connection that already carried them.
  const tok = await token();
  const rid = uniq('again');
  const rows = 3;
  const c = await connect(srv, tok);
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 20 } });
  const fin = await c.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(200);
  const first = c.of(rid);
  checkStream(first);
  const from = c.messages.length;
  c.send({ id: rid, action: 'resume', last_seq: 1 });
  await c.waitFor((m) => m.request_id === rid && m.type === 'complete', { from, what: 'the complete sent again' });
  await sleep(300);
  const again = c.messages.slice(from).filter((m) => m.request_id === rid);
  assert.deepEqual(again.map((m) => [m.seq, m.type]), first.filter((m) => m.seq > 1).map((m) => [m.seq, m.type]),
    `every message after seq 1, once, in order: ${c.dump()}`);
  await c.close();
});

scenario('resume right after the ack of a running job: no duplicates between replay and live', async () => {
  const tok = await token();
  const rid = uniq('race');
  const rows = 25;
  const c1 = await connect(srv, tok);
  c1.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 25 } });
  await c1.waitFor((m) => m.request_id === rid && m.type === 'ack', { what: 'the ack' });
  c1.vanish();
  const c2 = await connect(srv, tok);
  c2.send({ id: rid, action: 'resume', last_seq: 1 }); // while progress is being produced
  await c2.terminal(rid);
  await sleep(300);
  const got = c2.of(rid);
  checkStream(got, { firstSeq: 2 });
  checkReportComplete(got.at(-1), rows);
  await c2.close();
});

scenario('SIGTERM: clean shutdown, no sanitizer report', async () => {
  assert.deepEqual(await stopServers([srv]), []);
});
