/* The model layer's multi-item operations against DynamoDB Local: queries
 * on the table and on GSIs with sort-key conditions, filters and
 * projections; pagination with DynamORM cursors (and cursors refused for
 * another index or order); two models in one table; scan, parallel scan and
 * count; batches of 1,000 items; transactions across models; and a stream
 * record read back from DynamoDB Local's stream into a struct. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/ops.h"
#include "dorm/tables.h"
#include "model_ddb.h"
#include "test_support.h"

#define NQ 30 /* orders of customer c-q */

static dorm_client *C;
static dorm_arena A = DORM_ARENA_INIT;
static int64_t T0; /* createdAt of order o-00 */
static char ids[NQ][8];

static tm_Order order(const char *customer, const char *id, int i) {
  static const tm_OrderStatus st[] = {TM_STATUS_PENDING, TM_STATUS_PAID, TM_STATUS_SHIPPED};
  tm_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = customer;
  o.orderId = id;
  o.status = st[i % 3];
  o.total.amount = "10";
  o.total.currency = "EUR";
  if (i % 2 == 0) o.note = "even";
  o.createdAt = T0 + (int64_t)i * 1000000000;
  return o;
}

static int setup(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  C = ts_ddb_client();
  md_create_tables(C);
  T0 = INT64_C(1795613924000000000);
  for (int i = 0; i < NQ; i++) {
    snprintf(ids[i], sizeof ids[i], "o-%02d", i);
    tm_Order o = order("c-q", ids[i], i);
    if (dorm_model_put(C, &tm_Order_desc, &o, false, NULL, &A) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  }
  /* another model in the same partition */
  tm_Customer cu;
  memset(&cu, 0, sizeof cu);
  cu.customerId = "c-q";
  cu.email = "q@example.com";
  cu.name = "Quinn";
  if (dorm_model_put(C, &tm_Customer_desc, &cu, true, NULL, &A) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  md_drop_tables(C);
  dorm_client_free(C);
  dorm_arena_free(&A);
  curl_global_cleanup();
  return 0;
}

static int reset(void **state) {
  (void)state;
  dorm_arena_reset(&A);
  return 0;
}

static tm_Order pk_of(const char *customer) {
  tm_Order k;
  memset(&k, 0, sizeof k);
  k.customerId = customer;
  return k;
}

static tm_Order sk_of(const char *id) {
  tm_Order k;
  memset(&k, 0, sizeof k);
  k.orderId = id;
  return k;
}

/* Runs a query and returns the page's items. */
static const tm_Order *query(uint32_t index, const tm_Order *pk, const dorm_sk_cond *sk, const dorm_query_opts *o,
                             dorm_model_page *page) {
  MD_OK(C, dorm_model_query(C, &tm_Order_desc, index, pk, sk, o, &A, page));
  return page->items;
}

static void query_table(void **state) {
  (void)state;
  tm_Order pk = pk_of("c-q");
  dorm_model_page page;
  /* the orders only: the customer in the same partition is left out */
  const tm_Order *items = query(TM_O_IX_TABLE, &pk, NULL, NULL, &page);
  assert_int_equal(page.count, NQ);
  assert_false(page.has_more);
  assert_null(page.cursor);
  for (int i = 0; i < NQ; i++) {
    assert_string_equal(items[i].orderId, ids[i]);
    assert_true(items[i].createdAt == T0 + (int64_t)i * 1000000000);
  }
  /* sort key conditions on the rendered template */
  const struct {
    dorm_sk_op op;
    const char *lo, *hi, *prefix;
    int first, n;
  } cases[] = {
      {DORM_SK_EQ, "o-13", NULL, NULL, 13, 1},          {DORM_SK_LT, "o-02", NULL, NULL, 0, 2},
      {DORM_SK_LE, "o-02", NULL, NULL, 0, 3},           {DORM_SK_GT, "o-27", NULL, NULL, 28, 2},
      {DORM_SK_GE, "o-27", NULL, NULL, 27, 3},          {DORM_SK_BETWEEN, "o-05", "o-10", NULL, 5, 6},
      {DORM_SK_BEGINS_WITH, NULL, NULL, "o-1", 10, 10},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    tm_Order lo = sk_of(cases[c].lo), hi = sk_of(cases[c].hi);
    dorm_sk_cond sk = {cases[c].op, &lo, &hi, cases[c].prefix};
    items = query(TM_O_IX_TABLE, &pk, &sk, NULL, &page);
    if ((int)page.count != cases[c].n) fail_msg("case %zu: %zu items, want %d", c, page.count, cases[c].n);
    assert_string_equal(items[0].orderId, ids[cases[c].first]);
  }
  /* descending */
  dorm_query_opts qo;
  memset(&qo, 0, sizeof qo);
  qo.descending = true;
  items = query(TM_O_IX_TABLE, &pk, NULL, &qo, &page);
  assert_string_equal(items[0].orderId, ids[NQ - 1]);
  /* filters: (status = paid OR attribute_not_exists(note)) AND version = 0 */
  dorm_expr x;
  dorm_expr_init(&x, &A);
  tm_OrderStatus paid = TM_STATUS_PAID;
  int64_t v0 = 0;
  qo.descending = false;
  qo.expr = &x;
  qo.filter = dorm_cond_and(&x,
                            dorm_cond_or(&x, dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_status, DORM_EQ, &paid),
                                         dorm_model_cond_not_exists(&x, &tm_Order_desc, TM_O_note)),
                            dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_version, DORM_EQ, &v0));
  items = query(TM_O_IX_TABLE, &pk, NULL, &qo, &page);
  int want = 0;
  for (int i = 0; i < NQ; i++) want += (i % 3 == 1 || i % 2 == 1);
  assert_int_equal(page.count, want);
  for (size_t i = 0; i < page.count; i++)
    assert_true(items[i].status == TM_STATUS_PAID || items[i].note == NULL);
  assert_int_equal(page.scanned_count, NQ);
  /* projection: only the fields asked for */
  uint32_t fields[] = {TM_O_orderId, TM_O_status};
  memset(&qo, 0, sizeof qo);
  qo.fields = fields;
  qo.nfields = 2;
  items = query(TM_O_IX_TABLE, &pk, NULL, &qo, &page);
  assert_int_equal(page.count, NQ);
  assert_string_equal(items[3].orderId, ids[3]);
  assert_int_equal(items[3].status, TM_STATUS_PENDING);
  assert_null(items[3].customerId);
  assert_null(items[3].total.amount);
  assert_true(items[3].createdAt == 0);
  /* the other model of the partition: only the customer */
  tm_Customer cpk;
  memset(&cpk, 0, sizeof cpk);
  cpk.customerId = "c-q";
  MD_OK(C, dorm_model_query(C, &tm_Customer_desc, TM_C_IX_TABLE, &cpk, NULL, NULL, &A, &page));
  assert_int_equal(page.count, 1);
  assert_string_equal(((const tm_Customer *)page.items)[0].name, "Quinn");
  /* its keys_only index: a partial item (keys only) */
  cpk.email = "q@example.com";
  MD_OK(C, dorm_model_query(C, &tm_Customer_desc, TM_C_IX_EMAIL, &cpk, NULL, NULL, &A, &page));
  assert_int_equal(page.count, 1);
  assert_null(((const tm_Customer *)page.items)[0].name);
}

