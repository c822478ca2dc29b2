/* libdorm through dorm-faultproxy in front of DynamoDB Local: a 2,000-item
 * batch write under a mix of every retryable fault ends with every item
 * stored once, each fault retried once by the retry policy; a transaction
 * whose answer is lost is retried with the same ClientRequestToken and
 * applied once (where a plain UpdateItem, which has no token, is applied
 * twice: the contrast shows what the token buys); and with max_attempts 1 a
 * request is sent once, even when its kept-alive connection dies under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "faults_common.h"
#include "it_common.h"

#define N_ITEMS 2000

static fp_harness *FP;
static dorm_client *DIRECT; /* straight to DynamoDB Local: setup and checks */
static char TABLE[64];

static int setup(void **state) {
  (void)state;
  DIRECT = ts_ddb_client();
  FP = ft_proxy_start();
  it_name(TABLE, sizeof TABLE, "ft_batch");
  it_create_table(DIRECT, TABLE, "pk", DORM_KEY_S, NULL, DORM_KEY_NONE);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(DIRECT, TABLE);
  dorm_client_free(DIRECT);
  /* 0: the proxy stopped cleanly (and, under ASan, without leaks). */
  return fp_harness_stop(FP) == 0 ? 0 : -1;
}

static size_t count_items(dorm_client *c) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input si = {.table = TABLE, .select = DORM_SELECT_COUNT, .consistent_read = true};
  dorm_pager p;
  dorm_pager_init_scan(&p, c, &si);
  dorm_page page;
  size_t n = 0;
  dorm_status st;
  while ((st = dorm_pager_next(&p, &a, &page)) == DORM_OK && !p.done) n += page.count;
  if (st != DORM_OK) fail_msg("scan: %s", dorm_client_errmsg(c));
  dorm_pager_free(&p);
  dorm_arena_free(&a);
  return n;
}

static void test_batch_write_2000_under_mixed_faults(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av *items = dorm_arena_alloc(&a, N_ITEMS * sizeof *items);
  dorm_av *keys = dorm_arena_alloc(&a, N_ITEMS * sizeof *keys);
  dorm_batch_write_entry *e = dorm_arena_alloc(&a, N_ITEMS * sizeof *e);
  dorm_batch_get_entry *ge = dorm_arena_alloc(&a, N_ITEMS * sizeof *ge);
  assert_true(items && keys && e && ge);
  for (int i = 0; i < N_ITEMS; i++) {
    char pk[32];
    snprintf(pk, sizeof pk, "item-%05d", i);
    keys[i] = it_key_s(&a, "pk", pk);
    items[i] = it_key_s(&a, "pk", pk);
    it_set_n(&a, &items[i], "n", i);
    it_set_s(&a, &items[i], "payload", "a few dozen bytes so that a chunk of 25 is a realistic request body");
    e[i] = (dorm_batch_write_entry){TABLE, &items[i], NULL};
    ge[i] = (dorm_batch_get_entry){TABLE, &keys[i]};
  }

  /* 6% each of seven faults: 42% of BatchWriteItem requests fail somehow.
   * max_attempts 10 makes giving up on one chunk a 0.42^10 (~2e-4) event,
   * and the seed makes the run repeatable. */
  ft_plan(FP, "--seed 20261125 --only BatchWriteItem --p-500 0.06 --p-503 0.06 --p-throttle 0.06 "
              "--p-reset 0.06 --p-reset-after 0.06 --p-truncate 0.06 --p-badcrc 0.06");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 10, 0, &sl);
  size_t written = 0;
  double t0 = it_now_ms();
  dorm_status st = dorm_batch_write(c, e, N_ITEMS, NULL, &written);
  if (st != DORM_OK) fail_msg("batch write: %s", dorm_client_errmsg(c));
  assert_int_equal(written, N_ITEMS);

  dorm_client_stats s = ft_stats(c);
  long long inj[7];
  static const char *kinds[7] = {"injected.500",   "injected.503",         "injected.throttle", "injected.reset",
                                 "injected.reset_after", "injected.truncate", "injected.badcrc"};
  long long injected = 0;
  for (int k = 0; k < 7; k++) {
    inj[k] = ft_stat(FP, kinds[k]);
    injected += inj[k];
    if (inj[k] == 0) fail_msg("%s: no fault of this kind was injected", kinds[k]);
  }
  print_message("# %d items in %.0f ms: %llu calls, %llu attempts, %llu retries, %llu throttles; proxy: "
                "%lld requests, %lld faults (500 %lld, 503 %lld, throttle %lld, reset %lld, reset_after %lld, "
                "truncate %lld, badcrc %lld)\n",
                N_ITEMS, it_now_ms() - t0, (unsigned long long)s.operations, (unsigned long long)s.attempts,
                (unsigned long long)s.retries, (unsigned long long)s.throttles, ft_stat(FP, "requests"),
                injected, inj[0], inj[1], inj[2], inj[3], inj[4], inj[5], inj[6]);

  /* Every request the client sent is a call or a retry of one, and each
   * reached the proxy once: libcurl resent nothing by itself (http.c
   * refuses its resends on kept-alive connections), so every injected fault,
   * resets included, was seen by libdorm and retried by its policy once. */
  assert_int_equal(s.attempts, s.operations + s.retries);
  assert_true(s.operations >= N_ITEMS / 25);
  assert_int_equal(ft_stat(FP, "requests"), (long long)s.attempts);
  assert_int_equal((long long)s.retries, injected);
  assert_int_equal((long long)s.throttles, inj[2]);
  /* Each retry waited a backoff first. */
  assert_true(sl.calls >= (long)s.retries);
  assert_true(sl.total_ms > 0);
  dorm_client_free(c);

  /* Read back through the proxy with the plan cleared: every item, with
   * its own value... */
  ft_plan(FP, "");
  c = ft_client(fp_harness_endpoint(FP), 3, 0, NULL);
  dorm_av *got = dorm_arena_alloc(&a, N_ITEMS * sizeof *got);
  assert_non_null(got);
  size_t found = 0;
  st = dorm_batch_get(c, ge, N_ITEMS, &(dorm_batch_get_options){.consistent_read = true}, &a, got, &found);
  if (st != DORM_OK) fail_msg("batch get: %s", dorm_client_errmsg(c));
  assert_int_equal(found, N_ITEMS);
  for (int i = 0; i < N_ITEMS; i++) {
    if (got[i].type != DORM_AV_M) fail_msg("item %d is missing", i);
    assert_int_equal(it_get_n(&got[i], "n"), i);
  }
  assert_int_equal(ft_stat(FP, "passed"), ft_stat(FP, "requests"));
  dorm_client_free(c);
  /* ... and nothing else: the table holds exactly N_ITEMS items. */
  assert_int_equal(count_items(DIRECT), N_ITEMS);
  dorm_arena_free(&a);
}

