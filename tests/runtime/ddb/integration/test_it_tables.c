/* Table operations against DynamoDB Local: CreateTable (provisioned with a
 * GSI and an LSI, on-demand), DescribeTable, UpdateTable (add a GSI, wait,
 * query it, delete it; billing; stream; deletion protection), Time to
 * Live, ListTables over several pages, DeleteTable and the waiters. */
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

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  dorm_client_free(C);
  return 0;
}

static const dorm_index_description *find_index(const dorm_index_description *ix, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(ix[i].name, name) == 0) return &ix[i];
  return NULL;
}

static void test_create_provisioned_with_indexes(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char name[64];
  it_name(name, sizeof name, "it_tables_prov");
  static const char *const include[] = {"total", "customer"};
  dorm_gsi_def gsi = {.name = "gsi-status",
                      .pk = {"GSI1PK", DORM_KEY_S},
                      .sk = {"amount", DORM_KEY_N},
                      .projection = {DORM_PROJECT_INCLUDE, include, 2},
                      .throughput = {2, 3}};
  dorm_lsi_def lsi = {.name = "lsi-created", .sk = {"createdAt", DORM_KEY_S}, .projection = {DORM_PROJECT_KEYS_ONLY, NULL, 0}};
  dorm_table_def def = {.name = name,
                        .pk = {"PK", DORM_KEY_S},
                        .sk = {"SK", DORM_KEY_B},
                        .billing = DORM_BILLING_PROVISIONED,
                        .throughput = {5, 6},
                        .gsis = &gsi,
                        .gsi_count = 1,
                        .lsis = &lsi,
                        .lsi_count = 1,
                        .stream = DORM_STREAM_NEW_AND_OLD_IMAGES};
  dorm_table_description d;
  assert_int_equal(dorm_create_table(C, &def, &a, &d), DORM_OK);
  assert_string_equal(d.name, name);
  assert_true(d.status == DORM_TABLE_CREATING || d.status == DORM_TABLE_ACTIVE);

  /* Creating it again: ResourceInUseException. */
  assert_int_equal(dorm_create_table(C, &def, &a, NULL), DORM_ERR_RESOURCE_IN_USE);
  it_assert_msg(C, "CreateTable: ResourceInUseException", "request id", NULL);

  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.status, DORM_TABLE_ACTIVE);
  assert_string_equal(d.status_text, "ACTIVE");
  assert_true(strstr(d.arn, name) != NULL);
  assert_true(d.created > 1.6e9);
  assert_string_equal(d.pk.name, "PK");
  assert_int_equal(d.pk.type, DORM_KEY_S);
  assert_string_equal(d.sk.name, "SK");
  assert_int_equal(d.sk.type, DORM_KEY_B);
  assert_int_equal(d.billing, DORM_BILLING_PROVISIONED);
  assert_int_equal(d.throughput.read, 5);
  assert_int_equal(d.throughput.write, 6);
  assert_int_equal(d.stream, DORM_STREAM_NEW_AND_OLD_IMAGES);
  assert_true(d.stream_arn[0] != '\0');
  assert_int_equal(d.attribute_count, 5); /* PK, SK, GSI1PK, amount, createdAt */
  assert_int_equal(d.gsi_count, 1);
  const dorm_index_description *g = &d.gsis[0];
  assert_string_equal(g->name, "gsi-status");
  assert_string_equal(g->pk.name, "GSI1PK");
  assert_int_equal(g->pk.type, DORM_KEY_S);
  assert_string_equal(g->sk.name, "amount");
  assert_int_equal(g->sk.type, DORM_KEY_N);
  assert_int_equal(g->projection.type, DORM_PROJECT_INCLUDE);
  assert_int_equal(g->projection.attribute_count, 2);
  assert_string_equal(g->projection.attributes[0], "total");
  assert_int_equal(g->status, DORM_INDEX_ACTIVE);
  assert_false(g->backfilling);
  assert_int_equal(g->throughput.read, 2);
  assert_int_equal(g->throughput.write, 3);
  assert_int_equal(d.lsi_count, 1);
  assert_string_equal(d.lsis[0].name, "lsi-created");
  assert_string_equal(d.lsis[0].pk.name, "PK");
  assert_string_equal(d.lsis[0].sk.name, "createdAt");
  assert_int_equal(d.lsis[0].projection.type, DORM_PROJECT_KEYS_ONLY);

  /* The indexes work: an item is found through each. */
  dorm_av item = it_map();
  it_set_s(&a, &item, "PK", "p1");
  it_set_av(&a, &item, "SK", dorm_av_bytes("\x01\x02", 2));
  it_set_s(&a, &item, "GSI1PK", "STATUS#open");
  it_set_n(&a, &item, "amount", 42);
  it_set_s(&a, &item, "createdAt", "2024-01-01");
  it_set_n(&a, &item, "total", 9);
  dorm_put_input pi = {.table = name, .item = &item};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "GSI1PK", dorm_av_str("STATUS#open")),
                                            dorm_cond_cmp(&x, "amount", DORM_GT, dorm_av_num("40"))));
  dorm_query_input qi = {.table = name, .index = "gsi-status", .expr = &x};
  dorm_page p;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 1);
  assert_int_equal(it_get_n(&p.items[0], "total"), 9);
  assert_null(dorm_av_map_get(&p.items[0], "createdAt")); /* not projected */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_key_condition(&y, dorm_cond_and(&y, dorm_cond_eq(&y, "PK", dorm_av_str("p1")),
                                            dorm_cond_begins_with(&y, "createdAt", dorm_av_str("2024"))));
  qi.index = "lsi-created";
  qi.expr = &y;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 1);
  assert_int_equal(p.items[0].u.map.count, 3); /* KEYS_ONLY: PK, SK, createdAt */

  /* Billing: provisioned -> on-demand. */
  dorm_table_change ch = {.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_ON_DEMAND};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, &d), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.billing, DORM_BILLING_ON_DEMAND);
  assert_int_equal(d.throughput.read, 0);

  /* Stream off. */
  ch = (dorm_table_change){.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NONE};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.stream, DORM_STREAM_NONE);

  it_drop_table(C, name);
  dorm_arena_free(&a);
}

