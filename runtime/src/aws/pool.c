/* pool: many calls in flight from one thread. Each slot is a transport
 * (dorm_http, its own easy handle and connection) running one call's state
 * machine (client_internal.h: dorm__call); a curl multi handle drives the
 * transfers, and backoff waits are deadlines the loop polls towards.
 *
 * The loop uses libcurl's socket interface (curl_multi_socket_action): curl
 * tells the pool which sockets to watch, the pool polls them all in one
 * poll() and hands curl only the sockets that are ready, with their events.
 * curl_multi_perform would instead look at every transfer on each wake and
 * poll each one's socket itself: with 16 in flight that was ~20 poll()
 * calls per request, the largest client cost of a bulk write after the
 * kernel's TCP work (bench/notes/bulk.md). */
#include "dorm/pool.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"
#include "http.h"

#define POOL_MAX_IN_FLIGHT 1024u
#define POOL_DEFAULT_IN_FLIGHT 8u
#define POOL_MAX_OPERATION 64

/* Completed requests are kept (at most the pool's size plus a few, with
 * bodies up to POOL_SPARE_BODY bytes) and reused with their body buffers:
 * a bulk write's 16 bodies of ~40 KB then cost no malloc, no free and no
 * fresh page per request. */
#define POOL_SPARE_EXTRA 4u
#define POOL_SPARE_BODY ((size_t)1 << 20)

typedef struct pool_req {
  struct pool_req *next;
  dorm_pool_done_fn on_done;
  void *user;
  uint64_t due_ms; /* monotonic: not sent before */
  char *body;      /* body_len bytes + NUL in body_cap bytes, malloc'd, owned (NULL when body_cap is 0) */
  size_t body_len, body_cap;
  char operation[POOL_MAX_OPERATION + 1];
} pool_req;

typedef enum slot_state { SLOT_FREE = 0, SLOT_SENDING, SLOT_WAITING } slot_state;

typedef struct pool_slot {
  dorm_http *http;
  slot_state state;
  uint64_t due_ms; /* SLOT_WAITING: resend then */
  pool_req *req;
  dorm__call call;
  dorm__call_outcome out;
  dorm_http_response hr;
  long connections;  /* the transport's connections already added to the client's counter */
  char err[1024];
} pool_slot;

struct dorm_pool {
  dorm_client *c;
  CURLM *multi;
  pool_slot *slots;
  unsigned nslots;
  unsigned busy;               /* slots not FREE */
  pool_req *head, *tail;       /* ready to send, FIFO */
  pool_req *delayed;           /* waiting for their delay_ms, unordered */
  size_t pending;              /* submitted and not completed */
  bool running;
  pool_req *spare;             /* completed requests kept for reuse, with their bodies */
  unsigned nspare;
  struct pollfd *fds;          /* the sockets curl asked to watch (CURLMOPT_SOCKETFUNCTION) */
  unsigned nfds, capfds;
  bool fds_failed;             /* growing fds ran out of memory */
  uint64_t timer_due_ms;       /* curl's timer (CURLMOPT_TIMERFUNCTION): act then; UINT64_MAX: none */
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* CURLMOPT_SOCKETFUNCTION: curl says which events of socket s to watch
 * (or to stop watching it). Returns -1 only when the list cannot grow, which
 * fails the run (dorm_pool_run). */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)easy;
  (void)socketp;
  dorm_pool *p = userp;
  unsigned i = 0;
  while (i < p->nfds && p->fds[i].fd != s) i++;
  if (what == CURL_POLL_REMOVE) {
    if (i < p->nfds) p->fds[i] = p->fds[--p->nfds];
    return 0;
  }
  if (i == p->nfds) {
    if (p->nfds == p->capfds) {
      unsigned cap = p->capfds ? p->capfds * 2 : 16;
      struct pollfd *f = realloc(p->fds, cap * sizeof *f);
      if (!f) {
        p->fds_failed = true;
        return -1;
      }
      p->fds = f;
      p->capfds = cap;
    }
    p->fds[p->nfds++].fd = s;
  }
  p->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
  p->fds[i].revents = 0;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants curl_multi_socket_action(TIMEOUT)
 * after timeout_ms (-1: no timer). Only recorded; the loop acts on it. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  dorm_pool *p = userp;
  p->timer_due_ms = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
  return 0;
}

