/* Stored item -> model struct: every type read back as written, items in
 * DynamORM's forms (trimmed fractions, offsets, NULLs, sets stored as
 * lists, omitted empty values), type mismatches and missing attributes
 * named, partial reads, entity types, and ownership (from_av copies into
 * the arena given). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model_internal.h"
#include "test_models.h"

static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static dorm_status read_json(const dorm_model_desc *m, const char *json, unsigned flags, void *obj) {
  err[0] = '\0';
  return dorm_model_from_json(m, json, strlen(json), flags, &A, obj, err, sizeof err);
}

static void read_fails(const dorm_model_desc *m, const char *json, dorm_status st, const char *want) {
  char buf[4096];
  assert_true(m->size <= sizeof buf);
  dorm_status got = read_json(m, json, 0, buf);
  if (got != st) fail_msg("expected %s, got %s (%s) for %s", dorm_strerror(st), dorm_strerror(got), err, json);
  if (!strstr(err, want)) fail_msg("message \"%s\" lacks \"%s\"", err, want);
}

static void kitchen_round_trip(void **state) {
  (void)state;
  tm_Kitchen k;
  assert_int_equal(read_json(&tm_Kitchen_desc, tm_sample_kitchen_json, 0, &k), DORM_OK);
  assert_string_equal(k.id, "k1");
  assert_string_equal(k.name, "Tab\there \"q\" caf\xc3\xa9");
  assert_int_equal(k.count, -42);
  assert_true(k.ratio == 0.1);
  assert_string_equal(k.price, "19.990"); /* decimal text kept exactly */
  assert_true(k.active);
  assert_int_equal(k.blob.len, 4);
  assert_memory_equal(k.blob.data, "\x00\x01\x02\xff", 4);
  assert_int_equal(k.when, 1);
  assert_true(k.has_expiresAt);
  assert_int_equal(k.expiresAt, 1700000000);
  assert_string_equal(k.doc, "{\"a\":\"x\",\"b\":[1,2.5,{\"a\":true,\"z\":null}]}");
  assert_int_equal(k.color, TM_COLOR_BLUE);
  assert_string_equal(k.home.street, "1 Main St");
  assert_string_equal(k.home.postCode, "12345");
  assert_false(k.has_work);
  assert_int_equal(k.tags.count, 2);
  assert_string_equal(k.tags.items[0], "b");
  assert_string_equal(k.tags.items[1], "a");
  assert_int_equal(k.nums.count, 2);
  assert_int_equal(k.nums.items[1], -1);
  assert_false(k.has_ratios);
  assert_int_equal(k.ratios.count, 0);
  assert_string_equal(k.amounts.items[0], "1.5");
  assert_int_equal(k.blobs.count, 2);
  assert_int_equal(k.blobs.items[1].len, 2);
  assert_int_equal(k.scores.count, 2);
  assert_true(k.scores.items[0].has);
  assert_int_equal(k.scores.items[0].value, 7);
  assert_false(k.scores.items[1].has);
  assert_string_equal(k.labels.items[0], "x");
  assert_null(k.labels.items[1]);
  assert_true(k.places.items[0].has);
  assert_string_equal(k.places.items[0].value.city, "c");
  assert_null(k.places.items[0].value.postCode);
  assert_false(k.places.items[1].has);
  assert_int_equal(k.grid.count, 2);
  assert_int_equal(k.grid.items[0].count, 2);
  assert_int_equal(k.grid.items[0].items[1], 2);
  assert_int_equal(k.grid.items[1].count, 0);
  assert_int_equal(k.attrs.count, 2);
  assert_string_equal(k.attrs.keys[0], "k<1>");
  assert_string_equal(k.attrs.values[1], "v2");
  assert_int_equal(k.limits.count, 1);
  assert_false(k.limits.values[0].has);
  assert_null(k.nickname);
  assert_false(k.has_level);
  assert_false(k.flag);
  assert_string_equal(k.memo, "m");
  /* writing it again gives the same item */
  const char *again;
  size_t len;
  assert_int_equal(dorm_model_to_json(&tm_Kitchen_desc, &k, &A, &again, &len, err, sizeof err), DORM_OK);
  assert_string_equal(again, tm_sample_kitchen_json);
}

