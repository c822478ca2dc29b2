// End to end against streamer-demo: a hostile or careless client that keeps
// at it (docs/streamer.md, "Limits"): what one user can make a server hold
// and do stays bounded, and other users are served meanwhile.
// (bench/streamer/abuse.sh measures the same over minutes.)
import {
  assert, checkError, connect, metric, scenario, sleep, startServer, stopServers, token, tryConnect, uniq,
} from './harness.mjs';
import { readdirSync, readFileSync } from 'node:fs';
import { after } from 'node:test';

after(async () => {
  const problems = await stopServers();
  assert.deepEqual(problems, []);
});

const slow = { rows: 50, stepMs: 200 }; // ten seconds unless cancelled

scenario('one user has at most --max-user-requests async requests queued or running; past it RATE_LIMITED, others are served', async () => {
  const srv = await startServer({ name: 'abuse-user-bound', args: ['--workers', '2', '--max-user-requests', '3'] });
  const sub = uniq('hog');
  const hog = await connect(srv, await token({ sub }));
  const ids = [uniq('h'), uniq('h'), uniq('h')];
  for (const id of ids) {
    const a = await hog.call({ id, action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === id });
    assert.equal(a.type, 'ack', hog.dump(5));
  }
  // the fourth new id: refused, retryable, nothing stored for it
  const extra = uniq('h');
  const refused = await hog.call({ id: extra, action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === extra });
  checkError(refused, 'RATE_LIMITED', extra);
  assert.equal(refused.error.retryable, true);
  assert.equal(refused.seq, undefined, 'a refusal before anything was stored has no seq');
  assert.match(refused.error.message, /3 requests of yours/);
  const nf = await hog.call({ id: extra, action: 'get_result' });
  checkError(nf, 'NOT_FOUND', extra);
  // an id that exists is not new: its state, as always (a retry after a lost connection)
  const again = await hog.call({ id: ids[0], action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === ids[0] && m.type !== 'progress' && m.type !== 'ack' });
  assert.equal(again.type, 'status', hog.dump(5));
  // the same user on another connection is the same user
  const hog2 = await connect(srv, await token({ sub }));
  const extra2 = uniq('h');
  checkError(await hog2.call({ id: extra2, action: 'GenerateReport', payload: slow }), 'RATE_LIMITED', extra2);
  await hog2.close();
  // another user is served
  const other = await connect(srv, await token({ sub: uniq('other') }));
  const oid = uniq('o');
  const oack = await other.call({ id: oid, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } }, { pred: (m) => m.request_id === oid });
  assert.equal(oack.type, 'ack', other.dump(5));
  // what the operator sees
  assert.ok(srv.logLines().some((l) => l.event === 'user_requests_limited' && l.request_id === extra), 'user_requests_limited logged');
  assert.ok(metric(await srv.metrics(), 'dorm_streamer_limited_total', { limit: 'user_requests' }) >= 1);
  // once the user's requests end, new ones are taken again
  for (const id of ids) hog.send({ id, action: 'cancel' });
  for (const id of ids) await hog.terminal(id, { timeoutMs: 30000 });
  const later = uniq('h');
  const ok = await hog.call({ id: later, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } }, { pred: (m) => m.request_id === later });
  assert.equal(ok.type, 'ack', hog.dump(5));
  const fin = await hog.terminal(later);
  assert.equal(fin.type, 'complete', hog.dump(5));
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

