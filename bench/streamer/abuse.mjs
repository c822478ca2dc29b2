// Sustained abuse of a running streamer-demo (bench/streamer/abuse.sh starts
// one): a hostile or careless client for --seconds per phase, while one
// well-behaved client keeps running short GenerateReport jobs. Every second
// it samples the server (/proc/PID: VmRSS, threads, fds) and, per phase,
// DynamoDB Local's item counts of the streamer's tables. Prints one JSON line
// per phase: the server's figures at its start and end (growth), the
// abuse's own counters, and the well-behaved client's ack and progress
// latency (p50/p99/max) during it.
//   node abuse.mjs --url ws://127.0.0.1:P/ --pid PID --secret FILE --ddb http://127.0.0.1:D
//                  [--phases churn,noread,...] [--seconds 30]
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../tests/streamer/package.json', import.meta.url));
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const url = args.url, pid = +args.pid, ddb = args.ddb, seconds = +(args.seconds || 30);
const secret = fs.readFileSync(args.secret, 'utf8').replace(/\n$/, '');
const port = +new URL(url).port;
const ALL = ['churn', 'churn_inflight', 'halfopen', 'noread', 'tiny', 'midframe', 'ping', 'status_spam',
  'getresult_spam', 'many_ids', 'many_conns', 'sync_parallel'];
const phases = (args.phases || ALL.join(',')).split(',');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function token(sub, expIn = 3600) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, scope: 'reports:write', exp: now + expIn, iat: now });
  return `${h}.${p}.${crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

function sample() {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      rss_kb: +(/VmRSS:\s+(\d+)/.exec(st)?.[1] || 0),
      threads: +(/Threads:\s+(\d+)/.exec(st)?.[1] || 0),
      fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    };
  } catch { return { dead: true }; }
}

// DynamoDB Local keeps a database per access key and region: the server's.
async function ddbCall(target, body) {
  const res = await fetch(ddb, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${target}`,
      authorization: 'AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  return res.json();
}
async function countItems(table) {
  let n = 0, start;
  do {
    const r = await ddbCall('Scan', { TableName: table, Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) });
    if (r.Count === undefined) return -1;
    n += r.Count;
    start = r.LastEvaluatedKey;
  } while (start);
  return n;
}
async function tables() {
  const out = {};
  for (const t of ['dorm_streamer_connections', 'dorm_streamer_requests', 'dorm_streamer_messages']) out[t.slice(14)] = await countItems(t);
  return out;
}
async function metrics() {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const pick = (name) => { const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text); return m ? +m[1] : null; };
    const limited = {};
    for (const m of text.matchAll(/^dorm_streamer_limited_total\{limit="([a-z_]+)"\} (\S+)/gm)) if (+m[2]) limited[m[1]] = +m[2];
    return { connections: pick('dorm_streamer_connections'), limited };
  } catch (e) { return { error: e.message }; }
}

function open(sub, { tok } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${tok ?? token(sub)}` }, maxPayload: 64 << 20 });
    ws.msgs = [];
    ws.setMaxListeners(0);
    ws.on('message', (d) => { try { ws.msgs.push(JSON.parse(d.toString())); } catch { ws.msgs.push({ raw: true }); } ws.emit('m'); });
    ws.on('error', () => {});
    ws.once('open', () => resolve(ws));
    ws.once('close', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => { ws.refusedStatus = res.statusCode; resolve(ws); });
  });
}
function waitMsg(ws, pred, ms = 30000) {
  return new Promise((resolve) => {
    const t = setTimeout(() => { ws.off('m', check); resolve(null); }, ms);
    const check = () => { const m = ws.msgs.find(pred); if (m) { clearTimeout(t); ws.off('m', check); resolve(m); } };
    ws.on('m', check);
    ws.once('close', () => { clearTimeout(t); ws.off('m', check); resolve(null); });
    check();
  });
}

// The well-behaved client: GenerateReport rows 5 stepMs 100, one after another.
function goodClient(stopAt) {
  const lat = { ack: [], progress: [], failures: 0 };
  const run = (async () => {
    let ws = await open('good-user');
    let i = 0;
    while (Date.now() < stopAt) {
      if (ws.readyState !== WebSocket.OPEN) { lat.failures++; ws = await open('good-user'); continue; }
      const id = `good-${Date.now()}-${i++}`;
      const t0 = Date.now();
      ws.send(JSON.stringify({ id, action: 'GenerateReport', payload: { rows: 5, stepMs: 100 } }));
      const ack = await waitMsg(ws, (m) => m.request_id === id && (m.type === 'ack' || m.type === 'error'), 30000);
      if (!ack || ack.type !== 'ack') { lat.failures++; continue; }
      lat.ack.push(Date.now() - t0);
      const before = ws.msgs.length;
      ws.on('m', function onm() {
        const m = ws.msgs[ws.msgs.length - 1];
        if (m.request_id === id && m.type === 'progress') lat.progress.push(Date.now() - Date.parse(m.ts));
        if (m.request_id === id && (m.type === 'complete' || m.type === 'error')) ws.off('m', onm);
      });
      const end = await waitMsg(ws, (m) => m.request_id === id && (m.type === 'complete' || m.type === 'error'), 60000);
      if (!end || end.type !== 'complete') lat.failures++;
      ws.msgs.splice(0, ws.msgs.length); void before;
    }
    ws.terminate();
  })();
  return { lat, run };
}

const pct = (a, p) => { if (!a.length) return null; const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

function rawUpgrade(tok) {
  const key = crypto.randomBytes(16).toString('base64');
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${tok}\r\n\r\n`;
}
// A client's text frame (masked, as RFC 6455 requires of clients).
function frame(text) {
  const p = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  let head;
  if (p.length < 126) head = Buffer.from([0x81, 0x80 | p.length]);
  else if (p.length < 65536) { head = Buffer.alloc(4); head[0] = 0x81; head[1] = 0x80 | 126; head.writeUInt16BE(p.length, 2); }
  else { head = Buffer.alloc(10); head[0] = 0x81; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(p.length), 2); }
  const body = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) body[i] = p[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}
