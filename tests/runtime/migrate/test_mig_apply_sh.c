/* apply.sh, the AWS CLI form of each migration, run against DynamoDB Local
 * in order (v1..v4, the backfill through `dorm migrate backfill`): it
 * leaves the tables as deploy would. Skipped (77) without the aws CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mig_common.h"
#include "test_support.h"

#define ITEMS 150

static const char *const names[] = {NULL, "init", "add_status_index", "ttl_stream_billing", "drop_email_index",
                                    "stream_new_image"};

static void run_script(const mt_env *e, int v) {
  char cmd[1500];
  const char *bin = getenv("DORM_BINARY_DIR");
  snprintf(cmd, sizeof cmd,
           "cd '%s' && DORM_ENDPOINT_URL='%s' DORM='%s/runtime/tools/dorm' DORM_POLL_SECONDS=0.2 "
           "bash '%s/2026010%d000000_%s/apply.sh' >'%s/apply%d.out' 2>&1",
           e->dir, ts_ddb_endpoint(), bin ? bin : ".", e->migrations, v, names[v], e->dir, v);
  if (system(cmd) != 0) {
    char out[400];
    snprintf(out, sizeof out, "%s/apply%d.out", e->dir, v);
    char *text = ts_read_file(out, NULL);
    fail_msg("apply.sh v%d failed:\n%s", v, text ? text : "");
  }
}

static void test_apply_sh(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mapply");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  for (int v = 1; v <= 4; v++) mt_diff(&e, v, names[v], v == 4);
  run_script(&e, 1);
  mt_write_orders(c, e.shop, ITEMS);
  run_script(&e, 2);
  run_script(&e, 3);
  run_script(&e, 4);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description d;
  assert_int_equal(dorm_describe_table(c, e.shop, &a, &d), DORM_OK);
  assert_int_equal(d.gsi_count, 1);
  assert_string_equal(d.gsis[0].name, "gsi-status");
  assert_int_equal(d.billing, DORM_BILLING_PROVISIONED);
  assert_int_equal(d.stream, DORM_STREAM_NEW_AND_OLD_IMAGES);
  dorm_ttl_description ttl;
  assert_int_equal(dorm_describe_ttl(c, e.shop, &a, &ttl), DORM_OK);
  assert_string_equal(ttl.attribute, "expiresAt");
  assert_int_equal(dorm_describe_table(c, e.users, &a, &d), DORM_OK);
  assert_int_equal(d.gsi_count, 0);
  /* The backfill step ran: every order is in the index. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "GSI1PK", dorm_av_str("STATUS#paid")));
  dorm_query_input in = {.table = e.shop, .index = "gsi-status", .expr = &x, .select = DORM_SELECT_COUNT};
  dorm_page page;
  assert_int_equal(dorm_query(c, &in, &a, &page), DORM_OK);
  assert_int_equal(page.count, ITEMS / 3);
  /* And deploy's view agrees: the live tables match the last snapshot, so a
   * history written by `resolve --applied` for each is all status needs. */
  static const char *const all[] = {"20260101000000_init", "20260102000000_add_status_index",
                                    "20260103000000_ttl_stream_billing", "20260104000000_drop_email_index"};
  for (int i = 0; i < 4; i++)
    assert_int_equal(mt_dorm("migrate", "resolve", "--dir", e.migrations, "--history-table", e.history, "--applied",
                             all[i], NULL),
                     0);
  int rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL);
  if (rc != 0) fail_msg("status: %d\n%s%s", rc, mt_out, mt_err);

  /* The stream's view type changed by hand (NEW_IMAGE) and recorded by a
   * migration (disable, enable): the script leaves the live stream alone. */
  dorm_table_change ch = {.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NONE};
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  ch.stream = DORM_STREAM_NEW_IMAGE;
  assert_int_equal(dorm_update_table(c, e.shop, &ch, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_wait_table_active(c, e.shop, 30000, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_describe_table(c, e.shop, &a, &d), DORM_OK);
  char *arn = strdup(d.stream_arn);
  char *v4 = ts_read_file(mt_schema(&e, 4), NULL);
  assert_non_null(v4);
  char *at = strstr(v4, "stream new_and_old_images;");
  assert_non_null(at);
  char v5[8192];
  snprintf(v5, sizeof v5, "%.*sstream new_image;%s", (int)(at - v4), v4, at + strlen("stream new_and_old_images;"));
  free(v4);
  assert_int_equal(ts_write_file(mt_schema(&e, 5), v5, strlen(v5)), 0);
  mt_diff(&e, 5, names[5], false);
  assert_true(mt_has(mt_out, "disable the stream"));
  run_script(&e, 5);
  assert_int_equal(dorm_describe_table(c, e.shop, &a, &d), DORM_OK);
  assert_int_equal(d.stream, DORM_STREAM_NEW_IMAGE);
  if (strcmp(arn, d.stream_arn) != 0) fail_msg("apply.sh replaced the stream: %s -> %s", arn, d.stream_arn);
  free(arn);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  if (system("command -v aws >/dev/null 2>&1") != 0) {
    printf("aws CLI not installed: skipped\n");
    return 77;
  }
  mt_dorm_env();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_apply_sh)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
