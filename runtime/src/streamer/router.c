/* router: what a client message does, on a worker thread (docs/streamer.md).
 *
 * Identity is the connection's, verified when it connected; the message's
 * own fields never name a user or tenant. Sync endpoints run here; async
 * ones become a request item created with a condition on (user, client id),
 * so a retried send finds the existing request instead of starting a
 * second job. */
#include "streamer_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sending to the connection this message came from ---- */

static void send_text(dorm__streamer *s, const char *conn, const char *rid, int64_t seq, char *text) {
  if (!text) return;
  dorm__srv_enqueue(s, conn, rid, seq, text, strlen(text));
  free(text);
}

static void send_error(dorm__streamer *s, const char *conn, const char *rid, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void send_error(dorm__streamer *s, const char *conn, const char *rid, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* a client retries RATE_LIMITED, and INTERNAL: here it is always a failure
   * of the moment (DynamoDB's, memory), never of the message
   * (docs/streamer.md, "Error codes") */
  bool retryable = strcmp(code, "RATE_LIMITED") == 0 || strcmp(code, "INTERNAL") == 0;
  send_text(s, conn, rid, 0, dorm__st_error_message(rid && rid[0] ? rid : NULL, 0, code, msg, retryable));
}

/* ---- the handler context of a sync call ---- */

struct dorm_stream_ctx_sync_; /* (the context type is shared with the processor: see processor.c) */

/* ---- building persisted messages ----
 *
 * A message of a request takes the request's next seq. While a processor
 * holds the lease the seqs are its own (docs/streamer.md, "Seqs"): a router
 * of the same process asks the job (dorm__st_status_running), a router
 * elsewhere leaves an ask in the request item that the lease owner answers
 * at its next check-in (within a second). Without a lease the seq is an ADD
 * on the request item, conditional on there being no lease. */

typedef struct made {
  const char *type;
  const char *rid;
  char *extra; /* JSON object text of extra members (malloc'd) or NULL; NULL for a status: from the item */
} made;

static bool terminal(dorm_streamer_RequestStatus st) {
  return st == DORM_STREAMER_REQUEST_STATUS_COMPLETED || st == DORM_STREAMER_REQUEST_STATUS_FAILED ||
         st == DORM_STREAMER_REQUEST_STATUS_CANCELLED;
}

/* {"status":..., "percent":..., "message":..., "endpoint":..., "last_seq":...}
 * of a request item that no processor holds (it is exact then: the lease
 * owner writes its latest progress when it gives the request back or ends
 * it); last_seq is the seq before this message's. */
static char *make_msg(int64_t seq, const dorm_streamer_Request *now, void *user) {
  made *m = user;
  if (m->extra) return dorm__st_message(m->type, m->rid, seq, m->extra);
  return dorm__st_item_status(m->rid, seq, now);
}

/* The terminal message of a finished request (r: its item): complete (in
 * chunks when it is large) or error; or its status (status). Its seq(s)
 * from the item (no lease exists). */
static void send_finished(dorm__streamer *s, dorm_client *c, const char *conn, const dorm_streamer_Request *r,
                          bool status) {
  if (!status && r->status == DORM_STREAMER_REQUEST_STATUS_COMPLETED) {
    dorm__srv_to to = {s, conn, r->clientId};
    if (!dorm__st_append_result(c, r->sub, r->clientId, r->result ? r->result : "{}", dorm__srv_enqueue_to, &to, NULL))
      send_error(s, conn, r->clientId, "INTERNAL", "could not record the message: %s", dorm_client_errmsg(c));
    return;
  }
  made m = {status ? "status" : "error", r->clientId, NULL};
  if (!status) {
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", r->errorCode ? r->errorCode : "CANCELLED");
    cJSON_AddStringToObject(e, "message", r->errorMessage ? r->errorMessage : "");
    cJSON_AddBoolToObject(e, "retryable", false);
    m.extra = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
  }
  char *text = NULL;
  int64_t seq = dorm__st_append_message(c, r->sub, r->clientId, make_msg, &m, &text, NULL);
  free(m.extra);
  if (!seq) {
    send_error(s, conn, r->clientId, "INTERNAL", "could not record the message: %s", dorm_client_errmsg(c));
    return;
  }
  send_text(s, conn, r->clientId, seq, text);
}

/* The request's state for conn: `status`, or (outcome) the terminal
 * message when it is finished. r is its item as just read; it is read again
 * when the lease comes or goes meanwhile. */
static void send_state(dorm__streamer *s, dorm_client *c, const char *conn, const dorm_streamer_Request *r0,
                       bool outcome, dorm_arena *a) {
  const dorm_streamer_Request *r = r0;
  char pk[300];
  if (!dorm__st_request_pk(r->sub, r->clientId, pk)) return; /* never stored: jwt.c bounds sub */
  for (int round = 0; round < 5; round++) {
    if (terminal(r->status)) {
      send_finished(s, c, conn, r, !outcome);
      return;
    }
    /* running in this process: the job's own seq */
    if (dorm__st_status_running(s, c, pk, conn)) return;
    /* no lease: the item's seq */
    made m = {"status", r->clientId, NULL};
    char *text = NULL;
    bool leased = false;
    int64_t seq = dorm__st_append_message(c, r->sub, r->clientId, make_msg, &m, &text, &leased);
    if (seq) {
      send_text(s, conn, r->clientId, seq, text);
      return;
    }
    if (!leased) break;
    /* leased elsewhere (or here, a job starting or ending): ask its owner */
    if (!dorm__st_status_running(s, c, pk, conn)) {
      /* The asks wait in the item until the owner's next check-in: bounded,
       * or a client asking without pause (while a handler runs a long step
       * between check-ins) would grow the item towards DynamoDB's 400 KB,
       * and the job could not end while asks kept coming. Past the bound the
       * client is told to retry (r may be stale: the condition decides). */
      if (r->has_asks && r->asks.count >= DORM__ST_MAX_ASKS) {
        dorm__st_log("info", "status_limited", r->clientId, conn, r->endpoint, "%zu status asks wait already",
                     r->asks.count);
        dorm__st_metrics_add(&s->metrics, &s->metrics.asks_limited, 1);
        send_error(s, conn, r->clientId, "RATE_LIMITED",
                   "%d status asks of this request wait for the server running it: retry later", DORM__ST_MAX_ASKS);
        return;
      }
      /* unique per ask (a set holds an element once): this server and a count */
      static _Atomic uint64_t asks_made;
      char ask[160];
      snprintf(ask, sizeof ask, "%s %s.%llu", conn, s->server_id, (unsigned long long)(atomic_fetch_add(&asks_made, 1) + 1));
      const char *items[1] = {ask};
      dorm_streamer_set_string set = {items, 1};
      dorm_model_update u;
      dorm_streamer_Request_update_begin(&u, a);
      dorm_streamer_Request_set_add_asks(&u, &set);
      dorm_update_opts o = {0};
      dorm_expr *x = &u.x;
      const char *asks_attr = dorm_streamer_Request_desc.fields[dorm_streamer_Request_f_asks].attr[0];
      char most[24];
      snprintf(most, sizeof most, "%d", DORM__ST_MAX_ASKS);
      dorm_operand *count = dorm_opd_size(x, dorm_opd_name(x, asks_attr, strlen(asks_attr)));
      dorm_cond *room = dorm_cond_or(x, dorm_streamer_Request_cond_asks_not_exists(x),
                                     dorm_cond_compare(x, count, DORM_LT, dorm_opd_value(x, dorm_av_num(most))));
      o.w.condition = dorm_cond_and(x, dorm_streamer_Request_cond_leaseOwner_exists(x), room);
      dorm_streamer_Request_key key = {r->sub, r->clientId};
      dorm_status st = dorm_streamer_Request_update(c, &key, &u, &o, a, NULL);
      if (st == DORM_OK) {
        dorm__st_log("info", "status_asked", r->clientId, conn, r->endpoint,
                     "another process holds the lease: it answers at its next check-in");
        return;
      }
      if (st != DORM_ERR_CONDITION_FAILED) break;
    } else {
      return;
    }
    /* the lease went meanwhile, or the asks are at their bound: read the item again */
    dorm_streamer_Request *again = dorm_arena_calloc(a, 1, sizeof *again);
    dorm_streamer_Request_key key = {r->sub, r->clientId};
    dorm_get_opts go = {.consistent_read = true};
    if (!again || dorm_streamer_Request_get(c, &key, &go, a, again) != DORM_OK) break;
    r = again;
  }
  send_error(s, conn, r->clientId, "INTERNAL", "could not record the message: %s", dorm_client_errmsg(c));
}

static void send_status(dorm__streamer *s, dorm_client *c, const char *conn, const dorm_streamer_Request *r,
                        dorm_arena *a) {
  send_state(s, c, conn, r, false, a);
}

/* The terminal message of a finished request (complete, in chunks when it
 * is large, or error), or a status. */
static void send_outcome(dorm__streamer *s, dorm_client *c, const char *conn, const dorm_streamer_Request *r,
                         dorm_arena *a) {
  send_state(s, c, conn, r, true, a);
}

/* ---- actions ---- */

/* An async request's ack (seq 1), malloc'd; NULL when out of memory. */
static char *ack_text(const char *rid, const char *endpoint) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "endpoint", endpoint);
  cJSON_AddStringToObject(o, "status", "PENDING");
  char *extra = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  char *text = extra ? dorm__st_message("ack", rid, 1, extra) : NULL;
  free(extra);
  return text;
}

