/* dorm_crypt (dorm/crypt.h, issue 15) against a loopback KMS (fake_kms.c:
 * AWS JSON 1.1, SigV4 for "kms" checked, real data keys under master keys,
 * KMS's error bodies): the KMS calls, data-key reuse by count and age, the
 * LRU of decrypted keys, DynamORM's behaviour without cache, and failures
 * that stay closed. Time is moved by hand (dorm__crypt_set_clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws_internal.h"
#include "dorm/crypt.h"
#include "fake_kms.h"
#include "model_crypt.h"

void dorm__crypt_set_clock(dorm_crypt *k, uint64_t (*fn)(void *), void *user);

static uint64_t fake_now(void *user) { return *(uint64_t *)user; }
static void no_sleep(void *user, long ms) { (void)user, (void)ms; }

typedef struct fx {
  fake_kms kms;
  dorm_client *c;
  uint64_t now;
  dorm_arena a;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_true(fake_kms_start(&f->kms));
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  cfg.endpoint = "http://127.0.0.1:9"; /* DynamoDB: not called here */
  cfg.access_key_id = "AKIDKMS";
  cfg.secret_access_key = "SECRETKMS";
  char err[256];
  assert_int_equal(dorm_client_new(&cfg, &f->c, err, sizeof err), DORM_OK);
  dorm__client_set_sleep(f->c, no_sleep, NULL);
  f->now = 1000000;
  dorm_arena_init(&f->a, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  assert_string_equal(f->kms.bad, ""); /* every request was well-formed and signed */
  dorm_client_free(f->c);
  fake_kms_stop(&f->kms);
  dorm_arena_free(&f->a);
  free(f);
  return 0;
}

static dorm_crypt *ctx(fx *f, dorm_crypt_opts o) {
  if (!o.kms_key_id) o.kms_key_id = "alias/test";
  o.kms_endpoint_url = fas_url(f->kms.srv);
  dorm_crypt *k = NULL;
  assert_int_equal(dorm_crypt_new(f->c, &o, &k), DORM_OK);
  dorm__crypt_set_clock(k, fake_now, &f->now);
  return k;
}

