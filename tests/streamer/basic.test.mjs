// One streamer-demo: the endpoints of examples/streamer/report.dorm end to end
// (sync Echo; async GenerateReport with ordered progress, results, handler
// errors, cancel, status and get_result, a duplicate client id), scopes, and
// the operational endpoints. docs/streamer.md is the protocol.
import {
  assert, checkEnvelope, checkError, checkReportComplete, checkStream, connect, expectedChecksum, history, metric,
  scenario, sleep, startServer, stopServers, token, tryConnect, uniq,
} from './harness.mjs';
import { before } from 'node:test';

let srv;
before(async () => {
  // Progress at most every 20 ms: with 100+ ms per row every row's report is sent.
  srv = await startServer({ name: 'basic', args: ['--progress-interval-ms', '20'] });
});

scenario('GET /healthz answers {"status":"ok"}', async () => {
  const r = await srv.get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
});

scenario('GET /metrics is Prometheus text with the documented families', async () => {
  const r = await srv.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/, 'Prometheus text is served as text/plain');
  for (const family of ['dorm_streamer_connections', 'dorm_streamer_requests_total', 'dorm_streamer_queue_wait_ms',
    'dorm_streamer_job_duration_ms', 'dorm_streamer_progress_sent_total', 'dorm_streamer_delivery_failures_total']) {
    assert.match(r.text, new RegExp(`^# TYPE ${family} `, 'm'), `/metrics has no ${family} family:\n${r.text}`);
  }
  const before = metric(await srv.metrics(), 'dorm_streamer_connections');
  const c = await connect(srv, await token());
  const during = metric(await srv.metrics(), 'dorm_streamer_connections');
  assert.equal(during, before + 1, 'dorm_streamer_connections counts an open connection');
  await c.close();
});

scenario('connected message, then ping -> pong (no seq)', async () => {
  const c = await connect(srv, await token());
  checkEnvelope(c.messages[0]);
  const pong = await c.call({ action: 'ping' });
  checkEnvelope(pong);
  assert.equal(pong.type, 'pong');
  assert.equal(pong.seq, undefined, 'a pong belongs to no request and carries no seq');
  await c.close();
});

scenario('sync Echo answers with a response (seq 1) carrying the typed result', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('echo');
  const text = 'héllo "world" \\ \u2603';
  const r = await c.call({ id: rid, action: 'Echo', payload: { text } });
  checkEnvelope(r);
  assert.equal(r.type, 'response', JSON.stringify(r));
  assert.equal(r.request_id, rid);
  assert.equal(r.seq, 1);
  assert.deepEqual(r.result, { text });
  await c.close();
});

scenario('the token may come as ?token= (browsers)', async () => {
  const c = await connect(srv, await token(), { via: 'query' });
  const rid = uniq('echo-q');
  const r = await c.call({ id: rid, action: 'Echo', payload: { text: 'q' } });
  assert.equal(r.type, 'response', JSON.stringify(r));
  assert.deepEqual(r.result, { text: 'q' });
  await c.close();
});

scenario('async GenerateReport: ack (seq 1), every row\'s progress in order, complete with the checksum; seq +1 with no gaps', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('report');
  const rows = 8;
  const done0 = await srv.completed();
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 120 } });
  const ack = await c.waitFor((m) => m.request_id === rid, { what: 'the ack' });
  assert.equal(ack.type, 'ack', `the first message of an async request is its ack: ${JSON.stringify(ack)}`);
  assert.equal(ack.seq, 1);
  assert.equal(ack.endpoint, 'GenerateReport');
  assert.equal(ack.status, 'PENDING');
  const fin = await c.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(300);
  const msgs = c.of(rid);
  checkStream(msgs);
  assert.equal(msgs.at(-1), fin, `nothing may follow complete: ${msgs.map((m) => m.type)}`);
  const progress = msgs.filter((m) => m.type === 'progress');
  assert.deepEqual(progress.map((m) => m.progress?.rows), Array.from({ length: rows }, (_, i) => i + 1),
    `one progress per row (stepMs 120 > progress interval 20), typed {rows}, in order; got\n${c.dump()}`);
  assert.equal(progress.at(-1).percent, 100);
  assert.deepEqual(msgs.map((m) => m.type), ['ack', ...Array(rows).fill('progress'), 'complete']);
  // at least +1: requests another test's server left unfinished on the shared tables
  // (its leases expired) may be taken over and completed here meanwhile (the sweep)
  const done1 = await srv.completed();
  assert.ok(done1 >= done0 + 1, `requests_total{GenerateReport,completed} +1 at least (${done0} -> ${done1})`);
  const ps = metric(await srv.metrics(), 'dorm_streamer_progress_sent_total');
  assert.ok(ps >= rows, `progress_sent_total counts progress messages (${ps})`);
  await c.close();
});

