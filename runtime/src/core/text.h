/* text: the small text routines every layer shares.
 *
 *   - hex digits and hex encoding (SigV4, request tokens, checksums, escapes);
 */
#ifndef DORM_TEXT_H
#define DORM_TEXT_H

#include <stddef.h>

/* ---- hex ---- */

/* "0123456789abcdef" and "0123456789ABCDEF" (17 bytes with the NUL). */
extern const char dorm__hex_lower[17];
extern const char dorm__hex_upper[17];

/* Writes the lowercase hex of in[0..n) and a NUL into out (2n + 1 bytes,
 * the caller's). Cannot fail. */
void dorm__hex_encode(const void *in, size_t n, char *out);

#endif
