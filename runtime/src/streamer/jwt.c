/* jwt: the identity of a streamer connection (dorm/streamer.h).
 *
 * A compact JWS is checked in an order that never lets unverified bytes
 * choose anything that matters:
 *   1. its size, before anything is decoded;
 *   2. its shape: exactly three segments of strict base64url (no padding,
 *      no stray characters, zero unused bits);
 *   3. the header: `alg` from the allow-list, the key picked by our own
 *      configuration and `kid` (never by `jwk`, `jku` or `x5u` from the
 *      token), the key's type fitting `alg`;
 *   4. the signature, by OpenSSL (HMAC compared in constant time);
 *   5. only then the payload's claims.
 * JSON is cJSON's, strict: valid UTF-8, no NUL, one object, nothing after
 * it, no member twice (two `alg`s or two `exp`s would let two readers of
 * one token disagree). Failure messages say why, never quote the token, the
 * key or the secret.
 */
#include "streamer_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#define JWT_DEFAULT_MAX_TOKEN 8192
#define JWT_DEFAULT_LEEWAY 60
#define JWT_MAX_KEY_FILE (1024 * 1024) /* secret, PEM and JWKS files */
#define JWT_MIN_RSA_BITS 2048          /* RFC 7518 3.3 */
#define JWT_ES256_COORD 32             /* P-256 coordinates and r, s */
#define JWT_HS256_LEN 32
#define JWT_MAX_DATE 9007199254740992.0 /* 2^53: NumericDates beyond are not exact */

/* ---- algorithms ---- */

static const struct {
  const char *name;
  unsigned bit;
} ALGS[] = {{"HS256", DORM_JWT_HS256}, {"RS256", DORM_JWT_RS256}, {"ES256", DORM_JWT_ES256}};
#define JWT_ALL_ALGS (DORM_JWT_HS256 | DORM_JWT_RS256 | DORM_JWT_ES256)

/* JWS names we do not implement: named in messages (our copy of the name,
 * never the token's bytes); anything else is "unsupported". */
static const char *const OTHER_ALGS[] = {"HS384", "HS512", "RS384", "RS512", "ES384", "ES512", "ES256K",
                                         "PS256", "PS384", "PS512", "EdDSA"};

static unsigned alg_bit(const char *name) {
  for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
    if (strcmp(ALGS[i].name, name) == 0) return ALGS[i].bit;
  return 0;
}

static const char *alg_name(unsigned bit) {
  for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
    if (ALGS[i].bit == bit) return ALGS[i].name;
  return "?";
}

static const char *other_alg_name(const char *name) {
  for (size_t i = 0; i < sizeof OTHER_ALGS / sizeof OTHER_ALGS[0]; i++)
    if (strcmp(OTHER_ALGS[i], name) == 0) return OTHER_ALGS[i];
  return NULL;
}

/* ---- the verifier ---- */

typedef struct jwt_key {
  unsigned alg;          /* the one DORM_JWT_* bit this key verifies */
  bool from_jwks;
  char *kid;             /* JWKS keys: their kid (NULL: none) */
  EVP_PKEY *pkey;        /* RS256, ES256 */
  unsigned char *secret; /* HS256 (wiped when freed) */
  size_t secret_len;
} jwt_key;

struct dorm_jwt_verifier {
  unsigned algorithms;   /* the allow-list in force */
  jwt_key *keys;
  size_t nkeys;
  bool jwks;             /* a JWKS is configured: a token's kid must name one of its keys */
  char *issuer;
  char *audience;
  char *tenant_claim;
  char *scope_claim;     /* NULL: "scope", else "scopes" */
  double leeway;
  size_t max_token;
};

void dorm_jwt_verifier_free(dorm_jwt_verifier *v) {
  if (!v) return;
  for (size_t i = 0; i < v->nkeys; i++) {
    EVP_PKEY_free(v->keys[i].pkey);
    if (v->keys[i].secret) OPENSSL_clear_free(v->keys[i].secret, v->keys[i].secret_len);
    free(v->keys[i].kid);
  }
  free(v->keys);
  free(v->issuer);
  free(v->audience);
  free(v->tenant_claim);
  free(v->scope_claim);
  free(v);
}

static jwt_key *add_key(dorm_jwt_verifier *v) {
  jwt_key *k = realloc(v->keys, (v->nkeys + 1) * sizeof *k);
  if (!k) return NULL;
  v->keys = k;
  k = &v->keys[v->nkeys++];
  memset(k, 0, sizeof *k);
  return k;
}

/* ---- base64url (RFC 7515 2: no padding) ---- */

typedef enum { B64U_OK = 0, B64U_PADDED, B64U_BAD } b64u_result;

/* Room dorm__b64url_decode needs for n characters. */
static size_t b64u_decoded_max(size_t n) { return n / 4 * 3 + 3; }

