/* kms: the two AWS KMS calls encrypted attributes need (issue 15),
 * GenerateDataKey (KeySpec AES_256) and Decrypt, over a client's
 * credentials, transport and retry policy: AWS JSON 1.1, X-Amz-Target
 * "TrentService.<Operation>", SigV4 for service "kms" in the client's region.
 * Failures are reported through the client (the one error rule), named
 * "kms <Operation>", with KMS's error code in dorm_client_error_code(). */
#ifndef DORM_KMS_H
#define DORM_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/client.h"

#define DORM__KMS_DATA_KEY_LEN 32

/* Where KMS requests go: endpoint_url when given, else the environment's
 * AWS_ENDPOINT_URL_KMS, else https://kms.<region>.amazonaws.com. Written
 * into out (cap bytes); false when it does not fit or there is no region. */
bool dorm__kms_endpoint(const dorm_client *c, const char *endpoint_url, char *out, size_t cap);

/* GenerateDataKey: a fresh 256-bit data key in plaintext (key) and
 * encrypted under key_id (*edk, in a). The plaintext never stays anywhere
 * else in memory: the response text that carried it is wiped. */
dorm_status dorm__kms_generate_data_key(dorm_client *c, const char *endpoint, const char *key_id,
                                        uint8_t key[DORM__KMS_DATA_KEY_LEN], dorm_arena *a, dorm_str *edk);

/* Decrypt: the data key inside edk, which must be a key of key_id (KMS
 * refuses another with IncorrectKeyException). */
dorm_status dorm__kms_decrypt(dorm_client *c, const char *endpoint, const char *key_id, dorm_str edk,
                              uint8_t key[DORM__KMS_DATA_KEY_LEN]);

#endif
