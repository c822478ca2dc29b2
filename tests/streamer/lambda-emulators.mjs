// Loopback stand-ins for the AWS parts around a Lambda function, for
// lambda.test.mjs. They behave as AWS documents them, so the binary under
// test cannot tell them from the real services:
//
//   RuntimeApi     the Lambda Runtime API 2018-06-01: GET invocation/next is
//                  a long poll answered with the event and the
//                  Lambda-Runtime-* headers; POST invocation/{id}/response and
//                  /error answer 202; an unknown request id 400; init/error 202.
//   ManagementApi  API Gateway's management API: POST /{stage}/@connections/{id}
//                  must carry a valid SigV4 signature for service execute-api
//                  (403 otherwise), 410 for a gone connection, 429 once for a
//                  flaky one, 413 for a body over 128 KB (a frame's limit),
//                  200 otherwise; every attempt is recorded. Given the
//                  ARNs a role's execute-api:ManageConnections statements
//                  allow (manageConnectionsArns: those of a template of
//                  `dormc gen --infra`), a call whose ARN
//                  (.../{stage}/{METHOD}/@connections/{id}) none of them
//                  matches is refused 403 AccessDeniedException, as IAM
//                  refuses it.
//
// and the events: API Gateway WebSocket $connect/$disconnect/$default events
// as AWS documents them, and DynamoDB Streams batches made of the records
// DynamoDB Local's stream really holds (GetRecords), in the shape Lambda's
// event source mapping passes them on.
import { createServer } from 'node:http';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ddbEndpoint, sleep } from './harness.mjs';

const REGION = 'us-east-1';
const ACCESS_KEY = 'local';
const SECRET_KEY = 'local';

// ---------------------------------------------------------------- SigV4

const sha256hex = (b) => createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => createHmac('sha256', k).update(s).digest();

