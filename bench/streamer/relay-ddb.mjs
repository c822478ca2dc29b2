// The alternative a Node.js developer would write to get what the issue asks
// of the streamer that the bare relay (relay.mjs) skips: the same `ws` relay,
// but it verifies the client's HS256 JWT and stores every message in DynamoDB
// before sending it (AWS SDK for JavaScript v3, one DynamoDBClient): the
// request item with a conditional put (a retried id is not a second job), each
// message under (request, seq) so a client could resume, and the outcome on
// the request item. No leases, streams or resume: only the writes. It runs
// every job at once on timers (no worker pool). The benchmark prints it beside
// streamer-demo and the bare relay as `node-ws-ddb`.
//   node relay-ddb.mjs --port P --endpoint URL --secret FILE
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
const wsRequire = createRequire(new URL('../../tests/streamer/package.json', import.meta.url));
const sdkRequire = createRequire(new URL('../node/package.json', import.meta.url));
const { WebSocketServer } = wsRequire('ws');
const { DynamoDBClient, CreateTableCommand, PutItemCommand, UpdateItemCommand } =
  sdkRequire('@aws-sdk/client-dynamodb');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const port = +arg('port', 0);
const endpoint = arg('endpoint', process.env.DORM_TEST_ENDPOINT || '');
const secret = fs.readFileSync(arg('secret', '/dev/null'), 'utf8').replace(/\n$/, '');
if (!endpoint || !secret) {
  console.error('usage: node relay-ddb.mjs --port P --endpoint URL --secret FILE');
  process.exit(2);
}
const ddb = new DynamoDBClient({ endpoint, region: process.env.AWS_REGION || 'us-east-1' });
const REQUESTS = 'relay_ddb_requests', MESSAGES = 'relay_ddb_messages';

async function ensureTable(TableName, keys) {
  try {
    await ddb.send(new CreateTableCommand({
      TableName, BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      KeySchema: keys.map(([AttributeName], i) => ({ AttributeName, KeyType: i ? 'RANGE' : 'HASH' })),
    }));
  } catch (e) {
    if (e.name !== 'ResourceInUseException') throw e;
  }
}

// HS256 only, exp checked, signature compared in constant time: the least a
// server that takes identity from a token must do.
function verify(token) {
  const parts = (token || '').split('.');
  if (parts.length !== 3) return null;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch { return null; }
  if (header.alg !== 'HS256' || typeof claims.sub !== 'string') return null;
  const want = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return null;
  return claims;
}

await ensureTable(REQUESTS, [['pk', 'S']]);
await ensureTable(MESSAGES, [['pk', 'S'], ['seq', 'N']]);

const wss = new WebSocketServer({
  host: '127.0.0.1', port,
  verifyClient: (info, cb) => {
    const claims = verify((info.req.headers.authorization || '').replace(/^Bearer /, ''));
    if (!claims) return cb(false, 401);
    info.req.claims = claims;
    cb(true);
  },
});
wss.on('listening', () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws, req) => {
  const sub = req.claims.sub;
  ws.on('message', async (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    const rows = m.payload?.rows | 0, stepMs = m.payload?.stepMs | 0;
    const pk = `${sub}#${m.id}`;
    let seq = 1;
    // stored, then sent; one request's messages in order
    let chain = Promise.resolve();
    const send = (o) => {
      const body = JSON.stringify({ ...o, request_id: m.id, seq: seq++, ts: new Date().toISOString() });
      const s = seq - 1;
      chain = chain.then(async () => {
        await ddb.send(new PutItemCommand({ TableName: MESSAGES, Item: { pk: { S: pk }, seq: { N: String(s) }, body: { S: body } } }));
        ws.send(body);
      }).catch((e) => console.error(`store failed: ${e.name}`));
      return chain;
    };
    try {
      await ddb.send(new PutItemCommand({
        TableName: REQUESTS, ConditionExpression: 'attribute_not_exists(pk)',
        Item: { pk: { S: pk }, endpoint: { S: String(m.action) }, status: { S: 'PENDING' }, payload: { S: JSON.stringify(m.payload ?? {}) } },
      }));
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', request_id: m.id, seq: 0, error: { code: e.name === 'ConditionalCheckFailedException' ? 'DUPLICATE_REQUEST' : 'INTERNAL', message: e.name, retryable: false } }));
      return;
    }
    send({ type: 'ack', endpoint: m.action, status: 'PENDING' });
    const hash = crypto.createHash('sha256');
    let row = 0;
    const t = setInterval(() => {
      row++;
      hash.update(`${row}\n`);
      send({ type: 'progress', percent: 100 * row / rows, progress: { rows: row } });
      if (row >= rows) {
        clearInterval(t);
        const result = { rows, checksum: hash.digest('hex') };
        chain = chain.then(() => ddb.send(new UpdateItemCommand({
          TableName: REQUESTS, Key: { pk: { S: pk } },
          UpdateExpression: 'SET #s = :s, #r = :r', ExpressionAttributeNames: { '#s': 'status', '#r': 'result' },
          ExpressionAttributeValues: { ':s': { S: 'COMPLETED' }, ':r': { S: JSON.stringify(result) } },
        }))).catch((e) => console.error(`store failed: ${e.name}`));
        send({ type: 'complete', result });
      }
    }, stepMs);
  });
});
