/* processor: claims requests and runs their handlers.
 *
 * A request runs where a conditional update moved it PENDING -> PROCESSING
 * (or took over a PROCESSING one whose lease expired) and set this process
 * as the lease owner; a second processor, or the same request seen twice,
 * fails the condition and does nothing.
 *
 * The lease owner takes the request's seqs itself, in memory: a progress
 * update is one message stored (group commit, store.c) under the next seq,
 * then delivered; nothing else is written for it. The request item is
 * written at check-ins (at most once a second, or at once when the router
 * asks: recheck), which renew the lease (a condition on it: a processor
 * that lost the job stops), record the seq high-water mark and the latest
 * progress, and read the cancel flag, the client's connection and the
 * `status` asks of routers in other processes (which need one of our seqs);
 * and at the end, where one transaction writes the outcome to the item and
 * stores the terminal message(s), so a finished request always has its
 * terminal message. A router in this process asks the job for a seq
 * directly (dorm__st_status_running). Progress is coalesced (newest wins, at
 * most one message per progress_interval_ms, percent never goes backwards)
 * and delivered straight into the connection's queue when this server holds
 * it, else through the management API of the server that does (as on AWS,
 * through API Gateway). A connection that is gone (410) stops delivery,
 * never the job. A processor that takes over an expired lease continues
 * after the highest stored seq (it reads the messages table).
 *
 * What runs which request is found by the poller (poller.c). */
#include "streamer_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dorm_stream_ctx {
  struct dorm_stream_ctx *next;   /* in s->running */
  dorm__streamer *s;
  dorm_client *c;
  const dorm_endpoint_desc *e;
  dorm_identity id;
  const char *scopes_none[1];
  char request_pk[300];
  const char *sub, *client_id;
  char conn_id[64];
  char conn_server[256];
  bool conn_gone;
  bool sync;
  bool invocation_bound;          /* sync on Lambda: deadline_ms is the invocation's, before the endpoint's */
  atomic_bool answered;           /* sync: the client has its answer (the result, or TIMEOUT) */
  atomic_bool cancel_flag;
  bool timed_out;
  bool lost_lease;                /* another processor took the job over: write nothing more */
  atomic_bool collided;           /* a message of ours found its seq taken (resync) */
  int64_t collided_seq;           /* the lowest such seq since the last resync (seq_mu; 0: none) */
  atomic_bool releasing;          /* shutting down: give the request back instead of an outcome */
  int64_t deadline_ms;
  int64_t last_check_ms;
  atomic_bool recheck;            /* check in at the next chance (the client moved to another connection) */
  /* seq_mu: the job's thread and routers of this process (status) */
  pthread_mutex_t seq_mu;
  int64_t seq;                    /* the newest seq taken (ours while we hold the lease) */
  bool closed;                    /* the end is being written: no more seqs from memory */
  double last_percent;            /* the latest progress sent (for status and check-ins) */
  char *last_message, *last_progress;
  int64_t stored_seq;             /* the newest seq of this job's progress stored (the check-ins' high-water mark) */
  int outstanding;                /* progress messages queued to the writers, not stored yet */
  pthread_cond_t stored_cv;       /* outstanding went down */
  int64_t renewed_ms;             /* when the lease was last renewed */
  int64_t checked_seq;            /* seq when the connection was last confirmed */
  dorm_arena *arena;              /* the result's */
  /* failure set by dorm_stream_fail */
  char fail_code[32];
  char fail_msg[512];
  bool fail_retryable;
  /* the latest progress update refused (dorm_progress_report returned
   * refused_st: DORM_ERR_TOO_LARGE, or DORM_ERR_HANDLER for a progress that
   * does not fit its type), kept apart from fail_*: it is the job's failure
   * only when the handler returns that status itself, not when it went on
   * and failed later for a reason of its own */
  dorm_status refused_st;
  char refused_code[32];
  char refused_msg[512];
  bool refused_last;              /* no dorm_stream_fail since that refusal */
  int attempts;
};

struct dorm_progress {
  dorm_stream_ctx *ctx;
  double percent;
  int64_t last_sent_ms;
  bool pending;                   /* a coalesced update waits */
  char *pending_message;
  char *pending_progress;         /* JSON text */
  double pending_percent;
};

/* ---- the handler API ---- */

const dorm_identity *dorm_stream_identity(const dorm_stream_ctx *ctx) { return &ctx->id; }
const char *dorm_stream_request_id(const dorm_stream_ctx *ctx) { return ctx->client_id; }
int64_t dorm_stream_deadline_ms(const dorm_stream_ctx *ctx) {
  /* on Lambda, the invocation may end first (its request is then given back) */
  int64_t l = atomic_load(&ctx->s->lambda_deadline_ms);
  return l > 0 && l < ctx->deadline_ms ? l : ctx->deadline_ms;
}
dorm_arena *dorm_stream_arena(dorm_stream_ctx *ctx) { return ctx->arena; }
dorm_client *dorm_stream_client(dorm_stream_ctx *ctx) { return ctx->c; }

dorm_status dorm_stream_fail(dorm_stream_ctx *ctx, const char *code, bool retryable, const char *fmt, ...) {
  snprintf(ctx->fail_code, sizeof ctx->fail_code, "%s",
           code && dorm__st_known_code(code) ? code : "HANDLER_FAILED");
  /* formatted whole, then cut between characters: it is stored in the request item */
  char full[sizeof ctx->fail_msg * 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(full, sizeof full, fmt, ap);
  va_end(ap);
  dorm__st_utf8_copy(ctx->fail_msg, sizeof ctx->fail_msg, full);
  ctx->fail_retryable = retryable;
  ctx->refused_last = false;
  return DORM_ERR_HANDLER;
}

static void deliver(dorm_stream_ctx *ctx, int64_t seq, const char *text);

/* Until every progress message this job queued to the writers is stored
 * (and offered to its connection): before the job follows its client to
 * another connection (the replay reads them from the table), writes its
 * end or gives the request back (the item's seq covers stored messages
 * only), and before its context is freed. */
static void wait_stored(dorm_stream_ctx *ctx) {
  pthread_mutex_lock(&ctx->seq_mu);
  while (ctx->outstanding > 0) pthread_cond_wait(&ctx->stored_cv, &ctx->seq_mu);
  pthread_mutex_unlock(&ctx->seq_mu);
}

/* The client moved to another connection (resume, or the same id sent
 * again): messages after the last confirmed seq may have gone to the old
 * one. The new connection's queue drops seqs it already has (the replay),
 * so they are sent again from the table; the rest follow live. */
static void follow_connection(dorm_stream_ctx *ctx, const char *conn_id) {
  wait_stored(ctx);
  snprintf(ctx->conn_id, sizeof ctx->conn_id, "%s", conn_id);
  ctx->conn_server[0] = '\0';
  ctx->conn_gone = false;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Message_query_sk sk = {.op = DORM_SK_GT, .seq = ctx->checked_seq};
  dorm_query_opts q = {.consistent_read = true};
  for (;;) {
    dorm_streamer_Message_page page;
    if (dorm_streamer_Message_query(ctx->c, ctx->sub, ctx->client_id, &sk, &q, &a, &page) != DORM_OK) break;
    for (size_t i = 0; i < page.count; i++) deliver(ctx, page.items[i].seq, page.items[i].body);
    if (!page.cursor) break;
    q.cursor = page.cursor;
  }
  dorm_arena_free(&a);
}

static void answer_asks(dorm_stream_ctx *ctx, const dorm_streamer_set_string *asks);

/* A check-in answers asks until 1/ASK_LEASE_SHARE of the lease has passed
 * since it renewed the lease (one at least), and renews it again when
 * answering (or following the client) took that long. Each answer is a
 * status stored, then sent (an HTTP call when the client is on another
 * server): under load 16 of them took over 4 s, the lease renewed before
 * them ran out while the job was healthy (the sweep found it expired:
 * another processor would have taken the job over), and send_progress
 * refused the next progress (it stores nothing under a lease past 3/4 of
 * its life). A client asking `status` without pause must not cost its job
 * the lease. The asks left stay in the item for the next check-in, which
 * comes at once (recheck). */
#define ASK_LEASE_SHARE 4

/* The check-in: one conditional write (we still hold the lease) that renews
 * the lease and records the seq high-water mark and the latest progress
 * (what `status` says of a request whose processor died), returning the
 * cancel flag, the client's connection (followed when it moved) and the
 * routers' asks (answered when `answer`, else left for the next check-in).
 * Losing the condition means another processor took the job over: stop.
 * True when the lease was renewed. */
static bool check_in_once(dorm_stream_ctx *ctx, bool answer) {
  int64_t now = dorm__st_now_ms();
  ctx->last_check_ms = now;
  dorm_arena a = DORM_ARENA_INIT;
  pthread_mutex_lock(&ctx->seq_mu);
  int64_t seq_before = ctx->seq;
  int64_t stored = ctx->stored_seq;
  double percent = ctx->last_percent;
  const char *message = ctx->last_message ? dorm_arena_strdup(&a, ctx->last_message) : NULL;
  const char *progress = ctx->last_progress ? dorm_arena_strdup(&a, ctx->last_progress) : NULL;
  pthread_mutex_unlock(&ctx->seq_mu);
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, &a);
  dorm_streamer_Request_set_leaseExpires(&u, now + ctx->s->cfg.lease_ms);
  dorm_streamer_Request_set_seq(&u, stored);
  dorm_streamer_Request_set_percent(&u, percent);
  if (message) dorm_streamer_Request_set_message(&u, message);
  if (progress) dorm_streamer_Request_set_progress(&u, progress);
  dorm_update_opts o = {.return_new = true};
  o.w.condition = dorm_streamer_Request_cond_leaseOwner(&u.x, DORM_EQ, ctx->s->server_id);
  dorm_streamer_Request_key key = {ctx->sub, ctx->client_id};
  dorm_streamer_Request r;
  dorm_status st = dorm_streamer_Request_update(ctx->c, &key, &u, &o, &a, &r);
  if (st == DORM_OK) {
    ctx->renewed_ms = now;
    if (r.cancelRequested) atomic_store(&ctx->cancel_flag, true);
    if (strcmp(r.connectionId, ctx->conn_id) != 0) follow_connection(ctx, r.connectionId);
    ctx->checked_seq = seq_before;
    if (r.has_asks && r.asks.count) {
      if (answer) answer_asks(ctx, &r.asks);
      else atomic_store(&ctx->recheck, true);
    }
  } else if (st == DORM_ERR_CONDITION_FAILED) {
    /* Another processor took the lease (ours expired): stop. */
    atomic_store(&ctx->cancel_flag, true);
    ctx->lost_lease = true;
  } else {
    dorm__st_log("warn", "check_in_failed", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL, "%s",
                 dorm_client_errmsg(ctx->c));
  }
  dorm_arena_free(&a);
  return st == DORM_OK;
}

