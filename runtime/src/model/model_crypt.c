/* model_crypt: DynamORM's encrypted attribute envelope (see model_crypt.h).
 *
 * The plaintext must be the bytes DynamORM's Go SDK writes, so that values
 * we encrypt read the same in every DynamORM SDK and fixtures written by
 * DynamORM open here: Go's encoding/json of
 *   struct { T string `json:"t"`; S *string `json:"s,omitempty"`; N; B; BOOL *bool;
 *            L []avJSON; M map[string]avJSON; SS, NS, BS []string; NULL bool (all omitempty) }
 * so members come in that order, nil pointers and empty slices/maps are
 * left out (an empty L is {"t":"L"}), map keys are sorted bytewise, and
 * strings are escaped as Go 1.22+ does (<>& as \u003c..., U+2028/9,
 * invalid UTF-8 as U+FFFD, \b \f short). */
#include "model_crypt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

#define AAD_PREFIX "dynamorm:encrypted:v1|attr="
#define MAX_DEPTH 32 /* DynamoDB's nesting limit */

void dorm__crypt_wipe_free(void *p, size_t len) {
  if (!p) return;
  OPENSSL_cleanse(p, len);
  free(p);
}

/* ---- plaintext JSON, written ---------------------------------------------- */

static void put_str(dorm__buf *b, const char *s, size_t n) {
  dorm__buf_putc(b, '"');
  dorm__json_escape(b, s, n, DORM_JSON_ESC_GO | DORM_JSON_ESC_SHORT_BF, NULL);
  dorm__buf_putc(b, '"');
}

static void put_b64(dorm__buf *b, const char *s, size_t n) {
  size_t el = dorm__b64_encoded_len(n);
  dorm__buf_putc(b, '"');
  if (dorm__buf_reserve(b, el)) {
    dorm__b64_encode((const uint8_t *)s, n, b->p + b->len, DORM_B64_STD);
    b->len += el;
    b->p[b->len] = '\0';
  }
  dorm__buf_putc(b, '"');
}

typedef struct entry_ref {
  const dorm_av_entry *e;
} entry_ref;

static int entry_cmp(const void *x, const void *y) {
  const dorm_str *a = &((const entry_ref *)x)->e->name, *b = &((const entry_ref *)y)->e->name;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->ptr, b->ptr, n) : 0;
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static bool write_av(dorm__buf *b, const dorm_av *v, int depth, char *errbuf, size_t errcap);

static bool write_set(dorm__buf *b, const char *member, const dorm_av *v, bool bytes) {
  if (v->u.set.count == 0) return true; /* omitempty */
  dorm__buf_puts(b, member);
  dorm__buf_putc(b, '[');
  for (size_t i = 0; i < v->u.set.count; i++) {
    if (i) dorm__buf_putc(b, ',');
    const dorm_str *s = &v->u.set.items[i];
    if (bytes) put_b64(b, s->ptr, s->len);
    else put_str(b, s->ptr, s->len);
  }
  dorm__buf_putc(b, ']');
  return true;
}

static bool write_map(dorm__buf *b, const dorm_av *v, int depth, char *errbuf, size_t errcap) {
  size_t n = v->u.map.count;
  if (n == 0) return true; /* omitempty */
  entry_ref *sorted = malloc(n * sizeof *sorted);
  if (!sorted) {
    dorm__set_err(errbuf, errcap, "out of memory sorting a map of %zu entries", n);
    return false;
  }
  for (size_t i = 0; i < n; i++) sorted[i].e = &v->u.map.items[i];
  qsort(sorted, n, sizeof *sorted, entry_cmp);
  dorm__buf_puts(b, ",\"m\":{");
  bool ok = true;
  for (size_t i = 0; ok && i < n; i++) {
    if (i) dorm__buf_putc(b, ',');
    put_str(b, sorted[i].e->name.ptr, sorted[i].e->name.len);
    dorm__buf_putc(b, ':');
    ok = write_av(b, &sorted[i].e->value, depth + 1, errbuf, errcap);
  }
  free(sorted);
  if (ok) dorm__buf_putc(b, '}');
  return ok;
}