static void test_on_demand_gsi_lifecycle(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char name[64];
  it_name(name, sizeof name, "it_tables_od");
  dorm_table_def def = {.name = name, .pk = {"PK", DORM_KEY_S}};
  dorm_table_description d;
  assert_int_equal(dorm_create_table(C, &def, &a, &d), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.billing, DORM_BILLING_ON_DEMAND);
  assert_null(d.sk.name);
  assert_int_equal(d.gsi_count, 0);
  assert_int_equal(d.lsi_count, 0);
  assert_int_equal(d.stream, DORM_STREAM_NONE);

  for (int i = 0; i < 5; i++) {
    dorm_av item = it_map();
    char pk[16];
    snprintf(pk, sizeof pk, "u%d", i);
    it_set_s(&a, &item, "PK", pk);
    it_set_s(&a, &item, "email", i < 3 ? "shared@example.com" : "other@example.com");
    dorm_put_input pi = {.table = name, .item = &item};
    assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  }

  /* Add a GSI, wait until it is ACTIVE, query it. */
  dorm_gsi_def gsi = {.name = "gsi-email", .pk = {"email", DORM_KEY_S}, .sk = {"PK", DORM_KEY_S}};
  dorm_table_change ch = {.kind = DORM_CHANGE_CREATE_GSI, .gsi = &gsi};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, &d), DORM_OK);
  assert_non_null(find_index(d.gsis, d.gsi_count, "gsi-email"));
  assert_int_equal(dorm_wait_table_active(C, name, 60000, &a, &d), DORM_OK);
  const dorm_index_description *g = find_index(d.gsis, d.gsi_count, "gsi-email");
  assert_non_null(g);
  assert_int_equal(g->status, DORM_INDEX_ACTIVE);
  assert_int_equal(g->projection.type, DORM_PROJECT_ALL);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "email", dorm_av_str("shared@example.com")));
  dorm_query_input qi = {.table = name, .index = "gsi-email", .expr = &x};
  dorm_page p;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 3);
  assert_string_equal(it_get_s(&p.items[0], "PK"), "u0"); /* sorted by the index sort key */
  assert_string_equal(it_get_s(&p.items[2], "PK"), "u2");

  /* Adding it twice fails in DynamoDB (the index exists). */
  assert_int_not_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  it_assert_msg(C, "UpdateTable: ", NULL);

  /* Delete it. */
  ch = (dorm_table_change){.kind = DORM_CHANGE_DELETE_GSI, .index_name = "gsi-email"};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 60000, &a, &d), DORM_OK);
  assert_null(find_index(d.gsis, d.gsi_count, "gsi-email"));
  assert_int_not_equal(dorm_query(C, &qi, &a, &p), DORM_OK);

  /* Stream on, then the table goes away: delete + wait until gone. */
  ch = (dorm_table_change){.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_KEYS_ONLY};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.stream, DORM_STREAM_KEYS_ONLY);

  assert_int_equal(dorm_delete_table(C, name, &a, &d), DORM_OK);
  assert_string_equal(d.name, name);
  assert_int_equal(dorm_wait_table_deleted(C, name, 30000), DORM_OK);
  assert_string_equal(dorm_client_errmsg(C), "");
  assert_int_equal(dorm_describe_table(C, name, &a, &d), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "DescribeTable: ResourceNotFoundException", "request id", NULL);
  assert_int_equal(dorm_delete_table(C, name, &a, &d), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "DeleteTable: ResourceNotFoundException", NULL);
  /* Waiting for a table that is already gone returns at once. */
  assert_int_equal(dorm_wait_table_deleted(C, name, 1000), DORM_OK);
  dorm_arena_free(&a);
}

