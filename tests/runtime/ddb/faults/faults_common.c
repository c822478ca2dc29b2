#include "faults_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "client_internal.h"
#include "test_support.h"

fp_harness *ft_proxy_start(void) {
  const char *ddb = ts_ddb_endpoint();
  if (!ddb) fail_msg("no DynamoDB Local endpoint (DORM_TEST_ENDPOINT / DORM_TEST_ENDPOINT_FILE)");
  char err[512];
  fp_harness *fp = fp_harness_start(ddb, NULL, NULL, err, sizeof err);
  if (!fp) fail_msg("fp_harness_start: %s", err);
  return fp;
}

void ft_plan(fp_harness *fp, const char *plan) {
  char err[512];
  if (fp_harness_set_plan(fp, plan, err, sizeof err) != 0) fail_msg("plan '%s': %s", plan, err);
  assert_int_equal(fp_harness_reset_stats(fp), 0);
}

long long ft_stat(fp_harness *fp, const char *path) {
  long long v = fp_harness_stat(fp, path);
  if (v < 0) fail_msg("proxy counter %s is unavailable", path);
  return v;
}

/* Tests replace the client's sleep so that backoff costs no wall time: the
 * retry policy still computes every delay (recorded here, so tests can check
 * that backoff happened), only the waiting is skipped. Everything else on
 * the path (HTTP, signing, parsing, the proxy, DynamoDB Local) is real. */
static void record_sleep(void *user, long ms) {
  ft_sleeps *s = user;
  s->calls++;
  s->total_ms += ms;
  if (ms > s->max_ms) s->max_ms = ms;
}

dorm_client *ft_client(const char *endpoint, int max_attempts, long request_timeout_ms, ft_sleeps *sleeps) {
  /* Nothing may ever reach the instance metadata address from a test. */
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  cfg.max_attempts = max_attempts;
  cfg.retry_mode = DORM_RETRY_MODE_STANDARD;
  cfg.request_timeout_ms = request_timeout_ms;
  cfg.connect_timeout_ms = 2000;
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) fail_msg("dorm_client_new: %s", err);
  if (sleeps) {
    memset(sleeps, 0, sizeof *sleeps);
    dorm__client_set_sleep(c, record_sleep, sleeps);
  }
  return c;
}

dorm_client_stats ft_stats(dorm_client *c) {
  dorm_client_stats s;
  dorm_client_get_stats(c, &s);
  return s;
}

void ft_show(dorm_client *c) { print_message("# %s\n", dorm_client_errmsg(c)); }

void ft_refused_endpoint(char *buf, size_t cap) {
  /* Bind a port, learn it, close it: nothing listens there afterwards (the
   * kernel does not hand a just-freed ephemeral port out again at once). */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t len = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  snprintf(buf, cap, "http://127.0.0.1:%d", ntohs(sa.sin_port));
}
