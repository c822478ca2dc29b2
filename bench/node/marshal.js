#!/usr/bin/env node
// Marshalling cost of the AWS SDK for JavaScript v3 on the benchmark item
// (bench/item.json), without any I/O:
//   marshal:   marshall(item) + JSON.stringify of the PutItem request
//   unmarshal: JSON.parse of a GetItem response + unmarshall(Item)
// Prints "node marshal: N items/s, M MB/s, client cpu X us/op, n=N" (MB of JSON).
'use strict';

const { marshall, unmarshall } = require('@aws-sdk/util-dynamodb');
const { loadItem, parseArgs, cpuSeconds, fail } = require('./common');

// bytesPerOp: the JSON bytes one call produces or consumes.
function bench(what, n, bytesPerOp, fn) {
  const warm = Math.min(Math.floor(n / 10), 10000);
  for (let i = 0; i < warm; i++) fn();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(cpu0);
  console.log(`node ${what}: ${Math.round(n / wall)} items/s, ${((n * bytesPerOp) / 1e6 / wall).toFixed(1)} MB/s, client cpu ${((cpu / n) * 1e6).toFixed(2)} us/op, n=${n}`);
}

function main() {
  const args = parseArgs(process.argv.slice(2), { n: 100000 });
  if (!args) {
    console.log('usage: node marshal.js [--n N]');
    return;
  }
  const { table, native } = loadItem();
  // The GetItem response as DynamoDB sends it: the item in DynamoDB JSON.
  const response = JSON.stringify({ Item: marshall(native) });
  const putBytes = Buffer.byteLength(JSON.stringify({ TableName: table, Item: marshall(native) }));
  let sink = 0;
  bench('marshal', args.n, putBytes, () => {
    sink += JSON.stringify({ TableName: table, Item: marshall(native) }).length & 1;
  });
  bench('unmarshal', args.n, Buffer.byteLength(response), () => {
    sink += unmarshall(JSON.parse(response).Item).lines.length;
  });
  if (sink < 0) console.log(sink); // keeps the work observable
}

try {
  main();
} catch (e) {
  fail('marshal.js', e);
}
