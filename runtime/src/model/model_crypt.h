/* model_crypt: DynamORM's encrypted attribute envelope (issue 15).
 *
 * An @encrypted attribute is stored as the map
 *   {"v": N "1", "edk": B <KMS CiphertextBlob>, "nonce": B <12 bytes>,
 *    "ct": B <ciphertext || 16-byte GCM tag>}
 * where the plaintext is the attribute value in DynamORM's JSON form
 * ({"t":"S","s":"..."}; members t,s,n,b,bool,l,m,ss,ns,bs,null as Go's
 * encoding/json writes its avJSON struct) sealed with AES-256-GCM under the
 * 32-byte data key, with the AAD "dynamorm:encrypted:v1|attr=<attribute>".
 * The AAD binds a value to its attribute: an envelope copied to another
 * attribute does not open.
 *
 * These functions are pure (no KMS, no client): the data key comes from the
 * caller. They follow the one error rule for pure code (errbuf). Plaintext
 * copies they make are wiped (OPENSSL_cleanse) before they are freed. */
#ifndef DORM_MODEL_CRYPT_H
#define DORM_MODEL_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/status.h"

#define DORM__DATA_KEY_LEN 32
#define DORM__GCM_NONCE_LEN 12
#define DORM__GCM_TAG_LEN 16

/* The parts of a parsed envelope (views into the envelope's values). */
typedef struct dorm__envelope {
  dorm_str edk;   /* the encrypted data key, as KMS gave it */
  dorm_str nonce; /* DORM__GCM_NONCE_LEN bytes */
  dorm_str ct;    /* ciphertext followed by the tag */
} dorm__envelope;

/* DynamORM's plaintext JSON of v into a fresh malloc'd text (*out, *len; the
 * caller wipes and frees it with dorm__crypt_wipe_free). DORM_ERR_INVALID_ARGUMENT
 * for a value DynamORM cannot encode (an invalid type, nesting past 32). */
dorm_status dorm__crypt_av_json(const dorm_av *v, char **out, size_t *len, char *errbuf, size_t errcap);

/* The reverse: DynamORM's plaintext JSON into a value in a.
 * DORM_ERR_BAD_ENVELOPE when the text is not that form. */
dorm_status dorm__crypt_av_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                                     size_t errcap);

/* Reads env as an envelope, as DynamORM does: a map with v = N "1" and the B
 * members edk (non-empty), nonce (12 bytes) and ct (at least the tag); other
 * members are ignored. DORM_ERR_BAD_ENVELOPE saying what is wrong. */
dorm_status dorm__envelope_parse(const dorm_av *env, dorm__envelope *out, char *errbuf, size_t errcap);

/* Encrypts v as attribute attr under key with nonce and builds the envelope
 * (in a; edk copied). The nonce must never repeat under one key: callers pass
 * RAND_bytes output; tests pass fixed ones. */
dorm_status dorm__envelope_seal(const uint8_t key[DORM__DATA_KEY_LEN], const uint8_t nonce[DORM__GCM_NONCE_LEN],
                                dorm_str edk, const char *attr, size_t attr_len, const dorm_av *v, dorm_arena *a,
                                dorm_av *out, char *errbuf, size_t errcap);

/* Opens a parsed envelope of attribute attr with key into *out (in a).
 * DORM_ERR_BAD_ENVELOPE when the tag does not verify (another key,
 * attribute, or altered bytes) or the plaintext is not DynamORM's form. */
dorm_status dorm__envelope_open(const uint8_t key[DORM__DATA_KEY_LEN], const dorm__envelope *e, const char *attr,
                                size_t attr_len, dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap);

/* The client a dorm_crypt was made for. */
struct dorm_crypt;
struct dorm_client *dorm__crypt_client(const struct dorm_crypt *k);

/* A model's fields are sealed under the KMS key its schema names
 * (dorm_model_desc.kms_key): a context serves such a model when it uses that
 * key id, or when dorm_crypt_enable made it for that schema key with
 * another id for it (dorm_crypt_opts.kms_key_id). A model whose key is left
 * to configuration (NULL) is served by any context. set_schema_key copies
 * (NULL clears); false when out of memory. */
bool dorm__crypt_set_schema_key(struct dorm_crypt *k, const char *schema_key);
bool dorm__crypt_serves(const struct dorm_crypt *k, const char *schema_key);

/* Wipes len bytes at p and frees p (NULL is fine). */
void dorm__crypt_wipe_free(void *p, size_t len);

#endif
