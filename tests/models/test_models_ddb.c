/* The generated shop API (schemas/shop.dorm) against DynamoDB Local: every
 * operation a user calls, through the generated functions only. The tracker
 * schema (tests/models/tracker.dorm) has index keys made from @updated_at
 * and @version.
 *
 * The table "shop" is shared with other tests (the example), so every test
 * works under customer ids of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shop_models.h"
#include "tracker_models.h"
#include "test_ddb.h"
#include "test_support.h"

static dorm_client *client;
static char run_id[48];

static int setup(void **state) {
  (void)state;
  client = ts_ddb_client();
  ts_unique_name(run_id, sizeof run_id, "gen");
  dorm_status st = shop_Shop_table_ensure(client, 60000);
  if (st == DORM_OK) st = tracker_Tracker_table_ensure(client, 60000);
  if (st != DORM_OK) fprintf(stderr, "ensure: %s\n", dorm_client_errmsg(client));
  return st == DORM_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  dorm_client_free(client);
  return 0;
}

#define CHECK(call)                                                                   \
  do {                                                                                \
    dorm_status st_ = (call);                                                         \
    if (st_ != DORM_OK) fail_msg("%s: %s (%s)", #call, dorm_strerror(st_), dorm_client_errmsg(client)); \
  } while (0)

static const char *cust(const char *suffix) {
  static char buf[8][96];
  static int n;
  char *b = buf[n++ % 8];
  snprintf(b, 96, "%s-%s", run_id, suffix);
  return b;
}

static shop_Order order(const char *customer, const char *id, shop_OrderStatus status, const char *amount) {
  shop_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = customer;
  o.orderId = id;
  o.status = status;
  o.total.amount = amount;
  o.total.currency = "EUR";
  return o;
}

static uint64_t attempts(void) {
  dorm_client_stats s;
  dorm_client_get_stats(client, &s);
  return s.attempts;
}

static void crud_and_lifecycle(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *c1 = cust("crud");
  shop_Order o = order(c1, "o1", SHOP_ORDER_STATUS_PENDING, "10.00");
  static const char *tags[] = {"gift", "rush"};
  o.tags.items = tags;
  o.tags.count = 2;
  shop_Address ship = {"1 Main St", "Springfield", NULL, "US"};
  o.has_shipTo = true;
  o.shipTo = ship;
  o.metadata = "{\"b\": 1, \"a\": [true, null]}";
  CHECK(shop_Order_create(client, &o, NULL, &a));
  assert_true(o.createdAt > 0);
  assert_int_equal(o.updatedAt, o.createdAt);
  assert_int_equal(o.version, 0);
  assert_int_equal(shop_Order_create(client, &o, NULL, &a), DORM_ERR_CONDITION_FAILED);
  /* The message names the model, the table, the key and the reason. */
  assert_non_null(strstr(dorm_client_errmsg(client), "PutItem: Order PK=CUSTOMER#"));
  assert_non_null(strstr(dorm_client_errmsg(client), ", SK=ORDER#o1 on "));
  assert_non_null(strstr(dorm_client_errmsg(client), ": an item with this key already exists (DynamoDB: "));

  shop_Order_key k = {c1, "o1"};
  shop_Order got;
  CHECK(shop_Order_get(client, &k, NULL, &a, &got));
  assert_string_equal(got.total.amount, "10.00");
  assert_int_equal(got.status, SHOP_ORDER_STATUS_PENDING);
  assert_int_equal(got.tags.count, 2);
  assert_true(got.has_shipTo);
  assert_string_equal(got.shipTo.city, "Springfield");
  assert_null(got.shipTo.zip);
  assert_string_equal(got.metadata, "{\"a\":[true,null],\"b\":1}"); /* canonical JSON */
  assert_int_equal(got.createdAt, o.createdAt);

  /* Projection: only the fields asked for. */
  dorm_get_opts go;
  memset(&go, 0, sizeof go);
  static const uint32_t fields[] = {shop_Order_f_status};
  go.fields = fields;
  go.nfields = 1;
  go.consistent_read = true;
  shop_Order part;
  CHECK(shop_Order_get(client, &k, &go, &a, &part));
  assert_int_equal(part.status, SHOP_ORDER_STATUS_PENDING);
  assert_null(part.total.amount);

  /* Updates: every action kind, the version lock, the GSI key follows status. */
  dorm_model_update u;
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_status(&u, SHOP_ORDER_STATUS_PAID));
  CHECK(shop_Order_remove_shipTo(&u));
  static const char *more[] = {"vip"};
  shop_set_string add = {more, 1};
  CHECK(shop_Order_set_add_tags(&u, &add));
  CHECK(shop_Order_set_default_note(&u, "first note"));
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.w.check_version = true;
  uo.w.expected_version = 0;
  uo.return_new = true;
  shop_Order after;
  CHECK(shop_Order_update(client, &k, &u, &uo, &a, &after));
  assert_int_equal(after.version, 1);
  assert_int_equal(after.status, SHOP_ORDER_STATUS_PAID);
  assert_false(after.has_shipTo);
  assert_int_equal(after.tags.count, 3);
  assert_string_equal(after.note, "first note");
  assert_true(after.updatedAt >= after.createdAt);
  assert_int_equal(after.createdAt, o.createdAt);

  /* A stale version is refused; set_default keeps what is there. */
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_default_note(&u, "second note"));
  assert_int_equal(shop_Order_update(client, &k, &u, &uo, &a, NULL), DORM_ERR_CONDITION_FAILED);
  uo.w.expected_version = 1;
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_default_note(&u, "second note"));
  static const char *gone[] = {"gift"};
  shop_set_string del = {gone, 1};
  CHECK(shop_Order_set_delete_tags(&u, &del));
  CHECK(shop_Order_update(client, &k, &u, &uo, &a, &after));
  assert_string_equal(after.note, "first note");
  assert_int_equal(after.tags.count, 2);
  assert_int_equal(after.version, 2);

  /* The status index sees the new status (GSI1PK was recomputed). */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_query_opts q;
  memset(&q, 0, sizeof q);
  q.expr = &x;
  q.filter = shop_Order_cond_customerId(&x, DORM_EQ, c1);
  shop_Order_page page;
  CHECK(shop_Order_query_by_status(client, SHOP_ORDER_STATUS_PAID, NULL, &q, &a, &page));
  assert_int_equal(page.count, 1);
  assert_string_equal(page.items[0].orderId, "o1");

  /* update_fields (DynamORM's Update(fields...)): version from the object. */
  after.note = NULL; /* optional and absent: removed */
  after.total.amount = "11.00";
  static const shop_Order_field mask[] = {shop_Order_f_note, shop_Order_f_total};
  CHECK(shop_Order_update_fields(client, &after, mask, 2, NULL, &a));
  assert_int_equal(after.version, 3);
  CHECK(shop_Order_get(client, &k, NULL, &a, &got));
  assert_null(got.note);
  assert_string_equal(got.total.amount, "11.00");
  assert_int_equal(got.version, 3);

  /* Delete with a stale version fails; with the right one it works. */
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.check_version = true;
  wo.expected_version = 2;
  assert_int_equal(shop_Order_delete(client, &k, &wo, &a), DORM_ERR_CONDITION_FAILED);
  assert_non_null(strstr(dorm_client_errmsg(client), ": its stored version is not 2 (it changed since it was read)"));
  wo.expected_version = 3;
  CHECK(shop_Order_delete(client, &k, &wo, &a));
  assert_int_equal(shop_Order_get(client, &k, NULL, &a, &got), DORM_ERR_NOT_FOUND);
  dorm_arena_free(&a);
}

