/* libdorm reads the proxy environment once per transport (aws/http.c): with
 * no proxy variable set it tells libcurl there is none, so libcurl stops
 * looking on every request; with one set, libcurl's own rules apply. Both
 * halves against the scripted loopback server standing in for a proxy:
 * through http_proxy to an endpoint that does not resolve (only the proxy
 * can have answered), no_proxy honoured, and without the variables a dead
 * proxy address never consulted. Each test sets its environment before the
 * client is made, and clears it after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "scripted_server.h"

static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

static void clear_proxy_env(void) {
  for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars; i++) unsetenv(proxy_vars[i]);
}

static dorm_client *client_for(const char *endpoint) {
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  cfg.max_attempts = 1;
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) fail_msg("dorm_client_new: %s", err);
  return c;
}

static dorm_status list_tables(dorm_client *c) {
  const char *resp;
  size_t len;
  return dorm_client_call(c, "ListTables", "{}", 2, &resp, &len);
}

/* The endpoint's host does not resolve (.invalid, RFC 6761): the answer
 * can only have come through the proxy the environment names. */
static void test_http_proxy_from_environment_is_used(void **state) {
  (void)state;
  ss *s = ss_start();
  assert_non_null(s);
  ss_push(s, 200, "{\"TableNames\":[]}");
  clear_proxy_env();
  setenv("http_proxy", ss_url(s), 1);
  dorm_client *c = client_for("http://dynamodb.proxy-test.invalid");
  dorm_status st = list_tables(c);
  if (st != DORM_OK) fail_msg("through the proxy: %s", dorm_client_errmsg(c));
  assert_int_equal(ss_count(s), 1);
  char *target = ss_target(s, 0);
  assert_string_equal(target, "DynamoDB_20120810.ListTables");
  free(target);
  dorm_client_free(c);
  clear_proxy_env();
  ss_stop(s);
}

/* A proxy that cannot be reached, and no_proxy naming the endpoint's host:
 * the request goes straight to the endpoint. */
static void test_no_proxy_from_environment_is_honoured(void **state) {
  (void)state;
  ss *s = ss_start();
  assert_non_null(s);
  ss_push(s, 200, "{\"TableNames\":[]}");
  clear_proxy_env();
  setenv("http_proxy", "http://127.0.0.1:9", 1); /* discard port: nothing listens */
  setenv("no_proxy", "127.0.0.1", 1);
  dorm_client *c = client_for(ss_url(s));
  dorm_status st = list_tables(c);
  if (st != DORM_OK) fail_msg("no_proxy ignored: %s", dorm_client_errmsg(c));
  assert_int_equal(ss_count(s), 1);
  dorm_client_free(c);
  clear_proxy_env();
  ss_stop(s);
}

/* Without proxy variables the client goes direct, and a variable set after
 * the client was made is not consulted (the environment is read once). */
static void test_no_proxy_variables_means_direct(void **state) {
  (void)state;
  ss *s = ss_start();
  assert_non_null(s);
  ss_push(s, 200, "{\"TableNames\":[]}");
  ss_push(s, 200, "{\"TableNames\":[]}");
  clear_proxy_env();
  dorm_client *c = client_for(ss_url(s));
  assert_int_equal(list_tables(c), DORM_OK);
  setenv("http_proxy", "http://127.0.0.1:9", 1);
  dorm_status st = list_tables(c);
  if (st != DORM_OK) fail_msg("proxy variable read per request: %s", dorm_client_errmsg(c));
  assert_int_equal(ss_count(s), 2);
  dorm_client_free(c);
  clear_proxy_env();
  ss_stop(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_proxy_from_environment_is_used),
      cmocka_unit_test(test_no_proxy_from_environment_is_honoured),
      cmocka_unit_test(test_no_proxy_variables_means_direct),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
