/* dorm_expr: golden expression text for every construct, placeholder reuse,
 * determinism, errors, and the JSON the writer emits for a builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/expr.h"
#include "json_write.h"

static dorm_arena A = DORM_ARENA_INIT;

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static dorm_expr fresh(void) {
  dorm_expr x;
  dorm_expr_init(&x, &A);
  return x;
}

/* The JSON members the writer emits for x, inside {}. */
static const char *json_of(dorm_expr *x, dorm_jw *w) {
  dorm__jw_reset(w);
  dorm__jw_begin_object(w);
  dorm__jw_expr(w, x);
  dorm__jw_end_object(w);
  const char *out = NULL;
  if (dorm__jw_finish(w, &out, NULL) != DORM_OK) fail_msg("writer failed: %s", w->err);
  return out;
}

static void filter_text(dorm_cond *(*make)(dorm_expr *), const char *want) {
  dorm_expr x = fresh();
  dorm_status st = dorm_expr_filter(&x, make(&x));
  if (st != DORM_OK) fail_msg("error: %s", x.errmsg);
  assert_string_equal(x.filter, want);
}

static dorm_cond *mk_eq(dorm_expr *x) { return dorm_cond_eq(x, "status", dorm_av_str("open")); }
static dorm_cond *mk_ne(dorm_expr *x) { return dorm_cond_cmp(x, "status", DORM_NE, dorm_av_str("x")); }
static dorm_cond *mk_lt(dorm_expr *x) { return dorm_cond_cmp(x, "n", DORM_LT, dorm_av_num("1")); }
static dorm_cond *mk_le(dorm_expr *x) { return dorm_cond_cmp(x, "n", DORM_LE, dorm_av_num("1")); }
static dorm_cond *mk_gt(dorm_expr *x) { return dorm_cond_cmp(x, "n", DORM_GT, dorm_av_num("1")); }
static dorm_cond *mk_ge(dorm_expr *x) { return dorm_cond_cmp(x, "n", DORM_GE, dorm_av_num("1")); }
static dorm_cond *mk_between(dorm_expr *x) { return dorm_cond_between(x, "n", dorm_av_num("1"), dorm_av_num("9")); }
static dorm_cond *mk_begins(dorm_expr *x) { return dorm_cond_begins_with(x, "sk", dorm_av_str("ORDER#")); }
static dorm_cond *mk_contains(dorm_expr *x) { return dorm_cond_contains(x, "tags", dorm_av_str("red")); }
static dorm_cond *mk_exists(dorm_expr *x) { return dorm_cond_exists(x, "pk"); }
static dorm_cond *mk_not_exists(dorm_expr *x) { return dorm_cond_not_exists(x, "pk"); }
static dorm_cond *mk_type(dorm_expr *x) { return dorm_cond_type(x, "data", DORM_AV_SS); }
static dorm_cond *mk_size(dorm_expr *x) {
  return dorm_cond_compare(x, dorm_opd_size(x, dorm_opd_path(x, "items")), DORM_GT, dorm_opd_value(x, dorm_av_num("3")));
}
static dorm_cond *mk_path_path(dorm_expr *x) {
  return dorm_cond_compare(x, dorm_opd_path(x, "a"), DORM_LE, dorm_opd_path(x, "b"));
}
static dorm_cond *mk_in(dorm_expr *x) {
  dorm_av v[3] = {dorm_av_str("a"), dorm_av_str("b"), dorm_av_str("c")};
  return dorm_cond_in(x, "status", v, 3);
}
static dorm_cond *mk_nested(dorm_expr *x) {
  return dorm_cond_eq(x, "address.lines[2].city", dorm_av_str("Oslo"));
}
static dorm_cond *mk_and_or(dorm_expr *x) {
  dorm_cond *a = dorm_cond_eq(x, "a", dorm_av_num("1"));
  dorm_cond *b = dorm_cond_eq(x, "b", dorm_av_num("2"));
  dorm_cond *c = dorm_cond_eq(x, "c", dorm_av_num("3"));
  return dorm_cond_and(x, dorm_cond_or(x, a, b), c);
}
static dorm_cond *mk_or_and(dorm_expr *x) {
  dorm_cond *a = dorm_cond_eq(x, "a", dorm_av_num("1"));
  dorm_cond *b = dorm_cond_eq(x, "b", dorm_av_num("2"));
  dorm_cond *c = dorm_cond_eq(x, "c", dorm_av_num("3"));
  return dorm_cond_or(x, a, dorm_cond_and(x, b, c));
}
static dorm_cond *mk_not(dorm_expr *x) {
  dorm_cond *a = dorm_cond_eq(x, "a", dorm_av_num("1"));
  dorm_cond *b = dorm_cond_exists(x, "b");
  return dorm_cond_and(x, dorm_cond_not(x, dorm_cond_or(x, a, b)), dorm_cond_not(x, dorm_cond_exists(x, "c")));
}
static dorm_cond *mk_all(dorm_expr *x) {
  dorm_cond *c[3] = {dorm_cond_exists(x, "a"), dorm_cond_exists(x, "b"), dorm_cond_exists(x, "c")};
  return dorm_cond_any(x, (dorm_cond *[]){dorm_cond_all(x, c, 3), dorm_cond_not_exists(x, "d")}, 2);
}
static dorm_cond *mk_reuse(dorm_expr *x) {
  dorm_cond *a = dorm_cond_cmp(x, "n", DORM_GT, dorm_av_num("1"));
  dorm_cond *b = dorm_cond_cmp(x, "n", DORM_LT, dorm_av_num("9"));
  return dorm_cond_and(x, a, b);
}
static dorm_cond *mk_odd_names(dorm_expr *x) {
  dorm_cond *a = dorm_cond_eq(x, "my\\.dotted attr", dorm_av_str("v"));
  dorm_cond *b = dorm_cond_exists_opd(x, dorm_opd_name(x, "a.b[0]", 6));
  return dorm_cond_and(x, a, b);
}

