/* Query and Scan against DynamoDB Local: key conditions, filters,
 * projections, Limit, descending order, Select COUNT, the pager across
 * pages that DynamoDB cut at 1 MB, and parallel scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

#define SMALL 20
#define BIG 2500
#define BIG_PARTITION 1500 /* items 0..1499 share the partition "BIG"; the rest have their own */
#define PAD 1000 /* bytes of padding: ~1 KB items, 2.5 MB in all */

static dorm_client *C;
static char Q[64], B[64];

static void fill_small(void) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[SMALL];
  dorm_batch_write_entry e[SMALL];
  for (int i = 0; i < SMALL; i++) {
    items[i] = it_key_sn(&a, "PK", "P", "SK", i);
    it_set_s(&a, &items[i], "status", i % 2 ? "closed" : "open");
    it_set_n(&a, &items[i], "amount", i * 10);
    char note[16];
    snprintf(note, sizeof note, "n%d", i);
    it_set_s(&a, &items[i], "note", note);
    e[i] = (dorm_batch_write_entry){Q, &items[i], NULL};
  }
  /* Another partition that no query on "P" may return. */
  dorm_av other = it_key_sn(&a, "PK", "OTHER", "SK", 1);
  it_set_s(&a, &other, "status", "open");
  it_set_n(&a, &other, "amount", 1000);
  dorm_put_input pi = {.table = Q, .item = &other};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  size_t written;
  assert_int_equal(dorm_batch_write(C, e, SMALL, NULL, &written), DORM_OK);
  assert_int_equal(written, SMALL);
  dorm_arena_free(&a);
}

static void fill_big(void) {
  dorm_arena a = DORM_ARENA_INIT;
  char *pad = dorm_arena_alloc(&a, PAD + 1);
  memset(pad, 'p', PAD);
  pad[PAD] = '\0';
  dorm_av *items = dorm_arena_alloc(&a, BIG * sizeof *items);
  dorm_batch_write_entry *e = dorm_arena_alloc(&a, BIG * sizeof *e);
  for (int i = 0; i < BIG; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "B%d", i);
    items[i] = it_key_sn(&a, "PK", i < BIG_PARTITION ? "BIG" : pk, "SK", i);
    it_set_av(&a, &items[i], "pad", dorm_av_strn(pad, PAD));
    e[i] = (dorm_batch_write_entry){B, &items[i], NULL};
  }
  double t0 = it_now_ms();
  size_t written;
  assert_int_equal(dorm_batch_write(C, e, BIG, NULL, &written), DORM_OK);
  assert_int_equal(written, BIG);
  print_message("# wrote %d items of ~1 KB in %.0f ms\n", BIG, it_now_ms() - t0);
  dorm_arena_free(&a);
}

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(Q, sizeof Q, "it_query");
  it_name(B, sizeof B, "it_query_big");
  it_create_table(C, Q, "PK", DORM_KEY_S, "SK", DORM_KEY_N);
  it_create_table(C, B, "PK", DORM_KEY_S, "SK", DORM_KEY_N);
  fill_small();
  fill_big();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, Q);
  it_drop_table(C, B);
  dorm_client_free(C);
  return 0;
}

static void test_key_conditions_and_order(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "PK", dorm_av_str("P")),
                                            dorm_cond_between(&x, "SK", dorm_av_num("5"), dorm_av_num("9"))));
  dorm_query_input qi = {.table = Q, .expr = &x, .consistent_read = true};
  dorm_page p;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 5);
  assert_int_equal(p.scanned_count, 5);
  assert_false(p.has_more);
  for (size_t i = 0; i < p.count; i++) assert_int_equal(it_get_n(&p.items[i], "SK"), 5 + (int64_t)i);

  /* Whole partition, descending. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_key_condition(&y, dorm_cond_eq(&y, "PK", dorm_av_str("P")));
  qi.expr = &y;
  qi.descending = true;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, SMALL);
  for (size_t i = 0; i < p.count; i++) assert_int_equal(it_get_n(&p.items[i], "SK"), SMALL - 1 - (int64_t)i);

  /* SK > 17 */
  dorm_expr z;
  dorm_expr_init(&z, &a);
  dorm_expr_key_condition(&z, dorm_cond_and(&z, dorm_cond_eq(&z, "PK", dorm_av_str("P")),
                                            dorm_cond_cmp(&z, "SK", DORM_GT, dorm_av_num("17"))));
  qi.expr = &z;
  qi.descending = false;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 2);
  assert_int_equal(it_get_n(&p.items[0], "SK"), 18);
  dorm_arena_free(&a);
}

