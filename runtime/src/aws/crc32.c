/* crc32.c: the response body's CRC-32 without zlib's tables on the hot path.
 *
 * zlib 1.2.13's crc32 is fast with hot caches, but its braided tables are
 * 16 KB, and a client that waits on the network between requests finds
 * them evicted every time: under callgrind's cache model they were the
 * largest single source of a GetItem's L1 data misses (bench/notes/get-put.md).
 * libdeflate's crc32 folds with carry-less multiplies (PCLMULQDQ on x86-64,
 * the CRC32 instructions on arm64, chosen at run time) and touches almost
 * nothing but the body, so it is used when the build found it
 * (DORM_HAVE_LIBDEFLATE; Debian's libdeflate-dev); zlib's otherwise (the
 * Lambda arm64 cross build, systems without it). test_crc32 compares every
 * length from 0 to 4 KB, at every alignment, with zlib. */
#include "crc32.h"

#include "core_internal.h" /* DORM__HOT (core/buf.h) */

#ifdef DORM_HAVE_LIBDEFLATE
#include <libdeflate.h>

DORM__HOT uint32_t dorm__crc32(const void *data, size_t n) { return libdeflate_crc32(0, data, n); }

#else
#include <zlib.h>

DORM__HOT
uint32_t dorm__crc32(const void *data, size_t n) {
  /* zlib takes uInt lengths: feed it in pieces that fit. */
  const unsigned char *p = data;
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)crc;
}
#endif
