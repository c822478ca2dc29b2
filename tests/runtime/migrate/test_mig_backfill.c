/* A backfill computes each attribute on its own: one migration adds two
 * indexes (one backfill step for the four key attributes), and items that
 * lack the field of one index's template still reach the other index.
 * deploy and `dorm migrate backfill` count per attribute, status says
 * which attributes were not computed for how many items, and
 * `status --strict` fails on it. Against DynamoDB Local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mig_common.h"
#include "test_support.h"

/* Items: FULL with status and region, NO_REGION without region, NO_STATUS
 * without status, NEITHER without both. The model has no @version, so
 * the backfill's condition is on the fields it read. */
#define FULL 30
#define NO_REGION 10
#define NO_STATUS 10
#define NEITHER 5
#define TOTAL (FULL + NO_REGION + NO_STATUS + NEITHER)

static const char v1[] = "namespace bfshop;\n"
                         "enum Status { open; closed; }\n"
                         "table Shop \"@TABLE@\" {\n"
                         "  key (PK: S, SK: S);\n"
                         "}\n"
                         "model Order in Shop {\n"
                         "  type \"Order\";\n"
                         "  key PK = \"CUSTOMER#{customerId}\";\n"
                         "  key SK = \"ORDER#{orderId}\";\n"
                         "  customerId: string;\n"
                         "  orderId:    string;\n"
                         "  status:     Status;\n"
                         "  region:     string;\n"
                         "}\n";

static const char v2[] = "namespace bfshop;\n"
                         "enum Status { open; closed; }\n"
                         "table Shop \"@TABLE@\" {\n"
                         "  key (PK: S, SK: S);\n"
                         "  gsi \"gsi-status\" (GSI1PK: S, GSI1SK: S) project all;\n"
                         "  gsi \"gsi-region\" (GSI2PK: S, GSI2SK: S) project keys_only;\n"
                         "}\n"
                         "model Order in Shop {\n"
                         "  type \"Order\";\n"
                         "  key PK = \"CUSTOMER#{customerId}\";\n"
                         "  key SK = \"ORDER#{orderId}\";\n"
                         "  key GSI1PK = \"STATUS#{status}\";\n"
                         "  key GSI1SK = \"ORDER#{orderId}\";\n"
                         "  key GSI2PK = \"REGION#{region}\";\n"
                         "  key GSI2SK = \"{customerId}#{orderId}\";\n"
                         "  customerId: string;\n"
                         "  orderId:    string;\n"
                         "  status:     Status;\n"
                         "  region:     string;\n"
                         "}\n";

static void write_items(dorm_client *c, const char *table) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[TOTAL];
  dorm_batch_write_entry w[TOTAL];
  for (size_t i = 0; i < TOTAL; i++) {
    bool status = i < FULL + NO_REGION, region = i < FULL || (i >= FULL + NO_REGION && i < FULL + NO_REGION + NO_STATUS);
    dorm_av *it = &items[i];
    *it = dorm_av_empty(DORM_AV_M);
    char *cust = dorm_arena_printf(&a, "c%zu", i % 7), *ord = dorm_arena_printf(&a, "o%03zu", i);
    dorm_av_map_set(&a, it, "PK", dorm_av_str(dorm_arena_printf(&a, "CUSTOMER#%s", cust)));
    dorm_av_map_set(&a, it, "SK", dorm_av_str(dorm_arena_printf(&a, "ORDER#%s", ord)));
    dorm_av_map_set(&a, it, "_type", dorm_av_str("Order"));
    dorm_av_map_set(&a, it, "customerId", dorm_av_str(cust));
    dorm_av_map_set(&a, it, "orderId", dorm_av_str(ord));
    if (status) dorm_av_map_set(&a, it, "status", dorm_av_str(i % 2 ? "open" : "closed"));
    if (region) dorm_av_map_set(&a, it, "region", dorm_av_str(i % 3 ? "eu" : "us"));
    w[i] = (dorm_batch_write_entry){.table = table, .put_item = it};
  }
  size_t written = 0;
  if (dorm_batch_write(c, w, TOTAL, NULL, &written) != DORM_OK) fail_msg("dorm_batch_write: %s", dorm_client_errmsg(c));
  assert_int_equal(written, TOTAL);
  dorm_arena_free(&a);
}

