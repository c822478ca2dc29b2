// A first start on a fresh DynamoDB Local (docs/streamer.md "Running it"):
// `streamer-demo --create-tables` makes the tables and their stream, and
// DynamoDB Local refuses the LATEST iterator taken on that brand-new stream
// (TrimmedDataAccessException) at the first record written. The processor
// renews it at TRIM_HORIZON and reads again at once (info
// stream_iterator_renewed), so the first job is found through the stream in
// one poll. Without the renewal the shard was dropped until the re-describe
// 5 s later (warn stream_read_failed) and the first job waited for it or
// for the sweep.
//
// This file starts its own DynamoDB Local (tests/harness/ddb-local.sh): the
// fixture's has held the streamer's tables since an earlier test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import {
  assert, checkReportComplete, connect, scenario, sleep, startServer, stopServers, token, uniq,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ddbScript = join(here, '..', 'harness', 'ddb-local.sh');
const state = mkdtempSync(join(tmpdir(), 'dorm-fresh-ddb-'));
after(() => {
  try { execFileSync(ddbScript, ['stop', state], { stdio: 'ignore' }); } catch { /* already gone */ }
  rmSync(state, { recursive: true, force: true });
});

// The processor reads the stream every POLL_MS; its sweep looks at each of
// the 4 shards of the live index every 10 * POLL_MS. Through the renewed
// iterator (read again at once) the job is found at the first poll after it
// was stored, well under the sweep's 10 s. (Without the renewal it could still be
// found early by the re-describe, every 5 s: the log lines are what tells.)
const POLL_MS = 1000;
const BOUND_MS = 5000;

scenario('a fresh DynamoDB Local: the refused LATEST iterator is renewed and the first job is found through the stream', async () => {
  execFileSync(ddbScript, ['start', state], { stdio: 'ignore', timeout: 120000 });
  const ddb = readFileSync(join(state, 'endpoint'), 'utf8').trim();
  // the processor first: it takes its LATEST iterator on the new stream
  // before any request is stored; the client's server runs no jobs, so the
  // job is found through the stream (or the sweep), never handed over locally
  const proc = await startServer({ name: 'fresh processor', ddb, args: ['--poll-ms', String(POLL_MS)] });
  const front = await startServer({ name: 'fresh front (--no-processor)', ddb, args: ['--no-processor'] });
  const c = await connect(front, await token());
  const rid = uniq('fresh');
  const t0 = Date.now();
  c.send({ id: rid, action: 'GenerateReport', payload: { rows: 1, stepMs: 1 } });
  checkReportComplete(await c.terminal(rid, { timeoutMs: 30000 }), 1);
  const took = Date.now() - t0;
  console.log(`the first job took ${took} ms (POLL_MS ${POLL_MS})`);
  await c.close();
  await sleep(300); // stderr is read apart from the socket: the last log lines
  const logs = proc.logLines();
  const renewed = logs.filter((l) => l.event === 'stream_iterator_renewed');
  assert.ok(renewed.length >= 1, `stream_iterator_renewed logged:\n${proc.describe()}`);
  assert.match(renewed[0].message, /TrimmedDataAccessException|ExpiredIteratorException/);
  assert.deepEqual(logs.filter((l) => l.event === 'stream_read_failed'), [], 'no stream_read_failed');
  assert.ok(logs.some((l) => l.event === 'started' && l.request_id === rid), `the processor ran the job:\n${proc.describe()}`);
  assert.ok(took < BOUND_MS, `the first job took ${took} ms: found later than the stream would (by the sweep?)`);
  assert.deepEqual(await stopServers([front, proc]), []);
}, { timeoutMs: 180000 });
