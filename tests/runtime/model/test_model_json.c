/* Responses through cJSON: the direct decoder (model_decode.c, cJSON tree
 * straight into structs) against reading through a dorm_av
 * (dorm_item_from_json + dorm_model_from_av, and for responses the members
 * read one by one) on the same inputs: hand-picked valid and invalid items,
 * ~50,000 deterministic random mutations of valid items and responses, the
 * decoder alone (MODEL_DECODE_DIRECT_ONLY) as well as with its fallback, and
 * the token path alone (MODEL_DECODE_TOKENS_ONLY) against the tree path.
 * Then what the cJSON reading adds to cJSON: \u escapes that cJSON would
 * turn into a NUL are refused with the path of their value, response
 * members are checked, escaped attribute names are found. */
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

/* Items of any attributes, read into Kitchen as partial items: their names
 * are none of Kitchen's, so the decoder checks and skips every value. */
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
    "\"g\":{\"S\":\"7\"},\"h\":{\"S\":\"8\"},\"i\":{\"S\":\"9\"},\"j\":{\"S\":\"10\"},\"k\":{\"S\":\"11\"},"
    "\"l\":{\"S\":\"12\"},\"m\":{\"S\":\"13\"},\"n\":{\"S\":\"14\"},\"o\":{\"S\":\"15\"},\"p\":{\"S\":\"16\"},"
    "\"q\":{\"S\":\"17\"},\"r\":{\"S\":\"18\"}}",
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
    "{\"a\":{\"S\":\"x\\u12zzy\"}}", "{\"\xff\":{\"S\":\"x\"}}", "{\"a\":{\"M\":{\"\xc3\":{\"S\":\"x\"}}}}",
    /* a known field twice, once as NULL */
    "{\"name\":{\"NULL\":true},\"name\":{\"S\":\"x\"}}",
    /* 17 unknown names, the last repeating the first */
    "{\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"},\"c\":{\"S\":\"3\"},\"d\":{\"S\":\"4\"},\"e\":{\"S\":\"5\"},\"f\":{\"S\":\"6\"},"
    "\"g\":{\"S\":\"7\"},\"h\":{\"S\":\"8\"},\"i\":{\"S\":\"9\"},\"j\":{\"S\":\"10\"},\"k\":{\"S\":\"11\"},"
    "\"l\":{\"S\":\"12\"},\"m\":{\"S\":\"13\"},\"n\":{\"S\":\"14\"},\"o\":{\"S\":\"15\"},\"p\":{\"S\":\"16\"},"
    "\"q\":{\"S\":\"17\"},\"a\":{\"S\":\"18\"}}",
};

/* Both structs written back as item JSON, which must be the same text. */
static void same_structs(const dorm_model_desc *m, const void *s1, const void *s2, const char *text, size_t len) {
  char e1[512], e2[512];
  const char *j1 = NULL, *j2 = NULL;
  size_t l1, l2;
  dorm_status w1 = dorm_model_to_json(m, s1, &A, &j1, &l1, e1, sizeof e1);
  dorm_status w2 = dorm_model_to_json(m, s2, &A, &j2, &l2, e2, sizeof e2);
  assert_int_equal(w1, w2);
  if (w1 == DORM_OK && strcmp(j1, j2) != 0) fail_msg("different structs for %.*s:\n%s\n%s", (int)len, text, j1, j2);
  if (w1 != DORM_OK && strcmp(e1, e2) != 0) fail_msg("different structs: %s / %s", e1, e2);
}

/* The token path alone (MODEL_DECODE_TOKENS_ONLY: jsmn's tokens straight
 * into the struct) against the tree path through cJSON on the same flags
 * (partial reads are always left to the tree path, so without
 * DORM_READ_PARTIAL): it may leave a body to the tree path, but a body it
 * reads must be one the tree path reads, into the same struct. Returns
 * whether the token path read it. */
