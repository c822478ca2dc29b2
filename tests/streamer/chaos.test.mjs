// Many requests at once across two processors, one of them SIGKILLed while
// jobs run (docs/streamer.md: Request states, Seqs, Delivery). The scenario
// tests of cluster.test.mjs and resume.test.mjs take one request through
// one failure each; here the failures meet: clients of the killed server
// reconnect to the survivor and resume while the survivor takes over the dead
// server's leases, and the survivor's own clients wait for jobs the dead one
// was running. Whatever happened, every request ends with exactly one
// terminal message, its result right, and each client's messages of it,
// joined across its connections, are the whole stream once: seqs 1..n with
// no gap or duplicate, percent never going back.
import {
  assert, checkError, checkReportComplete, checkStream, connect, countingProxy, history, scenario, sleep, startServer, stopServers,
  token, uniq,
} from './harness.mjs';
import { ddb } from './lambda-emulators.mjs';

const LEASE = ['--lease-ms', '2000', '--poll-ms', '100', '--progress-interval-ms', '20', '--workers', '12'];

const TAKEOVER = ['--lease-ms', '2000', '--poll-ms', '100', '--progress-interval-ms', '20'];

/**
 * A processor whose DynamoDB calls go through a proxy that, at the first
 * call `matches(op, body)` accepts, makes that call itself and SIGKILLs the
 * processor before it hears back: the write is done, the processor never
 * knew. Returns {p, killed(), close()}.
 */
async function processorKilledAfter(name, matches) {
  const state = { p: null, killed: false };
  const proxy = await countingProxy({
    beforeForward: async (op, body) => {
      if (state.killed || !state.p || !matches(op, body)) return;
      state.killed = true;
      await ddb(`DynamoDB_20120810.${op}`, body);
      state.p.kill('SIGKILL');
      await state.p.exited;
    },
  });
  state.p = await startServer({ name, args: TAKEOVER, ddb: proxy.url });
  return {
    p: state.p,
    killed: () => state.killed,
    close: async () => { state.p.kill('SIGKILL'); await proxy.close(); },
  };
}

async function waitKilled(victim, c) {
  const deadline = Date.now() + 60000;
  while (!victim.killed() && Date.now() < deadline) await sleep(25);
  assert.ok(victim.killed(), `the processor made the write and was killed: ${c.dump()}`);
}

/** A request's terminal message: complete, or an error with a seq. */
const isTerminal = (m) => m.type === 'complete' || (m.type === 'error' && Number.isInteger(m.seq));

