/* dorm_payload_*: endpoint payloads between plain JSON and the generated
 * structs, on hand-written descriptors laid out the way dormc writes them
 * (a "Kitchen" with a field of every type, a recursive Node for the depth
 * limit). Round trips of every type, the exact message of every error path,
 * unknown members, null and absent optional fields, and the depth limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>

#include "dorm/streamer.h"
#include "streamer_internal.h" /* dorm__st_exact_numbers: what the server does after parsing a message */

/* ---- the C shapes ---- */

typedef enum k_Color { K_COLOR_RED = 1, K_COLOR_GREEN, K_COLOR_BLUE } k_Color;

typedef struct k_Range {
  int64_t from;
  int64_t to;
} k_Range;

typedef struct k_Line {
  const char *sku;
  int64_t qty;
} k_Line;

typedef struct k_list_Line {
  k_Line *items;
  size_t count;
} k_list_Line;
typedef struct k_set_string {
  const char **items;
  size_t count;
} k_set_string;
typedef struct k_map_string {
  const char **keys;
  const char **values;
  size_t count;
} k_map_string;
typedef struct k_list_opt_int {
  dorm_opt_i64 *items;
  size_t count;
} k_list_opt_int;
typedef struct k_list_opt_string {
  const char **items;
  size_t count;
} k_list_opt_string;
typedef struct k_list_Color {
  k_Color *items;
  size_t count;
} k_list_Color;
typedef struct k_list_float {
  double *items;
  size_t count;
} k_list_float;
typedef struct k_list_list_int {
  struct k_list_int {
    int64_t *items;
    size_t count;
  } *items;
  size_t count;
} k_list_list_int;
typedef struct k_list_int k_list_int;

typedef struct k_Kitchen {
  const char *text;    /* string */
  const char *amount;  /* decimal */
  int64_t count;       /* int */
  int64_t expires;     /* epoch */
  double ratio;        /* float */
  bool flag;           /* bool */
  dorm_bytes blob;     /* bytes */
  int64_t at;          /* time */
  const char *doc;     /* json */
  k_Color color;       /* Color */
  k_Range range;       /* Range */
  k_set_string tags;   /* set<string> */
  k_list_Line lines;   /* list<Line> */
  k_map_string attrs;  /* map<string> */
  k_list_opt_int maybe; /* list<int?> */
  k_list_opt_string names; /* list<string?> */
  k_list_Color colors; /* list<Color> */
  k_list_float floats; /* list<float> */
  k_list_list_int grid; /* list<list<int>> */
  const char *note;    /* string? @name("the_note") */
  bool has_limit;
  int64_t limit;       /* int? */
  bool has_shade;
  k_Color shade;       /* Color? */
  dorm_bytes extra;    /* bytes? */
  bool has_window;
  k_Range window;      /* Range? */
} k_Kitchen;

typedef struct k_Node k_Node;
typedef struct k_list_Node {
  k_Node *items;
  size_t count;
} k_list_Node;
struct k_Node {
  const char *name;
  bool has_children;
  k_list_Node children;
  const char *data; /* json? */
};

typedef struct k_Empty {
  char unused_;
} k_Empty;

/* ---- descriptors (as gen_model_c.c writes them) ---- */

#define ATTR(a) {a, a}, {"\"" a "\":", "\"" a "\":"}, {sizeof(a) + 2, sizeof(a) + 2}
#define T(kind, ctype) {kind, 0, 0, (uint32_t)sizeof(ctype), NULL, NULL, NULL}
#define TE(kind, ctype, elem) {kind, 0, 0, (uint32_t)sizeof(ctype), elem, NULL, NULL}
#define TS(ctype, sdesc) {DORM_K_STRUCT, 0, 0, (uint32_t)sizeof(ctype), NULL, sdesc, NULL}
#define TN(ctype, edesc) {DORM_K_ENUM, 0, 0, (uint32_t)sizeof(ctype), NULL, NULL, edesc}
#define F(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), -1, type, NULL}
#define FH(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), (int32_t)offsetof(S, has_##m), type, NULL}

static const char *const color_values[] = {"red", "green", "BLUE"};
static const dorm_enum_desc color_edesc = {"Color", color_values, 3};

static const dorm_field_desc range_fields[] = {
    F(k_Range, from, ATTR("from"), 0, T(DORM_K_TIME, int64_t)),
    F(k_Range, to, ATTR("to"), 0, T(DORM_K_TIME, int64_t)),
};
static const dorm_struct_desc range_sdesc = {"Range", (uint32_t)sizeof(k_Range), range_fields, 2};

static const dorm_field_desc line_fields[] = {
    F(k_Line, sku, ATTR("sku"), 0, T(DORM_K_STRING, const char *)),
    F(k_Line, qty, ATTR("qty"), 0, T(DORM_K_INT, int64_t)),
};
static const dorm_struct_desc line_sdesc = {"Line", (uint32_t)sizeof(k_Line), line_fields, 2};

static const dorm_type_desc td_string = T(DORM_K_STRING, const char *);
static const dorm_type_desc td_int = T(DORM_K_INT, int64_t);
static const dorm_type_desc td_float = T(DORM_K_FLOAT, double);
static const dorm_type_desc td_Line = TS(k_Line, &line_sdesc);
static const dorm_type_desc td_Color = TN(k_Color, &color_edesc);
static const dorm_type_desc td_opt_int = {DORM_K_INT, 1, (uint16_t)offsetof(dorm_opt_i64, value),
                                          (uint32_t)sizeof(dorm_opt_i64), NULL, NULL, NULL};
