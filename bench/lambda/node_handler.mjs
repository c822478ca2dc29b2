// The Node.js peer of the Lambda benchmark: what a Node 20 function doing the
// streamer's $connect would be, as a custom runtime under the same harness
// (bench/lambda/cold_start.mjs): the Runtime API loop (next, response), the
// JWT verified with jose (HS256, the secret from DORM_STREAMER_JWT_HS256_SECRET_FILE),
// the connection item written with the AWS SDK for JavaScript v3
// (@aws-sdk/client-dynamodb, endpoint from AWS_ENDPOINT_URL_DYNAMODB).
// Loaded at start like a Node handler module: the SDK client and the key.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const sdk = createRequire(new URL('../node/package.json', import.meta.url))('@aws-sdk/client-dynamodb');
const { jwtVerify } = await import(new URL('../../tests/streamer/node_modules/jose/dist/webapi/index.js', import.meta.url));

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const secret = new TextEncoder().encode(readFileSync(process.env.DORM_STREAMER_JWT_HS256_SECRET_FILE, 'utf8').replace(/\n$/, ''));
const ddb = new sdk.DynamoDBClient({});

async function handle(ev) {
  const rc = ev.requestContext;
  const auth = ev.headers?.Authorization ?? ev.headers?.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : ev.queryStringParameters?.token;
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token ?? '', secret, { algorithms: ['HS256'] }));
  } catch {
    return { statusCode: 401, body: 'Unauthorized' };
  }
  const now = new Date().toISOString();
  await ddb.send(new sdk.PutItemCommand({
    TableName: 'dorm_streamer_connections',
    Item: {
      id: { S: rc.connectionId }, sub: { S: claims.sub }, tenant: { S: claims.tenant_id ?? '' },
      scopes: { L: String(claims.scope ?? '').split(' ').filter(Boolean).map((s) => ({ S: s })) },
      server: { S: `https://${rc.domainName}/${rc.stage}` }, gone: { BOOL: false },
      connectedAt: { S: now }, lastSeen: { S: now }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86400) },
    },
  }));
  return { statusCode: 200 };
}

for (;;) {
  let res;
  try { res = await fetch(`${api}/invocation/next`); } catch { process.exit(0); }
  const id = res.headers.get('lambda-runtime-aws-request-id');
  const out = await handle(await res.json());
  await fetch(`${api}/invocation/${id}/response`, { method: 'POST', body: JSON.stringify(out) });
}
