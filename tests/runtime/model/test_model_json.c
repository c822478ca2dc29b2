/* The fast DynamoDB JSON reader (model_json.c) against the cJSON-based one
 * (json_read.c): the same values for valid input, rejection of the same
 * malformed input (hand-picked cases and ~40,000 deterministic random
 * mutations of valid items), and the response members it extracts. Then
 * the direct decoder (model_decode.c) against reading through a dorm_av
 * (mj_parse_item + dorm_model_from_av) on the same kind of inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_internal.h"
#include "test_models.h"

static dorm_arena A = DORM_ARENA_INIT;

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static const char *const valid[] = {
    "{}",
    "{\"a\":{\"S\":\"\"}}",
    " { \"a\" : { \"S\" : \"x\" } , \"b\" : { \"N\" : \"-1.5E+3\" } } ",
    "{\"s\":{\"S\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u00e9\\u20ac\\ud83d\\ude00 caf\xc3\xa9\"}}",
    "{\"b\":{\"B\":\"AAEC/w==\"},\"e\":{\"B\":\"\"},\"bs\":{\"BS\":[\"AA==\",\"AQI=\"]}}",
    "{\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},\"n\":{\"NULL\":true}}",
    "{\"ss\":{\"SS\":[\"a\",\"b\"]},\"ns\":{\"NS\":[\"1\",\"2.5\",\"-0\"]}}",
    "{\"l\":{\"L\":[]},\"m\":{\"M\":{}},\"x\":{\"L\":[{\"M\":{\"k\":{\"L\":[{\"N\":\"1\"}]}}},{\"NULL\":true}]}}",
    "{\"\\u0053\":{\"\\u0053\":\"escaped type key\"}}",
    "{\"b64\":{\"B\":\"QUJ\\u0044\"}}",
    "{\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"},\"c\":{\"S\":\"3\"},\"d\":{\"S\":\"4\"},\"e\":{\"S\":\"5\"},\"f\":{\"S\":\"6\"},"
    "\"g\":{\"S\":\"7\"},\"h\":{\"S\":\"8\"},\"i\":{\"S\":\"9\"},\"j\":{\"S\":\"10\"},\"k\":{\"S\":\"11\"}}",
};

static const char *const invalid[] = {
    "", " ", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":{\"S\":\"x\"},}", "{\"a\":{\"S\":\"x\"}} x",
    "{\"a\":{\"S\":1}}", "{\"a\":{\"S\":\"x\",\"N\":\"1\"}}", "{\"a\":{}}", "{\"a\":{\"X\":\"1\"}}",
    "{\"a\":{\"N\":\"abc\"}}", "{\"a\":{\"N\":\"1e999\"}}", "{\"a\":{\"N\":\"\"}}", "{\"a\":{\"B\":\"A\"}}",
    "{\"a\":{\"B\":\"AB==\"}}", "{\"a\":{\"B\":\"A-==\"}}", "{\"a\":{\"SS\":[]}}", "{\"a\":{\"SS\":[1]}}",
    "{\"a\":{\"NS\":[\"x\"]}}", "{\"a\":{\"BOOL\":\"true\"}}", "{\"a\":{\"NULL\":false}}", "{\"a\":{\"L\":{}}}",
    "{\"a\":{\"M\":[]}}", "{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}", "{\"a\":{\"S\":\"\\u0000\"}}",
    "{\"a\":{\"S\":\"\\ud800\"}}", "{\"a\":{\"S\":\"\\udc00x\"}}", "{\"a\":{\"S\":\"\\x\"}}", "{\"a\":{\"S\":\"\xff\"}}",
    "{\"a\":{\"S\":\"\xc3\"}}", "{\"a\":{\"S\":\"\xed\xa0\x80\"}}", "{\"a\":{\"S\":\"unterminated}}",
    "{\"a\":{\"L\":[{\"S\":\"x\"},]}}", "{\"a\":{\"M\":{\"b\":{\"S\":\"x\"},\"b\":{\"S\":\"y\"}}}}",
    "{\"a\":{\"S\":\"x\"} \"b\":{\"S\":\"y\"}}", "{'a':{\"S\":\"x\"}}", "{\"a\":{\"S\":\"x\"}}}",
};

/* Whether both() also compares the items written back as text (not for
 * nesting beyond what DynamoDB stores, which the writer refuses). */
