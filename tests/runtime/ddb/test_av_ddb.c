/* AttributeValue JSON and expressions against DynamoDB Local (AWS's own
 * implementation): what the writer emits is accepted and stored exactly,
 * what the reader parses is what DynamoDB returns, the expression text is
 * valid DynamoDB syntax with any attribute name, and the item size rule
 * agrees with DynamoDB's 400 KB limit.
 *
 * A tiny libcurl client (DynamoDB Local does not check signatures) keeps
 * this test independent of the client layer. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/av.h"
#include "dorm/expr.h"
#include "json_read.h"
#include "json_write.h"
#include "test_support.h"

static char table[64];
static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

typedef struct resp {
  char *data;
  size_t len;
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  resp *r = ud;
  char *d = realloc(r->data, r->len + size * n + 1);
  if (!d) return 0;
  memcpy(d + r->len, p, size * n);
  r->data = d;
  r->len += size * n;
  d[r->len] = '\0';
  return size * n;
}

/* POSTs body to the DynamoDB Local endpoint as operation op. Returns the HTTP
 * status; *out (malloc'd, caller frees) gets the response body. */
static long ddb(const char *op, const char *body, size_t len, char **out) {
  const char *endpoint = ts_ddb_endpoint();
  assert_non_null(endpoint);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char target[128];
  snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, target);
  h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
  h = curl_slist_append(h, "Authorization: AWS4-HMAC-SHA256 Credential=dormtest/20240101/us-east-1/dynamodb/"
                           "aws4_request, SignedHeaders=host, Signature=0");
  resp r = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, endpoint);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) fail_msg("%s: %s", op, curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  *out = r.data ? r.data : strdup("");
  return status;
}

/* Runs op with the writer's body and expects HTTP 200; returns the parsed body. */
static cJSON *call_ok(const char *op, dorm_jw *w) {
  const char *body;
  size_t len;
  if (dorm__jw_finish(w, &body, &len) != DORM_OK) fail_msg("%s body: %s", op, w->err);
  char *out;
  long st = ddb(op, body, len, &out);
  if (st != 200) fail_msg("%s: HTTP %ld: %s\nrequest: %.2000s", op, st, out, body);
  cJSON *root;
  assert_int_equal(dorm__json_parse(out, strlen(out), &root, err, sizeof err), DORM_OK);
  free(out);
  return root;
}

static void begin(dorm_jw *w) {
  dorm__jw_reset(w);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "TableName", table);
}

static int setup(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_unique_name(table, sizeof table, "av_ddb");
  char body[512], *out;
  snprintf(body, sizeof body,
           "{\"TableName\":\"%s\",\"BillingMode\":\"PAY_PER_REQUEST\","
           "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
           "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}],"
           "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}]}",
           table);
  long st = ddb("CreateTable", body, strlen(body), &out);
  if (st != 200) {
    fprintf(stderr, "CreateTable: HTTP %ld: %s\n", st, out);
    free(out);
    return -1;
  }
  free(out);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char body[256], *out;
  snprintf(body, sizeof body, "{\"TableName\":\"%s\"}", table);
  ddb("DeleteTable", body, strlen(body), &out);
  free(out);
  dorm_arena_free(&A);
  curl_global_cleanup();
  return 0;
}

