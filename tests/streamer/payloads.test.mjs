// Payload values arrive as the client wrote them, or are refused: never
// changed on the way (docs/streamer.md, "Payload values"). cJSON reads
// numbers as doubles and ends strings at a NUL, and its printer rounds: an
// int past 2^53-1 was taken rounded, "a\u0000b" ran as "a", and the payload
// stored for a job (which the job runs from) lost digits (0.30000000000000004
// became 0.3, 9007199254740991 9007199254740990).
import {
  assert, checkError, checkStream, connect, scenario, startServer, stopServers, testdPath, token, uniq,
} from './harness.mjs';
import { ddb } from './lambda-emulators.mjs';
import { after, before } from 'node:test';

let srv;
before(async () => { srv = await startServer({ name: 'streamer-testd', bin: testdPath() }); });
after(async () => {
  const problems = await stopServers();
  assert.deepEqual(problems, []);
});

const PAST = 'expected an integer from -9007199254740991 to 9007199254740991 (2^53-1): JSON numbers past them are not read exactly';

scenario('an int past 2^53-1 is refused INVALID_PAYLOAD naming the field, never taken rounded', async () => {
  const c = await connect(srv, await token());
  for (const n of ['9007199254740993', '9007199254740992', '-9007199254740992', '9223372036854775807', '1e19']) {
    const rid = uniq('big');
    const m = await c.call(`{"id":"${rid}","action":"Numbers","payload":{"n":${n},"x":1,"doc":1}}`);
    checkError(m, 'INVALID_PAYLOAD', rid);
    assert.equal(m.error.message, `payload.n: ${PAST}`, `n = ${n}: ${JSON.stringify(m)}`);
    assert.equal(m.seq, undefined, 'refused before anything was stored: no seq');
  }
  await c.close();
});

scenario('a string holding \\u0000 is refused INVALID_PAYLOAD (it ran cut at the NUL); an escaped backslash before u0000 is text', async () => {
  const c = await connect(srv, await token());
  for (const text of ['a\u0000b', '\u0000', 'x\u0000']) {
    const rid = uniq('nul');
    const m = await c.call({ id: rid, action: 'SlowEcho', payload: { text, ms: 0 } });
    checkError(m, 'INVALID_PAYLOAD', rid);
    assert.match(m.error.message, /\\u0000 \(NUL\)/, JSON.stringify(m));
    assert.equal(m.seq, undefined);
  }
  // inside a json value, and in a member name
  const rid = uniq('nul');
  const j = await c.call(`{"id":"${rid}","action":"Numbers","payload":{"n":1,"x":1,"doc":{"k\\u0000":"v"}}}`);
  checkError(j, 'INVALID_PAYLOAD', rid);
  for (const text of ['a\\u0000b', '\\\\u0000', 'ok\u0001\u001f']) {
    const r = await c.call({ id: uniq('text'), action: 'SlowEcho', payload: { text, ms: 0 } });
    assert.equal(r.type, 'response', JSON.stringify(r));
    assert.equal(r.result.text, text);
  }
  await c.close();
});

scenario('a job runs from its stored payload with every digit: ints to 2^53-1, floats to the last bit, numbers in a json value', async () => {
  const sub = uniq('digits');
  const c = await connect(srv, await token({ sub }));
  const rid = uniq('num');
  const doc = { big: 9007199254740991, neg: -9007199254740991, f: 0.30000000000000004, tiny: 5e-324, huge: 1.7976931348623157e308, list: [0.1, 2.5e-7, 123456789012345680000] };
  c.send({ id: rid, action: 'Numbers', payload: { n: 9007199254740991, x: 0.30000000000000004, doc } });
  const fin = await c.waitFor((m) => m.request_id === rid && (m.type === 'complete' || m.type === 'error'), { timeoutMs: 30000 });
  checkStream(c.of(rid), { rowsIncrease: false });
  assert.equal(fin.type, 'complete', JSON.stringify(fin));
  assert.equal(fin.result.n, 9007199254740991);
  assert.equal(fin.result.x, 0.30000000000000004);
  assert.deepEqual(fin.result.doc, doc);
  // the stored request item (a second channel: DynamoDB itself)
  const item = (await ddb('DynamoDB_20120810.GetItem', {
    TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } }, ConsistentRead: true,
  })).Item;
  const stored = JSON.parse(item.payload.S);
  assert.equal(stored.n, 9007199254740991, item.payload.S);
  assert.equal(stored.x, 0.30000000000000004, item.payload.S);
  assert.deepEqual(stored.doc, doc, item.payload.S);
  // get_result answers the same
  const again = await c.call({ id: rid, action: 'get_result' });
  assert.deepEqual(again.result, fin.result);
  await c.close();
});

