/* GetItem, PutItem, UpdateItem and DeleteItem against DynamoDB Local:
 * conditions, placeholders, ReturnValues, ReturnValuesOnConditionCheckFailure,
 * the mapping of AWS errors, and arguments refused before anything is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

static dorm_client *C;
static char T[64]; /* pk S "PK", sk N "SK" */

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(T, sizeof T, "it_items");
  it_create_table(C, T, "PK", DORM_KEY_S, "SK", DORM_KEY_N);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, T);
  dorm_client_free(C);
  return 0;
}

/* An item with one attribute of every type. */
static dorm_av full_item(dorm_arena *a, const char *pk, int64_t sk) {
  dorm_av it = it_key_sn(a, "PK", pk, "SK", sk);
  it_set_s(a, &it, "name", "Ünïcode ✓");
  it_set_av(a, &it, "price", dorm_av_num("12345678901234567890.123456789"));
  it_set_av(a, &it, "blob", dorm_av_bytes("\0\1\2\xff", 4));
  it_set_av(a, &it, "flag", dorm_av_bool(true));
  it_set_av(a, &it, "nothing", dorm_av_null());
  dorm_av ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(a, &ss, "a", 1);
  dorm_av_set_add(a, &ss, "b", 1);
  it_set_av(a, &it, "tags", ss);
  dorm_av ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(a, &ns, "1", 1);
  dorm_av_set_add(a, &ns, "2.5", 3);
  it_set_av(a, &it, "nums", ns);
  dorm_av l = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(a, &l) = dorm_av_str("x");
  *dorm_av_list_push(a, &l) = dorm_av_num("7");
  it_set_av(a, &it, "list", l);
  dorm_av m = it_map();
  it_set_s(a, &m, "city", "Paris");
  it_set_av(a, &it, "address", m);
  it_set_n(a, &it, "version", 1);
  return it;
}

static void test_put_get_round_trip(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item = full_item(&a, "rt", 1);
  dorm_put_input pi = {.table = T, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  assert_string_equal(dorm_client_errmsg(C), "");

  dorm_av key = it_key_sn(&a, "PK", "rt", "SK", 1), got;
  dorm_get_input gi = {.table = T, .key = &key, .consistent_read = true};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_true(dorm_av_equal(&item, &got));

  /* Projection with a reserved word and a nested path. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  const char *paths[] = {"name", "address.city"};
  assert_int_equal(dorm_expr_projection(&x, paths, 2), DORM_OK);
  gi.expr = &x;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_int_equal(got.u.map.count, 2);
  assert_string_equal(it_get_s(&got, "name"), "Ünïcode ✓");
  assert_string_equal(it_get_s(dorm_av_map_get(&got, "address"), "city"), "Paris");

  /* A key that does not exist. */
  dorm_av missing = it_key_sn(&a, "PK", "nobody", "SK", 1);
  gi.key = &missing;
  gi.expr = NULL;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_NOT_FOUND);
  assert_int_equal(got.type, DORM_AV_M);
  assert_int_equal(got.u.map.count, 0);
  it_assert_msg(C, "GetItem", T, NULL);
  dorm_arena_free(&a);
}

static void test_put_conditions_and_return_values(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av v1 = it_key_sn(&a, "PK", "cond", "SK", 1);
  it_set_s(&a, &v1, "state", "first");
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_condition(&x, dorm_cond_not_exists(&x, "PK"));
  dorm_put_input pi = {.table = T, .item = &v1, .expr = &x};
  dorm_write_result wr;
  assert_int_equal(dorm_put_item(C, &pi, &a, &wr), DORM_OK);
  assert_false(wr.present);

  /* Same put again: the condition fails; the old item comes back. */
  dorm_av v2 = it_key_sn(&a, "PK", "cond", "SK", 1);
  it_set_s(&a, &v2, "state", "second");
  pi.item = &v2;
  pi.return_old_on_condition_failure = true;
  assert_int_equal(dorm_put_item(C, &pi, &a, &wr), DORM_ERR_CONDITION_FAILED);
  assert_true(wr.present);
  assert_true(dorm_av_equal(&wr.attributes, &v1));
  it_assert_msg(C, "PutItem: ConditionalCheckFailedException", "request id ", NULL);
  assert_string_equal(dorm_client_error_code(C), "ConditionalCheckFailedException");
  assert_true(strlen(dorm_client_request_id(C)) > 0);
  assert_true(strstr(dorm_client_errmsg(C), dorm_client_request_id(C)) != NULL);

  /* Without ReturnValuesOnConditionCheckFailure nothing comes back. */
  pi.return_old_on_condition_failure = false;
  assert_int_equal(dorm_put_item(C, &pi, &a, &wr), DORM_ERR_CONDITION_FAILED);
  assert_false(wr.present);

  /* Unconditional put with ALL_OLD returns what it replaced. */
  pi.expr = NULL;
  pi.return_values = DORM_RETURN_ALL_OLD;
  assert_int_equal(dorm_put_item(C, &pi, &a, &wr), DORM_OK);
  assert_true(wr.present);
  assert_string_equal(it_get_s(&wr.attributes, "state"), "first");

  /* Condition with a value: state = "second" holds now. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_condition(&y, dorm_cond_eq(&y, "state", dorm_av_str("second")));
  pi.expr = &y;
  pi.return_values = DORM_RETURN_NONE;
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);

  /* PutItem takes only NONE / ALL_OLD: refused before sending. */
  uint64_t before = it_attempts(C);
  pi.return_values = DORM_RETURN_ALL_NEW;
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(it_attempts(C), before);
  dorm_arena_free(&a);
}

