/* What DynamoDB Local never does, against a scripted loopback server:
 * UnprocessedKeys / UnprocessedItems (retried with backoff, only the
 * unprocessed part resent, giving up after max_rounds rounds without
 * progress), a ClientRequestToken resent unchanged when a transaction is
 * retried, cancellation reasons turned into a message naming the action,
 * waiters timing out on a backfilling index, ListTables paging, and
 * responses that do not fit the request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "client_internal.h"
#include "ddb_internal.h"
#include "scripted_server.h"

static dorm_av key(dorm_arena *a, const char *pk) {
  dorm_av k = dorm_av_empty(DORM_AV_M);
  assert_int_equal(dorm_av_map_set(a, &k, "PK", dorm_av_str(pk)), DORM_OK);
  return k;
}

static int occurrences(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static void test_batch_get_retries_unprocessed_keys(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k1 = key(a, "k1"), k2 = key(a, "k2"), k3 = key(a, "k3"), k1again = key(a, "k1");
  dorm_batch_get_entry e[] = {{"t1", &k1}, {"t1", &k2}, {"t2", &k3}, {"t1", &k1again}};
  ss_push(f->server, 200,
          "{\"Responses\":{\"t1\":[{\"PK\":{\"S\":\"k1\"},\"v\":{\"N\":\"1\"}}],\"t2\":[]},"
          "\"UnprocessedKeys\":{\"t1\":{\"Keys\":[{\"PK\":{\"S\":\"k2\"}}]},"
          "\"t2\":{\"Keys\":[{\"PK\":{\"S\":\"k3\"}}]}}}");
  ss_push(f->server, 200, "{\"Responses\":{\"t1\":[{\"PK\":{\"S\":\"k2\"},\"v\":{\"N\":\"2\"}}]},\"UnprocessedKeys\":{}}");
  dorm_av items[4];
  size_t found = 99;
  assert_int_equal(dorm_batch_get(f->c, e, 4, NULL, a, items, &found), DORM_OK);
  assert_int_equal(found, 3);
  assert_string_equal(dorm_av_map_get(&items[0], "v")->u.s.ptr, "1");
  assert_string_equal(dorm_av_map_get(&items[1], "v")->u.s.ptr, "2");
  assert_int_equal(items[2].type, DORM_AV_INVALID); /* k3: not returned, not unprocessed: missing */
  assert_string_equal(dorm_av_map_get(&items[3], "v")->u.s.ptr, "1");

  assert_int_equal(ss_count(f->server), 2);
  char *b1 = ss_body(f->server, 0), *b2 = ss_body(f->server, 1), *t = ss_target(f->server, 0);
  assert_string_equal(t, "DynamoDB_20120810.BatchGetItem");
  /* The duplicate k1 is requested once; tables in order of first use. */
  assert_string_equal(b1, "{\"RequestItems\":{\"t1\":{\"Keys\":[{\"PK\":{\"S\":\"k1\"}},{\"PK\":{\"S\":\"k2\"}}]},"
                          "\"t2\":{\"Keys\":[{\"PK\":{\"S\":\"k3\"}}]}}}");
  /* The retry carries only what was unprocessed. */
  assert_int_equal(occurrences(b2, "k1"), 0);
  assert_int_equal(occurrences(b2, "k2"), 1);
  assert_int_equal(occurrences(b2, "k3"), 1);
  assert_int_equal(f->slept.n, 1);
  assert_true(f->slept.ms[0] >= 0 && f->slept.ms[0] <= 1000);
  free(b1);
  free(b2);
  free(t);
}

