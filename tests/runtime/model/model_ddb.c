/* Helpers of the model layer's DynamoDB Local tests (model_ddb.h). */
#include "model_ddb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/ops.h"
#include "dorm/tables.h"
#include "test_support.h"

static void create(dorm_client *c, const dorm_table_def *def) {
  if (dorm_create_table(c, def, NULL, NULL) != DORM_OK) fail_msg("CreateTable %s: %s", def->name, dorm_client_errmsg(c));
  if (dorm_wait_table_active(c, def->name, 60000, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(c));
}

void md_create_tables(dorm_client *c) {
  ts_unique_name(tm_shop_table, sizeof tm_shop_table, "model_shop");
  ts_unique_name(tm_kitchen_table, sizeof tm_kitchen_table, "model_kitchen");
  ts_unique_name(tm_users_table, sizeof tm_users_table, "model_users");

  dorm_gsi_def shop_gsis[2];
  memset(shop_gsis, 0, sizeof shop_gsis);
  shop_gsis[0].name = "gsi-status";
  shop_gsis[0].pk = (dorm_key_attr){"GSI1PK", DORM_KEY_S};
  shop_gsis[0].sk = (dorm_key_attr){"GSI1SK", DORM_KEY_S};
  shop_gsis[1].name = "gsi-email";
  shop_gsis[1].pk = (dorm_key_attr){"GSI2PK", DORM_KEY_S};
  shop_gsis[1].projection.type = DORM_PROJECT_KEYS_ONLY;
  dorm_table_def shop;
  memset(&shop, 0, sizeof shop);
  shop.name = tm_shop_table;
  shop.pk = (dorm_key_attr){"PK", DORM_KEY_S};
  shop.sk = (dorm_key_attr){"SK", DORM_KEY_S};
  shop.gsis = shop_gsis;
  shop.gsi_count = 2;
  shop.stream = DORM_STREAM_NEW_AND_OLD_IMAGES;
  create(c, &shop);

  dorm_gsi_def kitchen_gsi;
  memset(&kitchen_gsi, 0, sizeof kitchen_gsi);
  kitchen_gsi.name = "by-name";
  kitchen_gsi.pk = (dorm_key_attr){"GSI1PK", DORM_KEY_S};
  kitchen_gsi.sk = (dorm_key_attr){"GSI1SK", DORM_KEY_S};
  dorm_table_def kitchen;
  memset(&kitchen, 0, sizeof kitchen);
  kitchen.name = tm_kitchen_table;
  kitchen.pk = (dorm_key_attr){"id", DORM_KEY_S};
  kitchen.gsis = &kitchen_gsi;
  kitchen.gsi_count = 1;
  create(c, &kitchen);

  dorm_gsi_def users_gsi;
  memset(&users_gsi, 0, sizeof users_gsi);
  users_gsi.name = "gsi-email";
  users_gsi.pk = (dorm_key_attr){"emailHash", DORM_KEY_S};
  dorm_table_def users;
  memset(&users, 0, sizeof users);
  users.name = tm_users_table;
  users.pk = (dorm_key_attr){"PK", DORM_KEY_S};
  users.sk = (dorm_key_attr){"SK", DORM_KEY_S};
  users.gsis = &users_gsi;
  users.gsi_count = 1;
  create(c, &users);
}

void md_drop_tables(dorm_client *c) {
  const char *names[] = {tm_shop_table, tm_kitchen_table, tm_users_table};
  for (size_t i = 0; i < 3; i++) dorm_delete_table(c, names[i], NULL, NULL);
}

bool md_raw_item(dorm_client *c, const char *table, const char *k1, const char *v1, const char *k2, const char *v2,
                 dorm_arena *a, dorm_av *item) {
  dorm_av key = dorm_av_empty(DORM_AV_M);
  assert_int_equal(dorm_av_map_set(a, &key, k1, dorm_av_str(v1)), DORM_OK);
  if (k2) assert_int_equal(dorm_av_map_set(a, &key, k2, dorm_av_str(v2)), DORM_OK);
  dorm_get_input in;
  memset(&in, 0, sizeof in);
  in.table = table;
  in.key = &key;
  in.consistent_read = true;
  dorm_status st = dorm_get_item(c, &in, a, item);
  if (st == DORM_ERR_NOT_FOUND) return false;
  if (st != DORM_OK) fail_msg("GetItem: %s", dorm_client_errmsg(c));
  return true;
}

uint64_t md_requests(dorm_client *c) {
  dorm_client_stats s;
  dorm_client_get_stats(c, &s);
  return s.attempts;
}
