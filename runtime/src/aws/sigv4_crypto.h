/* sigv4_crypto: the SHA-256 and HMAC-SHA256 helpers SigV4 is made of,
 * as thin wrappers over OpenSSL (EVP digests and EVP_MAC). Internal to the
 * sigv4 module. */
#ifndef DORM_SIGV4_CRYPTO_H
#define DORM_SIGV4_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define DORM_SIGV4_HASH_LEN 32

/* out = SHA-256(data). False only if OpenSSL fails. */
bool dorm__sigv4_sha256(const void *data, size_t len, unsigned char out[DORM_SIGV4_HASH_LEN]);

/* out = HMAC-SHA256(key, data). False only if OpenSSL fails. */
bool dorm__sigv4_hmac(const void *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[DORM_SIGV4_HASH_LEN]);

/* The SigV4 signing key: HMAC chain over "AWS4"+secret, the date (YYYYMMDD),
 * region, service and "aws4_request". False if OpenSSL fails or memory runs
 * out (secrets over 256 bytes need a heap copy). The intermediate keys are
 * wiped. */
bool dorm__sigv4_derive_key(const char *secret, size_t secret_len, const char *date8,
                           const char *region, const char *service,
                           unsigned char key[DORM_SIGV4_HASH_LEN]);

#endif
