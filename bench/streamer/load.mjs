// Load generator for the streamer benchmark (bench/streamer/run.sh).
//   node load.mjs --url ws://127.0.0.1:P/ --conns 1000 --progress 20 --step-ms 100 --secret FILE --pid PID
// Opens --conns WebSocket connections, each sends one GenerateReport request
// (rows = --progress, so the handler reports --progress times, stepMs apart),
// and measures: ack latency (send -> ack), progress delivery latency (the
// message's ts, stamped when the server sends it after the handler's report,
// -> received here; same machine clock), messages lost (progress + complete
// expected per request), and the server's CPU time and peak RSS (from
// /proc/PID). Prints one JSON line. The same load runs against the Node relay
// (relay.mjs), which speaks the same protocol.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../tests/streamer/package.json', import.meta.url));
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const url = args.url, conns = +(args.conns || 1000), progress = +(args.progress || 20), stepMs = +(args['step-ms'] || 100);
const pid = args.pid ? +args.pid : 0;
const ddbPid = args['ddb-pid'] ? +args['ddb-pid'] : 0; // DynamoDB Local's JVM: its CPU in the round, for context
const secret = fs.readFileSync(args.secret, 'utf8').replace(/\n$/, '');
const deadline = Date.now() + (+(args['timeout-s'] || 600)) * 1000;

function token(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, scope: 'reports:write', exp: now + 3600, iat: now });
  return `${h}.${p}.${crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}
function procStat() {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = +stat[11] + +stat[12]; // utime + stime (fields 14, 15)
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = +(/VmHWM:\s+(\d+)/.exec(status)?.[1] || 0);
    // context switches of every thread (the server's threads live as long as it does):
    // (and by thread name: st-worker, st-writer, st-poller, the lws thread's own)
    let switches = 0, preempted = 0;
    const byName = {};
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const ts = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        // voluntary ones are the server's own waits; involuntary ones (preemption) grow with the machine's load
        const n = +(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(ts)?.[1] || 0);
        const name = /^Name:\s+(.*)$/m.exec(ts)?.[1] || '?';
        switches += n;
        preempted += +(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(ts)?.[1] || 0);
        byName[name] = (byName[name] || 0) + n;
      } catch {}
    }
    return { cpu_s: ticks / 100, peak_rss_mb: hwm / 1024, switches, preempted, byName };
  } catch { return null; }
}
/** utime + stime of a process in seconds (null when it cannot be read). */
function cpuOf(p) {
  try { const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' '); return (+st[11] + +st[12]) / 100; }
  catch { return null; }
}
const pct = (xs, p) => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };

const cpu0 = procStat();
const ddbCpu0 = ddbPid ? cpuOf(ddbPid) : null;
const ackLat = [], progLat = [];
const progAt = []; // receive times, for LAT_TIMELINE=1
let received = 0, completes = 0, errors = 0, opened = 0;
const run = Date.now().toString(36);
await new Promise((resolveAll) => {
  let done = 0;
  const finish = () => { if (++done === conns) resolveAll(); };
  for (let i = 0; i < conns; i++) {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token(`bench-${run}-${i}`)}` } });
    let sent = 0, ended = false;
    const end = () => { if (!ended) { ended = true; try { ws.close(); } catch {} finish(); } };
    ws.on('open', () => {
      opened++;
      sent = Date.now();
      ws.send(JSON.stringify({ id: `b${i}`, action: 'GenerateReport', payload: { rows: progress, stepMs } }));
    });
    ws.on('message', (data) => {
      const now = Date.now();
      const m = JSON.parse(data.toString());
      if (m.type === 'ack') ackLat.push(now - sent);
      else if (m.type === 'progress') { received++; progLat.push(now - Date.parse(m.ts)); progAt.push(now); }
      else if (m.type === 'complete') { completes++; end(); }
      else if (m.type === 'error') { errors++; end(); }
    });
    ws.on('error', () => { errors++; end(); });
    ws.on('close', end);
  }
  const t = setInterval(() => { if (Date.now() > deadline) { clearInterval(t); resolveAll(); } }, 500);
  t.unref();
});
const cpu1 = procStat();
const ddbCpu1 = ddbPid ? cpuOf(ddbPid) : null;
const expected = conns * progress;
console.log(JSON.stringify({
  conns, opened, progress_per_request: progress,
  ack_ms: { p50: pct(ackLat, 50), p99: pct(ackLat, 99) },
  progress_delivery_ms: { p50: pct(progLat, 50), p99: pct(progLat, 99) },
  progress_received: received, progress_expected: expected, completes, errors,
  messages_lost: expected - received + (conns - completes),
  server_cpu_s: cpu0 && cpu1 ? +(cpu1.cpu_s - cpu0.cpu_s).toFixed(2) : null,
  server_peak_rss_mb: cpu1 ? +cpu1.peak_rss_mb.toFixed(1) : null,
  ...(ddbCpu0 !== null && ddbCpu1 !== null ? { ddb_local_cpu_s: +(ddbCpu1 - ddbCpu0).toFixed(2) } : {}),
  server_switches_per_request: cpu0 && cpu1 ? +((cpu1.switches - cpu0.switches) / conns).toFixed(1) : null,
  server_preempted_per_request: cpu0 && cpu1 ? +((cpu1.preempted - cpu0.preempted) / conns).toFixed(1) : null,
  server_switches_by_thread: cpu0 && cpu1 ? Object.fromEntries(Object.entries(cpu1.byName).map(([k, v]) =>
    [k, +((v - (cpu0.byName[k] || 0)) / conns).toFixed(1)])) : null,
}));
if (process.env.LAT_TIMELINE === '1' && progAt.length) {
  // where the tail is: progress delivery p50/p99 per second of the round (stderr)
  const t0 = progAt[0], by = new Map();
  progAt.forEach((t, i) => { const k = Math.floor((t - t0) / 1000); (by.get(k) || by.set(k, []).get(k)).push(progLat[i]); });
  for (const [k, v] of [...by].sort((a, b) => a[0] - b[0]))
    process.stderr.write(`  second ${k}: n=${v.length} p50=${pct(v, 50)} p99=${pct(v, 99)} max=${Math.max(...v)}\n`);
}
process.exit(0);
