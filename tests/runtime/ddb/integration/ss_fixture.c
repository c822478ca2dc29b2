/* The cmocka fixture the scripted-server tests share (scripted_server.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "client_internal.h"
#include "scripted_server.h"

/* The client's back-off sleeps are recorded, not slept: tests assert the
 * delays the retry policy asked for without waiting for them. */
static void record_sleep(void *user, long ms) {
  ss_sleeps *s = user;
  if (s->n < SS_SLEEPS_KEPT) s->ms[s->n] = ms;
  s->n++;
}

int ss_fixture_setup(void **state) {
  ss_fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->server = ss_start();
  assert_non_null(f->server);
  char err[256];
  f->c = ss_client(f->server, err, sizeof err);
  if (!f->c) fail_msg("%s", err);
  dorm__client_set_sleep(f->c, record_sleep, &f->slept);
  *state = f;
  return 0;
}

int ss_fixture_teardown(void **state) {
  ss_fixture *f = *state;
  dorm_client_free(f->c);
  ss_stop(f->server);
  dorm_arena_free(&f->a);
  free(f);
  return 0;
}