static bool write_av(dorm__buf *b, const dorm_av *v, int depth, char *errbuf, size_t errcap) {
  if (depth > MAX_DEPTH) {
    dorm__set_err(errbuf, errcap, "value nested deeper than %d levels", MAX_DEPTH);
    return false;
  }
  const char *t = dorm_av_type_name(v->type);
  if (v->type == DORM_AV_INVALID || t[0] == '?') {
    dorm__set_err(errbuf, errcap, "value of invalid type %d cannot be encrypted", (int)v->type);
    return false;
  }
  dorm__buf_puts(b, "{\"t\":\"");
  dorm__buf_puts(b, t);
  dorm__buf_putc(b, '"');
  bool ok = true;
  switch (v->type) {
  case DORM_AV_S:
    dorm__buf_puts(b, ",\"s\":");
    put_str(b, v->u.s.ptr, v->u.s.len);
    break;
  case DORM_AV_N:
    dorm__buf_puts(b, ",\"n\":");
    put_str(b, v->u.s.ptr, v->u.s.len);
    break;
  case DORM_AV_B:
    dorm__buf_puts(b, ",\"b\":");
    put_b64(b, v->u.s.ptr, v->u.s.len);
    break;
  case DORM_AV_BOOL: dorm__buf_puts(b, v->u.boolean ? ",\"bool\":true" : ",\"bool\":false"); break;
  case DORM_AV_NULL: dorm__buf_puts(b, ",\"null\":true"); break;
  case DORM_AV_L:
    if (v->u.list.count == 0) break; /* omitempty */
    dorm__buf_puts(b, ",\"l\":[");
    for (size_t i = 0; ok && i < v->u.list.count; i++) {
      if (i) dorm__buf_putc(b, ',');
      ok = write_av(b, &v->u.list.items[i], depth + 1, errbuf, errcap);
    }
    dorm__buf_putc(b, ']');
    break;
  case DORM_AV_M: ok = write_map(b, v, depth, errbuf, errcap); break;
  case DORM_AV_SS: write_set(b, ",\"ss\":", v, false); break;
  case DORM_AV_NS: write_set(b, ",\"ns\":", v, false); break;
  case DORM_AV_BS: write_set(b, ",\"bs\":", v, true); break;
  default: break;
  }
  if (ok) dorm__buf_putc(b, '}');
  return ok;
}

dorm_status dorm__crypt_av_json(const dorm_av *v, char **out, size_t *len, char *errbuf, size_t errcap) {
  *out = NULL;
  *len = 0;
  dorm__buf b;
  dorm__buf_init(&b, DORM__BUF_UNBOUNDED);
  /* Room up front: every realloc would leave a plaintext copy behind. */
  dorm__buf_reserve(&b, 256);
  if (!write_av(&b, v, 1, errbuf, errcap)) {
    dorm__buf_wipe(&b);
    return DORM_ERR_INVALID_ARGUMENT;
  }
  if (!dorm__buf_ok(&b)) {
    dorm__buf_wipe(&b);
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory writing the plaintext");
  }
  *len = b.len;
  *out = dorm__buf_take(&b);
  return DORM_OK;
}

/* ---- plaintext JSON, read --------------------------------------------------- */

static dorm_status bad(char *errbuf, size_t errcap, const char *what) {
  return dorm__fail(errbuf, errcap, DORM_ERR_BAD_ENVELOPE, "decrypted value is not DynamORM's form: %s", what);
}

/* A string member, or "" when absent or null (Go leaves the pointer nil). */
static bool member_text(const cJSON *o, const char *name, const char **s, size_t *n, bool *present) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
  *present = m && !cJSON_IsNull(m);
  *s = "";
  *n = 0;
  if (!*present) return true;
  if (!cJSON_IsString(m)) return false;
  *s = m->valuestring;
  *n = strlen(m->valuestring);
  return true;
}

static dorm_status read_av(const cJSON *j, dorm_arena *a, dorm_av *out, int depth, char *errbuf, size_t errcap);

static dorm_status read_b64(const char *s, size_t n, dorm_arena *a, dorm_str *out, char *errbuf, size_t errcap) {
  uint8_t *p = dorm_arena_alloc(a, dorm__b64_decoded_max(n) + 1);
  if (!p) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  size_t len = 0;
  if (!dorm__b64_decode(s, n, p, &len, DORM_B64_STD, NULL)) return bad(errbuf, errcap, "binary that is not base64");
  out->ptr = (const char *)p;
  out->len = len;
  return DORM_OK;
}

