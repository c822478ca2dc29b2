/* dorm-faultproxy against DynamoDB Local: every fault kind happens as
 * specified (seen from a libcurl client), is applied upstream or not as it
 * should be, and is counted; pass-through returns DynamoDB Local's real answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fp_harness.h"
#include "fp_testlib.h"
#include "test_support.h"

static const char *ddb;
static fp_harness *fp;
static char table[64];
static char err[512];

static void plan(const char *text) {
  if (fp_harness_set_plan(fp, text, err, sizeof err) != 0) fail_msg("%s", err);
  assert_int_equal(fp_harness_reset_stats(fp), 0);
}

static void key_for(char *buf, size_t cap, const char *what) { ts_unique_name(buf, cap, what); }

static int setup(void **state) {
  (void)state;
  ddb = ts_ddb_endpoint();
  if (!ddb) {
    fprintf(stderr, "no DynamoDB Local endpoint (DORM_TEST_ENDPOINT_FILE)\n");
    return -1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_unique_name(table, sizeof table, "fp_faults");
  if (tl_create_table(ddb, table) != 0) return -1;
  fp = fp_harness_start(ddb, NULL, NULL, err, sizeof err);
  if (!fp) {
    fprintf(stderr, "fp_harness_start: %s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  int rc = fp_harness_stop(fp);
  curl_global_cleanup();
  if (rc != 0) fprintf(stderr, "dorm-faultproxy exit status %d (expected a clean 0)\n", rc);
  return rc == 0 ? 0 : -1;
}

static void test_pass_through_returns_the_real_answer(void **state) {
  (void)state;
  plan("");
  const char *px = fp_harness_endpoint(fp);
  char key[64], get[256];
  key_for(key, sizeof key, "pass");
  CURL *h = tl_handle();
  tl_resp put, viaproxy, direct;
  tl_put(h, px, table, key, &put);
  assert_int_equal(put.cc, CURLE_OK);
  assert_int_equal(put.status, 200);
  assert_true(tl_crc_matches(&put));
  assert_string_equal(put.fault, "");
  snprintf(get, sizeof get, "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"%s\"}},\"ConsistentRead\":true}", table, key);
  tl_call(h, px, "GetItem", get, 0, &viaproxy);
  tl_call1(ddb, "GetItem", get, 0, &direct);
  assert_int_equal(viaproxy.status, 200);
  assert_string_equal(viaproxy.body, direct.body);
  assert_non_null(strstr(viaproxy.body, "value of "));
  assert_true(tl_crc_matches(&viaproxy));
  assert_int_equal(viaproxy.new_connections, 0); /* kept alive */

  /* DynamoDB Local's own errors come back unchanged too. */
  tl_resp bad;
  tl_call(h, px, "GetItem", "{\"TableName\":\"x\",\"Key\":{}}", 0, &bad);
  assert_int_equal(bad.status, 400);
  assert_non_null(strstr(bad.body, "ValidationException"));
  assert_string_equal(bad.fault, "");

  assert_int_equal(fp_harness_stat(fp, "requests"), 3);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 3);
  assert_int_equal(fp_harness_stat(fp, "passed"), 3);
  assert_int_equal(fp_harness_stat(fp, "upstream_connects"), 1); /* kept alive upstream too */
  tl_resp_free(&put);
  tl_resp_free(&viaproxy);
  tl_resp_free(&direct);
  tl_resp_free(&bad);
  curl_easy_cleanup(h);
}

/* An injected error answer: right status and __type, valid CRC, and the
 * write never reached DynamoDB. */
