/* text: the small text routines every layer shares.
 *
 *   - hex digits and hex encoding (SigV4, request tokens, checksums, escapes);
 *   - the printf behind every error message written into a caller's buffer.
 */
#ifndef DORM_TEXT_H
#define DORM_TEXT_H

#include <stdarg.h>
#include <stddef.h>

#include "dorm/status.h"

#if defined(__GNUC__)
#define DORM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DORM__PRINTF(f, a)
#endif

/* ---- hex ---- */

/* "0123456789abcdef" and "0123456789ABCDEF" (17 bytes with the NUL). */
extern const char dorm__hex_lower[17];
extern const char dorm__hex_upper[17];

/* Writes the lowercase hex of in[0..n) and a NUL into out (2n + 1 bytes,
 * the caller's). Cannot fail. */
void dorm__hex_encode(const void *in, size_t n, char *out);

/* ---- error messages ----
 * A fallible call describes its failure in one line in a buffer its caller
 * owns (errbuf, errcap bytes). These write it: truncated to fit and always
 * NUL-terminated; nothing at all when errbuf is NULL or errcap is 0. They
 * cannot fail. */

void dorm__set_err(char *errbuf, size_t errcap, const char *fmt, ...) DORM__PRINTF(3, 4);
void dorm__vset_err(char *errbuf, size_t errcap, const char *fmt, va_list ap);

/* "<prefix>: <message>" (the prefix first, the message in what room is left). */
void dorm__vset_err_prefixed(char *errbuf, size_t errcap, const char *prefix, const char *fmt, va_list ap);

/* Writes the message and returns st: return dorm__fail(errbuf, errcap, DORM_ERR_IO, "...", ...); */
dorm_status dorm__fail(char *errbuf, size_t errcap, dorm_status st, const char *fmt, ...) DORM__PRINTF(4, 5);

/* For state with a sticky status (builders, writers, readers): the first
 * error wins. When *status is DORM_OK, sets it to st and writes the message;
 * otherwise changes nothing. Returns *status. */
dorm_status dorm__fail_first(dorm_status *status, char *errbuf, size_t errcap, dorm_status st, const char *fmt, ...)
    DORM__PRINTF(5, 6);
dorm_status dorm__vfail_first(dorm_status *status, char *errbuf, size_t errcap, dorm_status st, const char *fmt,
                              va_list ap);

#endif
