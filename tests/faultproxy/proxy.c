#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "http.h"
#include "respond.h"

#define MAX_CONNS 512
#define MAX_HEAD (64 * 1024)
#define MAX_BODY (32 * 1024 * 1024)           /* DynamoDB's largest requests are 16 MB */
#define MAX_RESPONSE (64 * 1024 * 1024)
#define READ_CHUNK (64 * 1024)
#define MAX_READ_PER_EVENT (1024 * 1024)      /* so one fast client cannot starve the rest */

typedef enum cstate {
  CS_READ,     /* waiting for (the rest of) a request */
  CS_DELAY,    /* a slow step: waiting before acting on the request */
  CS_CONNECT,  /* connecting to the upstream */
  CS_UP_WRITE, /* sending the request upstream */
  CS_UP_READ,  /* reading the upstream's response */
  CS_WRITE     /* sending our response; then the next request or close */
} cstate;

typedef struct conn {
  int cfd, ufd;         /* client and upstream sockets; -1 when closed */
  unsigned uepoch;      /* bumped whenever ufd changes, to ignore stale poll results */
  cstate state;
  fp_buf in, out;       /* bytes from the client; bytes for the client */
  size_t out_off;
  fp_buf ureq, uresp;   /* the request as forwarded; the upstream's answer */
  size_t ureq_off;
  bool client_eof;      /* the client half-closed: no more requests will come */
  bool close_after;     /* close the client once the response is out */
  bool sent_continue;   /* "100 Continue" already sent for the current request */
  bool up_reused;       /* ufd served an earlier exchange (may be stale) */
  bool up_retried;      /* the stale-connection retry was used for this request */
  bool up_eof;          /* the upstream closed during this exchange */
  bool forward_counted;
  bool is_head;
  bool pending;         /* input may hold the next request: the loop looks at it */
  fp_step step;
  char op[65];
  unsigned long long reqno;
  int64_t deadline;     /* ms on the monotonic clock; meaning depends on state */
} conn;

