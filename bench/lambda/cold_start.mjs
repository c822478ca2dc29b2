// Lambda cold start and memory (issue 11): the streamer binary as a custom
// runtime next to a Node.js 20 function doing the same work (node_handler.mjs),
// under the same harness: a loopback Runtime API that takes the time of the
// process's first GET /invocation/next (the cold start as far as the runtime
// is concerned), then hands it one $connect event (JWT verified, connection
// item written to DynamoDB Local) and measures that invocation; peak RSS is
// the process's VmHWM after it. Prints one JSON line per runtime with the
// medians of --rounds fresh processes of each kind below.
//
// Where the cold start begins. On Lambda the sandbox execs the bootstrap;
// what precedes that exec belongs to the platform, not to the runtime. Here
// the parent is this Node process, and spawn() forks it (a ~50 MB process:
// the page tables copied, then torn down again by the exec, all charged to
// the child) before the exec: spawning even a C program that only connects
// takes ~12 ms, which is the harness measuring itself. So every peer runs
// twice per round:
//   exec_to_next_ms / exec_to_next_cpu_ms: started through exec_stamp (a
//     small C launcher, bench/lambda/exec_stamp.c) that stamps
//     CLOCK_MONOTONIC and its own CPU time on fd 3 right before it execs the
//     runtime in its place (same pid): cold = process.hrtime.bigint() (also
//     CLOCK_MONOTONIC) at the first next's arrival - the stamp; CPU = the
//     process's schedstat then - the CPU at the stamp. This is "process
//     start to its first next call": exec, loading, init, connect, the GET,
//     and the harness's side of accepting it (the floor peer shows that).
//   spawn_to_next_ms / spawn_to_next_cpu_ms: spawned directly, from the
//     spawn() call (wall) and with all the child's CPU (fork included): the
//     figures of earlier sessions, kept for comparison.
// On a busy machine wall time mostly measures the wait for a core; the CPU
// figures much less so.
//   node bench/lambda/cold_start.mjs --bootstrap BUILD/examples/streamer/streamer-demo --ddb URL --secret FILE
//        [--lambda-bootstrap LAMBDA_BUILD/examples/streamer/streamer-demo] [--floor FLOOR_BINARY]
//        [--stamp EXEC_STAMP_BINARY] [--rounds 10]
// --lambda-bootstrap: the same program built by scripts/lambda-package.sh
// --build (minimal libcurl, static OpenSSL/zlib/libwebsockets), as deployed.
// --floor: bench/lambda/floor.c built (a next call with nothing before it):
// the least any process costs under this harness.
// --stamp: bench/lambda/exec_stamp.c built; without it only the spawn-based
// figures are printed (exec_* are null).
// --cold-only [--also NAME=PATH,...]: see below (quick A/B of builds, no --ddb).
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

