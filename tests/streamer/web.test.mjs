// streamer-demo --web DIR (and its environment twin DORM_STREAMER_WEB): the
// static files of the demo page, on the streamer's own port, next to the
// WebSocket endpoint, /healthz and /metrics. The page itself runs in a real
// browser in browser.test.mjs.
import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before } from 'node:test';
import { assert, connect, demoPath, scenario, startServer, stopServers, token } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(here, '../../examples/streamer/web');

let srv;
before(async () => { srv = await startServer({ name: 'web', args: ['--web', WEB] }); });

scenario('GET / is the page, its script, style and the client module with their content types', async () => {
  const page = await srv.get('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.text, /<div id="bar" class="bar" role="progressbar"/);
  assert.equal((await srv.get('/index.html')).text, page.text);
  const app = await srv.get('/app.js');
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-type'), /^text\/javascript/);
  assert.match(app.text, /from '\.\/client\/index\.js'/);
  const css = await srv.get('/style.css');
  assert.match(css.headers.get('content-type'), /^text\/css/);
  const client = await srv.get('/client/index.js');
  assert.equal(client.status, 200, 'the symlinked client is served');
  assert.match(client.text, /export async function connect/);
  // the WebSocket endpoint, health and metrics are still there
  assert.equal((await srv.get('/healthz')).status, 200);
  const c = await connect(srv, await token());
  await c.close();
});

scenario('paths outside DIR, hidden files, directories and missing files are 404', async () => {
  for (const p of ['/nope.html', '/.gitignore', '/client/.', '/client', '/client/', '//etc/passwd', '/a//b', '/%2e%2e/%2e%2e/README.md']) {
    const r = await srv.get(p);
    assert.equal(r.status, 404, `${p}: ${r.status} ${r.text.slice(0, 100)}`);
  }
  // a raw request with .. that no client would normalise
  const raw = await new Promise((resolveRaw, reject) => {
    const sock = netConnect(srv.port, '127.0.0.1', () => {
      sock.write('GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    let out = '';
    sock.setTimeout(5000, () => sock.destroy());
    sock.on('data', (d) => { out += d; });
    sock.on('close', () => resolveRaw(out));
    sock.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 (404|400|403)/, raw.slice(0, 200));
  assert.doesNotMatch(raw, /root:.*:0:0:/, 'no file outside DIR');
});

scenario('DORM_STREAMER_WEB is the twin of --web; a DIR that is not a directory is refused at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dorm-web-'));
  writeFileSync(join(dir, 'index.html'), '<p>twin</p>');
  writeFileSync(join(dir, 'data.json'), '{"a":1}');
  symlinkSync(join(WEB, 'style.css'), join(dir, 'linked.css'));
  const twin = await startServer({ name: 'web twin', env: { DORM_STREAMER_WEB: dir } });
  try {
    assert.equal((await twin.get('/')).text, '<p>twin</p>');
    const j = await twin.get('/data.json');
    assert.equal(j.headers.get('content-type'), 'application/json');
    assert.equal((await twin.get('/linked.css')).status, 200);
  } finally {
    assert.deepEqual(await stopServers([twin]), []);
  }
  const plain = await startServer({ name: 'no web' });
  try {
    assert.equal((await plain.get('/')).status, 404, 'without --web nothing is served');
  } finally {
    assert.deepEqual(await stopServers([plain]), []);
  }
  const bad = spawn(demoPath(), ['--port', '0', '--jwt-hs256-secret-file', join(WEB, 'index.html'), '--web', join(WEB, 'index.html')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  bad.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((r) => bad.on('exit', r));
  assert.equal(code, 2, err);
  assert.match(err, /--web .*index\.html: not a directory/);
});

scenario('the server stops cleanly', async () => {
  assert.deepEqual(await stopServers([srv]), []);
});
