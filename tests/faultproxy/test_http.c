/* Unit tests of the proxy's HTTP heads, the responses it writes (injected
 * errors, relayed/corrupted/truncated answers) and its control API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "control.h"
#include "http.h"
#include "respond.h"

static fp_parse req(const char *s, fp_head *h, const char **why) {
  return fp_parse_request(s, strlen(s), 65536, h, why);
}

static void test_request_heads(void **state) {
  (void)state;
  fp_head h;
  const char *why = NULL;
  const char *r = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                  "Content-Length:  12 \r\nExpect: 100-continue\r\nConnection: keep-alive, Close\r\n\r\nbody";
  assert_int_equal(req(r, &h, &why), FP_PARSE_OK);
  assert_int_equal(h.head_len, strlen(r) - 4);
  assert_int_equal(h.method_len, 4);
  assert_memory_equal(h.method, "POST", 4);
  assert_int_equal(h.target_len, 1);
  assert_int_equal(h.minor, 1);
  assert_int_equal(h.content_length, 12);
  assert_true(h.expect_continue && h.conn_close && h.conn_keep_alive);
  assert_false(h.chunked);
  assert_int_equal(h.nheaders, 5);
  const fp_header *t = fp_head_find(&h, "x-amz-target");
  assert_non_null(t);
  assert_int_equal(t->value_len, strlen("DynamoDB_20120810.PutItem"));
  assert_true(fp_header_hop_by_hop(fp_head_find(&h, "EXPECT")));
  assert_false(fp_header_hop_by_hop(t));

  /* Bare LF line ends and no headers at all are accepted. */
  assert_int_equal(req("GET /x HTTP/1.0\n\n", &h, &why), FP_PARSE_OK);
  assert_int_equal(h.minor, 0);
  assert_int_equal(h.content_length, -1);
  assert_int_equal(h.nheaders, 0);

  /* Every prefix of a valid head is incomplete, never an error. */
  for (size_t n = 0; n < strlen(r) - 4; n++)
    assert_int_equal(fp_parse_request(r, n, 65536, &h, &why), FP_PARSE_INCOMPLETE);

  assert_int_equal(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &why), FP_PARSE_OK);
  assert_true(h.chunked);
}

static void expect_bad(const char *s, fp_parse want, const char *needle) {
  fp_head h;
  const char *why = NULL;
  fp_parse got = fp_parse_request(s, strlen(s), 1024, &h, &why);
  if (got != want) fail_msg("'%s': got %d, want %d", s, got, want);
  assert_non_null(why);
  if (!strstr(why, needle)) fail_msg("'%s': '%s' lacks '%s'", s, why, needle);
}

static void test_bad_requests(void **state) {
  (void)state;
  expect_bad("GARBAGE\r\n\r\n", FP_PARSE_BAD, "request line");
  expect_bad("GET  HTTP/1.1\r\n\r\n", FP_PARSE_BAD, "request line");
  expect_bad("GET / HTTP/2.0\r\n\r\n", FP_PARSE_BAD, "HTTP/1.x");
  expect_bad("G(T / HTTP/1.1\r\n\r\n", FP_PARSE_BAD, "method");
  expect_bad("GET / HTTP/1.1\r\nNoColon\r\n\r\n", FP_PARSE_BAD, "colon");
  expect_bad("GET / HTTP/1.1\r\n: v\r\n\r\n", FP_PARSE_BAD, "colon");
  expect_bad("GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", FP_PARSE_BAD, "header name");
  expect_bad("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", FP_PARSE_BAD, "folded");
  expect_bad("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", FP_PARSE_BAD, "Content-Length");
  expect_bad("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", FP_PARSE_BAD, "Content-Length");
  expect_bad("GET / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n", FP_PARSE_BAD, "Content-Length");
  expect_bad("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", FP_PARSE_BAD, "conflicting");
  char big[2048];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
  expect_bad(big, FP_PARSE_TOO_LARGE, "too large"); /* no blank line yet, but over the limit */
  char many[8192] = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; i++) strcat(many, "A: b\r\n");
  strcat(many, "\r\n");
  fp_head h;
  const char *why = NULL;
  assert_int_equal(fp_parse_request(many, strlen(many), 65536, &h, &why), FP_PARSE_TOO_LARGE);
  /* Identical duplicates are fine. */
  assert_int_equal(req("GET / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", &h, &why), FP_PARSE_OK);
}

