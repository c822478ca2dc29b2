// Several streamer-demo processes on one DynamoDB (docs/streamer.md: Request
// states, Delivery). The client's server C runs no jobs (--no-processor);
// processors deliver to it through its management API. A processor killed
// mid-job loses its lease and another finishes the job, exactly once; two
// processors never run one request twice; a processor that starts later and
// sees old records runs nothing again.
import {
  assert, checkError, checkReportComplete, checkStream, connect, countingProxy, history, metric, scenario, sleep,
  startServer, stopServers, token, uniq,
} from './harness.mjs';
import { ddb } from './lambda-emulators.mjs';
import { before } from 'node:test';

const LEASE = ['--lease-ms', '2000', '--poll-ms', '100', '--progress-interval-ms', '20'];
let front; // the client's server: accepts requests, runs none

before(async () => {
  front = await startServer({ name: 'front (--no-processor)', args: ['--no-processor', ...LEASE] });
});

const processor = (name) => startServer({ name, args: LEASE });
const rowsOf = (msgs) => msgs.filter((m) => m.type === 'progress').map((m) => m.progress?.rows);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function stopClean(...list) {
  assert.deepEqual(await stopServers(list), []);
}

scenario('two servers: the client on one (--no-processor), its job run by the other, progress through the management API', async () => {
  const p = await processor('processor');
  try {
    const tok = await token();
    const c = await connect(front, tok);
    const rid = uniq('remote');
    const rows = 8;
    c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 120 } });
    const fin = await c.terminal(rid, { timeoutMs: 30000 });
    checkReportComplete(fin, rows);
    await sleep(300);
    const got = c.of(rid);
    checkStream(got);
    assert.equal(got[0].type, 'ack');
    assert.deepEqual(rowsOf(got), range(1, rows), `every row's progress reached the client on the other server:\n${c.dump()}`);
    assert.equal(await p.completed(), 1, 'the processor ran it');
    assert.equal(await front.completed(), 0, 'the --no-processor server ran nothing');
    assert.equal(metric(await p.metrics(), 'dorm_streamer_delivery_failures_total'), 0);
    await c.close();
  } finally {
    await stopClean(p);
  }
});

scenario('status, get_result and the same id again sent to the client\'s server while another runs the job: the lease owner answers each under its own seqs', async () => {
  const p = await processor('processor');
  try {
    const tok = await token();
    const c = await connect(front, tok);
    const rid = uniq('remote-status');
    const rows = 30;
    const payload = { rows, stepMs: 100 };
    c.send({ id: rid, action: 'GenerateReport', payload });
    await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 3,
      { what: 'progress of row 3', timeoutMs: 20000 });
    // the front holds no lease: each of these is an ask the processor answers at its next check-in
    c.send({ id: rid, action: 'status' });
    c.send({ id: rid, action: 'status' });
    c.send({ id: rid, action: 'get_result' });
    c.send({ id: rid, action: 'GenerateReport', payload });
    const answers = () => c.of(rid).filter((m) => m.type === 'status');
    await c.waitFor(() => answers().length >= 4, { what: 'four status answers', timeoutMs: 20000 });
    for (const st of answers()) {
      assert.equal(st.status, 'PROCESSING', JSON.stringify(st));
      assert.ok(st.percent > 0 && st.percent < 100, `percent of a running job: ${JSON.stringify(st)}`);
      assert.equal(st.last_seq, st.seq - 1, `last_seq is the seq before: ${JSON.stringify(st)}`);
    }
    const fin = await c.terminal(rid, { timeoutMs: 30000 });
    checkReportComplete(fin, rows);
    await sleep(300);
    const got = c.of(rid);
    checkStream(got);
    assert.equal(answers().length, 4, c.dump());
    assert.deepEqual(rowsOf(got), range(1, rows), 'one run');
    assert.ok(front.logLines().some((l) => l.event === 'status_asked' && l.request_id === rid), front.describe());
    // stored in the same order: a resume replays them
    const hist = await history(front, tok, rid);
    checkStream(hist);
    assert.equal(hist.filter((m) => m.type === 'status').length, 4);
    await c.close();
  } finally {
    await stopClean(p);
  }
});

