/* metrics and logs of the streamer.
 *
 * Metrics are counters under one mutex, exposed as Prometheus text at
 * GET /metrics (local mode). Logs are one JSON object per line on stderr,
 * with the request id, connection id and endpoint when there is one; tokens,
 * secrets and payloads are never logged. */
#include "streamer_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int64_t BUCKETS[] = {10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

void dorm__st_metrics_init(dorm__st_metrics *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
}

void dorm__st_metrics_add(dorm__st_metrics *m, int64_t *counter, int64_t by) {
  pthread_mutex_lock(&m->mu);
  *counter += by;
  pthread_mutex_unlock(&m->mu);
}

void dorm__st_metrics_outcome(dorm__st_metrics *m, const char *endpoint, const char *outcome) {
  pthread_mutex_lock(&m->mu);
  size_t i = 0;
  for (; i < m->noutcomes; i++)
    if (strcmp(m->outcomes[i].endpoint, endpoint) == 0 && strcmp(m->outcomes[i].outcome, outcome) == 0) break;
  if (i == m->noutcomes && m->noutcomes < sizeof m->outcomes / sizeof m->outcomes[0]) {
    snprintf(m->outcomes[i].endpoint, sizeof m->outcomes[i].endpoint, "%s", endpoint);
    snprintf(m->outcomes[i].outcome, sizeof m->outcomes[i].outcome, "%s", outcome);
    m->noutcomes++;
  }
  if (i < m->noutcomes) m->outcomes[i].n++;
  pthread_mutex_unlock(&m->mu);
}

void dorm__st_metrics_job(dorm__st_metrics *m, int64_t queue_wait_ms, int64_t run_ms) {
  pthread_mutex_lock(&m->mu);
  if (queue_wait_ms >= 0) {
    m->queue_wait_ms_sum += queue_wait_ms;
    m->queue_wait_n++;
  }
  if (run_ms > 0 || queue_wait_ms < 0) {
    size_t b = 0;
    while (b < NBUCKETS && run_ms > BUCKETS[b]) b++;
    m->job_ms_buckets[b]++;
    m->job_ms_sum += run_ms;
    m->job_n++;
  }
  pthread_mutex_unlock(&m->mu);
}