static void check_in_now(dorm_stream_ctx *ctx) {
  if (check_in_once(ctx, true) && dorm__st_now_ms() - ctx->renewed_ms >= ctx->s->cfg.lease_ms / ASK_LEASE_SHARE)
    check_in_once(ctx, false);
}

/* How often a job checks in when nothing asks it to. A server reads the
 * requests table's stream, where a router's change to a request (cancel,
 * the client on another connection, a status asked for) shows within a
 * poll interval and makes the job check in at once (on_leased_change): the
 * periodic check-in only renews the lease, three times per lease. A Lambda
 * invocation running a job reads no stream meanwhile: there it is once a
 * second, which bounds how late it sees those changes. */
static int64_t check_in_every_ms(const dorm_stream_ctx *ctx) {
  const dorm__streamer *s = ctx->s;
  if (s->lambda || s->cfg.no_processor) return 1000;
  int64_t every = s->cfg.lease_ms / 3;
  return every < 1000 ? 1000 : every;
}

/* For a handler between progress updates (and before each one): checks
 * the deadline, and checks in when due (or at once when a router asked:
 * recheck). */
static void took_over_from(dorm_stream_ctx *ctx, const dorm_streamer_Request *r, const char *body);

/* Marks seq taken by another run's message (store.c, owned_put). */
static void collided(dorm_stream_ctx *ctx, int64_t seq) {
  pthread_mutex_lock(&ctx->seq_mu);
  if (!ctx->collided_seq || seq < ctx->collided_seq) ctx->collided_seq = seq;
  pthread_mutex_unlock(&ctx->seq_mu);
  atomic_store(&ctx->collided, true);
}

/* After a collision, the lease held: the messages stored from the first
 * seq that collided on (a run that lost the lease landed them after this
 * one read the highest stored seq, or this run's own) are the request's
 * (its client may have had them from that run), so they are sent to the
 * client (a connection drops seqs it has) and this run goes on after the
 * newest, from its percent when that is higher. */
static void catch_up_seqs(dorm_stream_ctx *ctx) {
  pthread_mutex_lock(&ctx->seq_mu);
  int64_t from = ctx->collided_seq ? ctx->collided_seq - 1 : ctx->seq;
  ctx->collided_seq = 0;
  pthread_mutex_unlock(&ctx->seq_mu);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Message_query_sk sk = {.op = DORM_SK_GT, .seq = from};
  dorm_query_opts q = {.consistent_read = true};
  int64_t last = 0;
  const char *last_body = NULL;
  for (;;) {
    dorm_streamer_Message_page page;
    if (dorm_streamer_Message_query(ctx->c, ctx->sub, ctx->client_id, &sk, &q, &a, &page) != DORM_OK) break;
    for (size_t i = 0; i < page.count; i++) {
      deliver(ctx, page.items[i].seq, page.items[i].body);
      last = page.items[i].seq;
      last_body = page.items[i].body;
    }
    if (!page.cursor) break;
    q.cursor = page.cursor;
  }
  pthread_mutex_lock(&ctx->seq_mu);
  if (last > ctx->seq) {
    dorm__st_log("warn", "seq_resync", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                 "another run stored messages up to seq %lld after this one took the request over: going on "
                 "after them", (long long)last);
    ctx->seq = last;
    dorm_streamer_Request now = {.percent = ctx->last_percent};
    took_over_from(ctx, &now, last_body);
  }
  if (last > ctx->stored_seq) ctx->stored_seq = last;
  pthread_mutex_unlock(&ctx->seq_mu);
  dorm_arena_free(&a);
}

/* A message of ours found its seq taken: the check-in says by whom. A run
 * that took the request over (our lease is gone): this one stops. With the
 * lease still ours, a run that lost it landed a write late: go on after
 * it (catch_up_seqs). */
static void resync(dorm_stream_ctx *ctx) {
  wait_stored(ctx);
  check_in_now(ctx);
  if (!ctx->lost_lease) catch_up_seqs(ctx);
}

static void check_in(dorm_stream_ctx *ctx) {
  if (ctx->sync) return;
  if (!ctx->lost_lease && atomic_exchange(&ctx->collided, false)) resync(ctx);
  int64_t now = dorm__st_now_ms();
  if (now > ctx->deadline_ms) {
    ctx->timed_out = true;
    atomic_store(&ctx->cancel_flag, true);
  }
  if (ctx->lost_lease) return;
  if (now - ctx->last_check_ms < check_in_every_ms(ctx) && !atomic_exchange(&ctx->recheck, false)) return;
  check_in_now(ctx);
}

bool dorm_stream_cancelled(const dorm_stream_ctx *ctx) {
  check_in((dorm_stream_ctx *)ctx);
  return atomic_load(&ctx->cancel_flag);
}

bool dorm__st_recheck_running(dorm__streamer *s, const char *request_pk) {
  bool found = false;
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c; c = c->next)
    if (strcmp(c->request_pk, request_pk) == 0) {
      atomic_store(&c->recheck, true);
      found = true;
    }
  pthread_mutex_unlock(&s->running_mu);
  return found;
}

bool dorm__st_cancel_running(dorm__streamer *s, const char *request_pk) {
  bool found = false;
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c; c = c->next)
    if (strcmp(c->request_pk, request_pk) == 0) {
      atomic_store(&c->cancel_flag, true);
      found = true;
    }
  pthread_mutex_unlock(&s->running_mu);
  return found;
}

/* ---- delivery of persisted messages ---- */

static void deliver(dorm_stream_ctx *ctx, int64_t seq, const char *text) {
  if (ctx->conn_gone || !ctx->conn_id[0]) return;
  size_t len = strlen(text);
  /* Held by this server: straight into its queue (no HTTP, no signing). */
  dorm__srv_offer_result local = dorm__srv_offer(ctx->s, ctx->conn_id, ctx->client_id, seq, text, len);
  if (local == DORM__SRV_QUEUED) return;
  if (local == DORM__SRV_GONE) {
    ctx->conn_gone = true;
    return;
  }
  if (!ctx->conn_server[0]) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_streamer_Connection_key key = {ctx->conn_id};
    dorm_streamer_Connection conn;
    /* recorded as ours but not here: it closed */
    if (dorm_streamer_Connection_get(ctx->c, &key, NULL, &a, &conn) == DORM_OK && !conn.gone &&
        strcmp(conn.server, ctx->s->server_url) != 0)
      snprintf(ctx->conn_server, sizeof ctx->conn_server, "%s", conn.server);
    else
      ctx->conn_gone = true;
    dorm_arena_free(&a);
    if (ctx->conn_gone) return;
  }
  dorm_status st = dorm__st_deliver(ctx->s, ctx->conn_server, ctx->conn_id, text, len);
  if (st == DORM_ERR_NOT_FOUND) {
    ctx->conn_gone = true;
    dorm__st_log("info", "connection_gone", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                 "the client left; the job goes on and its messages are kept");
  } else if (st != DORM_OK) {
    dorm__st_metrics_add(&ctx->s->metrics, &ctx->s->metrics.delivery_failures, 1);
    if (st == DORM_ERR_NETWORK) {
      /* The server that held the connection is unreachable (it died): stop
       * sending there; everything stays stored for resume and get_result. */
      ctx->conn_gone = true;
    }
  }
}