/* Strict: the URL alphabet only, no '=', a length that is not 1 mod 4, and
 * zero unused bits (core's decoder checks those), so every byte string has
 * exactly one accepted form. */
static b64u_result b64u_decode(const char *in, size_t n, unsigned char *out, size_t *out_len) {
  if (memchr(in, '=', n)) return B64U_PADDED;
  if (n % 4 == 1) return B64U_BAD;
  size_t whole = n - n % 4, got = 0, tail_got = 0;
  if (whole && !dorm__b64_decode(in, whole, out, &got, DORM_B64_URL, NULL)) return B64U_BAD;
  if (n % 4) {
    char tail[4] = {'=', '=', '=', '='};
    memcpy(tail, in + whole, n % 4);
    if (!dorm__b64_decode(tail, 4, out + got, &tail_got, DORM_B64_URL, NULL)) return B64U_BAD;
  }
  *out_len = got + tail_got;
  return B64U_OK;
}

/* ---- strict JSON objects ---- */

/* Parses s[0..n) as one JSON object: valid UTF-8, no NUL, nothing but
 * whitespace after it, no member name twice. NULL otherwise. */
static cJSON *parse_object(const char *s, size_t n, bool *dup) {
  *dup = false;
  if (n == 0 || memchr(s, '\0', n) || !dorm__utf8_valid(s, n, NULL)) return NULL;
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, false);
  if (!j) return NULL;
  while (end && end < s + n && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
  if (!cJSON_IsObject(j) || end != s + n) {
    cJSON_Delete(j);
    return NULL;
  }
  for (const cJSON *m = j->child; m; m = m->next)
    for (const cJSON *o = m->next; o; o = o->next)
      if (m->string && o->string && strcmp(m->string, o->string) == 0) {
        *dup = true;
        cJSON_Delete(j);
        return NULL;
      }
  return j;
}

/* ---- key files ---- */

/* Reads a whole regular file (at most JWT_MAX_KEY_FILE bytes) into b. what
 * names the setting in messages ("jwks_file"). */
static dorm_status read_key_file(const char *what, const char *path, dorm__buf *b, char *errbuf, size_t errcap) {
  dorm__buf_init(b, JWT_MAX_KEY_FILE);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s %s: cannot read: %s", what, path,
                      strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s %s: cannot read: not a regular file", what,
                      path);
  }
  for (;;) {
    if (!dorm__buf_reserve(b, 1)) {
      bool too_large = b->overflow;
      dorm__buf_wipe(b);
      close(fd);
      if (too_large)
        return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s %s: larger than %d bytes", what, path,
                          JWT_MAX_KEY_FILE);
      return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "%s %s: out of memory", what, path);
    }
    ssize_t got = read(fd, b->p + b->len, b->cap - b->len - 1);
    if (got < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      dorm__buf_wipe(b);
      close(fd);
      return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s %s: cannot read: %s", what, path,
                        strerror(e));
    }
    if (got == 0) break;
    b->len += (size_t)got;
  }
  close(fd);
  b->p[b->len] = '\0';
  return DORM_OK;
}

static dorm_status load_secret(dorm_jwt_verifier *v, const char *path, char *errbuf, size_t errcap) {
  dorm__buf b;
  dorm_status st = read_key_file("hs256_secret_file", path, &b, errbuf, errcap);
  if (st != DORM_OK) return st;
  size_t n = b.len;
  if (n && b.p[n - 1] == '\n') n--;
  if (n && b.p[n - 1] == '\r') n--;
  if (n == 0) {
    dorm__buf_wipe(&b);
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "hs256_secret_file %s: the secret is empty", path);
  }
  jwt_key *k = add_key(v);
  unsigned char *secret = k ? OPENSSL_malloc(n) : NULL;
  if (!secret) {
    dorm__buf_wipe(&b);
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "hs256_secret_file %s: out of memory", path);
  }
  memcpy(secret, b.p, n);
  dorm__buf_wipe(&b);
  k->alg = DORM_JWT_HS256;
  k->secret = secret;
  k->secret_len = n;
  return DORM_OK;
}

/* Which algorithm a public key verifies: RS256 for RSA of at least 2048
 * bits, ES256 for EC on P-256. 0 and a reason in why otherwise. */
static unsigned pkey_alg(EVP_PKEY *pk, char *why, size_t whycap) {
  if (EVP_PKEY_is_a(pk, "RSA")) {
    int bits = EVP_PKEY_get_bits(pk);
    if (bits < JWT_MIN_RSA_BITS) {
      dorm__set_err(why, whycap, "an RSA key of %d bits (RS256 needs at least %d)", bits, JWT_MIN_RSA_BITS);
      return 0;
    }
    return DORM_JWT_RS256;
  }
  if (EVP_PKEY_is_a(pk, "EC")) {
    char group[64] = "";
    size_t glen = 0;
    if (!EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
      ERR_clear_error();
      dorm__set_err(why, whycap, "an EC key on curve %s (ES256 needs P-256)", group[0] ? group : "(unknown)");
      return 0;
    }
    return DORM_JWT_ES256;
  }
  const char *type = EVP_PKEY_get0_type_name(pk);
  dorm__set_err(why, whycap, "a %s key (expected RSA or EC P-256)", type ? type : "non-RSA, non-EC");
  return 0;
}