static size_t tokens_read, tokens_pages; /* pages: a response with Items or LastEvaluatedKey */
static bool tokens_item(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  char et[512], ec[512], st_[4096], sc_[4096];
  unsigned f = flags & ~(unsigned)DORM_READ_PARTIAL;
  dorm_status t = dorm__model_decode_item(text, len, m, f | MODEL_DECODE_TOKENS_ONLY, &A, st_, et, sizeof et);
  dorm_status c = dorm__model_decode_item(text, len, m, f | MODEL_DECODE_CJSON, &A, sc_, ec, sizeof ec);
  if (t != DORM_OK && t != DORM_ERR_BAD_RESPONSE) fail_msg("token path: %s (%s)", dorm_strerror(t), et);
  if (t != DORM_OK) return false;
  if (c != DORM_OK) fail_msg("the token path read what the tree path refuses (%s): %.*s", ec, (int)len, text);
  same_structs(m, st_, sc_, text, len);
  tokens_read++;
  return true;
}

/* Decodes text both ways into model structs: the same status and message,
 * and when they succeed the same struct. The decoder alone (no fallback)
 * must succeed and fail on the same inputs. Returns whether they succeeded. */
static bool decode_both(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  char e1[512], e2[512], e3[512];
  char s1[4096], s2[4096], s3[4096];
  assert_true(m->size <= sizeof s1);
  dorm_status st1 = dorm__model_decode_item(text, len, m, flags, &A, s1, e1, sizeof e1);
  dorm_av item;
  dorm_status st2 = dorm_item_from_json(text, len, &A, &item, e2, sizeof e2);
  if (st2 == DORM_OK) st2 = dorm_model_from_av(m, &item, flags, &A, s2, e2, sizeof e2);
  if (st1 != st2 || (st1 != DORM_OK && strcmp(e1, e2) != 0))
    fail_msg("direct: %s (%s), via dorm_av: %s (%s) for %.*s", dorm_strerror(st1), e1, dorm_strerror(st2), e2,
             (int)len, text);
  dorm_status st3 = dorm__model_decode_item(text, len, m, flags | MODEL_DECODE_DIRECT_ONLY, &A, s3, e3, sizeof e3);
  if ((st3 == DORM_OK) != (st2 == DORM_OK))
    fail_msg("the decoder alone: %s (%s), via dorm_av: %s (%s) for %.*s", dorm_strerror(st3), e3, dorm_strerror(st2),
             e2, (int)len, text);
  tokens_item(m, text, len, flags);
  if (st1 != DORM_OK) {
    assert_true(strlen(e1) > 0);
    return false;
  }
  same_structs(m, s1, s2, text, len);
  same_structs(m, s3, s2, text, len);
  return true;
}