static void numbers_lists_and_conditions(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  shop_LineItem li;
  memset(&li, 0, sizeof li);
  li.orderId = cust("lines");
  li.lineNo = 1;
  li.sku = "SKU-1";
  li.quantity = 2;
  li.unitPrice = "3.99";
  static const uint8_t blob[] = {0, 1, 2, 255};
  dorm_bytes att[1] = {{blob, sizeof blob}};
  li.has_attachments = true;
  li.attachments.items = att;
  li.attachments.count = 1;
  CHECK(shop_LineItem_put(client, &li, NULL, &a));

  shop_LineItem_key k = {li.orderId, 1};
  dorm_model_update u;
  shop_LineItem_update_begin(&u, &a);
  CHECK(shop_LineItem_add_quantity(&u, 3));
  dorm_bytes more[1] = {{blob, 2}};
  shop_list_bytes extra = {more, 1};
  CHECK(shop_LineItem_append_attachments(&u, &extra));
  /* A condition built with the update's own builder. */
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.w.expr = &u.x;
  uo.w.condition = shop_LineItem_cond_quantity(&u.x, DORM_EQ, 2);
  uo.return_new = true;
  shop_LineItem after;
  CHECK(shop_LineItem_update(client, &k, &u, &uo, &a, &after));
  assert_int_equal(after.quantity, 5);
  assert_int_equal(after.attachments.count, 2);
  assert_memory_equal(after.attachments.items[0].data, blob, 4);

  /* The same condition again fails (quantity is 5 now). */
  shop_LineItem_update_begin(&u, &a);
  CHECK(shop_LineItem_add_quantity(&u, 1));
  uo.w.expr = &u.x;
  uo.w.condition = shop_LineItem_cond_quantity(&u.x, DORM_EQ, 2);
  assert_int_equal(shop_LineItem_update(client, &k, &u, &uo, &a, NULL), DORM_ERR_CONDITION_FAILED);

  /* A write condition on delete, with the old item returned on failure. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.expr = &x;
  wo.condition = shop_LineItem_cond_sku_begins_with(&x, "NOPE");
  shop_LineItem old;
  bool found = false;
  wo.old_out = &old;
  wo.old_found = &found;
  assert_int_equal(shop_LineItem_delete(client, &k, &wo, &a), DORM_ERR_CONDITION_FAILED);
  assert_true(found);
  assert_int_equal(old.quantity, 5);
  dorm_arena_free(&a);
}

static void queries_pages_and_cursors(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *c2 = cust("query");
  shop_Customer cu;
  memset(&cu, 0, sizeof cu);
  cu.customerId = c2;
  cu.email = "q@example.com";
  cu.name = "Q";
  cu.tier = SHOP_TIER_STANDARD;
  CHECK(shop_Customer_put(client, &cu, NULL, &a));
  char ids[12][8];
  for (int i = 0; i < 12; i++) {
    snprintf(ids[i], sizeof ids[i], "o%02d", i);
    shop_Order o = order(c2, ids[i], i % 3 == 0 ? SHOP_ORDER_STATUS_SHIPPED : SHOP_ORDER_STATUS_PENDING,
                         i % 2 ? "5" : "50");
    CHECK(shop_Order_create(client, &o, NULL, &a));
  }

  /* The table query returns Orders only (the Customer shares the partition). */
  shop_Order_page page;
  CHECK(shop_Order_query(client, c2, NULL, NULL, &a, &page));
  assert_int_equal(page.count, 12);
  assert_null(page.cursor);
  uint64_t n = 0;
  CHECK(shop_Order_query_count(client, c2, NULL, NULL, &n));
  assert_int_equal(n, 12);

  /* Sort-key conditions on the rendered template. */
  shop_Order_query_sk sk;
  memset(&sk, 0, sizeof sk);
  sk.op = DORM_SK_BETWEEN;
  sk.orderId = "o03";
  sk.orderId_to = "o05";
  CHECK(shop_Order_query(client, c2, &sk, NULL, &a, &page));
  assert_int_equal(page.count, 3);
  assert_string_equal(page.items[0].orderId, "o03");
  sk.op = DORM_SK_BEGINS_WITH;
  sk.prefix = "o1";
  CHECK(shop_Order_query(client, c2, &sk, NULL, &a, &page));
  assert_int_equal(page.count, 2);
  sk.op = DORM_SK_GT;
  sk.orderId = "o09";
  dorm_query_opts q;
  memset(&q, 0, sizeof q);
  q.descending = true;
  CHECK(shop_Order_query(client, c2, &sk, &q, &a, &page));
  assert_int_equal(page.count, 2);
  assert_string_equal(page.items[0].orderId, "o11");

  /* Filters with AND/OR, and a projection. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  memset(&q, 0, sizeof q);
  q.expr = &x;
  q.filter = dorm_cond_or(&x, shop_Order_cond_status(&x, DORM_EQ, SHOP_ORDER_STATUS_SHIPPED),
                          dorm_cond_and(&x, shop_Order_cond_orderId_begins_with(&x, "o1"),
                                        shop_Order_cond_note_not_exists(&x)));
  static const uint32_t fields[] = {shop_Order_f_orderId, shop_Order_f_status};
  q.fields = fields;
  q.nfields = 2;
  CHECK(shop_Order_query(client, c2, NULL, &q, &a, &page));
  assert_int_equal(page.count, 4 + 2); /* o00 o03 o06 o09 shipped; o10 o11 */
  assert_null(page.items[0].total.amount);

  /* Pages of 5 with DynamORM cursors, and a cursor used for another index. */
  memset(&q, 0, sizeof q);
  q.limit = 5;
  size_t seen = 0;
  const char *first_cursor = NULL;
  for (int i = 0; i < 10; i++) {
    CHECK(shop_Order_query(client, c2, NULL, &q, &a, &page));
    seen += page.count;
    if (!first_cursor) first_cursor = page.cursor;
    if (!page.cursor) break;
    q.cursor = page.cursor;
  }
  assert_int_equal(seen, 12);
  assert_non_null(first_cursor);
  memset(&q, 0, sizeof q);
  q.cursor = first_cursor;
  assert_int_equal(shop_Order_query_by_status(client, SHOP_ORDER_STATUS_PENDING, NULL, &q, &a, &page),
                   DORM_ERR_BAD_CURSOR);
  q.descending = true;
  assert_int_equal(shop_Order_query(client, c2, NULL, &q, &a, &page), DORM_ERR_BAD_CURSOR);
  q.descending = false;
  q.cursor = "not a cursor";
  assert_int_equal(shop_Order_query(client, c2, NULL, &q, &a, &page), DORM_ERR_BAD_CURSOR);

  /* The GSI with a time sort condition, newest first. */
  shop_Order_query_by_status_sk since;
  memset(&since, 0, sizeof since);
  since.op = DORM_SK_GE;
  since.createdAt = 0;
  dorm_expr_init(&x, &a);
  memset(&q, 0, sizeof q);
  q.expr = &x;
  q.filter = shop_Order_cond_customerId(&x, DORM_EQ, c2);
  q.descending = true;
  CHECK(shop_Order_query_by_status(client, SHOP_ORDER_STATUS_SHIPPED, &since, &q, &a, &page));
  assert_int_equal(page.count, 4);
  assert_true(page.items[0].createdAt >= page.items[3].createdAt);

  /* The LSI on createdAt (keys only: partial items; the Customer item shares
   * the partition and has a createdAt too, so it is in the index, and is left
   * out by the SK prefix filter), with a consistent read, which LSIs allow. */
  shop_Order_page all;
  CHECK(shop_Order_query(client, c2, NULL, NULL, &a, &all));
  int64_t mid = all.items[0].createdAt;
  for (size_t i = 0; i < all.count; i++)
    if (strcmp(all.items[i].orderId, "o06") == 0) mid = all.items[i].createdAt;
  shop_Order_query_lsi_created_sk after6;
  memset(&after6, 0, sizeof after6);
  after6.op = DORM_SK_GE;
  after6.createdAt = mid;
  memset(&q, 0, sizeof q);
  q.consistent_read = true;
  CHECK(shop_Order_query_lsi_created(client, c2, &after6, &q, &a, &page));
  assert_int_equal(page.count, 6); /* o06..o11, created in that order; no Customer */
  assert_true(page.items[0].createdAt == mid);
  /* Keys only: a partial item, whose key-template fields come back from the
   * keys (SK "ORDER#o06", PK "CUSTOMER#<c2>"); the rest is unset. */
  assert_string_equal(page.items[0].orderId, "o06");
  assert_string_equal(page.items[0].customerId, c2);
  assert_null(page.items[0].total.amount);
  for (size_t i = 1; i < page.count; i++) assert_true(page.items[i].createdAt >= page.items[i - 1].createdAt);
  n = 0;
  CHECK(shop_Order_query_lsi_created_count(client, c2, &after6, NULL, &n));
  assert_int_equal(n, 6);
  /* The whole partition through the LSI: 12 Orders, the Customer left out. */
  CHECK(shop_Order_query_lsi_created(client, c2, NULL, NULL, &a, &page));
  assert_int_equal(page.count, 12);
  shop_Customer_page cust_lsi;
  CHECK(shop_Customer_query_lsi_created(client, c2, NULL, NULL, &a, &cust_lsi));
  assert_int_equal(cust_lsi.count, 1);

  /* The customer through its email index (keys only: a partial item). */
  shop_Customer_page cp;
  CHECK(shop_Customer_query_by_email(client, "q@example.com", NULL, NULL, &a, &cp));
  assert_true(cp.count >= 1);
  bool mine = false;
  for (size_t i = 0; i < cp.count; i++) {
    assert_string_equal(cp.items[i].email, "q@example.com"); /* from GSI2PK "EMAIL#..." */
    assert_null(cp.items[i].name);                           /* not projected */
    mine = mine || strcmp(cp.items[i].customerId, c2) == 0;  /* from PK "CUSTOMER#..." */
  }
  assert_true(mine);

  /* Consistent reads are refused on a GSI, before any request. */
  uint64_t before = attempts();
  memset(&q, 0, sizeof q);
  q.consistent_read = true;
  assert_int_equal(shop_Order_query_by_status(client, SHOP_ORDER_STATUS_PAID, NULL, &q, &a, &page),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(attempts(), before);

  /* SK = "ITEM#{lineNo}" holds an int as text: "ITEM#10" sorts before
   * "ITEM#9". A range condition on it selected by text (lineNo > 9 found
   * only 10 of lines 1..12) or failed in DynamoDB (between 5 and 10: "upper
   * bound" < "lower bound"); it is refused before any request. Equality and
   * begins_with match the text and work. */
  const char *lines_of = cust("textnum");
  for (int i = 1; i <= 12; i++) {
    shop_LineItem li;
    memset(&li, 0, sizeof li);
    li.orderId = lines_of;
    li.lineNo = i;
    li.sku = "S";
    li.unitPrice = "1";
    CHECK(shop_LineItem_put(client, &li, NULL, &a));
  }
  shop_LineItem_page lp;
  shop_LineItem_query_sk lsk;
  memset(&lsk, 0, sizeof lsk);
  static const dorm_sk_op ranges[] = {DORM_SK_GT, DORM_SK_GE, DORM_SK_LT, DORM_SK_LE, DORM_SK_BETWEEN};
  before = attempts();
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    lsk.op = ranges[i];
    lsk.lineNo = 9;
    lsk.lineNo_to = 10;
    assert_int_equal(shop_LineItem_query(client, lines_of, &lsk, NULL, &a, &lp), DORM_ERR_INVALID_ARGUMENT);
    if (!strstr(dorm_client_errmsg(client), "LineItem: sort key SK of (the table) holds int lineNo as text"))
      fail_msg("message: %s", dorm_client_errmsg(client));
  }
  assert_int_equal(attempts(), before);
  lsk.op = DORM_SK_EQ;
  lsk.lineNo = 10;
  CHECK(shop_LineItem_query(client, lines_of, &lsk, NULL, &a, &lp));
  assert_int_equal(lp.count, 1);
  assert_int_equal(lp.items[0].lineNo, 10);
  lsk.op = DORM_SK_BEGINS_WITH;
  lsk.prefix = "1";
  CHECK(shop_LineItem_query(client, lines_of, &lsk, NULL, &a, &lp));
  assert_int_equal(lp.count, 4); /* 1, 10, 11, 12 */
  CHECK(shop_LineItem_query(client, lines_of, NULL, NULL, &a, &lp));
  assert_int_equal(lp.count, 12);

  /* One filter (and its builder) for every page of a cursor loop, then for
   * counts and _each: the second page failed with "FilterExpression is
   * already set on this builder". */
  dorm_expr fx;
  dorm_expr_init(&fx, &a);
  dorm_query_opts fq;
  memset(&fq, 0, sizeof fq);
  fq.expr = &fx;
  fq.filter = shop_LineItem_cond_sku(&fx, DORM_EQ, "S");
  fq.limit = 5;
  size_t got_lines = 0;
  int npages = 0;
  do {
    CHECK(shop_LineItem_query(client, lines_of, NULL, &fq, &a, &lp));
    got_lines += lp.count;
    npages++;
    fq.cursor = lp.cursor;
  } while (lp.cursor && npages < 10);
  assert_int_equal(got_lines, 12);
  assert_true(npages >= 3);
  fq.cursor = NULL;
  uint64_t nlines = 0;
  for (int round = 0; round < 2; round++) {
    CHECK(shop_LineItem_query_count(client, lines_of, NULL, &fq, &nlines));
    assert_int_equal(nlines, 12);
  }
  fq.filter = shop_LineItem_cond_sku(&fx, DORM_NE, "S");
  CHECK(shop_LineItem_query_count(client, lines_of, NULL, &fq, &nlines));
  assert_int_equal(nlines, 0);
  dorm_arena_free(&a);
}