scenario('two processors, one SIGKILLed mid-round: every request of both servers\' clients completes once, streams whole', async () => {
  const a = await startServer({ name: 'survivor', args: LEASE });
  const b = await startServer({ name: 'killed', args: LEASE });
  try {
    const N = 32;
    const reqs = [];
    for (let i = 0; i < N; i++) {
      const tok = await token();
      const srv = i % 2 ? b : a;
      const c = await connect(srv, tok);
      const rid = uniq(`chaos${i}`);
      // b's first two clients ask for a short job, over before the kill:
      // their clients resume on the survivor after their terminal message
      // and must get nothing more (a busy machine ends some of the long
      // jobs before the kill too: this makes the case certain)
      const short = i === 1 || i === 3;
      reqs.push({ rid, tok, onB: srv === b, short, rows: short ? 2 : 25, conns: [c], lastSeq: null });
    }
    // all at once: 24 workers for 32 jobs of ~1.5 s, so some wait queued
    for (const r of reqs) r.conns[0].send({ id: r.rid, action: 'GenerateReport', payload: { rows: r.rows, stepMs: r.short ? 10 : 60 } });
    // kill b once jobs run on it (some of its jobs mid-way, some queued) and the short ones ended
    const deadline = Date.now() + 60000; // DynamoDB Local under ASan on a busy machine is slow
    for (;;) {
      // (a server runs its own clients' new requests: b's clients' jobs run on b)
      const running = reqs.filter((r) => r.onB && !r.short && r.conns[0].of(r.rid).some((m) => m.type === 'progress')).length;
      const shortDone = reqs.filter((r) => r.short && r.conns[0].of(r.rid).some(isTerminal)).length;
      if (running >= N / 8 && shortDone === 2) break;
      if (Date.now() > deadline) {
        assert.fail(`jobs did not start on b: ${running} of ${N / 2 - 2} reported progress, ${shortDone} of 2 short ones ended`);
      }
      await sleep(25);
    }
    b.kill('SIGKILL');
    await b.exited;
    // the killed server's clients come back on the survivor and resume
    // after the last message they saw (0 when they saw none; a request that
    // ended before the kill resumes after its terminal message)
    for (const r of reqs.filter((x) => x.onB)) {
      const seen = r.conns[0].of(r.rid);
      r.lastSeq = seen.length ? seen.at(-1).seq : 0;
      const c = await connect(a, r.tok);
      r.conns.push(c);
      c.send({ id: r.rid, action: 'resume', last_seq: r.lastSeq });
    }
    const problems = [];
    let endedBeforeKill = 0;
    await Promise.all(reqs.map(async (r) => {
      const live = r.conns.at(-1);
      try {
        const first = r.conns[0];
        // a frame the killed server wrote just before it died may still
        // have been read after lastSeq was taken: the resume sent it again
        // (it asked for everything after lastSeq), so the stream the client
        // put together is the first connection's messages up to lastSeq,
        // then the second connection's
        const joined = () => (r.conns.length === 1 ? first.of(r.rid)
          : [...first.of(r.rid).filter((m) => m.seq <= r.lastSeq), ...live.of(r.rid)]);
        const endedFirst = r.lastSeq !== null && first.of(r.rid).some((m) => isTerminal(m) && m.seq <= r.lastSeq);
        if (endedFirst) endedBeforeKill++;
        else await live.terminal(r.rid, { timeoutMs: 120000 });
        await sleep(300); // anything after the terminal message would be a defect: let it arrive
        const all = joined();
        // a job re-run after the take-over reports its rows again from 1:
        // rows may repeat, percent and seq may not
        checkStream(all, { rowsIncrease: false });
        const terminals = all.filter(isTerminal);
        assert.equal(terminals.length, 1, `one terminal message: ${all.map((m) => `${m.seq}:${m.type}`).join(' ')}`);
        checkReportComplete(terminals[0], r.rows);
        assert.equal(all.at(-1), terminals[0], 'nothing after the terminal message');
        if (r.conns.length > 1) {
          // the resume sent what came after lastSeq, nothing before it
          assert.ok(live.of(r.rid).every((m) => m.seq > r.lastSeq), `the resume after ${r.lastSeq} sent: ${live.dump()}`);
          // what the first connection got after lastSeq is what the resume sent again
          for (const m of first.of(r.rid).filter((x) => x.seq > r.lastSeq)) {
            const again = live.of(r.rid).find((x) => x.seq === m.seq);
            assert.deepEqual(again, m, `seq ${m.seq} sent again differs`);
          }
        }
      } catch (e) {
        // what both servers logged about it (a request lost between them shows where)
        const logged = [a, b].flatMap((s) => s.stderr.split('\n').filter((l) => l.includes(r.rid)).map((l) => `  ${s.name}: ${l}`));
        problems.push(`${r.rid} (client on ${r.onB ? 'the killed server' : 'the survivor'}, resumed after ${r.lastSeq}): ${String(e.message).split('\n')[0]}\n${logged.join('\n')}`);
      }
    }));
    // what the round went through (so a run that exercised nothing shows)
    const rerun = reqs.filter((r) => {
      const rowsSeen = r.conns.flatMap((c) => c.of(r.rid)).filter((m) => m.type === 'progress').map((m) => m.progress?.rows);
      return rowsSeen.some((x, i) => i > 0 && x <= rowsSeen[i - 1]);
    }).length;
    console.log(`chaos: ${N} requests, ${reqs.filter((r) => r.onB).length} clients moved (${endedBeforeKill} of them after their request ended), ${rerun} jobs re-run after the kill, survivor completed ${await a.completed()}`);
    assert.deepEqual(problems, []);
    assert.ok(rerun > 0, 'the kill hit running jobs (none re-ran: the scenario tested nothing)');
    assert.ok(endedBeforeKill >= 2, 'the short jobs ended before the kill');
    for (const r of reqs) for (const c of r.conns) if (!c.closed) await c.close();
  } finally {
    b.kill('SIGKILL');
    assert.deepEqual(await stopServers([a]), []);
  }
}, { timeoutMs: 240000 });

