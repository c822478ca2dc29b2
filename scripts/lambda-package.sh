#!/usr/bin/env bash
# The streamer as an AWS Lambda custom runtime zip for provided.al2023
# (docs/streamer.md, "On AWS"). Two ways:
#
#   scripts/lambda-package.sh --build OUTDIR [--arch x86_64|arm64|all]
#                             [--project DIR --target NAME] [FILES...]
#       builds streamer-demo (or, with --project, the executable NAME of
#       your own CMake project in DIR, which has dorm as a subdirectory:
#       add_subdirectory(dorm); docs/streamer.md, "Your own endpoints")
#       for each architecture (arm64 cross-compiled with
#       cmake/toolchain-aarch64-linux-gnu.cmake) with the Lambda link
#       (cmake/lambda-static.cmake: a minimal libcurl built here from the
#       distribution's source package, OpenSSL, zlib and libwebsockets
#       static) and writes OUTDIR/streamer-<arch>.zip (NAME-<arch>.zip);
#       OUTDIR/build-<arch> (build-NAME-<arch>) is the build tree
#       (bench/lambda/run.sh takes it). Debian/Ubuntu only:
#       installs what it needs with apt-get (cross compiler, arm64 libraries
#       through multiarch, qemu-user-static to run the arm64 binary once).
#
#   scripts/lambda-package.sh BINARY OUT.zip [FILES...]
#       packages a binary you built yourself (e.g. in an amazonlinux:2023
#       container): bootstrap, the shared libraries it needs that
#       provided.al2023 lacks under lib/ (Lambda puts /var/task/lib on
#       LD_LIBRARY_PATH), and FILES (e.g. jwks.json).
#
# The zip holds: bootstrap (the binary; AWS_LAMBDA_RUNTIME_API makes it a
# Runtime API client instead of a WebSocket server), lib/*.so*, FILES.
# A binary must not need a glibc newer than Amazon Linux 2023's (2.34): both
# ways check the symbol versions it asks for.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AL2023_GLIBC=2.34

usage() {
  echo "usage: $0 --build OUTDIR [--arch x86_64|arm64|all] [--project DIR --target NAME] [FILES...]" >&2
  echo "       $0 BINARY OUT.zip [FILES...]" >&2
  exit 2
}

# The highest GLIBC_x.y a binary (and what it links) asks for must be
# Amazon Linux 2023's at most.
check_glibc() {
  local bin=$1 objdump=${2:-objdump} need
  need=$("$objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$AL2023_GLIBC" | sort -V | tail -1)" != "$AL2023_GLIBC" ]; then
    echo "$0: $bin needs glibc $need; Amazon Linux 2023 has $AL2023_GLIBC" >&2
    return 1
  fi
  echo "lambda-package: $(basename "$bin") needs glibc ${need:-?} (AL2023: $AL2023_GLIBC)"
}

# package BINARY OUT.zip LIBDIR_OF_ARCH [FILES...]: the zip. Bundles what
# the binary needs that every AL2023 system has not (glibc, OpenSSL, zlib
# are there); for a cross-built binary readelf names them (ldd cannot run it).
package() {
  local bin=$1 out=$2 libdir=$3
  shift 3
  [ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 2; }
  command -v zip >/dev/null 2>&1 || { echo "$0: zip is not installed" >&2; exit 2; }
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/lib"
  cp "$bin" "$stage/bootstrap"
  chmod 755 "$stage/bootstrap"
  # the debug information stays in the build tree
  "${STRIP:-strip}" --strip-debug "$stage/bootstrap" 2>/dev/null || true
  local needed
  if [ -n "$libdir" ]; then
    # the DT_NEEDED names, then theirs (one level deeper is enough here)
    needed=$(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
    for n in $needed; do
      [ -f "$libdir/$n" ] && needed="$needed $(readelf -d "$libdir/$n" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')"
    done
    needed=$(for n in $needed; do [ -f "$libdir/$n" ] && echo "$libdir/$n"; done | sort -u)
  else
    needed=$(ldd "$bin" | awk '/=> \// { print $3 }')
  fi
  for lib in $needed; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcrypto.so*|libssl.so*|libz.so*|libresolv.so*) ;;
      *) cp -L "$lib" "$stage/lib/" ;;
    esac
  done
  for f in "$@"; do cp "$f" "$stage/"; done
  rm -f "$out"
  local out_abs
  out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
  (cd "$stage" && zip -qr9 "$out_abs" .)
  echo "$out: $(du -k "$out_abs" | cut -f1) KiB (bootstrap, $(ls "$stage/lib" | wc -l) libraries in lib/)"
  rm -rf "$stage"
}