scenario('`status` sent without pause to the client\'s server while another runs the job: the asks in the request item stay few, every status is answered, the job ends once', async () => {
  // The job answers the asks at its check-ins, each a status stored and then
  // sent through the management API. Under load (13) that took 1.1-1.9 s for
  // 6-10 asks, past 3/4 of the lease: the next progress was not sent (the
  // lease may have run out) and the sweep found the lease expired. So the
  // status answers are stored slowly here (250 ms each), as on a loaded
  // machine: 16 asks took 4.4 s, the lease expired at every check-in. The job
  // must keep its lease and send every progress whatever the asks cost.
  // The lease is 4 s and an answer takes 500 ms (16 asks: 8 s, twice the
  // lease, as 250 ms made of 2 s): with the 2 s lease, a machine at load 15
  // (each DynamoDB Local call ~1 s) let the lease run out between two
  // renewals however few asks a check-in answered.
  const slow = await countingProxy({
    beforeForward: async (op, body) => {
      if ((op === 'PutItem' || op === 'BatchWriteItem') && JSON.stringify(body ?? {}).includes('PROCESSING')
        && JSON.stringify(body).includes('dorm_streamer_messages')) await sleep(500);
    },
  });
  const lease = ['--lease-ms', '4000', '--poll-ms', '100', '--progress-interval-ms', '20'];
  const p = await startServer({ name: 'processor storing status answers slowly', args: lease, ddb: slow.url });
  try {
    const sub = uniq('chatter');
    const tok = await token({ sub });
    const c = await connect(front, tok);
    const rid = uniq('asked');
    const rows = 6;
    // 400 ms a row without a check-in: the asks of that time wait in the item
    c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 400 } });
    await c.waitFor((m) => m.request_id === rid && m.type === 'progress', { what: 'the first progress', timeoutMs: 20000 });
    const item = async () => (await ddb('DynamoDB_20120810.GetItem', {
      TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } }, ConsistentRead: true,
    })).Item;
    let sent = 0, mostAsks = 0, biggest = 0;
    const done = () => c.of(rid).some((m) => m.type === 'complete' || (m.type === 'error' && m.error.code !== 'RATE_LIMITED'));
    // a status every 5 ms until the job ends (and for a while past it: the end must not wait for them)
    const spam = (async () => {
      for (let i = 0; !done() && i < 4000; i++) {
        c.send({ id: rid, action: 'status' });
        sent++;
        await sleep(5);
      }
    })();
    for (const until = Date.now() + 60000; !done();) {
      assert.ok(Date.now() < until, `the job did not end within 60 s: ${c.dump(5)}`);
      const it = await item();
      mostAsks = Math.max(mostAsks, it?.asks?.SS?.length ?? 0);
      biggest = Math.max(biggest, JSON.stringify(it ?? {}).length);
      await sleep(50);
    }
    await spam;
    const fin = c.of(rid).find((m) => m.type === 'complete' || (m.type === 'error' && m.error.code !== 'RATE_LIMITED'));
    checkReportComplete(fin, rows);
    // every status sent is answered: a status (under a seq), or RATE_LIMITED (retryable)
    const answers = () => c.of(rid).filter((m) => m.type === 'status' || (m.type === 'error' && m.error.code === 'RATE_LIMITED'));
    // (the asks left at the end are answered one by one, two writes and a
    // delivery each: at load 19 under ASan about 1.3 s each)
    await c.waitFor(() => answers().length >= sent, { what: `${sent} answers to status`, timeoutMs: 90000 });
    const limited = answers().filter((m) => m.type === 'error');
    for (const e of limited) assert.equal(e.error.retryable, true, JSON.stringify(e));
    const statuses = answers().filter((m) => m.type === 'status');
    console.log(`# ${sent} status sent during the job: ${statuses.length} answered with a status, ${limited.length} RATE_LIMITED; at most ${mostAsks} asks in the item (${biggest} bytes as JSON)`);
    assert.ok(statuses.length >= 1, c.dump(5));
    assert.ok(mostAsks <= 16, `asks waiting in the request item: ${mostAsks}`);
    // (an ask is deleted once answered: the answer can arrive first)
    let left = (await item()).asks;
    for (let i = 0; left && i < 50; i++, left = (await item()).asks) await sleep(100);
    assert.equal(left, undefined, 'no ask left in the finished request');
    await sleep(300);
    const got = c.of(rid).filter((m) => !(m.type === 'error' && m.error.code === 'RATE_LIMITED')); // (no seq: not run)
    // After the end, two processes answer `status` at once: the client's
    // server (the request is finished) and the processor (the asks left at
    // the end), through the management API. The client's server holds a
    // newer seq for an older one about a second at most; under load (10-14)
    // the processor's answer came later than that, after newer ones. So the
    // status answers are checked by seq (no gap, no duplicate), and the
    // job's own messages in the order they arrived.
    checkStream([...got].sort((x, y) => x.seq - y.seq));
    const own = got.filter((m) => m.type !== 'status').map((m) => m.seq);
    assert.deepEqual(own, [...own].sort((x, y) => x - y), `ack, progress and complete in seq order: ${own}`);
    const logOf = () => p.logLines().filter((l) => l.request_id === rid).map((l) => JSON.stringify(l)).join('\n');
    assert.deepEqual(rowsOf(got), range(1, rows), `one run, every progress sent; the processor's log of it:\n${logOf()}`);
    assert.equal(got.filter((m) => m.type === 'complete').length, 1);
    assert.equal(p.logLines().filter((l) => l.event === 'started' && l.request_id === rid).length, 1, 'started once');
    assert.deepEqual(p.logLines().filter((l) => l.event === 'finish_failed'), []);
    // the lease was kept all along
    assert.deepEqual(p.logLines().filter((l) => l.request_id === rid && (l.event === 'lease_expired' || l.event === 'progress_failed')), [], logOf());
    await c.close();
  } finally {
    await stopClean(p);
    await slow.close();
  }
}, { timeoutMs: 240000 });