scenario('a processor killed after storing a progress and before delivering it: the one taking over sends it, the connected client sees no gap', async () => {
  // The client's server runs no jobs; processor 1 is killed right after the
  // first message batch holding row 3's progress of this request is stored:
  // the message was never delivered. The client stays connected (no
  // resume): what it receives live must be the whole stream once the lease
  // expires and processor 2 takes the job over.
  const front = await startServer({ name: 'front (--no-processor)', args: ['--no-processor', ...TAKEOVER] });
  let rid = null, p2 = null;
  const victim = await processorKilledAfter('processor 1 (killed after a store)', (op, body) => {
    const text = JSON.stringify(body ?? {});
    return (op === 'BatchWriteItem' || op === 'PutItem') && rid !== null && text.includes('dorm_streamer_messages') &&
      text.includes(rid) && /\\"rows\\":3[,}]/.test(text);
  });
  try {
    const c = await connect(front, await token());
    rid = uniq('stored-not-sent');
    const rows = 12;
    c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 80 } });
    await waitKilled(victim, c);
    assert.ok(!c.of(rid).some((m) => m.progress?.rows === 3), `row 3's progress was not delivered before the kill: ${c.dump()}`);
    p2 = await startServer({ name: 'processor 2', args: TAKEOVER });
    checkReportComplete(await c.terminal(rid, { timeoutMs: 90000 }), rows);
    await sleep(500);
    const got = c.of(rid);
    // live, without a resume: seqs 1..n, the stored row 3 among them
    checkStream(got, { rowsIncrease: false });
    assert.ok(got.some((m) => m.progress?.rows === 3), `the stored, undelivered progress reached the client: ${c.dump()}`);
    assert.equal(got.filter((m) => m.type === 'complete').length, 1);
    await c.close();
  } finally {
    await victim.close();
    assert.deepEqual(await stopServers([front, ...(p2 ? [p2] : [])]), []);
  }
}, { timeoutMs: 180000 });

scenario('a processor killed after writing a job\'s end and before delivering it: the client\'s server sends the end once the request has been silent', async () => {
  // As above, but processor 1 is killed right after the transaction that
  // ends the job (COMPLETED, the complete message stored). Nobody takes the
  // job over (it is finished); the client's server notices the request
  // silent for two leases (at least 5 s), finds it ended and sends what the
  // connection lacks.
  const front = await startServer({ name: 'front (--no-processor)', args: ['--no-processor', ...TAKEOVER] });
  let pk = null;
  const victim = await processorKilledAfter('processor 1 (killed after the end)', (op, body) =>
    op === 'TransactWriteItems' && pk !== null && (body?.TransactItems ?? []).some((t) => t.Update?.Key?.PK?.S === pk));
  try {
    const sub = uniq('end-not-sent');
    const c = await connect(front, await token({ sub }));
    const rid = uniq('end-not-sent');
    pk = `${sub}#${rid}`;
    const rows = 4;
    c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 50 } });
    await waitKilled(victim, c);
    assert.ok(!c.of(rid).some((m) => m.type === 'complete'), `the end was not delivered before the kill: ${c.dump()}`);
    checkReportComplete(await c.terminal(rid, { timeoutMs: 60000 }), rows);
    await sleep(300);
    checkStream(c.of(rid));
    assert.ok(front.logLines().some((l) => l.event === 'caught_up' && l.request_id === rid), 'the front sent it');
    await c.close();
  } finally {
    await victim.close();
    assert.deepEqual(await stopServers([front]), []);
  }
}, { timeoutMs: 180000 });

scenario('a cancel that reaches a job whose processor just died: the processor taking over ends it CANCELLED', async () => {
  // The client does not know its job's processor died: it cancels. The
  // router records the ask in the request item (cancelRequested) for the
  // lease owner, which will never read it. The processor that takes the
  // expired lease over must end the request CANCELLED and tell the client;
  // a claim that refused requests with a cancel asked left it PROCESSING
  // for ever (the sweep found it expired every second, nobody ended it).
  const front = await startServer({ name: 'front (--no-processor)', args: ['--no-processor', ...TAKEOVER] });
  const p1 = await startServer({ name: 'processor 1 (killed)', args: TAKEOVER });
  let p2 = null;
  try {
    const sub = uniq('cancel-orphan');
    const c = await connect(front, await token({ sub }));
    const rid = uniq('cancel-orphan');
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 200, stepMs: 50 } });
    await c.waitFor((m) => m.request_id === rid && m.type === 'progress', { timeoutMs: 60000, what: 'progress' });
    p1.kill('SIGKILL');
    await p1.exited;
    c.send({ id: rid, action: 'cancel' });
    // the router's write is there before anyone may take the job over
    const deadline = Date.now() + 30000;
    for (;;) {
      const got = await ddb('DynamoDB_20120810.GetItem', {
        TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } }, ConsistentRead: true,
      });
      if (got.Item?.cancelRequested?.BOOL === true) {
        assert.equal(got.Item.status.S, 'PROCESSING', 'the dead processor held the request');
        break;
      }
      assert.ok(Date.now() < deadline, `the cancel was not recorded: ${c.dump()}`);
      await sleep(50);
    }
    p2 = await startServer({ name: 'processor 2', args: TAKEOVER });
    const fin = await c.terminal(rid, { timeoutMs: 60000 });
    checkError(fin, 'CANCELLED', rid);
    await sleep(300);
    const got = c.of(rid);
    checkStream(got);
    assert.equal(got.at(-1), fin, 'nothing after the terminal message');
    assert.ok(!p2.logLines().some((l) => l.event === 'started' && l.request_id === rid), 'the cancelled job was not run again');
    assert.equal((await ddb('DynamoDB_20120810.GetItem', {
      TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } }, ConsistentRead: true,
    })).Item.status.S, 'CANCELLED');
    await c.close();
  } finally {
    p1.kill('SIGKILL');
    assert.deepEqual(await stopServers([front, ...(p2 ? [p2] : [])]), []);
  }
}, { timeoutMs: 180000 });