typedef struct proxy {
  const fp_config *cfg;
  fp_plan *plan;
  fp_stats stats;
  conn *conns[MAX_CONNS];
} proxy;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* An RST instead of a FIN: what a crashed server or a middlebox looks like. */
static void close_rst(int fd) {
  struct linger lg = {1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* Closes after a FIN; unread input is drained first because closing a socket
 * with unread data makes Linux send an RST that can destroy what we sent. */
static void close_graceful(int fd) {
  char sink[4096];
  (void)shutdown(fd, SHUT_WR);
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(fd, sink, sizeof sink, 0);
    if (n <= 0) break;
  }
  close(fd);
}

static void close_upstream(conn *c) {
  if (c->ufd >= 0) close(c->ufd);
  c->ufd = -1;
  c->uepoch++;
  c->up_reused = false;
}

static void free_conn(proxy *px, int slot, bool rst) {
  conn *c = px->conns[slot];
  if (!c) return;
  if (c->cfd >= 0) {
    if (rst) close_rst(c->cfd);
    else close_graceful(c->cfd);
  }
  close_upstream(c);
  fp_buf_free(&c->in);
  fp_buf_free(&c->out);
  fp_buf_free(&c->ureq);
  fp_buf_free(&c->uresp);
  free(c);
  px->conns[slot] = NULL;
  px->stats.open--;
}

/* The client went away (reset or error): stop talking to it, finish the exchange. */
static void client_gone(conn *c) {
  if (c->cfd >= 0) close(c->cfd);
  c->cfd = -1;
  c->client_eof = true;
}

static void start_read(proxy *px, conn *c);
static void process_input(proxy *px, int slot);
static void flush_out(proxy *px, int slot);

static void queue_json_error(proxy *px, int slot, int status, const char *type, const char *message, bool close) {
  conn *c = px->conns[slot];
  fp_buf body = {0};
  int rc = fp_buf_printf(&body, "{\"__type\":\"%s\",\"message\":", type);
  if (rc == 0) rc = fp_json_string(&body, message, strlen(message));
  if (rc == 0) rc = fp_buf_append(&body, "}", 1);
  bool closing = close || c->close_after || c->client_eof;
  if (rc == 0) rc = fp_respond_json(&c->out, status, body.data, body.len, closing);
  fp_buf_free(&body);
  if (rc != 0) {
    free_conn(px, slot, false);
    return;
  }
  c->close_after = closing;
  c->state = CS_WRITE;
  c->deadline = now_ms() + px->cfg->idle_timeout_ms;
  flush_out(px, slot);
}

/* A request we refuse to handle: answer and close (we may not know where it ends). */
static void bad_request(proxy *px, int slot, int status, const char *why) {
  conn *c = px->conns[slot];
  px->stats.bad_requests++;
  if (px->cfg->verbose) fprintf(stderr, "dorm-faultproxy: bad request: %s\n", why);
  c->in.len = 0;
  c->client_eof = true;
  queue_json_error(px, slot, status, "dorm.faultproxy#BadRequest", why, true);
}

static void upstream_failed(proxy *px, int slot, int status, const char *why) {
  conn *c = px->conns[slot];
  px->stats.upstream_errors++;
  fprintf(stderr, "dorm-faultproxy: request #%llu (%s): upstream %s: %s\n", c->reqno, c->op[0] ? c->op : "-",
          px->cfg->upstream_host, why);
  close_upstream(c);
  if (c->cfd < 0) {
    px->stats.responses_lost++;
    free_conn(px, slot, false);
    return;
  }
  char msg[512];
  snprintf(msg, sizeof msg, "dorm-faultproxy: upstream %s: %s", px->cfg->upstream_host, why);
  queue_json_error(px, slot, status, status == 504 ? "dorm.faultproxy#GatewayTimeout" : "dorm.faultproxy#BadGateway",
                   msg, false);
}

/* ---- upstream side ---- */

static void up_write(proxy *px, int slot);

static void up_connect(proxy *px, int slot) {
  conn *c = px->conns[slot];
  const fp_config *cfg = px->cfg;
  close_upstream(c);
  int fd = socket(cfg->upstream.ss_family, SOCK_STREAM, 0);
  if (fd < 0) {
    upstream_failed(px, slot, 502, strerror(errno));
    return;
  }
  if (set_nonblocking(fd) != 0) {
    close(fd);
    upstream_failed(px, slot, 502, strerror(errno));
    return;
  }
  set_nodelay(fd);
  c->ufd = fd;
  c->uepoch++;
  px->stats.upstream_connects++;
  if (connect(fd, (const struct sockaddr *)&cfg->upstream, cfg->upstream_len) == 0) {
    c->state = CS_UP_WRITE;
    up_write(px, slot);
  } else if (errno == EINPROGRESS) {
    c->state = CS_CONNECT;
  } else {
    char why[300];
    snprintf(why, sizeof why, "connect: %s", strerror(errno));
    upstream_failed(px, slot, 502, why);
  }
}

static void start_upstream(proxy *px, int slot) {
  conn *c = px->conns[slot];
  c->uresp.len = 0;
  c->ureq_off = 0;
  c->up_eof = false;
  c->deadline = now_ms() + px->cfg->upstream_timeout_ms;
  if (c->ufd >= 0) {
    c->up_reused = true;
    c->state = CS_UP_WRITE;
    up_write(px, slot);
  } else {
    up_connect(px, slot);
  }
}

/* A kept-alive upstream connection can have been closed by the server while
 * idle; the request then never reached it, so sending it again is safe. */
static bool retry_stale(proxy *px, int slot) {
  conn *c = px->conns[slot];
  if (!c->up_reused || c->up_retried || c->uresp.len > 0) return false;
  c->up_retried = true;
  c->ureq_off = 0;
  c->up_eof = false;
  up_connect(px, slot);
  return true;
}

static void up_write(proxy *px, int slot) {
  conn *c = px->conns[slot];
  while (c->ureq_off < c->ureq.len) {
    ssize_t n = send(c->ufd, c->ureq.data + c->ureq_off, c->ureq.len - c->ureq_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->ureq_off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (retry_stale(px, slot)) return;
    char why[300];
    snprintf(why, sizeof why, "send: %s", n < 0 ? strerror(errno) : "nothing written");
    upstream_failed(px, slot, 502, why);
    return;
  }
  if (!c->forward_counted) {
    c->forward_counted = true;
    px->stats.forwarded++;
  }
  c->state = CS_UP_READ;
}

static void up_connected(proxy *px, int slot) {
  conn *c = px->conns[slot];
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    char why[300];
    snprintf(why, sizeof why, "connect: %s", strerror(err));
    upstream_failed(px, slot, 502, why);
    return;
  }
  c->state = CS_UP_WRITE;
  up_write(px, slot);
}

/* The upstream's complete response is in uresp (head h, body_len body bytes):
 * carry out the planned fault on it. */
static void deliver(proxy *px, int slot, const fp_head *h, size_t body_len) {
  conn *c = px->conns[slot];
  fp_fault f = c->step.fault;
  bool up_close = h->conn_close || h->minor == 0 || c->up_eof || c->uresp.len > h->head_len + body_len;
  if (f == FP_PASS) px->stats.passed++;
  else px->stats.injected[f]++;
  if (f == FP_RESET_AFTER) {
    if (px->cfg->verbose) fprintf(stderr, "dorm-faultproxy: #%llu applied upstream, now resetting\n", c->reqno);
    free_conn(px, slot, true);
    return;
  }
  if (c->cfd < 0) {
    px->stats.responses_lost++;
    free_conn(px, slot, false);
    return;
  }
  if (f == FP_TRUNCATE) c->close_after = true;
  bool close = c->close_after || c->client_eof;
  if (fp_respond_relay(&c->out, c->uresp.data, h, body_len, f, close) != 0) {
    free_conn(px, slot, false);
    return;
  }
  c->uresp.len = 0;
  if (up_close) close_upstream(c);
  c->state = CS_WRITE;
  c->deadline = now_ms() + px->cfg->idle_timeout_ms;
  flush_out(px, slot);
}

/* Is a complete response in uresp? Skips interim 1xx responses. */
static void up_try_complete(proxy *px, int slot) {
  conn *c = px->conns[slot];
  for (;;) {
    fp_head h;
    const char *why = NULL;
    fp_parse r = fp_parse_response(c->uresp.data, c->uresp.len, MAX_HEAD, &h, &why);
    if (r == FP_PARSE_INCOMPLETE) {
      if (c->up_eof) upstream_failed(px, slot, 502, "closed the connection before a complete response head");
      return;
    }
    if (r != FP_PARSE_OK) {
      upstream_failed(px, slot, 502, why ? why : "malformed response");
      return;
    }
    if (h.status < 200) {
      fp_buf_consume(&c->uresp, h.head_len);
      continue;
    }
    size_t body_len;
    if (h.status == 204 || h.status == 304 || c->is_head) {
      body_len = 0;
    } else if (h.content_length >= 0) {
      if (h.content_length > MAX_RESPONSE) {
        upstream_failed(px, slot, 502, "response body too large");
        return;
      }
      body_len = (size_t)h.content_length;
    } else if (h.chunked) {
      upstream_failed(px, slot, 502, "chunked responses are not supported");
      return;
    } else if (c->up_eof) {
      body_len = c->uresp.len - h.head_len; /* delimited by the close */
    } else {
      return;
    }
    if (c->uresp.len < h.head_len + body_len) {
      if (c->up_eof) upstream_failed(px, slot, 502, "closed the connection in the middle of the body");
      return;
    }
    deliver(px, slot, &h, body_len);
    return;
  }
}

static void up_read(proxy *px, int slot) {
  conn *c = px->conns[slot];
  size_t got = 0;
  while (got < MAX_READ_PER_EVENT) {
    if (c->uresp.len >= MAX_RESPONSE + MAX_HEAD) {
      upstream_failed(px, slot, 502, "response too large");
      return;
    }
    if (fp_buf_reserve(&c->uresp, READ_CHUNK) != 0) {
      upstream_failed(px, slot, 502, "out of memory");
      return;
    }
    ssize_t n = recv(c->ufd, c->uresp.data + c->uresp.len, READ_CHUNK, 0);
    if (n > 0) {
      c->uresp.len += (size_t)n;
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (retry_stale(px, slot)) return;
    if (n < 0) {
      char why[300];
      snprintf(why, sizeof why, "recv: %s", strerror(errno));
      upstream_failed(px, slot, 502, why);
      return;
    }
    c->up_eof = true;
    break;
  }
  up_try_complete(px, slot);
}

/* ---- decisions ---- */

static void dispatch(proxy *px, int slot) {
  conn *c = px->conns[slot];
  fp_fault f = c->step.fault;
  switch (f) {
    case FP_500:
    case FP_503:
    case FP_THROTTLE:
    case FP_THROTTLING:
    case FP_VALIDATION:
      px->stats.injected[f]++;
      if (c->cfd < 0) {
        px->stats.responses_lost++;
        free_conn(px, slot, false);
        return;
      }
      if (fp_respond_fault(&c->out, f, c->reqno, c->close_after || c->client_eof) != 0) {
        free_conn(px, slot, false);
        return;
      }
      c->state = CS_WRITE;
      c->deadline = now_ms() + px->cfg->idle_timeout_ms;
      flush_out(px, slot);
      return;
    case FP_RESET:
      px->stats.injected[f]++;
      free_conn(px, slot, true);
      return;
    default:
      start_upstream(px, slot);
      return;
  }
}

/* Copies the request for the upstream: same request line and headers minus
 * the hop-by-hop ones (we answer Expect ourselves, and keep-alive is ours). */
static int build_upstream_request(conn *c, const fp_head *h) {
  fp_buf *b = &c->ureq;
  b->len = 0;
  c->ureq_off = 0;
  if (fp_buf_printf(b, "%.*s %.*s HTTP/1.1\r\n", (int)h->method_len, h->method, (int)h->target_len, h->target) != 0)
    return -1;
  for (size_t i = 0; i < h->nheaders; i++) {
    const fp_header *hd = &h->headers[i];
    if (fp_header_hop_by_hop(hd)) continue;
    if (fp_buf_printf(b, "%.*s: %.*s\r\n", (int)hd->name_len, hd->name, (int)hd->value_len, hd->value) != 0)
      return -1;
  }
  if (fp_buf_append(b, "\r\n", 2) != 0) return -1;
  size_t cl = h->content_length > 0 ? (size_t)h->content_length : 0;
  return fp_buf_append(b, c->in.data + h->head_len, cl);
}

static void set_op(conn *c, const fp_head *h) {
  c->op[0] = '\0';
  const fp_header *t = fp_head_find(h, "x-amz-target");
  if (!t) return;
  const char *dot = memchr(t->value, '.', t->value_len);
  const char *s = dot ? dot + 1 : t->value;
  size_t n = t->value_len - (size_t)(s - t->value);
  if (n >= sizeof c->op) n = sizeof c->op - 1;
  memcpy(c->op, s, n);
  c->op[n] = '\0';
}

static void process_input(proxy *px, int slot) {
  conn *c = px->conns[slot];
  fp_head h;
  const char *why = NULL;
  fp_parse r = fp_parse_request(c->in.data, c->in.len, MAX_HEAD, &h, &why);
  if (r == FP_PARSE_INCOMPLETE) {
    if (c->client_eof) free_conn(px, slot, false);
    return;
  }
  if (r == FP_PARSE_BAD) {
    bad_request(px, slot, 400, why);
    return;
  }
  if (r == FP_PARSE_TOO_LARGE) {
    bad_request(px, slot, 431, why);
    return;
  }
  if (h.chunked) {
    bad_request(px, slot, 501, "Transfer-Encoding is not supported; send a Content-Length");
    return;
  }
  if (h.content_length > MAX_BODY) {
    bad_request(px, slot, 413, "request body larger than 32 MiB");
    return;
  }
  size_t cl = h.content_length > 0 ? (size_t)h.content_length : 0;
  if (c->in.len < h.head_len + cl) {
    if (h.expect_continue && !c->sent_continue) {
      c->sent_continue = true;
      if (fp_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) {
        free_conn(px, slot, false);
        return;
      }
      flush_out(px, slot);
      if (!px->conns[slot]) return;
    }
    if (c->client_eof) free_conn(px, slot, false);
    return;
  }

  c->close_after = h.conn_close || (h.minor == 0 && !h.conn_keep_alive);
  c->is_head = h.method_len == 4 && memcmp(h.method, "HEAD", 4) == 0;
  if (fp_control_target(h.target, h.target_len)) {
    px->stats.control++;
    int rc = fp_control(&h, c->in.data + h.head_len, cl, px->plan, &px->stats, &c->out,
                        c->close_after || c->client_eof);
    fp_buf_consume(&c->in, h.head_len + cl);
    if (rc != 0) {
      free_conn(px, slot, false);
      return;
    }
    c->state = CS_WRITE;
    c->deadline = now_ms() + px->cfg->idle_timeout_ms;
    flush_out(px, slot);
    return;
  }

  c->reqno = ++px->stats.requests;
  set_op(c, &h);
  if (build_upstream_request(c, &h) != 0) {
    free_conn(px, slot, false);
    return;
  }
  fp_buf_consume(&c->in, h.head_len + cl);
  c->forward_counted = false;
  c->up_retried = false;
  fp_step step = {FP_PASS, false};
  if (fp_plan_applies(px->plan, c->op, strlen(c->op))) step = fp_plan_decide(px->plan);
  c->step = step;
  if (px->cfg->verbose) {
    fprintf(stderr, "dorm-faultproxy: #%llu %s: %s%s\n", c->reqno, c->op[0] ? c->op : "(no X-Amz-Target)",
            step.slow ? "slow+" : "", fp_fault_name(step.fault));
  }
  if (step.slow) {
    px->stats.slow++;
    c->state = CS_DELAY;
    c->deadline = now_ms() + px->plan->delay_ms;
    return;
  }
  dispatch(px, slot);
}

/* ---- client side ---- */

static void start_read(proxy *px, conn *c) {
  c->state = CS_READ;
  c->out.len = 0;
  c->out_off = 0;
  c->sent_continue = false;
  c->step.fault = FP_PASS;
  c->step.slow = false;
  c->op[0] = '\0';
  c->deadline = now_ms() + px->cfg->idle_timeout_ms;
}

static void finish_response(proxy *px, int slot) {
  conn *c = px->conns[slot];
  if (c->close_after) {
    free_conn(px, slot, false);
    return;
  }
  start_read(px, c);
  /* Not processed here: a client that pipelines many requests would make
   * respond -> finish -> process recurse without bound. */
  c->pending = c->in.len > 0 || c->client_eof;
}

static void flush_out(proxy *px, int slot) {
  conn *c = px->conns[slot];
  if (c->cfd < 0) {
    c->out.len = c->out_off = 0;
  }
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->cfd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    client_gone(c);
    if (c->state == CS_WRITE) {
      px->stats.responses_lost++;
      free_conn(px, slot, false);
    }
    return;
  }
  c->out.len = c->out_off = 0;
  if (c->state == CS_WRITE) {
    if (c->cfd < 0) {
      free_conn(px, slot, false);
      return;
    }
    finish_response(px, slot);
  }
}

static void client_read(proxy *px, int slot) {
  conn *c = px->conns[slot];
  size_t got = 0;
  while (got < MAX_READ_PER_EVENT && c->in.len < MAX_HEAD + MAX_BODY) {
    if (fp_buf_reserve(&c->in, READ_CHUNK) != 0) {
      free_conn(px, slot, false);
      return;
    }
    ssize_t n = recv(c->cfd, c->in.data + c->in.len, READ_CHUNK, 0);
    if (n > 0) {
      c->in.len += (size_t)n;
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    /* A FIN while its request is being worked on: HTTP clients do not
     * half-close, so the client gave up (a timeout). The request still runs. */
    if (n == 0 && c->state == CS_READ) c->client_eof = true;
    else client_gone(c);
    break;
  }
  if (c->state == CS_READ) {
    if (got > 0) c->deadline = now_ms() + px->cfg->idle_timeout_ms;
    if (c->cfd < 0) {
      free_conn(px, slot, false);
      return;
    }
    process_input(px, slot);
  }
}

static void on_timer(proxy *px, int slot) {
  conn *c = px->conns[slot];
  switch (c->state) {
    case CS_READ:
    case CS_WRITE:
      if (px->cfg->verbose) fprintf(stderr, "dorm-faultproxy: closing a client idle for %ld ms\n", px->cfg->idle_timeout_ms);
      free_conn(px, slot, false);
      return;
    case CS_DELAY:
      dispatch(px, slot);
      return;
    case CS_CONNECT:
    case CS_UP_WRITE:
    case CS_UP_READ: {
      char why[128];
      snprintf(why, sizeof why, "no complete response within %ld ms", px->cfg->upstream_timeout_ms);
      upstream_failed(px, slot, 504, why);
      return;
    }
  }
}

static void accept_clients(proxy *px) {
  for (int i = 0; i < 64; i++) {
    int fd = accept(px->cfg->listen_fd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
        fprintf(stderr, "dorm-faultproxy: accept: %s\n", strerror(errno));
      return;
    }
    int slot = -1;
    for (int s = 0; s < MAX_CONNS; s++) {
      if (!px->conns[s]) {
        slot = s;
        break;
      }
    }
    conn *c = slot >= 0 && set_nonblocking(fd) == 0 ? calloc(1, sizeof *c) : NULL;
    if (!c) {
      px->stats.rejected++;
      close_rst(fd);
      continue;
    }
    set_nodelay(fd);
    c->cfd = fd;
    c->ufd = -1;
    px->conns[slot] = c;
    px->stats.accepted++;
    px->stats.open++;
    start_read(px, c);
  }
}

/* Events each socket waits for in the current state. */
static short client_events(const conn *c) {
  short ev = 0;
  if (c->cfd < 0) return 0;
  if (!c->client_eof && c->in.len < MAX_HEAD + MAX_BODY) ev |= POLLIN;
  if (c->out_off < c->out.len) ev |= POLLOUT;
  return ev;
}

static short upstream_events(const conn *c) {
  if (c->ufd < 0) return 0;
  switch (c->state) {
    case CS_CONNECT:
    case CS_UP_WRITE: return POLLOUT;
    default: return POLLIN; /* in CS_UP_READ the answer; otherwise a stale close */
  }
}

static void handle_client(proxy *px, int slot, short rev) {
  conn *c = px->conns[slot];
  if (rev & (POLLIN | POLLHUP | POLLERR)) {
    if (!c->client_eof) {
      client_read(px, slot);
      if (!px->conns[slot]) return;
    } else if (rev & (POLLHUP | POLLERR)) {
      client_gone(c);
    }
  }
  if (c->cfd >= 0 && (rev & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) && c->out_off < c->out.len) {
    flush_out(px, slot);
    if (!px->conns[slot]) return;
  }
  if (c->cfd < 0 && (c->state == CS_READ || c->state == CS_WRITE)) free_conn(px, slot, false);
}

static void handle_upstream(proxy *px, int slot, short rev) {
  conn *c = px->conns[slot];
  switch (c->state) {
    case CS_CONNECT:
      up_connected(px, slot);
      return;
    case CS_UP_WRITE:
      up_write(px, slot);
      return;
    case CS_UP_READ:
      up_read(px, slot);
      return;
    default:
      /* Idle upstream readable: it closed (or sent garbage). Either way it is done. */
      (void)rev;
      close_upstream(c);
      return;
  }
}

int fp_proxy_run(const fp_config *cfg, fp_plan *plan) {
  static proxy px; /* large (the connection table); one per process */
  memset(&px, 0, sizeof px);
  px.cfg = cfg;
  px.plan = plan;
  pid_t parent = getppid();
  struct pollfd pfd[2 + 2 * MAX_CONNS];
  int pslot[2 + 2 * MAX_CONNS];
  unsigned pepoch[2 + 2 * MAX_CONNS];
  int rc = 0;
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = cfg->wake_fd, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = cfg->listen_fd, .events = POLLIN};
    int64_t now = now_ms(), next = now + (cfg->die_with_parent ? 500 : 60000);
    for (int s = 0; s < MAX_CONNS; s++) {
      conn *c = px.conns[s];
      if (!c) continue;
      if (c->deadline < next) next = c->deadline;
      if (c->pending) next = now;
      if (c->cfd >= 0) {
        pslot[n] = s;
        pfd[n++] = (struct pollfd){.fd = c->cfd, .events = client_events(c)};
      }
      if (c->ufd >= 0) {
        pslot[n] = s;
        pepoch[n] = c->uepoch;
        pfd[n++] = (struct pollfd){.fd = c->ufd, .events = upstream_events(c)};
      }
    }
    int timeout = next <= now ? 0 : (int)(next - now);
    int ready = poll(pfd, (nfds_t)n, timeout);
    if (ready < 0 && errno != EINTR) {
      fprintf(stderr, "dorm-faultproxy: poll: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    if (ready > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) break;
    if (cfg->die_with_parent && getppid() != parent) {
      fprintf(stderr, "dorm-faultproxy: parent process gone, exiting\n");
      break;
    }
    if (ready > 0) {
      if (pfd[1].revents & POLLIN) accept_clients(&px);
      for (int i = 2; i < n; i++) {
        short rev = pfd[i].revents;
        if (!rev) continue;
        int s = pslot[i];
        conn *c = px.conns[s];
        if (!c) continue;
        if (pfd[i].fd == c->cfd) handle_client(&px, s, rev);
        else if (pfd[i].fd == c->ufd && pepoch[i] == c->uepoch) handle_upstream(&px, s, rev);
      }
    }
    now = now_ms();
    for (int s = 0; s < MAX_CONNS; s++) {
      if (px.conns[s] && px.conns[s]->deadline <= now) on_timer(&px, s);
    }
    for (int s = 0; s < MAX_CONNS; s++) {
      conn *c = px.conns[s];
      if (c && c->pending) {
        c->pending = false;
        if (c->state == CS_READ) process_input(&px, s);
      }
    }
  }
  for (int s = 0; s < MAX_CONNS; s++) free_conn(&px, s, false);
  fp_plan_free(plan);
  return rc;
}