static void corpus_agrees(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    if (!decode_both(&tm_Kitchen_desc, valid[i], strlen(valid[i]), DORM_READ_PARTIAL)) fail_msg("rejected valid[%zu]", i);
    dorm_av v;
    char e[256];
    assert_int_equal(dorm_item_from_json(valid[i], strlen(valid[i]), &A, &v, e, sizeof e), DORM_OK);
  }
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    if (decode_both(&tm_Kitchen_desc, invalid[i], strlen(invalid[i]), DORM_READ_PARTIAL))
      fail_msg("accepted invalid[%zu]: %s", i, invalid[i]);
    char s[4096], e[256];
    dorm_status st = dorm__model_decode_item(invalid[i], strlen(invalid[i]), &tm_Kitchen_desc, DORM_READ_PARTIAL, &A, s, e,
                                       sizeof e);
    if (st != DORM_ERR_BAD_RESPONSE) fail_msg("invalid[%zu]: %s (%s)", i, dorm_strerror(st), e);
  }
  assert_true(decode_both(&tm_Kitchen_desc, tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), 0));
  /* the usual item is read by the token path, not left to the tree */
  assert_true(tokens_item(&tm_Kitchen_desc, tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), 0));
  /* nesting: 64 levels of AttributeValues are read, 65 are not */
  for (int depth = 63; depth <= 66; depth++) {
    char buf[2048];
    size_t o = 0;
    o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"a\":");
    for (int d = 1; d < depth; d++) o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"L\":[");
    o += (size_t)snprintf(buf + o, sizeof buf - o, "{\"S\":\"x\"}");
    for (int d = 1; d < depth; d++) o += (size_t)snprintf(buf + o, sizeof buf - o, "]}");
    o += (size_t)snprintf(buf + o, sizeof buf - o, "}");
    assert_true(decode_both(&tm_Kitchen_desc, buf, o, DORM_READ_PARTIAL) == (depth <= DORM_READ_MAX_DEPTH));
  }
  /* only len bytes are read */
  assert_true(decode_both(&tm_Kitchen_desc, "{\"a\":{\"S\":\"x\"}}garbage", 15, DORM_READ_PARTIAL));
  /* errors name the place */
  char e[256], s[4096];
  static const char bad_n[] = "{\"a\":{\"M\":{\"b\":{\"N\":\"x1\"}}}}";
  assert_int_equal(dorm__model_decode_item(bad_n, strlen(bad_n), &tm_Kitchen_desc, DORM_READ_PARTIAL, &A, s, e, sizeof e),
                   DORM_ERR_BAD_RESPONSE);
  assert_non_null(strstr(e, "a.b: N value \"x1\" is not a valid number"));
  static const char bad_city[] = "{\"id\":{\"S\":\"k\"},\"home\":{\"M\":{\"city\":{\"S\":\"\xc3(\"}}}}";
  assert_int_equal(dorm__model_decode_item(bad_city, strlen(bad_city), &tm_Kitchen_desc, DORM_READ_PARTIAL, &A, s, e, sizeof e),
                   DORM_ERR_BAD_RESPONSE);
  assert_string_equal(e, "home.city: an S value is not valid UTF-8 (byte 0)");
}

/* Random damage (1-3 bytes replaced, deleted or inserted) to valid text. */
static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
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

static const char order_item[] =
    "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"},\"_type\":{\"S\":\"Order\"},"
    "\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"paid\"},"
    "\"total\":{\"M\":{\"amount\":{\"N\":\"5\"},\"currency\":{\"S\":\"EUR\"}}},\"tags\":{\"L\":[{\"S\":\"x\"}]},"
    "\"shipTo\":{\"M\":{\"street\":{\"S\":\"s\"},\"city\":{\"S\":\"c\"},\"postCode\":{\"NULL\":true}}},"
    "\"customer_note\":{\"S\":\"n\\u00e9\"},\"metadata\":{\"S\":\"{}\"},"
    "\"createdAt\":{\"S\":\"2024-05-17T11:31:22.5+02:00\"},\"updatedAt\":{\"S\":\"2024-05-17T09:31:22Z\"},"
    "\"version\":{\"N\":\"7\"},\"expiresAt\":{\"N\":\"1.7E9\"}}";

static void mutations_agree(void **state) {
  (void)state;
  char *buf = malloc(8192);
  assert_non_null(buf);
  const struct {
    const dorm_model_desc *m;
    const char *json;
    unsigned flags;
  } seeds[] = {
      {&tm_Kitchen_desc, tm_sample_kitchen_json, 0}, {&tm_Order_desc, order_item, 0},
      {&tm_Kitchen_desc, valid[3], DORM_READ_PARTIAL}, {&tm_Kitchen_desc, valid[4], DORM_READ_PARTIAL},
      {&tm_Kitchen_desc, valid[6], DORM_READ_PARTIAL}, {&tm_Kitchen_desc, valid[7], DORM_READ_PARTIAL},
  };
  size_t ok = 0, total = 0, tokens_before = tokens_read;
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s].json);
    int rounds = s < 2 ? 8000 : 3000;
    for (int round = 0; round < rounds; round++) {
      size_t len;
      mutate_one(seeds[s].json, n, buf, &len);
      unsigned flags = seeds[s].flags | (round % 3 == 0 ? DORM_READ_PARTIAL : 0);
      ok += decode_both(seeds[s].m, buf, len, flags);
      if (++total % 500 == 0) dorm_arena_reset(&A);
    }
  }
  free(buf);
  /* the mutations must exercise both outcomes */
  assert_true(ok > 1000);
  assert_true(ok < total - 1000);
  /* and the token path read (and matched) many of them */
  assert_true(tokens_read - tokens_before > 1000);
}