dorm_status dorm_pool_new(dorm_client *c, unsigned max_in_flight, dorm_pool **out) {
  if (!out) return DORM_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!c || max_in_flight > POOL_MAX_IN_FLIGHT) return DORM_ERR_INVALID_ARGUMENT;
  if (max_in_flight == 0) max_in_flight = POOL_DEFAULT_IN_FLIGHT;
  dorm_pool *p = calloc(1, sizeof *p);
  if (!p) return DORM_ERR_NO_MEMORY;
  p->c = c;
  p->nslots = max_in_flight;
  p->slots = calloc(max_in_flight, sizeof *p->slots);
  p->multi = curl_multi_init();
  if (!p->slots || !p->multi) {
    dorm_pool_free(p);
    return DORM_ERR_NO_MEMORY;
  }
  /* Keep one idle connection per slot alive between requests. */
  curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)max_in_flight);
  p->timer_due_ms = UINT64_MAX;
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
  dorm_http_options ho;
  dorm__client_http_options(c, &ho);
  for (unsigned i = 0; i < max_in_flight; i++) {
    p->slots[i].http = dorm__http_new(&ho);
    if (!p->slots[i].http) {
      dorm_pool_free(p);
      return DORM_ERR_NO_MEMORY;
    }
    curl_easy_setopt((CURL *)dorm__http_easy(p->slots[i].http), CURLOPT_PRIVATE, &p->slots[i]);
  }
  *out = p;
  return DORM_OK;
}

size_t dorm_pool_pending(const dorm_pool *p) { return p ? p->pending : 0; }

bool dorm__pool_busy(const dorm_pool *p) { return p->running || p->pending > 0; }
unsigned dorm__pool_size(const dorm_pool *p) { return p->nslots; }

/* A request record: a spare one (with its body buffer) when there is one,
 * else a new one without a body. NULL when out of memory. */
static pool_req *req_get(dorm_pool *p) {
  pool_req *r = p->spare;
  if (r) {
    p->spare = r->next;
    p->nspare--;
    return r;
  }
  return calloc(1, sizeof *r);
}

/* Keeps a finished request for reuse, or frees it. */
static void req_put(dorm_pool *p, pool_req *r) {
  if (p->nspare >= p->nslots + POOL_SPARE_EXTRA || r->body_cap > POOL_SPARE_BODY) {
    free(r->body);
    free(r);
    return;
  }
  r->next = p->spare;
  p->spare = r;
  p->nspare++;
}

/* Frees the spare requests. */
static void spare_free(dorm_pool *p) {
  while (p->spare) {
    pool_req *r = p->spare;
    p->spare = r->next;
    free(r->body);
    free(r);
  }
  p->nspare = 0;
}

/* The checks dorm_pool_submit makes; the operation name's length in *oplen. */
static dorm_status submit_check(const dorm_pool *p, const dorm_pool_request *rq, size_t *oplen) {
  if (!p || !rq || !rq->on_done || !rq->operation || (!rq->body && rq->body_len)) return DORM_ERR_INVALID_ARGUMENT;
  *oplen = strlen(rq->operation);
  if (*oplen == 0 || *oplen > POOL_MAX_OPERATION) return DORM_ERR_INVALID_ARGUMENT;
  if (rq->body_len > SIZE_MAX - 1) return DORM_ERR_NO_MEMORY;
  return DORM_OK;
}

/* Fills r from rq (its body already in r) and queues it. */
static void submit_queue(dorm_pool *p, pool_req *r, const dorm_pool_request *rq, size_t oplen) {
  r->next = NULL;
  r->on_done = rq->on_done;
  r->user = rq->user;
  memcpy(r->operation, rq->operation, oplen + 1);
  p->pending++;
  if (rq->delay_ms > 0) {
    r->due_ms = now_ms() + (uint64_t)rq->delay_ms;
    r->next = p->delayed;
    p->delayed = r;
    return;
  }
  r->due_ms = 0;
  if (p->tail) p->tail->next = r;
  else p->head = r;
  p->tail = r;
}

