/* dorm_jwt_*: the connection's identity. Keys (RSA 2048, EC P-256, an HMAC
 * secret) are made here with OpenSSL, written as a secret file, PEM files
 * and a JWKS into a fresh directory under /tmp, and tokens are signed here
 * (EVP_DigestSign, HMAC), so every case below is a real token: the valid
 * ones, and the attack suite (alg none, HS/RS confusion, algorithms outside
 * the allow-list, expiry, nbf, iat, issuer, audience, sub, tampered and
 * wrong-length signatures, malformed segments, oversized tokens, unknown
 * kid, dates as strings), then tenant and scope extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "dorm/streamer.h"

#define NOW INT64_C(1700000000)

static const char SECRET[] = "an HS256 test secret, 32+ bytes long, made for test_jwt";

/* ---- the fixture: keys and their files ---- */

static char g_dir[64];
static char g_files[32][128];
static size_t g_nfiles;
static EVP_PKEY *g_rsa1, *g_rsa2, *g_ec1, *g_ec2;
static char *g_rsa1_pem_text; /* the PEM bytes of rsa1's public key (for the confusion attack) */
static const char *P_SECRET, *P_RSA1, *P_EC1, *P_JWKS;

/* Memory a test makes; freed after each test (also when it fails). */
static void *g_pool[512];
static size_t g_npool;
static void *keep(void *p) {
  assert_non_null(p);
  assert_true(g_npool < sizeof g_pool / sizeof g_pool[0]);
  g_pool[g_npool++] = p;
  return p;
}
static int pool_free(void **state) {
  (void)state;
  while (g_npool) free(g_pool[--g_npool]);
  return 0;
}

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  char *s = malloc((size_t)n + 1);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return keep(s);
}

/* Writes (or rewrites) a file in the fixture directory; returns its path. */
static const char *put_file(const char *name, const void *data, size_t len) {
  char want[128];
  snprintf(want, sizeof want, "%s/%s", g_dir, name);
  char *path = NULL;
  for (size_t i = 0; i < g_nfiles && !path; i++)
    if (strcmp(g_files[i], want) == 0) path = g_files[i];
  if (!path) {
    assert_true(g_nfiles < sizeof g_files / sizeof g_files[0]);
    path = g_files[g_nfiles++];
    memcpy(path, want, sizeof want);
  }
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  return path;
}
static const char *put_text(const char *name, const char *text) { return put_file(name, text, strlen(text)); }

/* base64url without padding, by OpenSSL's encoder (not the code under test). */
static char *b64u_n(const void *in, size_t n) {
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
  int j = 0;
  for (int i = 0; i < len && out[i] != '='; i++) out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
  out[j] = '\0';
  return keep(out);
}
static char *b64u(const char *s) { return b64u_n(s, strlen(s)); }

static char *pem_of(EVP_PKEY *pk) {
  BIO *b = BIO_new(BIO_s_mem());
  assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
  char *data = NULL;
  long n = BIO_get_mem_data(b, &data);
  char *s = malloc((size_t)n + 1);
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  BIO_free(b);
  return s;
}

static char *bn_b64u(EVP_PKEY *pk, const char *param, int pad) {
  BIGNUM *bn = NULL;
  assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
  unsigned char buf[512];
  int n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
  assert_true(n > 0);
  BN_free(bn);
  return b64u_n(buf, (size_t)n);
}

static char *jwk_rsa(EVP_PKEY *pk, const char *extra) {
  return fmt("{\"kty\":\"RSA\",%s\"n\":\"%s\",\"e\":\"%s\"}", extra, bn_b64u(pk, OSSL_PKEY_PARAM_RSA_N, 0),
             bn_b64u(pk, OSSL_PKEY_PARAM_RSA_E, 0));
}
static char *jwk_ec(EVP_PKEY *pk, const char *extra) {
  return fmt("{\"kty\":\"EC\",%s\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", extra,
             bn_b64u(pk, OSSL_PKEY_PARAM_EC_PUB_X, 32), bn_b64u(pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/dorm-test-jwt-XXXXXX");
  if (!mkdtemp(g_dir)) return -1;
  g_rsa1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  g_rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  g_ec1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  g_ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  if (!g_rsa1 || !g_rsa2 || !g_ec1 || !g_ec2) return -1;
  P_SECRET = put_text("secret", fmt("%s\n", SECRET)); /* the trailing newline is not part of it */
  g_rsa1_pem_text = pem_of(g_rsa1);
  P_RSA1 = put_text("rsa1.pem", g_rsa1_pem_text);
  char *ec_pem = pem_of(g_ec1);
  P_EC1 = put_text("ec1.pem", ec_pem);
  free(ec_pem);
  /* Two RSA keys and an EC key the verifier uses, and two it must skip: a
   * symmetric key and an encryption key. */
  P_JWKS = put_text("jwks.json", fmt("{\"keys\":[%s,%s,%s,{\"kty\":\"oct\",\"kid\":\"sym\",\"k\":\"c2VjcmV0\"},%s]}",
                                     jwk_rsa(g_rsa1, "\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"RS256\","),
                                     jwk_rsa(g_rsa2, "\"kid\":\"k2\","), jwk_ec(g_ec1, "\"kid\":\"e1\","),
                                     jwk_rsa(g_rsa2, "\"kid\":\"enc\",\"use\":\"enc\",")));
  pool_free(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  pool_free(NULL);
  for (size_t i = 0; i < g_nfiles; i++) unlink(g_files[i]);
  rmdir(g_dir);
  EVP_PKEY_free(g_rsa1);
  EVP_PKEY_free(g_rsa2);
  EVP_PKEY_free(g_ec1);
  EVP_PKEY_free(g_ec2);
  free(g_rsa1_pem_text);
  return 0;
}

/* ---- tokens ---- */

enum { HS, RS, ES };

/* The raw JWS signature of input: HMAC-SHA256 with secret, or RS256/ES256
 * with pk (ES256 as r || s, or as OpenSSL's DER when der). */
static unsigned char *sign(int alg, const void *secret, size_t slen, EVP_PKEY *pk, const char *input, size_t *siglen,
                           bool der) {
  unsigned char *sig = keep(malloc(1024));
  if (alg == HS) {
    unsigned int n = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)input, strlen(input), sig, &n));
    *siglen = n;
    return sig;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t n = 1024;
  assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pk, NULL), 1);
  assert_int_equal(EVP_DigestSign(md, sig, &n, (const unsigned char *)input, strlen(input)), 1);
  EVP_MD_CTX_free(md);
  if (alg == ES && !der) {
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    assert_non_null(es);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    unsigned char *raw = keep(malloc(64));
    assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
    assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
    ECDSA_SIG_free(es);
    *siglen = 64;
    return raw;
  }
  *siglen = n;
  return sig;
}

