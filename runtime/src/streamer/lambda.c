/* lambda: the streamer as an AWS Lambda custom runtime (docs/streamer.md,
 * "On AWS"). When AWS_LAMBDA_RUNTIME_API is set, dorm_streamer_main runs
 * this loop instead of the WebSocket server:
 *
 *   GET  /2018-06-01/runtime/invocation/next           (long poll: the event)
 *   POST /2018-06-01/runtime/invocation/{id}/response  (the handler's answer)
 *   POST /2018-06-01/runtime/invocation/{id}/error     (it could not answer)
 *   POST /2018-06-01/runtime/init/error                (the start failed)
 *
 * One invocation at a time on the main thread (Lambda sends the next event
 * only after the answer), so the process-wide state here (the trace id, the
 * cold start) belongs to "the invocation", not to a thread. A ticker thread
 * answers TIMEOUT for sync calls past their endpoint's timeout (the local
 * poller's job) and, near the invocation's deadline, makes running jobs
 * give their requests back so that the batch is answered in time.
 *
 * Metrics are CloudWatch Embedded Metric Format lines on stdout, one set
 * per invocation (no PutMetricData call: Lambda's log pipeline carries
 * them); logs stay JSON lines on stderr. */
#include "lambda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define RT_VERSION "2018-06-01"
#define EMF_NAMESPACE "DORM/Streamer"
/* Lambda's synchronous payload limit is 6 MB; an event beyond it is not one */
#define MAX_EVENT (7u * 1024 * 1024)

/* ---- the invocation's trace id, for every log line ---- */

static pthread_mutex_t trace_mu = PTHREAD_MUTEX_INITIALIZER;
static char trace_id[256];
static bool loop_started; /* init/error is for a start that failed, not for a loop that ended */

void dorm__st_lambda_trace_id(char *out, size_t cap) {
  pthread_mutex_lock(&trace_mu);
  snprintf(out, cap, "%s", trace_id);
  pthread_mutex_unlock(&trace_mu);
}

static void set_trace_id(const char *t) {
  pthread_mutex_lock(&trace_mu);
  snprintf(trace_id, sizeof trace_id, "%s", t ? t : "");
  pthread_mutex_unlock(&trace_mu);
  /* the convention the AWS SDKs read the trace header from */
  if (t && t[0]) setenv("_X_AMZN_TRACE_ID", t, 1);
  else unsetenv("_X_AMZN_TRACE_ID");
}

/* ---- delivery: the connection of the current event ---- */

dorm__srv_offer_result dorm__st_lambda_offer(dorm__streamer *s, const char *conn_id, const char *text, size_t len) {
  if (!s->lambda_conn[0] || strcmp(conn_id, s->lambda_conn) != 0 || !s->lambda_endpoint[0]) return DORM__SRV_NOT_HERE;
  dorm_status st = dorm__st_deliver(s, s->lambda_endpoint, conn_id, text, len);
  if (st == DORM_OK) return DORM__SRV_QUEUED;
  if (st == DORM_ERR_NOT_FOUND) return DORM__SRV_GONE;
  dorm__st_metrics_add(&s->metrics, &s->metrics.delivery_failures, 1);
  /* stored all the same: resume and get_result find it */
  return DORM__SRV_QUEUED;
}

/* The protocol's `connected` message after an accepted $connect. API
 * Gateway takes messages for a connection only once $connect has answered
 * 200, so this runs after the answer is posted (before the next event is
 * asked for); a 410 in the moment between is tried again briefly. */
static void greet(dorm__streamer *s) {
  char hello[200];
  snprintf(hello, sizeof hello, "{\"connection_id\":\"%s\"}", s->lambda_conn);
  char *text = dorm__st_message("connected", NULL, 0, hello);
  if (!text) return;
  for (long wait_ms = 25;; wait_ms *= 2) {
    dorm_status st = dorm__st_deliver(s, s->lambda_endpoint, s->lambda_conn, text, strlen(text));
    if (st != DORM_ERR_NOT_FOUND) {
      if (st != DORM_OK) dorm__st_metrics_add(&s->metrics, &s->metrics.delivery_failures, 1);
      break;
    }
    if (wait_ms > 400) {
      dorm__st_log("info", "connection_gone", NULL, s->lambda_conn, NULL, "gone before it was greeted");
      break;
    }
    struct timespec ts = {0, wait_ms * 1000000L};
    nanosleep(&ts, NULL);
  }
  free(text);
}

