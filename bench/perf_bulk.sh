#!/usr/bin/env bash
# Where libdorm's bulk write spends its client CPU natively: perf samples
# (cpu-clock, DWARF call stacks) of bench/bulk_bench, those inside
# dorm_batch_write sorted into the parts bench/notes/bulk.md
# quotes. Unlike bench/cg_bulk.sh (instructions under callgrind, user space
# only, OpenSSL's generic SHA-256) this sees the kernel's share (send, poll,
# page faults) and SHA-NI; shares move with the machine's load, so take them
# on a quiet machine. Starts its own DynamoDB Local (tests/harness/ddb-local.sh).
#
# usage: bench/perf_bulk.sh BUILD_DIR [N]     (items, default 20000)
# prints bulk_bench's two lines (a run without perf), then one line per
# part: its share of the samples inside dorm_batch_write (a second run,
# under perf) and the us/item that share is of the first run's client cpu. Needs perf (Debian linux-perf) allowed to sample
# this process (kernel.perf_event_paranoid <= 2).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: perf_bulk.sh BUILD_DIR [N]}" && pwd)
n=${2:-20000}
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "perf_bulk.sh: N must be a whole number >= 1" >&2; exit 2; }
if [ -z "${DORM_TEST_ENDPOINT:-}" ]; then
  exec "$here/../tests/harness/ddb-local.sh" run bash "$0" "$build" "$n"
fi
command -v perf >/dev/null || { echo "perf_bulk.sh: needs perf" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prog=$build/bench/bulk_bench
e=$DORM_TEST_ENDPOINT
# The items exist before the measured runs, as in run-peers.sh; the first run also warms the JVM.
"$prog" --endpoint "$e" --n "$n" --item "$here/item.json" >/dev/null
# The client cpu from a run without perf (unwinding DWARF stacks slows the
# sampled one), then the shares from a sampled run.
"$prog" --endpoint "$e" --n "$n" --item "$here/item.json" >"$work/out.txt"
cat "$work/out.txt"
cpu=$(grep -oP '^libdorm bulk-write: .*client cpu \K[0-9.]+' "$work/out.txt")
perf record -q -e cpu-clock -F 4000 --call-graph dwarf,16384 -o "$work/perf.data" \
  "$prog" --endpoint "$e" --n "$n" --item "$here/item.json" >/dev/null 2>&1
perf script -i "$work/perf.data" -F ip,sym,dso 2>/dev/null | awk -v cpu="$cpu" '
  # One sample: frames leaf first, "ip sym (dso)"; a blank line ends it.
  function part(   i, s) {
    s = " " names " "
    if (s ~ / (bw_check_quick|dorm__jw_check_item|dorm_item_size) /) return "check (walk, size bound)"
    if (s ~ / (dorm__jw_item_checked|bw_build) /) return "JSON writing (each item once)"
    if (s ~ / (SHA256_Update|dorm__call_sign) /) return "SigV4 (SHA-256 of the body)"
    if (s ~ / (bw_apply|dorm__ops_parse_fast) /) return "reading the answers"
    if (s ~ / (exc_page_fault) /) return "page faults"
    if (s ~ / (__libc_send|__send) /) return "send() (kernel: loopback TCP)"
    if (s ~ / (__libc_recv|recv) /) return "recv()"
    if (s ~ / (__poll|__GI___poll) /) return "poll() (the pool 1, libcurl 2 per request)"
    if (s ~ / (malloc|_int_malloc|__libc_malloc|__GI___libc_malloc|free|_int_free|__GI___libc_free|realloc|_int_realloc|__GI___libc_realloc|__libc_calloc|calloc) /) return "malloc/free (mostly libcurl)"
    if (leafdso ~ /libcurl/) return "libcurl (its own code)"
    if (leafdso ~ /kernel/) return "kernel, other"
    return "the rest (pool loop, request set-up, libc)"
  }
  function flush() {
    if (nf && inside) { total++; count[part()]++ }
    nf = 0; inside = 0; names = ""
  }
  NF == 0 { flush(); next }
  {
    sym = $2
    dso = $NF
    if (nf == 0) leafdso = dso
    nf++
    names = names " " sym
    if (sym == "dorm_batch_write") inside = 1
  }
  END {
    flush()
    if (!total) { print "perf_bulk.sh: no samples inside dorm_batch_write" > "/dev/stderr"; exit 1 }
    printf "# %d samples inside dorm_batch_write; share, us/item of the client cpu above (%s), part\n", total, cpu
    for (k in count) printf "%5.1f%%  %5.2f  %s\n", 100 * count[k] / total, cpu * count[k] / total, k | "sort -rn"
  }'
