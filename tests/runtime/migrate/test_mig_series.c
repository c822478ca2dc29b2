/* The schema series against DynamoDB Local: v1 (tables) -> v2 (a GSI fed by
 * key templates over 5,000 existing items: the backfill makes them
 * queryable through it) -> v3 (TTL, stream, billing) -> v4 (a GSI dropped,
 * only with --allow-destructive); status up to date at each stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "mig_common.h"
#include "test_support.h"

#define ORDERS 5000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deploy_ok(const mt_env *e) {
  /* Four parallel segments: the backfill of 5,000 items takes a quarter of the time. */
  int rc = mt_dorm("migrate", "deploy", "--dir", e->migrations, "--history-table", e->history, "--backfill-log", e->log,
                   "--segments", "4", NULL);
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
}

/* The most threads /proc/<pid>/status showed for pid (0 when unreadable). */
static int threads_of(pid_t pid) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  int n = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  if (f) fclose(f);
  return n;
}

/* The v2 deploy and its backfill of 5,000 items over four segments, each
 * keeping 12 writes in flight, watched from outside: every segment's Scans
 * and writes are requests in flight on the tool's one thread, so the
 * process never has a thread per segment (it had five before). */
static void deploy_backfill_watched(mt_env *e) {
  pid_t pid = mt_dorm_bg(e, "v2", "migrate", "deploy", "--dir", e->migrations, "--history-table", e->history,
                         "--backfill-log", e->log, "--segments", "4", "--in-flight", "12", NULL);
  int most = 0;
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == pid) break;
    int n = threads_of(pid);
    if (n > most) most = n;
    struct timespec pause = {0, 2 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  int rc = mt_wait(pid);
  mt_bg_output(e, "v2");
  if (rc != 0) fail_msg("deploy: exit %d\n%s%s", rc, mt_out, mt_err);
  print_message("backfill over 4 segments: at most %d threads\n", most);
  assert_true(most >= 1);
  assert_true(most <= 2); /* the tool's thread (and one a sanitizer or libcurl may start) */
  /* The option is taken: above the old fixed 8 per segment. */
  if (!mt_has(mt_out, "up to 12 writes in flight at once per segment")) fail_msg("in flight:\n%s", mt_out);
}

static void status_up_to_date(const mt_env *e) {
  int rc = mt_dorm("migrate", "status", "--dir", e->migrations, "--history-table", e->history, NULL);
  if (rc != 0 || !mt_has(mt_out, "up to date") || !mt_has(mt_out, "drift: none"))
    fail_msg("status: exit %d\n%s%s", rc, mt_out, mt_err);
}

static uint64_t count_index(dorm_client *c, const char *table, const char *status) {
  dorm_arena a = DORM_ARENA_INIT;
  uint64_t total = 0;
  char pk[64];
  snprintf(pk, sizeof pk, "STATUS#%s", status);
  dorm_av start;
  bool more = true, has_start = false;
  while (more) {
    dorm_expr x;
    dorm_expr_init(&x, &a);
    dorm_expr_key_condition(&x, dorm_cond_eq(&x, "GSI1PK", dorm_av_str(pk)));
    dorm_query_input in = {.table = table, .index = "gsi-status", .expr = &x, .select = DORM_SELECT_COUNT,
                           .start_key = has_start ? &start : NULL};
    dorm_page page;
    assert_int_equal(dorm_query(c, &in, &a, &page), DORM_OK);
    total += page.count;
    more = page.has_more;
    if (more) {
      start = page.last_key;
      has_start = true;
    }
  }
  dorm_arena_free(&a);
  return total;
}

/* Every Order has exactly the attributes the generated code would write,
 * and version 1 (written once); sparse Orders (no status) get the GSI1SK
 * their fields give but no GSI1PK (so they stay out of the index), and
 * items of another type are untouched. */