/* Items from..to-1 as write_items keyed them: SET attr = value, or REMOVE
 * attr (and remove2, when given) when value is NULL. */
static void update_items(dorm_client *c, const char *table, int from, int to, const char *attr, const char *value,
                         const char *remove2) {
  dorm_arena a = DORM_ARENA_INIT;
  for (int i = from; i < to; i++) {
    dorm_av key = dorm_av_empty(DORM_AV_M);
    dorm_av_map_set(&a, &key, "PK", dorm_av_str(dorm_arena_printf(&a, "CUSTOMER#c%d", i % 7)));
    dorm_av_map_set(&a, &key, "SK", dorm_av_str(dorm_arena_printf(&a, "ORDER#o%03d", i)));
    dorm_expr x;
    dorm_expr_init(&x, &a);
    if (value) dorm_update_set(&x, attr, dorm_av_str(value));
    else dorm_update_remove(&x, attr);
    if (remove2) dorm_update_remove(&x, remove2);
    dorm_update_input in = {.table = table, .key = &key, .expr = &x};
    if (dorm_update_item(c, &in, &a, NULL) != DORM_OK) fail_msg("UpdateItem: %s", dorm_client_errmsg(c));
  }
  dorm_arena_free(&a);
}

/* Items in an index under one partition key value. */
static size_t count(dorm_client *c, const char *table, const char *index, const char *attr, const char *value) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, attr, dorm_av_str(value)));
  dorm_query_input in = {.table = table, .index = index, .expr = &x, .select = DORM_SELECT_COUNT};
  dorm_page page;
  if (dorm_query(c, &in, &a, &page) != DORM_OK) fail_msg("Query %s: %s", index, dorm_client_errmsg(c));
  assert_false(page.has_more);
  size_t n = page.count;
  dorm_arena_free(&a);
  return n;
}