typedef struct scan_tally {
  const char *customer;
  size_t mine;
} scan_tally;

static dorm_status tally(void *user, const shop_Order *items, size_t count) {
  scan_tally *t = user;
  for (size_t i = 0; i < count; i++)
    if (strcmp(items[i].customerId, t->customer) == 0) t->mine++;
  return DORM_OK;
}

static void scans_batches_and_transactions(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *c3 = cust("batch");
  enum { N = 60 };
  shop_Order *objs = dorm_arena_calloc(&a, N, sizeof *objs);
  shop_Order_key keys[N + 1];
  char (*ids)[8] = dorm_arena_calloc(&a, N, 8);
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], 8, "b%02d", i);
    objs[i] = order(c3, ids[i], SHOP_ORDER_STATUS_PENDING, "1");
    keys[i].customerId = c3;
    keys[i].orderId = ids[i];
  }
  CHECK(shop_Order_batch_put(client, objs, N, &a));
  keys[N].customerId = c3;
  keys[N].orderId = "missing";
  shop_Order *out = dorm_arena_calloc(&a, N + 1, sizeof *out);
  bool found[N + 1];
  CHECK(shop_Order_batch_get(client, keys, N + 1, false, &a, out, found));
  for (int i = 0; i < N; i++) {
    assert_true(found[i]);
    assert_string_equal(out[i].orderId, ids[i]); /* request order */
  }
  assert_false(found[N]);

  /* Scans see only Orders; the filter keeps this test's. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_query_opts q;
  memset(&q, 0, sizeof q);
  q.expr = &x;
  q.filter = shop_Order_cond_customerId(&x, DORM_EQ, c3);
  uint64_t n = 0;
  CHECK(shop_Order_count(client, &q, &n));
  assert_int_equal(n, N);
  scan_tally t = {c3, 0};
  dorm_expr_init(&x, &a);
  q.filter = shop_Order_cond_customerId(&x, DORM_EQ, c3);
  CHECK(shop_Order_scan_parallel(client, &q, 4, 3, tally, &t));
  assert_int_equal(t.mine, N);

  /* A transaction across models: pay one order, create a line item, check the
   * customer exists; then one that fails on its second action. */
  shop_Customer cu;
  memset(&cu, 0, sizeof cu);
  cu.customerId = c3;
  cu.email = "b@example.com";
  cu.name = "B";
  cu.tier = SHOP_TIER_GOLD;
  CHECK(shop_Customer_create(client, &cu, NULL, &a));
  dorm_tx tx;
  dorm_tx_init(&tx, &a);
  dorm_model_update u;
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_status(&u, SHOP_ORDER_STATUS_PAID));
  assert_int_equal(shop_Order_tx_update(&tx, &keys[0], &u, NULL), 0);
  shop_LineItem li;
  memset(&li, 0, sizeof li);
  li.orderId = ids[0];
  li.lineNo = 1;
  li.sku = "S";
  li.quantity = 1;
  li.unitPrice = "1";
  assert_int_equal(shop_LineItem_tx_create(&tx, &li, NULL), 1);
  dorm_expr cx;
  dorm_expr_init(&cx, &a);
  dorm_write_opts check;
  memset(&check, 0, sizeof check);
  check.expr = &cx;
  check.condition = shop_Customer_cond_tier(&cx, DORM_EQ, SHOP_TIER_GOLD);
  shop_Customer_key ck = {c3};
  assert_int_equal(shop_Customer_tx_check(&tx, &ck, &check), 2);
  size_t failed = 99;
  CHECK(dorm_tx_commit(client, &tx, &failed));
  shop_Order o0;
  CHECK(shop_Order_get(client, &keys[0], NULL, &a, &o0));
  assert_int_equal(o0.status, SHOP_ORDER_STATUS_PAID);

  dorm_tx_init(&tx, &a);
  assert_int_equal(shop_Order_tx_delete(&tx, &keys[1], NULL), 0);
  /* exists: fails; its index is the one the commit reports */
  int li_action = shop_LineItem_tx_create(&tx, &li, NULL);
  assert_int_equal(li_action, 1);
  /* DynamORM's ErrConditionFailed, naming the model and the key. */
  assert_int_equal(dorm_tx_commit(client, &tx, &failed), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(failed, (size_t)li_action);
  char want[160];
  snprintf(want, sizeof want, "action 1 (Put LineItem PK=ORDER#%s, SK=ITEM#1 on shop): ConditionalCheckFailed", ids[0]);
  if (!strstr(dorm_client_errmsg(client), want))
    fail_msg("expected \"%s\" in \"%s\"", want, dorm_client_errmsg(client));
  CHECK(shop_Order_get(client, &keys[1], NULL, &a, &o0)); /* not deleted */

  CHECK(shop_Order_batch_delete(client, keys, N, &a));
  memset(&q, 0, sizeof q);
  dorm_expr_init(&x, &a);
  q.expr = &x;
  q.filter = shop_Order_cond_customerId(&x, DORM_EQ, c3);
  CHECK(shop_Order_count(client, &q, &n));
  assert_int_equal(n, 0);
  dorm_arena_free(&a);
}