dorm_status dorm_pool_submit(dorm_pool *p, const dorm_pool_request *rq) {
  size_t oplen;
  dorm_status st = submit_check(p, rq, &oplen);
  if (st != DORM_OK) return st;
  pool_req *r = req_get(p);
  if (!r) return DORM_ERR_NO_MEMORY;
  if (r->body_cap < rq->body_len + 1) {
    char *b = malloc(rq->body_len + 1);
    if (!b) {
      req_put(p, r);
      return DORM_ERR_NO_MEMORY;
    }
    free(r->body);
    r->body = b;
    r->body_cap = rq->body_len + 1;
  }
  if (rq->body_len) memcpy(r->body, rq->body, rq->body_len);
  r->body[rq->body_len] = '\0';
  r->body_len = rq->body_len;
  submit_queue(p, r, rq, oplen);
  return DORM_OK;
}

dorm_status dorm__pool_submit_buf(dorm_pool *p, const dorm_pool_request *rq, dorm__buf *body) {
  if (!body || body->lent || !dorm__buf_ok(body) || !body->p || rq->body != body->p || rq->body_len != body->len)
    return dorm_pool_submit(p, rq);
  size_t oplen;
  dorm_status st = submit_check(p, rq, &oplen);
  if (st != DORM_OK) return st;
  pool_req *r = req_get(p);
  if (!r) return DORM_ERR_NO_MEMORY;
  /* Swap: the request takes the text, the caller's buffer gets the spare's
   * memory (or none) to write the next body into. */
  char *spare = r->body;
  size_t spare_cap = r->body_cap;
  r->body = body->p;
  r->body_cap = body->cap;
  r->body_len = body->len;
  body->p = spare;
  body->cap = spare_cap;
  body->len = 0;
  if (spare) spare[0] = '\0';
  submit_queue(p, r, rq, oplen);
  return DORM_OK;
}

/* Hands a request's result to its callback and forgets the request. */
static void deliver(dorm_pool *p, pool_req *r, dorm_status st, const dorm__call_outcome *o, const char *body,
                    size_t body_len) {
  dorm_pool_result res = {st,
                          r->operation,
                          body ? body : "",
                          body ? body_len : 0,
                          o ? o->http_status : 0,
                          o ? o->errmsg : "",
                          o ? o->error_code : "",
                          o ? o->request_id : "",
                          o ? o->attempts : 0};
  p->pending--;
  r->on_done(r->user, &res);
  req_put(p, r);
}

/* Ends the slot's call with status st and frees the slot. */
static void slot_done(dorm_pool *p, pool_slot *s, dorm_status st) {
  pool_req *r = s->req;
  const char *body = NULL;
  size_t len = 0;
  if (st == DORM_OK || s->out.has_error_body) {
    body = s->hr.body;
    len = s->hr.body_len;
  }
  s->req = NULL;
  s->state = SLOT_FREE;
  p->busy--;
  dorm__call_cleanup(&s->call);
  deliver(p, r, st, &s->out, body, len);
}

/* Signs and sends the slot's next attempt. On failure the call is over. */
static void slot_send(dorm_pool *p, pool_slot *s) {
  dorm_status st = dorm__call_sign(&s->call);
  if (st == DORM_OK)
    st = dorm__http_start(s->http, s->call.url, s->call.headers, s->call.nh, s->call.body, s->call.body_len,
                          &s->hr, s->err, sizeof s->err);
  if (st == DORM_OK && curl_multi_add_handle(p->multi, dorm__http_easy(s->http)) != CURLM_OK) {
    st = DORM_ERR_NO_MEMORY;
    snprintf(s->err, sizeof s->err, "libcurl's multi handle refused the transfer");
  }
  if (st != DORM_OK) {
    if (!s->out.errmsg[0])
      snprintf(s->out.errmsg, sizeof s->out.errmsg, "%.64s: %.900s", s->call.operation, s->err);
    memset(&s->hr, 0, sizeof s->hr);
    slot_done(p, s, st);
    return;
  }
  s->state = SLOT_SENDING;
}

static void slot_start(dorm_pool *p, pool_slot *s, pool_req *r) {
  s->req = r;
  s->state = SLOT_SENDING;
  p->busy++;
  memset(&s->out, 0, sizeof s->out);
  memset(&s->hr, 0, sizeof s->hr);
  s->err[0] = '\0';
  dorm__client_stats(p->c)->operations++;
  dorm_status st = dorm__call_init(&s->call, p->c, DORM__SVC_DYNAMODB, r->operation, r->body, r->body_len, &s->out);
  if (st != DORM_OK) {
    s->call.h_token = NULL;
    slot_done(p, s, st);
    return;
  }
  slot_send(p, s);
}

