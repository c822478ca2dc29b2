/* gen_put_get: PutItem and GetItem of the benchmark order (bench/item.json,
 * modelled in bench/bench.dorm) through the code `dormc gen` writes, against
 * a DynamoDB endpoint: the figure a user of the generated API gets. Prints,
 * in the peers' format (bench/README.md):
 *
 *   dorm-gen put: 1234 ops/s, client cpu 12.3 us/op, n=5000
 *   libcurl put: 1300 ops/s, client cpu 11.0 us/op, n=5000
 *   dorm-gen/libcurl put: client cpu ratio 1.12, n=5000
 *   dorm-gen get: 1500 ops/s, client cpu 10.1 us/op, n=5000
 *   ...
 *
 * each dorm-gen line beside the same request through bare libcurl
 * (curl_floor.h), timed in alternating blocks, and their ratio.
 *
 * Every put marshals the struct straight into the request (lifecycle
 * fields, key template, validation), signs and sends it; every get reads the
 * item back into a struct in an arena reset per request. client cpu is this
 * process's user + system time per request. A benchmark: it asserts nothing.
 *
 *   gen_put_get --endpoint URL [--n N] [--item PATH (the floor's bodies; the
 *   struct's values are those of bench/item.json, written out below)]
 *
 *   gen_put_get --endpoint URL --batch [--n N]
 * instead writes N items (after N/10 untimed) with the generated batch put,
 * 25 distinct items per call (one BatchWriteItem), and prints
 *   dorm-gen batch-put: 1234 items/s, client cpu 12.3 us/item, n=5000
 * (callgrind: --toggle-collect=gen_batch_put counts one call of 25).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_models.h"

#define BENCH_NAME "gen_put_get"
#include "bench_util.h"
#include "curl_floor.h" /* after bench_util.h */

static bench_BenchOrder the_item(void) {
  static bench_Line lines[3] = {
      {"SKU-KB-0042", "Mechanical keyboard, ISO layout", 1, "149.99", "0"},
      {"SKU-MON-2710", "27-inch monitor, 2560x1440", 2, "499.5", "10"},
      {"SKU-CBL-0007", "USB-C cable, 2 m", 1, "50.98", "0"},
  };
  static const char *tags[] = {"gift", "priority", "eu"};
  bench_BenchOrder o;
  memset(&o, 0, sizeof o);
  o.sk = "ORDER#2024-05-17T09:31:22.123456789Z#8f3c2a1e";
  o.orderId = "8f3c2a1e-5b7d-4c61-9a0e-2f4b6d8c1a73";
  o.customerId = "000123456";
  o.customerEmail = "ada.lovelace@example.com";
  o.status = "PAID";
  o.channel = "web";
  o.currency = "EUR";
  o.subtotal = "1189.97";
  o.shipping = "9.99";
  o.tax = "249.89";
  o.total = "1449.85";
  o.itemCount = 4;
  o.version = 7;
  o.createdAt = INT64_C(1715938282123456789);
  o.has_paidAt = true;
  o.paidAt = 1715938521;
  o.has_ttl = true;
  /* In the future: the schema's @ttl makes ensure() enable TTL, and DynamoDB
   * (Local too) deletes items whose TTL has passed. */
  o.ttl = 4102444800;
  bench_Address ship = {"Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH", "GB"};
  o.shippingAddress = ship;
  o.lines.items = lines;
  o.lines.count = 3;
  o.tags.items = tags;
  o.tags.count = 3;
  o.giftMessage = "Happy birthday! With love from all of us at the Analytical Engine Society; see you at the next "
                  "meeting.";
  o.note = "Leave the parcel with the concierge if nobody answers; the recipient works late on Thursdays.";
  return o;
}

typedef struct gen_bench {
  dorm_client *c;
  bench_BenchOrder *o; /* put takes it mutable: the lifecycle fields are set */
  const bench_BenchOrder_key *key;
  dorm_arena *a;
  bench_BenchOrder *got;
} gen_bench;

/* noinline: one symbol per request kind for callgrind --toggle-collect. */
__attribute__((noinline)) static void gen_put(void *p) {
  gen_bench *g = p;
  if (bench_BenchOrder_put(g->c, g->o, NULL, g->a) != DORM_OK) die("put: %s", dorm_client_errmsg(g->c));
  dorm_arena_reset(g->a);
}

__attribute__((noinline)) static void gen_get(void *p) {
  gen_bench *g = p;
  if (bench_BenchOrder_get(g->c, g->key, NULL, g->a, g->got) != DORM_OK) die("get: %s", dorm_client_errmsg(g->c));
  dorm_arena_reset(g->a);
}

