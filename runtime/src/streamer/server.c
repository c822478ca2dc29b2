/* server: the local WebSocket server (libwebsockets), one thread.
 *
 * On one port it serves
 *   - WebSocket upgrades, authenticated by a JWT (Authorization: Bearer, or a
 *     `token` query parameter) before the upgrade is accepted;
 *   - API Gateway's management API for its own connections:
 *     POST/GET/DELETE /@connections/{id}, SigV4-verified;
 *   - GET /healthz and GET /metrics (Prometheus text);
 *   - with --web DIR, GET of DIR's files (web.c).
 * It never blocks on DynamoDB: frames become jobs for the worker pool, and
 * messages for a connection come back through dorm__srv_enqueue, which wakes
 * this thread (lws_cancel_service). */
#include "streamer_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/rand.h>
#if DORM_STREAMER_LIBEV
#include <ev.h>
#endif

#define MAX_OUTQ_BYTES (16u * 1024 * 1024)
#define MAX_TRACKED 256

typedef struct outmsg {
  struct outmsg *next;
  size_t len;
  unsigned char buf[]; /* LWS_PRE + len */
} outmsg;

typedef struct held {
  struct held *next;
  int64_t seq;
  size_t len;
  char text[];
} held;

/* Per request on a connection: the seqs already queued (exactly once), and
 * while it is being resumed, the live messages that wait. Seen seqs are
 * `acked` (every seq <= it) plus a short list of those above it: a resume
 * with any last_seq is O(1), and in-order delivery keeps the list empty. */
typedef struct track {
  char rid[DORM__ST_MAX_ID + 1];
  int64_t acked;  /* every seq <= acked counts as queued (or held by the client) */
  int64_t *seen;  /* queued seqs above acked, unordered */
  size_t nseen, cap;
  bool resuming;
  pthread_t resumer;
  int64_t next;       /* the seq that goes out next (0: none seen yet) */
  int64_t held_since; /* when the oldest held message started waiting (ms) */
  held *held;         /* waiting: newer than `next`, or live while resuming; seq order */
  int64_t active_ms;  /* its last message queued, or its last silence check (ms) */
  bool ended;         /* its terminal message (complete, or an error with a seq) was queued */
} track;

typedef struct dorm__st_conn {
  struct dorm__st_conn *next, **pprev;         /* in s->conns */
  struct dorm__st_conn *hnext;                 /* in s->conn_index */
  struct dorm__st_conn *dirty_next, **dirty_pprev; /* in s->dirty while `dirty` */
  bool dirty;
  struct dorm__st_conn *direct_next; /* the lws thread's own list of connections it writes to at a wake-up */
  struct dorm__st_conn *hold_next, **hold_pprev;   /* in s->holding while nholding > 0 */
  size_t nholding; /* its tracks holding messages */
  char id[40];
  struct lws *wsi;
  outmsg *out_head, *out_tail;
  size_t out_bytes;
  bool closing;
  track *tracks;
  size_t ntracks, cap_tracks;
  int64_t connected_ms;
  long inflight; /* its messages queued or in work (conns_mu) */
  int64_t exp_s; /* its token's exp (seconds) */
  bool expired;  /* past exp + leeway: told UNAUTHORIZED, closed once that is written */
  char *sub;     /* its verified user (malloc'd): the key of its requests */
  double answer_tokens; /* stored answers it may still ask for now (conns_mu) */
  int64_t answer_ms;    /* when answer_tokens was last refilled */
  bool answer_logged;   /* answers_limited logged once for it */
} dorm__st_conn;

/* Per-session data of lws: a WebSocket or an HTTP request. */
typedef struct session {
  dorm__st_conn *conn;       /* WebSocket */
  dorm_arena arena;          /* identity strings */
  dorm_identity identity;
  bool authed;
  char *rx;                  /* the frame being received */
  size_t rxlen;
  bool rx_too_big;
  /* HTTP (management API) */
  char method[8];
  char path[256];
  char *body;
  size_t body_len;
  bool body_too_big;
} session;

/* ---- the connection table (shared with other threads under conns_mu) ---- */

/* Connection ids are random hex: FNV-1a of a few characters spreads them. */
static size_t bucket(const char *id) {
  uint32_t h = 2166136261u;
  for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  return h % DORM__ST_CONN_BUCKETS;
}

static dorm__st_conn *find_conn(dorm__streamer *s, const char *id) {
  for (dorm__st_conn *c = s->conn_index[bucket(id)]; c; c = c->hnext)
    if (strcmp(c->id, id) == 0) return c;
  return NULL;
}

static void index_conn(dorm__streamer *s, dorm__st_conn *c) {
  size_t b = bucket(c->id);
  c->hnext = s->conn_index[b];
  s->conn_index[b] = c;
}

/* Adds c to the list and the index (conns_mu held). Its token's expiry
 * may be the earliest: the stale flush looks then. */
static void link_conn(dorm__streamer *s, dorm__st_conn *c) {
  c->next = s->conns;
  if (c->next) c->next->pprev = &c->next;
  c->pprev = &s->conns;
  s->conns = c;
  index_conn(s, c);
  int64_t due = c->exp_s + dorm__st_leeway_s(s);
  if (due < s->next_expiry_s) s->next_expiry_s = due;
}

/* Takes c out of the list, the index, the dirty list and the holding list
 * (conns_mu held). O(1) but for the index's bucket (a few entries): a round
 * of N disconnects walked N^2/2 list entries before. */
static void unlink_conn(dorm__streamer *s, dorm__st_conn *c) {
  *c->pprev = c->next;
  if (c->next) c->next->pprev = c->pprev;
  for (dorm__st_conn **p = &s->conn_index[bucket(c->id)]; *p; p = &(*p)->hnext)
    if (*p == c) {
      *p = c->hnext;
      break;
    }
  if (c->dirty) {
    *c->dirty_pprev = c->dirty_next;
    if (c->dirty_next) c->dirty_next->dirty_pprev = c->dirty_pprev;
  }
  c->dirty = false;
  if (c->nholding) {
    *c->hold_pprev = c->hold_next;
    if (c->hold_next) c->hold_next->hold_pprev = c->hold_pprev;
  }
  c->nholding = 0;
}

/* ---- connections per user (--max-user-connections,
 * --max-user-connects-per-minute; the lws thread only) ----
 * Without a bound one user (one leaked token, a client reconnecting in a
 * loop without closing) could hold every one of --max-connections and lock
 * every other user out (bench/streamer/abuse.sh many_conns: 2,000 of one
 * user, all accepted); and one reconnecting in a loop (abuse.sh churn: 700
 * a second, each a connection item written and deleted) cut the jobs of a
 * well-behaved client to a quarter. An entry stays while its user has
 * connections or its connect allowance is refilling. */

typedef struct dorm__st_user_conns {
  struct dorm__st_user_conns *next;
  long n;             /* its connections open here */
  double connects;    /* connects it may still make now (the bucket) */
  int64_t refill_ms;  /* when `connects` was last refilled */
  char sub[];
} user_conns;