static void query_gsi(void **state) {
  (void)state;
  /* gsi-status: GSI1PK = "STATUS#{status}", GSI1SK = "{createdAt}" */
  tm_Order pk;
  memset(&pk, 0, sizeof pk);
  pk.status = TM_STATUS_PAID;
  tm_Order lo;
  memset(&lo, 0, sizeof lo);
  lo.createdAt = T0 + INT64_C(10) * 1000000000;
  dorm_sk_cond sk = {DORM_SK_GE, &lo, NULL, NULL};
  dorm_expr x;
  dorm_expr_init(&x, &A);
  const char *cq = "c-q";
  dorm_query_opts qo;
  memset(&qo, 0, sizeof qo);
  qo.expr = &x;
  qo.filter = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_customerId, DORM_EQ, &cq);
  dorm_model_page page;
  const tm_Order *items = query(TM_O_IX_STATUS, &pk, &sk, &qo, &page);
  int want[] = {10, 13, 16, 19, 22, 25, 28};
  assert_int_equal(page.count, 7);
  for (int i = 0; i < 7; i++) assert_string_equal(items[i].orderId, ids[want[i]]);
  /* time order is string order: BETWEEN on the fixed-width times */
  tm_Order hi = lo;
  hi.createdAt = T0 + INT64_C(16) * 1000000000;
  dorm_sk_cond between = {DORM_SK_BETWEEN, &lo, &hi, NULL};
  dorm_expr_init(&x, &A);
  qo.filter = dorm_model_cond_cmp(&x, &tm_Order_desc, TM_O_customerId, DORM_EQ, &cq);
  query(TM_O_IX_STATUS, &pk, &between, &qo, &page);
  assert_int_equal(page.count, 3);
}

