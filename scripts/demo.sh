#!/usr/bin/env bash
# The main job: install what is missing, build, and run dormc on the shipped
# example schema (check, then print its canonical form).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh" plain
"$here/build/compiler/dormc" --version