static dorm_status read_set(const cJSON *o, const char *name, bool bytes, dorm_arena *a, dorm_av *out, char *errbuf,
                            size_t errcap) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!arr || cJSON_IsNull(arr)) return DORM_OK;
  if (!cJSON_IsArray(arr)) return bad(errbuf, errcap, "a set that is not an array");
  for (const cJSON *e = arr->child; e; e = e->next) {
    if (!cJSON_IsString(e)) return bad(errbuf, errcap, "a set element that is not a string");
    dorm_str s = {e->valuestring, strlen(e->valuestring)};
    if (bytes) {
      dorm_status st = read_b64(s.ptr, s.len, a, &s, errbuf, errcap);
      if (st != DORM_OK) return st;
    } else if (!(s.ptr = dorm_arena_strndup(a, s.ptr, s.len))) { /* the tree is freed after reading */
      return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
    }
    if (dorm_av_set_add(a, out, s.ptr, s.len) != DORM_OK)
      return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  }
  return DORM_OK;
}

static dorm_status read_av(const cJSON *j, dorm_arena *a, dorm_av *out, int depth, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  if (depth > MAX_DEPTH) return bad(errbuf, errcap, "nested too deeply");
  if (!cJSON_IsObject(j)) return bad(errbuf, errcap, "a value that is not an object");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
  if (!cJSON_IsString(t)) return bad(errbuf, errcap, "no type member \"t\"");
  static const dorm_av_type types[] = {DORM_AV_S,  DORM_AV_N,  DORM_AV_B,  DORM_AV_BOOL, DORM_AV_NULL, DORM_AV_SS,
                                       DORM_AV_NS, DORM_AV_BS, DORM_AV_L,  DORM_AV_M};
  dorm_av_type type = DORM_AV_INVALID;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (!strcmp(t->valuestring, dorm_av_type_name(types[i]))) type = types[i];
  if (type == DORM_AV_INVALID) return bad(errbuf, errcap, "an unknown type");
  out->type = type;
  const char *s;
  size_t n;
  bool present;
  switch (type) {
  case DORM_AV_S:
  case DORM_AV_N:
  case DORM_AV_B: {
    const char *member = type == DORM_AV_S ? "s" : type == DORM_AV_N ? "n" : "b";
    if (!member_text(j, member, &s, &n, &present)) return bad(errbuf, errcap, "a scalar that is not a string");
    if (type == DORM_AV_N && !present) s = "0", n = 1; /* as DynamORM reads it */
    if (type == DORM_AV_B) return read_b64(s, n, a, &out->u.s, errbuf, errcap);
    char *copy = dorm_arena_strndup(a, s, n);
    if (!copy) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
    out->u.s.ptr = copy;
    out->u.s.len = n;
    return DORM_OK;
  }
  case DORM_AV_BOOL: {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bool");
    if (b && !cJSON_IsNull(b) && !cJSON_IsBool(b)) return bad(errbuf, errcap, "bool that is not true or false");
    out->u.boolean = b && cJSON_IsTrue(b);
    return DORM_OK;
  }
  case DORM_AV_NULL: return DORM_OK;
  case DORM_AV_SS: return read_set(j, "ss", false, a, out, errbuf, errcap);
  case DORM_AV_NS: return read_set(j, "ns", false, a, out, errbuf, errcap);
  case DORM_AV_BS: return read_set(j, "bs", true, a, out, errbuf, errcap);
  case DORM_AV_L: {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "l");
    if (!l || cJSON_IsNull(l)) return DORM_OK;
    if (!cJSON_IsArray(l)) return bad(errbuf, errcap, "a list that is not an array");
    for (const cJSON *e = l->child; e; e = e->next) {
      dorm_av *slot = dorm_av_list_push(a, out);
      if (!slot) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
      dorm_status st = read_av(e, a, slot, depth + 1, errbuf, errcap);
      if (st != DORM_OK) return st;
    }
    return DORM_OK;
  }
  case DORM_AV_M: {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "m");
    if (!m || cJSON_IsNull(m)) return DORM_OK;
    if (!cJSON_IsObject(m)) return bad(errbuf, errcap, "a map that is not an object");
    for (const cJSON *e = m->child; e; e = e->next) {
      size_t kl = strlen(e->string);
      const char *k = dorm_arena_strndup(a, e->string, kl);
      dorm_av *slot = k ? dorm_av_map_add(a, out, k, kl) : NULL;
      if (!slot) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
      dorm_status st = read_av(e, a, slot, depth + 1, errbuf, errcap);
      if (st != DORM_OK) return st;
    }
    return DORM_OK;
  }
  default: return bad(errbuf, errcap, "an unknown type");
  }
}

