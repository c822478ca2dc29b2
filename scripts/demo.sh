#!/usr/bin/env bash
# The main job: install what is missing, build, check and format the shipped
# example schema, generate its C code, and run the shop example against a
# DynamoDB Local started for the occasion (and stopped afterwards).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh" plain
dormc=$here/build/compiler/dormc
schema=$here/schemas/shop.dorm

echo
echo "== dormc check schemas/shop.dorm"
"$dormc" check "$schema" && echo "ok"
echo
echo "== dormc fmt --check schemas/shop.dorm"
"$dormc" fmt --check "$schema" && echo "already in canonical form"
echo
echo "== dormc gen (the code examples/shop is built from)"
ls -l "$here/build/examples/shop/dorm_generated/shop_models/"
echo
echo "== shop-demo against DynamoDB Local"
# shellcheck disable=SC2016  # expanded by the inner shell, with the endpoint it sets
"$here/tests/harness/ddb-local.sh" run bash -c '"$0" --endpoint "$DORM_TEST_ENDPOINT"' \
  "$here/build/examples/shop/shop-demo"