scenario('a status asked just before every attempt to write the end never keeps the job from ending: the end goes past it, then answers it', async () => {
  let pk = null, conn = null, injected = 0;
  // as a router of another process would: an ask added to the request item
  // just before each transaction that writes its end (the end's condition
  // wants none waiting)
  const proxy = await countingProxy({
    beforeForward: async (op, body) => {
      if (op !== 'TransactWriteItems' || !pk || injected >= 8) return;
      if (!(body?.TransactItems ?? []).some((t) => t.Update?.Key?.PK?.S === pk)) return;
      injected++;
      await ddb('DynamoDB_20120810.UpdateItem', {
        TableName: 'dorm_streamer_requests', Key: { PK: { S: pk } },
        UpdateExpression: 'ADD asks :a', ExpressionAttributeValues: { ':a': { SS: [`${conn} racer.${injected}`] } },
      });
    },
  });
  const p = await startServer({ name: 'processor through an ask-adding proxy', args: LEASE, ddb: proxy.url });
  try {
    const sub = uniq('raced');
    const c = await connect(p, await token({ sub }));
    const rid = uniq('raced-end');
    conn = c.connectionId;
    pk = `${sub}#${rid}`;
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 50 } });
    const fin = await c.terminal(rid, { timeoutMs: 30000 });
    checkReportComplete(fin, 3);
    // each ask added is answered once: a status under its own seq
    await c.waitFor(() => c.of(rid).filter((m) => m.type === 'status').length >= injected,
      { what: `${injected} status answers`, timeoutMs: 10000 });
    await sleep(300);
    const got = c.of(rid);
    checkStream(got);
    const statuses = got.filter((m) => m.type === 'status');
    assert.ok(injected >= 2, `asks added before ${injected} attempts`);
    assert.equal(statuses.length, injected, c.dump());
    assert.equal(statuses.at(-1).status, 'COMPLETED', 'the last, added before the end that went past it, says so');
    assert.equal(p.logLines().filter((l) => l.event === 'started' && l.request_id === rid).length, 1, 'started once');
    assert.deepEqual(p.logLines().filter((l) => l.event === 'finish_failed'), []);
    const left = await ddb('DynamoDB_20120810.GetItem', { TableName: 'dorm_streamer_requests', Key: { PK: { S: pk } }, ConsistentRead: true });
    assert.equal(left.Item.asks, undefined, 'no ask left in the item');
    await c.close();
  } finally {
    await stopClean(p);
    await proxy.close();
  }
});