scenario('resume from 0 of a request whose ack was sent but never stored (its server died in between): the ack is made again, the stream whole', async () => {
  const srv = await startServer({ name: 'ack-lost' });
  try {
    const sub = uniq('ack-lost');
    const tok = await token({ sub });
    const c1 = await connect(srv, tok);
    const rid = uniq('ack-lost');
    c1.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 20 } });
    checkReportComplete(await c1.terminal(rid), 3);
    await c1.close();
    // what a crash between sending the ack and storing it leaves
    await sleep(300); // the ack is stored within a poll interval
    await ddb('DynamoDB_20120810.DeleteItem', {
      TableName: 'dorm_streamer_messages', Key: { PK: { S: `${sub}#${rid}` }, seq: { N: '1' } },
    });
    const c2 = await connect(srv, tok);
    c2.send({ id: rid, action: 'resume', last_seq: 0 });
    const fin = await c2.terminal(rid);
    checkReportComplete(fin, 3);
    await sleep(200);
    const got = c2.of(rid);
    checkStream(got);
    assert.equal(got[0].type, 'ack', c2.dump());
    assert.equal(got[0].endpoint, 'GenerateReport');
    await c2.close();
  } finally {
    assert.deepEqual(await stopServers([srv]), []);
  }
});

/** A server whose DynamoDB calls go through a proxy: the first call
 *  `matches(op, body)` accepts is made (DynamoDB applies it) and answered
 *  500, as a write whose answer was lost; so are its retries (the same
 *  ClientRequestToken: a transaction's retry is applied once and answered
 *  as the first, which a server that gave up after its retries never
 *  hears). Returns {srv, hit(), close()}. */
async function serverWithLostAnswer(name, matches) {
  const state = { hit: false, token: null };
  const proxy = await countingProxy({
    beforeForward: async (op, body) => {
      const retry = state.hit && state.token && body?.ClientRequestToken === state.token;
      if (!retry && (state.hit || !matches(op, body))) return undefined;
      state.hit = true;
      state.token = body?.ClientRequestToken ?? null;
      return { reply: { status: 500, body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected: applied, answer lost' } } };
    },
  });
  const srv = await startServer({ name, args: TAKEOVER, ddb: proxy.url });
  return { srv, hit: () => state.hit, close: async () => { await stopServers([srv]); await proxy.close(); } };
}

/** A 3-row report as rid on c, to its end: its messages, whole, once the
 *  proxy of w answered `what` itself. */
async function reportThrough(w, c, rid, what) {
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 20 } });
  checkReportComplete(await c.terminal(rid, { timeoutMs: 60000 }), 3);
  await sleep(300); // anything after the terminal message would be a defect: let it arrive
  assert.ok(w.hit(), `${what} went through the proxy`);
  const got = c.of(rid);
  checkStream(got);
  return got;
}

scenario('a request\'s creation applied but answered 500: the client gets its ack, not a status, and the job runs here', async () => {
  let rid = null;
  const creates = (op, body) => rid !== null && (
    (op === 'PutItem' && body?.TableName === 'dorm_streamer_requests' && body?.Item?.clientId?.S === rid) ||
    (op === 'TransactWriteItems' && (body?.TransactItems ?? []).some((t) => t.Put?.TableName === 'dorm_streamer_requests' && t.Put?.Item?.clientId?.S === rid)));
  const w = await serverWithLostAnswer('creation answered 500', creates);
  try {
    const c = await connect(w.srv, await token());
    rid = uniq('create-lost');
    const got = await reportThrough(w, c, rid, 'the creation');
    assert.equal(got[0].type, 'ack', `the first message is the ack: ${c.dump()}`);
    assert.ok(!got.some((m) => m.type === 'status'), `no status: ${c.dump()}`);
    assert.ok(w.srv.logLines().some((l) => l.event === 'create_applied' && l.request_id === rid), 'create_applied logged');
    await c.close();
  } finally {
    await w.close();
  }
}, { timeoutMs: 120000 });

