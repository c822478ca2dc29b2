/* DynamORM's pagination cursor: the golden cursor byte for byte, Go's
 * encoding/json rules (sorted keys at every level, its string escaping),
 * every AttributeValue type, and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"
#include "dorm/model.h"
#include "test_support.h"

static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static char *read_trimmed(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/runtime/model/testdata/cursor/%s", ts_source_dir(), name);
  size_t len = 0;
  char *text = ts_read_file(path, &len);
  if (!text) fail_msg("cannot read %s", path);
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) text[--len] = '\0';
  return text;
}

/* The JSON inside a cursor. */
static const char *inner(const char *cursor) {
  size_t n = strlen(cursor), out = 0;
  uint8_t *buf = dorm_arena_alloc(&A, dorm__b64_decoded_max(n) + 1);
  assert_true(dorm__b64_decode(cursor, n, buf, &out, DORM_B64_URL, NULL));
  buf[out] = 0;
  return (const char *)buf;
}

/* A cursor made of arbitrary JSON text. */
static const char *wrap(const char *json) {
  size_t n = strlen(json);
  char *out = dorm_arena_alloc(&A, dorm__b64_encoded_len(n) + 1);
  out[dorm__b64_encode((const uint8_t *)json, n, out, DORM_B64_URL)] = '\0';
  return out;
}

static const char *encode(const char *key_json, const char *index, const char *sort) {
  dorm_av key;
  if (dorm_item_from_json(key_json, strlen(key_json), &A, &key, err, sizeof err) != DORM_OK) fail_msg("%s", err);
  const char *cursor = NULL;
  assert_int_equal(dorm_cursor_encode(&key, index, sort, &A, &cursor), DORM_OK);
  return cursor;
}

static void golden(void **state) {
  (void)state;
  char *json = read_trimmed("cursor_v0.1_basic.json");
  char *want = read_trimmed("cursor_v0.1_basic.cursor");
  /* the .json is {"lastKey":{...},"index":...,"sort":...}: take its parts */
  const char *k0 = strstr(json, "{\"lastKey\":") + 11, *k1 = strstr(json, "},\"index\"") + 1;
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)(k1 - k0), k0);
  const char *cursor = encode(key, "gsi-email", "ASC");
  assert_string_equal(cursor, want);
  assert_string_equal(inner(cursor), json);

  dorm_av back;
  const char *index, *sort;
  assert_int_equal(dorm_cursor_decode(want, &A, &back, &index, &sort, err, sizeof err), DORM_OK);
  assert_string_equal(index, "gsi-email");
  assert_string_equal(sort, "ASC");
  assert_int_equal(back.u.map.count, 2);
  assert_string_equal(dorm_av_map_get(&back, "PK")->u.s.ptr, "USER#1");
  assert_string_equal(dorm_av_map_get(&back, "SK")->u.s.ptr, "PROFILE");
  const char *again;
  assert_int_equal(dorm_cursor_encode(&back, index, sort, &A, &again), DORM_OK);
  assert_string_equal(again, want);
  free(json);
  free(want);
}

