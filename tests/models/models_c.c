/* The generated API used from C11 (-pedantic): enums, items to and from
 * structs, key templates, typed conditions and updates. No network: the
 * DynamoDB round trips are in tests/models/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "contract_models.h"
#include "shop_models.h"

static const char *s_attr(const dorm_av *item, const char *name) {
  const dorm_av *v = dorm_av_map_get(item, name);
  return v && v->type == DORM_AV_S ? v->u.s.ptr : NULL;
}

static void enums_to_and_from_strings(void **state) {
  (void)state;
  assert_string_equal(shop_OrderStatus_to_string(SHOP_ORDER_STATUS_SHIPPED), "SHIPPED");
  assert_null(shop_OrderStatus_to_string((shop_OrderStatus)0));
  shop_OrderStatus st;
  assert_true(shop_OrderStatus_from_string("paid", 4, &st));
  assert_int_equal(st, SHOP_ORDER_STATUS_PAID);
  assert_false(shop_OrderStatus_from_string("PAID", 4, &st));
}

static shop_Order sample_order(void) {
  static const char *tags[] = {"gift", "rush"};
  shop_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = "c1";
  o.orderId = "o1";
  o.status = SHOP_ORDER_STATUS_PAID;
  o.total.amount = "12.50";
  o.total.currency = "EUR";
  o.tags.items = tags;
  o.tags.count = 2;
  o.note = "leave at the door";
  o.createdAt = INT64_C(1764077924123456789);
  o.updatedAt = INT64_C(1764077924123456789);
  o.version = 3;
  return o;
}

static void item_has_fields_keys_and_type(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  shop_Order o = sample_order();
  dorm_av item;
  char err[256];
  assert_int_equal(shop_Order_to_item(&o, &a, &item, err, sizeof err), DORM_OK);
  assert_string_equal(s_attr(&item, "PK"), "CUSTOMER#c1");
  assert_string_equal(s_attr(&item, "SK"), "ORDER#o1");
  assert_string_equal(s_attr(&item, "GSI1PK"), "STATUS#paid");
  assert_string_equal(s_attr(&item, "GSI1SK"), "2025-11-25T13:38:44.123456789Z");
  assert_string_equal(s_attr(&item, "_type"), "Order");
  assert_string_equal(s_attr(&item, "customer_note"), "leave at the door");
  assert_null(dorm_av_map_get(&item, "note"));
  assert_null(dorm_av_map_get(&item, "shipTo"));    /* optional, absent */
  assert_null(dorm_av_map_get(&item, "expiresAt")); /* optional, absent */
  assert_true(shop_Order_is(&item));
  assert_false(shop_Customer_is(&item));

  shop_Order back;
  assert_int_equal(shop_Order_from_item(&item, 0, &a, &back, err, sizeof err), DORM_OK);
  assert_string_equal(back.customerId, "c1");
  assert_int_equal(back.status, SHOP_ORDER_STATUS_PAID);
  assert_string_equal(back.total.amount, "12.50");
  assert_int_equal(back.tags.count, 2);
  assert_int_equal(back.createdAt, o.createdAt);
  assert_int_equal(back.version, 3);
  assert_false(back.has_shipTo);
  dorm_arena_free(&a);
}

static void missing_required_field_is_named(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  shop_Order o = sample_order();
  o.total.currency = NULL;
  dorm_av item;
  char err[256] = "";
  assert_int_equal(shop_Order_to_item(&o, &a, &item, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "currency"));
  dorm_arena_free(&a);
}

static void snake_case_model_and_owned_tables(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  shop_LineItem li;
  memset(&li, 0, sizeof li);
  li.orderId = "o1";
  li.lineNo = 7;
  li.sku = "SKU-1";
  li.quantity = 2;
  li.unitPrice = "3.99";
  dorm_av item;
  char err[256];
  assert_int_equal(shop_LineItem_to_item(&li, &a, &item, err, sizeof err), DORM_OK);
  assert_string_equal(s_attr(&item, "SK"), "ITEM#7");
  assert_non_null(dorm_av_map_get(&item, "unit_price"));
  assert_non_null(dorm_av_map_get(&item, "line_no"));

  dynamorm_contract_User u;
  memset(&u, 0, sizeof u);
  u.PK = "USER#1";
  u.SK = "PROFILE";
  u.nickname = "";
  assert_int_equal(dynamorm_contract_User_to_item(&u, &a, &item, err, sizeof err), DORM_OK);
  assert_string_equal(s_attr(&item, "PK"), "USER#1");
  assert_null(dorm_av_map_get(&item, "nickname")); /* @omit_empty */
  assert_null(dorm_av_map_get(&item, "_type"));
  dorm_arena_free(&a);
}

static void typed_conditions_build_expressions(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  static const shop_OrderStatus open[] = {SHOP_ORDER_STATUS_PENDING, SHOP_ORDER_STATUS_PAID};
  dorm_cond *c = dorm_cond_and(&x, shop_Order_cond_status_in(&x, open, 2),
                               shop_Order_cond_note_begins_with(&x, "leave"));
  assert_int_equal(dorm_expr_filter(&x, c), DORM_OK);
  assert_string_equal(x.filter, "#n0 IN (:v0, :v1) AND begins_with(#n1, :v2)");
  assert_int_equal((int)x.values[1].type, DORM_AV_S);
  assert_string_equal(x.values[1].u.s.ptr, "paid");
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(enums_to_and_from_strings),
      cmocka_unit_test(item_has_fields_keys_and_type),
      cmocka_unit_test(missing_required_field_is_named),
      cmocka_unit_test(snake_case_model_and_owned_tables),
      cmocka_unit_test(typed_conditions_build_expressions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
