/* client: configuration, credentials, signing, transport and retries put
 * together into dorm_client_call(), the one way requests reach DynamoDB. */
#include "client_internal.h"

#include "dorm/pool.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_error.h"
#include "config.h"
#include "credentials.h"
#include "http.h"
#include "retry.h"
#include "sigv4.h"

#define TARGET_PREFIX "DynamoDB_20120810."
#define STREAMS_TARGET_PREFIX "DynamoDBStreams_20120810."
#define MAX_OPERATION_NAME 64

struct dorm_client {
  dorm_resolved_config cfg;
  dorm_credentials_provider *creds; /* shared with clones and dorm_accounts */
  dorm_creds_value held;            /* this client's copy of the provider's credentials */
  unsigned long held_gen;
  dorm_retry_policy retry;
  dorm_http *http;
  dorm_sigv4_cache sig;
  char *url;
  char *host_line; /* "Host: <host>", built once: the host never changes */
  char *streams_host_line; /* the same for DynamoDB Streams (cfg.streams_endpoint_url) */
  dorm_jw writer;
  dorm_sleep_fn sleep_fn;
  void *sleep_user;

  /* last outcome */
  dorm__call_outcome last;
  dorm_cancel_reason *reasons;
  char *reason_text; /* storage behind reasons[i].code/message */
  size_t nreasons;

  dorm_client_stats stats;

  /* an upper layer's object the client owns (the model layer's dorm_crypt) */
  void *attachment;
  void (*attachment_free)(void *);
  struct dorm_pool *pool; /* the batch calls' pool, kept for its connections (dorm__client_pool) */
};