/* A message for a connection other than the job's (a router's ask from
 * another process): its queue when this server holds it, else the
 * management API of the server that does. */
static void deliver_to(dorm_stream_ctx *ctx, const char *conn_id, int64_t seq, const char *text) {
  if (strcmp(conn_id, ctx->conn_id) == 0) {
    deliver(ctx, seq, text);
    return;
  }
  size_t len = strlen(text);
  if (dorm__srv_offer(ctx->s, conn_id, ctx->client_id, seq, text, len) != DORM__SRV_NOT_HERE) return;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Connection_key key = {conn_id};
  dorm_streamer_Connection conn;
  if (dorm_streamer_Connection_get(ctx->c, &key, NULL, &a, &conn) == DORM_OK && !conn.gone &&
      strcmp(conn.server, ctx->s->server_url) != 0 &&
      dorm__st_deliver(ctx->s, conn.server, conn_id, text, len) != DORM_OK)
    dorm__st_metrics_add(&ctx->s->metrics, &ctx->s->metrics.delivery_failures, 1);
  dorm_arena_free(&a);
}

/* A `status` of this running job under a seq of its own: what the request's
 * state is now (PROCESSING, the latest progress sent), last_seq the seq
 * before it. Stored (c: the calling thread's client) before it is handed
 * to sent(). False when the job is writing its end (closed). */
typedef void (*status_sent_fn)(void *user, int64_t seq, const char *text);
static bool status_now(dorm_stream_ctx *ctx, dorm_client *c, status_sent_fn sent, void *user) {
  pthread_mutex_lock(&ctx->seq_mu);
  if (ctx->closed) {
    pthread_mutex_unlock(&ctx->seq_mu);
    return false;
  }
  int64_t seq = ++ctx->seq;
  char *extra = dorm__st_status_extra("PROCESSING", ctx->e ? ctx->e->name : "", ctx->last_percent, ctx->last_message,
                                      ctx->last_progress, seq - 1);
  pthread_mutex_unlock(&ctx->seq_mu);
  char *text = extra ? dorm__st_message("status", ctx->client_id, seq, extra) : NULL;
  free(extra);
  dorm_streamer_Message m = {.sub = ctx->sub, .clientId = ctx->client_id, .seq = seq, .body = text};
  dorm_status st = text ? dorm__st_put_owned(c, &m) : DORM_ERR_NO_MEMORY;
  if (st == DORM_OK) sent(user, seq, text);
  else {
    if (st == DORM_ERR_CONDITION_FAILED) collided(ctx, seq); /* the job looks at why */
    dorm__st_log("error", "persist_failed", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                 "status seq %lld: %s", (long long)seq, text ? dorm_client_errmsg(c) : "out of memory");
  }
  free(text);
  return true;
}

typedef struct ask_to {
  dorm_stream_ctx *ctx;
  const char *conn;
} ask_to;

static void ask_sent(void *user, int64_t seq, const char *text) {
  ask_to *t = user;
  deliver_to(t->ctx, t->conn, seq, text);
}

/* Routers of other processes asked for a status ("<connection id> <nonce>"
 * each, in the request item): each gets one under our next seq, sent to
 * its connection; then they are deleted from the item (a second check-in
 * before that would answer them again: harmless, a status more). */
/* The connection an ask ("<connection id> <nonce>") is for; false when it
 * names none. */
static bool ask_conn(const char *ask, char conn[64]) {
  const char *sp = strchr(ask, ' ');
  size_t n = sp ? (size_t)(sp - ask) : strlen(ask);
  if (n == 0 || n >= 64) return false;
  memcpy(conn, ask, n);
  conn[n] = '\0';
  return true;
}

static void answer_asks(dorm_stream_ctx *ctx, const dorm_streamer_set_string *asks) {
  int64_t budget_ms = ctx->s->cfg.lease_ms / ASK_LEASE_SHARE;
  size_t answered = 0;
  while (answered < asks->count) {
    if (answered > 0 && dorm__st_now_ms() - ctx->renewed_ms >= budget_ms) break;
    char conn[64];
    if (ask_conn(asks->items[answered], conn)) {
      ask_to t = {ctx, conn};
      status_now(ctx, ctx->c, ask_sent, &t);
    }
    answered++;
  }
  if (answered < asks->count) atomic_store(&ctx->recheck, true);
  dorm_streamer_set_string done = {asks->items, answered};
  dorm_arena a = DORM_ARENA_INIT;
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, &a);
  dorm_streamer_Request_set_delete_asks(&u, &done);
  dorm_update_opts o = {0};
  o.w.condition = dorm_streamer_Request_cond_leaseOwner(&u.x, DORM_EQ, ctx->s->server_id);
  dorm_streamer_Request_key key = {ctx->sub, ctx->client_id};
  if (dorm_streamer_Request_update(ctx->c, &key, &u, &o, &a, NULL) != DORM_OK)
    dorm__st_log("warn", "asks_not_cleared", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL, "%s",
                 dorm_client_errmsg(ctx->c));
  dorm_arena_free(&a);
}

bool dorm__st_status_running(dorm__streamer *s, dorm_client *c, const char *request_pk, const char *conn_id) {
  /* running_mu is held while the status is stored: the job cannot end (and
   * free its context) meanwhile; its own stores do not need running_mu. */
  bool done = false;
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *x = s->running; x && !done; x = x->next)
    if (!x->sync && strcmp(x->request_pk, request_pk) == 0) {
      dorm__srv_to t = {s, conn_id, x->client_id};
      done = status_now(x, c, dorm__srv_enqueue_to, &t);
    }
  pthread_mutex_unlock(&s->running_mu);
  return done;
}

typedef struct progress_made {
  const char *rid;
  double percent;
  const char *message;
  const char *progress;
} progress_made;

static char *make_progress(int64_t seq, void *user) {
  progress_made *p = user;
  dorm__buf b = DORM__BUF_INIT;
  /* %.17g: the double back exactly, as cJSON would print it */
  dorm__buf_printf(&b, "{\"percent\":%.17g", p->percent);
  if (p->message) {
    dorm__buf_puts(&b, ",\"message\":");
    dorm__st_json_str(&b, p->message);
  }
  if (p->progress) {
    dorm__buf_puts(&b, ",\"progress\":");
    dorm__buf_puts(&b, p->progress);
  }
  dorm__buf_putc(&b, '}');
  char *text = dorm__buf_ok(&b) ? dorm__st_message("progress", p->rid, seq, dorm__buf_text(&b)) : NULL;
  dorm__buf_free(&b);
  return text;
}

#define PROGRESS_IN_FLIGHT 2

/* A progress message queued to the writers: the job and the connection it
 * was for then (conn "": the client is gone). */
typedef struct progress_put {
  dorm_stream_ctx *ctx;
  char conn[64];
} progress_put;

/* On a writer thread, once the message is stored (ok) or given up: offered
 * to the connection (its queue puts seqs in order), counted. The context
 * lives until outstanding is 0 (wait_stored): nothing here touches it after. */
static void progress_stored(void *user, const dorm_streamer_Message *m, dorm_status st) {
  progress_put *pp = user;
  dorm_stream_ctx *ctx = pp->ctx;
  dorm__streamer *s = ctx->s;
  bool ok = st == DORM_OK;
  if (st == DORM_ERR_CONDITION_FAILED) {
    collided(ctx, m->seq);
    dorm__st_log("warn", "seq_taken", m->clientId, pp->conn, ctx->e ? ctx->e->name : NULL,
                 "seq %lld holds another run's message: this progress is not sent", (long long)m->seq);
  } else if (ok) {
    /* not here any more (the client moved): the job's check-in follows it and replays from the table */
    if (pp->conn[0]) dorm__srv_offer(s, pp->conn, m->clientId, m->seq, m->body, strlen(m->body));
    dorm__st_metrics_add(&s->metrics, &s->metrics.progress_sent, 1);
  } else {
    dorm__st_log("error", "progress_failed", m->clientId, pp->conn, ctx->e ? ctx->e->name : NULL,
                 "seq %lld could not be stored", (long long)m->seq);
  }
  pthread_mutex_lock(&ctx->seq_mu);
  if (ok && m->seq > ctx->stored_seq) ctx->stored_seq = m->seq;
  ctx->outstanding--;
  pthread_cond_broadcast(&ctx->stored_cv);
  pthread_mutex_unlock(&ctx->seq_mu);
  free(pp);
}

