/* utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). DynamoDB strings and attribute names must be valid
 * UTF-8, and a JSON body with broken UTF-8 would be rejected whole. */
#ifndef DORM_UTF8_H
#define DORM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is valid UTF-8. On false, *bad_offset (if not NULL)
 * gets the offset of the first byte of the first invalid sequence. */
bool dorm__utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Length (2..4) of the valid multi-byte sequence starting at s (s[0] >= 0x80),
 * or 0 when it is invalid or truncated (avail bytes are readable). */
static inline size_t dorm_utf8_seq(const unsigned char *s, size_t avail) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t n;
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
    return 0;
  }
  if (avail < n || s[1] < lo || s[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if ((s[k] & 0xC0) != 0x80) return 0;
  return n;
}

/* Number of bytes dorm__utf8_valid() skips as plain ASCII (< 0x80) from the start. */
size_t dorm__utf8_ascii_prefix(const char *s, size_t len);

#endif
