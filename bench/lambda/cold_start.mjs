// Lambda cold start and memory (issue 11): the streamer binary as a custom
// runtime next to a Node.js 20 function doing the same work (node_handler.mjs),
// under the same harness: a loopback Runtime API that measures the time from
// spawning the process to its first GET /invocation/next (the cold start as
// far as the runtime is concerned), then hands it one $connect event (JWT
// verified, connection item written to DynamoDB Local) and measures that
// invocation; peak RSS is the process's VmHWM after it. cold_cpu_ms is the
// CPU the process (all its threads, from /proc/PID/task/*/schedstat) had
// used when its first next arrived: on a busy machine wall time mostly
// measures the wait for a core, CPU time much less so. Prints one JSON line
// per runtime with the median of --rounds fresh processes.
//   node bench/lambda/cold_start.mjs --bootstrap BUILD/examples/streamer/streamer-demo --ddb URL --secret FILE
//        [--lambda-bootstrap LAMBDA_BUILD/examples/streamer/streamer-demo] [--floor FLOOR_BINARY] [--rounds 10]
// --lambda-bootstrap: the same program built by scripts/lambda-package.sh
// --build (minimal libcurl, static OpenSSL/zlib/libwebsockets), as deployed.
// --floor: bench/lambda/floor.c built (a next call with nothing before it):
// the cold start of spawning any process under this harness.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const rounds = +(args.rounds || 10);
const secretText = readFileSync(args.secret, 'utf8').replace(/\n$/, '');

function token(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, tenant_id: 'bench', scope: 'reports:write', exp: now + 3600, iat: now });
  return `${h}.${p}.${createHmac('sha256', secretText).update(`${h}.${p}`).digest('base64url')}`;
}

function connectEvent() {
  const conn = `${randomBytes(11).toString('base64')}`.replace(/[^A-Za-z0-9]/g, 'x') + '=';
  return {
    headers: { Host: 'a1b2c3.execute-api.us-east-1.amazonaws.com', Authorization: `Bearer ${token('bench-user')}` },
    requestContext: { routeKey: '$connect', eventType: 'CONNECT', stage: 'prod', connectionId: conn,
      domainName: 'a1b2c3.execute-api.us-east-1.amazonaws.com', apiId: 'a1b2c3', requestTimeEpoch: Date.now() },
    isBase64Encoded: false,
  };
}

/** CPU time (ms) of every thread of a process so far: the first field of schedstat is ns on a CPU. */
function cpuMs(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns / 1e6;
}

/** One fresh process: {cold_ms, cold_cpu_ms, invoke_ms, peak_rss_kb, status}. */
function once(cmd, argv, env, coldOnly = false) {
  return new Promise((resolve, reject) => {
    let t0 = 0, tNext = 0, tInvoke = 0, cpuNext = 0, proc, done = false;
    const sockets = new Set();
    const server = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      if (req.method === 'GET' && req.url.endsWith('/invocation/next')) {
        if (tNext) { res.socket.setTimeout(0); return; } // the second next: measured already, hold it
        tNext = performance.now();
        cpuNext = cpuMs(proc.pid);
        if (coldOnly) { // the floor: no event for it
          const hwm = +(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] || 0);
          done = true;
          proc.kill('SIGKILL');
          for (const s of sockets) s.destroy();
          server.close();
          resolve({ cold_ms: tNext - t0, cold_cpu_ms: cpuNext, invoke_ms: NaN, peak_rss_kb: hwm, status: 200 });
          return;
        }
        tInvoke = performance.now();
        res.writeHead(200, { 'Content-Type': 'application/json', 'Lambda-Runtime-Aws-Request-Id': 'r1',
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30000), 'Lambda-Runtime-Trace-Id': 'Root=1-0-0;Sampled=0' });
        res.end(JSON.stringify(connectEvent()));
        return;
      }
      if (req.method === 'POST' && req.url.endsWith('/response')) {
        const invokeMs = performance.now() - tInvoke;
        res.writeHead(202);
        res.end('{"status":"OK"}');
        const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
        const hwm = +(/VmHWM:\s+(\d+)/.exec(status)?.[1] || 0);
        done = true;
        proc.kill('SIGKILL');
        for (const s of sockets) s.destroy();
        server.close();
        resolve({ cold_ms: tNext - t0, cold_cpu_ms: cpuNext, invoke_ms: invokeMs, peak_rss_kb: hwm,
          status: JSON.parse(Buffer.concat(chunks)).statusCode });
        return;
      }
      res.writeHead(404);
      res.end();
    });
    server.on('connection', (s) => { sockets.add(s); });
    server.listen(0, '127.0.0.1', () => {
      t0 = performance.now();
      proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}` } });
      let err = '';
      proc.stderr.on('data', (d) => { err += d; });
      proc.on('exit', (code) => { if (!done) { server.close(); reject(new Error(`${cmd} exited ${code} early: ${err.slice(-500)}`)); } });
    });
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const env = {
  AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_DYNAMODB: args.ddb, DORM_STREAMER_JWT_HS256_SECRET_FILE: args.secret,
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
};
const peers = [
  ...(args.floor ? [['floor-c-no-libs', args.floor, [], true]] : []),
  ['dorm-bootstrap', args.bootstrap, []],
  ...(args['lambda-bootstrap'] ? [['dorm-lambda-build', args['lambda-bootstrap'], []]] : []),
  ['node20-handler', process.execPath, [new URL('./node_handler.mjs', import.meta.url).pathname]],
];
// one warm-up each (page cache), then alternating rounds
for (const [, cmd, argv, coldOnly] of peers) await once(cmd, argv, env, coldOnly);
const results = Object.fromEntries(peers.map(([who]) => [who, []]));
for (let i = 0; i < rounds; i++) {
  for (const [who, cmd, argv, coldOnly] of peers) results[who].push(await once(cmd, argv, env, coldOnly));
}
for (const [who, rs] of Object.entries(results)) {
  if (rs.some((r) => r.status !== 200)) throw new Error(`${who}: $connect not accepted: ${JSON.stringify(rs)}`);
  console.log(JSON.stringify({
    who, rounds, cold_start_ms: +median(rs.map((r) => r.cold_ms)).toFixed(2),
    cold_cpu_ms: +median(rs.map((r) => r.cold_cpu_ms)).toFixed(2),
    first_connect_ms: +median(rs.map((r) => r.invoke_ms)).toFixed(2),
    peak_rss_mb: +(median(rs.map((r) => r.peak_rss_kb)) / 1024).toFixed(2),
  }));
}
