/* fp_harness: run a dorm-faultproxy in front of an endpoint from a test.
 *
 *   char err[256];
 *   fp_harness *fp = fp_harness_start(ts_ddb_endpoint(), "--script 500,pass", err, sizeof err);
 *   ... point the client at fp_harness_endpoint(fp) ...
 *   assert_int_equal(fp_harness_stat(fp, "injected.500"), 1);
 *   assert_int_equal(fp_harness_stop(fp), 0);   // 0: the proxy exited cleanly
 *
 * The proxy is a child process started with --die-with-parent, so a test
 * that crashes leaves nothing behind. Link dorm_faultproxy_harness. Set
 * DORM_FAULTPROXY_VERBOSE=1 to have it log each decision on stderr.
 * Plan syntax: see plan.h (the same options as the command line).
 */
#ifndef FP_HARNESS_H
#define FP_HARNESS_H

#include <stddef.h>

typedef struct fp_harness fp_harness;

/* The dorm-faultproxy executable this harness runs (a build-tree path). */
const char *fp_harness_binary(void);

/* Starts a proxy forwarding to upstream ("http://127.0.0.1:PORT") with the
 * given plan (option text, may be NULL or "" for pass-through), plus extra
 * command-line options (option text, may be NULL; e.g. "--idle-timeout-ms 200").
 * Waits until it listens. Returns NULL on failure with the reason in err. */
fp_harness *fp_harness_start(const char *upstream, const char *plan, const char *extra_args, char *err,
                             size_t errcap);

/* "http://127.0.0.1:PORT" of the proxy; valid until fp_harness_stop(). */
const char *fp_harness_endpoint(const fp_harness *h);

/* The proxy's port. */
int fp_harness_port(const fp_harness *h);

/* Replaces the plan (POST /__proxy/plan). Returns 0, or -1 with the proxy's
 * error message in err. */
int fp_harness_set_plan(fp_harness *h, const char *plan, char *err, size_t errcap);

/* Zeroes the counters (POST /__proxy/stats/reset). Returns 0 or -1. */
int fp_harness_reset_stats(fp_harness *h);

/* One counter from GET /__proxy/stats by dotted path: "requests",
 * "forwarded", "passed", "slow", "injected.<fault>", "upstream_errors",
 * "bad_requests", "responses_lost", "control", "connections.accepted",
 * "connections.rejected", "connections.open". -1 when unavailable. */
long long fp_harness_stat(fp_harness *h, const char *path);

/* The raw stats JSON, malloc'd (caller frees), or NULL. */
char *fp_harness_stats_json(fp_harness *h);

/* Stops the proxy with SIGTERM (SIGKILL after 10 s), frees h. Returns the
 * proxy's exit status (0 = clean stop), or -1 when it had to be killed or
 * died from a signal. h may be NULL (returns 0). */
int fp_harness_stop(fp_harness *h);

#endif