static const dorm_type_desc td_opt_string = {DORM_K_STRING, 1, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL};
static const dorm_type_desc td_list_int = TE(DORM_K_LIST, k_list_int, &td_int);

#define K k_Kitchen
static const dorm_field_desc kitchen_fields[] = {
    F(K, text, ATTR("text"), 0, T(DORM_K_STRING, const char *)),
    F(K, amount, ATTR("amount"), 0, T(DORM_K_DECIMAL, const char *)),
    F(K, count, ATTR("count"), 0, T(DORM_K_INT, int64_t)),
    F(K, expires, ATTR("expires"), 0, T(DORM_K_EPOCH, int64_t)),
    F(K, ratio, ATTR("ratio"), 0, T(DORM_K_FLOAT, double)),
    F(K, flag, ATTR("flag"), 0, T(DORM_K_BOOL, bool)),
    F(K, blob, ATTR("blob"), 0, T(DORM_K_BYTES, dorm_bytes)),
    F(K, at, ATTR("at"), 0, T(DORM_K_TIME, int64_t)),
    F(K, doc, ATTR("doc"), 0, T(DORM_K_JSON, const char *)),
    F(K, color, ATTR("color"), 0, TN(k_Color, &color_edesc)),
    F(K, range, ATTR("range"), 0, TS(k_Range, &range_sdesc)),
    F(K, tags, ATTR("tags"), 0, TE(DORM_K_SET, k_set_string, &td_string)),
    F(K, lines, ATTR("lines"), 0, TE(DORM_K_LIST, k_list_Line, &td_Line)),
    F(K, attrs, ATTR("attrs"), 0, TE(DORM_K_MAP, k_map_string, &td_string)),
    F(K, maybe, ATTR("maybe"), 0, TE(DORM_K_LIST, k_list_opt_int, &td_opt_int)),
    F(K, names, ATTR("names"), 0, TE(DORM_K_LIST, k_list_opt_string, &td_opt_string)),
    F(K, colors, ATTR("colors"), 0, TE(DORM_K_LIST, k_list_Color, &td_Color)),
    F(K, floats, ATTR("floats"), 0, TE(DORM_K_LIST, k_list_float, &td_float)),
    F(K, grid, ATTR("grid"), 0, TE(DORM_K_LIST, k_list_list_int, &td_list_int)),
    F(K, note, ATTR("the_note"), DORM_FF_OPTIONAL, T(DORM_K_STRING, const char *)),
    FH(K, limit, ATTR("limit"), DORM_FF_OPTIONAL, T(DORM_K_INT, int64_t)),
    FH(K, shade, ATTR("shade"), DORM_FF_OPTIONAL, TN(k_Color, &color_edesc)),
    F(K, extra, ATTR("extra"), DORM_FF_OPTIONAL, T(DORM_K_BYTES, dorm_bytes)),
    FH(K, window, ATTR("window"), DORM_FF_OPTIONAL, TS(k_Range, &range_sdesc)),
};
#undef K
static const dorm_struct_desc kitchen_desc = {"Kitchen", (uint32_t)sizeof(k_Kitchen), kitchen_fields, 24};

static const dorm_struct_desc node_sdesc;
static const dorm_type_desc td_Node = TS(k_Node, &node_sdesc);
static const dorm_field_desc node_fields[] = {
    F(k_Node, name, ATTR("name"), 0, T(DORM_K_STRING, const char *)),
    FH(k_Node, children, ATTR("children"), DORM_FF_OPTIONAL, TE(DORM_K_LIST, k_list_Node, &td_Node)),
    F(k_Node, data, ATTR("data"), DORM_FF_OPTIONAL, T(DORM_K_JSON, const char *)),
};
static const dorm_struct_desc node_sdesc = {"Node", (uint32_t)sizeof(k_Node), node_fields, 3};

static const dorm_field_desc empty_fields[] = {
    {NULL, {NULL, NULL}, {NULL, NULL}, {0, 0}, 0, 0, -1, {0, 0, 0, 0, NULL, NULL, NULL}, NULL},
};
static const dorm_struct_desc empty_desc = {"Empty", (uint32_t)sizeof(k_Empty), empty_fields, 0};

/* ---- helpers ---- */

/* A complete Kitchen in JSON (every member, in field order, as
 * dorm_payload_to_json writes it for sample()). */