/* Persists and delivers one progress message under the job's next seq (in
 * memory: we hold the lease): stored by group commit, then delivered;
 * nothing is written to the request item (check-ins carry the latest
 * progress). A lease not renewed for half its time (check-ins failed) is
 * renewed first, and nothing is stored under a lease that may have run out:
 * another processor may be using these seqs. */
static void send_progress(dorm_stream_ctx *ctx, double percent, const char *message, const char *progress) {
  if (ctx->lost_lease) return;
  long lease_ms = ctx->s->cfg.lease_ms;
  if (dorm__st_now_ms() - ctx->renewed_ms > lease_ms / 2) {
    check_in_now(ctx);
    if (ctx->lost_lease) return;
    if (dorm__st_now_ms() - ctx->renewed_ms > lease_ms - lease_ms / 4) {
      dorm__st_log("error", "progress_failed", ctx->client_id, ctx->conn_id, ctx->e->name,
                   "the lease could not be renewed; this update is not sent");
      return;
    }
  }
  /* The client's connection is here (or gone): the writer stores the
   * message and delivers it, and the job goes on at once (the default; one
   * context switch per message fewer than storing it here and, at 1,000
   * connections, earlier delivery: bench/notes/streamer.md, "Fifth round").
   * Elsewhere, delivery is an HTTP call that is the job's to make; with
   * --sync-progress the job stores its own (group commit). */
  bool async = ctx->s->cfg.async_progress && !ctx->s->lambda &&
               (ctx->conn_gone || dorm__srv_holds(ctx->s, ctx->conn_id));
  pthread_mutex_lock(&ctx->seq_mu);
  /* At most PROGRESS_IN_FLIGHT of a job's messages wait for the writers: a
   * handler that reports faster than DynamoDB stores waits here, before its
   * message is made (and stamped), so a backlog slows the job instead of
   * growing in the queue. */
  while (async && ctx->outstanding >= PROGRESS_IN_FLIGHT) pthread_cond_wait(&ctx->stored_cv, &ctx->seq_mu);
  int64_t seq = ++ctx->seq;
  if (percent < ctx->last_percent) percent = ctx->last_percent; /* a resync may have found a higher one */
  ctx->last_percent = percent;
  char *m1 = message ? strdup(message) : NULL, *p1 = progress ? strdup(progress) : NULL;
  free(ctx->last_message);
  free(ctx->last_progress);
  ctx->last_message = m1;
  ctx->last_progress = p1;
  pthread_mutex_unlock(&ctx->seq_mu);
  progress_made pm = {ctx->client_id, percent, message, progress};
  char *text = make_progress(seq, &pm);
  dorm_streamer_Message m = {.sub = ctx->sub, .clientId = ctx->client_id, .seq = seq, .body = text};
  if (text && async) {
    progress_put *pp = malloc(sizeof *pp);
    if (pp) {
      pp->ctx = ctx;
      snprintf(pp->conn, sizeof pp->conn, "%s", ctx->conn_gone ? "" : ctx->conn_id);
      pthread_mutex_lock(&ctx->seq_mu);
      ctx->outstanding++;
      pthread_mutex_unlock(&ctx->seq_mu);
      if (dorm__st_put_message_async(&m, progress_stored, pp, ctx->c)) {
        free(text);
        return;
      }
      pthread_mutex_lock(&ctx->seq_mu);
      ctx->outstanding--;
      pthread_mutex_unlock(&ctx->seq_mu);
      free(pp);
    }
  }
  dorm_status pst = text ? dorm__st_put_owned(ctx->c, &m) : DORM_ERR_NO_MEMORY;
  if (pst == DORM_OK) {
    pthread_mutex_lock(&ctx->seq_mu);
    if (seq > ctx->stored_seq) ctx->stored_seq = seq;
    pthread_mutex_unlock(&ctx->seq_mu);
    deliver(ctx, seq, text);
    dorm__st_metrics_add(&ctx->s->metrics, &ctx->s->metrics.progress_sent, 1);
  } else if (pst == DORM_ERR_CONDITION_FAILED) {
    collided(ctx, seq);
    dorm__st_log("warn", "seq_taken", ctx->client_id, ctx->conn_id, ctx->e->name,
                 "seq %lld holds another run's message: this progress is not sent", (long long)seq);
  } else {
    dorm__st_log("error", "progress_failed", ctx->client_id, ctx->conn_id, ctx->e->name, "%s",
                 text ? dorm_client_errmsg(ctx->c) : "out of memory");
    /* not stored: the seq is given back unless a router took the next one */
    pthread_mutex_lock(&ctx->seq_mu);
    if (ctx->seq == seq) ctx->seq--;
    pthread_mutex_unlock(&ctx->seq_mu);
  }
  free(text);
}

static void flush_progress(dorm_progress *pr) {
  if (!pr->pending) return;
  pr->pending = false;
  send_progress(pr->ctx, pr->pending_percent, pr->pending_message, pr->pending_progress);
  pr->last_sent_ms = dorm__st_now_ms();
  free(pr->pending_message);
  free(pr->pending_progress);
  pr->pending_message = pr->pending_progress = NULL;
}

static dorm_status report_valid(dorm_progress *pr, double percent, const char *message, const void *progress);

dorm_status dorm_progress_report(dorm_progress *pr, double percent, const char *message, const void *progress) {
  /* the message as valid UTF-8: it is stored in the request item with the
   * latest progress (DynamoDB refuses other strings: the job could not end) */
  if (!message || dorm__utf8_valid(message, strlen(message), NULL))
    return report_valid(pr, percent, message, progress);
  char *valid = dorm__st_utf8_dup(message);
  if (!valid) return DORM_ERR_NO_MEMORY;
  dorm_status st = report_valid(pr, percent, valid, progress);
  free(valid);
  return st;
}

/* A progress update not sent: st is what the handler is given; code and
 * msg are what the client is told if the handler returns st (the job's end). */
static dorm_status refuse(dorm_stream_ctx *ctx, dorm_status st, const char *code, const char *msg) {
  ctx->refused_st = st;
  snprintf(ctx->refused_code, sizeof ctx->refused_code, "%s", code);
  dorm__st_utf8_copy(ctx->refused_msg, sizeof ctx->refused_msg, msg);
  ctx->refused_last = true;
  return st;
}

static dorm_status report_valid(dorm_progress *pr, double percent, const char *message, const void *progress) {
  dorm_stream_ctx *ctx = pr->ctx;
  if (dorm_stream_cancelled(ctx)) return DORM_ERR_CANCELLED;
  if (!(percent >= pr->percent)) percent = pr->percent; /* never backwards (NaN too) */
  if (percent > 100) percent = 100;
  pr->percent = percent;
  char *ptext = NULL;
  if (progress && ctx->e->progress) {
    const char *json = NULL;
    size_t len = 0;
    char err[256];
    dorm_arena a = DORM_ARENA_INIT;
    if (dorm_payload_to_json(ctx->e->progress, progress, &a, &json, &len, err, sizeof err) != DORM_OK) {
      dorm_arena_free(&a);
      char why[300];
      snprintf(why, sizeof why, "progress does not fit its type: %s", err);
      return refuse(ctx, DORM_ERR_HANDLER, "HANDLER_FAILED", why);
    }
    ptext = strdup(json);
    dorm_arena_free(&a);
  }
  /* Sent as a progress message, stored as one item, echoed by every status
   * answer: it must fit one frame (API Gateway refuses larger ones, and one
   * item too large for DynamoDB would fail the whole batch it is written
   * in). Refused here, so nothing bigger is ever queued. */
  size_t plen = ptext ? strlen(ptext) : 0, mlen = message ? strlen(message) : 0;
  size_t room = DORM__ST_MAX_MESSAGE - DORM__ST_PROGRESS_ENVELOPE - strlen(ctx->e->name);
  if (plen + 6 * mlen > room) { /* 6: the most one byte escapes to; else count exactly */
    dorm__buf b = DORM__BUF_INIT;
    if (message) dorm__st_json_str(&b, message);
    size_t esc = dorm__buf_ok(&b) ? b.len : SIZE_MAX / 2;
    dorm__buf_free(&b);
    if (plen + esc > room) {
      free(ptext);
      char err[256];
      snprintf(err, sizeof err,
               "a progress update of %zu bytes (message escaped %zu, progress %zu) is larger than the %zu a "
               "WebSocket frame leaves for it; it is not sent",
               plen + esc, esc, plen, room);
      dorm__st_log("warn", "progress_too_large", ctx->client_id, ctx->conn_id, ctx->e->name, "%s", err);
      return refuse(ctx, DORM_ERR_TOO_LARGE, "PAYLOAD_TOO_LARGE", err);
    }
  }
  /* newest wins */
  free(pr->pending_message);
  free(pr->pending_progress);
  pr->pending = true;
  pr->pending_percent = percent;
  pr->pending_message = message ? strdup(message) : NULL;
  pr->pending_progress = ptext;
  if (dorm__st_now_ms() - pr->last_sent_ms >= ctx->s->cfg.progress_interval_ms) flush_progress(pr);
  return DORM_OK;
}

