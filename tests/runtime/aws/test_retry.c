#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "retry.h"

/* A scripted random source: returns the values in order, then repeats the last. */
typedef struct script {
  const double *v;
  size_t n, i;
  int calls;
} script;

static double scripted(void *ctx) {
  script *s = ctx;
  s->calls++;
  double r = s->v[s->i < s->n ? s->i : s->n - 1];
  if (s->i < s->n) s->i++;
  return r;
}

static double almost_one(void *ctx) {
  (void)ctx;
  return 0.999999999;
}

static void classification_table(void **state) {
  (void)state;
  static const struct {
    const char *code;
    long status;
    int curl;
    dorm_retry_kind want;
  } rows[] = {
    /* throttling codes (the SDKs' list) */
    {"ThrottlingException", 400, 0, DORM_RETRY_THROTTLING},
    {"ProvisionedThroughputExceededException", 400, 0, DORM_RETRY_THROTTLING},
    {"RequestLimitExceeded", 400, 0, DORM_RETRY_THROTTLING},
    {"TransactionInProgressException", 400, 0, DORM_RETRY_THROTTLING},
    {"RequestThrottled", 400, 0, DORM_RETRY_THROTTLING},
    {"TooManyRequestsException", 400, 0, DORM_RETRY_THROTTLING},
    {"LimitExceededException", 400, 0, DORM_RETRY_THROTTLING},
    {"Throttling", 400, 0, DORM_RETRY_THROTTLING},
    {"com.amazonaws.dynamodb.v20120810#ThrottlingException", 400, 0, DORM_RETRY_THROTTLING},
    {NULL, 429, 0, DORM_RETRY_THROTTLING},
    /* transient */
    {"InternalServerError", 500, 0, DORM_RETRY_TRANSIENT},
    {"ServiceUnavailable", 503, 0, DORM_RETRY_TRANSIENT},
    {"RequestTimeout", 400, 0, DORM_RETRY_TRANSIENT},
    {"RequestTimeoutException", 400, 0, DORM_RETRY_TRANSIENT},
    {NULL, 500, 0, DORM_RETRY_TRANSIENT},
    {"", 502, 0, DORM_RETRY_TRANSIENT},
    {NULL, 503, 0, DORM_RETRY_TRANSIENT},
    {NULL, 504, 0, DORM_RETRY_TRANSIENT},
    /* never retried */
    {"ConditionalCheckFailedException", 400, 0, DORM_RETRY_NONE},
    {"ValidationException", 400, 0, DORM_RETRY_NONE},
    {"TransactionCanceledException", 400, 0, DORM_RETRY_NONE},
    {"TransactionConflictException", 400, 0, DORM_RETRY_NONE},
    {"ResourceNotFoundException", 400, 0, DORM_RETRY_NONE},
    {"AccessDeniedException", 400, 0, DORM_RETRY_NONE},
    {"UnrecognizedClientException", 400, 0, DORM_RETRY_NONE},
    {"InvalidSignatureException", 400, 0, DORM_RETRY_NONE},
    {"ExpiredTokenException", 400, 0, DORM_RETRY_NONE},
    {"MissingAuthenticationTokenException", 403, 0, DORM_RETRY_NONE},
    {NULL, 400, 0, DORM_RETRY_NONE},
    {NULL, 403, 0, DORM_RETRY_NONE},
    {NULL, 501, 0, DORM_RETRY_NONE},
    {NULL, 200, 0, DORM_RETRY_NONE},
    /* transport failures (a curl code decides alone) */
    {NULL, 0, CURLE_OPERATION_TIMEDOUT, DORM_RETRY_TIMEOUT},
    {NULL, 0, CURLE_COULDNT_CONNECT, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_COULDNT_RESOLVE_HOST, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_RECV_ERROR, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_SEND_ERROR, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_GOT_NOTHING, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_PARTIAL_FILE, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_SSL_CONNECT_ERROR, DORM_RETRY_TRANSIENT},
    {NULL, 0, CURLE_URL_MALFORMAT, DORM_RETRY_NONE},
    {NULL, 0, CURLE_PEER_FAILED_VERIFICATION, DORM_RETRY_NONE},
    {NULL, 0, CURLE_WRITE_ERROR, DORM_RETRY_NONE},
    {NULL, 0, CURLE_OUT_OF_MEMORY, DORM_RETRY_NONE},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    dorm_retry_kind got = dorm__retry_classify(rows[i].code, rows[i].status, rows[i].curl);
    if (got != rows[i].want)
      fprintf(stderr, "row %zu (%s, %ld, %d): got %d want %d\n", i, rows[i].code ? rows[i].code : "-",
              rows[i].status, rows[i].curl, got, rows[i].want);
    assert_int_equal(got, rows[i].want);
  }
  assert_int_equal(dorm__retry_classify_status(DORM_ERR_TIMEOUT), DORM_RETRY_TIMEOUT);
  assert_int_equal(dorm__retry_classify_status(DORM_ERR_NETWORK), DORM_RETRY_TRANSIENT);
  assert_int_equal(dorm__retry_classify_status(DORM_ERR_BAD_RESPONSE), DORM_RETRY_NONE);
  assert_int_equal(dorm__retry_classify_status(DORM_OK), DORM_RETRY_NONE);
}

