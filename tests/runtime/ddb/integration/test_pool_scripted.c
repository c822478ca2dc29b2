/* dorm_pool against the scripted loopback server: throttling retried with
 * the client's policy (the same attempts, delays and message as a single
 * call), per-request errors that leave the other requests alone, a batch
 * write's UnprocessedItems resent per chunk while other chunks are in
 * flight, and requests abandoned by an early dorm_pool_free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "client_internal.h"
#include "scripted_server.h"

#define THROTTLE "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",\"message\":\"slow down\"}"
#define NOTABLE \
  "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\",\"message\":\"no such table\"}"

/* What a callback saw, copied out of the pool's result. */
typedef struct seen {
  int calls;
  dorm_status status;
  int attempts;
  long http_status;
  char errmsg[1024];
  char code[96];
  char body[256];
  int order; /* completion order, from 1 */
} seen;

static int completions;

static void on_done(void *user, const dorm_pool_result *r) {
  seen *s = user;
  s->calls++;
  s->status = r->status;
  s->attempts = r->attempts;
  s->http_status = r->http_status;
  s->order = ++completions;
  snprintf(s->errmsg, sizeof s->errmsg, "%s", r->errmsg);
  snprintf(s->code, sizeof s->code, "%s", r->error_code);
  snprintf(s->body, sizeof s->body, "%.*s", (int)(r->body_len < 255 ? r->body_len : 255), r->body);
}

static void submit(dorm_pool *p, const char *op, const char *body, seen *s) {
  dorm_pool_request rq = {.operation = op, .body = body, .body_len = strlen(body), .on_done = on_done, .user = s};
  assert_int_equal(dorm_pool_submit(p, &rq), DORM_OK);
}

static void test_throttling_retried_like_a_single_call(void **state) {
  ss_fixture *f = *state;
  /* Pool: throttled twice, then answered. */
  ss_push(f->server, 400, THROTTLE);
  ss_push(f->server, 400, THROTTLE);
  ss_push(f->server, 200, "{\"Item\":{\"PK\":{\"S\":\"a\"}}}");
  dorm_pool *p;
  assert_int_equal(dorm_pool_new(f->c, 4, &p), DORM_OK);
  seen s = {0};
  submit(p, "GetItem", "{\"TableName\":\"t\",\"Key\":{\"PK\":{\"S\":\"a\"}}}", &s);
  assert_int_equal(dorm_pool_pending(p), 1);
  dorm_client_stats before;
  dorm_client_get_stats(f->c, &before);
  assert_int_equal(dorm_pool_run(p), DORM_OK);
  assert_int_equal(dorm_pool_pending(p), 0);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.status, DORM_OK);
  assert_int_equal(s.attempts, 3);
  assert_string_equal(s.body, "{\"Item\":{\"PK\":{\"S\":\"a\"}}}");
  assert_int_equal(f->slept.n, 2); /* two throttling backoffs, through the client's (test) sleep */
  dorm_client_stats after;
  dorm_client_get_stats(f->c, &after);
  assert_int_equal(after.throttles - before.throttles, 2);
  assert_int_equal(after.retries - before.retries, 2);
  assert_int_equal(after.attempts - before.attempts, 3);

  /* Throttled past max attempts (3): the same status and message as
   * dorm_client_call gives for the same answers. */
  for (int i = 0; i < 3; i++) ss_push(f->server, 400, THROTTLE);
  memset(&s, 0, sizeof s);
  submit(p, "PutItem", "{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"a\"}}}", &s);
  assert_int_equal(dorm_pool_run(p), DORM_OK);
  for (int i = 0; i < 3; i++) ss_push(f->server, 400, THROTTLE);
  const char *resp;
  size_t len;
  const char *body = "{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"a\"}}}";
  dorm_status single = dorm_client_call(f->c, "PutItem", body, strlen(body), &resp, &len);
  assert_int_equal(single, DORM_ERR_THROTTLED);
  assert_int_equal(s.status, single);
  assert_int_equal(s.attempts, 3);
  assert_int_equal(s.http_status, 400);
  assert_string_equal(s.code, "ThrottlingException");
  /* The same message up to the request id (each answer has its own). */
  const char *rid = strstr(s.errmsg, " (request id ");
  assert_non_null(rid);
  assert_int_equal(strncmp(s.errmsg, dorm_client_errmsg(f->c), (size_t)(rid - s.errmsg) + 13), 0);
  assert_non_null(strstr(s.errmsg, "PutItem: ThrottlingException: slow down (HTTP 400)"));
  assert_non_null(strstr(s.body, "ThrottlingException")); /* the error body */
  dorm_pool_free(p);
}

