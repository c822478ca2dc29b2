// Shared by the peer benchmarks: the benchmark item (bench/item.json), argument
// parsing, and the output format shared with dorm-bench-replay and the C
// benchmarks ("<who> <what>: N ops/s, client cpu X us/op, n=N").
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { unmarshall } = require('@aws-sdk/util-dynamodb');

const ITEM_FILE = path.join(__dirname, '..', 'item.json');

// The item file holds the item in DynamoDB JSON so its types are exact (SS, N
// decimals); `native` is what a JavaScript application would hold.
function loadItem(file = ITEM_FILE) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof doc.table !== 'string' || typeof doc.hash_key !== 'string' || typeof doc.item !== 'object') {
    throw new Error(`${file}: expected {"table", "hash_key", ["range_key"], "item"}`);
  }
  const keyNames = [doc.hash_key].concat(doc.range_key ? [doc.range_key] : []);
  const native = unmarshall(doc.item);
  return { table: doc.table, keyNames, ddbItem: doc.item, native };
}

function parseArgs(argv, spec) {
  const out = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return null;
    const name = a.replace(/^--/, '');
    if (!a.startsWith('--') || !(name in spec)) throw new Error(`unknown argument '${a}'`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a}: missing value`);
    if (typeof spec[name] === 'number') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: expected a whole number >= 1, got '${v}'`);
      out[name] = n;
    } else {
      out[name] = v;
    }
  }
  return out;
}

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function report(who, what, n, wallSeconds, cpuSecs) {
  console.log(`${who} ${what}: ${Math.round(n / wallSeconds)} ops/s, client cpu ${((cpuSecs / n) * 1e6).toFixed(1)} us/op, n=${n}`);
}

function fail(prog, err) {
  console.error(`${prog}: ${err && err.message ? err.message : err}`);
  process.exit(1);
}

module.exports = { loadItem, parseArgs, cpuSeconds, report, fail, ITEM_FILE };
