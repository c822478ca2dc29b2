#!/usr/bin/env bash
# Instructions from exec to the first `next` (issue 11), the machine-load-proof
# figure beside cold_start.mjs's times: each program runs under callgrind with
# AWS_LAMBDA_RUNTIME_API at a closed loopback port and a dump before its first
# curl_easy_perform (the floor's: before connect), so the first part counts the
# dynamic linker, constructors, configuration, libcurl's and OpenSSL's init,
# up to the call that sends the next (its own few thousand instructions
# excluded). Also prints the page faults of a whole run (perf stat, when
# available: each costs ~12 us on this VM).
#   bash bench/lambda/cg_cold.sh NAME=STREAMER_DEMO [NAME=STREAMER_DEMO...]
# e.g. bench/lambda/cg_cold.sh lambda=OUTDIR/build-x86_64/examples/streamer/streamer-demo debian=build/examples/streamer/streamer-demo
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 NAME=STREAMER_DEMO [NAME=STREAMER_DEMO...]" >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "$0: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d /tmp/dorm-lambda-cg.XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/secret"
cc -O2 -o "$work/floor" "$here/bench/lambda/floor.c"
# port 9 (discard): nothing listens on loopback, so the next fails at once
export AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:9 DORM_STREAMER_JWT_HS256_SECRET_FILE=$work/secret \
  AWS_LAMBDA_FUNCTION_NAME=bench
measure() { # NAME BINARY DUMP_BEFORE
  local name=$1 bin=$2 fn=$3 out ir faults=""
  out=$work/cg.$name
  valgrind --tool=callgrind --dump-before="$fn" --callgrind-out-file="$out.%p" "$bin" >/dev/null 2>&1 || true
  # the first dump (NAME.PID.1) is exec -> the first call of fn
  ir=$(sed -n 's/^totals: *//p' "$(ls "$out".*.1 | head -1)" 2>/dev/null || echo "?")
  if command -v perf >/dev/null 2>&1; then
    # (the programs exit 1: the next failed)
    faults=$(perf stat -x, -r 20 -e page-faults "$bin" 2>&1 >/dev/null | awk -F, '/page-faults/ { printf "%d", $1 }' || true)
  fi
  printf '{"who":"%s","instructions_to_first_next":%s,"page_faults_whole_run":%s}\n' "$name" "$ir" "${faults:-null}"
}
measure floor-c-no-libs "$work/floor" connect
for kv in "$@"; do
  measure "${kv%%=*}" "${kv#*=}" curl_easy_perform
done
