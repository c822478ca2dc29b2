/* Encrypted attributes stored in DynamoDB Local and read back (issue 15):
 * envelopes made by dorm_crypt (data keys from the loopback KMS) survive
 * PutItem/GetItem with every attribute type inside, the stored attribute is
 * DynamORM's envelope and nothing of the plaintext, reads of many items
 * under one data key cost one Decrypt, and an envelope altered in the table
 * or moved to another attribute fails the read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/crypt.h"
#include "dorm/ops.h"
#include "dorm/tables.h"
#include "fake_kms.h"
#include "test_ddb.h"
#include "test_support.h"

typedef struct fx {
  fake_kms kms;
  dorm_client *c;
  dorm_crypt *k;
  char table[64];
  dorm_arena a;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->kms.akid, sizeof f->kms.akid, "dormtest"); /* the DynamoDB Local client's keys sign KMS calls too */
  snprintf(f->kms.secret, sizeof f->kms.secret, "dormtestsecret");
  assert_true(fake_kms_start(&f->kms));
  f->c = ts_ddb_client();
  dorm_arena_init(&f->a, 0);
  ts_unique_name(f->table, sizeof f->table, "crypt");
  dorm_table_def t = {.name = f->table, .pk = {"id", DORM_KEY_S}};
  if (dorm_create_table(f->c, &t, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  assert_int_equal(dorm_wait_table_active(f->c, f->table, 60000, NULL, NULL), DORM_OK);
  dorm_crypt_opts o = {.kms_key_id = "alias/test", .kms_endpoint_url = fas_url(f->kms.srv)};
  assert_int_equal(dorm_crypt_new(f->c, &o, &f->k), DORM_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  assert_string_equal(f->kms.bad, "");
  dorm_crypt_free(f->k);
  dorm_delete_table(f->c, f->table, NULL, NULL);
  dorm_client_free(f->c);
  fake_kms_stop(&f->kms);
  dorm_arena_free(&f->a);
  free(f);
  return 0;
}

/* A value with every AttributeValue type in it. */
static dorm_av rich_value(dorm_arena *a) {
  dorm_av m = {.type = DORM_AV_M};
  *dorm_av_map_add(a, &m, "s", 1) = dorm_av_str("héllo <&> \"q\"");
  *dorm_av_map_add(a, &m, "n", 1) = dorm_av_num("12345678901234567890.5");
  static const uint8_t raw[] = {0, 255, 7};
  *dorm_av_map_add(a, &m, "b", 1) = dorm_av_bytes(raw, 3);
  *dorm_av_map_add(a, &m, "t", 1) = dorm_av_bool(true);
  *dorm_av_map_add(a, &m, "z", 1) = dorm_av_null();
  dorm_av *ss = dorm_av_map_add(a, &m, "ss", 2);
  *ss = (dorm_av){.type = DORM_AV_SS};
  dorm_av_set_add(a, ss, "a", 1);
  dorm_av_set_add(a, ss, "b", 1);
  dorm_av *l = dorm_av_map_add(a, &m, "l", 1);
  *l = (dorm_av){.type = DORM_AV_L};
  *dorm_av_list_push(a, l) = dorm_av_num("1");
  *dorm_av_list_push(a, l) = (dorm_av){.type = DORM_AV_M};
  return m;
}

static void put(fx *f, const char *id, const char *attr, const dorm_av *v) {
  dorm_av item = {.type = DORM_AV_M}, env;
  if (dorm_crypt_encrypt(f->k, attr, v, &f->a, &env) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  *dorm_av_map_add(&f->a, &item, "id", 2) = dorm_av_str(id);
  *dorm_av_map_add(&f->a, &item, attr, strlen(attr)) = env;
  *dorm_av_map_add(&f->a, &item, "plain", 5) = dorm_av_str("visible");
  dorm_put_input in = {.table = f->table, .item = &item};
  if (dorm_put_item(f->c, &in, &f->a, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
}

static dorm_av get(fx *f, const char *id) {
  dorm_av key = {.type = DORM_AV_M}, item;
  *dorm_av_map_add(&f->a, &key, "id", 2) = dorm_av_str(id);
  dorm_get_input in = {.table = f->table, .key = &key, .consistent_read = true};
  if (dorm_get_item(f->c, &in, &f->a, &item) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  return item;
}

static void stored_as_envelope_and_read_back(void **state) {
  fx *f = *state;
  dorm_av v = rich_value(&f->a);
  put(f, "u1", "profile", &v);
  dorm_av item = get(f, "u1");
  const dorm_av *env = dorm_av_map_getn(&item, "profile", 7);
  assert_non_null(env);
  /* DynamORM's envelope, as DynamoDB stores it */
  assert_int_equal(env->type, DORM_AV_M);
  assert_int_equal(env->u.map.count, 4);
  const dorm_av *ver = dorm_av_map_getn(env, "v", 1), *nonce = dorm_av_map_getn(env, "nonce", 5),
                *edk = dorm_av_map_getn(env, "edk", 3), *ct = dorm_av_map_getn(env, "ct", 2);
  assert_int_equal(ver->type, DORM_AV_N);
  assert_memory_equal(ver->u.s.ptr, "1", 1);
  assert_int_equal(nonce->type, DORM_AV_B);
  assert_int_equal(nonce->u.s.len, 12);
  assert_int_equal(edk->type, DORM_AV_B);
  assert_int_equal(ct->type, DORM_AV_B);
  assert_true(ct->u.s.len > 16);
  /* nothing of the plaintext is in the item */
  for (size_t i = 0; i + 3 <= ct->u.s.len; i++) assert_false(memcmp(ct->u.s.ptr + i, "llo", 3) == 0);
  dorm_av out;
  if (dorm_crypt_decrypt(f->k, "profile", env, &f->a, &out) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  assert_true(dorm_av_equal(&out, &v));
}

/* 40 items under one data key, read by a fresh context: one Decrypt. */
static void many_reads_one_decrypt(void **state) {
  fx *f = *state;
  char id[16];
  for (int i = 0; i < 40; i++) {
    snprintf(id, sizeof id, "m%d", i);
    dorm_av v = dorm_av_str(id);
    put(f, id, "secret", &v);
  }
  assert_int_equal(f->kms.generate, 1);
  dorm_crypt *reader = NULL;
  dorm_crypt_opts o = {.kms_key_id = "alias/test", .kms_endpoint_url = fas_url(f->kms.srv)};
  assert_int_equal(dorm_crypt_new(f->c, &o, &reader), DORM_OK);
  for (int i = 0; i < 40; i++) {
    snprintf(id, sizeof id, "m%d", i);
    dorm_av item = get(f, id), out;
    assert_int_equal(dorm_crypt_decrypt(reader, "secret", dorm_av_map_getn(&item, "secret", 6), &f->a, &out), DORM_OK);
    assert_int_equal(out.u.s.len, strlen(id));
    assert_memory_equal(out.u.s.ptr, id, out.u.s.len);
  }
  assert_int_equal(f->kms.decrypt, 1);
  dorm_crypt_free(reader);
}

/* Altered in the table, or copied to another attribute: the read fails. */
static void tampered_in_the_table(void **state) {
  fx *f = *state;
  dorm_av v = dorm_av_str("4111 1111 1111 1111");
  put(f, "t1", "card", &v);
  dorm_av item = get(f, "t1");
  dorm_av *env = (dorm_av *)dorm_av_map_getn(&item, "card", 4);
  dorm_av *ct = (dorm_av *)dorm_av_map_getn(env, "ct", 2);
  char *bytes = dorm_arena_memdup(&f->a, ct->u.s.ptr, ct->u.s.len);
  bytes[3] ^= 0x20;
  ct->u.s.ptr = bytes;
  *dorm_av_map_add(&f->a, &item, "card2", 5) = *env; /* the same envelope under another name */
  dorm_put_input in = {.table = f->table, .item = &item};
  assert_int_equal(dorm_put_item(f->c, &in, &f->a, NULL), DORM_OK);
  dorm_av back = get(f, "t1"), out;
  assert_int_equal(dorm_crypt_decrypt(f->k, "card", dorm_av_map_getn(&back, "card", 4), &f->a, &out),
                   DORM_ERR_BAD_ENVELOPE);
  assert_int_equal(out.type, DORM_AV_INVALID);
  /* card2 restored to card's intact envelope: it opens as card, not as card2 */
  item = get(f, "t1");
  env = (dorm_av *)dorm_av_map_getn(&item, "card2", 5);
  ct = (dorm_av *)dorm_av_map_getn(env, "ct", 2);
  char *fixed = dorm_arena_memdup(&f->a, ct->u.s.ptr, ct->u.s.len);
  fixed[3] ^= 0x20;
  ct->u.s.ptr = fixed;
  assert_int_equal(dorm_put_item(f->c, &(dorm_put_input){.table = f->table, .item = &item}, &f->a, NULL), DORM_OK);
  back = get(f, "t1");
  assert_int_equal(dorm_crypt_decrypt(f->k, "card", dorm_av_map_getn(&back, "card2", 5), &f->a, &out), DORM_OK);
  assert_int_equal(dorm_crypt_decrypt(f->k, "card2", dorm_av_map_getn(&back, "card2", 5), &f->a, &out),
                   DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "attribute 'card2' does not decrypt"));
}

/* Whole items: the named attributes encrypted in place and back; a
 * failure leaves an item that PutItem refuses, never a partly plaintext one. */
static void whole_items(void **state) {
  fx *f = *state;
  static const char *const enc_attrs[] = {"card", "note", "absent"};
  dorm_av item = {.type = DORM_AV_M};
  *dorm_av_map_add(&f->a, &item, "id", 2) = dorm_av_str("w1");
  *dorm_av_map_add(&f->a, &item, "card", 4) = dorm_av_str("4111");
  *dorm_av_map_add(&f->a, &item, "note", 4) = dorm_av_num("42");
  *dorm_av_map_add(&f->a, &item, "plain", 5) = dorm_av_str("visible");
  assert_int_equal(dorm_crypt_encrypt_item(f->k, &item, enc_attrs, 3, &f->a), DORM_OK);
  assert_int_equal(dorm_av_map_getn(&item, "card", 4)->type, DORM_AV_M);
  assert_int_equal(dorm_av_map_getn(&item, "note", 4)->type, DORM_AV_M);
  assert_int_equal(dorm_av_map_getn(&item, "plain", 5)->type, DORM_AV_S);
  assert_int_equal(dorm_put_item(f->c, &(dorm_put_input){.table = f->table, .item = &item}, &f->a, NULL), DORM_OK);
  dorm_av back = get(f, "w1");
  assert_int_equal(dorm_crypt_decrypt_item(f->k, &back, enc_attrs, 3, &f->a), DORM_OK);
  const dorm_av *card = dorm_av_map_getn(&back, "card", 4), *note = dorm_av_map_getn(&back, "note", 4);
  assert_int_equal(card->type, DORM_AV_S);
  assert_memory_equal(card->u.s.ptr, "4111", 4);
  assert_int_equal(note->type, DORM_AV_N);
  assert_memory_equal(note->u.s.ptr, "42", 2);

  /* KMS refuses: the item becomes unwritable */
  dorm_av bad = {.type = DORM_AV_M};
  *dorm_av_map_add(&f->a, &bad, "id", 2) = dorm_av_str("w2");
  *dorm_av_map_add(&f->a, &bad, "card", 4) = dorm_av_str("4111");
  dorm_crypt *nokey = NULL;
  dorm_crypt_opts o = {.kms_key_id = "alias/nope", .kms_endpoint_url = fas_url(f->kms.srv)};
  assert_int_equal(dorm_crypt_new(f->c, &o, &nokey), DORM_OK);
  assert_int_equal(dorm_crypt_encrypt_item(nokey, &bad, enc_attrs, 1, &f->a), DORM_ERR_CONFIG);
  assert_int_equal(bad.type, DORM_AV_INVALID);
  assert_int_not_equal(dorm_put_item(f->c, &(dorm_put_input){.table = f->table, .item = &bad}, &f->a, NULL), DORM_OK);
  dorm_crypt_free(nokey);
  dorm_av key = {.type = DORM_AV_M}, none;
  *dorm_av_map_add(&f->a, &key, "id", 2) = dorm_av_str("w2");
  assert_int_equal(dorm_get_item(f->c, &(dorm_get_input){.table = f->table, .key = &key, .consistent_read = true}, &f->a,
                                 &none),
                   DORM_ERR_NOT_FOUND);
  /* a plaintext attribute where an envelope belongs fails the read */
  dorm_av plain = get(f, "w1");
  *(dorm_av *)dorm_av_map_getn(&plain, "card", 4) = dorm_av_str("4111");
  assert_int_equal(dorm_crypt_decrypt_item(f->k, &plain, enc_attrs, 3, &f->a), DORM_ERR_BAD_ENVELOPE);
  assert_int_equal(plain.type, DORM_AV_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(stored_as_envelope_and_read_back, setup, teardown),
      cmocka_unit_test_setup_teardown(many_reads_one_decrypt, setup, teardown),
      cmocka_unit_test_setup_teardown(tampered_in_the_table, setup, teardown),
      cmocka_unit_test_setup_teardown(whole_items, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