static void test_two_indexes_one_backfill(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbf");
  mt_env e;
  mt_setup(&e, prefix);
  mt_write_schema_text(&e, 1, v1);
  mt_write_schema_text(&e, 2, v2);
  dorm_client *c = mt_client();

  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  write_items(c, e.shop);
  mt_diff(&e, 2, "two_indexes", false);
  mt_expect(mt_out, "backfill Order items");

  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--backfill-log", e.log,
                   NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  /* Items without a region are in the status index, items without a
   * status in the region index. */
  size_t by_status = count(c, e.shop, "gsi-status", "GSI1PK", "STATUS#open") +
                     count(c, e.shop, "gsi-status", "GSI1PK", "STATUS#closed");
  size_t by_region = count(c, e.shop, "gsi-region", "GSI2PK", "REGION#eu") +
                     count(c, e.shop, "gsi-region", "GSI2PK", "REGION#us");
  assert_int_equal(by_status, FULL + NO_REGION);
  assert_int_equal(by_region, FULL + NO_STATUS);

  /* Every item got what could be computed: no item was skipped whole. */
  mt_expect(mt_out, "55 items: 55 updated, 0 already right, 0 skipped, 0 failed");
  /* The writes of the page went through the segment's pool: all 55 need a
   * write, so the first 8 are submitted before any completes. */
  mt_expect(mt_out, "up to 8 writes in flight at once per segment");
  mt_expect(mt_out, "GSI1PK: 40 written, 0 already right, 15 skipped (e.g. no status (field status): not in the index)");
  mt_expect(mt_out, "GSI1SK: 55 written, 0 already right, 0 skipped");
  mt_expect(mt_out, "GSI2PK: 40 written, 0 already right, 15 skipped (e.g. no region (field region): not in the index)");
  mt_expect(mt_out, "GSI2SK: 55 written, 0 already right, 0 skipped");
  mt_expect(mt_out, "`dorm migrate status --strict` fails on it");

  /* The log names the attribute of each skip. */
  char *log = ts_read_file(e.log, NULL);
  assert_non_null(log);
  size_t pk1 = 0, pk2 = 0;
  for (const char *p = strstr(log, "\"attribute\":\"GSI1PK\",\"outcome\":\"skipped\""); p;
       p = strstr(p + 1, "\"attribute\":\"GSI1PK\",\"outcome\":\"skipped\""))
    pk1++;
  for (const char *p = strstr(log, "\"attribute\":\"GSI2PK\",\"outcome\":\"skipped\""); p;
       p = strstr(p + 1, "\"attribute\":\"GSI2PK\",\"outcome\":\"skipped\""))
    pk2++;
  assert_int_equal(pk1, NO_STATUS + NEITHER);
  assert_int_equal(pk2, NO_REGION + NEITHER);
  assert_false(mt_has(log, "GSI1SK"));
  free(log);

  /* status says so; exit 0 unless --strict. */
  rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL);
  if (rc != 0) fail_msg("status: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "backfill step 3 (Order): GSI1PK not computed for 15 of 55 items (e.g. no status (field status): "
                 "not in the index)");
  mt_expect(mt_out, "backfill step 3 (Order): GSI2PK not computed for 15 of 55 items");
  assert_false(mt_has(mt_out, "GSI1SK not computed"));
  mt_expect(mt_out, "backfill: some items did not get every attribute (the backfill log lists them); --strict fails on "
                 "this");
  mt_expect(mt_out, "\nup to date\n");
  rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, "--strict", NULL);
  assert_int_equal(rc, 3);
  mt_expect(mt_out, "GSI2PK not computed for 15 of 55 items");
  mt_expect(mt_out, "not up to date");
  /* --strict belongs to status. */
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--strict", NULL), 2);
  mt_expect(mt_err, "--strict is an option of status");

  /* Run again by hand (apply.sh's way): every computable attribute is right
   * already, nothing is written. */
  char plan[512];
  snprintf(plan, sizeof plan, "%s/20260102000000_two_indexes/plan.json", e.migrations);
  rc = mt_dorm("migrate", "backfill", "--plan", plan, "--step", "3", "--backfill-log", e.log, NULL);
  if (rc != 0) fail_msg("backfill: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "55 items, 0 updated, 55 already right, 0 skipped, 0 failed");
  mt_expect(mt_out, "GSI1PK: 0 written, 40 already right, 15 skipped");
  mt_expect(mt_out, "GSI2SK: 0 written, 55 already right, 0 skipped");

  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* An item none of whose attributes can be computed is skipped whole and
 * counted as skipped. */
static void test_nothing_computable(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbfnone");
  mt_env e;
  mt_setup(&e, prefix);
  /* Only the indexes whose templates read status and region. */
  static const char only[] = "namespace bfshop;\n"
                             "enum Status { open; closed; }\n"
                             "table Shop \"@TABLE@\" {\n"
                             "  key (PK: S, SK: S);\n"
                             "  gsi \"gsi-status\" (GSI1PK: S) project keys_only;\n"
                             "  gsi \"gsi-region\" (GSI2PK: S) project keys_only;\n"
                             "}\n"
                             "model Order in Shop {\n"
                             "  type \"Order\";\n"
                             "  key PK = \"CUSTOMER#{customerId}\";\n"
                             "  key SK = \"ORDER#{orderId}\";\n"
                             "  key GSI1PK = \"STATUS#{status}\";\n"
                             "  key GSI2PK = \"REGION#{region}\";\n"
                             "  customerId: string;\n"
                             "  orderId:    string;\n"
                             "  status:     Status;\n"
                             "  region:     string;\n"
                             "}\n";
  mt_write_schema_text(&e, 1, v1);
  mt_write_schema_text(&e, 2, only);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  write_items(c, e.shop);
  mt_diff(&e, 2, "two_indexes", false);
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--backfill-log", e.log,
                   NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "55 items: 50 updated, 0 already right, 5 skipped, 0 failed");
  mt_expect(mt_out, "GSI1PK: 40 written, 0 already right, 15 skipped");
  mt_expect(mt_out, "GSI2PK: 40 written, 0 already right, 15 skipped");
  assert_int_equal(count(c, e.shop, "gsi-status", "GSI1PK", "STATUS#open") +
                       count(c, e.shop, "gsi-status", "GSI1PK", "STATUS#closed"),
                   FULL + NO_REGION);
  assert_int_equal(count(c, e.shop, "gsi-region", "GSI2PK", "REGION#eu") +
                       count(c, e.shop, "gsi-region", "GSI2PK", "REGION#us"),
                   FULL + NO_STATUS);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, "--strict", NULL),
                   3);
  mt_expect(mt_out, "GSI1PK not computed for 15 of 55 items");
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* A migration that adds fields with defaults backfills them where items
 * lack them (and leaves the items that have a value alone); a new required
 * field without a default is refused, with a hint, before anything is
 * written. */