/* Pages of `limit` items, each call continuing from the previous cursor. */
static void pagination(void **state) {
  (void)state;
  tm_Order pk = pk_of("c-q");
  dorm_query_opts qo;
  memset(&qo, 0, sizeof qo);
  qo.limit = 7;
  dorm_model_page page;
  int seen = 0, pages = 0;
  const char *first_cursor = NULL;
  do {
    const tm_Order *items = query(TM_O_IX_TABLE, &pk, NULL, &qo, &page);
    for (size_t i = 0; i < page.count; i++) assert_string_equal(items[i].orderId, ids[seen++]);
    assert_true(page.has_more == (page.cursor != NULL));
    if (pages++ == 0) first_cursor = page.cursor;
    qo.cursor = page.cursor;
  } while (page.has_more);
  assert_int_equal(seen, NQ);
  assert_int_equal(pages, 5);
  /* the cursor is DynamORM's: {"lastKey":{PK,SK},"sort":"ASC"} in URL-safe base64 */
  dorm_av key;
  const char *index, *sort;
  char err[256];
  assert_int_equal(dorm_cursor_decode(first_cursor, &A, &key, &index, &sort, err, sizeof err), DORM_OK);
  assert_string_equal(index, "");
  assert_string_equal(sort, "ASC");
  assert_string_equal(dorm_av_map_get(&key, "SK")->u.s.ptr, "ORDER#o-06");
  assert_string_equal(dorm_av_map_get(&key, "PK")->u.s.ptr, "CUSTOMER#c-q");
  /* a cursor continues only the query it was made for */
  qo.cursor = first_cursor;
  qo.descending = true;
  MD_EXPECT(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, &qo, &A, &page), DORM_ERR_BAD_CURSOR);
  assert_non_null(strstr(dorm_client_errmsg(C), "made for an ascending query, not for a descending query"));
  tm_Order spk;
  memset(&spk, 0, sizeof spk);
  spk.status = TM_STATUS_PAID;
  qo.descending = false;
  MD_EXPECT(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_STATUS, &spk, NULL, &qo, &A, &page), DORM_ERR_BAD_CURSOR);
  assert_non_null(strstr(dorm_client_errmsg(C), "made for the table, not for index \"gsi-status\""));
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_BAD_CURSOR), "ErrInvalidCursor");
  qo.cursor = "bm90IGEgY3Vyc29y";
  MD_EXPECT(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, &qo, &A, &page), DORM_ERR_BAD_CURSOR);
  /* GSI pages carry the index name */
  memset(&qo, 0, sizeof qo);
  qo.limit = 4;
  MD_OK(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_STATUS, &spk, NULL, &qo, &A, &page));
  assert_true(page.has_more);
  assert_int_equal(dorm_cursor_decode(page.cursor, &A, &key, &index, &sort, err, sizeof err), DORM_OK);
  assert_string_equal(index, "gsi-status");
  assert_non_null(dorm_av_map_get(&key, "GSI1SK"));
  const char *gsi_cursor = page.cursor;
  qo.cursor = gsi_cursor;
  MD_OK(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_STATUS, &spk, NULL, &qo, &A, &page));
  MD_EXPECT(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, &qo, &A, &page), DORM_ERR_BAD_CURSOR);
  assert_non_null(strstr(dorm_client_errmsg(C), "made for index \"gsi-status\", not for the table"));
}

