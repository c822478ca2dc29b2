#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test twice,
# once in the normal build and once under AddressSanitizer + UndefinedBehaviorSanitizer.
# Tests that need DynamoDB start DynamoDB Local themselves (a ctest fixture).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${DORM_JOBS:-2}
bash "$here/scripts/setup.sh"
for kind in plain asan; do
  bash "$here/scripts/build.sh" "$kind"
  dir=$here/build; [ "$kind" = asan ] && dir=$here/build-asan
  echo "test.sh: running the suite ($kind)"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900)
done
echo "test.sh: all tests passed (plain and asan)"
# Users build Release too: it must compile warning-free (not run: the same code as plain).
bash "$here/scripts/build.sh" release

# Fuzzing (clang + libFuzzer; setup.sh installs clang and libclang-rt-14-dev):
# the runtime's targets 15 s each, two at a time (tests/fuzz/run.sh), then
# the compiler's target (tests/compiler/fuzz/run.sh). Work files go to
# build-fuzz/fuzz-work/.
probe=$(mktemp -d)
if command -v clang >/dev/null 2>&1 &&
   echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
     clang -x c - -fsanitize=fuzzer,address,undefined -o "$probe/probe" >/dev/null 2>&1; then
  rm -rf "$probe"
  bash "$here/scripts/build.sh" fuzz
  echo "test.sh: fuzzing"
  bash "$here/tests/fuzz/run.sh" 15
  bash "$here/tests/compiler/fuzz/run.sh" 15
  echo "test.sh: fuzzing found nothing"
else
  rm -rf "$probe"
  echo "test.sh: no clang with libFuzzer: fuzz targets skipped"
fi
