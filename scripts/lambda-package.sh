#!/bin/sh
# Packages a streamer binary (streamer-demo, or yours built the same way) as
# an AWS Lambda custom runtime zip for provided.al2023 (docs/streamer.md,
# "On AWS"):
#
#   bootstrap        the binary (Lambda runs it; AWS_LAMBDA_RUNTIME_API makes
#                    it a Runtime API client instead of a WebSocket server)
#   lib/*.so*        the shared libraries it needs that provided.al2023 lacks
#                    (Lambda puts /var/task/lib on LD_LIBRARY_PATH)
#   FILES...         anything else, e.g. jwks.json (DORM_STREAMER_JWKS_FILE=/var/task/jwks.json)
#
# usage: scripts/lambda-package.sh BINARY OUT.zip [FILES...]
#
# Build the binary for the function's architecture on a system whose glibc
# is not newer than Amazon Linux 2023's (2.34): in an amazonlinux:2023
# container (docker run --platform linux/arm64 ... for arm64), or natively on
# an AL2023 (Graviton) host. The libraries every AL2023 system has (glibc,
# libm, libpthread, libdl, ld-linux, OpenSSL's libcrypto/libssl, libz) are not
# bundled; everything else ldd lists is.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 BINARY OUT.zip [FILES...]" >&2
  exit 2
fi
bin=$1
out=$2
shift 2
[ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 2; }
command -v zip >/dev/null 2>&1 || { echo "$0: zip is not installed" >&2; exit 2; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp "$bin" "$stage/bootstrap"
chmod 755 "$stage/bootstrap"
ldd "$bin" | awk '/=> \// { print $3 }' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcrypto.so*|libssl.so*|libz.so*|libresolv.so*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
for f in "$@"; do cp "$f" "$stage/"; done
rm -f "$out"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$stage" && zip -qr9 "$out_abs" .)
echo "$out: $(du -k "$out_abs" | cut -f1) KiB (bootstrap, $(ls "$stage/lib" | wc -l) libraries in lib/)"