static bool compare_text = true;

/* Parses text with both readers; returns whether the fast one accepted. */
static bool both(const char *text, size_t len, bool expect_same_verdict) {
  char e1[512], e2[512];
  dorm_av fast, slow;
  dorm_status s1 = mj_parse_item(text, len, &A, &fast, e1, sizeof e1);
  dorm_status s2 = dorm_item_from_json(text, len, &A, &slow, e2, sizeof e2);
  if (s1 == DORM_OK && s2 == DORM_OK) {
    if (!dorm_av_equal(&fast, &slow)) fail_msg("different values for %.*s", (int)len, text);
    if (!compare_text) return true;
    /* exact: the same text when written again (order, bytes, number text) */
    const char *j1, *j2;
    size_t l1, l2;
    if (dorm_item_to_json(&fast, &A, 0, &j1, &l1, e1, sizeof e1) != DORM_OK ||
        dorm_item_to_json(&slow, &A, 0, &j2, &l2, e2, sizeof e2) != DORM_OK)
      fail_msg("cannot write back %.*s: %s", (int)len, text, e1);
    if (l1 != l2 || memcmp(j1, j2, l1) != 0) fail_msg("different items for %.*s:\n%s\n%s", (int)len, text, j1, j2);
    return true;
  }
  if (s1 == DORM_OK && s2 != DORM_OK) fail_msg("fast reader accepted what cJSON's rejects (%s): %.*s", e2, (int)len, text);
  if (s1 != DORM_OK) {
    assert_true(s1 == DORM_ERR_BAD_RESPONSE || s1 == DORM_ERR_NO_MEMORY);
    assert_true(strlen(e1) > 0);
  }
  if (expect_same_verdict && s2 == DORM_OK) fail_msg("fast reader rejected valid %.*s: %s", (int)len, text, e1);
  return false;
}

static void agrees_on_corpus(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
    if (!both(valid[i], strlen(valid[i]), true)) fail_msg("rejected valid[%zu]", i);
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
    if (both(invalid[i], strlen(invalid[i]), true)) fail_msg("accepted invalid[%zu]: %s", i, invalid[i]);
  assert_true(both(tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), true));
  /* nesting: 64 levels of AttributeValues are read, 65 are not (both readers) */
  for (int depth = 63; depth <= 66; depth++) {
    char buf[2048];
    size_t o = 0;
    o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"a\":");
    for (int d = 1; d < depth; d++) o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"L\":[");
    o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"S\":\"x\"}");
    for (int d = 1; d < depth; d++) o += (size_t)snprintf(buf + o, sizeof buf - o, "]}");
    o += (size_t)snprintf(buf + o, sizeof buf - o, "}");
    compare_text = false;
    bool ok = both(buf, o, true);
    compare_text = true;
    assert_true(ok == (depth <= DORM_READ_MAX_DEPTH));
  }
  /* only len bytes are read */
  assert_true(both("{\"a\":{\"S\":\"x\"}}garbage", 15, true));
  /* errors name the place */
  char e[256];
  dorm_av v;
  static const char bad_n[] = "{\"a\":{\"M\":{\"b\":{\"N\":\"x1\"}}}}";
  assert_int_equal(mj_parse_item(bad_n, strlen(bad_n), &A, &v, e, sizeof e), DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(e, "a.b: N value \"x1\" is not a valid number"));
}

/* Random damage (1-3 bytes replaced, deleted or inserted) to valid items:
 * the fast reader never accepts what the cJSON reader rejects, and accepts
 * everything it accepts except where cJSON is laxer than RFC 8259 (see
 * cjson_lax). */
static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Where cJSON is laxer than RFC 8259: raw control characters (it also
 * skips them as whitespace), and \u escapes without four hex digits (it
 * decodes them as U+0000, cutting the string short). */
static bool cjson_lax(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)s[i] < 0x20) return true;
    if (s[i] == '\\' && i + 1 < n) {
      if (s[i + 1] == 'u' && (n - i < 6 || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]) || !is_hex(s[i + 5])))
        return true;
      i++;
    }
  }
  return false;
}

