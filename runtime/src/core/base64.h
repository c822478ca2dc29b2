/* base64: RFC 4648 base64 in the standard alphabet (DynamoDB's B/BS values)
 * and the URL-safe alphabet (DynamORM's pagination cursor), both with '='
 * padding. Decoding is strict: the exact alphabet, length a multiple of 4,
 * correct padding, no whitespace, and unused trailing bits must be zero, so
 * every byte string has exactly one accepted encoding. */
#ifndef DORM_BASE64_H
#define DORM_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dorm_b64_alphabet {
  DORM_B64_STD = 0, /* A-Z a-z 0-9 + / */
  DORM_B64_URL = 1  /* A-Z a-z 0-9 - _ */
} dorm_b64_alphabet;

/* Length of the padded encoding of n bytes (no NUL), or SIZE_MAX on overflow. */
size_t dorm__b64_encoded_len(size_t n);

/* Writes the padded encoding of in[0..n) to out (dorm__b64_encoded_len(n) bytes,
 * no NUL added). Returns the number of characters written. */
size_t dorm__b64_encode(const uint8_t *in, size_t n, char *out, dorm_b64_alphabet alpha);

/* Upper bound on the decoded length of n characters. */
size_t dorm__b64_decoded_max(size_t n);

/* Decodes in[0..n) into out (room for dorm__b64_decoded_max(n) bytes); *out_len
 * gets the decoded length. Returns false on any malformed input; then
 * *bad_offset (if not NULL) is the offset of the offending character (or n
 * when the length is wrong). out may be written to even on failure. */
bool dorm__b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len,
                     dorm_b64_alphabet alpha, size_t *bad_offset);

#endif