#define BATCH 25

/* 25 copies of the bench item under distinct sort keys, written in one call. */
typedef struct gen_batch {
  dorm_client *c;
  bench_BenchOrder objs[BATCH];
  char sks[BATCH][64];
  dorm_arena *a;
} gen_batch;

__attribute__((noinline)) static void gen_batch_put(gen_batch *g) {
  if (bench_BenchOrder_batch_put(g->c, g->objs, BATCH, g->a) != DORM_OK) die("batch put: %s", dorm_client_errmsg(g->c));
  dorm_arena_reset(g->a);
}

/* --batch: n items in calls of 25, after n/10 untimed. */
static void batch_bench(dorm_client *c, long n) {
  dorm_arena a = DORM_ARENA_INIT;
  static gen_batch g;
  g.c = c;
  g.a = &a;
  for (int i = 0; i < BATCH; i++) {
    g.objs[i] = the_item();
    snprintf(g.sks[i], sizeof g.sks[i], "ORDER#2024-05-17T09:31:22.123456789Z#batch%02d", i);
    g.objs[i].sk = g.sks[i];
  }
  for (long i = 0; i < n / 10; i += BATCH) gen_batch_put(&g);
  double t0 = now_s(), c0 = cpu_s();
  long done = 0;
  for (; done < n; done += BATCH) gen_batch_put(&g);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  printf("dorm-gen batch-put: %.0f items/s, client cpu %.1f us/item, n=%ld\n", done / wall, cpu / done * 1e6, done);
  dorm_arena_free(&a);
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("DORM_TEST_ENDPOINT");
  long n = 5000;
  const char *item_path = DORM_BENCH_ITEM;
  bool batch = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc) endpoint = argv[++i];
    else if (strcmp(argv[i], "--batch") == 0) batch = true;
    else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) n = atol(argv[++i]);
    else if (strcmp(argv[i], "--item") == 0 && i + 1 < argc) item_path = argv[++i];
    else {
      fprintf(stderr, "usage: gen_put_get --endpoint URL [--n N] [--item FILE] [--batch]\n");
      return 2;
    }
  }
  if (!endpoint || n <= 0) {
    fprintf(stderr, "gen_put_get: --endpoint URL (or DORM_TEST_ENDPOINT) and a positive --n are required\n");
    return 2;
  }
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "bench";
  cfg.secret_access_key = "bench";
  dorm_client *c;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) {
    fprintf(stderr, "gen_put_get: %s\n", err);
    return 1;
  }
  dorm_status st = bench_BenchOrder_table_ensure(c, 60000);
  if (st != DORM_OK) {
    fprintf(stderr, "gen_put_get: %s\n", dorm_client_errmsg(c));
    return 1;
  }
  if (batch) {
    batch_bench(c, n);
    dorm_client_free(c);
    return 0;
  }
  bench_BenchOrder o = the_item();
  bench_BenchOrder_key key = {o.customerId, o.sk};
  dorm_arena a = DORM_ARENA_INIT;
  bench_BenchOrder got;
  long warm = n / 10 + 50;
  for (long i = 0; i < warm; i++) {
    if ((st = bench_BenchOrder_put(c, &o, NULL, &a)) != DORM_OK ||
        (st = bench_BenchOrder_get(c, &key, NULL, &a, &got)) != DORM_OK) {
      fprintf(stderr, "gen_put_get: %s\n", dorm_client_errmsg(c));
      return 1;
    }
    dorm_arena_reset(&a);
  }
  gen_bench g = {c, &o, &key, &a, &got};
  char *floor_put, *floor_get, *text = read_file(item_path), host[300];
  floor_bodies(text, NULL, &floor_put, &floor_get);
  free(text);
  floor_host(endpoint, host, sizeof host);
  floor_req f;
  floor_init(&f, endpoint);
  struct curl_slist *ph = floor_headers(host, "PutItem", cfg.access_key_id),
                    *gh = floor_headers(host, "GetItem", cfg.access_key_id);
  f.body = floor_put;
  f.headers = ph;
  floor_paired("dorm-gen", "put", gen_put, &g, &f, floor_put_once, n / 10, n);
  f.body = floor_get;
  f.headers = gh;
  floor_paired("dorm-gen", "get", gen_get, &g, &f, floor_get_once, n / 10, n);
  curl_slist_free_all(ph);
  curl_slist_free_all(gh);
  floor_free(&f);
  free(floor_put);
  free(floor_get);
  dorm_arena_free(&a);
  dorm_client_free(c);
  return 0;
}
