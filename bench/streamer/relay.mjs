// The common alternative the benchmark compares with: a minimal Node.js
// server on the `ws` package that acks a GenerateReport request and relays
// progress from a timer (stepMs apart), then completes. No persistence, no
// auth beyond reading the token: the floor of what a relay costs.
//   node relay.mjs --port P
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
const require = createRequire(new URL('../../tests/streamer/package.json', import.meta.url));
const { WebSocketServer } = require('ws');
const port = +(process.argv[process.argv.indexOf('--port') + 1] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port });
wss.on('listening', () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    const rows = m.payload?.rows | 0, stepMs = m.payload?.stepMs | 0;
    let seq = 1;
    const send = (o) => ws.send(JSON.stringify({ ...o, request_id: m.id, seq: seq++, ts: new Date().toISOString() }));
    send({ type: 'ack', endpoint: m.action, status: 'PENDING' });
    const hash = crypto.createHash('sha256');
    let row = 0;
    const t = setInterval(() => {
      row++;
      hash.update(`${row}\n`);
      send({ type: 'progress', percent: 100 * row / rows, progress: { rows: row } });
      if (row >= rows) { clearInterval(t); send({ type: 'complete', result: { rows, checksum: hash.digest('hex') } }); }
    }, stepMs);
  });
});