static void test_filter_projection_count(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("P")));
  dorm_expr_filter(&x, dorm_cond_eq(&x, "status", dorm_av_str("open")));
  const char *proj[] = {"amount", "status"};
  dorm_expr_projection(&x, proj, 2);
  dorm_query_input qi = {.table = Q, .expr = &x};
  dorm_page p;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 10);
  assert_int_equal(p.scanned_count, SMALL);
  for (size_t i = 0; i < p.count; i++) {
    assert_int_equal(p.items[i].u.map.count, 2); /* the projection: no keys, no note */
    assert_string_equal(it_get_s(&p.items[i], "status"), "open");
    assert_int_equal(it_get_n(&p.items[i], "amount") % 20, 0);
  }

  /* Select COUNT: a number, no items. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_key_condition(&y, dorm_cond_eq(&y, "PK", dorm_av_str("P")));
  qi.expr = &y;
  qi.select = DORM_SELECT_COUNT;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, SMALL);
  assert_null(p.items);
  dorm_expr z;
  dorm_expr_init(&z, &a);
  dorm_expr_key_condition(&z, dorm_cond_eq(&z, "PK", dorm_av_str("P")));
  dorm_expr_filter(&z, dorm_cond_cmp(&z, "amount", DORM_GE, dorm_av_num("150")));
  qi.expr = &z;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
  assert_int_equal(p.count, 5);
  assert_int_equal(p.scanned_count, SMALL);

  /* Scan with a filter and a projection sees both partitions. */
  dorm_expr s;
  dorm_expr_init(&s, &a);
  dorm_expr_filter(&s, dorm_cond_and(&s, dorm_cond_eq(&s, "status", dorm_av_str("open")),
                                     dorm_cond_cmp(&s, "amount", DORM_GE, dorm_av_num("100"))));
  const char *sproj[] = {"PK", "amount"};
  dorm_expr_projection(&s, sproj, 2);
  dorm_scan_input si = {.table = Q, .expr = &s};
  assert_int_equal(dorm_scan(C, &si, &a, &p), DORM_OK);
  assert_int_equal(p.count, 6); /* 100, 120, ..., 180 and OTHER's 1000 */
  assert_int_equal(p.scanned_count, SMALL + 1);
  int other = 0;
  for (size_t i = 0; i < p.count; i++) {
    assert_int_equal(p.items[i].u.map.count, 2);
    if (strcmp(it_get_s(&p.items[i], "PK"), "OTHER") == 0) other++;
  }
  assert_int_equal(other, 1);
  si.select = DORM_SELECT_COUNT;
  dorm_expr sc;
  dorm_expr_init(&sc, &a);
  dorm_expr_filter(&sc, dorm_cond_eq(&sc, "status", dorm_av_str("closed")));
  si.expr = &sc;
  assert_int_equal(dorm_scan(C, &si, &a, &p), DORM_OK);
  assert_int_equal(p.count, 10);
  dorm_arena_free(&a);
}