static void condition_golden_strings(void **state) {
  (void)state;
  filter_text(mk_eq, "#n0 = :v0");
  filter_text(mk_ne, "#n0 <> :v0");
  filter_text(mk_lt, "#n0 < :v0");
  filter_text(mk_le, "#n0 <= :v0");
  filter_text(mk_gt, "#n0 > :v0");
  filter_text(mk_ge, "#n0 >= :v0");
  filter_text(mk_between, "#n0 BETWEEN :v0 AND :v1");
  filter_text(mk_begins, "begins_with(#n0, :v0)");
  filter_text(mk_contains, "contains(#n0, :v0)");
  filter_text(mk_exists, "attribute_exists(#n0)");
  filter_text(mk_not_exists, "attribute_not_exists(#n0)");
  filter_text(mk_type, "attribute_type(#n0, :v0)");
  filter_text(mk_size, "size(#n0) > :v0");
  filter_text(mk_path_path, "#n0 <= #n1");
  filter_text(mk_in, "#n0 IN (:v0, :v1, :v2)");
  filter_text(mk_nested, "#n0.#n1[2].#n2 = :v0");
  filter_text(mk_and_or, "(#n0 = :v0 OR #n1 = :v1) AND #n2 = :v2");
  filter_text(mk_or_and, "#n0 = :v0 OR #n1 = :v1 AND #n2 = :v2");
  filter_text(mk_not, "NOT (#n0 = :v0 OR attribute_exists(#n1)) AND NOT attribute_exists(#n2)");
  filter_text(mk_all, "attribute_exists(#n0) AND attribute_exists(#n1) AND attribute_exists(#n2) OR "
                      "attribute_not_exists(#n3)");
  filter_text(mk_reuse, "#n0 > :v0 AND #n0 < :v1");
  filter_text(mk_odd_names, "#n0 = :v0 AND attribute_exists(#n1)");
}

