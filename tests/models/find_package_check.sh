#!/usr/bin/env bash
# An installed dorm works through find_package(dorm): install this build into
# a scratch prefix, then configure, build and run a small project that
# generates the shop schema's code with dorm_generate() and uses it.
#   find_package_check.sh BUILD_DIR SOURCE_DIR WORK_DIR [C_FLAGS]
# C_FLAGS: for the app (none in the suite: a sanitizer build's dorm::dorm
# brings its -fsanitize link options with it).
set -euo pipefail
build=$1 src=$2 work=$3 cflags=${4:-}
rm -rf "$work"
mkdir -p "$work/app"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cp "$src/schemas/shop.dorm" "$work/app/"
cat >"$work/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(app C)
find_package(dorm REQUIRED)
dorm_generate(TARGET shop_models SCHEMAS shop.dorm)
add_executable(app main.c)
target_link_libraries(app PRIVATE shop_models)
CMAKE
cat >"$work/app/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "shop_models.h"
int main(void) {
  shop_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = "c1";
  o.orderId = "o1";
  o.status = SHOP_ORDER_STATUS_PAID;
  o.total.amount = "1.50";
  o.total.currency = "EUR";
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item;
  char err[256];
  if (shop_Order_to_item(&o, &a, &item, err, sizeof err) != DORM_OK) { puts(err); return 1; }
  const dorm_av *pk = dorm_av_map_get(&item, "GSI1PK");
  int ok = pk && pk->u.s.len == 11 && memcmp(pk->u.s.ptr, "STATUS#paid", 11) == 0;
  dorm_arena_free(&a);
  puts(ok ? "find_package: ok" : "find_package: wrong item");
  return ok ? 0 : 1;
}
C
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_C_FLAGS="$cflags" >/dev/null
cmake --build "$work/app/build" >/dev/null
"$work/app/build/app"
