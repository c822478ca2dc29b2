# Cross-compiling dorm for 64-bit Arm Linux (AWS Lambda arm64, Graviton) on a
# Debian or Ubuntu x86_64 host, with the distribution's cross compiler
# (gcc-aarch64-linux-gnu) and the arm64 -dev packages installed side by side
# through multiarch (dpkg --add-architecture arm64; libcurl4-openssl-dev:arm64
# ...). scripts/lambda-package.sh --build installs them and uses this file:
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DDORMC_EXECUTABLE=/path/to/host/dormc
#
# DORMC_EXECUTABLE: dorm_generate runs dormc at build time, so a cross build
# needs one that runs on the host (the arm64 dormc is built all the same).
# Headers are shared between the architectures (/usr/include, plus
# /usr/include/aarch64-linux-gnu for the few that differ); libraries and
# pkg-config files live in /usr/lib/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# find_library/find_path look in the multiarch directories of /usr; programs
# (bison, flex, node) are the host's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must not answer with the host's .pc files: only arm64's (and
# the architecture-independent ones). PKG_CONFIG_PATH, searched first,
# stays free for extra prefixes (a minimal libcurl, an unpacked -dev package).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# Programs built here run under qemu-user when it is installed
# (qemu-user-static: `ctest` and try_run work on the host).
find_program(DORM_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(DORM_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${DORM_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
