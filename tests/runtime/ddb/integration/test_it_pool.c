/* Many requests in flight from one thread (dorm/pool.h) against DynamoDB
 * Local: 10,000 items written with dorm_batch_write at 4 requests in flight
 * and read back with dorm_batch_get the same way, a parallel scan that counts
 * what a sequential scan counts, and a raw pool where one request's error
 * stays with that request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

#define N 10000

static dorm_client *C;
static char T[64], T2[64];

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(T, sizeof T, "it_pool");
  it_create_table(C, T, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  it_name(T2, sizeof T2, "it_pool_copy");
  it_create_table(C, T2, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, T);
  it_drop_table(C, T2);
  dorm_client_free(C);
  return 0;
}

static dorm_av key_of(dorm_arena *a, int i) {
  char pk[16];
  snprintf(pk, sizeof pk, "p%05d", i);
  return it_key_s(a, "PK", pk);
}

static void test_bulk_write_and_read_back(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av *items = dorm_arena_alloc(&a, N * sizeof *items);
  dorm_av *keys = dorm_arena_alloc(&a, N * sizeof *keys);
  dorm_batch_write_entry *e = dorm_arena_alloc(&a, N * sizeof *e);
  dorm_batch_get_entry *ge = dorm_arena_alloc(&a, N * sizeof *ge);
  assert_true(items && keys && e && ge);
  for (int i = 0; i < N; i++) {
    items[i] = key_of(&a, i);
    keys[i] = key_of(&a, i);
    it_set_n(&a, &items[i], "n", (int64_t)i * 3);
    it_set_s(&a, &items[i], "text", "a line of text so that a chunk is a realistic request");
    e[i] = (dorm_batch_write_entry){T, &items[i], NULL};
    ge[i] = (dorm_batch_get_entry){T, &keys[i]};
  }
  uint64_t ops = it_operations(C);
  dorm_client_stats s0, s1;
  dorm_client_get_stats(C, &s0);
  double t0 = it_now_ms();
  size_t written = 0;
  dorm_batch_write_options wo = {.max_in_flight = 4};
  dorm_status st = dorm_batch_write(C, e, N, &wo, &written);
  if (st != DORM_OK) fail_msg("batch write: %s", dorm_client_errmsg(C));
  print_message("# BatchWriteItem, 4 in flight: %d items in %.0f ms\n", N, it_now_ms() - t0);
  assert_int_equal(written, N);
  assert_int_equal(it_operations(C) - ops, N / 25);
  /* 4 really went out at once: libcurl opens a connection only when every
   * open one is busy, so 4 in flight at once open 4 (then reused for the
   * other 396 requests; a pool that sent one at a time would open 1). */
  dorm_client_get_stats(C, &s1);
  print_message("# connections opened: %ld\n", s1.connections - s0.connections);
  assert_true(s1.connections - s0.connections >= 4);
  assert_true(s1.connections - s0.connections <= 8);

  dorm_arena ra = DORM_ARENA_INIT;
  dorm_av *got = calloc(N, sizeof *got);
  size_t found = 0;
  dorm_batch_get_options go = {.consistent_read = true, .max_in_flight = 4};
  t0 = it_now_ms();
  st = dorm_batch_get(C, ge, N, &go, &ra, got, &found);
  if (st != DORM_OK) fail_msg("batch get: %s", dorm_client_errmsg(C));
  print_message("# BatchGetItem, 4 in flight: %d items in %.0f ms\n", N, it_now_ms() - t0);
  assert_int_equal(found, N);
  for (int i = 0; i < N; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "p%05d", i);
    assert_string_equal(it_get_s(&got[i], "PK"), pk);
    assert_int_equal(it_get_n(&got[i], "n"), (int64_t)i * 3);
  }
  free(got);
  dorm_arena_free(&ra);
  dorm_arena_free(&a);
}

typedef struct counts {
  size_t items;
  size_t pages;
  uint32_t segments_seen[8];
} counts;

static dorm_status count_page(void *user, uint32_t segment, const dorm_page *page) {
  counts *c = user;
  c->items += page->count;
  c->pages++;
  if (segment < 8) c->segments_seen[segment]++;
  return DORM_OK;
}

