/* TransactWriteItems and TransactGetItems against DynamoDB Local: a mix of
 * put / update / delete / condition check over two tables, cancellation
 * with per-action reasons and the failing index, idempotency tokens, and
 * transactions refused before anything is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client_internal.h"
#include "it_common.h"

static dorm_client *C;
static char ORDERS[64], STOCK[64]; /* both: PK S */

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(ORDERS, sizeof ORDERS, "it_tx_orders");
  it_name(STOCK, sizeof STOCK, "it_tx_stock");
  it_create_table(C, ORDERS, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  it_create_table(C, STOCK, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, ORDERS);
  it_drop_table(C, STOCK);
  dorm_client_free(C);
  return 0;
}

static void put(dorm_arena *a, const char *table, const char *pk, int64_t qty) {
  dorm_av item = it_key_s(a, "PK", pk);
  it_set_n(a, &item, "qty", qty);
  dorm_put_input pi = {.table = table, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, a, NULL), DORM_OK);
}

/* The item under pk, or an av of type INVALID. */
static dorm_av get(dorm_arena *a, const char *table, const char *pk) {
  dorm_av key = it_key_s(a, "PK", pk), item;
  dorm_get_input gi = {.table = table, .key = &key, .consistent_read = true};
  dorm_status st = dorm_get_item(C, &gi, a, &item);
  if (st == DORM_ERR_NOT_FOUND) {
    memset(&item, 0, sizeof item);
    return item;
  }
  assert_int_equal(st, DORM_OK);
  return item;
}

static int64_t qty_of(dorm_arena *a, const char *table, const char *pk) {
  dorm_av item = get(a, table, pk);
  return it_get_n(&item, "qty");
}

static void test_write_mix(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  put(&a, STOCK, "widget", 10);
  put(&a, ORDERS, "old-order", 1);
  put(&a, STOCK, "gadget", 3);

  dorm_av new_order = it_key_s(&a, "PK", "order-1");
  it_set_s(&a, &new_order, "item", "widget");
  dorm_expr put_cond;
  dorm_expr_init(&put_cond, &a);
  dorm_expr_condition(&put_cond, dorm_cond_not_exists(&put_cond, "PK"));

  dorm_av widget = it_key_s(&a, "PK", "widget");
  dorm_expr upd;
  dorm_expr_init(&upd, &a);
  dorm_update_increment(&upd, "qty", dorm_av_num("-1"));
  dorm_expr_condition(&upd, dorm_cond_cmp(&upd, "qty", DORM_GT, dorm_av_num("0")));

  dorm_av old = it_key_s(&a, "PK", "old-order");
  dorm_av gadget = it_key_s(&a, "PK", "gadget");
  dorm_expr check;
  dorm_expr_init(&check, &a);
  dorm_expr_condition(&check, dorm_cond_cmp(&check, "qty", DORM_GE, dorm_av_num("3")));

  dorm_tx_write w[] = {
      {.kind = DORM_TX_PUT, .table = ORDERS, .item = &new_order, .expr = &put_cond},
      {.kind = DORM_TX_UPDATE, .table = STOCK, .key = &widget, .expr = &upd},
      {.kind = DORM_TX_DELETE, .table = ORDERS, .key = &old},
      {.kind = DORM_TX_CONDITION_CHECK, .table = STOCK, .key = &gadget, .expr = &check},
  };
  size_t failed = 0;
  assert_int_equal(dorm_transact_write(C, w, 4, NULL, &failed), DORM_OK);
  assert_int_equal(failed, SIZE_MAX);
  assert_string_equal(dorm_client_errmsg(C), "");

  dorm_av got = get(&a, ORDERS, "order-1");
  assert_string_equal(it_get_s(&got, "item"), "widget");
  got = get(&a, STOCK, "widget");
  assert_int_equal(it_get_n(&got, "qty"), 9);
  got = get(&a, ORDERS, "old-order");
  assert_int_equal(got.type, DORM_AV_INVALID);
  got = get(&a, STOCK, "gadget");
  assert_int_equal(it_get_n(&got, "qty"), 3);
  dorm_arena_free(&a);
}

