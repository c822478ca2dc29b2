/* dorm__crc32 (aws/crc32.c) against zlib's crc32: every length from 0 to
 * 4 KB + 64 at every alignment within 16 bytes, over random bytes, all-ones
 * and all-zeros, and the standard check value. On x86-64 with PCLMULQDQ
 * this is the folding path (every length from 16 up) and its tail; below 16
 * bytes, and elsewhere, zlib's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "crc32.h"

#define MAXLEN (4096 + 64)

static void check_value(void **state) {
  (void)state;
  assert_int_equal(dorm__crc32("123456789", 9), 0xCBF43926u);
  assert_int_equal(dorm__crc32("", 0), 0u);
  const char *s = "{\"Item\":{\"pk\":{\"S\":\"CUSTOMER#000123456\"}}}"; /* > 16 bytes: folded */
  assert_int_equal(dorm__crc32(s, strlen(s)), (uint32_t)crc32(0L, (const Bytef *)s, (uInt)strlen(s)));
}

static void fill_and_compare(unsigned char *buf, const char *what) {
  for (size_t off = 0; off < 16; off++)
    for (size_t n = 0; n + off <= MAXLEN; n++) {
      uint32_t want = (uint32_t)crc32(0L, buf + off, (uInt)n);
      uint32_t got = dorm__crc32(buf + off, n);
      if (got != want) fail_msg("%s: offset %zu length %zu: %08x, zlib %08x", what, off, n, got, want);
    }
}

static void matches_zlib_everywhere(void **state) {
  (void)state;
  static unsigned char buf[MAXLEN + 16];
  srand(13);
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(rand() >> 7);
  fill_and_compare(buf, "random");
  memset(buf, 0xff, sizeof buf);
  fill_and_compare(buf, "ones");
  memset(buf, 0, sizeof buf);
  fill_and_compare(buf, "zeros");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(check_value),
      cmocka_unit_test(matches_zlib_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
