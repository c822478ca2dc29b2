/* The model layer's single-item operations against DynamoDB Local: every
 * type stored and read back, put/create/get/update/delete with DynamORM's
 * lifecycle and optimistic locking, index keys following updates, the
 * stored item when a condition fails, DynamORM's p0 contract scenarios on
 * its User model, writes without an arena, and errors caught before
 * anything is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "dorm/ops.h"
#include "model_ddb.h"

static dorm_client *C;
static dorm_arena A = DORM_ARENA_INIT;

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  md_create_tables(C);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  md_drop_tables(C);
  dorm_client_free(C);
  dorm_arena_free(&A);
  return 0;
}

static int reset(void **state) {
  (void)state;
  dorm_arena_reset(&A);
  return 0;
}

static const char *item_json(const dorm_model_desc *m, const void *obj) {
  const char *json;
  size_t len;
  char err[256];
  if (dorm_model_to_json(m, obj, &A, &json, &len, err, sizeof err) != DORM_OK) fail_msg("%s", err);
  return json;
}

/* ---- every type, stored and read back ---- */

static void kitchen_round_trip(void **state) {
  (void)state;
  tm_Kitchen k, got, key;
  tm_sample_kitchen(&k, "k1");
  MD_OK(C, dorm_model_put(C, &tm_Kitchen_desc, &k, false, NULL, &A));
  memset(&key, 0, sizeof key);
  key.id = "k1";
  MD_OK(C, dorm_model_get(C, &tm_Kitchen_desc, &key, NULL, &A, &got));
  /* everything comes back as written (DynamoDB returns attributes in its own
   * order, sets in its own order and numbers normalised: compare as values) */
  dorm_av mine, back;
  char err[256];
  assert_int_equal(dorm_item_from_json(tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), &A, &mine, err,
                                       sizeof err),
                   DORM_OK);
  assert_int_equal(dorm_model_to_av(&tm_Kitchen_desc, &got, &A, &back, err, sizeof err), DORM_OK);
  if (!dorm_av_equal(&mine, &back)) fail_msg("read back:\n%s", item_json(&tm_Kitchen_desc, &got));
  assert_int_equal(got.scores.count, 2);
  assert_false(got.scores.items[1].has);
  assert_int_equal(got.when, 1);
  assert_memory_equal(got.blob.data, "\x00\x01\x02\xff", 4);
  /* what DynamoDB stored, by type */
  dorm_av raw;
  assert_true(md_raw_item(C, tm_kitchen_table, "id", "k1", NULL, NULL, &A, &raw));
  const struct {
    const char *attr;
    dorm_av_type type;
  } types[] = {{"when", DORM_AV_S},   {"expires_at", DORM_AV_N}, {"ratio", DORM_AV_N}, {"price", DORM_AV_N},
               {"blob", DORM_AV_B},   {"tags", DORM_AV_SS},      {"nums", DORM_AV_NS}, {"blobs", DORM_AV_BS},
               {"home", DORM_AV_M},   {"scores", DORM_AV_L},     {"doc", DORM_AV_S},   {"GSI1PK", DORM_AV_S},
               {"the.memo", DORM_AV_S}, {"active", DORM_AV_BOOL}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    const dorm_av *v = dorm_av_map_get(&raw, types[i].attr);
    if (!v || v->type != types[i].type) fail_msg("%s stored as %s", types[i].attr, v ? dorm_av_type_name(v->type) : "nothing");
  }
  assert_string_equal(dorm_av_map_get(&raw, "price")->u.s.ptr, "19.99"); /* DynamoDB normalises numbers */
  assert_non_null(dorm_av_map_get(dorm_av_map_get(&raw, "home"), "post_code")); /* snake_case struct */
  assert_string_equal(dorm_av_map_get(&raw, "GSI1SK")->u.s.ptr, "-42#k1");
}