static int64_t counter_value(dorm_arena *a, const dorm_av *key) {
  dorm_av item;
  dorm_get_input in = {.table = TABLE, .key = key, .consistent_read = true};
  if (dorm_get_item(DIRECT, &in, a, &item) != DORM_OK) fail_msg("%s", dorm_client_errmsg(DIRECT));
  return it_get_n(&item, "n");
}

/* One transaction: ADD n 1 to the counter, and put a marker item. */
static dorm_status add_one_in_transaction(dorm_client *c, dorm_arena *a, const dorm_av *key, const char *marker) {
  dorm_expr x;
  dorm_expr_init(&x, a);
  assert_int_equal(dorm_update_add(&x, "n", dorm_av_num("1")), DORM_OK);
  dorm_av m = it_key_s(a, "pk", marker);
  dorm_tx_write w[2] = {
      {.kind = DORM_TX_UPDATE, .table = TABLE, .key = key, .expr = &x},
      {.kind = DORM_TX_PUT, .table = TABLE, .item = &m},
  };
  return dorm_transact_write(c, w, 2, NULL, NULL);
}

static void test_transaction_with_lost_answer_applies_once(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char pk[64], marker[64];
  it_name(pk, sizeof pk, "tx_counter");
  it_name(marker, sizeof marker, "tx_marker");
  dorm_av key = it_key_s(&a, "pk", pk);

  /* A fresh client, so the transaction goes out on a new connection: the
   * reset then reaches libdorm (libcurl resends by itself only on a reused
   * connection) and libdorm's own retry resends it. */
  ft_plan(FP, "--only TransactWriteItems --script reset_after,pass --script-mode once");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  dorm_status st = add_one_in_transaction(c, &a, &key, marker);
  if (st != DORM_OK) fail_msg("transaction: %s", dorm_client_errmsg(c));
  assert_int_equal(ft_stat(FP, "injected.reset_after"), 1);
  assert_int_equal(ft_stat(FP, "forwarded"), 2); /* both attempts reached DynamoDB */
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 2);
  assert_int_equal(s.retries, 1);
  assert_int_equal(sl.calls, 1);
  assert_int_equal(counter_value(&a, &key), 1); /* applied once: the retry carried the same token */

  /* The same on a kept-alive connection, where libcurl would resend on its
   * own: libdorm refuses that resend and retries by its policy instead
   * (counted), and the token still makes it apply once. */
  dorm_av got;
  dorm_get_input gi = {.table = TABLE, .key = &key};
  assert_int_equal(dorm_get_item(c, &gi, &a, &got), DORM_OK); /* warms the connection */
  s = ft_stats(c);
  ft_plan(FP, "--only TransactWriteItems --script reset_after,pass --script-mode once");
  st = add_one_in_transaction(c, &a, &key, marker);
  if (st != DORM_OK) fail_msg("transaction: %s", dorm_client_errmsg(c));
  assert_int_equal(ft_stat(FP, "injected.reset_after"), 1);
  assert_int_equal(ft_stat(FP, "forwarded"), 2);
  assert_int_equal(ft_stats(c).retries - s.retries, 1);
  assert_int_equal(counter_value(&a, &key), 2);
  dorm_client_free(c);

  /* The contrast: an UpdateItem carries no token, so the same lost answer
   * makes its retry apply the ADD a second time. */
  ft_plan(FP, "--only UpdateItem --script reset_after,pass --script-mode once");
  c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  dorm_expr x;
  dorm_expr_init(&x, &a);
  assert_int_equal(dorm_update_add(&x, "n", dorm_av_num("1")), DORM_OK);
  dorm_update_input ui = {.table = TABLE, .key = &key, .expr = &x};
  assert_int_equal(dorm_update_item(c, &ui, &a, NULL), DORM_OK);
  assert_int_equal(ft_stats(c).retries, 1);
  assert_int_equal(counter_value(&a, &key), 4);
  dorm_client_free(c);
  dorm_arena_free(&a);
}