static user_conns **user_slot(dorm__streamer *s, const char *sub) {
  if (!s->user_conns) return NULL;
  for (user_conns **p = &s->user_conns[bucket(sub)]; *p; p = &(*p)->next)
    if (strcmp((*p)->sub, sub) == 0) return p;
  return NULL;
}

/* The bucket refilled to now: per minute, up to a minute's worth. */
static void user_refill(dorm__streamer *s, user_conns *u, int64_t now) {
  double most = (double)s->cfg.max_user_connects;
  u->connects += (double)(now - u->refill_ms) * most / 60000.0;
  if (u->connects > most) u->connects = most;
  u->refill_ms = now;
}

static bool user_idle(dorm__streamer *s, user_conns *u) {
  return u->n <= 0 && (s->cfg.max_user_connects <= 0 || u->connects >= (double)s->cfg.max_user_connects);
}

/* Every entry whose user has no connection and a full allowance goes (every
 * 1,024 connects: the table holds the users of the last minute or so). */
static void user_sweep(dorm__streamer *s, int64_t now) {
  for (size_t b = 0; b < DORM__ST_CONN_BUCKETS; b++)
    for (user_conns **p = &s->user_conns[b]; *p;) {
      user_refill(s, *p, now);
      if (user_idle(s, *p)) {
        user_conns *gone = *p;
        *p = gone->next;
        free(gone);
      } else {
        p = &(*p)->next;
      }
    }
}

/* Why sub may not connect now (NULL: it may), and the HTTP status. */
static const char *user_refusal(dorm__streamer *s, const char *sub, long *have) {
  user_conns **p = user_slot(s, sub);
  *have = p ? (*p)->n : 0;
  if (!p) return NULL;
  if (s->cfg.max_user_connections > 0 && (*p)->n >= s->cfg.max_user_connections) return "connections";
  if (s->cfg.max_user_connects > 0) {
    user_refill(s, *p, dorm__st_now_ms());
    if ((*p)->connects < 1) return "connects a minute";
  }
  return NULL;
}

/* +1 when sub's connection is established (one connect of its allowance),
 * -1 when it closed. Out of memory, the connection goes uncounted (never
 * refused for it). */
static void user_conn_add(dorm__streamer *s, const char *sub, int delta) {
  static unsigned connects;
  int64_t now = dorm__st_now_ms();
  user_conns **p = user_slot(s, sub);
  if (!p && delta > 0) {
    if (!s->user_conns && !(s->user_conns = calloc(DORM__ST_CONN_BUCKETS, sizeof *s->user_conns))) return;
    size_t len = strlen(sub);
    user_conns *u = calloc(1, sizeof *u + len + 1);
    if (!u) return;
    memcpy(u->sub, sub, len + 1);
    u->connects = (double)s->cfg.max_user_connects;
    u->refill_ms = now;
    size_t b = bucket(sub);
    u->next = s->user_conns[b];
    s->user_conns[b] = u;
    p = &s->user_conns[b];
  }
  if (!p) return;
  user_conns *u = *p;
  u->n += delta;
  if (delta > 0) {
    user_refill(s, u, now);
    if (u->connects >= 1) u->connects -= 1;
    if (++connects % 1024 == 0) user_sweep(s, now);
  } else if (user_idle(s, u)) {
    *p = u->next;
    free(u);
  }
}

static void user_conns_free(dorm__streamer *s) {
  if (!s->user_conns) return;
  for (size_t b = 0; b < DORM__ST_CONN_BUCKETS; b++)
    for (user_conns *u = s->user_conns[b], *n; u; u = n) {
      n = u->next;
      free(u);
    }
  free(s->user_conns);
  s->user_conns = NULL;
}

/* The lws thread will ask c for writes at its next wake-up (conns_mu held). */
static void mark_dirty(dorm__streamer *s, dorm__st_conn *c) {
  if (c->dirty) return;
  c->dirty = true;
  c->dirty_next = s->dirty;
  if (c->dirty_next) c->dirty_next->dirty_pprev = &c->dirty_next;
  c->dirty_pprev = &s->dirty;
  s->dirty = c;
}

/* One more (+1) or one fewer (-1) of c's tracks holds messages: c is in
 * s->holding while any does (conns_mu held). */
static void holding_changed(dorm__streamer *s, dorm__st_conn *c, int delta) {
  if (delta > 0 && c->nholding++ == 0) {
    c->hold_next = s->holding;
    if (c->hold_next) c->hold_next->hold_pprev = &c->hold_next;
    c->hold_pprev = &s->holding;
    s->holding = c;
  } else if (delta < 0 && c->nholding > 0 && --c->nholding == 0) {
    *c->hold_pprev = c->hold_next;
    if (c->hold_next) c->hold_next->hold_pprev = c->hold_pprev;
  }
}

/* Between dorm__srv_defer_wakes and dorm__srv_flush_wakes on this thread:
 * the server whose lws thread is to be woken at the end (one wake for a
 * batch's messages instead of one each time the lws thread was quicker). */
static _Thread_local int defer_depth;
static _Thread_local dorm__streamer *deferred_wake;

/* Wakes the lws thread once per batch: every wake-up costs it a poll() over
 * all its sockets, so messages queued before it looked share one. */
static void wake(dorm__streamer *s) {
  if (defer_depth > 0 && (!deferred_wake || deferred_wake == s)) {
    deferred_wake = s;
    return;
  }
  if (s->lws && !atomic_exchange(&s->wake_pending, true)) lws_cancel_service((struct lws_context *)s->lws);
}

void dorm__srv_defer_wakes(void) { defer_depth++; }

void dorm__srv_flush_wakes(void) {
  if (defer_depth > 0 && --defer_depth == 0 && deferred_wake) {
    dorm__streamer *s = deferred_wake;
    deferred_wake = NULL;
    wake(s);
  }
}

/* c's track of request rid; with `add`, a new one if none (conns_mu held). */
static track *find_track(dorm__streamer *s, dorm__st_conn *c, const char *rid, bool add) {
  for (size_t i = 0; i < c->ntracks; i++)
    if (strcmp(c->tracks[i].rid, rid) == 0) return &c->tracks[i];
  if (!add) return NULL;
  if (c->ntracks == MAX_TRACKED) {
    /* forget the oldest request (its messages can still be resumed) */
    free(c->tracks[0].seen);
    if (c->tracks[0].held) holding_changed(s, c, -1);
    for (held *h = c->tracks[0].held, *n; h; h = n) {
      n = h->next;
      free(h);
    }
    memmove(&c->tracks[0], &c->tracks[1], (MAX_TRACKED - 1) * sizeof *c->tracks);
    c->ntracks--;
  }
  if (c->ntracks == c->cap_tracks) {
    /* grown as requests come (a connection has a few): 256 zeroed tracks
     * up front were ~50 KB per connection, ~1 % of the server's CPU */
    size_t cap = c->cap_tracks ? c->cap_tracks * 2 : 4;
    if (cap > MAX_TRACKED) cap = MAX_TRACKED;
    track *v = realloc(c->tracks, cap * sizeof *v);
    if (!v) return NULL;
    c->tracks = v;
    c->cap_tracks = cap;
  }
  track *t = &c->tracks[c->ntracks++];
  memset(t, 0, sizeof *t);
  snprintf(t->rid, sizeof t->rid, "%s", rid);
  t->active_ms = dorm__st_now_ms();
  return t;
}