scenario('jobs are queued fairly between users: one user\'s backlog does not make another\'s job wait behind all of it', async () => {
  // one runner (--workers 2 keeps one for messages): the queue's order is the order jobs run in
  const srv = await startServer({ name: 'abuse-fair-queue', args: ['--workers', '2'] });
  const hog = await connect(srv, await token({ sub: uniq('backlog') }));
  const job = { rows: 5, stepMs: 150 };
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const id = uniq(`a${i}`);
    ids.push(id);
    const a = await hog.call({ id, action: 'GenerateReport', payload: job }, { pred: (m) => m.request_id === id });
    assert.equal(a.type, 'ack', hog.dump(5));
  }
  const other = await connect(srv, await token({ sub: uniq('polite') }));
  const oid = uniq('b');
  other.send({ id: oid, action: 'GenerateReport', payload: job });
  const done = await other.terminal(oid, { timeoutMs: 45000 });
  assert.equal(done.type, 'complete', other.dump(5));
  const hogDone = [];
  for (const id of ids) hogDone.push(await hog.terminal(id, { timeoutMs: 45000 }));
  for (const m of hogDone) assert.equal(m.type, 'complete', hog.dump(5));
  // the hog's jobs ran in their order; the polite user's ran after at most the hog's first two
  // (the one running and the one queued in the same round), not after all five
  const at = (m) => Date.parse(m.ts);
  for (let i = 1; i < 5; i++) assert.ok(at(hogDone[i - 1]) <= at(hogDone[i]), `the hog's jobs out of order: ${hogDone.map((m) => m.ts)}`);
  assert.ok(at(done) < at(hogDone[2]),
    `the polite user's job ended at ${done.ts}, after the hog's third (${hogDone[2].ts}): it waited behind the hog's backlog`);
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

scenario('one user has at most --max-user-connections connections to a server; past it the upgrade is refused 429, others connect', async () => {
  const srv = await startServer({ name: 'abuse-user-conns', args: ['--max-user-connections', '3'] });
  const sub = uniq('crowd');
  const tok = await token({ sub });
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push(await connect(srv, tok));
  const r = await tryConnect(srv, tok);
  assert.equal(r.ok, false, 'a fourth connection of the same user was accepted');
  assert.equal(r.status, 429, JSON.stringify(r));
  // a fresh token of the same user is the same user
  assert.equal((await tryConnect(srv, await token({ sub }))).status, 429);
  // another user connects and is served
  const other = await connect(srv, await token({ sub: uniq('else') }));
  assert.equal((await other.call({ action: 'ping' })).type, 'pong');
  assert.ok(srv.logLines().some((l) => l.event === 'too_many_user_connections'), 'too_many_user_connections logged');
  assert.ok(metric(await srv.metrics(), 'dorm_streamer_limited_total', { limit: 'user_connections' }) >= 2);
  // a closed connection (either way) gives its place back
  await mine[0].close();
  mine[1].vanish();
  for (let i = 0; i < 100; i++) {
    if ((await srv.metrics()).find((m) => m.name === 'dorm_streamer_connections').value <= 2) break;
    await sleep(50);
  }
  const again = [await connect(srv, tok), await connect(srv, tok)];
  assert.equal((await tryConnect(srv, tok)).status, 429);
  for (const c of [...again, mine[2], other]) await c.close();
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

scenario('connection churn: thousands of connects and closes leave no connection, fd or thread behind', async () => {
  const srv = await startServer({ name: 'abuse-churn', args: ['--max-user-connections', '24', '--max-user-connects-per-minute', '0'] });
  const sub = uniq('churn');
  const tok = await token({ sub });
  const proc = () => {
    const st = readFileSync(`/proc/${srv.pid}/status`, 'utf8');
    return { fds: readdirSync(`/proc/${srv.pid}/fd`).length, threads: +/Threads:\s+(\d+)/.exec(st)[1] };
  };
  let n = 0;
  const churn = async (rounds) => Promise.all(Array.from({ length: 8 }, async (_, k) => {
    for (let i = 0; i < rounds; i++) {
      const r = await tryConnect(srv, tok);
      if (!r.ok && r.status === 429) { i--; await sleep(50); continue; } // the server has not seen a vanished one go yet
      assert.ok(r.ok, JSON.stringify(r));
      n++;
      // a message in flight when it goes (a job, a sync call, a ping), or none
      if (i % 3 === 1) r.client.send({ id: uniq(`c${k}`), action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } });
      if (i % 3 === 2) { r.client.send({ id: 'e', action: 'Echo', payload: { text: 'x' } }); r.client.send({ action: 'ping' }); }
      if (i % 2) r.client.vanish(); else await r.client.close();
    }
  }));
  const settled = async () => {
    let now;
    for (let i = 0; i < 100; i++) {
      now = proc();
      if ((await srv.metrics()).find((m) => m.name === 'dorm_streamer_connections').value === 0) break;
      await sleep(100);
    }
    await sleep(500);
    return proc();
  };
  // the first round warms the workers' DynamoDB connections (libcurl keeps
  // them: fds that stay); the second must leave nothing more behind
  await churn(30);
  const base = await settled();
  await churn(60);
  const now = await settled();
  console.log(`probe: ${n} connections churned: fds ${base.fds} -> ${now.fds}, threads ${base.threads} -> ${now.threads}`);
  assert.equal((await srv.metrics()).find((m) => m.name === 'dorm_streamer_connections').value, 0);
  assert.ok(now.fds <= base.fds + 4, `fds ${base.fds} -> ${now.fds} after ${n} connections came and went`);
  assert.equal(now.threads, base.threads);
  // and the user is not counted as still holding them: it connects as often as the bound allows
  const back = [];
  for (let i = 0; i < 24; i++) back.push(await connect(srv, tok));
  assert.equal((await tryConnect(srv, tok)).status, 429);
  for (const c of back) await c.close();
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

scenario('status, get_result and cancel without pause: a connection gets a burst of 50 stored answers, then 10 a second; past it RATE_LIMITED', async () => {
  const srv = await startServer({ name: 'abuse-answers' });
  const c = await connect(srv, await token());
  const rid = uniq('asked');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } });
  assert.equal((await c.terminal(rid)).type, 'complete', c.dump(5));
  const from = c.messages.length;
  const t0 = Date.now();
  const actions = ['status', 'get_result', 'cancel'];
  let sent = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 24; i++, sent++) c.send({ id: rid, action: actions[sent % 3] });
    await c.waitFor(() => c.messages.length - from >= sent, { what: `${sent} answers` });
  }
  const secs = (Date.now() - t0) / 1000;
  const got = c.messages.slice(from).filter((m) => m.request_id === rid);
  const stored = got.filter((m) => m.seq !== undefined);
  const limited = got.filter((m) => m.type === 'error' && m.error.code === 'RATE_LIMITED');
  console.log(`probe: ${sent} status/get_result/cancel in ${secs.toFixed(1)} s: ${stored.length} answered (stored), ${limited.length} RATE_LIMITED`);
  assert.equal(stored.length + limited.length, sent, c.dump(10));
  assert.ok(stored.length <= 50 + Math.ceil(secs * 10) + 1, `${stored.length} stored answers in ${secs} s`);
  assert.ok(stored.length >= 50, `the burst: ${stored.length}`);
  for (const e of limited) {
    assert.equal(e.error.retryable, true);
    assert.equal(e.seq, undefined);
    assert.match(e.error.message, /status, get_result and cancel/);
  }
  assert.equal(srv.logLines().filter((l) => l.event === 'answers_limited').length, 1, 'logged once for the connection');
  assert.ok(metric(await srv.metrics(), 'dorm_streamer_limited_total', { limit: 'answers' }) >= limited.length);
  // the seqs of the stored answers are the request's next ones, no gap
  const seqs = stored.map((m) => m.seq).sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `seqs ${seqs}`);
  // the bucket refills: a pause, and status is answered again
  await sleep(300);
  const again = await c.call({ id: rid, action: 'get_result' });
  assert.equal(again.type, 'complete', c.dump(3));
  await c.close();
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