static dorm_status load_pem(dorm_jwt_verifier *v, const char *path, char *errbuf, size_t errcap) {
  dorm__buf b;
  dorm_status st = read_key_file("public_key_file", path, &b, errbuf, errcap);
  if (st != DORM_OK) return st;
  EVP_PKEY *pk = NULL;
  OSSL_DECODER_CTX *dctx =
      OSSL_DECODER_CTX_new_for_pkey(&pk, "PEM", NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
  const unsigned char *data = (const unsigned char *)b.p;
  size_t left = b.len;
  bool ok = dctx && OSSL_DECODER_from_data(dctx, &data, &left) == 1 && pk;
  OSSL_DECODER_CTX_free(dctx);
  dorm__buf_free(&b);
  ERR_clear_error();
  if (!ok) {
    EVP_PKEY_free(pk);
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "public_key_file %s: no PEM public key (-----BEGIN PUBLIC KEY-----) found", path);
  }
  char why[128];
  unsigned alg = pkey_alg(pk, why, sizeof why);
  if (!alg) {
    EVP_PKEY_free(pk);
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "public_key_file %s: %s", path, why);
  }
  jwt_key *k = add_key(v);
  if (!k) {
    EVP_PKEY_free(pk);
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "public_key_file %s: out of memory", path);
  }
  k->alg = alg;
  k->pkey = pk;
  return DORM_OK;
}

/* ---- JWKS (RFC 7517, RFC 7518 6) ---- */

/* A JWK member holding base64url bytes, decoded into a malloc'd buffer. */
static bool jwk_bytes(const cJSON *jwk, const char *member, unsigned char **out, size_t *len) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(jwk, member);
  *out = NULL;
  if (!cJSON_IsString(m) || !m->valuestring[0]) return false;
  size_t n = strlen(m->valuestring);
  unsigned char *buf = malloc(b64u_decoded_max(n));
  if (!buf) return false;
  if (b64u_decode(m->valuestring, n, buf, len) != B64U_OK || *len == 0) {
    free(buf);
    return false;
  }
  *out = buf;
  return true;
}

/* EVP_PKEY from data: the parameters of bld, for keymgmt type. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
  EVP_PKEY *pk = NULL;
  if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    EVP_PKEY_free(pk);
    pk = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pk;
}

static EVP_PKEY *jwk_rsa(const cJSON *jwk, char *why, size_t whycap) {
  unsigned char *n = NULL, *e = NULL;
  size_t nlen = 0, elen = 0;
  EVP_PKEY *pk = NULL;
  BIGNUM *bn_n = NULL, *bn_e = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  if (!jwk_bytes(jwk, "n", &n, &nlen)) {
    dorm__set_err(why, whycap, "n is missing or not base64url");
    goto done;
  }
  if (!jwk_bytes(jwk, "e", &e, &elen)) {
    dorm__set_err(why, whycap, "e is missing or not base64url");
    goto done;
  }
  bn_n = BN_bin2bn(n, (int)nlen, NULL);
  bn_e = BN_bin2bn(e, (int)elen, NULL);
  bld = OSSL_PARAM_BLD_new();
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
    dorm__set_err(why, whycap, "out of memory");
    goto done;
  }
  if (BN_num_bits(bn_e) < 2 || !BN_is_odd(bn_e)) {
    dorm__set_err(why, whycap, "e is not an RSA public exponent");
    goto done;
  }
  pk = pkey_fromdata("RSA", bld);
  if (!pk) dorm__set_err(why, whycap, "not a usable RSA public key");
done:
  ERR_clear_error();
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  free(n);
  free(e);
  return pk;
}

static EVP_PKEY *jwk_ec(const cJSON *jwk, char *why, size_t whycap) {
  unsigned char *x = NULL, *y = NULL;
  size_t xlen = 0, ylen = 0;
  EVP_PKEY *pk = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  if (!jwk_bytes(jwk, "x", &x, &xlen) || xlen != JWT_ES256_COORD) {
    dorm__set_err(why, whycap, "x is missing, not base64url or not %d bytes", JWT_ES256_COORD);
    goto done;
  }
  if (!jwk_bytes(jwk, "y", &y, &ylen) || ylen != JWT_ES256_COORD) {
    dorm__set_err(why, whycap, "y is missing, not base64url or not %d bytes", JWT_ES256_COORD);
    goto done;
  }
  unsigned char point[1 + 2 * JWT_ES256_COORD];
  point[0] = 0x04; /* uncompressed */
  memcpy(point + 1, x, JWT_ES256_COORD);
  memcpy(point + 1 + JWT_ES256_COORD, y, JWT_ES256_COORD);
  bld = OSSL_PARAM_BLD_new();
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point)) {
    dorm__set_err(why, whycap, "out of memory");
    goto done;
  }
  pk = pkey_fromdata("EC", bld);
  if (pk) {
    /* fromdata decodes the point; the public check also proves it lies on
     * the curve, whatever the provider does. */
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    bool on_curve = chk && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!on_curve) {
      EVP_PKEY_free(pk);
      pk = NULL;
    }
  }
  if (!pk) dorm__set_err(why, whycap, "(x, y) is not a point of P-256");
