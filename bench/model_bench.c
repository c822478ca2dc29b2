/* model_bench: the model layer's marshalling throughput on the ~1 KB order
 * item of bench/item.json, no network, single-threaded:
 *   marshal    model struct -> the whole PutItem request body
 *              ({"TableName":...,"Item":{...}}), as dorm_model_put writes it
 *   unmarshal  a GetItem response body ({"Item":{...}}) -> model struct, as
 *              dorm_model_get reads it (cJSON parse, then the tree decoded
 *              straight into the struct)
 *   unmarshal-av      the same through a dorm_av item (cJSON parse, the
 *              tree into a dorm_av in the arena, then dorm_model_from_av's
 *              walk pointing into it)
 *   unmarshal-cjson   the public generic path: dorm__json_parse,
 *              dorm__json_member_item, dorm_model_from_av (copying)
 *   cjson-only        cJSON_ParseWithLengthOpts + cJSON_Delete of the body
 *              and nothing else: the floor under every unmarshal above
 * The peer numbers come from bench/node/marshal.js (marshall +
 * JSON.stringify, JSON.parse + unmarshall of the same item).
 * Usage: model_bench [seconds per case, default 1] [path to item.json] [case]
 * (case: marshal, unmarshal, unmarshal-av, unmarshal-cjson or cjson-only;
 * default all)
 *
 *        model_bench --n N [--item F]
 * is run-peers.sh's offline hook: N items each (after N/10 untimed) of
 * marshal, unmarshal (the generated code's path: jsmn, straight into the
 * struct) and unmarshal-cjson (the same decoder on cJSON's tree, as before
 * jsmn), then unmarshal-page(-cjson): N items in Query pages of 600 bench
 * items (~0.9 MB), one line each in the peers' format beside
 * bench/node/marshal.js:
 *   dorm unmarshal: N items/s, M MB/s, client cpu X us/op, n=N */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dorm/model.h"
#include "json_read.h"
#include "json_write.h"
#include "model_internal.h"

/* ---- the bench item's model (a hand-written descriptor, as dormc gen writes) ----
 *
 * model BenchOrder table "dorm_bench_orders" {
 *   naming snake_case;
 *   key pk = "CUSTOMER#{customerId}";
 *   sk: string @sk;
 *   orderId, customerId, customerEmail, status, channel, currency: string;
 *   subtotal, shipping, tax, total: decimal;  itemCount: int;  version: int @version;
 *   createdAt: time @created_at;  updatedAt: time @updated_at;
 *   paidAt: epoch?;  ttl: epoch? @ttl;  shippingAddress: Address;  lines: list<Line>;
 *   tags: set<string> @omit_empty;  giftMessage: string?;  note: string?;
 * } */

typedef struct b_Address {
  const char *name, *line1, *city, *postcode, *country;
} b_Address;
typedef struct b_Line {
  const char *sku, *name;
  int64_t qty;
  const char *unitPrice, *discount;
} b_Line;
typedef struct b_list_Line { b_Line *items; size_t count; } b_list_Line;
typedef struct b_set_string { const char **items; size_t count; } b_set_string;

typedef struct b_Order {
  const char *sk;
  const char *orderId, *customerId, *customerEmail, *status, *channel, *currency;
  const char *subtotal, *shipping, *tax, *total;
  int64_t itemCount, version, createdAt, updatedAt;
  bool has_paidAt;
  int64_t paidAt;
  bool has_ttl;
  int64_t ttl;
  b_Address shippingAddress;
  b_list_Line lines;
  b_set_string tags;
  const char *giftMessage, *note;
} b_Order;

#define ATTR2(c, s) {c, s}, {"\"" c "\":", "\"" s "\":"}, {sizeof(c) + 2, sizeof(s) + 2}
#define ATTR(a) ATTR2(a, a)
#define T(kind, ctype) {kind, 0, 0, (uint32_t)sizeof(ctype), NULL, NULL, NULL}
#define F(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), -1, type, NULL}
#define FH(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), (int32_t)offsetof(S, has_##m), type, NULL}
#define TC(kind, ctype, elem, sdesc) {kind, 0, 0, (uint32_t)sizeof(ctype), elem, sdesc, NULL}
#define STR T(DORM_K_STRING, const char *)
#define DEC T(DORM_K_DECIMAL, const char *)