/** RFC 3986 encoding of one path segment, as SigV4 wants it. */
function encodeSegment(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function signature({ method, path, headers, signedHeaders, body, amzDate, region, service, secret }) {
  const canonicalUri = path.split('/').map(encodeSegment).join('/');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${String(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const creq = [method, canonicalUri, '', canonicalHeaders, signedHeaders, sha256hex(body)].join('\n');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(creq)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(sts).digest('hex');
}

/** Whether a request's SigV4 Authorization is valid for service (our own check, as AWS does it). */
function verifySigV4(req, body, service) {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m || m[1] !== ACCESS_KEY || m[4] !== service) return false;
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || amzDate.slice(0, 8) !== m[2]) return false;
  const expect = signature({
    method: req.method, path: req.url.split('?')[0], headers: req.headers, signedHeaders: m[5], body,
    amzDate, region: m[3], service, secret: SECRET_KEY,
  });
  return expect === m[6];
}

// ---------------------------------------------------------------- HTTP helpers

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// ---------------------------------------------------------------- the Runtime API

export class RuntimeApi {
  constructor() {
    this.queue = [];        // events not yet fetched
    this.waiting = null;    // a held GET next
    this.pending = new Map(); // request id -> {resolve}
    this.invocations = 0;
    this.firstNextAt = 0;
    this.initErrors = [];
    this.sockets = new Set();
    this.server = createServer((req, res) => this.handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    }));
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async listen() { this.port = await listen(this.server); }

  async handle(req, res) {
    const base = '/2018-06-01/runtime';
    const body = await readBody(req);
    if (req.method === 'GET' && req.url === `${base}/invocation/next`) {
      if (!this.firstNextAt) this.firstNextAt = Date.now();
      this.waiting = res;
      this.dispatch();
      return;
    }
    let m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(req.url);
    if (req.method === 'POST' && m) {
      const p = this.pending.get(m[1]);
      if (!p) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' }));
        return;
      }
      this.pending.delete(m[1]);
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'OK' }));
      p.resolve({
        kind: m[2], body: body.toString('utf8'), errorType: req.headers['lambda-runtime-function-error-type'],
        contentType: req.headers['content-type'],
      });
      return;
    }
    if (req.method === 'POST' && req.url === `${base}/init/error`) {
      this.initErrors.push({ body: body.toString('utf8'), errorType: req.headers['lambda-runtime-function-error-type'] });
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'OK' }));
      return;
    }
    m = null;
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errorMessage: 'not found', errorType: 'NotFound' }));
  }

  dispatch() {
    if (!this.waiting || this.queue.length === 0) return;
    const res = this.waiting;
    this.waiting = null;
    const inv = this.queue.shift();
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': inv.id,
      'Lambda-Runtime-Deadline-Ms': String(inv.deadline),
      'Lambda-Runtime-Invoked-Function-Arn': `arn:aws:lambda:${REGION}:123456789012:function:dorm-e2e-streamer`,
      'Lambda-Runtime-Trace-Id': inv.trace,
    });
    res.end(JSON.stringify(inv.event));
  }

  /** Invokes the function with event; resolves with {kind: 'response'|'error', body, errorType}. */
  invoke(event, { deadlineInMs = 30000, trace, timeoutMs = 60000 } = {}) {
    const id = randomUUID();
    this.invocations += 1;
    const tr = trace ?? `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`invocation ${id} not answered within ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, { resolve: (r) => { clearTimeout(timer); resolve(r); } });
      this.queue.push({ id, event, deadline: Date.now() + deadlineInMs, trace: tr });
      this.dispatch();
    });
  }

  async waitFirstNext(timeoutMs, failed) {
    const deadline = Date.now() + timeoutMs;
    while (!this.firstNextAt) {
      const why = failed();
      if (why) throw new Error(`the function never asked for an event: ${why}`);
      if (Date.now() > deadline) throw new Error(`no GET /invocation/next within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Stops: a held next is cut off, as when the sandbox goes away. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(() => r()));
  }
}

// ---------------------------------------------------------------- the management API

const API_ID = 'a1b2c3d4e5';
const ACCOUNT = '123456789012';

/** The ARN patterns a template's role allows execute-api:ManageConnections
 *  on, its Fn::Sub resolved for this emulated API (apiId, stage, region). */
export function manageConnectionsArns(tpl, { stage = 'prod' } = {}) {
  const vars = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, WebSocketApi: API_ID, StageName: stage };
  const arns = [];
  for (const r of Object.values(tpl.Resources).filter((x) => x.Type === 'AWS::IAM::Role')) {
    for (const p of r.Properties.Policies ?? []) {
      for (const st of p.PolicyDocument.Statement) {
        if (st.Effect !== 'Allow' || ![].concat(st.Action).includes('execute-api:ManageConnections')) continue;
        for (const res of [].concat(st.Resource)) {
          const text = typeof res === 'string' ? res : res['Fn::Sub'];
          if (typeof text !== 'string') throw new Error(`a ManageConnections resource this emulator cannot resolve: ${JSON.stringify(res)}`);
          arns.push(text.replace(/\$\{([^}]+)\}/g, (m, v) => {
            if (!(v in vars)) throw new Error(`\${${v}} in ${text}`);
            return vars[v];
          }));
        }
      }
    }
  }
  return arns;
}

/** IAM's match of an ARN against a pattern: * any run of characters, ? one. */
function arnMatches(pattern, arn) {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
  return re.test(arn);
}

export class ManagementApi {
  constructor({ stage = 'prod', gone = new Set(), flaky = new Set(), broken = new Set(), allowArns = null } = {}) {
    this.stage = stage;
    this.allowArns = allowArns; // null: IAM not emulated
    this.denied = []; // [{method, conn}] refused by the role's policy
    this.gone = gone;
    this.flaky = flaky;   // 429 on the first attempt
    this.broken = broken; // 503 on the first attempt, 500 on every later one
    this.tried = new Map(); // conn -> attempts
    this.delivered = new Map(); // conn -> [{body, authorization, signatureValid}]
    this.greeted = new Map(); // conn -> [connected messages]
    this.closed = new Map(); // conn -> [{signatureValid}] of DELETE @connections/{id}
    this.tooLarge = new Map(); // conn -> [bytes] of POSTs API Gateway refuses (over 128 KB: 413)
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen() { this.port = await listen(this.server); }

  /** Whether the role may call method on conn (ManageConnections). */
  allowed(method, conn) {
    if (!this.allowArns) return true;
    const arn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${this.stage}/${method}/@connections/${conn}`;
    return this.allowArns.some((p) => arnMatches(p, arn));
  }

  async handle(req, res) {
    const body = await readBody(req);
    const m = new RegExp(`^/${this.stage}/@connections/([^/?]+)$`).exec(req.url);
    if (m && !this.allowed(req.method, decodeURIComponent(m[1]))) {
      const conn = decodeURIComponent(m[1]);
      this.denied.push({ method: req.method, conn });
      if (req.method === 'DELETE') {
        if (!this.closed.has(conn)) this.closed.set(conn, []);
        this.closed.get(conn).push({ signatureValid: verifySigV4(req, body, 'execute-api'), allowed: false });
      }
      res.writeHead(403, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'AccessDeniedException' });
      res.end(JSON.stringify({ Message: `User is not authorized to perform: execute-api:ManageConnections on resource: ${req.method} @connections/${conn}` }));
      return;
    }
    if (m && req.method === 'DELETE') {
      // DeleteConnection: API Gateway closes the connection and answers 204
      const conn = decodeURIComponent(m[1]);
      const valid = verifySigV4(req, body, 'execute-api');
      if (!this.closed.has(conn)) this.closed.set(conn, []);
      this.closed.get(conn).push({ signatureValid: valid, allowed: true });
      res.writeHead(!valid ? 403 : this.gone.has(conn) ? 410 : 204, { 'Content-Type': 'application/json' });
      res.end();
      return;
    }
    if (!m || req.method !== 'POST') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const conn = decodeURIComponent(m[1]);
    // a WebSocket frame is at most 128 KB: PostToConnection refuses a larger body
    if (body.length > 128 * 1024) {
      if (!this.tooLarge.has(conn)) this.tooLarge.set(conn, []);
      this.tooLarge.get(conn).push(body.length);
      res.writeHead(413, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'PayloadTooLargeException' });
      res.end(JSON.stringify({ message: 'Request entity too large' }));
      return;
    }
    const valid = verifySigV4(req, body, 'execute-api');
    // the protocol's greeting after $connect, kept apart from what the tests count
    let type;
    try { type = JSON.parse(body.toString('utf8')).type; } catch { type = undefined; }
    if (type === 'connected' && valid) {
      if (this.gone.has(conn)) {
        res.writeHead(410, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'GoneException' });
        res.end(JSON.stringify({ message: null }));
        return;
      }
      if (!this.greeted.has(conn)) this.greeted.set(conn, []);
      this.greeted.get(conn).push(JSON.parse(body.toString('utf8')));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end();
      return;
    }
    this.tried.set(conn, (this.tried.get(conn) ?? 0) + 1);
    if (!valid) {
      res.writeHead(403, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'InvalidSignatureException' });
      res.end(JSON.stringify({ message: 'The request signature we calculated does not match the signature you provided.' }));
      return;
    }
    if (this.gone.has(conn)) {
      res.writeHead(410, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'GoneException' });
      res.end(JSON.stringify({ message: null }));
      return;
    }
    if (this.broken.has(conn)) {
      res.writeHead(this.tried.get(conn) === 1 ? 503 : 500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal server error' }));
      return;
    }
    if (this.flaky.has(conn) && this.tried.get(conn) === 1) {
      res.writeHead(429, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'LimitExceededException' });
      res.end(JSON.stringify({ message: 'Rate exceeded' }));
      return;
    }
    if (!this.delivered.has(conn)) this.delivered.set(conn, []);
    this.delivered.get(conn).push({ body: body.toString('utf8'), authorization: req.headers.authorization, signatureValid: valid, at: Date.now() });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end();
  }

  of(conn) { return this.delivered.get(conn) ?? []; }
  greetings(conn) { return this.greeted.get(conn) ?? []; }
  closes(conn) { return this.closed.get(conn) ?? []; }
  attempts(conn) { return this.tried.get(conn) ?? 0; }

  async waitFor(conn, n, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (this.of(conn).length < n) {
      if (Date.now() > deadline) throw new Error(`${conn}: ${this.of(conn).length} of ${n} messages within ${timeoutMs} ms: ${JSON.stringify(this.of(conn))}`);
      await sleep(10);
    }
    return this.of(conn);
  }

  async close() { await new Promise((r) => this.server.close(() => r())); }
}