static void test_update(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item = it_key_sn(&a, "PK", "upd", "SK", 1);
  it_set_n(&a, &item, "count", 10);
  it_set_s(&a, &item, "name", "before");
  it_set_s(&a, &item, "gone", "x");
  it_set_n(&a, &item, "version", 1);
  dorm_put_input pi = {.table = T, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);

  dorm_av key = it_key_sn(&a, "PK", "upd", "SK", 1);
  /* SET with a reserved word, an attribute whose name has a dot, ADD, REMOVE,
   * conditioned on the version, returning ALL_NEW. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_update_set(&x, "name", dorm_av_str("after"));
  dorm_update_set_opd(&x, dorm_opd_name(&x, "odd.name", 8), dorm_opd_value(&x, dorm_av_str("dotted")));
  dorm_update_increment(&x, "count", dorm_av_num("5"));
  dorm_update_add(&x, "version", dorm_av_num("1"));
  dorm_update_remove(&x, "gone");
  dorm_expr_condition(&x, dorm_cond_eq(&x, "version", dorm_av_num("1")));
  assert_int_equal(dorm_expr_status(&x), DORM_OK);
  dorm_update_input ui = {.table = T, .key = &key, .expr = &x, .return_values = DORM_RETURN_ALL_NEW};
  dorm_write_result wr;
  assert_int_equal(dorm_update_item(C, &ui, &a, &wr), DORM_OK);
  assert_true(wr.present);
  assert_string_equal(it_get_s(&wr.attributes, "name"), "after");
  assert_string_equal(it_get_s(&wr.attributes, "odd.name"), "dotted");
  assert_int_equal(it_get_n(&wr.attributes, "count"), 15);
  assert_int_equal(it_get_n(&wr.attributes, "version"), 2);
  assert_null(dorm_av_map_get(&wr.attributes, "gone"));

  /* UPDATED_OLD returns only the changed attributes as they were. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_update_set(&y, "name", dorm_av_str("third"));
  ui.expr = &y;
  ui.return_values = DORM_RETURN_UPDATED_OLD;
  assert_int_equal(dorm_update_item(C, &ui, &a, &wr), DORM_OK);
  assert_int_equal(wr.attributes.u.map.count, 1);
  assert_string_equal(it_get_s(&wr.attributes, "name"), "after");

  /* UPDATED_NEW */
  dorm_expr z;
  dorm_expr_init(&z, &a);
  dorm_update_increment(&z, "count", dorm_av_num("1"));
  ui.expr = &z;
  ui.return_values = DORM_RETURN_UPDATED_NEW;
  assert_int_equal(dorm_update_item(C, &ui, &a, &wr), DORM_OK);
  assert_int_equal(wr.attributes.u.map.count, 1);
  assert_int_equal(it_get_n(&wr.attributes, "count"), 16);

  /* The version condition no longer holds (it is 2): the old item comes back. */
  dorm_expr s;
  dorm_expr_init(&s, &a);
  dorm_update_set(&s, "name", dorm_av_str("stale"));
  dorm_expr_condition(&s, dorm_cond_eq(&s, "version", dorm_av_num("1")));
  ui.expr = &s;
  ui.return_values = DORM_RETURN_NONE;
  ui.return_old_on_condition_failure = true;
  assert_int_equal(dorm_update_item(C, &ui, &a, &wr), DORM_ERR_CONDITION_FAILED);
  assert_true(wr.present);
  assert_int_equal(it_get_n(&wr.attributes, "version"), 2);
  assert_string_equal(it_get_s(&wr.attributes, "name"), "third");
  it_assert_msg(C, "UpdateItem: ConditionalCheckFailedException", NULL);
  dorm_arena_free(&a);
}