/* A Lambda event of one INSERT record whose new image is img (the item's
 * JSON); the record's Keys are not read by the model layer. */
static char *insert_event(dorm_arena *a, const char *img) {
  return dorm_arena_printf(a,
                           "{\"Records\":[{\"eventID\":\"1\",\"eventName\":\"INSERT\",\"eventSourceARN\":"
                           "\"arn:aws:dynamodb:us-east-1:1:table/shop/stream/x\",\"dynamodb\":{\"Keys\":"
                           "{\"PK\":{\"S\":\"CUSTOMER#x\"},\"SK\":{\"S\":\"ORDER#s1\"}},\"NewImage\":%s}}]}",
                           img);
}

static void stream_records_decode(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  shop_Order o = order(cust("stream"), "s1", SHOP_ORDER_STATUS_SHIPPED, "7.5");
  o.createdAt = o.updatedAt = INT64_C(1764077924000000001);
  dorm_av item;
  char err[256];
  CHECK(shop_Order_to_item(&o, &a, &item, err, sizeof err));
  const char *img;
  size_t len;
  CHECK(dorm_item_to_json(&item, &a, 0, &img, &len, err, sizeof err));
  char *event = insert_event(&a, img);
  dorm_stream_record *recs;
  size_t n;
  CHECK(dorm_stream_parse(event, strlen(event), &a, &recs, &n, err, sizeof err));
  assert_int_equal(n, 1);
  assert_int_equal(recs[0].event, DORM_STREAM_INSERT);
  assert_true(recs[0].has_new_image);
  assert_true(shop_Order_is(&recs[0].new_image));
  assert_false(shop_Customer_is(&recs[0].new_image));
  shop_Order back;
  CHECK(shop_Order_from_item(&recs[0].new_image, 0, &a, &back, err, sizeof err));
  assert_string_equal(back.orderId, "s1");
  assert_int_equal(back.createdAt, o.createdAt);
  assert_int_equal(back.status, SHOP_ORDER_STATUS_SHIPPED);
  dorm_arena_free(&a);
}

/* A json field keeps its numbers exactly: the canonical text went through
 * doubles, so 9007199254740993 was stored as 9007199254740992 and a
 * 40-digit integer lost 23 digits, silently. What DynamoDB holds (read
 * with the low-level client) and what the typed get returns are the same
 * exact text; what a double cannot hold at all is refused before sending. */
