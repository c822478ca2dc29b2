#!/bin/sh
# Runs one end-to-end test file of the streamer under node's test runner.
# Exit 77 (ctest SKIP_RETURN_CODE) when node or the pinned npm packages are
# missing: scripts/setup.sh installs them (npm ci in tests/streamer).
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "streamer e2e: SKIPPED: node is not installed (scripts/setup.sh installs it)"
  exit 77
fi
if [ ! -f "$here/node_modules/ws/package.json" ] || [ ! -f "$here/node_modules/jose/package.json" ]; then
  echo "streamer e2e: SKIPPED: tests/streamer/node_modules is missing (run: cd tests/streamer && npm ci)"
  exit 77
fi
if [ -z "${STREAMER_DEMO:-}" ] || [ ! -x "$STREAMER_DEMO" ]; then
  echo "streamer e2e: SKIPPED: streamer-demo is not built (STREAMER_DEMO='${STREAMER_DEMO:-}'; the target streamer-demo of examples/streamer)"
  exit 77
fi
# The browser test: Debian's chromium and the pinned playwright-core.
if [ -n "${STREAMER_NEEDS_CHROMIUM:-}" ]; then
  chromium=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
  export CHROMIUM="$chromium"
  if [ ! -x "$chromium" ]; then
    echo "streamer e2e: SKIPPED: Chromium is not installed at $chromium (scripts/setup.sh installs Debian's chromium; CHROMIUM=path picks another)"
    exit 77
  fi
  if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    echo "streamer e2e: SKIPPED: playwright-core is missing from tests/streamer/node_modules (run: cd tests/streamer && npm ci)"
    exit 77
  fi
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "streamer e2e: SKIPPED: node $(node --version) is older than 20"
  exit 77
fi
exec node --test --test-reporter=spec "$@"