static void mutate_one(const char *src, size_t n, char *buf, size_t *out) {
  static const char picks[] = "{}[]\":,\\ SNBLMTUE0-9.eE+ufa\x01\xff\xc3\xa9/AZ=";
  memcpy(buf, src, n);
  size_t len = n;
  int edits = 1 + (int)(next() % 3);
  for (int e = 0; e < edits && len > 0; e++) {
    size_t at = next() % len;
    switch (next() % 4) {
    case 0: buf[at] = picks[next() % (sizeof picks - 1)]; break;
    case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
    case 2:
      memmove(buf + at + 1, buf + at, len - at);
      buf[at] = picks[next() % (sizeof picks - 1)];
      len++;
      break;
    default: buf[at] = (char)(next() & 0xff); break;
    }
  }
  *out = len;
}

static void agrees_on_mutations(void **state) {
  (void)state;
  const char *seeds[] = {tm_sample_kitchen_json, valid[3], valid[4], valid[6], valid[7], valid[2]};
  size_t accepted = 0, total = 0;
  char *buf = malloc(8192);
  assert_non_null(buf);
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s]);
    for (int round = 0; round < 7000; round++) {
      size_t len;
      mutate_one(seeds[s], n, buf, &len);
      bool lax = cjson_lax(buf, len);
      accepted += both(buf, len, !lax);
      total++;
      if (total % 500 == 0) dorm_arena_reset(&A);
    }
  }
  free(buf);
  /* the mutations must exercise both outcomes */
  assert_true(accepted > 100);
  assert_true(accepted < total - 1000);
}

static void responses(void **state) {
  (void)state;
  mj_response r;
  char e[256];
  const char *q = "{\"Items\":[{\"a\":{\"S\":\"1\"}},{\"a\":{\"S\":\"2\"}}],\"Count\":2,\"ScannedCount\":5,"
                  "\"LastEvaluatedKey\":{\"PK\":{\"S\":\"k\"}},\"ConsumedCapacity\":{\"TableName\":\"t\","
                  "\"CapacityUnits\":0.5,\"x\":[1,-2.5e3,true,false,null,\"s\",{}]}}";
  assert_int_equal(mj_parse_response(q, strlen(q), &A, &r, e, sizeof e), DORM_OK);
  assert_true(r.has_items);
  assert_int_equal(r.nitems, 2);
  assert_string_equal(dorm_av_map_get(&r.items[1], "a")->u.s.ptr, "2");
  assert_int_equal(r.count, 2);
  assert_int_equal(r.scanned_count, 5);
  assert_true(r.has_last_key);
  assert_string_equal(dorm_av_map_get(&r.last_key, "PK")->u.s.ptr, "k");
  assert_false(r.has_item);
  const char *g = "{\"Item\":{\"a\":{\"N\":\"1\"}}}";
  assert_int_equal(mj_parse_response(g, strlen(g), &A, &r, e, sizeof e), DORM_OK);
  assert_true(r.has_item);
  assert_int_equal(r.item.u.map.count, 1);
  assert_int_equal(mj_parse_response("{}", 2, &A, &r, e, sizeof e), DORM_OK);
  assert_false(r.has_item);
  assert_int_equal(r.nitems, 0);
  const char *u = "{\"Attributes\":{\"v\":{\"N\":\"2\"}}}";
  assert_int_equal(mj_parse_response(u, strlen(u), &A, &r, e, sizeof e), DORM_OK);
  assert_true(r.has_item);
  /* Select COUNT: no Items, a Count */
  const char *cnt = "{\"Count\":17,\"ScannedCount\":20}";
  assert_int_equal(mj_parse_response(cnt, strlen(cnt), &A, &r, e, sizeof e), DORM_OK);
  assert_int_equal(r.count, 17);
  const char *bad[] = {"", "[]", "{\"Item\":[]}", "{\"Items\":{}}", "{\"Count\":-1}", "{\"Count\":1.5}",
                       "{\"Item\":{},\"Item\":{}}", "{\"x\":[1,]}", "{\"x\":01}", "{\"x\":tru}", "{\"Count\":1} {",
                       "{\"Items\":[{\"a\":{\"S\":1}}]}", "{\"x\":\"\\u0000\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dorm_status st = mj_parse_response(bad[i], strlen(bad[i]), &A, &r, e, sizeof e);
    if (st != DORM_ERR_BAD_RESPONSE) fail_msg("accepted bad response %s", bad[i]);
  }
}