/* A transfer finished: settle it, then retry (now or after a wait) or end. */
static void slot_transfer_done(dorm_pool *p, pool_slot *s, CURLcode rc) {
  curl_multi_remove_handle(p->multi, dorm__http_easy(s->http));
  s->err[0] = '\0';
  dorm_status ts = dorm__http_finish(s->http, (int)rc, &s->hr, s->err, sizeof s->err);
  /* The client's counter of connections opened (dorm_client_get_stats)
   * counts the pool's too: one per request in flight at once, then reused. */
  long opened = dorm__http_connections_opened(s->http);
  dorm__client_stats(p->c)->connections += opened - s->connections;
  s->connections = opened;
  long delay = 0;
  dorm_status result = DORM_OK;
  if (dorm__call_settle(&s->call, ts, &s->hr, s->err, &delay, &result)) {
    slot_done(p, s, result);
    return;
  }
  if (!s->call.resend && dorm__client_sleep_hooked(p->c)) {
    /* Tests replace the client's sleep to run retries instantly and to
     * see the delays asked for (every retry, as dorm_client_call does):
     * give them the delay, wait no longer. */
    dorm__client_sleep_ms(p->c, delay);
    delay = 0;
  }
  if (s->call.resend || delay <= 0) {
    slot_send(p, s);
    return;
  }
  s->state = SLOT_WAITING;
  s->due_ms = now_ms() + (uint64_t)delay;
}

/* Moves delayed requests whose time came to the ready queue; returns the
 * earliest due time still ahead (UINT64_MAX when none). */
static uint64_t promote_delayed(dorm_pool *p, uint64_t now) {
  uint64_t next = UINT64_MAX;
  pool_req **pp = &p->delayed;
  while (*pp) {
    pool_req *r = *pp;
    if (r->due_ms <= now) {
      *pp = r->next;
      r->next = NULL;
      if (p->tail) p->tail->next = r;
      else p->head = r;
      p->tail = r;
    } else {
      if (r->due_ms < next) next = r->due_ms;
      pp = &r->next;
    }
  }
  return next;
}

/* Completes everything not yet completed with status st (its message in why). */
static void abandon_all(dorm_pool *p, dorm_status st, const char *why) {
  dorm__call_outcome o;
  memset(&o, 0, sizeof o);
  for (unsigned i = 0; i < p->nslots; i++) {
    pool_slot *s = &p->slots[i];
    if (s->state == SLOT_FREE) continue;
    if (s->state == SLOT_SENDING) {
      curl_multi_remove_handle(p->multi, dorm__http_easy(s->http));
      s->err[0] = '\0';
      dorm__http_finish(s->http, (int)CURLE_ABORTED_BY_CALLBACK, &s->hr, s->err, sizeof s->err);
    }
    snprintf(s->out.errmsg, sizeof s->out.errmsg, "%s: %s", s->req->operation, why);
    s->out.error_code[0] = '\0';
    s->out.has_error_body = false;
    slot_done(p, s, st);
  }
  /* Callbacks may have queued more: abandon those too. */
  while (p->head || p->delayed) {
    pool_req *r = p->head ? p->head : p->delayed;
    if (r == p->head) {
      p->head = r->next;
      if (!p->head) p->tail = NULL;
    } else {
      p->delayed = r->next;
    }
    snprintf(o.errmsg, sizeof o.errmsg, "%s: %s", r->operation, why);
    deliver(p, r, st, &o, NULL, 0);
  }
}

/* Settles every transfer curl reports finished; true when there was one. */
static bool drain(dorm_pool *p) {
  bool progressed = false;
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(p->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    pool_slot *s = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
    CURLcode rc = msg->data.result;
    if (s) slot_transfer_done(p, s, rc);
    progressed = true;
  }
  return progressed;
}

/* The multi interface itself failed: everything pending ends with it. */
static dorm_status fail_multi(dorm_pool *p, CURLMcode mc) {
  dorm_status result = mc == CURLM_OUT_OF_MEMORY ? DORM_ERR_NO_MEMORY : DORM_ERR_NETWORK;
  char why[160];
  snprintf(why, sizeof why, "libcurl multi interface failed: %s", curl_multi_strerror(mc));
  abandon_all(p, result, why);
  return result;
}

#define READY_BATCH 64
typedef struct ready_fd {
  curl_socket_t fd;
  int mask;
} ready_fd;

