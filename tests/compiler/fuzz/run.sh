#!/usr/bin/env bash
# Fuzzes the compiler: builds the seed corpus (schemas/*.dorm, the good
# schemas and the diagnostics suite, with their imported files appended as
# "//@file NAME" sections) and runs the libFuzzer target for N seconds.
#
#   tests/compiler/fuzz/run.sh [SECONDS] [-- extra libFuzzer flags]
#
# FUZZ_BUILD: the DORM_FUZZ=ON build directory (default build-fuzz/, made by
#   scripts/build.sh fuzz if absent). FUZZ_WORK: where the seed dir, the
#   growing corpus and crash files go (default FUZZ_BUILD/fuzz-work).
# A crash leaves crash-* files in FUZZ_WORK; turn each into a minimal input
# under tests/compiler/fuzz/regressions/ (fuzz_dormc -minimize_crash=1).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
secs=${1:-60}
shift || true
[[ ${1:-} == -- ]] && shift
build=${FUZZ_BUILD:-$root/build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
bin=$build/tests/compiler/fuzz/fuzz_dormc
if [[ ! -x $bin ]]; then
  if [[ -z ${FUZZ_BUILD:-} ]]; then bash "$root/scripts/build.sh" fuzz; else
    cmake -S "$root" -B "$build" -DDORM_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDORM_BUILD_BENCH=OFF >/dev/null
    cmake --build "$build" --target fuzz_dormc -j"${DORM_JOBS:-2}"
  fi
fi

seeds=$work/seeds
rm -rf "$seeds"
mkdir -p "$seeds" "$work/corpus"
n=0
for f in "$root"/schemas/*.dorm "$root"/tests/compiler/good/*.dorm "$root"/tests/compiler/diagnostics/*.dorm \
         "$root"/tests/compiler/fuzz/regressions/*; do
  [[ -f $f ]] || continue
  out=$seeds/$(basename "$(dirname "$f")")-$(basename "$f")
  cp "$f" "$out"
  # Files it may import travel with it.
  if [[ -d $(dirname "$f")/inc ]] && grep -q import "$f"; then
    for inc in "$(dirname "$f")"/inc/*.dorm; do
      printf '\n//@file inc/%s\n' "$(basename "$inc")" >>"$out"
      cat "$inc" >>"$out"
    done
  fi
  n=$((n + 1))
done
echo "run.sh: $n seeds in $seeds; fuzzing for ${secs}s" >&2
cd "$work"
exec "$bin" -max_total_time="$secs" -dict="$here/dormc.dict" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$@" "$work/corpus" "$seeds"