scenario('a large report (5000 rows, stepMs 0) completes with the right checksum', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('big');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 5000, stepMs: 0 } });
  const fin = await c.terminal(rid, { timeoutMs: 45000 });
  checkReportComplete(fin, 5000);
  checkStream(c.of(rid));
  await c.close();
});

scenario('a handler failure (failAt) ends the request with error HANDLER_FAILED; get_result repeats it', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('fail');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 10, stepMs: 50, failAt: 3 } });
  const fin = await c.terminal(rid);
  checkError(fin, 'HANDLER_FAILED', rid);
  assert.equal(fin.error.retryable, false);
  const msgs = c.of(rid);
  checkStream(msgs);
  assert.equal(msgs.filter((m) => m.type === 'complete').length, 0);
  assert.ok(msgs.filter((m) => m.type === 'progress').every((m) => m.progress === undefined || m.progress.rows < 3),
    `no progress for rows at or past failAt: ${c.dump()}`);
  const again = await c.call({ id: rid, action: 'get_result' });
  checkError(again, 'HANDLER_FAILED', rid);
  assert.equal(again.seq, fin.seq + 1, 'get_result is a message of the request: the next seq');
  const st = await c.call({ id: rid, action: 'status' });
  assert.equal(st.type, 'status');
  assert.equal(st.status, 'FAILED');
  await c.close();
});

scenario('cancel mid-job ends it with error CANCELLED, and nothing completes', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('cancel');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 200, stepMs: 100 } });
  await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 2,
    { what: 'progress of row 2' });
  c.send({ id: rid, action: 'cancel' });
  const fin = await c.terminal(rid, { timeoutMs: 10000 });
  checkError(fin, 'CANCELLED', rid);
  await sleep(500);
  const msgs = c.of(rid);
  checkStream(msgs);
  assert.equal(msgs.filter((m) => m.type === 'complete' || m.type === 'error').length, 1, `one terminal message: ${c.dump()}`);
  const lastRows = Math.max(...msgs.filter((m) => m.type === 'progress').map((m) => m.progress?.rows ?? 0));
  assert.ok(lastRows < 200, 'the job stopped');
  const st = await c.call({ id: rid, action: 'status' });
  assert.equal(st.type, 'status', JSON.stringify(st));
  assert.equal(st.status, 'CANCELLED');
  const gr = await c.call({ id: rid, action: 'get_result' });
  checkError(gr, 'CANCELLED', rid);
  await c.close();
});

scenario('status while running and after; get_result before and after the end', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('status');
  const rows = 10;
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 150 } });
  await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 2, { what: 'progress of row 2' });
  const st = await c.call({ id: rid, action: 'status' }, { pred: (m) => m.request_id === rid && m.type === 'status' });
  checkEnvelope(st);
  assert.ok(['PENDING', 'PROCESSING'].includes(st.status), `running request's status: ${JSON.stringify(st)}`);
  assert.equal(st.endpoint, 'GenerateReport');
  assert.equal(typeof st.percent, 'number');
  assert.ok(st.percent > 0 && st.percent < 100, `percent of a running job: ${st.percent}`);
  assert.equal(typeof st.last_seq, 'number');
  assert.ok(st.last_seq >= 3, `last_seq counts ack and progress: ${JSON.stringify(st)}`);
  const early = await c.call({ id: rid, action: 'get_result' }, { pred: (m) => m.request_id === rid && ['status', 'complete', 'error'].includes(m.type) });
  assert.equal(early.type, 'status', `get_result before the end answers with the status: ${JSON.stringify(early)}`);
  const fin = await c.terminal(rid);
  checkReportComplete(fin, rows);
  checkStream(c.of(rid));
  const late = await c.call({ id: rid, action: 'get_result' });
  checkReportComplete(late, rows);
  assert.equal(late.seq, fin.seq + 1);
  const st2 = await c.call({ id: rid, action: 'status' });
  assert.equal(st2.status, 'COMPLETED');
  assert.equal(st2.percent, 100);
  assert.ok([late.seq, st2.seq].includes(st2.last_seq), `last_seq is the last seq sent: ${JSON.stringify(st2)}`);
  await c.close();
  // from another connection of the same user
  const c2 = await connect(srv, tok);
  const again = await c2.call({ id: rid, action: 'get_result' });
  checkReportComplete(again, rows);
  await c2.close();
});

