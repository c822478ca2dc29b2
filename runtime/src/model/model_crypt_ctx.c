/* model_crypt_ctx: dorm_crypt, data keys from KMS with reuse and a cache of
 * decrypted ones (dorm/crypt.h).
 *
 * Data keys live only in this file's structures and on the stack of the
 * call that uses them; each copy is wiped when it is retired, evicted or
 * freed. The cache is a small array scanned linearly: it holds tens of keys
 * and each lookup saves a KMS round trip, so a hash table would buy
 * nothing measurable. */
#include "dorm/crypt.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_internal.h"
#include "model_crypt.h"

typedef struct cached_key {
  uint8_t *edk; /* malloc'd; NULL: a free slot */
  size_t edk_len;
  uint8_t key[DORM__DATA_KEY_LEN];
  uint64_t born_ms, used; /* used: the tick of the last lookup (LRU order) */
} cached_key;

typedef uint64_t (*crypt_clock_fn)(void *user);

struct dorm_crypt {
  dorm_client *c;
  char *key_id;
  /* The schema key (dorm_model_desc.kms_key) dorm_crypt_enable made this
   * context for, when kms_key_id named another id for it; NULL: none. */
  char *schema_key;
  /* Older keys whose data keys it also decrypts (dorm_crypt_add_read_key). */
  char *read_keys[DORM_CRYPT_MAX_READ_KEYS];
  uint32_t nread_keys;
  char endpoint[1024];
  bool no_cache;
  uint32_t max_uses, max_age_ms, cache_size;
  /* the data key in use for encryption */
  bool has_current;
  uint8_t cur_key[DORM__DATA_KEY_LEN];
  uint8_t *cur_edk;
  size_t cur_edk_len;
  uint32_t cur_uses;
  uint64_t cur_born_ms;
  cached_key *cache;
  uint64_t tick;
  dorm_crypt_stats stats;
  crypt_clock_fn clock;
  void *clock_user;
};

static uint64_t mono_ms(void *user) {
  (void)user;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Tests move time by hand (declared in their file, not in a header: it is
 * not for anyone else). */
void dorm__crypt_set_clock(dorm_crypt *k, crypt_clock_fn fn, void *user);
void dorm__crypt_set_clock(dorm_crypt *k, crypt_clock_fn fn, void *user) {
  k->clock = fn ? fn : mono_ms;
  k->clock_user = user;
}

static void wipe_slot(dorm_crypt *k, cached_key *e) {
  if (!e->edk) return;
  OPENSSL_cleanse(e->key, sizeof e->key);
  free(e->edk);
  e->edk = NULL;
  e->edk_len = 0;
  k->stats.keys_wiped++;
}

static void retire_current(dorm_crypt *k) {
  if (!k->has_current) return;
  OPENSSL_cleanse(k->cur_key, sizeof k->cur_key);
  free(k->cur_edk);
  k->cur_edk = NULL;
  k->cur_edk_len = 0;
  k->has_current = false;
  k->stats.keys_wiped++;
}

dorm_status dorm_crypt_new(dorm_client *c, const dorm_crypt_opts *o, dorm_crypt **out) {
  *out = NULL;
  dorm_crypt_opts none = {0};
  if (!o) o = &none;
  const char *key_id = o->kms_key_id && *o->kms_key_id ? o->kms_key_id : getenv("DORM_KMS_KEY_ID");
  if (!key_id || !*key_id)
    return dorm__client_fail(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, "dorm_crypt_new",
                             "no KMS key: set dorm_crypt_opts.kms_key_id or DORM_KMS_KEY_ID (encrypted fields are "
                             "never written in plaintext)");
  dorm_crypt *k = calloc(1, sizeof *k);
  if (!k) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, "dorm_crypt_new", "out of memory");
  k->c = c;
  k->no_cache = o->no_cache;
  k->max_uses = o->max_uses ? o->max_uses : DORM_CRYPT_DEFAULT_MAX_USES;
  k->max_age_ms = o->max_age_ms ? o->max_age_ms : DORM_CRYPT_DEFAULT_MAX_AGE_MS;
  k->cache_size = o->cache_size ? o->cache_size : DORM_CRYPT_DEFAULT_CACHE_SIZE;
  k->clock = mono_ms;
  k->key_id = strdup(key_id);
  k->cache = k->no_cache ? NULL : calloc(k->cache_size, sizeof *k->cache);
  if (!k->key_id || (!k->no_cache && !k->cache)) {
    dorm_crypt_free(k);
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, "dorm_crypt_new", "out of memory");
  }
  if (!dorm__kms_endpoint(c, o->kms_endpoint_url, k->endpoint, sizeof k->endpoint)) {
    dorm_crypt_free(k);
    return dorm__client_fail(c, DORM_ERR_CONFIG, "dorm_crypt_new", "no KMS endpoint: the client has no region");
  }
  dorm__client_clear_error(c);
  *out = k;
  return DORM_OK;
}

dorm_client *dorm__crypt_client(const dorm_crypt *k) { return k->c; }
const char *dorm_crypt_key_id(const dorm_crypt *k) { return k ? k->key_id : NULL; }