static const char SAMPLE_JSON[] =
    "{\"text\":\"h\\u00e9llo \\\"w\\\"\",\"amount\":\"12.50\",\"count\":-42,\"expires\":1700000000,"
    "\"ratio\":0.25,\"flag\":true,\"blob\":\"AAH/\",\"at\":\"2025-11-25T13:38:44.123456789Z\","
    "\"doc\":{\"a\":[1,2,{\"b\":null}],\"z\":true},\"color\":\"BLUE\","
    "\"range\":{\"from\":\"2025-01-01T00:00:00Z\",\"to\":\"2025-01-31T23:59:59.5+01:00\"},"
    "\"tags\":[\"x\",\"y\"],\"lines\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-2\",\"qty\":0}],"
    "\"attrs\":{\"k1\":\"v1\",\"k 2\":\"v2\"},\"maybe\":[1,null,-3],\"names\":[null,\"n\"],"
    "\"colors\":[\"red\",\"green\"],\"floats\":[1.5,-0.001,1e+300],\"grid\":[[1,2],[],[3]],"
    "\"the_note\":\"a note\",\"limit\":0,\"shade\":\"green\",\"extra\":\"\",\"window\":{\"from\":"
    "\"1970-01-01T00:00:00Z\",\"to\":\"1969-12-31T23:59:59.999999999Z\"}}";

static void check_sample(const k_Kitchen *k) {
  assert_string_equal(k->text, "h\xc3\xa9llo \"w\"");
  assert_string_equal(k->amount, "12.50");
  assert_int_equal(k->count, -42);
  assert_int_equal(k->expires, 1700000000);
  assert_true(k->ratio == 0.25);
  assert_true(k->flag);
  assert_int_equal(k->blob.len, 3);
  assert_memory_equal(k->blob.data, "\x00\x01\xff", 3);
  assert_int_equal(k->at, INT64_C(1764077924123456789));
  assert_string_equal(k->doc, "{\"a\":[1,2,{\"b\":null}],\"z\":true}");
  assert_int_equal(k->color, K_COLOR_BLUE);
  assert_int_equal(k->range.from, INT64_C(1735689600) * 1000000000);
  assert_int_equal(k->range.to, (INT64_C(1738367999) - 3600) * 1000000000 + 500000000);
  assert_int_equal(k->tags.count, 2);
  assert_string_equal(k->tags.items[0], "x");
  assert_string_equal(k->tags.items[1], "y");
  assert_int_equal(k->lines.count, 2);
  assert_string_equal(k->lines.items[0].sku, "A-1");
  assert_int_equal(k->lines.items[0].qty, 2);
  assert_string_equal(k->lines.items[1].sku, "B-2");
  assert_int_equal(k->lines.items[1].qty, 0);
  assert_int_equal(k->attrs.count, 2);
  assert_string_equal(k->attrs.keys[0], "k1");
  assert_string_equal(k->attrs.values[0], "v1");
  assert_string_equal(k->attrs.keys[1], "k 2");
  assert_string_equal(k->attrs.values[1], "v2");
  assert_int_equal(k->maybe.count, 3);
  assert_true(k->maybe.items[0].has);
  assert_int_equal(k->maybe.items[0].value, 1);
  assert_false(k->maybe.items[1].has);
  assert_true(k->maybe.items[2].has);
  assert_int_equal(k->maybe.items[2].value, -3);
  assert_int_equal(k->names.count, 2);
  assert_null(k->names.items[0]);
  assert_string_equal(k->names.items[1], "n");
  assert_int_equal(k->colors.count, 2);
  assert_int_equal(k->colors.items[0], K_COLOR_RED);
  assert_int_equal(k->colors.items[1], K_COLOR_GREEN);
  assert_int_equal(k->floats.count, 3);
  assert_true(k->floats.items[0] == 1.5 && k->floats.items[1] == -0.001 && k->floats.items[2] == 1e300);
  assert_int_equal(k->grid.count, 3);
  assert_int_equal(k->grid.items[0].count, 2);
  assert_int_equal(k->grid.items[0].items[1], 2);
  assert_int_equal(k->grid.items[1].count, 0);
  assert_int_equal(k->grid.items[2].items[0], 3);
  assert_string_equal(k->note, "a note");
  assert_true(k->has_limit);
  assert_int_equal(k->limit, 0);
  assert_true(k->has_shade);
  assert_int_equal(k->shade, K_COLOR_GREEN);
  assert_non_null(k->extra.data);
  assert_int_equal(k->extra.len, 0);
  assert_true(k->has_window);
  assert_int_equal(k->window.from, 0);
  assert_int_equal(k->window.to, -1);
}

/* Parses text into a Kitchen-like struct of d; returns the status and keeps
 * the message in err. */
static dorm_status parse(const dorm_struct_desc *d, const char *text, dorm_arena *a, void *out, char *err,
                         size_t cap) {
  return dorm_payload_from_json(d, text, strlen(text), "payload", a, out, err, cap);
}

/* A Kitchen whose required members are all set, with one member replaced
 * (or removed: value NULL) by the given JSON. */
static char *sample_with(const char *member, const char *value) {
  cJSON *root = cJSON_Parse(SAMPLE_JSON);
  assert_non_null(root);
  cJSON_DeleteItemFromObjectCaseSensitive(root, member);
  if (value) {
    cJSON *v = cJSON_Parse(value);
    assert_non_null(v);
    cJSON_Delete(v);
    /* as written: cJSON's printer would round 9007199254740993 on the way */
    cJSON_AddItemToObject(root, member, cJSON_CreateRaw(value));
  }
  char *text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return text;
}