/* An item with every type and the awkward corners of each. */
static dorm_av tricky_item(const char *pk, const unsigned char *all_bytes) {
  dorm_av it = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &it, "pk", 2) = dorm_av_str(pk);
  *dorm_av_map_add(&A, &it, "sk", 2) = dorm_av_num("1");
  *dorm_av_map_add(&A, &it, "empty", 5) = dorm_av_str("");
  *dorm_av_map_add(&A, &it, "escapes", 7) = dorm_av_str("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f end");
  *dorm_av_map_add(&A, &it, "unicode", 7) = dorm_av_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
  *dorm_av_map_add(&A, &it, "n38", 3) = dorm_av_num("12345678901234567890123456789012345678");
  *dorm_av_map_add(&A, &it, "nmax", 4) = dorm_av_num("9.9999999999999999999999999999999999999E+125");
  *dorm_av_map_add(&A, &it, "nmin", 4) = dorm_av_num("-1E-130");
  *dorm_av_map_add(&A, &it, "nzero", 5) = dorm_av_num("-0");
  *dorm_av_map_add(&A, &it, "bin", 3) = dorm_av_bytes(all_bytes, 256);
  *dorm_av_map_add(&A, &it, "status", 6) = dorm_av_str("reserved word as a name");
  *dorm_av_map_add(&A, &it, "a.b c", 5) = dorm_av_str("dotted name with a space");
  *dorm_av_map_add(&A, &it, "flag", 4) = dorm_av_bool(false);
  *dorm_av_map_add(&A, &it, "nothing", 7) = dorm_av_null();
  dorm_av *ss = dorm_av_map_add(&A, &it, "ss", 2);
  *ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&A, ss, "x", 1);
  dorm_av_set_add(&A, ss, "\xf0\x9f\x98\x80", 4);
  dorm_av *ns = dorm_av_map_add(&A, &it, "ns", 2);
  *ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&A, ns, "1", 1);
  dorm_av_set_add(&A, ns, "-2.5E-10", 8);
  dorm_av *bs = dorm_av_map_add(&A, &it, "bs", 2);
  *bs = dorm_av_empty(DORM_AV_BS);
  dorm_av_set_add(&A, bs, "\0", 1);
  dorm_av_set_add(&A, bs, "\xff\xfe", 2);
  dorm_av *lines = dorm_av_map_add(&A, &it, "lines", 5);
  *lines = dorm_av_empty(DORM_AV_L);
  for (int i = 0; i < 3; i++) {
    dorm_av *m = dorm_av_list_push(&A, lines);
    *m = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, m, "qty", 3) = dorm_av_num(i == 0 ? "1" : i == 1 ? "2" : "3");
    dorm_av *inner = dorm_av_map_add(&A, m, "l", 1);
    *inner = dorm_av_empty(DORM_AV_L);
    *dorm_av_list_push(&A, inner) = dorm_av_empty(DORM_AV_M);
    *dorm_av_list_push(&A, inner) = dorm_av_empty(DORM_AV_L);
  }
  return it;
}

static void put_get_roundtrip(void **state) {
  (void)state;
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  dorm_av item = tricky_item("roundtrip", all);
  dorm_jw w;
  dorm__jw_init(&w, 0);
  begin(&w);
  dorm__jw_key(&w, "Item");
  dorm__jw_item(&w, &item, "Item");
  dorm__jw_end_object(&w);
  cJSON_Delete(call_ok("PutItem", &w));

  dorm_av key = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &key, "pk", 2) = dorm_av_str("roundtrip");
  *dorm_av_map_add(&A, &key, "sk", 2) = dorm_av_num("1");
  begin(&w);
  dorm__jw_key(&w, "Key");
  dorm__jw_item(&w, &key, "Key");
  dorm__jw_member_string(&w, "ReturnConsumedCapacity", "NONE");
  dorm__jw_key(&w, "ConsistentRead");
  dorm__jw_bool(&w, true);
  dorm__jw_end_object(&w);
  cJSON *root = call_ok("GetItem", &w);
  dorm_av back;
  bool found;
  if (dorm__json_member_item(root, "Item", &A, &back, &found, err, sizeof err) != DORM_OK) fail_msg("%s", err);
  cJSON_Delete(root);
  assert_true(found);
  assert_int_equal(back.u.map.count, item.u.map.count);
  for (size_t i = 0; i < item.u.map.count; i++) {
    const dorm_av_entry *e = &item.u.map.items[i];
    const dorm_av *got = dorm_av_map_getn(&back, e->name.ptr, e->name.len);
    if (!got || !dorm_av_equal(&e->value, got)) fail_msg("attribute %.*s differs after the round trip", (int)e->name.len, e->name.ptr);
  }
  /* Binary comes back byte for byte. */
  dorm_str b;
  assert_int_equal(dorm_av_get_b(dorm_av_map_get(&back, "bin"), &b), DORM_OK);
  assert_int_equal(b.len, 256);
  assert_memory_equal(b.ptr, all, 256);
  dorm__jw_free(&w);
}