static void test_new_fields_with_defaults(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbfdef");
  mt_env e;
  mt_setup(&e, prefix);
  /* v1: status and region optional; v2 adds fields with defaults; v3 also a
   * required field without one (refused). */
#define DEF_HEAD                                                                                             \
  "namespace bfshop;\n"                                                                                      \
  "enum Status { open; closed; }\n"                                                                          \
  "table Shop \"@TABLE@\" {\n"                                                                              \
  "  key (PK: S, SK: S);\n"                                                                                   \
  "}\n"                                                                                                      \
  "model Order in Shop {\n"                                                                                  \
  "  type \"Order\";\n"                                                                                      \
  "  key PK = \"CUSTOMER#{customerId}\";\n"                                                                   \
  "  key SK = \"ORDER#{orderId}\";\n"                                                                         \
  "  customerId: string;\n"                                                                                  \
  "  orderId:    string;\n"                                                                                  \
  "  status:     Status?;\n"                                                                                 \
  "  region:     string?;\n"
#define DEF_DEFAULTS                                                                                         \
  "  channel:    string = \"web\";\n"                                                                        \
  "  priority:   int = 2;\n"                                                                                 \
  "  gift:       bool = false;\n"
  static const char v1_optional[] = DEF_HEAD "}\n";
  static const char with_defaults[] = DEF_HEAD DEF_DEFAULTS "}\n";
  static const char required_new[] = DEF_HEAD DEF_DEFAULTS "  rating:     int;\n  region2:    string?;\n}\n";
#undef DEF_HEAD
#undef DEF_DEFAULTS
  mt_write_schema_text(&e, 1, v1_optional);
  mt_write_schema_text(&e, 2, with_defaults);
  mt_write_schema_text(&e, 3, required_new);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  write_items(c, e.shop);
  /* Five items were written by newer code already: their channel stays. */
  update_items(c, e.shop, 0, 5, "channel", "app", NULL);
  dorm_arena a = DORM_ARENA_INIT;

  mt_diff(&e, 2, "defaults", false);
  mt_expect(mt_out, "backfill Order items");
  mt_expect(mt_out, "channel = \"web\" where absent, priority = 2 where absent, gift = false where absent");
  char path[512];
  snprintf(path, sizeof path, "%s/20260102000000_defaults/plan.json", e.migrations);
  char *plan = ts_read_file(path, NULL);
  assert_non_null(plan);
  mt_expect(plan, "\"default\": {\"S\": \"web\"}");
  mt_expect(plan, "\"default\": {\"BOOL\": false}");
  free(plan);
  /* apply.sh, read by reviewers, says the same */
  snprintf(path, sizeof path, "%s/20260102000000_defaults/apply.sh", e.migrations);
  char *script = ts_read_file(path, NULL);
  assert_non_null(script);
  mt_expect(script, "#   channel = \"web\" (default, where absent)\n");
  mt_expect(script, "#   priority = 2 (default, where absent)\n");
  mt_expect(script, "#   gift = false (default, where absent)\n");
  free(script);

  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--backfill-log", e.log,
                   NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "channel: 50 written, 5 already right, 0 skipped");
  /* Nothing skipped or failed: no log file, not even an empty one. */
  assert_int_not_equal(access(e.log, F_OK), 0);
  mt_expect(mt_out, "priority: 55 written, 0 already right, 0 skipped");
  /* Every item has them now, in their stored form; "app" kept. */
  size_t web = 0, app = 0, two = 0, nogift = 0;
  dorm_scan_input sin = {.table = e.shop, .consistent_read = true};
  dorm_page page;
  do {
    if (dorm_scan(c, &sin, &a, &page) != DORM_OK) fail_msg("Scan: %s", dorm_client_errmsg(c));
    for (size_t i = 0; i < page.count; i++) {
      const dorm_av *ch = dorm_av_map_get(&page.items[i], "channel");
      const dorm_av *pr = dorm_av_map_get(&page.items[i], "priority");
      const dorm_av *g = dorm_av_map_get(&page.items[i], "gift");
      if (ch && ch->type == DORM_AV_S && ch->u.s.len == 3 && memcmp(ch->u.s.ptr, "web", 3) == 0) web++;
      if (ch && ch->type == DORM_AV_S && ch->u.s.len == 3 && memcmp(ch->u.s.ptr, "app", 3) == 0) app++;
      if (pr && pr->type == DORM_AV_N && pr->u.s.len == 1 && pr->u.s.ptr[0] == '2') two++;
      if (g && g->type == DORM_AV_BOOL && !g->u.boolean) nogift++;
    }
    sin.start_key = &page.last_key;
  } while (page.has_more);
  assert_int_equal(web, TOTAL - 5);
  assert_int_equal(app, 5);
  assert_int_equal(two, TOTAL);
  assert_int_equal(nogift, TOTAL);

  /* Required and new, without a default: refused, nothing written. */
  rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 3), "--name", "rating", "--now",
                "2026-01-03T00:00:00Z", NULL);
  assert_int_not_equal(rc, 0);
  mt_expect(mt_err, "model 'Order': new field 'rating' is required and has no default");
  mt_expect(mt_err, ": error: model 'Order'"); /* at the field, with its line: */
  mt_expect(mt_err, "|   rating:     int;");
  mt_expect(mt_err, "hint: give it a default (rating: int = ...;) or make it optional (rating: int?;)");
  mt_expect(mt_err, "no migration written");
  assert_int_equal(mt_dormc("migrate", "diff", "--check", "--dir", e.migrations, "--schema", mt_schema(&e, 3), NULL), 1);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* A key template over a field with a default: an item stored without the
 * field reads as the default and the generated code keys it so, so the
 * backfill computes the key from the default too (it skipped the item
 * instead, leaving every old item out of the new index while writing the
 * default itself: quietly wrong). An item that has the field keeps its
 * value in the key. */
