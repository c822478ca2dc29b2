/* Helpers for libdorm's fault tests: a dorm-faultproxy in front of the
 * test run's DynamoDB Local, libdorm clients pointed at it (or straight at
 * DynamoDB Local), and a recording sleep so retries run without waiting. */
#ifndef DORM_FAULTS_COMMON_H
#define DORM_FAULTS_COMMON_H

#include <stdint.h>

#include "dorm/dorm.h"
#include "fp_harness.h"

/* The delays the client asked for (dorm__client_set_sleep). */
typedef struct ft_sleeps {
  long calls;
  long total_ms;
  long max_ms;
} ft_sleeps;

/* Starts a proxy in front of DynamoDB Local with a pass-through plan. Fails
 * the test when it cannot. */
fp_harness *ft_proxy_start(void);

/* Replaces the proxy's plan and zeroes its counters. */
void ft_plan(fp_harness *fp, const char *plan);

/* One proxy counter (fp_harness_stat); fails the test when unavailable. */
long long ft_stat(fp_harness *fp, const char *path);

/* A client for endpoint with the test credentials (the same as ts_ddb_client's,
 * so it sees the same DynamoDB Local database), standard retries with
 * max_attempts, and request_timeout_ms (0: default). When sleeps is not NULL
 * the client's backoff sleeps are recorded there and not slept. */
dorm_client *ft_client(const char *endpoint, int max_attempts, long request_timeout_ms, ft_sleeps *sleeps);

/* The client's counters. */
dorm_client_stats ft_stats(dorm_client *c);

/* Prints the client's last error message as a "# " line in the test log. */
void ft_show(dorm_client *c);

/* "http://127.0.0.1:PORT" for a loopback port nobody listens on. */
void ft_refused_endpoint(char *buf, size_t cap);

#endif
