/* lambda_events: one Lambda event, routed by its shape (docs/streamer.md,
 * "On AWS"). One binary plays every role; the event says which:
 *
 *   requestContext.eventType CONNECT     API Gateway WebSocket $connect: the
 *       JWT (Authorization: Bearer, or ?token=) verified as in local mode;
 *       the connection item written; 401 refuses the upgrade.
 *   requestContext.eventType DISCONNECT  $disconnect: the item marked gone.
 *   requestContext.eventType MESSAGE     $default: the body is a client
 *       message of the protocol, routed by router.c with the identity stored
 *       at $connect; answers go to the management API.
 *   Records[].eventSource "aws:dynamodb" the requests table's stream: each
 *       PENDING request is claimed and run here, as the local poller does;
 *       records that could not be handled are returned in
 *       batchItemFailures, so Lambda retries only those.
 *
 * Delivery is delivery.c's, as in local mode: the management API is the
 * event's (https://{domainName}/{stage}) unless DORM_STREAMER_MANAGEMENT_ENDPOINT
 * says otherwise (a custom domain, or a test's loopback server). */
#include "lambda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const cJSON *member(const cJSON *o, const char *name) { return cJSON_GetObjectItemCaseSensitive(o, name); }

static const char *str_member(const cJSON *o, const char *name) {
  const cJSON *j = member(o, name);
  return cJSON_IsString(j) && j->valuestring ? j->valuestring : NULL;
}

/* HTTP header names are case-insensitive; API Gateway passes them as the
 * client sent them. */
static const char *header(const cJSON *ev, const char *name) {
  const cJSON *h = member(ev, "headers");
  for (const cJSON *c = cJSON_IsObject(h) ? h->child : NULL; c; c = c->next)
    if (c->string && strcasecmp(c->string, name) == 0 && cJSON_IsString(c)) return c->valuestring;
  return NULL;
}

static char *ws_response(int status, const char *body) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "statusCode", status);
  if (body) cJSON_AddStringToObject(o, "body", body);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

static void fail(dorm__st_lambda_out *out, const char *type, const char *fmt, const char *detail) {
  snprintf(out->error_type, sizeof out->error_type, "%s", type);
  snprintf(out->error_message, sizeof out->error_message, fmt, detail ? detail : "");
}

/* The management API of the connection's API: configuration first, then
 * the event. A custom domain name cannot take management calls, so then the
 * API's own execute-api name is used, in the region's partition's domain
 * (amazonaws.com, amazonaws.com.cn in China: {api}.execute-api.{region}.
 * amazonaws.com.cn is an AWS name too). */
static bool management_endpoint(const dorm__streamer *s, const cJSON *rc, char *out, size_t cap) {
  const char *cfg = s->cfg.management_endpoint; /* --management-endpoint, DORM_STREAMER_MANAGEMENT_ENDPOINT */
  if (cfg && cfg[0]) {
    snprintf(out, cap, "%s", cfg);
    return true;
  }
  const char *domain = str_member(rc, "domainName"), *stage = str_member(rc, "stage");
  const char *api = str_member(rc, "apiId"), *region = getenv("AWS_REGION");
  if (!domain || !stage) return false;
  bool aws_name = strstr(domain, ".execute-api.") != NULL;
  const char *suffix = region && strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  if (!aws_name && api && region)
    snprintf(out, cap, "https://%s.execute-api.%s.%s/%s", api, region, suffix, stage);
  else snprintf(out, cap, "https://%s/%s", domain, stage);
  return true;
}

static bool conn_id_fits(const char *id) { return id && id[0] && strlen(id) < sizeof(((dorm__st_job *)0)->conn_id); }

/* ---- $connect, $disconnect, $default ---- */

