/* Test fixture for the configuration tests: a private HOME in a temp dir and
 * a clean AWS environment, so nothing from the developer's machine (or the
 * real metadata addresses) leaks into a test. */
#ifndef DORM_CONFIG_TEST_ENV_H
#define DORM_CONFIG_TEST_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

static const char *const cte_vars[] = {
  "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
  "AWS_EC2_METADATA_V1_DISABLED", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
  "ALL_PROXY", "all_proxy", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
  "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC",
};

typedef struct cte {
  char home[256];
} cte;

/* Makes a temp HOME with an empty ~/.aws and clears every AWS variable.
 * Instance metadata is disabled unless a test turns it back on (and then it
 * must point it at a loopback server). */
static inline void cte_setup(cte *e) {
  snprintf(e->home, sizeof e->home, "/tmp/dorm_cfg_XXXXXX");
  if (!mkdtemp(e->home)) abort();
  char aws[300];
  snprintf(aws, sizeof aws, "%s/.aws", e->home);
  mkdir(aws, 0700);
  for (size_t i = 0; i < sizeof cte_vars / sizeof *cte_vars; i++) unsetenv(cte_vars[i]);
  setenv("HOME", e->home, 1);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* Writes text to HOME/<rel> and returns the full path in a static buffer. */
static inline const char *cte_write(cte *e, const char *rel, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", e->home, rel);
  if (ts_write_file(path, text, strlen(text)) != 0) abort();
  return path;
}

static inline void cte_teardown(cte *e) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->home);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", e->home);
  for (size_t i = 0; i < sizeof cte_vars / sizeof *cte_vars; i++) unsetenv(cte_vars[i]);
}

#endif
