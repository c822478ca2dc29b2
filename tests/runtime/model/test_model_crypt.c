/* DynamORM's encrypted attribute envelope (runtime/src/model/model_crypt.c,
 * issue 15).
 *
 * Fixtures. DynamORM's Go SDK seals json.Marshal(avJSON) with AES-256-GCM
 * under the data key, AAD "dynamorm:encrypted:v1|attr=<name>", and stores
 * M{v: N "1", edk: B, nonce: B (12), ct: B (ciphertext || tag)}. The two
 * fixed envelopes below were computed outside libdorm, with Python's
 * `cryptography` (an implementation independent of OpenSSL's EVP calls
 * made here), from the plaintext Go writes, by:
 *
 *   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
 *   key = bytes(range(32)); nonce = bytes(range(0xa0, 0xac))
 *   AESGCM(key).encrypt(nonce, PLAINTEXT, b"dynamorm:encrypted:v1|attr=" + ATTR).hex()
 *
 * and the other fixtures are computed in this test with OpenSSL's EVP
 * directly (seal_by_hand), not through the code under test. Sealing the
 * same value with the same key and nonce must give the same bytes: that
 * pins the plaintext form (member order, omitted members, sorted map keys,
 * Go's string escapes) byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "core_internal.h"
#include "model_crypt.h"

static uint8_t KEY[32], NONCE[12];

static int setup(void **state) {
  (void)state;
  for (int i = 0; i < 32; i++) KEY[i] = (uint8_t)i;
  for (int i = 0; i < 12; i++) NONCE[i] = (uint8_t)(0xa0 + i);
  return 0;
}

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

/* ---- fixtures from Python's cryptography ---- */

#define CARD_PLAINTEXT "{\"t\":\"S\",\"s\":\"4111 1111 \\u003c1111\\u003e 1111\"}"
#define CARD_CT                                                                                                   \
  "9d3a080f7fe9519d4e47f4f13d58f4ef419d7921a386734cc07b16b64cc84430e3471b8a9f1260587fad35f93858fee91cca39955e70b9c7" \
  "e0573a61c39554"
#define PROFILE_PLAINTEXT                                                                                          \
  "{\"t\":\"M\",\"m\":{\"a\":{\"t\":\"N\",\"n\":\"1.5\"},\"b\":{\"t\":\"L\",\"l\":[{\"t\":\"BOOL\",\"bool\":false},{" \
  "\"t\":\"NULL\",\"null\":true},{\"t\":\"B\",\"b\":\"AAEC\"}]},\"c\":{\"t\":\"SS\",\"ss\":[\"x\",\"y\"]},\"e\":{"   \
  "\"t\":\"L\"}}}"
#define PROFILE_CT                                                                                                \
  "9d3a080f7fe94f9d4e47eaf13d01e2bf52962232e695784ed22c0aa411894f23e35872ddd20e715f7da67fea7d58b9db0b396a6a0ef2202" \
  "53a7c7f7c9e52c7fffbf0a74312c78b8f98c0c57eeea2bfdfb027d086b1e3a358a02072d693b66ffafae8478939dafdeefba62a2ba7fccf" \
  "1206124382fc57b9060d8e9fe1f7778f10b83d921cf178fb35437bc4a94119b3faaaaade49848bd8f4dfe19f8c8d9a4907e47d3d8bcd4834" \
  "34b828670012afcbc303a05403ee857457514719a58b0d46"

/* The envelope as GetItem returns it (DynamoDB JSON), ct given in hex. */
static void envelope_from_ddb_json(dorm_arena *a, const char *ct_hex, dorm_av *out) {
  uint8_t ct[512];
  size_t n = unhex(ct_hex, ct);
  char ct64[1024], nonce64[32], json[2048];
  ct64[dorm__b64_encode(ct, n, ct64, DORM_B64_STD)] = '\0';
  nonce64[dorm__b64_encode(NONCE, 12, nonce64, DORM_B64_STD)] = '\0';
  /* members in another order than ours, and one DynamORM ignores */
  snprintf(json, sizeof json,
           "{\"M\":{\"ct\":{\"B\":\"%s\"},\"nonce\":{\"B\":\"%s\"},\"x\":{\"S\":\"ignored\"},"
           "\"edk\":{\"B\":\"a21zLWVkay1maXh0dXJl\"},\"v\":{\"N\":\"1\"}}}",
           ct64, nonce64);
  char err[256];
  assert_int_equal(dorm_av_from_json(json, strlen(json), a, out, err, sizeof err), DORM_OK);
}