static void expressions_accepted(void **state) {
  (void)state;
  unsigned char all[256] = {0};
  dorm_av item = tricky_item("expr", all);
  dorm_jw w;
  dorm__jw_init(&w, 0);
  begin(&w);
  dorm__jw_key(&w, "Item");
  dorm__jw_item(&w, &item, "Item");
  /* Put only if absent: attribute_not_exists with the builder. */
  dorm_expr x;
  dorm_expr_init(&x, &A);
  dorm_expr_condition(&x, dorm_cond_not_exists(&x, "pk"));
  dorm__jw_expr(&w, &x);
  dorm__jw_end_object(&w);
  cJSON_Delete(call_ok("PutItem", &w));

  /* Update with every action and a compound condition. */
  dorm_av key = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &key, "pk", 2) = dorm_av_str("expr");
  *dorm_av_map_add(&A, &key, "sk", 2) = dorm_av_num("1");
  dorm_av more = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(&A, &more) = dorm_av_str("appended");
  dorm_expr_init(&x, &A);
  dorm_update_set(&x, "status", dorm_av_str("SHIPPED"));
  dorm_update_set(&x, "a\\.b c", dorm_av_str("renamed"));
  dorm_update_set_if_not_exists(&x, "created", dorm_av_num("1700000000"));
  dorm_update_increment(&x, "lines[1].qty", dorm_av_num("40"));
  dorm_operand *h = dorm_opd_path(&x, "history");
  dorm_update_set_opd(&x, h, dorm_opd_list_append(&x, dorm_opd_if_not_exists(&x, h, dorm_opd_value(&x, dorm_av_empty(DORM_AV_L))),
                                                   dorm_opd_value(&x, more)));
  dorm_update_remove(&x, "lines[2]");
  dorm_update_remove(&x, "nothing");
  dorm_av add = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&A, &add, "y", 1);
  dorm_update_add(&x, "ss", add);
  dorm_av del = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&A, &del, "1", 1);
  dorm_update_delete(&x, "ns", del);
  dorm_av in[3] = {dorm_av_num("7"), dorm_av_num("12345678901234567890123456789012345678"), dorm_av_num("9")};
  dorm_cond *c = dorm_cond_and(&x, dorm_cond_exists(&x, "pk"),
                               dorm_cond_or(&x, dorm_cond_in(&x, "n38", in, 3),
                                            dorm_cond_not(&x, dorm_cond_begins_with(&x, "status", dorm_av_str("x")))));
  c = dorm_cond_and(&x, c, dorm_cond_compare(&x, dorm_opd_size(&x, dorm_opd_path(&x, "lines")), DORM_EQ,
                                             dorm_opd_value(&x, dorm_av_num("3"))));
  c = dorm_cond_and(&x, c, dorm_cond_type(&x, "ss", DORM_AV_SS));
  c = dorm_cond_and(&x, c, dorm_cond_contains(&x, "escapes", dorm_av_str("end")));
  c = dorm_cond_and(&x, c, dorm_cond_between(&x, "lines[0].qty", dorm_av_num("0"), dorm_av_num("1")));
  dorm_expr_condition(&x, c);
  if (dorm_expr_status(&x) != DORM_OK) fail_msg("%s", x.errmsg);
  begin(&w);
  dorm__jw_key(&w, "Key");
  dorm__jw_item(&w, &key, "Key");
  dorm__jw_expr(&w, &x);
  dorm__jw_member_string(&w, "ReturnValues", "ALL_NEW");
  dorm__jw_end_object(&w);
  cJSON *root = call_ok("UpdateItem", &w);
  dorm_av got;
  bool found;
  if (dorm__json_member_item(root, "Attributes", &A, &got, &found, err, sizeof err) != DORM_OK) fail_msg("%s", err);
  cJSON_Delete(root);
  dorm_str s;
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&got, "status"), &s), DORM_OK);
  assert_string_equal(s.ptr, "SHIPPED");
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&got, "a.b c"), &s), DORM_OK);
  assert_string_equal(s.ptr, "renamed");
  assert_null(dorm_av_map_get(&got, "nothing"));
  const dorm_av *lines;
  size_t n;
  assert_int_equal(dorm_av_get_list(dorm_av_map_get(&got, "lines"), &lines, &n), DORM_OK);
  assert_int_equal(n, 2);
  int64_t q;
  assert_int_equal(dorm_av_get_i64(dorm_av_map_get(&lines[1], "qty"), &q), DORM_OK);
  assert_int_equal(q, 42);
  const dorm_str *els;
  assert_int_equal(dorm_av_get_set(dorm_av_map_get(&got, "ss"), DORM_AV_SS, &els, &n), DORM_OK);
  assert_int_equal(n, 3);
  assert_int_equal(dorm_av_get_set(dorm_av_map_get(&got, "ns"), DORM_AV_NS, &els, &n), DORM_OK);
  assert_int_equal(n, 1);
  assert_true(dorm_number_equal(els[0].ptr, els[0].len, "-2.5E-10", 8));
  assert_int_equal(dorm_av_get_list(dorm_av_map_get(&got, "history"), &lines, &n), DORM_OK);
  assert_int_equal(n, 1);

  /* The same condition now fails: size(lines) is 2. */
  begin(&w);
  dorm__jw_key(&w, "Key");
  dorm__jw_item(&w, &key, "Key");
  dorm__jw_expr(&w, &x);
  dorm__jw_end_object(&w);
  const char *body;
  size_t len;
  assert_int_equal(dorm__jw_finish(&w, &body, &len), DORM_OK);
  char *out;
  assert_int_equal(ddb("UpdateItem", body, len, &out), 400);
  assert_non_null(strstr(out, "ConditionalCheckFailedException"));
  free(out);

  /* Query: key condition + filter + projection sharing one set of maps. */
  dorm_expr_init(&x, &A);
  dorm_expr_key_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "pk", dorm_av_str("expr")),
                                            dorm_cond_between(&x, "sk", dorm_av_num("0"), dorm_av_num("5"))));
  dorm_expr_filter(&x, dorm_cond_eq(&x, "status", dorm_av_str("SHIPPED")));
  const char *proj[] = {"pk", "status", "a\\.b c", "lines[0].qty", "unicode"};
  dorm_expr_projection(&x, proj, 5);
  begin(&w);
  dorm__jw_expr(&w, &x);
  dorm__jw_end_object(&w);
  root = call_ok("Query", &w);
  dorm_av *items;
  if (dorm__json_member_items(root, "Items", &A, &items, &n, err, sizeof err) != DORM_OK) fail_msg("%s", err);
  cJSON_Delete(root);
  assert_int_equal(n, 1);
  assert_int_equal(items[0].u.map.count, 5);
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&items[0], "unicode"), &s), DORM_OK);
  assert_string_equal(s.ptr, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
  assert_int_equal(dorm_av_get_list(dorm_av_map_get(&items[0], "lines"), &lines, &n), DORM_OK);
  assert_int_equal(n, 1);
  assert_int_equal(lines[0].u.map.count, 1); /* only qty was projected */
  dorm__jw_free(&w);
}