if [ "${1:-}" != "--build" ]; then
  [ $# -ge 2 ] || usage
  bin=$1 out=$2
  shift 2
  check_glibc "$bin" || true # a warning here: the binary may be for another image
  package "$bin" "$out" "" "$@"
  exit 0
fi

# ---- --build ----
shift
[ $# -ge 1 ] || usage
outdir=$1
shift
arches=x86_64
# what is built: this tree's streamer-demo, or a target of your own project
src=$here target=streamer-demo project=""
while [ $# -gt 0 ]; do
  case $1 in
    --arch) [ $# -ge 2 ] || usage; arches=$2; shift 2 ;;
    --project) [ $# -ge 2 ] || usage; project=$2; shift 2 ;;
    --target) [ $# -ge 2 ] || usage; target=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ -n "$project" ]; then
  [ -f "$project/CMakeLists.txt" ] || { echo "$0: --project $project: no CMakeLists.txt there" >&2; exit 2; }
  [ "$target" != streamer-demo ] || { echo "$0: --project needs --target NAME (your executable)" >&2; exit 2; }
  # the Lambda link (cmake/lambda-static.cmake) applies to every project()
  # of the build: dorm has to be built in it, not found installed
  grep -qs 'add_subdirectory' "$project/CMakeLists.txt" ||
    echo "$0: warning: $project/CMakeLists.txt has no add_subdirectory: a dorm found installed (find_package) is linked as it was built, not for Lambda" >&2
  src=$(cd "$project" && pwd)
elif [ "$target" != streamer-demo ]; then
  echo "$0: --target needs --project DIR" >&2
  exit 2
fi
[ "$arches" = all ] && arches="x86_64 arm64"
for a in $arches; do
  case $a in x86_64|arm64) ;; *) usage ;; esac
done
[ "$(uname -m)" = x86_64 ] || { echo "$0: --build runs on an x86_64 Debian/Ubuntu host" >&2; exit 2; }
command -v apt-get >/dev/null 2>&1 || { echo "$0: --build needs apt-get (Debian/Ubuntu)" >&2; exit 2; }
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
deps=$outdir/deps
mkdir -p "$deps"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "lambda-package: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
apt_install build-essential cmake pkg-config flex bison zip file dpkg-dev binutils \
  libssl-dev zlib1g-dev libcjson-dev libexpat1-dev libyaml-dev libwebsockets-dev libcap-dev libjsmn-dev
if [[ " $arches " == *" arm64 "* ]]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "lambda-package: dpkg --add-architecture arm64"
    $sudo dpkg --add-architecture arm64
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  # libwebsockets-dev:arm64 cannot be installed next to the host's (one
  # header differs), so its runtime package is installed and the -dev one
  # unpacked under deps/ below.
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu \
    libssl-dev:arm64 zlib1g-dev:arm64 libcjson-dev:arm64 libexpat1-dev:arm64 libyaml-dev:arm64 \
    libcap-dev:arm64 libwebsockets17:arm64
  apt_install qemu-user-static || echo "lambda-package: no qemu-user-static: the arm64 binary is checked but not run"
fi

# A source package of the distribution (deb_source PACKAGE DIR: unpacked in
# DIR), fetched with apt-get source through a private list of the system's
# own repositories turned into deb-src ones (nothing in /etc/apt changes).
deb_source() {
  local pkg=$1 src=$2
  [ -d "$src" ] && [ -n "$(ls -A "$src" 2>/dev/null)" ] && return 0
  local apt=$deps/apt
  if [ ! -d "$apt/lists" ] || [ -z "$(ls "$apt/lists" 2>/dev/null | grep -v partial)" ]; then
    rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/parts" "$apt/cache/archives/partial"
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
    done
    : >"$apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >>"$apt/sources.list"
    done
    apt-get "${apt_o[@]}" update -qq
  fi
  echo "lambda-package: fetching the $pkg source package"
  mkdir -p "$deps/dl-$pkg"
  (cd "$deps/dl-$pkg" && apt-get "${apt_o[@]}" source --download-only -qq "$pkg")
  rm -rf "$src"
  # apt checked the files against the signed release; dpkg-source has no key
  dpkg-source -x "$deps/dl-$pkg"/*.dsc "$src" >/dev/null 2>&1
}
apt_o=(-o "Dir::Etc::SourceList=$deps/apt/sources.list" -o "Dir::Etc::SourceParts=$deps/apt/parts"
  -o "Dir::State::Lists=$deps/apt/lists" -o "Dir::Cache=$deps/apt/cache" -o "APT::Sandbox::User=root")
curl_source() {
  [ -f "$deps/curl-src/configure" ] && return 0
  deb_source curl "$deps/curl-src"
}

# cJSON as a static archive (Debian ships only the shared library): one
# object less for the dynamic linker at every cold start, no lib/ in the zip.
# Built from the distribution's cjson source package, as libcurl is, into
# deps/cjson-<arch> with a libcjson.pc that comes first on PKG_CONFIG_PATH.
build_cjson() {
  local arch=$1 prefix=$deps/cjson-$1
  [ -f "$prefix/lib/libcjson.a" ] && return 0
  deb_source cjson "$deps/cjson-src"
  local cc=gcc ar=ar
  [ "$arch" = arm64 ] && cc=aarch64-linux-gnu-gcc ar=aarch64-linux-gnu-ar
  echo "lambda-package: building a static cJSON ($arch)"
  mkdir -p "$prefix/lib/pkgconfig" "$prefix/include/cjson"
  "$cc" -O2 -ffunction-sections -fdata-sections -c "$deps/cjson-src/cJSON.c" -o "$prefix/lib/cJSON.o"
  rm -f "$prefix/lib/libcjson.a"
  "$ar" rcs "$prefix/lib/libcjson.a" "$prefix/lib/cJSON.o"
  rm -f "$prefix/lib/cJSON.o"
  cp "$deps/cjson-src/cJSON.h" "$prefix/include/cjson/"
  local version
  version=$(sed -n 's/^Version: *//p' "$deps"/dl-cjson/*.dsc | head -1)
  cat >"$prefix/lib/pkgconfig/libcjson.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libcjson
Version: ${version%%-*}
Description: cJSON, static, for the Lambda bootstrap (scripts/lambda-package.sh)
Libs: -L\${libdir} -lcjson
Libs.private: -lm
Cflags: -I\${includedir} -I\${includedir}/cjson
PC
}

# A libcurl for HTTP and HTTPS over OpenSSL, nothing else (Amazon Linux
# 2023's libcurl-minimal is the same idea), static, in deps/curl-<arch>.
# CA certificates: Amazon Linux's bundle (the static OpenSSL's own default
# directory is Debian's, absent on Lambda).
build_curl() {
  local arch=$1 prefix=$deps/curl-$1
  [ -f "$prefix/lib/libcurl.a" ] && return 0
  curl_source
  local b=$deps/curl-build-$arch host=() env=()
  rm -rf "$b" && cp -a "$deps/curl-src" "$b"
  if [ "$arch" = arm64 ]; then
    host=(--host=aarch64-linux-gnu)
    env=(CC=aarch64-linux-gnu-gcc PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
  fi
  echo "lambda-package: building a minimal libcurl ($arch)"
  (cd "$b" && env "${env[@]}" ./configure -q "${host[@]}" --prefix="$prefix" --disable-shared --enable-static \
    --with-openssl --with-zlib --without-libpsl --without-brotli --without-zstd --without-libidn2 \
    --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-librtmp --without-libssh2 --without-libssh \
    --without-gssapi --without-libgsasl --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
    --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher \
    --disable-mqtt --disable-ftp --disable-file --disable-ntlm --disable-ntlm-wb --disable-netrc --disable-manual \
    --enable-threaded-resolver \
    --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt --without-ca-path >/dev/null &&
    make -s -j"${DORM_JOBS:-2}" -C lib >/dev/null && make -s -C lib install >/dev/null &&
    make -s -C include install >/dev/null && mkdir -p "$prefix/lib/pkgconfig" && cp libcurl.pc "$prefix/lib/pkgconfig/")
  rm -rf "$b"
}

# libwebsockets-dev:arm64 unpacked (its static archive and pkg-config file).
lws_arm64() {
  local d=$deps/lws-arm64
  [ -f "$d/usr/lib/aarch64-linux-gnu/libwebsockets.a" ] && return 0
  rm -rf "$d" && mkdir -p "$d"
  (cd "$deps" && apt-get -o APT::Sandbox::User=root download -qq libwebsockets-dev:arm64 && dpkg-deb -x libwebsockets-dev_*_arm64.deb "$d" &&
    rm -f libwebsockets-dev_*_arm64.deb)
  sed -i "s|^prefix=.*|prefix=\"$d/usr\"|" "$d/usr/lib/aarch64-linux-gnu/pkgconfig/libwebsockets.pc"
}

host_dormc=""
for arch in $arches; do
  build_curl "$arch"
  build_cjson "$arch"
  b=$outdir/build-$arch
  [ -n "$project" ] && b=$outdir/build-$target-$arch
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DDORM_BUILD_TESTS=OFF -DDORM_BUILD_BENCH=OFF
    "-DCMAKE_PROJECT_INCLUDE=$here/cmake/lambda-static.cmake")
  pc=$deps/curl-$arch/lib/pkgconfig:$deps/cjson-$arch/lib/pkgconfig
  libdir=""
  objdump=objdump
  if [ "$arch" = arm64 ]; then
    lws_arm64
    # dorm_generate runs dormc on this machine: the x86_64 one
    [ -z "$host_dormc" ] && [ -x "$outdir/build-x86_64/compiler/dormc" ] && host_dormc=$outdir/build-x86_64/compiler/dormc
    if [ -z "$host_dormc" ]; then
      cmake -S "$here" -B "$outdir/build-host-dormc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDORM_BUILD_TESTS=OFF \
        -DDORM_BUILD_BENCH=OFF -DDORM_BUILD_EXAMPLES=OFF >/dev/null
      cmake --build "$outdir/build-host-dormc" -j"${DORM_JOBS:-2}" --target dormc >/dev/null
      host_dormc=$outdir/build-host-dormc/compiler/dormc
    fi
    args+=("-DCMAKE_TOOLCHAIN_FILE=$here/cmake/toolchain-aarch64-linux-gnu.cmake" "-DDORMC_EXECUTABLE=$host_dormc")
    pc=$pc:$deps/lws-arm64/usr/lib/aarch64-linux-gnu/pkgconfig
    export DORM_LAMBDA_LIBDIR=$deps/lws-arm64/usr/lib/aarch64-linux-gnu
    libdir=/usr/lib/aarch64-linux-gnu
    objdump=aarch64-linux-gnu-objdump
  else
    unset DORM_LAMBDA_LIBDIR
    [ -z "$host_dormc" ] && host_dormc=$b/compiler/dormc
  fi
  # arc4random_buf for the static libexpat (cmake/lambda-glibc-compat.c)
  cc=gcc
  [ "$arch" = arm64 ] && cc=aarch64-linux-gnu-gcc
  "$cc" -O2 -Wall -Wextra -Werror -c "$here/cmake/lambda-glibc-compat.c" -o "$deps/glibc-compat-$arch.o"
  args+=("-DCMAKE_EXE_LINKER_FLAGS=$deps/glibc-compat-$arch.o")
  echo "lambda-package: building $target ($arch) in $b"
  # pkg-config asked again at every configure (-U: a build tree of an older
  # version of this script cached Debian's shared cJSON)
  PKG_CONFIG_PATH=$pc cmake -S "$src" -B "$b" -U '__pkg_config_checked_*' -U 'pkgcfg_lib_*' "${args[@]}" >/dev/null
  cmake --build "$b" -j"${DORM_JOBS:-2}" --target "$target" >/dev/null
  bin=$b/examples/streamer/streamer-demo
  if [ -n "$project" ]; then
    bin=$(find "$b" -path "$b/CMakeFiles" -prune -o -type f -name "$target" -perm -u+x -print | head -1)
    [ -n "$bin" ] || { echo "$0: no executable $target under $b" >&2; exit 1; }
  fi
  want="x86-64"
  [ "$arch" = arm64 ] && want="ARM aarch64"
  file -L "$bin" | grep -q "ELF 64-bit.*$want" || { echo "$0: $bin is not a $want ELF: $(file -L "$bin")" >&2; exit 1; }
  echo "lambda-package: $(file -L "$bin" | cut -d, -f1-2)"
  check_glibc "$bin" "$objdump"
  if [ "$arch" = arm64 ] && command -v qemu-aarch64-static >/dev/null 2>&1; then
    # it runs: --help prints the usage (the dynamic linker found every library).
    # No -L: the loader and glibc must come from one package, multiarch's
    # libc6:arm64 (the cross toolchain's /usr/aarch64-linux-gnu has an older
    # ld.so, and that mix spins forever in the first pthread_create).
    # scripts/lambda-e2e.sh runs the whole Lambda end-to-end test on it.
    qemu-aarch64-static "$bin" --help | grep -q "^usage:" ||
      { echo "$0: the arm64 binary does not run under qemu" >&2; exit 1; }
    echo "lambda-package: arm64 $target --help runs under qemu-aarch64-static"
  fi
  STRIP=strip
  [ "$arch" = arm64 ] && STRIP=aarch64-linux-gnu-strip
  zipname=streamer-$arch.zip
  [ -n "$project" ] && zipname=$target-$arch.zip
  STRIP=$STRIP package "$bin" "$outdir/$zipname" "$libdir" "$@"
done