static const dorm_field_desc address_fields[] = {
    F(b_Address, name, ATTR("name"), 0, STR),         F(b_Address, line1, ATTR("line1"), 0, STR),
    F(b_Address, city, ATTR("city"), 0, STR),         F(b_Address, postcode, ATTR("postcode"), 0, STR),
    F(b_Address, country, ATTR("country"), 0, STR),
};
static const dorm_struct_desc address_sdesc = {"Address", sizeof(b_Address), address_fields, 5};
static const dorm_field_desc line_fields[] = {
    F(b_Line, sku, ATTR("sku"), 0, STR),
    F(b_Line, name, ATTR("name"), 0, STR),
    F(b_Line, qty, ATTR("qty"), 0, T(DORM_K_INT, int64_t)),
    F(b_Line, unitPrice, ATTR2("unitPrice", "unit_price"), 0, DEC),
    F(b_Line, discount, ATTR("discount"), 0, DEC),
};
static const dorm_struct_desc line_sdesc = {"Line", sizeof(b_Line), line_fields, 5};
static const dorm_type_desc td_line = {DORM_K_STRUCT, 0, 0, sizeof(b_Line), NULL, &line_sdesc, NULL};
static const dorm_type_desc td_string = STR;

enum { F_sk, F_orderId, F_customerId };
static const dorm_field_desc order_fields[] = {
    F(b_Order, sk, ATTR("sk"), DORM_FF_SK | DORM_FF_TABLE_KEY, STR),
    F(b_Order, orderId, ATTR("order_id"), 0, STR),
    F(b_Order, customerId, ATTR("customer_id"), DORM_FF_TABLE_KEY, STR),
    F(b_Order, customerEmail, ATTR("customer_email"), 0, STR),
    F(b_Order, status, ATTR("status"), 0, STR),
    F(b_Order, channel, ATTR("channel"), 0, STR),
    F(b_Order, currency, ATTR("currency"), 0, STR),
    F(b_Order, subtotal, ATTR("subtotal"), 0, DEC),
    F(b_Order, shipping, ATTR("shipping"), 0, DEC),
    F(b_Order, tax, ATTR("tax"), 0, DEC),
    F(b_Order, total, ATTR("total"), 0, DEC),
    F(b_Order, itemCount, ATTR("item_count"), 0, T(DORM_K_INT, int64_t)),
    F(b_Order, version, ATTR("version"), DORM_FF_VERSION, T(DORM_K_INT, int64_t)),
    F(b_Order, createdAt, ATTR("created_at"), DORM_FF_CREATED_AT, T(DORM_K_TIME, int64_t)),
    F(b_Order, updatedAt, ATTR("updated_at"), DORM_FF_UPDATED_AT, T(DORM_K_TIME, int64_t)),
    FH(b_Order, paidAt, ATTR("paid_at"), DORM_FF_OPTIONAL, T(DORM_K_EPOCH, int64_t)),
    FH(b_Order, ttl, ATTR("ttl"), DORM_FF_OPTIONAL | DORM_FF_TTL, T(DORM_K_EPOCH, int64_t)),
    F(b_Order, shippingAddress, ATTR("shipping_address"), 0, TC(DORM_K_STRUCT, b_Address, NULL, &address_sdesc)),
    F(b_Order, lines, ATTR("lines"), 0, TC(DORM_K_LIST, b_list_Line, &td_line, NULL)),
    F(b_Order, tags, ATTR("tags"), DORM_FF_OMIT_EMPTY, TC(DORM_K_SET, b_set_string, &td_string, NULL)),
    F(b_Order, giftMessage, ATTR("gift_message"), DORM_FF_OPTIONAL, STR),
    F(b_Order, note, ATTR("note"), DORM_FF_OPTIONAL, STR),
};
static const dorm_tpl_part pk_tpl[] = {{"CUSTOMER#", 9, -1}, {NULL, 0, F_customerId}};
static const dorm_key_desc order_keys[] = {
    {"pk", "\"pk\":", 5, 'S', -1, pk_tpl, 2},
    {"sk", "\"sk\":", 5, 'S', F_sk, NULL, 0},
};
static const dorm_index_desc order_indexes[] = {{NULL, DORM_INDEX_TABLE, 0, 0, 1}};
static const dorm_model_desc order_desc = {
    "BenchOrder", "dorm_bench_orders", NULL, DORM_NAMING_SNAKE, sizeof(b_Order), order_fields,
    sizeof order_fields / sizeof order_fields[0], order_keys, 2, 2, order_indexes, 1, 13, 14, 12, 16, 0, NULL};