static void check_items(dorm_client *c, const char *table) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input in = {.table = table, .consistent_read = true};
  dorm_pager p;
  dorm_pager_init_scan(&p, c, &in);
  dorm_page page;
  size_t orders = 0, sparse = 0, other = 0;
  while (dorm_pager_next(&p, &a, &page) == DORM_OK && !p.done) {
    for (size_t k = 0; k < page.count; k++) {
      const dorm_av *it = &page.items[k];
      const dorm_av *type = dorm_av_map_get(it, "_type"), *ord = dorm_av_map_get(it, "orderId");
      const dorm_av *pk = dorm_av_map_get(it, "GSI1PK"), *sk = dorm_av_map_get(it, "GSI1SK");
      const dorm_av *ver = dorm_av_map_get(it, "version");
      size_t i = (size_t)strtoul(ord->u.s.ptr + 1, NULL, 10);
      if (strcmp(type->u.s.ptr, "Note") == 0) {
        assert_null(pk);
        assert_string_equal(ver->u.s.ptr, "0");
        other++;
      } else if (!dorm_av_map_get(it, "status")) {
        char want_sk[64];
        mt_expected_gsi1sk(i, want_sk);
        assert_null(pk);
        assert_non_null(sk);
        assert_string_equal(sk->u.s.ptr, want_sk);
        assert_string_equal(ver->u.s.ptr, "1");
        sparse++;
      } else {
        char want_pk[64], want_sk[64];
        snprintf(want_pk, sizeof want_pk, "STATUS#%s", mt_status_of(i));
        mt_expected_gsi1sk(i, want_sk);
        assert_non_null(pk);
        assert_non_null(sk);
        assert_string_equal(pk->u.s.ptr, want_pk);
        assert_string_equal(sk->u.s.ptr, want_sk);
        assert_string_equal(ver->u.s.ptr, "1");
        orders++;
      }
    }
    dorm_arena_reset(&a);
  }
  dorm_pager_free(&p);
  dorm_arena_free(&a);
  assert_int_equal(orders, ORDERS);
  assert_int_equal(sparse, MT_SPARSE);
  assert_int_equal(other, MT_OTHER);
}