static void check_error_fault(const char *fault, long status, const char *type) {
  char text[128], key[64];
  snprintf(text, sizeof text, "--script %s --script-mode once", fault);
  plan(text);
  key_for(key, sizeof key, fault);
  CURL *h = tl_handle();
  tl_resp r, next;
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_int_equal(r.cc, CURLE_OK);
  assert_int_equal(r.status, status);
  if (!strstr(r.body, type)) fail_msg("%s: body %s lacks %s", fault, r.body, type);
  assert_non_null(strstr(r.body, "\"message\":"));
  assert_true(tl_crc_matches(&r));
  assert_string_equal(r.fault, fault);
  assert_false(tl_item_exists(ddb, table, key));
  /* The connection stays usable and the script ran once: the retry passes. */
  tl_put(h, fp_harness_endpoint(fp), table, key, &next);
  assert_int_equal(next.status, 200);
  assert_int_equal(next.new_connections, 0);
  assert_true(tl_item_exists(ddb, table, key));
  char stat[64];
  snprintf(stat, sizeof stat, "injected.%s", fault);
  assert_int_equal(fp_harness_stat(fp, stat), 1);
  assert_int_equal(fp_harness_stat(fp, "requests"), 2);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 1);
  assert_int_equal(fp_harness_stat(fp, "passed"), 1);
  tl_resp_free(&r);
  tl_resp_free(&next);
  curl_easy_cleanup(h);
}

static void test_500_is_not_forwarded(void **state) {
  (void)state;
  check_error_fault("500", 500, "\"com.amazonaws.dynamodb.v20120810#InternalServerError\"");
}

static void test_503_is_not_forwarded(void **state) {
  (void)state;
  check_error_fault("503", 503, "ServiceUnavailableException\"");
}

static void test_throttle_is_not_forwarded(void **state) {
  (void)state;
  check_error_fault("throttle", 400, "\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\"");
}

static void test_throttling_is_not_forwarded(void **state) {
  (void)state;
  check_error_fault("throttling", 400, "#ThrottlingException\"");
}

static void test_validation_is_not_forwarded(void **state) {
  (void)state;
  check_error_fault("validation", 400, "\"com.amazon.coral.validate#ValidationException\"");
}

static void test_reset_before_forwarding_is_not_applied(void **state) {
  (void)state;
  plan("--script reset,pass");
  char key[64];
  key_for(key, sizeof key, "reset");
  tl_resp r;
  CURL *h = tl_handle();
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_true(r.cc == CURLE_RECV_ERROR || r.cc == CURLE_GOT_NOTHING);
  assert_int_equal(r.status, 0);
  assert_false(tl_item_exists(ddb, table, key));
  assert_int_equal(fp_harness_stat(fp, "injected.reset"), 1);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 0);
  tl_resp_free(&r);
  /* The handle recovers on a new connection. */
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.new_connections, 1);
  tl_resp_free(&r);
  curl_easy_cleanup(h);
}

static void test_reset_after_forwarding_is_applied(void **state) {
  (void)state;
  plan("--script reset_after --script-mode once");
  char key[64];
  key_for(key, sizeof key, "reset_after");
  tl_resp r;
  CURL *h = tl_handle();
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  curl_easy_cleanup(h);
  assert_true(r.cc == CURLE_RECV_ERROR || r.cc == CURLE_GOT_NOTHING);
  assert_int_equal(r.status, 0);
  assert_true(tl_item_exists(ddb, table, key)); /* the write happened; the client never learnt it */
  assert_int_equal(fp_harness_stat(fp, "injected.reset_after"), 1);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 1);
  tl_resp_free(&r);
}

/* Not the proxy's doing but worth pinning, since a client's retry logic must
 * live with it: on a reused connection that dies before any response byte,
 * libcurl resends the request by itself. A reset_after write is then applied
 * and the caller sees only the resent request's answer. */
static void test_libcurl_resends_on_a_reused_connection(void **state) {
  (void)state;
  plan("--script pass,reset_after,pass --script-mode once");
  char key[64];
  key_for(key, sizeof key, "resend");
  CURL *h = tl_handle();
  tl_resp a, b;
  tl_put(h, fp_harness_endpoint(fp), table, key, &a);
  assert_int_equal(a.status, 200);
  tl_put(h, fp_harness_endpoint(fp), table, key, &b);
  assert_int_equal(b.cc, CURLE_OK);
  assert_int_equal(b.status, 200);
  assert_int_equal(b.new_connections, 1);
  assert_int_equal(fp_harness_stat(fp, "requests"), 3);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 3);
  assert_int_equal(fp_harness_stat(fp, "injected.reset_after"), 1);
  tl_resp_free(&a);
  tl_resp_free(&b);
  curl_easy_cleanup(h);
}

