/* BatchWriteItem and BatchGetItem against DynamoDB Local: 1,000 writes
 * over two tables, 1,000 gets with missing and duplicate keys (results in
 * request order), deletes, and entries refused before anything is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

#define N 1000

static dorm_client *C;
static char TA[64], TB[64]; /* TA: PK S; TB: id N */

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(TA, sizeof TA, "it_batch_a");
  it_name(TB, sizeof TB, "it_batch_b");
  it_create_table(C, TA, "PK", DORM_KEY_S, NULL, DORM_KEY_NONE);
  it_create_table(C, TB, "id", DORM_KEY_N, NULL, DORM_KEY_NONE);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, TA);
  it_drop_table(C, TB);
  dorm_client_free(C);
  return 0;
}

/* Entry i goes to TA (key "k<i>") when i % 3 != 0, else to TB (id i). */
static dorm_av key_of(dorm_arena *a, int i) {
  if (i % 3 == 0) {
    dorm_av k = it_map();
    it_set_n(a, &k, "id", i);
    return k;
  }
  char pk[16];
  snprintf(pk, sizeof pk, "k%d", i);
  return it_key_s(a, "PK", pk);
}

static size_t count_items(const char *table) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_scan_input si = {.table = table, .select = DORM_SELECT_COUNT, .consistent_read = true};
  dorm_pager p;
  dorm_pager_init_scan(&p, C, &si);
  dorm_page page;
  size_t n = 0;
  while (dorm_pager_next(&p, &a, &page) == DORM_OK && !p.done) n += page.count;
  dorm_pager_free(&p);
  dorm_arena_free(&a);
  return n;
}

static void test_batch_write_1000(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av *items = dorm_arena_alloc(&a, N * sizeof *items);
  dorm_batch_write_entry *e = dorm_arena_alloc(&a, N * sizeof *e);
  for (int i = 0; i < N; i++) {
    items[i] = key_of(&a, i);
    it_set_n(&a, &items[i], "value", (int64_t)i * 7);
    it_set_s(&a, &items[i], "text", "some text to make the item a little larger than its key");
    e[i] = (dorm_batch_write_entry){i % 3 == 0 ? TB : TA, &items[i], NULL};
  }
  uint64_t ops = it_operations(C);
  double t0 = it_now_ms();
  size_t written = 0;
  assert_int_equal(dorm_batch_write(C, e, N, NULL, &written), DORM_OK);
  print_message("# BatchWriteItem: %d items in %.0f ms\n", N, it_now_ms() - t0);
  assert_int_equal(written, N);
  assert_int_equal(it_operations(C) - ops, N / 25); /* chunks of 25, both tables in one request */
  assert_string_equal(dorm_client_errmsg(C), "");
  assert_int_equal(count_items(TA), N - (N + 2) / 3);
  assert_int_equal(count_items(TB), (N + 2) / 3);
  dorm_arena_free(&a);
}

