/* shop-demo: a customer, their orders, and the access patterns of the
 * single-table shop (schemas/shop.dorm), through the generated API.
 *
 *   shop-demo [--endpoint URL] [--region R]
 *
 * Without --endpoint the AWS configuration of the environment is used
 * (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, credentials...). The table is
 * created if it does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shop_models.h"

static int fail(dorm_client *c, const char *what, dorm_status st) {
  fprintf(stderr, "shop-demo: %s: %s (%s)\n", what, dorm_strerror(st), c ? dorm_client_errmsg(c) : "");
  return 1;
}

static void print_order(const shop_Order *o) {
  char when[32];
  dorm_time_format(o->createdAt, when);
  printf("  %-10s %-10s %8s %s  v%lld  %s\n", o->orderId, shop_OrderStatus_to_string(o->status), o->total.amount,
         o->total.currency, (long long)o->version, when);
}

/* One page of a query (shop_Order_query_each calls it for every page). */
static dorm_status print_page(void *user, const shop_Order *items, size_t count) {
  printf(" page %d:\n", ++*(int *)user);
  for (size_t i = 0; i < count; i++) print_order(&items[i]);
  return DORM_OK;
}

int main(int argc, char **argv) {
  dorm_config cfg = DORM_CONFIG_INIT;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) {
      cfg.endpoint = argv[++i];
    } else if (strcmp(argv[i], "--region") == 0 && i + 1 < argc) {
      cfg.region = argv[++i];
    } else {
      fprintf(stderr, "usage: shop-demo [--endpoint URL] [--region REGION]\n");
      return 2;
    }
  }
  if (cfg.endpoint && !getenv("AWS_REGION") && !cfg.region) cfg.region = "us-east-1";
  if (cfg.endpoint && !getenv("AWS_ACCESS_KEY_ID")) {
    /* DynamoDB Local accepts any signed request. */
    cfg.access_key_id = "local";
    cfg.secret_access_key = "local";
  }
  dorm_client *c;
  char err[512];
  dorm_status st = dorm_client_new(&cfg, &c, err, sizeof err);
  if (st != DORM_OK) {
    fprintf(stderr, "shop-demo: %s\n", err);
    return 1;
  }
  dorm_arena a = DORM_ARENA_INIT;
  int rc = 1;

  printf("table %s at %s\n", shop_Shop_table.def.name, dorm_client_endpoint(c));
  if ((st = shop_Shop_table_ensure(c, 60000)) != DORM_OK) goto out_fail_table;

  /* A customer, unique per run so the demo can run again on the same table. */
  char cust_id[32], email[64];
  snprintf(cust_id, sizeof cust_id, "c%lld", (long long)(dorm_time_now() / 1000000));
  snprintf(email, sizeof email, "ada+%s@example.com", cust_id);
  shop_Customer ada = {.customerId = cust_id, .email = email, .name = "Ada Lovelace", .tier = SHOP_TIER_GOLD};
  if ((st = shop_Customer_create(c, &ada, NULL, &a)) != DORM_OK) {
    rc = fail(c, "create customer", st);
    goto out;
  }
  printf("customer %s created (version %lld)\n", ada.customerId, (long long)ada.version);
  if (shop_Customer_create(c, &ada, NULL, &a) == DORM_ERR_CONDITION_FAILED)
    printf("creating it again: refused, it exists (condition failed)\n");

  /* Five orders; the first is a gift shipped to Ada's home (a set from a
   * static array, an optional struct set in the initializer). */
  static const char *const amounts[] = {"19.99", "5.00", "120.50", "42.00", "7.25"};
  static const char *const gift[] = {"gift"};
  shop_Address home = {.street = "12 St James's Square", .city = "London", .country = "GB"};
  char order_ids[5][16];
  for (int i = 0; i < 5; i++) {
    snprintf(order_ids[i], sizeof order_ids[i], "o%d", i + 1);
    shop_Order o = {.customerId = cust_id,
                    .orderId = order_ids[i],
                    .status = i < 3 ? SHOP_ORDER_STATUS_PENDING : SHOP_ORDER_STATUS_PAID,
                    .total = {.amount = amounts[i], .currency = "EUR"}};
    if (i == 0) o = (shop_Order){.customerId = cust_id, .orderId = order_ids[0], .status = SHOP_ORDER_STATUS_PENDING,
                                 .total = {.amount = amounts[0], .currency = "EUR"}, .tags = DORM_ARRAY(gift),
                                 DORM_SOME(shipTo, home)};
    if ((st = shop_Order_create(c, &o, NULL, &a)) != DORM_OK) {
      rc = fail(c, "create order", st);
      goto out;
    }
  }
  printf("5 orders created\n");

  /* The customer's orders, two per page: every page to print_page. */
  printf("orders of %s, 2 per page:\n", cust_id);
  dorm_query_opts q = {.limit = 2};
  int page_no = 0;
  if ((st = shop_Order_query_each(c, cust_id, NULL, &q, print_page, &page_no)) != DORM_OK) {
    rc = fail(c, "query orders", st);
    goto out;
  }

  /* Orders by status through the GSI, newest first, this customer's only. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  q = (dorm_query_opts){.expr = &x, .filter = shop_Order_cond_customerId(&x, DORM_EQ, cust_id), .descending = true};
  shop_Order_page paid;
  if ((st = shop_Order_query_by_status(c, SHOP_ORDER_STATUS_PAID, NULL, &q, &a, &paid)) != DORM_OK) {
    rc = fail(c, "query by status", st);
    goto out;
  }
  printf("paid orders (gsi-status, newest first): %zu\n", paid.count);
  for (size_t i = 0; i < paid.count; i++) print_order(&paid.items[i]);

  /* Pay o1 with optimistic locking: _update_object requires the version
   * the object was read with and gives back the new item; a second writer
   * holding the same stale version fails. */
  shop_Order_key k1 = {cust_id, "o1"};
  shop_Order o1;
  if ((st = shop_Order_get(c, &k1, NULL, &a, &o1)) != DORM_OK) {
    rc = fail(c, "get o1", st);
    goto out;
  }
  shop_Order stale = o1;
  dorm_model_update u;
  shop_Order_update_begin(&u, &a);
  shop_Order_set_status(&u, SHOP_ORDER_STATUS_PAID);
  if ((st = shop_Order_update_object(c, &o1, &u, &a)) != DORM_OK) {
    rc = fail(c, "pay o1", st);
    goto out;
  }
  printf("paid o1: version %lld -> %lld\n", (long long)stale.version, (long long)o1.version);
  shop_Order_update_begin(&u, &a);
  shop_Order_set_status(&u, SHOP_ORDER_STATUS_SHIPPED);
  st = shop_Order_update_object(c, &stale, &u, &a);
  printf("a stale writer (version %lld) ships o1: %s\n", (long long)stale.version,
         st == DORM_ERR_CONDITION_FAILED ? "refused (condition failed)" : dorm_strerror(st));
  if (st != DORM_ERR_CONDITION_FAILED) goto out;

  /* Cancel o2 in a transaction: only if the customer still exists. */
  dorm_tx tx;
  dorm_tx_init(&tx, &a);
  shop_Order_key k2 = {cust_id, "o2"};
  shop_Order_update_begin(&u, &a);
  shop_Order_set_status(&u, SHOP_ORDER_STATUS_CANCELLED);
  int cancel = shop_Order_tx_update(&tx, &k2, &u, NULL);
  dorm_expr cx;
  dorm_expr_init(&cx, &a);
  dorm_write_opts check = {.expr = &cx, .condition = shop_Customer_cond_customerId_exists(&cx)};
  int exists = shop_Customer_tx_check(&tx, &(shop_Customer_key){cust_id}, &check);
  size_t failed;
  if ((st = dorm_tx_commit(c, &tx, &failed)) != DORM_OK) {
    rc = fail(c, (int)failed == exists ? "cancel o2 (the customer is gone)" : cancel < 0 ? "cancel o2 (not added)"
                                                                                        : "cancel o2", st);
    goto out;
  }
  shop_Order o2;
  if ((st = shop_Order_get(c, &k2, NULL, &a, &o2)) != DORM_OK) {
    rc = fail(c, "get o2", st);
    goto out;
  }
  printf("cancelled o2 in a transaction: status %s\n", shop_OrderStatus_to_string(o2.status));

  uint64_t n = 0;
  if ((st = shop_Order_query_count(c, cust_id, NULL, NULL, &n)) != DORM_OK) {
    rc = fail(c, "count", st);
    goto out;
  }
  printf("%s has %llu orders\n", cust_id, (unsigned long long)n);
  rc = 0;
  goto out;

out_fail_table:
  rc = fail(c, "table", st);
out:
  dorm_arena_free(&a);
  dorm_client_free(c);
  return rc;
}
