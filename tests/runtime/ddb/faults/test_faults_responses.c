/* Malformed and odd GetItem / PutItem response bodies from a scripted
 * loopback server (tests/runtime/ddb/integration/scripted_server.c): each is
 * DORM_ERR_BAD_RESPONSE naming the operation and the place, never a crash or
 * a half-filled item; a well-formed one is read exactly. These pin the
 * one-pass response reader that dorm_get_item and the write operations use.
 * Error answers that are not DynamoDB's (a web server's 404 page) name the
 * endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "scripted_server.h"

typedef struct fixture {
  ss *server;
  dorm_client *c;
  dorm_arena a;
  dorm_av key;
} fixture;

static int setup(void **state) {
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->server = ss_start();
  assert_non_null(f->server);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = ss_url(f->server);
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  cfg.max_attempts = 1; /* a bad body is not retried anyway; keep the script exact */
  char err[256];
  assert_int_equal(dorm_client_new(&cfg, &f->c, err, sizeof err), DORM_OK);
  f->key = dorm_av_empty(DORM_AV_M);
  assert_int_equal(dorm_av_map_set(&f->a, &f->key, "pk", dorm_av_str("k1")), DORM_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  dorm_client_free(f->c);
  ss_stop(f->server);
  dorm_arena_free(&f->a);
  free(f);
  return 0;
}

static dorm_status get(fixture *f, const char *body, dorm_av *item) {
  ss_push(f->server, 200, body);
  dorm_get_input in = {.table = "t", .key = &f->key};
  return dorm_get_item(f->c, &in, &f->a, item);
}

static void assert_msg(fixture *f, const char *a, const char *b) {
  const char *m = dorm_client_errmsg(f->c);
  if (!strstr(m, a) || (b && !strstr(m, b))) fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", m, a, b ? b : "");
}

static void test_get_reads_a_well_formed_item(void **state) {
  fixture *f = *state;
  dorm_av item;
  assert_int_equal(get(f,
                       "{\"Item\":{\"pk\":{\"S\":\"k1\"},\"n\":{\"N\":\"-12.50\"},\"tags\":{\"SS\":[\"a\",\"b\"]},"
                       "\"m\":{\"M\":{\"x\":{\"L\":[{\"BOOL\":true},{\"NULL\":true},{\"B\":\"AAE=\"}]}}},"
                       "\"esc\":{\"S\":\"tab\\there \\u00e9\\ud83d\\ude00\"}},\"ConsumedCapacity\":null}",
                       &item),
                   DORM_OK);
  assert_int_equal(item.type, DORM_AV_M);
  assert_int_equal(item.u.map.count, 5);
  const dorm_av *esc = dorm_av_map_get(&item, "esc");
  assert_non_null(esc);
  assert_string_equal(esc->u.s.ptr, "tab\there \xc3\xa9\xf0\x9f\x98\x80");
  dorm_str n;
  assert_int_equal(dorm_av_get_n(dorm_av_map_get(&item, "n"), &n), DORM_OK);
  assert_int_equal(n.len, 6);
  assert_memory_equal(n.ptr, "-12.50", 6);
  const dorm_av *m = dorm_av_map_get(&item, "m");
  assert_non_null(m);
  const dorm_av *x = dorm_av_map_get(m, "x");
  assert_non_null(x);
  assert_int_equal(x->type, DORM_AV_L);
  assert_int_equal(x->u.list.count, 3);
  assert_int_equal(x->u.list.items[2].type, DORM_AV_B);
  assert_int_equal(x->u.list.items[2].u.s.len, 2);
  assert_string_equal(dorm_client_errmsg(f->c), "");
}

static void test_get_without_item_is_not_found(void **state) {
  fixture *f = *state;
  dorm_av item;
  assert_int_equal(get(f, "{}", &item), DORM_ERR_NOT_FOUND);
  assert_int_equal(item.type, DORM_AV_M);
  assert_int_equal(item.u.map.count, 0);
  assert_msg(f, "GetItem: ", "no item");
}

