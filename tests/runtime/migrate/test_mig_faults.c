/* A backfill through dorm-faultproxy: a Scan page or a write that still
 * fails after the client's own retries (throttling, a 500) is sent again
 * after a pause instead of stopping the backfill, and a write applied but
 * never acknowledged is not applied twice (every item's version goes up by
 * exactly one). Against DynamoDB Local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fp_harness.h"
#include "mig_common.h"
#include "test_support.h"

#define ITEMS 150

static const char v1[] = "namespace fshop;\n"
                         "table Shop \"@TABLE@\" {\n"
                         "  key (PK: S, SK: S);\n"
                         "}\n"
                         "model Order in Shop {\n"
                         "  type \"Order\";\n"
                         "  key PK = \"ORDER#{orderId}\";\n"
                         "  key SK = \"V\";\n"
                         "  orderId: string;\n"
                         "  owner:   string;\n"
                         "  version: int @version;\n"
                         "}\n";

static const char v2[] = "namespace fshop;\n"
                         "table Shop \"@TABLE@\" {\n"
                         "  key (PK: S, SK: S);\n"
                         "  gsi \"gsi-owner\" (GSI1PK: S) project keys_only;\n"
                         "}\n"
                         "model Order in Shop {\n"
                         "  type \"Order\";\n"
                         "  key PK = \"ORDER#{orderId}\";\n"
                         "  key SK = \"V\";\n"
                         "  key GSI1PK = \"OWNER#{owner}\";\n"
                         "  orderId: string;\n"
                         "  owner:   string;\n"
                         "  channel: string = \"web\";\n"
                         "  version: int @version;\n"
                         "}\n";

static void write_items(dorm_client *c, const char *table) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[ITEMS];
  dorm_batch_write_entry w[ITEMS];
  for (size_t i = 0; i < ITEMS; i++) {
    dorm_av *it = &items[i];
    *it = dorm_av_empty(DORM_AV_M);
    char *id = dorm_arena_printf(&a, "o%03zu", i);
    dorm_av_map_set(&a, it, "PK", dorm_av_str(dorm_arena_printf(&a, "ORDER#%s", id)));
    dorm_av_map_set(&a, it, "SK", dorm_av_str("V"));
    dorm_av_map_set(&a, it, "_type", dorm_av_str("Order"));
    dorm_av_map_set(&a, it, "orderId", dorm_av_str(id));
    dorm_av_map_set(&a, it, "owner", dorm_av_str(dorm_arena_printf(&a, "u%zu", i % 9)));
    dorm_av_map_set(&a, it, "version", dorm_av_num("1"));
    w[i] = (dorm_batch_write_entry){.table = table, .put_item = it};
  }
  size_t written = 0;
  if (dorm_batch_write(c, w, ITEMS, NULL, &written) != DORM_OK) fail_msg("dorm_batch_write: %s", dorm_client_errmsg(c));
  assert_int_equal(written, ITEMS);
  dorm_arena_free(&a);
}

/* Every item as the backfill leaves it, once: version 2, its GSI key and
 * the default. */
static void check_items(dorm_client *c, const char *table) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input in = {.table = table, .consistent_read = true};
  size_t n = 0;
  dorm_page page = {0};
  do {
    in.start_key = page.has_more ? &page.last_key : NULL;
    dorm_page next;
    if (dorm_scan(c, &in, &a, &next) != DORM_OK) fail_msg("Scan: %s", dorm_client_errmsg(c));
    page = next;
    for (size_t i = 0; i < page.count; i++, n++) {
      const dorm_av *it = &page.items[i];
      const dorm_av *v = dorm_av_map_get(it, "version"), *o = dorm_av_map_get(it, "owner"),
                    *g = dorm_av_map_get(it, "GSI1PK"), *ch = dorm_av_map_get(it, "channel");
      assert_non_null(v);
      if (v->u.s.len != 1 || v->u.s.ptr[0] != '2')
        fail_msg("%.*s: version %.*s, not 2 (written once by the backfill)", (int)dorm_av_map_get(it, "PK")->u.s.len,
                 dorm_av_map_get(it, "PK")->u.s.ptr, (int)v->u.s.len, v->u.s.ptr);
      assert_non_null(g);
      assert_int_equal(g->u.s.len, strlen("OWNER#") + o->u.s.len);
      assert_memory_equal(g->u.s.ptr + 6, o->u.s.ptr, o->u.s.len);
      assert_non_null(ch);
      assert_int_equal(ch->u.s.len, 3);
    }
  } while (page.has_more);
  assert_int_equal(n, ITEMS);
  dorm_arena_free(&a);
}

static void test_backfill_outlasts_faults(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mfl");
  mt_env e;
  mt_setup(&e, prefix);
  mt_write_schema_text(&e, 1, v1);
  mt_write_schema_text(&e, 2, v2);
  dorm_client *c = mt_client();
  /* The SDKs' standard mode: 3 attempts per request. */
  setenv("AWS_RETRY_MODE", "standard", 1);
  setenv("AWS_MAX_ATTEMPTS", "3", 1);

  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  write_items(c, e.shop);
  mt_diff(&e, 2, "owner_index", false);
  mt_expect(mt_out, "backfill Order items");

  /* Scans and writes only (DescribeTable passes): the first Scan is
   * throttled 3 times (all its client's attempts), the first write answered
   * 500 three times, the second applied and its answer lost (the client
   * sends it again: its condition fails, the item is read again and found
   * right). One segment, one write in flight: the order is fixed. */
  char err[256];
  fp_harness *fp = fp_harness_start(ts_ddb_endpoint(),
                                    "--only Scan,UpdateItem,GetItem --script-mode once "
                                    "--script throttle,throttle,throttle,pass,500,500,500,pass,reset_after",
                                    NULL, err, sizeof err);
  if (!fp) fail_msg("faultproxy: %s", err);
  char plan[512];
  snprintf(plan, sizeof plan, "%s/20260102000000_owner_index/plan.json", e.migrations);
  int rc = mt_dorm("migrate", "backfill", "--plan", plan, "--step", "2", "--page-size", "50", "--in-flight", "1",
                   "--backfill-log", e.log, "--endpoint-url", fp_harness_endpoint(fp), NULL);
  if (rc != 0) fail_msg("backfill: exit %d\n%s%s", rc, mt_out, mt_err);
  assert_int_equal(fp_harness_stat(fp, "injected.throttle"), 3);
  assert_int_equal(fp_harness_stat(fp, "injected.500"), 3);
  assert_int_equal(fp_harness_stat(fp, "injected.reset_after"), 1);
  mt_expect(mt_out, "150 items, 149 updated, 1 already right, 0 skipped, 0 failed");
  mt_expect(mt_out, "2 requests sent again after a pause");
  assert_int_equal(fp_harness_stop(fp), 0);
  check_items(c, e.shop);

  /* deploy's own backfill of the step finds everything right. */
  rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "150 items: 0 updated, 150 already right");
  check_items(c, e.shop);

  unsetenv("AWS_RETRY_MODE");
  unsetenv("AWS_MAX_ATTEMPTS");
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_backfill_outlasts_faults)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