/* header.payload.signature from JSON texts and raw signature bytes. */
static char *assemble(const char *hdr, const char *payload, const unsigned char *sig, size_t siglen) {
  return fmt("%s.%s.%s", b64u(hdr), b64u(payload), b64u_n(sig, siglen));
}

/* A token signed with the fixture's keys: HS with SECRET, RS/ES with pk. */
static char *token(int alg, EVP_PKEY *pk, const char *hdr, const char *payload) {
  char *input = fmt("%s.%s", b64u(hdr), b64u(payload));
  size_t n = 0;
  unsigned char *sig = sign(alg, SECRET, strlen(SECRET), pk, input, &n, false);
  return fmt("%s.%s", input, b64u_n(sig, n));
}

/* The same with one signature byte flipped (at index at; negative: from the end). */
static char *token_flipped(int alg, EVP_PKEY *pk, const char *hdr, const char *payload, long at) {
  char *input = fmt("%s.%s", b64u(hdr), b64u(payload));
  size_t n = 0;
  unsigned char *sig = sign(alg, SECRET, strlen(SECRET), pk, input, &n, false);
  sig[at < 0 ? (long)n + at : at] ^= 0x01;
  return fmt("%s.%s", input, b64u_n(sig, n));
}

static const char *HS_HDR = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char *RS_HDR = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
static const char *ES_HDR = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";

/* Claims valid at NOW, with extra members appended (extra: "" or ",\"k\":v"). */
static char *claims(const char *extra) {
  return fmt("{\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld%s}", (long long)NOW - 10, (long long)NOW + 300, extra);
}

/* ---- verifiers and verdicts ---- */

static dorm_jwt_verifier *verifier(dorm_jwt_config cfg) {
  dorm_jwt_verifier *v = NULL;
  char err[256] = "";
  dorm_status st = dorm_jwt_verifier_new(&cfg, &v, err, sizeof err);
  if (st != DORM_OK) fail_msg("dorm_jwt_verifier_new: %s", err);
  assert_non_null(v);
  return v;
}

static dorm_jwt_config hs_cfg(void) { return (dorm_jwt_config){.hs256_secret_file = P_SECRET}; }
static dorm_jwt_config rsa_cfg(void) { return (dorm_jwt_config){.public_key_file = P_RSA1}; }
static dorm_jwt_config ec_cfg(void) { return (dorm_jwt_config){.public_key_file = P_EC1}; }
static dorm_jwt_config jwks_cfg(void) { return (dorm_jwt_config){.jwks_file = P_JWKS}; }

/* Verifies at NOW; *id and the arena are the caller's. */
static dorm_status check(const dorm_jwt_verifier *v, const char *tok, dorm_arena *a, dorm_identity *id, char *err,
                         size_t cap) {
  return dorm_jwt_verify(v, tok, strlen(tok), NOW, a, id, err, cap);
}

static void expect_ok_sub(const dorm_jwt_verifier *v, const char *tok, const char *sub) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  char err[256] = "";
  dorm_status st = check(v, tok, &a, &id, err, sizeof err);
  if (st != DORM_OK) {
    dorm_arena_free(&a);
    fail_msg("expected the token to verify; got %s: %s", dorm_strerror(st), err);
  }
  assert_string_equal(id.sub, sub);
  dorm_arena_free(&a);
}
static void expect_ok(const dorm_jwt_verifier *v, const char *tok) { expect_ok_sub(v, tok, "alice"); }

/* Refused with DORM_ERR_UNAUTHORIZED, a message containing want, no
 * identity, and none of the token's segments in the message. */
static void expect_fail_n(const dorm_jwt_verifier *v, const char *tok, size_t len, const char *want) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  memset(&id, 0x5a, sizeof id);
  char err[256] = "";
  dorm_status st = dorm_jwt_verify(v, tok, len, NOW, &a, &id, err, sizeof err);
  dorm_arena_free(&a);
  if (st != DORM_ERR_UNAUTHORIZED)
    fail_msg("want DORM_ERR_UNAUTHORIZED (%s), got %s: %s", want, dorm_strerror(st), err);
  if (!strstr(err, want)) fail_msg("want a message with \"%s\", got \"%s\"", want, err);
  assert_null(id.sub);
  assert_null(id.tenant);
  assert_int_equal(id.nscopes, 0);
  /* Never a piece of the token: no 8 characters of a segment. */
  for (size_t i = 0; i + 8 <= len; i++) {
    char piece[9];
    memcpy(piece, tok + i, 8);
    piece[8] = '\0';
    if (strlen(piece) == 8 && !strchr(piece, '.') && strstr(err, piece))
      fail_msg("the message quotes the token: %s", err);
  }
}
static void expect_fail(const dorm_jwt_verifier *v, const char *tok, const char *want) {
  expect_fail_n(v, tok, strlen(tok), want);
}

/* ---- valid tokens ---- */

static void hs256_valid(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  const char *tok = token(HS, NULL, HS_HDR,
                          claims(",\"nbf\":1699999990,\"tenant_id\":\"acme\","
                                 "\"scope\":\"reports:read reports:write\""));
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  char err[256] = "";
  assert_int_equal(check(v, tok, &a, &id, err, sizeof err), DORM_OK);
  assert_string_equal(id.sub, "alice");
  assert_string_equal(id.tenant, "acme");
  assert_int_equal(id.exp, NOW + 300);
  assert_int_equal(id.nscopes, 2);
  assert_string_equal(id.scopes[0], "reports:read");
  assert_string_equal(id.scopes[1], "reports:write");
  assert_true(dorm_identity_has_scope(&id, "reports:write"));
  assert_false(dorm_identity_has_scope(&id, "reports"));
  assert_false(dorm_identity_has_scope(&id, "admin"));
  assert_false(dorm_identity_has_scope(&id, NULL));
  assert_false(dorm_identity_has_scope(NULL, "reports:read"));
  dorm_arena_free(&a);

  /* The file's trailing newline is not part of the secret. */
  char *input = fmt("%s.%s", b64u(HS_HDR), b64u(claims("")));
  size_t n;
  const char *with_nl = fmt("%s\n", SECRET);
  unsigned char *sig = sign(HS, with_nl, strlen(with_nl), NULL, input, &n, false);
  expect_fail(v, fmt("%s.%s", input, b64u_n(sig, n)), "signature does not verify");
  dorm_jwt_verifier_free(v);
}