/* A request's last message: `complete`, a sync call's `response`, or an
 * `error` with a seq (the errors without one refuse a message, they end
 * nothing). Messages start with their type (dorm__st_message). */
static bool terminal_text(int64_t seq, const char *text, size_t len) {
  static const char *const types[] = {"{\"type\":\"complete\"", "{\"type\":\"response\"", "{\"type\":\"error\""};
  if (seq <= 0) return false;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t n = strlen(types[i]);
    if (len >= n && memcmp(text, types[i], n) == 0) return true;
  }
  return false;
}

static bool seen(track *t, int64_t seq) {
  if (seq <= t->acked) return true;
  for (size_t i = 0; i < t->nseen; i++)
    if (t->seen[i] == seq) return true;
  return false;
}

/* Moves acked up over the listed seqs that now follow it and drops the
 * listed ones it covers (the list stays the gaps' companions only). */
static void advance_acked(track *t) {
  for (bool moved = true; moved;) {
    moved = false;
    for (size_t i = 0; i < t->nseen;) {
      if (t->seen[i] <= t->acked + 1) {
        if (t->seen[i] == t->acked + 1) {
          t->acked++;
          moved = true;
        }
        t->seen[i] = t->seen[--t->nseen];
      } else {
        i++;
      }
    }
  }
}

/* Records seq as queued; on allocation failure the seq stays unrecorded
 * (a duplicate copy may then go out: clients dedupe by seq). */
static void mark(track *t, int64_t seq) {
  if (seq <= t->acked) return;
  if (seq == t->acked + 1) {
    t->acked = seq;
    if (t->nseen) advance_acked(t);
    return;
  }
  if (t->nseen == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    int64_t *p = realloc(t->seen, cap * sizeof *p);
    if (!p) return;
    t->seen = p;
    t->cap = cap;
  }
  t->seen[t->nseen++] = seq;
}

/* What the client says it has (a resume's last_seq) counts as queued. */
static void mark_upto(track *t, int64_t last_seq) {
  if (last_seq <= t->acked) return;
  t->acked = last_seq;
  advance_acked(t);
}

/* Appends to the connection's queue (conns_mu held). */
static bool push_out(dorm__streamer *s, dorm__st_conn *c, const char *text, size_t len) {
  if (c->closing) return false; /* its queue is dropped; the lws thread kills it */
  if (c->expired) return false; /* its last message (UNAUTHORIZED) is queued */
  if (c->out_bytes + len > MAX_OUTQ_BYTES) {
    /* A client that does not read: close it; it resumes and loses nothing. */
    dorm__st_log("warn", "slow_client", NULL, c->id, NULL, "more than 16 MiB queued: closing the connection");
    dorm__st_metrics_add(&s->metrics, &s->metrics.slow_clients, 1);
    c->closing = true;
    mark_dirty(s, c);
    return false;
  }
  outmsg *m = malloc(sizeof *m + LWS_PRE + len);
  if (!m) return false;
  m->next = NULL;
  m->len = len;
  memcpy(m->buf + LWS_PRE, text, len);
  if (c->out_tail) c->out_tail->next = m;
  else c->out_head = m;
  c->out_tail = m;
  c->out_bytes += len;
  mark_dirty(s, c);
  return true;
}

static void hold(dorm__streamer *s, dorm__st_conn *c, track *t, int64_t seq, const char *text, size_t len) {
  held *h = malloc(sizeof *h + len + 1);
  if (!h) return;
  if (!t->held) holding_changed(s, c, +1);
  h->seq = seq;
  h->len = len;
  memcpy(h->text, text, len);
  h->text[len] = '\0';
  held **p = &t->held; /* kept in seq order */
  while (*p && (*p)->seq < seq) p = &(*p)->next;
  h->next = *p;
  *p = h;
  if (!t->held_since) t->held_since = dorm__st_now_ms();
}

/* Sends what waits and is now in order (all of it when `all`), conns_mu held. */
static void release(dorm__streamer *s, dorm__st_conn *c, track *t, bool all) {
  if (!t->held) return;
  while (t->held && (all || t->held->seq <= t->next)) {
    held *h = t->held;
    t->held = h->next;
    if (!seen(t, h->seq)) {
      mark(t, h->seq);
      push_out(s, c, h->text, h->len);
    }
    if (h->seq >= t->next) t->next = h->seq + 1;
    free(h);
  }
  t->held_since = t->held ? dorm__st_now_ms() : 0;
  if (!t->held) holding_changed(s, c, -1);
}

/* Messages of one request go out in seq order: seqs are allocated in
 * DynamoDB, but the messages come from different threads and processes, so
 * a newer one may arrive first; it waits for the older (at most about a
 * second: a seq that never comes, e.g. sent to the client's other
 * connection, does not block the rest). conns_mu held. */
static void in_order(dorm__streamer *s, dorm__st_conn *c, track *t, int64_t seq, const char *text, size_t len) {
  if (!t->next) t->next = seq;
  if (seq > t->next) {
    hold(s, c, t, seq, text, len);
    return;
  }
  mark(t, seq);
  push_out(s, c, text, len);
  if (seq == t->next) t->next = seq + 1;
  release(s, c, t, false);
}

void dorm__srv_expect(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t first_seq) {
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  track *t = c ? find_track(s, c, request_id, true) : NULL;
  if (t && !t->next) {
    t->next = first_seq;
    /* nothing before first_seq comes here: seqs from it on stay in acked */
    if (t->acked < first_seq - 1 && !t->nseen) t->acked = first_seq - 1;
  }
  pthread_mutex_unlock(&s->conns_mu);
}

/* A connection whose token expired (exp + leeway, as at the upgrade) is
 * told UNAUTHORIZED and closed: the identity was verified once, so it must
 * not outlive its token. The client reconnects with a fresh one and resumes.
 * conns_mu held. */
static bool expire(dorm__streamer *s, dorm__st_conn *c, int64_t now_s) {
  if (c->closing || c->expired || now_s < c->exp_s + dorm__st_leeway_s(s)) return false;
  dorm__st_log("info", "token_expired", NULL, c->id, NULL, "the token expired: closing the connection");
  char *text = dorm__st_error_message(NULL, 0, "UNAUTHORIZED", "token expired: reconnect with a new token", true);
  if (text) {
    push_out(s, c, text, strlen(text));
    free(text);
  }
  c->expired = true;
  mark_dirty(s, c);
  return true;
}

/* Called by the poller ~10 times a second. Walks every connection only when
 * a token may have expired (s->next_expiry_s, recomputed on the walk), and
 * for held messages only the connections holding some: walking all under
 * conns_mu on every call was ~1.3 % of the server's CPU at 1,000
 * connections, and kept the lws thread and the workers waiting. */
