#include "fake_aws_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAS_MAX_LOG 128

struct fas {
  int listen_fd;
  int wake[2];
  pthread_t thread;
  pthread_mutex_t mu;
  char url[64];
  fas_handler handler;
  void *user;
  fas_request *log;   /* FAS_MAX_LOG entries */
  size_t nlog;
};

static bool wait_or_stop(fas *s, int ms) {
  struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
  return poll(&p, 1, ms) > 0;
}

/* Reads until want bytes are in buf (or the peer stops, or 2 s pass). */
static bool read_more(fas *s, int fd, char *buf, size_t cap, size_t *len) {
  if (*len >= cap) return false;
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
  if (poll(p, 2, 2000) <= 0 || p[1].revents) return false;
  ssize_t got = recv(fd, buf + *len, cap - *len, 0);
  if (got <= 0) return false;
  *len += (size_t)got;
  return true;
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

enum { RAW_CAP = 8192 + 16384 + 1 };

/* One request: read (bounded), logged, answered by the handler. The buffers
 * are per call: several servers may run in one test process. */
static void handle(fas *s, int fd) {
  char *raw = malloc(RAW_CAP);
  fas_request *r = calloc(1, sizeof *r);
  fas_response *resp = calloc(1, sizeof *resp);
  size_t len = 0;
  char *end = NULL;
  while (raw && r && resp && !end) {
    if (!read_more(s, fd, raw, RAW_CAP - 1, &len)) break;
    raw[len] = '\0';
    end = strstr(raw, "\r\n\r\n");
  }
  if (!end || sscanf(raw, "%15s %1023s", r->method, r->path) != 2) {
    free(raw);
    free(r);
    free(resp);
    return;
  }
  char *hdr = strstr(raw, "\r\n") + 2;
  size_t hl = hdr < end ? (size_t)(end - hdr) : 0;
  if (hl >= sizeof r->headers) hl = sizeof r->headers - 1;
  memcpy(r->headers, hdr, hl);
  char cl[32];
  size_t want = fas_header(r, "Content-Length", cl, sizeof cl) ? (size_t)strtoul(cl, NULL, 10) : 0;
  size_t head = (size_t)(end + 4 - raw);
  while (len - head < want && read_more(s, fd, raw, RAW_CAP - 1, &len)) {
  }
  size_t bl = len - head < want ? len - head : want;
  if (bl >= sizeof r->body) bl = sizeof r->body - 1;
  memcpy(r->body, raw + head, bl);
  r->body[bl] = '\0';
  r->body_len = bl;
  resp->status = 200;
  snprintf(resp->content_type, sizeof resp->content_type, "text/xml");
  pthread_mutex_lock(&s->mu);
  if (s->nlog < FAS_MAX_LOG) s->log[s->nlog++] = *r;
  s->handler(s->user, r, resp);
  pthread_mutex_unlock(&s->mu);
  free(raw);
  if (resp->delay_ms > 0 && wait_or_stop(s, resp->delay_ms)) {
    free(r);
    free(resp);
    return;
  }
  char headline[256];
  int n = snprintf(headline, sizeof headline,
                   "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: %s\r\n"
                   "x-amzn-RequestId: 4f1e2d3c-0000-4000-8000-fakeaws00001\r\nConnection: close\r\n\r\n",
                   resp->status, reason(resp->status), strlen(resp->body), resp->content_type);
  (void)!send(fd, headline, (size_t)n, MSG_NOSIGNAL);
  (void)!send(fd, resp->body, strlen(resp->body), MSG_NOSIGNAL);
  free(r);
  free(resp);
}

static void *serve(void *arg) {
  fas *s = arg;
  for (;;) {
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) continue;
    handle(s, fd);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
  return NULL;
}

fas *fas_start(fas_handler handler, void *user) {
  fas *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->log = calloc(FAS_MAX_LOG, sizeof *s->log);
  s->handler = handler;
  s->user = user;
  s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (!s->log || s->listen_fd < 0 || pipe(s->wake) != 0) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    free(s->log);
    free(s);
    return NULL;
  }
  int one = 1;
  setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, 64) != 0 ||
      getsockname(s->listen_fd, (struct sockaddr *)&a, &al) != 0) {
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s->log);
    free(s);
    return NULL;
  }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  pthread_mutex_init(&s->mu, NULL);
  if (pthread_create(&s->thread, NULL, serve, s) != 0) {
    pthread_mutex_destroy(&s->mu);
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s->log);
    free(s);
    return NULL;
  }
  return s;
}

void fas_stop(fas *s) {
  if (!s) return;
  (void)!write(s->wake[1], "x", 1);
  pthread_join(s->thread, NULL);
  close(s->listen_fd);
  close(s->wake[0]);
  close(s->wake[1]);
  pthread_mutex_destroy(&s->mu);
  free(s->log);
  free(s);
}

const char *fas_url(const fas *s) { return s->url; }

size_t fas_count(fas *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->nlog;
  pthread_mutex_unlock(&s->mu);
  return n;
}

bool fas_request_at(fas *s, size_t i, fas_request *out) {
  pthread_mutex_lock(&s->mu);
  bool ok = i < s->nlog;
  if (ok) *out = s->log[i];
  pthread_mutex_unlock(&s->mu);
  return ok;
}

const char *fas_header(const fas_request *r, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  const char *line = r->headers;
  while (*line) {
    const char *eol = strstr(line, "\r\n");
    size_t ll = eol ? (size_t)(eol - line) : strlen(line);
    if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl + 1;
      while (*v == ' ') v++;
      size_t vl = ll - (size_t)(v - line);
      if (vl >= cap) vl = cap - 1;
      memcpy(buf, v, vl);
      buf[vl] = '\0';
      return buf;
    }
    if (!eol) break;
    line = eol + 2;
  }
  return NULL;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char *fas_param(const char *text, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  const char *p = text;
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t pl = amp ? (size_t)(amp - p) : strlen(p);
    if (pl > nl && p[nl] == '=' && strncmp(p, name, nl) == 0) {
      size_t o = 0;
      for (size_t i = nl + 1; i < pl && o + 1 < cap; i++) {
        if (p[i] == '%' && i + 2 < pl + 1 && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
          buf[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
          i += 2;
        } else {
          buf[o++] = p[i] == '+' ? ' ' : p[i];
        }
      }
      buf[o] = '\0';
      return buf;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}
