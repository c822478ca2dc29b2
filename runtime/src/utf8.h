/* utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). DynamoDB strings and attribute names must be valid
 * UTF-8, and a JSON body with broken UTF-8 would be rejected whole. */
#ifndef DORM_UTF8_H
#define DORM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is valid UTF-8. On false, *bad_offset (if not NULL)
 * gets the offset of the first byte of the first invalid sequence. */
bool dorm_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Number of bytes dorm_utf8_valid() skips as plain ASCII (< 0x80) from the start. */
size_t dorm_utf8_ascii_prefix(const char *s, size_t len);

#endif