scenario('a 20-progress job writes its request item a few times, not once per progress (DynamoDB calls counted by a proxy; --sync-progress)', async () => {
  const proxy = await countingProxy();
  // --sync-progress: the job's thread stores and delivers its own progress (the
  // default, a writer thread, is the rest of this file's): every row arrives in order
  const p = await startServer({ name: 'server through a counting proxy', args: [...LEASE, '--sync-progress'], ddb: proxy.url });
  try {
    const sub = uniq('counted');
    const c = await connect(p, await token({ sub }));
    const rid = uniq('count');
    const rows = 20;
    c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 50 } });
    const fin = await c.terminal(rid, { timeoutMs: 30000 });
    checkReportComplete(fin, rows);
    await sleep(300);
    const got = c.of(rid);
    checkStream(got);
    assert.deepEqual(rowsOf(got), range(1, rows), 'every progress was sent');
    // the claim, a check-in a second (the job takes ~1 s), nothing per progress;
    // the end is one TransactWriteItems. Taking each progress's seq on the item
    // would be 20 more.
    const updates = proxy.updatesOf(sub, rid);
    console.log(`# one ${rows}-progress job: ${updates} UpdateItem on its request item; all calls: ${JSON.stringify(Object.fromEntries(proxy.ops))}`);
    assert.ok(updates >= 1 && updates <= 5,
      `UpdateItem calls on the request item: ${updates} (all calls: ${JSON.stringify(Object.fromEntries(proxy.ops))})`);
    await c.close();
  } finally {
    await stopClean(p);
    await proxy.close();
  }
});

scenario('cancel sent to the client\'s server stops the job on the processor: error CANCELLED', async () => {
  const p = await processor('processor');
  try {
    const c = await connect(front, await token());
    const rid = uniq('remote-cancel');
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 300, stepMs: 50 } });
    await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 3, { what: 'progress of row 3', timeoutMs: 20000 });
    c.send({ id: rid, action: 'cancel' });
    const fin = await c.terminal(rid, { timeoutMs: 15000 });
    checkError(fin, 'CANCELLED', rid);
    await sleep(500);
    const got = c.of(rid);
    checkStream(got);
    assert.equal(got.filter((m) => m.type === 'complete' || m.type === 'error').length, 1);
    assert.equal(metric(await p.metrics(), 'dorm_streamer_requests_total', { endpoint: 'GenerateReport', outcome: 'cancelled' }), 1);
    await c.close();
  } finally {
    await stopClean(p);
  }
});

scenario('cancel of a request no processor has claimed ends it at once', async () => {
  // no processor runs: the request stays PENDING until cancelled
  const c = await connect(front, await token());
  const rid = uniq('pending-cancel');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 1 } });
  const ack = await c.waitFor((m) => m.request_id === rid, { what: 'the ack' });
  assert.equal(ack.type, 'ack');
  const st = await c.call({ id: rid, action: 'status' });
  assert.equal(st.status, 'PENDING', JSON.stringify(st));
  c.send({ id: rid, action: 'cancel' });
  const fin = await c.terminal(rid, { timeoutMs: 10000 });
  checkError(fin, 'CANCELLED', rid);
  checkStream(c.of(rid));
  // a processor starting now does not run it
  const p = await processor('late processor');
  try {
    await sleep(1500);
    assert.equal(await p.completed(), 0);
    const st2 = await c.call({ id: rid, action: 'status' });
    assert.equal(st2.status, 'CANCELLED');
    await c.close();
  } finally {
    await stopClean(p);
  }
});