static void names_values_and_json(void **state) {
  (void)state;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_expr x = fresh();
  assert_int_equal(dorm_expr_filter(&x, mk_odd_names(&x)), DORM_OK);
  assert_int_equal(x.name_count, 2);
  assert_memory_equal(x.names[0].ptr, "my.dotted attr", 14);
  assert_memory_equal(x.names[1].ptr, "a.b[0]", 6);
  assert_string_equal(json_of(&x, &w), "{\"FilterExpression\":\"#n0 = :v0 AND attribute_exists(#n1)\","
                                       "\"ExpressionAttributeNames\":{\"#n0\":\"my.dotted attr\",\"#n1\":\"a.b[0]\"},"
                                       "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"v\"}}}");
  /* Attribute type values are the DynamoDB type names. */
  dorm_expr t = fresh();
  dorm_expr_condition(&t, mk_type(&t));
  assert_string_equal(json_of(&t, &w), "{\"ConditionExpression\":\"attribute_type(#n0, :v0)\","
                                       "\"ExpressionAttributeNames\":{\"#n0\":\"data\"},"
                                       "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"SS\"}}}");
  /* A builder with nothing set writes nothing. */
  dorm_expr e = fresh();
  assert_string_equal(json_of(&e, &w), "{}");
  dorm__jw_free(&w);
}

static void query_shares_maps(void **state) {
  (void)state;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_expr x = fresh();
  dorm_expr_key_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "PK", dorm_av_str("USER#1")),
                                            dorm_cond_begins_with(&x, "SK", dorm_av_str("ORDER#"))));
  dorm_expr_filter(&x, dorm_cond_and(&x, dorm_cond_cmp(&x, "amount", DORM_GT, dorm_av_num("100")),
                                     dorm_cond_eq(&x, "status", dorm_av_str("PAID"))));
  const char *proj[] = {"PK", "SK", "amount", "lines[0].sku", "status"};
  dorm_expr_projection(&x, proj, 5);
  assert_int_equal(dorm_expr_status(&x), DORM_OK);
  assert_string_equal(x.key_condition, "#n0 = :v0 AND begins_with(#n1, :v1)");
  assert_string_equal(x.filter, "#n2 > :v2 AND #n3 = :v3");
  assert_string_equal(x.projection, "#n0, #n1, #n2, #n4[0].#n5, #n3");
  assert_string_equal(json_of(&x, &w),
                      "{\"KeyConditionExpression\":\"#n0 = :v0 AND begins_with(#n1, :v1)\","
                      "\"FilterExpression\":\"#n2 > :v2 AND #n3 = :v3\","
                      "\"ProjectionExpression\":\"#n0, #n1, #n2, #n4[0].#n5, #n3\","
                      "\"ExpressionAttributeNames\":{\"#n0\":\"PK\",\"#n1\":\"SK\",\"#n2\":\"amount\",\"#n3\":\"status\","
                      "\"#n4\":\"lines\",\"#n5\":\"sku\"},"
                      "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"USER#1\"},\":v1\":{\"S\":\"ORDER#\"},"
                      "\":v2\":{\"N\":\"100\"},\":v3\":{\"S\":\"PAID\"}}}");
  dorm__jw_free(&w);
}