static void test_response_heads(void **state) {
  (void)state;
  fp_head h;
  const char *why;
  const char *r = "HTTP/1.1 200 OK\r\nx-amz-crc32: 1315925753\r\nContent-Length: 17\r\n\r\n{\"TableNames\":[]}";
  assert_int_equal(fp_parse_response(r, strlen(r), 65536, &h, &why), FP_PARSE_OK);
  assert_int_equal(h.status, 200);
  assert_int_equal(h.content_length, 17);
  const char *c = "HTTP/1.1 100\r\n\r\n";
  assert_int_equal(fp_parse_response(c, strlen(c), 65536, &h, &why), FP_PARSE_OK);
  assert_int_equal(h.status, 100);
  const char *bad[] = {"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(fp_parse_response(bad[i], strlen(bad[i]), 65536, &h, &why), FP_PARSE_BAD);
}

static unsigned long crc_of(const char *s, size_t n) { return crc32(crc32(0, Z_NULL, 0), (const Bytef *)s, (uInt)n); }

/* Parses a response we wrote; returns its body and checks Content-Length. */
static const char *parse_ours(const fp_buf *b, fp_head *h) {
  const char *why = NULL;
  assert_int_equal(fp_parse_response(b->data, b->len, 65536, h, &why), FP_PARSE_OK);
  return b->data + h->head_len;
}

static void test_injected_errors_look_like_dynamodb(void **state) {
  (void)state;
  struct {
    fp_fault f;
    int status;
    const char *type;
  } cases[] = {
      {FP_500, 500, "com.amazonaws.dynamodb.v20120810#InternalServerError"},
      {FP_503, 503, "#ServiceUnavailableException"},
      {FP_THROTTLE, 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"},
      {FP_THROTTLING, 400, "#ThrottlingException"},
      {FP_VALIDATION, 400, "com.amazon.coral.validate#ValidationException"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fp_buf b = {0};
    assert_int_equal(fp_respond_fault(&b, cases[i].f, 7, i == 0), 0);
    fp_head h;
    const char *body = parse_ours(&b, &h);
    assert_int_equal(h.status, cases[i].status);
    assert_int_equal((size_t)h.content_length, b.len - h.head_len);
    assert_non_null(strstr(body, "\"__type\":\""));
    assert_non_null(strstr(body, cases[i].type));
    assert_non_null(strstr(body, "\"message\":\""));
    const fp_header *crc = fp_head_find(&h, "x-amz-crc32");
    assert_non_null(crc);
    assert_int_equal(strtoul(crc->value, NULL, 10), crc_of(body, (size_t)h.content_length));
    const fp_header *rid = fp_head_find(&h, "x-amzn-requestid");
    assert_non_null(rid);
    assert_int_equal(rid->value_len, 52);
    assert_true(h.conn_close == (i == 0));
    fp_buf_free(&b);
  }
  fp_buf b = {0};
  assert_int_equal(fp_respond_fault(&b, FP_RESET, 1, false), -1); /* not an answer */
  assert_int_equal(b.len, 0);
}

static const char upstream[] =
    "HTTP/1.1 200 OK\r\nServer: Jetty\r\nConnection: keep-alive\r\nx-amz-crc32: 2745614147\r\n"
    "Keep-Alive: timeout=30\r\nContent-Length: 10\r\n\r\n0123456789";

static void test_relay_modes(void **state) {
  (void)state;
  fp_head uh, h;
  const char *why;
  assert_int_equal(fp_parse_response(upstream, sizeof upstream - 1, 65536, &uh, &why), FP_PARSE_OK);

  fp_buf b = {0};
  assert_int_equal(fp_respond_relay(&b, upstream, &uh, 10, FP_PASS, false), 0);
  const char *body = parse_ours(&b, &h);
  assert_int_equal(h.status, 200);
  assert_null(fp_head_find(&h, "connection"));
  assert_null(fp_head_find(&h, "keep-alive"));
  assert_null(fp_head_find(&h, "x-dorm-faultproxy"));
  const fp_header *pcrc = fp_head_find(&h, "x-amz-crc32");
  assert_int_equal(pcrc->value_len, 10);
  assert_memory_equal(pcrc->value, "2745614147", 10);
  assert_memory_equal(body, "0123456789", 10);
  assert_int_equal(b.len, h.head_len + 10);
  fp_buf_free(&b);

  assert_int_equal(fp_respond_relay(&b, upstream, &uh, 10, FP_BADCRC, true), 0);
  body = parse_ours(&b, &h);
  const fp_header *crc = fp_head_find(&h, "x-amz-crc32");
  assert_int_equal(strtoul(crc->value, NULL, 10), 2745614147ul ^ 0x5A5A5A5Aul);
  assert_true(h.conn_close);
  assert_memory_equal(fp_head_find(&h, "x-dorm-faultproxy")->value, "badcrc", 6);
  assert_memory_equal(body, "0123456789", 10);
  fp_buf_free(&b);

  assert_int_equal(fp_respond_relay(&b, upstream, &uh, 10, FP_TRUNCATE, true), 0);
  parse_ours(&b, &h);
  assert_int_equal(h.content_length, 10); /* the real length is announced... */
  assert_int_equal(b.len - h.head_len, 5); /* ...but only half is there */
  fp_buf_free(&b);

  /* No CRC from upstream: badcrc adds one that is wrong. */
  const char nocrc[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
  assert_int_equal(fp_parse_response(nocrc, sizeof nocrc - 1, 65536, &uh, &why), FP_PARSE_OK);
  assert_int_equal(fp_respond_relay(&b, nocrc, &uh, 2, FP_BADCRC, false), 0);
  parse_ours(&b, &h);
  crc = fp_head_find(&h, "x-amz-crc32");
  assert_non_null(crc);
  assert_int_not_equal(strtoul(crc->value, NULL, 10), crc_of("{}", 2));
  fp_buf_free(&b);
}

static void control_call(const char *method, const char *target, const char *body, fp_plan *plan, fp_stats *st,
                         int want_status, const char *want_in_body) {
  char reqtext[512];
  snprintf(reqtext, sizeof reqtext, "%s %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", method, target,
           body ? strlen(body) : 0);
  fp_head rh, h;
  const char *why;
  assert_int_equal(fp_parse_request(reqtext, strlen(reqtext), 65536, &rh, &why), FP_PARSE_OK);
  fp_buf out = {0};
  assert_int_equal(fp_control(&rh, body ? body : "", body ? strlen(body) : 0, plan, st, &out, false), 0);
  const char *resp = parse_ours(&out, &h);
  if (h.status != want_status || !strstr(resp, want_in_body))
    fail_msg("%s %s: got %d '%.*s'", method, target, h.status, (int)(out.len - h.head_len), resp);
  fp_buf_free(&out);
}

static void test_control_api(void **state) {
  (void)state;
  fp_plan plan;
  fp_plan_init(&plan);
  fp_stats st = {0};
  st.requests = 5;
  st.injected[FP_RESET_AFTER] = 2;
  st.open = 3;
  assert_true(fp_control_target("/__proxy/stats", 14));
  assert_false(fp_control_target("/", 1));
  control_call("GET", "/__proxy/stats", NULL, &plan, &st, 200, "\"requests\":5,");
  control_call("GET", "/__proxy/stats?x=1", NULL, &plan, &st, 200, "\"reset_after\":2,");
  control_call("POST", "/__proxy/stats", NULL, &plan, &st, 405, "use GET");
  control_call("POST", "/__proxy/stats/reset", "", &plan, &st, 200, "\"ok\":true");
  assert_int_equal(st.requests, 0);
  assert_int_equal(st.injected[FP_RESET_AFTER], 0);
  assert_int_equal(st.open, 3);
  control_call("POST", "/__proxy/plan", "--seed 9 --script 500,pass --only PutItem", &plan, &st, 200,
               "--script 500,pass --script-mode cycle --only PutItem");
  assert_int_equal(plan.seed, 9);
  control_call("GET", "/__proxy/plan", NULL, &plan, &st, 200, "\"plan\":\"--seed 9 ");
  /* A bad plan is refused with the reason, and the old plan stays. */
  control_call("POST", "/__proxy/plan", "--p-500 0.9 --p-503 \"0.9\"", &plan, &st, 400, "add up to 1.8");
  control_call("POST", "/__proxy/plan", "--script 'quote", &plan, &st, 400, "unterminated");
  assert_int_equal(plan.seed, 9);
  assert_int_equal(plan.script_len, 2);
  control_call("DELETE", "/__proxy/plan", NULL, &plan, &st, 405, "GET or POST");
  control_call("GET", "/__proxy/nope", NULL, &plan, &st, 404, "unknown control path");
  fp_plan_free(&plan);
}

static void test_buffers(void **state) {
  (void)state;
  fp_buf b = {0};
  for (int i = 0; i < 10000; i++) assert_int_equal(fp_buf_printf(&b, "%d,", i % 10), 0);
  assert_int_equal(b.len, 20000);
  fp_buf_consume(&b, 19998);
  assert_memory_equal(b.data, "9,", 2);
  fp_buf_consume(&b, 100);
  assert_int_equal(b.len, 0);
  fp_buf j = {0};
  assert_int_equal(fp_json_string(&j, "a\"b\\c\n\x01", 7), 0);
  assert_int_equal(fp_buf_append(&j, "", 1), 0);
  assert_string_equal(j.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
  fp_buf_free(&b);
  fp_buf_free(&j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_heads),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_response_heads),
      cmocka_unit_test(test_injected_errors_look_like_dynamodb),
      cmocka_unit_test(test_relay_modes),
      cmocka_unit_test(test_control_api),
      cmocka_unit_test(test_buffers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