static void kitchen_projection(void **state) {
  (void)state;
  tm_Kitchen k, got, key;
  tm_sample_kitchen(&k, "k2");
  MD_OK(C, dorm_model_put(C, &tm_Kitchen_desc, &k, false, NULL, &A));
  memset(&key, 0, sizeof key);
  key.id = "k2";
  uint32_t fields[] = {TM_K_name, TM_K_count, TM_K_memo};
  dorm_get_opts go = {true, fields, 3};
  MD_OK(C, dorm_model_get(C, &tm_Kitchen_desc, &key, &go, &A, &got));
  assert_string_equal(got.name, k.name);
  assert_int_equal(got.count, -42);
  assert_string_equal(got.memo, "m"); /* "the.memo": one name, not a path */
  assert_null(got.id);
  assert_null(got.price);
  assert_int_equal(got.tags.count, 0);
  /* not there */
  key.id = "nope";
  MD_EXPECT(C, dorm_model_get(C, &tm_Kitchen_desc, &key, NULL, &A, &got), DORM_ERR_NOT_FOUND);
  assert_non_null(strstr(dorm_client_errmsg(C), "no Kitchen with key id=nope"));
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_NOT_FOUND), "ErrItemNotFound");
}

/* ---- lifecycle and locking (Order in the shared table) ---- */

static tm_Order new_order(const char *customer, const char *id, tm_OrderStatus status) {
  tm_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = customer;
  o.orderId = id;
  o.status = status;
  o.total.amount = "12.50";
  o.total.currency = "EUR";
  return o;
}

static tm_Order order_key(const char *customer, const char *id) {
  tm_Order k;
  memset(&k, 0, sizeof k);
  k.customerId = customer;
  k.orderId = id;
  return k;
}