scenario('status requests while progress flows: every message of the request arrives in seq order', async () => {
  const c = await connect(srv, await token());
  const problems = [];
  for (let k = 0; k < 3; k++) {
    const rid = uniq('interleave');
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 40, stepMs: 25 } });
    await c.waitFor((m) => m.request_id === rid && m.type === 'progress', { what: 'the first progress' });
    for (let i = 0; i < 10; i++) {
      c.send({ id: rid, action: 'status' });
      await sleep(20);
    }
    checkReportComplete(await c.terminal(rid), 40);
    await sleep(300);
    try {
      checkStream(c.of(rid));
    } catch (e) {
      problems.push(String(e.message).split('\n')[0]);
    }
  }
  assert.deepEqual(problems, []);
  await c.close();
});

scenario('status/get_result of an unknown id, or of another user\'s request: NOT_FOUND', async () => {
  const owner = await token();
  const c = await connect(srv, owner);
  const rid = uniq('mine');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 10 } });
  checkReportComplete(await c.terminal(rid), 2);
  const other = await connect(srv, await token());
  for (const action of ['status', 'get_result', 'cancel']) {
    checkError(await other.call({ id: rid, action }), 'NOT_FOUND', rid);
    checkError(await other.call({ id: uniq('nope'), action }), 'NOT_FOUND');
  }
  const r = await other.call({ id: rid, action: 'resume', last_seq: 0 });
  checkError(r, 'NOT_FOUND', rid);
  await c.close();
  await other.close();
});

scenario('the same client id sent twice runs one job: one ack, the second send gets the state', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('dup');
  const rows = 6;
  const done0 = await srv.completed();
  const payload = { rows, stepMs: 120 };
  c.send({ id: rid, action: 'GenerateReport', payload });
  c.send({ id: rid, action: 'GenerateReport', payload });
  const fin = await c.terminal(rid);
  checkReportComplete(fin, rows);
  await sleep(500);
  const msgs = c.of(rid);
  checkStream(msgs);
  assert.equal(msgs.filter((m) => m.type === 'ack').length, 1, `one ack: ${c.dump()}`);
  const answers = msgs.filter((m) => m.type === 'status');
  assert.equal(answers.length, 1, `the second send is answered with a status: ${c.dump()}`);
  assert.ok(['PENDING', 'PROCESSING'].includes(answers[0].status));
  assert.equal(msgs.filter((m) => m.type === 'complete').length, 1);
  // and after the end, the same id again gets the terminal message, no new job
  const third = await c.call({ id: rid, action: 'GenerateReport', payload });
  checkReportComplete(third, rows);
  assert.equal(third.seq, fin.seq + 1);
  // from a new connection (a retry after a lost connection) too
  const c2 = await connect(srv, tok);
  const fourth = await c2.call({ id: rid, action: 'GenerateReport', payload });
  checkReportComplete(fourth, rows);
  await sleep(1500); // a second job, had one started, would have reported by now
  assert.equal(c2.of(rid).length, 1, `nothing else for the retried id: ${c2.dump()}`);
  // at least +1: the sweep may complete requests other tests' servers left meanwhile; one
  // run is what the stored history below proves (a second would add its progress)
  assert.ok(await srv.completed() >= done0 + 1, 'the job ran (requests_total{GenerateReport,completed})');
  const hist = await history(srv, tok, rid);
  checkStream(hist);
  assert.equal(hist.filter((m) => m.type === 'progress').length, rows, 'the stored history holds one run\'s progress');
  await c.close();
  await c2.close();
});