/* An item as DynamORM (Go) writes it. */
static void dynamorm_forms(void **state) {
  (void)state;
  tm_Order o;
  const char *item =
      "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"},\"_type\":{\"S\":\"Order\"},"
      "\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"paid\"},"
      "\"total\":{\"M\":{\"amount\":{\"N\":\"5\"},\"currency\":{\"S\":\"EUR\"},\"extra\":{\"S\":\"ignored\"}}},"
      "\"tags\":{\"L\":[{\"S\":\"x\"},{\"S\":\"y\"}]},"                   /* a set turned into a list */
      "\"shipTo\":{\"NULL\":true},\"customer_note\":{\"NULL\":true},"     /* nil pointers */
      "\"createdAt\":{\"S\":\"2024-05-17T11:31:22.5+02:00\"},"           /* trimmed fraction, offset */
      "\"updatedAt\":{\"S\":\"2024-05-17T09:31:22Z\"},"
      "\"version\":{\"N\":\"7\"},\"someoneElses\":{\"BOOL\":true}}";
  assert_int_equal(read_json(&tm_Order_desc, item, 0, &o), DORM_OK);
  assert_string_equal(o.customerId, "c1");
  assert_int_equal(o.status, TM_STATUS_PAID);
  assert_string_equal(o.total.amount, "5");
  assert_int_equal(o.tags.count, 2);
  assert_string_equal(o.tags.items[1], "y");
  assert_false(o.has_shipTo);
  assert_null(o.note);
  int64_t want;
  assert_true(dorm_time_parse("2024-05-17T09:31:22.5Z", 22, &want));
  assert_true(o.createdAt == want);
  assert_true(o.updatedAt == want - 500000000);
  assert_int_equal(o.version, 7);
  assert_false(o.has_expiresAt);
  /* omitted @omit_empty values and empty sets read as empty */
  tm_User u;
  assert_int_equal(read_json(&tm_User_desc,
                             "{\"PK\":{\"S\":\"USER#2\"},\"SK\":{\"S\":\"PROFILE\"},"
                             "\"createdAt\":{\"S\":\"2024-01-01T00:00:00Z\"},\"updatedAt\":{\"S\":\"2024-01-01T00:00:00Z\"},"
                             "\"version\":{\"N\":\"0\"}}",
                             0, &u),
                   DORM_OK);
  assert_null(u.nickname); /* optional: absent */
  assert_false(u.has_tags);
  assert_int_equal(u.tags.count, 0);
  assert_false(u.has_ttl);
  /* a required @omit_empty bool that was omitted reads as false */
  tm_Kitchen k;
  assert_null(strstr(tm_sample_kitchen_json, "\"flag\""));
  assert_int_equal(read_json(&tm_Kitchen_desc, tm_sample_kitchen_json, 0, &k), DORM_OK);
  assert_false(k.flag);
  /* numbers in any form DynamoDB accepts */
  assert_int_equal(read_json(&tm_User_desc,
                             "{\"PK\":{\"S\":\"P\"},\"SK\":{\"S\":\"S\"},\"createdAt\":{\"S\":\"2024-01-01T00:00:00Z\"},"
                             "\"updatedAt\":{\"S\":\"2024-01-01T00:00:00Z\"},\"version\":{\"N\":\"3E0\"},"
                             "\"ttl\":{\"N\":\"1.7E9\"}}",
                             0, &u),
                   DORM_OK);
  assert_int_equal(u.version, 3);
  assert_true(u.has_ttl);
  assert_int_equal(u.ttl, 1700000000);
}

static const char *order_with(const char *attr, const char *value) {
  static char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"paid\"},"
           "\"total\":{\"M\":{\"amount\":{\"N\":\"5\"},\"currency\":{\"S\":\"EUR\"}}},"
           "\"createdAt\":{\"S\":\"2024-01-01T00:00:00Z\"},\"updatedAt\":{\"S\":\"2024-01-01T00:00:00Z\"},"
           "\"version\":{\"N\":\"1\"}%s%s%s%s}",
           attr ? ",\"" : "", attr ? attr : "", attr ? "\":" : "", attr ? value : "");
  return buf;
}