/* ---- responses ---- */

/* A response read the dorm_av way with public pieces: the members, every
 * item converted (in the order of the text), then each read into a struct
 * (items of another entity type skipped when check_type). */
typedef struct generic {
  dorm_status st;
  char err[512];
  char *items; /* structs */
  void *item;
  size_t n;
  bool has_item, has_last_key;
  dorm_av last_key;
  uint64_t count, scanned;
} generic;

static void read_generic(const dorm_model_desc *m, const char *text, size_t len, unsigned flags, generic *g) {
  memset(g, 0, sizeof *g);
  bool check_type = (flags & MODEL_DECODE_CHECK_TYPE) != 0;
  cJSON *root = NULL;
  dorm_json_response r;
  g->st = dorm__json_parse(text, len, &root, g->err, sizeof g->err);
  if (g->st == DORM_OK) g->st = dorm__json_response_members(root, &r, g->err, sizeof g->err);
  if (g->st != DORM_OK) {
    cJSON_Delete(root);
    return;
  }
  dorm_av one, *all = NULL;
  size_t n = 0;
  for (const cJSON *c = root->child; c && g->st == DORM_OK; c = c->next) {
    if (c == r.item) g->st = dorm__json_to_item(c, &A, &one, c->string, g->err, sizeof g->err);
    else if (c == r.last_key) g->st = dorm__json_to_item(c, &A, &g->last_key, c->string, g->err, sizeof g->err);
    else if (c == r.items) g->st = dorm__json_member_items(root, "Items", &A, &all, &n, g->err, sizeof g->err);
  }
  g->has_last_key = r.last_key != NULL;
  g->count = r.has_count ? r.count : 0;
  g->scanned = r.scanned_count;
  cJSON_Delete(root);
  if (g->st != DORM_OK) return;
  g->items = dorm_arena_alloc(&A, (n + 1) * m->size);
  g->item = dorm_arena_alloc(&A, m->size);
  if (r.item && one.u.map.count && (!check_type || dorm_model_is(m, &one))) {
    g->st = dorm_model_from_av(m, &one, flags & DORM_READ_PARTIAL, &A, g->item, g->err, sizeof g->err);
    g->has_item = g->st == DORM_OK;
  }
  for (size_t i = 0; i < n && g->st == DORM_OK; i++) {
    if (check_type && !dorm_model_is(m, &all[i])) continue;
    g->st = dorm_model_from_av(m, &all[i], flags & DORM_READ_PARTIAL, &A, g->items + g->n * m->size, g->err,
                               sizeof g->err);
    if (g->st == DORM_OK) g->n++;
  }
  if (!r.has_count) g->count = g->n;
}

/* The token path alone on a response (see tokens_item): what it reads, the
 * tree path through cJSON reads the same. Returns whether it read it. */