static void order_lifecycle(void **state) {
  (void)state;
  tm_Order o = new_order("c-life", "o1", TM_STATUS_PENDING), got, key = order_key("c-life", "o1");
  int64_t before = dorm_time_now();
  MD_OK(C, dorm_model_put(C, &tm_Order_desc, &o, true, NULL, &A));
  /* created_at and updated_at set (and written back), version as given */
  assert_true(o.createdAt >= before && o.createdAt <= dorm_time_now());
  assert_true(o.updatedAt == o.createdAt);
  assert_int_equal(o.version, 0);
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &got));
  assert_true(got.createdAt == o.createdAt); /* nanoseconds survive the round trip */
  assert_int_equal(got.status, TM_STATUS_PENDING);
  assert_true(dorm_number_equal(got.total.amount, strlen(got.total.amount), "12.5", 4));

  /* create again: ErrConditionFailed, with the stored item handed back */
  tm_Order again = new_order("c-life", "o1", TM_STATUS_PAID), old;
  bool found = false;
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.old_out = &old;
  wo.old_found = &found;
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &again, true, &wo, &A), DORM_ERR_CONDITION_FAILED);
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_CONDITION_FAILED), "ErrConditionFailed");
  assert_true(found);
  assert_int_equal(old.status, TM_STATUS_PENDING);
  assert_true(again.createdAt == 0 && again.updatedAt == 0); /* a failed put gives the object back unchanged */

  /* update with the version lock: version 0 -> 1, updated_at moves, created_at stays */
  dorm_model_update u;
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  tm_OrderStatus paid = TM_STATUS_PAID;
  const char *note = "ring twice";
  assert_int_equal(dorm_model_update_set(&u, TM_O_status, &paid), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, TM_O_note, &note), DORM_OK);
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.w.check_version = true;
  uo.w.expected_version = 0;
  uo.return_new = true;
  tm_Order updated;
  MD_OK(C, dorm_model_update_exec(C, &tm_Order_desc, &key, &u, &uo, &A, &updated));
  assert_int_equal(updated.version, 1);
  assert_int_equal(updated.status, TM_STATUS_PAID);
  assert_string_equal(updated.note, "ring twice");
  assert_true(updated.createdAt == o.createdAt);
  assert_true(updated.updatedAt > o.updatedAt);
  /* the index key followed the status */
  dorm_av raw;
  char pk[64];
  snprintf(pk, sizeof pk, "CUSTOMER#%s", "c-life");
  assert_true(md_raw_item(C, tm_shop_table, "PK", pk, "SK", "ORDER#o1", &A, &raw));
  assert_string_equal(dorm_av_map_get(&raw, "GSI1PK")->u.s.ptr, "STATUS#paid");

  /* a stale version: ErrConditionFailed, nothing changes */
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  tm_OrderStatus shipped = TM_STATUS_SHIPPED;
  assert_int_equal(dorm_model_update_set(&u, TM_O_status, &shipped), DORM_OK);
  uo.return_new = false;
  uo.w.expected_version = 0;
  MD_EXPECT(C, dorm_model_update_exec(C, &tm_Order_desc, &key, &u, &uo, &A, NULL), DORM_ERR_CONDITION_FAILED);
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &got));
  assert_int_equal(got.status, TM_STATUS_PAID);
  assert_int_equal(got.version, 1);

  /* an update needs the item */
  tm_Order missing = order_key("c-life", "nope");
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_O_status, &shipped), DORM_OK);
  MD_EXPECT(C, dorm_model_update_exec(C, &tm_Order_desc, &missing, &u, NULL, &A, NULL), DORM_ERR_CONDITION_FAILED);

  /* update_fields (DynamORM's Update(fields...)): version from the object, written back */
  got.note = NULL;             /* optional and absent: REMOVE */
  got.status = TM_STATUS_SHIPPED;
  got.has_expiresAt = true;
  got.expiresAt = 0;           /* @omit_empty and empty: REMOVE */
  int64_t prev_updated = got.updatedAt;
  uint32_t fields[] = {TM_O_status, TM_O_note, TM_O_expiresAt, TM_O_version};
  MD_OK(C, dorm_model_update_fields(C, &tm_Order_desc, &got, fields, 4, NULL, &A));
  assert_int_equal(got.version, 2);
  assert_true(got.updatedAt > prev_updated);
  assert_true(md_raw_item(C, tm_shop_table, "PK", pk, "SK", "ORDER#o1", &A, &raw));
  assert_null(dorm_av_map_get(&raw, "customer_note"));
  assert_string_equal(dorm_av_map_get(&raw, "status")->u.s.ptr, "SHIPPED");
  assert_string_equal(dorm_av_map_get(&raw, "version")->u.s.ptr, "2");
  /* the same update again with the old version: stale */
  got.version = 1;
  MD_EXPECT(C, dorm_model_update_fields(C, &tm_Order_desc, &got, fields, 2, NULL, &A), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(got.version, 1); /* unchanged on failure */

  /* delete: a stale version is refused, the right one deletes */
  memset(&wo, 0, sizeof wo);
  wo.check_version = true;
  wo.expected_version = 1;
  MD_EXPECT(C, dorm_model_delete(C, &tm_Order_desc, &key, &wo, &A), DORM_ERR_CONDITION_FAILED);
  wo.expected_version = 2;
  MD_OK(C, dorm_model_delete(C, &tm_Order_desc, &key, &wo, &A));
  MD_EXPECT(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &got), DORM_ERR_NOT_FOUND);
  /* a caller's condition joins the model's */
  tm_Order p = new_order("c-life", "o2", TM_STATUS_PENDING);
  MD_OK(C, dorm_model_put(C, &tm_Order_desc, &p, false, NULL, &A));
  dorm_expr x;
  dorm_expr_init(&x, &A);
  tm_OrderStatus want = TM_STATUS_PAID;
  memset(&wo, 0, sizeof wo);
  wo.expr = &x;
  wo.condition = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_EQ, &want);
  tm_Order pkey = order_key("c-life", "o2");
  MD_EXPECT(C, dorm_model_delete(C, &tm_Order_desc, &pkey, &wo, &A), DORM_ERR_CONDITION_FAILED);
  dorm_expr_init(&x, &A);
  want = TM_STATUS_PENDING;
  wo.condition = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_EQ, &want);
  MD_OK(C, dorm_model_delete(C, &tm_Order_desc, &pkey, &wo, &A));
}