static void profile_value(dorm_arena *a, dorm_av *m) {
  /* entries out of order: the plaintext sorts them as Go does */
  *m = (dorm_av){.type = DORM_AV_M};
  static const uint8_t b3[] = {0, 1, 2};
  dorm_av *c = dorm_av_map_add(a, m, "c", 1);
  *c = (dorm_av){.type = DORM_AV_SS};
  assert_int_equal(dorm_av_set_add(a, c, "x", 1), DORM_OK);
  assert_int_equal(dorm_av_set_add(a, c, "y", 1), DORM_OK);
  *dorm_av_map_add(a, m, "a", 1) = dorm_av_num("1.5");
  *dorm_av_map_add(a, m, "e", 1) = (dorm_av){.type = DORM_AV_L};
  dorm_av *b = dorm_av_map_add(a, m, "b", 1);
  *b = (dorm_av){.type = DORM_AV_L};
  *dorm_av_list_push(a, b) = dorm_av_bool(false);
  *dorm_av_list_push(a, b) = dorm_av_null();
  *dorm_av_list_push(a, b) = dorm_av_bytes(b3, 3);
}

static void ct_equals_hex(const dorm_av *env, const char *hex) {
  const dorm_av *ct = dorm_av_map_getn(env, "ct", 2);
  assert_non_null(ct);
  uint8_t want[512];
  size_t n = unhex(hex, want);
  assert_int_equal(ct->u.s.len, n);
  assert_memory_equal(ct->u.s.ptr, want, n);
}

static void fixtures_open(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char err[256];
  dorm_av env, v;
  dorm__envelope e;

  envelope_from_ddb_json(&a, CARD_CT, &env);
  assert_int_equal(dorm__envelope_parse(&env, &e, err, sizeof err), DORM_OK);
  assert_int_equal(e.edk.len, strlen("kms-edk-fixture"));
  assert_memory_equal(e.edk.ptr, "kms-edk-fixture", e.edk.len);
  assert_int_equal(dorm__envelope_open(KEY, &e, "cardNumber", 10, &a, &v, err, sizeof err), DORM_OK);
  assert_int_equal(v.type, DORM_AV_S);
  assert_int_equal(v.u.s.len, strlen("4111 1111 <1111> 1111"));
  assert_memory_equal(v.u.s.ptr, "4111 1111 <1111> 1111", v.u.s.len);

  envelope_from_ddb_json(&a, PROFILE_CT, &env);
  assert_int_equal(dorm__envelope_parse(&env, &e, err, sizeof err), DORM_OK);
  assert_int_equal(dorm__envelope_open(KEY, &e, "profile", 7, &a, &v, err, sizeof err), DORM_OK);
  dorm_av want;
  profile_value(&a, &want);
  assert_true(dorm_av_equal(&v, &want));
  dorm_arena_free(&a);
}

static void fixtures_seal_same_bytes(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char err[256];
  dorm_av env, v = dorm_av_str("4111 1111 <1111> 1111");
  dorm_str edk = {"kms-edk-fixture", 15};
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, edk, "cardNumber", 10, &v, &a, &env, err, sizeof err), DORM_OK);
  ct_equals_hex(&env, CARD_CT);
  /* the stored shape: v, edk, nonce, ct */
  assert_int_equal(env.type, DORM_AV_M);
  assert_int_equal(env.u.map.count, 4);
  const dorm_av *ver = dorm_av_map_getn(&env, "v", 1);
  assert_int_equal(ver->type, DORM_AV_N);
  assert_memory_equal(ver->u.s.ptr, "1", 1);
  const dorm_av *nonce = dorm_av_map_getn(&env, "nonce", 5), *e = dorm_av_map_getn(&env, "edk", 3);
  assert_int_equal(nonce->type, DORM_AV_B);
  assert_memory_equal(nonce->u.s.ptr, NONCE, 12);
  assert_int_equal(e->type, DORM_AV_B);
  assert_memory_equal(e->u.s.ptr, "kms-edk-fixture", 15);

  profile_value(&a, &v);
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, edk, "profile", 7, &v, &a, &env, err, sizeof err), DORM_OK);
  ct_equals_hex(&env, PROFILE_CT);
  dorm_arena_free(&a);
}