static void rs256_valid(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(rsa_cfg());
  expect_ok(v, token(RS, g_rsa1, RS_HDR, claims("")));
  /* A kid is ignored when there is no JWKS to look it up in. */
  expect_ok(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":\"whatever\"}", claims("")));
  /* Another RSA key's signature does not verify. */
  expect_fail(v, token(RS, g_rsa2, RS_HDR, claims("")), "signature does not verify");
  dorm_jwt_verifier_free(v);
}

static void es256_valid(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(ec_cfg());
  for (int i = 0; i < 8; i++) expect_ok(v, token(ES, g_ec1, ES_HDR, claims(""))); /* r, s of every length */
  expect_fail(v, token(ES, g_ec2, ES_HDR, claims("")), "signature does not verify");
  dorm_jwt_verifier_free(v);
}

static void jwks_kid_picks_the_key(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(jwks_cfg());
  expect_ok(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims("")));
  expect_ok(v, token(RS, g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", claims("")));
  expect_ok(v, token(ES, g_ec1, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims("")));
  /* The kid picks: rsa2's signature under k1's name does not verify. */
  expect_fail(v, token(RS, g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims("")), "signature does not verify");
  /* A kid naming a key of another type. */
  expect_fail(v, token(ES, g_ec1, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", claims("")),
              "the key id names a key that does not verify ES256");
  /* Without a kid: ambiguous among two RSA keys; the only EC key is used. */
  expect_fail(v, token(RS, g_rsa1, RS_HDR, claims("")), "token has no key id");
  expect_ok(v, token(ES, g_ec1, ES_HDR, claims("")));
  /* A JWKS-only verifier knows no HS256. */
  expect_fail(v, token(HS, NULL, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", claims("")), "algorithm HS256 is not allowed");
  dorm_jwt_verifier_free(v);

  /* With a secret and a JWKS, HS256 uses the secret, whatever its kid says. */
  dorm_jwt_config cfg = jwks_cfg();
  cfg.hs256_secret_file = P_SECRET;
  v = verifier(cfg);
  expect_ok(v, token(HS, NULL, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", claims("")));
  expect_ok(v, token(RS, g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", claims("")));
  dorm_jwt_verifier_free(v);
}

/* ---- the attack suite ---- */

static void alg_none_is_refused(void **state) {
  (void)state;
  dorm_jwt_config cfgs[] = {hs_cfg(), rsa_cfg(), jwks_cfg()};
  for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
    dorm_jwt_verifier *v = verifier(cfgs[c]);
    const char *names[] = {"none", "None", "NONE", "nOnE"};
    for (size_t i = 0; i < 4; i++) {
      const char *hdr = fmt("{\"alg\":\"%s\",\"typ\":\"JWT\"}", names[i]);
      /* Without a signature ("h.p.") ... */
      expect_fail(v, fmt("%s.%s.", b64u(hdr), b64u(claims(""))), "algorithm none is not allowed");
      /* ... and with one (an HMAC with the real secret, a kid too). */
      expect_fail(v, token(HS, NULL, hdr, claims("")), "algorithm none is not allowed");
      expect_fail(v, token(HS, NULL, fmt("{\"alg\":\"%s\",\"kid\":\"k1\"}", names[i]), claims("")),
                  "algorithm none is not allowed");
    }
    dorm_jwt_verifier_free(v);
  }
}

static void hs_rs_confusion_is_refused(void **state) {
  (void)state;
  /* The classic: the RSA public key's PEM bytes as the HMAC secret. */
  const char *pem = g_rsa1_pem_text;
  char *input = fmt("%s.%s", b64u(HS_HDR), b64u(claims("")));
  size_t n;
  unsigned char *sig = sign(HS, pem, strlen(pem), NULL, input, &n, false);
  const char *forged = fmt("%s.%s", input, b64u_n(sig, n));
  sig = sign(HS, pem, strlen(pem) - 1, NULL, input, &n, false); /* without the final newline */
  const char *forged2 = fmt("%s.%s", input, b64u_n(sig, n));

  dorm_jwt_verifier *v = verifier(rsa_cfg()); /* algorithms 0: what the RSA key verifies */
  expect_fail(v, forged, "algorithm HS256 is not allowed");
  expect_fail(v, forged2, "algorithm HS256 is not allowed");
  dorm_jwt_verifier_free(v);

  dorm_jwt_config cfg = rsa_cfg();
  cfg.algorithms = DORM_JWT_RS256;
  v = verifier(cfg);
  expect_fail(v, forged, "algorithm HS256 is not allowed");
  dorm_jwt_verifier_free(v);

  /* Allowing HS256 without a secret is a configuration error, not a way in. */
  cfg.algorithms = DORM_JWT_HS256 | DORM_JWT_RS256;
  dorm_jwt_verifier *bad = (dorm_jwt_verifier *)&cfg;
  char err[256] = "";
  assert_int_equal(dorm_jwt_verifier_new(&cfg, &bad, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_null(bad);
  assert_non_null(strstr(err, "HS256 is allowed but no key verifies it"));

  /* With a secret and the RSA key both configured, HS256 tokens are checked
   * with the secret only: the PEM is never an HMAC key. */
  cfg = rsa_cfg();
  cfg.hs256_secret_file = P_SECRET;
  v = verifier(cfg);
  expect_fail(v, forged, "signature does not verify");
  expect_fail(v, forged2, "signature does not verify");
  expect_ok(v, token(HS, NULL, HS_HDR, claims("")));
  expect_ok(v, token(RS, g_rsa1, RS_HDR, claims("")));
  dorm_jwt_verifier_free(v);

  /* The reverse: RS256 and ES256 tokens against a secret-only verifier. */
  v = verifier(hs_cfg());
  expect_fail(v, token(RS, g_rsa1, RS_HDR, claims("")), "algorithm RS256 is not allowed");
  expect_fail(v, token(ES, g_ec1, ES_HDR, claims("")), "algorithm ES256 is not allowed");
  dorm_jwt_verifier_free(v);

  /* RS256 against an EC key, ES256 against an RSA key. */
  v = verifier(ec_cfg());
  expect_fail(v, token(RS, g_rsa1, RS_HDR, claims("")), "algorithm RS256 is not allowed");
  dorm_jwt_verifier_free(v);
  v = verifier(rsa_cfg());
  expect_fail(v, token(ES, g_ec1, ES_HDR, claims("")), "algorithm ES256 is not allowed");
  dorm_jwt_verifier_free(v);
}

static void alg_outside_the_allow_list_is_refused(void **state) {
  (void)state;
  dorm_jwt_config cfg = rsa_cfg();
  cfg.hs256_secret_file = P_SECRET;
  cfg.algorithms = DORM_JWT_RS256;
  dorm_jwt_verifier *v = verifier(cfg);
  /* A correctly signed HS256 token, but HS256 is not on the list. */
  expect_fail(v, token(HS, NULL, HS_HDR, claims("")), "algorithm HS256 is not allowed");
  expect_ok(v, token(RS, g_rsa1, RS_HDR, claims("")));
  expect_fail(v, token(HS, NULL, "{\"alg\":\"HS512\"}", claims("")), "algorithm HS512 is not allowed");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"PS256\"}", claims("")), "algorithm PS256 is not allowed");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"rs256\"}", claims("")), "algorithm is not supported");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"RS256 \"}", claims("")), "algorithm is not supported");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":256}", claims("")), "malformed token: header has no alg");
  expect_fail(v, token(RS, g_rsa1, "{\"typ\":\"JWT\"}", claims("")), "malformed token: header has no alg");
  dorm_jwt_verifier_free(v);

  char err[256] = "";
  dorm_jwt_verifier *none = NULL;
  cfg.algorithms = 1u << 7;
  assert_int_equal(dorm_jwt_verifier_new(&cfg, &none, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "unknown bits"));
}

static void expiry(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  const char *fmt_exp = "{\"sub\":\"alice\",\"exp\":%lld}";
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 3600)), "token expired");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 61)), "token expired");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 60)), "token expired");
  /* Expired, but within the default leeway of 60 s. */
  expect_ok(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 59)));
  expect_ok(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 1)));
  /* Fractional NumericDates are dates too. */
  expect_ok(v, token(HS, NULL, HS_HDR, fmt("{\"sub\":\"alice\",\"exp\":%lld.75}", (long long)NOW)));
  /* exp is required. */
  expect_fail(v, token(HS, NULL, HS_HDR, "{\"sub\":\"alice\"}"), "token has no expiry");
  dorm_jwt_verifier_free(v);

  dorm_jwt_config cfg = hs_cfg();
  cfg.leeway_s = -1; /* none */
  v = verifier(cfg);
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW)), "token expired");
  expect_ok(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW + 1)));
  dorm_jwt_verifier_free(v);

  cfg.leeway_s = 10;
  v = verifier(cfg);
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 30)), "token expired");
  expect_ok(v, token(HS, NULL, HS_HDR, fmt(fmt_exp, (long long)NOW - 9)));
  dorm_jwt_verifier_free(v);
}