static void test_delete(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item = it_key_sn(&a, "PK", "del", "SK", 1);
  it_set_n(&a, &item, "version", 3);
  dorm_put_input pi = {.table = T, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);

  dorm_av key = it_key_sn(&a, "PK", "del", "SK", 1);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_condition(&x, dorm_cond_eq(&x, "version", dorm_av_num("2")));
  dorm_delete_input di = {.table = T, .key = &key, .expr = &x, .return_old_on_condition_failure = true};
  dorm_write_result wr;
  assert_int_equal(dorm_delete_item(C, &di, &a, &wr), DORM_ERR_CONDITION_FAILED);
  assert_true(wr.present);
  assert_int_equal(it_get_n(&wr.attributes, "version"), 3);
  it_assert_msg(C, "DeleteItem: ConditionalCheckFailedException", NULL);

  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_condition(&y, dorm_cond_eq(&y, "version", dorm_av_num("3")));
  di.expr = &y;
  di.return_values = DORM_RETURN_ALL_OLD;
  assert_int_equal(dorm_delete_item(C, &di, &a, &wr), DORM_OK);
  assert_true(wr.present);
  assert_true(dorm_av_equal(&wr.attributes, &item));

  dorm_av got;
  dorm_get_input gi = {.table = T, .key = &key, .consistent_read = true};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_NOT_FOUND);

  /* Deleting what is not there is fine, unless a condition says otherwise. */
  di.expr = NULL;
  assert_int_equal(dorm_delete_item(C, &di, &a, &wr), DORM_OK);
  assert_false(wr.present);
  dorm_expr z;
  dorm_expr_init(&z, &a);
  dorm_expr_condition(&z, dorm_cond_exists(&z, "PK"));
  di.expr = &z;
  assert_int_equal(dorm_delete_item(C, &di, &a, &wr), DORM_ERR_CONDITION_FAILED);
  assert_false(wr.present);
  dorm_arena_free(&a);
}