static char *on_connect(dorm__streamer *s, const cJSON *ev, const char *conn_id, const char *endpoint,
                        dorm__st_lambda_out *out) {
  const char *token = NULL;
  const char *auth = header(ev, "Authorization");
  if (auth && strncmp(auth, "Bearer ", 7) == 0) token = auth + 7;
  else token = str_member(member(ev, "queryStringParameters"), "token");
  dorm_arena a = DORM_ARENA_INIT;
  dorm_identity id;
  char why[256];
  if (!token || !token[0]) {
    snprintf(why, sizeof why, "no token (Authorization: Bearer or ?token=)");
  } else if (!s->jwt ||
             dorm_jwt_verify(s->jwt, token, strlen(token), dorm__st_now_ms() / 1000, &a, &id, why, sizeof why) == DORM_OK) {
    dorm_client *c = dorm__st_client(s);
    dorm_streamer_Connection conn = {0};
    conn.id = conn_id;
    conn.sub = id.sub;
    conn.tenant = id.tenant ? id.tenant : "";
    conn.scopes.items = (const char **)id.scopes;
    conn.scopes.count = id.nscopes;
    conn.server = endpoint; /* the processor delivers there */
    conn.has_expiresAt = true;
    conn.expiresAt = dorm__st_conn_expires_at(s, id.exp);
    dorm_status st = c ? dorm_streamer_Connection_put(c, &conn, NULL, &a) : DORM_ERR_CONFIG;
    if (st != DORM_OK) {
      dorm__st_log("error", "connection_store_failed", NULL, conn_id, NULL, "%s",
                   c ? dorm_client_errmsg(c) : "no DynamoDB client");
      dorm_arena_free(&a);
      return ws_response(500, "the connection could not be recorded");
    }
    dorm__st_metrics_add(&s->metrics, &s->metrics.connections_total, 1);
    dorm__st_log("info", "connected", NULL, conn_id, NULL, "sub %s", id.sub);
    dorm_arena_free(&a);
    out->greet = true;
    return ws_response(200, NULL);
  }
  dorm__st_log("warn", "auth_failed", NULL, conn_id, NULL, "%s", s->jwt ? why : "no JWT keys configured");
  dorm__st_metrics_add(&s->metrics, &s->metrics.auth_failures, 1);
  dorm_arena_free(&a);
  return ws_response(401, "Unauthorized");
}

static char *on_disconnect(dorm__streamer *s, const char *conn_id) {
  dorm_client *c = dorm__st_client(s);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Connection_key key = {conn_id};
  dorm_streamer_Connection conn;
  dorm_status st = c ? dorm_streamer_Connection_get(c, &key, NULL, &a, &conn) : DORM_ERR_CONFIG;
  if (st == DORM_OK && !conn.gone) {
    conn.gone = true;
    st = dorm_streamer_Connection_put(c, &conn, NULL, &a);
  }
  if (st != DORM_OK && st != DORM_ERR_NOT_FOUND)
    dorm__st_log("error", "connection_store_failed", NULL, conn_id, NULL, "%s",
                 c ? dorm_client_errmsg(c) : "no DynamoDB client");
  else dorm__st_log("info", "disconnected", NULL, conn_id, NULL, "gone");
  dorm_arena_free(&a);
  return ws_response(200, NULL);
}

static void tell_as(dorm__streamer *s, const char *conn_id, const char *code, const char *msg, bool retryable) {
  char *text = dorm__st_error_message(NULL, 0, code, msg, retryable);
  if (text) dorm__st_lambda_offer(s, conn_id, text, strlen(text));
  free(text);
}

static void tell(dorm__streamer *s, const char *conn_id, const char *code, const char *msg) {
  tell_as(s, conn_id, code, msg, false);
}