static void not_yet_valid_and_iat_in_the_future(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  expect_fail(v, token(HS, NULL, HS_HDR, claims(fmt(",\"nbf\":%lld", (long long)NOW + 3600))), "token not yet valid");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(fmt(",\"nbf\":%lld", (long long)NOW + 61))), "token not yet valid");
  expect_ok(v, token(HS, NULL, HS_HDR, claims(fmt(",\"nbf\":%lld", (long long)NOW + 60)))); /* the leeway */
  expect_ok(v, token(HS, NULL, HS_HDR, claims(fmt(",\"nbf\":%lld", (long long)NOW - 100))));

  const char *f = "{\"sub\":\"alice\",\"exp\":%lld,\"iat\":%lld}";
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(f, (long long)NOW + 7200, (long long)NOW + 3600)),
              "token issued in the future");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt(f, (long long)NOW + 7200, (long long)NOW + 61)),
              "token issued in the future");
  expect_ok(v, token(HS, NULL, HS_HDR, fmt(f, (long long)NOW + 7200, (long long)NOW + 30)));
  dorm_jwt_verifier_free(v);
}

static void issuer_and_audience(void **state) {
  (void)state;
  dorm_jwt_config cfg = hs_cfg();
  cfg.issuer = "https://issuer.example";
  cfg.audience = "streamer";
  dorm_jwt_verifier *v = verifier(cfg);
  const char *good = ",\"iss\":\"https://issuer.example\",\"aud\":\"streamer\"";
  expect_ok(v, token(HS, NULL, HS_HDR, claims(good)));
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://evil.example\",\"aud\":\"streamer\"")),
              "wrong issuer");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example/\",\"aud\":\"streamer\"")),
              "wrong issuer");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"aud\":\"streamer\"")), "wrong issuer");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":[\"https://issuer.example\"],\"aud\":\"streamer\"")),
              "wrong issuer");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\",\"aud\":\"other\"")),
              "wrong audience");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\"")), "wrong audience");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\",\"aud\":[\"a\",\"b\"]")),
              "wrong audience");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\",\"aud\":[]")), "wrong audience");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\",\"aud\":[[\"streamer\"]]")),
              "wrong audience");
  /* An audience array that contains ours. */
  expect_ok(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"https://issuer.example\",\"aud\":[\"a\",\"streamer\"]")));
  dorm_jwt_verifier_free(v);

  /* Without issuer and audience configured, neither is checked. */
  v = verifier(hs_cfg());
  expect_ok(v, token(HS, NULL, HS_HDR, claims(",\"iss\":\"anyone\",\"aud\":\"anything\"")));
  dorm_jwt_verifier_free(v);
}

static void sub_is_required(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  const char *exp = fmt("\"exp\":%lld", (long long)NOW + 300);
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s}", exp)), "token has no subject");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":\"\"}", exp)), "token has no subject");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":42}", exp)), "token has no subject");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":null}", exp)), "token has no subject");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"Sub\":\"alice\"}", exp)), "token has no subject");
  /* bounded (request keys are "{sub}#{id}"): 128 bytes pass, 129 are refused */
  char longest[DORM_JWT_MAX_CLAIM + 2];
  memset(longest, 'u', DORM_JWT_MAX_CLAIM);
  longest[DORM_JWT_MAX_CLAIM] = '\0';
  expect_ok_sub(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":\"%s\"}", exp, longest)), longest);
  longest[DORM_JWT_MAX_CLAIM] = 'u';
  longest[DORM_JWT_MAX_CLAIM + 1] = '\0';
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":\"%s\"}", exp, longest)), "longer than 128 bytes");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":\"a\",\"tenant_id\":\"%s\"}", exp, longest)),
              "tenant claim longer than 128 bytes");
  /* '#' separates sub from the request id in keys: the model layer refuses
   * such a key on every call, so the token is refused */
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{%s,\"sub\":\"a#b\"}", exp)), "contains '#'");
  dorm_jwt_verifier_free(v);
}