scenario('a processor killed with SIGKILL mid-job: its lease expires, another completes the job exactly once', async () => {
  const p1 = await processor('processor 1 (to be killed)');
  const tok = await token();
  const c = await connect(front, tok);
  const rid = uniq('takeover');
  const rows = 30;
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 100 } });
  await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 5,
    { what: 'progress of row 5 from processor 1', timeoutMs: 20000 });
  p1.kill('SIGKILL');
  const ex = await p1.waitExit(5000);
  assert.equal(ex.signal, 'SIGKILL');
  const p2 = await processor('processor 2');
  try {
    const fin = await c.terminal(rid, { timeoutMs: 45000 });
    checkReportComplete(fin, rows);
    await sleep(500);
    // live: no duplicate, seq increasing, one terminal message (a seq persisted by
    // processor 1 just before it died may have missed the live stream)
    const got = c.of(rid);
    const seqs = got.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `seq increases: ${seqs}`);
    assert.equal(new Set(seqs).size, seqs.length, `no duplicate seq: ${seqs}`);
    assert.equal(got.filter((m) => m.type === 'complete' || m.type === 'error').length, 1, c.dump());
    // stored: 1..N with no gaps, one ack, one complete at the end
    const hist = await history(front, tok, rid);
    checkStream(hist, { rowsIncrease: false });
    assert.equal(hist.filter((m) => m.type === 'ack').length, 1);
    assert.equal(hist.filter((m) => m.type === 'complete').length, 1);
    assert.equal(hist.at(-1).type, 'complete');
    assert.equal(await p2.completed(), 1, 'processor 2 completed it once');
    await c.close();
  } finally {
    await stopClean(p2);
  }
  assert.deepEqual(p1.sanitizerReports(), []);
}, { timeoutMs: 90000 });

scenario('more than a page of unfinished requests in one shard of the sweep\'s index: every one is looked at (the sweep goes on from where it stopped)', async () => {
  // Written to the table before the processor starts (its stream starts at
  // LATEST: only the sweep finds them), all in shard 0 of "by-live": 60
  // PENDING whose backoff runs for an hour (first in the index: their keys
  // sort first), then 50 PENDING due and 20 PROCESSING whose lease expired
  // long ago. A sweep that read the first 50 of each shard every time saw
  // only the waiting ones and ran nothing.
  const sub = uniq('sweep');
  const tok = await token({ sub });
  const c = await connect(front, tok);
  const model = uniq('sweep-model');
  c.send({ id: model, action: 'GenerateReport', payload: { rows: 1, stepMs: 0 } });
  await c.waitFor((m) => m.request_id === model && m.type === 'ack', { what: 'ack' });
  const key = (rid) => ({ PK: { S: `${sub}#${rid}` } });
  const { Item: tmpl } = await ddb('DynamoDB_20120810.GetItem', { TableName: 'dorm_streamer_requests', Key: key(model), ConsistentRead: true });
  assert.equal(tmpl?.status?.S, 'PENDING', JSON.stringify(tmpl));
  await ddb('DynamoDB_20120810.DeleteItem', { TableName: 'dorm_streamer_requests', Key: key(model) });
  const now = Date.now();
  const kinds = [['a-wait', 60, 'PENDING'], ['b-due', 50, 'PENDING'], ['c-dead', 20, 'PROCESSING']];
  const made = [];
  for (const [prefix, n, status] of kinds) {
    for (let i = 0; i < n; i++) made.push({ rid: `${prefix}-${String(i).padStart(3, '0')}`, prefix, status });
  }
  for (let i = 0; i < made.length; i += 25) {
    await ddb('DynamoDB_20120810.BatchWriteItem', {
      RequestItems: {
        dorm_streamer_requests: made.slice(i, i + 25).map(({ rid, prefix, status }) => ({
          PutRequest: {
            Item: {
              ...tmpl, ...key(rid), clientId: { S: rid }, status: { S: status }, liveKey: { S: `${status}#0` },
              notBefore: { N: String(prefix === 'a-wait' ? now + 3600000 : 0) },
              ...(status === 'PROCESSING'
                ? { leaseOwner: { S: 'a-dead-server' }, leaseExpires: { N: String(now - 60000) }, attempts: { N: '1' } }
                : {}),
            },
          },
        })),
      },
    });
  }
  const p = await processor('processor (sweep)');
  const stateOf = async (rid) => (await ddb('DynamoDB_20120810.GetItem', {
    TableName: 'dorm_streamer_requests', Key: key(rid), ConsistentRead: true,
  })).Item?.status?.S;
  try {
    const runnable = made.filter((m) => m.prefix !== 'a-wait');
    const deadline = Date.now() + 120000;
    let left = runnable;
    while (left.length && Date.now() < deadline) {
      await sleep(500);
      const states = await Promise.all(left.map((m) => stateOf(m.rid)));
      left = left.filter((m, i) => states[i] !== 'COMPLETED');
    }
    assert.deepEqual(left.map((m) => m.rid), [], 'every due or expired request in the shard was run to its end');
    const waiting = await Promise.all(made.filter((m) => m.prefix === 'a-wait').map((m) => stateOf(m.rid)));
    assert.deepEqual([...new Set(waiting)], ['PENDING'], 'the ones in backoff wait');
    const tookOver = new Set(p.logLines().filter((l) => l.event === 'lease_expired').map((l) => l.request_id));
    assert.equal(made.filter((m) => m.status === 'PROCESSING' && tookOver.has(m.rid)).length, 20, 'every expired lease taken over');
    await c.close();
  } finally {
    await stopClean(p);
    for (let i = 0; i < made.length; i += 25) {
      await ddb('DynamoDB_20120810.BatchWriteItem', {
        RequestItems: { dorm_streamer_requests: made.slice(i, i + 25).map(({ rid }) => ({ DeleteRequest: { Key: key(rid) } })) },
      });
    }
  }
}, { timeoutMs: 180000 });

