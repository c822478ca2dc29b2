#!/usr/bin/env bash
# The streamer demo: installs what is missing, builds, starts DynamoDB Local
# and streamer-demo (examples/streamer) on 127.0.0.1:${PORT:-8080}, and prints a
# development token and how to connect. Ctrl-C stops both.
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
cat <<TXT
streamer-demo: DynamoDB Local at $endpoint
connect:  ws://127.0.0.1:$port/?token=$token
try:      {"id":"r1","action":"GenerateReport","payload":{"rows":20,"stepMs":200}}
          {"id":"e1","action":"Echo","payload":{"text":"hello"}}
metrics:  http://127.0.0.1:$port/metrics
TXT
"$demo" --port "$port" --ddb-endpoint "$endpoint" --create-tables --jwt-hs256-secret-file "$state/secret"