static bool allowed(const dorm_endpoint_desc *e, const dorm_identity *id, const char **missing) {
  for (uint32_t i = 0; i < e->nscopes; i++)
    if (!dorm_identity_has_scope(id, e->scopes[i])) {
      *missing = e->scopes[i];
      return false;
    }
  return true;
}

/* Whether the stored request the user's id names is another request than
 * this message asks for: its endpoint, or its payload (compared as JSON
 * values, so a retry that orders members differently is the same request).
 * NULL when it is the same request (a retry) or cannot be read (the caller
 * answers with its state as before); otherwise what differs. A retry must
 * get the request's state; another request under a used id must not get
 * the earlier one's result as its own (a client reusing ids across
 * endpoints was answered with the wrong endpoint's result). */
static const char *names_another_request(dorm_client *c, const char *sub, const char *id, const char *endpoint,
                                         const char *payload, dorm_arena *a) {
  dorm_streamer_Request_key key = {sub, id};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request old;
  if (dorm_streamer_Request_get(c, &key, &go, a, &old) != DORM_OK) return NULL;
  if (!old.endpoint || strcmp(old.endpoint, endpoint) != 0) return "of another endpoint";
  if (!old.payload || !payload) return NULL;
  size_t wl = strlen(old.payload), nl = strlen(payload);
  cJSON *was = cJSON_ParseWithLength(old.payload, wl), *now = cJSON_ParseWithLength(payload, nl);
  /* numbers past a double's precision compared by their text */
  dorm__st_exact_numbers(was, old.payload, wl);
  dorm__st_exact_numbers(now, payload, nl);
  bool same = !was || !now || cJSON_Compare(was, now, true);
  cJSON_Delete(was);
  cJSON_Delete(now);
  return same ? NULL : "with another payload";
}

