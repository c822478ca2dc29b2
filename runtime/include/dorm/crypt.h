/* dorm/crypt.h: encrypted attributes, compatible with DynamORM (issue 15).
 *
 * A dorm_crypt encrypts attribute values into DynamORM's envelope
 * (M{v: N "1", edk: B, nonce: B, ct: B}: AES-256-GCM under a KMS data key,
 * the attribute's name as AAD) and opens them, for one KMS key, through one
 * client (its credentials, region, transport and retries; use it from the
 * client's thread only). Its failures are reported through the client
 * (dorm_client_errmsg), and fail closed: no KMS key, a KMS error, a bad
 * envelope, another attribute's envelope, a wrong key or tag give an error,
 * never a plaintext value.
 *
 * DynamORM calls KMS GenerateDataKey for every encrypted value and Decrypt
 * for every read one. A dorm_crypt instead reuses one data key for up to
 * max_uses encryptions or max_age_ms, whichever ends first, and keeps the
 * data keys it decrypted (and generated), by their encrypted form, in a
 * least-recently-used cache of cache_size entries that also expire after
 * max_age_ms: reading many items written under one data key costs one
 * Decrypt. Every plaintext data key is wiped (OPENSSL_cleanse) when it is
 * retired, evicted or freed. With no_cache the behaviour is DynamORM's. */
#ifndef DORM_CRYPT_H
#define DORM_CRYPT_H

#include <stdbool.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/client.h"
#include "dorm/export.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dorm_crypt dorm_crypt;

/* Defaults, used for the zero values of dorm_crypt_opts. */
#define DORM_CRYPT_DEFAULT_MAX_USES 100u      /* encryptions per data key */
#define DORM_CRYPT_DEFAULT_MAX_AGE_MS 60000u  /* a data key's use, and a cached key's life */
#define DORM_CRYPT_DEFAULT_CACHE_SIZE 64u     /* decrypted data keys kept */

typedef struct dorm_crypt_opts {
  /* KMS key: key ARN, alias ARN, "alias/name" or key id (what the schema's
   * @encrypted("...") names). NULL: the environment's DORM_KMS_KEY_ID. */
  const char *kms_key_id;
  /* NULL: the environment's AWS_ENDPOINT_URL_KMS, else
   * https://kms.<region>.amazonaws.com. */
  const char *kms_endpoint_url;
  bool no_cache;        /* DynamORM's behaviour: a data key per value, a Decrypt per read */
  uint32_t max_uses;    /* 0: DORM_CRYPT_DEFAULT_MAX_USES */
  uint32_t max_age_ms;  /* 0: DORM_CRYPT_DEFAULT_MAX_AGE_MS */
  uint32_t cache_size;  /* 0: DORM_CRYPT_DEFAULT_CACHE_SIZE */
} dorm_crypt_opts;

typedef struct dorm_crypt_stats {
  uint64_t encryptions, decryptions;
  uint64_t kms_generate_data_key, kms_decrypt; /* KMS calls that succeeded */
  uint64_t cache_hits;                         /* decryptions without a KMS call */
  uint64_t keys_wiped;                         /* data keys retired or evicted */
} dorm_crypt_stats;

/* A context for client c (borrowed: it must outlive the context). o may be
 * NULL (everything from the environment). DORM_ERR_ENCRYPTION_NOT_CONFIGURED
 * when there is no KMS key, reported through c. */
DORM_API dorm_status dorm_crypt_new(dorm_client *c, const dorm_crypt_opts *o, dorm_crypt **out);
/* Wipes every data key it holds and frees it. NULL is ignored. */
DORM_API void dorm_crypt_free(dorm_crypt *k);

/* v as attribute attr's envelope (*envelope, in a). */
DORM_API dorm_status dorm_crypt_encrypt(dorm_crypt *k, const char *attr, const dorm_av *v, dorm_arena *a,
                                        dorm_av *envelope);
/* Attribute attr's envelope back to its value (*out, in a).
 * DORM_ERR_BAD_ENVELOPE when it is not one of this attribute's envelopes or
 * does not verify. */
