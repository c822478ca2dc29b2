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