static void mismatches(void **state) {
  (void)state;
  tm_Order o;
  assert_int_equal(read_json(&tm_Order_desc, order_with(NULL, NULL), 0, &o), DORM_OK);
  read_fails(&tm_Order_desc, order_with("customer_note", "{\"N\":\"1\"}"), DORM_ERR_SCHEMA_MISMATCH,
             "Order.note: stored as N, expected S");
  read_fails(&tm_Order_desc, order_with("shipTo", "{\"M\":{\"street\":{\"S\":\"s\"},\"city\":{\"N\":\"1\"}}}"),
             DORM_ERR_SCHEMA_MISMATCH, "Order.shipTo.city: stored as N, expected S");
  read_fails(&tm_Order_desc, order_with("shipTo", "{\"M\":{\"street\":{\"S\":\"s\"}}}"), DORM_ERR_SCHEMA_MISMATCH,
             "Order.shipTo.city: required attribute \"city\" is missing");
  read_fails(&tm_Order_desc, order_with("expiresAt", "{\"N\":\"1.5\"}"), DORM_ERR_SCHEMA_MISMATCH,
             "Order.expiresAt: 1.5 is not an integer that fits int64");
  read_fails(&tm_Order_desc, order_with("expiresAt", "{\"N\":\"1E30\"}"), DORM_ERR_SCHEMA_MISMATCH, "int64");
  read_fails(&tm_Order_desc, order_with("tags", "{\"NS\":[\"1\"]}"), DORM_ERR_SCHEMA_MISMATCH,
             "Order.tags: stored as NS, expected SS");
  read_fails(&tm_Order_desc, order_with("tags", "{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}"), DORM_ERR_SCHEMA_MISMATCH,
             "Order.tags[1]: stored as N, expected S");
  read_fails(&tm_Order_desc, order_with("metadata", "{\"S\":\"x\\u0000\"}"), DORM_ERR_BAD_RESPONSE, "U+0000");
  read_fails(&tm_Order_desc, "{\"customerId\":{\"S\":\"c1\"}}", DORM_ERR_SCHEMA_MISMATCH,
             "Order.orderId: required attribute \"orderId\" is missing");
  read_fails(&tm_Order_desc, "{\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"NULL\":true}}", DORM_ERR_SCHEMA_MISMATCH,
             "required attribute \"orderId\" is missing");
  /* each replacement below is checked on its own */
  const struct {
    const char *from, *to, *want;
  } swaps[] = {
      {"\"status\":{\"S\":\"paid\"}", "\"status\":{\"S\":\"PAID\"}", "Order.status: \"PAID\" is not a value of enum OrderStatus"},
      {"\"createdAt\":{\"S\":\"2024-01-01T00:00:00Z\"}", "\"createdAt\":{\"S\":\"yesterday\"}",
       "Order.createdAt: \"yesterday\" is not an RFC 3339 time"},
      {"\"createdAt\":{\"S\":\"2024-01-01T00:00:00Z\"}", "\"createdAt\":{\"N\":\"1700000000\"}",
       "Order.createdAt: stored as N, expected S (an RFC 3339 time)"},
      {"\"version\":{\"N\":\"1\"}", "\"version\":{\"S\":\"1\"}", "Order.version: stored as S, expected N"},
      {"\"total\":{\"M\":{", "\"total\":{\"L\":[],\"x\":{", NULL},
  };
  for (size_t i = 0; i < sizeof swaps / sizeof swaps[0]; i++) {
    char buf[1024];
    const char *base = order_with(NULL, NULL), *at = strstr(base, swaps[i].from);
    assert_non_null(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - base), base, swaps[i].to, at + strlen(swaps[i].from));
    if (swaps[i].want) read_fails(&tm_Order_desc, buf, DORM_ERR_SCHEMA_MISMATCH, swaps[i].want);
    else read_fails(&tm_Order_desc, buf, DORM_ERR_BAD_RESPONSE, "more than one type key");
  }
  /* NULL where a list element is required */
  tm_Kitchen k;
  char buf[4096];
  const char *at = strstr(tm_sample_kitchen_json, "\"grid\":{\"L\":[{\"L\"");
  assert_non_null(at);
  snprintf(buf, sizeof buf, "%.*s\"grid\":{\"L\":[{\"NULL\":true},{\"L\"%s", (int)(at - tm_sample_kitchen_json),
           tm_sample_kitchen_json, at + strlen("\"grid\":{\"L\":[{\"L\""));
  assert_int_equal(read_json(&tm_Kitchen_desc, buf, 0, &k), DORM_ERR_SCHEMA_MISMATCH);
  assert_non_null(strstr(err, "Kitchen.grid[0]: NULL where a value is required"));
  /* an attribute twice in a dorm_av built by hand */
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item, "customerId", 10) = dorm_av_str("a");
  *dorm_av_map_add(&A, &item, "customerId", 10) = dorm_av_str("b");
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &item, DORM_READ_PARTIAL, &A, &o, err, sizeof err),
                   DORM_ERR_SCHEMA_MISMATCH);
  assert_non_null(strstr(err, "appears twice"));
  /* not a map */
  dorm_av s = dorm_av_str("x");
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &s, 0, &A, &o, err, sizeof err), DORM_ERR_SCHEMA_MISMATCH);
}