/* One user's async requests queued or running on this server are at most
 * --max-user-requests: without a bound one client (or a careless loop)
 * queued thousands of jobs ahead of every other user's (the run queue is
 * first come, first served: a well-behaved client's job waited a minute
 * behind 3,000 of another's, bench/streamer/abuse.sh churn_inflight), and
 * their items grew the tables as fast as it sent. Past the bound a new id
 * is answered RATE_LIMITED (retryable) and nothing is stored; an id that
 * exists is not new: it gets its state as always (one read, only then). */
static bool over_user_bound(dorm__streamer *s, dorm_client *c, dorm__st_job *job, const dorm__st_msg *m,
                            dorm_arena *a) {
  size_t most = (size_t)s->cfg.max_user_requests;
  if (s->cfg.no_processor || most == 0 || dorm__st_user_runs(s, job->id.sub, most) < most) return false;
  dorm_streamer_Request_key key = {job->id.sub, m->id};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request r;
  dorm_status st = dorm_streamer_Request_get(c, &key, &go, a, &r);
  if (st == DORM_OK) return false;
  dorm__st_metrics_add(&s->metrics, &s->metrics.user_limited, 1);
  /* at most a line a second (the metric counts each): a client pressing
   * on the bound would otherwise write the log as fast as it sends */
  static _Atomic int64_t logged_ms;
  static _Atomic long unlogged;
  int64_t now = dorm__st_now_ms(), last = atomic_load(&logged_ms);
  if (now - last >= 1000 && atomic_compare_exchange_strong(&logged_ms, &last, now))
    dorm__st_log("info", "user_requests_limited", m->id, job->conn_id, m->action,
                 "the user has %zu requests queued or running here: refused (%ld more refusals not logged)", most,
                 atomic_exchange(&unlogged, 0));
  else
    atomic_fetch_add(&unlogged, 1);
  send_error(s, job->conn_id, m->id, "RATE_LIMITED",
             "%zu requests of yours are queued or running: retry when one has ended", most);
  return true;
}