static void test_batch_get_gives_up_without_progress(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k1 = key(a, "k1"), k2 = key(a, "k2");
  dorm_batch_get_entry e[] = {{"t1", &k1}, {"t1", &k2}};
  for (int i = 0; i < 5; i++)
    ss_push(f->server, 200,
            "{\"Responses\":{},\"UnprocessedKeys\":{\"t1\":{\"Keys\":[{\"PK\":{\"S\":\"k2\"}},{\"PK\":{\"S\":\"k1\"}}]}}}");
  dorm_batch_get_options opts = {.consistent_read = true, .max_rounds = 3};
  dorm_av items[2];
  size_t found = 99;
  assert_int_equal(dorm_batch_get(f->c, e, 2, &opts, a, items, &found), DORM_ERR_THROTTLED);
  assert_int_equal(found, 0);
  assert_int_equal(ss_count(f->server), 3);
  assert_int_equal(f->slept.n, 2);
  /* Backoff grows with the rounds without progress (bounded by 1 s, 2 s). */
  assert_true(f->slept.ms[0] <= 1000 && f->slept.ms[1] <= 2000);
  assert_non_null(strstr(dorm_client_errmsg(f->c),
                         "BatchGetItem: 2 of 2 keys still unprocessed after 3 rounds without progress"));
  char *b1 = ss_body(f->server, 0);
  assert_non_null(strstr(b1, "\"ConsistentRead\":true"));
  free(b1);
}

static void test_batch_get_progress_resets_the_count(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k[4] = {key(a, "a"), key(a, "b"), key(a, "c"), key(a, "d")};
  dorm_batch_get_entry e[4];
  for (int i = 0; i < 4; i++) e[i] = (dorm_batch_get_entry){"t", &k[i]};
  /* One key per round: always progress, so even max_rounds 1 never gives up. */
  ss_push(f->server, 200, "{\"Responses\":{\"t\":[{\"PK\":{\"S\":\"a\"}}]},\"UnprocessedKeys\":{\"t\":{\"Keys\":["
                          "{\"PK\":{\"S\":\"b\"}},{\"PK\":{\"S\":\"c\"}},{\"PK\":{\"S\":\"d\"}}]}}}");
  ss_push(f->server, 200, "{\"Responses\":{\"t\":[{\"PK\":{\"S\":\"b\"}}]},\"UnprocessedKeys\":{\"t\":{\"Keys\":["
                          "{\"PK\":{\"S\":\"c\"}},{\"PK\":{\"S\":\"d\"}}]}}}");
  ss_push(f->server, 200, "{\"Responses\":{\"t\":[{\"PK\":{\"S\":\"c\"}}]},\"UnprocessedKeys\":{\"t\":{\"Keys\":["
                          "{\"PK\":{\"S\":\"d\"}}]}}}");
  ss_push(f->server, 200, "{\"Responses\":{\"t\":[{\"PK\":{\"S\":\"d\"}}]}}");
  dorm_batch_get_options opts = {.max_rounds = 1};
  dorm_av items[4];
  size_t found;
  assert_int_equal(dorm_batch_get(f->c, e, 4, &opts, a, items, &found), DORM_OK);
  assert_int_equal(found, 4);
  for (int i = 0; i < 4; i++) assert_true(dorm_av_equal(&items[i], &k[i]));
  assert_int_equal(ss_count(f->server), 4);
  assert_int_equal(f->slept.n, 3);
}

static void test_batch_get_rejects_foreign_items(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k1 = key(a, "k1");
  dorm_batch_get_entry e[] = {{"t1", &k1}};
  ss_push(f->server, 200, "{\"Responses\":{\"t1\":[{\"PK\":{\"S\":\"zzz\"}}]}}");
  dorm_av items[1];
  assert_int_equal(dorm_batch_get(f->c, e, 1, NULL, a, items, NULL), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "matches none of the keys requested"));
  ss_push(f->server, 200, "{\"Responses\":[]}");
  assert_int_equal(dorm_batch_get(f->c, e, 1, NULL, a, items, NULL), DORM_ERR_BAD_RESPONSE);
  ss_push(f->server, 200, "{\"UnprocessedKeys\":{\"t1\":{\"Keys\":[{\"PK\":{\"S\":\"other\"}}]}}}");
  assert_int_equal(dorm_batch_get(f->c, e, 1, NULL, a, items, NULL), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "was not requested"));
}