static void standard_defaults(void **state) {
  (void)state;
  dorm_retry_settings s;
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_UNSET);
  assert_int_equal(s.mode, DORM_RETRY_MODE_STANDARD);
  assert_int_equal(s.max_attempts, 3);
  assert_int_equal(s.max_backoff_ms, 20000);
  assert_int_equal(s.quota_capacity, 500);
  assert_int_equal(s.retry_cost, 5);
  assert_int_equal(s.timeout_retry_cost, 10);
  assert_int_equal(s.no_retry_increment, 1);
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_LEGACY);
  assert_int_equal(s.mode, DORM_RETRY_MODE_LEGACY);
  assert_int_equal(s.max_attempts, 11);
  assert_int_equal(s.quota_capacity, 0);
}

static void full_jitter_bounds(void **state) {
  (void)state;
  dorm_retry_settings s;
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_STANDARD);
  dorm_retry_policy p;

  /* Random ~1 gives the top of the range: base * 2^(k-1), capped at 20 s. */
  dorm__retry_policy_init(&p, &s, almost_one, NULL);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_TRANSIENT, 1), 24);  /* < 25 */
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_TRANSIENT, 2), 49);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_TRANSIENT, 5), 399);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 1), 999);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 3), 3999);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 6), 19999); /* 32 s capped */
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 1000), 19999);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_TIMEOUT, 11), 19999);   /* 25.6 s capped */

  /* Random 0 gives 0; 0.5 gives half the ceiling. */
  const double half[] = {0.0, 0.5, 0.5};
  script sc = {half, 3, 0, 0};
  dorm__retry_policy_init(&p, &s, scripted, &sc);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 2), 0);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 2), 1000);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 10), 10000);
  assert_int_equal(sc.calls, 3);

  /* A random source that misbehaves is clamped, never a negative or huge delay. */
  const double wild[] = {-3.0, 7.0};
  script w = {wild, 2, 0, 0};
  dorm__retry_policy_init(&p, &s, scripted, &w);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 40), 0);
  assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, 40), 20000);

  /* The private PRNG: every delay within [0, min(20 s, base*2^(k-1))], and
   * the draws actually spread over the range. */
  dorm__retry_policy_init(&p, &s, NULL, NULL);
  long lo = 20000, hi = 0;
  for (int k = 1; k <= 40; k++) {
    for (int j = 0; j < 200; j++) {
      long base = 1000;
      long ceiling = k - 1 >= 5 ? 20000 : base << (k - 1);
      if (ceiling > 20000) ceiling = 20000;
      long d = dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, k);
      assert_true(d >= 0 && d <= ceiling);
      if (k >= 6) {
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
    }
  }
  assert_true(lo < 2000);
  assert_true(hi > 18000);
}