/* max_attempts 1 means a request is sent once, even when a kept-alive
 * connection dies under it (where libcurl on its own would resend it and
 * apply a non-idempotent write twice): the caller gets a network error that
 * says the write may have been applied, and it was applied exactly once. */
static void test_no_retries_means_one_send(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char pk[64];
  it_name(pk, sizeof pk, "once_counter");
  dorm_av key = it_key_s(&a, "pk", pk);
  ft_plan(FP, "--only UpdateItem --script reset_after,pass --script-mode once");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 1, 0, &sl);
  dorm_av got;
  dorm_get_input gi = {.table = TABLE, .key = &key};
  assert_int_equal(dorm_get_item(c, &gi, &a, &got), DORM_ERR_NOT_FOUND); /* warms the connection */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  assert_int_equal(dorm_update_add(&x, "n", dorm_av_num("1")), DORM_OK);
  dorm_update_input ui = {.table = TABLE, .key = &key, .expr = &x};
  assert_int_equal(dorm_update_item(c, &ui, &a, NULL), DORM_ERR_NETWORK);
  it_assert_msg(c, "UpdateItem: ", "may have been applied", NULL);
  print_message("# %s\n", dorm_client_errmsg(c));
  assert_int_equal(ft_stat(FP, "forwarded"), 2); /* the GetItem and one UpdateItem */
  assert_int_equal(ft_stat(FP, "injected.reset_after"), 1);
  assert_int_equal(counter_value(&a, &key), 1);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 2);
  assert_int_equal(s.retries, 0);
  assert_int_equal(sl.calls, 0);

  dorm_client_free(c);

  /* With retries allowed, a reset on a kept-alive connection is retried by
   * libdorm's policy: counted, after a backoff, on a new connection. */
  c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  assert_int_equal(dorm_get_item(c, &gi, &a, &got), DORM_OK); /* warms the connection */
  ft_plan(FP, "--only GetItem --script reset,pass --script-mode once");
  assert_int_equal(dorm_get_item(c, &gi, &a, &got), DORM_OK);
  assert_int_equal(it_get_n(&got, "n"), 1);
  s = ft_stats(c);
  assert_int_equal(s.attempts, 3);
  assert_int_equal(s.retries, 1);
  /* The first connection, the retry's, and (libcurl 7.80+) the one libcurl
   * opened for its own resend before that was refused, with nothing sent. */
  assert_true(s.connections >= 2 && s.connections <= 3);
  assert_int_equal(sl.calls, 1);
  assert_int_equal(ft_stat(FP, "requests"), 2); /* the reset one and the retry */
  dorm_client_free(c);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_write_2000_under_mixed_faults),
      cmocka_unit_test(test_transaction_with_lost_answer_applies_once),
      cmocka_unit_test(test_no_retries_means_one_send),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