static void test_batch_write_retries_unprocessed_items(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av items[30];
  dorm_batch_write_entry e[30];
  for (int i = 0; i < 30; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "w%02d", i);
    items[i] = key(a, dorm_arena_strdup(a, pk));
    e[i] = (dorm_batch_write_entry){i % 2 ? "odd" : "even", i == 29 ? NULL : &items[i], i == 29 ? &items[i] : NULL};
  }
  /* Chunk 1 (25) leaves w03 unprocessed; chunk 2 (5) leaves the delete of w29. */
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"odd\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"w03\"}}}}]}}");
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"odd\":[{\"DeleteRequest\":{\"Key\":{\"PK\":{\"S\":\"w29\"}}}}]}}");
  ss_push(f->server, 200, "{\"UnprocessedItems\":{}}");
  size_t written = 0;
  /* One request at a time: the unprocessed writes of both chunks go out
   * together in the next round (in flight > 1: test_pool.c). */
  dorm_batch_write_options one = {.max_in_flight = 1};
  assert_int_equal(dorm_batch_write(f->c, e, 30, &one, &written), DORM_OK);
  assert_int_equal(written, 30);
  assert_int_equal(ss_count(f->server), 3);
  assert_int_equal(f->slept.n, 1);
  char *b1 = ss_body(f->server, 0), *b3 = ss_body(f->server, 2);
  assert_int_equal(occurrences(b1, "PutRequest"), 25);
  static const char start[] = "{\"RequestItems\":{\"even\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"w00\"}}}},";
  assert_memory_equal(b1, start, sizeof start - 1);
  assert_string_equal(b3, "{\"RequestItems\":{\"odd\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"w03\"}}}},"
                          "{\"DeleteRequest\":{\"Key\":{\"PK\":{\"S\":\"w29\"}}}}]}}");
  free(b1);
  free(b3);
}

/* Puts given as JSON text (the model layer's batch put): sent verbatim, and
 * an UnprocessedItems answer is matched to them by value (attributes in
 * another order, a number written differently), so only it is resent. */