static dorm_status count_items(void *user, const void *items, size_t count) {
  size_t *seen = user;
  const tm_Order *o = items;
  for (size_t i = 0; i < count; i++) {
    if (strncmp(o[i].orderId, "o-", 2) != 0) return DORM_ERR_SCHEMA_MISMATCH;
    seen[atoi(o[i].orderId + 2)]++;
  }
  return DORM_OK;
}

static dorm_status stop_items(void *user, const void *items, size_t count) {
  (void)user;
  (void)items;
  (void)count;
  return DORM_ERR_IO;
}

static void scan_count_parallel(void **state) {
  (void)state;
  uint64_t n = 0;
  tm_Order pk = pk_of("c-q");
  MD_OK(C, dorm_model_count(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, NULL, &n));
  assert_int_equal(n, NQ);
  dorm_sk_cond sk = {DORM_SK_BEGINS_WITH, NULL, NULL, "o-1"};
  MD_OK(C, dorm_model_count(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, &sk, NULL, &n));
  assert_int_equal(n, 10);
  /* a scan counts the model's items only, over pages */
  dorm_query_opts qo;
  memset(&qo, 0, sizeof qo);
  qo.limit = 4;
  MD_OK(C, dorm_model_count(C, &tm_Order_desc, TM_O_IX_TABLE, NULL, NULL, &qo, &n));
  assert_int_equal(n, NQ);
  MD_OK(C, dorm_model_count(C, &tm_Customer_desc, TM_C_IX_TABLE, NULL, NULL, NULL, &n));
  assert_int_equal(n, 1);
  /* scan pages with cursors */
  size_t seen[NQ] = {0};
  qo.limit = 8;
  dorm_model_page page;
  int pages = 0;
  do {
    MD_OK(C, dorm_model_scan(C, &tm_Order_desc, TM_O_IX_TABLE, &qo, &A, &page));
    count_items(seen, page.items, page.count);
    qo.cursor = page.cursor;
    pages++;
  } while (page.has_more);
  for (int i = 0; i < NQ; i++) assert_int_equal(seen[i], 1);
  assert_true(pages >= 4);
  /* a query cursor (it names its order) does not continue a scan */
  memset(&qo, 0, sizeof qo);
  qo.limit = 8;
  MD_OK(C, dorm_model_query(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, &qo, &A, &page));
  qo.cursor = page.cursor;
  MD_EXPECT(C, dorm_model_scan(C, &tm_Order_desc, TM_O_IX_TABLE, &qo, &A, &page), DORM_ERR_BAD_CURSOR);
  assert_non_null(strstr(dorm_client_errmsg(C), "made for an ascending query, not for a scan"));
  /* parallel: every order once */
  memset(seen, 0, sizeof seen);
  memset(&qo, 0, sizeof qo);
  qo.limit = 5;
  MD_OK(C, dorm_model_scan_parallel(C, &tm_Order_desc, &qo, 4, 2, count_items, seen));
  for (int i = 0; i < NQ; i++) assert_int_equal(seen[i], 1);
  /* the callback stops it */
  MD_EXPECT(C, dorm_model_scan_parallel(C, &tm_Order_desc, NULL, 3, 3, stop_items, NULL), DORM_ERR_IO);
  assert_non_null(strstr(dorm_client_errmsg(C), "stopped the scan"));
}

