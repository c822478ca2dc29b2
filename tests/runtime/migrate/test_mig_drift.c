/* status against DynamoDB Local: up to date after deploy, then drift found
 * after out-of-band changes (UpdateTable: a stream enabled, an index added
 * and one deleted; TTL enabled), and pending migrations reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/migrate.h"
#include "mig_common.h"
#include "test_support.h"

static void test_drift(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdrift");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  mt_diff(&e, 2, "add_status_index", false);
  /* Before any deploy: everything pending, no history table yet. */
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "pending  20260101000000_init"));
  assert_true(mt_has(mt_out, "not up to date"));
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);

  /* Out-of-band changes. */
  dorm_table_change ch = {.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NEW_IMAGE};
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  dorm_gsi_def extra = {.name = "gsi-extra", .pk = {"extraPK", DORM_KEY_S}};
  dorm_table_change add = {.kind = DORM_CHANGE_CREATE_GSI, .gsi = &extra};
  assert_int_equal(dorm_update_table(c, e.shop, &add, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  dorm_table_change del = {.kind = DORM_CHANGE_DELETE_GSI, .index_name = "gsi-email"};
  assert_int_equal(dorm_update_table(c, e.users, &del, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.users, 30000, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_update_ttl(c, e.users, "gone", true), DORM_OK);

  int rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL);
  assert_int_equal(rc, 3);
  char want[4][200];
  snprintf(want[0], sizeof want[0], "table %s: stream is NEW_IMAGE in DynamoDB, NONE in the snapshot", e.shop);
  snprintf(want[1], sizeof want[1], "table %s: GSI gsi-extra exists in DynamoDB but not in the snapshot", e.shop);
  snprintf(want[2], sizeof want[2], "table %s: GSI gsi-email is missing in DynamoDB", e.users);
  snprintf(want[3], sizeof want[3], "table %s: TTL is on 'gone' in DynamoDB, off in the snapshot", e.users);
  for (int i = 0; i < 4; i++)
    if (!mt_has(mt_out, want[i])) fail_msg("expected \"%s\" in:\n%s", want[i], mt_out);
  assert_true(mt_has(mt_out, "drift: DynamoDB differs from the snapshot of 20260102000000_add_status_index"));
  assert_true(mt_has(mt_out, "applied  20260102000000_add_status_index"));

  /* Undo the stream change: that line goes away, the others stay. */
  ch.stream = DORM_STREAM_NONE;
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_false(mt_has(mt_out, want[0]));
  assert_true(mt_has(mt_out, want[1]));

  /* A pending migration is reported too. */
  mt_diff(&e, 3, "ttl_stream_billing", false);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "pending  20260103000000_ttl_stream_billing"));
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

static const char *stream_arn(dorm_client *c, const char *table, dorm_arena *a) {
  dorm_table_description t;
  if (dorm_describe_table(c, table, a, &t) != DORM_OK) fail_msg("DescribeTable: %s", dorm_client_errmsg(c));
  return t.stream_arn;
}

/* Drift put right the documented way: the stream's view type was changed
 * by hand, the schema says the same and a migration records it. Its steps
 * (disable, enable: a view type cannot change in place) are found done;
 * deploy used to disable the live stream and enable a new one, so its
 * consumers missed every change in between and had to find the new ARN. */