/* ---- the Runtime API over libcurl ---- */

typedef struct rt_buf {
  char *p;
  size_t len, cap;
  bool too_big;
} rt_buf;

typedef struct rt_headers {
  char request_id[128];
  char deadline_ms[32];
  char trace[256];
} rt_headers;

static size_t on_body(char *p, size_t size, size_t n, void *user) {
  rt_buf *b = user;
  size_t add = size * n;
  if (b->len + add + 1 > MAX_EVENT) {
    b->too_big = true;
    return 0;
  }
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + add + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) return 0;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, add);
  b->len += add;
  b->p[b->len] = '\0';
  return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *user) {
  rt_headers *h = user;
  size_t len = size * n;
  header_value(p, len, "Lambda-Runtime-Aws-Request-Id", h->request_id, sizeof h->request_id);
  header_value(p, len, "Lambda-Runtime-Deadline-Ms", h->deadline_ms, sizeof h->deadline_ms);
  header_value(p, len, "Lambda-Runtime-Trace-Id", h->trace, sizeof h->trace);
  return len;
}

typedef struct rt_client {
  CURL *h;
  char base[300]; /* http://{AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime */
} rt_client;

/* One request to the Runtime API; the HTTP status, or 0 when it could not be
 * reached. next waits as long as Lambda takes (no timeout: the process is
 * frozen in between); posts give up after 10 s. */
static long rt_call(rt_client *r, const char *path, const char *body, size_t len, const char *error_type,
                    rt_buf *out, rt_headers *h) {
  char url[600];
  snprintf(url, sizeof url, "%s%s", r->base, path);
  curl_easy_reset(r->h);
  curl_easy_setopt(r->h, CURLOPT_URL, url);
  curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  struct curl_slist *list = NULL;
  if (body) {
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
    if (error_type) {
      char line[128];
      snprintf(line, sizeof line, "Lambda-Runtime-Function-Error-Type: %s", error_type);
      list = curl_slist_append(list, line);
    }
    curl_easy_setopt(r->h, CURLOPT_POST, 1L);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, 10000L);
  }
  rt_buf sink = {0};
  curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(r->h, CURLOPT_WRITEDATA, out ? out : &sink);
  if (h) {
    curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->h, CURLOPT_HEADERDATA, h);
  }
  CURLcode rc = curl_easy_perform(r->h);
  long code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(list);
  free(sink.p);
  return code;
}

static char *error_body(const char *type, const char *message) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "errorMessage", message);
  cJSON_AddStringToObject(o, "errorType", type);
  cJSON_AddItemToObject(o, "stackTrace", cJSON_CreateArray());
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

static bool rt_open(rt_client *r) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api || !api[0] || strlen(api) > 200) return false;
  snprintf(r->base, sizeof r->base, "http://%s/" RT_VERSION "/runtime", api);
  r->h = curl_easy_init();
  return r->h != NULL;
}

void dorm__st_lambda_init_error(const char *why) {
  if (loop_started) return;
  rt_client r = {0};
  if (!rt_open(&r)) return;
  char *body = error_body("Runtime.InitError", why);
  if (body) {
    long code = rt_call(&r, "/init/error", body, strlen(body), "Runtime.InitError", NULL, NULL);
    if (code != 202) fprintf(stderr, "lambda: init/error answered %ld\n", code);
  }
  cJSON_free(body);
  curl_easy_cleanup(r.h);
}

/* ---- the ticker: sync timeouts, and giving jobs back near the deadline ---- */

typedef struct ticker {
  dorm__streamer *s;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  bool released; /* this invocation's jobs were asked to give their requests back */
} ticker;