static void go_rules(void **state) {
  (void)state;
  /* index and sort are left out when empty; keys sorted by bytes */
  assert_string_equal(inner(encode("{\"SK\":{\"S\":\"b\"},\"PK\":{\"S\":\"a\"}}", NULL, "")),
                      "{\"lastKey\":{\"PK\":{\"S\":\"a\"},\"SK\":{\"S\":\"b\"}}}");
  assert_string_equal(inner(encode("{\"PK\":{\"S\":\"a\"}}", "", "DESC")),
                      "{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"sort\":\"DESC\"}");
  assert_string_equal(inner(encode("{\"b\":{\"S\":\"\"},\"a\":{\"S\":\"\"},\"B\":{\"S\":\"\"},\"aa\":{\"S\":\"\"},"
                                   "\"\xc3\xa9\":{\"S\":\"\"},\"_\":{\"S\":\"\"}}",
                                   NULL, NULL)),
                      "{\"lastKey\":{\"B\":{\"S\":\"\"},\"_\":{\"S\":\"\"},\"a\":{\"S\":\"\"},\"aa\":{\"S\":\"\"},"
                      "\"b\":{\"S\":\"\"},\"\xc3\xa9\":{\"S\":\"\"}}}");
  /* Go's string escaping (encoding/json, HTML-safe) */
  dorm_av key = dorm_av_empty(DORM_AV_M);
  static const char tricky[] = "a<b>&c\"\\\n\r\t\x01\x08\x0c\x1f\x7f/\xe2\x80\xa8\xe2\x80\xa9|\xff|\xe2\x82x|\xed\xa0\x80|"
                               "\xc3\xa9\xf0\x9f\x98\x80";
  *dorm_av_map_add(&A, &key, "k&<>", 4) = dorm_av_strn(tricky, sizeof tricky - 1);
  const char *cursor;
  assert_int_equal(dorm_cursor_encode(&key, "idx<1>", "ASC", &A, &cursor), DORM_OK);
  assert_string_equal(inner(cursor),
                      "{\"lastKey\":{\"k\\u0026\\u003c\\u003e\":{\"S\":\"a\\u003cb\\u003e\\u0026c\\\"\\\\\\n\\r\\t"
                      "\\u0001\\u0008\\u000c\\u001f\x7f/\\u2028\\u2029|\\ufffd|\\ufffd\\ufffdx|\\ufffd\\ufffd\\ufffd|"
                      "\xc3\xa9\xf0\x9f\x98\x80\"}},\"index\":\"idx\\u003c1\\u003e\",\"sort\":\"ASC\"}");
  /* the URL-safe alphabet on the outside, the standard one for B inside */
  assert_null(strpbrk(cursor, "+/"));
  assert_string_equal(
      inner(encode("{\"n\":{\"N\":\"-1.5E3\"},\"b\":{\"B\":\"+/8=\"},\"t\":{\"BOOL\":true},\"f\":{\"BOOL\":false},"
                   "\"z\":{\"NULL\":true},\"l\":{\"L\":[{\"S\":\"x\"},{\"M\":{\"y\":{\"N\":\"1\"},\"x\":{\"N\":\"2\"}}}]},"
                   "\"m\":{\"M\":{}},\"e\":{\"L\":[]},\"ss\":{\"SS\":[\"q\",\"p\"]},\"ns\":{\"NS\":[\"2\",\"1\"]},"
                   "\"bs\":{\"BS\":[\"//8=\",\"AA==\"]}}",
                   NULL, NULL)),
      "{\"lastKey\":{\"b\":{\"B\":\"+/8=\"},\"bs\":{\"BS\":[\"//8=\",\"AA==\"]},\"e\":{\"L\":[]},\"f\":{\"BOOL\":false},"
      "\"l\":{\"L\":[{\"S\":\"x\"},{\"M\":{\"x\":{\"N\":\"2\"},\"y\":{\"N\":\"1\"}}}]},\"m\":{\"M\":{}},"
      "\"n\":{\"N\":\"-1.5E3\"},\"ns\":{\"NS\":[\"2\",\"1\"]},\"ss\":{\"SS\":[\"q\",\"p\"]},\"t\":{\"BOOL\":true},"
      "\"z\":{\"NULL\":true}}}");
  /* ... and it decodes back to the same key */
  const char *all = encode("{\"n\":{\"N\":\"7\"},\"b\":{\"B\":\"+/8=\"},\"l\":{\"L\":[{\"NULL\":true}]},"
                           "\"bs\":{\"BS\":[\"//8=\"]},\"m\":{\"M\":{\"x\":{\"SS\":[\"1\"]}}}}",
                           "gsi", "DESC");
  dorm_av back, want;
  const char *index, *sort;
  assert_int_equal(dorm_cursor_decode(all, &A, &back, &index, &sort, err, sizeof err), DORM_OK);
  static const char all_json[] = "{\"n\":{\"N\":\"7\"},\"b\":{\"B\":\"+/8=\"},\"l\":{\"L\":[{\"NULL\":true}]},"
                                 "\"bs\":{\"BS\":[\"//8=\"]},\"m\":{\"M\":{\"x\":{\"SS\":[\"1\"]}}}}";
  assert_int_equal(dorm_item_from_json(all_json, strlen(all_json), &A, &want, err, sizeof err), DORM_OK);
  assert_true(dorm_av_equal(&back, &want));
  assert_string_equal(index, "gsi");
  assert_string_equal(sort, "DESC");
  /* no key: no cursor */
  assert_int_equal(dorm_cursor_encode(NULL, "x", "ASC", &A, &cursor), DORM_OK);
  assert_string_equal(cursor, "");
  key = dorm_av_empty(DORM_AV_M);
  assert_int_equal(dorm_cursor_encode(&key, "x", "ASC", &A, &cursor), DORM_OK);
  assert_string_equal(cursor, "");
  assert_int_equal(dorm_cursor_decode("", &A, &back, &index, &sort, err, sizeof err), DORM_OK);
  assert_int_equal(back.u.map.count, 0);
  assert_string_equal(index, "");
  /* values that are no AttributeValue cannot be encoded */
  key = dorm_av_empty(DORM_AV_M);
  dorm_av bad;
  memset(&bad, 0, sizeof bad);
  *dorm_av_map_add(&A, &key, "x", 1) = bad;
  assert_int_equal(dorm_cursor_encode(&key, NULL, NULL, &A, &cursor), DORM_ERR_INVALID_ARGUMENT);
}