/* ---- fixtures computed here with OpenSSL's EVP ---- */

static size_t seal_by_hand(const char *attr, const char *pt, uint8_t *out) {
  char aad[256];
  int aad_len = snprintf(aad, sizeof aad, "dynamorm:encrypted:v1|attr=%s", attr);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int l = 0, n = 0;
  assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, KEY, NONCE), 1); /* 12-byte IV: the default */
  assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &l, (const uint8_t *)aad, aad_len), 1);
  assert_int_equal(EVP_EncryptUpdate(ctx, out, &l, (const uint8_t *)pt, (int)strlen(pt)), 1);
  n = l;
  assert_int_equal(EVP_EncryptFinal_ex(ctx, out + n, &l), 1);
  n += l;
  assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + n), 1);
  EVP_CIPHER_CTX_free(ctx);
  return (size_t)n + 16;
}

typedef struct plain_case {
  const char *json; /* as Go's json.Marshal writes it */
  dorm_av (*make)(dorm_arena *a);
} plain_case;

static dorm_av v_num(dorm_arena *a) { (void)a; return dorm_av_num("-12.50"); }
static dorm_av v_true(dorm_arena *a) { (void)a; return dorm_av_bool(true); }
static dorm_av v_empty_s(dorm_arena *a) { (void)a; return dorm_av_str(""); }
static dorm_av v_empty_b(dorm_arena *a) { (void)a; return dorm_av_bytes("", 0); }
static dorm_av v_escapes(dorm_arena *a) {
  (void)a;
  /* quote, backslash, \b \f \n \r \t, another control byte, &, U+2028, é, and a
   * byte that is not UTF-8 (Go writes U+FFFD) */
  static const char s[] = "q\"\\\b\f\n\r\t\x01&\xe2\x80\xa8\xc3\xa9\xff";
  return dorm_av_strn(s, sizeof s - 1);
}
static dorm_av v_sets(dorm_arena *a) {
  dorm_av l = {.type = DORM_AV_L};
  dorm_av *ns = dorm_av_list_push(a, &l), *bs = dorm_av_list_push(a, &l), *m = dorm_av_list_push(a, &l);
  *ns = (dorm_av){.type = DORM_AV_NS};
  dorm_av_set_add(a, ns, "3", 1);
  dorm_av_set_add(a, ns, "1e2", 3);
  *bs = (dorm_av){.type = DORM_AV_BS};
  dorm_av_set_add(a, bs, "\xff\x00", 2);
  *m = (dorm_av){.type = DORM_AV_M};
  *dorm_av_map_add(a, m, "k<", 2) = dorm_av_str("v");
  *dorm_av_map_add(a, m, "K", 1) = dorm_av_num("0");
  return l;
}

static const plain_case plain_cases[] = {
    {"{\"t\":\"N\",\"n\":\"-12.50\"}", v_num},
    {"{\"t\":\"BOOL\",\"bool\":true}", v_true},
    {"{\"t\":\"S\",\"s\":\"\"}", v_empty_s},
    {"{\"t\":\"B\",\"b\":\"\"}", v_empty_b},
    {"{\"t\":\"S\",\"s\":\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u0026\\u2028\xc3\xa9\\ufffd\"}", v_escapes},  /* é as itself */
    {"{\"t\":\"L\",\"l\":[{\"t\":\"NS\",\"ns\":[\"3\",\"1e2\"]},{\"t\":\"BS\",\"bs\":[\"/wA=\"]},{\"t\":\"M\",\"m\":{"
     "\"K\":{\"t\":\"N\",\"n\":\"0\"},\"k\\u003c\":{\"t\":\"S\",\"s\":\"v\"}}}]}",
     v_sets},
};