void dorm__srv_flush_stale(dorm__streamer *s) {
  int64_t now = dorm__st_now_ms();
  bool any = false;
  pthread_mutex_lock(&s->conns_mu);
  if (now / 1000 >= s->next_expiry_s) {
    int64_t next = INT64_MAX, leeway = dorm__st_leeway_s(s);
    for (dorm__st_conn *c = s->conns; c; c = c->next) {
      if (expire(s, c, now / 1000)) any = true;
      else if (!c->closing && !c->expired && c->exp_s + leeway < next) next = c->exp_s + leeway;
    }
    s->next_expiry_s = next;
  }
  for (dorm__st_conn *c = s->holding, *n; c; c = n) {
    n = c->hold_next; /* release may take c off the list */
    for (size_t i = 0; i < c->ntracks; i++) {
      track *t = &c->tracks[i];
      if (t->held && !t->resuming && now - t->held_since > 1000) {
        release(s, c, t, true);
        any = true;
      }
    }
  }
  pthread_mutex_unlock(&s->conns_mu);
  if (any) wake(s);
}

dorm__srv_offer_result dorm__srv_offer(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t seq,
                                       const char *text, size_t len) {
  if (s->lambda) return dorm__st_lambda_offer(s, conn_id, text, len); /* API Gateway holds the connections */
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  if (!c || c->closing || c->expired) {
    pthread_mutex_unlock(&s->conns_mu);
    return c ? DORM__SRV_GONE : DORM__SRV_NOT_HERE;
  }
  bool ok = true;
  track *t = seq > 0 && request_id ? find_track(s, c, request_id, true) : NULL;
  if (t) {
    t->active_ms = dorm__st_now_ms();
    if (terminal_text(seq, text, len)) t->ended = true;
  }
  if (t && seen(t, seq)) {
    /* already queued (a replay and a live copy of the same message) */
  } else if (t && t->resuming && !pthread_equal(t->resumer, pthread_self())) {
    hold(s, c, t, seq, text, len);
  } else if (t) {
    in_order(s, c, t, seq, text, len);
  } else {
    ok = push_out(s, c, text, len);
  }
  pthread_mutex_unlock(&s->conns_mu);
  wake(s);
  return ok ? DORM__SRV_QUEUED : DORM__SRV_GONE;
}

/* Every status, get_result and cancel is answered with a new stored
 * message (a DynamoDB write, an item for a week): one connection asking
 * without pause stored ~250 a second and slowed every other user's jobs
 * (bench/streamer/abuse.sh status_spam: a well-behaved client ran 4 jobs in
 * its 19 s instead of 28). A token bucket per connection bounds it. */
bool dorm__srv_answer_allowed(dorm__streamer *s, const char *conn_id) {
  if (s->lambda) return true; /* no connections here: API Gateway's throttling */
  int64_t now = dorm__st_now_ms();
  bool ok = true, log = false;
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  if (c) {
    double t = c->answer_tokens + (double)(now - c->answer_ms) * DORM__ST_ANSWER_RATE / 1000.0;
    c->answer_tokens = t > DORM__ST_ANSWER_BURST ? DORM__ST_ANSWER_BURST : t;
    c->answer_ms = now;
    if (c->answer_tokens >= 1) c->answer_tokens -= 1;
    else ok = false;
    if (!ok && !c->answer_logged) log = c->answer_logged = true;
  }
  pthread_mutex_unlock(&s->conns_mu);
  if (!ok) dorm__st_metrics_add(&s->metrics, &s->metrics.answers_limited, 1);
  if (log)
    dorm__st_log("warn", "answers_limited", NULL, conn_id, NULL,
                 "more than %d status, get_result and cancel at once, %d a second after: answered RATE_LIMITED "
                 "(logged once per connection)",
                 DORM__ST_ANSWER_BURST, DORM__ST_ANSWER_RATE);
  return ok;
}

bool dorm__srv_holds(dorm__streamer *s, const char *conn_id) {
  pthread_mutex_lock(&s->conns_mu);
  bool here = find_conn(s, conn_id) != NULL;
  pthread_mutex_unlock(&s->conns_mu);
  return here;
}

size_t dorm__srv_silent(dorm__streamer *s, int64_t quiet_ms, dorm__srv_silent_req *out, size_t max) {
  int64_t now = dorm__st_now_ms();
  size_t n = 0;
  pthread_mutex_lock(&s->conns_mu);
  for (dorm__st_conn *c = s->conns; c && n < max; c = c->next) {
    if (c->closing || c->expired) continue;
    for (size_t i = 0; i < c->ntracks && n < max; i++) {
      track *t = &c->tracks[i];
      if (t->ended || t->resuming || t->acked <= 0 || now - t->active_ms < quiet_ms) continue;
      t->active_ms = now; /* checked again after another quiet_ms */
      snprintf(out[n].conn_id, sizeof out[n].conn_id, "%s", c->id);
      snprintf(out[n].sub, sizeof out[n].sub, "%s", c->sub);
      snprintf(out[n].rid, sizeof out[n].rid, "%s", t->rid);
      out[n].acked = t->acked;
      n++;
    }
  }
  pthread_mutex_unlock(&s->conns_mu);
  return n;
}

void dorm__srv_track_ended(dorm__streamer *s, const char *conn_id, const char *request_id) {
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  track *t = c ? find_track(s, c, request_id, false) : NULL;
  if (t) t->ended = true;
  pthread_mutex_unlock(&s->conns_mu);
}

bool dorm__srv_enqueue(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t seq,
                       const char *text, size_t len) {
  return dorm__srv_offer(s, conn_id, request_id, seq, text, len) == DORM__SRV_QUEUED;
}

void dorm__srv_enqueue_to(void *user, int64_t seq, const char *text) {
  dorm__srv_to *to = user;
  dorm__srv_enqueue(to->s, to->conn, to->rid, seq, text, strlen(text));
}

void dorm__srv_resume_begin(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t last_seq) {
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  track *t = c ? find_track(s, c, request_id, true) : NULL;
  if (t) {
    t->resuming = true;
    t->resumer = pthread_self();
    /* What the client says it has counts as sent (O(1): one number), and
     * nothing more: a resume from below what this connection was sent asks
     * for those messages again (the client lost them on its side: a page's
     * state reloaded on a live socket, a frame its code dropped), and they
     * are sent again; the client drops by seq what it does have. */
    if (last_seq < t->acked) {
      t->acked = last_seq;
      t->nseen = 0;
    } else {
      mark_upto(t, last_seq);
    }
    t->next = last_seq + 1;
  }
  pthread_mutex_unlock(&s->conns_mu);
}

void dorm__srv_resume_end(dorm__streamer *s, const char *conn_id, const char *request_id) {
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, conn_id);
  track *t = c ? find_track(s, c, request_id, false) : NULL;
  if (t) {
    /* the replay went out in order; what waited follows, in order */
    t->resuming = false;
    release(s, c, t, false);
  }
  pthread_mutex_unlock(&s->conns_mu);
  wake(s);
}

static void free_conn(dorm__st_conn *c) {
  for (outmsg *m = c->out_head, *n; m; m = n) {
    n = m->next;
    free(m);
  }
  for (size_t i = 0; i < c->ntracks; i++) {
    free(c->tracks[i].seen);
    for (held *h = c->tracks[i].held, *n; h; h = n) {
      n = h->next;
      free(h);
    }
  }
  free(c->tracks);
  free(c->sub);
  free(c);
}

