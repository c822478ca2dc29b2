/* Two deploys at once: the second fails naming the lock holder (host:pid),
 * a third with --lock-wait waits for it and finds nothing left to do. And a
 * deploy killed with SIGKILL during its backfill, run again, takes over the
 * dead holder's lock, resumes at the recorded page and ends with every item
 * correct and written exactly once (version 0 -> 1), and counted once. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "mig_common.h"
#include "test_support.h"

#define ITEMS 800

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The history item `id`, or an empty map when there is none. */
static bool history_item(dorm_client *c, const mt_env *e, const char *id, dorm_arena *a, dorm_av *item) {
  dorm_av key = dorm_av_empty(DORM_AV_M);
  dorm_av_map_set(a, &key, "id", dorm_av_str(id));
  dorm_get_input in = {.table = e->history, .key = &key, .consistent_read = true};
  dorm_status st = dorm_get_item(c, &in, a, item);
  return st == DORM_OK;
}

static uint64_t scanned_so_far(dorm_client *c, const mt_env *e) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item;
  uint64_t n = 0;
  if (history_item(c, e, "20260102000000_add_status_index", &a, &item)) {
    const dorm_av *bf = dorm_av_map_get(&item, "backfill_2");
    if (bf) dorm_av_get_u64(dorm_av_map_get(bf, "scanned"), &n);
  }
  dorm_arena_free(&a);
  return n;
}

static void prepare(mt_env *e, dorm_client *c, const char *what) {
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, what);
  mt_setup(e, prefix);
  mt_diff(e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e->migrations, "--history-table", e->history, NULL), 0);
  mt_write_orders(c, e->shop, ITEMS);
  mt_diff(e, 2, "add_status_index", false);
}

static void check_exactly_once(dorm_client *c, const mt_env *e) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input in = {.table = e->shop, .consistent_read = true};
  dorm_pager p;
  dorm_pager_init_scan(&p, c, &in);
  dorm_page page;
  size_t orders = 0;
  while (dorm_pager_next(&p, &a, &page) == DORM_OK && !p.done) {
    for (size_t k = 0; k < page.count; k++) {
      const dorm_av *it = &page.items[k];
      if (!dorm_av_map_get(it, "status") || strcmp(dorm_av_map_get(it, "_type")->u.s.ptr, "Order") != 0) continue;
      size_t i = (size_t)strtoul(dorm_av_map_get(it, "orderId")->u.s.ptr + 1, NULL, 10);
      char want[64];
      mt_expected_gsi1sk(i, want);
      assert_string_equal(dorm_av_map_get(it, "GSI1SK")->u.s.ptr, want);
      assert_string_equal(dorm_av_map_get(it, "version")->u.s.ptr, "1");
      orders++;
    }
    dorm_arena_reset(&a);
  }
  dorm_pager_free(&p);
  dorm_arena_free(&a);
  assert_int_equal(orders, ITEMS);
}

