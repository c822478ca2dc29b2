#!/usr/bin/env bash
# Instructions per get and per put, and their split, under callgrind: the
# counts bench/notes/get-put.md ("Where a get's and a put's microseconds go")
# quotes. Instruction counts are stable on a busy machine where CPU time is
# not. Starts its own DynamoDB Local (tests/harness/ddb-local.sh).
#
# usage: bench/cg_split.sh BUILD_DIR [N]     (N timed requests, default 300)
# prints, per call: libdorm get/put (dorm_get_item, dorm_put_item), the bare
# libcurl floor doing the same requests (client_bench's floor_get_once,
# floor_put_once), generated-code get/put (gen_put_get's gen_get, gen_put),
# then the parts (SigV4, JSON writing, CRC32, decoding, libcurl) of each.
# The callgrind files stay in $CG_DIR (default a temporary directory) for
# callgrind_annotate.
#
# CG_COLD=1: every request starts with cold caches (the benchmarks write and
# read FLOOR_EVICT_KB=2048 between requests, bench/curl_floor.h) under
# callgrind's cache simulation with a 1 MB last-level cache, and each line
# also gives the lines of code and data a call fetches from memory (its
# last-level misses: I for code, D for data read + written). On a machine
# whose caches the server and others flush between two requests these
# fetches, not the instructions, are most of what libdorm adds to a call
# (bench/notes/get-put.md); the counts are the same every run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: cg_split.sh BUILD_DIR [N]}" && pwd)
n=${2:-300}
if [ -z "${DORM_TEST_ENDPOINT:-}" ]; then
  exec "$here/../tests/harness/ddb-local.sh" run bash "$0" "$build" "$n"
fi
command -v valgrind >/dev/null || { echo "cg_split.sh: needs valgrind" >&2; exit 2; }
out=${CG_DIR:-$(mktemp -d)}
mkdir -p "$out"
e=$DORM_TEST_ENDPOINT
warm=100
cold=()
if [ -n "${CG_COLD:-}" ]; then
  export FLOOR_EVICT_KB=2048
  cold=(--cache-sim=yes --LL=1048576,16,64)
fi
cg() { # name prog args...: collect inside the function name stands for only
  local name=$1 fn=$1
  shift
  case $name in # client_bench's wrappers (noinline) of dorm_get_item / dorm_put_item: counted with LTO too
    dorm_get_item) fn=get_once ;;
    dorm_put_item) fn=put_once ;;
  esac
  valgrind --tool=callgrind "${cold[@]}" --callgrind-out-file="$out/$name.cg" --toggle-collect="$fn" "$@" >/dev/null 2>"$out/$name.log"
}
# client_bench: put once + get once before its timed runs, then warm-up and n timed, libdorm and floor alternating.
cg dorm_get_item "$build/bench/client_bench" --endpoint "$e" --n "$n" --warmup "$warm" --item "$here/item.json"
cg dorm_put_item "$build/bench/client_bench" --endpoint "$e" --n "$n" --warmup "$warm" --item "$here/item.json"
cg floor_get_once "$build/bench/client_bench" --endpoint "$e" --n "$n" --warmup "$warm" --item "$here/item.json"
cg floor_put_once "$build/bench/client_bench" --endpoint "$e" --n "$n" --warmup "$warm" --item "$here/item.json"
# gen_put_get: n/10 warm-up and n timed calls of gen_get / gen_put.
cg gen_get "$build/bench/gen_put_get" --endpoint "$e" --n "$n" --item "$here/item.json"
cg gen_put "$build/bench/gen_put_get" --endpoint "$e" --n "$n" --item "$here/item.json"

calls() {
  case $1 in
    dorm_put_item) echo $((n + warm + 1)) ;; # put_once: once more before the runs
    dorm_get_item) echo $((n + warm)) ;;     # get_once (the read-back before the runs is a direct call)
    floor_*) echo $((n + warm)) ;;
    gen_*) echo $((n + n / 10)) ;;
  esac
}
# inclusive instructions of the functions matching a pattern, per call
part() { # file pattern calls
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk -v pat="$2" -v c="$3" '$0 ~ pat { gsub(",", "", $1); s += $1 } END { printf "%.1fk", s / c / 1000 }'
}
for f in dorm_get_item dorm_put_item floor_get_once floor_put_once gen_get gen_put; do
  total=$(grep -oP 'Collected : \K[0-9]+' "$out/$f.log")
  c=$(calls "$f")
  line=$(printf '%-15s %7.1fk instructions per call' "$f" "$(echo "$total / $c / 1000" | bc -l)")
  if [ -n "${CG_COLD:-}" ]; then # summary: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
    line+=$(awk -v c="$c" '/^summary:/ { printf "; from memory %.0f lines (code %.0f, data %.0f)", ($8 + $9 + $10) / c, $8 / c, ($9 + $10) / c }' "$out/$f.cg")
  fi
  case $f in
    floor_*) ;;
    *)
      line+="; libcurl $(part "$out/$f.cg" '\\?\\?\\?:curl_easy_perform \\[' "$c")"
      line+=", SigV4 $(part "$out/$f.cg" 'sigv4_ddb.c:dorm__sigv4_sign_dynamodb \\[' "$c")"
      line+=", JSON writing $(part "$out/$f.cg" '(json_write.c:dorm__jw_item|model_write.c:dorm__model_write_item[_a-z]*) \\[' "$c")"
      line+=", CRC32 $(part "$out/$f.cg" 'crc32_z \\[|crc32.c:dorm__crc32 \\[' "$c")"
      line+=", decoding $(part "$out/$f.cg" '(ops_item.c:ops_read_item|model_decode.c:dorm__model_decode_response[_a-z]*) \\[' "$c")"
      line+=" (jsmn tokenizer $(part "$out/$f.cg" '^ *[0-9,]+ .*/usr/include/jsmn.h:(dorm__json_parse_jsmn|dorm__json_read_direct|tokenize[.a-z0-9]*)$' "$c"))"
      ;;
  esac
  echo "$line"
done
echo "# callgrind files: $out"
