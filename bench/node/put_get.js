#!/usr/bin/env node
// The AWS SDK for JavaScript v3 doing what dorm's put/get benchmark does:
// sequential PutItem and GetItem of the benchmark item (bench/item.json) on one
// client with the SDK's defaults (keep-alive agent, standard retries).
// Each put marshalls the native item; each get unmarshalls the answer, as an
// application would. Prints, like dorm-bench-replay:
//   node-sdk put: N ops/s, client cpu X us/op, n=N
//   node-sdk get: ...
'use strict';

const { DynamoDBClient, CreateTableCommand, PutItemCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const { marshall, unmarshall } = require('@aws-sdk/util-dynamodb');
const { loadItem, parseArgs, cpuSeconds, report, fail } = require('./common');

const USAGE = 'usage: node put_get.js --endpoint http://HOST:PORT [--n N] [--warmup N] [--table NAME]';

async function ensureTable(client, table, keyNames, ddbItem) {
  const AttributeDefinitions = keyNames.map((k) => ({ AttributeName: k, AttributeType: Object.keys(ddbItem[k])[0] }));
  const KeySchema = keyNames.map((k, i) => ({ AttributeName: k, KeyType: i === 0 ? 'HASH' : 'RANGE' }));
  try {
    await client.send(new CreateTableCommand({ TableName: table, AttributeDefinitions, KeySchema, BillingMode: 'PAY_PER_REQUEST' }));
  } catch (e) {
    if (e.name !== 'ResourceInUseException') throw e;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { endpoint: process.env.DORM_TEST_ENDPOINT || '', n: 5000, warmup: 0, table: '' });
  if (!args) {
    console.log(USAGE);
    return;
  }
  if (!args.endpoint) throw new Error(`no endpoint: pass --endpoint or set DORM_TEST_ENDPOINT\n${USAGE}`);
  const { table: defTable, keyNames, ddbItem, native } = loadItem();
  const table = args.table || defTable;
  const warmup = args.warmup > 0 ? args.warmup : Math.min(Math.floor(args.n / 10), 1000);
  const client = new DynamoDBClient({
    endpoint: args.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  });
  await ensureTable(client, table, keyNames, ddbItem);

  const key = marshall(Object.fromEntries(keyNames.map((k) => [k, native[k]])));
  const put = () => client.send(new PutItemCommand({ TableName: table, Item: marshall(native) }));
  const get = async () => {
    const out = await client.send(new GetItemCommand({ TableName: table, Key: key }));
    if (!out.Item) throw new Error('GetItem found no item');
    return unmarshall(out.Item);
  };

  await put();
  const back = await get();
  if (back.total !== native.total || back.lines.length !== native.lines.length || !(back.tags instanceof Set)) {
    throw new Error('GetItem returned a different item');
  }

  for (const [what, op] of [['put', put], ['get', get]]) {
    for (let i = 0; i < warmup; i++) await op();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < args.n; i++) await op();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    report('node-sdk', what, args.n, wall, cpuSeconds(cpu0));
  }
  client.destroy();
}

main().catch((e) => fail('put_get.js', e));
