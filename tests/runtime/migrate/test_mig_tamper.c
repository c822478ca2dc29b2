/* deploy refuses what does not match: a migration edited after it was
 * applied (even with dorm.sum rewritten), a migration edited without
 * rewriting dorm.sum, and a migration older than an applied one; a failed
 * migration is recovered with resolve --rolled-back and deploy, or marked
 * applied with resolve --applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mig_common.h"
#include "test_support.h"

static int deploy(const mt_env *e) {
  return mt_dorm("migrate", "deploy", "--dir", e->migrations, "--history-table", e->history, "--backfill-log", e->log,
                 NULL);
}

static void replace_in_file(const char *path, const char *from, const char *to) {
  char *text = ts_read_file(path, NULL);
  assert_non_null(text);
  char *p = strstr(text, from);
  if (!p) fail_msg("'%s' not in %s", from, path);
  size_t n = strlen(text) - strlen(from) + strlen(to);
  char *out = malloc(n + 1);
  memcpy(out, text, (size_t)(p - text));
  strcpy(out + (p - text), to);
  strcat(out, p + strlen(from));
  assert_int_equal(ts_write_file(path, out, n), 0);
  free(out);
  free(text);
}

static void test_tampered(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mtamper");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(deploy(&e), 0);
  char plan[600];
  snprintf(plan, sizeof plan, "%s/20260101000000_init/plan.json", e.migrations);

  /* Edited without rewriting dorm.sum: refused before anything is sent. */
  replace_in_file(plan, "create table", "make table");
  assert_int_equal(deploy(&e), 1);
  assert_true(mt_has(mt_err, "20260101000000_init/plan.json was changed after dorm.sum was written"));
  /* Edited and re-hashed: the recorded checksum still catches it, by name. */
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(deploy(&e), 1);
  assert_true(mt_has(mt_err, "20260101000000_init/plan.json no longer matches the checksum recorded"));
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "[files changed since it ran]"));
  replace_in_file(plan, "make table", "create table");
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(deploy(&e), 0);
  assert_true(mt_has(mt_out, "nothing to deploy"));

  /* A migration that fails halfway: recorded as failed at its step. */
  mt_diff(&e, 2, "add_status_index", false);
  char plan2[600];
  snprintf(plan2, sizeof plan2, "%s/20260102000000_add_status_index/plan.json", e.migrations);
  replace_in_file(plan2, "\"IndexName\": \"gsi-email\"", "\"IndexName\": \"x\"");
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(deploy(&e), 1);
  assert_true(mt_has(mt_err, "20260102000000_add_status_index: step 3 (update_table)"));
  assert_true(mt_has(mt_err, "it resumes at this step"));
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "failed   20260102000000_add_status_index  (2 of 3 steps applied)"));
  assert_true(mt_has(mt_out, "error: step 3 (update_table)"));
  /* The fix changes the file, so the recorded checksum no longer matches:
   * resolve --rolled-back, then deploy applies it again (steps already
   * done are found done). */
  replace_in_file(plan2, "\"IndexName\": \"x\"", "\"IndexName\": \"gsi-email\"");
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(deploy(&e), 1);
  assert_true(mt_has(mt_err, "no longer matches the checksum recorded when the migration was started"));
  /* An applied migration whose files are unchanged may be resolved as
   * applied again (re-stamped: see test_mig_drift's recreated table). */
  assert_int_equal(mt_dorm("migrate", "resolve", "--dir", e.migrations, "--history-table", e.history, "--applied",
                           "20260101000000_init", NULL),
                   0);
  assert_true(mt_has(mt_out, "20260101000000_init marked as applied"));
  assert_int_equal(mt_dorm("migrate", "resolve", "--dir", e.migrations, "--history-table", e.history, "--rolled-back",
                           "20260102000000_add_status_index", NULL),
                   0);
  assert_int_equal(deploy(&e), 0);
  assert_true(mt_has(mt_out, "already done (found in DynamoDB)"));
  assert_true(mt_has(mt_out, "20260102000000_add_status_index: applied"));
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);

  /* A migration older than an applied one (merged from another branch). */
  mt_diff(&e, 3, "ttl_stream_billing", false);
  char from[600], to[600];
  snprintf(from, sizeof from, "%s/20260103000000_ttl_stream_billing", e.migrations);
  snprintf(to, sizeof to, "%s/20251231000000_ttl_stream_billing", e.migrations);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(deploy(&e), 1);
  assert_true(mt_has(mt_err, "migration 20251231000000_ttl_stream_billing is older than 20260102000000_add_status_index"));
  /* Applied by hand: resolve --applied records it. */
  assert_int_equal(mt_dorm("migrate", "resolve", "--dir", e.migrations, "--history-table", e.history, "--applied",
                           "20251231000000_ttl_stream_billing", NULL),
                   0);
  assert_int_equal(deploy(&e), 0);
  assert_true(mt_has(mt_out, "nothing to deploy"));
  /* Drift is measured against the newest applied migration (by name). */
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  assert_true(mt_has(mt_out, "applied  20251231000000_ttl_stream_billing"));
  assert_true(mt_has(mt_out, "drift: none (DynamoDB matches 20260102000000_add_status_index)"));

  /* Another application's directory on the same history table: refused,
   * with the way to keep them apart. */
  char other[600];
  snprintf(other, sizeof other, "%s/other", e.dir);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", other, "--schema", mt_schema(&e, 1), "--name", "init", "--now",
                            "2026-02-01T00:00:00Z", NULL),
                   0);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", other, "--history-table", e.history, NULL), 1);
  assert_true(mt_has(mt_err, "but missing from"));
  assert_true(mt_has(mt_err, "needs a history table of its own: --history-table NAME"));
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_tampered)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
