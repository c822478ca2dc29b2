#!/usr/bin/env bash
# Rewrites every NN-name.expected from what dormc prints now. Review the diff
# (git diff) before committing: the expected files are the specification.
#   regen.sh <path to dormc> [case.dorm...]
set -euo pipefail
dormc=$(realpath "$1"); shift
cd "$(dirname "${BASH_SOURCE[0]}")"
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(*.dorm)
for f in "${cases[@]}"; do
  "$dormc" check "$f" 2> "${f%.dorm}.expected" >/dev/null || true
done