static char *on_message(dorm__streamer *s, const cJSON *ev, const char *conn_id) {
  const char *body = str_member(ev, "body");
  const cJSON *b64 = member(ev, "isBase64Encoded");
  if (!body || cJSON_IsTrue(b64)) {
    tell(s, conn_id, "INVALID_MESSAGE", "messages are JSON text frames");
    return ws_response(200, NULL);
  }
  dorm_client *c = dorm__st_client(s);
  dorm__st_job job;
  memset(&job, 0, sizeof job);
  job.arena = (dorm_arena)DORM_ARENA_INIT;
  dorm_streamer_Connection_key key = {conn_id};
  dorm_streamer_Connection conn;
  dorm_get_opts go = {.consistent_read = true};
  dorm_status st = c ? dorm_streamer_Connection_get(c, &key, &go, &job.arena, &conn) : DORM_ERR_CONFIG;
  if (st == DORM_ERR_NOT_FOUND) {
    /* $connect records every connection it lets in (API Gateway sends no
     * $default for one it refused), and the item's TTL is its token's exp +
     * leeway: DynamoDB may delete it at any time after that (DynamoDB Local
     * within seconds). So this is, in practice, a token that expired: told
     * and closed as below, and the client reconnects with a new token. */
    dorm__st_log("info", "connection_unknown", NULL, conn_id, NULL,
                 "no connection item (its TTL, the token's expiry, passed; or $connect did not accept it): closing");
    tell_as(s, conn_id, "UNAUTHORIZED", "this connection is not known (its token expired): reconnect with a valid token",
            true);
    if (s->lambda_endpoint[0]) dorm__st_close_connection(s, s->lambda_endpoint, conn_id);
    dorm_arena_free(&job.arena);
    return ws_response(200, NULL);
  }
  if (st != DORM_OK || conn.gone) {
    dorm__st_log("warn", "connection_refused", NULL, conn_id, NULL, "%s",
                 st == DORM_OK ? "the connection item says gone ($disconnect)"
                               : c ? dorm_client_errmsg(c) : "no DynamoDB client");
    if (st == DORM_OK) tell(s, conn_id, "UNAUTHORIZED", "this connection was not accepted");
    else tell(s, conn_id, "INTERNAL", "the connection could not be read");
    dorm_arena_free(&job.arena);
    return ws_response(200, NULL);
  }
  if (conn.has_expiresAt && dorm__st_now_ms() / 1000 >= conn.expiresAt) {
    /* Its token expired (exp + leeway, as local mode closes such a
     * connection): nothing it sends is routed; it is told and closed, and
     * reconnects with a new token (then resumes). */
    dorm__st_log("info", "token_expired", NULL, conn_id, NULL, "the token expired: closing the connection");
    tell_as(s, conn_id, "UNAUTHORIZED", "token expired: reconnect with a new token", true);
    if (s->lambda_endpoint[0]) dorm__st_close_connection(s, s->lambda_endpoint, conn_id);
    dorm_arena_free(&job.arena);
    return ws_response(200, NULL);
  }
  job.kind = DORM__JOB_MESSAGE;
  snprintf(job.conn_id, sizeof job.conn_id, "%s", conn_id);
  job.len = strlen(body);
  job.text = malloc(job.len + 1);
  if (!job.text) {
    dorm_arena_free(&job.arena);
    return NULL;
  }
  memcpy(job.text, body, job.len + 1);
  job.id.sub = conn.sub;
  job.id.tenant = conn.tenant;
  job.id.scopes = conn.scopes.items;
  job.id.nscopes = conn.scopes.count;
  job.id.exp = conn.has_expiresAt ? conn.expiresAt : 0;
  job.queued_ms = dorm__st_now_ms();
  dorm__st_route(s, &job);
  free(job.text);
  dorm_arena_free(&job.arena);
  return ws_response(200, NULL);
}

/* ---- the requests table's stream ---- */

/* The RUN job dorm__st_on_stream_record queued (no workers in Lambda mode:
 * this thread runs it). */
static dorm__st_job *take_run(dorm__streamer *s) {
  pthread_mutex_lock(&s->jobs_mu);
  dorm__st_job *job = s->runs_head;
  if (job) {
    s->runs_head = job->next;
    if (!s->runs_head) s->runs_tail = NULL;
    s->runs_len--;
  }
  pthread_mutex_unlock(&s->jobs_mu);
  return job;
}

/* What became of the request a record started: 0 when it is settled
 * (ended, cancelled), else when to try to claim it again: a retry's backoff
 * (PENDING until notBefore; a job given back at the deadline is PENDING at
 * once) or another processor's lease (PROCESSING: a live holder renews it
 * every second and ends with an outcome; a dead one's lease expires and the
 * claim here takes the job over). A PENDING request with a cancel asked is
 * settled too: the claim made before this looked ends such a request
 * CANCELLED, in backoff or not, so there is nothing to wait for. -1: it
 * could not be read. */
static int64_t next_try(dorm__streamer *s, const char *request_pk, dorm_arena *a) {
  const char *hash = strrchr(request_pk, '#');
  if (!hash) return 0;
  char sub_[300];
  snprintf(sub_, sizeof sub_, "%.*s", (int)(hash - request_pk), request_pk);
  dorm_client *c = dorm__st_client(s);
  dorm_streamer_Request_key key = {sub_, hash + 1};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request r;
  if (!c || dorm_streamer_Request_get(c, &key, &go, a, &r) != DORM_OK) return -1;
  int64_t now = dorm__st_now_ms();
  if (r.status == DORM_STREAMER_REQUEST_STATUS_PENDING)
    return r.cancelRequested ? 0 : (r.notBefore > now ? r.notBefore : now + 1);
  if (r.status == DORM_STREAMER_REQUEST_STATUS_PROCESSING) return r.leaseExpires > now ? r.leaseExpires + 1 : now + 1;
  return 0;
}

