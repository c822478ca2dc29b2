/* The shared text routines (text.h). */
#include "text.h"

#include <stdio.h>

#include "utf8.h"

/* ---- hex ---- */

const char dorm__hex_lower[17] = "0123456789abcdef";
const char dorm__hex_upper[17] = "0123456789ABCDEF";

DORM__HOT
void dorm__hex_encode(const void *in, size_t n, char *out) {
  const unsigned char *u = in;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = dorm__hex_lower[u[i] >> 4];
    out[2 * i + 1] = dorm__hex_lower[u[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ---- error messages ---- */

void dorm__vset_err(char *errbuf, size_t errcap, const char *fmt, va_list ap) {
  if (errbuf && errcap) vsnprintf(errbuf, errcap, fmt, ap);
}

void dorm__set_err(char *errbuf, size_t errcap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err(errbuf, errcap, fmt, ap);
  va_end(ap);
}

void dorm__vset_err_prefixed(char *errbuf, size_t errcap, const char *prefix, const char *fmt, va_list ap) {
  if (!errbuf || !errcap) return;
  int n = snprintf(errbuf, errcap, "%s: ", prefix);
  if (n >= 0 && (size_t)n < errcap) vsnprintf(errbuf + n, errcap - (size_t)n, fmt, ap);
}

dorm_status dorm__fail(char *errbuf, size_t errcap, dorm_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err(errbuf, errcap, fmt, ap);
  va_end(ap);
  return st;
}

dorm_status dorm__vfail_first(dorm_status *status, char *errbuf, size_t errcap, dorm_status st, const char *fmt,
                              va_list ap) {
  if (*status != DORM_OK) return *status;
  *status = st;
  dorm__vset_err(errbuf, errcap, fmt, ap);
  return st;
}

dorm_status dorm__fail_first(dorm_status *status, char *errbuf, size_t errcap, dorm_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  st = dorm__vfail_first(status, errbuf, errcap, st, fmt, ap);
  va_end(ap);
  return st;
}

/* ---- JSON strings ---- */

static inline bool json_plain(unsigned char c, unsigned flags) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' &&
         !((flags & DORM_JSON_ESC_HTML) && (c == '<' || c == '>' || c == '&'));
}

/* What the byte at u[i] (not plain) becomes: written to o (6 bytes at most),
 * its length returned, the input bytes it stands for in *used. SIZE_MAX when
 * it starts invalid UTF-8 under DORM_JSON_ESC_UTF8_CHECK, or is NUL under
 * DORM_JSON_ESC_NO_NUL. */
static size_t json_special(const unsigned char *u, size_t i, size_t len, unsigned flags, char *o, size_t *used) {
  unsigned char c = u[i];
  *used = 1;
  if (c < 0x80) {
    if (c == 0 && (flags & DORM_JSON_ESC_NO_NUL)) return SIZE_MAX;
    o[0] = '\\';
    switch (c) {
    case '"': o[1] = '"'; return 2;
    case '\\': o[1] = '\\'; return 2;
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    case '\b':
    case '\f':
      if (flags & DORM_JSON_ESC_SHORT_BF) {
        o[1] = c == '\b' ? 'b' : 'f';
        return 2;
      }
      break;
    default: break;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = dorm__hex_lower[c >> 4];
    o[5] = dorm__hex_lower[c & 15];
    return 6;
  }
  size_t n = dorm_utf8_seq(u + i, len - i);
  if (n == 0) {
    if (flags & DORM_JSON_ESC_UTF8_FIX) {
      memcpy(o, "\\ufffd", 6);
      return 6;
    }
    if (flags & DORM_JSON_ESC_UTF8_CHECK) return SIZE_MAX;
    o[0] = (char)c;
    return 1;
  }
  *used = n;
  /* U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: E2 80 A8/A9. */
  if ((flags & DORM_JSON_ESC_LINE_SEPS) && n == 3 && c == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] & 0xFE) == 0xA8) {
    memcpy(o, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
    return 6;
  }
  memcpy(o, u + i, n);
  return n;
}

/* For strings whose worst case (6 bytes a byte) does not fit under the bound
 * at once although the real text may: appends run by run. */
static bool escape_slow(dorm__buf *b, const unsigned char *u, size_t len, unsigned flags, size_t *bad) {
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && json_plain(u[i], flags)) i++;
    if (i > start && !dorm__buf_put(b, u + start, i - start)) return false;
    if (i == len) break;
    char esc[6];
    size_t used, n = json_special(u, i, len, flags, esc, &used);
    if (n == SIZE_MAX) {
      *bad = i;
      return false;
    }
    if (!dorm__buf_put(b, esc, n)) return false;
    i += used;
  }
  return true;
}

bool dorm__json_escape(dorm__buf *b, const char *s, size_t len, unsigned flags, size_t *bad) {
  size_t bad_at;
  if (!bad) bad = &bad_at;
  const unsigned char *u = (const unsigned char *)s;
  if (len > (b->max - b->len) / 6 || !dorm__buf_reserve(b, len * 6)) return escape_slow(b, u, len, flags, bad);
  /* One reservation covers any escaping, so the loop writes without checks. */
  char *o = b->p + b->len;
  bool words = !(flags & DORM_JSON_ESC_HTML); /* the word test does not look for < > & */
  bool ok = true;
  size_t i = 0;
  while (i < len) {
    while (words && len - i >= 8) {
      uint64_t x;
      memcpy(&x, u + i, 8);
      if (dorm__json_word_special(x)) break;
      memcpy(o, &x, 8);
      o += 8;
      i += 8;
    }
    /* Up to the byte that stopped the word loop, then back to words. */
    size_t lim = len - i > 8 ? i + 8 : len;
    while (i < lim && json_plain(u[i], flags)) *o++ = (char)u[i++];
    if (i == len) break;
    if (i == lim) continue;
    size_t used, n = json_special(u, i, len, flags, o, &used);
    if (n == SIZE_MAX) {
      *bad = i;
      ok = false;
      break;
    }
    o += n;
    i += used;
  }
  b->len = (size_t)(o - b->p);
  b->p[b->len] = '\0';
  return ok;
}