scenario('an id names one request: another payload under it is refused DUPLICATE_REQUEST, the same payload (members in another order) is a retry', async () => {
  const tok = await token();
  const c = await connect(srv, tok);
  const rid = uniq('reuse');
  const fin = await c.call({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1 } });
  checkReportComplete(fin, 2);
  const other = await c.call({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 1 } });
  assert.equal(other.type, 'error', `another payload under a used id: ${c.dump()}`);
  assert.equal(other.error.code, 'DUPLICATE_REQUEST');
  assert.equal(other.error.retryable, false);
  assert.match(other.error.message, /another payload/);
  assert.equal(other.seq, undefined, 'the refusal is not a message of the earlier request');
  const again = await c.call({ id: rid, action: 'GenerateReport', payload: { stepMs: 1, rows: 2 } });
  checkReportComplete(again, 2);
  assert.equal(again.seq, fin.seq + 1, 'the retry is answered with the request\'s end');
  await c.close();
});

scenario('a burst of five sends of one id: one ack (seq 1, first), four states, in seq order; one job', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('burst');
  const rows = 4;
  const done0 = await srv.completed();
  const payload = { rows, stepMs: 150 };
  for (let i = 0; i < 5; i++) c.send({ id: rid, action: 'GenerateReport', payload });
  checkReportComplete(await c.terminal(rid), rows);
  await sleep(500);
  const msgs = c.of(rid);
  assert.equal(msgs[0].type, 'ack', `the ack (seq 1) comes first: ${msgs.map((m) => `${m.seq}:${m.type}`).join(' ')}`);
  checkStream(msgs);
  assert.equal(msgs.filter((m) => m.type === 'ack').length, 1);
  assert.equal(msgs.filter((m) => m.type === 'status').length, 4, c.dump());
  assert.equal(await srv.completed(), done0 + 1);
  await c.close();
});

scenario('the same client id from two users are two requests', async () => {
  const rid = uniq('shared-id');
  const a = await connect(srv, await token());
  const b = await connect(srv, await token());
  a.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 10 } });
  b.send({ id: rid, action: 'GenerateReport', payload: { rows: 4, stepMs: 10 } });
  checkReportComplete(await a.terminal(rid), 3);
  checkReportComplete(await b.terminal(rid), 4);
  assert.equal(a.of(rid)[0].type, 'ack');
  assert.equal(b.of(rid)[0].type, 'ack');
  await a.close();
  await b.close();
});

scenario('FORBIDDEN without the reports:write scope (the job never starts); Echo needs none', async () => {
  const done0 = await srv.completed();
  for (const scopes of [[], ['reports:read'], ['reports:write:x']]) {
    const c = await connect(srv, await token({ scopes }));
    const rid = uniq('forbidden');
    const e = await c.call({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1 } });
    checkError(e, 'FORBIDDEN', rid);
    assert.match(e.error.message, /reports:write/, 'the message names the missing scope');
    checkError(await c.call({ id: rid, action: 'status' }), 'NOT_FOUND', rid);
    const echo = await c.call({ id: uniq('echo'), action: 'Echo', payload: { text: 'x' } });
    assert.equal(echo.type, 'response');
    await c.close();
  }
  // scopes as an array claim count too
  const c = await connect(srv, await token({ scopes: null, extra: { scopes: ['reports:write'] } }));
  const rid = uniq('scopes-array');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } });
  checkReportComplete(await c.terminal(rid), 1);
  await c.close();
  assert.equal(await srv.completed(), done0 + 1);
});

scenario('SIGTERM: the server shuts down cleanly (exit 0, no sanitizer report)', async () => {
  const c = await connect(srv, await token());
  const problems = await stopServers([srv]);
  assert.deepEqual(problems, []);
  await c.waitFor(() => false, { timeoutMs: 5000 }).catch(() => {});
  assert.ok(c.closed, 'open connections are closed at shutdown');
});