bool dorm__crypt_set_schema_key(dorm_crypt *k, const char *schema_key) {
  free(k->schema_key);
  k->schema_key = schema_key ? strdup(schema_key) : NULL;
  return !schema_key || k->schema_key;
}

bool dorm__crypt_serves(const dorm_crypt *k, const char *schema_key) {
  return !schema_key || !strcmp(schema_key, k->key_id) || (k->schema_key && !strcmp(schema_key, k->schema_key));
}

void dorm_crypt_free(dorm_crypt *k) {
  if (!k) return;
  /* set on its client (dorm_client_set_crypt): the client forgets it */
  if (dorm__client_attachment(k->c) == k) dorm__client_attach(k->c, NULL, NULL);
  retire_current(k);
  for (uint32_t i = 0; k->cache && i < k->cache_size; i++) wipe_slot(k, &k->cache[i]);
  free(k->cache);
  free(k->key_id);
  free(k->schema_key);
  for (uint32_t i = 0; i < k->nread_keys; i++) free(k->read_keys[i]);
  free(k);
}

dorm_status dorm_crypt_add_read_key(dorm_crypt *k, const char *key_id) {
  if (!k) return DORM_ERR_INVALID_ARGUMENT;
  static const char op[] = "dorm_crypt_add_read_key";
  if (!key_id || !*key_id) return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, op, "no key id");
  if (!strcmp(key_id, k->key_id)) return DORM_OK;
  for (uint32_t i = 0; i < k->nread_keys; i++)
    if (!strcmp(key_id, k->read_keys[i])) return DORM_OK;
  if (k->nread_keys == DORM_CRYPT_MAX_READ_KEYS)
    return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, op,
                             "a context reads with at most %d older keys (each costs a KMS call per data key it "
                             "does not open)",
                             DORM_CRYPT_MAX_READ_KEYS);
  if (!(k->read_keys[k->nread_keys] = strdup(key_id)))
    return dorm__client_fail(k->c, DORM_ERR_NO_MEMORY, op, "out of memory");
  k->nread_keys++;
  return DORM_OK;
}

void dorm_crypt_get_stats(const dorm_crypt *k, dorm_crypt_stats *out) { *out = k->stats; }

/* ---- the cache of data keys by encrypted form ---- */

static cached_key *cache_find(dorm_crypt *k, const uint8_t *edk, size_t len, uint64_t now) {
  for (uint32_t i = 0; i < k->cache_size; i++) {
    cached_key *e = &k->cache[i];
    if (!e->edk || e->edk_len != len || memcmp(e->edk, edk, len) != 0) continue;
    if (now - e->born_ms >= k->max_age_ms) { /* expired: KMS decides again */
      wipe_slot(k, e);
      return NULL;
    }
    e->used = ++k->tick;
    return e;
  }
  return NULL;
}

/* Keeps key under edk, evicting (and wiping) the least recently used entry
 * when full. Out of memory only costs a later Decrypt. */
static void cache_put(dorm_crypt *k, const uint8_t *edk, size_t len, const uint8_t key[DORM__DATA_KEY_LEN],
                      uint64_t born) {
  cached_key *slot = NULL;
  for (uint32_t i = 0; i < k->cache_size && !slot; i++)
    if (!k->cache[i].edk) slot = &k->cache[i];
  if (!slot) {
    slot = &k->cache[0];
    for (uint32_t i = 1; i < k->cache_size; i++)
      if (k->cache[i].used < slot->used) slot = &k->cache[i];
    wipe_slot(k, slot);
  }
  slot->edk = malloc(len);
  if (!slot->edk) return;
  memcpy(slot->edk, edk, len);
  slot->edk_len = len;
  memcpy(slot->key, key, DORM__DATA_KEY_LEN);
  slot->born_ms = born;
  slot->used = ++k->tick;
}

/* ---- encryption ---- */

static dorm_status fresh_key(dorm_crypt *k, uint64_t now, dorm_arena *scratch) {
  retire_current(k);
  dorm_str edk;
  dorm_status st = dorm__kms_generate_data_key(k->c, k->endpoint, k->key_id, k->cur_key, scratch, &edk);
  if (st != DORM_OK) return st;
  k->stats.kms_generate_data_key++;
  k->cur_edk = malloc(edk.len);
  if (!k->cur_edk) {
    OPENSSL_cleanse(k->cur_key, sizeof k->cur_key);
    return dorm__client_fail(k->c, DORM_ERR_NO_MEMORY, "encrypt", "out of memory");
  }
  memcpy(k->cur_edk, edk.ptr, edk.len);
  k->cur_edk_len = edk.len;
  k->cur_uses = 0;
  k->cur_born_ms = now;
  k->has_current = true;
  /* The items written under it read back without a Decrypt. */
  if (!k->no_cache) cache_put(k, k->cur_edk, k->cur_edk_len, k->cur_key, now);
  return DORM_OK;
}