static void partial_reads(void **state) {
  (void)state;
  tm_Order o;
  memset(&o, 0x5a, sizeof o);
  assert_int_equal(read_json(&tm_Order_desc, "{\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"SHIPPED\"}}",
                             DORM_READ_PARTIAL, &o),
                   DORM_OK);
  assert_null(o.customerId); /* zeroed first */
  assert_string_equal(o.orderId, "o1");
  assert_int_equal(o.status, TM_STATUS_SHIPPED);
  assert_null(o.total.amount);
  assert_int_equal(o.version, 0);
}

/* A partial item gets the fields its key templates were made of back from
 * the keys (items from keys_only indexes); both reading paths agree. */
static void fields_from_keys(void **state) {
  (void)state;
  static const char keys_only[] =
      "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o#1\"},\"GSI1PK\":{\"S\":\"STATUS#SHIPPED\"},"
      "\"GSI1SK\":{\"S\":\"2026-01-02T03:04:05.000000006Z\"}}";
  for (int path = 0; path < 2; path++) {
    tm_Order o;
    if (path == 0) {
      assert_int_equal(read_json(&tm_Order_desc, keys_only, DORM_READ_PARTIAL, &o), DORM_OK);
    } else {
      dorm_av item;
      assert_int_equal(dorm_item_from_json(keys_only, strlen(keys_only), &A, &item, err, sizeof err), DORM_OK);
      assert_int_equal(dorm_model_from_av(&tm_Order_desc, &item, DORM_READ_PARTIAL, &A, &o, err, sizeof err), DORM_OK);
    }
    assert_string_equal(o.customerId, "c1");
    assert_string_equal(o.orderId, "o#1"); /* the last field runs to the end */
    assert_int_equal(o.status, TM_STATUS_SHIPPED);
    assert_int_equal(o.createdAt, INT64_C(1767323045000000006));
    assert_null(o.total.amount);
  }
  /* A field the item carries wins; a key that does not fit its template,
   * or a value that does not fit the field, sets nothing. */
  tm_Order o;
  assert_int_equal(read_json(&tm_Order_desc,
                             "{\"PK\":{\"S\":\"USER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"},\"orderId\":{\"S\":\"own\"},"
                             "\"GSI1PK\":{\"S\":\"STATUS#lost\"},\"GSI1SK\":{\"S\":\"not a time\"}}",
                             DORM_READ_PARTIAL, &o),
                   DORM_OK);
  assert_null(o.customerId);
  assert_string_equal(o.orderId, "own");
  assert_int_equal(o.status, 0);
  assert_int_equal(o.createdAt, 0);
  /* Two fields with literal text between them, an int and an enum. */
  tm_Kitchen k;
  assert_int_equal(read_json(&tm_Kitchen_desc,
                             "{\"id\":{\"S\":\"k1\"},\"GSI1PK\":{\"S\":\"N#pan#BLUE\"},\"GSI1SK\":{\"S\":\"12#k1\"}}",
                             DORM_READ_PARTIAL, &k),
                   DORM_OK);
  assert_string_equal(k.name, "pan");
  assert_int_equal(k.color, TM_COLOR_BLUE);
  assert_int_equal(k.count, 12);
  /* Whole items are read from their own attributes only. */
  assert_int_equal(read_json(&tm_Order_desc, keys_only, 0, &o), DORM_ERR_SCHEMA_MISMATCH);
}