static void *ticker_main(void *arg) {
  ticker *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    if (t->stop) break;
    pthread_mutex_unlock(&t->mu);
    dorm__st_expire_sync(t->s);
    int64_t d = atomic_load(&t->s->lambda_deadline_ms);
    bool release = d > 0 && dorm__st_now_ms() >= d;
    pthread_mutex_lock(&t->mu);
    if (release && !t->released) {
      t->released = true;
      pthread_mutex_unlock(&t->mu);
      dorm__st_log("warn", "deadline", NULL, NULL, NULL,
                   "the invocation ends in %d ms: running jobs give their requests back", DORM__ST_LAMBDA_MARGIN_MS);
      dorm__st_release_running(t->s);
      pthread_mutex_lock(&t->mu);
    }
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

/* ---- Embedded Metric Format ---- */

typedef struct snapshot {
  int64_t progress_sent, delivery_failures, auth_failures, messages_in, invalid_messages;
  int64_t queue_wait_ms_sum, queue_wait_n, job_ms_sum, job_n;
  struct {
    char endpoint[64];
    char outcome[24];
    int64_t n;
  } outcomes[64];
  size_t noutcomes;
} snapshot;

static void take_snapshot(dorm__st_metrics *m, snapshot *out) {
  pthread_mutex_lock(&m->mu);
  out->progress_sent = m->progress_sent;
  out->delivery_failures = m->delivery_failures;
  out->auth_failures = m->auth_failures;
  out->messages_in = m->messages_in;
  out->invalid_messages = m->invalid_messages;
  out->queue_wait_ms_sum = m->queue_wait_ms_sum;
  out->queue_wait_n = m->queue_wait_n;
  out->job_ms_sum = m->job_ms_sum;
  out->job_n = m->job_n;
  out->noutcomes = m->noutcomes;
  memcpy(out->outcomes, m->outcomes, sizeof out->outcomes);
  pthread_mutex_unlock(&m->mu);
}

static int64_t outcome_count(const snapshot *sn, const char *endpoint, const char *outcome) {
  for (size_t i = 0; i < sn->noutcomes; i++)
    if (strcmp(sn->outcomes[i].endpoint, endpoint) == 0 && strcmp(sn->outcomes[i].outcome, outcome) == 0)
      return sn->outcomes[i].n;
  return 0;
}

static void emf_metric(cJSON *root, cJSON *defs, const char *name, const char *unit, double v) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "Name", name);
  cJSON_AddStringToObject(d, "Unit", unit);
  cJSON_AddItemToArray(defs, d);
  cJSON_AddNumberToObject(root, name, v);
}

/* A root object with _aws for one metric directive of dimension sets
 * dims (NULL-terminated lists, NULL-terminated); *defs receives the
 * metric definitions. */
static cJSON *emf_root(const char *const *const *dims, cJSON **defs) {
  cJSON *root = cJSON_CreateObject();
  cJSON *aws = cJSON_AddObjectToObject(root, "_aws");
  cJSON_AddNumberToObject(aws, "Timestamp", (double)dorm__st_now_ms());
  cJSON *cwm = cJSON_AddArrayToObject(aws, "CloudWatchMetrics");
  cJSON *dir = cJSON_CreateObject();
  cJSON_AddItemToArray(cwm, dir);
  cJSON_AddStringToObject(dir, "Namespace", EMF_NAMESPACE);
  cJSON *ds = cJSON_AddArrayToObject(dir, "Dimensions");
  for (size_t i = 0; dims[i]; i++) {
    cJSON *set = cJSON_CreateArray();
    for (size_t k = 0; dims[i][k]; k++) cJSON_AddItemToArray(set, cJSON_CreateString(dims[i][k]));
    cJSON_AddItemToArray(ds, set);
  }
  *defs = cJSON_AddArrayToObject(dir, "Metrics");
  return root;
}

static void emf_print(cJSON *root) {
  char *line = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!line) return;
  printf("%s\n", line);
  fflush(stdout);
  cJSON_free(line);
}

/* The metrics of one invocation (docs/streamer.md lists names and units):
 * dimensions Service (the function's name) and Service+Role; requests by
 * Service+Endpoint+Outcome. */
