// The streamer as an AWS Lambda custom runtime, end to end: the real
// streamer-demo binary with AWS_LAMBDA_RUNTIME_API pointing at a loopback
// Runtime API (lambda-emulators.mjs: the 2018-06-01 API's paths, headers and
// status codes), API Gateway's management API on loopback (SigV4 for
// execute-api checked, 410 for a gone connection, 429 once for a flaky one),
// and the DynamoDB Local of the ctest fixture, reached through
// AWS_ENDPOINT_URL_DYNAMODB. Events have the shapes API Gateway and Lambda's
// DynamoDB Streams integration send; the stream batches are built from the
// records DynamoDB Local's stream really holds.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assert, scenario, demoPath, testdPath, ddbEndpoint, token, uniq, sleep, SECRET_FILE,
  checkStream, checkReportComplete, checkError, expectedChecksum,
} from './harness.mjs';
import { after, before } from 'node:test';
import {
  RuntimeApi, ManagementApi, connectEvent, disconnectEvent, messageEvent, requestRecords, streamEvent, poisoned, unreadable, ddb,
  manageConnectionsArns, DynamoDbRecorder, dynamoDbStatements, iamAllows,
} from './lambda-emulators.mjs';

let rt;
let mgmt;
let ddbCalls; // what the functions asked of DynamoDB, by IAM action and resource
let proc;
let stdout = '';
let stderr = '';
let exited = null;
let spawnedAt = 0;

function describe() {
  return `--- lambda stdout (tail):\n${stdout.slice(-3000)}\n--- lambda stderr (tail):\n${stderr.split('\n').slice(-60).join('\n')}`;
}

function logLines() {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
}

/** EMF lines on stdout (every JSON line with _aws). */
function emfLines() {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((o) => o._aws);
}

before(async () => {
  rt = new RuntimeApi();
  // the management API lets the function do what the role of its template
  // (dormc gen --infra) allows, as IAM would on AWS
  const tpl = generatedTemplate();
  mgmt = new ManagementApi({
    gone: new Set(['GoneConn0000000=']), flaky: new Set(['FlakyConn000000=']), broken: new Set(['BrokenConn00000=']),
    allowArns: tpl ? manageConnectionsArns(tpl) : null,
  });
  await rt.listen();
  await mgmt.listen();
  ddbCalls = new DynamoDbRecorder(ddbEndpoint());
  await ddbCalls.listen();
  spawnedAt = Date.now();
  proc = spawn(demoPath(), [], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${rt.port}`,
      AWS_LAMBDA_FUNCTION_NAME: 'dorm-e2e-streamer',
      AWS_ENDPOINT_URL_DYNAMODB: ddbCalls.url,
      AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1',
      DORM_STREAMER_CREATE_TABLES: '1',
      DORM_STREAMER_JWT_HS256_SECRET_FILE: SECRET_FILE,
      DORM_STREAMER_PROGRESS_INTERVAL_MS: '0',
      DORM_STREAMER_JWT_LEEWAY: '1', // the expired-token scenario waits for exp + 1 s
      DORM_STREAMER_MANAGEMENT_ENDPOINT: `http://127.0.0.1:${mgmt.port}/prod`,
    },
  });
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.on('exit', (code, signal) => { exited = { code, signal }; });
  // never a process left behind if this runner dies
  const dog = spawn('sh', ['-c',
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`],
  { stdio: 'ignore', detached: true });
  dog.unref();
  await rt.waitFirstNext(30000, () => exited && `exited ${JSON.stringify(exited)}\n${describe()}`);
});

after(async () => {
  await rt?.close().catch(() => {});
  await mgmt?.close();
  await ddbCalls?.close();
  const deadline = Date.now() + 20000;
  while (!exited && Date.now() < deadline) await sleep(25);
  if (!exited) proc.kill('SIGKILL');
});

/** Waits (at most timeoutMs) for pred() to hold: stdout and stderr arrive
 *  after the answer they belong to. */
async function eventually(pred, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}\n${describe()}`);
    await sleep(20);
  }
}

function invoke(event, opts) {
  if (exited) throw new Error(`the function exited: ${JSON.stringify(exited)}\n${describe()}`);
  return rt.invoke(event, opts).catch((e) => { e.message += `\n${describe()}`; throw e; });
}

const CONN = 'L0SM9cOFvHcCIhw=';