static void test_limit_and_start_key(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("P")));
  dorm_query_input qi = {.table = Q, .expr = &x, .limit = 7};
  dorm_page p;
  int64_t next = 0;
  int pages = 0;
  do {
    assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_OK);
    pages++;
    for (size_t i = 0; i < p.count; i++) assert_int_equal(it_get_n(&p.items[i], "SK"), next++);
    if (p.has_more) {
      assert_int_equal(p.count, 7);
      assert_int_equal(it_get_n(&p.last_key, "SK"), next - 1);
      qi.start_key = &p.last_key;
    }
  } while (p.has_more);
  assert_int_equal(next, SMALL);
  assert_int_equal(pages, 3);

  /* Limit counts items evaluated, before the filter. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_key_condition(&y, dorm_cond_eq(&y, "PK", dorm_av_str("P")));
  dorm_expr_filter(&y, dorm_cond_eq(&y, "status", dorm_av_str("closed")));
  dorm_query_input fi = {.table = Q, .expr = &y, .limit = 4};
  assert_int_equal(dorm_query(C, &fi, &a, &p), DORM_OK);
  assert_int_equal(p.scanned_count, 4);
  assert_int_equal(p.count, 2);
  assert_true(p.has_more);

  /* The pagers stop at max_items exactly (the last request's Limit is
   * what remains; it returned whole pages of 5 before, 10 items), and the
   * last page's key resumes after the last item handed out. */
  dorm_scan_input si = {.table = Q, .limit = 5};
  dorm_pager pg;
  dorm_pager_init_scan(&pg, C, &si);
  pg.max_items = 8;
  size_t total = 0;
  while (dorm_pager_next(&pg, &a, &p) == DORM_OK && !pg.done) total += p.count;
  assert_int_equal(total, 8);
  dorm_pager_free(&pg);
  dorm_expr k;
  dorm_expr_init(&k, &a);
  dorm_expr_key_condition(&k, dorm_cond_eq(&k, "PK", dorm_av_str("P")));
  dorm_query_input mi = {.table = Q, .expr = &k, .limit = 5};
  dorm_pager_init_query(&pg, C, &mi);
  pg.max_items = 8;
  int64_t want = 0;
  dorm_av resume = {0};
  while (dorm_pager_next(&pg, &a, &p) == DORM_OK && !pg.done) {
    for (size_t i = 0; i < p.count; i++) assert_int_equal(it_get_n(&p.items[i], "SK"), want++);
    assert_true(p.has_more);
    resume = p.last_key;
  }
  dorm_pager_free(&pg);
  assert_int_equal(want, 8);
  mi.start_key = &resume;
  mi.limit = 0;
  dorm_pager_init_query(&pg, C, &mi);
  while (dorm_pager_next(&pg, &a, &p) == DORM_OK && !pg.done)
    for (size_t i = 0; i < p.count; i++) assert_int_equal(it_get_n(&p.items[i], "SK"), want++);
  dorm_pager_free(&pg);
  assert_int_equal(want, SMALL);
  /* With a filter the Limit stays (it counts items before the filter): one
   * request, its page whole even past max_items. */
  uint64_t before = it_attempts(C);
  dorm_query_input fq = {.table = Q, .expr = &y};
  dorm_pager_init_query(&pg, C, &fq);
  pg.max_items = 1;
  total = 0;
  while (dorm_pager_next(&pg, &a, &p) == DORM_OK && !pg.done) total += p.count;
  dorm_pager_free(&pg);
  assert_true(total > 1);
  assert_int_equal(it_attempts(C) - before, 1);
  dorm_arena_free(&a);
}

/* Pages every item of the big table, checking each is seen exactly once. */
static void page_all(bool scan) {
  dorm_arena a = DORM_ARENA_INIT, ka = DORM_ARENA_INIT;
  unsigned char *seen = calloc(BIG, 1);
  dorm_expr x;
  dorm_expr_init(&x, &ka);
  dorm_pager pg;
  if (scan) {
    dorm_scan_input si = {.table = B};
    dorm_pager_init_scan(&pg, C, &si);
  } else {
    dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("BIG")));
    dorm_query_input qi = {.table = B, .expr = &x};
    dorm_pager_init_query(&pg, C, &qi);
  }
  dorm_page p;
  int pages = 0;
  size_t total = 0, largest = 0, largest_bytes = 0, expected = scan ? BIG : BIG_PARTITION;
  uint64_t ops = it_operations(C);
  dorm_status st;
  while ((st = dorm_pager_next(&pg, &a, &p)) == DORM_OK && !pg.done) {
    pages++;
    total += p.count;
    if (p.count > largest) largest = p.count;
    size_t bytes = 0;
    for (size_t i = 0; i < p.count; i++) {
      size_t sz;
      assert_int_equal(dorm_item_size(&p.items[i], &sz), DORM_OK);
      bytes += sz;
      int64_t sk = it_get_n(&p.items[i], "SK");
      assert_true(sk >= 0 && sk < BIG);
      assert_int_equal(seen[sk], 0);
      seen[sk] = 1;
      assert_int_equal(dorm_av_map_get(&p.items[i], "pad")->u.s.len, PAD);
    }
    if (bytes > largest_bytes) largest_bytes = bytes;
    dorm_arena_reset(&a); /* the pager keeps its own copy of the last key */
  }
  assert_int_equal(st, DORM_OK);
  assert_int_equal(total, expected);
  for (size_t i = 0; i < expected; i++) assert_int_equal(seen[i], 1);
  /* DynamoDB cut the pages at 1 MB (of its item sizes; one item may cross it). */
  assert_true(pages >= (int)(expected * (PAD + 10) / (1024 * 1024)) + 1);
  assert_true(largest_bytes <= 1024 * 1024 + PAD + 64);
  assert_true(largest_bytes > 1000 * 1000);
  assert_int_equal(it_operations(C) - ops, (uint64_t)pages);
  print_message("# %s: %zu items in %d pages, at most %zu items (%zu bytes) per page\n", scan ? "Scan" : "Query",
                total, pages, largest, largest_bytes);
  dorm_pager_free(&pg);
  free(seen);
  dorm_arena_free(&a);
  dorm_arena_free(&ka);
}

