#!/usr/bin/env bash
# dorm_generate() is incremental: a build with nothing changed runs no dormc,
# editing a schema that another imports regenerates the importer.
#   incremental_check.sh DORMC SOURCE_DIR WORK_DIR
set -euo pipefail
dormc=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work/schemas"
cat >"$work/schemas/common.dorm" <<'DORM'
namespace app;
enum Color { red; green; }
DORM
cat >"$work/schemas/things.dorm" <<'DORM'
namespace app;
import "common.dorm";
model Thing table "things" {
  id: string @pk;
  color: Color;
}
DORM
cat >"$work/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(incremental C)
list(APPEND CMAKE_MODULE_PATH "$src/cmake")
include(DormGenerate)
set(DORMC_EXECUTABLE "$dormc")
add_library(dorm INTERFACE)
target_include_directories(dorm INTERFACE "$src/runtime/include")
dorm_generate(TARGET app_models SCHEMAS schemas/common.dorm schemas/things.dorm)
CMAKE
cmake -S "$work" -B "$work/build" -G "Unix Makefiles" >/dev/null
build() { cmake --build "$work/build" 2>&1; }
out=$(build)
grep -q "dormc gen things.dorm" <<<"$out" || { echo "first build did not generate things.dorm"; echo "$out"; exit 1; }
out=$(build)
if grep -q "dormc gen" <<<"$out"; then echo "an unchanged build regenerated:"; echo "$out"; exit 1; fi
sleep 1
printf 'enum Size { small; large; }\n' >>"$work/schemas/common.dorm"
out=$(build)
grep -q "dormc gen things.dorm" <<<"$out" || { echo "editing the imported common.dorm did not regenerate things.dorm"; echo "$out"; exit 1; }
grep -q "APP_SIZE_SMALL" "$work/build/dorm_generated/app_models/common_models.h" || { echo "common_models.h lacks the new enum"; exit 1; }
out=$(build)
if grep -q "dormc gen" <<<"$out"; then echo "a second unchanged build regenerated:"; echo "$out"; exit 1; fi
echo "incremental: ok"