dorm_status dorm_pool_run(dorm_pool *p) {
  if (!p || p->running) return DORM_ERR_INVALID_ARGUMENT;
  p->running = true;
  dorm_status result = DORM_OK;
  while (p->pending > 0) {
    uint64_t now = now_ms();
    uint64_t wake = promote_delayed(p, now);
    /* Resend the retries whose wait is over, then fill free slots in order. */
    for (unsigned i = 0; i < p->nslots; i++) {
      pool_slot *s = &p->slots[i];
      if (s->state == SLOT_WAITING) {
        if (s->due_ms <= now) slot_send(p, s);
        else if (s->due_ms < wake) wake = s->due_ms;
      }
    }
    for (unsigned i = 0; i < p->nslots && p->head; i++) {
      pool_slot *s = &p->slots[i];
      if (s->state != SLOT_FREE) continue;
      pool_req *r = p->head;
      p->head = r->next;
      if (!p->head) p->tail = NULL;
      r->next = NULL;
      slot_start(p, s, r);
    }
    if (p->pending == 0) break;

    /* curl's timer, when due (also right after a transfer was added). */
    CURLMcode mc = CURLM_OK;
    int running = 0;
    if (p->timer_due_ms <= now_ms()) {
      p->timer_due_ms = UINT64_MAX; /* curl sets the next one */
      mc = curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (mc == CURLM_OK && p->fds_failed) mc = CURLM_OUT_OF_MEMORY;
    if (mc != CURLM_OK) {
      result = fail_multi(p, mc);
      break;
    }
    if (drain(p) || p->pending == 0) continue;
    /* Something can be started without waiting? (a completion may have
     * queued more, or freed a slot) */
    if (p->head && p->busy < p->nslots) continue;

    now = now_ms();
    uint64_t until = p->timer_due_ms < wake ? p->timer_due_ms : wake;
    long timeout = until == UINT64_MAX ? 1000 : until > now ? (long)(until - now) : 0;
    if (timeout > 1000) timeout = 1000;
    if (timeout == 0) continue;
    int n = poll(p->fds, p->nfds, (int)timeout);
    if (n < 0 && errno != EINTR) {
      result = DORM_ERR_NETWORK;
      abandon_all(p, result, "libcurl multi interface failed while waiting");
      break;
    }
    if (n <= 0) continue; /* a timer is due: the next round acts on it */
    /* Hand curl the ready sockets. Its callbacks may change p->fds meanwhile,
     * so the ready ones are taken first. */
    ready_fd ready[READY_BATCH];
    unsigned nready = 0;
    for (unsigned i = 0; i < p->nfds && nready < READY_BATCH;) {
      short re = p->fds[i].revents;
      p->fds[i].revents = 0;
      if (!re) {
        i++;
        continue;
      }
      ready[nready].fd = p->fds[i].fd;
      ready[nready++].mask = ((re & POLLIN) ? CURL_CSELECT_IN : 0) | ((re & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                             ((re & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
      /* A socket closed under us stays invalid: stop watching it (curl still
       * hears of the error) rather than poll in a busy loop. */
      if (re & POLLNVAL) p->fds[i] = p->fds[--p->nfds];
      else i++;
    }
    for (unsigned i = 0; i < nready && mc == CURLM_OK; i++)
      mc = curl_multi_socket_action(p->multi, ready[i].fd, ready[i].mask, &running);
    if (mc == CURLM_OK && p->fds_failed) mc = CURLM_OUT_OF_MEMORY;
    if (mc != CURLM_OK) {
      result = fail_multi(p, mc);
      break;
    }
    drain(p);
  }
  p->running = false;
  /* Spare requests serve one run: an idle pool (the client keeps one
   * between batch calls) holds no bodies. */
  spare_free(p);
  return result;
}

void dorm_pool_free(dorm_pool *p) {
  if (!p) return;
  if (p->slots && p->multi)
    abandon_all(p, DORM_ERR_CANCELLED, "cancelled: the pool was freed before the request completed");
  if (p->slots) {
    for (unsigned i = 0; i < p->nslots; i++) dorm__http_free(p->slots[i].http);
    free(p->slots);
  }
  if (p->multi) curl_multi_cleanup(p->multi); /* may still tell on_socket about sockets */
  spare_free(p);
  free(p->fds);
  free(p);
}