/* Decodes text both ways into model structs; they must agree on the
 * outcome and, when both succeed, on the struct (compared by writing both
 * back as items). Returns whether they succeeded. */
static bool decode_both(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  char e1[512], e2[512];
  char s1[4096], s2[4096];
  assert_true(m->size <= sizeof s1);
  dorm_status st1 = mj_decode_item(text, len, m, flags, &A, s1, e1, sizeof e1);
  dorm_av item;
  dorm_status st2 = mj_parse_item(text, len, &A, &item, e2, sizeof e2);
  if (st2 == DORM_OK) st2 = dorm_model_from_av(m, &item, flags, &A, s2, e2, sizeof e2);
  if (st1 != st2) fail_msg("direct: %s (%s), via dorm_av: %s (%s) for %.*s", dorm_strerror(st1), e1, dorm_strerror(st2), e2,
                           (int)len, text);
  if (st1 != DORM_OK) {
    if (st1 == DORM_ERR_SCHEMA_MISMATCH && strcmp(e1, e2) != 0) fail_msg("messages differ: %s / %s", e1, e2);
    return false;
  }
  const char *j1 = NULL, *j2 = NULL;
  size_t l1, l2;
  dorm_status w1 = dorm_model_to_json(m, s1, &A, &j1, &l1, e1, sizeof e1);
  dorm_status w2 = dorm_model_to_json(m, s2, &A, &j2, &l2, e2, sizeof e2);
  assert_int_equal(w1, w2);
  if (w1 == DORM_OK && strcmp(j1, j2) != 0) fail_msg("different structs for %.*s:\n%s\n%s", (int)len, text, j1, j2);
  if (w1 != DORM_OK && strcmp(e1, e2) != 0) fail_msg("different structs: %s / %s", e1, e2);
  return true;
}

static const char order_item[] =
    "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"},\"_type\":{\"S\":\"Order\"},"
    "\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"paid\"},"
    "\"total\":{\"M\":{\"amount\":{\"N\":\"5\"},\"currency\":{\"S\":\"EUR\"}}},\"tags\":{\"L\":[{\"S\":\"x\"}]},"
    "\"shipTo\":{\"M\":{\"street\":{\"S\":\"s\"},\"city\":{\"S\":\"c\"},\"postCode\":{\"NULL\":true}}},"
    "\"customer_note\":{\"S\":\"n\\u00e9\"},\"metadata\":{\"S\":\"{}\"},"
    "\"createdAt\":{\"S\":\"2024-05-17T11:31:22.5+02:00\"},\"updatedAt\":{\"S\":\"2024-05-17T09:31:22Z\"},"
    "\"version\":{\"N\":\"7\"},\"expiresAt\":{\"N\":\"1.7E9\"}}";