done:
  ERR_clear_error();
  OSSL_PARAM_BLD_free(bld);
  free(x);
  free(y);
  return pk;
}

/* Whether the JWK's optional `use`, `key_ops` and `alg` allow verifying
 * signatures with alg. Keys meant for something else are skipped, so a JWKS
 * that also publishes encryption keys or RS512 keys still loads. */
static bool jwk_usable_for(const cJSON *jwk, const char *alg) {
  const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
  if (use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0)) return false;
  const cJSON *ops = cJSON_GetObjectItemCaseSensitive(jwk, "key_ops");
  if (ops) {
    bool verify = false;
    const cJSON *op;
    if (!cJSON_IsArray(ops)) return false;
    cJSON_ArrayForEach(op, ops) if (cJSON_IsString(op) && strcmp(op->valuestring, "verify") == 0) verify = true;
    if (!verify) return false;
  }
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
  if (a && (!cJSON_IsString(a) || strcmp(a->valuestring, alg) != 0)) return false;
  return true;
}

static dorm_status load_jwks(dorm_jwt_verifier *v, const char *path, char *errbuf, size_t errcap) {
  dorm__buf b;
  dorm_status st = read_key_file("jwks_file", path, &b, errbuf, errcap);
  if (st != DORM_OK) return st;
  bool dup = false;
  cJSON *doc = parse_object(dorm__buf_text(&b), b.len, &dup);
  dorm__buf_free(&b);
  if (!doc)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: %s", path,
                      dup ? "a member appears twice" : "not a JSON object (valid UTF-8, one object)");
  const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
  if (!cJSON_IsArray(keys)) {
    cJSON_Delete(doc);
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: no \"keys\" array", path);
  }
  size_t first = v->nkeys, i = 0;
  const cJSON *jwk;
  st = DORM_OK;
  cJSON_ArrayForEach(jwk, keys) {
    size_t idx = i++;
    char why[128] = "";
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    if (!cJSON_IsObject(jwk) || !cJSON_IsString(kty)) {
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: keys[%zu]: %s", path, idx,
                      cJSON_IsObject(jwk) ? "no \"kty\" string" : "not an object");
      break;
    }
    if (kid && !cJSON_IsString(kid)) {
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: keys[%zu]: kid is not a string",
                      path, idx);
      break;
    }
    EVP_PKEY *pk = NULL;
    unsigned alg = 0;
    if (strcmp(kty->valuestring, "RSA") == 0 && jwk_usable_for(jwk, "RS256")) {
      alg = DORM_JWT_RS256;
      pk = jwk_rsa(jwk, why, sizeof why);
    } else if (strcmp(kty->valuestring, "EC") == 0 && jwk_usable_for(jwk, "ES256")) {
      const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
      if (!cJSON_IsString(crv)) {
        dorm__set_err(why, sizeof why, "crv is missing");
      } else if (strcmp(crv->valuestring, "P-256") == 0) {
        alg = DORM_JWT_ES256;
        pk = jwk_ec(jwk, why, sizeof why);
      }
    }
    if (why[0]) {
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: keys[%zu]: %s", path, idx, why);
      break;
    }
    if (!alg) continue; /* another key type, curve, use or algorithm: not ours */
    char wrong[128];
    if (!pk || pkey_alg(pk, wrong, sizeof wrong) != alg) {
      if (!pk) dorm__set_err(wrong, sizeof wrong, "not a usable key");
      EVP_PKEY_free(pk);
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "jwks_file %s: keys[%zu]: %s", path, idx,
                      wrong);
      break;
    }
    for (size_t j = first; kid && j < v->nkeys; j++)
      if (v->keys[j].kid && strcmp(v->keys[j].kid, kid->valuestring) == 0) {
        EVP_PKEY_free(pk);
        pk = NULL;
        st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                        "jwks_file %s: keys[%zu]: a kid an earlier key has (kids must pick one key)", path, idx);
        break;
      }
    if (st != DORM_OK) break;
    jwt_key *k = add_key(v);
    char *kid_copy = kid ? strdup(kid->valuestring) : NULL;
    if (!k || (kid && !kid_copy)) {
      EVP_PKEY_free(pk);
      free(kid_copy);
      if (k) v->nkeys--;
      st = dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "jwks_file %s: out of memory", path);
      break;
    }
    k->alg = alg;
    k->from_jwks = true;
    k->kid = kid_copy;
    k->pkey = pk;
  }
  cJSON_Delete(doc);
  if (st == DORM_OK && v->nkeys == first)
    st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                    "jwks_file %s: no key for RS256 (kty RSA) or ES256 (kty EC, crv P-256)", path);
  return st;
}