static void sleep_until(int64_t at) {
  int64_t left = at - dorm__st_now_ms();
  if (left <= 0) return;
  struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs the request of a record until it is settled or the invocation's
 * deadline comes (false: Lambda is to bring the record back). */
static bool run_to_end(dorm__streamer *s, const char *request_pk, int64_t queued_ms) {
  dorm__st_run_request(s, request_pk, queued_ms);
  for (int round = 0;; round++) {
    dorm_arena a = DORM_ARENA_INIT;
    int64_t at = next_try(s, request_pk, &a);
    dorm_arena_free(&a);
    if (at == 0) return true;
    if (at < 0) return false;
    int64_t deadline = atomic_load(&s->lambda_deadline_ms);
    /* without a deadline (never on Lambda) the waiting is bounded all the same */
    if ((deadline > 0 && at >= deadline) || (deadline <= 0 && round >= 20)) return false;
    sleep_until(at);
    dorm__st_run_request(s, request_pk, 0);
  }
}

/* One record of a batch: what it asks for and how it went. */
typedef struct rec_slot {
  dorm__streamer *s;
  const char *seqno;
  char request_pk[300]; /* "": nothing to run */
  int64_t queued_ms;
  bool ok;
  pthread_t thread;
} rec_slot;

void dorm__st_delivery_thread_end(void);

static void *rec_main(void *arg) {
  rec_slot *r = arg;
  r->ok = run_to_end(r->s, r->request_pk, r->queued_ms);
  dorm__st_delivery_thread_end(); /* the thread's management API connection */
  return NULL;
}

/* A PENDING request whose item the processor cannot read (a field of
 * another type: a bad write, another version of the runtime) would run
 * nothing and say nothing (dorm__st_on_stream_record takes it for a record
 * with nothing to do): on Lambda no poller ever looks at it again. It is a
 * failure instead: logged, retried, then in the failure queue (alarmed). */
static bool readable_request(const dorm_stream_record *rec, dorm_arena *a, char *err, size_t cap) {
  if (!rec->has_new_image || rec->event == DORM_STREAM_REMOVE) return true;
  dorm_str status;
  if (dorm_av_get_s(dorm_av_map_get(&rec->new_image, "status"), &status) == DORM_OK &&
      !(status.len == 7 && memcmp(status.ptr, "PENDING", 7) == 0))
    return true;
  dorm_streamer_Request req;
  char why[400];
  if (dorm_streamer_Request_from_item(&rec->new_image, 0, a, &req, why, sizeof why) == DORM_OK) return true;
  snprintf(err, cap, "a PENDING request the processor cannot read: %s", why);
  return false;
}

/* Reads one record: ok (nothing to run), a job to run, or a failure. */
static void read_record(dorm__streamer *s, const cJSON *r, rec_slot *slot) {
  char *text = cJSON_PrintUnformatted(r);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_stream_record *rec = NULL;
  size_t n = 0;
  char err[512] = "";
  bool parsed = text && dorm_stream_parse(text, strlen(text), &a, &rec, &n, err, sizeof err) == DORM_OK && n == 1;
  if (parsed && readable_request(rec, &a, err, sizeof err)) {
    slot->ok = true;
    if (dorm__st_on_stream_record(s, rec, &a)) {
      /* no workers in Lambda mode: the job it queued runs here */
      for (dorm__st_job *job; (job = take_run(s)) != NULL;) {
        snprintf(slot->request_pk, sizeof slot->request_pk, "%s", job->request_pk);
        slot->queued_ms = job->queued_ms;
        free(job);
      }
    }
  } else {
    dorm__st_log("error", "bad_stream_record", str_member(r, "eventID"), NULL, NULL, "%s",
                 text ? err : "out of memory");
  }
  cJSON_free(text);
  dorm_arena_free(&a);
}

/* The batch: records read in order, their jobs run side by side (at most
 * --workers at a time, each request being one record, so no order between
 * them is lost), failures reported in record order. */
static char *on_stream(dorm__streamer *s, const cJSON *records, dorm__st_lambda_out *out) {
  size_t n = (size_t)cJSON_GetArraySize(records);
  rec_slot *slots = calloc(n ? n : 1, sizeof *slots);
  if (!slots) return NULL;
  size_t i = 0;
  for (const cJSON *r = records->child; r; r = r->next, i++) {
    slots[i].s = s;
    slots[i].seqno = str_member(member(r, "dynamodb"), "SequenceNumber");
    int64_t deadline = atomic_load(&s->lambda_deadline_ms);
    if (deadline > 0 && dorm__st_now_ms() >= deadline) continue; /* no time left: Lambda brings it back */
    read_record(s, r, &slots[i]);
  }
  size_t width = s->cfg.workers > 0 ? (size_t)s->cfg.workers : 1;
  for (size_t from = 0; from < n;) {
    size_t started = 0, k = from;
    int64_t deadline = atomic_load(&s->lambda_deadline_ms);
    bool late = deadline > 0 && dorm__st_now_ms() >= deadline;
    for (; k < n && started < width; k++) {
      if (!slots[k].request_pk[0]) continue;
      if (late) {
        slots[k].ok = false;
        slots[k].request_pk[0] = '\0';
        continue;
      }
      if (pthread_create(&slots[k].thread, NULL, rec_main, &slots[k]) == 0) {
        started++;
      } else {
        slots[k].ok = run_to_end(s, slots[k].request_pk, slots[k].queued_ms);
        slots[k].request_pk[0] = '\0';
      }
    }
    for (size_t j = from; j < k; j++)
      if (slots[j].request_pk[0]) pthread_join(slots[j].thread, NULL);
    from = k;
  }
  cJSON *resp = cJSON_CreateObject();
  cJSON *failures = cJSON_AddArrayToObject(resp, "batchItemFailures");
  for (i = 0; i < n; i++) {
    if (slots[i].ok) continue;
    if (!slots[i].seqno) {
      /* Lambda names records by sequence number: without one the whole batch goes back */
      cJSON_Delete(resp);
      free(slots);
      fail(out, "Runtime.BadStreamRecord", "a record without dynamodb.SequenceNumber failed%s", "");
      return NULL;
    }
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "itemIdentifier", slots[i].seqno);
    cJSON_AddItemToArray(failures, f);
    out->batch_failures++;
  }
  free(slots);
  char *text = cJSON_PrintUnformatted(resp);
  cJSON_Delete(resp);
  return text;
}

