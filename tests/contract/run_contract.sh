#!/usr/bin/env bash
# The ctest driver of dorm-contract.
#
#   run_contract.sh [--ddb] [--setup "ARGS"] [--exit N] [--expect REGEX]... [--reject REGEX]...
#                   -- DORM_CONTRACT ARGS...
#
# --ddb      add --endpoint with this test run's DynamoDB Local (DORM_TEST_ENDPOINT,
#            else the file DORM_TEST_ENDPOINT_FILE names)
# --setup    first run DORM_CONTRACT with these (space-separated) arguments, which
#            must pass (e.g. to leave items behind for a --no-reset run)
# --exit N   the exit status dorm-contract must have (default 0)
# --expect   a line of its output (stdout and stderr) must match REGEX (grep -E)
# --reject   no line may match REGEX
set -u
want_exit=0
ddb=0
setup=""
expects=()
rejects=()
while [ $# -gt 0 ]; do
  case $1 in
    --ddb) ddb=1; shift ;;
    --setup) setup=$2; shift 2 ;;
    --exit) want_exit=$2; shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    --reject) rejects+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "run_contract.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ $# -ge 1 ] || { echo "run_contract.sh: no command" >&2; exit 2; }
base=("$1")
shift
if [ $ddb = 1 ]; then
  endpoint=${DORM_TEST_ENDPOINT:-}
  if [ -z "$endpoint" ] && [ -n "${DORM_TEST_ENDPOINT_FILE:-}" ] && [ -r "$DORM_TEST_ENDPOINT_FILE" ]; then
    endpoint=$(head -n 1 "$DORM_TEST_ENDPOINT_FILE")
  fi
  [ -n "$endpoint" ] || { echo "run_contract.sh: no DynamoDB Local endpoint (DORM_TEST_ENDPOINT[_FILE])" >&2; exit 1; }
  base+=(--endpoint "$endpoint")
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ -n "$setup" ]; then
  read -r -a setup_args <<<"$setup"
  if ! "${base[@]}" "${setup_args[@]}" >"$out" 2>&1; then
    cat "$out"
    echo "run_contract.sh: the setup run failed" >&2
    exit 1
  fi
fi
"${base[@]}" "$@" >"$out" 2>&1
status=$?
cat "$out"
ok=1
if [ "$status" != "$want_exit" ]; then
  echo "run_contract.sh: exit status $status, expected $want_exit" >&2
  ok=0
fi
for re in "${expects[@]+"${expects[@]}"}"; do
  if ! grep -Eq -- "$re" "$out"; then
    echo "run_contract.sh: no output line matches: $re" >&2
    ok=0
  fi
done
for re in "${rejects[@]+"${rejects[@]}"}"; do
  if grep -Eq -- "$re" "$out"; then
    echo "run_contract.sh: an output line matches what must not appear: $re" >&2
    ok=0
  fi
done
# A sanitizer report fails the test whatever the exit status (ASan exits 1
# too, like a failed step).
if grep -Eq -- "ERROR: (Address|Leak)Sanitizer|runtime error:" "$out"; then
  echo "run_contract.sh: a sanitizer reported an error" >&2
  ok=0
fi
[ $ok = 1 ]
