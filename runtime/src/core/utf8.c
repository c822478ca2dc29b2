#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t dorm__utf8_ascii_prefix(const char *s, size_t len) {
  size_t i = 0;
  /* Eight bytes at a time: any high bit means a multi-byte sequence starts. */
  while (len - i >= 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & UINT64_C(0x8080808080808080)) break;
    i += 8;
  }
  while (i < len && (unsigned char)s[i] < 0x80) i++;
  return i;
}

bool dorm__utf8_valid(const char *str, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i += dorm__utf8_ascii_prefix(str + i, len - i);
      continue;
    }
    size_t n = dorm_utf8_seq(s + i, len - i);
    if (n == 0) goto bad;
    i += n;
  }
  return true;
bad:
  if (bad_offset) *bad_offset = i;
  return false;
}
