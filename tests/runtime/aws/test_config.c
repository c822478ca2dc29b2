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

/* Resolves and expects success. */
static void resolve_ok(const dorm_config *cfg, dorm_resolved_config *rc) {
  char err[512] = "";
  dorm_status st = dorm__config_resolve(cfg, rc, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "resolve failed: %s\n", err);
  assert_int_equal(st, DORM_OK);
}

/* Resolves, expects failure with status want and a message containing msg. */
static void resolve_fails(const dorm_config *cfg, dorm_status want, const char *msg) {
  char err[512] = "";
  dorm_resolved_config rc;
  dorm_status st = dorm__config_resolve(cfg, &rc, err, sizeof err);
  if (st != want || !strstr(err, msg)) fprintf(stderr, "got %d '%s', want %d '%s'\n", st, err, want, msg);
  assert_int_equal(st, want);
  assert_non_null(strstr(err, msg));
  assert_null(rc.region);
  dorm__resolved_config_free(&rc); /* safe after failure */
}

static void region_precedence(void **state) {
  cte *e = *state;
  cte_write(e, ".aws/config", "[default]\nregion = eu-north-1\n[profile dev]\nregion = ap-east-1\n");
  dorm_config cfg = DORM_CONFIG_INIT;
  dorm_resolved_config rc;

  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "eu-north-1");
  assert_string_equal(rc.region_source, "~/.aws/config:2");
  assert_string_equal(rc.profile, "default");
  dorm__resolved_config_free(&rc);

  setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "us-west-1");
  assert_string_equal(rc.region_source, "AWS_DEFAULT_REGION");
  dorm__resolved_config_free(&rc);

  setenv("AWS_REGION", "us-west-2", 1);
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "us-west-2");
  assert_string_equal(rc.region_source, "AWS_REGION");
  dorm__resolved_config_free(&rc);

  cfg.region = "sa-east-1";
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "sa-east-1");
  assert_string_equal(rc.region_source, "dorm_config.region");
  dorm__resolved_config_free(&rc);

  /* An empty variable counts as unset. */
  cfg.region = NULL;
  setenv("AWS_REGION", "", 1);
  unsetenv("AWS_DEFAULT_REGION");
  setenv("AWS_PROFILE", "dev", 1);
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "ap-east-1");
  assert_string_equal(rc.region_source, "~/.aws/config:4");
  assert_string_equal(rc.profile_source, "AWS_PROFILE");
  dorm__resolved_config_free(&rc);
}

static void region_errors(void **state) {
  cte *e = *state;
  dorm_config cfg = DORM_CONFIG_INIT;
  resolve_fails(&cfg, DORM_ERR_CONFIG,
                "no region: set dorm_config.region, AWS_REGION or AWS_DEFAULT_REGION, or region in "
                "profile 'default' (~/.aws/config)");
  setenv("AWS_REGION", "us east 1", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_REGION: 'us east 1' is not a region name");
  unsetenv("AWS_REGION");
  cte_write(e, ".aws/config", "[default]\nregion = evil.com/x\n");
  resolve_fails(&cfg, DORM_ERR_CONFIG, "~/.aws/config:2: 'evil.com/x' is not a region name");
}

static void profile_selection(void **state) {
  cte *e = *state;
  cte_write(e, ".aws/config",
            "[default]\nregion = us-east-1\n"
            "[profile default]\nregion = us-east-2\n"      /* beats [default] */
            "[dev]\nregion = eu-west-3\n"                  /* no "profile" prefix: ignored */
            "[profile   spaced]\nregion = eu-west-2\n"
            "[profile both]\nregion = ca-central-1\noutput = json\n");
  cte_write(e, ".aws/credentials",
            "[both]\nregion = me-south-1\n"                /* credentials file wins per key */
            "[only_creds]\nregion = af-south-1\n"
            "[profile cprefixed]\nregion = il-central-1\n"); /* "profile" prefix: not a profile here */
  dorm_config cfg = DORM_CONFIG_INIT;
  dorm_resolved_config rc;

  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "us-east-2");
  assert_string_equal(rc.region_source, "~/.aws/config:4");
  dorm__resolved_config_free(&rc);

  cfg.profile = "spaced";
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "eu-west-2");
  assert_string_equal(rc.profile_source, "dorm_config.profile");
  dorm__resolved_config_free(&rc);

  cfg.profile = "both";
  setenv("AWS_PROFILE", "dev", 1); /* the explicit setting wins over AWS_PROFILE */
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "me-south-1");
  assert_string_equal(rc.region_source, "~/.aws/credentials:2");
  char where[64];
  assert_string_equal(dorm__config_profile_value(&rc, "output", where, sizeof where), "json");
  assert_string_equal(where, "~/.aws/config:11");
  dorm__resolved_config_free(&rc);

  cfg.profile = "only_creds";
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.region, "af-south-1");
  dorm__resolved_config_free(&rc);

  cfg.profile = NULL; /* AWS_PROFILE=dev: [dev] in the config file is not a profile */
  resolve_fails(&cfg, DORM_ERR_CONFIG,
                "profile 'dev' (from AWS_PROFILE) not found in ~/.aws/config or ~/.aws/credentials");
  cfg.profile = "cprefixed";
  resolve_fails(&cfg, DORM_ERR_CONFIG, "profile 'cprefixed' (from dorm_config.profile) not found");
}