/* ---- sync calls (the router runs them in its thread) ---- */

/* A sync call is in s->running while its handler runs, so that the poller
 * can answer TIMEOUT at its deadline (dorm__st_expire_sync) however long the
 * handler takes: whoever sets `answered` first sends the one answer. */
dorm_status dorm__st_run_sync(dorm__streamer *s, const dorm_endpoint_desc *e, const dorm_identity *id,
                              const char *conn_id, const char *rid, const void *req, void *res, dorm_arena *a,
                              char *code_out, char *msg, size_t msgcap, bool *answered) {
  dorm_stream_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.s = s;
  ctx.c = dorm__st_client(s);
  ctx.e = e;
  ctx.id = *id;
  ctx.sync = true;
  ctx.client_id = rid;
  ctx.sub = id->sub;
  ctx.arena = a;
  snprintf(ctx.conn_id, sizeof ctx.conn_id, "%s", conn_id);
  int64_t start = dorm__st_now_ms();
  ctx.deadline_ms = start + e->timeout_ms;
  /* On Lambda the $default invocation may end first (WebSocketTimeout,
   * 29 s at most): the call is answered TIMEOUT then, before Lambda stops
   * the process, instead of never */
  int64_t inv = atomic_load(&s->lambda_deadline_ms);
  if (inv > 0 && inv < ctx.deadline_ms) {
    ctx.deadline_ms = inv;
    ctx.invocation_bound = true;
  }
  pthread_mutex_lock(&s->running_mu);
  ctx.next = s->running;
  s->running = &ctx;
  pthread_mutex_unlock(&s->running_mu);
  dorm_status st = e->sync_handler(&ctx, req, res);
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx **p = &s->running; *p; p = &(*p)->next)
    if (*p == &ctx) {
      *p = ctx.next;
      break;
    }
  pthread_mutex_unlock(&s->running_mu);
  *answered = atomic_exchange(&ctx.answered, true);
  if (*answered) {
    dorm__st_log("info", "late_result_dropped", rid, conn_id, e->name,
                 "the handler returned after its timeout had been answered");
    return DORM_ERR_TIMEOUT;
  }
  if (st == DORM_OK && dorm__st_now_ms() > ctx.deadline_ms) {
    snprintf(code_out, 32, "TIMEOUT");
    if (ctx.invocation_bound)
      dorm__set_err(msg, msgcap, "%s ran until its Lambda invocation's end (WebSocketTimeout less 1 s)", e->name);
    else
      dorm__set_err(msg, msgcap, "%s took longer than its timeout of %lld ms", e->name, (long long)e->timeout_ms);
    return DORM_ERR_TIMEOUT;
  }
  if (st != DORM_OK) {
    snprintf(code_out, 32, "%s", ctx.fail_code[0] ? ctx.fail_code : "HANDLER_FAILED");
    dorm__set_err(msg, msgcap, "%s", ctx.fail_msg[0] ? ctx.fail_msg : dorm_strerror(st));
  }
  return st;
}

void dorm__st_expire_sync(dorm__streamer *s) {
  int64_t now = dorm__st_now_ms();
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c; c = c->next) {
    if (!c->sync || now <= c->deadline_ms || atomic_exchange(&c->answered, true)) continue;
    atomic_store(&c->cancel_flag, true); /* a handler that checks stops */
    char msg[256];
    if (c->invocation_bound)
      snprintf(msg, sizeof msg, "%s ran until its Lambda invocation's end (WebSocketTimeout less 1 s)", c->e->name);
    else
      snprintf(msg, sizeof msg, "%s took longer than its timeout of %lld ms", c->e->name, (long long)c->e->timeout_ms);
    char *text = dorm__st_error_message(c->client_id, 1, "TIMEOUT", msg, false);
    if (text) dorm__srv_enqueue(s, c->conn_id, c->client_id, 1, text, strlen(text));
    free(text);
    dorm__st_metrics_outcome(&s->metrics, c->e->name, "TIMEOUT");
    dorm__st_log("warn", "timeout", c->client_id, c->conn_id, c->e->name, "answered TIMEOUT; the handler goes on");
  }
  pthread_mutex_unlock(&s->running_mu);
}

/* ---- running a claimed request ---- */

/* No more seqs from memory: the end (or a hand-back) is being written.
 * Returns the last seq taken. Routers of this process then take the item's
 * way (a status asked meanwhile is an ask the end answers). */
static int64_t close_seqs(dorm_stream_ctx *ctx) {
  pthread_mutex_lock(&ctx->seq_mu);
  ctx->closed = true;
  int64_t seq = ctx->seq;
  pthread_mutex_unlock(&ctx->seq_mu);
  return seq;
}

static void reopen_seqs(dorm_stream_ctx *ctx) {
  pthread_mutex_lock(&ctx->seq_mu);
  ctx->closed = false;
  pthread_mutex_unlock(&ctx->seq_mu);
}

/* Ends the request: one transaction writes its final state to the item
 * (the seq high-water mark, the latest progress, the outcome; on the
 * condition that we still hold the lease, that no router waits for a status
 * (asks) and that the client is still on the connection we know) and stores
 * the terminal message(s) under the next seqs; then they are delivered. So
 * the outcome and its messages exist together or not at all. A failed
 * condition is looked at by a check-in (lease lost: nothing more; asks:
 * answered; the client moved: followed) and the end tried again, then
 * without the condition on asks: a client asking without pause would
 * otherwise keep the job from ending (an ask can come between the check-in
 * and the end); the asks left are answered after the end
 * (answer_left_asks). */
static void finish_valid(dorm_stream_ctx *ctx, dorm_streamer_RequestStatus status, const char *result,
                         const char *code, const char *message);

/* The error message as valid UTF-8 (it is stored: DynamoDB refuses other
 * strings, and an end that cannot be written runs the job again). */
static void finish(dorm_stream_ctx *ctx, dorm_streamer_RequestStatus status, const char *result, const char *code,
                   const char *message) {
  char *valid = message ? dorm__st_utf8_dup(message) : NULL;
  finish_valid(ctx, status, result, code, message && valid ? valid : message ? "out of memory" : NULL);
  free(valid);
}

static char *left_ask_status(int64_t seq, const dorm_streamer_Request *now, void *user) {
  return dorm__st_item_status(user, seq, now);
}

/* Asks still in the item of a request whose end was written past them: it
 * is finished and no lease holds it, so no router adds one any more (they
 * need a lease) and each is answered as a router answers a status of a
 * finished request (its item's state, under a seq of the item's), sent to
 * its connection; then they are deleted. */
static void answer_left_asks(dorm_stream_ctx *ctx) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request_key key = {ctx->sub, ctx->client_id};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request r;
  dorm_status st = dorm_streamer_Request_get(ctx->c, &key, &go, &a, &r);
  if (st == DORM_OK && r.has_asks && r.asks.count) {
    for (size_t i = 0; i < r.asks.count; i++) {
      char conn[64];
      if (!ask_conn(r.asks.items[i], conn)) continue;
      char *text = NULL;
      int64_t seq = dorm__st_append_message(ctx->c, ctx->sub, ctx->client_id, left_ask_status, (void *)ctx->client_id,
                                            &text, NULL);
      if (seq) deliver_to(ctx, conn, seq, text);
      else
        dorm__st_log("error", "persist_failed", ctx->client_id, conn, ctx->e ? ctx->e->name : NULL, "status: %s",
                     dorm_client_errmsg(ctx->c));
      free(text);
    }
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_delete_asks(&u, &r.asks);
    st = dorm_streamer_Request_update(ctx->c, &key, &u, NULL, &a, NULL);
  }
  if (st != DORM_OK)
    dorm__st_log("warn", "asks_not_cleared", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL, "%s",
                 dorm_client_errmsg(ctx->c));
  dorm_arena_free(&a);
}

/* Jobs end in waves (a crowd's jobs started together), and DynamoDB
 * Local serialises the waves' writes behind the progress of the jobs still
 * running: the ends of jobs that end together share transactions (group.c;
 * each end is all or nothing on its own when the shared one fails). */
#define END_LEADERS 4
#define END_GATHER_US 10000
static dorm__st_group ends = {.mu = PTHREAD_MUTEX_INITIALIZER, .leaders = END_LEADERS,
                              .max_bytes = DORM__ST_GROUP_BYTES, .busy_gather_us = END_GATHER_US};

void dorm__st_end_counts(size_t *calls, size_t *ended) { dorm__st_group_counts(&ends, calls, ended); }