static void legacy_delays(void **state) {
  (void)state;
  dorm_retry_settings s;
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_LEGACY);
  script sc = {(const double[]){0.5}, 1, 0, 0};
  dorm_retry_policy p;
  dorm__retry_policy_init(&p, &s, scripted, &sc);
  const long want[] = {0, 50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000};
  for (int k = 1; k <= 12; k++) assert_int_equal(dorm__retry_delay_ms(&p, DORM_RETRY_THROTTLING, k), want[k - 1]);
  assert_int_equal(sc.calls, 0); /* legacy has no jitter */
  /* No quota: retries are never refused for budget. */
  int cost = -1;
  for (int i = 0; i < 1000; i++) assert_true(dorm__retry_quota_acquire(&p, DORM_RETRY_TIMEOUT, &cost));
  assert_int_equal(cost, 0);
}

static void quota_exhaustion_and_refunds(void **state) {
  (void)state;
  dorm_retry_settings s;
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_STANDARD);
  dorm_retry_policy p;
  dorm__retry_policy_init(&p, &s, almost_one, NULL);
  assert_int_equal(p.tokens, 500);
  int cost, n = 0;
  while (dorm__retry_quota_acquire(&p, DORM_RETRY_THROTTLING, &cost)) {
    assert_int_equal(cost, 5);
    n++;
  }
  assert_int_equal(n, 100);
  assert_int_equal(p.tokens, 0);
  assert_int_equal(cost, 0);

  dorm__retry_quota_release(&p, 5);
  assert_false(dorm__retry_quota_acquire(&p, DORM_RETRY_TIMEOUT, &cost)); /* needs 10 */
  assert_int_equal(p.tokens, 5);
  assert_true(dorm__retry_quota_acquire(&p, DORM_RETRY_TRANSIENT, &cost));
  assert_int_equal(p.tokens, 0);

  dorm__retry_policy_init(&p, &s, almost_one, NULL);
  n = 0;
  while (dorm__retry_quota_acquire(&p, DORM_RETRY_TIMEOUT, &cost)) n++;
  assert_int_equal(n, 50);

  /* Refunds never overflow the capacity. */
  dorm__retry_quota_release(&p, 10000);
  assert_int_equal(p.tokens, 500);
  dorm__retry_quota_release(&p, -5);
  assert_int_equal(p.tokens, 500);
}

static void request_bookkeeping(void **state) {
  (void)state;
  dorm_retry_settings s;
  dorm__retry_settings_defaults(&s, DORM_RETRY_MODE_STANDARD);
  dorm_retry_policy p;
  dorm__retry_policy_init(&p, &s, almost_one, NULL);
  dorm_retry_state st;
  long delay;
  char why[128];

  /* Throttled twice with max 3 attempts: two retries, then give up. */
  dorm__retry_begin(&st);
  assert_true(dorm__retry_next(&p, &st, DORM_RETRY_THROTTLING, &delay, why, sizeof why));
  assert_int_equal(delay, 999);
  assert_int_equal(p.tokens, 495);
  assert_true(dorm__retry_next(&p, &st, DORM_RETRY_TIMEOUT, &delay, why, sizeof why));
  assert_int_equal(delay, 49);
  assert_int_equal(p.tokens, 485);
  assert_false(dorm__retry_next(&p, &st, DORM_RETRY_THROTTLING, &delay, why, sizeof why));
  assert_string_equal(why, "gave up after 3 attempts");
  assert_int_equal(p.tokens, 485);

  /* Success after a retry refunds that retry's cost. */
  dorm__retry_begin(&st);
  assert_true(dorm__retry_next(&p, &st, DORM_RETRY_TIMEOUT, &delay, why, sizeof why));
  assert_int_equal(p.tokens, 475);
  dorm__retry_succeeded(&p, &st);
  assert_int_equal(p.tokens, 485);

  /* Success at the first attempt adds the no-retry increment. */
  dorm__retry_begin(&st);
  dorm__retry_succeeded(&p, &st);
  assert_int_equal(p.tokens, 486);

  /* Not retryable: no tokens taken. */
  dorm__retry_begin(&st);
  assert_false(dorm__retry_next(&p, &st, DORM_RETRY_NONE, &delay, why, sizeof why));
  assert_string_equal(why, "not retryable");
  assert_int_equal(p.tokens, 486);

  /* An exhausted quota stops retries at once. */
  p.tokens = 4;
  dorm__retry_begin(&st);
  assert_false(dorm__retry_next(&p, &st, DORM_RETRY_TRANSIENT, &delay, why, sizeof why));
  assert_string_equal(why, "retry quota exhausted after 1 attempt (4 of 500 tokens left)");
  assert_int_equal(delay, 0);

  /* max_attempts 1 never retries. */
  s.max_attempts = 1;
  dorm__retry_policy_init(&p, &s, almost_one, NULL);
  dorm__retry_begin(&st);
  assert_false(dorm__retry_next(&p, &st, DORM_RETRY_THROTTLING, &delay, why, sizeof why));
  assert_string_equal(why, "gave up after 1 attempt");
}