static void entity_types(void **state) {
  (void)state;
  dorm_av item;
  static const char order_t[] = "{\"_type\":{\"S\":\"Order\"}}", other_t[] = "{\"_type\":{\"S\":\"OrderX\"}}",
                    num_t[] = "{\"_type\":{\"N\":\"1\"}}";
  assert_int_equal(dorm_item_from_json(order_t, strlen(order_t), &A, &item, err, sizeof err), DORM_OK);
  assert_true(dorm_model_is(&tm_Order_desc, &item));
  assert_false(dorm_model_is(&tm_Customer_desc, &item));
  assert_true(dorm_model_is(&tm_User_desc, &item)); /* no entity type: accepts every item */
  assert_int_equal(dorm_item_from_json(other_t, strlen(other_t), &A, &item, err, sizeof err), DORM_OK);
  assert_false(dorm_model_is(&tm_Order_desc, &item));
  assert_int_equal(dorm_item_from_json(num_t, strlen(num_t), &A, &item, err, sizeof err), DORM_OK);
  assert_false(dorm_model_is(&tm_Order_desc, &item));
  item = dorm_av_empty(DORM_AV_M);
  assert_false(dorm_model_is(&tm_Order_desc, &item));
  assert_false(dorm_model_is(&tm_Order_desc, NULL));
}

/* dorm_model_from_av copies: the struct outlives the item's arena. */
static void from_av_copies(void **state) {
  (void)state;
  dorm_arena tmp = DORM_ARENA_INIT;
  dorm_av item;
  assert_int_equal(dorm_item_from_json(tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), &tmp, &item, err,
                                       sizeof err),
                   DORM_OK);
  tm_Kitchen k;
  assert_int_equal(dorm_model_from_av(&tm_Kitchen_desc, &item, 0, &A, &k, err, sizeof err), DORM_OK);
  dorm_arena_free(&tmp); /* ASan would catch a pointer into it */
  assert_string_equal(k.name, "Tab\there \"q\" caf\xc3\xa9");
  assert_string_equal(k.attrs.keys[0], "k<1>");
  assert_memory_equal(k.blobs.items[1].data, "\x01\x02", 2);
  assert_string_equal(k.places.items[0].value.street, "s");
  /* the struct reads back to the same item */
  dorm_av again;
  assert_int_equal(dorm_model_to_av(&tm_Kitchen_desc, &k, &A, &again, err, sizeof err), DORM_OK);
  dorm_av want;
  assert_int_equal(dorm_item_from_json(tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), &A, &want, err,
                                       sizeof err),
                   DORM_OK);
  assert_true(dorm_av_equal(&again, &want));
  /* arguments */
  assert_int_equal(dorm_model_from_av(&tm_Kitchen_desc, NULL, 0, &A, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_model_from_json(&tm_Kitchen_desc, "{", 1, 0, &A, &k, err, sizeof err), DORM_ERR_BAD_RESPONSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(kitchen_round_trip, teardown),
      cmocka_unit_test_teardown(dynamorm_forms, teardown),
      cmocka_unit_test_teardown(mismatches, teardown),
      cmocka_unit_test_teardown(partial_reads, teardown),
      cmocka_unit_test_teardown(fields_from_keys, teardown),
      cmocka_unit_test_teardown(entity_types, teardown),
      cmocka_unit_test_teardown(from_av_copies, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
