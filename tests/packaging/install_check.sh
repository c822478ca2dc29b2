#!/usr/bin/env bash
# What a C developer gets from `cmake --install`: installs this build into a
# scratch prefix, then checks
#   - a one-file program builds with `pkg-config --cflags --libs dorm`, links
#     the shared library (libdorm.so.0) and runs;
#   - libdorm.so exports only dorm_ names (versioned DORM_0) and has its SONAME;
#   - the installed dormc does not link libcurl (it needs the offline plan only);
#   - the man pages are installed.
# (find_package(dorm) against the static library: tests/models/find_package_check.sh.)
#   install_check.sh BUILD_DIR WORK_DIR [C_FLAGS]
set -euo pipefail
build=$1 work=$2 cflags=${3:-}
fail() { echo "install_check: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(dirname "$(find "$prefix" -name libdorm.so.0 | head -1)")
[ -n "$libdir" ] || fail "no libdorm.so.0 installed under $prefix"

# pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion dorm)" = "$(sed -n 's/^#define DORM_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/dorm/version.h")" ] \
  || fail "dorm.pc's version differs from dorm/version.h"
cat >"$work/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <dorm/dorm.h>
int main(void) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av m = dorm_av_empty(DORM_AV_M);
  if (dorm_av_map_set(&a, &m, "PK", dorm_av_str("c1")) != DORM_OK) return 1;
  const dorm_av *pk = dorm_av_map_get(&m, "PK");
  int ok = pk && pk->u.s.len == 2 && strcmp(dorm_version(), DORM_VERSION_STRING) == 0 &&
           strcmp(dorm_strerror(DORM_ERR_NOT_FOUND), "item not found") == 0;
  dorm_arena_free(&a);
  printf("dorm %s: %s\n", dorm_version(), ok ? "ok" : "wrong");
  return ok ? 0 : 1;
}
C
# shellcheck disable=SC2046,SC2086  # word splitting of pkg-config's output is intended
cc $cflags -o "$work/app" "$work/app.c" $(pkg-config --cflags --libs dorm) || fail "pkg-config build failed"
app_libs=$(LD_LIBRARY_PATH=$libdir ldd "$work/app")
case "$app_libs" in *"libdorm.so.0 => $libdir"*) ;; *) fail "the app does not use the installed libdorm.so.0" ;; esac
app_out=$(LD_LIBRARY_PATH=$libdir "$work/app")
case "$app_out" in *": ok") ;; *) fail "the pkg-config app did not run correctly: $app_out" ;; esac

# Exports and SONAME.
dyn=$(readelf -d "$libdir/libdorm.so.0")
case "$dyn" in *"Library soname: [libdorm.so.0]"*) ;; *) fail "SONAME is not libdorm.so.0" ;; esac
bad=$(nm -D --defined-only "$libdir/libdorm.so.0" | awk '{print $3}' | grep -v '^DORM_0$' | grep -v '^dorm_[A-Za-z0-9_]*@@DORM_0$' || true)
[ -z "$bad" ] || fail "libdorm.so exports names that are not dorm_*@@DORM_0: $(echo "$bad" | head -5 | tr '\n' ' ')"
exports=$(nm -D --defined-only "$libdir/libdorm.so.0")
case "$exports" in *" dorm__"*) fail "internal dorm__ names are exported" ;; esac

# dormc: no network library.
# (ldd's output is read whole: `ldd | grep -q` can fail on SIGPIPE under pipefail)
dormc_libs=$(ldd "$prefix/bin/dormc")
dorm_libs=$(ldd "$prefix/bin/dorm")
case "$dormc_libs" in *libcurl*) fail "dormc links libcurl" ;; esac
case "$dorm_libs" in *libcurl*) ;; *) fail "the dorm tool should link libcurl (sanity check of this test)" ;; esac

# Man pages.
for p in dormc dorm; do
  [ -f "$prefix/share/man/man1/$p.1" ] || fail "man page $p.1 not installed"
done
echo "install_check: ok ($(nm -D --defined-only "$libdir/libdorm.so.0" | grep -c ' dorm_') exported dorm_ functions)"
