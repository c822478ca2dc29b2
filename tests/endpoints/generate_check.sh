#!/usr/bin/env bash
# dorm_generate() without ENDPOINTS on a schema that declares endpoints warns
# at configure time (the program would otherwise fail to link on the route
# table, <ns>_endpoints, with nothing saying why); with ENDPOINTS, or on a
# schema without endpoints, it says nothing.
#   generate_check.sh DORMC SOURCE_DIR WORK_DIR
set -euo pipefail
dormc=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
fail() {
  echo "generate_check: $*" >&2
  exit 1
}
# configure NAME SCHEMA [ENDPOINTS]: the configure output of a one-library project
configure() {
  local dir=$work/$1
  mkdir -p "$dir"
  cat >"$dir/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(generate_check C)
set(DORMC_EXECUTABLE "$dormc")
include("$src/cmake/DormGenerate.cmake")
dorm_generate(TARGET api SCHEMAS "$2" ${3:-})
CMAKE
  # (CMake wraps a warning's text: one line, single spaces, for matching)
  cmake -S "$dir" -B "$dir/build" >"$dir/out" 2>&1 || fail "$1: configure failed: $(cat "$dir/out")"
  tr -s ' \n' '  ' <"$dir/out"
}
warning="report.dorm declares endpoints but ENDPOINTS is not given"
out=$(configure without "$src/examples/streamer/report.dorm")
[[ $out == *"$warning"* ]] || fail "no warning without ENDPOINTS: $out"
[[ $out == *"add ENDPOINTS"* ]] || fail "the warning does not say what to do: $out"
out=$(configure with "$src/examples/streamer/report.dorm" ENDPOINTS)
[[ $out != *"declares endpoints"* ]] || fail "a warning with ENDPOINTS: $out"
out=$(configure models "$src/schemas/shop.dorm")
[[ $out != *"declares endpoints"* ]] || fail "a warning for a schema without endpoints: $out"
echo "generate_check: ok"
