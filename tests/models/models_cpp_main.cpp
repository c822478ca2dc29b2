// The generated headers used from C++ (-pedantic): types, enums, and the
// inline typed helpers compile and behave as in C.
#include <cstdio>
#include <cstring>

#include "contract_models.h"
#include "shop_models.h"

int main() {
  shop_Order o;
  std::memset(&o, 0, sizeof o);
  o.customerId = "c1";
  o.orderId = "o1";
  o.status = SHOP_ORDER_STATUS_SHIPPED;
  o.total.amount = "1";
  o.total.currency = "EUR";
  if (std::strcmp(shop_OrderStatus_to_string(o.status), "SHIPPED") != 0) return 1;

  dorm_arena a = DORM_ARENA_INIT;
  dorm_av item;
  char err[256];
  if (shop_Order_to_item(&o, &a, &item, err, sizeof err) != DORM_OK) {
    std::fprintf(stderr, "to_item: %s\n", err);
    return 1;
  }
  const dorm_av *pk = dorm_av_map_get(&item, "GSI1PK");
  if (!pk || std::strncmp(pk->u.s.ptr, "STATUS#SHIPPED", pk->u.s.len) != 0) return 1;

  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_cond *c = shop_Order_cond_status(&x, DORM_EQ, SHOP_ORDER_STATUS_PAID);
  if (dorm_expr_filter(&x, c) != DORM_OK || std::strcmp(x.filter, "#n0 = :v0") != 0) return 1;

  dorm_model_update u;
  shop_Order_update_begin(&u, &a);
  if (shop_Order_set_note(&u, "hello") != DORM_OK) return 1;
  dynamorm_contract_User user;
  std::memset(&user, 0, sizeof user);
  (void)user;
  dorm_arena_free(&a);
  std::puts("ok");
  return 0;
}