static void update_golden_strings(void **state) {
  (void)state;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_expr x = fresh();
  dorm_update_set(&x, "status", dorm_av_str("SHIPPED"));
  dorm_update_remove(&x, "draft");
  dorm_update_set_if_not_exists(&x, "createdAt", dorm_av_str("2024-01-01T00:00:00Z"));
  dorm_update_increment(&x, "version", dorm_av_num("1"));
  dorm_update_add(&x, "tags", (dorm_av){.type = DORM_AV_SS, .u.set = {(dorm_str[]){{"new", 3}}, 1, 1}});
  dorm_update_delete(&x, "old_tags", (dorm_av){.type = DORM_AV_SS, .u.set = {(dorm_str[]){{"x", 1}}, 1, 1}});
  dorm_av l = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(&A, &l) = dorm_av_str("event");
  dorm_update_list_append(&x, "history", l);
  dorm_update_remove(&x, "address.lines[1]");
  /* counter = if_not_exists(counter, :zero) + :one */
  dorm_operand *c = dorm_opd_path(&x, "counter");
  dorm_update_set_opd(&x, c, dorm_opd_plus(&x, dorm_opd_if_not_exists(&x, c, dorm_opd_value(&x, dorm_av_num("0"))),
                                           dorm_opd_value(&x, dorm_av_num("1"))));
  dorm_update_set_opd(&x, dorm_opd_path(&x, "stock"),
                      dorm_opd_minus(&x, dorm_opd_path(&x, "stock"), dorm_opd_value(&x, dorm_av_num("2"))));
  dorm_update_set_opd(&x, dorm_opd_path(&x, "history"),
                      dorm_opd_list_append(&x, dorm_opd_value(&x, l), dorm_opd_path(&x, "history")));
  dorm_expr_condition(&x, dorm_cond_cmp(&x, "version", DORM_EQ, dorm_av_num("7")));
  assert_int_equal(dorm_expr_finish(&x), DORM_OK);
  assert_string_equal(x.update,
                      "SET #n0 = :v0, #n2 = if_not_exists(#n2, :v1), #n3 = #n3 + :v2, #n6 = list_append(#n6, :v5), "
                      "#n9 = if_not_exists(#n9, :v6) + :v7, #n10 = #n10 - :v8, #n6 = list_append(:v9, #n6) "
                      "REMOVE #n1, #n7.#n8[1] ADD #n4 :v3 DELETE #n5 :v4");
  assert_string_equal(x.condition, "#n3 = :v10");
  const char *json = json_of(&x, &w);
  assert_non_null(strstr(json, "\"ConditionExpression\":\"#n3 = :v10\",\"UpdateExpression\":\"SET #n0 = :v0,"));
  assert_non_null(strstr(json, "\":v3\":{\"SS\":[\"new\"]}"));
  assert_non_null(strstr(json, "\":v5\":{\"L\":[{\"S\":\"event\"}]}"));
  assert_non_null(strstr(json, "\"#n9\":\"counter\",\"#n10\":\"stock\"}"));
  /* finish() is idempotent and later actions re-render. */
  assert_int_equal(dorm_expr_finish(&x), DORM_OK);
  dorm_update_remove(&x, "z");
  assert_int_equal(dorm_expr_finish(&x), DORM_OK);
  assert_non_null(strstr(x.update, "REMOVE #n1, #n7.#n8[1], #n11 ADD"));
  dorm__jw_free(&w);
}

static void deterministic(void **state) {
  (void)state;
  dorm_jw w1, w2;
  dorm__jw_init(&w1, 0);
  dorm__jw_init(&w2, 0);
  dorm_expr a = fresh(), b = fresh();
  dorm_expr_filter(&a, mk_not(&a));
  dorm_update_set(&a, "x", dorm_av_num("1"));
  dorm_expr_filter(&b, mk_not(&b));
  dorm_update_set(&b, "x", dorm_av_num("1"));
  assert_string_equal(json_of(&a, &w1), json_of(&b, &w2));
  dorm__jw_free(&w1);
  dorm__jw_free(&w2);
}

static void expect_error(dorm_expr *x, const char *contains) {
  assert_int_equal(dorm_expr_status(x), DORM_ERR_INVALID_ARGUMENT);
  if (!strstr(dorm_expr_errmsg(x), contains)) fail_msg("message \"%s\" lacks \"%s\"", dorm_expr_errmsg(x), contains);
}

