#include "base64.h"

static const char ENC_STD[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char ENC_URL[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t dorm__b64_encoded_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  if (groups > SIZE_MAX / 4) return SIZE_MAX;
  return groups * 4;
}

size_t dorm__b64_encode(const uint8_t *in, size_t n, char *out, dorm_b64_alphabet alpha) {
  const char *e = alpha == DORM_B64_URL ? ENC_URL : ENC_STD;
  char *o = out;
  size_t i = 0;
  for (; n - i >= 3; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    o[0] = e[v >> 18];
    o[1] = e[(v >> 12) & 63];
    o[2] = e[(v >> 6) & 63];
    o[3] = e[v & 63];
    o += 4;
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    o[0] = e[v >> 18];
    o[1] = e[(v >> 12) & 63];
    o[2] = '=';
    o[3] = '=';
    o += 4;
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    o[0] = e[v >> 18];
    o[1] = e[(v >> 12) & 63];
    o[2] = e[(v >> 6) & 63];
    o[3] = '=';
    o += 4;
  }
  return (size_t)(o - out);
}

size_t dorm__b64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

/* 0..63 for an alphabet character, -1 otherwise. */
static int dec(unsigned char c, dorm_b64_alphabet alpha) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (alpha == DORM_B64_URL) {
    if (c == '-') return 62;
    if (c == '_') return 63;
  } else {
    if (c == '+') return 62;
    if (c == '/') return 63;
  }
  return -1;
}

bool dorm__b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len,
                     dorm_b64_alphabet alpha, size_t *bad_offset) {
  size_t bad = n;
  if (n % 4 != 0) goto fail;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    bool last = i + 4 == n;
    for (int k = 0; k < 4; k++) {
      unsigned char c = (unsigned char)in[i + k];
      if (c == '=' && last && k >= 2) {
        /* "xx==" or "xxx=": padding only at the very end. */
        if (k == 2 && in[i + 3] != '=') { bad = i + 2; goto fail; }
        v[k] = -2;
        continue;
      }
      v[k] = dec(c, alpha);
      if (v[k] < 0) { bad = i + (size_t)k; goto fail; }
    }
    if (v[2] == -2) {
      if (v[1] & 15) { bad = i + 1; goto fail; } /* nonzero unused bits */
      out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
    } else if (v[3] == -2) {
      if (v[2] & 3) { bad = i + 2; goto fail; }
      out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
      out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
    } else {
      out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
      out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
      out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
    }
  }
  *out_len = o;
  return true;
fail:
  if (bad_offset) *bad_offset = bad;
  return false;
}