static void test_query_pager_over_1mb_pages(void **state) {
  (void)state;
  page_all(false);
}

static void test_scan_pager_over_1mb_pages(void **state) {
  (void)state;
  page_all(true);
}

typedef struct ps_seen {
  unsigned char *seen;
  size_t total, dup;
  unsigned segments; /* bit per segment that delivered items */
  int in_callback;   /* >1 would mean two callbacks at once */
  int overlap;
} ps_seen;

static dorm_status on_page(void *user, uint32_t segment, const dorm_page *p) {
  ps_seen *s = user;
  if (++s->in_callback > 1) s->overlap = 1;
  for (size_t i = 0; i < p->count; i++) {
    int64_t sk = it_get_n(&p->items[i], "SK");
    if (sk < 0 || sk >= BIG || s->seen[sk]) s->dup++;
    else s->seen[sk] = 1;
  }
  s->total += p->count;
  if (p->count) s->segments |= 1u << segment;
  s->in_callback--;
  return DORM_OK;
}

static void test_parallel_scan(void **state) {
  (void)state;
  ps_seen s = {calloc(BIG, 1), 0, 0, 0, 0, 0};
  dorm_scan_input si = {.table = B};
  double t0 = it_now_ms();
  assert_int_equal(dorm_scan_parallel(C, &si, 4, 3, on_page, &s), DORM_OK);
  print_message("# parallel scan, 4 segments / 3 workers: %.0f ms\n", it_now_ms() - t0);
  assert_int_equal(s.total, BIG);
  assert_int_equal(s.dup, 0);
  for (int i = 0; i < BIG; i++) assert_int_equal(s.seen[i], 1);
  assert_int_equal(s.segments, 0xF);
  assert_int_equal(s.overlap, 0);
  free(s.seen);
}

static dorm_status stop_at_first(void *user, uint32_t segment, const dorm_page *p) {
  (void)segment;
  (void)p;
  ++*(int *)user;
  return DORM_ERR_IO;
}

static void test_errors(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char missing[64];
  it_name(missing, sizeof missing, "it_query_missing");
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("P")));
  dorm_query_input qi = {.table = missing, .expr = &x};
  dorm_page p;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_ERR_TABLE_NOT_FOUND);
  char want[128];
  snprintf(want, sizeof want, "Query: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, "request id", NULL);
  dorm_scan_input si = {.table = missing};
  assert_int_equal(dorm_scan(C, &si, &a, &p), DORM_ERR_TABLE_NOT_FOUND);
  snprintf(want, sizeof want, "Scan: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, NULL);
  /* A key condition on a non-key attribute. */
  dorm_expr y;
  dorm_expr_init(&y, &a);
  dorm_expr_key_condition(&y, dorm_cond_eq(&y, "status", dorm_av_str("open")));
  qi.table = Q;
  qi.expr = &y;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_ERR_VALIDATION);
  it_assert_msg(C, "Query: ValidationException", NULL);

  /* Refused before sending. */
  uint64_t before = it_attempts(C);
  dorm_expr none;
  dorm_expr_init(&none, &a);
  qi.expr = &none;
  assert_int_equal(dorm_query(C, &qi, &a, &p), DORM_ERR_INVALID_ARGUMENT);
  si.table = Q;
  si.segment = 4;
  si.total_segments = 4;
  assert_int_equal(dorm_scan(C, &si, &a, &p), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(it_attempts(C), before);

  /* A callback error stops a parallel scan and is returned. */
  int calls = 0;
  dorm_scan_input ps = {.table = B, .limit = 10};
  assert_int_equal(dorm_scan_parallel(C, &ps, 4, 3, stop_at_first, &calls), DORM_ERR_IO);
  assert_int_equal(calls, 1);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_conditions_and_order),
      cmocka_unit_test(test_filter_projection_count),
      cmocka_unit_test(test_limit_and_start_key),
      cmocka_unit_test(test_query_pager_over_1mb_pages),
      cmocka_unit_test(test_scan_pager_over_1mb_pages),
      cmocka_unit_test(test_parallel_scan),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