static void errors(void **state) {
  (void)state;
  dorm_av vals[101];
  for (int i = 0; i < 101; i++) vals[i] = dorm_av_num("1");
  dorm_expr x = fresh();
  assert_null(dorm_cond_in(&x, "a", vals, 0));
  expect_error(&x, "IN needs at least one value");
  x = fresh();
  assert_non_null(dorm_cond_in(&x, "a", vals, 100));
  assert_null(dorm_cond_in(&x, "a", vals, 101));
  expect_error(&x, "IN takes at most 100 values, got 101");

  const struct { const char *path, *msg; } bad[] = {
    {"", "bad path: empty"}, {"a..b", "empty name at offset 2"}, {".a", "empty name at offset 0"},
    {"a.", "empty name at offset 2"}, {"[0]", "empty name at offset 0"}, {"a[", "expected digits"},
    {"a[x]", "expected digits"}, {"a[1", "expected digits"}, {"a[]", "expected digits"},
    {"a]", "unexpected ']'"}, {"a[0]b", "unexpected 'b'"}, {"a\\", "lone backslash"},
    {"a[12345678901]", "list index too large"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    x = fresh();
    assert_null(dorm_cond_exists(&x, bad[i].path));
    expect_error(&x, bad[i].msg);
    x = fresh();
    assert_int_equal(dorm_update_remove(&x, bad[i].path), DORM_ERR_INVALID_ARGUMENT);
  }
  /* Errors are sticky and flow through combinators. */
  x = fresh();
  dorm_cond *c = dorm_cond_and(&x, dorm_cond_eq(&x, "a..b", dorm_av_num("1")), dorm_cond_exists(&x, "ok"));
  assert_null(c);
  assert_int_equal(dorm_expr_filter(&x, c), DORM_ERR_INVALID_ARGUMENT);
  expect_error(&x, "bad path \"a..b\"");
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm__jw_begin_object(&w);
  dorm__jw_expr(&w, &x);
  assert_int_equal(dorm__jw_finish(&w, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(w.err, "bad path"));
  dorm__jw_free(&w);

  x = fresh();
  assert_int_equal(dorm_expr_filter(&x, NULL), DORM_ERR_INVALID_ARGUMENT);
  x = fresh();
  dorm_expr_filter(&x, dorm_cond_exists(&x, "a"));
  assert_int_equal(dorm_expr_filter(&x, dorm_cond_exists(&x, "b")), DORM_ERR_INVALID_ARGUMENT);
  expect_error(&x, "already set");
  /* Operand kinds in the wrong place. */
  x = fresh();
  assert_null(dorm_cond_compare(&x, dorm_opd_plus(&x, dorm_opd_path(&x, "a"), dorm_opd_value(&x, dorm_av_num("1"))),
                                DORM_EQ, dorm_opd_value(&x, dorm_av_num("1"))));
  expect_error(&x, "belong in update SET");
  x = fresh();
  assert_null(dorm_opd_size(&x, dorm_opd_value(&x, dorm_av_num("1"))));
  expect_error(&x, "size() needs a document path");
  x = fresh();
  dorm_operand *p = dorm_opd_path(&x, "a"), *one = dorm_opd_value(&x, dorm_av_num("1"));
  assert_null(dorm_opd_plus(&x, dorm_opd_plus(&x, p, one), one));
  expect_error(&x, "does not nest");
  x = fresh();
  assert_int_equal(dorm_update_set_opd(&x, dorm_opd_path(&x, "a"), dorm_opd_size(&x, dorm_opd_path(&x, "b"))),
                   DORM_ERR_INVALID_ARGUMENT);
  x = fresh();
  assert_null(dorm_opd_name(&x, "", 0));
  expect_error(&x, "empty attribute name");
  x = fresh();
  assert_int_equal(dorm_expr_projection(&x, NULL, 0), DORM_ERR_INVALID_ARGUMENT);
  x = fresh();
  assert_null(dorm_cond_type(&x, "a", DORM_AV_INVALID));
  expect_error(&x, "unknown type");
}

static void key_condition_rules(void **state) {
  (void)state;
  dorm_expr x = fresh();
  assert_int_equal(dorm_expr_key_condition(&x, dorm_cond_eq(&x, "pk", dorm_av_str("a"))), DORM_OK);
  assert_string_equal(x.key_condition, "#n0 = :v0");
  x = fresh();
  assert_int_equal(dorm_expr_key_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "pk", dorm_av_str("a")),
                                                             dorm_cond_between(&x, "sk", dorm_av_num("1"),
                                                                               dorm_av_num("2")))),
                   DORM_OK);
  assert_string_equal(x.key_condition, "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2");
  /* Not allowed: <>, OR, functions other than begins_with, nested paths, no equality. */
  dorm_cond *(*bad[])(dorm_expr *) = {mk_ne, mk_and_or, mk_exists, mk_nested, mk_gt, mk_contains};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    x = fresh();
    assert_int_equal(dorm_expr_key_condition(&x, bad[i](&x)), DORM_ERR_INVALID_ARGUMENT);
    expect_error(&x, "KeyConditionExpression must be");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(condition_golden_strings, teardown),
    cmocka_unit_test_teardown(names_values_and_json, teardown),
    cmocka_unit_test_teardown(query_shares_maps, teardown),
    cmocka_unit_test_teardown(update_golden_strings, teardown),
    cmocka_unit_test_teardown(deterministic, teardown),
    cmocka_unit_test_teardown(errors, teardown),
    cmocka_unit_test_teardown(key_condition_rules, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