static bool tokens_response(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  model_response t, c;
  char et[512], ec[512];
  unsigned f = flags & ~(unsigned)DORM_READ_PARTIAL;
  dorm_status st = dorm__model_decode_response(text, len, m, f | MODEL_DECODE_TOKENS_ONLY, &A, &t, et, sizeof et);
  dorm_status sc = dorm__model_decode_response(text, len, m, f | MODEL_DECODE_CJSON, &A, &c, ec, sizeof ec);
  if (st != DORM_OK && st != DORM_ERR_BAD_RESPONSE) fail_msg("token path: %s (%s)", dorm_strerror(st), et);
  if (st != DORM_OK) return false;
  if (sc != DORM_OK) fail_msg("the token path read what the tree path refuses (%s): %.*s", ec, (int)len, text);
  assert_int_equal(t.has_item, c.has_item);
  if (t.has_item) same_structs(m, t.item, c.item, text, len);
  assert_int_equal(t.nitems, c.nitems);
  for (size_t i = 0; i < t.nitems; i++)
    same_structs(m, (char *)t.items + i * m->size, (char *)c.items + i * m->size, text, len);
  assert_int_equal(t.count, c.count);
  assert_int_equal(t.scanned_count, c.scanned_count);
  assert_int_equal(t.has_last_key, c.has_last_key);
  if (t.has_last_key) assert_true(dorm_av_equal(&t.last_key, &c.last_key));
  if (t.nitems || t.has_last_key) tokens_pages++;
  tokens_read++;
  return true;
}

/* dorm__model_decode_response against read_generic: the same outcome, the same
 * message, the same structs, count, cursor key. */
static bool response_both(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  model_response r, d;
  char e[512], ed[512];
  generic g;
  dorm_status st = dorm__model_decode_response(text, len, m, flags, &A, &r, e, sizeof e);
  read_generic(m, text, len, flags, &g);
  if (st != g.st || (st != DORM_OK && strcmp(e, g.err) != 0))
    fail_msg("decoder: %s (%s), via dorm_av: %s (%s) for %.*s", dorm_strerror(st), e, dorm_strerror(g.st), g.err,
             (int)len, text);
  tokens_response(m, text, len, flags);
  dorm_status std = dorm__model_decode_response(text, len, m, flags | MODEL_DECODE_DIRECT_ONLY, &A, &d, ed, sizeof ed);
  /* alone, the decoder may fail on an item of another entity type that the
   * fallback skips; nothing else */
  if (std == DORM_OK && st != DORM_OK) fail_msg("the decoder alone accepted %.*s (%s)", (int)len, text, e);
  if (std != DORM_OK && st == DORM_OK && !(flags & MODEL_DECODE_CHECK_TYPE))
    fail_msg("the decoder alone rejected %.*s: %s", (int)len, text, ed);
  if (st != DORM_OK) return false;
  assert_int_equal(r.has_item, g.has_item);
  if (r.has_item) same_structs(m, r.item, g.item, text, len);
  assert_int_equal(r.nitems, g.n);
  for (size_t i = 0; i < r.nitems; i++)
    same_structs(m, (char *)r.items + i * m->size, g.items + i * m->size, text, len);
  assert_int_equal(r.count, g.count);
  assert_int_equal(r.scanned_count, g.scanned);
  assert_int_equal(r.has_last_key, g.has_last_key);
  if (r.has_last_key) assert_true(dorm_av_equal(&r.last_key, &g.last_key));
  return true;
}

static const char customer_item[] =
    "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"PROFILE\"},\"_type\":{\"S\":\"Customer\"},"
    "\"customerId\":{\"S\":\"c1\"},\"email\":{\"S\":\"a@b\"},\"name\":{\"S\":\"Ann\"},"
    "\"createdAt\":{\"S\":\"2024-05-17T09:31:22Z\"},\"updatedAt\":{\"S\":\"2024-05-17T09:31:22Z\"},"
    "\"version\":{\"N\":\"1\"}}";