static void batches(void **state) {
  (void)state;
  enum { N = 1000 };
  tm_Order *objs = dorm_arena_calloc(&A, N, sizeof *objs);
  char (*names)[8] = dorm_arena_alloc(&A, N * 8);
  for (int i = 0; i < N; i++) {
    snprintf(names[i], 8, "b-%04d", i);
    objs[i] = order("c-b", names[i], i);
    objs[i].createdAt = 0;
  }
  MD_OK(C, dorm_model_batch_put(C, &tm_Order_desc, objs, N, &A));
  assert_true(objs[999].createdAt != 0 && objs[999].updatedAt == objs[0].updatedAt); /* lifecycle applied */
  uint64_t n = 0;
  tm_Order pk = pk_of("c-b");
  MD_OK(C, dorm_model_count(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, NULL, &n));
  assert_int_equal(n, N);
  /* get them back, with two that do not exist */
  tm_Order *keys = dorm_arena_calloc(&A, N + 2, sizeof *keys);
  for (int i = 0; i < N; i++) {
    keys[i].customerId = "c-b";
    keys[i].orderId = names[N - 1 - i];
  }
  keys[N].customerId = "c-b";
  keys[N].orderId = "nope";
  keys[N + 1].customerId = "c-none";
  keys[N + 1].orderId = "b-0001";
  tm_Order *out = dorm_arena_alloc(&A, (N + 2) * sizeof *out);
  bool *found = dorm_arena_alloc(&A, N + 2);
  MD_OK(C, dorm_model_batch_get(C, &tm_Order_desc, keys, N + 2, false, &A, out, found));
  for (int i = 0; i < N; i++) {
    assert_true(found[i]);
    assert_string_equal(out[i].orderId, names[N - 1 - i]); /* request order kept */
    assert_int_equal(out[i].status, objs[N - 1 - i].status);
  }
  assert_false(found[N]);
  assert_false(found[N + 1]);
  assert_null(out[N].orderId);
  /* delete them all */
  MD_OK(C, dorm_model_batch_delete(C, &tm_Order_desc, keys, N, &A));
  MD_OK(C, dorm_model_count(C, &tm_Order_desc, TM_O_IX_TABLE, &pk, NULL, NULL, &n));
  assert_int_equal(n, 0);
  /* a bad object fails the batch before anything is sent */
  uint64_t sent = md_requests(C);
  objs[500].total.currency = NULL;
  MD_EXPECT(C, dorm_model_batch_put(C, &tm_Order_desc, objs, N, &A), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "BatchWriteItem: item 500: Order.total.currency: required (NULL)");
  assert_true(md_requests(C) == sent);
}

