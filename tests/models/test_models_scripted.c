/* The generated query API against a scripted loopback server
 * (tests/runtime/ddb/integration/scripted_server.h): answers DynamoDB Local
 * never gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scripted_server.h"
#include "tracker_models.h"

/* A LastEvaluatedKey of {} resumes nothing: the results end there (as the
 * ddb layer's pager and boto3 take it). Taken as "more", a page said
 * has_more with a cursor the next call refused, and a count asked again. */
static void an_empty_last_key_ends_the_results(void **state) {
  (void)state;
  ss *server = ss_start();
  assert_non_null(server);
  char err[256];
  dorm_client *c = ss_client(server, err, sizeof err);
  if (!c) fail_msg("%s", err);
  dorm_arena a = DORM_ARENA_INIT;

  ss_push(server, 200, "{\"Items\":[],\"Count\":0,\"ScannedCount\":0,\"LastEvaluatedKey\":{}}");
  tracker_Issue_page page;
  assert_int_equal(tracker_Issue_query(c, "p1", NULL, NULL, &a, &page), DORM_OK);
  assert_int_equal(page.count, 0);
  assert_false(page.has_more);
  assert_null(page.cursor);

  size_t before = ss_count(server);
  ss_push(server, 200, "{\"Count\":3,\"ScannedCount\":3,\"LastEvaluatedKey\":{}}");
  ss_push(server, 200, "{\"Count\":5,\"ScannedCount\":5}"); /* not asked for */
  uint64_t n = 0;
  assert_int_equal(tracker_Issue_query_count(c, "p1", NULL, NULL, &n), DORM_OK);
  assert_int_equal(n, 3);
  assert_int_equal(ss_count(server), before + 1);

  dorm_arena_free(&a);
  dorm_client_free(c);
  ss_stop(server);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(an_empty_last_key_ends_the_results),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