static void bad_signatures(void **state) {
  (void)state;
  struct {
    dorm_jwt_config cfg;
    int alg;
    EVP_PKEY *pk;
    const char *hdr;
  } cases[] = {{hs_cfg(), HS, NULL, HS_HDR}, {rsa_cfg(), RS, g_rsa1, RS_HDR}, {ec_cfg(), ES, g_ec1, ES_HDR}};
  for (size_t c = 0; c < 3; c++) {
    dorm_jwt_verifier *v = verifier(cases[c].cfg);
    expect_ok(v, token(cases[c].alg, cases[c].pk, cases[c].hdr, claims("")));
    long at[] = {0, 17, -1};
    for (size_t i = 0; i < 3; i++)
      expect_fail(v, token_flipped(cases[c].alg, cases[c].pk, cases[c].hdr, claims(""), at[i]),
                  "signature does not verify");
    /* A good signature over other claims: the payload swapped afterwards. */
    char *tok = token(cases[c].alg, cases[c].pk, cases[c].hdr, claims(""));
    char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
    *dot1 = *dot2 = '\0';
    expect_fail(v, fmt("%s.%s.%s", tok, b64u(fmt("{\"sub\":\"root\",\"exp\":%lld}", (long long)NOW + 300)), dot2 + 1),
                "signature does not verify");
    dorm_jwt_verifier_free(v);
  }
  /* ES256: r and s of zero, and of all ones (above the group order). */
  dorm_jwt_verifier *v = verifier(ec_cfg());
  unsigned char zeros[64] = {0};
  expect_fail(v, assemble(ES_HDR, claims(""), zeros, 64), "signature does not verify");
  unsigned char ones[64];
  memset(ones, 0xff, sizeof ones);
  expect_fail(v, assemble(ES_HDR, claims(""), ones, 64), "signature does not verify");
  dorm_jwt_verifier_free(v);
}

static void signatures_of_the_wrong_length(void **state) {
  (void)state;
  dorm_jwt_verifier *hs = verifier(hs_cfg()), *rs = verifier(rsa_cfg()), *es = verifier(ec_cfg());
  char *in_hs = fmt("%s.%s", b64u(HS_HDR), b64u(claims(""))), *in_rs = fmt("%s.%s", b64u(RS_HDR), b64u(claims("")));
  char *in_es = fmt("%s.%s", b64u(ES_HDR), b64u(claims("")));
  size_t n;
  unsigned char *sig = sign(HS, SECRET, strlen(SECRET), NULL, in_hs, &n, false);
  expect_fail(hs, fmt("%s.%s", in_hs, b64u_n(sig, 31)), "signature has the wrong length"); /* truncated */
  expect_fail(hs, fmt("%s.%s", in_hs, b64u_n(sig, 16)), "signature has the wrong length");
  expect_fail(hs, fmt("%s.", in_hs), "signature has the wrong length"); /* none at all */
  unsigned char longer[33];
  memcpy(longer, sig, 32);
  longer[32] = 0;
  expect_fail(hs, fmt("%s.%s", in_hs, b64u_n(longer, 33)), "signature has the wrong length");

  sig = sign(RS, NULL, 0, g_rsa1, in_rs, &n, false);
  assert_int_equal(n, 256);
  expect_fail(rs, fmt("%s.%s", in_rs, b64u_n(sig, 255)), "signature has the wrong length");
  expect_fail(rs, fmt("%s.%s", in_rs, b64u_n(sig + 1, 255)), "signature has the wrong length");
  expect_fail(rs, fmt("%s.", in_rs), "signature has the wrong length");

  /* ES256 as OpenSSL's DER (what a careless signer sends) is not JWS. */
  sig = sign(ES, NULL, 0, g_ec1, in_es, &n, true);
  assert_true(n != 64);
  expect_fail(es, fmt("%s.%s", in_es, b64u_n(sig, n)), "signature has the wrong length");
  sig = sign(ES, NULL, 0, g_ec1, in_es, &n, false);
  expect_fail(es, fmt("%s.%s", in_es, b64u_n(sig, 63)), "signature has the wrong length");
  expect_fail(es, fmt("%s.", in_es), "signature has the wrong length");
  expect_ok(es, fmt("%s.%s", in_es, b64u_n(sig, 64)));
  dorm_jwt_verifier_free(hs);
  dorm_jwt_verifier_free(rs);
  dorm_jwt_verifier_free(es);
}

