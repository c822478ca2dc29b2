/* A loopback HTTP/1.1 server that answers requests with a script: the
 * responses queued with ss_push(), in order. It records each request's
 * X-Amz-Target and body so a test can check exactly what a client sent
 * (for example that a retry resent the same ClientRequestToken, or that a
 * batch retry carried only the unprocessed keys). One connection at a time;
 * "Connection: close" after every answer. When the script runs out it
 * answers 500 with the body "script exhausted". Test code only. */
#ifndef DORM_SCRIPTED_SERVER_H
#define DORM_SCRIPTED_SERVER_H

#include <stddef.h>

#include "dorm/arena.h"
#include "dorm/client.h"

typedef struct ss ss;

/* Starts on an ephemeral 127.0.0.1 port; NULL on failure. */
ss *ss_start(void);
/* Stops the thread and frees everything (NULL is ignored). */
void ss_stop(ss *s);
/* "http://127.0.0.1:<port>" */
const char *ss_url(const ss *s);
/* A client for the server (region us-east-1, test keys, no instance
 * metadata); NULL with the reason in err when dorm_client_new fails. The
 * caller frees it with dorm_client_free. */
dorm_client *ss_client(const ss *s, char *err, size_t errcap);
/* Queues the next answer (body copied). */
void ss_push(ss *s, int status, const char *body);
/* Requests answered so far. */
size_t ss_count(ss *s);
/* A malloc'd copy of request i's body / X-Amz-Target value ("" if absent); NULL when i is out of range. */
char *ss_body(ss *s, size_t i);
char *ss_target(ss *s, size_t i);

/* The cmocka fixture of the tests built on this server (ss_fixture.c): a
 * server, a client for it whose back-off sleeps are recorded instead of
 * slept, and an arena for the test's values, all freed by teardown. Use as
 * cmocka_unit_test_setup_teardown(test, ss_fixture_setup, ss_fixture_teardown);
 * a test reads it with `ss_fixture *f = *state;`. */
#define SS_SLEEPS_KEPT 256
typedef struct ss_sleeps {
  int n;                   /* sleeps asked for */
  long ms[SS_SLEEPS_KEPT]; /* the first SS_SLEEPS_KEPT of them, in ms */
} ss_sleeps;

typedef struct ss_fixture {
  ss *server;
  dorm_client *c;
  ss_sleeps slept;
  dorm_arena a;
} ss_fixture;

int ss_fixture_setup(void **state);
int ss_fixture_teardown(void **state);

#endif