static void test_batch_write_text_retries_unprocessed_items(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm__bw_text puts[30];
  for (int i = 0; i < 30; i++) {
    const char *json = dorm_arena_printf(a, "{\"PK\":{\"S\":\"t%02d\"},\"n\":{\"N\":\"%d\"}}", i, i);
    puts[i] = (dorm__bw_text){"t", json, strlen(json)};
  }
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"n\":{\"N\":\"7.0\"},"
                          "\"PK\":{\"S\":\"t07\"}}}}]}}");
  ss_push(f->server, 200, "{\"UnprocessedItems\":{}}");
  ss_push(f->server, 200, "{}");
  size_t written = 0;
  dorm_batch_write_options one = {.max_in_flight = 1};
  assert_int_equal(dorm__batch_write_text(f->c, puts, 30, &one, &written), DORM_OK);
  assert_int_equal(written, 30);
  assert_int_equal(ss_count(f->server), 3);
  char *b1 = ss_body(f->server, 0), *b3 = ss_body(f->server, 2);
  assert_int_equal(occurrences(b1, "PutRequest"), 25);
  static const char start[] = "{\"RequestItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"t00\"},\"n\":{\"N\":\"0\"}}}},";
  assert_memory_equal(b1, start, sizeof start - 1);
  assert_string_equal(b3, "{\"RequestItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"t07\"},\"n\":{\"N\":\"7\"}}}}]}}");
  free(b1);
  free(b3);

  /* An unprocessed item that was not sent is a bad response; forever
   * unprocessed gives up after max_rounds, as dorm_batch_write does. */
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"zz\"}}}}]}}");
  assert_int_equal(dorm__batch_write_text(f->c, puts, 1, &one, &written), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "was not sent"));
  for (int i = 0; i < 2; i++)
    ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"t00\"},"
                            "\"n\":{\"N\":\"0\"}}}}]}}");
  dorm_batch_write_options opts = {.max_rounds = 2};
  assert_int_equal(dorm__batch_write_text(f->c, puts, 1, &opts, &written), DORM_ERR_THROTTLED);
  assert_int_equal(written, 0);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "1 of 1 writes still unprocessed after 2 rounds"));
  assert_int_equal(dorm__batch_write_text(f->c, puts, 0, NULL, NULL), DORM_OK);
  dorm__bw_text bad = {"t", NULL, 0};
  assert_int_equal(dorm__batch_write_text(f->c, &bad, 1, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
}

static void test_batch_write_counts_what_is_known_written(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av items[40];
  dorm_batch_write_entry e[40];
  for (int i = 0; i < 40; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "x%02d", i);
    items[i] = key(a, dorm_arena_strdup(a, pk));
    e[i] = (dorm_batch_write_entry){"t", &items[i], NULL};
  }
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"x01\"}}}}]}}");
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ValidationException\",\"message\":\"bad item\"}");
  size_t written = 0;
  dorm_batch_write_options one = {.max_in_flight = 1}; /* the scripted answers come in order */
  assert_int_equal(dorm_batch_write(f->c, e, 40, &one, &written), DORM_ERR_VALIDATION);
  assert_int_equal(written, 24);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "BatchWriteItem: ValidationException: bad item"));

  /* Unprocessed forever: give up after max_rounds. */
  for (int i = 0; i < 4; i++)
    ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":{\"PK\":{\"S\":\"x00\"}}}}]}}");
  dorm_batch_write_options opts = {.max_rounds = 2};
  assert_int_equal(dorm_batch_write(f->c, e, 1, &opts, &written), DORM_ERR_THROTTLED);
  assert_int_equal(written, 0);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "1 of 1 writes still unprocessed after 2 rounds"));
}

static void test_transaction_retry_resends_the_token(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av item = key(a, "p");
  dorm_tx_write w[] = {{.kind = DORM_TX_PUT, .table = "t", .item = &item}};
  ss_push(f->server, 500, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\",\"message\":\"oops\"}");
  ss_push(f->server, 200, "{}");
  assert_int_equal(dorm_transact_write(f->c, w, 1, NULL, NULL), DORM_OK);
  assert_int_equal(ss_count(f->server), 2);
  /* The retried error does not outlive the success. */
  assert_string_equal(dorm_client_errmsg(f->c), "");
  assert_string_equal(dorm_client_error_code(f->c), "");
  size_t body_len = 1;
  dorm__client_error_body(f->c, &body_len);
  assert_int_equal(body_len, 0);
  char *b1 = ss_body(f->server, 0), *b2 = ss_body(f->server, 1);
  assert_string_equal(b1, b2);
  const char *tok = strstr(b1, "\"ClientRequestToken\":\"");
  assert_non_null(tok);
  tok += strlen("\"ClientRequestToken\":\"");
  assert_int_equal(strspn(tok, "0123456789abcdef"), 32);
  assert_string_equal(tok + 32, "\"}");

  /* A fresh token per call; the caller's token when given. */
  ss_push(f->server, 200, "{}");
  ss_push(f->server, 200, "{}");
  assert_int_equal(dorm_transact_write(f->c, w, 1, NULL, NULL), DORM_OK);
  assert_int_equal(dorm_transact_write(f->c, w, 1, "my-token-1", NULL), DORM_OK);
  char *b3 = ss_body(f->server, 2), *b4 = ss_body(f->server, 3);
  assert_string_not_equal(b3, b1);
  assert_string_equal(b4, "{\"TransactItems\":[{\"Put\":{\"TableName\":\"t\",\"Item\":{\"PK\":{\"S\":\"p\"}}}}],"
                          "\"ClientRequestToken\":\"my-token-1\"}");
  free(b1);
  free(b2);
  free(b3);
  free(b4);
}