scenario('a job\'s end applied but answered 500: its processor delivers the end (no lease_lost, nothing left to the silence check)', async () => {
  let pk = null;
  const ends = (op, body) => pk !== null && op === 'TransactWriteItems' &&
    (body?.TransactItems ?? []).some((t) => t.Update?.Key?.PK?.S === pk);
  const w = await serverWithLostAnswer('end answered 500', ends);
  try {
    const sub = uniq('end-lost');
    const c = await connect(w.srv, await token({ sub }));
    const rid = uniq('end-lost');
    pk = `${sub}#${rid}`;
    const got = await reportThrough(w, c, rid, 'the end');
    assert.equal(got.filter((m) => m.type === 'complete').length, 1, c.dump());
    const logs = w.srv.logLines().filter((l) => l.request_id === rid);
    assert.ok(logs.some((l) => l.event === 'end_applied'), `end_applied logged: ${JSON.stringify(logs)}`);
    assert.ok(!logs.some((l) => l.event === 'lease_lost' || l.event === 'caught_up'), `delivered by its processor: ${JSON.stringify(logs)}`);
    const item = await ddb('DynamoDB_20120810.GetItem', { TableName: 'dorm_streamer_requests', Key: { PK: { S: pk } }, ConsistentRead: true });
    assert.equal(item.Item.status.S, 'COMPLETED');
    await c.close();
  } finally {
    await w.close();
  }
}, { timeoutMs: 120000 });

scenario('a progress write of a run that lost its lease, held past the takeover: it does not land over the new run\'s message of that seq', async () => {
  // Processor 1's calls go through a proxy that, at its store of row 3's
  // progress, holds it and every call after it (a partition: the write
  // is on its way, the lease runs out). Processor 2 takes the job over and
  // stores its own messages from the seq that write held; then the
  // partition heals and the held write reaches DynamoDB. The client's
  // messages, as delivered live, must be what is stored: one message per
  // seq, percent never going back.
  const front = await startServer({ name: 'front (--no-processor)', args: ['--no-processor', ...TAKEOVER] });
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  let rid = null, heldSeq = 0;
  const proxy = await countingProxy({
    beforeForward: async (op, body) => {
      if (heldSeq) { await gate; return; }
      const text = JSON.stringify(body ?? {});
      if (rid !== null && ['PutItem', 'BatchWriteItem', 'TransactWriteItems'].includes(op) && text.includes('dorm_streamer_messages') &&
          text.includes(rid) && /\\"rows\\":3[,}]/.test(text)) {
        heldSeq = Number(/"seq":\{"N":"(\d+)"\}/.exec(text)?.[1] ?? -1);
        await gate;
      }
    },
  });
  const p1 = await startServer({ name: 'processor 1 (partitioned)', args: TAKEOVER, ddb: proxy.url });
  let p2 = null;
  try {
    const sub = uniq('stale-write');
    const tok = await token({ sub });
    const c = await connect(front, tok);
    rid = uniq('stale-write');
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 30, stepMs: 100 } });
    let deadline = Date.now() + 60000;
    while (!heldSeq && Date.now() < deadline) await sleep(25);
    assert.ok(heldSeq > 0, `row 3's store was held (seq ${heldSeq}): ${c.dump()}`);
    p2 = await startServer({ name: 'processor 2', args: TAKEOVER });
    // processor 2 took the job over and stored a message under the held seq
    await c.waitFor((m) => m.request_id === rid && m.seq === heldSeq, { timeoutMs: 60000, what: `seq ${heldSeq} from processor 2` });
    open();
    const fin = await c.terminal(rid, { timeoutMs: 90000 });
    checkReportComplete(fin, 30);
    await sleep(500);
    const live = c.of(rid);
    checkStream(live, { rowsIncrease: false });
    const stored = await history(front, tok, rid);
    checkStream(stored, { rowsIncrease: false });
    // (a stored message reads back canonical: members sorted)
    const canon = (v) => (v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
    const byseq = (msgs) => Object.fromEntries(msgs.map((m) => [m.seq, JSON.stringify(canon(m))]));
    assert.deepEqual(byseq(stored), byseq(live), 'each seq stored as it was delivered');
    await c.close();
  } finally {
    open();
    p1.kill('SIGKILL');
    await proxy.close();
    assert.deepEqual(await stopServers([front, ...(p2 ? [p2] : [])]), []);
  }
}, { timeoutMs: 240000 });