static void test_get_refuses_bad_bodies(void **state) {
  fixture *f = *state;
  static const struct {
    const char *body, *where;
  } cases[] = {
      {"", "empty"},
      {"not json", "malformed JSON"},
      {"{\"Item\":{\"pk\":{\"S\":\"k1\"}}", "malformed JSON"},          /* cut short */
      {"{\"Item\":{\"pk\":{\"S\":\"k1\"}}} trailing", "byte"},            /* garbage after */
      {"{\"Item\":{\"n\":{\"N\":\"abc\"}}}", "Item.n"},                   /* not a number */
      {"{\"Item\":{\"n\":{\"X\":\"1\"}}}", "Item.n"},                     /* unknown type */
      {"{\"Item\":{\"n\":{\"S\":\"a\",\"N\":\"1\"}}}", "Item.n"},         /* two type keys */
      {"{\"Item\":{\"a\":{\"S\":\"1\"},\"a\":{\"S\":\"2\"}}}", "Item.a"}, /* attribute twice */
      {"{\"Item\":{\"s\":{\"SS\":[]}}}", "Item.s"},                       /* empty set */
      {"{\"Item\":{\"b\":{\"B\":\"!!\"}}}", "Item.b"},                    /* bad base64 */
      {"{\"Item\":{\"z\":{\"S\":\"a\\u0000b\"}}}", "Item.z"},             /* U+0000 */
      {"{\"Item\":{\"u\":{\"S\":\"\xff\"}}}", "Item.u"},                  /* invalid UTF-8 */
      {"{\"Item\":{}, \"Item\":{}}", "Item"},                           /* member twice */
      {"[1,2]", "object"},
  };
  size_t before = ss_count(f->server);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dorm_av item;
    dorm_status st = get(f, cases[i].body, &item);
    if (st != DORM_ERR_BAD_RESPONSE)
      fail_msg("case %zu (%s): status %d (%s), message \"%s\"", i, cases[i].body, (int)st, dorm_strerror(st),
               dorm_client_errmsg(f->c));
    assert_msg(f, "GetItem: response: ", cases[i].where);
    print_message("# %s\n", dorm_client_errmsg(f->c));
  }
  assert_int_equal(ss_count(f->server) - before, sizeof cases / sizeof cases[0]); /* one request each: not retried */
}

/* A server that is not DynamoDB (a web server on the port, a proxy's error
 * page): the message says which endpoint answered what, and that it may
 * not be DynamoDB; a 4xx without an AWS error code is a bad response, not
 * a validation error. */
static void test_an_answer_that_is_not_dynamodb(void **state) {
  fixture *f = *state;
  char want[256];
  ss_push(f->server, 404,
          "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\n<h1>Not   Found</h1>\n</body>\n</html>\n");
  dorm_get_input in = {.table = "t", .key = &f->key};
  dorm_av item;
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_BAD_RESPONSE);
  snprintf(want, sizeof want,
           "GetItem: HTTP 404 from %s with \"<html> <head><title>404 Not Found</title></head> <body> <h1>Not Found</h1> "
           "</body> </html>\", not a DynamoDB error: that endpoint may not be DynamoDB",
           dorm_client_endpoint(f->c));
  assert_msg(f, want, NULL);
  assert_string_equal(dorm_client_error_code(f->c), "");

  /* JSON that is not an AWS error, and an empty body. */
  ss_push(f->server, 400, "{\"error\":\"no route\"}");
  dorm_put_input pi = {.table = "t", .item = &f->key};
  assert_int_equal(dorm_put_item(f->c, &pi, &f->a, NULL), DORM_ERR_BAD_RESPONSE);
  snprintf(want, sizeof want, "PutItem: HTTP 400 from %s with \"{\"error\":\"no route\"}\", not a DynamoDB error",
           dorm_client_endpoint(f->c));
  assert_msg(f, want, "may not be DynamoDB");
  ss_push(f->server, 405, "");
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_BAD_RESPONSE);
  snprintf(want, sizeof want, "GetItem: HTTP 405 from %s with an empty body, not a DynamoDB error", dorm_client_endpoint(f->c));
  assert_msg(f, want, NULL);

  /* The endpoint as configured: "http://127.0.0.1:<port>/". */
  assert_true(strncmp(dorm_client_endpoint(f->c), ss_url(f->server), strlen(ss_url(f->server))) == 0);

  /* A long body is cut. */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ss_push(f->server, 404, big);
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_BAD_RESPONSE);
  assert_msg(f, "xxx...\", not a DynamoDB error", NULL);

  /* A 5xx error page keeps its status (retryable) and says the same. */
  ss_push(f->server, 502, "<html><body>Bad Gateway</body></html>");
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_SERVICE);
  snprintf(want, sizeof want, "GetItem: HTTP 502 from %s with \"<html><body>Bad Gateway</body></html>\"",
           dorm_client_endpoint(f->c));
  assert_msg(f, want, "may not be DynamoDB");

  /* DynamoDB's own errors are unchanged. */
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ValidationException\",\"message\":\"bad key\"}");
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_VALIDATION);
  assert_msg(f, "GetItem: ValidationException: bad key (HTTP 400)", NULL);
}