scenario('one user connects at most --max-user-connects-per-minute times a minute (a burst as large); past it 429, the allowance refills', async () => {
  const srv = await startServer({ name: 'abuse-user-connects', args: ['--max-user-connects-per-minute', '60'] });
  const tok = await token({ sub: uniq('reconnector') });
  const t0 = Date.now();
  let n = 0, r;
  for (; n < 200; n++) {
    r = await tryConnect(srv, tok);
    if (!r.ok) break;
    r.client.vanish(); // a client that reconnects in a loop
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`probe: ${n} connects in ${secs.toFixed(1)} s before the first refusal`);
  assert.equal(r.ok, false, `${n} connects, none refused`);
  assert.equal(r.status, 429, JSON.stringify(r));
  assert.ok(n >= 60 && n <= 60 + Math.ceil(secs) + 1, `${n} connects in ${secs} s at 60 a minute`);
  // another user is not held to this one's allowance
  const other = await connect(srv, await token({ sub: uniq('calm') }));
  assert.equal((await other.call({ action: 'ping' })).type, 'pong');
  assert.ok(srv.logLines().some((l) => l.event === 'too_many_user_connects'), 'too_many_user_connects logged');
  assert.ok(metric(await srv.metrics(), 'dorm_streamer_limited_total', { limit: 'user_connects' }) >= 1);
  // a second later the allowance has one more
  await sleep(1200);
  const again = await connect(srv, tok);
  await again.close();
  await other.close();
  // its processor would claim the next scenarios' requests (the tables are shared)
  assert.deepEqual(await stopServers([srv]), []);
});

