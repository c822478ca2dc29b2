#!/bin/sh
# usage: run.sh DORMC SCHEMA WORKDIR
# Writes SCHEMA's CloudFormation template (dormc gen --infra) and validates it
# against the CloudFormation resource specification (validate.mjs). Exit 77
# (skipped) without node or tests/infra/node_modules (scripts/setup.sh).
set -e
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "infra validate: SKIPPED: node is not installed (scripts/setup.sh installs it)"
  exit 77
fi
if [ ! -f "$here/node_modules/@aws-cdk/aws-service-spec/package.json" ]; then
  echo "infra validate: SKIPPED: tests/infra/node_modules is missing (run: cd tests/infra && npm ci)"
  exit 77
fi
rm -rf "$3"
"$1" gen --infra "$3" "$2"
base=$(basename "$2" .dorm)
exec node "$here/validate.mjs" "$3/$base.template.json"