static void evp_fixtures(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof plain_cases / sizeof *plain_cases; i++) {
    dorm_arena a;
    dorm_arena_init(&a, 0);
    char err[256];
    const plain_case *pc = &plain_cases[i];
    dorm_av v = pc->make(&a), env, back;
    const char *want_pt = pc->json;
    char *got_pt = NULL;
    size_t got_len = 0;
    assert_int_equal(dorm__crypt_av_json(&v, &got_pt, &got_len, err, sizeof err), DORM_OK);
    if (strcmp(got_pt, want_pt) != 0) fail_msg("case %zu: plaintext\n  %s\nwant\n  %s", i, got_pt, want_pt);
    dorm__crypt_wipe_free(got_pt, got_len);

    uint8_t ct[1024];
    size_t n = seal_by_hand("attr", want_pt, ct);
    assert_int_equal(dorm__envelope_seal(KEY, NONCE, (dorm_str){"k", 1}, "attr", 4, &v, &a, &env, err, sizeof err),
                     DORM_OK);
    const dorm_av *got = dorm_av_map_getn(&env, "ct", 2);
    assert_int_equal(got->u.s.len, n);
    assert_memory_equal(got->u.s.ptr, ct, n);
    dorm__envelope e;
    assert_int_equal(dorm__envelope_parse(&env, &e, err, sizeof err), DORM_OK);
    assert_int_equal(dorm__envelope_open(KEY, &e, "attr", 4, &a, &back, err, sizeof err), DORM_OK);
    if (i != 4) assert_true(dorm_av_equal(&back, &v)); /* the bad UTF-8 byte came back as U+FFFD */
    else assert_memory_equal(back.u.s.ptr + back.u.s.len - 3, "\xef\xbf\xbd", 3);
    dorm_arena_free(&a);
  }
}

/* What other DynamORM SDKs may write reads too: members absent or null
 * (Go's zero values), and a plaintext that is not DynamORM's form fails. */
static void plaintext_reader(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char err[256];
  dorm_av v;
  static const struct {
    const char *json;
    dorm_av_type type;
    const char *text;
  } ok[] = {
      {"{\"t\":\"S\"}", DORM_AV_S, ""},          {"{\"t\":\"N\"}", DORM_AV_N, "0"},
      {"{\"t\":\"S\",\"s\":null}", DORM_AV_S, ""}, {"{\"t\":\"L\",\"l\":null}", DORM_AV_L, NULL},
      {"{\"t\":\"M\"}", DORM_AV_M, NULL},         {"{\"t\":\"BOOL\"}", DORM_AV_BOOL, NULL},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    assert_int_equal(dorm__crypt_av_from_json(ok[i].json, strlen(ok[i].json), &a, &v, err, sizeof err), DORM_OK);
    assert_int_equal(v.type, ok[i].type);
    if (ok[i].text) assert_memory_equal(v.u.s.ptr, ok[i].text, strlen(ok[i].text) + 1);
  }
  static const char *const bad[] = {"", "[]", "{\"s\":\"x\"}", "{\"t\":\"X\"}", "{\"t\":\"S\",\"s\":1}",
                                    "{\"t\":\"B\",\"b\":\"***\"}", "{\"t\":\"L\",\"l\":[1]}",
                                    "{\"t\":\"BOOL\",\"bool\":\"yes\"}", "{\"t\":\"SS\",\"ss\":[1]}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = '\0';
    assert_int_equal(dorm__crypt_av_from_json(bad[i], strlen(bad[i]), &a, &v, err, sizeof err),
                     DORM_ERR_BAD_ENVELOPE);
    assert_non_null(strstr(err, "not DynamORM's form"));
  }
  dorm_arena_free(&a);
}

/* ---- tampering: every part of an envelope is checked ---- */

static dorm_status open_env(dorm_av *env, const uint8_t *key, const char *attr, dorm_arena *a, char *err) {
  dorm__envelope e;
  dorm_status st = dorm__envelope_parse(env, &e, err, 256);
  if (st != DORM_OK) return st;
  dorm_av out;
  return dorm__envelope_open(key, &e, attr, strlen(attr), a, &out, err, 256);
}