DORM_API dorm_status dorm_crypt_decrypt(dorm_crypt *k, const char *attr, const dorm_av *envelope, dorm_arena *a,
                                        dorm_av *out);

/* The encrypted attributes of a whole item (an M), in place: each of
 * attrs[0..n) the item has is replaced by its envelope (encrypt) or by its
 * value (decrypt); absent ones are skipped. On failure the item is made
 * invalid (type DORM_AV_INVALID), so that it cannot be written or used by
 * mistake with some attributes still in plaintext. */
DORM_API dorm_status dorm_crypt_encrypt_item(dorm_crypt *k, dorm_av *item, const char *const *attrs, size_t n,
                                             dorm_arena *a);
DORM_API dorm_status dorm_crypt_decrypt_item(dorm_crypt *k, dorm_av *item, const char *const *attrs, size_t n,
                                             dorm_arena *a);

/* After moving to a new KMS key (a new key id, or an alias pointed at
 * another key), the items sealed under the old one: k also decrypts data
 * keys of key_id (copied; by key ARN when the alias moved), trying it
 * when KMS answers that a data key is not of k's own key
 * (IncorrectKeyException): one more Decrypt per such data key, then
 * cached. Encryption stays under k's own key. Up to
 * DORM_CRYPT_MAX_READ_KEYS; adding k's own key or one twice does nothing. */
#define DORM_CRYPT_MAX_READ_KEYS 8
DORM_API dorm_status dorm_crypt_add_read_key(dorm_crypt *k, const char *key_id);

DORM_API void dorm_crypt_get_stats(const dorm_crypt *k, dorm_crypt_stats *out);
/* The KMS key it encrypts under (owned by k). */
DORM_API const char *dorm_crypt_key_id(const dorm_crypt *k);

/* ---- encrypted fields of generated models (dorm/model.h) ----
 *
 * Every model operation (put, create, get, delete, update, query, scan,
 * batch and transaction) on a model with @encrypted fields uses the
 * dorm_crypt set on its client: it encrypts those fields before anything
 * is sent and decrypts them in every item read. A client without one fails
 * such an operation with DORM_ERR_ENCRYPTION_NOT_CONFIGURED before sending
 * anything; a value that does not decrypt fails the read with
 * DORM_ERR_BAD_ENVELOPE (or the KMS error) naming the field. */

/* Sets k (made by dorm_crypt_new for this same client) as c's: c owns it
 * from now on and frees it in dorm_client_free, or when another one (or
 * NULL) is set. dorm_crypt_free(k) on a set context unsets it first.
 * DORM_ERR_INVALID_ARGUMENT, k untouched, when k was made for another client. */
DORM_API dorm_status dorm_client_set_crypt(dorm_client *c, dorm_crypt *k);
/* The context set on c (owned by c), or NULL. */
DORM_API dorm_crypt *dorm_client_crypt(dorm_client *c);

struct dorm_model_desc;
/* dorm_crypt_new + dorm_client_set_crypt, for models of m's schema: the KMS
 * key is o->kms_key_id when given, else the schema's (m->kms_key, from
 * @encrypted("...")), else DORM_KMS_KEY_ID; m and o may be NULL. One
 * context, so one key, per client: a schema whose models name two keys
 * needs a client per key. A model whose schema names a key is refused
 * (DORM_ERR_ENCRYPTION_NOT_CONFIGURED, nothing sent) on a client whose
 * context uses another key id, unless that context was enabled with that
 * model's descriptor (o->kms_key_id naming the same key another way). */
DORM_API dorm_status dorm_crypt_enable(dorm_client *c, const struct dorm_model_desc *m, const dorm_crypt_opts *o);

/* dorm_model_from_av with the encrypted fields decrypted through c's
 * context (the images of a DynamoDB Streams record, say); plain
 * dorm_model_from_av fails closed on a model with encrypted fields.
 * Errors through c. */
DORM_API dorm_status dorm_crypt_model_from_av(dorm_client *c, const struct dorm_model_desc *m, const dorm_av *item,
                                              unsigned flags, dorm_arena *a, void *obj);

#ifdef __cplusplus
}
#endif
#endif
