#!/usr/bin/env bash
# The Lambda end-to-end test (tests/streamer/lambda.test.mjs: a loopback
# Runtime API driven by recorded events, DynamoDB Local, a loopback API
# Gateway management API) against the bootstraps that
# `scripts/lambda-package.sh --build OUTDIR` built: the binaries as deployed,
# not the build/ tree's. The arm64 one runs under qemu-aarch64-static
# (user-mode emulation) with the host's arm64 glibc from multiarch
# (libc6:arm64, which lambda-package.sh installs). Not part of .ci/run: the
# Lambda build itself takes ~25 minutes.
#
#   scripts/lambda-e2e.sh OUTDIR HOST_BUILD_DIR
#
# HOST_BUILD_DIR: an ordinary build of this tree (cmake -B ...): its dormc and
# streamer-testd serve the scenarios that need them. Needs node 20 and
# tests/streamer's npm packages (scripts/setup.sh). Exit 0 when every
# architecture found in OUTDIR passed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: $0 OUTDIR HOST_BUILD_DIR}
host=${2:?usage: $0 OUTDIR HOST_BUILD_DIR}
testd=$host/tests/streamer/streamer-testd
dormc=$host/compiler/dormc
for f in "$testd" "$dormc"; do
  [ -x "$f" ] || { echo "$0: $f is not built (cmake --build $host --target streamer-testd dormc)" >&2; exit 2; }
done
[ -f "$here/tests/streamer/node_modules/ws/package.json" ] ||
  { echo "$0: tests/streamer/node_modules is missing (cd tests/streamer && npm ci)" >&2; exit 2; }

work=$(mktemp -d /tmp/dorm-lambda-e2e.XXXXXX)
cleanup() {
  bash "$here/tests/harness/ddb-local.sh" stop "$work/ddb" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash "$here/tests/harness/ddb-local.sh" start "$work/ddb" >/dev/null

ran=0 failed=0
for arch in x86_64 arm64; do
  bin=$out/build-$arch/examples/streamer/streamer-demo
  [ -x "$bin" ] || continue
  demo=$bin
  if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
    command -v qemu-aarch64-static >/dev/null 2>&1 ||
      { echo "$0: qemu-aarch64-static is missing (apt-get install qemu-user-static)" >&2; exit 2; }
    # No -L: the loader and glibc must come from one package. The cross
    # toolchain's /usr/aarch64-linux-gnu holds an older ld.so than the
    # multiarch libc6:arm64 the program then loads, and that mix spins
    # forever in the first pthread_create.
    demo=$work/streamer-demo-$arch
    printf '#!/bin/sh\nexec qemu-aarch64-static %q "$@"\n' "$bin" >"$demo"
    chmod +x "$demo"
  elif [ "$arch" = x86_64 ] && [ "$(uname -m)" != x86_64 ]; then
    echo "lambda-e2e: $arch: skipped (not emulated on $(uname -m))"
    continue
  fi
  echo "lambda-e2e: $arch: $bin"
  ran=$((ran + 1))
  if (cd "$here/tests/streamer" && STREAMER_DEMO=$demo STREAMER_TESTD=$testd DORMC=$dormc \
      DORM_TEST_ENDPOINT_FILE=$work/ddb/endpoint timeout 900 node --test --test-reporter=spec lambda.test.mjs); then
    echo "lambda-e2e: $arch: passed"
  else
    echo "lambda-e2e: $arch: FAILED" >&2
    failed=$((failed + 1))
  fi
done
[ "$ran" -gt 0 ] || { echo "$0: no $out/build-*/examples/streamer/streamer-demo" >&2; exit 2; }
[ "$failed" -eq 0 ]