/* ---- harness ---- */

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }
static double cpu0;

static void die(const char *what, const char *msg) {
  fprintf(stderr, "model_bench: %s: %s\n", what, msg);
  exit(1);
}

/* Wall-clock rate, and CPU time per item (the number to compare on a busy
 * machine; Node's marshal.js prints the same "client cpu"). */
static void report(const char *name, long iters, double secs, size_t bytes) {
  double cpu = cpu_s() - cpu0;
  printf("%-16s %9.0f items/s %8.1f MB/s  client cpu %6.3f us/op (%.0f items per cpu-second)\n", name, iters / secs,
         iters * (double)bytes / secs / 1e6, cpu / iters * 1e6, iters / cpu);
}

/* run-peers.sh's lines: n timed calls of fn after n/10 untimed ones; each
 * call handles `per` items of `bytes` bytes of JSON in all. */
typedef void (*peer_fn)(void *ctx);
static void peer_line(const char *what, long n, long per, size_t bytes, peer_fn fn, void *ctx) {
  for (long i = 0; i < n / 10; i++) fn(ctx);
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++) fn(ctx);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  printf("dorm %s: %.0f items/s, %.1f MB/s, client cpu %.2f us/op, n=%ld\n", what, n * per / wall,
         n * (double)bytes / 1e6 / wall, cpu / (n * per) * 1e6, n * per);
  fflush(stdout);
}

typedef struct peer_ctx {
  dorm_jw *w;
  const b_Order *order;
  const char *response;
  size_t rlen;
  unsigned flags;
  dorm_arena *arena;
  b_Order out;
} peer_ctx;

static void peer_marshal(void *p) {
  peer_ctx *c = p;
  char err[256];
  const char *body;
  size_t blen;
  dorm__jw_reset(c->w);
  dorm__jw_begin_object(c->w);
  dorm__jw_member_string(c->w, "TableName", order_desc.table);
  dorm__jw_key(c->w, "Item");
  if (dorm__model_write_item(c->w, &order_desc, c->order, NULL, err, sizeof err) != DORM_OK) die("marshal", err);
  dorm__jw_end_object(c->w);
  if (dorm__jw_finish(c->w, &body, &blen) != DORM_OK) die("marshal", c->w->err);
}

static void peer_unmarshal(void *p) {
  peer_ctx *c = p;
  char err[256];
  model_response r;
  dorm_arena_reset(c->arena);
  if (dorm__model_decode_response(c->response, c->rlen, &order_desc, MODEL_DECODE_CHECK_TYPE | c->flags, c->arena, &r,
                                  err, sizeof err) != DORM_OK ||
      !r.has_item)
    die("unmarshal", err);
  memcpy(&c->out, r.item, sizeof c->out);
}

/* A Query page of PAGE_ITEMS bench items (~0.9 MB, near DynamoDB's 1 MB
 * page) into structs, as dorm_model_query reads a page. */
#define PAGE_ITEMS 600
static void peer_page(void *p) {
  peer_ctx *c = p;
  char err[256];
  model_response r;
  dorm_arena_reset(c->arena);
  if (dorm__model_decode_response(c->response, c->rlen, &order_desc, c->flags, c->arena, &r, err, sizeof err) !=
          DORM_OK ||
      r.nitems != PAGE_ITEMS)
    die("unmarshal-page", err);
  memcpy(&c->out, r.items, sizeof c->out);
}