static void decoder_agrees(void **state) {
  (void)state;
  assert_true(decode_both(&tm_Kitchen_desc, tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), 0));
  assert_true(decode_both(&tm_Order_desc, order_item, strlen(order_item), 0));
  static const char partial[] = "{\"orderId\":{\"S\":\"o\"}}";
  assert_true(decode_both(&tm_Order_desc, partial, strlen(partial), DORM_READ_PARTIAL));
  assert_false(decode_both(&tm_Order_desc, partial, strlen(partial), 0));
  char *buf = malloc(8192);
  assert_non_null(buf);
  const struct {
    const dorm_model_desc *m;
    const char *json;
  } seeds[] = {{&tm_Kitchen_desc, tm_sample_kitchen_json}, {&tm_Order_desc, order_item}};
  size_t ok = 0, total = 0;
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s].json);
    for (int round = 0; round < 8000; round++) {
      size_t len;
      mutate_one(seeds[s].json, n, buf, &len);
      ok += decode_both(seeds[s].m, buf, len, round % 3 == 0 ? DORM_READ_PARTIAL : 0);
      if (++total % 500 == 0) dorm_arena_reset(&A);
    }
  }
  free(buf);
  assert_true(ok > 100);
  assert_true(ok < total - 1000);
  /* responses: the same items as the generic reading */
  mj_model_response r;
  char e[256];
  char q[4096];
  snprintf(q, sizeof q, "{\"Count\":3,\"Items\":[%s,%s,%s],\"LastEvaluatedKey\":{\"PK\":{\"S\":\"k\"}}}", order_item,
           order_item, order_item);
  assert_int_equal(mj_decode_response(q, strlen(q), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_OK);
  assert_int_equal(r.nitems, 3);
  assert_int_equal(r.count, 3);
  assert_true(r.has_last_key);
  const tm_Order *items = r.items;
  assert_string_equal(items[2].customerId, "c1");
  assert_string_equal(items[2].note, "n\xc3\xa9");
  /* an item of another entity type is dropped when asked to */
  snprintf(q, sizeof q, "{\"Item\":%s}", order_item);
  assert_int_equal(mj_decode_response(q, strlen(q), &tm_Order_desc, MODEL_DECODE_CHECK_TYPE, &A, &r, e, sizeof e), DORM_OK);
  assert_true(r.has_item);
  assert_int_equal(mj_decode_response(q, strlen(q), &tm_Customer_desc, MODEL_DECODE_CHECK_TYPE | DORM_READ_PARTIAL, &A,
                                       &r, e, sizeof e),
                   DORM_OK);
  assert_false(r.has_item);
  /* a bad item is named by its key */
  snprintf(q, sizeof q, "{\"Items\":[%s,{\"PK\":{\"S\":\"P9\"},\"SK\":{\"S\":\"S9\"},\"status\":{\"N\":\"1\"}}]}",
           order_item);
  assert_int_equal(mj_decode_response(q, strlen(q), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_ERR_SCHEMA_MISMATCH);
  assert_int_equal(r.bad_item, 1);
  assert_string_equal(r.bad_key, "PK=P9, SK=S9");
  assert_string_equal(e, "Order.status: stored as N, expected S");
}

/* Attribute names that JSON escapes: found through the full comparison. */
typedef struct weird {
  const char *a;
  const char *b;
} weird;
static const dorm_field_desc weird_fields[] = {
    {"a", {"we\"ird", "we\"ird"}, {"\"we\\\"ird\":", "\"we\\\"ird\":"}, {10, 10}, 0, (uint32_t)offsetof(weird, a), -1,
     {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}},
    {"b", {"tab\there", "tab\there"}, {"\"tab\\there\":", "\"tab\\there\":"}, {12, 12}, 0, (uint32_t)offsetof(weird, b),
     -1, {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}},
};
static const dorm_key_desc weird_keys[] = {{"we\"ird", "\"we\\\"ird\":", 10, 'S', 0, NULL, 0}};
static const dorm_index_desc weird_indexes[] = {{NULL, DORM_INDEX_TABLE, 0, 0, -1}};
static const dorm_model_desc weird_desc = {"Weird", "weird", NULL, DORM_NAMING_CAMEL, (uint32_t)sizeof(weird),
                                           weird_fields, 2, weird_keys, 1, 1, weird_indexes, 1, -1, -1, -1, -1};

static void escaped_names(void **state) {
  (void)state;
  weird w = {"x", "y"}, back;
  const char *json;
  size_t len;
  char e[256];
  assert_int_equal(dorm_model_to_json(&weird_desc, &w, &A, &json, &len, e, sizeof e), DORM_OK);
  assert_string_equal(json, "{\"we\\\"ird\":{\"S\":\"x\"},\"tab\\there\":{\"S\":\"y\"}}");
  assert_true(decode_both(&weird_desc, json, len, 0));
  assert_int_equal(mj_decode_item(json, len, &weird_desc, 0, &A, &back, e, sizeof e), DORM_OK);
  assert_string_equal(back.a, "x");
  assert_string_equal(back.b, "y");
  /* the same names written with other escapes */
  static const char other[] = "{\"tab\\u0009here\":{\"S\":\"2\"},\"we\\u0022ird\":{\"S\":\"1\"}}";
  assert_true(decode_both(&weird_desc, other, strlen(other), 0));
  assert_int_equal(mj_decode_item(other, strlen(other), &weird_desc, 0, &A, &back, e, sizeof e), DORM_OK);
  assert_string_equal(back.a, "1");
  assert_string_equal(back.b, "2");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(agrees_on_corpus, teardown),
      cmocka_unit_test_teardown(agrees_on_mutations, teardown),
      cmocka_unit_test_teardown(responses, teardown),
      cmocka_unit_test_teardown(decoder_agrees, teardown),
      cmocka_unit_test_teardown(escaped_names, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