static void test_truncated_body_after_forwarding(void **state) {
  (void)state;
  plan("--script truncate --script-mode once");
  char key[64], get[256];
  key_for(key, sizeof key, "truncate");
  tl_resp put, r;
  CURL *h = tl_handle();
  tl_put(h, ddb, table, key, &put); /* directly: the item to read back */
  assert_int_equal(put.status, 200);
  snprintf(get, sizeof get, "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"%s\"}}}", table, key);
  tl_call(h, fp_harness_endpoint(fp), "GetItem", get, 0, &r);
  assert_int_equal(r.cc, CURLE_PARTIAL_FILE);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.fault, "truncate");
  assert_true(r.content_length > 0);
  assert_int_equal((long long)r.body_len, r.content_length / 2);
  assert_int_equal(fp_harness_stat(fp, "injected.truncate"), 1);
  assert_int_equal(fp_harness_stat(fp, "forwarded"), 1);
  tl_resp_free(&r);
  /* A truncated write is applied. */
  plan("--script truncate --script-mode once");
  key_for(key, sizeof key, "truncate_put");
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_int_equal(r.cc, CURLE_PARTIAL_FILE);
  assert_true(tl_item_exists(ddb, table, key));
  tl_resp_free(&r);
  tl_resp_free(&put);
  curl_easy_cleanup(h);
}

static void test_bad_crc_after_forwarding(void **state) {
  (void)state;
  plan("--script badcrc,pass");
  char key[64];
  key_for(key, sizeof key, "badcrc");
  CURL *h = tl_handle();
  tl_resp r, ok;
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_int_equal(r.cc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_true(r.has_crc);
  assert_false(tl_crc_matches(&r));
  assert_string_equal(r.fault, "badcrc");
  assert_true(tl_item_exists(ddb, table, key));
  tl_put(h, fp_harness_endpoint(fp), table, key, &ok);
  assert_true(tl_crc_matches(&ok));
  assert_int_equal(fp_harness_stat(fp, "injected.badcrc"), 1);
  assert_int_equal(fp_harness_stat(fp, "passed"), 1);
  tl_resp_free(&r);
  tl_resp_free(&ok);
  curl_easy_cleanup(h);
}

static void test_slow_delays_and_client_timeouts(void **state) {
  (void)state;
  plan("--script slow --delay-ms 400");
  char key[64];
  key_for(key, sizeof key, "slow");
  CURL *h = tl_handle();
  tl_resp r;
  tl_put(h, fp_harness_endpoint(fp), table, key, &r);
  assert_int_equal(r.status, 200);
  assert_true(r.seconds >= 0.39);
  assert_int_equal(fp_harness_stat(fp, "slow"), 1);
  assert_int_equal(fp_harness_stat(fp, "passed"), 1);
  tl_resp_free(&r);

  /* A client that gives up: it sees a timeout; the proxy still forwards the
   * request it had received (a real server would apply it too) and counts
   * the lost response. */
  plan("--script slow --delay-ms 1200");
  key_for(key, sizeof key, "slow_timeout");
  char json[256];
  snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"}}}", table, key);
  tl_call(h, fp_harness_endpoint(fp), "PutItem", json, 300, &r);
  assert_int_equal(r.cc, CURLE_OPERATION_TIMEDOUT);
  tl_resp_free(&r);
  long long lost = 0;
  for (int i = 0; i < 100 && lost < 1; i++) {
    tl_sleep_ms(50);
    lost = fp_harness_stat(fp, "responses_lost");
  }
  assert_int_equal(lost, 1);
  assert_true(tl_item_exists(ddb, table, key));
  curl_easy_cleanup(h);
}