static void test_errors_stay_with_their_request(void **state) {
  ss_fixture *f = *state;
  /* The server answers one connection at a time, in arrival order; which
   * request arrives first is up to the loop, so check by what came back. */
  ss_push(f->server, 200, "{}");
  ss_push(f->server, 400, NOTABLE);
  ss_push(f->server, 200, "{}");
  ss_push(f->server, 200, "{}");
  dorm_pool *p;
  assert_int_equal(dorm_pool_new(f->c, 2, &p), DORM_OK);
  seen s[4] = {{0}};
  for (int i = 0; i < 4; i++) submit(p, "PutItem", "{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"x\"}}}", &s[i]);
  dorm_client_call(f->c, "bad name with spaces that is far too long for any DynamoDB operation at all", "{}", 2,
                   NULL, NULL);
  char before[1024];
  snprintf(before, sizeof before, "%s", dorm_client_errmsg(f->c));
  assert_int_equal(dorm_pool_run(p), DORM_OK);
  int ok = 0, missing = 0;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(s[i].calls, 1);
    if (s[i].status == DORM_OK) ok++;
    if (s[i].status == DORM_ERR_TABLE_NOT_FOUND) {
      missing++;
      assert_string_equal(s[i].code, "ResourceNotFoundException");
      assert_non_null(strstr(s[i].errmsg, "PutItem: ResourceNotFoundException: no such table (HTTP 400)"));
      assert_int_equal(s[i].attempts, 1); /* not retryable */
    } else {
      assert_string_equal(s[i].errmsg, "");
    }
  }
  assert_int_equal(ok, 3);
  assert_int_equal(missing, 1);
  assert_int_equal(ss_count(f->server), 4);
  /* The pool leaves the client's last error alone. */
  assert_string_equal(dorm_client_errmsg(f->c), before);

  /* Requests refused at submit are never called back. */
  dorm_pool_request bad = {.operation = "", .body = "{}", .body_len = 2, .on_done = on_done, .user = &s[0]};
  assert_int_equal(dorm_pool_submit(p, &bad), DORM_ERR_INVALID_ARGUMENT);
  bad.operation = "PutItem";
  bad.on_done = NULL;
  assert_int_equal(dorm_pool_submit(p, &bad), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_pool_pending(p), 0);
  dorm_pool *none;
  assert_int_equal(dorm_pool_new(f->c, 5000, &none), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_pool_new(NULL, 4, &none), DORM_ERR_INVALID_ARGUMENT);
  dorm_pool_free(p);
  dorm_pool_free(NULL);
}

static void test_early_free_cancels_what_is_left(void **state) {
  ss_fixture *f = *state;
  dorm_pool *p;
  assert_int_equal(dorm_pool_new(f->c, 3, &p), DORM_OK);
  seen s[20] = {{0}};
  for (int i = 0; i < 20; i++) {
    dorm_pool_request rq = {.operation = "PutItem", .body = "{}", .body_len = 2, .delay_ms = i % 2 ? 60000 : 0,
                            .on_done = on_done, .user = &s[i]};
    assert_int_equal(dorm_pool_submit(p, &rq), DORM_OK);
  }
  assert_int_equal(dorm_pool_pending(p), 20);
  dorm_pool_free(p); /* never run: every request is abandoned, queued or delayed */
  for (int i = 0; i < 20; i++) {
    assert_int_equal(s[i].calls, 1);
    assert_int_equal(s[i].status, DORM_ERR_CANCELLED);
    assert_int_equal(s[i].attempts, 0);
    assert_non_null(strstr(s[i].errmsg, "PutItem: cancelled"));
  }
  assert_int_equal(ss_count(f->server), 0);
}

/* A batch write of 60 entries with 3 requests in flight: the chunk whose
 * answer has an unprocessed write resends just that write, alone, after a
 * backoff; the other chunks are not held up by it. */
static void test_batch_write_resends_unprocessed_per_chunk(void **state) {
  ss_fixture *f = *state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[60];
  dorm_batch_write_entry e[60];
  /* Every entry is the same write, so that the first answer (whichever
   * chunk it belongs to: the loop decides which request arrives first)
   * can name an entry of its chunk unprocessed. */
  for (int i = 0; i < 60; i++) {
    items[i] = dorm_av_empty(DORM_AV_M);
    assert_int_equal(dorm_av_map_set(&a, &items[i], "PK", dorm_av_str("w00")), DORM_OK);
    e[i] = (dorm_batch_write_entry){"t", &items[i], NULL};
  }
  /* Three chunks (25, 25, 10) answered in arrival order: the first answer
   * returns one write unprocessed, the rest are clean. */
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"w00\"}}}}]}}");
  ss_push(f->server, 200, "{\"UnprocessedItems\":{}}");
  ss_push(f->server, 200, "{\"UnprocessedItems\":{}}");
  ss_push(f->server, 200, "{}");
  dorm_batch_write_options opts = {.max_in_flight = 3};
  size_t written = 0;
  dorm_status st = dorm_batch_write(f->c, e, 60, &opts, &written);
  if (st != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  assert_int_equal(written, 60);
  assert_int_equal(ss_count(f->server), 4);
  assert_int_equal(f->slept.n, 1); /* one backoff, before the resend */
  char *last = ss_body(f->server, 3);
  assert_string_equal(last, "{\"RequestItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"w00\"}}}}]}}");
  free(last);
  /* A failing chunk fails the call with its message; what the others wrote
   * is counted. */
  ss_push(f->server, 200, "{}");
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ValidationException\",\"message\":\"bad item\"}");
  ss_push(f->server, 200, "{}");
  st = dorm_batch_write(f->c, e, 60, &opts, &written);
  assert_int_equal(st, DORM_ERR_VALIDATION);
  assert_true(written == 35 || written == 50 || written == 25 || written == 10);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "BatchWriteItem: ValidationException: bad item"));
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_throttling_retried_like_a_single_call, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_errors_stay_with_their_request, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_early_free_cancels_what_is_left, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_write_resends_unprocessed_per_chunk, ss_fixture_setup, ss_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