/* ---- creation ---- */

/* A copy of an optional setting: NULL stays NULL; "" is refused (an empty
 * issuer would silently turn a check off). */
static bool copy_setting(const char *name, const char *value, char **out, dorm_status *st, char *errbuf,
                         size_t errcap) {
  *out = NULL;
  if (!value) return true;
  if (!value[0]) {
    *st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s is empty (leave it NULL for the default)",
                     name);
    return false;
  }
  *out = strdup(value);
  if (!*out) {
    *st = dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
    return false;
  }
  return true;
}

dorm_status dorm_jwt_verifier_new(const dorm_jwt_config *cfg, dorm_jwt_verifier **out, char *errbuf,
                                  size_t errcap) {
  if (out) *out = NULL;
  if (!cfg || !out)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "dorm_jwt_verifier_new: cfg and out are required");
  if (cfg->algorithms & ~(unsigned)JWT_ALL_ALGS)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "algorithms: unknown bits 0x%x (DORM_JWT_HS256, DORM_JWT_RS256, DORM_JWT_ES256)",
                      cfg->algorithms & ~(unsigned)JWT_ALL_ALGS);
  if (!cfg->hs256_secret_file && !cfg->public_key_file && !cfg->jwks_file)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "no key: set hs256_secret_file, public_key_file or jwks_file");
  dorm_jwt_verifier *v = calloc(1, sizeof *v);
  if (!v) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  dorm_status st = DORM_OK;
  if (!copy_setting("issuer", cfg->issuer, &v->issuer, &st, errbuf, errcap) ||
      !copy_setting("audience", cfg->audience, &v->audience, &st, errbuf, errcap) ||
      !copy_setting("tenant_claim", cfg->tenant_claim ? cfg->tenant_claim : "tenant_id", &v->tenant_claim, &st,
                    errbuf, errcap) ||
      !copy_setting("scope_claim", cfg->scope_claim, &v->scope_claim, &st, errbuf, errcap))
    goto fail;
  v->leeway = cfg->leeway_s == 0 ? JWT_DEFAULT_LEEWAY : cfg->leeway_s < 0 ? 0 : (double)cfg->leeway_s;
  v->max_token = cfg->max_token_bytes ? cfg->max_token_bytes : JWT_DEFAULT_MAX_TOKEN;
  if (cfg->hs256_secret_file && (st = load_secret(v, cfg->hs256_secret_file, errbuf, errcap)) != DORM_OK) goto fail;
  if (cfg->public_key_file && (st = load_pem(v, cfg->public_key_file, errbuf, errcap)) != DORM_OK) goto fail;
  if (cfg->jwks_file) {
    v->jwks = true;
    if ((st = load_jwks(v, cfg->jwks_file, errbuf, errcap)) != DORM_OK) goto fail;
  }
  unsigned keyed = 0;
  for (size_t i = 0; i < v->nkeys; i++) keyed |= v->keys[i].alg;
  if (cfg->algorithms) {
    unsigned missing = cfg->algorithms & ~keyed;
    if (missing) {
      unsigned bit = missing & (~missing + 1);
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "algorithms: %s is allowed but no key verifies it%s",
                      alg_name(bit),
                      bit == DORM_JWT_HS256 ? " (set hs256_secret_file)" : " (a public key or JWKS key of its type)");
      goto fail;
    }
    v->algorithms = cfg->algorithms;
  } else {
    v->algorithms = keyed;
  }
  *out = v;
  return DORM_OK;
fail:
  dorm_jwt_verifier_free(v);
  return st;
}

/* ---- verification ---- */

#define UNAUTH(...) dorm__fail(errbuf, errcap, DORM_ERR_UNAUTHORIZED, __VA_ARGS__)

/* The key for a token's alg (allowed) and kid (NULL: none). NULL with the
 * reason in errbuf otherwise. */