/* ---- the shape decides ---- */

void dorm__st_lambda_handle(dorm__streamer *s, const char *event, size_t len, dorm__st_lambda_out *out) {
  out->role = "unknown";
  cJSON *ev = cJSON_ParseWithLength(event, len);
  if (!cJSON_IsObject(ev)) {
    cJSON_Delete(ev);
    fail(out, "Runtime.InvalidEvent", "the event is not a JSON object%s", "");
    return;
  }
  const cJSON *records = member(ev, "Records");
  const cJSON *rc = member(ev, "requestContext");
  const char *type = str_member(rc, "eventType");
  if (cJSON_IsArray(records)) {
    const char *src = records->child ? str_member(records->child, "eventSource") : "aws:dynamodb";
    if (src && strcmp(src, "aws:dynamodb") == 0) {
      out->role = "stream";
      s->server_url[0] = '\0'; /* no connection is held here: every one is delivered to */
      s->lambda_conn[0] = '\0';
      out->response = on_stream(s, records, out);
      if (!out->response && !out->error_type[0]) fail(out, "Runtime.OutOfMemory", "out of memory%s", "");
    } else {
      fail(out, "Runtime.UnknownEvent", "records from %s are not the requests table's stream", src ? src : "?");
    }
  } else if (type) {
    const char *conn_id = str_member(rc, "connectionId");
    char endpoint[sizeof s->lambda_endpoint];
    if (!conn_id_fits(conn_id)) {
      fail(out, "Runtime.InvalidEvent", "requestContext.connectionId is missing or too long%s", "");
    } else if (!management_endpoint(s, rc, endpoint, sizeof endpoint)) {
      fail(out, "Runtime.InvalidEvent",
           "no management API: the event has no requestContext.domainName/stage and "
           "--management-endpoint (DORM_STREAMER_MANAGEMENT_ENDPOINT) is not set%s", "");
    } else {
      snprintf(s->lambda_conn, sizeof s->lambda_conn, "%s", conn_id);
      snprintf(s->lambda_endpoint, sizeof s->lambda_endpoint, "%s", endpoint);
      snprintf(s->server_url, sizeof s->server_url, "%s", endpoint);
      if (strcmp(type, "CONNECT") == 0) {
        out->role = "connect";
        out->response = on_connect(s, ev, conn_id, endpoint, out);
      } else if (strcmp(type, "DISCONNECT") == 0) {
        out->role = "disconnect";
        out->response = on_disconnect(s, conn_id);
      } else if (strcmp(type, "MESSAGE") == 0) {
        out->role = "default";
        out->response = on_message(s, ev, conn_id);
      } else {
        fail(out, "Runtime.UnknownEvent", "requestContext.eventType %s is not CONNECT, DISCONNECT or MESSAGE", type);
      }
      if (!out->response && !out->error_type[0]) fail(out, "Runtime.OutOfMemory", "out of memory%s", "");
    }
  } else {
    fail(out, "Runtime.UnknownEvent",
         "neither an API Gateway WebSocket event (requestContext.eventType) nor a DynamoDB stream batch (Records)%s",
         "");
  }
  cJSON_Delete(ev);
}