function rawSocket(tok) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    let buf = '';
    s.on('data', function d(chunk) {
      buf += chunk.toString('latin1');
      if (buf.includes('\r\n\r\n')) { s.off('data', d); resolve({ s, upgraded: buf.startsWith('HTTP/1.1 101') }); }
    });
    s.on('close', () => resolve({ s, upgraded: false }));
    s.write(rawUpgrade(tok));
  });
}

const abusers = {
  // connect, close at once (or vanish), in a tight loop: 8 at a time
  async churn(stopAt, c, inflight = false) {
    const sub = 'churner';
    const tok = token(sub);
    await Promise.all(Array.from({ length: 8 }, async (_, k) => {
      while (Date.now() < stopAt) {
        const ws = await open(sub, { tok });
        c.connects++;
        if (ws.refusedStatus) { c.refused++; continue; }
        if (ws.readyState === WebSocket.OPEN && inflight) {
          ws.send(JSON.stringify({ id: `ch-${k}-${c.connects}`, action: 'GenerateReport', payload: { rows: 2, stepMs: 50 } }));
          ws.send(JSON.stringify({ action: 'ping' }));
          ws.send(JSON.stringify({ id: 'x', action: 'Echo', payload: { text: 'x' } }));
        }
        if (c.connects % 2) ws.terminate(); else ws.close();
      }
    }));
  },
  async churn_inflight(stopAt, c) { return abusers.churn(stopAt, c, true); },
  // TCP connections that send half an upgrade, or an upgrade and nothing more, and never close
  async halfopen(stopAt, c) {
    const socks = [];
    const tok = token('halfopen');
    while (Date.now() < stopAt && socks.length < 400) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => c.closed_by_server++);
      const up = rawUpgrade(tok);
      s.write(socks.length % 2 ? up.slice(0, 40) : up);
      socks.push(s);
      c.sockets++;
      await sleep(20);
    }
    while (Date.now() < stopAt) await sleep(200);
    for (const s of socks) s.destroy();
  },
  // clients that send pings and Echo calls and never read what comes back
  async noread(stopAt, c) {
    const list = [];
    for (let k = 0; k < 4; k++) {
      const ws = await open('noreader');
      ws._socket.pause();
      ws.on('close', () => c.closed_by_server++);
      list.push(ws);
    }
    const big = 'y'.repeat(60000);
    while (Date.now() < stopAt) {
      for (const ws of list) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        for (let i = 0; i < 16; i++) ws.send(JSON.stringify({ id: `e${c.sent}`, action: 'Echo', payload: { text: big } }));
        c.sent += 16;
      }
      await sleep(20);
    }
    for (const ws of list) ws.terminate();
  },
  // frames written one byte per TCP segment (Nagle off), a few connections at once
  async tiny(stopAt, c) {
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (Date.now() < stopAt) {
        const { s, upgraded } = await rawSocket(token('tiny'));
        if (!upgraded) { c.refused++; s.destroy(); continue; }
        s.setNoDelay(true);
        const f = frame(JSON.stringify({ id: 'tiny', action: 'Echo', payload: { text: 'z'.repeat(2000) } }));
        for (let i = 0; i < f.length && Date.now() < stopAt; i++) { s.write(f.subarray(i, i + 1)); if (i % 64 === 0) await sleep(0); }
        c.frames++;
        s.destroy();
      }
    }));
  },
  // connections that stop in the middle of a 100 KB frame and stay
  async midframe(stopAt, c) {
    const socks = [];
    while (Date.now() < stopAt) {
      if (socks.length < 200) {
        const { s, upgraded } = await rawSocket(token('midframe'));
        if (upgraded) {
          const f = frame(JSON.stringify({ id: 'mid', action: 'Echo', payload: { text: 'q'.repeat(100000) } }));
          s.write(f.subarray(0, f.length - 10));
          socks.push(s);
          c.sockets++;
        }
      }
      await sleep(50);
    }
    for (const s of socks) s.destroy();
  },
  // pings as fast as the connection takes them (reading the pongs)
  async ping(stopAt, c) {
    const ws = await open('pinger');
    ws.removeAllListeners('message');
    ws.on('message', () => c.pongs++);
    while (Date.now() < stopAt && ws.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 200; i++) ws.send('{"action":"ping"}');
      c.pings += 200;
      await new Promise((r) => setImmediate(r));
      if (ws.bufferedAmount > 1 << 20) await sleep(5);
    }
    ws.terminate();
  },
  // one finished request asked for its status (or result) without pause
  async status_spam(stopAt, c, action = 'status') {
    const ws = await open('spammer');
    const id = `spam-${action}-${Date.now()}`;
    ws.send(JSON.stringify({ id, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } }));
    await waitMsg(ws, (m) => m.request_id === id && m.type === 'complete');
    ws.removeAllListeners('message');
    ws.on('message', (d) => { const t = d.toString(); if (t.includes('RATE_LIMITED')) c.rate_limited++; else c.answers++; });
    while (Date.now() < stopAt && ws.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 32; i++) ws.send(JSON.stringify({ id, action }));
      c.sent += 32;
      await sleep(10);
    }
    ws.terminate();
  },
  async getresult_spam(stopAt, c) { return abusers.status_spam(stopAt, c, 'get_result'); },
  // one user, distinct request ids, each a job of a few seconds
  async many_ids(stopAt, c) {
    const ws = await open('hoarder');
    ws.removeAllListeners('message');
    ws.on('message', (d) => { const t = d.toString(); if (t.includes('"ack"')) c.acks++; else if (t.includes('RATE_LIMITED')) c.rate_limited++; });
    while (Date.now() < stopAt && ws.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 16; i++) ws.send(JSON.stringify({ id: `h-${Date.now()}-${c.sent++}`, action: 'GenerateReport', payload: { rows: 3, stepMs: 1000 } }));
      await sleep(100);
    }
    ws.terminate();
  },
  // one user opens as many connections as it is let
  async many_conns(stopAt, c) {
    const list = [];
    const tok = token('crowder');
    while (Date.now() < stopAt && list.length < 2000) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => open('crowder', { tok })));
      for (const ws of batch) { if (ws.readyState === WebSocket.OPEN) c.open++; else c.refused++; list.push(ws); }
    }
    while (Date.now() < stopAt) await sleep(200);
    for (const ws of list) ws.terminate();
  },
  // sync calls from many connections of one user at once
  async sync_parallel(stopAt, c) {
    const list = await Promise.all(Array.from({ length: 50 }, () => open('syncer')));
    for (const ws of list) { ws.removeAllListeners('message'); ws.on('message', () => c.answers++); }
    while (Date.now() < stopAt) {
      for (const ws of list) if (ws.readyState === WebSocket.OPEN) for (let i = 0; i < 8; i++) ws.send(JSON.stringify({ id: `s${c.sent++}`, action: 'Echo', payload: { text: 'hello' } }));
      await sleep(50);
    }
    for (const ws of list) ws.terminate();
  },
};