static const jwt_key *pick_key(const dorm_jwt_verifier *v, unsigned alg, const char *kid, char *errbuf,
                               size_t errcap) {
  if (kid && v->jwks && alg != DORM_JWT_HS256) { /* a JWKS holds no HS256 keys */
    for (size_t i = 0; i < v->nkeys; i++) {
      const jwt_key *k = &v->keys[i];
      if (!k->from_jwks || !k->kid || strcmp(k->kid, kid) != 0) continue;
      if (k->alg != alg) {
        UNAUTH("the key id names a key that does not verify %s", alg_name(alg));
        return NULL;
      }
      return k;
    }
    UNAUTH("unknown key id");
    return NULL;
  }
  /* No kid (or no JWKS to look it up in): the key from a secret or PEM
   * file, else the JWKS's only key for alg. */
  const jwt_key *found = NULL;
  size_t njwks = 0;
  for (size_t i = 0; i < v->nkeys; i++) {
    const jwt_key *k = &v->keys[i];
    if (k->alg != alg) continue;
    if (!k->from_jwks) return k;
    njwks++;
    found = k;
  }
  if (njwks == 1) return found;
  if (njwks > 1) UNAUTH("token has no key id (kid) and the JWKS has several %s keys", alg_name(alg));
  else UNAUTH("no key verifies %s", alg_name(alg));
  return NULL;
}

static dorm_status verify_hs256(const jwt_key *k, const char *input, size_t inlen, const unsigned char *sig,
                                size_t siglen, char *errbuf, size_t errcap) {
  if (siglen != JWT_HS256_LEN) return UNAUTH("malformed token: signature has the wrong length");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)input, inlen, mac, &maclen) ||
      maclen != JWT_HS256_LEN) {
    ERR_clear_error();
    OPENSSL_cleanse(mac, sizeof mac);
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "cannot compute HMAC-SHA256");
  }
  int diff = CRYPTO_memcmp(mac, sig, JWT_HS256_LEN);
  OPENSSL_cleanse(mac, sizeof mac);
  return diff == 0 ? DORM_OK : UNAUTH("signature does not verify");
}

/* RS256 (PKCS#1 v1.5) and ES256 (sig already DER) with SHA-256. */
static dorm_status verify_pkey(const jwt_key *k, const char *input, size_t inlen, const unsigned char *sig,
                               size_t siglen, char *errbuf, size_t errcap) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  bool have_md = md != NULL;
  int r = -1;
  if (md && EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
      (k->alg != DORM_JWT_RS256 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1))
    r = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, inlen);
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  if (r == 1) return DORM_OK;
  /* r == 0: a wrong signature; r < 0: OpenSSL could not use it at all
   * (or failed inside). Either way the token is not let in. */
  if (have_md) return UNAUTH("signature does not verify");
  return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
}

static dorm_status verify_signature(const jwt_key *k, const char *input, size_t inlen, const unsigned char *sig,
                                    size_t siglen, char *errbuf, size_t errcap) {
  if (k->alg == DORM_JWT_HS256) return verify_hs256(k, input, inlen, sig, siglen, errbuf, errcap);
  if (k->alg == DORM_JWT_RS256) {
    int size = EVP_PKEY_get_size(k->pkey); /* the modulus' bytes: RFC 7518 3.3 wants them all */
    if (size <= 0 || siglen != (size_t)size)
      return UNAUTH("malformed token: signature has the wrong length");
    return verify_pkey(k, input, inlen, sig, siglen, errbuf, errcap);
  }
  /* ES256: JWS carries r || s (RFC 7518 3.4); OpenSSL verifies DER. */
  if (siglen != 2 * JWT_ES256_COORD) return UNAUTH("malformed token: signature has the wrong length");
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, JWT_ES256_COORD, NULL);
  BIGNUM *s = BN_bin2bn(sig + JWT_ES256_COORD, JWT_ES256_COORD, NULL);
  unsigned char *der = NULL;
  int derlen = -1;
  if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
    r = s = NULL; /* es owns them */
    derlen = i2d_ECDSA_SIG(es, &der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(es);
  if (derlen <= 0) {
    ERR_clear_error();
    return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  }
  dorm_status st = verify_pkey(k, input, inlen, der, (size_t)derlen, errbuf, errcap);
  OPENSSL_free(der);
  return st;
}

/* A NumericDate claim: absent (false, no error) or a finite number. */
static bool numeric_date(const cJSON *payload, const char *claim, bool *present, double *out, char *errbuf,
                         size_t errcap) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(payload, claim);
  *present = c != NULL;
  if (!c) return true;
  /* The range test also refuses NaN and the infinities (1e400). */
  if (!cJSON_IsNumber(c) || !(c->valuedouble >= -JWT_MAX_DATE && c->valuedouble <= JWT_MAX_DATE)) {
    UNAUTH("malformed token: %s is not a NumericDate", claim);
    return false;
  }
  *out = c->valuedouble;
  return true;
}

static bool audience_matches(const cJSON *aud, const char *want) {
  if (cJSON_IsString(aud)) return strcmp(aud->valuestring, want) == 0;
  if (!cJSON_IsArray(aud)) return false;
  const cJSON *e;
  cJSON_ArrayForEach(e, aud) if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0) return true;
  return false;
}