int main(int argc, char **argv) {
  long peer_n = 0;
  const char *peer_item = NULL;
  for (int i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (strcmp(argv[i], "--n") == 0) peer_n = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--item") == 0) peer_item = argv[i + 1];
    else die(argv[i], "unknown option (--n N, --item F)");
  }
  if (argc > 1 && argv[1][0] == '-' && peer_n <= 0) die("--n", "expected a whole number >= 1");
  double budget = !peer_n && argc > 1 ? atof(argv[1]) : 1.0;
  if (budget <= 0) budget = 1.0;
  const char *path = peer_n ? (peer_item ? peer_item : DORM_BENCH_ITEM) : argc > 2 ? argv[2] : DORM_BENCH_ITEM;
  const char *only = !peer_n && argc > 3 ? argv[3] : NULL;
  FILE *f = fopen(path, "rb");
  if (!f) die(path, "cannot open");
  static char file[65536];
  size_t flen = fread(file, 1, sizeof file - 1, f);
  fclose(f);
  char err[512];
  cJSON *doc;
  if (dorm__json_parse(file, flen, &doc, err, sizeof err) != DORM_OK) die(path, err);
  char *item_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc, "item"));
  cJSON_Delete(doc);
  if (!item_json) die(path, "no \"item\"");
  /* The GetItem response as DynamoDB sends it. */
  size_t rlen = strlen(item_json) + 9;
  char *response = malloc(rlen + 1);
  snprintf(response, rlen + 1, "{\"Item\":%s}", item_json);

  dorm_arena src = DORM_ARENA_INIT, arena = DORM_ARENA_INIT;
  b_Order order;
  if (dorm_model_from_json(&order_desc, item_json, strlen(item_json), 0, &src, &order, err, sizeof err) != DORM_OK)
    die("reading the item", err);

  /* Check: what we write is the item of the file. */
  dorm_jw w;
  dorm__jw_init(&w, 0);
  const char *body;
  size_t blen;
  dorm__jw_begin_object(&w);
  dorm__jw_member_string(&w, "TableName", order_desc.table);
  dorm__jw_key(&w, "Item");
  if (dorm__model_write_item(&w, &order_desc, &order, NULL, err, sizeof err) != DORM_OK) die("marshal", err);
  dorm__jw_end_object(&w);
  if (dorm__jw_finish(&w, &body, &blen) != DORM_OK) die("marshal", w.err);
  dorm_av mine, want;
  const char *item_start = strstr(body, "\"Item\":") + 7;
  if (dorm_item_from_json(item_start, blen - (size_t)(item_start - body) - 1, &arena, &mine, err, sizeof err) != DORM_OK ||
      dorm_item_from_json(item_json, strlen(item_json), &arena, &want, err, sizeof err) != DORM_OK)
    die("check", err);
  if (!dorm_av_equal(&mine, &want)) die("check", "the marshalled item differs from bench/item.json");
  size_t item_bytes = 0;
  dorm_item_size(&want, &item_bytes);
  if (peer_n) {
    peer_ctx c = {&w, &order, response, rlen, 0, &arena, {0}};
    peer_line("marshal", peer_n, 1, blen, peer_marshal, &c);
    peer_line("unmarshal", peer_n, 1, rlen, peer_unmarshal, &c);
    if (strcmp(c.out.lines.items[1].unitPrice, "499.5") != 0) die("unmarshal", "wrong result");
    c.flags = MODEL_DECODE_CJSON;
    peer_line("unmarshal-cjson", peer_n, 1, rlen, peer_unmarshal, &c);
    if (strcmp(c.out.lines.items[1].unitPrice, "499.5") != 0) die("unmarshal-cjson", "wrong result");
    /* Query pages: what a parallel scan or a backfill decodes */
    size_t ilen = strlen(item_json), plen = 0, pcap = PAGE_ITEMS * (ilen + 1) + 64;
    char *page = malloc(pcap);
    if (!page) die("unmarshal-page", "out of memory");
    plen += (size_t)snprintf(page, pcap, "{\"Items\":[");
    for (int i = 0; i < PAGE_ITEMS; i++) {
      if (i) page[plen++] = ',';
      memcpy(page + plen, item_json, ilen);
      plen += ilen;
    }
    plen += (size_t)snprintf(page + plen, pcap - plen, "],\"Count\":%d,\"ScannedCount\":%d}", PAGE_ITEMS, PAGE_ITEMS);
    long pages = peer_n / PAGE_ITEMS > 0 ? peer_n / PAGE_ITEMS : 1;
    c.response = page;
    c.rlen = plen;
    c.flags = 0;
    peer_line("unmarshal-page", pages, PAGE_ITEMS, plen, peer_page, &c);
    c.flags = MODEL_DECODE_CJSON;
    peer_line("unmarshal-page-cjson", pages, PAGE_ITEMS, plen, peer_page, &c);
    free(page);
    goto done;
  }
  printf("item: %zu bytes of DynamoDB JSON, %zu bytes DynamoDB size, PutItem body %zu bytes, GetItem response %zu bytes\n",
         strlen(item_json), item_bytes, blen, rlen);

  long iters = 0;
  double t0 = now_s(), t;
  cpu0 = cpu_s();
  if (only && strcmp(only, "marshal") != 0) goto unmarshal;
  do {
    for (int k = 0; k < 1000; k++) {
      dorm__jw_reset(&w);
      dorm__jw_begin_object(&w);
      dorm__jw_member_string(&w, "TableName", order_desc.table);
      dorm__jw_key(&w, "Item");
      if (dorm__model_write_item(&w, &order_desc, &order, NULL, err, sizeof err) != DORM_OK) die("marshal", err);
      dorm__jw_end_object(&w);
      if (dorm__jw_finish(&w, &body, &blen) != DORM_OK) die("marshal", w.err);
    }
    iters += 1000;
  } while ((t = now_s()) - t0 < budget);
  report("marshal", iters, t - t0, blen);