/* An index key made of two fields (Kitchen's GSI1PK = "N#{name}#{color}"). */
static void index_keys_follow_updates(void **state) {
  (void)state;
  tm_Kitchen k, key;
  tm_sample_kitchen(&k, "k3");
  MD_OK(C, dorm_model_put(C, &tm_Kitchen_desc, &k, false, NULL, &A));
  memset(&key, 0, sizeof key);
  key.id = "k3";
  dorm_model_update u;
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  const char *name = "wok";
  assert_int_equal(dorm_model_update_set(&u, TM_K_name, &name), DORM_OK);
  uint64_t sent = md_requests(C);
  MD_EXPECT(C, dorm_model_update_exec(C, &tm_Kitchen_desc, &key, &u, NULL, &A, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(C), "set color in the same update too"));
  assert_true(md_requests(C) == sent); /* nothing was sent */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  tm_Color green = TM_COLOR_GREEN;
  int64_t count = 9;
  assert_int_equal(dorm_model_update_set(&u, TM_K_name, &name), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, TM_K_color, &green), DORM_OK);
  assert_int_equal(dorm_model_update_set(&u, TM_K_count, &count), DORM_OK);
  MD_OK(C, dorm_model_update_exec(C, &tm_Kitchen_desc, &key, &u, NULL, &A, NULL));
  /* the item is found under its new index keys */
  dorm_sk_cond sk = {DORM_SK_EQ, &(tm_Kitchen){.count = 9, .id = "k3"}, NULL, NULL};
  tm_Kitchen pk;
  memset(&pk, 0, sizeof pk);
  pk.name = "wok";
  pk.color = TM_COLOR_GREEN;
  dorm_model_page page;
  MD_OK(C, dorm_model_query(C, &tm_Kitchen_desc, TM_K_IX_NAME, &pk, &sk, NULL, &A, &page));
  assert_int_equal(page.count, 1);
  const tm_Kitchen *items = page.items;
  assert_string_equal(items[0].id, "k3");
  assert_string_equal(items[0].name, "wok");
  /* list and set actions */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  dorm_opt_i64 more[] = {{true, 8}, {false, 0}};
  tm_list_opt_int scores = {more, 2};
  const char *tag = "new";
  tm_set_string tags = {&tag, 1};
  int64_t gone = 3;
  tm_set_int nums = {&gone, 1};
  int64_t one = 1;
  double half = 0.5;
  assert_int_equal(dorm_model_update_append(&u, TM_K_scores, &scores), DORM_OK);
  assert_int_equal(dorm_model_update_set_add(&u, TM_K_tags, &tags), DORM_OK);
  assert_int_equal(dorm_model_update_set_delete(&u, TM_K_nums, &nums), DORM_OK);
  assert_int_equal(dorm_model_update_add(&u, TM_K_ratio, &half), DORM_OK);
  assert_int_equal(dorm_model_update_set_default(&u, TM_K_level, &one), DORM_OK);
  assert_int_equal(dorm_model_update_prepend(&u, TM_K_labels, &(tm_list_opt_string){&tag, 1}), DORM_OK);
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.return_new = true;
  tm_Kitchen now;
  MD_OK(C, dorm_model_update_exec(C, &tm_Kitchen_desc, &key, &u, &uo, &A, &now));
  assert_int_equal(now.scores.count, 4);
  assert_int_equal(now.scores.items[2].value, 8);
  assert_false(now.scores.items[3].has);
  assert_int_equal(now.tags.count, 3);
  assert_int_equal(now.nums.count, 1);
  assert_int_equal(now.nums.items[0], -1);
  assert_true(now.ratio == 0.6);
  assert_true(now.has_level);
  assert_int_equal(now.level, 1);
  assert_int_equal(now.labels.count, 3);
  assert_string_equal(now.labels.items[0], "new");
  /* a table key field cannot be updated */
  dorm_model_update_init(&u, &tm_Kitchen_desc, &A);
  const char *id = "k4";
  assert_int_equal(dorm_model_update_set(&u, TM_K_id, &id), DORM_ERR_INVALID_ARGUMENT);
  MD_EXPECT(C, dorm_model_update_exec(C, &tm_Kitchen_desc, &key, &u, NULL, &A, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "UpdateItem: Kitchen.id: part of the table key; it cannot be updated (set)");
}