/* Scopes from a space-separated string or an array of strings, into a. */
static dorm_status read_scopes(const cJSON *c, dorm_arena *a, dorm_identity *out, char *errbuf, size_t errcap) {
  size_t n = 0;
  if (cJSON_IsString(c)) {
    for (const char *p = c->valuestring; *p;) {
      while (*p == ' ') p++;
      if (!*p) break;
      n++;
      while (*p && *p != ' ') p++;
    }
  } else if (cJSON_IsArray(c)) {
    const cJSON *e;
    cJSON_ArrayForEach(e, c) {
      if (!cJSON_IsString(e)) return UNAUTH("malformed token: scopes are not strings");
      if (e->valuestring[0]) n++;
    }
  } else {
    return UNAUTH("malformed token: scopes are neither a string nor an array of strings");
  }
  const char **scopes = dorm_arena_calloc(a, n ? n : 1, sizeof *scopes);
  if (!scopes) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  size_t i = 0;
  if (cJSON_IsString(c)) {
    for (const char *p = c->valuestring; *p;) {
      while (*p == ' ') p++;
      if (!*p) break;
      const char *start = p;
      while (*p && *p != ' ') p++;
      if (!(scopes[i++] = dorm_arena_strndup(a, start, (size_t)(p - start))))
        return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
    }
  } else {
    const cJSON *e;
    cJSON_ArrayForEach(e, c) {
      if (!e->valuestring[0]) continue;
      if (!(scopes[i++] = dorm_arena_strdup(a, e->valuestring)))
        return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
    }
  }
  out->scopes = scopes;
  out->nscopes = n;
  return DORM_OK;
}

/* The registered claims and the identity, after the signature verified. */
static dorm_status check_claims(const dorm_jwt_verifier *v, const cJSON *p, int64_t now_s, dorm_arena *a,
                                dorm_identity *out, char *errbuf, size_t errcap) {
  double now = (double)now_s, exp = 0, nbf = 0, iat = 0;
  bool has_exp, has_nbf, has_iat;
  if (!numeric_date(p, "exp", &has_exp, &exp, errbuf, errcap) ||
      !numeric_date(p, "nbf", &has_nbf, &nbf, errbuf, errcap) ||
      !numeric_date(p, "iat", &has_iat, &iat, errbuf, errcap))
    return DORM_ERR_UNAUTHORIZED;
  if (!has_exp) return UNAUTH("token has no expiry (exp)");
  if (now >= exp + v->leeway) return UNAUTH("token expired");
  if (has_nbf && now + v->leeway < nbf) return UNAUTH("token not yet valid");
  if (has_iat && iat > now + v->leeway) return UNAUTH("token issued in the future (iat)");
  if (v->issuer) {
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(p, "iss");
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, v->issuer) != 0) return UNAUTH("wrong issuer");
  }
  if (v->audience && !audience_matches(cJSON_GetObjectItemCaseSensitive(p, "aud"), v->audience))
    return UNAUTH("wrong audience");
  const cJSON *sub = cJSON_GetObjectItemCaseSensitive(p, "sub");
  if (!cJSON_IsString(sub) || !sub->valuestring[0]) return UNAUTH("token has no subject (sub)");
  const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(p, v->tenant_claim);
  if (tenant && !cJSON_IsString(tenant)) return UNAUTH("malformed token: the tenant claim is not a string");
  /* keys are built from them ("{sub}#{id}"): bounded, never truncated */
  if (strlen(sub->valuestring) > DORM_JWT_MAX_CLAIM) return UNAUTH("subject (sub) longer than 128 bytes");
  if (tenant && strlen(tenant->valuestring) > DORM_JWT_MAX_CLAIM) return UNAUTH("tenant claim longer than 128 bytes");
  /* ... and the model layer refuses a key value that holds the '#' after it
   * (it would not say where sub ends): refused here, at the door */
  if (strchr(sub->valuestring, '#')) return UNAUTH("subject (sub) contains '#', the separator of request keys");
  const cJSON *scope = v->scope_claim ? cJSON_GetObjectItemCaseSensitive(p, v->scope_claim) : NULL;
  if (!v->scope_claim) {
    scope = cJSON_GetObjectItemCaseSensitive(p, "scope");
    if (!scope) scope = cJSON_GetObjectItemCaseSensitive(p, "scopes");
  }
  out->sub = dorm_arena_strdup(a, sub->valuestring);
  out->tenant = dorm_arena_strdup(a, tenant ? tenant->valuestring : "");
  if (!out->sub || !out->tenant) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  out->exp = (int64_t)exp; /* |exp| <= 2^53: exact; round down, not toward zero */
  if ((double)out->exp > exp) out->exp--;
  if (scope) return read_scopes(scope, a, out, errbuf, errcap);
  return DORM_OK;
}

