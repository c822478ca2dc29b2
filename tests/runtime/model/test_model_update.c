/* Typed updates and conditions, without a server: the exact, deterministic
 * expression text (actions, index keys recomputed, updated_at, the version
 * increment, the conditions), the rules (table keys, one action per field,
 * template fields set together, REMOVE for empty values), and typed
 * conditions on fields. */
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
static const int64_t NOW = INT64_C(1795613924000000007); /* 2026-11-25T13:38:44.000000007Z */

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static const char *value_text(const dorm_expr *x, size_t i) {
  static char buf[256];
  assert_true(i < x->value_count);
  snprintf(buf, sizeof buf, "%s:%.*s", dorm_av_type_name(x->values[i].type), (int)x->values[i].u.s.len,
           x->values[i].u.s.ptr);
  return buf;
}

static void name_is(const dorm_expr *x, size_t i, const char *want) {
  assert_true(i < x->name_count);
  if (x->names[i].len != strlen(want) || memcmp(x->names[i].ptr, want, x->names[i].len) != 0)
    fail_msg("#n%zu is %.*s, want %s", i, (int)x->names[i].len, x->names[i].ptr, want);
}

static tm_Order order_key(void) {
  tm_Order k;
  memset(&k, 0, sizeof k);
  k.customerId = "c1";
  k.orderId = "o1";
  return k;
}

/* The update of an order every test below builds. */
static void build_order_update(dorm_model_update *u, bool finish) {
  dorm_model_update_init(u, &tm_Order_desc, &A);
  tm_OrderStatus status = TM_STATUS_PAID;
  const char *note = "ring twice";
  const char *tag = "gift";
  tm_set_string tags = {&tag, 1};
  int64_t by = 3600;
  assert_int_equal(dorm_model_update_set(u, TM_O_status, &status), DORM_OK);
  assert_int_equal(dorm_model_update_set(u, TM_O_note, &note), DORM_OK);
  assert_int_equal(dorm_model_update_remove(u, TM_O_shipTo), DORM_OK);
  assert_int_equal(dorm_model_update_set_add(u, TM_O_tags, &tags), DORM_OK);
  assert_int_equal(dorm_model_update_add(u, TM_O_expiresAt, &by), DORM_OK);
  if (!finish) return;
  tm_Order key = order_key();
  dorm_write_opts w;
  memset(&w, 0, sizeof w);
  w.check_version = true;
  w.expected_version = 4;
  assert_int_equal(dorm__model_update_finish(u, &key, &w, NOW), DORM_OK);
}