/* ---- HTTP answers ---- */

static int respond(struct lws *wsi, unsigned status, const char *type, const char *body, size_t len) {
  size_t cap = LWS_PRE + 1024 + len;
  unsigned char *buf = malloc(cap);
  if (!buf) return -1;
  unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + cap;
  if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end)) {
    free(buf);
    return -1;
  }
  int rc = 0;
  if (len) {
    memcpy(buf + LWS_PRE, body, len);
    if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) != (int)len) rc = -1;
  }
  free(buf);
  if (rc == 0 && lws_http_transaction_completed(wsi)) rc = -1;
  return rc;
}

static int respond_text(struct lws *wsi, unsigned status, const char *text) {
  return respond(wsi, status, "application/json", text, strlen(text));
}

static void header(struct lws *wsi, enum lws_token_indexes h, char *out, int cap) {
  out[0] = '\0';
  if (lws_hdr_total_length(wsi, h) > 0 && lws_hdr_copy(wsi, out, cap, h) < 0) out[0] = '\0';
}

static void custom_header(struct lws *wsi, const char *name, char *out, int cap) {
  out[0] = '\0';
  int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));
  if (n <= 0 || n >= cap || lws_hdr_custom_copy(wsi, out, cap, name, (int)strlen(name)) < 0) out[0] = '\0';
}

/* POST/GET/DELETE /@connections/{id}, after the body arrived. The body
 * belongs to the caller; ps is cleared of it here (the answer may end ps). */
static int management(dorm__streamer *s, struct lws *wsi, session *ps) {
  char idbuf[sizeof ps->path];
  snprintf(idbuf, sizeof idbuf, "%s", ps->path + strlen("/@connections/"));
  const char *id = idbuf;
  char method[sizeof ps->method], path[sizeof ps->path];
  snprintf(method, sizeof method, "%s", ps->method);
  snprintf(path, sizeof path, "%s", ps->path);
  const char *body = ps->body ? ps->body : "";
  size_t body_len = ps->body_len;
  bool too_big = ps->body_too_big;
  ps->body = NULL;
  ps->body_len = 0;
  ps->body_too_big = false;
  char host[256], date[64], auth[1024], token[2048];
  header(wsi, WSI_TOKEN_HOST, host, sizeof host);
  header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth);
  custom_header(wsi, "x-amz-date:", date, sizeof date);
  custom_header(wsi, "x-amz-security-token:", token, sizeof token);
  char why[256];
  /* A body past the limit was cut: its signature cannot verify, and the
   * answer API Gateway gives it is 413, whoever signed it. */
  if (too_big && strcmp(method, "POST") == 0) return respond_text(wsi, 413, "{\"message\":\"Payload too large\"}");
  if (!dorm__st_verify_sigv4(s, method, path, host, date, auth, token[0] ? token : NULL,
                             body, body_len, why, sizeof why)) {
    dorm__st_log("warn", "management_denied", NULL, id, NULL, "%s", why);
    return respond_text(wsi, 403, "{\"message\":\"Forbidden\"}");
  }
  if (strcmp(method, "POST") == 0) {
    const char *rid = NULL;
    int64_t seq = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(body, body_len, NULL, 0);
    if (j) {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "request_id");
      const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "seq");
      if (cJSON_IsString(r)) rid = r->valuestring;
      if (cJSON_IsNumber(q)) seq = (int64_t)q->valuedouble;
    }
    bool ok = dorm__srv_enqueue(s, id, rid, seq, body, body_len);
    cJSON_Delete(j);
    return ok ? respond_text(wsi, 200, "{}") : respond_text(wsi, 410, "{\"message\":\"Gone\"}");
  }
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, id);
  int64_t since = c ? c->connected_ms : 0;
  if (c && strcmp(method, "DELETE") == 0) {
    c->closing = true;
    mark_dirty(s, c);
  }
  pthread_mutex_unlock(&s->conns_mu);
  if (!c) return respond_text(wsi, 410, "{\"message\":\"Gone\"}");
  if (strcmp(method, "DELETE") == 0) {
    wake(s);
    return respond_text(wsi, 204, "");
  }
  char info[256], ts[32];
  dorm_time_format(since * 1000000, ts);
  snprintf(info, sizeof info, "{\"connectedAt\":\"%s\",\"identity\":{\"sourceIp\":\"127.0.0.1\"}}", ts);
  return respond_text(wsi, 200, info);
}

/* ---- the lws callback ---- */

static dorm__streamer *owner(struct lws *wsi) {
  return (dorm__streamer *)lws_context_user(lws_get_context(wsi));
}

static bool authenticate(dorm__streamer *s, struct lws *wsi, session *ps) {
  char auth[9000], arg[9000];
  const char *token = NULL;
  header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth);
  if (strncmp(auth, "Bearer ", 7) == 0) token = auth + 7;
  else {
    const char *v = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
    if (v) token = v;
  }
  if (!token || !token[0]) {
    dorm__st_log("warn", "auth_failed", NULL, NULL, NULL, "no token (Authorization: Bearer or ?token=)");
    dorm__st_metrics_add(&s->metrics, &s->metrics.auth_failures, 1);
    return false;
  }
  char why[256];
  ps->arena = (dorm_arena)DORM_ARENA_INIT;
  if (!s->jwt || dorm_jwt_verify(s->jwt, token, strlen(token), dorm__st_now_ms() / 1000, &ps->arena, &ps->identity,
                                 why, sizeof why) != DORM_OK) {
    dorm__st_log("warn", "auth_failed", NULL, NULL, NULL, "%s", s->jwt ? why : "no JWT keys configured");
    dorm__st_metrics_add(&s->metrics, &s->metrics.auth_failures, 1);
    dorm_arena_free(&ps->arena);
    return false;
  }
  ps->authed = true;
  return true;
}

/* The job's own copy of the identity, in its arena. The arena's one block is
 * sized to the strings: the default 4 KiB block per message was ~0.7 % of
 * the server's CPU in malloc (a small block comes from malloc's cache). */
static void copy_identity(dorm__st_job *job, const dorm_identity *id) {
  size_t need = 64 + strlen(id->sub) + (id->tenant ? strlen(id->tenant) : 0) + (id->nscopes + 1) * sizeof(char *);
  for (size_t i = 0; i < id->nscopes; i++) need += strlen(id->scopes[i]) + 1;
  dorm_arena_init(&job->arena, need);
  job->id.sub = dorm_arena_strdup(&job->arena, id->sub);
  job->id.tenant = dorm_arena_strdup(&job->arena, id->tenant ? id->tenant : "");
  const char **sc = dorm_arena_calloc(&job->arena, id->nscopes ? id->nscopes : 1, sizeof *sc);
  for (size_t i = 0; sc && i < id->nscopes; i++) sc[i] = dorm_arena_strdup(&job->arena, id->scopes[i]);
  job->id.scopes = sc;
  job->id.nscopes = sc ? id->nscopes : 0;
  job->id.exp = id->exp;
}

