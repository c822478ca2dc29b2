/* av_bench: AttributeValue <-> DynamoDB JSON throughput, no network.
 *
 * Builds a ~1.5 KB order-like item (strings, numbers, a map, a list of maps,
 * a string set) and measures, single-threaded:
 *   build+write  build the dorm_av in a reused arena and write it as an Item
 *   write        write a prebuilt dorm_av as an Item (the JSON writer alone)
 *   read         cJSON parse + conversion to dorm_av in a reused arena
 *   convert      the conversion alone (cJSON tree -> dorm_av)
 *   size         dorm_item_size()
 *   expr         an update expression with 6 actions + condition, written as JSON
 * Usage: av_bench [seconds per case, default 1]
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dorm/av.h"
#include "dorm/expr.h"
#include "json_read.h"
#include "json_write.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define PUT(m, k, v) (*dorm_av_map_add(a, (m), (k), sizeof(k) - 1) = (v))

/* The order item; string literals are borrowed, arrays come from the arena. */
static int build_item(dorm_arena *a, dorm_av *item) {
  *item = dorm_av_empty(DORM_AV_M);
  if (dorm_av_reserve(a, item, 24) != DORM_OK) return -1;
  PUT(item, "pk", dorm_av_str("CUSTOMER#000123456"));
  PUT(item, "sk", dorm_av_str("ORDER#2024-05-17T09:31:22.123456789Z#8f3c2a1e"));
  PUT(item, "order_id", dorm_av_str("8f3c2a1e-5b7d-4c61-9a0e-2f4b6d8c1a73"));
  PUT(item, "customer_id", dorm_av_str("000123456"));
  PUT(item, "customer_email", dorm_av_str("ada.lovelace@example.com"));
  PUT(item, "status", dorm_av_str("PAID"));
  PUT(item, "channel", dorm_av_str("web"));
  PUT(item, "currency", dorm_av_str("EUR"));
  PUT(item, "subtotal", dorm_av_num("1189.97"));
  PUT(item, "shipping", dorm_av_num("9.99"));
  PUT(item, "tax", dorm_av_num("249.89"));
  PUT(item, "total", dorm_av_num("1449.85"));
  dorm_av n;
  if (dorm_av_num_i64(a, 4, &n) != DORM_OK) return -1;
  PUT(item, "item_count", n);
  if (dorm_av_num_i64(a, 7, &n) != DORM_OK) return -1;
  PUT(item, "version", n);
  PUT(item, "created_at", dorm_av_str("2024-05-17T09:31:22.123456789Z"));
  PUT(item, "updated_at", dorm_av_str("2024-05-17T09:35:01.987654321Z"));
  if (dorm_av_num_i64(a, 1715938521, &n) != DORM_OK) return -1;
  PUT(item, "paid_at", n);
  if (dorm_av_num_i64(a, 4102444800, &n) != DORM_OK) return -1;
  PUT(item, "ttl", n);
  dorm_av addr = dorm_av_empty(DORM_AV_M);
  if (dorm_av_reserve(a, &addr, 5) != DORM_OK) return -1;
  PUT(&addr, "name", dorm_av_str("Ada Lovelace"));
  PUT(&addr, "line1", dorm_av_str("12 St James's Square"));
  PUT(&addr, "city", dorm_av_str("London"));
  PUT(&addr, "postcode", dorm_av_str("SW1Y 4JH"));
  PUT(&addr, "country", dorm_av_str("GB"));
  PUT(item, "shipping_address", addr);
  static const char *const lines[3][5] = {
      {"SKU-KB-0042", "Mechanical keyboard, ISO layout", "1", "149.99", "0"},
      {"SKU-MON-2710", "27-inch monitor, 2560x1440", "2", "499.5", "10"},
      {"SKU-CBL-0007", "USB-C cable, 2 m", "1", "50.98", "0"}};
  dorm_av list = dorm_av_empty(DORM_AV_L);
  if (dorm_av_reserve(a, &list, 3) != DORM_OK) return -1;
  for (int i = 0; i < 3; i++) {
    dorm_av *line = dorm_av_list_push(a, &list);
    *line = dorm_av_empty(DORM_AV_M);
    if (dorm_av_reserve(a, line, 5) != DORM_OK) return -1;
    PUT(line, "sku", dorm_av_str(lines[i][0]));
    PUT(line, "name", dorm_av_str(lines[i][1]));
    PUT(line, "qty", dorm_av_num(lines[i][2]));
    PUT(line, "unit_price", dorm_av_num(lines[i][3]));
    PUT(line, "discount", dorm_av_num(lines[i][4]));
  }
  PUT(item, "lines", list);
  dorm_av tags = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(a, &tags, "gift", 4);
  dorm_av_set_add(a, &tags, "priority", 8);
  if (dorm_av_set_add(a, &tags, "eu", 2) != DORM_OK) return -1;
  PUT(item, "tags", tags);
  PUT(item, "gift_message", dorm_av_str("Happy birthday! With love from all of us at the Analytical Engine "
                                        "Society; see you at the next meeting."));
  PUT(item, "note", dorm_av_str("Leave the parcel with the concierge if nobody answers; the recipient "
                                "works late on Thursdays."));
  return 0;
}