static void test_batch_get_1000(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  /* 1,000 entries: keys 0..899 in a shuffled order, 50 keys that were never
   * written, and 50 repeats of earlier entries (one with an equal number
   * written differently: "3" and "3.0" are the same key). */
  dorm_batch_get_entry *e = dorm_arena_alloc(&a, N * sizeof *e);
  dorm_av *keys = dorm_arena_alloc(&a, N * sizeof *keys);
  int *expect = dorm_arena_alloc(&a, N * sizeof *expect); /* the item index, or -1 for missing */
  for (int i = 0; i < 900; i++) {
    int k = (i * 7919) % 900; /* a permutation of 0..899 */
    keys[i] = key_of(&a, k);
    e[i] = (dorm_batch_get_entry){k % 3 == 0 ? TB : TA, &keys[i]};
    expect[i] = k;
  }
  for (int i = 900; i < 950; i++) {
    int k = 5000 + i; /* never written */
    keys[i] = key_of(&a, k);
    e[i] = (dorm_batch_get_entry){k % 3 == 0 ? TB : TA, &keys[i]};
    expect[i] = -1;
  }
  for (int i = 950; i < N; i++) {
    int j = (i - 950) * 17;
    keys[i] = keys[j];
    e[i] = e[j];
    e[i].key = &keys[i];
    expect[i] = expect[j];
  }
  dorm_av three = it_map();
  it_set_av(&a, &three, "id", dorm_av_num("3.0"));
  keys[999] = three;
  e[999] = (dorm_batch_get_entry){TB, &keys[999]};
  expect[999] = 3;

  dorm_av *items = dorm_arena_alloc(&a, N * sizeof *items);
  size_t found = 0;
  uint64_t ops = it_operations(C);
  double t0 = it_now_ms();
  dorm_batch_get_options opts = {.consistent_read = true};
  assert_int_equal(dorm_batch_get(C, e, N, &opts, &a, items, &found), DORM_OK);
  print_message("# BatchGetItem: %d entries in %.0f ms\n", N, it_now_ms() - t0);
  /* 950 distinct keys: 10 requests of at most 100 (duplicates are sent once,
   * which DynamoDB requires). */
  assert_int_equal(it_operations(C) - ops, 10);
  size_t want_found = 0;
  for (int i = 0; i < N; i++) {
    if (expect[i] < 0) {
      assert_int_equal(items[i].type, DORM_AV_INVALID);
      continue;
    }
    want_found++;
    assert_int_equal(items[i].type, DORM_AV_M);
    assert_int_equal(it_get_n(&items[i], "value"), (int64_t)expect[i] * 7);
    if (expect[i] % 3 == 0) {
      assert_int_equal(it_get_n(&items[i], "id"), expect[i]);
    } else {
      char pk[16];
      snprintf(pk, sizeof pk, "k%d", expect[i]);
      assert_string_equal(it_get_s(&items[i], "PK"), pk);
    }
  }
  assert_int_equal(found, want_found);
  assert_int_equal(found, 950);
  dorm_arena_free(&a);
}

static void test_batch_delete(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  /* Delete keys 900..999 (mixed tables), then read them back. */
  dorm_batch_write_entry e[100];
  dorm_batch_get_entry g[100];
  dorm_av keys[100];
  for (int i = 0; i < 100; i++) {
    keys[i] = key_of(&a, 900 + i);
    e[i] = (dorm_batch_write_entry){(900 + i) % 3 == 0 ? TB : TA, NULL, &keys[i]};
    g[i] = (dorm_batch_get_entry){e[i].table, &keys[i]};
  }
  size_t written = 0;
  assert_int_equal(dorm_batch_write(C, e, 100, NULL, &written), DORM_OK);
  assert_int_equal(written, 100);
  dorm_av items[100];
  size_t found = 99;
  dorm_batch_get_options opts = {.consistent_read = true};
  assert_int_equal(dorm_batch_get(C, g, 100, &opts, &a, items, &found), DORM_OK);
  assert_int_equal(found, 0);
  for (int i = 0; i < 100; i++) assert_int_equal(items[i].type, DORM_AV_INVALID);
  dorm_arena_free(&a);
}

/* n put entries of TA, keys <prefix>0..<prefix>n-1, items allocated in a. */
static void put_entries(dorm_arena *a, const char *prefix, dorm_av *items, dorm_batch_write_entry *e, int n) {
  for (int i = 0; i < n; i++) {
    char pk[16];
    snprintf(pk, sizeof pk, "%s%d", prefix, i);
    items[i] = it_key_s(a, "PK", pk);
    e[i] = (dorm_batch_write_entry){TA, &items[i], NULL};
  }
}