void dorm__srv_message_done(dorm__streamer *s, const dorm__st_job *job) {
  pthread_mutex_lock(&s->conns_mu);
  dorm__st_conn *c = find_conn(s, job->conn_id);
  if (c && c->inflight > 0) c->inflight--;
  pthread_mutex_unlock(&s->conns_mu);
}

/* Counts a message of c as in flight; false past the cap, and the client is
 * answered here (the jobs queue stays bounded by connections x
 * max_inflight): a malformed message with its protocol error (as the router
 * would), a ping with its pong, anything else RATE_LIMITED (retryable, with
 * the message's id). Parsing costs this thread only past the cap. */
static bool admit(dorm__streamer *s, dorm__st_conn *c, const char *text, size_t len) {
  pthread_mutex_lock(&s->conns_mu);
  bool ok = c->inflight < s->cfg.max_inflight;
  if (ok) c->inflight++;
  pthread_mutex_unlock(&s->conns_mu);
  if (ok) return true;
  cJSON *root = NULL;
  dorm__st_msg m;
  memset(&m, 0, sizeof m);
  const char *code = NULL;
  char why[256];
  char *msg;
  dorm__st_metrics_add(&s->metrics, &s->metrics.messages_in, 1);
  if (!dorm__st_parse(text, len, &root, &m, &code, why, sizeof why)) {
    dorm__st_metrics_add(&s->metrics, &s->metrics.invalid_messages, 1);
    msg = dorm__st_error_message(m.id && m.id[0] ? m.id : NULL, 0, code, why, false);
  } else if (m.kind == DORM__ST_PING) {
    msg = dorm__st_message("pong", m.id && m.id[0] ? m.id : NULL, 0, NULL);
  } else {
    msg = dorm__st_error_message(m.id && m.id[0] ? m.id : NULL, 0, "RATE_LIMITED",
                                 "too many messages in flight on this connection: retry later", true);
    dorm__st_metrics_add(&s->metrics, &s->metrics.inflight_limited, 1);
  }
  cJSON_Delete(root);
  if (msg) {
    dorm__srv_enqueue(s, c->id, NULL, 0, msg, strlen(msg));
    free(msg);
  }
  return false;
}

static void new_job(dorm__streamer *s, int kind, dorm__st_conn *c, const dorm_identity *id, char *text, size_t len) {
  if (kind == DORM__JOB_MESSAGE && !admit(s, c, text, len)) {
    free(text);
    return;
  }
  dorm__st_job *job = calloc(1, sizeof *job);
  if (!job) {
    if (kind == DORM__JOB_MESSAGE) {
      dorm__st_job gone = {.counted = true};
      snprintf(gone.conn_id, sizeof gone.conn_id, "%s", c->id);
      dorm__srv_message_done(s, &gone);
    }
    free(text);
    return;
  }
  job->counted = kind == DORM__JOB_MESSAGE;
  job->kind = kind;
  snprintf(job->conn_id, sizeof job->conn_id, "%s", c->id);
  job->text = text;
  job->len = len;
  copy_identity(job, id);
  job->queued_ms = dorm__st_now_ms();
  dorm__st_push_job(s, job);
}

/* What write_queued left: the queue written (WQ_DONE), messages still
 * queued for a WRITEABLE callback (WQ_MORE), or the connection to close. */
enum { WQ_DONE, WQ_MORE, WQ_CLOSE };

/* Writes c's queued messages to wsi on the lws thread (conns_mu not held;
 * taken per message so workers queue meanwhile) until the queue is empty,
 * 32 went out, or lws holds part of one (lws_partial_buffered: the socket
 * took less; lws sends the rest when it can and no other write may start
 * before). No poll() per message: the write itself finds a full socket. A closing or expired connection closes once its queue is out. */