/* Tokens are unique: per thread a random part and a counter, the random
 * part drawn again in a forked child (else the child's first token would be
 * the parent's next). */
static void test_tokens_are_unique_across_fork(void **state) {
  ss_fixture *f = *state;
  char seen[64][33];
  for (int i = 0; i < 64; i++) {
    assert_int_equal(dorm__client_new_token(f->c, seen[i]), DORM_OK);
    assert_int_equal(strlen(seen[i]), 32);
    for (int k = 0; k < i; k++) assert_string_not_equal(seen[k], seen[i]);
  }
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char t[33] = "";
    dorm_status st = dorm__client_new_token(f->c, t);
    ssize_t w = write(fds[1], t, sizeof t);
    _exit(st == DORM_OK && w == (ssize_t)sizeof t ? 0 : 1);
  }
  char child[33] = "", mine[33];
  assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(dorm__client_new_token(f->c, mine), DORM_OK);
  assert_string_not_equal(child, mine);
  assert_memory_not_equal(child, mine, 16); /* another random part, not only another count */
}

static void test_cancellation_names_the_action(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k = key(a, "p");
  dorm_expr x;
  dorm_expr_init(&x, a);
  dorm_update_set(&x, "n", dorm_av_num("1"));
  dorm_tx_write w[] = {{.kind = DORM_TX_PUT, .table = "customers", .item = &k},
                       {.kind = DORM_TX_UPDATE, .table = "orders", .key = &k, .expr = &x},
                       {.kind = DORM_TX_DELETE, .table = "orders", .key = &k}};
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#TransactionCanceledException\","
          "\"Message\":\"Transaction cancelled, please refer cancellation reasons for specific reasons "
          "[None, ConditionalCheckFailed, None]\",\"CancellationReasons\":[{\"Code\":\"None\"},"
          "{\"Code\":\"ConditionalCheckFailed\",\"Message\":\"The conditional request failed\"},{\"Code\":\"None\"}]}");
  size_t failed = 0;
  assert_int_equal(dorm_transact_write(f->c, w, 3, NULL, &failed), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(failed, 1);
  assert_string_equal(dorm_client_errmsg(f->c),
                      "TransactWriteItems: action 1 (Update PK=p on orders): ConditionalCheckFailed: The conditional "
                      "request failed (TransactionCanceledException, request id SCRIPTED1)");
  assert_string_equal(dorm_client_error_code(f->c), "TransactionCanceledException");
  const dorm_cancel_reason *r;
  assert_int_equal(dorm_client_cancel_reasons(f->c, &r), 3);
  assert_string_equal(r[0].code, "None");
  assert_string_equal(r[1].code, "ConditionalCheckFailed");
  assert_int_equal(ss_count(f->server), 1); /* never retried */

  /* No condition failed: ErrTransactionFailed, naming the first reason. */
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#TransactionCanceledException\","
          "\"Message\":\"Transaction cancelled [None, TransactionConflict, None]\",\"CancellationReasons\":["
          "{\"Code\":\"None\"},{\"Code\":\"TransactionConflict\",\"Message\":\"Transaction is ongoing for the item\"},"
          "{\"Code\":\"None\"}]}");
  assert_int_equal(dorm_transact_write(f->c, w, 3, NULL, &failed), DORM_ERR_TRANSACTION_CANCELLED);
  assert_int_equal(failed, 1);
  assert_true(strstr(dorm_client_errmsg(f->c), "action 1 (Update PK=p on orders): TransactionConflict: Transaction is "
                                               "ongoing for the item (TransactionCanceledException"));

  /* A conflict first and a condition failure later: the condition wins
   * (status, index and message), the other reason is counted. */
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#TransactionCanceledException\","
          "\"Message\":\"Transaction cancelled [TransactionConflict, None, ConditionalCheckFailed]\","
          "\"CancellationReasons\":[{\"Code\":\"TransactionConflict\"},{\"Code\":\"None\"},"
          "{\"Code\":\"ConditionalCheckFailed\",\"Message\":\"The conditional request failed\"}]}");
  assert_int_equal(dorm_transact_write(f->c, w, 3, NULL, &failed), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(failed, 2);
  assert_true(strstr(dorm_client_errmsg(f->c), "action 2 (Delete PK=p on orders): ConditionalCheckFailed: The "
                                               "conditional request failed; 1 other action failed too ("));
  assert_int_equal(dorm_client_cancel_reasons(f->c, &r), 3);
  assert_string_equal(r[0].code, "TransactionConflict");
}