static void rejects(const char *cursor, const char *want) {
  dorm_av key;
  const char *index = "?", *sort = "?";
  err[0] = '\0';
  dorm_status st = dorm_cursor_decode(cursor, &A, &key, &index, &sort, err, sizeof err);
  if (st != DORM_ERR_BAD_CURSOR) fail_msg("accepted %s (%s)", cursor, dorm_strerror(st));
  if (strncmp(err, "bad cursor: ", 12) != 0 || !strstr(err, want)) fail_msg("\"%s\" lacks \"%s\"", err, want);
  assert_string_equal(index, "");
  assert_string_equal(sort, "");
  assert_int_equal(key.u.map.count, 0);
}

static void strict_decoding(void **state) {
  (void)state;
  const char *good = encode("{\"PK\":{\"S\":\"a+b/c?\"}}", "i", "ASC");
  dorm_av key;
  const char *index, *sort;
  assert_int_equal(dorm_cursor_decode(good, &A, &key, &index, &sort, err, sizeof err), DORM_OK);
  /* base64 */
  rejects("not base64!", "not URL-safe base64");
  rejects("eyJ", "not URL-safe base64");
  char *no_pad = dorm_arena_strdup(&A, good);
  size_t n = strlen(no_pad);
  while (n && no_pad[n - 1] == '=') no_pad[--n] = '\0';
  if (n % 4) rejects(no_pad, "not URL-safe base64");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"\xfb\xff\"}}}"), "lastKey.PK"); /* invalid UTF-8 in S */
  char *std = dorm_arena_strdup(&A, wrap("{\"lastKey\":{\"PK\":{\"S\":\">>>???\"}}}"));
  assert_non_null(strpbrk(std, "-_"));
  for (char *p = std; *p; p++) *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  rejects(std, "not URL-safe base64");
  /* JSON and shape */
  rejects(wrap("not json"), "not JSON");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}}} x"), "not JSON");
  rejects(wrap("[]"), "expected a JSON object");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"extra\":1}"), "unknown member \"extra\"");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"lastKey\":{\"PK\":{\"S\":\"b\"}}}"), "appears twice");
  rejects(wrap("{\"index\":\"i\"}"), "no \"lastKey\"");
  rejects(wrap("{\"lastKey\":{}}"), "non-empty object");
  rejects(wrap("{\"lastKey\":null}"), "non-empty object");
  rejects(wrap("{\"lastKey\":[]}"), "non-empty object");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":1}}}"), "lastKey.PK");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"X\":\"1\"}}}"), "unknown AttributeValue type");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\",\"N\":\"1\"}}}"), "more than one type key");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"N\":\"x\"}}}"), "not a valid number");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"sort\":\"UP\"}"), "\"sort\" must be \"ASC\" or \"DESC\"");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"sort\":\"asc\"}"), "\"sort\"");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"}},\"index\":5}"), "\"index\" must be a string");
  rejects(wrap("{\"lastKey\":{\"PK\":{\"S\":\"a\"},\"PK\":{\"S\":\"b\"}}}"), "twice");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(golden, teardown),
      cmocka_unit_test_teardown(go_rules, teardown),
      cmocka_unit_test_teardown(strict_decoding, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
