#!/usr/bin/env bash
# The streamer demo: installs what is missing, builds, starts DynamoDB Local
# and streamer-demo (examples/streamer) on 127.0.0.1:${PORT:-8080} with its web
# page (examples/streamer/web), and prints a development token, the page's
# address and how to connect. Ctrl-C stops both.
#   bash scripts/streamer-demo.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${PORT:-8080}
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh" plain
demo=$here/build/examples/streamer/streamer-demo
state=$(mktemp -d /tmp/dorm-streamer-demo.XXXXXX)
cleanup() {
  bash "$here/tests/harness/ddb-local.sh" stop "$state/ddb" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
bash "$here/tests/harness/ddb-local.sh" start "$state/ddb" >/dev/null
endpoint=$(cat "$state/ddb/endpoint")
# DynamoDB Local takes any keys; the management API is signed with the same ones.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-east-1}
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/secret"
token=$("$demo" --jwt-hs256-secret-file "$state/secret" --dev-token demo-user)
page="http://127.0.0.1:$port/#token=$token"
cat <<TXT
streamer-demo: DynamoDB Local at $endpoint
open:     $page
          (the page: start a report, watch the bar, cancel; the token is filled in from the address)
connect:  ws://127.0.0.1:$port/?token=$token
try:      {"id":"r1","action":"GenerateReport","payload":{"rows":20,"stepMs":200}}
          {"id":"e1","action":"Echo","payload":{"text":"hello"}}
metrics:  http://127.0.0.1:$port/metrics
TXT
# With a desktop, the page opens by itself once the server listens.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null 2>&1; then
  (for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
   xdg-open "$page" >/dev/null 2>&1) &
fi
"$demo" --port "$port" --ddb-endpoint "$endpoint" --create-tables --jwt-hs256-secret-file "$state/secret" \
  --web "$here/examples/streamer/web"
