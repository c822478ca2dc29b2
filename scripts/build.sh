#!/usr/bin/env bash
# Configures and builds dorm.  build.sh [plain|asan|release|fuzz]  (default: plain)
#   plain -> build/       the normal build (RelWithDebInfo, -Wall -Wextra -Werror)
#   release -> build-release/  Release (-O3, NDEBUG): gcc's flow warnings differ at -O3
#                         (maybe-uninitialized, format-truncation), so it is built too
#   asan  -> build-asan/  the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz  -> build-fuzz/  clang + libFuzzer targets
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-plain}
jobs=${DORM_JOBS:-2}
case "$kind" in
  plain) dir=$here/build; opts=() ;;
  asan)  dir=$here/build-asan; opts=(-DDORM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DDORM_BUILD_BENCH=OFF) ;;
  release) dir=$here/build-release; opts=(-DCMAKE_BUILD_TYPE=Release -DDORM_BUILD_BENCH=OFF) ;;
  fuzz)  dir=$here/build-fuzz; opts=(-DDORM_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDORM_BUILD_BENCH=OFF) ;;
  *) echo "usage: build.sh [plain|asan|release|fuzz]" >&2; exit 2 ;;
esac
cmake -S "$here" -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$jobs"
echo "build.sh: built $kind in $dir"