static void policies_are_independent(void **state) {
  (void)state;
  /* Two clients with the same scripted source see the same delays, and one
   * client's quota does not affect the other's. */
  const double v[] = {0.25, 0.75};
  script a = {v, 2, 0, 0}, b = {v, 2, 0, 0};
  dorm_retry_policy pa, pb;
  dorm__retry_policy_init(&pa, NULL, scripted, &a);
  dorm__retry_policy_init(&pb, NULL, scripted, &b);
  assert_int_equal(dorm__retry_delay_ms(&pa, DORM_RETRY_THROTTLING, 1), 250);
  assert_int_equal(dorm__retry_delay_ms(&pb, DORM_RETRY_THROTTLING, 1), 250);
  assert_int_equal(dorm__retry_delay_ms(&pa, DORM_RETRY_THROTTLING, 1), 750);
  int cost;
  assert_true(dorm__retry_quota_acquire(&pa, DORM_RETRY_TRANSIENT, &cost));
  assert_int_equal(pa.tokens, 495);
  assert_int_equal(pb.tokens, 500);
}

static void parse_settings(void **state) {
  (void)state;
  char err[200];
  int n = 0;
  assert_int_equal(dorm__retry_max_attempts_parse("5", "AWS_MAX_ATTEMPTS", &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 5);
  assert_int_equal(dorm__retry_max_attempts_parse(" 1 ", "x", &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 1);
  assert_int_equal(dorm__retry_max_attempts_parse("1000", "x", &n, err, sizeof err), DORM_OK);
  const char *bad[] = {"0", "-1", "abc", "3x", "", " ", "1001", "99999999999999999999", "+3", "2.5", "0x10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    n = 42;
    assert_int_equal(dorm__retry_max_attempts_parse(bad[i], "AWS_MAX_ATTEMPTS", &n, err, sizeof err),
                     DORM_ERR_CONFIG);
    assert_int_equal(n, 42);
  }
  dorm__retry_max_attempts_parse("abc", "AWS_MAX_ATTEMPTS", &n, err, sizeof err);
  assert_string_equal(err, "AWS_MAX_ATTEMPTS: expected a whole number from 1 to 1000, got 'abc'");

  dorm_retry_mode m;
  assert_int_equal(dorm__retry_mode_parse("standard", "m", &m, err, sizeof err), DORM_OK);
  assert_int_equal(m, DORM_RETRY_MODE_STANDARD);
  assert_int_equal(dorm__retry_mode_parse("Legacy", "m", &m, err, sizeof err), DORM_OK);
  assert_int_equal(m, DORM_RETRY_MODE_LEGACY);
  assert_int_equal(dorm__retry_mode_parse("adaptive", "m", &m, err, sizeof err), DORM_OK);
  assert_int_equal(m, DORM_RETRY_MODE_STANDARD);
  assert_int_equal(dorm__retry_mode_parse("fast", "AWS_RETRY_MODE", &m, err, sizeof err), DORM_ERR_CONFIG);
  assert_string_equal(err, "AWS_RETRY_MODE: expected 'standard', 'legacy' or 'adaptive', got 'fast'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(classification_table),
    cmocka_unit_test(standard_defaults),
    cmocka_unit_test(full_jitter_bounds),
    cmocka_unit_test(legacy_delays),
    cmocka_unit_test(quota_exhaustion_and_refunds),
    cmocka_unit_test(request_bookkeeping),
    cmocka_unit_test(policies_are_independent),
    cmocka_unit_test(parse_settings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
