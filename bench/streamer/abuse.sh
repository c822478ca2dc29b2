#!/usr/bin/env bash
# Sustained abuse of streamer-demo (abuse.mjs): starts DynamoDB Local and
# streamer-demo of BUILD_DIR, runs the phases (default: all) for SECONDS each
# and prints one JSON line per phase (the server's RSS, threads, fds and the
# streamer tables' item counts before and after, the well-behaved client's
# latency during it). A build with -DDORM_SANITIZE=ON: its stderr (leaks,
# UB) is printed at the end (DEMO_ERR=FILE keeps it).
#   bash bench/streamer/abuse.sh BUILD_DIR [SECONDS] [PHASES]     (PHASES: churn,noread,...)
# DEMO_ARGS adds streamer-demo flags. The load average is printed before and after.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?build dir}; secs=${2:-30}; phases=${3:-}
demo=$build/examples/streamer/streamer-demo
work=$(mktemp -d /tmp/dorm-streamer-abuse.XXXXXX)
demo_pid=
cleanup() {
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null || true
  bash "$here/tests/harness/ddb-local.sh" stop "$work/ddb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 8192 2>/dev/null || true
bash "$here/tests/harness/ddb-local.sh" start "$work/ddb" >/dev/null
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret"
ddb=$(cat "$work/ddb/endpoint")
err=${DEMO_ERR:-$work/demo.err}
"$demo" --port 0 --ddb-endpoint "$ddb" --create-tables --jwt-hs256-secret-file "$work/secret" ${DEMO_ARGS:-} \
  >"$work/demo.out" 2>"$err" &
demo_pid=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$work/demo.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$work/demo.out" | head -1)
[ -n "$port" ] || { echo "streamer-demo did not start" >&2; tail "$err" >&2; exit 1; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
node "$here/bench/streamer/abuse.mjs" --url "ws://127.0.0.1:$port/" --pid "$demo_pid" --secret "$work/secret" \
  --ddb "$ddb" --seconds "$secs" ${phases:+--phases "$phases"}
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$demo_pid"
for _ in $(seq 1 200); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
demo_pid=
echo "log lines by event: $(grep -o '"event":"[a-z_]*"' "$err" | sort | uniq -c | sort -rn | head -15 | awk '{printf "%s %s, ", $2, $1}')"
grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$err" | head -20 || true