static void test_bad_responses(void **state) {
  ss_fixture *f = *state;
  dorm_arena *a = &f->a;
  dorm_av k = key(a, "k");
  dorm_tx_get g[] = {{"t", &k, NULL}, {"t", &k, NULL}};
  dorm_av items[2];
  ss_push(f->server, 200, "{\"Responses\":[{\"Item\":{\"PK\":{\"S\":\"k\"}}}]}");
  assert_int_equal(dorm_transact_get(f->c, g, 2, a, items), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "TransactGetItems: response: expected Responses with 2 entries"));
  ss_push(f->server, 200, "{\"Responses\":[{\"Item\":{\"PK\":{\"S\":\"k\"}}},{}]}");
  assert_int_equal(dorm_transact_get(f->c, g, 2, a, items), DORM_OK);
  assert_int_equal(items[0].type, DORM_AV_M);
  assert_int_equal(items[1].type, DORM_AV_INVALID);
  ss_push(f->server, 200, "{\"Responses\":[{\"Item\":{\"PK\":{\"Q\":\"k\"}}},{}]}");
  assert_int_equal(dorm_transact_get(f->c, g, 2, a, items), DORM_ERR_BAD_RESPONSE);

  dorm_batch_write_entry w[] = {{"t", &k, NULL}};
  ss_push(f->server, 200, "not json");
  assert_int_equal(dorm_batch_write(f->c, w, 1, NULL, NULL), DORM_ERR_BAD_RESPONSE);
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":[{\"Mystery\":{}}]}}");
  assert_int_equal(dorm_batch_write(f->c, w, 1, NULL, NULL), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "neither a PutRequest nor a DeleteRequest"));
  ss_push(f->server, 200, "{\"UnprocessedItems\":[]}");
  assert_int_equal(dorm_batch_write(f->c, w, 1, NULL, NULL), DORM_ERR_BAD_RESPONSE);
  ss_push(f->server, 200, "{\"UnprocessedItems\":{\"t\":{}}}");
  assert_int_equal(dorm_batch_write(f->c, w, 1, NULL, NULL), DORM_ERR_BAD_RESPONSE);

  ss_push(f->server, 200, "{\"TableDescription\":{\"TableName\":7}}");
  dorm_table_def def = {.name = "tbl", .pk = {"PK", DORM_KEY_S}};
  dorm_table_description d;
  assert_int_equal(dorm_create_table(f->c, &def, a, &d), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "CreateTable: response: TableDescription: TableName is not a string"));
  ss_push(f->server, 200, "{}");
  dorm_ttl_description t;
  assert_int_equal(dorm_describe_ttl(f->c, "tbl", a, &t), DORM_ERR_BAD_RESPONSE);
}