scenario('numbers in a json value keep every digit past a double: in the job, the stored payload and the result text', async () => {
  const sub = uniq('exact');
  const c = await connect(srv, await token({ sub }));
  const rid = uniq('exact');
  // JSON.parse would round these: the frames' text and the stored text are compared
  const digits = ['9007199254740993', '123456789012345678901234567890', '0.1000000000000000000001'];
  c.send(`{"id":"${rid}","action":"Numbers","payload":{"n":1,"x":1,"doc":{"big":${digits[0]},"id":${digits[1]},"dec":${digits[2]}}}}`);
  const fin = await c.waitFor((m) => m.request_id === rid && (m.type === 'complete' || m.type === 'error'), { timeoutMs: 30000 });
  assert.equal(fin.type, 'complete', JSON.stringify(fin));
  const frame = c.raw.find((t) => t.includes(`"request_id":"${rid}"`) && t.includes('"type":"complete"'));
  const item = (await ddb('DynamoDB_20120810.GetItem', {
    TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } }, ConsistentRead: true,
  })).Item;
  // laid out as JavaScript lays out a number of its size (docs/models.md "Types"), every digit kept
  const laidOut = ['9007199254740993', '1.2345678901234567890123456789e+29', '0.1000000000000000000001'];
  for (const d of laidOut) {
    assert.ok(frame.includes(d), `complete lacks ${d}: ${frame}`);
    assert.ok(item.payload.S.includes(d), `stored payload lacks ${d}: ${item.payload.S}`);
  }
  const over = await c.call(`{"id":"${uniq('inf')}","action":"Numbers","payload":{"n":1,"x":1,"doc":[1e400]}}`);
  assert.equal(over.error?.code, 'INVALID_PAYLOAD', JSON.stringify(over));
  await c.close();
});

scenario('a stored PENDING request the processor cannot read is logged bad_stream_record with the reason (it ran nothing and said nothing)', async () => {
  const sub = uniq('odd');
  const rid = uniq('odd');
  // a bad write (or another runtime's item): attempts is text
  await ddb('DynamoDB_20120810.PutItem', {
    TableName: 'dorm_streamer_requests',
    Item: { PK: { S: `${sub}#${rid}` }, sub: { S: sub }, clientId: { S: rid }, status: { S: 'PENDING' }, attempts: { S: 'x' } },
  });
  const deadline = Date.now() + 20000;
  const logged = () => srv.logLines().some((l) => l.event === 'bad_stream_record' && /PENDING request the processor cannot read/.test(l.message) && l.message.includes('attempts'));
  while (!logged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(logged(), `no bad_stream_record naming attempts: ${JSON.stringify(srv.logLines().filter((l) => l.level === 'error'))}`);
  await ddb('DynamoDB_20120810.DeleteItem', { TableName: 'dorm_streamer_requests', Key: { PK: { S: `${sub}#${rid}` } } });
});

scenario('a result int past 2^53-1 fails the job HANDLER_FAILED naming the field (it was sent exact live and rounded by get_result)', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('over');
  c.send({ id: rid, action: 'Numbers', payload: { n: 9007199254740991, add: 2, x: 0, doc: 1 } });
  const fin = await c.waitFor((m) => m.request_id === rid && (m.type === 'complete' || m.type === 'error'), { timeoutMs: 30000 });
  checkError(fin, 'HANDLER_FAILED', rid);
  assert.match(fin.error.message, /n: 9007199254740993 is past -9007199254740991\.\.9007199254740991 \(2\^53-1\)/, JSON.stringify(fin));
  await c.close();
});