static void test_cancellation(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  put(&a, STOCK, "empty", 0);
  dorm_av order = it_key_s(&a, "PK", "order-2");
  dorm_av empty = it_key_s(&a, "PK", "empty");
  dorm_expr upd;
  dorm_expr_init(&upd, &a);
  dorm_update_increment(&upd, "qty", dorm_av_num("-1"));
  dorm_expr_condition(&upd, dorm_cond_cmp(&upd, "qty", DORM_GT, dorm_av_num("0")));
  dorm_av gadget = it_key_s(&a, "PK", "gadget");
  dorm_expr check;
  dorm_expr_init(&check, &a);
  dorm_expr_condition(&check, dorm_cond_exists(&check, "PK"));
  dorm_tx_write w[] = {
      {.kind = DORM_TX_PUT, .table = ORDERS, .item = &order},
      {.kind = DORM_TX_CONDITION_CHECK, .table = STOCK, .key = &gadget, .expr = &check},
      {.kind = DORM_TX_UPDATE, .table = STOCK, .key = &empty, .expr = &upd, .return_old_on_condition_failure = true},
  };
  size_t failed = 0;
  /* A ConditionalCheckFailed reason is DynamORM's ErrConditionFailed (as its
   * Go SDK maps it), and the message names the action's key. */
  assert_int_equal(dorm_transact_write(C, w, 3, NULL, &failed), DORM_ERR_CONDITION_FAILED);
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_CONDITION_FAILED), "ErrConditionFailed");
  assert_int_equal(failed, 2);
  char want[256];
  snprintf(want, sizeof want, "TransactWriteItems: action 2 (Update PK=empty on %s): ConditionalCheckFailed", STOCK);
  it_assert_msg(C, want, "TransactionCanceledException", "request id ", NULL);
  assert_string_equal(dorm_client_error_code(C), "TransactionCanceledException");
  const dorm_cancel_reason *r;
  assert_int_equal(dorm_client_cancel_reasons(C, &r), 3);
  assert_string_equal(r[0].code, "None");
  assert_string_equal(r[1].code, "None");
  assert_string_equal(r[2].code, "ConditionalCheckFailed");
  /* ReturnValuesOnConditionCheckFailure: the old item is in the reason. */
  size_t len;
  const char *body = dorm__client_error_body(C, &len);
  assert_non_null(strstr(body, "\"Item\""));
  assert_non_null(strstr(body, "\"empty\""));
  /* ... and dorm_transact_cancel_item gives it (a user had no way to). */
  dorm_av old;
  assert_int_equal(dorm_transact_cancel_item(C, 2, &a, &old), DORM_OK);
  assert_int_equal(old.type, DORM_AV_M);
  dorm_str pk;
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&old, "PK"), &pk), DORM_OK);
  assert_int_equal(pk.len, 5);
  assert_memory_equal(pk.ptr, "empty", 5);
  assert_int_equal(dorm_transact_cancel_item(C, 1, &a, &old), DORM_ERR_NOT_FOUND);
  assert_int_equal(old.type, DORM_AV_INVALID);
  assert_int_equal(dorm_transact_cancel_item(C, 3, &a, &old), DORM_ERR_NOT_FOUND);
  /* The client's last error is left alone. */
  it_assert_msg(C, "TransactWriteItems: action 2", NULL);
  /* Nothing was applied. */
  assert_int_equal(get(&a, ORDERS, "order-2").type, DORM_AV_INVALID);
  assert_int_equal(qty_of(&a, STOCK, "empty"), 0);

  /* The first failing action is reported when several fail. */
  dorm_expr never;
  dorm_expr_init(&never, &a);
  dorm_expr_condition(&never, dorm_cond_not_exists(&never, "PK"));
  w[1].expr = &never;
  assert_int_equal(dorm_transact_write(C, w, 3, NULL, &failed), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(failed, 1);
  snprintf(want, sizeof want, "action 1 (ConditionCheck PK=gadget on %s): ConditionalCheckFailed", STOCK);
  it_assert_msg(C, want, NULL);
  assert_int_equal(dorm_client_cancel_reasons(C, &r), 3);
  assert_string_equal(r[1].code, "ConditionalCheckFailed");
  /* A label (what the model layer sets) names the action instead of its key. */
  w[1].label = "Gadget PK=gadget";
  assert_int_equal(dorm_transact_write(C, w, 3, NULL, &failed), DORM_ERR_CONDITION_FAILED);
  snprintf(want, sizeof want, "action 1 (ConditionCheck Gadget PK=gadget on %s): ConditionalCheckFailed", STOCK);
  it_assert_msg(C, want, NULL);

  /* Two actions on one item: a ValidationException, not a cancellation. */
  dorm_tx_write twice[] = {{.kind = DORM_TX_PUT, .table = ORDERS, .item = &order},
                           {.kind = DORM_TX_DELETE, .table = ORDERS, .key = &order}};
  assert_int_equal(dorm_transact_write(C, twice, 2, NULL, &failed), DORM_ERR_VALIDATION);
  assert_int_equal(failed, SIZE_MAX);
  it_assert_msg(C, "TransactWriteItems: ValidationException", NULL);

  /* A missing table. */
  char missing[64];
  it_name(missing, sizeof missing, "it_tx_missing");
  dorm_tx_write nt[] = {{.kind = DORM_TX_PUT, .table = missing, .item = &order}};
  assert_int_equal(dorm_transact_write(C, nt, 1, NULL, &failed), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "TransactWriteItems: ResourceNotFoundException", NULL);
  dorm_arena_free(&a);
}