/* ---- DynamORM's contract scenarios (dms/v0.1 User, scenarios/p0) ---- */

static tm_User user(const char *pk) {
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = pk;
  u.SK = "PROFILE";
  return u;
}

static void contract_p0(void **state) {
  (void)state;
  /* 01 crud basic */
  tm_User u = user("USER#1"), got;
  const char *tags[] = {"a", "b"};
  u.emailHash = "hash_abc";
  u.nickname = "Al";
  u.has_tags = true;
  u.tags.items = tags;
  u.tags.count = 2;
  MD_OK(C, dorm_model_put(C, &tm_User_desc, &u, true, NULL, &A));
  tm_User dup = user("USER#1");
  dup.emailHash = "hash_abc";
  dorm_status st = dorm_model_put(C, &tm_User_desc, &dup, true, NULL, &A);
  assert_string_equal(dorm_status_dynamorm_name(st), "ErrConditionFailed");
  tm_User key = user("USER#1");
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &key, NULL, &A, &got));
  assert_string_equal(got.emailHash, "hash_abc");
  assert_string_equal(got.nickname, "Al");
  assert_int_equal(got.tags.count, 2);
  assert_true(got.createdAt != 0 && got.updatedAt != 0);
  assert_int_equal(got.version, 0);
  tm_User upd = user("USER#1");
  upd.nickname = "Alice";
  upd.version = 0;
  uint32_t nick[] = {TM_U_nickname};
  MD_OK(C, dorm_model_update_fields(C, &tm_User_desc, &upd, nick, 1, NULL, &A));
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &key, NULL, &A, &got));
  assert_string_equal(got.nickname, "Alice");
  assert_int_equal(got.version, 1);
  MD_OK(C, dorm_model_delete(C, &tm_User_desc, &key, NULL, &A));
  st = dorm_model_get(C, &tm_User_desc, &key, NULL, &A, &got);
  assert_string_equal(dorm_status_dynamorm_name(st), "ErrItemNotFound");

  /* 02 omitempty */
  tm_User e = user("USER#2");
  e.nickname = "";
  e.has_tags = true;
  e.has_ttl = true;
  e.ttl = 0;
  MD_OK(C, dorm_model_put(C, &tm_User_desc, &e, true, NULL, &A));
  dorm_av raw;
  assert_true(md_raw_item(C, tm_users_table, "PK", "USER#2", "SK", "PROFILE", &A, &raw));
  assert_null(dorm_av_map_get(&raw, "nickname"));
  assert_null(dorm_av_map_get(&raw, "tags"));
  assert_null(dorm_av_map_get(&raw, "ttl"));
  assert_non_null(dorm_av_map_get(&raw, "createdAt"));
  assert_non_null(dorm_av_map_get(&raw, "updatedAt"));
  assert_non_null(dorm_av_map_get(&raw, "version"));

  /* 03 lifecycle created/updated */
  tm_User l = user("USER#3");
  l.nickname = "v0";
  MD_OK(C, dorm_model_put(C, &tm_User_desc, &l, true, NULL, &A));
  tm_User k3 = user("USER#3"), g0, g1;
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &k3, NULL, &A, &g0));
  struct timespec ms25 = {0, 25000000};
  nanosleep(&ms25, NULL);
  tm_User l1 = user("USER#3");
  l1.nickname = "v1";
  l1.version = 0;
  MD_OK(C, dorm_model_update_fields(C, &tm_User_desc, &l1, nick, 1, NULL, &A));
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &k3, NULL, &A, &g1));
  assert_true(g1.createdAt == g0.createdAt);
  assert_true(g1.updatedAt != g0.updatedAt);
  assert_int_equal(g1.version, 1);

  /* 04 version optimistic lock */
  tm_User v = user("USER#4");
  v.nickname = "v0";
  MD_OK(C, dorm_model_put(C, &tm_User_desc, &v, true, NULL, &A));
  tm_User v1 = user("USER#4");
  v1.nickname = "v1";
  MD_OK(C, dorm_model_update_fields(C, &tm_User_desc, &v1, nick, 1, NULL, &A));
  tm_User stale = user("USER#4");
  stale.nickname = "stale";
  st = dorm_model_update_fields(C, &tm_User_desc, &stale, nick, 1, NULL, &A);
  assert_string_equal(dorm_status_dynamorm_name(st), "ErrConditionFailed");
  tm_User k4 = user("USER#4");
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &k4, NULL, &A, &got));
  assert_string_equal(got.nickname, "v1");
  assert_int_equal(got.version, 1);

  /* 05 ttl epoch seconds */
  tm_User t = user("USER#5");
  t.has_ttl = true;
  t.ttl = 1700000000;
  MD_OK(C, dorm_model_put(C, &tm_User_desc, &t, true, NULL, &A));
  assert_true(md_raw_item(C, tm_users_table, "PK", "USER#5", "SK", "PROFILE", &A, &raw));
  assert_int_equal(dorm_av_map_get(&raw, "ttl")->type, DORM_AV_N);
  assert_string_equal(dorm_av_map_get(&raw, "ttl")->u.s.ptr, "1700000000");
  /* times are the fixed-width format DynamORM reads */
  assert_int_equal(dorm_av_map_get(&raw, "createdAt")->u.s.len, 30);

  /* an item written the way DynamORM (Go) writes it reads back */
  dorm_av item;
  char err[256];
  const char *go =
      "{\"PK\":{\"S\":\"USER#6\"},\"SK\":{\"S\":\"PROFILE\"},\"nickname\":{\"S\":\"go\"},"
      "\"tags\":{\"L\":[{\"S\":\"x\"}]},\"createdAt\":{\"S\":\"2024-05-17T11:31:22.5+02:00\"},"
      "\"updatedAt\":{\"S\":\"2024-05-17T09:31:22Z\"},\"version\":{\"N\":\"3\"},\"ttl\":{\"NULL\":true}}";
  assert_int_equal(dorm_item_from_json(go, strlen(go), &A, &item, err, sizeof err), DORM_OK);
  dorm_put_input pin;
  memset(&pin, 0, sizeof pin);
  pin.table = tm_users_table;
  pin.item = &item;
  MD_OK(C, dorm_put_item(C, &pin, &A, NULL));
  tm_User k6 = user("USER#6");
  MD_OK(C, dorm_model_get(C, &tm_User_desc, &k6, NULL, &A, &got));
  assert_string_equal(got.nickname, "go");
  assert_int_equal(got.tags.count, 1);
  assert_false(got.has_ttl);
  assert_int_equal(got.version, 3);
}

