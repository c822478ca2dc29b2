#!/usr/bin/env node
// The AWS SDK for JavaScript v3 doing what libdorm's bulk benchmark
// (bench/bulk_bench.c) does: N copies of the benchmark item (bench/item.json),
// pk "BULK#<8 digits>", written with BatchWriteItem, 25 items a request, with
// --concurrency requests in flight (default 16) on one DynamoDBClient (its
// keep-alive agent), UnprocessedItems resent after a backoff. The items are
// built before the clock starts, in DynamoDB JSON (AttributeValue objects),
// so the SDK does no marshalling that libdorm's side does not do either.
// Prints, like dorm-bench-replay:
//   node-sdk bulk-write: N items/s, client cpu X us/item, n=N
// N: --n, or $DORM_BULK_N, default 100000.
'use strict';

const { DynamoDBClient, CreateTableCommand, BatchWriteItemCommand } = require('@aws-sdk/client-dynamodb');
const { loadItem, parseArgs, cpuSeconds, fail } = require('./common');

const USAGE = 'usage: node bulk_write.js --endpoint http://HOST:PORT [--n N] [--concurrency C] [--table NAME]';
const CHUNK = 25;

async function ensureTable(client, table, keyNames, ddbItem) {
  const AttributeDefinitions = keyNames.map((k) => ({ AttributeName: k, AttributeType: Object.keys(ddbItem[k])[0] }));
  const KeySchema = keyNames.map((k, i) => ({ AttributeName: k, KeyType: i === 0 ? 'HASH' : 'RANGE' }));
  try {
    await client.send(new CreateTableCommand({ TableName: table, AttributeDefinitions, KeySchema, BillingMode: 'PAY_PER_REQUEST' }));
  } catch (e) {
    if (e.name !== 'ResourceInUseException') throw e;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const envN = Number(process.env.DORM_BULK_N || 100000);
  const args = parseArgs(process.argv.slice(2), {
    endpoint: process.env.DORM_TEST_ENDPOINT || '',
    n: Number.isInteger(envN) && envN >= 1 ? envN : 100000,
    concurrency: 16,
    table: 'dorm_bench_bulk',
  });
  if (!args) {
    console.log(USAGE);
    return;
  }
  if (!args.endpoint) throw new Error(`no endpoint: pass --endpoint or set DORM_TEST_ENDPOINT\n${USAGE}`);
  const { keyNames, ddbItem } = loadItem();
  const client = new DynamoDBClient({
    endpoint: args.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  });
  await ensureTable(client, args.table, keyNames, ddbItem);

  const hk = keyNames[0];
  const requests = [];
  for (let i = 0; i < args.n; i++) {
    requests.push({ PutRequest: { Item: { ...ddbItem, [hk]: { S: `BULK#${String(i).padStart(8, '0')}` } } } });
  }
  const chunks = [];
  for (let i = 0; i < requests.length; i += CHUNK) chunks.push(requests.slice(i, i + CHUNK));

  let next = 0;
  let retries = 0;
  async function worker() {
    while (next < chunks.length) {
      let items = chunks[next++];
      for (let round = 1; items.length > 0; round++) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [args.table]: items } }));
        items = (out.UnprocessedItems && out.UnprocessedItems[args.table]) || [];
        if (items.length > 0) {
          if (round >= 8) throw new Error(`${items.length} writes still unprocessed after ${round} rounds`);
          retries++;
          await sleep(Math.random() * Math.min(20000, 1000 * 2 ** (round - 1)));
        }
      }
    }
  }

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: args.concurrency }, worker));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(cpu0);
  console.log(`node-sdk bulk-write: ${Math.round(args.n / wall)} items/s, client cpu ${((cpu / args.n) * 1e6).toFixed(2)} us/item, n=${args.n}`);
  if (retries) console.error(`bulk_write.js: ${retries} rounds of UnprocessedItems during the timed run`);
  client.destroy();
}

main().catch((e) => fail('bulk_write.js', e));