static void call(dorm__streamer *s, dorm_client *c, dorm__st_job *job, const dorm__st_msg *m) {
  const char *conn = job->conn_id;
  const dorm_endpoint_desc *e = dorm__st_endpoint(s, m->action);
  if (!e) {
    send_error(s, conn, m->id, "UNKNOWN_ACTION", "no endpoint or action named '%.64s'", m->action);
    return;
  }
  const char *missing = NULL;
  if (!allowed(e, &job->id, &missing)) {
    send_error(s, conn, m->id, "FORBIDDEN", "%s needs the scope '%s'", e->name, missing);
    dorm__st_metrics_outcome(&s->metrics, e->name, "forbidden");
    return;
  }
  dorm_arena a = DORM_ARENA_INIT;
  void *req = dorm_arena_calloc(&a, 1, e->request->size ? e->request->size : 1);
  char err[512];
  cJSON empty = {0};
  empty.type = cJSON_Object;
  if (!req || dorm_payload_from_cjson(e->request, m->payload ? m->payload : &empty, "payload", &a, req, err,
                                      sizeof err) != DORM_OK) {
    send_error(s, conn, m->id, "INVALID_PAYLOAD", "%s", req ? err : "out of memory");
    dorm__st_metrics_outcome(&s->metrics, e->name, "invalid_payload");
    dorm_arena_free(&a);
    return;
  }
  if (e->mode == DORM_ENDPOINT_SYNC) {
    void *res = dorm_arena_calloc(&a, 1, e->result->size ? e->result->size : 1);
    char code[32] = "";
    char msg[512] = "";
    bool answered = false;
    dorm_status st = res ? dorm__st_run_sync(s, e, &job->id, conn, m->id, req, res, &a, code, msg, sizeof msg,
                                             &answered)
                         : DORM_ERR_NO_MEMORY;
    if (answered) {
      /* TIMEOUT went out at the deadline (dorm__st_expire_sync): the late result is dropped */
    } else if (st == DORM_OK) {
      const char *json = NULL;
      size_t len = 0;
      if (dorm_payload_to_json(e->result, res, &a, &json, &len, err, sizeof err) != DORM_OK) {
        char text[600];
        snprintf(text, sizeof text, "the result does not fit its type: %s", err);
        /* a sync call's answer, as every other: seq 1 */
        send_text(s, conn, m->id, 1, dorm__st_error_message(m->id, 1, "HANDLER_FAILED", text, false));
        dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
      } else {
        /* one `response`, or (larger than a frame) `result_chunk`s then
         * `response` with chunked: true, seqs from 1 (docs/streamer.md,
         * "Large results"); not stored: a sync call is answered once */
        size_t n = 0;
        char **texts = dorm__st_result_texts(m->id, json, 1, "response", &n);
        if (!texts) {
          send_error(s, conn, m->id, "INTERNAL", "out of memory");
          dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
        } else {
          for (size_t i = 0; i < n; i++) {
            send_text(s, conn, m->id, (int64_t)i + 1, texts[i]);
            texts[i] = NULL; /* send_text took it */
          }
          dorm__st_free_texts(texts, n);
          dorm__st_metrics_outcome(&s->metrics, e->name, "completed");
        }
      }
    } else {
      send_text(s, conn, m->id, 1,
                dorm__st_error_message(m->id, 1, code[0] ? code : "HANDLER_FAILED", msg, false));
      dorm__st_metrics_outcome(&s->metrics, e->name, code[0] ? code : "failed");
    }
    dorm_arena_free(&a);
    return;
  }

  /* async: the request item, created once per (user, client id). Its ack is
   * seq 1 on this connection: a duplicate's status (seq 2) waits for it. */
  char pk[300];
  if (!dorm__st_request_pk(job->id.sub, m->id, pk)) {
    send_error(s, conn, m->id, "INVALID_MESSAGE", "the user's key with this id is too long for a request key");
    dorm_arena_free(&a);
    return;
  }
  if (over_user_bound(s, c, job, m, &a)) {
    dorm_arena_free(&a);
    return;
  }
  char *payload = dorm__st_cjson_text(m->payload ? m->payload : &empty, err, sizeof err);
  if (!payload) {
    bool oom = strcmp(err, "out of memory") == 0;
    send_error(s, conn, m->id, oom ? "INTERNAL" : "INVALID_PAYLOAD", "%s%s", oom ? "" : "payload: ", err);
    dorm_arena_free(&a);
    return;
  }
  dorm__srv_expect(s, conn, m->id, 1);
  int64_t now = dorm__st_now_ms();
  dorm_streamer_Request r = {0};
  r.sub = job->id.sub;
  r.clientId = m->id;
  r.tenant = job->id.tenant;
  r.connectionId = conn;
  r.endpoint = e->name;
  r.payload = payload;
  r.status = DORM_STREAMER_REQUEST_STATUS_PENDING;
  char live[32];
  r.liveKey = dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PENDING, job->id.sub, m->id, live);
  r.seq = 1;
  r.deadline = now + e->timeout_ms;
  r.has_expiresAt = true;
  r.expiresAt = now / 1000 + 7 * 86400;
  dorm_status st = dorm__st_create_request(c, &r, &a);
  const char *other = NULL;
  if (st == DORM_ERR_CONDITION_FAILED && (other = names_another_request(c, job->id.sub, m->id, e->name, payload, &a))) {
    send_error(s, conn, m->id, "DUPLICATE_REQUEST", "id %s names an earlier request %s", m->id, other);
    dorm__srv_track_ended(s, conn, m->id);
    dorm__st_log("info", "duplicate_request", m->id, conn, e->name, "refused: the earlier request %s", other);
  } else if (st == DORM_ERR_CONDITION_FAILED) {
    /* The same client id again: the existing request's state, now followed here. */
    dorm_streamer_Request_key key = {job->id.sub, m->id};
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_connectionId(&u, conn);
    dorm_update_opts o = {.return_new = true};
    dorm_streamer_Request cur;
    if (dorm_streamer_Request_update(c, &key, &u, &o, &a, &cur) == DORM_OK) {
      dorm__st_log("info", "duplicate_request", m->id, conn, e->name, "the request exists; sending its state");
      dorm__st_recheck_running(s, pk);
      send_outcome(s, c, conn, &cur, &a);
    } else {
      send_error(s, conn, m->id, "INTERNAL", "%s", dorm_client_errmsg(c));
    }
  } else if (st != DORM_OK) {
    send_error(s, conn, m->id, "INTERNAL", "could not record the request: %s", dorm_client_errmsg(c));
  } else {
    /* ack is seq 1, persisted like every message of the request. It goes
     * out as soon as the request item exists (one write, then the answer),
     * and the job is queued at once; the ack is stored after that (within a
     * poll interval). On a
     * crash between the two the request survives (seq 1 is taken by the
     * item: no later message can get it) and only the stored copy of the
     * ack is missing, which says nothing the request item does not:
     * `status` and `get_result` answer from the item, and a client that
     * never saw the ack sends the same id again and gets the request's
     * state. A failed store is logged, as it was when the ack was stored
     * first (it was sent anyway). */
    char *text = ack_text(m->id, e->name);
    if (text) dorm__srv_enqueue(s, conn, m->id, 1, text, strlen(text));
    dorm__st_log("info", "accepted", m->id, conn, e->name, "queued");
    if (!s->cfg.no_processor) {
      dorm__st_job *run = calloc(1, sizeof *run);
      if (run) {
        run->kind = DORM__JOB_RUN;
        snprintf(run->request_pk, sizeof run->request_pk, "%s", pk);
        dorm__st_push_job(s, run);
      }
    }
    dorm_streamer_Message msg = {.sub = r.sub, .clientId = r.clientId, .seq = 1, .body = text};
    /* Locally the poller writes queued acks within a poll interval, many in
     * one batch, so this worker takes the next message at once; a Lambda
     * invocation may freeze when it returns, so there it is stored now. */
    if (text && s->lambda) {
      if (!dorm__st_put_message(c, &msg, &a))
        dorm__st_log("error", "persist_failed", m->id, conn, e->name, "%s", dorm_client_errmsg(c));
    } else if (text) {
      dorm__st_put_message_later(c, &msg);
    }
    free(text);
  }
  free(payload);
  dorm_arena_free(&a);
}