/* update_fields with the caller's condition (built on their builder). */
static void update_fields_condition(void **state) {
  (void)state;
  tm_Order o = new_order("c-uf", "o1", TM_STATUS_PENDING);
  MD_OK(C, dorm_model_put(C, &tm_Order_desc, &o, true, NULL, &A));
  dorm_expr x;
  dorm_expr_init(&x, &A);
  tm_OrderStatus paid = TM_STATUS_PAID;
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.expr = &x;
  wo.condition = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_EQ, &paid);
  o.note = "first";
  uint32_t fields[] = {TM_O_note};
  MD_EXPECT(C, dorm_model_update_fields(C, &tm_Order_desc, &o, fields, 1, &wo, &A), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(o.version, 0);
  dorm_expr_init(&x, &A);
  tm_OrderStatus pending = TM_STATUS_PENDING;
  wo.condition = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_EQ, &pending);
  MD_OK(C, dorm_model_update_fields(C, &tm_Order_desc, &o, fields, 1, &wo, &A));
  assert_int_equal(o.version, 1);
  tm_Order key = order_key("c-uf", "o1"), got;
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &got));
  assert_string_equal(got.note, "first");
  assert_int_equal(got.version, 1);
}

/* ---- writes without an arena ---- */

/* The operations that hand nothing back take a NULL arena (a scratch one
 * holds the request's builder and items; the ASan run checks it is freed);
 * whatever fills a struct refuses one before sending anything. */
