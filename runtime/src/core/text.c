/* The shared text routines (text.h). */
#include "text.h"

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