static void malformed_tokens(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  char *good = token(HS, NULL, HS_HDR, claims(""));
  expect_ok(v, good);
  char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
  const char *h = keep(strndup(good, (size_t)(dot1 - good)));
  const char *p = keep(strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1)));
  const char *s = dot2 + 1;

  /* Segments: 1, 2, 4, 5, and empty ones. */
  expect_fail(v, h, "expected 3 segments, found 1");
  expect_fail(v, fmt("%s.%s", h, p), "expected 3 segments, found 2");
  expect_fail(v, fmt("%s.%s.%s.%s", h, p, s, s), "expected 3 segments, found 4");
  expect_fail(v, fmt("%s.%s.%s..", h, p, s), "expected 3 segments, found 5");
  expect_fail(v, fmt(".%s.%s", p, s), "malformed token: empty header");
  expect_fail(v, fmt("%s..%s", h, s), "malformed token: empty payload");
  expect_fail(v, "..", "malformed token: empty header");
  expect_fail(v, "", "malformed token: empty");

  /* base64url, strictly. */
  expect_fail(v, fmt("%s+.%s.%s", h, p, s), "header is not base64url");          /* standard alphabet */
  expect_fail(v, fmt("%s.%s/.%s", h, p, s), "payload is not base64url");
  expect_fail(v, fmt("%s.%s.%s*", h, p, s), "signature is not base64url");
  expect_fail(v, fmt("%s .%s.%s", h, p, s), "header is not base64url");           /* whitespace */
  expect_fail(v, fmt("%sA.%s.%s", h, p, s), "header is not base64url");           /* a length of 1 mod 4 */
  expect_fail(v, fmt("%s.%s.%s=", h, p, s), "signature has base64 padding");      /* 43 -> 44 chars */
  const char *hdr16 = "{\"alg\":\"HS256\" }";                                        /* 16 bytes: 22 chars + "==" */
  expect_fail(v, fmt("%s==.%s.%s", b64u(hdr16), p, s), "header has base64 padding");
  expect_fail(v, fmt("%s.%s==.%s", h, b64u("{\"sub\":\"alice\"}"), s), "payload has base64 padding");
  /* Nonzero unused bits: the last character of a 22-character segment ("...Q" -> "...R"). */
  char *bits = fmt("%s", b64u(hdr16));
  bits[strlen(bits) - 1] = bits[strlen(bits) - 1] == 'Q' ? 'R' : 'B';
  expect_fail(v, fmt("%s.%s.%s", bits, p, s), "header is not base64url");
  /* A NUL inside the token. */
  char *nul = fmt("%s", good);
  nul[3] = '\0';
  expect_fail_n(v, nul, strlen(good), "header is not base64url");

  /* Headers that are not one JSON object. */
  const char *not_objects[] = {"not json", "[\"HS256\"]", "[{\"alg\":\"HS256\"}]", "\"HS256\"", "42", "null",
                               "{\"alg\":\"HS256\"} x", "{\"alg\":\"HS256\"}{}", "{\"alg\":\"HS256\""};
  for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
    expect_fail(v, token(HS, NULL, not_objects[i], claims("")), "malformed token: header is not a JSON object");
  }
  /* A NUL and broken UTF-8 inside the header's JSON. */
  static const char with_nul[] = "{\"alg\":\"HS256\"}\0";
  expect_fail(v, fmt("%s.%s.%s", b64u_n(with_nul, sizeof with_nul - 1), p, s), "header is not a JSON object");
  expect_fail(v, token(HS, NULL, "{\"alg\":\"HS256\",\"x\":\"\xff\"}", claims("")), "header is not a JSON object");
  /* Two algs: one reader could see HS256, another none. */
  expect_fail(v, token(HS, NULL, "{\"alg\":\"HS256\",\"alg\":\"none\"}", claims("")), "header has a member twice");
  expect_fail(v, token(HS, NULL, "{\"alg\":\"none\",\"alg\":\"HS256\"}", claims("")), "header has a member twice");

  /* Payloads that are not one JSON object, correctly signed. */
  expect_fail(v, token(HS, NULL, HS_HDR, "not json"), "payload is not a JSON object");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("[%s]", claims(""))), "payload is not a JSON object");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("%s trailing", claims(""))), "payload is not a JSON object");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"sub\":\"root\"")), "payload has a member twice");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(fmt(",\"exp\":%lld", (long long)NOW + 999999))),
              "payload has a member twice");
  /* Deep nesting inside a claim: cJSON's limit, not a crash. */
  char deep[3000];
  size_t k = 0;
  for (int i = 0; i < 1200; i++) deep[k++] = '[';
  for (int i = 0; i < 1200; i++) deep[k++] = ']';
  deep[k] = '\0';
  dorm_jwt_config big = hs_cfg();
  big.max_token_bytes = 100000;
  dorm_jwt_verifier *vb = verifier(big);
  expect_fail(vb, token(HS, NULL, HS_HDR, claims(fmt(",\"x\":%s", deep))), "payload is not a JSON object");
  dorm_jwt_verifier_free(vb);

  /* crit: extensions we do not understand must not be ignored (RFC 7515 4.1.11). */
  expect_fail(v, token(HS, NULL, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", claims("")),
              "critical header extensions");
  dorm_jwt_verifier_free(v);

  /* A key embedded in the header (jwk, jku) is never used. */
  v = verifier(rsa_cfg());
  const char *embedded =
      fmt("{\"alg\":\"RS256\",\"jwk\":%s,\"jku\":\"https://evil.example/jwks\"}", jwk_rsa(g_rsa2, ""));
  expect_fail(v, token(RS, g_rsa2, embedded, claims("")), "signature does not verify");
  dorm_jwt_verifier_free(v);
}

static void oversized_tokens(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  /* Refused unread: 8193 bytes of anything. */
  char *junk = keep(malloc(8194));
  memset(junk, '.', 8193);
  junk[8193] = '\0';
  expect_fail(v, junk, "token too large");
  memset(junk, 'A', 8193);
  expect_fail(v, junk, "token too large");
  /* A correctly signed token over the limit, and one just under it. */
  char pad[8200];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = '\0';
  const char *big = token(HS, NULL, HS_HDR, claims(fmt(",\"pad\":\"%.6200s\"", pad)));
  assert_true(strlen(big) > 8192);
  expect_fail(v, big, "token too large");
  const char *fits = token(HS, NULL, HS_HDR, claims(fmt(",\"pad\":\"%.5900s\"", pad)));
  assert_true(strlen(fits) <= 8192);
  expect_ok(v, fits);
  dorm_jwt_verifier_free(v);

  /* The bound is configurable both ways. */
  dorm_jwt_config cfg = hs_cfg();
  cfg.max_token_bytes = 64;
  v = verifier(cfg);
  expect_fail(v, token(HS, NULL, HS_HDR, claims("")), "token too large");
  dorm_jwt_verifier_free(v);
  cfg.max_token_bytes = 20000;
  v = verifier(cfg);
  expect_ok(v, big);
  dorm_jwt_verifier_free(v);
}

static void unknown_kid(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(jwks_cfg());
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":\"k3\"}", claims("")), "unknown key id");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":\"\"}", claims("")), "unknown key id");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":\"K1\"}", claims("")), "unknown key id");
  /* Keys the JWKS has but the verifier skipped: use "enc" and kty "oct". */
  expect_fail(v, token(RS, g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"enc\"}", claims("")), "unknown key id");
  expect_fail(v, token(RS, g_rsa2, "{\"alg\":\"RS256\",\"kid\":\"sym\"}", claims("")), "unknown key id");
  expect_fail(v, token(RS, g_rsa1, "{\"alg\":\"RS256\",\"kid\":1}", claims("")),
              "malformed token: kid is not a string");
  dorm_jwt_verifier_free(v);
}

