/* fake_metadata_server: a route table (method + path -> status, body, delay)
 * played by fake_aws_server, which owns the socket, the thread and the
 * request log. */
#include "fake_metadata_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FMS_MAX_ROUTES 32

typedef struct route {
  char method[16];
  char path[512];
  int status;
  char *body;
  int delay_ms;
} route;

struct fms {
  fas *server;
  pthread_mutex_t mu; /* the routes: set by the test, read by the server's thread */
  route routes[FMS_MAX_ROUTES];
  size_t nroutes;
};

static void answer(void *user, const fas_request *r, fas_response *resp) {
  fms *s = user;
  resp->status = 404;
  snprintf(resp->content_type, sizeof resp->content_type, "text/plain");
  snprintf(resp->body, sizeof resp->body, "not found");
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->nroutes; i++) {
    const route *rt = &s->routes[i];
    if (strcmp(rt->method, r->method) != 0 || strcmp(rt->path, r->path) != 0) continue;
    resp->status = rt->status;
    resp->delay_ms = rt->delay_ms;
    snprintf(resp->body, sizeof resp->body, "%s", rt->body ? rt->body : "");
    break;
  }
  pthread_mutex_unlock(&s->mu);
}

fms *fms_start(void) {
  fms *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->mu, NULL);
  s->server = fas_start(answer, s);
  if (!s->server) {
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
  }
  return s;
}

void fms_stop(fms *s) {
  if (!s) return;
  fas_stop(s->server);
  fms_clear_routes(s);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

const char *fms_url(const fms *s) { return fas_url(s->server); }

static route *find_or_add(fms *s, const char *method, const char *path) {
  for (size_t i = 0; i < s->nroutes; i++)
    if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].path, path) == 0) return &s->routes[i];
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

size_t fms_count(fms *s) { return fas_count(s->server); }

bool fms_request_at(fms *s, size_t i, fms_request *out) { return fas_request_at(s->server, i, out); }

const char *fms_header(const fms_request *r, const char *name, char *buf, size_t cap) {
  return fas_header(r, name, buf, cap);
}