static void test_provisioned_gsi_throughput_and_billing_switch(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char name[64];
  it_name(name, sizeof name, "it_tables_switch");
  dorm_gsi_def gsi = {.name = "by-x", .pk = {"x", DORM_KEY_N}, .projection = {DORM_PROJECT_KEYS_ONLY, NULL, 0}};
  dorm_table_def def = {.name = name, .pk = {"PK", DORM_KEY_S}, .gsis = &gsi, .gsi_count = 1};
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_OK);
  dorm_table_description d;
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.gsis[0].throughput.read, 0);

  /* On-demand -> provisioned, with capacity for the GSI. */
  dorm_gsi_throughput gt = {"by-x", {4, 4}};
  dorm_table_change ch = {.kind = DORM_CHANGE_BILLING,
                          .billing = DORM_BILLING_PROVISIONED,
                          .throughput = {7, 8},
                          .index_throughputs = &gt,
                          .index_throughput_count = 1};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.billing, DORM_BILLING_PROVISIONED);
  assert_int_equal(d.throughput.read, 7);
  assert_int_equal(d.throughput.write, 8);
  assert_int_equal(d.gsis[0].throughput.read, 4);

  /* Then the GSI's capacity alone. */
  ch = (dorm_table_change){.kind = DORM_CHANGE_GSI_THROUGHPUT, .index_name = "by-x", .throughput = {6, 5}};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_int_equal(d.gsis[0].throughput.read, 6);
  assert_int_equal(d.gsis[0].throughput.write, 5);
  it_drop_table(C, name);
  dorm_arena_free(&a);
}

static void test_deletion_protection(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char name[64];
  it_name(name, sizeof name, "it_tables_protected");
  dorm_table_def def = {.name = name, .pk = {"PK", DORM_KEY_S}, .deletion_protection = true};
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_OK);
  dorm_table_description d;
  assert_int_equal(dorm_wait_table_active(C, name, 30000, &a, &d), DORM_OK);
  assert_true(d.deletion_protection);
  assert_int_equal(dorm_delete_table(C, name, NULL, NULL), DORM_ERR_VALIDATION);
  it_assert_msg(C, "DeleteTable: ", NULL);
  dorm_table_change ch = {.kind = DORM_CHANGE_DELETION_PROTECTION, .deletion_protection = false};
  assert_int_equal(dorm_update_table(C, name, &ch, &a, &d), DORM_OK);
  assert_false(d.deletion_protection);
  it_drop_table(C, name);
  dorm_arena_free(&a);
}