scenario('two processors, many requests: every job runs exactly once', async () => {
  const p1 = await processor('processor 1');
  const p2 = await processor('processor 2');
  try {
    const tok = await token();
    const c = await connect(front, tok);
    const rows = 5;
    const ids = Array.from({ length: 8 }, () => uniq('race'));
    for (const rid of ids) c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 60 } });
    for (const rid of ids) checkReportComplete(await c.terminal(rid, { timeoutMs: 45000 }), rows);
    await sleep(1000);
    for (const rid of ids) {
      const got = c.of(rid);
      checkStream(got); // typed rows strictly increase: a second run would start again at 1
      assert.equal(got.filter((m) => m.type === 'complete').length, 1);
      assert.deepEqual(rowsOf(got), range(1, rows), `${rid}: one run's progress: ${rowsOf(got)}`);
    }
    const n1 = await p1.completed();
    const n2 = await p2.completed();
    assert.equal(n1 + n2, ids.length, `completions: processor 1 ${n1}, processor 2 ${n2}`);
    // a processor that starts now reads the same records again and runs nothing
    const p3 = await processor('processor 3 (late)');
    try {
      await sleep(3000);
      assert.equal(await p3.completed(), 0, 'old records ran again');
      assert.equal(metric(await p3.metrics(), 'dorm_streamer_job_duration_ms_count'), 0);
      for (const rid of ids.slice(0, 2)) {
        const hist = await history(front, tok, rid);
        checkStream(hist);
        assert.deepEqual(rowsOf(hist), range(1, rows));
      }
    } finally {
      await stopClean(p3);
    }
    await c.close();
  } finally {
    await stopClean(p1, p2);
  }
}, { timeoutMs: 90000 });

scenario('disconnect from one server, resume on another: the missed messages once, then live', async () => {
  const p = await processor('processor');
  try {
    const tok = await token();
    const rid = uniq('cross-resume');
    const rows = 30;
    const c1 = await connect(front, tok);
    c1.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 100 } });
    await c1.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 4, { what: 'progress of row 4', timeoutMs: 20000 });
    c1.vanish();
    const got1 = c1.of(rid);
    checkStream(got1);
    await sleep(600);
    const c2 = await connect(p, tok); // the processor's own WebSocket side
    c2.send({ id: rid, action: 'resume', last_seq: got1.at(-1).seq });
    const fin = await c2.terminal(rid, { timeoutMs: 30000 });
    checkReportComplete(fin, rows);
    await sleep(300);
    const got2 = c2.of(rid);
    checkStream(got2, { firstSeq: got1.at(-1).seq + 1 });
    assert.deepEqual([...rowsOf(got1), ...rowsOf(got2)], range(1, rows));
    await c2.close();
  } finally {
    await stopClean(p);
  }
});