/* Puts an item of DynamoDB size `target` (by dorm_item_size) and returns the HTTP status. */
static long put_sized(size_t target, char **out) {
  static char big[DORM_ITEM_MAX_BYTES + 16];
  memset(big, 'a', sizeof big);
  dorm_av it = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &it, "pk", 2) = dorm_av_str("big");
  *dorm_av_map_add(&A, &it, "sk", 2) = dorm_av_num("2");
  dorm_av *d = dorm_av_map_add(&A, &it, "d", 1);
  *d = dorm_av_strn(big, 0);
  size_t base;
  assert_int_equal(dorm_item_size(&it, &base), DORM_OK);
  d->u.s.len = target - base;
  size_t size;
  assert_int_equal(dorm_item_size(&it, &size), DORM_OK);
  assert_int_equal(size, target);
  dorm_jw w;
  dorm__jw_init(&w, 0);
  begin(&w);
  dorm__jw_key(&w, "Item");
  dorm__jw_item(&w, &it, "Item");
  dorm__jw_end_object(&w);
  const char *body;
  size_t len;
  assert_int_equal(dorm__jw_finish(&w, &body, &len), DORM_OK);
  long st = ddb("PutItem", body, len, out);
  dorm__jw_free(&w);
  return st;
}

static void item_size_matches_the_limit(void **state) {
  (void)state;
  char *out;
  long st = put_sized(DORM_ITEM_MAX_BYTES, &out);
  if (st != 200) fail_msg("a %zu-byte item was refused: %s", DORM_ITEM_MAX_BYTES, out);
  free(out);
  st = put_sized(DORM_ITEM_MAX_BYTES + 1, &out);
  assert_int_equal(st, 400);
  assert_non_null(strstr(out, "size"));
  free(out);
}

