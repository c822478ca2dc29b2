// How streamer-demo refuses to start (docs/streamer.md "Running it"): a busy
// port or a key file it cannot read is one line on stderr naming what and
// where, an exit status, nothing else (no libwebsockets log lines, no JSON log,
// no "listening", no sanitizer report under ASan).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { assert, ddbEndpoint, demoPath, scenario, SECRET_FILE } from './harness.mjs';

/** Runs streamer-demo to its exit (killed after 30 s): {code, signal, stdout, stderr}. */
function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(demoPath(), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30000);
    p.on('error', reject);
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

/** A listening socket on 127.0.0.1 (some other program's), and its port. */
function occupy() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve({ srv, port: srv.address().port }));
  });
}

/** stderr is exactly one line matching re: nothing noisy around it. */
function oneLine(r, re) {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `stderr is one line, got:\n${r.stderr}`);
  assert.match(lines[0], re);
  assert.equal(r.stdout, '', 'nothing on stdout (no "listening on")');
}

for (const [loop, env] of [['libev', {}], ['poll', { DORM_STREAMER_POLL: '1' }]]) {
  scenario(`a port in use is one clear error and exit status 1 (${loop} loop)`, async () => {
    const { srv, port } = await occupy();
    try {
      const r = await run(['--port', String(port), '--ddb-endpoint', ddbEndpoint(), '--create-tables',
        '--jwt-hs256-secret-file', SECRET_FILE], env);
      assert.equal(r.signal, null, `not killed: ${r.stderr}`);
      assert.equal(r.code, 1, `exit status 1, stderr:\n${r.stderr}`);
      oneLine(r, new RegExp(`streamer-demo: port ${port} on 127\\.0\\.0\\.1 is in use \\(Address already in use\\): ` +
        'stop what listens there or give another --port \\(0 picks a free one\\)$'));
    } finally {
      srv.close();
    }
  });
}

scenario('a missing or unreadable key file names its flag and path, exit status 2', async () => {
  const missing = '/nonexistent-dorm-test/hs256.secret';
  let r = await run(['--port', '0', '--ddb-endpoint', ddbEndpoint(), '--jwt-hs256-secret-file', missing]);
  assert.equal(r.code, 2, `exit status 2, stderr:\n${r.stderr}`);
  oneLine(r, new RegExp(`streamer-demo: --jwt-hs256-secret-file ${missing}: cannot read: No such file or directory$`));

  r = await run(['--port', '0', '--ddb-endpoint', ddbEndpoint(), '--jwt-public-key-file', '/']);
  assert.equal(r.code, 2, `exit status 2, stderr:\n${r.stderr}`);
  oneLine(r, /streamer-demo: --jwt-public-key-file \/: cannot read: not a regular file$/);

  r = await run(['--port', '0', '--ddb-endpoint', ddbEndpoint(), '--jwks-file', missing]);
  assert.equal(r.code, 2, `exit status 2, stderr:\n${r.stderr}`);
  oneLine(r, new RegExp(`streamer-demo: --jwks-file ${missing}: cannot read: No such file or directory$`));
});