static void default_sleep(void *user, long ms) {
  (void)user;
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

DORM__HOT
static void clear_reasons(dorm_client *c) {
  free(c->reasons);
  free(c->reason_text);
  c->reasons = NULL;
  c->reason_text = NULL;
  c->nreasons = 0;
}

DORM__HOT
void dorm__client_clear_error(dorm_client *c) {
  c->last.errmsg[0] = '\0';
  c->last.error_code[0] = '\0';
  c->last.has_error_body = false;
  clear_reasons(c);
}

static void client_destroy(dorm_client *c) {
  if (c->attachment_free) c->attachment_free(c->attachment);
  dorm_pool_free(c->pool);
  dorm__http_free(c->http);
  dorm__credentials_provider_free(c->creds);
  dorm__creds_value_clear(&c->held);
  dorm__sigv4_cache_cleanup(&c->sig);
  dorm__jw_free(&c->writer);
  dorm__resolved_config_free(&c->cfg);
  clear_reasons(c);
  free(c->url);
  free(c->host_line);
  free(c->streams_host_line);
  free(c);
  curl_global_cleanup();
}

/* Builds a client around an already resolved configuration (taken over).
 * With borrowed_files, rc's shared-file tables belong to someone else: they
 * are used to pick the credential source and then forgotten. */
static dorm_status client_from_resolved(dorm_resolved_config *rc, bool borrowed_files,
                                        dorm_credentials_provider *shared, dorm_client **out,
                                        char *errbuf, size_t errcap) {
  *out = NULL;
  dorm_ini *files_cfg = rc->config_file, *files_creds = rc->credentials_file;
  if (borrowed_files) {
    rc->config_file = NULL;
    rc->credentials_file = NULL;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    dorm__resolved_config_free(rc);
    snprintf(errbuf, errcap, "libcurl could not start");
    return DORM_ERR_NO_MEMORY;
  }
  dorm_client *c = calloc(1, sizeof *c);
  if (!c) {
    dorm__resolved_config_free(rc);
    curl_global_cleanup();
    snprintf(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  c->cfg = *rc;
  memset(rc, 0, sizeof *rc);
  c->sleep_fn = default_sleep;
  dorm__jw_init(&c->writer, 0);

  if (strcmp(c->cfg.path, "/") != 0) {
    snprintf(errbuf, errcap, "endpoint %s (from %s): DynamoDB endpoints have no path",
             c->cfg.endpoint_url, c->cfg.endpoint_source);
    client_destroy(c);
    return DORM_ERR_CONFIG;
  }
  if (borrowed_files) {
    c->cfg.config_file = files_cfg;
    c->cfg.credentials_file = files_creds;
  }
  dorm_status st = DORM_OK;
  if (shared) c->creds = dorm__credentials_provider_ref(shared);
  else st = dorm__credentials_provider_new(&c->cfg, &c->creds, errbuf, errcap);
  if (borrowed_files) {
    c->cfg.config_file = NULL;
    c->cfg.credentials_file = NULL;
  }
  if (st != DORM_OK) {
    client_destroy(c);
    return st;
  }
  st = dorm__sigv4_cache_init(&c->sig);
  if (st != DORM_OK) {
    snprintf(errbuf, errcap, "cannot initialise SHA-256/HMAC (OpenSSL)");
    client_destroy(c);
    return st;
  }
  dorm__retry_policy_init(&c->retry, &c->cfg.retry, NULL, NULL);
  dorm_http_options ho = {c->cfg.connect_timeout_ms, c->cfg.request_timeout_ms,
                          c->cfg.max_response_bytes};
  c->http = dorm__http_new(&ho);
  c->url = strdup(c->cfg.endpoint_url);
  size_t hl = strlen(c->cfg.host) + sizeof "Host: ";
  c->host_line = malloc(hl);
  if (c->host_line) snprintf(c->host_line, hl, "Host: %s", c->cfg.host);
  hl = strlen(c->cfg.streams_host) + sizeof "Host: ";
  c->streams_host_line = malloc(hl);
  if (c->streams_host_line) snprintf(c->streams_host_line, hl, "Host: %s", c->cfg.streams_host);
  if (!c->http || !c->url || !c->host_line || !c->streams_host_line) {
    snprintf(errbuf, errcap, "out of memory");
    client_destroy(c);
    return DORM_ERR_NO_MEMORY;
  }
  *out = c;
  return DORM_OK;
}

dorm_status dorm_client_new(const dorm_config *cfg, dorm_client **out, char *errbuf, size_t errcap) {
  char scratch[8];
  if (!errbuf) {
    errbuf = scratch;
    errcap = sizeof scratch;
  }
  if (!out) {
    snprintf(errbuf, errcap, "dorm_client_new: out is NULL");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  *out = NULL;
  dorm_resolved_config rc;
  dorm_status st = dorm__config_resolve(cfg, &rc, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__resolved_config_free(&rc);
    return st;
  }
  return client_from_resolved(&rc, false, NULL, out, errbuf, errcap);
}

dorm_status dorm__client_new_shared(const dorm_config *cfg, dorm_credentials_provider *creds, dorm_client **out,
                                    char *errbuf, size_t errcap) {
  *out = NULL;
  dorm_resolved_config rc;
  dorm_status st = dorm__config_resolve(cfg, &rc, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__resolved_config_free(&rc);
    return st;
  }
  return client_from_resolved(&rc, false, creds, out, errbuf, errcap);
}

static char *dup_or_null(const char *s, bool *oom) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *oom = true;
  return d;
}

dorm_client *dorm_client_clone(const dorm_client *src) {
  if (!src) return NULL;
  /* Re-resolving would re-read files and the environment, which may have
   * changed; a clone must behave exactly like its source, so copy. */
  dorm_resolved_config rc = src->cfg;
  bool oom = false;
  rc.profile = dup_or_null(src->cfg.profile, &oom);
  rc.region = dup_or_null(src->cfg.region, &oom);
  rc.endpoint_url = dup_or_null(src->cfg.endpoint_url, &oom);
  rc.host = dup_or_null(src->cfg.host, &oom);
  rc.path = dup_or_null(src->cfg.path, &oom);
  rc.streams_endpoint_url = dup_or_null(src->cfg.streams_endpoint_url, &oom);
  rc.streams_host = dup_or_null(src->cfg.streams_host, &oom);
  rc.access_key_id = dup_or_null(src->cfg.access_key_id, &oom);
  rc.secret_access_key = dup_or_null(src->cfg.secret_access_key, &oom);
  rc.session_token = dup_or_null(src->cfg.session_token, &oom);
  /* The shared files are only needed while choosing the credential source:
   * lend the source's tables for that. */
  rc.config_file = src->cfg.config_file;
  rc.credentials_file = src->cfg.credentials_file;
  if (oom) {
    rc.config_file = NULL;
    rc.credentials_file = NULL;
    dorm__resolved_config_free(&rc);
    return NULL;
  }
  dorm_client *c = NULL;
  char err[256];
  /* The clone shares the source's credentials: one refresh serves both. */
  if (client_from_resolved(&rc, true, src->creds, &c, err, sizeof err) != DORM_OK) return NULL;
  c->sleep_fn = src->sleep_fn;
  c->sleep_user = src->sleep_user;
  return c;
}

void dorm_client_free(dorm_client *c) {
  if (c) client_destroy(c);
}

const char *dorm_client_errmsg(const dorm_client *c) { return c ? c->last.errmsg : ""; }
const char *dorm_client_error_code(const dorm_client *c) { return c ? c->last.error_code : ""; }
const char *dorm_client_request_id(const dorm_client *c) { return c ? c->last.request_id : ""; }
const char *dorm_client_endpoint(const dorm_client *c) { return c->cfg.endpoint_url; }
const char *dorm_client_region(const dorm_client *c) { return c->cfg.region; }

size_t dorm_client_cancel_reasons(const dorm_client *c, const dorm_cancel_reason **reasons) {
  *reasons = c->reasons;
  return c->nreasons;
}

void dorm_client_get_stats(const dorm_client *c, dorm_client_stats *out) {
  *out = c->stats; /* connections: those of the client's pools (pool.c) */
  out->connections += dorm__http_connections_opened(c->http);
}

DORM__HOT
dorm_jw *dorm__client_writer(dorm_client *c) {
  dorm__jw_reset(&c->writer);
  return &c->writer;
}

void dorm__client_attach(dorm_client *c, void *obj, void (*free_fn)(void *)) {
  c->attachment = obj;
  c->attachment_free = obj ? free_fn : NULL;
}

void *dorm__client_attachment(const dorm_client *c) { return c->attachment; }

dorm_jw *dorm__client_writer_current(dorm_client *c) { return &c->writer; }

void dorm__client_sleep_ms(dorm_client *c, long ms) { c->sleep_fn(c->sleep_user, ms); }

bool dorm__client_sleep_hooked(const dorm_client *c) { return c->sleep_fn != default_sleep; }

void dorm__client_set_sleep(dorm_client *c, dorm_sleep_fn fn, void *user) {
  c->sleep_fn = fn ? fn : default_sleep;
  c->sleep_user = fn ? user : NULL;
}

long dorm__client_backoff_ms(dorm_client *c, int k) {
  return dorm__retry_delay_ms(&c->retry, DORM_RETRY_THROTTLING, k);
}

/* A token only has to be unique within DynamoDB's idempotency window, not
 * secret: 8 random bytes per thread (drawn again in a forked child) and a
 * counter. A RAND_bytes per token was ~1 % of the streamer's CPU (OpenSSL
 * 3's DRBG per call), one per transaction. */
static atomic_uint token_forks; /* bumped in every forked child */
static pthread_once_t token_once = PTHREAD_ONCE_INIT;
static void token_forked(void) { atomic_fetch_add(&token_forks, 1); }
static void token_init(void) { pthread_atfork(NULL, NULL, token_forked); }

static _Thread_local struct {
  unsigned char seed[8];
  uint64_t n;
  unsigned forks;
  bool ready;
} token_state;

dorm_status dorm__client_new_token(dorm_client *c, char out[33]) {
  pthread_once(&token_once, token_init);
  unsigned forks = atomic_load(&token_forks);
  if (!token_state.ready || token_state.forks != forks) {
    if (RAND_bytes(token_state.seed, sizeof token_state.seed) != 1)
      return dorm__client_fail(c, DORM_ERR_NO_MEMORY, "ClientRequestToken", "no random bytes from OpenSSL");
    token_state.n = 0;
    token_state.forks = forks;
    token_state.ready = true;
  }
  uint64_t n = ++token_state.n;
  unsigned char raw[16];
  memcpy(raw, token_state.seed, 8);
  for (int i = 0; i < 8; i++) raw[8 + i] = (unsigned char)(n >> (56 - 8 * i));
  dorm__hex_encode(raw, sizeof raw, out);
  return DORM_OK;
}

dorm_status dorm__client_fail(dorm_client *c, dorm_status st, const char *operation, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err_prefixed(c->last.errmsg, sizeof c->last.errmsg, operation ? operation : "dorm", fmt, ap);
  va_end(ap);
  return st;
}

const char *dorm__client_error_body(const dorm_client *c, size_t *len) {
  /* The error body is the transport's response buffer, untouched since the
   * failed call returned. */
  if (!c->last.has_error_body) {
    if (len) *len = 0;
    return "";
  }
  return dorm__http_last_body(c->http, len);
}

/* Keeps the CancellationReasons of a TransactionCanceledException. */
static void keep_cancel_reasons(dorm_client *c, const char *body, size_t len) {
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
  if (!root) return;
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "CancellationReasons");
  size_t n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
  size_t text = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, arr) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(r, "Code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "Message");
    text += (cJSON_IsString(code) ? strlen(code->valuestring) : 4) + 1;
    text += (cJSON_IsString(msg) ? strlen(msg->valuestring) : 0) + 1;
  }
  if (n > 0) {
    c->reasons = calloc(n, sizeof *c->reasons);
    c->reason_text = malloc(text);
    if (!c->reasons || !c->reason_text) {
      clear_reasons(c);
      cJSON_Delete(root);
      return;
    }
    char *p = c->reason_text;
    size_t i = 0;
    cJSON_ArrayForEach(r, arr) {
      const cJSON *code = cJSON_GetObjectItemCaseSensitive(r, "Code");
      const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "Message");
      const char *cs = cJSON_IsString(code) ? code->valuestring : "None";
      const char *ms = cJSON_IsString(msg) ? msg->valuestring : "";
      c->reasons[i].code = p;
      p = stpcpy(p, cs) + 1;
      c->reasons[i].message = p;
      p = stpcpy(p, ms) + 1;
      i++;
    }
    c->nreasons = n;
  }
  cJSON_Delete(root);
}

