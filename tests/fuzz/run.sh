#!/usr/bin/env bash
# Fuzzes the runtime's parsers of untrusted input: every libFuzzer target of
# tests/fuzz/ for SECONDS each (default 20), over its seed corpus
# (tests/fuzz/corpus/<target>) and its saved reproducers
# (tests/fuzz/regressions/<target>), which run first, as the start of the
# corpus. Fails when any target finds a crash, a leak, a timeout or a broken
# property, and prints the reproducer's path.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...] [-- extra libFuzzer flags]
#       TARGET: cursor json model stream config creds jsmn (default: all)
#
# FUZZ_BUILD: the DORM_FUZZ=ON build directory (default build-fuzz/; made
#   with scripts/build.sh fuzz when it has no fuzz targets yet).
# FUZZ_WORK: where the growing corpora, logs and crash files go (default
#   FUZZ_BUILD/fuzz-work), never the source tree.
# FUZZ_JOBS: targets fuzzed at once (default DORM_JOBS, else 2); each uses
#   one core for SECONDS.
#
# A crash: reproduce with `FUZZ_BUILD/tests/fuzz/fuzz_<target> <file>`, make
# it small with -minimize_crash=1, fix the bug, and keep the input under
# tests/fuzz/regressions/<target>/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
all_targets=(cursor json model stream config creds jsmn)

secs=20
if [[ ${1:-} =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
targets=()
while (($#)) && [[ $1 != -- ]]; do
  ok=0
  for t in "${all_targets[@]}"; do [[ $1 == "$t" ]] && ok=1; done
  ((ok)) || { echo "run.sh: unknown target '$1' (targets: ${all_targets[*]})" >&2; exit 2; }
  targets+=("$1")
  shift
done
[[ ${1:-} == -- ]] && shift
extra=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

build=${FUZZ_BUILD:-$root/build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
jobs=${FUZZ_JOBS:-${DORM_JOBS:-2}}
bindir=$build/tests/fuzz

missing=0
for t in "${targets[@]}"; do [[ -x $bindir/fuzz_$t ]] || missing=1; done
if ((missing)); then
  if [[ ! -f $build/CMakeCache.txt ]] && [[ -z ${FUZZ_BUILD:-} ]]; then
    bash "$root/scripts/build.sh" fuzz
  else
    [[ -f $build/CMakeCache.txt ]] ||
      cmake -S "$root" -B "$build" -DDORM_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DDORM_BUILD_BENCH=OFF >/dev/null
    cmake --build "$build" --target fuzz_runtime -j"${DORM_JOBS:-2}"
  fi
fi

# Flags per target: input size bound, dictionary.
flags_for() {
  local t=$1
  local f=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  case $t in
    config) f+=(-max_len=4096 -dict="$here/config.dict") ;;
    creds) f+=(-max_len=2048 -dict="$here/json.dict") ;;
    cursor) f+=(-max_len=4096 -dict="$here/json.dict") ;;
    *) f+=(-max_len=8192 -dict="$here/json.dict") ;;
  esac
  printf '%s\n' "${f[@]}"
}

# Runs one target; its log is $work/<t>/fuzz.log, crash files $work/<t>/crash-*.
fuzz_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus"
  rm -f "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* "$dir"/slow-unit-*
  local dirs=("$dir/corpus" "$here/corpus/$t")
  [[ -d $here/regressions/$t ]] && dirs+=("$here/regressions/$t")
  [[ $t == jsmn ]] && dirs+=("$here/corpus/json") # fuzz_json's seeds are DynamoDB JSON too
  local f
  mapfile -t f < <(flags_for "$t")
  (cd "$dir" && "$bindir/fuzz_$t" "${f[@]}" -artifact_prefix="$dir/" "${extra[@]}" "${dirs[@]}") >"$dir/fuzz.log" 2>&1
}

report() {
  local t=$1 rc=$2 dir=$work/$1
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  if ((rc == 0)); then
    echo "run.sh: $t: ok, ${execs:-?} executions in ${secs}s, corpus $(find "$dir/corpus" -type f | wc -l) files"
    return 0
  fi
  echo "run.sh: $t: FAILED (exit $rc); the end of $dir/fuzz.log:" >&2
  grep -v '^#[0-9]' "$dir/fuzz.log" | tail -40 >&2
  local found=0
  for r in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
    [[ -f $r ]] || continue
    found=1
    echo "run.sh: $t: reproducer: $r" >&2
    echo "run.sh: $t:   rerun: $bindir/fuzz_$t $r" >&2
  done
  ((found)) || echo "run.sh: $t: no reproducer file was written (see the log)" >&2
  return 1
}

mkdir -p "$work"
echo "run.sh: fuzzing ${targets[*]} for ${secs}s each, $jobs at a time (work: $work)"
failed=()
declare -A pid_of=()
running=0
wait_one() {
  local done_pid rc=0 name
  wait -n -p done_pid || rc=$?
  for name in "${!pid_of[@]}"; do
    if [[ ${pid_of[$name]} == "$done_pid" ]]; then
      unset "pid_of[$name]"
      report "$name" "$rc" || failed+=("$name")
    fi
  done
  running=$((running - 1))
}
for t in "${targets[@]}"; do
  while ((running >= jobs)); do wait_one; done
  fuzz_one "$t" &
  pid_of[$t]=$!
  running=$((running + 1))
done
while ((running > 0)); do wait_one; done

if ((${#failed[@]})); then
  echo "run.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run.sh: all ${#targets[@]} targets ran ${secs}s without a failure"