static dorm_status commit_end(dorm_stream_ctx *ctx, dorm_tx *tx, const char *result, char **texts, size_t n) {
  dorm__st_member me = {.key = ctx->request_pk, .actions = tx->actions, .n = tx->status == DORM_OK ? tx->count : 0,
                        .bytes = DORM__ST_ITEM_MARGIN + (result ? strlen(result) : 0)};
  for (size_t i = 0; i < n; i++) me.bytes += strlen(texts[i]);
  pthread_mutex_lock(&ctx->seq_mu);
  me.bytes += (ctx->last_message ? strlen(ctx->last_message) : 0) + (ctx->last_progress ? strlen(ctx->last_progress) : 0);
  pthread_mutex_unlock(&ctx->seq_mu);
  if (dorm__st_group_commit(&ends, ctx->c, &me)) return DORM_OK;
  size_t failed = 0;
  dorm_status st = dorm_tx_commit(ctx->c, tx, &failed);
  dorm__st_group_alone_done(&ends, &me, st == DORM_OK);
  return st;
}

/* Whether the end whose last message is `text` under `seq` is stored: an
 * end whose answer was lost (a timeout, a 5xx) may have been applied, and
 * then its retry (the same transaction) or the next attempt fails its
 * condition on a lease the end itself removed. That end is ours: it is
 * delivered, not taken for a lease lost (its client heard nothing, locally
 * until its server noticed the silence, on Lambda until it resumed). The
 * stored message is compared by value (a json field reads back canonical:
 * members sorted); its ts, to the millisecond, is this run's. */
static bool end_stored(dorm_stream_ctx *ctx, int64_t seq, const char *text) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Message_key key = {ctx->sub, ctx->client_id, seq};
  dorm_streamer_Message m;
  bool ours = false;
  if (dorm_streamer_Message_get(ctx->c, &key, &go, &a, &m) == DORM_OK) {
    cJSON *stored = cJSON_Parse(m.body), *mine = cJSON_Parse(text);
    ours = stored && mine && cJSON_Compare(stored, mine, true);
    cJSON_Delete(stored);
    cJSON_Delete(mine);
  }
  dorm_arena_free(&a);
  return ours;
}

static void finish_valid(dorm_stream_ctx *ctx, dorm_streamer_RequestStatus status, const char *result,
                         const char *code, const char *message) {
  wait_stored(ctx);
  for (int attempt = 0; attempt < 5; attempt++) {
    bool resyncing = atomic_exchange(&ctx->collided, false);
    if (attempt > 0 || resyncing || atomic_exchange(&ctx->recheck, false)) check_in_now(ctx);
    if (ctx->lost_lease) {
      dorm__st_log("warn", "lease_lost", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                   "another processor took the job over; this run's outcome is dropped");
      return;
    }
    /* a message of this run's seqs, or the end's, found its seq taken */
    if (resyncing || attempt > 0) catch_up_seqs(ctx);
    int64_t base = close_seqs(ctx);
    dorm_arena a = DORM_ARENA_INIT;
    char **texts = NULL;
    size_t n = 0;
    if (result) {
      texts = dorm__st_result_texts(ctx->client_id, result, base + 1, "complete", &n);
    } else if ((texts = calloc(1, sizeof *texts)) != NULL) {
      texts[0] = dorm__st_error_message(ctx->client_id, base + 1, code, message, false);
      n = texts[0] ? 1 : 0;
    }
    if (!n) {
      dorm__st_free_texts(texts, 1);
      dorm__st_log("error", "finish_failed", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                   "out of memory");
      reopen_seqs(ctx);
      return;
    }
    dorm_tx tx;
    dorm_tx_init(&tx, &a);
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_status(&u, status);
    dorm_streamer_Request_remove_liveKey(&u); /* out of the sweep's index */
    dorm_streamer_Request_set_leaseExpires(&u, 0);
    dorm_streamer_Request_remove_leaseOwner(&u);
    dorm_streamer_Request_set_seq(&u, base + (int64_t)n);
    pthread_mutex_lock(&ctx->seq_mu);
    dorm_streamer_Request_set_percent(&u, ctx->last_percent);
    if (ctx->last_message) dorm_streamer_Request_set_message(&u, dorm_arena_strdup(&a, ctx->last_message));
    if (ctx->last_progress) dorm_streamer_Request_set_progress(&u, dorm_arena_strdup(&a, ctx->last_progress));
    pthread_mutex_unlock(&ctx->seq_mu);
    if (result) dorm_streamer_Request_set_result(&u, result);
    if (code) dorm_streamer_Request_set_errorCode(&u, code);
    if (message) dorm_streamer_Request_set_errorMessage(&u, message);
    dorm_write_opts wo = {0};
    dorm_expr *x = &u.x;
    /* the usual end (first attempt): one transaction and nothing after it */
    bool past_asks = attempt > 0;
    wo.condition = dorm_cond_and(x, dorm_streamer_Request_cond_leaseOwner(x, DORM_EQ, ctx->s->server_id),
                                 dorm_streamer_Request_cond_connectionId(x, DORM_EQ, ctx->conn_id));
    if (!past_asks) wo.condition = dorm_cond_and(x, wo.condition, dorm_streamer_Request_cond_asks_not_exists(x));
    dorm_streamer_Request_key key = {ctx->sub, ctx->client_id};
    dorm_streamer_Request_tx_update(&tx, &key, &u, &wo);
    dorm_streamer_Message *ms = dorm_arena_calloc(&a, n, sizeof *ms);
    for (size_t i = 0; ms && i < n; i++) {
      ms[i] = (dorm_streamer_Message){.sub = ctx->sub, .clientId = ctx->client_id, .seq = base + 1 + (int64_t)i,
                                      .body = texts[i]};
      dorm_streamer_Message_tx_create(&tx, &ms[i], NULL); /* only where none is: see store.c, owned_put */
    }
    dorm_status st = ms ? commit_end(ctx, &tx, result, texts, n) : DORM_ERR_NO_MEMORY;
    char why[512] = "";
    if (st != DORM_OK && st != DORM_ERR_NO_MEMORY) {
      snprintf(why, sizeof why, "%s", dorm_client_errmsg(ctx->c));
      if (end_stored(ctx, base + (int64_t)n, texts[n - 1])) {
        dorm__st_log("info", "end_applied", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
                     "the end was stored though its answer said otherwise (%s)", why);
        st = DORM_OK;
      }
    }
    if (st == DORM_OK) {
      pthread_mutex_lock(&ctx->seq_mu);
      ctx->seq = ctx->stored_seq = base + (int64_t)n;
      pthread_mutex_unlock(&ctx->seq_mu);
      for (size_t i = 0; i < n; i++) deliver(ctx, base + 1 + (int64_t)i, texts[i]);
      if (past_asks) answer_left_asks(ctx);
    } else if (st != DORM_ERR_CONDITION_FAILED) {
      dorm__st_log("error", "finish_failed", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL, "%s",
                   why[0] ? why : dorm_client_errmsg(ctx->c));
    }
    dorm__st_free_texts(texts, n);
    dorm_arena_free(&a);
    if (st != DORM_ERR_CONDITION_FAILED) return;
    reopen_seqs(ctx); /* a check-in sees why, then the end again */
  }
  dorm__st_log("error", "finish_failed", ctx->client_id, ctx->conn_id, ctx->e ? ctx->e->name : NULL,
               "the end's condition kept failing; the lease expires and another processor ends it");
}

/* Gives the request back: PENDING again (after backoff_ms), no lease, the
 * seq high-water mark in the item (if it is still ours). Another processor
 * sees it in the stream (or its sweep) and claims it; its messages so far
 * stay, the next run's seqs follow them and its percent goes on from the
 * last one sent. A status asked meanwhile stays in the item for the next
 * run to answer. */
static bool give_back(dorm_stream_ctx *ctx, long backoff_ms) {
  wait_stored(ctx);
  int64_t seq = close_seqs(ctx);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, &a);
  dorm_streamer_Request_set_status(&u, DORM_STREAMER_REQUEST_STATUS_PENDING);
  char live[32];
  dorm_streamer_Request_set_liveKey(
      &u, dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PENDING, ctx->sub, ctx->client_id, live));
  dorm_streamer_Request_set_leaseExpires(&u, 0);
  dorm_streamer_Request_remove_leaseOwner(&u);
  dorm_streamer_Request_set_seq(&u, seq);
  pthread_mutex_lock(&ctx->seq_mu);
  dorm_streamer_Request_set_percent(&u, ctx->last_percent);
  if (ctx->last_message) dorm_streamer_Request_set_message(&u, dorm_arena_strdup(&a, ctx->last_message));
  if (ctx->last_progress) dorm_streamer_Request_set_progress(&u, dorm_arena_strdup(&a, ctx->last_progress));
  pthread_mutex_unlock(&ctx->seq_mu);
  dorm_streamer_Request_set_notBefore(&u, backoff_ms ? dorm__st_now_ms() + backoff_ms : 0);
  dorm_update_opts o = {0};
  o.w.condition = dorm_streamer_Request_cond_leaseOwner(&u.x, DORM_EQ, ctx->s->server_id);
  dorm_streamer_Request_key key = {ctx->sub, ctx->client_id};
  dorm_status st = dorm_streamer_Request_update(ctx->c, &key, &u, &o, &a, NULL);
  if (st != DORM_OK)
    dorm__st_log("warn", "release_failed", ctx->client_id, ctx->conn_id, ctx->e->name,
                 "%s (the lease expires on its own)", dorm_client_errmsg(ctx->c));
  dorm_arena_free(&a);
  return st == DORM_OK;
}