dorm_status dorm_crypt_encrypt(dorm_crypt *k, const char *attr, const dorm_av *v, dorm_arena *a, dorm_av *envelope) {
  memset(envelope, 0, sizeof *envelope);
  char what[160];
  snprintf(what, sizeof what, "encrypt attribute '%.120s'", attr ? attr : "");
  if (!attr || !*attr || !v) return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, what, "no attribute or value");
  uint64_t now = k->clock(k->clock_user);
  bool usable = k->has_current && !k->no_cache && k->cur_uses < k->max_uses && now - k->cur_born_ms < k->max_age_ms;
  if (!usable) {
    dorm_status st = fresh_key(k, now, a);
    if (st != DORM_OK) return st; /* reported by kms.c */
  }
  uint8_t nonce[DORM__GCM_NONCE_LEN];
  if (RAND_bytes(nonce, sizeof nonce) != 1)
    return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, what, "the random generator failed (no nonce)");
  char err[512];
  dorm_status st = dorm__envelope_seal(k->cur_key, nonce, (dorm_str){(const char *)k->cur_edk, k->cur_edk_len}, attr,
                                       strlen(attr), v, a, envelope, err, sizeof err);
  k->cur_uses++;
  if (k->no_cache) retire_current(k); /* DynamORM: one value, one data key */
  if (st != DORM_OK) return dorm__client_fail(k->c, st, what, "%s", err);
  k->stats.encryptions++;
  dorm__client_clear_error(k->c);
  return DORM_OK;
}

/* ---- decryption ---- */

dorm_status dorm_crypt_decrypt(dorm_crypt *k, const char *attr, const dorm_av *env, dorm_arena *a, dorm_av *out) {
  memset(out, 0, sizeof *out);
  char what[160];
  snprintf(what, sizeof what, "decrypt attribute '%.120s'", attr ? attr : "");
  if (!attr || !*attr) return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, what, "no attribute name");
  char err[512];
  dorm__envelope e;
  dorm_status st = dorm__envelope_parse(env, &e, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(k->c, st, what, "%s", err);
  uint64_t now = k->clock(k->clock_user);
  uint8_t key[DORM__DATA_KEY_LEN];
  cached_key *hit = k->no_cache ? NULL : cache_find(k, (const uint8_t *)e.edk.ptr, e.edk.len, now);
  if (hit) {
    memcpy(key, hit->key, sizeof key);
    k->stats.cache_hits++;
  } else {
    st = dorm__kms_decrypt(k->c, k->endpoint, k->key_id, e.edk, key);
    /* Sealed under an older key: KMS names the data key's key as not this
     * one; the keys added for reading are tried in turn (each by its id,
     * so a data key of any other key is still refused). */
    for (uint32_t i = 0; st == DORM_ERR_BAD_ENVELOPE && i < k->nread_keys &&
                        !strcmp(dorm_client_error_code(k->c), "IncorrectKeyException");
         i++)
      st = dorm__kms_decrypt(k->c, k->endpoint, k->read_keys[i], e.edk, key);
    if (st != DORM_OK) return st; /* reported by kms.c */
    k->stats.kms_decrypt++;
    if (!k->no_cache) cache_put(k, (const uint8_t *)e.edk.ptr, e.edk.len, key, now);
  }
  st = dorm__envelope_open(key, &e, attr, strlen(attr), a, out, err, sizeof err);
  OPENSSL_cleanse(key, sizeof key);
  if (st != DORM_OK) return dorm__client_fail(k->c, st, what, "%s", err);
  k->stats.decryptions++;
  dorm__client_clear_error(k->c);
  return DORM_OK;
}

/* ---- whole items ---- */

static dorm_status item_pass(dorm_crypt *k, dorm_av *item, const char *const *attrs, size_t n, dorm_arena *a,
                             bool enc) {
  const char *what = enc ? "encrypt item" : "decrypt item";
  if (!item || item->type != DORM_AV_M || (n && !attrs)) {
    if (item) item->type = DORM_AV_INVALID;
    return dorm__client_fail(k->c, DORM_ERR_INVALID_ARGUMENT, what, "the item is not a map");
  }
  for (size_t i = 0; i < n; i++) {
    dorm_av *slot = (dorm_av *)dorm_av_map_getn(item, attrs[i], strlen(attrs[i]));
    if (!slot) continue;
    dorm_av out;
    dorm_status st = enc ? dorm_crypt_encrypt(k, attrs[i], slot, a, &out) : dorm_crypt_decrypt(k, attrs[i], slot, a, &out);
    if (st != DORM_OK) {
      item->type = DORM_AV_INVALID; /* failures are closed: this item is never written */
      return st;                    /* reported by the call above */
    }
    *slot = out;
  }
  return DORM_OK;
}

dorm_status dorm_crypt_encrypt_item(dorm_crypt *k, dorm_av *item, const char *const *attrs, size_t n, dorm_arena *a) {
  return item_pass(k, item, attrs, n, a, true);
}

dorm_status dorm_crypt_decrypt_item(dorm_crypt *k, dorm_av *item, const char *const *attrs, size_t n, dorm_arena *a) {
  return item_pass(k, item, attrs, n, a, false);
}