scenario('a payload naming a member twice is refused INVALID_PAYLOAD, sync or async (a job was answered INTERNAL, retryable, for ever)', async () => {
  const c = await connect(srv, await token());
  const cases = [
    ['Numbers', '{"n":1,"n":2,"x":1,"doc":1}', 'n'],
    ['Numbers', '{"n":1,"x":1,"doc":{"a":{"k":1,"k":1}}}', 'k'],
    ['Numbers', '{"n":1,"x":1,"doc":[{"z":1}, {"z":1,"y":2,"z":3}]}', 'z'],
    ['SlowEcho', '{"text":"a","ms":0,"text":"b"}', 'text'],
    // past the sorted path's threshold: 40 members, the twice-named one last
    ['SlowEcho', `{"text":"a","ms":0,${Array.from({ length: 40 }, (_, i) => `"m${i}":0`).join(',')},"m7":1}`, 'm7'],
  ];
  for (const [action, payload, name] of cases) {
    const rid = uniq('twice');
    const m = await c.call(`{"id":"${rid}","action":"${action}","payload":${payload}}`);
    checkError(m, 'INVALID_PAYLOAD', rid);
    assert.equal(m.error.message, `payload: an object names the member "${name}" twice`, JSON.stringify(m));
    assert.equal(m.error.retryable, false);
  }
  // the same names in different objects are fine
  const ok = await c.call({ id: uniq('ok'), action: 'SlowEcho', payload: { text: 'a', ms: 0, o: { text: 1, p: { text: 2 } } } });
  assert.equal(ok.type, 'response', JSON.stringify(ok));
  await c.close();
});

scenario('a required json field takes null, a JSON value like any other (it was refused "required"), and a job returns it', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('null');
  c.send({ id: rid, action: 'Nest', payload: { value: null } });
  const fin = await c.waitFor((m) => m.request_id === rid && (m.type === 'complete' || m.type === 'error'), { timeoutMs: 30000 });
  assert.equal(fin.type, 'complete', JSON.stringify(fin));
  assert.ok('value' in fin.result && fin.result.value === null, JSON.stringify(fin));
  const missing = await c.call({ id: uniq('none'), action: 'Nest', payload: {} });
  checkError(missing, 'INVALID_PAYLOAD');
  assert.equal(missing.error.message, 'payload.value: required');
  await c.close();
});

scenario('an id used for one endpoint is refused DUPLICATE_REQUEST for another; a json payload differing past a double\'s precision is another payload', async () => {
  const c = await connect(srv, await token());
  const rid = uniq('reuse-ep');
  // raw text: JSON.stringify cannot write 9007199254740993 (it is one double with ...992)
  const nest = (n) => `{"id":"${rid}","action":"Nest","payload":{"value":{"n":${n}}}}`;
  const answer = async (text) => {
    const from = c.messages.length;
    c.send(text);
    return c.waitFor((m) => m.request_id === rid && ['complete', 'error'].includes(m.type), { from, timeoutMs: 30000 });
  };
  const fin = await answer(nest('9007199254740993'));
  assert.equal(fin.type, 'complete', c.dump());
  const other = await c.call({ id: rid, action: 'Numbers', payload: { n: 1, x: 1, doc: 1 } });
  assert.equal(other.type, 'error', c.dump());
  assert.equal(other.error.code, 'DUPLICATE_REQUEST');
  assert.match(other.error.message, /another endpoint/);
  const near = await answer(nest('9007199254740992'));
  assert.equal(near.type, 'error', `only the text tells ...992 from ...993: ${c.dump()}`);
  assert.match(near.error.message, /another payload/);
  const same = await answer(nest('9007199254740993'));
  assert.equal(same.type, 'complete', `the same payload again is a retry: ${c.dump()}`);
  await c.close();
});