static int write_queued(dorm__streamer *s, dorm__st_conn *c, struct lws *wsi) {
  for (int n = 0;; n++) {
    /* Checked before each write, not only after: outside a WRITEABLE
     * callback an earlier write may still be buffered, and lws would append
     * to its own unbounded buffer (not our queue, whose limit finds a
     * client that does not read). */
    if (lws_partial_buffered(wsi)) return WQ_MORE;
    pthread_mutex_lock(&s->conns_mu);
    outmsg *m = c->out_head;
    bool closing = c->closing || c->expired; /* expired: closes once its queue is written */
    if (m) {
      c->out_head = m->next;
      if (!c->out_head) c->out_tail = NULL;
      c->out_bytes -= m->len;
    }
    bool more = c->out_head != NULL;
    pthread_mutex_unlock(&s->conns_mu);
    if (closing && !m) return WQ_CLOSE;
    if (m) {
      int w = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
      free(m);
      if (w < 0) return WQ_CLOSE;
    }
    if (!more && !closing) return WQ_DONE;
    if (n >= 31) return WQ_MORE;
  }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  session *ps = user;
  dorm__streamer *s = owner(wsi);
  /* lws calls some reasons without session data (a connection it refused
   * before allocating one, e.g. headers over its limit) */
  if (!ps && reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED) return lws_callback_http_dummy(wsi, reason, user, in, len);
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    /* the gauge counts what ESTABLISHED added and CLOSED took away (this thread) */
    pthread_mutex_lock(&s->metrics.mu);
    int64_t n = s->metrics.connections;
    pthread_mutex_unlock(&s->metrics.mu);
    if (n >= s->cfg.max_connections) {
      dorm__st_log("warn", "too_many_connections", NULL, NULL, NULL, "%lld connections: refusing the upgrade (503)",
                   (long long)n);
      dorm__st_metrics_add(&s->metrics, &s->metrics.connections_limited, 1);
      lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return -1;
    }
  }
    if (authenticate(s, wsi, ps)) {
      long have = 0;
      const char *over = user_refusal(s, ps->identity.sub, &have);
      if (!over) return 0;
      bool many = strcmp(over, "connections") == 0;
      /* at most a line a second (the metric counts each refusal): a client
       * reconnecting in a loop would otherwise write the log as fast */
      static int64_t logged_ms;
      static long unlogged;
      int64_t now = dorm__st_now_ms();
      if (now - logged_ms >= 1000) {
        logged_ms = now;
        dorm__st_log("warn", many ? "too_many_user_connections" : "too_many_user_connects", NULL, NULL, NULL,
                     many ? "the user has %ld connections: refusing the upgrade (429; %ld more refusals not logged)"
                          : "the user connected more than --max-user-connects-per-minute (%ld open): refusing the "
                            "upgrade (429; %ld more refusals not logged)",
                     have, unlogged);
        unlogged = 0;
      } else {
        unlogged++;
      }
      dorm__st_metrics_add(&s->metrics, many ? &s->metrics.user_conns_limited : &s->metrics.user_connects_limited, 1);
      dorm_arena_free(&ps->arena);
      ps->authed = false;
      lws_return_http_status(wsi, 429, NULL);
      return -1;
    }
    /* refuse the upgrade with 401 (the reason is in the log, never the token) */
    lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
    return -1;

  case LWS_CALLBACK_ESTABLISHED: {
    dorm__st_conn *c = calloc(1, sizeof *c);
    if (!c) return -1;
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      free(c);
      return -1;
    }
    dorm__hex_encode(raw, sizeof raw, c->id);
    c->wsi = wsi;
    c->connected_ms = dorm__st_now_ms();
    c->answer_tokens = DORM__ST_ANSWER_BURST;
    c->answer_ms = c->connected_ms;
    c->exp_s = ps->identity.exp;
    c->sub = strdup(ps->identity.sub ? ps->identity.sub : "");
    if (!c->sub) {
      free(c);
      return -1;
    }
    ps->conn = c;
    user_conn_add(s, c->sub, +1);
    pthread_mutex_lock(&s->conns_mu);
    link_conn(s, c);
    pthread_mutex_unlock(&s->conns_mu);
    dorm__st_metrics_add(&s->metrics, &s->metrics.connections, 1);
    dorm__st_metrics_add(&s->metrics, &s->metrics.connections_total, 1);
    dorm__st_log("info", "connected", NULL, c->id, NULL, "sub %s", ps->identity.sub);
    new_job(s, DORM__JOB_CONNECT, c, &ps->identity, NULL, 0);
    /* the client learns its connection id (for the management API, and to debug) */
    char hello[128];
    snprintf(hello, sizeof hello, "{\"connection_id\":\"%s\"}", c->id);
    char *text = dorm__st_message("connected", NULL, 0, hello);
    if (text) {
      pthread_mutex_lock(&s->conns_mu);
      push_out(s, c, text, strlen(text));
      pthread_mutex_unlock(&s->conns_mu);
      free(text);
      lws_callback_on_writable(wsi);
    }
    return 0;
  }

  case LWS_CALLBACK_RECEIVE: {
    if (!ps->conn) return -1;
    pthread_mutex_lock(&s->conns_mu);
    bool closing = ps->conn->closing || ps->conn->expired;
    pthread_mutex_unlock(&s->conns_mu);
    if (closing) {
      /* being killed (slow client, DELETE @connections): what it sends is dropped */
      free(ps->rx);
      ps->rx = NULL;
      ps->rxlen = 0;
      return 0;
    }
    if (!ps->rx_too_big) {
      if (ps->rxlen + len > DORM__ST_MAX_MESSAGE) {
        ps->rx_too_big = true;
        free(ps->rx);
        ps->rx = NULL;
        ps->rxlen = 0;
      } else {
        char *p = realloc(ps->rx, ps->rxlen + len + 1);
        if (!p) return -1;
        ps->rx = p;
        memcpy(ps->rx + ps->rxlen, in, len);
        ps->rxlen += len;
        ps->rx[ps->rxlen] = '\0';
      }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    if (ps->rx_too_big) {
      ps->rx_too_big = false;
      char *text = dorm__st_error_message(NULL, 0, "PAYLOAD_TOO_LARGE", "message larger than 131072 bytes", false);
      if (text) {
        dorm__srv_enqueue(s, ps->conn->id, NULL, 0, text, strlen(text));
        free(text);
      }
      return 0;
    }
    char *text = ps->rx;
    size_t n = ps->rxlen;
    ps->rx = NULL;
    ps->rxlen = 0;
    new_job(s, DORM__JOB_MESSAGE, ps->conn, &ps->identity, text, n);
    return 0;
  }

  case LWS_CALLBACK_SERVER_WRITEABLE: {
    if (!ps->conn) return 0;
    int r = write_queued(s, ps->conn, wsi);
    if (r == WQ_MORE) lws_callback_on_writable(wsi);
    return r == WQ_CLOSE ? -1 : 0;
  }

  case LWS_CALLBACK_CLOSED: {
    dorm__st_conn *c = ps->conn;
    if (c) {
      pthread_mutex_lock(&s->conns_mu);
      unlink_conn(s, c);
      pthread_mutex_unlock(&s->conns_mu);
      user_conn_add(s, c->sub, -1);
      dorm__st_metrics_add(&s->metrics, &s->metrics.connections, -1);
      dorm__st_log("info", "disconnected", NULL, c->id, NULL, "the connection closed");
      new_job(s, DORM__JOB_DISCONNECT, c, &ps->identity, NULL, 0);
      free_conn(c);
      ps->conn = NULL;
    }
    free(ps->rx);
    ps->rx = NULL;
    if (ps->authed) dorm_arena_free(&ps->arena);
    ps->authed = false;
    return 0;
  }

  case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
    /* cleared before the list is taken: an enqueue after this point wakes us again */
    atomic_store(&s->wake_pending, false);
    pthread_mutex_lock(&s->conns_mu);
    dorm__st_conn *c = s->dirty, *direct = NULL;
    s->dirty = NULL;
    for (dorm__st_conn *n; c; c = n) {
      n = c->dirty_next;
      c->dirty = false;
      if (c->closing) {
        /* A closing connection may never become writeable again (a client
         * that does not read): drop its queue and have lws kill it now
         * rather than wait for a drain that never comes. */
        for (outmsg *m = c->out_head, *mn; m; m = mn) {
          mn = m->next;
          free(m);
        }
        c->out_head = c->out_tail = NULL;
        c->out_bytes = 0;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
      } else if (c->expired) {
        /* its UNAUTHORIZED goes out, then it closes; a client that does not
         * read it is killed within 5 s */
        lws_callback_on_writable(c->wsi);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
      } else if (c->out_head) {
        c->direct_next = direct;
        direct = c;
      }
    }
    pthread_mutex_unlock(&s->conns_mu);
    /* Written now rather than at a WRITEABLE callback: asking for one costs
     * two epoll_ctl calls and a pass of the loop per connection, and almost
     * every socket can take a message at once. Safe here: this is the lws
     * thread (connections are freed only on it), and write_queued stops at
     * the first write lws had to buffer. */
    for (; direct; direct = direct->direct_next) {
      int r = write_queued(s, direct, direct->wsi);
      if (r == WQ_MORE)
        lws_callback_on_writable(direct->wsi);
      else if (r == WQ_CLOSE)
        lws_set_timeout(direct->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
#if DORM_STREAMER_LIBEV
    /* dorm__srv_stop's wake-up: leave ev_run (the poll loop checks the flag itself) */
    if (s->ev_loop && atomic_load(&s->stopping)) ev_break(s->ev_loop, EVBREAK_ALL);
#endif
    return 0;
  }

  case LWS_CALLBACK_HTTP: {
    const char *uri = in;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) snprintf(ps->method, sizeof ps->method, "POST");
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0) snprintf(ps->method, sizeof ps->method, "DELETE");
    else snprintf(ps->method, sizeof ps->method, "GET");
    snprintf(ps->path, sizeof ps->path, "%s", uri);
    if (strncmp(uri, "/@connections/", 14) == 0) {
      if (strcmp(ps->method, "POST") == 0) return 0; /* wait for the body */
      return management(s, wsi, ps);
    }
    if (strcmp(uri, "/healthz") == 0) return respond_text(wsi, 200, "{\"status\":\"ok\"}");
    if (strcmp(uri, "/metrics") == 0) {
      char *text = dorm__st_metrics_text(&s->metrics);
      int rc = text ? respond(wsi, 200, "text/plain; version=0.0.4", text, strlen(text)) : -1;
      free(text);
      return rc;
    }
    if (s->cfg.web_dir && strcmp(ps->method, "GET") == 0) {
      char *body = NULL;
      size_t blen = 0;
      const char *mime = NULL;
      int status = dorm__st_web_file(s->cfg.web_dir, uri, &body, &blen, &mime);
      int rc = status == 200 ? respond(wsi, 200, mime, body, blen) : -2;
      free(body);
      if (rc != -2) return rc;
      if (status == 500) return respond_text(wsi, 500, "{\"message\":\"Internal Server Error\"}");
    }
    return respond_text(wsi, 404, "{\"message\":\"Not Found\"}");
  }

  case LWS_CALLBACK_HTTP_BODY: {
    if (ps->body_len + len > DORM__ST_MAX_MESSAGE) {
      ps->body_too_big = true;
      return 0;
    }
    char *p = realloc(ps->body, ps->body_len + len + 1);
    if (!p) return -1;
    ps->body = p;
    memcpy(ps->body + ps->body_len, in, len);
    ps->body_len += len;
    ps->body[ps->body_len] = '\0';
    return 0;
  }

  case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
    /* Answering ends the HTTP transaction, and lws may then reuse or free the
     * session data: the body is taken out first, and ps is not touched after. */
    char *body = ps->body;
    int rc = management(s, wsi, ps);
    free(body);
    return rc;
  }

  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
  case LWS_CALLBACK_CLOSED_HTTP:
    free(ps->body);
    ps->body = NULL;
    ps->body_len = 0;
    return 0;

  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"dorm-streamer", callback, sizeof(session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The context on libev's loop (epoll: a wake-up costs what is ready, where
 * poll() walks every connection's socket each time, which was a fifth of
 * the server's CPU at 200 connections), through lws's evlib plugin
 * (Debian's libwebsockets-evlib-ev, a dependency of libwebsockets-dev). The
 * loop is ours (a foreign loop) so that dorm__srv_stop can break it. NULL
 * when the plugin cannot be loaded: the caller then uses lws's poll loop. */
static struct lws_context *srv_create_on_libev(dorm__streamer *s, struct lws_context_creation_info *info) {
#if DORM_STREAMER_LIBEV
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  if (!loop) return NULL;
  void *foreign[1] = {loop};
  struct lws_context_creation_info ev_info = *info;
  ev_info.options |= LWS_SERVER_OPTION_LIBEV;
  ev_info.foreign_loops = foreign;
  struct lws_context *ctx = lws_create_context(&ev_info);
  if (!ctx) {
    ev_loop_destroy(loop);
    return NULL;
  }
  s->ev_loop = loop;
  return ctx;
#else
  (void)s;
  (void)info;
  return NULL;
#endif
}

/* Whether 127.0.0.1:port can be bound, asked of the kernel (lws says only
 * "ERROR on binding fd 12 to port P (-1 98)" on its log, and leaks what it
 * allocated for the vhost when the bind fails). Binds with SO_REUSEADDR as
 * lws does, so a port in TIME_WAIT is not called busy. False with err
 * filled when it cannot. */
static bool srv_port_free(int port, char *err, size_t errcap) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int e = 0;
  if (fd < 0) {
    e = errno;
  } else {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) e = errno;
    close(fd);
  }
  if (e == EADDRINUSE)
    snprintf(err, errcap,
             "port %d on 127.0.0.1 is in use (%s): stop what listens there or give another --port "
             "(0 picks a free one)",
             port, strerror(e));
  else if (e)
    snprintf(err, errcap, "cannot listen on 127.0.0.1:%d (%s)", port, strerror(e));
  return e == 0;
}

