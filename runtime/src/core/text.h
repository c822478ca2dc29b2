/* text: the small text routines every layer shares.
 *
 *   - hex digits and hex encoding (SigV4, request tokens, checksums, escapes);
 *   - the printf behind every error message written into a caller's buffer;
 *   - JSON string escaping, one escaper with flags for each caller's rules
 *     (request bodies, canonical JSON, migration files, Go-compatible cursors).
 */
#ifndef DORM_TEXT_H
#define DORM_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
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

/* ---- JSON strings ---- */

enum {
  DORM_JSON_ESC_SHORT_BF = 1u << 0,   /* \b and \f as such (else \u0008 and \u000c) */
  DORM_JSON_ESC_UTF8_CHECK = 1u << 1, /* invalid UTF-8 fails the call */
  DORM_JSON_ESC_UTF8_FIX = 1u << 2,   /* each byte of invalid UTF-8 becomes \ufffd */
  DORM_JSON_ESC_HTML = 1u << 3,       /* < > & as \u003c \u003e \u0026 */
  DORM_JSON_ESC_LINE_SEPS = 1u << 4,  /* U+2028 and U+2029 as \u2028 and \u2029 */
  DORM_JSON_ESC_NO_NUL = 1u << 5,     /* a NUL byte fails the call as invalid UTF-8 does */
};
/* RFC 8259 text of valid UTF-8: request bodies and canonical JSON. */
#define DORM_JSON_ESC_STRICT (DORM_JSON_ESC_SHORT_BF | DORM_JSON_ESC_UTF8_CHECK)
/* Go's encoding/json (json.Marshal): DynamORM's pagination cursors. */
#define DORM_JSON_ESC_GO (DORM_JSON_ESC_UTF8_FIX | DORM_JSON_ESC_HTML | DORM_JSON_ESC_LINE_SEPS)

/* Appends s[0..len) to b as the inside of a JSON string (no quotes). Always
 * escaped: " and \ (as \" and \\), \n \r \t, every other byte below 0x20
 * as \u00xx (lowercase hex); the flags add the rest. Without a UTF8 flag,
 * bytes from 0x80 up are copied as they are. Returns false when b failed
 * (dorm__buf_ok(b) is then false) or, with DORM_JSON_ESC_UTF8_CHECK, when s is
 * not valid UTF-8 (or, with DORM_JSON_ESC_NO_NUL, holds a NUL byte): *bad
 * (may be NULL) gets the offset of the first bad byte and the text before it
 * has been appended. */
bool dorm__json_escape(dorm__buf *b, const char *s, size_t len, unsigned flags, size_t *bad);

/* SWAR: whether one of the 8 bytes in x needs a look before it goes into a
 * JSON string as it is (below 0x20, '"', '\\', or from 0x80 up). May say yes
 * for a word that needs nothing; never says no for one that does. */
static inline bool dorm__json_word_special(uint64_t x) {
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
  uint64_t t = (x - ones * 0x20) | (quote - ones) | (bslash - ones) | x;
  return (t & highs) != 0;
}

/* A word holding every byte of s[0..len) (len < 8) at least once, in no
 * particular order, and 'a' in the bytes left over: what the word checks
 * here and in json_write.c need to judge a short string in one go rather
 * than byte by byte (names and short values are most of an item). Reads
 * only s[0..len). */
static inline uint64_t dorm__short_word(const char *s, size_t len) {
  const uint64_t pad = UINT64_C(0x6161616161616161);
  if (len >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + len - 4, 4);
    return a | (uint64_t)b << 32;
  }
  if (len >= 2) {
    uint16_t a, b;
    memcpy(&a, s, 2);
    memcpy(&b, s + len - 2, 2);
    return (pad << 32) | (uint64_t)b << 16 | a;
  }
  return len ? (pad << 8) | (unsigned char)s[0] : pad;
}

/* Copies s[0..len) (len < 8) to o, with the loads of dorm__short_word. */
static inline void dorm__short_copy(char *o, const char *s, size_t len) {
  if (len >= 4) {
    memcpy(o, s, 4);
    memcpy(o + len - 4, s + len - 4, 4);
  } else if (len >= 2) {
    memcpy(o, s, 2);
    memcpy(o + len - 2, s + len - 2, 2);
  } else if (len) {
    o[0] = s[0];
  }
}

/* Copies s[0..len) to o (len bytes, the caller's) when it is printable ASCII
 * without '"' and '\\', i.e. needs no escaping under any flags but
 * DORM_JSON_ESC_HTML. False otherwise; o may then hold part of it. Words
 * throughout, no byte loop: a string under 8 bytes is one dorm__short_word,
 * a longer one ends with a word at len - 8, overlapping the one before. */
#if defined(__GNUC__)
__attribute__((always_inline)) /* gcc made it a call once it grew the short case: +1k instructions a bulk item */
#endif
static inline bool dorm__json_plain_copy(char *o, const char *s, size_t len) {
  uint64_t x;
  if (len < 8) {
    if (dorm__json_word_special(dorm__short_word(s, len))) return false;
    dorm__short_copy(o, s, len);
    return true;
  }
  /* The words before the last, then the last, always at len - 8 (it may
   * overlap the one before): no test of whether a tail is left, a branch
   * that went either way with each string's length (bulk item: 26 branches
   * and 5.6 mispredicted ones fewer under callgrind, with ascii_only's). */
  for (size_t i = 0; i + 8 < len; i += 8) {
    memcpy(&x, s + i, 8);
    if (dorm__json_word_special(x)) return false;
    memcpy(o + i, &x, 8);
  }
  memcpy(&x, s + len - 8, 8);
  if (dorm__json_word_special(x)) return false;
  memcpy(o + len - 8, &x, 8);
  return true;
}

#endif