/* Our number rule and DynamoDB's agree: what we accept is stored, what we
 * refuse DynamoDB refuses too, and what DynamoDB returns we accept. */
static void numbers_agree_with_dynamodb(void **state) {
  (void)state;
  const char *nums[] = {"+5", "007", "5.", ".5", "-.5e3", "1.e5", "-0", "0.000", "1E-130", "1E125",
                        "9.9999999999999999999999999999999999999E+125", "12345678901234567890123456789012345678000",
                        "0.00000000000000000000000000000000000000000012345678901234567890123456789012345678",
                        "", "abc", ".", "1e", "--1", " 1", "1 ", "0x10", "NaN", "Infinity", "1,5",
                        "123456789012345678901234567890123456789", "1E126", "1E-131", "0.01E-129"};
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
    bool ours = dorm_number_check(nums[i], strlen(nums[i]), NULL, 0) == DORM_OK;
    char body[512], *out;
    snprintf(body, sizeof body, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"num\"},\"sk\":{\"N\":\"%zu\"},"
             "\"n\":{\"N\":\"%s\"}},\"ReturnValues\":\"NONE\"}", table, i, nums[i]);
    long st = ddb("PutItem", body, strlen(body), &out);
    if ((st == 200) != ours)
      fail_msg("\"%s\": we say %s, DynamoDB says HTTP %ld %s", nums[i], ours ? "valid" : "invalid", st, out);
    free(out);
    if (!ours) continue;
    snprintf(body, sizeof body, "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"num\"},\"sk\":{\"N\":\"%zu\"}},"
             "\"ConsistentRead\":true}", table, i);
    assert_int_equal(ddb("GetItem", body, strlen(body), &out), 200);
    dorm_av item;
    bool found;
    cJSON *root;
    assert_int_equal(dorm__json_parse(out, strlen(out), &root, err, sizeof err), DORM_OK);
    if (dorm__json_member_item(root, "Item", &A, &item, &found, err, sizeof err) != DORM_OK) fail_msg("%s", err);
    cJSON_Delete(root);
    free(out);
    dorm_str back;
    assert_int_equal(dorm_av_get_n(dorm_av_map_get(&item, "n"), &back), DORM_OK);
    if (!dorm_number_equal(back.ptr, back.len, nums[i], strlen(nums[i])))
      fail_msg("\"%s\" came back as \"%s\"", nums[i], back.ptr);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(put_get_roundtrip),
    cmocka_unit_test(expressions_accepted),
    cmocka_unit_test(item_size_matches_the_limit),
    cmocka_unit_test(numbers_agree_with_dynamodb),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