static void test_series(void **state) {
  (void)state;
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mseries");
  mt_env e;
  mt_setup(&e, prefix);
  dorm_client *c = mt_client();
  double t0 = now_s();

  mt_diff(&e, 1, "init", false);
  deploy_ok(&e);
  assert_true(mt_has(mt_out, "1 migration applied"));
  status_up_to_date(&e);
  double t1 = now_s();
  mt_write_orders(c, e.shop, ORDERS);
  double t2 = now_s();

  /* v2: the new index is empty until the backfill has run. */
  mt_diff(&e, 2, "add_status_index", false);
  assert_true(mt_has(mt_out, "create GSI gsi-status"));
  assert_true(mt_has(mt_out, "backfill Order items"));
  /* --dry-run says what it would do and does nothing. */
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", e.migrations, "--history-table", e.history, "--dry-run", NULL),
                   0);
  assert_true(mt_has(mt_out, "would apply 20260102000000_add_status_index:"));
  assert_true(mt_has(mt_out, "step 1/3: create GSI gsi-status"));
  assert_true(mt_has(mt_out, "UpdateTable {\"TableName\":"));
  dorm_arena dry = DORM_ARENA_INIT;
  dorm_table_description before;
  assert_int_equal(dorm_describe_table(c, e.shop, &dry, &before), DORM_OK);
  assert_int_equal(before.gsi_count, 0);
  dorm_arena_free(&dry);
  deploy_backfill_watched(&e);
  double t3 = now_s();
  char want[128];
  snprintf(want, sizeof want, "%d items: %d updated, 0 already right, 0 skipped, 0 failed", ORDERS + MT_SPARSE,
           ORDERS + MT_SPARSE);
  if (!mt_has(mt_out, want)) fail_msg("expected \"%s\" in\n%s", want, mt_out);
  snprintf(want, sizeof want, "GSI1PK: %d written, 0 already right, %d skipped (e.g. no status (field status)", ORDERS,
           MT_SPARSE);
  if (!mt_has(mt_out, want)) fail_msg("expected \"%s\" in\n%s", want, mt_out);
  snprintf(want, sizeof want, "GSI1SK: %d written, 0 already right, 0 skipped", ORDERS + MT_SPARSE);
  if (!mt_has(mt_out, want)) fail_msg("expected \"%s\" in\n%s", want, mt_out);
  uint64_t n = 0;
  for (int s = 0; s < 3; s++) n += count_index(c, e.shop, mt_status_of((size_t)s));
  assert_int_equal(n, ORDERS);
  assert_int_equal(count_index(c, e.shop, "paid"), (ORDERS + 1) / 3);
  check_items(c, e.shop);
  char *log = ts_read_file(e.log, NULL);
  assert_non_null(log);
  size_t skipped = 0;
  for (const char *p = strstr(log, "\"outcome\":\"skipped\""); p; p = strstr(p + 1, "\"outcome\":\"skipped\"")) skipped++;
  assert_int_equal(skipped, MT_SPARSE);
  assert_true(mt_has(log, "no status (field status)"));
  free(log);
  status_up_to_date(&e);
  /* The sparse Orders are reported (a sparse index is not an error: only --strict fails). */
  snprintf(want, sizeof want, "backfill step 2 (Order): GSI1PK not computed for %d of %d items", MT_SPARSE,
           ORDERS + MT_SPARSE);
  if (!mt_has(mt_out, want)) fail_msg("expected \"%s\" in\n%s", want, mt_out);

  /* v3: TTL, stream, provisioned billing. */
  mt_diff(&e, 3, "ttl_stream_billing", false);
  deploy_ok(&e);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description d;
  assert_int_equal(dorm_describe_table(c, e.shop, &a, &d), DORM_OK);
  assert_int_equal(d.billing, DORM_BILLING_PROVISIONED);
  assert_int_equal(d.throughput.read, 5);
  assert_int_equal(d.throughput.write, 5);
  assert_int_equal(d.stream, DORM_STREAM_NEW_AND_OLD_IMAGES);
  dorm_ttl_description ttl;
  assert_int_equal(dorm_describe_ttl(c, e.shop, &a, &ttl), DORM_OK);
  assert_int_equal(ttl.status, DORM_TTL_ENABLED);
  assert_string_equal(ttl.attribute, "expiresAt");
  status_up_to_date(&e);

  /* v4: dropping an index is refused without --allow-destructive. */
  int rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 4), "--name", "drop_email",
                    "--now", "2026-01-04T00:00:00Z", NULL);
  assert_int_equal(rc, 1);
  assert_true(mt_has(mt_err, "GSI 'gsi-email' is dropped"));
  assert_true(mt_has(mt_err, "--allow-destructive"));
  mt_diff(&e, 4, "drop_email", true);
  deploy_ok(&e);
  assert_int_equal(dorm_describe_table(c, e.users, &a, &d), DORM_OK);
  assert_int_equal(d.gsi_count, 0);
  status_up_to_date(&e);
  assert_true(mt_has(mt_out, "applied  ") && mt_has(mt_out, "_drop_email"));
  /* Nothing left: a second deploy does nothing. */
  deploy_ok(&e);
  assert_true(mt_has(mt_out, "nothing to deploy"));
  double t4 = now_s();
  print_message("timings: v1 %.2f s, writing %d items %.2f s, v2 with backfill %.2f s, v3+v4 %.2f s\n", t1 - t0,
                ORDERS + MT_SPARSE + MT_OTHER, t2 - t1, t3 - t2, t4 - t3);
  dorm_arena_free(&a);
  mt_drop_tables(c, &e);
  dorm_client_free(c);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_series)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
