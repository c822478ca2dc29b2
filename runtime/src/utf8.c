#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t dorm_utf8_ascii_prefix(const char *s, size_t len) {
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

bool dorm_utf8_valid(const char *str, size_t len, size_t *bad_offset) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i += dorm_utf8_ascii_prefix(str + i, len - i);
      continue;
    }
    unsigned char c = s[i];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;      /* overlong */
      else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;      /* overlong */
      else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
      goto bad;
    }
    if (len - i < n) goto bad;
    if (s[i + 1] < lo || s[i + 1] > hi) goto bad;
    for (size_t k = 2; k < n; k++)
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
    i += n;
  }
  return true;
bad:
  if (bad_offset) *bad_offset = i;
  return false;
}