for (const name of phases) {
  const fn = abusers[name];
  if (!fn) { console.error(`unknown phase ${name}`); process.exit(2); }
  const before = { ...sample(), ...(await tables()), ...(await metrics()) };
  const stopAt = Date.now() + seconds * 1000;
  const c = { connects: 0, sockets: 0, closed_by_server: 0, sent: 0, frames: 0, refused: 0, pings: 0, pongs: 0, answers: 0, rate_limited: 0, acks: 0, open: 0 };
  const good = goodClient(stopAt);
  const samples = [];
  const timer = setInterval(() => samples.push(sample()), 1000);
  const t0 = Date.now();
  await Promise.race([fn(stopAt, c), sleep(seconds * 1000 + 30000)]);
  await Promise.race([good.run, sleep(60000)]);
  clearInterval(timer);
  await sleep(3000); // what the server frees once the abuse stopped
  const after = { ...sample(), ...(await tables()), ...(await metrics()) };
  const peak = samples.reduce((p, s) => (s.rss_kb > p ? s.rss_kb : p), 0);
  const counters = Object.fromEntries(Object.entries(c).filter(([, v]) => v));
  console.log(JSON.stringify({
    phase: name, secs: Math.round((Date.now() - t0) / 1000), before, after, peak_rss_kb: peak,
    peak_fds: Math.max(0, ...samples.map((s) => s.fds || 0)), abuse: counters,
    rss_mb_every_10s: samples.filter((_, i) => i % 10 === 9).map((s) => +((s.rss_kb || 0) / 1024).toFixed(1)),
    good: {
      jobs: good.lat.ack.length, failures: good.lat.failures,
      ack_ms: [pct(good.lat.ack, 0.5), pct(good.lat.ack, 0.99), Math.max(0, ...good.lat.ack)],
      progress_ms: [pct(good.lat.progress, 0.5), pct(good.lat.progress, 0.99), Math.max(0, ...good.lat.progress)],
    },
  }));
  if (after.dead) { console.error('the server died'); process.exit(1); }
}
process.exit(0);
