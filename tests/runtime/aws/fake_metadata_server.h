/* A route table over fake_aws_server for testing the container and IMDS
 * credential sources: a loopback server in a thread of the test answers each request
 * from a table of routes (method + path -> status, body, optional delay),
 * records every request it saw (method, path, headers) in order, and closes
 * the connection after each answer. Unknown routes get 404. */
#ifndef DORM_FAKE_METADATA_SERVER_H
#define DORM_FAKE_METADATA_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_aws_server.h"

typedef struct fms fms;

/* A request as the server saw it (method, path, headers; body unused). */
typedef fas_request fms_request;

/* Starts a server on an ephemeral loopback port. NULL on failure. */
fms *fms_start(void);

/* Stops the thread, closes the socket, frees everything. */
void fms_stop(fms *s);

/* "http://127.0.0.1:<port>" */
const char *fms_url(const fms *s);

/* Sets (or replaces) the answer for method + path. body is copied. */
void fms_route(fms *s, const char *method, const char *path, int status, const char *body);

/* Makes the server wait delay_ms before answering method + path. */
void fms_route_delay(fms *s, const char *method, const char *path, int delay_ms);

/* Forgets all routes (everything answers 404 again). */
void fms_clear_routes(fms *s);

/* Number of requests seen so far, and a copy of the i-th one. */
size_t fms_count(fms *s);
bool fms_request_at(fms *s, size_t i, fms_request *out);

/* The value of header name (case-insensitive) in r, copied into buf; NULL if absent. */
const char *fms_header(const fms_request *r, const char *name, char *buf, size_t cap);

#endif
