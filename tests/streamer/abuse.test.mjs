// End to end against streamer-demo: a hostile or careless client that keeps
// at it (docs/streamer.md, "Limits"): what one user can make a server hold
// and do stays bounded, and other users are served meanwhile.
// (bench/streamer/abuse.sh measures the same over minutes.)
import {
  assert, checkError, connect, metric, scenario, startServer, stopServers, token, uniq,
} from './harness.mjs';
import { after } from 'node:test';

after(async () => {
  const problems = await stopServers();
  assert.deepEqual(problems, []);
});

const slow = { rows: 50, stepMs: 200 }; // ten seconds unless cancelled

scenario('one user has at most --max-user-requests async requests queued or running; past it RATE_LIMITED, others are served', async () => {
  const srv = await startServer({ name: 'abuse-user-bound', args: ['--workers', '2', '--max-user-requests', '3'] });
  const sub = uniq('hog');
  const hog = await connect(srv, await token({ sub }));
  const ids = [uniq('h'), uniq('h'), uniq('h')];
  for (const id of ids) {
    const a = await hog.call({ id, action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === id });
    assert.equal(a.type, 'ack', hog.dump(5));
  }
  // the fourth new id: refused, retryable, nothing stored for it
  const extra = uniq('h');
  const refused = await hog.call({ id: extra, action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === extra });
  checkError(refused, 'RATE_LIMITED', extra);
  assert.equal(refused.error.retryable, true);
  assert.equal(refused.seq, undefined, 'a refusal before anything was stored has no seq');
  assert.match(refused.error.message, /3 requests of yours/);
  const nf = await hog.call({ id: extra, action: 'get_result' });
  checkError(nf, 'NOT_FOUND', extra);
  // an id that exists is not new: its state, as always (a retry after a lost connection)
  const again = await hog.call({ id: ids[0], action: 'GenerateReport', payload: slow }, { pred: (m) => m.request_id === ids[0] && m.type !== 'progress' && m.type !== 'ack' });
  assert.equal(again.type, 'status', hog.dump(5));
  // the same user on another connection is the same user
  const hog2 = await connect(srv, await token({ sub }));
  const extra2 = uniq('h');
  checkError(await hog2.call({ id: extra2, action: 'GenerateReport', payload: slow }), 'RATE_LIMITED', extra2);
  await hog2.close();
  // another user is served
  const other = await connect(srv, await token({ sub: uniq('other') }));
  const oid = uniq('o');
  const oack = await other.call({ id: oid, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } }, { pred: (m) => m.request_id === oid });
  assert.equal(oack.type, 'ack', other.dump(5));
  // what the operator sees
  assert.ok(srv.logLines().some((l) => l.event === 'user_requests_limited' && l.request_id === extra), 'user_requests_limited logged');
  assert.ok(metric(await srv.metrics(), 'dorm_streamer_limited_total', { limit: 'user_requests' }) >= 1);
  // once the user's requests end, new ones are taken again
  for (const id of ids) hog.send({ id, action: 'cancel' });
  for (const id of ids) await hog.terminal(id, { timeoutMs: 30000 });
  const later = uniq('h');
  const ok = await hog.call({ id: later, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } }, { pred: (m) => m.request_id === later });
  assert.equal(ok.type, 'ack', hog.dump(5));
  const fin = await hog.terminal(later);
  assert.equal(fin.type, 'complete', hog.dump(5));
});