/* Shutting down: the request goes back to PENDING at once for another
 * processor. */
static void release(dorm_stream_ctx *ctx) {
  if (give_back(ctx, 0))
    dorm__st_log("info", "released", ctx->client_id, ctx->conn_id, ctx->e->name,
                 "shutting down: the request is PENDING again for another processor");
}

void dorm__st_release_running(dorm__streamer *s) {
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c; c = c->next)
    if (!c->sync) {
      atomic_store(&c->releasing, true);
      atomic_store(&c->cancel_flag, true);
    }
  pthread_mutex_unlock(&s->running_mu);
}

void dorm__st_drain(dorm__streamer *s) {
  int64_t now = dorm__st_now_ms();
  if (!s->drain_started_ms) {
    s->drain_started_ms = now;
    dorm__st_log("info", "draining", NULL, NULL, NULL, "no new jobs; running ones have %ld ms to finish",
                 s->cfg.shutdown_grace_ms);
  }
  pthread_mutex_lock(&s->jobs_mu);
  int active = s->runs_active;
  pthread_mutex_unlock(&s->jobs_mu);
  bool sync_running = false;
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c; c = c->next)
    if (c->sync) sync_running = true;
  pthread_mutex_unlock(&s->running_mu);
  int64_t waited = now - s->drain_started_ms;
  if ((active == 0 && !sync_running) || waited > s->cfg.shutdown_grace_ms + 10000) {
    dorm__srv_stop(s);
    return;
  }
  if (waited >= s->cfg.shutdown_grace_ms && !s->drain_released) {
    s->drain_released = true;
    pthread_mutex_lock(&s->running_mu);
    for (dorm_stream_ctx *c = s->running; c; c = c->next)
      if (!c->sync) {
        atomic_store(&c->releasing, true);
        atomic_store(&c->cancel_flag, true);
      }
    pthread_mutex_unlock(&s->running_mu);
  }
}

/* Taking over: the last stored message (body) is newer than the item's
 * check-in; a progress or status in it says where the percent (never
 * backwards) and the latest progress are. */
static void took_over_from(dorm_stream_ctx *ctx, const dorm_streamer_Request *r, const char *body) {
  cJSON *j = cJSON_Parse(body);
  dorm__st_exact_numbers(j, body, strlen(body)); /* a json field's digits, for the status answers */
  const cJSON *pc = cJSON_GetObjectItemCaseSensitive(j, "percent");
  if (cJSON_IsNumber(pc) && pc->valuedouble > r->percent) {
    ctx->last_percent = pc->valuedouble;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *prog = cJSON_GetObjectItemCaseSensitive(j, "progress");
    free(ctx->last_message);
    free(ctx->last_progress);
    ctx->last_message = cJSON_IsString(msg) ? strdup(msg->valuestring) : NULL;
    /* cJSON_Print rounds (0.30000000000000004 prints 0.3): the status answers repeat this */
    ctx->last_progress = prog ? dorm__st_cjson_text(prog, NULL, 0) : NULL;
  }
  cJSON_Delete(j);
}

/* The bytes of result JSON the request item has room for: DynamoDB's item
 * limit less the payload, the latest progress and message (finish() writes
 * them with the result) and a margin for the item's other attributes. */
static size_t result_room(dorm_stream_ctx *ctx, size_t payload_len) {
  size_t used = payload_len + DORM__ST_ITEM_MARGIN;
  pthread_mutex_lock(&ctx->seq_mu);
  if (ctx->last_message) used += strlen(ctx->last_message);
  if (ctx->last_progress) used += strlen(ctx->last_progress);
  pthread_mutex_unlock(&ctx->seq_mu);
  return used < DORM_ITEM_MAX_BYTES ? DORM_ITEM_MAX_BYTES - used : 0;
}