static void dates_must_be_numbers(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{\"sub\":\"alice\",\"exp\":\"%lld\"}", (long long)NOW + 300)),
              "malformed token: exp is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, "{\"sub\":\"alice\",\"exp\":null}"), "exp is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, "{\"sub\":\"alice\",\"exp\":true}"), "exp is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, "{\"sub\":\"alice\",\"exp\":1e400}"), "exp is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, "{\"sub\":\"alice\",\"exp\":1e17}"), "exp is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"nbf\":\"0\"")), "malformed token: nbf is not a NumericDate");
  expect_fail(v, token(HS, NULL, HS_HDR, fmt("{\"sub\":\"alice\",\"exp\":%lld,\"iat\":\"yesterday\"}",
                                             (long long)NOW + 300)),
              "malformed token: iat is not a NumericDate");
  dorm_jwt_verifier_free(v);
}

static void tenant_and_scopes(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  char err[256] = "";

  /* No tenant, no scopes. */
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims("")), &a, &id, err, sizeof err), DORM_OK);
  assert_string_equal(id.tenant, "");
  assert_int_equal(id.nscopes, 0);
  assert_false(dorm_identity_has_scope(&id, "x"));

  /* "scope", space-separated (extra spaces are no scopes). */
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims(",\"tenant_id\":\"t-1\",\"scope\":\"  a   b:c d  \"")), &a,
                         &id, err, sizeof err),
                   DORM_OK);
  assert_string_equal(id.tenant, "t-1");
  assert_int_equal(id.nscopes, 3);
  assert_string_equal(id.scopes[0], "a");
  assert_string_equal(id.scopes[1], "b:c");
  assert_string_equal(id.scopes[2], "d");
  assert_true(dorm_identity_has_scope(&id, "b:c"));
  assert_false(dorm_identity_has_scope(&id, "b"));

  /* Else "scopes", an array of strings. */
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims(",\"scopes\":[\"reports:write\",\"x y\"]")), &a, &id, err,
                         sizeof err),
                   DORM_OK);
  assert_int_equal(id.nscopes, 2);
  assert_string_equal(id.scopes[0], "reports:write");
  assert_string_equal(id.scopes[1], "x y");
  assert_true(dorm_identity_has_scope(&id, "reports:write"));
  assert_false(dorm_identity_has_scope(&id, "x"));

  /* "scope" wins over "scopes". */
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims(",\"scope\":\"one\",\"scopes\":[\"two\"]")), &a, &id, err,
                         sizeof err),
                   DORM_OK);
  assert_int_equal(id.nscopes, 1);
  assert_string_equal(id.scopes[0], "one");

  /* The strings live in the arena: not in the token, not in a parse tree. */
  char *tok = token(HS, NULL, HS_HDR, claims(",\"tenant_id\":\"acme\",\"scope\":\"s\""));
  assert_int_equal(check(v, tok, &a, &id, err, sizeof err), DORM_OK);
  memset(tok, 'x', strlen(tok));
  assert_string_equal(id.sub, "alice");
  assert_string_equal(id.tenant, "acme");
  assert_string_equal(id.scopes[0], "s");

  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"tenant_id\":42")), "the tenant claim is not a string");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"scope\":42")), "scopes are neither a string nor an array");
  expect_fail(v, token(HS, NULL, HS_HDR, claims(",\"scopes\":[\"a\",1]")), "scopes are not strings");
  dorm_jwt_verifier_free(v);

  /* Configured claims. */
  dorm_jwt_config cfg = hs_cfg();
  cfg.tenant_claim = "org";
  cfg.scope_claim = "permissions";
  v = verifier(cfg);
  assert_int_equal(check(v, token(HS, NULL, HS_HDR,
                                  claims(",\"org\":\"o-9\",\"tenant_id\":\"ignored\",\"permissions\":[\"p1\",\"p2\"],"
                                         "\"scope\":\"ignored\"")),
                         &a, &id, err, sizeof err),
                   DORM_OK);
  assert_string_equal(id.tenant, "o-9");
  assert_int_equal(id.nscopes, 2);
  assert_string_equal(id.scopes[1], "p2");
  assert_false(dorm_identity_has_scope(&id, "ignored"));
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims(",\"permissions\":\"p1 p3\"")), &a, &id, err, sizeof err),
                   DORM_OK);
  assert_string_equal(id.tenant, "");
  assert_true(dorm_identity_has_scope(&id, "p3"));
  assert_int_equal(check(v, token(HS, NULL, HS_HDR, claims(",\"scope\":\"s\"")), &a, &id, err, sizeof err), DORM_OK);
  assert_int_equal(id.nscopes, 0);
  dorm_jwt_verifier_free(v);
  dorm_arena_free(&a);
}

/* ---- configuration errors ---- */

static void expect_bad_config(dorm_jwt_config cfg, const char *want) {
  dorm_jwt_verifier *v = (dorm_jwt_verifier *)&cfg; /* must be reset to NULL */
  char err[512] = "";
  dorm_status st = dorm_jwt_verifier_new(&cfg, &v, err, sizeof err);
  if (st == DORM_OK) {
    dorm_jwt_verifier_free(v);
    fail_msg("expected the configuration to be refused (%s)", want);
  }
  assert_int_equal(st, DORM_ERR_INVALID_ARGUMENT);
  assert_null(v);
  if (!strstr(err, want)) fail_msg("want a message with \"%s\", got \"%s\"", want, err);
  assert_null(strstr(err, SECRET));
}