static void writes_without_an_arena(void **state) {
  (void)state;
  dorm_av raw;
  char pk[64];
  snprintf(pk, sizeof pk, "CUSTOMER#%s", "c-noarena");
  tm_Order o = new_order("c-noarena", "o1", TM_STATUS_PENDING), key = order_key("c-noarena", "o1"), got;
  /* create: its condition's builder needs memory */
  MD_OK(C, dorm_model_put(C, &tm_Order_desc, &o, true, NULL, NULL));
  assert_true(md_raw_item(C, tm_shop_table, "PK", pk, "SK", "ORDER#o1", &A, &raw));
  assert_string_equal(dorm_av_map_get(&raw, "status")->u.s.ptr, "pending");
  tm_Order again = new_order("c-noarena", "o1", TM_STATUS_PAID);
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &again, true, NULL, NULL), DORM_ERR_CONDITION_FAILED);
  /* put, update_fields (version checked and bumped), update_exec without new_out */
  o.note = "plain put";
  MD_OK(C, dorm_model_put(C, &tm_Order_desc, &o, false, NULL, NULL));
  o.status = TM_STATUS_PAID;
  uint32_t fields[] = {TM_O_status};
  MD_OK(C, dorm_model_update_fields(C, &tm_Order_desc, &o, fields, 1, NULL, NULL));
  assert_int_equal(o.version, 1);
  dorm_model_update u;
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  const char *note = "from exec";
  assert_int_equal(dorm_model_update_set(&u, TM_O_note, &note), DORM_OK);
  MD_OK(C, dorm_model_update_exec(C, &tm_Order_desc, &key, &u, NULL, NULL, NULL));
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &got));
  assert_int_equal(got.status, TM_STATUS_PAID);
  assert_string_equal(got.note, "from exec");
  assert_int_equal(got.version, 2);
  /* results need the caller's arena: refused before anything is sent */
  uint64_t sent = md_requests(C);
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  assert_int_equal(dorm_model_update_set(&u, TM_O_note, &note), DORM_OK);
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.return_new = true;
  MD_EXPECT(C, dorm_model_update_exec(C, &tm_Order_desc, &key, &u, &uo, NULL, &got), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "UpdateItem: new_out needs an arena to be filled in");
  tm_Order old;
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.old_out = &old;
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &o, true, &wo, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "PutItem: old_out needs an arena to be filled in");
  MD_EXPECT(C, dorm_model_delete(C, &tm_Order_desc, &key, &wo, NULL), DORM_ERR_INVALID_ARGUMENT);
  MD_EXPECT(C, dorm_model_update_fields(C, &tm_Order_desc, &o, fields, 1, &wo, NULL), DORM_ERR_INVALID_ARGUMENT);
  MD_EXPECT(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, NULL, &got), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "GetItem: Order: an arena and an output struct are required");
  bool found[3];
  tm_Order keys[3] = {order_key("c-noarena", "b1"), order_key("c-noarena", "b2"), order_key("c-noarena", "b3")};
  tm_Order outs[3];
  MD_EXPECT(C, dorm_model_batch_get(C, &tm_Order_desc, keys, 3, false, NULL, outs, found), DORM_ERR_INVALID_ARGUMENT);
  assert_true(md_requests(C) == sent);
  /* delete with the version lock */
  memset(&wo, 0, sizeof wo);
  wo.check_version = true;
  wo.expected_version = 2;
  MD_OK(C, dorm_model_delete(C, &tm_Order_desc, &key, &wo, NULL));
  assert_false(md_raw_item(C, tm_shop_table, "PK", pk, "SK", "ORDER#o1", &A, &raw));
  /* batches */
  tm_Order batch[3] = {new_order("c-noarena", "b1", TM_STATUS_PENDING), new_order("c-noarena", "b2", TM_STATUS_PAID),
                       new_order("c-noarena", "b3", TM_STATUS_SHIPPED)};
  MD_OK(C, dorm_model_batch_put(C, &tm_Order_desc, batch, 3, NULL));
  assert_true(batch[2].createdAt != 0); /* the lifecycle was applied and written back */
  MD_OK(C, dorm_model_batch_get(C, &tm_Order_desc, keys, 3, true, &A, outs, found));
  assert_true(found[0] && found[1] && found[2]);
  assert_int_equal(outs[2].status, TM_STATUS_SHIPPED);
  MD_OK(C, dorm_model_batch_delete(C, &tm_Order_desc, keys, 3, NULL));
  MD_OK(C, dorm_model_batch_get(C, &tm_Order_desc, keys, 3, true, &A, outs, found));
  assert_true(!found[0] && !found[1] && !found[2]);
}