static void test_write_attributes_are_read_and_checked(void **state) {
  fixture *f = *state;
  dorm_av item = dorm_av_empty(DORM_AV_M);
  assert_int_equal(dorm_av_map_set(&f->a, &item, "pk", dorm_av_str("k1")), DORM_OK);
  dorm_put_input in = {.table = "t", .item = &item, .return_values = DORM_RETURN_ALL_OLD};
  dorm_write_result wr;

  ss_push(f->server, 200, "{\"Attributes\":{\"pk\":{\"S\":\"k1\"},\"v\":{\"N\":\"7\"}}}");
  assert_int_equal(dorm_put_item(f->c, &in, &f->a, &wr), DORM_OK);
  assert_true(wr.present);
  assert_int_equal(wr.attributes.u.map.count, 2);

  ss_push(f->server, 200, "{}");
  assert_int_equal(dorm_put_item(f->c, &in, &f->a, &wr), DORM_OK);
  assert_false(wr.present);
  assert_int_equal(wr.attributes.type, DORM_AV_M);

  ss_push(f->server, 200, "{\"Attributes\":{\"v\":{\"N\":\"1e\"}}}");
  assert_int_equal(dorm_put_item(f->c, &in, &f->a, &wr), DORM_ERR_BAD_RESPONSE);
  assert_msg(f, "PutItem: response: ", "Attributes.v");
}

/* A Query answer whose LastEvaluatedKey is an empty map ends the results:
 * the pager asked again with ExclusiveStartKey {} for ever. */
static void test_an_empty_last_key_ends_the_pages(void **state) {
  fixture *f = *state;
  size_t before = ss_count(f->server);
  ss_push(f->server, 200, "{\"Items\":[{\"PK\":{\"S\":\"a\"}}],\"Count\":1,\"ScannedCount\":1,"
                          "\"LastEvaluatedKey\":{}}");
  dorm_expr x;
  dorm_expr_init(&x, &f->a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("a")));
  dorm_query_input q = {.table = "t", .expr = &x};
  dorm_pager p;
  dorm_pager_init_query(&p, f->c, &q);
  dorm_page page;
  size_t items = 0;
  int pages = 0;
  while (dorm_pager_next(&p, &f->a, &page) == DORM_OK && !p.done && pages < 5) {
    items += page.count;
    assert_false(page.has_more);
    pages++;
  }
  dorm_pager_free(&p);
  assert_int_equal(pages, 1);
  assert_int_equal(items, 1);
  assert_int_equal(ss_count(f->server), before + 1); /* no second request */
}

/* A key naming an attribute twice (dorm_av_map_add does not look): DynamoDB
 * would read the last value, dorm_av_map_get the first, so the item read or
 * written would be another than the one the caller sees. Refused before
 * anything is sent. */