static void emit_metrics(const char *service, const dorm__st_lambda_out *out, bool failed, bool cold, int64_t init_ms,
                         int64_t duration_ms, const snapshot *a, const snapshot *b) {
  static const char *const by_service[] = {"Service", NULL};
  static const char *const by_role[] = {"Service", "Role", NULL};
  static const char *const *const inv_dims[] = {by_service, by_role, NULL};
  cJSON *defs;
  cJSON *root = emf_root(inv_dims, &defs);
  cJSON_AddStringToObject(root, "Service", service);
  cJSON_AddStringToObject(root, "Role", out->role ? out->role : "unknown");
  emf_metric(root, defs, "Invocations", "Count", 1);
  emf_metric(root, defs, "InvocationErrors", "Count", failed ? 1 : 0);
  emf_metric(root, defs, "Duration", "Milliseconds", (double)duration_ms);
  emf_metric(root, defs, "ColdStart", "Count", cold ? 1 : 0);
  if (cold) emf_metric(root, defs, "InitDuration", "Milliseconds", (double)init_ms);
  emf_metric(root, defs, "ProgressSent", "Count", (double)(b->progress_sent - a->progress_sent));
  emf_metric(root, defs, "DeliveryFailures", "Count", (double)(b->delivery_failures - a->delivery_failures));
  emf_metric(root, defs, "AuthFailures", "Count", (double)(b->auth_failures - a->auth_failures));
  emf_metric(root, defs, "MessagesIn", "Count", (double)(b->messages_in - a->messages_in));
  emf_metric(root, defs, "BatchItemFailures", "Count", out->batch_failures);
  int64_t qn = b->queue_wait_n - a->queue_wait_n, jn = b->job_n - a->job_n;
  if (qn > 0) emf_metric(root, defs, "QueueWait", "Milliseconds", (double)(b->queue_wait_ms_sum - a->queue_wait_ms_sum) / (double)qn);
  if (jn > 0) emf_metric(root, defs, "JobDuration", "Milliseconds", (double)(b->job_ms_sum - a->job_ms_sum) / (double)jn);
  emf_print(root);

  static const char *const by_outcome[] = {"Service", "Endpoint", "Outcome", NULL};
  static const char *const *const out_dims[] = {by_outcome, NULL};
  for (size_t i = 0; i < b->noutcomes; i++) {
    int64_t n = b->outcomes[i].n - outcome_count(a, b->outcomes[i].endpoint, b->outcomes[i].outcome);
    if (n <= 0) continue;
    root = emf_root(out_dims, &defs);
    cJSON_AddStringToObject(root, "Service", service);
    cJSON_AddStringToObject(root, "Endpoint", b->outcomes[i].endpoint);
    cJSON_AddStringToObject(root, "Outcome", b->outcomes[i].outcome);
    emf_metric(root, defs, "Requests", "Count", (double)n);
    emf_print(root);
  }
}

/* ---- the loop ---- */

/* Monotonic milliseconds: InitDuration is measured from the loop's entry
 * (after configuration and the JWT keys) to the first next call; the test
 * harness measures the whole cold start from outside. */
