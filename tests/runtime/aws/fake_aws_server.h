/* A loopback HTTP/1.1 server for the tests of the AWS credential services
 * (STS, SSO, SSO OIDC) and of clients that use them. Unlike
 * fake_metadata_server it reads request bodies (Content-Length) and lets the
 * test answer each request from a handler, so a test can play a service:
 * check the request's shape (action, version, signature) and answer with
 * the service's recorded document or error. Every request is logged.
 * One connection at a time; each is closed after its answer. */
#ifndef DORM_FAKE_AWS_SERVER_H
#define DORM_FAKE_AWS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fas fas;

typedef struct fas_request {
  char method[16];
  char path[1024];      /* with the query string */
  char headers[8192];   /* raw header lines, "\r\n"-separated */
  char body[16384];     /* NUL-terminated (bodies longer than this are cut) */
  size_t body_len;
} fas_request;

typedef struct fas_response {
  int status;                /* 200 unless the handler says otherwise */
  char content_type[64];     /* "text/xml" unless set */
  char body[16384];
  int delay_ms;              /* wait this long before answering */
} fas_response;

/* Called in the server's thread, one request at a time. */
typedef void (*fas_handler)(void *user, const fas_request *req, fas_response *resp);

fas *fas_start(fas_handler handler, void *user);
void fas_stop(fas *s);
const char *fas_url(const fas *s);   /* "http://127.0.0.1:<port>" */
size_t fas_count(fas *s);
bool fas_request_at(fas *s, size_t i, fas_request *out);

/* The value of header name (case-insensitive), copied into buf; NULL if absent. */
const char *fas_header(const fas_request *r, const char *name, char *buf, size_t cap);

/* The URL-decoded value of a form (or query) parameter in text ("a=1&b=2"); NULL if absent. */
const char *fas_param(const char *text, const char *name, char *buf, size_t cap);

#endif