static void test_only_restricts_faults_to_an_operation(void **state) {
  (void)state;
  plan("--only PutItem,BatchWriteItem --script 500");
  char key[64], get[256];
  key_for(key, sizeof key, "only");
  snprintf(get, sizeof get, "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"%s\"}}}", table, key);
  CURL *h = tl_handle();
  for (int i = 0; i < 3; i++) {
    tl_resp g, p;
    tl_call(h, fp_harness_endpoint(fp), "GetItem", get, 0, &g);
    assert_int_equal(g.status, 200);
    tl_put(h, fp_harness_endpoint(fp), table, key, &p);
    assert_int_equal(p.status, 500);
    tl_resp_free(&g);
    tl_resp_free(&p);
  }
  assert_int_equal(fp_harness_stat(fp, "requests"), 6);
  assert_int_equal(fp_harness_stat(fp, "injected.500"), 3);
  assert_int_equal(fp_harness_stat(fp, "passed"), 3);
  curl_easy_cleanup(h);
}

static void test_script_cycle_and_once(void **state) {
  (void)state;
  CURL *h = tl_handle();
  long want_cycle[] = {200, 503, 400, 200, 503, 400, 200};
  plan("--script pass,503,validation");
  for (size_t i = 0; i < sizeof want_cycle / sizeof want_cycle[0]; i++) {
    tl_resp r;
    tl_call(h, fp_harness_endpoint(fp), "ListTables", "{}", 0, &r);
    assert_int_equal(r.status, want_cycle[i]);
    tl_resp_free(&r);
  }
  long want_once[] = {200, 503, 400, 200, 200};
  plan("--script pass,503,validation --script-mode once");
  for (size_t i = 0; i < sizeof want_once / sizeof want_once[0]; i++) {
    tl_resp r;
    tl_call(h, fp_harness_endpoint(fp), "ListTables", "{}", 0, &r);
    assert_int_equal(r.status, want_once[i]);
    tl_resp_free(&r);
  }
  curl_easy_cleanup(h);
}

/* Runs n ListTables and writes a letter per outcome. A fresh connection each
 * time: on a reused one libcurl itself resends a request whose connection
 * died before any response byte, which would hide the resets. */
static void outcomes(int n, char *out) {
  for (int i = 0; i < n; i++) {
    tl_resp r;
    tl_call1(fp_harness_endpoint(fp), "ListTables", "{}", 0, &r);
    out[i] = r.cc != CURLE_OK ? 'R' : r.status == 200 ? (tl_crc_matches(&r) ? '.' : 'C') : r.status == 500 ? '5' : 'T';
    tl_resp_free(&r);
  }
  out[n] = '\0';
}

static void test_seeded_plan_is_reproducible(void **state) {
  (void)state;
  enum { N = 60 };
  char a[N + 1], b[N + 1], c[N + 1];
  const char *text = "--seed 42 --p-500 0.2 --p-throttle 0.15 --p-reset 0.1 --p-badcrc 0.1";
  plan(text);
  outcomes(N, a);
  long long counts[4] = {fp_harness_stat(fp, "injected.500"), fp_harness_stat(fp, "injected.throttle"),
                         fp_harness_stat(fp, "injected.reset"), fp_harness_stat(fp, "injected.badcrc")};
  plan(text);
  outcomes(N, b);
  plan("--seed 43 --p-500 0.2 --p-throttle 0.15 --p-reset 0.1 --p-badcrc 0.1");
  outcomes(N, c);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  long long seen[4] = {0};
  for (int i = 0; i < N; i++) {
    seen[0] += a[i] == '5';
    seen[1] += a[i] == 'T';
    seen[2] += a[i] == 'R';
    seen[3] += a[i] == 'C';
  }
  for (int k = 0; k < 4; k++) {
    assert_int_equal(seen[k], counts[k]);
    assert_true(seen[k] > 0);
  }
  assert_true(strchr(a, '.') != NULL);
}

