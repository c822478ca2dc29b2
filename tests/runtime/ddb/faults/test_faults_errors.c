/* How libdorm reports each kind of fault, seen through dorm-faultproxy in
 * front of DynamoDB Local (or a port nobody listens on): what is retried and
 * how often (counted by the client and by the proxy), the final status and
 * the message, and that a healthy connection is kept alive. */
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

static fp_harness *FP;
static dorm_client *DIRECT; /* straight to DynamoDB Local */
static char TABLE[64];
static dorm_arena A = DORM_ARENA_INIT;
static dorm_av KEY, ITEM; /* an item stored in setup */

static int setup(void **state) {
  (void)state;
  DIRECT = ts_ddb_client();
  FP = ft_proxy_start();
  it_name(TABLE, sizeof TABLE, "ft_errors");
  it_create_table(DIRECT, TABLE, "pk", DORM_KEY_S, NULL, DORM_KEY_NONE);
  KEY = it_key_s(&A, "pk", "stored");
  ITEM = it_key_s(&A, "pk", "stored");
  it_set_s(&A, &ITEM, "text", "the stored item");
  dorm_put_input pi = {.table = TABLE, .item = &ITEM};
  if (dorm_put_item(DIRECT, &pi, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(DIRECT));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(DIRECT, TABLE);
  dorm_client_free(DIRECT);
  dorm_arena_free(&A);
  return fp_harness_stop(FP) == 0 ? 0 : -1;
}

static dorm_status get_stored(dorm_client *c, dorm_av *item) {
  dorm_get_input in = {.table = TABLE, .key = &KEY};
  return dorm_get_item(c, &in, &A, item);
}

static void test_validation_error_is_not_retried(void **state) {
  (void)state;
  ft_plan(FP, "--script validation");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 10, 0, &sl);
  dorm_put_input pi = {.table = TABLE, .item = &ITEM};
  assert_int_equal(dorm_put_item(c, &pi, NULL, NULL), DORM_ERR_VALIDATION);
  assert_int_equal(ft_stat(FP, "requests"), 1);
  assert_int_equal(ft_stat(FP, "forwarded"), 0);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 1);
  assert_int_equal(s.retries, 0);
  assert_int_equal(sl.calls, 0);
  assert_string_equal(dorm_client_error_code(c), "ValidationException");
  it_assert_msg(c, "PutItem: ", "ValidationException", "HTTP 400", NULL);
  ft_show(c);
  assert_null(strstr(dorm_client_errmsg(c), "attempts"));
  dorm_client_free(c);
}

static void test_timeout_is_retried_then_reported(void **state) {
  (void)state;
  /* Every answer comes 2.5 s late; the client gives up on each after 0.8 s
   * (long enough for a timely answer even under ASan on a busy machine). */
  ft_plan(FP, "--script slow --delay-ms 2500");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 800, &sl);
  dorm_av item;
  double t0 = it_now_ms();
  assert_int_equal(get_stored(c, &item), DORM_ERR_TIMEOUT);
  double ms = it_now_ms() - t0;
  assert_int_equal(ft_stat(FP, "requests"), 3);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 3);
  assert_int_equal(s.retries, 2);
  assert_int_equal(sl.calls, 2);
  assert_true(ms >= 3 * 800 - 50); /* each attempt waited for its timeout */
  it_assert_msg(c, "GetItem: ", "3 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);

  /* One late answer, then a timely one: the retry succeeds. */
  ft_plan(FP, "--script slow,pass --script-mode once --delay-ms 2500");
  c = ft_client(fp_harness_endpoint(FP), 3, 800, &sl);
  assert_int_equal(get_stored(c, &item), DORM_OK);
  assert_string_equal(it_get_s(&item, "text"), "the stored item");
  assert_int_equal(ft_stats(c).retries, 1);
  assert_int_equal(ft_stat(FP, "requests"), 2);
  assert_string_equal(dorm_client_errmsg(c), "");
  dorm_client_free(c);
}

static void test_connection_refused_is_retried_then_reported(void **state) {
  (void)state;
  char endpoint[64];
  ft_refused_endpoint(endpoint, sizeof endpoint);
  ft_sleeps sl;
  dorm_client *c = ft_client(endpoint, 3, 0, &sl);
  dorm_av item;
  assert_int_equal(get_stored(c, &item), DORM_ERR_NETWORK);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 3);
  assert_int_equal(s.retries, 2);
  assert_int_equal(sl.calls, 2);
  assert_int_equal(s.connections, 0);
  it_assert_msg(c, "GetItem: ", "connect", "3 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);
}

