// The JWT attack suite at the upgrade (docs/streamer.md "Connecting"): every
// forged, stale, misdirected or malformed token is refused before the
// WebSocket exists, the reason is logged (never the token), and the server
// goes on serving. Three servers: an HS256 secret with issuer and audience, an
// RSA public key (PEM), a JWKS (RSA and EC keys chosen by kid).
import { createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { exportJWK, SignJWT, importPKCS8 } from 'jose';
import {
  assert, checkReportComplete, connect, ddbEndpoint, demoPath, HS_SECRET, metric, scenario, startServer, stopServers, token,
  tryConnect, uniq, workFile, sleep,
} from './harness.mjs';
import { execFileSync } from 'node:child_process';
import { before } from 'node:test';

const ISS = 'https://issuer.e2e.test';
const AUD = 'dorm-e2e';
const now = () => Math.floor(Date.now() / 1000);
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecOther = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const RSA_PEM = rsa.publicKey.export({ type: 'spki', format: 'pem' });

let hs; // HS256 + iss + aud
let rs; // RSA public key PEM
let jw; // JWKS

before(async () => {
  const pemFile = workFile('rsa.pem', RSA_PEM);
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k-rsa', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'k-ec', alg: 'ES256', use: 'sig' };
  const jwksFile = workFile('jwks.json', JSON.stringify({ keys: [rsaJwk, ecJwk] }));
  hs = await startServer({ name: 'jwt-hs256', args: ['--jwt-issuer', ISS, '--jwt-audience', AUD] });
  rs = await startServer({ name: 'jwt-rsa-pem', auth: false, args: ['--jwt-public-key-file', pemFile] });
  jw = await startServer({ name: 'jwt-jwks', auth: false, args: ['--jwks-file', jwksFile] });
});

const claims = (over = {}) => ({
  sub: uniq('jwt-user'), tenant_id: 't1', scope: 'reports:write', iss: ISS, aud: AUD,
  iat: now(), exp: now() + 3600, ...over,
});

/** Asymmetric tokens. Well-formed ones through jose (RS256/ES256, ES256
 *  signatures raw r||s as JWS wants); odd headers (a numeric kid, a key of
 *  the wrong type) assembled by hand with node:crypto the same way. */
async function signAsym(alg, key, payload, header = {}) {
  const h = { alg, typ: 'JWT', ...header };
  const keyType = key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  if (typeof h.kid !== 'number' && keyType === alg) {
    const pkcs8 = await importPKCS8(key.export({ type: 'pkcs8', format: 'pem' }), alg);
    return new SignJWT(payload).setProtectedHeader(h).sign(pkcs8);
  }
  const input = `${b64u(h)}.${b64u(payload)}`;
  const sig = createSign('sha256').update(input)
    .sign(key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}

/** A token assembled by hand: any header, any payload, HMAC with any key. */
function hmacToken(header, payload, key, hash = 'sha256') {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

async function accepted(server, tok, opts) {
  const c = await connect(server, tok, opts);
  const rid = uniq('echo');
  const r = await c.call({ id: rid, action: 'Echo', payload: { text: 'in' } });
  assert.equal(r.type, 'response', JSON.stringify(r));
  await c.close();
}

/**
 * The upgrade is refused: HTTP 401 (or, for an oversized header, any refusal
 * without an upgrade); the refusal is logged without the token; the server
 * still serves a good token afterwards.
 */
async function refused(server, tok, good, { via = 'header', anyStatus = false, label = '' } = {}) {
  const logBefore = server.stderr.length;
  const failsBefore = metric(await server.metrics(), 'dorm_streamer_auth_failures_total');
  const r = await tryConnect(server, tok, { via });
  if (r.ok) {
    const seen = await r.client.waitFor(() => true, { timeoutMs: 2000 }).catch(() => null);
    await r.client.close();
    assert.fail(`${label}: ACCEPTED: the upgrade succeeded (first message ${JSON.stringify(seen)})`);
  }
  const wrong = [];
  if (anyStatus) {
    if (!(r.status === undefined || r.status >= 400)) wrong.push(`refused with ${JSON.stringify(r)}`);
  } else if (r.status !== 401) {
    wrong.push(`refused, but not with HTTP 401: ${JSON.stringify(r)}`);
  }
  await sleep(50);
  if (!server.alive) {
    assert.fail(`${label}: the server died (${JSON.stringify(server.exit)}); stderr:\n${server.stderr.slice(logBefore)}`);
  }
  const logged = server.stderr.slice(logBefore);
  if (!anyStatus) {
    if (!logged.trim()) wrong.push('the refusal is not logged');
    if (tok) {
      const fails = metric(await server.metrics(), 'dorm_streamer_auth_failures_total');
      if (fails !== failsBefore + 1) wrong.push(`auth_failures_total went ${failsBefore} -> ${fails}`);
    }
  }
  if (typeof tok === 'string') {
    for (const part of tok.split('.')) {
      if (part.length >= 16 && server.stderr.includes(part)) wrong.push('a piece of the token is in the log');
    }
  }
  try {
    await accepted(server, good);
  } catch (e) {
    wrong.push(`a good token is not accepted afterwards: ${String(e.message).split('\n')[0]}`);
  }
  if (wrong.length) assert.fail(`${label}: ${wrong.join('; ')}`);
}

/**
 * Runs every attack (each refused(), see above) and fails once at the end
 * with the whole list of what went wrong, so one run shows every token that
 * got in, every refusal that was not a 401, every crash.
 */
async function suite(server, attacks, good, opts = {}) {
  const problems = [];
  for (const [label, tok] of attacks) {
    try {
      await refused(server, tok, good, { ...opts, label: opts.via === 'query' ? `${label} (query)` : label });
    } catch (e) {
      problems.push(String(e.message).split('\n')[0]);
      if (!server.alive) {
        problems.push(`the server died (${JSON.stringify(server.exit)}); the remaining attacks were not tried`);
        break;
      }
    }
  }
  assert.deepEqual(problems, [], `${problems.length} of ${attacks.length} attacks went wrong:\n${problems.join('\n')}`);
}

// ---------------------------------------------------------------- HS256 server

scenario('HS256 control: a good token is accepted (header and ?token=)', async () => {
  await accepted(hs, await token({ iss: ISS, aud: AUD }));
  await accepted(hs, await token({ iss: ISS, aud: AUD }), { via: 'query' });
  await accepted(hs, hmacToken({ alg: 'HS256', typ: 'JWT' }, claims({ aud: ['other', AUD] }), HS_SECRET));
  // leeway: expired 30 s ago is still inside the default 60 s
  await accepted(hs, hmacToken({ alg: 'HS256' }, claims({ exp: now() - 30 }), HS_SECRET));
});

const hsAttacks = () => {
  const good = claims();
  const valid = hmacToken({ alg: 'HS256', typ: 'JWT' }, good, HS_SECRET);
  const [vh, vp, vs] = valid.split('.');
  const flipped = (vs[0] === 'A' ? 'B' : 'A') + vs.slice(1);
  return [
    ['no token at all', undefined],
    ['empty bearer', ''],
    ['alg none, no signature', `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u(good)}.`],
    ['alg none, two segments', `${b64u({ alg: 'none' })}.${b64u(good)}`],
    ['alg none with a signature kept', `${b64u({ alg: 'none' })}.${b64u(good)}.${vs}`],
    ['alg None', `${b64u({ alg: 'None' })}.${b64u(good)}.`],
    ['alg NONE', `${b64u({ alg: 'NONE' })}.${b64u(good)}.`],
    ['no alg', hmacToken({ typ: 'JWT' }, good, HS_SECRET)],
    ['alg HS512 (not allow-listed)', hmacToken({ alg: 'HS512' }, good, HS_SECRET, 'sha512')],
    ['alg hs256 (wrong case)', hmacToken({ alg: 'hs256' }, good, HS_SECRET)],
    ['alg RS256 on an HMAC-signed token', hmacToken({ alg: 'RS256' }, good, HS_SECRET)],
    ['expired (an hour ago)', hmacToken({ alg: 'HS256' }, claims({ exp: now() - 3600 }), HS_SECRET)],
    ['expired beyond the 60 s leeway', hmacToken({ alg: 'HS256' }, claims({ exp: now() - 180 }), HS_SECRET)],
    ['exp not a number', hmacToken({ alg: 'HS256' }, claims({ exp: 'tomorrow' }), HS_SECRET)],
    ['not yet valid (nbf in an hour)', hmacToken({ alg: 'HS256' }, claims({ nbf: now() + 3600 }), HS_SECRET)],
    ['issued in the future (iat in an hour)', hmacToken({ alg: 'HS256' }, claims({ iat: now() + 3600 }), HS_SECRET)],
    ['wrong issuer', hmacToken({ alg: 'HS256' }, claims({ iss: 'https://evil.test' }), HS_SECRET)],
    ['issuer with a suffix', hmacToken({ alg: 'HS256' }, claims({ iss: `${ISS}.evil` }), HS_SECRET)],
    ['no issuer', hmacToken({ alg: 'HS256' }, claims({ iss: undefined }), HS_SECRET)],
    ['wrong audience', hmacToken({ alg: 'HS256' }, claims({ aud: 'other' }), HS_SECRET)],
    ['audience list without ours', hmacToken({ alg: 'HS256' }, claims({ aud: ['a', 'b'] }), HS_SECRET)],
    ['audience prefix', hmacToken({ alg: 'HS256' }, claims({ aud: 'dorm' }), HS_SECRET)],
    ['no audience', hmacToken({ alg: 'HS256' }, claims({ aud: undefined }), HS_SECRET)],
    ['no sub', hmacToken({ alg: 'HS256' }, claims({ sub: undefined }), HS_SECRET)],
    ['empty sub', hmacToken({ alg: 'HS256' }, claims({ sub: '' }), HS_SECRET)],
    ['sub not a string', hmacToken({ alg: 'HS256' }, claims({ sub: 42 }), HS_SECRET)],
    ['bad signature (another secret)', hmacToken({ alg: 'HS256' }, good, randomBytes(32).toString('hex'))],
    ['bad signature (a byte flipped)', `${vh}.${vp}.${flipped}`],
    ['truncated signature', `${vh}.${vp}.${vs.slice(0, 20)}`],
    ['signature of another payload', `${vh}.${b64u(claims())}.${vs}`],
    ['payload changed after signing', `${vh}.${b64u({ ...good, sub: 'admin' })}.${vs}`],
    ['empty signature', `${vh}.${vp}.`],
    ['malformed: one segment', 'abc'],
    ['malformed: two segments', `${vh}.${vp}`],
    ['malformed: four segments', `${valid}.${vs}`],
    ['malformed: dots only', '..'],
    ['malformed: header not base64url', `!!!.${vp}.${vs}`],
    ['malformed: header not JSON', `${b64u('hello')}.${vp}.${vs}`],
    ['malformed: header a JSON array', hmacToken(['HS256'], good, HS_SECRET)],
    ['malformed: payload not JSON', (() => { const i = `${vh}.${b64u('{"sub":')}`; return `${i}.${createHmac('sha256', HS_SECRET).update(i).digest('base64url')}`; })()],
    ['malformed: payload a JSON string', hmacToken({ alg: 'HS256' }, JSON.stringify('x'), HS_SECRET)],
    ['malformed: padding and spaces', `${vh}==.${vp}.${vs} `],
  ];
};

scenario('HS256: the attack suite is refused with 401 and the server keeps serving', async () => {
  const good = await token({ iss: ISS, aud: AUD });
  await suite(hs, hsAttacks(), good);
}, { timeoutMs: 120000 });

scenario('HS256: the same attacks through ?token= are refused', async () => {
  const good = await token({ iss: ISS, aud: AUD });
  await suite(hs, hsAttacks().filter(([, tok]) => tok), good, { via: 'query' });
}, { timeoutMs: 120000 });

/** A good HS256 token of about n bytes (a padding claim). */
function sized(n) {
  const base = claims();
  let pad = '';
  let t = hmacToken({ alg: 'HS256' }, { ...base, pad }, HS_SECRET);
  pad = 'p'.repeat(Math.floor(((n - t.length) * 3) / 4));
  t = hmacToken({ alg: 'HS256' }, { ...base, pad }, HS_SECRET);
  return t;
}

// Big tokens get a server of their own: a crash there leaves the others' tests meaningful.
let big;
const bigServer = async () => {
  if (!big || !big.alive) big = await startServer({ name: 'jwt-hs256 (big tokens)', args: ['--jwt-issuer', ISS, '--jwt-audience', AUD] });
  return big;
};

scenario('a 7,000-byte token (under the 8 KB limit) is accepted, in the header and as ?token=', async () => {
  const srv = await bigServer();
  const t7 = sized(7000);
  assert.ok(t7.length > 6900 && t7.length <= 7000, `${t7.length}`);
  await accepted(srv, t7);
  await accepted(srv, t7, { via: 'query' });
});

scenario('an oversized token (> 8 KB) is refused and the server goes on', async () => {
  const good = await token({ iss: ISS, aud: AUD });
  const bigs = [8300, 20000, 100000].map((n) => [`a ${n}-byte token`, sized(n)]);
  for (const [, t] of bigs) assert.ok(t.length > 8192);
  const errs = [];
  for (const via of ['header', 'query']) {
    try {
      await suite(await bigServer(), bigs, good, { anyStatus: true, via });
    } catch (e) {
      errs.push(`${via}: ${e.message}`);
    }
  }
  assert.deepEqual(errs, []);
});

scenario('the identity is the token\'s: a message naming another user or tenant changes nothing', async () => {
  const ownerSub = uniq('owner');
  const owner = await connect(hs, await token({ sub: ownerSub, iss: ISS, aud: AUD }));
  const rid = uniq('owned');
  owner.send({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1 } });
  checkReportComplete(await owner.terminal(rid), 2);
  const thief = await connect(hs, await token({ scopes: [], iss: ISS, aud: AUD }));
  for (const action of ['status', 'get_result', 'resume']) {
    const e = await thief.call({ id: rid, action, last_seq: 0, sub: ownerSub, user: ownerSub, tenant_id: 't1', scope: 'reports:write' });
    assert.equal(e.type, 'error', JSON.stringify(e));
    assert.equal(e.error.code, 'NOT_FOUND');
  }
  const f = await thief.call({ id: uniq('x'), action: 'GenerateReport', payload: { rows: 1, stepMs: 1 }, scope: 'reports:write', scopes: ['reports:write'] });
  assert.equal(f.error?.code, 'FORBIDDEN', JSON.stringify(f));
  await owner.close();
  await thief.close();
});

// ---------------------------------------------------------------- RSA PEM server

scenario('RSA public key: RS256 accepted; HS/RS confusion, other keys, none, ES256 refused', async () => {
  const good = await signAsym('RS256', rsa.privateKey, claims({ iss: undefined, aud: undefined }));
  await accepted(rs, good);
  const c = claims({ iss: undefined, aud: undefined });
  const attacks = [
    ['HS256 signed with the PEM public key (HS/RS confusion)', hmacToken({ alg: 'HS256' }, c, RSA_PEM)],
    ['HS256 signed with the PEM without its newline', hmacToken({ alg: 'HS256' }, c, RSA_PEM.trim())],
    ['HS256 signed with the DER public key', hmacToken({ alg: 'HS256' }, c, rsa.publicKey.export({ type: 'spki', format: 'der' }))],
    ['RS256 signed by another RSA key', await signAsym('RS256', rsaOther.privateKey, c)],
    ['ES256 (the key is RSA)', await signAsym('ES256', ec.privateKey, c)],
    ['alg none', `${b64u({ alg: 'none' })}.${b64u(c)}.`],
    ['RS256 expired', await signAsym('RS256', rsa.privateKey, { ...c, exp: now() - 3600 })],
    ['RS256 not yet valid', await signAsym('RS256', rsa.privateKey, { ...c, nbf: now() + 3600 })],
    ['RS256 with the payload changed', (() => { const [h, , s] = good.split('.'); return `${h}.${b64u({ ...c, sub: 'admin' })}.${s}`; })()],
    ['RS512 signature (not allow-listed)', (() => {
      const i = `${b64u({ alg: 'RS512' })}.${b64u(c)}`;
      return `${i}.${createSign('sha512').update(i).sign(rsa.privateKey).toString('base64url')}`;
    })()],
    ['RS256 header, PKCS#1 signature over SHA-512', (() => {
      const i = `${b64u({ alg: 'RS256' })}.${b64u(c)}`;
      return `${i}.${createSign('sha512').update(i).sign(rsa.privateKey).toString('base64url')}`;
    })()],
  ];
  await suite(rs, attacks, good);
});

// ---------------------------------------------------------------- EC PEM server

scenario('EC P-256 public key: ES256 accepted; DER signatures, other keys, RS256, HS/EC confusion refused', async () => {
  const pem = workFile('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }));
  const es = await startServer({ name: 'jwt-ec-pem', auth: false, args: ['--jwt-public-key-file', pem] });
  const c = claims({ iss: undefined, aud: undefined });
  const good = await signAsym('ES256', ec.privateKey, c);
  await accepted(es, good);
  const der = (() => {
    const i = `${b64u({ alg: 'ES256' })}.${b64u(c)}`;
    return `${i}.${createSign('sha256').update(i).sign({ key: ec.privateKey, dsaEncoding: 'der' }).toString('base64url')}`;
  })();
  const attacks = [
    ['ES256 signed by another EC key', await signAsym('ES256', ecOther.privateKey, c)],
    ['ES256 with a DER signature (JWS wants r||s)', der],
    ['RS256 (the key is EC)', await signAsym('RS256', rsa.privateKey, c)],
    ['HS256 keyed with the EC PEM', hmacToken({ alg: 'HS256' }, c, readFileSync(pem))],
    ['ES256 with an all-zero signature', `${good.split('.').slice(0, 2).join('.')}.${Buffer.alloc(64).toString('base64url')}`],
    ['ES256 with the payload changed', (() => { const [h, , sig] = good.split('.'); return `${h}.${b64u({ ...c, sub: 'admin' })}.${sig}`; })()],
    ['alg none', `${b64u({ alg: 'none' })}.${b64u(c)}.`],
  ];
  await suite(es, attacks, good);
  assert.deepEqual(await stopServers([es]), []);
});

// ---------------------------------------------------------------- JWKS server

scenario('JWKS: the kid picks the key; an unknown kid, a key of the wrong type or a foreign signature is refused', async () => {
  const c = claims({ iss: undefined, aud: undefined });
  const good = await signAsym('RS256', rsa.privateKey, c, { kid: 'k-rsa' });
  await accepted(jw, good);
  await accepted(jw, await signAsym('ES256', ec.privateKey, claims({ iss: undefined, aud: undefined }), { kid: 'k-ec' }));
  const attacks = [
    ['unknown kid', await signAsym('RS256', rsa.privateKey, c, { kid: 'k-unknown' })],
    ['unknown kid, signed by a foreign key', await signAsym('RS256', rsaOther.privateKey, c, { kid: 'attacker' })],
    ['kid of the RSA key, ES256 signature', await signAsym('ES256', ec.privateKey, c, { kid: 'k-rsa' })],
    ['kid of the EC key, RS256 signature', await signAsym('RS256', rsa.privateKey, c, { kid: 'k-ec' })],
    ['kid of the RSA key, signed by another RSA key', await signAsym('RS256', rsaOther.privateKey, c, { kid: 'k-rsa' })],
    ['kid of the EC key, signed by another EC key', await signAsym('ES256', ecOther.privateKey, c, { kid: 'k-ec' })],
    ['HS256 with the RSA kid, keyed with the PEM', hmacToken({ alg: 'HS256', kid: 'k-rsa' }, c, RSA_PEM)],
    ['HS256 with the RSA kid, keyed with the modulus', hmacToken({ alg: 'HS256', kid: 'k-rsa' }, c, rsa.publicKey.export({ format: 'jwk' }).n)],
    ['alg none with a known kid', `${b64u({ alg: 'none', kid: 'k-rsa' })}.${b64u(c)}.`],
    ['kid not a string', await signAsym('RS256', rsa.privateKey, c, { kid: 7 })],
    ['kid path traversal', await signAsym('RS256', rsa.privateKey, c, { kid: '../../etc/passwd' })],
    ['expired, good kid', await signAsym('ES256', ec.privateKey, { ...c, exp: now() - 3600 }, { kid: 'k-ec' })],
  ];
  await suite(jw, attacks, good);
});

scenario('--dev-token: signed as the server reads the secret file (one trailing newline less), with the scopes of every endpoint served', async () => {
  // a secret file ending in two newlines: the verifier drops one, the token
  // must be signed with the same bytes (it dropped both: 401)
  const file = workFile('dev-two-newlines.secret', HS_SECRET + '\n\n');
  const dev = await startServer({ name: 'jwt-dev-token', auth: false, args: ['--jwt-hs256-secret-file', file] });
  try {
    const tok = execFileSync(demoPath(), ['--jwt-hs256-secret-file', file, '--dev-token', uniq('dev')]).toString().trim();
    const claims = JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString());
    assert.equal(claims.scope, 'reports:write', 'the scopes the example\'s endpoints require (report.dorm)');
    const c = await connect(dev, tok);
    const rid = uniq('devtok');
    c.send({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1 } });
    checkReportComplete(await c.terminal(rid), 2);
    await c.close();
  } finally {
    assert.deepEqual(await stopServers([dev]), []);
  }
});

scenario('without --create-tables and without the tables, the server says so at start, still answers sync calls, and refuses async ones', async () => {
  // DynamoDB Local keeps a database per key and region: this region has no
  // tables. Starting must not depend on them (the example's flags are a
  // contract; a deployment may create its tables after its servers).
  const nt = await startServer({ name: 'no-tables', createTables: false, env: { AWS_REGION: 'ap-south-2' } });
  try {
    for (const t of ['connections', 'requests', 'messages'])
      assert.match(nt.stderr, new RegExp(`warning: the streamer's table dorm_streamer_${t} does not exist: async endpoints fail until it does; start with --create-tables`));
    const c = await connect(nt, await token());
    const echo = await c.call({ id: uniq('nt-echo'), action: 'Echo', payload: { text: 'still here' } });
    assert.equal(echo.type, 'response', JSON.stringify(echo));
    assert.deepEqual(echo.result, { text: 'still here' });
    const rid = uniq('nt-async');
    const refused = await c.call({ id: rid, action: 'GenerateReport', payload: { rows: 2, stepMs: 1 } });
    assert.equal(refused.type, 'error', JSON.stringify(refused));
    assert.equal(refused.error.code, 'INTERNAL');
    assert.equal(refused.error.retryable, true, 'the same call may succeed once the tables exist');
    assert.match(refused.error.message, /non-existent table|does not exist/, JSON.stringify(refused));
    await c.close();
  } finally {
    assert.deepEqual(await stopServers([nt]), []);
  }
});

scenario('after the attacks every server still serves jobs; clean SIGTERM shutdown', async () => {
  const c = await connect(hs, await token({ iss: ISS, aud: AUD }));
  const rid = uniq('after');
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 3, stepMs: 1 } });
  checkReportComplete(await c.terminal(rid), 3);
  await c.close();
  for (const s of [hs, rs, jw]) {
    const h = await s.get('/healthz');
    assert.equal(h.status, 200);
  }
  assert.deepEqual(await stopServers([hs, rs, jw, ...(big ? [big] : [])]), []);
});
