#include "scripted_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SS_MAX 256
#define SS_MAX_REQUEST (32u * 1024 * 1024)

typedef struct ss_answer {
  int status;
  char *body;
} ss_answer;

typedef struct ss_seen {
  char *target, *body;
} ss_seen;

struct ss {
  int listen_fd, wake[2];
  pthread_t thread;
  pthread_mutex_t mu;
  char url[64];
  ss_answer script[SS_MAX];
  size_t nscript, next;
  ss_seen seen[SS_MAX];
  size_t nseen;
};

/* Reads until the whole request (head + Content-Length body) is in; returns
 * the malloc'd buffer and sets *head_len, or NULL. */
static char *read_request(ss *s, int fd, size_t *head_len, size_t *total) {
  size_t cap = 65536, len = 0, need = 0;
  char *buf = malloc(cap + 1);
  if (!buf) return NULL;
  for (;;) {
    if (need && len >= need) break;
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    if (poll(p, 2, 5000) <= 0 || p[1].revents) break;
    if (len == cap) {
      if (cap >= SS_MAX_REQUEST) break;
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) break;
      buf = nb;
      cap *= 2;
    }
    ssize_t got = recv(fd, buf + len, cap - len, 0);
    if (got <= 0) break;
    len += (size_t)got;
    buf[len] = '\0';
    if (!need) {
      char *end = strstr(buf, "\r\n\r\n");
      if (!end) continue;
      *head_len = (size_t)(end - buf) + 4;
      size_t cl = 0;
      for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0) cl = strtoul(l + 17, NULL, 10);
      need = *head_len + cl;
    }
  }
  if (!need || len < need) {
    free(buf);
    return NULL;
  }
  *total = need;
  return buf;
}

static char *header_value(const char *buf, size_t head_len, const char *name) {
  size_t nl = strlen(name);
  for (const char *l = strstr(buf, "\r\n"); l && (size_t)(l - buf) < head_len; l = strstr(l + 2, "\r\n")) {
    if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
      const char *v = l + 3 + nl;
      while (*v == ' ') v++;
      const char *e = strstr(v, "\r\n");
      return strndup(v, e ? (size_t)(e - v) : strlen(v));
    }
  }
  return strdup("");
}

static void handle(ss *s, int fd) {
  size_t head_len = 0, total = 0;
  char *req = read_request(s, fd, &head_len, &total);
  if (!req) return;
  int status = 500;
  char *body = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->nseen < SS_MAX) {
    s->seen[s->nseen].target = header_value(req, head_len, "X-Amz-Target");
    s->seen[s->nseen].body = strndup(req + head_len, total - head_len);
    s->nseen++;
  }
  if (s->next < s->nscript) {
    status = s->script[s->next].status;
    body = strdup(s->script[s->next].body);
    s->next++;
  }
  pthread_mutex_unlock(&s->mu);
  free(req);
  const char *b = body ? body : "script exhausted";
  char head[256];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: application/x-amz-json-1.0\r\n"
                    "x-amzn-RequestId: SCRIPTED%zu\r\nConnection: close\r\n\r\n",
                    status, status == 200 ? "OK" : "Error", strlen(b), s->nseen);
  (void)!send(fd, head, (size_t)hn, MSG_NOSIGNAL);
  (void)!send(fd, b, strlen(b), MSG_NOSIGNAL);
  free(body);
}

static void *serve(void *arg) {
  ss *s = arg;
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

ss *ss_start(void) {
  ss *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(s->listen_fd, 16) != 0 || getsockname(s->listen_fd, (struct sockaddr *)&addr, &alen) != 0 ||
      pipe(s->wake) != 0) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    free(s);
    return NULL;
  }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
  pthread_mutex_init(&s->mu, NULL);
  if (pthread_create(&s->thread, NULL, serve, s) != 0) {
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
  }
  return s;
}

void ss_stop(ss *s) {
  if (!s) return;
  (void)!write(s->wake[1], "x", 1);
  pthread_join(s->thread, NULL);
  close(s->listen_fd);
  close(s->wake[0]);
  close(s->wake[1]);
  for (size_t i = 0; i < s->nscript; i++) free(s->script[i].body);
  for (size_t i = 0; i < s->nseen; i++) {
    free(s->seen[i].target);
    free(s->seen[i].body);
  }
  pthread_mutex_destroy(&s->mu);
  free(s);
}

const char *ss_url(const ss *s) { return s->url; }

dorm_client *ss_client(const ss *s, char *err, size_t errcap) {
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = ss_url(s);
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  dorm_client *c = NULL;
  return dorm_client_new(&cfg, &c, err, errcap) == DORM_OK ? c : NULL;
}

void ss_push(ss *s, int status, const char *body) {
  pthread_mutex_lock(&s->mu);
  if (s->nscript < SS_MAX) {
    s->script[s->nscript].status = status;
    s->script[s->nscript].body = strdup(body);
    s->nscript++;
  }
  pthread_mutex_unlock(&s->mu);
}

size_t ss_count(ss *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->nseen;
  pthread_mutex_unlock(&s->mu);
  return n;
}

static char *seen_copy(ss *s, size_t i, bool body) {
  pthread_mutex_lock(&s->mu);
  char *r = i < s->nseen ? strdup(body ? s->seen[i].body : s->seen[i].target) : NULL;
  pthread_mutex_unlock(&s->mu);
  return r;
}

char *ss_body(ss *s, size_t i) { return seen_copy(s, i, true); }
char *ss_target(ss *s, size_t i) { return seen_copy(s, i, false); }