static void test_idempotency(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  put(&a, STOCK, "counter", 0);
  dorm_av key = it_key_s(&a, "PK", "counter");
  dorm_expr inc;
  dorm_expr_init(&inc, &a);
  dorm_update_add(&inc, "qty", dorm_av_num("1"));
  dorm_tx_write w[] = {{.kind = DORM_TX_UPDATE, .table = STOCK, .key = &key, .expr = &inc}};
  char token[40];
  snprintf(token, sizeof token, "tok-%s", STOCK + strlen(STOCK) - 8);

  /* The same token twice: applied once. */
  assert_int_equal(dorm_transact_write(C, w, 1, token, NULL), DORM_OK);
  assert_int_equal(dorm_transact_write(C, w, 1, token, NULL), DORM_OK);
  assert_int_equal(qty_of(&a, STOCK, "counter"), 1);

  /* No token: a fresh one per call, so each call applies. */
  assert_int_equal(dorm_transact_write(C, w, 1, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_transact_write(C, w, 1, NULL, NULL), DORM_OK);
  assert_int_equal(qty_of(&a, STOCK, "counter"), 3);

  /* The same token with other actions: IdempotentParameterMismatch. */
  dorm_expr inc2;
  dorm_expr_init(&inc2, &a);
  dorm_update_add(&inc2, "qty", dorm_av_num("5"));
  w[0].expr = &inc2;
  assert_int_equal(dorm_transact_write(C, w, 1, token, NULL), DORM_ERR_IDEMPOTENCY);
  it_assert_msg(C, "TransactWriteItems: IdempotentParameterMismatchException", NULL);
  assert_int_equal(qty_of(&a, STOCK, "counter"), 3);
  dorm_arena_free(&a);
}

static void test_transact_get(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  put(&a, ORDERS, "g1", 11);
  put(&a, STOCK, "g2", 22);
  dorm_av k1 = it_key_s(&a, "PK", "g1"), k2 = it_key_s(&a, "PK", "g2"), k3 = it_key_s(&a, "PK", "nope");
  dorm_expr proj;
  dorm_expr_init(&proj, &a);
  const char *p[] = {"qty"};
  dorm_expr_projection(&proj, p, 1);
  dorm_tx_get g[] = {{ORDERS, &k1, NULL}, {ORDERS, &k3, NULL}, {STOCK, &k2, &proj}};
  dorm_av items[3];
  assert_int_equal(dorm_transact_get(C, g, 3, &a, items), DORM_OK);
  assert_int_equal(items[0].type, DORM_AV_M);
  assert_string_equal(it_get_s(&items[0], "PK"), "g1");
  assert_int_equal(it_get_n(&items[0], "qty"), 11);
  assert_int_equal(items[1].type, DORM_AV_INVALID);
  assert_int_equal(items[2].u.map.count, 1); /* projected */
  assert_int_equal(it_get_n(&items[2], "qty"), 22);

  char missing[64];
  it_name(missing, sizeof missing, "it_tx_missing");
  g[1].table = missing;
  assert_int_equal(dorm_transact_get(C, g, 3, &a, items), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "TransactGetItems: ResourceNotFoundException", NULL);
  dorm_arena_free(&a);
}

static void test_refused_before_sending(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  uint64_t before = it_attempts(C);
  dorm_av keys[101];
  dorm_tx_write w[101];
  dorm_tx_get g[101];
  for (int i = 0; i < 101; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "t%d", i);
    keys[i] = it_key_s(&a, "PK", pk);
    w[i] = (dorm_tx_write){.kind = DORM_TX_PUT, .table = ORDERS, .item = &keys[i]};
    g[i] = (dorm_tx_get){ORDERS, &keys[i], NULL};
  }
  size_t failed = 0;
  assert_int_equal(dorm_transact_write(C, w, 101, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "TransactWriteItems: a transaction has 1 to 100 actions, not 101", NULL);
  assert_int_equal(dorm_transact_write(C, w, 0, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  dorm_av items[101];
  assert_int_equal(dorm_transact_get(C, g, 101, &a, items), DORM_ERR_INVALID_ARGUMENT);

  /* A condition check without a condition; an update without actions; a put with an update. */
  w[5] = (dorm_tx_write){.kind = DORM_TX_CONDITION_CHECK, .table = ORDERS, .key = &keys[5]};
  assert_int_equal(dorm_transact_write(C, w, 10, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "action 5 (ConditionCheck on", "a condition expression is required", NULL);
  dorm_expr cond_only;
  dorm_expr_init(&cond_only, &a);
  dorm_expr_condition(&cond_only, dorm_cond_exists(&cond_only, "PK"));
  w[5] = (dorm_tx_write){.kind = DORM_TX_UPDATE, .table = ORDERS, .key = &keys[5], .expr = &cond_only};
  assert_int_equal(dorm_transact_write(C, w, 10, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "action 5 (Update on", "an update expression is required", NULL);
  dorm_expr upd;
  dorm_expr_init(&upd, &a);
  dorm_update_set(&upd, "x", dorm_av_num("1"));
  w[5] = (dorm_tx_write){.kind = DORM_TX_PUT, .table = ORDERS, .item = &keys[5], .expr = &upd};
  assert_int_equal(dorm_transact_write(C, w, 10, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "action 5 (Put on", "cannot have update actions", NULL);
  w[5] = (dorm_tx_write){.kind = (dorm_tx_kind)9, .table = ORDERS, .key = &keys[5]};
  assert_int_equal(dorm_transact_write(C, w, 10, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);

  /* Bad values, named by action. */
  dorm_av bad = it_key_s(&a, "PK", "bad");
  it_set_av(&a, &bad, "n", dorm_av_num("1e999"));
  w[5] = (dorm_tx_write){.kind = DORM_TX_PUT, .table = ORDERS, .item = &bad};
  assert_int_equal(dorm_transact_write(C, w, 10, NULL, &failed), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "action 5 (Put on", "TransactItems[5].Put.Item.n", NULL);
  w[5] = (dorm_tx_write){.kind = DORM_TX_PUT, .table = ORDERS, .item = &keys[5]};

  /* Tokens: at most 36 characters. */
  assert_int_equal(dorm_transact_write(C, w, 1, "0123456789012345678901234567890123456", &failed),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_transact_write(C, w, 1, "", &failed), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(it_attempts(C), before);

  /* 100 actions is the limit and works. */
  assert_int_equal(dorm_transact_write(C, w, 100, NULL, &failed), DORM_OK);
  assert_int_equal(dorm_transact_get(C, g, 100, &a, items), DORM_OK);
  for (int i = 0; i < 100; i++) assert_int_equal(items[i].type, DORM_AV_M);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_mix),
      cmocka_unit_test(test_cancellation),
      cmocka_unit_test(test_idempotency),
      cmocka_unit_test(test_transact_get),
      cmocka_unit_test(test_refused_before_sending),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