static void configuration_errors(void **state) {
  (void)state;
  expect_bad_config((dorm_jwt_config){0}, "no key");
  const char *missing = fmt("%s/missing.pem", g_dir);
  expect_bad_config((dorm_jwt_config){.public_key_file = missing}, missing);
  expect_bad_config((dorm_jwt_config){.jwks_file = missing}, "cannot read");
  expect_bad_config((dorm_jwt_config){.hs256_secret_file = g_dir}, "not a regular file");
  expect_bad_config((dorm_jwt_config){.hs256_secret_file = put_text("empty", "")}, "the secret is empty");
  expect_bad_config((dorm_jwt_config){.hs256_secret_file = put_text("nl", "\n")}, "the secret is empty");
  expect_bad_config((dorm_jwt_config){.public_key_file = P_SECRET}, "no PEM public key");

  /* Keys we do not verify with: RSA under 2048 bits, EC off P-256. */
  EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  assert_non_null(small);
  assert_non_null(p384);
  char *pem = pem_of(small);
  const char *small_path = put_text("rsa1024.pem", pem);
  free(pem);
  pem = pem_of(p384);
  const char *p384_path = put_text("p384.pem", pem);
  free(pem);
  expect_bad_config((dorm_jwt_config){.public_key_file = small_path}, "RS256 needs at least 2048");
  expect_bad_config((dorm_jwt_config){.public_key_file = p384_path}, "ES256 needs P-256");
  const char *small_jwks = put_text("jwks-small.json", fmt("{\"keys\":[%s]}", jwk_rsa(small, "")));
  expect_bad_config((dorm_jwt_config){.jwks_file = small_jwks}, "RS256 needs at least 2048");
  EVP_PKEY_free(small);
  EVP_PKEY_free(p384);

  /* JWKS documents. */
  struct {
    const char *text, *want;
  } jwks[] = {
      {"not json", "not a JSON object"},
      {"[]", "not a JSON object"},
      {"{\"keys\":{}}", "no \"keys\" array"},
      {"{\"keys\":[]}", "no key for RS256"},
      {"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", "no key for RS256"},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}", "no key for RS256"},
      {"{\"keys\":[42]}", "keys[0]: not an object"},
      {"{\"keys\":[{\"n\":\"AQAB\"}]}", "keys[0]: no \"kty\" string"},
      {"{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}", "keys[0]: n is missing or not base64url"},
      {"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB=\",\"e\":\"AQAB\"}]}", "keys[0]: n is missing or not base64url"},
      {"{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}]}", "keys[0]: crv is missing"},
      {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}", "keys[0]: x is missing"},
      {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":7,\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", "keys[0]: kid is not a string"},
      {"{\"keys\":[1],\"keys\":[2]}", "a member appears twice"},
  };
  for (size_t i = 0; i < sizeof jwks / sizeof jwks[0]; i++)
    expect_bad_config((dorm_jwt_config){.jwks_file = put_text("jwks-bad.json", jwks[i].text)}, jwks[i].want);

  /* An EC point off the curve: (1, 1). */
  unsigned char one[32] = {0};
  one[31] = 1;
  const char *c = b64u_n(one, 32);
  expect_bad_config((dorm_jwt_config){.jwks_file = put_text("jwks-offcurve.json",
                                                            fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                                                                "\"x\":\"%s\",\"y\":\"%s\"}]}",
                                                                c, c))},
                    "keys[0]: (x, y) is not a point of P-256");
  /* Two keys, one kid. */
  expect_bad_config((dorm_jwt_config){.jwks_file = put_text("jwks-dup.json",
                                                            fmt("{\"keys\":[%s,%s]}", jwk_rsa(g_rsa1, "\"kid\":\"a\","),
                                                                jwk_rsa(g_rsa2, "\"kid\":\"a\",")))},
                    "keys[1]: a kid an earlier key has");

  /* Settings. */
  dorm_jwt_config cfg = hs_cfg();
  cfg.issuer = "";
  expect_bad_config(cfg, "issuer is empty");
  cfg = hs_cfg();
  cfg.audience = "";
  expect_bad_config(cfg, "audience is empty");
  cfg = hs_cfg();
  cfg.algorithms = DORM_JWT_ES256;
  expect_bad_config(cfg, "ES256 is allowed but no key verifies it");

  /* NULL arguments. */
  char err[64] = "";
  dorm_jwt_verifier *v = NULL;
  assert_int_equal(dorm_jwt_verifier_new(NULL, &v, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_true(err[0] != '\0');
  cfg = hs_cfg();
  assert_int_equal(dorm_jwt_verifier_new(&cfg, NULL, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  dorm_jwt_verifier_free(NULL);
}

static void verify_arguments_and_small_errbuf(void **state) {
  (void)state;
  dorm_jwt_verifier *v = verifier(hs_cfg());
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  char err[8];
  const char *tok = token(HS, NULL, HS_HDR, fmt("{\"sub\":\"alice\",\"exp\":%lld}", (long long)NOW - 3600));
  assert_int_equal(dorm_jwt_verify(NULL, tok, strlen(tok), NOW, &a, &id, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_jwt_verify(v, tok, strlen(tok), NOW, NULL, &id, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_jwt_verify(v, tok, strlen(tok), NOW, &a, NULL, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  /* A message cut to the buffer, NUL-terminated; none at all without one. */
  memset(err, 'z', sizeof err);
  assert_int_equal(dorm_jwt_verify(v, tok, strlen(tok), NOW, &a, &id, err, sizeof err), DORM_ERR_UNAUTHORIZED);
  assert_string_equal(err, "token e");
  assert_int_equal(dorm_jwt_verify(v, tok, strlen(tok), NOW, &a, &id, NULL, 0), DORM_ERR_UNAUTHORIZED);
  /* The same verifier, other clocks. */
  assert_int_equal(dorm_jwt_verify(v, tok, strlen(tok), NOW - 3600, &a, &id, NULL, 0), DORM_OK);
  assert_int_equal(id.exp, NOW - 3600);
  dorm_arena_free(&a);
  dorm_jwt_verifier_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(hs256_valid, pool_free),
      cmocka_unit_test_teardown(rs256_valid, pool_free),
      cmocka_unit_test_teardown(es256_valid, pool_free),
      cmocka_unit_test_teardown(jwks_kid_picks_the_key, pool_free),
      cmocka_unit_test_teardown(alg_none_is_refused, pool_free),
      cmocka_unit_test_teardown(hs_rs_confusion_is_refused, pool_free),
      cmocka_unit_test_teardown(alg_outside_the_allow_list_is_refused, pool_free),
      cmocka_unit_test_teardown(expiry, pool_free),
      cmocka_unit_test_teardown(not_yet_valid_and_iat_in_the_future, pool_free),
      cmocka_unit_test_teardown(issuer_and_audience, pool_free),
      cmocka_unit_test_teardown(sub_is_required, pool_free),
      cmocka_unit_test_teardown(bad_signatures, pool_free),
      cmocka_unit_test_teardown(signatures_of_the_wrong_length, pool_free),
      cmocka_unit_test_teardown(malformed_tokens, pool_free),
      cmocka_unit_test_teardown(oversized_tokens, pool_free),
      cmocka_unit_test_teardown(unknown_kid, pool_free),
      cmocka_unit_test_teardown(dates_must_be_numbers, pool_free),
      cmocka_unit_test_teardown(tenant_and_scopes, pool_free),
      cmocka_unit_test_teardown(configuration_errors, pool_free),
      cmocka_unit_test_teardown(verify_arguments_and_small_errbuf, pool_free),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