// ---------------------------------------------------------------- IAM for DynamoDB

/** A loopback proxy in front of DynamoDB Local that records, for each call,
 *  the IAM actions it needs and on which resources (a TransactWriteItems
 *  needs each item's own action, a Query of an index the index's ARN), as
 *  IAM authorizes DynamoDB calls. */
export class DynamoDbRecorder {
  constructor(target) {
    this.target = target;
    this.needs = []; // {action: 'dynamodb:GetItem', arn}
    this.server = createServer((req, res) => this.handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    }));
  }

  async listen() {
    this.port = await listen(this.server);
    this.url = `http://127.0.0.1:${this.port}`;
  }

  note(op, table, index) {
    const arn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}${index ? `/index/${index}` : ''}`;
    this.needs.push({ action: `dynamodb:${op}`, arn });
  }

  async handle(req, res) {
    const body = await readBody(req);
    const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '?';
    let p = {};
    try { p = JSON.parse(body.toString('utf8')); } catch { /* DynamoDB Local answers it */ }
    if (op === 'TransactWriteItems' || op === 'TransactGetItems') {
      const each = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
      for (const item of p.TransactItems ?? []) for (const [k, v] of Object.entries(item)) this.note(each[k] ?? k, v.TableName);
    } else if (op === 'BatchWriteItem' || op === 'BatchGetItem') {
      for (const t of Object.keys(p.RequestItems ?? {})) this.note(op, t);
    } else if (p.TableName) {
      this.note(op, p.TableName, p.IndexName);
    } else {
      this.needs.push({ action: `dynamodb:${op}`, arn: '*' });
    }
    const headers = { ...req.headers };
    delete headers.host;
    const r = await fetch(this.target, { method: req.method, headers, body });
    const out = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/x-amz-json-1.0' });
    res.end(out);
  }

  async close() { await new Promise((r) => this.server.close(() => r())); }
}

/** The statements of a template's role that name DynamoDB actions, their
 *  resources resolved (a table's Arn, "${Table.Arn}/index/*", StreamArn). */
export function dynamoDbStatements(tpl) {
  const tableArn = (id) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tpl.Resources[id].Properties.TableName}`;
  const resolve = (r) => {
    if (r['Fn::GetAtt']) return r['Fn::GetAtt'][1] === 'StreamArn' ? `${tableArn(r['Fn::GetAtt'][0])}/stream/*` : tableArn(r['Fn::GetAtt'][0]);
    if (r['Fn::Sub']) return r['Fn::Sub'].replace(/\$\{([^}.]+)\.Arn\}/g, (m, id) => tableArn(id));
    return String(r);
  };
  const out = [];
  for (const r of Object.values(tpl.Resources).filter((x) => x.Type === 'AWS::IAM::Role')) {
    for (const p of r.Properties.Policies ?? []) {
      for (const st of p.PolicyDocument.Statement) {
        const actions = [].concat(st.Action).filter((a) => a.startsWith('dynamodb:'));
        if (st.Effect === 'Allow' && actions.length) out.push({ actions: new Set(actions), arns: [].concat(st.Resource).map(resolve) });
      }
    }
  }
  return out;
}