static void test_waiter_times_out_on_backfilling_index(void **state) {
  ss_fixture *f = *state;
  for (int i = 0; i < 20; i++)
    ss_push(f->server, 200,
            "{\"Table\":{\"TableName\":\"shop\",\"TableStatus\":\"ACTIVE\",\"GlobalSecondaryIndexes\":["
            "{\"IndexName\":\"gsi-status\",\"IndexStatus\":\"CREATING\",\"Backfilling\":true},"
            "{\"IndexName\":\"gsi-ok\",\"IndexStatus\":\"ACTIVE\"}]}}");
  assert_int_equal(dorm_wait_table_active(f->c, "shop", 1000, NULL, NULL), DORM_ERR_TIMEOUT);
  assert_string_equal(dorm_client_errmsg(f->c), "DescribeTable: table shop not ready after 1000 ms: index "
                                                "gsi-status is CREATING (backfilling)");
  /* Polls at 100, 200, 400 ms and the 300 ms left: 5 DescribeTable calls. */
  assert_int_equal(f->slept.n, 4);
  assert_int_equal(f->slept.ms[0], 100);
  assert_int_equal(f->slept.ms[3], 300);
  assert_int_equal(ss_count(f->server), 5);
}

static void test_waiter_sees_index_finish(void **state) {
  ss_fixture *f = *state;
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\",\"message\":\"not yet\"}");
  ss_push(f->server, 200, "{\"Table\":{\"TableName\":\"shop\",\"TableStatus\":\"CREATING\"}}");
  ss_push(f->server, 200,
          "{\"Table\":{\"TableName\":\"shop\",\"TableStatus\":\"ACTIVE\",\"GlobalSecondaryIndexes\":["
          "{\"IndexName\":\"g\",\"IndexStatus\":\"ACTIVE\",\"Backfilling\":true}]}}");
  const char *ready = "{\"Table\":{\"TableName\":\"shop\",\"TableStatus\":\"ACTIVE\",\"ItemCount\":7,"
                      "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"g\",\"IndexStatus\":\"ACTIVE\"}]}}";
  ss_push(f->server, 200, ready);
  ss_push(f->server, 200, ready); /* the caller's copy of the description */
  dorm_table_description d;
  assert_int_equal(dorm_wait_table_active(f->c, "shop", 60000, &f->a, &d), DORM_OK);
  assert_string_equal(dorm_client_errmsg(f->c), "");
  assert_int_equal(d.status, DORM_TABLE_ACTIVE);
  assert_int_equal(d.item_count, 7);
  assert_int_equal(d.gsi_count, 1);
  assert_int_equal(f->slept.n, 3);
}

static void test_list_tables_pages(void **state) {
  ss_fixture *f = *state;
  ss_push(f->server, 200, "{\"TableNames\":[\"a\",\"b\"],\"LastEvaluatedTableName\":\"b\"}");
  ss_push(f->server, 200, "{\"TableNames\":[\"c\"]}");
  const char **names;
  size_t n;
  assert_int_equal(dorm_list_tables(f->c, 2, &f->a, &names, &n), DORM_OK);
  assert_int_equal(n, 3);
  assert_string_equal(names[2], "c");
  char *b1 = ss_body(f->server, 0), *b2 = ss_body(f->server, 1);
  assert_string_equal(b1, "{\"Limit\":2}");
  assert_string_equal(b2, "{\"ExclusiveStartTableName\":\"b\",\"Limit\":2}");
  free(b1);
  free(b2);
  /* A server that never advances is an error, not an endless loop. */
  ss_push(f->server, 200, "{\"TableNames\":[],\"LastEvaluatedTableName\":\"b\"}");
  assert_int_equal(dorm_list_tables(f->c, 0, &f->a, &names, &n), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "does not advance"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batch_get_retries_unprocessed_keys, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_get_gives_up_without_progress, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_get_progress_resets_the_count, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_get_rejects_foreign_items, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_write_retries_unprocessed_items, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_write_text_retries_unprocessed_items, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_batch_write_counts_what_is_known_written, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_transaction_retry_resends_the_token, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_tokens_are_unique_across_fork, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cancellation_names_the_action, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_bad_responses, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_waiter_times_out_on_backfilling_index, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_waiter_sees_index_finish, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_list_tables_pages, ss_fixture_setup, ss_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