/* Expects sample_with(member, value) to fail with exactly `message`. */
static void expect_error(const char *member, const char *value, const char *message) {
  dorm_arena a = DORM_ARENA_INIT;
  char *text = sample_with(member, value);
  k_Kitchen k;
  char err[256] = "unchanged";
  dorm_status st = parse(&kitchen_desc, text, &a, &k, err, sizeof err);
  if (st != DORM_ERR_INVALID_ARGUMENT || strcmp(err, message) != 0)
    fail_msg("%s = %s: got status %d, \"%s\"; want \"%s\"", member, value ? value : "(removed)", (int)st, err,
             message);
  free(text);
  dorm_arena_free(&a);
}

/* ---- round trips ---- */

static void every_type_round_trips(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  k_Kitchen k;
  char err[256];
  assert_int_equal(parse(&kitchen_desc, SAMPLE_JSON, &a, &k, err, sizeof err), DORM_OK);
  check_sample(&k);

  /* Written back: times in the fixed UTC form, JSON canonical, the rest as read. */
  const char *json = NULL;
  size_t len = 0;
  assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_int_equal(strlen(json), len);
  assert_string_equal(json,
      "{\"text\":\"h\xc3\xa9llo \\\"w\\\"\",\"amount\":\"12.50\",\"count\":-42,\"expires\":1700000000,"
      "\"ratio\":0.25,\"flag\":true,\"blob\":\"AAH/\",\"at\":\"2025-11-25T13:38:44.123456789Z\","
      "\"doc\":{\"a\":[1,2,{\"b\":null}],\"z\":true},\"color\":\"BLUE\","
      "\"range\":{\"from\":\"2025-01-01T00:00:00.000000000Z\",\"to\":\"2025-01-31T22:59:59.500000000Z\"},"
      "\"tags\":[\"x\",\"y\"],\"lines\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-2\",\"qty\":0}],"
      "\"attrs\":{\"k1\":\"v1\",\"k 2\":\"v2\"},\"maybe\":[1,null,-3],\"names\":[null,\"n\"],"
      "\"colors\":[\"red\",\"green\"],\"floats\":[1.5,-0.001,1e+300],\"grid\":[[1,2],[],[3]],"
      "\"the_note\":\"a note\",\"limit\":0,\"shade\":\"green\",\"extra\":\"\",\"window\":{\"from\":"
      "\"1970-01-01T00:00:00.000000000Z\",\"to\":\"1969-12-31T23:59:59.999999999Z\"}}");

  /* ... and read again gives the same struct. */
  k_Kitchen again;
  assert_int_equal(parse(&kitchen_desc, json, &a, &again, err, sizeof err), DORM_OK);
  check_sample(&again);
  dorm_arena_free(&a);
}

static void cjson_tree_and_strings_are_copied(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  cJSON *root = cJSON_Parse(SAMPLE_JSON);
  assert_non_null(root);
  k_Kitchen k;
  char err[256];
  assert_int_equal(dorm_payload_from_cjson(&kitchen_desc, root, "payload", &a, &k, err, sizeof err), DORM_OK);
  cJSON_Delete(root); /* nothing of k points into the tree */
  check_sample(&k);
  dorm_arena_free(&a);
}

static void absent_optional_fields_are_left_out(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  k_Kitchen k;
  char err[256];
  char *text = sample_with("the_note", "null");
  assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_OK);
  free(text);
  assert_null(k.note);
  /* Optional members null or missing: absent (has_ false, NULL pointers). */
  k.has_limit = false;
  k.has_shade = false;
  k.has_window = false;
  k.extra.data = NULL;
  const char *json = NULL;
  size_t len;
  assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_null(strstr(json, "the_note"));
  assert_null(strstr(json, "limit"));
  assert_null(strstr(json, "shade"));
  assert_null(strstr(json, "extra"));
  assert_null(strstr(json, "window"));
  k_Kitchen back;
  assert_int_equal(parse(&kitchen_desc, json, &a, &back, err, sizeof err), DORM_OK);
  assert_null(back.note);
  assert_false(back.has_limit);
  assert_false(back.has_shade);
  assert_null(back.extra.data);
  assert_false(back.has_window);

  /* null for every optional member reads as absent too. */
  cJSON *root = cJSON_Parse(json);
  assert_non_null(root);
  static const char *const optional[] = {"the_note", "limit", "shade", "extra", "window"};
  for (size_t i = 0; i < 5; i++) cJSON_AddItemToObject(root, optional[i], cJSON_CreateNull());
  memset(&back, 0x5a, sizeof back);
  assert_int_equal(dorm_payload_from_cjson(&kitchen_desc, root, "payload", &a, &back, err, sizeof err), DORM_OK);
  cJSON_Delete(root);
  assert_null(back.note);
  assert_false(back.has_limit);
  assert_false(back.has_shade);
  assert_null(back.extra.data);
  assert_false(back.has_window);
  dorm_arena_free(&a);
}

static void unknown_members_are_ignored(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  cJSON *root = cJSON_Parse(SAMPLE_JSON);
  assert_non_null(root);
  cJSON_AddItemToObject(root, "unknown", cJSON_Parse("{\"deep\":[1,2,3]}"));
  cJSON_AddItemToObject(root, "note", cJSON_CreateString("the C name is not the JSON name"));
  cJSON_AddItemToObject(cJSON_GetObjectItem(root, "range"), "tz", cJSON_CreateString("UTC"));
  cJSON_AddItemToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "lines"), 0), "price", cJSON_CreateNumber(3));
  k_Kitchen k;
  char err[256];
  assert_int_equal(dorm_payload_from_cjson(&kitchen_desc, root, "payload", &a, &k, err, sizeof err), DORM_OK);
  cJSON_Delete(root);
  check_sample(&k);
  dorm_arena_free(&a);
}