static void order_update_text(void **state) {
  (void)state;
  dorm_model_update u;
  build_order_update(&u, true);
  dorm_expr *x = &u.x;
  assert_int_equal(dorm_expr_finish(x), DORM_OK);
  assert_string_equal(x->update, "SET #n0 = :v0, #n1 = :v1, #n4 = #n4 + :v3, #n5 = :v4, #n6 = :v5, #n7 = #n7 + :v6 "
                                 "REMOVE #n2 ADD #n3 :v2");
  assert_string_equal(x->condition, "attribute_exists(#n8) AND #n7 = :v7");
  const char *names[] = {"status", "customer_note", "shipTo", "tags", "expiresAt", "GSI1PK", "updatedAt", "version", "PK"};
  assert_int_equal(x->name_count, 9);
  for (size_t i = 0; i < 9; i++) name_is(x, i, names[i]);
  assert_string_equal(value_text(x, 0), "S:paid");
  assert_string_equal(value_text(x, 1), "S:ring twice");
  assert_int_equal(x->values[2].type, DORM_AV_SS);
  assert_string_equal(value_text(x, 3), "N:3600");
  assert_string_equal(value_text(x, 4), "S:STATUS#paid"); /* the index key follows the status */
  assert_string_equal(value_text(x, 5), "S:2026-11-25T13:38:44.000000007Z");
  assert_string_equal(value_text(x, 6), "N:1");
  assert_string_equal(value_text(x, 7), "N:4");
  /* deterministic: the same calls give the same bytes */
  dorm_model_update again;
  build_order_update(&again, true);
  assert_int_equal(dorm_expr_finish(&again.x), DORM_OK);
  assert_string_equal(again.x.update, x->update);
  assert_string_equal(again.x.condition, x->condition);
  /* an update runs once */
  assert_int_equal(dorm__model_update_finish(&u, NULL, NULL, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(u.err, "already run"));
  int64_t v = 1;
  assert_int_equal(dorm_model_update_set(&again, TM_O_version, &v), DORM_ERR_INVALID_ARGUMENT);
}

static void conditions_and_lifecycle(void **state) {
  (void)state;
  /* without check_version: the increment but no version condition */
  dorm_model_update u;
  build_order_update(&u, false);
  tm_Order key = order_key();
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_string_equal(u.x.condition, "attribute_exists(#n8)");
  /* the caller's condition, built on the update's builder, is ANDed */
  build_order_update(&u, false);
  tm_OrderStatus pending = TM_STATUS_PENDING;
  dorm_write_opts w;
  memset(&w, 0, sizeof w);
  w.expr = &u.x;
  w.condition = dorm_cond_or(&u.x, dorm_model_cond_cmp(&u.x, &tm_Order_desc, TM_O_status, DORM_EQ, &pending),
                             dorm_model_cond_not_exists(&u.x, &tm_Order_desc, TM_O_status));
  w.check_version = true;
  w.expected_version = 0;
  assert_int_equal(dorm__model_update_finish(&u, &key, &w, NOW), DORM_OK);
  assert_string_equal(u.x.condition, "attribute_exists(#n8) AND #n7 = :v7 AND (#n0 = :v8 OR attribute_not_exists(#n0))");
  assert_string_equal(value_text(&u.x, 8), "S:pending");
  /* ... but not one from another builder */
  build_order_update(&u, false);
  dorm_expr other;
  dorm_expr_init(&other, &A);
  w.expr = &other;
  w.condition = dorm_model_cond_exists(&other, &tm_Order_desc, TM_O_note);
  assert_int_equal(dorm__model_update_finish(&u, &key, &w, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(u.err, "&u->x"));
  /* explicit lifecycle values win over the automatic ones */
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  int64_t when = 5, version = 9;
  assert_int_equal(dorm_model_update_set(&u, TM_O_updatedAt, &when), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, TM_O_version, &version), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1");
  assert_string_equal(value_text(&u.x, 0), "S:1970-01-01T00:00:00.000000005Z");
  /* a model without lifecycle roles gets only the existence condition */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  int64_t count = 2;
  assert_int_equal(dorm_model_update_add(&u, TM_K_level, &count), DORM_OK);
  tm_Kitchen kk;
  memset(&kk, 0, sizeof kk);
  kk.id = "k1";
  assert_int_equal(dorm__model_update_finish(&u, &kk, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = #n0 + :v0");
  assert_string_equal(u.x.condition, "attribute_exists(#n1)");
  name_is(&u.x, 1, "id");
  /* check_version on a model without @version */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  assert_int_equal(dorm_model_update_add(&u, TM_K_level, &count), DORM_OK);
  memset(&w, 0, sizeof w);
  w.check_version = true;
  assert_int_equal(dorm__model_update_finish(&u, &kk, &w, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(u.err, "Kitchen has no @version field"));
}

static void index_keys(void **state) {
  (void)state;
  dorm_model_update u;
  tm_Kitchen key;
  memset(&key, 0, sizeof key);
  key.id = "k1";
  const char *name = "pan";
  tm_Color color = TM_COLOR_RED;
  /* GSI1PK = "N#{name}#{color}": both fields in the same update */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_K_name, &name), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Kitchen: index key GSI1PK is made from several fields; set color in the same update too");
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_K_color, &color), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, TM_K_name, &name), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1, #n2 = :v2");
  name_is(&u.x, 2, "GSI1PK");
  assert_string_equal(value_text(&u.x, 2), "S:N#pan#red");
  /* Order's GSI1SK = "{createdAt}" follows createdAt */
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  int64_t created = 0;
  assert_int_equal(dorm_model_update_set(&u, TM_O_createdAt, &created), DORM_OK);
  tm_Order ok = order_key();
  assert_int_equal(dorm__model_update_finish(&u, &ok, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  name_is(&u.x, 1, "GSI1SK");
  assert_string_equal(value_text(&u.x, 1), "S:1970-01-01T00:00:00.000000000Z");
  /* a template field can only be set plainly */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  int64_t by = 1;
  assert_int_equal(dorm_model_update_add(&u, TM_K_count, &by), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Kitchen.count: an index key is made from it, so it cannot be incremented (set it instead)");
  /* GSI1SK = "{count}#{id}": id is the table key, taken from the key object */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  int64_t count = 5;
  assert_int_equal(dorm_model_update_set(&u, TM_K_count, &count), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1");
  name_is(&u.x, 1, "GSI1SK");
  assert_string_equal(value_text(&u.x, 1), "S:5#k1");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  tm_OrderStatus st = TM_STATUS_PAID;
  assert_int_equal(dorm_model_update_set_default(&u, TM_O_status, &st), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(u.err, "cannot be set conditionally"));
}

static void action_rules(void **state) {
  (void)state;
  dorm_model_update u;
  const char *s = "x";
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_O_customerId, &s), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.customerId: part of the table key; it cannot be updated (set)");
  /* sticky: later calls report the first error */
  assert_int_equal(dorm_model_update_set(&u, TM_O_note, &s), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.customerId: part of the table key; it cannot be updated (set)");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_O_note, &s), DORM_OK);
  assert_int_equal(dorm_model_update_remove(&u, TM_O_note), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.note: already has an action in this update");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_remove(&u, TM_O_status), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.status: only optional fields can be removed");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_add(&u, TM_O_status, &s), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.status: only number fields can be incremented");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, 40, &s), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order: no field 40 (the model has 12)");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  tm_OrderStatus bad = 7;
  assert_int_equal(dorm_model_update_set(&u, TM_O_status, &bad), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.status: 7 is not a value of enum OrderStatus (1..3)");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_append(&u, TM_O_tags, &s), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Order.tags: not a list");
  dorm_model_update_init(&u, NULL, &A);
  assert_int_equal(u.status, DORM_ERR_INVALID_ARGUMENT);

  /* empty values REMOVE, as a put would not write them */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  const char *empty = "", *none = NULL;
  tm_set_string no_tags = {NULL, 0};
  assert_int_equal(dorm_model_update_set(&u, TM_K_nickname, &empty), DORM_OK); /* @omit_empty */
  assert_int_equal(dorm_model_update_set(&u, TM_K_tags, &no_tags), DORM_OK);    /* empty set */
  assert_int_equal(dorm_model_update_set(&u, TM_K_doc, &none), DORM_OK);        /* optional NULL */
  assert_int_equal(dorm_model_update_set(&u, TM_K_memo, &empty), DORM_OK);      /* optional, no @omit_empty: "" */
  assert_int_equal(dorm_model_update_set(&u, TM_K_name, &none), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Kitchen.name: required (NULL)");
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n3 = :v0 REMOVE #n0, #n1, #n2");
  name_is(&u.x, 3, "the.memo"); /* one attribute name with a dot, not a path */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  assert_int_equal(dorm_model_update_remove(&u, TM_K_memo), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "REMOVE #n0");
  name_is(&u.x, 0, "the.memo");
  assert_int_equal(u.x.name_count, 1);

  /* lists and defaults */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  dorm_opt_i64 more[] = {{true, 1}, {false, 0}};
  tm_list_opt_int list = {more, 2};
  assert_int_equal(dorm_model_update_append(&u, TM_K_scores, &list), DORM_OK);
  assert_int_equal(dorm_model_update_prepend(&u, TM_K_labels, &(tm_list_opt_string){&s, 1}), DORM_OK);
  double r = 0.5;
  assert_int_equal(dorm_model_update_set_default(&u, TM_K_ratio, &r), DORM_OK);
  tm_set_int drop = {(int64_t[]){3}, 1};
  assert_int_equal(dorm_model_update_set_delete(&u, TM_K_nums, &drop), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1), "
                                  "#n1 = list_append(:v2, if_not_exists(#n1, :v3)), #n2 = if_not_exists(#n2, :v4) "
                                  "DELETE #n3 :v5");
  assert_int_equal(u.x.values[1].type, DORM_AV_L);
  assert_int_equal(u.x.values[1].u.list.items[1].type, DORM_AV_NULL);
  assert_int_equal(u.x.values[5].type, DORM_AV_NS);
  assert_int_equal(u.nactions, 4);
}

/* Index keys made from the fields every update writes by itself:
 * GSI1SK = "{status}#{updatedAt}", GSI2SK = "v{version}". */
typedef struct ticket {
  const char *id;
  const char *status;
  int64_t updatedAt;
  int64_t version;
} ticket;
static const dorm_field_desc ticket_fields[] = {
    {"id", {"id", "id"}, {"\"id\":", "\"id\":"}, {5, 5}, DORM_FF_PK | DORM_FF_TABLE_KEY, (uint32_t)offsetof(ticket, id), -1,
     {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}, NULL},
    {"status", {"status", "status"}, {"\"status\":", "\"status\":"}, {9, 9}, 0, (uint32_t)offsetof(ticket, status), -1,
     {DORM_K_STRING, 0, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL}, NULL},
    {"updatedAt", {"updatedAt", "updatedAt"}, {"\"updatedAt\":", "\"updatedAt\":"}, {12, 12}, DORM_FF_UPDATED_AT,
     (uint32_t)offsetof(ticket, updatedAt), -1, {DORM_K_TIME, 0, 0, (uint32_t)sizeof(int64_t), NULL, NULL, NULL}, NULL},
    {"version", {"version", "version"}, {"\"version\":", "\"version\":"}, {10, 10}, DORM_FF_VERSION,
     (uint32_t)offsetof(ticket, version), -1, {DORM_K_INT, 0, 0, (uint32_t)sizeof(int64_t), NULL, NULL, NULL}, NULL},
};
static const dorm_tpl_part ticket_tpl1[] = {{NULL, 0, 1}, {"#", 1, -1}, {NULL, 0, 2}};
static const dorm_tpl_part ticket_tpl2[] = {{"v", 1, -1}, {NULL, 0, 3}};
static const dorm_key_desc ticket_keys[] = {{"id", "\"id\":", 5, 'S', 0, NULL, 0},
                                            {"GSI1SK", "\"GSI1SK\":", 9, 'S', -1, ticket_tpl1, 3},
                                            {"GSI2SK", "\"GSI2SK\":", 9, 'S', -1, ticket_tpl2, 2}};
static const dorm_index_desc ticket_indexes[] = {{NULL, DORM_INDEX_TABLE, 0, 0, -1}};
static const dorm_model_desc ticket_desc = {"Ticket", "tickets", NULL, DORM_NAMING_CAMEL, (uint32_t)sizeof(ticket),
                                            ticket_fields, 4, ticket_keys, 3, 1, ticket_indexes, 1, -1, 2, 3, -1, 0, NULL};

static void index_keys_from_lifecycle(void **state) {
  (void)state;
  ticket key = {"t1", NULL, 0, 0};
  dorm_write_opts w;
  memset(&w, 0, sizeof w);
  w.check_version = true;
  w.expected_version = 4;
  const char *open = "open";
  dorm_model_update u;
  /* updatedAt changes GSI1SK, whose other field must then be set too */
  dorm_model_update_init(&u, &ticket_desc, &A);
  assert_int_equal(dorm__model_update_finish(&u, &key, &w, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Ticket: index key GSI1SK is made from updatedAt, which every update writes, and from "
                             "status; set status in the same update too");
  dorm_model_update_init(&u, &ticket_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, 1, &open), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, &w, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1, #n2 = :v2, #n3 = :v3, #n4 = #n4 + :v4");
  name_is(&u.x, 1, "GSI1SK");
  assert_string_equal(value_text(&u.x, 1), "S:open#2026-11-25T13:38:44.000000007Z");
  name_is(&u.x, 2, "GSI2SK");
  assert_string_equal(value_text(&u.x, 2), "S:v5"); /* the version after the increment */
  name_is(&u.x, 3, "updatedAt");
  assert_string_equal(value_text(&u.x, 3), "S:2026-11-25T13:38:44.000000007Z");
  /* without the expected version the new GSI2SK is unknown: refused */
  dorm_model_update_init(&u, &ticket_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, 1, &open), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Ticket: index key GSI2SK is made from version, which every update increments; check the "
                             "version (check_version with expected_version) so that the new key can be computed");
  /* explicit values of the lifecycle fields are used as they are */
  dorm_model_update_init(&u, &ticket_desc, &A);
  int64_t when = 5, version = 9;
  assert_int_equal(dorm_model_update_set(&u, 1, &open), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, 2, &when), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, 3, &version), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1, #n2 = :v2, #n3 = :v3, #n4 = :v4");
  assert_string_equal(value_text(&u.x, 3), "S:open#1970-01-01T00:00:00.000000005Z");
  assert_string_equal(value_text(&u.x, 4), "S:v9");
}

/* A model with more fields than 256 (built here, as the generator would):
 * every field is tracked, the last ones too. */
enum { WIDE_N = 300 };
typedef struct wide {
  const char *id;
  int64_t v[WIDE_N - 1];
} wide;
static dorm_field_desc wide_fields[WIDE_N];
static char wide_names[WIDE_N][8], wide_json[WIDE_N][12];
static const dorm_tpl_part wide_tpl[] = {{"X#", 2, -1}, {NULL, 0, 290}};
static const dorm_key_desc wide_keys[] = {{"id", "\"id\":", 5, 'S', 0, NULL, 0},
                                          {"GSI1PK", "\"GSI1PK\":", 9, 'S', -1, wide_tpl, 2}};
static const dorm_index_desc wide_indexes[] = {{NULL, DORM_INDEX_TABLE, 0, 0, -1}, {"gsi", DORM_INDEX_GSI, 0, 1, -1}};
static const dorm_model_desc wide_desc = {"Wide", "wide", NULL, DORM_NAMING_CAMEL, (uint32_t)sizeof(wide),
                                          wide_fields, WIDE_N, wide_keys, 2, 1, wide_indexes, 2, -1, -1, -1, -1, 0, NULL};

static void wide_model_setup(void) {
  for (uint32_t i = 0; i < WIDE_N; i++) {
    dorm_field_desc *f = &wide_fields[i];
    if (i == 0) snprintf(wide_names[i], sizeof wide_names[i], "id");
    else snprintf(wide_names[i], sizeof wide_names[i], "f%u", i);
    int n = snprintf(wide_json[i], sizeof wide_json[i], "\"%s\":", wide_names[i]);
    f->name = f->attr[0] = f->attr[1] = wide_names[i];
    f->attr_json[0] = f->attr_json[1] = wide_json[i];
    f->attr_json_len[0] = f->attr_json_len[1] = (uint16_t)n;
    f->flags = i == 0 ? DORM_FF_PK | DORM_FF_TABLE_KEY : 0;
    f->offset = i == 0 ? (uint32_t)offsetof(wide, id) : (uint32_t)(offsetof(wide, v) + (i - 1) * sizeof(int64_t));
    f->has_offset = -1;
    f->type.kind = i == 0 ? DORM_K_STRING : DORM_K_INT;
    f->type.size = i == 0 ? (uint32_t)sizeof(const char *) : (uint32_t)sizeof(int64_t);
  }
}

static void fields_beyond_256(void **state) {
  (void)state;
  wide_model_setup();
  wide key;
  memset(&key, 0, sizeof key);
  key.id = "w1";
  dorm_model_update u;
  int64_t one = 1, seven = 7;
  /* one action per field, for field 280 as for field 2 */
  dorm_model_update_init(&u, &wide_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, 2, &one), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, 280, &one), DORM_OK);
  assert_int_equal(dorm_model_update_add(&u, 280, &one), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Wide.f280: already has an action in this update");
  dorm_model_update_init(&u, &wide_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, WIDE_N - 1, &one), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, WIDE_N - 1, &one), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(u.err, "Wide.f299: already has an action in this update");
  /* GSI1PK = "X#{f290}" follows field 290 */
  dorm_model_update_init(&u, &wide_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, 290, &seven), DORM_OK);
  assert_int_equal(dorm__model_update_finish(&u, &key, NULL, NOW), DORM_OK);
  assert_int_equal(dorm_expr_finish(&u.x), DORM_OK);
  assert_string_equal(u.x.update, "SET #n0 = :v0, #n1 = :v1");
  name_is(&u.x, 0, "f290");
  name_is(&u.x, 1, "GSI1PK");
  assert_string_equal(value_text(&u.x, 1), "S:X#7");
}

static void typed_conditions(void **state) {
  (void)state;
  dorm_expr x;
  dorm_expr_init(&x, &A);
  tm_OrderStatus in[] = {TM_STATUS_PENDING, TM_STATUS_SHIPPED};
  int64_t lo = 0, hi = NOW;
  const char *tag = "gift";
  dorm_cond *c = dorm_cond_all(&x,
                               (dorm_cond *[]){dorm_model_cond_in(&x, &tm_Order_desc, TM_O_status, in, 2),
                                               dorm_model_cond_between(&x, &tm_Order_desc, TM_O_createdAt, &lo, &hi),
                                               dorm_model_cond_begins_with(&x, &tm_Order_desc, TM_O_note, "ring"),
                                               dorm_model_cond_contains(&x, &tm_Order_desc, TM_O_tags, &tag),
                                               dorm_model_cond_exists(&x, &tm_Order_desc, TM_O_shipTo)},
                               5);
  assert_int_equal(dorm_expr_filter(&x, c), DORM_OK);
  assert_string_equal(x.filter, "#n0 IN (:v0, :v1) AND #n1 BETWEEN :v2 AND :v3 AND begins_with(#n2, :v4) AND "
                                "contains(#n3, :v5) AND attribute_exists(#n4)");
  assert_string_equal(value_text(&x, 1), "S:SHIPPED");
  assert_string_equal(value_text(&x, 3), "S:2026-11-25T13:38:44.000000007Z");
  assert_string_equal(value_text(&x, 5), "S:gift");
  name_is(&x, 2, "customer_note");
  /* errors are the builder's */
  dorm_expr_init(&x, &A);
  assert_null(dorm_model_cond_cmp(&x, &tm_Order_desc, 99, DORM_EQ, &lo));
  assert_string_equal(dorm_expr_errmsg(&x), "Order: no field 99 (the model has 12)");
  dorm_expr_init(&x, &A);
  assert_null(dorm_model_cond_begins_with(&x, &tm_Order_desc, TM_O_version, "1"));
  assert_non_null(strstr(dorm_expr_errmsg(&x), "begins_with needs a field stored as a string"));
  dorm_expr_init(&x, &A);
  assert_null(dorm_model_cond_contains(&x, &tm_Order_desc, TM_O_version, &lo));
  dorm_expr_init(&x, &A);
  assert_null(dorm_model_cond_in(&x, &tm_Order_desc, TM_O_status, in, 0));
  assert_int_equal(dorm_expr_status(&x), DORM_ERR_INVALID_ARGUMENT);
  dorm_expr_init(&x, &A);
  tm_OrderStatus bad = 0;
  assert_null(dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_NE, &bad));
  assert_string_equal(dorm_expr_errmsg(&x), "Order.status: required (enum OrderStatus value 0 means \"not set\")");
  assert_null(dorm_model_cond_exists(&x, &tm_Order_desc, TM_O_note)); /* sticky */
  dorm_expr_init(&x, &A);
  assert_null(dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_note, DORM_EQ, NULL));
  assert_string_equal(dorm_expr_errmsg(&x), "Order.note: no value given");
  /* a contains on a list of optional elements looks for a plain value */
  dorm_expr_init(&x, &A);
  int64_t seven = 7;
  assert_non_null(dorm_model_cond_contains(&x, &tm_Kitchen_desc, TM_K_scores, &seven));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(order_update_text, teardown),
      cmocka_unit_test_teardown(conditions_and_lifecycle, teardown),
      cmocka_unit_test_teardown(index_keys, teardown),
      cmocka_unit_test_teardown(action_rules, teardown),
      cmocka_unit_test_teardown(typed_conditions, teardown),
      cmocka_unit_test_teardown(fields_beyond_256, teardown),
      cmocka_unit_test_teardown(index_keys_from_lifecycle, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