unmarshal:;
  b_Order out;
  memset(&out, 0, sizeof out);
  if (only && strcmp(only, "unmarshal") != 0) goto unmarshal_av;
  iters = 0;
  t0 = now_s();
  cpu0 = cpu_s();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&arena);
      model_response r;
      if (dorm__model_decode_response(response, rlen, &order_desc, MODEL_DECODE_CHECK_TYPE, &arena, &r, err, sizeof err) !=
              DORM_OK ||
          !r.has_item)
        die("unmarshal", err);
      memcpy(&out, r.item, sizeof out);
    }
    iters += 1000;
  } while ((t = now_s()) - t0 < budget);
  report("unmarshal", iters, t - t0, rlen);
  if (strcmp(out.lines.items[1].unitPrice, "499.5") != 0 || out.shippingAddress.city == NULL) die("unmarshal", "wrong result");

unmarshal_av:
  if (only && strcmp(only, "unmarshal-av") != 0) goto unmarshal_cjson;
  iters = 0;
  t0 = now_s();
  cpu0 = cpu_s();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&arena);
      cJSON *root;
      dorm_json_response r;
      jr_reader rd;
      dorm_av item;
      if (dorm__json_parse(response, rlen, &root, err, sizeof err) != DORM_OK ||
          dorm__json_response_members(root, &r, err, sizeof err) != DORM_OK || !r.item)
        die("unmarshal-av", err);
      dorm__jr_init(&rd, &arena, rlen, err, sizeof err);
      jr_path where = {NULL, "Item", 0};
      if (dorm__jr_members(&rd, r.item, &where, 0, &item) != DORM_OK) die("unmarshal-av", err);
      cJSON_Delete(root);
      if (dorm__model_read_item(&order_desc, &item, MODEL_READ_BORROW, &arena, &out, err, sizeof err) != DORM_OK)
        die("unmarshal-av", err);
    }
    iters += 1000;
  } while ((t = now_s()) - t0 < budget);
  report("unmarshal-av", iters, t - t0, rlen);

unmarshal_cjson:
  if (only && strcmp(only, "unmarshal-cjson") != 0) goto cjson_only;
  iters = 0;
  t0 = now_s();
  cpu0 = cpu_s();
  do {
    for (int k = 0; k < 1000; k++) {
      dorm_arena_reset(&arena);
      cJSON *root;
      bool found;
      dorm_av item;
      if (dorm__json_parse(response, rlen, &root, err, sizeof err) != DORM_OK) die("unmarshal-cjson", err);
      dorm_status st = dorm__json_member_item(root, "Item", &arena, &item, &found, err, sizeof err);
      cJSON_Delete(root);
      if (st != DORM_OK) die("unmarshal-cjson", err);
      if (dorm_model_from_av(&order_desc, &item, 0, &arena, &out, err, sizeof err) != DORM_OK)
        die("unmarshal-cjson", err);
    }
    iters += 1000;
  } while ((t = now_s()) - t0 < budget);
  report("unmarshal-cjson", iters, t - t0, rlen);

cjson_only:
  if (only && strcmp(only, "cjson-only") != 0) goto done;
  iters = 0;
  t0 = now_s();
  cpu0 = cpu_s();
  do {
    for (int k = 0; k < 1000; k++) {
      cJSON *root = cJSON_ParseWithLengthOpts(response, rlen, NULL, false);
      if (!root) die("cjson-only", "parse failed");
      cJSON_Delete(root);
    }
    iters += 1000;
  } while ((t = now_s()) - t0 < budget);
  report("cjson-only", iters, t - t0, rlen);

done:
  dorm__jw_free(&w);
  dorm_arena_free(&arena);
  dorm_arena_free(&src);
  free(response);
  cJSON_free(item_json);
  return 0;
}
