#!/usr/bin/env bash
# A streamer project of one's own, outside the repository, as docs/streamer.md
# ("Your own endpoints, step by step") tells it: install this build into a
# scratch prefix; `dormc gen --stubs .` writes the handlers file and nothing
# else; find_package(dorm) + dorm_generate(... ENDPOINTS TS_OUT_DIR) builds a
# server (dorm_streamer_main) and a program that checks the route table and
# the payload codecs of the schema's types (string, int, bool, time,
# optional, list) through the installed library.
#   own_project_check.sh BUILD_DIR WORK_DIR [C_FLAGS]
# C_FLAGS: for the project (a sanitizer build's libdorm needs the same -fsanitize).
set -euo pipefail
build=$1 work=$2 cflags=${3:-}
fail() {
  echo "own_project_check: $*" >&2
  exit 1
}
rm -rf "$work"
mkdir -p "$work/app"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cd "$work/app"
cat >imports.dorm <<'DORM'
namespace imp;

endpoint Lookup sync {
  request { name: string; count: int; loud: bool?; }
  result  { greeting: string; at: time; words: list<string>; }
}

endpoint Import async {
  request  { source: string; items: int; dryRun: bool; since: time?; labels: list<string>; }
  progress { done: int; last: string?; }
  result   { imported: int; finishedAt: time; labels: list<string>; }
  auth scopes("import:run");
  timeout 2m;
}
DORM
out=$("$work/prefix/bin/dormc" gen --stubs . imports.dorm) || fail "dormc gen --stubs . failed: $out"
[ "$(ls)" = "$(printf 'imports.dorm\nimports_handlers.c')" ] || fail "--stubs . wrote more than the handlers: $(ls)"
cat >main.c <<'C'
#include "imports_endpoints.h"

int main(int argc, char **argv) { return dorm_streamer_main(argc, argv, imp_endpoints, imp_endpoints_count); }
C
cat >check.c <<'C'
#include <stdio.h>
#include <string.h>
#include "imports_endpoints.h"
#define CHECK(c) do { if (!(c)) { printf("own_project: failed: %s\n", #c); return 1; } } while (0)
int main(void) {
  CHECK(imp_endpoints_count == 2);
  CHECK(strcmp(imp_endpoints[0]->name, "Lookup") == 0 && imp_endpoints[0]->mode == DORM_ENDPOINT_SYNC);
  CHECK(strcmp(imp_endpoints[1]->name, "Import") == 0 && imp_endpoints[1]->mode == DORM_ENDPOINT_ASYNC);
  CHECK(imp_endpoints[1]->nscopes == 1 && strcmp(imp_endpoints[1]->scopes[0], "import:run") == 0);
  CHECK(imp_endpoints[1]->timeout_ms == 120000);
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  imp_Import_request r;
  const char *ok = "{\"source\":\"s3\",\"items\":3,\"dryRun\":true,\"since\":\"2026-01-02T03:04:05+01:00\","
                   "\"labels\":[\"a\",\"b\"],\"unknown\":1}";
  CHECK(dorm_payload_from_json(&imp_Import_request_desc, ok, strlen(ok), "payload", &a, &r, err, sizeof err) == DORM_OK);
  CHECK(strcmp(r.source, "s3") == 0 && r.items == 3 && r.dryRun && r.has_since && r.labels.count == 2);
  CHECK(r.since == 1767319445000000000LL); /* 2026-01-02T02:04:05Z */
  const char *bad = "{\"source\":\"s3\",\"items\":3,\"dryRun\":true,\"labels\":[\"a\",3]}";
  CHECK(dorm_payload_from_json(&imp_Import_request_desc, bad, strlen(bad), "payload", &a, &r, err, sizeof err) != DORM_OK);
  CHECK(strcmp(err, "payload.labels[1]: expected a string") == 0);
  imp_Lookup_result res = {.greeting = NULL};
  const char *json = NULL;
  size_t len = 0;
  CHECK(dorm_payload_to_json(&imp_Lookup_result_desc, &res, &a, &json, &len, err, sizeof err) != DORM_OK);
  CHECK(strstr(err, "greeting: required") != NULL);
  dorm_arena_free(&a);
  puts("own_project: ok");
  return 0;
}
C
cat >CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(imports C)
find_package(dorm REQUIRED)
dorm_generate(TARGET imports_api SCHEMAS imports.dorm ENDPOINTS TS_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/ts)
add_executable(imports-server main.c imports_handlers.c)
target_link_libraries(imports-server PRIVATE imports_api)
add_executable(check check.c imports_handlers.c)
target_link_libraries(check PRIVATE imports_api)
CMAKE
cmake -S . -B build -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_C_FLAGS="$cflags -Wall -Wextra -Werror" >build.log 2>&1 ||
  fail "configure failed: $(cat build.log)"
cmake --build build >>build.log 2>&1 || fail "build failed: $(cat build.log)"
[ -f build/ts/imports_endpoints.d.ts ] || fail "no build/ts/imports_endpoints.d.ts"
grep -q 'labels: string\[\]; // list<string>' build/ts/imports_endpoints.d.ts || fail "the .d.ts lacks labels"
[ ! -e imports_endpoints.h ] || fail "generated code landed in the sources"
build/check || fail "the check program failed"
help=$(build/imports-server --help 2>&1) || fail "imports-server --help failed: $help"
[[ $help == *"--create-tables"* ]] || fail "imports-server --help: $help"
echo "own_project_check: ok"