static bool load(dorm__streamer *s, dorm_client *c, dorm__st_job *job, const char *rid, dorm_arena *a,
                 dorm_streamer_Request *r) {
  dorm_streamer_Request_key key = {job->id.sub, rid};
  dorm_get_opts go = {.consistent_read = true};
  dorm_status st = dorm_streamer_Request_get(c, &key, &go, a, r);
  if (st == DORM_ERR_NOT_FOUND) {
    send_error(s, job->conn_id, rid, "NOT_FOUND", "no request '%s' of yours", rid);
    return false;
  }
  if (st != DORM_OK) {
    send_error(s, job->conn_id, rid, "INTERNAL", "%s", dorm_client_errmsg(c));
    return false;
  }
  return true;
}

static void cancel(dorm__streamer *s, dorm_client *c, dorm__st_job *job, const dorm__st_msg *m) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request r;
  if (!load(s, c, job, m->id, &a, &r)) goto done;
  dorm_streamer_Request_key key = {job->id.sub, m->id};
  if (r.status == DORM_STREAMER_REQUEST_STATUS_PENDING) {
    /* Not started: it ends here (the condition keeps a processor from claiming it meanwhile). */
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_cancelRequested(&u, true);
    dorm_streamer_Request_set_status(&u, DORM_STREAMER_REQUEST_STATUS_CANCELLED);
    dorm_streamer_Request_remove_liveKey(&u);
    dorm_streamer_Request_set_errorCode(&u, "CANCELLED");
    dorm_streamer_Request_set_errorMessage(&u, "cancelled by the client before it started");
    dorm_update_opts o = {.return_new = true};
    o.w.condition = dorm_streamer_Request_cond_status(&u.x, DORM_EQ, DORM_STREAMER_REQUEST_STATUS_PENDING);
    dorm_streamer_Request now;
    if (dorm_streamer_Request_update(c, &key, &u, &o, &a, &now) == DORM_OK) {
      send_outcome(s, c, job->conn_id, &now, &a);
      dorm__st_metrics_outcome(&s->metrics, now.endpoint, "cancelled");
      goto done;
    }
    /* claimed meanwhile: cancel it as a running one */
  }
  if (r.status == DORM_STREAMER_REQUEST_STATUS_PENDING || r.status == DORM_STREAMER_REQUEST_STATUS_PROCESSING) {
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_cancelRequested(&u, true);
    dorm_streamer_Request_update(c, &key, &u, NULL, &a, NULL);
    char pk[300];
    if (dorm__st_request_pk(job->id.sub, m->id, pk)) dorm__st_cancel_running(s, pk);
    /* the processor ends it CANCELLED and sends the error */
  } else {
    send_outcome(s, c, job->conn_id, &r, &a);
  }