static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dorm__st_lambda_run(dorm__streamer *s) {
  int64_t started = mono_ms();
  /* OpenSSL starts lean unless OPENSSL_CONF is set (even to an empty file).
   * libcurl's first handle initialises OpenSSL for the TLS to come (the
   * Runtime API itself is plain HTTP), and the first OPENSSL_init_crypto of
   * each kind decides, so this precedes every libcurl call:
   * - no configuration file: libcurl would read and apply the system's (a
   *   quarter of the cold start with Debian's), and the Lambda build's
   *   static OpenSSL would look in its build system's directory;
   * - no libcrypto error texts: loading its ~2,000 messages into hash tables
   *   (triggered by libcurl's engine set-up) was half of the instructions
   *   before the first next and 22 page faults (bench/lambda). dorm formats
   *   no OpenSSL error itself, and libcurl's TLS errors read as before
   *   ("SSL certificate problem: ...", "error:0A00042E:SSL routines::tlsv1
   *   alert protocol version": libssl's texts load with the first TLS
   *   connection); only a libcrypto error under one loses its text, not its
   *   code (`openssl errstr CODE` reads it). */
  if (!getenv("OPENSSL_CONF"))
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
  rt_client r = {0};
  if (!rt_open(&r)) {
    fprintf(stderr, "lambda: AWS_LAMBDA_RUNTIME_API is not host:port, or libcurl failed\n");
    return 1;
  }
  /* API Gateway holds the connections; jobs come from the stream's events */
  s->cfg.no_processor = true;
  const char *service = getenv("AWS_LAMBDA_FUNCTION_NAME");
  if (!service || !service[0]) service = "dorm-streamer";
  ticker t = {.s = s};
  pthread_mutex_init(&t.mu, NULL);
  pthread_cond_init(&t.cv, NULL);
  pthread_t tick;
  /* the ticker starts with the first event, not before the first next: a
   * thread's stack and start are part of a cold start (bench/lambda) and
   * it has nothing to watch until an invocation runs */
  bool ticking = false;
  loop_started = true;
  bool cold = true;
  int rc = 0;
  for (;;) {
    rt_buf ev = {0};
    rt_headers h = {0};
    int64_t init_ms = mono_ms() - started;
    long code = rt_call(&r, "/invocation/next", NULL, 0, NULL, &ev, &h);
    if (code != 200 || !h.request_id[0]) {
      /* the Runtime API is gone (the sandbox is shutting down) or broken */
      if (code != 0) fprintf(stderr, "lambda: invocation/next answered %ld\n", code);
      free(ev.p);
      rc = code == 0 ? 0 : 1;
      break;
    }
    int64_t t0 = dorm__st_now_ms();
    if (cold) {
      ticking = pthread_create(&tick, NULL, ticker_main, &t) == 0;
      if (!ticking) dorm__st_log("warn", "ticker", NULL, NULL, NULL, "no ticker thread: sync timeouts wait for the answer");
    }
    set_trace_id(h.trace);
    char *end = NULL;
    long long deadline = strtoll(h.deadline_ms, &end, 10);
    pthread_mutex_lock(&t.mu);
    t.released = false;
    pthread_mutex_unlock(&t.mu);
    atomic_store(&s->lambda_deadline_ms,
                 end && end != h.deadline_ms && deadline > 0 ? (int64_t)deadline - DORM__ST_LAMBDA_MARGIN_MS : 0);
    snapshot before, after;
    take_snapshot(&s->metrics, &before);

    dorm__st_lambda_out out = {0};
    if (ev.too_big) {
      out.role = "unknown";
      snprintf(out.error_type, sizeof out.error_type, "Runtime.EventTooLarge");
      snprintf(out.error_message, sizeof out.error_message, "the event is larger than %u bytes", MAX_EVENT);
    } else {
      dorm__st_lambda_handle(s, ev.p ? ev.p : "", ev.len, &out);
    }
    free(ev.p);
    atomic_store(&s->lambda_deadline_ms, 0);
    char path[300];
    long posted;
    if (out.response) {
      snprintf(path, sizeof path, "/invocation/%s/response", h.request_id);
      posted = rt_call(&r, path, out.response, strlen(out.response), NULL, NULL, NULL);
    } else {
      dorm__st_log("error", "invocation_failed", NULL, NULL, NULL, "%s: %s", out.error_type, out.error_message);
      char *body = error_body(out.error_type, out.error_message);
      snprintf(path, sizeof path, "/invocation/%s/error", h.request_id);
      posted = body ? rt_call(&r, path, body, strlen(body), out.error_type, NULL, NULL) : 0;
      cJSON_free(body);
    }
    if (posted != 202) dorm__st_log("error", "runtime_api", NULL, NULL, NULL, "POST %s answered %ld", path, posted);
    else if (out.greet) greet(s);
    take_snapshot(&s->metrics, &after);
    emit_metrics(service, &out, out.response == NULL, cold, init_ms, dorm__st_now_ms() - t0, &before, &after);
    free(out.response);
    cold = false;
    s->lambda_conn[0] = '\0';
    s->lambda_endpoint[0] = '\0';
    set_trace_id(NULL);
  }
  if (ticking) {
    pthread_mutex_lock(&t.mu);
    t.stop = true;
    pthread_cond_signal(&t.cv);
    pthread_mutex_unlock(&t.mu);
    pthread_join(tick, NULL);
  }
  pthread_mutex_destroy(&t.mu);
  pthread_cond_destroy(&t.cv);
  curl_easy_cleanup(r.h);
  return rc;
}