static void test_stream_drift_recorded(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdrifts");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  dorm_arena a = DORM_ARENA_INIT;
  mt_diff(&e, 1, "init", false);
  mt_diff(&e, 2, "add_status_index", false);
  mt_diff(&e, 3, "ttl_stream_billing", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  /* By hand: NEW_AND_OLD_IMAGES -> NEW_IMAGE (off, then on). */
  dorm_table_change ch = {.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NONE};
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  ch.stream = DORM_STREAM_NEW_IMAGE;
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  const char *arn = stream_arn(c, e.shop, &a);
  assert_true(arn && *arn);
  /* The schema now says new_image too. */
  size_t len;
  char *v3 = ts_read_file(mt_schema(&e, 3), &len);
  assert_non_null(v3);
  char *at = strstr(v3, "stream new_and_old_images;");
  assert_non_null(at);
  char v5[8192];
  snprintf(v5, sizeof v5, "%.*sstream new_image;%s", (int)(at - v3), v3, at + strlen("stream new_and_old_images;"));
  free(v3);
  assert_int_equal(ts_write_file(mt_schema(&e, 5), v5, strlen(v5)), 0);
  mt_diff(&e, 5, "stream_new_image", false);
  assert_true(mt_has(mt_out, "disable the stream"));
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  if (!mt_has(mt_out, "already done (the stream has the view type of the next step: not turned off)"))
    fail_msg("unexpected:\n%s", mt_out);
  const char *after = stream_arn(c, e.shop, &a);
  if (strcmp(arn, after) != 0) fail_msg("the stream was replaced: %s -> %s", arn, after);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* An index made by hand under the name a migration then creates, with
 * other keys: deploy fails at that step and says why (it took the index
 * as created, reported the migration applied, and backfilled keys no
 * index reads). */
static void test_gsi_name_taken(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdriftg");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  dorm_gsi_def other = {.name = "gsi-status", .pk = {"otherPK", DORM_KEY_N}};
  dorm_table_change add = {.kind = DORM_CHANGE_CREATE_GSI, .gsi = &other};
  assert_int_equal(dorm_update_table(c, e.shop, &add, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  mt_diff(&e, 2, "add_status_index", false);
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
  assert_int_equal(rc, 1);
  char want[300];
  snprintf(want, sizeof want, "GSI gsi-status exists on %s with keys (otherPK N) and projection ALL, not the "
           "(GSI1PK S, GSI1SK S), ALL this migration creates", e.shop);
  if (!mt_has(mt_err, want)) fail_msg("expected \"%s\" in:\n%s%s", want, mt_out, mt_err);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "failed   20260102000000_add_status_index"));
  /* It applied no step: the hand-made index is drift of its own. */
  assert_true(mt_has(mt_out, "GSI gsi-status exists in DynamoDB but not in the snapshot"));
  assert_false(mt_has(mt_out, "20260102000000_add_status_index is failed with"));
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* The same for an index made by hand with the migration's keys and an
 * INCLUDE projection missing one of its attributes (it was taken as done:
 * queries on it quietly returned items without the attribute), and a GSI
 * to create on a table whose billing was switched by hand (the request was
 * sent and failed with an error that did not say why). */
static const char inc_v1[] = "namespace dinc;\n"
                             "table T \"@TABLE@\" {\n"
                             "  key (PK: S, SK: S);\n"
                             "  billing on_demand;\n"
                             "}\n"
                             "model Thing in T {\n"
                             "  type \"Thing\";\n"
                             "  key PK = \"T#{id}\";\n"
                             "  key SK = \"T\";\n"
                             "  id: string;\n"
                             "  a: string;\n"
                             "  b: string;\n"
                             "}\n";

static const char inc_v2[] = "namespace dinc;\n"
                             "table T \"@TABLE@\" {\n"
                             "  key (PK: S, SK: S);\n"
                             "  billing on_demand;\n"
                             "  gsi \"gsi-a\" (GI: S) project include(a, b);\n"
                             "}\n"
                             "model Thing in T {\n"
                             "  type \"Thing\";\n"
                             "  key PK = \"T#{id}\";\n"
                             "  key SK = \"T\";\n"
                             "  key GI = \"A#{a}\";\n"
                             "  id: string;\n"
                             "  a: string;\n"
                             "  b: string;\n"
                             "}\n";

static void test_hand_made_include_and_billing(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdrifti");
  mt_env e;
  mt_setup(&e, prefix);
  mt_write_schema_text(&e, 1, inc_v1);
  mt_write_schema_text(&e, 2, inc_v2);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  mt_diff(&e, 2, "add_a_index", false);

  /* The billing switched by hand: refused before the request, saying why. */
  dorm_table_change prov = {.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_PROVISIONED,
                            .throughput = {5, 5}};
  assert_int_equal(dorm_update_table(c, e.shop, &prov, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 1);
  char want[400];
  snprintf(want, sizeof want, "%s is PROVISIONED in DynamoDB, PAY_PER_REQUEST in this migration's snapshot (changed "
           "outside migrations?): the request that creates GSI gsi-a is written for PAY_PER_REQUEST", e.shop);
  if (!mt_has(mt_err, want)) fail_msg("expected \"%s\" in:\n%s%s", want, mt_out, mt_err);
  dorm_table_change od = {.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_ON_DEMAND};
  assert_int_equal(dorm_update_table(c, e.shop, &od, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);

  /* The index made by hand with the keys and INCLUDE(a) only. */
  const char *only_a[] = {"a"};
  dorm_gsi_def hand = {.name = "gsi-a", .pk = {"GI", DORM_KEY_S},
                       .projection = {.type = DORM_PROJECT_INCLUDE, .attributes = only_a, .attribute_count = 1}};
  dorm_table_change add = {.kind = DORM_CHANGE_CREATE_GSI, .gsi = &hand};
  assert_int_equal(dorm_update_table(c, e.shop, &add, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 1);
  snprintf(want, sizeof want, "GSI gsi-a exists on %s with keys (GI S) and projection INCLUDE(a), not the (GI S), "
           "INCLUDE(a, b) this migration creates", e.shop);
  if (!mt_has(mt_err, want)) fail_msg("expected \"%s\" in:\n%s%s", want, mt_out, mt_err);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* A table deleted and created again by hand, as the schema says: no key,
 * index or TTL differs, but its items are gone. status says so (it said
 * "up to date"), until the migration that creates it is resolved as
 * applied again. */
static void test_table_recreated(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdriftr");
  mt_env e;
  mt_setup(&e, prefix);
  mt_write_schema_text(&e, 1, inc_v1);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);

  /* Deleted, then created again with init's own request. */
  assert_int_equal(dorm_delete_table(c, e.shop, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_deleted(c, e.shop, 30000), DORM_OK);
  dorm_arena a = DORM_ARENA_INIT;
  char path[512];
  snprintf(path, sizeof path, "%s/20260101000000_init/plan.json", e.migrations);
  size_t len;
  char *text = ts_read_file(path, &len);
  assert_non_null(text);
  dorm_mig_plan p;
  char err[256];
  assert_int_equal(dorm_mig_plan_parse(text, len, &a, &p, err, sizeof err), DORM_OK);
  const char *resp;
  size_t rlen;
  assert_int_equal(dorm_client_call(c, "CreateTable", p.steps[0].request, strlen(p.steps[0].request), &resp, &rlen),
                   DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  free(text);
  /* The migration finished two hours before (DynamoDB's clock and ours
   * may differ by up to a minute, which status allows for). */
  dorm_av key = dorm_av_empty(DORM_AV_M);
  dorm_av_map_set(&a, &key, "id", dorm_av_str("20260101000000_init"));
  dorm_expr x;
  dorm_expr_init(&x, &a);
  char when[32];
  dorm_time_format(dorm_time_now() - (int64_t)7200 * 1000000000, when);
  dorm_update_set(&x, "finished", dorm_av_str(when));
  dorm_update_input in = {.table = e.history, .key = &key, .expr = &x};
  assert_int_equal(dorm_update_item(c, &in, &a, NULL), DORM_OK);

  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  char want[300];
  snprintf(want, sizeof want, "table %s was created at ", e.shop);
  mt_expect(mt_out, want);
  mt_expect(mt_out, ", after 20260101000000_init that creates it was applied (");
  mt_expect(mt_out, "deleted and created again outside migrations? The items from before are gone");
  /* Resolved as applied again: status is clean. */
  assert_int_equal(mt_dorm("migrate", "resolve", "--dir", e.migrations, "--history-table", e.history, "--applied",
                           "20260101000000_init", NULL),
                   0);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_drift), cmocka_unit_test(test_stream_drift_recorded),
                                     cmocka_unit_test(test_gsi_name_taken),
                                     cmocka_unit_test(test_hand_made_include_and_billing),
                                     cmocka_unit_test(test_table_recreated)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