static void transactions(void **state) {
  (void)state;
  /* two models, four kinds of action, one commit */
  dorm_tx tx;
  dorm_tx_init(&tx, &A);
  tm_Order o = order("c-t", "t1", 0);
  o.createdAt = 0;
  tm_Customer cu;
  memset(&cu, 0, sizeof cu);
  cu.customerId = "c-t";
  cu.email = "t@example.com";
  cu.name = "Tess";
  assert_int_equal(dorm_tx_put(&tx, &tm_Order_desc, &o, true, NULL), DORM_OK);
  assert_int_equal(dorm_tx_put(&tx, &tm_Customer_desc, &cu, false, NULL), DORM_OK);
  dorm_model_update u;
  dorm_model_update_init(&u, &tm_Order_desc, &A);
  tm_OrderStatus shipped = TM_STATUS_SHIPPED;
  assert_int_equal(dorm_model_update_set(&u, TM_O_status, &shipped), DORM_OK);
  tm_Order k0;
  memset(&k0, 0, sizeof k0);
  k0.customerId = "c-q";
  k0.orderId = "o-00";
  dorm_write_opts wo;
  memset(&wo, 0, sizeof wo);
  wo.check_version = true;
  wo.expected_version = 0;
  assert_int_equal(dorm_tx_update(&tx, &tm_Order_desc, &k0, &u, &wo), DORM_OK);
  dorm_expr cx;
  dorm_expr_init(&cx, &A);
  tm_Customer ck;
  memset(&ck, 0, sizeof ck);
  ck.customerId = "c-q";
  dorm_write_opts co;
  memset(&co, 0, sizeof co);
  co.expr = &cx;
  co.condition = dorm_model_cond_exists(&cx, &tm_Customer_desc, TM_C_email);
  assert_int_equal(dorm_tx_check(&tx, &tm_Customer_desc, &ck, &co), DORM_OK);
  size_t failed = 0;
  MD_OK(C, dorm_tx_commit(C, &tx, &failed));
  tm_Order got;
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &k0, NULL, &A, &got));
  assert_int_equal(got.status, TM_STATUS_SHIPPED);
  assert_int_equal(got.version, 1);
  tm_Order k1;
  memset(&k1, 0, sizeof k1);
  k1.customerId = "c-t";
  k1.orderId = "t1";
  MD_OK(C, dorm_model_get(C, &tm_Order_desc, &k1, NULL, &A, &got));
  assert_true(got.createdAt == o.createdAt && got.createdAt != 0);
  tm_Customer cgot;
  MD_OK(C, dorm_model_get(C, &tm_Customer_desc, &ck, NULL, &A, &cgot));

  /* all or nothing: the second action fails, the first is not applied */
  dorm_tx_init(&tx, &A);
  tm_Customer c2;
  memset(&c2, 0, sizeof c2);
  c2.customerId = "c-t2";
  c2.email = "t2@example.com";
  c2.name = "Theo";
  tm_Order dup = order("c-t", "t1", 0);
  assert_int_equal(dorm_tx_put(&tx, &tm_Customer_desc, &c2, false, NULL), DORM_OK);
  assert_int_equal(dorm_tx_put(&tx, &tm_Order_desc, &dup, true, NULL), DORM_OK);
  dorm_tx_delete(&tx, &tm_Customer_desc, &ck, NULL);
  /* A failed condition is DynamORM's ErrConditionFailed (its Go SDK's
   * mapping); the message names the model and key of the action. */
  MD_EXPECT(C, dorm_tx_commit(C, &tx, &failed), DORM_ERR_CONDITION_FAILED);
  assert_int_equal(failed, 1);
  char want[256];
  snprintf(want, sizeof want,
           "TransactWriteItems: action 1 (Put Order PK=CUSTOMER#c-t, SK=ORDER#t1 on %s): ConditionalCheckFailed",
           tm_shop_table);
  if (!strstr(dorm_client_errmsg(C), want)) fail_msg("expected \"%s\" in \"%s\"", want, dorm_client_errmsg(C));
  const dorm_cancel_reason *why;
  assert_int_equal(dorm_client_cancel_reasons(C, &why), 3);
  assert_string_equal(why[0].code, "None");
  assert_string_equal(why[1].code, "ConditionalCheckFailed");
  tm_Customer k2;
  memset(&k2, 0, sizeof k2);
  k2.customerId = "c-t2";
  MD_EXPECT(C, dorm_model_get(C, &tm_Customer_desc, &k2, NULL, &A, &cgot), DORM_ERR_NOT_FOUND);
  MD_OK(C, dorm_model_get(C, &tm_Customer_desc, &ck, NULL, &A, &cgot)); /* not deleted */
  /* errors are sticky and named */
  dorm_tx_init(&tx, &A);
  tm_Order bad = order("c-t", "t9", 0);
  bad.status = 0;
  assert_int_equal(dorm_tx_put(&tx, &tm_Order_desc, &bad, false, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_tx_delete(&tx, &tm_Customer_desc, &ck, NULL), DORM_ERR_INVALID_ARGUMENT);
  MD_EXPECT(C, dorm_tx_commit(C, &tx, &failed), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_client_errmsg(C), "action 0 (put Order): Order.status"));
  dorm_tx_init(&tx, &A);
  MD_EXPECT(C, dorm_tx_commit(C, &tx, &failed), DORM_ERR_INVALID_ARGUMENT);
}

/* ---- streams: DynamoDB Local's own stream, read with its Streams API ---- */

typedef struct body {
  char *data;
  size_t len;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  body *b = ud;
  char *d = realloc(b->data, b->len + size * n + 1);
  if (!d) return 0;
  memcpy(d + b->len, p, size * n);
  b->data = d;
  b->len += size * n;
  d[b->len] = '\0';
  return size * n;
}

