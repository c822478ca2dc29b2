/* crc32.c: the response body's CRC-32 without zlib's tables on the hot path.
 *
 * zlib 1.2.13's crc32 is fast with hot caches, but its braided tables are
 * 16 KB, and a client that waits on the network between requests finds
 * them evicted every time: under callgrind's cache model they were the
 * largest single source of a GetItem's L1 data misses (bench/README.md).
 * Folding with PCLMULQDQ touches only the body.
 *
 * The math, in the reflected bit order CRC-32 uses (the first bit of the
 * stream is the highest power): a 16-byte accumulator A whose first 8 bytes
 * are lo and last 8 are hi stands for lo * x^64 + hi. Moving it 128 bits on
 * (to add the next block) is A * x^128 mod P = lo * x^192 + hi * x^128, and
 * a reflected carry-less multiply of two 64-bit halves yields their product
 * times x, so the constants are x^191 mod P and x^127 mod P, bit-reversed
 * to 64 bits. The accumulator stays congruent to the message read so far;
 * the CRC of its 16 bytes followed by the tail (< 16 bytes), computed four
 * bits at a time from a 16-entry table, is the message's. zlib's initial
 * register (~0) is the same as XOR-ing ~0 into the first four bytes.
 * test_crc32 compares every length from 0 to 4 KB, at every alignment,
 * with zlib. */
#include "crc32.h"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* x^4-step table of the reflected polynomial 0xEDB88320: entry i is the
 * register after shifting i out four bits. */
static const uint32_t nibble_table[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* Continues the reflected CRC register r over p[0..n), four bits a step. */
static uint32_t by_nibbles(uint32_t r, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    r ^= p[i];
    r = (r >> 4) ^ nibble_table[r & 15];
    r = (r >> 4) ^ nibble_table[r & 15];
  }
  return r;
}

#define FOLD_LO UINT64_C(0x65673b4600000000) /* bit-reversed x^191 mod P */
#define FOLD_HI UINT64_C(0x9ba54c6f00000000) /* bit-reversed x^127 mod P */

/* n >= 16. */
__attribute__((target("pclmul,sse2"))) static uint32_t fold_clmul(const unsigned char *p, size_t n) {
  const __m128i k = _mm_set_epi64x((long long)FOLD_HI, (long long)FOLD_LO);
  __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_cvtsi32_si128(-1));
  p += 16;
  n -= 16;
  for (; n >= 16; p += 16, n -= 16) {
    __m128i lo = _mm_clmulepi64_si128(a, k, 0x00); /* a's first 8 bytes times x^191 */
    __m128i hi = _mm_clmulepi64_si128(a, k, 0x11); /* its last 8 times x^127 */
    a = _mm_xor_si128(_mm_xor_si128(lo, hi), _mm_loadu_si128((const __m128i *)(const void *)p));
  }
  unsigned char acc[16];
  _mm_storeu_si128((__m128i *)(void *)acc, a);
  return ~by_nibbles(by_nibbles(0, acc, sizeof acc), p, n);
}
#endif

uint32_t dorm__crc32(const void *data, size_t n) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (n >= 16 && __builtin_cpu_supports("pclmul")) return fold_clmul(data, n);
#endif
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
