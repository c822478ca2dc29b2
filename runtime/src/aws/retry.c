#include "retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

#define MAX_ATTEMPTS_LIMIT 1000

void dorm__retry_settings_defaults(dorm_retry_settings *s, dorm_retry_mode mode) {
  memset(s, 0, sizeof *s);
  s->max_backoff_ms = DORM_RETRY_MAX_BACKOFF_MS;
  if (mode == DORM_RETRY_MODE_LEGACY) {
    s->mode = DORM_RETRY_MODE_LEGACY;
    s->max_attempts = 11;
    s->base_delay_ms = 25;
    s->throttling_base_delay_ms = 25;
    s->quota_capacity = 0;
    return;
  }
  s->mode = DORM_RETRY_MODE_STANDARD;
  s->max_attempts = 3;
  s->base_delay_ms = 25;
  s->throttling_base_delay_ms = 1000;
  s->quota_capacity = DORM_RETRY_QUOTA;
  s->retry_cost = DORM_RETRY_COST;
  s->timeout_retry_cost = DORM_RETRY_TIMEOUT_COST;
  s->no_retry_increment = DORM_RETRY_NO_RETRY_INCREMENT;
}

dorm_status dorm__retry_mode_parse(const char *text, const char *origin, dorm_retry_mode *out,
                                  char *errbuf, size_t errcap) {
  const char *t = text ? text : "";
  while (*t == ' ' || *t == '\t') t++;
  size_t n = strlen(t);
  while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
  if (n == 8 && strncasecmp(t, "standard", 8) == 0) { *out = DORM_RETRY_MODE_STANDARD; return DORM_OK; }
  if (n == 8 && strncasecmp(t, "adaptive", 8) == 0) { *out = DORM_RETRY_MODE_STANDARD; return DORM_OK; }
  if (n == 6 && strncasecmp(t, "legacy", 6) == 0) { *out = DORM_RETRY_MODE_LEGACY; return DORM_OK; }
  dorm__set_err(errbuf, errcap, "%s: expected 'standard', 'legacy' or 'adaptive', got '%.64s'",
          origin ? origin : "retry mode", text ? text : "");
  return DORM_ERR_CONFIG;
}

dorm_status dorm__retry_max_attempts_parse(const char *text, const char *origin, int *out,
                                          char *errbuf, size_t errcap) {
  const char *t = text ? text : "";
  while (*t == ' ' || *t == '\t') t++;
  char *end = NULL;
  errno = 0;
  long v = (*t >= '0' && *t <= '9') ? strtol(t, &end, 10) : -1;
  if (end) while (*end == ' ' || *end == '\t') end++;
  if (v < 1 || v > MAX_ATTEMPTS_LIMIT || errno != 0 || !end || *end != '\0') {
    dorm__set_err(errbuf, errcap, "%s: expected a whole number from 1 to %d, got '%.64s'",
            origin ? origin : "max attempts", MAX_ATTEMPTS_LIMIT, text ? text : "");
    return DORM_ERR_CONFIG;
  }
  *out = (int)v;
  return DORM_OK;
}

/* The SDKs' shared list of throttling error codes. LimitExceededException is
 * on it: for DynamoDB it means too many concurrent control-plane operations,
 * which a later try can pass. */
static const char *const throttling_codes[] = {
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException",
};

static const char *const transient_codes[] = {
  "RequestTimeout", "RequestTimeoutException", "InternalServerError", "InternalFailure",
  "ServiceUnavailable", "ServiceUnavailableException",
};

static bool in_list(const char *code, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(code, list[i]) == 0) return true;
  return false;
}

static dorm_retry_kind classify_curl(int curl_code) {
  switch ((CURLcode)curl_code) {
  case CURLE_OPERATION_TIMEDOUT:
    return DORM_RETRY_TIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_AGAIN:
    return DORM_RETRY_TRANSIENT;
  default:
    /* Bad URLs, certificate failures, aborted writes (response too large),
     * out of memory: the same request would fail the same way. */
    return DORM_RETRY_NONE;
  }
}

dorm_retry_kind dorm__retry_classify(const char *error_code, long http_status, int curl_code) {
  if (curl_code != 0) return classify_curl(curl_code);
  /* Some services put "ns#Code" or "Code:detail" in the code; compare the bare name. */
  char code[128] = "";
  if (error_code && *error_code) {
    const char *c = strrchr(error_code, '#');
    c = c ? c + 1 : error_code;
    size_t n = strcspn(c, ":");
    if (n >= sizeof code) n = sizeof code - 1;
    memcpy(code, c, n);
    code[n] = '\0';
  }
  if (code[0]) {
    if (in_list(code, throttling_codes, sizeof throttling_codes / sizeof *throttling_codes))
      return DORM_RETRY_THROTTLING;
    if (in_list(code, transient_codes, sizeof transient_codes / sizeof *transient_codes))
      return DORM_RETRY_TRANSIENT;
  }
  if (http_status == 429) return DORM_RETRY_THROTTLING;
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
    return DORM_RETRY_TRANSIENT;
  return DORM_RETRY_NONE;
}