static void responses_agree(void **state) {
  (void)state;
  char q[4096], g[4096];
  snprintf(q, sizeof q,
           "{\"Count\":3,\"Items\":[%s,%s,%s],\"ScannedCount\":4,\"LastEvaluatedKey\":{\"PK\":{\"S\":\"k\"}},"
           "\"ConsumedCapacity\":{\"TableName\":\"t\",\"CapacityUnits\":0.5,\"x\":[1,-2.5e3,true,false,null,\"s\",{}]}}",
           order_item, order_item, order_item);
  snprintf(g, sizeof g, "{\"Item\":%s}", order_item);
  assert_true(response_both(&tm_Order_desc, q, strlen(q), 0));
  assert_true(response_both(&tm_Order_desc, g, strlen(g), MODEL_DECODE_CHECK_TYPE));
  assert_true(response_both(&tm_Customer_desc, g, strlen(g), MODEL_DECODE_CHECK_TYPE | DORM_READ_PARTIAL));
  /* a GetItem response and a Query page are read by the token path */
  assert_true(tokens_response(&tm_Order_desc, g, strlen(g), MODEL_DECODE_CHECK_TYPE));
  assert_true(tokens_response(&tm_Order_desc, q, strlen(q), 0));
  size_t pages_before = tokens_pages;
  char *buf = malloc(16384);
  assert_non_null(buf);
  const struct {
    const dorm_model_desc *m;
    const char *json;
    unsigned flags;
  } seeds[] = {
      {&tm_Order_desc, q, 0},
      {&tm_Order_desc, g, MODEL_DECODE_CHECK_TYPE},
      {&tm_Customer_desc, g, MODEL_DECODE_CHECK_TYPE},
  };
  size_t ok = 0, total = 0;
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s].json);
    for (int round = 0; round < 4000; round++) {
      size_t len;
      mutate_one(seeds[s].json, n, buf, &len);
      ok += response_both(seeds[s].m, buf, len, seeds[s].flags | (round % 3 == 0 ? DORM_READ_PARTIAL : 0));
      if (++total % 200 == 0) dorm_arena_reset(&A);
    }
  }
  free(buf);
  assert_true(ok > 1000);
  assert_true(ok < total - 1000);
  /* mutated pages read by the token path, each compared item by item */
  assert_true(tokens_pages - pages_before > 200); /* 365 when written */
}

