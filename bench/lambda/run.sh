#!/usr/bin/env bash
# The Lambda cold start benchmark (issue 11): DynamoDB Local with the
# streamer's tables, then bench/lambda/cold_start.mjs (the streamer binary and
# a Node.js 20 handler, same harness, same work). Needs bench/node's and
# tests/streamer's npm packages (scripts/setup.sh; cd bench/node && npm ci).
#   bash bench/lambda/run.sh BUILD_DIR [ROUNDS] [LAMBDA_BUILD_DIR]
# LAMBDA_BUILD_DIR: OUTDIR/build-x86_64 of `scripts/lambda-package.sh --build
# OUTDIR` (the bootstrap as deployed: minimal libcurl, static OpenSSL), a
# third peer beside BUILD_DIR's streamer-demo (Debian's shared libraries).
# Figures (cold_start.mjs's header): exec_to_next_* from the runtime's exec
# (process start, as on Lambda), spawn_to_next_* from Node's spawn() (the
# harness's fork included). DORM_LAMBDA_BENCH_ALSO=NAME=PATH[,NAME=PATH...]
# adds more streamer-demo binaries to the same rounds (before/after a change).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?build dir}; rounds=${2:-10}; lambda_build=${3:-}
demo=$build/examples/streamer/streamer-demo
work=$(mktemp -d /tmp/dorm-lambda-bench.XXXXXX)
cleanup() {
  bash "$here/tests/harness/ddb-local.sh" stop "$work/ddb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash "$here/tests/harness/ddb-local.sh" start "$work/ddb" >/dev/null
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret"
# the tables, once (not part of any cold start): --dev-token exits before serving,
# so a short-lived local server creates them
"$demo" --port 0 --ddb-endpoint "$(cat "$work/ddb/endpoint")" --create-tables --jwt-hs256-secret-file "$work/secret" \
  >"$work/demo.out" 2>"$work/demo.err" &
pid=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$work/demo.out" 2>/dev/null && break; sleep 0.1; done
kill "$pid"; wait "$pid" 2>/dev/null || true
extra=()
# the floor: a next call and nothing else (bench/lambda/floor.c)
if cc -O2 -o "$work/floor" "$here/bench/lambda/floor.c" 2>/dev/null; then extra+=(--floor "$work/floor"); fi
# the launcher that stamps the exec (process start) for the exec_to_next figures
if cc -O2 -Wall -Wextra -Werror -o "$work/exec_stamp" "$here/bench/lambda/exec_stamp.c"; then
  extra+=(--stamp "$work/exec_stamp")
else
  echo "run.sh: exec_stamp.c did not build: spawn-based figures only" >&2
fi
[ -n "$lambda_build" ] && extra+=(--lambda-bootstrap "$lambda_build/examples/streamer/streamer-demo")
# more bootstraps in the same rounds (e.g. an older build): NAME=PATH,NAME=PATH
[ -n "${DORM_LAMBDA_BENCH_ALSO:-}" ] && extra+=(--also "$DORM_LAMBDA_BENCH_ALSO")
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
node "$here/bench/lambda/cold_start.mjs" --bootstrap "$demo" --ddb "$(cat "$work/ddb/endpoint")" \
  --secret "$work/secret" --rounds "$rounds" "${extra[@]}"