static void empty_and_missing_payloads(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  k_Empty e;
  /* A struct without fields reads {}, null and no payload at all. */
  assert_int_equal(parse(&empty_desc, "{}", &a, &e, err, sizeof err), DORM_OK);
  assert_int_equal(parse(&empty_desc, "{\"x\":1}", &a, &e, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_payload_from_cjson(&empty_desc, NULL, "payload", &a, &e, err, sizeof err), DORM_OK);
  const char *json = NULL;
  size_t len;
  assert_int_equal(dorm_payload_to_json(&empty_desc, &e, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, "{}");
  /* A missing payload is {}: its required fields are missing. */
  k_Kitchen k;
  assert_int_equal(dorm_payload_from_cjson(&kitchen_desc, NULL, "payload", &a, &k, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.text: required");
  assert_int_equal(parse(&kitchen_desc, "null", &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.text: required");
  /* Without a path prefix the path starts at the member. */
  assert_int_equal(dorm_payload_from_json(&kitchen_desc, "{}", 2, NULL, &a, &k, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "text: required");
  dorm_arena_free(&a);
}

/* ---- every error path ---- */

static void wrong_types_name_the_path(void **state) {
  (void)state;
  expect_error("text", "null", "payload.text: required");
  expect_error("text", NULL, "payload.text: required");
  expect_error("text", "5", "payload.text: expected a string");
  expect_error("amount", "12.5", "payload.amount: expected a decimal number as a string");
  expect_error("amount", "\"12,5\"", "payload.amount: expected a decimal number: \"12,5\" is not one (unexpected character)");
  expect_error("count", "1.5", "payload.count: expected an integer");
  expect_error("count", "\"3\"", "payload.count: expected an integer");
#define PAST_2_53 "payload.count: expected an integer from -9007199254740991 to 9007199254740991 (2^53-1): JSON numbers past them are not read exactly"
  /* cJSON reads 9007199254740993 as 9007199254740992: refused, never taken rounded. */
  expect_error("count", "9007199254740993", PAST_2_53);
  expect_error("count", "9007199254740992", PAST_2_53);
  expect_error("count", "-9007199254740992", PAST_2_53);
  expect_error("count", "9223372036854775807", PAST_2_53);
  expect_error("count", "1e19", PAST_2_53);
#undef PAST_2_53
  expect_error("expires", "true", "payload.expires: expected an integer (seconds since the epoch)");
  expect_error("ratio", "\"0.5\"", "payload.ratio: expected a number");
  expect_error("flag", "1", "payload.flag: expected true or false");
  expect_error("blob", "\"not base64!\"", "payload.blob: expected a base64 string");
  expect_error("blob", "[1,2]", "payload.blob: expected a base64 string");
  expect_error("at", "\"yesterday\"", "payload.at: expected an RFC 3339 time");
  /* valid RFC 3339, outside what int64 nanoseconds hold: says so */
  expect_error("at", "\"2300-01-01T00:00:00Z\"",
               "payload.at: expected an RFC 3339 time from 1678 to 2261 (nanoseconds since 1970 in 64 bits), not in 2300");
  expect_error("at", "\"0001-01-01T00:00:00Z\"",
               "payload.at: expected an RFC 3339 time from 1678 to 2261 (nanoseconds since 1970 in 64 bits), not in 0001");
  expect_error("at", "\"2261-02-30T00:00:00Z\"", "payload.at: expected an RFC 3339 time");
  expect_error("at", "1700000000", "payload.at: expected an RFC 3339 time");
  expect_error("color", "\"purple\"", "payload.color: expected one of \"red\", \"green\", \"BLUE\" (Color)");
  expect_error("color", "\"blue\"", "payload.color: expected one of \"red\", \"green\", \"BLUE\" (Color)");
  expect_error("color", "1", "payload.color: expected one of \"red\", \"green\", \"BLUE\" (Color)");
  expect_error("range", "[]", "payload.range: expected an object");
  expect_error("range", "{\"from\":\"2025-01-01T00:00:00Z\"}", "payload.range.to: required");
  expect_error("range", "{\"from\":\"2025-13-01T00:00:00Z\",\"to\":\"2025-01-01T00:00:00Z\"}",
               "payload.range.from: expected an RFC 3339 time");
  expect_error("tags", "{}", "payload.tags: expected an array");
  expect_error("tags", "[\"a\",null]", "payload.tags[1]: expected a string, not null");
  /* a set holds each element once (DynamoDB refuses a set with one twice) */
  expect_error("tags", "[\"a\",\"b\",\"a\"]", "payload.tags: a set holds each element once; \"a\" is there twice");
  expect_error("tags",
               "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\",\"k\"]",
               "payload.tags: a set holds each element once; \"k\" is there twice");
  expect_error("lines", "\"A-1\"", "payload.lines: expected an array");
  expect_error("lines", "[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":2},{\"sku\":7,\"qty\":3}]",
               "payload.lines[2].sku: expected a string");
  expect_error("lines", "[{\"sku\":\"a\"}]", "payload.lines[0].qty: required");
  expect_error("lines", "[1]", "payload.lines[0]: expected an object");
  expect_error("attrs", "[]", "payload.attrs: expected an object");
  expect_error("attrs", "{\"ok\":\"x\",\"k\":5}", "payload.attrs[\"k\"]: expected a string");
  expect_error("attrs", "{\"k\":null}", "payload.attrs[\"k\"]: expected a string, not null");
  expect_error("maybe", "[1,\"2\"]", "payload.maybe[1]: expected an integer");
  expect_error("colors", "[\"red\",\"RED\"]", "payload.colors[1]: expected one of \"red\", \"green\", \"BLUE\" (Color)");
  expect_error("floats", "[1,null]", "payload.floats[1]: expected a number, not null");
  expect_error("grid", "[[1],[2,\"x\"]]", "payload.grid[1][1]: expected an integer");
  expect_error("grid", "[[1],2]", "payload.grid[1]: expected an array");
  expect_error("the_note", "false", "payload.the_note: expected a string");
  expect_error("limit", "\"none\"", "payload.limit: expected an integer");
  expect_error("shade", "\"\"", "payload.shade: expected one of \"red\", \"green\", \"BLUE\" (Color)");
  expect_error("extra", "\"AAA\"", "payload.extra: expected a base64 string");
  expect_error("window", "{\"from\":0,\"to\":0}", "payload.window.from: expected an RFC 3339 time");
}

static void bad_text_and_bad_utf8(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  k_Kitchen k;
  assert_int_equal(parse(&kitchen_desc, "[1]", &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload: expected an object");
  assert_int_equal(parse(&kitchen_desc, "\"text\"", &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload: expected an object");
  assert_int_equal(parse(&kitchen_desc, "{\"text\":", &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_true(strncmp(err, "payload: not valid JSON: ", 25) == 0);
  assert_int_equal(parse(&kitchen_desc, "{} x", &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_true(strncmp(err, "payload: not valid JSON: ", 25) == 0);
  /* Invalid UTF-8 in a string value and in a map key. */
  char *bad = sample_with("text", "\"ok\"");
  char *p = strstr(bad, "\"ok\"");
  assert_non_null(p);
  p[1] = (char)0xff;
  assert_int_equal(parse(&kitchen_desc, bad, &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.text: not valid UTF-8 (byte 0)");
  free(bad);
  bad = sample_with("attrs", "{\"ok\":\"v\"}");
  p = strstr(bad, "\"ok\"");
  assert_non_null(p);
  p[2] = (char)0xc3;
  assert_int_equal(parse(&kitchen_desc, bad, &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.attrs: a key is not valid UTF-8 (byte 1)");
  free(bad);
  /* The struct is left zeroed after a failure. */
  k_Kitchen zero;
  memset(&zero, 0, sizeof zero);
  assert_memory_equal(&k, &zero, sizeof k);
  /* Bad JSON in a json field is caught when writing. */
  assert_int_equal(parse(&kitchen_desc, SAMPLE_JSON, &a, &k, err, sizeof err), DORM_OK);
  k.doc = "{\"a\":";
  const char *json;
  size_t len;
  assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_true(strncmp(err, "Kitchen.doc: not valid JSON: ", 29) == 0);
  dorm_arena_free(&a);
}

/* The integers a JSON number carries exactly, both ends, read and written back as they were. */
static void integers_up_to_2_53_are_exact(void **state) {
  (void)state;
  const char *edges[] = {"9007199254740991", "-9007199254740991", "0", "-1"};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    dorm_arena a = DORM_ARENA_INIT;
    char *text = sample_with("count", edges[i]);
    k_Kitchen k;
    char err[256];
    assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_OK);
    assert_int_equal(k.count, strtoll(edges[i], NULL, 10));
    const char *json = NULL;
    size_t len;
    assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err), DORM_OK);
    char want[64];
    snprintf(want, sizeof want, "\"count\":%s,", edges[i]);
    assert_non_null(strstr(json, want));
    free(text);
    dorm_arena_free(&a);
  }
}

/* A json field passes its numbers on digit for digit, through the stored
 * payload's text (dorm_payload_from_json) and a parsed message's tree
 * (dorm_payload_from_cjson after cJSON): cJSON read them as doubles, so
 * 9007199254740993 arrived ...992 and a 30-digit id with 13 digits lost. A
 * number past a double's range is refused there; an int field refuses a
 * text its double rounded to an integer; a float field takes the double. */
static void numbers_beyond_a_double_keep_their_digits(void **state) {
  (void)state;
  const char *doc = "{\"big\":9007199254740993,\"id\":123456789012345678901234567890,"
                    "\"dec\":0.1000000000000000000001,\"plain\":[0.5,-0,1.50]}";
  char *text = sample_with("doc", doc);
  for (int via_tree = 0; via_tree < 2; via_tree++) {
    dorm_arena a = DORM_ARENA_INIT;
    k_Kitchen k;
    char err[256];
    cJSON *root = NULL;
    if (via_tree) {
      root = cJSON_Parse(text);
      dorm__st_exact_numbers(root, text, strlen(text));
      assert_int_equal(dorm_payload_from_cjson(&kitchen_desc, root, "payload", &a, &k, err, sizeof err), DORM_OK);
    } else {
      assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_OK);
    }
    assert_non_null(strstr(k.doc, "\"big\":9007199254740993"));
    assert_non_null(strstr(k.doc, "123456789012345678901234567890") ? k.doc : strstr(k.doc, "1.2345678901234567890123456789e+29"));
    assert_non_null(strstr(k.doc, "\"dec\":0.1000000000000000000001"));
    assert_non_null(strstr(k.doc, "\"plain\":[0.5,0,1.5]"));
    const char *json = NULL; /* and written back as stored */
    size_t len;
    assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err), DORM_OK);
    assert_non_null(strstr(json, "9007199254740993"));
    cJSON_Delete(root);
    dorm_arena_free(&a);
  }
  free(text);
  static const struct {
    const char *field, *value, *error;
  } cases[] = {
      {"doc", "{\"x\":1e400}", "payload.doc: "},
      {"count", "1.0000000000000001", "payload.count: expected an integer"},
      {"count", "9007199254740993", "payload.count: expected an integer from -9007199254740991"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dorm_arena a = DORM_ARENA_INIT;
    k_Kitchen k;
    char err[256];
    text = sample_with(cases[i].field, cases[i].value);
    assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
    if (!strstr(err, cases[i].error)) fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].value, err, cases[i].error);
    free(text);
    dorm_arena_free(&a);
  }
  dorm_arena a = DORM_ARENA_INIT;
  k_Kitchen k;
  char err[256];
  text = sample_with("ratio", "0.1000000000000000000001");
  assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_OK);
  assert_true(k.ratio == 0.1);
  free(text);
  dorm_arena_free(&a);
}

/* A required json field takes any JSON value, null too (as its TypeScript
 * type, JsonValue, says): it was refused "required". */
static void a_required_json_field_takes_null(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char *text = sample_with("doc", "null");
  k_Kitchen k;
  char err[256];
  assert_int_equal(parse(&kitchen_desc, text, &a, &k, err, sizeof err), DORM_OK);
  assert_string_equal(k.doc, "null");
  const char *json = NULL;
  size_t len;
  assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_non_null(strstr(json, "\"doc\":null"));
  free(text);
  /* absent is still missing */
  expect_error("doc", NULL, "payload.doc: required");
  dorm_arena_free(&a);
}

static void writing_checks_values(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  k_Kitchen k;
  const char *json;
  size_t len;
#define CASE(body, msg)                                                                                          \
  do {                                                                                                           \
    assert_int_equal(parse(&kitchen_desc, SAMPLE_JSON, &a, &k, err, sizeof err), DORM_OK);                       \
    body;                                                                                                        \
    assert_int_equal(dorm_payload_to_json(&kitchen_desc, &k, &a, &json, &len, err, sizeof err),                  \
                     DORM_ERR_INVALID_ARGUMENT);                                                                 \
    assert_string_equal(err, msg);                                                                               \
    assert_null(json);                                                                                           \
  } while (0)
  CASE(k.text = NULL, "Kitchen.text: required");
  CASE(k.text = "\xc3(", "Kitchen.text: not valid UTF-8 (byte 0)");
  CASE(k.amount = "1.2.3", "Kitchen.amount: \"1.2.3\" is not a decimal number (unexpected character)");
  CASE(k.ratio = NAN, "Kitchen.ratio: not a finite number");
  CASE(k.color = (k_Color)0, "Kitchen.color: required");
  CASE(k.color = (k_Color)4, "Kitchen.color: 4 is not a member of enum Color");
  CASE(k.lines.items[1].sku = NULL, "Kitchen.lines[1].sku: required");
  CASE(k.tags.items[0] = NULL, "Kitchen.tags[0]: required");
  CASE(k.tags.items[1] = "x", "Kitchen.tags: a set holds each element once; \"x\" is there twice");
  CASE(k.attrs.keys[1] = NULL, "Kitchen.attrs: key 1 is NULL");
  CASE(k.attrs.values[1] = "\xff", "Kitchen.attrs[\"k 2\"]: not valid UTF-8 (byte 0)");
  CASE(k.doc = NULL, "Kitchen.doc: required");
  CASE((k.shade = (k_Color)9, k.has_shade = true), "Kitchen.shade: 9 is not a member of enum Color");
  /* What a reader of doubles would not get back exactly (nor the stored copy). */
  CASE(k.count = INT64_C(9007199254740992),
       "Kitchen.count: 9007199254740992 is past -9007199254740991..9007199254740991 (2^53-1), which JSON numbers "
       "carry exactly");
  CASE(k.count = INT64_MIN, "Kitchen.count: -9223372036854775808 is past -9007199254740991..9007199254740991 "
                            "(2^53-1), which JSON numbers carry exactly");
#undef CASE
  /* Arguments. */
  assert_int_equal(dorm_payload_to_json(NULL, &k, &a, &json, &len, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "dorm_payload_to_json: the descriptor is NULL");
  assert_int_equal(dorm_payload_from_json(&kitchen_desc, "{}", 2, "payload", NULL, &k, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "dorm_payload_from_cjson: the arena is NULL");
  dorm_arena_free(&a);
}

/* ---- the depth limit ---- */

/* {"name":"n"[{"name":"n"...}]} with `objects` objects, each array holding
 * the next object (node_chain_json names the arrays "children"). */
static char *node_chain(int objects) {
  size_t cap = (size_t)objects * 40 + 16, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  for (int i = 0; i < objects; i++) o += (size_t)snprintf(s + o, cap - o, "%s{\"name\":\"n\"", i ? "[" : "");
  for (int i = 0; i < objects; i++) o += (size_t)snprintf(s + o, cap - o, "}%s", i + 1 < objects ? "]" : "");
  return s;
}

/* {"name":"n","children":[{"name":"n","children":[...]}]}: the outermost
 * object is level 1, each children array and each object adds one. */
static char *node_chain_json(int objects) {
  char *raw = node_chain(objects);
  size_t n = strlen(raw), cap = n + (size_t)objects * 16 + 1, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) {
    if (raw[i] == '[') o += (size_t)snprintf(s + o, cap - o, ",\"children\":");
    s[o++] = raw[i];
  }
  s[o] = '\0';
  free(raw);
  return s;
}

static void depth_limit(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  k_Node node;
  /* 16 objects and 15 arrays: 31 levels. 17 objects: 33. */
  char *ok = node_chain_json(16);
  assert_int_equal(parse(&node_sdesc, ok, &a, &node, err, sizeof err), DORM_OK);
  const k_Node *deepest = &node;
  int depth = 1;
  while (deepest->children.count) {
    deepest = &deepest->children.items[0];
    depth++;
  }
  assert_int_equal(depth, 16);
  const char *json;
  size_t len;
  assert_int_equal(dorm_payload_to_json(&node_sdesc, &node, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, ok);
  free(ok);

  char *deep = node_chain_json(17);
  assert_int_equal(parse(&node_sdesc, deep, &a, &node, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_true(strstr(err, ": nested deeper than 32 levels") != NULL);
  assert_true(strncmp(err, "payload.children[0].children[0]", 31) == 0);
  free(deep);

  /* A json value counts with its own nesting: level 1 is the node, so the
   * value may nest 31 deep. */
  char doc[200];
  for (int levels = 31; levels <= 32; levels++) {
    size_t o = (size_t)snprintf(doc, sizeof doc, "{\"name\":\"n\",\"data\":");
    for (int i = 0; i < levels; i++) doc[o++] = '[';
    for (int i = 0; i < levels; i++) doc[o++] = ']';
    snprintf(doc + o, sizeof doc - o, "}");
    dorm_status st = parse(&node_sdesc, doc, &a, &node, err, sizeof err);
    if (levels == 31) {
      assert_int_equal(st, DORM_OK);
      assert_int_equal(strlen(node.data), 62);
      assert_int_equal(dorm_payload_to_json(&node_sdesc, &node, &a, &json, &len, err, sizeof err), DORM_OK);
      assert_string_equal(json, doc);
      /* Written one level deeper (inside a child), it is too deep. */
      k_Node parent;
      memset(&parent, 0, sizeof parent);
      parent.name = "p";
      parent.has_children = true;
      parent.children.items = &node;
      parent.children.count = 1;
      assert_int_equal(dorm_payload_to_json(&node_sdesc, &parent, &a, &json, &len, err, sizeof err),
                       DORM_ERR_INVALID_ARGUMENT);
      assert_string_equal(err, "Node.children[0].data: nested deeper than 32 levels");
    } else {
      assert_int_equal(st, DORM_ERR_INVALID_ARGUMENT);
      assert_string_equal(err, "payload.data: nested deeper than 32 levels");
    }
  }

  /* Nesting far beyond the limit is refused, not recursed into. */
  size_t big = 5000;
  char *huge = malloc(big * 2 + 64);
  assert_non_null(huge);
  size_t o = (size_t)sprintf(huge, "{\"name\":\"n\",\"data\":");
  for (size_t i = 0; i < 400; i++) huge[o++] = '[';
  for (size_t i = 0; i < 400; i++) huge[o++] = ']';
  strcpy(huge + o, "}");
  dorm_status st = parse(&node_sdesc, huge, &a, &node, err, sizeof err);
  assert_int_equal(st, DORM_ERR_INVALID_ARGUMENT);
  /* The same as a cJSON tree (cJSON nests up to 1000): the walk stops at 32. */
  cJSON *tree = cJSON_Parse(huge);
  assert_non_null(tree);
  st = dorm_payload_from_cjson(&node_sdesc, tree, "payload", &a, &node, err, sizeof err);
  cJSON_Delete(tree);
  assert_int_equal(st, DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.data: nested deeper than 32 levels");
  free(huge);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_type_round_trips),
      cmocka_unit_test(cjson_tree_and_strings_are_copied),
      cmocka_unit_test(absent_optional_fields_are_left_out),
      cmocka_unit_test(unknown_members_are_ignored),
      cmocka_unit_test(empty_and_missing_payloads),
      cmocka_unit_test(wrong_types_name_the_path),
      cmocka_unit_test(bad_text_and_bad_utf8),
      cmocka_unit_test(integers_up_to_2_53_are_exact),
      cmocka_unit_test(a_required_json_field_takes_null),
      cmocka_unit_test(numbers_beyond_a_double_keep_their_digits),
      cmocka_unit_test(writing_checks_values),
      cmocka_unit_test(depth_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