static void json_field_numbers_exact(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *c1 = cust("json");
  shop_Order o = order(c1, "j1", SHOP_ORDER_STATUS_PENDING, "1");
  o.metadata = "{\"big\": 9007199254740993, \"neg\": -0, \"sum\": 0.30000000000000004,"
               " \"u64\": 18446744073709551617, \"long\": 1234567890123456789012345678901234567890,"
               " \"tiny\": 1e-320, \"a\": [1.50, 1e2, \"9007199254740993\"]}";
  const char *want = "{\"a\":[1.5,100,\"9007199254740993\"],\"big\":9007199254740993,"
                     "\"long\":1.23456789012345678901234567890123456789e+39,\"neg\":0,\"sum\":0.30000000000000004,"
                     "\"tiny\":1e-320,\"u64\":18446744073709551617}";
  CHECK(shop_Order_create(client, &o, NULL, &a));
  dorm_av key = dorm_av_empty(DORM_AV_M), raw;
  char pk[160];
  snprintf(pk, sizeof pk, "CUSTOMER#%s", c1);
  dorm_av_map_set(&a, &key, "PK", dorm_av_str(pk));
  dorm_av_map_set(&a, &key, "SK", dorm_av_str("ORDER#j1"));
  dorm_get_input gin = {.table = "shop", .key = &key, .consistent_read = true};
  CHECK(dorm_get_item(client, &gin, &a, &raw));
  const dorm_av *v = dorm_av_map_get(&raw, "metadata");
  assert_non_null(v);
  assert_int_equal(v->type, DORM_AV_S);
  assert_int_equal(v->u.s.len, strlen(want));
  assert_memory_equal(v->u.s.ptr, want, strlen(want));
  shop_Order got;
  CHECK(shop_Order_get(client, &(shop_Order_key){c1, "j1"}, NULL, &a, &got));
  assert_string_equal(got.metadata, want);

  /* deep nesting is kept as it is; a member twice and a number past a
   * double's range are refused, naming the field, and nothing is sent */
  char deep[2 * 300 + 8];
  memset(deep, '[', 300);
  deep[300] = '7';
  memset(deep + 301, ']', 300);
  deep[601] = '\0';
  o = order(c1, "j2", SHOP_ORDER_STATUS_PENDING, "1");
  o.metadata = deep;
  CHECK(shop_Order_create(client, &o, NULL, &a));
  CHECK(shop_Order_get(client, &(shop_Order_key){c1, "j2"}, NULL, &a, &got));
  assert_string_equal(got.metadata, deep);
  static const struct {
    const char *json, *msg;
  } bad[] = {
      {"{\"a\":1,\"a\":2}", "Order.metadata: not valid JSON: an object has the key \"a\" twice"},
      {"[1e400]", "Order.metadata: not valid JSON: a number is out of range (beyond a double: JSON readers take it as Infinity)"},
      {"[1e-400]", "Order.metadata: not valid JSON: a number is out of range (beyond a double: JSON readers take it as 0)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t before = attempts();
    o = order(c1, "j3", SHOP_ORDER_STATUS_PENDING, "1");
    o.metadata = bad[i].json;
    assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
    if (!strstr(dorm_client_errmsg(client), bad[i].msg)) fail_msg("%s: %s", bad[i].json, dorm_client_errmsg(client));
    assert_int_equal(attempts(), before);
  }
  dorm_arena_free(&a);
}

/* A json field read from DynamoDB must hold JSON: an item another tool (or
 * a hand) wrote with text that is not JSON was handed to the caller as
 * stored, and the type promised it was JSON. Every read path (get, query
 * page, batch get, a transaction's get read through from_item, a stream
 * record's image, the item's JSON) now refuses it like any other stored
 * value that does not fit its type: DORM_ERR_SCHEMA_MISMATCH naming the
 * field. Valid JSON another tool wrote (spaced, unsorted) reads as stored. */
static void json_field_read_must_be_json(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  static const struct {
    const char *text, *why;
  } bad[] = {
      {"{\"a\":1", "malformed JSON"},
      {"not json", "malformed JSON"},
      {"", "empty JSON body"},
      {"{\"a\":01}", "\"01\" at byte 5 is not a JSON number"},
      {"[1.]", "\"1.\" at byte 1 is not a JSON number"},
      {"[-.5]", "\"-.5\" at byte 1 is not a JSON number"},
      {"\"tab\there\"", "a control character (U+0009) not escaped in a string at byte 4"},
      {"\f[]", "byte 0x0c at byte 0 is not JSON"},
      {"\xef\xbb\xbf{}", "a byte order mark at byte 0"},
  };
  char err[512];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char c[96], id[16];
    snprintf(c, sizeof c, "%s-jread%zu", run_id, i);
    snprintf(id, sizeof id, "r%zu", i);
    /* the item as dormc's code writes it, its metadata replaced through the
     * low-level client, which writes any S */
    shop_Order o = order(c, id, SHOP_ORDER_STATUS_PENDING, "1");
    o.metadata = "{}";
    dorm_av item;
    CHECK(shop_Order_to_item(&o, &a, &item, err, sizeof err));
    CHECK(dorm_av_map_set(&a, &item, "metadata", dorm_av_str(bad[i].text)));
    dorm_put_input pin = {.table = "shop", .item = &item};
    CHECK(dorm_put_item(client, &pin, &a, NULL));
    char want[256];
    snprintf(want, sizeof want, "Order.metadata: stored text is not valid JSON: %s", bad[i].why);
#define REFUSED(call, msg)                                                                   \
  do {                                                                                     \
    dorm_status st_ = (call);                                                              \
    if (st_ != DORM_ERR_SCHEMA_MISMATCH || !strstr((msg), want))                           \
      fail_msg("case %zu, %s: %s: %s (want \"%s\")", i, #call, dorm_strerror(st_), (msg), want); \
  } while (0)
    shop_Order got;
    shop_Order_key key = {c, id};
    REFUSED(shop_Order_get(client, &key, NULL, &a, &got), dorm_client_errmsg(client));
    shop_Order_page page;
    REFUSED(shop_Order_query(client, c, NULL, NULL, &a, &page), dorm_client_errmsg(client));
    bool found;
    REFUSED(shop_Order_batch_get(client, &key, 1, true, &a, &got, &found), dorm_client_errmsg(client));
    /* TransactGetItems (no model call): the item read through from_item */
    dorm_av k = dorm_av_empty(DORM_AV_M), items[1];
    char pk[160];
    snprintf(pk, sizeof pk, "CUSTOMER#%s", c);
    dorm_av_map_set(&a, &k, "PK", dorm_av_str(pk));
    dorm_av_map_set(&a, &k, "SK", dorm_av_str(dorm_arena_printf(&a, "ORDER#%s", id)));
    dorm_tx_get tg = {.table = "shop", .key = &k};
    CHECK(dorm_transact_get(client, &tg, 1, &a, items));
    assert_int_equal(items[0].type, DORM_AV_M);
    err[0] = '\0';
    REFUSED(shop_Order_from_item(&items[0], 0, &a, &got, err, sizeof err), err);
    /* a stream record's image, and the item's JSON decoded directly */
    const char *img;
    size_t len;
    CHECK(dorm_item_to_json(&items[0], &a, 0, &img, &len, err, sizeof err));
    char *event = insert_event(&a, img);
    dorm_stream_record *recs;
    size_t n;
    CHECK(dorm_stream_parse(event, strlen(event), &a, &recs, &n, err, sizeof err));
    assert_int_equal(n, 1);
    err[0] = '\0';
    REFUSED(shop_Order_from_item(&recs[0].new_image, 0, &a, &got, err, sizeof err), err);
    err[0] = '\0';
    REFUSED(dorm_model_from_json(&shop_Order_desc, img, len, 0, &a, &got, err, sizeof err), err);
#undef REFUSED
  }

  /* JSON as another tool writes it is JSON: read as stored */
  const char *c = cust("jother");
  shop_Order o = order(c, "ok", SHOP_ORDER_STATUS_PENDING, "1");
  o.metadata = "{}";
  dorm_av item;
  CHECK(shop_Order_to_item(&o, &a, &item, err, sizeof err));
  const char *spaced = "{ \"b\": [1e2, -0.5, \"\\u00e9\\n\"],\r\n\t\"a\": {\"x\": null, \"y\": true, \"x\": false} }";
  CHECK(dorm_av_map_set(&a, &item, "metadata", dorm_av_str(spaced)));
  dorm_put_input pin = {.table = "shop", .item = &item};
  CHECK(dorm_put_item(client, &pin, &a, NULL));
  shop_Order got;
  CHECK(shop_Order_get(client, &(shop_Order_key){c, "ok"}, NULL, &a, &got));
  assert_string_equal(got.metadata, spaced);
  shop_Order_page page;
  CHECK(shop_Order_query(client, c, NULL, NULL, &a, &page));
  assert_int_equal(page.count, 1);
  assert_string_equal(page.items[0].metadata, spaced);
  dorm_arena_free(&a);
}

/* The project's issues by GSI1SK = "{updatedAt}", most recently updated
 * first: their ids joined by spaces. Each item's updatedAt is checked
 * against the key that found it (the index returns the keys too). */
static const char *recent_order(const char *project, dorm_arena *a) {
  dorm_query_opts q;
  memset(&q, 0, sizeof q);
  q.descending = true;
  tracker_Issue_page page;
  CHECK(tracker_Issue_query_gsi_recent(client, project, NULL, &q, a, &page));
  char *out = dorm_arena_calloc(a, 1, 64);
  for (size_t i = 0; i < page.count; i++) {
    strcat(out, i ? " " : "");
    strncat(out, page.items[i].issueId, 8);
  }
  return out;
}

/* Whether GSI2SK = "{version}#{issueId}" finds the issue at that version. */
static bool at_revision(const char *project, const char *id, int64_t version, dorm_arena *a) {
  tracker_Issue_query_gsi_revision_sk sk;
  memset(&sk, 0, sizeof sk);
  sk.op = DORM_SK_EQ;
  sk.version = version;
  sk.issueId = id;
  tracker_Issue_page page;
  CHECK(tracker_Issue_query_gsi_revision(client, project, &sk, NULL, a, &page));
  return page.count == 1 && strcmp(page.items[0].issueId, id) == 0 && page.items[0].version == version;
}

static tracker_Issue issue(const char *project, const char *id) {
  tracker_Issue o;
  memset(&o, 0, sizeof o);
  o.project = project;
  o.issueId = id;
  o.title = "t";
  o.priority = TRACKER_PRIORITY_LOW;
  return o;
}

static void index_keys_follow_lifecycle(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *p = cust("tracker");
  tracker_Issue is[3] = {issue(p, "i1"), issue(p, "i2"), issue(p, "i3")};
  for (int i = 0; i < 3; i++) CHECK(tracker_Issue_create(client, &is[i], NULL, &a));
  assert_string_equal(recent_order(p, &a), "i3 i2 i1");
  assert_true(at_revision(p, "i1", 0, &a));

  /* _update: updatedAt and version move, and so do GSI1SK and GSI2SK */
  tracker_Issue_key k1 = {p, "i1"};
  dorm_model_update u;
  tracker_Issue_update_begin(&u, &a);
  CHECK(tracker_Issue_set_title(&u, "first"));
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  uo.w.check_version = true;
  uo.w.expected_version = 0;
  uo.return_new = true;
  tracker_Issue after;
  CHECK(tracker_Issue_update(client, &k1, &u, &uo, &a, &after));
  assert_int_equal(after.version, 1);
  assert_true(after.updatedAt > is[2].updatedAt);
  assert_string_equal(recent_order(p, &a), "i1 i3 i2");
  assert_true(at_revision(p, "i1", 1, &a));
  assert_false(at_revision(p, "i1", 0, &a));

  /* _update_fields */
  static const tracker_Issue_field title_only[] = {tracker_Issue_f_title};
  is[1].title = "second";
  CHECK(tracker_Issue_update_fields(client, &is[1], title_only, 1, NULL, NULL));
  assert_int_equal(is[1].version, 1);
  assert_string_equal(recent_order(p, &a), "i2 i1 i3");
  assert_true(at_revision(p, "i2", 1, &a));

  /* a transaction's update */
  tracker_Issue_key k3 = {p, "i3"};
  dorm_tx tx;
  dorm_tx_init(&tx, &a);
  tracker_Issue_update_begin(&u, &a);
  CHECK(tracker_Issue_set_priority(&u, TRACKER_PRIORITY_HIGH));
  dorm_write_opts w;
  memset(&w, 0, sizeof w);
  w.check_version = true;
  w.expected_version = 0;
  assert_int_equal(tracker_Issue_tx_update(&tx, &k3, &u, &w), 0);
  CHECK(dorm_tx_commit(client, &tx, NULL));
  assert_string_equal(recent_order(p, &a), "i3 i2 i1");
  assert_true(at_revision(p, "i3", 1, &a));

  /* puts through a batch and a transaction write the keys from the new updatedAt */
  CHECK(tracker_Issue_get(client, &k1, NULL, &a, &is[0]));
  CHECK(tracker_Issue_batch_put(client, &is[0], 1, &a));
  assert_string_equal(recent_order(p, &a), "i1 i3 i2");
  assert_true(at_revision(p, "i1", 1, &a));
  CHECK(tracker_Issue_get(client, &(tracker_Issue_key){p, "i2"}, NULL, &a, &is[1]));
  dorm_tx_init(&tx, &a);
  assert_int_equal(tracker_Issue_tx_put(&tx, &is[1], NULL), 0);
  CHECK(dorm_tx_commit(client, &tx, NULL));
  assert_string_equal(recent_order(p, &a), "i2 i1 i3");

  /* GSI2SK needs the new version: an update that does not check it is
   * refused (nothing is written) rather than leaving a stale key */
  uint64_t before = attempts();
  tracker_Issue_update_begin(&u, &a);
  CHECK(tracker_Issue_set_title(&u, "unchecked"));
  assert_int_equal(tracker_Issue_update(client, &k1, &u, NULL, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(client), "GSI2SK"));
  assert_non_null(strstr(dorm_client_errmsg(client), "check_version"));
  dorm_tx_init(&tx, &a);
  tracker_Issue_update_begin(&u, &a);
  CHECK(tracker_Issue_set_title(&u, "unchecked"));
  assert_int_equal(tracker_Issue_tx_update(&tx, &k1, &u, NULL), -1);
  assert_int_equal(tx.status, DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(tx.err, "GSI2SK"));
  assert_int_equal(attempts(), before);
  dorm_arena_free(&a);
}

/* Fields added with defaults: an item stored before they existed reads as
 * the defaults, a NULL string or decimal writes its default, and a value
 * the caller sets is kept. */
static void defaults_fill_what_old_items_lack(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *p = cust("defaults");
  char json[512];
  snprintf(json, sizeof json,
           "{\"PK\":{\"S\":\"PROJECT#%s\"},\"SK\":{\"S\":\"ISSUE#old\"},\"_type\":{\"S\":\"Issue\"},"
           "\"project\":{\"S\":\"%s\"},\"issueId\":{\"S\":\"old\"},\"title\":{\"S\":\"from v1\"},"
           "\"priority\":{\"S\":\"low\"},\"createdAt\":{\"S\":\"2020-01-01T00:00:00Z\"},"
           "\"updatedAt\":{\"S\":\"2020-01-01T00:00:00Z\"},\"version\":{\"N\":\"4\"}}",
           p, p);
  dorm_av old;
  CHECK(dorm_item_from_json(json, strlen(json), &a, &old, NULL, 0));
  dorm_put_input pin = {.table = "tracker_models", .item = &old};
  CHECK(dorm_put_item(client, &pin, &a, NULL));

  tracker_Issue got;
  CHECK(tracker_Issue_get(client, &(tracker_Issue_key){p, "old"}, NULL, &a, &got));
  assert_string_equal(got.title, "from v1");
  assert_string_equal(got.component, "general");
  assert_int_equal(got.points, -1);
  assert_string_equal(got.estimate, "1.5");
  assert_true(got.blocked);
  assert_int_equal(got.triage, TRACKER_PRIORITY_HIGH);
  int64_t due;
  assert_true(dorm_time_parse("2030-01-02T02:04:05Z", 20, &due));
  assert_true(got.due == due);
  assert_int_equal(got.version, 4);
  /* a projection leaves the fields it did not ask for unset: no defaults */
  static const uint32_t title_only[] = {tracker_Issue_f_title};
  dorm_get_opts go = {.fields = title_only, .nfields = 1};
  tracker_Issue part;
  CHECK(tracker_Issue_get(client, &(tracker_Issue_key){p, "old"}, &go, &a, &part));
  assert_string_equal(part.title, "from v1");
  assert_null(part.component);
  assert_int_equal(part.triage, 0);

  /* written back (a put of what was read), the defaults are stored */
  CHECK(tracker_Issue_put(client, &got, NULL, &a));
  dorm_av key = dorm_av_empty(DORM_AV_M), raw;
  char pk[128];
  snprintf(pk, sizeof pk, "PROJECT#%s", p);
  dorm_av_map_set(&a, &key, "PK", dorm_av_str(pk));
  dorm_av_map_set(&a, &key, "SK", dorm_av_str("ISSUE#old"));
  dorm_get_input gin = {.table = "tracker_models", .key = &key, .consistent_read = true};
  CHECK(dorm_get_item(client, &gin, &a, &raw));
  const dorm_av *v = dorm_av_map_get(&raw, "component");
  assert_non_null(v);
  assert_int_equal(v->type, DORM_AV_S);
  assert_memory_equal(v->u.s.ptr, "general", 7);
  v = dorm_av_map_get(&raw, "triage");
  assert_non_null(v);
  assert_memory_equal(v->u.s.ptr, "HIGH", 4);

  /* a new item whose string and decimal are left NULL gets the defaults;
   * set values are kept */
  tracker_Issue fresh = issue(p, "new");
  fresh.points = 7;
  CHECK(tracker_Issue_create(client, &fresh, NULL, &a));
  tracker_Issue back;
  CHECK(tracker_Issue_get(client, &(tracker_Issue_key){p, "new"}, NULL, &a, &back));
  assert_string_equal(back.component, "general");
  assert_string_equal(back.estimate, "1.5");
  assert_int_equal(back.points, 7);
  fresh = issue(p, "set");
  fresh.component = "ui";
  fresh.estimate = "3";
  CHECK(tracker_Issue_create(client, &fresh, NULL, &a));
  CHECK(tracker_Issue_get(client, &(tracker_Issue_key){p, "set"}, NULL, &a, &back));
  assert_string_equal(back.component, "ui");
  assert_string_equal(back.estimate, "3");
  dorm_arena_free(&a);
}

/* The short forms (issue 9, "less C"): structs in one designated
 * initializer (DORM_SOME, DORM_ARRAY over a static array), every page of a
 * query or scan through _each, a versioned update from the object in one
 * call. */
typedef struct each_count {
  size_t items, calls;
  const char *customer;
  dorm_status stop_with;
} each_count;

static dorm_status count_orders(void *user, const shop_Order *items, size_t n) {
  each_count *e = (each_count *)user;
  e->calls++;
  for (size_t i = 0; i < n; i++)
    if (strcmp(items[i].customerId, e->customer) == 0) e->items++;
  return e->stop_with;
}

static void short_forms(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *cid = cust("short");
  static const char *const tags[] = {"gift", "new"};
  static const char *const ids[] = {"s1", "s2", "s3", "s4", "s5", "s6", "s7"};
  shop_Address home = {.street = "1 Main St", .city = "Springfield", .country = "US"};
  for (size_t i = 0; i < 7; i++) {
    shop_Order o = {.customerId = cid,
                    .orderId = ids[i],
                    .status = SHOP_ORDER_STATUS_PENDING,
                    .total = {.amount = "10", .currency = "EUR"},
                    .tags = DORM_ARRAY(tags),
                    DORM_SOME(shipTo, home),
                    DORM_SOME(expiresAt, 4102444800)};
    CHECK(shop_Order_create(client, &o, NULL, &a));
  }
  shop_Order got;
  CHECK(shop_Order_get(client, &(shop_Order_key){cid, "s1"}, NULL, &a, &got));
  assert_int_equal(got.tags.count, 2);
  assert_true(got.has_shipTo);
  assert_string_equal(got.shipTo.city, "Springfield");
  assert_true(got.has_expiresAt);
  assert_int_equal(got.expiresAt, 4102444800);

  /* every page, 2 items a page */
  dorm_query_opts qo = {.limit = 2};
  each_count e = {0, 0, cid, DORM_OK};
  CHECK(shop_Order_query_each(client, cid, NULL, &qo, count_orders, &e));
  assert_int_equal(e.items, 7);
  assert_true(e.calls >= 4);
  /* a callback's status stops the loop and is returned */
  each_count stop = {0, 0, cid, DORM_ERR_NOT_FOUND};
  assert_int_equal(shop_Order_query_each(client, cid, NULL, &qo, count_orders, &stop), DORM_ERR_NOT_FOUND);
  assert_int_equal(stop.calls, 1);
  /* a scan with a filter, every page */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_query_opts so = {.expr = &x, .filter = shop_Order_cond_customerId(&x, DORM_EQ, cid), .limit = 25};
  each_count all = {0, 0, cid, DORM_OK};
  CHECK(shop_Order_scan_each(client, &so, count_orders, &all));
  assert_int_equal(all.items, 7);

  /* a versioned update of the object in one call: *o is the new item */
  dorm_model_update u;
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_status(&u, SHOP_ORDER_STATUS_PAID));
  shop_Order stale = got;
  CHECK(shop_Order_update_object(client, &got, &u, &a));
  assert_int_equal(got.version, 1);
  assert_int_equal(got.status, SHOP_ORDER_STATUS_PAID);
  assert_int_equal(got.tags.count, 2);
  /* the same from a stale copy (version 0) is refused */
  shop_Order_update_begin(&u, &a);
  CHECK(shop_Order_set_status(&u, SHOP_ORDER_STATUS_CANCELLED));
  assert_int_equal(shop_Order_update_object(client, &stale, &u, &a), DORM_ERR_CONDITION_FAILED);
  assert_non_null(strstr(dorm_client_errmsg(client), "UpdateItem: Order PK=CUSTOMER#"));
  assert_non_null(strstr(dorm_client_errmsg(client), ": no item with this key exists, or its stored version is not 0"));
  shop_Order now;
  CHECK(shop_Order_get(client, &(shop_Order_key){cid, "s1"}, NULL, &a, &now));
  assert_int_equal(now.status, SHOP_ORDER_STATUS_PAID);
  dorm_arena_free(&a);
}