static void test_refused_before_sending(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[40];
  dorm_batch_write_entry e[40];
  put_entries(&a, "r", items, e, 40);
  uint64_t before = it_attempts(C);
  size_t written = 99;

  /* Both put and delete, then neither. */
  e[30].delete_key = &items[30];
  assert_int_equal(dorm_batch_write(C, e, 40, NULL, &written), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "BatchWriteItem: entries[30]: exactly one of put_item and delete_key", NULL);
  assert_int_equal(written, 0);
  e[30].delete_key = NULL;
  e[30].put_item = NULL;
  assert_int_equal(dorm_batch_write(C, e, 40, NULL, &written), DORM_ERR_INVALID_ARGUMENT);
  e[30].put_item = &items[30];

  /* A 401 KB item in the second chunk: not even the first chunk is sent. */
  size_t big = 401 * 1024;
  char *blob = dorm_arena_alloc(&a, big);
  memset(blob, 'b', big);
  dorm_av large = it_key_s(&a, "PK", "large");
  it_set_av(&a, &large, "data", dorm_av_strn(blob, big));
  e[33].put_item = &large;
  assert_int_equal(dorm_batch_write(C, e, 40, NULL, &written), DORM_ERR_TOO_LARGE);
  it_assert_msg(C, "BatchWriteItem: entries[33].put_item is", NULL);
  e[33].put_item = &items[33];

  /* Invalid UTF-8 and an invalid number, named by entry and path. */
  dorm_av utf = it_key_s(&a, "PK", "utf");
  it_set_av(&a, &utf, "name", dorm_av_strn("\xe2\x82", 2));
  e[27].put_item = &utf;
  assert_int_equal(dorm_batch_write(C, e, 40, NULL, &written), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "entries[27].put_item.name", NULL);
  e[27].put_item = &items[27];
  dorm_av num = it_key_s(&a, "PK", "num");
  it_set_av(&a, &num, "n", dorm_av_num("1234567890123456789012345678901234567890"));
  e[2].put_item = &num;
  assert_int_equal(dorm_batch_write(C, e, 40, NULL, &written), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "entries[2].put_item.n", NULL);
  e[2].put_item = &items[2];

  /* Batch get: a key that is not a map, a missing table name, bad UTF-8. */
  dorm_batch_get_entry g[3] = {{TA, &items[0]}, {TA, &items[1]}, {TA, &items[2]}};
  dorm_av out[3];
  dorm_av notmap = dorm_av_str("x");
  g[1].key = &notmap;
  assert_int_equal(dorm_batch_get(C, g, 3, NULL, &a, out, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "BatchGetItem: entries[1].key must be a map", NULL);
  g[1].key = &items[1];
  g[2].table = NULL;
  assert_int_equal(dorm_batch_get(C, g, 3, NULL, &a, out, NULL), DORM_ERR_INVALID_ARGUMENT);
  g[2].table = TA;
  dorm_av badkey = it_map();
  it_set_av(&a, &badkey, "PK", dorm_av_strn("\xff", 1));
  g[0].key = &badkey;
  assert_int_equal(dorm_batch_get(C, g, 3, NULL, &a, out, NULL), DORM_ERR_INVALID_ARGUMENT);
  it_assert_msg(C, "entries[0].key.PK", NULL);
  assert_int_equal(it_attempts(C), before);

  /* Nothing to do is fine and sends nothing. */
  assert_int_equal(dorm_batch_write(C, e, 0, NULL, &written), DORM_OK);
  assert_int_equal(dorm_batch_get(C, g, 0, NULL, &a, out, NULL), DORM_OK);
  assert_int_equal(it_attempts(C), before);
  dorm_arena_free(&a);
}

/* The bulk path's check sizes an item exactly only when the bound its walk
 * sums passes the limit: an item of exactly 400 KB (bound just over) is
 * written with the others, one byte more is refused before anything is
 * sent. */
static void test_bulk_item_at_the_limit(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av items[40];
  dorm_batch_write_entry e[40];
  put_entries(&a, "lim", items, e, 40);
  /* "PK" + "lim33" + "data" + the blob = DORM_ITEM_MAX_BYTES. */
  size_t n = DORM_ITEM_MAX_BYTES - strlen("PK") - strlen("lim33") - strlen("data");
  char *blob = dorm_arena_alloc(&a, n + 1);
  assert_non_null(blob);
  memset(blob, 'b', n + 1);
  dorm_av big = it_key_s(&a, "PK", "lim33");
  it_set_av(&a, &big, "data", dorm_av_strn(blob, n));
  size_t size = 0;
  assert_int_equal(dorm_item_size(&big, &size), DORM_OK);
  assert_int_equal(size, DORM_ITEM_MAX_BYTES);
  e[33].put_item = &big;
  size_t written = 0;
  dorm_batch_write_options opts = {.max_in_flight = 4};
  if (dorm_batch_write(C, e, 40, &opts, &written) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  assert_int_equal(written, 40);
  dorm_get_input gi = {.table = TA, .key = &items[33]}; /* the key of the 400 KB item */
  dorm_av got;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_int_equal(strlen(it_get_s(&got, "data")), n);

  dorm_av over = it_key_s(&a, "PK", "lim33");
  it_set_av(&a, &over, "data", dorm_av_strn(blob, n + 1));
  e[33].put_item = &over;
  uint64_t before = it_attempts(C);
  assert_int_equal(dorm_batch_write(C, e, 40, &opts, &written), DORM_ERR_TOO_LARGE);
  it_assert_msg(C, "BatchWriteItem: entries[33].put_item is", NULL);
  assert_int_equal(written, 0);
  assert_int_equal(it_attempts(C), before);
  dorm_arena_free(&a);
}

static void test_errors_from_dynamodb(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char missing[64];
  it_name(missing, sizeof missing, "it_batch_missing");
  dorm_av k = it_key_s(&a, "PK", "x");
  dorm_batch_write_entry e[] = {{missing, &k, NULL}};
  size_t written = 99;
  assert_int_equal(dorm_batch_write(C, e, 1, NULL, &written), DORM_ERR_TABLE_NOT_FOUND);
  assert_int_equal(written, 0);
  char want[128];
  snprintf(want, sizeof want, "BatchWriteItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, "request id", NULL);
  /* two tables: which one is missing is not known, none is named */
  char missing2[64];
  it_name(missing2, sizeof missing2, "it_batch_missing2");
  dorm_batch_write_entry e2[] = {{missing, &k, NULL}, {missing2, &k, NULL}};
  assert_int_equal(dorm_batch_write(C, e2, 2, NULL, &written), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "BatchWriteItem: ResourceNotFoundException", NULL);
  if (strstr(dorm_client_errmsg(C), "table \"")) fail_msg("a table is named: %s", dorm_client_errmsg(C));
  dorm_batch_get_entry g[] = {{missing, &k}};
  dorm_av out[1];
  assert_int_equal(dorm_batch_get(C, g, 1, NULL, &a, out, NULL), DORM_ERR_TABLE_NOT_FOUND);
  snprintf(want, sizeof want, "BatchGetItem: table \"%s\": ResourceNotFoundException", missing);
  it_assert_msg(C, want, NULL);
  /* Wrong key type for TB (id is N). */
  g[0].table = TB;
  dorm_av wrong = it_map();
  it_set_s(&a, &wrong, "id", "7");
  g[0].key = &wrong;
  assert_int_equal(dorm_batch_get(C, g, 1, NULL, &a, out, NULL), DORM_ERR_VALIDATION);
  it_assert_msg(C, "BatchGetItem: ValidationException", NULL);
  dorm_arena_free(&a);
}

/* How many of the keys k[0..n) are in TA. */
static size_t found_of(const dorm_av *keys, size_t n) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_batch_get_entry *g = dorm_arena_alloc(&a, n * sizeof *g);
  dorm_av *out = dorm_arena_alloc(&a, n * sizeof *out);
  assert_non_null(g);
  assert_non_null(out);
  for (size_t i = 0; i < n; i++) g[i] = (dorm_batch_get_entry){TA, &keys[i]};
  dorm_batch_get_options go = {.consistent_read = true};
  size_t found = 0;
  assert_int_equal(dorm_batch_get(C, g, n, &go, &a, out, &found), DORM_OK);
  dorm_arena_free(&a);
  return found;
}

/* A bulk write (1,000 entries, 16 requests in flight: each item is checked
 * up front without writing its text, and written once into its request)
 * with one bad entry in the middle: refused before anything is sent, the
 * message names the entry and the path inside it exactly as the writer
 * would, and none of the 1,000 is written. Fixed, all 1,000 are. */
static void test_bulk_bad_entry_sends_nothing(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av *items = dorm_arena_alloc(&a, N * sizeof *items), *keys = dorm_arena_alloc(&a, N * sizeof *keys);
  dorm_batch_write_entry *e = dorm_arena_alloc(&a, N * sizeof *e);
  assert_non_null(items);
  assert_non_null(keys);
  assert_non_null(e);
  for (int i = 0; i < N; i++) {
    char pk[24];
    snprintf(pk, sizeof pk, "bulk-%d", i);
    keys[i] = it_key_s(&a, "PK", pk);
    items[i] = it_key_s(&a, "PK", pk);
    it_set_n(&a, &items[i], "n", i);
    it_set_av(&a, &items[i], "note", dorm_av_str("say \"hi\"\n")); /* escaped on the general path */
    e[i] = (dorm_batch_write_entry){TA, &items[i], NULL};
  }
  dorm_av bad = it_key_s(&a, "PK", "bulk-517");
  dorm_av addr = it_map(), lines = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(&a, &lines) = dorm_av_str("first");
  *dorm_av_list_push(&a, &lines) = dorm_av_str("bad \xc0\xaf overlong");
  it_set_av(&a, &addr, "lines", lines);
  it_set_av(&a, &bad, "addr", addr);
  e[517].put_item = &bad;
  dorm_batch_write_options opts = {.max_in_flight = 16};
  uint64_t before = it_attempts(C);
  size_t written = 99;
  assert_int_equal(dorm_batch_write(C, e, N, &opts, &written), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C),
                      "BatchWriteItem: entries[517].put_item.addr.lines[1]: string is not valid UTF-8 (byte 4)");
  assert_int_equal(written, 0);
  /* An invalid number in the last chunk, then a delete whose key is not a map. */
  e[517].put_item = &items[517];
  dorm_av num = it_key_s(&a, "PK", "bulk-999");
  it_set_av(&a, &num, "total", dorm_av_num("12.5.0"));
  e[999].put_item = &num;
  assert_int_equal(dorm_batch_write(C, e, N, &opts, &written), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "BatchWriteItem: entries[999].put_item.total: invalid number "
                                             "\"12.5.0\": unexpected character");
  e[999].put_item = &items[999];
  dorm_av notmap = dorm_av_str("x");
  e[250] = (dorm_batch_write_entry){TA, NULL, &notmap};
  assert_int_equal(dorm_batch_write(C, e, N, &opts, &written), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_client_errmsg(C), "BatchWriteItem: entries[250].delete_key must be a map (DORM_AV_M)");
  e[250] = (dorm_batch_write_entry){TA, &items[250], NULL};
  assert_int_equal(it_attempts(C), before);
  assert_int_equal(found_of(keys, N), 0);

  assert_int_equal(dorm_batch_write(C, e, N, &opts, &written), DORM_OK);
  assert_int_equal(written, N);
  assert_int_equal(found_of(keys, N), N);
  /* What was written is each item's text: read one back. */
  dorm_get_input gi = {.table = TA, .key = &keys[517], .consistent_read = true};
  dorm_av got;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_true(dorm_av_equal(&got, &items[517]));
  for (int i = 0; i < N; i++) e[i] = (dorm_batch_write_entry){TA, NULL, &keys[i]};
  assert_int_equal(dorm_batch_write(C, e, N, &opts, &written), DORM_OK);
  assert_int_equal(found_of(keys, N), 0);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_write_1000),
      cmocka_unit_test(test_batch_get_1000),
      cmocka_unit_test(test_batch_delete),
      cmocka_unit_test(test_refused_before_sending),
      cmocka_unit_test(test_bulk_item_at_the_limit),
      cmocka_unit_test(test_errors_from_dynamodb),
      cmocka_unit_test(test_bulk_bad_entry_sends_nothing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