scenario('the management API refuses unsigned or badly signed calls; nothing reaches the client', async () => {
  const c = await connect(front, await token());
  const url = `${front.http}/@connections/${encodeURIComponent(c.connectionId)}`;
  const body = JSON.stringify({ type: 'complete', request_id: 'forged', seq: 99, result: { rows: 1, checksum: 'x' } });
  const attempts = [
    ['POST unsigned', { method: 'POST', body }],
    ['POST with a bad signature', {
      method: 'POST', body,
      headers: {
        'x-amz-date': new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''),
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64),
      },
    }],
    ['DELETE unsigned', { method: 'DELETE' }],
    ['GET unsigned', { method: 'GET' }],
  ];
  for (const [what, init] of attempts) {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
    assert.ok([401, 403].includes(r.status), `${what}: ${r.status} ${await r.text()}`);
  }
  // past the 128 KB limit: 413 as API Gateway answers (the cut body's signature could never verify)
  const big = JSON.stringify({ type: 'complete', request_id: 'forged', seq: 98, result: { rows: 1, checksum: 'x'.repeat(140000) } });
  const r = await fetch(url, { method: 'POST', body: big, signal: AbortSignal.timeout(10000) });
  assert.equal(r.status, 413, `oversized POST: ${r.status} ${await r.text()}`);
  await sleep(500);
  assert.equal(c.messages.filter((m) => m.request_id === 'forged').length, 0, 'a forged message reached the client');
  assert.ok(!c.closed, 'an unsigned DELETE closed the connection');
  const pong = await c.call({ action: 'ping' });
  assert.equal(pong.type, 'pong');
  await c.close();
});

scenario('SIGTERM with a long grace period: the running job finishes on its processor, which then exits 0', async () => {
  const p = await startServer({ name: 'processor (grace 30 s)', args: [...LEASE, '--shutdown-grace-ms', '30000'] });
  const c = await connect(front, await token());
  const rid = uniq('grace-finish');
  const rows = 12;
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 100 } });
  await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 2,
    { what: 'progress of row 2', timeoutMs: 20000 });
  p.kill('SIGTERM');
  const fin = await c.terminal(rid, { timeoutMs: 30000 });
  checkReportComplete(fin, rows);
  const ex = await p.waitExit(30000);
  assert.equal(ex.code, 0, `exit after SIGTERM: ${JSON.stringify(ex)}\n${p.describe()}`);
  assert.ok(p.logLines().some((l) => l.event === 'draining'), p.describe());
  assert.ok(!p.logLines().some((l) => l.event === 'released'), 'nothing was given back: the job finished in time');
  await sleep(300);
  checkStream(c.of(rid));
  assert.deepEqual(p.sanitizerReports(), []);
  await c.close();
}, { timeoutMs: 90000 });

scenario('SIGTERM past the grace period: the job gives its request back and another processor takes it over at once', async () => {
  // A lease of 10 minutes: a takeover that waited for it would not finish within this test.
  const longLease = ['--lease-ms', '600000', '--poll-ms', '100', '--progress-interval-ms', '20'];
  const p1 = await startServer({ name: 'processor 1 (grace 200 ms)', args: [...longLease, '--shutdown-grace-ms', '200'] });
  const tok = await token();
  const c = await connect(front, tok);
  const rid = uniq('grace-release');
  const rows = 30;
  c.send({ id: rid, action: 'GenerateReport', payload: { rows, stepMs: 100 } });
  await c.waitFor((m) => m.request_id === rid && m.type === 'progress' && m.progress?.rows >= 3,
    { what: 'progress of row 3 from processor 1', timeoutMs: 20000 });
  p1.kill('SIGTERM');
  const ex = await p1.waitExit(20000);
  assert.equal(ex.code, 0, `exit after SIGTERM: ${JSON.stringify(ex)}\n${p1.describe()}`);
  assert.ok(p1.logLines().some((l) => l.event === 'released' && l.request_id === rid), p1.describe());
  const p2 = await processor('processor 2');
  try {
    const fin = await c.terminal(rid, { timeoutMs: 45000 });
    checkReportComplete(fin, rows);
    await sleep(300);
    const got = c.of(rid);
    const seqs = got.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `seq increases: ${seqs}`);
    assert.equal(new Set(seqs).size, seqs.length, `no duplicate seq: ${seqs}`);
    const hist = await history(front, tok, rid);
    checkStream(hist, { rowsIncrease: false });
    assert.equal(hist.filter((m) => m.type === 'complete' || m.type === 'error').length, 1);
    assert.equal(hist.at(-1).type, 'complete');
    assert.equal(await p2.completed(), 1, 'processor 2 completed it');
    await c.close();
  } finally {
    await stopClean(p2);
  }
  assert.deepEqual(p1.sanitizerReports(), []);
}, { timeoutMs: 90000 });

