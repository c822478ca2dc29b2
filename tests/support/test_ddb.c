#include "test_ddb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "test_support.h"

dorm_client *ts_ddb_client(void) {
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  const char *endpoint = ts_ddb_endpoint();
  if (!endpoint) fail_msg("no DynamoDB Local endpoint (DORM_TEST_ENDPOINT / DORM_TEST_ENDPOINT_FILE)");
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  /* DynamoDB Local keeps one database per access key: every test uses this one. */
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) fail_msg("dorm_client_new: %s", err);
  return c;
}