done:
  dorm_arena_free(&a);
}

/* A resume's last_seq above the request item's seq (which, while a job
 * runs, trails the seqs its processor takes): true when a message with that
 * seq is stored (every message is stored before it is sent, so a client
 * cannot have seen one that is not). Otherwise the client is answered
 * INVALID_MESSAGE and false returned: taking its word would count seqs that
 * do not exist yet as delivered, and the messages that later get them
 * (progress, status, the result) would be dropped as duplicates. */
static bool seq_was_sent(dorm__streamer *s, dorm_client *c, const dorm__st_job *job, const dorm__st_msg *m,
                         dorm_arena *a) {
  dorm_streamer_Message_query_sk sk = {.op = DORM_SK_GE, .seq = m->last_seq};
  dorm_query_opts q = {.consistent_read = true, .limit = 1};
  dorm_streamer_Message_page page;
  if (dorm_streamer_Message_query(c, job->id.sub, m->id, &sk, &q, a, &page) != DORM_OK) {
    send_error(s, job->conn_id, m->id, "INTERNAL", "resume failed: %s", dorm_client_errmsg(c));
    return false;
  }
  if (page.count > 0) return true;
  send_error(s, job->conn_id, m->id, "INVALID_MESSAGE", "last_seq %lld: request %s has no message with that seq",
             (long long)m->last_seq, m->id);
  return false;
}