/* Reason text for the last attempt of a failed call. The retry policy's
 * reasons for giving up ("gave up after 3 attempts", "retry quota exhausted
 * after 2 attempts (...)") already count the attempts; only "not retryable"
 * after earlier retries needs the count added. */
static void describe_attempts(char *buf, size_t cap, int attempts, const char *why) {
  if (attempts <= 1)
    buf[0] = '\0';
  else if (strstr(why, "attempt"))
    snprintf(buf, cap, " (%s)", why);
  else
    snprintf(buf, cap, " (%d attempts; %s)", attempts, why);
}

DORM__HOT
dorm_status dorm_client_call(dorm_client *c, const char *operation, const char *body,
                             size_t body_len, const char **resp, size_t *resp_len) {
  return dorm__client_call_service(c, DORM__SVC_DYNAMODB, operation, body, body_len, resp, resp_len);
}

const char *dorm__client_service_endpoint(const dorm_client *c, dorm__service svc) {
  return svc == DORM__SVC_STREAMS ? c->cfg.streams_endpoint_url : c->cfg.endpoint_url;
}

static void call_fail(dorm__call *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Writes "<operation>: <message>" into the call's outcome. */
static void call_fail(dorm__call *k, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err_prefixed(k->out->errmsg, sizeof k->out->errmsg, k->operation, fmt, ap);
  va_end(ap);
}

DORM__HOT
dorm_status dorm__call_init(dorm__call *k, dorm_client *c, dorm__service svc, const char *operation,
                            const char *body, size_t body_len, dorm__call_outcome *out) {
  k->c = c;
  k->out = out;
  k->client_outcome = out == &c->last;
  k->body = body;
  k->body_len = body_len;
  k->h_token = NULL;
  k->renewed = false;
  k->resend = false;
  k->nh = 0;
  dorm__retry_begin(&k->rs);
  out->request_id[0] = '\0';
  out->http_status = 0;
  out->attempts = 0;
  size_t oplen = operation ? strlen(operation) : 0;
  if (oplen == 0 || oplen > MAX_OPERATION_NAME) {
    k->operation = "dorm_client_call";
    call_fail(k, "bad operation name");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  k->operation = operation;
  /* Streams is another service behind another endpoint (on AWS), with
   * its own target prefix; it is signed as "dynamodb" all the same. */
  bool streams = svc == DORM__SVC_STREAMS;
  const char *prefix = streams ? STREAMS_TARGET_PREFIX : TARGET_PREFIX;
  k->url = streams ? c->cfg.streams_endpoint_url : c->url;
  k->host = streams ? c->cfg.streams_host : c->cfg.host;
  k->host_line = streams ? c->streams_host_line : c->host_line;
  /* "X-Amz-Target: <prefix><operation>" written once; SigV4 signs the
   * value inside it. */
  static const char name[] = "X-Amz-Target: ";
  size_t plen = strlen(prefix);
  _Static_assert(sizeof name - 1 + sizeof STREAMS_TARGET_PREFIX - 1 + MAX_OPERATION_NAME + 1 <=
                     sizeof k->h_target,
                 "h_target too small");
  char *t = k->h_target;
  memcpy(t, name, sizeof name - 1);
  memcpy(t + sizeof name - 1, prefix, plen);
  memcpy(t + sizeof name - 1 + plen, operation, oplen + 1);
  k->target = t + sizeof name - 1;
  k->headers[0] = "Content-Type: application/x-amz-json-1.0";
  k->headers[1] = k->host_line;
  k->headers[2] = k->sh.date_line;
  k->headers[3] = k->h_target;
  k->headers[4] = k->sh.auth_line;
  k->headers[5] = NULL;
  return DORM_OK;
}

DORM__HOT
dorm_status dorm__call_sign(dorm__call *k) {
  dorm_client *c = k->c;
  char err[1024];
  err[0] = '\0'; /* not "" as initialiser: that zero-fills all 1024 bytes, per request */
  dorm_status st = dorm__credentials_provider_get_copy(c->creds, &c->held, &c->held_gen, err, sizeof err);
  if (st != DORM_OK) {
    call_fail(k, "credentials: %s", err);
    return st;
  }
  const dorm_creds_value cr = c->held;
  dorm_sigv4_credentials sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
  dorm_sigv4_ddb_request sr = {k->host, k->target, k->body, k->body_len};
  st = dorm__sigv4_sign_dynamodb(&c->sig, &sc, c->cfg.region, "dynamodb", (int64_t)time(NULL), &sr, &k->sh, err,
                                sizeof err);
  if (st != DORM_OK) {
    call_fail(k, "signing: %s", err);
    return st;
  }
  k->nh = 5; /* headers[0..4]: set by init, the lines themselves just written */
  free(k->h_token);
  k->h_token = NULL;
  if (cr.session_token && *cr.session_token) {
    size_t tl = strlen(cr.session_token) + sizeof "X-Amz-Security-Token: ";
    k->h_token = malloc(tl);
    if (!k->h_token) {
      call_fail(k, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
    snprintf(k->h_token, tl, "X-Amz-Security-Token: %s", cr.session_token);
    k->headers[k->nh++] = k->h_token;
  }
  c->stats.attempts++;
  return DORM_OK;
}

DORM__HOT
bool dorm__call_settle(dorm__call *k, dorm_status transport, const dorm_http_response *hr, const char *terr,
                       long *delay_ms, dorm_status *result) {
  dorm_client *c = k->c;
  dorm__call_outcome *o = k->out;
  char err[1024];
  *delay_ms = 0;
  k->resend = false;
  if (hr->request_id[0]) memcpy(o->request_id, hr->request_id, sizeof o->request_id);
  o->http_status = hr->status;
  dorm_retry_kind kind;
  if (transport != DORM_OK) {
    kind = hr->crc_mismatch ? DORM_RETRY_TRANSIENT : dorm__retry_classify_status(transport);
    o->error_code[0] = '\0';
    o->has_error_body = false;
    *result = transport;
    snprintf(err, sizeof err, "%s", terr ? terr : "");
  } else if (hr->status == 200) {
    /* An earlier attempt's error must not outlive the success. */
    o->error_code[0] = '\0';
    o->has_error_body = false;
    o->attempts = k->rs.attempts + 1;
    dorm__retry_succeeded(&c->retry, &k->rs);
    *result = DORM_OK;
    return true;
  } else {
    dorm_aws_error ae;
    dorm__aws_error_parse(hr->body, hr->body_len, &ae);
    memcpy(o->error_code, ae.code, sizeof o->error_code);
    o->has_error_body = true;
    kind = dorm__retry_classify(ae.code, hr->status, 0);
    if (!k->renewed && strcmp(ae.code, "ExpiredTokenException") == 0 &&
        dorm__credentials_provider_invalidate(c->creds, c->held_gen)) {
      /* The keys expired before we expected (a skewed clock, early
       * revocation): send again once with fresh ones. This is not a
       * retry of the policy's: it costs no quota and no backoff. */
      k->renewed = true;
      k->resend = true;
      return false;
    }
    if (kind == DORM_RETRY_THROTTLING) c->stats.throttles++;
    *result = dorm__aws_error_status(ae.code, hr->status);
    if (ae.code[0]) {
      snprintf(err, sizeof err, "%.95s%s%.380s (HTTP %ld)", ae.code, ae.message[0] ? ": " : "", ae.message,
               hr->status);
    } else {
      /* Not an AWS error body: say who answered what, since the usual
       * cause is an endpoint that is not DynamoDB. */
      char excerpt[128];
      dorm__aws_error_excerpt(hr->body, hr->body_len, excerpt, sizeof excerpt);
      snprintf(err, sizeof err,
               "HTTP %ld from %.200s with %s%s%s, not a DynamoDB error: that endpoint may not be DynamoDB "
               "(check the configured endpoint)",
               hr->status, k->url, excerpt[0] ? "\"" : "an empty body", excerpt, excerpt[0] ? "\"" : "");
    }
    if (k->client_outcome && *result == DORM_ERR_TRANSACTION_CANCELLED) keep_cancel_reasons(c, hr->body, hr->body_len);
  }

  char why[128] = "";
  if (dorm__retry_next(&c->retry, &k->rs, kind, delay_ms, why, sizeof why)) {
    c->stats.retries++;
    if (k->client_outcome) clear_reasons(c);
    return false;
  }
  o->attempts = k->rs.attempts;
  char tail[192];
  describe_attempts(tail, sizeof tail, k->rs.attempts, why);
  if (o->request_id[0])
    call_fail(k, "%s%s (request id %s)", err, tail, o->request_id);
  else
    call_fail(k, "%s%s", err, tail);
  return true;
}

DORM__HOT
void dorm__call_cleanup(dorm__call *k) {
  free(k->h_token);
  k->h_token = NULL;
}

DORM__HOT
dorm_status dorm__client_call_service(dorm_client *c, dorm__service svc, const char *operation,
                                      const char *body, size_t body_len, const char **resp, size_t *resp_len) {
  dorm__client_clear_error(c);
  c->stats.operations++;
  dorm__call k;
  dorm_status result = dorm__call_init(&k, c, svc, operation, body, body_len, &c->last);
  if (result != DORM_OK) return result;
  for (;;) {
    result = dorm__call_sign(&k);
    if (result != DORM_OK) break;
    char err[1024];
    err[0] = '\0'; /* (not zero-filled per request) */
    dorm_http_response hr;
    dorm_status st = dorm__http_post(c->http, k.url, k.headers, k.nh, body, body_len, &hr, err, sizeof err);
    long delay = 0;
    if (dorm__call_settle(&k, st, &hr, err, &delay, &result)) {
      if (result == DORM_OK) {
        *resp = hr.body;
        if (resp_len) *resp_len = hr.body_len;
      }
      break;
    }
    if (!k.resend) dorm__client_sleep_ms(c, delay);
  }
  dorm__call_cleanup(&k);
  return result;
}

DORM__HOT
dorm_status dorm__client_send(dorm_client *c, const char *operation, const char **resp, size_t *resp_len) {
  return dorm__client_send_service(c, DORM__SVC_DYNAMODB, operation, resp, resp_len);
}

DORM__HOT
dorm_status dorm__client_send_service(dorm_client *c, dorm__service svc, const char *operation,
                                      const char **resp, size_t *resp_len) {
  const char *body;
  size_t len;
  dorm_status st = dorm__jw_finish(&c->writer, &body, &len);
  if (st != DORM_OK) {
    dorm__client_clear_error(c);
    return dorm__client_fail(c, st, operation, "%s", c->writer.err);
  }
  return dorm__client_call_service(c, svc, operation, body, len, resp, resp_len);
}

dorm_status dorm__client_credentials(dorm_client *c, dorm_credentials *out) {
  char err[512] = "";
  memset(out, 0, sizeof *out);
  dorm_status st = dorm__credentials_provider_get_copy(c->creds, &c->held, &c->held_gen, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, "credentials", "%s", err);
  out->access_key_id = c->held.access_key_id;
  out->secret_access_key = c->held.secret_access_key;
  out->session_token = c->held.session_token;
  out->expiration = c->held.expiration;
  return DORM_OK;
}

struct dorm_http *dorm__client_http(dorm_client *c) { return c->http; }
struct dorm_retry_policy *dorm__client_retry_policy(dorm_client *c) { return &c->retry; }

void dorm__client_set_error_code(dorm_client *c, const char *code, const char *request_id) {
  snprintf(c->last.error_code, sizeof c->last.error_code, "%s", code ? code : "");
  snprintf(c->last.request_id, sizeof c->last.request_id, "%s", request_id ? request_id : "");
  c->last.has_error_body = false;
}

dorm_client_stats *dorm__client_stats(dorm_client *c) { return &c->stats; }

dorm_status dorm__client_pool(dorm_client *c, unsigned max_in_flight, dorm_pool **out, bool *owned) {
  *owned = false;
  if (c->pool && dorm__pool_busy(c->pool)) {
    /* A batch call from inside another's callback (a page of a parallel
     * scan written back with dorm_batch_write): a pool of its own. */
    *owned = true;
    return dorm_pool_new(c, max_in_flight, out);
  }
  if (c->pool && dorm__pool_size(c->pool) != max_in_flight) {
    dorm_pool_free(c->pool);
    c->pool = NULL;
  }
  if (!c->pool) {
    dorm_status st = dorm_pool_new(c, max_in_flight, &c->pool);
    if (st != DORM_OK) return st;
  }
  *out = c->pool;
  return DORM_OK;
}

void dorm__client_http_options(const dorm_client *c, dorm_http_options *out) {
  out->connect_timeout_ms = c->cfg.connect_timeout_ms;
  out->request_timeout_ms = c->cfg.request_timeout_ms;
  out->max_response_bytes = c->cfg.max_response_bytes;
}