static void test_error_mapping(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char missing[64];
  it_name(missing, sizeof missing, "it_no_such_table");
  dorm_av key = it_key_sn(&a, "PK", "x", "SK", 1), got;
  dorm_get_input gi = {.table = missing, .key = &key};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_TABLE_NOT_FOUND);
  /* DynamoDB's message names no table: the client's does */
  char want[128];
  snprintf(want, sizeof want, "GetItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, "(HTTP 400)", "request id ", NULL);
  assert_string_equal(dorm_client_error_code(C), "ResourceNotFoundException");
  assert_true(strlen(dorm_client_request_id(C)) > 0);

  dorm_av item = it_key_sn(&a, "PK", "x", "SK", 1);
  dorm_put_input pi = {.table = missing, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_TABLE_NOT_FOUND);
  snprintf(want, sizeof want, "PutItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, NULL);
  dorm_expr ux;
  dorm_expr_init(&ux, &a);
  dorm_update_set(&ux, "n", dorm_av_num("1"));
  dorm_update_input ui = {.table = missing, .key = &key, .expr = &ux};
  assert_int_equal(dorm_update_item(C, &ui, &a, NULL), DORM_ERR_TABLE_NOT_FOUND);
  snprintf(want, sizeof want, "UpdateItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, NULL);
  dorm_delete_input di = {.table = missing, .key = &key};
  assert_int_equal(dorm_delete_item(C, &di, &a, NULL), DORM_ERR_TABLE_NOT_FOUND);
  snprintf(want, sizeof want, "DeleteItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, NULL);

  /* Wrong key type: SK is N in the table, S here. */
  dorm_av bad = it_map();
  it_set_s(&a, &bad, "PK", "x");
  it_set_s(&a, &bad, "SK", "not a number");
  gi.table = T;
  gi.key = &bad;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_VALIDATION);
  it_assert_msg(C, "GetItem: ValidationException", "request id ", NULL);
  assert_string_equal(dorm_client_error_code(C), "ValidationException");

  /* A key attribute missing altogether. */
  dorm_av half = it_key_s(&a, "PK", "x");
  dorm_put_input hp = {.table = T, .item = &half};
  assert_int_equal(dorm_put_item(C, &hp, &a, NULL), DORM_ERR_VALIDATION);
  it_assert_msg(C, "PutItem: ValidationException", NULL);

  /* A success clears the last error. */
  gi.key = &key;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_NOT_FOUND);
  dorm_av ok = it_key_sn(&a, "PK", "ok", "SK", 1);
  dorm_put_input op = {.table = T, .item = &ok};
  assert_int_equal(dorm_put_item(C, &op, &a, NULL), DORM_OK);
  assert_string_equal(dorm_client_errmsg(C), "");
  assert_string_equal(dorm_client_error_code(C), "");
  dorm_arena_free(&a);
}

static void test_refused_before_sending(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  uint64_t before = it_attempts(C);

  /* 401 KB item. */
  size_t big = 401 * 1024;
  char *blob = dorm_arena_alloc(&a, big + 1);
  memset(blob, 'x', big);
  blob[big] = '\0';
  dorm_av item = it_key_sn(&a, "PK", "big", "SK", 1);
  it_set_av(&a, &item, "data", dorm_av_strn(blob, big));
  dorm_put_input pi = {.table = T, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_TOO_LARGE);
  it_assert_msg(C, "PutItem: Item is", "409600 bytes", NULL);

  /* Invalid UTF-8 in a string value. */
  dorm_av bad = it_key_sn(&a, "PK", "utf8", "SK", 1);
  it_set_av(&a, &bad, "name", dorm_av_strn("ab\xc3\x28", 4));
  pi.item = &bad;
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "PutItem", "name", "UTF-8", NULL);

  /* 39 significant digits. */
  dorm_av num = it_key_sn(&a, "PK", "num", "SK", 1);
  it_set_av(&a, &num, "n", dorm_av_num("123456789012345678901234567890123456789"));
  pi.item = &num;
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "PutItem", "38", NULL);

  /* Invalid UTF-8 in a key given to GetItem, and in an expression value. */
  dorm_av badkey = it_map();
  it_set_av(&a, &badkey, "PK", dorm_av_strn("\xff", 1));
  it_set_n(&a, &badkey, "SK", 1);
  dorm_av got;
  dorm_get_input gi = {.table = T, .key = &badkey};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_ERR_INVALID_ARGUMENT);
  dorm_av key = it_key_sn(&a, "PK", "k", "SK", 1);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_update_set(&x, "name", dorm_av_strn("\xc0\xaf", 2));
  dorm_update_input ui = {.table = T, .key = &key, .expr = &x};
  assert_int_equal(dorm_update_item(C, &ui, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "UpdateItem", "ExpressionAttributeValues", NULL);

  /* An update without actions: DynamoDB would answer OK and create an item
   * holding only the key (it did, through this call, before the check). */
  dorm_av nokey = it_key_sn(&a, "PK", "no-actions", "SK", 1);
  dorm_expr none;
  dorm_expr_init(&none, &a);
  dorm_expr_condition(&none, dorm_cond_not_exists(&none, "PK"));
  dorm_update_input ni = {.table = T, .key = &nokey, .expr = &none};
  assert_int_equal(dorm_update_item(C, &ni, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "UpdateItem", "no update actions", NULL);

  assert_int_equal(it_attempts(C), before);
  dorm_get_input ng = {.table = T, .key = &nokey, .consistent_read = true};
  assert_int_equal(dorm_get_item(C, &ng, &a, &got), DORM_ERR_NOT_FOUND);
  dorm_arena_free(&a);
}

/* The size limit is DynamoDB's item size, not the request's JSON text:
 * a string of quotes doubles in JSON (each is written \"), so an item of
 * exactly DORM_ITEM_MAX_BYTES has ~800 KB of text and is stored, and one
 * byte more is refused before sending with its size in the message. */
static void test_size_limit_is_the_item_size_not_the_text(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item = it_key_sn(&a, "PK", "quotes", "SK", 1);
  size_t base;
  it_set_av(&a, &item, "data", dorm_av_strn("", 0));
  assert_int_equal(dorm_item_size(&item, &base), DORM_OK);
  size_t n = DORM_ITEM_MAX_BYTES - base;
  char *blob = dorm_arena_alloc(&a, n + 2);
  memset(blob, '"', n + 1);
  blob[n + 1] = '\0';
  it_set_av(&a, &item, "data", dorm_av_strn(blob, n));
  size_t size;
  assert_int_equal(dorm_item_size(&item, &size), DORM_OK);
  assert_int_equal(size, DORM_ITEM_MAX_BYTES);
  dorm_put_input pi = {.table = T, .item = &item};
  if (dorm_put_item(C, &pi, &a, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  dorm_av got;
  dorm_av key = it_key_sn(&a, "PK", "quotes", "SK", 1);
  dorm_get_input gi = {.table = T, .key = &key};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  dorm_str s;
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&got, "data"), &s), DORM_OK);
  assert_int_equal(s.len, n);

  uint64_t before = it_attempts(C);
  it_set_av(&a, &item, "data", dorm_av_strn(blob, n + 1));
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_TOO_LARGE);
  it_assert_msg(C, "PutItem: Item is 409601 bytes", "409600 bytes", NULL);
  assert_int_equal(it_attempts(C), before);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_round_trip),
      cmocka_unit_test(test_put_conditions_and_return_values),
      cmocka_unit_test(test_update),
      cmocka_unit_test(test_delete),
      cmocka_unit_test(test_error_mapping),
      cmocka_unit_test(test_refused_before_sending),
      cmocka_unit_test(test_size_limit_is_the_item_size_not_the_text),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
