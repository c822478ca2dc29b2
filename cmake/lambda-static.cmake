# The Lambda bootstrap's link (scripts/lambda-package.sh --build passes it as
# CMAKE_PROJECT_INCLUDE, so it is read right after project()): everything
# but glibc linked statically, so that a cold start maps two shared objects
# (libc, the dynamic linker) instead of forty and resolves no symbols of
# libcurl's dependency tree (bench/lambda: most of the cold start and of the RSS was
# the dynamic linker and the constructors of Debian's libcurl dependencies).
#
# libcurl is the minimal one the script builds (HTTP and HTTPS over OpenSSL,
# nothing else; its libcurl.pc comes first on PKG_CONFIG_PATH). glibc stays
# shared: a static glibc would load the NSS modules of whatever glibc the
# Lambda image has. cJSON has no static archive in Debian: the script builds
# one from its source package (its libcjson.pc comes first as well).

# find_library (also pkg_check_modules' IMPORTED_TARGET) prefers archives.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a .so)
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(ZLIB_USE_STATIC_LIBS TRUE)

# pkg-config names direct dependencies only: what the archives of libcurl
# and libwebsockets need comes last on the link line.
# DORM_LAMBDA_LIBDIR: where an unpacked -dev package keeps archives that the
# system lacks (libwebsockets' arm64 one: its -dev package cannot be
# installed next to the host's).
set(dorm_lambda_libdir "")
if(DEFINED ENV{DORM_LAMBDA_LIBDIR})
  set(dorm_lambda_libdir "-L$ENV{DORM_LAMBDA_LIBDIR}")
endif()
set(CMAKE_C_STANDARD_LIBRARIES
    "${dorm_lambda_libdir} -Wl,-Bstatic -lwebsockets -lcap -lssl -lcrypto -lz -Wl,-Bdynamic -ldl -pthread"
    CACHE STRING "" FORCE)

# Fewer pages to map and relocate: drop unused sections, sort relocations,
# and executables at a fixed address (no PIE: the relative relocations of a
# PIE touched 100 more pages at every start, 259 page faults instead of 159).
add_link_options(-Wl,-O1 -Wl,--gc-sections -Wl,--as-needed -Wl,--hash-style=gnu)
string(APPEND CMAKE_EXE_LINKER_FLAGS " -no-pie")
add_compile_options(-ffunction-sections -fdata-sections)

# On Lambda the binary serves no WebSocket (API Gateway holds the
# connections): the local server's libev loop is left out, and with it libev.
set(DORM_STREAMER_LIBEV OFF CACHE BOOL "" FORCE)