/* One DynamoDB Streams call (DynamoDB Local does not check signatures). */
static char *streams_call(const char *op, const char *json) {
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char target[128];
  snprintf(target, sizeof target, "X-Amz-Target: DynamoDBStreams_20120810.%s", op);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, target);
  h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
  h = curl_slist_append(h, "Authorization: AWS4-HMAC-SHA256 Credential=dormtest/20240101/us-east-1/dynamodb/"
                           "aws4_request, SignedHeaders=host, Signature=0");
  body b = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, ts_ddb_endpoint());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  if (curl_easy_perform(c) != CURLE_OK) fail_msg("%s: transport error", op);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (code != 200) fail_msg("%s: HTTP %ld: %s", op, code, b.data ? b.data : "");
  return b.data;
}

/* The first string value of member `name` in json, copied into the arena. */
static const char *member(const char *json, const char *name) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", name);
  const char *p = strstr(json, pat);
  if (!p) return NULL;
  p += strlen(pat);
  const char *e = strchr(p, '"');
  return dorm_arena_strndup(&A, p, (size_t)(e - p));
}

static void stream_round_trip(void **state) {
  (void)state;
  dorm_table_description d;
  MD_OK(C, dorm_describe_table(C, tm_shop_table, &A, &d));
  assert_true(d.stream_arn && *d.stream_arn);
  char req[1024];
  snprintf(req, sizeof req, "{\"StreamArn\":\"%s\"}", d.stream_arn);
  char *desc = streams_call("DescribeStream", req);
  const char *shard = member(desc, "ShardId");
  free(desc);
  assert_non_null(shard);
  snprintf(req, sizeof req, "{\"StreamArn\":\"%s\",\"ShardId\":\"%s\",\"ShardIteratorType\":\"TRIM_HORIZON\"}",
           d.stream_arn, shard);
  char *it = streams_call("GetShardIterator", req);
  const char *iterator = member(it, "ShardIterator");
  free(it);
  assert_non_null(iterator);
  /* Read records until the INSERT of order o-05 is found. */
  bool found = false;
  for (int round = 0; round < 20 && !found && iterator; round++) {
    char *r = malloc(strlen(iterator) + 64);
    sprintf(r, "{\"ShardIterator\":\"%s\",\"Limit\":1000}", iterator);
    char *resp = streams_call("GetRecords", r);
    free(r);
    dorm_stream_record *recs;
    size_t n;
    char err[256];
    /* GetRecords answers {"Records":[...],"NextShardIterator":...}: the Lambda shape */
    if (dorm_stream_parse(resp, strlen(resp), &A, &recs, &n, err, sizeof err) != DORM_OK) fail_msg("%s", err);
    iterator = member(resp, "NextShardIterator");
    free(resp);
    for (size_t i = 0; i < n && !found; i++) {
      if (recs[i].event != DORM_STREAM_INSERT || !recs[i].has_new_image) continue;
      if (!dorm_model_is(&tm_Order_desc, &recs[i].new_image)) continue;
      tm_Order o;
      if (dorm_model_from_av(&tm_Order_desc, &recs[i].new_image, 0, &A, &o, err, sizeof err) != DORM_OK)
        fail_msg("%s", err);
      if (strcmp(o.customerId, "c-q") != 0 || strcmp(o.orderId, "o-05") != 0) continue;
      tm_Order want = order("c-q", "o-05", 5);
      assert_int_equal(o.status, want.status);
      assert_true(o.createdAt == want.createdAt);
      assert_null(o.note);
      assert_string_equal(dorm_av_map_get(&recs[i].keys, "SK")->u.s.ptr, "ORDER#o-05");
      found = true;
    }
  }
  assert_true(found);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(query_table, reset),   cmocka_unit_test_setup(query_gsi, reset),
      cmocka_unit_test_setup(pagination, reset),    cmocka_unit_test_setup(scan_count_parallel, reset),
      cmocka_unit_test_setup(batches, reset),       cmocka_unit_test_setup(transactions, reset),
      cmocka_unit_test_setup(stream_round_trip, reset),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