void dorm__st_run_request(dorm__streamer *s, const char *request_pk, int64_t queued_ms) {
  dorm_client *c = dorm__st_client(s);
  if (!c) return;
  const char *hash = strrchr(request_pk, '#');
  if (!hash) return;
  char sub[300];
  snprintf(sub, sizeof sub, "%.*s", (int)(hash - request_pk), request_pk);
  const char *client_id = hash + 1;

  /* The claim: PENDING (backoff over) or PROCESSING with an expired lease.
   * A cancel asked meanwhile does not keep it from being claimed: the
   * claim is what ends it (CANCELLED, below). Refusing it left a request
   * whose processor died before it read the cancel PROCESSING for ever:
   * the sweep found its lease expired every second and no claim took it. */
  dorm_arena a = DORM_ARENA_INIT;
  int64_t now = dorm__st_now_ms();
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, &a);
  dorm_streamer_Request_set_status(&u, DORM_STREAMER_REQUEST_STATUS_PROCESSING);
  char live[32];
  dorm_streamer_Request_set_liveKey(&u, dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PROCESSING, sub, client_id, live));
  dorm_streamer_Request_set_leaseOwner(&u, s->server_id);
  dorm_streamer_Request_set_leaseExpires(&u, now + s->cfg.lease_ms);
  dorm_streamer_Request_add_attempts(&u, 1);
  dorm_expr *x = &u.x;
  dorm_cond *pending = dorm_cond_and(
      x, dorm_streamer_Request_cond_status(x, DORM_EQ, DORM_STREAMER_REQUEST_STATUS_PENDING),
      dorm_cond_or(x, dorm_streamer_Request_cond_notBefore(x, DORM_LE, now),
                   dorm_streamer_Request_cond_cancelRequested(x, DORM_EQ, true)));
  dorm_cond *expired = dorm_cond_and(
      x, dorm_streamer_Request_cond_status(x, DORM_EQ, DORM_STREAMER_REQUEST_STATUS_PROCESSING),
      dorm_streamer_Request_cond_leaseExpires(x, DORM_LT, now));
  dorm_update_opts o = {.return_new = true};
  o.w.condition = dorm_cond_or(x, pending, expired);
  dorm_streamer_Request_key key = {sub, client_id};
  dorm_streamer_Request r;
  dorm_status st = dorm_streamer_Request_update(c, &key, &u, &o, &a, &r);
  if (st != DORM_OK) {
    /* Someone else has it, or it is done (a cancel before it started ends it at once: router.c). */
    if (st != DORM_ERR_CONDITION_FAILED)
      dorm__st_log("error", "claim_failed", client_id, NULL, NULL, "%s", dorm_client_errmsg(c));
    dorm_arena_free(&a);
    return;
  }
  const dorm_endpoint_desc *e = dorm__st_endpoint(s, r.endpoint);
  dorm_stream_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    dorm_arena_free(&a);
    return;
  }
  ctx->s = s;
  ctx->c = c;
  ctx->e = e;
  snprintf(ctx->request_pk, sizeof ctx->request_pk, "%s", request_pk);
  ctx->sub = r.sub;
  ctx->client_id = r.clientId;
  snprintf(ctx->conn_id, sizeof ctx->conn_id, "%s", r.connectionId);
  pthread_mutex_init(&ctx->seq_mu, NULL);
  pthread_cond_init(&ctx->stored_cv, NULL);
  ctx->seq = r.seq;
  ctx->last_percent = r.percent;
  ctx->last_message = r.message ? strdup(r.message) : NULL;
  ctx->last_progress = r.progress ? strdup(r.progress) : NULL;
  /* An earlier run (a dead processor's, or one that gave the request back)
   * may have stored messages after the seq its last check-in wrote: go on
   * after the highest stored one. A first run's seqs start at the item's
   * (1: the ack, stored after it was sent). */
  dorm_streamer_Message_page earlier = {0};
  if (r.attempts > 1) {
    dorm_query_opts q = {.limit = DORM__ST_REDELIVER, .descending = true, .consistent_read = true};
    if (dorm_streamer_Message_query(c, r.sub, r.clientId, NULL, &q, &a, &earlier) == DORM_OK) {
      if (earlier.count && earlier.items[0].seq > ctx->seq) {
        ctx->seq = earlier.items[0].seq;
        took_over_from(ctx, &r, earlier.items[0].body);
      }
    } else {
      dorm__st_log("error", "claim_failed", client_id, NULL, NULL, "reading the stored messages: %s",
                   dorm_client_errmsg(c));
      pthread_mutex_destroy(&ctx->seq_mu);
    pthread_cond_destroy(&ctx->stored_cv);
      free(ctx);
      dorm_arena_free(&a);
      return; /* the lease expires; the sweep finds it again */
    }
  }
  ctx->stored_seq = ctx->seq;
  ctx->checked_seq = ctx->seq;
  ctx->renewed_ms = now;
  ctx->deadline_ms = r.deadline;
  ctx->attempts = (int)r.attempts;
  ctx->last_check_ms = now;
  ctx->arena = &a;
  ctx->id.sub = r.sub;
  ctx->id.tenant = r.tenant;
  ctx->id.scopes = ctx->scopes_none;
  dorm__st_metrics_job(&s->metrics, queued_ms ? now - queued_ms : 0, 0);
  if (!e || e->mode != DORM_ENDPOINT_ASYNC) {
    finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, "UNKNOWN_ACTION",
           "this server has no async endpoint of that name");
    free(ctx->last_message);
    free(ctx->last_progress);
    pthread_mutex_destroy(&ctx->seq_mu);
    pthread_cond_destroy(&ctx->stored_cv);
    free(ctx);
    dorm_arena_free(&a);
    return;
  }
  pthread_mutex_lock(&s->running_mu);
  ctx->next = s->running;
  s->running = ctx;
  pthread_mutex_unlock(&s->running_mu);
  dorm__st_puts_jobs(1);
  if (r.cancelRequested)
    dorm__st_log("info", "cancelled_unrun", ctx->client_id, ctx->conn_id, e->name,
                 "attempt %d: the client cancelled it while no processor ran it (its processor died or gave it "
                 "back): ended CANCELLED, not run",
                 ctx->attempts);
  else
    dorm__st_log("info", "started", ctx->client_id, ctx->conn_id, e->name, "attempt %d", ctx->attempts);
  /* The earlier run stored each message before delivering it: one that died
   * in between left stored messages its client never got, and a client
   * still connected (nothing to resume) would see a gap before this run's
   * first seq. Those are among the ones stored after its last check-in
   * (the item's seq; a run that gave the request back or failed retryably
   * wrote its last seq there, having delivered everything): they go out
   * again first, oldest first. A local connection's queue drops seqs it has
   * sent; through API Gateway a delivered one would reach the client twice
   * (it drops it by seq), so nothing at or below the item's seq is sent. A
   * job has at most 2 messages waiting for the writer: the last
   * DORM__ST_REDELIVER stored cover every one not delivered. */
  for (size_t i = earlier.count; i > 0; i--)
    if (earlier.items[i - 1].seq > r.seq) deliver(ctx, earlier.items[i - 1].seq, earlier.items[i - 1].body);

  void *req = dorm_arena_calloc(&a, 1, e->request->size ? e->request->size : 1);
  void *res = dorm_arena_calloc(&a, 1, e->result->size ? e->result->size : 1);
  char err[512];
  dorm_progress pr = {.ctx = ctx, .percent = ctx->last_percent};
  int64_t started = dorm__st_now_ms();
  if (r.cancelRequested) {
    /* after the earlier run's undelivered messages (above): the stream stays whole */
    dorm__st_metrics_outcome(&s->metrics, e->name, "cancelled");
    finish(ctx, DORM_STREAMER_REQUEST_STATUS_CANCELLED, NULL, "CANCELLED", "cancelled by the client");
  } else if (!req || !res ||
      dorm_payload_from_json(e->request, r.payload, strlen(r.payload), "payload", &a, req, err, sizeof err) != DORM_OK) {
    finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, "INVALID_PAYLOAD", req ? err : "out of memory");
  } else {
    st = e->async_handler(ctx, req, &pr, res);
    bool cancelled = atomic_load(&ctx->cancel_flag);
    if (!ctx->lost_lease) flush_progress(&pr);
    if (ctx->lost_lease) {
      dorm__st_log("warn", "lease_lost", ctx->client_id, ctx->conn_id, e->name,
                   "another processor took the job over; this run's outcome is dropped");
    } else if (atomic_load(&ctx->releasing)) {
      release(ctx);
    } else if (ctx->timed_out) {
      /* counted before the outcome goes out: a client that has it sees it in /metrics */
      dorm__st_metrics_outcome(&s->metrics, e->name, "timeout");
      finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, "TIMEOUT", "the job ran past its endpoint's timeout");
    } else if (cancelled) {
      dorm__st_metrics_outcome(&s->metrics, e->name, "cancelled");
      finish(ctx, DORM_STREAMER_REQUEST_STATUS_CANCELLED, NULL, "CANCELLED", "cancelled by the client");
    } else if (st == DORM_OK) {
      const char *json = NULL;
      size_t len = 0;
      if (dorm_payload_to_json(e->result, res, &a, &json, &len, err, sizeof err) != DORM_OK) {
        dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
        finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, "HANDLER_FAILED", err);
      } else if (len > result_room(ctx, strlen(r.payload))) {
        /* the result is stored in the request item (400 KB at most, with
         * the payload and the latest progress): a larger one could never be
         * stored, and its job would run again at every lease expiry */
        dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
        snprintf(err, sizeof err,
                 "the result is %zu bytes of JSON; a job's result is stored with its request, where %zu bytes "
                 "are left (DynamoDB's 400 KB item limit)",
                 len, result_room(ctx, strlen(r.payload)));
        dorm__st_log("warn", "result_too_large", ctx->client_id, ctx->conn_id, e->name, "%s", err);
        finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, "PAYLOAD_TOO_LARGE", err);
      } else {
        dorm__st_metrics_outcome(&s->metrics, e->name, "completed");
        finish(ctx, DORM_STREAMER_REQUEST_STATUS_COMPLETED, json, NULL, NULL);
      }
    } else if (ctx->refused_last && st == ctx->refused_st) {
      /* the handler gave up on the refused progress update: that is the failure */
      dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
      finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, ctx->refused_code, ctx->refused_msg);
    } else {
      /* the handler's own failure (dorm_stream_fail), else its status's:
       * a progress update refused earlier and gone past is not the cause */
      const char *code = ctx->fail_code[0] ? ctx->fail_code : "HANDLER_FAILED";
      const char *msg = ctx->fail_msg[0] ? ctx->fail_msg : dorm_strerror(st);
      bool retry = ctx->fail_retryable && ctx->attempts < s->cfg.max_attempts;
      if (retry) {
        /* back to PENDING with a backoff; the poller picks it up again */
        give_back(ctx, 200L << (ctx->attempts > 6 ? 6 : ctx->attempts));
        dorm__st_log("info", "retry", ctx->client_id, ctx->conn_id, e->name, "attempt %d failed (%s): retrying",
                     ctx->attempts, msg);
      } else {
        dorm__st_metrics_outcome(&s->metrics, e->name, "failed");
        finish(ctx, DORM_STREAMER_REQUEST_STATUS_FAILED, NULL, code, msg);
      }
    }
  }
  free(pr.pending_message);
  free(pr.pending_progress);
  wait_stored(ctx); /* the writers' callbacks use the context */
  dorm__st_puts_jobs(-1);
  dorm__st_metrics_job(&s->metrics, -1, dorm__st_now_ms() - started);
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx **p = &s->running; *p; p = &(*p)->next)
    if (*p == ctx) {
      *p = ctx->next;
      break;
    }
  pthread_mutex_unlock(&s->running_mu);
  dorm__st_log("info", "finished", ctx->client_id, ctx->conn_id, e->name, "in %lld ms",
               (long long)(dorm__st_now_ms() - started));
  free(ctx->last_message);
  free(ctx->last_progress);
  pthread_mutex_destroy(&ctx->seq_mu);
  pthread_cond_destroy(&ctx->stored_cv);
  free(ctx);
  dorm_arena_free(&a);
}

/* ---- for the poller (poller.c) ---- */

/* Whether request_pk waits in this process's run queue or runs here: the
 * sweep finds a request again every second while it waits for a worker,
 * and each extra job would be one claim (a conditional write) that fails. */
bool dorm__st_queued_or_running(dorm__streamer *s, const char *request_pk) {
  bool found = false;
  pthread_mutex_lock(&s->jobs_mu);
  for (dorm__st_job *j = s->runs_head; j && !found; j = j->next) found = strcmp(j->request_pk, request_pk) == 0;
  pthread_mutex_unlock(&s->jobs_mu);
  if (found) return true;
  pthread_mutex_lock(&s->running_mu);
  for (dorm_stream_ctx *c = s->running; c && !found; c = c->next)
    found = !c->sync && strcmp(c->request_pk, request_pk) == 0;
  pthread_mutex_unlock(&s->running_mu);
  return found;
}

