#include "fake_metadata_server.h"

#include <arpa/inet.h>
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

#define FMS_MAX_ROUTES 32
#define FMS_MAX_LOG 128

typedef struct route {
  char method[16];
  char path[512];
  int status;
  char *body;
  int delay_ms;
} route;

struct fms {
  int listen_fd;
  int wake[2];
  pthread_t thread;
  pthread_mutex_t mu;
  char url[64];
  route routes[FMS_MAX_ROUTES];
  size_t nroutes;
  fms_request log[FMS_MAX_LOG];
  size_t nlog;
};

/* Waits up to ms for the stop signal; returns true when asked to stop. */
static bool wait_or_stop(fms *s, int ms) {
  struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
  return poll(&p, 1, ms) > 0;
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

static void handle(fms *s, int fd) {
  char req[8192];
  size_t len = 0;
  char *end = NULL;
  /* Read the request head (bounded in size and time). */
  while (len < sizeof req - 1) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    if (poll(p, 2, 2000) <= 0 || p[1].revents) return;
    ssize_t got = recv(fd, req + len, sizeof req - 1 - len, 0);
    if (got <= 0) return;
    len += (size_t)got;
    req[len] = '\0';
    if ((end = strstr(req, "\r\n\r\n"))) break;
  }
  if (!end) return;
  fms_request r;
  memset(&r, 0, sizeof r);
  if (sscanf(req, "%15s %511s", r.method, r.path) != 2) return;
  char *hdr = strstr(req, "\r\n");
  if (hdr && hdr < end) {
    hdr += 2;
    size_t hl = (size_t)(end - hdr);
    if (hl >= sizeof r.headers) hl = sizeof r.headers - 1;
    memcpy(r.headers, hdr, hl);
  }
  int status = 404, delay = 0;
  char *body = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->nlog < FMS_MAX_LOG) s->log[s->nlog++] = r;
  for (size_t i = 0; i < s->nroutes; i++) {
    if (strcmp(s->routes[i].method, r.method) == 0 && strcmp(s->routes[i].path, r.path) == 0) {
      status = s->routes[i].status;
      delay = s->routes[i].delay_ms;
      body = s->routes[i].body ? strdup(s->routes[i].body) : NULL;
      break;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (delay > 0 && wait_or_stop(s, delay)) {
    free(body);
    return;
  }
  const char *b = body ? body : (status == 404 ? "not found" : "");
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n"
                    "Connection: close\r\n\r\n",
                    status, reason(status), strlen(b));
  (void)!send(fd, head, (size_t)hn, MSG_NOSIGNAL);
  (void)!send(fd, b, strlen(b), MSG_NOSIGNAL);
  free(body);
}

static void *serve(void *arg) {
  fms *s = arg;
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

fms *fms_start(void) {
  fms *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->listen_fd < 0 || pipe(s->wake) != 0) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    free(s);
    return NULL;
  }
  int one = 1;
  setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, 16) != 0 ||
      getsockname(s->listen_fd, (struct sockaddr *)&a, &al) != 0) {
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
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
    free(s);
    return NULL;
  }
  return s;
}

void fms_stop(fms *s) {
  if (!s) return;
  (void)!write(s->wake[1], "x", 1);
  pthread_join(s->thread, NULL);
  close(s->listen_fd);
  close(s->wake[0]);
  close(s->wake[1]);
  fms_clear_routes(s);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

const char *fms_url(const fms *s) { return s->url; }

static route *find_or_add(fms *s, const char *method, const char *path) {
  for (size_t i = 0; i < s->nroutes; i++)
    if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].path, path) == 0)
      return &s->routes[i];
  if (s->nroutes == FMS_MAX_ROUTES) return NULL;
  route *r = &s->routes[s->nroutes++];
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", method);
  snprintf(r->path, sizeof r->path, "%s", path);
  r->status = 404;
  return r;
}

void fms_route(fms *s, const char *method, const char *path, int status, const char *body) {
  pthread_mutex_lock(&s->mu);
  route *r = find_or_add(s, method, path);
  if (r) {
    free(r->body);
    r->body = body ? strdup(body) : NULL;
    r->status = status;
  }
  pthread_mutex_unlock(&s->mu);
}

void fms_route_delay(fms *s, const char *method, const char *path, int delay_ms) {
  pthread_mutex_lock(&s->mu);
  route *r = find_or_add(s, method, path);
  if (r) r->delay_ms = delay_ms;
  pthread_mutex_unlock(&s->mu);
}

void fms_clear_routes(fms *s) {
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->nroutes; i++) free(s->routes[i].body);
  s->nroutes = 0;
  pthread_mutex_unlock(&s->mu);
}

size_t fms_count(fms *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->nlog;
  pthread_mutex_unlock(&s->mu);
  return n;
}

bool fms_request_at(fms *s, size_t i, fms_request *out) {
  pthread_mutex_lock(&s->mu);
  bool ok = i < s->nlog;
  if (ok) *out = s->log[i];
  pthread_mutex_unlock(&s->mu);
  return ok;
}

const char *fms_header(const fms_request *r, const char *name, char *buf, size_t cap) {
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