static void resume(dorm__streamer *s, dorm_client *c, dorm__st_job *job, const dorm__st_msg *m) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request r;
  if (!load(s, c, job, m->id, &a, &r)) goto done;
  if (m->last_seq > r.seq && !seq_was_sent(s, c, job, m, &a)) goto done;
  /* From now on live messages come here; until the replay is done they wait. */
  dorm__srv_resume_begin(s, job->conn_id, m->id, m->last_seq);
  /* The job follows the connection that resumed; one that already does (a
   * client asking again after a silence) costs no write. */
  if (!r.connectionId || strcmp(r.connectionId, job->conn_id) != 0) {
    dorm_streamer_Request_key key = {job->id.sub, m->id};
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_connectionId(&u, job->conn_id);
    if (dorm_streamer_Request_update(c, &key, &u, NULL, &a, NULL) != DORM_OK)
      dorm__st_log("error", "resume_failed", m->id, job->conn_id, r.endpoint, "%s", dorm_client_errmsg(c));
    char pk[300];
    if (dorm__st_request_pk(job->id.sub, m->id, pk)) dorm__st_recheck_running(s, pk);
  }
  dorm_streamer_Message_query_sk sk = {.op = DORM_SK_GT, .seq = m->last_seq};
  dorm_query_opts q = {.consistent_read = true};
  size_t replayed = 0;
  bool first = true;
  for (;;) {
    dorm_streamer_Message_page page;
    if (dorm_streamer_Message_query(c, job->id.sub, m->id, &sk, &q, &a, &page) != DORM_OK) {
      send_error(s, job->conn_id, m->id, "INTERNAL", "replay failed: %s", dorm_client_errmsg(c));
      break;
    }
    /* The ack is the one message sent before it is stored: a server that
     * died in between left seq 1 taken and unstored, and a client that
     * never saw it would replay from 2. It says nothing the item does not
     * (its endpoint, PENDING), so it is made again, stored and sent. */
    if (first && m->last_seq == 0 && (page.count == 0 || page.items[0].seq > 1)) {
      char *ack = ack_text(m->id, r.endpoint);
      if (ack) {
        dorm_streamer_Message msg = {.sub = job->id.sub, .clientId = m->id, .seq = 1, .body = ack};
        if (!dorm__st_put_message(c, &msg, &a))
          dorm__st_log("error", "persist_failed", m->id, job->conn_id, r.endpoint, "%s", dorm_client_errmsg(c));
        dorm__srv_enqueue(s, job->conn_id, m->id, 1, ack, strlen(ack));
        replayed++;
        free(ack);
      }
    }
    first = false;
    for (size_t i = 0; i < page.count; i++) {
      dorm__srv_enqueue(s, job->conn_id, m->id, page.items[i].seq, page.items[i].body, strlen(page.items[i].body));
      replayed++;
    }
    if (!page.cursor) break;
    q.cursor = page.cursor;
  }
  dorm__srv_resume_end(s, job->conn_id, m->id);
  dorm__st_log("info", "resumed", m->id, job->conn_id, r.endpoint, "replayed %zu messages after seq %lld", replayed,
               (long long)m->last_seq);
done:
  dorm_arena_free(&a);
}

int64_t dorm__st_leeway_s(const dorm__streamer *s) {
  return s->cfg.jwt.leeway_s == 0 ? 60 : s->cfg.jwt.leeway_s < 0 ? 0 : s->cfg.jwt.leeway_s;
}

/* A connection lives as long as its token (a day at most: the item's TTL
 * then cleans it up); API Gateway's own limit is two hours. */
int64_t dorm__st_conn_expires_at(const dorm__streamer *s, int64_t token_exp) {
  int64_t day = dorm__st_now_ms() / 1000 + 86400;
  if (token_exp <= 0) return day;
  int64_t until = token_exp + dorm__st_leeway_s(s);
  return until < day ? until : day;
}