/* Decodes one segment; name is "header", "payload" or "signature". */
static bool decode_segment(const char *name, const char *s, size_t n, unsigned char *out, size_t *out_len,
                           char *errbuf, size_t errcap) {
  b64u_result r = b64u_decode(s, n, out, out_len);
  if (r == B64U_OK) return true;
  if (r == B64U_PADDED) UNAUTH("malformed token: %s has base64 padding", name);
  else UNAUTH("malformed token: %s is not base64url", name);
  return false;
}

dorm_status dorm_jwt_verify(const dorm_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                            dorm_arena *a, dorm_identity *out, char *errbuf, size_t errcap) {
  if (out) memset(out, 0, sizeof *out);
  if (!v || !a || !out || (!token && len))
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "dorm_jwt_verify: v, a and out are required");
  if (len > v->max_token) return UNAUTH("token too large");
  if (len == 0) return UNAUTH("malformed token: empty");

  size_t dot[2] = {0, 0}, ndots = 0;
  for (const char *p = token; (p = memchr(p, '.', len - (size_t)(p - token))) != NULL; p++) {
    if (ndots < 2) dot[ndots] = (size_t)(p - token);
    ndots++;
  }
  if (ndots != 2) return UNAUTH("malformed token: expected 3 segments, found %zu", ndots + 1);
  const char *hs = token, *ps = token + dot[0] + 1, *ss = token + dot[1] + 1;
  size_t hn = dot[0], pn = dot[1] - dot[0] - 1, sn = len - dot[1] - 1;
  if (hn == 0 || pn == 0) return UNAUTH("malformed token: empty %s", hn == 0 ? "header" : "payload");

  size_t hcap = b64u_decoded_max(hn), pcap = b64u_decoded_max(pn), scap = b64u_decoded_max(sn);
  unsigned char *buf = malloc(hcap + pcap + scap);
  if (!buf) return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
  unsigned char *hdr = buf, *pay = buf + hcap, *sig = buf + hcap + pcap;
  size_t hlen = 0, plen = 0, slen = 0;
  cJSON *header = NULL, *payload = NULL;
  dorm_status st = DORM_ERR_UNAUTHORIZED;
  bool dup = false;
  if (!decode_segment("header", hs, hn, hdr, &hlen, errbuf, errcap) ||
      !decode_segment("payload", ps, pn, pay, &plen, errbuf, errcap) ||
      !decode_segment("signature", ss, sn, sig, &slen, errbuf, errcap))
    goto done;

  header = parse_object((const char *)hdr, hlen, &dup);
  if (!header) {
    UNAUTH("malformed token: header %s", dup ? "has a member twice" : "is not a JSON object");
    goto done;
  }
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
  if (!cJSON_IsString(alg)) {
    UNAUTH("malformed token: header has no alg");
    goto done;
  }
  unsigned bit = alg_bit(alg->valuestring);
  if (!bit) {
    const char *other = other_alg_name(alg->valuestring);
    if (strcasecmp(alg->valuestring, "none") == 0) UNAUTH("algorithm none is not allowed");
    else if (other) UNAUTH("algorithm %s is not allowed", other);
    else UNAUTH("algorithm is not supported");
    goto done;
  }
  if (!(bit & v->algorithms)) {
    UNAUTH("algorithm %s is not allowed", alg_name(bit));
    goto done;
  }
  if (cJSON_GetObjectItemCaseSensitive(header, "crit")) {
    UNAUTH("token has critical header extensions (crit)");
    goto done;
  }
  const cJSON *kid = cJSON_GetObjectItemCaseSensitive(header, "kid");
  if (kid && !cJSON_IsString(kid)) {
    UNAUTH("malformed token: kid is not a string");
    goto done;
  }
  const jwt_key *key = pick_key(v, bit, kid ? kid->valuestring : NULL, errbuf, errcap);
  if (!key) goto done;
  /* The signing input is the token's own ASCII up to the second dot. */
  st = verify_signature(key, token, dot[1], sig, slen, errbuf, errcap);
  if (st != DORM_OK) goto done;

  st = DORM_ERR_UNAUTHORIZED;
  payload = parse_object((const char *)pay, plen, &dup);
  if (!payload) {
    UNAUTH("malformed token: payload %s", dup ? "has a member twice" : "is not a JSON object");
    goto done;
  }
  st = check_claims(v, payload, now_s, a, out, errbuf, errcap);
  if (st != DORM_OK) memset(out, 0, sizeof *out);
done:
  cJSON_Delete(header);
  cJSON_Delete(payload);
  free(buf);
  return st;
}

bool dorm_identity_has_scope(const dorm_identity *id, const char *scope) {
  if (!id || !scope) return false;
  for (size_t i = 0; i < id->nscopes; i++)
    if (id->scopes[i] && strcmp(id->scopes[i], scope) == 0) return true;
  return false;
}
