// A loopback HTTP proxy in front of DynamoDB (Local) that counts what passes:
// every call by its X-Amz-Target operation, and the UpdateItem calls on each
// request item of the streamer (dorm_streamer_requests, by its PK). Bodies
// and headers are forwarded unchanged (SigV4 signs the Host header, which
// stays the target's), so a server pointed at the proxy works as usual.
//
// As a module (tests/streamer/harness.mjs): `await countingProxy(target)`;
// `{ beforeForward }` is awaited with (operation, parsed body) before a call
// is forwarded: a test changes the table there, as a racing writer would. When
// it returns `{ reply: { status, body } }` the call is still forwarded and
// applied, and the caller gets that answer instead of DynamoDB's.
// As a program (bench/streamer/run.sh):
//   node ddb-proxy.mjs --target URL   prints `listening on 127.0.0.1:P`; on
//   SIGTERM prints the counts as one JSON line {"ops":{...},"request_updates":N,
//   "request_items":M} and exits.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

export async function countingProxy(targetUrl, { beforeForward } = {}) {
  const target = new URL(targetUrl);
  const ops = new Map();
  const opMs = new Map(); // total time in DynamoDB by operation
  const requestUpdates = new Map();
  const byTable = new Map(), itemsByTable = new Map(); // writes by "op table": calls, items
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop();
      ops.set(op, (ops.get(op) ?? 0) + 1);
      if (op === 'UpdateItem' || op === 'PutItem' || op === 'BatchWriteItem') {
        try {
          const j = JSON.parse(body.toString('utf8'));
          if (op === 'UpdateItem' && j.TableName === 'dorm_streamer_requests' && j.Key?.PK?.S) {
            requestUpdates.set(j.Key.PK.S, (requestUpdates.get(j.Key.PK.S) ?? 0) + 1);
          }
          // calls and items by table: "PutItem dorm_streamer_messages"
          const tables = op === 'BatchWriteItem' ? Object.entries(j.RequestItems ?? {}) : [[j.TableName, [1]]];
          for (const [t, items] of tables) {
            const k = `${op} ${String(t).replace(/^dorm_streamer_/, '')}`;
            byTable.set(k, (byTable.get(k) ?? 0) + 1);
            itemsByTable.set(k, (itemsByTable.get(k) ?? 0) + items.length);
          }
        } catch { /* counted by operation only */ }
      }
      let reply = null;
      if (beforeForward) {
        let j = null;
        try { j = JSON.parse(body.toString('utf8')); } catch { /* not JSON: passed as it is */ }
        try { reply = (await beforeForward(op, j))?.reply ?? null; } catch (e) { console.error(`ddb-proxy: beforeForward: ${e.message}`); }
      }
      const t0 = process.hrtime.bigint();
      const up = http.request({
        host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent,
      }, (r) => {
        if (reply) {
          // the call was made (DynamoDB applied it), its answer replaced: a
          // 5xx or a timeout after the write, which the caller cannot tell
          // from one that was not applied
          r.resume();
          r.on('end', () => {
            res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.0' });
            res.end(JSON.stringify(reply.body ?? {}));
          });
          return;
        }
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
        r.on('end', () => opMs.set(op, (opMs.get(op) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6));
      });
      up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      up.end(body);
    });
  });
  server.keepAliveTimeout = 60000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    ops,
    /** UpdateItem calls on the request item of (sub, client id) */
    updatesOf: (sub, rid) => requestUpdates.get(`${sub}#${rid}`) ?? 0,
    summary: () => ({
      ops: Object.fromEntries(ops),
      ms_per_call: Object.fromEntries([...opMs].map(([k, v]) => [k, +(v / ops.get(k)).toFixed(1)])),
      writes_by_table: Object.fromEntries([...byTable].map(([k, v]) => [k, { calls: v, items: itemsByTable.get(k) }])),
      request_updates: [...requestUpdates.values()].reduce((a, b) => a + b, 0),
      request_items: requestUpdates.size,
    }),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--target');
  if (i < 0 || !process.argv[i + 1]) {
    console.error('usage: node ddb-proxy.mjs --target URL');
    process.exit(2);
  }
  const p = await countingProxy(process.argv[i + 1]);
  console.log(`listening on ${p.url.replace('http://', '')}`);
  process.on('SIGTERM', async () => {
    console.log(JSON.stringify(p.summary()));
    await p.close();
    process.exit(0);
  });
}