scenario('$connect: a valid JWT is let in, none or a bad one gets 401', async () => {
  const sub = uniq('lambda-user');
  let r = await invoke(connectEvent('NoToken00000000=', {}));
  assert.equal(r.kind, 'response', JSON.stringify(r));
  assert.equal(JSON.parse(r.body).statusCode, 401);
  r = await invoke(connectEvent('BadToken0000000=', { token: 'not.a.jwt' }));
  assert.equal(JSON.parse(r.body).statusCode, 401);
  r = await invoke(connectEvent('BadSig000000000=', { token: await token({ sub, secret: 'another-secret-of-32-bytes-or-more!!' }) }));
  assert.equal(JSON.parse(r.body).statusCode, 401);
  await eventually(() => ['NoToken00000000=', 'BadToken0000000=', 'BadSig000000000='].every((c) =>
    logLines().some((l) => l.event === 'auth_failed' && l.connection_id === c)), 'auth_failed logged for each refusal');
  assert.equal(mgmt.greetings('NoToken00000000=').length, 0, 'a refused connection is not greeted');
  // a refused connection's messages are not routed
  r = await invoke(messageEvent('NoToken00000000=', JSON.stringify({ id: 'x1', action: 'Echo', payload: { text: 'no' } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const got = await mgmt.waitFor('NoToken00000000=', 1);
  checkError(JSON.parse(got[0].body), 'UNAUTHORIZED');
  // the query parameter works as in local mode
  r = await invoke(connectEvent('QueryTok0000000=', { query: await token({ sub }) }));
  assert.equal(JSON.parse(r.body).statusCode, 200, r.body);
}, { timeoutMs: 60000 });

scenario('$default after the token expired (exp + leeway): UNAUTHORIZED (retryable), not routed, closed by DELETE @connections', async () => {
  const sub = uniq('lambda-user');
  const conn = 'ExpiredTok00001=';
  const t0 = Date.now();
  let r = await invoke(connectEvent(conn, { token: await token({ sub, expIn: 3 }) }));
  assert.equal(JSON.parse(r.body).statusCode, 200, r.body);
  // valid until exp + 1 s: a message now is routed
  r = await invoke(messageEvent(conn, JSON.stringify({ id: 'exp-1', action: 'Echo', payload: { text: 'before' } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const [first] = await mgmt.waitFor(conn, 1);
  assert.equal(JSON.parse(first.body).type, 'response', first.body);
  assert.equal(mgmt.closes(conn).length, 0, 'not closed while the token is valid');
  await sleep(Math.max(0, t0 + 4600 - Date.now())); // past exp (<= t0 + 3 s) + the 1 s leeway
  r = await invoke(messageEvent(conn, JSON.stringify({ id: 'exp-2', action: 'Echo', payload: { text: 'after' } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const got = await mgmt.waitFor(conn, 2);
  const err = JSON.parse(got[1].body);
  checkError(err, 'UNAUTHORIZED');
  assert.equal(err.error.retryable, true, got[1].body);
  assert.equal(got.length, 2, 'the message after expiry was not routed (no Echo response)');
  await eventually(() => mgmt.closes(conn).length === 1, 'DELETE @connections once');
  assert.ok(mgmt.closes(conn)[0].signatureValid, 'the DELETE is SigV4-signed for execute-api');
  assert.ok(mgmt.closes(conn)[0].allowed, `the role of the template may DELETE @connections (it allows ${JSON.stringify(mgmt.allowArns)})`);
  // token_expired, or connection_unknown when DynamoDB Local's TTL (the same
  // exp + leeway) deleted the connection item first: the client is told the same
  await eventually(() => logLines().some((l) => ['token_expired', 'connection_unknown'].includes(l.event) && l.connection_id === conn),
    'token_expired (or connection_unknown) logged');
}, { timeoutMs: 60000 });

scenario('$default on a connection whose item is gone (its TTL passed): UNAUTHORIZED (retryable), not routed, closed by DELETE @connections', async () => {
  const sub = uniq('lambda-user');
  const conn = 'TtlGoneConn0001=';
  let r = await invoke(connectEvent(conn, { token: await token({ sub }) }));
  assert.equal(JSON.parse(r.body).statusCode, 200, r.body);
  // what DynamoDB's TTL does once the token's exp + leeway passed (DynamoDB Local: within seconds)
  await ddb('DynamoDB_20120810.DeleteItem', { TableName: 'dorm_streamer_connections', Key: { id: { S: conn } } });
  r = await invoke(messageEvent(conn, JSON.stringify({ id: 'ttl-1', action: 'Echo', payload: { text: 'after' } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const [got] = await mgmt.waitFor(conn, 1);
  const err = JSON.parse(got.body);
  checkError(err, 'UNAUTHORIZED');
  assert.equal(err.error.retryable, true, got.body);
  await eventually(() => mgmt.closes(conn).length === 1, 'DELETE @connections once');
  await sleep(300);
  assert.equal(mgmt.of(conn).length, 1, 'not routed (no Echo response)');
  assert.ok(logLines().some((l) => l.event === 'connection_unknown' && l.connection_id === conn), 'connection_unknown logged');
}, { timeoutMs: 60000 });

scenario('$default: a sync call answered through the management API, signed for execute-api; trace id in the logs', async () => {
  const sub = uniq('lambda-user');
  const tok = await token({ sub });
  const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  let r = await invoke(connectEvent(CONN, { token: tok }), { trace });
  assert.equal(JSON.parse(r.body).statusCode, 200, r.body);
  // the protocol's greeting, once API Gateway holds the connection (after the 200)
  await eventually(() => mgmt.greetings(CONN).length === 1, 'one connected message');
  const hello = mgmt.greetings(CONN)[0];
  assert.equal(hello.type, 'connected');
  assert.equal(hello.connection_id, CONN);
  r = await invoke(messageEvent(CONN, JSON.stringify({ id: 'echo-1', action: 'Echo', payload: { text: 'héllo' } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const [m] = await mgmt.waitFor(CONN, 1);
  const msg = JSON.parse(m.body);
  assert.equal(msg.type, 'response', m.body);
  assert.equal(msg.request_id, 'echo-1');
  assert.deepEqual(msg.result, { text: 'héllo' });
  assert.match(m.authorization, /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/);
  assert.ok(m.signatureValid, 'the SigV4 signature verifies with the function\'s credentials');
  await eventually(() => logLines().some((l) => l.event === 'connected' && l.connection_id === CONN && l.xray_trace_id === trace),
    'the log lines of an invocation carry its X-Ray trace id');
  assert.ok(!stderr.includes(tok) && !stdout.includes(tok), 'tokens are never logged');
}, { timeoutMs: 60000 });

scenario('async request: ack from $default, the stream batch runs it (progress, complete in order); a poisoned record alone in batchItemFailures, as is an unreadable PENDING request', async () => {
  const sub = uniq('lambda-user');
  const conn = 'AsyncConn000001=';
  let r = await invoke(connectEvent(conn, { token: await token({ sub }) }));
  assert.equal(JSON.parse(r.body).statusCode, 200, r.body);
  const rid = uniq('rep');
  r = await invoke(messageEvent(conn, JSON.stringify({ id: rid, action: 'GenerateReport', payload: { rows: 5, stepMs: 5 } })));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const [ack] = await mgmt.waitFor(conn, 1);
  assert.equal(JSON.parse(ack.body).type, 'ack', ack.body);
  // nothing runs until the stream delivers the request
  await sleep(300);
  assert.equal(mgmt.of(conn).length, 1, 'only the ack before the stream batch');

  const recs = await requestRecords(sub, rid);
  assert.ok(recs.records.length >= 1, 'the INSERT of the request is in DynamoDB Local\'s stream');
  const bad = poisoned(recs.records[0]);
  r = await invoke(streamEvent([recs.records[0], bad], recs.arn));
  assert.equal(r.kind, 'response', JSON.stringify(r));
  const res = JSON.parse(r.body);
  assert.deepEqual(res, { batchItemFailures: [{ itemIdentifier: bad.dynamodb.SequenceNumber }] });
  const msgs = mgmt.of(conn).map((x) => JSON.parse(x.body));
  checkStream(msgs);
  assert.equal(msgs[0].type, 'ack');
  assert.ok(msgs.filter((m) => m.type === 'progress').length >= 1, `progress delivered: ${JSON.stringify(msgs)}`);
  checkReportComplete(msgs[msgs.length - 1], 5);
  // the same record again (Lambda retries a batch): the job is not run twice
  r = await invoke(streamEvent([recs.records[0]], recs.arn));
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [] });
  await sleep(200);
  assert.equal(mgmt.of(conn).length, msgs.length, 'a redelivered record runs nothing');
  // a PENDING request no processor can read is a failure, not a record with
  // nothing to do: on Lambda nothing would look at it again
  const odd = unreadable(recs.records[0]);
  r = await invoke(streamEvent([odd], recs.arn));
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [{ itemIdentifier: odd.dynamodb.SequenceNumber }] });
  await eventually(() => logLines().some((l) => l.event === 'bad_stream_record' && l.request_id === odd.eventID &&
    /PENDING request the processor cannot read/.test(l.message)), 'bad_stream_record logged with the reason');
}, { timeoutMs: 90000 });

scenario('a batch runs its records\' jobs side by side', async () => {
  const sub = uniq('lambda-user');
  const conn = 'BatchConn000001=';
  await invoke(connectEvent(conn, { token: await token({ sub }) }));
  const a = uniq('rep'), b = uniq('rep');
  for (const rid of [a, b]) {
    await invoke(messageEvent(conn, JSON.stringify({ id: rid, action: 'GenerateReport', payload: { rows: 10, stepMs: 40 } })));
  }
  const ra = await requestRecords(sub, a), rb = await requestRecords(sub, b);
  const r = await invoke(streamEvent([...ra.records, ...rb.records], ra.arn));
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [] });
  const byRid = (rid) => mgmt.of(conn).map((x) => JSON.parse(x.body)).filter((m) => m.request_id === rid);
  for (const rid of [a, b]) {
    checkStream(byRid(rid));
    checkReportComplete(byRid(rid).at(-1), 10);
  }
  // each started before the other finished
  const lines = logLines();
  const at = (event, rid) => lines.findIndex((l) => l.event === event && l.request_id === rid);
  assert.ok(at('started', a) >= 0 && at('started', b) >= 0);
  assert.ok(at('started', b) < at('finished', a) && at('started', a) < at('finished', b),
    `the two jobs overlapped (started ${at('started', a)}/${at('started', b)}, finished ${at('finished', a)}/${at('finished', b)})`);
}, { timeoutMs: 60000 });

scenario('410: a gone connection stops delivery, the job completes and its result is kept; 429 is retried', async () => {
  const sub = uniq('lambda-user');
  const gone = 'GoneConn0000000=';
  let r = await invoke(connectEvent(gone, { token: await token({ sub }) }));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  const rid = uniq('rep');
  await invoke(messageEvent(gone, JSON.stringify({ id: rid, action: 'GenerateReport', payload: { rows: 20, stepMs: 2 } })));
  const recs = await requestRecords(sub, rid);
  r = await invoke(streamEvent(recs.records, recs.arn));
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [] });
  // the ack's 410, then the processor's first post's 410: nothing more is sent there
  assert.ok(mgmt.attempts(gone) <= 2, `posts to a gone connection stop at the first 410 (${mgmt.attempts(gone)})`);
  assert.ok(logLines().some((l) => l.event === 'connection_gone' && l.connection_id === gone));
  // the client comes back on another connection: the result is there
  const back = 'BackConn0000000=';
  await invoke(connectEvent(back, { token: await token({ sub }) }));
  await invoke(messageEvent(back, JSON.stringify({ id: rid, action: 'get_result' })));
  const [res] = await mgmt.waitFor(back, 1);
  checkReportComplete(JSON.parse(res.body), 20);

  const flaky = 'FlakyConn000000=';
  await invoke(connectEvent(flaky, { token: await token({ sub }) }));
  await invoke(messageEvent(flaky, JSON.stringify({ id: 'e', action: 'Echo', payload: { text: 'again' } })));
  const [m] = await mgmt.waitFor(flaky, 1);
  assert.deepEqual(JSON.parse(m.body).result, { text: 'again' });
  assert.equal(mgmt.attempts(flaky), 2, 'one 429, then delivered');

  // 5xx every time: the standard policy's 3 attempts, then a delivery failure (logged, counted)
  const broken = 'BrokenConn00000=';
  await invoke(connectEvent(broken, { token: await token({ sub }) }));
  await invoke(messageEvent(broken, JSON.stringify({ id: 'b', action: 'Echo', payload: { text: 'lost' } })));
  assert.equal(mgmt.attempts(broken), 3, 'three attempts (standard retry policy)');
  assert.equal(mgmt.of(broken).length, 0);
  // with the last answer's status ("service error" alone did not tell a 403 from a 500)
  await eventually(() => logLines().some((l) => l.event === 'delivery_failed' && l.connection_id === broken &&
    /\(HTTP 500\)$/.test(l.message)), 'the failure is logged with its HTTP status');
  await eventually(() => emfLines().some((l) => l.Role === 'default' && l.DeliveryFailures === 1), 'and counted in DeliveryFailures');
}, { timeoutMs: 90000 });

scenario('deadline: a job still running near the invocation\'s deadline gives its request back; the record is retried and finishes', async () => {
  const sub = uniq('lambda-user');
  const conn = 'DeadlineConn001=';
  await invoke(connectEvent(conn, { token: await token({ sub }) }));
  const rid = uniq('rep');
  await invoke(messageEvent(conn, JSON.stringify({ id: rid, action: 'GenerateReport', payload: { rows: 60, stepMs: 50 } })));
  const recs = await requestRecords(sub, rid);
  const t0 = Date.now();
  let r = await invoke(streamEvent(recs.records, recs.arn), { deadlineInMs: 2500 });
  const took = Date.now() - t0;
  assert.ok(took < 2500, `answered before the deadline (${took} ms)`);
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [{ itemIdentifier: recs.records[0].dynamodb.SequenceNumber }] });
  assert.ok(logLines().some((l) => l.event === 'released' && l.request_id === rid), 'the request was given back');
  const first = mgmt.of(conn).map((x) => JSON.parse(x.body));
  assert.ok(!first.some((m) => m.type === 'complete' || m.type === 'error'), 'no outcome yet');
  // Lambda brings the record back
  r = await invoke(streamEvent(recs.records, recs.arn), { deadlineInMs: 60000 });
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [] });
  const msgs = mgmt.of(conn).map((x) => JSON.parse(x.body));
  checkStream(msgs, { rowsIncrease: false });
  checkReportComplete(msgs[msgs.length - 1], 60);
  assert.equal(expectedChecksum(60), msgs[msgs.length - 1].result.checksum);
}, { timeoutMs: 90000 });

scenario('a job held by a processor that died: the record waits for its lease to expire, then takes it over', async () => {
  const sub = uniq('lambda-user');
  const conn = 'TakeOverConn001=';
  await invoke(connectEvent(conn, { token: await token({ sub }) }));
  const rid = uniq('rep');
  await invoke(messageEvent(conn, JSON.stringify({ id: rid, action: 'GenerateReport', payload: { rows: 4, stepMs: 1 } })));
  // a processor claimed it and died: PROCESSING, its lease running out
  const expires = Date.now() + 1500;
  await ddb('DynamoDB_20120810.UpdateItem', {
    TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } },
    UpdateExpression: 'SET #s = :p, leaseOwner = :o, leaseExpires = :e, attempts = attempts + :one',
    ConditionExpression: '#s = :pending',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':p': { S: 'PROCESSING' }, ':pending': { S: 'PENDING' }, ':o': { S: 'a-dead-processor' },
      ':e': { N: String(expires) }, ':one': { N: '1' } },
  });
  const recs = await requestRecords(sub, rid);
  const r = await invoke(streamEvent(recs.records, recs.arn), { deadlineInMs: 30000 });
  assert.deepEqual(JSON.parse(r.body), { batchItemFailures: [] });
  assert.ok(Date.now() >= expires, 'not before the dead lease expired');
  const msgs = mgmt.of(conn).map((x) => JSON.parse(x.body));
  checkStream(msgs);
  checkReportComplete(msgs[msgs.length - 1], 4);
  assert.ok(logLines().some((l) => l.event === 'started' && l.request_id === rid && /attempt 2/.test(l.message)), 'taken over as attempt 2');
}, { timeoutMs: 60000 });

/**
 * A Runtime API on loopback and a bootstrap under it (streamer-testd unless
 * `bin` says otherwise), on the fixture's DynamoDB through ddbCalls, the
 * test's JWT secret and the loopback management API; `env` adds to that
 * environment (a value undefined: left out). Returns {api, p, err(),
 * stop()}: err() the bootstrap's stderr so far, stop() closes the API and
 * waits for the process to exit.
 */
async function startTestdOnRuntimeApi({ bin, env = {} } = {}) {
  const path = bin ?? testdPath(); // before the listener: a missing binary must not leave it open (the runner would wait on it)
  const api = new RuntimeApi();
  await api.listen();
  const all = {
    ...process.env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`, AWS_ENDPOINT_URL_DYNAMODB: ddbCalls.url,
    AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1',
    DORM_STREAMER_JWT_HS256_SECRET_FILE: SECRET_FILE,
    DORM_STREAMER_MANAGEMENT_ENDPOINT: `http://127.0.0.1:${mgmt.port}/prod`,
    ...env,
  };
  for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
  const p = spawn(path, [], { stdio: ['ignore', 'ignore', 'pipe'], env: all });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  return {
    api, p, err: () => err,
    stop: async () => {
      await api.close();
      await new Promise((resolve) => { if (p.exitCode !== null) resolve(); else p.on('exit', resolve); });
    },
  };
}

scenario('handlers see the invocation\'s deadline less the margin when it comes before their timeout', async () => {
  const { api, p, err, stop } = await startTestdOnRuntimeApi();
  try {
    const conn = 'TestdDeadline01=';
    let r = await api.invoke(connectEvent(conn, { token: await token({ sub: uniq('lambda-user') }) }));
    assert.equal(JSON.parse(r.body).statusCode, 200, err());
    // the endpoint's timeout is 20 s, the invocation has 5 s: the handler sees at most 4 s
    r = await api.invoke(messageEvent(conn, JSON.stringify({ id: 'd1', action: 'Deadline', payload: { text: '' } })), { deadlineInMs: 5000 });
    let [m] = await mgmt.waitFor(conn, 1);
    let left = JSON.parse(m.body).result.remainingMs;
    assert.ok(left > 2000 && left <= 4000, `remaining ${left} ms of a 5 s invocation less 1 s`);
    // an invocation longer than the timeout: the endpoint's 20 s
    await api.invoke(messageEvent(conn, JSON.stringify({ id: 'd2', action: 'Deadline', payload: { text: '' } })), { deadlineInMs: 60000 });
    [, m] = await mgmt.waitFor(conn, 2);
    left = JSON.parse(m.body).result.remainingMs;
    assert.ok(left > 15000 && left <= 20000, `remaining ${left} ms of the endpoint's 20 s timeout`);
  } finally {
    await stop();
  }
  assert.equal(p.exitCode, 0, err());
}, { timeoutMs: 60000 });

scenario('the management API taken from the event: the API\'s own name, in the region\'s partition (China: amazonaws.com.cn), also behind a custom domain', async () => {
  const { api, p, err, stop } = await startTestdOnRuntimeApi({
    bin: demoPath(),
    env: {
      AWS_REGION: 'cn-north-1', DORM_STREAMER_MANAGEMENT_ENDPOINT: undefined, // taken from the event
      DORM_STREAMER_CREATE_TABLES: '1', // DynamoDB Local keeps a database per region
    },
  });
  try {
    const sub = uniq('lambda-user');
    const cases = [
      ['CnOwnName000001=', 'a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn'],
      ['CnCustom0000001=', 'ws.example.cn'],
    ];
    for (const [conn, domainName] of cases) {
      const ev = connectEvent(conn, { token: await token({ sub }) });
      ev.requestContext.domainName = domainName;
      ev.headers.Host = domainName;
      const r = await api.invoke(ev);
      assert.equal(JSON.parse(r.body).statusCode, 200, err());
      const item = await ddb('DynamoDB_20120810.GetItem', { TableName: 'dorm_streamer_connections', Key: { id: { S: conn } }, ConsistentRead: true }, { region: 'cn-north-1' });
      assert.equal(item.Item?.server?.S, 'https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod', `${domainName}: ${JSON.stringify(item)}`);
    }
  } finally {
    await stop();
  }
}, { timeoutMs: 60000 });

scenario('a sync call still running when its invocation ends (WebSocketTimeout less 1 s, before the endpoint\'s timeout) is answered TIMEOUT before Lambda stops the function', async () => {
  const { api, p, err, stop } = await startTestdOnRuntimeApi();
  try {
    const conn = 'TestdSyncCut001=';
    const r = await api.invoke(connectEvent(conn, { token: await token({ sub: uniq('lambda-user') }) }));
    assert.equal(JSON.parse(r.body).statusCode, 200, err());
    // SlowEcho's timeout is 1 s, its handler takes 3 s (ignoring cancellation);
    // the invocation ends in 600 ms: Lambda would stop the process before the 1 s
    const deadline = Date.now() + 600;
    api.invoke(messageEvent(conn, JSON.stringify({ id: 'cut1', action: 'SlowEcho', payload: { text: 'x', ms: 3000 } })), { deadlineInMs: 600 })
      .catch(() => {});
    const [m] = await mgmt.waitFor(conn, 1);
    const msg = JSON.parse(m.body);
    checkError(msg, 'TIMEOUT');
    assert.match(msg.error.message, /Lambda invocation's end/, m.body);
    assert.ok(m.at < deadline, `answered ${m.at - deadline} ms after the invocation's deadline`);
  } finally {
    await stop();
  }
}, { timeoutMs: 60000 });

scenario('at API Gateway\'s 128 KB frame: big sync and job results go out in chunks, a progress near a frame and its status fit, a larger progress is refused; nothing is answered 413', async () => {
  const { api, p, err, stop } = await startTestdOnRuntimeApi({ env: { DORM_STREAMER_PROGRESS_INTERVAL_MS: '0' } });
  const conn = 'TestdLimits0001=';
  const sent = (rid) => mgmt.of(conn).map((x) => JSON.parse(x.body)).filter((m) => m.request_id === rid);
  const until = async (rid, types) => {
    const deadline = Date.now() + 30000;
    for (;;) {
      const got = sent(rid).find((m) => types.includes(m.type));
      if (got) return got;
      if (Date.now() > deadline) throw new Error(`no ${types} for ${rid}: ${JSON.stringify(sent(rid)).slice(0, 500)}\n${err().slice(-3000)}`);
      await sleep(20);
    }
  };
  const joined = (rid) => JSON.parse(sent(rid).filter((m) => m.type === 'result_chunk').map((m) => m.data).join(''));
  try {
    const sub = uniq('lambda-user');
    let r = await api.invoke(connectEvent(conn, { token: await token({ sub }) }));
    assert.equal(JSON.parse(r.body).statusCode, 200, err());
    // a sync result of quotes and backslashes: ~540 KB of chunk data
    const fill = '"\\\\', bytes = 300 * 1024;
    const s1 = uniq('bigsync');
    await api.invoke(messageEvent(conn, JSON.stringify({ id: s1, action: 'BigSync', payload: { bytes, fill } })));
    const resp = await until(s1, ['response', 'error']);
    assert.equal(resp.type, 'response', JSON.stringify(resp));
    assert.equal(resp.chunked, true);
    assert.deepEqual(joined(s1), { bytes, text: fill.repeat(bytes / fill.length) });
    // jobs: the request through $default (ack), then the stream batch runs it
    const job = async (action, payload) => {
      const rid = uniq(action);
      await api.invoke(messageEvent(conn, JSON.stringify({ id: rid, action, payload })));
      await until(rid, ['ack']);
      const recs = await requestRecords(sub, rid);
      const out = await api.invoke(streamEvent(recs.records, recs.arn));
      assert.deepEqual(JSON.parse(out.body), { batchItemFailures: [] });
      const fin = await until(rid, ['complete', 'error']);
      checkStream(sent(rid), { rowsIncrease: false });
      return { rid, fin };
    };
    // a job's result is stored with its request (400 KB): 150 KB of text, ~300 KB of JSON
    const jobBytes = 150 * 1024;
    const big = await job('BigResult', { bytes: jobBytes, fill });
    assert.equal(big.fin.type, 'complete', JSON.stringify(big.fin));
    assert.deepEqual(joined(big.rid), { bytes: jobBytes, text: fill.repeat(jobBytes / fill.length) });
    const near = await job('BigProgress', { bytes: 126 * 1024 });
    assert.deepEqual(near.fin.result, { refused: false });
    const prog = sent(near.rid).filter((m) => m.type === 'progress');
    assert.equal(prog.length, 1);
    assert.equal(prog[0].progress.text.length, 126 * 1024);
    // the status repeats the latest progress: still one frame
    await api.invoke(messageEvent(conn, JSON.stringify({ id: near.rid, action: 'status' })));
    const st = await until(near.rid, ['status']);
    assert.equal(st.status, 'COMPLETED');
    assert.equal(st.progress.text.length, 126 * 1024);
    const over = await job('BigProgress', { bytes: 200 * 1024 });
    assert.deepEqual(over.fin.result, { refused: true });
    assert.deepEqual(sent(over.rid).filter((m) => m.type === 'progress').map((m) => m.message), ['small']);
    assert.equal(mgmt.tooLarge.get(conn), undefined, `POSTs over 128 KB: ${mgmt.tooLarge.get(conn)}`);
    for (const d of mgmt.of(conn)) assert.ok(Buffer.byteLength(d.body) <= 128 * 1024);
  } finally {
    await stop();
  }
  assert.equal(p.exitCode, 0, err());
}, { timeoutMs: 120000 });

scenario('$disconnect marks the connection gone; an unknown event shape is an invocation error', async () => {
  const sub = uniq('lambda-user');
  const conn = 'ByeConn00000000=';
  await invoke(connectEvent(conn, { token: await token({ sub }) }));
  let r = await invoke(disconnectEvent(conn));
  assert.equal(JSON.parse(r.body).statusCode, 200);
  r = await invoke(messageEvent(conn, JSON.stringify({ id: 'late', action: 'Echo', payload: { text: 'x' } })));
  const [m] = await mgmt.waitFor(conn, 1);
  checkError(JSON.parse(m.body), 'UNAUTHORIZED');
  r = await invoke({ hello: 'world' });
  assert.equal(r.kind, 'error');
  assert.equal(r.errorType, 'Runtime.UnknownEvent');
  assert.equal(JSON.parse(r.body).errorType, 'Runtime.UnknownEvent');
});

scenario('EMF: one namespace, the documented dimensions, a cold start once, requests by endpoint and outcome', async () => {
  await eventually(() => emfLines().filter((l) => 'Invocations' in l).length === rt.invocations, 'an EMF line per invocation');
  const lines = emfLines();
  for (const l of lines) {
    const d = l._aws.CloudWatchMetrics;
    assert.equal(d.length, 1);
    assert.equal(d[0].Namespace, 'DORM/Streamer');
    assert.equal(typeof l._aws.Timestamp, 'number');
    for (const set of d[0].Dimensions) for (const k of set) assert.equal(typeof l[k], 'string', `dimension ${k} in ${JSON.stringify(l)}`);
    for (const m of d[0].Metrics) assert.equal(typeof l[m.Name], 'number', `metric ${m.Name} in ${JSON.stringify(l)}`);
    assert.equal(l.Service, 'dorm-e2e-streamer');
  }
  const inv = lines.filter((l) => 'Invocations' in l);
  assert.equal(inv.filter((l) => l.ColdStart === 1).length, 1, 'one cold start');
  assert.equal(inv[0].ColdStart, 1);
  assert.ok(inv.some((l) => l.Role === 'stream' && l.BatchItemFailures === 1));
  assert.ok(inv.some((l) => l.Role === 'connect') && inv.some((l) => l.Role === 'default') && inv.some((l) => l.Role === 'disconnect'));
  assert.ok(inv.some((l) => l.Role === 'stream' && l.ProgressSent > 0 && l.JobDuration > 0));
  assert.ok(inv.some((l) => l.InvocationErrors === 1 && l.Role === 'unknown'));
  assert.ok(inv.some((l) => l.AuthFailures === 1));
  const req = lines.filter((l) => 'Requests' in l);
  assert.ok(req.some((l) => l.Endpoint === 'GenerateReport' && l.Outcome === 'completed'), JSON.stringify(req));
  assert.ok(req.some((l) => l.Endpoint === 'Echo' && l.Outcome === 'completed'), JSON.stringify(req));
  console.log(`cold start: spawn to first /invocation/next ${rt.firstNextAt - spawnedAt} ms`);
});

/** The CloudFormation template of the example (dormc gen --infra), when DORMC is set. */
function template(t) {
  if (!process.env.DORMC) {
    t.skip('DORMC is not set (tests/streamer/CMakeLists.txt sets it)');
    return null;
  }
  return generatedTemplate();
}

/** The example's template, or null without DORMC. */
function generatedTemplate() {
  if (!process.env.DORMC) return null;
  const dir = mkdtempSync(join(tmpdir(), 'dorm-infra-'));
  try {
    const schema = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'streamer', 'report.dorm');
    execFileSync(process.env.DORMC, ['gen', '--infra', dir, schema], { stdio: 'pipe' });
    return JSON.parse(readFileSync(join(dir, 'report.template.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

scenario('dormc gen --infra: every alarm watches a metric, namespace and dimensions of this run\'s EMF lines', async (t) => {
  const tpl = template(t);
  if (!tpl) return;
  const emitted = new Map(); // metric name -> set of dimension-set keys
  for (const l of emfLines()) {
    const d = l._aws.CloudWatchMetrics[0];
    for (const m of d.Metrics) {
      if (!emitted.has(m.Name)) emitted.set(m.Name, new Set());
      for (const set of d.Dimensions) emitted.get(m.Name).add(`${d.Namespace}|${[...set].sort().join(',')}`);
    }
  }
  const all = Object.entries(tpl.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  // AWS's own metrics (Lambda's Errors, the failure queue's depth) name a resource of the template
  for (const [id, a] of all.filter(([, r]) => r.Properties.Namespace !== 'DORM/Streamer')) {
    const v = a.Properties.Dimensions[0].Value;
    const target = tpl.Resources[v.Ref ?? v['Fn::GetAtt']?.[0]];
    const want = { 'AWS/Lambda': 'AWS::Lambda::Function', 'AWS/SQS': 'AWS::SQS::Queue' }[a.Properties.Namespace];
    assert.equal(target?.Type, want, `${id}: ${a.Properties.Namespace} ${JSON.stringify(v)}`);
  }
  const alarms = all.filter(([, r]) => r.Properties.Namespace === 'DORM/Streamer');
  assert.ok(alarms.length >= 4, 'errors, batch failures, delivery failures, queue wait');
  for (const [id, a] of alarms) {
    const p = a.Properties;
    const key = `${p.Namespace}|${p.Dimensions.map((d) => d.Name).sort().join(',')}`;
    assert.ok(emitted.get(p.MetricName)?.has(key), `${id}: ${p.MetricName} with ${key} is in no EMF line of the run (${JSON.stringify([...emitted])})`);
    // the Service dimension is the function's name, as AWS_LAMBDA_FUNCTION_NAME gives it
    const fn = Object.values(tpl.Resources).find((r) => r.Type === 'AWS::Lambda::Function' &&
      r.Properties.FunctionName['Fn::Sub'] === p.Dimensions[0].Value['Fn::Sub']);
    assert.ok(fn, `${id}: its Service dimension names a function of the template`);
  }
});

scenario('dormc gen --infra: the streamer\'s tables are the ones the runtime creates from schemas/streamer.dorm', async (t) => {
  const tpl = template(t);
  if (!tpl) return;
  const sortBy = (k) => (a, b) => String(a[k]).localeCompare(String(b[k]));
  for (const r of Object.values(tpl.Resources).filter((x) => x.Type === 'AWS::DynamoDB::Table')) {
    const p = r.Properties;
    const live = (await ddb('DynamoDB_20120810.DescribeTable', { TableName: p.TableName })).Table;
    assert.deepEqual(p.KeySchema, live.KeySchema, `${p.TableName}: key schema`);
    assert.deepEqual([...p.AttributeDefinitions].sort(sortBy('AttributeName')), [...live.AttributeDefinitions].sort(sortBy('AttributeName')), `${p.TableName}: attributes`);
    const gsis = (p.GlobalSecondaryIndexes ?? []).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection }));
    const liveGsis = (live.GlobalSecondaryIndexes ?? []).map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection }));
    assert.deepEqual(gsis, liveGsis, `${p.TableName}: GSIs`);
    assert.equal(p.StreamSpecification?.StreamViewType, live.StreamSpecification?.StreamEnabled ? live.StreamSpecification.StreamViewType : undefined, `${p.TableName}: stream`);
    const ttl = (await ddb('DynamoDB_20120810.DescribeTimeToLive', { TableName: p.TableName })).TimeToLiveDescription;
    assert.equal(p.TimeToLiveSpecification?.AttributeName, ttl.AttributeName, `${p.TableName}: TTL attribute`);
  }
});

scenario('least privilege covers the code: every management API call of the run was allowed by the template\'s role', async (t) => {
  if (!mgmt.allowArns) {
    t.skip('DORMC is not set: the role is not emulated');
    return;
  }
  assert.ok(mgmt.closes('ExpiredTok00001=').length > 0, 'the run closed a connection (DELETE), so both methods were tried');
  assert.deepEqual(mgmt.denied, [], `calls the role refuses (it allows ${JSON.stringify(mgmt.allowArns)})`);
});

scenario('least privilege covers the code: every DynamoDB call of the run is allowed by the template\'s role, and the role grants the streamer\'s tables no action the runtime never calls', async (t) => {
  const tpl = template(t);
  if (!tpl) return;
  const statements = dynamoDbStatements(tpl);
  // CreateTable and DescribeTable: --create-tables of this test (the template makes the tables on AWS)
  const needs = ddbCalls.needs.filter((n) => !['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive'].includes(n.action));
  assert.ok(needs.length > 50, `the run called DynamoDB (${needs.length})`);
  const refused = [...new Set(needs.filter((n) => !iamAllows(statements, n.action, n.arn)).map((n) => `${n.action} ${n.arn}`))];
  assert.deepEqual(refused, [], 'calls the role refuses');
  // what the role grants on the streamer's tables: actions the run used
  // (BatchWriteItem besides: a local server's batches of the same writes)
  const usedActions = new Set([...needs.map((n) => n.action), 'dynamodb:BatchWriteItem']);
  const unused = [];
  for (const st of statements) {
    if (!st.arns.some((a) => /table\/dorm_streamer_[a-z]+$/.test(a))) continue;
    for (const action of st.actions) if (!usedActions.has(action)) unused.push(action);
  }
  assert.deepEqual(unused, [], 'granted on the streamer\'s tables, never called by the runtime');
});

scenario('the Runtime API going away ends the loop: exit 0, no sanitizer report', async () => {
  await rt.close();
  await eventually(() => exited, 'the function exits', 20000);
  assert.deepEqual(exited, { code: 0, signal: null }, describe());
  const reports = stderr.split('\n').filter((l) =>
    /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: .*Sanitizer|Segmentation fault/.test(l));
  assert.deepEqual(reports, [], describe());
  assert.deepEqual(rt.initErrors, [], 'a start that succeeded reports no init error');
});

scenario('a start that fails (no JWT keys) is reported to init/error', async () => {
  const api = new RuntimeApi();
  await api.listen();
  try {
    const p = spawn(demoPath(), [], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`, AWS_REGION: 'us-east-1' },
    });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => { p.kill('SIGKILL'); resolve('killed'); }, 15000);
      p.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    assert.equal(code, 2, err);
    assert.equal(api.initErrors.length, 1, err);
    assert.equal(api.initErrors[0].errorType, 'Runtime.InitError');
    assert.equal(JSON.parse(api.initErrors[0].body).errorType, 'Runtime.InitError');
    // the reason itself, as the console shows it first (it said "see the log")
    assert.match(JSON.parse(api.initErrors[0].body).errorMessage, /no JWT keys: give --jwt-hs256-secret-file/, api.initErrors[0].body);
    assert.equal(api.firstNextAt, 0, 'no event is asked for');
  } finally {
    await api.close();
  }
});
