#!/usr/bin/env bash
# How many BatchWriteItem requests libdorm's bulk write really keeps in
# flight: bench/bulk_bench at --concurrency C (default 16) under strace,
# each request counted from its sendto() ("POST ...") to the recvfrom() that
# reads its answer ("HTTP/1.1 ..."), time-weighted over the run. strace
# slows every syscall, which widens the gap between an answer and the next
# request: the mean here is a lower bound of the real one. Starts its own
# DynamoDB Local (tests/harness/ddb-local.sh).
#
# usage: bench/inflight_bulk.sh BUILD_DIR [N] [C]     (items, default 20000)
# prints bulk_bench's lines (slowed by strace), then
#   libdorm bulk-write in flight: mean 15.6 of 16 (time at 16: 80 %, at 15: 15 %, fewer: 5 %), requests N
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: inflight_bulk.sh BUILD_DIR [N] [C]}" && pwd)
n=${2:-20000}
conc=${3:-16}
[[ "$n" =~ ^[1-9][0-9]*$ && "$conc" =~ ^[1-9][0-9]*$ ]] || { echo "inflight_bulk.sh: N and C must be whole numbers >= 1" >&2; exit 2; }
if [ -z "${DORM_TEST_ENDPOINT:-}" ]; then
  exec "$here/../tests/harness/ddb-local.sh" run bash "$0" "$build" "$n" "$conc"
fi
command -v strace >/dev/null || { echo "inflight_bulk.sh: needs strace" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prog=$build/bench/bulk_bench
e=$DORM_TEST_ENDPOINT
"$prog" --endpoint "$e" --n "$n" --concurrency "$conc" --item "$here/item.json" >/dev/null
strace -ttt -e trace=sendto,recvfrom -o "$work/trace" \
  "$prog" --endpoint "$e" --n "$n" --concurrency "$conc" --item "$here/item.json"
# Only the BatchWriteItem requests: from the first one sent to the last answer.
awk -v c="$conc" '
  $2 ~ /^sendto\(/ && $3 ~ /^"POST/ { t[++k] = $1; d[k] = 1 }
  $2 ~ /^recvfrom\(/ && $3 ~ /^"HTTP\/1\.1/ { t[++k] = $1; d[k] = -1 }
  END {
    # The BatchWriteItem target is in the headers, which strace shows only in
    # part: count from the first request that the run sends at once (the
    # table set-up before it is one request at a time).
    o = 0; start = 0
    for (i = 1; i <= k; i++) { if (d[i] > 0) o++; else o--; if (o >= 2 && !start) { start = i - 1; break } }
    if (!start) { print "inflight_bulk.sh: never more than one request in flight" > "/dev/stderr"; exit 1 }
    o = 0
    for (i = start; i <= k; i++) {
      if (i > start) span[o] += t[i] - t[i - 1]
      if (d[i] > 0) { o++; sent++ } else o--
    }
    for (x in span) { total += span[x]; mean += x * span[x] }
    if (total <= 0) exit 1
    fewer = total - span[c] - span[c - 1]
    printf "libdorm bulk-write in flight: mean %.1f of %d (time at %d: %.0f %%, at %d: %.0f %%, fewer: %.0f %%), requests %d\n",
      mean / total, c, c, 100 * span[c] / total, c - 1, 100 * span[c - 1] / total, 100 * fewer / total, sent
  }' "$work/trace"
