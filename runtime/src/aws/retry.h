/* retry: the AWS SDKs' retry policy for DynamoDB requests.
 *
 * The client asks three questions after each failed attempt: is this error
 * worth retrying (dorm__retry_classify*), is there budget left (max attempts,
 * the retry quota), and how long to wait (jittered exponential backoff).
 * dorm__retry_next() answers all three; the lower-level calls are exposed for
 * tests and for callers with their own loop.
 *
 * Standard mode (default), per the SDKs' standard retry spec:
 *   - 3 attempts unless configured;
 *   - delay before retry k (k = 1 for the first retry) =
 *       random[0,1) * min(20 s, base * 2^(k-1)),
 *     base 25 ms for transient errors and 1000 ms for throttling (the SDKs'
 *     DynamoDB values);
 *   - a retry quota per client: 500 tokens, a retry costs 5 (10 after a
 *     timeout); success refunds the cost of the retry that succeeded, or 1
 *     when no retry was needed; the quota never exceeds 500. With too few
 *     tokens the error is returned at once instead of retried.
 * Legacy mode (the pre-standard SDK behaviour for DynamoDB, as the C++ SDK's
 *   default strategy): 11 attempts, no quota, no jitter, delays
 *   0, 50, 100, 200 ... ms (25 ms * 2^(k-1) from the second retry), capped at 20 s.
 *
 * A policy belongs to one client and is used by one thread at a time. The
 * random source is per policy: a caller-supplied function (tests) or a
 * private PRNG seeded from the OS.
 */
#ifndef DORM_RETRY_H
#define DORM_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/config.h"
#include "dorm/status.h"

typedef enum dorm_retry_kind {
  DORM_RETRY_NONE = 0,     /* success, or an error a retry cannot fix */
  DORM_RETRY_TRANSIENT,    /* 500/502/503/504, connection failures, RequestTimeout... */
  DORM_RETRY_THROTTLING,   /* ThrottlingException, ProvisionedThroughputExceeded..., 429 */
  DORM_RETRY_TIMEOUT       /* our own connect/read timeout: transient, costs more quota */
} dorm_retry_kind;

#define DORM_RETRY_MAX_BACKOFF_MS 20000L
#define DORM_RETRY_QUOTA 500
#define DORM_RETRY_COST 5
#define DORM_RETRY_TIMEOUT_COST 10
#define DORM_RETRY_NO_RETRY_INCREMENT 1

typedef struct dorm_retry_settings {
  dorm_retry_mode mode;          /* STANDARD or LEGACY (never UNSET once resolved) */
  int max_attempts;              /* >= 1, total tries including the first */
  long base_delay_ms;            /* transient errors */
  long throttling_base_delay_ms; /* throttling errors */
  long max_backoff_ms;           /* no delay is ever longer */
  int quota_capacity;            /* 0: no quota (legacy) */
  int retry_cost, timeout_retry_cost, no_retry_increment;
} dorm_retry_settings;

/* Fills *s with the defaults of mode (UNSET means STANDARD). */
void dorm__retry_settings_defaults(dorm_retry_settings *s, dorm_retry_mode mode);

/* Parses "standard", "legacy" or "adaptive" (case-insensitive; adaptive runs
 * as standard: libdorm has no client-side rate limiter). origin names where
 * the text came from ("AWS_RETRY_MODE", "~/.aws/config:4"). On failure
 * DORM_ERR_CONFIG and errbuf says what was expected. */
dorm_status dorm__retry_mode_parse(const char *text, const char *origin, dorm_retry_mode *out,
                                  char *errbuf, size_t errcap);

/* Parses a max-attempts setting: a whole number from 1 to 1000 with optional
 * surrounding blanks. Anything else is DORM_ERR_CONFIG, e.g.
 * "AWS_MAX_ATTEMPTS: expected a whole number from 1 to 1000, got 'x'". */
dorm_status dorm__retry_max_attempts_parse(const char *text, const char *origin, int *out,
                                          char *errbuf, size_t errcap);

/* Classifies a finished attempt. error_code is the AWS error code ("" or
 * NULL when none), http_status the response status (0 when no response
 * arrived), curl_code the CURLcode of the transfer (0 when it completed).
 * A non-zero curl_code decides alone. */
dorm_retry_kind dorm__retry_classify(const char *error_code, long http_status, int curl_code);

/* Classifies a transport failure reported as a dorm_status (see http.h):
 * DORM_ERR_TIMEOUT -> TIMEOUT, DORM_ERR_NETWORK -> TRANSIENT, else NONE.
 * (A body that failed its CRC32 check is worth a retry: pass TRANSIENT.) */
dorm_retry_kind dorm__retry_classify_status(dorm_status transport_status);

/* Returns a uniformly distributed number in [0, 1). */
typedef double (*dorm_retry_random_fn)(void *ctx);

typedef struct dorm_retry_policy {
  dorm_retry_settings s;
  int tokens;                    /* quota left */
  dorm_retry_random_fn random;   /* NULL: the private PRNG below */
  void *random_ctx;
  uint64_t rng;                  /* PRNG state when random is NULL */
} dorm_retry_policy;

/* Initialises a policy with a full quota. random may be NULL (a PRNG seeded
 * from the OS is used). Never fails. */
void dorm__retry_policy_init(dorm_retry_policy *p, const dorm_retry_settings *s,
                            dorm_retry_random_fn random, void *random_ctx);

/* The delay before retry number k (1 = the first retry) after an error of
 * the given kind, in milliseconds: within [0, min(max_backoff, base*2^(k-1))]. */
long dorm__retry_delay_ms(dorm_retry_policy *p, dorm_retry_kind kind, int k);

/* Takes the quota cost of a retry after an error of this kind. Returns false
 * (and takes nothing) when too few tokens are left. *cost gets the amount
 * taken (0 when the mode has no quota). */
bool dorm__retry_quota_acquire(dorm_retry_policy *p, dorm_retry_kind kind, int *cost);

/* Returns tokens to the quota, never above its capacity. */
void dorm__retry_quota_release(dorm_retry_policy *p, int amount);

/* One request's bookkeeping; zero it (or call dorm__retry_begin) per request. */
typedef struct dorm_retry_state {
  int attempts;   /* attempts made so far */
  int last_cost;  /* quota taken by the latest retry, 0 when none */
} dorm_retry_state;

void dorm__retry_begin(dorm_retry_state *st);

/* Call after every failed attempt (this call counts it): decides whether to
 * retry. Returns true and sets *delay_ms when the caller should wait and try
 * again. Returns false when it should give up,
 * with the reason in why ("not retryable", "gave up after 3 attempts",
 * "retry quota exhausted"). */
bool dorm__retry_next(dorm_retry_policy *p, dorm_retry_state *st, dorm_retry_kind kind,
                     long *delay_ms, char *why, size_t whycap);

/* After a successful attempt: refunds the quota (the latest retry's cost,
 * or the no-retry increment when the first attempt succeeded). */
void dorm__retry_succeeded(dorm_retry_policy *p, dorm_retry_state *st);

#endif