static void shared_file_locations(void **state) {
  cte *e = *state;
  cte_write(e, "alt-config", "[profile x]\nregion = eu-south-1\n");
  cte_write(e, "alt-creds", "[x]\nmax_attempts = 7\n");
  setenv("AWS_CONFIG_FILE", "~/alt-config", 1);
  char creds[400];
  snprintf(creds, sizeof creds, "%s/alt-creds", e->home);
  setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
  setenv("AWS_PROFILE", "x", 1);
  dorm_resolved_config rc;
  resolve_ok(NULL, &rc);
  assert_string_equal(rc.region, "eu-south-1");
  assert_string_equal(rc.region_source, "~/alt-config:2");
  assert_int_equal(rc.retry.max_attempts, 7);
  dorm__resolved_config_free(&rc);

  /* Missing files are fine; a malformed one is an error with file:line. */
  setenv("AWS_CONFIG_FILE", "~/does-not-exist", 1);
  setenv("AWS_REGION", "us-east-1", 1);
  resolve_ok(NULL, &rc);
  dorm__resolved_config_free(&rc);
  cte_write(e, "alt-config", "[profile x]\nregion = eu-south-1\nnot a setting\n");
  setenv("AWS_CONFIG_FILE", "~/alt-config", 1);
  resolve_fails(NULL, DORM_ERR_CONFIG, "~/alt-config:3: expected 'key = value'");
  unsetenv("AWS_CONFIG_FILE");
  cte_write(e, ".aws/config", "[default\n");
  unsetenv("AWS_PROFILE");
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  resolve_fails(NULL, DORM_ERR_CONFIG, "~/.aws/config:1: section header must end with ']'");
}

/* ---- endpoint ---------------------------------------------------------------- */

static const char *ENDPOINT_CONFIG =
    "[default]\n"
    "region = us-east-1\n"
    "endpoint_url = http://profile-endpoint:1000\n"
    "services = local\n"
    "[services local]\n"
    "dynamodb =\n"
    "  endpoint_url = http://services-endpoint:2000\n"
    "s3 =\n"
    "  endpoint_url = http://s3-only:3000\n";

static void expect_endpoint(const dorm_config *cfg, const char *url, const char *host, const char *source) {
  dorm_resolved_config rc;
  resolve_ok(cfg, &rc);
  assert_string_equal(rc.endpoint_url, url);
  assert_string_equal(rc.host, host);
  assert_string_equal(rc.endpoint_source, source);
  dorm__resolved_config_free(&rc);
}