static void test_two_deploys(void **state) {
  (void)state;
  dorm_client *c = mt_client();
  mt_env e;
  prepare(&e, c, "mlock");
  /* A: slow backfill (about 3 s). */
  pid_t a = mt_dorm_bg(&e, "a", "migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--rate",
                       "250", "--page-size", "50", "--backfill-log", e.log, NULL);
  int waited = 0;
  while (scanned_so_far(c, &e) == 0 && waited++ < 300) sleep_ms(20);
  assert_true(waited < 300);
  /* B fails at once, naming A. */
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
  assert_int_equal(rc, 1);
  char host[256], holder[300];
  assert_int_equal(gethostname(host, sizeof host), 0);
  snprintf(holder, sizeof holder, "is held by %s:%ld", host, (long)a);
  if (!mt_has(mt_err, holder)) fail_msg("expected \"%s\" in:\n%s", holder, mt_err);
  assert_true(mt_has(mt_err, "another deploy is running"));
  /* C waits for the lock, then has nothing left to do. */
  rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--lock-wait", "60", NULL);
  if (rc != 0) fail_msg("deploy --lock-wait: exit %d\n%s%s", rc, mt_out, mt_err);
  assert_true(mt_has(mt_out, "nothing to deploy"));
  assert_int_equal(mt_wait(a), 0);
  mt_bg_output(&e, "a");
  assert_true(mt_has(mt_out, "20260102000000_add_status_index: applied"));
  check_exactly_once(c, &e);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

static void test_killed_during_backfill(void **state) {
  (void)state;
  dorm_client *c = mt_client();
  mt_env e;
  prepare(&e, c, "mkill");
  /* Two segments: each resumes at its own recorded page. */
  pid_t a = mt_dorm_bg(&e, "killed", "migrate", "deploy", "--dir", e.migrations, "--history-table", e.history,
                       "--rate", "300", "--page-size", "50", "--segments", "2", "--backfill-log", e.log, NULL);
  int waited = 0;
  uint64_t scanned;
  while ((scanned = scanned_so_far(c, &e)) < 250 && waited++ < 500) sleep_ms(10);
  assert_true(scanned >= 250 && scanned < ITEMS);
  assert_int_equal(kill(a, SIGKILL), 0);
  assert_int_equal(mt_wait(a), 128 + SIGKILL);
  /* Interrupted: recorded as running at the backfill step, lock left behind. */
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 3);
  assert_true(mt_has(mt_out, "running  20260102000000_add_status_index  (1 of 3 steps applied)"));
  /* Its new index is drift from the last applied snapshot, said to be its own. */
  assert_true(mt_has(mt_out, "GSI gsi-status exists in DynamoDB but not in the snapshot"));
  if (!mt_has(mt_out, "(20260102000000_add_status_index is running with 1 of 3 steps applied: those steps account "
                      "for some of this; deploy finishes it)"))
    fail_msg("no note on the running migration in:\n%s", mt_out);
  /* Run again: the dead holder's lock is taken over and the backfill resumes. */
  int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--page-size", "50",
                   "--segments", "1", "--backfill-log", e.log, NULL);
  if (rc != 0) fail_msg("second deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  assert_true(mt_has(mt_out, "resuming at step 2 of 3"));
  assert_true(mt_has(mt_out, "resuming after"));
  assert_true(mt_has(mt_out, "20260102000000_add_status_index: applied"));
  print_message("killed after %llu items recorded; second run: %s", (unsigned long long)scanned,
                strstr(mt_out, "  resuming after") ? strstr(mt_out, "  resuming after") : "");
  /* Every Order counted once: the pages each segment was in when killed
   * are read again, and were not in the recorded counts (they were: a
   * segment's record carried the other's unfinished page, 8xx items of 807). */
  char total[64];
  snprintf(total, sizeof total, "\n  %d items: ", ITEMS + MT_SPARSE);
  if (!mt_has(mt_out, total)) fail_msg("expected \"%s\" in:\n%s", total + 1, mt_out);
  check_exactly_once(c, &e);
  assert_int_equal(mt_dorm("migrate", "status", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

/* A lock held by a deploy on another host: refused while its lease runs,
 * taken once it has expired. */
static void test_foreign_lock(void **state) {
  (void)state;
  dorm_client *c = mt_client();
  mt_env e;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mforeign");
  mt_setup(&e, prefix);
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL), 0);
  mt_diff(&e, 2, "add_status_index", false);
  for (int expired = 0; expired <= 1; expired++) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_av item = dorm_av_empty(DORM_AV_M);
    dorm_av_map_set(&a, &item, "id", dorm_av_str("#lock"));
    dorm_av_map_set(&a, &item, "owner", dorm_av_str("build-host-7:4242"));
    dorm_av_map_set(&a, &item, "since", dorm_av_str("2026-01-01T00:00:00Z"));
    dorm_av exp;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_int_equal(dorm_av_num_i64(&a, expired ? now_ms - 1000 : now_ms + 60000, &exp), DORM_OK);
    dorm_av_map_set(&a, &item, "expires", exp);
    dorm_put_input in = {.table = e.history, .item = &item};
    assert_int_equal(dorm_put_item(c, &in, &a, NULL), DORM_OK);
    dorm_arena_free(&a);
    int rc = mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, NULL);
    if (!expired) {
      assert_int_equal(rc, 1);
      assert_true(mt_has(mt_err, "is held by build-host-7:4242 (since 2026-01-01T00:00:00Z, expires in "));
    } else {
      if (rc != 0) fail_msg("deploy after the lease: %d\n%s%s", rc, mt_out, mt_err);
      assert_true(mt_has(mt_out, "20260102000000_add_status_index: applied"));
    }
  }
  /* The lock is released after the deploy. */
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av key = dorm_av_empty(DORM_AV_M), got;
  dorm_av_map_set(&a, &key, "id", dorm_av_str("#lock"));
  dorm_get_input gin = {.table = e.history, .key = &key, .consistent_read = true};
  assert_int_equal(dorm_get_item(c, &gin, &a, &got), DORM_ERR_NOT_FOUND);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_deploys),
      cmocka_unit_test(test_killed_during_backfill),
      cmocka_unit_test(test_foreign_lock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