static void connection_item(dorm__streamer *s, const dorm__st_job *job, dorm_streamer_Connection *conn) {
  memset(conn, 0, sizeof *conn);
  conn->id = job->conn_id;
  conn->sub = job->id.sub;
  conn->tenant = job->id.tenant ? job->id.tenant : "";
  conn->scopes.items = (const char **)job->id.scopes;
  conn->scopes.count = job->id.nscopes;
  conn->server = s->server_url;
  conn->gone = job->kind == DORM__JOB_DISCONNECT;
  conn->has_expiresAt = true;
  conn->expiresAt = dorm__st_conn_expires_at(s, job->id.exp);
}

void dorm__st_route_connections(dorm__streamer *s, dorm__st_job *chain) {
  dorm_client *c = dorm__st_client(s);
  if (!c || !chain) return;
  dorm_streamer_Connection items[DORM__ST_CONN_BATCH];
  size_t n = 0;
  for (dorm__st_job *j = chain; j && n < DORM__ST_CONN_BATCH; j = j->next) connection_item(s, j, &items[n++]);
  dorm_arena a = DORM_ARENA_INIT;
  /* one BatchWriteItem for a crowd that connected at once (DynamoDB Local
   * stores ~10x more items a second that way); a failed batch is written
   * item by item, so one bad item costs only its own */
  if (n == 1 || dorm_streamer_Connection_batch_put(c, items, n, &a) != DORM_OK)
    for (size_t i = 0; i < n; i++)
      if (dorm_streamer_Connection_put(c, &items[i], NULL, &a) != DORM_OK)
        dorm__st_log("error", "connection_store_failed", NULL, items[i].id, NULL, "%s", dorm_client_errmsg(c));
  dorm_arena_free(&a);
}

void dorm__st_route(dorm__streamer *s, dorm__st_job *job) {
  if (job->kind == DORM__JOB_CONNECT || job->kind == DORM__JOB_DISCONNECT) {
    dorm__st_job *next = job->next;
    job->next = NULL;
    dorm__st_route_connections(s, job);
    job->next = next;
    return;
  }
  dorm_client *c = dorm__st_client(s);
  cJSON *root = NULL;
  dorm__st_msg m;
  const char *code = NULL;
  char why[256];
  dorm__st_metrics_add(&s->metrics, &s->metrics.messages_in, 1);
  if (!dorm__st_parse(job->text, job->len, &root, &m, &code, why, sizeof why)) {
    dorm__st_metrics_add(&s->metrics, &s->metrics.invalid_messages, 1);
    send_error(s, job->conn_id, m.id, code, "%s", why);
    cJSON_Delete(root);
    return;
  }
  if (!c) {
    send_error(s, job->conn_id, m.id, "INTERNAL", "no DynamoDB client");
    cJSON_Delete(root);
    return;
  }
  if ((m.kind == DORM__ST_STATUS || m.kind == DORM__ST_GET_RESULT || m.kind == DORM__ST_CANCEL) &&
      !dorm__srv_answer_allowed(s, job->conn_id)) {
    send_error(s, job->conn_id, m.id, "RATE_LIMITED",
               "more than %d status, get_result and cancel on this connection at once (%d a second): retry later",
               DORM__ST_ANSWER_BURST, DORM__ST_ANSWER_RATE);
    cJSON_Delete(root);
    return;
  }
  switch (m.kind) {
  case DORM__ST_PING: send_text(s, job->conn_id, NULL, 0, dorm__st_message("pong", m.id[0] ? m.id : NULL, 0, NULL)); break;
  case DORM__ST_CALL: call(s, c, job, &m); break;
  case DORM__ST_CANCEL: cancel(s, c, job, &m); break;
  case DORM__ST_RESUME: resume(s, c, job, &m); break;
  case DORM__ST_STATUS:
  case DORM__ST_GET_RESULT: {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_streamer_Request r;
    if (load(s, c, job, m.id, &a, &r)) {
      if (m.kind == DORM__ST_STATUS) send_status(s, c, job->conn_id, &r, &a);
      else send_outcome(s, c, job->conn_id, &r, &a);
    }
    dorm_arena_free(&a);
    break;
  }
  }
  cJSON_Delete(root);
}