static void tampering_fails(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char err[256];
  dorm_av env;
  envelope_from_ddb_json(&a, CARD_CT, &env);
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_OK);

  /* every bit of the ciphertext and the tag, one at a time */
  dorm_av *ct = (dorm_av *)dorm_av_map_getn(&env, "ct", 2);
  uint8_t *p = (uint8_t *)ct->u.s.ptr;
  for (size_t i = 0; i < ct->u.s.len * 8; i++) {
    p[i / 8] ^= (uint8_t)(1u << (i % 8));
    assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
    p[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  assert_non_null(strstr(err, "attribute 'cardNumber' does not decrypt: the tag does not verify"));
  /* every byte of the nonce */
  dorm_av *nonce = (dorm_av *)dorm_av_map_getn(&env, "nonce", 5);
  uint8_t *np = (uint8_t *)nonce->u.s.ptr;
  for (size_t i = 0; i < 12; i++) {
    np[i] ^= 0x80;
    assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
    np[i] ^= 0x80;
  }
  /* another attribute (an envelope copied across attributes), another key */
  assert_int_equal(open_env(&env, KEY, "cardnumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_int_equal(open_env(&env, KEY, "cardNumber2", &a, err), DORM_ERR_BAD_ENVELOPE);
  uint8_t other[32];
  memcpy(other, KEY, 32);
  other[31] ^= 1;
  assert_int_equal(open_env(&env, other, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  /* truncated: the tag cut, the last byte cut */
  size_t len = ct->u.s.len;
  ct->u.s.len = len - 1;
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  ct->u.s.len = 15;
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(err, "shorter than its 16-byte tag"));
  ct->u.s.len = len;
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_OK);

  /* the envelope's shape */
  dorm_av *ver = (dorm_av *)dorm_av_map_getn(&env, "v", 1);
  *ver = dorm_av_num("2");
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(err, "unsupported version"));
  *ver = dorm_av_str("1");
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  *ver = dorm_av_num("1");
  nonce->u.s.len = 11;
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(err, "nonce is not 12 bytes"));
  nonce->u.s.len = 12;
  dorm_av *edk = (dorm_av *)dorm_av_map_getn(&env, "edk", 3);
  edk->u.s.len = 0;
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(err, "missing encrypted data key"));
  *edk = dorm_av_str("kms-edk-fixture");
  assert_int_equal(open_env(&env, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  /* a plaintext value where an envelope should be */
  dorm_av plain = dorm_av_str("4111");
  assert_int_equal(open_env(&plain, KEY, "cardNumber", &a, err), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(err, "not a map"));
  dorm_arena_free(&a);
}

/* Fresh nonces give fresh ciphertexts of one value; each opens. */
static void round_trips(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char err[256];
  dorm_av v, env1, env2, back;
  profile_value(&a, &v);
  uint8_t n2[12];
  memcpy(n2, NONCE, 12);
  n2[0] ^= 1;
  dorm_str edk = {"e", 1};
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, edk, "p", 1, &v, &a, &env1, err, sizeof err), DORM_OK);
  assert_int_equal(dorm__envelope_seal(KEY, n2, edk, "p", 1, &v, &a, &env2, err, sizeof err), DORM_OK);
  assert_false(dorm_av_equal(&env1, &env2));
  dorm__envelope e;
  assert_int_equal(dorm__envelope_parse(&env2, &e, err, sizeof err), DORM_OK);
  assert_int_equal(dorm__envelope_open(KEY, &e, "p", 1, &a, &back, err, sizeof err), DORM_OK);
  assert_true(dorm_av_equal(&back, &v));
  /* refusals before any crypto */
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, edk, "", 0, &v, &a, &env1, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, (dorm_str){"", 0}, "p", 1, &v, &a, &env1, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  dorm_av invalid = {.type = DORM_AV_INVALID};
  assert_int_equal(dorm__envelope_seal(KEY, NONCE, edk, "p", 1, &invalid, &a, &env1, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(fixtures_open),   cmocka_unit_test(fixtures_seal_same_bytes),
      cmocka_unit_test(evp_fixtures),    cmocka_unit_test(plaintext_reader),
      cmocka_unit_test(tampering_fails), cmocka_unit_test(round_trips),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