static void test_a_key_naming_an_attribute_twice_is_refused(void **state) {
  fixture *f = *state;
  size_t before = ss_count(f->server);
  dorm_av key = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&f->a, &key, "PK", 2) = dorm_av_str("other");
  *dorm_av_map_add(&f->a, &key, "PK", 2) = dorm_av_str("dup");
  dorm_av item;
  dorm_get_input in = {.table = "t", .key = &key};
  assert_int_equal(dorm_get_item(f->c, &in, &f->a, &item), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "GetItem: Key.PK: named twice", NULL);
  dorm_delete_input del = {.table = "t", .key = &key};
  assert_int_equal(dorm_delete_item(f->c, &del, &f->a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "DeleteItem: Key.PK: named twice", NULL);
  dorm_batch_get_entry e[2] = {{"t", &f->key}, {"t", &key}};
  dorm_av items[2];
  assert_int_equal(dorm_batch_get(f->c, e, 2, NULL, &f->a, items, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "entries[1].key names attribute \"PK\" twice", NULL);
  assert_int_equal(ss_count(f->server), before); /* nothing sent */
  /* two different names are a key like any */
  dorm_av ok = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&f->a, &ok, "PK", 2) = dorm_av_str("a");
  *dorm_av_map_add(&f->a, &ok, "SK", 2) = dorm_av_str("b");
  ss_push(f->server, 200, "{}");
  dorm_get_input in2 = {.table = "t", .key = &ok};
  assert_int_equal(dorm_get_item(f->c, &in2, &f->a, &item), DORM_ERR_NOT_FOUND);
}

/* An item naming an attribute twice, at the top or inside a map: DynamoDB
 * stores the last value, dorm_av_map_get (and so the caller) sees the first.
 * Refused with its path before anything is sent, on every write path. */
static void test_an_item_naming_an_attribute_twice_is_refused(void **state) {
  fixture *f = *state;
  size_t before = ss_count(f->server);
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&f->a, &item, "pk", 2) = dorm_av_str("k1");
  *dorm_av_map_add(&f->a, &item, "qty", 3) = dorm_av_num("1");
  *dorm_av_map_add(&f->a, &item, "qty", 3) = dorm_av_num("2");
  dorm_put_input put = {.table = "t", .item = &item};
  assert_int_equal(dorm_put_item(f->c, &put, &f->a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "Item.qty: named twice", NULL);
  /* nested: a map member of the item (ten members: the hashed search) */
  dorm_av addr = dorm_av_empty(DORM_AV_M);
  for (int i = 0; i < 9; i++) {
    char *name = dorm_arena_alloc(&f->a, 4);
    snprintf(name, 4, "f%d", i);
    *dorm_av_map_add(&f->a, &addr, name, strlen(name)) = dorm_av_str("x");
  }
  *dorm_av_map_add(&f->a, &addr, "f4", 2) = dorm_av_str("y");
  dorm_av nested = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&f->a, &nested, "pk", 2) = dorm_av_str("k2");
  *dorm_av_map_add(&f->a, &nested, "addr", 4) = addr;
  put.item = &nested;
  assert_int_equal(dorm_put_item(f->c, &put, &f->a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "Item.addr.f4: named twice", NULL);
  dorm_batch_write_entry w[2] = {{"t", &f->key, NULL}, {"t", &nested, NULL}};
  size_t written = 9;
  assert_int_equal(dorm_batch_write(f->c, w, 2, NULL, &written), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f, "entries[1].put_item.addr.f4: named twice", NULL);
  assert_int_equal(written, 0);
  assert_int_equal(ss_count(f->server), before); /* nothing sent */
  /* the same names once each are an item like any */
  dorm_av ok = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&f->a, &ok, "pk", 2) = dorm_av_str("k3");
  *dorm_av_map_add(&f->a, &ok, "addr", 4) = addr;
  addr.u.map.count--; /* the copy in ok keeps ten; drop the repeated f4 from both */
  ok.u.map.items[1].value.u.map.count--;
  ss_push(f->server, 200, "{}");
  put.item = &ok;
  assert_int_equal(dorm_put_item(f->c, &put, &f->a, NULL), DORM_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_reads_a_well_formed_item),
      cmocka_unit_test(test_get_without_item_is_not_found),
      cmocka_unit_test(test_get_refuses_bad_bodies),
      cmocka_unit_test(test_write_attributes_are_read_and_checked),
      cmocka_unit_test(test_an_answer_that_is_not_dynamodb),
      cmocka_unit_test(test_an_empty_last_key_ends_the_pages),
      cmocka_unit_test(test_a_key_naming_an_attribute_twice_is_refused),
      cmocka_unit_test(test_an_item_naming_an_attribute_twice_is_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
