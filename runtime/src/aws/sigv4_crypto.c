#include "sigv4_crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

bool dorm__sigv4_sha256(const void *data, size_t len, unsigned char out[DORM_SIGV4_HASH_LEN]) {
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == DORM_SIGV4_HASH_LEN;
}

bool dorm__sigv4_hmac(const void *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[DORM_SIGV4_HASH_LEN]) {
  size_t n = 0;
  return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, out,
                   DORM_SIGV4_HASH_LEN, &n) != NULL &&
         n == DORM_SIGV4_HASH_LEN;
}

bool dorm__sigv4_derive_key(const char *secret, size_t secret_len, const char *date8,
                           const char *region, const char *service,
                           unsigned char key[DORM_SIGV4_HASH_LEN]) {
  unsigned char stack_seed[4 + 256];
  unsigned char *seed = stack_seed;
  size_t seed_len = 4 + secret_len;
  if (secret_len > 256) {
    seed = malloc(seed_len);
    if (seed == NULL)
      return false;
  }
  memcpy(seed, "AWS4", 4);
  memcpy(seed + 4, secret, secret_len);

  unsigned char k1[DORM_SIGV4_HASH_LEN], k2[DORM_SIGV4_HASH_LEN], k3[DORM_SIGV4_HASH_LEN];
  bool ok = dorm__sigv4_hmac(seed, seed_len, date8, strlen(date8), k1) &&
            dorm__sigv4_hmac(k1, sizeof k1, region, strlen(region), k2) &&
            dorm__sigv4_hmac(k2, sizeof k2, service, strlen(service), k3) &&
            dorm__sigv4_hmac(k3, sizeof k3, "aws4_request", 12, key);
  OPENSSL_cleanse(seed, seed_len);
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  OPENSSL_cleanse(k3, sizeof k3);
  if (seed != stack_seed)
    free(seed);
  return ok;
}