/* ---- caught before sending ---- */

static void errors_before_sending(void **state) {
  (void)state;
  uint64_t sent = md_requests(C);
  tm_Order o = new_order("c-err", "o1", TM_STATUS_PENDING);
  o.total.currency = NULL;
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &o, false, NULL, &A), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "PutItem: Order.total.currency: required (NULL)");
  o.total.currency = "EUR";
  o.status = 0;
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &o, false, NULL, &A), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(C), "Order.status"));
  assert_true(o.createdAt == 0); /* lifecycle undone */
  tm_Order key = order_key("c-err", NULL);
  tm_Order out;
  MD_EXPECT(C, dorm_model_get(C, &tm_Order_desc, &key, NULL, &A, &out), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "GetItem: Order.orderId: required (NULL)");
  tm_Order pk = order_key("c-err", NULL);
  dorm_query_opts qo;
  memset(&qo, 0, sizeof qo);
  qo.consistent_read = true;
  dorm_model_page page;
  MD_EXPECT(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_STATUS, &pk, NULL, &qo, &A, &page), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(C), "consistent reads are not supported on global secondary indexes"));
  /* an item over 400 KB */
  static char big[410000];
  memset(big, 'x', sizeof big - 1);
  tm_User u = user("USER#big");
  u.nickname = big;
  MD_EXPECT(C, dorm_model_put(C, &tm_User_desc, &u, false, NULL, &A), DORM_ERR_TOO_LARGE);
  assert_non_null(strstr(dorm_client_errmsg(C), "DynamoDB stores at most 409600 bytes"));
  assert_true(md_requests(C) == sent);
  /* a condition without its builder */
  dorm_expr x;
  dorm_expr_init(&x, &A);
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.condition = dorm_model_cond_exists(&x, &tm_Order_desc, TM_O_note);
  o.status = TM_STATUS_PAID;
  MD_EXPECT(C, dorm_model_put(C, &tm_Order_desc, &o, false, &wo, &A), DORM_ERR_INVALID_ARGUMENT);
  assert_true(md_requests(C) == sent);
  /* one key twice in a batch put (in one request DynamoDB refuses it all;
   * in two sent at once, which item wins is not defined): refused, nothing
   * sent, every item's lifecycle undone; also 30 items apart */
  tm_Order dup[32];
  for (size_t i = 0; i < 32; i++) {
    char id[16];
    snprintf(id, sizeof id, "d%zu", i);
    dup[i] = new_order("c-dup", dorm_arena_strdup(&A, id), TM_STATUS_PENDING);
  }
  dup[31].orderId = "d1";
  MD_EXPECT(C, dorm_model_batch_put(C, &tm_Order_desc, dup, 32, &A), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(C), "items 1 and 31 have the same key"));
  assert_true(md_requests(C) == sent);
  for (size_t i = 0; i < 32; i++) assert_true(dup[i].createdAt == 0);
  dup[31].orderId = "d31";
  MD_OK(C, dorm_model_batch_put(C, &tm_Order_desc, dup, 32, &A));
  assert_true(dup[31].createdAt != 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(kitchen_round_trip, reset),
      cmocka_unit_test_setup(kitchen_projection, reset),
      cmocka_unit_test_setup(order_lifecycle, reset),
      cmocka_unit_test_setup(index_keys_follow_updates, reset),
      cmocka_unit_test_setup(update_fields_condition, reset),
      cmocka_unit_test_setup(contract_p0, reset),
      cmocka_unit_test_setup(writes_without_an_arena, reset),
      cmocka_unit_test_setup(errors_before_sending, reset),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