static void bad_input_never_reaches_dynamodb(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  uint64_t before = attempts();
  shop_Order o = order(cust("bad"), "x", SHOP_ORDER_STATUS_PENDING, "1");
  o.note = "\xff\xfe not UTF-8";
  assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(client), "note"));
  o.note = NULL;
  o.total.amount = "123456789012345678901234567890123456789"; /* 39 digits */
  assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(client), "amount"));
  o.total.amount = "1";
  o.orderId = NULL; /* required */
  assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(client), "orderId"));
  o.orderId = "x";
  o.status = (shop_OrderStatus)0;
  assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  o.status = SHOP_ORDER_STATUS_PAID;
  size_t big = 410 * 1024;
  char *text = dorm_arena_alloc(&a, big + 1);
  memset(text, 'x', big);
  text[big] = '\0';
  o.note = text;
  assert_int_equal(shop_Order_put(client, &o, NULL, &a), DORM_ERR_TOO_LARGE);
  o.note = NULL;
  /* more fields than the model has (so one is listed twice): refused, and
   * the client says why */
  shop_Order_field too_many[32];
  size_t n = shop_Order_desc.nfields + 1;
  for (size_t i = 0; i < n; i++) too_many[i] = (shop_Order_field)(i % shop_Order_desc.nfields);
  assert_int_equal(shop_Order_update_fields(client, &o, too_many, n, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  char want[96];
  snprintf(want, sizeof want, "Order: %zu fields listed, but the model has %u", n, shop_Order_desc.nfields);
  if (!strstr(dorm_client_errmsg(client), want)) fail_msg("message \"%s\" lacks \"%s\"", dorm_client_errmsg(client), want);
  uint32_t ids[32];
  for (size_t i = 0; i < n; i++) ids[i] = (uint32_t)too_many[i];
  assert_int_equal(dorm_model_update_fields(client, &shop_Order_desc, &o, ids, n, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(client), want));
  assert_int_equal(attempts(), before);
  dorm_arena_free(&a);
}

/* A string value may not run into the literal that follows it in a key
 * template: with SK = "COMMENT#{thread}#{commentId}", thread "a#b" of
 * comment "c" and thread "a" of comment "b#c" were the same key (the second
 * put replaced the first item; a get of one returned the other), and a
 * field read back from the key split at the first "#". Refused before any
 * request, naming the field; the last field of a key takes any text. */
static void key_values_that_run_into_the_template(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const char *proj = cust("runinto");
  tracker_Comment one = {.project = proj, .thread = "a", .commentId = "b#c", .topic = "t", .body = "one"};
  CHECK(tracker_Comment_create(client, &one, NULL, &a)); /* the last field: any text */
  tracker_Comment two = {.project = proj, .thread = "a#b", .commentId = "c", .topic = "t", .body = "two"};
  uint64_t before = attempts();
  assert_int_equal(tracker_Comment_create(client, &two, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  if (!strstr(dorm_client_errmsg(client), "Comment.thread: \"a#b\" would run into the \"#\" that follows it in key SK"))
    fail_msg("message: %s", dorm_client_errmsg(client));
  assert_int_equal(tracker_Comment_put(client, &two, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  tracker_Comment got;
  tracker_Comment_key k2 = {proj, "a#b", "c"};
  assert_int_equal(tracker_Comment_get(client, &k2, NULL, &a, &got), DORM_ERR_INVALID_ARGUMENT);
  tracker_Comment_key keys[2] = {{proj, "a", "b#c"}, {proj, "a#b", "c"}};
  tracker_Comment outs[2];
  bool found[2];
  assert_int_equal(tracker_Comment_batch_get(client, keys, 2, false, &a, outs, found), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(tracker_Comment_batch_put(client, &two, 1, &a), DORM_ERR_INVALID_ARGUMENT);
  dorm_tx tx;
  dorm_tx_init(&tx, &a);
  tracker_Comment_tx_put(&tx, &two, NULL);
  size_t failed;
  assert_int_equal(dorm_tx_commit(client, &tx, &failed), DORM_ERR_INVALID_ARGUMENT);
  /* an update that sets a field of an index key template */
  tracker_Comment_key k1 = {proj, "a", "b#c"};
  dorm_model_update u;
  tracker_Comment_update_begin(&u, &a);
  tracker_Comment_set_topic(&u, "x#a");
  assert_int_equal(tracker_Comment_update(client, &k1, &u, NULL, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  if (!strstr(dorm_client_errmsg(client), "Comment.topic: the value would run into the \"#\" that follows it in key GSI1PK"))
    fail_msg("message: %s", dorm_client_errmsg(client));
  assert_int_equal(attempts(), before);
  /* the first item is intact and reads back with its own fields */
  CHECK(tracker_Comment_get(client, &k1, NULL, &a, &got));
  assert_string_equal(got.thread, "a");
  assert_string_equal(got.commentId, "b#c");
  assert_string_equal(got.body, "one");
  tracker_Comment_update_begin(&u, &a);
  tracker_Comment_set_topic(&u, "x");
  CHECK(tracker_Comment_update(client, &k1, &u, NULL, &a, NULL));

  /* An empty index key stored by its field: refused by put and, before any
   * request, by an update too (it went to DynamoDB: ValidationException). */
  before = attempts();
  one.reviewer = "";
  assert_int_equal(tracker_Comment_put(client, &one, NULL, &a), DORM_ERR_INVALID_ARGUMENT);
  tracker_Comment_update_begin(&u, &a);
  assert_int_equal(tracker_Comment_set_reviewer(&u, ""), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(tracker_Comment_update(client, &k1, &u, NULL, &a, NULL), DORM_ERR_INVALID_ARGUMENT);
  if (!strstr(dorm_client_errmsg(client), "Comment.reviewer: key attribute GSI2PK would be empty"))
    fail_msg("message: %s", dorm_client_errmsg(client));
  assert_int_equal(attempts(), before);
  tracker_Comment_update_begin(&u, &a);
  CHECK(tracker_Comment_set_reviewer(&u, "rev"));
  CHECK(tracker_Comment_update(client, &k1, &u, NULL, &a, NULL));

  /* One write condition (and its builder) for several puts and deletes: the
   * second call failed "ConditionExpression is already set on this builder". */
  dorm_expr wx;
  dorm_expr_init(&wx, &a);
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.expr = &wx;
  wo.condition = tracker_Comment_cond_body_not_exists(&wx);
  tracker_Comment more[3];
  const char *more_ids[3] = {"m1", "m2", "m3"};
  for (int i = 0; i < 3; i++) {
    more[i] = (tracker_Comment){.project = proj, .thread = "w", .commentId = more_ids[i], .topic = "t"};
    CHECK(tracker_Comment_put(client, &more[i], &wo, &a));
  }
  more[0].body = "now";
  CHECK(tracker_Comment_put(client, &more[0], NULL, &a));
  wo.condition = tracker_Comment_cond_body_exists(&wx);
  for (int i = 0; i < 3; i++) {
    tracker_Comment_key mk = {proj, "w", more_ids[i]};
    assert_int_equal(tracker_Comment_delete(client, &mk, &wo, NULL), i == 0 ? DORM_OK : DORM_ERR_CONDITION_FAILED);
  }
  dorm_arena_free(&a);
}

/* DynamoDB's ResourceNotFoundException says only "Cannot do operations on a
 * non-existent table": the client's message names the model's table. */
static void a_missing_table_is_named(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char missing[64];
  ts_unique_name(missing, sizeof missing, "gen_missing");
  dorm_model_desc d = shop_Order_desc;
  d.table = missing;
  shop_Order o = order(cust("missing"), "m1", SHOP_ORDER_STATUS_PENDING, "1");
  shop_Order got;
  dorm_model_page page;
  uint64_t count = 0;
  uint32_t total = (uint32_t)shop_Order_f_total;
  const char *ops[] = {"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Query"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    dorm_status st = DORM_OK;
    switch (i) {
    case 0: st = dorm_model_put(client, &d, &o, false, NULL, &a); break;
    case 1: st = dorm_model_get(client, &d, &o, NULL, &a, &got); break;
    case 2: st = dorm_model_update_fields(client, &d, &o, &total, 1, NULL, &a); break;
    case 3: st = dorm_model_delete(client, &d, &o, NULL, &a); break;
    case 4: st = dorm_model_query(client, &d, 0, &o, NULL, NULL, &a, &page); break;
    default: st = dorm_model_count(client, &d, 0, &o, NULL, NULL, &count); break;
    }
    assert_int_equal(st, DORM_ERR_TABLE_NOT_FOUND);
    char want[160];
    snprintf(want, sizeof want, "%s: table \"%s\": ResourceNotFoundException", ops[i], missing);
    if (!strstr(dorm_client_errmsg(client), want))
      fail_msg("%zu: message \"%s\" lacks \"%s\"", i, dorm_client_errmsg(client), want);
  }
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crud_and_lifecycle),
      cmocka_unit_test(numbers_lists_and_conditions),
      cmocka_unit_test(queries_pages_and_cursors),
      cmocka_unit_test(scans_batches_and_transactions),
      cmocka_unit_test(stream_records_decode),
      cmocka_unit_test(json_field_numbers_exact),
      cmocka_unit_test(json_field_read_must_be_json),
      cmocka_unit_test(index_keys_follow_lifecycle),
      cmocka_unit_test(defaults_fill_what_old_items_lack),
      cmocka_unit_test(short_forms),
      cmocka_unit_test(bad_input_never_reaches_dynamodb),
      cmocka_unit_test(key_values_that_run_into_the_template),
      cmocka_unit_test(a_missing_table_is_named),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
