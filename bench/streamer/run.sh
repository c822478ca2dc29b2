#!/usr/bin/env bash
# The streamer benchmark (issue 10): CONNS concurrent WebSocket connections to
# local mode, each running one async request with PROGRESS progress updates,
# against streamer-demo + DynamoDB Local, then the same load against a minimal
# Node relay (relay.mjs) in the same run. Prints one JSON line per server.
#   bash bench/streamer/run.sh BUILD_DIR [CONNS] [PROGRESS] [STEP_MS]
# (or the environment: CONNS=200 PROGRESS=20 STEP_MS=100 WORKERS=64). The
# load average is printed before and after: the figures mean little on a
# busy machine. COUNT_CALLS=1 puts a counting proxy (tests/streamer/ddb-proxy.mjs)
# between streamer-demo and DynamoDB Local and prints the DynamoDB calls per
# request by operation (the proxy adds latency and CPU of its own: leave it
# off for the timing figures). SYNC_PROGRESS=1 runs streamer-demo with
# --sync-progress (ASYNC_PROGRESS=1: --async-progress, now the default);
# DEMO_ARGS adds its other flags. RELAY=0 leaves the relay out (quicker rounds while
# tuning). WARMUP=N (default: CONNS; 0: none) runs a round of N x 5 progress
# first against each server, printed apart (DynamoDB Local starts cold).
# (COUNT_CALLS=1: none unless WARMUP is given; the counts would include it).
# LAT_TIMELINE=1 prints progress delivery p50/p99 per second of each round
# (where the tail comes from); DEMO_ERR=FILE keeps streamer-demo's log.
# Each line also gives ddb_local_cpu_s: DynamoDB Local's CPU in the round
# (on the same cores: the machine's main consumer).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?build dir}; conns=${2:-${CONNS:-1000}}; progress=${3:-${PROGRESS:-20}}; step=${4:-${STEP_MS:-100}}
workers=${WORKERS:-64}
demo=$build/examples/streamer/streamer-demo
work=$(mktemp -d /tmp/dorm-streamer-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$here/tests/harness/ddb-local.sh" stop "$work/ddb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
bash "$here/tests/harness/ddb-local.sh" start "$work/ddb" >/dev/null
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret"
wait_port() { for _ in $(seq 1 200); do grep -q 'listening on' "$1" 2>/dev/null && { sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1; return; }; sleep 0.1; done; echo "no port in $1" >&2; exit 1; }
# rounds NAME PID PORT: the warm-up round (when WARMUP > 0; printed apart,
# peak RSS reset after it) and the measured round against one server.
rounds() {
  if [ "$warmup" -gt 0 ]; then
    printf '%s warm-up: ' "$1"
    node "$here/bench/streamer/load.mjs" --url "ws://127.0.0.1:$3/" --conns "$warmup" --progress 5 \
      --step-ms "$step" --secret "$work/secret" --pid "$2"
    echo 5 >"/proc/$2/clear_refs" 2>/dev/null || true # peak RSS from here on: the measured round's
  fi
  printf '%s: ' "$1"
  node "$here/bench/streamer/load.mjs" --url "ws://127.0.0.1:$3/" --conns "$conns" --progress "$progress" \
    --step-ms "$step" --secret "$work/secret" --pid "$2" ${ddb_pid:+--ddb-pid "$ddb_pid"}
}

ddb=$(cat "$work/ddb/endpoint")
# DynamoDB Local's JVM (the harness's pid is the `timeout` around it): its CPU is printed beside each round
ddb_pid=$(pgrep -P "$(cat "$work/ddb/pid")" java 2>/dev/null | head -1 || true)
if [ "${COUNT_CALLS:-0}" = 1 ]; then
  node "$here/tests/streamer/ddb-proxy.mjs" --target "$ddb" >"$work/proxy.out" 2>&1 &
  proxy=$!
  pids+=($proxy)
  ddb="http://127.0.0.1:$(wait_port "$work/proxy.out")"
fi
"$demo" --port 0 --ddb-endpoint "$ddb" --create-tables --jwt-hs256-secret-file "$work/secret" \
  --workers "$workers" --progress-interval-ms 0 ${ASYNC_PROGRESS:+--async-progress} ${SYNC_PROGRESS:+--sync-progress} ${DEMO_ARGS:-} >"$work/demo.out" 2>"${DEMO_ERR:-$work/demo.err}" &
demo_pid=$!
pids+=($demo_pid)
port=$(wait_port "$work/demo.out")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# A warm-up round first (WARMUP connections, default CONNS, 5 progress each; 0: none):
# a freshly started DynamoDB Local is a cold JVM, and its first burst of
# requests is several times slower (ack p50 3.4 s cold vs 0.55 s warm at 300
# connections, bench/notes/streamer.md "Fourth round"), which is not the server's.
# Its figures are printed, not the measured ones.
warmup=${WARMUP:-$conns}
[ "${COUNT_CALLS:-0}" = 1 ] && warmup=${WARMUP:-0} # the counts are per measured request
rounds streamer-demo "$demo_pid" "$port"

if [ "${COUNT_CALLS:-0}" = 1 ]; then
  kill -TERM "$proxy"
  for _ in $(seq 1 50); do kill -0 "$proxy" 2>/dev/null || break; sleep 0.1; done
  tail -1 "$work/proxy.out" | node -e '
    const c = JSON.parse(require("fs").readFileSync(0, "utf8")), n = +process.argv[1];
    const total = Object.values(c.ops).reduce((a, b) => a + b, 0);
    const per = Object.fromEntries(Object.entries(c.ops).map(([k, v]) => [k, +(v / n).toFixed(2)]));
    console.log(`dynamodb calls per request: ${(total / n).toFixed(2)} ${JSON.stringify(per)}; UpdateItem on request items: ${(c.request_updates / n).toFixed(2)}`);
    console.log(`dynamodb ms per call (through the proxy): ${JSON.stringify(c.ms_per_call)}`);
    if (c.writes_by_table) console.log(`dynamodb writes per request by table (calls, items): ${Object.entries(c.writes_by_table).map(([k, v]) => `${k} ${(v.calls / n).toFixed(2)}/${(v.items / n).toFixed(2)}`).join(", ")}`);
  ' "$conns"
fi
if [ "${RELAY:-1}" = 0 ]; then echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; fi
node "$here/bench/streamer/relay.mjs" --port 0 >"$work/relay.out" 2>&1 &
relay_pid=$!
pids+=($relay_pid)
port=$(wait_port "$work/relay.out")
rounds node-ws-relay "$relay_pid" "$port"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The third server (RELAY_DDB=0 to skip): the relay as a Node developer would
# make it keep what it sends (relay-ddb.mjs: JWT verified, every message
# stored in DynamoDB before it is sent, AWS SDK v3), against the same
# DynamoDB Local: what the streamer's persistence costs next to Node's.
if [ "${RELAY_DDB:-1}" = 1 ]; then
  if [ ! -d "$here/bench/node/node_modules/@aws-sdk/client-dynamodb" ]; then
    echo "run.sh: installing the AWS SDK for node-ws-ddb (npm ci in bench/node)" >&2
    (cd "$here/bench/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  node "$here/bench/streamer/relay-ddb.mjs" --port 0 --endpoint "$(cat "$work/ddb/endpoint")" \
    --secret "$work/secret" >"$work/relay-ddb.out" 2>&1 &
  rddb_pid=$!
  pids+=($rddb_pid)
  port=$(wait_port "$work/relay-ddb.out")
  rounds node-ws-ddb "$rddb_pid" "$port"
  grep -m3 'store failed' "$work/relay-ddb.out" >&2 || true
  echo "load after node-ws-ddb: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