/* Opens the listening socket (before the workers start, so that a busy port
 * stops the program before it claims any job). False with err filled: lws's
 * own lines are kept off stderr while it tries, the caller prints err. */
bool dorm__srv_listen(dorm__streamer *s, char *err, size_t errcap);
bool dorm__srv_listen(dorm__streamer *s, char *err, size_t errcap) {
  /* a busy port is found before lws tries it: the usual failure, said
   * plainly, and nothing of lws's left allocated */
  if (s->cfg.port != 0 && !srv_port_free(s->cfg.port, err, errcap)) return false;
  /* lws logs a failed start three lines at a time, for each of the two
   * loops tried: our one line says it better */
  lws_set_log_level(0, NULL);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = s->cfg.port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.user = s;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
  info.timeout_secs = 30;
  /* room for a token of up to 8 KB (refused beyond) in either place, plus the
   * rest of an upgrade request; more than this is refused by lws itself */
  info.max_http_header_data = 24 * 1024;
  struct lws_context *ctx = getenv("DORM_STREAMER_POLL") ? NULL : srv_create_on_libev(s, &info);
  if (!ctx) ctx = lws_create_context(&info);
  lws_set_log_level(LLL_ERR, NULL);
  if (!ctx) {
    /* taken since the check, or something else lws refused */
    if (s->cfg.port == 0 || srv_port_free(s->cfg.port, err, errcap))
      snprintf(err, errcap, "cannot listen on 127.0.0.1:%d (libwebsockets could not start its server)",
               s->cfg.port);
    return false;
  }
  s->lws = ctx;
  int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default"));
  if (!s->server_url[0]) snprintf(s->server_url, sizeof s->server_url, "http://127.0.0.1:%d", port);
  return true;
}

/* Serves until dorm__srv_stop, on the context dorm__srv_listen made. */
int dorm__srv_run(dorm__streamer *s);
int dorm__srv_run(dorm__streamer *s) {
  struct lws_context *ctx = s->lws;
  int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default"));
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
#if DORM_STREAMER_LIBEV
  if (s->ev_loop) {
    /* until the stop's wake-up breaks it (a stop before s->lws was set is seen here) */
    if (!atomic_load(&s->stopping)) ev_run(s->ev_loop, 0);
    return 0;
  }
#endif
  while (!atomic_load(&s->stopping))
    if (lws_service(ctx, 0) < 0) break;
  return 0;
}

/* After the workers stopped: closes every connection (LWS_CALLBACK_CLOSED
 * frees them) and the context. */
void dorm__srv_destroy(dorm__streamer *s);
void dorm__srv_destroy(dorm__streamer *s) {
  struct lws_context *ctx = s->lws;
  if (!ctx) return;
  lws_context_destroy(ctx);
  s->lws = NULL;
  user_conns_free(s); /* after the closes (CLOSED took their counts away) */
#if DORM_STREAMER_LIBEV
  /* lws stopped its watchers on the foreign loop; the loop is ours to free */
  if (s->ev_loop) ev_loop_destroy(s->ev_loop);
  s->ev_loop = NULL;
#endif
}

void dorm__srv_stop(dorm__streamer *s);
void dorm__srv_stop(dorm__streamer *s) {
  atomic_store(&s->stopping, true);
  if (s->lws) lws_cancel_service((struct lws_context *)s->lws);
}