static void test_expect_continue_is_answered(void **state) {
  (void)state;
  plan("");
  char key[64];
  key_for(key, sizeof key, "expect");
  char json[4096];
  int n = snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"},\"big\":{\"S\":\"", table, key);
  memset(json + n, 'x', 3000);
  strcpy(json + n + 3000, "\"}}}");
  /* By hand over a socket, to see the interim response itself. */
  int fd = tl_connect(fp_harness_port(fp));
  assert_true(fd >= 0);
  char head[1024];
  int hl = snprintf(head, sizeof head,
                    "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n"
                    /* DynamoDB Local keeps one database per access key and region: use tl_call's. */
                    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
                    "SignedHeaders=host, Signature=0\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
                    strlen(json));
  assert_int_equal(tl_send_all(fd, head, (size_t)hl), 0);
  size_t len;
  char *cont = tl_read_response(fd, 5000, &len);
  assert_non_null(cont);
  assert_memory_equal(cont, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  assert_int_equal(tl_send_all(fd, json, strlen(json)), 0);
  char *resp = tl_read_response(fd, 10000, &len);
  assert_non_null(resp);
  if (strncmp(resp, "HTTP/1.1 200 OK", 15) != 0) fail_msg("PutItem with Expect: %s", resp);
  assert_true(tl_item_exists(ddb, table, key));
  free(cont);
  free(resp);
  close(fd);
}

static void test_stats_and_plan_api(void **state) {
  (void)state;
  plan("--seed 5 --p-503 0.25 --only GetItem");
  char e2[256];
  assert_int_equal(fp_harness_set_plan(fp, "--p-503 2", e2, sizeof e2), -1);
  assert_non_null(strstr(e2, "--p-503: expected a probability"));
  /* The old plan is still in force: GetItem faults at 25%, ListTables never. */
  CURL *h = tl_handle();
  for (int i = 0; i < 20; i++) {
    tl_resp r;
    tl_call(h, fp_harness_endpoint(fp), "ListTables", "{}", 0, &r);
    assert_int_equal(r.status, 200);
    tl_resp_free(&r);
  }
  char *json = fp_harness_stats_json(fp);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"requests\":20,"));
  assert_non_null(strstr(json, "\"injected\":{\"500\":0,"));
  free(json);
  assert_true(fp_harness_stat(fp, "control") >= 2);
  assert_int_equal(fp_harness_stat(fp, "nope"), -1);
  assert_int_equal(fp_harness_reset_stats(fp), 0);
  assert_int_equal(fp_harness_stat(fp, "requests"), 0);
  assert_true(fp_harness_stat(fp, "connections.open") >= 0);
  curl_easy_cleanup(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pass_through_returns_the_real_answer),
      cmocka_unit_test(test_500_is_not_forwarded),
      cmocka_unit_test(test_503_is_not_forwarded),
      cmocka_unit_test(test_throttle_is_not_forwarded),
      cmocka_unit_test(test_throttling_is_not_forwarded),
      cmocka_unit_test(test_validation_is_not_forwarded),
      cmocka_unit_test(test_reset_before_forwarding_is_not_applied),
      cmocka_unit_test(test_reset_after_forwarding_is_applied),
      cmocka_unit_test(test_libcurl_resends_on_a_reused_connection),
      cmocka_unit_test(test_truncated_body_after_forwarding),
      cmocka_unit_test(test_bad_crc_after_forwarding),
      cmocka_unit_test(test_slow_delays_and_client_timeouts),
      cmocka_unit_test(test_only_restricts_faults_to_an_operation),
      cmocka_unit_test(test_script_cycle_and_once),
      cmocka_unit_test(test_seeded_plan_is_reproducible),
      cmocka_unit_test(test_expect_continue_is_answered),
      cmocka_unit_test(test_stats_and_plan_api),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