/** Nanoseconds on a CPU so far of every thread of a process (the first field of schedstat). */
function cpuNs(pid) {
  let ns = 0n;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { ns += BigInt(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns;
}

/** One fresh process: {spawn_ms, spawn_cpu_ms, exec_ms, exec_cpu_ms, invoke_ms, peak_rss_kb, status}.
 * stamp: the process is started through exec_stamp (the command is its
 * argv), which hands over on fd 3 the monotonic clock and its CPU time right
 * before it execs the command: exec_ms/exec_cpu_ms count from there. Without
 * it only the spawn-based figures are taken (the process's parent is Node). */
function once(cmd, argv, env, coldOnly, stamp) {
  return new Promise((resolve, reject) => {
    let t0 = 0n, tNext = 0n, tInvoke = 0, cpuNext = 0n, proc, done = false, result = null;
    let stampText = '', stampDone = !stamp;
    const sockets = new Set();
    const finish = () => { // both the measured process and its stamp are in
      if (!result || !stampDone) return;
      const m = /^stamp (\d+) (\d+)\n/.exec(stampText);
      if (stamp && !m) { reject(new Error(`${cmd}: no stamp from exec_stamp: '${stampText}'`)); return; }
      const ms = (ns) => Number(ns) / 1e6;
      resolve({ ...result, spawn_ms: ms(tNext - t0), spawn_cpu_ms: ms(cpuNext),
        exec_ms: m ? ms(tNext - BigInt(m[1])) : NaN, exec_cpu_ms: m ? ms(cpuNext - BigInt(m[2])) : NaN });
    };
    const end = (r) => {
      done = true;
      proc.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      server.close();
      result = r;
      finish();
    };
    const hwmKb = () => +(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] || 0);
    const server = createServer(async (req, res) => {
      const arrived = process.hrtime.bigint(); // CLOCK_MONOTONIC, exec_stamp's clock; before the body's await
      const chunks = [];
      for await (const c of req) chunks.push(c);
      if (req.method === 'GET' && req.url.endsWith('/invocation/next')) {
        if (tNext) { res.socket.setTimeout(0); return; } // the second next: measured already, hold it
        tNext = arrived;
        cpuNext = cpuNs(proc.pid);
        if (coldOnly) { // the floor: no event for it
          end({ invoke_ms: NaN, peak_rss_kb: hwmKb(), status: 200 });
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
        end({ invoke_ms: invokeMs, peak_rss_kb: hwmKb(), status: JSON.parse(Buffer.concat(chunks)).statusCode });
        return;
      }
      res.writeHead(404);
      res.end();
    });
    server.on('connection', (s) => { sockets.add(s); });
    server.listen(0, '127.0.0.1', () => {
      const stdio = ['ignore', 'ignore', 'pipe', ...(stamp ? ['pipe'] : [])];
      const [file, fileArgv] = stamp ? [stamp, ['3', cmd, ...argv]] : [cmd, argv];
      const fullEnv = { ...process.env, ...env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}` };
      t0 = process.hrtime.bigint();
      proc = spawn(file, fileArgv, { stdio, env: fullEnv });
      if (stamp) {
        proc.stdio[3].on('data', (d) => { stampText += d; });
        proc.stdio[3].on('end', () => { stampDone = true; finish(); });
      }
      let err = '';
      proc.stderr.on('data', (d) => { err += d; });
      proc.on('exit', (code) => { if (!done) { server.close(); reject(new Error(`${cmd} exited ${code} early: ${err.slice(-500)}`)); } });
    });
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const env = {
  AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_DYNAMODB: args.ddb || 'http://127.0.0.1:9', DORM_STREAMER_JWT_HS256_SECRET_FILE: args.secret,
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
};
// --cold-only: no DynamoDB, no event, no Node peer: every peer is measured to
// its first next only (as the floor is), for quick comparisons of builds with
// many rounds; --also NAME=PATH[,NAME=PATH...] adds more bootstraps (e.g. an
// older build of the same program beside a newer one).
const coldOnly = 'cold-only' in args;
const also = (args.also || '').split(',').filter(Boolean).map((kv) => {
  const at = kv.indexOf('=');
  if (at < 1) throw new Error(`--also wants NAME=PATH, not '${kv}'`);
  return [kv.slice(0, at), kv.slice(at + 1), [], coldOnly];
});
const peers = [
  ...(args.floor ? [['floor-c-no-libs', args.floor, [], true]] : []),
  ['dorm-bootstrap', args.bootstrap, [], coldOnly],
  ...(args['lambda-bootstrap'] ? [['dorm-lambda-build', args['lambda-bootstrap'], [], coldOnly]] : []),
  ...also,
  ...(coldOnly ? [] : [['node20-handler', process.execPath, [new URL('./node_handler.mjs', import.meta.url).pathname]]]),
];
// one warm-up each (page cache), then alternating rounds; in each round every
// peer runs twice, spawned directly (the spawn-based figures) and through
// exec_stamp (the exec-based ones, the invocation and the RSS)
const stamp = args.stamp;
for (const [, cmd, argv, coldOnly] of peers) await once(cmd, argv, env, coldOnly, stamp);
const results = Object.fromEntries(peers.map(([who]) => [who, { direct: [], stamped: [] }]));
for (let i = 0; i < rounds; i++) {
  for (const [who, cmd, argv, coldOnly] of peers) {
    results[who].direct.push(await once(cmd, argv, env, coldOnly, null));
    if (stamp) results[who].stamped.push(await once(cmd, argv, env, coldOnly, stamp));
  }
}
const med = (rs, k, digits = 2) => (rs.length ? +median(rs.map((r) => r[k])).toFixed(digits) : null);
for (const [who, { direct, stamped }] of Object.entries(results)) {
  const all = [...direct, ...stamped];
  if (all.some((r) => r.status !== 200)) throw new Error(`${who}: $connect not accepted: ${JSON.stringify(all)}`);
  const measured = stamped.length ? stamped : direct;
  console.log(JSON.stringify({
    who, rounds,
    exec_to_next_ms: med(stamped, 'exec_ms'), exec_to_next_cpu_ms: med(stamped, 'exec_cpu_ms'),
    spawn_to_next_ms: med(direct, 'spawn_ms'), spawn_to_next_cpu_ms: med(direct, 'spawn_cpu_ms'),
    first_connect_ms: med(measured, 'invoke_ms'),
    peak_rss_mb: +(median(measured.map((r) => r.peak_rss_kb)) / 1024).toFixed(2),
  }));
}