static void report(const char *name, long iters, double secs, size_t bytes_per_iter) {
  double per_s = (double)iters / secs;
  printf("%-12s %10.0f items/s  %8.1f MB/s  %7.0f ns/item\n", name, per_s,
         per_s * (double)bytes_per_iter / 1e6, 1e9 / per_s);
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "av_bench: %s failed: %s\n", what, msg);
  exit(1);
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 1.0;
  if (budget <= 0) budget = 1.0;
  char err[256] = "";
  dorm_arena arena = DORM_ARENA_INIT;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_av item;
  if (build_item(&arena, &item) != 0) die("build", "out of memory");
  dorm__jw_item(&w, &item, "Item");
  const char *json;
  size_t json_len;
  if (dorm__jw_finish(&w, &json, &json_len) != DORM_OK) die("write", w.err);
  char *body = strdup(json);
  size_t item_size = 0;
  dorm_item_size(&item, &item_size);
  printf("item: %zu bytes of DynamoDB JSON, %zu bytes DynamoDB size, %zu attributes\n", json_len, item_size,
         item.u.map.count);

  /* build+write */
  long iters = 0;
  double t0 = now(), t;
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&arena);
      dorm__jw_reset(&w);
      dorm_av it;
      if (build_item(&arena, &it) != 0) die("build", "out of memory");
      dorm__jw_item(&w, &it, "Item");
      if (dorm__jw_finish(&w, NULL, NULL) != DORM_OK) die("write", w.err);
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  report("build+write", iters, t - t0, json_len);

  /* write only */
  dorm_arena_reset(&arena);
  build_item(&arena, &item);
  iters = 0;
  t0 = now();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm__jw_reset(&w);
      dorm__jw_item(&w, &item, "Item");
      if (dorm__jw_finish(&w, NULL, NULL) != DORM_OK) die("write", w.err);
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  report("write", iters, t - t0, json_len);

  /* read: JSON text -> dorm_av */
  dorm_arena rarena = DORM_ARENA_INIT;
  iters = 0;
  t0 = now();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&rarena);
      cJSON *root;
      dorm_av back;
      if (dorm__json_parse(body, json_len, &root, err, sizeof err) != DORM_OK) die("parse", err);
      if (dorm__json_to_item(root, &rarena, &back, "Item", err, sizeof err) != DORM_OK) die("read", err);
      cJSON_Delete(root);
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  report("read", iters, t - t0, json_len);

  /* convert only: a parsed cJSON tree -> dorm_av (the part of "read" that is ours) */
  cJSON *tree;
  if (dorm__json_parse(body, json_len, &tree, err, sizeof err) != DORM_OK) die("parse", err);
  iters = 0;
  t0 = now();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&rarena);
      dorm_av back;
      if (dorm__json_to_item(tree, &rarena, &back, "Item", err, sizeof err) != DORM_OK) die("read", err);
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  cJSON_Delete(tree);
  report("convert", iters, t - t0, json_len);

  /* size */
  iters = 0;
  size_t sink = 0;
  t0 = now();
  do {
    for (int k = 0; k < 1000; k++) {
      size_t n;
      dorm_item_size(&item, &n);
      sink += n;
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  report("size", iters, t - t0, json_len);

  /* expression: update with condition */
  iters = 0;
  size_t expr_len = 0;
  t0 = now();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&rarena);
      dorm__jw_reset(&w);
      dorm_expr x;
      dorm_expr_init(&x, &rarena);
      dorm_update_set(&x, "status", dorm_av_str("SHIPPED"));
      dorm_update_set(&x, "updated_at", dorm_av_str("2024-05-18T10:00:00Z"));
      dorm_update_increment(&x, "version", dorm_av_num("1"));
      dorm_update_set_if_not_exists(&x, "shipped_at", dorm_av_num("1716026400"));
      dorm_update_remove(&x, "gift_message");
      dorm_update_add(&x, "tags", (dorm_av){.type = DORM_AV_SS, .u.set = {(dorm_str[]){{"shipped", 7}}, 1, 1}});
      dorm_expr_condition(&x, dorm_cond_and(&x, dorm_cond_eq(&x, "version", dorm_av_num("7")),
                                            dorm_cond_exists(&x, "pk")));
      dorm__jw_begin_object(&w);
      dorm__jw_expr(&w, &x);
      dorm__jw_end_object(&w);
      if (dorm__jw_finish(&w, NULL, &expr_len) != DORM_OK) die("expr", w.err);
    }
    iters += 1000;
  } while ((t = now()) - t0 < budget);
  report("expr", iters, t - t0, expr_len);

  if (sink == 0) puts("");
  free(body);
  dorm__jw_free(&w);
  dorm_arena_free(&arena);
  dorm_arena_free(&rarena);
  return 0;
}
