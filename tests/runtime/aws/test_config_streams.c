/* Where DynamoDB Streams requests go: AWS's own streams endpoint by
 * default (per partition), dorm_config.endpoint for both services,
 * AWS_ENDPOINT_URL_DYNAMODB_STREAMS and the services section's
 * dynamodb_streams, DynamoDB's configured endpoint otherwise (DynamoDB
 * Local serves both), AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, bad URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "config_test_env.h"

static int setup(void **state) {
  cte *e = malloc(sizeof *e);
  cte_setup(e);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  cte_teardown(*state);
  free(*state);
  return 0;
}

/* Resolves cfg and checks both endpoints with their sources. */
static void expect(const dorm_config *cfg, const char *ddb_url, const char *streams_url, const char *streams_host,
                   const char *streams_source) {
  dorm_resolved_config rc;
  char err[512] = "";
  dorm_status st = dorm__config_resolve(cfg, &rc, err, sizeof err);
  if (st != DORM_OK) fail_msg("resolve failed: %s", err);
  assert_string_equal(rc.endpoint_url, ddb_url);
  assert_string_equal(rc.streams_endpoint_url, streams_url);
  assert_string_equal(rc.streams_host, streams_host);
  assert_string_equal(rc.streams_endpoint_source, streams_source);
  dorm__resolved_config_free(&rc);
}

static void expect_failure(const dorm_config *cfg, const char *msg) {
  dorm_resolved_config rc;
  char err[512] = "";
  dorm_status st = dorm__config_resolve(cfg, &rc, err, sizeof err);
  if (st != DORM_ERR_CONFIG || !strstr(err, msg)) fprintf(stderr, "got %d '%s', want '%s'\n", st, err, msg);
  assert_int_equal(st, DORM_ERR_CONFIG);
  assert_non_null(strstr(err, msg));
  assert_null(rc.streams_endpoint_url);
  dorm__resolved_config_free(&rc);
}

static void defaults_by_partition(void **state) {
  (void)state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  expect(&cfg, "https://dynamodb.us-east-1.amazonaws.com/", "https://streams.dynamodb.us-east-1.amazonaws.com/",
         "streams.dynamodb.us-east-1.amazonaws.com", "default");
  cfg.region = "cn-north-1";
  expect(&cfg, "https://dynamodb.cn-north-1.amazonaws.com.cn/",
         "https://streams.dynamodb.cn-north-1.amazonaws.com.cn/", "streams.dynamodb.cn-north-1.amazonaws.com.cn",
         "default");
  cfg.region = "us-iso-east-1";
  expect(&cfg, "https://dynamodb.us-iso-east-1.c2s.ic.gov/", "https://streams.dynamodb.us-iso-east-1.c2s.ic.gov/",
         "streams.dynamodb.us-iso-east-1.c2s.ic.gov", "default");
}

static void precedence(void **state) {
  cte *e = *state;
  cte_write(e, ".aws/config",
            "[default]\n"
            "region = eu-west-1\n"
            "services = local\n"
            "[services local]\n"
            "dynamodb_streams =\n"
            "  endpoint_url = http://services-streams:2000\n");
  dorm_config cfg = DORM_CONFIG_INIT;
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "http://streams-env:3000", 1);
  /* The client's explicit endpoint serves both: DynamoDB Local. */
  cfg.endpoint = "http://127.0.0.1:8000";
  expect(&cfg, "http://127.0.0.1:8000/", "http://127.0.0.1:8000/", "127.0.0.1:8000", "dorm_config.endpoint");
  cfg.endpoint = NULL;
  expect(&cfg, "https://dynamodb.eu-west-1.amazonaws.com/", "http://streams-env:3000/", "streams-env:3000",
         "AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
  expect(&cfg, "https://dynamodb.eu-west-1.amazonaws.com/", "http://services-streams:2000/",
         "services-streams:2000", "~/.aws/config:6");
  /* Nothing for Streams: it follows DynamoDB's configured endpoint. */
  cte_write(e, ".aws/config", "[default]\nregion = eu-west-1\n");
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb-env:5000", 1);
  expect(&cfg, "http://ddb-env:5000/", "http://ddb-env:5000/", "ddb-env:5000", "AWS_ENDPOINT_URL_DYNAMODB");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  setenv("AWS_ENDPOINT_URL", "http://global:4000", 1);
  expect(&cfg, "http://global:4000/", "http://global:4000/", "global:4000", "AWS_ENDPOINT_URL");
  /* ... unless Streams has its own. */
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "https://streams.example.com:443", 1);
  expect(&cfg, "http://global:4000/", "https://streams.example.com/", "streams.example.com",
         "AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
}

static void ignored_and_refused(void **state) {
  (void)state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-west-2";
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "http://streams-env:3000", 1);
  setenv("AWS_ENDPOINT_URL", "http://global:4000", 1);
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  expect(&cfg, "https://dynamodb.us-west-2.amazonaws.com/", "https://streams.dynamodb.us-west-2.amazonaws.com/",
         "streams.dynamodb.us-west-2.amazonaws.com", "default");
  unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  unsetenv("AWS_ENDPOINT_URL");

  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "streams-env:3000", 1);
  expect_failure(&cfg, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS: endpoint 'streams-env:3000' must be a URL");
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "http://streams-env:3000/base", 1);
  expect_failure(&cfg, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS: DynamoDB Streams endpoint "
                       "'http://streams-env:3000/base' has a path");
  /* Empty counts as unset. */
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "", 1);
  expect(&cfg, "https://dynamodb.us-west-2.amazonaws.com/", "https://streams.dynamodb.us-west-2.amazonaws.com/",
         "streams.dynamodb.us-west-2.amazonaws.com", "default");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(defaults_by_partition, setup, teardown),
      cmocka_unit_test_setup_teardown(precedence, setup, teardown),
      cmocka_unit_test_setup_teardown(ignored_and_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