dorm_status dorm__crypt_av_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                                     size_t errcap) {
  cJSON *root = NULL;
  char err[256];
  if (dorm__json_parse(json, len, &root, err, sizeof err) != DORM_OK) {
    memset(out, 0, sizeof *out);
    return bad(errbuf, errcap, "not JSON");
  }
  dorm_status st = read_av(root, a, out, 1, errbuf, errcap);
  dorm__json_free(root);
  return st;
}

/* ---- the envelope ------------------------------------------------------------- */

static dorm_status env_bad(char *errbuf, size_t errcap, const char *what) {
  return dorm__fail(errbuf, errcap, DORM_ERR_BAD_ENVELOPE, "invalid encrypted envelope: %s", what);
}

dorm_status dorm__envelope_parse(const dorm_av *env, dorm__envelope *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!env || env->type != DORM_AV_M) return env_bad(errbuf, errcap, "not a map (a plaintext value?)");
  const dorm_av *v = dorm_av_map_getn(env, "v", 1);
  if (!v || v->type != DORM_AV_N || v->u.s.len != 1 || v->u.s.ptr[0] != '1')
    return env_bad(errbuf, errcap, "unsupported version (v must be the number 1)");
  const dorm_av *edk = dorm_av_map_getn(env, "edk", 3), *nonce = dorm_av_map_getn(env, "nonce", 5),
                *ct = dorm_av_map_getn(env, "ct", 2);
  if (!edk || edk->type != DORM_AV_B || edk->u.s.len == 0)
    return env_bad(errbuf, errcap, "missing encrypted data key (edk)");
  if (!nonce || nonce->type != DORM_AV_B || nonce->u.s.len == 0) return env_bad(errbuf, errcap, "missing nonce");
  if (nonce->u.s.len != DORM__GCM_NONCE_LEN) return env_bad(errbuf, errcap, "nonce is not 12 bytes");
  if (!ct || ct->type != DORM_AV_B) return env_bad(errbuf, errcap, "missing ciphertext (ct)");
  if (ct->u.s.len < DORM__GCM_TAG_LEN) return env_bad(errbuf, errcap, "ciphertext shorter than its 16-byte tag");
  out->edk = edk->u.s;
  out->nonce = nonce->u.s;
  out->ct = ct->u.s;
  return DORM_OK;
}

/* The AAD in buf (heap when long); returns it, NULL when out of memory. */
static char *make_aad(const char *attr, size_t attr_len, char *buf, size_t cap, size_t *len) {
  *len = sizeof AAD_PREFIX - 1 + attr_len;
  char *p = *len <= cap ? buf : malloc(*len);
  if (!p) return NULL;
  memcpy(p, AAD_PREFIX, sizeof AAD_PREFIX - 1);
  memcpy(p + sizeof AAD_PREFIX - 1, attr, attr_len);
  return p;
}

/* AES-256-GCM over in[0..n) into out (n bytes; the tag separately). */
static bool gcm(bool enc, const uint8_t *key, const uint8_t *nonce, const char *aad, size_t aad_len,
                const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[DORM__GCM_TAG_LEN]) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return false;
  int outl = 0, ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) == 1 &&
                     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, DORM__GCM_NONCE_LEN, NULL) == 1 &&
                     EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc ? 1 : 0) == 1 &&
                     (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &outl, (const uint8_t *)aad, (int)aad_len) == 1);
  size_t done = 0;
  while (ok && done < n) { /* int-sized steps */
    int step = n - done > (1u << 30) ? (1 << 30) : (int)(n - done);
    ok = EVP_CipherUpdate(ctx, out + done, &outl, in + done, step) == 1;
    done += (size_t)outl;
  }
  if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, DORM__GCM_TAG_LEN, tag) == 1;
  if (ok) ok = EVP_CipherFinal_ex(ctx, out + done, &outl) == 1; /* decrypting: the tag check */
  if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, DORM__GCM_TAG_LEN, tag) == 1;
  EVP_CIPHER_CTX_free(ctx); /* clears the key schedule */
  return ok;
}