static void test_parallel_scan_counts_like_a_sequential_one(void **state) {
  (void)state;
  /* Sequential: the pager over the whole table, pages of 500. */
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input si = {.table = T, .limit = 500, .consistent_read = true};
  dorm_pager p;
  dorm_pager_init_scan(&p, C, &si);
  dorm_page page;
  size_t sequential = 0;
  while (dorm_pager_next(&p, &a, &page) == DORM_OK && !p.done) {
    sequential += page.count;
    dorm_arena_reset(&a);
  }
  dorm_pager_free(&p);
  dorm_arena_free(&a);
  assert_int_equal(sequential, N);

  /* 8 segments, 3 requests in flight from this thread. */
  counts c = {0};
  double t0 = it_now_ms();
  dorm_status st = dorm_scan_parallel(C, &si, 8, 3, count_page, &c);
  if (st != DORM_OK) fail_msg("parallel scan: %s", dorm_client_errmsg(C));
  print_message("# parallel scan, 8 segments / 3 in flight: %zu items, %zu pages in %.0f ms\n", c.items, c.pages,
                it_now_ms() - t0);
  assert_int_equal(c.items, sequential);
  for (int s = 0; s < 8; s++) assert_true(c.segments_seen[s] >= 1);
}

/* Each page of the scan is written to T2 with a batch write on the same
 * client, from inside the scan's callback: the batch gets a pool of its own
 * while the scan's is running. */
static dorm_status copy_page(void *user, uint32_t segment, const dorm_page *page) {
  (void)segment;
  size_t *copied = user;
  dorm_batch_write_entry *e = calloc(page->count ? page->count : 1, sizeof *e);
  if (!e) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < page->count; i++) e[i] = (dorm_batch_write_entry){T2, &page->items[i], NULL};
  size_t written = 0;
  dorm_batch_write_options wo = {.max_in_flight = 2};
  dorm_status st = dorm_batch_write(C, e, page->count, &wo, &written);
  *copied += written;
  free(e);
  return st;
}

static void test_batch_write_inside_a_parallel_scan(void **state) {
  (void)state;
  dorm_scan_input si = {.table = T, .limit = 300, .consistent_read = true};
  size_t copied = 0;
  dorm_status st = dorm_scan_parallel(C, &si, 4, 2, copy_page, &copied);
  if (st != DORM_OK) fail_msg("scan and copy: %s", dorm_client_errmsg(C));
  assert_int_equal(copied, N);
  counts c = {0};
  dorm_scan_input s2 = {.table = T2, .consistent_read = true};
  assert_int_equal(dorm_scan_parallel(C, &s2, 3, 3, count_page, &c), DORM_OK);
  assert_int_equal(c.items, N);
}

typedef struct one {
  dorm_status status;
  int calls;
  char errmsg[512];
} one;

static void on_done(void *user, const dorm_pool_result *r) {
  one *o = user;
  o->calls++;
  o->status = r->status;
  snprintf(o->errmsg, sizeof o->errmsg, "%s", r->errmsg);
}

static void test_raw_pool_errors_per_request(void **state) {
  (void)state;
  dorm_pool *p;
  assert_int_equal(dorm_pool_new(C, 3, &p), DORM_OK);
  enum { M = 40 };
  one r[M] = {{0}};
  char body[256];
  for (int i = 0; i < M; i++) {
    /* Every 10th request goes to a table that does not exist. */
    snprintf(body, sizeof body, "{\"TableName\":\"%s\",\"Key\":{\"PK\":{\"S\":\"p%05d\"}}}",
             i % 10 == 7 ? "it_pool_no_such_table" : T, i);
    dorm_pool_request rq = {.operation = "GetItem", .body = body, .body_len = strlen(body), .on_done = on_done,
                            .user = &r[i]};
    assert_int_equal(dorm_pool_submit(p, &rq), DORM_OK);
  }
  assert_int_equal(dorm_pool_run(p), DORM_OK);
  for (int i = 0; i < M; i++) {
    assert_int_equal(r[i].calls, 1);
    if (i % 10 == 7) {
      assert_int_equal(r[i].status, DORM_ERR_TABLE_NOT_FOUND);
      assert_non_null(strstr(r[i].errmsg, "GetItem: ResourceNotFoundException"));
    } else {
      assert_int_equal(r[i].status, DORM_OK);
    }
  }
  /* The client still works for single calls beside its pool. */
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av k = key_of(&a, 1), item;
  dorm_get_input gi = {.table = T, .key = &k};
  assert_int_equal(dorm_get_item(C, &gi, &a, &item), DORM_OK);
  dorm_arena_free(&a);
  dorm_pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bulk_write_and_read_back),
      cmocka_unit_test(test_parallel_scan_counts_like_a_sequential_one),
      cmocka_unit_test(test_raw_pool_errors_per_request),
      cmocka_unit_test(test_batch_write_inside_a_parallel_scan),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