static void test_time_to_live(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char name[64];
  it_name(name, sizeof name, "it_tables_ttl");
  it_create_table(C, name, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  dorm_ttl_description t;
  assert_int_equal(dorm_describe_ttl(C, name, &a, &t), DORM_OK);
  assert_int_equal(t.status, DORM_TTL_DISABLED);
  assert_string_equal(t.status_text, "DISABLED");
  assert_int_equal(dorm_update_ttl(C, name, "expiresAt", true), DORM_OK);
  assert_int_equal(dorm_describe_ttl(C, name, &a, &t), DORM_OK);
  assert_true(t.status == DORM_TTL_ENABLED || t.status == DORM_TTL_ENABLING);
  assert_string_equal(t.attribute, "expiresAt");
  /* Enabling it again is DynamoDB's ValidationException. */
  assert_int_equal(dorm_update_ttl(C, name, "expiresAt", true), DORM_ERR_VALIDATION);
  it_assert_msg(C, "UpdateTimeToLive: ValidationException", NULL);
  assert_int_equal(dorm_update_ttl(C, name, "expiresAt", false), DORM_OK);
  assert_int_equal(dorm_describe_ttl(C, name, &a, &t), DORM_OK);
  assert_true(t.status == DORM_TTL_DISABLED || t.status == DORM_TTL_DISABLING);
  char missing[64];
  it_name(missing, sizeof missing, "it_tables_missing");
  assert_int_equal(dorm_describe_ttl(C, missing, &a, &t), DORM_ERR_TABLE_NOT_FOUND);
  assert_int_equal(dorm_update_ttl(C, missing, "x", true), DORM_ERR_TABLE_NOT_FOUND);
  it_drop_table(C, name);
  dorm_arena_free(&a);
}

static void test_list_tables(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  enum { MINE = 5 };
  char names[MINE][64];
  for (int i = 0; i < MINE; i++) {
    it_name(names[i], sizeof names[i], "it_tables_list");
    dorm_table_def def = {.name = names[i], .pk = {"PK", DORM_KEY_S}};
    assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_OK);
  }
  /* One page of 2: a continuation name. */
  const char **page;
  size_t n;
  const char *next;
  assert_int_equal(dorm_list_tables_page(C, NULL, 2, &a, &page, &n, &next), DORM_OK);
  assert_int_equal(n, 2);
  assert_non_null(next);
  assert_string_equal(next, page[1]);

  /* Every page, 2 names at a time: all of ours, each once, in order. */
  uint64_t ops = it_operations(C);
  const char **all;
  size_t count;
  assert_int_equal(dorm_list_tables(C, 2, &a, &all, &count), DORM_OK);
  assert_true(count >= MINE);
  assert_true(it_operations(C) - ops >= (count + 1) / 2);
  for (int i = 0; i < MINE; i++) {
    int hits = 0;
    for (size_t j = 0; j < count; j++) hits += strcmp(all[j], names[i]) == 0;
    assert_int_equal(hits, 1);
  }
  for (size_t j = 1; j < count; j++) assert_true(strcmp(all[j - 1], all[j]) < 0);
  /* The default page size gives the same list. */
  const char **again;
  size_t count2;
  assert_int_equal(dorm_list_tables(C, 0, &a, &again, &count2), DORM_OK);
  assert_true(count2 >= MINE);
  assert_int_equal(dorm_list_tables_page(C, NULL, 101, &a, &page, &n, &next), DORM_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < MINE; i++) it_drop_table(C, names[i]);
  dorm_arena_free(&a);
}

static void test_refused_and_timeouts(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  uint64_t before = it_attempts(C);
  /* One attribute with two types. */
  dorm_gsi_def gsi = {.name = "by-pk-number", .pk = {"PK", DORM_KEY_N}};
  dorm_table_def def = {.name = "it_tables_conflict", .pk = {"PK", DORM_KEY_S}, .gsis = &gsi, .gsi_count = 1};
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "CreateTable: attribute PK is S in the table's key but N in gsis[0] (by-pk-number)", NULL);
  /* Provisioned without capacity; a bad name; an LSI without a sort key. */
  def.gsi_count = 0;
  def.billing = DORM_BILLING_PROVISIONED;
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "CreateTable: throughput: a provisioned table needs read and write capacity", NULL);
  def.billing = DORM_BILLING_ON_DEMAND;
  def.name = "no spaces allowed";
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "CreateTable: name: name \"no spaces allowed\" may contain only", NULL);
  dorm_lsi_def lsi = {.name = "lsi1", .sk = {"x", DORM_KEY_S}};
  def.name = "it_tables_lsi";
  def.lsis = &lsi;
  def.lsi_count = 1;
  assert_int_equal(dorm_create_table(C, &def, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "lsis: local secondary indexes need a table with a sort key", NULL);
  dorm_table_change ch = {.kind = DORM_CHANGE_DELETE_GSI};
  assert_int_equal(dorm_update_table(C, "it_tables_x", &ch, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "UpdateTable: index_name: no name", NULL);
  assert_int_equal(dorm_describe_table(C, "x", &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(it_attempts(C), before);

  /* A table that never appears: the waiter times out and says why. */
  char missing[64];
  it_name(missing, sizeof missing, "it_tables_never");
  assert_int_equal(dorm_wait_table_active(C, missing, 300, NULL, NULL), DORM_ERR_TIMEOUT);
  char want[160];
  snprintf(want, sizeof want, "DescribeTable: table %s not ready after 300 ms: the table does not exist", missing);
  assert_string_equal(dorm_client_errmsg(C), want);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_provisioned_with_indexes),
      cmocka_unit_test(test_on_demand_gsi_lifecycle),
      cmocka_unit_test(test_provisioned_gsi_throughput_and_billing_switch),
      cmocka_unit_test(test_deletion_protection),
      cmocka_unit_test(test_time_to_live),
      cmocka_unit_test(test_list_tables),
      cmocka_unit_test(test_refused_and_timeouts),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