/** Whether statements allow action on arn (IAM's match). */
export function iamAllows(statements, action, arn) {
  return statements.some((st) => st.actions.has(action) && st.arns.some((p) => arnMatches(p, arn)));
}

// ---------------------------------------------------------------- API Gateway WebSocket events

const DOMAIN = `${API_ID}.execute-api.${REGION}.amazonaws.com`;

function requestContext(conn, routeKey, eventType, extra = {}) {
  const now = Date.now();
  return {
    routeKey, eventType, extendedRequestId: randomBytes(8).toString('base64'),
    requestTime: new Date(now).toUTCString(), messageDirection: 'IN', stage: 'prod', connectedAt: now - 1000,
    requestTimeEpoch: now, identity: { sourceIp: '192.0.2.10' }, requestId: randomBytes(8).toString('base64'),
    domainName: DOMAIN, connectionId: conn, apiId: API_ID, ...extra,
  };
}

/** $connect with the token in Authorization (token) or ?token= (query). */
export function connectEvent(conn, { token, query } = {}) {
  const headers = {
    Host: DOMAIN, 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13',
    'X-Amzn-Trace-Id': `Root=1-${randomBytes(4).toString('hex')}-${randomBytes(12).toString('hex')}`,
    'X-Forwarded-For': '192.0.2.10', 'X-Forwarded-Port': '443', 'X-Forwarded-Proto': 'https',
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  const ev = {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: requestContext(conn, '$connect', 'CONNECT'),
    isBase64Encoded: false,
  };
  if (query) {
    ev.queryStringParameters = { token: query };
    ev.multiValueQueryStringParameters = { token: [query] };
  }
  return ev;
}

export function disconnectEvent(conn) {
  const headers = { Host: DOMAIN, 'x-api-key': '', 'x-restapi': '' };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: requestContext(conn, '$disconnect', 'DISCONNECT', { disconnectStatusCode: 1001, disconnectReason: 'Going away' }),
    isBase64Encoded: false,
  };
}

