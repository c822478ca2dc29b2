/* The shared text routines (text.h). */
#include "text.h"

#include <stdio.h>

/* ---- hex ---- */

const char dorm__hex_lower[17] = "0123456789abcdef";
const char dorm__hex_upper[17] = "0123456789ABCDEF";

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