static void response_members(void **state) {
  (void)state;
  model_response r;
  char e[512];
  char q[4096];
  snprintf(q, sizeof q, "{\"Count\":3,\"Items\":[%s,%s,%s],\"LastEvaluatedKey\":{\"PK\":{\"S\":\"k\"}}}", order_item,
           order_item, order_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_OK);
  assert_int_equal(r.nitems, 3);
  assert_int_equal(r.count, 3);
  assert_true(r.has_last_key);
  assert_string_equal(dorm_av_map_get(&r.last_key, "PK")->u.s.ptr, "k");
  const tm_Order *items = r.items;
  assert_string_equal(items[2].customerId, "c1");
  assert_string_equal(items[2].note, "n\xc3\xa9");
  assert_int_equal(items[2].status, TM_STATUS_PAID);
  /* an item of another entity type is dropped when asked to */
  snprintf(q, sizeof q, "{\"Item\":%s}", order_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Order_desc, MODEL_DECODE_CHECK_TYPE, &A, &r, e, sizeof e),
                   DORM_OK);
  assert_true(r.has_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Customer_desc, MODEL_DECODE_CHECK_TYPE, &A, &r, e, sizeof e),
                   DORM_OK);
  assert_false(r.has_item);
  snprintf(q, sizeof q, "{\"Items\":[%s,%s]}", order_item, customer_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Customer_desc, MODEL_DECODE_CHECK_TYPE, &A, &r, e, sizeof e),
                   DORM_OK);
  assert_int_equal(r.nitems, 1);
  assert_string_equal(((const tm_Customer *)r.items)[0].name, "Ann");
  /* a bad item is named by its key */
  snprintf(q, sizeof q, "{\"Items\":[%s,{\"PK\":{\"S\":\"P9\"},\"SK\":{\"S\":\"S9\"},\"status\":{\"N\":\"1\"}}]}",
           order_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_ERR_SCHEMA_MISMATCH);
  assert_int_equal(r.bad_item, 1);
  assert_string_equal(r.bad_key, "PK=P9, SK=S9");
  assert_string_equal(e, "Order.status: stored as N, expected S");
  /* a malformed value later in the response comes first */
  snprintf(q, sizeof q, "{\"Items\":[{\"PK\":{\"S\":\"P9\"},\"status\":{\"N\":\"1\"}},%s],\"LastEvaluatedKey\":{\"PK\":{\"S\":7}}}",
           order_item);
  assert_int_equal(dorm__model_decode_response(q, strlen(q), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_ERR_BAD_RESPONSE);
  assert_string_equal(e, "LastEvaluatedKey.PK: an S value must be a JSON string");
  assert_int_equal(r.bad_item, SIZE_MAX);
  /* Select COUNT: no Items, a Count */
  const char *cnt = "{\"Count\":17,\"ScannedCount\":20}";
  assert_int_equal(dorm__model_decode_response(cnt, strlen(cnt), &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_OK);
  assert_int_equal(r.count, 17);
  assert_int_equal(r.scanned_count, 20);
  assert_int_equal(r.nitems, 0);
  assert_int_equal(dorm__model_decode_response("{}", 2, &tm_Order_desc, 0, &A, &r, e, sizeof e), DORM_OK);
  assert_false(r.has_item);
  const struct {
    const char *body, *msg;
  } bad[] = {
      {"", "empty JSON body"},
      {"[]", "expected a JSON object"},
      {"{\"Item\":[]}", "Item: expected an object of attributes"},
      {"{\"Items\":{}}", "Items: expected an array of items"},
      {"{\"Count\":-1}", "Count: expected a non-negative integer count"},
      {"{\"Count\":1.5}", "Count: expected a non-negative integer count"},
      {"{\"ScannedCount\":\"1\"}", "ScannedCount: expected a non-negative integer count"},
      {"{\"Item\":{},\"Item\":{}}", "Item: member appears twice"},
      {"{\"Items\":[],\"Items\":[]}", "Items: member appears twice"},
      {"{\"x\":[1,]}", "malformed JSON at byte 8"},
      {"{\"x\":tru}", "malformed JSON"},
      {"{\"Count\":1} {", "unexpected data after the JSON value at byte 12"},
      {"{\"Items\":[{\"a\":{\"S\":1}}]}", "Items[0].a: an S value must be a JSON string"},
      {"{\"x\":\"\\u0000\"}", "x: a string contains U+0000"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dorm_status st = dorm__model_decode_response(bad[i].body, strlen(bad[i].body), &tm_Order_desc, 0, &A, &r, e, sizeof e);
    if (st != DORM_ERR_BAD_RESPONSE) fail_msg("accepted bad response %s", bad[i].body);
    if (!strstr(e, bad[i].msg)) fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].body, e, bad[i].msg);
  }
}

/* \u escapes that cJSON would decode as a NUL (cutting the string short)
 * are refused, naming the value; escaped backslashes are text. */
static void broken_escapes(void **state) {
  (void)state;
  model_response r;
  char e[512];
  const struct {
    const char *body, *msg;
  } bad[] = {
      {"{\"Item\":{\"customerId\":{\"S\":\"a\\u0000b\"}}}",
       "Item.customerId: a string contains U+0000 (\\u0000), which this reader cannot represent"},
      {"{\"Item\":{\"customerId\":{\"S\":\"a\\u00zzb\"}}}", "Item.customerId: a string has a \\u escape without four hex digits"},
      {"{\"Item\":{\"customerId\":{\"S\":\"ab\\u12\\\"xyz\"}}}", "Item.customerId: a string has a \\u escape without four hex digits"},
      {"{\"Item\":{\"tags\":{\"SS\":[\"ok\",\"\\uG000\"]}}}", "Item.tags[1]: a string has a \\u escape"},
      {"{\"Items\":[{},{\"shipTo\":{\"M\":{\"city\":{\"S\":\"\\u000x\"}}}}]}", "Items[1].shipTo.city: a string has"},
      {"{\"Item\":{\"na\\u0000me\":{\"S\":\"x\"}}}", "Item: a member name contains U+0000"},
      {"{\"ConsumedCapacity\":{\"TableName\":\"t\\u0000\"}}", "ConsumedCapacity.TableName: a string contains U+0000"},
      {"{\"x\":[\"a\",{\"b\":[\"\\\\\",\"\\u0000\"]}]}", "x[1].b[1]: a string contains U+0000"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dorm_status st = dorm__model_decode_response(bad[i].body, strlen(bad[i].body), &tm_Order_desc, DORM_READ_PARTIAL, &A, &r,
                                           e, sizeof e);
    if (st != DORM_ERR_BAD_RESPONSE) fail_msg("accepted %s", bad[i].body);
    if (strcmp(e, bad[i].msg) != 0 && !strstr(e, bad[i].msg)) fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].body, e, bad[i].msg);
  }
  /* An escaped backslash followed by u0000 is ordinary text, and so is a
   * \u escape with four hex digits. */
  const char *ok = "{\"Item\":{\"customerId\":{\"S\":\"\\\\u0000 \\\\\\u0041 \\u00e9\"}}}";
  assert_int_equal(dorm__model_decode_response(ok, strlen(ok), &tm_Order_desc, DORM_READ_PARTIAL, &A, &r, e, sizeof e), DORM_OK);
  assert_true(r.has_item);
  assert_string_equal(((const tm_Order *)r.item)->customerId, "\\u0000 \\A \xc3\xa9");
}