export function messageEvent(conn, body) {
  return {
    requestContext: requestContext(conn, '$default', 'MESSAGE', { messageId: randomBytes(8).toString('base64') }),
    body,
    isBase64Encoded: false,
  };
}

// ---------------------------------------------------------------- DynamoDB Streams batches

/** One DynamoDB (or DynamoDB Streams) call to DynamoDB Local, signed. */
export async function ddb(target, payload, { region = REGION } = {}) {
  const url = new URL(ddbEndpoint());
  const body = JSON.stringify(payload);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const headers = {
    host: url.host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-date': amzDate, 'x-amz-target': target,
  };
  const signedHeaders = 'content-type;host;x-amz-date;x-amz-target';
  const sig = signature({ method: 'POST', path: '/', headers, signedHeaders, body, amzDate, region, service: 'dynamodb', secret: SECRET_KEY });
  const scope = `${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request`;
  const res = await fetch(url, {
    method: 'POST', body,
    headers: { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signedHeaders}, Signature=${sig}` },
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** The stream records of the request (sub, rid) that DynamoDB Local's stream
 *  of dorm_streamer_requests holds, oldest first (waits for the INSERT). */
export async function requestRecords(sub, rid, { timeoutMs = 15000 } = {}) {
  const t = await ddb('DynamoDB_20120810.DescribeTable', { TableName: 'dorm_streamer_requests' });
  const arn = t.Table.LatestStreamArn;
  const pk = `${sub}#${rid}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await ddb('DynamoDBStreams_20120810.DescribeStream', { StreamArn: arn });
    const found = [];
    for (const sh of d.StreamDescription.Shards) {
      let it = (await ddb('DynamoDBStreams_20120810.GetShardIterator', { StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
      for (let i = 0; it && i < 1000; i++) {
        const g = await ddb('DynamoDBStreams_20120810.GetRecords', { ShardIterator: it, Limit: 1000 });
        for (const r of g.Records) if (r.dynamodb?.Keys?.PK?.S === pk) found.push(r);
        if (g.Records.length === 0) break;
        it = g.NextShardIterator;
      }
    }
    const inserts = found.filter((r) => r.eventName === 'INSERT');
    if (inserts.length) return { arn, records: inserts };
    if (Date.now() > deadline) throw new Error(`no INSERT of ${pk} in the stream within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A batch as Lambda's event source mapping delivers it. */
export function streamEvent(records, arn) {
  return {
    Records: records.map((r) => ({
      eventID: r.eventID, eventName: r.eventName, eventVersion: r.eventVersion ?? '1.1', eventSource: 'aws:dynamodb',
      awsRegion: r.awsRegion ?? REGION, dynamodb: r.dynamodb, eventSourceARN: arn,
    })),
  };
}

/** A copy of record that no reader can take: NewImage's status is not an AttributeValue. */
export function poisoned(record) {
  const r = structuredClone(record);
  r.eventID = randomBytes(16).toString('hex');
  r.dynamodb.SequenceNumber = `9${String(r.dynamodb.SequenceNumber).padStart(20, '0')}`;
  r.dynamodb.NewImage = { ...r.dynamodb.NewImage, status: { S: 42 } };
  return r;
}

/** A copy of record whose request no processor can read, though every
 *  value is an AttributeValue: a PENDING request with attempts as text. */
export function unreadable(record) {
  const r = structuredClone(record);
  r.eventID = randomBytes(16).toString('hex');
  r.dynamodb.SequenceNumber = `8${String(r.dynamodb.SequenceNumber).padStart(20, '0')}`;
  r.dynamodb.NewImage = { ...r.dynamodb.NewImage, attempts: { S: 'zero' } };
  return r;
}