static void endpoint_precedence(void **state) {
  cte *e = *state;
  cte_write(e, ".aws/config", ENDPOINT_CONFIG);
  dorm_config cfg = DORM_CONFIG_INIT;
  setenv("AWS_ENDPOINT_URL", "http://global-env:4000", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb-env:5000", 1);
  cfg.endpoint = "http://explicit:6000";
  expect_endpoint(&cfg, "http://explicit:6000/", "explicit:6000", "dorm_config.endpoint");
  cfg.endpoint = NULL;
  expect_endpoint(&cfg, "http://ddb-env:5000/", "ddb-env:5000", "AWS_ENDPOINT_URL_DYNAMODB");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  expect_endpoint(&cfg, "http://services-endpoint:2000/", "services-endpoint:2000", "~/.aws/config:7");
  cte_write(e, ".aws/config", "[default]\nregion = us-east-1\nendpoint_url = http://profile-endpoint:1000\n");
  expect_endpoint(&cfg, "http://global-env:4000/", "global-env:4000", "AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL");
  expect_endpoint(&cfg, "http://profile-endpoint:1000/", "profile-endpoint:1000", "~/.aws/config:3");
  cte_write(e, ".aws/config", "[default]\nregion = us-east-1\n");
  expect_endpoint(&cfg, "https://dynamodb.us-east-1.amazonaws.com/", "dynamodb.us-east-1.amazonaws.com", "default");
}

static void endpoint_defaults_by_partition(void **state) {
  (void)state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "cn-north-1";
  expect_endpoint(&cfg, "https://dynamodb.cn-north-1.amazonaws.com.cn/", "dynamodb.cn-north-1.amazonaws.com.cn", "default");
  cfg.region = "cn-northwest-1";
  expect_endpoint(&cfg, "https://dynamodb.cn-northwest-1.amazonaws.com.cn/", "dynamodb.cn-northwest-1.amazonaws.com.cn", "default");
  cfg.region = "eu-central-1";
  expect_endpoint(&cfg, "https://dynamodb.eu-central-1.amazonaws.com/", "dynamodb.eu-central-1.amazonaws.com", "default");
  cfg.region = "us-iso-east-1";
  expect_endpoint(&cfg, "https://dynamodb.us-iso-east-1.c2s.ic.gov/", "dynamodb.us-iso-east-1.c2s.ic.gov", "default");
  cfg.region = "us-isob-east-1";
  expect_endpoint(&cfg, "https://dynamodb.us-isob-east-1.sc2s.sgov.gov/", "dynamodb.us-isob-east-1.sc2s.sgov.gov", "default");
}

static void ignore_configured_endpoints(void **state) {
  cte *e = *state;
  cte_write(e, ".aws/config", ENDPOINT_CONFIG);
  dorm_config cfg = DORM_CONFIG_INIT;
  setenv("AWS_ENDPOINT_URL", "http://global-env:4000", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb-env:5000", 1);
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
  expect_endpoint(&cfg, "https://dynamodb.us-east-1.amazonaws.com/", "dynamodb.us-east-1.amazonaws.com", "default");
  cfg.endpoint = "http://localhost:8000"; /* an explicit endpoint is never ignored */
  expect_endpoint(&cfg, "http://localhost:8000/", "localhost:8000", "dorm_config.endpoint");
  cfg.endpoint = NULL;

  /* The profile's setting applies when the variable is unset ... */
  unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  cte_write(e, ".aws/config", "[default]\nregion = us-east-1\nignore_configured_endpoint_urls = true\n"
                              "endpoint_url = http://profile-endpoint:1000\n");
  expect_endpoint(&cfg, "https://dynamodb.us-east-1.amazonaws.com/", "dynamodb.us-east-1.amazonaws.com", "default");
  /* ... and the variable overrides it. */
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
  expect_endpoint(&cfg, "http://ddb-env:5000/", "ddb-env:5000", "AWS_ENDPOINT_URL_DYNAMODB");
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "yes", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: expected 'true' or 'false', got 'yes'");
}

static void endpoint_validation(void **state) {
  cte *e = *state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  cfg.endpoint = "https://ddb.example.com:443";
  expect_endpoint(&cfg, "https://ddb.example.com/", "ddb.example.com", "dorm_config.endpoint");
  cfg.endpoint = "http://[::1]:8000/base/";
  dorm_resolved_config rc;
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.host, "[::1]:8000");
  assert_string_equal(rc.path, "/base/");
  assert_false(rc.https);
  dorm__resolved_config_free(&rc);
  cfg.endpoint = "http://LOCALHOST:80";
  expect_endpoint(&cfg, "http://LOCALHOST/", "LOCALHOST", "dorm_config.endpoint");

  cfg.endpoint = "localhost:8000";
  resolve_fails(&cfg, DORM_ERR_CONFIG, "dorm_config.endpoint: endpoint 'localhost:8000' must be a URL starting with http:// or https://");
  cfg.endpoint = "ftp://example.com";
  resolve_fails(&cfg, DORM_ERR_CONFIG, "must use http or https");
  cfg.endpoint = "http://example.com/?x=1";
  resolve_fails(&cfg, DORM_ERR_CONFIG, "must not contain a query string");
  cfg.endpoint = "http://user:pw@example.com/";
  resolve_fails(&cfg, DORM_ERR_CONFIG, "must not contain a user name");
  cfg.endpoint = NULL;
  setenv("AWS_ENDPOINT_URL", "http://bad host/", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_ENDPOINT_URL: endpoint 'http://bad host/' is not a valid URL");
  unsetenv("AWS_ENDPOINT_URL");

  cte_write(e, ".aws/config", "[default]\nservices = nowhere\n");
  resolve_fails(&cfg, DORM_ERR_CONFIG,
                "~/.aws/config:2: profile 'default' uses services 'nowhere', but ~/.aws/config has no [services nowhere] section");
  /* A services section without a dynamodb entry falls through to the next rule. */
  cte_write(e, ".aws/config", "[default]\nservices = s\nendpoint_url = http://p:1\n[services s]\ns3 =\n  endpoint_url = http://s3:1\n");
  expect_endpoint(&cfg, "http://p:1/", "p:1", "~/.aws/config:3");
}

/* ---- retries and timeouts ------------------------------------------------------ */

static void retry_settings(void **state) {
  cte *e = *state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  dorm_resolved_config rc;
  resolve_ok(&cfg, &rc);
  assert_int_equal(rc.retry.mode, DORM_RETRY_MODE_STANDARD);
  assert_int_equal(rc.retry.max_attempts, 3);
  assert_int_equal(rc.retry.quota_capacity, 500);
  assert_int_equal(rc.connect_timeout_ms, 3000);
  assert_int_equal(rc.request_timeout_ms, 30000);
  assert_int_equal(rc.max_response_bytes, 64u * 1024 * 1024);
  dorm__resolved_config_free(&rc);

  cte_write(e, ".aws/config", "[default]\nretry_mode = legacy\nmax_attempts = 4\n");
  resolve_ok(&cfg, &rc);
  assert_int_equal(rc.retry.mode, DORM_RETRY_MODE_LEGACY);
  assert_int_equal(rc.retry.max_attempts, 4);
  dorm__resolved_config_free(&rc);

  setenv("AWS_RETRY_MODE", "standard", 1);
  setenv("AWS_MAX_ATTEMPTS", "6", 1);
  resolve_ok(&cfg, &rc);
  assert_int_equal(rc.retry.mode, DORM_RETRY_MODE_STANDARD);
  assert_int_equal(rc.retry.max_attempts, 6);
  dorm__resolved_config_free(&rc);

  cfg.retry_mode = DORM_RETRY_MODE_LEGACY;
  cfg.max_attempts = 2;
  cfg.connect_timeout_ms = 150;
  cfg.request_timeout_ms = 900;
  cfg.max_response_bytes = 1000;
  resolve_ok(&cfg, &rc);
  assert_int_equal(rc.retry.mode, DORM_RETRY_MODE_LEGACY);
  assert_int_equal(rc.retry.max_attempts, 2);
  assert_int_equal(rc.connect_timeout_ms, 150);
  assert_int_equal(rc.request_timeout_ms, 900);
  assert_int_equal(rc.max_response_bytes, 1000);
  dorm__resolved_config_free(&rc);

  /* The mode's default attempts apply when no count is configured. */
  unsetenv("AWS_MAX_ATTEMPTS");
  cte_write(e, ".aws/config", "[default]\n");
  cfg.max_attempts = 0;
  resolve_ok(&cfg, &rc);
  assert_int_equal(rc.retry.max_attempts, 11);
  dorm__resolved_config_free(&rc);
}

static void retry_setting_errors(void **state) {
  cte *e = *state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  setenv("AWS_MAX_ATTEMPTS", "three", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_MAX_ATTEMPTS: expected a whole number from 1 to 1000, got 'three'");
  setenv("AWS_MAX_ATTEMPTS", "0", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_MAX_ATTEMPTS: expected a whole number from 1 to 1000, got '0'");
  setenv("AWS_MAX_ATTEMPTS", "-2", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "got '-2'");
  unsetenv("AWS_MAX_ATTEMPTS");
  cte_write(e, ".aws/config", "[default]\n\nmax_attempts = 5x\n");
  resolve_fails(&cfg, DORM_ERR_CONFIG, "~/.aws/config:3: expected a whole number from 1 to 1000, got '5x'");
  cte_write(e, ".aws/config", "[default]\nretry_mode = turbo\n");
  resolve_fails(&cfg, DORM_ERR_CONFIG, "~/.aws/config:2: expected 'standard', 'legacy' or 'adaptive', got 'turbo'");
  setenv("AWS_RETRY_MODE", "nope", 1);
  resolve_fails(&cfg, DORM_ERR_CONFIG, "AWS_RETRY_MODE: expected 'standard', 'legacy' or 'adaptive', got 'nope'");
  unsetenv("AWS_RETRY_MODE");
  cte_write(e, ".aws/config", "[default]\n");
  cfg.max_attempts = -1;
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config.max_attempts: must be 1 to 1000");
  cfg.max_attempts = 1001; /* the bound AWS_MAX_ATTEMPTS has (it was taken) */
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config.max_attempts: must be 1 to 1000 (0 = default), got 1001");
  cfg.max_attempts = 0;
  cfg.retry_mode = (dorm_retry_mode)9;
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config.retry_mode: unknown mode 9");
  cfg.retry_mode = DORM_RETRY_MODE_UNSET;
  cfg.connect_timeout_ms = -5;
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config.connect_timeout_ms: must not be negative");
}

static void explicit_credentials(void **state) {
  (void)state;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  cfg.access_key_id = "AKID";
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config: access_key_id is set but secret_access_key is not");
  cfg.access_key_id = NULL;
  cfg.secret_access_key = "s";
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "dorm_config: secret_access_key is set but access_key_id is not");
  cfg.secret_access_key = NULL;
  cfg.session_token = "t";
  resolve_fails(&cfg, DORM_ERR_INVALID_ARGUMENT, "session_token is set without access_key_id");
  cfg.access_key_id = "AKID";
  cfg.secret_access_key = "SECRET";
  dorm_resolved_config rc;
  resolve_ok(&cfg, &rc);
  assert_string_equal(rc.access_key_id, "AKID");
  assert_string_equal(rc.secret_access_key, "SECRET");
  assert_string_equal(rc.session_token, "t");
  dorm__resolved_config_free(&rc);
  dorm_config_init(&cfg);
  assert_null(cfg.region);
  assert_int_equal(cfg.retry_mode, DORM_RETRY_MODE_UNSET);
  assert_int_equal(cfg.max_attempts, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(region_precedence, setup, teardown),
    cmocka_unit_test_setup_teardown(region_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(profile_selection, setup, teardown),
    cmocka_unit_test_setup_teardown(shared_file_locations, setup, teardown),
    cmocka_unit_test_setup_teardown(endpoint_precedence, setup, teardown),
    cmocka_unit_test_setup_teardown(endpoint_defaults_by_partition, setup, teardown),
    cmocka_unit_test_setup_teardown(ignore_configured_endpoints, setup, teardown),
    cmocka_unit_test_setup_teardown(endpoint_validation, setup, teardown),
    cmocka_unit_test_setup_teardown(retry_settings, setup, teardown),
    cmocka_unit_test_setup_teardown(retry_setting_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(explicit_credentials, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