/* Attribute names that JSON escapes: found through the full comparison. */
typedef struct weird {
  const char *a;
  const char *b;
} weird;
static const dorm_field_desc weird_fields[] = {
    {"a", {"we\"ird", "we\"ird"}, {"\"we\\\"ird\":", "\"we\\\"ird\":"}, {10, 10}, 0, (uint32_t)offsetof(weird, a), -1,
     {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}, NULL},
    {"b", {"tab\there", "tab\there"}, {"\"tab\\there\":", "\"tab\\there\":"}, {12, 12}, 0, (uint32_t)offsetof(weird, b),
     -1, {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}, NULL},
};
static const dorm_key_desc weird_keys[] = {{"we\"ird", "\"we\\\"ird\":", 10, 'S', 0, NULL, 0}};
static const dorm_index_desc weird_indexes[] = {{NULL, DORM_INDEX_TABLE, 0, 0, -1}};
static const dorm_model_desc weird_desc = {"Weird", "weird", NULL, DORM_NAMING_CAMEL, (uint32_t)sizeof(weird),
                                           weird_fields, 2, weird_keys, 1, 1, weird_indexes, 1, -1, -1, -1, -1, 0, NULL};

static void escaped_names(void **state) {
  (void)state;
  weird w = {"x", "y"}, back;
  const char *json;
  size_t len;
  char e[256];
  assert_int_equal(dorm_model_to_json(&weird_desc, &w, &A, &json, &len, e, sizeof e), DORM_OK);
  assert_string_equal(json, "{\"we\\\"ird\":{\"S\":\"x\"},\"tab\\there\":{\"S\":\"y\"}}");
  assert_true(decode_both(&weird_desc, json, len, 0));
  assert_int_equal(dorm__model_decode_item(json, len, &weird_desc, 0, &A, &back, e, sizeof e), DORM_OK);
  assert_string_equal(back.a, "x");
  assert_string_equal(back.b, "y");
  /* the same names written with other escapes */
  static const char other[] = "{\"tab\\u0009here\":{\"S\":\"2\"},\"we\\u0022ird\":{\"S\":\"1\"}}";
  assert_true(decode_both(&weird_desc, other, strlen(other), 0));
  assert_int_equal(dorm__model_decode_item(other, strlen(other), &weird_desc, 0, &A, &back, e, sizeof e), DORM_OK);
  assert_string_equal(back.a, "1");
  assert_string_equal(back.b, "2");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(corpus_agrees, teardown),
      cmocka_unit_test_teardown(mutations_agree, teardown),
      cmocka_unit_test_teardown(responses_agree, teardown),
      cmocka_unit_test_teardown(response_members, teardown),
      cmocka_unit_test_teardown(broken_escapes, teardown),
      cmocka_unit_test_teardown(escaped_names, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