scenario('SIGTERM: the client\'s server shuts down cleanly', async () => {
  await stopClean(front);
});

scenario('a crowd connecting at once to a --no-processor server: connection items written in batches, each before its request, so a processor elsewhere delivers to every client', async () => {
  // A CONNECT is written at once by an idle worker; events queue, and share a
  // call, only while every worker is busy writing. Whether a crowd's clients
  // arrive faster than DynamoDB answers depends on the machine: under ASan at
  // load ~10 they came one by one and all 30 items went alone. So DynamoDB is
  // made slow here, as it is under load: the proxy holds every connection
  // write until the whole crowd has connected (a client learns its
  // connection id before its item is written). Until then no write returns,
  // so each worker has taken at most one batch and the others' events
  // queue: they must go out in batches of up to 25 (BatchWriteItem's limit)
  // once the first calls return. Without batching: one call each, 30.
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let holding = true, held = 0;
  const connWrite = (op, body) => (op === 'PutItem' && body?.TableName === 'dorm_streamer_connections')
    || (op === 'BatchWriteItem' && 'dorm_streamer_connections' in (body?.RequestItems ?? {}));
  const proxy = await countingProxy({
    beforeForward: async (op, body) => {
      if (holding && connWrite(op, body)) {
        held++;
        await gate;
      }
    },
  });
  const workers = 4;
  const crowdFront = await startServer({
    name: 'front through a counting proxy (--no-processor)',
    args: ['--no-processor', '--workers', String(workers), ...LEASE], ddb: proxy.url,
  });
  const p = await processor('processor');
  const n = 30, rows = 3;
  const opened = () => { holding = false; release(); };
  try {
    const tok = await token();
    const clients = await Promise.all(Array.from({ length: n }, () => connect(crowdFront, tok)));
    // (none may have reached the proxy yet: the test and the proxy share one event loop)
    assert.ok(held <= workers, `${held} connection writes held by ${workers} workers`);
    opened();
    const rids = clients.map(() => uniq('crowd'));
    clients.forEach((c, i) => c.send({ id: rids[i], action: 'GenerateReport', payload: { rows, stepMs: 50 } }));
    for (const [i, c] of clients.entries()) {
      const fin = await c.terminal(rids[i], { timeoutMs: 60000 });
      checkReportComplete(fin, rows);
    }
    await sleep(300);
    for (const [i, c] of clients.entries()) {
      const got = c.of(rids[i]);
      checkStream(got);
      // delivered by the processor through the front's management API: it found each connection's item
      assert.deepEqual(rowsOf(got), range(1, rows), `client ${i}:\n${c.dump()}`);
    }
    assert.equal(metric(await p.metrics(), 'dorm_streamer_delivery_failures_total'), 0);
    const w = proxy.summary().writes_by_table;
    const batched = w['BatchWriteItem connections'] ?? { calls: 0, items: 0 };
    const alone = w['PutItem connections'] ?? { calls: 0, items: 0 };
    console.log(`# ${n} connections at once: connection items ${JSON.stringify({ batched, alone })}`);
    assert.equal(batched.items + alone.items, n, 'one connection item each (none closed yet)');
    // one call per worker held at the gate, the rest queued: in full batches
    const most = workers + Math.ceil((n - workers) / 25);
    assert.ok(batched.calls + alone.calls <= most,
      `connection items in ${batched.calls + alone.calls} calls for ${n} (at most ${most} when batched)`);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    opened();
    await stopClean(p, crowdFront);
    await proxy.close();
  }
});