static void test_throttling_outlasts_retries(void **state) {
  (void)state;
  ft_plan(FP, "--script throttle");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 4, 0, &sl);
  dorm_put_input pi = {.table = TABLE, .item = &ITEM};
  assert_int_equal(dorm_put_item(c, &pi, NULL, NULL), DORM_ERR_THROTTLED);
  assert_int_equal(ft_stat(FP, "requests"), 4);
  assert_int_equal(ft_stat(FP, "injected.throttle"), 4);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 4);
  assert_int_equal(s.throttles, 4);
  assert_int_equal(sl.calls, 3);
  /* Throttling backs off from 1 s: retry k waits at most 1000 * 2^(k-1) ms. */
  assert_true(sl.max_ms <= 4000);
  assert_string_equal(dorm_client_error_code(c), "ProvisionedThroughputExceededException");
  it_assert_msg(c, "PutItem: ", "ProvisionedThroughputExceededException", "4 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);

  /* The other throttling code, ThrottlingException, is the same. */
  ft_plan(FP, "--script throttling");
  c = ft_client(fp_harness_endpoint(FP), 2, 0, &sl);
  assert_int_equal(dorm_put_item(c, &pi, NULL, NULL), DORM_ERR_THROTTLED);
  assert_int_equal(ft_stat(FP, "requests"), 2);
  it_assert_msg(c, "PutItem: ", "ThrottlingException", "2 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);
}

static void test_server_errors_outlast_retries(void **state) {
  (void)state;
  ft_plan(FP, "--script 500,503");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  dorm_av item;
  assert_int_equal(get_stored(c, &item), DORM_ERR_SERVICE);
  assert_int_equal(ft_stat(FP, "requests"), 3);
  assert_int_equal(ft_stats(c).attempts, 3);
  it_assert_msg(c, "GetItem: ", "InternalServerError", "HTTP 500", "3 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);
}

static void test_bad_crc_on_every_response(void **state) {
  (void)state;
  ft_plan(FP, "--script badcrc");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  dorm_av item;
  assert_int_equal(get_stored(c, &item), DORM_ERR_BAD_RESPONSE);
  assert_int_equal(ft_stat(FP, "requests"), 3);
  assert_int_equal(ft_stat(FP, "injected.badcrc"), 3);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 3);
  assert_int_equal(sl.calls, 2);
  it_assert_msg(c, "GetItem: ", "CRC32 mismatch", "3 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);

  /* One bad CRC, then a good answer: retried, and the item is right. */
  ft_plan(FP, "--script badcrc,pass --script-mode once");
  c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  assert_int_equal(get_stored(c, &item), DORM_OK);
  assert_string_equal(it_get_s(&item, "text"), "the stored item");
  assert_int_equal(ft_stats(c).retries, 1);
  dorm_client_free(c);
}

static void test_truncated_body_is_retried(void **state) {
  (void)state;
  ft_plan(FP, "--script truncate,pass --script-mode once");
  ft_sleeps sl;
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  dorm_av item;
  assert_int_equal(get_stored(c, &item), DORM_OK);
  assert_string_equal(it_get_s(&item, "text"), "the stored item");
  assert_int_equal(ft_stat(FP, "requests"), 2);
  assert_int_equal(ft_stat(FP, "injected.truncate"), 1);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 2);
  assert_int_equal(s.retries, 1);
  /* The half body killed that connection; the retry opened another. */
  assert_int_equal(s.connections, 2);
  dorm_client_free(c);

  /* Truncated every time: a network error after the retries. */
  ft_plan(FP, "--script truncate");
  c = ft_client(fp_harness_endpoint(FP), 3, 0, &sl);
  assert_int_equal(get_stored(c, &item), DORM_ERR_NETWORK);
  assert_int_equal(ft_stat(FP, "requests"), 3);
  it_assert_msg(c, "GetItem: ", "3 attempts", NULL);
  ft_show(c);
  dorm_client_free(c);
}

static void test_keep_alive_one_connection(void **state) {
  (void)state;
  ft_plan(FP, "");
  dorm_client *c = ft_client(fp_harness_endpoint(FP), 3, 0, NULL);
  for (int i = 0; i < 100; i++) {
    dorm_av item;
    dorm_status st = get_stored(c, &item);
    if (st != DORM_OK) fail_msg("GetItem %d: %s", i, dorm_client_errmsg(c));
  }
  /* The proxy saw two connections: the client's one, and the one this
   * stats request itself came on (read first, before other control calls). */
  assert_int_equal(ft_stat(FP, "connections.accepted"), 2);
  assert_int_equal(ft_stat(FP, "requests"), 100);
  dorm_client_stats s = ft_stats(c);
  assert_int_equal(s.attempts, 100);
  assert_int_equal(s.connections, 1);
  dorm_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validation_error_is_not_retried),
      cmocka_unit_test(test_timeout_is_retried_then_reported),
      cmocka_unit_test(test_connection_refused_is_retried_then_reported),
      cmocka_unit_test(test_throttling_outlasts_retries),
      cmocka_unit_test(test_server_errors_outlast_retries),
      cmocka_unit_test(test_bad_crc_on_every_response),
      cmocka_unit_test(test_truncated_body_is_retried),
      cmocka_unit_test(test_keep_alive_one_connection),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