static void enc(fx *f, dorm_crypt *k, const char *attr, const char *text, dorm_av *env) {
  dorm_av v = dorm_av_str(text);
  if (dorm_crypt_encrypt(k, attr, &v, &f->a, env) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
}

static void dec_equals(fx *f, dorm_crypt *k, const char *attr, const dorm_av *env, const char *text) {
  dorm_av out;
  if (dorm_crypt_decrypt(k, attr, env, &f->a, &out) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  assert_int_equal(out.type, DORM_AV_S);
  assert_int_equal(out.u.s.len, strlen(text));
  assert_memory_equal(out.u.s.ptr, text, out.u.s.len);
}

static const dorm_av *edk_of(const dorm_av *env) { return dorm_av_map_getn(env, "edk", 3); }

/* One GenerateDataKey, one Decrypt in a cold context; the envelope opens. */
static void round_trip_through_kms(void **state) {
  fx *f = *state;
  dorm_crypt *w = ctx(f, (dorm_crypt_opts){0}), *r = ctx(f, (dorm_crypt_opts){0});
  dorm_av env;
  enc(f, w, "card", "4111", &env);
  assert_int_equal(f->kms.generate, 1);
  dec_equals(f, r, "card", &env, "4111");
  assert_int_equal(f->kms.decrypt, 1);
  dec_equals(f, w, "card", &env, "4111"); /* the writer knows its own key */
  assert_int_equal(f->kms.decrypt, 1);
  /* the stored data key is KMS's blob, and the envelope's shape DynamORM's */
  dorm__envelope e;
  char err[256];
  assert_int_equal(dorm__envelope_parse(&env, &e, err, sizeof err), DORM_OK);
  assert_int_equal(e.edk.len, 65);
  assert_memory_equal(e.edk.ptr, "FKM1", 4);
  dorm_crypt_free(w);
  dorm_crypt_free(r);
}

/* A data key serves max_uses encryptions, or max_age_ms, then a new one. */
static void reuse_limits(void **state) {
  fx *f = *state;
  dorm_crypt *k = ctx(f, (dorm_crypt_opts){.max_uses = 3, .max_age_ms = 1000});
  dorm_av env[10];
  for (int i = 0; i < 10; i++) enc(f, k, "a", "x", &env[i]);
  assert_int_equal(f->kms.generate, 4); /* 3 + 3 + 3 + 1 */
  for (int i = 0; i < 10; i++) {
    bool same_as_prev = i % 3 != 0;
    if (i) assert_int_equal(dorm_av_equal(edk_of(&env[i]), edk_of(&env[i - 1])), same_as_prev);
    /* never the same nonce under one key */
    if (i) assert_false(dorm_av_equal(dorm_av_map_getn(&env[i], "nonce", 5), dorm_av_map_getn(&env[i - 1], "nonce", 5)));
  }
  dorm_crypt_stats s;
  dorm_crypt_get_stats(k, &s);
  assert_int_equal(s.encryptions, 10);
  assert_int_equal(s.kms_generate_data_key, 4);
  assert_int_equal(s.keys_wiped, 3);
  /* age: the last key (1 use) is retired after 1000 ms */
  f->now += 999;
  enc(f, k, "a", "x", &env[0]);
  assert_int_equal(f->kms.generate, 4);
  f->now += 1;
  enc(f, k, "a", "x", &env[1]);
  assert_int_equal(f->kms.generate, 5);
  assert_false(dorm_av_equal(edk_of(&env[0]), edk_of(&env[1])));
  dorm_crypt_free(k);
}

/* Reads of many items under one data key cost one Decrypt; the cache is a
 * bounded LRU whose entries expire. */
static void decrypt_cache(void **state) {
  fx *f = *state;
  dorm_crypt *w = ctx(f, (dorm_crypt_opts){.max_uses = 25});
  dorm_av env[50];
  char text[16];
  for (int i = 0; i < 50; i++) {
    snprintf(text, sizeof text, "v%d", i);
    enc(f, w, "p", text, &env[i]);
  }
  assert_int_equal(f->kms.generate, 2);
  dorm_crypt *r = ctx(f, (dorm_crypt_opts){.cache_size = 2, .max_age_ms = 5000});
  for (int i = 0; i < 50; i++) {
    snprintf(text, sizeof text, "v%d", i);
    dec_equals(f, r, "p", &env[i], text);
  }
  assert_int_equal(f->kms.decrypt, 2);
  dorm_crypt_stats s;
  dorm_crypt_get_stats(r, &s);
  assert_int_equal(s.cache_hits, 48);
  assert_int_equal(s.kms_decrypt, 2);

  /* three data keys read in turn through a cache of two: LRU keeps missing */
  dorm_crypt *w3 = ctx(f, (dorm_crypt_opts){.max_uses = 1});
  dorm_av e3[3];
  for (int i = 0; i < 3; i++) enc(f, w3, "p", "z", &e3[i]);
  int before = f->kms.decrypt;
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 3; i++) dec_equals(f, r, "p", &e3[i], "z");
  assert_int_equal(f->kms.decrypt - before, 9);
  /* the two most recent stay: reading them again is free */
  dec_equals(f, r, "p", &e3[2], "z");
  dec_equals(f, r, "p", &e3[1], "z");
  assert_int_equal(f->kms.decrypt - before, 9);
  /* until they expire */
  f->now += 5000;
  dec_equals(f, r, "p", &e3[2], "z");
  assert_int_equal(f->kms.decrypt - before, 10);
  dorm_crypt_get_stats(r, &s);
  assert_true(s.keys_wiped >= 8); /* every eviction and expiry wiped its key */
  dorm_crypt_free(w);
  dorm_crypt_free(w3);
  dorm_crypt_free(r);
}

/* no_cache is DynamORM: a data key per value, a Decrypt per read. */
static void without_cache(void **state) {
  fx *f = *state;
  dorm_crypt *k = ctx(f, (dorm_crypt_opts){.no_cache = true});
  dorm_av env[5];
  for (int i = 0; i < 5; i++) enc(f, k, "a", "x", &env[i]);
  for (int i = 0; i < 5; i++) dec_equals(f, k, "a", &env[i], "x");
  for (int i = 0; i < 5; i++) dec_equals(f, k, "a", &env[i], "x");
  assert_int_equal(f->kms.generate, 5);
  assert_int_equal(f->kms.decrypt, 10);
  dorm_crypt_free(k);
}

/* Every failure is an error, never a plaintext value. */
static void failures_closed(void **state) {
  fx *f = *state;
  dorm_crypt *k = NULL;
  unsetenv("DORM_KMS_KEY_ID");
  assert_int_equal(dorm_crypt_new(f->c, &(dorm_crypt_opts){.kms_endpoint_url = fas_url(f->kms.srv)}, &k),
                   DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  assert_null(k);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "no KMS key"));

  dorm_av v = dorm_av_str("secret"), env, out;
  /* an unknown key */
  k = ctx(f, (dorm_crypt_opts){.kms_key_id = "alias/nope"});
  assert_int_equal(dorm_crypt_encrypt(k, "a", &v, &f->a, &env), DORM_ERR_CONFIG);
  assert_int_equal(env.type, DORM_AV_INVALID);
  assert_string_equal(dorm_client_error_code(f->c), "NotFoundException");
  assert_non_null(strstr(dorm_client_errmsg(f->c), "kms GenerateDataKey: NotFoundException: Key not found"));
  dorm_crypt_free(k);
  /* a disabled key */
  f->kms.disabled[0] = true;
  k = ctx(f, (dorm_crypt_opts){0});
  assert_int_equal(dorm_crypt_encrypt(k, "a", &v, &f->a, &env), DORM_ERR_CONFIG);
  assert_string_equal(dorm_client_error_code(f->c), "DisabledException");
  f->kms.disabled[0] = false;
  enc(f, k, "a", "secret", &env);

  /* throttling is retried by the client's policy, then given up */
  dorm_crypt *cold = ctx(f, (dorm_crypt_opts){0});
  f->kms.fail_count = 1;
  dec_equals(f, cold, "a", &env, "secret");
  dorm_crypt_free(cold);
  cold = ctx(f, (dorm_crypt_opts){0});
  f->kms.fail_count = 100;
  assert_int_equal(dorm_crypt_decrypt(cold, "a", &env, &f->a, &out), DORM_ERR_THROTTLED);
  assert_int_equal(out.type, DORM_AV_INVALID);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "kms Decrypt: ThrottlingException"));
  f->kms.fail_count = 0;
  dorm_crypt_free(cold);

  /* read with another KMS key: KMS refuses the data key */
  dorm_crypt *other = ctx(f, (dorm_crypt_opts){.kms_key_id = "alias/other"});
  assert_int_equal(dorm_crypt_decrypt(other, "a", &env, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_string_equal(dorm_client_error_code(f->c), "IncorrectKeyException");
  dorm_crypt_free(other);
  /* a data key altered in the item: KMS cannot decrypt it */
  dorm_crypt *fresh = ctx(f, (dorm_crypt_opts){0});
  dorm_av *edk = (dorm_av *)edk_of(&env);
  ((char *)edk->u.s.ptr)[20] ^= 1;
  assert_int_equal(dorm_crypt_decrypt(fresh, "a", &env, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_string_equal(dorm_client_error_code(f->c), "InvalidCiphertextException");
  ((char *)edk->u.s.ptr)[20] ^= 1;
  /* another attribute's envelope, an altered ciphertext, a plaintext value */
  assert_int_equal(dorm_crypt_decrypt(fresh, "b", &env, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "decrypt attribute 'b': attribute 'b' does not decrypt"));
  dorm_av *ct = (dorm_av *)dorm_av_map_getn(&env, "ct", 2);
  ((char *)ct->u.s.ptr)[0] ^= 1;
  assert_int_equal(dorm_crypt_decrypt(fresh, "a", &env, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  ((char *)ct->u.s.ptr)[0] ^= 1;
  assert_int_equal(dorm_crypt_decrypt(fresh, "a", &v, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "not a map"));
  dec_equals(f, fresh, "a", &env, "secret");
  dorm_crypt_free(fresh);
  dorm_crypt_free(k);

  /* a KMS that is not there */
  dorm_crypt_opts o = {.kms_key_id = "alias/test", .kms_endpoint_url = "http://127.0.0.1:9/"};
  assert_int_equal(dorm_crypt_new(f->c, &o, &k), DORM_OK);
  assert_int_equal(dorm_crypt_encrypt(k, "a", &v, &f->a, &env), DORM_ERR_NETWORK);
  assert_int_equal(env.type, DORM_AV_INVALID);
  dorm_crypt_free(k);
}

/* A move to a new KMS key: items sealed under the old one did not open
 * through a context for the new one (Decrypt names the context's key:
 * IncorrectKeyException), so a team that rotated by pointing its alias at
 * a new key could read none of its old items. dorm_crypt_add_read_key
 * lets the new context open them; it still writes under the new key, and
 * a data key of a key not added stays refused. */
static void older_keys_for_reading(void **state) {
  fx *f = *state;
  dorm_crypt *old = ctx(f, (dorm_crypt_opts){0}); /* alias/test */
  dorm_av env_old, env_new, out;
  enc(f, old, "ssn", "written under the old key", &env_old);
  dorm_crypt_free(old);
  dorm_crypt *now = ctx(f, (dorm_crypt_opts){.kms_key_id = "alias/other"});
  assert_int_equal(dorm_crypt_decrypt(now, "ssn", &env_old, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_string_equal(dorm_client_error_code(f->c), "IncorrectKeyException");
  assert_int_equal(dorm_crypt_add_read_key(now, FAKE_KMS_KEY_ARN), DORM_OK);
  assert_int_equal(dorm_crypt_add_read_key(now, FAKE_KMS_KEY_ARN), DORM_OK); /* once */
  assert_int_equal(dorm_crypt_add_read_key(now, "alias/other"), DORM_OK);    /* its own: nothing */
  int before = f->kms.decrypt;
  dec_equals(f, now, "ssn", &env_old, "written under the old key");
  assert_int_equal(f->kms.decrypt, before + 1);
  dec_equals(f, now, "ssn", &env_old, "written under the old key"); /* cached */
  assert_int_equal(f->kms.decrypt, before + 1);
  /* new writes: the new key only */
  enc(f, now, "ssn", "written under the new key", &env_new);
  dorm_crypt *only_old = ctx(f, (dorm_crypt_opts){0});
  assert_int_equal(dorm_crypt_decrypt(only_old, "ssn", &env_new, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_string_equal(dorm_client_error_code(f->c), "IncorrectKeyException");
  dorm_crypt_free(only_old);
  /* tampering is not retried into success with the other key */
  dorm_crypt *cold = ctx(f, (dorm_crypt_opts){.kms_key_id = "alias/other"});
  assert_int_equal(dorm_crypt_add_read_key(cold, "alias/test"), DORM_OK);
  dorm_av *edk = (dorm_av *)edk_of(&env_old);
  ((char *)edk->u.s.ptr)[20] ^= 1;
  assert_int_equal(dorm_crypt_decrypt(cold, "ssn", &env_old, &f->a, &out), DORM_ERR_BAD_ENVELOPE);
  assert_string_equal(dorm_client_error_code(f->c), "InvalidCiphertextException");
  ((char *)edk->u.s.ptr)[20] ^= 1;
  dec_equals(f, cold, "ssn", &env_old, "written under the old key");
  /* limits */
  assert_int_equal(dorm_crypt_add_read_key(cold, ""), DORM_ERR_INVALID_ARGUMENT);
  char id[32];
  for (int i = 0; i < DORM_CRYPT_MAX_READ_KEYS - 1; i++) {
    snprintf(id, sizeof id, "alias/k%d", i);
    assert_int_equal(dorm_crypt_add_read_key(cold, id), DORM_OK);
  }
  assert_int_equal(dorm_crypt_add_read_key(cold, "alias/one-too-many"), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "at most 8 older keys"));
  dorm_crypt_free(cold);
  dorm_crypt_free(now);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(round_trip_through_kms, setup, teardown),
      cmocka_unit_test_setup_teardown(reuse_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(decrypt_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(without_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(failures_closed, setup, teardown),
      cmocka_unit_test_setup_teardown(older_keys_for_reading, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