dorm_status dorm__envelope_seal(const uint8_t key[DORM__DATA_KEY_LEN], const uint8_t nonce[DORM__GCM_NONCE_LEN],
                                dorm_str edk, const char *attr, size_t attr_len, const dorm_av *v, dorm_arena *a,
                                dorm_av *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!attr || attr_len == 0) return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "attribute name is empty");
  if (edk.len == 0) return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "encrypted data key is empty");
  char *pt = NULL;
  size_t pt_len = 0;
  dorm_status st = dorm__crypt_av_json(v, &pt, &pt_len, errbuf, errcap);
  if (st != DORM_OK) return st;
  char aad_buf[256];
  size_t aad_len;
  char *aad = make_aad(attr, attr_len, aad_buf, sizeof aad_buf, &aad_len);
  uint8_t *ct = dorm_arena_alloc(a, pt_len + DORM__GCM_TAG_LEN);
  uint8_t *edk_copy = dorm_arena_memdup(a, edk.ptr, edk.len);
  uint8_t *nonce_copy = dorm_arena_memdup(a, nonce, DORM__GCM_NONCE_LEN);
  if (!aad || !ct || !edk_copy || !nonce_copy) {
    st = dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory encrypting attribute '%.*s'", (int)attr_len,
                    attr);
  } else if (!gcm(true, key, nonce, aad, aad_len, (const uint8_t *)pt, pt_len, ct, ct + pt_len)) {
    st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "AES-256-GCM failed for attribute '%.*s'",
                    (int)attr_len, attr);
  }
  dorm__crypt_wipe_free(pt, pt_len);
  if (aad != aad_buf) free(aad);
  if (st != DORM_OK) return st;
  /* The member order DynamORM's writers use; DynamoDB keeps none anyway. */
  out->type = DORM_AV_M;
  if (dorm_av_reserve(a, out, 4) != DORM_OK ||
      dorm_av_map_set(a, out, "v", dorm_av_num("1")) != DORM_OK ||
      dorm_av_map_set(a, out, "edk", dorm_av_bytes(edk_copy, edk.len)) != DORM_OK ||
      dorm_av_map_set(a, out, "nonce", dorm_av_bytes(nonce_copy, DORM__GCM_NONCE_LEN)) != DORM_OK ||
      dorm_av_map_set(a, out, "ct", dorm_av_bytes(ct, pt_len + DORM__GCM_TAG_LEN)) != DORM_OK) {
    memset(out, 0, sizeof *out);
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory building the envelope");
  }
  return DORM_OK;
}

dorm_status dorm__envelope_open(const uint8_t key[DORM__DATA_KEY_LEN], const dorm__envelope *e, const char *attr,
                                size_t attr_len, dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!attr || attr_len == 0) return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "attribute name is empty");
  if (e->nonce.len != DORM__GCM_NONCE_LEN || e->ct.len < DORM__GCM_TAG_LEN)
    return env_bad(errbuf, errcap, "nonce or ciphertext of the wrong length");
  size_t n = e->ct.len - DORM__GCM_TAG_LEN;
  char aad_buf[256];
  size_t aad_len;
  char *aad = make_aad(attr, attr_len, aad_buf, sizeof aad_buf, &aad_len);
  uint8_t *pt = malloc(n + 1);
  uint8_t tag[DORM__GCM_TAG_LEN];
  memcpy(tag, e->ct.ptr + n, DORM__GCM_TAG_LEN);
  dorm_status st = DORM_OK;
  if (!aad || !pt) {
    st = dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory decrypting attribute '%.*s'", (int)attr_len,
                    attr);
  } else if (!gcm(false, key, (const uint8_t *)e->nonce.ptr, aad, aad_len, (const uint8_t *)e->ct.ptr, n, pt, tag)) {
    /* Which of key, attribute or bytes is wrong, GCM cannot tell. */
    st = dorm__fail(errbuf, errcap, DORM_ERR_BAD_ENVELOPE,
                    "attribute '%.*s' does not decrypt: the tag does not verify (another data key, another "
                    "attribute's envelope, or altered bytes)",
                    (int)attr_len, attr);
  } else {
    st = dorm__crypt_av_from_json((const char *)pt, n, a, out, errbuf, errcap);
  }
  if (aad && aad != aad_buf) free(aad);
  dorm__crypt_wipe_free(pt, n + 1);
  return st;
}
