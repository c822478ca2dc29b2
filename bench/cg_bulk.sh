#!/usr/bin/env bash
# Instructions per item of libdorm's bulk write (bench/bulk_bench.c: one
# dorm_batch_write of N bench items at 16 in flight), and their split, under
# callgrind: the counts bench/notes/bulk.md quotes. Instruction
# counts are steady on a busy machine where CPU time is not; they leave out
# the kernel (loopback TCP, poll), which bulk_bench's "client cpu" includes.
# Starts its own DynamoDB Local (tests/harness/ddb-local.sh).
#
# usage: bench/cg_bulk.sh BUILD_DIR [N]     (items, default 2000)
# prints one line: instructions per item inside dorm_batch_write, then the
# parts: SHA-256 (SigV4 over each body; callgrind runs OpenSSL's generic
# code, natively SHA-NI makes it several times cheaper), JSON writing (each
# item once, into its request), the up-front check (walk without writing,
# summing a bound of the item size), libcurl, and the rest (building and queueing requests, the
# pool, reading the answers). The callgrind file stays in
# $CG_DIR (default a temporary directory) for callgrind_annotate. CG_OPTS
# adds valgrind options, e.g. CG_OPTS='--branch-sim=yes --cache-sim=yes'
# for the mispredicted branches and cache misses per item (a second line).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: cg_bulk.sh BUILD_DIR [N]}" && pwd)
n=${2:-2000}
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "cg_bulk.sh: N must be a whole number >= 1" >&2; exit 2; }
if [ -z "${DORM_TEST_ENDPOINT:-}" ]; then
  exec "$here/../tests/harness/ddb-local.sh" run bash "$0" "$build" "$n"
fi
command -v valgrind >/dev/null || { echo "cg_bulk.sh: needs valgrind" >&2; exit 2; }
out=${CG_DIR:-$(mktemp -d)}
mkdir -p "$out"
e=$DORM_TEST_ENDPOINT
prog=$build/bench/bulk_bench
# The table and its items exist before the measured run, as in run-peers.sh.
"$prog" --endpoint "$e" --n "$n" --item "$here/item.json" >/dev/null
# shellcheck disable=SC2086 # CG_OPTS is a list of options
valgrind --tool=callgrind ${CG_OPTS:-} --callgrind-out-file="$out/bulk.cg" --toggle-collect=dorm_batch_write \
  "$prog" --endpoint "$e" --n "$n" --item "$here/item.json" >/dev/null 2>"$out/bulk.log"
part() { # pattern: inclusive instructions of the matching functions, per item
  callgrind_annotate --inclusive=yes "$out/bulk.cg" 2>/dev/null |
    awk -v pat="$1" -v c="$n" '$0 ~ pat { gsub(",", "", $1); s += $1 } END { printf "%.1fk", s / c / 1000 }'
}
total=$(grep -oP 'Collected : \K[0-9]+' "$out/bulk.log")
all=$(echo "$total / $n / 1000" | bc -l)
sha=$(part '\?\?\?:SHA256_Update \[')
json=$(part 'json_write.c:dorm__jw_item \[')
check=$(part '(json_write.c:dorm__jw_check_item|av.c:dorm_item_size) \[')
curl=$(part '\?\?\?:curl_multi_socket_action \[')
rest=$(echo "$all - ${sha%k} - ${json%k} - ${check%k} - ${curl%k}" | bc -l)
printf 'libdorm bulk-write %.1fk instructions per item (n=%s); SHA-256 %s, JSON writing %s, check %s, libcurl %s, ' \
  "$all" "$n" "$sha" "$json" "$check" "$curl"
printf 'the rest %.1fk (requests, pool, answers)\n' "$rest"
# With the simulators on, their totals per item (event names as callgrind's).
events=$(grep -m1 '^events:' "$out/bulk.cg" | cut -d' ' -f2-)
if [ "$events" != "Ir" ]; then
  grep -m1 '^totals:' "$out/bulk.cg" | cut -d' ' -f2- |
    awk -v names="$events" -v c="$n" '{ split(names, k, " "); line = "per item:";
      for (i = 2; i <= NF; i++) line = line sprintf(" %s %.1f", k[i], $i / c); print line }'
fi
echo "# callgrind file: $out/bulk.cg"