static void test_default_fills_the_key(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbfdkey");
  mt_env e;
  mt_setup(&e, prefix);
#define DK_MODEL                                                                                             \
  "model Order in Shop {\n"                                                                                  \
  "  type \"Order\";\n"                                                                                      \
  "  key PK = \"CUSTOMER#{customerId}\";\n"                                                                   \
  "  key SK = \"ORDER#{orderId}\";\n"
  static const char dk1[] = "namespace bfshop;\n"
                            "enum Status { open; closed; }\n"
                            "table Shop \"@TABLE@\" {\n"
                            "  key (PK: S, SK: S);\n"
                            "}\n" DK_MODEL "  customerId: string;\n"
                            "  orderId:    string;\n"
                            "  status:     Status?;\n"
                            "  region:     string?;\n"
                            "}\n";
  static const char dk2[] = "namespace bfshop;\n"
                            "enum Status { open; closed; }\n"
                            "table Shop \"@TABLE@\" {\n"
                            "  key (PK: S, SK: S);\n"
                            "  gsi \"gsi-team\" (GSI1PK: S, GSI1SK: S) project keys_only;\n"
                            "}\n" DK_MODEL "  key GSI1PK = \"TEAM#{team}\";\n"
                            "  key GSI1SK = \"{status}#{orderId}\";\n"
                            "  customerId: string;\n"
                            "  orderId:    string;\n"
                            "  status:     Status = open;\n"
                            "  region:     string?;\n"
                            "  team:       string = \"core\";\n"
                            "}\n";
#undef DK_MODEL
  mt_write_schema_text(&e, 1, dk1);
  mt_write_schema_text(&e, 2, dk2);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  write_items(c, e.shop);
  /* Two items were written by newer code: their team is theirs. */
  update_items(c, e.shop, 0, 2, "team", "ops", NULL);
  dorm_arena a = DORM_ARENA_INIT;
  mt_diff(&e, 2, "team_index", false);
  char path[512];
  snprintf(path, sizeof path, "%s/20260102000000_team_index/plan.json", e.migrations);
  char *plan = ts_read_file(path, NULL);
  assert_non_null(plan);
  /* the template's part carries the field's default (and the team fill
   * its own): twice */
  const char *d1 = strstr(plan, "\"default\": {\"S\": \"core\"}");
  assert_non_null(d1);
  assert_non_null(strstr(d1 + 1, "\"default\": {\"S\": \"core\"}"));
  mt_expect(plan, "\"default\": {\"S\": \"open\"}");
  free(plan);
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--backfill-log", e.log,
                   NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "GSI1PK: 55 written, 0 already right, 0 skipped");
  mt_expect(mt_out, "GSI1SK: 55 written, 0 already right, 0 skipped");
  mt_expect(mt_out, "team: 53 written, 2 already right, 0 skipped");
  assert_int_not_equal(access(e.log, F_OK), 0);
  /* Every item is in the index, under the team it reads as. */
  assert_int_equal(count(c, e.shop, "gsi-team", "GSI1PK", "TEAM#core"), TOTAL - 2);
  assert_int_equal(count(c, e.shop, "gsi-team", "GSI1PK", "TEAM#ops"), 2);
  /* The items without a status sort under the default's stored value. */
  dorm_av key = dorm_av_empty(DORM_AV_M);
  dorm_av_map_set(&a, &key, "PK", dorm_av_str(dorm_arena_printf(&a, "CUSTOMER#c%d", (FULL + NO_REGION) % 7)));
  dorm_av_map_set(&a, &key, "SK", dorm_av_str(dorm_arena_printf(&a, "ORDER#o%03d", FULL + NO_REGION)));
  dorm_get_input gin = {.table = e.shop, .key = &key, .consistent_read = true};
  dorm_av item;
  if (dorm_get_item(c, &gin, &a, &item) != DORM_OK) fail_msg("GetItem: %s", dorm_client_errmsg(c));
  const dorm_av *sk = dorm_av_map_get(&item, "GSI1SK");
  assert_non_null(sk);
  char want[32];
  snprintf(want, sizeof want, "open#o%03d", FULL + NO_REGION);
  assert_int_equal(sk->u.s.len, strlen(want));
  assert_memory_equal(sk->u.s.ptr, want, strlen(want));
  /* Run again: everything is right, nothing is written. */
  snprintf(path, sizeof path, "%s/20260102000000_team_index/plan.json", e.migrations);
  rc = mt_dorm("migrate", "backfill", "--plan", path, "--step", "2", NULL);
  if (rc != 0) fail_msg("backfill: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "GSI1PK: 0 written, 55 already right, 0 skipped");

  /* A plan written before template parts carried defaults: the default of
   * the step's own fill of the field is used. Five items lose team and
   * their key again. */
  update_items(c, e.shop, 10, 15, "team", NULL, "GSI1PK");
  plan = ts_read_file(path, NULL);
  assert_non_null(plan);
  static const char part_default[] = ",\n              \"default\": {\"S\": \"core\"}";
  char *cut = strstr(plan, part_default);
  assert_non_null(cut);
  memmove(cut, cut + strlen(part_default), strlen(cut + strlen(part_default)) + 1);
  assert_non_null(strstr(plan, "\"default\": {\"S\": \"core\"}")); /* the team fill's own */
  char old_plan[512];
  snprintf(old_plan, sizeof old_plan, "%s.old.json", e.log);
  assert_int_equal(ts_write_file(old_plan, plan, strlen(plan)), 0);
  free(plan);
  rc = mt_dorm("migrate", "backfill", "--plan", old_plan, "--step", "2", NULL);
  if (rc != 0) fail_msg("backfill: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "GSI1PK: 5 written, 50 already right, 0 skipped");
  mt_expect(mt_out, "team: 5 written, 50 already right, 0 skipped");
  assert_int_equal(count(c, e.shop, "gsi-team", "GSI1PK", "TEAM#core"), TOTAL - 2);
  unlink(old_plan);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* Two models without an entity type share a table and have the same
 * fields: a backfill of one reaches only its own items, told apart by the
 * literal text its table keys start with (it wrote the other model's
 * items too, which then showed up in the first model's index). */
static void test_untyped_models(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbfnt");
  mt_env e;
  mt_setup(&e, prefix);
#define NT_B                                                                                                 \
  "model B in Shop {\n"                                                                                      \
  "  key PK = \"B#{id}\";\n"                                                                                 \
  "  key SK = \"B\";\n"                                                                                      \
  "  id: string;\n"                                                                                          \
  "  status: string;\n"                                                                                      \
  "}\n"
  static const char nt1[] = "namespace bfnt;\n"
                            "table Shop \"@TABLE@\" {\n"
                            "  key (PK: S, SK: S);\n"
                            "}\n"
                            "model A in Shop {\n"
                            "  key PK = \"A#{id}\";\n"
                            "  key SK = \"A\";\n"
                            "  id: string;\n"
                            "  status: string;\n"
                            "}\n" NT_B;
  static const char nt2[] = "namespace bfnt;\n"
                            "table Shop \"@TABLE@\" {\n"
                            "  key (PK: S, SK: S);\n"
                            "  gsi \"gsi-st\" (GSI1PK: S) project keys_only;\n"
                            "}\n"
                            "model A in Shop {\n"
                            "  key PK = \"A#{id}\";\n"
                            "  key SK = \"A\";\n"
                            "  key GSI1PK = \"ST#{status}\";\n"
                            "  id: string;\n"
                            "  status: string;\n"
                            "}\n" NT_B;
#undef NT_B
  mt_write_schema_text(&e, 1, nt1);
  mt_write_schema_text(&e, 2, nt2);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[30];
  dorm_batch_write_entry w[30];
  for (size_t i = 0; i < 30; i++) {
    bool is_a = i < 20;
    items[i] = dorm_av_empty(DORM_AV_M);
    const char *id = dorm_arena_printf(&a, "%zu", i);
    dorm_av_map_set(&a, &items[i], "PK", dorm_av_str(dorm_arena_printf(&a, "%s#%s", is_a ? "A" : "B", id)));
    dorm_av_map_set(&a, &items[i], "SK", dorm_av_str(is_a ? "A" : "B"));
    dorm_av_map_set(&a, &items[i], "id", dorm_av_str(id));
    dorm_av_map_set(&a, &items[i], "status", dorm_av_str("open"));
    w[i] = (dorm_batch_write_entry){.table = e.shop, .put_item = &items[i]};
  }
  size_t written = 0;
  if (dorm_batch_write(c, w, 30, NULL, &written) != DORM_OK) fail_msg("dorm_batch_write: %s", dorm_client_errmsg(c));
  mt_diff(&e, 2, "st_index", false);
  char path[512];
  snprintf(path, sizeof path, "%s/20260102000000_st_index/plan.json", e.migrations);
  char *plan = ts_read_file(path, NULL);
  assert_non_null(plan);
  mt_expect(plan, "{\"attribute\": \"PK\", \"begins_with\": \"A#\"}");
  mt_expect(plan, "{\"attribute\": \"SK\", \"equals\": \"A\"}");
  free(plan);
  snprintf(path, sizeof path, "%s/20260102000000_st_index/apply.sh", e.migrations);
  char *script = ts_read_file(path, NULL);
  assert_non_null(script);
  mt_expect(script, "; items whose PK begins with \"A#\" and SK = \"A\" get, by their fields:");
  free(script);
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "20 items: 20 updated");
  assert_int_equal(count(c, e.shop, "gsi-st", "GSI1PK", "ST#open"), 20);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* A string value that runs into the literal after it in a new key
 * template ("{customerId}#{orderId}" with customer "c1#o9") is skipped and
 * logged, as the model layer refuses to write such a key: customer "c1#o9"
 * of order "x" and customer "c1" of order "o9#x" would be one key. */
static void test_value_running_into_the_template(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mbfrun");
  mt_env e;
  mt_setup(&e, prefix);
  static const char keyed[] = "namespace bfshop;\n"
                              "enum Status { open; closed; }\n"
                              "table Shop \"@TABLE@\" {\n"
                              "  key (PK: S, SK: S);\n"
                              "  gsi \"gsi-pair\" (GSI2PK: S, GSI2SK: S) project keys_only;\n"
                              "}\n"
                              "model Order in Shop {\n"
                              "  type \"Order\";\n"
                              "  key PK = \"CUSTOMER#{customerId}\";\n"
                              "  key SK = \"ORDER#{orderId}\";\n"
                              "  key GSI2PK = \"PAIRS\";\n"
                              "  key GSI2SK = \"{customerId}#{orderId}\";\n"
                              "  customerId: string;\n"
                              "  orderId:    string;\n"
                              "  status:     Status;\n"
                              "  region:     string;\n"
                              "}\n";
  mt_write_schema_text(&e, 1, v1);
  mt_write_schema_text(&e, 2, keyed);
  dorm_client *c = mt_client();
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  dorm_arena a = DORM_ARENA_INIT;
  const char *customers[] = {"c1", "c1#o9", "c2"};
  dorm_av items[3];
  dorm_batch_write_entry w[3];
  for (size_t i = 0; i < 3; i++) {
    dorm_av *it = &items[i];
    *it = dorm_av_empty(DORM_AV_M);
    dorm_av_map_set(&a, it, "PK", dorm_av_str(dorm_arena_printf(&a, "CUSTOMER#%s", customers[i])));
    dorm_av_map_set(&a, it, "SK", dorm_av_str("ORDER#x"));
    dorm_av_map_set(&a, it, "_type", dorm_av_str("Order"));
    dorm_av_map_set(&a, it, "customerId", dorm_av_str(customers[i]));
    dorm_av_map_set(&a, it, "orderId", dorm_av_str("x"));
    dorm_av_map_set(&a, it, "status", dorm_av_str("open"));
    dorm_av_map_set(&a, it, "region", dorm_av_str("eu"));
    w[i] = (dorm_batch_write_entry){.table = e.shop, .put_item = it};
  }
  size_t written = 0;
  if (dorm_batch_write(c, w, 3, NULL, &written) != DORM_OK) fail_msg("dorm_batch_write: %s", dorm_client_errmsg(c));
  mt_diff(&e, 2, "pairs", false);
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--backfill-log", e.log,
                   NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  mt_expect(mt_out, "GSI2SK: 2 written, 0 already right, 1 skipped (e.g. customerId = \"c1#o9\" would run into the \"#\" "
                 "after it: the key would not say where it ends)");
  assert_int_equal(count(c, e.shop, "gsi-pair", "GSI2PK", "PAIRS"), 2);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_two_indexes_one_backfill),
                                     cmocka_unit_test(test_nothing_computable),
                                     cmocka_unit_test(test_new_fields_with_defaults),
                                     cmocka_unit_test(test_default_fills_the_key),
                                     cmocka_unit_test(test_untyped_models),
                                     cmocka_unit_test(test_value_running_into_the_template)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