char *dorm__st_metrics_text(dorm__st_metrics *m) {
  dorm__buf b;
  dorm__buf_init(&b, 1 << 20);
  pthread_mutex_lock(&m->mu);
  dorm__buf_printf(&b,
                   "# HELP dorm_streamer_connections Open WebSocket connections.\n"
                   "# TYPE dorm_streamer_connections gauge\ndorm_streamer_connections %lld\n"
                   "# HELP dorm_streamer_connections_total Connections accepted.\n"
                   "# TYPE dorm_streamer_connections_total counter\ndorm_streamer_connections_total %lld\n"
                   "# HELP dorm_streamer_auth_failures_total Upgrades refused for their token.\n"
                   "# TYPE dorm_streamer_auth_failures_total counter\ndorm_streamer_auth_failures_total %lld\n"
                   "# HELP dorm_streamer_messages_total Client messages received.\n"
                   "# TYPE dorm_streamer_messages_total counter\ndorm_streamer_messages_total %lld\n"
                   "# HELP dorm_streamer_invalid_messages_total Client messages refused as malformed.\n"
                   "# TYPE dorm_streamer_invalid_messages_total counter\ndorm_streamer_invalid_messages_total %lld\n"
                   "# HELP dorm_streamer_progress_sent_total Progress messages persisted and delivered.\n"
                   "# TYPE dorm_streamer_progress_sent_total counter\ndorm_streamer_progress_sent_total %lld\n"
                   "# HELP dorm_streamer_delivery_failures_total Deliveries that failed (410 excluded).\n"
                   "# TYPE dorm_streamer_delivery_failures_total counter\ndorm_streamer_delivery_failures_total %lld\n",
                   (long long)m->connections, (long long)m->connections_total, (long long)m->auth_failures,
                   (long long)m->messages_in, (long long)m->invalid_messages, (long long)m->progress_sent,
                   (long long)m->delivery_failures);
  dorm__buf_printf(&b,
                   "# HELP dorm_streamer_limited_total Messages, connections and requests a limit refused.\n"
                   "# TYPE dorm_streamer_limited_total counter\n"
                   "dorm_streamer_limited_total{limit=\"user_requests\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"inflight\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"connections\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"slow_client\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"status_asks\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"user_connections\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"answers\"} %lld\n"
                   "dorm_streamer_limited_total{limit=\"user_connects\"} %lld\n",
                   (long long)m->user_limited, (long long)m->inflight_limited, (long long)m->connections_limited,
                   (long long)m->slow_clients, (long long)m->asks_limited, (long long)m->user_conns_limited,
                   (long long)m->answers_limited, (long long)m->user_connects_limited);
  dorm__buf_puts(&b, "# HELP dorm_streamer_requests_total Requests by endpoint and outcome.\n"
                     "# TYPE dorm_streamer_requests_total counter\n");
  for (size_t i = 0; i < m->noutcomes; i++)
    dorm__buf_printf(&b, "dorm_streamer_requests_total{endpoint=\"%s\",outcome=\"%s\"} %lld\n",
                     m->outcomes[i].endpoint, m->outcomes[i].outcome, (long long)m->outcomes[i].n);
  dorm__buf_printf(&b,
                   "# HELP dorm_streamer_queue_wait_ms Time from accepting a request to its start.\n"
                   "# TYPE dorm_streamer_queue_wait_ms summary\ndorm_streamer_queue_wait_ms_sum %lld\n"
                   "dorm_streamer_queue_wait_ms_count %lld\n"
                   "# HELP dorm_streamer_job_duration_ms Time a handler ran.\n"
                   "# TYPE dorm_streamer_job_duration_ms histogram\n",
                   (long long)m->queue_wait_ms_sum, (long long)m->queue_wait_n);
  int64_t cum = 0;
  for (size_t i = 0; i < NBUCKETS; i++) {
    cum += m->job_ms_buckets[i];
    dorm__buf_printf(&b, "dorm_streamer_job_duration_ms_bucket{le=\"%lld\"} %lld\n", (long long)BUCKETS[i],
                     (long long)cum);
  }
  cum += m->job_ms_buckets[NBUCKETS];
  dorm__buf_printf(&b,
                   "dorm_streamer_job_duration_ms_bucket{le=\"+Inf\"} %lld\ndorm_streamer_job_duration_ms_sum %lld\n"
                   "dorm_streamer_job_duration_ms_count %lld\n",
                   (long long)cum, (long long)m->job_ms_sum, (long long)m->job_n);
  pthread_mutex_unlock(&m->mu);
  char *out = NULL;
  if (!b.oom && !b.overflow) {
    out = malloc(b.len + 1);
    if (out) {
      memcpy(out, b.p ? b.p : "", b.len);
      out[b.len] = '\0';
    }
  }
  dorm__buf_free(&b);
  return out;
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void dorm__st_log(const char *level, const char *event, const char *request_id, const char *conn_id,
                  const char *endpoint, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  if (!o) return;
  char ts[40];
  dorm__st_now_text(ts);
  cJSON_AddStringToObject(o, "ts", ts);
  cJSON_AddStringToObject(o, "level", level);
  cJSON_AddStringToObject(o, "event", event);
  if (request_id) cJSON_AddStringToObject(o, "request_id", request_id);
  if (conn_id) cJSON_AddStringToObject(o, "connection_id", conn_id);
  if (endpoint) cJSON_AddStringToObject(o, "endpoint", endpoint);
  char trace[256];
  dorm__st_lambda_trace_id(trace, sizeof trace);
  if (trace[0]) cJSON_AddStringToObject(o, "xray_trace_id", trace);
  cJSON_AddStringToObject(o, "message", msg);
  char *line = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!line) return;
  pthread_mutex_lock(&log_mu);
  fprintf(stderr, "%s\n", line);
  pthread_mutex_unlock(&log_mu);
  cJSON_free(line);
}