dorm_retry_kind dorm__retry_classify_status(dorm_status transport_status) {
  switch (transport_status) {
  case DORM_ERR_TIMEOUT: return DORM_RETRY_TIMEOUT;
  case DORM_ERR_NETWORK: return DORM_RETRY_TRANSIENT;
  default: return DORM_RETRY_NONE;
  }
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void dorm__retry_policy_init(dorm_retry_policy *p, const dorm_retry_settings *s,
                            dorm_retry_random_fn random, void *random_ctx) {
  memset(p, 0, sizeof *p);
  if (s) p->s = *s;
  else dorm__retry_settings_defaults(&p->s, DORM_RETRY_MODE_STANDARD);
  if (p->s.max_attempts < 1) p->s.max_attempts = 1;
  if (p->s.max_backoff_ms <= 0 || p->s.max_backoff_ms > DORM_RETRY_MAX_BACKOFF_MS)
    p->s.max_backoff_ms = DORM_RETRY_MAX_BACKOFF_MS;
  p->tokens = p->s.quota_capacity;
  p->random = random;
  p->random_ctx = random_ctx;
  if (!random) {
    uint64_t seed = 0;
    if (getentropy(&seed, sizeof seed) != 0) {
      /* No entropy source: clients in one process still diverge. */
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)p ^
             ((uint64_t)getpid() << 16);
    }
    p->rng = seed;
  }
}

static double next_random(dorm_retry_policy *p) {
  double r;
  if (p->random) {
    r = p->random(p->random_ctx);
    if (!(r >= 0.0)) r = 0.0; /* also catches NaN */
    if (r > 1.0) r = 1.0;
  } else {
    r = (double)(splitmix64(&p->rng) >> 11) * 0x1.0p-53;
  }
  return r;
}

long dorm__retry_delay_ms(dorm_retry_policy *p, dorm_retry_kind kind, int k) {
  if (k < 1) k = 1;
  long cap = p->s.max_backoff_ms;
  long base = kind == DORM_RETRY_THROTTLING ? p->s.throttling_base_delay_ms : p->s.base_delay_ms;
  if (base < 0) base = 0;
  /* base * 2^(k-1) without overflow: 2^31 ms is already far past any cap. */
  double ceiling = (double)base * (double)(1ULL << (k - 1 > 31 ? 31 : k - 1));
  if (ceiling > (double)cap) ceiling = (double)cap;
  if (p->s.mode == DORM_RETRY_MODE_LEGACY) return k == 1 ? 0 : (long)ceiling;
  long d = (long)(next_random(p) * ceiling);
  return d > cap ? cap : d;
}

bool dorm__retry_quota_acquire(dorm_retry_policy *p, dorm_retry_kind kind, int *cost) {
  *cost = 0;
  if (p->s.quota_capacity <= 0) return true;
  int c = kind == DORM_RETRY_TIMEOUT ? p->s.timeout_retry_cost : p->s.retry_cost;
  if (c > p->tokens) return false;
  p->tokens -= c;
  *cost = c;
  return true;
}

void dorm__retry_quota_release(dorm_retry_policy *p, int amount) {
  if (p->s.quota_capacity <= 0 || amount <= 0) return;
  p->tokens = amount > p->s.quota_capacity - p->tokens ? p->s.quota_capacity : p->tokens + amount;
}

DORM__HOT
void dorm__retry_begin(dorm_retry_state *st) {
  st->attempts = 0;
  st->last_cost = 0;
}

bool dorm__retry_next(dorm_retry_policy *p, dorm_retry_state *st, dorm_retry_kind kind,
                     long *delay_ms, char *why, size_t whycap) {
  *delay_ms = 0;
  st->attempts++;
  if (kind == DORM_RETRY_NONE) {
    dorm__set_err(why, whycap, "not retryable");
    return false;
  }
  if (st->attempts >= p->s.max_attempts) {
    dorm__set_err(why, whycap, "gave up after %d attempt%s", st->attempts, st->attempts == 1 ? "" : "s");
    return false;
  }
  int cost;
  if (!dorm__retry_quota_acquire(p, kind, &cost)) {
    dorm__set_err(why, whycap, "retry quota exhausted after %d attempt%s (%d of %d tokens left)",
            st->attempts, st->attempts == 1 ? "" : "s", p->tokens, p->s.quota_capacity);
    return false;
  }
  st->last_cost = cost;
  *delay_ms = dorm__retry_delay_ms(p, kind, st->attempts);
  return true;
}

DORM__HOT
void dorm__retry_succeeded(dorm_retry_policy *p, dorm_retry_state *st) {
  if (st->attempts == 0) dorm__retry_quota_release(p, p->s.no_retry_increment);
  else dorm__retry_quota_release(p, st->last_cost);
}
